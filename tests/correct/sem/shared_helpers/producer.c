#include "pc.h"
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: producer PREFIX ID COUNT\n"); return 2; }
    int id = atoi(argv[2]), count = atoi(argv[3]);
    pc_t pc;
    if (pc_open(argv[1], &pc) < 0) return 1;
    for (int i = 1; i <= count; i++) {
        item_t it = { .producer = id, .number = i };
        P(pc.empty);
        P(pc.mutex);
        pc.buf->slot[pc.buf->in] = it;
        pc.buf->in = (pc.buf->in + 1) % SLOTS;
        V(pc.mutex);
        V(pc.full);
    }
    pc_close(&pc);
    return 0;
}
