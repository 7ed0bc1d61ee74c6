//! linux.resources.devices: the device cgroup. v1: devices.deny/devices.allow lines. v2 (and the
//! unified tree of a hybrid host): an eBPF program of our own making, attached to the cgroup.
//!
//! Rules apply in order, a later one overriding an earlier one; after them come the devices
//! every container gets (null, zero, full, random, urandom, tty, ptmx, pts, and mknod of
//! anything), as runc does.

use heapless::Vec;
use mote_sys::io::Buf;
use mote_sys::raw::{self, Errno};
use mote_sys::io::Fd;
use mote_sys::rustix::fs::{self, Mode, OFlags};

use super::{PATH, ROOT};
use crate::error::{Ctx, Error, Fits, Result};
use crate::spec::limits::DEVICE_RULES;
use crate::spec::resources::DevRule;

use super::bpf::{program, Rule, DEFAULTS, MKNOD, READ, WILD, WRITE};

/// Applies `rules` (from spec/resources.rs), then runc's defaults, to cgroup `path`: v1 files
/// when the devices controller is v1, and the eBPF program wherever there is a v2 tree (on a
/// hybrid host too, where it is a second, equal guard; there a kernel without cgroup BPF is not
/// an error).
pub fn apply(v2: bool, path: &[u8], rules: &[DevRule]) -> Result<()> {
    // A list, as runc's, starts from "nothing allowed": a v1 cgroup starts from its parent's
    // rules instead (the host's "a *:* rwm"), so v1 gets that deny written first (the program
    // denies what no rule allows by itself).
    // (Not twice: `mote spec`'s and the engines' lists begin with it.)
    let deny_all = Rule { allow: false, kind: b'a', major: WILD, minor: WILD, access: READ | WRITE | MKNOD };
    let first = rules.first().map(|r| r.rule());
    let lead = first.is_none_or(|f| (f.allow, f.kind, f.access) != (false, b'a', deny_all.access)).then_some(deny_all);
    let mut all = Vec::<Rule, { 1 + DEVICE_RULES + DEFAULTS.len() }>::new();
    for r in lead.into_iter().chain(rules.iter().map(|r| r.rule())).chain(DEFAULTS) {
        let _ = all.push(r); // the type has room for the bound's rules and the defaults
    }
    let rules = &all[..];
    if !v2 {
        let mut dir = Buf::<{ PATH + 64 }>::new();
        dir.s(ROOT).s(b"/devices").s(path);
        // Each file opened once, for all its rules (one rule per write): [deny, allow].
        let mut fds: [Option<mote_sys::rustix::fd::OwnedFd>; 2] = [None, None];
        for r in rules {
            let mut f = Buf::<{ PATH + 96 }>::new();
            f.s(dir.lossy()).s(if r.allow { &b"/devices.allow"[..] } else { b"/devices.deny" });
            let fd = &mut fds[r.allow as usize];
            let mut line = Buf::<48>::new();
            line.c(r.kind).c(b' ');
            num(&mut line, r.major);
            line.c(b':');
            num(&mut line, r.minor);
            line.c(b' ');
            for (bit, c) in [(READ, b'r'), (WRITE, b'w'), (MKNOD, b'm')] {
                if r.access & bit != 0 {
                    line.c(c);
                }
            }
            if fd.is_none() {
                *fd = Some(super::open_w(f.cstr().fits(t!("cgroup path:"))?)?);
            }
            let Some(fd) = fd.as_ref() else { continue };
            super::write_to(fd, f.lossy(), line.lossy())?; // two i64, a kind and three letters: fits 48
        }
    }
    let mut dir = Buf::<{ PATH + 64 }>::new();
    dir.s(ROOT).s(if v2 { &b""[..] } else { b"/unified" }).s(path);
    match attach(rules, &mut dir) {
        Ok(()) => Ok(()),
        // A kernel without cgroup BPF: the v1 controller still guards a hybrid host.
        Err(e) if matches!(e.errno(), Some(Errno::INVAL | Errno::PERM | Errno::NOSYS)) && !v2 => Ok(()),
        Err(e) => Err(e),
    }
}

fn num<const N: usize>(b: &mut Buf<N>, v: i64) {
    if v < 0 {
        b.c(b'*');
    } else {
        b.u(v as u64);
    }
}

/// Builds the program and attaches it to the cgroup directory `dir`.
fn attach(rules: &[Rule], dir: &mut Buf<{ PATH + 64 }>) -> Result<()> {
    let prog = program(rules).ok_or_else(|| Error::say(t!("device rules"), t!("too many for the eBPF program (1900 instructions)")))?;
    let cg = match fs::open(dir.cstr().fits(t!("cgroup path:"))?, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty()) {
        Err(Errno::NOENT) => return Ok(()), // no v2 tree for this container
        r => r.ctx(t!("open cgroup"), dir.lossy())?,
    };
    let dir = dir.lossy();
    let fd = raw::bpf_load_device_program(&prog, c"Apache-2.0").ctx(t!("load device eBPF program for"), dir)?;
    // The programs attached before (by create, or an earlier update) are detached once the new
    // one is in: programs attached together must all allow, so keeping them would let an update
    // only tighten the rules (and fail past the kernel's 64 programs per cgroup).
    let mut old = [0u32; 64];
    let n = raw::bpf_device_programs(cg.fd(), &mut old).ctx(t!("list device eBPF programs of"), dir)?;
    raw::bpf_attach_device_program(cg.fd(), fd.fd()).ctx(t!("attach device eBPF program to"), dir)?;
    for &id in &old[..n.min(old.len())] {
        let p = raw::bpf_program_by_id(id).ctx(t!("open device eBPF program of"), dir)?;
        raw::bpf_detach_device_program(cg.fd(), p.fd()).ctx(t!("detach the previous device eBPF program from"), dir)?;
    }
    Ok(())
}
