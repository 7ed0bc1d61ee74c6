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
    },
    "aarch64": {
        "triple": "aarch64-unknown-linux-gnu", "deb": "arm64", "qemu": "qemu-system-aarch64",
        "machine": ["-M", "virt", "-cpu", "cortex-a57"], "console": "ttyAMA0",
    },
    # No Debian kernel or busybox for riscv64 in bookworm: the kernel is built from Debian's
    # linux-source-6.1 with qemu/riscv64.config, and the userland is qemu/vmcheck.c.
    "riscv64": {
        "triple": "riscv64gc-unknown-linux-gnu", "deb": None, "qemu": "qemu-system-riscv64",
        "machine": ["-M", "virt"], "console": "ttyS0",
    },
}

# What the image runs: checks in order, a respawning service, then a clean power-off.
INIT_CONF = """\
# mote-init's services in the VM (see init/README.md)
wait    checks  -- /bin/sh /etc/vm-checks.sh
respawn flaky   -- /bin/sh -c 'echo MOTE-VM: flaky ran; exit 1'
once    finish  -- /bin/sh -c 'sleep 3; echo MOTE-VM: powering off; kill -USR2 1'
"""

INIT_CONF_VMCHECK = """\
# the riscv64 image: vmcheck (qemu/vmcheck.c) stands in for busybox
wait    checks  -- /bin/vmcheck checks
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
  mote delete --force ex
fi
# The container's own cgroup at /sys/fs/cgroup: a fresh cgroup2 in its cgroup namespace, its
# directory bound without one (it prints: memory.max, processes, child cgroups, writable).
if [ -d /bundles/view ]; then
  mote run --bundle /bundles/view view
  mote run --bundle /bundles/view-nons view-nons
fi
for lim in 1048576 262144 256000 163840 131072 98304 65536; do
  ok=0
  for i in 1 2 3 4 5; do
    sed "s/MOTELIM/$lim/" /bundles/floor.json > /bundles/floor/config.json
    mote run --bundle /bundles/floor floor$i && ok=$((ok+1))
  done
  echo "MOTE-VM: limit $lim ok $ok/5"
done
"""


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
    (cached; rebuilt when the fragment changes). About 10 minutes on two cores, once."""
    cache = os.path.join(CACHE, "riscv64")
    image_path = os.path.join(cache, "Image")
    frag = os.path.join(ROOT, "qemu", "riscv64.config")
    stamp = os.path.join(cache, "Image.config")
    if os.path.exists(image_path) and os.path.exists(stamp) and open(stamp).read() == open(frag).read():
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
    sh(*make, "Image", env=env)
    shutil.copy(os.path.join(src, "arch", "riscv", "boot", "Image"), image_path)
    shutil.copy(frag, stamp)
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


def vmcheck():
    """qemu/vmcheck.c built static for riscv64 (the riscv64 image's whole userland)."""
    out = os.path.join(CACHE, "riscv64", "vmcheck")
    sh("riscv64-linux-gnu-gcc", "-static", "-Os", "-s", "-o", out, os.path.join(ROOT, "qemu", "vmcheck.c"))
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


def image(arch):
    """Builds the initramfs (gzip'd newc cpio) for `arch`; returns its path."""
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
        with open(os.path.join(r, "etc", "mote-init.conf"), "w") as f:
            f.write(INIT_CONF if bb else INIT_CONF_VMCHECK)
        with open(os.path.join(r, "etc", "vm-checks.sh"), "w") as f:
            f.write(CHECKS)
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
            with open(os.path.join(b, "view-nons", "config.json"), "w") as f:
                json.dump(v, f)
        c = bundle(os.path.join(b, "floor"), true, {"memory": {"limit": 0}}, bb, applets, spec_json)
        c["linux"]["resources"]["memory"]["limit"] = "MOTELIM"
        with open(os.path.join(b, "floor.json"), "w") as f:
            f.write(json.dumps(c).replace('"MOTELIM"', "MOTELIM"))
        out = os.path.join(CACHE, arch, "initramfs.cpio.gz")
        os.makedirs(os.path.dirname(out), exist_ok=True)
        files = subprocess.run(["find", "."], cwd=r, capture_output=True, check=True).stdout
        cpio = subprocess.run(["cpio", "-o", "-H", "newc", "--quiet", "-R", "0:0"], cwd=r, input=files,
                              capture_output=True, check=True).stdout
        with gzip.open(out, "wb", compresslevel=6) as f:
            f.write(cpio)
    return out


def boot(arch, timeout):
    """Boots the image; streams the console; returns (console text, seconds to first container)."""
    a = ARCHES[arch]
    k, initrd = kernel(arch), image(arch)
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
                print(text, flush=True)
                if first is None and "MOTE-VM: small exit" in text:
                    first = time.time() - start
        rest = p.stdout.read() or b""
        for line in (buf + rest).decode(errors="replace").splitlines():
            lines.append(line)
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
    o = ap.parse_args()
    if o.what == "kernel":
        print(kernel(o.arch))
    elif o.what == "image":
        print(image(o.arch))
    else:
        text, first, code = boot(o.arch, o.timeout)
        print(f"MOTE-VM-HOST: boot to first container: {first:.1f}s" if first else "MOTE-VM-HOST: no container ran")
        return 0 if "powering off" in text and "poweroff now" in text and "timeout" not in text.split("\n")[-1] else 1


if __name__ == "__main__":
    sys.exit(main())
