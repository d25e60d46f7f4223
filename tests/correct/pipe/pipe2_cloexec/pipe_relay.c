#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static int write_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) { if (errno == EINTR) continue; return -1; }
        p += w; n -= (size_t)w;
    }
    return 0;
}

/* copy in -> out until EOF; returns 0 ok */
static int pump(int in, int out) {
    char buf[16384];
    for (;;) {
        ssize_t r = read(in, buf, sizeof buf);
        if (r < 0) { if (errno == EINTR) continue; perror("read"); return -1; }
        if (r == 0) return 0;
        if (write_all(out, buf, (size_t)r) < 0) { perror("write"); return -1; }
    }
}

int main(void) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) { perror("pipe2"); return 1; }
    pid_t pid = fork();
    if (pid < 0) { perror("fork"); return 1; }
    if (pid == 0) {
        close(p[1]);
        int rc = pump(p[0], STDOUT_FILENO) ? 1 : 0;
        close(p[0]);
        _exit(rc);
    }
    close(p[0]);
    int rc = pump(STDIN_FILENO, p[1]) ? 1 : 0;
    close(p[1]);
    int st;
    pid_t w;
    do w = waitpid(pid, &st, 0); while (w < 0 && errno == EINTR);
    if (w < 0) { perror("waitpid"); return 1; }
    if (rc) return 1;
    if (WIFEXITED(st)) return WEXITSTATUS(st);
    return 1;
}
