//! `mote run [create's flags] [--detach] ID`: create, start, and (unless detached) wait for the
//! process, forwarding signals to it; exits with its code (128+signal if killed), then deletes
//! the container as runc does.

use mote_sys::linux_raw_sys::general as g;
use mote_sys::linux_raw_sys::prctl as pr;
use mote_sys::raw::{self, Errno};
use mote_sys::Args;

use super::{create, parse, start, Global};
use crate::cgroup;
use crate::error::Result;

pub fn main(a: &Args, from: usize, gl: &mut Global) -> Result<i32> {
    let p = parse(a, from, "run", create::FLAGS, gl, usize::MAX)?;
    let id = p.id("run")?;
    let detach = p.has("detach");
    // The process may be a grandchild (unshare+fork path): adopt it to wait for it, or where
    // that is refused (qemu-user), have the intermediate child relay its exit status.
    let relay = !detach && raw::prctl(pr::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0).is_err();
    let c = create::create(a, &p, gl, id.to_bytes(), relay)?;
    if let Err(e) = start::start(&c.dir) {
        let _ = cgroup::destroy(c.cgroup.as_bytes());
        let _ = c.dir.remove();
        return Err(e);
    }
    if detach {
        return Ok(0);
    }
    // Let `state` and `kill` from other shells in while we wait.
    let _ = mote_sys::rustix::fs::flock(&c.dir.fd, mote_sys::rustix::fs::FlockOperation::Unlock);
    let code = wait_for(c.waiter);
    let _ = mote_sys::rustix::fs::flock(&c.dir.fd, mote_sys::rustix::fs::FlockOperation::LockExclusive);
    let _ = cgroup::destroy(c.cgroup.as_bytes());
    let _ = c.dir.remove();
    Ok(code)
}

/// Waits for `pid` (reaping anything else adopted meanwhile); its exit code or 128+signal.
fn wait_for(pid: u32) -> i32 {
    loop {
        match raw::wait4(-1, g::__WALL) {
            Ok((p, status)) if p == pid => {
                return if status & 0x7f == 0 { (status >> 8) & 0xff } else { 128 + (status & 0x7f) };
            }
            Ok(_) | Err(Errno::INTR) => {}
            Err(_) => return 255,
        }
    }
}
