//! The runtime binary out of the container's reach (CVE-2019-5736): before anything of a
//! container is made, mote re-executes itself from a sealed memfd copy. /proc/self/exe of every
//! process it forks then names that copy, which nobody can write (F_SEAL_WRITE and friends), so
//! `args: ["/proc/self/exe"]` or a `#!/proc/self/exe` script in the image runs the copy at most,
//! and the host's binary is never reachable. The copy is made before the cgroup exists, so its
//! pages are charged to the caller, not to the container.
//!
//! A binary on a filesystem Linux cannot write at all (squashfs, EROFS, cramfs, ISO 9660: no
//! write support in their drivers, whatever the mount flags say or become) needs no copy: every
//! reopen of it for writing fails with EROFS. That is the usual embedded image; there mote skips
//! the copy and the exec (~0.2 ms CPU and 7 syscalls per container here), and a foreground `run`
//! waits with its text in the shared page cache instead of a private ~190 KiB memfd. A read-only
//! mount of a writable filesystem does not count: it can be remounted read-write later while a
//! container still holds the file.

use mote_sys::linux_raw_sys::general as g;
use mote_sys::raw::Errno;
use mote_sys::rustix::fd::AsFd;
use mote_sys::rustix::fs::{self, MemfdFlags, Mode, OFlags, SealFlags};
use mote_sys::Args;

use crate::error::{Ctx, Error, Result};

const SEALS: SealFlags = SealFlags::SEAL.union(SealFlags::SHRINK).union(SealFlags::GROW).union(SealFlags::WRITE);

/// Re-executes mote from a sealed copy unless it already runs from one. Returns only when it
/// already does, or where the copy cannot run (a user-mode emulator without binfmt_misc: the
/// kernel itself cannot execute this binary, so nothing inside the container can either).
pub fn reexec(a: &Args) -> Result<()> {
    let exe = fs::open(c"/proc/self/exe", OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()).ctx(t!("open"), "/proc/self/exe")?;
    if fs::fcntl_get_seals(&exe).is_ok_and(|s| s.contains(SEALS)) {
        return Ok(());
    }
    if fs::fstatfs(&exe).is_ok_and(|s| unwritable(s.f_type as u64)) {
        return Ok(());
    }
    // MFD_EXEC: kernels with vm.memfd_noexec=1 make memfds non-executable by default; older
    // kernels do not know the flag (EINVAL).
    let flags = MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING;
    let copy = match fs::memfd_create(c"mote", flags | MemfdFlags::EXEC) {
        Err(Errno::INVAL) => fs::memfd_create(c"mote", flags),
        r => r,
    }
    .ctx(t!("protect the runtime binary: memfd_create"), "/proc/self/exe")?;
    let size = fs::fstat(&exe).ctx(t!("stat"), "/proc/self/exe")?.st_size as usize;
    let mut done = 0;
    while done < size {
        match fs::sendfile(&copy, &exe, None, size - done) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(Errno::INTR) => {}
            Err(e) => return Err(Error::sys(t!("protect the runtime binary: copy"), "/proc/self/exe", e)),
        }
    }
    if done != size {
        return Err(Error::msg(t!("protect the runtime binary: copy"), "/proc/self/exe", t!("short copy")));
    }
    fs::fcntl_add_seals(&copy, SEALS).ctx(t!("protect the runtime binary: seal"), "memfd")?;
    let e = match a.exec_fd(copy.as_fd()) {
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

/// Whether `magic` (statfs's f_type) names a filesystem whose Linux driver cannot write.
fn unwritable(magic: u64) -> bool {
    [g::SQUASHFS_MAGIC, g::EROFS_SUPER_MAGIC_V1, g::CRAMFS_MAGIC, g::ISOFS_SUPER_MAGIC]
        .iter()
        .any(|&m| m as u64 == magic)
}

