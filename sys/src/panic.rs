//! What a panic prints, from each binary's own `#[panic_handler]`: a fixed line. Reading the
//! PanicInfo (even only its location) keeps the fmt::Arguments every bounds check builds, and
//! with them core::fmt's number and string formatting: about 5 KiB (issue 17).

use crate::io::err;

/// Prints a fixed line and exits 101.
pub fn fixed(line: &[u8]) -> ! {
    err(line);
    crate::raw::exit(101)
}
