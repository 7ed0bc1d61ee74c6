#!/usr/bin/env python3
"""What the sealed re-exec (CVE-2019-5736, runtime/src/linux/sealed.rs) costs: MOTE as built against
the same bytes started from a sealed memfd, where mote finds /proc/self/exe sealed and skips its
re-exec. N `run`s x R rounds, interleaved, after one warm-up round; CPU = rusage of the children
(tests/bench/runner.c). Usage: reexec_cost.py RUNNER MOTE BUNDLE N R   (as root)"""
import fcntl, os, shutil, statistics, subprocess, sys, tempfile, uuid

runner, mote, bundle, n, rounds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
fd = os.memfd_create("mote-sealed", os.MFD_ALLOW_SEALING)
with open(mote, "rb") as f:
    os.write(fd, f.read())
fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_SEAL | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE)
bins = {"mote": mote, "sealed (re-exec skipped)": f"/proc/{os.getpid()}/fd/{fd}"}
tmp = tempfile.mkdtemp(prefix="mote-rx.")
res = {k: {"cpu": [], "wall": []} for k in bins}
tag = uuid.uuid4().hex[:6]
for r in range(rounds + 1):
    for k in (list(bins) if r % 2 else list(bins)[::-1]):
        subprocess.run([runner, f"{tmp}/rep", str(n), bins[k], "--root", f"{tmp}/state", "run", "--bundle", bundle,
                        f"rx-{tag}-{r}-{k[:6]}-{{i}}"], check=True, pass_fds=(fd,))
        if r == 0:
            continue
        rows = [list(map(int, l.split())) for l in open(f"{tmp}/rep")]
        res[k]["wall"].append(sum(x[0] for x in rows) / n / 1e6)
        res[k]["cpu"].append(sum(x[1] + x[2] for x in rows) / n / 1e3)
for k, d in res.items():
    print(f"{k:26s} " + "  ".join(f"{m} ms {statistics.median(v):.2f} ({min(v):.2f}-{max(v):.2f})" for m, v in d.items()))
shutil.rmtree(tmp)  # the containers are gone (run deletes them); their state dir and the report
