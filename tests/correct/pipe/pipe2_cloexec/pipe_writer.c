#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: pipe_writer COUNT\n"); return 2; }
    long count = strtol(argv[1], NULL, 10);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGPIPE, &sa, NULL);
    for (long i = 1; i <= count; i++) {
        char line[64];
        int len = snprintf(line, sizeof line, "line %ld\n", i);
        ssize_t w;
        while ((w = write(STDOUT_FILENO, line, (size_t)len)) < 0 && errno == EINTR)
            ;
        if (w < 0) {
            if (errno == EPIPE) {
                static const char msg[] = "pipe_writer: reader closed the pipe\n";
                write(STDERR_FILENO, msg, sizeof msg - 1);
                return 3;
            }
            perror("pipe_writer: write");
            return 1;
        }
    }
    return 0;
}
