/*
 * mq_create NAME MAXMSG MSGSIZE: the lecture's queue creation.
 *
 * Creates the POSIX message queue NAME (O_CREAT | O_EXCL, mode 0600) for at most MAXMSG messages
 * of at most MSGSIZE bytes each, reads the attributes back with mq_getattr and prints them:
 *
 *     maxmsg: MAXMSG
 *     msgsize: MSGSIZE
 *     curmsgs: 0
 *
 * It closes the queue and leaves it in place: only mq_receiver removes a queue.  Exit code 0;
 * 1 when a call fails (mq_open fails with EINVAL when MAXMSG or MSGSIZE is above the limits in
 * /proc/sys/fs/mqueue/msg_max and msgsize_max); 2 for bad arguments.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* A whole positive number, or -1. */
static long positive(const char *text)
{
    char *end;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value <= 0)
        return -1;
    return value;
}

int main(int argc, char *argv[])
{
    if (argc != 4 || positive(argv[2]) < 0 || positive(argv[3]) < 0) {
        fprintf(stderr, "usage: %s NAME MAXMSG MSGSIZE (MAXMSG, MSGSIZE > 0)\n", argv[0]);
        return 2;
    }
    const char *name = argv[1];
    struct mq_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.mq_flags = 0;
    attr.mq_maxmsg = positive(argv[2]);
    attr.mq_msgsize = positive(argv[3]);
    attr.mq_curmsgs = 0;

    mqd_t mq = mq_open(name, O_CREAT | O_EXCL | O_RDWR, 0600, &attr);
    if (mq == (mqd_t)-1) {
        int err = errno;
        fprintf(stderr, "mq_create: mq_open(%s): %s\n", name, strerror(err));
        if (err == EINVAL)
            fprintf(stderr, "mq_create: MAXMSG and MSGSIZE may not pass /proc/sys/fs/mqueue/msg_max "
                            "and msgsize_max\n");
        return 1;
    }
    struct mq_attr got;
    if (mq_getattr(mq, &got) == -1) {
        perror("mq_create: mq_getattr");
        mq_close(mq);
        return 1;
    }
    if (mq_close(mq) == -1) {
        perror("mq_create: mq_close");
        return 1;
    }
    if (printf("maxmsg: %ld\nmsgsize: %ld\ncurmsgs: %ld\n", got.mq_maxmsg, got.mq_msgsize, got.mq_curmsgs) < 0
        || fflush(stdout) == EOF) {
        perror("mq_create: printf");
        return 1;
    }
    return 0;
}
