//! Applies one layer's tar stream to the rootfs: ustar, PAX (path, linkpath, size, uid, gid,
//! mtime, SCHILY.xattr.*) and GNU long names; regular files, directories, symlinks, hardlinks,
//! devices and fifos; OCI whiteouts. Sparse entries are refused.
//!
//! Every entry's parent is resolved inside the rootfs (resolve.rs: openat2 RESOLVE_IN_ROOT or
//! the O_NOFOLLOW walk), `..` and absolute names are refused, and the last component is
//! created afresh (O_EXCL, O_NOFOLLOW) after whatever was there is removed: nothing is ever
//! written through a symlink or an existing hardlink.
//!
//! Whiteouts apply only to lower layers (image-spec layer.md), whatever their place in the tar.
//! A layer is applied in one pass, in tar order, remembering (as hashes, in a fixed table) the
//! paths it created; a whiteout that could hit one of them (or comes when the table is full)
//! stops the pass, and the layer is applied again in two passes over what was done: first all
//! its deletions, then all its additions. Producers write whiteouts before their siblings, so
//! the second way is rare.

use core::ffi::CStr;
use core::mem::MaybeUninit;

use mote_sys::io::{parse_decimal as decimal, write_all, Buf};
use mote_sys::rustix::fd::{AsFd, BorrowedFd};
use mote_sys::rustix::fs::{
    self, AtFlags, FileType, Gid, Mode, OFlags, RawDir, SeekFrom, Timespec, Timestamps, Uid, XattrFlags,
};
use mote_sys::rustix::io::Errno;

use crate::error::{Error, Fits, Result, Txt};
use mote_sys::rustix::fd::OwnedFd;

use crate::resolve::{self, Make};
use crate::stream::Layer;

/// Longest entry name or link target (PATH_MAX).
pub const NAME: usize = 4096;
/// Largest PAX extended header.
pub const PAX: usize = 64 * 1024;
/// Levels a tree removal recurses (2 KiB of stack each); deeper directories are moved up.
const DEPTH: usize = 16;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    /// Everything in tar order; stops (Ok(false)) at a whiteout that could hit this layer's own.
    Single,
    /// Apply whiteouts and opaque markers only.
    Deletions,
    /// Create every entry; whiteouts are not materialized.
    Additions,
}

/// Slots of the table of paths created by the current layer (128 KiB).
const SEEN: usize = 16384;

/// Paths created by the current layer, as 64-bit hashes: each entry's own, and (salted) every
/// directory above it. A hit may be a collision: that only costs the two-pass way.
struct Seen {
    slots: [u64; SEEN],
    n: usize,
    full: bool,
}

const ANCESTOR: u64 = 0x9e37_79b9_7f4a_7c15;

fn fnv(h: u64, b: u8) -> u64 {
    (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
}

const FNV0: u64 = 0xcbf2_9ce4_8422_2325;

fn hash(p: &[u8]) -> u64 {
    p.iter().fold(FNV0, |h, &b| fnv(h, b))
}

impl Seen {
    fn clear(&mut self) {
        self.slots.fill(0);
        self.n = 0;
        self.full = false;
    }

    fn has(&self, h: u64) -> bool {
        let h = h | 1;
        let mut i = h as usize % SEEN;
        loop {
            match self.slots[i] {
                0 => return false,
                x if x == h => return true,
                _ => i = (i + 1) % SEEN,
            }
        }
    }

    fn add(&mut self, h: u64) {
        if self.full || self.has(h) {
            return;
        }
        if self.n >= SEEN * 3 / 4 {
            self.full = true;
            return;
        }
        let h = h | 1;
        let mut i = h as usize % SEEN;
        while self.slots[i] != 0 {
            i = (i + 1) % SEEN;
        }
        self.slots[i] = h;
        self.n += 1;
    }

    /// Records a created path and the directories above it.
    fn record(&mut self, p: &[u8]) {
        let mut h = FNV0;
        for &b in p {
            if b == b'/' {
                self.add(h ^ ANCESTOR);
            }
            h = fnv(h, b);
        }
        self.add(h);
    }

    /// Whether removing `p` (`contents`: only what is inside it) could touch this layer's paths.
    fn could_hit(&self, p: &[u8], contents: bool) -> bool {
        let h = hash(p);
        self.full || self.has(h ^ ANCESTOR) || (!contents && self.has(h))
    }
}

/// The fixed buffers one layer needs.
pub struct Tar {
    seen: Seen,
    hdr: [u8; 512],
    pax: [u8; PAX],
    pax_len: usize,
    long_name: Buf<NAME>,
    long_link: Buf<NAME>,
    path: Buf<NAME>,
    /// The current entry is a whiteout (its data, if any, is skipped).
    whiteout: bool,
}

struct Entry {
    kind: u8,
    mode: u32,
    uid: u64,
    gid: u64,
    size: u64,
    mtime: i64,
    major: u32,
    minor: u32,
}

fn err_at(what: Txt, layer: &Layer<'_>, path: &[u8], detail: Txt) -> Error {
    let mut m = Buf::<320>::new();
    m.s(layer.blob.name.lossy()).s(b": ").s(path);
    Error::msg(what, m.lossy(), detail)
}

fn sys_at(what: Txt, layer: &Layer<'_>, path: &[u8], e: Errno) -> Error {
    let mut m = Buf::<320>::new();
    m.s(layer.blob.name.lossy()).s(b": ").s(path);
    Error::sys(what, m.lossy(), e)
}

/// A numeric header field: octal (NUL/space padded) or GNU base-256.
fn num(f: &[u8]) -> Option<u64> {
    if f[0] & 0x80 != 0 {
        if f[0] & 0x40 != 0 {
            return None; // negative
        }
        let mut v: u64 = (f[0] & 0x3f) as u64;
        for &c in &f[1..] {
            v = v.checked_mul(256)?.checked_add(c as u64)?;
        }
        return Some(v);
    }
    let mut v: u64 = 0;
    let mut seen = false;
    for &c in f {
        match c {
            b'0'..=b'7' => {
                v = v.checked_mul(8)?.checked_add((c - b'0') as u64)?;
                seen = true;
            }
            b' ' if !seen => {}
            b' ' | 0 => break,
            _ => return None,
        }
    }
    Some(v)
}

/// Field up to its first NUL.
fn cstr_field(f: &[u8]) -> &[u8] {
    &f[..f.iter().position(|&c| c == 0).unwrap_or(f.len())]
}

/// Iterates PAX records "LEN KEY=VALUE\n"; None on a malformed one.
fn pax_records(mut p: &[u8], mut f: impl FnMut(&[u8], &[u8]) -> bool) -> bool {
    while !p.is_empty() {
        let Some(sp) = p.iter().position(|&c| c == b' ') else { return false };
        let Some(len) = decimal(&p[..sp]) else { return false };
        let len = len as usize;
        if len <= sp + 1 || len > p.len() || p[len - 1] != b'\n' {
            return false;
        }
        let rec = &p[sp + 1..len - 1];
        let Some(eq) = rec.iter().position(|&c| c == b'=') else { return false };
        if !f(&rec[..eq], &rec[eq + 1..]) {
            return false;
        }
        p = &p[len..];
    }
    true
}

/// `name` made relative and checked: no `..`, not absolute; "" for the root itself.
fn clean(out: &mut Buf<NAME>, name: &[u8]) -> core::result::Result<(), Txt> {
    out.clear();
    if name.first() == Some(&b'/') {
        return Err(t!("absolute path in layer"));
    }
    if name.contains(&0) {
        return Err(t!("NUL byte in a name"));
    }
    for c in name.split(|&c| c == b'/') {
        match c {
            b"" | b"." => {}
            b".." => return Err(t!("path with '..' in layer")),
            _ => {
                if !out.is_empty() {
                    out.c(b'/');
                }
                out.s(c);
            }
        }
    }
    if out.overflowed() {
        return Err(t!("name longer than 4096 bytes"));
    }
    Ok(())
}

/// A name built in a [`Buf`], whole: [`clean`] refuses what does not fit, so an overflow here
/// is a bug, still an error rather than a cut path.
fn whole<'b>(b: &'b Buf<NAME>, what: &'static str) -> Result<&'b [u8]> {
    b.get().map_err(|_| Error::msg(t!("tar"), what, t!("longer than 4096 bytes")))
}

fn split(p: &[u8]) -> (&[u8], &[u8]) {
    match p.iter().rposition(|&c| c == b'/') {
        Some(i) => (&p[..i], &p[i + 1..]),
        None => (&b""[..], p),
    }
}

fn pad(size: u64) -> u64 {
    (512 - size % 512) % 512
}

impl Tar {
    pub const fn new() -> Self {
        Tar {
            seen: Seen { slots: [0; SEEN], n: 0, full: false },
            hdr: [0; 512], pax: [0; PAX], pax_len: 0, long_name: Buf::new(), long_link: Buf::new(),
            path: Buf::new(),
            whiteout: false,
        }
    }

    /// Reads the data of a meta entry (PAX, GNU long name) into `buf`.
    fn meta(layer: &mut Layer<'_>, buf: &mut [u8], size: u64, what: &'static str) -> Result<usize> {
        if size > buf.len() as u64 {
            return Err(err_at(t!("tar"), layer, what.as_bytes(), t!("meta header larger than its bound (64 KiB PAX, 4096-byte names)")));
        }
        let n = size as usize;
        layer.read_exact(&mut buf[..n])?;
        layer.skip(pad(size))?;
        Ok(n)
    }

    /// Applies (one pass of) a layer to the directory `root`; false when a single pass stopped
    /// and the layer must be applied again, in two.
    pub fn apply(&mut self, layer: &mut Layer<'_>, root: BorrowedFd<'_>, pass: Pass) -> Result<bool> {
        self.seen.clear();
        self.pax_len = 0;
        self.long_name.clear();
        self.long_link.clear();
        loop {
            if !layer.read_exact(&mut self.hdr)? {
                break; // end of stream without the two zero blocks: accepted, as Go's tar does
            }
            let h = &self.hdr;
            if h.iter().all(|&c| c == 0) {
                break;
            }
            let sum: u64 = h.iter().enumerate().map(|(i, &c)| if (148..156).contains(&i) { 32 } else { c as u64 }).sum();
            let ssum: i64 = h.iter().enumerate().map(|(i, &c)| if (148..156).contains(&i) { 32 } else { c as i8 as i64 }).sum();
            let want = num(&h[148..156]);
            if want != Some(sum) && want.map(|w| w as i64) != Some(ssum) {
                return Err(err_at(t!("tar"), layer, b"", t!("bad header checksum (corrupt or not a tar)")));
            }
            let Some(size) = num(&h[124..136]) else { return Err(err_at(t!("tar"), layer, b"", t!("bad size field"))) };
            let kind = h[156];
            match kind {
                b'x' => {
                    let n = Self::meta(layer, &mut self.pax, size, "PAX header")?;
                    self.pax_len = n;
                    continue;
                }
                b'g' if self.pax_len > 0 => return Err(err_at(t!("tar"), layer, b"", t!("global PAX header after an extended one"))),
                b'g' => {
                    // A global PAX header: only comments (git archive writes one) are accepted;
                    // anything else would change every later entry.
                    let n = Self::meta(layer, &mut self.pax, size, "global PAX header")?;
                    if !pax_records(&self.pax[..n], |k, _| k == b"comment") {
                        return Err(err_at(t!("tar"), layer, b"", t!("global PAX header with keys other than comment")));
                    }
                    continue;
                }
                b'L' | b'K' => {
                    let mut tmp = [0u8; NAME];
                    let n = Self::meta(layer, &mut tmp, size, "GNU long name")?;
                    let b = if kind == b'L' { &mut self.long_name } else { &mut self.long_link };
                    b.clear();
                    b.s(cstr_field(&tmp[..n]));
                    continue;
                }
                _ => {}
            }
            let f = |r: core::ops::Range<usize>| num(&h[r]);
            let (Some(mode), Some(uid), Some(gid), Some(mtime), Some(major), Some(minor)) =
                (f(100..108), f(108..116), f(116..124), f(136..148), f(329..337), f(337..345))
            else {
                return Err(err_at(t!("tar"), layer, cstr_field(&h[..100]), t!("malformed numeric field (mode, uid, gid, mtime or device)")));
            };
            let mut e = Entry {
                kind: if kind == 0 || kind == b'7' { b'0' } else { kind },
                mode: mode as u32 & 0o7777,
                uid,
                gid,
                size,
                mtime: mtime.min(i64::MAX as u64) as i64,
                major: major as u32,
                minor: minor as u32,
            };
            // The name: PAX path, else GNU long name, else ustar prefix/name.
            // A GNU long name or link over NAME is refused below, even if a PAX record
            // replaces it: never used cut.
            let mut name = Buf::<NAME>::new();
            let mut link = Buf::<NAME>::new();
            let long_over = self.long_name.overflowed() || self.long_link.overflowed();
            if !self.long_name.is_empty() {
                name.s(self.long_name.get().unwrap_or_default());
            } else {
                let prefix = cstr_field(&h[345..500]);
                if &h[257..263] == b"ustar\0" && !prefix.is_empty() {
                    name.s(prefix).c(b'/');
                }
                name.s(cstr_field(&h[0..100]));
            }
            if !self.long_link.is_empty() {
                link.s(self.long_link.get().unwrap_or_default());
            } else {
                link.s(cstr_field(&h[157..257]));
            }
            let mut bad: Option<Txt> = None;
            let mut xattrs = false;
            let ok = pax_records(&self.pax[..self.pax_len], |k, v| {
                match k {
                    b"path" => {
                        name.clear();
                        name.s(v);
                    }
                    b"linkpath" => {
                        link.clear();
                        link.s(v);
                    }
                    b"size" => match decimal(v) {
                        Some(s) => e.size = s,
                        None => return false,
                    },
                    b"uid" => match decimal(v) {
                        Some(s) => e.uid = s,
                        None => return false,
                    },
                    b"gid" => match decimal(v) {
                        Some(s) => e.gid = s,
                        None => return false,
                    },
                    b"mtime" => {
                        let int = v.split(|&c| c == b'.').next().unwrap_or(v);
                        match decimal(int) {
                            Some(s) => e.mtime = s as i64,
                            None => bad = Some(t!("negative or malformed PAX mtime")),
                        }
                    }
                    _ if k.starts_with(b"GNU.sparse.") => bad = Some(t!("sparse entries are not supported")),
                    _ if k.starts_with(b"SCHILY.xattr.") => xattrs = true,
                    _ => {}
                }
                true
            });
            self.long_name.clear();
            self.long_link.clear();
            let (nm, lk) = match (name.get(), link.get()) {
                (Ok(n), Ok(l)) if ok && !long_over => (n, l),
                _ => return Err(err_at(t!("tar"), layer, name.lossy(), t!("malformed PAX header or name over 4096 bytes"))),
            };
            if kind == b'S' {
                bad = Some(t!("sparse entries are not supported"));
            }
            if let Some(why) = bad {
                return Err(err_at(t!("tar"), layer, nm, why));
            }
            if e.uid > u32::MAX as u64 || e.gid > u32::MAX as u64 {
                return Err(err_at(t!("tar"), layer, nm, t!("uid or gid out of range")));
            }
            if let Err(why) = clean(&mut self.path, nm) {
                return Err(err_at(t!("tar"), layer, nm, why));
            }
            let data = e.size;
            let r = self.entry(layer, root, pass, &e, lk, xattrs);
            self.pax_len = 0;
            if !r? {
                return Ok(false);
            }
            let used = if pass != Pass::Deletions && e.kind == b'0' && !self.whiteout { data } else { 0 };
            layer.skip(data - used + pad(data))?;
        }
        layer.finish().map(|()| true)
    }

    /// Applies one entry; false when a single pass must stop.
    fn entry(&mut self, layer: &mut Layer<'_>, root: BorrowedFd<'_>, pass: Pass, e: &Entry, link: &[u8], xattrs: bool) -> Result<bool> {
        let path = whole(&self.path, "tar entry name")?;
        let (parent, base) = split(path);
        self.whiteout = base.starts_with(b".wh.");
        if let Some(hidden) = base.strip_prefix(b".wh.") {
            if pass == Pass::Additions {
                return Ok(true);
            }
            // An opaque marker clears its directory, which is not followed if it is a symlink
            // (this layer makes it a directory: clearing the link's target would be wrong).
            let opaque = hidden == b".wh..opq";
            if pass == Pass::Single {
                let mut target = Buf::<NAME>::new();
                if opaque {
                    target.s(parent);
                } else {
                    target.s(parent).s(if parent.is_empty() { &b""[..] } else { b"/" }).s(hidden);
                }
                if self.seen.could_hit(whole(&target, "whiteout target")?, opaque) {
                    return Ok(false);
                }
            }
            let (up, last) = if opaque { split(parent) } else { (parent, &b""[..]) };
            let dir = match open_dir(root, up, false) {
                Ok(d) => d,
                Err(Errno::NOENT | Errno::NOTDIR) => return Ok(true),
                Err(e) => return Err(sys_at(t!("whiteout: open"), layer, path, e)),
            };
            let r = if opaque {
                let mut l = Buf::<256>::new();
                let name = if last.is_empty() { c"." } else { l.s(last).cstr().map_err(|_| err_at(t!("whiteout"), layer, path, t!("name longer than 255 bytes")))? };
                match fs::openat(&dir, name, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty()) {
                    Ok(d) => keep_times(d.as_fd(), || clear_dir(d.as_fd())),
                    Err(Errno::NOTDIR | Errno::LOOP | Errno::NOENT) => Ok(()),
                    Err(e) => Err(e),
                }
            } else {
                let mut n = Buf::<256>::new();
                n.s(hidden);
                if n.overflowed() || hidden.is_empty() || hidden == b"." || hidden == b".." {
                    return Err(err_at(t!("whiteout"), layer, path, t!("bad whiteout name")));
                }
                keep_times(dir.as_fd(), || match remove(dir.as_fd(), n.cstr()?) {
                    Err(Errno::NOENT) => Ok(()),
                    r => r,
                })
            };
            return r.map(|()| true).map_err(|er| sys_at(t!("whiteout: remove"), layer, path, er));
        }
        if pass == Pass::Deletions {
            return Ok(true);
        }
        if pass == Pass::Single {
            self.seen.record(path);
        }
        if path.is_empty() {
            // The rootfs itself ("./"): only its metadata.
            if e.kind != b'5' {
                return Err(err_at(t!("tar"), layer, b".", t!("the root entry is not a directory")));
            }
            let d = fs::openat(root, c".", OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
                .map_err(|er| sys_at(t!("open"), layer, b".", er))?;
            return self.meta_fd(layer, d.as_fd(), e, xattrs).map(|()| true);
        }
        let dir = open_dir(root, parent, true).map_err(|er| sys_at(t!("create parent of"), layer, path, er))?;
        let mut n = Buf::<256>::new();
        n.s(base);
        let Ok(name) = n.cstr() else {
            return Err(err_at(t!("tar"), layer, path, t!("name component longer than 255 bytes or with a NUL")));
        };
        // Making the entry changes its directory's times: they are put back (to what the
        // directory's own entry set), as tar does once at the end; nothing to remember here.
        let before = fs::fstat(&dir).map_err(|er| sys_at(t!("stat parent of"), layer, path, er))?;
        // What is there already goes, except a directory replaced by a directory (tar and the
        // image spec merge those).
        match fs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => {
                let is_dir = FileType::from_raw_mode(st.st_mode) == FileType::Directory;
                if !(is_dir && e.kind == b'5') {
                    remove(dir.as_fd(), name).map_err(|er| sys_at(t!("replace"), layer, path, er))?;
                }
            }
            Err(Errno::NOENT) => {}
            Err(er) => return Err(sys_at(t!("stat"), layer, path, er)),
        }
        self.create(layer, root, dir.as_fd(), name, e, link, xattrs)?;
        set_times(dir.as_fd(), &before).map_err(|er| sys_at(t!("set times of parent of"), layer, path, er))?;
        Ok(true)
    }

    /// Creates the entry `name` in `dir`, with its data, owner, mode, xattrs and times.
    #[allow(clippy::too_many_arguments)]
    fn create(&self, layer: &mut Layer<'_>, root: BorrowedFd<'_>, dir: BorrowedFd<'_>, name: &CStr, e: &Entry, link: &[u8], xattrs: bool) -> Result<()> {
        let path = whole(&self.path, "tar entry name")?;
        let ctx = |er| sys_at(t!("create"), layer, path, er);
        if xattrs && !matches!(e.kind, b'0' | b'5') {
            return Err(err_at(t!("tar"), layer, path, t!("xattrs are supported on files and directories only")));
        }
        match e.kind {
            b'0' => {
                let f = fs::openat(dir, name, OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::from_raw_mode(0o600)).map_err(ctx)?;
                let mut left = e.size;
                while left > 0 {
                    let c = layer.chunk()?;
                    if c.is_empty() {
                        return Err(err_at(t!("tar"), layer, path, t!("truncated file data")));
                    }
                    let k = (c.len() as u64).min(left) as usize;
                    write_all(f.as_fd(), &c[..k]).map_err(|er| sys_at(t!("write"), layer, path, er))?;
                    layer.consume(k);
                    left -= k as u64;
                }
                self.meta_fd(layer, f.as_fd(), e, xattrs)
            }
            b'5' => {
                match fs::mkdirat(dir, name, Mode::from_raw_mode(0o700)) {
                    Ok(()) | Err(Errno::EXIST) => {}
                    Err(er) => return Err(ctx(er)),
                }
                let d = fs::openat(dir, name, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty()).map_err(ctx)?;
                self.meta_fd(layer, d.as_fd(), e, xattrs)
            }
            b'2' => {
                let mut t = Buf::<NAME>::new();
                t.s(link);
                if link.is_empty() || t.len() == NAME || link.contains(&0) {
                    return Err(err_at(t!("tar"), layer, path, t!("symlink target empty, too long or with a NUL byte")));
                }
                fs::symlinkat(t.cstr().fits(t!("symlink target:"))?, dir, name).map_err(ctx)?;
                self.meta_at(layer, dir, name, e, false)
            }
            b'1' => {
                let mut t = Buf::<NAME>::new();
                if let Err(why) = clean(&mut t, link) {
                    return Err(err_at(t!("hardlink"), layer, path, why));
                }
                let (tp, tb) = split(whole(&t, "hardlink target")?);
                if tb.is_empty() {
                    return Err(err_at(t!("hardlink"), layer, path, t!("target is the root")));
                }
                let td = open_dir(root, tp, false).map_err(|er| sys_at(t!("hardlink: target of"), layer, path, er))?;
                let mut tn = Buf::<256>::new();
                tn.s(tb);
                if tn.overflowed() {
                    return Err(err_at(t!("hardlink"), layer, path, t!("target name component longer than 255 bytes")));
                }
                fs::linkat(&td, tn.cstr().fits(t!("hardlink target:"))?, dir, name, AtFlags::empty()).map_err(|er| sys_at(t!("hardlink"), layer, path, er))
            }
            b'3' | b'4' | b'6' => {
                let (ty, dev) = match e.kind {
                    b'3' => (FileType::CharacterDevice, fs::makedev(e.major, e.minor)),
                    b'4' => (FileType::BlockDevice, fs::makedev(e.major, e.minor)),
                    _ => (FileType::Fifo, 0),
                };
                fs::mknodat(dir, name, ty, Mode::from_raw_mode(0o600), dev).map_err(ctx)?;
                self.meta_at(layer, dir, name, e, true)
            }
            _ => Err(err_at(t!("tar"), layer, path, t!("unsupported tar entry type"))),
        }
    }

    /// Owner, then mode (chown clears setuid), then xattrs (chown clears security.capability),
    /// then times, on an open file or directory.
    fn meta_fd(&self, layer: &Layer<'_>, fd: BorrowedFd<'_>, e: &Entry, xattrs: bool) -> Result<()> {
        let path = whole(&self.path, "tar entry name")?;
        fs::fchown(fd, Some(Uid::from_raw(e.uid as u32)), Some(Gid::from_raw(e.gid as u32))).map_err(|er| sys_at(t!("chown"), layer, path, er))?;
        fs::fchmod(fd, Mode::from_raw_mode(e.mode)).map_err(|er| sys_at(t!("chmod"), layer, path, er))?;
        if xattrs {
            let mut fail = None;
            pax_records(&self.pax[..self.pax_len], |k, v| {
                if let Some(x) = k.strip_prefix(b"SCHILY.xattr.") {
                    let mut n = Buf::<256>::new();
                    n.s(x);
                    match n.cstr() {
                        Err(_) => fail = Some(Errno::INVAL), // too long, or a NUL inside
                        Ok(c) => {
                            if let Err(er) = fs::fsetxattr(fd, c, v, XattrFlags::empty()) {
                                fail = Some(er);
                            }
                        }
                    }
                }
                true
            });
            if let Some(er) = fail {
                return Err(sys_at(t!("set xattr on"), layer, path, er));
            }
        }
        let t = Timespec { tv_sec: e.mtime, tv_nsec: 0 };
        fs::futimens(fd, &Timestamps { last_access: t, last_modification: t }).map_err(|er| sys_at(t!("set times of"), layer, path, er))
    }

    /// The same for a symlink or a device node, by name in its directory.
    fn meta_at(&self, layer: &Layer<'_>, dir: BorrowedFd<'_>, name: &CStr, e: &Entry, chmod: bool) -> Result<()> {
        let path = whole(&self.path, "tar entry name")?;
        fs::chownat(dir, name, Some(Uid::from_raw(e.uid as u32)), Some(Gid::from_raw(e.gid as u32)), AtFlags::SYMLINK_NOFOLLOW)
            .map_err(|er| sys_at(t!("chown"), layer, path, er))?;
        if chmod {
            // A node this unpacking just made, in a directory nobody else writes to.
            fs::chmodat(dir, name, Mode::from_raw_mode(e.mode), AtFlags::empty()).map_err(|er| sys_at(t!("chmod"), layer, path, er))?;
        }
        let t = Timespec { tv_sec: e.mtime, tv_nsec: 0 };
        fs::utimensat(dir, name, &Timestamps { last_access: t, last_modification: t }, AtFlags::SYMLINK_NOFOLLOW)
            .map_err(|er| sys_at(t!("set times of"), layer, path, er))
    }
}

/// A directory inside the root (the root itself for ""), created if asked.
fn open_dir(root: BorrowedFd<'_>, p: &[u8], create: bool) -> core::result::Result<OwnedFd, Errno> {
    if p.is_empty() {
        fs::openat(root, c".", OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
    } else if create {
        resolve::open_or_create(root, p, Make::Dir)
    } else {
        resolve::open(root, p)
    }
}

/// Puts the times of `dir` (O_PATH or open) back to what `st` says.
fn set_times(dir: BorrowedFd<'_>, st: &fs::Stat) -> core::result::Result<(), Errno> {
    let t = |s: i64, ns: u64| Timespec { tv_sec: s, tv_nsec: ns as _ };
    let times = Timestamps {
        last_access: t(st.st_atime as i64, st.st_atime_nsec as u64),
        last_modification: t(st.st_mtime as i64, st.st_mtime_nsec as u64),
    };
    fs::utimensat(dir, c".", &times, AtFlags::empty())
}

/// Runs `f`, which changes what is in `dir`, keeping the directory's times.
fn keep_times(dir: BorrowedFd<'_>, f: impl FnOnce() -> core::result::Result<(), Errno>) -> core::result::Result<(), Errno> {
    let st = fs::fstat(dir)?;
    f()?;
    set_times(dir, &st)
}

/// Removes `name` in `dir` (a whole tree for a directory), never following a symlink.
pub fn remove(dir: BorrowedFd<'_>, name: &CStr) -> core::result::Result<(), Errno> {
    match fs::unlinkat(dir, name, AtFlags::empty()) {
        Err(Errno::ISDIR) | Err(Errno::PERM) => {}
        r => return r,
    }
    let d = fs::openat(dir, name, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty())?;
    clear_dir(d.as_fd())?;
    fs::unlinkat(dir, name, AtFlags::REMOVEDIR)
}

/// Removes everything inside the open directory `d`, however deep (names up to 4096 bytes
/// nest 2048 levels): recursion stops DEPTH levels down, where a directory is moved up into
/// `d` and removed from there on a later round.
pub fn clear_dir(d: BorrowedFd<'_>) -> core::result::Result<(), Errno> {
    clear(d, d, 0, &mut 0)
}

fn clear(top: BorrowedFd<'_>, d: BorrowedFd<'_>, depth: usize, moved: &mut u32) -> core::result::Result<(), Errno> {
    let mut buf = [MaybeUninit::<u8>::uninit(); 2048];
    loop {
        fs::seek(d, SeekFrom::Start(0))?;
        let mut it = RawDir::new(d, &mut buf);
        let mut removed = false;
        while let Some(ent) = it.next() {
            let ent = ent?;
            let n = ent.file_name();
            if n == c"." || n == c".." {
                continue;
            }
            removed = true;
            match fs::unlinkat(d, n, AtFlags::empty()) {
                Err(Errno::ISDIR) | Err(Errno::PERM) => {}
                r => {
                    r?;
                    continue;
                }
            }
            if depth < DEPTH {
                let sub = fs::openat(d, n, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty())?;
                clear(top, sub.as_fd(), depth + 1, moved)?;
                fs::unlinkat(d, n, AtFlags::REMOVEDIR)?;
                continue;
            }
            loop {
                let mut t = Buf::<32>::new();
                t.s(b".mote-image-deep.").u(*moved as u64);
                *moved += 1;
                match fs::renameat_with(d, n, top, t.cstr()?, fs::RenameFlags::NOREPLACE) {
                    Err(Errno::EXIST) => {}
                    r => break r?,
                }
            }
        }
        if !removed {
            return Ok(());
        }
    }
}
