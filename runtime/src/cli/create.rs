//! `mote create [--bundle DIR] [--pid-file F] [--console-socket S] [--preserve-fds N]
//! [--no-pivot] [--no-new-keyring] ID`: the container's process is set up and waits for start.
//!
//! The create path, straight: state dir -> config -> cgroup -> spawn (child: namespaces, rootfs,
//! process, ready) -> state.json. Anything that fails undoes what was done before it.

use core::ffi::CStr;

use mote_sys::io::{self, Buf, Fd};
use mote_sys::rustix::fd::BorrowedFd;
use mote_sys::rustix::fs::{self, FileType, Mode, OFlags, CWD};
use mote_sys::rustix::process;
use mote_sys::Args;

use super::{flag, given, number, parse, Flag, Global, Parsed};
use crate::cgroup::{self, CgPath};
use crate::error::{Ctx, Error, Fits, Result};
use crate::hooks::{self, Hooks};
use crate::json;
use crate::linux::seccomp;
use crate::linux::spawn::{self, Setup};
use crate::log;
use crate::spec::{self, limits, Spec};
use crate::state::{self, Dir, FIFO};

pub const FLAGS: &[Flag] = &[
    flag("bundle", b'b', true),
    flag("pid-file", 0, true),
    flag("console-socket", 0, true),
    flag("preserve-fds", 0, true),
    flag("no-pivot", 0, false),
    flag("no-new-keyring", 0, false),
    flag("config", 0, true),
    flag("detach", b'd', false),
    flag("keep", 0, false),
    flag("no-subreaper", 0, false),
];

pub fn main(a: &Args, from: usize, g: &mut Global) -> Result<i32> {
    let p = parse(a, from, t!("create"), FLAGS, g, usize::MAX)?;
    let id = p.id(t!("create"))?;
    create(a, &p, g, id.to_bytes(), false, false, None)?;
    Ok(0)
}

/// A created container: its locked state dir and its process.
pub struct Created {
    pub dir: Dir,
    /// The container's process.
    pub pid: u32,
    /// Our child whose exit status is the process's (see spawn::Setup::relay_exit).
    pub waiter: u32,
    /// The config's hooks (run runs poststop when it deletes the container).
    pub hooks: Option<Hooks<'static>>,
    /// process.terminal was set.
    pub terminal: bool,
    /// The cgroup and its inode, as state.json says (run's final delete needs no read-back).
    pub cgroup: CgPath,
    pub cgroup_ino: u64,
    /// The parsed config, for a foreground run to give back while it waits (nothing reads it
    /// after create).
    pub spec: Option<&'static mut Spec<'static>>,
}

/// Creates container `id` as the flags in `p` say. `waits`: the caller exits only after the
/// process (a foreground run). `own_console`: the socket a foreground run receives the pty
/// master on, when there is no --console-socket.
#[allow(clippy::too_many_arguments)]
pub fn create(a: &Args, p: &Parsed, g: &Global, id: &[u8], relay_exit: bool, waits: bool, own_console: Option<BorrowedFd<'_>>) -> Result<Created> {
    let mut paths = PATHS.get().ok_or_else(|| Error::say(t!("create:"), t!("run twice (a bug)")))?;
    // --pid-file made absolute, the bundle directory, root.path (both absolute), the exec fifo.
    let [pid_path, bundle_abs, rootfs, fifo] = &mut *paths;
    // A relative --pid-file is the caller's, as in runc: made absolute before we move.
    if let Some(f) = given!(p, FLAGS, "pid-file") {
        if f.to_bytes().first() != Some(&b'/') {
            cwd(pid_path)?;
            pid_path.c(b'/');
        }
        pid_path.s(f.to_bytes());
        if pid_path.overflowed() {
            return Err(Error::msg(t!("--pid-file"), f.to_bytes(), t!("path too long")));
        }
    }
    // The bundle directory becomes our cwd: relative rootfs and mount sources resolve against it.
    let bundle = given!(p, FLAGS, "bundle").unwrap_or(c".");
    process::chdir(bundle).ctx(t!("bundle"), bundle.to_bytes())?;
    cwd(bundle_abs)?;
    // state.json and the hooks' state are JSON, UTF-8 only (json.rs refuses the rest): a bundle
    // path with other bytes would leave a state mote itself cannot read back.
    if !json::utf8(bundle_abs.lossy()) {
        return Err(Error::msg(t!("bundle"), bundle_abs.lossy(), t!("path not UTF-8 (JSON state)")));
    }

    // Config: read into the arena, validated and unescaped in place, parsed without copies.
    let cfg = given!(p, FLAGS, "config").unwrap_or(c"config.json");
    let buf = mote_sys::mem::take_arena().ok_or_else(|| Error::msg(t!("config"), cfg.to_bytes(), t!("read twice")))?;
    let doc = read_config(cfg, bundle_abs, buf)?;
    let spec = spec::parse(doc.0, doc.1)?;
    let proc = spec.process.as_ref().ok_or_else(|| Error::msg(t!("config.json:"), "process", t!("missing")))?;
    if proc.args.is_empty() {
        return Err(Error::msg(t!("config.json:"), "process.args", t!("must not be empty")));
    }
    if spec.linux.ns(mote_sys::linux_raw_sys::general::CLONE_NEWNS).is_none() {
        return Err(Error::msg(t!("config.json:"), "linux.namespaces", spec::MOUNT_NS_REQUIRED));
    }
    crate::linux::lsm::check(spec.process.as_ref(), spec.linux.mount_label)?;
    // A pty needs someone holding its master: the engine's socket, or mote itself in the
    // foreground; a detached or created container would get none (runc refuses it too).
    if proc.terminal && given!(p, FLAGS, "console-socket").is_none() && own_console.is_none() {
        return Err(Error::msg(t!("config.json:"), "process.terminal", t!("true needs --console-socket (or a foreground `mote run`, which proxies the terminal)")));
    }
    // The seccomp program is built and the kernel's support checked before anything is made.
    let mut filter = None;
    if let Some(sc) = &spec.linux.seccomp {
        let filter = filter.insert(seccomp::Program::lend()?);
        seccomp::compile(sc, filter)?;
        seccomp::probe(sc)?;
        let mut w = Buf::<512>::new();
        if seccomp::unknown(sc, &mut w) {
            log::warn_log(g, w.lossy()); // a warning: cut at its bound if need be
        }
    }
    let filter = filter.as_deref();
    if spec.root.to_bytes().first() != Some(&b'/') {
        rootfs.s(bundle_abs.get().fits(t!("bundle path:"))?).c(b'/');
    }
    rootfs.s(spec.root.to_bytes());
    // The C string from here on: the child's root path, and its bytes in state.json.
    let rootfs = rootfs.cstr().fits(t!("root.path:"))?;
    match fs::stat(rootfs) {
        Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::Directory => {}
        Ok(_) => return Err(Error::msg(t!("rootfs"), rootfs.to_bytes(), t!("not a directory"))),
        Err(e) => return Err(Error::sys(t!("rootfs"), rootfs.to_bytes(), e)),
    }
    let preserve_fds = match given!(p, FLAGS, "preserve-fds") {
        Some(v) => number(v.to_bytes(), t!("--preserve-fds"))?,
        None => 0,
    };
    // systemd socket activation: LISTEN_FDS descriptors pass through as runc does.
    let listen = match a.env(b"LISTEN_FDS") {
        Some(v) => number(v, t!("LISTEN_FDS"))?,
        None => 0,
    };
    // Passed descriptors are 3..3+N: N is bounded by the largest descriptor number there is.
    let preserve_fds = preserve_fds.checked_add(listen).filter(|n| *n <= limits::PRESERVE_FDS as u64).ok_or_else(|| {
        let mut e = Error::say(t!("--preserve-fds"), t!(""));
        e.path(|p| { p.t(t!("(with LISTEN_FDS): more than ")).u(limits::PRESERVE_FDS as u64); });
        e
    })? as u32;
    let cg = cgroup::path_for(spec.linux.cgroups_path.map(|c| c.to_bytes()), id)?;
    // linux.resources was read with the config; what this host cannot apply is refused now,
    // before anything exists that it would leave behind.
    if let Some(res) = &spec.linux.resources {
        cgroup::resources::check(res, &spec::P::ROOT.key("linux").key("resources"))?;
    }

    // From here on, everything made is undone on failure. The state dir appears locked and with
    // a state.json that names the cgroup before the cgroup exists: a create killed at any point
    // leaves what `delete --force` needs, and no other verb sees it half made.
    let mut st = state::json_buf()?;
    // One creation time for every write of state.json (and one clock read).
    let mut created = Buf::<40>::new();
    log::rfc3339(&mut created);
    let created = created.lossy();
    let fixed = Fixed { spec: &spec, id, bundle: bundle_abs, rootfs, cg: &cg, created };
    let first = match state_json(&mut st, &fixed, 0, 0, 0) {
        Ok(s) => s,
        Err(e) => {
            // Nothing exists yet; poststop hooks, which would need this state, are not run: said.
            if Hooks::of(&spec).is_some_and(|h| h.has("poststop")) {
                let mut w = Error::say(t!("poststop hooks not run:"), t!(""));
                w.path(|p| e.render(p));
                hooks::warn(g, &w);
            }
            return Err(e);
        }
    };
    let dir = Dir::create(g.root, id, first)?;
    drop(st);
    // Not destroyed on failure here: a cgroup this create did not make is not ours to kill
    // (cgroup::create removes what it made itself).
    let ino = match cgroup::create(cg.get().fits(t!("cgroup path:"))?) {
        Ok(ino) => ino,
        Err(e) => return Err(e.and(dir.remove())),
    };
    let hooks = Hooks::of(&spec);
    let pid_file = if pid_path.is_empty() { None } else { Some(pid_path.cstr().fits(t!("--pid-file:"))?) };
    match create_in(&dir, p, g, &fixed, ino, preserve_fds, relay_exit, waits, filter, own_console, pid_file, fifo) {
        Ok(child) => {
            let (pid, waiter, terminal) = (child.pid, child.waiter, proc.terminal);
            Ok(Created { dir, pid, waiter, hooks, terminal, cgroup: cg, cgroup_ino: ino, spec: waits.then_some(spec) })
        }
        Err(e) => {
            let e = e.and(cgroup::destroy(cg.lossy(), ino)).and(dir.remove());
            // The spec's lifecycle: a container that failed to be created is destroyed, then
            // its poststop hooks run (as runc's destroy does).
            if let Some(h) = hooks.filter(|h| h.has("poststop")) {
                let st = state::json_buf();
                match st.and_then(|mut st| hooks::state_json(&mut st, &spec, id, "stopped", 0, bundle_abs.lossy()).map(|()| st)) {
                    Ok(st) => h.run_warn(g, "poststop", st.get()),
                    Err(mut e) => {
                        e.set_what(t!("poststop hooks not run:"));
                        hooks::warn(g, &e)
                    }
                }
            }
            Err(e)
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn create_in(dir: &Dir, p: &Parsed, g: &Global, fixed: &Fixed<'_, '_>, ino: u64, preserve_fds: u32, relay_exit: bool, waits: bool, filter: Option<&seccomp::Program>, own_console: Option<BorrowedFd<'_>>, pid_path: Option<&CStr>, fifo: &mut Buf<{ limits::PATH }>) -> Result<spawn::Child> {
    let Fixed { spec, id, bundle, rootfs, cg, .. } = *fixed;
    write_state(dir, fixed, 0, 0, ino)?;
    dir.copy_config(given!(p, FLAGS, "config").unwrap_or(c"config.json"))?;
    fifo.s(dir.path.lossy()).c(b'/').s(FIFO.to_bytes());
    let fifo = fifo.cstr().fits(t!("exec fifo path:"))?;
    // 0600 whatever the umask: whoever may write to it starts the container.
    fs::mkfifoat(CWD, fifo, Mode::from_raw_mode(0o600)).ctx(t!("create exec fifo"), fifo.to_bytes())?;
    fs::chmod(fifo, Mode::from_raw_mode(0o600)).ctx(t!("chmod exec fifo"), fifo.to_bytes())?;
    if let Some(res) = &spec.linux.resources {
        cgroup::resources::apply(res, cg.lossy(), &spec::P::ROOT.key("linux").key("resources"), false)?;
    }
    if spec.linux.resources.as_ref().is_none_or(|r| r.devices.is_none()) {
        // No device rules in the config is not the host's every device: the container gets
        // what every container gets, as with runc (an `update` without devices keeps them).
        cgroup::devices::apply(cgroup::resources::Layout::detect().v2, cg.lossy(), &[])?;
    }
    log::debug(g, b"cgroup created");
    let fifo_fd = fs::open(fifo, OFlags::RDWR | OFlags::CLOEXEC, Mode::empty()).ctx(t!("open exec fifo"), fifo.to_bytes())?;
    let console = match given!(p, FLAGS, "console-socket") {
        Some(s) => Some(crate::linux::console::connect(s)?),
        None => None,
    };
    // SCMP_ACT_NOTIFY: the listener is connected now (a missing one fails create at once); the
    // child's notification descriptor goes to it with the container process state.
    let listener = match spec.linux.seccomp.as_ref().filter(|s| s.notifies()) {
        Some(sc) => Some(seccomp::connect_listener(sc.listener_path.unwrap_or(c""))?),
        None => None,
    };
    let notifying = listener.is_some();
    let conn = core::cell::Cell::new(listener);
    let hand = |pid: u32, fd: BorrowedFd<'_>| -> Result<()> {
        let Some(c) = conn.take() else { return Ok(()) };
        let mut st = state::json_buf()?;
        st.s(br#"{"ociVersion":"#).json(spec.oci_version).s(br#","fds":["seccompFd"],"pid":"#).u(pid as u64);
        if let Some(m) = spec.linux.seccomp.as_ref().and_then(|s| s.listener_metadata) {
            st.s(br#","metadata":"#).json(m.to_bytes());
        }
        st.s(br#","state":{"ociVersion":"#).json(spec.oci_version).s(br#","id":"#).json(id);
        st.s(br#","status":"creating","pid":"#).u(pid as u64).s(br#","bundle":"#).json(bundle.lossy());
        state::annotations(&mut st, spec);
        st.s(b"}}");
        seccomp::to_listener(c, fd, st.get().fits(t!("seccomp listener state:"))?)
    };
    let hooks = Hooks::of(spec);
    let hook_out = match &hooks {
        Some(h) => Some(h.open_out()?),
        None => None,
    };
    let mut keyring = Buf::<{ limits::ID + 8 }>::new();
    keyring.s(b"_ses.").s(id);
    let bind_sources = crate::linux::rootfs::open_bind_sources(spec)?;
    let ctx = Setup {
        spec,
        bind_sources: &bind_sources,
        rootfs,
        fifo: fifo_fd.fd(),
        console: console.as_ref().map(|c| c.fd()).or(own_console),
        no_pivot: given!(p, FLAGS, "no-pivot").is_some(),
        preserve_fds,
        cgroup: cg.lossy(),
        relay_exit,
        keyring: if given!(p, FLAGS, "no-new-keyring").is_some() { None } else { Some(keyring.cstr().fits(t!("session keyring name:"))?) },
        seccomp: filter,
        seccomp_listener: if notifying { Some(&hand) } else { None },
        id,
        bundle: bundle.lossy(),
        hooks,
        hook_out: hook_out.as_ref(),
        lock: dir.fd.fd(),
    };
    let child = spawn::spawn(&ctx)?;
    let start = state::proc_start_time(child.pid).map_or(0, |s| s.0);
    let written = write_state(dir, fixed, child.pid, start, ino);
    // The process dies with us until done: it never outlives a create that failed.
    if let Err(e) = written.and_then(|()| pid_file(pid_path, child.pid)).and_then(|()| spawn::done(&child, cg.lossy(), !waits)) {
        let _ = mote_sys::sig::kill(child.pid as i32, 9);
        return Err(e);
    }
    Ok(child)
}

/// create's own paths (4 KiB each: see create's first lines), in .bss: on its stack they made
/// create's frame seven pages deep, and every small local past them took two instructions to
/// address on aarch64.
static PATHS: mote_sys::mem::Pool<[Buf<{ limits::PATH }>; 4]> = mote_sys::mem::Pool::new([const { Buf::new() }; 4]);

/// Gives back the pages of create's paths (a foreground run, before its long wait).
pub fn discard_paths() {
    PATHS.discard()
}

/// What every write of state.json says, but the process and the cgroup's inode.
#[derive(Clone, Copy)]
struct Fixed<'a, 's> {
    spec: &'a Spec<'s>,
    id: &'a [u8],
    bundle: &'a Buf<{ limits::PATH }>,
    rootfs: &'a CStr,
    cg: &'a CgPath,
    /// The creation time, one for every write.
    created: &'a [u8],
}

/// Writes state.json: once with pid 0 before anything is made ("creating": a create that dies
/// halfway still leaves what `delete --force` needs to clean up), and again with the process.
fn write_state(dir: &Dir, fixed: &Fixed<'_, '_>, pid: u32, start: u64, ino: u64) -> Result<()> {
    let mut st = state::json_buf()?;
    dir.write(state_json(&mut st, fixed, pid, start, ino)?)
}

/// The state.json text, in `st`.
fn state_json<'s>(st: &'s mut Buf<{ limits::STATE }>, fixed: &Fixed<'_, '_>, pid: u32, start: u64, ino: u64) -> Result<&'s [u8]> {
    let Fixed { spec, id, bundle, rootfs, cg, created } = *fixed;
    st.s(br#"{"ociVersion":"#).json(spec.oci_version).s(br#","id":"#).json(id).s(br#","pid":"#).u(pid as u64);
    st.s(br#","starttime":"#).u(start).s(br#","bundle":"#).json(bundle.lossy()).s(br#","rootfs":"#).json(rootfs.to_bytes());
    st.s(br#","created":""#).s(created);
    st.s(br#"","cgroup":"#).json(cg.lossy()).s(br#","cgroupIno":"#).u(ino);
    if spec.hooks.is_some() {
        st.s(br#","hooks":true"#);
    }
    state::annotations(st, spec);
    st.c(b'}');
    st.get().fits(t!("state.json (annotations, paths):"))
}

/// Reads and prepares config.json; returns (document, root offset).
pub fn read_config<'b>(cfg: &CStr, bundle: &Buf<{ limits::PATH }>, buf: &'b mut [u8]) -> Result<(&'b [u8], usize)> {
    let mut shown = Buf::<{ limits::PATH }>::new();
    if cfg.to_bytes().first() != Some(&b'/') {
        shown.s(bundle.lossy()).c(b'/');
    }
    shown.s(cfg.to_bytes());
    read_json(cfg, shown.lossy(), buf).map(|(d, r, _)| (d, r))
}

/// Reads the JSON file `path` (`shown` in messages) into `buf` and prepares it; returns the
/// document, its root offset, and the part of `buf` left unused.
pub fn read_json<'b>(path: &CStr, shown: &[u8], buf: &'b mut [u8]) -> Result<(&'b [u8], usize, &'b mut [u8])> {
    let f = fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()).ctx(t!("open"), shown)?;
    let n = match state::read_all(&f, buf) {
        Ok(n) => n,
        Err(mote_sys::raw::Errno::FBIG) => {
            let mut e = Error::msg(t!("read"), shown, t!(""));
            e.path(|p| {
                p.t(t!(": larger than ")).u(buf.len() as u64);
                p.s(if buf.len() == limits::CONFIG_BYTES { &b" bytes (spec/limits.rs CONFIG_BYTES)"[..] } else { b" bytes (what config.json left of CONFIG_BYTES)" });
            });
            return Err(e);
        }
        Err(e) => return Err(Error::sys(t!("read"), shown, e)),
    };
    let (doc, rest) = buf.split_at_mut(n);
    match json::prepare(doc) {
        Ok(root) => Ok((doc, root, rest)),
        Err(e) => {
            let mut er = Error::msg(t!("parse"), shown, t!(""));
            er.path(|p| { p.t(t!(": invalid JSON at byte ")).u(e.offset as u64).t(t!(": ")).t(e.what); });
            Err(er)
        }
    }
}

/// The current directory into `out` (an empty buffer: getcwd gets all of its PATH bytes).
pub fn cwd(out: &mut Buf<{ limits::PATH }>) -> Result<()> {
    out.cwd().ctx(t!("getcwd"), "")
}

/// --pid-file: the process's pid, written atomically as runc does.
pub fn pid_file(path: Option<&CStr>, pid: u32) -> Result<()> {
    let Some(path) = path else { return Ok(()) };
    let mut tmp = Buf::<{ limits::PATH }>::new();
    tmp.s(path.to_bytes()).s(b".tmp");
    let tmp = tmp.cstr().fits(t!("--pid-file path:"))?;
    let mut v = Buf::<16>::new();
    v.u(pid as u64);
    let v = v.get().fits(t!("pid file:"))?;
    // Open, write, rename: whichever fails, the message is the same.
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::TRUNC | OFlags::CLOEXEC;
    fs::open(tmp, flags, Mode::from_raw_mode(0o644))
        .and_then(|f| io::write_all(io::fd_of(&f), v))
        .and_then(|()| fs::rename(tmp, path))
        .ctx(t!("write pid file"), path.to_bytes())
}
