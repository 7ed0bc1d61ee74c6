//! `mote exec [flags] ID [--process FILE | ARGS...]`: one more process in a created, running
//! (or, with --ignore-paused, paused) container, with runc's flags and exit codes.
//!
//! The process is the container's `process` from its config (kept in the state dir at create),
//! or the --process file, with the flags applied on top. mote joins the container's PID
//! namespace for its children only, then forks (clone3 straight into the cgroup on a pure v2
//! host; else the parent writes cgroup.procs); the child joins every other namespace of the
//! container (one setns through a pidfd where the kernel has it, else /proc/PID/ns/* one by
//! one), takes the container's root, applies the process settings and execs. mote is not
//! dumpable from the start, holds no state-dir descriptor when it forks, and the child never
//! sees a host directory once it has joined: nothing in the container can reach mote through
//! it. The child says EXEC once set up, then its sync socket closes on exec: EXEC and EOF mean
//! the process runs; an error message, or EOF alone (the child died), that it does not.

use core::ffi::CStr;

use mote_sys::io::Buf;
use mote_sys::linux_raw_sys::general as g;
use mote_sys::linux_raw_sys::prctl as pr;
use mote_sys::raw::{self, Errno};
use mote_sys::io::Fd;
use mote_sys::rustix::fd::OwnedFd;
use mote_sys::rustix::fs::{self, Mode, OFlags};
use mote_sys::rustix::net::{self, AddressFamily, SocketFlags, SocketType};
use mote_sys::rustix::process as rp;
use mote_sys::sig::{self, How, SigSet};
use mote_sys::Args;

use super::{create, flag, given, parse, Flag, Global, Parsed};
use crate::cgroup;
use crate::error::{Ctx, Error, Fits, Result, Txt};
use crate::json::Val;
use crate::linux::{console, process, seccomp, spawn};
use crate::log;
use crate::spec::{self, limits, Process, Spec, P};
use crate::state::Status;

const FLAGS: &[Flag] = &[
    flag("process", b'p', true),
    flag("tty", b't', false),
    flag("console-socket", 0, true),
    flag("detach", b'd', false),
    flag("pid-file", 0, true),
    flag("cwd", 0, true),
    flag("env", b'e', true),
    flag("user", b'u', true),
    flag("additional-gids", b'g', true),
    flag("cap", b'c', true),
    flag("no-new-privs", 0, false),
    flag("apparmor", 0, true),
    flag("process-label", 0, true),
    flag("preserve-fds", 0, true),
    flag("ignore-paused", 0, false),
    flag("cgroup", 0, true),
    flag("no-subreaper", 0, false),
];

/// Namespaces in the order they are joined one by one (user first: it decides what the others
/// may be joined with); pid is joined by the parent, for its child.
const NAMESPACES: [(&CStr, u32); 8] = [
    (c"user", g::CLONE_NEWUSER),
    (c"mnt", g::CLONE_NEWNS),
    (c"net", g::CLONE_NEWNET),
    (c"ipc", g::CLONE_NEWIPC),
    (c"uts", g::CLONE_NEWUTS),
    (c"cgroup", g::CLONE_NEWCGROUP),
    (c"time", g::CLONE_NEWTIME),
    (c"pid", g::CLONE_NEWPID),
];

#[inline(never)]
pub fn main(a: &Args, from: usize, gl: &mut Global) -> Result<i32> {
    // Everything after the id is the command.
    let p = parse(a, from, t!("exec"), FLAGS, gl, 1)?;
    // runc exits 255 when exec itself fails (the process's own codes are 0..=255 too).
    match exec(a, &p, gl) {
        Ok(code) => Ok(code),
        Err(e) => Ok(log::fail(gl, &e, 255)),
    }
}

fn exec(a: &Args, p: &Parsed, gl: &Global) -> Result<i32> {
    let id = p.id(t!("exec"))?;
    // Not dumpable for as long as we live (we never exec): nothing may ptrace us or open our
    // /proc/PID/{fd,exe,mem}, and our child inherits it until its own exec.
    raw::prctl(pr::PR_SET_DUMPABLE, 0, 0, 0, 0).ctx(t!("prctl"), "PR_SET_DUMPABLE")?;
    let mut buf = None;
    let (dir, st) = crate::state::load(gl.root, id.to_bytes(), &mut buf)?;
    match st.status(&dir) {
        Status::Created | Status::Running => {}
        Status::Paused if given!(p, FLAGS, "ignore-paused").is_some() => {}
        Status::Paused => return Err(Error::say(t!("cannot exec in a paused container"), t!("use --ignore-paused to override"))),
        s => {
            let mut e = Error::msg(t!("cannot exec in a"), s.name(), t!(""));
            e.path(|p| { p.t(t!(" container")); });
            return Err(e);
        }
    }
    let pid = st.pid;
    // A pidfd pins the process: checked alive after it is open, it cannot be a reused pid.
    let pidfd = rp::pidfd_open(rp::Pid::from_raw(pid as i32).ok_or(Errno::SRCH).ctx(t!("open pidfd"), st.id)?, rp::PidfdFlags::empty()).ok();
    if !st.alive() {
        return Err(Error::say(t!("cannot exec in a stopped container"), t!("")));
    }

    // The config as it was at create, and the process: --process FILE or the config's own.
    let (spec, rest) = dir.config()?;
    let mut proc = match given!(p, FLAGS, "process") {
        Some(f) => {
            let (d, r, _) = create::read_json(f, f.to_bytes(), rest)?;
            let mut pr = Process::empty();
            spec::process_into(Val::root(d, r), &P::ROOT, &mut pr).map_err(|mut e| {
                e.set_what(t!("--process file:"));
                e
            })?;
            // runc: a process without rlimits gets the container's.
            if let (true, Some(c)) = (pr.rlimits.is_empty(), &mut spec.process) {
                pr.rlimits = core::mem::take(&mut c.rlimits);
            }
            pr
        }
        None => {
            let mut pr = spec.process.take().ok_or_else(|| Error::msg(t!("config.json:"), "process", t!("missing")))?;
            pr.args.clear();
            // runc: a terminal only with --tty, whatever the container's process has.
            pr.terminal = false;
            for i in p.rest..a.len() {
                let arg = a.cstr(i).unwrap_or(c"");
                pr.args.push(arg).map_err(|_| Error::msg(t!("exec:"), "arguments", t!("more than 256 (spec/limits.rs ARGS)")))?;
            }
            pr
        }
    };
    if proc.args.is_empty() {
        return Err(Error::say(t!("exec"), t!("needs a command (ARGS...) or --process FILE")));
    }
    apply_flags(p, &mut proc)?;
    if let Some(v) = given!(p, FLAGS, "apparmor").filter(|v| !v.is_empty()) {
        proc.apparmor_profile = Some(v);
    }
    if let Some(v) = given!(p, FLAGS, "process-label").filter(|v| !v.is_empty()) {
        proc.selinux_label = Some(v);
    }
    crate::linux::lsm::check(Some(&proc), None)?;
    // The container's seccomp profile, compiled and checked against this kernel now (the child
    // installs it). A notifying one is refused: its listener would need this process's descriptor.
    let mut program = None;
    if let Some(sc) = &spec.linux.seccomp {
        if sc.notifies() {
            return Err(Error::msg(t!("exec: config.json:"), "linux.seccomp", t!("SCMP_ACT_NOTIFY is not supported by exec yet")));
        }
        let program = program.insert(seccomp::Program::lend()?);
        seccomp::compile(sc, program)?;
        seccomp::probe(sc)?;
    }
    let filter = program.as_deref();
    // The pty's master goes to the engine's socket, or, in the foreground, to mote, which
    // proxies it as `run` does; a detached exec without a socket would leave no one holding it.
    let mut own_console = None;
    let console_sock = match given!(p, FLAGS, "console-socket") {
        Some(s) if proc.terminal => Some(console::connect(s)?),
        None if proc.terminal && !given!(p, FLAGS, "detach").is_some() => {
            let (ours, theirs) = console::pair()?;
            own_console = Some(ours);
            Some(theirs)
        }
        _ => None,
    };
    if proc.terminal && console_sock.is_none() {
        return Err(Error::say(t!("exec --tty --detach"), t!("needs --console-socket (no one would hold the terminal)")));
    }
    let preserve_fds = match given!(p, FLAGS, "preserve-fds") {
        // Descriptors are ints: 3 + N must stay one (never cut to 32 bits, never wrapped).
        Some(v) => match super::number(v.to_bytes(), t!("--preserve-fds"))? {
            n if n <= (i32::MAX - 3) as u64 => n as u32,
            _ => return Err(Error::msg(t!("--preserve-fds"), v.to_bytes(), t!("out of range (descriptors end at 2^31)"))),
        },
        None => 0,
    };
    let mut cg = Buf::<{ cgroup::PATH }>::new();
    cg.s(st.cgroup);
    if let Some(sub) = given!(p, FLAGS, "cgroup") {
        sub_cgroup(&mut cg, sub.to_bytes())?;
    }

    // What the child will join, opened now (as host root, before any namespace is joined).
    let mut join = Join { pidfd, flags: 0, fds: heapless::Vec::new(), root: None };
    let mut nsp = Buf::<64>::new();
    for (name, flag) in NAMESPACES {
        nsp.clear();
        nsp.s(b"/proc/").u(pid as u64).s(b"/ns/").s(name.to_bytes());
        let path = nsp.cstr().fits(t!("namespace path:"))?;
        let theirs = fs::stat(path);
        let mut ours = Buf::<32>::new();
        ours.s(b"/proc/self/ns/").s(name.to_bytes());
        match (theirs, fs::stat(ours.cstr().fits(t!("namespace path:"))?)) {
            (Ok(t), Ok(o)) if (t.st_dev, t.st_ino) != (o.st_dev, o.st_ino) => {
                join.flags |= flag;
                let fd = fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()).ctx(t!("open"), path.to_bytes())?;
                let _ = join.fds.push((fd, flag));
            }
            (Err(e), _) if e != Errno::NOENT => return Err(Error::sys(t!("stat"), path.to_bytes(), e)),
            _ => {}
        }
    }
    nsp.clear();
    nsp.s(b"/proc/").u(pid as u64).s(b"/root");
    join.root = Some(fs::open(nsp.cstr().fits(t!("root path:"))?, OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty()).ctx(t!("open"), nsp.lossy())?);
    // Still the same process (same start time): what was opened by pid is the container's.
    if !st.alive() {
        return Err(Error::say(t!("cannot exec in a stopped container"), t!("")));
    }
    // The PID namespace applies to our children: join it here, so that our one child is born in
    // it (and stays our child, to wait for).
    if join.flags & g::CLONE_NEWPID != 0 {
        let via_pidfd = join.pidfd.as_ref().is_some_and(|f| raw::setns(f.fd(), g::CLONE_NEWPID).is_ok());
        if !via_pidfd {
            let fd = join.fds.iter().find(|(_, f)| *f == g::CLONE_NEWPID).map(|(fd, _)| fd.fd());
            raw::setns(fd.ok_or(Errno::BADF).ctx(t!("join pid namespace of"), st.id)?, g::CLONE_NEWPID).ctx(t!("join pid namespace of"), st.id)?;
        }
    }
    // No state-dir descriptor (nor its lock) goes into the child; `state`/`kill` may run again.
    drop(dir);

    // In the foreground, signals for the process wait (blocked) until we forward them: from the
    // fork on, one that came early must not kill us instead. The child unblocks them at exec.
    if !given!(p, FLAGS, "detach").is_some() {
        sig::sigprocmask(How::Block, &SigSet::CATCHABLE).ctx(t!("sigprocmask"), "exec")?;
    }
    let (ours, theirs) = net::socketpair(AddressFamily::UNIX, SocketType::SEQPACKET, SocketFlags::CLOEXEC, None).ctx(t!("socketpair"), "sync")?;
    // Pure v2: born in the cgroup (CLONE_INTO_CGROUP). Elsewhere, or where clone3 is missing
    // (qemu-user), fork and the parent writes the pid to cgroup.procs before the child goes on.
    let mut cgp = Buf::<{ cgroup::PATH + 32 }>::new();
    cgp.s(cgroup::ROOT).s(cg.get().fits(t!("--cgroup path:"))?);
    let into = if crate::cgroup::resources::Layout::detect().v2 {
        fs::open(cgp.cstr().fits(t!("--cgroup path:"))?, OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty()).ok()
    } else {
        None
    };
    // execCPUAffinity.initial: ours, inherited by the child until it is in the cgroup.
    process::cpu_affinity(&proc, 0)?;
    let (child, joined) = match into.as_ref().map(|fd| raw::clone3(g::CLONE_INTO_CGROUP, Some(fd.fd()))) {
        Some(Ok((c, _))) => (c, true),
        _ => (raw::fork().ctx(t!("fork"), "exec")?, false),
    };
    if child == 0 {
        drop(ours);
        drop(into);
        let e = match child_setup(&theirs, &join, &spec, &proc, filter, console_sock.as_ref(), preserve_fds) {
            Ok(never) => match never {},
            Err(e) => e,
        };
        let _ = spawn::send_error(&theirs, &e);
        raw::exit(1)
    }
    drop(theirs);
    drop(join);
    drop(console_sock);
    let r = (|| {
        if !joined {
            cgroup::join(cg.lossy(), child)?;
        }
        process::oom_score_adj(&proc, child)?;
        spawn::go(&ours, 0)?;
        // EXEC then EOF: the socket closed on exec. An error: the child failed and says why.
        spawn::wait_exec(&ours)?;
        // A process the engine cannot know of (no pid file) is ended, as runc does.
        create::pid_file(given!(p, FLAGS, "pid-file"), child)?;
        // The master, sent before exec (only in a foreground exec with a terminal).
        own_console.as_ref().map(console::receive).transpose()
    })();
    let master = match r {
        Ok(m) => m,
        Err(e) => {
            let _ = mote_sys::sig::kill(child as i32, 9);
            let _ = mote_sys::sig::waitpid(child as i32, g::__WALL);
            return Err(e);
        }
    };
    if given!(p, FLAGS, "detach").is_some() {
        return Ok(0);
    }
    Ok(super::run::wait_for(child, child, master.as_ref(), Some(spec)))
}

/// What the child joins: the namespaces that differ from ours (by pidfd, or the fds), the root.
struct Join {
    pidfd: Option<OwnedFd>,
    flags: u32,
    fds: heapless::Vec<(OwnedFd, u32), 8>,
    root: Option<OwnedFd>,
}

fn child_setup(sock: &OwnedFd, j: &Join, spec: &Spec<'_>, proc: &Process<'_>, filter: Option<&seccomp::Program>, console_sock: Option<&OwnedFd>, preserve_fds: u32) -> Result<spawn::Never> {
    spawn::wait_go(sock)?;
    // What must be undone before exec (see process::inherited), read while /proc is still the
    // host's; a user namespace joined below gives every capability to the bounding set.
    let inherited = process::inherited().map(|mut i| {
        if j.flags & g::CLONE_NEWUSER != 0 {
            i.bounding = !0;
        }
        i
    });
    // rlimits, personality: while we are still the host's root (runc too: a user namespace
    // would refuse raising a hard limit). oomScoreAdj was written by the parent.
    process::privileged(proc, spec.linux.personality)?;
    // A process sharing its fs_struct (qemu-user's threads) may not change mount namespace.
    let _ = raw::unshare(g::CLONE_FS);
    let flags = j.flags & !g::CLONE_NEWPID;
    let all_at_once = j.pidfd.as_ref().is_some_and(|f| flags != 0 && raw::setns(f.fd(), flags).is_ok());
    if !all_at_once {
        for (fd, flag) in j.fds.iter().filter(|(_, f)| flags & f != 0) {
            raw::setns(fd.fd(), *flag).map_err(|e| {
                let mut er = Error::sys(t!("join namespace"), "", e);
                er.path(|p| { p.s(NAMESPACES.iter().find(|n| n.1 == *flag).map_or(&b"?"[..], |n| n.0.to_bytes())); });
                er
            })?;
        }
    }
    // In the container's user namespace, its root at once (as create): /proc/self/...,
    // /dev/ptmx and every path the container controls are then reached as that root.
    if j.flags & g::CLONE_NEWUSER != 0 {
        process::user_ns_root()?;
    }
    // The container's root as its process sees it (a --no-pivot container is chrooted inside
    // its mount namespace); from here on no host directory is reachable.
    if let Some(r) = &j.root {
        rp::fchdir(r).ctx(t!("chdir"), "container root")?;
        rp::chroot(c".").ctx(t!("chroot"), "container root")?;
    }
    // Nothing of the host stays open but stdio, the preserved descriptors and our sync and
    // console sockets (CVE-2024-21626: no way out through /proc/self/fd as the cwd). The
    // namespace and root descriptors of `j` are spent; this process never drops them.
    {
        use mote_sys::rustix::fd::AsRawFd;
        let keep = [sock.as_raw_fd() as u32, console_sock.map_or(0, |c| c.as_raw_fd() as u32)];
        process::close_others(3 + preserve_fds, &keep)?;
    }
    process::cpu_affinity(proc, 1)?;
    if let Some(c) = console_sock {
        console::setup(c.fd(), proc, false)?;
    }
    process::scheduling(proc, &spec.linux)?;
    let early_cwd = rp::chdir(proc.cwd);
    let mut exe = Buf::<{ limits::PATH }>::new();
    process::find_exec(proc, &mut exe)?;
    // HOME as in create: from the container's /etc/passwd (we are in its root now).
    let mut home = Buf::<{ limits::PATH + 8 }>::new();
    process::home(proc, &mut home);
    process::stdio_owner(proc.uid, proc.gid);
    crate::linux::lsm::exec_labels(proc)?;
    // The container's seccomp filter, in create's order: without no_new_privs while
    // CAP_SYS_ADMIN is still held, else last before exec.
    let nnp = proc.no_new_privileges;
    process::before_exec(preserve_fds, inherited.map(|i| i.signals))?;
    // EXEC goes to the parent before any filter is on (one may deny the send): from there only
    // an error message, or the exec, follows.
    let early_filter = filter.is_some() && !nnp;
    if early_filter {
        spawn::exec_next(sock)?;
    }
    if let Some(f) = filter.filter(|_| !nnp) {
        seccomp::install(f, false)?;
    }
    process::user_and_caps(proc, inherited)?;
    match rp::chdir(proc.cwd) {
        Ok(()) => {}
        Err(_) if early_cwd.is_ok() => {}
        Err(e) => return Err(Error::sys(t!("chdir"), proc.cwd.to_bytes(), e)),
    }
    process::check_cwd(proc.cwd)?;
    if !early_filter {
        spawn::exec_next(sock)?;
    }
    if let Some(f) = filter.filter(|_| nnp) {
        seccomp::install(f, false)?;
    }
    Err(process::exec(&mut exe, proc, &mut home))
}

/// The command-line flags on top of the process (runc's getProcess).
fn apply_flags(p: &Parsed, pr: &mut Process<'static>) -> Result<()> {
    if given!(p, FLAGS, "tty").is_some() {
        pr.terminal = true;
    }
    if let Some(c) = given!(p, FLAGS, "cwd") {
        if c.to_bytes().first() != Some(&b'/') {
            return Err(Error::msg(t!("--cwd"), c.to_bytes(), t!("must be an absolute path")));
        }
        pr.cwd = c;
    }
    for e in p.each_at(const { super::index(FLAGS, "env") }) {
        // A variable given again replaces the config's (execve would keep both, and the first wins).
        let b = e.to_bytes();
        if let Some(eq) = b.iter().position(|&c| c == b'=') {
            pr.env.retain(|x| !x.to_bytes().starts_with(&b[..=eq]));
        }
        pr.env.push(e).map_err(|_| Error::msg(t!("--env"), b, t!("more than 512 variables (spec/limits.rs ENV)")))?;
    }
    if let Some(u) = given!(p, FLAGS, "user") {
        let b = u.to_bytes();
        let (uid, gid) = match b.iter().position(|&c| c == b':') {
            Some(i) => (&b[..i], Some(&b[i + 1..])),
            None => (b, None),
        };
        pr.uid = num(uid, t!("--user"))?;
        // runc: without ":GID" the process keeps its gid.
        if let Some(g) = gid {
            pr.gid = num(g, t!("--user"))?;
        }
    }
    for gid in p.each_at(const { super::index(FLAGS, "additional-gids") }) {
        let n = num(gid.to_bytes(), t!("--additional-gids"))?;
        pr.additional_gids.push(n).map_err(|_| Error::msg(t!("--additional-gids"), gid.to_bytes(), t!("more than 64 (spec/limits.rs ADDITIONAL_GIDS)")))?;
    }
    for c in p.each_at(const { super::index(FLAGS, "cap") }) {
        let bit = spec::cap_number(c.to_bytes()).ok_or_else(|| Error::msg(t!("--cap"), c.to_bytes(), t!("unknown capability")))?;
        // runc's sets: bounding, effective, permitted and ambient (not inheritable, so for a
        // non-root user the ambient raise is refused and skipped, as with runc).
        for i in [0, 1, 3, 4] {
            pr.caps[i] |= 1 << bit;
        }
    }
    if given!(p, FLAGS, "no-new-privs").is_some() {
        pr.no_new_privileges = true;
    }
    Ok(())
}

fn num(b: &[u8], what: Txt) -> Result<u32> {
    // Leading zeros too: nothing past the longest decimal a u64 has is a number mote reads.
    if b.len() > 20 {
        return Err(Error::msg(what, b, t!("too long")));
    }
    let n = super::number(b, what)?;
    u32::try_from(n).map_err(|_| Error::msg(what, b, t!("out of range")))
}

/// --cgroup SUB: an existing cgroup under the container's (runc's [controller:]path; mote's
/// cgroups are the same path in every hierarchy, so a controller prefix is refused).
fn sub_cgroup(cg: &mut Buf<{ cgroup::PATH }>, sub: &[u8]) -> Result<()> {
    if sub.contains(&b':') {
        return Err(Error::msg(t!("--cgroup"), sub, t!("controller:path is not supported (give a path under the container's cgroup)")));
    }
    for c in cgroup::on(sub, b'/').filter(|c| !c.is_empty() && *c != b".") {
        if c == b".." {
            return Err(Error::msg(t!("--cgroup"), sub, t!("must not contain ..")));
        }
        cg.c(b'/').s(c);
    }
    if cg.overflowed() {
        return Err(Error::msg(t!("--cgroup"), sub, t!("path too long")));
    }
    Ok(())
}
