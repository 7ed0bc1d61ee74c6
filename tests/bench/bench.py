#!/usr/bin/env python3
"""mote's benchmark (`./x bench [N]`): mote against crun, runc and a floor, on one busybox bundle.

What it measures, interleaved across runtimes and repeated in rounds (min and median reported):
  1. N sequential `run` of /bin/true: wall, user and sys time per container (rusage of the reaped
     runtime processes, measured by tests/bench/runner.c), peak RSS of the runtime process tree.
  2. single `run` latency with `hyperfine -N`.
  3. create -> start -> exit -> state -> delete, each step timed on its own.
  4. peak RSS: of `run` (runtime + what it reaps), of `create` alone, of the container process.
  5. the smallest linux.resources.memory.limit at which `run` succeeds 10/10 (only where the limit
     is seen applied in the container's cgroup; "not applied" otherwise), for two payloads: busybox
     `true` and a one-page static `true` (tests/bench/static_true.c), 16M down to 16K.
  6. binary sizes and dynamic dependencies; mote-init against tini-static and catatonit.
  7. syscalls per `run` by kind (strace -f -c); 7b. the same on a pure cgroup v2 layout of this
     hybrid host (its cgroup2 tree over /sys/fs/cgroup in a private mount namespace), and mote's
     CPU per run on both layouts, interleaved.
Plus a profile of mote's `run` (strace -f -c and -T, callgrind, a cgroup-join probe) in profile.txt.

Every runtime's --root and everything else the bench writes live on a tmpfs the bench mounts over
its own temp dir (and unmounts in every outcome).

Baselines: "exec" is busybox `true` alone; "floor" is tests/bench/floor.c (unshare
the same namespaces, fork, pivot_root, exec); "floor_full" is tests/bench/floor_full.c (the kernel
work of the whole config: cgroups, device rules, mounts, masks, caps; no runtime logic); crun runs through tests/bench/crun_wrap.c (crun
1.8.1 refuses this kind of hybrid cgroup host), which is timed alone as a row of its own and
subtracted in the "crun (net)" row; ratios are to crun (net).

  9. (not with --quick or --no-vm) the smallest memory.max on pure cgroup v2 in each arch's VM for
     both payloads and what one run charges there (tests/bench/vm_floor.py).

Usage: bench.py [N] [--rounds R] [--quick] [--out DIR] [--no-install] [--no-profile] [--no-vm]
Python 3.11 standard library only; run as root. Writes DIR/{results.md,results.json,chart.svg,
profile.txt} (default tests/bench/results/).
"""
import argparse
import collections
import ctypes
import datetime
import json
import math
import os
import platform
import re
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
REL = os.path.join(ROOT, "target", "x86_64-unknown-linux-gnu", "release")
MOTE = os.path.join(REL, "mote")
MOTE_INIT = os.path.join(REL, "mote-init")
BUSYBOX = "/bin/busybox"
ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C"}
CG = "/sys/fs/cgroup"
REQUIRED = ["crun", "runc", "hyperfine", "strace", "squashfs-tools"]
OPTIONAL = ["tini", "catatonit"]
# Descending memory limits tried in part 5.
LEVELS = ["16M", "8M", "4M", "2M", "1M", "512K", "384K", "256K", "250K", "224K", "200K", "176K", "160K", "128K",
          "112K", "96K", "80K", "64K", "56K", "48K", "40K", "32K", "24K", "16K"]
# Part 5's payloads: busybox `true`, and a one-page static `true` (tests/bench/static_true.c:
# exit_group(0), no libc) whose exec costs next to nothing, so its floor is the runtime's own.
PAYLOADS = {"busybox": ["/bin/true"], "static": ["/bin/static-true"]}
# The state tmpfs (part of the fix for ext4's inode search under create/delete churn).
TMPFS_OPTS = "size=512m,mode=0755,nr_inodes=0"
QUICK_LEVELS = ["16M", "4M"]
TIMEOUT = 30  # any single runtime command
ARCHES = [("x86_64", "x86_64-unknown-linux-gnu"), ("aarch64", "aarch64-unknown-linux-gnu"),
          ("riscv64", "riscv64gc-unknown-linux-gnu")]
# Issue 17's goals, reported (never asserted: timing on a shared machine is not a test).
GOAL_CPU_CRUN, GOAL_CPU_FLOOR, GOAL_SYSCALLS, GOAL_MEMORY = 0.40, 1.6, 150, 64 * 1024
GOAL_SIZE = {"x86_64": 192 * 1024, "aarch64": 176 * 1024, "riscv64": 176 * 1024}
GOAL_INIT = 16 * 1024
Run = collections.namedtuple("Run", "wall user sys maxrss code")


def log(*a):
    print("bench:", *a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- setup

def installed(pkg):
    p = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg], capture_output=True, text=True)
    return p.returncode == 0 and "ok installed" in p.stdout


def apt_install(pkgs):
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    argv = ["apt-get", "install", "-y", "-qq", "--no-install-recommends"] + pkgs
    if subprocess.run(argv, env=env, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True)
        subprocess.run(argv, env=env, capture_output=True)


def ensure_packages(allow_install):
    """Installs crun, runc, hyperfine, strace (required) and tini, catatonit (optional) when missing."""
    missing = [p for p in REQUIRED + OPTIONAL if not installed(p)]
    if missing and allow_install:
        log("installing", " ".join(missing))
        apt_install(missing)
    still = [p for p in REQUIRED if not installed(p)]
    if still:
        sys.exit(f"bench: missing {' '.join(still)} (apt-get install -y {' '.join(still)})")


def parse_size(s):
    return int(s[:-1]) * {"K": 1024, "M": 1024 * 1024}[s[-1]]



def memory_cgroup(pidfile):
    """(pid, its memory cgroup's directory, "v1" or "v2") of the process pidfile names."""
    with open(pidfile) as f:
        pid = int(f.read().strip())
    with open(f"/proc/{pid}/cgroup") as f:
        lines = [l.rstrip("\n").split(":", 2) for l in f]
    v1 = [p for _, ctl, p in lines if "memory" in ctl.split(",")]
    if v1:
        return pid, os.path.join(CG, "memory", v1[0].lstrip("/")), "v1"
    return pid, os.path.join(CG, [p for h, _, p in lines if h == "0"][0].lstrip("/")), "v2"

class Bench:
    def __init__(self, args):
        self.args = args
        self.n = args.n
        self.rounds = args.rounds
        self.tmp = tempfile.mkdtemp(prefix="mote-bench.")
        os.chmod(self.tmp, 0o755)
        self.tmpfs = False
        self.prefix = "mote-bench-" + uuid.uuid4().hex[:6] + "-"
        self.count = 0
        self.bins = {}
        self.roots = {rt: os.path.join(self.tmp, "state-" + rt)
                      for rt in ("mote", "crun", "runc", "mote-v2", "crun-v2", "runc-v2")}
        self.cgroup_parent = self.prefix + "cg"
        self.cgroup_path = f"/{self.cgroup_parent}/ctr"
        self.results = {}
        self.notes = []

    # ---------------------------------------------------------- environment
    def mount_tmpfs(self):
        """A tmpfs of our own over the whole temp dir: every runtime's --root (its state dirs,
        locks, fifos), the bundles, pid files and strace outputs live there, never on the host's
        /tmp. On ext4, create/delete churn of state dirs made the inode allocator search for minutes
        (up to half of a profile's CPU, profile-notes.md "Round 3"); mote's own default /run is
        tmpfs too. Unmounted in cleanup(), whatever happened."""
        subprocess.run(["mount", "-t", "tmpfs", "-o", TMPFS_OPTS, "mote-bench", self.tmp], check=True,
                       capture_output=True, timeout=TIMEOUT)
        self.tmpfs = True
        os.chmod(self.tmp, 0o755)
        with open("/proc/self/mountinfo") as f:
            self.tmpfs_line = next(l.split(" - ")[1].strip() for l in f if l.split()[4] == self.tmp)

    def unmount_tmpfs(self):
        """Unmounts the state tmpfs (lazily when something still holds it open), then removes the
        mount point."""
        if self.tmpfs:
            if subprocess.run(["umount", self.tmp], capture_output=True).returncode != 0:
                p = subprocess.run(["umount", "-l", self.tmp], capture_output=True, text=True)
                if p.returncode != 0:
                    log(f"cleanup: umount {self.tmp}: {p.stderr.strip()}")
                    return
            self.tmpfs = False
        try:
            os.rmdir(self.tmp)
        except OSError as e:
            log(f"cleanup: rmdir {self.tmp}: {e}")

    def build_helpers(self):
        for name in ("floor", "floor_full", "crun_wrap", "runner"):
            out = os.path.join(self.tmp, name)
            src = os.path.join(HERE, name + ".c")
            p = subprocess.run(["gcc", "-O2", "-static", "-o", out, src], capture_output=True, text=True)
            if p.returncode != 0:  # no libc.a: dynamic is still a floor, a slightly higher one
                self.notes.append(f"{name}: built dynamically (static link failed)")
                subprocess.run(["gcc", "-O2", "-o", out, src], check=True)
            self.bins[name] = out
        self.build_static_true()
        self.bins["crun"] = shutil.which("crun", path=ENV["PATH"])
        self.bins["runc"] = shutil.which("runc", path=ENV["PATH"])
        if not os.access(MOTE, os.X_OK):
            sys.exit(f"bench: {MOTE} is missing: ./x build x86_64-unknown-linux-gnu")
        # A copy: a rebuild during the run must not change what is measured.
        self.mote = os.path.join(self.tmp, "mote")
        shutil.copy2(MOTE, self.mote)

    def build_static_true(self):
        """Part 5's second payload, built by qemu/vm.py's static_true() (the VMs use the same)."""
        sys.path.insert(0, HERE)
        import vm_floor
        self.bins["static-true"] = vm_floor.vm.static_true("x86_64", os.path.join(self.tmp, "static-true"))

    def build_bundle(self):
        """One busybox bundle, /bin/true, shared by every runtime (read-only root)."""
        b = os.path.join(self.tmp, "bundle")
        r = os.path.join(b, "rootfs")
        for d in ("bin", "proc", "sys", "dev", "tmp"):
            os.makedirs(os.path.join(r, d))
        os.chmod(b, 0o755)
        os.chmod(r, 0o755)
        shutil.copy(BUSYBOX, os.path.join(r, "bin", "busybox"))
        shutil.copy(self.bins["static-true"], os.path.join(r, "bin", "static-true"))
        applets = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True, check=True).stdout.split()
        for a in applets:
            if a != "busybox":
                os.symlink("busybox", os.path.join(r, "bin", a))
        subprocess.run([self.mote, "spec", "--bundle", b], check=True, timeout=TIMEOUT)
        with open(os.path.join(b, "config.json")) as f:
            c = json.load(f)
        c["ociVersion"] = "1.0.2"  # crun 1.8.1 refuses "1.2.0" ("unknown version specified")
        c["process"]["terminal"] = False
        c["process"]["args"] = ["/bin/true"]
        # A cgroup parent of our own for every runtime (one container at a time, so one path does):
        # the default /mote parent is shared with any other mote on the machine, whose deletes
        # remove it, and the benchmark should neither race with them nor leave anything behind.
        c["linux"]["cgroupsPath"] = self.cgroup_path
        self.config = c
        self.write_config(b, c)
        self.bundle, self.rootfs = b, r

    @staticmethod
    def write_config(bundle, c):
        with open(os.path.join(bundle, "config.json"), "w") as f:
            json.dump(c, f, indent=1)

    def bundle_with_memory(self, limit, payload="busybox"):
        b = os.path.join(self.tmp, f"bundle-mem-{payload}-{limit}")
        if not os.path.isdir(b):
            os.makedirs(b)
            c = json.loads(json.dumps(self.config))
            c["root"]["path"] = self.rootfs
            c["process"]["args"] = PAYLOADS[payload]
            c["linux"].setdefault("resources", {})["memory"] = {"limit": limit}
            self.write_config(b, c)
        return b

    def new_id(self, tag):
        self.count += 1
        return f"{self.prefix}{tag}-{self.count}"

    # ---------------------------------------------------------- commands
    def rt(self, name, *args):
        """argv of runtime `name` running subcommand `args` with its private --root."""
        if name == "mote":
            return [self.mote, "--root", self.roots["mote"], *args]
        if name == "mote-sealed":
            return [self.sealed_copy(), "--root", self.roots["mote"], *args]
        if name == "runc":
            return [self.bins["runc"], "--root", self.roots["runc"], *args]
        if name == "crun":
            return [self.bins["crun_wrap"], self.bins["crun"], "--root", self.roots["crun"], *args]
        if name.endswith("-v2"):
            return self.in_v2(self.v2_argv(name[:-3], *args))
        raise KeyError(name)

    def v2_argv(self, rt, *args):
        """argv of runtime `rt` with its --root for the v2 layout (crun needs no wrapper there)."""
        return [self.mote if rt == "mote" else self.bins[rt], "--root", self.roots[rt + "-v2"], *args]

    @staticmethod
    def in_v2(argv):
        """argv run in a private mount namespace (propagation private: nothing leaves it) where this
        hybrid host's cgroup2 tree (its unified hierarchy) is mounted over /sys/fs/cgroup: a pure
        cgroup v2 layout for the runtime. The host's /sys/fs/cgroup is never touched."""
        return ["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c",
                'mount -t cgroup2 -o nosuid,nodev,noexec mote-bench-v2 /sys/fs/cgroup && exec "$@"', "in-v2", *argv]

    def run_argv(self, name, cid):
        """The argv that runs /bin/true once with `name` (a runtime or a baseline)."""
        if name == "exec":
            return [BUSYBOX, "true"]
        if name in ("floor", "floor_full"):
            return [self.bins[name], self.rootfs, "/bin/true"]
        if name == "wrapper":
            return [self.bins["crun_wrap"], BUSYBOX, "true"]
        return self.rt(name, "run", "--bundle", self.bundle, cid)

    def spawn_wait(self, argv, what, check=True, reap=True, count=1, stdout=None, wrap=lambda a: a):
        """Runs argv `count` times in sequence through the runner (tests/bench/runner.c: vfork,
        exec, wait4; stdin on /dev/null, stdout on /dev/null or the file `stdout`), then reaps what
        was left to us unless reap=False. An argument ending in "{i}" gets the run's index. wrap:
        what the runner itself runs in (in_v2: the v2 layout; the runner times only the command).
        -> [Run(wall s, user s, sys s, maxrss KiB, code)], one per run (fewer when one failed)."""
        rep, err = os.path.join(self.tmp, "report"), os.path.join(self.tmp, "stderr")
        with open(stdout or os.devnull, "w") as o, open(err, "w") as e:
            try:
                p = subprocess.run(wrap([self.bins["runner"], rep, str(count)] + argv), stdin=subprocess.DEVNULL,
                                   stdout=o, stderr=e, timeout=TIMEOUT * count)
            except subprocess.TimeoutExpired:
                raise RuntimeError(f"{what}: {' '.join(argv)} timed out")
        with open(rep) as f:
            runs = [Run(int(w) / 1e9, int(u) / 1e6, int(s_) / 1e6, int(m), int(c))
                    for w, u, s_, m, c in (l.split() for l in f if l.strip())]
        if reap:
            self.reap_orphans()
        if check and p.returncode != 0:
            with open(err) as f:
                msg = f.read().strip()
            raise RuntimeError(f"{what}: {' '.join(argv)} exited {p.returncode}: {msg}")
        if not runs:
            runs = [Run(0.0, 0.0, 0.0, 0, p.returncode)]
        return runs

    def reap_orphans(self):
        """We are a child subreaper: what a runtime leaves behind is reparented to us; reap it."""
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return

    # ---------------------------------------------------------- part 4b: a waiting foreground run
    WAITING = ["mote", "mote-squashfs", "crun", "runc"]
    ROLLUP = ("Rss", "Pss", "Pss_Anon", "Pss_File", "Pss_Shmem", "Private_Dirty")

    def squashfs_argv(self, *args):
        """mote from a squashfs image of itself (an embedded image's root), mounted in a private
        mount namespace of this command alone: it makes no sealed copy there (linux/sealed.rs)."""
        img, mnt = os.path.join(self.tmp, "mote.sqfs"), os.path.join(self.tmp, "sq")
        if not os.path.exists(img):
            src = os.path.join(self.tmp, "sq-src")
            os.makedirs(src)
            os.makedirs(mnt)
            shutil.copy(self.mote, os.path.join(src, "mote"))
            subprocess.run(["mksquashfs", src, img, "-quiet", "-noappend"], check=True, timeout=TIMEOUT,
                           stdout=subprocess.DEVNULL)
        return ["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c",
                'mount -o loop,ro -t squashfs "$1" "$2" && shift 2 && exec "$@"', "sh", img, mnt,
                os.path.join(mnt, "mote"), "--root", self.roots["mote"], *args]

    def waiting_once(self, name):
        """/proc/PID/smaps_rollup (KiB) of runtime `name`'s own process while its foreground `run`
        waits for a container that sleeps."""
        b = os.path.join(self.tmp, "bundle-sleep")
        if not os.path.isdir(b):
            os.makedirs(b)
            c = json.loads(json.dumps(self.config))
            c["root"]["path"] = self.rootfs
            c["process"]["args"] = ["/bin/sleep", "60"]
            self.write_config(b, c)
        cid = self.new_id("wait-" + name)
        rt = "mote" if name == "mote-squashfs" else name
        argv = self.squashfs_argv("run", "--bundle", b, cid) if name == "mote-squashfs" else self.rt(name, "run", "--bundle", b, cid)
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            end = time.time() + TIMEOUT
            while time.time() < end:
                st = subprocess.run(self.rt(rt, "state", cid), capture_output=True, text=True, timeout=TIMEOUT)
                if st.returncode == 0 and json.loads(st.stdout)["status"] == "running":
                    break
                if p.poll() is not None:
                    raise RuntimeError(f"{name}: run exited {p.returncode} before its container ran")
                time.sleep(0.02)
            else:
                raise RuntimeError(f"{name}: {cid} never ran")
            time.sleep(1.5)  # mote gives back what create used after its wait's first quiet second
            with open(f"/proc/{p.pid}/smaps_rollup") as f:
                m = {l.split(":")[0]: int(l.split()[1]) for l in f if l.split(":")[0] in self.ROLLUP}
            exe = os.readlink(f"/proc/{p.pid}/exe")
            m["memfd"] = exe.startswith("/memfd:")
            return m
        finally:
            subprocess.run(self.rt(rt, "kill", cid, "KILL"), capture_output=True, timeout=TIMEOUT)
            try:
                p.wait(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            subprocess.run(self.rt(rt, "delete", "--force", cid), capture_output=True, timeout=TIMEOUT)
            self.reap_orphans()

    def part_waiting(self):
        log("4b. memory of a waiting foreground run")
        self.results["waiting"] = {n: [self.waiting_once(n) for _ in range(3)] for n in self.WAITING}

    # ---------------------------------------------------------- part 1: sequential runs
    SEQ = ["exec", "floor", "floor_full", "mote", "crun", "wrapper", "runc"]

    def part_sequential(self):
        log(f"1. {self.n} sequential runs x {self.rounds} rounds")
        for name in self.SEQ:  # warm up (page cache, first-time cgroup setup)
            self.spawn_wait(self.run_argv(name, f"{self.prefix}warm-{name}-{{i}}"), name, count=2)
        per = {name: {"wall": [], "user": [], "sys": [], "cpu": [], "maxrss": []} for name in self.SEQ}
        for r in range(self.rounds):
            k = r % len(self.SEQ)
            for name in self.SEQ[k:] + self.SEQ[:k]:
                runs = self.spawn_wait(self.run_argv(name, f"{self.prefix}{name}-{r}-{{i}}"), name, count=self.n)
                d = per[name]
                u = sum(x.user for x in runs) / self.n * 1e3
                s = sum(x.sys for x in runs) / self.n * 1e3
                d["wall"].append(sum(x.wall for x in runs) / self.n * 1e3)
                d["user"].append(u)
                d["sys"].append(s)
                d["cpu"].append(u + s)
                d["maxrss"].append(statistics.median(x.maxrss for x in runs))
        # crun (net): crun minus the wrapper's own cost (wrapper - exec), round by round.
        net = {}
        for m in ("wall", "user", "sys", "cpu"):
            net[m] = [c - (w - e) for c, w, e in zip(per["crun"][m], per["wrapper"][m], per["exec"][m])]
        net["maxrss"] = per["crun"]["maxrss"]
        per["crun (net)"] = net
        self.results["sequential"] = per

    # ---------------------------------------------------------- part 2: hyperfine
    def part_hyperfine(self):
        runs = max(3, self.n)
        warm = 1 if self.args.quick else 5
        log(f"2. hyperfine -N, {runs} runs x {self.rounds} rounds")
        names = list(self.SEQ)
        per = {name: {"mean": [], "min": [], "stddev": [], "user": [], "system": []} for name in names}
        for r in range(self.rounds):
            k = r % len(names)
            order = names[k:] + names[:k]
            out = os.path.join(self.tmp, f"hyperfine-{r}.json")
            cmds = [" ".join(self.run_argv(n, self.prefix + "hf-" + n.replace(" ", ""))) for n in order]
            argv = ["hyperfine", "-N", "--style", "none", "--warmup", str(warm), "--runs", str(runs),
                    "--export-json", out] + cmds
            p = subprocess.run(argv, capture_output=True, text=True, env=ENV,
                               timeout=TIMEOUT * len(names) + runs * len(names) * 2)
            if p.returncode != 0:
                raise RuntimeError(f"hyperfine failed: {p.stderr[-2000:]}")
            with open(out) as f:
                res = json.load(f)["results"]
            for n, x in zip(order, res):
                for m in per[n]:
                    per[n][m].append(x[m] * 1e3)
        per["crun (net)"] = {m: [c - (w - e) for c, w, e in zip(per["crun"][m], per["wrapper"][m], per["exec"][m])]
                             for m in ("mean", "min", "user", "system")}
        per["crun (net)"]["stddev"] = per["crun"]["stddev"]
        self.results["hyperfine"] = per

    # ---------------------------------------------------------- part 3: lifecycle
    STEPS = ["create", "start", "exit", "state", "delete"]

    def lifecycle_once(self, name):
        cid = self.new_id("lc-" + name)
        pidfile = os.path.join(self.tmp, "pid")
        if os.path.exists(pidfile):
            os.unlink(pidfile)
        wall, cpu = {}, {}
        x, = self.spawn_wait(self.rt(name, "create", "--bundle", self.bundle, "--pid-file", pidfile, cid),
                             name + " create")
        wall["create"], cpu["create"], rss_create = x.wall, x.user + x.sys, x.maxrss
        with open(pidfile) as f:
            pid = int(f.read().strip())
        pidfd = os.pidfd_open(pid)
        try:
            # reap=False: the container process is ours (we are its subreaper); reaped below
            x, = self.spawn_wait(self.rt(name, "start", cid), name + " start", reap=False)
            wall["start"], cpu["start"] = x.wall, x.user + x.sys
            t0 = time.perf_counter()
            if not select.select([pidfd], [], [], TIMEOUT)[0]:
                raise RuntimeError(f"{name}: container {cid} did not exit")
            wall["exit"], cpu["exit"] = time.perf_counter() - t0, 0.0
        finally:
            os.close(pidfd)
        rss_init = 0
        try:
            _, _, ru = os.wait4(pid, 0)
            rss_init = ru.ru_maxrss
            cpu["exit"] = ru.ru_utime + ru.ru_stime
        except ChildProcessError:
            pass
        wall["state"] = cpu["state"] = 0.0
        out = os.path.join(self.tmp, "state.json")
        for _ in range(50):
            x, = self.spawn_wait(self.rt(name, "state", cid), name + " state", check=False, stdout=out)
            wall["state"] += x.wall
            cpu["state"] += x.user + x.sys
            with open(out) as f:
                st = f.read()
            if x.code == 0 and json.loads(st)["status"] == "stopped":
                break
        else:
            raise RuntimeError(f"{name}: {cid} never reported stopped: {st}")
        x, = self.spawn_wait(self.rt(name, "delete", cid), name + " delete")
        wall["delete"], cpu["delete"] = x.wall, x.user + x.sys
        return wall, cpu, rss_create, rss_init

    def part_lifecycle(self):
        cycles = max(1, self.n // 2) if not self.args.quick else max(1, self.n)
        log(f"3. create/start/exit/state/delete: {cycles} cycles x {self.rounds} rounds")
        names = ["mote", "crun", "runc"]
        per = {n: {"wall": {s: [] for s in self.STEPS + ["total"]}, "cpu": {s: [] for s in self.STEPS + ["total"]},
                   "rss_create": [], "rss_init": []} for n in names}
        for n in names:
            self.lifecycle_once(n)  # warm-up
        for r in range(self.rounds):
            k = r % len(names)
            for n in names[k:] + names[:k]:
                acc_w = {s: 0.0 for s in self.STEPS}
                acc_c = {s: 0.0 for s in self.STEPS}
                rc, ri = [], []
                for _ in range(cycles):
                    w, c, a, b = self.lifecycle_once(n)
                    for s in self.STEPS:
                        acc_w[s] += w[s]
                        acc_c[s] += c[s]
                    rc.append(a)
                    ri.append(b)
                for s in self.STEPS:
                    per[n]["wall"][s].append(acc_w[s] / cycles * 1e3)
                    per[n]["cpu"][s].append(acc_c[s] / cycles * 1e3)
                per[n]["wall"]["total"].append(sum(acc_w.values()) / cycles * 1e3)
                per[n]["cpu"]["total"].append(sum(acc_c.values()) / cycles * 1e3)
                per[n]["rss_create"].append(statistics.median(rc))
                per[n]["rss_init"].append(statistics.median(ri))
        # crun (net): each crun command went through the wrapper once; take the wrapper's own
        # cost (part 1: wrapper - exec, median) off create, start, state, delete.
        seq = self.results["sequential"]
        ow = statistics.median(seq["wrapper"]["wall"]) - statistics.median(seq["exec"]["wall"])
        oc = statistics.median(seq["wrapper"]["cpu"]) - statistics.median(seq["exec"]["cpu"])
        c = per["crun"]
        net = {"wall": {}, "cpu": {}, "rss_create": c["rss_create"], "rss_init": c["rss_init"]}
        for kind, o in (("wall", ow), ("cpu", oc)):
            for s in self.STEPS:
                net[kind][s] = [v - (o if s != "exit" else 0) for v in c[kind][s]]
            net[kind]["total"] = [v - 4 * o for v in c[kind]["total"]]
        per["crun (net)"] = net
        self.results["lifecycle"] = per

    # ---------------------------------------------------------- part 5: memory limit
    def memory_limit_seen(self, name, limit):
        """Creates a container with memory.limit `limit`; returns the limit found in its cgroup on
        the host (bytes), None when unlimited, or raises when create fails."""
        cid = self.new_id("memchk-" + name)
        pidfile = os.path.join(self.tmp, "pid")
        if os.path.exists(pidfile):
            os.unlink(pidfile)
        try:
            self.spawn_wait(self.rt(name, "create", "--bundle", self.bundle_with_memory(limit), "--pid-file",
                                    pidfile, cid), name + " create (memory limit)")
            pid, d, ver = memory_cgroup(pidfile)
            path = os.path.join(d, "memory.limit_in_bytes" if ver == "v1" else "memory.max")
            with open(path) as f:
                v = f.read().strip()
            return None if v == "max" or int(v) >= 1 << 62 else int(v)
        finally:
            self.spawn_wait(self.rt(name, "delete", "--force", cid), name + " delete", check=False)

    def floor_search(self, name, payload, levels, trials):
        """Steps down `levels` with `payload`, `trials` runs each, until two levels in a row fail a
        run (as the VMs' search): (the lowest level with every run ok, ["level: ok/trials" of every
        level that failed one]). Not the first failure: with a tiny payload a limit of exactly 256K
        fails now and then on two CPUs (the kernel charges in per-CPU batches of 64 pages; one CPU's
        stock can hold the whole limit while the process charges on the other), below it not."""
        smallest, failed, fails = None, [], 0
        for lv in levels:
            b = self.bundle_with_memory(parse_size(lv), payload)
            ok = 0
            for _ in range(trials):
                cid = self.new_id("mem-" + name)
                code = self.spawn_wait(self.rt(name, "run", "--bundle", b, cid), name, check=False)[0].code
                ok += code == 0
                if code != 0:
                    self.spawn_wait(self.rt(name, "delete", "--force", cid), name, check=False)
            if ok == trials:
                smallest, fails = lv, 0
            else:
                failed.append(f"{lv}: {ok}/{trials}")
                fails += 1
                if fails == 2:
                    break
        return smallest, failed

    def part_memory(self):
        trials = 1 if self.args.quick else 10
        levels = QUICK_LEVELS if self.args.quick else LEVELS
        log(f"5. smallest memory limit, {trials} trials per level, payloads: {', '.join(PAYLOADS)}")
        out = {}
        for name in ("mote", "crun", "runc"):
            probe = 64 * 1024 * 1024
            try:
                seen = self.memory_limit_seen(name, probe)
            except RuntimeError as e:
                out[name] = {"applied": False, "smallest": None, "note": f"create with a limit failed: {e}"}
                continue
            if seen is None or abs(seen - probe) > 4096:
                out[name] = {"applied": False, "smallest": None,
                             "note": f"set {probe}, cgroup shows {seen if seen is not None else 'no limit'}"}
                continue
            pay = {}
            for payload in PAYLOADS:
                try:
                    charge = self.memory_charge(name, payload)
                except RuntimeError as e:
                    charge = {"cgroup": "?", "peak": None, "stat": {}, "note": str(e)}
                smallest, failed = self.floor_search(name, payload, levels, trials)
                pay[payload] = {"smallest": smallest, "smallest_bytes": parse_size(smallest) if smallest else None,
                                "failures": ", ".join(failed) or f"none down to {levels[-1]}", "charge": charge}
            # busybox's at the top level, as before the second payload (goals, README)
            out[name] = dict(pay["busybox"], applied=True, payloads=pay)
        self.results["memory"] = out

    # ---------------------------------------------------------- part 6: sizes
    @staticmethod
    def deps(path):
        p = subprocess.run(["ldd", path], capture_output=True, text=True)
        libs = []
        for line in p.stdout.splitlines():
            m = re.search(r"(?:=>\s*)?(/\S+)\s+\(0x", line)
            if m:
                lib = m.group(1)
                libs.append({"lib": os.path.basename(lib), "path": lib, "size": os.path.getsize(os.path.realpath(lib))})
        return libs

    def part_sizes(self):
        log("6. sizes")
        rows = []
        items = [("mote", self.mote, "runtime"), ("crun", self.bins["crun"], "runtime"),
                 ("runc", self.bins["runc"], "runtime"), ("mote-init", MOTE_INIT, "init"),
                 ("tini-static", "/usr/bin/tini-static", "init"), ("catatonit", "/usr/bin/catatonit", "init")]
        for name, path, kind in items:
            if not path or not os.path.exists(path):
                rows.append({"name": name, "kind": kind, "installed": False})
                continue
            libs = self.deps(path)
            size = os.path.getsize(path)
            rows.append({"name": name, "kind": kind, "installed": True, "path": path, "size": size, "libs": libs,
                         "total": size + sum(l["size"] for l in libs)})
        self.results["sizes"] = rows

    # ---------------------------------------------------------- part 7: syscalls
    STRACED = ["exec", "floor", "floor_full", "mote", "crun", "wrapper", "runc"]

    def strace_counts(self, argv, wrap=lambda a: a):
        """{syscall: [calls, errors]} of one run of argv under `strace -f -c` (every process);
        wrap: what the strace command itself runs in (in_v2: the v2 layout)."""
        f = os.path.join(self.tmp, "strace-c.txt")
        p = subprocess.run(wrap(["strace", "-f", "-c", "-U", "name,calls,errors", "-o", f] + argv),
                           capture_output=True, timeout=120, env=ENV, stdin=subprocess.DEVNULL)
        self.reap_orphans()
        if p.returncode != 0:
            raise RuntimeError(f"strace {' '.join(argv)} exited {p.returncode}: {p.stderr[-1000:]!r}")
        with open(f) as fh:
            return strace_table(fh.read())

    def part_syscalls(self):
        """Syscalls per `run` by kind: strace -f -c of every runtime, `runs` times each, the median
        count per syscall (a count varies by a few between runs: EINTR, short reads, page faults
        that are not syscalls are not counted). crun (net) takes off the wrapper's own (wrapper -
        exec), syscall by syscall."""
        runs = 1 if self.args.quick else 3
        log(f"7. syscalls per run (strace -f -c), {runs} run(s) each")
        per = {}
        for name in self.STRACED:
            tables = [self.strace_counts(self.run_argv(name, self.new_id("strace-" + name))) for _ in range(runs)]
            names = sorted({k for t in tables for k in t})
            per[name] = {k: [statistics.median_low(t.get(k, [0, 0])[i] for t in tables) for i in (0, 1)]
                         for k in names}
        net = {}
        for k in set(per["crun"]) | set(per["wrapper"]):
            own = [per["wrapper"].get(k, [0, 0])[i] - per["exec"].get(k, [0, 0])[i] for i in (0, 1)]
            v = [max(0, per["crun"].get(k, [0, 0])[i] - own[i]) for i in (0, 1)]
            if v[0]:
                net[k] = v
        per["crun (net)"] = net
        self.results["syscalls"] = per

    def syscall_total(self, name, part="syscalls"):
        t = self.results[part][name]
        return sum(c for c, _ in t.values()), sum(e for _, e in t.values())

    # ---------------------------------------------------------- part 7b: syscalls on a v2 layout
    V2_RUNTIMES = ["mote", "crun", "runc"]

    def part_syscalls_v2(self):
        """Part 7 again on a pure cgroup v2 layout of this host: in a private mount namespace
        (in_v2), the hybrid's cgroup2 tree mounted over /sys/fs/cgroup; strace runs inside it,
        so only the runtime is counted. The same bundle and cgroupsPath; no controller of that
        tree is enabled for the container (the bundle sets no limits)."""
        runs = 1 if self.args.quick else 3
        unified = os.path.join(CG, "unified")
        out = {"layout": None, "controllers": None, "notes": {}}
        if not os.path.exists(os.path.join(unified, "cgroup.procs")):
            out["layout"] = "none: no cgroup2 tree at /sys/fs/cgroup/unified (not a hybrid host)"
            self.results["syscalls_v2"] = out
            return
        with open(os.path.join(unified, "cgroup.controllers")) as f:
            out["controllers"] = f.read().split()
        out["layout"] = "hybrid's cgroup2 tree over /sys/fs/cgroup in a private mount namespace"
        log(f"7b. syscalls per run on a v2 layout (strace -f -c in a private mount namespace), {runs} run(s) each")
        for rt in self.V2_RUNTIMES:
            try:
                tables = [self.strace_counts(self.v2_argv(rt, "run", "--bundle", self.bundle, self.new_id("v2-" + rt)),
                                             wrap=self.in_v2) for _ in range(runs)]
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                msg = str(e).replace("\\n", " ").strip()
                out["notes"][rt] = msg[-300:] + why_v2_failed(msg)
                continue
            names = sorted({k for t in tables for k in t})
            out[rt] = {k: [statistics.median_low(t.get(k, [0, 0])[i] for t in tables) for i in (0, 1)] for k in names}
        self.part_cpu_v2(out)
        self.results["syscalls_v2"] = out

    def part_cpu_v2(self, out):
        """mote's CPU and wall per `run` on the v1 hybrid and on the v2 layout, interleaved rounds
        of N (the runner runs inside the namespace: the namespace's own setup is not timed)."""
        if "mote" not in out:
            return
        log(f"7b. mote's CPU per run, v1 hybrid and v2 layout: {self.n} runs x {self.rounds} rounds")
        per = {k: {"cpu": [], "wall": []} for k in ("v1", "v2")}
        for r in range(-1, self.rounds):  # round -1: warm-up
            for k in (("v1", "v2") if r % 2 == 0 else ("v2", "v1")):
                cid = f"{self.prefix}cpu{k}-{r}-{{i}}"
                if k == "v1":
                    argv, wrap = self.rt("mote", "run", "--bundle", self.bundle, cid), lambda a: a
                else:
                    argv, wrap = self.v2_argv("mote", "run", "--bundle", self.bundle, cid), self.in_v2
                count = 2 if r < 0 else self.n
                runs = self.spawn_wait(argv, "mote " + k, count=count, wrap=wrap)
                if r >= 0:
                    per[k]["cpu"].append(sum(x.user + x.sys for x in runs) / count * 1e3)
                    per[k]["wall"].append(sum(x.wall for x in runs) / count * 1e3)
        out["cpu"] = per

    # ---------------------------------------------------------- part 5b: memory charge
    def memory_charge(self, name, payload="busybox"):
        """The container's memory cgroup after its process ran /bin/true and exited, before delete:
        peak usage (v1 memory.max_usage_in_bytes, v2 memory.peak when the kernel has it) and
        memory.stat (v1: and the kernel memory's peak). -> {"cgroup": "v1"|"v2", "peak": bytes|None,
        "kmem_peak": bytes|None, "stat": {key: value}}"""
        cid = self.new_id("charge-" + name)
        pidfile = os.path.join(self.tmp, "pid")
        if os.path.exists(pidfile):
            os.unlink(pidfile)
        b = self.bundle_with_memory(64 * 1024 * 1024, payload)
        try:
            self.spawn_wait(self.rt(name, "create", "--bundle", b, "--pid-file", pidfile, cid), name + " create")
            pid, d, ver = memory_cgroup(pidfile)
            peak_file = "memory.max_usage_in_bytes" if ver == "v1" else "memory.peak"
            pidfd = os.pidfd_open(pid)
            try:
                self.spawn_wait(self.rt(name, "start", cid), name + " start", reap=False)
                if not select.select([pidfd], [], [], TIMEOUT)[0]:
                    raise RuntimeError(f"{name}: container {cid} did not exit")
            finally:
                os.close(pidfd)
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
            peak = kmem = None
            if os.path.exists(os.path.join(d, peak_file)):
                with open(os.path.join(d, peak_file)) as f:
                    peak = int(f.read().strip())
            if os.path.exists(os.path.join(d, "memory.kmem.max_usage_in_bytes")):  # v1: the kernel's part
                with open(os.path.join(d, "memory.kmem.max_usage_in_bytes")) as f:
                    kmem = int(f.read().strip())
            with open(os.path.join(d, "memory.stat")) as f:
                stat = {k: int(v) for k, v in (l.split() for l in f if l.strip())}
            return {"cgroup": ver, "peak": peak, "kmem_peak": kmem, "stat": stat}
        finally:
            self.spawn_wait(self.rt(name, "delete", "--force", cid), name + " delete", check=False)

    # ---------------------------------------------------------- part 8: sizes per architecture
    def part_arch_sizes(self):
        """Stripped release binaries of every target that is built (target/TRIPLE/release)."""
        rows = []
        for arch, triple in ARCHES:
            row = {"arch": arch}
            for binary in ("mote", "mote-init", "mote-image"):
                path = os.path.join(ROOT, "target", triple, "release", binary)
                row[binary] = os.path.getsize(path) if os.path.exists(path) else None
            rows.append(row)
        self.results["arch_sizes"] = rows

    # ---------------------------------------------------------- profile: the sealed re-exec
    def sealed_copy(self):
        """The path of a sealed memfd copy of mote that this process holds open: mote started from
        it finds its /proc/self/exe sealed and skips its own re-exec (linux/sealed.rs), so the pair
        (mote, mote-sealed) measures what the re-exec costs with the same binary."""
        if not hasattr(self, "sealed_fd"):
            import fcntl
            fd = os.memfd_create("mote-sealed", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
            with open(self.mote, "rb") as f:
                data = f.read()
            os.write(fd, data)
            fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_SEAL | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW |
                        fcntl.F_SEAL_WRITE)
            self.sealed_fd = fd
        return f"/proc/{os.getpid()}/fd/{self.sealed_fd}"

    def part_reexec(self):
        log(f"profile: the sealed re-exec, {self.n} runs x {self.rounds} rounds")
        names = ["mote", "mote-sealed"]
        per = {n: {"cpu": [], "wall": []} for n in names}
        for n in names:
            self.spawn_wait(self.run_argv(n, f"{self.prefix}rx-warm-{n}-{{i}}"), n, count=2)
        for r in range(self.rounds):
            for n in (names if r % 2 == 0 else names[::-1]):
                runs = self.spawn_wait(self.run_argv(n, f"{self.prefix}rx-{n}-{r}-{{i}}"), n, count=self.n)
                per[n]["cpu"].append(sum(x.user + x.sys for x in runs) / self.n * 1e3)
                per[n]["wall"].append(sum(x.wall for x in runs) / self.n * 1e3)
        kinds = {}
        for n in names:
            tables = [self.strace_counts(self.run_argv(n, self.new_id("strace-rx"))) for _ in range(3)]
            kinds[n] = {k: statistics.median_low(t.get(k, [0, 0])[0] for t in tables) for t0 in tables for k in t0}
        diff = {k: kinds["mote"].get(k, 0) - kinds["mote-sealed"].get(k, 0) for k in set(kinds["mote"]) | set(kinds["mote-sealed"])}
        self.results["profile_reexec"] = {
            "cpu_ms": [med(per[n]["cpu"]) for n in names], "wall_ms": [med(per[n]["wall"]) for n in names],
            "cpu_rounds": {n: per[n]["cpu"] for n in names}, "wall_rounds": {n: per[n]["wall"] for n in names},
            "syscalls": [sum(kinds[n].values()) for n in names], "syscalls_diff": {k: v for k, v in diff.items() if v}}

    # ---------------------------------------------------------- profile
    def part_profile(self):
        log("profile: strace, callgrind")
        out = []
        out.append(f"# Where mote's time goes: one `mote run` of /bin/true (busybox bundle)\n# {self.header_line()}\n")
        counts = {n: self.syscall_total(n) for n in ("floor", "mote", "crun (net)", "runc")}
        f = os.path.join(self.tmp, "strace-mote.txt")
        subprocess.run(["strace", "-f", "-c", "-o", f] + self.run_argv("mote", self.new_id("strace-mote")),
                       capture_output=True, timeout=120, env=ENV)
        with open(f) as fh:
            mote_c = fh.read()
        # wall time per syscall (-w): where mote waits
        f = os.path.join(self.tmp, "strace-mote-w.txt")
        subprocess.run(["strace", "-f", "-c", "-w", "-o", f] + self.run_argv("mote", self.new_id("strace-w")),
                       capture_output=True, timeout=120, env=ENV)
        with open(f) as fh:
            mote_w = fh.read()
        out.append("## Syscalls per `run` (strace -f -c; every process of the runtime and the container)\n")
        out.append("runtime     syscalls  errors   (medians of part 7; per syscall: results.md)")
        for n, (c, e) in counts.items():
            out.append(f"{n:10s}  {c!s:>8s}  {e!s:>6s}")
        self.part_reexec()
        rx = self.results["profile_reexec"]
        out.append("\n## The sealed re-exec (CVE-2019-5736): mote against the same binary started from a sealed memfd\n")
        out.append(f"{'':12s} {'CPU ms':>8s} {'wall ms':>8s} {'syscalls':>8s}   (medians of {self.rounds} rounds of {self.n})")
        for i, n in enumerate(["mote", "mote-sealed"]):
            out.append(f"{n:12s} {rx['cpu_ms'][i]:8.2f} {rx['wall_ms'][i]:8.2f} {rx['syscalls'][i]:8d}")
        out.append("syscalls the re-exec adds: " + ", ".join(f"{k} {v:+d}" for k, v in
                                                          sorted(rx["syscalls_diff"].items(), key=lambda x: -abs(x[1]))))
        out.append("\n## mote: syscall counts and system time (strace -f -c)\n")
        out.append(mote_c.rstrip())
        out.append("\n## mote: wall time per syscall (strace -f -c -w; strace's own overhead included)\n")
        out.append(mote_w.rstrip())
        # the slowest single syscalls of mote (strace -T -y: with the file each one touched)
        f = os.path.join(self.tmp, "strace-mote-T.txt")
        subprocess.run(["strace", "-f", "-T", "-y", "-s", "48", "-o", f] +
                       self.run_argv("mote", self.new_id("strace-T")), capture_output=True, timeout=120, env=ENV)
        slow = []
        with open(f) as fh:
            for line in fh:
                m = re.search(r"<(\d+\.\d+)>\s*$", line)
                if m:
                    slow.append((float(m.group(1)), line.strip()))
        areas = {}
        with open(f) as fh:
            for line in fh:
                m = re.search(r"<(\d+\.\d+)>\s*$", line)
                n = re.match(r"^\d+\s+(?:<\.\.\. )?(\w+)", line)
                if m and n:
                    a = syscall_area(n.group(1), line, self.tmp)
                    t, k = areas.get(a, (0.0, 0))
                    areas[a] = (t + float(m.group(1)), k + 1)
        out.append("\n## mote: time in syscalls by area (strace -f -T -y, one run; strace inflates every call)\n")
        for a, (t, k) in sorted(areas.items(), key=lambda x: -x[1][0]):
            out.append(f"{a:58s} {k:5d} calls  {t * 1e3:8.2f} ms")
        self.results["profile_areas_ms"] = {a: round(t * 1e3, 3) for a, (t, _) in areas.items()}
        # The kernel side of joining a cgroup: one write of a pid to cgroup.procs of a fresh cgroup
        # (a migration: it takes cgroup_threadgroup_rwsem for writing, which waits for an RCU grace
        # period). Every runtime pays this once per container; it is wall time, not CPU.
        out.append("\n## Probe: one write of a pid to a fresh cgroup's cgroup.procs (no runtime; ms)\n")
        probe = {}
        for h in ("unified", "memory", ""):
            base = os.path.join(CG, h) if h else CG
            if not os.path.exists(os.path.join(base, "cgroup.procs")) or (h == "" and probe):
                continue
            ts = []
            for _ in range(5):
                d = os.path.join(base, self.prefix + "probe")
                os.mkdir(d)
                child = subprocess.Popen([BUSYBOX, "sleep", "5"])
                try:
                    time.sleep(0.05)
                    t0 = time.perf_counter()
                    with open(os.path.join(d, "cgroup.procs"), "w") as fh:
                        fh.write(str(child.pid))
                    ts.append((time.perf_counter() - t0) * 1e3)
                finally:
                    child.kill()
                    child.wait()
                    time.sleep(0.02)
                    os.rmdir(d)
            probe[h or "v2"] = ts
            out.append(f"{h or 'cgroup2':10s} " + " ".join(f"{x:.2f}" for x in ts) + f"   median {statistics.median(ts):.2f}")
        self.results["profile_cgroup_join_ms"] = probe
        slow.sort(reverse=True)
        out.append("\n## mote: the 15 slowest syscalls (strace -f -T -y; pid, call, duration in s)\n")
        out += [l[:220] for _, l in slow[:15]]
        # callgrind. After pivot_root a traced process writes its output file inside the rootfs, so
        # these runs use a bundle with a writable root and the output directory made there too.
        out.append("\n## Instructions (valgrind --tool=callgrind, per traced process)\n")
        pb = os.path.join(self.tmp, "bundle-prof")
        os.makedirs(pb)
        c = json.loads(json.dumps(self.config))
        c["root"] = {"path": self.rootfs, "readonly": False}
        c["process"].pop("rlimits", None)  # valgrind refuses setrlimit(NOFILE) to its guests
        # callgrind writes a process's counts when it exits, not when it execs: the container
        # execs a file that is not a program, fails, exits, and its counts up to exec are kept.
        with open(os.path.join(self.rootfs, "noexec"), "w") as fh:
            fh.write("not a program\n")
        os.chmod(os.path.join(self.rootfs, "noexec"), 0o755)
        c["process"]["args"] = ["/noexec"]
        self.write_config(pb, c)
        cg_total = {}
        for name in ("floor", "mote", "crun", "runc"):
            d = os.path.join(self.tmp, "cg-" + name)
            os.makedirs(d)
            os.makedirs(self.rootfs + d)
            # mote from its sealed copy: valgrind cannot follow mote's own re-exec (execveat of a memfd)
            argv = self.run_argv("mote-sealed" if name == "mote" else name, self.new_id("cg-" + name))
            if name == "floor":
                argv[-1] = "/noexec"
            else:
                argv[argv.index(self.bundle)] = pb
            argv = ["valgrind", "--tool=callgrind", "--trace-children=yes",
                    "--trace-children-skip=*/true,*/busybox", f"--callgrind-out-file={d}/cg.%p"] + argv
            p = subprocess.run(argv, capture_output=True, text=True, timeout=300, env=ENV)
            per = []
            for dd in (d, self.rootfs + d):
                for fn in sorted(os.listdir(dd)):
                    with open(os.path.join(dd, fn), errors="replace") as fh:
                        cmd, tot = "?", None
                        for line in fh:
                            if line.startswith("cmd:"):
                                cmd = line[4:].strip()
                            if line.startswith("totals:") or line.startswith("summary:"):
                                tot = int(line.split()[1])
                                break
                    per.append((tot or 0, cmd, "host" if dd == d else "in rootfs"))
            total = sum(t for t, _, _ in per)
            # followed to the container's exec: a count was written from inside the rootfs
            cg_total[name] = total if any(w == "in rootfs" and t for t, _, w in per) else None
            notes = [l for l in p.stderr.splitlines() if l.strip() and not l.startswith("==")
                     and not l.startswith("--") and "noexec" not in l][:3]
            if "unhandled amd64-linux syscall: 437" in p.stderr:
                notes.insert(0, "unhandled syscall 437 (openat2): ENOSYS to the guest")
            if "the 'impossible' happened" in p.stderr or "VALGRIND INTERNAL ERROR" in p.stderr:
                notes.insert(0, "valgrind itself crashed")
            out.append(f"{name}: exit {p.returncode}, {len(per)} traced process(es), Ir total {total:,}")
            for t, cmd, where in per:
                out.append(f"    {t:>12,}  {cmd[:120]}  ({where})")
            for n_ in notes[:4]:
                out.append(f"    valgrind: {n_[:200]}")
        out.append("\nThe container process execs a non-program (/noexec): counts are up to the container's "
                   "exec, the part the runtime owns. A run that cannot be followed says why above (crun re-executes "
                   "itself from a memfd, which valgrind cannot follow; runc is Go).")
        out.append("mote runs from a sealed memfd copy here (its re-exec skipped), as valgrind cannot follow an "
                   "execveat of a memfd. mote is stripped (Cargo.toml: strip = true), so callgrind cannot name its functions; "
                   "the totals above are per process. valgrind 3.19 does not know openat2 (437): mote takes its "
                   "fallback under valgrind, so its count is close to, not exactly, a native run's.")
        self.results["profile_instructions"] = cg_total
        with open(os.path.join(self.args.out, "profile.txt"), "w") as f:
            f.write("\n".join(out) + "\n")

    # ---------------------------------------------------------- cleanup and residue
    @staticmethod
    def drain(seconds):
        """Reaps our children (we are their subreaper) until none is left or `seconds` pass."""
        end = time.time() + seconds
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                if time.time() > end:
                    return
                time.sleep(0.02)

    def cleanup(self):
        """Deletes every container left in our state dirs, then the temp dir; returns residue.
        After an interruption a runtime command may still be running (its runner was killed and it
        is now our child): it is let finish first, so that nothing is created after the deletes."""
        self.drain(TIMEOUT / 3)
        for name, root in self.roots.items():
            if os.path.isdir(root):
                for cid in os.listdir(root):
                    try:
                        self.spawn_wait(self.rt(name, "delete", "--force", cid), "cleanup", check=False)
                    except Exception as e:  # keep cleaning
                        log("cleanup:", e)
        self.drain(5)
        if hasattr(self, "sealed_fd"):
            os.close(self.sealed_fd)
        shutil.rmtree(self.tmp, ignore_errors=True)  # the mount point itself stays: busy
        self.unmount_tmpfs()
        for h in os.listdir(CG):  # our cgroup parent (runtimes remove only the leaf); rmdir: empty only
            d = os.path.join(CG, h, self.cgroup_parent)
            if os.path.isdir(d):
                try:
                    os.rmdir(d)
                except OSError as e:
                    log(f"cleanup: rmdir {d}: {e}")
        return residue(self.prefix)

    # ---------------------------------------------------------- reporting
    def header_line(self):
        model = "?"
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
        return (f"{datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}; {os.cpu_count()} CPUs ({model}); "
                f"Linux {platform.release()}")

    def versions(self):
        if hasattr(self, "vers"):
            return self.vers
        v = {}
        for name, argv in (("mote", [self.mote, "--version"]), ("crun", [self.bins["crun"], "--version"]),
                           ("runc", [self.bins["runc"], "--version"])):
            p = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT)
            v[name] = p.stdout.splitlines()[0] if p.stdout else "?"
        self.vers = v
        return v


def syscall_area(name, line, tmp):
    """What a traced syscall of mote was for, roughly (from its name and, with -y, its paths)."""
    if name in ("wait4", "recvfrom", "read", "waitid", "ppoll", "pselect6") and ("resumed" in line or name == "wait4"):
        return "waiting (for the child's messages, its exit)"
    if "/sys/fs/cgroup" in line or name == "bpf":
        return "cgroups (mkdir, limits, join, devices eBPF, rmdir)"
    if name in ("clone3", "clone", "fork", "vfork", "unshare", "setns", "execve", "exit_group", "exit"):
        return "processes and namespaces (clone3, unshare, execve)"
    if name in ("mount", "umount2", "pivot_root", "mknodat", "symlinkat", "fchmodat", "openat2", "chown",
                "fchownat", "statfs", "fstatfs", "move_mount", "open_tree", "mount_setattr", "chdir", "fchdir"):
        return "rootfs (mounts, devices, pivot_root)"
    if tmp in line and "/state-" in line:
        return "state dir (lock, state.json, fifo)"
    if "config.json" in line or "/bundle" in line:
        return "bundle (config.json, rootfs checks)"
    return "other (signals, caps, prctl, rlimits, ...)"


def strace_table(txt):
    """{syscall: [calls, errors]} of `strace -c -U name,calls,errors` output (the total line left out)."""
    out = {}
    for line in txt.splitlines():
        f = line.split()
        if len(f) >= 2 and f[1].isdigit() and f[0] != "total":
            out[f[0]] = [int(f[1]), int(f[2]) if len(f) > 2 and f[2].isdigit() else 0]
    return out


def strace_total(txt):
    """(calls, errors) of the total line of `strace -c` output. The columns are right-aligned and
    usecs/call may be blank, so they are cut at the header's positions, not split on spaces."""
    lines = txt.splitlines()
    head = next((l for l in lines if "calls" in l and "errors" in l), None)
    total = next((l for l in lines if l.rstrip().endswith(" total")), None)
    if not head or not total:
        return None, None
    c_end, e_end = head.index("calls") + len("calls"), head.index("errors") + len("errors")
    calls, errors = total[c_end - 9:c_end].strip(), total[c_end:e_end].strip()
    return int(calls) if calls.isdigit() else None, int(errors) if errors.isdigit() else 0


def residue(prefix):
    """Anything named with `prefix` left in cgroupfs, the mount table, or processes."""
    left = []
    for h in os.listdir(CG):
        base = os.path.join(CG, h)
        if os.path.islink(base) or not os.path.isdir(base):
            continue
        for dirpath, dirnames, _ in os.walk(base):
            for d in dirnames:
                if d.startswith(prefix):
                    left.append(os.path.join(dirpath, d))
            if dirpath.count("/") - base.count("/") >= 3:
                dirnames[:] = []
    with open("/proc/self/mountinfo") as f:
        left += [l.strip() for l in f if prefix in l or "mote-bench." in l]
    return left


# ---------------------------------------------------------------- formatting
def med(xs):
    return statistics.median(xs)


def fmt(x, nd=2):
    if x is None:
        return "—"
    return f"{x:.{nd}f}"


def cell(xs, nd=2):
    """median (min) of rounds"""
    return f"{fmt(med(xs), nd)} ({fmt(min(xs), nd)})"


def ratio(a, b):
    if a is None or b is None or b <= 0:
        return "—"
    return f"{a / b:.2f}"


def kib(x):
    return "—" if x is None else f"{x / 1024:.0f}"


def calls_cell(v):
    """calls (errors) of one syscall, or — when the runtime never made it"""
    if not v or not v[0]:
        return "—"
    return f"{v[0]} ({v[1]})" if v[1] else f"{v[0]}"


# memory.stat keys that are sizes in bytes (the rest are event counts)
V1_BYTES = {"cache", "rss", "rss_huge", "shmem", "mapped_file", "dirty", "writeback", "swap", "inactive_anon",
            "active_anon", "inactive_file", "active_file", "unevictable"}
V2_BYTES = {"anon", "file", "kernel", "kernel_stack", "pagetables", "sec_pagetables", "percpu", "sock", "vmalloc",
            "shmem", "file_mapped", "file_dirty", "file_writeback", "anon_thp", "slab_reclaimable",
            "slab_unreclaimable", "slab"}


def readme_table(b):
    """The table README.md shows, per container, medians of this run."""
    R = b.results
    seq, lc, mem = R["sequential"], R["lifecycle"], R["memory"]
    sz = {r["name"]: r for r in R["sizes"]}
    L = ["| runtime | wall ms | CPU ms (user+sys) | CPU ÷ crun | syscalls per run | peak RSS KiB, `create` | "
         "smallest memory limit (busybox / static true) | size with deps KiB |", "|---|---|---|---|---|---|---|---|"]
    for n in ["floor", "mote", "crun (net)", "runc"]:
        rt = n.split()[0]
        rss = fmt(med(lc[rt]["rss_create"]), 0) if rt in lc else "—"
        m = mem.get(rt) if n != "floor" else None
        limit = "—" if m is None else memory_cell(m)
        size = f"{sz[rt]['total'] / 1024:.0f}" if rt in sz and sz[rt]["installed"] else "—"
        L.append(f"| {LABEL[n] if n != 'crun (net)' else 'crun (net)'} | {fmt(med(seq[n]['wall']))} | "
                 f"{fmt(med(seq[n]['cpu']))} | {ratio(med(seq[n]['cpu']), med(seq['crun (net)']['cpu']))} | "
                 f"{b.syscall_total(n)[0]} | {rss} | {limit} | {size} |")
    return "\n".join(L)


def memory_cell(m):
    """"busybox / static" smallest limits of part 5 for one runtime."""
    if not m["applied"]:
        return "not applied"
    return " / ".join(p["smallest"] or "none" for p in m["payloads"].values())


def goals(b):
    """[(goal, target, measured, met or None)] of issue 17, from this run."""
    R = b.results
    seq = R["sequential"]
    cpu = med(seq["mote"]["cpu"])
    out = [("CPU per container ÷ crun (net)", f"≤ {GOAL_CPU_CRUN:.2f}", ratio(cpu, med(seq["crun (net)"]["cpu"])),
            cpu / med(seq["crun (net)"]["cpu"]) <= GOAL_CPU_CRUN),
           ("CPU per container ÷ floor", f"≤ {GOAL_CPU_FLOOR:.1f}", ratio(cpu, med(seq["floor"]["cpu"])),
            cpu / med(seq["floor"]["cpu"]) <= GOAL_CPU_FLOOR)]
    n = b.syscall_total("mote")[0]
    out.append(("syscalls per `run /bin/true`", f"≤ {GOAL_SYSCALLS}", str(n), n <= GOAL_SYSCALLS))
    m = R["memory"]["mote"]
    ver = (m.get("charge") or {}).get("cgroup", "?")
    sm = m.get("smallest_bytes")
    out.append((f"memory floor (cgroup {ver} here; 10/10 runs)", f"≤ {GOAL_MEMORY // 1024}K",
                m.get("smallest") or "none", None if b.args.quick else (sm is not None and sm <= GOAL_MEMORY)))
    st = (m.get("payloads") or {}).get("static", {})
    sm = st.get("smallest_bytes")
    out.append((f"memory floor, one-page static true (cgroup {ver} here)", f"≤ {GOAL_MEMORY // 1024}K",
                st.get("smallest") or "none", None if b.args.quick else (sm is not None and sm <= GOAL_MEMORY)))
    v2 = R.get("syscalls_v2", {})
    n2 = b.syscall_total("mote", "syscalls_v2")[0] if "mote" in v2 else None
    out.append(("syscalls per `run /bin/true`, v2 layout (7b)", f"≤ {GOAL_SYSCALLS}", str(n2) if n2 else "not measured",
                None if n2 is None else n2 <= GOAL_SYSCALLS))
    for r in R["arch_sizes"]:
        v = r["mote"]
        out.append((f"mote size, {r['arch']}", f"≤ {GOAL_SIZE[r['arch']]:,} B".replace(",", " "),
                    "not built" if v is None else f"{v:,} B".replace(",", " "), None if v is None else v <= GOAL_SIZE[r["arch"]]))
    inits = [r["mote-init"] for r in R["arch_sizes"] if r["mote-init"] is not None]
    out.append(("mote-init size, largest built", f"≤ {GOAL_INIT:,} B".replace(",", " "),
                f"{max(inits):,} B".replace(",", " ") if inits else "not built", max(inits) <= GOAL_INIT if inits else None))
    return out


LABEL = {"exec": "exec only (busybox true)", "floor": "floor (floor.c)", "floor_full": "floor of the whole config (floor_full.c)", "mote": "mote", "crun": "crun, via wrapper",
         "wrapper": "crun wrapper alone (+exec)", "crun (net)": "crun (net: wrapper subtracted)", "runc": "runc"}


def markdown(b):
    R = b.results
    L = []
    L.append("# mote benchmark\n")
    L.append(f"{b.header_line()}; N={b.n}, {b.rounds} round(s), interleaved; "
             f"{'quick mode; ' if b.args.quick else ''}cells are median (min) over rounds.  ")
    v = b.versions()
    L.append(f"Runtimes: {v['mote']}; {v['crun']}; {v['runc']}. Command: `./x bench {b.n}`.\n")
    L.append("crun 1.8.1 refuses this hybrid cgroup host (\"cgroups in hybrid mode not supported\"), so every crun "
             "command runs through `crun_wrap` (tests/bench/crun_wrap.c: a private mount namespace with a tmpfs over "
             "/sys/fs/cgroup/unified, then exec crun). The wrapper is timed alone (exec'ing busybox `true`); "
             "\"crun (net)\" subtracts its cost (wrapper − exec) round by round, and ratios are to crun (net).  ")
    L.append(f"Every runtime runs the same bundle (busybox, read-only root, /bin/true, the namespaces of "
             f"`mote spec`) with linux.cgroupsPath `{b.cgroup_path}`: a private parent, so that other mote users "
             "on the machine cannot race with the benchmark.\n")
    L.append(f"State on tmpfs: every runtime's --root (mote, crun, runc and their v2-layout roots of 7b), the "
             f"bundles, pid files and the bench's own outputs are under {b.tmp}, a tmpfs the bench mounts there "
             f"itself ({getattr(b, 'tmpfs_line', 'not mounted')}) and unmounts at the end, whatever happened: no "
             "runtime's state touches the host's /tmp (ext4 here, whose inode allocation under create/delete "
             "churn was seen taking half of a profile's CPU).\n")
    for n in b.notes:
        L.append(f"Note: {n}.\n")

    L.append("## Summary (the README's table)\n")
    L.append(readme_table(b))
    L.append("")
    seq = R["sequential"]
    c = seq["crun (net)"]
    fl = seq["floor"]
    L.append(f"## 1. {b.n} sequential `run` of /bin/true, per container\n")
    L.append("| runtime | wall ms | user ms | sys ms | CPU ms | CPU ÷ crun | wall ÷ crun | CPU ÷ floor | peak RSS KiB (run) | RSS ÷ crun |")
    L.append("|---|---|---|---|---|---|---|---|---|---|")
    for n in ["exec", "floor", "floor_full", "mote", "crun", "wrapper", "crun (net)", "runc"]:
        d = seq[n]
        L.append(f"| {LABEL[n]} | {cell(d['wall'])} | {cell(d['user'])} | {cell(d['sys'])} | {cell(d['cpu'])} | "
                 f"{ratio(med(d['cpu']), med(c['cpu']))} | {ratio(med(d['wall']), med(c['wall']))} | "
                 f"{ratio(med(d['cpu']), med(fl['cpu']))} | {fmt(med(d['maxrss']), 0)} | "
                 f"{ratio(med(d['maxrss']), med(c['maxrss']))} |")
    L.append("\nCPU = user + sys of every process the runtime command reaps (rusage of children), the container "
             "process included (the kernel samples the user/sys split by ticks; their sum is exact). Peak RSS: ru_maxrss of the `run` command from wait4, which is the largest of the "
             "runtime process and the processes it reaped (the container's busybox `true` among them).\n")

    hf = R["hyperfine"]
    ch = hf["crun (net)"]
    L.append("## 2. Single `run` latency, `hyperfine -N`\n")
    L.append("| runtime | mean ms | min ms | stddev ms | user ms | sys ms | mean ÷ crun |")
    L.append("|---|---|---|---|---|---|---|")
    for n in ["exec", "floor", "mote", "crun", "wrapper", "crun (net)", "runc"]:
        d = hf[n]
        L.append(f"| {LABEL[n]} | {cell(d['mean'])} | {fmt(min(d['min']))} | {fmt(med(d['stddev']))} | "
                 f"{fmt(med(d['user']))} | {fmt(med(d['system']))} | {ratio(med(d['mean']), med(ch['mean']))} |")
    L.append("")

    lc = R["lifecycle"]
    cl = lc["crun (net)"]
    L.append("## 3. create → start → exit → state → delete, per step\n")
    L.append("\"exit\": from `start` returning until the container process has exited (pidfd); \"state\": `state` "
             "calls until it says stopped. Wall ms, median (min) over rounds.\n")
    for kind in ("wall", "cpu"):
        if kind == "cpu":
            L.append("\nCPU ms (user + sys of the command and what it reaps; \"exit\": the container process's own)\n")
        L.append("| runtime | " + " | ".join(b.STEPS) + " | total | total ÷ crun |")
        L.append("|---|" + "---|" * (len(b.STEPS) + 2))
        for n in ["mote", "crun", "crun (net)", "runc"]:
            d = lc[n][kind]
            L.append(f"| {LABEL[n]} | " + " | ".join(cell(d[s]) for s in b.STEPS) +
                     f" | {cell(d['total'])} | {ratio(med(d['total']), med(cl[kind]['total']))} |")
    L.append("")

    L.append("## 4. Peak RSS (KiB, median)\n")
    L.append("| runtime | `run` (runtime + reaped) | `create` (runtime process) | container process | run ÷ crun | create ÷ crun |")
    L.append("|---|---|---|---|---|---|")
    cr = med(seq["crun (net)"]["maxrss"])
    cc = med(lc["crun"]["rss_create"])
    for n in ["floor", "mote", "crun", "runc"]:
        run_rss = med(seq[n]["maxrss"])
        if n == "floor":
            L.append(f"| {LABEL[n]} | {fmt(run_rss, 0)} | — | — | {ratio(run_rss, cr)} | — |")
            continue
        d = lc[n]
        L.append(f"| {LABEL[n]} | {fmt(run_rss, 0)} | {fmt(med(d['rss_create']), 0)} | {fmt(med(d['rss_init']), 0)} | "
                 f"{ratio(run_rss, cr)} | {ratio(med(d['rss_create']), cc)} |")
    L.append("\nContainer process: ru_maxrss of the container's process, reaped by the benchmark (a subreaper) — "
             "the largest it was, before exec (the runtime's init stage) or after (busybox `true`).\n")

    if "waiting" in b.results:
        w = b.results["waiting"]
        L.append("## 4b. A waiting foreground `run`: the runtime's own memory (KiB, median of 3)\n")
        L.append("What the runtime process keeps while `run` (not detached) waits for a container that sleeps — "
                 "mote-init's services and a shell's `run` wait like this as long as the container lives; "
                 "/proc/PID/smaps_rollup of that process, 1.5 s after the container ran (mote gives back what "
                 "create used once its wait has been quiet for a second: runtime/src/cli/run.rs, wait_for).\n")
        L.append("| runtime | Private_Dirty | Pss | Pss_Anon | Pss_Shmem (sealed copy) | Pss_File | Rss | running from |")
        L.append("|---|---|---|---|---|---|---|---|")
        label = {"mote": "mote", "mote-squashfs": "mote, its file on squashfs", "crun": "crun", "runc": "runc"}
        for n in b.WAITING:
            if n not in w:
                continue
            col = lambda k: fmt(med([x[k] for x in w[n]]), 0)
            src = "a sealed memfd copy" if all(x["memfd"] for x in w[n]) else "its file"
            L.append(f"| {label[n]} | {col('Private_Dirty')} | {col('Pss')} | {col('Pss_Anon')} | {col('Pss_Shmem')} | "
                     f"{col('Pss_File')} | {col('Rss')} | {src} |")
        L.append("\nPss_File is shared page cache (the binary and libraries, counted once for every process mapping "
                 "them); Private_Dirty and the sealed copy are each process's own. crun runs through its wrapper "
                 "(the wrapper execs crun in the same process).\n")

    mem = R["memory"]
    L.append("## 5. Smallest memory limit at which `run` succeeds "
             f"{1 if b.args.quick else 10}/{1 if b.args.quick else 10}: busybox `true` and a one-page static `true`\n")
    L.append("| runtime | limit applied | smallest limit, busybox true | failed limits (ok/runs) | smallest limit, "
             "static true | failed limits, static | ÷ crun (busybox / static) | cgroup | peak charge KiB (busybox / static) | "
             "kernel part KiB (busybox / static) |")
    L.append("|---|---|---|---|---|---|---|---|---|---|")
    cm = mem.get("crun", {})
    for n in ["mote", "crun", "runc"]:
        m = mem[n]
        if not m["applied"]:
            L.append(f"| {n} | no | not applied | {m['note']} | not applied | — | — | — | — | — |")
            continue
        bb, st = m["payloads"]["busybox"], m["payloads"]["static"]
        cp = cm.get("payloads", {}) if cm.get("applied") else {}
        rat = " / ".join(ratio(m["payloads"][p].get("smallest_bytes"), cp.get(p, {}).get("smallest_bytes"))
                         for p in PAYLOADS)
        ch = {p: m["payloads"][p].get("charge") or {} for p in PAYLOADS}
        L.append(f"| {n} | yes | {bb['smallest'] or 'none'} | {bb['failures']} | {st['smallest'] or 'none'} | "
                 f"{st['failures']} | {rat} | {ch['busybox'].get('cgroup', '?')} | "
                 + " / ".join(kib(ch[p].get("peak")) for p in PAYLOADS) + " | "
                 + " / ".join(kib(ch[p].get("kmem_peak")) for p in PAYLOADS) + " |")
    L.append(f"\nLimits tried: {', '.join(QUICK_LEVELS if b.args.quick else LEVELS)}, downwards until two limits "
             "in a row fail a run; the smallest limit is the lowest with every run ok, and every limit that failed a "
             "run is listed. An isolated failure at exactly 256K (seen with the static payload) is the kernel's "
             "charge batching on two CPUs: a charge takes 64 pages (256K) at a time into a per-CPU stock, so one "
             "CPU's stock can hold the whole limit while the process, moved to the other CPU, finds none left and "
             "is OOM-killed (dmesg: usage 256kB, kmem 28kB, rss 0); under 256K the batch never fits and charges "
             "are exact. Payloads: busybox `true` (the bundle's /bin/true), and /bin/static-true of the same rootfs "
             "(tests/bench/static_true.c: exit_group(0) from the entry point, no libc, one page, built with "
             "`gcc -nostdlib -static`): busybox's exec alone is charged ~100K+ by this kernel (page tables, its "
             "data, bss and stack pages), which hides what the runtime itself leaves charged to the container. "
             "Applied = a container created with memory.limit 64 MiB shows that limit in its memory cgroup on the "
             "host (memory.limit_in_bytes, or memory.max on cgroup v2). Peak charge: one create, start, exit "
             "with that limit, then the container cgroup's memory.max_usage_in_bytes (v1) or memory.peak (v2) "
             "before delete; kernel part: memory.kmem.max_usage_in_bytes (v1 only). Under a loose limit the kernel "
             "charges a cgroup in per-CPU batches of 64 pages, so a peak under 256K reads 256K: the smallest limit "
             "is the exact measure, the peak a coarse one. What memory.stat still holds after the exit (non-zero "
             "sizes, KiB):\n")
    for n in ["mote", "crun", "runc"]:
        for p in PAYLOADS:
            st = ((mem[n].get("payloads") or {}).get(p, {}).get("charge") or {}).get("stat", {})
            keep = [f"{k} {v // 1024}" for k, v in st.items() if v and not k.startswith("total_") and
                    (k in V1_BYTES or k in V2_BYTES)]
            L.append(f"- {n}, {p} true: {', '.join(keep) if keep else 'nothing'}")
    L.append("")

    L.append("## 6. Binary size and dynamic dependencies\n")
    L.append("| binary | size KiB | dynamic dependencies (KiB) | with deps KiB | ÷ crun / ÷ tini-static |")
    L.append("|---|---|---|---|---|")
    sz = {r["name"]: r for r in R["sizes"]}
    for r in R["sizes"]:
        if not r["installed"]:
            L.append(f"| {r['name']} | not installed | — | — | — |")
            continue
        ref = sz.get("crun" if r["kind"] == "runtime" else "tini-static")
        deps = ", ".join(f"{l['lib']} {l['size'] / 1024:.0f}" for l in r["libs"]) or "none (static)"
        L.append(f"| {r['name']} | {r['size'] / 1024:.1f} | {deps} | {r['total'] / 1024:.1f} | "
                 f"{ratio(r['total'], ref['total']) if ref and ref['installed'] else '—'} |")
    L.append("\nRuntimes are compared with crun, inits with tini-static (sizes with dependencies).\n")

    L.append("## 7. Syscalls per `run` of /bin/true (strace -f -c, every process)\n")
    L.append("| runtime | syscalls | errors | distinct | ÷ crun | ÷ floor |")
    L.append("|---|---|---|---|---|---|")
    sc = R["syscalls"]
    ct, ft = b.syscall_total("crun (net)")[0], b.syscall_total("floor")[0]
    for n in ["exec", "floor", "floor_full", "mote", "crun", "wrapper", "crun (net)", "runc"]:
        c, e = b.syscall_total(n)
        L.append(f"| {LABEL[n]} | {c} | {e} | {len(sc[n])} | {ratio(c, ct)} | {ratio(c, ft)} |")
    L.append(f"\n{'One run' if b.args.quick else 'Median of 3 runs'} of each under strace (its counts do not "
             "depend on timing but vary by a few: EINTR, retries). \"crun (net)\" takes the wrapper's own calls "
             "(wrapper − exec) off, syscall by syscall. By kind (calls, errors in parentheses):\n")
    cols = ["floor", "mote", "crun (net)"]
    L.append("| syscall | " + " | ".join(cols) + " |")
    L.append("|---|" + "---|" * len(cols))
    kinds = sorted({k for n in cols for k in sc[n]}, key=lambda k: (-sc["mote"].get(k, [0])[0],
                                                                     -sc["crun (net)"].get(k, [0])[0], k))
    for k in kinds:
        L.append(f"| {k} | " + " | ".join(calls_cell(sc[n].get(k)) for n in cols) + " |")
    L.append("| total | " + " | ".join(calls_cell(b.syscall_total(n)) for n in cols) + " |")
    L.append("")
    L += markdown_syscalls_v2(b)

    L.append("## 8. Sizes per architecture (stripped release builds in target/, bytes)\n")
    L.append("| target | mote | mote-init | mote-image | mote goal | mote-init goal |")
    L.append("|---|---|---|---|---|---|")
    for r in R["arch_sizes"]:
        L.append(f"| {r['arch']} | " + " | ".join(f"{r[x]:,}".replace(",", " ") if r[x] is not None else "not built"
                                                  for x in ("mote", "mote-init", "mote-image")) +
                 f" | ≤ {GOAL_SIZE[r['arch']] // 1024} KiB | ≤ {GOAL_INIT // 1024} KiB |")
    L.append("\n\"not built\": no target/TRIPLE/release binary (`./x build` builds every target; `./x bench` "
             "only x86_64).\n")

    L.append("## Goals of issue 17 (reported, never asserted)\n")
    L.append("| goal | target | measured | met |")
    L.append("|---|---|---|---|")
    for g, t, v, ok in goals(b):
        L.append(f"| {g} | {t} | {v} | {'—' if ok is None else 'yes' if ok else 'no'} |")
    L.append("")
    if "profile_instructions" in R:
        L.append("## Profile\n")
        rx = R.get("profile_reexec")
        if rx:
            L.append(f"The sealed re-exec (CVE-2019-5736): mote {fmt(rx['cpu_ms'][0])} CPU ms, {fmt(rx['wall_ms'][0])} "
                     f"wall ms, {rx['syscalls'][0]} syscalls per run; the same binary started from a sealed memfd "
                     f"(re-exec skipped) {fmt(rx['cpu_ms'][1])} CPU ms, {fmt(rx['wall_ms'][1])} wall ms, "
                     f"{rx['syscalls'][1]} syscalls (medians of rounds).  ")
        ar = R.get("profile_areas_ms", {})
        if ar:
            L.append("mote's syscall time by area, one run under strace (inflated; ms): " +
                     ", ".join(f"{a.split(' (')[0]} {v:.1f}" for a, v in sorted(ar.items(), key=lambda x: -x[1])) + ".  ")
        pj = R.get("profile_cgroup_join_ms", {})
        if pj:
            L.append("Joining a fresh cgroup (one write to cgroup.procs, no runtime, median ms): " +
                     ", ".join(f"{h} {statistics.median(v):.2f}" for h, v in pj.items()) + ".  ")
        ir = R.get("profile_instructions", {})
        L.append("Instructions per `run` up to the container's exec (callgrind, all processes): " +
                 ", ".join(f"{n} {v / 1e6:.2f} M" if v else f"{n} could not be followed" for n, v in ir.items()) +
                 ". Details: [profile.txt](profile.txt).\n")
    L.append("![chart](chart.svg)\n")
    return "\n".join(L)


def why_v2_failed(msg):
    """An explanation of a runtime's failure on the v2 layout that this machine causes, or ""."""
    with open("/proc/self/status") as f:
        bnd = int(next(l.split()[1] for l in f if l.startswith("CapBnd:")), 16)
    if "RLIM_MEMLOCK" in msg and not bnd >> 24 & 1:
        return (" (this machine withholds CAP_SYS_RESOURCE even from root: CapBnd lacks bit 24, and the memlock hard "
                f"limit is {resource_limit_memlock()}; crun raises RLIMIT_MEMLOCK to infinity before loading its "
                "device eBPF program on v2, which kernels since 5.11 no longer need)")
    return ""


def resource_limit_memlock():
    import resource
    h = resource.getrlimit(resource.RLIMIT_MEMLOCK)[1]
    return "unlimited" if h == resource.RLIM_INFINITY else f"{h // 1024} KiB"


def markdown_syscalls_v2(b):
    """Section 7b: syscalls per `run` on the v2 layout, by kind, next to part 7's v1-hybrid counts."""
    R = b.results
    v2 = R.get("syscalls_v2")
    if v2 is None:
        return []
    L = ["## 7b. Syscalls per `run` of /bin/true on a pure cgroup v2 layout of this host (strace -f -c)\n"]
    if v2["controllers"] is None:
        return L + [f"Not measured: {v2['layout']}.\n"]
    ctl = " ".join(v2["controllers"]) or "none"
    L.append("The same bundle and cgroupsPath, each runtime run in a private mount namespace (`unshare --mount "
             "--propagation private`) where this hybrid host's cgroup2 tree (its unified hierarchy, otherwise at "
             "/sys/fs/cgroup/unified) is mounted over /sys/fs/cgroup, so the runtime sees a pure cgroup v2 host; "
             "strace runs inside that namespace and counts only the runtime. This is the v2 layout, not a v2 "
             f"kernel setup: the tree's available controllers here are `{ctl}` (the v1 hierarchies hold the "
             "others), and the bundle sets no limit, so no controller is enabled for the container; on a real v2 "
             "host with memory, pids, cpu enabled a runtime also writes their files. crun runs there without its "
             "wrapper (crun 1.8.1 refuses only the hybrid). "
             f"{'One run' if b.args.quick else 'Median of 3 runs'} per runtime; v1 hybrid columns are part 7's.\n")
    for rt, note in v2["notes"].items():
        L.append(f"- {rt} on the v2 layout failed: {note}")
    if v2["notes"]:
        L.append("")
    sc = R["syscalls"]
    cols = [("mote, v1 hybrid", sc["mote"]), ("mote, v2 layout", v2.get("mote")),
            ("crun (net), v1 hybrid", sc["crun (net)"]), ("crun, v2 layout", v2.get("crun")),
            ("runc, v1 hybrid", sc["runc"]), ("runc, v2 layout", v2.get("runc"))]
    cols = [(h, t) for h, t in cols if t is not None]
    L.append("| syscall | " + " | ".join(h for h, _ in cols) + " |")
    L.append("|---|" + "---|" * len(cols))
    mote2 = v2.get("mote", {})
    # one row per syscall mote or crun makes; what only runc makes is summed in one row
    kinds = sorted({k for h, t in cols if not h.startswith("runc") for k in t},
                   key=lambda k: (-sc["mote"].get(k, [0])[0], -mote2.get(k, [0])[0], k))
    for k in kinds:
        L.append(f"| {k} | " + " | ".join(calls_cell(t.get(k)) for _, t in cols) + " |")
    rest = {h: [sum(v[i] for kk, v in t.items() if kk not in kinds) for i in (0, 1)] for h, t in cols}
    if any(v[0] for v in rest.values()):
        L.append("| (the rest: runc's own) | " + " | ".join(calls_cell(rest[h]) for h, _ in cols) + " |")
    L.append("| total | " + " | ".join(calls_cell([sum(v[0] for v in t.values()), sum(v[1] for v in t.values())])
                                       for _, t in cols) + " |")
    L.append("")
    cpu = v2.get("cpu")
    if cpu:
        L.append(f"mote per `run` on the two layouts, {b.n} runs x {b.rounds} interleaved rounds (tests/bench/runner.c "
                 "inside the namespace: its setup is not timed), median (min) over rounds: CPU "
                 f"{cell(cpu['v1']['cpu'])} ms on the v1 hybrid, {cell(cpu['v2']['cpu'])} ms on the v2 layout "
                 f"(÷ v1 {ratio(med(cpu['v2']['cpu']), med(cpu['v1']['cpu']))}); wall {cell(cpu['v1']['wall'])} ms, "
                 f"{cell(cpu['v2']['wall'])} ms.\n")
    return L


def svg_chart(b):
    """Hand-written SVG: time per container (CPU, wall), peak RSS, size with deps (log scale)."""
    R = b.results
    seq = R["sequential"]
    names = ["floor", "mote", "crun (net)", "runc"]
    colors = {"floor": "#999999", "mote": "#2b7bb9", "crun (net)": "#e08a1e", "runc": "#3a9a4a",
              "crun": "#e08a1e", "mote-init": "#2b7bb9", "tini-static": "#aa4499", "catatonit": "#6b4c9a"}
    W, H = 1280, 360
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" '
           'font-family="sans-serif" font-size="12">',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="10" y="20" font-size="14" font-weight="bold">mote benchmark — {b.header_line()} '
           f'— N={b.n}, medians of {b.rounds} round(s)</text>']

    def panel(x0, title, groups, unit, log=False):
        """groups: list of (label, [(series, value, color)])"""
        pw, ph, top = 290, 240, 60
        out.append(f'<text x="{x0}" y="{top - 18}" font-weight="bold">{title}</text>')
        vals = [v for _, ser in groups for _, v, _ in ser if v and v > 0]
        vmax = max(vals) if vals else 1
        vmin = min(vals) if vals else 1
        if log:
            lo, hi = math.floor(math.log10(vmin)), math.ceil(math.log10(vmax))
            hi = max(hi, lo + 1)
            scale = lambda v: (math.log10(v) - lo) / (hi - lo) * ph if v > 0 else 0
            ticks = [10 ** e for e in range(lo, hi + 1)]
        else:
            scale = lambda v: v / (vmax * 1.1) * ph
            step = 10 ** len(str(int(vmax * 1.1 / 4) or 1)) / 10
            step = next(s for s in (step, 2 * step, 5 * step, 10 * step) if vmax * 1.1 / s <= 6)
            ticks = [i * step for i in range(int(vmax * 1.1 / step) + 1)]
        base = top + ph
        out.append(f'<line x1="{x0 + 40}" y1="{base}" x2="{x0 + 40 + pw - 40}" y2="{base}" stroke="black"/>')
        out.append(f'<line x1="{x0 + 40}" y1="{top}" x2="{x0 + 40}" y2="{base}" stroke="black"/>')
        for t in ticks:
            y = base - scale(t)
            lab = f"{t:g}"
            out.append(f'<line x1="{x0 + 36}" y1="{y:.1f}" x2="{x0 + pw}" y2="{y:.1f}" stroke="#ddd"/>')
            out.append(f'<text x="{x0 + 34}" y="{y + 4:.1f}" text-anchor="end" font-size="10">{lab}</text>')
        out.append(f'<text x="{x0 + 2}" y="{top - 4}" font-size="10">{unit}{" (log)" if log else ""}</text>')
        gw = (pw - 50) / max(1, len(groups))
        for gi, (glabel, ser) in enumerate(groups):
            bw = (gw - 8) / max(1, len(ser))
            for si, (sname, v, col) in enumerate(ser):
                if v is None:
                    continue
                h = scale(v)
                x = x0 + 46 + gi * gw + si * bw
                out.append(f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{bw - 2:.1f}" height="{h:.1f}" fill="{col}">'
                           f'<title>{sname}: {v:.3g} {unit}</title></rect>')
                lab = f"{v:,.0f}" if v >= 100 else f"{v:.3g}"
                out.append(f'<text x="{x + (bw - 2) / 2:.1f}" y="{base - h - 3:.1f}" text-anchor="middle" '
                           f'font-size="9">{lab}</text>')
            out.append(f'<text x="{x0 + 46 + gi * gw + (gw - 8) / 2:.1f}" y="{base + 14}" text-anchor="middle" '
                       f'font-size="11">{glabel}</text>')

    groups = [(m, [(n, med(seq[n][m]), colors[n]) for n in names]) for m in ("cpu", "wall")]
    panel(10, "Time per container (N x run /bin/true)", [("CPU (user+sys)", groups[0][1]), ("wall", groups[1][1])], "ms")
    lc = R["lifecycle"]
    panel(330, "Peak RSS", [("run (+ container)", [(n, med(seq[n]["maxrss"]), colors[n]) for n in names]),
                            ("create (runtime alone)", [(n, med(lc[n]["rss_create"]) if n in lc else None, colors[n])
                                                        for n in names])], "KiB")
    sizes = [r for r in R["sizes"] if r["installed"]]
    panel(650, "Size with dynamic deps", [("runtimes", [(r["name"], r["total"] / 1024, colors.get(r["name"], "#555"))
                                                        for r in sizes if r["kind"] == "runtime"]),
                                          ("inits", [(r["name"], r["total"] / 1024, colors.get(r["name"], "#555"))
                                                     for r in sizes if r["kind"] == "init"])], "KiB", log=True)
    v2 = R.get("syscalls_v2") or {}
    groups = [("v1 hybrid", [(n, b.syscall_total(n)[0], colors[n]) for n in names])]
    if any(rt in v2 for rt in Bench.V2_RUNTIMES):  # 7b: the same runtimes on the v2 layout
        groups.append(("v2 layout", [(n, b.syscall_total(n.split()[0], "syscalls_v2")[0]
                                      if n.split()[0] in v2 else None, colors[n]) for n in names]))
    panel(970, "Syscalls per run (strace -f)", groups, "calls", log=True)
    # legend
    y = H - 22
    x = 20
    for n in ["floor", "mote", "crun (net)", "runc", "tini-static", "catatonit"]:
        out.append(f'<rect x="{x}" y="{y - 9}" width="10" height="10" fill="{colors[n]}"/>'
                   f'<text x="{x + 14}" y="{y}">{n}</text>')
        x += 20 + 8 * len(n)
    out.append(f'<text x="{W - 10}" y="{y}" text-anchor="end" font-size="10">tests/bench/bench.py; '
               'crun ran via crun_wrap (cost subtracted)</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("n", nargs="?", type=int, default=100, help="containers per runtime per round (default 100)")
    ap.add_argument("--rounds", type=int, default=None, help="rounds (default 5; 1 with --quick)")
    ap.add_argument("--quick", action="store_true", help="1 round, 1 trial per memory level, no profile")
    ap.add_argument("--out", default=os.path.join(HERE, "results"), help="results directory")
    ap.add_argument("--no-install", action="store_true", help="do not apt-get install what is missing")
    ap.add_argument("--no-profile", action="store_true", help="skip strace/callgrind")
    ap.add_argument("--no-vm", action="store_true",
                    help="skip the v2 memory floor in the three VMs (tests/bench/vm_floor.py; minutes under TCG)")
    args = ap.parse_args()
    if args.rounds is None:
        args.rounds = 1 if args.quick else 5
    if os.geteuid() != 0:
        sys.exit("bench: run as root (containers, namespaces, cgroups)")
    args.out = os.path.abspath(args.out)
    os.makedirs(args.out, exist_ok=True)
    ensure_packages(not args.no_install)
    # A child subreaper: what a runtime leaves behind (its container process after create) is ours.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    # SIGTERM (a test's timeout, ^C) still cleans up.
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    b = Bench(args)
    t0 = time.time()
    left = []
    try:
        b.mount_tmpfs()
        b.build_helpers()
        b.build_bundle()
        b.part_sequential()
        b.part_hyperfine()
        b.part_lifecycle()
        b.part_waiting()
        b.part_memory()
        b.part_sizes()
        b.part_syscalls()
        b.part_syscalls_v2()
        b.part_arch_sizes()
        if not (args.quick or args.no_profile):
            b.part_profile()
        md = markdown(b)
        if not (args.quick or args.no_vm):
            # The v1 floor is part 5; the pure-v2 one needs the VMs (one at a time).
            sys.path.insert(0, HERE)
            import vm_floor
            b.results["vm_floor"] = [vm_floor.measure(a) for a in vm_floor.vm.ARCHES]
            md += "\n" + vm_floor.markdown(b.results["vm_floor"])
        svg = svg_chart(b)
    finally:
        left = b.cleanup()
    b.results["meta"] = {"header": b.header_line(), "n": b.n, "rounds": b.rounds, "quick": args.quick,
                         "seconds": round(time.time() - t0, 1), "versions": b.versions(), "notes": b.notes,
                         "residue": left, "state_tmpfs": getattr(b, "tmpfs_line", None)}
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write(md)
    with open(os.path.join(args.out, "chart.svg"), "w") as f:
        f.write(svg)
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(b.results, f, indent=1)
    print(md)
    log(f"done in {time.time() - t0:.0f} s; results in {args.out}")
    if left:
        log("RESIDUE:", *left)
        sys.exit(1)


if __name__ == "__main__":
    main()
