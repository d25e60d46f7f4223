/*
 * pipe_relay: the lecture's parent-to-child pipe program.
 *
 * The parent creates a pipe and forks.  The parent copies everything it reads from its standard
 * input into the pipe; the child reads the pipe until end-of-file and copies every byte to its
 * standard output.  Each side closes the end it does not use, so that the child sees end-of-file
 * as soon as the parent has closed its write end.  The parent waits for the child and exits with
 * the child's exit code.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

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

/* Copy IN to OUT until end-of-file; 0 on success, -1 on error (errno set). */
static int copy(int in, int out, const char *who)
{
    char buf[8192];
    for (;;) {
        ssize_t n = read(in, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            perror(who);
            return -1;
        }
        if (n == 0)
            return 0;
        if (write_all(out, buf, (size_t)n) < 0) {
            perror(who);
            return -1;
        }
    }
}

int main(void)
{
    int fd[2];
    if (pipe(fd) == -1) {
        perror("pipe");
        return 1;
    }
    pid_t pid = fork();
    if (pid == -1) {
        perror("fork");
        return 1;
    }
    if (pid == 0) {                      /* child: reads the pipe */
        close(fd[1]);
        int rc = copy(fd[0], STDOUT_FILENO, "child: read");
        close(fd[0]);
        _exit(rc == 0 ? 0 : 1);
    }
    close(fd[0]);                        /* parent: writes the pipe */
    int rc = copy(STDIN_FILENO, fd[1], "parent: write");
    close(fd[1]);                        /* the child sees end-of-file now */

    int status;
    while (waitpid(pid, &status, 0) == -1) {
        if (errno != EINTR) {
            perror("waitpid");
            return 1;
        }
    }
    if (rc != 0)
        return 1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
