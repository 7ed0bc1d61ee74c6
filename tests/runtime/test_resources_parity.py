"""linux.resources values engines send that runc maps specially: 0 as unset, a limit too small
to set up in reported as an OOM kill, pids.limit 0 and negative as runc maps them."""
import json
import os
import subprocess

from conftest import TIMEOUT, cgroup_dirs

V1 = "/sys/fs/cgroup"


def cg_file(cid, ctl, name, v2name):
    v1 = f"{V1}/{ctl}/mote/{cid}/{name}"
    return v1 if os.path.exists(v1) else f"{V1}/mote/{cid}/{v2name}"


def run_d(mote, cid, b):
    with open(mote.tmp / f"{cid}.log", "w") as f:
        p = subprocess.run(mote.argv("run", "-d", "--bundle", b, cid), stdout=f, stderr=f, timeout=TIMEOUT)
    assert p.returncode == 0, open(mote.tmp / f"{cid}.log").read()


def test_memory_limit_zero_is_unset(native):
    """runc and the Go engines treat 0 as unset; it was written literally and the container
    could not start."""
    for mem in ({"limit": 0}, {"limit": 0, "swap": 0, "reservation": 0}):
        cid = native.new_id()
        p = native("run", "--bundle", native.bundle(["true"], linux={"resources": {"memory": mem}}), cid)
        assert p.returncode == 0, p.stderr
        assert cgroup_dirs(cid) == []


def test_limit_too_small_to_set_up_is_reported_as_oom(native):
    cid = native.new_id()
    p = native("run", "--bundle", native.bundle(["true"], linux={"resources": {"memory": {"limit": 4096}}}), cid)
    assert p.returncode == 1 and "OOM-killed" in p.stderr, p.stderr
    assert cgroup_dirs(cid) == [] and not os.path.exists(os.path.join(native.root, cid))


def test_pids_limit_zero_leaves_it_negative_is_max(native):
    cid = native.new_id()
    run_d(native, cid, native.bundle(["sleep", "30"], linux={"resources": {"pids": {"limit": 10}}}))
    f = cg_file(cid, "pids", "pids.max", "pids.max")
    r = native.tmp / "res.json"
    r.write_text(json.dumps({"pids": {"limit": 0}}))
    native("update", "-r", str(r), cid, check=0)
    assert open(f).read().strip() == "10"
    r.write_text(json.dumps({"pids": {"limit": -1}}))
    native("update", "-r", str(r), cid, check=0)
    assert open(f).read().strip() == "max"


def test_u64_fields_never_wrap_negative(native):
    """cpu.shares 2^63 was written as a negative number (u64 cast to i64)."""
    cid = native.new_id()
    run_d(native, cid, native.bundle(["sleep", "30"]))
    r = native.tmp / "res.json"
    r.write_text(json.dumps({"cpu": {"shares": 2**63}}))
    p = native("update", "-r", str(r), cid)
    assert "-9223372036854775808" not in p.stderr, p.stderr


def test_device_program_is_replaced_on_update(native):
    """update's device rules replace the program create attached (it stayed attached, so an
    update could only tighten, and failed once 64 programs had piled up)."""
    import time
    import pytest
    if not os.path.exists(f"{V1}/unified/cgroup.procs") and not os.path.exists(f"{V1}/cgroup.controllers"):
        pytest.fail("no cgroup v2 tree on this host")
    if not os.path.exists("/dev/fuse"):
        pytest.fail("/dev/fuse is missing (fuse module): the test needs a device outside the defaults")
    fuse = [{"allow": True, "type": "c", "major": 10, "minor": 229, "access": "rwm"}]
    node = [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229}]
    script = "while :; do ((exec 3</dev/fuse) 2>/dev/null && echo opened || echo denied) > /dev/shm/r.new; mv /dev/shm/r.new /dev/shm/r; sleep 0.05; done"
    cid = native.new_id()
    run_d(native, cid, native.bundle(["sh", "-c", script], linux={"devices": node, "resources": {"devices": fuse}}))
    pid = json.loads(native("state", cid, check=0).stdout)["pid"]
    r = native.tmp / "res.json"

    def seen():
        """The result of an attempt that began after the last update: the result file is removed
        and awaited twice (the first to reappear may come from an attempt already under way)."""
        f = f"/proc/{pid}/root/dev/shm/r"
        for _ in range(2):
            if os.path.exists(f):
                os.unlink(f)
            end = time.time() + 20
            while not os.path.exists(f):
                assert time.time() < end, "the container's loop stopped writing its result"
                time.sleep(0.02)
        return open(f).read().strip()

    assert seen() == "opened"
    for i in range(70):  # past the kernel's 64 programs per cgroup
        r.write_text(json.dumps({"devices": [] if i % 2 == 0 else fuse}))
        native("update", "-r", str(r), cid, check=0)
    assert seen() == "opened"
    r.write_text(json.dumps({"devices": []}))
    native("update", "-r", str(r), cid, check=0)
    assert seen() == "denied"
    r.write_text(json.dumps({"devices": fuse}))
    native("update", "-r", str(r), cid, check=0)
    assert seen() == "opened", "the earlier, tighter program is still attached"


def test_device_rule_fields(native):
    """An empty access is "rwm" (runc); a major past 32 bits is refused, not cut (4294967297 was
    compared as 1)."""
    node = [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229}]
    cid = native.new_id()
    p = native("run", "--bundle", native.bundle(["sh", "-c", "(exec 3<>/dev/fuse) && echo opened"],
               linux={"devices": node, "resources": {"devices": [{"allow": True, "type": "c", "major": 10, "minor": 229, "access": ""}]}}), cid)
    assert "opened" in p.stdout, p.stderr
    cid = native.new_id()
    p = native("run", "--bundle", native.bundle(["true"], linux={"resources": {"devices": [{"allow": True, "type": "c", "major": 4294967297, "access": "rwm"}]}}), cid)
    assert p.returncode == 1 and "major" in p.stderr, p.stderr
    assert cgroup_dirs(cid) == []


def test_realtime_runtime_raises_the_parents_budget(native):
    """A new cgroup (and /mote) has no real-time budget: the container's write failed with
    EINVAL unless the ancestors are raised first, as runc and crun do."""
    import pytest
    if not os.path.exists(f"{V1}/cpu/cpu.rt_runtime_us"):
        pytest.fail("no cpu.rt_runtime_us here (kernel without CONFIG_RT_GROUP_SCHED or cgroup v2)")
    cid = native.new_id()
    run_d(native, cid, native.bundle(["sleep", "30"], linux={"resources": {"cpu": {"realtimeRuntime": 10000, "realtimePeriod": 1000000}}}))
    assert open(f"{V1}/cpu/mote/{cid}/cpu.rt_runtime_us").read().strip() == "10000"


def test_bad_resource_is_refused_before_anything_exists(native, tmp_path):
    """linux.resources is checked whole before the state dir and the cgroup are made (not even
    --root is created), and update applies all of its values or none."""
    root = tmp_path / "fresh-root"
    cid = native.new_id()
    b = native.bundle(["true"], linux={"resources": {"pids": {"limit": 5}, "memory": {"limit": "lots"}}})
    p = subprocess.run(native.argv()[:-2] + ["--root", str(root), "run", "--bundle", b, cid], capture_output=True,
                       text=True, timeout=TIMEOUT)
    assert p.returncode == 1 and "linux.resources.memory.limit" in p.stderr, p.stderr
    assert not root.exists() and cgroup_dirs(cid) == []
    cid = native.new_id()
    run_d(native, cid, native.bundle(["sleep", "30"], linux={"resources": {"pids": {"limit": 10}}}))
    r = native.tmp / "res.json"
    r.write_text(json.dumps({"pids": {"limit": 20}, "memory": {"limit": "lots"}}))
    p = native("update", "-r", str(r), cid)
    assert p.returncode == 1 and "memory.limit" in p.stderr, p.stderr
    assert open(cg_file(cid, "pids", "pids.max", "pids.max")).read().strip() == "10"
