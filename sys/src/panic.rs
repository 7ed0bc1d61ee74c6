//! A panic prints where and (when it is a plain string) what, then exits 101. No core::fmt: it
//! would cost more than the rest of mote-init together.

use core::panic::PanicInfo;

use crate::io::{err, Buf};

#[panic_handler]
fn panic(info: &PanicInfo<'_>) -> ! {
    let mut b = Buf::<512>::new();
    b.s(b"panic");
    if let Some(l) = info.location() {
        b.s(b" at ").s(l.file()).c(b':').u(l.line() as u64);
    }
    if let Some(m) = info.message().as_str() {
        b.s(b": ").s(m);
    }
    b.c(b'\n');
    err(b.as_bytes());
    crate::raw::exit(101)
}
