/* vmcheck: the userland of the riscv64 VM image, where Debian has no busybox to ship. A static
 * test program of the project's own (glibc, statically linked), multi-call by its first argument:
 *   vmcheck true | hog | flaky | finish | checks
 * "checks" does what vm-checks.sh does on the other arches and prints the same MOTE-VM markers. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void cat(const char *label, const char *path) {
    char b[512] = {0};
    int fd = open(path, O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, b, sizeof b - 1) : -1;
    if (n > 0 && b[n - 1] == '\n') b[n - 1] = 0;
    printf("%s%s\n", label, n > 0 ? b : "(unreadable)");
    if (fd >= 0) close(fd);
    fflush(stdout);
}

/* Runs argv, returns its exit code (128+signal when killed). */
static int run(char *const argv[]) {
    pid_t p = fork();
    if (p == 0) {
        execv(argv[0], argv);
        _exit(127);
    }
    int st = 0;
    waitpid(p, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void put(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
        write(fd, text, strlen(text));
        close(fd);
    }
}

int main(int argc, char **argv) {
    const char *what = argc > 1 ? argv[1] : "";
    if (!strcmp(what, "true")) return 0;
    if (!strcmp(what, "flaky")) { puts("MOTE-VM: flaky ran"); return 1; }
    if (!strcmp(what, "finish")) { sleep(3); puts("MOTE-VM: powering off"); fflush(stdout); kill(1, SIGUSR2); return 0; }
    if (!strcmp(what, "hog")) {
        size_t n = 32 << 20;
        volatile char *m = malloc(n); /* volatile: the stores must really happen */
        for (size_t i = 0; m && i < n; i += 4096) m[i] = 1;
        return m ? m[n - 4096] - 1 : 3;
    }
    if (strcmp(what, "checks")) return 2;
    cat("MOTE-VM: booted; controllers: ", "/sys/fs/cgroup/cgroup.controllers");
    printf("MOTE-VM: mote (riscv64)\n");
    int code = run((char *const[]){"/bin/mote", "run", "--bundle", "/bundles/small", "small", NULL});
    printf("MOTE-VM: small exit %d\n", code);
    fflush(stdout);
    run((char *const[]){"/bin/mote", "create", "--bundle", "/bundles/small", "small2", NULL});
    char mm[64] = {0}, pm[64] = {0};
    int fd = open("/sys/fs/cgroup/mote/small2/memory.max", O_RDONLY);
    if (fd >= 0) { read(fd, mm, 63); close(fd); }
    fd = open("/sys/fs/cgroup/mote/small2/pids.max", O_RDONLY);
    if (fd >= 0) { read(fd, pm, 63); close(fd); }
    mm[strcspn(mm, "\n")] = 0;
    pm[strcspn(pm, "\n")] = 0;
    printf("MOTE-VM: small memory.max %s pids.max %s\n", mm, pm);
    fflush(stdout);
    run((char *const[]){"/bin/mote", "delete", "--force", "small2", NULL});
    code = run((char *const[]){"/bin/mote", "run", "--bundle", "/bundles/oom", "oom", NULL});
    printf("MOTE-VM: oom exit %d\n", code);
    fflush(stdout);
    static const long limits[] = {1048576, 262144, 256000, 163840, 131072, 98304, 65536};
    char tmpl[8192];
    fd = open("/bundles/floor.json", O_RDONLY);
    ssize_t tn = fd >= 0 ? read(fd, tmpl, sizeof tmpl - 1) : 0;
    tmpl[tn > 0 ? tn : 0] = 0;
    for (size_t i = 0; i < sizeof limits / sizeof *limits; i++) {
        char cfg[8300], num[32], id[32];
        char *at = strstr(tmpl, "MOTELIM");
        if (!at) break;
        snprintf(num, sizeof num, "%ld", limits[i]);
        snprintf(cfg, sizeof cfg, "%.*s%s%s", (int)(at - tmpl), tmpl, num, at + 7);
        put("/bundles/floor/config.json", cfg);
        int ok = 0;
        for (int k = 0; k < 5; k++) {
            snprintf(id, sizeof id, "floor%d", k);
            ok += run((char *const[]){"/bin/mote", "run", "--bundle", "/bundles/floor", id, NULL}) == 0;
        }
        printf("MOTE-VM: limit %ld ok %d/5\n", limits[i], ok);
        fflush(stdout);
    }
    return 0;
}
