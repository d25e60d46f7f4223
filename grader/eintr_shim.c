/*
 * eintr_shim: preloaded (LD_PRELOAD) into every program a check starts.
 *
 * Its constructor installs a handler that does nothing for one real-time signal
 * (SIGRTMIN + 3, a signal no assignment uses) WITHOUT SA_RESTART.  When the grader sees a thread
 * asleep in a system call and sends it that signal, the call returns -1 with errno EINTR, exactly
 * as it would for any signal caught by a handler the program installed itself.  A correct program
 * retries the call; one that treats EINTR as an error is caught.  Being inherited across fork()
 * and re-run after exec() (LD_PRELOAD stays in the environment), it reaches every process of
 * the program.  It cannot reach a statically linked program.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <string.h>

static void interrupted(int sig)
{
    (void)sig;
}

__attribute__((constructor)) static void install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = interrupted;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;                   /* no SA_RESTART: blocking calls return EINTR */
    sigaction(SIGRTMIN + 3, &sa, NULL);
}
