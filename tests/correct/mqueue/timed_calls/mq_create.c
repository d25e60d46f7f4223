#include "mqhelp.h"
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>

int main(int argc, char **argv) {
    long maxmsg, msgsize;
    if (argc != 4 || parse_long(argv[2], 1, 1L << 30, &maxmsg) || parse_long(argv[3], 1, 1L << 30, &msgsize)) {
        fprintf(stderr, "usage: mq_create NAME MAXMSG MSGSIZE\n");
        return 2;
    }
    struct mq_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.mq_maxmsg = maxmsg;
    attr.mq_msgsize = msgsize;
    mqd_t q = mq_open(argv[1], O_CREAT | O_EXCL | O_RDWR, 0600, &attr);
    if (q == (mqd_t)-1) { fprintf(stderr, "mq_open %s: %s\n", argv[1], strerror(errno)); return 1; }
    struct mq_attr got;
    if (mq_getattr(q, &got) == -1) { perror("mq_getattr"); mq_close(q); return 1; }
    printf("maxmsg: %ld\nmsgsize: %ld\ncurmsgs: %ld\n", got.mq_maxmsg, got.mq_msgsize, got.mq_curmsgs);
    mq_close(q);
    return 0;
}
