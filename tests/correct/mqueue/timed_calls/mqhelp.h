#ifndef MQHELP_H
#define MQHELP_H
#include <mqueue.h>
mqd_t open_lecture_queue(const char *name, int flags);
int parse_long(const char *s, long lo, long hi, long *out);
#endif
