/* variant: getline() on stdin, a receive buffer that keeps what follows a newline */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static char rbuf[8192];
static size_t rhave;

static int send_all(int fd, const char *p, size_t n) {
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0) { if (errno == EINTR) continue; return -1; }
        p += w; n -= (size_t)w;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: unix_client PATH\n"); return 2; }
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    strncpy(a.sun_path, argv[1], sizeof a.sun_path - 1);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0) { perror("socket"); return 2; }
    int r;
    while ((r = connect(fd, (struct sockaddr *)&a, sizeof a)) < 0 && errno == EINTR)
        ;
    if (r < 0) { fprintf(stderr, "unix_client: connect %s: %s\n", argv[1], strerror(errno)); return 2; }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, stdin)) > 0) {
        if (line[len - 1] != '\n') {
            line = realloc(line, (size_t)len + 2);
            line[len++] = '\n';
        }
        if (send_all(fd, line, (size_t)len) < 0) { perror("send"); return 1; }
        for (;;) {
            char *nl = memchr(rbuf, '\n', rhave);
            if (nl) {
                size_t n = (size_t)(nl - rbuf) + 1;
                fwrite(rbuf, 1, n, stdout);
                fflush(stdout);
                memmove(rbuf, rbuf + n, rhave - n);
                rhave -= n;
                break;
            }
            if (rhave == sizeof rbuf) { fprintf(stderr, "answer too long\n"); return 1; }
            ssize_t g = read(fd, rbuf + rhave, sizeof rbuf - rhave);
            if (g < 0 && errno == EINTR) continue;
            if (g < 0) { perror("read"); return 1; }
            if (g == 0) { fprintf(stderr, "unix_client: server closed the connection\n"); return 1; }
            rhave += (size_t)g;
        }
    }
    free(line);
    close(fd);
    return 0;
}
