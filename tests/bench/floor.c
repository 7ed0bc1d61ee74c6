/* The floor of the benchmark: the least a runtime must do to run a command "in a container" like
 * the ones the benchmark runs. New mount, PID, IPC, UTS, network and cgroup namespaces (those of
 * the benchmark's config.json); a fork, so the command is PID 1 of its namespace; pivot_root into
 * the rootfs; exec. No /proc, /dev, cgroups, capabilities, state directory, config parsing or
 * read-only root: a measuring stick, not a runtime.
 *
 * Built by tests/bench/bench.py at bench time (gcc -O2 -static) into a temporary directory.
 * Usage: floor ROOTFS /path/in/rootfs [ARGS...]; exits with the command's status. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void die(const char *what) {
    perror(what);
    _exit(125);
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: floor ROOTFS COMMAND [ARGS...]\n");
        return 125;
    }
    if (unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET | CLONE_NEWCGROUP))
        die("unshare");
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        /* Our copies of the host's mounts must not propagate anything back. */
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) die("make / private");
        if (mount(argv[1], argv[1], NULL, MS_BIND | MS_REC, NULL)) die("bind rootfs");
        if (chdir(argv[1])) die("chdir rootfs");
        if (syscall(SYS_pivot_root, ".", ".")) die("pivot_root");
        if (umount2(".", MNT_DETACH)) die("umount old root");
        if (chdir("/")) die("chdir /");
        execv(argv[2], argv + 2);
        die("execv");
    }
    int st;
    if (waitpid(pid, &st, 0) < 0)
        die("waitpid");
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
