//! mote-init: PID 1 for containers (what tini and catatonit do) and for small embedded systems.
//!
//! The command line decides the mode: with a command (or -P) it is a container's init that runs
//! one child, forwards signals to it, reaps zombies and exits with the child's status; as PID 1
//! with nothing to run (or with --system) it brings up a small system and supervises services.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

mod args;
mod container;
mod proc;
mod system;

use mote_sys::io::fd;
use mote_sys::rustix::io::{writev, IoSlice};
use mote_sys::rustix::process::getpid;
use mote_sys::Args;

mote_sys::main!(main);

/// A fixed line: reading the PanicInfo would keep core::fmt in the binary (~5.5 KiB of a 16 KiB
/// budget). mote-init has no unwrap or expect; only a bug in a bounds check could get here.
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    mote_sys::panic::fixed(b"mote-init: panic (a bug): exiting 101\n")
}

fn main(a: Args) -> i32 {
    let opts = match args::parse(&a) {
        Ok(o) => o,
        Err(code) => return code,
    };
    // A container engine always gives its init a command; the kernel gives a machine's init none.
    if opts.system || (opts.cmd == 0 && !opts.pause && getpid().is_init()) {
        system::run(&a, &opts)
    }
    container::run(&a, &opts)
}

/// The index of `word` in the blank-separated `table`: one string and one loop instead of a
/// `match` on byte strings, which compiles to a compare per byte.
pub fn lookup(table: &[u8], word: &[u8]) -> Option<usize> {
    table.split(|&c| c == b' ').position(|w| same(w, word))
}

/// Whether `a` and `b` hold the same bytes. A byte loop: `==` on byte slices calls memcmp, whose
/// word-at-a-time copy in compiler_builtins (and bcmp's, and their GOT slots) cost ~450 bytes
/// of x86_64's 16 KiB (this binary compares only short words).
#[inline(never)]
pub fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

/// `s` without `prefix`, if it starts with it ([`same`]'s strip_prefix).
pub fn after<'a>(s: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    let (head, tail) = s.split_at_checked(prefix.len())?;
    same(head, prefix).then_some(tail)
}

/// Prints one line on stderr (the console in system mode): "mote-init: " and `msg`, with `arg`
/// in place of its '@'.
pub fn say(msg: &[u8], arg: &[u8]) {
    say_n(msg, arg, 0);
}

/// Like [`say`], with the number `n` in place of a '#' too. One writev(2): the line arrives
/// whole, nothing is copied, and call sites pass two slices rather than a list of parts.
pub fn say_n(msg: &[u8], arg: &[u8], mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i % 20] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 || i == 0 {
            break;
        }
    }
    // The '@' comes before the '#' in every message.
    let (left, c) = split_at_mark(msg, b'#');
    let (a, b) = split_at_mark(left, b'@');
    let number = if left.len() < msg.len() { digits.get(i..).unwrap_or_default() } else { b"" };
    let arg = if a.len() < left.len() { arg } else { b"" };
    // (Made as IoSlices, not mapped to them: the map's copy of the array was a memcpy call.)
    let io = [IoSlice::new(b"mote-init: "), IoSlice::new(a), IoSlice::new(arg), IoSlice::new(b), IoSlice::new(number),
              IoSlice::new(c), IoSlice::new(b"\n")];
    let _ = writev(fd(2), &io);
}

/// `s` split around the first `mark` (dropped); all of `s` and nothing without one.
fn split_at_mark(s: &[u8], mark: u8) -> (&[u8], &[u8]) {
    match s.iter().position(|&c| c == mark) {
        Some(i) => (&s[..i], s.get(i + 1..).unwrap_or_default()),
        None => (s, &[]),
    }
}
