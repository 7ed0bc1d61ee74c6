//! Orderly shutdown: services in reverse order, then every other process, then the filesystems,
//! then reboot(2) from a child (PID 1 itself must never exit).

use linux_raw_sys::general::{SIGCHLD, SIGKILL, SIGTERM};
use mote_sys::linux_raw_sys;
use mote_sys::raw::{exit, fork};
use mote_sys::rustix::fd::OwnedFd;
use mote_sys::rustix::fs::sync;
use mote_sys::rustix::mount::{mount_remount, MountFlags};
use mote_sys::rustix::system::{reboot, RebootCommand};
use mote_sys::sig::{self, monotonic_ms, WNOHANG};

use super::config::Service;
use super::supervisor::reap;
use crate::proc::next_signal;
use crate::say;

/// How long a process gets between SIGTERM and SIGKILL, in ms.
const GRACE: u64 = 5_000;

pub fn run(sfd: &OwnedFd, services: &mut [Service<'_>], how: RebootCommand, booted: bool) -> ! {
    let what: &[u8] = match how {
        RebootCommand::Halt => b"halt",
        RebootCommand::PowerOff => b"poweroff",
        _ => b"reboot",
    };
    say(b"shutdown: @", what);
    // Later services may depend on earlier ones: stop them last first, each to the end.
    for i in (0..services.len()).rev() {
        if services[i].pid > 0 {
            say(b"stopping service @", services[i].name);
            stop(sfd, services, Some(i));
        }
    }
    say(b"shutdown: stopping all processes", b"");
    stop(sfd, services, None);
    say(b"shutdown: sync", b"");
    sync();
    // Only the machine's init: in a PID namespace the filesystems are the host's.
    if booted {
        let _ = mount_remount(c"/", MountFlags::RDONLY, c"");
    }
    say(b"shutdown: @ now", what);
    if let Ok(0) = fork() {
        let _ = reboot(how);
        exit(1)
    }
    // Whatever happens next happens to us; go on reaping until it does.
    loop {
        if let Some(SIGCHLD) = next_signal(sfd, None).map(|s| s.signo) {
            reap(services, false);
        }
    }
}

/// Stops service `i`'s process group, or with None every process but ourselves: SIGTERM, up to
/// GRACE for them to exit, then SIGKILL and the same again. Every process gets the SIGKILL round:
/// having no children left does not mean no processes (a subreaper's are not ours).
fn stop(sfd: &OwnedFd, services: &mut [Service<'_>], i: Option<usize>) {
    let target = i.map_or(-1, |i| -services[i].pid);
    for sig in [SIGTERM, SIGKILL] {
        let _ = sig::kill(target, sig);
        let until = monotonic_ms() + GRACE;
        loop {
            let done = match i {
                Some(i) => services[i].pid == 0,
                None => sig::waitpid(-1, WNOHANG) == Err(sig::Errno::CHILD),
            };
            let now = monotonic_ms();
            if done && (i.is_some() || sig == SIGKILL) {
                return;
            }
            if done || now >= until {
                break;
            }
            if let Some(SIGCHLD) = next_signal(sfd, Some(until - now)).map(|s| s.signo) {
                reap(services, false);
            }
        }
    }
}
