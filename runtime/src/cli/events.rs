//! `mote events [--stats] [--interval 5s|100ms|1m30s] ID`: cgroup statistics as runc's JSON. With --stats
//! one document; without, one per interval until the container stops.

use mote_sys::io::Buf;
use mote_sys::Args;

use super::{given, flag, parse_id, Flag, Global};
use crate::cgroup::stats;
use crate::error::{Error, Result};

const FLAGS: &[Flag] = &[flag("stats", 0, false), flag("interval", 0, true)];

#[inline(never)]
pub fn main(a: &Args, from: usize, g: &mut Global) -> Result<i32> {
    let (p, id) = parse_id(a, from, t!("events"), FLAGS, g, usize::MAX)?;
    let ms = match given!(p, FLAGS, "interval") {
        Some(v) => super::duration_ms(v.to_bytes(), t!("--interval"))?,
        None => 5000,
    };
    loop {
        let mut buf = None;
        let (dir, st) = crate::state::load(g.root, id.to_bytes(), &mut buf)?;
        if !st.alive() {
            return if given!(p, FLAGS, "stats").is_some() { Err(Error::msg(t!("container"), st.id, t!("is not running"))) } else { Ok(0) };
        }
        let mut out = Buf::<65536>::new();
        out.s(br#"{"type":"stats","id":"#).json(st.id).s(br#","data":"#);
        stats::json(&mut out, st.cgroup);
        out.s(b"}\n");
        super::print(&out, t!("events output:"))?;
        drop(dir);
        if given!(p, FLAGS, "stats").is_some() {
            return Ok(0);
        }
        crate::cgroup::sleep_ms(ms);
    }
}
