//! `mote pause ID` / `mote resume ID`: the freezer (v1 freezer.state, v2 cgroup.freeze).

use mote_sys::Args;

use super::{parse_id, Global};
use crate::cgroup;
use crate::error::Result;
use crate::state::Status;

pub fn main(a: &Args, from: usize, g: &mut Global, freeze: bool) -> Result<i32> {
    let verb = if freeze { t!("pause") } else { t!("resume") };
    let (_, id) = parse_id(a, from, verb, &[], g, usize::MAX)?;
    let mut buf = None;
    let (dir, st) = crate::state::load(g.root, id.to_bytes(), &mut buf)?;
    let status = st.status(&dir);
    let ok = if freeze { status == Status::Running || status == Status::Created } else { status == Status::Paused };
    if !ok {
        return Err(status.refused(if freeze { t!("cannot pause container") } else { t!("cannot resume container") }, st.id, ""));
    }
    cgroup::freeze(st.cgroup, freeze)?;
    Ok(0)
}
