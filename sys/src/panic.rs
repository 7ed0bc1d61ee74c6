//! What a panic prints. Each binary picks in its own `#[panic_handler]`: reading the PanicInfo
//! (even only its location) keeps the fmt::Arguments every bounds check builds, and with them
//! core::fmt's number and string formatting: about 5.5 KiB, affordable for mote, not within
//! mote-init's 16 KiB.

use core::panic::PanicInfo;

use crate::io::{err, Buf};

/// Prints where and (when it is a plain string) what, then exits 101. No core::fmt formatting.
pub fn report(prog: &str, info: &PanicInfo<'_>) -> ! {
    let mut b = Buf::<512>::new();
    b.s(prog).s(b": panic");
    // Builds with -Zlocation-detail=none (.cargo/config.toml) have no location: line 0.
    if let Some(l) = info.location().filter(|l| l.line() != 0) {
        // Only the file's name: the full path is the build machine's (a cargo registry, a home).
        let f = l.file().as_bytes();
        let name = &f[f.iter().rposition(|&c| c == b'/').map_or(0, |i| i + 1)..];
        b.s(b" at ").s(name).c(b':').u(l.line() as u64);
    }
    if let Some(m) = info.message().as_str() {
        b.s(b": ").s(m);
    }
    b.c(b'\n');
    err(b.lossy());
    crate::raw::exit(101)
}

/// Prints a fixed line and exits 101.
pub fn fixed(line: &[u8]) -> ! {
    err(line);
    crate::raw::exit(101)
}
