//! mote-image: turns an image file into an OCI bundle, so that a board with nothing but mote
//! can go from `podman save` output to a running container.
//!
//!   mote-image bundle IMAGE DIR [--platform os/arch[/variant]] [--ref TAG]
//!
//! IMAGE is an OCI layout directory, an OCI archive (a tar of one) or a docker/podman-save
//! archive. main reads top to bottom: find the image's manifest and config, unpack the layers
//! into a temporary directory next to DIR (`.DIR.mote-image`), write config.json, rename the
//! result to DIR. Any failure removes the temporary directory: there is never a half-written
//! bundle.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

// Shared with the runtime, included as they are (no copy): the error convention, the JSON
// reader, in-root path resolution and `mote spec`'s default config.
#[macro_use]
extern crate mote_sys; // t!: printed text, packed (sys/src/txt.rs)
#[path = "../../runtime/src/error.rs"]
#[allow(dead_code)]
mod error;
#[path = "../../runtime/src/json.rs"]
#[allow(dead_code)]
mod json;
#[path = "../../runtime/src/linux/resolve.rs"]
#[allow(dead_code)]
mod resolve;
mod spec {
    pub mod limits {
        /// Longest path resolve.rs builds (the runtime's bound, spec/limits.rs).
        pub const PATH: usize = 4096;
    }
}
#[path = "../../runtime/src/cli/spec_json.rs"]
#[allow(dead_code)]
mod spec_json;

mod config;
mod layout;
mod sha256;
mod stream;
mod tar;

use core::ffi::CStr;

use mote_sys::io::{self, Buf};
use mote_sys::rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use mote_sys::rustix::fs::{self, AtFlags, Mode, OFlags, RenameFlags};
use mote_sys::rustix::io::Errno;
use mote_sys::Args;

use error::{Ctx, Error, Fits, Result};
use json::Val;
use layout::{field, str_field, Platform, Source};
use stream::Layer;
use tar::{Pass, Tar};

mote_sys::main!(main);

// A fixed line: reading the PanicInfo would pull in core::fmt (16 KiB here).
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    mote_sys::panic::fixed(b"mote-image: panic\n")
}

const USAGE: &str = "usage: mote-image bundle IMAGE DIR [--platform os/arch[/variant]] [--ref TAG] [--reuse]

Writes an OCI bundle (DIR/rootfs, DIR/config.json) from IMAGE: an OCI layout directory, an
OCI archive, or a docker-save/podman-save archive. DIR must not exist, unless --reuse.
  --platform   the platform to take from a multi-platform image (default: this machine's)
  --ref TAG    the image to take when the file holds several (a tag or a full name)
  --reuse      DIR may be a bundle mote-image made: kept as it is when it holds the same image
               (same config digest), else replaced by the new one in one rename
";

/// The annotation naming the image a bundle was made from (sha256 of its config: the image ID).
const ID_KEY: &[u8] = b"org.mote.image.id";

/// Scratch for index.json, manifests and /etc/passwd; the rest of the arena holds the config.
const SCRATCH: usize = 256 * 1024;

fn main(a: Args) -> i32 {
    match a.get(1) {
        Some(b"--version" | b"-v" | b"version") => {
            io::out(concat!("mote-image version ", env!("CARGO_PKG_VERSION"), "\n").as_bytes());
            return 0;
        }
        Some(b"--help" | b"-h" | b"help") => {
            io::out(USAGE.as_bytes());
            return 0;
        }
        _ => {}
    }
    let r = match a.get(1) {
        Some(b"bundle") => bundle(&a),
        Some(v) => Err(Error::msg(t!("unknown command"), v, t!("see mote-image --help"))),
        None => Err(Error::msg(t!(""), b"", t!("no command: see mote-image --help"))),
    };
    match r {
        Ok(()) => 0,
        Err(e) => {
            let mut b = Buf::<1024>::new();
            b.s(b"mote-image: ");
            e.render(&mut b);
            b.c(b'\n');
            io::err(b.lossy()); // a message: cut at its bound if need be
            1
        }
    }
}

fn bundle(a: &Args) -> Result<()> {
    let (mut image, mut dir, mut plat, mut tag): (Option<&CStr>, Option<&CStr>, Option<Platform<'_>>, Option<&[u8]>) = (None, None, None, None);
    let mut reuse = false;
    let mut i = 2;
    while let Some(arg) = a.get(i) {
        let (flag, inline) = match arg.iter().position(|&c| c == b'=') {
            Some(e) if arg.starts_with(b"--") => (&arg[..e], Some(&arg[e + 1..])),
            _ => (arg, None),
        };
        let mut value = || -> Result<&'static [u8]> {
            if let Some(v) = inline {
                return Ok(v);
            }
            i += 1;
            a.get(i).ok_or_else(|| Error::msg(t!("flag"), flag, t!("needs a value")))
        };
        match flag {
            b"--platform" => {
                let v = value()?;
                plat = Some(Platform::parse(v).ok_or_else(|| Error::msg(t!("--platform"), v, t!("expected os/arch[/variant]")))?);
            }
            b"--ref" => tag = Some(value()?),
            b"--reuse" => reuse = true,
            _ if arg.starts_with(b"-") => return Err(Error::msg(t!("unknown flag"), arg, t!("see mote-image --help"))),
            _ if image.is_none() => image = a.cstr(i),
            _ if dir.is_none() => dir = a.cstr(i),
            _ => return Err(Error::msg(t!("unexpected argument"), arg, t!("usage: mote-image bundle IMAGE DIR"))),
        }
        i += 1;
    }
    let (Some(image), Some(dir)) = (image, dir) else {
        return Err(Error::msg(t!(""), b"", t!("usage: mote-image bundle IMAGE DIR [--platform P] [--ref TAG] [--reuse]")));
    };
    let plat = plat.unwrap_or_else(Platform::host);
    // Modes come from the image, exactly.
    mote_sys::rustix::process::umask(Mode::empty());

    let src = Source::open(image)?;
    let arena = mote_sys::mem::take_arena().ok_or_else(|| Error::msg(t!(""), b"", t!("arena taken")))?;
    let (scratch, cfg_buf) = arena.split_at_mut(SCRATCH);
    let mut img = if src.has(b"index.json") {
        layout::oci(&src, scratch, &plat, tag)?
    } else if src.has(b"manifest.json") {
        layout::docker(&src, scratch, tag)?
    } else {
        return Err(Error::msg(t!("image"), image.to_bytes(), t!("neither index.json (OCI) nor manifest.json (docker archive) in it")));
    };
    let (cb, cr, id) = layout::read_json(&src, &img.config, cfg_buf, t!("image config"))?;
    let cfg = Val::root(cb, cr);
    check_platform(cfg, &plat, &img.config)?;
    // A docker archive's layers carry no digest: the config's diff_ids (sha256 of each
    // uncompressed layer) check them instead. An OCI layer's descriptor digest is enough.
    if img.layers.iter().any(|l| l.digest.is_none()) {
        let ids = || field(cfg, "rootfs").and_then(|r| field(r, "diff_ids")).and_then(|d| d.arr());
        if ids().map(|d| d.count()) != Some(img.layers.len()) {
            return Err(Error::msg(t!("image config"), img.config.path()?, t!("rootfs.diff_ids and the manifest's layers differ in number")));
        }
        for (l, id) in img.layers.iter_mut().zip(ids().into_iter().flatten()) {
            l.diff = Some(id.bytes().and_then(layout::digest).ok_or_else(|| Error::msg(t!("image config"), b"rootfs.diff_ids", t!("not a sha256 digest")))?);
        }
    }

    // The bundle is built next to DIR under a temporary name, renamed at the end.
    let d = dir.to_bytes();
    let d = if d.len() > 1 { d.strip_suffix(b"/").unwrap_or(d) } else { d };
    let (parent, base) = match d.iter().rposition(|&c| c == b'/') {
        Some(0) => (&b"/"[..], &d[1..]),
        Some(p) => (&d[..p], &d[p + 1..]),
        None => (&b"."[..], d),
    };
    let mut pb = Buf::<4096>::new();
    pb.s(parent);
    let pfd = fs::open(pb.cstr().fits(t!("image path:"))?, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty()).ctx(t!("open parent of"), d)?;
    // One mote-image at a time per parent directory (the lock goes with the process): a
    // temporary directory found under the lock was left by one that died (a power cut on a
    // board) and is removed, instead of piling up or blocking the next boot.
    fs::flock(&pfd, fs::FlockOperation::LockExclusive).ctx(t!("lock"), parent)?;
    let mut bn = Buf::<256>::new();
    bn.s(base);
    if base.is_empty() {
        return Err(Error::msg(t!("bundle directory"), d, t!("bad name")));
    }
    let bn = bn.cstr().map_err(|_| Error::msg(t!("bundle directory"), d, t!("name longer than 255 bytes or with a NUL")))?;
    let mut id_s = Buf::<71>::new();
    id_s.s(b"sha256:").s(sha256::hex(&id));
    let id_s = id_s.get().fits(t!("image id:"))?;
    let exists = match fs::statat(&pfd, bn, AtFlags::SYMLINK_NOFOLLOW) {
        Err(Errno::NOENT) => false,
        Ok(_) if reuse => true,
        Ok(_) => return Err(Error::msg(t!("bundle directory"), d, t!("already exists (--reuse replaces a bundle mote-image made)"))),
        Err(e) => return Err(Error::sys(t!("stat"), d, e)),
    };
    if exists && bundle_id(pfd.as_fd(), bn, d, scratch)? == id_s {
        return Ok(());
    }
    // The temporary name: "." + the bundle's name + ".mote-image", which must fit a file name.
    let mut tmp = Buf::<256>::new();
    tmp.c(b'.').s(bn.to_bytes()).s(b".mote-image");
    let tmp = tmp.cstr().map_err(|_| Error::msg(t!("bundle directory"), d, t!("name too long for its temporary name (over 255 bytes with .mote-image)")))?;
    match tar::remove(pfd.as_fd(), tmp) {
        Ok(()) | Err(Errno::NOENT) => {}
        Err(e) => return Err(Error::sys(t!("remove stale"), tmp.to_bytes(), e)),
    }
    fs::mkdirat(&pfd, tmp, Mode::from_raw_mode(0o700)).ctx(t!("create"), tmp.to_bytes())?;
    let flags = if exists { RenameFlags::EXCHANGE } else { RenameFlags::NOREPLACE };
    let r = build(&src, &img, pfd.as_fd(), tmp, cfg, id_s, scratch)
        .and_then(|()| fs::renameat_with(&pfd, tmp, &pfd, bn, flags).ctx(t!("rename bundle to"), d));
    // After an exchange the temporary name holds the old bundle: it goes too.
    if r.is_err() || exists {
        if let Err(e) = tar::remove(pfd.as_fd(), tmp) {
            let mut b = Buf::<512>::new();
            b.s(b"mote-image: ");
            error::Error::sys(t!("cannot remove"), tmp.to_bytes(), e).render(&mut b);
            b.c(b'\n');
            io::err(b.lossy());
        }
    }
    r
}

/// The config's os/architecture must be the platform's (a docker archive has no index).
fn check_platform(cfg: Val<'_>, plat: &Platform<'_>, at: &layout::Desc) -> Result<()> {
    let os = str_field(cfg, "os").unwrap_or(b"");
    let arch = str_field(cfg, "architecture").unwrap_or(b"");
    if plat.matches(os, arch, str_field(cfg, "variant")) {
        return Ok(());
    }
    let mut m = Buf::<320>::new();
    m.s(at.path.lossy()).s(b": image is for ").s(os).c(b'/').s(arch).s(b", wanted ");
    plat.render(&mut m);
    Err(Error::msg(t!("image config"), m.lossy(), t!("choose with --platform")))
}

/// The image id recorded in an existing bundle's config.json; an error if it has none (a
/// directory mote-image did not make is never replaced).
fn bundle_id<'s>(parent: BorrowedFd<'_>, name: &CStr, d: &[u8], scratch: &'s mut [u8]) -> Result<&'s [u8]> {
    let not_ours = || Error::msg(t!("bundle directory"), d, t!("exists and is not a bundle made by mote-image: not replaced"));
    let dir = fs::openat(parent, name, OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty()).map_err(|_| not_ours())?;
    let f = fs::openat(&dir, c"config.json", OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty()).map_err(|_| not_ours())?;
    let mut n = 0;
    loop {
        match mote_sys::rustix::io::read(&f, &mut scratch[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(Errno::INTR) => {}
            Err(e) => return Err(Error::sys(t!("read config.json in"), d, e)),
        }
        if n == scratch.len() {
            return Err(not_ours());
        }
    }
    let doc = &mut scratch[..n];
    let root = json::prepare(doc).map_err(|_| not_ours())?;
    let v = Val::root(doc, root);
    field(v, "annotations")
        .and_then(|a| a.obj()?.find(|(k, _)| k.to_bytes() == ID_KEY).and_then(|(_, v)| v.bytes()))
        .ok_or_else(not_ours)
}

fn build(src: &Source, img: &layout::Image, parent: BorrowedFd<'_>, tmp: &CStr, cfg: Val<'_>, id: &[u8], scratch: &mut [u8]) -> Result<()> {
    let bundle: OwnedFd = fs::openat(parent, tmp, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty())
        .ctx(t!("open"), tmp.to_bytes())?;
    fs::mkdirat(&bundle, c"rootfs", Mode::from_raw_mode(0o755)).ctx(t!("create"), b"rootfs")?;
    let root = fs::openat(&bundle, c"rootfs", OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty())
        .ctx(t!("open"), b"rootfs")?;
    let mut t = Tar::new();
    for (i, l) in img.layers.iter().enumerate() {
        let path = l.path()?;
        let o = src.get(path)?;
        // The first layer has nothing below it to white out. Above it, one pass, unless a
        // whiteout could hit the layer's own files: then deletions first, additions second.
        let passes: &[Pass] = if i == 0 { &[Pass::Additions] } else { &[Pass::Single, Pass::Deletions, Pass::Additions] };
        for &p in passes {
            let blob = src.blob(&o, l.size, l.digest, path)?;
            let mut layer = Layer::new(blob, l.diff);
            if t.apply(&mut layer, root.as_fd(), p)? && p == Pass::Single {
                break;
            }
        }
    }
    // The bundle stays 0700, as made: the image's setuid-root programs and device nodes are
    // exactly as it says, and no host user but root may reach them (runc's and containerd's
    // stores are root-only too). The runtime, as root, needs nothing more.
    config::write(bundle.as_fd(), root.as_fd(), cfg, (ID_KEY, id), scratch)
}
