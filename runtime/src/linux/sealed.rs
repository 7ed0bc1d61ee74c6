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
//! container still holds the file. Nor does mote copy itself when started from a sealed copy
//! already: mote-init makes one for all its services to share (init/src/system/supervisor.rs).

use mote_sys::exe::{is_sealed, sealed_copy, unwritable, Step};
use mote_sys::raw::Errno;
use mote_sys::rustix::fd::AsFd;
use mote_sys::rustix::fs::{self, Mode, OFlags};
use mote_sys::Args;

use crate::error::{Ctx, Error, Result};

/// Re-executes mote from a sealed copy unless it already runs from one (its own, or mote-init's
/// shared one) or from a filesystem that cannot be written. Returns only then, or where the copy
/// cannot run (a user-mode emulator without binfmt_misc: the kernel itself cannot execute this
/// binary, so nothing inside the container can either).
pub fn reexec(a: &Args) -> Result<()> {
    let exe = fs::open(c"/proc/self/exe", OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()).ctx(t!("open"), "/proc/self/exe")?;
    if is_sealed(exe.as_fd()) || unwritable(exe.as_fd()) {
        return Ok(());
    }
    let size = fs::fstat(&exe).ctx(t!("stat"), "/proc/self/exe")?.st_size as usize;
    let copy = sealed_copy(exe.as_fd(), size).map_err(|(step, e)| {
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
