//! linux.resources.devices: the device cgroup. v1: devices.deny/devices.allow lines. v2 (and the
//! unified tree of a hybrid host): an eBPF program of our own making, attached to the cgroup.
//!
//! Rules apply in order, a later one overriding an earlier one; after them come the devices
//! every container gets (null, zero, full, random, urandom, tty, ptmx, pts, and mknod of
//! anything), as runc does.

use heapless::Vec;
use mote_sys::io::Buf;
use mote_sys::raw::{self, Errno};
use mote_sys::rustix::fd::AsFd;
use mote_sys::rustix::fs::{self, Mode, OFlags};

use super::{write_file, PATH, ROOT};
use crate::error::{Ctx, Error, Fits, Result};
use crate::json::Val;
use crate::spec::{self, P};

use super::bpf::{program, Rule, DEFAULTS, MKNOD, READ, WILD, WRITE};


/// A major or minor: -1 (any) up to i32::MAX (Linux's are 12 and 20 bits).
fn number(v: Val<'_>, p: &P) -> Result<i64> {
    match spec::i64(v, p)? {
        n @ -1..=0x7fff_ffff => Ok(n),
        _ => Err(p.err("must be -1 (any) or a device number below 2^31")),
    }
}

fn parse(v: Val<'_>, p: &P) -> Result<Vec<Rule, 160>> {
    let mut rules = Vec::new();
    for (i, d) in spec::arr(v, p)?.enumerate() {
        let pi = p.idx(i);
        let mut r = Rule { allow: false, kind: b'a', major: WILD, minor: WILD, access: 7 };
        for (k, v) in spec::obj(d, &pi)? {
            match k.to_bytes() {
                b"allow" => r.allow = spec::bool(v, &pi.key("allow"))?,
                b"type" => {
                    r.kind = match spec::str(v, &pi.key("type"))?.to_bytes() {
                        b"a" => b'a',
                        b"c" => b'c',
                        b"b" => b'b',
                        _ => return Err(pi.key("type").err("must be a, c or b")),
                    }
                }
                // -1 (any) or a number the program can compare: never cut to 32 bits.
                b"major" => r.major = number(v, &pi.key("major"))?,
                b"minor" => r.minor = number(v, &pi.key("minor"))?,
                b"access" => {
                    // Empty means all, as runc reads it.
                    r.access = if spec::str(v, &pi.key("access"))?.is_empty() { 7 } else { 0 };
                    for &c in spec::str(v, &pi.key("access"))?.to_bytes() {
                        r.access |= match c {
                            b'r' => READ,
                            b'w' => WRITE,
                            b'm' => MKNOD,
                            _ => return Err(pi.key("access").err("must be made of r, w and m")),
                        };
                    }
                }
                _ => {}
            }
        }
        spec::push(&mut rules, r, p)?;
    }
    for d in DEFAULTS {
        spec::push(&mut rules, d, p)?;
    }
    Ok(rules)
}

/// Applies the rules to cgroup `path`: v1 files when the devices controller is v1, and the eBPF
/// program wherever there is a v2 tree (on a hybrid host too, where it is a second, equal guard;
/// there a kernel without cgroup BPF is not an error).
pub fn apply(v2: &bool, path: &[u8], v: Val<'_>, p: &P, dry: bool) -> Result<()> {
    let rules = parse(v, p)?;
    if dry {
        return program(&rules).map(drop).ok_or_else(|| Error::msg("device rules", "", "too many for the eBPF program (1200 instructions)"));
    }
    if !*v2 {
        let mut dir = Buf::<{ PATH + 64 }>::new();
        dir.s(ROOT).s(b"/devices").s(path);
        for r in &rules {
            let mut f = Buf::<{ PATH + 96 }>::new();
            f.s(dir.lossy()).s(if r.allow { &b"/devices.allow"[..] } else { b"/devices.deny" });
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
            write_file(f.cstr(), line.lossy())?; // two i64, a kind and three letters: fits 48
        }
    }
    let mut dir = Buf::<{ PATH + 64 }>::new();
    dir.s(ROOT).s(if *v2 { &b""[..] } else { b"/unified" }).s(path);
    match attach(&rules, &mut dir) {
        Ok(()) => Ok(()),
        // A kernel without cgroup BPF: the v1 controller still guards a hybrid host.
        Err(Error { errno: Some(Errno::INVAL | Errno::PERM | Errno::NOSYS), .. }) if !*v2 => Ok(()),
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
    let prog = program(rules).ok_or_else(|| Error::msg("device rules", "", "too many for the eBPF program (1200 instructions)"))?;
    let cg = match fs::open(dir.cstr().fits("cgroup path:")?, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty()) {
        Err(Errno::NOENT) => return Ok(()), // no v2 tree for this container
        r => r.ctx("open cgroup", dir.lossy())?,
    };
    let fd = raw::bpf_load_device_program(&prog, c"Apache-2.0").ctx("load device eBPF program for", dir.lossy())?;
    // The programs attached before (by create, or an earlier update) are detached once the new
    // one is in: programs attached together must all allow, so keeping them would let an update
    // only tighten the rules (and fail past the kernel's 64 programs per cgroup).
    let mut old = [0u32; 64];
    let n = raw::bpf_device_programs(cg.as_fd(), &mut old).ctx("list device eBPF programs of", dir.lossy())?;
    raw::bpf_attach_device_program(cg.as_fd(), fd.as_fd()).ctx("attach device eBPF program to", dir.lossy())?;
    for &id in &old[..n.min(old.len())] {
        let p = raw::bpf_program_by_id(id).ctx("open device eBPF program of", dir.lossy())?;
        raw::bpf_detach_device_program(cg.as_fd(), p.as_fd()).ctx("detach the previous device eBPF program from", dir.lossy())?;
    }
    Ok(())
}
