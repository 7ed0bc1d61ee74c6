//! Output without an allocator or core::fmt: a fixed buffer that text, numbers and JSON strings
//! are appended to, then written with one write(2).

use core::mem::MaybeUninit;

use rustix::fd::BorrowedFd;
use rustix::io::Errno;

use crate::txt::{self, Txt};

/// Writes all of `buf` to `fd`, retrying short writes and EINTR.
pub fn write_all(fd: BorrowedFd<'_>, mut buf: &[u8]) -> Result<(), Errno> {
    while !buf.is_empty() {
        match rustix::io::write(fd, buf) {
            Ok(0) => return Err(Errno::IO),
            Ok(n) => buf = &buf[n..],
            Err(Errno::INTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// A fixed-capacity text buffer. Appending never fails on the spot (so building stays a chain),
/// but past the end the buffer is marked overflowed, and its contents are then reachable only
/// as an error: [`Text::get`], [`Text::cstr`] and [`Text::write_to`] return [`Overflow`] instead
/// of a truncated text. [`Text::lossy`] is for diagnostics alone (error messages, logs).
pub type Buf<const N: usize> = BufOf<[MaybeUninit<u8>; N]>;
/// Any [`Buf`], its capacity known at run time: every method is written (and compiled) once
/// for this, not once per capacity; a `Buf<N>` derefs to it.
pub type Text = BufOf<[MaybeUninit<u8>]>;

/// A buffer's length, overflow mark and storage (the storage last, so that a `Buf<N>` can be
/// seen as a [`Text`]). The storage is left uninitialized: only `..len` is ever read, and a
/// zeroed one cost a memset at every buffer on the stack (issue 17).
pub struct BufOf<D: ?Sized> {
    /// The length << 1 | the overflow mark: one word, so that a new buffer is one store (issue 17).
    at: usize,
    data: D,
}

impl<const N: usize> Default for Buf<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Buf<N> {
    /// An empty buffer.
    pub const fn new() -> Self {
        BufOf { at: 0, data: [const { MaybeUninit::uninit() }; N] }
    }
}

impl<const N: usize> core::ops::Deref for Buf<N> {
    type Target = Text;
    #[inline(always)]
    fn deref(&self) -> &Text {
        self
    }
}

impl<const N: usize> core::ops::DerefMut for Buf<N> {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut Text {
        self
    }
}

impl Text {
    /// The written bytes, `..len`.
    #[inline(always)]
    fn written(&self) -> &[u8] {
        let len = self.len().min(self.data.len());
        // SAFETY: every byte below `len` was written by `put` or `cstr` (`len` only grows by
        // what was copied in); MaybeUninit<u8> has u8's layout.
        unsafe { core::slice::from_raw_parts(self.data.as_ptr().cast::<u8>(), len) }
    }
    /// The contents, or [`Overflow`] when something did not fit.
    pub fn get(&self) -> Result<&[u8], Overflow> {
        if self.overflowed() {
            return Err(Overflow(self.data.len()));
        }
        Ok(self.written())
    }
    /// What fit, even after an overflow: only for diagnostics, where a cut text is better
    /// than none (callers mark the cut). One copy: inlined, it was ~40 bytes at each of ~45
    /// sites (issue 17).
    #[inline(never)]
    pub fn lossy(&self) -> &[u8] {
        self.written()
    }
    /// Whether something did not fit.
    pub fn overflowed(&self) -> bool {
        self.at & 1 != 0
    }
    /// Forgets the contents.
    pub fn clear(&mut self) {
        self.at = 0;
    }
    /// Appends bytes.
    #[inline]
    pub fn s(&mut self, b: impl AsRef<[u8]>) -> &mut Self {
        self.put(b.as_ref())
    }
    /// The one copy of the append logic, shared by every buffer size.
    #[inline(never)]
    fn put(&mut self, b: &[u8]) -> &mut Self {
        let len = self.len();
        let n = b.len().min(self.data.len() - len);
        for (d, &c) in self.data[len..len + n].iter_mut().zip(b) {
            d.write(c);
        }
        self.at += n << 1;
        self.at |= (n < b.len()) as usize;
        self
    }
    /// Appends packed text, its words expanded (txt.rs): the one expander.
    #[inline(never)]
    pub fn t(&mut self, t: Txt) -> &mut Self {
        self.unpack(t.bytes())
    }
    /// [`Text::t`] of packed bytes: a word's are packed too.
    fn unpack(&mut self, b: &[u8]) -> &mut Self {
        for &c in b {
            match txt::index(c) {
                Some(k) => self.unpack(txt::word(k)),
                None => self.c(c),
            };
        }
        self
    }
    /// Appends one byte.
    #[inline(never)]
    pub fn c(&mut self, c: u8) -> &mut Self {
        self.put(&[c])
    }
    /// Appends an unsigned number in decimal.
    #[inline(never)]
    pub fn u(&mut self, v: u64) -> &mut Self {
        let mut tmp = [0u8; 20];
        let d = decimal(v, &mut tmp);
        self.put(d)
    }
    /// Appends a signed number in decimal.
    pub fn i(&mut self, v: i64) -> &mut Self {
        if v < 0 {
            self.c(b'-').u(v.unsigned_abs())
        } else {
            self.u(v as u64)
        }
    }
    /// Appends `b` as a quoted JSON string.
    #[inline]
    pub fn json(&mut self, b: impl AsRef<[u8]>) -> &mut Self {
        self.json_of(b.as_ref())
    }
    /// The one copy of [`Text::json`].
    #[inline(never)]
    fn json_of(&mut self, b: &[u8]) -> &mut Self {
        self.put(b"\"");
        for &c in b {
            let mut esc = [b'\\', c, 0, 0, 0, 0];
            let e: &[u8] = match c {
                b'"' | b'\\' => &esc[..2],
                b'\n' => b"\\n",
                b'\t' => b"\\t",
                b'\r' => b"\\r",
                0..=0x1f => {
                    esc[1..].copy_from_slice(&[b'u', b'0', b'0', HEX[(c >> 4) as usize], HEX[(c & 15) as usize]]);
                    &esc
                }
                _ => &esc[1..2],
            };
            self.put(e);
        }
        self.put(b"\"")
    }
    /// The contents as a C string (a NUL is kept after them, not counted in the length), or
    /// [`Overflow`] when they or the NUL did not fit. Contents with a NUL inside are refused too
    /// (a C string would silently end there).
    #[inline(never)]
    pub fn cstr(&mut self) -> Result<&core::ffi::CStr, Overflow> {
        let cap = self.data.len();
        let len = self.len();
        // A byte loop (texts of a few dozen bytes), not contains()'s word-at-a-time memchr.
        if self.overflowed() || len == cap || self.written().iter().any(|&c| c == 0) {
            return Err(Overflow(cap));
        }
        self.data[len].write(0);
        // SAFETY: bytes `..len` were written before and byte `len` just now.
        let b = unsafe { core::slice::from_raw_parts(self.data.as_ptr().cast::<u8>(), len + 1) };
        // SAFETY: `b` ends with the NUL just written and has none before it (checked above): no
        // second scan for it.
        Ok(unsafe { core::ffi::CStr::from_bytes_with_nul_unchecked(b) })
    }
    /// Appends the current directory, getcwd(2) straight into the room left (no second 4 KiB
    /// buffer to copy from); fails as getcwd does (ERANGE when it does not fit), nothing appended.
    pub fn cwd(&mut self) -> Result<(), Errno> {
        let len = self.len();
        let room = &mut self.data[len..];
        // SAFETY: `room` is the buffer's unwritten part, valid for writes of its length; on
        // success the kernel wrote the n bytes counted below (and a NUL after them).
        let n = unsafe { crate::raw::getcwd_to(room.as_mut_ptr().cast::<u8>(), room.len()) }?;
        self.at += n << 1;
        Ok(())
    }
    /// Drops bytes from the end down to `len`.
    pub fn truncate(&mut self, len: usize) {
        self.at = self.len().min(len) << 1 | self.at & 1;
    }
    /// How many bytes fit.
    pub fn capacity(&self) -> usize {
        self.data.len()
    }
    /// Number of bytes written.
    pub fn len(&self) -> usize {
        self.at >> 1
    }
    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Writes the contents to `fd`; an overflowed buffer writes nothing and fails with EOVERFLOW.
    pub fn write_to(&self, fd: BorrowedFd<'_>) -> Result<(), Errno> {
        write_all(fd, self.get().map_err(|_| Errno::OVERFLOW)?)
    }
}

/// A [`Buf`] whose contents did not fit: its capacity in bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct Overflow(pub usize);

/// Where only an errno can be returned, an overflowed path is ENAMETOOLONG.
impl From<Overflow> for Errno {
    fn from(_: Overflow) -> Errno {
        Errno::NAMETOOLONG
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// `v` in decimal, as the tail of `tmp`.
#[inline(never)]
fn decimal(mut v: u64, tmp: &mut [u8; 20]) -> &[u8] {
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    &tmp[i..]
}

/// `s` read as a decimal number: digits only, at least one, no overflow. The one decimal
/// reader for text that is not JSON (tar headers, /etc/passwd, flags, /proc names).
pub fn parse_decimal(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.iter().try_fold(0u64, |v, &c| if c.is_ascii_digit() { v.checked_mul(10)?.checked_add((c - b'0') as u64) } else { None })
}

/// A file descriptor number used without ownership (0, 1, 2, or one inherited by number).
pub fn fd(n: i32) -> BorrowedFd<'static> {
    // SAFETY: a BorrowedFd is only a number handed to syscalls; if `n` is not open they fail with
    // EBADF. mote never closes a descriptor it reaches through this function.
    unsafe { BorrowedFd::borrow_raw(n) }
}

/// Borrows an owned descriptor (as [`Fd::fd`], spelled for callers that want a plain fn).
#[inline(always)]
pub fn fd_of(f: &rustix::fd::OwnedFd) -> BorrowedFd<'_> {
    f.fd()
}

/// `.fd()`: an owned descriptor borrowed as rustix's `as_fd` does, without its check that the
/// number is not -1 (an OwnedFd never holds -1: rustix checks that when one is made). That check
/// kept `as_fd` out of line, a call at each of ~150 sites (issue 17).
pub trait Fd {
    fn fd(&self) -> BorrowedFd<'_>;
}

impl Fd for rustix::fd::OwnedFd {
    #[inline(always)]
    fn fd(&self) -> BorrowedFd<'_> {
        use rustix::fd::AsRawFd;
        // SAFETY: BorrowedFd and OwnedFd are both repr(transparent) over the descriptor number,
        // which an OwnedFd never has at -1; the borrow lives no longer than `self`.
        unsafe { core::mem::transmute::<i32, BorrowedFd<'_>>(self.as_raw_fd()) }
    }
}

/// Writes to stdout, ignoring errors (a closed stdout must not turn into a second failure).
pub fn out(b: &[u8]) {
    let _ = write_all(fd(1), b);
}

/// Writes packed text (txt.rs) to `fd`, expanded, a buffer's worth at a time (any length).
#[inline(never)]
pub fn write_txt(fd: BorrowedFd<'_>, t: Txt) -> Result<(), Errno> {
    const _: () = assert!(txt::LONGEST <= 1024);
    let mut b = Buf::<2048>::new();
    for c in t.bytes().chunks(1) {
        if b.capacity() - b.len() < txt::LONGEST {
            b.write_to(fd)?;
            b.clear();
        }
        b.unpack(c);
    }
    b.write_to(fd)
}

/// Writes packed text to stdout, expanded, ignoring errors.
pub fn out_txt(t: Txt) {
    let _ = write_txt(fd(1), t);
}

/// Writes to stderr, ignoring errors.
pub fn err(b: &[u8]) {
    let _ = write_all(fd(2), b);
}
