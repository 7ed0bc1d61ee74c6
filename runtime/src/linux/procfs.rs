//! /proc inside the container, after the switch of root: everything mote writes there (sysctl,
//! oom_score_adj, LSM attributes) and every /proc/self/fd/N path it mounts through goes through
//! descriptors checked to be on a real procfs (fstatfs), opened component by component with
//! O_NOFOLLOW: an image or a mount cannot send those writes elsewhere (the CVE-2025-52881 class).

use mote_sys::io::Buf;
use mote_sys::raw::Errno;
use mote_sys::rustix::fd::OwnedFd;
use mote_sys::rustix::fs::{self, Mode, OFlags, CWD};

use crate::error::{Ctx, Error, Result};

pub const PROC_SUPER_MAGIC: i64 = 0x9fa0;

/// Whether `fd` is on a procfs.
fn is_proc(fd: &OwnedFd) -> bool {
    fs::fstatfs(fd).is_ok_and(|s| s.f_type as i64 == PROC_SUPER_MAGIC)
}

/// The id of the mount `fd` is on (statx, Linux 5.8), or 0 where the kernel does not say: a
/// procfs file bind-mounted over the one mote means to write passes the type check, not this
/// one (the CVE-2025-52881 class: a container process racing `mote exec`).
pub(super) fn mnt_id(fd: &OwnedFd) -> u64 {
    use mote_sys::rustix::fd::AsRawFd;
    use mote_sys::rustix::fs::{AtFlags, StatxFlags};
    match fs::statx(fd, c"", AtFlags::EMPTY_PATH, StatxFlags::MNT_ID) {
        Ok(s) if s.stx_mask & StatxFlags::MNT_ID.bits() != 0 && s.stx_mnt_id != 0 => return s.stx_mnt_id,
        _ => {}
    }
    // Before Linux 5.8, and under qemu-user (which does not copy the field): fdinfo's mnt_id.
    let mut p = Buf::<48>::new();
    p.s(b"/proc/self/fdinfo/").u(fd.as_raw_fd() as u64);
    let mut b = [0u8; 512];
    let Ok(Ok(f)) = p.cstr().map(|p| fs::open(p, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())) else { return 0 };
    let n = crate::state::read_all(&f, &mut b).unwrap_or(0);
    let line = b[..n].split(|&c| c == b'\n').find_map(|l| l.strip_prefix(b"mnt_id:"));
    line.map_or(0, |v| v.trim_ascii().iter().fold(0, |a, &c| a * 10 + c.wrapping_sub(b'0') as u64))
}

/// The container's /proc, refused unless it is a procfs mount (not a symlink, not a directory
/// of the image).
pub fn root() -> Result<OwnedFd> {
    match proc_dir() {
        Err(Errno::XDEV) => Err(Error::say(t!("/proc"), t!("is not a procfs mount (mote writes there only through a verified procfs)"))),
        r => r.ctx(t!("open"), "/proc"),
    }
}

/// /proc, not through a symlink, and a procfs (else XDEV).
#[inline(never)]
fn proc_dir() -> core::result::Result<OwnedFd, Errno> {
    let fd = fs::openat(CWD, c"/proc", OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty())?;
    if !is_proc(&fd) {
        return Err(Errno::XDEV);
    }
    Ok(fd)
}

/// Opens /proc/`rel` with `flags`, every component without following symlinks, on procfs and
/// on the mount /proc is (nothing mounted over any of them); a leading "self" is read as the
/// number it links to.
pub fn open(rel: &[u8], flags: OFlags) -> core::result::Result<OwnedFd, Errno> {
    let mut cur = proc_dir()?;
    let mnt = mnt_id(&cur);
    let mut comps = rel.split(|&c| c == b'/').filter(|c| !c.is_empty()).peekable();
    while let Some(c) = comps.next() {
        let mut name = Buf::<256>::new();
        if c == b"self" {
            let mut t = [core::mem::MaybeUninit::<u8>::uninit(); 32];
            let (pid, _) = fs::readlinkat_raw(&cur, c"self", &mut t)?;
            name.s(&*pid);
        } else if c == b".." || c == b"." {
            return Err(Errno::INVAL);
        } else {
            name.s(c);
        }
        let last = comps.peek().is_none();
        let f = if last { flags | OFlags::NOFOLLOW | OFlags::CLOEXEC } else { OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC };
        let next = fs::openat(&cur, name.cstr()?, f, Mode::empty())?;
        if !is_proc(&next) || mnt_id(&next) != mnt {
            return Err(Errno::XDEV);
        }
        cur = next;
    }
    Ok(cur)
}

/// Writes `val` to /proc/`rel` (see [`open`]).
pub fn write(rel: &[u8], val: &[u8]) -> Result<()> {
    let mut shown = Buf::<256>::new();
    shown.s(b"/proc/").s(rel);
    let f = match open(rel, OFlags::WRONLY) {
        Err(Errno::XDEV) => return Err(Error::msg(t!("write"), shown.lossy(), t!("not on the container's procfs mount (refused)"))),
        r => r.ctx(t!("open"), shown.lossy())?,
    };
    mote_sys::io::write_all(mote_sys::io::fd_of(&f), val).ctx(t!("write"), shown.lossy())
}
