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
    "1.": ["exec only (busybox true)", "floor (floor.c)", "mote", "crun, via wrapper", "crun wrapper alone (+exec)",
           "crun (net: wrapper subtracted)", "runc"],
    "2.": ["exec only (busybox true)", "floor (floor.c)", "mote", "crun, via wrapper", "crun wrapper alone (+exec)",
           "crun (net: wrapper subtracted)", "runc"],
    "3.": ["mote", "crun, via wrapper", "crun (net: wrapper subtracted)", "runc"],
    "4.": ["floor (floor.c)", "mote", "crun, via wrapper", "runc"],
    "5.": ["mote", "crun", "runc"],
    "6.": ["mote", "crun", "runc", "mote-init", "tini-static", "catatonit"],
}


def tables(md):
    """{section number: [(header cells, [row cells...]), ...]} for every markdown table."""
    out, sec, cur = {}, None, None
    for line in md.splitlines():
        m = re.match(r"^## (\d+\.)", line)
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
                elif sec == "5.":
                    assert r[1] in ("yes", "no"), r
                    assert re.fullmatch(r"\d+[KM]|not applied|none", r[2]), r
                    assert (r[2] == "not applied") == (r[1] == "no"), r
                else:
                    assert re.fullmatch(NUM, r[1]) or r[1] == "not installed", r
                    if r[1] != "not installed":
                        assert re.fullmatch(NUM, r[3]), r
    # mote, crun and runc themselves: real numbers, not dashes
    for header, rows in t["1."]:
        for r in rows:
            assert all(re.match(NUM, c) for c in r[1:6]), r

    res = json.loads((out / "results.json").read_text())
    for k in ("sequential", "hyperfine", "lifecycle", "memory", "sizes", "meta"):
        assert k in res
    assert res["meta"]["residue"] == []
    svg = ET.parse(out / "chart.svg").getroot()
    assert svg.tag.endswith("svg") and len(list(svg.iter("{http://www.w3.org/2000/svg}rect"))) > 10

    # nothing left behind: temp dirs (state dirs, bundles), cgroups, mounts
    assert set(glob.glob("/tmp/mote-bench.*")) == before
    assert cgroups_named("mote-bench-") == []
    with open("/proc/self/mountinfo") as f:
        assert [l for l in f if "mote-bench" in l] == []
