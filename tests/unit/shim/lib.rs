//! The parts of mote-sys the unit-tested modules use, from sys/src itself.
#[path = "../../../sys/src/io.rs"]
pub mod io;
#[path = "../../../sys/src/txt.rs"]
pub mod txt;
#[path = "../../../sys/src/mem.rs"]
pub mod mem;
#[path = "../../../sys/src/num.rs"]
pub mod num;
pub mod raw {
    pub use rustix::io::Errno;

    /// sys/src/raw.rs's MADV_DONTNEED, which the unit tests never reach: keeping the pages is
    /// what its callers allow too (they only promise not to read them again).
    ///
    /// # Safety
    /// As sys/src/raw.rs's.
    pub unsafe fn discard(_addr: usize, _len: usize) -> Result<usize, Errno> {
        Ok(0)
    }

    /// getcwd(2) as sys/src/raw.rs has it (for io.rs's Text::cwd), from std on the host.
    ///
    /// # Safety
    /// `buf` must be valid for writes of `len` bytes.
    pub unsafe fn getcwd_to(buf: *mut u8, len: usize) -> Result<usize, Errno> {
        let d = std::env::current_dir().map_err(|e| Errno::from_io_error(&e).unwrap_or(Errno::IO))?;
        let b = d.as_os_str().as_encoded_bytes();
        if b.len() >= len {
            return Err(Errno::RANGE);
        }
        // SAFETY: b.len() + 1 <= len bytes at buf, the caller's promise.
        unsafe {
            core::ptr::copy_nonoverlapping(b.as_ptr(), buf, b.len());
            *buf.add(b.len()) = 0;
        }
        Ok(b.len())
    }
}
pub use linux_raw_sys;
pub use rustix;

/// argv as mote's `Args` gives it (start.rs: the kernel's NUL-terminated strings), for the CLI
/// parser's tests and fuzz, from C strings the caller keeps.
pub struct Args {
    v: Vec<&'static core::ffi::CStr>,
}

impl Args {
    /// # Safety
    /// The strings must outlive every use of this Args and of what the parser returns from it
    /// (its `&'static CStr`s point into them).
    pub unsafe fn new(v: &[&core::ffi::CStr]) -> Args {
        // SAFETY: the caller keeps the strings alive as long as anything made from them.
        Args { v: v.iter().map(|s| unsafe { core::mem::transmute::<&core::ffi::CStr, &'static core::ffi::CStr>(s) }).collect() }
    }
    pub fn len(&self) -> usize {
        self.v.len()
    }
    pub fn is_empty(&self) -> bool {
        self.v.is_empty()
    }
    pub fn get(&self, i: usize) -> Option<&'static [u8]> {
        self.v.get(i).map(|s| s.to_bytes())
    }
    pub fn cstr(&self, i: usize) -> Option<&'static core::ffi::CStr> {
        self.v.get(i).copied()
    }
}

impl txt::Txt {
    /// The text, expanded (what Text::t appends), for the tests to compare.
    pub fn to_vec(self) -> Vec<u8> {
        let mut b = io::Buf::<8192>::new();
        b.t(self);
        assert!(!b.overflowed(), "a Txt longer than the tests' buffer");
        b.lossy().to_vec()
    }
}

impl core::fmt::Display for txt::Txt {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.to_vec()))
    }
}
