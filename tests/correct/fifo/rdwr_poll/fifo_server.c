/* FIFO server, variant: opens the FIFO O_RDWR (never sees EOF, never reopens) and waits in poll() */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static volatile sig_atomic_t stop = 0;
static void on_signal(int sig) { (void)sig; stop = 1; }

static const char *path;

static void finish(int fd, int code) {
    if (fd >= 0) close(fd);
    unlink(path);
    exit(code);
}

static void emit(const char *msg, size_t len) {
    static char out[8192 + 16];
    memcpy(out, "Received: ", 10);
    memcpy(out + 10, msg, len);
    out[10 + len] = '\n';
    size_t total = len + 11, off = 0;
    while (off < total) {
        ssize_t w = write(STDOUT_FILENO, out + off, total - off);
        if (w < 0) { if (errno == EINTR) continue; return; }
        off += (size_t)w;
    }
}

int main(int argc, char **argv) {
    if (argc < 2 || argc > 3) { fprintf(stderr, "usage: fifo_server PATH [COUNT]\n"); return 2; }
    path = argv[1];
    long count = 0;
    if (argc == 3) {
        char *end;
        count = strtol(argv[2], &end, 10);
        if (*end || count <= 0) { fprintf(stderr, "bad COUNT\n"); return 2; }
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0) { perror("sigaction"); return 1; }

    mode_t old = umask(0);
    int mk = mkfifo(path, 0600);
    umask(old);
    if (mk < 0) {
        if (errno != EEXIST) { perror("mkfifo"); return 1; }
        struct stat st;
        if (lstat(path, &st) < 0) { perror("lstat"); return 1; }
        if (!S_ISFIFO(st.st_mode)) { fprintf(stderr, "fifo_server: %s exists and is not a FIFO\n", path); return 1; }
    }
    int fd;
    while ((fd = open(path, O_RDWR | O_CLOEXEC)) < 0 && errno == EINTR && !stop)
        ;
    if (fd < 0) { if (stop) finish(-1, 0); perror("open"); finish(-1, 1); }

    static char buf[16384];
    size_t have = 0;
    long seen = 0;
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    for (;;) {
        if (stop) finish(fd, 0);
        int pr = poll(&pfd, 1, -1);
        if (pr < 0) {
            if (errno == EINTR) continue;   /* loop top checks the flag */
            perror("poll"); finish(fd, 1);
        }
        ssize_t r = read(fd, buf + have, sizeof buf - have);
        if (r < 0) {
            if (errno == EINTR) continue;
            perror("read"); finish(fd, 1);
        }
        if (r == 0) continue;   /* cannot happen: we hold a writer */
        have += (size_t)r;
        size_t start = 0;
        for (size_t i = 0; i < have; i++) {
            if (buf[i] == '\n') {
                emit(buf + start, i - start);
                start = i + 1;
                if (count && ++seen >= count) finish(fd, 0);
            }
        }
        memmove(buf, buf + start, have - start);
        have -= start;
        if (have == sizeof buf) { emit(buf, have); have = 0; }   /* overlong line */
    }
}
