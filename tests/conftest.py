"""Shared fixtures for mote's black-box tests: where the built binaries are, how to run them on
each architecture (natively or under qemu-user), and a timeout on everything.

Tests drive the release binaries that `./x build` produced; nothing here mocks the kernel."""
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Every program the run starts is recorded (tests/guard/execlog.py) for tests/test_setup.py, which
# runs last and checks that `./x setup` installs each one's Debian package.
GUARD = os.path.join(ROOT, "tests", "guard")
if "MOTE_EXEC_LOG" not in os.environ:
    fd, os.environ["MOTE_EXEC_LOG"] = tempfile.mkstemp(prefix="mote-exec-log-")
    os.close(fd)
os.environ["PYTHONPATH"] = os.pathsep.join([GUARD] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])
sys.path.insert(0, GUARD)
import execlog  # noqa: E402

execlog.install()


def pytest_collection_modifyitems(items):
    """The setup guard runs after everything else, when the record of programs is complete."""
    items.sort(key=lambda item: os.path.basename(str(item.fspath)) == "test_setup.py")


def pytest_unconfigure(config):
    if os.environ.get("MOTE_EXEC_LOG", "").startswith(tempfile.gettempdir()):
        try:
            os.unlink(os.environ["MOTE_EXEC_LOG"])
        except OSError:
            pass
TARGETS = {
    "x86_64": "x86_64-unknown-linux-gnu",
    "aarch64": "aarch64-unknown-linux-gnu",
    "riscv64": "riscv64gc-unknown-linux-gnu",
}
RUNNERS = {"x86_64": [], "aarch64": [os.path.join(ROOT, "qemu/run-aarch64")],
           "riscv64": [os.path.join(ROOT, "qemu/run-riscv64")]}
# Every subprocess a test starts ends within this many seconds, or the test fails.
TIMEOUT = 30


def binary(arch, name):
    return os.path.join(ROOT, "target", TARGETS[arch], "release", name)


def cmd(arch, name, *args):
    """The argv that runs binary `name` of `arch` with `args`."""
    return RUNNERS[arch] + [binary(arch, name)] + list(args)


def on_pty(argv, send=b"", expect=None, timeout=TIMEOUT, **popen):
    """Runs argv in a session of its own with a new pty as its stdin, stdout and stderr; types
    `send` (at once, or once something was printed when `expect` is given); reads until the end,
    the process's exit, `expect` or the timeout. Returns (exit code, all it printed, as text)."""
    import pty
    import select
    import signal
    import time
    master, slave = pty.openpty()
    p = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, start_new_session=True, **popen)
    os.close(slave)
    out, sent = b"", False
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and not (expect and expect in out):
            if send and not sent and (out or not expect):
                os.write(master, send)
                sent = True
            r, _, _ = select.select([master], [], [], 0.2)
            if r:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # EIO: every holder of the slave is gone
                    break
                if not chunk:
                    break
                out += chunk
            elif p.poll() is not None:
                break
        rc = p.wait(timeout=max(1, deadline - time.monotonic()))
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        os.close(master)
    return rc, out.decode(errors="replace")


def to_file(tool, *args):
    """Runs a command of `tool` (a Mote) whose container may keep stdout and stderr open (a pipe
    would never end): its output goes through a file. Returns (exit code, stderr text)."""
    log = tool.tmp / ("cmd-" + os.urandom(4).hex())
    with open(log, "w") as f:
        p = subprocess.run(tool.argv(*args), stdout=subprocess.DEVNULL, stderr=f, stdin=subprocess.DEVNULL,
                           timeout=TIMEOUT)
    return p.returncode, log.read_text()


def detached(tool, args, **overrides):
    """`run -d` of a new bundle running `args` (with config overrides); returns the id."""
    cid = tool.new_id()
    rc, err = to_file(tool, "run", "-d", "--bundle", tool.bundle(args, **overrides), cid)
    assert rc == 0, err
    return cid


def with_console(tool, *args):
    """Runs `tool *args --console-socket S` (a create, run -d or exec -d) against a socket of
    ours, checks it exits 0, and returns the pty master it sent."""
    sock_path = str(tool.tmp / ("console-" + os.urandom(4).hex()))
    log = tool.tmp / (os.path.basename(sock_path) + ".log")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as srv, open(log, "w") as f:
        srv.bind(sock_path)
        srv.listen(1)
        srv.settimeout(TIMEOUT)
        p = subprocess.Popen(tool.argv(args[0], "--console-socket", sock_path, *args[1:]), stdout=f, stderr=f,
                             stdin=subprocess.DEVNULL)
        try:
            conn, _ = srv.accept()
            with conn:
                _, fds, _, _ = socket.recv_fds(conn, 1024, 1)
            assert p.wait(timeout=TIMEOUT) == 0, log.read_text()
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
    assert len(fds) == 1, fds
    return fds[0]


def read_until(fd, marker, timeout=10):
    """What fd gives until marker shows up, EOF or EIO (a pty whose other side closed), or timeout."""
    out = b""
    end = time.time() + timeout
    while time.time() < end and marker not in out:
        r, _, _ = select.select([fd], [], [], max(0, end - time.time()))
        if not r:
            break
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    return out


def run(argv, timeout=TIMEOUT, check=None, **kw):
    """Runs argv with a timeout; returns the CompletedProcess (text mode)."""
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    if kw.get("text"):
        kw.setdefault("errors", "replace")
    p = subprocess.run(argv, timeout=timeout, **kw)
    if check is not None:
        assert p.returncode == check, f"{argv} exited {p.returncode}\nstdout:{p.stdout}\nstderr:{p.stderr}"
    return p


@pytest.fixture(params=list(TARGETS))
def arch(request):
    if request.param != "x86_64" and not shutil.which("qemu-%s-static" % request.param):
        pytest.fail("qemu-user-static is missing: ./x setup installs it")
    return request.param


# ---- runtime fixtures: a busybox bundle and a mote with its own --root ----
import json
import uuid

BUSYBOX = "/bin/busybox"


@pytest.fixture(scope="session")
def rootfs(tmp_path_factory):
    """A busybox rootfs (Debian's busybox-static), shared read-only by the tests."""
    if not os.path.exists(BUSYBOX):
        pytest.fail("busybox-static is missing: ./x setup installs it")
    r = tmp_path_factory.mktemp("rootfs")
    os.makedirs(r / "bin")
    for d in ("proc", "sys", "dev", "tmp", "etc", "root"):
        os.makedirs(r / d, exist_ok=True)
    os.chmod(r, 0o755)
    os.chmod(r / "tmp", 0o1777)
    shutil.copy(BUSYBOX, r / "bin" / "busybox")
    applets = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True, check=True).stdout.split()
    for a in applets:
        if a != "busybox":
            os.symlink("busybox", r / "bin" / a)
    with open(r / "etc" / "passwd", "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")
    return r


def merge(a, b):
    for k, v in b.items():
        if isinstance(v, dict) and isinstance(a.get(k), dict):
            merge(a[k], v)
        else:
            a[k] = v
    return a


class Mote:
    """Drives one architecture's mote binary with a --root of its own; cleans up afterwards."""

    def __init__(self, arch, tmp_path, rootfs):
        self.arch = arch
        self.tmp = tmp_path
        self.root = str(tmp_path / "state")
        self.rootfs = str(rootfs)
        self.ids = []

    def argv(self, *args):
        return cmd(self.arch, "mote", "--root", self.root, *args)

    def __call__(self, *args, timeout=TIMEOUT, check=None, **kw):
        return run(self.argv(*args), timeout=timeout, check=check, **kw)

    PREFIX = "mote-test-"

    def new_id(self):
        i = self.PREFIX + uuid.uuid4().hex[:10]
        self.ids.append(i)
        return i

    def bundle(self, args=("true",), name=None, **overrides):
        """A bundle dir with a config.json from `mote spec`, made non-interactive, with overrides."""
        b = self.tmp / (name or ("bundle-" + uuid.uuid4().hex[:6]))
        os.makedirs(b)
        run(cmd("x86_64", "mote", "spec", "--bundle", str(b)), check=0)
        with open(b / "config.json") as f:
            c = json.load(f)
        c["root"]["path"] = self.rootfs
        c["process"]["terminal"] = False
        c["process"]["args"] = list(args)
        merge(c, overrides)
        with open(b / "config.json", "w") as f:
            json.dump(c, f)
        return str(b)

    def cleanup(self):
        for i in self.ids:
            try:
                self("delete", "--force", i, timeout=15)
            except subprocess.TimeoutExpired:
                pass


class Runc(Mote):
    """runc (./x setup installs it) with a --root of its own, driven as Mote drives mote, to show
    what runc does with the same bundle."""
    PREFIX = "mote-runc-"

    def __init__(self, tmp_path, rootfs=""):
        if not shutil.which("runc"):
            pytest.fail("runc is missing: ./x setup installs it")
        super().__init__("x86_64", tmp_path, rootfs)
        self.root = str(tmp_path / "runc-state")

    def argv(self, *args):
        return ["runc", "--root", self.root, *args]


@pytest.fixture
def open_rootfs(native, rootfs):
    """`native` with a rootfs mapped (non-root on the host) users can reach: pytest's tmp dirs are
    0700, which a user namespace's root (host uid 100000, 200000...) cannot traverse, as with runc."""
    d = tempfile.mkdtemp(prefix="userns-rootfs-")
    os.chmod(d, 0o755)
    shutil.copytree(rootfs, os.path.join(d, "r"), symlinks=True)
    native.rootfs = os.path.join(d, "r")
    yield native
    shutil.rmtree(d)


@pytest.fixture
def runc_(tmp_path, rootfs):
    """runc with a --root of its own, its containers deleted afterwards."""
    r = Runc(tmp_path, rootfs)
    yield r
    r.cleanup()


@pytest.fixture
def mote(arch, tmp_path, rootfs):
    m = Mote(arch, tmp_path, rootfs)
    yield m
    m.cleanup()


@pytest.fixture
def native(tmp_path, rootfs):
    """The x86_64 mote only (for what qemu-user cannot emulate, or where one arch is enough)."""
    m = Mote("x86_64", tmp_path, rootfs)
    yield m
    m.cleanup()


def cgroup_dirs(cid):
    """Every cgroup directory of container `cid` (default path /mote/<id>) on this host: in
    each v1 hierarchy, or in the v2 tree when /sys/fs/cgroup is one."""
    out = []
    base = "/sys/fs/cgroup"
    if os.path.isdir(os.path.join(base, "mote", cid)):
        out.append(os.path.join(base, "mote", cid))
    for h in os.listdir(base):
        p = os.path.join(base, h, "mote", cid)
        if os.path.isdir(p):
            out.append(p)
    return out


def cgroup_parent():
    """A cgroup parent of the tests' own (engines default to shared names: /libpod_parent,
    /default), removed with remove_cgroup_parent."""
    return "/mote-engines-" + uuid.uuid4().hex[:8]


def remove_cgroup_parent(parent):
    """Removes the (empty) parent and its empty children in every hierarchy, deepest first."""
    for h in os.listdir("/sys/fs/cgroup"):
        top = os.path.join("/sys/fs/cgroup", h) + parent
        if not os.path.isdir(top) or os.path.islink(os.path.join("/sys/fs/cgroup", h)):
            continue
        for d, _, _ in sorted(os.walk(top), key=lambda w: -w[0].count("/")):
            try:
                os.rmdir(d)
            except OSError:
                pass


def fails(mote, *args, msg):
    """`mote ARGS` exits 1 with `msg` in its error, and never by a panic."""
    p = mote(*args)
    assert p.returncode == 1, (p.returncode, p.stderr)
    assert msg in p.stderr, p.stderr
    assert "panic" not in p.stderr
    return p


def mounts_mentioning(s):
    with open("/proc/self/mountinfo") as f:
        return [l for l in f if s in l]
