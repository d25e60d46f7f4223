/* Makes thousands of FIFOs and hundreds of shared-memory objects, and removes none. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void)
{
    char name[64];
    for (int i = 0; i < 2000; i++) {
        snprintf(name, sizeof name, "fifo-%d", i);
        mkfifo(name, 0600);
    }
    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof name, "/spam-%d-%d", (int)getpid(), i);
        int fd = shm_open(name, O_CREAT | O_RDWR, 0600);
        if (fd >= 0)
            close(fd);
    }
    printf("capacity: 65536\n");
    return 0;
}
