/* variant: mq_timedsend with no deadline, priorities parsed with strtol */
#include "mqhelp.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: mq_sender NAME PRIO:MSG...\n"); return 2; }
    /* validate all arguments first */
    for (int i = 2; i < argc; i++) {
        char *colon = strchr(argv[i], ':');
        long p;
        if (!colon) { fprintf(stderr, "bad argument: %s\n", argv[i]); return 2; }
        *colon = '\0';
        int bad = parse_long(argv[i], 0, 32767, &p);
        *colon = ':';
        if (bad) { fprintf(stderr, "bad priority: %s\n", argv[i]); return 2; }
    }
    mqd_t q = open_lecture_queue(argv[1], O_WRONLY);
    if (q == (mqd_t)-1) { perror("mq_open"); return 1; }
    int rc = 0;
    for (int i = 2; i < argc; i++) {
        char *colon = strchr(argv[i], ':');
        *colon = '\0';
        long prio;
        parse_long(argv[i], 0, 32767, &prio);
        const char *msg = colon + 1;
        int r;
        while ((r = mq_timedsend(q, msg, strlen(msg), (unsigned)prio, NULL)) == -1 && errno == EINTR)
            ;
        if (r == -1) { perror("mq_send"); rc = 1; break; }
    }
    mq_close(q);
    return rc;
}
