/* Test helper, built static into a test rootfs: makes one raw syscall and prints its result.
 * usage: seccomp_probe NR [ARG...]   ARG: a number (0x... allowed) or s:TEXT (a pointer to TEXT)
 * prints "ret=R errno=E" (errno 0 on success). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    unsigned long a[6] = {0};
    if (argc < 2) return 2;
    long nr = strtol(argv[1], 0, 0);
    for (int i = 2; i < argc && i < 8; i++)
        a[i - 2] = strncmp(argv[i], "s:", 2) == 0 ? (unsigned long)(argv[i] + 2) : strtoull(argv[i], 0, 0);
    errno = 0;
    long r = syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
    printf("ret=%ld errno=%d\n", r, r == -1 ? errno : 0);
    return 0;
}
