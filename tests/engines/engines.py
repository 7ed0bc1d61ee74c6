"""Real engines driving mote: podman 4.3 (through conmon) and containerd 1.6 (through its runc v2
shim), both from Debian, each configured here on private directories and sockets of its own
(never the machine's /var/lib/containers, /run/containerd or a systemd), with mote and, for
comparison, Debian's runc as the OCI runtime.

The podman store and the containerd daemon live as long as the test module; every container a
test makes is removed by the test, and whatever is left by the fixture's teardown."""
import os
import resource
import shutil
import signal
import subprocess
import tarfile
import time
import uuid

import pytest

from conftest import binary, cgroup_parent, remove_cgroup_parent

# MOTE_ENGINES_RUNTIME: another path for the engines to call (a wrapper that records argv, say).
MOTE = os.environ.get("MOTE_ENGINES_RUNTIME") or binary("x86_64", "mote")
MOTE_INIT = binary("x86_64", "mote-init")
RUNC = shutil.which("runc") or "/usr/sbin/runc"
RUNTIMES = {"mote": MOTE, "runc": RUNC}
# One engine command's time limit (the first podman run makes its store).
ENGINE_TIMEOUT = 60


def need(tool):
    path = shutil.which(tool)
    if not path:
        pytest.fail(f"{tool} is missing: ./x setup installs it (Debian package podman/containerd)")
    return path


@pytest.fixture(scope="session")
def rootfs_tar(rootfs, tmp_path_factory):
    """The shared busybox rootfs as a tar, with /etc/group for `--user` and podman's lookups."""
    d = tmp_path_factory.mktemp("image")
    tar = d / "rootfs.tar"
    group = d / "group"
    group.write_text("root:x:0:\nnobody:x:65534:\n")
    with tarfile.open(tar, "w") as t:
        t.add(str(rootfs), arcname=".")
        t.add(str(group), arcname="./etc/group")
    return tar


# podman's global options the tests use that take the next word as their value.
VALUED_GLOBAL_OPTIONS = ("--runtime-flag",)


class Podman:
    def __init__(self, d, env):
        self.dir = d
        self.env = env
        self.image = "localhost/mote-busybox:latest"
        self.cgroup_parent = cgroup_parent()

    def __call__(self, *args, runtime="mote", timeout=ENGINE_TIMEOUT, check=None, **kw):
        # Every container (and its conmon) under our own cgroup parent.
        # The command is the first word that is neither an option nor the value of one.
        i = next((i for i, a in enumerate(args) if not a.startswith("-")
                  and (i == 0 or args[i - 1] not in VALUED_GLOBAL_OPTIONS)), None)
        if i is not None and args[i] in ("run", "create"):
            args = (*args[:i + 1], "--cgroup-parent", self.cgroup_parent, *args[i + 1:])
        argv = ["podman", "--runtime", runtime, *args]
        kw.setdefault("capture_output", True)
        kw.setdefault("text", True)
        p = subprocess.run(argv, env=self.env, timeout=timeout, **kw)
        if check is not None:
            assert p.returncode == check, f"{argv} exited {p.returncode}\nstdout:{p.stdout}\nstderr:{p.stderr}"
        return p

    def name(self):
        return "mote-" + uuid.uuid4().hex[:10]


@pytest.fixture(scope="module")
def podman(tmp_path_factory, rootfs_tar):
    need("podman")
    need("conmon")
    d = tmp_path_factory.mktemp("podman")
    # Within this sandbox's hard limits (podman's defaults ask for more than it may have).
    nofile = min(1024, resource.getrlimit(resource.RLIMIT_NOFILE)[1])
    nproc = min(4096, resource.getrlimit(resource.RLIMIT_NPROC)[1])
    (d / "containers.conf").write_text(f"""[containers]
netns = "none"
log_driver = "k8s-file"
default_ulimits = ["nofile={nofile}:{nofile}", "nproc={nproc}:{nproc}"]

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "{d}/events.log"
tmp_dir = "{d}/tmp"
volume_path = "{d}/volumes"
runtime = "mote"
runtime_supports_json = ["mote", "runc"]

[engine.runtimes]
mote = ["{MOTE}"]
runc = ["{RUNC}"]
""")
    (d / "storage.conf").write_text(f"""[storage]
driver = "vfs"
runroot = "{d}/run"
graphroot = "{d}/graph"
""")
    (d / "registries.conf").write_text("")
    env = dict(os.environ, CONTAINERS_CONF=str(d / "containers.conf"), CONTAINERS_STORAGE_CONF=str(d / "storage.conf"),
               CONTAINERS_REGISTRIES_CONF=str(d / "registries.conf"), PATH="/usr/bin:/usr/sbin:/bin:/sbin")
    pm = Podman(d, env)
    pm("import", str(rootfs_tar), pm.image, check=0)
    yield pm
    try:
        pm("rm", "--all", "--force", "--time", "0", timeout=120)
        pm("system", "reset", "--force", timeout=120)
    finally:
        remove_cgroup_parent(pm.cgroup_parent)


class Containerd:
    def __init__(self, d, sock):
        self.dir = d
        self.sock = sock
        self.cgroup_parent = cgroup_parent()

    def ctr(self, *args, timeout=ENGINE_TIMEOUT, check=None, **kw):
        argv = ["ctr", "--address", self.sock, *args]
        kw.setdefault("capture_output", True)
        kw.setdefault("text", True)
        p = subprocess.run(argv, timeout=timeout, **kw)
        if check is not None:
            assert p.returncode == check, f"{argv} exited {p.returncode}\nstdout:{p.stdout}\nstderr:{p.stderr}"
        return p

    def run_args(self, runtime, root, cid):
        """`ctr run` flags that make the runc shim call `runtime` with --root `root`; then the
        rootfs, the id and the command follow."""
        # No image config: the PATH a shell would have.
        return ["--env", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "--cgroup", f"{self.cgroup_parent}/{cid}",
                "--runc-binary", RUNTIMES[runtime], "--runc-root", str(root), "--rootfs"]

    def remove(self, cid):
        self.ctr("task", "kill", "--signal", "SIGKILL", cid)
        for _ in range(50):
            if self.ctr("task", "delete", cid).returncode == 0 or cid not in self.ctr("task", "ls", "-q").stdout.split():
                break
            time.sleep(0.1)
        self.ctr("container", "rm", cid)


@pytest.fixture(scope="module")
def containerd(tmp_path_factory):
    need("containerd")
    need("ctr")
    need("containerd-shim-runc-v2")
    # Short: unix socket paths are limited to 108 bytes.
    d = tmp_path_factory.mktemp("ctd")
    sock = str(d / "c.sock")
    (d / "config.toml").write_text(f"""version = 2
root = "{d}/root"
state = "{d}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing"]
[grpc]
  address = "{sock}"
[ttrpc]
  address = "{sock}.ttrpc"
[debug]
  address = "{d}/debug.sock"
[metrics]
  address = ""
""")
    log = open(d / "containerd.log", "w")
    daemon = subprocess.Popen(["containerd", "--config", str(d / "config.toml")], stdout=log, stderr=log,
                              start_new_session=True)
    c = Containerd(d, sock)
    try:
        deadline = time.monotonic() + 30
        while c.ctr("version", timeout=10).returncode != 0:
            if daemon.poll() is not None or time.monotonic() > deadline:
                pytest.fail("containerd did not start: " + (d / "containerd.log").read_text()[-2000:])
            time.sleep(0.2)
        yield c
    finally:
        try:
            for cid in c.ctr("container", "ls", "-q", timeout=20).stdout.split():
                c.remove(cid)
        finally:
            daemon.send_signal(signal.SIGTERM)
            try:
                daemon.wait(timeout=15)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait(timeout=15)
            log.close()
            remove_cgroup_parent(c.cgroup_parent)
