#!/usr/bin/env python3
"""Prints every binary's size on every target against targets/<arch>.budget; exits 1 when one is
over budget or missing. Run by `./x size` and by the test suite."""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGETS = {"x86_64": "x86_64-unknown-linux-gnu", "aarch64": "aarch64-unknown-linux-gnu",
           "riscv64": "riscv64gc-unknown-linux-gnu"}


def budgets(arch):
    out = {}
    with open(os.path.join(ROOT, "targets", arch + ".budget")) as f:
        for line in f:
            line = line.split("#")[0].split()
            if len(line) == 2:
                out[line[0]] = int(line[1])
    return out


def main():
    bad = 0
    print(f"{'target':<10} {'binary':<10} {'bytes':>8} {'budget':>8}  status")
    for arch, triple in TARGETS.items():
        for name, limit in budgets(arch).items():
            path = os.path.join(ROOT, "target", triple, "release", name)
            if not os.path.exists(path):
                print(f"{arch:<10} {name:<10} {'-':>8} {limit:>8}  MISSING (./x build)")
                bad += 1
                continue
            size = os.path.getsize(path)
            ok = size <= limit
            bad += not ok
            print(f"{arch:<10} {name:<10} {size:>8} {limit:>8}  {'ok' if ok else 'OVER BUDGET'}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
