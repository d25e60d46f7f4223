/*
 * pipe_info [SIZE]: facts about pipes.
 *
 * Creates a pipe; with SIZE, asks for that capacity with F_SETPIPE_SZ.  Prints the capacity that
 * F_GETPIPE_SZ reports as "capacity: N".  Then makes its own standard input non-blocking and
 * reads it once: on an empty pipe (or FIFO) that still has a writer, the read fails with EAGAIN,
 * and the program prints "empty read: EAGAIN".  Exit code 0; 1 on any other error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char *argv[])
{
    int fd[2];
    if (pipe(fd) == -1) {
        perror("pipe");
        return 1;
    }
    if (argc > 1) {
        long size = strtol(argv[1], NULL, 10);
        if (fcntl(fd[1], F_SETPIPE_SZ, (int)size) == -1) {
            perror("fcntl(F_SETPIPE_SZ)");
            return 1;
        }
    }
    int capacity = fcntl(fd[1], F_GETPIPE_SZ);
    if (capacity == -1) {
        perror("fcntl(F_GETPIPE_SZ)");
        return 1;
    }
    printf("capacity: %d\n", capacity);
    close(fd[0]);
    close(fd[1]);

    int flags = fcntl(STDIN_FILENO, F_GETFL);
    if (flags == -1 || fcntl(STDIN_FILENO, F_SETFL, flags | O_NONBLOCK) == -1) {
        perror("fcntl(O_NONBLOCK)");
        return 1;
    }
    char c;
    ssize_t n;
    while ((n = read(STDIN_FILENO, &c, 1)) == -1 && errno == EINTR)
        ;
    if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        printf("empty read: EAGAIN\n");
    } else if (n == -1) {
        perror("read");
        return 1;
    } else {
        printf("empty read: got %zd bytes\n", n);
    }
    return 0;
}
