"""The process settings engines rely on: a console over --console-socket, inherited descriptors
(--preserve-fds), the session keyring, personality, a time namespace."""
import os
import subprocess

import pytest

from conftest import TIMEOUT, read_until, with_console


def test_console_socket_gets_a_pty_master(native):
    mote = native
    cid = mote.new_id()
    b = mote.bundle(["sh", "-c", "tty; [ -t 0 ] && [ -t 1 ] && echo both-tty; ps -o pid,tty | head -3"],
                    process={"terminal": True})
    master = with_console(mote, "create", "--bundle", b, cid)
    mote("start", cid, check=0)
    out = read_until(master, b"both-tty")
    os.close(master)
    text = out.decode(errors="replace")
    assert "/dev/pts/0" in text and "both-tty" in text, text


def test_preserve_fds_passes_descriptors(native):
    mote = native
    r, w = os.pipe()
    b = mote.bundle(["sh", "-c", "echo through-fd3 >&3; ls /proc/self/fd | wc -l"])
    # fd 3 of mote (and of the container) is our pipe's write end
    argv = mote.argv("run", "--preserve-fds", "1", "--bundle", b, mote.new_id())
    p = subprocess.run(["bash", "-c", f'exec "$@" 3>&{w}', "bash"] + argv, pass_fds=(w,), capture_output=True,
                       text=True, timeout=TIMEOUT)
    os.close(w)
    assert p.returncode == 0, p.stderr
    assert os.read(r, 100) == b"through-fd3\n"
    os.close(r)
    # 0, 1, 2, 3 and the one ls opens: nothing else of mote's leaked into the container
    assert p.stdout.strip() == "5"


def test_no_preserved_fds_by_default(native):
    mote = native
    b = mote.bundle(["sh", "-c", "ls /proc/self/fd | wc -l"])
    with open("/dev/null") as extra:
        os.set_inheritable(extra.fileno(), True)
        p = subprocess.run(mote.argv("run", "--bundle", b, mote.new_id()), pass_fds=(extra.fileno(),),
                           capture_output=True, text=True, timeout=TIMEOUT)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "4"


def test_session_keyring(native):
    mote = native
    b = mote.bundle(["cat", "/proc/keys"], linux={"maskedPaths": []})
    cid = mote.new_id()
    p = mote("run", "--bundle", b, cid, check=0)
    assert f"_ses.{cid}" in p.stdout
    cid = mote.new_id()
    p = mote("run", "--no-new-keyring", "--bundle", b, cid, check=0)
    assert f"_ses.{cid}" not in p.stdout


def test_personality_linux32(native):
    mote = native
    b = mote.bundle(["uname", "-m"], linux={"personality": {"domain": "LINUX32"}})
    p = mote("run", "--bundle", b, mote.new_id(), check=0)
    assert p.stdout.strip() in ("i686", "i386")


def test_time_namespace_offsets(native):
    mote = native
    if not os.path.exists("/proc/self/ns/time"):
        pytest.skip("kernel without time namespaces")
    b = mote.bundle(["cat", "/proc/uptime"], linux={
        "namespaces": [{"type": t} for t in ("pid", "mount", "ipc", "uts", "time")],
        "timeOffsets": {"boottime": {"secs": 86400 * 365, "nanosecs": 0}}})
    p = mote("run", "--bundle", b, mote.new_id(), check=0)
    inside = float(p.stdout.split()[0])
    outside = float(open("/proc/uptime").read().split()[0])
    assert inside - outside > 86400 * 364


def _ignore_and_block():
    """For preexec_fn: what an engine or a shell may leave to mote (nohup, a background job)."""
    import signal
    for s in (signal.SIGINT, signal.SIGQUIT, signal.SIGPIPE, signal.SIGHUP, signal.SIGUSR1, signal.SIGRTMIN + 3):
        signal.signal(s, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR2, signal.SIGTERM})


def _status(text):
    return dict(l.split(":", 1) for l in text.splitlines() if ":" in l)


def test_run_resets_inherited_signal_dispositions(native):
    """The process starts with every signal at its default action and an empty mask, whatever
    mote's caller ignored or blocked (mote resets only what its own /proc/self/status says is
    changed: the reset must still cover every one of them, real-time signals too)."""
    cmd = ["grep", "-E", "^Sig(Ign|Blk)", "/proc/self/status"]
    # The setting reaches a child of the caller (else this test could not fail).
    host = _status(subprocess.run(cmd, preexec_fn=_ignore_and_block, capture_output=True, text=True,
                                  timeout=TIMEOUT).stdout)
    assert int(host["SigIgn"], 16) != 0 and int(host["SigBlk"], 16) != 0, host
    b = native.bundle(cmd)
    p = native("run", "--bundle", b, native.new_id(), preexec_fn=_ignore_and_block, check=0)
    st = _status(p.stdout)
    assert int(st["SigIgn"], 16) == 0 and int(st["SigBlk"], 16) == 0, p.stdout


def test_bounding_set_is_config_within_callers(native):
    """Capabilities the caller's bounding set lacks stay out (mote drops only those it has, as
    read from /proc/self/status); the others are the config's exactly."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)

    def drop_net_raw():
        if libc.prctl(24, 13, 0, 0, 0) != 0:  # PR_CAPBSET_DROP, CAP_NET_RAW
            raise OSError(ctypes.get_errno(), "PR_CAPBSET_DROP")

    # (in permitted, a capability the caller's bounding set lacks would fail the capset: mote's
    # own permitted set lost it at its exec)
    caps = ["CAP_CHOWN", "CAP_KILL"]
    b = native.bundle(["grep", "^CapBnd", "/proc/self/status"],
                      process={"capabilities": {"bounding": caps + ["CAP_NET_RAW"], "effective": caps, "permitted": caps}})
    p = native("run", "--bundle", b, native.new_id(), preexec_fn=drop_net_raw, check=0)
    assert int(_status(p.stdout)["CapBnd"], 16) == (1 << 0) | (1 << 5), p.stdout
    p = native("run", "--bundle", b, native.new_id(), check=0)
    assert int(_status(p.stdout)["CapBnd"], 16) == (1 << 0) | (1 << 5) | (1 << 13), p.stdout
