//! Container mode: run one command, pass signals on to it, reap every zombie, and exit the way
//! the command did.

use linux_raw_sys::general::{SIGCHLD, SIGINT, SIGTERM, SIGTTIN, SIGTTOU};
use mote_sys::io::fd;
use mote_sys::linux_raw_sys;
use mote_sys::linux_raw_sys::prctl::{PR_SET_CHILD_SUBREAPER, PR_SET_PDEATHSIG};
use mote_sys::raw::{exit, fork, prctl};
use mote_sys::rustix::process::{getpid, setpgid, Pid};
use mote_sys::rustix::termios::{isatty, tcsetpgrp};
use mote_sys::sig::{self, monotonic_ms, sigprocmask, status_code, Argv, Disposition, How, WNOHANG};
use mote_sys::Args;

use crate::args::Opts;
use crate::proc::{block_signals, execvp, next_signal};
use crate::{say, say_n};

/// How long mote-init goes on reaping, once the command has exited, for the rest of its children
/// (orphans it adopted as a subreaper that are about to exit) before it exits too.
const LINGER_MS: u64 = 1000;

pub fn run(a: &Args, o: &Opts) -> i32 {
    // Every signal is blocked before the child exists and read from a signalfd, so none that
    // arrives in between is lost. The mask we inherited is kept for the child, as tini does.
    let (inherited, sfd) = match block_signals() {
        Ok(x) => x,
        Err(_) => return fail(b"cannot set up signals"),
    };
    // Handing the terminal to the child makes us a background process: touching the terminal
    // then must not stop us. The child gets back what we inherited.
    let ttin = sig::set_disposition(SIGTTIN, Disposition::Ignore).unwrap_or(Disposition::Default);
    let ttou = sig::set_disposition(SIGTTOU, Disposition::Ignore).unwrap_or(Disposition::Default);

    // Not PID 1: orphans of the command would be adopted by someone else, never reaped by us.
    // So we register anyway (unlike tini); -s (or TINI_SUBREAPER) makes a failure fatal, as in
    // tini, and without it the failure is tini's warning.
    let init = getpid().is_init();
    if !init {
        let failed = prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0).is_err();
        if failed {
            say(b"cannot be a subreaper", b"");
            if o.subreaper {
                return 1;
            }
        }
    }
    // (raw prctl: rustix's wants a named Signal, whose check costs more than the call.)
    if o.pdeathsig != 0 && prctl(PR_SET_PDEATHSIG, o.pdeathsig as usize, 0, 0, 0).is_err() {
        return fail(b"cannot set -p");
    }

    // Pause mode (catatonit -P) runs nothing: the loop below then only reaps, until TERM or INT.
    let name = a.get(o.cmd).filter(|_| o.cmd != 0).unwrap_or_default();
    if name.is_empty() && !o.pause {
        return fail(b"no command given");
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
                // Only what we changed is undone: other signals keep the disposition we inherited
                // (an ignored one stays ignored), and the mask is the one we were started with.
                let _ = sig::set_disposition(SIGTTIN, ttin);
                let _ = sig::set_disposition(SIGTTOU, ttou);
                let _ = sigprocmask(How::SetMask, &inherited);
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
    // When the held-back SIGTERM is due, or, once the command has exited, when lingering ends.
    let mut timer = None;
    let code = loop {
        let Some(si) = next_signal(&sfd, timer.map(|at: u64| at.saturating_sub(monotonic_ms()))) else {
            if code.is_some() {
                break code;
            }
            if timer.take().is_some() {
                let _ = sig::kill(target, SIGTERM);
            }
            continue;
        };
        match si.signo {
            SIGCHLD => {
                // One SIGCHLD may stand for many exits: reap until nothing is left (Err: no
                // children at all, nothing left to wait for).
                let mut exited = false;
                let none_left = loop {
                    match sig::waitpid(-1, WNOHANG) {
                        Ok(Some((pid, status))) if pid as i32 == child => {
                            code = Some(status_code(status));
                            exited = true;
                        }
                        Ok(Some((pid, _))) if o.warn_reap => say_n(b"reaped zombie process with pid=#", b"", pid as u64),
                        Ok(Some(_)) => {}
                        Ok(None) => break false,
                        Err(_) => break true,
                    }
                };
                if code.is_some() && (none_left || exited && init && !o.wait_all) {
                    break code;
                }
                // The command is gone, others are left: a bounded wait reaps those that exit (as
                // PID 1 there is no point: exiting kills the rest anyway).
                if exited {
                    timer = (!o.wait_all).then(|| monotonic_ms() + LINGER_MS);
                }
            }
            SIGTERM | SIGINT if o.pause => break Some(0),
            SIGTERM if o.grace > 0 && code.is_none() => {
                timer.get_or_insert(monotonic_ms() + o.grace as u64 * 1000);
            }
            // Once the child is reaped its pid may be reused: only its group is still a target.
            s if child != 0 && (code.is_none() || o.group) => {
                let _ = sig::kill(target, s);
            }
            _ => {}
        }
    };
    // The child's code, or 0 if -e expected it.
    let c = code.unwrap_or(0) as usize & 255;
    if o.expect[c / 64] & 1 << (c % 64) != 0 { 0 } else { c as i32 }
}

/// Prints an error and gives the exit code for init's own failures.
fn fail(what: &[u8]) -> i32 {
    say(what, b"");
    1
}
