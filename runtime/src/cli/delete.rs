//! `mote delete [--force] ID`: kills what is left (with --force, even a running container) and
//! removes the cgroup and the state dir.

use mote_sys::Args;

use super::{flag, parse, Flag, Global};
use crate::spec::limits;
use crate::cgroup;
use crate::error::{Error, Result};
use crate::hooks::Hooks;
use crate::state::{oci_json, Dir, Status};
use mote_sys::io::Buf;

const FLAGS: &[Flag] = &[flag("force", b'f', false)];

pub fn main(a: &Args, from: usize, g: &mut Global) -> Result<i32> {
    let p = parse(a, from, "delete", FLAGS, g, usize::MAX)?;
    let id = p.id("delete")?;
    let dir = match Dir::open(g.root, id.to_bytes()) {
        Ok(d) => d,
        // runc: deleting a missing container with --force is not an error.
        Err(_) if p.has("force") => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut buf = [0u8; limits::STATE];
    let hooks = match dir.read(&mut buf) {
        // --force deletes even when the kept config is unreadable (a create killed early).
        Ok(st) if st.has_hooks => match crate::hooks::load(&dir) {
            Err(e) if p.has("force") => {
                crate::hooks::warn(g, &e);
                None
            }
            r => r?,
        },
        _ => None,
    };
    delete(dir, p.has("force"), g, hooks)?;
    Ok(0)
}

/// Deletes the container in `dir`, then runs its poststop hooks.
pub fn delete(dir: Dir, force: bool, g: &Global, hooks: Option<Hooks<'_>>) -> Result<()> {
    let mut buf = [0u8; limits::STATE];
    let st = match dir.read(&mut buf) {
        Ok(st) => st,
        // Unreadable state (a create killed before it wrote any): with --force, remove the
        // directory all the same, as runc does.
        Err(_) if force => return dir.remove(),
        Err(e) => return Err(e),
    };
    let status = st.status(&dir);
    if !status.can_delete() && !force {
        let mut e = Error::msg("cannot delete container", st.id, "");
        e.path.s(b": it is ").s(status.name()).s(b" (use --force)");
        return Err(e);
    }
    if status != Status::Stopped {
        let _ = st.signal(9);
    }
    cgroup::destroy(st.cgroup, st.cgroup_ino)?;
    let mut state = Buf::<{ limits::STATE }>::new();
    oci_json(&mut state, &st, Status::Stopped);
    dir.remove()?;
    if let Some(h) = hooks.filter(|h| h.has("poststop")) {
        h.run_warn(g, "poststop", state.get());
    }
    Ok(())
}
