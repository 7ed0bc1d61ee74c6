//! `mote kill [--all] ID [SIGNAL]`: SIGNAL as a name (TERM, SIGTERM) or a number; TERM by default.

use mote_sys::Args;

use super::{given, flag, parse_id, Flag, Global};
use crate::cgroup;
use crate::error::{Error, Result};

const FLAGS: &[Flag] = &[flag("all", b'a', false)];

pub fn main(a: &Args, from: usize, g: &mut Global) -> Result<i32> {
    let (p, id) = parse_id(a, from, t!("kill"), FLAGS, g, usize::MAX)?;
    let sig = match p.pos.get(1) {
        Some(s) => signal(s.to_bytes())?,
        None => 15,
    };
    let mut buf = None;
    let (dir, st) = crate::state::load(g.root, id.to_bytes(), &mut buf)?;
    let status = st.status(&dir);
    if !status.can_kill() {
        return Err(status.refused(t!("cannot kill container"), st.id, ""));
    }
    if given!(p, FLAGS, "all").is_some() {
        // The whole subtree: sub-cgroups the container made are its own too.
        cgroup::owned(st.cgroup, st.cgroup_ino)?;
        cgroup::pids(st.cgroup, &mut |pid| {
            let _ = mote_sys::sig::kill(pid as i32, sig as u32);
            Ok(())
        })?;
        return Ok(0);
    }
    st.signal(sig).map_err(|e| Error::sys(t!("kill"), st.id, e))?;
    Ok(0)
}

/// Signal names in number order (x86 numbering, which aarch64 and riscv64 share).
const NAMES: &str = "HUP INT QUIT ILL TRAP ABRT BUS FPE KILL USR1 SEGV USR2 PIPE ALRM TERM STKFLT CHLD CONT STOP \
TSTP TTIN TTOU URG XCPU XFSZ VTALRM PROF WINCH IO PWR SYS";

/// A signal by number, name, or SIG-name (x86 numbering, which aarch64 and riscv64 share).
pub fn signal(s: &[u8]) -> Result<i32> {
    if !s.is_empty() && s.iter().all(|c| c.is_ascii_digit()) {
        let n = mote_sys::num::parse::<i32>(s).unwrap_or(0);
        // 0 sends nothing: runc's (and kill(1)'s) check that the process is alive.
        if (0..=64).contains(&n) {
            return Ok(n);
        }
    }
    let name = s.strip_prefix(b"SIG").unwrap_or(s);
    let mut up = [0u8; 16];
    let n = name.len().min(16);
    for (d, c) in up.iter_mut().zip(&name[..n]) {
        *d = c.to_ascii_uppercase();
    }
    match crate::spec::position(NAMES, b"", &up[..n]) {
        Some(i) => Ok(i as i32 + 1),
        None if &up[..n] == b"IOT" => Ok(6),
        None if &up[..n] == b"POLL" => Ok(29),
        None => Err(Error::msg(t!("invalid signal"), s, t!("use a name like TERM or a number"))),
    }
}
