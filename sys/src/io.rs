//! Output without an allocator or core::fmt: a fixed buffer that text, numbers and JSON strings
//! are appended to, then written with one write(2).

use rustix::fd::BorrowedFd;
use rustix::io::Errno;

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

/// A fixed-capacity text buffer. Appending past the end keeps what fits and marks the buffer
/// as overflowed, which callers producing structured output must check with [`Buf::overflowed`].
pub struct Buf<const N: usize> {
    data: [u8; N],
    len: usize,
    overflow: bool,
}

impl<const N: usize> Default for Buf<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Buf<N> {
    /// An empty buffer.
    pub const fn new() -> Self {
        Self { data: [0; N], len: 0, overflow: false }
    }
    /// The bytes written so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.data[..self.len]
    }
    /// Whether something did not fit.
    pub fn overflowed(&self) -> bool {
        self.overflow
    }
    /// Forgets the contents.
    pub fn clear(&mut self) {
        self.len = 0;
        self.overflow = false;
    }
    /// Appends bytes.
    pub fn s(&mut self, b: impl AsRef<[u8]>) -> &mut Self {
        let b = b.as_ref();
        let n = b.len().min(N - self.len);
        self.data[self.len..self.len + n].copy_from_slice(&b[..n]);
        self.len += n;
        self.overflow |= n < b.len();
        self
    }
    /// Appends one byte.
    pub fn c(&mut self, c: u8) -> &mut Self {
        self.s([c])
    }
    /// Appends an unsigned number in decimal.
    pub fn u(&mut self, v: u64) -> &mut Self {
        let mut tmp = [0u8; 20];
        let mut i = tmp.len();
        let mut v = v;
        loop {
            i -= 1;
            tmp[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        self.s(&tmp[i..])
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
    pub fn json(&mut self, b: impl AsRef<[u8]>) -> &mut Self {
        self.c(b'"');
        for &c in b.as_ref() {
            match c {
                b'"' => self.s(b"\\\""),
                b'\\' => self.s(b"\\\\"),
                b'\n' => self.s(b"\\n"),
                b'\t' => self.s(b"\\t"),
                b'\r' => self.s(b"\\r"),
                0..=0x1f => self.s(b"\\u00").c(HEX[(c >> 4) as usize]).c(HEX[(c & 15) as usize]),
                _ => self.c(c),
            };
        }
        self.c(b'"')
    }
    /// The contents as a C string (a NUL is kept after them, not counted in the length). A full
    /// buffer gives up its last byte for the NUL and is marked overflowed.
    pub fn cstr(&mut self) -> &core::ffi::CStr {
        if self.len == N {
            self.len -= 1;
            self.overflow = true;
        }
        self.data[self.len] = 0;
        core::ffi::CStr::from_bytes_until_nul(&self.data[..=self.len]).unwrap_or(c"")
    }
    /// Drops bytes from the end down to `len`.
    pub fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }
    /// Number of bytes written.
    pub fn len(&self) -> usize {
        self.len
    }
    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// Writes the contents to `fd`.
    pub fn write_to(&self, fd: BorrowedFd<'_>) -> Result<(), Errno> {
        write_all(fd, self.as_bytes())
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// A file descriptor number used without ownership (0, 1, 2, or one inherited by number).
pub fn fd(n: i32) -> BorrowedFd<'static> {
    // SAFETY: a BorrowedFd is only a number handed to syscalls; if `n` is not open they fail with
    // EBADF. mote never closes a descriptor it reaches through this function.
    unsafe { BorrowedFd::borrow_raw(n) }
}

/// Borrows an owned descriptor (rustix's AsFd, spelled for callers that want a plain fn).
pub fn fd_of<F: rustix::fd::AsFd>(f: &F) -> BorrowedFd<'_> {
    f.as_fd()
}

/// Writes to stdout, ignoring errors (a closed stdout must not turn into a second failure).
pub fn out(b: &[u8]) {
    let _ = write_all(fd(1), b);
}

/// Writes to stderr, ignoring errors.
pub fn err(b: &[u8]) {
    let _ = write_all(fd(2), b);
}
