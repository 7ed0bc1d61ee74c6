"""An image on a board: mote-init's `oci` service names it (`image=FILE bundle=DIR`: mote-init
runs `mote-image bundle --reuse` before `mote run`), or a `wait` service runs mote-image before
the `oci` one. The bundle is made at the first boot, kept while the image is the same, and
replaced when it changes. mote-init runs as PID 1 of a new PID + mount namespace; a stand-in
`mote` shows what the oci service got."""
import os
import signal
import subprocess
import time

import pytest

from conftest import TIMEOUT, binary, cmd
from imagelib import Tar, single


def boot(tmp_path, image, bundle, how):
    bindir = tmp_path / "bin"
    if not bindir.exists():
        bindir.mkdir()
        os.symlink(binary("x86_64", "mote-image"), bindir / "mote-image")
        (bindir / "mote").write_text('#!/bin/sh\n[ "$1 $2" = "run --bundle" ] || exit 9\n'
                                     'echo "oci saw: $(cat "$3/rootfs/version") $(ls "$3/rootfs" | tr "\\n" " ")"\n')
        (bindir / "mote").chmod(0o755)
    conf = tmp_path / "conf"
    if how == "key":
        conf.write_text(f"oci web image={image} bundle={bundle}\n")
    else:
        conf.write_text(f"wait unpack -- mote-image bundle --reuse {image} {bundle}\n"
                        f"oci web bundle={bundle}\n")
    console = tmp_path / "console"
    init = " ".join(cmd("x86_64", "mote-init", "--system", "--config", str(conf)))
    with open(console, "w") as out:
        p = subprocess.Popen(["unshare", "--pid", "--fork", "--mount", "--uts", "--propagation", "private",
                              "sh", "-c", f"PATH={bindir}:$PATH; export PATH; exec {init}"],
                             stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True)
    try:
        deadline = time.monotonic() + TIMEOUT
        while "service web exited" not in console.read_text():
            if time.monotonic() > deadline or p.poll() is not None:
                pytest.fail("no 'service web exited' in:\n" + console.read_text())
            time.sleep(0.05)
        with open(f"/proc/{p.pid}/task/{p.pid}/children") as f:
            os.kill(int(f.read().split()[0]), signal.SIGTERM)
        p.wait(timeout=TIMEOUT)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    text = console.read_text()
    assert how == "key" or "service unpack exited 0" in text, text
    return [l for l in text.splitlines() if l.startswith("oci saw:")]


@pytest.mark.parametrize("how", ["key", "wait"])
def test_service_file_runs_an_image(tmp_path, how):
    one = single(tmp_path / "one", [Tar().file("version", b"1").bytes()])
    two = single(tmp_path / "two", [Tar().file("version", b"2").bytes()])
    bundle = tmp_path / "bundle"
    assert boot(tmp_path, one.path, bundle, how) == ["oci saw: 1 version "]
    (bundle / "rootfs/marker").write_text("x")
    assert boot(tmp_path, one.path, bundle, how) == ["oci saw: 1 marker version "]   # same image: reused
    assert boot(tmp_path, two.path, bundle, how) == ["oci saw: 2 version "]          # new image: replaced
    assert sorted(os.listdir(tmp_path)) == ["bin", "bundle", "conf", "console", "one", "two"]


def test_bad_image_stops_the_service_not_the_machine(tmp_path):
    # mote-image fails (no such file): the oci service exits with its code; mote never runs.
    lines = boot(tmp_path, tmp_path / "missing.tar", tmp_path / "bundle", "key")
    assert lines == []
    text = (tmp_path / "console").read_text()
    assert "mote-image: open image" in text and "service web exited 1" in text, text
    assert not (tmp_path / "bundle").exists()
