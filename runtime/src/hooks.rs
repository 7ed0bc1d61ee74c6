//! OCI hooks: the six stages of config.json's `hooks`, each hook run with its path, args and
//! env only, the container's state JSON on stdin, and its `timeout` (the hook's process group is
//! killed past it). Where they run (the lifecycle's points and namespaces):
//!
//! - prestart, createRuntime: by create's parent, in the runtime's namespaces, once the child
//!   has made the namespaces and mounts and before pivot_root (linux/spawn.rs, HOOKS message);
//! - createContainer: by the container's init there, in its namespaces, before pivot_root;
//! - startContainer: by the init once started, in the container, right before exec;
//! - poststart: by start, once the process runs; poststop: by delete (and run, and a failed
//!   create), once the container is gone. Those two only warn when a hook fails.
//!
//! Output: crun's annotations run.oci.hooks.stdout / run.oci.hooks.stderr name files (appended
//! to); without them the hook's output is kept (its first bytes) for the error message, as runc
//! does, and never reaches mote's stdio (under an engine that is the container's log).

use core::ffi::CStr;

use mote_sys::io::{self, Buf};
use mote_sys::linux_raw_sys::general as g;
use mote_sys::raw::{self, CArray, Errno};
use mote_sys::rustix::event::{poll, PollFd, PollFlags};
use mote_sys::io::Fd;
use mote_sys::rustix::fd::{BorrowedFd, OwnedFd};
use mote_sys::rustix::fs::{self, Mode, OFlags, SeekFrom};
use mote_sys::rustix::pipe::{pipe_with, PipeFlags};
use mote_sys::rustix::{process, stdio};
use mote_sys::sig::{self, How, SigSet};

use crate::cli::Global;
use crate::error::{Ctx, Error, Result};
use crate::json::Val;
use crate::spec::{limits, Spec, P};

pub use crate::spec::hooks::state_json;
use crate::spec::hooks::{parse, Hook};

/// A config's hooks object and crun's output annotations.
#[derive(Clone, Copy)]
pub struct Hooks<'a> {
    pub hooks: Val<'a>,
    pub stdout: Option<&'a CStr>,
    pub stderr: Option<&'a CStr>,
}

/// Where hooks' stdout and stderr go: the annotation files, opened once (the in-container
/// stages get them from create's parent: the paths are the host's).
pub struct Out {
    pub out: Option<OwnedFd>,
    pub err: Option<OwnedFd>,
}

impl<'a> Hooks<'a> {
    /// The hooks of a parsed config, if it has any.
    pub fn of(spec: &Spec<'a>) -> Option<Hooks<'a>> {
        let ann = |k: &[u8]| spec.annotations.iter().find(|(n, _)| n.to_bytes() == k).map(|(_, v)| *v);
        spec.hooks.map(|h| Hooks { hooks: h, stdout: ann(b"run.oci.hooks.stdout"), stderr: ann(b"run.oci.hooks.stderr") })
    }
    /// Whether `stage` has at least one hook.
    pub fn has(&self, stage: &str) -> bool {
        self.stage(stage).is_some_and(|mut a| a.next().is_some())
    }
    fn stage(&self, stage: &str) -> Option<crate::json::Arr<'a>> {
        self.hooks.obj()?.find(|(k, _)| k.to_bytes() == stage.as_bytes()).and_then(|(_, v)| v.arr())
    }
    /// Opens the annotation files.
    pub fn open_out(&self) -> Result<Out> {
        let open = |p: Option<&CStr>| -> Result<Option<OwnedFd>> {
            p.map(|p| fs::open(p, OFlags::WRONLY | OFlags::CREATE | OFlags::APPEND | OFlags::CLOEXEC, Mode::from_raw_mode(0o600))
                .ctx(t!("open hooks output"), p.to_bytes())).transpose()
        };
        Ok(Out { out: open(self.stdout)?, err: open(self.stderr)? })
    }
    /// Runs the hooks of `stage` in order with `state` on stdin; the first failure is the error.
    pub fn run(&self, stage: &'static str, state: &[u8], out: &Out) -> Result<()> {
        let Some(arr) = self.stage(stage) else { return Ok(()) };
        for (i, h) in arr.enumerate() {
            run_one(h, stage, i, state, out)?;
        }
        Ok(())
    }
    /// poststart and poststop: a failure is a warning (to --log) and the next hooks still run.
    pub fn run_warn(&self, gl: &Global, stage: &'static str, state: core::result::Result<&[u8], mote_sys::io::Overflow>) {
        let Some(arr) = self.stage(stage) else { return };
        let state = match state {
            Ok(s) => s,
            Err(o) => return warn(gl, &Error::too_long(t!("hooks: the state JSON is"), o.0)),
        };
        let out = match self.open_out() {
            Ok(o) => o,
            Err(e) => return warn(gl, &e),
        };
        for (i, h) in arr.enumerate() {
            if let Err(e) = run_one(h, stage, i, state, &out) {
                warn(gl, &e);
            }
        }
    }
}

/// An error, as a warning (to --log when one is given).
pub fn warn(gl: &Global, e: &Error) {
    let mut b = Buf::<600>::new();
    e.render(&mut b);
    crate::log::warn(gl, b.lossy());
}

/// "hook createRuntime[0] /path" for messages.
fn name(stage: &str, i: usize, path: &CStr) -> Buf<{ crate::error::PATH_MAX_MSG }> {
    let mut b = Buf::new();
    b.s(stage).c(b'[').u(i as u64).s(b"] ").s(path.to_bytes());
    b
}

fn run_one(v: Val<'_>, stage: &'static str, i: usize, state: &[u8], out: &Out) -> Result<()> {
    let ph = P::ROOT.key("hooks");
    let mut h = Hook::empty();
    parse(v, &ph.key(stage).idx(i), &mut h)?;
    let n = name(stage, i, h.path);
    let nl = n.lossy();
    // The state on stdin from a memory file: no pipe to fill, the hook reads it at its pace.
    let input = fs::memfd_create(c"hook-state", fs::MemfdFlags::CLOEXEC).ctx(t!("hook state for"), nl)?;
    io::write_all(input.fd(), state).ctx(t!("hook state for"), nl)?;
    fs::seek(&input, SeekFrom::Start(0)).ctx(t!("hook state for"), nl)?;
    // What the hook says, when no annotation takes it, for the error message.
    let (r, w) = pipe_with(PipeFlags::CLOEXEC).ctx(t!("pipe for"), nl)?;
    mote_sys::rustix::io::ioctl_fionbio(&r, true).ctx(t!("pipe for"), nl)?;
    let old = sig::sigprocmask(How::Block, &SigSet::EMPTY.add(g::SIGCHLD)).ctx(t!("sigprocmask"), "SIGCHLD")?;
    let r = (|| {
        let sfd = sig::signalfd(&SigSet::EMPTY.add(g::SIGCHLD)).ctx(t!("signalfd"), "SIGCHLD")?;
        let pid = raw::fork().ctx(t!("fork"), nl)?;
        if pid == 0 {
            hook_child(&h, input.fd(), out.out.as_ref().map_or(w.fd(), |f| f.fd()), out.err.as_ref().map_or(w.fd(), |f| f.fd()));
        }
        drop(w);
        wait(pid, &h, &n, &sfd, &r)
    })();
    let _ = sig::sigprocmask(How::SetMask, &old);
    r
}

/// In the forked child: its own process group (killed whole on timeout), stdio, exec.
fn hook_child(h: &Hook<'_>, input: BorrowedFd<'_>, out: BorrowedFd<'_>, err: BorrowedFd<'_>) -> ! {
    let _ = process::setsid();
    let ok = stdio::dup2_stdin(input).and_then(|_| stdio::dup2_stdout(out)).and_then(|_| stdio::dup2_stderr(err));
    sig::reset_for_exec();
    if ok.is_err() {
        raw::exit(126);
    }
    // Nothing of mote's (nor descriptors passed for the container) reaches the hook.
    let _ = raw::cloexec_range(3, u32::MAX);
    // Room for each bound of spec/limits.rs and the NULL: a full array is a bug, said as 126.
    let mut argv = CArray::<'_, { limits::ARGS + 1 }>::new();
    let path = h.args.is_empty().then_some(h.path);
    let mut envp = CArray::<'_, { limits::ENV + 1 }>::new();
    if !path.iter().chain(h.args.iter()).all(|a| argv.push(a)) || !h.env.iter().all(|e| envp.push(e)) {
        raw::exit(126);
    }
    let e = raw::exec(h.path, &argv, &envp);
    let mut b = Buf::<512>::new();
    b.s(b"mote: ");
    Error::sys(t!("exec hook"), h.path.to_bytes(), e).render(&mut b);
    b.c(b'\n');
    io::err(b.lossy());
    raw::exit(127)
}

/// Waits for the hook (until its timeout), keeping the first bytes of its output.
fn wait(pid: u32, h: &Hook<'_>, n: &Buf<{ crate::error::PATH_MAX_MSG }>, sfd: &OwnedFd, r: &OwnedFd) -> Result<()> {
    let deadline = h.timeout.map(|t| sig::monotonic_ms().saturating_add(t.saturating_mul(1000)));
    let mut said = Buf::<160>::new();
    let mut open = true;
    loop {
        if let Some((_, status)) = sig::waitpid(pid as i32, sig::WNOHANG | g::__WALL).ctx(t!("wait for"), n.lossy())? {
            // One last read: what it said before it exited (a child it left may write on).
            if open {
                read_some(r, &mut said);
            }
            if status == 0 {
                return Ok(());
            }
            let mut e = Error::msg(t!("hook"), n.lossy(), t!(""));
            // From the raw status: a hook may exit with 128+N itself.
            let signo = status & 0x7f;
            e.path(|p| { p.s(if signo != 0 { &b": killed by signal "[..] } else { b": exited with " }).u(if signo != 0 { signo } else { sig::status_code(status) } as u64); });
            if !said.is_empty() {
                e.path(|p| { p.t(t!(": ")).s(trim(said.lossy())); });
            }
            return Err(e);
        }
        let left = match deadline {
            Some(d) => {
                let now = sig::monotonic_ms();
                if now >= d {
                    // The whole group: a shell hook's children too.
                    let _ = sig::kill(-(pid as i32), 9);
                    let _ = sig::kill(pid as i32, 9);
                    let _ = sig::waitpid(pid as i32, g::__WALL);
                    let mut e = Error::msg(t!("hook"), n.lossy(), t!(""));
                    e.path(|p| { p.t(t!(": ran past its timeout of ")).u(h.timeout.unwrap_or(0)).t(t!("s and was killed")); });
                    return Err(e);
                }
                Some(d - now)
            }
            None => None,
        };
        let ts = left.map(|ms| mote_sys::rustix::time::Timespec { tv_sec: (ms / 1000) as i64, tv_nsec: (ms % 1000 * 1_000_000) as i64 });
        let mut fds = [PollFd::new(sfd, PollFlags::IN), PollFd::new(r, if open { PollFlags::IN } else { PollFlags::empty() })];
        match poll(&mut fds, ts.as_ref()) {
            Ok(_) | Err(Errno::INTR) => {}
            Err(e) => return Err(Error::sys(t!("poll for"), n.lossy(), e)),
        }
        if fds[0].revents().contains(PollFlags::IN) {
            let _ = sig::read_signal(sfd.fd());
        }
        if open && !fds[1].revents().is_empty() {
            open = read_some(r, &mut said);
        }
    }
}

/// One read of what is there (non-blocking), keeping what fits; false at end of file. One per
/// poll round, never "until empty": a hook (or a child it left) writing faster than we read
/// would keep us from its exit and its timeout.
fn read_some(r: &OwnedFd, said: &mut Buf<160>) -> bool {
    let mut b = [0u8; 512];
    match mote_sys::rustix::io::read(r, &mut b) {
        Ok(0) => false,
        Ok(k) => {
            let room = 160 - said.len();
            said.s(&b[..k.min(room)]);
            true
        }
        Err(_) => true,
    }
}

fn trim(b: &[u8]) -> &[u8] {
    let mut b = b;
    while let [rest @ .., b'\n' | b' '] = b {
        b = rest;
    }
    b
}

/// The hooks kept in a container's state dir (config.json as it was at create), for start and
/// delete.
pub fn load(dir: &crate::state::Dir) -> Result<Option<Hooks<'static>>> {
    Ok(Hooks::of(&dir.config()?.0))
}
