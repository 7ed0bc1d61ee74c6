"""A runtime is a security boundary (issue 11): each test tries one escape class or one security
setting through the real binary and checks, from outside, that it fails closed and the host is
untouched. Where runc (installed) behaves right on this host, the same case runs under runc too."""
import errno
import json
import os
import pathlib
import shutil
import stat
import subprocess
import tempfile
import uuid

import pytest

from conftest import TIMEOUT, run, cgroup_dirs, mounts_mentioning

CAPS = ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")


def caps_of(out):
    return {l.split(":")[0]: int(l.split()[1], 16) for l in out.splitlines() if l.startswith(CAPS)}


def config_with(mote, args, **over):
    """A bundle; keys given as None are deleted from the config (after merging the rest)."""
    b = mote.bundle(args)
    p = os.path.join(b, "config.json")
    c = json.load(open(p))
    for k, v in over.items():
        sect, _, key = k.partition("__")
        d = c[sect] if key else c
        key = key or sect
        if v is None:
            d.pop(key, None)
        else:
            d[key] = v
    json.dump(c, open(p, "w"))
    return b


def runc(tmp, bundle, *args):
    """runc run on the same bundle, with a state root of its own."""
    if not shutil.which("runc"):
        pytest.fail("runc is missing: ./x setup installs it")
    root = str(tmp / ("runc-" + uuid.uuid4().hex[:6]))
    cid = "mote-runc-" + uuid.uuid4().hex[:8]
    try:
        return run(["runc", "--root", root, "run", "--bundle", bundle, cid, *args])
    finally:
        run(["runc", "--root", root, "delete", "--force", cid])


def no_residue(mote, cid):
    assert not os.path.exists(os.path.join(mote.root, cid)), "state dir left"
    assert cgroup_dirs(cid) == [], "cgroup left"


def small_rootfs(tmp, name="r"):
    """A writable busybox rootfs of the test's own (the shared fixture stays untouched)."""
    r = tmp / name
    os.makedirs(r / "bin")
    for d in ("sys", "tmp", "etc"):
        os.makedirs(r / d)
    shutil.copy("/bin/busybox", r / "bin" / "busybox")
    for a in ("sh", "cat", "echo", "ls", "grep", "pwd", "id", "true", "chown", "touch", "stat", "readlink", "head"):
        os.symlink("busybox", r / "bin" / a)
    os.chmod(r, 0o755)
    return r


# ---- 1. capabilities: absent or empty sets are empty, unknown names refused ----

@pytest.mark.parametrize("resources", ["absent", "no devices", "empty devices"])
def test_no_device_rules_is_not_every_host_device(native, resources):
    """Without linux.resources.devices (or without linux.resources) a container gets the devices
    every container gets, as with runc, not the host's all (mote applied no rule then, and a v1
    cgroup keeps its parent's "a *:* rwm"): with CAP_MKNOD a node of its own for a host block
    device does not open."""
    if not os.path.exists("/dev/loop0"):
        pytest.fail("/dev/loop0 is missing (loop module): the test needs a host block device")
    os.close(os.open("/dev/loop0", os.O_RDONLY))  # the host can: a denial below is the cgroup's
    caps = ["CAP_MKNOD", "CAP_DAC_OVERRIDE"]
    # (and on v1 the cgroup's own list, through the cgroup namespace: never "a *:* rwm")
    script = "mknod /dev/l b 7 0 && (exec 3</dev/l) 2>/dev/null && echo OPENED || echo DENIED; cat /sys/fs/cgroup/devices/devices.list"
    res = {"absent": None, "no devices": {"pids": {"limit": 100}}, "empty devices": {"devices": []}}[resources]
    b = config_with(native, ["sh", "-c", script],
                    process__capabilities={k: caps for k in ("bounding", "effective", "permitted")},
                    linux__resources=res)
    for p in (runc(native.tmp, b), native("run", "--bundle", b, native.new_id())):
        out = p.stdout.splitlines()
        assert p.returncode == 0 and out[0] == "DENIED" and "c 1:3 rwm" in out and "a *:* rwm" not in out, p.stdout + p.stderr


@pytest.mark.parametrize("caps", [{}, None, {"effective": ["CAP_CHOWN"], "permitted": ["CAP_CHOWN"]}],
                         ids=["empty", "absent", "no-bounding"])
def test_absent_or_empty_capabilities_are_empty(mote, caps):
    b = config_with(mote, ["sh", "-c", "grep Cap /proc/self/status; chown 1 /tmp && echo CHOWNED"],
                    process__capabilities=caps)
    p = mote("run", "--bundle", b, mote.new_id())
    assert p.returncode in (0, 1), p.stderr
    got = caps_of(p.stdout)
    assert got["CapBnd"] == 0, p.stdout  # an absent bounding set is an empty one
    assert got["CapInh"] == 0 and got["CapAmb"] == 0
    if caps and caps.get("effective"):
        # without CHOWN in the bounding set, exec as root keeps nothing beyond permitted∩bounding
        assert got["CapEff"] == 0
    else:
        assert got["CapEff"] == 0 and got["CapPrm"] == 0
    assert "CHOWNED" not in p.stdout
    if mote.arch == "x86_64":
        r = runc(mote.tmp, b)
        assert caps_of(r.stdout) == got, (r.stdout, r.stderr)
        # From outside too: the created process (waiting for start) holds exactly the configured
        # sets (exec then recomputes them from the bounding set, as above).
        cid = mote.new_id()
        p = run(mote.argv("create", "--bundle", b, cid), capture_output=False, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL)
        assert p.returncode == 0
        pid = json.loads(mote("state", cid, check=0).stdout)["pid"]
        outside = caps_of(open(f"/proc/{pid}/status").read())
        want = 1 if caps and caps.get("permitted") else 0  # CAP_CHOWN is bit 0
        assert outside["CapBnd"] == 0 and outside["CapInh"] == 0, outside
        assert outside["CapPrm"] == want and outside["CapEff"] == want, outside


def test_unknown_capability_is_refused_by_name(mote):
    b = mote.bundle(["true"], process={"capabilities": {"bounding": ["CAP_CHOWN", "CAP_NOT_A_CAP"]}})
    cid = mote.new_id()
    p = mote("run", "--bundle", b, cid)
    assert p.returncode == 1 and "process.capabilities.bounding[1]: unknown capability CAP_NOT_A_CAP" in p.stderr, p.stderr
    no_residue(mote, cid)


def test_inheritable_only_when_asked(native):
    cap = ["CAP_NET_BIND_SERVICE"]
    b = native.bundle(["sh", "-c", "grep Cap /proc/self/status"], process={
        "user": {"uid": 1000, "gid": 1000},
        "capabilities": {"bounding": cap, "effective": cap, "permitted": cap}})
    p = native("run", "--bundle", b, native.new_id(), check=0)
    got = caps_of(p.stdout)
    assert got["CapInh"] == 0 and got["CapAmb"] == 0 and got["CapEff"] == 0, p.stdout  # uid 1000: nothing across exec
    assert caps_of(runc(native.tmp, b).stdout) == got


# ---- 2. no host descriptor reachable as the cwd (CVE-2024-21626 class) ----

@pytest.fixture
def secret_dir(tmp_path):
    d = tmp_path / "host-secret"
    os.makedirs(d)
    (d / "secret").write_text("HOST-SECRET-" + uuid.uuid4().hex)
    return d


def with_fd(directory, n, argv):
    """Runs argv with `directory` open as descriptor n (not close-on-exec): a leaking caller."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        return run(argv, close_fds=False, preexec_fn=lambda: os.dup2(fd, n))
    finally:
        os.close(fd)


def test_cwd_through_a_leaked_descriptor(mote, secret_dir):
    """The caller leaks a host directory as fd 3..9; cwd /proc/self/fd/N must never reach it."""
    secret = (secret_dir / "secret").read_text()
    for n in range(3, 10):
        b = mote.bundle(["sh", "-c", "cat secret; pwd"], process={"cwd": f"/proc/self/fd/{n}"})
        cid = mote.new_id()
        p = with_fd(secret_dir, 7, mote.argv("run", "--bundle", b, cid))
        assert secret not in p.stdout, f"fd {n}: the host directory was the cwd"
        assert p.returncode != 0, (n, p.stdout, p.stderr)
        no_residue(mote, cid)


def test_cwd_through_a_preserved_descriptor_is_refused(mote, secret_dir):
    """Even a descriptor the caller passes on purpose (--preserve-fds) is no way out as the cwd."""
    secret = (secret_dir / "secret").read_text()
    b = mote.bundle(["sh", "-c", "cat secret"], process={"cwd": "/proc/self/fd/3"})
    cid = mote.new_id()
    p = with_fd(secret_dir, 3, mote.argv("run", "--preserve-fds", "1", "--bundle", b, cid))
    assert secret not in p.stdout
    assert p.returncode == 1 and "outside the container's root" in p.stderr, p.stderr
    no_residue(mote, cid)


# ---- 3. state files: root 0700 with its parents, exec.fifo 0600, whatever the umask ----

def test_state_root_and_fifo_modes_under_umask_0(native, tmp_path):
    root = tmp_path / "a" / "b" / "state"
    b = native.bundle(["true"])
    cid = native.new_id()
    argv = native.argv("create", "--bundle", b, cid)
    argv[argv.index("--root") + 1] = str(root)
    with open(tmp_path / "err", "w+") as err:
        p = run(argv, preexec_fn=lambda: os.umask(0), capture_output=False, stdout=subprocess.DEVNULL, stderr=err)
        err.seek(0)
        msg = err.read()
    try:
        assert p.returncode == 0, msg
        for d in (tmp_path / "a", tmp_path / "a" / "b", root):
            assert stat.S_IMODE(os.stat(d).st_mode) == 0o700, d
        fifo = os.stat(root / cid / "exec.fifo")
        assert stat.S_ISFIFO(fifo.st_mode) and stat.S_IMODE(fifo.st_mode) == 0o600
    finally:
        run([a if a != native.root else str(root) for a in native.argv("delete", "--force", cid)])


# ---- 4. /proc and /sys of the rootfs, /dev/null, writes into /proc ----

@pytest.mark.parametrize("which", ["proc", "sys"])
def test_proc_or_sys_symlink_in_rootfs_is_refused(mote, tmp_path, which):
    r = small_rootfs(tmp_path)
    os.rmdir(r / "sys")
    os.makedirs(r / "tmp" / "fake")
    os.symlink("tmp/fake", r / which)
    if which == "proc":
        os.makedirs(r / "sys")
    mote.rootfs = str(r)
    b = mote.bundle(["true"], root={"path": str(r), "readonly": False})
    cid = mote.new_id()
    p = mote("run", "--bundle", b, cid)
    assert p.returncode == 1 and f"/{which}" in p.stderr and "symlink" in p.stderr, p.stderr
    assert os.listdir(r / "tmp" / "fake") == []
    no_residue(mote, cid)
    assert mounts_mentioning(str(r)) == []
    if mote.arch == "x86_64":  # runc refuses it too ("must be mounted on ordinary directory")
        assert runc(mote.tmp, b).returncode != 0 and os.listdir(r / "tmp" / "fake") == []


def test_masked_path_through_planted_dev_null(mote, tmp_path):
    """CVE-2025-31133: /dev/null of the image is a symlink to a procfs file and no /dev tmpfs is
    mounted; masking /proc/timer_list must not become a read-write bind of that file."""
    r = small_rootfs(tmp_path)
    os.makedirs(r / "dev")
    os.makedirs(r / "proc")
    os.symlink("/proc/sys/kernel/core_pattern", r / "dev" / "null")
    mote.rootfs = str(r)
    before = open("/proc/sys/kernel/core_pattern").read()
    # (the container only reads: a regression must not be able to write the host's core_pattern)
    b = mote.bundle(["sh", "-c", "cat /proc/timer_list"],
                      root={"path": str(r), "readonly": False},
                      mounts=[{"destination": "/proc", "type": "proc", "source": "proc"}],
                      linux={"maskedPaths": ["/proc/timer_list"], "readonlyPaths": []})
    cid = mote.new_id()
    p = mote("run", "--bundle", b, cid)
    assert open("/proc/sys/kernel/core_pattern").read() == before
    assert before.strip() not in p.stdout  # the masked path did not become the host's file
    assert p.returncode == 1 and "/dev/null" in p.stderr and "not the null device" in p.stderr, p.stderr
    no_residue(mote, cid)


def test_sysctl_into_an_image_proc_is_refused(mote, tmp_path):
    """With no procfs mounted, /proc/sys of the image is a plain directory: sysctl is not written
    there (and no write goes anywhere else)."""
    r = small_rootfs(tmp_path)
    os.makedirs(r / "proc" / "sys" / "net" / "ipv4")
    (r / "proc" / "sys" / "net" / "ipv4" / "ip_forward").write_text("0\n")
    mote.rootfs = str(r)
    b = mote.bundle(["true"], root={"path": str(r), "readonly": False},
                      mounts=[{"destination": "/dev", "type": "tmpfs", "source": "tmpfs"}],
                      linux={"sysctl": {"net.ipv4.ip_forward": "1"}, "maskedPaths": [], "readonlyPaths": []})
    cid = mote.new_id()
    p = mote("run", "--bundle", b, cid)
    assert p.returncode == 1 and "/proc" in p.stderr and "procfs" in p.stderr, p.stderr
    assert (r / "proc" / "sys" / "net" / "ipv4" / "ip_forward").read_text() == "0\n"
    no_residue(mote, cid)


# ---- 5. the runtime binary out of reach (CVE-2019-5736) ----

def test_runtime_binary_is_a_sealed_copy(native, tmp_path):
    """The container's process, until it execs, runs from a sealed memfd copy of mote: what
    /proc/PID/exe names cannot be written, and `args: ["/proc/self/exe"]` runs that copy."""
    host_bin = native.argv()[0]
    before = open(host_bin, "rb").read()
    b = native.bundle(["true"])
    cid = native.new_id()
    with open(tmp_path / "err", "w+") as err:
        p = run(native.argv("create", "--bundle", b, cid), capture_output=False, stdout=subprocess.DEVNULL, stderr=err)
        err.seek(0)
        assert p.returncode == 0, err.read()
    pid = json.loads(native("state", cid, check=0).stdout)["pid"]
    exe = os.readlink(f"/proc/{pid}/exe")
    assert exe.startswith("/memfd:mote"), exe
    # The attack: hold /proc/PID/exe, wait for the process to go, reopen it for writing.
    held = os.open(f"/proc/{pid}/exe", os.O_PATH)
    try:
        st = os.fstat(held)
        assert (st.st_dev, st.st_ino) != (os.stat(host_bin).st_dev, os.stat(host_bin).st_ino)
        native("delete", "--force", cid, check=0)
        w = os.open(f"/proc/self/fd/{held}", os.O_RDWR)
        try:
            with pytest.raises(PermissionError):
                os.write(w, b"\0")  # F_SEAL_WRITE
        finally:
            os.close(w)
    finally:
        os.close(held)
    p = native("run", "--bundle", native.bundle(["/proc/self/exe", "--version"]), native.new_id())
    assert p.returncode == 0 and "mote version" in p.stdout, p.stderr
    assert open(host_bin, "rb").read() == before


def test_runtime_binary_on_squashfs_runs_without_a_copy(native, tmp_path):
    """A mote on a filesystem Linux cannot write (squashfs here, as on embedded images) is not
    copied: the container's process runs from that file until it execs, and the CVE-2019-5736
    attack (hold /proc/PID/exe, reopen it for writing once the process is gone) meets EROFS."""
    src, img, mnt = tmp_path / "sq-src", tmp_path / "mote.sqfs", tmp_path / "sq"
    os.makedirs(src)
    os.makedirs(mnt)
    shutil.copy(native.argv()[0], src / "mote")
    run(["mksquashfs", str(src), str(img), "-quiet", "-noappend"], check=0)
    before = img.read_bytes()
    b = native.bundle(["true"])
    cid = native.new_id()
    # The squashfs is mounted in a private mount namespace of this `create` alone: nothing is
    # added to the host, and the loop device goes with the last user of the mount. Not asked
    # read-only: the EROFS below is the driver's, not a mount flag's.
    def on_squashfs(*args, **kw):
        return run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                    'mount -o loop -t squashfs "$1" "$2" && shift 2 && exec "$@"', "sh", str(img), str(mnt),
                    str(mnt / "mote"), *native.argv(*args)[1:]], stdin=subprocess.DEVNULL, **kw)
    # create's container process keeps what it was given as stdout/stderr: files, not pipes.
    with open(tmp_path / "err", "w+") as err:
        p = on_squashfs("create", "--bundle", b, cid, capture_output=False, stdout=subprocess.DEVNULL, stderr=err)
        err.seek(0)
        assert p.returncode == 0, err.read()
    pid = json.loads(native("state", cid, check=0).stdout)["pid"]
    assert not os.readlink(f"/proc/{pid}/exe").startswith("/memfd:")
    assert run(["stat", "-L", "-f", "-c", "%t", f"/proc/{pid}/exe"], check=0).stdout.strip() == "73717368"
    held = os.open(f"/proc/{pid}/exe", os.O_PATH)
    try:
        native("delete", "--force", cid, check=0)
        with pytest.raises(OSError) as e:
            os.close(os.open(f"/proc/self/fd/{held}", os.O_RDWR))
        assert e.value.errno == errno.EROFS
    finally:
        os.close(held)
    # The same binary from ext4 still makes its sealed copy (test_runtime_binary_is_a_sealed_copy),
    # and `args: ["/proc/self/exe"]` still runs mote, read-only.
    b = native.bundle(["/proc/self/exe", "--version"])
    cid = native.new_id()
    p = on_squashfs("run", "--bundle", b, cid)
    assert p.returncode == 0 and "mote version" in p.stdout, p.stderr
    assert img.read_bytes() == before
    no_residue(native, cid)
    # A read-only mount of a writable filesystem still gets the copy: it could be remounted
    # read-write while a container holds the file.
    b = native.bundle(["true"])
    cid = native.new_id()
    with open(tmp_path / "err2", "w+") as err:
        p = run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                 'mount --bind -o ro "$1" "$1" && shift && exec "$@"', "sh", str(src),
                 str(src / "mote"), *native.argv("create", "--bundle", b, cid)[1:]],
                stdin=subprocess.DEVNULL, capture_output=False, stdout=subprocess.DEVNULL, stderr=err)
        err.seek(0)
        assert p.returncode == 0, err.read()
    pid = json.loads(native("state", cid, check=0).stdout)["pid"]
    assert os.readlink(f"/proc/{pid}/exe").startswith("/memfd:mote")
    native("delete", "--force", cid, check=0)


# ---- 6. mount options: recursive attributes, nosymfollow, nothing dropped without a word ----

def mount_opts(out, target):
    for l in out.splitlines():
        f = l.split()
        if len(f) > 5 and f[4] == target:
            return set(f[5].split(","))
    raise AssertionError(f"{target} not in mountinfo:\n{out}")


def test_recursive_read_only_bind(mote, tmp_path):
    """rro on an rbind makes its submounts read-only too (a plain ro would leave them writable)."""
    src = tmp_path / "src"
    os.makedirs(src / "sub")
    script = ("cat /proc/self/mountinfo; touch /m/a 2>/dev/null && echo WROTE-TOP; "
              "touch /m/sub/b 2>/dev/null && echo WROTE-SUB; true")
    b = mote.bundle(["sh", "-c", script], mounts=[
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs"},
        {"destination": "/m", "type": "bind", "source": str(src), "options": ["rbind", "rro", "rnosuid", "nosymfollow"]}])
    cid = mote.new_id()
    inner = " ".join(mote.argv("run", "--bundle", b, cid))
    # The submount lives in a private mount namespace of the test: nothing is added to the host.
    p = run(["unshare", "-m", "--propagation", "private", "sh", "-c",
             f"mount -t tmpfs t {src}/sub && exec {inner}"])
    if mote.arch != "x86_64" and p.returncode == 1:
        # qemu-user 7.2 has no mount_setattr: a clear refusal, never a silently writable submount
        assert "recursive options on a mount with submounts need mount_setattr" in p.stderr, p.stderr
        return
    assert p.returncode == 0, p.stderr
    assert "WROTE" not in p.stdout, p.stdout
    assert {"ro", "nosuid", "nosymfollow"} <= mount_opts(p.stdout, "/m")
    assert {"ro", "nosuid"} <= mount_opts(p.stdout, "/m/sub")
    assert not os.listdir(src / "sub")
    if mote.arch == "x86_64":
        r = run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                 f"mount -t tmpfs t {src}/sub && exec runc --root {tmp_path}/runc run --bundle {b} {cid}-runc"])
        assert "WROTE" not in r.stdout and {"ro", "nosuid"} <= mount_opts(r.stdout, "/m/sub"), r.stderr


@pytest.mark.parametrize("opt,msg", [("bogus", "is not a known option of a bind mount"),
                                     ("tmpcopyup", "is not supported"),  # on a bind: tmpfs only
                                     ("idmap", "is not supported")])
def test_unknown_mount_option_is_refused_by_name(mote, opt, msg):
    b = mote.bundle(["true"], mounts=[{"destination": "/m", "type": "bind", "source": "/tmp", "options": ["bind", opt]}])
    cid = mote.new_id()
    p = mote("run", "--bundle", b, cid)
    assert p.returncode == 1 and f"mount /m: option {opt} {msg}" in p.stderr, p.stderr
    no_residue(mote, cid)


def test_tmpcopyup_copies_what_the_tmpfs_covers(mote, tmp_path):
    r = small_rootfs(tmp_path)
    for d in ("proc", "dev"):
        os.makedirs(r / d)
    (r / "etc" / "sub").mkdir()
    (r / "etc" / "sub" / "f").write_text("image content\n")
    os.chmod(r / "etc" / "sub" / "f", 0o604)
    os.chown(r / "etc" / "sub" / "f", 0, 34)
    os.symlink("sub/f", r / "etc" / "link")
    mote.rootfs = str(r)
    b = mote.bundle(["sh", "-c", "cat /etc/link; stat -c '%a %u %g' /etc/sub/f; echo new > /etc/sub/g && cat /etc/sub/g; "
                                   "grep ' /etc ' /proc/self/mountinfo"],
                      root={"path": str(r), "readonly": False},
                      mounts=[{"destination": "/proc", "type": "proc", "source": "proc"},
                              {"destination": "/dev", "type": "tmpfs", "source": "tmpfs"},
                              {"destination": "/etc", "type": "tmpfs", "source": "tmpfs", "options": ["tmpcopyup", "nosuid"]}])
    p = mote("run", "--bundle", b, mote.new_id())
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines()[:3] == ["image content", "604 0 34", "new"], p.stdout
    assert " - tmpfs " in p.stdout
    assert not (r / "etc" / "sub" / "g").exists()  # the image is untouched


def test_features_lists_what_is_applied(mote):
    f = json.loads(mote("features", check=0).stdout)
    assert "tmpcopyup" in f["mountOptions"]
    assert {"rro", "rnosuid", "rnodev", "rnoexec", "rnoatime", "nosymfollow", "lazytime"} <= set(f["mountOptions"])
    # supported: applied where the host's LSM is on, refused by name where it is off
    assert f["linux"]["apparmor"]["enabled"] and f["linux"]["selinux"]["enabled"]
    assert not f["linux"]["intelRdt"]["enabled"] and not f["linux"]["mountExtensions"]["idmap"]["enabled"]
    assert "MPOL_BIND" in f["linux"]["memoryPolicy"]["modes"]


# ---- 7. security fields: applied, or refused by name; the table of every spec field ----

FIELDS_RS = os.path.join(os.path.dirname(__file__), "..", "..", "runtime", "src", "spec", "fields.rs")

# runtime-spec 1.2's config.json fields (config.md, config-linux.md; schema/config-schema.json,
# config-linux.json), and the 1.3 additions engines send already (memoryPolicy, netDevices).
SPEC_FIELDS = """ociVersion root.path root.readonly mounts mounts.destination mounts.source mounts.type
mounts.options mounts.uidMappings mounts.gidMappings process.terminal process.consoleSize process.cwd
process.env process.args process.commandLine process.rlimits process.apparmorProfile
process.capabilities process.noNewPrivileges process.oomScoreAdj process.scheduler
process.selinuxLabel process.ioPriority process.execCPUAffinity process.user.uid process.user.gid
process.user.umask process.user.additionalGids process.user.username hostname domainname hooks
annotations linux.namespaces linux.uidMappings linux.gidMappings linux.timeOffsets linux.devices
linux.cgroupsPath linux.resources linux.intelRdt linux.sysctl linux.seccomp linux.rootfsPropagation
linux.maskedPaths linux.readonlyPaths linux.mountLabel linux.personality linux.memoryPolicy
linux.netDevices solaris windows vm zos""".split()

# A value for each field the table says is refused (LSM fields: where that LSM is off).
REFUSED = {
    "mounts.uidMappings": {"mounts": [{"destination": "/m", "type": "bind", "source": "/tmp", "options": ["bind"],
                                       "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]}]},
    "mounts.gidMappings": {"mounts": [{"destination": "/m", "type": "bind", "source": "/tmp", "options": ["bind"],
                                       "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]}]},
    "linux.intelRdt": {"linux": {"intelRdt": {"closID": "mote"}}},
    # without the namespace that applies them (runc refuses these too): no user namespace would
    # leave the process the host's root; no time namespace, the host's clocks
    "linux.uidMappings": {"linux": {"uidMappings": [{"containerID": 0, "hostID": 200000, "size": 65536}]}},
    "linux.gidMappings": {"linux": {"gidMappings": [{"containerID": 0, "hostID": 200000, "size": 65536}]}},
    "linux.timeOffsets": {"linux": {"timeOffsets": {"monotonic": {"secs": 86400}}}},
    "linux.personality": {"linux": {"personality": {"domain": "LINUX", "flags": ["ADDR_NO_RANDOMIZE"]}}},
    "linux.netDevices": {"linux": {"netDevices": {"eth9": {"name": "eth9"}}}},
    "process.apparmorProfile": {"process": {"apparmorProfile": "mote-test"}},
    "process.selinuxLabel": {"process": {"selinuxLabel": "system_u:system_r:container_t:s0"}},
    "linux.mountLabel": {"linux": {"mountLabel": "system_u:object_r:container_file_t:s0"}},
}


def table():
    rows = {}
    for l in open(FIELDS_RS):
        f = [c.strip() for c in l.strip().removeprefix("//!").split("|")]
        if len(f) == 4 and f[1].startswith("`"):
            rows[f[1].strip("`")] = f[2]
    return rows


def lsm_on(name):
    if name == "apparmor":
        try:
            return open("/sys/module/apparmor/parameters/enabled").read().startswith("Y")
        except OSError:
            return False
    return os.path.isdir("/sys/fs/selinux") and os.listdir("/sys/fs/selinux") != []


def test_every_spec_field_has_a_row():
    rows = table()
    missing = [f for f in SPEC_FIELDS if f not in rows]
    assert missing == [], f"fields with no row in spec/fields.rs: {missing}"
    for f, what in rows.items():
        assert what.split()[0].strip(":,") in ("applied", "checked", "refused", "warned", "ignored", "kept", "not"), (f, what)


@pytest.mark.parametrize("field", [f for f, w in table().items() if w.startswith("refused") or "refused where" in w])
def test_refused_fields_are_refused_by_name(native, field):
    lsm = {"process.apparmorProfile": "apparmor", "process.selinuxLabel": "selinux", "linux.mountLabel": "selinux"}.get(field)
    b = native.bundle(["true"], **REFUSED[field])
    cid = native.new_id()
    p = native("run", "--bundle", b, cid)
    if lsm and lsm_on(lsm):
        assert "not enabled" not in p.stderr, p.stderr
        return
    assert p.returncode == 1 and field.split(".")[-1] in p.stderr, (field, p.stderr)
    no_residue(native, cid)


def test_scheduler_io_priority_affinity_memory_policy_applied(native):
    cpu = "1" if os.cpu_count() > 1 else "0"
    b = native.bundle(["sh", "-c", "grep -E 'Cpus_allowed_list' /proc/self/status; grep -E '^(policy|prio) ' /proc/self/sched; "
                                   "cat /proc/self/numa_maps | head -1; ionice"],
                      process={"scheduler": {"policy": "SCHED_BATCH", "nice": 5},
                               "ioPriority": {"class": "IOPRIO_CLASS_IDLE", "priority": 0},
                               "execCPUAffinity": {"initial": "0", "final": cpu}},
                      linux={"memoryPolicy": {"mode": "MPOL_BIND", "nodes": "0"}})
    rootfs = native.rootfs
    p = native("run", "--bundle", b, native.new_id())
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert f"Cpus_allowed_list:\t{cpu}\n" in out
    sched = {l.split()[0]: l.split()[-1] for l in out.splitlines() if l.startswith(("policy", "prio"))}
    assert sched == {"policy": "3", "prio": "125"}, out  # SCHED_BATCH, nice 5
    assert " bind:0 " in out and out.strip().endswith("idle"), out


@pytest.mark.parametrize("process,msg", [
    ({"scheduler": {"policy": "SCHED_DEADLINE", "runtime": 20000000, "deadline": 10000000, "period": 30000000}},
     "process.scheduler: SCHED_DEADLINE needs 1024 <= runtime <= deadline <= period"),
    ({"scheduler": {"policy": "SCHED_FIFO", "priority": 0}}, "process.scheduler: priority must be within 1..99"),
    ({"scheduler": {"policy": "SCHED_OTHER", "runtime": 5}}, "process.scheduler: runtime, deadline and period are only"),
    ({"scheduler": {"policy": "SCHED_NOPE"}}, "process.scheduler: unknown policy"),
    ({"ioPriority": {"class": "IOPRIO_CLASS_NOPE"}}, "process.ioPriority: class must be"),
    ({"ioPriority": {"class": "IOPRIO_CLASS_BE", "priority": 8}}, "process.ioPriority: class must be"),
    ({"execCPUAffinity": {"initial": "0-x"}}, "process.execCPUAffinity.initial: expected a CPU list"),
])
def test_invalid_scheduling_is_refused_by_name(mote, process, msg):
    b = mote.bundle(["true"], process=process)
    cid = mote.new_id()
    p = mote("run", "--bundle", b, cid)
    assert p.returncode == 1 and msg in p.stderr, p.stderr
    no_residue(mote, cid)


def test_recursive_options_on_a_plain_bind(mote, tmp_path):
    """On a bind without submounts the r* forms are the plain ones: applied on every kernel (a
    remount where mount_setattr is missing, as under qemu-user)."""
    src = tmp_path / "src"
    os.makedirs(src)
    b = mote.bundle(["sh", "-c", "cat /proc/self/mountinfo; touch /m/a 2>/dev/null && echo WROTE; true"], mounts=[
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs"},
        {"destination": "/m", "type": "bind", "source": str(src), "options": ["bind", "rro", "rnodev", "rnodiratime"]}])
    p = mote("run", "--bundle", b, mote.new_id())
    assert p.returncode == 0, p.stderr
    assert "WROTE" not in p.stdout and not os.listdir(src)
    assert {"ro", "nodev", "nodiratime"} <= mount_opts(p.stdout, "/m"), p.stdout


# ---- the same classes through `mote exec` ----

def started(mote):
    cid = mote.new_id()
    b = mote.bundle(["sleep", "60"])
    with open(mote.tmp / f"{cid}.log", "w") as f:
        p = subprocess.run(mote.argv("run", "-d", "--bundle", b, cid), stdout=f, stderr=f,
                           stdin=subprocess.DEVNULL, timeout=TIMEOUT)
    assert p.returncode == 0, open(mote.tmp / f"{cid}.log").read()
    return cid


def test_exec_cwd_through_a_leaked_or_preserved_descriptor(mote, secret_dir):
    secret = (secret_dir / "secret").read_text()
    cid = started(mote)
    p = with_fd(secret_dir, 7, mote.argv("exec", "--cwd", "/proc/self/fd/7", cid, "cat", "secret"))
    assert secret not in p.stdout and p.returncode != 0, (p.stdout, p.stderr)
    p = with_fd(secret_dir, 3, mote.argv("exec", "--preserve-fds", "1", "--cwd", "/proc/self/fd/3", cid, "cat", "secret"))
    assert secret not in p.stdout and p.returncode == 255, (p.stdout, p.stderr)
    assert "outside the container's root" in p.stderr, p.stderr


def test_exec_lsm_flags_refused_where_the_lsm_is_off(native):
    cid = started(native)
    for flag, lsm in (("--apparmor", "apparmor"), ("--process-label", "selinux")):
        p = native("exec", flag, "mote-test", cid, "true")
        if lsm_on(lsm):
            assert "not enabled" not in p.stderr
        else:
            assert p.returncode == 255 and "is not enabled on this host" in p.stderr, p.stderr


# ---- remounts keep the mount's own atime mode (statvfs's ST_* bits are not MS_* ones) ----

def _strictatime_run(mote, b, src, cid):
    """Runs `b` in a private mount namespace of the test where `src` is a strictatime,nodiratime
    tmpfs (nothing is added to the host)."""
    inner = " ".join(mote.argv("run", "--bundle", b, cid))
    return run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                f"mount -t tmpfs -o strictatime,nodiratime,mode=755 t {src} && exec {inner}"])


@pytest.mark.parametrize("opts,want,unwanted", [(["bind", "ro"], {"ro", "nodiratime"}, {"relatime", "noatime"}),
                                                (["bind", "ro", "noatime"], {"ro", "noatime"}, {"relatime"})],
                         ids=["kept", "asked"])
def test_bind_remount_keeps_strictatime(mote, tmp_path, opts, want, unwanted):
    """A bind remounted read-only keeps the source's strictatime (statvfs has no flag for it and
    reports relatime as ST_RELATIME, 4096, not MS_RELATIME); an atime option given wins."""
    src = tmp_path / "src"
    os.makedirs(src)
    b = mote.bundle(["cat", "/proc/self/mountinfo"], mounts=[
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs"},
        {"destination": "/m", "type": "bind", "source": str(src), "options": opts}])
    p = _strictatime_run(mote, b, src, mote.new_id())
    assert p.returncode == 0, p.stderr
    got = mount_opts(p.stdout, "/m")
    assert want <= got and not (unwanted & got), got


def test_bind_remount_of_locked_strictatime_in_user_namespace(native, tmp_path):
    """In a user namespace the atime mode is locked: a read-only remount that does not repeat
    strictatime exactly is refused by the kernel (EPERM), so the container would not start."""
    # pytest's tmp dirs are 0700: the mapped root (host uid 100000) could not reach them.
    d = pathlib.Path(tempfile.mkdtemp(prefix="userns-atime-"))
    os.chmod(d, 0o755)
    src = d / "src"
    os.makedirs(src)
    shutil.copytree(native.rootfs, d / "r", symlinks=True)
    native.rootfs = str(d / "r")
    try:
        _locked_strictatime(native, src)
    finally:
        shutil.rmtree(d)


def _locked_strictatime(native, src):
    b = native.bundle(["cat", "/proc/self/mountinfo"], mounts=[
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs"},
        {"destination": "/m", "type": "bind", "source": str(src), "options": ["bind", "ro"]}],
        linux={"namespaces": [{"type": t} for t in ("pid", "ipc", "uts", "mount", "user")],
               "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
               "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}]})
    p = _strictatime_run(native, b, src, native.new_id())
    assert p.returncode == 0, p.stderr
    got = mount_opts(p.stdout, "/m")
    assert {"ro", "nodiratime"} <= got and "relatime" not in got, got


def test_sysfs_fallback_is_read_only_below_too(native):
    """sysfs needs a network namespace of the container's own; without one (in a user namespace)
    mote binds the host's /sys instead: read-only with every mount below it (the host's cgroup
    hierarchies among them), not only at the top."""
    d = pathlib.Path(tempfile.mkdtemp(prefix="userns-sys-"))
    os.chmod(d, 0o755)
    shutil.copytree(native.rootfs, d / "r", symlinks=True)
    native.rootfs = str(d / "r")
    try:
        b = native.bundle(["cat", "/proc/self/mountinfo"], mounts=[
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs"},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev"]}],
            linux={"namespaces": [{"type": t} for t in ("pid", "ipc", "uts", "mount", "user")],
                   "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
                   "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}]})
        p = native("run", "--bundle", b, native.new_id())
        assert p.returncode == 0, p.stderr
        with open("/proc/self/mountinfo") as f:
            below = [l.split()[4] for l in f if l.split()[4].startswith("/sys/")]
        if not below:
            pytest.fail("the host has no mount below /sys: this test needs one (cgroups)")
        for m in ["/sys"] + below:
            assert {"ro", "nosuid", "nodev", "noexec"} <= mount_opts(p.stdout, m), (m, p.stdout)
    finally:
        shutil.rmtree(d)


def test_readonly_path_is_read_only_below_too(mote, tmp_path):
    """A readonlyPaths entry with mounts below it (here two binds of the config) is read-only all
    the way down: nothing written through it reaches the host."""
    a, b_ = tmp_path / "a", tmp_path / "b"
    os.makedirs(a / "sub")
    os.makedirs(b_)
    b = mote.bundle(["sh", "-c", "touch /m/x 2>/dev/null && echo WROTE-TOP; "
                                 "touch /m/sub/y 2>/dev/null && echo WROTE-SUB; cat /proc/self/mountinfo"], mounts=[
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs"},
        {"destination": "/m", "type": "bind", "source": str(a), "options": ["bind"]},
        {"destination": "/m/sub", "type": "bind", "source": str(b_), "options": ["bind"]}],
        linux={"readonlyPaths": ["/m"]})
    cid = mote.new_id()
    p = mote("run", "--bundle", b, cid)
    if mote.arch != "x86_64" and p.returncode == 1:
        # qemu-user 7.2 has no mount_setattr: a clear refusal, never a writable mount below
        assert "read-only path /m: has mounts below it" in p.stderr, p.stderr
        no_residue(mote, cid)
    else:
        assert p.returncode == 0, p.stderr
    assert "WROTE" not in p.stdout, p.stdout
    assert os.listdir(b_) == [] and os.listdir(a) == ["sub"]


def test_mount_propagation_is_applied(mote, tmp_path):
    """A mount's propagation option holds in the running container (rshared was lost for every
    mount: the old root's detach made the new root rslave); as runc, which runs the same bundle."""
    b = mote.bundle(["grep", "-E", " /(a|b) ", "/proc/self/mountinfo"], mounts=[
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs"},
        {"destination": "/a", "type": "tmpfs", "source": "tmpfs", "options": ["rshared"]},
        {"destination": "/b", "type": "bind", "source": str(tmp_path), "options": ["rbind", "runbindable"]}])
    outs = {"mote": mote("run", "--bundle", b, mote.new_id())}
    if mote.arch == "x86_64":
        outs["runc"] = runc(tmp_path, b)
    for name, p in outs.items():
        assert p.returncode == 0, (name, p.stderr)
        tags = {l.split()[4]: l.split()[6:l.split().index("-")] for l in p.stdout.splitlines()}
        assert any(t.startswith("shared:") for t in tags["/a"]) and "unbindable" in tags["/b"], (name, p.stdout)


def test_too_many_propagation_options_are_refused(mote):
    """Propagation options past the bound are an error naming it, never dropped."""
    opts = ["bind", "private", "slave", "shared", "private", "unbindable"]
    b = mote.bundle(["true"], mounts=[
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs"},
        {"destination": "/m", "type": "bind", "source": "/tmp", "options": opts}])
    cid = mote.new_id()
    p = mote("run", "--bundle", b, cid)
    assert p.returncode == 1 and "mount /m: option unbindable is one propagation option too many" in p.stderr, p.stderr
    no_residue(mote, cid)


@pytest.mark.parametrize("ptrace", [False, True], ids=["default-caps", "sys_ptrace"])
@pytest.mark.parametrize("cwd", ["/hop/etc", "/proc/1/root/etc"])
def test_cwd_through_host_init_root_is_refused(mote, tmp_path, cwd, ptrace):
    """Without a PID namespace the container's /proc shows the host's PID 1: its root, reached
    directly or through a symlink of the image, is the host's / and never a cwd (with
    CAP_SYS_PTRACE the chdir itself succeeds: the check after it must refuse)."""
    r = small_rootfs(tmp_path)
    for d in ("proc", "dev"):
        os.makedirs(r / d)
    os.symlink("/proc/1/root", r / "hop")
    mote.rootfs = str(r)
    proc = {"cwd": cwd}
    if ptrace:
        c = ["CAP_SYS_PTRACE", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH"]
        proc["capabilities"] = {k: c for k in ("bounding", "effective", "permitted")}
    b = mote.bundle(["sh", "-c", "ls; pwd"], process=proc,
                    linux={"namespaces": [{"type": "mount"}, {"type": "uts"}], "maskedPaths": [], "readonlyPaths": []},
                    mounts=[{"destination": "/proc", "type": "proc", "source": "proc"}])
    cid = mote.new_id()
    p = mote("run", "--bundle", b, cid)
    assert "passwd" not in p.stdout, p.stdout
    assert p.returncode == 1, (p.stdout, p.stderr)
    assert "outside the container's root" in p.stderr or f"chdir {cwd}: Permission denied" in p.stderr, p.stderr
    no_residue(mote, cid)


@pytest.mark.parametrize("how", ["config-bind", "image-symlink-to-dev"])
def test_masked_path_through_a_dev_null_that_is_not_null(mote, tmp_path, secret_dir, how):
    """/dev/null made something else (a config bind of a host file over mote's node, or an image
    whose /dev/null names /dev/zero): a masked file must never become that."""
    secret = (secret_dir / "secret").read_text()
    mounts = [{"destination": "/proc", "type": "proc", "source": "proc"}]
    if how == "config-bind":
        mounts += [{"destination": "/dev", "type": "tmpfs", "source": "tmpfs"},
                   {"destination": "/dev/null", "type": "bind", "source": str(secret_dir / "secret"), "options": ["bind"]}]
    else:
        r = small_rootfs(tmp_path)
        for d in ("proc", "dev"):
            os.makedirs(r / d)
        os.symlink("zero", r / "dev" / "null")
        os.mknod(r / "dev" / "zero", 0o666 | stat.S_IFCHR, os.makedev(1, 5))
        mote.rootfs = str(r)
    b = mote.bundle(["sh", "-c", "cat /proc/timer_list | head -c 100"], mounts=mounts,
                    linux={"maskedPaths": ["/proc/timer_list"], "readonlyPaths": []})
    cid = mote.new_id()
    p = mote("run", "--bundle", b, cid)
    assert secret not in p.stdout
    assert p.returncode == 1 and "not the null device" in p.stderr, p.stderr
    assert (secret_dir / "secret").read_text() == secret
    no_residue(mote, cid)


def test_device_planted_by_the_image_is_refused(mote, tmp_path):
    """A linux.devices entry whose path the image already holds as something else (here a file
    where /dev/zero should be) is not silently left as the image made it."""
    r = small_rootfs(tmp_path)
    for d in ("proc", "dev"):
        os.makedirs(r / d)
    (r / "dev" / "zero").write_text("IMAGE-FILE")
    os.mknod(r / "dev" / "null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # a right one is fine
    mote.rootfs = str(r)
    devs = [{"path": "/dev/null", "type": "c", "major": 1, "minor": 3}]
    b = mote.bundle(["head", "-c", "10", "/dev/zero"], mounts=[{"destination": "/proc", "type": "proc", "source": "proc"}],
                    linux={"devices": devs, "maskedPaths": [], "readonlyPaths": []})
    p = mote("run", "--bundle", b, mote.new_id())
    assert p.returncode == 0 and p.stdout == "IMAGE-FILE", (p.stdout, p.stderr)  # not asked for: the image's
    b = mote.bundle(["head", "-c", "10", "/dev/zero"], mounts=[{"destination": "/proc", "type": "proc", "source": "proc"}],
                    linux={"devices": devs + [{"path": "/dev/zero", "type": "c", "major": 1, "minor": 5}],
                           "maskedPaths": [], "readonlyPaths": []})
    cid = mote.new_id()
    p = mote("run", "--bundle", b, cid)
    assert "IMAGE-FILE" not in p.stdout
    assert p.returncode == 1 and "/dev/zero" in p.stderr and "exists in the rootfs" in p.stderr, p.stderr
    no_residue(mote, cid)


def test_proc_write_through_an_overmounted_procfs_file_is_refused(mote, tmp_path):
    """CVE-2025-52881 class: a procfs file mounted over the one mote writes (here over
    /proc/1/oom_score_adj, by a createContainer hook standing in for a container process that
    races `mote exec`) passes a filesystem-type check; the write must not land there. mote's
    parent writes oomScoreAdj into the host's /proc/PID before the child goes on (as runc), so
    nothing inside can redirect it: the process has its value, the overmounted file is untouched."""
    r = small_rootfs(tmp_path)
    for d in ("proc", "dev"):
        os.makedirs(r / d)
    mote.rootfs = str(r)
    hook = {"path": "/bin/sh", "args": ["sh", "-c", f"mount --bind {r}/proc/sys/kernel/hostname {r}/proc/1/oom_score_adj"]}
    # (The first cat is forked, not PID 1: its /proc/self is not the overmounted file.)
    b = mote.bundle(["sh", "-c", "cat /proc/self/oom_score_adj; cat /proc/sys/kernel/hostname"], hostname="orig", process={"oomScoreAdj": 500},
                    mounts=[{"destination": "/proc", "type": "proc", "source": "proc"},
                            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs"}],
                    hooks={"createContainer": [hook]}, linux={"maskedPaths": [], "readonlyPaths": []})
    cid = mote.new_id()
    p = mote("run", "--bundle", b, cid)
    assert p.returncode == 0 and p.stdout == "500\norig\n", (p.stdout, p.stderr)
    no_residue(mote, cid)


def test_device_bound_from_the_host_must_be_that_device(native):
    """In a user namespace mknod is refused and the host's node at the same path is bound
    instead: it must be the device the config asks for (here 1:3 asked at /dev/zero, which is
    1:5 on the host), not whatever the host has there."""
    d = pathlib.Path(tempfile.mkdtemp(prefix="userns-dev-"))
    os.chmod(d, 0o755)
    shutil.copytree(native.rootfs, d / "r", symlinks=True)
    native.rootfs = str(d / "r")
    try:
        b = native.bundle(["sh", "-c", "head -c 4 /dev/zero | wc -c"], mounts=[
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs"}],
            linux={"namespaces": [{"type": t} for t in ("pid", "ipc", "uts", "mount", "user")],
                   "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
                   "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
                   "devices": [{"path": "/dev/zero", "type": "c", "major": 1, "minor": 3}]})
        cid = native.new_id()
        p = native("run", "--bundle", b, cid)
        assert p.stdout.strip() != "4", "the host's /dev/zero stood in for the null device asked for"
        assert p.returncode == 1 and "/dev/zero" in p.stderr and "1:3" in p.stderr, (p.stdout, p.stderr)
        no_residue(native, cid)
    finally:
        shutil.rmtree(d)


# ---- review follow-ups: /dev/console, dumpable, nosymfollow, relative masked paths ----

def test_console_symlink_in_the_image_is_not_followed(native, tmp_path):
    """CVE-2025-52565 class: the image's /dev/console is a symlink to /etc/target and no /dev tmpfs
    is mounted; the pty must not be bound over the file the symlink names (runc refuses)."""
    import socket
    r = small_rootfs(tmp_path)
    os.makedirs(r / "dev" / "pts")
    os.makedirs(r / "proc")
    os.symlink("/etc/target", r / "dev" / "console")
    os.symlink("pts/ptmx", r / "dev" / "ptmx")
    (r / "etc" / "target").write_text("precious\n")
    native.rootfs = str(r)
    b = native.bundle(["true"], root={"path": str(r), "readonly": False}, process={"terminal": True},
        linux={"maskedPaths": [], "readonlyPaths": []}, mounts=[
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]}])
    cid = native.new_id()
    sock_path = str(tmp_path / "console.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(sock_path)
    srv.listen(1)
    srv.settimeout(TIMEOUT)
    fds = []
    try:
        p = subprocess.Popen(native.argv("create", "--console-socket", sock_path, "--bundle", b, cid),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        conn, _ = srv.accept()
        _, fds, _, _ = socket.recv_fds(conn, 1024, 1)
        out, err = p.communicate(timeout=TIMEOUT)
        conn.close()
        mounted = []
        if p.returncode == 0:  # (a regression: show where the pty went)
            pid = json.loads(native("state", cid, check=0).stdout)["pid"]
            mounted = [l for l in open(f"/proc/{pid}/mountinfo") if " /etc/target " in l]
        assert mounted == [] and p.returncode == 1, (mounted, err)
        assert "/dev/console" in err and "symlink is refused" in err, err
        assert (r / "etc" / "target").read_text() == "precious\n"
        no_residue(native, cid)
    finally:
        for f in fds:
            os.close(f)
        srv.close()


def test_created_init_of_another_uid_is_not_dumpable(native):
    """After the switch to uid 1000 the init waiting for start is not dumpable (not ptrace-able by
    that uid): /proc/PID is then owned by root. The kernel resets dumpable to fs.suid_dumpable on
    the uid change, so this fails before the fix only on a host where that sysctl is 1."""
    b = native.bundle(["true"], process={"user": {"uid": 1000, "gid": 1000}})
    cid = native.new_id()
    with open(native.tmp / "o", "w") as f:  # (the init holds its stdio open until it exits)
        native("create", "--bundle", b, cid, check=0, stdout=f, stderr=f, capture_output=False)
    pid = json.loads(native("state", cid, check=0).stdout)["pid"]
    status = open(f"/proc/{pid}/status").read()
    assert "Uid:\t1000\t1000\t1000\t1000" in status, status
    assert os.stat(f"/proc/{pid}/status").st_uid == 0, "the created init is dumpable"
    native("delete", "--force", cid, check=0)


def test_nosymfollow_is_applied_and_read_back(mote, tmp_path):
    """nosymfollow and rnosymfollow (read back through statvfs, refused where the kernel ignores
    them: before 5.10) hold on a tmpfs and a bind: a symlink there is not followed."""
    src = tmp_path / "src"
    os.makedirs(src)
    (src / "f").write_text("x\n")
    os.symlink("f", src / "l")
    script = "cat /proc/self/mountinfo; cat /b/l 2>/dev/null && echo FOLLOWED; true"
    b = mote.bundle(["sh", "-c", script], linux={"maskedPaths": [], "readonlyPaths": []}, mounts=[
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/t", "type": "tmpfs", "source": "tmpfs", "options": ["nosymfollow"]},
        {"destination": "/b", "type": "bind", "source": str(src), "options": ["bind", "rnosymfollow"]}])
    p = mote("run", "--bundle", b, mote.new_id())
    if mote.arch != "x86_64" and p.returncode == 1 and "mount_setattr" in p.stderr:
        return  # qemu-user 7.2 has no mount_setattr (and rnosymfollow then needs the remount)
    assert p.returncode == 0, p.stderr
    assert "nosymfollow" in mount_opts(p.stdout, "/t") and "nosymfollow" in mount_opts(p.stdout, "/b")
    assert "FOLLOWED" not in p.stdout


@pytest.mark.parametrize("field", ["maskedPaths", "readonlyPaths"])
def test_relative_masked_or_readonly_path_is_refused(mote, field):
    b = mote.bundle(["true"], linux={"maskedPaths": ["/proc/kcore"], "readonlyPaths": ["/proc/sys"]})
    c = json.load(open(os.path.join(b, "config.json")))
    c["linux"][field].append("proc/bus")
    json.dump(c, open(os.path.join(b, "config.json"), "w"))
    cid = mote.new_id()
    p = mote("run", "--bundle", b, cid)
    assert p.returncode == 1 and f"linux.{field}[1]" in p.stderr and "absolute" in p.stderr, p.stderr
    no_residue(mote, cid)


@pytest.mark.parametrize("root", [None, "rshared"], ids=["default", "rshared-root"])
def test_no_pivot_moves_nothing_onto_the_host(native, root):
    """--no-pivot moves the rootfs onto "/". With rootfsPropagation rshared "/" keeps the host's
    peers (Kubernetes' Bidirectional), and the move went on to the host's "/": the container's
    whole tree over it. The 'host' is a mount namespace of the test with every mount shared and
    the rootfs a mount of its own (as an overlay's is); after the run it has the mounts it had."""
    r = native.rootfs
    b = native.bundle(["sh", "-c", "grep -c ' / ' /proc/self/mountinfo"], linux={"rootfsPropagation": root} if root else {})
    inner = " ".join(native.argv("run", "--no-pivot", "--bundle", b, native.new_id()))
    p = run(["unshare", "-m", "--propagation", "shared", "sh", "-c",
             f"mount --bind {r} {r} && grep -c . /proc/self/mountinfo && {inner} && grep -c . /proc/self/mountinfo"])
    assert p.returncode == 0, p.stderr
    before, inside, after = p.stdout.split()
    assert before == after and int(inside) >= 1, p.stdout  # (the container ran in its root)
