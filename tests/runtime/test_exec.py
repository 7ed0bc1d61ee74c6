"""`mote exec`: the process joins the container's namespaces and cgroup, takes its settings and the
flags, exits with its own code (255 when exec itself fails, as runc), and leaves nothing behind."""
import json
import os
import signal
import subprocess
import time

import pytest

from conftest import TIMEOUT, cgroup_dirs, read_until, run, with_console

NS = ("mnt", "pid", "net", "ipc", "uts", "cgroup")


def start(mote, *args, **overrides):
    """A detached container running `sleep 60` (stdio on a file); returns (id, init pid)."""
    cid = mote.new_id()
    b = mote.bundle(list(args) or ["sleep", "60"], **overrides)
    with open(mote.tmp / f"{cid}.log", "w") as f:
        p = subprocess.run(mote.argv("run", "-d", "--bundle", b, cid), stdout=f, stderr=f,
                           stdin=subprocess.DEVNULL, timeout=TIMEOUT)
    assert p.returncode == 0, open(mote.tmp / f"{cid}.log").read()
    return cid, json.loads(mote("state", cid, check=0).stdout)["pid"]


def procs(cid):
    """The pids in the container's cgroup (its first hierarchy)."""
    d = cgroup_dirs(cid)[0]
    return sorted(int(x) for x in open(os.path.join(d, "cgroup.procs")).read().split())


def held_exec(mote, cid, init, pid_file):
    """`exec --ignore-paused -d true` into paused container cid: its child stays frozen in the
    middle of its setup. Returns (the exec's Popen, text mode; the child's pid)."""
    held = subprocess.Popen(mote.argv("exec", "--ignore-paused", "-d", "--pid-file", str(pid_file), cid, "true"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    end = time.time() + 10
    while len(procs(cid)) < 2 and time.time() < end:
        time.sleep(0.02)
    if len(procs(cid)) < 2:
        held.kill()
        held.wait()
        raise AssertionError("exec's child never reached the cgroup")
    return held, [p for p in procs(cid) if p != init][0]


def detached(mote, cid, *args, flags=()):
    """exec -d --pid-file of `args`; returns the pid."""
    pf = mote.tmp / ("pid-" + os.urandom(4).hex())
    with open(mote.tmp / "exec.log", "w") as f:
        p = subprocess.run(mote.argv("exec", "-d", "--pid-file", str(pf), *flags, cid, *args), stdout=f, stderr=f,
                           stdin=subprocess.DEVNULL, timeout=TIMEOUT)
    assert p.returncode == 0, open(mote.tmp / "exec.log").read()
    return int(open(pf).read())


def kill_wait(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    end = time.time() + 10
    while time.time() < end and os.path.exists(f"/proc/{pid}") and "Z" not in open(f"/proc/{pid}/stat").read().split()[2]:
        time.sleep(0.02)


def test_exec_joins_namespaces_and_cgroup(mote):
    cid, init = start(mote)
    pid = detached(mote, cid, "sleep", "30")
    try:
        for ns in NS:
            assert os.readlink(f"/proc/{pid}/ns/{ns}") == os.readlink(f"/proc/{init}/ns/{ns}"), ns
            assert os.readlink(f"/proc/{pid}/ns/{ns}") != os.readlink(f"/proc/self/ns/{ns}"), ns
        assert open(f"/proc/{pid}/cgroup").read() == open(f"/proc/{init}/cgroup").read()
        assert pid in procs(cid)
        # Inside the container's PID namespace (not PID 1 there), with the container's root.
        nspid = [l for l in open(f"/proc/{pid}/status") if l.startswith("NSpid:")][0].split()
        assert len(nspid) == 3 and nspid[-1] != "1"
        assert os.readlink(f"/proc/{pid}/root") == "/"
        assert os.stat(f"/proc/{pid}/root/bin/busybox").st_ino == os.stat(f"{mote.rootfs}/bin/busybox").st_ino
    finally:
        kill_wait(pid)


def test_exec_cannot_reach_its_parent(mote):
    cid, _ = start(mote)
    # The parent mote is outside the container's PID namespace (PPID 0 inside); the cwd and the
    # root are the container's.
    p = mote("exec", cid, "sh", "-c", "echo $PPID; readlink /proc/self/cwd; readlink /proc/self/root", check=0)
    assert p.stdout.split() == ["0", "/", "/"]


def test_exec_into_created_container(mote):
    cid = mote.new_id()
    b = mote.bundle(["sleep", "60"])
    with open(mote.tmp / "c.log", "w") as f:
        assert subprocess.run(mote.argv("create", "--bundle", b, cid), stdout=f, stderr=f,
                              timeout=TIMEOUT).returncode == 0
    assert mote("exec", cid, "sh", "-c", "echo in-created", check=0).stdout == "in-created\n"
    assert json.loads(mote("state", cid, check=0).stdout)["status"] == "created"


def test_exec_output_and_exit_codes(mote):
    cid, _ = start(mote)
    p = mote("exec", cid, "sh", "-c", "echo out; echo err >&2; exit 7")
    assert (p.returncode, p.stdout, p.stderr) == (7, "out\n", "err\n")
    p = mote("exec", cid, "nosuchcmd")
    assert p.returncode == 255 and "nosuchcmd" in p.stderr and "not found" in p.stderr, p.stderr
    p = mote("exec", "mote-test-nonexistent", "true")
    assert p.returncode == 255 and "does not exist" in p.stderr
    p = mote("exec", cid)
    assert p.returncode == 255 and "command" in p.stderr
    assert procs(cid) == [json.loads(mote("state", cid, check=0).stdout)["pid"]]


def test_exec_killed_by_signal_and_forwarding(native):
    mote = native
    cid, _ = start(mote)
    assert mote("exec", cid, "sh", "-c", "kill -9 $$").returncode == 137
    p = subprocess.Popen(mote.argv("exec", cid, "sleep", "50"), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        end = time.time() + 10
        while len(procs(cid)) < 2 and time.time() < end:
            time.sleep(0.02)
        assert len(procs(cid)) == 2
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=TIMEOUT) == 128 + signal.SIGTERM
    finally:
        p.kill()
        p.wait()
    assert len(procs(cid)) == 1


def test_exec_user_env_cwd_groups(mote):
    cid, _ = start(mote, process={"env": ["PATH=/bin", "FOO=config", "KEEP=1"]})
    p = mote("exec", "-u", "1000:1001", "-g", "5", "--additional-gids=6", "--cwd", "/tmp", "-e", "FOO=flag",
             "--env", "NEW=x", cid, "sh", "-c", "id; pwd; echo $FOO $KEEP $NEW; env | grep -c ^FOO=", check=0)
    assert p.stdout.split("\n")[:4] == ["uid=1000 gid=1001 groups=5,6", "/tmp", "flag 1 x", "1"], p.stdout
    # Without flags: the config's user and cwd.
    cid2, _ = start(mote, process={"user": {"uid": 1234, "gid": 99}, "cwd": "/etc"})
    p = mote("exec", cid2, "sh", "-c", "id -u; id -g; pwd", check=0)
    assert p.stdout.split() == ["1234", "99", "/etc"]


def test_exec_user_numbers_never_cut(native):
    """A uid or gid too long for mote's buffer is an error, never the number's first digits."""
    mote = native
    cid, init = start(mote)
    for u in ("0" * 24 + "5", "5:" + "0" * 24 + "6"):
        p = mote("exec", "-u", u, cid, "sh", "-c", "echo $(id -u):$(id -g)")
        assert p.returncode == 255 and "--user" in p.stderr, (u, p.returncode, p.stdout, p.stderr)
    p = mote("exec", "-g", "0" * 24 + "7", cid, "id", "-G")
    assert p.returncode == 255 and "--additional-gids" in p.stderr, (p.stdout, p.stderr)
    assert procs(cid) == [init]


def test_exec_caps_and_no_new_privs(mote):
    cid, _ = start(mote, process={"noNewPrivileges": False})
    status = lambda *f: dict(l.split(":\t") for l in mote("exec", *f, cid, "cat", "/proc/self/status", check=0).stdout.splitlines() if "\t" in l)
    base = status()
    assert base["NoNewPrivs"].strip() == "0"
    assert int(base["CapEff"], 16) & (1 << 12) == 0
    s = status("--cap", "CAP_NET_ADMIN", "--no-new-privs")
    for k in ("CapBnd", "CapEff", "CapPrm"):
        assert int(s[k], 16) == int(base[k], 16) | (1 << 12), k
    assert s["NoNewPrivs"].strip() == "1"
    p = mote("exec", "--cap", "CAP_NOPE", cid, "true")
    assert p.returncode == 255 and "CAP_NOPE" in p.stderr


def test_exec_same_as_runc(native, runc_):
    """The same cases against runc (installed) for exit codes, caps and the messages' gist."""
    results = {}
    for tool in (runc_, native):
        i, _ = start(tool, process={"noNewPrivileges": False})
        r = {}
        r["code"] = tool("exec", i, "sh", "-c", "exit 9").returncode
        r["missing"] = tool("exec", i, "nosuch").returncode
        r["noid"] = tool("exec", "nonexistent-id", "true").returncode
        caps = tool("exec", "--cap", "CAP_NET_ADMIN", "-u", "1000", i, "cat", "/proc/self/status").stdout
        r["caps"] = [l for l in caps.splitlines() if l.startswith("Cap")]
        r["env"] = tool("exec", "-e", "A=1", "-e", "HOME=/x", i, "sh", "-c", "echo $A $HOME").stdout
        results[tool.PREFIX] = r
    assert results[native.PREFIX] == results[runc_.PREFIX], results


def test_exec_detach_pid_file(mote):
    cid, init = start(mote)
    pid = detached(mote, cid, "sleep", "30")
    try:
        with open(f"/proc/{pid}/status") as f:
            st = dict(l.split(":\t", 1) for l in f if ":\t" in l)
        assert st["Name"].strip() == "sleep" and int(st["PPid"]) != os.getpid()
        assert sorted(procs(cid)) == sorted([init, pid])
    finally:
        kill_wait(pid)


def test_exec_pid_file_failure_leaves_no_process(native):
    """A --pid-file that cannot be written fails exec (255) and the process it started is ended,
    as runc terminates it: no process the engine does not know of stays in the container."""
    mote = native
    cid, init = start(mote)
    for detach in (["-d"], []):
        p = mote("exec", *detach, "--pid-file", str(mote.tmp / "no-such-dir" / "pid"), cid, "sleep", "30")
        assert p.returncode == 255 and "pid file" in p.stderr, (detach, p.returncode, p.stderr)
        assert procs(cid) == [init], detach


def test_exec_process_file(mote):
    cid, _ = start(mote)
    pf = mote.tmp / "process.json"
    pf.write_text(json.dumps({"args": ["sh", "-c", "echo $X; id -u; pwd"], "env": ["X=from-file", "PATH=/bin"],
                              "cwd": "/etc", "user": {"uid": 7, "gid": 7}}))
    p = mote("exec", "--process", str(pf), cid, check=0)
    assert p.stdout.split() == ["from-file", "7", "/etc"]
    pf.write_text('{"args": "not a list"}')
    p = mote("exec", "-p", str(pf), cid)
    assert p.returncode == 255 and "args" in p.stderr


def test_exec_into_stopped_or_paused_container_fails(mote):
    cid, _ = start(mote, "true")
    end = time.time() + 10
    while json.loads(mote("state", cid, check=0).stdout)["status"] != "stopped" and time.time() < end:
        time.sleep(0.05)
    p = mote("exec", cid, "true")
    assert p.returncode == 255 and "stopped" in p.stderr, p.stderr
    cid, init = start(mote)
    mote("pause", cid, check=0)
    p = mote("exec", cid, "true")
    assert p.returncode == 255 and "paused" in p.stderr and "--ignore-paused" in p.stderr
    mote("resume", cid, check=0)
    assert procs(cid) == [init]


def test_exec_applies_the_containers_seccomp(native):
    mote = native
    profile = {"defaultAction": "SCMP_ACT_ALLOW",
               "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}
    for nnp in (True, False):
        cid, init = start(mote, linux={"seccomp": profile}, process={"noNewPrivileges": nnp})
        p = mote("exec", cid, "sh", "-c", "grep ^Seccomp: /proc/self/status; mkdir /tmp/d-$$ && echo made")
        assert p.returncode == 1 and "Seccomp:\t2" in p.stdout and "made" not in p.stdout, (nnp, p.stdout, p.stderr)
        assert "Operation not permitted" in p.stderr
        assert procs(cid) == [init]
    # A notifying profile would need its listener: refused, nothing started.
    cid, init = start(mote)
    cfg = os.path.join(mote.root, cid, "config.json")
    c = json.load(open(cfg))
    c["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/nonexistent.sock",
                             "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}
    json.dump(c, open(cfg, "w"))
    p = mote("exec", cid, "true")
    assert p.returncode == 255 and "SCMP_ACT_NOTIFY" in p.stderr
    assert procs(cid) == [init]


def test_exec_no_leaked_descriptors_or_lsm_labels(native):
    mote = native
    cid, _ = start(mote)
    with open("/dev/null") as extra:
        os.set_inheritable(extra.fileno(), True)
        p = subprocess.run(mote.argv("exec", cid, "ls", "/proc/self/fd"), pass_fds=(extra.fileno(),),
                           capture_output=True, text=True, timeout=TIMEOUT)
    assert p.returncode == 0, p.stderr
    assert sorted(p.stdout.split()) == ["0", "1", "2", "3"]  # 3: ls's own directory
    p = mote("exec", "--apparmor", "unconfined-x", cid, "true")
    assert p.returncode == 255 and "apparmor" in p.stderr


def test_exec_tty_console_socket(native):
    mote = native
    cid, _ = start(mote)
    master = with_console(mote, "exec", "-t", "-d", cid, "sh", "-c", "tty; [ -t 0 ] && echo is-a-tty; sleep 1")
    out = read_until(master, b"is-a-tty")
    os.close(master)
    assert b"/dev/pts/" in out and b"is-a-tty" in out, out
    # Detached without a socket: a clear error (no one would hold the terminal), not a process
    # without the terminal it asked for. (In the foreground mote proxies it: test_terminal.py.)
    p = mote("exec", "-t", "-d", cid, "true")
    assert p.returncode == 255 and "console-socket" in p.stderr


def test_exec_preserve_fds_and_no_terminal_by_default(native):
    mote = native
    # A container with a terminal (through a console socket): exec without -t gets none, as runc.
    cid = mote.new_id()
    master = with_console(mote, "run", "-d", "--bundle", mote.bundle(["sleep", "60"], process={"terminal": True}), cid)
    r, w = os.pipe()
    argv = mote.argv("exec", "--preserve-fds", "1", cid, "sh", "-c", "echo through-fd3 >&3; [ -t 0 ] || echo no-tty")
    # fd 3 of mote is the pipe's write end (dup2 in the child; close_fds runs after it and keeps 3).
    p = subprocess.run(argv, preexec_fn=lambda: os.dup2(w, 3), pass_fds=(3,), capture_output=True,
                       text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)
    os.close(w)
    assert p.returncode == 0, p.stderr
    assert os.read(r, 100) == b"through-fd3\n" and p.stdout == "no-tty\n"
    os.close(r)
    os.close(master)


def test_exec_preserve_fds_out_of_range(native):
    """A count no descriptor can reach is refused, never cut to 32 bits or wrapped past 3."""
    mote = native
    cid, init = start(mote)
    for n in ("4294967296", "4294967295", "2147483645"):
        p = mote("exec", "--preserve-fds", n, cid, "true")
        assert p.returncode == 255 and "--preserve-fds" in p.stderr, (n, p.returncode, p.stderr)
    assert mote("exec", "--preserve-fds", "2", cid, "true").returncode == 0
    assert procs(cid) == [init]


def test_exec_sub_cgroup(native):
    mote = native
    cid, init = start(mote)
    subs = []
    for d in cgroup_dirs(cid):
        s = os.path.join(d, "sub")
        os.mkdir(s)
        subs.append(s)
        for f in ("cpuset.cpus", "cpuset.mems"):
            if os.path.exists(os.path.join(s, f)):
                with open(os.path.join(s, f), "w") as w:
                    w.write(open(os.path.join(d, f)).read())
    pid = None
    try:
        pid = detached(mote, cid, "sleep", "30", flags=("--cgroup", "sub"))
        lines = [l for l in open(f"/proc/{pid}/cgroup").read().splitlines() if f"/mote/{cid}" in l]
        assert lines and all(l.endswith(f"/mote/{cid}/sub") for l in lines), lines
        p = mote("exec", "--cgroup", "../x", cid, "true")
        assert p.returncode == 255 and ".." in p.stderr
        p = mote("exec", "--cgroup", "nosuchsub", cid, "true")
        assert p.returncode == 255 and "nosuchsub" in p.stderr
    finally:
        if pid:
            kill_wait(pid)
        for s in subs:
            for _ in range(100):
                try:
                    os.rmdir(s)
                    break
                except OSError:
                    time.sleep(0.02)
    assert procs(cid) == [init]


def test_exec_joins_user_namespace(open_rootfs):
    mote = open_rootfs
    cid, init = start(mote, linux={
        "namespaces": [{"type": t} for t in ("pid", "ipc", "uts", "mount", "user")],
        "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
        "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}]},
        mounts=[{"destination": "/proc", "type": "proc", "source": "proc"},
                {"destination": "/dev", "type": "tmpfs", "source": "tmpfs"}])
    pid = detached(mote, cid, "sleep", "30", flags=("-u", "5"))
    try:
        assert os.readlink(f"/proc/{pid}/ns/user") == os.readlink(f"/proc/{init}/ns/user")
        assert os.readlink(f"/proc/{pid}/ns/user") != os.readlink("/proc/self/ns/user")
        uids = [l for l in open(f"/proc/{pid}/status") if l.startswith("Uid:")][0].split()[1:]
        assert uids == ["100005"] * 4
    finally:
        kill_wait(pid)



def test_exec_in_user_namespace_is_never_the_hosts_root(open_rootfs):
    """Joined to the container's user namespace, the exec'ing child is that namespace's root
    (host uid 100000 here) from then on, as runc's: the host's root owns files a volume shows
    inside. The attack: a container with CAP_SYS_ADMIN in its user namespace puts a tmpfs over
    its /proc whose self/oom_score_adj leads to a host-root-only file; exec's child writes the
    process's oomScoreAdj there while it is still the host's root."""
    mote = open_rootfs
    vol = os.path.join(os.path.dirname(mote.rootfs), "vol")
    secret = os.path.join(vol, "secret")
    os.makedirs(secret)
    os.makedirs(os.path.join(mote.rootfs, "vol"))
    os.chmod(vol, 0o755)
    os.chmod(secret, 0o750)  # the host's root and group only
    data = os.path.join(secret, "data")
    with open(data, "w") as f:
        f.write("host-secret\n")
    os.chmod(data, 0o644)
    caps = ["CAP_SYS_ADMIN", "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_SETUID", "CAP_SETGID"]
    trap = "mount -t tmpfs t /proc && mkdir /proc/self && ln -s /vol/secret/data /proc/self/oom_score_adj && touch /tmp/trap-set; sleep 60"
    cid, init = start(mote, "sh", "-c", trap, linux={
        "namespaces": [{"type": t} for t in ("pid", "ipc", "uts", "mount", "user")],
        "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
        "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}]},
        process={"capabilities": {k: caps for k in ("bounding", "effective", "permitted")}},
        mounts=[{"destination": "/proc", "type": "proc", "source": "proc"},
                {"destination": "/dev", "type": "tmpfs", "source": "tmpfs"},
                {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"},
                {"destination": "/vol", "type": "bind", "source": vol, "options": ["rbind"]}])
    end = time.time() + 10
    while not os.path.exists(f"/proc/{init}/root/tmp/trap-set") and time.time() < end:
        time.sleep(0.05)
    assert os.path.exists(f"/proc/{init}/root/tmp/trap-set"), open(mote.tmp / f"{cid}.log").read()
    pf = mote.tmp / "process.json"
    pf.write_text(json.dumps({"args": ["sleep", "30"], "cwd": "/", "oomScoreAdj": 7, "user": {"uid": 0, "gid": 0}}))
    pid = detached(mote, cid, flags=("-p", str(pf)))
    try:
        assert open(data).read() == "host-secret\n"
        # The process has its oomScoreAdj all the same (written while the child was still the
        # host's root, through the host's /proc).
        assert open(f"/proc/{pid}/oom_score_adj").read() == "7\n"
    finally:
        kill_wait(pid)
    # Nor does --cwd take the process where only the host's root may go (runc: permission denied).
    p = mote("exec", "--cwd", "/vol/secret", cid, "true")
    assert p.returncode == 255 and "/vol/secret" in p.stderr and "Permission denied" in p.stderr, p.stderr
    assert procs(cid) == [init]


def test_exec_user_without_gid_keeps_the_processs_gid_as_runc(native, runc_):
    """`exec -u UID` sets the uid only: the gid stays the process's (runc's getProcess)."""
    results = {}
    for tool in (runc_, native):
        i, _ = start(tool, process={"user": {"uid": 1234, "gid": 99}})
        results[tool.PREFIX] = [tool("exec", *u, i, "sh", "-c", "echo $(id -u):$(id -g)").stdout
                                for u in (["-u", "5"], ["-u", "5:6"], [])]
    assert results[native.PREFIX] == results[runc_.PREFIX] == ["5:99\n", "5:6\n", "1234:99\n"], results


def test_exec_child_being_set_up_is_out_of_reach(native):
    """While exec's child is set up it is in the container's PID namespace with the host's root and
    cwd (and mote's descriptors). Another container sharing that PID namespace (a pod) must not
    reach any of it through /proc (the child is not dumpable, and holds more capabilities than
    the container). The child is held mid-setup by exec'ing into a paused container with
    --ignore-paused: it freezes once in the cgroup, before it joins any other namespace."""
    mote = native
    a, init = start(mote)
    b, _ = start(mote, linux={"namespaces": [{"type": "pid", "path": f"/proc/{init}/ns/pid"},
                                             {"type": "mount"}, {"type": "ipc"}, {"type": "uts"}]})
    mote("pause", a, check=0)
    held, child = held_exec(mote, a, init, mote.tmp / "held.pid")
    try:
        nspid = [l for l in open(f"/proc/{child}/status") if l.startswith("NSpid:")][0].split()[-1]
        look = (f'd=/proc/{nspid}; [ -d $d ] && echo found; '
                'for f in $d/cwd $d/exe $d/root $d/fd/*; do readlink $f || echo "no link $f" >&2; done; '
                'ls $d/root/ $d/cwd/; head -c 64 $d/environ')
        p = mote("exec", b, "sh", "-c", look)
        assert p.stdout.split("\n")[0] == "found", (p.stdout, p.stderr)
        # (Its descriptors' numbers can be listed, as runc's; where they lead cannot.)
        assert p.stdout.strip() == "found", p.stdout
        assert p.stderr.count("no link") >= 6 and p.stderr.count("Permission denied") == 3, p.stderr
    finally:
        mote("resume", a)
        held.wait(timeout=TIMEOUT)


def test_exec_child_killed_before_its_exec_is_a_failure(native):
    """exec (-d too) reports success only once its child has exec'd: a child that dies while it is
    set up (killed here, held frozen mid-setup by exec'ing into a paused container with
    --ignore-paused) closes its sync socket just as an exec would; that is an error (255), no
    pid file, as the process never ran."""
    mote = native
    a, init = start(mote)
    mote("pause", a, check=0)
    pf = mote.tmp / "killed.pid"
    held, child = held_exec(mote, a, init, pf)
    try:
        os.kill(child, signal.SIGKILL)
        mote("resume", a, check=0)
        out, err = held.communicate(timeout=TIMEOUT)
        assert held.returncode == 255 and "died before its exec" in err, (held.returncode, err)
        assert not os.path.exists(pf)
        assert procs(a) == [init]
    finally:
        mote("resume", a)
        if held.poll() is None:
            held.kill()
        held.wait(timeout=TIMEOUT)
