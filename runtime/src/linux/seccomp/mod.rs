//! `linux.seccomp` compiled to a classic BPF program by mote itself (no libseccomp).
//!
//! The program: the audit architecture first (the ABIs of this target the profile lists, the
//! native one always), then per ABI a balanced binary search over the syscall number: the numbers
//! are cut into ranges that share one outcome (gaps take the default action, neighbours with the
//! same action merge; one number alone between two equal ranges is one jeq), so a lookup runs
//! about log2(ranges) jumps whatever the profile's size. On x86_64 the x32 ABI (numbers with
//! __X32_SYSCALL_BIT) is one more range of the same search. Argument rules sit at the leaves: for
//! one syscall its rules with arguments are tried in the profile's order (their args ANDed, each
//! 64-bit comparison done on both 32-bit halves), then its rule without arguments, then the
//! default action; syscalls (and ABIs) with the same rules share one block. On the 32-bit ABIs
//! (x86, arm) and on x32, only the low halves are compared, and MASKED_EQ masks the wanted value
//! too, as libseccomp does (the tests compare with runc's libseccomp program).
//!
//! The program is written backwards from its end, so every jump's target is already placed; a
//! conditional jump (8-bit offset) too far from its target gets a copy of the target when it is
//! a return, or a `ja` (32-bit offset) otherwise.

mod tables;

use core::ffi::CStr;

use mote_sys::io::{Buf, Text};
use mote_sys::raw::{self, Errno};
use mote_sys::io::Fd;
use mote_sys::rustix::fd::{BorrowedFd, OwnedFd};

use crate::error::{Ctx, Error, Result};
use crate::spec::seccomp::{self as sc, Arg, Seccomp};

/// The kernel's limit (BPF_MAXINSNS).
pub const MAX: usize = 4096;

/// Where a syscall comes from when the profile does not list its architecture: killed, as
/// libseccomp's default bad-architecture action does (the whole process: never half of one).
const BAD_ARCH: u32 = sc::RET_KILL_PROCESS;

const X32_BIT: u32 = 0x4000_0000;

/// One ABI of this target: its index in tables::NR, its SCMP_ARCH_* index, AUDIT_ARCH_* value,
/// and whether its arguments are 64-bit.
#[derive(Clone, Copy)]
struct Abi {
    table: usize,
    scmp: usize,
    audit: u32,
    wide: bool,
}

#[cfg(target_arch = "x86_64")]
const ABIS: &[Abi] = &[
    Abi { table: 0, scmp: 1, audit: 0xC000_003E, wide: true },
    Abi { table: 1, scmp: 0, audit: 0x4000_0003, wide: false },
    Abi { table: 2, scmp: 2, audit: 0xC000_003E, wide: false },
];
#[cfg(target_arch = "aarch64")]
const ABIS: &[Abi] = &[
    Abi { table: 0, scmp: 4, audit: 0xC000_00B7, wide: true },
    Abi { table: 1, scmp: 3, audit: 0x4000_0028, wide: false },
];
#[cfg(target_arch = "riscv64")]
const ABIS: &[Abi] = &[Abi { table: 0, scmp: 18, audit: 0xC000_00F3, wide: true }];

/// The x32 ABI (x86_64 only): shares x86_64's audit value, numbers carry X32_BIT.
const X32_SCMP: usize = 2;

/// A compiled program: `ins[MAX - len..]`, each instruction as a little-endian struct
/// sock_filter (code, jt, jf, k) in one u64.
pub struct Program {
    ins: [u64; MAX],
    len: usize,
    /// Argument-rule blocks already placed (rules, plain action, 64-bit) -> where: another
    /// syscall or ABI with the same rules jumps to the same code.
    blocks: heapless::Vec<([u64; 4], Option<u32>, bool, Label), 64>,
    /// SECCOMP_FILTER_FLAG_* to install it with.
    pub flags: u32,
}

impl Program {
    pub const fn new() -> Program {
        Program { ins: [0; MAX], len: 0, blocks: heapless::Vec::new(), flags: 0 }
    }
    /// The process's program buffer (32 KiB in .bss, of which only the pages compiled into are
    /// touched; on the stack each page would be touched on entry), empty, until dropped.
    pub fn lend() -> crate::error::Result<mote_sys::mem::Lent<Program>> {
        static PROGRAM: mote_sys::mem::Pool<Program> = mote_sys::mem::Pool::new(Program::new());
        let mut p = PROGRAM.get().ok_or_else(|| crate::error::Error::say(t!("seccomp:"), t!("program buffer already in use (a bug)")))?;
        p.len = 0;
        p.blocks.clear();
        p.flags = 0;
        Ok(p)
    }
    pub fn insns(&self) -> &[u64] {
        &self.ins[MAX - self.len..]
    }
}

// Classic BPF opcodes.
const LD_ABS: u64 = 0x20;
const JA: u64 = 0x05;
const JEQ: u64 = 0x15;
const JGT: u64 = 0x25;
const JGE: u64 = 0x35;
const AND: u64 = 0x54;
const RET: u64 = 0x06;

/// A place in the program, counted from its end (the last instruction is 1).
type Label = usize;

fn ins(code: u64, jt: usize, jf: usize, k: u32) -> u64 {
    code | (jt as u64) << 16 | (jf as u64) << 24 | (k as u64) << 32
}

fn overflow() -> Error {
    Error::msg(t!("config.json:"), "linux.seccomp", t!("the compiled program exceeds the kernel's 4096 instructions"))
}

impl Program {
    fn put(&mut self, i: u64) -> Result<Label> {
        if self.len == MAX {
            return Err(overflow());
        }
        self.len += 1;
        self.ins[MAX - self.len] = i;
        Ok(self.len)
    }
    fn at(&self, l: Label) -> u64 {
        self.ins[MAX - l]
    }
    /// A return of `action`: the nearest one already placed if a jump from the next instruction
    /// reaches it, else a new one.
    fn ret(&mut self, action: u32) -> Result<Label> {
        let want = ins(RET, 0, 0, action);
        for l in (1..=self.len).rev().take(256) {
            if self.at(l) == want {
                return Ok(l);
            }
        }
        self.put(want)
    }
    /// `target`, or something equivalent within reach of a jump placed `slack` + 1 instructions
    /// from now.
    fn reach(&mut self, target: Label, slack: usize) -> Result<Label> {
        if self.len + slack - target < 256 {
            return Ok(target);
        }
        let t = self.at(target);
        if t & 0xffff == RET {
            return self.put(t);
        }
        let l = self.len + 1;
        self.put(ins(JA, 0, 0, (l - target - 1) as u32))
    }
    /// `if A <code> k goto t else goto f`.
    fn jump(&mut self, code: u64, k: u32, t: Label, f: Label) -> Result<Label> {
        if t == f {
            return Ok(t);
        }
        let t = self.reach(t, 1)?;
        let f = self.reach(f, 0)?;
        let l = self.len + 1;
        self.put(ins(code, l - t - 1, l - f - 1, k))
    }
    /// Makes the next instruction placed fall through to `target`.
    fn goto(&mut self, target: Label) -> Result<()> {
        if target != self.len {
            let t = self.at(target);
            let l = self.len + 1;
            self.put(if t & 0xffff == RET { t } else { ins(JA, 0, 0, (l - target - 1) as u32) })?;
        }
        Ok(())
    }
    fn ld(&mut self, off: u32) -> Result<Label> {
        self.put(ins(LD_ABS, 0, 0, off))
    }
}

/// A syscall number with rules: its rules with arguments (bit set of rule indices) and the
/// action of its first rule without.
#[derive(Clone, Copy, PartialEq)]
struct Entry {
    nr: u32,
    cond: [u64; 4],
    plain: Option<u32>,
}

const ENTRIES: usize = 1024;

/// What a range of syscall numbers does: return an action, or run the rules of an entry.
#[derive(Clone, Copy, PartialEq)]
enum Then {
    Ret(u32),
    Rules(usize),
}

/// Compiles a profile for this target into `out`.
pub fn compile(s: &Seccomp<'_>, out: &mut Program) -> Result<()> {
    const _: () = assert!(crate::spec::limits::SECCOMP_RULES <= 256);
    out.len = 0;
    out.blocks.clear();
    out.flags = s.flags;
    // Each name's index in the tables, once for all ABIs (u16::MAX: unknown, skipped).
    let idx = indices(s);
    let native = ABIS[0];
    let listed = |a: &Abi| a.scmp == native.scmp || s.archs & (1 << a.scmp) != 0;
    // Backwards: the ABIs' searches (the native one last, so that it comes first), then the
    // architecture check in front of them.
    let mut starts = [0usize; 2];
    let mut audits = [0u32; 2];
    let mut n = 0;
    for a in ABIS.iter().rev().filter(|a| listed(a) && !(cfg!(target_arch = "x86_64") && a.scmp == X32_SCMP)) {
        let x32 = cfg!(target_arch = "x86_64") && a.scmp == native.scmp;
        let with_x32 = x32 && s.archs & (1 << X32_SCMP) != 0;
        starts[n] = abi(s, &idx, *a, x32, with_x32, out)?;
        audits[n] = a.audit;
        n += 1;
    }
    let mut next = out.ret(BAD_ARCH)?;
    for i in 0..n {
        next = out.jump(JEQ, audits[i], starts[i], next)?;
    }
    out.ld(4)?;
    Ok(())
}

/// The search over one ABI's syscall numbers (A = arch on entry); returns its first instruction.
/// `x32`: this is x86_64, whose numbers with X32_BIT are x32's (`with_x32`: listed, else refused).
fn abi(s: &Seccomp<'_>, idx: &[u16], a: Abi, x32: bool, with_x32: bool, out: &mut Program) -> Result<Label> {
    let mut entries = heapless::Vec::<Entry, ENTRIES>::new();
    let mut add = |table: usize, bit: u32| -> Result<()> {
        let wide = a.wide && bit == 0;
        // A rule with the default action (errno included) is no rule at all: runc and crun skip
        // it (libseccomp refuses it), so it neither decides its syscall nor hides other rules.
        for (ri, r) in s.rules.iter().enumerate().filter(|(_, r)| r.action != s.default_action) {
            for ni in r.first as usize..(r.first + r.count) as usize {
                let Some(nr) = number(table, idx[ni]) else { continue };
                let nr = nr | bit;
                let e = match entries.iter().position(|e| e.nr == nr) {
                    Some(i) => &mut entries[i],
                    None => {
                        entries.push(Entry { nr, cond: [0; 4], plain: None }).map_err(|_| {
                            Error::msg(t!("config.json:"), "linux.seccomp.syscalls", t!("more than 1024 syscall numbers in one ABI"))
                        })?;
                        let l = entries.len() - 1;
                        &mut entries[l]
                    }
                };
                // A rule without arguments decides the syscall whatever argument rules name it,
                // before or after (libseccomp drops them); of several, the first one counts.
                if e.plain.is_some() {
                } else if !plain(r, wide) {
                    e.cond[ri / 64] |= 1 << (ri % 64);
                } else {
                    e.plain = Some(r.action);
                    e.cond = [0; 4];
                }
            }
        }
        Ok(())
    };
    add(a.table, 0)?;
    if with_x32 {
        add(2, X32_BIT)?;
    }
    // Insertion sort: a few hundred entries, and a fraction of core's sort in code size.
    for i in 1..entries.len() {
        let mut j = i;
        while j > 0 && entries[j - 1].nr > entries[j].nr {
            entries.swap(j - 1, j);
            j -= 1;
        }
    }

    // Ranges: (first number, outcome), consecutive ones with equal outcomes merged.
    let mut ranges = heapless::Vec::<(u32, Then), { 2 * ENTRIES + 2 }>::new();
    let push = |ranges: &mut heapless::Vec<(u32, Then), { 2 * ENTRIES + 2 }>, start: u32, t: Then, entries: &[Entry]| {
        let same = match (ranges.last(), t) {
            (Some(&(_, Then::Ret(x))), Then::Ret(y)) => x == y,
            (Some(&(_, Then::Rules(x))), Then::Rules(y)) => entries[x] == Entry { nr: entries[x].nr, ..entries[y] },
            _ => false,
        };
        if !same {
            let _ = ranges.push((start, t)); // capacity: two per entry, plus two
        }
    };
    let dflt = Then::Ret(s.default_action);
    let mut next = 0u32;
    for (i, e) in entries.iter().enumerate() {
        if x32 && !with_x32 && e.nr >= X32_BIT {
            break;
        }
        if e.nr > next {
            push(&mut ranges, next, dflt, &entries);
        }
        let t = if e.cond == [0; 4] { Then::Ret(e.plain.unwrap_or(s.default_action)) } else { Then::Rules(i) };
        push(&mut ranges, e.nr, t, &entries);
        next = e.nr + 1;
    }
    if x32 && !with_x32 {
        if next < X32_BIT {
            push(&mut ranges, next, dflt, &entries);
        }
        push(&mut ranges, X32_BIT, Then::Ret(BAD_ARCH), &entries);
    } else if next != 0 {
        push(&mut ranges, next, dflt, &entries);
    }
    if ranges.is_empty() {
        push(&mut ranges, 0, dflt, &entries);
    }
    let first = search(s, &entries, &ranges, a.wide, out)?;
    out.goto(first)?;
    out.ld(0)
}

/// The balanced search over `ranges` (A = the syscall number).
fn search(s: &Seccomp<'_>, entries: &[Entry], ranges: &[(u32, Then)], wide: bool, out: &mut Program) -> Result<Label> {
    if let [(_, t)] = ranges {
        return match *t {
            Then::Ret(a) => out.ret(a),
            // x32 numbers share x86_64's search; their arguments are 32-bit, as libseccomp has them.
            Then::Rules(e) => {
                let e = &entries[e];
                let wide = wide && !(cfg!(target_arch = "x86_64") && e.nr & X32_BIT != 0);
                if let Some(b) = out.blocks.iter().find(|b| (b.0, b.1, b.2) == (e.cond, e.plain, wide)) {
                    return Ok(b.3);
                }
                let l = rules(s, e, wide, out)?;
                let _ = out.blocks.push((e.cond, e.plain, wide, l)); // when full: no sharing, same code
                Ok(l)
            }
        };
    }
    // One number between two ranges with the same outcome: one jeq instead of two jge.
    if let [(_, outer), (n, _), (end, outer2)] = *ranges {
        if outer == outer2 && end == n + 1 {
            let hit = search(s, entries, &ranges[1..2], wide, out)?;
            let miss = search(s, entries, &ranges[..1], wide, out)?;
            return out.jump(JEQ, n, hit, miss);
        }
    }
    let mid = ranges.len() / 2;
    let hi = search(s, entries, &ranges[mid..], wide, out)?;
    let lo = search(s, entries, &ranges[..mid], wide, out)?;
    out.jump(JGE, ranges[mid].0, hi, lo)
}

/// One syscall's argument rules (it has no rule without), tried in libseccomp's order, then the
/// default action.
fn rules(s: &Seccomp<'_>, e: &Entry, wide: bool, out: &mut Program) -> Result<Label> {
    // Units to try: (rule, 6) for a whole rule, (rule, k) for its kth comparison alone: runc hands
    // a rule with two comparisons on one argument to libseccomp as one rule per comparison (ORed,
    // all of them, not only the two on the same argument), crun too, and so does mote.
    let mut units = heapless::Vec::<(u8, u8), { 6 * crate::spec::limits::SECCOMP_RULES }>::new();
    for (ri, r) in s.rules.iter().enumerate() {
        if e.cond[ri / 64] & (1 << (ri % 64)) == 0 {
            continue;
        }
        let split = split(r);
        for k in 0..if split { r.args.len() } else { 1 } {
            let _ = units.push((ri as u8, if split { k as u8 } else { 6 })); // capacity: six per rule
        }
    }
    // libseccomp merges a syscall's rules into one tree whose levels it keeps sorted, and its
    // program tries them in that order, not the profile's: a stable sort by the same key.
    for i in 1..units.len() {
        let mut j = i;
        while j > 0 && before(&chain(s, units[j]), &chain(s, units[j - 1]), wide) {
            units.swap(j - 1, j);
            j -= 1;
        }
    }
    let mut fail = out.ret(s.default_action)?;
    for &u in units.iter().rev() {
        let mut pass = out.ret(s.rules[u.0 as usize].action)?;
        for a in chain(s, u).iter().rev() {
            pass = cond(a, pass, fail, wide, out)?;
        }
        fail = pass;
    }
    Ok(fail)
}

/// Whether the rule's comparisons on one argument index are split into separate rules.
fn split(r: &sc::Rule) -> bool {
    r.args.iter().enumerate().any(|(i, a)| r.args[..i].iter().any(|b| b.index == a.index))
}

/// Whether a MASKED_EQ compares nothing (no mask bit in the halves compared): libseccomp makes
/// no test of it, and a rule (or a split one's part) of such alone then decides its syscall as
/// one without arguments does.
fn noop(a: &Arg, wide: bool) -> bool {
    a.op == sc::OP_MASKED_EQ && (if wide { a.value } else { a.value as u32 as u64 }) == 0
}

/// Whether rule `r` acts as one without arguments.
fn plain(r: &sc::Rule, wide: bool) -> bool {
    if split(r) {
        r.args.iter().any(|a| noop(a, wide))
    } else {
        r.args.iter().all(|a| noop(a, wide))
    }
}

/// A unit's comparisons by argument index, as libseccomp chains them.
fn chain(s: &Seccomp<'_>, (ri, k): (u8, u8)) -> heapless::Vec<Arg, 6> {
    let args = &s.rules[ri as usize].args;
    let mut c = heapless::Vec::new();
    for i in 0..6 {
        for (j, a) in args.iter().enumerate() {
            if a.index == i && (k == 6 || j == k as usize) {
                let _ = c.push(*a); // capacity: a rule has at most six
            }
        }
    }
    c
}

/// Whether chain `a` is tried before `b`, in libseccomp's tree order: it cuts each comparison
/// into 32-bit nodes (the high half first on 64-bit ABIs; none for a half a mask leaves out),
/// keeps each level of a syscall's tree sorted highest first by (argument and half, EQ/NE/
/// MASKED_EQ over LT/LE over GE/GT, value; LT/LE the smaller value first), and merges equal
/// nodes. Nodes that tie without being equal stay in the profile's order (its insertion order).
/// A chain that is a prefix of the other comes first (libseccomp keeps the shorter rule's action
/// there, and refuses the profile when the longer rule came first: runc fails, mote takes the
/// shorter). Odd, but the decisions of runc and crun: a rule can win over one before it in the
/// profile that matches too.
#[inline(never)]
fn before(a: &[Arg], b: &[Arg], wide: bool) -> bool {
    let (na, nb) = (nodes(a, wide), nodes(b, wide));
    for i in 0..13 {
        match (na.get(i), nb.get(i)) {
            (Some(x), Some(y)) if x.0 != y.0 => return x.0 > y.0,
            (Some(x), Some(y)) if x.1 != y.1 => return false,
            (Some(_), Some(_)) => {}
            (x, y) => return x.is_none() && y.is_some(),
        }
    }
    false
}

/// A chain's libseccomp nodes: (sort key, what else makes two nodes equal: operator, mask).
fn nodes(c: &[Arg], wide: bool) -> heapless::Vec<((u8, u8, u32), (u8, u32)), 12> {
    let mut n = heapless::Vec::new();
    for x in c {
        let masked = x.op == sc::OP_MASKED_EQ;
        let (mask, v) = if masked { (x.value, x.value_two & x.value) } else { (u64::MAX, x.value) };
        let pri = [3, 2, 2, 3, 1, 1, 3][x.op as usize];
        for half in [1u8, 0] {
            let (m, d) = ((mask >> (32 * half)) as u32, (v >> (32 * half)) as u32);
            if half == 1 && !wide || masked && m == 0 {
                continue;
            }
            // NE is EQ with its branches swapped: the same node.
            let op = if x.op == sc::OP_NE { sc::OP_EQ } else { x.op };
            let _ = n.push(((2 * x.index + half, pri, if pri == 2 { !d } else { d }), (op, m))); // capacity: two per comparison
        }
    }
    n
}

/// One argument comparison: goes to `t` when it holds, else to `f`.
fn cond(a: &Arg, t: Label, f: Label, wide: bool, out: &mut Program) -> Result<Label> {
    let lo_off = 16 + 8 * a.index as u32;
    let (vlo, vhi) = (a.value as u32, (a.value >> 32) as u32);
    // The swaps: NE is !EQ, LT is !GE, LE is !GT.
    let (op, t, f) = match a.op {
        sc::OP_NE => (sc::OP_EQ, f, t),
        sc::OP_LT => (sc::OP_GE, f, t),
        sc::OP_LE => (sc::OP_GT, f, t),
        op => (op, t, f),
    };
    if op == sc::OP_MASKED_EQ {
        // The wanted value is masked too, as libseccomp does: bits outside the mask never count.
        let want = a.value_two & a.value;
        let (wlo, whi) = (want as u32, (want >> 32) as u32);
        let lo = masked(lo_off, vlo, wlo, t, f, out)?;
        return if wide { masked(lo_off + 4, vhi, whi, lo, f, out) } else { Ok(lo) };
    }
    let code = match op {
        sc::OP_EQ => JEQ,
        sc::OP_GE => JGE,
        _ => JGT,
    };
    let lo = out.jump(code, vlo, t, f)?;
    let lo = if lo == t || lo == f { lo } else { out.ld(lo_off)? };
    if !wide {
        return Ok(lo);
    }
    // High halves decide unless equal; equal high halves leave it to the low ones.
    let eq = out.jump(JEQ, vhi, lo, f)?;
    let hi = if code == JEQ { eq } else { out.jump(JGT, vhi, t, eq)? };
    if hi == lo || hi == t || hi == f { Ok(hi) } else { out.ld(lo_off + 4) }
}

/// `(word & mask) == want ? t : f` on one 32-bit half.
fn masked(off: u32, mask: u32, want: u32, t: Label, f: Label, out: &mut Program) -> Result<Label> {
    if mask == 0 {
        return Ok(if want == 0 { t } else { f });
    }
    let j = out.jump(JEQ, want, t, f)?;
    if j == t || j == f {
        return Ok(j);
    }
    if mask != u32::MAX {
        out.put(ins(AND, 0, 0, mask))?;
    }
    out.ld(off)
}

/// Names the profile gives that this target's tables lack (skipped, as libseccomp skips them),
/// for a warning in --log; false when none.
pub fn unknown(s: &Seccomp<'_>, b: &mut Text) -> bool {
    b.t(t!("linux.seccomp: syscall names unknown on this architecture, skipped:"));
    let mut any = false;
    let idx = indices(s);
    for (i, n) in s.names.iter().enumerate() {
        let n = n.to_bytes();
        if idx[i] == u16::MAX && !s.names[..i].iter().any(|m| m.to_bytes() == n) {
            b.c(b' ').s(n);
            any = true;
        }
    }
    if b.overflowed() {
        let cut = b.capacity() - 4;
        b.truncate(cut);
        b.s(b" ...");
    }
    any
}

/// Each of the profile's names' index in the tables of this target (u16::MAX: not there), in
/// one pass over the tables (see gen_tables.py for the encoding); a search per name decoded them
/// ~370 times for podman's profile.
fn indices(s: &Seccomp<'_>) -> [u16; crate::spec::limits::SECCOMP_NAMES] {
    let mut idx = [u16::MAX; crate::spec::limits::SECCOMP_NAMES];
    let t = tables::NAMES;
    let mut bit = 0;
    let mut code = || {
        let (i, shift) = (bit / 8, bit % 8);
        bit += 5;
        ((t[i] as usize | (t[i + 1] as usize) << 8) >> shift & 31) as u8
    };
    let mut cur = [0u8; 32];
    for n in 0..tables::NR[0].len() {
        let (keep, add) = (code() as usize, code() as usize);
        for c in &mut cur[keep..keep + add] {
            *c = match code() {
                l @ 0..=25 => b'a' + l,
                26 => b'_',
                31 => b'0' + code(),
                d => b"2346"[d as usize - 27],
            };
        }
        for (i, m) in s.names.iter().enumerate() {
            if m.to_bytes() == &cur[..keep + add] {
                idx[i] = n as u16;
            }
        }
    }
    idx
}

/// The number of the syscall at `idx` in ABI `table` (the one after NR's: its DELTA from the first).
fn number(table: usize, idx: u16) -> Option<u32> {
    let row = if table < tables::NR.len() { table } else { 0 };
    let v = match tables::DELTA.iter().find(|d| table == tables::NR.len() && d.0 == idx) {
        Some(d) => d.1,
        None => *tables::NR[row].get(idx as usize)?,
    } as u32;
    match v {
        0xFFFF => None,
        0xF000.. => Some(0x0F_0000 + v - 0xF000),
        _ => Some(v),
    }
}

/// Checks before anything is made that this kernel has every flag and action the profile uses
/// (a filter that would fail to load fails create, not the container's first syscall).
pub fn probe(s: &Seccomp<'_>) -> Result<()> {
    // No seccomp(2) at all (a kernel without CONFIG_SECCOMP_FILTER; qemu-user, whose filter would
    // see the host's syscall numbers anyway): nothing can be applied.
    if let Err(e) = raw::seccomp_action_avail(sc::RET_ALLOW) {
        let mut er = Error::sys(t!("seccomp"), "linux.seccomp", e);
        er.set_detail(t!("filters cannot be installed here"));
        return Err(er);
    }
    for (i, &bit) in sc::FLAG_BITS.iter().enumerate() {
        if s.flags & bit != 0 && !flag_supported(bit) {
            return Err(refused("flags", "SECCOMP_FILTER_FLAG_", sc::nth(sc::FLAGS, i)));
        }
    }
    let notify = s.notifies();
    for (i, &ret) in sc::ACTION_RETS.iter().enumerate() {
        let used = s.default_action & 0xffff_0000 == ret || s.rules.iter().any(|r| r.action & 0xffff_0000 == ret);
        if used && raw::seccomp_action_avail(ret).is_err() {
            return Err(refused("action", "SCMP_ACT_", sc::nth(sc::ACTIONS, i)));
        }
    }
    if notify && raw::seccomp_probe_flags(install_flags(s.flags, true)) != Errno::FAULT {
        return Err(refused("action", "SCMP_ACT_", "NOTIFY"));
    }
    Ok(())
}

/// Whether this kernel has SECCOMP_FILTER_FLAG_* `bit` (asked as libseccomp asks: a NULL
/// program gives EFAULT once the flags pass; WAIT_KILLABLE_RECV only passes with a listener).
pub fn flag_supported(bit: u32) -> bool {
    let with = if bit == FLAG_WAIT_KILLABLE_RECV { FLAG_NEW_LISTENER } else { 0 };
    raw::seccomp_probe_flags(bit | with) == Errno::FAULT
}

const FLAG_WAIT_KILLABLE_RECV: u32 = 32;
const FLAG_TSYNC: u32 = 1;
const FLAG_NEW_LISTENER: u32 = 8;
const FLAG_TSYNC_ESRCH: u32 = 16;

/// The flags a filter goes on with: a listener needs NEW_LISTENER, and with TSYNC also
/// TSYNC_ESRCH (the kernel refuses TSYNC's thread id return next to a listener descriptor).
fn install_flags(flags: u32, notify: bool) -> u32 {
    match (notify, flags & FLAG_TSYNC != 0) {
        (false, _) => flags,
        (true, false) => flags | FLAG_NEW_LISTENER,
        (true, true) => flags | FLAG_NEW_LISTENER | FLAG_TSYNC_ESRCH,
    }
}

#[cold]
fn refused(field: &str, prefix: &str, name: &str) -> Error {
    let mut e = Error::msg(t!("config.json:"), "linux.seccomp.", t!("this kernel does not support it"));
    e.path(|p| { p.s(field).t(t!(": ")).s(prefix).s(name); });
    e
}

/// Installs a compiled program on this process (no_new_privs or CAP_SYS_ADMIN needed, as the
/// kernel requires); returns the notification listener when the profile uses SCMP_ACT_NOTIFY.
pub fn install(p: &Program, notify: bool) -> Result<Option<OwnedFd>> {
    raw::seccomp_filter(install_flags(p.flags, notify), p.insns(), notify).map_err(|e| Error::sys(t!("seccomp"), "linux.seccomp", e))
}

/// The program in readable form, one instruction per line, for `mote seccomp`.
pub fn dump(p: &Program, out: &mut impl FnMut(&[u8])) {
    let ins = p.insns();
    for (i, &w) in ins.iter().enumerate() {
        let (code, jt, jf, k) = (w & 0xffff, (w >> 16) & 0xff, (w >> 24) & 0xff, (w >> 32) as u32);
        let mut b = Buf::<96>::new();
        let pad: &[u8] = if i < 10 { b"   " } else if i < 100 { b"  " } else if i < 1000 { b" " } else { b"" };
        b.s(pad).u(i as u64).s(b": ");
        let name = match code {
            LD_ABS => "ld ",
            JA => "ja ",
            JEQ => "jeq ",
            JGT => "jgt ",
            JGE => "jge ",
            AND => "and ",
            _ => "ret ",
        };
        b.s(name);
        match code {
            LD_ABS => {
                b.s(match k {
                    0 => "nr".as_bytes(),
                    4 => b"arch",
                    _ => b"arg",
                });
                if k >= 16 {
                    b.u(((k - 16) / 8) as u64).s(if k % 8 == 0 { "_lo" } else { "_hi" });
                }
            }
            JA => {
                b.u(i as u64 + 1 + k as u64);
            }
            RET => {
                ret_name(k, &mut b);
            }
            _ => {
                hex(k, &mut b);
                if code != AND {
                    b.s(b" ? ").u(i as u64 + 1 + jt).s(b" : ").u(i as u64 + 1 + jf);
                }
            }
        }
        b.c(b'\n');
        out(b.lossy());
    }
}

fn hex(v: u32, b: &mut Buf<96>) {
    b.s(b"0x");
    let mut started = false;
    for sh in (0..8).rev() {
        let d = (v >> (sh * 4)) & 0xf;
        if d != 0 || started || sh == 0 {
            started = true;
            b.c(b"0123456789abcdef"[d as usize]);
        }
    }
}

fn ret_name(k: u32, b: &mut Buf<96>) {
    let data = k & 0xffff;
    let base = if k & 0x8000_0000 != 0 { sc::RET_KILL_PROCESS } else { k & 0xffff_0000 };
    match sc::ACTION_RETS.iter().skip(1).position(|&a| a == base) {
        Some(i) => {
            b.s(sc::nth(sc::ACTIONS, i + 1));
        }
        None => {
            hex(k, b);
        }
    }
    if base == sc::RET_ERRNO || base == sc::RET_TRACE {
        b.c(b'(').u(data as u64).c(b')');
    }
}

// SCMP_ACT_NOTIFY: the notification descriptor goes from the container's process (which gets it
// from the kernel) to create (over the sync socket), and from there with the container process
// state to the listener at linux.seccomp.listenerPath, as runtime-spec says.

/// How long create waits for the container's process once its filter may notify: a syscall the
/// listener never answers must fail create, not hang it.
pub const NOTIFY_WAIT_SECS: u64 = 10;

/// Connects to linux.seccomp.listenerPath (before the root switch: it is a host path).
pub fn connect_listener(path: &CStr) -> Result<OwnedFd> {
    super::unix::connect(path).ctx(t!("connect seccomp listener (linux.seccomp.listenerPath)"), path.to_bytes())
}

/// Sends the container process state and the notification descriptor to the listener, once,
/// and closes the connection.
pub fn to_listener(conn: OwnedFd, fd: BorrowedFd<'_>, state: &[u8]) -> Result<()> {
    super::unix::send_fd(conn.fd(), fd, state).ctx(t!("send to seccomp listener"), "linux.seccomp.listenerPath")
}
