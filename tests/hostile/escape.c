/* Double-forks, leaves its session and lives on; ignores SIGTERM and SIGINT. */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

int main(void)
{
    if (fork() == 0) {
        setsid();
        if (fork() == 0) {
            signal(SIGTERM, SIG_IGN);
            signal(SIGINT, SIG_IGN);
            for (;;)
                pause();
        }
        _exit(0);
    }
    printf("capacity: 65536\n");
    return 0;
}
