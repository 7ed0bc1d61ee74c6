"""Bad input gets a clear error, a non-zero exit, and leaves nothing behind: no state dir, no
cgroup, no mount, no process."""
import json
import os
import subprocess
import threading

import pytest

from conftest import TIMEOUT, cgroup_dirs, fails, mounts_mentioning


def no_residue(mote, cid):
    assert not os.path.exists(os.path.join(mote.root, cid)), "state dir left"
    assert cgroup_dirs(cid) == [], "cgroup left"
    assert mounts_mentioning(mote.rootfs) == [], "mount left"
    # no process of ours mentioning the id
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                assert cid.encode() not in f.read(), f"process {pid} left"
        except OSError:  # gone between listdir and read: ENOENT, or ESRCH (ProcessLookupError)
            pass


def test_missing_bundle(mote):
    cid = mote.new_id()
    fails(mote, "run", "--bundle", str(mote.tmp / "nope"), cid, msg="No such file or directory")
    no_residue(mote, cid)


def test_missing_rootfs(mote):
    cid = mote.new_id()
    b = mote.bundle(["true"], root={"path": "does-not-exist"})
    fails(mote, "run", "--bundle", b, cid, msg="does-not-exist")
    no_residue(mote, cid)


@pytest.mark.parametrize("text,msg", [
    ("{", "invalid JSON at byte"),
    ('{"ociVersion": "1.2.0", "process": {"args": ["a", 3]}}', "process.args[1]: expected string, got number"),
    ('{"ociVersion": "2.0.0"}', "ociVersion: unsupported version"),
    ('{"process": {}}', "ociVersion: missing"),
    ('{"ociVersion": "1.0.2", "process": {"args": []}, "root": {"path": "r"}}', "process.args"),
    ('{"ociVersion": "1.0.2", "process": {"args": ["x"], "user": {"uid": -1}}}', "process.user.uid"),
    ('{"ociVersion": "1.0.2", "linux": {"namespaces": [{"type": "bogus"}]}}', "linux.namespaces[0].type: unknown"),
    ('{"ociVersion": "1.0.2", "mounts": [{"destination": "relative"}]}', "mounts[0].destination: must be an absolute path"),
    ('{"ociVersion": "1.0.2", "process": {"args": ["x"], "env": [' + ",".join(['"A=1"'] * 600) + ']}}',
     "process.env: more than 512 entries"),
    ('{"ociVersion": "1.0.2", "x": "\\u0000"}', "\\u0000"),
    ('{"ociVersion": "1.0.2", "linux": {"namespaces": [{"type": "user"}], "uidMappings": [{"containerID": 0, '
     '"hostID": 100000, "size": 1}]}}', "linux.gidMappings: a new user namespace needs uidMappings and gidMappings"),
    ('{"ociVersion": "1.0.2", "linux": {"timeOffsets": {"realtime": {"secs": 5}}}}',
     "linux.timeOffsets: only monotonic and boottime can be offset, not realtime"),
    ('[' * 100 + ']' * 100, "nesting too deep"),
])
def test_malformed_or_hostile_config(mote, text, msg):
    cid = mote.new_id()
    b = mote.tmp / ("b" + cid)
    os.makedirs(b / "rootfs")
    (b / "config.json").write_text(text)
    fails(mote, "run", "--bundle", str(b), cid, msg=msg)
    no_residue(mote, cid)


@pytest.mark.parametrize("pad", range(4))
def test_a_message_cut_at_its_bound_stays_utf8(mote, pad):
    # A value named in an error is cut where the message's bound falls; cut inside a UTF-8
    # character, the message was not UTF-8 (found by the unit fuzz). 1..3 bytes of padding put
    # the cut at each offset inside the 4-byte characters.
    cid = mote.new_id()
    b = mote.tmp / ("b" + cid)
    os.makedirs(b / "rootfs")
    action = "SCMP_ACT_" + "x" * pad + "\U0001F600" * 200
    (b / "config.json").write_text(json.dumps({"ociVersion": "1.0.2", "linux": {"seccomp": {"defaultAction": action}}}, ensure_ascii=False))
    p = mote("run", "--bundle", str(b), cid, text=False)
    assert p.returncode == 1, p.stderr
    err = p.stderr.decode()  # strict: raises on a cut character
    assert "unknown action" in err and "..." in err, err
    no_residue(mote, cid)


def test_missing_executable(mote):
    cid = mote.new_id()
    b = mote.bundle(["no-such-program"])
    fails(mote, "run", "--bundle", b, cid, msg='exec: "no-such-program": executable file not found in $PATH')
    no_residue(mote, cid)


def test_mount_failure_reports_path_and_errno(mote):
    cid = mote.new_id()
    b = mote.bundle(["true"], mounts=[{"destination": "/mnt", "type": "nosuchfs", "source": "x"}])
    fails(mote, "run", "--bundle", b, cid, msg="mount /mnt (type nosuchfs): No such device")
    no_residue(mote, cid)


@pytest.mark.parametrize("cid", ["../evil", "a/b", "..", ".", "", "x" * 1100, "bad id"])
def test_bad_container_ids(mote, cid):
    b = mote.bundle(["true"])
    fails(mote, "run", "--bundle", b, cid, msg="container id")
    assert not os.path.exists(os.path.join(os.path.dirname(mote.root), "evil"))
    assert not os.path.exists(mote.root) or os.listdir(mote.root) == []


def test_duplicate_id(mote):
    cid = mote.new_id()
    b = mote.bundle(["sleep", "30"])
    with open(mote.tmp / "o", "w") as f:
        assert subprocess.run(mote.argv("create", "--bundle", b, cid), stdout=f, stderr=f, timeout=TIMEOUT).returncode == 0
    before = json.loads(mote("state", cid, check=0).stdout)
    fails(mote, "create", "--bundle", b, cid, msg="already exists")
    after = json.loads(mote("state", cid, check=0).stdout)
    assert before == after  # the existing container is untouched


def test_symlink_in_image_cannot_escape_rootfs(native, tmp_path, rootfs):
    """A mount destination through a symlink pointing outside the rootfs lands inside it."""
    mote = native
    evil = tmp_path / "evil-rootfs"
    import shutil
    shutil.copytree(rootfs, evil, symlinks=True)
    outside = tmp_path / "outside"
    os.makedirs(outside)
    os.symlink(str(outside), evil / "escape")          # absolute link to a host dir
    os.symlink("../../../../../../" + str(outside), evil / "escape2")  # and a relative one
    mote.rootfs = str(evil)
    b = mote.bundle(["sh", "-c", "ls /escape /escape2"], mounts=[
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs"},
        {"destination": "/escape/m", "type": "tmpfs", "source": "tmpfs"},
        {"destination": "/escape2/n", "type": "tmpfs", "source": "tmpfs"}],
        root={"path": str(evil), "readonly": False})
    p = mote("run", "--bundle", b, mote.new_id())
    assert p.returncode == 0, p.stderr
    assert os.listdir(outside) == [], "a mount point was created outside the rootfs"
    assert (evil / str(outside).lstrip("/") / "m").is_dir()


def test_concurrent_create_delete_20(native):
    mote = native
    b = mote.bundle(["sleep", "30"])
    ids = [mote.new_id() for _ in range(20)]
    errors = []

    def one(cid):
        with open(mote.tmp / cid, "w") as f:
            r = subprocess.run(mote.argv("create", "--bundle", b, cid), stdout=f, stderr=f, timeout=TIMEOUT)
        if r.returncode != 0:
            errors.append((cid, open(mote.tmp / cid).read()))
            return
        r = mote("delete", "--force", cid, timeout=TIMEOUT)
        if r.returncode != 0:
            errors.append((cid, r.stderr))

    threads = [threading.Thread(target=one, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT * 2)
    assert errors == []
    assert os.listdir(mote.root) == []
    for cid in ids:
        no_residue(mote, cid)


def test_host_settings_need_their_namespace(native):
    no_uts = [{"type": t} for t in ("pid", "mount")]
    with_uts = no_uts + [{"type": "uts"}]
    for over, msg in (({"linux": {"namespaces": no_uts}}, "hostname: needs a uts namespace"),
                      ({"linux": {"namespaces": with_uts, "sysctl": {"net.ipv4.ip_forward": "1"}}},
                       "net.ipv4.ip_forward is not namespaced"),
                      ({"linux": {"sysctl": {"vm.swappiness": "1"}}}, "vm.swappiness is not namespaced")):
        cid = native.new_id()
        b = native.bundle(["true"], **over)
        fails(native, "run", "--bundle", b, cid, msg=msg)
        no_residue(native, cid)


def test_existing_busy_cgroup_is_refused_and_left_alone(native):
    """A cgroupsPath naming a cgroup that already has processes: refused, and its processes
    are not killed (mote kills what is in its containers' cgroups when they go)."""
    path = "/sys/fs/cgroup/pids/mote-test-busy-" + os.urandom(3).hex()
    os.mkdir(path)
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        with open(f"{path}/cgroup.procs", "w") as f:
            f.write(str(sleeper.pid))
        b = native.bundle(["true"], linux={"cgroupsPath": "/" + os.path.basename(path)})
        fails(native, "run", "--bundle", b, native.new_id(), msg="already has processes")
        assert sleeper.poll() is None, "mote killed a process it did not start"
        p = native("run", "--bundle", native.bundle(["true"], linux={"cgroupsPath": "/"}), native.new_id())
        assert p.returncode == 1 and "root cgroup" in p.stderr
    finally:
        sleeper.kill()
        sleeper.wait()
        with open("/sys/fs/cgroup/pids/cgroup.procs", "w") as f:
            pass
        for h in os.listdir("/sys/fs/cgroup"):
            d = f"/sys/fs/cgroup/{h}/{os.path.basename(path)}"
            if os.path.isdir(d):
                os.rmdir(d)


def test_delete_force_of_a_create_that_died(native):
    """A create killed halfway leaves its state dir: delete --force cleans it, even with no
    state.json at all."""
    cid = native.new_id()
    os.makedirs(os.path.join(native.root, cid))
    native("delete", "--force", cid, check=0)
    assert not os.path.exists(os.path.join(native.root, cid))


def test_bundle_path_not_utf8_is_refused(native):
    """state.json and the hooks' state are JSON, which holds UTF-8 only (json.rs refuses the rest):
    a bundle path with other bytes was written into them raw, and mote could then not read its
    own state back (`state`: corrupt state.json; `list` hid the container). create refuses it
    before anything exists. (Found by the fuzz of the hooks' state JSON, tests/unit.)"""
    cid = native.new_id()
    b = native.bundle(["true"], name="bundle-\udcff")  # b"bundle-\xff" on disk
    fails(native, "create", "--bundle", b, cid, msg="path not UTF-8")
    no_residue(native, cid)
    assert native("list", "-q").stdout.strip() == ""
