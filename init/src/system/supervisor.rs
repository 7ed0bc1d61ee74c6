//! Starting services in config order, restarting `respawn` ones with a backoff, reaping every
//! process, until a signal asks for shutdown.

use linux_raw_sys::general::{SIGCHLD, SIGINT, SIGPWR, SIGTERM, SIGUSR1, SIGUSR2};
use mote_sys::linux_raw_sys;
use mote_sys::raw::{exit, fork, Errno};
use mote_sys::rustix::fd::OwnedFd;
use mote_sys::rustix::fs::{open, Mode, OFlags};
use mote_sys::rustix::process::setsid;
use mote_sys::rustix::stdio::{dup2_stderr, dup2_stdout};
use mote_sys::rustix::system::RebootCommand;
use mote_sys::sig::{self, cstr, monotonic_ms, Argv, WNOHANG};
use mote_sys::Args;

use super::config::{Kind, Service};
use crate::proc::{execvp, next_signal};
use crate::{say, say_n};

/// First respawn delay; it doubles up to MAX_BACKOFF, and starts over once a run lasted STABLE.
const FIRST_BACKOFF: u64 = 100;
const MAX_BACKOFF: u64 = 30_000;
const STABLE: u64 = 10_000;

/// Runs the services until a shutdown signal; returns what it asked for.
pub fn run(sfd: &OwnedFd, a: &Args, services: &mut [Service<'_>]) -> RebootCommand {
    let mut next = 0;
    loop {
        // In config order; a running `wait` service holds back the ones after it.
        while next < services.len() && !services.iter().any(|s| s.kind == Kind::Wait && s.pid > 0) {
            start(&mut services[next], a);
            next += 1;
        }
        // Respawns that are due, and the time until the next one.
        let now = monotonic_ms();
        let mut timeout = None;
        for s in services.iter_mut().filter(|s| s.restart_at != 0) {
            if s.restart_at <= now {
                start(s, a);
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

/// Forks and execs service `s` in its own session, stdout and stderr to its log if it has one.
pub fn start(s: &mut Service<'_>, a: &Args) {
    say(b"starting service @", s.name);
    s.restart_at = 0;
    s.started = monotonic_ms();
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
            exit(exec_service(s, a))
        }
        Ok(pid) => s.pid = pid as i32,
        Err(_) => say(b"cannot fork for @", s.name),
    }
}

/// Execs the service's command (for `oci`: mote run --bundle DIR NAME, after
/// `mote-image bundle --reuse IMAGE DIR` when it names an image); returns the exit code.
fn exec_service(s: &Service<'_>, a: &Args) -> i32 {
    if !s.image.is_empty() {
        // The bundle is made from the image, or kept while the image is the same.
        let code = match fork() {
            Ok(0) => exit(exec_words([b"mote-image\0bundle\0--reuse\0", s.image, s.bundle], a)),
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
    exec_words([mote, s.bundle, s.cmd], a)
}

/// Execs the NUL-terminated words of the three lists as one command.
fn exec_words(lists: [&[u8]; 3], a: &Args) -> i32 {
    let mut argv = [c""; 16];
    let mut n = 0;
    for mut words in lists {
        while let (Some(w), Some(slot)) = (cstr(words), argv.get_mut(n)) {
            *slot = w;
            n += 1;
            words = words.get(w.to_bytes_with_nul().len()..).unwrap_or_default();
        }
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
