/*
 * shm_writer NAME TEXT: the lecture's shared-memory writer.
 *
 * Creates the POSIX shared-memory object NAME (mode 0600: read and write for its owner only),
 * sizes it to 4096 bytes with ftruncate(), maps it and copies TEXT into it, followed by a zero
 * byte.  The object stays in place for the reader, which unlinks it.  Exit code 0; 1 on an error
 * (the object is then removed again); 2 on a usage error (TEXT longer than 4095 bytes).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define SHM_SIZE 4096

static int give_up(const char *what, const char *name, int fd)
{
    perror(what);
    if (fd >= 0)
        close(fd);
    shm_unlink(name);
    return 1;
}

int main(int argc, char *argv[])
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s NAME TEXT\n", argv[0]);
        return 2;
    }
    const char *name = argv[1];
    const char *text = argv[2];
    size_t len = strlen(text);
    if (len >= SHM_SIZE) {
        fprintf(stderr, "shm_writer: TEXT is longer than %d bytes\n", SHM_SIZE - 1);
        return 2;
    }

    int fd = shm_open(name, O_CREAT | O_RDWR, 0600);
    if (fd == -1) {
        perror("shm_open");
        return 1;
    }
    if (ftruncate(fd, SHM_SIZE) == -1)
        return give_up("ftruncate", name, fd);
    char *data = mmap(NULL, SHM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (data == MAP_FAILED)
        return give_up("mmap", name, fd);
    close(fd);                            /* the mapping stays valid without the descriptor */

    memcpy(data, text, len + 1);          /* the text and its terminating zero byte */

    if (munmap(data, SHM_SIZE) == -1) {
        perror("munmap");
        return 1;
    }
    return 0;
}
