"""Where engines, tools and users can tell mote from runc (issue 15): each case runs against the
real mote and, where runc behaves right on this host, against Debian's runc in the same test."""
import json
import os
import shutil
import subprocess

import pytest

from conftest import run, TIMEOUT


def runc(tmp_path, *args, **kw):
    if not shutil.which("runc"):
        pytest.fail("runc is missing: ./x setup installs it")
    return run(["runc", "--root", str(tmp_path / "runc-state"), *args], **kw)


# ---- errors engines read ----

def test_error_on_stderr_says_error_like_runc(mote, tmp_path):
    r = runc(tmp_path, "state", "nope", check=1)
    m = mote("state", "nope", check=1)
    assert "error" in r.stderr
    assert m.stderr == "mote: error: container nope: does not exist\n", m.stderr


def test_json_log_format_without_log_file_is_runc_json_on_stderr(mote, tmp_path):
    for p in (runc(tmp_path, "--log-format", "json", "state", "nope", check=1),
              run(mote.argv()[:-2] + ["--root", mote.root, "--log-format", "json", "state", "nope"], check=1)):
        line = json.loads(p.stderr.splitlines()[-1])
        assert set(line) == {"level", "msg", "time"} and line["level"] == "error", p.stderr
        assert line["time"].endswith("Z")


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_log_file_like_runc(mote, tmp_path, fmt):
    # The file gets runc's line (logrus text or JSON); stderr still gets the error.
    lines = []
    for name, argv in (("runc", ["runc", "--root", str(tmp_path / "runc-state")]),
                       ("mote", mote.argv()[:-2] + ["--root", mote.root])):
        log = tmp_path / f"{name}.log"
        p = run(argv + ["--log", str(log), "--log-format", fmt, "state", "nope"], check=1)
        assert p.stderr.strip(), name
        lines.append(log.read_text().splitlines()[-1])
    for line in lines:
        if fmt == "json":
            assert json.loads(line)["level"] == "error", line
        else:
            assert line.startswith('time="') and ' level=error msg="' in line, line


def test_errno_texts_are_glibcs():
    """runtime/src/error.rs names errnos 1..=133 as glibc does (the host's, through Python), so
    no message says "Unknown error" (a joined user namespace once gave "/dev/pts: Unknown error")."""
    src = open(os.path.join(os.path.dirname(__file__), "..", "..", "runtime", "src", "error.rs")).read()
    body = src.split('const MESSAGES: &str = "', 1)[1].split('";', 1)[0].replace("\\\n", "")
    texts = body.split("\\n")
    assert len(texts) == 133
    for n, t in enumerate(texts, 1):
        assert t == ("" if n in (41, 58) else os.strerror(n)), (n, t, os.strerror(n))


def test_missing_bind_source_names_the_errno(native):
    b = native.bundle(["true"], mounts=[{"destination": "/x", "type": "bind",
                                         "source": "/nonexistent-mote-test", "options": ["bind"]}])
    p = native("run", "--bundle", b, native.new_id(), check=1)
    assert "No such file or directory" in p.stderr and "mote: error: " in p.stderr, p.stderr
