/* variant: N threads of one process instead of N forked processes;
   the semaphore is still the pshared one inside the shared object */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

typedef struct {
    sem_t mutex;
    long counter;
} shared_data_t;

static shared_data_t *data;
static long K;

static void *worker(void *arg) {
    (void)arg;
    for (long i = 0; i < K; i++) {
        while (sem_wait(&data->mutex) == -1) {
            if (errno != EINTR) { perror("sem_wait"); exit(1); }
        }
        data->counter = data->counter + 1;
        sem_post(&data->mutex);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: shm_counter NAME N K\n"); return 2; }
    long n = strtol(argv[2], NULL, 10);
    K = strtol(argv[3], NULL, 10);
    if (n <= 0 || K < 0) { fprintf(stderr, "bad N or K\n"); return 2; }
    int fd = shm_open(argv[1], O_CREAT | O_RDWR, 0600);
    if (fd < 0) { perror("shm_open"); return 1; }
    if (ftruncate(fd, sizeof(shared_data_t)) < 0) { perror("ftruncate"); shm_unlink(argv[1]); return 1; }
    data = mmap(NULL, sizeof *data, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (data == MAP_FAILED) { perror("mmap"); shm_unlink(argv[1]); return 1; }
    data->counter = 0;
    if (sem_init(&data->mutex, 1, 1) < 0) { perror("sem_init"); shm_unlink(argv[1]); return 1; }
    pthread_t *t = calloc((size_t)n, sizeof *t);
    for (long i = 0; i < n; i++) {
        int e = pthread_create(&t[i], NULL, worker, NULL);
        if (e) { fprintf(stderr, "pthread_create: %s\n", strerror(e)); return 1; }
    }
    for (long i = 0; i < n; i++) pthread_join(t[i], NULL);
    printf("counter: %ld\n", data->counter);
    fflush(stdout);
    sem_destroy(&data->mutex);
    munmap(data, sizeof *data);
    if (shm_unlink(argv[1]) < 0) { perror("shm_unlink"); return 1; }
    free(t);
    return 0;
}
