/* vmcheck: the userland of the riscv64 VM image, where Debian has no busybox to ship (on the
 * other arches it only touches huge pages, which busybox cannot). A static
 * test program of the project's own (glibc, statically linked), multi-call by its first argument:
 *   vmcheck true | sleep S | huge N | open PATH... | hog | flaky | finish | checks | script FILE
 * "checks" does what vm-checks.sh does on the other arches and prints the same MOTE-VM markers,
 * then runs /etc/vm-script.txt. "script" runs a step file written by qemu/vm.py (one step a line,
 * fields split by tabs; the busybox images run the same steps rendered as shell): the same
 * markers as the shell rendering prints. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <errno.h>
#include <sys/mman.h>
#include <sys/stat.h>
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


/* The null_blk device's numbers, once read ("dev" step), put in place of the placeholders. */
static char dev_maj[64] = "0", dev_min[64] = "0";
#define PH_MAJ "987654321"
#define PH_MIN "987654322"

/* Reads path whole into b (NUL-terminated); returns the length or -1. */
static ssize_t slurp(const char *path, char *b, size_t cap) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    size_t n = 0;
    ssize_t r;
    while (n < cap - 1 && (r = read(fd, b + n, cap - 1 - n)) > 0) n += r;
    close(fd);
    b[n] = 0;
    return n;
}

/* src with the device placeholders replaced, into out. */
static void subst(const char *src, char *out, size_t cap) {
    size_t o = 0;
    while (*src && o < cap - 16) {
        if (!strncmp(src, PH_MAJ, 9) || !strncmp(src, PH_MIN, 9)) {
            const char *v = !strncmp(src, PH_MAJ, 9) ? dev_maj : dev_min;
            o += snprintf(out + o, cap - o, "%s", v);
            src += 9;
        } else {
            out[o++] = *src++;
        }
    }
    out[o] = 0;
}

/* Prints "MOTE-VM: <head><content>": lines joined by '|', mote's "mote: error: " cut. */
static void show(const char *head, const char *path) {
    static char b[16384];
    ssize_t n = slurp(path, b, sizeof b);
    printf("MOTE-VM: %s", head);
    if (n < 0) printf("(unreadable)");
    char *line = b, *nl;
    int first = 1;
    while (n >= 0 && *line) {
        nl = strchr(line, '\n');
        if (nl) *nl = 0;
        if (!strncmp(line, "mote: error: ", 13)) line += 13;
        printf("%s%s", first ? "" : "|", line);
        first = 0;
        if (!nl) break;
        line = nl + 1;
    }
    printf("\n");
    fflush(stdout);
}

/* Runs argv with stdin from /dev/null and stdout+stderr to path; returns its exit code. */
static int run_to(char *const argv[], const char *path) {
    pid_t p = fork();
    if (p == 0) {
        int in = open("/dev/null", O_RDONLY), out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(in, 0);
        dup2(out, 1);
        dup2(out, 2);
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


/* Runs one limit after another, `runs` times each, until two limits in a row fail a run. */
static void floor_search(char **f, int nf) {
    static char tmpl[16384], cfg[16600];
    if (slurp(f[1], tmpl, sizeof tmpl) < 0) return;
    int runs = atoi(f[2]), fails = 0;
    for (int i = 3; i < nf && fails < 2; i++) {
        char *at = strstr(tmpl, "MOTELIM"), id[48];
        if (!at) return;
        snprintf(cfg, sizeof cfg, "%.*s%s%s", (int)(at - tmpl), tmpl, f[i], at + 7);
        put("/bundles/floor/config.json", cfg);
        int ok = 0;
        for (int k = 0; k < runs; k++) {
            snprintf(id, sizeof id, "fl%s-%d", f[i], k);
            ok += run_to((char *const[]){"/bin/mote", "run", "--bundle", "/bundles/floor", id, NULL}, "/tmp/floor.out") == 0;
        }
        printf("MOTE-VM: floor %s ok %d/%d %s\n", f[i], ok, runs, f[1]);
        fflush(stdout);
        fails = ok < runs ? fails + 1 : 0;
    }
}

/* The steps of a script file (see qemu/vm.py: render_steps). */
static void script(const char *path) {
    static char text[65536], line_buf[8192], big[65536], big2[65536];
    if (slurp(path, text, sizeof text) < 0) { printf("MOTE-VM: no script %s\n", path); return; }
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char *f[64];
        int nf = 0;
        snprintf(line_buf, sizeof line_buf, "%s", line);
        for (char *p = line_buf; nf < 63;) {
            f[nf++] = p;
            p = strchr(p, '\t');
            if (!p) break;
            *p++ = 0;
        }
        f[nf] = NULL;
        char head[600];
        if (!strcmp(f[0], "dev") && nf == 2) {
            /* "maj:min" of a block device, for the io steps */
            char d[64];
            if (slurp(f[1], d, sizeof d) > 0) {
                d[strcspn(d, "\n")] = 0;
                char *c = strchr(d, ':');
                if (c) { *c = 0; snprintf(dev_maj, sizeof dev_maj, "%s", d); snprintf(dev_min, sizeof dev_min, "%s", c + 1); }
            }
            printf("MOTE-VM: dev %s:%s\n", dev_maj, dev_min);
        } else if (!strcmp(f[0], "cat") && nf == 2) {
            snprintf(head, sizeof head, "file %s = ", f[1]);
            show(head, f[1]);
        } else if (!strcmp(f[0], "ls") && nf == 2) {
            DIR *d = opendir(f[1]);
            printf("MOTE-VM: ls %s =", f[1]);
            for (struct dirent *e; d && (e = readdir(d));)
                if (e->d_name[0] != '.') printf(" %s", e->d_name);
            printf("\n");
            if (d) closedir(d);
        } else if (!strcmp(f[0], "put") && nf == 3) {
            subst(f[2], big, sizeof big);
            int fd = open(f[1], O_WRONLY);
            ssize_t w = fd >= 0 ? write(fd, big, strlen(big)) : -1;
            if (w < 0) printf("MOTE-VM: put %s failed: %s\n", f[1], strerror(errno));
            if (fd >= 0) close(fd);
        } else if (!strcmp(f[0], "sub") && nf == 3) {
            if (slurp(f[1], big2, sizeof big2) >= 0) {
                subst(big2, big, sizeof big);
                put(f[2], big);
            }
        } else if (!strcmp(f[0], "run") && nf >= 3) {
            char out[64];
            snprintf(out, sizeof out, "/tmp/run-%s.out", f[1]);
            if (!strcmp(f[2], "mote")) f[2] = "/bin/mote";
            int rc = run_to(f + 2, out);
            snprintf(head, sizeof head, "rc %s %d ", f[1], rc);
            show(head, out);
        } else if (!strcmp(f[0], "sleep") && nf == 2) {
            sleep(atoi(f[1]));
        } else if (!strcmp(f[0], "floor") && nf >= 4) {
            floor_search(f, nf);
        } else if (strcmp(f[0], "insmod")) { /* modules are built in here */
            printf("MOTE-VM: bad step %s\n", f[0]);
        }
        fflush(stdout);
    }
}

int main(int argc, char **argv) {
    const char *what = argc > 1 ? argv[1] : "";
    if (!strcmp(what, "true")) return 0;
    if (!strcmp(what, "sleep")) { sleep(argc > 2 ? atoi(argv[2]) : 1); return 0; }
    if (!strcmp(what, "open") && argc > 2) { /* open each path for reading: the device rules */
        int bad = 0;
        for (int i = 2; i < argc; i++) {
            int fd = open(argv[i], O_RDONLY);
            printf("open %s: %s\n", argv[i], fd >= 0 ? "ok" : strerror(errno));
            bad |= fd < 0;
        }
        return bad;
    }
    if (!strcmp(what, "huge")) { /* touch N pages of 2MB from the hugetlb pool, one by one */
        int n = argc > 2 ? atoi(argv[2]) : 1;
        size_t sz = 2UL << 20;
        char *m = mmap(NULL, n * sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
        if (m == MAP_FAILED) { perror("mmap MAP_HUGETLB"); return 3; }
        for (int i = 0; i < n; i++) { m[i * sz] = 1; printf("touched %d\n", i + 1); fflush(stdout); }
        return 0;
    }
    if (!strcmp(what, "flaky")) { puts("MOTE-VM: flaky ran"); return 1; }
    if (!strcmp(what, "finish")) { sleep(3); puts("MOTE-VM: powering off"); fflush(stdout); kill(1, SIGUSR2); return 0; }
    if (!strcmp(what, "hog")) {
        size_t n = 32 << 20;
        volatile char *m = malloc(n); /* volatile: the stores must really happen */
        for (size_t i = 0; m && i < n; i += 4096) m[i] = 1;
        return m ? m[n - 4096] - 1 : 3;
    }
    if (!strcmp(what, "script") && argc > 2) { script(argv[2]); return 0; }
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
    static const long limits[] = {262144, 163840, 131072}; /* the real search: vm.py --floor */
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
    script("/etc/vm-script.txt");
    return 0;
}
