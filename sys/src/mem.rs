//! The one large buffer: a config.json is read into it. It lives in .bss, so pages the file does
//! not reach are never touched and cost no memory.

use core::sync::atomic::{AtomicBool, Ordering};

/// Size of the buffer (the largest config.json mote reads).
pub const ARENA: usize = 1 << 20;

static mut ARENA_BUF: [u8; ARENA] = [0; ARENA];
static TAKEN: AtomicBool = AtomicBool::new(false);

/// Hands out the buffer, once per process run.
pub fn take_arena() -> Option<&'static mut [u8]> {
    if TAKEN.swap(true, Ordering::AcqRel) {
        return None;
    }
    // SAFETY: TAKEN guarantees this mutable reference is created at most once, so it is unique.
    Some(unsafe { &mut *core::ptr::addr_of_mut!(ARENA_BUF) })
}
