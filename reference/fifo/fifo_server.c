/*
 * fifo_server PATH [COUNT]: the lecture's FIFO server, made correct.
 *
 * Creates the FIFO PATH with mode 0600 (a FIFO already there, left behind by a server that was
 * killed, is reused as it is; anything else at PATH is an error).  It opens the FIFO for reading
 * -- open() blocks until the first client opens it for writing -- and then opens it for writing
 * too, a write end it never writes: while the server itself holds a writer, read() never returns
 * end-of-file when a client closes the FIFO, so the server need not close and reopen it between
 * clients (the classic server of Stevens' UNP).  Reopening would leave a gap in which a client
 * can open the FIFO, write and close before the server closed its old descriptor, and its
 * message would be lost with the pipe.  It prints each message (a line) as
 *
 *     Received: MESSAGE
 *
 * The bytes a read() returns are not a message: one read can hold several messages, or a part of
 * one; only a newline ends one.
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

/* Open the FIFO with FLAGS, retrying after EINTR; for reading, this blocks until a client opens
 * it for writing.  Returns the fd, or -1 on error or when SIGINT/SIGTERM came (`stop` is set). */
static int open_fifo(const char *path, int flags)
{
    while (!stop) {
        int fd = open(path, flags);
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

/* Read the FIFO PATH on FD and print every message, until COUNT messages (0: no limit) or
 * SIGINT/SIGTERM (0), or an error (-1). */
static int serve(int fd, const char *path, long count)
{
    char line[PIPE_BUF];                 /* a message is at most PIPE_BUF bytes, newline included */
    size_t have = 0;
    long served = 0;
    while (!stop) {
        ssize_t n = read(fd, line + have, sizeof line - have);
        if (n < 0) {
            if (errno == EINTR)
                continue;                /* the loop checks `stop` */
            perror("fifo_server: read");
            return -1;
        }
        if (n == 0) {                    /* no writer left: cannot happen, the server is one */
            fprintf(stderr, "fifo_server: unexpected end-of-file on %s\n", path);
            return -1;
        }
        have += (size_t)n;
        size_t start = 0;
        char *nl;
        while ((nl = memchr(line + start, '\n', have - start)) != NULL) {
            size_t len = (size_t)(nl - (line + start));
            if (print_message(line + start, len) == -1)
                return -1;
            start += len + 1;
            if (count > 0 && ++served >= count)
                return 0;
        }
        if (start == 0 && have == sizeof line) {  /* longer than PIPE_BUF: print it in pieces */
            if (print_message(line, have) == -1)
                return -1;
            start = have;
        }
        memmove(line, line + start, have - start);
        have -= start;
    }
    return 0;
}

/* Wait for the first client, keep a write end of the server's own, and serve.  0 on a normal end
 * (COUNT messages, SIGINT, SIGTERM), -1 on error. */
static int run(const char *path, long count)
{
    int fd = open_fifo(path, O_RDONLY);  /* blocks until the first client comes */
    if (fd == -1)
        return stop ? 0 : -1;
    int keep = open_fifo(path, O_WRONLY);  /* never written: read() never sees end-of-file */
    if (keep == -1) {
        close(fd);
        return stop ? 0 : -1;
    }
    int rc = serve(fd, path, count);
    if (close(keep) == -1) {
        perror("fifo_server: close");
        rc = -1;
    }
    if (close(fd) == -1) {
        perror("fifo_server: close");
        rc = -1;
    }
    return rc;
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

    int rc = run(path, count) == 0 ? 0 : 1;
    if (unlink(path) == -1 && errno != ENOENT) {
        fprintf(stderr, "fifo_server: cannot remove %s: %s\n", path, strerror(errno));
        rc = 1;
    }
    return rc;
}
