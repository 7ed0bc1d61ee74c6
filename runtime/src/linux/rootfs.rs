//! The container's root filesystem: mounts in config order, devices, pivot_root, masked and
//! read-only paths. Runs in the child, inside the new mount namespace. Every destination is
//! resolved inside the rootfs (resolve.rs) and mounted through /proc/self/fd/N, so a symlink in
//! the image can never send a mount outside it.

use core::ffi::CStr;

use mote_sys::io::{Buf, Fd};
use mote_sys::linux_raw_sys::general as g;
use mote_sys::raw::{self, Errno};
use mote_sys::rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use mote_sys::rustix::fs::{self, FileType, Mode, OFlags};
use mote_sys::rustix::process;

use super::resolve::{self, cname, fd_path, Make};
use crate::error::{Ctx, Error, Fits, Result, Txt};
use crate::spec::{self, Mount, Spec};

const MS_RDONLY: u64 = g::MS_RDONLY as u64;
const MS_BIND: u64 = g::MS_BIND as u64;
const MS_REC: u64 = g::MS_REC as u64;
const MS_REMOUNT: u64 = g::MS_REMOUNT as u64;
/// The atime modes among the MS_* flags (one at most is in effect).
const ATIME_MODE: u64 = (g::MS_NOATIME | g::MS_RELATIME | g::MS_STRICTATIME) as u64;

/// Mount options that are flags, in the order of [`SET`] and [`CLEAR`] (one string: no
/// relocations).
pub const OPTION_NAMES: &str = "ro rw nosuid suid nodev dev noexec exec sync async dirsync remount mand nomand \
noatime atime nodiratime diratime relatime norelatime strictatime nostrictatime bind rbind defaults silent loud \
nosymfollow symfollow lazytime nolazytime";
const SET: [u32; 31] = [g::MS_RDONLY, 0, g::MS_NOSUID, 0, g::MS_NODEV, 0, g::MS_NOEXEC, 0, g::MS_SYNCHRONOUS, 0,
    g::MS_DIRSYNC, g::MS_REMOUNT, g::MS_MANDLOCK, 0, g::MS_NOATIME, 0, g::MS_NODIRATIME, 0, g::MS_RELATIME, 0,
    g::MS_STRICTATIME, 0, g::MS_BIND, g::MS_BIND | g::MS_REC, 0, 0, 0, g::MS_NOSYMFOLLOW, 0, g::MS_LAZYTIME, 0];
const CLEAR: [u32; 31] = [0, g::MS_RDONLY, 0, g::MS_NOSUID, 0, g::MS_NODEV, 0, g::MS_NOEXEC, 0, g::MS_SYNCHRONOUS,
    0, 0, 0, g::MS_MANDLOCK, 0, g::MS_NOATIME, 0, g::MS_NODIRATIME, 0, g::MS_RELATIME, 0, g::MS_STRICTATIME, 0, 0,
    0, 0, 0, 0, g::MS_NOSYMFOLLOW, 0, g::MS_LAZYTIME];

/// Recursive mount attributes (mount_setattr with AT_RECURSIVE), in the order of [`RSET`] and
/// [`RCLEAR`]; an atime mode clears the whole atime field first, as the kernel requires.
pub const RNAMES: &str = "rro rrw rnosuid rsuid rnodev rdev rnoexec rexec rnodiratime rdiratime rrelatime rnorelatime \
rnoatime ratime rstrictatime rnostrictatime rnosymfollow rsymfollow";
const ATIME: u32 = g::MOUNT_ATTR__ATIME;
const RSET: [u32; 18] = [g::MOUNT_ATTR_RDONLY, 0, g::MOUNT_ATTR_NOSUID, 0, g::MOUNT_ATTR_NODEV, 0, g::MOUNT_ATTR_NOEXEC, 0,
    g::MOUNT_ATTR_NODIRATIME, 0, g::MOUNT_ATTR_RELATIME, g::MOUNT_ATTR_STRICTATIME, g::MOUNT_ATTR_NOATIME,
    g::MOUNT_ATTR_RELATIME, g::MOUNT_ATTR_STRICTATIME, g::MOUNT_ATTR_RELATIME, g::MOUNT_ATTR_NOSYMFOLLOW, 0];
const RCLEAR: [u32; 18] = [0, g::MOUNT_ATTR_RDONLY, 0, g::MOUNT_ATTR_NOSUID, 0, g::MOUNT_ATTR_NODEV, 0, g::MOUNT_ATTR_NOEXEC,
    0, g::MOUNT_ATTR_NODIRATIME, ATIME, ATIME, ATIME, ATIME, ATIME, ATIME, 0, g::MOUNT_ATTR_NOSYMFOLLOW];

/// A mount's options split into flags, recursive attributes, propagation changes and the data
/// string.
struct Opts {
    flags: u64,
    rset: u64,
    rclr: u64,
    propagation: [u64; crate::spec::limits::MOUNT_PROPAGATIONS],
    nprop: usize,
    data: Buf<1024>,
    /// tmpcopyup: the new tmpfs starts with a copy of what it covers.
    copyup: bool,
}

fn parse_opts(m: &Mount<'_>, bind: bool) -> Result<Opts> {
    let mut o = Opts { flags: 0, rset: 0, rclr: 0, propagation: [0; crate::spec::limits::MOUNT_PROPAGATIONS], nprop: 0, data: Buf::new(), copyup: false };
    let dest = m.destination.to_bytes();
    for opt in &m.options {
        let b = opt.to_bytes();
        if let Some(i) = index_in(OPTION_NAMES, b) {
            o.flags = (o.flags | SET[i] as u64) & !(CLEAR[i] as u64);
        } else if let Some(i) = index_in(RNAMES, b) {
            o.rset = (o.rset & !(RCLEAR[i] as u64)) | RSET[i] as u64;
            o.rclr = (o.rclr & !(RSET[i] as u64)) | RCLEAR[i] as u64;
        } else if let Some(p) = spec::propagation(b) {
            if o.nprop == o.propagation.len() {
                return Err(opt_err(dest, b, t!("is one propagation option too many (spec/limits.rs MOUNT_PROPAGATIONS)")));
            }
            o.propagation[o.nprop] = p;
            o.nprop += 1;
        } else if b == b"tmpcopyup" && m.typ.is_some_and(|t| t.to_bytes() == b"tmpfs") && !bind {
            o.copyup = true;
        } else if crate::json::find(b, "idmap\0ridmap\0tmpcopyup\0") < 3 {
            return Err(opt_err(dest, b, t!("is not supported")));
        } else if bind {
            // A bind mount has no filesystem to read a data string: an option mote does not
            // know would be dropped without a word.
            return Err(opt_err(dest, b, t!("is not a known option of a bind mount")));
        } else if is_cgroup(m) {
            // The container's cgroup is bound or a fresh cgroup2: no v1 hierarchy to hand options to.
            return Err(opt_err(dest, b, t!("is not a known option of a cgroup mount")));
        } else {
            // The filesystem's own options (size=, mode=...): the kernel refuses what it does not know.
            if !o.data.is_empty() {
                o.data.c(b',');
            }
            o.data.s(b);
        }
    }
    if bind && o.flags & (g::MS_LAZYTIME as u64) != 0 {
        return Err(opt_err(dest, b"lazytime", t!("is a filesystem option, not one of a bind mount")));
    }
    // With room for the NUL the mount data needs.
    if o.data.cstr().is_err() {
        return Err(Error::msg(t!("mount"), dest, t!("options longer than 1023 bytes")));
    }
    Ok(o)
}

/// The index of `name` in the space-separated `list`.
#[inline(never)]
fn index_in(list: &str, name: &[u8]) -> Option<usize> {
    list.split(' ').position(|n| n.as_bytes() == name)
}

#[cold]
fn opt_err(dest: &[u8], opt: &[u8], why: Txt) -> Error {
    let mut e = Error::msg(t!("mount"), dest, t!(""));
    e.path(|p| { p.t(t!(": option ")).s(opt).c(b' ').t(why); });
    e
}

/// Applies the recursive attributes of `o` to the mount at `dest`: mount_setattr(AT_RECURSIVE),
/// or where the kernel lacks it (before 5.12, qemu-user) a remount of the one mount, which is
/// the same thing when it has no submounts (anything but rbind); refused otherwise.
#[inline(never)]
fn set_recursive(root: BorrowedFd<'_>, dest: &[u8], o: &Opts) -> Result<()> {
    let top = reopen(root, dest)?;
    match raw::mount_setattr(top.fd(), true, o.rset, o.rclr) {
        Ok(()) => Ok(()),
        Err(Errno::NOSYS) if o.flags & MS_REC == 0 => {
            // MOUNT_ATTR_* -> MS_*: the same bits for ro, nosuid, nodev, noexec; the others moved.
            let to_ms = |a: u64| {
                let ms = |attr: u32, flag: u32| if a & attr as u64 != 0 { flag as u64 } else { 0 };
                (a & 0xf) | ms(g::MOUNT_ATTR_NOATIME, g::MS_NOATIME) | ms(g::MOUNT_ATTR_STRICTATIME, g::MS_STRICTATIME)
                    | ms(g::MOUNT_ATTR_NODIRATIME, g::MS_NODIRATIME) | ms(g::MOUNT_ATTR_NOSYMFOLLOW, g::MS_NOSYMFOLLOW)
            };
            let cur = with_locked(o.flags & !(MS_BIND | MS_REC | MS_REMOUNT), &top);
            let mut clr = to_ms(o.rclr & !(ATIME as u64));
            if o.rclr & ATIME as u64 != 0 {
                clr |= (g::MS_NOATIME | g::MS_STRICTATIME | g::MS_RELATIME) as u64;
            }
            let flags = (cur & !clr) | to_ms(o.rset);
            remount(top.fd(), MS_REMOUNT | MS_BIND | flags, t!("remount (recursive options)"), dest)
        }
        Err(Errno::NOSYS) => Err(Error::msg(t!("mount"), dest, t!("recursive options on a mount with submounts need mount_setattr (Linux 5.12)"))),
        Err(e) => Err(Error::sys(t!("mount_setattr"), dest, e)),
    }
}

/// mount(2) on what `on` names, through /proc/self/fd.
#[inline(never)]
fn mnt(src: Option<&CStr>, on: BorrowedFd<'_>, fstype: Option<&CStr>, flags: u64, data: Option<&CStr>) -> core::result::Result<(), Errno> {
    raw::mount(src, fd_path(&on).cstr()?, fstype, flags, data)
}

/// The root directory (the container's, once switched), as an O_PATH descriptor.
#[inline(never)]
pub(super) fn open_root() -> Result<OwnedFd> {
    fs::open(c"/", OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty()).ctx(t!("open"), "/")
}

/// [`mnt`]; an error says `what` failed on `dest`.
#[inline(never)]
pub(super) fn mount_on(src: Option<&CStr>, on: BorrowedFd<'_>, fstype: Option<&CStr>, flags: u64, data: Option<&CStr>, what: Txt, dest: &[u8]) -> Result<()> {
    mnt(src, on, fstype, flags, data).ctx(what, dest)
}

/// [`mount_on`] with flags alone (a remount, a propagation change): no source, type or data.
#[inline(never)]
fn remount(on: BorrowedFd<'_>, flags: u64, what: Txt, dest: &[u8]) -> Result<()> {
    mount_on(None, on, None, flags, None, what, dest)
}

/// Binds what `src` names on what `on` names (`flags`: MS_BIND, with MS_REC or not), both
/// through /proc/self/fd.
#[inline(never)]
pub(super) fn bind_fd(src: BorrowedFd<'_>, on: BorrowedFd<'_>, flags: u64, what: Txt, dest: &[u8]) -> Result<()> {
    let mut s = fd_path(&src);
    mount_on(Some(s.cstr().fits(t!("/proc/self/fd path:"))?), on, None, flags, None, what, dest)
}

/// The mount now at `dest` in `root` (a descriptor opened before it names what is underneath).
#[inline(never)]
fn reopen(root: BorrowedFd<'_>, dest: &[u8]) -> Result<OwnedFd> {
    resolve::open(root, dest).ctx(t!("reopen mount"), dest)
}

/// With a user namespace, the bind mount sources, one per entry of `mounts` (None: not a bind
/// mount), cloned by create before the container's process exists (open_tree): as the host's
/// root sees them, so that a source only the host may reach does not depend on what the
/// process may open once in its user namespace (runc does the same). The child attaches them
/// with move_mount. Empty without a user namespace, or where open_tree is missing (kernels
/// before 5.2, qemu-user): the child then binds by path, as before.
pub type BindSources = heapless::Vec<Option<OwnedFd>, { crate::spec::limits::MOUNTS }>;

/// Clones the bind mount sources of `spec` (see [`BindSources`]).
pub fn open_bind_sources(spec: &Spec<'_>) -> Result<BindSources> {
    use mote_sys::rustix::mount::{open_tree, OpenTreeFlags};
    let mut v = BindSources::new();
    if spec.linux.ns(g::CLONE_NEWUSER).is_none() {
        return Ok(v);
    }
    for m in &spec.mounts {
        let mut fd = None;
        if let (true, Some(s)) = (is_bind(m), m.source) {
            let rec = m.options.iter().any(|o| o.to_bytes() == b"rbind");
            let flags = OpenTreeFlags::OPEN_TREE_CLONE | OpenTreeFlags::OPEN_TREE_CLOEXEC
                | if rec { OpenTreeFlags::AT_RECURSIVE } else { OpenTreeFlags::empty() };
            match open_tree(fs::CWD, s, flags) {
                Ok(f) => fd = Some(f),
                Err(Errno::NOSYS) => return Ok(BindSources::new()),
                Err(e) => return Err(Error::sys(t!("mount source"), s.to_bytes(), e)),
            }
        }
        v.push(fd).map_err(|_| Error::msg(t!("config.json:"), "mounts", t!("more than limits::MOUNTS")))?;
    }
    Ok(v)
}

/// Sets up the rootfs and switches to it. `rootfs` is an absolute host path; `cgroup` the
/// container's cgroup path and `fresh` what [`fresh_cgroup`] said (for the cgroup view inside).
/// `before_switch` runs once the mounts are made, before pivot_root (the hooks' point);
/// `sources`: see [`BindSources`].
/// `root_ids`: every id of this process is 0 (process::Inherited::root), so what it creates is root's.
#[allow(clippy::too_many_arguments)]
pub fn setup(spec: &Spec<'_>, rootfs: &CStr, no_pivot: bool, cgroup: &[u8], fresh: bool, root_ids: bool, sources: &BindSources, before_switch: &mut dyn FnMut() -> Result<()>) -> Result<()> {
    // Nothing mounted from here on may propagate back to the host, but through a bind the
    // config shares with it. Everything recursively slave first (the rootfs' own mount and its
    // parent too, whatever a non-recursive rootfsPropagation says), then the configured
    // propagation on "/". A shared rootfsPropagation (Kubernetes' Bidirectional) keeps the
    // host's peers, as runc: then the mount the rootfs is on is made private instead (its
    // mounts stay here, and pivot_root refuses a shared parent), and "/" is shared after the switch.
    if shared_root(spec) {
        private_parent(rootfs)?;
    } else {
        slave_root()?;
        root_propagation(spec, false)?;
    }
    // The rootfs must be a mount point of its own for pivot_root.
    raw::mount(Some(rootfs), rootfs, None, MS_BIND | MS_REC, None).ctx(t!("bind mount rootfs"), rootfs.to_bytes())?;
    let root = fs::open(rootfs, OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty()).ctx(t!("open rootfs"), rootfs.to_bytes())?;

    let mut dev_is_tmpfs = false;
    let forced = forced_v1(spec);
    // The last tmpfs mounted here (destination, its descriptor) while the mounts that follow go
    // right into it: empty but for the mount points made in it (/dev/pts, /dev/shm...).
    let mut tmp: Option<(&[u8], OwnedFd)> = None;
    // Mount points done with are closed in batches (see Batch), all before the switch.
    let mut done = Batch(heapless::Vec::new(), 0);
    for (i, m) in spec.mounts.iter().enumerate() {
        let d = resolve::trim(m.destination.to_bytes());
        let name = tmp.as_ref().and_then(|(f, _)| {
            let n = d.strip_prefix(*f)?.strip_prefix(b"/")?;
            (!n.is_empty() && !n.contains(&b'/') && n != b"." && n != b"..").then_some(n)
        });
        if let Some((_, fd)) = tmp.take_if(|_| name.is_none()) {
            done.add(fd);
        }
        let into = name.and_then(|n| tmp.as_ref().map(|(_, fd)| (fd.fd(), n)));
        if forced.is_some_and(|f| f.to_bytes() == m.destination.to_bytes()) {
            systemd_v1(root.fd(), m, cgroup, &mut done)?;
            continue;
        }
        if is_cgroup(m) {
            // Bind mounts of host directories: now, while the host's tree is in view.
            if !fresh {
                cgroup_view(root.fd(), m, cgroup, &mut done)?;
            } else {
                parse_opts(m, false)?; // mounted after the switch: its options refused now, before the hooks
            }
            continue;
        }
        let src = sources.get(i).and_then(|s| s.as_ref());
        let tmpfs = mount_one(root.fd(), m, spec.linux.mount_label, src.map(|f| f.fd()), into, &mut done)?;
        if tmpfs && tmp.is_none() {
            tmp = Some((d, reopen(root.fd(), d)?));
        }
        // Mounted: the clone must not stay reachable through /proc/self/fd (see close_others).
        // (This process never drops `sources`: it execs or exits.)
        if let Some(f) = src {
            use mote_sys::rustix::fd::AsRawFd;
            let _ = raw::close_fd(f.as_raw_fd() as u32);
        }
        if m.destination.to_bytes() == b"/dev" && !is_bind(m) {
            dev_is_tmpfs = true;
        }
    }
    if let Some((_, fd)) = tmp {
        done.add(fd);
    }
    if dev_is_tmpfs {
        default_devices(root.fd(), spec, root_ids, &mut done)?;
    }
    for d in &spec.linux.devices {
        device(root.fd(), d.path.to_bytes(), d.kind, d.major, d.minor, d.mode.unwrap_or(0o666), d.uid.unwrap_or(0), d.gid.unwrap_or(0))?;
    }
    drop(done);

    before_switch()?;
    switch_root(&root, rootfs, no_pivot)
}

/// Creates a missing process.cwd (0755, as root, resolved inside the new root), as runc does.
/// Only a missing one: any other failure is for the later chdir and its checks to report.
pub fn make_cwd(cwd: &CStr) -> Result<()> {
    if resolve::trim(cwd.to_bytes()) == b"/" {
        return Ok(()); // the root: always there
    }
    let root = open_root()?;
    match resolve::open(root.fd(), cwd.to_bytes()) {
        Err(Errno::NOENT) => resolve::open_or_create(root.fd(), cwd.to_bytes(), Make::Dir).map(drop).ctx(t!("create process.cwd"), cwd.to_bytes()),
        _ => Ok(()),
    }
}

fn is_cgroup(m: &Mount<'_>) -> bool {
    m.typ.is_some_and(|t| crate::json::find(t.to_bytes(), "cgroup\0cgroup2\0") < 2)
}

/// Whether a cgroup mount may be a fresh cgroup2 mount: only on a pure v2 host, and in a cgroup
/// namespace of the container's, where the kernel roots it at the container's own cgroup (and
/// allows it under a user namespace). Otherwise the container sees bind mounts of its own
/// directories ([`cgroup_view`]), as with runc and crun: never the host's whole tree.
/// Asked before the root switch, while the host's /sys/fs/cgroup is in view.
pub fn fresh_cgroup(spec: &Spec<'_>) -> bool {
    spec.linux.ns(g::CLONE_NEWCGROUP).is_some() && crate::cgroup::resources::Layout::detect().v2
}

/// The fresh cgroup2 mounts (`fresh`: see [`fresh_cgroup`]), made after the switch of root,
/// once the process is in its cgroup and its cgroup namespace (see spawn.rs).
pub fn mount_cgroups(spec: &Spec<'_>, fresh: bool) -> Result<()> {
    if !fresh {
        return Ok(());
    }
    let mut done = Batch(heapless::Vec::new(), 0);
    done.add(super::procfs::root()?); // mounts below go through /proc/self/fd
    let root = open_root()?;
    let forced = forced_v1(spec);
    for m in spec.mounts.iter().filter(|m| is_cgroup(m) && forced.is_none_or(|f| f.to_bytes() != m.destination.to_bytes())) {
        mount_one(root.fd(), m, None, None, None, &mut done)?;
    }
    done.add(root);
    Ok(())
}

/// crun's annotation run.oci.systemd.force_cgroup_v1=PATH: for old systemd images on a v2 host.
fn forced_v1<'a>(spec: &Spec<'a>) -> Option<&'a CStr> {
    spec.annotations.iter().find(|(k, _)| k.to_bytes() == b"run.oci.systemd.force_cgroup_v1").map(|(_, v)| *v)
}

/// The mount at the annotation's PATH becomes a tmpfs holding, at PATH/systemd, the v1 named
/// hierarchy `name=systemd` (the host must have it: the kernel then mounts that one), showing
/// the container's own cgroup in it, which the process joins here (a v2 host's cgroup code
/// knows nothing of that hierarchy).
#[inline(never)]
fn systemd_v1(root: BorrowedFd<'_>, m: &Mount<'_>, cgroup: &[u8], done: &mut Batch) -> Result<()> {
    let dest = m.destination.to_bytes();
    let mut o = parse_opts(m, false)?;
    if !o.data.is_empty() {
        // (whatever the mount's type: none of its own options reaches the tmpfs or the hierarchy)
        return Err(opt_err(dest, o.data.lossy(), t!("is not a known option of a cgroup mount")));
    }
    let top = cgroup_tmpfs(root, dest, o.flags, done)?;
    fs::mkdirat(&top, c"systemd", Mode::from_raw_mode(0o755)).ctx(t!("mkdir"), "systemd")?;
    let at = resolve::open(top.fd(), b"systemd").ctx(t!("open"), "systemd")?;
    let fl = o.flags & !(MS_BIND | MS_REC | MS_RDONLY) | SAFE;
    mount_on(Some(c"cgroup"), at.fd(), Some(c"cgroup"), fl, Some(c"none,name=systemd,xattr"), t!("mount cgroup name=systemd on"), dest)?;
    let hier = resolve::open(top.fd(), b"systemd").ctx(t!("open"), "systemd")?;
    let own = resolve::open_or_create(hier.fd(), cgroup, Make::Dir).ctx(t!("create cgroup name=systemd"), cgroup)?;
    let mut procs = Buf::<64>::new();
    procs.s(fd_path(&own).lossy()).s(b"/cgroup.procs"); // "/proc/self/fd/N": 32 bytes at most
    crate::cgroup::write_file(procs.cstr(), b"0")?;
    bind_in_tmpfs(fd_path(&own).cstr().fits(t!("/proc/self/fd path:"))?, top.fd(), b"systemd", o.flags)?;
    seal_tmpfs(&top, o.flags, dest)?;
    o.flags |= MS_REC; // a tree of mounts, as an rbind's (see set_recursive)
    finish(root, dest, &o)
}

/// The container's own cgroup at a cgroup mount's destination: on v2 its directory, bound; on
/// v1 or hybrid a tmpfs holding each hierarchy's directory of it under the hierarchy's name
/// (memory/, pids/, ..., unified/), and the host's symlinks for co-mounted controllers. The
/// mount's flags (ro, nosuid...) apply to every part.
#[inline(never)]
fn cgroup_view(root: BorrowedFd<'_>, m: &Mount<'_>, cgroup: &[u8], done: &mut Batch) -> Result<()> {
    let dest = m.destination.to_bytes();
    let mut o = parse_opts(m, false)?;
    if crate::cgroup::pure_v2() {
        let on = resolve::open_or_create(root, dest, Make::Dir).ctx(t!("create mount point"), dest)?;
        let mut src = Buf::<{ crate::cgroup::PATH + 64 }>::new();
        src.s(crate::cgroup::ROOT).s(cgroup);
        let r = bind_at(src.cstr().fits(t!("cgroup path:"))?, on.fd(), root, dest, o.flags);
        done.add(on);
        r?;
    } else {
        view_v1(root, dest, &o, cgroup, done)?;
        o.flags |= MS_REC; // a tree of mounts, as an rbind's (see set_recursive)
    }
    finish(root, dest, &o)
}

/// [`cgroup_view`] on v1 or hybrid: the tmpfs and a bind of each hierarchy's directory in it.
fn view_v1(root: BorrowedFd<'_>, dest: &[u8], o: &Opts, cgroup: &[u8], done: &mut Batch) -> Result<()> {
    let mut src = Buf::<{ crate::cgroup::PATH + 64 }>::new();
    let top = cgroup_tmpfs(root, dest, o.flags, done)?;
    // When the flags keep the tmpfs's own (nosuid, nodev, noexec: the usual "ro,nosuid,..."),
    // one recursive mount_setattr of the filled tmpfs gives them to it and to every bind below
    // it at once; else, or where that call fails, each bind gets them by itself.
    let at_once = o.flags & SAFE == SAFE;
    let mut comounted = false;
    for h in crate::cgroup::hierarchies()? {
        let name = &h.lossy()[crate::cgroup::ROOT.len() + 1..];
        comounted |= name.contains(&b',');
        fs::mkdirat(&top, cname(name).cstr().fits(t!("cgroup mount point:"))?, Mode::from_raw_mode(0o755)).ctx(t!("mkdir cgroup mount point"), name)?;
        src.clear();
        src.s(h.lossy()).s(cgroup);
        bind_in_tmpfs(src.cstr().fits(t!("cgroup path:"))?, top.fd(), name, if at_once { MS_BIND } else { o.flags })?;
    }
    // The host's links name co-mounted hierarchies (cpu -> cpu,cpuacct): none without one.
    if comounted {
        host_symlinks(&top)?;
    }
    if at_once {
        let (set, clr) = attrs(o.flags);
        if raw::mount_setattr(top.fd(), true, set, clr).is_err() {
            for h in crate::cgroup::hierarchies()? {
                let name = &h.lossy()[crate::cgroup::ROOT.len() + 1..];
                flags_in_tmpfs(top.fd(), name, o.flags)?;
            }
        }
    }
    // (the tmpfs's superblock too: read-only as runc's)
    let r = seal_tmpfs(&top, o.flags, dest);
    done.add(top);
    r
}

const SAFE: u64 = (g::MS_NOSUID | g::MS_NODEV | g::MS_NOEXEC) as u64;

/// A tmpfs at `dest` to hold cgroup mounts, writable until [`seal_tmpfs`].
fn cgroup_tmpfs(root: BorrowedFd<'_>, dest: &[u8], flags: u64, done: &mut Batch) -> Result<OwnedFd> {
    let target = resolve::open_or_create(root, dest, Make::Dir).ctx(t!("create mount point"), dest)?;
    let fl = flags & !(MS_BIND | MS_REC | MS_RDONLY) | SAFE;
    let r = mount_on(Some(c"tmpfs"), target.fd(), Some(c"tmpfs"), fl, Some(c"mode=755,size=1024k"), t!("mount tmpfs for cgroups on"), dest);
    done.add(target);
    r.and_then(|()| reopen(root, dest))
}

/// The tmpfs read-only once filled, if the mount says ro.
fn seal_tmpfs(top: &OwnedFd, flags: u64, dest: &[u8]) -> Result<()> {
    if flags & MS_RDONLY == 0 {
        return Ok(());
    }
    remount(top.fd(), MS_REMOUNT | MS_RDONLY | SAFE | locked_flags(top), t!("remount read-only"), dest)
}

/// Binds `src` on `on`, the mount point `path` under `dir` as the caller resolved it, then
/// applies `flags` to the new mount (opened again by name: `on` is the directory under it).
fn bind_at(src: &CStr, on: BorrowedFd<'_>, dir: BorrowedFd<'_>, path: &[u8], flags: u64) -> Result<()> {
    mount_on(Some(src), on, None, MS_BIND, None, t!("bind mount cgroup on"), path)?;
    if flags & !(MS_BIND | MS_REC) != 0 {
        // The new mount, not the directory under it: opened again by name.
        let top = reopen(dir, path)?;
        bind_flags(top.fd(), c"", None, flags, path)?;
    }
    Ok(())
}

/// Binds `src` on `name`, a directory this process made in the tmpfs `dir` it mounted itself:
/// nothing of the image's to resolve, so by path, and the flags by name (no descriptors).
fn bind_in_tmpfs(src: &CStr, dir: BorrowedFd<'_>, name: &[u8], flags: u64) -> Result<()> {
    let mut on = Buf::<{ 32 + 64 }>::new();
    on.s(fd_path(&dir).lossy()).c(b'/').s(name);
    raw::mount(Some(src), on.cstr().fits(t!("cgroup mount point:"))?, None, MS_BIND, None).ctx(t!("bind mount cgroup on"), name)?;
    if flags & !(MS_BIND | MS_REC) != 0 {
        flags_in_tmpfs(dir, name, flags)?;
    }
    Ok(())
}

/// [`bind_flags`] for the bind mount at `name` in the tmpfs `dir`.
#[inline(never)]
fn flags_in_tmpfs(dir: BorrowedFd<'_>, name: &[u8], flags: u64) -> Result<()> {
    bind_flags(dir, cname(name).cstr().fits(t!("cgroup mount point:"))?, Some((dir, name)), flags, name)
}

/// The MOUNT_ATTR_* (set, clear) that give a mount what a MS_REMOUNT|MS_BIND with `flags` gives
/// it: ro, nosuid, nodev, noexec, nosymfollow set or cleared; the atime mode only if one is asked.
#[inline(never)]
fn attrs(flags: u64) -> (u64, u64) {
    let fl = flags & !(MS_BIND | MS_REC);
    let a = |ms: u32, attr: u32| if fl & ms as u64 != 0 { attr as u64 } else { 0 };
    // ro, nosuid, nodev and noexec have the same bits as MS_* and MOUNT_ATTR_*.
    let mut set = (fl & 0xf) | a(g::MS_NOSYMFOLLOW, g::MOUNT_ATTR_NOSYMFOLLOW);
    let mut clr = (0xf | g::MOUNT_ATTR_NOSYMFOLLOW as u64) & !set;
    if fl & (ATIME_MODE | g::MS_NODIRATIME as u64) != 0 {
        // The kernel's precedence: strictatime over noatime over relatime (the default).
        set |= if fl & g::MS_STRICTATIME as u64 != 0 { g::MOUNT_ATTR_STRICTATIME as u64 } else { a(g::MS_NOATIME, g::MOUNT_ATTR_NOATIME) };
        set |= a(g::MS_NODIRATIME, g::MOUNT_ATTR_NODIRATIME);
        clr |= (ATIME | g::MOUNT_ATTR_NODIRATIME) as u64;
    }
    (set, clr)
}

/// Gives the bind mount at `name` under `at` ("": `at` itself) what a MS_REMOUNT|MS_BIND with
/// `flags` gives it (ro, nosuid, nodev, noexec, nosymfollow set or cleared; the atime mode
/// only if one is asked), in one mount_setattr. Where that fails (before 5.12 or on qemu-user,
/// a flag locked by a user namespace: EPERM, nosymfollow before 5.14) the remount itself, with
/// the mount's locked flags; `by_name` is the (dir, name) to open the mount by, when `at` is not it.
fn bind_flags(at: BorrowedFd<'_>, name: &CStr, by_name: Option<(BorrowedFd<'_>, &[u8])>, flags: u64, what: &[u8]) -> Result<()> {
    let fl = flags & !(MS_BIND | MS_REC);
    let (set, clr) = attrs(flags);
    let r = if name.is_empty() { raw::mount_setattr(at, false, set, clr) } else { raw::mount_setattr_at(at, name, set, clr) };
    if r.is_ok() {
        return Ok(());
    }
    let reopened;
    let top = match by_name {
        Some((dir, n)) => {
            reopened = reopen(dir, n)?;
            reopened.fd()
        }
        None => at,
    };
    remount(top, MS_REMOUNT | MS_BIND | fl | locked_flags(&top), t!("remount bind"), what)
}

/// Symlinks in the host's /sys/fs/cgroup (cpu -> cpu,cpuacct) made again in `dir`.
fn host_symlinks(dir: &OwnedFd) -> Result<()> {
    let Ok(fd) = fs::open(c"/sys/fs/cgroup", OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty()) else {
        return Ok(());
    };
    let mut buf = [core::mem::MaybeUninit::<u8>::uninit(); 2048];
    let mut it = fs::RawDir::new(&fd, &mut buf);
    while let Some(Ok(e)) = it.next() {
        if e.file_type() != FileType::Symlink {
            continue;
        }
        let mut t = [0u8; 256];
        let Ok(n) = fs::readlinkat_raw(&fd, e.file_name(), &mut t[..]) else { continue };
        let mut target = Buf::<260>::new();
        target.s(&t[..n.min(t.len())]);
        match fs::symlinkat(target.cstr().fits(t!("cgroup symlink target:"))?, dir, e.file_name()) {
            Ok(()) | Err(Errno::EXIST) => {}
            Err(er) => return Err(Error::sys(t!("symlink in cgroup mount"), e.file_name().to_bytes(), er)),
        }
    }
    Ok(())
}

/// After hostname and sysctl (which write under /proc/sys): masked and read-only paths.
#[inline(never)]
pub fn protect_paths(spec: &Spec<'_>) -> Result<()> {
    let l = &spec.linux;
    if l.masked_paths.is_empty() && l.readonly_paths.is_empty() {
        return Ok(());
    }
    // Every path is resolved inside the root and mounted on through its descriptor, with
    // /proc/self/fd of a verified procfs; /dev/null only once it is known to be the null device.
    let mut done = Batch(heapless::Vec::new(), 0);
    done.add(super::procfs::root()?);
    let root = open_root()?;
    let mut null = None;
    for p in &l.masked_paths {
        mask(root.fd(), p.to_bytes(), &mut null, &mut done)?;
    }
    for p in &l.readonly_paths {
        readonly(root.fd(), p.to_bytes(), spec, &mut done)?;
    }
    done.add(root);
    if let Some(n) = null {
        done.add(n);
    }
    Ok(())
}

/// Descriptors closed together, by one close_range per run of consecutive numbers, instead of
/// one close each (they are taken lowest first, so a batch is mostly one or two runs); at most
/// 32 held at once, so a config with hundreds of paths holds no more. Closed when dropped.
struct Batch(heapless::Vec<(u32, u32), 32>, u32);

impl Batch {
    #[inline(never)]
    fn add(&mut self, fd: OwnedFd) {
        if self.1 == 32 {
            self.flush();
        }
        self.1 += 1;
        let fd = mote_sys::rustix::fd::IntoRawFd::into_raw_fd(fd) as u32;
        // With the runs it joins at either end (32 runs at most: one per descriptor).
        let mut run = (fd, fd);
        while let Some(i) = self.0.iter().position(|r| r.1 + 1 == run.0 || run.1 + 1 == r.0) {
            let r = self.0.swap_remove(i);
            run = (run.0.min(r.0), run.1.max(r.1));
        }
        let _ = self.0.push(run);
    }
    #[inline(never)]
    fn flush(&mut self) {
        for &(lo, hi) in self.0.iter() {
            // Only our own descriptors are in a run; ENOSYS (before 5.9): one by one.
            if raw::close_range(lo, hi).is_err() {
                for f in lo..=hi {
                    let _ = raw::close_fd(f);
                }
            }
        }
        self.0.clear();
        self.1 = 0;
    }
}

impl Drop for Batch {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Last: a read-only root, and a shared rootfsPropagation.
pub fn seal(spec: &Spec<'_>) -> Result<()> {
    if spec.root_readonly {
        remount_ro(c"/")?;
    }
    root_propagation(spec, true)
}

/// The mount `rootfs` is on (its own, where it is a mount point) made private, as runc's
/// rootfsParentMountPrivate: found by going up while the mount id stays the same (at most a
/// step a component of the absolute path: past it, "/").
#[inline(never)]
fn private_parent(rootfs: &CStr) -> Result<()> {
    let dir = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let mut at = fs::open(rootfs, dir, Mode::empty()).ctx(t!("open rootfs"), rootfs.to_bytes())?;
    let id = super::procfs::mnt_id(&at);
    for _ in rootfs.to_bytes().iter().filter(|&&c| c == b'/') {
        // (an id of 0, unknown, or a parent not opened: `at`, which must then be a mount's root)
        match fs::openat(&at, c"..", dir, Mode::empty()) {
            Ok(up) if id != 0 && super::procfs::mnt_id(&up) == id => at = up,
            _ => break,
        }
    }
    remount(at.fd(), g::MS_PRIVATE as u64, t!("make the rootfs's mount private"), rootfs.to_bytes())
}

/// Whether linux.rootfsPropagation is shared or rshared: the container's mounts keep the
/// host's as peers (see setup).
fn shared_root(spec: &Spec<'_>) -> bool {
    spec.linux.rootfs_propagation.and_then(|p| spec::propagation(p.to_bytes())).is_some_and(|p| p & g::MS_SHARED as u64 != 0)
}

/// linux.rootfsPropagation on "/": before the switch (`after` false) any but shared and
/// unbindable, which only after it (pivot_root refuses a shared parent; the rootfs is bind
/// mounted before the switch).
#[inline(never)]
fn root_propagation(spec: &Spec<'_>, after: bool) -> Result<()> {
    let prop = spec.linux.rootfs_propagation.and_then(|p| spec::propagation(p.to_bytes())).unwrap_or(0);
    if prop != 0 && (prop & (g::MS_SHARED | g::MS_UNBINDABLE) as u64 != 0) == after {
        raw::mount(None, c"/", None, prop, None).ctx(t!("set rootfsPropagation"), "/")?;
    }
    Ok(())
}

fn is_bind(m: &Mount<'_>) -> bool {
    m.options.iter().any(|o| crate::json::find(o.to_bytes(), "bind\0rbind\0") < 2) || m.typ.is_some_and(|t| t.to_bytes() == b"bind")
}

/// Mounts `m` on its destination inside `root`; `src` is a bind mount's cloned source.
/// `into`: the (descriptor, name) of the destination when it is right in a tmpfs mounted just
/// before (see setup); true when this mount is a writable tmpfs of its own (no copy-up).
fn mount_one(root: BorrowedFd<'_>, m: &Mount<'_>, label: Option<&CStr>, src: Option<BorrowedFd<'_>>, into: Option<(BorrowedFd<'_>, &[u8])>, done: &mut Batch) -> Result<bool> {
    let dest = m.destination.to_bytes();
    let bind = is_bind(m);
    let mut o = parse_opts(m, bind)?;
    let typ = m.typ.map(|t| t.to_bytes()).unwrap_or(b"");
    if !bind {
        super::lsm::mount_context(label, typ, &mut o.data);
        if o.data.overflowed() {
            return Err(Error::msg(t!("mount"), dest, t!("options and mountLabel longer than 1024 bytes")));
        }
    }
    // As runc: a tmpfs on an existing directory takes that directory's mode, unless the options
    // give one (a tmpfs on a directory made here keeps tmpfs's own 1777).
    let tmpfs = !bind && typ == b"tmpfs";
    if tmpfs && !o.data.lossy().split(|&c| c == b',').any(|d| d.starts_with(b"mode=")) {
        let st = resolve::open(root, dest).ok().and_then(|f| fs::fstat(&f).ok());
        if let Some(st) = st.filter(|st| FileType::from_raw_mode(st.st_mode) == FileType::Directory) {
            if !o.data.is_empty() {
                o.data.c(b',');
            }
            o.data.s(b"mode=0");
            for shift in [9, 6, 3, 0] {
                o.data.c(b'0' + ((st.st_mode >> shift) & 7) as u8);
            }
            if o.data.overflowed() {
                return Err(Error::msg(t!("mount"), dest, t!("options longer than 1024 bytes")));
            }
        }
    }
    // A bind mount of a file needs a file to mount on; everything else a directory.
    let make = if bind {
        // (the cloned source with a user namespace, else the source path)
        match src.map(fs::fstat).or_else(|| m.source.map(fs::stat)) {
            Some(Ok(st)) if FileType::from_raw_mode(st.st_mode) != FileType::Directory => Make::File,
            Some(Err(e)) => return Err(Error::sys(t!("mount source"), m.source.map(|s| s.to_bytes()).unwrap_or(b""), e)),
            _ => Make::Dir,
        }
    } else {
        Make::Dir
    };
    let trimmed = resolve::trim(dest);
    if crate::json::find(typ, "proc\0sysfs\0") < 2 || crate::json::find(trimmed, "/proc\0/sys\0") < 2 {
        // runc's rule: procfs and sysfs go on a real directory of the image, never through a
        // symlink (which could send them, and every later write, somewhere else).
        let parent;
        let (dir, name) = match trimmed.strip_prefix(b"/").filter(|n| !n.contains(&b'/')) {
            Some(n) => (root, n), // right under the root (/proc, /sys): no parent to open
            None => {
                parent = resolve::parent_of(root, dest).ctx(t!("create mount point"), dest)?;
                (parent.0.fd(), parent.1)
            }
        };
        if let Ok(st) = fs::statat(dir, cname(name).cstr().fits(t!("mount point name:"))?, fs::AtFlags::SYMLINK_NOFOLLOW) {
            if FileType::from_raw_mode(st.st_mode) == FileType::Symlink {
                return Err(Error::msg(t!("mount"), dest, t!("is a symlink in the rootfs (refused for proc and sysfs)")));
            }
        }
    }
    // In the fresh tmpfs: nothing of the image's to resolve, the directory made and opened
    // by name; where it is there already (an earlier mount's), the usual way.
    let made = into.filter(|_| make == Make::Dir).and_then(|(dir, n)| {
        let mut n = cname(n);
        let n = n.cstr().ok()?;
        fs::mkdirat(dir, n, Mode::from_raw_mode(0o755)).ok()?;
        fs::openat(dir, n, OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty()).ok()
    });
    let target = match made {
        Some(t) => t,
        None => resolve::open_or_create(root, dest, make).ctx(t!("create mount point"), dest)?,
    };
    let empty = o.data.is_empty();
    let data_c = if empty { None } else { Some(o.data.cstr().fits(t!("mount options:"))?) };
    if bind {
        match src {
            Some(tree) => {
                use mote_sys::rustix::mount::{move_mount, MoveMountFlags};
                let f = MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH | MoveMountFlags::MOVE_MOUNT_T_EMPTY_PATH;
                move_mount(tree, c"", &target, c"", f).ctx(t!("bind mount"), dest)?;
                // The clone was made in the host's mount namespace (create's open_tree): a shared
                // host mount's peer, through which the container's mounts would reach the host.
                // A slave, as the kernel makes every mount it copies into a namespace of a user
                // namespace's (a shared root too: no Bidirectional there, as with runc); the
                // host's mounts still come in.
                remount(reopen(root, dest)?.fd(), g::MS_SLAVE as u64 | MS_REC, t!("make bind mount a slave"), dest)?;
            }
            None => mount_on(m.source, target.fd(), None, MS_BIND | (o.flags & MS_REC), None, t!("bind mount"), dest)?,
        }
        // Bind ignores other flags: apply them with a remount of the new mount (reopened: the old
        // descriptor still names the directory underneath).
        if o.flags & !(MS_BIND | MS_REC) != 0 {
            let top = reopen(root, dest)?;
            remount(top.fd(), MS_REMOUNT | MS_BIND | with_locked(o.flags & !MS_REC, &top), t!("remount bind"), dest)?;
        }
    } else {
        let (src, fstype, flags, data) = if is_cgroup(m) {
            // "cgroup" (v1) in the config: the v2 hierarchy, on any host (cgroup2 is always
            // there; in a cgroup namespace it shows the container's own cgroup as its root).
            (Some(c"cgroup2"), Some(c"cgroup2"), o.flags, None)
        } else {
            // tmpcopyup: writable until the copy is made (below), read-only after if asked.
            (m.source.or(m.typ), m.typ, if o.copyup { o.flags & !MS_RDONLY } else { o.flags }, data_c)
        };
        let r = mnt(src, target.fd(), fstype, flags, data);
        match (r, typ) {
            (Ok(()), _) => {}
            // sysfs needs a network namespace of our own; without one, the host's, read-only
            // with the options asked, and so is every mount below it (the host's cgroup
            // hierarchies, bpf, tracing...): a remount would change the top one only.
            (Err(Errno::PERM), b"sysfs") => {
                mount_on(Some(c"/sys"), target.fd(), None, MS_BIND | MS_REC, None, t!("bind mount /sys"), dest)?;
                let top = reopen(root, dest)?;
                // nosuid, nodev, noexec: the same bits as MOUNT_ATTR_*.
                let set = g::MOUNT_ATTR_RDONLY as u64 | (o.flags & (g::MS_NOSUID | g::MS_NODEV | g::MS_NOEXEC) as u64);
                match raw::mount_setattr(top.fd(), true, set, 0) {
                    Err(Errno::NOSYS) => return Err(Error::msg(t!("mount"), dest,
                        t!("sysfs without a network namespace is the host's /sys, read-only below too only with mount_setattr (Linux 5.12)"))),
                    r => r.ctx(t!("make /sys read-only (recursively)"), dest)?,
                }
            }
            (Err(e), _) => {
                let mut what = Buf::<{ crate::error::PATH_MAX_MSG }>::new();
                what.s(dest).s(b" (type ").s(typ).c(b')');
                return Err(Error::sys(t!("mount"), what.lossy(), e));
            }
        }
    }
    if o.copyup {
        let top = reopen(root, dest)?;
        match copy_dir(&target, &top, 0) {
            Err(Errno::LOOP) => return Err(Error::msg(t!("tmpcopyup"), dest, t!("deeper than 64 levels (spec/limits.rs COPYUP_DEPTH)"))),
            r => r.ctx(t!("tmpcopyup"), dest)?,
        }
        if o.flags & MS_RDONLY != 0 {
            mount_on(None, top.fd(), m.typ, o.flags | MS_REMOUNT, data_c, t!("remount read-only"), dest)?;
        }
    }
    finish(root, dest, &o)?;
    done.add(target);
    Ok(tmpfs && !o.copyup && o.flags & MS_RDONLY == 0)
}

/// What every mount gets last, once in place at `dest`: its recursive attributes (rro,
/// rnosuid...), the check that nosymfollow held, its propagation (rprivate...).
#[inline(never)]
fn finish(root: BorrowedFd<'_>, dest: &[u8], o: &Opts) -> Result<()> {
    if o.rset | o.rclr != 0 {
        set_recursive(root, dest, o)?;
    }
    if (o.flags & g::MS_NOSYMFOLLOW as u64) | (o.rset & g::MOUNT_ATTR_NOSYMFOLLOW as u64) != 0 {
        // Before Linux 5.10 mount(2) ignores MS_NOSYMFOLLOW without an error: read it back.
        const ST_NOSYMFOLLOW: u64 = 0x2000;
        let top = reopen(root, dest)?;
        if fs::fstatvfs(&top).ctx(t!("statvfs"), dest)?.f_flag.bits() & ST_NOSYMFOLLOW == 0 {
            return Err(opt_err(dest, b"nosymfollow", t!("is not applied by this kernel (Linux 5.10)")));
        }
    }
    if o.nprop > 0 {
        let top = reopen(root, dest)?;
        for &p in &o.propagation[..o.nprop] {
            remount(top.fd(), p, t!("set mount propagation"), dest)?;
        }
    }
    Ok(())
}

/// Copies the tree under directory `from` into directory `to` (tmpcopyup): directories, files,
/// symlinks and device nodes with their modes and owners, never following a symlink of the
/// image; at most limits::COPYUP_DEPTH levels deep.
fn copy_dir(from: &OwnedFd, to: &OwnedFd, depth: u32) -> core::result::Result<(), Errno> {
    let rd = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let src = fs::openat(from, c".", rd, Mode::empty())?;
    let dst = fs::openat(to, c".", rd, Mode::empty())?;
    if depth == 0 {
        let st = fs::fstat(&src)?;
        fs::fchmod(&dst, Mode::from_raw_mode(st.st_mode & 0o7777))?;
        fs::fchown(&dst, Some(fs::Uid::from_raw(st.st_uid)), Some(fs::Gid::from_raw(st.st_gid)))?;
    }
    if depth > crate::spec::limits::COPYUP_DEPTH {
        return Err(Errno::LOOP); // reported as the mount's error: deeper than the bound
    }
    let mut buf = [core::mem::MaybeUninit::<u8>::uninit(); 1024];
    let mut entries = fs::RawDir::new(&src, &mut buf);
    while let Some(e) = entries.next() {
        let e = e?;
        let name = e.file_name();
        if matches!(name.to_bytes(), b"." | b"..") {
            continue;
        }
        let st = fs::statat(&src, name, fs::AtFlags::SYMLINK_NOFOLLOW)?;
        let mode = Mode::from_raw_mode(st.st_mode & 0o7777);
        match FileType::from_raw_mode(st.st_mode) {
            FileType::Directory => {
                fs::mkdirat(&dst, name, mode)?;
                let a = fs::openat(&src, name, OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty())?;
                let b = fs::openat(&dst, name, OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty())?;
                copy_dir(&a, &b, depth + 1)?;
            }
            FileType::RegularFile => {
                let a = fs::openat(&src, name, OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty())?;
                let b = fs::openat(&dst, name, OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC, mode)?;
                let mut left = st.st_size as usize;
                while left > 0 {
                    match fs::sendfile(&b, &a, None, left) {
                        Ok(0) => break,
                        Ok(n) => left -= n,
                        Err(Errno::INTR) => {}
                        Err(e) => return Err(e),
                    }
                }
            }
            FileType::Symlink => {
                let mut t = [core::mem::MaybeUninit::<u8>::uninit(); crate::spec::limits::PATH];
                let (target, _) = fs::readlinkat_raw(&src, name, &mut t)?;
                let mut tb = Buf::<{ crate::spec::limits::PATH }>::new();
                tb.s(&*target);
                fs::symlinkat(tb.cstr()?, &dst, name)?;
            }
            ft => fs::mknodat(&dst, name, ft, mode, st.st_rdev)?,
        }
        let (uid, gid) = (Some(fs::Uid::from_raw(st.st_uid)), Some(fs::Gid::from_raw(st.st_gid)));
        fs::chownat(&dst, name, uid, gid, fs::AtFlags::SYMLINK_NOFOLLOW)?;
        if FileType::from_raw_mode(st.st_mode) != FileType::Symlink {
            fs::chmodat(&dst, name, mode, fs::AtFlags::empty())?;
        }
    }
    Ok(())
}

/// The flags of the mount `fd` is on that a remount must repeat (the kernel refuses, EPERM, to
/// change them in a user namespace), as MS_* flags.
fn locked_flags<F: AsFd>(fd: &F) -> u64 {
    locked_of(fd.as_fd())
}

/// [`locked_flags`], one copy for every type of descriptor.
#[inline(never)]
fn locked_of(fd: BorrowedFd<'_>) -> u64 {
    fs::fstatvfs(fd).map_or(0, |s| st_to_ms(s.f_flag.bits()))
}

/// statvfs's ST_* mount flags as MS_* ones: nosuid, nodev, noexec, noatime and nodiratime share
/// their bits, but ST_RELATIME (4096) is not MS_RELATIME, and strictatime has no ST_ flag: it is
/// neither relatime nor noatime. (Dropping it would turn a strictatime mount relatime.)
fn st_to_ms(st: u64) -> u64 {
    use mote_sys::rustix::fs::StatVfsMountFlags as St;
    let same = (St::NOSUID | St::NODEV | St::NOEXEC | St::NOATIME | St::NODIRATIME).bits();
    let atime = if st & (St::NOATIME | St::RELATIME).bits() == 0 {
        g::MS_STRICTATIME as u64
    } else if st & St::RELATIME.bits() != 0 {
        g::MS_RELATIME as u64
    } else {
        0
    };
    (st & same) | atime
}

/// The flags of a remount: `asked`, with the mount's locked ones; its atime mode only where
/// `asked` gives none (an atime option of the config wins; in a user namespace the kernel
/// refuses it if it differs, which is the error wanted).
fn with_locked<F: AsFd>(asked: u64, fd: &F) -> u64 {
    let keep = locked_flags(fd);
    asked | if asked & ATIME_MODE != 0 { keep & !ATIME_MODE } else { keep }
}

fn default_devices(root: BorrowedFd<'_>, spec: &Spec<'_>, root_ids: bool, done: &mut Batch) -> Result<()> {
    const DEVS: &[(&[u8], u32, u32)] = &[(b"/dev/null", 1, 3), (b"/dev/zero", 1, 5), (b"/dev/full", 1, 7),
        (b"/dev/random", 1, 8), (b"/dev/urandom", 1, 9), (b"/dev/tty", 5, 0)];
    // All in /dev (the tmpfs just mounted), resolved once.
    let dev = resolve::open(root, b"/dev").ctx(t!("open"), "/dev")?;
    // With the umask at 0 (this process's own: restored below) mknod gives each node its mode,
    // and made by root in a directory that is not setgid, each is root's already: then no
    // chmod and no chown after it.
    let made = root_ids && fs::fstat(&dev).is_ok_and(|s| s.st_mode & g::S_ISGID == 0);
    let umask = made.then(|| process::umask(Mode::empty()));
    // Those the config makes itself (a device, or a mount there: its choice) are left to it.
    let r = DEVS.iter().try_for_each(|&(p, major, minor)| {
        if !spec.linux.devices.iter().any(|d| d.path.to_bytes() == p) && !spec.mounts.iter().any(|m| m.destination.to_bytes() == p) {
            device_in(root, dev.fd(), &p[5..], p, g::S_IFCHR, major, minor, 0o666, 0, 0, made)?;
        }
        Ok(())
    });
    if let Some(m) = umask {
        process::umask(m);
    }
    r?;
    // (target, name in /dev)
    const LINKS: &[(&CStr, &CStr)] = &[(c"/proc/self/fd", c"fd"), (c"/proc/self/fd/0", c"stdin"),
        (c"/proc/self/fd/1", c"stdout"), (c"/proc/self/fd/2", c"stderr"), (c"pts/ptmx", c"ptmx")];
    for &(target, name) in LINKS {
        match fs::symlinkat(target, &dev, name) {
            Ok(()) | Err(Errno::EXIST) => {}
            Err(e) => {
                let mut er = Error::sys(t!("symlink"), "/dev/", e);
                er.path(|p| { p.s(name.to_bytes()); });
                return Err(er);
            }
        }
    }
    done.add(dev);
    Ok(())
}

/// Creates a device node inside the rootfs: mknod, or (in a user namespace, where mknod is
/// refused) a bind mount of the host's node over an empty file.
#[allow(clippy::too_many_arguments)]
fn device(root: BorrowedFd<'_>, path: &[u8], kind: u32, major: u32, minor: u32, mode: u32, uid: u32, gid: u32) -> Result<()> {
    let (dir, name) = resolve::parent_of(root, path).ctx(t!("create device"), path)?;
    device_in(root, dir.fd(), name, path, kind, major, minor, mode, uid, gid, false)
}

/// [`device`] with its directory `dir` (resolved inside `root`) already open: `name` in it.
/// `made`: mknod gives the node its mode and owner (umask 0, root's ids: default_devices).
#[allow(clippy::too_many_arguments)]
fn device_in(root: BorrowedFd<'_>, dir: BorrowedFd<'_>, name: &[u8], path: &[u8], kind: u32, major: u32, minor: u32, mode: u32, uid: u32, gid: u32, made: bool) -> Result<()> {
    let mut n = cname(name);
    let n = n.cstr().fits(t!("device name:"))?;
    let dev = fs::makedev(major, minor);
    let ft = FileType::from_raw_mode(kind);
    match fs::mknodat(dir, n, ft, Mode::from_raw_mode(mode & 0o7777), dev) {
        Ok(()) if made => Ok(()),
        Ok(()) => {
            // (mknod applies the umask; the mode is the config's.) Both by name, the owner
            // without following a symlink: the node just made is not one, and nothing else
            // runs in the container yet to swap it.
            let _ = fs::chmodat(dir, n, Mode::from_raw_mode(mode & 0o7777), fs::AtFlags::empty());
            fs::chownat(dir, n, Some(fs::Uid::from_raw(uid)), Some(fs::Gid::from_raw(gid)), fs::AtFlags::SYMLINK_NOFOLLOW).ctx(t!("chown device"), path)
        }
        // Already there (the image's, or a mount of the config): only if it is that device; an
        // image could otherwise plant anything where the config asked for a device.
        Err(Errno::EXIST) => match fs::statat(dir, n, fs::AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) if FileType::from_raw_mode(st.st_mode) == ft && (ft == FileType::Fifo || st.st_rdev == dev) => Ok(()),
            Ok(_) => Err(Error::msg(t!("device"), path, t!("exists in the rootfs as another file or device (refused)"))),
            Err(e) => Err(Error::sys(t!("stat device"), path, e)),
        },
        Err(Errno::PERM) => {
            let mut host = Buf::<{ crate::spec::limits::PATH }>::new();
            host.s(path);
            let host = host.cstr().fits(t!("linux.devices[].path:"))?;
            // The host's node stands in only if it is the device asked for.
            let st = fs::stat(host).ctx(t!("stat host device"), path)?;
            if FileType::from_raw_mode(st.st_mode) != ft || st.st_rdev != dev {
                let mut e = Error::msg(t!("device"), path, t!(""));
                e.path(|p| { p.t(t!(": the host's node to bind (mknod is refused here) is not ")).u(major as u64).c(b':').u(minor as u64); });
                return Err(e);
            }
            let target = resolve::open_or_create(root, path, Make::File).ctx(t!("create device"), path)?;
            mount_on(Some(host), target.fd(), None, MS_BIND, None, t!("bind device"), path)
        }
        Err(e) => Err(Error::sys(t!("mknod"), path, e)),
    }
}

/// pivot_root into the rootfs (or MS_MOVE + chroot with --no-pivot, or when / is an initramfs,
/// where pivot_root is refused).
fn switch_root(root: &OwnedFd, rootfs: &CStr, no_pivot: bool) -> Result<()> {
    // The old root, to stand in after the pivot: there "." is the new root (the old one is
    // stacked on it, but a path ending in "." names the directory, not what is mounted on it).
    let old = fs::open(c"/", OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty()).ctx(t!("open"), "/")?;
    process::fchdir(root).ctx(t!("chdir to rootfs"), rootfs.to_bytes())?;
    let pivoted = !no_pivot
        && match process::pivot_root(c".", c".") {
            Ok(()) => true,
            // Only where / is the initramfs (rootfs: ramfs or tmpfs) may the chroot fallback
            // stand in; any other EINVAL is a real error.
            Err(Errno::INVAL) if on_initramfs() => false,
            Err(e) => return Err(Error::sys(t!("pivot_root"), rootfs.to_bytes(), e)),
        };
    if pivoted {
        // Detach the old root without touching the host, and nothing but it: made slave from
        // "." of the new root, every mount of the container lost its propagation (rshared).
        process::fchdir(&old).ctx(t!("chdir to old root"), "/")?;
        raw::mount(None, c".", None, g::MS_SLAVE as u64 | MS_REC, None).ctx(t!("make old root private"), "/")?;
        raw::umount2(c".", g::MNT_DETACH).ctx(t!("unmount old root"), "/")?;
    } else {
        // A shared "/" (a shared rootfsPropagation keeps the host's peers) would pass the move on
        // to the host's "/", the container's tree over it; a slave passes nothing on. Every mount
        // below too: the old root's stay under the chroot, where an escaped process must not
        // reach the host's through them (so no Bidirectional with --no-pivot).
        slave_root()?;
        raw::mount(Some(c"."), c"/", None, g::MS_MOVE as u64, None).ctx(t!("move rootfs to /"), rootfs.to_bytes())?;
        process::chroot(c".").ctx(t!("chroot"), rootfs.to_bytes())?;
    }
    process::chdir(c"/").ctx(t!("chdir"), "/")
}

/// "/" and every mount below it slaves: they pass no mount on to the host.
#[inline(never)]
fn slave_root() -> Result<()> {
    raw::mount(None, c"/", None, g::MS_SLAVE as u64 | MS_REC, None).ctx(t!("make / private"), "/")
}

/// Whether "/" is the initramfs (ramfs or tmpfs), where pivot_root is refused.
fn on_initramfs() -> bool {
    const RAMFS_MAGIC: i64 = 0x8584_58f6;
    const TMPFS_MAGIC: i64 = 0x0102_1994;
    fs::statfs(c"/").is_ok_and(|s| matches!(s.f_type as i64, RAMFS_MAGIC | TMPFS_MAGIC))
}

/// The container's /dev/null, resolved inside its root and verified to be the null device
/// (1:3): an image's /dev/null planted as a symlink or a file would otherwise turn a
/// masked path into a bind mount of whatever it names (the CVE-2025-31133 class).
#[inline(never)]
fn dev_null(root: BorrowedFd<'_>) -> Result<OwnedFd> {
    // Resolved inside the root (a symlink too: what counts is the node it ends at, checked below).
    let null = match resolve::open(root, b"/dev/null") {
        Err(Errno::NOENT) => return Err(Error::say(t!("mask"), t!("needs /dev/null in the container (mount /dev)"))),
        r => r.ctx(t!("mask: open"), "/dev/null")?,
    };
    let st = fs::fstat(&null).ctx(t!("mask: stat"), "/dev/null")?;
    if FileType::from_raw_mode(st.st_mode) != FileType::CharacterDevice || st.st_rdev != fs::makedev(1, 3) {
        return Err(Error::say(t!("mask: /dev/null"), t!("is not the null device (a symlink or a file in the image?): refused")));
    }
    Ok(null)
}

/// Hides a path: an empty read-only tmpfs over a directory, /dev/null over anything else.
#[inline(never)]
fn mask(root: BorrowedFd<'_>, p: &[u8], null: &mut Option<OwnedFd>, done: &mut Batch) -> Result<()> {
    let target = match resolve::open(root, p) {
        Err(Errno::NOENT) => return Ok(()),
        r => r.ctx(t!("mask"), p)?,
    };
    let r = mask_on(root, &target, p, null);
    done.add(target);
    r
}

fn mask_on(root: BorrowedFd<'_>, target: &OwnedFd, p: &[u8], null: &mut Option<OwnedFd>) -> Result<()> {
    let st = fs::fstat(target).ctx(t!("mask"), p)?;
    if FileType::from_raw_mode(st.st_mode) == FileType::Directory {
        return mount_on(Some(c"tmpfs"), target.fd(), Some(c"tmpfs"), MS_RDONLY, Some(c"size=0k"), t!("mask"), p);
    }
    if null.is_none() {
        *null = Some(dev_null(root)?);
    }
    bind_fd(null.as_ref().unwrap_or(target).fd(), target.fd(), MS_BIND, t!("mask"), p)
}

/// Makes a path read-only: a bind mount of itself, read-only with every mount below it
/// (mount_setattr); where that is missing, a remount of the top one, refused when the config
/// mounts something below it (that would stay writable).
#[inline(never)]
fn readonly(root: BorrowedFd<'_>, p: &[u8], spec: &Spec<'_>, done: &mut Batch) -> Result<()> {
    let target = match resolve::open(root, p) {
        Err(Errno::NOENT) => return Ok(()),
        r => r.ctx(t!("read-only path"), p)?,
    };
    let r = bind_fd(target.fd(), target.fd(), MS_BIND | MS_REC, t!("bind mount read-only path"), p);
    done.add(target);
    r?;
    // Reopened: the old descriptor still names what is underneath the new mount.
    let top = resolve::open(root, p).ctx(t!("read-only path"), p)?;
    let r = readonly_top(&top, p, spec);
    done.add(top);
    r
}

fn readonly_top(top: &OwnedFd, p: &[u8], spec: &Spec<'_>) -> Result<()> {
    match raw::mount_setattr(top.fd(), true, g::MOUNT_ATTR_RDONLY as u64, 0) {
        // ENOSYS: before Linux 5.12, qemu-user; EPERM: a seccomp profile of an outer runtime
        // that does not know the call (every container has read-only paths: not an error).
        Err(Errno::NOSYS | Errno::PERM) => {}
        r => return r.ctx(t!("make read-only (recursively)"), p),
    }
    let dir = resolve::trim(p);
    let below = |m: &Mount<'_>| m.destination.to_bytes().strip_prefix(dir).is_some_and(|r| r.len() > 1 && r[0] == b'/');
    if spec.mounts.iter().any(below) {
        return Err(Error::msg(t!("read-only path"), p, t!("has mounts below it: read-only all the way down needs mount_setattr (Linux 5.12)")));
    }
    let keep = locked_flags(top);
    remount(top.fd(), MS_REMOUNT | MS_BIND | MS_RDONLY | keep, t!("remount read-only"), p)
}

fn remount_ro(p: &CStr) -> Result<()> {
    let keep = fs::statvfs(p).map_or(0, |s| st_to_ms(s.f_flag.bits()));
    raw::mount(None, p, None, MS_REMOUNT | MS_BIND | MS_RDONLY | keep, None).ctx(t!("remount read-only"), p.to_bytes())
}
