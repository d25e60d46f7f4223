/* An endless loop that ignores every signal it can. */
#include <signal.h>

int main(void)
{
    for (int sig = 1; sig < 32; sig++)
        signal(sig, SIG_IGN);
    for (volatile unsigned long i = 0;; i++)
        ;
}
