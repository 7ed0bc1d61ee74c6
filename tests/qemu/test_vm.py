"""Boots the qemu/ image (mote-init as PID 1 of a VM, pure cgroup v2) and reads the console
markers: the container under a 250K memory limit and pids.max 1 ran to completion, the OOM one
was reported as 137, the respawning service was restarted with backoff, the machine powered off
cleanly; every linux.resources field mote applies on v2, each cgroup file read back after
create, `update` by flags and by file; the v1-only fields refused by name with nothing left
behind; what one /bin/true run charges to its cgroup. Each boot has a time limit; qemu is killed
if it runs over. The configs and expected file contents are qemu/vm.py's (full_resources,
expected_files, ...): this file checks what the guest printed against them."""
import importlib.util
import os
import re
import subprocess
import sys

import pytest

from conftest import ROOT

VM = os.path.join(ROOT, "qemu", "vm.py")
_spec = importlib.util.spec_from_file_location("mote_vm", VM)
vm = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(vm)


@pytest.fixture(scope="module", params=["x86_64", "aarch64", "riscv64"])
def console(request):
    arch = request.param
    # riscv64 builds its kernel from Debian's linux-source-6.1 the first time (~6 minutes on two
    # cores, cached in ~/.cache/mote/vm/riscv64); the boots themselves take seconds.
    p = subprocess.run([sys.executable, VM, "boot", arch, "--timeout", "300"], capture_output=True,
                       text=True, timeout=1200)
    return arch, p.returncode, p.stdout + p.stderr


def test_container_under_250k_and_pids_1_ran(console):
    arch, code, out = console
    assert "MOTE-VM: small exit 0" in out, out[-3000:]
    m = re.search(r"MOTE-VM: small memory.max (\d+) pids.max (\d+)", out)
    assert m and 240000 <= int(m.group(1)) <= 256000 and m.group(2) == "1", out[-3000:]


def test_pure_cgroup_v2_with_controllers(console):
    _, _, out = console
    line = [l for l in out.splitlines() if "controllers:" in l][0]
    assert {"memory", "pids", "cpu"} <= set(line.split(":")[-1].split())
    assert "mote:" not in out, [l for l in out.splitlines() if "mote:" in l]


def test_oom_reported_as_137(console):
    assert "MOTE-VM: oom exit 137" in console[2]


def test_exec_joins_the_cgroup_under_v2(console):
    arch, _, out = console
    if arch == "riscv64":
        return  # its image has no busybox shell to run the exec check (vmcheck stands in)
    assert "MOTE-VM: exec rc 0 cgroup 0::/mote/ex in 2" in out, out[-3000:]
    # pause/resume on cgroup v2, and `state` reading each back (status from cgroup.freeze)
    assert 'MOTE-VM: pause paused" 1 resume running"' in out, out[-3000:]


def test_cgroup_view_is_the_containers_own(console):
    # With a cgroup namespace (a fresh cgroup2) and without (its directory bound): its limit, its
    # own processes, no other cgroups, read-only (without one, by its options' rro alone).
    arch, _, out = console
    if arch == "riscv64":
        pytest.skip("the riscv64 image has no shell (vmcheck stands in for busybox)")
    for ns in ("ns", "nons"):
        m = re.search(rf"MOTE-VM: view {ns} (\d+) (\d+) (\d+) (\w+)", out)
        assert m, out[-3000:]
        assert int(m.group(1)) == 8 << 20 and 1 <= int(m.group(2)) <= 5 and m.group(3) == "0" and m.group(4) == "ro", m.group(0)


def test_respawn_with_backoff(console):
    out = console[2]
    delays = [int(d) for d in re.findall(r"respawning flaky in (\d+)ms", out)]
    assert len(delays) >= 3 and delays[:3] == [100, 200, 400], delays


def test_oci_service_runs_from_init(console):
    # An `oci` service: a real `mote run` started by mote-init (from the sealed copy of mote it
    # made for its services, init/src/system/supervisor.rs; tests/init/test_system.py shows the
    # copy itself), done before `finish` powers off.
    out = console[2]
    assert "service ocisvc exited 0" in out, out[-3000:]


def test_clean_poweroff(console):
    _, code, out = console
    assert "mote-init: shutdown: poweroff now" in out and "reboot: Power down" in out
    assert code == 0
    assert "MOTE-VM-HOST: timeout" not in out


def test_memory_floor_reported(console):
    # A quick check (5 runs at 256K, 160K, 128K); ./x bench finds the floor (10 runs per limit).
    arch, _, out = console
    ok = [int(l) for l, n in re.findall(r"MOTE-VM: limit (\d+) ok (\d)/5", out) if n == "5"]
    print(f"{arch}: smallest limit with 5/5 under cgroup v2: {min(ok)}")
    assert ok and min(ok) <= 256000


# --- linux.resources on v2: each file read back in the guest ---------------------------------

def phases(out):
    """{phase: {cgroup file name: content}} of the res container: after create, after update by
    flags, after update by file (the guest reads the same files after each)."""
    res, cur = {}, None
    for line in out.splitlines():
        m = re.match(r".*MOTE-VM: rc (create|update-flags|update-file|update-check) ", line)
        if m:
            cur = m.group(1)
            res.setdefault(cur, {})
        m = re.match(r".*MOTE-VM: file /sys/fs/cgroup/mote/res/(\S+) = (.*)$", line)
        if m and cur:
            res[cur][m.group(1)] = m.group(2)
    return res


def rc(out, tag):
    """(exit code, output with lines joined by |) of guest step `tag`."""
    m = re.search(rf"MOTE-VM: rc {re.escape(tag)} (\d+) (.*)", out)
    assert m, f"no step {tag} in the console: " + out[-2000:]
    return int(m.group(1)), m.group(2)


def device(out):
    m = re.search(r"MOTE-VM: dev (\d+):(\d+)", out)
    assert m and m.group(1) != "0", "no null_blk device in the guest (CONFIG_BLK_DEV_NULL_BLK; io needs a block device)"
    return f"{m.group(1)}:{m.group(2)}"


def compare(out, phase, expected):
    got = phases(out).get(phase, {})
    dev = device(out)
    want = {f: v.replace(vm.D, dev) for f, v in expected.items()}
    bad = {f: (got.get(f), v) for f, v in want.items() if got.get(f) != v}
    assert not bad, f"{phase}: file: (read, expected): {bad}"


@pytest.mark.parametrize("phase", ["create", "update-flags", "update-file"])
def test_every_v2_resource_file(console, phase):
    """Every file after create, after `update` by flags and after `update -r FILE` (-1 is "max"
    in every v2 limit; io.max keeps the keys the file did not change)."""
    arch, _, out = console
    code, text = rc(out, phase)
    assert code == 0, text
    want = {"create": vm.expected_files, "update-flags": lambda _: vm.UPDATED_FLAGS, "update-file": vm.updated_file}[phase]
    compare(out, phase, want(arch))


def test_check_before_update_refuses_below_usage(console):
    _, _, out = console
    assert rc(out, "start")[0] == 0
    used = int(phases(out)["update-file"]["memory.current"])  # read after start, before the update
    assert used > 4096, used
    code, text = rc(out, "update-check")
    assert code == 1 and "checkBeforeUpdate" in text, text
    assert phases(out)["update-check"]["memory.max"] == "max"


def test_delete_removes_the_res_cgroup(console):
    _, _, out = console
    assert rc(out, "delete")[0] == 0
    after = out[out.index("MOTE-VM: rc delete"):]
    assert "MOTE-VM: file /sys/fs/cgroup/mote/res/cgroup.procs = (unreadable)" in after


def test_hugepage_sizes_map_to_hugetlb_files(console):
    # The guest kernel's page sizes, in the hugetlb controller's spelling (hugepages-2048kB ->
    # hugetlb.2MB.max): what hugepageLimits' pageSize must name on this arch.
    arch, _, out = console
    m = re.search(r"MOTE-VM: ls /sys/kernel/mm/hugepages =(.*)", out)
    assert m and m.group(1).strip(), "no hugepages in the guest (CONFIG_HUGETLBFS, CONFIG_CGROUP_HUGETLB)"
    names = []
    for d in m.group(1).split():
        kb = int(re.fullmatch(r"hugepages-(\d+)kB", d).group(1))
        names.append(next(f"{kb >> s}{u}" for s, u in ((20, "GB"), (10, "MB"), (0, "KB")) if kb % (1 << s) == 0))
    assert sorted(names, key=vm.page_bytes) == vm.ARCHES[arch]["hugepages"]


def test_hugepage_limit_enforced(console):
    # 2MB pages reserved in the guest's pool (vm.nr_hugepages); a container limited to two
    # touches two; one limited to one cannot even map two: its reservation is limited too
    # (hugetlb.2MB.rsvd.max, Linux 5.7+, as runc sets it), so mmap fails (vmcheck exits 3)
    # instead of a SIGBUS at the second fault.
    _, _, out = console
    assert "MOTE-VM: file /proc/sys/vm/nr_hugepages = 4" in out, "no 2MB pages reserved (CONFIG_HUGETLBFS)"
    code, text = rc(out, "huge-ok")
    assert code == 0 and text.split("|")[-2:] == ["touched 1", "touched 2"], (code, text)
    code, text = rc(out, "huge-over")
    assert code == 3 and "mmap MAP_HUGETLB" in text and "touched" not in text, (code, text)


def test_device_rules_enforced_by_the_ebpf_program(console):
    # linux.resources.devices on pure v2 has no file: mote's eBPF program is checked by opening a
    # 60:0 node made in the container under deny-all (EPERM from the program), then with 60:0
    # allowed for reading (past the program: ENXIO, no driver has that major); /dev/null, one of
    # the default devices, opens in both.
    _, _, out = console
    code, text = rc(out, "devices-deny")
    assert code == 1 and text.split("|") == ["open /dev/null: ok", "open /dev/xdev: Operation not permitted"], text
    code, text = rc(out, "devices-allow")
    lines = text.split("|")
    assert lines == ["open /dev/null: ok", "open /dev/xdev: No such device or address"], text


REFUSED = list(vm.refused("x86_64"))


@pytest.mark.parametrize("tag", REFUSED)
def test_refused_on_v2_names_the_field_and_leaves_nothing(console, tag):
    # v1-only fields (no kernel-defined v2 conversion), bad pageSizes, an rdma device the guest
    # lacks (none in the VM: no HCA, no rdma_rxe without a network device), an io device it lacks.
    arch, _, out = console
    _, words = vm.refused(arch)[tag]
    code, text = rc(out, f"refuse-{tag}")
    assert code == 1 and all(w in text for w in words), (words, text)
    after = out[out.index(f"MOTE-VM: rc refuse-{tag} "):]
    assert f"MOTE-VM: file /sys/fs/cgroup/mote/refuse-{tag}/cgroup.procs = (unreadable)" in after


def test_no_state_left_in_the_guest(console):
    _, _, out = console
    m = re.search(r"MOTE-VM: ls /run/mote =(.*)", out)
    assert m and m.group(1).strip() == "", m and m.group(1)


def test_charge_of_one_run_reported(console):
    # One /bin/true run kept (run --keep) under memory.max 8M: memory.peak and memory.stat of its
    # cgroup are there (unflushed here: the floor image of ./x bench waits for the kernel's stats
    # flush and reports the numbers, tests/bench/vm_floor.py).
    arch, _, out = console
    code, text = rc(out, "keep")
    assert code == 0, text
    peak = re.search(r"MOTE-VM: file /sys/fs/cgroup/mote/charge/memory.peak = (\d+)", out)
    stat = re.search(r"MOTE-VM: file /sys/fs/cgroup/mote/charge/memory.stat = (.*)", out)
    assert peak and stat, out[-2000:]
    st = dict(kv.split(" ", 1) for kv in stat.group(1).split("|"))
    assert int(peak.group(1)) > 0 and {"anon", "file", "kernel_stack", "pagetables"} <= set(st)
    print(f"{arch}: memory.peak {peak.group(1)}; " + ", ".join(f"{k} {st[k]}" for k in vm.CHARGE_KEYS if k in st))
