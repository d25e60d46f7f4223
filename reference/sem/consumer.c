/*
 * consumer PREFIX COUNT: takes COUNT items out of the bounded buffer and prints each as
 * "consumed P:I" (P the producer's ID, I the item's number), one line per item.
 *
 * For each item: wait for a filled slot (PREFIX-full), then for the buffer (PREFIX-mutex) -- in
 * that order: waiting for an item while holding the mutex would stop every producer from putting
 * one -- take the item in slot `out`, advance `out`, release the buffer, and announce the free
 * slot (PREFIX-empty).  A sem_wait interrupted by a signal (EINTR) is retried.  Exit code 0; 1 on
 * an error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pc.h"

static sem_t *open_sem(const char *prefix, const char *which)
{
    char name[NAME_MAX];
    if (sem_name(name, sizeof name, prefix, which) == -1) {
        fprintf(stderr, "consumer: PREFIX is too long\n");
        exit(2);
    }
    sem_t *sem = sem_open(name, 0);
    if (sem == SEM_FAILED) {
        perror(name);
        exit(1);
    }
    return sem;
}

/* sem_wait, again after a signal; exits on any other error. */
static void wait_for(sem_t *sem, const char *what)
{
    while (sem_wait(sem) == -1) {
        if (errno != EINTR) {
            perror(what);
            exit(1);
        }
    }
}

static void post(sem_t *sem, const char *what)
{
    if (sem_post(sem) == -1) {
        perror(what);
        exit(1);
    }
}

int main(int argc, char *argv[])
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s PREFIX COUNT\n", argv[0]);
        return 2;
    }
    const char *prefix = argv[1];
    int count = atoi(argv[2]);

    sem_t *empty = open_sem(prefix, "empty");
    sem_t *full = open_sem(prefix, "full");
    sem_t *mutex = open_sem(prefix, "mutex");
    int fd = shm_open(prefix, O_RDWR, 0);
    if (fd == -1) {
        perror(prefix);
        return 1;
    }
    buffer_t *buf = mmap(NULL, sizeof(buffer_t), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (buf == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    close(fd);

    for (int i = 1; i <= count; i++) {
        wait_for(full, "sem_wait(full)");         /* an item first... */
        wait_for(mutex, "sem_wait(mutex)");       /* ...then the buffer */
        item_t item = buf->slot[buf->out];
        buf->out = (buf->out + 1) % SLOTS;
        post(mutex, "sem_post(mutex)");
        post(empty, "sem_post(empty)");
        printf("consumed %d:%d\n", item.producer, item.number);
    }
    if (fflush(stdout) == EOF) {
        perror("stdout");
        return 1;
    }

    int status = 0;
    if (munmap(buf, sizeof(buffer_t)) == -1) {
        perror("munmap");
        status = 1;
    }
    if (sem_close(empty) == -1 || sem_close(full) == -1 || sem_close(mutex) == -1) {
        perror("sem_close");
        status = 1;
    }
    return status;
}
