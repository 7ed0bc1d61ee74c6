"""mote-init in system mode, as PID 1 of a new PID + mount + UTS namespace with a test config:
API filesystems, services in order, respawn backoff, orderly shutdown. The markers mote-init
prints on its console (stderr here) are what the tests read."""
import os
import signal
import subprocess
import time

import pytest

from conftest import TIMEOUT, cmd


class System:
    """mote-init --system under unshare; its console goes to a file the test reads."""

    def __init__(self, arch, tmp_path, config, prepare="", how="--system"):
        self.tmp = tmp_path
        if config is not None:
            (tmp_path / "conf").write_text(config)
        self.console = tmp_path / "console"
        # System mode by flag, or by environment, or by being PID 1 with no command.
        flags = {"--system": ["--system"], "env": [], "pid1": []}[how]
        if how == "env":
            prepare += " MOTE_INIT_SYSTEM=1; export MOTE_INIT_SYSTEM;"
        init = " ".join(cmd(arch, "mote-init", *flags, "--config", str(tmp_path / "conf")))
        # prepare runs inside the namespaces first (e.g. to hide a host mount).
        script = f"{prepare} exec {init}"
        with open(self.console, "w") as out:
            self.p = subprocess.Popen(
                ["unshare", "--pid", "--fork", "--mount", "--uts", "--propagation", "private",
                 "sh", "-c", script], stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                start_new_session=True)

    def text(self):
        return self.console.read_text()

    def wait_for(self, marker, timeout=10):
        deadline = time.monotonic() + timeout
        while marker not in self.text():
            if time.monotonic() > deadline or self.p.poll() is not None:
                pytest.fail(f"no {marker!r} in:\n{self.text()}")
            time.sleep(0.05)

    def init_pid(self):
        """mote-init's pid outside: unshare's child (sh exec'd into mote-init)."""
        with open(f"/proc/{self.p.pid}/task/{self.p.pid}/children") as f:
            return int(f.read().split()[0])

    def stop(self, sig=signal.SIGTERM):
        os.kill(self.init_pid(), sig)
        return self.wait()

    def wait(self):
        try:
            return self.p.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(self.p.pid, signal.SIGKILL)
            self.p.wait()
            pytest.fail(f"did not end:\n{self.text()}")

    def kill(self):
        if self.p.poll() is None:
            os.killpg(self.p.pid, signal.SIGKILL)
            self.p.wait()


@pytest.fixture
def system(arch, tmp_path):
    made = []

    def start(config, prepare="", how="--system"):
        s = System(arch, tmp_path, config, prepare, how)
        made.append(s)
        return s
    yield start
    for s in made:
        s.kill()


def order(text, *markers):
    """Asserts the markers appear in text in this order."""
    pos = [text.find(m) for m in markers]
    assert -1 not in pos and pos == sorted(pos), (markers, pos, text)


def test_services_in_order_and_shutdown_in_reverse(system, tmp_path):
    s = system(f"""# a comment line
wait    first  -- sh -c 'sleep 0.3; echo first done'
once    second log={tmp_path}/second.log -- sh -c "echo second says hi; exec sleep 60"
once    third  -- sleep 60   # trailing comment
""")
    s.wait_for("starting service third")
    # Under qemu-user on a loaded machine the second service's shell may not have written its line
    # yet when third starts: the shutdown must not race it.
    log = tmp_path / "second.log"
    for _ in range(100):
        if log.exists() and log.read_text():
            break
        time.sleep(0.1)
    code = s.stop(signal.SIGTERM)
    t = s.text()
    order(t, "starting service first", "first done", "service first exited 0",
          "starting service second", "starting service third", "shutdown: reboot",
          "stopping service third", "service third exited 143",
          "stopping service second", "service second exited 143",
          "shutdown: stopping all processes", "shutdown: sync", "shutdown: reboot now")
    assert (tmp_path / "second.log").read_text() == "second says hi\n"
    # reboot(2) in a PID namespace ends it as if init were killed by SIGHUP.
    assert code == -signal.SIGHUP


@pytest.mark.parametrize("sig,what,code", [(signal.SIGUSR1, "halt", -signal.SIGINT),
                                           (signal.SIGUSR2, "poweroff", -signal.SIGINT),
                                           (signal.SIGPWR, "poweroff", -signal.SIGINT),
                                           (signal.SIGINT, "reboot", -signal.SIGHUP)])
def test_shutdown_signals(system, sig, what, code):
    s = system("once idle -- sleep 60\n")
    s.wait_for("starting service idle")
    assert s.stop(sig) == code
    order(s.text(), f"shutdown: {what}", "stopping service idle", f"shutdown: {what} now")


def test_respawn_with_backoff(system):
    s = system("respawn flaky -- sh -c 'exit 7'\n")
    s.wait_for("respawning flaky in 400ms")
    s.stop()
    order(s.text(), "starting service flaky", "service flaky exited 7",
          "respawning flaky in 100ms", "respawning flaky in 200ms", "respawning flaky in 400ms")


@pytest.mark.parametrize("prepare,run_fs", [
    # /run not a mount point: mote-init mounts a tmpfs there.
    ("umount -l /run 2>/dev/null;", "tmpfs"),
    # Something already mounted there is left alone.
    ("mount -t ramfs none /run &&", "ramfs"),
])
def test_mounts_and_own_proc(system, tmp_path, prepare, run_fs):
    out = tmp_path / "out"
    s = system(f"once probe log={out} -- sh -c 'stat -f -c %T /run /dev/pts; cat /proc/1/cmdline'\n",
               prepare=prepare)
    s.wait_for("service probe exited 0")
    s.stop()
    lines = out.read_text().split("\n")
    assert lines[:2] == [run_fs, "devpts"], lines
    # /proc is the namespace's own (a fresh mount): its PID 1 is mote-init.
    assert "--system" in lines[2].split("\0"), lines


def test_bad_lines_are_skipped(system):
    s = system("bogus x -- true\nonce ok -- true\nonce nocmd\nonce bad frob=1 -- true\n")
    s.wait_for("service ok exited 0")
    s.stop()
    t = s.text()
    for n in (1, 3, 4):
        assert f"config: line {n} ignored" in t, t


def test_missing_config_keeps_running(system, tmp_path):
    s = system(None)
    s.wait_for("cannot read " + str(tmp_path / "conf"))
    s.stop()
    assert "shutdown: reboot now" in s.text()


def test_exec_failure_of_a_service(system):
    s = system("once ghost -- /no/such/program\n")
    s.wait_for("service ghost exited 127")
    assert "exec /no/such/program: not found" in s.text()
    s.stop()


def test_service_ignoring_term_gets_killed(system):
    s = system("""once stubborn -- sh -c 'trap "" TERM; while :; do sleep 0.1; done'\n""")
    s.wait_for("starting service stubborn")
    time.sleep(0.3)
    t = time.monotonic()
    assert s.stop() == -signal.SIGHUP
    # SIGTERM is ignored: SIGKILL follows after the 5 s grace period.
    assert time.monotonic() - t >= 4.5
    order(s.text(), "stopping service stubborn", "service stubborn exited 137",
          "shutdown: stopping all processes")


def test_oci_service_runs_mote_run(system, tmp_path, arch):
    # A stand-in `mote` on PATH records how it was called.
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "mote").write_text(f"#!/bin/sh\necho \"$@\" >> {tmp_path}/calls\n")
    (bindir / "mote").chmod(0o755)
    s = system(f"oci web bundle={tmp_path}/bundle respawn=yes\n",
               prepare=f"PATH={bindir}:$PATH; export PATH;")
    s.wait_for("respawning web in 200ms")
    s.stop()
    calls = (tmp_path / "calls").read_text().splitlines()
    assert len(calls) >= 2 and set(calls) == {f"run --bundle {tmp_path}/bundle web"}, calls


STAND_IN = r"""
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
int main(int argc, char **argv) {
    char exe[256] = "";
    struct stat st = {0};
    readlink("/proc/self/exe", exe, sizeof exe - 1);
    stat("/proc/self/exe", &st);
    int fds = 0;
    for (int fd = 3; fd < 64; fd++) fds += fcntl(fd, F_GETFD) != -1;
    int seals = fcntl(open("/proc/self/exe", O_RDONLY), F_GET_SEALS);
    FILE *f = fopen(CALLS, "a");
    fprintf(f, "%s\t%s\t%lu\t%d\t%d", VERSION, exe, (unsigned long)st.st_ino, seals, fds);
    for (int i = 1; i < argc; i++) fprintf(f, "\t%s", argv[i]);
    fprintf(f, "\n");
    fclose(f);
    sleep(30);
    return 0;
}
"""


def test_oci_services_share_one_sealed_copy_of_mote(tmp_path):
    """mote-init runs every oci service's mote from one sealed copy it made (the services share
    its pages; none copies itself again), and from a new copy once the file on PATH changed. A
    stand-in `mote` (a C program) records what /proc/self/exe is for it, its seals and the
    descriptors it got, and stays up."""
    bindir, calls = tmp_path / "bin", tmp_path / "calls"
    bindir.mkdir()
    src = tmp_path / "standin.c"
    src.write_text(STAND_IN)
    for v in ("v1", "v2"):
        subprocess.run(["gcc", "-O2", f'-DCALLS="{calls}"', f'-DVERSION="{v}"', "-o", str(tmp_path / v), str(src)],
                       check=True, timeout=TIMEOUT)
    os.link(tmp_path / "v1", bindir / "mote")
    update = f"cp {tmp_path}/v2 {bindir}/mote.new && mv {bindir}/mote.new {bindir}/mote"
    s = System("x86_64", tmp_path, f"oci a bundle={tmp_path}/b\noci b bundle={tmp_path}/b\n"
               f"wait update -- /bin/sh -c '{update}'\noci c bundle={tmp_path}/b\n",
               prepare=f"PATH={bindir}:$PATH; export PATH;")
    try:
        deadline = time.monotonic() + 10
        while (not calls.exists() or len(calls.read_text().splitlines()) < 3) and time.monotonic() < deadline:
            time.sleep(0.05)
        lines = calls.read_text().splitlines() if calls.exists() else []
        assert len(lines) == 3, (lines, s.text())
        got = {l.split("\t")[-1]: l.split("\t") for l in lines}
        for name, (version, exe, ino, seals, fds, *argv) in got.items():
            assert exe.startswith("/memfd:mote") and argv == ["run", "--bundle", f"{tmp_path}/b", name], got
            # Sealed (SEAL, SHRINK, GROW, WRITE), and no descriptor of it (or of anything) left open.
            assert int(seals) & 0xF == 0xF and fds == "0", got
        assert got["a"][0] == got["b"][0] == "v1" and got["a"][2] == got["b"][2], got
        assert got["c"][0] == "v2" and got["c"][2] != got["a"][2], got
    finally:
        s.stop()


def test_oci_service_on_squashfs_runs_mote_from_its_file(tmp_path):
    """A mote on squashfs (no write support: nothing to protect by a copy) is run by name, from
    its file and the page cache, with no sealed copy made for it."""
    src, img, mnt, calls = tmp_path / "src", tmp_path / "mote.sqfs", tmp_path / "sq", tmp_path / "calls"
    src.mkdir()
    mnt.mkdir()
    (tmp_path / "standin.c").write_text(STAND_IN)
    subprocess.run(["gcc", "-O2", f'-DCALLS="{calls}"', '-DVERSION="v1"', "-o", str(src / "mote"),
                    str(tmp_path / "standin.c")], check=True, timeout=TIMEOUT)
    subprocess.run(["mksquashfs", str(src), str(img), "-quiet", "-noappend"], check=True, timeout=TIMEOUT,
                   stdout=subprocess.DEVNULL)
    # Mounted in mote-init's own mount namespace: gone with it.
    s = System("x86_64", tmp_path, f"oci a bundle={tmp_path}/b\n",
               prepare=f"mount -o loop -t squashfs {img} {mnt} && PATH={mnt}:$PATH; export PATH;")
    try:
        deadline = time.monotonic() + 10
        while not calls.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        line = calls.read_text().strip().split("\t") if calls.exists() else []
        assert line[1:2] == [f"{mnt}/mote"] and line[-3:] == ["--bundle", f"{tmp_path}/b", "a"], (line, s.text())
    finally:
        s.stop()


def test_hostname_from_etc_hostname(system, tmp_path):
    try:
        with open("/etc/hostname") as f:
            want = f.read().split()[0]
    except (OSError, IndexError):
        pytest.skip("no /etc/hostname on this machine")
    s = system(f"once probe log={tmp_path}/out -- cat /proc/sys/kernel/hostname\n",
               prepare="hostname mote-test-placeholder;")
    s.wait_for("service probe exited 0")
    s.stop()
    assert (tmp_path / "out").read_text().strip() == want


@pytest.mark.parametrize("how", ["env", "pid1"])
def test_system_mode_without_the_flag(system, how):
    s = system("once hello -- true\n", how=how)
    s.wait_for("service hello exited 0")
    assert s.stop() == -signal.SIGHUP
