"""The state dir and the container's process across interrupted or concurrent verbs: locked from
the moment it exists (no transient "creating"), a process that dies with a create killed before
it finished, `run` that handles signals from its start, `start` that returns after the exec,
delete --force that cleans up what a corrupt or bogus state entry hides and never claims success
for what it did not remove."""
import json
import os
import signal
import socket
import subprocess
import time

import pytest

from conftest import TIMEOUT, cgroup_dirs, mounts_mentioning, binary


def no_residue(mote, cid):
    assert not os.path.exists(os.path.join(mote.root, cid)), "state dir left"
    assert cgroup_dirs(cid) == [], "cgroup left"
    assert mounts_mentioning(mote.rootfs) == [], "mount left"


def procs_mentioning(cid):
    out = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if cid.encode() in f.read():
                    out.append(int(pid))
        except (FileNotFoundError, ProcessLookupError):
            pass
    return out


def children_of(pid):
    try:
        return [int(c) for c in open(f"/proc/{pid}/task/{pid}/children").read().split()]
    except FileNotFoundError:
        return []


def gone(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] in "ZX"
    except FileNotFoundError:
        return True


def wait_until(cond, what, secs=10):
    end = time.time() + secs
    while time.time() < end:
        if cond():
            return
        time.sleep(0.02)
    pytest.fail(what)


class BlockingConsole:
    """A console socket whose backlog is full: a create that connects to it blocks there, after
    its state dir and cgroup exist and before its process is spawned."""

    def __init__(self, path):
        self.path = path
        self.srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.srv.bind(path)
        self.srv.listen(0)
        self.filler = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.filler.connect(path)
        self.conns = []

    def release(self):
        """Accepts every pending connection (mote's included) and returns the pty masters sent."""
        self.srv.settimeout(TIMEOUT)
        fds = []
        for _ in range(2):
            c, _ = self.srv.accept()
            self.conns.append(c)
            c.settimeout(0.5)
            try:
                _, got, _, _ = socket.recv_fds(c, 1024, 1)
                fds += got
            except (socket.timeout, OSError):
                pass
        return fds

    def close(self):
        for s in self.conns + [self.filler, self.srv]:
            s.close()


def blocked_create(native, verb, args=("sleep", "30"), extra=(), **kw):
    cid = native.new_id()
    b = native.bundle(list(args), process={"terminal": True}, **kw)
    console = BlockingConsole(str(native.tmp / f"console-{cid}.sock"))
    log = open(native.tmp / f"{cid}.log", "w")
    p = subprocess.Popen(native.argv(verb, "--console-socket", console.path, *extra, "--bundle", b, cid),
                         stdout=log, stderr=log)
    wait_until(lambda: os.path.exists(os.path.join(native.root, cid)), "create never made its state dir")
    time.sleep(0.2)  # into the blocking connect
    assert p.poll() is None, open(native.tmp / f"{cid}.log").read()
    return cid, p, console


def test_state_never_shows_creating(native):
    """While create runs, state waits for it (the dir is locked from the moment it exists); a
    create killed halfway leaves a state that `state` refuses and delete --force removes."""
    cid, p, console = blocked_create(native, "create")
    try:
        try:
            s = native("state", cid, timeout=1)
            assert "creating" not in s.stdout, s.stdout
        except subprocess.TimeoutExpired:
            pass  # waiting for the lock: right
        p.kill()
        p.wait(timeout=TIMEOUT)
        s = native("state", cid)
        assert s.returncode == 1 and "creating" not in s.stdout, (s.stdout, s.stderr)
        native("delete", "--force", cid, check=0)
        no_residue(native, cid)
    finally:
        console.close()


def test_run_handles_sigterm_during_create(native):
    """SIGTERM to `run` while it creates: forwarded to the container once it runs, then the
    container is deleted (it once killed run halfway and left the container behind)."""
    # No PID namespace of its own: PID 1 of one ignores a signal it has no handler for yet,
    # and a forwarded signal may come before a shell's trap exists.
    ns = [{"type": t} for t in ("ipc", "uts", "mount", "network")]
    cid, p, console = blocked_create(native, "run", linux={"namespaces": ns})
    try:
        p.send_signal(signal.SIGTERM)
        time.sleep(0.1)
        fds = console.release()
        assert p.wait(timeout=TIMEOUT) == 128 + signal.SIGTERM, open(native.tmp / f"{cid}.log").read()
        for fd in fds:
            os.close(fd)
        no_residue(native, cid)
        assert procs_mentioning(cid) == []
    finally:
        console.close()
        if p.poll() is None:
            p.kill()


def test_create_killed_after_ready_takes_its_process(native):
    """create blocked writing --pid-file (after the process is ready) and killed: the process
    does not stay blocked on the exec fifo forever."""
    cid = native.new_id()
    b = native.bundle(["sleep", "30"])
    pidfile = native.tmp / "pid"
    os.mkfifo(str(pidfile) + ".tmp")
    with open(native.tmp / "c.log", "w") as log:
        p = subprocess.Popen(native.argv("create", "--pid-file", str(pidfile), "--bundle", b, cid), stdout=log, stderr=log)
    try:
        wait_until(lambda: children_of(p.pid), "create never spawned its process")
        kids = children_of(p.pid)
        time.sleep(0.2)
        p.kill()
        p.wait(timeout=TIMEOUT)
        wait_until(lambda: all(gone(k) for k in kids), "the container's process outlived its killed create")
        native("delete", "--force", cid, check=0)
        no_residue(native, cid)
    finally:
        if p.poll() is None:
            p.kill()


def test_start_returns_after_the_exec(native):
    """Once start returns, the process is the container's program (runc: the exec closed the
    fifo), so a signal sent right after start meets its handlers, not mote's defaults."""
    mote_exe = os.path.realpath(binary("x86_64", "mote"))
    b = native.bundle(["sleep", "30"])
    for _ in range(20):
        cid = native.new_id()
        with open(native.tmp / "c.log", "w") as log:
            assert subprocess.run(native.argv("create", "--bundle", b, cid), stdout=log, stderr=log,
                                  timeout=TIMEOUT).returncode == 0
        pid = json.loads(native("state", cid, check=0).stdout)["pid"]
        native("start", cid, check=0)
        assert os.path.realpath(f"/proc/{pid}/exe") != mote_exe, "start returned before the exec"
        native("delete", "--force", cid, check=0)


def test_symlink_state_dir_is_not_followed(native, tmp_path):
    target = tmp_path / "elsewhere"
    os.makedirs(target)
    (target / "state.json").write_text("{}")
    os.makedirs(native.root, exist_ok=True)
    link = os.path.join(native.root, "sym-" + native.new_id())
    os.symlink(target, link)
    name = os.path.basename(link)
    p = native("delete", name)
    assert p.returncode == 1 and "not a directory" in p.stderr, p.stderr
    native("delete", "--force", name, check=0)
    assert not os.path.lexists(link) and (target / "state.json").exists()


@pytest.mark.parametrize("kind", ["file", "dangling symlink"])
def test_delete_force_removes_a_bogus_entry(native, kind):
    os.makedirs(native.root, exist_ok=True)
    name = native.new_id()
    path = os.path.join(native.root, name)
    if kind == "file":
        open(path, "w").close()
    else:
        os.symlink("/nonexistent-" + name, path)
    native("delete", "--force", name, check=0)
    assert not os.path.lexists(path)


def test_delete_force_with_corrupt_state_cleans_process_and_cgroup(native):
    cid = native.new_id()
    with open(native.tmp / "r.log", "w") as log:
        assert subprocess.run(native.argv("run", "-d", "--bundle", native.bundle(["sleep", "30"]), cid),
                              stdout=log, stderr=log, timeout=TIMEOUT).returncode == 0
    pid = json.loads(native("state", cid, check=0).stdout)["pid"]
    f = os.path.join(native.root, cid, "state.json")
    text = open(f).read()
    open(f, "w").write(text[: text.index('"annotations"')])  # cut: invalid JSON
    native("delete", "--force", cid, check=0)
    wait_until(lambda: gone(pid), "the container's process was left running")
    no_residue(native, cid)


def test_delete_force_never_claims_what_it_did_not_remove(native):
    os.makedirs(native.root, exist_ok=True)
    cid = native.new_id()
    d = os.path.join(native.root, cid)
    os.makedirs(d)
    open(os.path.join(d, "state.json"), "w").write("garbage")
    p = native("delete", "--force", cid)
    assert p.returncode == 1 and "unknown" in p.stderr, p.stderr
    assert os.path.isdir(d)
    os.remove(os.path.join(d, "state.json"))
    os.rmdir(d)


def test_stale_staging_dir_of_a_killed_create_is_cleared(native):
    """A create killed between the mkdir and the rename of its staging dir leaves .new-<pid>; a
    later create that gets the same pid clears it instead of failing (EEXIST)."""
    os.makedirs(native.root, exist_ok=True)
    cid = native.new_id()
    b = native.bundle(["true"])
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: leaves a staging dir named after its own pid, then runs create
        try:
            os.close(r)
            stale = os.path.join(native.root, f".new-{os.getpid()}")
            os.mkdir(stale)
            open(os.path.join(stale, "state.json"), "w").write("{}")
            os.write(w, b"x")
            os.execv(native.argv()[0], native.argv() + ["run", "--bundle", b, cid])
        finally:
            os._exit(99)
    os.close(w)
    os.read(r, 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert not any(n.startswith(".new-") for n in os.listdir(native.root))


def test_state_root_made_0700_and_every_leftover_removed(native):
    """A missing --root is made, each level 0700, by the first create (which makes its staging
    dir first and the root only when that fails); delete removes the state dir whatever it
    still holds of mote's: the exec fifo of a container never started, a state.json.tmp left by a
    crash (both removed only when the dir is not empty without them)."""
    native.root = os.path.join(native.root, "a", "b")
    b = native.bundle(["true"])
    created, crashed = native.new_id(), native.new_id()
    for cid in (created, crashed):
        with open(native.tmp / "create.log", "w+") as log:  # the created process holds it open
            p = subprocess.run(native.argv("create", "--bundle", b, cid), stdin=subprocess.DEVNULL,
                               stdout=log, stderr=log, timeout=TIMEOUT)
            log.seek(0)
            assert p.returncode == 0, log.read()
    for d in (os.path.dirname(native.root), native.root):
        assert os.stat(d).st_mode & 0o777 == 0o700, oct(os.stat(d).st_mode)
    assert os.path.exists(os.path.join(native.root, created, "exec.fifo"))
    open(os.path.join(native.root, crashed, "state.json.tmp"), "w").write("{}")
    for cid in (created, crashed):
        native("delete", "--force", cid, check=0)
        no_residue(native, cid)
