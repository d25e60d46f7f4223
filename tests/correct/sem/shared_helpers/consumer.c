#include "pc.h"
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: consumer PREFIX COUNT\n"); return 2; }
    int count = atoi(argv[2]);
    pc_t pc;
    if (pc_open(argv[1], &pc) < 0) return 1;
    for (int i = 0; i < count; i++) {
        P(pc.full);
        P(pc.mutex);
        item_t it = pc.buf->slot[pc.buf->out];
        pc.buf->out = (pc.buf->out + 1) % SLOTS;
        V(pc.mutex);
        V(pc.empty);
        dprintf(STDOUT_FILENO, "consumed %d:%d\n", it.producer, it.number);   /* unbuffered */
    }
    pc_close(&pc);
    return 0;
}
