//! `mote ps [--format table|json] ID`: the processes in the container's cgroup.

use mote_sys::io::{Buf, Text};
use mote_sys::rustix::fs::{self, Mode, OFlags, CWD};
use mote_sys::Args;

use super::{flag, parse_id, Flag, Global};
use crate::cgroup;
use crate::error::Result;

const FLAGS: &[Flag] = &[flag("format", b'f', true)];
// Parsed::json_format reads --format as the first flag.
const _: () = assert!(super::index(FLAGS, "format") == 0);

#[inline(never)]
pub fn main(a: &Args, from: usize, g: &mut Global) -> Result<i32> {
    let (p, id) = parse_id(a, from, t!("ps"), FLAGS, g, 1)?;
    let json = p.json_format()?;
    let mut buf = None;
    let (_dir, st) = crate::state::load(g.root, id.to_bytes(), &mut buf)?;
    let mut out = Buf::<65536>::new();
    out.s(if json { &b"["[..] } else { b"PID\tCMD\n" });
    let mut first = true;
    cgroup::owned(st.cgroup, st.cgroup_ino)?;
    cgroup::pids(st.cgroup, &mut |pid| {
        if json {
            if !first {
                out.c(b',');
            }
            out.u(pid as u64);
        } else {
            out.u(pid as u64).c(b'\t');
            cmdline(&mut out, pid);
            out.c(b'\n');
        }
        first = false;
        Ok(())
    })?;
    out.s(if json { &b"]\n"[..] } else { b"" });
    super::print(&out, t!("ps output:"))?;
    Ok(0)
}

/// Appends /proc/PID/cmdline with spaces for NULs.
fn cmdline(out: &mut Text, pid: u32) {
    let mut p = Buf::<32>::new();
    p.s(b"/proc/").u(pid as u64).s(b"/cmdline");
    let Ok(p) = p.cstr() else { return };
    let Ok(f) = fs::openat(CWD, p, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()) else { return };
    let mut b = [0u8; 512];
    // As a slice: rustix's read is generic over the buffer, an array would be a copy of its own.
    let n = mote_sys::rustix::io::read(&f, &mut b[..]).unwrap_or(0);
    for &c in b[..n].strip_suffix(b"\0").unwrap_or(&b[..n]) {
        out.c(if c == 0 { b' ' } else { c });
    }
}
