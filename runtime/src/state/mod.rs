//! A container's state on disk: `<root>/<id>/` holding `state.json` and, between create and
//! start, the `exec.fifo` the container's process waits on. The directory is locked (flock) by
//! every command that acts on the container, so concurrent commands on one id are serialised.
//!
//! The status is never stored: it is derived from the process (alive? same start time?) and
//! the fifo, so a container whose process died is "stopped" without anyone having to notice.

use core::ffi::CStr;

use mote_sys::io::{self, Buf, Fd, Text};
use mote_sys::raw::Errno;
use mote_sys::rustix::fd::{AsFd, OwnedFd};
use mote_sys::rustix::fs::{self, AtFlags, FileType, FlockOperation, Mode, OFlags, CWD};
use mote_sys::rustix::process::{self, Pid, Signal};

use crate::error::{Ctx, Error, Fits, Result, Txt};
use crate::json::{self, keys};
use crate::spec::limits;

pub const STATE_FILE: &CStr = c"state.json";
pub const FIFO: &CStr = c"exec.fifo";
/// The config.json the container was created from, as it was then (exec, hooks at start and
/// delete read it: the bundle may have changed or be gone by then, as runc keeps its own copy).
pub const CONFIG: &CStr = c"config.json";

/// The state.json buffers (64 KiB each) live in .bss, lent to one holder at a time: on the stack
/// every page of them would be touched on entry to each verb, used or not.
static READ_BUF: mote_sys::mem::Pool<[u8; limits::STATE]> = mote_sys::mem::Pool::new([0; limits::STATE]);
static JSON_BUF: mote_sys::mem::Pool<Buf<{ limits::STATE }>> = mote_sys::mem::Pool::new(Buf::new());

/// The path of the state dir a process holds (one at a time, as the buffers above): a Dir is
/// passed and returned by value through create, run and most verbs, and a 4 KiB path inside it
/// made each of their frames a page larger (a stack probe, 4 KiB copies).
static PATH_BUF: mote_sys::mem::Pool<Buf<{ limits::PATH }>> = mote_sys::mem::Pool::new(Buf::new());

/// Gives back the pages the state buffers hold (a foreground run, once its wait looks long):
/// the next holder clears or overwrites what it finds, as it always does.
pub fn discard_buffers() {
    READ_BUF.discard();
    JSON_BUF.discard();
}

/// The buffer a state.json is read into, until dropped.
pub fn read_buf() -> Result<mote_sys::mem::Lent<[u8; limits::STATE]>> {
    READ_BUF.get().ok_or_else(|| Error::say(t!("state.json:"), t!("read buffer already in use (a bug)")))
}

/// An empty buffer for a state JSON to be written, until dropped.
pub fn json_buf() -> Result<mote_sys::mem::Lent<Buf<{ limits::STATE }>>> {
    let mut b = JSON_BUF.get().ok_or_else(|| Error::say(t!("state JSON:"), t!("buffer already in use (a bug)")))?;
    b.clear();
    Ok(b)
}

/// What most verbs begin with: container `id`'s directory opened and locked, and its state.json
/// read into the read buffer, which `buf` then holds (one copy of the three steps and their
/// error paths, not one per verb).
#[inline(never)]
pub fn load<'b>(root: &CStr, id: &[u8], buf: &'b mut Option<mote_sys::mem::Lent<[u8; limits::STATE]>>) -> Result<(Dir, State<'b>)> {
    let dir = Dir::open(root, id)?;
    let b = buf.insert(read_buf()?);
    let st = dir.read(&mut b[..])?;
    Ok((dir, st))
}

/// Container ids: runc's rule (letters, digits, `_ + - .`), not `.`/`..`, bounded length.
pub fn validate_id(id: &[u8]) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= limits::ID
        && id != b"."
        && id != b".."
        && id.iter().all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'+' | b'-' | b'.'));
    if ok { Ok(()) } else { Err(Error::msg(t!("invalid container id"), id, t!("use letters, digits and _+-. only"))) }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Status {
    /// state.json written, process not yet ready (or create died halfway).
    Creating,
    Created,
    Running,
    Paused,
    Stopped,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }
    /// The error of a verb this status refuses: "<what> <id>: it is <status><tail>".
    #[cold]
    #[inline(never)]
    pub fn refused(self, what: Txt, id: &[u8], tail: &'static str) -> Error {
        let mut e = Error::msg(what, id, t!(""));
        e.path(|p| { p.t(t!(": it is ")).s(self.name()).s(tail); });
        e
    }
    /// `start` only runs a created container.
    pub fn can_start(self) -> bool {
        self == Status::Created
    }
    /// Signals go to a process that exists.
    pub fn can_kill(self) -> bool {
        matches!(self, Status::Created | Status::Running | Status::Paused)
    }
    /// Without --force only a container that is not running may be deleted.
    pub fn can_delete(self) -> bool {
        matches!(self, Status::Created | Status::Stopped)
    }
}

/// The locked state directory of one container.
pub struct Dir {
    pub fd: OwnedFd,
    /// `<root>/<id>`, checked to fit when the Dir was made.
    pub path: mote_sys::mem::Lent<Buf<{ limits::PATH }>>,
}

/// `<root>/<id>` in the path buffer, or an error when it does not fit.
fn join(root: &CStr, id: &[u8]) -> Result<mote_sys::mem::Lent<Buf<{ limits::PATH }>>> {
    let mut p = PATH_BUF.get().ok_or_else(|| Error::say(t!("state dir path:"), t!("buffer already in use (a bug)")))?;
    p.clear();
    p.s(root.to_bytes()).c(b'/').s(id).cstr().fits(t!("state dir path (--root and id):"))?;
    Ok(p)
}

impl Dir {
    /// Creates `<root>/<id>` holding `state` (its first state.json), locked from the moment
    /// it exists: it is made and locked under a staging name, then renamed into place (never
    /// over an existing one). No other verb ever sees it unlocked or without its state.json.
    pub fn create(root: &CStr, id: &[u8], state: &[u8]) -> Result<Dir> {
        let mut path = join(root, id)?;
        let mut tmp = Buf::<{ limits::PATH }>::new();
        tmp.s(root.to_bytes()).s(b"/.new-").u(process::getpid().as_raw_nonzero().get() as u64); // one create per process
        let t = tmp.cstr().fits(t!("state dir path:"))?;
        // The root is made (and checked) only when the staging dir cannot be made in it: an
        // existing root costs no mkdir and stat per create.
        let mut made = fs::mkdir(t, Mode::from_raw_mode(0o711));
        if made == Err(Errno::NOENT) {
            mkdir_all(root.to_bytes()).map_err(|e| Error::sys(t!("create state root"), root.to_bytes(), e))?;
            made = fs::mkdir(t, Mode::from_raw_mode(0o711));
        }
        // A staging dir of our pid exists only if a create of an earlier process with this pid
        // was killed between its mkdir and its rename: nobody else's, cleared and made again.
        if made == Err(Errno::EXIST) {
            clear_staging(t);
            fs::mkdir(t, Mode::from_raw_mode(0o711)).ctx(t!("create state dir"), t.to_bytes())?;
        }
        let staged = fs::open(t, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty())
            .ctx(t!("open state dir"), t.to_bytes())
            .and_then(|fd| {
                fs::flock(&fd, FlockOperation::LockExclusive).ctx(t!("lock state dir"), t.to_bytes())?;
                // Straight into state.json: nobody sees the staging dir before its rename, so
                // the tmp file and rename of `write` would only cost an inode (issue 17).
                fs::openat(&fd, STATE_FILE, OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC, Mode::from_raw_mode(0o600))
                    .and_then(|f| io::write_all(f.fd(), state))
                    .ctx(t!("write state"), t.to_bytes())?;
                match fs::renameat_with(CWD, t, CWD, path.cstr().fits(t!("state dir path:"))?, fs::RenameFlags::NOREPLACE) {
                    Ok(()) => Ok(fd),
                    Err(Errno::EXIST | Errno::NOTEMPTY) => Err(Error::msg(t!("container"), id, t!("already exists"))),
                    Err(e) => Err(Error::sys(t!("create state dir"), path.lossy(), e)),
                }
            });
        match staged {
            Ok(fd) => Ok(Dir { fd, path }),
            Err(e) => {
                let _ = fs::unlinkat(CWD, t, AtFlags::empty()); // never a file: harmless
                clear_staging(t);
                Err(e)
            }
        }
    }

    /// Opens and locks an existing container's directory.
    pub fn open(root: &CStr, id: &[u8]) -> Result<Dir> {
        let d = Self::lock(join(root, id)?);
        match d {
            Err(e) if matches!(e.errno(), Some(Errno::NOENT)) => Err(Error::msg(t!("container"), id, t!("does not exist"))),
            d => d,
        }
    }

    fn lock(mut path: mote_sys::mem::Lent<Buf<{ limits::PATH }>>) -> Result<Dir> {
        // Never through a symlink: deleting would remove files wherever it points.
        let fd = match fs::open(path.cstr().fits(t!("state dir path:"))?, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty()) {
            Err(Errno::LOOP | Errno::NOTDIR) => return Err(Error::msg(t!("state dir"), path.lossy(), t!("is not a directory (a symlink or a file)"))),
            r => r.ctx(t!("open state dir"), path.lossy())?,
        };
        fs::flock(&fd, FlockOperation::LockExclusive).ctx(t!("lock state dir"), path.lossy())?;
        Ok(Dir { fd, path })
    }

    /// Writes state.json atomically (a temporary file renamed over it).
    pub fn write(&self, content: &[u8]) -> Result<()> {
        let tmp = c"state.json.tmp";
        // Open, write, rename: whichever fails, the message is the same.
        fs::openat(&self.fd, tmp, OFlags::WRONLY | OFlags::CREATE | OFlags::TRUNC | OFlags::CLOEXEC, Mode::from_raw_mode(0o600))
            .and_then(|f| io::write_all(f.fd(), content))
            .and_then(|()| fs::renameat(&self.fd, tmp, &self.fd, STATE_FILE))
            .ctx(t!("write state"), self.path.lossy())
    }

    /// Reads state.json into `buf`; returns the parsed state.
    pub fn read<'b>(&self, buf: &'b mut [u8]) -> Result<State<'b>> {
        let path = self.path.lossy();
        let n = fs::openat(&self.fd, STATE_FILE, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
            .and_then(|f| read_small(&f, buf))
            .ctx(t!("read state"), path)?;
        State::parse(&mut buf[..n]).ok_or_else(|| Error::msg(t!("read state"), path, t!("corrupt state.json")))
    }

    /// Copies the config file `src` into the directory as [`CONFIG`].
    pub fn copy_config(&self, src: &CStr) -> Result<()> {
        let from = fs::open(src, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()).ctx(t!("open"), src.to_bytes())?;
        let to = fs::openat(&self.fd, CONFIG, OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC, Mode::from_raw_mode(0o600))
            .ctx(t!("copy config.json to"), self.path.lossy())?;
        loop {
            match fs::sendfile(&to, &from, None, 1 << 20) {
                // (a regular file: short only at its end; config.json is at most 1 MiB anyway)
                Ok(n) if n < 1 << 20 => return Ok(()),
                Ok(_) | Err(Errno::INTR) => {}
                Err(e) => return Err(Error::sys(t!("copy config.json to"), self.path.lossy(), e)),
            }
        }
    }

    /// What an unparsable state.json still says, read from its bytes without a JSON parser:
    /// (pid, start time, cgroup path, cgroup identity). For delete --force, so that a corrupt
    /// file does not leave the container's process and cgroup behind unseen. None when the
    /// cgroup cannot be read back exactly (missing, or with escapes).
    pub fn salvage<'b>(&self, buf: &'b mut [u8]) -> Option<(u32, u64, &'b [u8], u64)> {
        let f = fs::openat(&self.fd, STATE_FILE, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()).ok()?;
        let n = read_all(&f, buf).ok()?;
        let b: &'b [u8] = &buf[..n];
        let after = |key: &[u8]| b.windows(key.len()).position(|w| w == key).map(|i| &b[i + key.len()..]);
        let num = |key: &[u8]| {
            let v = after(key)?;
            mote_sys::num::u64(&v[..v.iter().take_while(|c| c.is_ascii_digit()).count()])
        };
        let cg = after(br#""cgroup":""#)?;
        let cg = &cg[..cg.iter().position(|&c| c == b'"')?];
        if cg.contains(&b'\\') || cg.first() != Some(&b'/') || cg.split(|&c| c == b'/').any(|c| c == b"..") {
            return None;
        }
        Some((num(br#""pid":"#).unwrap_or(0) as u32, num(br#""starttime":"#).unwrap_or(0), cg, num(br#""cgroupIno":"#).unwrap_or(0)))
    }

    /// Whether state.json exists (it may still be unreadable).
    pub fn has_state(&self) -> bool {
        fs::statat(&self.fd, STATE_FILE, AtFlags::SYMLINK_NOFOLLOW).is_ok()
    }

    /// The config kept here (CONFIG), read into the arena and parsed, with the arena's unused
    /// rest (exec reads a --process file there). For exec, and the hooks of start and delete.
    pub fn config(&self) -> Result<(&'static mut crate::spec::Spec<'static>, &'static mut [u8])> {
        let arena = mote_sys::mem::take_arena().ok_or_else(|| Error::say(t!("config"), t!("read twice")))?;
        let mut path = Buf::<{ limits::PATH }>::new();
        path.s(self.path.lossy()).c(b'/').s(CONFIG.to_bytes());
        let path = path.cstr().fits(t!("config path:"))?;
        let (doc, root, rest) = crate::cli::create::read_json(path, path.to_bytes(), arena)?;
        Ok((crate::spec::parse(doc, root)?, rest))
    }

    /// Whether the exec fifo still exists (the process waits for start).
    pub fn has_fifo(&self) -> bool {
        fs::statat(&self.fd, FIFO, AtFlags::SYMLINK_NOFOLLOW).is_ok()
    }

    /// Removes the directory and its files; the lock goes with the last descriptor.
    /// The files always there go first; the fifo (gone once started) and a tmp file (left only
    /// by a crash) only when the directory is not empty then: two unlinks fewer per delete.
    pub fn remove(mut self) -> Result<()> {
        let p = self.path.cstr().fits(t!("state dir path:"))?;
        for f in [STATE_FILE, CONFIG] {
            let _ = fs::unlinkat(&self.fd, f, AtFlags::empty());
        }
        let mut r = fs::rmdir(p);
        if matches!(r, Err(Errno::NOTEMPTY | Errno::EXIST)) {
            for f in [FIFO, c"state.json.tmp"] {
                let _ = fs::unlinkat(&self.fd, f, AtFlags::empty());
            }
            r = fs::rmdir(p);
        }
        r.ctx(t!("remove state dir"), p.to_bytes())
    }
}

/// Removes the staging dir `t` of [`Dir::create`] and what it may hold (its state.json, a
/// tmp file), errors ignored: one copy for a stale one and for a create that failed.
#[inline(never)]
fn clear_staging(t: &CStr) {
    if let Ok(fd) = fs::open(t, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty()) {
        for f in [STATE_FILE, c"state.json.tmp"] {
            let _ = fs::unlinkat(&fd, f, AtFlags::empty());
        }
    }
    let _ = fs::rmdir(t);
}

/// Creates directory `path` and its missing parents, 0700 whatever the umask (the state of other
/// users' containers is no one else's business: runc's root is 0700 too). Existing ones are left
/// as they are.
#[inline(never)] // (rarely called: its two 4 KiB buffers stay out of create's frame)
fn mkdir_all(path: &[u8]) -> core::result::Result<(), Errno> {
    let mut p = Buf::<{ limits::PATH }>::new();
    p.s(path);
    let p = p.cstr()?;
    // The directory itself first: its parents only where it has none.
    let ends = path.iter().enumerate().skip(1).filter(|&(_, &c)| c == b'/').map(|(i, _)| i).chain([path.len()]);
    let walk = match fs::mkdir(p, Mode::from_raw_mode(0o700)) {
        Ok(()) => {
            fs::chmod(p, Mode::from_raw_mode(0o700))?;
            false
        }
        Err(Errno::NOENT) => true,
        Err(Errno::EXIST) => false,
        Err(e) => return Err(e),
    };
    for end in ends.filter(|_| walk) {
        let mut d = Buf::<{ limits::PATH }>::new();
        d.s(&path[..end]);
        let d = d.cstr()?;
        match fs::mkdir(d, Mode::from_raw_mode(0o700)) {
            // mkdir applies the umask: set the mode exactly on what we made.
            Ok(()) => fs::chmod(d, Mode::from_raw_mode(0o700))?,
            Err(Errno::EXIST) => {}
            Err(e) => return Err(e),
        }
    }
    match fs::stat(p) {
        Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::Directory => Ok(()),
        Ok(_) => Err(Errno::NOTDIR),
        Err(e) => Err(e),
    }
}

/// Reads a whole file into `buf`; a file that does not fit is an error (EFBIG).
pub fn read_all<F: AsFd>(f: &F, buf: &mut [u8]) -> core::result::Result<usize, Errno> {
    read_to_end(f, buf, false)
}

/// [`read_all`] of a small regular, procfs, sysfs or cgroupfs file, one read where one gives it
/// whole: a regular file reads short only at its end, and the kernel's seq files fill the
/// buffer up to a page, so a read that left room and returned under half a page is the end.
/// Never for a pipe, a socket or a file a writer may be appending to.
pub fn read_small<F: AsFd>(f: &F, buf: &mut [u8]) -> core::result::Result<usize, Errno> {
    read_to_end(f, buf, true)
}

fn read_to_end<F: AsFd>(f: &F, buf: &mut [u8], small: bool) -> core::result::Result<usize, Errno> {
    let mut n = 0;
    loop {
        if n == buf.len() {
            return Err(Errno::FBIG);
        }
        match mote_sys::rustix::io::read(f, &mut buf[n..]) {
            Ok(0) => return Ok(n),
            Ok(k) if small && k < 2048 && n + k < buf.len() => return Ok(n + k),
            Ok(k) => n += k,
            Err(Errno::INTR) => {}
            Err(e) => return Err(e),
        }
    }
}

/// What state.json holds (strings borrowed from the read buffer).
pub struct State<'a> {
    pub id: &'a [u8],
    pub pid: u32,
    /// Start time of the process (field 22 of /proc/PID/stat): guards against pid reuse.
    pub start_time: u64,
    pub bundle: &'a [u8],
    pub rootfs: &'a [u8],
    pub created: &'a [u8],
    pub cgroup: &'a [u8],
    /// The cgroup's identity recorded at create (0 in a state.json from before it was).
    pub cgroup_ino: u64,
    /// The annotations object, verbatim JSON, for `state`.
    pub annotations: json::Val<'a>,
    pub has_annotations: bool,
    /// The config has hooks (start and delete read them from the config kept here).
    pub has_hooks: bool,
}

impl<'a> State<'a> {
    fn parse(buf: &'a mut [u8]) -> Option<State<'a>> {
        let root = json::prepare(buf).ok()?;
        let doc: &'a [u8] = buf;
        let v = json::Val::root(doc, root);
        let mut s = State {
            id: b"",
            pid: 0,
            start_time: 0,
            bundle: b"",
            rootfs: b"",
            created: b"",
            cgroup: b"",
            cgroup_ino: 0,
            annotations: v,
            has_annotations: false,
            has_hooks: false,
        };
        for (k, v) in v.obj()? {
            keys!(k.to_bytes(), {
                "id" => s.id = v.bytes()?,
                "pid" => s.pid = v.u64()? as u32,
                "starttime" => s.start_time = v.u64()?,
                "bundle" => s.bundle = v.bytes()?,
                "rootfs" => s.rootfs = v.bytes()?,
                "created" => s.created = v.bytes()?,
                "cgroup" => s.cgroup = v.bytes()?,
                "hooks" => s.has_hooks = v.bool()?,
                "cgroupIno" => s.cgroup_ino = v.u64()?,
                "annotations" => {
                    s.annotations = v;
                    s.has_annotations = true;
                },
                _ => {}
            });
        }
        Some(s)
    }

    /// The process, if it is still the one the container started.
    pub fn alive(&self) -> bool {
        self.pid != 0 && matches!(proc_start_time(self.pid), Some((t, false)) if t == self.start_time)
    }

    /// The container's status, derived from its process and its fifo.
    pub fn status(&self, dir: &Dir) -> Status {
        if self.pid == 0 {
            Status::Creating
        } else if !self.alive() {
            Status::Stopped
        } else if crate::cgroup::is_paused(self.cgroup) {
            Status::Paused
        } else if dir.has_fifo() {
            Status::Created
        } else {
            Status::Running
        }
    }

    /// Sends `sig` to the process, if it is still ours.
    pub fn signal(&self, sig: i32) -> core::result::Result<(), Errno> {
        if !self.alive() {
            return Err(Errno::SRCH);
        }
        let pid = Pid::from_raw(self.pid as i32).ok_or(Errno::SRCH)?;
        match Signal::from_named_raw(sig) {
            Some(s) => process::kill_process(pid, s),
            None => mote_sys::sig::kill(self.pid as i32, sig as u32),
        }
    }
}

/// (start time, is a zombie) of process `pid`, from /proc/PID/stat.
pub fn proc_start_time(pid: u32) -> Option<(u64, bool)> {
    let mut p = Buf::<64>::new();
    p.s(b"/proc/").u(pid as u64).s(b"/stat");
    let f = fs::openat(CWD, p.cstr().ok()?, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()).ok()?;
    let mut buf = [0u8; 1024];
    let n = read_small(&f, &mut buf).ok()?;
    let b = &buf[..n];
    // The command name may contain spaces and parens: fields start after the last ')'.
    let close = b.iter().rposition(|&c| c == b')')?;
    let mut fields = b[close + 2..].split(|&c| c == b' ');
    let state = fields.next()?;
    // after the state: ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime
    // stime cutime cstime priority nice num_threads itrealvalue starttime
    let start = fields.nth(18)?;
    Some((mote_sys::num::u64(start)?, state == b"Z" || state == b"X"))
}

pub use crate::spec::hooks::annotations;

/// Appends the OCI state JSON of a container to `b`.
pub fn oci_json(b: &mut Text, s: &State<'_>, status: Status) {
    b.s(br#"{"ociVersion":"#).json(crate::OCI_VERSION).s(br#","id":"#).json(s.id).s(br#","status":"#).json(status.name());
    b.s(br#","pid":"#).u(if status == Status::Stopped { 0 } else { s.pid as u64 });
    b.s(br#","bundle":"#).json(s.bundle).s(br#","rootfs":"#).json(s.rootfs).s(br#","created":"#).json(s.created);
    b.s(br#","owner":"","annotations":{"#);
    if s.has_annotations {
        if let Some(o) = s.annotations.obj() {
            for (i, (k, v)) in o.enumerate() {
                if i > 0 {
                    b.c(b',');
                }
                b.json(k.to_bytes()).c(b':').json(v.bytes().unwrap_or(b""));
            }
        }
    }
    b.s(b"}}");
}
