"""What the container's process sees: user, cwd, env, hostname, mounts, read-only root, masked
paths, capabilities, rlimits, namespaces, user-namespace mappings. Checked from inside (its own
/proc) and from outside (/proc/PID of the host)."""
import json
import os
import subprocess
import time

import pytest

from conftest import TIMEOUT


def run_in(mote, script, **overrides):
    """Runs `sh -c script` in a container; returns (exit code, stdout, stderr)."""
    b = mote.bundle(["sh", "-c", script], **overrides)
    p = mote("run", "--bundle", b, mote.new_id())
    return p.returncode, p.stdout, p.stderr


def test_user_cwd_env_hostname(mote):
    code, out, err = run_in(mote, 'echo $(id -u):$(id -g):$(id -G):$(pwd):$FOO:$(hostname):$(umask)',
                            process={"user": {"uid": 1000, "gid": 1001, "additionalGids": [5, 7], "umask": 0o27},
                                     "cwd": "/tmp", "env": ["PATH=/bin", "FOO=bar baz"]},
                            hostname="box1")
    assert code == 0, err
    uid, gid, groups, cwd, foo, host, umask = out.strip().split(":")
    assert (uid, gid, cwd, foo, host) == ("1000", "1001", "/tmp", "bar baz", "box1")
    assert set(groups.split()) >= {"1001", "5", "7"}
    assert umask == "0027"


def test_mount_table_and_readonly_root(mote):
    code, out, err = run_in(mote, "cat /proc/self/mountinfo; touch /x && echo WROTE; echo ok > /dev/shm/t && cat /dev/shm/t")
    assert code == 0, err
    mounts = {l.split()[4]: l for l in out.splitlines() if len(l.split()) > 4 and l.split()[4].startswith("/")}
    for d in ("/", "/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys"):
        assert d in mounts, (d, out)
    assert " ro," in mounts["/"] or mounts["/"].split()[5].startswith("ro")
    assert "WROTE" not in out            # root.readonly
    assert out.strip().endswith("ok")    # tmpfs mounts are writable
    assert "nosuid" in mounts["/dev"].split()[5] and "size=65536k" in mounts["/dev"]


def test_default_devices(mote):
    code, out, err = run_in(mote, "ls -l /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty; "
                                  "head -c 4 /dev/zero | wc -c; readlink /dev/fd; readlink /dev/ptmx")
    assert code == 0, err
    assert out.count("crw-rw-rw-") == 6
    assert "4\n/proc/self/fd\npts/ptmx" in out


def test_masked_and_readonly_paths(mote):
    assert os.path.getsize("/proc/timer_list") == 0 and len(open("/proc/timer_list").read()) > 0  # host: readable
    code, out, err = run_in(mote, "wc -c < /proc/timer_list; ls /sys/firmware | wc -l; "
                                  "echo 1 > /proc/sys/kernel/sysrq && echo WROTE; echo done")
    assert code == 0, err
    lines = out.split()
    assert lines[0] == "0"      # /dev/null over a file
    assert lines[1] == "0"      # empty tmpfs over a directory
    assert "WROTE" not in out   # /proc/sys read-only
    assert "done" in out


def test_capabilities(mote):
    code, out, err = run_in(mote, "grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb)' /proc/self/status")
    assert code == 0, err
    caps = {l.split(":")[0]: int(l.split()[1], 16) for l in out.splitlines()}
    want = (1 << 29) | (1 << 5) | (1 << 10)  # AUDIT_WRITE, KILL, NET_BIND_SERVICE (mote spec's set)
    assert caps["CapEff"] == want and caps["CapPrm"] == want and caps["CapBnd"] == want
    assert caps["CapInh"] == 0 and caps["CapAmb"] == 0


def test_ambient_caps_for_non_root(mote):
    cap = ["CAP_NET_BIND_SERVICE"]
    code, out, err = run_in(mote, "grep -E '^Cap(Eff|Amb)' /proc/self/status", process={
        "user": {"uid": 1000, "gid": 1000}, "capabilities": {"bounding": cap, "effective": cap, "permitted": cap,
                                                              "inheritable": cap, "ambient": cap}})
    assert code == 0, err
    assert all(int(l.split()[1], 16) == 1 << 10 for l in out.splitlines())


def test_rlimits_no_new_privs_oom_score(mote):
    code, out, err = run_in(mote, "ulimit -n; ulimit -Hn; grep NoNewPrivs /proc/self/status; cat /proc/self/oom_score_adj",
                            process={"rlimits": [{"type": "RLIMIT_NOFILE", "soft": 512, "hard": 1000}],
                                     "oomScoreAdj": 123})
    assert code == 0, err
    assert out.split() == ["512", "1000", "NoNewPrivs:", "1", "123"]


def test_sysctl_and_domainname(mote):
    code, out, err = run_in(mote, "cat /proc/sys/net/ipv4/ip_forward; cat /proc/sys/kernel/domainname",
                            linux={"sysctl": {"net.ipv4.ip_forward": "1"}}, domainname="example.org")
    assert code == 0, err
    assert out.split() == ["1", "example.org"]


def test_namespaces_differ_from_host(native):
    mote = native
    cid = mote.new_id()
    b = mote.bundle(["sleep", "30"])
    with open(mote.tmp / "o", "w") as f:
        assert subprocess.run(mote.argv("run", "-d", "--bundle", b, cid), stdout=f, stderr=f, timeout=TIMEOUT).returncode == 0
    pid = json.loads(mote("state", cid, check=0).stdout)["pid"]
    for ns in ("pid", "net", "ipc", "uts", "mnt", "cgroup"):
        assert os.readlink(f"/proc/{pid}/ns/{ns}") != os.readlink(f"/proc/self/ns/{ns}"), ns
    assert os.readlink(f"/proc/{pid}/ns/user") == os.readlink("/proc/self/ns/user")
    # PID 1 inside
    with open(f"/proc/{pid}/status") as f:
        nspid = [l for l in f if l.startswith("NSpid:")][0].split()
    assert nspid[-1] == "1"


def test_user_namespace_mappings(open_rootfs):
    mote = open_rootfs
    code, out, err = run_in(mote, "cat /proc/self/uid_map /proc/self/gid_map; id -u",
                            linux={"namespaces": [{"type": t} for t in ("pid", "ipc", "uts", "mount", "user")],
                                   "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
                                   "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}]},
                            mounts=[{"destination": "/proc", "type": "proc", "source": "proc"},
                                    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs"}])
    assert code == 0, err
    assert out.split() == ["0", "100000", "65536", "0", "100000", "65536", "0"]


def test_join_existing_namespace_by_path(native):
    mote = native
    cid = mote.new_id()
    b = mote.bundle(["sleep", "30"], hostname="first")
    with open(mote.tmp / "o", "w") as f:
        assert subprocess.run(mote.argv("run", "-d", "--bundle", b, cid), stdout=f, stderr=f, timeout=TIMEOUT).returncode == 0
    pid = json.loads(mote("state", cid, check=0).stdout)["pid"]
    b2 = mote.bundle(["hostname"], linux={"namespaces": [
        {"type": "mount"}, {"type": "pid"}, {"type": "uts", "path": f"/proc/{pid}/ns/uts"}]})
    c = json.load(open(os.path.join(b2, "config.json")))
    del c["hostname"]  # joined, not set: the other container's name must show
    json.dump(c, open(os.path.join(b2, "config.json"), "w"))
    p = mote("run", "--bundle", b2, mote.new_id(), check=0)
    assert p.stdout.strip() == "first"


def test_config_from_runc_spec_shape_with_terminal_false(mote):
    # mote spec's own output, unmodified but for args/terminal/root, runs.
    code, out, err = run_in(mote, "echo ok")
    assert (code, out) == (0, "ok\n"), err
