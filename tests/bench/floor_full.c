/* The floor of the benchmark's whole config: the kernel work `mote run` does for the bench's
 * busybox bundle (tests/bench/bench.py build_bundle: `mote spec` + terminal false + /bin/true),
 * with the fewest syscalls and no runtime logic. floor.c is the floor of a bare container
 * (namespaces, pivot_root, exec); this one adds what that config asks for on this host:
 *   - a cgroup in each of this host's hierarchies (the v1/v2 hybrid's 10: mkdir, join, rmdir),
 *     cpuset.cpus/mems copied from the parent, the v1 devices rules (deny all, allow the default
 *     devices) and, as mote does on the unified tree, an eBPF device program with the same rules;
 *   - new mount, UTS, IPC, PID and network namespaces by clone3, the cgroup namespace after the join;
 *   - a session keyring, loopback up, the hostname;
 *   - the rootfs bound, /proc, /dev (tmpfs, devpts, shm, mqueue, 6 device nodes and 5 links),
 *     /sys read-only, the cgroup view (tmpfs + one bind per hierarchy, read-only, nosuid, nodev,
 *     noexec), the masked paths (a read-only empty tmpfs on a directory, /dev/null on a file), the
 *     read-only paths, pivot_root, the root read-only;
 *   - RLIMIT_NOFILE, the bounding set cut to the 3 caps, capset, ambient cleared, no_new_privs;
 *   - exec, wait, rmdir of the cgroups.
 * Not done (mote's own work, not the config's): the sealed re-exec, config parsing, the state
 * directory, the exec fifo and the sync socket, the checks (fstat/fstatfs of what was opened, the
 * RESOLVE_IN_ROOT resolution of every path in the rootfs, freezer.state, cgroup.max.depth, the
 * existing device programs), the user lookup in /etc/passwd, signal mask, pdeathsig, dumpable.
 * Paths inside the rootfs are plain strings relative to it: a measuring stick, not a runtime.
 *
 * The hierarchy list is this host's (a v1/v2 hybrid; "unified" is the cgroup2 tree), or
 * /sys/fs/cgroup itself where that is a cgroup2 mount (one statfs); set
 * FLOOR_CGROUPS="cpu,memory,...,unified" for another layout (the one named "unified", or "" for a
 * pure v2 host's /sys/fs/cgroup itself, gets the eBPF program; FLOOR_NO_BPF=1 leaves the program
out, to measure what it costs where v1's devices controller already applies the rules). Cgroups are named
 * floorfull-<pid>-<random>, directly under each hierarchy's root, and removed in every outcome
 * this program survives.
 *
 * Built by tests/bench/bench.py (gcc -O2 -static). Usage: floor_full ROOTFS /path/in/rootfs [ARGS...] */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <linux/keyctl.h>
#include <linux/mount.h>
#include <linux/sched.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#define CG "/sys/fs/cgroup/"
static const char *hier[16];
static int nhier, v2 = -1;
static char name[64];
static int made[16];

static void rm_cgroups(void) {
    char p[256];
    for (int i = 0; i < nhier; i++)
        if (made[i]) {
            snprintf(p, sizeof p, CG "%s/%s", hier[i], name);
            rmdir(p);
        }
}

static void die(const char *what) {
    perror(what);
    rm_cgroups();  /* in the child: the cgroups are not empty yet, the parent removes them */
    _exit(125);
}

static void put(const char *path, const char *s) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, s, strlen(s)) < 0) die(path);
    close(fd);
}

/* --- the device program: the same rules as the v1 devices.allow lines (deny by default) --- */
#define INSN(c, d, s, o, i) ((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i)})
struct rule { int type; int major, minor; int access; };  /* type: 1 block, 2 char; -1 any */
static const struct rule rules[] = {
    {2, -1, -1, 1}, {1, -1, -1, 1},  /* c *:* m, b *:* m */
    {2, 1, 3, 7}, {2, 1, 5, 7}, {2, 1, 7, 7}, {2, 1, 8, 7}, {2, 1, 9, 7},
    {2, 5, 0, 7}, {2, 5, 2, 7}, {2, 136, -1, 7},
};
static int device_program(void) {
    struct bpf_insn p[128];
    int n = 0;
    for (unsigned r = 0; r < sizeof rules / sizeof *rules; r++) {
        const struct rule *x = &rules[r];
        int start = n, skips[4], ns = 0;
        /* r2 = access_type: type in the low 16 bits, access in the high 16 */
        p[n++] = INSN(BPF_LDX | BPF_W | BPF_MEM, 2, 1, 0, 0);
        p[n++] = INSN(BPF_ALU | BPF_MOV | BPF_X, 3, 2, 0, 0);
        p[n++] = INSN(BPF_ALU | BPF_AND | BPF_K, 3, 0, 0, 0xffff);
        skips[ns++] = n; p[n++] = INSN(BPF_JMP | BPF_JNE | BPF_K, 3, 0, 0, x->type);
        p[n++] = INSN(BPF_ALU | BPF_RSH | BPF_K, 2, 0, 0, 16);
        p[n++] = INSN(BPF_ALU | BPF_AND | BPF_K, 2, 0, 0, ~x->access & 0xffff);
        skips[ns++] = n; p[n++] = INSN(BPF_JMP | BPF_JNE | BPF_K, 2, 0, 0, 0);
        if (x->major >= 0) {
            p[n++] = INSN(BPF_LDX | BPF_W | BPF_MEM, 4, 1, 4, 0);
            skips[ns++] = n; p[n++] = INSN(BPF_JMP | BPF_JNE | BPF_K, 4, 0, 0, x->major);
        }
        if (x->minor >= 0) {
            p[n++] = INSN(BPF_LDX | BPF_W | BPF_MEM, 5, 1, 8, 0);
            skips[ns++] = n; p[n++] = INSN(BPF_JMP | BPF_JNE | BPF_K, 5, 0, 0, x->minor);
        }
        p[n++] = INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 1);
        p[n++] = INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
        for (int k = 0; k < ns; k++) p[skips[k]].off = n - skips[k] - 1;
        (void)start;
    }
    p[n++] = INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0);
    p[n++] = INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
    union bpf_attr a;
    memset(&a, 0, sizeof a);
    a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    a.insns = (uintptr_t)p;
    a.insn_cnt = n;
    a.license = (uintptr_t)"GPL";
    return syscall(SYS_bpf, BPF_PROG_LOAD, &a, sizeof a);
}

static const unsigned long long keep = (1ull << 5) | (1ull << 10) | (1ull << 29);  /* CAP_KILL, CAP_NET_BIND_SERVICE, CAP_AUDIT_WRITE */

static void child(char **argv, const char *rootfs) {
    char p[256];
    /* Join every cgroup ("0": the writer itself), then a cgroup namespace rooted there. */
    for (int i = 0; i < nhier; i++) {
        snprintf(p, sizeof p, CG "%s/%s/cgroup.procs", hier[i], name);
        put(p, "0");
    }
    if (unshare(CLONE_NEWCGROUP)) die("unshare cgroup");
    if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL) < 0) die("keyring");
    if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL)) die("make / rslave");
    if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL)) die("bind rootfs");
    if (chdir(rootfs)) die("chdir rootfs");
    if (mount("proc", "proc", "proc", 0, NULL)) die("proc");
    if (mount("tmpfs", "dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k")) die("dev");
    if (mkdir("dev/pts", 0755) || mount("devpts", "dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
                                         "newinstance,ptmxmode=0666,mode=0620,gid=5")) die("dev/pts");
    if (mkdir("dev/shm", 0755) || mount("shm", "dev/shm", "tmpfs", MS_NOSUID | MS_NOEXEC | MS_NODEV,
                                         "mode=1777,size=65536k")) die("dev/shm");
    if (mkdir("dev/mqueue", 0755) || mount("mqueue", "dev/mqueue", "mqueue", MS_NOSUID | MS_NOEXEC | MS_NODEV, NULL))
        die("dev/mqueue");
    if (mount("sysfs", "sys", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)) die("sys");
    /* The cgroup view: a tmpfs, one bind of the container's cgroup per hierarchy, then read-only
     * (and nosuid, nodev, noexec) on all of them at once. */
    if (nhier == 1 && !*hier[0]) {  /* pure v2: the container's cgroup itself */
        snprintf(p, sizeof p, CG "/%s", name);
        if (mount(p, "sys/fs/cgroup", NULL, MS_BIND, NULL)) die("sys/fs/cgroup");
    } else if (mount("tmpfs", "sys/fs/cgroup", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME, "mode=755,size=1024k"))
        die("sys/fs/cgroup");
    for (int i = 0; i < nhier && *hier[0]; i++) {
        char src[256];
        snprintf(p, sizeof p, "sys/fs/cgroup/%s", *hier[i] ? hier[i] : "unified");
        snprintf(src, sizeof src, CG "%s/%s", hier[i], name);
        if (mkdir(p, 0755) || mount(src, p, NULL, MS_BIND, NULL)) die(p);
    }
    struct mount_attr ma = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC};
    if (syscall(SYS_mount_setattr, AT_FDCWD, "sys/fs/cgroup", AT_RECURSIVE, &ma, sizeof ma)) die("cgroup view ro");
    /* /dev: nodes with their modes as made (umask 0 around them), then the links. */
    umask(0);
    static const struct { const char *n; int ma, mi; } nodes[] = {
        {"dev/null", 1, 3}, {"dev/zero", 1, 5}, {"dev/full", 1, 7}, {"dev/random", 1, 8},
        {"dev/urandom", 1, 9}, {"dev/tty", 5, 0}};
    for (unsigned i = 0; i < sizeof nodes / sizeof *nodes; i++)
        if (mknod(nodes[i].n, S_IFCHR | 0666, makedev(nodes[i].ma, nodes[i].mi))) die(nodes[i].n);
    umask(022);
    static const char *const links[][2] = {{"/proc/self/fd", "dev/fd"}, {"/proc/self/fd/0", "dev/stdin"},
        {"/proc/self/fd/1", "dev/stdout"}, {"/proc/self/fd/2", "dev/stderr"}, {"pts/ptmx", "dev/ptmx"}};
    for (unsigned i = 0; i < sizeof links / sizeof *links; i++)
        if (symlink(links[i][0], links[i][1])) die(links[i][1]);
    if (syscall(SYS_pivot_root, ".", ".")) die("pivot_root");
    if (umount2(".", MNT_DETACH)) die("umount old root");
    if (chdir("/")) die("chdir /");
    /* Masked paths: /dev/null over a file, an empty read-only tmpfs over a directory (the bind
     * fails with ENOTDIR there), nothing where the path is absent. */
    static const char *const masked[] = {"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
        "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
        "/sys/firmware", "/sys/devices/virtual/powercap", "/proc/scsi"};
    for (unsigned i = 0; i < sizeof masked / sizeof *masked; i++)
        if (mount("/dev/null", masked[i], NULL, MS_BIND, NULL)) {
            if (errno == ENOENT) continue;
            if (errno != ENOTDIR || mount("tmpfs", masked[i], "tmpfs", MS_RDONLY, "size=0k")) die(masked[i]);
        }
    static const char *const ro[] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};
    struct mount_attr rdonly = {.attr_set = MOUNT_ATTR_RDONLY};
    for (unsigned i = 0; i < sizeof ro / sizeof *ro; i++) {
        if (mount(ro[i], ro[i], NULL, MS_BIND | MS_REC, NULL)) {
            if (errno == ENOENT) continue;
            die(ro[i]);
        }
        if (syscall(SYS_mount_setattr, AT_FDCWD, ro[i], AT_RECURSIVE, &rdonly, sizeof rdonly)) die(ro[i]);
    }
    /* The network namespace's loopback up, the hostname, the root read-only. */
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq ifr = {.ifr_name = "lo", .ifr_flags = IFF_UP | IFF_LOOPBACK | IFF_RUNNING};
    if (s < 0 || ioctl(s, SIOCSIFFLAGS, &ifr)) die("lo up");
    close(s);
    if (sethostname("mote", 4)) die("sethostname");
    if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL)) die("root read-only");
    struct rlimit rl = {1024, 1024};
    if (setrlimit(RLIMIT_NOFILE, &rl)) die("RLIMIT_NOFILE");
    /* Capabilities: the bounding set cut to the three kept (one prctl per cap: the kernel's API),
     * then effective and permitted, ambient cleared, no_new_privs. */
    int last = CAP_LAST_CAP;
    for (int c = 0; c <= last; c++)
        if (!(keep >> c & 1) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) && errno != EINVAL) die("capbset drop");
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2] = {{keep, keep, 0}, {0, 0, 0}};
    if (syscall(SYS_capset, &h, d)) die("capset");
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)) die("ambient");
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) die("no_new_privs");
    char *envp[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm", NULL};
    execve(argv[0], argv, envp);
    die("execve");
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: floor_full ROOTFS COMMAND [ARGS...]\n");
        return 125;
    }
    static char list[256] = "cpu,cpuacct,cpuset,memory,devices,freezer,blkio,pids,systemd,unified";
    const char *env = getenv("FLOOR_CGROUPS");
    struct statfs fs;
    if (env) snprintf(list, sizeof list, "%s", env);
    else if (!statfs(CG, &fs) && fs.f_type == CGROUP2_SUPER_MAGIC) list[0] = 0;  /* pure v2 */
    for (char *t = list, *e; nhier < 16; t = e + 1) {
        e = strchr(t, ',');
        if (e) *e = 0;
        if (!strcmp(t, "unified") || !*t) v2 = nhier;
        hier[nhier++] = t;
        if (!e) break;
    }
    const unsigned char *rnd = (const unsigned char *)getauxval(AT_RANDOM);  /* no syscall */
    snprintf(name, sizeof name, "floorfull-%d-%02x%02x%02x", getpid(), rnd[0], rnd[1], rnd[2]);
    char p[256], buf[256];
    for (int i = 0; i < nhier; i++) {
        snprintf(p, sizeof p, CG "%s/%s", hier[i], name);
        if (mkdir(p, 0755)) die(p);
        made[i] = 1;
        if (!strcmp(hier[i], "cpuset")) {  /* a v1 cpuset starts empty: the parent's cpus and mems */
            for (int k = 0; k < 2; k++) {
                const char *f = k ? "cpuset.mems" : "cpuset.cpus";
                snprintf(p, sizeof p, CG "cpuset/%s", f);
                int fd = open(p, O_RDONLY | O_CLOEXEC);
                ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
                if (n < 0) die(p);
                close(fd);
                buf[n] = 0;
                snprintf(p, sizeof p, CG "cpuset/%s/%s", name, f);
                put(p, buf);
            }
        }
        if (!strcmp(hier[i], "devices")) {  /* v1: deny all, then one write per allowed device */
            static const char *const allow[] = {"c *:* m", "b *:* m", "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm",
                "c 1:8 rwm", "c 1:9 rwm", "c 5:0 rwm", "c 5:2 rwm", "c 136:* rwm"};
            snprintf(p, sizeof p, CG "devices/%s/devices.deny", name);
            put(p, "a *:* rwm");
            snprintf(p, sizeof p, CG "devices/%s/devices.allow", name);
            int fd = open(p, O_WRONLY | O_CLOEXEC);
            if (fd < 0) die(p);
            for (unsigned k = 0; k < sizeof allow / sizeof *allow; k++)
                if (write(fd, allow[k], strlen(allow[k])) < 0) die(allow[k]);
            close(fd);
        }
    }
    if (v2 >= 0 && !getenv("FLOOR_NO_BPF")) {  /* the eBPF device program on the cgroup2 tree */
        snprintf(p, sizeof p, CG "%s/%s", hier[v2], name);
        int cg = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC), prog = device_program();
        if (cg < 0 || prog < 0) die("device program");
        union bpf_attr a;
        memset(&a, 0, sizeof a);
        a.target_fd = cg;
        a.attach_bpf_fd = prog;
        a.attach_type = BPF_CGROUP_DEVICE;
        a.attach_flags = BPF_F_ALLOW_MULTI;
        if (syscall(SYS_bpf, BPF_PROG_ATTACH, &a, sizeof a)) die("attach device program");
        close(prog);
        close(cg);
    }
    struct clone_args ca = {.flags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID | CLONE_NEWNET,
                            .exit_signal = SIGCHLD};
    pid_t pid = syscall(SYS_clone3, &ca, sizeof ca);
    if (pid < 0) die("clone3");
    if (pid == 0) child(argv + 2, argv[1]);
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) die("waitpid");
    rm_cgroups();
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
