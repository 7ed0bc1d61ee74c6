//! The runtime binary out of the container's reach (CVE-2019-5736): before anything of a
//! container is made, mote re-executes itself from a file nobody can write. /proc/self/exe of
//! every process it forks then names that file, so `args: ["/proc/self/exe"]` or a
//! `#!/proc/self/exe` script in the image runs it at most, and the host's binary is never
//! reachable.
//!
//! That file is, where the kernel allows it, mote's own file seen through an overlayfs with no
//! upper layer, mounted nowhere (exe::overlay_view): its superblock is read-only for good, so
//! reopening the file for writing fails with EROFS, and its pages are the page cache the host's
//! file already has. Otherwise (no overlayfs or fsopen: before Linux 5.2, qemu-user; no
//! CAP_SYS_ADMIN; a path overlayfs will not take as a layer) it is a sealed memfd copy
//! (F_SEAL_WRITE and friends), made before the cgroup exists, so its ~190 KiB are charged to
//! the caller, not to the container, and kept private for as long as mote runs.
//!
//! A binary on a filesystem Linux cannot write at all (squashfs, EROFS, cramfs, ISO 9660: no
//! write support in their drivers, whatever the mount flags say or become) needs no copy: every
//! reopen of it for writing fails with EROFS. That is the usual embedded image; there mote skips
//! the copy and the exec (~0.2 ms CPU and 7 syscalls per container here), and a foreground `run`
//! waits with its text in the shared page cache instead of a private ~190 KiB memfd. A read-only
//! mount of a writable filesystem does not count: it can be remounted read-write later while a
//! container still holds the file. Nor does mote copy itself when started from a sealed copy
//! already: mote-init makes one for all its services to share (init/src/system/supervisor.rs).

use core::mem::MaybeUninit;

use mote_sys::exe::{is_sealed, overlay_view, sealed_copy, unwritable, Step};
use mote_sys::io::Buf;
use mote_sys::linux_raw_sys::general::{OVERLAYFS_SUPER_MAGIC, TMPFS_MAGIC};
use mote_sys::raw::Errno;
use mote_sys::rustix::fd::AsFd;
use mote_sys::rustix::fs::{self, Mode, OFlags, Stat, StatFs};
use mote_sys::{num, Args};

use crate::error::{Ctx, Error, Result};

/// The environment variable by which mote, re-executed from the overlayfs view it made, knows
/// it: the view's device number (its own for each overlay, for as long as that lives). Only
/// mote's own re-exec sets it; mote hands its environment to nothing else.
const VIEW: &[u8] = b"MOTE_EXE_VIEW";

/// Re-executes mote from its overlayfs view or from a sealed copy unless it already runs from
/// one (its own, or mote-init's shared copy) or from a filesystem that cannot be written.
/// Returns only then, or where the copy cannot run (a user-mode emulator without binfmt_misc:
/// the kernel itself cannot execute this binary, so nothing inside the container can either).
pub fn reexec(a: &Args) -> Result<()> {
    let exe = fs::open(c"/proc/self/exe", OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()).ctx(t!("open"), "/proc/self/exe")?;
    // A memfd is on tmpfs: only there can mote be running from a sealed copy.
    let on = fs::fstatfs(&exe).ctx(t!("statfs"), "/proc/self/exe")?;
    if on.f_type as u64 == TMPFS_MAGIC as u64 && is_sealed(exe.as_fd()) || unwritable(&on) {
        return Ok(());
    }
    let st = fs::fstat(&exe).ctx(t!("stat"), "/proc/self/exe")?;
    if in_view(a, &st, &on) {
        return Ok(());
    }
    exec_view(a, &st);
    let copy = sealed_copy(exe.as_fd(), st.st_size as usize).map_err(|(step, e)| {
        let what = match step {
            Step::Memfd => t!("protect the runtime binary: memfd_create"),
            Step::Copy => t!("protect the runtime binary: copy"),
            Step::Seal => t!("protect the runtime binary: seal"),
        };
        match e {
            Some(e) => Error::sys(what, "/proc/self/exe", e),
            None => Error::msg(what, "/proc/self/exe", t!("short copy")),
        }
    })?;
    let e = match a.exec_fd(copy.as_fd(), None) {
        // execveat is missing before Linux 3.19 (and in qemu-user 7.2): the same through /proc.
        Errno::NOSYS => match crate::linux::resolve::fd_path(&copy).cstr() {
            Ok(p) => a.exec_path(p),
            Err(_) => Errno::NAMETOOLONG, // "/proc/self/fd/N" always fits 32 bytes
        },
        e => e,
    };
    match e {
        // Only a binary the kernel cannot run natively (qemu-user runs it) fails this way.
        Errno::NOEXEC => Ok(()),
        e => Err(Error::sys(t!("protect the runtime binary: exec"), "memfd", e)),
    }
}

/// Whether mote runs from the view the mote before this exec made: a read-only overlayfs whose
/// device is the one that mote named in [`VIEW`].
fn in_view(a: &Args, st: &Stat, on: &StatFs) -> bool {
    const ST_RDONLY: u64 = 1;
    on.f_type as u64 == OVERLAYFS_SUPER_MAGIC as u64
        && on.f_flags as u64 & ST_RDONLY != 0
        && a.env(VIEW).and_then(num::u64) == Some(st.st_dev as u64)
}

/// Re-executes mote from a read-only overlayfs view of its directory (with /dev beneath:
/// overlayfs wants two layers where it has no upper one, and mote's on top keeps its file
/// seen). Returns where that cannot be done, for the sealed copy to be made instead: no
/// overlayfs or fsopen, no CAP_SYS_ADMIN, a path longer than 512 bytes or one with ':' or '\'
/// (overlayfs's separator and escape), a directory overlayfs refuses as a layer, a file no
/// longer the one running (replaced since mote started).
fn exec_view(a: &Args, st: &Stat) {
    let mut link = [MaybeUninit::<u8>::uninit(); 512];
    let Ok((path, _)) = fs::readlinkat_raw(fs::CWD, c"/proc/self/exe", &mut link[..]) else { return };
    let Some(slash) = path.iter().rposition(|&c| c == b'/') else { return };
    if path.iter().any(|&c| c == b':' || c == b'\\') {
        return;
    }
    let (mut lower, mut name) = (Buf::<520>::new(), Buf::<512>::new());
    lower.s(&path[..slash.max(1)]).s(":/dev");
    name.s(&path[slash + 1..]);
    let (Ok(lower), Ok(name)) = (lower.cstr(), name.cstr()) else { return };
    let Ok(view) = overlay_view(lower, name) else { return };
    match fs::fstat(&view) {
        Ok(v) if v.st_ino == st.st_ino && v.st_size == st.st_size => {
            let mut var = Buf::<40>::new();
            if let Ok(var) = var.s(VIEW).c(b'=').u(v.st_dev as u64).cstr() {
                let _ = a.exec_fd(view.as_fd(), Some(var));
            }
        }
        _ => {}
    }
}
