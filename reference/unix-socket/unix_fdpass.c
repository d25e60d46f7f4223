/*
 * unix_fdpass: passing an open file descriptor over a UNIX-domain socket (SCM_RIGHTS).
 *
 *   unix_fdpass recv PATH       connects to the server at PATH and receives one message: a line
 *                               of text and, as ancillary data, one descriptor.  It writes the
 *                               line (newline included) through that descriptor, closes it and
 *                               exits with 0.
 *   unix_fdpass send PATH FILE  opens FILE read-only, connects to the server at PATH and sends
 *                               one message: the text "FILE\n" with, as ancillary data, the
 *                               descriptor of FILE.  Then it exits with 0.
 *
 * A stream socket carries ancillary data only along with real data: a message with a
 * descriptor must hold at least one byte.  Exit code 2 when it cannot connect, 1 on any other
 * error (a message on stderr).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_TEXT 1024

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

static int connect_to(const char *path)
{
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof addr.sun_path) {
        fprintf(stderr, "unix_fdpass: socket path too long: %s\n", path);
        exit(1);
    }
    strcpy(addr.sun_path, path);
    int sock = socket(AF_UNIX, SOCK_STREAM, 0);
    if (sock == -1) {
        perror("unix_fdpass: socket");
        exit(1);
    }
    if (connect(sock, (struct sockaddr *)&addr, sizeof addr) == -1) {
        fprintf(stderr, "unix_fdpass: cannot connect to %s: %s\n", path, strerror(errno));
        exit(2);
    }
    return sock;
}

/* The control buffer of one descriptor, aligned as a cmsghdr must be. */
union one_fd {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
};

static int receive(const char *path)
{
    int sock = connect_to(path);
    char text[MAX_TEXT];
    union one_fd control;
    memset(&control, 0, sizeof control);
    struct iovec iov = { .iov_base = text, .iov_len = sizeof text };
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.buf;
    msg.msg_controllen = sizeof control.buf;
    ssize_t n;
    while ((n = recvmsg(sock, &msg, 0)) == -1 && errno == EINTR)
        ;
    if (n == -1) {
        perror("unix_fdpass: recvmsg");
        return 1;
    }
    if (n == 0) {
        fprintf(stderr, "unix_fdpass: the server closed the connection and sent nothing\n");
        return 1;
    }
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    if ((msg.msg_flags & MSG_CTRUNC) || c == NULL || c->cmsg_level != SOL_SOCKET ||
        c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int))) {
        fprintf(stderr, "unix_fdpass: no descriptor came with the message\n");
        return 1;
    }
    int fd;
    memcpy(&fd, CMSG_DATA(c), sizeof fd);

    size_t have = (size_t)n;             /* the rest of the line, if it came in pieces */
    while (memchr(text, '\n', have) == NULL && have < sizeof text) {
        n = read(sock, text + have, sizeof text - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        have += (size_t)n;
    }
    char *nl = memchr(text, '\n', have);
    size_t len = nl ? (size_t)(nl - text) + 1 : have;
    if (write_all(fd, text, len) < 0) {
        perror("unix_fdpass: write to the descriptor received");
        return 1;
    }
    close(fd);
    close(sock);
    return 0;
}

static int send_file(const char *path, const char *file)
{
    int fd = open(file, O_RDONLY);
    if (fd == -1) {
        fprintf(stderr, "unix_fdpass: cannot open %s: %s\n", file, strerror(errno));
        return 1;
    }
    int sock = connect_to(path);
    char text[MAX_TEXT];
    int len = snprintf(text, sizeof text, "%s\n", file);
    if (len < 0 || (size_t)len >= sizeof text) {
        fprintf(stderr, "unix_fdpass: file name too long\n");
        return 1;
    }
    union one_fd control;
    memset(&control, 0, sizeof control);
    struct iovec iov = { .iov_base = text, .iov_len = (size_t)len };
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.buf;
    msg.msg_controllen = sizeof control.buf;
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
    ssize_t n;
    while ((n = sendmsg(sock, &msg, 0)) == -1 && errno == EINTR)
        ;
    if (n == -1) {
        perror("unix_fdpass: sendmsg");
        return 1;
    }
    if (write_all(sock, text + n, (size_t)len - (size_t)n) < 0) {
        perror("unix_fdpass: write");
        return 1;
    }
    close(fd);
    close(sock);
    return 0;
}

int main(int argc, char *argv[])
{
    if (argc == 3 && strcmp(argv[1], "recv") == 0)
        return receive(argv[2]);
    if (argc == 4 && strcmp(argv[1], "send") == 0)
        return send_file(argv[2], argv[3]);
    fprintf(stderr, "usage: %s recv SOCKET_PATH\n       %s send SOCKET_PATH FILE\n", argv[0], argv[0]);
    return 1;
}
