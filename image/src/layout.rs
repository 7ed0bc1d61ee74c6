//! Where blobs come from: an OCI layout directory, or an archive (a tar of an OCI layout, or a
//! `docker save`/`podman save` archive) whose members are read in place (pread at their
//! offsets: nothing is extracted). And which manifest to take: the image index, nested
//! indexes and manifest lists walked as the image spec says, by platform and --ref.

use core::ffi::CStr;

use heapless::Vec;
use mote_sys::io::Buf;
use mote_sys::rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use mote_sys::rustix::fs::{self, Mode, OFlags};
use mote_sys::rustix::io::{pread, Errno};

use crate::error::{Ctx, Error, Fits, Result, Txt};
use crate::json::{self, Kind, Val};
use crate::stream::Blob;

/// Members of an archive remembered (an image with 100 layers has ~210).
const MEMBERS: usize = 1024;
/// Longest member name remembered; longer ones cannot be blobs and are skipped.
const MEMBER_NAME: usize = 128;

pub struct Member {
    name: [u8; MEMBER_NAME],
    len: u8,
    off: u64,
    size: u64,
    /// A symlink member (docker archives link `<id>/layer.tar` to `../<diff id>.tar`): the
    /// index of its target, set when the scan is done.
    link: Option<u16>,
}

/// `target` of a symlink in directory `dir`, made a member path ("a/../b" -> "b").
fn join(dir: &[u8], target: &[u8], out: &mut Buf<MEMBER_NAME>) -> bool {
    let mut parts: Vec<&[u8], 16> = Vec::new();
    let base: &[u8] = if target.first() == Some(&b'/') { b"" } else { dir };
    for c in base.split(|&c| c == b'/').chain(target.split(|&c| c == b'/')) {
        match c {
            b"" | b"." => {}
            b".." => {
                if parts.pop().is_none() {
                    return false;
                }
            }
            _ => {
                if parts.push(c).is_err() {
                    return false;
                }
            }
        }
    }
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            out.c(b'/');
        }
        out.s(p);
    }
    !out.overflowed()
}

pub enum Source {
    Dir(OwnedFd),
    Archive { fd: OwnedFd, members: Vec<Member, MEMBERS> },
}

/// An opened member: the descriptor (owned for a directory's file) and the byte range.
pub struct Opened {
    own: Option<OwnedFd>,
    off: u64,
    pub size: u64,
}

fn octal(f: &[u8]) -> Option<u64> {
    let mut v: u64 = 0;
    for &c in f {
        match c {
            b'0'..=b'7' => v = v.checked_mul(8)?.checked_add((c - b'0') as u64)?,
            b' ' | 0 => {}
            _ => return None,
        }
    }
    Some(v)
}

impl Source {
    /// Opens an image: a directory (OCI layout) or a tar archive.
    pub fn open(path: &CStr) -> Result<Source> {
        let fd = fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()).ctx(t!("open image"), path.to_bytes())?;
        let st = fs::fstat(&fd).ctx(t!("stat image"), path.to_bytes())?;
        if fs::FileType::from_raw_mode(st.st_mode) == fs::FileType::Directory {
            return Ok(Source::Dir(fd));
        }
        let mut members = Vec::new();
        let mut off = 0u64;
        let mut h = [0u8; 512];
        let mut long = Buf::<MEMBER_NAME>::new();
        let mut long_over = false;
        let mut links: Vec<(u16, Buf<MEMBER_NAME>), 256> = Vec::new();
        let bad = |why| Error::msg(t!("image archive"), path.to_bytes(), why);
        loop {
            let n = pread(&fd, &mut h, off).ctx(t!("read image archive"), path.to_bytes())?;
            if n == 0 && off == 0 {
                return Err(bad(t!("empty file")));
            }
            if n < 512 || h.iter().all(|&c| c == 0) {
                break;
            }
            if h.starts_with(&[0x1f, 0x8b]) && off == 0 {
                return Err(bad(t!("compressed archive: gunzip it first")));
            }
            let sum: u64 = h.iter().enumerate().map(|(i, &c)| if (148..156).contains(&i) { 32 } else { c as u64 }).sum();
            if octal(&h[148..156]) != Some(sum) {
                return Err(bad(t!("not a tar archive (bad header checksum)")));
            }
            let size = octal(&h[124..136]).ok_or_else(|| bad(t!("bad size in a tar header")))?;
            let data = off + 512;
            match h[156] {
                b'L' => {
                    long.clear();
                    let mut b = [0u8; MEMBER_NAME];
                    let k = (size as usize).min(MEMBER_NAME);
                    pread(&fd, &mut b[..k], data).ctx(t!("read image archive"), path.to_bytes())?;
                    let e = b[..k].iter().position(|&c| c == 0).unwrap_or(k);
                    long.s(&b[..e]);
                    long_over = size as usize > MEMBER_NAME;
                }
                b'x' => {
                    // A PAX header: only a long `path` matters here.
                    let mut b = [0u8; 1024];
                    let k = (size as usize).min(1024);
                    pread(&fd, &mut b[..k], data).ctx(t!("read image archive"), path.to_bytes())?;
                    long.clear();
                    long_over = false;
                    let mut p = &b[..k];
                    while !p.is_empty() {
                        // "LEN KEY=VALUE\n", LEN counting it all: a malformed record is refused.
                        let sp = p.iter().position(|&c| c == b' ').unwrap_or(p.len());
                        let len = mote_sys::io::parse_decimal(&p[..sp]).unwrap_or(0);
                        if len > p.len() as u64 && size > k as u64 && sp < p.len() {
                            long_over = true; // past the part read: not a blob's name, skipped
                            break;
                        }
                        if len < sp as u64 + 2 || len > p.len() as u64 {
                            return Err(bad(t!("malformed PAX header")));
                        }
                        let len = len as usize;
                        if let Some(v) = p[sp + 1..len - 1].strip_prefix(b"path=") {
                            long.s(v);
                        }
                        p = &p[len..];
                    }
                }
                b'0' | 0 | b'2' => {
                    let mut name = Buf::<{ MEMBER_NAME + 160 }>::new();
                    // A long name over the bound is no blob's (their paths are shorter): the
                    // member is skipped, never kept under a cut name.
                    let over = long_over || long.overflowed();
                    if !long.is_empty() {
                        name.s(long.get().unwrap_or_default());
                    } else {
                        let f = |x: &[u8]| -> usize { x.iter().position(|&c| c == 0).unwrap_or(x.len()) };
                        let prefix = &h[345..345 + f(&h[345..500])];
                        if &h[257..263] == b"ustar\0" && !prefix.is_empty() {
                            name.s(prefix).c(b'/');
                        }
                        name.s(&h[..f(&h[..100])]);
                    }
                    long.clear();
                    long_over = false;
                    let Ok(mut nm) = name.get() else {
                        off = data + size.div_ceil(512) * 512;
                        continue;
                    };
                    while let Some(r) = nm.strip_prefix(b"./") {
                        nm = r;
                    }
                    if nm.len() < MEMBER_NAME && !over {
                        let mut m = Member { name: [0; MEMBER_NAME], len: nm.len() as u8, off: data, size, link: None };
                        m.name[..nm.len()].copy_from_slice(nm);
                        if h[156] == b'2' {
                            // Park the target's path in the name until the scan is done.
                            let f = |x: &[u8]| -> usize { x.iter().position(|&c| c == 0).unwrap_or(x.len()) };
                            let dir = nm.iter().rposition(|&c| c == b'/').map_or(&b""[..], |i| &nm[..i]);
                            let mut t = Buf::<MEMBER_NAME>::new();
                            if !join(dir, &h[157..157 + f(&h[157..257])], &mut t) {
                                long.clear();
                                off = data + size.div_ceil(512) * 512;
                                continue;
                            }
                            m.link = Some(0);
                            links.push((members.len() as u16, t)).map_err(|_| bad(t!("more than 256 symlinks in the archive")))?;
                        }
                        members.push(m).map_err(|_| bad(t!("more than 1024 files in the archive")))?;
                    }
                }
                _ => {
                    long.clear();
                    long_over = false;
                }
            }
            off = data + size.div_ceil(512) * 512;
        }
        // Symlinks point at regular members (one level, as docker archives use them).
        for (i, t) in &links {
            // join() refused a target over the bound: t is whole.
            let target = t.get().ok().and_then(|t| members.iter().position(|m| m.link.is_none() && &m.name[..m.len as usize] == t));
            let m = &mut members[*i as usize];
            match target {
                Some(x) => m.link = Some(x as u16),
                None => m.len = 0, // dangling: never found
            }
        }
        Ok(Source::Archive { fd, members })
    }

    /// Opens a file of the image by its path in the layout or archive (a manifest.json names
    /// them: `..` and absolute paths are refused, so it cannot reach outside the image).
    pub fn get(&self, name: &[u8]) -> Result<Opened> {
        if name.first() == Some(&b'/') || name.split(|&c| c == b'/').any(|c| c == b"..") {
            return Err(Error::msg(t!("image file"), name, t!("path leads outside the image")));
        }
        match self {
            Source::Dir(d) => {
                let mut n = Buf::<{ MEMBER_NAME + 160 }>::new();
                n.s(name);
                let f = fs::openat(d, n.cstr().fits(t!("image path:"))?, OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty()).ctx(t!("open image file"), name)?;
                let st = fs::fstat(&f).ctx(t!("stat image file"), name)?;
                if fs::FileType::from_raw_mode(st.st_mode) != fs::FileType::RegularFile {
                    return Err(Error::msg(t!("image file"), name, t!("not a regular file")));
                }
                Ok(Opened { own: Some(f), off: 0, size: st.st_size as u64 })
            }
            Source::Archive { members, .. } => {
                let mut m = members.iter().find(|m| m.len > 0 && &m.name[..m.len as usize] == name).ok_or_else(|| Error::sys(t!("image file"), name, Errno::NOENT))?;
                if let Some(t) = m.link {
                    m = &members[t as usize];
                }
                Ok(Opened { own: None, off: m.off, size: m.size })
            }
        }
    }

    /// Whether the image has this file.
    pub fn has(&self, name: &[u8]) -> bool {
        self.get(name).is_ok()
    }

    /// A blob over an opened file; `size` (the descriptor's) must match the file's.
    pub fn blob<'a>(&'a self, o: &'a Opened, size: Option<u64>, want: Option<[u8; 32]>, name: &[u8]) -> Result<Blob<'a>> {
        if let Some(s) = size {
            if s != o.size {
                return Err(Error::msg(t!("blob"), name, t!("size differs from its descriptor's")));
            }
        }
        let fd: BorrowedFd<'a> = match (&o.own, self) {
            (Some(f), _) => f.as_fd(),
            (None, Source::Archive { fd, .. }) => fd.as_fd(),
            (None, Source::Dir(d)) => d.as_fd(),
        };
        Ok(Blob::new(fd, o.off, o.size, want, name))
    }
}

/// A blob reference: its path in the image, its digest and size when known.
pub struct Desc {
    pub path: Buf<MEMBER_NAME>,
    pub digest: Option<[u8; 32]>,
    pub size: Option<u64>,
    /// For docker archives: sha256 of the uncompressed layer (rootfs.diff_ids).
    pub diff: Option<[u8; 32]>,
}

impl Desc {
    /// The blob's path in the image: an error naming it if it did not fit (never a cut one).
    pub fn path(&self) -> Result<&[u8]> {
        self.path.get().map_err(|o| {
            let mut m = Buf::<320>::new();
            m.s(self.path.lossy()).s(b"...");
            Error::msg(t!("image blob path"), m.lossy(), if o.0 == MEMBER_NAME { t!("longer than 128 bytes") } else { t!("too long") })
        })
    }
}

fn unhex(h: &[u8]) -> Option<[u8; 32]> {
    if h.len() != 64 {
        return None;
    }
    let mut o = [0u8; 32];
    for (i, c) in h.iter().enumerate() {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => return None,
        };
        o[i / 2] = o[i / 2] << 4 | d;
    }
    Some(o)
}

/// "sha256:<64 hex>" to bytes.
pub fn digest(s: &[u8]) -> Option<[u8; 32]> {
    unhex(s.strip_prefix(b"sha256:")?)
}

/// The member of a value, by key.
pub fn field<'a>(v: Val<'a>, key: &str) -> Option<Val<'a>> {
    v.obj()?.find(|(k, _)| k.to_bytes() == key.as_bytes()).map(|(_, v)| v)
}

pub fn str_field<'a>(v: Val<'a>, key: &str) -> Option<&'a [u8]> {
    field(v, key)?.bytes()
}

/// An OCI descriptor (`{"mediaType","digest","size"}`) as a blob reference in the layout.
fn descriptor(v: Val<'_>, what: Txt) -> Result<Desc> {
    let d = str_field(v, "digest").ok_or_else(|| Error::msg(what, b"", t!("descriptor without a digest")))?;
    let dg = digest(d).ok_or_else(|| Error::msg(what, d, t!("digest is not sha256:<64 lowercase hex> (other algorithms are not supported)")))?;
    let size = field(v, "size").and_then(|s| s.u64()).ok_or_else(|| Error::msg(what, d, t!("descriptor without a valid size")))?;
    let mut path = Buf::new();
    path.s(b"blobs/sha256/").s(&d[7..]);
    Ok(Desc { path, digest: Some(dg), size: Some(size), diff: None })
}

/// The platform wanted: os/arch[/variant], borrowed from --platform (nothing copied, so
/// nothing to cut).
pub struct Platform<'a> {
    pub os: &'a [u8],
    pub arch: &'a [u8],
    pub variant: &'a [u8],
}

impl Platform<'_> {
    pub fn host() -> Platform<'static> {
        let arch: &[u8] = if cfg!(target_arch = "x86_64") {
            b"amd64"
        } else if cfg!(target_arch = "aarch64") {
            b"arm64"
        } else {
            b"riscv64"
        };
        Platform { os: b"linux", arch, variant: b"" }
    }

    pub fn parse(s: &[u8]) -> Option<Platform<'_>> {
        let mut it = s.split(|&c| c == b'/');
        let os = it.next().filter(|x| !x.is_empty())?;
        let arch = it.next().filter(|x| !x.is_empty())?;
        let variant = it.next().unwrap_or(b"");
        it.next().is_none().then_some(Platform { os, arch, variant })
    }

    /// Whether os/architecture/variant (from an index entry or a config) are this platform.
    /// A missing variant matches; arm64's implied variant is v8.
    pub fn matches(&self, os: &[u8], arch: &[u8], variant: Option<&[u8]>) -> bool {
        fn norm<'x>(arm64: bool, v: &'x [u8]) -> &'x [u8] {
            if v.is_empty() && arm64 { b"v8" } else { v }
        }
        let arm = self.arch == b"arm64";
        os == self.os && arch == self.arch && (self.variant.is_empty() || norm(arm, variant.unwrap_or(b"")) == norm(arm, self.variant))
    }

    /// For a message (cut at the message's bound if need be).
    pub fn render(&self, b: &mut Buf<320>) {
        b.s(self.os).c(b'/').s(self.arch);
        if !self.variant.is_empty() {
            b.c(b'/').s(self.variant);
        }
    }
}

/// Whether an image name (annotation, RepoTags entry) is the one asked for.
pub fn ref_matches(name: &[u8], want: &[u8]) -> bool {
    // `name` is `w`, or ends in "/w" or ":w"
    fn m(name: &[u8], w: &[u8]) -> bool {
        name == w || (name.len() > w.len() && name.ends_with(w) && matches!(name[name.len() - w.len() - 1], b'/' | b':'))
    }
    // A ref without a tag is ":latest" (compared in place: no copy to cut).
    m(name, want) || (!want.contains(&b':') && name.strip_suffix(b":latest").is_some_and(|n| m(n, want)))
}

const INDEX_TYPES: [&[u8]; 2] = [b"application/vnd.oci.image.index.v1+json", b"application/vnd.docker.distribution.manifest.list.v2+json"];

/// What an image resolves to: its config and layers.
pub struct Image {
    pub config: Desc,
    pub layers: Vec<Desc, 128>,
}

/// Reads a small JSON blob into `buf` (digest checked when known) and prepares it.
/// Returns the document, its root's offset and the blob's sha256.
pub fn read_json<'b>(src: &Source, d: &Desc, buf: &'b mut [u8], what: Txt) -> Result<(&'b [u8], usize, [u8; 32])> {
    let path = d.path()?;
    let o = src.get(path)?;
    let mut b = src.blob(&o, d.size, d.digest, path)?;
    let data = b.read_all(buf, what)?;
    let digest = b.digest.unwrap_or_default();
    let root = json::prepare(data).map_err(|e| {
        let mut m = Buf::<320>::new();
        m.s(path).s(b" at byte ").u(e.offset as u64);
        Error::msg(what, m.lossy(), e.what)
    })?;
    Ok((&*data, root, digest))
}

/// Resolves an OCI layout (index.json) to one image.
pub fn oci(src: &Source, buf: &mut [u8], plat: &Platform<'_>, tag: Option<&[u8]>) -> Result<Image> {
    let mut d = Desc { path: Buf::new(), digest: None, size: None, diff: None };
    d.path.s(b"index.json");
    let mut top = true;
    for _ in 0..8 {
        let (b, r, _) = read_json(src, &d, buf, t!("image index"))?;
        let v = Val::root(b, r);
        let is_index = field(v, "manifests").is_some_and(|m| m.kind() == Kind::Array)
            || str_field(v, "mediaType").is_some_and(|t| INDEX_TYPES.contains(&t));
        if !is_index {
            return manifest(v, &d);
        }
        d = pick(v, &d, plat, if top { tag } else { None })?;
        top = false;
    }
    Err(Error::msg(t!("image index"), d.path.lossy(), t!("indexes nested deeper than 8")))
}

/// The manifest in an index for the platform (and ref, at the top level).
fn pick(v: Val<'_>, at: &Desc, plat: &Platform<'_>, tag: Option<&[u8]>) -> Result<Desc> {
    let mut found: Option<Desc> = None;
    let mut fallback: Option<Desc> = None;
    let mut seen = Buf::<320>::new();
    for m in field(v, "manifests").and_then(|m| m.arr()).into_iter().flatten() {
        if let Some(t) = tag {
            let ann = field(m, "annotations");
            let names = [ann.and_then(|a| str_field(a, "org.opencontainers.image.ref.name")), ann.and_then(|a| str_field(a, "io.containerd.image.name"))];
            if !names.iter().flatten().any(|n| ref_matches(n, t)) {
                continue;
            }
        }
        match field(m, "platform") {
            Some(p) => {
                let os = str_field(p, "os").unwrap_or(b"");
                let arch = str_field(p, "architecture").unwrap_or(b"");
                let var = str_field(p, "variant");
                if plat.matches(os, arch, var) {
                    if found.is_some() {
                        return Err(Error::msg(t!("image index"), at.path.lossy(), t!("several manifests for this platform: choose one with --ref")));
                    }
                    found = Some(descriptor(m, t!("image index"))?);
                } else {
                    let sep = if seen.is_empty() { &b""[..] } else { b", " };
                    seen.s(sep).s(os).c(b'/').s(arch);
                    if let Some(x) = var {
                        seen.c(b'/').s(x);
                    }
                }
            }
            None if fallback.is_none() => fallback = Some(descriptor(m, t!("image index"))?),
            None => return Err(Error::msg(t!("image index"), at.path.lossy(), t!("several images without a platform: choose one with --ref"))),
        }
    }
    if let Some(f) = found.or(fallback) {
        return Ok(f);
    }
    let mut m = Buf::<320>::new();
    m.s(at.path.lossy());
    if let Some(t) = tag {
        // at most 64 bytes of it: the message must keep room for what follows
        m.s(b" (ref ").s(&t[..t.len().min(64)]).s(if t.len() > 64 { &b"...)"[..] } else { b")" });
    }
    m.s(b": no manifest for ");
    plat.render(&mut m);
    if !seen.is_empty() {
        m.s(b" (it has ").s(seen.lossy()).c(b')');
    }
    Err(Error::msg(t!("image index"), m.lossy(), t!("choose with --platform")))
}

fn manifest(v: Val<'_>, at: &Desc) -> Result<Image> {
    let c = field(v, "config").ok_or_else(|| Error::msg(t!("image manifest"), at.path.lossy(), t!("no config")))?;
    let mut img = Image { config: descriptor(c, t!("image manifest config"))?, layers: Vec::new() };
    for l in field(v, "layers").and_then(|l| l.arr()).into_iter().flatten() {
        let t = str_field(l, "mediaType").unwrap_or(b"");
        if t.ends_with(b"zstd") {
            let mut m = Buf::<320>::new();
            m.s(str_field(l, "digest").unwrap_or(b"")).s(b" (").s(t).c(b')');
            return Err(Error::msg(t!("layer"), m.lossy(), t!("zstd-compressed layers are not supported (only tar and tar+gzip)")));
        }
        img.layers.push(descriptor(l, t!("image manifest layer"))?).map_err(|_| Error::msg(t!("image manifest"), at.path.lossy(), t!("more than 128 layers")))?;
    }
    Ok(img)
}

/// Resolves a docker/podman archive (manifest.json) to one image.
pub fn docker(src: &Source, buf: &mut [u8], tag: Option<&[u8]>) -> Result<Image> {
    let mut d = Desc { path: Buf::new(), digest: None, size: None, diff: None };
    d.path.s(b"manifest.json");
    let (b, r, _) = read_json(src, &d, buf, t!("manifest.json"))?;
    let v = Val::root(b, r);
    let mut chosen = None;
    for e in v.arr().into_iter().flatten() {
        let ok = match tag {
            None => true,
            Some(t) => field(e, "RepoTags").and_then(|r| r.arr()).into_iter().flatten().any(|x| x.bytes().is_some_and(|n| ref_matches(n, t))),
        };
        if ok {
            if chosen.is_some() {
                return Err(Error::msg(t!("manifest.json"), b"", t!("several images in the archive: choose one with --ref")));
            }
            chosen = Some(e);
        }
    }
    let e = chosen.ok_or_else(|| Error::msg(t!("manifest.json"), tag.unwrap_or(b""), t!("no such image in the archive")))?;
    let cfg = str_field(e, "Config").ok_or_else(|| Error::msg(t!("manifest.json"), b"", t!("no Config")))?;
    let mut img = Image { config: by_name(cfg)?, layers: Vec::new() };
    for l in field(e, "Layers").and_then(|l| l.arr()).into_iter().flatten() {
        let p = l.bytes().ok_or_else(|| Error::msg(t!("manifest.json"), b"Layers", t!("not a string")))?;
        img.layers.push(by_name(p)?).map_err(|_| Error::msg(t!("manifest.json"), b"", t!("more than 128 layers")))?;
    }
    Ok(img)
}

/// A docker archive member; its digest is in its name when it is a blob or "<hex>.json".
fn by_name(p: &[u8]) -> Result<Desc> {
    let mut d = Desc { path: Buf::new(), digest: None, size: None, diff: None };
    d.path.s(p);
    if d.path.overflowed() {
        return Err(Error::msg(t!("manifest.json"), p, t!("path too long")));
    }
    let base = p.rsplit(|&c| c == b'/').next().unwrap_or(p);
    d.digest = unhex(base.strip_suffix(b".json").unwrap_or(base)).filter(|_| base.len() == 64 || p.ends_with(b".json") || p.starts_with(b"blobs/sha256/"));
    if p.ends_with(b"/layer.tar") || (!p.starts_with(b"blobs/") && p.ends_with(b".tar")) {
        d.digest = None; // a layer directory id or a tar name, not a content digest: diff_ids check it
    }
    Ok(d)
}
