//! Error and debug output in runc's shapes, which engines and test suites read:
//! - on stderr `mote: error: <message>` (suites grep stderr for "error"), or with
//!   `--log-format json` and no `--log`, runc's JSON line
//!   `{"level":"error","msg":"<message>","time":"<RFC 3339>"}`;
//! - with `--log FILE`, that JSON line (json) or logrus's `time="..." level=error msg="..."`
//!   (text) in FILE, and the error still on stderr as runc does. Warnings then go to FILE only:
//!   under conmon and the containerd shim, stderr is the container's.

use mote_sys::io::{self, Buf, Text};
use mote_sys::rustix::fs::{self, Mode, OFlags};

use crate::cli::Global;
use crate::error::Error;

/// Prints `e` once and returns `code` (for `return log::fail(...)`).
pub fn fail(g: &Global, e: &Error, code: i32) -> i32 {
    let mut b = Buf::<1024>::new();
    e.render(&mut b);
    line(g, "error", b.lossy(), true);
    code
}

/// A debug line, written only with --debug.
pub fn debug(g: &Global, msg: &[u8]) {
    if g.debug {
        line(g, "debug", msg, false);
    }
}

/// A warning: the run goes on, but the user must know. To --log only when there is one (as
/// runc): under conmon and the containerd shim, our stderr is the container's.
pub fn warn(g: &Global, msg: &[u8]) {
    line(g, "warning", msg, false);
}

/// A warning for --log only, when one is given (stderr may be the container's).
pub fn warn_log(g: &Global, msg: &[u8]) {
    if g.log.is_some() {
        line(g, "warning", msg, false);
    }
}

/// One message at `level`: to the --log file if there is one (and then on stderr too when
/// `stderr`), else on stderr.
fn line(g: &Global, level: &str, msg: &[u8], stderr: bool) {
    // A message longer than a line's buffer is cut, with "..." to say so (diagnostics only).
    let mut t = Buf::<1200>::new();
    t.s(b"mote: ").s(level).s(b": ").s(msg);
    if t.overflowed() {
        t.truncate(1200 - 4);
        t.s(b"...");
    }
    t.c(b'\n');
    let t = t.lossy();
    // runc's line, JSON or logrus's text; always whole: a message whose escapes do not fit is
    // shortened until they do.
    let mut j = Buf::<1400>::new();
    let mut n = msg.len();
    loop {
        j.clear();
        if g.log_json {
            j.s(br#"{"level":"#).json(level).s(br#","msg":"#).json(&msg[..n]).s(br#","time":""#);
            rfc3339(&mut j);
            j.s(b"\"}\n");
        } else {
            j.s(br#"time=""#);
            rfc3339(&mut j);
            j.s(b"\" level=").s(level).s(b" msg=").json(&msg[..n]).c(b'\n');
        }
        if !j.overflowed() || n == 0 {
            break;
        }
        n = n * 3 / 4;
    }
    let Some(path) = g.log else {
        io::err(if g.log_json { j.lossy() } else { t });
        return;
    };
    if stderr {
        io::err(t);
    }
    if let Ok(fd) = fs::open(path, OFlags::WRONLY | OFlags::APPEND | OFlags::CREATE | OFlags::CLOEXEC, Mode::from_raw_mode(0o644)) {
        let _ = j.write_to(io::fd_of(&fd));
    }
}

/// Appends the current UTC time as RFC 3339 with nanoseconds.
pub fn rfc3339(b: &mut Text) {
    let (sec, nsec) = mote_sys::raw::realtime();
    let secs = sec.max(0) as u64;
    let (days, rem) = (secs / 86400, secs % 86400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + (m <= 2) as i64;
    let two = |b: &mut Text, v: u64| {
        b.c(b'0' + (v / 10) as u8).c(b'0' + (v % 10) as u8);
    };
    b.i(y).c(b'-');
    two(b, m as u64);
    b.c(b'-');
    two(b, d as u64);
    b.c(b'T');
    two(b, rem / 3600);
    b.c(b':');
    two(b, rem / 60 % 60);
    b.c(b':');
    two(b, rem % 60);
    let mut ns = Buf::<16>::new();
    ns.u(nsec as u64 + 1_000_000_000);
    b.c(b'.').s(&ns.lossy()[1..]).c(b'Z');
}
