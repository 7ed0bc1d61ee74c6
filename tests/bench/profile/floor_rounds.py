#!/usr/bin/env python3
"""Interleaved rounds of `run /bin/true` for the floor study (profile-notes, "What the config costs"):
exec (busybox true), floor.c, floor_full.c, one or more mote binaries, and crun through crun_wrap
(with the wrapper alone, to take its cost off: crun (net) = crun - (wrapper - exec), per round).
Each round runs every row N times through tests/bench/runner.c (CPU = rusage of the children) in a
rotated order; prints per-round CPU ms/run and each row's ratio to floor_full in the same round.

Usage: floor_rounds.py WORKDIR N ROUNDS [NAME=MOTE_BINARY[:STATE_ROOT] ...]
(the state root defaults to WORKDIR/state-NAME; /tmp and /run are ext4 here).
"ff:VAR=VAL;VAR=VAL" is floor_full with those environment variables (FLOOR_CGROUPS, FLOOR_NO_BPF).
A BINARY starting with "+" is run from a sealed memfd copy that this script holds: mote skips its
re-exec there (the bench's mote-sealed), so the pair measures the re-exec.
WORKDIR must hold the bundle (WORKDIR/bundle, cgroupsPath of your own) and the helpers
built by `gcc -O2 -static` (runner, floor, floor_full, crun_wrap). CRUN_ROOT: crun's --root
(default WORKDIR/state-crun)."""
import json, os, shutil, statistics, subprocess, sys, uuid

w, n, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
motes = dict(a.split("=", 1) for a in sys.argv[4:])
fds = []
for k, v in motes.items():
    if v.startswith("+"):
        import fcntl
        binary, _, root = v[1:].partition(":")
        fd = os.memfd_create("mote-sealed", os.MFD_ALLOW_SEALING)
        os.write(fd, open(binary, "rb").read())
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_SEAL | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE)
        fds.append(fd)
        motes[k] = f"/proc/{os.getpid()}/fd/{fd}" + (":" + root if root else "")
bundle, rootfs = os.path.join(w, "bundle"), os.path.join(w, "bundle", "rootfs")
tag = uuid.uuid4().hex[:6]
crun = shutil.which("crun")


envs = {k: dict(kv.split("=", 1) for kv in v[3:].split(";") if kv) for k, v in motes.items() if v.startswith("ff:")}


def argv(name, r):
    if name in envs:
        name = "floor_full"
    if name == "exec":
        return ["/bin/busybox", "true"]
    if name in ("floor", "floor_full"):
        return [os.path.join(w, name), rootfs, "/bin/true"]
    if name == "wrapper":
        return [os.path.join(w, "crun_wrap"), "/bin/busybox", "true"]
    if name == "crun":
        return [os.path.join(w, "crun_wrap"), crun, "--root", os.environ.get("CRUN_ROOT", os.path.join(w, "state-crun")), "run", "--bundle",
                bundle, f"fr-{tag}-crun-{r}-{{i}}"]
    binary, _, root = motes[name].partition(":")
    return [binary, "--root", root or os.path.join(w, "state-" + name), "run", "--bundle", bundle,
            f"fr-{tag}-{name}-{r}-{{i}}"]


def once(name, r, count):
    rep = os.path.join(w, "report")
    p = subprocess.run([os.path.join(w, "runner"), rep, str(count)] + argv(name, r), stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=30 * count, pass_fds=fds,
                       env={**os.environ, **envs.get(name, {})})
    if p.returncode:
        sys.exit(f"{name}: exit {p.returncode}: {p.stderr.decode()[-500:]}")
    runs = [l.split() for l in open(rep) if l.strip()]
    return (sum(int(u) + int(s) for _, u, s, _, _ in runs) / len(runs) / 1e3,
            sum(int(x[0]) for x in runs) / len(runs) / 1e6)


names = ["exec", "floor", "floor_full"] + list(motes) + (["crun", "wrapper"] if crun else [])
for nm in names:
    once(nm, "warm", 3)
cpu = {k: [] for k in names}
wall = {k: [] for k in names}
for r in range(rounds):
    k = r % len(names)
    for nm in names[k:] + names[:k]:
        c, wl = once(nm, r, n)
        cpu[nm].append(c)
        wall[nm].append(wl)
if crun:
    cpu["crun (net)"] = [c - (wr - e) for c, wr, e in zip(cpu["crun"], cpu["wrapper"], cpu["exec"])]
    wall["crun (net)"] = [c - (wr - e) for c, wr, e in zip(wall["crun"], wall["wrapper"], wall["exec"])]
rows = [x for x in cpu if x not in ("crun", "wrapper")]
print(f"{rounds} rounds x {n} runs; load before: {os.getloadavg()}")
print("CPU ms/run per round:")
for x in rows:
    print(f"  {x:12s} " + " ".join(f"{v:6.3f}" for v in cpu[x]) + f"   median {statistics.median(cpu[x]):.3f}"
          f"  wall median {statistics.median(wall[x]):.3f}")
print("÷ floor_full per round:")
for x in rows:
    rs = [a / b for a, b in zip(cpu[x], cpu["floor_full"])]
    print(f"  {x:12s} " + " ".join(f"{v:6.2f}" for v in rs) + f"   median {statistics.median(rs):.2f}")
json.dump({"cpu": cpu, "wall": wall, "n": n, "rounds": rounds}, open(os.path.join(w, f"rounds-{tag}.json"), "w"))
