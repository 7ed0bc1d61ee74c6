"""Shared fixtures for mote's black-box tests: where the built binaries are, how to run them on
each architecture (natively or under qemu-user), and a timeout on everything.

Tests drive the release binaries that `./x build` produced; nothing here mocks the kernel."""
import os
import shutil
import subprocess
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGETS = {
    "x86_64": "x86_64-unknown-linux-gnu",
    "aarch64": "aarch64-unknown-linux-gnu",
    "riscv64": "riscv64gc-unknown-linux-gnu",
}
RUNNERS = {"x86_64": [], "aarch64": [os.path.join(ROOT, "qemu/run-aarch64")],
           "riscv64": [os.path.join(ROOT, "qemu/run-riscv64")]}
# Every subprocess a test starts ends within this many seconds, or the test fails.
TIMEOUT = 30


def binary(arch, name):
    return os.path.join(ROOT, "target", TARGETS[arch], "release", name)


def cmd(arch, name, *args):
    """The argv that runs binary `name` of `arch` with `args`."""
    return RUNNERS[arch] + [binary(arch, name)] + list(args)


def run(argv, timeout=TIMEOUT, check=None, **kw):
    """Runs argv with a timeout; returns the CompletedProcess (text mode)."""
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    p = subprocess.run(argv, timeout=timeout, **kw)
    if check is not None:
        assert p.returncode == check, f"{argv} exited {p.returncode}\nstdout:{p.stdout}\nstderr:{p.stderr}"
    return p


@pytest.fixture(params=list(TARGETS))
def arch(request):
    if request.param != "x86_64" and not shutil.which("qemu-%s-static" % request.param):
        pytest.fail("qemu-user-static is missing: ./x setup installs it")
    return request.param
