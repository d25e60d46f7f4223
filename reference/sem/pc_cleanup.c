/*
 * pc_cleanup PREFIX: removes what pc_init made.
 *
 * Unlinks the named semaphores PREFIX-empty, PREFIX-full and PREFIX-mutex and the shared-memory
 * object PREFIX.  It tries all four, reporting each failure on stderr.  Exit code 0 when all four
 * were removed; 1 otherwise.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <semaphore.h>
#include <stdio.h>
#include <sys/mman.h>

#include "pc.h"

int main(int argc, char *argv[])
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s PREFIX\n", argv[0]);
        return 2;
    }
    const char *prefix = argv[1];
    static const char *const which[3] = { "empty", "full", "mutex" };
    int status = 0;
    for (int i = 0; i < 3; i++) {
        char name[NAME_MAX];
        if (sem_name(name, sizeof name, prefix, which[i]) == -1 || sem_unlink(name) == -1) {
            perror(name);
            status = 1;
        }
    }
    if (shm_unlink(prefix) == -1) {
        perror(prefix);
        status = 1;
    }
    return status;
}
