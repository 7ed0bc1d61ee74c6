"""`./x setup` installs everything the build, the demo, the VM images and the tests use.

A fresh Debian 12 machine has only what its image has, and setup installs with
--no-install-recommends: a package that is only a Recommends of something in setup's list (the cross
libc headers of gcc-riscv64-linux-gnu were one) is missing there, while a machine that installed it
by hand earlier stays green. So this test runs last (tests/conftest.py) and checks every program
that the whole run started (recorded by tests/guard/execlog.py in every Python process), the
programs the build and the shell scripts start, every header the C files we compile include and
every Python module the tests import: each must come from a Debian package that setup lists by
name, that one of those hard-depends on, or that every Debian system has (Priority: required)."""
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile

from conftest import ROOT

PATH = "/usr/bin:/usr/sbin:/sbin:/bin:" + os.environ.get("PATH", "")

# What `make` of the riscv64 kernel (qemu/vm.py riscv_kernel) runs besides the cross compiler,
# read off `strace -f -e execve` of a build from scratch (its optional probes, git and rustc, left
# out). make's children are not Python processes, so the exec log cannot see them.
KERNEL_BUILD = ["make", "gcc", "as", "ld", "flex", "bison", "m4", "bc", "tar", "xz", "sh", "bash", "awk",
                "sed", "grep", "cat", "cmp", "cp", "cut", "date", "dirname", "basename", "env", "expr",
                "find", "getconf", "head", "mkdir", "mktemp", "mv", "readlink", "rm", "sha1sum", "sort",
                "touch", "uname", "uniq", "wc", "whoami", "xargs"] + [
    "riscv64-linux-gnu-" + t for t in ("gcc", "as", "ld", "ar", "nm", "objcopy", "objdump", "strip")]
# What `x` runs itself (the build: cargo -> rustc -> the linkers in .cargo/config.toml).
X_SCRIPT = ["cargo", "rustc", "llvm-objcopy-14", "dpkg-query", "apt-get", "python3", "cp", "ln", "mkdir", "rm", "sed"]
# C sources and the compiler that builds each (qemu/vm.py, tests/bench/bench.py).
C_SOURCES = {"qemu/vmcheck.c": "riscv64-linux-gnu-gcc", "tests/bench/floor.c": "gcc",
             "tests/bench/crun_wrap.c": "gcc", "tests/bench/runner.c": "gcc", "tests/runtime/seccomp_probe.c": "gcc"}


def setup_packages():
    """The package names in `x`'s setup list."""
    text = open(os.path.join(ROOT, "x")).read()
    m = re.search(r'local pkgs="([^"]*)"', text)
    assert m, "x: no `local pkgs=\"...\"` list in setup()"
    return set(m.group(1).split())


def hard_closure(pkgs):
    """pkgs and everything they Depend or Pre-Depend on, recursively, leaving out alternatives
    (`a | b`: apt may pick either, so neither is certain)."""
    out = subprocess.run(["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests",
                          "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances"] + sorted(pkgs),
                         capture_output=True, text=True, check=True).stdout
    have = set(pkgs)
    for line in out.splitlines():
        m = re.match(r"^  (?:Pre)?Depends: ([^<\s]\S*)$", line)
        if m:
            have.add(m.group(1).split(":")[0])
        elif re.match(r"^\S", line):
            have.add(line.strip().split(":")[0])
    return have


def required_packages():
    out = subprocess.run(["dpkg-query", "-W", "-f=${Package} ${Priority} ${Essential}\n"],
                         capture_output=True, text=True, check=True).stdout
    return {l.split()[0] for l in out.splitlines() if " required" in l or l.endswith(" yes")}


def owners(paths):
    """{path: Debian package or None} (one dpkg -S for all, /usr-merged paths tried both ways)."""
    cands = {}
    for p in paths:
        c = {p, os.path.realpath(p)}
        for x in list(c):
            c.add(x[4:] if x.startswith("/usr/") else "/usr" + x)
        cands[p] = c
    found = {}
    every = sorted(set().union(*cands.values())) if cands else []
    out = subprocess.run(["dpkg", "-S"] + every, capture_output=True, text=True).stdout if every else ""
    for line in out.splitlines():
        name, _, f = line.partition(": ")
        if not name.startswith("diversion by"):
            found.setdefault(f.strip(), name.split(",")[0].split(":")[0].strip())
    return {p: next((found[c] for c in sorted(cands[p]) if c in found), None) for p in paths}


def ours(path):
    """Built or made by the project or the run (target/, temp dirs): not an install step."""
    real = os.path.realpath(path)
    return real.startswith((ROOT + os.sep, os.path.realpath(tempfile.gettempdir()) + os.sep,
                            os.path.expanduser("~/.cache/mote")))


def programs_used():
    names = set(KERNEL_BUILD) | set(X_SCRIPT)
    names |= set(re.findall(r'linker = "([^"]+)"', open(os.path.join(ROOT, ".cargo", "config.toml")).read()))
    names |= set(C_SOURCES.values())
    for runner in ("qemu/run-aarch64", "qemu/run-riscv64"):
        names |= set(re.findall(r"^exec (\S+)", open(os.path.join(ROOT, runner)).read(), re.M))
    log = os.environ.get("MOTE_EXEC_LOG")
    if log and os.path.exists(log):
        names |= {l.strip() for l in open(log) if l.strip()}
    paths = {}
    for n in names:
        p = n if os.path.isabs(n) else shutil.which(n, path=PATH)
        paths[n] = p
    return paths


def headers_used():
    out = set()
    for src, cc in C_SOURCES.items():
        p = subprocess.run([cc, "-M", os.path.join(ROOT, src)], capture_output=True, text=True)
        assert p.returncode == 0, f"{cc} -M {src}: the compiler or a header is missing:\n{p.stderr}"
        for w in p.stdout.replace("\\\n", " ").split()[1:]:
            if w.startswith("/") and not w.startswith(ROOT):
                out.add(os.path.normpath(w))
    return out


def modules_used():
    stdlib = {os.path.realpath(sysconfig.get_paths()[k]) for k in ("stdlib", "platstdlib")}
    out = set()
    for name, m in list(sys.modules.items()):
        # setuptools' start-up hook (a .pth file) loads itself where setuptools happens to be
        # installed; nothing of ours imports it.
        if name.split(".")[0] == "_distutils_hack":
            continue
        f = getattr(m, "__file__", None)
        if not f or ours(f):
            continue
        rf = os.path.realpath(f)
        if any(rf.startswith(s + os.sep) and "-packages" not in rf for s in stdlib):
            continue
        out.add(f)
    return out


def missing(used, allowed):
    """The (what, package) pairs whose package setup does not bring; package None: no Debian
    package provides it at all."""
    return sorted((what, pkg) for what, pkg in used.items() if pkg is None or pkg not in allowed)


def test_missing_reports_what_setup_lacks():
    # The check itself can fail: a package outside the list, and a file no package owns.
    used = {"/usr/bin/hello": "hello", "/usr/local/bin/thing": None, "/usr/bin/gcc": "gcc"}
    assert missing(used, {"gcc"}) == [("/usr/bin/hello", "hello"), ("/usr/local/bin/thing", None)]


def test_hard_closure_leaves_out_recommends():
    # gcc-riscv64-linux-gnu only recommends the riscv64 libc headers: the bug this test guards.
    c = hard_closure({"gcc-riscv64-linux-gnu"})
    assert "cpp-riscv64-linux-gnu" in c or "gcc-12-riscv64-linux-gnu" in c
    assert "libc6-dev-riscv64-cross" not in c


def test_setup_installs_everything_the_suite_uses():
    allowed = hard_closure(setup_packages()) | required_packages()
    progs = programs_used()
    unknown = sorted(n for n, p in progs.items() if p is None)
    assert not unknown, f"programs the build or the tests run that are not on this machine: {unknown}"
    used = {}
    for n, p in progs.items():
        if not ours(p):
            used[f"program {n} ({p})"] = p
    used.update({f"header {h}": h for h in headers_used()})
    used.update({f"python module {m}": m for m in modules_used()})
    pkg_of = owners(set(used.values()))
    bad = missing({what: pkg_of[p] for what, p in used.items()}, allowed)
    by_pkg = {}
    for what, pkg in bad:
        by_pkg.setdefault(pkg or "not from any Debian package", []).append(what)
    assert not by_pkg, "`./x setup` does not install (add the package to the list in x):\n" + "\n".join(
        f"  {pkg}: {', '.join(whats[:3])}{' ...' if len(whats) > 3 else ''}" for pkg, whats in sorted(by_pkg.items()))
