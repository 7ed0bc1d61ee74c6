//! The command line, runc's: `mote [global flags] VERB [flags] ID [args]`. Flags may come before
//! or after the container id, as `--flag value`, `--flag=value` or `-f value`; global flags are
//! accepted after the verb too (engines differ in where they put them).

pub mod create;
pub mod delete;
pub mod events;
pub mod exec;
pub mod features;
pub mod kill;
pub mod list;
pub mod pause;
pub mod ps;
pub mod run;
pub mod seccomp;
pub mod spec;
pub mod spec_json;
pub mod start;
pub mod state;
pub mod update;

use core::ffi::CStr;

use mote_sys::io::{self, Text};

use heapless::Vec;
use mote_sys::Args;

use crate::error::{Error, Fits, Result, Txt};
use crate::json::keys;

/// Every verb's flag names, each once: a [`Flag`] holds where its name is in here (4 bytes a
/// flag, where the name NUL-padded to 18 bytes in the table took 20, for ~60 flags). A name may
/// sit inside a longer one ("log" in "log-format", "cpu-share" in "cpu-shares"); a flag whose
/// name is not in here fails the build. No separators: a name found across two is as good.
const NAMES: &str = concat!(
    "additional-gids", "all", "apparmor", "blkio-weight", "bundle", "cap", "cgroup-manager",
    "config", "console-socket", "cpu-burst", "cpu-idle", "cpu-period", "cpu-quota", "cpu-rt-period",
    "cpu-rt-runtime", "cpu-shares", "cpuset-cpus", "cpuset-mems", "criu", "cwd", "debug", "detach",
    "env", "force", "ignore-paused", "interval", "keep", "kernel-memory-tcp", "log-format",
    "log-level", "memory-reservation", "memory-swap", "no-new-keyring", "no-new-privs", "no-pivot",
    "no-subreaper", "pid-file", "pids-limit", "preserve-fds", "process-label", "quiet", "raw",
    "resources", "rootless", "stats", "systemd-cgroup", "tty", "user",
);

/// A flag a verb takes.
pub struct Flag {
    /// Where the long name starts in NAMES (bits 0-14); bit 15: the flag takes a value (else
    /// it is a switch).
    at: u16,
    len: u8,
    pub short: u8,
}

/// A flag `--long` (its name must be in [`NAMES`]), `-short` unless 0.
pub const fn flag(long: &str, short: u8, value: bool) -> Flag {
    let (n, l) = (NAMES.as_bytes(), long.as_bytes());
    assert!(n.len() < 0x8000 && l.len() < 256, "NAMES or a name too long for a Flag");
    let mut at = 0;
    while at + l.len() <= n.len() {
        let mut j = 0;
        while j < l.len() && n[at + j] == l[j] {
            j += 1;
        }
        if j == l.len() && l.len() > 0 {
            return Flag { at: at as u16 | (value as u16) << 15, len: l.len() as u8, short };
        }
        at += 1;
    }
    panic!("a flag's name must be in cli::NAMES");
}

impl Flag {
    /// The long name, without "--".
    pub fn long(&self) -> &'static [u8] {
        &NAMES.as_bytes()[(self.at & 0x7fff) as usize..][..self.len as usize]
    }
    /// Takes a value (else it is a switch).
    pub fn value(&self) -> bool {
        self.at & 0x8000 != 0
    }
}

/// Index of flag `long` in `flags`, computed at compile time by [`given!`]. One name is always
/// found at one place in [`NAMES`], so the same name is the same (at, len).
pub const fn index(flags: &[Flag], long: &str) -> usize {
    let f = flag(long, 0, false);
    let mut i = 0;
    while i < flags.len() {
        if flags[i].at & 0x7fff == f.at && flags[i].len == f.len {
            return i;
        }
        i += 1;
    }
    panic!("no such flag in the table");
}

/// `given!(p, FLAGS, "tty")`: the value of a verb's flag as given ([`Parsed::get`]), its place
/// in the verb's table found at compile time: a name the table lacks fails the build (where
/// `get` would read it as never given), and the lookup is a load.
macro_rules! given {
    ($p:expr, $flags:expr, $long:literal) => {
        $p.at(const { $crate::cli::index($flags, $long) })
    };
}
pub(crate) use given;

/// Options that apply to every verb.
pub struct Global {
    pub root: &'static CStr,
    pub log: Option<&'static CStr>,
    pub log_json: bool,
    pub debug: bool,
}

/// Global flags: runc's and crun's (the ones mote has no use for are accepted and ignored).
pub const GLOBAL: &[Flag] = &[
    flag("root", 0, true),
    flag("log", 0, true),
    flag("log-format", 0, true),
    flag("debug", 0, false),
    flag("systemd-cgroup", 0, false),
    flag("cgroup-manager", 0, true),
    flag("rootless", 0, true),
    flag("criu", 0, true),
    flag("log-level", 0, true),
];

/// Applies global flag `f` with value `v`.
pub fn set_global(g: &mut Global, f: &Flag, v: Option<&'static CStr>) -> Result<()> {
    keys!(f.long(), {
        "root" => g.root = v.unwrap_or(c"/run/mote"),
        "log" => g.log = v,
        "log-format" => {
            let v = v.map_or(&b""[..], |v| v.to_bytes());
            g.log_json = keys!(v, {
                "json" => true,
                "text" => false,
                _ => return Err(Error::msg(t!("--log-format"), v, t!("must be text or json"))),
            });
        },
        "debug" => g.debug = true,
        _ => {}
    });
    Ok(())
}

/// Parses the one global flag at argv[*i] (and its value), advancing *i past them.
pub fn parse_global(a: &Args, i: &mut usize, g: &mut Global) -> Result<()> {
    let arg = a.cstr(*i).unwrap_or(c"");
    let b = arg.to_bytes();
    let body = b.strip_prefix(b"--").or_else(|| b.strip_prefix(b"-")).unwrap_or(b);
    let (name, inline) = match body.iter().position(|&c| c == b'=') {
        Some(eq) => (&body[..eq], CStr::from_bytes_until_nul(&arg.to_bytes_with_nul()[b.len() - body.len() + eq + 1..]).ok()),
        None => (body, None),
    };
    let f = GLOBAL.iter().find(|f| f.long() == name).ok_or_else(|| Error::msg(t!("unknown global flag"), b, t!("see mote --help")))?;
    *i += 1;
    let v = if !f.value() {
        Some(c"")
    } else if inline.is_some() {
        inline
    } else {
        let v = a.cstr(*i).ok_or_else(|| Error::msg(t!("flag needs a value:"), b, t!("")))?;
        *i += 1;
        Some(v)
    };
    set_global(g, f, v)
}

/// A verb's parsed command line.
pub struct Parsed {
    vals: [Option<&'static CStr>; 24],
    /// Positional arguments (the id first), and everything after `--`.
    pub pos: Vec<&'static CStr, 8>,
    /// Index in argv where arguments after the id / after `--` start (exec's command).
    pub rest: usize,
    /// Every value of every valued flag in order (index into the verb's flags, value): for the
    /// flags that may be repeated (exec's --env, --cap, --additional-gids).
    pub all: Vec<(u8, &'static CStr), 64>,
}

impl Parsed {
    /// The value of the flag at `i` in the verb's table (see [`given!`]).
    #[inline]
    pub fn at(&self, i: usize) -> Option<&'static CStr> {
        self.vals[i]
    }
    /// Every value given for the repeatable flag at `i` (see [`given!`]), in order.
    pub fn each_at(&self, i: usize) -> impl Iterator<Item = &'static CStr> + '_ {
        self.all.iter().filter(move |(k, _)| *k as usize == i).map(|(_, v)| *v)
    }
    /// `--format table|json` (list, ps: their first flag, a load): whether it is json.
    #[inline(never)]
    pub fn json_format(&self) -> Result<bool> {
        let Some(f) = self.at(0) else { return Ok(false) };
        keys!(f.to_bytes(), {
            "table" => Ok(false),
            "json" => Ok(true),
            _ => Err(Error::msg(t!("--format"), f.to_bytes(), t!("must be table or json"))),
        })
    }
    /// The container id: the first positional argument, validated.
    pub fn id(&self, verb: Txt) -> Result<&'static CStr> {
        let id = *self.pos.first().ok_or_else(|| Error::msg(verb, "", t!("requires a container id")))?;
        crate::state::validate_id(id.to_bytes())?;
        Ok(id)
    }
}

/// Parses argv[from..] against `flags` (and the global ones). `stop_after` positionals end flag
/// parsing (exec: everything after the id is the command).
pub fn parse(a: &Args, from: usize, verb: Txt, flags: &'static [Flag], g: &mut Global, stop_after: usize) -> Result<Parsed> {
    let mut p = Parsed { vals: [None; 24], pos: Vec::new(), rest: a.len(), all: Vec::new() };
    let mut i = from;
    while i < a.len() {
        let arg = a.cstr(i).unwrap_or(c"");
        let b = arg.to_bytes();
        i += 1;
        if b == b"--" {
            p.rest = i;
            break;
        }
        if b.len() < 2 || b[0] != b'-' {
            if p.pos.push(arg).is_err() {
                return Err(Error::msg(verb, b, t!("too many arguments")));
            }
            if p.pos.len() == stop_after {
                p.rest = i;
                break;
            }
            continue;
        }
        // --name, --name=value, -n, -nvalue, -n value: the name, and where an inline value starts.
        let (name, at) = if b[1] == b'-' {
            match b.iter().position(|&c| c == b'=') {
                Some(eq) => (&b[2..eq], Some(eq + 1)),
                None => (&b[2..], None),
            }
        } else {
            (&b[1..2], (b.len() > 2).then_some(2))
        };
        // The value is still NUL-terminated: it ends where the argument ends.
        let inline = at.and_then(|k| CStr::from_bytes_until_nul(&arg.to_bytes_with_nul()[k..]).ok());
        let find = |set: &'static [Flag]| {
            set.iter().position(|f| f.long() == name || (name.len() == 1 && f.short == name[0] && f.short != 0))
        };
        let (set, idx, global) = match find(flags) {
            Some(k) => (flags, k, false),
            None => match find(GLOBAL) {
                Some(k) => (GLOBAL, k, true),
                None => return Err(Error::msg(verb, b, t!("unknown flag"))),
            },
        };
        let f = &set[idx];
        let val = if f.value() {
            match inline {
                Some(v) => Some(v),
                None => {
                    let v = a.cstr(i).ok_or_else(|| Error::msg(verb, b, t!("flag needs a value")))?;
                    i += 1;
                    Some(v)
                }
            }
        } else {
            // A switch may still be written --switch=true|false.
            match inline.map(|v| v.to_bytes()) {
                Some(b"false") => None,
                _ => Some(c""),
            }
        };
        if global {
            set_global(g, f, val)?;
        } else {
            p.vals[idx] = val;
            if let (true, Some(v)) = (f.value(), val) {
                p.all.push((idx as u8, v)).map_err(|_| Error::msg(verb, b, t!("more than 64 flags with values")))?;
            }
        }
    }
    Ok(p)
}

/// [`parse`] for a verb whose first argument is a container id: the id too, validated.
#[inline(never)]
pub fn parse_id(a: &Args, from: usize, verb: Txt, flags: &'static [Flag], g: &mut Global, stop_after: usize) -> Result<(Parsed, &'static CStr)> {
    let p = parse(a, from, verb, flags, g, stop_after)?;
    let id = p.id(verb)?;
    Ok((p, id))
}

/// A flag value as a number.
pub fn number(v: &[u8], what: Txt) -> Result<u64> {
    match mote_sys::num::u64(v) {
        Some(n) => Ok(n),
        None if !v.is_empty() && v.iter().all(u8::is_ascii_digit) => Err(Error::msg(what, v, t!("too large"))),
        None => Err(Error::msg(what, v, t!("not a number"))),
    }
}

/// Prints a whole output buffer on stdout, or fails naming the output that did not fit.
pub fn print(b: &Text, what: Txt) -> Result<()> {
    io::out(b.get().fits(what)?);
    Ok(())
}

/// A Go duration (`time.ParseDuration`, what runc's flags take): decimal numbers with units
/// ns, us (or µs), ms, s, m, h, as in `100ms`, `1.5s`, `1m30s`; in milliseconds, rounded up, at
/// least 1. A bare number is seconds (mote's old spelling). Zero and negative ones are refused.
pub fn duration_ms(v: &[u8], what: Txt) -> Result<u64> {
    let bad = || Error::msg(what, v, t!("not a duration like 100ms, 5s or 1m30s"));
    if !v.is_empty() && v.iter().all(u8::is_ascii_digit) {
        return Ok(number(v, what)?.saturating_mul(1000).max(1));
    }
    // Nanoseconds, saturating (u64 holds 584 years).
    let (mut ns, mut rest) = (0u64, v);
    while !rest.is_empty() {
        let int_len = rest.iter().take_while(|c| c.is_ascii_digit()).count();
        let (int, after) = rest.split_at(int_len);
        let (frac, after) = match after.strip_prefix(b".") {
            Some(a) => a.split_at(a.iter().take_while(|c| c.is_ascii_digit()).count()),
            None => (&b""[..], after),
        };
        if int.is_empty() && frac.is_empty() {
            return Err(bad());
        }
        let unit_len = after.iter().take_while(|c| !c.is_ascii_digit() && **c != b'.').count();
        let (unit, after) = after.split_at(unit_len);
        let scale: u64 = keys!(unit, {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000, // us, µs (micro sign), μs (mu)
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return Err(bad()),
        });
        // Digits only: [`number`] fails only as too large.
        let whole = if int.is_empty() { 0 } else { number(int, what)? };
        // The fraction to nanosecond precision at most (digits beyond add nothing a sleep sees).
        let (mut f, mut div) = (0u64, 1u64);
        for &c in frac.iter().take(9) {
            (f, div) = (f * 10 + (c - b'0') as u64, div * 10);
        }
        ns = ns.saturating_add(whole.saturating_mul(scale)).saturating_add(f.saturating_mul(scale) / div);
        rest = after;
    }
    if ns == 0 {
        return Err(Error::msg(what, v, t!("must be greater than 0")));
    }
    Ok(ns.div_ceil(1_000_000))
}

