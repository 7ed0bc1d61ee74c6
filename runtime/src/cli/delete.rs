//! `mote delete [--force] ID`: kills what is left (with --force, even a running container) and
//! removes the cgroup and the state dir.

use mote_sys::io::Buf;
use mote_sys::raw::Errno;
use mote_sys::rustix::fs::{self, AtFlags, FileType, CWD};
use mote_sys::Args;

use super::{given, flag, parse_id, Flag, Global};
use crate::spec::limits;
use crate::cgroup;
use crate::error::{Ctx, Error, Fits, Result};
use crate::hooks::Hooks;
use crate::state::{oci_json, Dir, Status};

const FLAGS: &[Flag] = &[flag("force", b'f', false)];

pub fn main(a: &Args, from: usize, g: &mut Global) -> Result<i32> {
    let (p, id) = parse_id(a, from, t!("delete"), FLAGS, g, usize::MAX)?;
    let dir = match Dir::open(g.root, id.to_bytes()) {
        Ok(d) => d,
        Err(e) if given!(p, FLAGS, "force").is_some() => return not_a_dir(g.root, id.to_bytes(), e).map(|()| 0),
        Err(e) => return Err(e),
    };
    let mut buf = crate::state::read_buf()?;
    let hooks = match dir.read(&mut buf[..]) {
        // --force deletes even when the kept config is unreadable (a create killed early).
        Ok(st) if st.has_hooks => match crate::hooks::load(&dir) {
            Err(e) if given!(p, FLAGS, "force").is_some() => {
                crate::hooks::warn(g, &e);
                None
            }
            r => r?,
        },
        _ => None,
    };
    drop(buf);
    delete(dir, given!(p, FLAGS, "force").is_some(), g, hooks)?;
    Ok(0)
}

/// delete --force of an id whose state dir did not open: nothing there is success (runc), a
/// file or a symlink (dangling or not) in its place is removed itself (never what it points
/// to); anything else is the error it was.
fn not_a_dir(root: &core::ffi::CStr, id: &[u8], e: Error) -> Result<()> {
    let mut path = Buf::<{ limits::PATH }>::new();
    path.s(root.to_bytes()).c(b'/').s(id);
    let path = path.cstr().fits(t!("state dir path:"))?;
    match fs::statat(CWD, path, AtFlags::SYMLINK_NOFOLLOW) {
        Err(Errno::NOENT) => Ok(()),
        Ok(st) if FileType::from_raw_mode(st.st_mode) != FileType::Directory => {
            fs::unlinkat(CWD, path, AtFlags::empty()).ctx(t!("remove"), path.to_bytes())
        }
        _ => Err(e),
    }
}

/// Deletes the container in `dir`, then runs its poststop hooks.
pub fn delete(dir: Dir, force: bool, g: &Global, hooks: Option<Hooks<'_>>) -> Result<()> {
    let mut buf = crate::state::read_buf()?;
    let st = match dir.read(&mut buf[..]) {
        Ok(st) => st,
        Err(e) => {
            // salvage reads state.json again, into the same buffer
            drop(buf);
            return if force { salvage(dir) } else { Err(e) };
        }
    };
    let status = st.status(&dir);
    if !status.can_delete() && !force {
        return Err(status.refused(t!("cannot delete container"), st.id, " (use --force)"));
    }
    if status != Status::Stopped {
        let _ = st.signal(9);
    }
    cgroup::destroy(st.cgroup, st.cgroup_ino)?;
    let mut state = crate::state::json_buf()?;
    oci_json(&mut state, &st, Status::Stopped);
    dir.remove()?;
    if let Some(h) = hooks.filter(|h| h.has("poststop")) {
        h.run_warn(g, "poststop", state.get());
    }
    Ok(())
}

/// delete --force of an unreadable state.json: what its bytes still say is cleaned up (the
/// process if it is the same one, the cgroup if it is the same one); when they name no cgroup,
/// the state dir stays and the error says so: success is never reported for what was not removed.
fn salvage(dir: Dir) -> Result<()> {
    // No state.json at all (a create of an older mote killed early): nothing can hide behind
    // it but the default cgroup, which is then refused below like an unreadable one.
    let id = &dir.path.lossy()[dir.path.lossy().iter().rposition(|&c| c == b'/').map_or(0, |i| i + 1)..];
    let mut default = Buf::<{ limits::CGROUP_PATH }>::new();
    default.s(b"/mote/").s(id);
    if !dir.has_state() && cgroup::ident(default.lossy()).is_err() {
        return dir.remove();
    }
    let mut buf = crate::state::read_buf()?;
    let Some((pid, start, cg, ino)) = dir.salvage(&mut buf[..]) else {
        return Err(Error::msg(t!("state.json in"), dir.path.lossy(), t!("unreadable, and names no cgroup: its process and cgroup are unknown (state dir kept)")));
    };
    if pid != 0 && crate::state::proc_start_time(pid).is_some_and(|(t, _)| t == start) {
        let _ = mote_sys::sig::kill(pid as i32, 9);
    }
    cgroup::destroy(cg, ino)?;
    dir.remove()
}
