#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int connect_to(const char *path) {
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    strncpy(a.sun_path, path, sizeof a.sun_path - 1);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) { perror("connect"); close(fd); return -1; }
    return fd;
}

static int do_recv(const char *path) {
    int s = connect_to(path);
    if (s < 0) return 2;
    char line[1025];
    size_t have = 0;
    int passed = -1;
    while (have < sizeof line - 1 && (have == 0 || line[have - 1] != '\n')) {
        union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(int) * 4)]; } ctl;
        struct iovec iov = { line + have, sizeof line - 1 - have };
        struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b, .msg_controllen = sizeof ctl.b };
        ssize_t n = recvmsg(s, &m, MSG_CMSG_CLOEXEC);
        if (n < 0) { if (errno == EINTR) continue; perror("recvmsg"); return 1; }
        if (n == 0) break;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && passed < 0)
                memcpy(&passed, CMSG_DATA(c), sizeof(int));
        have += (size_t)n;
    }
    close(s);
    if (passed < 0) { fprintf(stderr, "unix_fdpass: no descriptor came with the message\n"); return 1; }
    size_t off = 0;
    while (off < have) {
        ssize_t w = write(passed, line + off, have - off);
        if (w < 0) { if (errno == EINTR) continue; perror("write"); return 1; }
        off += (size_t)w;
    }
    close(passed);
    return 0;
}

static int do_send(const char *path, const char *file) {
    int f = open(file, O_RDONLY);
    if (f < 0) { perror(file); return 1; }
    int s = connect_to(path);
    if (s < 0) return 2;
    size_t len = strlen(file);
    char *text = malloc(len + 2);
    memcpy(text, file, len);
    text[len] = '\n';
    union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(int))]; } ctl;
    memset(&ctl, 0, sizeof ctl);
    struct iovec iov = { text, len + 1 };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b, .msg_controllen = sizeof ctl.b };
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &f, sizeof(int));
    ssize_t n;
    while ((n = sendmsg(s, &m, MSG_NOSIGNAL)) < 0 && errno == EINTR)
        ;
    if (n < 0) { perror("sendmsg"); return 1; }
    /* the rest, if the first sendmsg was short */
    size_t off = (size_t)n;
    while (off < len + 1) {
        ssize_t w = send(s, text + off, len + 1 - off, MSG_NOSIGNAL);
        if (w < 0) { if (errno == EINTR) continue; perror("send"); return 1; }
        off += (size_t)w;
    }
    close(f);
    close(s);
    free(text);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "recv")) return do_recv(argv[2]);
    if (argc == 4 && !strcmp(argv[1], "send")) return do_send(argv[2], argv[3]);
    fprintf(stderr, "usage: unix_fdpass recv PATH | send PATH FILE\n");
    return 2;
}
