//! One error type for the whole runtime: what failed, on which path or JSON field, and why.
//!
//! Printed once by `main` as `mote: <what> <path>: <detail>: <strerror>` (or as a JSON log line
//! with --log-format json), and mapped to an exit code there.

use core::num::NonZeroU32;
use core::sync::atomic::{AtomicU32, Ordering};

use mote_sys::io::{Buf, Overflow, Text};
pub use mote_sys::txt::Txt;
use mote_sys::mem::{Lent, Pool};
use mote_sys::raw::Errno;

/// Capacity of the path/field part of a message.
pub const PATH_MAX_MSG: usize = 320;
/// A longer path is shown as its first and last SHOWN/2 bytes around "...": the message keeps
/// room for what follows it (the detail, the errno), here and when a child's rendered error
/// travels back whole as the path of a new one.
const SHOWN: usize = 240;

/// An error: a handle to its text in [`SLOTS`] (a generation, and the slot's index + 1 in the
/// low four bits). Four bytes, so that a `Result<T>` comes back in
/// registers and a `?` moves no more than that (with the text inline, every `?` copied ~370
/// bytes: a fifth of the binary was that plumbing). Each live Error owns its slot; dropping it
/// frees the slot.
pub struct Error(NonZeroU32);

/// What an error says. `what` and `detail` are static text, packed (a Txt: sys/src/txt.rs);
/// `path` the path, JSON field or id concerned (may be empty), with whatever the code that made
/// the error added to it.
/// Every field's "none" is zero bits, so the slots are in .bss, not in the file (an Option<Said>
/// would mark None in a bool's spare values: 3 KB of .data).
struct Said {
    /// Which Error owns this slot: its handle; 0 for a free slot.
    id: u32,
    /// What was being done: "open", "mount", "parse config.json"...
    what: Option<Txt>,
    /// A reason in words, when there is no errno or it needs one.
    detail: Option<Txt>,
    errno: Option<Errno>,
    path: Buf<PATH_MAX_MSG>,
}

/// How many errors can be alive at once. A process holds one, or two around a cleanup (`and`):
/// past this many a live error's slot is taken, and that error then renders as lost (the handle's
/// generation no longer matches), never with another error's text. mote has no threads; a
/// forked child works on its own copy.
const N: usize = 8;
/// The texts.
static SLOTS: [Pool<Said>; N] = [const { Pool::new(Said { id: 0, what: None, detail: None, errno: None, path: Buf::new() }) }; N];
/// Errors made so far in this process: the generation part of the next handle.
static MADE: AtomicU32 = AtomicU32::new(0);

/// `b` without a UTF-8 sequence its end cut in two: a message cut at a bound stays UTF-8 (a
/// config's text is; engines read the message as a string).
fn whole_chars(b: &[u8]) -> &[u8] {
    for back in 1..=b.len().min(4) {
        let c = b[b.len() - back];
        if c & 0xc0 != 0x80 {
            let need = match c {
                0..=0x7f => 1,
                0xf0.. => 4,
                0xe0.. => 3,
                _ => 2,
            };
            return if need > back { &b[..b.len() - back] } else { b };
        }
    }
    b
}

pub type Result<T> = core::result::Result<T, Error>;

impl Error {
    /// An error with an errno.
    #[inline]
    pub fn sys(what: Txt, path: impl AsRef<[u8]>, e: Errno) -> Self {
        Error::sys_at(what, path.as_ref(), e)
    }
    /// An error with a reason in words.
    #[inline]
    pub fn msg(what: Txt, path: impl AsRef<[u8]>, detail: Txt) -> Self {
        Error::msg_at(what, path.as_ref(), detail)
    }
    /// [`Error::msg`] without a path: one call with two arguments fewer (~30 sites).
    #[cold]
    #[inline(never)]
    pub fn say(what: Txt, detail: Txt) -> Self {
        Error::msg_at(what, b"", detail)
    }
    /// [`Error::sys`], one copy for every type of path.
    #[cold]
    #[inline(never)]
    fn sys_at(what: Txt, path: &[u8], e: Errno) -> Self {
        let mut er = Error::msg_at(what, path, t!(""));
        er.set_errno(Some(e));
        er
    }
    /// [`Error::msg`], one copy for every type of path.
    #[cold]
    #[inline(never)]
    fn msg_at(what: Txt, path: &[u8], detail: Txt) -> Self {
        let gen = MADE.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
        // The first free slot (the first page of them is the one used), else the next in turn.
        let i = SLOTS.iter().position(|s| s.get().is_some_and(|t| t.id == 0)).unwrap_or(gen as usize % N);
        let id = NonZeroU32::new(gen << 4 | (i as u32 + 1)).unwrap_or(NonZeroU32::MIN);
        if let Some(mut t) = SLOTS[i].get() {
            *t = Said { id: id.get(), what: Some(what), detail: Some(detail), errno: None, path: Buf::new() };
            let p = &mut t.path;
            // A long path keeps its start and its end.
            if path.len() <= SHOWN {
                p.s(path);
            } else {
                let tail = &path[path.len() - SHOWN / 2..];
                let mid = tail.iter().take(3).take_while(|&&c| c & 0xc0 == 0x80).count();
                p.s(whole_chars(&path[..SHOWN / 2])).s(b"...").s(&tail[mid..]);
            }
        }
        Error(id)
    }
    /// Something mote built (a path, a file's content) is longer than its buffer of `cap` bytes.
    #[cold]
    #[inline(never)]
    pub fn too_long(what: Txt, cap: usize) -> Self {
        let mut e = Error::msg(what, "", t!(""));
        e.path(|p| {
            p.t(t!("longer than ")).u(cap as u64).t(t!(" bytes"));
        });
        e
    }
    /// This error, and a cleanup after it that failed too: both said, neither swallowed.
    #[cold]
    #[inline(never)]
    pub fn and(self, cleanup: Result<()>) -> Error {
        let Err(c) = cleanup else { return self };
        let mut e = Error::say(t!(""), t!(""));
        e.path(|p| {
            self.render(p);
            p.t(t!("; cleaning up: "));
            c.render(p);
        });
        e
    }

    /// This error's text, unless its slot went to a later error.
    fn text(&self) -> Option<Lent<Said>> {
        let slot = SLOTS.get((self.0.get() & 15) as usize - 1)?;
        slot.get().filter(|t| t.id == self.0.get())
    }
    /// The errno, if the error has one.
    #[inline(never)]
    pub fn errno(&self) -> Option<Errno> {
        self.text().and_then(|t| t.errno)
    }
    /// The reason in words ("" when there is none).
    #[inline(never)]
    pub fn detail(&self) -> Txt {
        self.text().and_then(|t| t.detail).unwrap_or(t!(""))
    }
    /// Says what was being done instead.
    #[inline(never)]
    pub fn set_what(&mut self, what: Txt) {
        if let Some(mut t) = self.text() {
            t.what = Some(what);
        }
    }
    /// Gives the error an errno (or takes it away).
    #[inline(never)]
    pub fn set_errno(&mut self, e: Option<Errno>) {
        if let Some(mut t) = self.text() {
            t.errno = e;
        }
    }
    /// Gives the error a reason in words.
    #[inline(never)]
    pub fn set_detail(&mut self, detail: Txt) {
        if let Some(mut t) = self.text() {
            t.detail = Some(detail);
        }
    }
    /// Adds to the path part of the message (`f` appends to it).
    #[inline]
    pub fn path(&mut self, f: impl FnOnce(&mut Buf<PATH_MAX_MSG>)) {
        if let Some(mut t) = self.text() {
            f(&mut t.path);
        }
    }

    /// Renders the message (without the "mote: " prefix); a path cut at the message's bound
    /// ends in "...".
    #[inline(never)]
    pub fn render(&self, b: &mut Text) {
        let Some(t) = self.text() else {
            b.t(t!("an error (its text was overwritten by later ones)"));
            return;
        };
        let what = t.what.unwrap_or(t!(""));
        b.t(what);
        if !t.path.is_empty() {
            if !what.is_empty() {
                b.c(b' ');
            }
            b.s(if t.path.overflowed() { whole_chars(t.path.lossy()) } else { t.path.lossy() });
            if t.path.overflowed() {
                b.s(b"...");
            }
        }
        if let Some(d) = t.detail.filter(|d| !d.is_empty()) {
            b.s(b": ").t(d);
        }
        if let Some(e) = t.errno {
            b.s(b": ");
            if !errno_text(e, b) {
                b.s(b"errno ").i(e.raw_os_error() as i64);
            }
        }
    }
}

impl Drop for Error {
    /// Frees the slot (unless a later error already took it).
    #[inline(never)]
    fn drop(&mut self) {
        if let Some(mut t) = self.text() {
            t.id = 0;
        }
    }
}

/// Shorthand: map an Errno result into an [`Error`] naming `what` and `path`.
pub trait Ctx<T> {
    fn ctx(self, what: Txt, path: impl AsRef<[u8]>) -> Result<T>;
}

impl<T> Ctx<T> for core::result::Result<T, Errno> {
    #[inline]
    fn ctx(self, what: Txt, path: impl AsRef<[u8]>) -> Result<T> {
        match self {
            Ok(v) => Ok(v),
            Err(e) => Err(Error::sys_at(what, path.as_ref(), e)),
        }
    }
}

/// Shorthand: a [`Buf`] that overflowed becomes an [`Error`] saying what was too long
/// (`what` ends in a colon: "state dir path:").
pub trait Fits<T> {
    fn fits(self, what: Txt) -> Result<T>;
}

impl<T> Fits<T> for core::result::Result<T, Overflow> {
    #[inline]
    fn fits(self, what: Txt) -> Result<T> {
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
        self.fits(t!("path:"))
    }
}

/// glibc's text for errno 1..=40, one per line (one string: no relocation table).
const MESSAGES: Txt = t!("Operation not permitted\nNo such file or directory\nNo such process\n\
Interrupted system call\nInput/output error\nNo such device or address\nArgument list too long\n\
Exec format error\nBad file descriptor\nNo child processes\nResource temporarily unavailable\n\
Cannot allocate memory\nPermission denied\nBad address\nBlock device required\n\
Device or resource busy\nFile exists\nInvalid cross-device link\nNo such device\nNot a directory\n\
Is a directory\nInvalid argument\nToo many open files in system\nToo many open files\n\
Inappropriate ioctl for device\nText file busy\nFile too large\nNo space left on device\n\
Illegal seek\nRead-only file system\nToo many links\nBroken pipe\n\
Numerical argument out of domain\nNumerical result out of range\nResource deadlock avoided\n\
File name too long\nNo locks available\nFunction not implemented\nDirectory not empty\n\
Too many levels of symbolic links");

/// The symbolic names of errno 42..=133 (41 and 58 are unused: "-"), for the rarer ones that
/// have no text above: a name is smaller than glibc's text and says as much to a reader.
const NAMES: Txt = t!("ENOMSG EIDRM ECHRNG EL2NSYNC EL3HLT EL3RST ELNRNG EUNATCH ENOCSI EL2HLT EBADE EBADR EXFULL \
ENOANO EBADRQC EBADSLT - EBFONT ENOSTR ENODATA ETIME ENOSR ENONET ENOPKG EREMOTE ENOLINK EADV \
ESRMNT ECOMM EPROTO EMULTIHOP EDOTDOT EBADMSG EOVERFLOW ENOTUNIQ EBADFD EREMCHG ELIBACC \
ELIBBAD ELIBSCN ELIBMAX ELIBEXEC EILSEQ ERESTART ESTRPIPE EUSERS ENOTSOCK EDESTADDRREQ \
EMSGSIZE EPROTOTYPE ENOPROTOOPT EPROTONOSUPPORT ESOCKTNOSUPPORT EOPNOTSUPP EPFNOSUPPORT \
EAFNOSUPPORT EADDRINUSE EADDRNOTAVAIL ENETDOWN ENETUNREACH ENETRESET ECONNABORTED ECONNRESET \
ENOBUFS EISCONN ENOTCONN ESHUTDOWN ETOOMANYREFS ETIMEDOUT ECONNREFUSED EHOSTDOWN EHOSTUNREACH \
EALREADY EINPROGRESS ESTALE EUCLEAN ENOTNAM ENAVAIL EISNAM EREMOTEIO EDQUOT ENOMEDIUM \
EMEDIUMTYPE ECANCELED ENOKEY EKEYEXPIRED EKEYREVOKED EKEYREJECTED EOWNERDEAD ENOTRECOVERABLE \
ERFKILL EHWPOISON");

/// Appends the C library's text for an errno 1..=40 and for a few others containers meet; else
/// its symbolic name (`EHOSTDOWN`); false (nothing appended) only for a number Linux does not
/// define, which [`Error::render`] then prints as "errno N". Never "Unknown error". The lists
/// are packed text: expanded whole, then split (a dictionary word may hold a separator).
#[inline(never)]
fn errno_text(e: Errno, b: &mut Text) -> bool {
    let n = e.raw_os_error();
    let (list, sep, i) = match n {
        1..=40 => (MESSAGES, b'\n', n - 1),
        61 => (t!("No data available"), 0, 0),
        75 => (t!("Value too large for defined data type"), 0, 0),
        95 => (t!("Operation not supported"), 0, 0),
        110 => (t!("Connection timed out"), 0, 0),
        111 => (t!("Connection refused"), 0, 0),
        122 => (t!("Disk quota exceeded"), 0, 0),
        // Kernel-internal, but some file systems and drivers let it out.
        524 => (t!("Operation not supported (ENOTSUPP)"), 0, 0),
        42..=133 => (NAMES, b' ', n - 42),
        _ => return false,
    };
    let mut all = Buf::<1024>::new();
    all.t(list);
    match all.lossy().split(|&c| c == sep).nth(i as usize).filter(|w| *w != b"-") {
        Some(w) => {
            b.s(w);
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(e: &Error) -> std::string::String {
        let mut b = Buf::<1024>::new();
        e.render(&mut b);
        std::string::String::from_utf8_lossy(b.lossy()).into_owned()
    }

    #[test]
    fn messages() {
        assert_eq!(text(&Error::sys(t!("open"), "/a/b", Errno::NOENT)), "open /a/b: No such file or directory");
        assert_eq!(text(&Error::msg(t!("config.json:"), "process.args", t!("must not be empty"))), "config.json: process.args: must not be empty");
        assert_eq!(text(&Error::msg(t!(""), "x", t!(""))), "x");
        assert_eq!(text(&Error::sys(t!("kill"), "", Errno::from_raw_os_error(4000))), "kill: errno 4000");
        for (n, t) in [(42, "ENOMSG"), (57, "EBADSLT"), (59, "EBFONT"), (112, "EHOSTDOWN"), (133, "EHWPOISON"), (2, "No such file or directory"),
                       (1, "Operation not permitted"), (40, "Too many levels of symbolic links"), (41, "errno 41"), (58, "errno 58"),
                       (61, "No data available"), (524, "Operation not supported (ENOTSUPP)"), (134, "errno 134")] {
            assert_eq!(text(&Error::sys(t!("x"), "", Errno::from_raw_os_error(n))), std::format!("x: {t}"));
        }
        assert_eq!(text(&Error::too_long(t!("state dir path:"), 64)), "state dir path: longer than 64 bytes");
        let mut e = Error::sys(t!("open"), "/x", Errno::ACCESS);
        e.path(|p| {
            p.t(t!(" (in root)"));
        });
        e.set_what(t!("opening"));
        e.set_detail(t!("refused"));
        assert_eq!(text(&e), "opening /x (in root): refused: Permission denied");
        e.set_errno(None);
        assert_eq!(e.errno(), None);
        let long = [b'a'; 400];
        let t = text(&Error::msg(t!("open"), &long[..], t!("")));
        assert_eq!(t.len(), "open ".len() + SHOWN + 3);
        assert!(t.contains("aaa...aaa"));
        let both = Error::msg(t!("mount"), "/m", t!("failed")).and(Err(Error::sys(t!("rmdir"), "/c", Errno::BUSY)));
        assert_eq!(text(&both), "mount /m: failed; cleaning up: rmdir /c: Device or resource busy");
        assert_eq!(text(&Error::msg(t!("a"), "b", t!("c")).and(Ok(()))), "a b: c");
    }

    /// Past N live errors, slots are taken from live ones: such an error says it was lost,
    /// never another error's text; dropped errors free their slots.
    #[test]
    fn slots() {
        let mut live: std::vec::Vec<(Error, std::string::String)> = std::vec::Vec::new();
        for i in 0..3 * N {
            let p = std::format!("/path/{i}");
            live.push((Error::msg(t!("open"), p.as_bytes(), t!("")), std::format!("open {p}")));
        }
        for (e, want) in &live {
            let t = text(e);
            assert!(t == *want || t.starts_with("an error (its text was overwritten"), "{t} for {want}");
        }
        live.clear();
        for i in 0..10 * N {
            let e = Error::sys(t!("stat"), std::format!("/f{i}").as_bytes(), Errno::NOENT);
            assert_eq!(text(&e), std::format!("stat /f{i}: No such file or directory"));
        }
    }
}
