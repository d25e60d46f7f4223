/*
 * pc_init PREFIX: makes the producer-consumer's objects.
 *
 * The shared-memory object PREFIX, sized to a buffer_t (all zero: in = out = 0), and the named
 * semaphores PREFIX-empty (value 10), PREFIX-full (0) and PREFIX-mutex (1), all with mode 0600.
 * None of them may exist already.  Exit code 0; 1 on an error (what was made is removed again).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <semaphore.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pc.h"

static const char *const WHICH[3] = { "empty", "full", "mutex" };
static const unsigned INITIAL[3] = { SLOTS, 0, 1 };

int main(int argc, char *argv[])
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s PREFIX\n", argv[0]);
        return 2;
    }
    const char *prefix = argv[1];
    char names[3][NAME_MAX];
    for (int i = 0; i < 3; i++) {
        if (sem_name(names[i], sizeof names[i], prefix, WHICH[i]) == -1) {
            fprintf(stderr, "pc_init: PREFIX is too long\n");
            return 2;
        }
    }

    int fd = shm_open(prefix, O_CREAT | O_EXCL | O_RDWR, 0600);
    if (fd == -1) {
        perror("shm_open");
        return 1;
    }
    if (ftruncate(fd, sizeof(buffer_t)) == -1) {   /* zero bytes: in = out = 0 */
        perror("ftruncate");
        close(fd);
        shm_unlink(prefix);
        return 1;
    }
    close(fd);

    for (int i = 0; i < 3; i++) {
        sem_t *sem = sem_open(names[i], O_CREAT | O_EXCL, 0600, INITIAL[i]);
        if (sem == SEM_FAILED || sem_close(sem) == -1) {
            perror(names[i]);
            if (sem != SEM_FAILED)
                i++;                          /* it was made: remove it too */
            while (--i >= 0)
                sem_unlink(names[i]);
            shm_unlink(prefix);
            return 1;
        }
    }
    return 0;
}
