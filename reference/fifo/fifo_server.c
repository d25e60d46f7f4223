/*
 * fifo_server PATH [COUNT]: the lecture's FIFO server, made correct.
 *
 * Creates the FIFO PATH with mode 0600 (a FIFO already there, left behind by a server that was
 * killed, is reused as it is; anything else at PATH is an error).  Then, client after client, it
 * opens the FIFO for reading -- open() blocks until a client opens it for writing -- and reads it
 * until end-of-file (every client has closed it), printing each message (a line) as
 *
 *     Received: MESSAGE
 *
 * then closes the FIFO and opens it again for the next client.  The bytes a read() returns are
 * not a message: one read can hold several messages, or a part of one; only a newline ends one.
 *
 * With COUNT, the server stops after COUNT messages.  SIGINT and SIGTERM only set a flag; the
 * handler is installed without SA_RESTART, so a blocked open() or read() fails with EINTR and the
 * loop sees the flag.  Any other EINTR (a signal the server does not act on) is retried.  In
 * every case the server removes the FIFO before it exits.
 *
 * Exit codes: 0 normal end (COUNT messages, SIGINT, SIGTERM); 1 error (PATH exists and is not a
 * FIFO, a system call failed); 2 usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define FIFO_MODE 0600

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

/* Create the FIFO, or accept a FIFO that is already there; 0 on success, -1 on error. */
static int make_fifo(const char *path)
{
    if (mkfifo(path, FIFO_MODE) == 0)
        return 0;
    if (errno != EEXIST) {
        fprintf(stderr, "fifo_server: cannot create the FIFO %s: %s\n", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (lstat(path, &st) == -1) {
        fprintf(stderr, "fifo_server: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (!S_ISFIFO(st.st_mode)) {
        fprintf(stderr, "fifo_server: %s exists and is not a FIFO; remove it or choose another path\n", path);
        return -1;
    }
    return 0;                            /* a FIFO left behind by an earlier server: reuse it */
}

/* Open the FIFO for reading; blocks until a client opens it for writing.  Returns the fd, or -1
 * on error or when SIGINT/SIGTERM came (then `stop` is set). */
static int open_fifo(const char *path)
{
    while (!stop) {
        int fd = open(path, O_RDONLY);
        if (fd >= 0)
            return fd;
        if (errno != EINTR) {
            fprintf(stderr, "fifo_server: open %s: %s\n", path, strerror(errno));
            return -1;
        }
    }
    return -1;
}

static int print_message(const char *msg, size_t len)
{
    if (printf("Received: %.*s\n", (int)len, msg) < 0 || fflush(stdout) == EOF) {
        perror("fifo_server: stdout");
        return -1;
    }
    return 0;
}

/* Read the FIFO until end-of-file, printing every message.  Returns 0 at end-of-file (wait for
 * the next client), 1 when the server is done (COUNT messages, or SIGINT/SIGTERM), -1 on error. */
static int serve_clients(int fd, long count, long *served)
{
    char line[PIPE_BUF];                 /* a message is at most PIPE_BUF bytes, newline included */
    size_t have = 0;
    while (!stop) {
        ssize_t n = read(fd, line + have, sizeof line - have);
        if (n < 0) {
            if (errno == EINTR)
                continue;                /* the loop checks `stop` */
            perror("fifo_server: read");
            return -1;
        }
        if (n == 0) {                    /* end-of-file: the last client closed the FIFO */
            if (have > 0)
                fprintf(stderr, "fifo_server: dropped %zu bytes without a newline\n", have);
            return 0;
        }
        have += (size_t)n;
        size_t start = 0;
        char *nl;
        while ((nl = memchr(line + start, '\n', have - start)) != NULL) {
            size_t len = (size_t)(nl - (line + start));
            if (print_message(line + start, len) == -1)
                return -1;
            start += len + 1;
            if (count > 0 && ++*served >= count)
                return 1;
        }
        if (start == 0 && have == sizeof line) {  /* longer than PIPE_BUF: print it in pieces */
            if (print_message(line, have) == -1)
                return -1;
            start = have;
        }
        memmove(line, line + start, have - start);
        have -= start;
    }
    return 1;
}

static int usage(void)
{
    fprintf(stderr, "usage: fifo_server PATH [COUNT]\n");
    return 2;
}

int main(int argc, char *argv[])
{
    if (argc < 2 || argc > 3)
        return usage();
    const char *path = argv[1];
    long count = 0;
    if (argc == 3) {
        char *end;
        errno = 0;
        count = strtol(argv[2], &end, 10);
        if (errno != 0 || end == argv[2] || *end != '\0' || count <= 0)
            return usage();
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;                     /* no SA_RESTART: a blocked open() or read() fails with EINTR */
    if (sigaction(SIGINT, &sa, NULL) == -1 || sigaction(SIGTERM, &sa, NULL) == -1) {
        perror("fifo_server: sigaction");
        return 1;
    }
    if (make_fifo(path) == -1)
        return 1;

    int rc = 0;
    long served = 0;
    while (!stop) {
        int fd = open_fifo(path);
        if (fd == -1) {
            if (!stop)
                rc = 1;
            break;
        }
        int done = serve_clients(fd, count, &served);
        if (close(fd) == -1) {
            perror("fifo_server: close");
            rc = 1;
            break;
        }
        if (done != 0) {
            if (done < 0)
                rc = 1;
            break;
        }
    }
    if (unlink(path) == -1 && errno != ENOENT) {
        fprintf(stderr, "fifo_server: cannot remove %s: %s\n", path, strerror(errno));
        rc = 1;
    }
    return rc;
}
