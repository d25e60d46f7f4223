/*
 * mq_sender NAME PRIO:MSG...: the lecture's sender.
 *
 * Opens the POSIX message queue NAME for writing, creating it when it does not exist with the
 * lecture's attributes (at most 10 messages of at most 256 bytes, mode 0600; an existing queue
 * keeps its own attributes).  Then it sends each MSG, in the order given, as one message with
 * priority PRIO.  A message is the bytes of MSG exactly: strlen(MSG) bytes, the terminating NUL
 * is NOT sent.  MSG is everything after the first ':', so it may be empty and may hold spaces
 * and colons.
 *
 * When the queue is full, mq_send blocks until there is room.  mq_send interrupted by a signal
 * (EINTR) is retried.  The sender never removes the queue: mq_receiver does.
 *
 * Prints nothing on stdout.  Exit code 0 when every message was sent; 1 when a call fails
 * (message on stderr); 2 for bad arguments (nothing is sent then).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define QUEUE_MAXMSG 10         /* the lecture's attributes */
#define QUEUE_MSGSIZE 256

struct message {
    unsigned int prio;
    const char *text;
    size_t len;
};

/* Split "PRIO:MSG"; 0 on success, -1 when it is not of that form. */
static int parse(const char *arg, long prio_max, struct message *m)
{
    const char *colon = strchr(arg, ':');
    if (colon == NULL || colon == arg)
        return -1;
    unsigned long prio = 0;
    for (const char *p = arg; p < colon; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        prio = prio * 10 + (unsigned long)(*p - '0');
        if (prio >= (unsigned long)prio_max)
            return -1;
    }
    m->prio = (unsigned int)prio;
    m->text = colon + 1;
    m->len = strlen(colon + 1);    /* the NUL is not part of the message */
    return 0;
}

int main(int argc, char *argv[])
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s NAME PRIO:MSG...\n", argv[0]);
        return 2;
    }
    const char *name = argv[1];
    long prio_max = sysconf(_SC_MQ_PRIO_MAX);
    if (prio_max <= 0)
        prio_max = 32768;
    int count = argc - 2;
    struct message *msgs = calloc((size_t)count, sizeof *msgs);
    if (msgs == NULL) {
        perror("mq_sender: calloc");
        return 1;
    }
    for (int i = 0; i < count; i++) {
        if (parse(argv[i + 2], prio_max, &msgs[i]) == -1) {
            fprintf(stderr, "mq_sender: %s: expected PRIO:MSG with PRIO from 0 to %ld\n", argv[i + 2],
                    prio_max - 1);
            free(msgs);
            return 2;
        }
    }

    struct mq_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.mq_maxmsg = QUEUE_MAXMSG;
    attr.mq_msgsize = QUEUE_MSGSIZE;
    mqd_t mq = mq_open(name, O_CREAT | O_WRONLY, 0600, &attr);
    if (mq == (mqd_t)-1) {
        fprintf(stderr, "mq_sender: mq_open(%s): %s\n", name, strerror(errno));
        free(msgs);
        return 1;
    }
    int rc = 0;
    for (int i = 0; i < count; i++) {
        int sent;
        while ((sent = mq_send(mq, msgs[i].text, msgs[i].len, msgs[i].prio)) == -1 && errno == EINTR)
            ;
        if (sent == -1) {
            fprintf(stderr, "mq_sender: mq_send of message %d (%zu bytes): %s\n", i + 1, msgs[i].len,
                    strerror(errno));
            rc = 1;
            break;
        }
    }
    free(msgs);
    if (mq_close(mq) == -1) {
        perror("mq_sender: mq_close");
        rc = 1;
    }
    return rc;
}
