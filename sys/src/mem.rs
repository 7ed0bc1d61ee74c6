//! Large buffers out of stack frames. A stack frame above a page is probed page by page on entry
//! (stack-clash protection), so a big local costs one page fault per 4 KiB whether it is used or
//! not; a buffer in .bss faults only the pages actually written. Each one here is handed out once
//! per process run ([`take_arena`], [`Slot`]) or lent to one holder at a time ([`Pool`]).

use core::cell::UnsafeCell;
use core::mem::MaybeUninit;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicBool, Ordering};

/// Size of the buffer (the largest config.json mote reads).
pub const ARENA: usize = 1 << 20;

static ARENA_BUF: Slot<[u8; ARENA]> = Slot::new();

/// Hands out the config buffer, once per process run.
pub fn take_arena() -> Option<&'static mut [u8]> {
    // Zero-filled .bss: only the pages the file reaches are touched.
    ARENA_BUF.take_zeroed().map(|b| &mut b[..])
}

/// A value in .bss, handed out at most once per process run (no heap: its room is fixed at
/// build time, and nothing of it is touched before it is written).
pub struct Slot<T> {
    v: UnsafeCell<MaybeUninit<T>>,
    taken: AtomicBool,
}

// SAFETY: `taken` lets exactly one caller ever reach the value, so it is never shared.
unsafe impl<T> Sync for Slot<T> {}

impl<T> Slot<T> {
    /// An empty slot (for a `static`).
    pub const fn new() -> Self {
        Self { v: UnsafeCell::new(MaybeUninit::uninit()), taken: AtomicBool::new(false) }
    }
    /// The slot, set to `init()`, or None if it was taken before.
    #[inline(always)]
    pub fn take(&'static self, init: impl FnOnce() -> T) -> Option<&'static mut T> {
        if self.taken.swap(true, Ordering::AcqRel) {
            return None;
        }
        // SAFETY: `taken` guarantees this mutable reference is created at most once, so it is unique.
        Some(unsafe { &mut *self.v.get() }.write(init()))
    }
    /// The slot as the all-zero value of T (its .bss state: nothing is written), or None if it
    /// was taken before. Only for T valid as zeros: integers and arrays of them.
    pub fn take_zeroed(&'static self) -> Option<&'static mut T>
    where
        T: Zeroable,
    {
        if self.taken.swap(true, Ordering::AcqRel) {
            return None;
        }
        // SAFETY: unique as in `take`; a static starts as zero bytes (.bss), which T: Zeroable
        // makes a valid T, and nothing wrote to it before.
        Some(unsafe { (*self.v.get()).assume_init_mut() })
    }
}

impl<T> Slot<T> {
    /// Gives the slot's pages back for good (a process that goes on to wait for long): `v`,
    /// the one reference `take` handed out, is given up, and the slot stays taken, so nothing
    /// reads it again.
    pub fn retire(&'static self, v: &'static mut T) {
        let p = self.v.get() as *mut T;
        if core::ptr::eq(p, v) {
            // SAFETY: `v` was the only way to the value (see `take`) and is consumed here; the
            // slot is taken, so the value is never reached again.
            unsafe { discard_pages(p as usize, core::mem::size_of::<T>()) }
        }
    }
}

/// MADV_DONTNEED of the whole pages inside the `len` bytes at `addr` (of a .bss object: its
/// whole pages lie past the file's bytes, in anonymous memory, so they read as zeros after;
/// the partial pages at both ends are another object's too and stay).
///
/// # Safety
/// Nothing may read the object's old contents again.
unsafe fn discard_pages(addr: usize, len: usize) {
    // The kernel's page size (4 KiB, or 16/64 KiB on some arm64 kernels): madvise rounds a
    // length up to it, so a range must be whole pages of it to stay inside the object.
    let page = rustix::param::page_size();
    let (lo, hi) = ((addr + page - 1) & !(page - 1), (addr + len) & !(page - 1));
    if lo < hi {
        // SAFETY: the caller's guarantee, for a range inside the object.
        let _ = unsafe { crate::raw::discard(lo, hi - lo) };
    }
}

/// Types that stay valid with any of their bytes zeroed (all of them, or whole pages of them).
///
/// # Safety
/// A value with any page-aligned run of its bytes set to zero, all-zero included, must be a
/// valid value of the type.
pub unsafe trait Zeroable {}
// SAFETY: any byte is a valid u8.
unsafe impl Zeroable for u8 {}
// SAFETY: an array of zero-valid elements is zero-valid.
unsafe impl<T: Zeroable, const N: usize> Zeroable for [T; N] {}
// SAFETY: its length word (aligned: never split by a page) is either kept or zero, an empty
// buffer without the overflow mark; the storage is MaybeUninit.
unsafe impl<const N: usize> Zeroable for crate::io::Buf<N> {}

/// A value in .bss lent to one holder at a time (a scratch buffer that several steps of one
/// process use in turn). `get` fails, rather than blocks, while it is lent.
pub struct Pool<T> {
    v: UnsafeCell<T>,
    busy: AtomicBool,
}

// SAFETY: `busy` lets one `Lent` at a time reach the value, so it is never shared.
unsafe impl<T> Sync for Pool<T> {}

impl<T> Pool<T> {
    /// A pool holding `v` (a const value: for a `static`; all zeros keeps it in .bss).
    pub const fn new(v: T) -> Self {
        Self { v: UnsafeCell::new(v), busy: AtomicBool::new(false) }
    }
    /// The value, until the returned guard is dropped; None while someone else holds it.
    pub fn get(&'static self) -> Option<Lent<T>> {
        if self.busy.swap(true, Ordering::AcqRel) {
            return None;
        }
        // SAFETY: `busy` was false, so no other Lent exists; this one clears it when dropped.
        Some(Lent { v: unsafe { &mut *self.v.get() }, busy: &self.busy })
    }
}

impl<T: Zeroable> Pool<T> {
    /// Gives the pool's whole pages back while nobody holds it (scratch that a waiting process
    /// no longer needs): they read as zeros after; the partial pages at its ends keep their
    /// bytes. A holder starts from what it finds, as always (a Buf is cleared, a read buffer
    /// overwritten).
    pub fn discard(&'static self) {
        if let Some(l) = self.get() {
            let p: *mut T = &mut *l.v;
            // SAFETY: lent to nobody else (`get`), and T stays valid with any page of it zeroed
            // (Zeroable).
            unsafe { discard_pages(p as usize, core::mem::size_of::<T>()) }
        }
    }
}

/// The value of a [`Pool`] while lent.
pub struct Lent<T: 'static> {
    v: &'static mut T,
    busy: &'static AtomicBool,
}

impl<T> Deref for Lent<T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.v
    }
}

impl<T> DerefMut for Lent<T> {
    fn deref_mut(&mut self) -> &mut T {
        self.v
    }
}

impl<T> Drop for Lent<T> {
    fn drop(&mut self) {
        self.busy.store(false, Ordering::Release);
    }
}

/// A value computed at most once per process and kept for its life (the cgroup layout, say).
/// mote and mote-init never start a thread (clone3/fork without CLONE_VM: raw.rs), so no
/// locking; a forked child has its own copy.
pub struct Once<T> {
    set: AtomicBool,
    v: core::cell::UnsafeCell<core::mem::MaybeUninit<T>>,
}

// SAFETY: the processes this crate serves are single-threaded (see above): no two accesses to
// a Once can overlap.
unsafe impl<T> Sync for Once<T> {}

impl<T> Once<T> {
    /// An empty cell.
    pub const fn new() -> Self {
        Once { set: AtomicBool::new(false), v: core::cell::UnsafeCell::new(core::mem::MaybeUninit::uninit()) }
    }

    /// The value, computed by `f` on the first call that succeeds (a failure is not kept).
    /// `f` must not use this cell.
    pub fn get_or_try<E>(&self, f: impl FnOnce() -> Result<T, E>) -> Result<&T, E> {
        if !self.set.load(Ordering::Acquire) {
            let v = f()?;
            // SAFETY: not set yet, and single-threaded: no reference to the slot exists.
            unsafe { (*self.v.get()).write(v) };
            self.set.store(true, Ordering::Release);
        }
        // SAFETY: set, so the slot was written above or by an earlier call, and is never again.
        Ok(unsafe { (*self.v.get()).assume_init_ref() })
    }
}

/// Gives back the stack pages more than a page below the caller: frames of calls that
/// returned, kept resident for nothing while a process waits for long (a foreground run:
/// create's frames, ~80 KiB). Bounded by the stack's own mapping as /proc/self/maps gives it.
#[inline(never)]
pub fn release_stack() {
    let Some((low, end)) = stack_mapping() else { return };
    let x = 0u8;
    let here = core::hint::black_box(&x) as *const u8 as usize;
    // A page below this frame's page: the stack pointer is within this small frame's reach.
    let page = rustix::param::page_size();
    let high = (here & !(page - 1)).saturating_sub(page);
    // Only on that mapping (a process on another stack gives nothing back).
    if 0 < low && low < high && here < end {
        // SAFETY: [low, high) is inside the stack's mapping (low is its start, high below us)
        // and below the stack pointer: dead frames, which nothing reads again.
        let _ = unsafe { crate::raw::discard(low, high - low) };
    }
}

/// This process's stack mapping, start and end (the "[stack]" line of /proc/self/maps).
#[inline(never)]
fn stack_mapping() -> Option<(usize, usize)> {
    use rustix::fs::{open, Mode, OFlags};
    let fd = open(c"/proc/self/maps", OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()).ok()?;
    let mut buf = [0u8; 4096];
    let mut len = 0;
    // The stack is one of mote's last mappings: the file is read whole, up to the buffer.
    while len < buf.len() {
        match rustix::io::read(&fd, &mut buf[len..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => len += n,
        }
    }
    let line = buf[..len].split(|&c| c == b'\n').find(|l| l.ends_with(b"[stack]"))?;
    // "START-END perms ...", lowercase hex from the kernel (wrapping: never a panic).
    let mut v = [0usize; 2];
    let mut i = 0;
    for &c in line {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'-' if i == 0 => {
                i = 1;
                continue;
            }
            _ => break,
        };
        v[i] = v[i].wrapping_mul(16) | d as usize;
    }
    (i == 1).then_some((v[0], v[1]))
}
