/* variant: a detached thread per client, MSG_NOSIGNAL instead of SIG_IGN, recv() into a ring of lines */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define LINE 4096

static int send_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w == -1 && errno == EINTR) continue;
        if (w == -1) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void *client(void *arg) {
    int fd = (int)(intptr_t)arg;
    char in[2 * LINE], out[LINE + 1];
    size_t have = 0;
    for (;;) {
        ssize_t n = recv(fd, in + have, sizeof in - have, 0);
        if (n == -1 && errno == EINTR) continue;
        if (n <= 0) break;
        have += (size_t)n;
        size_t start = 0;
        char *nl;
        while ((nl = memchr(in + start, '\n', have - start))) {
            size_t len = (size_t)(nl - (in + start));
            if (len > LINE) len = LINE;
            for (size_t i = 0; i < len; i++) out[i] = in[start + len - 1 - i];
            out[len] = '\n';
            if (send_all(fd, out, len + 1) == -1) goto done;
            start = (size_t)(nl - in) + 1;
        }
        memmove(in, in + start, have - start);
        have -= start;
        if (have == sizeof in) break;   /* no newline in 8 KiB: not our protocol */
    }
done:
    close(fd);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: tcp_server PORT\n"); return 1; }
    char *end;
    long port = strtol(argv[1], &end, 10);
    if (*end || port <= 0 || port > 65535) { fprintf(stderr, "bad port: %s\n", argv[1]); return 1; }
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0) { perror("socket"); return 1; }
    int one = 1;
    if (setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) { perror("setsockopt"); return 1; }
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, "127.0.0.1", &a.sin_addr) != 1) return 1;
    if (bind(lfd, (struct sockaddr *)&a, sizeof a) < 0) { perror("bind"); return 1; }
    if (listen(lfd, SOMAXCONN) < 0) { perror("listen"); return 1; }
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    for (;;) {
        int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            perror("accept");
            continue;
        }
        pthread_t t;
        int e = pthread_create(&t, &at, client, (void *)(intptr_t)c);
        if (e) { fprintf(stderr, "pthread_create: %s\n", strerror(e)); close(c); }
    }
}
