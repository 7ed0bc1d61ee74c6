"""mote-image against images made by podman (Debian's): one multi-layer image with a deleted
file (whiteout) and a directory removed and re-made (opaque dir), saved as oci-archive, oci-dir
and docker-archive. Each unpacks to the same rootfs as `podman export`, and mote runs it.

podman's storage and configuration live in a temporary directory of this module's own (overlay
driver, so that podman writes real opaque-directory markers); nothing touches the host's."""
import hashlib
import os
import shutil
import stat
import subprocess
import tarfile
import tempfile

import pytest

from conftest import cgroup_parent, cmd, remove_cgroup_parent, run

EXPECTED = ["hi", "z", "b", "c", "hb"]


def podman_env(d):
    with open(os.path.join(d, "storage.conf"), "w") as f:
        f.write(f'[storage]\ndriver = "overlay"\ngraphroot = "{d}/graph"\nrunroot = "{d}/run"\n')
    with open(os.path.join(d, "containers.conf"), "w") as f:
        f.write('[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\nruntime = "runc"\n'
                '[containers]\nnetns = "none"\n')
    with open(os.path.join(d, "registries.conf"), "w") as f:
        f.write("unqualified-search-registries = []\n")
    env = dict(os.environ)
    env.update(CONTAINERS_STORAGE_CONF=f"{d}/storage.conf", CONTAINERS_CONF=f"{d}/containers.conf",
               CONTAINERS_REGISTRIES_CONF=f"{d}/registries.conf", XDG_RUNTIME_DIR=f"{d}/xdg", TMPDIR=f"{d}/tmp")
    os.makedirs(f"{d}/xdg", exist_ok=True)
    os.makedirs(f"{d}/tmp", exist_ok=True)
    return env


@pytest.fixture(scope="module")
def podman_image():
    if not shutil.which("podman"):
        pytest.fail("podman is missing: ./x setup installs it")
    d = tempfile.mkdtemp(prefix="mote-image-podman-")
    env = podman_env(d)
    # build's RUN steps run containers (and their conmon) under a cgroup parent of ours, not
    # podman's shared default /libpod_parent.
    parent = cgroup_parent()

    def pm(*args, timeout=180):
        p = subprocess.run(["podman", *args], env=env, capture_output=True, text=True, timeout=timeout, cwd=d)
        assert p.returncode == 0, (args, p.stdout, p.stderr)
        return p

    try:
        root = os.path.join(d, "rootfs")
        for sub in ("bin", "etc", "data", "opq", "tmp", "proc", "sys", "dev"):
            os.makedirs(os.path.join(root, sub))
        shutil.copy("/bin/busybox", os.path.join(root, "bin/busybox"))
        for a in ("sh", "cat", "ls", "echo", "rm", "mkdir", "ln", "chown", "chmod"):
            os.symlink("busybox", os.path.join(root, "bin", a))
        for name, data in (("data/a", "a\n"), ("data/b", "b\n"), ("opq/x", "x\n"), ("opq/y", "y\n"),
                           ("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"), ("etc/group", "root:x:0:\n")):
            with open(os.path.join(root, name), "w") as f:
                f.write(data)
        subprocess.run(["tar", "-cf", f"{d}/base.tar", "-C", root, "."], check=True)
        pm("import", f"{d}/base.tar", "localhost/mote-image-base:1")
        with open(f"{d}/Containerfile", "w") as f:
            f.write("FROM localhost/mote-image-base:1\n"
                    "RUN rm /data/a && rm -rf /opq && mkdir /opq && echo z > /opq/z && echo hi > /data/c\n"
                    "RUN ln /data/b /data/hb && mkdir -m 1777 /scratch && chown 12:34 /data/c && chmod 4755 /data/c\n"
                    'CMD ["sh", "-c", "cat /data/c; ls /opq; ls /data"]\n')
        pm("build", "--cgroup-parent", parent, "--network", "none", "-t", "localhost/mote-image-test:1", "-f", f"{d}/Containerfile", d)
        pm("save", "--format", "oci-archive", "-o", f"{d}/oci.tar", "localhost/mote-image-test:1")
        pm("save", "--format", "oci-dir", "-o", f"{d}/oci-dir", "localhost/mote-image-test:1")
        pm("save", "--format", "docker-archive", "-o", f"{d}/docker.tar", "localhost/mote-image-test:1")
        pm("create", "--name", "mote-image-export", "localhost/mote-image-test:1")
        pm("export", "-o", f"{d}/export.tar", "mote-image-export")
        pm("rm", "mote-image-export")
        yield d
    finally:
        subprocess.run(["podman", "system", "reset", "--force"], env=env, capture_output=True, timeout=120)
        shutil.rmtree(d, ignore_errors=True)
        remove_cgroup_parent(parent)


def tree_of_export(path):
    """path -> (type, mode, uid, gid, link target or content hash, mtime) from podman export's tar."""
    out, data = {}, {}
    with tarfile.open(path) as t:
        for m in t.getmembers():
            p = m.name.lstrip("./").rstrip("/")
            if not p:
                continue
            if m.islnk():
                out[p] = out[m.linkname.lstrip("./")]
                continue
            kind = "d" if m.isdir() else "l" if m.issym() else "f" if m.isfile() else "o"
            extra = m.linkname if m.issym() else hashlib.sha256(t.extractfile(m).read()).hexdigest() if m.isfile() else ""
            out[p] = (kind, m.mode & 0o7777, m.uid, m.gid, extra, int(m.mtime))
    return out


def tree_of_dir(root):
    out = {}
    for dirpath, dirs, files in os.walk(root):
        for n in dirs + files:
            full = os.path.join(dirpath, n)
            st = os.lstat(full)
            p = os.path.relpath(full, root)
            if stat.S_ISDIR(st.st_mode):
                kind, extra = "d", ""
            elif stat.S_ISLNK(st.st_mode):
                kind, extra = "l", os.readlink(full)
            elif stat.S_ISREG(st.st_mode):
                with open(full, "rb") as f:
                    kind, extra = "f", hashlib.sha256(f.read()).hexdigest()
            else:
                kind, extra = "o", ""
            out[p] = (kind, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, extra, int(st.st_mtime))
    return out


@pytest.mark.parametrize("fmt", ["oci.tar", "oci-dir", "docker.tar"])
def test_podman_save_formats(podman_image, native, tmp_path, fmt):
    out = tmp_path / "bundle"
    p = run(cmd("x86_64", "mote-image", "bundle", os.path.join(podman_image, fmt), str(out)), timeout=120)
    assert p.returncode == 0, p.stderr
    want = tree_of_export(os.path.join(podman_image, "export.tar"))
    got = tree_of_dir(out / "rootfs")
    assert "data/a" not in got and "opq/x" not in got and "opq/y" not in got
    assert got == want, {k: (got.get(k), want.get(k)) for k in set(got) | set(want) if got.get(k) != want.get(k)}
    st = os.lstat(out / "rootfs/data/hb")
    assert st.st_nlink == 2 and st.st_ino == os.lstat(out / "rootfs/data/b").st_ino
    r = native("run", "--bundle", str(out), native.new_id(), check=0)
    assert r.stdout.split() == EXPECTED


def test_podman_ref_selection(podman_image, tmp_path):
    for fmt in ("oci.tar", "docker.tar"):
        p = run(cmd("x86_64", "mote-image", "bundle", os.path.join(podman_image, fmt), str(tmp_path / fmt),
                    "--ref", "localhost/mote-image-test:1"))
        assert p.returncode == 0, p.stderr
        p = run(cmd("x86_64", "mote-image", "bundle", os.path.join(podman_image, fmt), str(tmp_path / (fmt + "x")),
                    "--ref", "other:2"))
        assert p.returncode == 1 and "other:2" in p.stderr
        assert not os.path.exists(tmp_path / (fmt + "x"))
