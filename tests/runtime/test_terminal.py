"""process.terminal without a console socket: a foreground `mote run` (or `exec -t`) makes the pty
in the container and proxies it (as runc's run does); /dev/console is the pty; consoleSize is
applied; a create or a detached run has no one to hold the master and is refused, leaving nothing."""
import pty
import subprocess

from conftest import TIMEOUT, cgroup_dirs, on_pty


SCRIPT = ("tty; [ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo all-tty; stty size; "
          "grep ' /dev/console ' /proc/self/mountinfo | cut -d' ' -f9; "
          "[ /dev/console -ef $(tty) ] && echo console-is-tty; read line; echo got-$line; exit 5")


def test_foreground_run_proxies_a_pty(native):
    b = native.bundle(["sh", "-c", SCRIPT], process={"terminal": True, "consoleSize": {"height": 33, "width": 91}})
    rc, out = on_pty(native.argv("run", "--bundle", b, native.new_id()), send=b"hello\n")
    assert rc == 5, out
    for want in ("/dev/pts/0", "all-tty", "devpts", "console-is-tty", "got-hello"):
        assert want in out, (want, out)


def test_consolesize_without_a_terminal_of_ours(native):
    # stdin a pipe: no size to copy, so process.consoleSize stays; input still reaches the pty.
    b = native.bundle(["sh", "-c", SCRIPT], process={"terminal": True, "consoleSize": {"height": 33, "width": 91}})
    p = native("run", "--bundle", b, native.new_id(), input="piped\n")
    assert p.returncode == 5, p.stdout + p.stderr
    assert "33 91" in p.stdout and "got-piped" in p.stdout and "all-tty" in p.stdout, p.stdout


def test_terminal_without_a_socket_is_refused_where_nothing_can_proxy(native):
    b = native.bundle(["true"], process={"terminal": True})
    for verb in (["create"], ["run", "-d"]):
        cid = native.new_id()
        p = native(*verb, "--bundle", b, cid)
        assert p.returncode == 1 and "process.terminal" in p.stderr and "--console-socket" in p.stderr, p.stderr
        assert native("state", cid).returncode != 0
        assert cgroup_dirs(cid) == []


def test_foreground_exec_tty_proxies_a_pty(native):
    cid = native.new_id()
    b = native.bundle(["sleep", "30"])
    with open(native.tmp / "out", "w") as f:  # the container's output: not a pipe we would wait on
        p = subprocess.run(native.argv("run", "-d", "--bundle", b, cid), stdin=subprocess.DEVNULL, stdout=f, stderr=f,
                           timeout=TIMEOUT)
    assert p.returncode == 0, (native.tmp / "out").read_text()
    rc, out = on_pty(native.argv("exec", "-t", cid, "sh", "-c", "tty; [ -t 0 ] && [ -t 1 ] && echo all-tty; "
                                 "read line; echo got-$line; exit 6"), send=b"typed\n")
    assert rc == 6, out
    for want in ("/dev/pts/", "all-tty", "got-typed"):
        assert want in out, (want, out)
