"""create / start / state / kill / delete / run / list, driven from outside on every arch."""
import contextlib
import json
import os
import subprocess
import time

import pytest

from conftest import cgroup_dirs, run, TIMEOUT


def create(mote, cid, bundle, *extra):
    """`mote create` with the container's stdio on files (a pipe would stay open as long as the
    container lives, since its process inherits it)."""
    out, err = mote.tmp / f"{cid}.out", mote.tmp / f"{cid}.err"
    with open(out, "w") as f, open(err, "w") as e:
        p = subprocess.run(mote.argv("create", "--bundle", bundle, *extra, cid), stdout=f, stderr=e,
                           stdin=subprocess.DEVNULL, timeout=TIMEOUT)
    p.stderr = open(err).read()
    return p, out


def state(mote, cid):
    p = mote("state", cid, check=0)
    return json.loads(p.stdout)


def wait_status(mote, cid, want, timeout=10):
    end = time.time() + timeout
    s = None
    while time.time() < end:
        p = mote("state", cid)
        if p.returncode == 0:  # (run may not have made the container yet)
            s = json.loads(p.stdout)
            if s["status"] == want:
                return s
        time.sleep(0.05)
    raise AssertionError(f"{cid} never became {want}: {s}")


def test_run_exit_codes(mote):
    for code in (0, 3, 255):
        b = mote.bundle(["sh", "-c", f"exit {code}"])
        p = mote("run", "--bundle", b, mote.new_id())
        assert p.returncode == code, p.stderr


NO_PIDNS = {"linux": {"namespaces": [{"type": t} for t in ("mount", "ipc", "uts", "network")]}}


def test_run_killed_by_signal_is_128_plus_sig(mote):
    # Without a PID namespace the process is not an init, so its own signals kill it.
    b = mote.bundle(["sh", "-c", "kill -9 $$"], **NO_PIDNS)
    assert mote("run", "--bundle", b, mote.new_id()).returncode == 137
    b = mote.bundle(["sh", "-c", "kill -TERM $$"], **NO_PIDNS)
    assert mote("run", "--bundle", b, mote.new_id()).returncode == 143


def test_run_output_and_cleanup(mote):
    cid = mote.new_id()
    b = mote.bundle(["sh", "-c", "echo hello; echo oops >&2"])
    p = mote("run", "--bundle", b, cid, check=0)
    assert p.stdout == "hello\n" and p.stderr == "oops\n"
    # run deletes its container when the process is gone: nothing left
    assert not os.path.exists(os.path.join(mote.root, cid))
    assert cgroup_dirs(cid) == []


def test_options_after_id_are_accepted(mote):
    b = mote.bundle(["true"])
    cid = mote.new_id()
    assert mote("run", cid, "--bundle", b).returncode == 0


def test_create_start_states_kill_delete(mote):
    cid = mote.new_id()
    b = mote.bundle(["sleep", "30"])
    p, _ = create(mote, cid, b, "--pid-file", str(mote.tmp / "pid"))
    assert p.returncode == 0, p.stderr
    s = state(mote, cid)
    assert s["status"] == "created" and s["id"] == cid and s["bundle"] == b and s["pid"] > 0
    with open(mote.tmp / "pid") as f:
        assert int(f.read()) == s["pid"]
    # the process exists, in the container's cgroup, but has not exec'd the user's program
    assert os.path.exists(f"/proc/{s['pid']}")
    assert cgroup_dirs(cid), "no cgroup created"
    # delete of a running container without --force is refused; created->running on start
    mote("start", cid, check=0)
    s = wait_status(mote, cid, "running")
    # running once start returned; the exec itself follows a moment later
    end = time.time() + 5
    while time.time() < end:
        with open(f"/proc/{s['pid']}/cmdline", "rb") as f:
            argv0 = f.read().split(b"\0")[0]
        if argv0 == b"sleep":
            break
        time.sleep(0.02)
    assert argv0 == b"sleep"
    assert mote("start", cid).returncode == 1
    p = mote("delete", cid)
    assert p.returncode == 1 and "running" in p.stderr
    mote("kill", cid, "KILL", check=0)
    wait_status(mote, cid, "stopped")
    assert state(mote, cid)["pid"] == 0
    assert mote("kill", cid).returncode == 1  # nothing to signal
    mote("delete", cid, check=0)
    assert not os.path.exists(os.path.join(mote.root, cid))
    assert cgroup_dirs(cid) == []
    assert mote("state", cid).returncode == 1


def test_kill_signal_names_and_numbers(mote):
    for sig, code in (("TERM", 143), ("SIGUSR1", 138), ("2", 130)):
        cid = mote.new_id()
        # sh as PID 1 would ignore signals without a handler: trap them and exit 128+n ourselves
        b = mote.bundle(["sh", "-c", f"trap 'exit {code}' TERM USR1 INT; while :; do sleep 0.05; done"])
        p = subprocess.Popen(mote.argv("run", "--bundle", b, cid), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_status(mote, cid, "running")
            time.sleep(0.2)
            mote("kill", cid, sig, check=0)
            assert p.wait(timeout=TIMEOUT) == code
        finally:
            p.kill()
            p.wait()


def test_delete_force_running(mote):
    cid = mote.new_id()
    p, _ = create(mote, cid, mote.bundle(["sleep", "30"]))
    assert p.returncode == 0, p.stderr
    pid = state(mote, cid)["pid"]
    mote("start", cid, check=0)
    mote("delete", "--force", cid, check=0)
    assert not os.path.exists(os.path.join(mote.root, cid))
    time.sleep(0.1)
    assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] == "Z"
    assert cgroup_dirs(cid) == []


def test_delete_created_container(mote):
    cid = mote.new_id()
    p, _ = create(mote, cid, mote.bundle(["sleep", "30"]))
    assert p.returncode == 0, p.stderr
    mote("delete", cid, check=0)  # a created container may be deleted without --force
    assert cgroup_dirs(cid) == []


def test_list_table_and_json(mote):
    cid = mote.new_id()
    p, _ = create(mote, cid, mote.bundle(["sleep", "30"]))
    assert p.returncode == 0, p.stderr
    t = mote("list", check=0).stdout.splitlines()
    assert t[0].split() == ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]
    assert any(l.split()[0] == cid and l.split()[2] == "created" for l in t[1:])
    j = json.loads(mote("list", "--format", "json", check=0).stdout)
    assert [c["id"] for c in j] == [cid]


def test_run_detach(mote):
    cid = mote.new_id()
    b = mote.bundle(["sleep", "30"])
    with open(mote.tmp / "out", "w") as f:
        p = subprocess.run(mote.argv("run", "-d", "--bundle", b, cid), stdout=f, stderr=f, timeout=TIMEOUT)
    assert p.returncode == 0, p.stderr
    assert state(mote, cid)["status"] == "running"


def test_global_flags_and_json_log(mote):
    log = mote.tmp / "log.json"
    p = run(mote.argv()[:-2] + ["--root", mote.root, "--log", str(log), "--log-format", "json", "state", "nope"])
    assert p.returncode == 1
    line = json.loads(open(log).read().splitlines()[-1])
    assert line["level"] == "error" and "nope" in line["msg"] and line["time"].endswith("Z")


def test_run_forwards_signals_to_the_process(mote):
    cid = mote.new_id()
    b = mote.bundle(["sh", "-c", "trap 'exit 42' TERM; trap 'exit 43' USR2; while :; do sleep 0.05; done"])
    p = subprocess.Popen(mote.argv("run", "--bundle", b, cid), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_status(mote, cid, "running")
        time.sleep(0.3)
        p.send_signal(15)
        assert p.wait(timeout=TIMEOUT) == 42
    finally:
        p.kill()
        p.wait()
    assert cgroup_dirs(cid) == []


def smaps_rss(pid, name):
    """Rss in KiB of the mapping of /proc/PID/smaps whose line ends with `name`."""
    lines = open(f"/proc/{pid}/smaps").read().splitlines()
    for i, l in enumerate(lines):
        if l.endswith(name):
            return next(int(x.split()[1]) for x in lines[i + 1:] if x.startswith("Rss:"))
    raise AssertionError(f"no {name} in /proc/{pid}/smaps")


def rss_anon(pid):
    return next(int(l.split()[1]) for l in open(f"/proc/{pid}/status") if l.startswith("RssAnon:"))


@contextlib.contextmanager
def waiting_run(native, exe=None, env=None):
    """A foreground run (by `exe`, the native mote by default) of a container that loops until
    TERM, then exits 42: yields the run's Popen while the container runs; then sends TERM, which
    the run must forward, return as 42 and clean up after."""
    cid = native.new_id()
    b = native.bundle(["sh", "-c", "trap 'exit 42' TERM; while :; do sleep 0.05; done"])
    argv = native.argv("run", "--bundle", b, cid)
    p = subprocess.Popen([exe or argv[0], *argv[1:]], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        wait_status(native, cid, "running")
        yield p
        p.send_signal(15)
        assert p.wait(timeout=TIMEOUT) == 42
    finally:
        p.kill()
        p.wait()
    assert cgroup_dirs(cid) == [] and native("state", cid).returncode != 0


def test_a_waiting_run_gives_back_what_create_used(native):
    """A foreground run waits as long as its container: once it has waited a second with
    nothing to do, the stack pages create used (~64 of ~96 KiB), the parsed config and the scratch
    buffers in .bss go back (anonymous memory 188 -> 68 KiB here), and the wait, the signal
    forwarding and the delete after it work on what is left."""
    # A small environment: the top of the stack holds it, and the bound below is for the rest.
    with waiting_run(native, env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}) as p:
        end, rss = time.time() + 5, None
        while time.time() < end:
            rss = smaps_rss(p.pid, "[stack]")
            if rss <= 48:
                break
            time.sleep(0.05)
        assert rss <= 48, f"the waiting run keeps {rss} KiB of stack"
        assert rss_anon(p.pid) <= 100, f"the waiting run keeps {rss_anon(p.pid)} KiB of anonymous memory"


def test_a_waiting_run_outlives_an_update_of_mote_in_place(native, tmp_path):
    """mote's file rewritten in place (cp or curl -o over it, as one updates a static binary)
    while a foreground run waits: the run goes on, forwards the signal and cleans up, since it
    runs from its sealed copy. (A read-only overlayfs view of the file instead, tried for its
    memory, shares the file's pages: this run then died of SIGSEGV and left its state behind.)"""
    import shutil
    d = tmp_path / "bin"
    os.makedirs(d)
    shutil.copy(native.argv()[0], d / "mote")
    with waiting_run(native, exe=str(d / "mote")):
        time.sleep(1.2)  # past the quiet second: the run sits in its wait
        # Another binary over it, in place: truncated, then rewritten (open O_TRUNC, as cp does).
        with open(d / "mote", "r+b") as f:
            f.truncate(0)
            f.write(open("/bin/true", "rb").read())


def test_config_from_runc_spec_runs(native, tmp_path):
    """A config.json written by `runc spec` (Debian's runc) runs unchanged but for the process."""
    import shutil as sh
    if not sh.which("runc"):
        pytest.fail("runc is missing: ./x setup installs it")
    b = tmp_path / "runc-bundle"
    os.makedirs(b)
    subprocess.run(["runc", "spec", "--bundle", str(b)], check=True, timeout=TIMEOUT)
    c = json.load(open(b / "config.json"))
    c["root"]["path"] = native.rootfs
    c["process"]["terminal"] = False
    c["process"]["args"] = ["sh", "-c", "echo ok; hostname; grep CapAmb /proc/self/status"]
    json.dump(c, open(b / "config.json", "w"))
    p = native("run", "--bundle", str(b), native.new_id(), check=0)
    assert p.stdout.splitlines()[:2] == ["ok", "runc"]


def test_a_seccomp_profile_is_applied_not_warned_about(native):
    # A profile that denies everything: before seccomp existed in mote this container ran.
    b = native.bundle(["true"], linux={"seccomp": {"defaultAction": "SCMP_ACT_KILL_PROCESS", "syscalls": []}})
    p = native("run", "--bundle", b, native.new_id())
    assert p.returncode == 128 + 31, (p.returncode, p.stderr)  # SIGSYS at the first syscall
    assert "not supported" not in p.stderr
