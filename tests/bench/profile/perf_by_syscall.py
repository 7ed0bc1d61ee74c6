#!/usr/bin/env python3
"""CPU samples of `perf record -e cpu-clock -g` grouped by what the kernel was doing: the syscall
(__x64_sys_*) or page fault found in each sample's kernel call chain; samples with no kernel frame
are user time. Reads `perf script -F comm,ip,sym` output on stdin."""
import collections, re, sys

c, total = collections.Counter(), 0
for block in sys.stdin.read().split("\n\n"):
    lines = [l.strip() for l in block.strip().splitlines()]
    if not lines:
        continue
    total += 1
    frames = [l.split(None, 1)[1] if len(l.split(None, 1)) > 1 else "?" for l in lines[1:]]
    key = "user (mote, busybox)" if not frames or "[unknown]" in frames[0] else "kernel, other: " + frames[0]
    for s in frames:
        m = re.match(r"(__x64_sys_\w+|__do_sys_\w+|\w*exc_page_fault)", s)
        if m:
            k = m.group(1)
            key = "page fault" if "page_fault" in k else "sys_" + re.sub(r"^__(x64|do)_sys_", "", k)
            break
    c[key] += 1
print(f"{total} samples")
for k, v in c.most_common(25):
    print(f"{100 * v / total:5.1f}%  {k}")
