//! Starting services in config order, restarting `respawn` ones with a backoff, reaping every
//! process, until a signal asks for shutdown.

use linux_raw_sys::general::{SIGCHLD, SIGINT, SIGPWR, SIGTERM, SIGUSR1, SIGUSR2};
use mote_sys::linux_raw_sys;
use mote_sys::raw::{exit, fork, Errno};
use mote_sys::exe;
use mote_sys::rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use mote_sys::rustix::fs::{fstat, open, Mode, OFlags};
use mote_sys::rustix::process::setsid;
use mote_sys::rustix::stdio::{dup2_stderr, dup2_stdout};
use mote_sys::rustix::system::RebootCommand;
use mote_sys::sig::{self, cstr, monotonic_ms, Argv, WNOHANG};
use mote_sys::Args;

use super::config::{Kind, Service};
use crate::proc::{execvp, next_signal, open_on_path};
use crate::{say, say_n};

/// First respawn delay; it doubles up to MAX_BACKOFF, and starts over once a run lasted STABLE.
const FIRST_BACKOFF: u64 = 100;
const MAX_BACKOFF: u64 = 30_000;
const STABLE: u64 = 10_000;

/// Runs the services until a shutdown signal; returns what it asked for.
pub fn run(sfd: &OwnedFd, a: &Args, services: &mut [Service<'_>]) -> RebootCommand {
    let mut next = 0;
    let mut mote = None;
    loop {
        // In config order; a running `wait` service holds back the ones after it.
        while next < services.len() && !services.iter().any(|s| s.kind == Kind::Wait && s.pid > 0) {
            start(&mut services[next], a, &mut mote);
            next += 1;
        }
        // Respawns that are due, and the time until the next one.
        let now = monotonic_ms();
        let mut timeout = None;
        for s in services.iter_mut().filter(|s| s.restart_at != 0) {
            if s.restart_at <= now {
                start(s, a, &mut mote);
            } else {
                timeout = Some(timeout.unwrap_or(u64::MAX).min(s.restart_at - now));
            }
        }
        // busybox's mapping: USR1 halts, USR2 and PWR power off, TERM and INT (Ctrl-Alt-Del) reboot.
        match next_signal(sfd, timeout).map(|s| s.signo) {
            Some(SIGCHLD) => reap(services, true),
            Some(SIGUSR1) => return RebootCommand::Halt,
            Some(SIGUSR2 | SIGPWR) => return RebootCommand::PowerOff,
            Some(SIGTERM | SIGINT) => return RebootCommand::Restart,
            _ => {}
        }
    }
}

/// mote's sealed copy for the oci services: its descriptor, and the file it was made from.
pub type MoteCopy = Option<(OwnedFd, [u64; 4])>;

/// Forks and execs service `s` in its own session, stdout and stderr to its log if it has one.
/// `mote`: the services' shared copy of mote (see [`mote_copy`]).
pub fn start(s: &mut Service<'_>, a: &Args, mote: &mut MoteCopy) {
    say(b"starting service @", s.name);
    s.restart_at = 0;
    s.started = monotonic_ms();
    let copy = if s.bundle.is_empty() { None } else { mote_copy(mote, a) };
    match fork() {
        Ok(0) => {
            // Its own session and process group: stopping it reaches all it started.
            let _ = setsid();
            if let Some(log) = cstr(s.log) {
                let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::APPEND | OFlags::CLOEXEC;
                if let Ok(f) = open(log, flags, Mode::from_raw_mode(0o644)) {
                    let _ = (dup2_stdout(&f), dup2_stderr(&f));
                }
            }
            sig::reset_for_exec();
            exit(exec_service(s, a, copy))
        }
        Ok(pid) => s.pid = pid as i32,
        Err(_) => say(b"cannot fork for @", s.name),
    }
}

/// A sealed copy of the `mote` PATH names, made once for every oci service and again when that
/// file changed (an update). mote run makes one of itself where it finds none (CVE-2019-5736:
/// runtime/src/linux/sealed.rs); made here, the services share its pages (~190 KiB once, not
/// once per container) and none pays for a copy and an exec of its own. None where mote needs
/// none (squashfs, EROFS: see exe::unwritable) or one cannot be made: the services then run
/// mote by name.
fn mote_copy<'c>(mote: &'c mut MoteCopy, a: &Args) -> Option<BorrowedFd<'c>> {
    let f = open_on_path(b"mote", a)?;
    let st = fstat(&f).ok()?;
    // Not a regular file with an execute bit (execvp would skip it): by name. (Of what open
    // reaches, only a regular file's type bits exceed a directory's or a device's.) ctime, not
    // mtime, tells an update: every write changes it, and nobody can set it back.
    // And where mote needs no copy (a filesystem that cannot be written), by name too: mote
    // makes none there, and runs from the page cache, which is reclaimable.
    if st.st_mode & 0o170_111 <= 0o100_000 || exe::unwritable(f.as_fd()) {
        return None;
    }
    let of = [st.st_dev as u64, st.st_ino as u64, st.st_ctime as u64, st.st_ctime_nsec as u64];
    // (Compared by a loop: `==` would call memcmp, which mote-init otherwise does without.)
    if !matches!(mote, Some((_, was)) if was.iter().zip(&of).all(|(x, y)| x == y)) {
        *mote = exe::sealed_copy(f.as_fd(), st.st_size as usize).ok().map(|c| (c, of));
    }
    mote.as_ref().map(|(c, _)| c.as_fd())
}

/// Execs the service's command (for `oci`: mote run --bundle DIR NAME, from `copy` when there
/// is one, after `mote-image bundle --reuse IMAGE DIR` when it names an image); returns the
/// exit code.
fn exec_service(s: &Service<'_>, a: &Args, copy: Option<BorrowedFd<'_>>) -> i32 {
    if !s.image.is_empty() {
        // The bundle is made from the image, or kept while the image is the same.
        let code = match fork() {
            Ok(0) => exit(exec_words([b"mote-image\0bundle\0--reuse\0", s.image, s.bundle], None, a)),
            Ok(pid) => loop {
                match sig::waitpid(pid as i32, 0) {
                    Ok(Some((_, status))) => break sig::status_code(status),
                    Err(Errno::INTR) => {}
                    _ => break 1,
                }
            },
            Err(_) => 1,
        };
        if code != 0 {
            return code;
        }
    }
    let mote: &[u8] = if s.bundle.is_empty() { b"" } else { b"mote\0run\0--bundle\0" };
    exec_words([mote, s.bundle, s.cmd], copy, a)
}

/// Execs the NUL-terminated words of the three lists as one command: the file `from` when
/// given, else the first word looked up in PATH.
fn exec_words(lists: [&[u8]; 3], from: Option<BorrowedFd<'_>>, a: &Args) -> i32 {
    let mut argv = [c""; 16];
    let mut n = 0;
    for mut words in lists {
        while let (Some(w), Some(slot)) = (cstr(words), argv.get_mut(n)) {
            *slot = w;
            n += 1;
            words = words.get(w.to_bytes_with_nul().len()..).unwrap_or_default();
        }
    }
    if let Some(fd) = from {
        // Where execveat is missing (qemu-user), by name as without a copy.
        let _ = sig::exec_fd(fd, Argv::List(&argv[..n]), a);
    }
    execvp(argv[0].to_bytes(), Argv::List(&argv[..n]), a)
}

/// Reaps every exited process; a service's exit is reported and, if `respawn` and it is a
/// respawn service, its restart scheduled.
pub fn reap(services: &mut [Service<'_>], respawn: bool) {
    while let Ok(Some((pid, status))) = sig::waitpid(-1, WNOHANG) {
        let Some(s) = services.iter_mut().find(|s| s.pid == pid as i32) else { continue };
        s.pid = 0;
        say_n(b"service @ exited #", s.name, sig::status_code(status) as u64);
        if respawn && s.kind == Kind::Respawn {
            let now = monotonic_ms();
            if now - s.started >= STABLE || s.backoff == 0 {
                s.backoff = FIRST_BACKOFF;
            }
            say_n(b"respawning @ in #ms", s.name, s.backoff);
            s.restart_at = now + s.backoff;
            s.backoff = (s.backoff * 2).min(MAX_BACKOFF);
        }
    }
}
