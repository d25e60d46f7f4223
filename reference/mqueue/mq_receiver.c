/*
 * mq_receiver NAME COUNT [--nonblock]: the lecture's receiver.
 *
 * Opens the POSIX message queue NAME for reading, creating it when it does not exist with the
 * lecture's attributes (at most 10 messages of at most 256 bytes, mode 0600).  It asks the queue
 * for its message size (mq_getattr) and receives into a buffer of exactly mq_msgsize bytes (a
 * smaller one makes mq_receive fail with EMSGSIZE).  For each of COUNT messages, highest priority
 * first, it prints
 *
 *     Received (priority P): MSG
 *
 * where MSG is the bytes of the message exactly (no NUL is added to or expected in a message;
 * zero bytes are printed as they are), followed by a newline.
 *
 * On an empty queue mq_receive blocks, and mq_receive interrupted by a signal (EINTR) is
 * retried.  With --nonblock the queue is opened with O_NONBLOCK: on an empty queue mq_receive
 * fails with EAGAIN, and the program prints "Queue empty (EAGAIN)" and stops.
 *
 * Once it has opened the queue, mq_receiver removes it (mq_unlink) before it exits, whatever
 * happened: it is the one program that does.
 *
 * Exit code 0 after COUNT messages; 3 when --nonblock found the queue empty; 1 when a call fails
 * (message on stderr); 2 for bad arguments.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define QUEUE_MAXMSG 10         /* the lecture's attributes */
#define QUEUE_MSGSIZE 256

/* Receive COUNT messages from MQ and print them; the exit code. */
static int receive(mqd_t mq, long count, int nonblock)
{
    struct mq_attr attr;
    if (mq_getattr(mq, &attr) == -1) {
        perror("mq_receiver: mq_getattr");
        return 1;
    }
    char *buf = malloc((size_t)attr.mq_msgsize);
    if (buf == NULL) {
        perror("mq_receiver: malloc");
        return 1;
    }
    int rc = 0;
    for (long i = 0; i < count; i++) {
        unsigned int prio;
        ssize_t n;
        while ((n = mq_receive(mq, buf, (size_t)attr.mq_msgsize, &prio)) == -1 && errno == EINTR)
            ;
        if (n == -1) {
            if (nonblock && errno == EAGAIN) {
                if (printf("Queue empty (EAGAIN)\n") < 0) {
                    perror("mq_receiver: printf");
                    rc = 1;
                    break;
                }
                rc = 3;
                break;
            }
            perror("mq_receiver: mq_receive");
            rc = 1;
            break;
        }
        if (printf("Received (priority %u): ", prio) < 0 || fwrite(buf, 1, (size_t)n, stdout) != (size_t)n
            || putchar('\n') == EOF || fflush(stdout) == EOF) {
            perror("mq_receiver: printing");
            rc = 1;
            break;
        }
    }
    free(buf);
    if (fflush(stdout) == EOF) {
        perror("mq_receiver: printing");
        rc = 1;
    }
    return rc;
}

int main(int argc, char *argv[])
{
    int nonblock = argc == 4 && strcmp(argv[3], "--nonblock") == 0;
    char *end = NULL;
    long count = argc >= 3 ? strtol(argv[2], &end, 10) : 0;
    if ((argc != 3 && !nonblock) || end == argv[2] || *end != '\0' || count <= 0) {
        fprintf(stderr, "usage: %s NAME COUNT [--nonblock] (COUNT > 0)\n", argv[0]);
        return 2;
    }
    const char *name = argv[1];
    struct mq_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.mq_maxmsg = QUEUE_MAXMSG;
    attr.mq_msgsize = QUEUE_MSGSIZE;
    int flags = O_CREAT | O_RDONLY | (nonblock ? O_NONBLOCK : 0);
    mqd_t mq = mq_open(name, flags, 0600, &attr);
    if (mq == (mqd_t)-1) {
        fprintf(stderr, "mq_receiver: mq_open(%s): %s\n", name, strerror(errno));
        return 1;
    }
    int rc = receive(mq, count, nonblock);
    if (mq_close(mq) == -1) {
        perror("mq_receiver: mq_close");
        rc = 1;
    }
    if (mq_unlink(name) == -1) {
        fprintf(stderr, "mq_receiver: mq_unlink(%s): %s\n", name, strerror(errno));
        rc = 1;
    }
    return rc;
}
