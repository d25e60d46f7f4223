/*
 * producer PREFIX ID COUNT: puts the items ID:1, ID:2, ... ID:COUNT into the bounded buffer.
 *
 * For each item: wait for a free slot (PREFIX-empty), then for the buffer (PREFIX-mutex) -- in
 * that order: waiting for a slot while holding the mutex would stop every consumer from freeing
 * one -- put the item in slot `in`, advance `in`, release the buffer, and announce the item
 * (PREFIX-full).  A sem_wait interrupted by a signal (EINTR) is retried.  Exit code 0; 1 on an
 * error.
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
        fprintf(stderr, "producer: PREFIX is too long\n");
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
    if (argc != 4) {
        fprintf(stderr, "usage: %s PREFIX ID COUNT\n", argv[0]);
        return 2;
    }
    const char *prefix = argv[1];
    int id = atoi(argv[2]);
    int count = atoi(argv[3]);

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
        wait_for(empty, "sem_wait(empty)");       /* a free slot first... */
        wait_for(mutex, "sem_wait(mutex)");       /* ...then the buffer */
        buf->slot[buf->in] = (item_t){ id, i };
        buf->in = (buf->in + 1) % SLOTS;
        post(mutex, "sem_post(mutex)");
        post(full, "sem_post(full)");
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
