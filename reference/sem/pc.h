/*
 * pc.h: what the producer-consumer programs share (the lecture's bounded buffer).
 *
 * PREFIX (from the command line) names everything: the shared-memory object PREFIX holds a
 * buffer_t; the named semaphores PREFIX-empty (free slots, starts at SLOTS), PREFIX-full (filled
 * slots, starts at 0) and PREFIX-mutex (1: the buffer is free) guard it.
 */
#ifndef PC_H
#define PC_H

#include <stdio.h>

#define SLOTS 10

typedef struct {
    int producer;                         /* the ID of the producer that made the item */
    int number;                           /* 1, 2, ... COUNT for that producer */
} item_t;

typedef struct {
    item_t slot[SLOTS];
    int in;                               /* the next slot a producer fills */
    int out;                              /* the next slot a consumer empties */
} buffer_t;

/* "PREFIX-WHICH" into NAME (of SIZE bytes); -1 when it does not fit. */
static inline int sem_name(char *name, size_t size, const char *prefix, const char *which)
{
    int n = snprintf(name, size, "%s-%s", prefix, which);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

#endif
