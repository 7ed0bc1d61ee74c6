"""The benchmark command, run small (N=3, one round, --quick) into a temporary results dir: the
tables are all there and well-formed, the chart is SVG, and nothing is left behind (containers,
state dirs, cgroups, mounts, temp dirs). No timing assertions: the machine is shared."""
import glob
import json
import os
import re
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.join(HERE, "bench.py")
# The whole quick run takes seconds; the margin is for apt-get installing crun, runc, hyperfine
# on a fresh machine.
TIMEOUT = 240

NUM = r"-?\d+(?:\.\d+)?"
CELL = re.compile(rf"^(?:{NUM}(?: \({NUM}\))?|—)$")
ROWS = {
    "1.": ["exec only (busybox true)", "floor (floor.c)", "floor of the whole config (floor_full.c)", "mote", "crun, via wrapper", "crun wrapper alone (+exec)",
           "crun (net: wrapper subtracted)", "runc"],
    "2.": ["exec only (busybox true)", "floor (floor.c)", "mote", "crun, via wrapper", "crun wrapper alone (+exec)",
           "crun (net: wrapper subtracted)", "runc"],
    "3.": ["mote", "crun, via wrapper", "crun (net: wrapper subtracted)", "runc"],
    "4.": ["floor (floor.c)", "mote", "crun, via wrapper", "runc"],
    "5.": ["mote", "crun", "runc"],
    "6.": ["mote", "crun", "runc", "mote-init", "tini-static", "catatonit"],
    "Summary": ["floor (floor.c)", "mote", "crun (net)", "runc"],
    "8.": ["x86_64", "aarch64", "riscv64"],
}
SYSCALL_ROWS = ["exec only (busybox true)", "floor (floor.c)", "floor of the whole config (floor_full.c)", "mote", "crun, via wrapper", "crun wrapper alone (+exec)",
                "crun (net: wrapper subtracted)", "runc"]
GOALS = ["CPU per container ÷ crun (net)", "CPU per container ÷ floor", "syscalls per `run /bin/true`",
         "memory floor (cgroup v1 here; 10/10 runs)", "memory floor, one-page static true (cgroup v1 here)",
         "syscalls per `run /bin/true`, v2 layout (7b)", "mote size, x86_64", "mote size, aarch64", "mote size, riscv64",
         "mote-init size, largest built"]


def tables(md):
    """{section number: [(header cells, [row cells...]), ...]} for every markdown table."""
    out, sec, cur = {}, None, None
    for line in md.splitlines():
        m = re.match(r"^## (\d+[a-z]?\.|Summary|Goals)", line)
        if m:
            sec = m.group(1)
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if cur is None:
                cur = (cells, [])
                out.setdefault(sec, []).append(cur)
            elif not all(re.fullmatch(r"-+", c) for c in cells):
                cur[1].append(cells)
        else:
            cur = None
    return out


def cgroups_named(prefix):
    left = []
    for h in glob.glob("/sys/fs/cgroup/*/"):
        for dirpath, dirnames, _ in os.walk(h):
            left += [os.path.join(dirpath, d) for d in dirnames if d.startswith(prefix)]
            if dirpath.count("/") - h.count("/") >= 3:
                dirnames[:] = []
    return left


def test_bench_quick(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("the benchmark runs containers: root only")
    out = tmp_path / "results"
    before = set(glob.glob("/tmp/mote-bench.*"))
    p = subprocess.Popen([sys.executable, BENCH, "3", "--quick", "--out", str(out)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        stdout, stderr = p.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        p.send_signal(signal.SIGTERM)  # bench.py cleans up on SIGTERM
        try:
            p.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
        pytest.fail(f"bench.py took more than {TIMEOUT} s")
    assert p.returncode == 0, stderr[-3000:]

    md = (out / "results.md").read_text()
    assert md.strip() in stdout
    assert re.search(r"\d+ CPUs \(.+\); Linux \S+", md), "machine in the header"
    t = tables(md)
    for sec, labels in ROWS.items():
        assert sec in t, f"section {sec} has no table"
        for header, rows in t[sec]:
            assert [r[0] for r in rows] == labels, (sec, [r[0] for r in rows])
            for r in rows:
                assert len(r) == len(header), (sec, r)
                if sec in ("1.", "2.", "3.", "4."):
                    for c in r[1:]:
                        assert CELL.match(c), (sec, r[0], c)
                elif sec == "5.":  # busybox true, then the static true
                    assert r[1] in ("yes", "no"), r
                    assert re.fullmatch(r"\d+[KM]|not applied|none", r[2]), r
                    assert re.fullmatch(r"\d+[KM]|not applied|none", r[4]), r
                    assert (r[2] == "not applied") == (r[1] == "no") == (r[4] == "not applied"), r
                    if r[1] == "yes":
                        assert re.fullmatch(r"none down to 4M|(\d+[KM]: \d+/1(, )?)+", r[3]), r
                        assert r[7] in ("v1", "v2") and re.fullmatch(r"\d+ / \d+", r[8]), r
                elif sec == "Summary":
                    assert all(re.fullmatch(NUM, c) for c in r[1:5]), r
                    assert re.fullmatch(rf"{NUM}|—", r[5]), r
                    assert re.fullmatch(r"(\d+[KM]|none) / (\d+[KM]|none)|not applied|—", r[6]), r
                elif sec == "8.":
                    assert all(re.fullmatch(r"\d{1,3}(?: \d{3})*|not built", c) for c in r[1:4]), r
                    assert re.fullmatch(r"≤ \d+ KiB", r[4]) and re.fullmatch(r"≤ \d+ KiB", r[5]), r
                else:
                    assert re.fullmatch(NUM, r[1]) or r[1] == "not installed", r
                    if r[1] != "not installed":
                        assert re.fullmatch(NUM, r[3]), r
    # mote, crun and runc themselves: real numbers, not dashes
    for header, rows in t["1."]:
        for r in rows:
            assert all(re.match(NUM, c) for c in r[1:6]), r

    # syscalls: totals per runtime, then one row per syscall with a total that adds up
    (head, rows), (khead, krows) = t["7."]
    assert [r[0] for r in rows] == SYSCALL_ROWS, rows
    totals = {r[0]: int(r[1]) for r in rows}
    assert all(re.fullmatch(r"\d+", c) for r in rows for c in r[1:4]), rows
    assert totals["mote"] > totals["floor (floor.c)"] > 10 and totals["runc"] > totals["floor (floor.c)"], totals
    assert totals["floor of the whole config (floor_full.c)"] > totals["floor (floor.c)"], totals
    assert khead == ["syscall", "floor", "mote", "crun (net)"], khead
    assert krows[-1][0] == "total" and len(krows) > 10, krows
    call = re.compile(r"^(\d+)(?: \((\d+)\))?$|^—$")
    for col, label in ((1, "floor (floor.c)"), (2, "mote"), (3, "crun (net: wrapper subtracted)")):
        cells = [call.match(r[col]) for r in krows]
        assert all(cells), [r[col] for r in krows]
        assert sum(int(m.group(1) or 0) for m in cells[:-1]) == int(cells[-1].group(1)) == totals[label], label
    assert "execve" in [r[0] for r in krows] and "pivot_root" in [r[0] for r in krows]
    # the same on the v2 layout (7b): mote's column there adds up too, part 7's totals beside it
    (vhead, vrows), = t["7b."]
    assert vhead[:3] == ["syscall", "mote, v1 hybrid", "mote, v2 layout"], vhead
    assert vrows[-1][0] == "total", vrows
    cells = [call.match(r[2]) for r in vrows]
    assert all(cells), [r[2] for r in vrows]
    assert sum(int(m.group(1) or 0) for m in cells[:-1]) == int(cells[-1].group(1)) > 10, vrows[-1]
    assert int(call.match(vrows[-1][1]).group(1)) == totals["mote"], vrows[-1]
    assert "pivot_root" in [r[0] for r in vrows]
    assert "a private mount namespace" in md and "State on tmpfs" in md
    assert re.search(rf"CPU {NUM} \({NUM}\) ms on the v1 hybrid, {NUM} \({NUM}\) ms on the v2 layout", md), "7b's CPU"
    # sizes per arch: x86_64 is built by ./x bench itself
    assert re.fullmatch(r"\d[\d ]*", t["8."][0][1][0][1]), t["8."]
    # the goals: named, with a target and a measured value
    (ghead, grows), = t["Goals"]
    assert [r[0] for r in grows] == GOALS, grows
    assert all(r[1].startswith("≤ ") and r[2] and r[3] in ("yes", "no", "—") for r in grows), grows
    # the README's table is the summary, as in the README
    readme = open(os.path.join(HERE, "..", "..", "README.md")).read()
    assert "| " + " | ".join(t["Summary"][0][0]) + " |" in readme, "README's benchmark table has the summary's columns"

    res = json.loads((out / "results.json").read_text())
    for k in ("sequential", "hyperfine", "lifecycle", "memory", "sizes", "syscalls", "arch_sizes", "meta"):
        assert k in res
    assert res["meta"]["residue"] == []
    assert res["meta"]["state_tmpfs"].startswith("tmpfs "), res["meta"]
    assert res["syscalls_v2"]["controllers"] is not None and "mote" in res["syscalls_v2"], res["syscalls_v2"]
    assert set(res["memory"]["mote"]["payloads"]) == {"busybox", "static"}
    svg = ET.parse(out / "chart.svg").getroot()
    assert svg.tag.endswith("svg") and len(list(svg.iter("{http://www.w3.org/2000/svg}rect"))) > 10

    # nothing left behind: temp dirs (state dirs, bundles), cgroups, mounts
    assert set(glob.glob("/tmp/mote-bench.*")) == before
    assert cgroups_named("mote-bench-") == []
    with open("/proc/self/mountinfo") as f:
        assert [l for l in f if "mote-bench" in l] == []


def test_vm_floor_report_from_a_console():
    # The VM part of ./x bench (tests/bench/vm_floor.py) reads the floor image's console; the
    # boots themselves are tests/qemu/test_vm.py's. Here: the smallest limit is the last one of
    # the unbroken run of RUNS/RUNS from the top, per payload (a floor line names its template;
    # one without is busybox's), the charge table has one row per phase.
    sys.path.insert(0, HERE)
    import vm_floor
    con = "\n".join([
        "MOTE-VM: floor 262144 ok 10/10", "MOTE-VM: floor 131072 ok 10/10 /bundles/floor.json",
        "MOTE-VM: floor 114688 ok 9/10", "MOTE-VM: floor 106496 ok 10/10", "MOTE-VM: floor 98304 ok 0/10",
        "MOTE-VM: floor 65536 ok 10/10 /bundles/floor-static.json",
        "MOTE-VM: floor 57344 ok 10/10 /bundles/floor-static.json",
        "MOTE-VM: floor 49152 ok 3/10 /bundles/floor-static.json",
        "MOTE-VM: file /sys/fs/cgroup/mote/charge/memory.peak = 262144",
        "MOTE-VM: file /sys/fs/cgroup/mote/charge/memory.stat = anon 0|file 0|kernel 0|pgfault 22",
        "MOTE-VM: file /sys/fs/cgroup/mote/hold/memory.stat = anon 0|kernel 4096|slab_unreclaimable 4320",
        "MOTE-VM: file /sys/fs/cgroup/mote/hold/memory.stat = anon 57344|kernel 45056|pagetables 20480"])
    r = vm_floor.parse(con, 10)
    assert r["floor"] == 131072 and r["peak"] == 262144
    assert r["payloads"]["busybox"]["floor"] == 131072 and r["payloads"]["static"]["floor"] == 57344
    assert r["payloads"]["static"]["limits"] == {65536: 10, 57344: 10, 49152: 3}
    assert list(r["stat"]) == ["after the run", "created", "running sleep"]
    assert r["stat"]["running sleep"]["anon"] == 57344
    r.update(arch="x86_64", runs=10, seconds=1.0)
    md = vm_floor.markdown([r])
    assert ("| x86_64 | 10 | 128K | 56K | 256K 10, 128K 10, 112K 9, 104K 10, 96K 0 | 64K 10, 56K 10, 48K 3 | "
            "256K | 1.0 |") in md, md
    assert "| x86_64 | running sleep | 56K | — | 44K | — | 20K |" in md, md


def test_bench_interrupted_leaves_nothing(tmp_path):
    # SIGTERM in the middle of a run (containers being made): the state tmpfs the bench mounts over
    # its temp dir is unmounted and removed, and no container, cgroup or temp dir is left.
    if os.geteuid() != 0:
        pytest.skip("the benchmark runs containers: root only")
    before = set(glob.glob("/tmp/mote-bench.*"))
    p = subprocess.Popen([sys.executable, BENCH, "3", "--quick", "--out", str(tmp_path / "results")],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        mounted = None
        for _ in range(600):  # up to 60 s for the mount (a fresh machine installs packages first)
            with open("/proc/self/mountinfo") as f:
                mounted = [l for l in f if "/tmp/mote-bench." in l and " - tmpfs " in l]
            if mounted or p.poll() is not None:
                break
            time.sleep(0.1)
        assert mounted, "the bench mounted no tmpfs over its temp dir"
        time.sleep(1.5)  # into the sequential runs
        p.send_signal(signal.SIGTERM)
        _, stderr = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
    assert p.returncode in (143, 0), stderr[-3000:]
    assert "RESIDUE" not in stderr, stderr[-3000:]
    with open("/proc/self/mountinfo") as f:
        assert [l for l in f if "mote-bench" in l] == []
    assert set(glob.glob("/tmp/mote-bench.*")) == before
    assert cgroups_named("mote-bench-") == []
