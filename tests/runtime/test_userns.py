"""create in a user namespace, made or joined by path: what the container's process gets (its
oomScoreAdj, written from outside as runc does) and the credentials create's child works with
(the namespace's root from the moment it is in it, never the host's). Each case run against
runc too, where runc does it right here."""
import json
import os
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import TIMEOUT, cgroup_dirs

MAP = {"uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
       "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}]}
MOUNTS = [{"destination": "/proc", "type": "proc", "source": "proc"},
          {"destination": "/dev", "type": "tmpfs", "source": "tmpfs"}]


@pytest.fixture
def userns(native, rootfs):
    """A rootfs owned by the mapped root (host uid 100000) in a directory it can traverse."""
    if not shutil.which("runc"):
        pytest.fail("runc is missing: ./x setup installs it")
    d = tempfile.mkdtemp(prefix="userns-")
    os.chmod(d, 0o755)
    r = os.path.join(d, "r")
    shutil.copytree(rootfs, r, symlinks=True)
    for top, dirs, files in os.walk(r):
        for n in [top] + [os.path.join(top, x) for x in dirs + files]:
            os.lchown(n, 100000, 100000)
    native.rootfs = r
    yield native, d
    shutil.rmtree(d)


def engines(mote):
    return (("runc", ["runc", "--root", str(mote.tmp / "runc")]), ("mote", mote.argv()))


def run_d(mote, argv, b, cid):
    with open(mote.tmp / f"{cid}.log", "w") as f:
        p = subprocess.run(argv + ["run", "-d", "--bundle", b, cid], stdout=f, stderr=f,
                           stdin=subprocess.DEVNULL, timeout=TIMEOUT)
    return p.returncode, open(mote.tmp / f"{cid}.log").read()


def state_pid(argv, cid):
    return json.loads(subprocess.run(argv + ["state", cid], capture_output=True, text=True, timeout=TIMEOUT,
                                     check=True).stdout)["pid"]


def test_oom_score_adj_in_a_new_user_namespace(userns):
    """process.oomScoreAdj in a new user namespace, read from outside. (Debian's runc 1.1.5 fails
    this here, in its child: "failed to update /proc/self/oom_score_adj: Permission denied";
    mote's parent writes it, as later runc does. Raised only: lowering it needs CAP_SYS_RESOURCE,
    which a sandboxed host may not give even its root.)"""
    mote, _ = userns
    seen = []
    for adj in (300, 1000):
        cid = mote.new_id()
        b = mote.bundle(["sleep", "60"], process={"oomScoreAdj": adj}, mounts=MOUNTS, linux=dict(
            namespaces=[{"type": t} for t in ("pid", "ipc", "uts", "mount", "user")], **MAP))
        rc, log = run_d(mote, mote.argv(), b, cid)
        assert rc == 0, log
        pid = state_pid(mote.argv(), cid)
        assert os.readlink(f"/proc/{pid}/ns/user") != os.readlink("/proc/self/ns/user")
        seen.append(open(f"/proc/{pid}/oom_score_adj").read().strip())
        mote("delete", "-f", cid, check=0)
    assert seen == ["300", "1000"]


def test_joined_user_namespace_root_from_the_start(userns):
    """A container joining another's user namespace by path works as that namespace's root from
    the join on: the mountpoint it makes in its rootfs belongs to the mapped root (not the
    host's root), and a mountpoint under a host directory only the host's root may write is
    refused, the host directory untouched."""
    mote, d = userns
    vol = os.path.join(d, "vol")
    secret = os.path.join(vol, "secret")
    os.makedirs(secret)
    os.chmod(vol, 0o755)
    os.chmod(secret, 0o750)  # the host's root and group only
    seen = {}
    for name, argv in engines(mote):
        owner = mote.new_id()
        b = mote.bundle(["sleep", "60"], mounts=MOUNTS, linux=dict(
            namespaces=[{"type": t} for t in ("pid", "ipc", "uts", "mount", "user")], **MAP))
        ids = [owner]
        try:
            rc, log = run_d(mote, argv, b, owner)
            assert rc == 0, (name, log)
            ns = f"/proc/{state_pid(argv, owner)}/ns/user"
            joined = lambda where: dict(namespaces=[{"type": "user", "path": ns}] + [
                {"type": t} for t in ("pid", "ipc", "uts", "mount")], **MAP)
            made = f"made-by-{name}"
            cid = mote.new_id()
            ids.append(cid)
            b = mote.bundle(["sleep", "60"], linux=joined(ns), mounts=MOUNTS + [
                {"destination": f"/{made}", "type": "tmpfs", "source": "tmpfs"}])
            rc, log = run_d(mote, argv, b, cid)
            assert rc == 0, (name, log)
            st = os.stat(os.path.join(mote.rootfs, made))
            bad = mote.new_id()
            ids.append(bad)
            b = mote.bundle(["true"], linux=joined(ns), mounts=MOUNTS + [
                {"destination": "/vol", "type": "bind", "source": vol, "options": ["rbind"]},
                {"destination": "/vol/secret/planted", "type": "tmpfs", "source": "tmpfs"}])
            rc_bad, log_bad = run_d(mote, argv, b, bad)
            seen[name] = ((st.st_uid, st.st_gid), rc_bad != 0, os.listdir(secret))
            if name == "mote":
                assert rc_bad != 0 and "Permission denied" in log_bad, log_bad
        finally:
            for i in reversed(ids):
                subprocess.run(argv + ["delete", "-f", i], capture_output=True, timeout=TIMEOUT)
    assert seen["mote"] == seen["runc"] == ((100000, 100000), True, []), seen


def test_joined_user_namespace_mappings_are_checked(userns):
    """Mappings given with a user namespace joined by path are that namespace's facts (containerd
    gives both for a pod's): the same set runs, a misstated one is refused by name, nothing left
    behind. (Without the check the config's were dropped: a container meant to map root to the
    host's root, or the reverse, ran with other mappings and no word.)"""
    mote, _ = userns
    owner = mote.new_id()
    b = mote.bundle(["sleep", "60"], mounts=MOUNTS, linux=dict(
        namespaces=[{"type": t} for t in ("pid", "ipc", "uts", "mount", "user")], **MAP))
    try:
        rc, log = run_d(mote, mote.argv(), b, owner)
        assert rc == 0, log
        ns = f"/proc/{state_pid(mote.argv(), owner)}/ns/user"
        base = [{"type": "user", "path": ns}] + [{"type": t} for t in ("pid", "ipc", "uts", "mount")]
        ok = mote.bundle(["cat", "/proc/self/uid_map"], mounts=MOUNTS, linux=dict(namespaces=base, **MAP))
        p = mote("run", "--bundle", ok, mote.new_id())
        assert p.returncode == 0 and p.stdout.split() == ["0", "100000", "65536"], p.stderr
        for field, maps in (("uidMappings", [{"containerID": 0, "hostID": 0, "size": 65536}]),
                            ("gidMappings", [{"containerID": 0, "hostID": 100000, "size": 1000}]),
                            ("uidMappings", MAP["uidMappings"] + [{"containerID": 70000, "hostID": 300000, "size": 1}])):
            bad = mote.bundle(["true"], mounts=MOUNTS, linux=dict(namespaces=base, **dict(MAP, **{field: maps})))
            cid = mote.new_id()
            p = mote("run", "--bundle", bad, cid)
            assert p.returncode == 1 and f"linux.{field}: differ from the mappings of the user namespace joined" in p.stderr, p.stderr
            assert not os.path.exists(os.path.join(mote.root, cid)) and cgroup_dirs(cid) == []
    finally:
        subprocess.run(mote.argv("delete", "-f", owner), capture_output=True, timeout=TIMEOUT)


@pytest.mark.parametrize("user", [True, False], ids=["userns", "no-userns"])
@pytest.mark.parametrize("root", [None, "rshared"], ids=["default", "rshared-root"])
def test_container_mounts_reach_the_host_only_through_a_shared_root(userns, user, root):
    """The host here is a private mount namespace of the test with a bind source made shared;
    the container mounts under the bind (its root holds CAP_SYS_ADMIN) and a nested config mount
    goes there too. By default none of them reaches the host: with a user namespace create clones
    the bind sources in the host's namespace, and the clone of a shared mount was its peer (they
    all did). With rootfsPropagation rshared and an rshared bind (Kubernetes' Bidirectional)
    exactly those two do, and nothing else of the container's (its /proc, /dev...), but in a
    user namespace, whose mount namespace the kernel makes a slave of the host's. runc runs the
    same bundle and leaves the same mounts."""
    mote, d = userns
    vol = os.path.join(d, "vol")
    for sub in ("sub", "sub2"):
        os.makedirs(os.path.join(vol, sub))
    os.chmod(vol, 0o755)
    caps = ["CAP_SYS_ADMIN", "CAP_SETUID", "CAP_SETGID"]
    ns = ("pid", "ipc", "uts", "mount") + (("user",) if user else ())
    b = mote.bundle(["sh", "-c", "mount -t tmpfs t /vol/sub2 && echo MOUNTED"],
                    process={"capabilities": {k: caps for k in ("bounding", "effective", "permitted")}},
                    mounts=MOUNTS + [{"destination": "/vol", "type": "bind", "source": vol, "options": ["rbind", "rshared"]},
                                     {"destination": "/vol/sub", "type": "tmpfs", "source": "tmpfs"}],
                    linux=dict(namespaces=[{"type": t} for t in ns], **(MAP if user else {}),
                               **({"rootfsPropagation": root} if root else {})))
    seen = {}
    for name, argv in engines(mote):
        inner = " ".join(argv + ["run", "--bundle", b, mote.new_id()])
        p = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                            f"mount --bind {vol} {vol} && mount --make-rshared {vol} && grep -c . /proc/self/mountinfo "
                            f"&& {inner}; echo ===; grep -c . /proc/self/mountinfo; grep ' {vol}' /proc/self/mountinfo"],
                           capture_output=True, text=True, timeout=TIMEOUT)
        out, _, host = p.stdout.partition("===")
        assert "MOUNTED" in out, (name, p.stdout, p.stderr)  # the container did mount under the bind
        before, after = int(out.split()[0]), int(host.split()[0])
        seen[name] = (after - before, sorted(l.split()[4] for l in host.splitlines() if len(l.split()) > 4))
    back = [os.path.join(vol, "sub"), os.path.join(vol, "sub2")] if root and not user else []
    assert seen["mote"] == seen["runc"] == (len(back), sorted([vol] + back)), seen


def user_namespace_with(uid_map, gid_map):
    """A process of the test in a user namespace of its own with these maps (written as the
    host's root): its namespace to join."""
    p = subprocess.Popen(["unshare", "-U", "sleep", "60"])
    for f, text in (("uid_map", uid_map), ("gid_map", gid_map)):
        for _ in range(100):  # until unshare has made the namespace
            try:
                if os.readlink(f"/proc/{p.pid}/ns/user") != os.readlink("/proc/self/ns/user"):
                    break
            except OSError:
                pass
            time.sleep(0.01)
        with open(f"/proc/{p.pid}/{f}", "w") as w:
            w.write(text)
    return p


@pytest.mark.parametrize("extents", [2, 40], ids=["other-order", "more-than-a-page-of-buffer"])
def test_joined_mappings_compared_as_a_set(userns, extents):
    # The kernel lists a namespace's extents in its own order (sorted past 5): the config's may
    # come in another. A namespace with more extents than a config can hold (16) is refused
    # naming the field, not with the read's "File too large".
    mote, _ = userns
    ext = [(0, 100000, 1000)] + [(1000 * i, 200000 + 1000 * i, 1000) for i in range(1, extents)]
    text = "".join(f"{c} {h} {s}\n" for c, h, s in ext)
    ns = user_namespace_with(text, text)
    try:
        maps = [{"containerID": c, "hostID": h, "size": s} for c, h, s in reversed(ext[:16])]
        b = mote.bundle(["cat", "/proc/self/uid_map"], mounts=MOUNTS, linux=dict(
            namespaces=[{"type": "user", "path": f"/proc/{ns.pid}/ns/user"}] + [{"type": t} for t in ("pid", "ipc", "uts", "mount")],
            uidMappings=maps, gidMappings=maps))
        cid = mote.new_id()
        p = mote("run", "--bundle", b, cid)
        if extents <= 16:
            assert p.returncode == 0 and len(p.stdout.splitlines()) == extents, p.stderr
        else:
            assert p.returncode == 1 and "linux.uidMappings: differ from the mappings of the user namespace joined" in p.stderr, p.stderr
            assert not os.path.exists(os.path.join(mote.root, cid)) and cgroup_dirs(cid) == []
    finally:
        ns.kill()
        ns.wait(timeout=TIMEOUT)
