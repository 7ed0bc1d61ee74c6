//! `mote update [--memory N] [--pids-limit N] [--cpu-quota N] ... | -r resources.json] ID`:
//! changes a container's cgroup limits. The flags or the file become the same structs as
//! linux.resources at create (spec/resources.rs) and are applied by the same code.

use mote_sys::rustix::fs::{self, Mode, OFlags};
use mote_sys::Args;

use super::{given, flag, parse_id, Flag, Global};
use crate::cgroup::resources;
use crate::error::{Ctx, Error, Result};
use crate::json::{self, Val};
use crate::spec::resources::{self as res, Resources};
use crate::spec::P;
use crate::state::read_all;

const FLAGS: &[Flag] = &[
    flag("resources", b'r', true),
    flag("memory", b'm', true),
    flag("memory-swap", 0, true),
    flag("memory-reservation", 0, true),
    flag("kernel-memory", 0, true),
    flag("kernel-memory-tcp", 0, true),
    flag("cpu-shares", 0, true),
    flag("cpu-share", 0, true),
    flag("cpu-idle", 0, true),
    flag("cpu-quota", 0, true),
    flag("cpu-period", 0, true),
    flag("cpu-burst", 0, true),
    flag("cpu-rt-runtime", 0, true),
    flag("cpu-rt-period", 0, true),
    flag("cpuset-cpus", 0, true),
    flag("cpuset-mems", 0, true),
    flag("pids-limit", 0, true),
    flag("blkio-weight", 0, true),
];

/// The scalar slot (spec/resources.rs FIELDS) each flag after --resources sets; the first five
/// take byte sizes (512m, 1.5g, 1GiB).
const SLOTS: [u8; 17] = [0, 1, 5, 9, 10, 11, 11, 15, 3, 4, 12, 14, 13, 19, 20, 16, 17];

#[inline(never)]
pub fn main(a: &Args, from: usize, g: &mut Global) -> Result<i32> {
    let (p, id) = parse_id(a, from, t!("update"), FLAGS, g, usize::MAX)?;
    let mut buf = None;
    let (_dir, st) = crate::state::load(g.root, id.to_bytes(), &mut buf)?;
    if !st.alive() {
        return Err(Error::msg(t!("cannot update container"), st.id, t!("it is stopped")));
    }
    let mut doc = [0u8; 65536];
    // All or nothing: every value read, and checked against the host's layout, before the
    // first is written (cgroup/resources.rs).
    let mut r = Resources::default();
    match given!(p, FLAGS, "resources") {
        Some(f) => {
            let fd = if f.to_bytes() == b"-" {
                fs::openat(fs::CWD, c"/dev/stdin", OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
            } else {
                fs::open(f, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
            }
            .ctx(t!("open"), f.to_bytes())?;
            let n = read_all(&fd, &mut doc).ctx(t!("read"), f.to_bytes())?;
            let root = json::prepare(&mut doc[..n]).map_err(|e| {
                let mut er = Error::say(t!("update: resources"), t!(""));
                er.path(|p| { p.t(t!("invalid JSON at byte ")).u(e.offset as u64).t(t!(": ")).t(e.what); });
                er
            })?;
            res::parse(Val::root(&doc[..n], root), &P::ROOT, &mut r)?;
        }
        None => from_flags(&p, &mut r)?,
    }
    resources::apply(&r, st.cgroup, &P::ROOT, true)?;
    Ok(0)
}

/// The resources the flags set into `r`, as if from a document with their objects.
fn from_flags(p: &super::Parsed, r: &mut Resources<'_>) -> Result<()> {
    // The flags given so far, by slot: --cpu-share and --cpu-shares both set one.
    let mut given: [&[u8]; res::SLOTS] = [b""; res::SLOTS];
    for (i, f) in FLAGS[1..].iter().enumerate() {
        let Some(v) = p.at(i + 1) else { continue };
        let slot = SLOTS[i] as usize;
        if !given[slot].is_empty() {
            let mut e = Error::msg(t!(""), "--", t!("are the same flag: give one"));
            e.path(|p| {
                p.s(given[slot]).t(t!(" and --")).s(f.long());
            });
            return Err(e);
        }
        given[slot] = f.long();
        let (obj, _) = res::field(slot);
        r.groups |= 1 << crate::spec::position(res::GROUPS, b"", obj.as_bytes()).unwrap_or(0);
        if res::KINDS[slot] == b's' {
            r.put_str(slot, v);
            continue;
        }
        let n = value(v.to_bytes(), i < 5).map_err(|e| {
            let mut m = Error::msg(t!(""), "--", e.detail());
            m.path(|p| {
                p.s(f.long()).c(b' ').s(v.to_bytes());
            });
            m
        })?;
        if n < 0 && matches!(res::KINDS[slot], b'u' | b'U') {
            return Err(res::err(&P::ROOT, slot, t!("expected a non-negative integer")));
        }
        r.put(slot, n, &P::ROOT)?;
    }
    Ok(())
}

/// A number, -1, or with size: a byte count as runc's flags take one ("512m", "1.5g", "1GiB").
fn value(v: &[u8], size: bool) -> Result<i64> {
    if v == b"-1" {
        return Ok(-1);
    }
    if size {
        return mote_sys::num::size(v).map_err(|big| Error::say(t!(""), if big { t!("too large") } else { t!("not a size (512m, 1.5g, 1GiB)") }));
    }
    let n = super::number(v, t!(""))?;
    i64::try_from(n).map_err(|_| Error::say(t!(""), t!("too large")))
}
