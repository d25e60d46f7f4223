/*
 * fifo_client PATH MESSAGE: the lecture's FIFO client, made correct.
 *
 * Opens the FIFO PATH for writing -- open() blocks until a server has it open for reading -- and
 * sends MESSAGE followed by a newline in ONE write().  A write of at most PIPE_BUF bytes to a
 * FIFO is atomic: when several clients write at once, each message arrives whole, never mixed
 * with another one.  The client never creates PATH: when there is nothing there, or something
 * that is not a FIFO, it says so and exits with 1.
 *
 * Exit codes: 0 sent; 1 error (no FIFO at PATH, PATH not a FIFO, the server went away, a system
 * call failed); 2 usage (wrong arguments, a MESSAGE with a newline or longer than PIPE_BUF - 1).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char *argv[])
{
    if (argc != 3) {
        fprintf(stderr, "usage: fifo_client PATH MESSAGE\n");
        return 2;
    }
    const char *path = argv[1];
    const char *msg = argv[2];
    size_t len = strlen(msg);
    if (len + 1 > PIPE_BUF || memchr(msg, '\n', len) != NULL) {
        fprintf(stderr, "fifo_client: the message must be one line of at most %d bytes\n", PIPE_BUF - 1);
        return 2;
    }
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {  /* a server that went away: EPIPE, not death */
        perror("fifo_client: signal");
        return 1;
    }

    int fd;
    while ((fd = open(path, O_WRONLY)) == -1 && errno == EINTR)
        ;                                /* no O_CREAT: the server makes the FIFO */
    if (fd == -1) {
        fprintf(stderr, "fifo_client: cannot open %s: %s (is the server running?)\n", path, strerror(errno));
        return 1;
    }
    struct stat st;
    if (fstat(fd, &st) == -1) {
        perror("fifo_client: fstat");
        close(fd);
        return 1;
    }
    if (!S_ISFIFO(st.st_mode)) {
        fprintf(stderr, "fifo_client: %s is not a FIFO\n", path);
        close(fd);
        return 1;
    }

    char buf[PIPE_BUF];
    memcpy(buf, msg, len);
    buf[len] = '\n';
    ssize_t n;
    while ((n = write(fd, buf, len + 1)) == -1 && errno == EINTR)
        ;                                /* one write of at most PIPE_BUF bytes: atomic */
    if (n == -1) {
        fprintf(stderr, "fifo_client: write %s: %s\n", path, strerror(errno));
        close(fd);
        return 1;
    }
    if ((size_t)n != len + 1) {
        fprintf(stderr, "fifo_client: only %zd of %zu bytes were written\n", n, len + 1);
        close(fd);
        return 1;
    }
    if (close(fd) == -1) {
        perror("fifo_client: close");
        return 1;
    }
    return 0;
}
