"""Where engines, tools and users can tell mote from runc (issue 15): each case runs against the
real mote and, where runc behaves right on this host, against Debian's runc in the same test."""
import json
import os
import shutil
import subprocess
import time
import uuid

import pytest

from conftest import Runc, run, TIMEOUT


def runc(tmp_path, *args, **kw):
    if not shutil.which("runc"):
        pytest.fail("runc is missing: ./x setup installs it")
    return run(["runc", "--root", str(tmp_path / "runc-state"), *args], **kw)


# ---- errors engines read ----

def test_error_on_stderr_says_error_like_runc(mote, tmp_path):
    r = runc(tmp_path, "state", "nope", check=1)
    m = mote("state", "nope", check=1)
    assert "error" in r.stderr
    assert m.stderr == "mote: error: container nope: does not exist\n", m.stderr


def test_json_log_format_without_log_file_is_runc_json_on_stderr(mote, tmp_path):
    for p in (runc(tmp_path, "--log-format", "json", "state", "nope", check=1),
              run(mote.argv()[:-2] + ["--root", mote.root, "--log-format", "json", "state", "nope"], check=1)):
        line = json.loads(p.stderr.splitlines()[-1])
        assert set(line) == {"level", "msg", "time"} and line["level"] == "error", p.stderr
        assert line["time"].endswith("Z")


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_log_file_like_runc(mote, tmp_path, fmt):
    # The file gets runc's line (logrus text or JSON); stderr still gets the error.
    lines = []
    for name, argv in (("runc", ["runc", "--root", str(tmp_path / "runc-state")]),
                       ("mote", mote.argv()[:-2] + ["--root", mote.root])):
        log = tmp_path / f"{name}.log"
        p = run(argv + ["--log", str(log), "--log-format", fmt, "state", "nope"], check=1)
        assert p.stderr.strip(), name
        lines.append(log.read_text().splitlines()[-1])
    for line in lines:
        if fmt == "json":
            assert json.loads(line)["level"] == "error", line
        else:
            assert line.startswith('time="') and ' level=error msg="' in line, line


def test_errno_texts_are_glibcs_and_the_rest_named():
    """runtime/src/error.rs: glibc's texts for errno 1..=40, and the symbolic name of every other
    errno Linux defines up to 133, so no message says "Unknown error" (a joined user namespace
    once gave "/dev/pts: Unknown error")."""
    import errno
    src = open(os.path.join(os.path.dirname(__file__), "..", "..", "runtime", "src", "error.rs")).read()
    def literal(name):  # (packed text: sys/src/txt.rs)
        return src.split(f'const {name}: Txt = t!("', 1)[1].split('");', 1)[0].replace("\\\n", "")
    texts = literal("MESSAGES").split("\\n")
    assert len(texts) == 40
    for n, t in enumerate(texts, 1):
        assert t == os.strerror(n), (n, t, os.strerror(n))
    names = literal("NAMES").split()
    assert len(names) == 133 - 41
    for n, name in enumerate(names, 42):
        want = "-" if n == 58 else errno.errorcode.get(n, "EHWPOISON" if n == 133 else None)
        assert name == want or {name, want} == {"EOPNOTSUPP", "ENOTSUP"}, (n, name, want)


def test_missing_bind_source_names_the_errno(native):
    b = native.bundle(["true"], mounts=[{"destination": "/x", "type": "bind",
                                         "source": "/nonexistent-mote-test", "options": ["bind"]}])
    p = native("run", "--bundle", b, native.new_id(), check=1)
    assert "No such file or directory" in p.stderr and "mote: error: " in p.stderr, p.stderr


# ---- lifecycle ----

def create_with(tool, cid, bundle, *extra, cwd=None):
    """`create` with the container's stdio on files (a pipe would stay open while it lives)."""
    out, err = tool.tmp / f"{cid}.out", tool.tmp / f"{cid}.err"
    with open(out, "w") as f, open(err, "w") as e:
        p = subprocess.run(tool.argv("create", "--bundle", bundle, *extra, cid), stdout=f, stderr=e,
                           stdin=subprocess.DEVNULL, timeout=TIMEOUT, cwd=cwd)
    p.stderr = err.read_text()
    return p


def both(mote, runc_):
    """(tool, id) for mote and runc."""
    return [(mote, mote.new_id()), (runc_, runc_.new_id())]


def test_state_is_indented_like_runc(native, runc_):
    b = native.bundle(["sleep", "30"])
    for tool, cid in both(native, runc_):
        assert create_with(tool, cid, b).returncode == 0
        out = tool("state", cid, check=0).stdout  # (runc ends it without a newline, mote with one)
        assert out.rstrip("\n") == json.dumps(json.loads(out), indent=2), out
        assert '\n  "status": "created",\n' in out


def cgroup_v2():
    return os.path.exists("/sys/fs/cgroup/cgroup.controllers")


def frozen_cgroup(name):
    """Makes cgroup /NAME and freezes it (v1 freezer or v2 cgroup.freeze)."""
    if cgroup_v2():
        d = f"/sys/fs/cgroup/{name}"
        os.mkdir(d)
        open(f"{d}/cgroup.freeze", "w").write("1")
    else:
        d = f"/sys/fs/cgroup/freezer/{name}"
        os.mkdir(d)
        open(f"{d}/freezer.state", "w").write("FROZEN")


def remove_cgroup(name):
    """Thaws and removes cgroup /NAME and its children (in every hierarchy)."""
    dirs = [f"/sys/fs/cgroup/{name}"] if cgroup_v2() else \
        [os.path.join("/sys/fs/cgroup", h, name) for h in os.listdir("/sys/fs/cgroup")]
    for d in dirs:
        if not os.path.isdir(d):
            continue
        for f in ("freezer.state", "cgroup.freeze"):
            if os.path.exists(f"{d}/{f}"):
                open(f"{d}/{f}", "w").write("THAWED" if f == "freezer.state" else "0")
        for sub in os.listdir(d):
            if os.path.isdir(os.path.join(d, sub)):
                os.rmdir(os.path.join(d, sub))
        os.rmdir(d)


def test_create_under_a_frozen_cgroup_is_refused(native):
    # runc's words ("container's cgroup unexpectedly frozen"); mote's own cgroup is always made
    # by create, so the freeze comes from a parent. (runc 1.1.5 checks only the container's own
    # cgroup and hangs in the refrigerator here: not run.)
    name = "mote-frozen-" + uuid.uuid4().hex[:8]
    frozen_cgroup(name)
    try:
        cid = native.new_id()
        b = native.bundle(["true"], linux={"cgroupsPath": f"/{name}/c"})
        p = create_with(native, cid, b)
        assert p.returncode == 1 and "container's cgroup unexpectedly frozen" in p.stderr, p.stderr
        assert native("state", cid).returncode == 1
    finally:
        remove_cgroup(name)


def test_run_keep_leaves_the_stopped_container_like_runc(native, runc_):
    b = native.bundle(["sh", "-c", "exit 3"])
    for tool, cid in both(native, runc_):
        assert tool("run", "--keep", "--bundle", b, cid).returncode == 3
        assert json.loads(tool("state", cid, check=0).stdout)["status"] == "stopped"
        tool("delete", cid, check=0)
        assert tool("state", cid).returncode == 1


def test_run_no_subreaper_still_relays_the_exit_code_like_runc(native, runc_):
    b = native.bundle(["sh", "-c", "exit 5"])
    for tool, cid in both(native, runc_):
        assert tool("run", "--no-subreaper", "--bundle", b, cid).returncode == 5


def test_list_on_a_missing_root_like_runc(native, runc_, tmp_path):
    for argv in (native.argv()[:-2], ["runc"]):
        missing = str(tmp_path / ("nothing-" + uuid.uuid4().hex[:6]))
        p = run(argv + ["--root", missing, "list", "-q"], check=0)
        assert p.stdout == ""


def test_kill_0_checks_liveness_like_runc(native, runc_):
    b = native.bundle(["sleep", "30"])
    for tool, cid in both(native, runc_):
        assert create_with(tool, cid, b).returncode == 0
        tool("kill", cid, "0", check=0)
        tool("kill", cid, "KILL", check=0)
        end = time.time() + 10
        while json.loads(tool("state", cid, check=0).stdout)["status"] != "stopped" and time.time() < end:
            time.sleep(0.05)
        assert tool("kill", cid, "0").returncode == 1


def test_events_interval_go_duration_like_runc(native, runc_):
    b = native.bundle(["sleep", "30"])
    for tool, cid in both(native, runc_):
        assert create_with(tool, cid, b).returncode == 0
        p = subprocess.Popen(tool.argv("events", "--interval", "100ms", cid), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        try:
            lines = [json.loads(p.stdout.readline()) for _ in range(3)]
            assert all(l["type"] == "stats" for l in lines), lines
        finally:
            p.kill()
            p.communicate()
    for bad in ("0s", "1x", "-1s", "ms", "1.s5"):
        p = native("events", "--interval", bad, native.ids[0])
        assert p.returncode == 1 and "--interval" in p.stderr, (bad, p.stderr)


def test_relative_pid_file_is_the_callers_like_runc(native, runc_, tmp_path):
    b = native.bundle(["sleep", "30"])
    for tool, cid in both(native, runc_):
        here = tmp_path / ("cwd-" + cid)
        os.mkdir(here)
        assert create_with(tool, cid, b, "--pid-file", "pidf", cwd=here).returncode == 0
        pid = json.loads(tool("state", cid, check=0).stdout)["pid"]
        assert (here / "pidf").read_text() == str(pid)
        assert not os.path.exists(os.path.join(b, "pidf"))


def cgroup_file(pid, controller, name):
    """The contents of file `name` of `controller` in the cgroup of process `pid`."""
    for line in open(f"/proc/{pid}/cgroup"):
        _, ctls, path = line.rstrip("\n").split(":", 2)
        if cgroup_v2() and ctls == "":
            return open(f"/sys/fs/cgroup{path}/{name}").read().strip()
        if controller in ctls.split(","):
            return open(f"/sys/fs/cgroup/{ctls}{path}/{name}").read().strip()
    raise AssertionError(f"no {controller} cgroup for {pid}")


def test_update_memory_unlimited_like_runc(native, runc_):
    b = native.bundle(["sleep", "30"], linux={"resources": {"memory": {"limit": 64 << 20, "swap": 64 << 20}}})
    limits = []
    for tool, cid in both(native, runc_):
        assert create_with(tool, cid, b).returncode == 0
        pid = json.loads(tool("state", cid, check=0).stdout)["pid"]
        tool("update", "--memory", "-1", cid, check=0)
        limits.append(cgroup_file(pid, "memory", "memory.max" if cgroup_v2() else "memory.limit_in_bytes"))
        tool("update", "--memory", "32m", cid, check=0)
        assert cgroup_file(pid, "memory", "memory.max" if cgroup_v2() else "memory.limit_in_bytes") == str(32 << 20)
    assert limits[0] == limits[1] and limits[0] in ("max", "9223372036854771712"), limits


def test_update_cpu_share_and_idle(native, runc_):
    b = native.bundle(["sleep", "30"])
    for tool, cid in both(native, runc_):
        assert create_with(tool, cid, b).returncode == 0
        pid = json.loads(tool("state", cid, check=0).stdout)["pid"]
        tool("update", "--cpu-share", "512", cid, check=0)
        if not cgroup_v2():
            assert cgroup_file(pid, "cpu", "cpu.shares") == "512"
    cid = native.ids[0]
    pid = json.loads(native("state", cid, check=0).stdout)["pid"]
    native("update", "--cpu-idle", "1", cid, check=0)  # (runc 1.1 has no --cpu-idle)
    assert cgroup_file(pid, "cpu", "cpu.idle") == "1"


# ---- the process ----

def with_mounts(bundle, *mounts):
    """Appends `mounts` to the bundle's (the default /proc, /dev... stay)."""
    path = os.path.join(bundle, "config.json")
    c = json.load(open(path))
    c["mounts"] += list(mounts)
    json.dump(c, open(path, "w"))
    return bundle


def run_both(native, runc_, bundle):
    """`run` of the bundle by mote and by runc: [(code, stdout, stderr)] in that order."""
    out = []
    for tool, cid in both(native, runc_):
        p = tool("run", "--bundle", bundle, cid)
        out.append((p.returncode, p.stdout, p.stderr))
    return out


@pytest.mark.parametrize("uid,env,home", [
    (0, [], "/root"), (65534, [], "/"), (4242, [], "/"), (0, ["HOME=/somewhere"], "/somewhere"),
])
def test_home_from_the_rootfs_passwd_like_runc(native, runc_, uid, env, home):
    b = native.bundle(["sh", "-c", 'echo "$HOME"'], process={"user": {"uid": uid, "gid": uid},
                                                           "env": ["PATH=/bin"] + env})
    for code, out, err in run_both(native, runc_, b):
        assert (code, out) == (0, home + "\n"), err


def test_missing_cwd_is_created_like_runc(native, runc_):
    # Inside a tmpfs, so the shared rootfs is left alone.
    b = with_mounts(native.bundle(["sh", "-c", "pwd; stat -c %a ."], process={"cwd": "/tmp/a/b"}),
                    {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["mode=755"]})
    for code, out, err in run_both(native, runc_, b):
        assert (code, out) == (0, "/tmp/a/b\n755\n"), err


def test_cwd_through_a_symlink_out_of_the_root_stays_inside(native, tmp_path):
    # A symlink in a bind-mounted dir pointing at a host path: the cwd is made inside the root.
    d = tmp_path / "shared"
    os.mkdir(d)
    target = tmp_path / ("escaped-" + uuid.uuid4().hex[:6])
    os.symlink(str(target), d / "link")
    b = with_mounts(native.bundle(["sh", "-c", "pwd"], process={"cwd": "/shared/link/x"}),
                    {"destination": "/shared", "type": "bind", "source": str(d), "options": ["rbind"]},
                    {"destination": str(tmp_path), "type": "tmpfs", "source": "tmpfs"})
    native("run", "--bundle", b, native.new_id())
    assert not target.exists(), "a directory was made outside the container's root"


def test_cpu_affinity_is_the_cgroups_not_motes(native):
    ncpu = os.cpu_count()
    if ncpu < 2:
        pytest.skip("one CPU: nothing to reset")
    b = native.bundle(["sh", "-c", "grep Cpus_allowed_list /proc/self/status"])
    p = run(["taskset", "-c", "0"] + native.argv("run", "--bundle", b, native.new_id()), check=0)
    with open("/proc/self/status") as f:
        ours = [l for l in f if l.startswith("Cpus_allowed_list")][0]
    assert p.stdout == ours, (p.stdout, ours)  # the cgroup's cpuset: all CPUs we may use


def test_args0_only_root_may_run_fails_create_for_another_user(native, tmp_path):
    d = tmp_path / "progs"
    os.mkdir(d)
    (d / "rootonly").write_text("#!/bin/sh\necho ran\n")
    os.chmod(d / "rootonly", 0o700)
    progs = {"destination": "/progs", "type": "bind", "source": str(d), "options": ["rbind", "ro"]}
    b = with_mounts(native.bundle(["/progs/rootonly"], process={"user": {"uid": 1000, "gid": 1000}}), progs)
    cid = native.new_id()
    p = create_with(native, cid, b)
    assert p.returncode == 1 and "Permission denied" in p.stderr, p.stderr
    assert native("state", cid).returncode == 1
    # As root it runs.
    b = with_mounts(native.bundle(["/progs/rootonly"]), progs)
    assert native("run", "--bundle", b, native.new_id(), check=0).stdout == "ran\n"


# ---- mounts and namespaces ----

def private_rootfs(tmp_path, name="rootfs"):
    """A small busybox rootfs of this test's own, which it may change."""
    r = tmp_path / name
    for d in ("bin", "proc", "dev", "sys", "tmp", "etc"):
        os.makedirs(r / d)
    shutil.copy("/bin/busybox", r / "bin" / "busybox")
    for a in ("sh", "ls", "stat", "cat", "hostname", "true", "sleep"):
        os.symlink("busybox", r / "bin" / a)
    return r


def test_destination_through_a_dangling_symlink_is_made_inside_like_runc(native, runc_, tmp_path):
    r = private_rootfs(tmp_path)
    os.symlink("/made/abs", r / "dabs")
    os.symlink("../made/rel", r / "drel")
    b = with_mounts(native.bundle(["sh", "-c", "stat -c %F /made/abs/x /made/rel"], root={"path": str(r)}),
                    {"destination": "/dabs/x", "type": "tmpfs", "source": "tmpfs"},
                    {"destination": "/drel", "type": "tmpfs", "source": "tmpfs"})
    for code, out, err in run_both(native, runc_, b):
        assert (code, out) == (0, "directory\ndirectory\n"), err
    assert not os.path.exists("/made"), "made on the host"


@pytest.mark.parametrize("opts,mode", [([], "751"), (["mode=700"], "700")])
def test_tmpfs_on_an_existing_dir_takes_its_mode(native, runc_, tmp_path, opts, mode):
    r = private_rootfs(tmp_path)
    os.makedirs(r / "data")
    os.chmod(r / "data", 0o751)
    b = with_mounts(native.bundle(["stat", "-c", "%a", "/data"], root={"path": str(r)}),
                    {"destination": "/data", "type": "tmpfs", "source": "tmpfs", "options": opts})
    results = run_both(native, runc_, b)
    assert results[0][:2] == (0, mode + "\n"), results[0]
    if not opts:  # (runc 1.1.5 overrides an explicit mode= too; runc 1.2 and crun do not)
        assert results[1][:2] == (0, mode + "\n"), results[1]


def test_loopback_is_up_in_a_new_network_namespace_like_runc(native, runc_):
    b = native.bundle(["cat", "/sys/class/net/lo/flags"])
    for code, out, err in run_both(native, runc_, b):
        assert code == 0 and int(out, 16) & 1, (out, err)  # IFF_UP


def test_kernel_hostname_sysctl_conflicts_like_runc(native, runc_):
    b = native.bundle(["hostname"], linux={"sysctl": {"kernel.hostname": "other"}})
    for code, out, err in run_both(native, runc_, b):
        assert code == 1 and "kernel.hostname" in err and "hostname" in err, err
    b = native.bundle(["cat", "/proc/sys/kernel/domainname"], linux={"sysctl": {"kernel.domainname": "dom"}})
    for code, out, err in run_both(native, runc_, b):
        assert (code, out) == (0, "dom\n"), err


def test_rootfs_propagation_unbindable(native):
    # (runc 1.1.5 fails this one; crun and now mote set it after the switch of root.)
    b = native.bundle(["awk", "$5 == \"/\"", "/proc/self/mountinfo"],
                      linux={"rootfsPropagation": "unbindable"})
    p = native("run", "--bundle", b, native.new_id(), check=0)
    assert "unbindable" in p.stdout, p.stdout


def test_no_mount_namespace_is_refused_saying_why(native):
    b = native.bundle(["true"], linux={"namespaces": [{"type": "pid"}, {"type": "uts"}]})
    cid = native.new_id()
    p = native("run", "--bundle", b, cid, check=1)
    assert "mount namespace is required" in p.stderr and "host's" in p.stderr, p.stderr
    assert native("state", cid).returncode == 1


USERNS = {"uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
          "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}]}


@pytest.fixture
def userns_rootfs():
    """A rootfs owned by the mapped root (100000), where that uid can reach it (pytest's tmp
    dirs are 0700): under /tmp, removed afterwards."""
    import pathlib
    top = pathlib.Path("/tmp") / ("mote-userns-" + uuid.uuid4().hex[:8])
    os.mkdir(top)
    os.chmod(top, 0o755)
    try:
        r = private_rootfs(top)
        subprocess.run(["chown", "-R", "100000:100000", str(r)], check=True)
        yield r
    finally:
        shutil.rmtree(top)


def with_namespaces(bundle, *extra):
    path = os.path.join(bundle, "config.json")
    c = json.load(open(path))
    c["linux"]["namespaces"] += list(extra)
    json.dump(c, open(path, "w"))
    return bundle


def test_time_namespace_in_a_user_namespace(native, userns_rootfs):
    # The offsets are written by mote's parent (the host's root): the child in its own user
    # namespace may not open its /proc/self/timens_offsets (runc 1.1.5 has no time namespaces).
    r = userns_rootfs
    b = with_namespaces(native.bundle(["cat", "/proc/self/timens_offsets"], root={"path": str(r)},
                                      linux=dict(USERNS, timeOffsets={"monotonic": {"secs": 1000, "nanosecs": 0}})),
                        {"type": "user"}, {"type": "time"})
    p = native("run", "--bundle", b, native.new_id(), check=0)
    assert p.stdout.split()[:3] == ["monotonic", "1000", "0"], p.stdout


def test_joining_another_containers_user_namespace_like_runc(native, runc_, userns_rootfs):
    r = userns_rootfs
    a = with_namespaces(native.bundle(["sleep", "30"], root={"path": str(r)}, linux=USERNS), {"type": "user"})
    first = native.new_id()
    assert create_with(native, first, a).returncode == 0
    pid = json.loads(native("state", first, check=0).stdout)["pid"]
    # (runc 1.1.5 wants the mappings repeated even for a user namespace it joins.)
    b = with_namespaces(native.bundle(["cat", "/proc/self/uid_map"], root={"path": str(r)}, linux=USERNS),
                        {"type": "user", "path": f"/proc/{pid}/ns/user"})
    for code, out, err in run_both(native, runc_, b):
        assert (code, out.split()) == (0, ["0", "100000", "65536"]), err
    # With a new time namespace in it too (mote only: runc 1.1.5 has none).
    t = with_namespaces(native.bundle(["cat", "/proc/self/timens_offsets"], root={"path": str(r)},
                                      linux={"timeOffsets": {"boottime": {"secs": 7, "nanosecs": 0}}}),
                        {"type": "user", "path": f"/proc/{pid}/ns/user"}, {"type": "time"})
    p = native("run", "--bundle", t, native.new_id(), check=0)
    assert "boottime" in p.stdout and " 7 " in p.stdout.replace("\t", " ").split("boottime")[1] + " ", p.stdout


def test_bind_source_only_the_host_can_reach_in_a_user_namespace_like_runc(native, runc_, userns_rootfs):
    # /tmp/X is 0700 root: the container's root (host uid 100000) cannot reach X/data itself.
    top = "/tmp/mote-hostonly-" + uuid.uuid4().hex[:8]
    os.mkdir(top, 0o700)
    try:
        os.mkdir(top + "/data", 0o755)
        b = with_mounts(with_namespaces(native.bundle(["stat", "-c", "%a", "/hostonly"],
                                                      root={"path": str(userns_rootfs)}, linux=USERNS),
                                        {"type": "user"}),
                        {"destination": "/hostonly", "type": "bind", "source": top + "/data", "options": ["rbind"]})
        for code, out, err in run_both(native, runc_, b):
            assert (code, out) == (0, "755\n"), err
    finally:
        shutil.rmtree(top)


def test_devices_in_a_user_namespace_like_runc(native, runc_, userns_rootfs):
    # No mknod there: the host's node is bound, if the host has that very device at that path.
    if not os.path.exists("/dev/fuse"):
        pytest.fail("this host has no /dev/fuse")
    ok = with_namespaces(native.bundle(["stat", "-c", "%t:%T", "/dev/fuse"], root={"path": str(userns_rootfs)},
                                       linux=dict(USERNS, devices=[{"path": "/dev/fuse", "type": "c", "major": 10,
                                                                    "minor": 229}])), {"type": "user"})
    for code, out, err in run_both(native, runc_, ok):
        assert (code, out) == (0, "a:e5\n"), err
    missing = "/dev/mote-missing-" + uuid.uuid4().hex[:6]
    bad = with_namespaces(native.bundle(["true"], root={"path": str(userns_rootfs)},
                                        linux=dict(USERNS, devices=[{"path": missing, "type": "c", "major": 1,
                                                                     "minor": 3}])), {"type": "user"})
    for code, out, err in run_both(native, runc_, bad):
        assert code == 1, err
    p = native("run", "--bundle", bad, native.new_id(), check=1)
    assert missing in p.stderr and "No such file or directory" in p.stderr, p.stderr
    assert not os.path.exists(missing)
