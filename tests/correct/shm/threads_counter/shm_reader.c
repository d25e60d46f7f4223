#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: shm_reader NAME\n"); return 2; }
    int fd = shm_open(argv[1], O_RDONLY, 0);
    if (fd < 0) { fprintf(stderr, "shm_reader: %s: %s\n", argv[1], strerror(errno)); return 1; }
    struct stat st;
    if (fstat(fd, &st) < 0) { perror("fstat"); close(fd); return 1; }
    size_t size = (size_t)st.st_size;
    const char *p = NULL;
    if (size > 0) {
        p = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED) { perror("mmap"); close(fd); return 1; }
    }
    close(fd);
    const char *z = size ? memchr(p, '\0', size) : NULL;
    size_t n = z ? (size_t)(z - p) : size;
    if (n) fwrite(p, 1, n, stdout);
    putchar('\n');
    if (fflush(stdout) == EOF) { perror("stdout"); return 1; }
    if (size) munmap((void *)p, size);
    if (shm_unlink(argv[1]) < 0) { perror("shm_unlink"); return 1; }
    return 0;
}
