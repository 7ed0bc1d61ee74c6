//! `mote run [create's flags] [--detach] ID`: create, start, and (unless detached) wait for the
//! process, forwarding signals to it; exits with its code (128+signal if killed), then deletes
//! the container as runc does (not with --keep).

use mote_sys::linux_raw_sys::general as g;
use mote_sys::linux_raw_sys::prctl as pr;
use mote_sys::raw::{self, Errno};
use mote_sys::io::Fd;
use mote_sys::rustix::event::{poll, PollFd, PollFlags, Timespec};
use mote_sys::rustix::fd::{BorrowedFd, OwnedFd};
use mote_sys::sig::{self, How, SigSet};
use mote_sys::Args;

use super::{given, create, parse_id, start, Global};
use crate::linux::console;
use crate::error::Result;
use crate::spec::Spec;

pub fn main(a: &Args, from: usize, gl: &mut Global) -> Result<i32> {
    // From the first instruction: a signal that comes during create waits (blocked) and is
    // forwarded to the container's process once it runs, instead of killing us halfway and
    // leaving the container behind. The container's process starts with an empty mask.
    let _ = sig::sigprocmask(How::Block, &SigSet::CATCHABLE);
    let (p, id) = parse_id(a, from, t!("run"), create::FLAGS, gl, usize::MAX)?;
    let detach = given!(p, create::FLAGS, "detach").is_some();
    // The process may be a grandchild (unshare+fork path): adopt it to wait for it, or where
    // that is refused (qemu-user), have the intermediate child relay its exit status.
    // --no-subreaper (runc's): always the relay.
    let relay = !detach && (given!(p, create::FLAGS, "no-subreaper").is_some() || raw::prctl(pr::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0).is_err());
    // In the foreground without an engine's console socket, a terminal is mote's to proxy
    // (the pair is unused when the config asks for none).
    let pair = if detach || given!(p, create::FLAGS, "console-socket").is_some() { None } else { Some(console::pair()?) };
    let mut c = create::create(a, &p, gl, id.to_bytes(), relay, !detach, pair.as_ref().map(|p| p.1.fd()))?;
    let master = match (&pair, c.terminal) {
        (Some((ours, _)), true) => console::receive(ours).map(Some),
        _ => Ok(None),
    };
    let master = match master.and_then(|m| start::start(&c.dir, gl, c.hooks, c.hooks.is_none().then_some(id.to_bytes())).map(|()| m)) {
        Ok(m) => m,
        // Destroyed as a delete --force would (process, cgroup, state dir), then its poststop
        // hooks: the spec's lifecycle, and runc's run.
        Err(e) => return Err(e.and(super::delete::delete(c.dir, true, gl, c.hooks))),
    };
    drop(pair);
    if detach {
        return Ok(0);
    }
    // (`state` and `kill` from other shells get in while we wait: start let the lock go.)
    let code = wait_for(c.waiter, c.pid, master.as_ref(), c.spec.take());
    // --keep (runc's): the stopped container stays, for `state` and `delete` later.
    if given!(p, create::FLAGS, "keep").is_some() {
        return Ok(code);
    }
    // Our state dir still, not a newer container of the same id made while we waited (its
    // directory would be another one: a different inode behind the same path)? Checked, and
    // deleted, under our lock again.
    use mote_sys::rustix::fs::{flock, fstat, statat, AtFlags, FlockOperation, CWD};
    let same = flock(&c.dir.fd, FlockOperation::LockExclusive).is_ok()
        && c.dir.path.cstr().is_ok_and(|p| {
            matches!((statat(CWD, p, AtFlags::SYMLINK_NOFOLLOW), fstat(&c.dir.fd)),
                (Ok(x), Ok(y)) if x.st_ino == y.st_ino && x.st_dev == y.st_dev)
        });
    // Said, not swallowed; the exit code stays the container's.
    if same {
        // Without poststop hooks (which get the state read back): what we wrote and what we
        // reaped is all delete would learn from state.json and /proc (nothing rewrites it after
        // create), so the stopped container goes without reading either.
        let r = match c.hooks.filter(|h| h.has("poststop")) {
            None => crate::cgroup::destroy(c.cgroup.lossy(), c.cgroup_ino).and_then(|()| c.dir.remove()),
            h => super::delete::delete(c.dir, true, gl, h),
        };
        if let Err(e) = r {
            crate::log::fail(gl, &e, 0);
        }
    }
    Ok(code)
}

/// Waits for `waiter` (reaping anything else adopted meanwhile), forwarding the signals mote
/// receives to the container's process `pid`, and proxying its terminal when mote holds the
/// pty `master`; returns the exit code or 128+signal. What create used (its `spec`, buffers,
/// stack) goes back once the wait looks long.
pub fn wait_for(waiter: u32, pid: u32, master: Option<&OwnedFd>, spec: Option<&'static mut Spec<'static>>) -> i32 {
    // Signals arrive through a signalfd, SIGCHLD among them; a SIGCHLD that came before the
    // mask is caught by the first non-blocking wait below.
    let fd = sig::sigprocmask(How::Block, &SigSet::CATCHABLE).and_then(|_| sig::signalfd(&SigSet::CATCHABLE)).ok();
    let _raw = master.map(|m| {
        console::copy_size(m);
        console::Raw::enter()
    });
    let (mut stdin_open, mut master_open) = (true, true);
    let mut unused = Some(spec);
    loop {
        loop {
            match sig::waitpid(-1, sig::WNOHANG | g::__WALL) {
                Ok(Some((p, status))) if p == waiter => {
                    if let Some(m) = master {
                        console::drain(m);
                    }
                    return sig::status_code(status);
                }
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(Errno::INTR) => {}
                Err(_) => return 255,
            }
        }
        // A wait may last as long as the container (a service): after a second with nothing to
        // do (at once with a terminal, which a person uses), the pages create used go back. A
        // short run without a terminal never pays for that; signals or orphans' SIGCHLD less
        // than a second apart only put it off.
        if let Some(s) = unused.take_if(|_| master.is_some() || fd.as_ref().is_none_or(|fd| !ready_within(fd.fd(), 1))) {
            give_back(s);
        }
        if let (Some(m), Some(fd)) = (master, &fd) {
            if !console::pump(m, fd.fd(), &mut stdin_open, &mut master_open) {
                continue;
            }
        }
        match &fd {
            Some(fd) => match sig::read_signal(fd.fd()) {
                Ok(i) if i.signo == g::SIGCHLD => {}
                // A resized terminal resizes the container's pty (the kernel then signals it).
                Ok(i) => match master {
                    Some(m) if i.signo == g::SIGWINCH => console::copy_size(m),
                    _ => {
                        let _ = sig::kill(pid as i32, i.signo);
                    }
                },
                Err(_) => return 255,
            },
            // No signalfd (should not happen): block in wait4 instead.
            None => match sig::waitpid(waiter as i32, g::__WALL) {
                Ok(Some((_, status))) => return sig::status_code(status),
                _ => return 255,
            },
        }
    }
}

/// Whether `fd` becomes readable within `secs` seconds.
fn ready_within(fd: BorrowedFd<'_>, secs: i64) -> bool {
    let t = Timespec { tv_sec: secs, tv_nsec: 0 };
    !matches!(poll(&mut [PollFd::new(&fd, PollFlags::IN)], Some(&t)), Ok(0))
}

/// Gives back the memory create used and a waiting process no longer needs: the parsed config,
/// the scratch buffers' pages, the stack below us.
#[inline(never)]
fn give_back(spec: Option<&'static mut Spec<'static>>) {
    if let Some(s) = spec {
        crate::spec::retire(s);
    }
    crate::state::discard_buffers();
    create::discard_paths();
    mote_sys::mem::release_stack();
}
