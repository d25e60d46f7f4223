/* variant: raw write(2) output, mq_timedreceive with no deadline */
#include "mqhelp.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int write_all(const char *p, size_t n) {
    while (n) {
        ssize_t w = write(1, p, n);
        if (w < 0) { if (errno == EINTR) continue; return -1; }
        p += w; n -= (size_t)w;
    }
    return 0;
}

int main(int argc, char **argv) {
    long count;
    int nonblock = 0;
    if (argc < 3 || argc > 4 || parse_long(argv[2], 0, 1L << 30, &count)) {
        fprintf(stderr, "usage: mq_receiver NAME COUNT [--nonblock]\n"); return 2;
    }
    if (argc == 4) {
        if (strcmp(argv[3], "--nonblock")) { fprintf(stderr, "bad option\n"); return 2; }
        nonblock = 1;
    }
    mqd_t q = open_lecture_queue(argv[1], O_RDONLY | (nonblock ? O_NONBLOCK : 0));
    if (q == (mqd_t)-1) { perror("mq_open"); return 1; }
    int rc = 0;
    struct mq_attr a;
    char *buf = NULL;
    if (mq_getattr(q, &a) == -1) { perror("mq_getattr"); rc = 1; goto out; }
    buf = malloc((size_t)a.mq_msgsize);
    if (!buf) { perror("malloc"); rc = 1; goto out; }
    for (long i = 0; i < count; i++) {
        unsigned prio;
        ssize_t n;
        while ((n = mq_timedreceive(q, buf, (size_t)a.mq_msgsize, &prio, NULL)) == -1 && errno == EINTR)
            ;
        if (n == -1) {
            if (errno == EAGAIN && nonblock) { write_all("Queue empty (EAGAIN)\n", 21); rc = 3; break; }
            perror("mq_receive"); rc = 1; break;
        }
        char head[64];
        int hl = snprintf(head, sizeof head, "Received (priority %u): ", prio);
        if (write_all(head, (size_t)hl) || write_all(buf, (size_t)n) || write_all("\n", 1)) { rc = 1; break; }
    }
out:
    free(buf);
    mq_close(q);
    if (mq_unlink(argv[1]) == -1) { perror("mq_unlink"); if (!rc) rc = 1; }
    return rc;
}
