/* variant: one process, poll() over every client, SIGINT/SIGTERM via signalfd in the poll set */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define MAXC 200
#define LINE 4096

struct client { int fd; size_t have; char buf[LINE + 1]; };
static struct client *cl[MAXC];

static int send_all(int fd, const char *p, size_t n) {
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0) { if (errno == EINTR) continue; return -1; }
        p += w; n -= (size_t)w;
    }
    return 0;
}

/* answer every complete line; -1 when the connection is to be dropped */
static int serve(struct client *c) {
    ssize_t r;
    while ((r = read(c->fd, c->buf + c->have, sizeof c->buf - c->have)) < 0 && errno == EINTR)
        ;
    if (r <= 0) return -1;
    c->have += (size_t)r;
    size_t start = 0;
    for (size_t i = 0; i < c->have; i++) {
        if (c->buf[i] != '\n') continue;
        size_t len = i - start;
        char out[LINE + 1];
        for (size_t j = 0; j < len; j++) out[j] = c->buf[start + len - 1 - j];
        out[len] = '\n';
        if (send_all(c->fd, out, len + 1) < 0) return -1;
        start = i + 1;
    }
    memmove(c->buf, c->buf + start, c->have - start);
    c->have -= start;
    if (c->have == sizeof c->buf) return -1;   /* line too long */
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: unix_server PATH\n"); return 2; }
    const char *path = argv[1];
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof addr.sun_path) { fprintf(stderr, "path too long\n"); return 1; }
    strcpy(addr.sun_path, path);

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, NULL);
    int sfd = signalfd(-1, &set, SFD_CLOEXEC);
    if (sfd < 0) { perror("signalfd"); return 1; }

    struct stat st;
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) unlink(path);
    int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0) { perror("socket"); return 1; }
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0) { perror("bind"); return 1; }
    if (listen(lfd, 64) < 0) { perror("listen"); unlink(path); return 1; }

    struct pollfd pfd[MAXC + 2];
    for (;;) {
        int n = 0;
        pfd[n++] = (struct pollfd){ .fd = sfd, .events = POLLIN };
        pfd[n++] = (struct pollfd){ .fd = lfd, .events = POLLIN };
        int idx[MAXC];
        for (int i = 0; i < MAXC; i++)
            if (cl[i]) { idx[n] = i; pfd[n++] = (struct pollfd){ .fd = cl[i]->fd, .events = POLLIN }; }
        if (poll(pfd, (nfds_t)n, -1) < 0) {
            if (errno == EINTR) continue;
            perror("poll"); unlink(path); return 1;
        }
        if (pfd[0].revents & POLLIN) {
            unlink(path);
            return 0;
        }
        for (int k = 2; k < n; k++) {
            if (!pfd[k].revents) continue;
            struct client *c = cl[idx[k]];
            if (serve(c) < 0) { close(c->fd); free(c); cl[idx[k]] = NULL; }
        }
        if (pfd[1].revents & POLLIN) {
            int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
            if (cfd < 0) continue;   /* EINTR, ECONNABORTED...: poll again */
            int slot = -1;
            for (int i = 0; i < MAXC; i++) if (!cl[i]) { slot = i; break; }
            struct client *c = slot >= 0 ? malloc(sizeof *c) : NULL;
            if (!c) { close(cfd); continue; }
            c->fd = cfd; c->have = 0;
            cl[slot] = c;
        }
    }
}
