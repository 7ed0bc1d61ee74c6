/* The memory floor without a runtime: joins the cgroup directory argv[1] (writes its own pid to
 * cgroup.procs), then execs argv[2..]. Build: gcc -O2 -static -o joinexec joinexec.c */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv) {
    char p[512], b[32];
    snprintf(p, sizeof p, "%s/cgroup.procs", argv[1]);
    int fd = open(p, O_WRONLY);
    int n = snprintf(b, sizeof b, "%d", getpid());
    if (fd < 0 || write(fd, b, n) != n) { perror(p); return 125; }
    close(fd);
    execv(argv[2], argv + 2);
    perror("exec");
    return 127;
}
