/* variant: one process, select(), non-blocking sockets with an output queue per client
   (a client that does not read its answers never blocks the server; it is not read from
   until its answers are out) */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#define LINE 4096
#define MAXC 64

struct conn {
    int fd;
    char in[2 * LINE]; size_t have;
    char *out; size_t olen, ocap, osent;
};
static struct conn *c[MAXC];

static void drop(int i) { close(c[i]->fd); free(c[i]->out); free(c[i]); c[i] = NULL; }

static int queue_out(struct conn *k, const char *p, size_t n) {
    if (k->olen + n > k->ocap) {
        size_t cap = k->ocap ? k->ocap : 8192;
        while (cap < k->olen + n) cap *= 2;
        char *o = realloc(k->out, cap);
        if (!o) return -1;
        k->out = o; k->ocap = cap;
    }
    memcpy(k->out + k->olen, p, n);
    k->olen += n;
    return 0;
}

static int flush_out(struct conn *k) {
    while (k->osent < k->olen) {
        ssize_t w = send(k->fd, k->out + k->osent, k->olen - k->osent, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
            return -1;
        }
        k->osent += (size_t)w;
    }
    k->osent = k->olen = 0;
    return 0;
}

static int on_readable(struct conn *k) {
    ssize_t n = recv(k->fd, k->in + k->have, sizeof k->in - k->have, 0);
    if (n < 0) return (errno == EINTR || errno == EAGAIN) ? 0 : -1;
    if (n == 0) return -1;
    k->have += (size_t)n;
    size_t start = 0;
    for (size_t i = 0; i < k->have; i++) {
        if (k->in[i] != '\n') continue;
        size_t len = i - start;
        char rev[2 * LINE + 1];
        for (size_t j = 0; j < len; j++) rev[j] = k->in[i - 1 - j];
        rev[len] = '\n';
        if (queue_out(k, rev, len + 1)) return -1;
        start = i + 1;
    }
    memmove(k->in, k->in + start, k->have - start);
    k->have -= start;
    if (k->have == sizeof k->in) return -1;
    return flush_out(k);
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: tcp_server PORT\n"); return 1; }
    int port = atoi(argv[1]);
    if (port <= 0 || port > 65535) { fprintf(stderr, "bad port\n"); return 1; }
    int l = socket(AF_INET, SOCK_STREAM, 0);
    if (l < 0) { perror("socket"); return 1; }
    int one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (bind(l, (struct sockaddr *)&a, sizeof a) < 0) { perror("bind"); return 1; }
    if (listen(l, 32) < 0) { perror("listen"); return 1; }
    fcntl(l, F_SETFL, O_NONBLOCK);
    for (;;) {
        fd_set rd, wr;
        FD_ZERO(&rd); FD_ZERO(&wr);
        FD_SET(l, &rd);
        int maxfd = l;
        for (int i = 0; i < MAXC; i++) if (c[i]) {
            /* back-pressure: no new requests from a client while its answers wait to be sent */
            if (c[i]->olen > c[i]->osent) FD_SET(c[i]->fd, &wr);
            else FD_SET(c[i]->fd, &rd);
            if (c[i]->fd > maxfd) maxfd = c[i]->fd;
        }
        if (select(maxfd + 1, &rd, &wr, NULL, NULL) < 0) {
            if (errno == EINTR) continue;
            perror("select"); return 1;
        }
        for (int i = 0; i < MAXC; i++) {
            if (!c[i]) continue;
            int fd = c[i]->fd, bad = 0;
            if (FD_ISSET(fd, &wr)) bad = flush_out(c[i]) < 0;
            if (!bad && FD_ISSET(fd, &rd)) bad = on_readable(c[i]) < 0;
            if (bad) drop(i);
        }
        if (FD_ISSET(l, &rd)) {
            int fd = accept(l, NULL, NULL);
            if (fd < 0) continue;
            if (fd >= FD_SETSIZE) { close(fd); continue; }
            int i = 0;
            while (i < MAXC && c[i]) i++;
            if (i == MAXC) { close(fd); continue; }
            fcntl(fd, F_SETFL, O_NONBLOCK);
            c[i] = calloc(1, sizeof *c[i]);
            if (!c[i]) { close(fd); continue; }
            c[i]->fd = fd;
        }
    }
}
