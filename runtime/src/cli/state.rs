//! `mote state ID`: the OCI state JSON, indented as runc's.

use mote_sys::io::Buf;
use mote_sys::mem::Pool;
use mote_sys::Args;

use super::{parse_id, Global};
use crate::spec::limits;
use crate::error::{Error, Fits, Result};
use crate::state::{oci_json, Status};

pub fn main(a: &Args, from: usize, g: &mut Global) -> Result<i32> {
    let (_, id) = parse_id(a, from, t!("state"), &[], g, usize::MAX)?;
    let mut buf = None;
    let (dir, st) = crate::state::load(g.root, id.to_bytes(), &mut buf)?;
    let status = st.status(&dir);
    // As runc and crun: no "creating" (start would refuse it). A create still running holds the
    // lock until it is done; one that died left a process-less state for delete --force.
    if status == Status::Creating {
        return Err(Error::msg(t!("container"), st.id, t!("does not exist (its create did not finish: delete --force removes it)")));
    }
    // In .bss (see sys/src/mem.rs): 136 KiB of frame would be touched on every `state`, which
    // engines run after every operation.
    static COMPACT: Pool<Buf<{ limits::STATE + 256 }>> = Pool::new(Buf::new());
    static OUT: Pool<Buf<{ limits::STATE + 8192 }>> = Pool::new(Buf::new());
    let (Some(mut compact), Some(mut out)) = (COMPACT.get(), OUT.get()) else {
        return Err(Error::say(t!("state output:"), t!("buffer already in use (a bug)")));
    };
    oci_json(&mut compact, &st, status);
    // Indented as runc prints it (tools grep for `"status": "running"`).
    crate::json::indent(compact.get().fits(t!("state output:"))?, &mut out, b"  ");
    out.c(b'\n');
    super::print(&out, t!("state output:"))?;
    Ok(0)
}
