#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int p[2];
    if (pipe(p) < 0) { perror("pipe"); return 1; }
    if (argc > 1) {
        int sz = atoi(argv[1]);
        if (fcntl(p[0], F_SETPIPE_SZ, sz) < 0) { perror("F_SETPIPE_SZ"); return 1; }
    }
    int cap = fcntl(p[1], F_GETPIPE_SZ);
    if (cap < 0) { perror("F_GETPIPE_SZ"); return 1; }
    printf("capacity: %d\n", cap);
    int fl = fcntl(STDIN_FILENO, F_GETFL);
    if (fl < 0 || fcntl(STDIN_FILENO, F_SETFL, fl | O_NONBLOCK) < 0) { perror("fcntl"); return 1; }
    char b[512];
    ssize_t r = read(STDIN_FILENO, b, sizeof b);
    if (r < 0) {
        if (errno == EAGAIN) printf("empty read: EAGAIN\n");
        else { perror("read"); return 1; }
    } else printf("empty read: got %zd bytes\n", r);
    return 0;
}
