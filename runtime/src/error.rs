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
            match strerror(e) {
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

/// glibc's text for errno 1..=133, one per line (one string: no relocation table); the two
/// numbers Linux leaves unused (41, 58) are empty lines.
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
Too many levels of symbolic links\n\nNo message of desired type\nIdentifier removed\n\
Channel number out of range\nLevel 2 not synchronized\nLevel 3 halted\nLevel 3 reset\n\
Link number out of range\nProtocol driver not attached\nNo CSI structure available\nLevel 2 halted\n\
Invalid exchange\nInvalid request descriptor\nExchange full\nNo anode\nInvalid request code\n\
Invalid slot\n\nBad font file format\nDevice not a stream\nNo data available\nTimer expired\n\
Out of streams resources\nMachine is not on the network\nPackage not installed\nObject is remote\n\
Link has been severed\nAdvertise error\nSrmount error\nCommunication error on send\nProtocol error\n\
Multihop attempted\nRFS specific error\nBad message\nValue too large for defined data type\n\
Name not unique on network\nFile descriptor in bad state\nRemote address changed\n\
Can not access a needed shared library\nAccessing a corrupted shared library\n\
.lib section in a.out corrupted\nAttempting to link in too many shared libraries\n\
Cannot exec a shared library directly\nInvalid or incomplete multibyte or wide character\n\
Interrupted system call should be restarted\nStreams pipe error\nToo many users\n\
Socket operation on non-socket\nDestination address required\nMessage too long\n\
Protocol wrong type for socket\nProtocol not available\nProtocol not supported\n\
Socket type not supported\nOperation not supported\nProtocol family not supported\n\
Address family not supported by protocol\nAddress already in use\nCannot assign requested address\n\
Network is down\nNetwork is unreachable\nNetwork dropped connection on reset\n\
Software caused connection abort\nConnection reset by peer\nNo buffer space available\n\
Transport endpoint is already connected\nTransport endpoint is not connected\n\
Cannot send after transport endpoint shutdown\nToo many references: cannot splice\n\
Connection timed out\nConnection refused\nHost is down\nNo route to host\n\
Operation already in progress\nOperation now in progress\nStale file handle\n\
Structure needs cleaning\nNot a XENIX named type file\nNo XENIX semaphores available\n\
Is a named type file\nRemote I/O error\nDisk quota exceeded\nNo medium found\nWrong medium type\n\
Operation canceled\nRequired key not available\nKey has expired\nKey has been revoked\n\
Key was rejected by service\nOwner died\nState not recoverable\n\
Operation not possible due to RF-kill\nMemory page has hardware error";

/// The C library's text for an errno; the kernel-internal ones that reach user space (524
/// ENOTSUPP from some file systems and drivers) in words too; None for a number with no name,
/// which [`Error::render`] then prints as "errno N" (never "Unknown error").
pub fn strerror(e: Errno) -> Option<&'static str> {
    let n = e.raw_os_error();
    match n {
        1..=133 => MESSAGES.split('\n').nth(n as usize - 1).filter(|m| !m.is_empty()),
        524 => Some("Operation not supported (ENOTSUPP)"),
        _ => None,
    }
}
