#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define SIZE 4096

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: shm_writer NAME TEXT\n"); return 2; }
    size_t len = strlen(argv[2]);
    if (len > SIZE - 1) { fprintf(stderr, "TEXT too long\n"); return 1; }
    int fd = shm_open(argv[1], O_CREAT | O_RDWR, S_IRUSR | S_IWUSR);
    if (fd < 0) { perror("shm_open"); return 1; }
    if (ftruncate(fd, SIZE) < 0) { perror("ftruncate"); close(fd); return 1; }
    char *p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);   /* the mapping stays valid */
    if (p == MAP_FAILED) { perror("mmap"); return 1; }
    memcpy(p, argv[2], len + 1);   /* text and its zero byte */
    if (munmap(p, SIZE) < 0) { perror("munmap"); return 1; }
    return 0;
}
