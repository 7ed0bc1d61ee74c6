//! The command line: tini's flags, catatonit's -P, and the system-mode switches, combined as
//! getopt(3) does (`-sg`, `-vvv`, `-e3` or `-e 3`).

use mote_sys::io::out;
use mote_sys::Args;

use crate::{after, lookup, same, say};

const USAGE: &[u8] = b"usage: mote-init [-sgwWv] [-e CODE] [-p SIG] [-G SECS] [--] CMD [ARG]... | -P | --system\n";

/// What the command line asked for.
pub struct Opts {
    /// Index in argv of the command (0: none).
    pub cmd: usize,
    pub subreaper: bool,
    pub group: bool,
    /// -w: tini's "warn on reaping zombies".
    pub warn_reap: bool,
    /// -W: wait for every child, not only the command.
    pub wait_all: bool,
    pub pause: bool,
    pub system: bool,
    /// Exit codes that count as success, one bit each.
    pub expect: [u64; 4],
    /// Parent-death signal (0: none).
    pub pdeathsig: u32,
    /// Seconds to hold SIGTERM back.
    pub grace: u32,
    pub config: Option<&'static core::ffi::CStr>,
}

/// Parses argv as getopt(3) does for tini (`-sg`, `-vvv`, `-e3` and `-e 3` alike); on --help,
/// --version or an error, prints and returns the exit code instead.
#[inline(never)]
pub fn parse(a: &Args) -> Result<Opts, i32> {
    let on = |name: &[u8]| a.env(name).is_some_and(|v| same(v, b"1"));
    let mut o = Opts {
        cmd: 0,
        // tini: TINI_SUBREAPER set to anything means -s.
        subreaper: a.env(b"TINI_SUBREAPER").is_some(),
        group: on(b"MOTE_INIT_KILL_PROCESS_GROUP") || on(b"TINI_KILL_PROCESS_GROUP"),
        warn_reap: false,
        wait_all: false,
        pause: false,
        system: on(b"MOTE_INIT_SYSTEM"),
        expect: [0; 4],
        pdeathsig: 0,
        grace: 0,
        config: None,
    };
    let mut i = 1;
    while let Some(arg) = a.get(i) {
        i += 1;
        // Long options are spelled as their short letter; V is --version.
        let flags: &[u8] = match arg {
            [b'-', b'-'] => {
                o.cmd = i;
                break;
            }
            [b'-', b'-', long @ ..] => match lookup(b"help version system config grace", long) {
                Some(n) => b"hVSCG".get(n..n + 1).unwrap_or_default(),
                None => return Err(bad(b"unknown option @", arg)),
            },
            [b'-', f @ ..] if !f.is_empty() => f,
            _ => {
                o.cmd = i - 1;
                break;
            }
        };
        let mut j = 0;
        while let Some(&f) = flags.get(j) {
            j += 1;
            match f {
                b's' => o.subreaper = true,
                b'g' => o.group = true,
                b'w' => o.warn_reap = true,
                b'W' => o.wait_all = true,
                b'v' => {} // tini's verbosity: accepted, mote-init has nothing more to say
                b'P' => o.pause = true,
                b'S' => o.system = true,
                b'h' | b'V' => {
                    out(if f == b'h' { USAGE } else { b"mote-init version 0.1.0\n" });
                    return Err(0);
                }
                b'e' | b'p' | b'G' | b'C' => {
                    // The value: the rest of this word, else the next word.
                    let rest = flags.get(j..).unwrap_or_default();
                    j = flags.len();
                    let v = if rest.is_empty() {
                        i += 1;
                        a.get(i - 1).unwrap_or_default()
                    } else {
                        rest
                    };
                    let n = number(v).unwrap_or(u32::MAX);
                    let s = signal(v);
                    match f {
                        b'e' if n < 256 => o.expect[(n / 64) as usize & 3] |= 1 << (n % 64),
                        b'p' if s != 0 => o.pdeathsig = s,
                        b'G' if n != u32::MAX => o.grace = n,
                        b'C' if !v.is_empty() && rest.is_empty() => o.config = a.cstr(i - 1),
                        _ => return Err(bad(b"bad or missing value for @", arg)),
                    }
                }
                _ => return Err(bad(b"unknown option @", arg)),
            }
        }
    }
    if o.cmd >= a.len() {
        o.cmd = 0;
    }
    Ok(o)
}

/// Prints `what` (with `arg` for its @); the exit code of a usage error.
fn bad(what: &[u8], arg: &[u8]) -> i32 {
    say(what, arg);
    1
}

/// A decimal number below 2^32.
pub fn number(s: &[u8]) -> Option<u32> {
    mote_sys::num::parse(s)
}

/// Signal names in number order from 1 (the same on x86_64, aarch64 and riscv64); one string
/// rather than a table of slices, which would cost a relocation per name.
const SIGNALS: &[u8] = b"HUP INT QUIT ILL TRAP ABRT BUS FPE KILL USR1 SEGV USR2 PIPE ALRM TERM STKFLT \
CHLD CONT STOP TSTP TTIN TTOU URG XCPU XFSZ VTALRM PROF WINCH IO PWR SYS";

/// A signal given as TERM, SIGTERM or 15; 0 if it is none of these.
#[inline(never)]
pub fn signal(s: &[u8]) -> u32 {
    let name = after(s, b"SIG").unwrap_or(s);
    let n = match number(s) {
        Some(n) => n,
        None => lookup(SIGNALS, name).map_or(0, |i| i as u32 + 1),
    };
    if n <= 64 { n } else { 0 }
}
