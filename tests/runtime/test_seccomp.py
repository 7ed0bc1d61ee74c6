"""linux.seccomp: mote compiles the profile to classic BPF itself.

Two kinds of check. The compiler: a BPF interpreter here runs the program `mote seccomp --raw`
prints (for every ABI of every target, aarch64/riscv64 under qemu-user) on many inputs and compares
with a direct reading of random profiles. The kernel: containers under real profiles, a static
helper (seccomp_probe.c) making one raw syscall inside and printing its errno, status read from
outside."""
import codecs
import fcntl
import json
import select
import socket
import threading
import time
import os
import random
import re
import shutil
import struct
import subprocess

import pytest

from conftest import ROOT, TIMEOUT, cgroup_dirs, run

TABLES = os.path.join(ROOT, "runtime/src/linux/seccomp/tables.rs")
X32_BIT = 0x40000000
M32, M64 = 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF
# Per target: its ABIs in tables.rs order: (SCMP_ARCH name, AUDIT_ARCH value, 64-bit args).
FAMILIES = {
    # x32's arguments: 32-bit, as libseccomp compares them (checked against runc's program below).
    "x86_64": [("X86_64", 0xC000003E, True), ("X86", 0x40000003, False), ("X32", 0xC000003E, False)],
    "aarch64": [("AARCH64", 0xC00000B7, True), ("ARM", 0x40000028, False)],
    "riscv64": [("RISCV64", 0xC00000F3, True)],
}
RET = {"KILL": 0, "KILL_THREAD": 0, "KILL_PROCESS": 0x80000000, "TRAP": 0x30000, "ERRNO": 0x50000,
       "TRACE": 0x7FF00000, "LOG": 0x7FFC0000, "ALLOW": 0x7FFF0000, "NOTIFY": 0x7FC00000}
OPS = ["NE", "LT", "LE", "EQ", "GE", "GT", "MASKED_EQ"]
SIGSYS_EXIT = 128 + 31


def tables():
    """{target: {abi: {name: number}}} decoded from the generated tables.rs."""
    src = open(TABLES).read()
    out = {}
    for arch, abis in FAMILIES.items():
        sec = src.split(f'#[cfg(target_arch = "{arch}")]\npub const NAMES')[1]
        blob = codecs.decode(re.search(r'= b"(.*?)";\n', sec).group(1), "unicode_escape").encode("latin1")
        # 5-bit codes from each byte's low bit up (see gen_tables.py): keep, add, then the rest.
        bits, at = int.from_bytes(blob, "little"), 0

        def code():
            nonlocal at
            at += 5
            return bits >> (at - 5) & 31

        names, prev = [], ""
        count = int(re.search(r"pub const NR: \[\[u16; (\d+)\]", sec).group(1))
        for _ in range(count):
            keep, add = code(), code()
            rest = ""
            for _ in range(add):
                c = code()
                rest += (chr(ord("a") + c) if c < 26 else "_" if c == 26 else str(code()) if c == 31 else "2346"[c - 27])
            prev = prev[:keep] + rest
            names.append(prev)
        rows = [list(map(int, r.split(","))) for r in re.findall(r"^    \[([0-9,]+)\],$", sec.split("pub const NR")[1].split("];\n")[0], re.M)]
        # An ABI after NR's full rows is DELTA's: the first row but for (name index, number) pairs.
        delta = re.search(r"pub const DELTA: \[\(u16, u16\); \d+\] = \[(.*?)\];", sec).group(1)
        if len(rows) < len(abis):
            rows.append(list(rows[0]))
            for i, v in re.findall(r"\((\d+),(\d+)\)", delta):
                rows[-1][int(i)] = int(v)
        out[arch] = {}
        for (abi, _, _), row in zip(abis, rows):
            t = {}
            for n, v in zip(names, row):
                if v == 0xFFFF:
                    continue
                v = 0xF0000 + v - 0xF000 if v >= 0xF000 else v
                t[n] = v | X32_BIT if abi == "X32" else v
            out[arch][abi] = t
    return out


TABLE = tables()
NR = TABLE["x86_64"]["X86_64"]


# ---- a BPF interpreter and a direct reading of a profile ----

def program(mote, profile, tmp_path):
    b = tmp_path / ("p-" + os.urandom(4).hex())
    os.makedirs(b)
    json.dump({"ociVersion": "1.2.0", "process": {"args": ["true"]}, "linux": {"seccomp": profile}}, open(b / "config.json", "w"))
    p = mote("seccomp", "--raw", "--bundle", str(b), text=False)
    assert p.returncode == 0, p.stderr
    return list(struct.iter_unpack("<HBBI", p.stdout))


def bpf(prog, audit, nr, args):
    """Runs a seccomp program as the kernel would; returns (action, instructions run)."""
    data = struct.pack("<IIQ6Q", nr, audit, 0x1000, *args)
    a, pc, n = 0, 0, 0
    while True:
        code, jt, jf, k = prog[pc]
        n += 1
        if code == 0x20:
            assert k % 4 == 0 and k < 64
            a = struct.unpack_from("<I", data, k)[0]
            pc += 1
        elif code == 0x54:
            a &= k
            pc += 1
        elif code == 0x05:
            pc += 1 + k
        elif code in (0x15, 0x25, 0x35, 0x45):  # jeq, jgt, jge, jset (libseccomp's programs use it)
            hit = a == k if code == 0x15 else a > k if code == 0x25 else a >= k if code == 0x35 else a & k != 0
            pc += 1 + (jt if hit else jf)
        elif code == 0x06:
            return k, n
        else:
            raise AssertionError(f"opcode {code:#x} at {pc}")


def action(name, errno):
    v = RET[name.removeprefix("SCMP_ACT_")]
    return v | (1 if errno is None else errno) if v in (RET["ERRNO"], RET["TRACE"]) else v


def expected(target, prof, audit, nr, args):
    """What the profile says for one syscall, read directly (the semantics mote documents)."""
    abis = FAMILIES[target]
    listed = {a.removeprefix("SCMP_ARCH_") for a in prof.get("architectures", [])} | {abis[0][0]}
    abi = None
    for name, aud, wide in abis:
        if aud != audit or name not in listed:
            continue
        if target == "x86_64" and name in ("X86_64", "X32") and (nr & X32_BIT != 0) != (name == "X32"):
            continue
        abi = (name, wide)
        break
    if abi is None:
        return RET["KILL_PROCESS"]
    table = TABLE[target][abi[0]]
    dflt = action(prof["defaultAction"], prof.get("defaultErrnoRet"))
    # Rules with the default action are skipped (by runc and crun; libseccomp refuses them).
    rules = [r for r in prof.get("syscalls", []) if any(table.get(n) == nr for n in r["names"])
             and action(r["action"], r.get("errnoRet")) != dflt]

    def holds(a):
        x, v, v2 = args[a["index"]], a["value"], a.get("valueTwo", 0)
        if not abi[1]:
            x, v, v2 = x & M32, v & M32, v2 & M32
        return {"NE": x != v, "LT": x < v, "LE": x <= v, "EQ": x == v, "GE": x >= v, "GT": x > v,
                "MASKED_EQ": x & v == v2 & v}[a["op"].removeprefix("SCMP_CMP_")]

    # As libseccomp (through runc) decides, checked against runc below: the first rule without
    # arguments decides alone; else the argument rules (one with two comparisons on one argument
    # split into one rule per comparison, as runc does) in libseccomp's tree order.
    # A MASKED_EQ whose mask has no bit in the halves compared is no test: libseccomp leaves it
    # out, and a rule of only such acts as one without arguments.
    def noop(a):
        return a["op"] == "SCMP_CMP_MASKED_EQ" and a["value"] & (M64 if abi[1] else M32) == 0

    def split(r):
        idx = [a["index"] for a in r.get("args", [])]
        return len(set(idx)) < len(idx)

    for r in rules:
        if any(map(noop, r["args"])) if split(r) else all(map(noop, r.get("args", []))):
            return action(r["action"], r.get("errnoRet"))
    units = []
    for r in rules:
        cs = [a for a in sorted(r["args"], key=lambda a: a["index"]) if not noop(a)]
        units += [(r, [a]) for a in cs] if split(r) else [(r, cs)]

    def nodes(chain):
        """libseccomp's 32-bit tree nodes of a chain: (sort key, operator and mask)."""
        out = []
        for a in chain:
            op = a["op"].removeprefix("SCMP_CMP_")
            mask, v = (a["value"], a.get("valueTwo", 0) & a["value"]) if op == "MASKED_EQ" else (M64, a["value"])
            pri = {"LT": 2, "LE": 2, "GE": 1, "GT": 1}.get(op, 3)
            for half in ([1] if abi[1] else []) + [0]:
                m, d = mask >> 32 * half & M32, v >> 32 * half & M32
                if op != "MASKED_EQ" or m:
                    out.append(((2 * a["index"] + half, pri, M32 - d if pri == 2 else d), ("EQ" if op == "NE" else op, m)))
        return out

    def before(a, b):
        for x, y in zip(nodes(a) + [None], nodes(b) + [None]):
            if x is None or y is None:
                return x is None and y is not None  # a prefix first
            if x[0] != y[0]:
                return x[0] > y[0]
            if x[1] != y[1]:
                return False  # tied but not the same node: the profile's order
        return False

    for i in range(1, len(units)):  # the same stable insertion sort as mote's
        j = i
        while j > 0 and before(units[j][1], units[j - 1][1]):
            units[j - 1], units[j] = units[j], units[j - 1]
            j -= 1
    for r, chain in units:
        if all(holds(a) for a in chain):
            return action(r["action"], r.get("errnoRet"))
    return dflt


EDGES = [0, 1, 2, 8, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x100000000, 0x100000001, 0xFFFFFFFF00000000,
         0x7FFFFFFFFFFFFFFF, 0x8000000000000000, M64 - 1, M64]


def value(rng, extra=()):
    pool = EDGES + list(extra)
    v = rng.choice(pool)
    r = rng.random()
    if r < 0.2:
        v = (v + rng.choice([-1, 1])) & M64
    elif r < 0.3:
        v = ((v << 32) | (v >> 32)) & M64  # the halves swapped
    elif r < 0.4:
        v = rng.getrandbits(64)
    return v


def random_profile(rng, target):
    abis = FAMILIES[target]
    names = sorted(set().union(*[TABLE[target][a[0]] for a in abis]))
    pool = rng.sample(names, 12) + ["no_such_syscall"]
    acts = list(RET)

    def act(d):
        name = rng.choice(acts)
        d["action" if "names" in d else "defaultAction"] = "SCMP_ACT_" + name
        if RET[name] in (RET["ERRNO"], RET["TRACE"]) and rng.random() < 0.7:
            d["errnoRet" if "names" in d else "defaultErrnoRet"] = rng.choice([0, 1, 13, 38, 4095])
        return d

    prof = act({})
    if prof["defaultAction"] == "SCMP_ACT_NOTIFY":
        prof["defaultAction"] = "SCMP_ACT_LOG"
    archs = [a[0] for a in abis if rng.random() < 0.6] + (["MIPS"] if rng.random() < 0.2 else [])
    if archs or rng.random() < 0.5:
        prof["architectures"] = ["SCMP_ARCH_" + a for a in archs]
    prof["syscalls"] = []
    for _ in range(rng.randint(1, 25)):
        r = act({"names": rng.sample(pool, rng.randint(1, 4))})
        if rng.random() < 0.6:
            r["args"] = [{"index": rng.randint(0, 5), "op": "SCMP_CMP_" + rng.choice(OPS), "value": value(rng),
                          "valueTwo": value(rng)} for _ in range(rng.randint(1, 3))]
        prof["syscalls"].append(r)
    if any("NOTIFY" in r.get("action", prof["defaultAction"]) for r in prof["syscalls"] + [{}]):
        prof["listenerPath"] = "/nonexistent/listener"
    return prof


def random_inputs(rng, target, prof, n):
    abis = FAMILIES[target]
    nrs, vals = [0, 1, M32, X32_BIT, X32_BIT + 1], []
    for r in prof["syscalls"]:
        for a in abis:
            for nm in r["names"]:
                x = TABLE[target][a[0]].get(nm)
                if x is not None:
                    nrs += [x, x + 1, x - 1 if x else 0]
        vals += [a["value"] for a in r.get("args", [])] + [a.get("valueTwo", 0) for a in r.get("args", [])]
    audits = [a[1] for a in abis] + [0xC00000B7 if target == "x86_64" else 0xC000003E, 0]
    for _ in range(n):
        audit = rng.choice(audits)
        nr = rng.choice(nrs) & M32
        if target == "x86_64" and rng.random() < 0.2:
            nr |= X32_BIT
        yield audit, nr, [value(rng, vals) for _ in range(6)]


def test_compiled_programs_match_a_direct_reading_of_random_profiles(mote, tmp_path):
    rng = random.Random(0x5ECC0 + len(mote.arch))
    for _ in range(25 if mote.arch == "x86_64" else 12):
        prof = random_profile(rng, mote.arch)
        prog = program(mote, prof, tmp_path)
        assert 0 < len(prog) <= 4096 and prog[-1][0] == 0x06
        for audit, nr, args in random_inputs(rng, mote.arch, prof, 400):
            got, _ = bpf(prog, audit, nr, args)
            want = expected(mote.arch, prof, audit, nr, args)
            assert got == want, (f"{got:#x} != {want:#x} for audit {audit:#x} nr {nr:#x} args "
                                 f"{[hex(a) for a in args]}\nprofile {json.dumps(prof)}")


def test_far_jumps_in_a_large_profile(native, tmp_path):
    # Hundreds of argument rules push jump targets past the 255 a conditional jump reaches.
    rng = random.Random(7)
    names = sorted(NR)
    prof = {"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"], "syscalls": []}
    for i, n in enumerate(names[:250]):
        prof["syscalls"].append({"names": [n], "action": rng.choice(["SCMP_ACT_ALLOW", "SCMP_ACT_LOG"]),
                                 "args": [{"index": i % 6, "op": "SCMP_CMP_GT", "value": value(rng)}]})
    prog = program(native, prof, tmp_path)
    assert len(prog) > 1024
    for audit, nr, args in random_inputs(rng, "x86_64", prof, 3000):
        assert bpf(prog, audit, nr, args)[0] == expected("x86_64", prof, audit, nr, args)


# ---- the tables ----

def test_tables_are_what_the_generator_writes():
    p = run(["python3", "runtime/src/linux/seccomp/gen_tables.py"], cwd=ROOT, check=0)
    assert p.stdout == open(TABLES).read(), "tables.rs is stale: rerun gen_tables.py"


def test_tables_spot_checks():
    t = TABLE
    assert (t["x86_64"]["X86_64"]["read"], t["x86_64"]["X86_64"]["mkdir"], t["x86_64"]["X86_64"]["personality"]) == (0, 83, 135)
    assert (t["x86_64"]["X86"]["mkdir"], t["x86_64"]["X86"]["socketcall"]) == (39, 102)
    assert t["x86_64"]["X32"]["read"] == X32_BIT and "mkdir" in t["x86_64"]["X32"]
    assert (t["aarch64"]["AARCH64"]["read"], t["aarch64"]["AARCH64"]["mkdirat"]) == (63, 34)
    assert "mkdir" not in t["aarch64"]["AARCH64"] and t["aarch64"]["ARM"]["mkdir"] == 39
    assert t["aarch64"]["ARM"]["set_tls"] == 0xF0005
    assert t["riscv64"]["RISCV64"]["read"] == 63 and "riscv_flush_icache" in t["riscv64"]["RISCV64"]


# ---- in the kernel ----

@pytest.fixture(scope="module")
def probe_rootfs(rootfs, tmp_path_factory):
    r = tmp_path_factory.mktemp("seccomp") / "rootfs"
    shutil.copytree(rootfs, r, symlinks=True)
    if not shutil.which("gcc"):
        pytest.fail("gcc is missing: ./x setup installs it")
    run(["gcc", "-O2", "-static", "-o", str(r / "bin/seccomp_probe"), os.path.join(ROOT, "tests/runtime/seccomp_probe.c")], check=0)
    return r


@pytest.fixture
def box(native, probe_rootfs):
    native.rootfs = str(probe_rootfs)
    return native


def probe(box, profile, *call, nnp=True, expect=0):
    args = ["seccomp_probe"] + [str(a) for a in call]
    b = box.bundle(args, process={"noNewPrivileges": nnp}, linux={"seccomp": profile})
    p = box("run", "--bundle", b, box.new_id())
    assert p.returncode == expect, (p.returncode, p.stdout, p.stderr)
    if expect:
        return None
    m = re.fullmatch(r"ret=(-?\d+) errno=(\d+)\n", p.stdout)
    assert m, p.stdout
    return int(m.group(1)), int(m.group(2))


def allow_but(*rules, **kw):
    return {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": list(rules), **kw}


def mkdir(box, prof, **kw):
    return probe(box, prof, NR["mkdir"], "s:/dev/seccomp-probe", **kw)


def test_mkdir_denied_with_eperm_and_with_a_custom_errno(box):
    assert mkdir(box, allow_but()) == (0, 0)  # allowed: the helper works
    assert mkdir(box, allow_but({"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"})) == (-1, 1)
    assert mkdir(box, allow_but({"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 122})) == (-1, 122)
    assert mkdir(box, {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 95, "syscalls": [
        {"names": ["execve", "brk", "arch_prctl", "set_tid_address", "set_robust_list", "rseq", "prlimit64",
                   "readlink", "mprotect", "uname", "newfstatat", "fstat", "write", "exit_group", "getrandom",
                   "close_range", "rt_sigaction", "rt_sigprocmask", "fcntl", "mmap", "munmap"],
         "action": "SCMP_ACT_ALLOW"}]}) == (-1, 95)


@pytest.mark.parametrize("act", ["SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP"])
def test_kill_and_trap_end_the_process_with_sigsys(box, act):
    mkdir(box, allow_but({"names": ["mkdir"], "action": act}), expect=SIGSYS_EXIT)


def test_an_argument_rule_allows_and_denies_as_written(box):
    # As libseccomp decides: an ALLOW rule under an ALLOW default is skipped, and a rule without
    # arguments would win over any with, so the allowed values are LOG rules and the denial an
    # always-true comparison, tried after them (GE after EQ and MASKED_EQ) though listed first.
    prof = allow_but(
        {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 33, "args": [{"index": 0, "op": "SCMP_CMP_GE", "value": 0}]},
        {"names": ["personality"], "action": "SCMP_ACT_LOG", "args": [{"index": 0, "op": "SCMP_CMP_EQ", "value": 0xFFFFFFFF}]},
        {"names": ["personality"], "action": "SCMP_ACT_LOG", "args": [{"index": 0, "op": "SCMP_CMP_MASKED_EQ", "value": 0xFFFFFFFF000000FF, "valueTwo": 0}]})
    assert probe(box, prof, NR["personality"], 0xFFFFFFFF) == (0, 0)      # query: allowed
    assert probe(box, prof, NR["personality"], 8) == (-1, 33)             # PER_LINUX32: denied
    assert probe(box, prof, NR["personality"], 0x1FFFFFFFF) == (-1, 33)   # high half differs: denied
    assert probe(box, prof, NR["personality"], 0x20000)[1] == 0           # low byte 0: allowed by the mask


def test_log_allows_and_trace_without_tracer_gives_enosys(box):
    assert mkdir(box, {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_LOG"}]}) == (0, 0)
    assert mkdir(box, allow_but({"names": ["mkdir"], "action": "SCMP_ACT_TRACE"})) == (-1, 38)
    assert mkdir(box, allow_but({"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}, flags=["SECCOMP_FILTER_FLAG_LOG"])) == (-1, 1)


def test_without_no_new_privs_the_filter_goes_on_while_privileged(box):
    prof = allow_but({"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 7})
    assert mkdir(box, prof, nnp=False) == (-1, 7)
    assert probe(box, allow_but(), "0x4c", nnp=False) is not None  # a plain allow-all works too


@pytest.mark.parametrize("nnp", [True, False])
def test_what_mote_does_before_exec_is_not_filtered(box, nnp):
    # runc makes its descriptors close-on-exec before the filter goes on, and so must mote: a
    # profile that kills (or fakes success for) close_range, rt_sigaction or rt_sigprocmask, which
    # the container's program never calls, must neither kill it nor leak mote's descriptors.
    kill = {"names": ["close_range", "rt_sigaction", "rt_sigprocmask"], "action": "SCMP_ACT_KILL_PROCESS"}
    assert mkdir(box, allow_but(kill), nnp=nnp) == (0, 0)
    fake = {"names": ["close_range"], "action": "SCMP_ACT_ERRNO", "errnoRet": 0}
    b = box.bundle(["ls", "/proc/self/fd"], process={"noNewPrivileges": nnp}, linux={"seccomp": allow_but(fake)})
    p = box("run", "--bundle", b, box.new_id())
    assert p.returncode == 0, p.stderr
    assert sorted(p.stdout.split()) == ["0", "1", "2", "3"], p.stdout  # stdio and ls's own


def status_field(pid, field):
    for l in open(f"/proc/{pid}/status"):
        if l.startswith(field + ":"):
            return l.split()[1]


@pytest.mark.parametrize("nnp", [True, False])
def test_seccomp_mode_seen_from_outside(box, nnp):
    prof = allow_but({"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"})
    for with_profile in (False, True):
        b = box.bundle(["sleep", "30"], process={"noNewPrivileges": nnp}, linux={"seccomp": prof} if with_profile else {})
        cid = box.new_id()
        # The container keeps what create's stdout was: not a pipe we would wait on.
        box("create", "--bundle", b, cid, check=0, capture_output=False, stdout=subprocess.DEVNULL)
        pid = json.loads(box("state", cid, check=0).stdout)["pid"]
        if not nnp:  # on before the user switch: already there at "created"
            assert status_field(pid, "Seccomp") == ("2" if with_profile else "0")
        box("start", cid, check=0)
        for _ in range(100):  # the exec after start
            if open(f"/proc/{pid}/comm").read().strip() == "sleep":
                break
            subprocess.run(["sleep", "0.05"])
        assert status_field(pid, "Seccomp") == ("2" if with_profile else "0")
        box("delete", "--force", cid, check=0)


# podman's default capabilities (containers.conf).
PODMAN_CAPS = ("CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_NET_BIND_SERVICE",
               "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID", "CAP_SYS_CHROOT")


def podman_profile(arch="amd64", caps=PODMAN_CAPS):
    """Debian's containers-common default profile (moby's format) as podman hands it to a runtime."""
    path = "/usr/share/containers/seccomp.json"
    if not os.path.exists(path):
        pytest.fail("containers-common's seccomp.json is missing: ./x setup installs golang-github-containers-common")
    src = json.load(open(path))
    native = {"amd64": "SCMP_ARCH_X86_64"}[arch]
    archs = [a for m in src["archMap"] if m["architecture"] == native for a in [native] + m["subArchitectures"]]
    kernel = tuple(int(x) for x in re.findall(r"\d+", os.uname().release)[:2])
    out = {"defaultAction": src["defaultAction"], "defaultErrnoRet": src.get("defaultErrnoRet"), "architectures": archs, "syscalls": []}
    for s in src["syscalls"]:
        inc, exc = s.get("includes") or {}, s.get("excludes") or {}
        if inc.get("arches") and arch not in inc["arches"] or arch in exc.get("arches", []):
            continue
        if not set(inc.get("caps", [])) <= set(caps) or set(exc.get("caps", [])) & set(caps):
            continue
        if inc.get("minKernel") and kernel < tuple(int(x) for x in inc["minKernel"].split(".")[:2]):
            continue
        r = {"names": s["names"], "action": s["action"]}
        for k in ("args", "errnoRet"):
            if s.get(k):
                r[k] = s[k]
        out["syscalls"].append(r)
    return out


def test_podmans_default_profile(box, tmp_path):
    prof = podman_profile()
    prog = program(box, prof, tmp_path)
    read, n_read = bpf(prog, 0xC000003E, NR["read"], [0] * 6)
    assert read == RET["ALLOW"] and n_read <= 16, n_read
    print(f"\npodman default profile: {len(prog)} instructions; read runs {n_read}")
    assert len(prog) < 1024
    b = box.bundle(["sh", "-c", f"echo ok; ls / >/dev/null && echo listed; seccomp_probe {NR['add_key']} s:user s:k 0 0 0; "
                    f"seccomp_probe {NR['socket']} 16 3 9; seccomp_probe {NR['socket']} 1 1 0; grep Seccomp: /proc/self/status"],
                   linux={"seccomp": prof})
    p = box("run", "--bundle", b, box.new_id(), check=0)
    assert p.stdout.splitlines() == ["ok", "listed", "ret=-1 errno=38",  # not in the profile: defaultErrnoRet
                                     "ret=-1 errno=22",  # netlink audit socket: the argument rule's EINVAL
                                     "ret=3 errno=0",  # a unix socket: allowed
                                     "Seccomp:\t2"], p.stdout


def installed_filter(pid):
    """The seccomp program of process `pid`, read back (PTRACE_SECCOMP_GET_FILTER)."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
    libc.ptrace.restype = ctypes.c_long
    assert libc.ptrace(16, pid, None, None) == 0, os.strerror(ctypes.get_errno())  # PTRACE_ATTACH
    try:
        os.waitpid(pid, 0x40000000)  # __WALL
        n = libc.ptrace(0x420C, pid, 0, None)
        assert n > 0, os.strerror(ctypes.get_errno())
        buf = ctypes.create_string_buffer(8 * n)
        assert libc.ptrace(0x420C, pid, 0, buf) == n
        return list(struct.iter_unpack("<HBBI", buf.raw))
    finally:
        libc.ptrace(17, pid, None, None)  # PTRACE_DETACH


def runc_filter(box, prof, tmp_path):
    """The program runc (through libseccomp) installs for `prof`, read back from its container."""
    if not shutil.which("runc"):
        pytest.fail("runc is missing: ./x setup installs it")
    b = box.bundle(["sleep", "30"], linux={"seccomp": prof})
    root, cid = str(tmp_path / "runc-root"), "mote-test-runc-" + os.urandom(5).hex()
    run(["runc", "--root", root, "run", "-d", "--bundle", b, cid], check=0, capture_output=False,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    try:
        pid = json.loads(run(["runc", "--root", root, "state", cid], check=0).stdout)["pid"]
        for _ in range(100):  # runc's init execs sleep once it is started
            if open(f"/proc/{pid}/comm").read().strip() == "sleep":
                break
            time.sleep(0.05)
        return installed_filter(pid)
    finally:
        run(["runc", "--root", root, "delete", "--force", cid])


def test_same_decisions_as_runc_with_libseccomp_on_podmans_profile(box, tmp_path):
    """runc applies the profile through libseccomp: its installed program, read back, must decide
    every syscall of every x86 ABI as mote's does."""
    prof = podman_profile()
    theirs, ours = runc_filter(box, prof, tmp_path), program(box, prof, tmp_path)
    rng, diffs = random.Random(3), []
    for abi, audit, _ in FAMILIES["x86_64"]:
        for name, nr in TABLE["x86_64"][abi].items():
            for args in ([0] * 6, [16, 3, 9, 0, 0, 0], [8] * 6, [M32] * 6, [0x7E020000, 0, 0, 0, 0, 0],
                         [rng.getrandbits(64) for _ in range(6)]):
                if bpf(theirs, audit, nr, args)[0] != bpf(ours, audit, nr, args)[0]:
                    diffs.append((abi, name, args))
    assert not diffs, diffs[:10]
    runs = {n: (bpf(theirs, 0xC000003E, NR[n], [0] * 6)[1], bpf(ours, 0xC000003E, NR[n], [0] * 6)[1]) for n in ("read", "futex", "openat")}
    print(f"\nlibseccomp (runc): {len(theirs)} instructions, mote: {len(ours)}; run (libseccomp, mote): {runs}")
    assert len(ours) < len(theirs)


# Syscalls neither runc's init nor `sleep` makes: rules on them cannot stop the container.
RARE = ["mkdir", "rmdir", "chown", "link", "symlink", "acct", "swapon", "swapoff", "syslog", "uselib", "ustat", "sysfs",
        "mknod", "lchown", "utime", "truncate", "ftruncate", "flock", "msync", "mincore", "shmget", "shmat", "semget",
        "msgget", "msgsnd", "fchown", "getpgid", "setpgid", "getsid", "times", "ptrace", "vhangup"]


def test_same_decisions_as_runc_with_libseccomp_on_random_argument_rules(box, tmp_path):
    """Argument comparisons on every x86 ABI (64-bit halves, x86 and x32's 32-bit arguments, masks
    wider than the value) decided as libseccomp decides them."""
    rng = random.Random(11)
    for _ in range(4):
        prof = {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"], "syscalls": [
            {"names": [n], "action": "SCMP_ACT_ERRNO", "errnoRet": rng.randint(1, 100),
             "args": [{"index": i, "op": "SCMP_CMP_" + rng.choice(OPS), "value": value(rng), "valueTwo": value(rng)}
                      for i in rng.sample(range(6), rng.randint(1, 2))]} for n in rng.sample(RARE, 20)]}
        theirs, ours = runc_filter(box, prof, tmp_path), program(box, prof, tmp_path)
        for audit, nr, args in random_inputs(rng, "x86_64", prof, 3000):
            if audit in (0xC000003E, 0x40000003):  # other architectures: libseccomp kills the thread, mote the process
                assert bpf(theirs, audit, nr, args)[0] == bpf(ours, audit, nr, args)[0], (hex(audit), hex(nr), args, prof)


def mk(act, *args, errno=None):
    r = {"names": ["mkdir"], "action": "SCMP_ACT_" + act}
    if errno:
        r["errnoRet"] = errno
    if args:
        r["args"] = [{"index": i, "op": "SCMP_CMP_" + op, "value": v, "valueTwo": v2} for i, op, v, v2 in args]
    return r


# Several rules on one syscall, as libseccomp 2.5.4 decides them (each case seen in runc's
# program). The default is ALLOW (runc's own init runs under the filter), so LOG stands for a
# rule letting the call through: a rule with the default action is skipped by runc and crun.
SHARED = {
    # 1. A rule without arguments decides alone, listed before or after argument rules.
    "plain first": [mk("ERRNO", errno=5), mk("LOG", (0, "EQ", 1, 0))],
    "plain last": [mk("LOG", (0, "EQ", 1, 0)), mk("ERRNO", errno=5)],
    "first plain of two": [mk("LOG"), mk("ERRNO", errno=5)],
    "a zero mask is no test: a plain rule": [mk("LOG", (1, "EQ", 1, 0)), mk("ERRNO", (0, "MASKED_EQ", 0, 7), errno=5)],
    # 2. Two comparisons on one argument: every comparison of the rule its own rule (ORed).
    "same argument twice": [mk("LOG", (0, "EQ", 1, 0), (0, "EQ", 2, 0))],
    "same argument twice, and another": [mk("ERRNO", (0, "GE", 2, 0), (0, "LE", 1, 0), (1, "EQ", 5, 0), errno=7)],
    # 3. Both match: the higher argument, then EQ/NE/MASKED_EQ over LT/LE over GE/GT, then the
    #    larger value; a prefix before its extensions; whatever the profile's order.
    "arg0 then arg1": [mk("ERRNO", (0, "EQ", 1, 0), errno=5), mk("LOG", (1, "EQ", 1, 0))],
    "arg1 then arg0": [mk("LOG", (1, "EQ", 1, 0)), mk("ERRNO", (0, "EQ", 1, 0), errno=5)],
    "eq then ge": [mk("LOG", (0, "GE", 1, 0)), mk("ERRNO", (0, "EQ", 1, 0), errno=5)],
    "ne of the larger value": [mk("ERRNO", (0, "EQ", 1, 0), errno=5), mk("LOG", (0, "NE", 2, 0))],
    "a prefix": [mk("ERRNO", (0, "EQ", 1, 0), errno=5), mk("LOG", (0, "EQ", 1, 0), (1, "EQ", 1, 0))],
    "a shared prefix": [mk("ERRNO", (0, "EQ", 1, 0), (1, "EQ", 1, 0), errno=5), mk("LOG", (0, "EQ", 1, 0), (2, "EQ", 0, 0))],
    "arg1 over arg0 and arg1": [mk("LOG", (0, "EQ", 1, 0), (1, "EQ", 1, 0)), mk("ERRNO", (1, "EQ", 1, 0), errno=5)],
    "a failed chain goes on": [mk("ERRNO", (0, "EQ", 1, 0), (1, "EQ", 1, 0), errno=5), mk("LOG", (0, "GE", 0, 0))],
    # Rules with the default action are skipped: they hide nothing.
    "default-action rule skipped": [mk("ALLOW", (1, "EQ", 1, 0)), mk("ERRNO", (0, "GE", 0, 0), errno=5)],
}


@pytest.mark.parametrize("case", list(SHARED))
def test_same_decisions_as_runc_with_libseccomp_for_rules_on_one_syscall(box, tmp_path, case):
    prof = {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86"], "syscalls": SHARED[case]}
    theirs, ours = runc_filter(box, prof, tmp_path), program(box, prof, tmp_path)
    rng = random.Random(case)
    vals = [0, 1, 2, 5, 7, 0x100000000, 0x100000001, M64]
    for _ in range(3000):
        audit, abi = rng.choice([(0xC000003E, "X86_64"), (0x40000003, "X86")])
        args = [rng.choice(vals) for _ in range(6)]
        nr = TABLE["x86_64"][abi]["mkdir"]
        want = bpf(theirs, audit, nr, args)[0]
        assert bpf(ours, audit, nr, args)[0] == want, (abi, [hex(a) for a in args], hex(want))
        assert expected("x86_64", prof, audit, nr, args) == want, (abi, [hex(a) for a in args], hex(want))


def overlapping_profile(rng):
    """Several rules per syscall: mixed actions, comparisons on the same and on other arguments,
    in one rule and across rules, shared values (so libseccomp's tree merges nodes), sometimes a
    rule without arguments before or after them."""
    # Values with an empty high half: libseccomp's tree merges the high-half nodes of different
    # rules' comparisons, and where those differ mote's reading and its decisions part (see the
    # compiler); the arguments tried are full 64-bit ones.
    pool = [0, 1, 2, 5, 0x7FFFFFFF, 0xFFFFFFFE, 0xFFFFFFFF]
    acts = [("SCMP_ACT_ERRNO", 1), ("SCMP_ACT_ERRNO", 9), ("SCMP_ACT_ERRNO", 33), ("SCMP_ACT_LOG", None), ("SCMP_ACT_ALLOW", None)]
    rules = []
    for name in rng.sample(RARE, 4):
        ranged = set()  # see below
        for _ in range(rng.randint(2, 5)):
            act, errno = rng.choice(acts)
            r = {"names": [name], "action": act}
            if errno:
                r["errnoRet"] = errno
            if rng.random() < 0.85:
                r["args"] = []
                # One argument per rule (two or three comparisons on it: split as runc does):
                # where a chain goes on to another argument and fails, libseccomp 2.5.4's program
                # can test the next rule on the argument last loaded, not its own (a wrong
                # decision seen here: ERRNO where no rule matched), and mote does not copy that.
                i = rng.randint(0, 2)
                for _ in range(rng.randint(1, 3)):
                    op = rng.choice(OPS)
                    # Not compared here (mote differs from libseccomp there, see the compiler):
                    # two range comparisons on one argument of one syscall.
                    if op in ("LT", "LE", "GT", "GE"):
                        if i in ranged:
                            op = rng.choice(["EQ", "NE", "MASKED_EQ"])
                        ranged.add(i)
                    r["args"].append({"index": i, "op": "SCMP_CMP_" + op, "value": rng.choice(pool), "valueTwo": rng.choice(pool)})
            rules.append(r)
    return {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86"], "syscalls": rules}


def test_same_decisions_as_runc_with_libseccomp_when_rules_share_a_syscall(box, tmp_path):
    """Where several rules name one syscall, libseccomp decides by its own tree, not the
    profile's order: mote must decide as it does (the profiles are written against it)."""
    rng, loaded, refused = random.Random(12), 0, 0
    while loaded < 12:
        prof = overlapping_profile(rng)
        try:
            theirs = runc_filter(box, prof, tmp_path)
        except AssertionError:  # libseccomp refuses some overlaps (EEXIST): nothing to compare
            refused += 1
            assert refused < 40, "runc refuses nearly every overlapping profile: the generator is wrong"
            continue
        loaded += 1
        ours = program(box, prof, tmp_path)
        vals = [0, 1, 2, 3, 4, 5, 6, 0xFFFFFFFF, 0xFFFFFFFE, 0x100000000, 0x100000001, 0x100000002, M64, M64 - 1]
        for n in range(3000):
            audit, abi = 0x40000003, "X86"
            nr = TABLE["x86_64"][abi][rng.choice(prof["syscalls"])["names"][0]]
            args = [rng.choice(vals) if rng.random() < 0.9 else rng.getrandbits(64) for _ in range(6)]
            want, got = bpf(theirs, audit, nr, args)[0], bpf(ours, audit, nr, args)[0]
            assert got == want, (f"{got:#x} != {want:#x} (runc) for {abi} nr {nr} args {[hex(a) for a in args]}\n"
                                 f"rules {[r for r in prof['syscalls'] if TABLE['x86_64'][abi][r['names'][0]] == nr]}")
            assert expected("x86_64", prof, audit, nr, args) == want, "the direct reading differs from runc's program"


# ---- refused profiles ----

@pytest.mark.parametrize("seccomp,field", [
    ({"defaultAction": "SCMP_ACT_SOMETIMES"}, "linux.seccomp.defaultAction: unknown action SCMP_ACT_SOMETIMES"),
    ({"syscalls": []}, "linux.seccomp.defaultAction: missing"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_VAX"]}, "linux.seccomp.architectures[0]: unknown architecture"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_FAST"]}, "linux.seccomp.flags[0]: unknown flag"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "defaultErrnoRet": 5}, "linux.seccomp.defaultErrnoRet: only SCMP_ACT_ERRNO"),
    ({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 5000}, "linux.seccomp.defaultErrnoRet: must be at most 4095"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO",
      "args": [{"index": 6, "op": "SCMP_CMP_EQ", "value": 1}]}]}, "linux.seccomp.syscalls[0].args[0].index: must be 0..5"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO",
      "args": [{"index": 0, "op": "SCMP_CMP_LIKE", "value": 1}]}]}, "linux.seccomp.syscalls[0].args[0].op: unknown operator"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": [], "action": "SCMP_ACT_ERRNO"}]}, "linux.seccomp.syscalls[0].names"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_NOTIFY"}]}, "linux.seccomp.listenerPath"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]},
     "linux.seccomp.flags: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV needs an SCMP_ACT_NOTIFY action"),
    ({"defaultAction": "SCMP_ACT_NOTIFY", "listenerPath": "/x"}, "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "listenerMetadata": "x"}, "linux.seccomp.listenerMetadata: must not be set without listenerPath"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}],
      "listenerPath": "/nonexistent/listener.sock"}, "linux.seccomp.listenerPath) /nonexistent/listener.sock: No such file"),
])
def test_profiles_mote_cannot_apply_exactly_are_refused(box, seccomp, field):
    b = box.bundle(["true"], linux={"seccomp": seccomp})
    cid = box.new_id()
    p = box("run", "--bundle", b, cid)
    assert p.returncode == 1 and field in p.stderr, p.stderr
    assert not os.path.exists(box.root) or os.listdir(box.root) == []
    assert cgroup_dirs(cid) == [], "cgroup left"


def test_a_profile_runs_on_the_host_kernel_and_fails_closed_under_qemu_user(mote):
    # qemu-user has no seccomp(2) to give (and a filter there would see the host's numbers).
    b = mote.bundle(["true"], linux={"seccomp": allow_but({"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"})})
    cid = mote.new_id()
    p = mote("run", "--bundle", b, cid)
    if mote.arch == "x86_64":
        assert p.returncode == 0, p.stderr
    else:
        assert p.returncode == 1 and "seccomp linux.seccomp: filters cannot be installed here" in p.stderr, p.stderr
        assert not os.path.exists(os.path.join(mote.root, cid))


def test_unknown_syscall_names_are_skipped_with_a_warning_only_in_the_log(box, tmp_path):
    prof = allow_but({"names": ["mkdir", "no_such_call", "mkdir_v9", "no_such_call"], "action": "SCMP_ACT_ERRNO", "errnoRet": 7})
    b = box.bundle(["seccomp_probe", str(NR["mkdir"]), "s:/dev/seccomp-probe"], linux={"seccomp": prof})
    log = tmp_path / "mote.log"
    p = box("--log", str(log), "run", "--bundle", b, box.new_id())
    assert (p.returncode, p.stdout, p.stderr) == (0, "ret=-1 errno=7\n", ""), p.stderr  # known names still applied
    lines = [l for l in log.read_text().splitlines() if "skipped" in l]
    # (runc's logrus shape in a text --log file: time="..." level=warning msg="...")
    assert len(lines) == 1 and lines[0].startswith('time="') and lines[0].endswith(
        ' level=warning msg="linux.seccomp: syscall names unknown on this architecture, skipped: no_such_call mkdir_v9"'), lines
    p = box("run", "--bundle", b, box.new_id())  # without --log: nothing on the container's stderr
    assert (p.returncode, p.stderr) == (0, ""), p.stderr


def test_seccomp_dump_is_readable(native, tmp_path):
    b = tmp_path / "b"
    os.makedirs(b)
    json.dump({"ociVersion": "1.2.0", "linux": {"seccomp": allow_but({"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"})}},
              open(b / "config.json", "w"))
    out = native("seccomp", "--bundle", str(b), check=0).stdout.splitlines()
    assert out[0] == "   0: ld arch" and out[-1].endswith(" instructions")
    assert any("ret ERRNO(1)" in l for l in out) and any("ret KILL_PROCESS" in l for l in out)


# ---- SCMP_ACT_NOTIFY ----

def kernel():
    return tuple(int(x) for x in re.findall(r"\d+", os.uname().release)[:2])


NOTIF_RECV, NOTIF_SEND = 0xC0502100, 0xC0182101  # SECCOMP_IOCTL_NOTIF_{RECV,SEND}


class Listener:
    """A seccomp agent on a unix socket: takes one state + descriptor, answers every notified
    syscall with -errno (or never, with errno None), for at most `secs` seconds."""

    def __init__(self, path, errno, secs=20):
        self.srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.srv.bind(path)
        self.srv.listen(1)
        self.srv.settimeout(secs)
        self.errno, self.deadline, self.state, self.nrs = errno, time.monotonic() + secs, None, []
        self.t = threading.Thread(target=self.serve, daemon=True)
        self.t.start()

    def serve(self):
        try:
            conn, _ = self.srv.accept()
            msg, fds, _, _ = socket.recv_fds(conn, 65536, 1)
            conn.close()
            self.state = json.loads(msg)
            fd = fds[0]
            p = select.poll()
            p.register(fd, select.POLLIN)
            while self.errno is not None and time.monotonic() < self.deadline:
                ev = p.poll(200)
                if not ev:
                    continue
                if ev[0][1] & select.POLLHUP:  # every process under the filter is gone
                    break
                buf = bytearray(80)
                fcntl.ioctl(fd, NOTIF_RECV, buf)
                nid, _, _, nr = struct.unpack_from("<QIIi", buf)
                self.nrs.append(nr)
                fcntl.ioctl(fd, NOTIF_SEND, bytearray(struct.pack("<QqiI", nid, 0, -self.errno, 0)))
            os.close(fd)
        except (OSError, ValueError):  # no state: create gave up before sending one
            pass

    def close(self):
        self.srv.close()
        self.t.join(timeout=25)


@pytest.mark.parametrize("nnp", [True, False])
def test_notify_hands_the_descriptor_and_state_to_the_listener(box, tmp_path, nnp):
    path = str(tmp_path / "agent.sock")
    lst = Listener(path, errno=28)
    try:
        prof = allow_but({"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}, listenerPath=path, listenerMetadata="hello agent")
        if not nnp:  # with flags: TSYNC next to a listener needs TSYNC_ESRCH, which mote adds
            prof["flags"] = ["SECCOMP_FILTER_FLAG_TSYNC"] + (["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"] if kernel() >= (5, 19) else [])
        b = box.bundle(["seccomp_probe", str(NR["mkdir"]), "s:/dev/seccomp-probe"], process={"noNewPrivileges": nnp},
                       linux={"seccomp": prof}, annotations={"org.example.k": "v"})
        cid = box.new_id()
        p = box("run", "--bundle", b, cid)
        assert (p.returncode, p.stdout) == (0, "ret=-1 errno=28\n"), p.stderr  # the agent's answer
    finally:
        lst.close()
    st = lst.state
    assert st["fds"] == ["seccompFd"] and st["metadata"] == "hello agent" and st["pid"] > 0
    assert st["state"]["id"] == cid and st["state"]["status"] == "creating" and st["state"]["pid"] == st["pid"]
    assert st["state"]["bundle"] == b and st["state"]["annotations"] == {"org.example.k": "v"}
    assert lst.nrs == [NR["mkdir"]]


def test_notify_with_a_listener_that_never_answers_fails_create_in_time(box, tmp_path):
    # sendto is what the process does right after its filter is on: it stops there for good.
    path = str(tmp_path / "agent.sock")
    lst = Listener(path, errno=None)
    try:
        prof = allow_but({"names": ["sendto", "sendmsg"], "action": "SCMP_ACT_NOTIFY"}, listenerPath=path)
        b = box.bundle(["true"], linux={"seccomp": prof})
        cid = box.new_id()
        p = box("create", "--bundle", b, cid, timeout=25)
        assert p.returncode == 1 and "not ready in time under its seccomp filter" in p.stderr, p.stderr
        assert not os.path.exists(os.path.join(box.root, cid))
    finally:
        lst.close()


@pytest.mark.parametrize("limit", [255 << 10, 160 << 10])
def test_podmans_profile_under_a_tiny_memory_limit(box, limit):
    # The filter is kernel memory charged to the container (installed after the cgroup join).
    with open(box.argv()[0], "rb") as f:
        f.read()
    b = box.bundle(["true"], linux={"seccomp": podman_profile(), "resources": {"memory": {"limit": limit}}})
    codes = [box("run", "--bundle", b, box.new_id()).returncode for _ in range(5)]
    assert codes == [0] * 5, codes
