//! One error type for the whole runtime: what failed, on which path or JSON field, and why.
//!
//! Printed once by `main` as `mote: <what> <path>: <detail>: <strerror>` (or as a JSON log line
//! with --log-format json), and mapped to an exit code there.

use mote_sys::io::Buf;
use mote_sys::raw::Errno;

/// Capacity of the path/field part of a message.
pub const PATH_MAX_MSG: usize = 320;

pub struct Error {
    /// What was being done: "open", "mount", "parse config.json"...
    pub what: &'static str,
    /// The path, JSON field or id concerned (may be empty).
    pub path: Buf<PATH_MAX_MSG>,
    /// A reason in words, when there is no errno or it needs one.
    pub detail: &'static str,
    pub errno: Option<Errno>,
}

pub type Result<T> = core::result::Result<T, Error>;

impl Error {
    /// An error with an errno.
    pub fn sys(what: &'static str, path: impl AsRef<[u8]>, e: Errno) -> Self {
        let mut p = Buf::new();
        p.s(path);
        Error { what, path: p, detail: "", errno: Some(e) }
    }
    /// An error with a reason in words.
    pub fn msg(what: &'static str, path: impl AsRef<[u8]>, detail: &'static str) -> Self {
        let mut p = Buf::new();
        p.s(path);
        Error { what, path: p, detail, errno: None }
    }
    /// Renders the message (without the "mote: " prefix).
    pub fn render<const N: usize>(&self, b: &mut Buf<N>) {
        b.s(self.what);
        if !self.path.as_bytes().is_empty() {
            if !self.what.is_empty() {
                b.c(b' ');
            }
            b.s(self.path.as_bytes());
        }
        if !self.detail.is_empty() {
            b.s(b": ").s(self.detail);
        }
        if let Some(e) = self.errno {
            b.s(b": ").s(strerror(e));
        }
    }
}

/// Shorthand: map an Errno result into an [`Error`] naming `what` and `path`.
pub trait Ctx<T> {
    fn ctx(self, what: &'static str, path: impl AsRef<[u8]>) -> Result<T>;
}

impl<T> Ctx<T> for core::result::Result<T, Errno> {
    fn ctx(self, what: &'static str, path: impl AsRef<[u8]>) -> Result<T> {
        self.map_err(|e| Error::sys(what, path, e))
    }
}

/// The C library's text for the errnos a runtime meets.
pub fn strerror(e: Errno) -> &'static str {
    match e {
        Errno::PERM => "Operation not permitted",
        Errno::NOENT => "No such file or directory",
        Errno::SRCH => "No such process",
        Errno::INTR => "Interrupted system call",
        Errno::IO => "Input/output error",
        Errno::NXIO => "No such device or address",
        Errno::TOOBIG => "Argument list too long",
        Errno::NOEXEC => "Exec format error",
        Errno::BADF => "Bad file descriptor",
        Errno::CHILD => "No child processes",
        Errno::AGAIN => "Resource temporarily unavailable",
        Errno::NOMEM => "Cannot allocate memory",
        Errno::ACCESS => "Permission denied",
        Errno::FAULT => "Bad address",
        Errno::BUSY => "Device or resource busy",
        Errno::EXIST => "File exists",
        Errno::XDEV => "Invalid cross-device link",
        Errno::NODEV => "No such device",
        Errno::NOTDIR => "Not a directory",
        Errno::ISDIR => "Is a directory",
        Errno::INVAL => "Invalid argument",
        Errno::MFILE => "Too many open files",
        Errno::NOTTY => "Inappropriate ioctl for device",
        Errno::TXTBSY => "Text file busy",
        Errno::FBIG => "File too large",
        Errno::NOSPC => "No space left on device",
        Errno::ROFS => "Read-only file system",
        Errno::PIPE => "Broken pipe",
        Errno::RANGE => "Numerical result out of range",
        Errno::NAMETOOLONG => "File name too long",
        Errno::NOSYS => "Function not implemented",
        Errno::NOTEMPTY => "Directory not empty",
        Errno::LOOP => "Too many levels of symbolic links",
        Errno::OPNOTSUPP => "Operation not supported",
        Errno::CONNREFUSED => "Connection refused",
        _ => "Unknown error",
    }
}
