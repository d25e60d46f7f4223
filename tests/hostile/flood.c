/* Floods stdout and stderr with bytes that are not UTF-8. */
#include <unistd.h>

int main(void)
{
    char junk[4096];
    for (unsigned i = 0; i < sizeof junk; i++)
        junk[i] = (char)(0x80 | (i * 7));
    for (;;) {
        (void)!write(1, junk, sizeof junk);
        (void)!write(2, junk, sizeof junk);
    }
}
