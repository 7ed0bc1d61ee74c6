"""OCI hooks: each of the six stages runs at its point of the lifecycle, in its namespace, with the
state JSON on stdin and only its own args/env; a timeout kills the hook and fails the operation;
a failing create hook leaves nothing behind; poststart/poststop failures only warn."""
import json
import os
import subprocess
import time

import pytest

from conftest import TIMEOUT, cgroup_dirs, mounts_mentioning

STAGES = ("prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop")
# Records what a hook sees: its state JSON, its mount namespace, its env; appends to `order`.
RECORD = 'cat > "$D/$S.json"; readlink /proc/self/ns/mnt > "$D/$S.mnt"; echo "$S:$HOME" >> "$D/order"'


def hook(stage, d, **extra):
    return dict(path="/bin/sh", args=["sh", "-c", RECORD], env=[f"S={stage}", f"D={d}"], **extra)


def create(mote, cid, bundle, *flags):
    with open(mote.tmp / f"{cid}.log", "w") as f:
        p = subprocess.run(mote.argv(*flags, "create", "--bundle", bundle, cid), stdout=f, stderr=f,
                           stdin=subprocess.DEVNULL, timeout=TIMEOUT)
    p.stderr = open(mote.tmp / f"{cid}.log").read()
    return p


def order(d):
    try:
        return open(os.path.join(d, "order")).read().split()
    except FileNotFoundError:
        return []


def nothing_left(mote, cid, marker=None):
    assert not os.path.exists(os.path.join(mote.root, cid)), "state dir left"
    assert cgroup_dirs(cid) == [], "cgroup left"
    assert mounts_mentioning(cid) == [], "mounts left"
    if marker:
        for p in os.listdir("/proc"):
            if p.isdigit():
                try:
                    seen = open(f"/proc/{p}/environ", "rb").read()
                except OSError:
                    continue
                assert marker.encode() not in seen, f"process {p} left"


def test_every_stage_at_its_point_and_namespace(mote):
    cid = mote.new_id()
    d = str(mote.tmp / "hooks")
    os.makedirs(d)
    hooks = {s: [hook(s, d)] for s in STAGES}
    # startContainer runs inside the container: its path and $D are the container's.
    hooks["startContainer"] = [hook("startContainer", "/hooklog")]
    b = mote.bundle(["sleep", "30"], hooks=hooks, annotations={"org.test": "yes"},
                    mounts=[{"destination": "/proc", "type": "proc", "source": "proc"},
                            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs"},
                            {"destination": "/hooklog", "type": "bind", "source": d, "options": ["rbind"]}])
    p = create(mote, cid, b)
    assert p.returncode == 0, p.stderr
    assert order(d) == ["prestart:", "createRuntime:", "createContainer:"]  # no HOME: env is the hook's own
    pid = json.loads(mote("state", cid, check=0).stdout)["pid"]
    host_mnt, ctr_mnt = os.readlink("/proc/self/ns/mnt"), os.readlink(f"/proc/{pid}/ns/mnt")
    for s in ("prestart", "createRuntime", "createContainer"):
        st = json.load(open(f"{d}/{s}.json"))
        assert (st["id"], st["status"], st["pid"], st["bundle"]) == (cid, "creating", pid, b), (s, st)
        assert st["annotations"] == {"org.test": "yes"}
    assert open(f"{d}/prestart.mnt").read().strip() == host_mnt
    assert open(f"{d}/createRuntime.mnt").read().strip() == host_mnt
    # createContainer: in the container's mount namespace (before pivot_root: the host path resolved).
    assert open(f"{d}/createContainer.mnt").read().strip() == ctr_mnt
    mote("start", cid, check=0)
    assert order(d)[3:] == ["startContainer:", "poststart:"]
    assert open(f"{d}/startContainer.mnt").read().strip() == ctr_mnt
    assert json.load(open(f"{d}/startContainer.json"))["pid"] == pid
    st = json.load(open(f"{d}/poststart.json"))
    assert (st["status"], st["pid"]) == ("running", pid)
    assert open(f"{d}/poststart.mnt").read().strip() == host_mnt
    mote("kill", cid, "KILL", check=0)
    end = time.time() + 10
    while json.loads(mote("state", cid, check=0).stdout)["status"] != "stopped" and time.time() < end:
        time.sleep(0.05)
    assert len(order(d)) == 5
    mote("delete", cid, check=0)
    assert order(d)[5:] == ["poststop:"]
    st = json.load(open(f"{d}/poststop.json"))
    assert (st["id"], st["status"]) == (cid, "stopped")
    nothing_left(mote, cid)


def test_createcontainer_in_the_containers_cgroup_and_cgroup_namespace(native):
    """createContainer runs in the container's namespaces: its cgroup namespace too (made once the
    process is in its cgroup), so the hook sees the cgroup the container's process will see."""
    mote = native
    d = str(mote.tmp / "hooks")
    os.makedirs(d)
    rec = 'readlink /proc/self/ns/cgroup > "$D/ns"; cat /proc/self/cgroup > "$D/cgroup"'
    cid = mote.new_id()
    b = mote.bundle(["sleep", "30"], hooks={"createContainer": [{"path": "/bin/sh", "args": ["sh", "-c", rec], "env": [f"D={d}"]}]})
    p = create(mote, cid, b)
    assert p.returncode == 0, p.stderr
    pid = json.loads(mote("state", cid, check=0).stdout)["pid"]
    assert os.readlink(f"/proc/{pid}/ns/cgroup") != os.readlink("/proc/self/ns/cgroup")
    assert open(f"{d}/ns").read().strip() == os.readlink(f"/proc/{pid}/ns/cgroup")
    # Its cgroup as the container sees its own (the same cgroup, seen from the same namespace).
    inside = mote("exec", cid, "cat", "/proc/self/cgroup", check=0).stdout
    assert open(f"{d}/cgroup").read() == inside and "/mote/" not in inside, inside


def test_run_runs_poststop(mote):
    d = str(mote.tmp / "hooks")
    os.makedirs(d)
    b = mote.bundle(["true"], hooks={"poststart": [hook("poststart", d)], "poststop": [hook("poststop", d)]})
    cid = mote.new_id()
    mote("run", "--bundle", b, cid, check=0)
    assert order(d) == ["poststart:", "poststop:"]
    nothing_left(mote, cid)


def test_a_long_run_still_runs_poststop(native):
    """A run whose container lives past the wait's first quiet second gives back what create
    used (its parsed config among it): poststop still runs, with the container's state."""
    d = str(native.tmp / "hooks")
    os.makedirs(d)
    b = native.bundle(["sleep", "2.5"], hooks={"poststop": [hook("poststop", d)]})
    cid = native.new_id()
    native("run", "--bundle", b, cid, check=0)
    assert order(d) == ["poststop:"]
    st = json.load(open(f"{d}/poststop.json"))
    assert st["id"] == cid and st["status"] == "stopped" and st["bundle"] == str(b), st
    nothing_left(native, cid)


def test_hook_exit_code_and_signal_told_apart(native):
    mote = native
    for script, said in (("exit 130", "exited with 130"), ("kill -TERM $$", "killed by signal 15")):
        cid = mote.new_id()
        p = create(mote, cid, mote.bundle(["true"], hooks={"createRuntime": [{"path": "/bin/sh", "args": ["sh", "-c", script]}]}))
        assert p.returncode == 1 and f"createRuntime[0] /bin/sh: {said}" in p.stderr, p.stderr
        nothing_left(mote, cid)


@pytest.mark.parametrize("stage", ["prestart", "createRuntime", "createContainer"])
def test_failing_create_hook_leaves_nothing(native, stage):
    mote = native
    d = str(mote.tmp / "hooks")
    os.makedirs(d)
    cid = mote.new_id()
    b = mote.bundle(["true"], hooks={
        stage: [{"path": "/bin/sh", "args": ["sh", "-c", "echo hook-said-no >&2; exit 3"]}],
        "poststop": [hook("poststop", d)]})
    p = create(mote, cid, b)
    assert p.returncode == 1
    assert f"{stage}[0]" in p.stderr and "exited with 3" in p.stderr and "hook-said-no" in p.stderr, p.stderr
    nothing_left(mote, cid)
    # The spec's lifecycle: a container that failed is destroyed and its poststop hooks run.
    assert order(d) == ["poststop:"]


def test_state_too_large_for_poststop_is_a_warning_not_cut_json(native):
    """Annotations past the state's bound fail create (named); the poststop hooks of that failed
    create never get a state JSON cut short: they are skipped with a warning that says why."""
    mote = native
    d = str(mote.tmp / "hooks")
    os.makedirs(d)
    cid = mote.new_id()
    log = str(mote.tmp / "mote.log")
    b = mote.bundle(["true"], annotations={f"big.{i}": "x" * 2000 for i in range(40)},
                    hooks={"poststop": [hook("poststop", d)]})
    p = create(mote, cid, b, "--log", log)
    assert p.returncode == 1 and "65536" in p.stderr, p.stderr
    nothing_left(mote, cid)
    if os.path.exists(f"{d}/poststop.json"):
        json.load(open(f"{d}/poststop.json"))  # whole, if given at all
    assert "poststop" in open(log).read() and "65536" in open(log).read()


def test_hook_past_its_timeout_is_killed(native):
    mote = native
    cid = mote.new_id()
    marker = "hook-timeout-" + cid
    b = mote.bundle(["true"], hooks={"createRuntime": [
        {"path": "/bin/sh", "args": ["sh", "-c", "sleep 60; :"], "env": [f"MARK={marker}"], "timeout": 1}]})
    p = create(mote, cid, b)
    assert p.returncode == 1 and "timeout of 1s" in p.stderr, p.stderr
    # The hook's whole process group is gone (the shell and its sleep).
    time.sleep(0.2)
    nothing_left(mote, cid, marker)


def test_startcontainer_failure_stops_the_container(native):
    mote = native
    cid = mote.new_id()
    b = mote.bundle(["sleep", "30"], hooks={"startContainer": [{"path": "/bin/false"}]})
    assert create(mote, cid, b).returncode == 0
    mote("start", cid, check=0)
    end = time.time() + 10
    while json.loads(mote("state", cid, check=0).stdout)["status"] != "stopped" and time.time() < end:
        time.sleep(0.05)
    assert json.loads(mote("state", cid, check=0).stdout)["status"] == "stopped"
    assert "startContainer[0] /bin/false: exited with 1" in open(mote.tmp / f"{cid}.log").read()


def test_hanging_startcontainer_hook_leaves_the_container_killable(native):
    """start waits for the process to exec (poststart comes after it), but not holding the
    container's lock: a startContainer hook that hangs (no timeout) must not keep kill and
    delete --force, which end it, waiting behind start."""
    mote = native
    cid = mote.new_id()
    b = mote.bundle(["sleep", "30"], hooks={"startContainer": [{"path": "/bin/sh", "args": ["sh", "-c", "sleep 60"]}]})
    assert create(mote, cid, b).returncode == 0
    st = subprocess.Popen(mote.argv("start", cid), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        end = time.time() + 10
        while os.path.exists(os.path.join(mote.root, cid, "exec.fifo")) and time.time() < end:
            time.sleep(0.05)
        p = mote("kill", cid, "KILL", timeout=10)
        assert p.returncode == 0, p.stderr
        assert st.wait(timeout=10) == 0
        assert mote("delete", "--force", cid, timeout=10).returncode == 0
        nothing_left(mote, cid)
    finally:
        st.kill()
        st.wait()


def test_poststart_and_poststop_failures_only_warn(native):
    mote = native
    cid = mote.new_id()
    log = str(mote.tmp / "mote.log")
    fail = {"path": "/bin/sh", "args": ["sh", "-c", "exit 4"]}
    b = mote.bundle(["sleep", "30"], hooks={"poststart": [fail], "poststop": [fail]})
    assert create(mote, cid, b).returncode == 0
    p = mote("--log", log, "start", cid)
    assert p.returncode == 0, p.stderr
    assert json.loads(mote("state", cid, check=0).stdout)["status"] == "running"
    p = mote("--log", log, "delete", "--force", cid)
    assert p.returncode == 0, p.stderr
    text = open(log).read()
    assert "poststart[0] /bin/sh: exited with 4" in text and "poststop[0] /bin/sh: exited with 4" in text, text
    nothing_left(mote, cid)


def test_output_annotations(native):
    mote = native
    out, err = str(mote.tmp / "hooks.out"), str(mote.tmp / "hooks.err")
    b = mote.bundle(["true"], annotations={"run.oci.hooks.stdout": out, "run.oci.hooks.stderr": err},
                    hooks={s: [{"path": "/bin/sh", "args": ["sh", "-c", f"echo {s}-out; echo {s}-err >&2"]}]
                           for s in ("prestart", "createContainer", "poststop")})
    mote("run", "--bundle", b, mote.new_id(), check=0)
    assert open(out).read().split() == ["prestart-out", "createContainer-out", "poststop-out"]
    assert open(err).read().split() == ["prestart-err", "createContainer-err", "poststop-err"]


@pytest.mark.parametrize("h,why", [
    ({"path": "bin/true"}, "hooks.prestart[0].path: must be an absolute path"),
    ({"path": "/bin/true", "timeout": 0}, "hooks.prestart[0].timeout: must be greater than zero"),
    ({"path": "/bin/true", "args": [1]}, "hooks.prestart[0].args[0]: expected string"),
])
def test_bad_hooks_are_refused(native, h, why):
    mote = native
    cid = mote.new_id()
    p = create(mote, cid, mote.bundle(["true"], hooks={"prestart": [h]}))
    assert p.returncode == 1 and why in p.stderr, p.stderr
    nothing_left(mote, cid)


def test_features_lists_every_stage(native):
    f = json.loads(native("features", check=0).stdout)
    assert sorted(f["hooks"]) == sorted(STAGES)


@pytest.fixture
def userns(open_rootfs):
    """A rootfs and a hook directory a mapped root (host uid 100000) can reach."""
    d = os.path.dirname(open_rootfs.rootfs)
    os.makedirs(os.path.join(open_rootfs.rootfs, "hooklog"), exist_ok=True)
    log = os.path.join(d, "log")
    os.mkdir(log)
    os.chmod(log, 0o777)
    return open_rootfs, log


def test_container_stages_in_the_user_namespace(userns):
    mote, d = userns
    rec = 'cat > "$D/$S.json"; readlink /proc/self/ns/user > "$D/$S.user"; id -u > "$D/$S.uid"'
    h = lambda s, where: [dict(path="/bin/sh", args=["sh", "-c", rec], env=[f"S={s}", f"D={where}"])]
    cid = mote.new_id()
    b = mote.bundle(["sleep", "30"], hooks={"createRuntime": h("createRuntime", d), "createContainer": h("createContainer", d),
                                            "startContainer": h("startContainer", "/hooklog")},
                    linux={"namespaces": [{"type": t} for t in ("pid", "ipc", "uts", "mount", "user")],
                           "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
                           "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}]},
                    mounts=[{"destination": "/proc", "type": "proc", "source": "proc"},
                            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs"},
                            {"destination": "/hooklog", "type": "bind", "source": d, "options": ["rbind"]}])
    p = create(mote, cid, b)
    assert p.returncode == 0, p.stderr
    mote("start", cid, check=0)
    pid = json.loads(mote("state", cid, check=0).stdout)["pid"]
    ours, theirs = os.readlink("/proc/self/ns/user"), os.readlink(f"/proc/{pid}/ns/user")
    assert ours != theirs
    read = lambda s, f: open(f"{d}/{s}.{f}").read().strip()
    assert (read("createRuntime", "user"), read("createRuntime", "uid")) == (ours, "0")
    for s in ("createContainer", "startContainer"):
        assert (read(s, "user"), read(s, "uid")) == (theirs, "0"), s
        assert json.loads(read(s, "json"))["pid"] == pid
    # Files the in-container hooks made belong to the mapped root on the host.
    assert os.stat(f"{d}/createContainer.user").st_uid == 100000


def test_same_as_runc(native):
    """What runc does right here, the same: the stages create and delete run, their status and
    namespace (host or container mount namespace), the env (only the hook's), and a failing
    createRuntime failing create with nothing left."""
    import shutil
    if not shutil.which("runc"):
        pytest.fail("runc is missing: ./x setup installs it")
    mote = native
    host_mnt = os.readlink("/proc/self/ns/mnt")
    rec = ('st=$(cat); echo "$S ${st#*\\"status\\":\\"}" | cut -d\\" -f1 >> "$D/seen"; '
           f'[ "$(readlink /proc/self/ns/mnt)" = "{host_mnt}" ] && echo "$S host $HOME" >> "$D/seen" || echo "$S container $HOME" >> "$D/seen"')
    results = {}
    for name in ("runc", "mote"):
        d = str(mote.tmp / f"seen-{name}")
        os.makedirs(d)
        h = lambda s: [dict(path="/bin/sh", args=["sh", "-c", rec], env=[f"S={s}", f"D={d}"])]
        b = mote.bundle(["sleep", "30"], hooks={s: h(s) for s in ("prestart", "createRuntime", "createContainer", "poststop")})
        argv = ["runc", "--root", str(mote.tmp / "runc")] if name == "runc" else mote.argv()
        cid = mote.new_id()
        with open(mote.tmp / f"{name}.log", "w") as f:
            rc = subprocess.run(argv + ["create", "--bundle", b, cid], stdout=f, stderr=f, stdin=subprocess.DEVNULL,
                                timeout=TIMEOUT).returncode
        assert rc == 0, open(mote.tmp / f"{name}.log").read()
        subprocess.run(argv + ["delete", "-f", cid], capture_output=True, timeout=TIMEOUT)
        bad = mote.bundle(["true"], hooks={"createRuntime": [{"path": "/bin/sh", "args": ["sh", "-c", "exit 3"]}]})
        bid = mote.new_id()
        p = subprocess.run(argv + ["create", "--bundle", bad, bid], capture_output=True, text=True,
                           stdin=subprocess.DEVNULL, timeout=TIMEOUT)
        left = subprocess.run(argv + ["list", "-q"], capture_output=True, text=True, timeout=TIMEOUT).stdout.split()
        results[name] = (open(f"{d}/seen").read().split("\n"), p.returncode != 0, bid in left, cgroup_dirs(bid) != [])
    assert results["mote"] == results["runc"], results
    seen = results["mote"][0]
    assert seen[:2] == ["prestart creating", "prestart host "] and "createContainer container " in seen
    assert "poststop stopped" in seen and "poststop host " in seen


@pytest.mark.parametrize("script,fails", [
    # The hook floods its output forever: its timeout still ends it (and create).
    ("exec yes", True),
    # A background child floods while the hook hangs: the same.
    ("yes & sleep 60", True),
    # The hook exits at once, leaving a child that floods the pipe: create goes on (the hook
    # succeeded), and the child, its pipe closed, goes too.
    ("yes & exit 0", False),
])
def test_hook_flooding_its_output(native, script, fails):
    """What mote reads of a hook's output per round is bounded: a hook (or its child) writing
    faster than mote reads never keeps mote from checking the hook's exit and its timeout."""
    mote = native
    cid = mote.new_id()
    marker = "hook-flood-" + cid
    b = mote.bundle(["true"], hooks={"createRuntime": [
        {"path": "/bin/sh", "args": ["sh", "-c", script], "env": [f"MARK={marker}"], "timeout": 2}]})
    p = create(mote, cid, b)
    if fails:
        assert p.returncode == 1 and "createRuntime[0] /bin/sh: ran past its timeout of 2s" in p.stderr, p.stderr[-2000:]
    else:
        assert p.returncode == 0, p.stderr[-2000:]
        mote("delete", "--force", cid, check=0)
    # Nothing left: the hook's group was killed, or the orphan met its closed pipe.
    end = time.time() + 10
    while time.time() < end:
        try:
            nothing_left(mote, cid, marker)
            break
        except AssertionError:
            time.sleep(0.1)
    nothing_left(mote, cid, marker)


@pytest.mark.parametrize("detach", [False, True])
def test_run_runs_poststop_when_start_fails(native, detach):
    """The spec's lifecycle: a container whose start fails is destroyed and its poststop hooks
    run (runc's run means to: its destroy does; Debian's runc 1.1.5 refuses to destroy this
    one, "container still running", and leaves it). start is made to fail by a createRuntime
    hook that takes the exec fifo away: the process is created, but can never be started."""
    mote = native
    d = str(mote.tmp / "hooks")
    os.makedirs(d)
    cid = mote.new_id()
    marker = f"start-fails-{cid}"
    b = mote.bundle(["sh", "-c", f": {marker}; sleep 60"], hooks={
        "createRuntime": [{"path": "/bin/sh", "args": ["sh", "-c", f"rm {mote.root}/{cid}/exec.fifo"]}],
        "poststop": [hook("poststop", d)]})
    with open(mote.tmp / "run.log", "w") as f:
        p = subprocess.run(mote.argv("run", *(["-d"] if detach else []), "--bundle", b, cid), stdout=f, stderr=f,
                           stdin=subprocess.DEVNULL, timeout=TIMEOUT)
    log = open(mote.tmp / "run.log").read()
    assert p.returncode != 0 and "cannot start container" in log, log
    assert order(d) == ["poststop:"], log
    st = json.load(open(f"{d}/poststop.json"))
    assert (st["id"], st["status"]) == (cid, "stopped"), st
    nothing_left(mote, cid)
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            assert marker.encode() not in open(f"/proc/{pid}/cmdline", "rb").read(), f"process {pid} left"
        except OSError:
            pass
