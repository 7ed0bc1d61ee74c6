"""Cgroups through cgroupfs: every resource field written and read back, update, pause/resume,
ps, events, OOM, pids, devices, tiny memory limits, and no cgroup left behind. Written for this
host's v1 controllers (a v1/v2 hybrid); on a pure v2 host the tests that do not depend on the
layout run too, the ones that read a v2 file read it there, and only those that read a v1-only
file or need the hybrid's unified tree are skipped, each saying which (the VM boots of
tests/qemu/test_vm.py check every v2 file)."""
import json
import os
import subprocess
import time

import pytest

from conftest import TIMEOUT, cgroup_dirs

V1 = "/sys/fs/cgroup"
PURE_V2 = os.path.exists(f"{V1}/cgroup.controllers")


def v1_only(what):
    """Skips a test on a pure v2 host, naming the v1 file or hierarchy it needs."""
    return pytest.mark.skipif(PURE_V2, reason=f"pure cgroup v2 host: no {what} (v1 only; the VM checks the v2 files)")


# v1 file -> (v2 file, the v2 value -> the v1 spelling) for what the layout-independent tests read
V2_FILE = {"memory.limit_in_bytes": ("memory.max", None), "memory.usage_in_bytes": ("memory.current", None),
           "pids.max": ("pids.max", None), "cpu.cfs_quota_us": ("cpu.max", lambda v: v.split()[0]),
           "freezer.state": ("cgroup.freeze", lambda v: {"1": "FROZEN", "0": "THAWED"}[v])}


def cg(ctl, cid, f):
    """A file of the container's cgroup: v1's controller directory, or on pure v2 the same
    value from its v2 file (V2_FILE)."""
    if PURE_V2:
        f, conv = V2_FILE[f]
        with open(f"{V1}/mote/{cid}/{f}") as fh:
            v = fh.read().strip()
        return conv(v) if conv else v
    with open(f"{V1}/{ctl}/mote/{cid}/{f}") as fh:
        return fh.read().strip()


def pids_dir(path):
    """The pids controller's directory of cgroup `path` (v1), or the path in the v2 tree."""
    return f"{V1}{path}" if PURE_V2 else f"{V1}/pids{path}"


def detached(mote, args, **overrides):
    cid = mote.new_id()
    b = mote.bundle(args, **overrides)
    with open(mote.tmp / f"{cid}.log", "w") as f:
        p = subprocess.run(mote.argv("run", "-d", "--bundle", b, cid), stdout=f, stderr=f, timeout=TIMEOUT)
    assert p.returncode == 0, open(mote.tmp / f"{cid}.log").read()
    return cid


@v1_only("memory.soft_limit_in_bytes, memory.swappiness, cpu.shares, per-controller cgroup.procs")
def test_resources_written_and_read_back(native):
    mote = native
    res = {"memory": {"limit": 64 << 20, "reservation": 32 << 20, "swappiness": 10, "disableOOMKiller": False},
           "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0", "mems": "0"},
           "pids": {"limit": 42}}
    if os.path.exists(f"{V1}/memory/memory.memsw.limit_in_bytes"):
        res["memory"]["swap"] = 128 << 20
    cid = detached(mote, ["sleep", "30"], linux={"resources": res})
    assert cg("memory", cid, "memory.limit_in_bytes") == str(64 << 20)
    assert cg("memory", cid, "memory.soft_limit_in_bytes") == str(32 << 20)
    assert cg("memory", cid, "memory.swappiness") == "10"
    if "swap" in res["memory"]:
        assert cg("memory", cid, "memory.memsw.limit_in_bytes") == str(128 << 20)
    assert cg("cpu", cid, "cpu.shares") == "512"
    assert cg("cpu", cid, "cpu.cfs_quota_us") == "50000"
    assert cg("cpu", cid, "cpu.cfs_period_us") == "100000"
    assert cg("cpuset", cid, "cpuset.cpus") == "0"
    assert cg("pids", cid, "pids.max") == "42"
    # the process is in the cgroup in every hierarchy, and sees it as / (cgroup namespace)
    pid = json.loads(mote("state", cid, check=0).stdout)["pid"]
    for ctl in ("memory", "cpu", "pids", "cpuset", "freezer", "devices"):
        assert str(pid) in cg(ctl, cid, "cgroup.procs").split(), ctl
    with open(f"/proc/{pid}/cgroup") as f:
        host_view = f.read()
    assert f"/mote/{cid}" in host_view


def test_container_sees_its_cgroup_as_root(native):
    b = native.bundle(["cat", "/proc/self/cgroup"])
    p = native("run", "--bundle", b, native.new_id(), check=0)
    assert all(l.endswith(":/") for l in p.stdout.splitlines()), p.stdout


@v1_only("blkio hierarchy")
def test_blkio_weight(native):
    if not any(os.path.exists(f"{V1}/blkio/{f}") for f in ("blkio.weight", "blkio.bfq.weight")):
        pytest.skip("this kernel has no blkio weight (no CFQ/BFQ)")
    cid = detached(native, ["sleep", "30"], linux={"resources": {"blockIO": {"weight": 300}}})
    f = "blkio.weight" if os.path.exists(f"{V1}/blkio/blkio.weight") else "blkio.bfq.weight"
    assert cg("blkio", cid, f).split()[-1] == "300"


def test_missing_controller_is_a_clear_error(native):
    if os.path.exists(f"{V1}/net_cls"):
        pytest.skip("net_cls is mounted here")
    cid = native.new_id()
    b = native.bundle(["true"], linux={"resources": {"network": {"classID": 7}}})
    p = native("run", "--bundle", b, cid)
    if PURE_V2:  # no v2 controller at all: refused by name
        assert p.returncode == 1 and "linux.resources.network" in p.stderr and "v1 only" in p.stderr, p.stderr
    else:
        assert p.returncode == 1 and "net_cls" in p.stderr and "not mounted" in p.stderr
    assert cgroup_dirs(cid) == []


def test_refused_value_names_file_and_value(native):
    cid = native.new_id()
    b = native.bundle(["true"], linux={"resources": {"cpu": {"cpus": "999"}}})
    p = native("run", "--bundle", b, cid)
    assert p.returncode == 1
    assert "cpuset.cpus (value 999)" in p.stderr, p.stderr
    assert cgroup_dirs(cid) == []


def test_update_changes_limits(native):
    mote = native
    cid = detached(mote, ["sleep", "30"], linux={"resources": {"memory": {"limit": 64 << 20}, "pids": {"limit": 50}}})
    mote("update", "--memory", "32m", "--pids-limit", "7", "--cpu-quota", "30000", "--cpu-period", "100000", cid, check=0)
    assert cg("memory", cid, "memory.limit_in_bytes") == str(32 << 20)
    assert cg("pids", cid, "pids.max") == "7"
    assert cg("cpu", cid, "cpu.cfs_quota_us") == "30000"
    r = mote.tmp / "r.json"
    r.write_text(json.dumps({"pids": {"limit": 9}, "cpu": {"shares": 256}}))
    mote("update", "-r", str(r), cid, check=0)
    assert cg("pids", cid, "pids.max") == "9"
    if not PURE_V2:  # v2: cpu.weight, converted (the VM checks it)
        assert cg("cpu", cid, "cpu.shares") == "256"
    p = mote("update", "--memory", "lots", cid)
    assert p.returncode == 1 and "--memory lots: not a size" in p.stderr, p.stderr


def test_pause_resume_ps(native):
    mote = native
    cid = detached(mote, ["sh", "-c", "sleep 30 & sleep 30 & wait"])
    pid = json.loads(mote("state", cid, check=0).stdout)["pid"]
    ps = json.loads(mote("ps", "--format", "json", cid, check=0).stdout)
    assert pid in ps and len(ps) == 3
    assert mote("ps", cid, check=0).stdout.startswith("PID\tCMD\n")
    mote("pause", cid, check=0)
    assert json.loads(mote("state", cid, check=0).stdout)["status"] == "paused"
    assert cg("freezer", cid, "freezer.state") == "FROZEN"
    assert mote("pause", cid).returncode == 1
    mote("resume", cid, check=0)
    assert json.loads(mote("state", cid, check=0).stdout)["status"] == "running"
    assert cg("freezer", cid, "freezer.state") == "THAWED"


def test_events_stats_json(native):
    mote = native
    cid = detached(mote, ["sleep", "30"], linux={"resources": {"memory": {"limit": 64 << 20}, "pids": {"limit": 11}}})
    e = json.loads(mote("events", "--stats", cid, check=0).stdout)
    assert e["type"] == "stats" and e["id"] == cid
    d = e["data"]
    assert d["memory"]["usage"]["limit"] == 64 << 20 and d["memory"]["usage"]["usage"] > 0
    assert d["pids"] == {"current": 1, "limit": 11}
    assert d["cpu"]["usage"]["total"] > 0 and isinstance(d["cpu"]["usage"]["percpu"], list)
    # memory.stat's own names: v1's cache/rss, v2's anon/file
    assert {"cache", "rss", "anon", "file"} & set(d["memory"]["raw"]), d["memory"]["raw"]


def test_kill_all_and_delete_leave_no_cgroup(native):
    mote = native
    cid = detached(mote, ["sh", "-c", "sleep 30 & sleep 30 & wait"])
    assert len(json.loads(mote("ps", "-f", "json", cid, check=0).stdout)) == 3
    mote("kill", "--all", cid, "KILL", check=0)
    # delete without --force needs the container stopped: wait for it (no fixed sleep)
    end = time.time() + 10
    while json.loads(mote("state", cid, check=0).stdout)["status"] != "stopped" and time.time() < end:
        time.sleep(0.02)
    mote("delete", cid, check=0)
    assert cgroup_dirs(cid) == []


def test_oom_kill_reports_137(native):
    b = native.bundle(["dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"],
                      linux={"resources": {"memory": {"limit": 16 << 20}}})
    p = native("run", "--bundle", b, native.new_id())
    assert p.returncode == 137, (p.returncode, p.stderr)


def test_pids_limit_stops_a_fork_bomb(native):
    loop = " ".join(str(i) for i in range(40))
    b = native.bundle(["sh", "-c", f"for i in {loop}; do sleep 30 & done; echo survived"],
                      linux={"resources": {"pids": {"limit": 10}}})
    p = native("run", "--bundle", b, native.new_id())
    assert "survived" not in p.stdout and "fork" in p.stderr, (p.stdout, p.stderr)


def test_pids_limit_1_runs_true(native):
    b = native.bundle(["true"], linux={"resources": {"pids": {"limit": 1}}})
    native("run", "--bundle", b, native.new_id(), check=0)


# Not exactly 256 KiB: 262144 bytes is 64 pages, the kernel's per-CPU memcg charge batch. The
# first charge then takes the whole limit into one CPU's stock, and when the process moves CPU
# at exec the v1 controller OOM-kills it now and then (measured here: 24/30 at 262144, 30/30 at
# 258048, 261120, 266240 and at 163840). A kernel artifact, not mote's memory: 255K stands in.
@pytest.mark.parametrize("limit", [1 << 20, 512 << 10, 255 << 10, 250 << 10])
def test_tiny_memory_limits_10_of_10(native, limit):
    # mote's own pages, faulted in by the container's process while it sets up, are charged to
    # the container if they are not in the page cache yet: warm it, as any earlier run would.
    with open(native.argv()[0], "rb") as f:
        f.read()
    b = native.bundle(["true"], linux={"resources": {"memory": {"limit": limit}}})
    codes = [native("run", "--bundle", b, native.new_id()).returncode for _ in range(10)]
    assert codes == [0] * 10, codes


def test_device_rules(native):
    # /dev/fuse (10:229): opening it needs nothing but the device cgroup's leave.
    if not os.path.exists("/dev/fuse"):
        pytest.skip("no /dev/fuse on this host")
    node = {"devices": [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229}]}
    deny = [{"allow": False, "access": "rwm"}]
    script = "(exec 3</dev/fuse) && echo fuse-opened; head -c 1 /dev/zero | wc -c"
    b = native.bundle(["sh", "-c", script], linux=dict(node, resources={"devices": deny}))
    p = native("run", "--bundle", b, native.new_id())
    assert "fuse-opened" not in p.stdout and "Operation not permitted" in p.stderr, (p.stdout, p.stderr)
    assert p.stdout.split()[-1] == "1"  # /dev/zero: one of the devices every container gets
    allow = deny + [{"allow": True, "type": "c", "major": 10, "minor": 229, "access": "r"}]
    b = native.bundle(["sh", "-c", script], linux=dict(node, resources={"devices": allow}))
    p = native("run", "--bundle", b, native.new_id())
    assert "fuse-opened" in p.stdout, p.stderr
    # read allowed, write not: the access subset is enforced
    b = native.bundle(["sh", "-c", "(exec 3>/dev/fuse) && echo fuse-opened-rw"], linux=dict(node, resources={"devices": allow}))
    p = native("run", "--bundle", b, native.new_id())
    assert "fuse-opened-rw" not in p.stdout and "Operation not permitted" in p.stderr


@v1_only("devices hierarchy to move the process out of (this test needs a hybrid host)")
def test_device_program_on_unified_tree(native):
    """On this hybrid host the eBPF program guards the unified (v2) tree too: with the process
    moved out of its v1 devices cgroup (to the root one, which allows everything), the program
    alone must still refuse /dev/fuse."""
    if not os.path.exists(f"{V1}/unified/cgroup.procs"):
        pytest.skip("v1 host without a unified (v2) hierarchy at /sys/fs/cgroup/unified")
    if not os.path.exists("/dev/fuse"):
        pytest.skip("no /dev/fuse on this host")
    node = {"devices": [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229}],
            "resources": {"devices": [{"allow": False, "access": "rwm"}]}}
    script = "sleep 0.5; ((exec 3</dev/fuse) && echo opened || echo denied) > /dev/shm/r 2>&1; sleep 30"
    cid = detached(native, ["sh", "-c", script], linux=node)
    pid = json.loads(native("state", cid, check=0).stdout)["pid"]
    assert os.path.exists(f"{V1}/unified/mote/{cid}")
    with open(f"{V1}/devices/cgroup.procs", "w") as f:
        f.write(str(pid))
    time.sleep(1.5)
    with open(f"/proc/{pid}/root/dev/shm/r") as f:
        r = f.read()
    assert "denied" in r and "opened" not in r, r


def test_delete_force_paused(native):
    cid = detached(native, ["sleep", "30"])
    native("pause", cid, check=0)
    native("delete", "--force", cid, check=0)
    assert cgroup_dirs(cid) == []


def test_cgroup_v2_mode_in_private_mount_namespace(native, tmp_path):
    """mote on a cgroup2 /sys/fs/cgroup: the host's unified tree mounted there in a private
    mount namespace (the host's own /sys/fs/cgroup is untouched). This host binds every
    controller to v1, so what v2 gives here is the core: cgroup.procs, cgroup.freeze,
    cgroup.kill, the cgroup namespace, the eBPF device program, `unified` key checks."""
    if PURE_V2:
        pytest.skip("pure cgroup v2 host: /sys/fs/cgroup is cgroup2 already (the other tests here run on it)")
    if not os.path.exists(f"{V1}/unified/cgroup.procs"):
        pytest.skip("v1 host without a unified (v2) hierarchy at /sys/fs/cgroup/unified")
    mote = native
    cid = mote.new_id()
    b = mote.bundle(["sh", "-c", "cat /proc/self/cgroup; (exec 3</dev/fuse) && echo fuse-opened; sleep 30"],
                    linux={"devices": [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229}],
                           "resources": {"devices": [{"allow": False, "access": "rwm"}]}})
    bad = mote.bundle(["true"], linux={"resources": {"unified": {"../escape": "1"}}})
    m = " ".join(mote.argv())
    script = f"""
set -u
mount -t cgroup2 none /sys/fs/cgroup || exit 99
test -e /sys/fs/cgroup/cgroup.controllers || exit 98
{m} run -d --bundle {b} {cid} > {tmp_path}/out 2>&1 || exit 1
sleep 0.5
echo "v2dir=$(test -d /sys/fs/cgroup/mote/{cid} && echo yes)"
{m} pause {cid} || exit 2
echo "frozen=$(cat /sys/fs/cgroup/mote/{cid}/cgroup.freeze)"
{m} state {cid} | grep -o '"status": "[a-z]*"'
{m} resume {cid} || exit 3
echo "ps=$({m} ps -f json {cid})"
{m} delete --force {cid} || exit 4
echo "gone=$(test -d /sys/fs/cgroup/mote/{cid} || echo yes)"
{m} run --bundle {bad} {cid}-bad; echo "bad=$?"
"""
    p = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                       capture_output=True, text=True, timeout=TIMEOUT)
    out = p.stdout + open(tmp_path / "out").read() if os.path.exists(tmp_path / "out") else p.stdout
    assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)
    assert "v2dir=yes" in out and "frozen=1" in out and '"status": "paused"' in out
    assert "gone=yes" in out and "bad=1" in out
    assert "0::/\n" in out                 # the container's own cgroup is its root
    assert "fuse-opened" not in out        # the eBPF program is the only guard here
    assert "unified: invalid key ../escape" in p.stderr
    assert cgroup_dirs(cid) == [] and not os.path.exists(f"{V1}/unified/mote/{cid}")


def test_cgroups_path_absolute_and_relative(native):
    mote = native
    own = [l for l in open("/proc/self/cgroup").read().splitlines() if l.startswith("0::")]
    base = own[0][3:] if own and own[0][3:] != "/" else ""
    name = "mote-test-cg-" + os.urandom(4).hex()
    cid = detached(mote, ["sleep", "30"], linux={"cgroupsPath": f"/{name}/abs", "resources": {"pids": {"limit": 5}}})
    assert open(f"{pids_dir('/' + name)}/abs/pids.max").read().strip() == "5"
    mote("delete", "-f", cid, check=0)
    assert not os.path.exists(f"{pids_dir('/' + name)}/abs")
    for h in [""] if PURE_V2 else os.listdir(V1):
        if os.path.isdir(f"{V1}/{h}/{name}"):
            os.rmdir(f"{V1}/{h}/{name}")
    cid = detached(mote, ["sleep", "30"], linux={"cgroupsPath": f"{name}-rel", "resources": {"pids": {"limit": 6}}})
    assert open(f"{pids_dir(base)}/{name}-rel/pids.max").read().strip() == "6"
    mote("delete", "-f", cid, check=0)
    assert not os.path.exists(f"{pids_dir(base)}/{name}-rel")
    p = mote("run", "--bundle", mote.bundle(["true"], linux={"cgroupsPath": "/a/../../etc"}), mote.new_id())
    assert p.returncode == 1 and "cgroupsPath" in p.stderr


def test_check_before_update(native):
    mote = native
    cid = detached(mote, ["sh", "-c", "x=$(head -c 3000000 /dev/zero | tr '\\0' a); sleep 30"],
                   linux={"resources": {"memory": {"limit": 64 << 20}}})
    time.sleep(0.5)
    r = mote.tmp / "r.json"
    used = int(cg("memory", cid, "memory.usage_in_bytes"))
    r.write_text(json.dumps({"memory": {"limit": used // 2 // 4096 * 4096, "checkBeforeUpdate": True}}))
    p = mote("update", "-r", str(r), cid)
    assert p.returncode == 1 and "checkBeforeUpdate" in p.stderr, p.stderr
    assert cg("memory", cid, "memory.limit_in_bytes") == str(64 << 20)


def test_new_and_unfilled_cpuset_parents_are_filled(native):
    """A cgroupsPath under parents that do not exist yet, or under one that exists with an empty
    v1 cpuset (made by a concurrent create that has not filled it yet): every directory on the
    way gets its parent's cpus and mems (a cpuset without them refuses tasks), the process
    runs, and only the container's own directory is removed."""
    import uuid
    top = "mote-test-" + uuid.uuid4().hex[:10]
    hiers = [l.split()[4] for l in open("/proc/self/mountinfo")
             if l.split()[4].startswith(V1 + "/") and l.split(" - ")[1].split()[0] in ("cgroup", "cgroup2")]
    assert any(h.endswith("/cpuset") for h in hiers), hiers
    try:
        os.mkdir(f"{V1}/cpuset/{top}")  # exists, cpus and mems empty
        with open(f"{V1}/cpuset/{top}/cpuset.cpus") as f:
            assert f.read().strip() == ""
        b = native.bundle(["true"], linux={"cgroupsPath": f"/{top}/a/b/ctr"})
        native("run", "--bundle", b, native.new_id(), check=0)
        for d in (top, f"{top}/a", f"{top}/a/b"):
            for f in ("cpuset.cpus", "cpuset.mems"):
                with open(f"{V1}/cpuset/{d}/{f}") as fh, open(f"{V1}/cpuset/{f}") as root:
                    assert fh.read() == root.read(), (d, f)
        for h in hiers:
            assert os.path.isdir(f"{h}/{top}/a/b") and not os.path.exists(f"{h}/{top}/a/b/ctr"), h
    finally:
        for h in hiers:
            for d in (f"{top}/a/b/ctr", f"{top}/a/b", f"{top}/a", top):
                try:
                    os.rmdir(f"{h}/{d}")
                except FileNotFoundError:
                    pass


def test_mountinfo_lines_longer_than_the_read_buffer(native, tmp_path):
    """mote reads the cgroup layout from /proc/self/mountinfo 4 KiB at a time: a longer line
    (deep bind mounts, an overlay with many layers) elsewhere than /sys/fs/cgroup is skipped, and
    the container still gets its cgroup in every hierarchy (in a private mount namespace)."""
    deep = str(tmp_path / "/".join(["d" * 200] * 19))
    os.makedirs(deep)
    cid = native.new_id()
    b = native.bundle(["cat", "/proc/self/cgroup"])
    script = f"""
mount --bind {deep} {deep} || exit 99
awk 'length($0) > 4096 {{ n++ }} END {{ exit n ? 0 : 98 }}' /proc/self/mountinfo || exit 98
{" ".join(native.argv("run", "--bundle", b, cid))}
"""
    p = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                       capture_output=True, text=True, timeout=TIMEOUT)
    assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)
    want = sum(1 for l in open("/proc/self/mountinfo")
               if l.split()[4].startswith(V1 + "/") and l.split(" - ")[1].split()[0] in ("cgroup", "cgroup2"))
    assert len([l for l in p.stdout.splitlines() if l.strip()]) == want, p.stdout
    assert not cgroup_dirs(cid)


def test_hierarchy_covered_by_another_mount_is_left_out(native):
    """A hierarchy's place under /sys/fs/cgroup that a later mount covers (here a tmpfs, in a
    private mount namespace) is no hierarchy: mote's one pass over mountinfo goes by mount order,
    as a look at the directory would, and the container runs in the others."""
    cid = native.new_id()
    b = native.bundle(["true"])
    script = f"""
mount -t tmpfs mote-test-cover {V1}/memory || exit 99
{" ".join(native.argv("run", "--bundle", b, cid))}
"""
    p = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                       capture_output=True, text=True, timeout=TIMEOUT)
    assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)
    assert not cgroup_dirs(cid)
