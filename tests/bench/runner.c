/* The benchmark's process launcher: runs a command COUNT times in sequence and reports, per run,
 * wall time and the rusage that wait4 gives for it (the command plus every process it reaped).
 *
 * Why not spawn from Python: a child forked or vforked from the Python interpreter inherits its
 * ~20 MB resident set until exec, and Linux keeps that high-water mark in the child's ru_maxrss
 * across exec, so every command would report Python's peak RSS. This launcher is small and static;
 * the commands it vforks report their own.
 *
 * It is a child subreaper: what a command leaves behind (a daemon, a double fork) is reparented to
 * it, reaped and counted with that run. Processes still alive when the command returns (a container
 * after `create`) are left alone and are reparented to whoever ran the launcher when it exits.
 *
 * Usage: runner REPORT COUNT COMMAND [ARGS...]
 *   An argument ending in "{i}" gets the run's index (0, 1, ...) in place of "{i}" (unique ids).
 *   REPORT gets one line per run: "wall_ns utime_us stime_us maxrss_kib exit_code".
 *   Exits 0 when every run exited 0; otherwise stops at the first failure and exits with its code.
 * Built by tests/bench/bench.py at bench time (gcc -O2 -static). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static long long us(struct timeval t) { return t.tv_sec * 1000000LL + t.tv_usec; }

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: runner REPORT COUNT COMMAND [ARGS...]\n");
        return 125;
    }
    FILE *rep = fopen(argv[1], "w");
    if (!rep) { perror(argv[1]); return 125; }
    long count = strtol(argv[2], NULL, 10);
    int n = argc - 3;
    char **args = calloc(n + 1, sizeof *args);
    char **bufs = calloc(n, sizeof *bufs);
    for (int k = 0; k < n; k++) {
        size_t l = strlen(argv[3 + k]);
        if (l >= 3 && !strcmp(argv[3 + k] + l - 3, "{i}")) {
            bufs[k] = malloc(l + 24);
            args[k] = bufs[k];
        } else {
            args[k] = argv[3 + k];
        }
    }
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    for (long i = 0; i < count; i++) {
        for (int k = 0; k < n; k++)
            if (bufs[k]) {
                size_t l = strlen(argv[3 + k]) - 3;
                memcpy(bufs[k], argv[3 + k], l);
                sprintf(bufs[k] + l, "%ld", i);
            }
        long long t0 = now_ns();
        pid_t pid = vfork();
        if (pid == 0) {
            execvp(args[0], args);
            _exit(127);
        }
        if (pid < 0) { perror("vfork"); return 125; }
        int st;
        struct rusage ru;
        while (wait4(pid, &st, 0, &ru) < 0)
            if (errno != EINTR) { perror("wait4"); return 125; }
        long long wall = now_ns() - t0;
        long long ut = us(ru.ru_utime), stt = us(ru.ru_stime);
        long maxrss = ru.ru_maxrss;
        int ost;
        struct rusage oru;
        pid_t o;
        while ((o = wait4(-1, &ost, WNOHANG, &oru)) > 0) {  /* orphans that already exited */
            ut += us(oru.ru_utime);
            stt += us(oru.ru_stime);
            if (oru.ru_maxrss > maxrss) maxrss = oru.ru_maxrss;
        }
        int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        fprintf(rep, "%lld %lld %lld %ld %d\n", wall, ut, stt, maxrss, code);
        if (code != 0) {
            fclose(rep);
            return code;
        }
    }
    fclose(rep);
    return 0;
}
