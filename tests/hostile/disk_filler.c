/* Writes files in its folder and in /tmp until something stops it. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
    static char block[1 << 20];
    memset(block, 'x', sizeof block);
    for (int n = 0;; n++) {
        char name[64];
        snprintf(name, sizeof name, n % 2 ? "fill-%d" : "/tmp/fill-%d", n);
        int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0)
            continue;
        for (int i = 0; i < 64; i++)
            if (write(fd, block, sizeof block) < 0)
                break;
        close(fd);
    }
}
