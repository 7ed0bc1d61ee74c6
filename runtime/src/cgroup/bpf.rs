//! The device cgroup's eBPF program, built from rules with no library: its instructions are
//! generated here (and checked against the rules by a small interpreter in the unit tests).
//!
//! Rules apply in order, a later one overriding an earlier one; the program tests them last
//! first and returns the first match's verdict, else deny.

use heapless::Vec;

pub const WILD: i64 = -1;
pub const MKNOD: u32 = 1;
pub const READ: u32 = 2;
pub const WRITE: u32 = 4;

#[derive(Clone, Copy)]
pub struct Rule {
    pub allow: bool,
    /// b'a', b'c' or b'b'
    pub kind: u8,
    pub major: i64,
    pub minor: i64,
    pub access: u32,
}

/// Devices every container may use (runc's list).
pub const DEFAULTS: [Rule; 10] = [
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
const EXIT: u8 = 0x95;

/// Most instructions a program may have: limits::DEVICE_RULES rules and the defaults at 13 each.
pub const MAX_INSNS: usize = 1900;

/// The program: the context kept in r6; then the rules, last first, each "if it matches,
/// return allow/deny"; else deny. Each test loads its field afresh into r1: a register compared
/// in one rule and still live in the next would carry the comparison's outcome (a constant) into
/// every later rule, and the verifier would check each rule once per such outcome; fresh loads
/// leave it one state per rule (its time on `bpf(PROG_LOAD)` was ~6% of a `run`: issue 17).
pub fn program(rules: &[Rule]) -> Option<Vec<u64, MAX_INSNS>> {
    let mut p: Vec<u64, MAX_INSNS> = Vec::new();
    p.push(insn(MOV_X, 6, 1, 0, 0)).ok()?;
    for r in rules.iter().rev() {
        let block = p.len();
        // Each test: instructions that leave the field in r1, then "if r1 != imm: no match";
        // the jumps' offsets to the end of the block are filled in once its length is known.
        let ld = |off: i16| insn(LDX_W, 1, 6, off, 0);
        let mut jumps = [0usize; 4];
        let mut n = 0;
        for (on, ins, imm) in [
            // type: 1 block, 2 char (the low half of access_type)
            (r.kind != b'a', [ld(0), insn(AND_K, 1, 0, 0, 0xffff), 0], if r.kind == b'c' { 2 } else { 1 }),
            // access (1 mknod, 2 read, 4 write) asked beyond what the rule allows: no match
            (r.access != 7, [ld(0), insn(RSH_K, 1, 0, 0, 16), insn(AND_K, 1, 0, 0, !(r.access as i32))], 0),
            (r.major >= 0, [ld(4), 0, 0], r.major as i32),
            (r.minor >= 0, [ld(8), 0, 0], r.minor as i32),
        ] {
            if !on {
                continue;
            }
            for i in ins.into_iter().filter(|&i| i != 0) {
                p.push(i).ok()?;
            }
            jumps[n] = p.len();
            n += 1;
            p.push(insn(JNE_K, 1, 0, 0, imm)).ok()?;
        }
        p.push(insn(MOV_K, 0, 0, 0, r.allow as i32)).ok()?;
        p.push(insn(EXIT, 0, 0, 0, 0)).ok()?;
        // Past the block's end: the offset field (bits 16..32) of each jump.
        for &j in &jumps[..n] {
            p[j] |= ((p.len() - j - 1) as u64) << 16;
        }
        // A rule that matches everything ends the program: the verifier refuses unreachable code.
        if p.len() == block + 2 {
            return Some(p);
        }
    }
    p.push(insn(MOV_K, 0, 0, 0, 0)).ok()?;
    p.push(insn(EXIT, 0, 0, 0, 0)).ok()?;
    Some(p)
}

#[cfg(test)]
mod tests {
    //! The generated program run in a small interpreter against the rules' meaning (last
    //! matching rule wins, else deny), over many rule sets and devices.
    extern crate std;
    use super::*;

    /// Runs `prog` on a bpf_cgroup_dev_ctx { access_type, major, minor } (type 1 block, 2 char).
    fn run(prog: &[u64], kind: u32, access: u32, major: u32, minor: u32) -> u64 {
        let ctx = [kind | access << 16, major, minor];
        let mut r = [0u64; 11];
        let mut pc = 0usize;
        let mut steps = 0;
        loop {
            steps += 1;
            assert!(steps < 10_000, "no exit");
            let i = prog[pc];
            let (code, dst, src) = (i as u8, (i >> 8 & 15) as usize, (i >> 12 & 15) as usize);
            let off = (i >> 16) as u16 as i16 as isize;
            let imm = (i >> 32) as u32 as i32 as i64 as u64;
            pc += 1;
            match code {
                LDX_W => {
                    assert_eq!(src, 6, "loads only from the context (kept in r6)");
                    r[dst] = ctx[(off / 4) as usize] as u64;
                }
                AND_K => r[dst] &= imm,
                RSH_K => r[dst] >>= imm,
                MOV_X => r[dst] = r[src],
                MOV_K => r[dst] = imm,
                JNE_K => {
                    if r[dst] != imm {
                        pc = (pc as isize + off) as usize;
                    }
                }
                EXIT => return r[0],
                _ => panic!("opcode {code:#x}"),
            }
        }
    }

    /// The rules' meaning, written plainly.
    fn reference(rules: &[Rule], kind: u8, access: u32, major: i64, minor: i64) -> bool {
        rules
            .iter()
            .rev()
            .find(|r| {
                (r.kind == b'a' || r.kind == kind)
                    && access & !r.access == 0
                    && (r.major == WILD || r.major == major)
                    && (r.minor == WILD || r.minor == minor)
            })
            .is_some_and(|r| r.allow)
    }

    /// A small deterministic generator (no crates).
    struct Rng(u64);
    impl Rng {
        fn next(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }
    }

    #[test]
    fn program_matches_the_rules() {
        let mut g = Rng(0x9e37_79b9_7f4a_7c15);
        for round in 0..3000 {
            let n = g.next(12) as usize;
            let mut rules: std::vec::Vec<Rule> = (0..n)
                .map(|_| Rule {
                    allow: g.next(2) == 1,
                    kind: [b'a', b'b', b'c'][g.next(3) as usize],
                    major: [WILD, 1, 5, 10, 136][g.next(5) as usize],
                    minor: [WILD, 0, 3, 229][g.next(4) as usize],
                    access: 1 + g.next(7) as u32,
                })
                .collect();
            if round % 2 == 0 {
                rules.extend(DEFAULTS);
            }
            let prog = program(&rules).unwrap();
            for _ in 0..40 {
                let (kind, k) = if g.next(2) == 0 { (b'b', 1) } else { (b'c', 2) };
                let access = 1 + g.next(7) as u32;
                let (major, minor) = ([1, 5, 10, 136, 7][g.next(5) as usize], [0, 3, 229, 9][g.next(4) as usize]);
                let want = reference(&rules, kind, access, major as i64, minor as i64);
                assert_eq!(run(&prog, k, access, major, minor) == 1, want, "rules {round}: {} {major}:{minor} access {access}", kind as char);
            }
        }
    }

    #[test]
    fn a_catch_all_rule_ends_the_program() {
        let all = Rule { allow: false, kind: b'a', major: WILD, minor: WILD, access: 7 };
        let p = program(&[Rule { allow: true, ..all }, all]).unwrap();
        assert_eq!(run(&p, 2, 2, 1, 3), 0);
        assert_eq!(p.len(), 1 + 2, "nothing after an unconditional verdict (the verifier refuses dead code)");
    }

    #[test]
    fn too_many_rules_is_none_not_a_panic() {
        let r = Rule { allow: true, kind: b'c', major: 1, minor: 1, access: 3 };
        assert!(program(&[r; 140]).is_some());
        assert!(program(&[r; 160]).is_none(), "13 instructions a rule: 160 pass the 1900");
    }
}
