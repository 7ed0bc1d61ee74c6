//! Creating the container's process and bringing it to "ready".
//!
//! Fast path: clone3 with every new namespace at once (and a pidfd). Where clone3 is missing or
//! refuses namespace flags (qemu-user: ENOSYS/EINVAL), fork + unshare, and a second fork when a
//! new PID namespace only applies to children. Parent and child talk through a SEQPACKET socket
//! pair in small messages ([`Msg`]: a tag and a value, 8 bytes; an error's rendered text after
//! them): the parent places the child in its cgroup and writes its id maps; the child reports
//! ready, or one error (step, errno, path) and exits.

use core::ffi::CStr;

use mote_sys::io::{Buf, Fd};
use mote_sys::linux_raw_sys::general as g;
use mote_sys::raw::{self, Errno};
use mote_sys::rustix::fd::{BorrowedFd, OwnedFd};
use mote_sys::rustix::fs::{self, Mode, OFlags};
use mote_sys::rustix::net::{self, AddressFamily, RecvFlags, SendFlags, SocketFlags, SocketType};

use super::{process, rootfs};
use crate::error::{Ctx, Error, Fits, Result, Txt};
use crate::hooks::{self, Hooks, Out};
use crate::spec::{limits, IdMap, Spec};

/// Everything the child needs, prepared by the parent before spawning.
pub struct Setup<'a> {
    pub spec: &'a Spec<'a>,
    /// Absolute path of the rootfs on the host.
    pub rootfs: &'a CStr,
    /// The exec fifo the process waits on until `start`, opened by the parent (in a user
    /// namespace the child could not open it: the state dir is root's).
    pub fifo: BorrowedFd<'a>,
    /// The engine's console socket, connected by the parent for the same reason (or the
    /// socket pair of a foreground run that proxies the terminal).
    pub console: Option<BorrowedFd<'a>>,
    pub no_pivot: bool,
    pub preserve_fds: u32,
    /// The cgroup path (relative to each hierarchy's root).
    pub cgroup: &'a [u8],
    /// When the process is a grandchild (unshare+fork) and we cannot be its subreaper (qemu-user
    /// refuses PR_SET_CHILD_SUBREAPER), the intermediate child stays and relays its exit status.
    pub relay_exit: bool,
    /// A session keyring of its own (runc's default; --no-new-keyring keeps the caller's).
    pub keyring: Option<&'a CStr>,
    /// The compiled linux.seccomp, installed as late as the kernel allows (see setup_inner).
    pub seccomp: Option<&'a super::seccomp::Program>,
    /// The bind mount sources, opened by create (see rootfs::BindSources).
    pub bind_sources: &'a super::rootfs::BindSources,
    /// With SCMP_ACT_NOTIFY: hands the notification descriptor of the process `pid` to the
    /// listener (create connected it and knows the state to send).
    pub seccomp_listener: Option<&'a dyn Fn(u32, BorrowedFd<'_>) -> Result<()>>,
    /// For the hooks' state JSON.
    pub id: &'a [u8],
    pub bundle: &'a [u8],
    pub hooks: Option<Hooks<'a>>,
    pub hook_out: Option<&'a Out>,
    /// The locked state dir: the child closes its copy at once, or the lock (shared by the
    /// copies of one open file) would outlive create for as long as the process waits.
    pub lock: BorrowedFd<'a>,
}

// Message tags.
const GO: u32 = 1;
const USERNS: u32 = 2;
const PID: u32 = 4;
const READY: u32 = 5;
const JOIN: u32 = 7;
const ERROR: u32 = 6;
const SECCOMP_FD: u32 = 8;
/// The child's mounts are made: the parent runs prestart and createRuntime hooks.
const HOOKS: u32 = 9;
/// create is done (state written): the process may outlive it from now on.
const DONE: u32 = 10;
/// exec's child is set up and about to exec (see [`wait_exec`]).
const EXEC: u32 = 11;
/// The child made its time namespace: the parent writes its offsets.
const TIMENS: u32 = 12;

/// Message size: tag, value, and room for a rendered error.
const MSG: usize = 8 + crate::error::PATH_MAX_MSG + 200;

/// A message as received: tag, value (pid or errno), and for errors what failed and where.
/// Sent as long as it is (8 bytes but for an error); received into a zeroed buffer, so that
/// an error's text ends at the first NUL.
struct Msg {
    b: [u8; MSG],
}

impl Msg {
    /// A zeroed buffer to receive into (reused in a loop: only an ERROR, the last message, is
    /// longer than 8 bytes).
    fn new() -> Msg {
        Msg { b: [0; MSG] }
    }
    fn tag(&self) -> u32 {
        u32::from_le_bytes([self.b[0], self.b[1], self.b[2], self.b[3]])
    }
    fn val(&self) -> i32 {
        i32::from_le_bytes([self.b[4], self.b[5], self.b[6], self.b[7]])
    }
    /// The error a child sent.
    fn to_error(&self) -> Error {
        let t = &self.b[8..];
        let t = &t[..t.iter().position(|&c| c == 0).unwrap_or(t.len())];
        // Too long for a message's path, its middle goes (its end, the errno, stays).
        Error::msg(t!(""), t, t!(""))
    }
}

/// Sends message `tag` with `val`.
#[inline(never)]
fn send(fd: &OwnedFd, tag: u32, val: i32) -> core::result::Result<(), Errno> {
    let m = (tag as u64 | (val as u32 as u64) << 32).to_le_bytes();
    net::send(fd, &m, SendFlags::NOSIGNAL).map(drop)
}

/// Sends message `tag` with `val`; an error names the sync socket and `peer` ("parent", ...).
#[inline(never)]
fn tell(fd: &OwnedFd, tag: u32, val: i32, peer: &'static str) -> Result<()> {
    send(fd, tag, val).ctx(t!("sync"), peer)
}

/// Receives one message into `m`; Ok(false) when the other side is gone (ECONNRESET: gone
/// without reading what we sent).
fn recv(fd: &OwnedFd, m: &mut Msg) -> core::result::Result<bool, Errno> {
    loop {
        match net::recv(fd, &mut m.b, RecvFlags::empty()) {
            Ok((0, _)) | Err(Errno::CONNRESET) => return Ok(false),
            Ok(_) => return Ok(true),
            Err(Errno::INTR) => {}
            Err(e) => return Err(e),
        }
    }
}

/// The parent writes the child's oom_score_adj before the child goes on (one GO): without one
/// in the config, no round trip.
fn adjusts_oom(spec: &Spec<'_>) -> bool {
    spec.process.as_ref().is_some_and(|p| p.oom_score_adj.is_some())
}

/// Namespaces to create (no path given) as CLONE_NEW* flags.
fn new_namespaces(spec: &Spec<'_>) -> u32 {
    spec.linux.namespaces.iter().filter(|n| n.path.is_none()).fold(0, |f, n| f | n.flag)
}

/// The created process: its pid as the host sees it, and the child of ours whose exit status is
/// its exit status (itself, or the relaying intermediate).
pub struct Child {
    pub pid: u32,
    pub waiter: u32,
    /// Our end of the sync socket: until [`done`], the process exits when it closes.
    sync: OwnedFd,
}

/// Tells the process that create has finished: it stops dying with its creator and waits for
/// start. Dropping the [`Child`] without this makes it exit. `outlive`: we may exit before the
/// process does (create, run --detach): then we wait for its answer that the parent-death
/// signal is off (were we to exit first, it would fire). A foreground run, which exits only
/// after the process, asks for no answer.
pub fn done(c: &Child, cgroup: &[u8], outlive: bool) -> Result<()> {
    let sent = send(&c.sync, DONE, outlive as i32).is_ok();
    let mut m = Msg::new();
    if sent && (!outlive || matches!(recv(&c.sync, &mut m), Ok(true)) && m.tag() == DONE) {
        return Ok(());
    }
    Err(gone(cgroup, t!("exited before create was done")))
}

/// The container's process went away before create was done: `why`, or, in a fresh cgroup that
/// counts an OOM kill, that the memory limit is too small to set up in.
#[cold]
#[inline(never)]
fn gone(cgroup: &[u8], why: Txt) -> Error {
    let why = if crate::cgroup::oom_kills(cgroup) > 0 {
        t!("was OOM-killed before it was ready: linux.resources.memory.limit is too small")
    } else {
        why
    };
    Error::say(t!("container init"), why)
}

/// Spawns the container's process and waits until it is ready (blocked on the exec fifo).
/// On error the child is gone and the error says what failed in it.
pub fn spawn(ctx: &Setup<'_>) -> Result<Child> {
    // The child keeps the lower end, next to the exec fifo opened just before: what it keeps is
    // one run of descriptors, and what it closes fewer runs (close_range calls).
    let (theirs, ours) = net::socketpair(AddressFamily::UNIX, SocketType::SEQPACKET, SocketFlags::CLOEXEC, None)
        .ctx(t!("socketpair"), "sync")?;
    let creator = mote_sys::rustix::process::getpid().as_raw_nonzero().get() as u32;
    let flags = new_namespaces(ctx.spec);
    // Time namespaces need their offsets written before any process enters, and a cgroup
    // namespace must be made once the process is in its cgroup (so that it sees that cgroup as
    // its root): the child unshares both itself.
    let clone_flags = (flags & !(g::CLONE_NEWTIME | g::CLONE_NEWCGROUP)) as u64;
    // Namespaces given by path must be joined before new ones are made (a new namespace is owned
    // by the user namespace of its creator): then everything goes the fork + setns + unshare way.
    let by_path = ctx.spec.linux.namespaces.iter().any(|n| n.path.is_some());
    let first_try = if by_path { Err(Errno::NOSYS) } else { raw::clone3(clone_flags, None) };
    let (pid, fallback) = match first_try {
        Ok((pid, _)) => (pid, false),
        Err(Errno::NOSYS | Errno::INVAL | Errno::TOOBIG) => (raw::fork().ctx(t!("fork"), "container init")?, true),
        Err(e) => return Err(Error::sys(t!("clone3"), "container init", e)),
    };
    if pid == 0 {
        child(ctx, theirs, ours, fallback, creator);
    }
    drop(theirs);
    let mut procs = Procs { first: pid, init: pid, first_reaped: false };
    let r = parent(ctx, &ours, &mut procs).map(|(pid, waiter)| Child { pid, waiter, sync: ours });
    if r.is_err() {
        // Kill the container's process (never a pid we already reaped: it may be someone
        // else's by now), and reap what is ours.
        let _ = mote_sys::sig::kill(procs.init as i32, 9);
        if !procs.first_reaped {
            let _ = mote_sys::sig::kill(procs.first as i32, 9);
            let _ = mote_sys::sig::waitpid(procs.first as i32, g::__WALL);
        }
    }
    r
}

/// The processes a spawn made: our child, and the container's init (the same one unless the
/// child forked it for a PID namespace).
struct Procs {
    first: u32,
    init: u32,
    first_reaped: bool,
}

fn parent(ctx: &Setup<'_>, sock: &OwnedFd, procs: &mut Procs) -> Result<(u32, u32)> {
    let first = procs.first;
    if let Some(proc) = ctx.spec.process.as_ref().filter(|_| adjusts_oom(ctx.spec)) {
        process::oom_score_adj(proc, first)?;
        tell(sock, GO, 0, "container init")?;
    }
    let mut init = first;
    let mut m = Msg::new();
    loop {
        match recv(sock, &mut m) {
            Ok(true) => {}
            Ok(false) => return Err(gone(ctx.cgroup, t!("exited before it was ready"))),
            Err(Errno::AGAIN) => {
                return Err(Error::say(t!("container init"), t!("not ready in time under its seccomp filter (a notified syscall the listener does not answer?)")))
            }
            Err(e) => return Err(Error::sys(t!("sync"), "container init", e)),
        }
        // Each step done, the child goes on (told the init's pid after HOOKS and JOIN).
        let val = match m.tag() {
            USERNS => write_maps(first, ctx.spec).map(|()| 0)?,
            TIMENS => write_time_offsets(first, ctx.spec).map(|()| 0)?,
            PID => {
                // The first child forked the real init (PID namespace) and exits.
                init = m.val() as u32;
                procs.init = init;
                if !ctx.relay_exit {
                    let _ = mote_sys::sig::waitpid(first as i32, g::__WALL);
                    procs.first_reaped = true;
                }
                0
            }
            JOIN => {
                // Into the cgroup once the root filesystem is done and before anything of the
                // container's own runs: the limits hold for all it does, and the kernel memory
                // of namespaces and mounts is not charged to a 250K container.
                crate::cgroup::join(ctx.cgroup, init)?;
                if ctx.seccomp_listener.is_some() {
                    // From here the process may stop in a notified syscall nobody answers.
                    let t = core::time::Duration::from_secs(super::seccomp::NOTIFY_WAIT_SECS);
                    net::sockopt::set_socket_timeout(sock, net::sockopt::Timeout::Recv, Some(t)).ctx(t!("sync"), "timeout")?;
                }
                init as i32
            }
            SECCOMP_FD => {
                let fd = super::unix::recv_fd(sock.fd()).ctx(t!("sync"), "seccomp notification descriptor")?;
                if let Some(hand) = ctx.seccomp_listener {
                    hand(init, fd.fd())?;
                }
                0
            }
            HOOKS => {
                // Hooks look at the process's cgroup (device and network plugins do), and
                // createContainer runs in it, in the container's cgroup namespace.
                crate::cgroup::join(ctx.cgroup, init)?;
                for stage in ["prestart", "createRuntime"] {
                    run_hooks(ctx, stage, "creating", init)?;
                }
                init as i32
            }
            READY => return Ok((init, if ctx.relay_exit { first } else { init })),
            ERROR => return Err(m.to_error()),
            _ => return Err(Error::msg(t!("sync"), "container init", t!("unexpected message"))),
        };
        tell(sock, GO, val, "container init")?;
    }
}

fn write_maps(pid: u32, spec: &Spec<'_>) -> Result<()> {
    let one = |file: &[u8], maps: &[IdMap]| -> Result<()> {
        let mut v = Buf::<1024>::new();
        for m in maps {
            v.u(m.container as u64).c(b' ').u(m.host as u64).c(b' ').u(m.size as u64).c(b'\n');
        }
        write_proc(pid, file, v.get().fits(t!("id mappings:"))?)
    };
    one(b"uid_map", &spec.linux.uid_mappings)?;
    one(b"gid_map", &spec.linux.gid_mappings)
}

/// A joined user namespace's mappings (`file`, read from inside it: the kernel shows them as
/// its parent namespace sees them) against the config's, when it gives some: containerd gives
/// both for a pod's namespace; they are that namespace's facts, which the config must not
/// misstate (runc checks too). The same set of extents, in any order.
#[inline(never)]
fn same_maps(file: &CStr, maps: &[IdMap], field: &str) -> Result<()> {
    if maps.is_empty() {
        return Ok(());
    }
    let mut raw = [0u8; 1024];
    let (n, mut same) = match crate::cgroup::read_file(file, &mut raw) {
        Err(e) if e.errno() == Some(Errno::FBIG) => (0, false), // more extents than a config holds (limits::ID_MAPPINGS)
        r => (r?, true),
    };
    // Padded numbers, three a line.
    let (mut t, mut k, mut digits, mut count) = ([0u64; 3], 0, false, 0);
    for &c in &raw[..n] {
        if c.is_ascii_digit() {
            t[k] = t[k].wrapping_mul(10) + (c - b'0') as u64;
            digits = true;
        } else if core::mem::take(&mut digits) {
            k += 1;
            if k == 3 {
                count += 1;
                same &= maps.iter().any(|m| [m.container as u64, m.host as u64, m.size as u64] == t);
                (t, k) = ([0; 3], 0);
            }
        }
    }
    if !same || count != maps.len() {
        return Err(Error::msg(t!("config.json:"), field, t!("differ from the mappings of the user namespace joined")));
    }
    Ok(())
}

/// The child: runs [`setup`], and on error reports it to the parent and exits.
/// `parents`: the parent's end of the sync socket, closed here with the lock (our copies only:
/// the parent keeps its own) by close_others, or at once where they fall among the preserved
/// descriptors (a gap in them: close_others keeps that range).
fn child(ctx: &Setup<'_>, sock: OwnedFd, parents: OwnedFd, fallback: bool, creator: u32) -> ! {
    for f in [mote_sys::rustix::fd::AsRawFd::as_raw_fd(&ctx.lock) as u32, mote_sys::rustix::fd::IntoRawFd::into_raw_fd(parents) as u32] {
        if f < 3 + ctx.preserve_fds {
            let _ = raw::close_fd(f);
        }
    }
    // Until create is done, the child dies with it (a create killed at any point must not leave
    // a process behind); the check closes the race with a creator that died before the prctl.
    // In a new PID namespace the parent has no pid here (0): there the sync socket's EOF, read
    // at every step and while waiting for DONE, says the same.
    let _ = raw::prctl(mote_sys::linux_raw_sys::prctl::PR_SET_PDEATHSIG, g::SIGKILL as usize, 0, 0, 0);
    if let Some(p) = mote_sys::rustix::process::getppid() {
        if p.as_raw_nonzero().get() as u32 != creator {
            raw::exit(1);
        }
    }
    let e = setup(ctx, &sock, fallback);
    let _ = send_error(&sock, &e);
    raw::exit(1)
}

/// Tells the child to go on (`val`: a pid it needs, or 0).
pub fn go(sock: &OwnedFd, val: i32) -> Result<()> {
    tell(sock, GO, val, "child")
}

/// Reports `e` to the parent (the child's last word before it exits).
/// The error is rendered here, the parent prints it as it is.
pub fn send_error(sock: &OwnedFd, e: &Error) -> core::result::Result<(), Errno> {
    let mut m = Buf::<MSG>::new();
    m.s(ERROR.to_le_bytes()).s(e.errno().map_or(0, |e| e.raw_os_error()).to_le_bytes());
    e.render(&mut m);
    // (a message: cut at its bound if need be)
    net::send(sock, m.lossy(), SendFlags::NOSIGNAL).map(drop)
}

/// Tells the parent the child is set up and execs next ([`wait_exec`]).
pub fn exec_next(sock: &OwnedFd) -> Result<()> {
    tell(sock, EXEC, 0, "parent")
}

/// Waits until the child has exec'd: EXEC, then its end of the CLOEXEC socket closes. An error
/// it sends is the error; the socket closing without EXEC is a child that died being set up
/// (killed, say), never a success.
pub fn wait_exec(sock: &OwnedFd) -> Result<()> {
    let mut next = false;
    let mut m = Msg::new();
    loop {
        match recv(sock, &mut m).ctx(t!("sync"), "child")? {
            false if next => return Ok(()),
            false => return Err(Error::say(t!("exec:"), t!("the process died before its exec"))),
            true if m.tag() == EXEC && !next => next = true,
            true if m.tag() == ERROR => return Err(m.to_error()),
            true => return Err(Error::msg(t!("sync"), "child", t!("unexpected message"))),
        }
    }
}

pub fn wait_go(sock: &OwnedFd) -> Result<()> {
    wait_go_val(sock).map(drop)
}

/// Tells the parent `tag` and waits for its GO; returns GO's value (see [`wait_go_val`]).
#[inline(never)]
fn ask(sock: &OwnedFd, tag: u32) -> Result<u32> {
    tell(sock, tag, 0, "parent")?;
    wait_go_val(sock)
}

/// Waits for GO; returns its value (the init's pid as the host sees it, after HOOKS and JOIN).
fn wait_go_val(sock: &OwnedFd) -> Result<u32> {
    let mut m = Msg::new();
    match recv(sock, &mut m).ctx(t!("sync"), "parent")? {
        true if m.tag() == GO => Ok(m.val() as u32),
        _ => raw::exit(1), // the parent is gone: nothing to report to
    }
}

/// Everything between spawn and exec. Returns only an error.
fn setup(ctx: &Setup<'_>, sock: &OwnedFd, fallback: bool) -> Error {
    match setup_inner(ctx, sock, fallback) {
        Ok(never) => match never {},
        Err(e) => e,
    }
}

pub enum Never {}

fn setup_inner(ctx: &Setup<'_>, sock: &OwnedFd, fallback: bool) -> Result<Never> {
    let spec = ctx.spec;
    let l = &spec.linux;
    let new = new_namespaces(spec);
    // No one else (another container sharing our PID namespace, say) may ptrace us or open our
    // /proc/PID/fd while we hold host descriptors; exec makes the process dumpable again.
    raw::prctl(mote_sys::linux_raw_sys::prctl::PR_SET_DUMPABLE, 0, 0, 0, 0).ctx(t!("prctl"), "PR_SET_DUMPABLE")?;
    // Only stdio, the preserved descriptors and our own (sync socket, fifo, console socket, the
    // in-container hooks' output files) stay open (see close_others).
    {
        use mote_sys::rustix::fd::AsRawFd;
        let fd = |f: BorrowedFd<'_>| f.as_raw_fd() as u32;
        let out = |f: &Option<OwnedFd>| f.as_ref().map_or(0, |f| fd(f.fd()));
        let (o, e) = ctx.hook_out.map_or((0, 0), |h| (out(&h.out), out(&h.err)));
        let mut keep = heapless::Vec::<u32, { 5 + limits::MOUNTS }>::new();
        // (the console socket only when there is a terminal to send: `run` always has one)
        let console = ctx.console.filter(|_| spec.process.as_ref().is_some_and(|p| p.terminal)).map_or(0, fd);
        let _ = keep.extend_from_slice(&[fd(sock.fd()), fd(ctx.fifo), console, o, e]);
        // (the cloned bind mount sources, closed as soon as they are mounted: rootfs::setup)
        for s in ctx.bind_sources.iter().flatten() {
            let _ = keep.push(fd(s.fd()));
        }
        process::close_others(3 + ctx.preserve_fds, &keep)?;
    }
    if adjusts_oom(spec) {
        wait_go(sock)?;
    }

    // 1. Namespaces given by path, the user namespace first (runc's order: what is joined must
    // be joined before anything new is made, so that new namespaces belong to the right owner).
    if let Some(p) = l.ns(g::CLONE_NEWUSER).and_then(|n| n.path) {
        join(p, g::CLONE_NEWUSER)?;
        same_maps(c"/proc/self/uid_map", &l.uid_mappings, "linux.uidMappings")?;
        same_maps(c"/proc/self/gid_map", &l.gid_mappings, "linux.gidMappings")?;
        // Its root from here on, never the host's (mountpoints made, files opened as it).
        process::user_ns_root()?;
    }
    for n in l.namespaces.iter().filter(|n| n.flag != g::CLONE_NEWUSER) {
        if let Some(p) = n.path {
            join(p, n.flag)?;
        }
    }
    // 2. A new user namespace (the parent writes its maps), then the other new ones.
    if new & g::CLONE_NEWUSER != 0 {
        if fallback {
            raw::unshare(g::CLONE_NEWUSER).ctx(t!("unshare"), "user namespace")?;
        }
        ask(sock, USERNS)?;
        process::user_ns_root()?;
    }
    let rest = if fallback { new & !(g::CLONE_NEWUSER | g::CLONE_NEWTIME | g::CLONE_NEWCGROUP) } else { 0 };
    if rest != 0 {
        raw::unshare(rest).ctx(t!("unshare"), "namespaces")?;
    }
    if new & g::CLONE_NEWTIME != 0 {
        time_namespace(sock)?;
    }
    // 3. A PID namespace entered by unshare or setns applies to children only: fork the init.
    let pid_by_path = l.ns(g::CLONE_NEWPID).is_some_and(|n| n.path.is_some());
    if (fallback && new & g::CLONE_NEWPID != 0) || pid_by_path {
        match raw::fork().ctx(t!("fork"), "container init")? {
            0 => wait_go(sock)?,
            pid => {
                let _ = send(sock, PID, pid as i32);
                if ctx.relay_exit {
                    // Holding nothing: start waits for the fifo's last reader to go.
                    mote_sys::sig::relay_exit(pid);
                }
                raw::exit(0);
            }
        }
    }

    // What must be undone before exec (signals, bounding set), read now: the user namespace is
    // set, and /proc is still the one mote runs with, unless a mount namespace was joined.
    let mount_ns = l.ns(g::CLONE_NEWNS);
    let inherited = if mount_ns.is_some_and(|n| n.path.is_some()) { None } else { process::inherited() };

    // 4. A session keyring of its own, so containers do not share the host's keys. Kernels or
    // sandboxes without keyctl (ENOSYS, EPERM under some seccomp profiles) go without, as runc.
    if let Some(k) = ctx.keyring {
        match raw::join_session_keyring(k) {
            Ok(()) | Err(Errno::NOSYS | Errno::PERM | Errno::ACCESS) => {}
            Err(e) => return Err(Error::sys(t!("join session keyring"), k.to_bytes(), e)),
        }
    }

    // 5. The root filesystem, what lives in the new namespaces, masked and read-only paths.
    if new & g::CLONE_NEWNS == 0 && mount_ns.is_none() {
        return Err(Error::msg(t!("config.json:"), "linux.namespaces", crate::spec::MOUNT_NS_REQUIRED));
    }
    // The hooks' point: namespaces and mounts made, before pivot_root. The parent runs prestart
    // and createRuntime in the runtime's namespaces; createContainer runs here, in ours: the
    // parent puts us in our cgroup then (5b's join, early), so the cgroup namespace is made now.
    let proc = spec.process.as_ref().ok_or_else(|| Error::msg(t!("config.json:"), "process", t!("missing")))?;
    let mut host_pid = 0;
    let mut joined = false;
    let mut before_switch = || -> Result<()> {
        if !ctx.hooks.as_ref().is_some_and(|h| h.has("prestart") || h.has("createRuntime") || h.has("createContainer")) {
            return Ok(());
        }
        prefault_stack();
        process::cpu_affinity(proc, 0)?;
        host_pid = ask(sock, HOOKS)?;
        joined = true;
        if new & g::CLONE_NEWCGROUP != 0 {
            raw::unshare(g::CLONE_NEWCGROUP).ctx(t!("unshare"), "cgroup namespace")?;
        }
        run_hooks(ctx, "createContainer", "creating", host_pid)
    };
    let fresh_cgroup = rootfs::fresh_cgroup(spec);
    rootfs::setup(spec, ctx.rootfs, ctx.no_pivot, ctx.cgroup, fresh_cgroup, inherited.is_some_and(|i| i.root), ctx.bind_sources, &mut before_switch)?;
    if let Some(p) = &spec.process {
        rootfs::make_cwd(p.cwd)?;
    }
    if new & g::CLONE_NEWNET != 0 {
        loopback_up()?;
    }
    if let Some(h) = spec.hostname {
        mote_sys::rustix::system::sethostname(h.to_bytes()).ctx(t!("sethostname"), h.to_bytes())?;
    }
    if let Some(d) = spec.domainname {
        raw::setdomainname(d.to_bytes()).ctx(t!("setdomainname"), d.to_bytes())?;
    }
    for (k, v) in &l.sysctl {
        sysctl(k.to_bytes(), v.to_bytes())?;
    }
    rootfs::protect_paths(spec)?;
    // 5b. Into the cgroup now (the parent writes it): late, so that the kernel memory of the
    // namespaces and mounts above is not charged to a 250K container, and before anything of
    // the container's own runs. Then the cgroup namespace and the cgroup mounts, so that the
    // container sees its own cgroup as / in /proc/self/cgroup and in /sys/fs/cgroup.
    prefault_stack();
    if !joined {
        process::cpu_affinity(proc, 0)?;
    }
    host_pid = ask(sock, JOIN)?;
    // execCPUAffinity.final, else (neither given) every CPU of the cgroup, not mote's own (runc's).
    if proc.cpu_affinity[0].is_some() || proc.cpu_affinity[1].is_some() {
        process::cpu_affinity(proc, 1)?;
    } else {
        process::reset_affinity();
    }
    if new & g::CLONE_NEWCGROUP != 0 && !joined {
        raw::unshare(g::CLONE_NEWCGROUP).ctx(t!("unshare"), "cgroup namespace")?;
    }
    rootfs::mount_cgroups(spec, fresh_cgroup)?;
    // Before a read-only root: /dev/console may have to be made.
    if let (Some(c), true) = (ctx.console, proc.terminal) {
        super::console::setup(c, proc, true)?;
    }
    rootfs::seal(spec)?;

    // 6. The process itself.
    process::privileged(proc, l.personality)?;
    process::scheduling(proc, l)?;
    // The cwd first (as root: a directory only root may enter is fine), so that a relative
    // args[0] or PATH entry is found where execve will look; again once we are the user.
    let early_cwd = mote_sys::rustix::process::chdir(proc.cwd);
    let mut home = Buf::<{ limits::PATH + 8 }>::new();
    process::home(proc, &mut home);
    process::stdio_owner(proc.uid, proc.gid);
    // The LSM labels the kernel applies at exec, written before any seccomp filter (as runc).
    super::lsm::exec_labels(proc)?;
    // seccomp needs no_new_privs or CAP_SYS_ADMIN: without no_new_privs the filter goes on while
    // we still hold the capability (runc's order), else just before exec.
    // A filter that notifies goes on before READY in any case: create hands its descriptor on.
    let notify = spec.linux.seccomp.as_ref().is_some_and(|s| s.notifies());
    let nnp = proc.no_new_privileges;
    process::before_exec(ctx.preserve_fds, inherited.map(|i| i.signals))?;
    if let Some(f) = ctx.seccomp.filter(|_| !nnp) {
        hand_over(sock, super::seccomp::install(f, notify)?)?;
    }
    process::user_and_caps(proc, inherited)?;
    // (Where the early one worked, a failure here was never an error: then it is not made again.)
    if let Err(e) = early_cwd.or_else(|_| mote_sys::rustix::process::chdir(proc.cwd)) {
        return Err(Error::sys(t!("chdir"), proc.cwd.to_bytes(), e));
    }
    // "/" is the root itself, nothing through which to reach outside it.
    if proc.cwd.to_bytes() != b"/" {
        process::check_cwd(proc.cwd)?;
    }
    // args[0] looked up as the user, with its credentials and capabilities, as execve will:
    // a file only root may run fails create, not start (runc's order). (Before a notifying
    // filter: these lookups are mote's, not the container's.)
    let mut exe = Buf::<{ limits::PATH }>::new();
    process::find_exec(proc, &mut exe)?;
    if let Some(f) = ctx.seccomp.filter(|_| nnp && notify) {
        hand_over(sock, super::seccomp::install(f, notify)?)?;
    }

    // 7. Ready; once create is done (a create gone before that takes us along), wait for start
    // (one byte through the fifo), then become the container process.
    tell(sock, READY, 0, "parent")?;
    let mut m = Msg::new();
    let answer = match recv(sock, &mut m) {
        Ok(true) if m.tag() == DONE => m.val() != 0,
        _ => raw::exit(1),
    };
    let _ = raw::prctl(mote_sys::linux_raw_sys::prctl::PR_SET_PDEATHSIG, 0, 0, 0, 0);
    if answer {
        let _ = send(sock, DONE, 0);
    }
    let mut b = [0u8; 1];
    loop {
        match mote_sys::rustix::io::read(ctx.fifo, &mut b) {
            Ok(_) => break,
            Err(Errno::INTR) => {}
            Err(e) => return Err(Error::sys(t!("wait for start"), "exec fifo", e)),
        }
    }
    // After READY no one waits for our messages (create has exited): a failure goes to the
    // container's stderr, as runc does; exec's with a shell's exit code. startContainer hooks
    // run here as runc runs them: as the process's user, with its capabilities, and under its
    // seccomp filter unless noNewPrivileges put that off to just before exec.
    let installed = match run_hooks(ctx, "startContainer", "created", host_pid) {
        Err(e) => Err(e),
        Ok(()) => match ctx.seccomp.filter(|_| nnp && !notify) {
            Some(f) => super::seccomp::install(f, false).map(drop),
            None => Ok(()),
        },
    };
    let e = match installed {
        Ok(()) => process::exec(&mut exe, proc, &mut home),
        Err(e) => e,
    };
    let mut b = Buf::<512>::new();
    b.s(b"mote: error: ");
    e.render(&mut b);
    b.c(b'\n');
    mote_sys::io::err(b.lossy());
    raw::exit(127)
}

/// Sends the seccomp notification descriptor (if any) to the parent, which passes it to the
/// listener; ours is closed once it has (the container's process must not hold it).
fn hand_over(sock: &OwnedFd, fd: Option<OwnedFd>) -> Result<()> {
    let Some(fd) = fd else { return Ok(()) };
    tell(sock, SECCOMP_FD, 0, "parent")?;
    super::unix::send_fd(sock.fd(), fd.fd(), b"fd").ctx(t!("sync"), "seccomp notification descriptor")?;
    wait_go(sock)
}

/// Runs the config's hooks of `stage`, if any.
fn run_hooks(ctx: &Setup<'_>, stage: &'static str, status: &str, pid: u32) -> Result<()> {
    let Some(h) = ctx.hooks.as_ref().filter(|h| h.has(stage)) else {
        return Ok(());
    };
    let mut st = crate::state::json_buf()?;
    hooks::state_json(&mut st, ctx.spec, ctx.id, status, pid, ctx.bundle)?;
    h.run(stage, st.get().fits(t!("hooks: the state JSON is"))?, ctx.hook_out.unwrap_or(&Out { out: None, err: None }))
}

/// Brings `lo` up in a new network namespace, as runc and crun do: localhost works without a
/// network plugin. A kernel built without IPv4 (a board's tinyconfig) still answers the interface
/// ioctls on a unix socket; one without a loopback device has nothing to bring up.
fn loopback_up() -> Result<()> {
    use mote_sys::linux_raw_sys::ioctl::{SIOCGIFFLAGS, SIOCSIFFLAGS};
    const IFF_UP: u16 = 1; // <linux/if.h>
    let sock = match net::socket_with(AddressFamily::INET, SocketType::DGRAM, SocketFlags::CLOEXEC, None) {
        Err(mote_sys::rustix::io::Errno::AFNOSUPPORT) => net::socket_with(AddressFamily::UNIX, SocketType::DGRAM, SocketFlags::CLOEXEC, None),
        other => other,
    }
    .ctx(t!("socket for"), "lo")?;
    let mut r = raw::IfFlags::new(b"lo");
    match raw::ifflags(sock.fd(), SIOCGIFFLAGS, &mut r) {
        Err(mote_sys::rustix::io::Errno::NODEV) => return Ok(()),
        other => other.ctx(t!("get flags of"), "lo")?,
    }
    r.flags |= IFF_UP;
    raw::ifflags(sock.fd(), SIOCSIFFLAGS, &mut r).ctx(t!("bring up"), "lo")
}

/// Writes to the stack below us, page by page, before joining the cgroup. The child runs on a
/// copy-on-write copy of the parent's stack: every page it first writes after the join would be
/// copied and charged to the container (a tiny limit's margin). Copied now, they stay charged
/// where mote runs. The depth is what the child uses after the join, measured (perf record -e
/// page-faults -d, issue 17's notes): the steps after the join (cgroup mounts, seal, the process,
/// seccomp, exec's argv and env arrays) reach ~12 KiB below this point with the frames of today,
/// less deep than the rootfs steps before it went; 16 KiB covers them with a page to spare
/// (32 cost 4 more faults per run and bought no floor: the branch `floor`'s notes). (A hook run
/// after the join forks, which makes the pages copy-on-write again: that cost is the hook's.)
#[inline(never)]
fn prefault_stack() {
    let mut pad = [0u8; 16 * 1024];
    for i in (0..pad.len()).step_by(4096) {
        pad[i] = 1;
    }
    core::hint::black_box(&mut pad);
}

fn join(path: &CStr, flag: u32) -> Result<()> {
    let fd = fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty());
    fd.and_then(|fd| raw::setns(fd.fd(), flag)).ctx(t!("join namespace"), path.to_bytes())
}

/// A new time namespace with its offsets: unshare, write offsets, then enter it ourselves.
fn time_namespace(sock: &OwnedFd) -> Result<()> {
    raw::unshare(g::CLONE_NEWTIME).ctx(t!("unshare"), "time namespace")?;
    // The parent writes the offsets: in a user namespace of its own the child may not (its
    // /proc/self is the host root's while it is not dumpable), the host's root may.
    ask(sock, TIMENS)?;
    join(c"/proc/self/ns/time_for_children", g::CLONE_NEWTIME)
}

/// linux.timeOffsets into /proc/PID/timens_offsets of the child `pid` (before anything entered
/// its new time namespace).
fn write_time_offsets(pid: u32, spec: &Spec<'_>) -> Result<()> {
    let [(ms, mn), (bs, bn)] = spec.linux.time_offsets;
    let mut v = Buf::<128>::new();
    v.s(b"monotonic ").i(ms).c(b' ').u(mn as u64).s(b"\nboottime ").i(bs).c(b' ').u(bn as u64).c(b'\n');
    write_proc(pid, b"timens_offsets", v.get().fits(t!("timeOffsets:"))?)
}

/// Writes `val` to /proc/`pid`/`file` of our child (the host's /proc: see [`write_time_offsets`]).
#[inline(never)]
fn write_proc(pid: u32, file: &[u8], val: &[u8]) -> Result<()> {
    let mut p = Buf::<64>::new();
    p.s(b"/proc/").u(pid as u64).c(b'/').s(file); // a pid and a short name: always fits
    crate::cgroup::write_file(p.cstr(), val)
}

/// Writes linux.sysctl key (dots become slashes) under /proc/sys, through a verified procfs.
fn sysctl(k: &[u8], v: &[u8]) -> Result<()> {
    let mut p = Buf::<{ 4 + limits::SYSCTL_KEY }>::new();
    p.s(b"sys/");
    for &c in k {
        p.c(if c == b'.' { b'/' } else { c });
    }
    if p.overflowed() || k.split(|&c| c == b'.' || c == b'/').any(|c| c == b".." || c.is_empty()) {
        return Err(Error::msg(t!("sysctl"), k, t!("invalid key")));
    }
    super::procfs::write(p.get().fits(t!("linux.sysctl key:"))?, v).map_err(|mut e| {
        e.set_what(t!("sysctl"));
        e
    })
}
