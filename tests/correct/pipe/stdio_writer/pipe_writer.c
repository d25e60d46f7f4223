/* variant: stdio, line-buffered stdout (one write(2) per line), SIGPIPE ignored with signal() */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: pipe_writer COUNT\n"); return 2; }
    long count = atol(argv[1]);
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (long i = 1; i <= count; i++) {
        if (printf("line %ld\n", i) < 0) {
            int e = errno;
            if (e == EPIPE) {
                fputs("pipe_writer: reader closed the pipe\n", stderr);
                /* the unwritten line stays in the buffer: drop it so exit() does not retry */
                _exit(3);
            }
            fprintf(stderr, "pipe_writer: %s\n", strerror(e));
            _exit(1);
        }
    }
    return 0;
}
