//! Signals and child processes, where rustix has no (general enough) call: signal masks,
//! dispositions, signalfd, kill with any pid and any signal, wait4 with the raw status, the
//! monotonic clock, and a safe execve. Used by mote-init and by `mote run`.

use core::ffi::CStr;

use linux_raw_sys::general as g;
use rustix::fd::{BorrowedFd, FromRawFd, OwnedFd};
pub use rustix::io::Errno;

use crate::arch::{syscall, syscall3};
use crate::raw::ret;
use crate::start::Args;


/// The highest signal number on Linux (the real-time ones end at 64).
pub const NSIG: u32 = 64;

/// A set of signals 1..=64, in the kernel's own layout (bit n-1 is signal n), passed to it by
/// pointer.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
#[repr(transparent)]
pub struct SigSet(pub u64);

impl SigSet {
    /// No signal.
    pub const EMPTY: SigSet = SigSet(0);

    /// Every signal a process can block and read from a signalfd: all but KILL and STOP, and
    /// but the ones a fault raises (SEGV, BUS, FPE, ILL, TRAP, SYS, ABRT), which must stay
    /// deadly: blocked, a fault would be turned into an unreported kill.
    pub const CATCHABLE: SigSet = {
        let mut s = !0u64;
        let not = [g::SIGKILL, g::SIGSTOP, g::SIGSEGV, g::SIGBUS, g::SIGFPE, g::SIGILL, g::SIGTRAP,
                   g::SIGSYS, g::SIGABRT];
        let mut i = 0;
        while i < not.len() {
            s &= !(1 << (not[i] - 1));
            i += 1;
        }
        SigSet(s)
    };
    /// This set with signal `n` added (unchanged if `n` is not in 1..=64).
    pub fn add(self, n: u32) -> SigSet {
        if (1..=NSIG).contains(&n) { SigSet(self.0 | 1 << (n - 1)) } else { self }
    }
    /// Whether signal `n` is in the set.
    pub fn contains(self, n: u32) -> bool {
        (1..=NSIG).contains(&n) && self.0 & 1 << (n - 1) != 0
    }
}

/// How [`sigprocmask`] changes the mask.
#[derive(Clone, Copy)]
#[repr(u32)]
pub enum How {
    /// Add the set to the mask.
    Block = g::SIG_BLOCK,
    /// Remove the set from the mask.
    Unblock = g::SIG_UNBLOCK,
    /// Replace the mask with the set.
    SetMask = g::SIG_SETMASK,
}

/// rt_sigprocmask(2): changes the calling thread's signal mask; returns the previous one.
pub fn sigprocmask(how: How, set: &SigSet) -> Result<SigSet, Errno> {
    let mut old = SigSet(0);
    // SAFETY: both pointers are to live 8-byte sets, the size passed.
    ret(unsafe { syscall(g::__NR_rt_sigprocmask, how as usize, set as *const SigSet as usize,
                         &mut old as *mut SigSet as usize, 8, 0, 0) })
        .map(|_| old)
}

/// The two dispositions a signal can be set to without a handler.
#[derive(Clone, Copy)]
#[repr(usize)]
pub enum Disposition {
    /// The signal's default action (SIG_DFL).
    Default = 0,
    /// Discard the signal (SIG_IGN).
    Ignore = 1,
}

/// rt_sigaction(2) with no handler: sets signal `n` to `d`; returns the one it had (a handler
/// counts as Default: none survives execve, so an exec'd program only inherits these two).
/// KILL and STOP give EINVAL.
pub fn set_disposition(n: u32, d: Disposition) -> Result<Disposition, Errno> {
    // The kernel's struct sigaction; riscv64 has no sa_restorer. Only the handler is non-zero:
    // no flags, no restorer, an empty mask.
    #[repr(C)]
    struct Action {
        handler: usize,
        flags: u64,
        #[cfg(not(target_arch = "riscv64"))]
        restorer: usize,
        mask: u64,
    }
    #[cfg(not(target_arch = "riscv64"))]
    let act = Action { handler: d as usize, flags: 0, restorer: 0, mask: 0 };
    #[cfg(target_arch = "riscv64")]
    let act = Action { handler: d as usize, flags: 0, mask: 0 };
    let mut old = [0usize; 4];
    // SAFETY: act has the layout of this arch's kernel sigaction, with no handler code to call;
    // old has room for one (32 bytes, the handler first); 8 is the size of the kernel's sigset.
    ret(unsafe { syscall(g::__NR_rt_sigaction, n as usize, &act as *const _ as usize,
                         old.as_mut_ptr() as usize, 8, 0, 0) })
        .map(|_| if old[0] == Disposition::Ignore as usize { Disposition::Ignore } else { Disposition::Default })
}

/// Undoes what a signal-handling parent leaves to its children across execve: every signal back
/// to its default action and an empty mask (execve resets handlers, but not ignored signals or
/// the mask). Call it in the child between fork and exec.
pub fn reset_for_exec() {
    reset_for_exec_of(SigSet(!0));
}

/// [`reset_for_exec`] for a caller that knows which signals are not at their default action
/// (ignored or caught: /proc/self/status's SigIgn and SigCgt): only those are set back.
pub fn reset_for_exec_of(changed: SigSet) {
    for n in 1..=NSIG {
        if changed.contains(n) && n != g::SIGKILL && n != g::SIGSTOP {
            let _ = set_disposition(n, Disposition::Default);
        }
    }
    let _ = sigprocmask(How::SetMask, &SigSet::EMPTY);
}

/// signalfd4(2): a new close-on-exec descriptor that reads the signals of `set` (which must be
/// blocked, or they are delivered the usual way instead).
pub fn signalfd(set: &SigSet) -> Result<OwnedFd, Errno> {
    // SAFETY: set points to a live 8-byte sigset, the size passed; -1 asks for a new descriptor.
    let fd = ret(unsafe { syscall(g::__NR_signalfd4, -1isize as usize, set as *const SigSet as usize,
                                  8, g::O_CLOEXEC as usize, 0, 0) })?;
    // (A descriptor is below 2^31: saying so spares from_raw_fd's check for -1 and its panic.)
    let fd = i32::try_from(fd).map_err(|_| Errno::BADF)?;
    // SAFETY: the kernel just created descriptor fd and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The fields of a `struct signalfd_siginfo` that tell what happened.
#[derive(Clone, Copy, Default)]
pub struct SigInfo {
    /// Signal number.
    pub signo: u32,
    /// si_code: SI_USER, SI_KERNEL, CLD_EXITED...
    pub code: i32,
    /// Sending process (or, for SIGCHLD, the child).
    pub pid: u32,
    /// Sender's real uid.
    pub uid: u32,
    /// For SIGCHLD: exit code or signal.
    pub status: i32,
}

/// Reads one signal from a signalfd; blocks unless the descriptor is non-blocking.
pub fn read_signal(fd: BorrowedFd<'_>) -> Result<SigInfo, Errno> {
    let mut b = [0u8; 128];
    loop {
        match rustix::io::read(fd, &mut b) {
            Ok(128) => break,
            Ok(_) => return Err(Errno::IO),
            Err(Errno::INTR) => {}
            Err(e) => return Err(e),
        }
    }
    let w = |o: usize| u32::from_ne_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
    Ok(SigInfo { signo: w(0), code: w(8) as i32, pid: w(12), uid: w(16), status: w(40) as i32 })
}

/// kill(2) with any pid (0, -1 and -pgid included) and any signal number (0 only checks).
pub fn kill(pid: i32, sig: u32) -> Result<(), Errno> {
    // SAFETY: kill takes no pointers.
    ret(unsafe { syscall3(g::__NR_kill, pid as isize as usize, sig as usize, 0) }).map(|_| ())
}

/// waitpid's WNOHANG: return at once when no child has changed state.
pub const WNOHANG: u32 = g::WNOHANG;

/// wait4(2) without rusage: `Ok(Some((pid, raw status)))`, `Ok(None)` with WNOHANG and nothing
/// to report, `Err(ECHILD)` when there are no children. `pid` -1 waits for any child.
pub fn waitpid(pid: i32, flags: u32) -> Result<Option<(u32, i32)>, Errno> {
    let mut status = 0i32;
    // SAFETY: status is a live i32; no rusage is asked for.
    let r = ret(unsafe { syscall(g::__NR_wait4, pid as isize as usize, &mut status as *mut i32 as usize,
                                 flags as usize, 0, 0, 0) })?;
    Ok(if r == 0 { None } else { Some((r as u32, status)) })
}

/// A raw wait status as a shell reports it: the exit code, or 128 + the signal that killed it.
pub fn status_code(status: i32) -> i32 {
    let sig = status & 0x7f;
    if sig == 0 { (status >> 8) & 0xff } else { 128 + sig }
}

/// Closes every descriptor from 3 on, waits for child `pid` and exits with its code (128+signal):
/// a forked relay that must hold nothing of its parent's (the exec fifo's read end, sockets).
pub fn relay_exit(pid: u32) -> ! {
    // SAFETY: close_range only closes descriptors; nothing in this process runs after it but
    // wait4 and exit_group, so no Rust owner of a closed descriptor can use or close it again.
    let _ = unsafe { syscall3(g::__NR_close_range, 3, u32::MAX as usize, 0) };
    let code = loop {
        match waitpid(pid as i32, g::__WALL) {
            Ok(Some((_, status))) => break status_code(status),
            Ok(None) | Err(Errno::INTR) => {}
            Err(_) => break 255,
        }
    };
    crate::raw::exit(code)
}

/// Milliseconds on CLOCK_MONOTONIC (time since boot, never set back).
pub fn monotonic_ms() -> u64 {
    let mut ts = [0i64; 2];
    // SAFETY: ts has the layout of a 64-bit struct timespec (seconds, nanoseconds).
    let _ = unsafe {
        syscall3(g::__NR_clock_gettime, g::CLOCK_MONOTONIC as usize, ts.as_mut_ptr() as usize, 0)
    };
    ts[0] as u64 * 1000 + ts[1] as u64 / 1_000_000
}

/// The C string at the start of `b`, up to its first NUL; None without one. (core's CStr
/// constructors check with memchr, several hundred bytes of code for mote-init's budget.)
pub fn cstr(b: &[u8]) -> Option<&CStr> {
    let n = b.iter().position(|&c| c == 0)?;
    // SAFETY: b[n] is a NUL and b[..n] holds none, which is all the unchecked constructor needs.
    Some(unsafe { CStr::from_bytes_with_nul_unchecked(b.get(..=n)?) })
}

/// Most arguments [`exec`] passes.
pub const MAX_ARGS: usize = 63;

/// What [`exec`] runs with as argv.
#[derive(Clone, Copy)]
pub enum Argv<'a> {
    /// This process's own arguments from index `.1` on.
    Own(&'a Args, usize),
    /// A list of at most [`MAX_ARGS`] strings (more are cut off).
    List(&'a [&'a CStr]),
}

/// execve(2) of `path` with `argv` and this process's environment; returns only on failure.
pub fn exec(path: &CStr, argv: Argv<'_>, env: &Args) -> Errno {
    exec_at(None, path, argv, env)
}

/// execveat(2) of the file `fd` (AT_EMPTY_PATH) with `argv` and this process's environment;
/// returns only on failure (ENOSYS before Linux 3.19 and under qemu-user 7.2).
pub fn exec_fd(fd: BorrowedFd<'_>, argv: Argv<'_>, env: &Args) -> Errno {
    exec_at(Some(fd), c"", argv, env)
}

fn exec_at(fd: Option<BorrowedFd<'_>>, path: &CStr, argv: Argv<'_>, env: &Args) -> Errno {
    use rustix::fd::AsRawFd;
    let mut list = [core::ptr::null::<u8>(); MAX_ARGS + 1];
    let argv = match argv {
        Argv::Own(a, from) => a.argv_from(from),
        Argv::List(l) => {
            for (p, s) in list.iter_mut().zip(l.iter().take(MAX_ARGS)) {
                *p = s.as_ptr() as *const u8;
            }
            list.as_ptr()
        }
    };
    match fd {
        // execve for a path: qemu-user 7.2 has no execveat.
        // SAFETY: path is NUL-terminated; argv is either the kernel's own NULL-terminated argv
        // (from Args) or `list`, whose last slot stays NULL; Args's environment is
        // NULL-terminated too; the kernel only reads them.
        None => unsafe { crate::raw::execve(path.as_ptr() as *const u8, argv, env.envp()) },
        Some(fd) => {
            // SAFETY: as above (path "" with AT_EMPTY_PATH names `fd` itself).
            let r = unsafe {
                syscall(g::__NR_execveat, fd.as_raw_fd() as usize, path.as_ptr() as usize, argv as usize,
                    env.envp() as usize, g::AT_EMPTY_PATH as usize, 0)
            };
            ret(r).err().unwrap_or(Errno::INVAL)
        }
    }
}
