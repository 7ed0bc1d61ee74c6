//! `mote state ID`: the OCI state JSON.

use mote_sys::io::Buf;
use mote_sys::Args;

use super::{parse, Global};
use crate::spec::limits;
use crate::error::Result;
use crate::state::{oci_json, Dir};

pub fn main(a: &Args, from: usize, g: &mut Global) -> Result<i32> {
    let p = parse(a, from, "state", &[], g, usize::MAX)?;
    let id = p.id("state")?;
    let dir = Dir::open(g.root, id.to_bytes())?;
    let mut buf = [0u8; limits::STATE];
    let st = dir.read(&mut buf)?;
    let mut out = Buf::<32768>::new();
    oci_json(&mut out, &st, st.status(&dir));
    out.c(b'\n');
    super::print(&out, "state output:")?;
    Ok(0)
}
