#!/usr/bin/env python3
"""The memory floor on pure cgroup v2, per arch: the smallest memory.max under which `mote run`
of /bin/true succeeds RUNS/RUNS in each arch's VM (qemu/vm.py's "floor" image: busybox's true on
x86_64 and aarch64, vmcheck's on riscv64, which has no busybox), and what one run charges to its
cgroup (memory.peak, memory.stat of a `run --keep` under memory.max 8M, and of a container
created, then running busybox's sleep).

    tests/bench/vm_floor.py [ARCH...] [--runs N] [--timeout S] [--json FILE]

The guest steps down qemu/vm.py's FLOOR_LIMITS (256K to 16K; 16K steps, 8K below 128K), RUNS
runs each, and stops after two limits in a row with a failed run; once for busybox's `true` and
once for a one-page static `true` (tests/bench/static_true.c, qemu/vm.py FLOOR_PAYLOADS). `./x bench` runs it for the
three arches (one VM at a time) unless --no-vm; under TCG on two shared cores a boot takes
minutes (the time is printed)."""
import argparse
import importlib.util
import json
import os
import re
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_spec = importlib.util.spec_from_file_location("mote_vm", os.path.join(ROOT, "qemu", "vm.py"))
vm = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(vm)


def smallest(limits, runs):
    """The smallest limit with every limit above it RUNS/RUNS too (None when the first failed)."""
    floor = None
    for lim in sorted(limits, reverse=True):
        if limits[lim] != runs:
            break
        floor = lim
    return floor


def parse(text, runs):
    """{"payloads": {payload: {"limits": {limit: ok}, "floor": smallest limit}}, "limits" and "floor"
    (busybox's, as before the static payload), "peak": bytes, "stat": {phase: {key: bytes}}} from a
    floor boot's console. A floor line names its payload's template (qemu/vm.py FLOOR_PAYLOADS);
    one without a name is busybox's."""
    by_tmpl = {t: p for p, t in vm.FLOOR_PAYLOADS.items()}
    pay = {p: {"limits": {}, "floor": None} for p in vm.FLOOR_PAYLOADS}
    for l, k, n, t in re.findall(r"MOTE-VM: floor (\d+) ok (\d+)/(\d+)(?: (\S+))?", text):
        pay[by_tmpl.get(t, "busybox")]["limits"][int(l)] = int(k)
    for p in pay.values():
        p["floor"] = smallest(p["limits"], runs)
    peak = re.search(r"MOTE-VM: file /sys/fs/cgroup/mote/charge/memory.peak = (\d+)", text)
    stats = re.findall(r"MOTE-VM: file /sys/fs/cgroup/mote/(charge|hold)/memory.stat = (.*)", text)
    phase = {}
    for (cg, line), name in zip(stats, ["after the run", "created", "running sleep"]):
        phase[name] = {k: int(v) for k, _, v in (kv.partition(" ") for kv in line.split("|")) if v.strip().isdigit()}
    return {"payloads": pay, "limits": pay["busybox"]["limits"], "floor": pay["busybox"]["floor"],
            "peak": int(peak.group(1)) if peak else None, "stat": phase}


def measure(arch, runs=10, timeout=1200):
    t0 = time.time()
    text, _, code = vm.boot(arch, timeout, "floor", runs, quiet=True)
    r = parse(text, runs)
    r.update(arch=arch, runs=runs, seconds=round(time.time() - t0, 1), clean=code == 0 and "powering off" in text)
    if not all(p["limits"] for p in r["payloads"].values()):
        r["console_tail"] = text[-3000:]
    return r


def kib(b):
    return "—" if b is None else (f"{b // 1024}K" if b % 1024 == 0 else f"{b / 1024:.1f}K")


def markdown(results):
    L = ["## Memory floor on pure cgroup v2 (the VMs)", "",
         "The smallest memory.max under which `mote run` succeeds every time in each arch's VM "
         "(qemu/vm.py's floor image, Linux 6.1 under TCG, one CPU), stepping down from 256K to 16K until two "
         "limits in a row fail, for two payloads: busybox's `true` (riscv64: vmcheck's, a static glibc "
         "program, having no busybox) and a one-page static `true` (tests/bench/static_true.c: exit_group(0), "
         "no libc), which shows what mote itself leaves charged to the container without the payload's exec "
         "cost. memory.peak of one busybox run kept under 8M (it counts the kernel's per-CPU charge batch of "
         "64 pages, so it is coarse). tests/bench/vm_floor.py.", ""]
    L.append("| arch | runs per limit | smallest limit, busybox true | smallest limit, static true | "
             "limits tried, busybox (ok/runs) | limits tried, static | memory.peak, one run | seconds |")
    L.append("|---|---|---|---|---|---|---|---|")
    for r in results:
        pay = r.get("payloads") or {"busybox": {"limits": r["limits"], "floor": r["floor"]}}
        tried = {p: ", ".join(f"{kib(l)} {k}" for l, k in sorted(v["limits"].items(), reverse=True)) or "none (see console)"
                 for p, v in pay.items()}
        st = pay.get("static", {"floor": None, "limits": {}})
        L.append(f"| {r['arch']} | {r['runs']} | {kib(r['floor'])} | {kib(st['floor'])} | {tried['busybox']} | "
                 f"{tried.get('static', '—')} | {kib(r['peak'])} | {r['seconds']} |")
    L += ["", "What the container's cgroup is charged (memory.stat, read after the kernel's 2 s stats flush): "
          "after a kept `run` of /bin/true (the process gone), with the process created and waiting for start "
          "(mote's own charge after the join), and running busybox's sleep (after the exec).", "",
          "| arch | when | " + " | ".join(vm.CHARGE_KEYS) + " |", "|---|---|" + "---|" * len(vm.CHARGE_KEYS)]
    for r in results:
        for when, st in r["stat"].items():
            L.append(f"| {r['arch']} | {when} | " + " | ".join(kib(st.get(k)) for k in vm.CHARGE_KEYS) + " |")
    return "\n".join(L) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("arches", nargs="*", default=list(vm.ARCHES))
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--timeout", type=float, default=1200, help="per boot (qemu is killed past it)")
    ap.add_argument("--json", help="write the results there")
    a = ap.parse_args()
    results = []
    for arch in a.arches:
        r = measure(arch, a.runs, a.timeout)
        print(f"{arch}: smallest limit {kib(r['floor'])} busybox, {kib(r['payloads']['static']['floor'])} static "
              f"({r['runs']}/{r['runs']}), memory.peak {kib(r['peak'])}, "
              f"{r['seconds']} s", file=sys.stderr, flush=True)
        results.append(r)
    print(markdown(results))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0 if all(p["limits"] for r in results for p in r["payloads"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
