#ifndef PC_H
#define PC_H
#include <semaphore.h>
#define SLOTS 10
typedef struct { int producer; int number; } item_t;
typedef struct { item_t slot[SLOTS]; int in; int out; } buffer_t;

typedef struct {
    buffer_t *buf;
    sem_t *empty, *full, *mutex;
} pc_t;

int pc_open(const char *prefix, pc_t *pc);        /* open existing objects */
void pc_close(pc_t *pc);
void P(sem_t *s);                                  /* sem_wait, retried on EINTR, exits on error */
void V(sem_t *s);
void sem_name(char *out, size_t n, const char *prefix, const char *suffix);
#endif
