"""The unit tests (tests/unit: json.rs, limits, the linux.resources parser, the eBPF device
program against an interpreter, the resolve walk forced on the host, the number parser, the
fuzzer's regression inputs), run with cargo on the host target, and the coverage-guided fuzz of
the config parser (tests/unit/src/bin/fuzz.rs) for a bounded time (MOTE_FUZZ_SECS, default 20),
as part of ./x test."""
import os
import shutil
import subprocess

import pytest

from conftest import ROOT

MANIFEST = os.path.join(ROOT, "tests/unit/Cargo.toml")
# LLVM's SanitizerCoverage through stable flags: an 8-bit counter per edge (see fuzz.rs).
SANCOV = "-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=3 -Cllvm-args=-sanitizer-coverage-inline-8bit-counters"


def cargo_env(target_dir, **extra):
    cargo = "/usr/bin/cargo" if os.path.exists("/usr/bin/cargo") else shutil.which("cargo")
    if not cargo:
        pytest.fail("cargo is missing: ./x setup installs cargo-web")
    env = dict(os.environ, PATH="/usr/bin:" + os.environ.get("PATH", ""), CARGO_TARGET_DIR=os.path.join(ROOT, "target", target_dir))
    env.pop("RUSTC_BOOTSTRAP", None)
    env.pop("RUSTFLAGS", None)
    env.update(extra)
    return cargo, env


def test_cargo_unit_tests():
    cargo, env = cargo_env("unit")
    # From outside the repository: its .cargo/config.toml (build-std, static-pie) is for the
    # no_std binaries, not for a std test harness.
    p = subprocess.run([cargo, "test", "--offline", "-q", "--manifest-path", MANIFEST, "--", "--nocapture"],
                       cwd="/", env=env, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout[-4000:] + p.stderr[-4000:]
    assert "test result: ok" in p.stdout and "regression inputs" in p.stderr, p.stdout + p.stderr


def test_coverage_guided_fuzz_of_the_config_parser(tmp_path):
    # --target: RUSTFLAGS then instrument the harness and the parser, not the build scripts.
    cargo, env = cargo_env("fuzz", RUSTFLAGS=SANCOV)
    p = subprocess.run([cargo, "build", "--offline", "-q", "--profile", "fuzz", "--bin", "fuzz", "--target", "x86_64-unknown-linux-gnu",
                        "--manifest-path", MANIFEST], cwd="/", env=env, capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stderr[-4000:]
    fuzz = os.path.join(ROOT, "target/fuzz/x86_64-unknown-linux-gnu/fuzz/fuzz")
    secs = os.environ.get("MOTE_FUZZ_SECS", "20")
    p = subprocess.run([fuzz, "--secs", secs, "--out", str(tmp_path)], cwd="/", capture_output=True, text=True,
                       timeout=float(secs) + 120)
    crashes = sorted(os.listdir(tmp_path / "crashes"))
    assert p.returncode == 0 and not crashes, (
        "the fuzzer crashed the config parser: fix it, and keep each input in tests/unit/fuzz/crashes "
        "(the unit tests rerun them): %s\n%s" % ([str(tmp_path / "crashes" / c) for c in crashes], p.stderr[-4000:]))
    stats = [l for l in p.stderr.splitlines() if l.startswith("fuzz: ")]
    counters = int(stats[0].split()[1])
    assert counters > 1000, "no coverage counters: the SanitizerCoverage flags did not apply\n" + p.stderr
    done = stats[-1].split()
    execs, edges = int(done[1]), int(done[done.index("edges,") - 1])
    # The seeds alone reach ~1000 edges; the corpus grows from what reaches new ones.
    assert execs > 10000 and edges > 1000 and len(os.listdir(tmp_path / "corpus")) > 10, p.stderr
