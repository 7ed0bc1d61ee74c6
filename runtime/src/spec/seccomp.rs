//! `linux.seccomp` -> bounded structs. Everything mote could not apply exactly (an action, an
//! operator, an architecture or a flag it does not know, an errnoRet on an action without one) is
//! an error naming the field; syscall names are kept as written (unknown ones are skipped when
//! the filter is compiled, as libseccomp skips them).

use core::ffi::CStr;

use heapless::Vec;

use super::{items, limits, members, push, str, u32, u64, P};
use crate::error::{Result, Txt};
use crate::json::Val;

// SECCOMP_RET_* (linux/seccomp.h): the action in the high 16 bits, data in the low ones.
pub const RET_KILL_PROCESS: u32 = 0x8000_0000;
pub const RET_KILL_THREAD: u32 = 0;
pub const RET_TRAP: u32 = 0x0003_0000;
pub const RET_ERRNO: u32 = 0x0005_0000;
pub const RET_USER_NOTIF: u32 = 0x7fc0_0000;
pub const RET_TRACE: u32 = 0x7ff0_0000;
pub const RET_LOG: u32 = 0x7ffc_0000;
pub const RET_ALLOW: u32 = 0x7fff_0000;

// Name lists are one string each, not tables of &str: a table costs a relocation per entry.
/// SCMP_ACT_* names in the spec's order, and their SECCOMP_RET_* values.
pub const ACTIONS: &str = "KILL KILL_PROCESS KILL_THREAD TRAP ERRNO TRACE ALLOW LOG NOTIFY";
pub const ACTION_RETS: [u32; 9] =
    [RET_KILL_THREAD, RET_KILL_PROCESS, RET_KILL_THREAD, RET_TRAP, RET_ERRNO, RET_TRACE, RET_ALLOW, RET_LOG, RET_USER_NOTIF];

/// SCMP_CMP_* names; a rule's `op` is the index.
pub const OPS: &str = "NE LT LE EQ GE GT MASKED_EQ";
pub const OP_NE: u8 = 0;
pub const OP_LT: u8 = 1;
pub const OP_LE: u8 = 2;
pub const OP_EQ: u8 = 3;
pub const OP_GE: u8 = 4;
pub const OP_GT: u8 = 5;
pub const OP_MASKED_EQ: u8 = 6;

/// SCMP_ARCH_* names (libseccomp 2.6's list, as the spec); `architectures` is a bit set of indices.
pub const ARCHS: &str = "X86 X86_64 X32 ARM AARCH64 MIPS MIPS64 MIPS64N32 MIPSEL MIPSEL64 MIPSEL64N32 PPC PPC64 \
PPC64LE S390 S390X PARISC PARISC64 RISCV64 LOONGARCH64 M68K SH SHEB";

/// SECCOMP_FILTER_FLAG_* names the spec lists, and their bits.
pub const FLAGS: &str = "TSYNC LOG SPEC_ALLOW WAIT_KILLABLE_RECV";
pub const FLAG_BITS: [u32; 4] = [1, 2, 4, 32];

pub struct Seccomp<'a> {
    /// SECCOMP_RET_* value (with its errno for ERRNO/TRACE).
    pub default_action: u32,
    /// Bit set of [`ARCHS`] indices.
    pub archs: u32,
    /// SECCOMP_FILTER_FLAG_* bits.
    pub flags: u32,
    pub listener_path: Option<&'a CStr>,
    pub listener_metadata: Option<&'a CStr>,
    pub rules: Vec<Rule, { limits::SECCOMP_RULES }>,
    /// Every rule's names, in order: a rule owns `names[first..first + count]`.
    pub names: Vec<&'a CStr, { limits::SECCOMP_NAMES }>,
}

pub struct Rule {
    pub first: u16,
    pub count: u16,
    /// SECCOMP_RET_* value (with its errno for ERRNO/TRACE).
    pub action: u32,
    /// All must hold (ANDed).
    pub args: Vec<Arg, 6>,
}

#[derive(Clone, Copy)]
pub struct Arg {
    pub index: u8,
    /// Index in [`OPS`].
    pub op: u8,
    pub value: u64,
    pub value_two: u64,
}

impl Seccomp<'_> {
    /// Whether any rule or the default action is SCMP_ACT_NOTIFY.
    pub fn notifies(&self) -> bool {
        self.default_action == RET_USER_NOTIF || self.rules.iter().any(|r| r.action == RET_USER_NOTIF)
    }
}

/// Reads `linux.seccomp` into `out`, in place (a Seccomp is ~70 KiB: returned by value it would
/// be a stack temporary of every caller's frame).
#[inline(never)]
pub fn parse<'a>(v: Val<'a>, p: &P, out: &mut Option<Seccomp<'a>>) -> Result<()> {
    let s = out.insert(Seccomp {
        default_action: u32::MAX,
        archs: 0,
        flags: 0,
        listener_path: None,
        listener_metadata: None,
        rules: Vec::new(),
        names: Vec::new(),
    });
    let mut default_errno = None;
    const NAMES: &str = "defaultAction defaultErrnoRet architectures flags listenerPath listenerMetadata syscalls";
    members(v, p, NAMES, &mut |i, v, pk| {
        match i {
            0 => s.default_action = action(v, pk)?,
            1 => default_errno = Some(v),
            2 => s.archs = name_set(v, pk, ARCHS, b"SCMP_ARCH_", t!("unknown architecture"))?,
            3 => {
                let named = name_set(v, pk, FLAGS, b"SECCOMP_FILTER_FLAG_", t!("unknown flag"))?;
                for (i, bit) in FLAG_BITS.iter().enumerate() {
                    if named >> i & 1 != 0 {
                        s.flags |= bit;
                    }
                }
            }
            4 => s.listener_path = Some(str(v, pk)?),
            5 => s.listener_metadata = Some(str(v, pk)?),
            _ => {
                items(v, pk, &mut |r, pi| {
                    let r = rule(r, pi, &mut s.names)?;
                    push(&mut s.rules, r, pk)?;
                    Ok(())
                })?;
            }
        }
        Ok(())
    })?;
    if s.default_action == u32::MAX {
        return Err(p.key_err("defaultAction", t!("missing")));
    }
    s.default_action = with_errno(s.default_action, default_errno, &p.key("defaultErrnoRet"))?;
    if s.default_action == RET_USER_NOTIF {
        // Every syscall, the runtime's own hand-over of the descriptor included, would wait on
        // the listener (libseccomp refuses it too).
        return Err(p.key_err("defaultAction", t!("SCMP_ACT_NOTIFY cannot be the default action")));
    }
    if s.listener_metadata.is_some() && s.listener_path.is_none() {
        return Err(p.key_err("listenerMetadata", t!("must not be set without listenerPath")));
    }
    if s.flags & 32 != 0 && !s.notifies() {
        return Err(p.key_err("flags", t!("SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV needs an SCMP_ACT_NOTIFY action")));
    }
    if s.notifies() && s.listener_path.is_none() {
        return Err(p.key_err("listenerPath", t!("SCMP_ACT_NOTIFY needs a listenerPath")));
    }
    Ok(())
}

#[inline(never)]
fn rule<'a>(v: Val<'a>, p: &P, names: &mut Vec<&'a CStr, { limits::SECCOMP_NAMES }>) -> Result<Rule> {
    let mut r = Rule { first: names.len() as u16, count: 0, action: u32::MAX, args: Vec::new() };
    let mut errno = None;
    members(v, p, "names action errnoRet args", &mut |i, v, pk| {
        match i {
            0 => {
                items(v, pk, &mut |n, pi| {
                    push(names, str(n, pi)?, pk)?;
                    Ok(())
                })?;
            }
            1 => r.action = action(v, pk)?,
            2 => errno = Some(v),
            _ => {
                items(v, pk, &mut |a, pi| {
                    let a = arg(a, pi)?;
                    push(&mut r.args, a, pk)?;
                    Ok(())
                })?;
            }
        }
        Ok(())
    })?;
    r.count = names.len() as u16 - r.first;
    if r.count == 0 {
        return Err(p.key_err("names", t!("missing or empty")));
    }
    if r.action == u32::MAX {
        return Err(p.key_err("action", t!("missing")));
    }
    r.action = with_errno(r.action, errno, &p.key("errnoRet"))?;
    Ok(r)
}

#[inline(never)]
fn arg(v: Val<'_>, p: &P) -> Result<Arg> {
    let mut a = Arg { index: u8::MAX, op: u8::MAX, value: 0, value_two: 0 };
    let mut have_value = false;
    members(v, p, "index value valueTwo op", &mut |i, v, pk| {
        match i {
            0 => {
                let i = u32(v, pk)?;
                if i > 5 {
                    return Err(pk.err(t!("must be 0..5 (a syscall has six arguments)")));
                }
                a.index = i as u8;
            }
            1 => {
                a.value = u64(v, pk)?;
                have_value = true;
            }
            2 => a.value_two = u64(v, pk)?,
            _ => a.op = name_in(OPS, b"SCMP_CMP_", str(v, pk)?, pk, t!("unknown operator"))? as u8,
        }
        Ok(())
    })?;
    for (missing, name) in [(a.index == u8::MAX, "index"), (a.op == u8::MAX, "op"), (!have_value, "value")] {
        if missing {
            return Err(p.key(name).err(t!("missing")));
        }
    }
    Ok(a)
}

/// An SCMP_ACT_* name as its SECCOMP_RET_* value.
/// An array of names from `list` (each after `prefix`) at `p`, as the set of their positions.
#[inline(never)]
fn name_set(v: Val<'_>, p: &P, list: &str, prefix: &[u8], why: Txt) -> Result<u32> {
    let mut set = 0;
    items(v, p, &mut |a, pi| {
        set |= 1 << name_in(list, prefix, str(a, pi)?, pi, why)?;
        Ok(())
    })?;
    Ok(set)
}

fn action(v: Val<'_>, p: &P) -> Result<u32> {
    Ok(ACTION_RETS[name_in(ACTIONS, b"SCMP_ACT_", str(v, p)?, p, t!("unknown action"))?])
}

/// Adds errnoRet (default EPERM) to an ERRNO or TRACE action; refuses it on any other.
fn with_errno(action: u32, errno: Option<Val<'_>>, p: &P) -> Result<u32> {
    let (max, why) = match action {
        RET_ERRNO => (4095, t!("must be at most 4095 (MAX_ERRNO)")),
        RET_TRACE => (65535, t!("must be at most 65535")),
        _ if errno.is_some() => return Err(p.err(t!("only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take one"))),
        _ => return Ok(action),
    };
    let e = match errno {
        Some(v) => u32(v, p)?,
        None => 1,
    };
    if e > max {
        return Err(p.err(why));
    }
    Ok(action | e)
}

/// The `i`th name of a list (one copy of that walk for every list).
pub use super::word as nth;

/// Index of `name` (after `prefix`) in `list`, or an error naming the value.
fn name_in(list: &str, prefix: &[u8], name: &CStr, p: &P, why: Txt) -> Result<usize> {
    let n = name.to_bytes();
    super::position(list, prefix, n).map(|i| i as usize).ok_or_else(|| {
        let mut e = p.err(why);
        e.path(|p| { p.t(t!(" ")).s(n); });
        e
    })
}
