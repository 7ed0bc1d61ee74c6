"""The unit tests (tests/unit: json.rs, limits, the linux.resources parser, the eBPF device
program against an interpreter, the resolve walk forced on the host, the number parser, the
fuzzer's regression inputs), run with cargo on the host target, and the coverage-guided fuzz
(tests/unit/src/bin/fuzz.rs) of the config parser (hooks and their state JSON included) and of
the command-line parser for a bounded time (MOTE_FUZZ_SECS, default 20, and MOTE_FUZZ_CLI_SECS,
default 8), as part of ./x test."""
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


@pytest.fixture(scope="module")
def fuzzer():
    """The fuzz harness, built once with coverage counters."""
    # --target: RUSTFLAGS then instrument the harness and the parsers, not the build scripts.
    cargo, env = cargo_env("fuzz", RUSTFLAGS=SANCOV)
    p = subprocess.run([cargo, "build", "--offline", "-q", "--profile", "fuzz", "--bin", "fuzz", "--target", "x86_64-unknown-linux-gnu",
                        "--manifest-path", MANIFEST], cwd="/", env=env, capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stderr[-4000:]
    return os.path.join(ROOT, "target/fuzz/x86_64-unknown-linux-gnu/fuzz/fuzz")


def run_fuzz(fuzz, out, secs, target, keep):
    """Runs the fuzzer on `target` for `secs`; returns (execs, edges, corpus size)."""
    p = subprocess.run([fuzz, "--secs", secs, "--target", target, "--out", str(out)], cwd="/", capture_output=True, text=True,
                       timeout=float(secs) + 120)
    base = out / "cli" if target == "cli" else out
    crashes = sorted(os.listdir(base / "crashes"))
    assert p.returncode == 0 and not crashes, (
        "the fuzzer crashed the %s parser: fix it, and keep each input in tests/unit/fuzz/%s "
        "(the unit tests rerun them): %s\n%s" % (target, keep, [str(base / "crashes" / c) for c in crashes], p.stderr[-4000:]))
    stats = [l for l in p.stderr.splitlines() if l.startswith("fuzz: ")]
    counters = int(stats[0].split()[1])
    assert counters > 1000, "no coverage counters: the SanitizerCoverage flags did not apply\n" + p.stderr
    done = stats[-1].split()
    return int(done[1]), int(done[done.index("edges,") - 1]), len(os.listdir(base / "corpus")), p.stderr


# ./x test fuzzes for ~28 s in all: the config parser 20 s, the command line 8 s.
def test_coverage_guided_fuzz_of_the_config_parser(fuzzer, tmp_path):
    execs, edges, corpus, err = run_fuzz(fuzzer, tmp_path, os.environ.get("MOTE_FUZZ_SECS", "20"), "config", "crashes")
    # The seeds alone reach ~1000 edges; the corpus grows from what reaches new ones.
    assert execs > 10000 and edges > 1000 and corpus > 10, err


def test_coverage_guided_fuzz_of_the_cli_parser(fuzzer, tmp_path):
    execs, edges, corpus, err = run_fuzz(fuzzer, tmp_path, os.environ.get("MOTE_FUZZ_CLI_SECS", "8"), "cli", "crashes-cli")
    # The seeds reach ~300 edges of cli/mod.rs, error.rs and the value parsers; ~500 in 8 s.
    assert execs > 10000 and edges > 350 and corpus > 10, err
