/*
 * tcp_server PORT: the lecture's TCP server, serving a line-reversing service.
 *
 * It listens on 127.0.0.1:PORT (SO_REUSEADDR set, so that it can bind again at once after a
 * restart while connections of the earlier server are in TIME_WAIT) and forks a child for each
 * client, so that several clients are served at once.  A client sends lines; for each whole line
 * the server answers with that line reversed (the newline stays at the end).  A line may arrive
 * in several pieces, and several lines may arrive in one recv(): the child keeps what it has read
 * until a newline comes.
 *
 * The parent closes its copy of each connection and reaps its children (SIGCHLD handler), so
 * no zombie stays.  SIGPIPE is ignored: a client that goes away makes send() fail (EPIPE or
 * ECONNRESET), and the child then ends.  accept(), recv() and send() interrupted by a signal
 * (EINTR) are retried.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_LINE 4096                    /* bytes in a request line, its newline included */

static void on_child(int sig)
{
    (void)sig;
    int saved = errno;
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
    errno = saved;
}

static int send_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Answer every whole line received on the connection FD, until the client closes its end. */
static void serve(int fd)
{
    char in[MAX_LINE];
    char out[MAX_LINE];
    size_t have = 0;
    for (;;) {
        ssize_t n = recv(fd, in + have, sizeof in - have, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            perror("tcp_server: recv");
            return;
        }
        if (n == 0)
            return;                      /* the client closed its end */
        have += (size_t)n;
        char *start = in;
        char *nl;
        while ((nl = memchr(start, '\n', have - (size_t)(start - in))) != NULL) {
            size_t len = (size_t)(nl - start);
            for (size_t i = 0; i < len; i++)
                out[i] = start[len - 1 - i];
            out[len] = '\n';
            if (send_all(fd, out, len + 1) < 0)
                return;                  /* EPIPE, ECONNRESET: the client went away */
            start = nl + 1;
        }
        have -= (size_t)(start - in);
        memmove(in, start, have);
        if (have == sizeof in) {
            fprintf(stderr, "tcp_server: a request line is longer than %d bytes\n", MAX_LINE);
            return;
        }
    }
}

int main(int argc, char *argv[])
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s PORT\n", argv[0]);
        return 1;
    }
    char *end;
    long port = strtol(argv[1], &end, 10);
    if (*argv[1] == '\0' || *end != '\0' || port < 1 || port > 65535) {
        fprintf(stderr, "tcp_server: bad port: %s\n", argv[1]);
        return 1;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = SIG_IGN;             /* a client gone early: send() fails instead */
    if (sigaction(SIGPIPE, &sa, NULL) == -1) {
        perror("tcp_server: sigaction");
        return 1;
    }
    sa.sa_handler = on_child;
    sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    if (sigaction(SIGCHLD, &sa, NULL) == -1) {
        perror("tcp_server: sigaction");
        return 1;
    }

    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (lfd == -1) {
        perror("tcp_server: socket");
        return 1;
    }
    int one = 1;
    if (setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == -1) {
        perror("tcp_server: setsockopt(SO_REUSEADDR)");
        return 1;
    }
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) == -1) {
        perror("tcp_server: bind");
        return 1;
    }
    if (listen(lfd, 16) == -1) {
        perror("tcp_server: listen");
        return 1;
    }

    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd == -1) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            perror("tcp_server: accept");
            return 1;
        }
        pid_t pid = fork();
        if (pid == -1) {
            perror("tcp_server: fork");
            close(fd);
            continue;
        }
        if (pid == 0) {                  /* the child serves this client */
            close(lfd);
            serve(fd);
            close(fd);
            _exit(0);
        }
        close(fd);                       /* the parent keeps only the listening socket */
    }
}
