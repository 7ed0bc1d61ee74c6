"""The foundation: six static binaries that run on their architecture and print their version."""
import json
import re
import os
import subprocess

import pytest

from conftest import ROOT, TARGETS, binary, cmd, run

BINARIES = ["mote", "mote-init", "mote-image"]


@pytest.mark.parametrize("name", BINARIES)
def test_static_pie_no_interpreter_no_needed(arch, name):
    path = binary(arch, name)
    assert os.path.exists(path), f"{path} not built"
    f = subprocess.run(["file", path], capture_output=True, text=True).stdout
    assert "static-pie linked" in f or "statically linked" in f, f
    hdr = subprocess.run(["readelf", "-lWd", path], capture_output=True, text=True).stdout
    assert "INTERP" not in hdr
    assert "NEEDED" not in hdr
    # W^X: no segment both writable and executable; stack not executable.
    for line in hdr.splitlines():
        parts = line.split()
        if parts and parts[0] in ("LOAD", "GNU_STACK"):
            flags = "".join(p for p in parts if set(p) <= set("RWE") and p)
            assert not ("W" in flags and "E" in flags), line


@pytest.mark.parametrize("name", BINARIES)
def test_version(arch, name):
    p = run(cmd(arch, name, "--version"), check=0)
    assert p.stdout.startswith(f"{name} version 0.1.0")


def test_mote_spec_is_runtime_spec_json(arch, tmp_path):
    run(cmd(arch, "mote", "spec", "--bundle", str(tmp_path)), check=0)
    with open(tmp_path / "config.json") as f:
        c = json.load(f)
    assert c["ociVersion"].startswith("1.2")
    for field in ("process", "root", "mounts", "linux"):
        assert field in c
    assert c["process"]["args"] and c["process"]["cwd"] == "/"
    assert c["root"]["path"] == "rootfs"
    assert {n["type"] for n in c["linux"]["namespaces"]} >= {"pid", "mount", "ipc", "uts", "network"}
    # Never overwrites.
    p = run(cmd(arch, "mote", "spec", "--bundle", str(tmp_path)))
    assert p.returncode != 0 and "already exists" in p.stderr


def test_mote_spec_rootless(tmp_path):
    run(cmd("x86_64", "mote", "spec", "--rootless", "--bundle", str(tmp_path)), check=0)
    with open(tmp_path / "config.json") as f:
        c = json.load(f)
    assert any(n["type"] == "user" for n in c["linux"]["namespaces"])
    assert c["linux"]["uidMappings"]


def test_features_parses_and_is_truthful(arch):
    p = run(cmd(arch, "mote", "features"), check=0)
    f = json.loads(p.stdout)
    assert f["ociVersionMax"] == "1.2.0"
    assert "CAP_SYS_ADMIN" in f["linux"]["capabilities"]
    assert set(f["linux"]["namespaces"]) == {"cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"}
    sc = f["linux"]["seccomp"]
    assert sc["enabled"] is True
    assert set(sc["operators"]) == {"SCMP_CMP_" + o for o in ("NE", "LT", "LE", "EQ", "GE", "GT", "MASKED_EQ")}
    assert "SCMP_ACT_NOTIFY" in sc["actions"] and "SCMP_ACT_KILL_PROCESS" in sc["actions"]
    native = {"x86_64": "SCMP_ARCH_X86_64", "aarch64": "SCMP_ARCH_AARCH64", "riscv64": "SCMP_ARCH_RISCV64"}[arch]
    assert native in sc["archs"]
    assert set(sc["supportedFlags"]) <= set(sc["knownFlags"])
    if arch == "x86_64":  # the host kernel, asked directly (qemu-user may not pass seccomp through)
        assert "SECCOMP_FILTER_FLAG_TSYNC" in sc["supportedFlags"]
        kernel = tuple(int(x) for x in re.findall(r"\d+", os.uname().release)[:2])
        assert ("SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV" in sc["supportedFlags"]) == (kernel >= (5, 19))
    # The crun annotations mote acts on (tests/runtime/test_cgroup_view.py).
    assert "run.oci.systemd.force_cgroup_v1" in f["annotations"]["org.opencontainers.runtime-spec.features.mote.annotations"].split(",")


@pytest.mark.parametrize("argv", [["--bogus"], ["frobnicate"], ["state", "--nope", "x"], ["kill"], ["create", "a/../b"]])
def test_bad_flags_and_commands_exit_1_with_message(arch, argv):
    p = run(cmd(arch, "mote", *argv))
    assert p.returncode == 1, (p.returncode, p.stderr)
    assert p.stderr.startswith("mote: ") and len(p.stderr) > 10
    assert "panic" not in p.stderr


def test_help(arch):
    p = run(cmd(arch, "mote", "--help"), check=0)
    assert "create" in p.stdout and "--root" in p.stdout


def test_size_report_within_budget():
    p = run(["python3", os.path.join(ROOT, "tests", "size_report.py")])
    print(p.stdout)
    assert p.returncode == 0, p.stdout
    assert p.stdout.count(" ok") == 9  # mote, mote-init, mote-image on three targets
