"""containerd 1.6 (its own daemon on a private socket, root and state; the runc v2 shim) driving
mote through `ctr run --runc-binary`, and the same scenarios with runc."""
import os
import time
import uuid

import pytest

from conftest import on_pty
from engines import containerd  # noqa: F401 (fixture)

RUNTIMES = ["mote", "runc"]


def new_id():
    return "mote-" + uuid.uuid4().hex[:10]


@pytest.fixture
def ctd(containerd, rootfs, tmp_path):
    """`start(runtime, *ctr_run_flags, cmd)`: a container of the test's own, removed afterwards;
    the runtime's --root is a directory that exists (a fresh one is its own test below)."""
    made = []

    def start(runtime, *args, root=None, make_root=True):
        cid = new_id()
        made.append(cid)
        root = root or tmp_path / "root"
        if make_root:
            os.makedirs(root, exist_ok=True)
        flags = list(args[:-1])
        p = containerd.ctr("run", *flags, *containerd.run_args(runtime, root, cid), str(rootfs), cid, *args[-1])
        return cid, p
    yield start
    for cid in made:
        containerd.remove(cid)


STAY = ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.1; done"]


def ok(p, rc=0):
    assert p.returncode == rc, f"exit {p.returncode}, wanted {rc}\nstdout:{p.stdout}\nstderr:{p.stderr}"
    return p.stdout


def tasks(containerd):
    """{id: status} from `ctr task ls`."""
    lines = containerd.ctr("task", "ls", check=0).stdout.splitlines()[1:]
    return {l.split()[0]: l.split()[2] for l in lines if l.strip()}


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_run(containerd, ctd, runtime):
    cid, p = ctd(runtime, "--rm", ["sh", "-c", "echo hello; exit 3"])
    assert ok(p, 3) == "hello\n"
    assert cid not in tasks(containerd)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_detached_task_ls_kill_delete(containerd, ctd, runtime):
    cid, p = ctd(runtime, "-d", STAY)
    ok(p)
    assert tasks(containerd)[cid] == "RUNNING"
    ok(containerd.ctr("task", "kill", cid))
    for _ in range(100):
        if tasks(containerd).get(cid) == "STOPPED":
            break
        time.sleep(0.1)
    assert tasks(containerd)[cid] == "STOPPED"
    ok(containerd.ctr("task", "delete", cid))
    assert cid not in tasks(containerd)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_task_exec(containerd, ctd, runtime):
    # through `mote exec --process` (the shim writes the process JSON)
    cid, p = ctd(runtime, "-d", STAY)
    ok(p)
    out = ok(containerd.ctr("task", "exec", "--exec-id", "e1", cid, "sh", "-c", "echo in $(cat /proc/1/comm)"))
    assert out == "in sh\n", out
    assert containerd.ctr("task", "exec", "--exec-id", "e2", cid, "sh", "-c", "exit 6").returncode == 6


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_pause_resume(containerd, ctd, runtime):
    cid, p = ctd(runtime, "-d", STAY)
    ok(p)
    ok(containerd.ctr("task", "pause", cid))
    assert tasks(containerd)[cid] == "PAUSED"
    ok(containerd.ctr("task", "resume", cid))
    assert tasks(containerd)[cid] == "RUNNING"


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_metrics(containerd, ctd, runtime):
    cid, p = ctd(runtime, "--memory-limit", str(64 << 20), "-d", STAY)
    ok(p)
    m = ok(containerd.ctr("task", "metrics", cid))
    rows = dict(l.split()[:2] for l in m.splitlines() if len(l.split()) >= 2)
    if "memory.limit_in_bytes" in rows:  # cgroup v1
        assert int(rows["memory.limit_in_bytes"]) == 64 << 20, m
        assert int(rows["pids.current"]) >= 1, m
    else:
        assert int(rows["memory.limit"]) == 64 << 20, m


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_state_root_that_does_not_exist_yet(ctd, runtime, tmp_path):
    # A fresh host: the shim's --root (<runc-root>/<namespace>) and its parents are not there
    # yet; runc makes them, the state root 0700.
    # needs --root made with its parents (issue 13, the security helper's part)
    root = tmp_path / "fresh" / "a" / "b"
    cid, p = ctd(runtime, "--rm", ["echo", "first"], root=root, make_root=False)
    assert ok(p) == "first\n"
    assert os.stat(root / "default").st_mode & 0o777 == 0o700


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_run_tty(containerd, rootfs, runtime, tmp_path):
    # ctr run -t: the shim's console socket gets the pty; ctr itself needs a terminal.
    cid = new_id()
    os.makedirs(tmp_path / "root")
    argv = ["ctr", "--address", containerd.sock, "run", "--rm", "-t", *containerd.run_args(runtime, tmp_path / "root", cid),
            str(rootfs), cid, "sh", "-c", "tty; [ /dev/console -ef /dev/pts/0 ] && echo console-$((2*3)); exit 3"]
    try:
        rc, out = on_pty(argv, expect=b"console-6")
    finally:
        containerd.remove(cid)
    assert "/dev/pts/0" in out and "console-6" in out, out
