/* Tries to kill its parent, its process group and everything it can reach. */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

int main(void)
{
    kill(getppid(), SIGKILL);
    kill(getppid(), SIGTERM);
    kill(0, SIGTERM);
    kill(-1, SIGKILL);
    printf("capacity: 1\n");
    return 0;
}
