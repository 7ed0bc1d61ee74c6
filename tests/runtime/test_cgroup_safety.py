"""mote kills and removes only what is its container's, and all of it: sub-cgroups the container
made are covered by ps, kill --all and delete (removed depth-first); a cgroup mote did not make
is never claimed; a cgroup made again at the same path is never killed."""
import os
import subprocess
import time
import uuid

import pytest

from conftest import TIMEOUT, cgroup_dirs, detached, to_file

V1 = "/sys/fs/cgroup"
UNIFIED = f"{V1}/unified" if os.path.exists(f"{V1}/unified/cgroup.procs") else V1


def hierarchies():
    if os.path.exists(f"{V1}/cgroup.controllers"):
        return [V1]
    return [os.path.join(V1, h) for h in sorted(os.listdir(V1))
            if not os.path.islink(os.path.join(V1, h)) and os.path.exists(os.path.join(V1, h, "cgroup.procs"))]


def init_pid(mote, cid):
    import json
    return json.loads(mote("state", cid, check=0).stdout)["pid"]


def make_sub(path):
    """mkdir path (a cgroup), with a v1 cpuset's cpus and mems copied from its parent."""
    os.mkdir(path)
    if "/cpuset/" in path:
        for f in ("cpuset.cpus", "cpuset.mems"):
            with open(os.path.join(os.path.dirname(path), f)) as src, open(os.path.join(path, f), "w") as dst:
                dst.write(src.read())


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] not in "ZX"
    except FileNotFoundError:
        return False


def test_subtree_is_the_containers_ps_kill_all_delete(native):
    """A process moved into sub-cgroups (as an engine or the workload itself would) is listed by
    ps, signalled by kill --all, and delete --force kills it and removes the sub-cgroups first."""
    cid = detached(native, ["sh", "-c", "sleep 60 & sleep 60; wait"])
    pid = init_pid(native, cid)
    kids = open(f"/proc/{pid}/task/{pid}/children").read().split()
    assert kids
    moved = kids[0]
    for h in hierarchies():
        base = f"{h}/mote/{cid}"
        make_sub(f"{base}/sub")
        make_sub(f"{base}/sub/deeper")
        with open(f"{base}/sub/deeper/cgroup.procs", "w") as f:
            f.write(moved)
    ps = native("ps", "--format", "json", cid, check=0)
    assert int(moved) in eval(ps.stdout), ps.stdout
    native("kill", "--all", cid, "STOP", check=0)
    time.sleep(0.2)
    assert open(f"/proc/{moved}/stat").read().split(") ")[1][0] == "T", "kill --all missed the sub-cgroup"
    native("kill", "--all", cid, "CONT", check=0)
    native("delete", "--force", cid, check=0)
    assert not alive(moved) and not alive(pid)
    assert cgroup_dirs(cid) == []


def test_foreground_run_removes_subcgroups_its_process_made(native):
    """The workload makes a cgroup of its own through its cgroup namespace (cgroupfs mounted
    read-write): run must not leave it on the host."""
    cid = native.new_id()
    b = native.bundle(["sh", "-c", "mkdir /sys/fs/cgroup/mine && echo $$ > /sys/fs/cgroup/mine/cgroup.procs && echo ok"],
                      linux={"namespaces": [{"type": t} for t in ("pid", "ipc", "uts", "mount", "cgroup", "network")]})
    import json
    c = json.load(open(f"{b}/config.json"))
    for m in c["mounts"]:
        if m["destination"] == "/sys/fs/cgroup":
            m["options"] = [o for o in m.get("options", []) if o != "ro"]
    json.dump(c, open(f"{b}/config.json", "w"))
    p = native("run", "--bundle", b, cid)
    assert p.returncode == 0 and "ok" in p.stdout, p.stderr
    assert cgroup_dirs(cid) == [] and not os.path.exists(f"{UNIFIED}/mote/{cid}")


def test_max_depth_bounds_what_the_container_may_nest(native):
    cid = detached(native, ["sleep", "30"])
    with open(f"{UNIFIED}/mote/{cid}/cgroup.max.depth") as f:
        assert f.read().strip() == "32"


@pytest.fixture
def foreign_cgroup():
    """A cgroup path of ours (not mote's) in every hierarchy; removed afterwards."""
    top = "mote-foreign-" + uuid.uuid4().hex[:8]
    yield top
    for h in hierarchies():
        for d in (f"{h}/{top}/leaf", f"{h}/{top}"):
            if os.path.isdir(d):
                for pid in open(f"{d}/cgroup.procs").read().split():
                    with open(f"{h}/cgroup.procs", "w") as f:
                        f.write(pid)
                os.rmdir(d)


def test_existing_cgroup_is_not_claimed(native, foreign_cgroup):
    """An empty cgroup mote did not make: refused, and left as it was (it was once adopted,
    and then removed or killed with the container)."""
    for h in hierarchies():
        make_sub(f"{h}/{foreign_cgroup}")
        make_sub(f"{h}/{foreign_cgroup}/leaf")
    cid = native.new_id()
    b = native.bundle(["true"], linux={"cgroupsPath": f"/{foreign_cgroup}/leaf"})
    rc, err = to_file(native, "run", "--bundle", b, cid)
    assert rc == 1 and "already exists" in err, err
    assert all(os.path.isdir(f"{h}/{foreign_cgroup}/leaf") for h in hierarchies())
    assert not os.path.exists(os.path.join(native.root, cid))


def test_two_roots_one_id(native, tmp_path, rootfs):
    """The default cgroup /mote/<id> is the same for every --root: a second root's container
    of the same id is refused while the first one's cgroup exists, and never shares it."""
    from conftest import Mote
    a = native
    b = Mote("x86_64", tmp_path / "b", rootfs)
    os.makedirs(tmp_path / "b")
    cid = a.new_id()
    rc, err = to_file(a, "run", "-d", "--bundle", a.bundle(["sleep", "30"]), cid)
    assert rc == 0, err
    a("kill", cid, "KILL", check=0)
    for _ in range(100):
        if a("state", cid).stdout.count('"stopped"'):
            break
        time.sleep(0.05)
    b.ids.append(cid)
    rc, err = to_file(b, "run", "-d", "--bundle", b.bundle(["sleep", "30"]), cid)
    try:
        assert rc == 1 and "already exists" in err, err
    finally:
        b.cleanup()
    a("delete", cid, check=0)
    assert cgroup_dirs(cid) == []


def test_cgroup_made_again_is_left_alone(native, foreign_cgroup):
    """The container stopped, its cgroup was removed and made again by someone else, with a
    process in it: delete refuses to touch it (the identity recorded at create differs)."""
    path = f"/{foreign_cgroup}/leaf"
    cid = native.new_id()
    rc, err = to_file(native, "run", "-d", "--bundle", native.bundle(["sleep", "30"], linux={"cgroupsPath": path}), cid)
    assert rc == 0, err
    native("kill", cid, "KILL", check=0)
    time.sleep(0.3)
    for h in hierarchies():
        os.rmdir(f"{h}{path}")
        make_sub(f"{h}{path}")
    other = subprocess.Popen(["sleep", "30"])
    try:
        for h in hierarchies():
            with open(f"{h}{path}/cgroup.procs", "w") as f:
                f.write(str(other.pid))
        p = native("delete", "--force", cid)
        assert p.returncode == 1 and "not this container's" in p.stderr, p.stderr
        assert other.poll() is None, "delete killed a process that was not the container's"
    finally:
        other.kill()
        other.wait()
    native.ids.remove(cid)
    import shutil
    shutil.rmtree(os.path.join(native.root, cid))


def test_deep_cgroups_path_on_v2_no_panic(native, tmp_path):
    """More than 64 components plus any linux.resources on cgroup v2 overflowed a 64-entry
    vector: a panic (exit 101) that left the state dir and 71 cgroup directories. Run in v2
    mode (the unified tree mounted on /sys/fs/cgroup in a private mount namespace)."""
    if not os.path.exists(f"{V1}/unified/cgroup.procs"):
        pytest.fail("no unified hierarchy on this host")
    top = "mote-deep-" + uuid.uuid4().hex[:8]
    path = "/" + top + "/d" * 70
    cid = native.new_id()
    b = native.bundle(["true"], linux={"cgroupsPath": path, "resources": {"devices": []}})
    m = " ".join(native.argv())
    script = f"mount -t cgroup2 none /sys/fs/cgroup || exit 99\n{m} run --bundle {b} {cid}; echo rc=$?"
    try:
        p = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                           capture_output=True, text=True, timeout=TIMEOUT)
        assert "rc=0" in p.stdout and "panic" not in p.stderr, (p.stdout, p.stderr)
        assert not os.path.exists(os.path.join(native.root, cid))
        assert not os.path.exists(f"{UNIFIED}{path}")
    finally:
        t = f"{UNIFIED}/{top}"
        for d, _, _ in sorted(os.walk(t), key=lambda x: -len(x[0])) if os.path.isdir(t) else []:
            os.rmdir(d)
