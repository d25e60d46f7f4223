#include "pc.h"
#include <stdio.h>
#include <sys/mman.h>

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: pc_cleanup PREFIX\n"); return 2; }
    int rc = 0;
    const char *suffix[3] = { "empty", "full", "mutex" };
    for (int i = 0; i < 3; i++) {
        char name[512];
        sem_name(name, sizeof name, argv[1], suffix[i]);
        if (sem_unlink(name) < 0) { perror(name); rc = 1; }
    }
    if (shm_unlink(argv[1]) < 0) { perror(argv[1]); rc = 1; }
    return rc;
}
