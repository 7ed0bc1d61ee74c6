/* crun 1.8.1 refuses this host's cgroup layout ("cgroups in hybrid mode not supported": v1
 * controllers under /sys/fs/cgroup plus cgroup2 at /sys/fs/cgroup/unified). This wrapper gives
 * crun a private mount namespace in which a tmpfs hides /sys/fs/cgroup/unified, so crun sees a
 * pure v1 host; then it execs its arguments (crun keeps the wrapper's PID). The host's own
 * /sys/fs/cgroup is never touched: / is made private (recursively) in the new namespace first, so
 * the tmpfs mount cannot propagate out. Same effect as
 *   unshare -m --propagation private sh -c 'mount -t tmpfs tmpfs /sys/fs/cgroup/unified && exec crun ...'
 * without the three extra execs. The benchmark times this wrapper alone as a row of its own.
 *
 * Built by tests/bench/bench.py at bench time (gcc -O2 -static). Usage: crun_wrap PROGRAM [ARGS...] */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <sys/mount.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: crun_wrap PROGRAM [ARGS...]\n");
        return 125;
    }
    if (unshare(CLONE_NEWNS)) { perror("unshare(CLONE_NEWNS)"); return 125; }
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) { perror("make / private"); return 125; }
    if (mount("tmpfs", "/sys/fs/cgroup/unified", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,mode=0555")) {
        perror("mount tmpfs on /sys/fs/cgroup/unified");
        return 125;
    }
    execvp(argv[1], argv + 1);
    perror(argv[1]);
    return 127;
}
