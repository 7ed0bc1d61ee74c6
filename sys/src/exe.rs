//! A sealed copy of an executable (CVE-2019-5736): what a container can reach through
//! /proc/PID/exe of a runtime process must be a file nobody can write. mote makes one of itself
//! (runtime/src/linux/sealed.rs); mote-init makes one of mote for all its services to share.

use rustix::fd::{BorrowedFd, OwnedFd};
use rustix::fs::{self, MemfdFlags, SealFlags};
use rustix::io::Errno;

/// The seals that make a memfd's contents final.
pub const SEALS: SealFlags = SealFlags::SEAL.union(SealFlags::SHRINK).union(SealFlags::GROW).union(SealFlags::WRITE);

/// Whether `fd` is a file with [`SEALS`] (a copy made here, or by whoever started us).
pub fn is_sealed(fd: BorrowedFd<'_>) -> bool {
    fs::fcntl_get_seals(fd).is_ok_and(|s| s.contains(SEALS))
}

/// Whether `fd` is on a filesystem whose Linux driver cannot write (squashfs, EROFS, cramfs,
/// ISO 9660): reopening it for writing fails with EROFS whatever the mount flags say or become,
/// so it needs no copy. A read-only mount of a writable filesystem does not count: it can be
/// remounted read-write while a container holds the file.
pub fn unwritable(fd: BorrowedFd<'_>) -> bool {
    use linux_raw_sys::general as g;
    let magic = fs::fstatfs(fd).map_or(0, |s| s.f_type as u64);
    [g::SQUASHFS_MAGIC, g::EROFS_SUPER_MAGIC_V1, g::CRAMFS_MAGIC, g::ISOFS_SUPER_MAGIC].iter().any(|&m| m as u64 == magic)
}

/// The step of [`sealed_copy`] that failed (with its errno; a short copy is `Copy` with none).
pub enum Step {
    Memfd,
    Copy,
    Seal,
}

/// A memfd (close-on-exec) holding the `size` bytes of `src`, sealed.
pub fn sealed_copy(src: BorrowedFd<'_>, size: usize) -> Result<OwnedFd, (Step, Option<Errno>)> {
    // MFD_EXEC: kernels with vm.memfd_noexec=1 make memfds non-executable by default; older
    // kernels do not know the flag (EINVAL).
    let flags = MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING;
    let copy = match fs::memfd_create(c"mote", flags | MemfdFlags::EXEC) {
        Err(Errno::INVAL) => fs::memfd_create(c"mote", flags),
        r => r,
    }
    .map_err(|e| (Step::Memfd, Some(e)))?;
    let mut done = 0;
    while done < size {
        match fs::sendfile(&copy, src, None, size - done) {
            Ok(0) => return Err((Step::Copy, None)), // the file is shorter than it was
            Ok(n) => done += n,
            Err(Errno::INTR) => {}
            Err(e) => return Err((Step::Copy, Some(e))),
        }
    }
    fs::fcntl_add_seals(&copy, SEALS).map_err(|e| (Step::Seal, Some(e)))?;
    Ok(copy)
}
