"""podman 4.3 (conmon, cgroupfs) driving mote, scenario by scenario, each checked from inside and
outside; the same scenarios with runc, so that a failure says whether mote or the machine is at
fault. Nothing of mote's may show on podman's stderr: under conmon, mote's stderr is the
container's (warnings go to the --log podman passes)."""
import json
import os
import subprocess
import time

import pytest

from conftest import ROOT, on_pty
from engines import MOTE_INIT, podman, rootfs_tar  # noqa: F401 (fixtures)

RUNTIMES = ["mote", "runc"]
V1 = not os.path.exists("/sys/fs/cgroup/cgroup.controllers")


def ok(p, rc=0):
    """`p` exited `rc` and nothing of the runtime's own reached stderr."""
    assert p.returncode == rc, f"exit {p.returncode}, wanted {rc}\nstdout:{p.stdout}\nstderr:{p.stderr}"
    assert "mote:" not in p.stderr and "mote:" not in p.stdout, p.stderr
    return p.stdout


def run(podman, runtime, *args, rc=0):
    return ok(podman("run", "--rm", *args[:-1], podman.image, *args[-1], runtime=runtime), rc)


def status_line(text, key):
    return next(l.split()[1] for l in text.splitlines() if l.startswith(key + ":"))


@pytest.fixture
def detached(podman):
    """Starts `podman run -d` containers; removes them whatever happens."""
    names = []

    def start(runtime, *args):
        name = podman.name()
        names.append((name, runtime))
        ok(podman("run", "-d", "--name", name, *args[:-1], podman.image, *args[-1], runtime=runtime))
        return name
    yield start
    for name, runtime in names:
        podman("rm", "--force", "--time", "0", name, runtime=runtime)


# A process that stays, and ends at once on SIGTERM (as PID 1 it would ignore it otherwise).
STAY = ["sh", "-c", "trap 'exit 0' TERM; echo started; while :; do sleep 0.1; done"]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_run_rm_and_exit_codes(podman, runtime):
    assert run(podman, runtime, ["echo", "hello"]) == "hello\n"
    run(podman, runtime, ["sh", "-c", "exit 3"], rc=3)
    # A command that is not there: podman's 127 (mote refuses it at create).
    p = podman("run", "--rm", podman.image, "/no/such/cmd", runtime=runtime)
    assert p.returncode == 127, p.stderr
    assert podman("ps", "-aq", runtime=runtime).stdout.strip() == ""


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_detached_logs_stop_rm(podman, runtime, detached):
    name = detached(runtime, STAY)
    for _ in range(100):
        if "started" in podman("logs", name, runtime=runtime).stdout:
            break
        time.sleep(0.1)
    assert ok(podman("logs", name, runtime=runtime)) == "started\n"
    assert ok(podman("inspect", "-f", "{{.State.Status}}", name, runtime=runtime)).strip() == "running"
    ok(podman("stop", "-t", "10", name, runtime=runtime))
    assert ok(podman("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", name, runtime=runtime)).split() == ["exited", "0"]
    ok(podman("rm", name, runtime=runtime))
    assert name not in podman("ps", "-a", "--format", "{{.Names}}", runtime=runtime).stdout.split()


# --- exec: podman runs `mote exec --process FILE --detach [--tty --console-socket S]` ---

@pytest.mark.parametrize("runtime", RUNTIMES)
def test_exec(podman, runtime, detached):
    name = detached(runtime, STAY)
    assert ok(podman("exec", name, "cat", "/proc/1/cmdline", runtime=runtime)).startswith("sh\0-c")
    assert ok(podman("exec", "-u", "65534:65534", name, "id", "-u", runtime=runtime)) == "65534\n"
    assert ok(podman("exec", "-e", "FOO=bar", name, "sh", "-c", "echo $FOO", runtime=runtime)) == "bar\n"
    assert ok(podman("exec", "-w", "/tmp", name, "pwd", runtime=runtime)) == "/tmp\n"
    assert podman("exec", name, "sh", "-c", "exit 7", runtime=runtime).returncode == 7


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_exec_it(podman, runtime, detached):
    # exec --tty: the pty goes to conmon over its console socket
    name = detached(runtime, STAY)
    rc, out = on_pty(["podman", "--runtime", runtime, "exec", "-it", name, "sh"],
                     b"tty; echo in-$((6*7)); exit 5\r", b"in-42", env=podman.env)
    assert "/dev/pts/" in out and "in-42" in out, out
    assert "mote:" not in out


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_run_it_through_a_pty(podman, runtime):
    rc, out = on_pty(["podman", "--runtime", runtime, "run", "--rm", "-it", "--cgroup-parent", podman.cgroup_parent,
                      podman.image, "sh"],
                     b"tty; [ /dev/console -ef /dev/pts/0 ] && echo console-$((2*3)); echo out-$((6*7)); exit 4\r",
                     b"out-42", env=podman.env)
    # The pty conmon got over its console socket, /dev/console bound to it.
    assert "/dev/pts/0" in out and "console-6" in out and "out-42" in out, out
    assert "mote:" not in out


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_kill_signal(podman, runtime, detached):
    name = detached(runtime, ["sh", "-c", "trap 'echo got-usr1' USR1; echo started; while :; do sleep 0.1; done"])
    for _ in range(100):
        if "started" in podman("logs", name, runtime=runtime).stdout:
            break
        time.sleep(0.1)
    ok(podman("kill", "-s", "USR1", name, runtime=runtime))
    for _ in range(100):
        if "got-usr1" in podman("logs", name, runtime=runtime).stdout:
            break
        time.sleep(0.1)
    assert "got-usr1" in ok(podman("logs", name, runtime=runtime))
    ok(podman("kill", "-s", "KILL", name, runtime=runtime))
    ok(podman("wait", name, runtime=runtime))
    assert ok(podman("inspect", "-f", "{{.State.ExitCode}}", name, runtime=runtime)).strip() == "137"


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_pause_unpause(podman, runtime, detached):
    name = detached(runtime, STAY)
    ok(podman("pause", name, runtime=runtime))
    assert ok(podman("inspect", "-f", "{{.State.Status}}", name, runtime=runtime)).strip() == "paused"
    pid = ok(podman("inspect", "-f", "{{.State.Pid}}", name, runtime=runtime)).strip()
    # The kernel's word, from the host: the container's cgroup is frozen, then thawed.
    assert frozen(pid)
    ok(podman("unpause", name, runtime=runtime))
    assert ok(podman("inspect", "-f", "{{.State.Status}}", name, runtime=runtime)).strip() == "running"
    assert not frozen(pid)


def frozen(pid):
    cg = open(f"/proc/{pid}/cgroup").read().splitlines()
    if V1:
        path = next(l.split(":", 2)[2] for l in cg if ":freezer:" in l)
        return open(f"/sys/fs/cgroup/freezer{path}/freezer.state").read().strip() == "FROZEN"
    path = next(l.split(":", 2)[2] for l in cg if l.startswith("0::"))
    return "frozen 1" in open(f"/sys/fs/cgroup{path}/cgroup.events").read().splitlines()


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_pids_limit_1(podman, runtime):
    out = run(podman, runtime, "--pids-limit", "1", ["sh", "-c", "true & wait; echo forked $?"], rc=2)
    assert "forked" not in out


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_memory_limit_seen_inside(podman, runtime):
    # The container's own cgroup at /sys/fs/cgroup, with the limit podman set.
    f = "/sys/fs/cgroup/memory/memory.limit_in_bytes" if V1 else "/sys/fs/cgroup/memory.max"
    assert run(podman, runtime, "--memory", "64m", ["cat", f]) == f"{64 << 20}\n"


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_cgroup_view_is_the_containers_own(podman, runtime):
    # Its own processes only in cgroup.procs, read-only, and none of the host's other cgroups.
    own = "/sys/fs/cgroup/pids" if V1 else "/sys/fs/cgroup"
    # The host's tree would show our cgroup parent at its top.
    parent = podman.cgroup_parent.strip("/")
    out = run(podman, runtime, ["sh", "-c", f"cat {own}/cgroup.procs | wc -l; ls /sys/fs/cgroup/ /sys/fs/cgroup/*/ | grep -c {parent}; "
                                            f"mkdir {own}/x 2>/dev/null && echo writable || echo ro"])
    n, parents, ro = out.split()
    assert 1 <= int(n) <= 5 and parents == "0" and ro == "ro", out


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_read_only(podman, runtime):
    out = run(podman, runtime, "--read-only", ["sh", "-c", "touch /x 2>&1; echo $?"])
    assert "Read-only file system" in out and out.endswith("1\n")


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_volume_and_tmpfs(podman, runtime, tmp_path):
    (tmp_path / "in").write_text("from host\n")
    out = run(podman, runtime, "-v", f"{tmp_path}:/data", "--tmpfs", "/scratch",
              ["sh", "-c", "cat /data/in; echo from-ctr > /data/out; grep ' /scratch ' /proc/mounts"])
    assert out.startswith("from host\n") and "tmpfs /scratch tmpfs" in out
    assert (tmp_path / "out").read_text() == "from-ctr\n"


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_user(podman, runtime):
    assert run(podman, runtime, "--user", "65534:65534", ["id"]).startswith("uid=65534(nobody) gid=65534(nobody)")


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_cap_drop_all_and_cap_add(podman, runtime):
    st = run(podman, runtime, "--cap-drop", "ALL", ["cat", "/proc/self/status"])
    for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        assert int(status_line(st, k), 16) == 0, st
    st = run(podman, runtime, "--cap-add", "SYS_ADMIN", ["cat", "/proc/self/status"])
    assert int(status_line(st, "CapEff"), 16) & (1 << 21), st
    st = run(podman, runtime, ["cat", "/proc/self/status"])
    assert not int(status_line(st, "CapEff"), 16) & (1 << 21), st


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_uidmap(podman, runtime):
    out = run(podman, runtime, "--uidmap", "0:200000:65536", "--gidmap", "0:200000:65536",
              ["sh", "-c", "id -u; cat /proc/self/uid_map; ls /sys/fs/cgroup | wc -l"])
    uid, c, h, n, count = out.split()
    assert (uid, c, h, n) == ("0", "0", "200000", "65536"), out
    assert int(count) > 0


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_init_path_mote_init(podman, runtime):
    out = run(podman, runtime, "--init", "--init-path", MOTE_INIT,
              ["sh", "-c", "tr '\\0' ' ' < /proc/1/cmdline; echo; sleep 0 & wait; echo reaped"])
    assert out.startswith("/run/podman-init -- sh") and "reaped" in out, out


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_healthcheck_run(podman, runtime, detached):
    # podman runs the health command through `mote exec`
    name = detached(runtime, "--health-cmd", "test -e /etc/passwd", "--health-interval", "disable", STAY)
    ok(podman("healthcheck", "run", name, runtime=runtime))
    assert ok(podman("inspect", "-f", "{{.State.Health.Status}}", name, runtime=runtime)).strip() == "healthy"


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_top_and_stats(podman, runtime, detached):
    name = detached(runtime, STAY)
    top = ok(podman("top", name, "pid", "args", runtime=runtime))
    assert "trap" in top, top
    stats = ok(podman("stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}} {{.MemUsage}}", name, runtime=runtime))
    n, pids, mem = stats.split()[:3]
    assert n == name and int(pids) >= 1 and mem[0].isdigit(), stats


def test_messages_go_to_the_log_only(podman):
    # With --debug (podman --runtime-flag), mote's messages go to the --log podman passes, as
    # runc's JSON lines, and none to its stderr, which is the container's output under conmon.
    name = podman.name()
    try:
        ok(podman("--runtime-flag", "debug", "run", "-d", "--name", name, podman.image, *STAY))
        cid = ok(podman("inspect", "-f", "{{.Id}}", name)).strip()
        log = podman.dir / "run" / "vfs-containers" / cid / "userdata" / "oci-log"
        lines = [json.loads(l) for l in log.read_text().splitlines()]
        assert any(l["level"] == "debug" and l["msg"] == "cgroup created" for l in lines), lines
        assert all(set(l) == {"level", "msg", "time"} and l["level"] != "error" for l in lines), lines
        for _ in range(100):
            out = podman("logs", name).stdout
            if "started" in out:
                break
            time.sleep(0.1)
        assert out == "started\n", out
    finally:
        podman("rm", "--force", "--time", "0", name)


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    """tests/runtime/seccomp_probe.c, static: makes one raw syscall, prints its errno."""
    out = str(tmp_path_factory.mktemp("probe") / "seccomp_probe")
    p = subprocess.run(["gcc", "-O2", "-static", "-o", out, os.path.join(ROOT, "tests/runtime/seccomp_probe.c")],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return out


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_default_seccomp_profile_is_applied(podman, runtime, detached, probe):
    """podman sends its default profile (containers-common's seccomp.json): the filter is on, read
    from outside, and add_key, which the profile does not list, fails with its defaultErrnoRet
    (ENOSYS) inside, while it reaches the kernel unconfined."""
    add_key = "248"  # x86_64
    name = detached(runtime, "-v", f"{probe}:/probe:ro", STAY)
    pid = ok(podman("inspect", "-f", "{{.State.Pid}}", name, runtime=runtime)).strip()
    with open(f"/proc/{pid}/status") as f:
        assert status_line(f.read(), "Seccomp") == "2"
    call = ["/probe", add_key, "s:user", "s:k", "0", "0", "0"]
    assert ok(podman("exec", name, *call, runtime=runtime)).strip() == "ret=-1 errno=38"
    out = run(podman, runtime, "--security-opt", "seccomp=unconfined", "-v", f"{probe}:/probe:ro", call)
    assert "errno=38" not in out, out
