"""mote-init in container mode (what tini and catatonit do), black-box: exit codes, signal
forwarding, reaping, subreaper, job control, pause. Children are the host's /bin/sh and
coreutils; under qemu-user the emulated init execs them natively, so the init logic under test
is the emulated one."""
import fcntl
import os
import signal
import subprocess
import termios
import time

import pytest

from conftest import TIMEOUT, binary, cmd, on_pty, run


def popen(argv, **kw):
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.PIPE)
    return subprocess.Popen(argv, text=True, start_new_session=True, **kw)


def finish(p, timeout=TIMEOUT):
    """Waits for p; on timeout kills its process group (ours) and fails."""
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        pytest.fail("timed out")
    return p.returncode, out, err


def ready(p):
    """Waits for the child to print its first line (it has set up its traps)."""
    line = p.stdout.readline()
    assert line.strip() == "ready", line
    return line


def proc_status(pid):
    with open(f"/proc/{pid}/status") as f:
        return dict(l.rstrip("\n").split(":\t", 1) for l in f if ":\t" in l)


def children_of(pid):
    """(pid, state) of every process whose parent is pid, from a /proc scan."""
    found = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                st = proc_status(d)
            except OSError:
                continue
            if st.get("PPid") == str(pid):
                found.append((int(d), st["State"][0]))
    return found


def test_version(arch):
    p = run(cmd(arch, "mote-init", "--version"), check=0)
    assert p.stdout.splitlines()[0] == "mote-init version 0.1.0"


def test_help(arch):
    p = run(cmd(arch, "mote-init", "--help"), check=0)
    assert "usage: mote-init" in p.stdout and "-sgwWv" in p.stdout


def test_size(arch):
    size = os.path.getsize(binary(arch, "mote-init"))
    assert size < 16384, f"mote-init is {size} bytes, over the 16 KiB budget (see init/README.md, Size)"


@pytest.mark.parametrize("script,code", [
    ("true", 0), ("exit 3", 3), ("exit 1", 1), ("exit 42", 42), ("exit 126", 126),
    ("exit 200", 200), ("exit 255", 255), ("kill -KILL $$", 137), ("kill -TERM $$", 143),
    ("kill -USR1 $$", 138), ("kill -USR2 $$", 140),
])
def test_exit_code(arch, script, code):
    run(cmd(arch, "mote-init", "--", "/bin/sh", "-c", script), check=code)


def test_command_without_dashdash_and_path_lookup(arch):
    run(cmd(arch, "mote-init", "sh", "-c", "exit 7"), check=7)
    run(cmd(arch, "mote-init", "true"), check=0)


@pytest.mark.parametrize("flags,script,code", [
    (["-e", "3"], "exit 3", 0),
    (["-e", "3"], "exit 4", 4),
    (["-e", "4", "-e", "143"], "kill -TERM $$", 0),
    (["-e", "4", "-e", "143"], "exit 4", 0),
])
def test_expected_exit_codes(arch, flags, script, code):
    run(cmd(arch, "mote-init", *flags, "--", "sh", "-c", script), check=code)


def test_not_found_is_127(arch):
    p = run(cmd(arch, "mote-init", "--", "no-such-command-xyz"), check=127)
    assert "no-such-command-xyz" in p.stderr and "not found" in p.stderr


def test_not_executable_is_126(arch, tmp_path):
    f = tmp_path / "script"
    f.write_text("#!/bin/sh\nexit 0\n")
    f.chmod(0o644)
    p = run(cmd(arch, "mote-init", "--", str(f)), check=126)
    assert str(f) in p.stderr and "permission denied" in p.stderr


@pytest.mark.parametrize("args", [["--bogus"], ["-x", "true"], ["-e"], ["-e", "300", "true"],
                                  ["-p", "NOPE", "true"], ["-G", "x", "true"], ["-sx", "true"],
                                  ["-se", "x", "true"], []])
def test_bad_usage_exits_1(arch, args):
    p = run(cmd(arch, "mote-init", *args), check=1)
    assert p.stderr.startswith("mote-init: ") and "panic" not in p.stderr


@pytest.mark.parametrize("sig", ["USR1", "USR2", "HUP", "INT", "TERM", "WINCH", "QUIT"])
def test_forwards_signal(arch, sig):
    script = f'trap "exit 42" {sig}; echo ready; while :; do sleep 0.05; done'
    p = popen(cmd(arch, "mote-init", "--", "sh", "-c", script))
    ready(p)
    p.send_signal(getattr(signal, "SIG" + sig))
    code, _, _ = finish(p)
    assert code == 42


def test_signal_that_kills_the_child_gives_128_plus(arch):
    p = popen(cmd(arch, "mote-init", "--", "sh", "-c", "echo ready; exec sleep 20"))
    ready(p)
    p.send_signal(signal.SIGUSR2)
    assert finish(p)[0] == 128 + signal.SIGUSR2


GROUP = ('trap "echo parent-got" USR1; '
         'sh -c \'trap "echo grandchild-got; exit 0" USR1; echo ready; '
         'i=0; while [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done\'; echo after; exit 5')


@pytest.mark.parametrize("how", ["flag", "env", "tini-env"])
def test_group_forwarding_reaches_grandchild(arch, how):
    env = dict(os.environ)
    flags = []
    if how == "flag":
        flags = ["-g"]
    elif how == "env":
        env["MOTE_INIT_KILL_PROCESS_GROUP"] = "1"
    else:
        env["TINI_KILL_PROCESS_GROUP"] = "1"
    p = popen(cmd(arch, "mote-init", *flags, "--", "sh", "-c", GROUP), env=env)
    ready(p)
    p.send_signal(signal.SIGUSR1)
    code, out, _ = finish(p)
    assert "grandchild-got" in out and "parent-got" in out and code == 5


def test_without_group_only_the_child_gets_it(arch):
    p = popen(cmd(arch, "mote-init", "--", "sh", "-c", GROUP))
    ready(p)
    p.send_signal(signal.SIGUSR1)
    code, out, _ = finish(p)  # the grandchild ends its loop on its own after ~5 s
    assert "grandchild-got" not in out and "parent-got" in out and code == 5


def test_grace_delays_sigterm(arch):
    script = 'trap "exit 9" TERM; echo ready; while :; do sleep 0.05; done'
    p = popen(cmd(arch, "mote-init", "--grace", "1", "--", "sh", "-c", script))
    ready(p)
    t = time.monotonic()
    p.send_signal(signal.SIGTERM)
    code, _, _ = finish(p)
    assert code == 9 and time.monotonic() - t >= 0.9


def test_reaps_orphans(arch):
    # 100 orphans that die at once; mote-init (subreaper) must reap each.
    script = ('for i in $(seq 100); do (sleep 0.2 &); done; echo ready; sleep 3')
    p = popen(cmd(arch, "mote-init", "--", "sh", "-c", script))
    try:
        ready(p)
        time.sleep(1.5)
        kids = children_of(p.pid)
        assert [k for k in kids if k[1] == "Z"] == [], kids
        assert len(kids) == 1, kids  # just the sh
    finally:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()


def test_subreaper_adopts_orphans(arch):
    if arch != "x86_64":
        pytest.skip("qemu-user 7.2 does not emulate prctl(PR_SET_CHILD_SUBREAPER)")
    p = popen(cmd(arch, "mote-init", "-v", "--", "sh", "-c", "(sleep 5 &); echo ready; sleep 5"))
    try:
        ready(p)
        time.sleep(0.3)
        names = []
        for pid, _ in children_of(p.pid):
            with open(f"/proc/{pid}/cmdline") as f:
                names.append(f.read().split("\0")[0])
        assert sorted(names) == ["sh", "sleep"], names
        assert proc_status(p.pid)["PPid"] == str(os.getpid())
    finally:
        os.killpg(p.pid, signal.SIGKILL)
        _, err = p.communicate()
    assert "cannot be a subreaper" not in err


def test_wait_for_all_children(arch, tmp_path):
    # -W (mote-init's old -w): the late child's file exists by the time mote-init has exited.
    f = tmp_path / "late"
    script = f"(sleep 1.5; echo late > {f}) & exit 0"
    run(cmd(arch, "mote-init", "-W", "--", "sh", "-c", script), check=0)
    assert f.read_text() == "late\n"


def test_without_wait_exits_with_the_child(arch, tmp_path):
    # A child that outlives the command by far does not hold mote-init (only a bounded wait).
    f = tmp_path / "pid"
    run(cmd(arch, "mote-init", "--", "sh", "-c", f"sleep 25 & echo $! > {f}; exit 4"), check=4,
        stdout=subprocess.DEVNULL, capture_output=False, stderr=subprocess.DEVNULL)
    pid = int(f.read_text())
    try:
        assert os.path.exists(f"/proc/{pid}")
    finally:
        os.kill(pid, signal.SIGKILL)


def test_reaps_the_rest_before_exiting(arch, tmp_path):
    # As a subreaper, an orphan that is about to exit is waited for (up to 1 s) and reaped:
    # its file is written before mote-init exits, and it is no zombie of anyone's.
    if arch != "x86_64":
        pytest.skip("qemu-user 7.2 does not emulate prctl(PR_SET_CHILD_SUBREAPER)")
    f = tmp_path / "late"
    run(cmd(arch, "mote-init", "--", "sh", "-c", f"(sleep 0.3; echo late > {f}) & exit 2"), check=2)
    assert f.read_text() == "late\n"


TERM_REST = ("sh -c 'trap \"echo termed > {f}; exit 0\" TERM; touch {f}.ready; "
             "while :; do sleep 0.05; done' & "
             "while [ ! -e {f}.ready ]; do sleep 0.05; done; exit 3")


def test_as_pid1_the_rest_is_killed_when_the_command_exits(arch, tmp_path):
    # As PID 1 mote-init exits with the command at once (no bounded wait): the kernel kills the
    # rest of the namespace, whose TERM trap never runs. (dumb-init's -k-like TERM of the group
    # did not fit the 16 KiB budget.)
    f = tmp_path / "t"
    run(unshared(arch, "--", "sh", "-c", TERM_REST.format(f=f)), check=3)
    assert not f.exists() or f.read_text() == ""


def unshared_tini(*args):
    return ["unshare", "--pid", "--fork", "--mount-proc", "tini", *args]


def test_warn_on_reaping_zombies_like_tini(arch):
    # tini's -w: a line for every zombie reaped that is not the command.
    script = "(sleep 0.1 &); sleep 0.6"
    ours = run(unshared(arch, "-w", "--", "sh", "-c", script), check=0)
    tini = run(unshared_tini("-w", "--", "sh", "-c", script), check=0)
    assert "Reaped zombie process with pid=" in tini.stderr, "tini (./x setup installs it)"
    assert "reaped zombie process with pid=" in ours.stderr, ours.stderr
    assert "reaped zombie" not in run(unshared(arch, "--", "sh", "-c", script), check=0).stderr


@pytest.mark.parametrize("flags", [["-vvv"], ["-gw"], ["-gvw", "-e", "3"], ["-ve", "3"], ["-e3"]])
def test_flags_combined_like_getopt(arch, flags):
    code = 0 if flags[-1].endswith("3") else 3
    run(cmd(arch, "mote-init", *flags, "--", "sh", "-c", "exit 3"), check=code)
    run(["tini", *flags, "--", "sh", "-c", "exit 3"], check=code)


def test_tini_subreaper_env(arch):
    # TINI_SUBREAPER (any value) is -s: accepted, and an orphan is adopted as with -s.
    if arch != "x86_64":
        pytest.skip("qemu-user 7.2 does not emulate prctl(PR_SET_CHILD_SUBREAPER)")
    env = dict(os.environ, TINI_SUBREAPER="")
    p = popen(cmd(arch, "mote-init", "--", "sh", "-c", "(sleep 5 &); echo ready; sleep 5"), env=env)
    try:
        ready(p)
        time.sleep(0.3)
        assert len(children_of(p.pid)) == 2, children_of(p.pid)
    finally:
        os.killpg(p.pid, signal.SIGKILL)
        _, err = p.communicate()
    assert err == ""


def inherited_signals(argv):
    """SigBlk and SigIgn of `cat /proc/self/status` run by argv from a parent that blocks
    SIGUSR1 and ignores SIGUSR2 and SIGTTOU."""
    def setup():
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
        signal.signal(signal.SIGUSR2, signal.SIG_IGN)
        signal.signal(signal.SIGTTOU, signal.SIG_IGN)
    p = run(argv + ["--", "cat", "/proc/self/status"], check=0, preexec_fn=setup)
    st = dict(l.split(":\t", 1) for l in p.stdout.splitlines() if ":\t" in l)
    return int(st["SigBlk"], 16), int(st["SigIgn"], 16)


def test_child_gets_the_inherited_mask_and_ignored_signals_like_tini(arch):
    # tini restores the mask it was started with and its SIGTTIN/SIGTTOU dispositions; other
    # signals keep the disposition exec gave us (ignored stays ignored).
    if arch != "x86_64":
        pytest.skip("qemu-user 7.2 execs with its own host signal mask, not the guest's")
    ours, tini = inherited_signals(cmd(arch, "mote-init")), inherited_signals(["tini", "-s"])
    bit = lambda s: 1 << (s - 1)
    assert tini[0] & bit(signal.SIGUSR1) and tini[1] & bit(signal.SIGUSR2), "tini as expected"
    assert ours == tini, (hex(ours[0]), hex(ours[1]), hex(tini[0]), hex(tini[1]))
    assert ours[1] & bit(signal.SIGTTOU) and not ours[1] & bit(signal.SIGTTIN)


def test_child_signal_mask_and_dispositions_from_a_clean_parent(arch):
    p = run(cmd(arch, "mote-init", "--", "cat", "/proc/self/status"), check=0)
    st = dict(l.split(":\t", 1) for l in p.stdout.splitlines() if ":\t" in l)
    assert int(st["SigBlk"], 16) == 0 and int(st["SigIgn"], 16) == 0, st


def test_init_blocks_signals_itself(arch):
    p = popen(cmd(arch, "mote-init", "--", "sh", "-c", "echo ready; exec sleep 20"))
    try:
        ready(p)
        st = proc_status(p.pid)
        blocked = int(st["SigBlk"], 16)
        for s in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1, signal.SIGCHLD, signal.SIGHUP):
            assert blocked & (1 << (s - 1)), st["SigBlk"]
    finally:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()


def test_parent_death_signal(arch):
    # sh starts mote-init in the background and exits: mote-init gets SIGTERM, passes it on.
    argv = " ".join(cmd(arch, "mote-init", "-p", "SIGTERM", "--", "sleep", "20"))
    p = run(["sh", "-c", f"{argv} >/dev/null 2>&1 & echo $!; sleep 0.5"], check=0)
    pid = int(p.stdout.split()[0])
    try:
        deadline = time.monotonic() + 10
        while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not os.path.exists(f"/proc/{pid}")
    finally:
        if os.path.exists(f"/proc/{pid}"):
            os.killpg(pid, signal.SIGKILL)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_pause(arch, sig):
    p = popen(cmd(arch, "mote-init", "-P"))
    time.sleep(0.3)
    assert p.poll() is None
    p.send_signal(signal.SIGUSR1)  # not a stop request
    time.sleep(0.2)
    assert p.poll() is None
    p.send_signal(sig)
    assert finish(p)[0] == 0


def test_job_control_on_a_tty(arch):
    """With a terminal on stdin the child gets its own process group, in the foreground."""
    def take_tty():
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    rc, out = on_pty(cmd(arch, "mote-init", "--", "cat", "/proc/self/stat"), preexec_fn=take_tty)
    assert rc == 0, out
    # (the stat line: under qemu-user mote-init first says it cannot be a subreaper)
    out = [l for l in out.splitlines() if ")" in l][-1]
    fields = out.rsplit(")", 1)[1].split()
    pid = int(out.split()[0])
    pgrp, tpgid = int(fields[2]), int(fields[5])
    assert pgrp == pid and tpgid == pid, out


# PID 1 of a new PID namespace: what `docker run --init` and podman give mote-init.

def unshared(arch, *args):
    return ["unshare", "--pid", "--fork", "--mount-proc"] + cmd(arch, "mote-init", *args)


def test_pid1_exit_code(arch):
    run(unshared(arch, "--", "sh", "-c", 'test "$PPID" = 1 && exit 3'), check=3)


def test_pid1_reaps_orphans(arch):
    script = ('for i in $(seq 100); do (sleep 0.1 &); done; sleep 1; '
              'grep -l "^State:.*Z" /proc/[0-9]*/status | wc -l')
    p = run(unshared(arch, "--", "sh", "-c", script), check=0)
    assert p.stdout.split() == ["0"], p.stdout


def test_pid1_forwards_term(arch):
    script = 'trap "exit 11" TERM; echo ready; while :; do sleep 0.05; done'
    p = popen(unshared(arch, "--", "sh", "-c", script))
    ready(p)
    with open(f"/proc/{p.pid}/task/{p.pid}/children") as f:
        init = int(f.read().split()[0])  # unshare's child: mote-init, PID 1 inside
    os.kill(init, signal.SIGTERM)
    assert finish(p)[0] == 11


def test_pid1_pause(arch):
    p = popen(unshared(arch, "-P"))
    time.sleep(0.3)
    with open(f"/proc/{p.pid}/task/{p.pid}/children") as f:
        init = int(f.read().split()[0])
    os.kill(init, signal.SIGTERM)
    assert finish(p)[0] == 0
