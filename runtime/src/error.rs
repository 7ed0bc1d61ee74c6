//! One error type for the whole runtime: what failed, on which path or JSON field, and why.
//!
//! Printed once by `main` as `mote: <what> <path>: <detail>: <strerror>` (or as a JSON log line
//! with --log-format json), and mapped to an exit code there.

use mote_sys::io::{Buf, Overflow};
use mote_sys::raw::Errno;

/// Capacity of the path/field part of a message.
pub const PATH_MAX_MSG: usize = 320;
/// A longer path is shown as its first and last SHOWN/2 bytes around "...": the message keeps
/// room for what follows it (the detail, the errno), here and when a child's rendered error
/// travels back whole as the path of a new one.
const SHOWN: usize = 240;

/// `path` into a message buffer, its middle cut out if it is longer than [`SHOWN`].
fn shown(path: &[u8]) -> Buf<PATH_MAX_MSG> {
    let mut p = Buf::new();
    if path.len() <= SHOWN {
        p.s(path);
    } else {
        p.s(&path[..SHOWN / 2]).s(b"...").s(&path[path.len() - SHOWN / 2..]);
    }
    p
}

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
    #[cold]
    #[inline(never)]
    pub fn sys(what: &'static str, path: impl AsRef<[u8]>, e: Errno) -> Self {
        Error { what, path: shown(path.as_ref()), detail: "", errno: Some(e) }
    }
    /// An error with a reason in words.
    #[cold]
    #[inline(never)]
    pub fn msg(what: &'static str, path: impl AsRef<[u8]>, detail: &'static str) -> Self {
        Error { what, path: shown(path.as_ref()), detail, errno: None }
    }
    /// Something mote built (a path, a file's content) is longer than its buffer of `cap` bytes.
    #[cold]
    #[inline(never)]
    pub fn too_long(what: &'static str, cap: usize) -> Self {
        let mut e = Error::msg(what, "", "");
        e.path.s(b"longer than ").u(cap as u64).s(b" bytes");
        e
    }
    /// This error, and a cleanup after it that failed too: both said, neither swallowed.
    #[cold]
    #[inline(never)]
    pub fn and(self, cleanup: Result<()>) -> Error {
        let Err(c) = cleanup else { return self };
        let mut e = Error::msg("", "", "");
        self.render(&mut e.path);
        e.path.s(b"; cleaning up: ");
        c.render(&mut e.path);
        e
    }
    /// Renders the message (without the "mote: " prefix); a path cut at the message's bound
    /// ends in "...".
    pub fn render<const N: usize>(&self, b: &mut Buf<N>) {
        b.s(self.what);
        if !self.path.lossy().is_empty() {
            if !self.what.is_empty() {
                b.c(b' ');
            }
            b.s(self.path.lossy());
            if self.path.overflowed() {
                b.s(b"...");
            }
        }
        if !self.detail.is_empty() {
            b.s(b": ").s(self.detail);
        }
        if let Some(e) = self.errno {
            match errno_text(e) {
                Some(m) => b.s(b": ").s(m),
                None => b.s(b": errno ").i(e.raw_os_error() as i64),
            };
        }
    }
}

/// Shorthand: map an Errno result into an [`Error`] naming `what` and `path`.
pub trait Ctx<T> {
    fn ctx(self, what: &'static str, path: impl AsRef<[u8]>) -> Result<T>;
}

impl<T> Ctx<T> for core::result::Result<T, Errno> {
    #[inline]
    fn ctx(self, what: &'static str, path: impl AsRef<[u8]>) -> Result<T> {
        self.map_err(|e| Error::sys(what, path, e))
    }
}

/// Shorthand: a [`Buf`] that overflowed becomes an [`Error`] saying what was too long
/// (`what` ends in a colon: "state dir path:").
pub trait Fits<T> {
    fn fits(self, what: &'static str) -> Result<T>;
}

impl<T> Fits<T> for core::result::Result<T, Overflow> {
    #[inline]
    fn fits(self, what: &'static str) -> Result<T> {
        self.map_err(|o| Error::too_long(what, o.0))
    }
}

/// A C path for a syscall that may not have fit its buffer: a `&CStr`, or what
/// [`Buf::cstr`] returned (so file helpers take either, and an overflow cannot be ignored).
pub trait CPath<'a> {
    fn path(self) -> Result<&'a core::ffi::CStr>;
}

impl<'a> CPath<'a> for &'a core::ffi::CStr {
    #[inline]
    fn path(self) -> Result<&'a core::ffi::CStr> {
        Ok(self)
    }
}

impl<'a> CPath<'a> for core::result::Result<&'a core::ffi::CStr, Overflow> {
    #[inline]
    fn path(self) -> Result<&'a core::ffi::CStr> {
        self.fits("path:")
    }
}

/// glibc's text for errno 1..=40, one per line (one string: no relocation table).
const MESSAGES: &str = "Operation not permitted\nNo such file or directory\nNo such process\n\
Interrupted system call\nInput/output error\nNo such device or address\nArgument list too long\n\
Exec format error\nBad file descriptor\nNo child processes\nResource temporarily unavailable\n\
Cannot allocate memory\nPermission denied\nBad address\nBlock device required\n\
Device or resource busy\nFile exists\nInvalid cross-device link\nNo such device\nNot a directory\n\
Is a directory\nInvalid argument\nToo many open files in system\nToo many open files\n\
Inappropriate ioctl for device\nText file busy\nFile too large\nNo space left on device\n\
Illegal seek\nRead-only file system\nToo many links\nBroken pipe\n\
Numerical argument out of domain\nNumerical result out of range\nResource deadlock avoided\n\
File name too long\nNo locks available\nFunction not implemented\nDirectory not empty\n\
Too many levels of symbolic links";

/// The symbolic names of errno 42..=133 (41 and 58 are unused: "-"), for the rarer ones that
/// have no text above: a name is smaller than glibc's text and says as much to a reader.
const NAMES: &str = "ENOMSG EIDRM ECHRNG EL2NSYNC EL3HLT EL3RST ELNRNG EUNATCH ENOCSI EL2HLT EBADE EBADR EXFULL \
ENOANO EBADRQC EBADSLT - EBFONT ENOSTR ENODATA ETIME ENOSR ENONET ENOPKG EREMOTE ENOLINK EADV \
ESRMNT ECOMM EPROTO EMULTIHOP EDOTDOT EBADMSG EOVERFLOW ENOTUNIQ EBADFD EREMCHG ELIBACC \
ELIBBAD ELIBSCN ELIBMAX ELIBEXEC EILSEQ ERESTART ESTRPIPE EUSERS ENOTSOCK EDESTADDRREQ \
EMSGSIZE EPROTOTYPE ENOPROTOOPT EPROTONOSUPPORT ESOCKTNOSUPPORT EOPNOTSUPP EPFNOSUPPORT \
EAFNOSUPPORT EADDRINUSE EADDRNOTAVAIL ENETDOWN ENETUNREACH ENETRESET ECONNABORTED ECONNRESET \
ENOBUFS EISCONN ENOTCONN ESHUTDOWN ETOOMANYREFS ETIMEDOUT ECONNREFUSED EHOSTDOWN EHOSTUNREACH \
EALREADY EINPROGRESS ESTALE EUCLEAN ENOTNAM ENAVAIL EISNAM EREMOTEIO EDQUOT ENOMEDIUM \
EMEDIUMTYPE ECANCELED ENOKEY EKEYEXPIRED EKEYREVOKED EKEYREJECTED EOWNERDEAD ENOTRECOVERABLE \
ERFKILL EHWPOISON";

/// The C library's text for an errno 1..=40 and for a few others containers meet; else its
/// symbolic name (`EHOSTDOWN`); None only for a number Linux does not define, which
/// [`Error::render`] then prints as "errno N". Never "Unknown error".
pub fn errno_text(e: Errno) -> Option<&'static str> {
    let n = e.raw_os_error();
    match n {
        1..=40 => MESSAGES.split('\n').nth(n as usize - 1),
        61 => Some("No data available"),
        75 => Some("Value too large for defined data type"),
        95 => Some("Operation not supported"),
        110 => Some("Connection timed out"),
        111 => Some("Connection refused"),
        122 => Some("Disk quota exceeded"),
        // Kernel-internal, but some file systems and drivers let it out.
        524 => Some("Operation not supported (ENOTSUPP)"),
        42..=133 => NAMES.split([' ', '\n']).filter(|w| !w.is_empty()).nth(n as usize - 42).filter(|w| *w != "-"),
        _ => None,
    }
}

/// [`errno_text`] where a number cannot be printed: a number Linux does not define is said so.
#[allow(dead_code)] // (mote-image's)
pub fn strerror(e: Errno) -> &'static str {
    errno_text(e).unwrap_or("an errno Linux does not define")
}
