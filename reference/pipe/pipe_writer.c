/*
 * pipe_writer COUNT: writes the lines "line 1" ... "line COUNT" to its standard output with
 * write(2), one line per call.
 *
 * When the reader of its output goes away, write() fails with EPIPE (SIGPIPE is ignored): the
 * program then prints "pipe_writer: reader closed the pipe" on stderr and exits with code 3.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char *argv[])
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s COUNT\n", argv[0]);
        return 2;
    }
    long count = strtol(argv[1], NULL, 10);
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
        perror("signal");
        return 1;
    }
    char line[64];
    for (long i = 1; i <= count; i++) {
        int len = snprintf(line, sizeof line, "line %ld\n", i);
        const char *p = line;
        while (len > 0) {
            ssize_t n = write(STDOUT_FILENO, p, (size_t)len);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                if (errno == EPIPE) {
                    fprintf(stderr, "pipe_writer: reader closed the pipe\n");
                    return 3;
                }
                perror("write");
                return 1;
            }
            p += n;
            len -= (int)n;
        }
    }
    return 0;
}
