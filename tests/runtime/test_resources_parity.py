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
