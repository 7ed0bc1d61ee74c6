#!/usr/bin/env python3
"""Boots a tiny image under qemu-system: mote-init as /init (system mode), mote, busybox, and
OCI bundles that mote runs as services, on a pure cgroup v2 kernel.

    qemu/vm.py boot ARCH [--timeout S]   fetch the kernel (cached), build the image, boot, print
                                         the console; exit 0 when the image powered off cleanly
    qemu/vm.py kernel ARCH               only fetch the kernel
    qemu/vm.py image ARCH                only build the initramfs

Kernels and busybox come from Debian's packages (apt-get download), extracted under
~/.cache/mote/vm/ARCH: never into the repository. Console lines starting with "MOTE-VM:" are the
markers the tests read."""
import argparse
import glob
import gzip
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.path.join(os.path.expanduser("~"), ".cache", "mote", "vm")

ARCHES = {
    "x86_64": {
        "triple": "x86_64-unknown-linux-gnu", "deb": "amd64", "qemu": "qemu-system-x86_64",
        "machine": ["-M", "pc", "-cpu", "qemu64"], "console": "ttyS0",
        "hugepages": ["2MB"],  # qemu64 has no pdpe1gb: no 1GB pages
    },
    "aarch64": {
        "triple": "aarch64-unknown-linux-gnu", "deb": "arm64", "qemu": "qemu-system-aarch64",
        "machine": ["-M", "virt", "-cpu", "cortex-a57"], "console": "ttyAMA0",
        "hugepages": ["64KB", "2MB", "32MB", "1GB"],  # 4K pages: contiguous PTEs, PMD, contiguous PMDs, PUD
    },
    # No Debian kernel or busybox for riscv64 in bookworm: the kernel is built from Debian's
    # linux-source-6.1 with qemu/riscv64.config, and the userland is qemu/vmcheck.c.
    "riscv64": {
        "triple": "riscv64gc-unknown-linux-gnu", "deb": None, "qemu": "qemu-system-riscv64",
        "machine": ["-M", "virt"], "console": "ttyS0",
        "hugepages": ["2MB"],  # 6.1: 1GB only with CONFIG_CONTIG_ALLOC, 64KB (Svnapot) from 6.4
    },
}

# What the image runs: checks in order, a respawning service, then a clean power-off.
INIT_CONF = """\
# mote-init's services in the VM (see init/README.md)
wait    checks  -- /bin/sh /etc/vm-checks.sh
oci     ocisvc  bundle=/bundles/small
respawn flaky   -- /bin/sh -c 'echo MOTE-VM: flaky ran; exit 1'
once    finish  -- /bin/sh -c 'sleep 3; echo MOTE-VM: powering off; kill -USR2 1'
"""

INIT_CONF_VMCHECK = """\
# the riscv64 image: vmcheck (qemu/vmcheck.c) stands in for busybox
wait    checks  -- /bin/vmcheck checks
oci     ocisvc  bundle=/bundles/small
respawn flaky   -- /bin/vmcheck flaky
once    finish  -- /bin/vmcheck finish
"""

CHECKS = """\
#!/bin/sh
echo "MOTE-VM: booted; controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
echo "MOTE-VM: mote $(mote --version | head -1)"
mote run --bundle /bundles/small small
echo "MOTE-VM: small exit $?"
mote create --bundle /bundles/small small2 </dev/null >/dev/null 2>&1
echo "MOTE-VM: small memory.max $(cat /sys/fs/cgroup/mote/small2/memory.max) pids.max $(cat /sys/fs/cgroup/mote/small2/pids.max)"
mote delete --force small2
mote run --bundle /bundles/oom oom
echo "MOTE-VM: oom exit $?"
if [ -d /bundles/sleeper ]; then
  mote run -d --bundle /bundles/sleeper ex </dev/null >/dev/null 2>&1
  mote exec -d --pid-file /ex.pid ex sleep 20 </dev/null >/dev/null 2>&1
  echo "MOTE-VM: exec rc $? cgroup $(cat /proc/$(cat /ex.pid)/cgroup) in $(cat /sys/fs/cgroup/mote/ex/cgroup.procs | wc -l)"
  # pause and resume on v2's cgroup.freeze; `state` says what was asked (cgroup.freeze)
  mote pause ex; a=$(mote state ex | grep -o '"status": *"[a-z]*"' | grep -o '[a-z]*"$')
  f=$(cat /sys/fs/cgroup/mote/ex/cgroup.freeze)
  mote resume ex; b=$(mote state ex | grep -o '"status": *"[a-z]*"' | grep -o '[a-z]*"$')
  echo "MOTE-VM: pause $a $f resume $b"
  mote delete --force ex
fi
# The container's own cgroup at /sys/fs/cgroup: a fresh cgroup2 in its cgroup namespace, its
# directory bound without one (it prints: memory.max, processes, child cgroups, writable).
if [ -d /bundles/view ]; then
  mote run --bundle /bundles/view view
  mote run --bundle /bundles/view-nons view-nons
fi
for lim in 262144 163840 131072; do  # a quick check; `--floor 10` (./x bench) finds the floor
  ok=0
  for i in 1 2 3 4 5; do
    sed "s/MOTELIM/$lim/" /bundles/floor.json > /bundles/floor/config.json
    mote run --bundle /bundles/floor floor$i && ok=$((ok+1))
  done
  echo "MOTE-VM: limit $lim ok $ok/5"
done
. /etc/vm-script.sh
"""


# --- linux.resources in the guest: every field written, each cgroup file read back -------------
# The io fields need a block device: null_blk (built in on riscv64, a module of Debian's kernels,
# loaded from the image). Its numbers are known only in the guest: the configs carry these
# placeholders, which the guest replaces ("sub" steps) and prints ("MOTE-VM: dev MAJ:MIN").
MAJ, MIN = 987654321, 987654322
NULLB = "/sys/block/nullb0/dev"
CG = "/sys/fs/cgroup/mote"


def page_bytes(size):
    """"2MB" -> 2097152: the hugetlb controller's names (KB, MB, GB)."""
    return int(size[:-2]) << {"KB": 10, "MB": 20, "GB": 30}[size[-2:]]


def full_resources(arch):
    """Every linux.resources field mote applies on cgroup v2, with values whose files can be
    told apart. (v1-only fields are in REFUSED: mote refuses them on v2, naming them.)"""
    dev = {"major": MAJ, "minor": MIN}
    return {
        "memory": {"limit": 64 << 20, "reservation": 32 << 20, "swap": 96 << 20, "useHierarchy": True},
        "cpu": {"shares": 1024, "quota": 50000, "period": 100000, "burst": 20000, "cpus": "0", "mems": "0", "idle": 0},
        "blockIO": {"weight": 500, "weightDevice": [dict(dev, weight=200)],
                    "throttleReadBpsDevice": [dict(dev, rate=1 << 20)], "throttleWriteBpsDevice": [dict(dev, rate=2 << 20)],
                    "throttleReadIOPSDevice": [dict(dev, rate=1000)], "throttleWriteIOPSDevice": [dict(dev, rate=2000)]},
        "hugepageLimits": [{"pageSize": sz, "limit": 2 * page_bytes(sz)} for sz in ARCHES[arch]["hugepages"]],
        "pids": {"limit": 10},
        "unified": {"memory.high": str(48 << 20), "memory.oom.group": "1"},
        "devices": [{"allow": False, "access": "rwm"}, {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"}],
    }


def weight(shares):
    """runc's and crun's cpu.shares -> cpu.weight: [2, 262144] onto [1, 10000]."""
    return 1 + (min(max(shares, 2), 262144) - 2) * 9999 // 262142


def io_weight(w):
    """runc's and crun's blkio.weight -> io.weight: [10, 1000] onto [1, 10000]."""
    return 1 + (min(max(w, 10), 1000) - 10) * 9999 // 990


D = f"{MAJ}:{MIN}"


def expected_files(arch):
    """The content of each file of the container's cgroup after create with full_resources
    (lines joined by '|'; the device placeholders as in the config)."""
    e = {
        "memory.max": str(64 << 20), "memory.low": str(32 << 20), "memory.swap.max": str(32 << 20),
        "memory.high": str(48 << 20), "memory.oom.group": "1",
        "cpu.weight": str(weight(1024)), "cpu.max": "50000 100000", "cpu.max.burst": "20000", "cpu.idle": "0",
        "cpuset.cpus": "0", "cpuset.mems": "0",
        "io.weight": f"default {io_weight(500)}|{D} {io_weight(200)}",
        "io.max": f"{D} rbps={1 << 20} wbps={2 << 20} riops=1000 wiops=2000",
        "pids.max": "10",
    }
    for sz in ARCHES[arch]["hugepages"]:
        e[f"hugetlb.{sz}.max"] = e[f"hugetlb.{sz}.rsvd.max"] = str(2 * page_bytes(sz))
    return e


# `mote update` by flags, then by a resources file, and what each leaves in the files.
UPDATE_FLAGS = ["--memory", "32m", "--memory-swap", "48m", "--memory-reservation", "16m", "--cpu-share", "2048",
                "--cpu-quota", "20000", "--cpu-period", "50000", "--cpu-burst", "5000", "--pids-limit", "5",
                "--blkio-weight", "1000", "--cpuset-cpus", "0", "--cpuset-mems", "0"]
UPDATED_FLAGS = {"memory.max": str(32 << 20), "memory.swap.max": str(16 << 20), "memory.low": str(16 << 20),
                 "cpu.weight": str(weight(2048)), "cpu.max": "20000 50000", "cpu.max.burst": "5000", "pids.max": "5",
                 "io.weight": f"default {io_weight(1000)}|{D} {io_weight(200)}", "cpuset.cpus": "0", "cpuset.mems": "0"}


def update_file(arch):
    dev = {"major": MAJ, "minor": MIN}
    sz = ARCHES[arch]["hugepages"][0]
    return {"memory": {"limit": -1, "swap": -1, "reservation": -1}, "cpu": {"quota": -1, "period": 200000, "idle": 1},
            "pids": {"limit": -1}, "blockIO": {"weightDevice": [dict(dev, weight=300)],
                                               "throttleReadBpsDevice": [dict(dev, rate=4096)],
                                               "throttleWriteIOPSDevice": [dict(dev, rate=7)]},
            "hugepageLimits": [{"pageSize": sz, "limit": page_bytes(sz)}], "unified": {"memory.high": "max"}}


def updated_file(arch):
    sz = ARCHES[arch]["hugepages"][0]
    return {"memory.max": "max", "memory.swap.max": "max", "memory.low": "max", "cpu.max": "max 200000",
            "cpu.idle": "1", "pids.max": "max", "io.weight": f"default {io_weight(1000)}|{D} {io_weight(300)}", "io.max": f"{D} rbps=4096 wbps={2 << 20} riops=1000 wiops=7",
            f"hugetlb.{sz}.max": str(page_bytes(sz)), "memory.high": "max"}


# Fields mote refuses on v2 (no kernel-defined conversion), and bad ones: (resources, words the
# error must have). Each must fail create with nothing left behind.
def refused(arch):
    dev = {"major": MAJ, "minor": MIN}
    return {
        "kernel": ({"memory": {"kernel": 1 << 20}}, ["memory.kernel", "no cgroup v2 equivalent"]),
        "kerneltcp": ({"memory": {"kernelTCP": 1 << 20}}, ["memory.kernel", "no cgroup v2 equivalent"]),
        "swappiness": ({"memory": {"swappiness": 10}}, ["memory.swappiness", "no cgroup v2 equivalent"]),
        "oomkiller": ({"memory": {"disableOOMKiller": True}}, ["memory.disableOOMKiller", "no cgroup v2 equivalent"]),
        "rtruntime": ({"cpu": {"realtimeRuntime": 1000}}, ["cpu.realtimeRuntime", "no cgroup v2 equivalent"]),
        "rtperiod": ({"cpu": {"realtimePeriod": 100000}}, ["cpu.realtimePeriod", "no cgroup v2 equivalent"]),
        "classid": ({"network": {"classID": 7}}, ["linux.resources.network", "v1 only"]),
        "prio": ({"network": {"priorities": [{"name": "lo", "priority": 1}]}}, ["linux.resources.network", "v1 only"]),
        "swapbelow": ({"memory": {"limit": 64 << 20, "swap": 32 << 20}}, ["memory.swap", "at least memory.limit"]),
        # CFQ's leaf weights: no v2 file, and no per-device file on any kernel since 5.0
        "leafweight": ({"blockIO": {"leafWeight": 300}}, ["blockIO.leafWeight", "no cgroup v2 equivalent"]),
        "leafweight-dev": ({"blockIO": {"weightDevice": [dict(dev, weight=200, leafWeight=100)]}},
                           ["weightDevice[0].leafWeight", "CFQ"]),
        # hugepageLimits' pageSize: the kernel's names only ("2MB"); no path, nothing empty
        "page-empty": ({"hugepageLimits": [{"pageSize": "", "limit": 1}]}, ["pageSize", "missing or invalid"]),
        "page-slash": ({"hugepageLimits": [{"pageSize": "../2MB", "limit": 1}]}, ["pageSize", "missing or invalid"]),
        "page-none": ({"hugepageLimits": [{"limit": 1}]}, ["pageSize", "missing or invalid"]),
        "page-3MB": ({"hugepageLimits": [{"pageSize": "3MB", "limit": 1}]}, ["3MB"]),
        "page-MiB": ({"hugepageLimits": [{"pageSize": "2MiB", "limit": 1}]}, ["2MiB"]),
        "page-int": ({"hugepageLimits": [{"pageSize": 2097152, "limit": 1}]}, ["pageSize", "string"]),
        # rdma: the kernel takes only a device it has; there is none in the VM (no HCA, no
        # rdma_rxe without a network device), so the line reaches the kernel and is refused
        "rdma": ({"rdma": {"mlx5_0": {"hcaHandles": 3, "hcaObjects": 100}}}, ["rdma.max", "mlx5_0 hca_handle=3 hca_object=100"]),
        "io-nodev": ({"blockIO": {"throttleReadBpsDevice": [{"major": 4000, "minor": 0, "rate": 1}]}}, ["io.max", "4000:0"]),
        "unified-path": ({"unified": {"../cgroup.procs": "1"}}, ["unified", "invalid key ../cgroup.procs"]),
    }


FLOOR_LIMITS = [262144, 229376, 196608, 163840, 147456, 131072, 122880, 114688, 106496, 98304, 90112, 81920,
                73728, 65536, 57344, 49152, 40960, 32768, 24576, 16384]
# The floor's payloads: busybox's `true` (vmcheck's on riscv64) and a one-page static `true`
# (tests/bench/static_true.c), each a template of the floor bundle's config; the floor lines name it.
FLOOR_PAYLOADS = {"busybox": "/bundles/floor.json", "static": "/bundles/floor-static.json"}


# memory.stat keys reported for the charge of one run (tests/bench/vm_floor.py, test_vm.py)
CHARGE_KEYS = ["anon", "file", "kernel", "kernel_stack", "pagetables", "percpu", "sock", "shmem", "file_mapped",
               "slab_reclaimable", "slab_unreclaimable"]


def charge_steps(flush=True):
    """A /bin/true run kept (--keep) in an unconstrained cgroup: what is charged to it."""
    st = [("run", "keep", "/bin/mote", "run", "--keep", "--bundle", "/bundles/charge", "charge")]
    # memory.peak and memory.current count the per-CPU charge stock (64 pages at a time);
    # memory.stat is exact, but only once flushed: the kernel's periodic flush runs every 2 s.
    st += [("cat", f"{CG}/charge/{f}") for f in ("memory.peak", "memory.current")] + ([("sleep", "3")] if flush else [])
    st += [("cat", f"{CG}/charge/{f}") for f in ("memory.current", "memory.stat", "memory.events")]
    return st + [("run", "keep-delete", "/bin/mote", "delete", "--force", "charge")]


def resource_steps(arch, bb):
    m = "/bin/mote"
    st = [("insmod", "/lib/modules/configfs.ko"), ("insmod", "/lib/modules/null_blk.ko")] if bb else []
    st += [("dev", NULLB), ("put", "/sys/fs/cgroup/io.cost.qos", f"{D} enable=1"),
           ("ls", "/sys/kernel/mm/hugepages"), ("cat", "/sys/fs/cgroup/cgroup.controllers"),
           ("sub", "/bundles/res/config.tmpl", "/bundles/res/config.json"),
           ("run", "create", m, "create", "--bundle", "/bundles/res", "res")]
    files = sorted(set(expected_files(arch)) | set(UPDATED_FLAGS) | set(updated_file(arch)))
    st += [("cat", f"{CG}/res/{f}") for f in files]
    st += [("run", "update-flags", m, "update", *UPDATE_FLAGS, "res")]
    st += [("cat", f"{CG}/res/{f}") for f in files]
    st += [("sub", "/bundles/res/update.tmpl", "/tmp/update.json"), ("run", "update-file", m, "update", "-r", "/tmp/update.json", "res")]
    st += [("cat", f"{CG}/res/{f}") for f in files]
    # checkBeforeUpdate: a limit below what the container uses is refused (started: a created
    # container's process may have charged nothing since it joined)
    st += [("run", "start", m, "start", "res"), ("cat", f"{CG}/res/memory.current"),
           ("run", "update-check", m, "update", "-r", "/bundles/res/check.json", "res"), ("cat", f"{CG}/res/memory.max")]
    st += [("run", "delete", m, "delete", "--force", "res"), ("cat", f"{CG}/res/cgroup.procs")]
    # hugepageLimits enforced: 4 pages of 2MB reserved in the pool, two touched in a container
    # limited to two, then to one (the second fault is SIGBUS: 135)
    st += [("put", "/proc/sys/vm/nr_hugepages", "4"), ("cat", "/proc/sys/vm/nr_hugepages"),
           ("run", "huge-ok", m, "run", "--bundle", "/bundles/huge-ok", "huge-ok"),
           ("run", "huge-over", m, "run", "--bundle", "/bundles/huge-over", "huge-over"),
           ("put", "/proc/sys/vm/nr_hugepages", "0"),
           ("run", "devices-deny", m, "run", "--bundle", "/bundles/devices-deny", "devices-deny"),
           ("run", "devices-allow", m, "run", "--bundle", "/bundles/devices-allow", "devices-allow")]
    for tag in refused(arch):
        st += [("sub", f"/bundles/refuse-{tag}/config.tmpl", f"/bundles/refuse-{tag}/config.json"),
               ("run", f"refuse-{tag}", m, "run", "--bundle", f"/bundles/refuse-{tag}", f"refuse-{tag}"),
               ("cat", f"{CG}/refuse-{tag}/cgroup.procs")]
    return st + charge_steps(flush=False) + [("ls", "/run/mote")]


def hold_steps():
    """What a container holds while alive (memory.stat after the 2 s flush): created (mote's own
    charge after the join, the process waiting for start), then running busybox's sleep."""
    m, st = "/bin/mote", []
    for tag, argv in (("created", (m, "create", "--bundle", "/bundles/hold", "hold")), ("running", (m, "start", "hold"))):
        st += [("run", f"hold-{tag}", *argv), ("sleep", "3")]
        st += [("cat", f"{CG}/hold/{f}") for f in ("memory.current", "memory.peak", "memory.stat")]
    return st + [("run", "hold-delete", m, "delete", "--force", "hold")]


def floor_steps(runs):
    st = [("floor", tmpl, str(runs), *map(str, FLOOR_LIMITS)) for tmpl in FLOOR_PAYLOADS.values()]
    return st + charge_steps() + hold_steps()


SH_HEAD = r"""
# Steps from qemu/vm.py (render_sh); vmcheck.c's `script` runs the same ones on riscv64.
show() {  # MOTE-VM: <head><the file's lines joined by |, mote's "mote: error: " cut>
  if [ -e "$2" ]; then echo "MOTE-VM: $1$(sed 's/^mote: error: //' "$2" | tr '\n' '|' | sed 's/|$//')"
  else echo "MOTE-VM: $1(unreadable)"; fi
}
subst() { sed "s/%d/$MAJ/g; s/%d/$MIN/g"; }
MAJ=0; MIN=0
""" % (MAJ, MIN)


def render_sh(steps):
    """The steps as a busybox shell script."""
    import shlex
    q = shlex.quote
    out = [SH_HEAD]
    for op, *a in steps:
        if op == "insmod":
            out.append(f"insmod {q(a[0])} || echo 'MOTE-VM: insmod {a[0]} failed'")
        elif op == "dev":
            out.append(f"DEV=$(cat {q(a[0])}); MAJ=${{DEV%%:*}}; MIN=${{DEV##*:}}; echo \"MOTE-VM: dev $MAJ:$MIN\"")
        elif op == "cat":
            out.append(f"show {q('file ' + a[0] + ' = ')} {q(a[0])}")
        elif op == "ls":
            out.append(f"echo \"MOTE-VM: ls {a[0]} =$(ls {q(a[0])} 2>/dev/null | tr '\\n' ' ' | sed 's/^/ /; s/ $//')\"")
        elif op == "put":
            out.append(f"printf '%s' {q(a[1])} | subst > {q(a[0])} || echo 'MOTE-VM: put {a[0]} failed'")
        elif op == "sub":
            out.append(f"subst < {q(a[0])} > {q(a[1])}")
        elif op == "run":
            out.append(f"{' '.join(map(q, a[1:]))} </dev/null >/tmp/run-{a[0]}.out 2>&1; "
                       f"rc=$?; show \"rc {a[0]} $rc \" /tmp/run-{a[0]}.out")
        elif op == "sleep":
            out.append(f"sleep {int(a[0])}")
        elif op == "floor":
            tmpl, runs, limits = a[0], int(a[1]), " ".join(a[2:])
            out.append(f"""fails=0
for lim in {limits}; do
  [ $fails -ge 2 ] && break
  sed "s/MOTELIM/$lim/" {tmpl} > /bundles/floor/config.json
  ok=0; i=0
  while [ $i -lt {runs} ]; do
    i=$((i+1)); mote run --bundle /bundles/floor fl$lim-$i </dev/null >/dev/null 2>&1 && ok=$((ok+1))
  done
  echo "MOTE-VM: floor $lim ok $ok/{runs} {tmpl}"
  if [ $ok -lt {runs} ]; then fails=$((fails+1)); else fails=0; fi
done""")
        else:
            raise ValueError(op)
    return "\n".join(out) + "\n"


def render_txt(steps):
    """The steps for vmcheck's `script` (tab-separated fields, one step a line)."""
    for st in steps:
        assert not any("\t" in x or "\n" in x for x in st), st
    return "".join("\t".join(st) + "\n" for st in steps)


def sh(*argv, **kw):
    return subprocess.run(argv, check=True, **kw)


def deb_fetch(pkg, dest):
    """Downloads Debian package `pkg` (name[:arch]) and extracts it into dest; returns dest."""
    os.makedirs(dest, exist_ok=True)
    with tempfile.TemporaryDirectory() as t:
        sh("apt-get", "download", "-qq", pkg, cwd=t)
        deb = glob.glob(os.path.join(t, "*.deb"))[0]
        sh("dpkg-deb", "-x", deb, dest)
    return dest


def ensure_foreign(deb):
    if deb == "amd64":
        return
    have = subprocess.run(["dpkg", "--print-foreign-architectures"], capture_output=True, text=True).stdout.split()
    if deb not in have:
        sh("dpkg", "--add-architecture", deb)
        sh("apt-get", "update", "-qq")


def riscv_kernel():
    """arch/riscv/boot/Image built from Debian's linux-source-6.1: tinyconfig + qemu/riscv64.config
    (cached per fragment). About 10 minutes on two cores, once."""
    cache = os.path.join(CACHE, "riscv64")
    frag = os.path.join(ROOT, "qemu", "riscv64.config")
    # One cached Image per fragment (named by the hash of its settings, comments aside):
    # checkouts with different fragments sharing the cache do not rebuild each other's kernel.
    settings = [l.strip() for l in open(frag) if l.strip() and not l.lstrip().startswith("#")]
    tag = hashlib.sha256("\n".join(settings).encode()).hexdigest()[:12]
    image_path = os.path.join(cache, "Image-" + tag)
    if os.path.exists(image_path):
        return image_path
    tarballs = glob.glob("/usr/src/linux-source-6.1.tar.*")
    if not tarballs:
        sys.exit("linux-source-6.1 is missing: ./x setup installs it")
    src = os.path.join(cache, "linux-source-6.1")
    if not os.path.isdir(src):
        os.makedirs(cache, exist_ok=True)
        sh("tar", "-xf", tarballs[0], "-C", cache)
    env = dict(os.environ, ARCH="riscv", CROSS_COMPILE="riscv64-linux-gnu-")
    make = ["make", "-s", "-C", src, f"-j{os.cpu_count() or 2}"]
    sh(*make, "tinyconfig", env=env)
    sh(os.path.join(src, "scripts", "kconfig", "merge_config.sh"), "-m", "-O", src,
       os.path.join(src, ".config"), frag, env=env, stdout=subprocess.DEVNULL)
    sh(*make, "olddefconfig", env=env)
    # olddefconfig silently drops a setting whose dependencies are off (CPUSETS without SMP did):
    # every setting of the fragment must be in the final .config.
    final = {}
    for line in open(os.path.join(src, ".config")):
        line = line.strip()
        if line.startswith("CONFIG_"):
            k, v = line.split("=", 1)
            final[k] = v
    dropped = [f"{k}={v}" for k, v in (l.split("=", 1) for l in settings) if final.get(k, "n") != v]
    if dropped:
        sys.exit("qemu/riscv64.config: settings the kernel's Kconfig dropped (a dependency is off or the "
                 "symbol does not exist in 6.1): " + ", ".join(dropped))
    sh(*make, "Image", env=env)
    shutil.copy(os.path.join(src, "arch", "riscv", "boot", "Image"), image_path + ".tmp")
    os.rename(image_path + ".tmp", image_path)
    return image_path


def kernel(arch):
    """The path of a kernel for `arch`: Debian's linux-image package (cached), or for riscv64
    one built from Debian's kernel source."""
    a = ARCHES[arch]
    if arch == "riscv64":
        return riscv_kernel()
    cache = os.path.join(CACHE, arch)
    found = glob.glob(os.path.join(cache, "kernel", "boot", "vmlinuz-*"))
    if found:
        return found[0]
    ensure_foreign(a["deb"])
    meta = "linux-image-" + a["deb"] + ("" if a["deb"] == "amd64" else ":" + a["deb"])
    deps = subprocess.run(["apt-cache", "depends", meta], capture_output=True, text=True, check=True).stdout
    real = [l.split()[-1] for l in deps.splitlines() if "Depends: linux-image-" in l][0]
    if ":" not in real and a["deb"] != "amd64":
        real += ":" + a["deb"]
    deb_fetch(real, os.path.join(cache, "kernel"))
    return glob.glob(os.path.join(cache, "kernel", "boot", "vmlinuz-*"))[0]


def busybox(arch):
    a = ARCHES[arch]
    if a["deb"] is None:
        return None
    if a["deb"] == "amd64":
        return "/bin/busybox"
    path = os.path.join(CACHE, arch, "busybox", "bin", "busybox")
    if not os.path.exists(path):
        ensure_foreign(a["deb"])
        deb_fetch("busybox-static:" + a["deb"], os.path.join(CACHE, arch, "busybox"))
    return path


CC = {"x86_64": "gcc", "aarch64": "aarch64-linux-gnu-gcc", "riscv64": "riscv64-linux-gnu-gcc"}


def vmcheck(arch="riscv64"):
    """qemu/vmcheck.c built static for `arch`: the riscv64 image's whole userland; on the other
    arches only what busybox cannot do (touch huge pages)."""
    out = os.path.join(CACHE, arch, "vmcheck")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    sh(CC[arch], "-static", "-Os", "-s", "-o", out, os.path.join(ROOT, "qemu", "vmcheck.c"))
    return out


def static_true(arch, out):
    """tests/bench/static_true.c built for `arch` at `out`: exit_group(0) in one page, no libc, the
    memory floor's second payload (the VMs' floor step, and tests/bench/bench.py on the host)."""
    sh(CC[arch], "-nostdlib", "-static", "-Os", "-s", "-fno-asynchronous-unwind-tables", "-Wl,--build-id=none",
       "-Wl,-z,noseparate-code", "-o", out, os.path.join(ROOT, "tests", "bench", "static_true.c"))
    return out


def rootfs(d, bb, applets):
    os.makedirs(os.path.join(d, "bin"))
    for x in ("proc", "sys", "dev", "tmp", "etc", "run"):
        os.makedirs(os.path.join(d, x), exist_ok=True)
    if bb is None:
        shutil.copy(vmcheck(), os.path.join(d, "bin", "vmcheck"))
        return
    shutil.copy(bb, os.path.join(d, "bin", "busybox"))
    for a in applets:
        if a != "busybox" and not os.path.exists(os.path.join(d, "bin", a)):
            os.symlink("busybox", os.path.join(d, "bin", a))


def bundle(d, args, resources, bb, applets, spec_json):
    """A bundle at d: mote's default config (from `mote spec`), a busybox rootfs."""
    import json
    c = json.loads(spec_json)
    c["process"]["terminal"] = False
    c["process"]["args"] = args
    c["linux"]["resources"] = resources
    os.makedirs(d)
    rootfs(os.path.join(d, "rootfs"), bb, applets)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(c, f)
    return c


def modules(arch):
    """configfs.ko and null_blk.ko of Debian's kernel (None on riscv64: built in)."""
    if arch == "riscv64":
        return []
    kdir = os.path.dirname(os.path.dirname(kernel(arch)))
    found = [glob.glob(os.path.join(kdir, "lib", "modules", "*", "kernel", "**", n), recursive=True)
             for n in ("configfs.ko", "null_blk.ko")]
    if not all(found):
        sys.exit(f"{arch}: configfs.ko or null_blk.ko missing under {kdir}")
    return [f[0] for f in found]


def config_only(d, args, resources, spec_json, name="config.json"):
    """A bundle of only a config at d, on the small bundle's rootfs (the image stays small)."""
    import json
    c = json.loads(spec_json)
    c["process"]["terminal"] = False
    c["process"]["args"] = args
    c["root"] = {"path": "/bundles/small/rootfs", "readonly": True}
    c["linux"]["resources"] = resources
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "w") as f:
        json.dump(c, f)


def image(arch, mode="checks", runs=10):
    """Builds the initramfs (gzip'd newc cpio) for `arch`; returns its path. mode "checks": the
    tests' image; "floor": only the memory floor search (`runs` runs per limit) and the charge."""
    import json
    a = ARCHES[arch]
    rel = os.path.join(ROOT, "target", a["triple"], "release")
    bb = busybox(arch)
    applets = subprocess.run(["/bin/busybox", "--list"], capture_output=True, text=True, check=True).stdout.split()
    with tempfile.TemporaryDirectory() as t:
        spec_dir = os.path.join(t, "spec")
        os.makedirs(spec_dir)
        sh(os.path.join(ROOT, "target", "x86_64-unknown-linux-gnu", "release", "mote"), "spec", "--bundle", spec_dir)
        spec_json = open(os.path.join(spec_dir, "config.json")).read()
        r = os.path.join(t, "root")
        rootfs(r, bb, applets)
        shutil.copy(os.path.join(rel, "mote-init"), os.path.join(r, "init"))
        shutil.copy(os.path.join(rel, "mote"), os.path.join(r, "bin", "mote"))
        conf = INIT_CONF if bb else INIT_CONF_VMCHECK
        steps = resource_steps(arch, bb) if mode == "checks" else floor_steps(runs)
        if mode == "floor":
            conf = conf.replace("/bin/sh /etc/vm-checks.sh", "/bin/sh /etc/vm-script.sh")
            conf = conf.replace("/bin/vmcheck checks", "/bin/vmcheck script /etc/vm-script.txt")
        with open(os.path.join(r, "etc", "mote-init.conf"), "w") as f:
            f.write(conf)
        with open(os.path.join(r, "etc", "vm-checks.sh"), "w") as f:
            f.write(CHECKS)
        with open(os.path.join(r, "etc", "vm-script.sh"), "w") as f:
            f.write(render_sh(steps))
        with open(os.path.join(r, "etc", "vm-script.txt"), "w") as f:
            f.write(render_txt(steps))
        os.makedirs(os.path.join(r, "lib", "modules"))
        for m in modules(arch):
            shutil.copy(m, os.path.join(r, "lib", "modules"))
        with open(os.path.join(r, "etc", "hostname"), "w") as f:
            f.write("mote-vm\n")
        b = os.path.join(r, "bundles")
        # The seed's claim: a container under 250K of memory and a pids limit of 1, to completion.
        true = ["/bin/true"] if bb else ["/bin/vmcheck", "true"]
        hog = ["dd", "if=/dev/zero", "of=/dev/null", "bs=32M", "count=1"] if bb else ["/bin/vmcheck", "hog"]
        bundle(os.path.join(b, "small"), true, {"memory": {"limit": 256000}, "pids": {"limit": 1}}, bb, applets, spec_json)
        # Killed by the OOM killer, and reported as 137.
        bundle(os.path.join(b, "oom"), hog, {"memory": {"limit": 4 << 20, "swap": 4 << 20}}, bb, applets, spec_json)
        if bb:  # exec under pure v2 (born in the cgroup: CLONE_INTO_CGROUP)
            bundle(os.path.join(b, "sleeper"), ["sleep", "60"], {}, bb, applets, spec_json)
        if bb:  # the view of its own cgroup, with and without a cgroup namespace
            look = ("echo MOTE-VM: view $0 $(cat /sys/fs/cgroup/memory.max) $(cat /sys/fs/cgroup/cgroup.procs | wc -l) "
                    "$(ls -d /sys/fs/cgroup/*/ 2>/dev/null | wc -l) $(mkdir /sys/fs/cgroup/x 2>/dev/null && echo rw || echo ro)")
            bundle(os.path.join(b, "view"), ["sh", "-c", look, "ns"], {"memory": {"limit": 8 << 20}}, bb, applets, spec_json)
            v = bundle(os.path.join(b, "view-nons"), ["sh", "-c", look, "nons"], {"memory": {"limit": 8 << 20}}, bb,
                       applets, spec_json)
            v["linux"]["namespaces"] = [n for n in v["linux"]["namespaces"] if n["type"] != "cgroup"]
            # Its directory bound: read-only by the recursive attribute alone (rro, not ro).
            for m in v["mounts"]:
                if m["type"] == "cgroup":
                    m["options"] = ["rro" if o == "ro" else o for o in m["options"]]
            with open(os.path.join(b, "view-nons", "config.json"), "w") as f:
                json.dump(v, f)
        c = bundle(os.path.join(b, "floor"), true, {"memory": {"limit": 0}}, bb, applets, spec_json)
        c["linux"]["resources"]["memory"]["limit"] = "MOTELIM"
        static_true(arch, os.path.join(b, "floor", "rootfs", "bin", "static-true"))
        for tmpl, args in ((FLOOR_PAYLOADS["busybox"], true), (FLOOR_PAYLOADS["static"], ["/bin/static-true"])):
            c["process"]["args"] = args
            with open(os.path.join(r, tmpl.lstrip("/")), "w") as f:
                f.write(json.dumps(c).replace('"MOTELIM"', "MOTELIM"))
        # linux.resources: the full config, update's file, checkBeforeUpdate's, the refusals
        # (configs only, on the small bundle's rootfs) and the charge of one /bin/true run.
        sleep = ["sleep", "60"] if bb else ["/bin/vmcheck", "sleep", "60"]
        config_only(os.path.join(b, "res"), sleep, full_resources(arch), spec_json, "config.tmpl")
        with open(os.path.join(b, "res", "update.tmpl"), "w") as f:
            json.dump(update_file(arch), f)
        with open(os.path.join(b, "res", "check.json"), "w") as f:
            json.dump({"memory": {"limit": 4096, "checkBeforeUpdate": True}}, f)
        for tag, (res, _) in refused(arch).items():
            config_only(os.path.join(b, "refuse-" + tag), true, res, spec_json, "config.tmpl")
        config_only(os.path.join(b, "charge"), true, {"memory": {"limit": 8 << 20}}, spec_json)
        config_only(os.path.join(b, "hold"), sleep, {"memory": {"limit": 8 << 20}}, spec_json)
        # hugepageLimits enforced: two 2MB pages touched under a limit of two, then of one
        if bb:
            shutil.copy(vmcheck(arch), os.path.join(b, "small", "rootfs", "bin", "vmcheck"))
        # linux.resources.devices on v2 (mote's eBPF program): a node of 60:0 (a major for local
        # use: no driver, no capability check) made in the container (linux.devices), opened under
        # deny-all, then with 60:0 allowed for reading (the runtime's default devices, /dev/null
        # and the like, are allowed in both)
        for tag, extra in (("deny", []), ("allow", [{"allow": True, "type": "c", "major": 60, "minor": 0, "access": "r"}])):
            config_only(os.path.join(b, "devices-" + tag), ["/bin/vmcheck", "open", "/dev/null", "/dev/xdev"],
                        {"devices": [{"allow": False, "access": "rwm"}] + extra}, spec_json)
            p = os.path.join(b, "devices-" + tag, "config.json")
            c = json.load(open(p))
            c["linux"]["devices"] = [{"path": "/dev/xdev", "type": "c", "major": 60, "minor": 0, "fileMode": 0o600}]
            with open(p, "w") as f:
                json.dump(c, f)
        for tag, pages in (("ok", 2), ("over", 1)):
            config_only(os.path.join(b, "huge-" + tag), ["/bin/vmcheck", "huge", "2"],
                        {"hugepageLimits": [{"pageSize": "2MB", "limit": pages << 21}]}, spec_json)
        out = os.path.join(CACHE, arch, "initramfs.cpio.gz" if mode == "checks" else f"initramfs-{mode}.cpio.gz")
        os.makedirs(os.path.dirname(out), exist_ok=True)
        files = subprocess.run(["find", "."], cwd=r, capture_output=True, check=True).stdout
        cpio = subprocess.run(["cpio", "-o", "-H", "newc", "--quiet", "-R", "0:0"], cwd=r, input=files,
                              capture_output=True, check=True).stdout
        with gzip.open(out, "wb", compresslevel=6) as f:
            f.write(cpio)
    return out


def boot(arch, timeout, mode="checks", runs=10, quiet=False):
    """Boots the image; streams the console; returns (console text, seconds to first container)."""
    a = ARCHES[arch]
    k, initrd = kernel(arch), image(arch, mode, runs)
    argv = [a["qemu"], *a["machine"], "-m", "512", "-smp", "1", "-nographic", "-no-reboot",
            "-kernel", k, "-initrd", initrd,
            "-append", f"console={a['console']} panic=-1 quiet loglevel=3 rdinit=/init"]
    start = time.time()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    lines, first = [], None
    try:
        end = start + timeout
        os.set_blocking(p.stdout.fileno(), False)
        buf = b""
        while p.poll() is None and time.time() < end:
            chunk = p.stdout.read() or b""
            if not chunk:
                time.sleep(0.05)
                continue
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                text = line.decode(errors="replace").rstrip("\r")
                lines.append(text)
                if not quiet:
                    print(text, flush=True)
                if first is None and "MOTE-VM: small exit" in text:
                    first = time.time() - start
        rest = p.stdout.read() or b""
        for line in (buf + rest).decode(errors="replace").splitlines():
            lines.append(line)
            if not quiet:
                print(line, flush=True)
    finally:
        if p.poll() is None:
            p.kill()
            lines.append("MOTE-VM-HOST: timeout, qemu killed")
        p.wait()
    return "\n".join(lines), first, p.returncode


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["boot", "kernel", "image"])
    ap.add_argument("arch", choices=list(ARCHES))
    ap.add_argument("--timeout", type=float, default=240)
    ap.add_argument("--floor", type=int, metavar="RUNS", help="boot the memory floor image: RUNS runs per limit")
    o = ap.parse_args()
    mode, runs = ("floor", o.floor) if o.floor else ("checks", 10)
    if o.what == "kernel":
        print(kernel(o.arch))
    elif o.what == "image":
        print(image(o.arch, mode, runs))
    else:
        text, first, code = boot(o.arch, o.timeout, mode, runs)
        print(f"MOTE-VM-HOST: boot to first container: {first:.1f}s" if first else "MOTE-VM-HOST: no container ran")
        return 0 if "powering off" in text and "poweroff now" in text and "timeout" not in text.split("\n")[-1] else 1


if __name__ == "__main__":
    sys.exit(main())
