"""What the container sees at /sys/fs/cgroup: its own cgroup, never the host's tree. On v1 or
hybrid (this host) each hierarchy's directory of the container bound under a tmpfs (as runc and
crun do); on v2 its own directory, or a fresh cgroup2 in a cgroup namespace. With and without a
cgroup namespace, and in a user namespace (where the kernel refuses a fresh cgroup mount)."""
import os
import re

import pytest

from conftest import cgroup_dirs

V2 = os.path.exists("/sys/fs/cgroup/cgroup.controllers")
BASE = ("pid", "ipc", "uts", "mount")
# Printed from inside: the memory limit, the pids in the container's cgroup, the number of
# entries (a host's tree has others'), whether a child cgroup can be made (ro: no).
if V2:
    LOOK = ("cat /sys/fs/cgroup/memory.max; cat /sys/fs/cgroup/cgroup.procs | wc -l; "
            "ls -d /sys/fs/cgroup/*/ 2>/dev/null | wc -l; mkdir /sys/fs/cgroup/x 2>/dev/null && echo rw || echo ro")
else:
    LOOK = ("cat /sys/fs/cgroup/memory/memory.limit_in_bytes; cat /sys/fs/cgroup/pids/cgroup.procs | wc -l; "
            "ls -d /sys/fs/cgroup/memory/*/ 2>/dev/null | wc -l; mkdir /sys/fs/cgroup/pids/x 2>/dev/null && echo rw || echo ro")
CGMOUNT = {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
           "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
MOUNTS = [{"destination": "/proc", "type": "proc", "source": "proc"},
          {"destination": "/dev", "type": "tmpfs", "source": "tmpfs"},
          {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
          CGMOUNT]


def look(mote, namespaces, **extra):
    cid = mote.new_id()
    b = mote.bundle(["sh", "-c", LOOK], linux={"namespaces": [{"type": t} for t in namespaces],
                                               "resources": {"memory": {"limit": 64 << 20}}, **extra},
                    mounts=MOUNTS)
    p = mote("run", "--bundle", b, cid)
    assert p.returncode == 0, p.stderr
    assert cgroup_dirs(cid) == []
    return p.stdout.split()


@pytest.mark.parametrize("cgroupns", [True, False], ids=["cgroupns", "no-cgroupns"])
def test_own_cgroup_only(native, cgroupns):
    limit, procs, children, rw = look(native, BASE + (("cgroup",) if cgroupns else ()))
    # sh and the pipeline's cat/wc: its own processes, not the host's.
    assert int(limit) == 64 << 20 and 1 <= int(procs) <= 5 and int(children) == 0 and rw == "ro"


def test_v1_hierarchies_under_a_tmpfs(native):
    if V2:
        pytest.skip("a v1 layout exists only on a v1 or hybrid host; the VM covers v2")
    cid = native.new_id()
    b = native.bundle(["sh", "-c", "grep ' /sys/fs/cgroup' /proc/self/mountinfo"],
                      linux={"namespaces": [{"type": t} for t in BASE]}, mounts=MOUNTS)
    p = native("run", "--bundle", b, cid)
    assert p.returncode == 0, p.stderr
    lines = [l.split() for l in p.stdout.splitlines()]
    top = [l for l in lines if l[4] == "/sys/fs/cgroup"]
    assert top and top[0][-3] == "tmpfs" and top[0][5].startswith("ro"), p.stdout
    host = sorted(h for h in os.listdir("/sys/fs/cgroup") if os.path.exists(f"/sys/fs/cgroup/{h}/cgroup.procs")
                  and not os.path.islink(f"/sys/fs/cgroup/{h}"))
    subs = {l[4].split("/")[-1]: l for l in lines if l[4].startswith("/sys/fs/cgroup/")}
    assert sorted(subs) == host, p.stdout
    for name, l in subs.items():
        # Each one's root is the container's cgroup, read-only.
        assert l[3] == f"/mote/{cid}" and l[5].startswith("ro"), l


@pytest.mark.parametrize("cgroupns", [True, False], ids=["cgroupns", "no-cgroupns"])
def test_user_namespace(open_rootfs, cgroupns):
    # podman run --uidmap: a user namespace, and no cgroup namespace on v1 hosts.
    maps = [{"containerID": 0, "hostID": 200000, "size": 65536}]
    limit, procs, children, rw = look(open_rootfs, BASE + ("user",) + (("cgroup",) if cgroupns else ()),
                                      uidMappings=maps, gidMappings=maps)
    assert int(limit) == 64 << 20 and 1 <= int(procs) <= 5 and int(children) == 0 and rw == "ro"


@pytest.mark.parametrize("cgroupns", [True, False], ids=["cgroupns", "no-cgroupns"])
def test_force_cgroup_v1_annotation(native, cgroupns):
    # crun's run.oci.systemd.force_cgroup_v1=PATH: the mount at PATH becomes a tmpfs with the v1
    # name=systemd hierarchy at PATH/systemd (this host has it), showing the container's own
    # cgroup there, which its process is in.
    if not any("name=systemd" in l for l in open("/proc/self/mountinfo")):
        pytest.skip("the host has no name=systemd v1 hierarchy (crun needs one too)")
    cid = native.new_id()
    b = native.bundle(["sh", "-c", "grep ' /sys/fs/cgroup' /proc/self/mountinfo; echo procs $(cat /sys/fs/cgroup/systemd/cgroup.procs); "
                                   "grep name=systemd /proc/self/cgroup; ls -d /sys/fs/cgroup/systemd/*/ 2>/dev/null | wc -l"],
                      linux={"namespaces": [{"type": t} for t in BASE + (("cgroup",) if cgroupns else ())]},
                      mounts=MOUNTS, annotations={"run.oci.systemd.force_cgroup_v1": "/sys/fs/cgroup"})
    p = native("run", "--bundle", b, cid)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    mounts = [l.split() for l in lines if " /sys/fs/cgroup" in l]
    assert [(m[4], m[-3]) for m in mounts][0] == ("/sys/fs/cgroup", "tmpfs"), p.stdout
    top = [m for m in mounts if m[4] == "/sys/fs/cgroup/systemd"][-1]
    assert top[-3] == "cgroup" and "name=systemd" in top[-1] and top[5].startswith("ro"), p.stdout
    procs = next(l for l in lines if l.startswith("procs ")).split()[1:]
    assert 1 <= len(procs) <= 5, p.stdout
    own = next(l for l in lines if re.match(r"\d+:name=systemd:", l))
    assert own.endswith(":/" if cgroupns else f":/mote/{cid}"), p.stdout
    assert lines[-1] == "0", p.stdout
    assert cgroup_dirs(cid) == []


def view(mote, options, script, **extra):
    cid = mote.new_id()
    b = mote.bundle(["sh", "-c", script], linux={"namespaces": [{"type": t} for t in BASE]},
                    mounts=MOUNTS[:3] + [dict(CGMOUNT, options=options)], **extra)
    return cid, mote("run", "--bundle", b, cid)


def test_recursive_options_and_propagation_reach_every_part(native):
    # rro without ro: only the recursive attribute keeps the hierarchies' binds read-only (it was
    # dropped, and the container could write its cgroup's files); rshared: the propagation asked
    # (it was dropped too, and rshared lost for every mount by the switch of root).
    procs = "/sys/fs/cgroup/cgroup.procs" if V2 else "/sys/fs/cgroup/pids/cgroup.procs"
    cid, p = view(native, ["nosuid", "noexec", "nodev", "rro", "rshared"],
                  f"grep ' /sys/fs/cgroup' /proc/self/mountinfo; (echo 0 > {procs}) 2>/dev/null && echo rw || echo ro")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[-1] == "ro", p.stdout
    parts = [l.split() for l in lines[:-1]]
    assert parts and all(l[5].startswith("ro,") and any(f.startswith("shared:") for f in l[6:l.index("-")])
                         for l in parts), p.stdout
    if not V2:
        assert len(parts) > 2, p.stdout  # the tmpfs and the hierarchies under it
    assert cgroup_dirs(cid) == []


def test_cgroup_mount_data_option_is_refused_by_name(native):
    # No cgroup filesystem's options reach the view (binds of the container's own directories):
    # one given would be dropped without a word.
    cid, p = view(native, ["nosuid", "memory_recursiveprot"], "true")
    assert p.returncode == 1, p.stderr
    assert "mount /sys/fs/cgroup: option memory_recursiveprot is not a known option of a cgroup mount" in p.stderr, p.stderr
    assert cgroup_dirs(cid) == [] and not os.path.exists(os.path.join(native.root, cid))


def test_force_cgroup_v1_mount_options_of_a_filesystem_are_refused(native):
    # The annotation's mount becomes a tmpfs of mote's own with the hierarchy in it, whatever
    # its type: a filesystem option given to it (mode=) would be dropped without a word.
    if not any("name=systemd" in l for l in open("/proc/self/mountinfo")):
        pytest.skip("the host has no name=systemd v1 hierarchy (crun needs one too)")
    cid = native.new_id()
    b = native.bundle(["true"], linux={"namespaces": [{"type": t} for t in BASE]},
                      mounts=MOUNTS[:3] + [{"destination": "/sys/fs/cgroup", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=700"]}],
                      annotations={"run.oci.systemd.force_cgroup_v1": "/sys/fs/cgroup"})
    p = native("run", "--bundle", b, cid)
    assert p.returncode == 1 and "mount /sys/fs/cgroup: option mode=700 is not a known option of a cgroup mount" in p.stderr, p.stderr
    assert cgroup_dirs(cid) == [] and not os.path.exists(os.path.join(native.root, cid))
