/* variant: stdio on the socket (fdopen + fgets / fputs + fflush) */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: tcp_client HOST PORT\n"); return 1; }
    signal(SIGPIPE, SIG_IGN);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[2])) };
    if (inet_pton(AF_INET, argv[1], &a.sin_addr) != 1) { fprintf(stderr, "bad address\n"); return 1; }
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(s, (struct sockaddr *)&a, sizeof a) < 0) { perror("connect"); return 2; }
    FILE *in = fdopen(s, "r");
    FILE *out = fdopen(dup(s), "w");
    if (!in || !out) { perror("fdopen"); return 1; }
    char line[4200], ans[4200];
    while (fgets(line, sizeof line - 1, stdin)) {
        size_t len = strlen(line);
        if (line[len - 1] != '\n') { line[len++] = '\n'; line[len] = '\0'; }
        if (fputs(line, out) == EOF || fflush(out) == EOF) { perror("send"); return 1; }
        if (!fgets(ans, sizeof ans, in) || ans[strlen(ans) - 1] != '\n') {
            fprintf(stderr, "tcp_client: the server closed the connection\n");
            return 1;
        }
        fputs(ans, stdout);
    }
    fclose(out);
    fclose(in);
    return 0;
}
