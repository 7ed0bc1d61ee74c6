//! `mote update [--memory N] [--pids-limit N] [--cpu-quota N] ... | -r resources.json] ID`:
//! changes a container's cgroup limits. Flags are turned into a resources JSON document and go
//! through the same code as linux.resources at create.

use mote_sys::io::Buf;
use mote_sys::rustix::fs::{self, Mode, OFlags};
use mote_sys::Args;

use super::{flag, parse, Flag, Global};
use crate::cgroup::resources;
use crate::error::{Ctx, Error, Fits, Result};
use crate::json::{self, Val};
use crate::spec::P;
use crate::state::{read_all, Dir};

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

/// (--flag, JSON object, JSON key, is a byte size, is a string)
const MAP: &[(&str, &str, &str, bool, bool)] = &[
    ("--memory", "memory", "limit", true, false),
    ("--memory-swap", "memory", "swap", true, false),
    ("--memory-reservation", "memory", "reservation", true, false),
    ("--kernel-memory", "memory", "kernel", true, false),
    ("--kernel-memory-tcp", "memory", "kernelTCP", true, false),
    ("--cpu-shares", "cpu", "shares", false, false),
    // runc's spelling of the same.
    ("--cpu-share", "cpu", "shares", false, false),
    ("--cpu-idle", "cpu", "idle", false, false),
    ("--cpu-quota", "cpu", "quota", false, false),
    ("--cpu-period", "cpu", "period", false, false),
    ("--cpu-burst", "cpu", "burst", false, false),
    ("--cpu-rt-runtime", "cpu", "realtimeRuntime", false, false),
    ("--cpu-rt-period", "cpu", "realtimePeriod", false, false),
    ("--cpuset-cpus", "cpu", "cpus", false, true),
    ("--cpuset-mems", "cpu", "mems", false, true),
    ("--pids-limit", "pids", "limit", false, false),
    ("--blkio-weight", "blockIO", "weight", false, false),
];

pub fn main(a: &Args, from: usize, g: &mut Global) -> Result<i32> {
    let p = parse(a, from, "update", FLAGS, g, usize::MAX)?;
    let id = p.id("update")?;
    let dir = Dir::open(g.root, id.to_bytes())?;
    let mut sbuf = [0u8; crate::spec::limits::STATE];
    let st = dir.read(&mut sbuf)?;
    if !st.alive() {
        return Err(Error::msg("cannot update container", st.id, "it is stopped"));
    }
    let mut doc = [0u8; 65536];
    let n = match p.get("resources") {
        Some(f) => {
            let fd = if f.to_bytes() == b"-" {
                fs::openat(fs::CWD, c"/dev/stdin", OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
            } else {
                fs::open(f, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
            }
            .ctx("open", f.to_bytes())?;
            read_all(&fd, &mut doc).ctx("read", f.to_bytes())?
        }
        None => from_flags(&p, &mut doc)?,
    };
    let root = json::prepare(&mut doc[..n]).map_err(|e| {
        let mut er = Error::msg("update: resources", "", "");
        er.path.s(b"invalid JSON at byte ").u(e.offset as u64).s(b": ").s(e.what);
        er
    })?;
    // All or nothing: every value checked before the first is written.
    resources::check(Val::root(&doc[..n], root), &P::ROOT)?;
    resources::apply(Val::root(&doc[..n], root), st.cgroup, &P::ROOT)?;
    Ok(0)
}

/// Builds {"memory":{...},"cpu":{...},...} from the flags given.
fn from_flags(p: &super::Parsed, out: &mut [u8]) -> Result<usize> {
    let mut b = Buf::<4096>::new();
    b.c(b'{');
    let mut first_obj = true;
    for obj in ["memory", "cpu", "pids", "blockIO"] {
        let mut first = true;
        for &(f, o, key, size, string) in MAP {
            if o != obj {
                continue;
            }
            let Some(v) = p.get(&f[2..]) else { continue };
            if first {
                if !first_obj {
                    b.c(b',');
                }
                b.json(obj).s(b":{");
                first_obj = false;
            } else {
                b.c(b',');
            }
            first = false;
            b.json(key).c(b':');
            if string {
                b.json(v.to_bytes());
            } else {
                b.i(value(v.to_bytes(), size, f)?);
            }
        }
        if !first {
            b.c(b'}');
        }
    }
    b.c(b'}');
    let b = b.get().fits("update flags as JSON:")?;
    out[..b.len()].copy_from_slice(b);
    Ok(b.len())
}

/// A number, -1, or with size: a byte count with an optional k/m/g suffix ("512m", "1G").
fn value(v: &[u8], size: bool, flag: &'static str) -> Result<i64> {
    if v == b"-1" {
        return Ok(-1);
    }
    let (digits, mult) = match v.last().map(|c| c.to_ascii_lowercase()) {
        Some(b'k') if size => (&v[..v.len() - 1], 1 << 10),
        Some(b'm') if size => (&v[..v.len() - 1], 1 << 20),
        Some(b'g') if size => (&v[..v.len() - 1], 1 << 30),
        _ => (v, 1),
    };
    let n = super::number(digits, flag)?;
    i64::try_from(n).ok().and_then(|n| n.checked_mul(mult)).ok_or_else(|| Error::msg(flag, v, "too large"))
}
