/*
 * unix_server PATH: the lecture's UNIX-domain stream server, serving a line-reversing service.
 *
 * It removes a socket file left at PATH by an earlier server that crashed, binds a stream socket
 * to PATH, listens, and serves every client in a thread of its own, so that several clients are
 * served at once.  A client sends lines; for each whole line the server answers with that line
 * reversed (the newline stays at the end).  A line may arrive in several pieces, and several
 * lines may arrive in one read(): the server keeps what it has read until a newline comes.
 *
 * SIGPIPE is ignored, so a client that goes away before it has read its answers makes write()
 * fail with EPIPE: the server then closes that connection and carries on.  On SIGINT or SIGTERM
 * it removes PATH and exits with 0.  A read(), write() or accept() interrupted by a signal
 * (EINTR) is retried.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_LINE 4096                    /* bytes in a request line, its newline included */

static const char *socket_path;

/* SIGINT, SIGTERM: remove the socket file and exit (unlink and _exit are async-signal-safe). */
static void on_stop(int sig)
{
    (void)sig;
    unlink(socket_path);
    _exit(0);
}

static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
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

/* Answer every whole line read from the connection FD, until the client closes its end. */
static void serve(int fd)
{
    char in[MAX_LINE];
    char out[MAX_LINE];
    size_t have = 0;
    for (;;) {
        ssize_t n = read(fd, in + have, sizeof in - have);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            perror("unix_server: read");
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
            if (write_all(fd, out, len + 1) < 0)
                return;                  /* EPIPE: the client went away before reading it */
            start = nl + 1;
        }
        have -= (size_t)(start - in);
        memmove(in, start, have);
        if (have == sizeof in) {
            fprintf(stderr, "unix_server: a request line is longer than %d bytes\n", MAX_LINE);
            return;
        }
    }
}

static void *client_thread(void *arg)
{
    int fd = (int)(intptr_t)arg;
    serve(fd);
    close(fd);
    return NULL;
}

int main(int argc, char *argv[])
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s SOCKET_PATH\n", argv[0]);
        return 1;
    }
    socket_path = argv[1];
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    if (strlen(socket_path) >= sizeof addr.sun_path) {
        fprintf(stderr, "unix_server: socket path too long: %s\n", socket_path);
        return 1;
    }
    strcpy(addr.sun_path, socket_path);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = SIG_IGN;             /* a client gone early: write() fails with EPIPE */
    if (sigaction(SIGPIPE, &sa, NULL) == -1) {
        perror("unix_server: sigaction");
        return 1;
    }
    sa.sa_handler = on_stop;
    if (sigaction(SIGINT, &sa, NULL) == -1 || sigaction(SIGTERM, &sa, NULL) == -1) {
        perror("unix_server: sigaction");
        return 1;
    }

    struct stat st;                      /* a socket file left by a server that crashed */
    if (lstat(socket_path, &st) == 0 && S_ISSOCK(st.st_mode) && unlink(socket_path) == -1) {
        perror("unix_server: unlink");
        return 1;
    }
    int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (lfd == -1) {
        perror("unix_server: socket");
        return 1;
    }
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) == -1) {
        perror("unix_server: bind");
        return 1;
    }
    if (listen(lfd, 16) == -1) {
        perror("unix_server: listen");
        unlink(socket_path);
        return 1;
    }

    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd == -1) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            perror("unix_server: accept");
            unlink(socket_path);
            return 1;
        }
        pthread_t thread;
        int rc = pthread_create(&thread, &attr, client_thread, (void *)(intptr_t)fd);
        if (rc != 0) {
            fprintf(stderr, "unix_server: pthread_create: %s\n", strerror(rc));
            close(fd);
        }
    }
}
