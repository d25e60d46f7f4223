/* variant: reopen-on-EOF server that reads the FIFO through stdio (fdopen + getline) */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static void on_sig(int s) { (void)s; stop = 1; }

int main(int argc, char **argv) {
    if (argc < 2 || argc > 3) { fprintf(stderr, "usage: fifo_server PATH [COUNT]\n"); return 2; }
    const char *path = argv[1];
    long count = argc == 3 ? atol(argv[2]) : 0;
    if (argc == 3 && count <= 0) { fprintf(stderr, "bad COUNT\n"); return 2; }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sig;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (mkfifo(path, 0600) < 0) {
        struct stat st;
        if (errno != EEXIST) { perror("mkfifo"); return 1; }
        if (lstat(path, &st) < 0) { perror("lstat"); return 1; }
        if (!S_ISFIFO(st.st_mode)) { fprintf(stderr, "%s: exists and is not a FIFO\n", path); return 1; }
    }
    char *line = NULL;
    size_t cap = 0;
    long seen = 0;
    int code = 0;
    while (!stop) {
        int fd;
        while ((fd = open(path, O_RDONLY)) < 0 && errno == EINTR && !stop)
            ;
        if (fd < 0) { if (!stop) { perror("open"); code = 1; } break; }
        FILE *f = fdopen(fd, "r");
        if (!f) { perror("fdopen"); close(fd); code = 1; break; }
        for (;;) {
            errno = 0;
            ssize_t n = getline(&line, &cap, f);
            if (n > 0) {
                if (line[n - 1] == '\n') line[--n] = '\0';
                printf("Received: %s\n", line);
                fflush(stdout);
                if (count && ++seen == count) { fclose(f); goto done; }
                continue;
            }
            if (ferror(f) && errno == EINTR && !stop) { clearerr(f); continue; }   /* interrupted: retry */
            break;   /* end of file (every client closed), or SIGINT/SIGTERM */
        }
        fclose(f);
    }
done:
    free(line);
    unlink(path);
    return code;
}
