"""Input that once pushed mote off its rails: every bound an error naming the field (never a
truncation, never a panic), checked arithmetic on numbers from the command line, duplicate JSON
keys, and no build-machine path in the binaries. Each case leaves nothing behind."""
import json
import os
import re
import subprocess
import uuid

import pytest

from conftest import ROOT, TIMEOUT, binary, cgroup_dirs, detached, fails, mounts_mentioning, to_file

V1 = "/sys/fs/cgroup"


def no_residue(mote, cid):
    assert not os.path.exists(os.path.join(mote.root, cid)), "state dir left"
    assert cgroup_dirs(cid) == [], "cgroup left"
    assert mounts_mentioning(mote.rootfs) == [], "mount left"


def test_binaries_carry_no_build_machine_path():
    """Panic locations name files relative to their crate, not /root/.cargo/registry/...: a panic
    message must not leak the build machine's paths (trim-paths in .cargo/config.toml). A home's
    dot-directories, not any "/root/": mote's own "/root" (exec.rs) and "/proc/self/ns/" may lie
    side by side in .rodata."""
    for name in ("mote", "mote-init"):
        data = open(binary("x86_64", name), "rb").read()
        for leak in (b"/.cargo/registry", b"/root/.", b"/home/", ROOT.encode() + b"/", b"/usr/lib/rustlib"):
            assert leak not in data, (name, leak)


def test_long_mount_point_name_is_refused_not_cut(native, tmp_path):
    """A 300-byte mount point name: ENAMETOOLONG, and no directory cut to 255 bytes is made."""
    cid = native.new_id()
    name = "m" * 300
    b = native.bundle(["true"], mounts=[{"destination": "/tmp/" + name, "type": "tmpfs", "source": "tmpfs"}])
    try:
        fails(native, "run", "--bundle", b, cid, msg="File name too long")
        no_residue(native, cid)
    finally:
        for e in os.listdir(os.path.join(native.rootfs, "tmp")):
            if e.startswith("mmmm"):
                os.rmdir(os.path.join(native.rootfs, "tmp", e))
                pytest.fail("a mount point with a truncated name was created")


def test_more_propagation_options_than_the_bound(native):
    cid = native.new_id()
    opts = ["rbind", "rprivate", "rslave", "rshared", "rprivate", "rslave"]
    b = native.bundle(["true"], mounts=[{"destination": "/tmp", "type": "bind", "source": "/tmp", "options": opts}])
    fails(native, "run", "--bundle", b, cid, msg="one propagation option too many")
    no_residue(native, cid)


def test_long_sysctl_key(native):
    cid = native.new_id()
    b = native.bundle(["true"], linux={"sysctl": {"net." + "a" * 300: "1"}})
    fails(native, "run", "--bundle", b, cid, msg="linux.sysctl: a key longer than 256 bytes")
    no_residue(native, cid)


def test_preserve_fds_overflow(native):
    """2^32+3 once wrapped to 3 and stripped the container's stdio."""
    cid = native.new_id()
    b = native.bundle(["true"])
    for v in ("4294967299", "18446744073709551616", str(2**20 + 1)):
        p = native("run", "--preserve-fds", v, "--bundle", b, cid)
        assert p.returncode == 1 and "--preserve-fds" in p.stderr and "panic" not in p.stderr, (v, p.stderr)
        no_residue(native, cid)


def test_update_memory_overflow_is_refused(native):
    """8589934592g * 2^30 overflows i64: it once wrapped to a negative value, i.e. unlimited."""
    cid = detached(native, ["sleep", "30"], linux={"resources": {"memory": {"limit": 64 << 20}}})
    f = f"{V1}/memory/mote/{cid}/memory.limit_in_bytes"
    if not os.path.exists(f):
        f = f"{V1}/mote/{cid}/memory.max"
    before = open(f).read()
    for v in ("8589934592g", "99999999999999999999", "9223372036854775808"):
        p = native("update", "--memory", v, cid)
        assert p.returncode == 1 and "--memory" in p.stderr and "too large" in p.stderr, (v, p.stderr)
    assert open(f).read() == before


def test_list_json_stays_valid_with_large_entries(native):
    """Entries larger than list's old 4 KiB buffer were cut into invalid JSON."""
    ann = {f"org.example.k{i}": "v" * 200 for i in range(60)}
    cids = [detached(native, ["sleep", "30"], annotations=ann) for _ in range(2)]
    p = native("list", "--format", "json", check=0)
    listed = json.loads(p.stdout)
    assert {c["id"] for c in listed} >= set(cids)
    assert all(len(c["annotations"]) == 60 for c in listed if c["id"] in cids)


@pytest.mark.parametrize("doc,what", [
    ('{"ociVersion":"1.0.2","process":{"args":["sh"],"args":["-c","x"]}}', "args twice"),
    ('{"ociVersion":"1.0.2","ociVersion":"1.0.2"}', "top level"),
    ('{"ociVersion":"1.0.2","annotations":{"a":"1","\\u0061":"2"}}', "same key after unescaping"),
])
def test_duplicate_json_keys_are_refused(native, doc, what):
    """Go's encoding/json (runc, policy engines) keeps the last of two keys; mote once merged
    arrays. A config two readers may see differently is refused (json.rs says why)."""
    cid = native.new_id()
    b = native.tmp / ("dup-" + cid)
    os.makedirs(b)
    (b / "config.json").write_text(doc)
    fails(native, "run", "--bundle", str(b), cid, msg="duplicate key")
    no_residue(native, cid)


def test_same_key_in_different_objects_is_fine(native):
    cid = native.new_id()
    b = native.bundle(["true"], annotations={"type": "x"}, linux={"resources": {"pids": {"limit": 10}}})
    native("run", "--bundle", b, cid, check=0)


# ---- every bound in spec/limits.rs, at the bound and one past it ----

def limits():
    src = open(os.path.join(ROOT, "runtime/src/spec/limits.rs")).read()
    out = {}
    for name, expr in re.findall(r"pub const (\w+): usize = ([^;]+);", src):
        try:
            out[name] = eval(expr.replace("mote_sys::mem::ARENA", "None"), {})
        except TypeError:
            out[name] = None
    return out


def sweep_config(name, n):
    """(overrides for native.bundle, argv extra, expected message) with `n` items of bound `name`."""
    ok_dirs = ["/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"]
    match name:
        case "ARGS":
            return {"process": {"args": ["true"] + ["x"] * (n - 1)}}, "process.args: more than 256 entries"
        case "ENV":
            return {"process": {"args": ["true"], "env": [f"V{i}=1" for i in range(n)]}}, "process.env: more than 512 entries"
        case "MOUNTS":
            return {"mounts": [{"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}] * n}, "mounts: more than 128 entries"
        case "MOUNT_OPTIONS":
            return {"mounts": [{"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid"] * n}]}, \
                "mounts[0].options: more than 32 entries"
        case "MASKED_PATHS":
            return {"linux": {"maskedPaths": (ok_dirs * 100)[:n]}}, "linux.maskedPaths: more than 128 entries"
        case "READONLY_PATHS":
            return {"linux": {"readonlyPaths": (ok_dirs * 100)[:n]}}, "linux.readonlyPaths: more than 64 entries"
        case "NAMESPACES":
            # Eight types: a ninth entry is always one listed twice, refused as such.
            ns = ["pid", "network", "ipc", "uts", "mount", "cgroup", "time", "user"]
            return {"linux": {"namespaces": [{"type": t} for t in (ns + ["ipc"])[:n]]}}, "namespace listed twice"
        case "CGROUP_PATH":
            top = "/" + SWEEP_TOP
            comps = "/".join(["c" * 199] * ((n - len(top)) // 200 + 1))
            return {"linux": {"cgroupsPath": (top + "/" + comps)[:n]}}, "linux.cgroupsPath: longer than 2048 bytes"
        case "ID_MAPPINGS":
            return {"linux": {"uidMappings": [{"containerID": i, "hostID": 100000 + i, "size": 1} for i in range(n)]}}, \
                "linux.uidMappings: more than 16 entries"
        case "ADDITIONAL_GIDS":
            return {"process": {"args": ["true"], "user": {"uid": 0, "gid": 0, "additionalGids": list(range(n))}}}, \
                "process.user.additionalGids: more than 64 entries"
        case "RLIMITS":
            return {"process": {"args": ["true"], "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 1024, "hard": 1024}] * n}}, \
                "process.rlimits: more than 16 entries"
        case "DEVICES":
            return {"linux": {"devices": [{"path": "/dev/null", "type": "c", "major": 1, "minor": 3}] * n}}, \
                "linux.devices: more than 128 entries"
        case "SYSCTLS":
            return {"linux": {"sysctl": {f"net.ipv4.conf.lo.x{i}": "1" for i in range(n)}}}, "linux.sysctl: more than 64 entries"
        case "ANNOTATIONS":
            return {"annotations": {f"k{i}": "v" for i in range(n)}}, "annotations: more than 64 entries"
        case "SYSCTL_KEY":
            return {"linux": {"sysctl": {"net." + "a" * (n - 4): "1"}}}, "a key longer than 256 bytes"
        case "SECCOMP_RULES":
            rules = [{"names": ["getpid"], "action": "SCMP_ACT_ALLOW"}] * n
            return {"linux": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": rules}}}, \
                "linux.seccomp.syscalls: more than 256 entries"
        case "SECCOMP_NAMES":
            rules = [{"names": ["getpid"] * 8, "action": "SCMP_ACT_ALLOW"}] * (n // 8) + \
                ([{"names": ["getpid"] * (n % 8), "action": "SCMP_ACT_ALLOW"}] if n % 8 else [])
            return {"linux": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": rules}}}, "more than 2048 entries"
        case "CPUS":
            return {"process": {"args": ["true"], "execCPUAffinity": {"initial": f"0-{n - 1}"}}}, "CPUs below 1024"
        case "RESOURCE_LIST":
            return {"linux": {"resources": {"unified": {f"k{i}": "1" for i in range(n)}}}}, \
                "linux.resources.unified: more than 32 entries"
        case "DEVICE_RULES":
            return {"linux": {"resources": {"devices": [{"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rw"}] * n}}}, \
                "linux.resources.devices: more than 128 entries"
        case "RESOURCE_NAME":
            return {"linux": {"resources": {"hugepageLimits": [{"pageSize": "x" * n}]}}}, \
                "linux.resources.hugepageLimits[0].pageSize: longer than 64 bytes"
        case "MOUNT_PROPAGATIONS":
            return {"mounts": [{"destination": "/tmp", "type": "bind", "source": "/tmp",
                                "options": ["rbind"] + ["rprivate"] * n}]}, "one propagation option too many"
    return None


SWEEP_TOP = "mote-sweep-" + uuid.uuid4().hex[:8]


def remove_cgroup_tree(top):
    for h in os.listdir(V1):
        t = os.path.join(V1, h, top)
        for d, _, _ in sorted(os.walk(t), key=lambda x: -len(x[0])) if os.path.isdir(t) else []:
            os.rmdir(d)


# Bounds swept by the CLI or elsewhere (their own tests), not through config.json.
# APPARMOR_PROFILE is checked where AppArmor is enabled (elsewhere the field is refused first).
ELSEWHERE = {"PATH", "ID", "STATE", "CONFIG_BYTES", "PRESERVE_FDS", "CGROUP_DEPTH", "APPARMOR_PROFILE"}


def test_sweep_covers_every_bound():
    missing = [n for n in limits() if n not in ELSEWHERE and sweep_config(n, 1) is None]
    assert not missing, f"bounds in spec/limits.rs without a sweep case: {missing}"


@pytest.mark.parametrize("name", sorted(n for n in limits() if n not in ELSEWHERE))
def test_bound_and_one_past(native, name):
    """At the bound the config gets past parsing (it may still fail later for other reasons: the
    check is that the bound's message does not appear); one past it is refused by name."""
    bound = limits()[name]
    over, msg = sweep_config(name, bound + 1)
    cid = native.new_id()
    rc, err = to_file(native, "create", "--bundle", native.bundle(["true"], **over), cid)
    assert rc == 1 and msg in err and "panic" not in err, (name, err)
    no_residue(native, cid)
    at, _ = sweep_config(name, bound)
    cid = native.new_id()
    rc, err = to_file(native, "create", "--bundle", native.bundle(["true"], **at), cid)
    assert msg not in err and "panic" not in err, (name, err)
    native("delete", "--force", cid)
    no_residue(native, cid)
    remove_cgroup_tree(SWEEP_TOP)


def test_id_bound(native):
    b = native.bundle(["true"])
    p = native("create", "--bundle", b, "x" * 256)
    assert p.returncode == 1 and "invalid container id" in p.stderr
    cid = "y" * 255
    native.ids.append(cid)
    rc, err = to_file(native, "create", "--bundle", b, cid)
    assert rc == 0, err


def test_path_bound_root(native, tmp_path):
    """A --root so long that <root>/<id> passes 4096 bytes: refused by name, nothing made."""
    root = str(tmp_path) + "/" + "/".join(["r" * 200] * 19)
    os.makedirs(root)
    cid = "z" * 255
    p = subprocess.run(native.argv()[:-2] + ["--root", root, "create", "--bundle", native.bundle(["true"]), cid],
                       capture_output=True, text=True, timeout=TIMEOUT)
    assert p.returncode == 1 and "state dir path" in p.stderr and "longer than 4096" in p.stderr, p.stderr
    assert cgroup_dirs(cid) == [] and os.listdir(root) == []


def test_config_bytes_bound(native):
    cid = native.new_id()
    b = native.bundle(["true"])
    c = json.load(open(os.path.join(b, "config.json")))
    c["annotations"] = {"pad": "x" * (1 << 20)}
    json.dump(c, open(os.path.join(b, "config.json"), "w"))
    fails(native, "run", "--bundle", b, cid, msg="larger than 1048576 bytes")
    no_residue(native, cid)


def test_masked_and_readonly_paths_at_their_bounds_under_a_small_fd_limit(native):
    """The masked and read-only paths' descriptors are closed in batches (close_range), not one by
    one as each is done, but never more than a bounded batch is held: 128 masked and 64 read-only
    paths (~320 descriptors in all) go through a mote whose soft RLIMIT_NOFILE is 56, and every one is
    applied (seen from inside the container)."""
    import resource
    files = lambda d: sorted(f"/proc/sys/{d}/{n}" for n in os.listdir(f"/proc/sys/{d}")
                             if os.path.isfile(f"/proc/sys/{d}/{n}"))
    masked = (files("kernel") + files("fs"))[:128]
    readonly = (files("vm") + files("fs"))[:64]
    assert len(masked) == 128 and len(readonly) == 64, "this host's /proc/sys has too few files for the test"
    b = native.bundle(["sh", "-c", "grep -c ' /proc/sys/' /proc/self/mountinfo; wc -c < " + masked[0]],
                      linux={"maskedPaths": masked, "readonlyPaths": readonly})
    small = lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (56, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
    cid = native.new_id()
    p = native("run", "--bundle", b, cid, preexec_fn=small)
    assert p.returncode == 0, p.stderr
    mounts, size = p.stdout.split()
    # every path that exists in the container's procfs is a mount (its own /proc/sys among them)
    assert int(mounts) >= 150, p.stdout
    assert size == "0"  # /dev/null over the first masked file
    no_residue(native, cid)
