#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char *argv[]) {
    if (argc != 3) { fprintf(stderr, "usage\n"); return 2; }
    struct stat st;
    if (stat(argv[1], &st) == -1) { perror(argv[1]); return 1; }
    if (!S_ISFIFO(st.st_mode)) { fprintf(stderr, "not a fifo\n"); return 1; }
    int fd;
    while ((fd = open(argv[1], O_WRONLY)) == -1 && errno == EINTR)
        ;
    if (fd == -1) { perror("open"); return 1; }
    char buf[4097];
    int n = snprintf(buf, sizeof buf, "%s\n", argv[2]);
    ssize_t w;
    while ((w = write(fd, buf, n)) == -1 && errno == EINTR)
        ;
    if (w == -1) { perror("write"); return 1; }
    close(fd);
    return 0;
}
