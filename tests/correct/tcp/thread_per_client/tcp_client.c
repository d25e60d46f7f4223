/* variant: reads stdin with read(2), finds the answer's end with recv(MSG_PEEK) */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int out_all(int fd, const char *p, size_t n, int sock) {
    while (n) {
        ssize_t w = sock ? send(fd, p, n, MSG_NOSIGNAL) : write(fd, p, n);
        if (w < 0) { if (errno == EINTR) continue; return -1; }
        p += w; n -= (size_t)w;
    }
    return 0;
}

/* receive one answer line and copy it to stdout; 0 ok, 1 server gone, -1 error */
static int relay_answer(int s) {
    char buf[4200];
    for (;;) {
        ssize_t n = recv(s, buf, sizeof buf, MSG_PEEK);
        if (n < 0) { if (errno == EINTR) continue; return -1; }
        if (n == 0) return 1;
        char *nl = memchr(buf, '\n', (size_t)n);
        size_t take = nl ? (size_t)(nl - buf) + 1 : (size_t)n;
        ssize_t got;
        while ((got = recv(s, buf, take, 0)) < 0 && errno == EINTR)
            ;
        if (got < 0) return -1;
        if (out_all(1, buf, (size_t)got, 0)) return -1;
        if (nl) return 0;
    }
}

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: tcp_client HOST PORT\n"); return 1; }
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2])) };
    if (inet_pton(AF_INET, argv[1], &a.sin_addr) != 1) { fprintf(stderr, "bad address %s\n", argv[1]); return 1; }
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0) { perror("socket"); return 1; }
    if (connect(s, (struct sockaddr *)&a, sizeof a) < 0) {
        fprintf(stderr, "tcp_client: cannot connect to %s:%s: %s\n", argv[1], argv[2], strerror(errno));
        return 2;
    }
    static char line[1 << 16];
    size_t have = 0;
    int eof = 0;
    for (;;) {
        char *nl = memchr(line, '\n', have);
        if (!nl && !eof && have < sizeof line) {
            ssize_t n = read(0, line + have, sizeof line - have);
            if (n < 0) { if (errno == EINTR) continue; perror("read"); return 1; }
            if (n == 0) eof = 1; else have += (size_t)n;
            continue;
        }
        if (!nl) {
            if (have == 0) break;
            line[have++] = '\n';   /* last line without newline */
            nl = line + have - 1;
        }
        size_t len = (size_t)(nl - line) + 1;
        if (out_all(s, line, len, 1)) { perror("send"); return 1; }
        memmove(line, line + len, have - len);
        have -= len;
        int r = relay_answer(s);
        if (r == 1) { fprintf(stderr, "tcp_client: server closed the connection\n"); return 1; }
        if (r < 0) { perror("recv"); return 1; }
    }
    close(s);
    return 0;
}
