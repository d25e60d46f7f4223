#include "pc.h"
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: pc_init PREFIX\n"); return 2; }
    const char *prefix = argv[1];
    static const char *suffix[3] = { "empty", "full", "mutex" };
    static const unsigned value[3] = { SLOTS, 0, 1 };
    char names[3][512];
    int made_shm = 0, made_sems = 0;
    int fd = shm_open(prefix, O_CREAT | O_EXCL | O_RDWR, 0600);
    if (fd < 0) { perror("shm_open"); goto fail; }
    made_shm = 1;
    if (ftruncate(fd, sizeof(buffer_t)) < 0) { perror("ftruncate"); close(fd); goto fail; }   /* zero-filled */
    close(fd);
    for (int i = 0; i < 3; i++) {
        sem_name(names[i], sizeof names[i], prefix, suffix[i]);
        sem_t *s = sem_open(names[i], O_CREAT | O_EXCL, 0600, value[i]);
        if (s == SEM_FAILED) { perror(names[i]); goto fail; }
        made_sems++;
        sem_close(s);
    }
    return 0;
fail:
    for (int i = 0; i < made_sems; i++) sem_unlink(names[i]);
    if (made_shm) shm_unlink(prefix);
    return 1;
}
