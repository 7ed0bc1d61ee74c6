#!/usr/bin/env python3
"""Where mote's bytes and stack go, from an unstripped build (see profile-notes.md for the build):
  1. the 40 largest symbols (nm -S),
  2. .text bytes per source file (objdump -l: the line table's file of each instruction, so inlined
     code counts where it was written; needs a build with line tables),
  3. the largest stack frames (x86_64: the prologue's `sub ...,%rsp`, and the probe loop's size
     for frames above a page, which touches every page of the frame on entry).
Usage: anatomy.py UNSTRIPPED_MOTE [WITH_LINE_TABLES_MOTE]"""
import collections, re, subprocess, sys

binary = sys.argv[1]
lines = sys.argv[2] if len(sys.argv) > 2 else None
rows = []
for l in subprocess.run(["nm", "-S", "--size-sort", "-C", binary], capture_output=True, text=True).stdout.splitlines():
    f = l.split(None, 3)
    if len(f) == 4 and f[2] not in "bB":
        rows.append((int(f[1], 16), f[2], re.sub(r"::<.*", "::<..>", f[3])))
text = sum(s for s, t, _ in rows if t in "tTwW")
print(f"## 1. The 40 largest symbols ({len(rows)} sized symbols; functions {text} bytes)\n")
for s, t, n in sorted(rows, reverse=True)[:40]:
    print(f"{s:7d} {t} {n[:110]}")

if lines:
    p = subprocess.Popen(["objdump", "-d", "-l", "--no-show-raw-insn", lines], stdout=subprocess.PIPE, text=True)
    cur, insns = "?", []
    for l in p.stdout:
        m = re.match(r"^((?:/|\./)\S+?):\d+", l)  # absolute, or ./ under trim-paths
        if m:
            cur = m.group(1)
            continue
        m = re.match(r"^\s+([0-9a-f]+):\s", l)
        if m:
            insns.append((int(m.group(1), 16), cur))
    insns.sort()
    by = collections.Counter()
    for (a, f), (b, _) in zip(insns, insns[1:]):
        if b - a < 16:
            f = re.sub(r"^.*/(runtime|sys|init|image)/src/", r"\1/src/", f)
            f = re.sub(r"^.*/(rustix-[^/]+|linux-raw-sys-[^/]+|heapless-[^/]+)/", r"\1/", f)
            f = re.sub(r"^.*/library/", "", f)
            by[f] += b - a
    print(f"\n## 2. .text bytes per source file ({sum(by.values())} bytes attributed)\n")
    for f, v in by.most_common(30):
        print(f"{v:7d}  {f}")
    top = collections.Counter()
    for f, v in by.items():
        parts = f.split("/")
        top["/".join(parts[:3]) if parts[0] in ("runtime", "sys") and len(parts) > 3 else parts[0]] += v
    print("\n   by directory or crate:")
    for f, v in top.most_common(15):
        print(f"{v:7d}  {f}")

dis = subprocess.run(["objdump", "-d", "--no-show-raw-insn", "-C", binary], capture_output=True, text=True).stdout
cur, pend, frames = None, 0, {}
for l in dis.splitlines():
    m = re.match(r"^[0-9a-f]+ <(.*)>:$", l)
    if m:
        cur, pend = re.sub(r"::<.*", "", m.group(1)), 0
        continue
    m = re.search(r"sub\s+\$0x([0-9a-f]+),%r11", l)
    if m and cur:
        pend = int(m.group(1), 16)
        continue
    m = re.search(r"sub\s+\$0x([0-9a-f]+),%rsp", l)
    if m and cur:
        v = int(m.group(1), 16)
        if v == 0x1000 and pend:
            continue
        frames[cur] = max(frames.get(cur, 0), pend + v)
        pend = 0
print("\n## 3. The largest stack frames (bytes; above 4096 every page is touched on entry)\n")
for f, s in sorted(frames.items(), key=lambda x: -x[1])[:16]:
    print(f"{s:8d}  {f[:110]}")
