//! Container mode: run one command, pass signals on to it, reap every zombie, and exit the way
//! the command did.

use linux_raw_sys::general::{SIGCHLD, SIGINT, SIGTERM, SIGTTIN, SIGTTOU};
use mote_sys::io::fd;
use mote_sys::linux_raw_sys;
use mote_sys::raw::{exit, fork};
use mote_sys::rustix::process::{getpid, set_child_subreaper, set_parent_process_death_signal, setpgid, Pid, Signal};
use mote_sys::rustix::termios::{isatty, tcsetpgrp};
use mote_sys::sig::{self, monotonic_ms, signalfd, sigprocmask, status_code, Argv, Disposition, How, SigSet, WNOHANG};
use mote_sys::Args;

use crate::args::Opts;
use crate::proc::{execvp, next_signal};
use crate::say;

pub fn run(a: &Args, o: &Opts) -> i32 {
    // Every signal is blocked before the child exists and read from a signalfd, so none that
    // arrives in between is lost (the child unblocks them before exec).
    let all = SigSet::CATCHABLE;
    let sfd = match sigprocmask(How::Block, &all).and_then(|_| signalfd(&all)) {
        Ok(fd) => fd,
        Err(_) => return fail(b"cannot set up signals"),
    };
    // Handing the terminal to the child makes us a background process: touching the terminal
    // then must not stop us.
    let _ = sig::set_disposition(SIGTTIN, Disposition::Ignore);
    let _ = sig::set_disposition(SIGTTOU, Disposition::Ignore);

    // Not PID 1: orphans of the command would be adopted by someone else, never reaped by us.
    if !getpid().is_init() && set_child_subreaper(Some(getpid())).is_ok() && o.verbose && !o.subreaper {
        say(b"not PID 1, registered as subreaper", b"");
    }
    if o.pdeathsig != 0 {
        let s = Signal::from_named_raw(o.pdeathsig as i32);
        if s.is_none() || set_parent_process_death_signal(s).is_err() {
            return fail(b"cannot set the parent-death signal");
        }
    }

    // Pause mode (catatonit -P) runs nothing: the loop below then only reaps, until TERM or INT.
    let name = a.get(o.cmd).filter(|_| o.cmd != 0).unwrap_or_default();
    if name.is_empty() && !o.pause {
        return fail(b"no command given (see --help)");
    }
    let child = if o.pause {
        0
    } else {
        match fork() {
            Ok(0) => {
                // Its own process group: -g then reaches all it starts, and it can own the terminal.
                let _ = setpgid(None, None);
                if isatty(fd(0)) {
                    let _ = tcsetpgrp(fd(0), getpid());
                }
                sig::reset_for_exec();
                exit(execvp(name, Argv::Own(a, o.cmd), a))
            }
            Ok(pid) => {
                // Also from this side, so a signal forwarded to the group right away finds it.
                let _ = setpgid(Pid::from_raw(pid as i32), Pid::from_raw(pid as i32));
                pid as i32
            }
            Err(_) => return fail(b"fork failed"),
        }
    };
    let target = if o.group { -child } else { child };

    let mut code = None;
    let mut term_at = None;
    loop {
        // Only a held-back SIGTERM needs a timeout; otherwise sleep until a signal comes.
        let Some(si) = next_signal(&sfd, term_at.map(|at: u64| at.saturating_sub(monotonic_ms()))) else {
            if term_at.take().is_some() {
                let _ = sig::kill(target, SIGTERM);
            }
            continue;
        };
        match si.signo {
            SIGCHLD => {
                // One SIGCHLD may stand for many exits: reap until nothing is left.
                loop {
                    match sig::waitpid(-1, WNOHANG) {
                        Ok(Some((pid, status))) if pid as i32 == child => code = Some(status_code(status)),
                        Ok(Some(_)) => {}
                        Ok(None) => break,
                        Err(_) => {
                            // No children at all: the -w wait is over too.
                            if let Some(c) = code {
                                return mapped(c, o);
                            }
                            break;
                        }
                    }
                }
                if let (Some(c), false) = (code, o.wait_all) {
                    return mapped(c, o);
                }
            }
            SIGTERM | SIGINT if o.pause => return 0,
            SIGTERM if o.grace > 0 && code.is_none() => {
                term_at.get_or_insert(monotonic_ms() + o.grace as u64 * 1000);
            }
            // Once the child is reaped its pid may be reused: only its group is still a target.
            s if child != 0 && (code.is_none() || o.group) => {
                let _ = sig::kill(target, s);
            }
            _ => {}
        }
    }
}

/// The exit code for the child's `code`: 0 if -e expected it.
fn mapped(code: i32, o: &Opts) -> i32 {
    let c = code as usize & 255;
    if o.expect[c / 64] & 1 << (c % 64) != 0 { 0 } else { code }
}

/// Prints an error and gives the exit code for init's own failures.
fn fail(what: &[u8]) -> i32 {
    say(what, b"");
    1
}
