"""Every linux.resources field's file and value as mote writes it, on cgroup v2 and on v1, with
runc/crun's conversions (cpu.weight from shares, io.weight from the blkio weight, memory.swap.max
from memory+swap, cpu.max from quota and period, "max" for -1).

This host is a v1/v2 hybrid whose v2 tree has no controllers, so the files are asserted here the
only way they can be for v2: `mote update` on a running container whose cgroup files are, in a
private mount namespace (the host's tree is untouched), files of the test's own, its writes read
off strace. For v2, the hybrid's unified tree is mounted on /sys/fs/cgroup (a real cgroup2 mount,
as mote detects v2) with a tmpfs on the container's directory and the parents' subtree_control
bound from plain files; for v1, a tmpfs on /sys/fs/cgroup laid out as v1 controllers. The
kernel's own acceptance of the values is checked on real files by test_cgroups.py (v1) and the
VM tests (v2)."""
import json
import os
import re
import subprocess

import pytest

from conftest import TIMEOUT

# Inside the private mount namespace: the fake tree (see above), then `mote update` under
# strace; prints its exit code and stderr (the writes are in the strace log).
FAKE = r"""
import json, os, subprocess, sys
spec = json.loads(sys.argv[1])
R = "/sys/fs/cgroup"
def mount(*a):
    subprocess.run(["mount", *a], check=True)
if spec["v2"]:
    mount("-t", "cgroup2", "none", R)
    mount("-t", "tmpfs", "mote-test-fake-cgroup", R + "/mote/" + spec["cid"])
else:
    mount("-t", "tmpfs", "mote-test-fake-cgroup", R)
for i, (f, content) in enumerate(spec["files"].items()):
    own = not spec["v2"] or f.startswith("mote/" + spec["cid"] + "/")
    path = R + "/" + f if own else spec["stage"] + "/" + str(i)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as fh:
        fh.write(content)
    if not own:
        mount("--bind", path, R + "/" + f)
p = subprocess.run(["strace", "-f", "-qq", "-y", "-s", "512", "-e", "trace=" + spec["trace"], "-e", "signal=none", "-o", spec["log"]]
                   + spec["argv"], capture_output=True, text=True)
print(json.dumps({"rc": p.returncode, "err": p.stderr}))
"""

WRITE = re.compile(r'write\(\d+</sys/fs/cgroup/([^>]*)>, "((?:[^"\\]|\\.)*)", \d+\)')


def fake_update(mote, cid, files, doc, tag, flags=None, trace="write"):
    """(exit code, stderr, [(file under the container's cgroup or the root, value)] in order) of
    `update -r` with `doc`, or of `update` with `flags`; the strace log (strace-TAG.log) also has
    the other syscalls in `trace`."""
    r = mote.tmp / f"res-{tag}.json"
    r.write_text(json.dumps(doc))
    log = mote.tmp / f"strace-{tag}.log"
    args = ["update", *flags, cid] if flags is not None else ["update", "-r", str(r), cid]
    v2 = "cgroup.subtree_control" in files
    if v2 and not os.path.exists("/sys/fs/cgroup/unified/cgroup.procs"):
        pytest.fail("no unified (v2) hierarchy on this host: the v2 files cannot be checked here")
    stage = mote.tmp / f"stage-{tag}"
    os.makedirs(stage, exist_ok=True)
    spec = {"files": files, "log": str(log), "argv": mote.argv(*args), "v2": v2, "cid": cid, "stage": str(stage),
            "trace": trace}
    p = subprocess.run(["unshare", "-m", "--propagation", "private", "python3", "-c", FAKE, json.dumps(spec)],
                       capture_output=True, text=True, timeout=TIMEOUT)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    writes = []
    for line in open(log):
        m = WRITE.search(line)
        if m:
            path = m.group(1).replace(f"mote/{cid}/", "")
            writes.append((path, m.group(2).encode().decode("unicode_escape")))
    return out["rc"], out["err"], writes


@pytest.fixture
def running(native):
    cid = native.new_id()
    with open(native.tmp / "run.log", "w") as f:
        p = subprocess.run(native.argv("run", "-d", "--bundle", native.bundle(["sleep", "30"]), cid), stdout=f, stderr=f,
                           timeout=TIMEOUT)
    assert p.returncode == 0, open(native.tmp / "run.log").read()
    return cid


V2_CONTROLLERS = "cpuset cpu io memory hugetlb pids rdma"


def v2_files(cid, enabled=V2_CONTROLLERS, swap=True):
    own = ["memory.low", "memory.max", "memory.high", "cpu.weight", "cpu.max", "cpu.max.burst", "cpu.idle", "cpuset.cpus",
           "cpuset.mems", "pids.max", "io.weight", "io.max", "hugetlb.2MB.max", "hugetlb.1GB.max", "rdma.max",
           "memory.current"] + (["memory.swap.max"] if swap else [])
    files = {"cgroup.subtree_control": enabled, "mote/cgroup.subtree_control": enabled}
    files.update({f"mote/{cid}/{f}": "" for f in own})
    files[f"mote/{cid}/memory.current"] = "1000"
    return files


def by_file(writes):
    out = {}
    for f, v in writes:
        out.setdefault(f, []).append(v)
    return out


def test_v2_files_and_conversions(native, running):
    cid = running
    doc = {
        "memory": {"limit": 64 << 20, "swap": 96 << 20, "reservation": 32 << 20, "checkBeforeUpdate": True},
        "cpu": {"shares": 512, "quota": 50000, "period": 200000, "burst": 1000, "cpus": "0", "mems": "0", "idle": 1},
        "pids": {"limit": 42},
        "blockIO": {"weight": 300,
                    "weightDevice": [{"major": 8, "minor": 0, "weight": 500}],
                    "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1000}],
                    "throttleWriteBpsDevice": [{"major": 8, "minor": 0, "rate": 2000}],
                    "throttleReadIOPSDevice": [{"major": 8, "minor": 0, "rate": 30}],
                    "throttleWriteIOPSDevice": [{"major": 8, "minor": 0, "rate": 40}]},
        "hugepageLimits": [{"pageSize": "2MB", "limit": 4 << 20}, {"pageSize": "1GB", "limit": -1}],
        "rdma": {"mlx5_0": {"hcaHandles": 3, "hcaObjects": 4}},
        "unified": {"memory.high": "50000000"},
    }
    rc, err, writes = fake_update(native, cid, v2_files(cid), doc, "v2")
    assert rc == 0, err
    assert by_file(writes) == {
        "memory.low": [str(32 << 20)],
        "memory.max": [str(64 << 20)],
        "memory.swap.max": [str(32 << 20)],          # v1's memory+swap minus the limit
        "cpu.weight": ["20"],                         # 1 + (512 - 2) * 9999 / 262142
        "cpu.max": ["50000 200000"],
        "cpu.max.burst": ["1000"],
        "cpu.idle": ["1"],
        "cpuset.cpus": ["0"],
        "cpuset.mems": ["0"],
        "pids.max": ["42"],
        "io.weight": ["2930", "8:0 4950"],            # 1 + (w - 10) * 9999 / 990, the device's too
        "io.max": ["8:0 rbps=1000", "8:0 wbps=2000", "8:0 riops=30", "8:0 wiops=40"],
        "hugetlb.2MB.max": [str(4 << 20)],
        "hugetlb.1GB.max": ["max"],
        "rdma.max": ["mlx5_0 hca_handle=3 hca_object=4"],
        "memory.high": ["50000000"],
    }


@pytest.mark.parametrize("doc,want", [
    ({"memory": {"limit": -1, "swap": -1, "reservation": -1}}, {"memory.max": ["max"], "memory.swap.max": ["max"], "memory.low": ["max"]}),
    ({"memory": {"limit": 1 << 20, "swap": 1 << 20}}, {"memory.max": [str(1 << 20)], "memory.swap.max": ["0"]}),
    ({"memory": {"limit": 0, "swap": 0, "reservation": 0}, "pids": {"limit": 0}}, {}),     # 0 is unset, as runc
    ({"pids": {"limit": -1}}, {"pids.max": ["max"]}),
    ({"cpu": {"quota": -1}}, {"cpu.max": ["max 100000"]}),
    ({"cpu": {"period": 50000}}, {"cpu.max": ["max 50000"]}),
    ({"cpu": {"quota": 0, "period": 10000}}, {"cpu.max": ["max 10000"]}),
    ({"cpu": {"shares": 2}}, {"cpu.weight": ["1"]}),
    ({"cpu": {"shares": 1}}, {"cpu.weight": ["1"]}),
    ({"cpu": {"shares": 1024}}, {"cpu.weight": ["39"]}),
    ({"cpu": {"shares": 262144}}, {"cpu.weight": ["10000"]}),
    ({"cpu": {"shares": 18446744073709551615}}, {"cpu.weight": ["10000"]}),
    ({"blockIO": {"weight": 10}}, {"io.weight": ["1"]}),
    ({"blockIO": {"weight": 1000}}, {"io.weight": ["10000"]}),
    ({"blockIO": {"weight": 5000}}, {"io.weight": ["10000"]}),
    ({"blockIO": {"weight": 500}}, {"io.weight": ["4950"]}),
])
def test_v2_conversion_edges(native, running, doc, want):
    rc, err, writes = fake_update(native, running, v2_files(running), doc, "edge")
    assert rc == 0, err
    assert by_file(writes) == want


@pytest.mark.parametrize("doc,msg", [
    ({"memory": {"swappiness": 10}}, "memory.swappiness: has no cgroup v2 equivalent"),
    ({"memory": {"kernel": 1 << 20}}, "memory.kernel: kernel memory limits have no cgroup v2 equivalent"),
    ({"memory": {"kernelTCP": 1 << 20}}, "kernel memory limits have no cgroup v2 equivalent"),
    ({"memory": {"disableOOMKiller": True}}, "memory.disableOOMKiller: has no cgroup v2 equivalent"),
    ({"cpu": {"realtimeRuntime": 1000}}, "cpu.realtimeRuntime: has no cgroup v2 equivalent"),
    ({"cpu": {"realtimePeriod": 1000}}, "cpu.realtimePeriod: has no cgroup v2 equivalent"),
    ({"blockIO": {"leafWeight": 20}}, "blockIO.leafWeight: has no cgroup v2 equivalent"),
    ({"blockIO": {"weightDevice": [{"major": 8, "minor": 0, "weight": 500, "leafWeight": 20}]}},
     "blockIO.weightDevice[0].leafWeight: has no kernel file since CFQ was removed (Linux 5.0)"),
    ({"network": {"classID": 1}}, "network: has no cgroup v2 controller (net_cls/net_prio are v1 only)"),
    ({"memory": {"limit": 1 << 20, "swap": 1 << 19}}, "memory.swap: must be -1 or at least memory.limit on cgroup v2"),
    ({"memory": {"swap": 1 << 20}}, "memory.swap: must be -1 or at least memory.limit on cgroup v2"),
    ({"memory": {"limit": 512, "checkBeforeUpdate": True}}, "memory.limit: below the current usage 1000 (checkBeforeUpdate)"),
])
def test_v2_refusals_write_nothing(native, running, doc, msg):
    """A field v2 cannot take is refused by name before anything is written: update is all or
    nothing (here with valid fields beside it)."""
    doc = dict(doc, pids={"limit": 7}, cpu=dict(doc.get("cpu", {}), shares=512))
    rc, err, writes = fake_update(native, running, v2_files(running), doc, "refuse")
    assert rc == 1 and msg in err, err
    assert writes == []


def test_v2_enables_only_the_controllers_needed(native, running):
    cid = running
    rc, err, writes = fake_update(native, cid, v2_files(cid, enabled=""), {"pids": {"limit": 5}, "cpu": {"cpus": "0"}}, "enable")
    assert rc == 0, err
    # Top down, before the first file; only cpu, cpuset and pids.
    assert [f for f, _ in writes[:6]] == ["cgroup.subtree_control"] * 3 + ["mote/cgroup.subtree_control"] * 3, writes
    assert sorted(writes) == sorted([("cgroup.subtree_control", "+cpu"), ("cgroup.subtree_control", "+pids"),
                                  ("cgroup.subtree_control", "+cpuset"), ("mote/cgroup.subtree_control", "+cpu"),
                                  ("mote/cgroup.subtree_control", "+pids"), ("mote/cgroup.subtree_control", "+cpuset"),
                                  ("pids.max", "5"), ("cpuset.cpus", "0")]), writes


def test_v2_blkio_weight_goes_to_bfq_where_it_is(native, running):
    """With the BFQ scheduler's io.bfq.weight present the weights go there as they are (runc, crun:
    BFQ takes blkio's 10..1000), else converted into iocost's io.weight - a device's weight too
    (written raw, 500 was below iocost's default of 100's scale: 4950 is the cgroup's 500)."""
    files = v2_files(running)
    files[f"mote/{running}/io.bfq.weight"] = ""
    doc = {"blockIO": {"weight": 300, "weightDevice": [{"major": 8, "minor": 0, "weight": 500}]}}
    rc, err, writes = fake_update(native, running, files, doc, "bfq")
    assert rc == 0 and by_file(writes) == {"io.bfq.weight": ["300", "8:0 500"]}, (err, writes)


@pytest.mark.parametrize("v2", [True, False])
def test_hugetlb_reservations_limited_too(native, running, v2):
    """Where the kernel has hugetlb's reservation files (5.7+) they get the same limit, as runc:
    else pages reserved by mmap but not yet touched escape it."""
    if v2:
        files, rsvd = v2_files(running), f"mote/{running}/hugetlb.2MB.rsvd.max"
        names = ("hugetlb.2MB.max", "hugetlb.2MB.rsvd.max")
    else:
        files, rsvd = v1_files(running), f"hugetlb/mote/{running}/hugetlb.2MB.rsvd.limit_in_bytes"
        names = ("hugetlb/hugetlb.2MB.limit_in_bytes", "hugetlb/hugetlb.2MB.rsvd.limit_in_bytes")
    files[rsvd] = ""
    rc, err, writes = fake_update(native, running, files, {"hugepageLimits": [{"pageSize": "2MB", "limit": 4 << 20}]}, "rsvd")
    assert rc == 0 and by_file(writes) == {n: [str(4 << 20)] for n in names}, (err, writes)


def test_v2_without_swap_accounting(native, running):
    files = v2_files(running, swap=False)
    rc, err, writes = fake_update(native, running, files, {"memory": {"limit": 1 << 20, "swap": 1 << 20}}, "noswap")
    assert rc == 0 and by_file(writes) == {"memory.max": [str(1 << 20)]}, (err, writes)
    rc, err, writes = fake_update(native, running, files, {"memory": {"limit": 1 << 20, "swap": 2 << 20}}, "noswap2")
    assert rc == 1 and "swap accounting is off on this kernel (no memory.swap.max)" in err, err


V1_CONTROLLERS = ["memory", "cpu", "cpuset", "pids", "blkio", "hugetlb", "net_cls", "net_prio", "rdma", "devices"]


def v1_files(cid, extra=()):
    files = {f"{c}/{d}cgroup.procs": "" for c in V1_CONTROLLERS for d in ("", f"mote/{cid}/")}
    # No memory.kmem.tcp.limit_in_bytes (newer kernels dropped it) nor blkio.leaf_weight (BFQ's instead).
    for f in ["memory/memory.limit_in_bytes", "memory/memory.memsw.limit_in_bytes", "memory/memory.usage_in_bytes",
              "memory/memory.soft_limit_in_bytes", "memory/memory.swappiness", "memory/memory.kmem.limit_in_bytes",
              "memory/memory.oom_control", "memory/memory.use_hierarchy", "cpu/cpu.shares", "cpu/cpu.cfs_quota_us",
              "cpu/cpu.cfs_period_us", "cpu/cpu.cfs_burst_us", "cpu/cpu.rt_runtime_us", "cpu/cpu.rt_period_us", "cpu/cpu.idle",
              "cpuset/cpuset.cpus", "cpuset/cpuset.mems", "pids/pids.max", "blkio/blkio.weight", "blkio/blkio.bfq.leaf_weight",
              "blkio/blkio.weight_device", "blkio/blkio.throttle.read_bps_device", "blkio/blkio.throttle.write_bps_device",
              "blkio/blkio.throttle.read_iops_device", "blkio/blkio.throttle.write_iops_device",
              "hugetlb/hugetlb.2MB.limit_in_bytes", "net_cls/net_cls.classid", "net_prio/net_prio.ifpriomap", "rdma/rdma.max",
              "devices/devices.allow", "devices/devices.deny", *extra]:
        files[f.replace("/", f"/mote/{cid}/", 1)] = ""
    files[f"memory/mote/{cid}/memory.limit_in_bytes"] = "67108864\n"
    return files


def test_v1_files(native, running):
    cid = running
    doc = {
        "memory": {"limit": 128 << 20, "swap": 256 << 20, "reservation": 32 << 20, "swappiness": 10, "kernel": 1 << 30,
                   "kernelTCP": 1 << 20, "disableOOMKiller": True, "useHierarchy": True},
        "cpu": {"shares": 18446744073709551615, "quota": 50000, "period": 200000, "burst": 1000, "realtimeRuntime": 5000,
                "realtimePeriod": 900000, "cpus": "0", "mems": "0", "idle": 1},
        "pids": {"limit": -1},
        "blockIO": {"weight": 300, "leafWeight": 20,
                    "weightDevice": [{"major": 8, "minor": 0, "weight": 500}],
                    "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1000}],
                    "throttleWriteBpsDevice": [{"major": 8, "minor": 0, "rate": 2000}],
                    "throttleReadIOPSDevice": [{"major": 8, "minor": 0, "rate": 30}],
                    "throttleWriteIOPSDevice": [{"major": 8, "minor": 0, "rate": 40}]},
        "hugepageLimits": [{"pageSize": "2MB", "limit": 4 << 20}],
        "network": {"classID": 4294967295, "priorities": [{"name": "eth0", "priority": 5}, {"name": "lo", "priority": 1}]},
        "rdma": {"mlx5_0": {"hcaObjects": 4}},
        "devices": [{"allow": False, "access": "rwm"}, {"allow": True, "type": "c", "major": 10, "minor": -1, "access": "rw"}],
    }
    rc, err, writes = fake_update(native, cid, v1_files(cid), doc, "v1")
    assert rc == 0, err
    got = by_file(writes)
    # memory+swap grows past the limit in force: written before the limit (runc's order).
    order = [f for f, _ in writes]
    assert order.index("memory/memory.memsw.limit_in_bytes") < order.index("memory/memory.limit_in_bytes")
    assert order.index("cpu/cpu.cfs_period_us") < order.index("cpu/cpu.cfs_quota_us")
    devices = got.pop("devices/devices.deny") + got.pop("devices/devices.allow")
    assert devices[:2] == ["a *:* rwm", "c 10:* rw"] and "c 136:* rwm" in devices
    assert got == {
        "memory/memory.limit_in_bytes": [str(128 << 20)],
        "memory/memory.memsw.limit_in_bytes": [str(256 << 20)],
        "memory/memory.soft_limit_in_bytes": [str(32 << 20)],
        "memory/memory.swappiness": ["10"],
        "memory/memory.kmem.limit_in_bytes": [str(1 << 30)],  # kernelTCP: no file on this kernel, skipped as runc
        "memory/memory.oom_control": ["1"],
        "memory/memory.use_hierarchy": ["1"],
        "cpu/cpu.shares": ["18446744073709551615"],
        "cpu/cpu.cfs_quota_us": ["50000"],
        "cpu/cpu.cfs_period_us": ["200000"],
        "cpu/cpu.cfs_burst_us": ["1000"],
        "cpu/cpu.rt_runtime_us": ["5000"],
        "cpu/cpu.rt_period_us": ["900000"],
        "cpu/cpu.idle": ["1"],
        "cpuset/cpuset.cpus": ["0"],
        "cpuset/cpuset.mems": ["0"],
        "pids/pids.max": ["max"],
        "blkio/blkio.weight": ["300"],
        "blkio/blkio.bfq.leaf_weight": ["20"],      # no blkio.leaf_weight here: BFQ's file
        "blkio/blkio.weight_device": ["8:0 500"],
        "blkio/blkio.throttle.read_bps_device": ["8:0 1000"],
        "blkio/blkio.throttle.write_bps_device": ["8:0 2000"],
        "blkio/blkio.throttle.read_iops_device": ["8:0 30"],
        "blkio/blkio.throttle.write_iops_device": ["8:0 40"],
        "hugetlb/hugetlb.2MB.limit_in_bytes": [str(4 << 20)],
        "net_cls/net_cls.classid": ["4294967295"],
        "net_prio/net_prio.ifpriomap": ["eth0 5", "lo 1"],
        "rdma/rdma.max": ["mlx5_0 hca_object=4"],
    }


@pytest.mark.parametrize("rules", [[], [{"allow": True, "type": "c", "major": 10, "minor": 229, "access": "rw"}]])
def test_v1_device_list_starts_from_nothing(native, running, rules):
    """A v1 cgroup starts with its parent's device rules (the host's "a *:* rwm"): a list that
    does not begin with a deny of everything gets one first, as runc's, else it would allow all."""
    rc, err, writes = fake_update(native, running, v1_files(running), {"devices": rules}, "v1dev")
    assert rc == 0, err
    devices = [(f.split("/")[-1], v) for f, v in writes if f.startswith("devices/")]
    assert devices[0] == ("devices.deny", "a *:* rwm") and ("devices.allow", "c 1:3 rwm") in devices, devices
    assert devices[1:1 + len(rules)] == [("devices.allow", "c 10:229 rw")] * len(rules), devices


@pytest.mark.parametrize("doc,want", [
    # An unlimited limit without swap makes memory+swap unlimited too (runc), first.
    ({"memory": {"limit": -1}}, [("memory/memory.memsw.limit_in_bytes", "-1"), ("memory/memory.limit_in_bytes", "-1")]),
    # memory+swap below the limit in force (64M): the limit shrinks first.
    ({"memory": {"limit": 16 << 20, "swap": 32 << 20}},
     [("memory/memory.limit_in_bytes", str(16 << 20)), ("memory/memory.memsw.limit_in_bytes", str(32 << 20))]),
    ({"memory": {"reservation": 0, "limit": 0}, "pids": {"limit": 0}}, []),
])
def test_v1_memory_order(native, running, doc, want):
    rc, err, writes = fake_update(native, running, v1_files(running), doc, "order")
    assert rc == 0, err
    assert writes == want


def test_v1_refusals(native, running):
    rc, err, writes = fake_update(native, running, v1_files(running), {"pids": {"limit": 3}, "unified": {"memory.high": "1"}}, "uni")
    assert rc == 1 and "unified: needs a cgroup v2 host" in err and writes == [], (err, writes)
    files = v1_files(running)
    del files["rdma/cgroup.procs"], files[f"rdma/mote/{running}/cgroup.procs"]
    rc, err, writes = fake_update(native, running, files, {"rdma": {"mlx5_0": {"hcaObjects": 4}}}, "nordma")
    assert rc == 1 and "cgroup controller rdma: is not mounted on this host" in err, err


def test_v1_update_flags(native, running):
    """Each of update's flags sets its field (the same structs and writes as -r)."""
    flags = ["--memory", "128m", "--memory-swap", "256M", "--memory-reservation", "32m", "--kernel-memory", "1g",
             "--kernel-memory-tcp", "1k", "--cpu-shares", "512", "--cpu-idle", "1", "--cpu-quota", "50000",
             "--cpu-period", "200000", "--cpu-burst", "1000", "--cpu-rt-runtime", "5000", "--cpu-rt-period", "900000",
             "--cpuset-cpus", "0", "--cpuset-mems", "0", "--pids-limit", "9", "--blkio-weight", "300"]
    rc, err, writes = fake_update(native, running, v1_files(running), None, "flags", flags=flags)
    assert rc == 0, err
    assert by_file(writes) == {
        "memory/memory.limit_in_bytes": [str(128 << 20)],
        "memory/memory.memsw.limit_in_bytes": [str(256 << 20)],
        "memory/memory.soft_limit_in_bytes": [str(32 << 20)],
        "memory/memory.kmem.limit_in_bytes": [str(1 << 30)],
        "cpu/cpu.shares": ["512"],
        "cpu/cpu.idle": ["1"],
        "cpu/cpu.cfs_quota_us": ["50000"],
        "cpu/cpu.cfs_period_us": ["200000"],
        "cpu/cpu.cfs_burst_us": ["1000"],
        "cpu/cpu.rt_runtime_us": ["5000"],
        "cpu/cpu.rt_period_us": ["900000"],
        "cpuset/cpuset.cpus": ["0"],
        "cpuset/cpuset.mems": ["0"],
        "pids/pids.max": ["9"],
        "blkio/blkio.weight": ["300"],
    }
    rc, err, writes = fake_update(native, running, v1_files(running), None, "share", flags=["--cpu-share", "256", "--memory", "-1"])
    assert rc == 0 and by_file(writes) == {"cpu/cpu.shares": ["256"], "memory/memory.memsw.limit_in_bytes": ["-1"],
                                           "memory/memory.limit_in_bytes": ["-1"]}, (err, writes)
    rc, err, writes = fake_update(native, running, v1_files(running), None, "neg", flags=["--pids-limit", "5", "--cpu-period", "-1"])
    assert rc == 1 and "cpu.period: expected a non-negative integer" in err and writes == [], (err, writes)


@pytest.mark.parametrize("doc,want", [
    # v1's hugetlb spells unlimited "-1" (the kernel refuses "max" there, its v2 spelling).
    ({"hugepageLimits": [{"pageSize": "2MB", "limit": -1}]}, [("hugetlb/hugetlb.2MB.limit_in_bytes", "-1")]),
    # pids.max is "max" on v1 too.
    ({"pids": {"limit": -1}}, [("pids/pids.max", "max")]),
])
def test_v1_unlimited_spellings(native, running, doc, want):
    rc, err, writes = fake_update(native, running, v1_files(running), doc, "unlimited")
    assert rc == 0, err
    assert writes == want


@pytest.mark.parametrize("v2", [False, True])
def test_zero_is_unset_where_runc_reads_it_so(native, running, v2):
    """runc and crun leave cpu shares, the blkio weights and kernel memory alone at 0 (cpu.shares 0
    would be clamped to the lowest weight, cpu.weight 1 and io.weight 1 are the lowest, kmem 0 a
    limit of nothing); on v2 a kernel memory of 0 is not refused."""
    doc = {"cpu": {"shares": 0}, "blockIO": {"weight": 0, "leafWeight": 0}, "memory": {"kernel": 0, "kernelTCP": 0},
           "pids": {"limit": 4}}
    files = v2_files(running) if v2 else v1_files(running, extra=["memory/memory.kmem.tcp.limit_in_bytes", "blkio/blkio.leaf_weight"])
    rc, err, writes = fake_update(native, running, files, doc, "zero")
    assert rc == 0, err
    assert writes == [("pids.max" if v2 else "pids/pids.max", "4")]


def test_update_flag_and_its_alias_together_refused(native, running):
    """--cpu-share is runc's spelling of --cpu-shares: both given is refused, whichever order
    (one silently won, by the flag table's order, not the command line's)."""
    for flags in (["--cpu-share", "3", "--cpu-shares", "4"], ["--cpu-shares", "4", "--cpu-share", "3"]):
        rc, err, writes = fake_update(native, running, v1_files(running), None, "alias", flags=flags)
        assert rc == 1 and "--cpu-share" in err and "--cpu-shares" in err and writes == [], (flags, err, writes)


def test_v2_unified_enables_its_controller(native, running):
    """A unified key's controller is enabled like the objects' are: memory.high alone (as
    Kubernetes' MemoryQoS sets it) failed with ENOENT where memory was not yet enabled; runc
    enables every controller, crun the ones it writes."""
    cid = running
    rc, err, writes = fake_update(native, cid, v2_files(cid, enabled=""), {"unified": {"memory.high": "1000000", "io.weight": "default 50"}},
                                  "uenable")
    assert rc == 0, err
    assert sorted(writes[:4]) == [("cgroup.subtree_control", "+io"), ("cgroup.subtree_control", "+memory"),
                                  ("mote/cgroup.subtree_control", "+io"), ("mote/cgroup.subtree_control", "+memory")], writes
    assert writes[4:] == [("memory.high", "1000000"), ("io.weight", "default 50")], writes


def test_v2_unlimited_memory_unlimits_swap(native, running):
    """memory.limit -1 without a swap value makes swap unlimited too on v2, as on v1 and as runc
    does (an update to -1 kept a container's old memory.swap.max)."""
    rc, err, writes = fake_update(native, running, v2_files(running), {"memory": {"limit": -1}}, "unswap")
    assert rc == 0, err
    assert writes == [("memory.max", "max"), ("memory.swap.max", "max")], writes
    rc, err, writes = fake_update(native, running, v2_files(running, swap=False), {"memory": {"limit": -1}}, "unswap2")
    assert rc == 0 and writes == [("memory.max", "max")], (err, writes)


def test_v2_check_before_update_reads_after_enabling(native, running):
    """checkBeforeUpdate reads memory.current, which exists only once the memory controller is
    enabled in the parents: on a fresh v2 tree (the first container under /mote) the read came
    first and create failed with ENOENT."""
    cid = running
    doc = {"memory": {"limit": 1 << 30, "checkBeforeUpdate": True}}
    rc, err, writes = fake_update(native, cid, v2_files(cid, enabled=""), doc, "cbu", trace="write,openat")
    assert rc == 0, err
    events = []
    for line in open(native.tmp / "strace-cbu.log"):
        if "memory.current" in line and "openat(" in line:
            events.append("read memory.current")
        elif re.search(r'write\(\d+</sys/fs/cgroup/[^>]*subtree_control>, "\+memory"', line):
            events.append("+memory")
    assert events == ["+memory", "+memory", "read memory.current"], events
    assert writes[2:] == [("memory.max", str(1 << 30))], writes


@pytest.mark.parametrize("cur,doc,want", [
    ("50000 100000", {"cpu": {"period": 200000}}, "50000 200000"),
    ("50000 200000", {"cpu": {"quota": 20000}}, "20000 200000"),
    ("max 50000", {"cpu": {"quota": 20000}}, "20000 50000"),
    ("50000 200000", {"cpu": {"quota": -1}}, "max 200000"),
    ("", {"cpu": {"quota": 20000}}, "20000 100000"),    # unreadable: the kernel's defaults
])
def test_v2_cpu_max_keeps_the_value_not_given(native, running, cur, doc, want):
    """On v2 quota and period share cpu.max: an update of one keeps the other in force (runc's
    update starts from the container's values; v1's two files keep it by themselves). Writing
    the period alone made the quota unlimited."""
    files = v2_files(running)
    files[f"mote/{running}/cpu.max"] = cur
    rc, err, writes = fake_update(native, running, files, doc, "cpumax")
    assert rc == 0 and writes == [("cpu.max", want)], (err, writes)


@pytest.mark.parametrize("v2", [False, True])
def test_zero_cpu_quota_and_period_are_unset(native, running, v2):
    """runc and crun skip a cpu quota or period of 0: mote wrote "max" to cpu.max on v2 for a 0
    quota (lifting a limit in force) and 0 to cpu.cfs_quota_us/cfs_period_us on v1 (EINVAL)."""
    files = v2_files(running) if v2 else v1_files(running)
    pids = "pids.max" if v2 else "pids/pids.max"
    for cpu in ({"quota": 0}, {"period": 0}, {"quota": 0, "period": 0}):
        if v2:
            files[f"mote/{running}/cpu.max"] = "50000 100000"
        rc, err, writes = fake_update(native, running, files, {"cpu": cpu, "pids": {"limit": 4}}, "cpu0")
        assert rc == 0 and writes == [(pids, "4")], (cpu, err, writes)
    if v2:
        rc, err, writes = fake_update(native, running, files, {"cpu": {"quota": 0, "period": 20000}}, "cpu0p")
        assert rc == 0 and writes == [("cpu.max", "50000 20000")], (err, writes)


@pytest.mark.parametrize("v2", [False, True])
def test_null_is_unset_as_runc_reads_it(native, running, v2):
    """runc reads resources with Go's encoding/json, where null leaves a field unset (engines
    serialize unset pointers as null); mote refused them as type errors."""
    doc = {"memory": {"limit": None, "swap": None, "reservation": None}, "cpu": {"shares": None, "quota": None,
           "period": None, "cpus": None}, "pids": {"limit": 5}, "blockIO": None, "hugepageLimits": None,
           "network": None, "rdma": None, "unified": None, "devices": None}
    files = v2_files(running) if v2 else v1_files(running)
    rc, err, writes = fake_update(native, running, files, doc, "null")
    assert rc == 0 and writes == [("pids.max" if v2 else "pids/pids.max", "5")], (err, writes)
    rc, err, writes = fake_update(native, running, files, {"pids": None, "hugepageLimits": [{"pageSize": None}]}, "nullreq")
    assert rc == 1 and "hugepageLimits[0].pageSize: missing or invalid" in err and writes == [], (err, writes)


def test_v1_empty_unified_accepted(native, running):
    """An empty unified map asks for nothing: crun and runc accept it on v1 (a non-empty one is
    still refused, test_v1_refusals)."""
    rc, err, writes = fake_update(native, running, v1_files(running), {"pids": {"limit": 3}, "unified": {}}, "uni0")
    assert rc == 0 and writes == [("pids/pids.max", "3")], (err, writes)


# runc's update reads sizes with go-units' RAMInBytes: each is given to `runc update --memory` on
# a runc container (its memory.limit_in_bytes read back) and to mote's (its write read off strace).
SIZES = ["64m", "1.5g", "512MiB", "1GB", "2t", "2.5M", "64 mb", "8192kib", "3G", "40960000B"]
BAD_SIZES = ["1x", "1.2.3", "m", "1kk", "-2m"]


def test_update_sizes_as_runc(native, running, runc_):
    cid = runc_.new_id()
    with open(runc_.tmp / "runc.log", "w") as f:
        p = subprocess.run(runc_.argv("run", "-d", "--bundle", runc_.bundle(["sleep", "30"]), cid), stdout=f, stderr=f,
                           timeout=TIMEOUT)
    assert p.returncode == 0, open(runc_.tmp / "runc.log").read()
    pid = json.loads(subprocess.run(runc_.argv("state", cid), capture_output=True, text=True, timeout=TIMEOUT).stdout)["pid"]
    mem = next(l.split(":", 2)[2] for l in open(f"/proc/{pid}/cgroup").read().splitlines() if ":memory:" in l)
    limit = f"/sys/fs/cgroup/memory{mem}/memory.limit_in_bytes"
    for s in SIZES:
        p = subprocess.run(runc_.argv("update", "--memory", s, cid), capture_output=True, text=True, timeout=TIMEOUT)
        assert p.returncode == 0, (s, p.stderr)
        want = open(limit).read().strip()
        rc, err, writes = fake_update(native, running, v1_files(running), None, "size", flags=["--memory", s])
        assert rc == 0 and writes == [("memory/memory.limit_in_bytes", want)], (s, want, err, writes)
    for s in BAD_SIZES:
        p = subprocess.run(runc_.argv("update", "--memory", s, cid), capture_output=True, text=True, timeout=TIMEOUT)
        assert p.returncode != 0, (s, "runc accepted it")
        rc, err, writes = fake_update(native, running, v1_files(running), None, "badsize", flags=["--memory", s])
        assert rc == 1 and f"--memory {s}" in err and writes == [], (s, err, writes)
    rc, err, writes = fake_update(native, running, v1_files(running), None, "big", flags=["--memory-swap", "8192p"])
    assert rc == 1 and "--memory-swap 8192p: too large" in err and writes == [], (err, writes)


def test_v2_swap_alone_takes_the_limit_in_force(native, running):
    """`update --memory-swap` without --memory on v2: swap.max is memory+swap less the limit in
    force, as runc's update (which takes the container's limit); it was refused. Without a
    limit in force it is still refused (runc: unable to set swap limit without memory limit)."""
    files = v2_files(running)
    files[f"mote/{running}/memory.max"] = "67108864\n"
    rc, err, writes = fake_update(native, running, files, None, "swap", flags=["--memory-swap", "128m"])
    assert rc == 0 and writes == [("memory.swap.max", str(64 << 20))], (err, writes)
    rc, err, writes = fake_update(native, running, files, None, "swaplow", flags=["--memory-swap", "32m"])
    assert rc == 1 and "memory.swap: must be -1 or at least memory.limit" in err and writes == [], (err, writes)
    files[f"mote/{running}/memory.max"] = "max\n"
    rc, err, writes = fake_update(native, running, files, None, "swapmax", flags=["--memory-swap", "128m"])
    assert rc == 1 and "memory.swap: must be -1 or at least memory.limit" in err and writes == [], (err, writes)


# memory.max and memory.swap.max in force (64M + 32M: memory+swap 96M), then update's flags.
IN_FORCE = ("67108864\n", "33554432\n")


@pytest.mark.parametrize("cur,flags,want", [
    # A new limit alone keeps memory+swap: swap.max is the total in force less the new limit.
    (IN_FORCE, ["--memory", "32m"], [("memory.max", str(32 << 20)), ("memory.swap.max", str(64 << 20))]),
    (IN_FORCE, ["--memory", "96m"], [("memory.max", str(96 << 20)), ("memory.swap.max", "0")]),
    (("67108864\n", "0\n"), ["--memory", "32m"], [("memory.max", str(32 << 20)), ("memory.swap.max", str(32 << 20))]),
    # No swap limit in force (never set, or unlimited): swap.max stays as it is.
    (("67108864\n", "max\n"), ["--memory", "32m"], [("memory.max", str(32 << 20))]),
    (("max\n", "max\n"), ["--memory", "32m"], [("memory.max", str(32 << 20))]),
    # Without swap accounting (no memory.swap.max) nothing changes either.
    (("67108864\n", None), ["--memory", "32m"], [("memory.max", str(32 << 20))]),
    # -1 alone makes both unlimited; a swap value given is the one used.
    (IN_FORCE, ["--memory", "-1"], [("memory.max", "max"), ("memory.swap.max", "max")]),
    (IN_FORCE, ["--memory", "32m", "--memory-swap", "40m"], [("memory.max", str(32 << 20)), ("memory.swap.max", str(8 << 20))]),
    (IN_FORCE, ["--memory", "32m", "--memory-swap", "-1"], [("memory.max", str(32 << 20)), ("memory.swap.max", "max")]),
])
def test_v2_memory_alone_keeps_memory_plus_swap(native, running, cur, flags, want):
    """`update --memory N` without a swap value on v2: the spec's swap (and v1's memsw, which the
    kernel keeps) is memory+swap, v2's memory.swap.max swap alone, so it is recomputed from the
    memory+swap in force, as runc's update does since 1.2 (it keeps the container's swap value;
    runc 1.1 reset it to 0 and left swap.max alone, so the total grew with the limit). mote kept
    the old swap.max: 64M+32M, then --memory 32m, allowed 64M of memory+swap instead of 96M."""
    files = v2_files(running, swap=cur[1] is not None)
    files[f"mote/{running}/memory.max"] = cur[0]
    if cur[1] is not None:
        files[f"mote/{running}/memory.swap.max"] = cur[1]
    rc, err, writes = fake_update(native, running, files, None, "alone", flags=flags)
    assert rc == 0 and writes == want, (err, writes)
    # The same from a resources document without a swap value.
    if flags == ["--memory", "32m"]:
        rc, err, writes = fake_update(native, running, files, {"memory": {"limit": 32 << 20}}, "alone-r")
        assert rc == 0 and writes == want, (err, writes)


def test_v2_memory_above_memory_plus_swap_refused(native, running):
    """A limit above the memory+swap in force is refused before anything is written (runc 1.2:
    "memory+swap limit should be >= memory limit"; v1's kernel refuses it too, EINVAL); with
    --memory-swap too it is fine."""
    files = v2_files(running)
    files[f"mote/{running}/memory.max"], files[f"mote/{running}/memory.swap.max"] = IN_FORCE
    rc, err, writes = fake_update(native, running, files, None, "above", flags=["--memory", "128m", "--pids-limit", "3"])
    assert rc == 1 and "memory.swap: must be -1 or at least memory.limit on cgroup v2 (or the one in force)" in err and writes == [], (err, writes)
    rc, err, writes = fake_update(native, running, files, None, "above2", flags=["--memory", "128m", "--memory-swap", "128m"])
    assert rc == 0 and writes == [("memory.max", str(128 << 20)), ("memory.swap.max", "0")], (err, writes)


@pytest.mark.parametrize("v2", [False, True])
def test_hugepage_limit_absent_is_zero_as_runc(native, running, v2):
    """hugepageLimits[].limit is REQUIRED by the spec; runc reads an absent (or null) one as Go's
    zero value and writes 0: no huge pages, the most restrictive reading. mote read it as
    unlimited. (-1, which runc's uint64 refuses, stays mote's unlimited.)"""
    files = v2_files(running) if v2 else v1_files(running)
    name = "hugetlb.2MB.max" if v2 else "hugetlb/hugetlb.2MB.limit_in_bytes"
    for entry in ({"pageSize": "2MB"}, {"pageSize": "2MB", "limit": None}, {"pageSize": "2MB", "limit": 0}):
        rc, err, writes = fake_update(native, running, files, {"hugepageLimits": [entry]}, "huge0")
        assert rc == 0 and writes == [(name, "0")], (entry, err, writes)


def test_v1_memory_alone_as_runc(native, runc_):
    """On v1 the kernel keeps memory+swap (memsw) by itself: `update --memory` alone changes the
    limit and leaves memsw, a limit above memsw is refused (EINVAL) and changes nothing, and -1
    makes both unlimited (memsw first). The same steps on a runc container and a mote one, with
    the same bundle, end with the same files (real cgroups of this host)."""
    if not os.path.exists("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes"):
        pytest.fail("no memory.memsw.limit_in_bytes on this host (swap accounting off): the v1 memsw steps cannot be checked")
    res = {"memory": {"limit": 64 << 20, "swap": 128 << 20}}
    dirs = {}
    for eng in (native, runc_):
        cid = eng.new_id()
        with open(eng.tmp / f"{cid}.log", "w") as f:
            p = subprocess.run(eng.argv("run", "-d", "--bundle", eng.bundle(["sleep", "30"], linux={"resources": res}), cid),
                               stdout=f, stderr=f, timeout=TIMEOUT)
        assert p.returncode == 0, open(eng.tmp / f"{cid}.log").read()
        pid = json.loads(subprocess.run(eng.argv("state", cid), capture_output=True, text=True, timeout=TIMEOUT).stdout)["pid"]
        mem = next(l.split(":", 2)[2] for l in open(f"/proc/{pid}/cgroup").read().splitlines() if ":memory:" in l)
        dirs[eng] = (cid, f"/sys/fs/cgroup/memory{mem}")

    def files(eng):
        d = dirs[eng][1]
        return [open(f"{d}/{f}").read().strip() for f in ("memory.limit_in_bytes", "memory.memsw.limit_in_bytes")]

    for flags, ok, want in [
        (["--memory", "32m"], True, [str(32 << 20), str(128 << 20)]),
        (["--memory", "100m"], True, [str(100 << 20), str(128 << 20)]),
        (["--memory", "200m"], False, [str(100 << 20), str(128 << 20)]),
        (["--memory", "-1"], True, None),
    ]:
        for eng in (native, runc_):
            p = subprocess.run(eng.argv("update", *flags, dirs[eng][0]), capture_output=True, text=True, timeout=TIMEOUT)
            assert (p.returncode == 0) == ok, (eng, flags, p.stderr)
        assert files(native) == files(runc_), (flags, files(native), files(runc_))
        assert want is None or files(native) == want, (flags, files(native))
    assert files(native)[0] == files(native)[1] and int(files(native)[0]) > 1 << 60, files(native)
