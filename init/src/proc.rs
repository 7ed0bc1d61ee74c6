//! What both modes do with processes: run a command the way a shell does (PATH lookup like
//! execvp(3), exit code 127 when not found, 126 when not runnable) and wait for the next signal.

use core::ffi::CStr;

use mote_sys::rustix::event::{poll, PollFd, PollFlags, Timespec};
use mote_sys::rustix::fd::{AsFd, OwnedFd};
use mote_sys::rustix::fs::{open, Mode, OFlags};
use mote_sys::sig::{cstr, exec, read_signal, signalfd, sigprocmask, Argv, Errno, How, SigInfo, SigSet};
use mote_sys::mem::Pool;
use mote_sys::Args;

use crate::say;

/// Where commands are looked up when PATH is unset (a kernel-started init has none).
const DEFAULT_PATH: &[u8] = b"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Replaces the process with `name` run with `argv`; on failure prints why and returns 127 or 126.
pub fn execvp(name: &[u8], argv: Argv<'_>, a: &Args) -> i32 {
    let e = on_path(name, a, &mut |p| Err(exec(p, argv, a)));
    let (why, code): (&[u8], i32) = match e {
        Errno::NOENT => (b"exec @: not found", 127),
        Errno::ACCESS => (b"exec @: permission denied", 126),
        _ => (b"exec @: cannot run it", 126),
    };
    say(why, name);
    code
}

/// The first `name` on PATH that opens (read-only), as execvp(3) would look for it.
pub fn open_on_path(name: &[u8], a: &Args) -> Option<OwnedFd> {
    let mut found = None;
    // (NONBLOCK: a FIFO of that name must not hold PID 1.)
    on_path(name, a, &mut |p| open(p, OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NONBLOCK, Mode::empty()).map(|f| found = Some(f)));
    found
}

/// A scratch buffer in .bss, lent to one user at a time (the path [`on_path`] builds, the
/// cgroup controller list): a stack array was zeroed by memset at each use, and on aarch64
/// and riscv64 that kept compiler_builtins' memset in the binary.
pub static SCRATCH: Pool<[u8; 4096]> = Pool::new([0; 4096]);

/// Tries `f` on each path PATH gives for `name` (the name itself when it has a slash) as
/// execvp(3) does: on past a directory where it is missing or not allowed, until `f` succeeds
/// or fails otherwise. Returns the error to report (NOENT when nothing was found).
fn on_path(name: &[u8], a: &Args, f: &mut dyn FnMut(&CStr) -> Result<(), Errno>) -> Errno {
    let dirs = if name.iter().any(|&c| c == b'/') { &[][..] } else { a.env(b"PATH").unwrap_or(DEFAULT_PATH) };
    // Lent while this runs (nothing in `f` looks a path up again); only an error if it were not.
    let Some(mut path) = SCRATCH.get() else { return Errno::BUSY };
    let mut e = Errno::NOENT;
    for dir in dirs.split(|&c| c == b':') {
        let mut n = 0;
        let slash: &[u8] = if dir.is_empty() { b"" } else { b"/" };
        for part in [dir, slash, name] {
            for &c in part {
                if let Some(b) = path.get_mut(n) {
                    *b = c;
                }
                n += 1;
            }
        }
        // The NUL after the path (none when it did not fit: too long).
        if let Some(b) = path.get_mut(n) {
            *b = 0;
        }
        let this = match cstr(&path[..]) {
            Some(p) => match f(p) {
                Ok(()) => return Errno::INVAL, // (not an error anyone reports)
                Err(e) => e,
            },
            None => Errno::NAMETOOLONG,
        };
        if !matches!(this, Errno::NOENT | Errno::NOTDIR) {
            e = this;
            if this != Errno::ACCESS {
                break;
            }
        }
    }
    e
}

/// The next signal from `sfd`, or None once `timeout_ms` (if any) has passed without one.
pub fn next_signal(sfd: &OwnedFd, timeout_ms: Option<u64>) -> Option<SigInfo> {
    if let Some(ms) = timeout_ms {
        let ts = Timespec { tv_sec: (ms / 1000) as i64, tv_nsec: (ms % 1000 * 1_000_000) as i64 };
        if poll(&mut [PollFd::new(sfd, PollFlags::IN)], Some(&ts)) != Ok(1) {
            return None;
        }
    }
    read_signal(sfd.as_fd()).ok()
}

/// Blocks every catchable signal and opens a signalfd for them (both modes read signals only
/// from it, so none that arrives before a child exists is lost); returns the mask we had.
pub fn block_signals() -> Result<(SigSet, OwnedFd), Errno> {
    let all = SigSet::CATCHABLE;
    Ok((sigprocmask(How::Block, &all)?, signalfd(&all)?))
}
