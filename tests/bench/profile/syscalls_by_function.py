#!/usr/bin/env python3
"""Which function of mote makes each syscall: reads an `strace -f -k` trace of an unstripped mote
and maps the innermost frame of each call to a symbol of that binary (nm). Frames after the sealed
re-exec name /memfd:mote but keep the binary's offsets, so they map the same way. mote has no
unwind tables, so strace sees one frame: a wrapper that was not inlined shows as itself.
Usage: syscalls_by_function.py UNSTRIPPED_MOTE TRACE"""
import bisect, collections, re, subprocess, sys

binary, trace = sys.argv[1], sys.argv[2]
syms = []
for l in subprocess.run(["nm", "-C", "--defined-only", binary], capture_output=True, text=True).stdout.splitlines():
    a, t, n = l.split(" ", 2)
    if t in "tTwW":
        syms.append((int(a, 16), re.sub(r"::<.*", "", n)))
syms.sort()
addrs = [a for a, _ in syms]
by, cur = collections.Counter(), None
for line in open(trace):
    m = re.match(r"^\d+\s+(\w+)\(", line)
    if m:
        cur = m.group(1)
        continue
    m = re.match(r"^ > (.*?)\(.*\) \[0x([0-9a-f]+)\]", line)
    if m and cur:
        where = m.group(1)
        if "mote" in where:
            i = bisect.bisect_right(addrs, int(m.group(2), 16)) - 1
            where = syms[i][1] if i >= 0 else "?"
        by[(where, cur)] += 1
        cur = None
tot = collections.Counter()
for (f, _), n in by.items():
    tot[f] += n
print(f"{sum(tot.values())} syscalls")
for f, n in tot.most_common(40):
    kinds = ", ".join(f"{c} {k}" for (g, c), k in sorted(by.items(), key=lambda y: -y[1]) if g == f)
    print(f"{n:5d}  {f}: {kinds}")
