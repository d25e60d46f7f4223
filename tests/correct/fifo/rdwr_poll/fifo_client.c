/* FIFO client, variant: checks the type with fstat() after open(), one write() from a heap buffer */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: fifo_client PATH MESSAGE\n"); return 2; }
    size_t len = strlen(argv[2]);
    if (len > 4095 || memchr(argv[2], '\n', len)) { fprintf(stderr, "bad message\n"); return 2; }
    signal(SIGPIPE, SIG_IGN);
    int fd;
    while ((fd = open(argv[1], O_WRONLY)) < 0 && errno == EINTR)
        ;
    if (fd < 0) { perror(argv[1]); return 1; }
    struct stat st;
    if (fstat(fd, &st) < 0) { perror("fstat"); return 1; }
    if (!S_ISFIFO(st.st_mode)) { fprintf(stderr, "%s: not a FIFO\n", argv[1]); close(fd); return 1; }
    char *msg = malloc(len + 1);
    if (!msg) return 1;
    memcpy(msg, argv[2], len);
    msg[len] = '\n';
    ssize_t w;
    while ((w = write(fd, msg, len + 1)) < 0 && errno == EINTR)
        ;
    if (w != (ssize_t)(len + 1)) { perror("write"); close(fd); return 1; }
    free(msg);
    if (close(fd) < 0) { perror("close"); return 1; }
    return 0;
}
