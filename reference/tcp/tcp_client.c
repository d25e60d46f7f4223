/*
 * tcp_client HOST PORT: the lecture's TCP client, for the line-reversing service.
 *
 * It connects to HOST (an IPv4 address such as 127.0.0.1) on PORT, then, for each line of its
 * standard input, sends the line (with its newline) and waits for the whole answer line, which it
 * prints on its standard output.  An answer may arrive in several pieces: the client reads until
 * the newline.  At the end of its input it closes the connection and exits with 0.
 *
 * When it cannot connect (nobody listening: "Connection refused") it prints the reason on stderr
 * and exits with 2; any other error: a message on stderr and exit code 1.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_LINE 4096

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
    if (argc != 3) {
        fprintf(stderr, "usage: %s HOST PORT\n", argv[0]);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);            /* a server gone away: write() fails instead */
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    char *end;
    long port = strtol(argv[2], &end, 10);
    if (*argv[2] == '\0' || *end != '\0' || port < 1 || port > 65535) {
        fprintf(stderr, "tcp_client: bad port: %s\n", argv[2]);
        return 1;
    }
    addr.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, argv[1], &addr.sin_addr) != 1) {
        fprintf(stderr, "tcp_client: bad IPv4 address: %s\n", argv[1]);
        return 1;
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd == -1) {
        perror("tcp_client: socket");
        return 1;
    }
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) == -1) {
        fprintf(stderr, "tcp_client: cannot connect to %s:%s: %s\n", argv[1], argv[2], strerror(errno));
        return 2;
    }

    char in[MAX_LINE + 1];               /* standard input, up to a newline */
    size_t in_have = 0;
    char resp[MAX_LINE];                 /* what the server sent, up to a newline */
    size_t resp_have = 0;
    int eof = 0;
    for (;;) {
        char *nl;
        while ((nl = memchr(in, '\n', in_have)) == NULL && !eof) {
            if (in_have == MAX_LINE) {
                fprintf(stderr, "tcp_client: an input line is longer than %d bytes\n", MAX_LINE);
                return 1;
            }
            ssize_t n = read(STDIN_FILENO, in + in_have, MAX_LINE - in_have);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                perror("tcp_client: read stdin");
                return 1;
            }
            if (n == 0)
                eof = 1;
            in_have += (size_t)n;
        }
        size_t len;
        if (nl != NULL)
            len = (size_t)(nl - in) + 1;
        else if (in_have > 0) {          /* a last line without its newline */
            in[in_have++] = '\n';
            len = in_have;
        } else
            break;
        if (write_all(fd, in, len) < 0) {
            perror("tcp_client: send");
            return 1;
        }
        in_have -= len;
        memmove(in, in + len, in_have);

        char *rnl;
        while ((rnl = memchr(resp, '\n', resp_have)) == NULL) {
            if (resp_have == sizeof resp) {
                fprintf(stderr, "tcp_client: an answer is longer than %d bytes\n", MAX_LINE);
                return 1;
            }
            ssize_t n = read(fd, resp + resp_have, sizeof resp - resp_have);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                perror("tcp_client: recv");
                return 1;
            }
            if (n == 0) {
                fprintf(stderr, "tcp_client: the server closed the connection before it answered\n");
                return 1;
            }
            resp_have += (size_t)n;
        }
        size_t rlen = (size_t)(rnl - resp) + 1;
        if (write_all(STDOUT_FILENO, resp, rlen) < 0) {
            perror("tcp_client: write stdout");
            return 1;
        }
        resp_have -= rlen;
        memmove(resp, resp + rlen, resp_have);
    }
    close(fd);
    return 0;
}
