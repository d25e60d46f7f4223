/*
 * shm_counter NAME N K: the lecture's synchronized counter.
 *
 * Creates the shared-memory object NAME holding a shared_data_t: a process-shared semaphore
 * (sem_init with pshared = 1, value 1) and a counter starting at 0.  Forks N processes; each adds
 * 1 to the counter K times, every addition between sem_wait() and sem_post(), so that no
 * addition is lost.  The parent waits for all of them, prints "counter: TOTAL" (N * K), destroys
 * the semaphore and unlinks the object.  Exit code 0; 1 on an error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
    sem_t mutex;                          /* guards counter; lives in the shared object */
    long counter;
} shared_data_t;

/* Add 1 to the counter K times, each time under the semaphore; 0 on success. */
static int add(shared_data_t *data, long k)
{
    volatile long *counter = &data->counter;
    for (long i = 0; i < k; i++) {
        while (sem_wait(&data->mutex) == -1) {
            if (errno != EINTR) {
                perror("sem_wait");
                return -1;
            }
        }
        long value = *counter;            /* read, add, write back: a race without the semaphore */
        *counter = value + 1;
        if (sem_post(&data->mutex) == -1) {
            perror("sem_post");
            return -1;
        }
    }
    return 0;
}

static long number(const char *text, const char *what)
{
    char *end;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno != 0 || *end != '\0' || end == text || value < 0) {
        fprintf(stderr, "shm_counter: %s must be a whole number >= 0, not '%s'\n", what, text);
        exit(2);
    }
    return value;
}

int main(int argc, char *argv[])
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s NAME N K\n", argv[0]);
        return 2;
    }
    const char *name = argv[1];
    long n = number(argv[2], "N");
    long k = number(argv[3], "K");

    int fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
    if (fd == -1) {
        perror("shm_open");
        return 1;
    }
    if (ftruncate(fd, sizeof(shared_data_t)) == -1) {
        perror("ftruncate");
        close(fd);
        shm_unlink(name);
        return 1;
    }
    shared_data_t *data = mmap(NULL, sizeof(shared_data_t), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (data == MAP_FAILED) {
        perror("mmap");
        close(fd);
        shm_unlink(name);
        return 1;
    }
    close(fd);
    data->counter = 0;
    if (sem_init(&data->mutex, 1, 1) == -1) {     /* pshared = 1: shared between processes */
        perror("sem_init");
        shm_unlink(name);
        return 1;
    }

    int status = 0;
    long started = 0;
    for (; started < n; started++) {
        pid_t pid = fork();
        if (pid == -1) {
            perror("fork");
            status = 1;
            break;
        }
        if (pid == 0)
            _exit(add(data, k) == 0 ? 0 : 1);
    }
    for (long i = 0; i < started; i++) {
        int ws;
        while (wait(&ws) == -1) {
            if (errno != EINTR) {
                perror("wait");
                return 1;
            }
        }
        if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0)
            status = 1;
    }

    printf("counter: %ld\n", data->counter);
    if (fflush(stdout) == EOF)
        status = 1;
    if (sem_destroy(&data->mutex) == -1) {
        perror("sem_destroy");
        status = 1;
    }
    if (munmap(data, sizeof(shared_data_t)) == -1) {
        perror("munmap");
        status = 1;
    }
    if (shm_unlink(name) == -1) {
        perror("shm_unlink");
        status = 1;
    }
    return status;
}
