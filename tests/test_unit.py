"""The unit tests (tests/unit: json.rs, limits, the linux.resources parser, the eBPF device
program against an interpreter, the resolve walk forced on the host, the number parser, a
bounded-time fuzz of the config parser), run with cargo on the host target as part of ./x test."""
import os
import shutil
import subprocess

import pytest

from conftest import ROOT


def test_cargo_unit_tests():
    cargo = "/usr/bin/cargo" if os.path.exists("/usr/bin/cargo") else shutil.which("cargo")
    if not cargo:
        pytest.fail("cargo is missing: ./x setup installs cargo-web")
    env = dict(os.environ, PATH="/usr/bin:" + os.environ.get("PATH", ""), CARGO_TARGET_DIR=os.path.join(ROOT, "target", "unit"),
               MOTE_FUZZ_SECS=os.environ.get("MOTE_FUZZ_SECS", "5"))
    env.pop("RUSTC_BOOTSTRAP", None)
    # From outside the repository: its .cargo/config.toml (build-std, static-pie) is for the
    # no_std binaries, not for a std test harness.
    p = subprocess.run([cargo, "test", "--offline", "-q", "--manifest-path", os.path.join(ROOT, "tests/unit/Cargo.toml"),
                        "--", "--nocapture"], cwd="/", env=env, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout[-4000:] + p.stderr[-4000:]
    assert "test result: ok" in p.stdout and "fuzz:" in p.stderr, p.stdout + p.stderr
