//! `mote start ID`: lets a created container's process exec (one byte through its exec fifo).

use mote_sys::raw::Errno;
use mote_sys::rustix::event::{poll, PollFd, PollFlags};
use mote_sys::rustix::fs::{self, AtFlags, Mode, OFlags};
use mote_sys::Args;

use super::{parse_id, Global};
use crate::error::{Ctx, Error, Result};
use crate::hooks::Hooks;
use crate::state::{oci_json, Dir, Status, FIFO};

pub fn main(a: &Args, from: usize, g: &mut Global) -> Result<i32> {
    let (_, id) = parse_id(a, from, t!("start"), &[], g, usize::MAX)?;
    let dir = Dir::open(g.root, id.to_bytes())?;
    let mut buf = crate::state::read_buf()?;
    let hooks = match dir.read(&mut buf[..]) {
        Ok(st) if st.has_hooks => crate::hooks::load(&dir)?,
        _ => None,
    };
    drop(buf);
    start(&dir, g, hooks, None)?;
    Ok(0)
}

/// Wakes the process of the container in `dir`, if it is created, then runs its poststart hooks.
/// `ours`: the id of a container this process has just created and holds locked since (run),
/// with no hooks (a createRuntime hook may change anything): nothing else can have changed its
/// status, and its process's death is what the fifo's open reports (ENXIO), so its state is not
/// read back.
pub fn start(dir: &Dir, g: &Global, hooks: Option<Hooks<'_>>, ours: Option<&[u8]>) -> Result<()> {
    let mut buf = crate::state::read_buf()?;
    let post = hooks.filter(|h| h.has("poststart"));
    let st = if ours.is_some() && post.is_none() { None } else { Some(dir.read(&mut buf[..])?) };
    let id = match (&st, ours) {
        (_, Some(id)) => id,
        (Some(st), None) => st.id,
        (None, None) => b"",
    };
    if let (Some(st), None) = (&st, ours) {
        let status = st.status(dir);
        if !status.can_start() {
            return Err(status.refused(t!("cannot start container"), id, ""));
        }
    }
    let shown = dir.path.lossy();
    // Non-blocking: with no reader (the process died) this fails instead of hanging.
    let f = match fs::openat(&dir.fd, FIFO, OFlags::WRONLY | OFlags::NONBLOCK | OFlags::CLOEXEC, Mode::empty()) {
        Err(Errno::NXIO) => return Err(Error::msg(t!("cannot start container"), id, t!("its process is gone"))),
        r => r.ctx(t!("open exec fifo in"), shown)?,
    };
    mote_sys::rustix::io::write(&f, b"0").ctx(t!("write exec fifo in"), shown)?;
    fs::unlinkat(&dir.fd, FIFO, AtFlags::empty()).ctx(t!("remove exec fifo in"), shown)?;
    // Always after the exec, as runc's start (a signal sent right after start must find the
    // program's handlers, not the runtime's defaults), and after startContainer hooks: the
    // fifo's read end (close-on-exec, held by the process alone) is gone, which poll reports
    // as POLLERR on our end. The lock is let go first: kill and delete must still reach a
    // container whose hook hangs.
    let _ = fs::flock(&dir.fd, fs::FlockOperation::Unlock);
    let mut fds = [PollFd::new(&f, PollFlags::empty())];
    while let Err(Errno::INTR) = poll(&mut fds, None) {}
    if let (Some(h), Some(st)) = (post, &st) {
        let Ok(mut b) = crate::state::json_buf() else { return Ok(()) };
        oci_json(&mut b, st, Status::Running);
        h.run_warn(g, "poststart", b.get());
    }
    Ok(())
}
