/*
 * shm_reader NAME: the lecture's shared-memory reader.
 *
 * Opens the existing shared-memory object NAME read-only, learns its size with fstat() (never
 * assumes 4096), maps all of it and prints the text it holds -- the bytes up to the first zero
 * byte, or all of them when there is none -- followed by a newline.  Then it unlinks the object.
 * Exit code 0; 1 on an error (no such object: a message on stderr and no output).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

int main(int argc, char *argv[])
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s NAME\n", argv[0]);
        return 2;
    }
    const char *name = argv[1];

    int fd = shm_open(name, O_RDONLY, 0);
    if (fd == -1) {
        fprintf(stderr, "shm_reader: %s: %s\n", name, strerror(errno));
        return 1;
    }
    struct stat st;
    if (fstat(fd, &st) == -1) {
        perror("fstat");
        close(fd);
        return 1;
    }
    size_t size = (size_t)st.st_size;
    const char *data = "";
    if (size > 0) {                       /* mmap() refuses a length of 0 */
        data = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
        if (data == MAP_FAILED) {
            perror("mmap");
            close(fd);
            return 1;
        }
    }
    close(fd);

    size_t len = strnlen(data, size);     /* never past the end of the object */
    if (write_all(STDOUT_FILENO, data, len) == -1 || write_all(STDOUT_FILENO, "\n", 1) == -1) {
        perror("write");
        return 1;
    }
    if (size > 0 && munmap((void *)data, size) == -1) {
        perror("munmap");
        return 1;
    }
    if (shm_unlink(name) == -1) {
        perror("shm_unlink");
        return 1;
    }
    return 0;
}
