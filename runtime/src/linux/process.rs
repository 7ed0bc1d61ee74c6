//! The container process's own settings, applied last in the child: rlimits, oom score,
//! personality, user and groups, capabilities, no_new_privs, umask, cwd; then exec.

use core::ffi::CStr;

use mote_sys::io::Buf;
use mote_sys::linux_raw_sys::general as g;
use mote_sys::linux_raw_sys::prctl as pr;
use mote_sys::raw::{self, CArray, Errno};
use mote_sys::rustix::fs::{self, Access, FileType, Mode, OFlags, CWD};
use mote_sys::rustix::process::{self, Resource, Rlimit};

use crate::error::{Ctx, Error, Result, Txt};
use crate::spec::{self, limits, Linux, Process};

const DEFAULT_PATH: &[u8] = b"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Settings that need privilege: before the user switch (oomScoreAdj: see [`oom_score_adj`]).
pub fn privileged(p: &Process<'_>, personality: Option<u32>) -> Result<()> {
    for r in &p.rlimits {
        let res = resource(r.resource);
        process::setrlimit(res, Rlimit { current: Some(r.soft), maximum: Some(r.hard) }).map_err(|e| {
            Error::sys(t!("setrlimit RLIMIT_"), crate::spec::rlimit_name(r.resource), e)
        })?;
    }
    if let Some(pers) = personality {
        raw::personality(pers).ctx(t!("personality"), "linux.personality")?;
    }
    Ok(())
}

/// process.oomScoreAdj of our child `pid`, written by the parent (host root, the host's /proc)
/// before the child goes on: in a user namespace the child could neither lower it nor open its
/// own file (a non-dumpable process's /proc files are the host root's). Inherited by the
/// processes it forks, as runc's (written before the user namespace is entered).
pub fn oom_score_adj(p: &Process<'_>, pid: u32) -> Result<()> {
    let Some(adj) = p.oom_score_adj else { return Ok(()) };
    let mut path = Buf::<32>::new();
    path.u(pid as u64).s(b"/oom_score_adj");
    let mut v = Buf::<16>::new();
    v.i(adj as i64);
    super::procfs::write(path.lossy(), v.lossy())
}

/// Just inside a user namespace (made or joined): its root at once, as runc. Until the user
/// switch we would otherwise keep the host's root uid and groups, the owner of host files a
/// volume shows, for every path the container controls. setgroups is refused where the
/// namespace denies it: user_and_caps fails then if the process needs groups.
pub fn user_ns_root() -> Result<()> {
    let _ = raw::setgroups(&[]);
    raw::setresgid(0, 0, 0).ctx(t!("setresgid in user namespace"), "gid 0")?;
    raw::setresuid(0, 0, 0).ctx(t!("setresuid in user namespace"), "uid 0")?;
    // The switch made us dumpable again (fs.suid_dumpable): off at once, not only at the user
    // switch, which is skipped when the process's user is this one ([`user_and_caps`]).
    raw::prctl(pr::PR_SET_DUMPABLE, 0, 0, 0, 0).ctx(t!("prctl"), "PR_SET_DUMPABLE").map(drop)
}

/// Scheduling and memory placement, still privileged (a real-time policy needs CAP_SYS_NICE):
/// process.ioPriority, process.scheduler, linux.memoryPolicy.
#[inline(never)]
pub fn scheduling(p: &Process<'_>, l: &Linux<'_>) -> Result<()> {
    if let Some(prio) = p.io_priority {
        raw::ioprio_set(prio).ctx(t!("ioprio_set"), "process.ioPriority")?;
    }
    if let Some(s) = p.scheduler {
        // struct sched_attr (little-endian: every mote target): size, policy, flags, nice,
        // priority, runtime, deadline, period.
        let attr = [48 | (s.policy as u64) << 32, s.flags, s.nice as u32 as u64 | (s.priority as u64) << 32, s.runtime, s.deadline, s.period];
        raw::sched_setattr(&attr).ctx(t!("sched_setattr"), "process.scheduler")?;
    }
    if let Some((mode, nodes)) = l.memory_policy {
        let mut mask = [0u64; spec::MASK_WORDS];
        if let Some(n) = nodes {
            spec::bitmask(n.to_bytes(), &mut mask);
        }
        raw::set_mempolicy(mode, &mask).ctx(t!("set_mempolicy"), "linux.memoryPolicy")?;
    }
    Ok(())
}

/// process.execCPUAffinity: `which` 0 is the initial set (before the cgroup join), 1 the final.
#[inline(never)]
pub fn cpu_affinity(p: &Process<'_>, which: usize) -> Result<()> {
    let Some(list) = p.cpu_affinity[which] else { return Ok(()) };
    let mut mask = [0u64; spec::MASK_WORDS];
    spec::bitmask(list.to_bytes(), &mut mask);
    let field = if which == 0 { "process.execCPUAffinity.initial" } else { "process.execCPUAffinity.final" };
    raw::sched_setaffinity(&mask).ctx(t!("sched_setaffinity"), field)
}

fn resource(r: u32) -> Resource {
    match r {
        0 => Resource::Cpu,
        1 => Resource::Fsize,
        2 => Resource::Data,
        3 => Resource::Stack,
        4 => Resource::Core,
        5 => Resource::Rss,
        6 => Resource::Nproc,
        7 => Resource::Nofile,
        8 => Resource::Memlock,
        9 => Resource::As,
        10 => Resource::Locks,
        11 => Resource::Sigpending,
        12 => Resource::Msgqueue,
        13 => Resource::Nice,
        14 => Resource::Rtprio,
        _ => Resource::Rttime,
    }
}

/// What the process inherited that must be undone before exec, from one read of its own
/// /proc/self/status: the signals not at their default action (SigIgn, SigCgt) and the bounding
/// set (CapBnd: in a user namespace made or joined, every capability the kernel has).
#[derive(Clone, Copy)]
pub struct Inherited {
    pub signals: u64,
    pub bounding: u64,
    /// Whether every uid and gid (real, effective, saved, filesystem) is 0, and whether there
    /// is no supplementary group: a switch to root, or to no groups, is then no change to make.
    pub root: bool,
    pub no_groups: bool,
}

/// Reads [`Inherited`] (one open, one read, one close) from the /proc mote runs with. Called in
/// the child once its user namespace is set (exec's: before it joins one, and counts the whole
/// bounding set if it does) and before anything of the container is mounted, never through a
/// /proc the container controls (a forged CapBnd would keep capabilities).
/// None if it cannot be read whole: then every signal and capability is reset one by one.
#[inline(never)]
pub fn inherited() -> Option<Inherited> {
    let f = fs::open(c"/proc/self/status", OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()).ok()?;
    let mut b = [0u8; 4096];
    let n = mote_sys::rustix::io::read(&f, &mut b[..]).ok()?; // (as a slice: the one instance of read for slices)
    // Only whole lines count (a line the read cut has no newline after it): every field below
    // must be seen, once.
    let end = b[..n].iter().rposition(|&c| c == b'\n')?;
    let (mut hex, mut seen) = ([0u64; 3], 0);
    let mut i = Inherited { signals: 0, bounding: 0, root: false, no_groups: false };
    let mut root = 0;
    for l in b[..end].split(|&c| c == b'\n') {
        let Some(c) = l.iter().position(|&c| c == b':') else { continue };
        let v = l[c + 1..].trim_ascii();
        match crate::json::find(&l[..c], "Uid\0Gid\0Groups\0SigIgn\0SigCgt\0CapBnd\0") {
            0 | 1 => root += (v == b"0\t0\t0\t0") as u32,
            2 => i.no_groups = v.is_empty(),
            k @ 3..=5 => {
                let at = k - 3;
                if v.is_empty() || v.len() > 16 || seen & 1 << at != 0 {
                    return None;
                }
                hex[at] = v.iter().try_fold(0u64, |x, &c| Some(x << 4 | (c as char).to_digit(16)? as u64))?;
                seen |= 1 << at;
            }
            _ => {}
        }
    }
    i.signals = hex[0] | hex[1];
    i.bounding = hex[2];
    i.root = root == 2;
    (seen == 7).then_some(i)
}

/// Switches to the configured user and capability sets (runc's order: bounding set while still
/// privileged, keep caps across setuid, then the other sets, then ambient). Every set is applied,
/// an empty one too: nothing the config does not grant survives, bounding included. `present`
/// is the bounding set the process has ([`inherited`]): only those are dropped; None tries
/// every capability up to the kernel's last.
pub fn user_and_caps(p: &Process<'_>, inherited: Option<Inherited>) -> Result<()> {
    let [bounding, effective, inheritable, permitted, ambient] = p.caps;
    let present = inherited.map(|i| i.bounding);
    for cap in 0..64u32 {
        if bounding & (1 << cap) == 0 && present.is_none_or(|h| h & (1 << cap) != 0) {
            match raw::prctl(pr::PR_CAPBSET_DROP, cap as usize, 0, 0, 0) {
                Ok(_) => {}
                Err(Errno::INVAL) => break, // past the kernel's last capability
                Err(e) => return Err(Error::sys(t!("drop from bounding set:"), cap_str(cap).lossy(), e)),
            }
        }
    }
    // Already the user asked for (root): nothing changes, no capability is lost
    // and dumpable stays off, so the switch and what guards it are skipped.
    let no_groups = p.additional_gids.is_empty() && inherited.is_some_and(|i| i.no_groups);
    if !no_groups {
        match raw::setgroups(&p.additional_gids) {
            Ok(()) => {}
            // setgroups is denied in a user namespace whose /proc/PID/setgroups says deny.
            Err(Errno::PERM) if p.additional_gids.is_empty() => {}
            Err(e) => return Err(Error::sys(t!("setgroups"), "process.user.additionalGids", e)),
        }
    }
    if !(p.uid == 0 && p.gid == 0 && inherited.is_some_and(|i| i.root)) {
        raw::prctl(pr::PR_SET_KEEPCAPS, 1, 0, 0, 0).ctx(t!("prctl"), "PR_SET_KEEPCAPS")?;
        raw::setresgid(p.gid, p.gid, p.gid).ctx(t!("setgid"), "process.user.gid")?;
        raw::setresuid(p.uid, p.uid, p.uid).ctx(t!("setuid"), "process.user.uid")?;
        // The uid change resets "dumpable" to fs.suid_dumpable: where a host has it at 1, the
        // process waiting for start would be ptrace-able by any process of that uid until its exec.
        raw::prctl(pr::PR_SET_DUMPABLE, 0, 0, 0, 0).ctx(t!("prctl"), "PR_SET_DUMPABLE")?;
        raw::prctl(pr::PR_SET_KEEPCAPS, 0, 0, 0, 0).ctx(t!("prctl"), "PR_SET_KEEPCAPS")?;
    }
    raw::capset(effective, permitted, inheritable).ctx(t!("capset"), "process.capabilities")?;
    match raw::prctl(pr::PR_CAP_AMBIENT, pr::PR_CAP_AMBIENT_CLEAR_ALL as usize, 0, 0, 0) {
        Ok(_) | Err(Errno::INVAL) => {} // EINVAL: a kernel without ambient capabilities (< 4.3)
        Err(e) => return Err(Error::sys(t!("prctl"), "PR_CAP_AMBIENT_CLEAR_ALL", e)),
    }
    for cap in 0..64u32 {
        if ambient & (1 << cap) != 0 {
            // A capability missing from permitted or inheritable cannot be ambient: runc's
            // own `runc spec` asks for that, so the kernel's EPERM is not an error (as crun).
            match raw::prctl(pr::PR_CAP_AMBIENT, pr::PR_CAP_AMBIENT_RAISE as usize, cap as usize, 0, 0) {
                Ok(_) | Err(Errno::PERM | Errno::INVAL) => {}
                Err(e) => return Err(Error::sys(t!("raise ambient capability"), cap_str(cap).lossy(), e)),
            }
        }
    }
    if p.no_new_privileges {
        raw::prctl(pr::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0).ctx(t!("prctl"), "PR_SET_NO_NEW_PRIVS")?;
    }
    if let Some(m) = p.umask {
        process::umask(Mode::from_raw_mode(m & 0o777));
    }
    Ok(())
}

/// "CAP_NAME" of capability `bit`, for messages.
fn cap_str(bit: u32) -> Buf<32> {
    let mut b = Buf::new();
    b.s(b"CAP_").s(crate::spec::cap_name(bit));
    b
}

/// Finds args[0] as execvp would, in the PATH of the process's environment; the result is
/// written to `out`. Checked before "ready" so that create fails, not start.
pub fn find_exec(p: &Process<'_>, out: &mut Buf<{ limits::PATH }>) -> Result<()> {
    let arg0 = p.args.first().ok_or_else(|| Error::msg(t!("config.json:"), "process.args", t!("must not be empty")))?.to_bytes();
    let not_found = |why: Txt| {
        let mut e = Error::say(t!("exec:"), why);
        e.path(|p| { p.c(b'"').s(arg0).c(b'"'); });
        e
    };
    if arg0.contains(&b'/') {
        out.s(arg0);
        return check_exec(out).map_err(|e| {
            let mut er = not_found(t!(""));
            er.set_errno(Some(e));
            er
        });
    }
    let path = p.env.iter().find_map(|e| e.to_bytes().strip_prefix(b"PATH=")).unwrap_or(DEFAULT_PATH);
    for dir in path.split(|&c| c == b':') {
        out.clear();
        out.s(if dir.is_empty() { b"." } else { dir }).c(b'/').s(arg0);
        if check_exec(out).is_ok() {
            return Ok(());
        }
    }
    Err(not_found(t!("executable file not found in $PATH")))
}

fn check_exec(p: &mut Buf<{ limits::PATH }>) -> core::result::Result<(), Errno> {
    // A PATH entry plus the name longer than mote's buffer: as the kernel would say.
    let p = p.cstr().map_err(|_| Errno::NAMETOOLONG)?;
    let st = fs::statat(CWD, p, fs::AtFlags::empty())?;
    if FileType::from_raw_mode(st.st_mode) == FileType::Directory {
        return Err(Errno::ACCESS);
    }
    fs::accessat(CWD, p, Access::EXEC_OK, fs::AtFlags::EACCESS)
}

/// Lets the process run on every CPU its cgroup allows (the kernel intersects an all-CPUs mask
/// with the cpuset), not only on those mote was started on: a `taskset` around the engine
/// must not pin every container (runc does the same). Best effort, as in runc.
pub fn reset_affinity() {
    use mote_sys::rustix::thread::{sched_setaffinity, CpuSet};
    let mut all = CpuSet::new();
    for cpu in 0..CpuSet::MAX_CPU {
        all.set(cpu);
    }
    let _ = sched_setaffinity(None, &all);
}

/// The open descriptors >= `first`, listed from /proc/self/fd (for kernels without close_range),
/// each given to `each` (the listing's own descriptor excluded).
fn fd_walk(first: u32, each: &mut dyn FnMut(u32) -> core::result::Result<(), Errno>) -> core::result::Result<(), Errno> {
    use mote_sys::rustix::fd::AsRawFd;
    let dir = fs::open(c"/proc/self/fd", OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())?;
    let mut buf = [core::mem::MaybeUninit::<u8>::uninit(); 2048];
    let mut d = fs::RawDir::new(&dir, &mut buf);
    while let Some(e) = d.next() {
        let e = e?;
        let Some(n) = mote_sys::num::parse::<u32>(e.file_name().to_bytes()) else { continue };
        if n >= first && n != dir.as_raw_fd() as u32 {
            each(n)?;
        }
    }
    Ok(())
}

/// Closes every descriptor from `first` on except those in `keep`: what the runtime or its caller
/// left open must not be reachable through /proc/self/fd while the child resolves paths and its
/// cwd (the CVE-2024-21626 class). CLOEXEC is not enough: the descriptors live until exec.
#[inline(never)]
pub fn close_others(first: u32, keep: &[u32]) -> Result<()> {
    let mut lo = first;
    loop {
        // The next kept descriptor at or after `lo` (a handful: no sort needed).
        let hi = keep.iter().copied().filter(|&k| k >= lo).min().unwrap_or(u32::MAX);
        if hi > lo {
            let last = if hi == u32::MAX { u32::MAX } else { hi - 1 };
            match raw::close_range(lo, last) {
                Ok(()) => {}
                // Before Linux 5.9: one by one, from the listing.
                Err(Errno::NOSYS) => fd_walk(lo, &mut |n| if n <= last { raw::close_fd(n) } else { Ok(()) })
                    .ctx(t!("close inherited descriptors"), "/proc/self/fd")?,
                Err(e) => return Err(Error::sys(t!("close inherited descriptors"), "close_range", e)),
            }
        }
        if hi == u32::MAX {
            return Ok(());
        }
        lo = hi + 1;
    }
}

/// Fails unless the cwd is inside the container's root: a directory reached through a
/// descriptor of the host (/proc/self/fd/N) reads as "(unreachable)/..." from getcwd.
#[inline(never)]
pub fn check_cwd(cwd: &CStr) -> Result<()> {
    let mut b = [0u8; limits::PATH];
    let n = raw::getcwd(&mut b).ctx(t!("getcwd after chdir to"), cwd.to_bytes())?;
    if b[..n].first() != Some(&b'/') {
        return Err(Error::msg(t!("process.cwd"), cwd.to_bytes(), t!("is outside the container's root (refused)")));
    }
    Ok(())
}

/// Gives stdio to the container's user (runc's fixStdioPermissions): a non-root process that
/// reopens /dev/stdout (/proc/self/fd/1: the engine's pipe or pty) must be allowed to. Not
/// /dev/null, and not when the kernel refuses (a descriptor of another user namespace's owner).
pub fn stdio_owner(uid: u32, gid: u32) {
    if uid == 0 && gid == 0 {
        return;
    }
    for n in 0..3 {
        let fd = mote_sys::io::fd(n);
        let Ok(st) = fs::fstat(fd) else { continue };
        if FileType::from_raw_mode(st.st_mode) == FileType::CharacterDevice && st.st_rdev == fs::makedev(1, 3) {
            continue;
        }
        let _ = fs::fchown(fd, Some(fs::Uid::from_raw(uid)), Some(fs::Gid::from_raw(gid)));
    }
}

/// `HOME=...` for a process whose env has no HOME (runc's and crun's rule): its uid's home in
/// the rootfs's /etc/passwd, `/` when the file or the uid is not there. Called after the switch
/// of root, as root; only a regular file is read (a FIFO planted there would block us).
pub fn home(p: &Process<'_>, out: &mut Buf<{ limits::PATH + 8 }>) {
    if p.env.iter().any(|e| e.to_bytes().starts_with(b"HOME=")) {
        return;
    }
    out.s(b"HOME=");
    let start = out.len();
    if !passwd_home(p.uid, out) || out.len() == start || out.overflowed() {
        out.truncate(start);
        out.s(b"/");
    }
}

/// Appends the home directory of `uid` from /etc/passwd to `out`; false if not found.
fn passwd_home(uid: u32, out: &mut Buf<{ limits::PATH + 8 }>) -> bool {
    let flags = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NONBLOCK | OFlags::NOCTTY;
    let Ok(f) = fs::open(c"/etc/passwd", flags, Mode::empty()) else { return false };
    if !fs::fstat(&f).is_ok_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::RegularFile) {
        return false;
    }
    // name:password:UID:GID:gecos:HOME:shell, one per line, read a buffer at a time.
    let mut want = Buf::<12>::new();
    want.u(uid as u64);
    let mut buf = [0u8; 8192];
    let mut have = 0;
    loop {
        let n = match mote_sys::rustix::io::read(&f, &mut buf[have..]) {
            Ok(n) => n,
            Err(Errno::INTR) => continue,
            Err(_) => return false,
        };
        let end = have + n;
        let mut lines = buf[..end].split(|&c| c == b'\n').peekable();
        let mut used = 0;
        while let Some(line) = lines.next() {
            // The last piece is a line only at the end of the file.
            if lines.peek().is_none() && n != 0 {
                break;
            }
            if let Some(h) = passwd_field(line, want.lossy()) {
                out.s(h);
                return true;
            }
            used += line.len() + 1;
        }
        // (A line longer than the buffer ends the search: no user has one.)
        if n == 0 || (used == 0 && end == buf.len()) {
            return false;
        }
        buf.copy_within(used.min(end)..end, 0);
        have = end - used.min(end);
    }
}

/// Field HOME of passwd line `line` if its UID field is `uid`.
fn passwd_field<'l>(line: &'l [u8], uid: &[u8]) -> Option<&'l [u8]> {
    let mut fields = line.split(|&c| c == b':');
    if fields.nth(2)? != uid {
        return None;
    }
    fields.nth(2)
}

/// Marks every descriptor past the preserved ones close-on-exec and resets signal handling.
/// Called before the seccomp filter goes on (as runc does): a profile that denies or fakes
/// close_range or rt_sigaction, which the container's program may never call, must neither kill
/// it nor leave mote's descriptors open in it.
pub fn before_exec(preserve_fds: u32, signals: Option<u64>) -> Result<()> {
    // preserve_fds is bounded by limits::PRESERVE_FDS (exec: below 2^31 - 3): no overflow.
    if raw::cloexec_range(3 + preserve_fds, u32::MAX).is_err() {
        // Kernels before 5.11 (or a sandbox) without close_range: each descriptor by hand.
        use mote_sys::rustix::io::{fcntl_getfd, fcntl_setfd, FdFlags};
        fd_walk(3 + preserve_fds, &mut |n| {
            let fd = mote_sys::io::fd(n as i32);
            fcntl_getfd(fd).and_then(|f| fcntl_setfd(fd, f | FdFlags::CLOEXEC))
        })
        .ctx(t!("mark descriptors close-on-exec"), "/proc/self/fd")?;
    }
    // The process starts with default signal dispositions and an empty mask, whatever the
    // engine that ran mote had set (only those not at their default, when known: [`inherited`]).
    mote_sys::sig::reset_for_exec_of(mote_sys::sig::SigSet(signals.unwrap_or(!0)));
    Ok(())
}

/// Execs the process (after [`before_exec`]); `home` is the `HOME=` entry to add ([`home`]), if any.
pub fn exec(path: &mut Buf<{ limits::PATH }>, p: &Process<'_>, home: &mut Buf<{ limits::PATH + 8 }>) -> Error {
    let mut argv = CArray::<'_, { limits::ARGS + 1 }>::new();
    // Both arrays have room for their spec/limits.rs bound plus the terminating NULL (and PATH).
    for a in &p.args {
        if !argv.push(a) {
            return Error::msg(t!("exec:"), "process.args", t!("too many"));
        }
    }
    let mut envp = CArray::<'_, { limits::ENV + 3 }>::new();
    let has_path = p.env.iter().any(|e| e.to_bytes().starts_with(b"PATH="));
    let default_path: &CStr = c"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    for e in p.env.iter().copied().chain((!has_path).then_some(default_path)) {
        if !envp.push(e) {
            return Error::msg(t!("exec:"), "process.env", t!("too many"));
        }
    }
    // (home() never leaves it overflowed: an over-long home becomes "/")
    if let (false, Ok(h)) = (home.is_empty(), home.cstr()) {
        if !envp.push(h) {
            return Error::msg(t!("exec:"), "process.env", t!("too many"));
        }
    }
    let _ = g::S_IFREG;
    let e = match path.cstr() {
        Ok(c) => raw::exec(c, &argv, &envp),
        Err(_) => Errno::NAMETOOLONG,
    };
    let mut er = Error::sys(t!("exec"), path.lossy(), e);
    er.set_what(t!("exec"));
    er
}
