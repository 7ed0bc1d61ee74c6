//! Paths inside a container's rootfs, resolved so that nothing in the image (a symlink, a `..`)
//! can lead outside it: openat2(RESOLVE_IN_ROOT) where the kernel has it, and where it does not
//! (qemu-user 7.2 gives ENOSYS) a component-by-component walk with O_NOFOLLOW that does the same:
//! `..` stops at the root, symlinks are read and resolved relative to the root.

use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicBool, Ordering};

use heapless::Vec;
use mote_sys::io::Buf;
use mote_sys::raw::Errno;
use mote_sys::rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use mote_sys::rustix::fs::{self, FileType, Mode, OFlags, ResolveFlags};
use mote_sys::rustix::io::fcntl_dupfd_cloexec;

use crate::spec::limits;

static NO_OPENAT2: AtomicBool = AtomicBool::new(false);
/// Symlinks followed in one resolution at most (the kernel's limit).
const MAX_LINKS: usize = 40;

/// Opens `path` inside `root` as an O_PATH descriptor (following symlinks, within the root).
pub fn open(root: BorrowedFd<'_>, path: &[u8]) -> Result<OwnedFd, Errno> {
    let mut p = Buf::<{ limits::PATH }>::new();
    p.s(path);
    let p = p.cstr()?;
    if !NO_OPENAT2.load(Ordering::Relaxed) {
        let r = fs::openat2(root, p, OFlags::PATH | OFlags::CLOEXEC, Mode::empty(),
            ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS);
        match r {
            Err(Errno::NOSYS) => NO_OPENAT2.store(true, Ordering::Relaxed),
            r => return r,
        }
    }
    walk(root, path)
}

/// The openat2 fallback: resolve component by component, never above `root`.
fn walk(root: BorrowedFd<'_>, path: &[u8]) -> Result<OwnedFd, Errno> {
    // As openat2: an empty path names nothing (not the root).
    if path.is_empty() {
        return Err(Errno::NOENT);
    }
    let mut rest = Buf::<{ limits::PATH }>::new();
    rest.s(path);
    let mut pos = 0;
    let mut parents: Vec<OwnedFd, 64> = Vec::new();
    let mut cur = fcntl_dupfd_cloexec(root, 0)?;
    let mut links = 0;
    loop {
        let b = rest.get()?;
        while pos < b.len() && b[pos] == b'/' {
            pos += 1;
        }
        if pos == b.len() {
            return Ok(cur);
        }
        let end = b[pos..].iter().position(|&c| c == b'/').map_or(b.len(), |e| pos + e);
        let mut comp = Buf::<256>::new();
        comp.s(&b[pos..end]);
        pos = end;
        match comp.get()? {
            b"." => continue,
            b".." => {
                // At the root, `..` is the root itself.
                if let Some(p) = parents.pop() {
                    cur = p;
                }
                continue;
            }
            _ => {}
        }
        let fd = fs::openat(&cur, comp.cstr()?, OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty())?;
        if FileType::from_raw_mode(fs::fstat(&fd)?.st_mode) != FileType::Symlink {
            parents.push(cur).map_err(|_| Errno::NAMETOOLONG)?;
            cur = fd;
            continue;
        }
        links += 1;
        if links > MAX_LINKS {
            return Err(Errno::LOOP);
        }
        let mut target = [MaybeUninit::<u8>::uninit(); limits::PATH];
        let (t, _) = fs::readlinkat_raw(&fd, c"", &mut target)?;
        let mut next = Buf::<{ limits::PATH }>::new();
        next.s(&*t).c(b'/').s(&rest.get()?[pos..]).get()?;
        if t.first() == Some(&b'/') {
            parents.clear();
            cur = fcntl_dupfd_cloexec(root, 0)?;
        }
        rest = next;
        pos = 0;
    }
}

/// What to create when a path is missing.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Make {
    Dir,
    File,
}

/// Opens `path` inside `root`, creating what is missing (directories, and the last component as
/// `last`), each creation made relative to its already-resolved parent.
pub fn open_or_create(root: BorrowedFd<'_>, path: &[u8], last: Make) -> Result<OwnedFd, Errno> {
    create_in(root, path, last, 0)
}

fn create_in(root: BorrowedFd<'_>, path: &[u8], last: Make, links: usize) -> Result<OwnedFd, Errno> {
    if links > MAX_LINKS {
        return Err(Errno::LOOP);
    }
    match open(root, path) {
        Err(Errno::NOENT) => {}
        r => return r,
    }
    let trimmed = trim(path);
    let (parent, name) = match trimmed.iter().rposition(|&c| c == b'/') {
        Some(i) => (&trimmed[..i], &trimmed[i + 1..]),
        None => (&b""[..], trimmed),
    };
    let dir = if parent.is_empty() { fcntl_dupfd_cloexec(root, 0)? } else { create_in(root, parent, Make::Dir, links)? };
    // A name longer than a file name may be is refused here, never cut to fit.
    let mut n = Buf::<256>::new();
    n.s(name);
    let n = n.cstr()?;
    let r = match last {
        Make::Dir => fs::mkdirat(&dir, n, Mode::from_raw_mode(0o755)),
        Make::File => fs::openat(&dir, n, OFlags::CREATE | OFlags::WRONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::from_raw_mode(0o644)).map(drop),
    };
    match r {
        Ok(()) => open(root, path),
        Err(Errno::EXIST) => match open(root, path) {
            // A dangling symlink: create what it points to, inside the root (an absolute target
            // is taken relative to the root, as resolution does).
            Err(Errno::NOENT) => {
                let mut t = [MaybeUninit::<u8>::uninit(); limits::PATH];
                let (target, _) = fs::readlinkat_raw(&dir, n, &mut t)?;
                let mut next = Buf::<{ limits::PATH }>::new();
                if target.first() != Some(&b'/') {
                    next.s(parent).c(b'/');
                }
                next.s(&*target);
                create_in(root, next.get()?, last, links + 1)?;
                open(root, path)
            }
            r => r,
        },
        Err(e) => Err(e),
    }
}

/// `path` without trailing slashes.
pub fn trim(path: &[u8]) -> &[u8] {
    let mut p = path;
    while p.len() > 1 && p.ends_with(b"/") {
        p = &p[..p.len() - 1];
    }
    p
}

/// The directory fd holding `path`'s last component and that component's name (for mknodat,
/// symlinkat), creating the parents.
pub fn parent_of<'p>(root: BorrowedFd<'_>, path: &'p [u8]) -> Result<(OwnedFd, &'p [u8]), Errno> {
    let t = trim(path);
    match t.iter().rposition(|&c| c == b'/') {
        Some(i) if i > 0 => Ok((open_or_create(root, &t[..i], Make::Dir)?, &t[i + 1..])),
        Some(i) => Ok((fcntl_dupfd_cloexec(root, 0)?, &t[i + 1..])),
        None => Ok((fcntl_dupfd_cloexec(root, 0)?, t)),
    }
}

/// "/proc/self/fd/N": a path naming what the descriptor names, for mount(2).
#[inline]
pub fn fd_path<F: AsFd>(fd: &F) -> Buf<32> {
    fd_path_of(fd.as_fd())
}

/// [`fd_path`], one copy for every type of descriptor.
#[inline(never)]
fn fd_path_of(fd: BorrowedFd<'_>) -> Buf<32> {
    use mote_sys::rustix::fd::AsRawFd;
    let mut b = Buf::new();
    b.s(b"/proc/self/fd/").u(fd.as_raw_fd() as u64);
    b
}

/// A name as a C string in a small buffer.
pub fn cname(name: &[u8]) -> Buf<256> {
    let mut b = Buf::new();
    b.s(name);
    b
}


#[cfg(test)]
mod tests {
    //! The O_NOFOLLOW walk (qemu-user's path) forced on the host and compared with openat2
    //! RESOLVE_IN_ROOT: both must land on the same inode, inside the root, for every path.
    extern crate std;
    use super::*;
    use std::os::unix::fs::{symlink, MetadataExt};
    use std::path::PathBuf;

    /// The tests flip the process-wide NO_OPENAT2 and would share one tree: cargo runs them on
    /// threads at once, so each holds this while it runs.
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

    fn tree() -> PathBuf {
        let d = std::env::temp_dir().join(std::format!("mote-resolve-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        for p in ["etc", "a/b/c", "usr/bin"] {
            std::fs::create_dir_all(d.join(p)).unwrap();
        }
        std::fs::write(d.join("etc/passwd"), "inside").unwrap();
        std::fs::write(d.join("usr/bin/sh"), "").unwrap();
        symlink("/etc", d.join("abs")).unwrap(); // absolute: the root's /etc, not the host's
        symlink("../../../../../../etc", d.join("a/b/up")).unwrap();
        symlink("c/../../b", d.join("a/b/rel")).unwrap();
        symlink("loop2", d.join("loop1")).unwrap();
        symlink("loop1", d.join("loop2")).unwrap();
        symlink("/nowhere/x", d.join("dangling")).unwrap();
        symlink("usr/bin", d.join("bin")).unwrap();
        d
    }

    fn ino(fd: &OwnedFd) -> u64 {
        fs::fstat(fd).unwrap().st_ino
    }

    #[test]
    fn walk_matches_openat2() {
        let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let d = tree();
        let root = fs::open(d.as_path(), OFlags::PATH | OFlags::DIRECTORY, Mode::empty()).unwrap();
        let paths: &[&[u8]] = &[
            b"etc/passwd", b"/etc/passwd", b"abs/passwd", b"a/b/up/passwd", b"../../etc/passwd", b"a/b/rel/c",
            b"a/./b//c/..", b"/", b"", b"bin/sh", b"/bin/../etc", b"loop1", b"dangling", b"etc/passwd/x", b"nope",
        ];
        for &p in paths {
            NO_OPENAT2.store(false, Ordering::Relaxed);
            let kernel = open(root.as_fd(), p);
            NO_OPENAT2.store(true, Ordering::Relaxed);
            let walked = open(root.as_fd(), p);
            NO_OPENAT2.store(false, Ordering::Relaxed);
            match (&kernel, &walked) {
                (Ok(a), Ok(b)) => assert_eq!(ino(a), ino(b), "{}", std::string::String::from_utf8_lossy(p)),
                (Err(a), Err(b)) => assert_eq!(a, b, "{}", std::string::String::from_utf8_lossy(p)),
                _ => panic!("{}: openat2 {:?}, walk {:?}", std::string::String::from_utf8_lossy(p), kernel.is_ok(), walked.is_ok()),
            }
        }
        // And the escapes did land inside: the root's etc/passwd, not the host's.
        NO_OPENAT2.store(true, Ordering::Relaxed);
        let inside = std::fs::metadata(d.join("etc/passwd")).unwrap().ino();
        for p in [&b"abs/passwd"[..], b"a/b/up/passwd", b"../../etc/passwd"] {
            assert_eq!(ino(&open(root.as_fd(), p).unwrap()), inside);
        }
        assert_eq!(open(root.as_fd(), b"loop1").unwrap_err(), Errno::LOOP);
        NO_OPENAT2.store(false, Ordering::Relaxed);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn create_through_a_dangling_symlink_stays_inside() {
        let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let d = tree();
        let root = fs::open(d.as_path(), OFlags::PATH | OFlags::DIRECTORY, Mode::empty()).unwrap();
        NO_OPENAT2.store(true, Ordering::Relaxed);
        let made = open_or_create(root.as_fd(), b"dangling", Make::Dir);
        NO_OPENAT2.store(false, Ordering::Relaxed);
        assert!(made.is_ok());
        assert!(d.join("nowhere/x").is_dir(), "created inside the root");
        assert!(!std::path::Path::new("/nowhere").exists());
        let long = std::vec![b'n'; 300];
        assert_eq!(open_or_create(root.as_fd(), &long, Make::Dir).unwrap_err(), Errno::NAMETOOLONG);
        assert!(std::fs::read_dir(&d).unwrap().all(|e| e.unwrap().file_name().len() < 255), "no name cut to fit");
        std::fs::remove_dir_all(&d).unwrap();
    }
}
