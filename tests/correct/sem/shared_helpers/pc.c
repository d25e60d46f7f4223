#include "pc.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

void sem_name(char *out, size_t n, const char *prefix, const char *suffix) {
    snprintf(out, n, "%s-%s", prefix, suffix);
}

static sem_t *open_one(const char *prefix, const char *suffix) {
    char name[512];
    sem_name(name, sizeof name, prefix, suffix);
    sem_t *s = sem_open(name, 0);
    if (s == SEM_FAILED) perror(name);
    return s;
}

int pc_open(const char *prefix, pc_t *pc) {
    int fd = shm_open(prefix, O_RDWR, 0);
    if (fd < 0) { perror("shm_open"); return -1; }
    pc->buf = mmap(NULL, sizeof(buffer_t), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (pc->buf == MAP_FAILED) { perror("mmap"); return -1; }
    if ((pc->empty = open_one(prefix, "empty")) == SEM_FAILED) return -1;
    if ((pc->full = open_one(prefix, "full")) == SEM_FAILED) return -1;
    if ((pc->mutex = open_one(prefix, "mutex")) == SEM_FAILED) return -1;
    return 0;
}

void pc_close(pc_t *pc) {
    sem_close(pc->empty);
    sem_close(pc->full);
    sem_close(pc->mutex);
    munmap(pc->buf, sizeof(buffer_t));
}

void P(sem_t *s) {
    while (sem_wait(s) == -1) {
        if (errno != EINTR) { perror("sem_wait"); exit(1); }
    }
}

void V(sem_t *s) {
    if (sem_post(s) == -1) { perror("sem_post"); exit(1); }
}
