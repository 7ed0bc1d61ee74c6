"""Builds OCI layouts, OCI archives and docker archives from hand-made layers, for mote-image's
tests. Layers are tar bytes built with tarfile (or raw headers for what tarfile will not write)."""
import gzip
import hashlib
import io
import json
import os
import tarfile

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
LAYER = "application/vnd.oci.image.layer.v1.tar"


def sha(b):
    return hashlib.sha256(b).hexdigest()


class Tar:
    """A layer in the making."""

    def __init__(self, fmt=tarfile.PAX_FORMAT, global_pax=None):
        self.buf = io.BytesIO()
        self.t = tarfile.open(fileobj=self.buf, mode="w", format=fmt, pax_headers=global_pax)

    def add(self, name, type=tarfile.REGTYPE, data=b"", mode=0o644, uid=0, gid=0, mtime=1600000000, linkname="",
            devmajor=0, devminor=0, pax=None):
        ti = tarfile.TarInfo(name)
        ti.type, ti.mode, ti.uid, ti.gid, ti.mtime, ti.linkname = type, mode, uid, gid, mtime, linkname
        ti.devmajor, ti.devminor = devmajor, devminor
        if pax:
            ti.pax_headers = pax
        if type == tarfile.REGTYPE:
            ti.size = len(data)
            self.t.addfile(ti, io.BytesIO(data))
        else:
            self.t.addfile(ti)
        return self

    def dir(self, name, mode=0o755, **kw):
        return self.add(name, tarfile.DIRTYPE, mode=mode, **kw)

    def file(self, name, data, mode=0o644, **kw):
        return self.add(name, tarfile.REGTYPE, data=data, mode=mode, **kw)

    def symlink(self, name, target, **kw):
        return self.add(name, tarfile.SYMTYPE, linkname=target, mode=0o777, **kw)

    def link(self, name, target, **kw):
        return self.add(name, tarfile.LNKTYPE, linkname=target, **kw)

    def bytes(self):
        self.t.close()
        return self.buf.getvalue()


def busybox_layer(extra=None):
    """A layer with busybox as /bin/sh and friends, /etc/passwd and /etc/group."""
    t = Tar()
    for d in ("bin", "etc", "tmp", "proc", "sys", "dev"):
        t.dir(d)
    with open("/bin/busybox", "rb") as f:
        t.file("bin/busybox", f.read(), mode=0o755)
    for a in ("sh", "cat", "ls", "id", "echo", "stat"):
        t.symlink("bin/" + a, "busybox")
    t.file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\nfoo:x:1000:1001::/home/foo:/bin/sh\n")
    t.file("etc/group", b"root:x:0:\nfoo:x:1001:\nwheel:x:10:root,foo\n")
    if extra:
        extra(t)
    return t.bytes()


class Layout:
    """An OCI image layout directory under construction."""

    def __init__(self, path):
        self.path = str(path)
        os.makedirs(os.path.join(self.path, "blobs", "sha256"), exist_ok=True)
        with open(os.path.join(self.path, "oci-layout"), "w") as f:
            f.write('{"imageLayoutVersion":"1.0.0"}')

    def blob(self, data, media):
        h = sha(data)
        with open(os.path.join(self.path, "blobs", "sha256", h), "wb") as f:
            f.write(data)
        return {"mediaType": media, "digest": "sha256:" + h, "size": len(data)}

    def image(self, layers, config=None, arch="amd64", compress=True, media=None):
        """Adds an image (layers: tar bytes, bottom first); returns its manifest descriptor."""
        descs, diff_ids = [], []
        for l in layers:
            diff_ids.append("sha256:" + sha(l))
            data = gzip.compress(l) if compress else l
            descs.append(self.blob(data, media or (LAYER + "+gzip" if compress else LAYER)))
        cfg = {"architecture": arch, "os": "linux", "config": config or {"Cmd": ["sh"]},
               "rootfs": {"type": "layers", "diff_ids": diff_ids}}
        c = self.blob(json.dumps(cfg).encode(), "application/vnd.oci.image.config.v1+json")
        m = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": c, "layers": descs}
        return self.blob(json.dumps(m).encode(), OCI_MANIFEST)

    def index(self, manifests):
        with open(os.path.join(self.path, "index.json"), "w") as f:
            json.dump({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}, f)


def single(path, layers, config=None, arch="amd64", compress=True, media=None):
    """A layout with one image for linux/ARCH."""
    lay = Layout(path)
    m = lay.image(layers, config, arch, compress, media)
    m["platform"] = {"os": "linux", "architecture": arch}
    lay.index([m])
    return lay


def blob_path(layout, desc):
    return os.path.join(layout.path, "blobs", "sha256", desc["digest"][7:])
