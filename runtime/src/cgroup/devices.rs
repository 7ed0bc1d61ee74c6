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

const WILD: i64 = -1;
const MKNOD: u32 = 1;
const READ: u32 = 2;
const WRITE: u32 = 4;

#[derive(Clone, Copy)]
struct Rule {
    allow: bool,
    /// b'a', b'c' or b'b'
    kind: u8,
    major: i64,
    minor: i64,
    access: u32,
}

/// Devices every container may use (runc's list).
const DEFAULTS: [Rule; 10] = [
    Rule { allow: true, kind: b'c', major: WILD, minor: WILD, access: MKNOD },
    Rule { allow: true, kind: b'b', major: WILD, minor: WILD, access: MKNOD },
    Rule { allow: true, kind: b'c', major: 1, minor: 3, access: 7 },
    Rule { allow: true, kind: b'c', major: 1, minor: 5, access: 7 },
    Rule { allow: true, kind: b'c', major: 1, minor: 7, access: 7 },
    Rule { allow: true, kind: b'c', major: 1, minor: 8, access: 7 },
    Rule { allow: true, kind: b'c', major: 1, minor: 9, access: 7 },
    Rule { allow: true, kind: b'c', major: 5, minor: 0, access: 7 },
    Rule { allow: true, kind: b'c', major: 5, minor: 2, access: 7 },
    Rule { allow: true, kind: b'c', major: 136, minor: WILD, access: 7 },
];

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
pub fn apply(v2: &bool, path: &[u8], v: Val<'_>, p: &P) -> Result<()> {
    let rules = parse(v, p)?;
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
    let prog = program(rules)?;
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

/// One eBPF instruction: opcode, dst and src registers, offset, immediate.
const fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> u64 {
    code as u64 | ((dst as u64 | (src as u64) << 4) << 8) | ((off as u16 as u64) << 16) | ((imm as u32 as u64) << 32)
}

const LDX_W: u8 = 0x61; // r_dst = *(u32 *)(r_src + off)
const AND_K: u8 = 0x57; // r_dst &= imm (64-bit)
const RSH_K: u8 = 0x77; // r_dst >>= imm
const MOV_X: u8 = 0xbf; // r_dst = r_src
const MOV_K: u8 = 0xb7; // r_dst = imm
const JNE_K: u8 = 0x55; // if r_dst != imm: skip off
const JNE_X: u8 = 0x5d; // if r_dst != r_src: skip off
const EXIT: u8 = 0x95;

/// The program: the device's type, access, major and minor into r2..r5; then the rules, last
/// first, each "if it matches, return allow/deny"; else deny.
fn program(rules: &[Rule]) -> Result<Vec<u64, 1200>> {
    let mut p: Vec<u64, 1200> = Vec::new();
    let full = || Error::msg("device rules", "", "too many for the eBPF program (1200 instructions)");
    for i in [
        insn(LDX_W, 2, 1, 0, 0), // access_type
        insn(AND_K, 2, 0, 0, 0xffff), // type: 1 block, 2 char
        insn(LDX_W, 3, 1, 0, 0),
        insn(RSH_K, 3, 0, 0, 16), // access: 1 mknod, 2 read, 4 write
        insn(LDX_W, 4, 1, 4, 0),  // major
        insn(LDX_W, 5, 1, 8, 0),  // minor
    ] {
        p.push(i).map_err(|_| full())?;
    }
    for r in rules.iter().rev() {
        let mut block: Vec<u64, 8> = Vec::new();
        // Conditions jump to the end of the block when they fail; offsets are filled in after.
        let mut conds: Vec<(u8, u8, u8, i32), 4> = Vec::new();
        if r.kind != b'a' {
            let _ = conds.push((JNE_K, 2, 0, if r.kind == b'c' { 2 } else { 1 }));
        }
        if r.access != 7 {
            let _ = conds.push((0, 0, 0, r.access as i32)); // subset test: three instructions
        }
        if r.major >= 0 {
            let _ = conds.push((JNE_K, 4, 0, r.major as i32));
        }
        if r.minor >= 0 {
            let _ = conds.push((JNE_K, 5, 0, r.minor as i32));
        }
        let len: usize = conds.iter().map(|c| if c.0 == 0 { 3 } else { 1 }).sum::<usize>() + 2;
        let mut at = 0;
        for (code, dst, src, imm) in conds {
            if code == 0 {
                // r1 = r3 & allowed; if r1 != r3 (asked for more than allowed): no match
                let _ = block.push(insn(MOV_X, 1, 3, 0, 0));
                let _ = block.push(insn(AND_K, 1, 0, 0, imm));
                at += 2;
                let _ = block.push(insn(JNE_X, 1, 3, (len - at - 1) as i16, 0));
            } else {
                let _ = block.push(insn(code, dst, src, (len - at - 1) as i16, imm));
            }
            at += 1;
        }
        let unconditional = block.is_empty();
        let _ = block.push(insn(MOV_K, 0, 0, 0, r.allow as i32));
        let _ = block.push(insn(EXIT, 0, 0, 0, 0));
        for i in block {
            p.push(i).map_err(|_| full())?;
        }
        // A rule that matches everything ends the program: the verifier refuses unreachable code.
        if unconditional {
            return Ok(p);
        }
    }
    p.push(insn(MOV_K, 0, 0, 0, 0)).map_err(|_| full())?;
    p.push(insn(EXIT, 0, 0, 0, 0)).map_err(|_| full())?;
    Ok(p)
}
