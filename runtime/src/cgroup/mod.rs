//! Cgroups through cgroupfs, no manager: the layout of this host (pure v2, pure v1, or hybrid:
//! v1 controllers plus a v2 tree at /sys/fs/cgroup/unified) is read at run time, and the
//! container gets a directory of the same relative path in every hierarchy.
//!
//! This file: create, join, list, kill, remove. Resource limits live beside it (resources.rs).

pub mod bpf;
pub mod devices;
pub mod resources;
pub mod stats;

use mote_sys::io::Buf;
use mote_sys::raw::Errno;
use mote_sys::rustix::fd::OwnedFd;
use core::mem::MaybeUninit;

use mote_sys::rustix::fs::{self, AtFlags, Mode, OFlags, RawDir, CWD};

use crate::error::{CPath, Ctx, Error, Fits, Result};
use crate::spec::limits;

pub const ROOT: &[u8] = b"/sys/fs/cgroup";
/// Longest cgroup path accepted.
pub const PATH: usize = crate::spec::limits::CGROUP_PATH;
/// Most hierarchies a host may have (v1 controllers + named + unified).
const HIERARCHIES: usize = 16;

pub type CgPath = Buf<PATH>;

/// The hierarchies of this host: mount directories under /sys/fs/cgroup (one on pure v2).
pub type Hierarchies = heapless::Vec<Buf<64>, HIERARCHIES>;

/// The layout, read once per process ([`scan`]): every create, join, view and destroy reuses it.
static LAYOUT: mote_sys::mem::Once<Hierarchies> = mote_sys::mem::Once::new();

/// The hierarchies of this host (see [`scan`]), read on first use.
pub fn hierarchies() -> Result<&'static Hierarchies> {
    LAYOUT.get_or_try(scan)
}

/// Whether /sys/fs/cgroup is itself the one (v2) hierarchy: a pure v2 host.
pub fn pure_v2() -> bool {
    hierarchies().is_ok_and(|h| h.first().is_some_and(|b| b.lossy() == ROOT))
}

/// The v2 tree: /sys/fs/cgroup on pure v2, else a hybrid host's unified (absent on pure v1:
/// files under it are then simply not found).
fn v2_root() -> &'static [u8] {
    if pure_v2() { ROOT } else { b"/sys/fs/cgroup/unified" }
}

/// Pure v2 from one statfs of /sys/fs/cgroup; else the cgroup and cgroup2 mounts directly
/// under it, from one pass over /proc/self/mountinfo (v1 or hybrid). More of them than mote has
/// room for, or a name too long, is an error, not a hierarchy skipped.
fn scan() -> Result<Hierarchies> {
    let mut v = Hierarchies::new();
    let st = fs::statfs(c"/sys/fs/cgroup").ctx(t!("statfs"), ROOT)?;
    if st.f_type as u64 == mote_sys::linux_raw_sys::general::CGROUP2_SUPER_MAGIC as u64 {
        let mut b = Buf::<64>::new();
        b.s(ROOT);
        let _ = v.push(b);
        return Ok(v);
    }
    const MI: &[u8] = b"/proc/self/mountinfo";
    let f = fs::open(c"/proc/self/mountinfo", OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()).ctx(t!("open"), MI)?;
    let mut buf = [0u8; 4096];
    let (mut have, mut skip) = (0, false);
    loop {
        let n = match mote_sys::rustix::io::read(&f, &mut buf[have..]) {
            Ok(n) => n,
            Err(Errno::INTR) => continue,
            Err(e) => return Err(Error::sys(t!("read"), MI, e)),
        };
        let end = have + n;
        let mut at = 0;
        while let Some(i) = buf[at..end].iter().position(|&c| c == b'\n') {
            if !skip {
                mount_line(&buf[at..at + i], &mut v)?;
            }
            skip = false;
            at += i + 1;
        }
        if n == 0 {
            if !skip {
                mount_line(&buf[at..end], &mut v)?;
            }
            return Ok(v);
        }
        if at == 0 && end == buf.len() {
            // A line longer than the buffer: skipped only when its mount point (field 5, whole
            // or as far as the buffer goes) is not under /sys/fs/cgroup.
            let whole = on(&buf, b' ').count() > 5;
            let other = on(&buf, b' ').nth(4).is_some_and(|m| {
                let k = if whole { ROOT.len() } else { m.len().min(ROOT.len()) };
                m.get(..k) != Some(&ROOT[..k])
            });
            if !skip && !other {
                return Err(Error::msg(t!("read"), MI, t!("a mount line longer than 4096 bytes that may be a cgroup mount")));
            }
            (have, skip) = (0, true);
            continue;
        }
        buf.copy_within(at..end, 0);
        have = end - at;
    }
}

/// Adds the hierarchy a mountinfo line describes, if it is one: a cgroup or cgroup2 mount whose
/// mount point (field 5) is a directory right under /sys/fs/cgroup. (Fields: id, parent,
/// dev, root, mount point, options, optional fields up to "-", fs type, source, options.)
/// Lines come in mount order: a later mount on a hierarchy's place, or on /sys/fs/cgroup or
/// above it, hides what was there (as the old probe of each directory's cgroup.procs saw).
fn mount_line(line: &[u8], v: &mut Hierarchies) -> Result<()> {
    let mut fields = on(line, b' ');
    let Some(at) = fields.nth(4) else { return Ok(()) };
    if crate::json::find(at, "/sys\0/sys/fs\0/sys/fs/cgroup\0") < 3 {
        v.clear();
    }
    let Some(name) = at.strip_prefix(ROOT).and_then(|m| m.strip_prefix(b"/")) else { return Ok(()) };
    let mut b = Buf::<64>::new();
    b.s(ROOT).c(b'/').s(name);
    if !b.overflowed() {
        v.retain(|h| h.lossy() != b.lossy());
    }
    let fstype = fields.skip_while(|&f| f != b"-").nth(1);
    // (a name with a space or a backslash is escaped as \NNN: no controller has one)
    if fstype.is_none_or(|t| crate::json::find(t, "cgroup\0cgroup2\0") > 1) || matches!(name, b"" | b"." | b"..") || name.contains(&b'/') || name.contains(&b'\\') {
        return Ok(());
    }
    b.get().fits(t!("cgroup hierarchy path:"))?;
    v.push(b).map_err(|_| Error::msg(t!("cgroup hierarchies under"), ROOT, t!("more than 16")))
}

/// The container's cgroup path: linux.cgroupsPath, or /mote/<id>.
pub fn path_for(spec_path: Option<&[u8]>, id: &[u8]) -> Result<CgPath> {
    let mut p = CgPath::new();
    match spec_path {
        Some(s) if !s.is_empty() => {
            if s.contains(&b':') {
                return Err(Error::msg(t!("linux.cgroupsPath"), s, t!("systemd slice:prefix:name paths need a systemd cgroup manager; mote writes cgroupfs")));
            }
            if s[0] != b'/' {
                // Relative: under the runtime's own cgroup, as runc does for cgroupfs.
                own_cgroup(&mut p)?;
                p.c(b'/');
            }
            p.s(s);
        }
        _ => {
            p.s(b"/mote/").s(id);
        }
    }
    // Normalised: no "..", no "." or empty components, and never the root (mote removes and
    // kills what is in the container's cgroup: it must be the container's own).
    let p = p.get().map_err(|_| Error::too_long(t!("linux.cgroupsPath:"), PATH))?;
    let mut n = CgPath::new();
    for c in on(p, b'/') {
        match c {
            b"" | b"." => {}
            b".." => return Err(Error::msg(t!("linux.cgroupsPath"), p, t!("must not contain .."))),
            c => {
                n.c(b'/').s(c);
            }
        }
    }
    if n.is_empty() {
        return Err(Error::msg(t!("linux.cgroupsPath"), p, t!("must not be the root cgroup")));
    }
    Ok(n)
}

/// The runtime's own cgroup ("" for the root): the v2 line of /proc/self/cgroup, else the first.
/// Unreadable is an error: a relative cgroupsPath must not silently land under the root.
fn own_cgroup(out: &mut CgPath) -> Result<()> {
    let mut b = [0u8; 4096];
    let n = read_file(c"/proc/self/cgroup", &mut b)?;
    let lines = || on(&b[..n], b'\n').filter(|l| !l.is_empty());
    let line = lines().find(|l| l.starts_with(b"0::")).or_else(|| lines().next());
    if let Some(l) = line {
        if let Some(i) = l.iter().rposition(|&c| c == b':') {
            let path = &l[i + 1..];
            if path != b"/" {
                out.s(path);
            }
            return Ok(());
        }
    }
    Err(Error::msg(t!("read"), "/proc/self/cgroup", t!("no cgroup line")))
}

/// `<hierarchy><path>`, both bounded (64 and PATH bytes): it always fits.
fn dir_in(h: &[u8], path: &[u8]) -> Buf<{ PATH + 64 }> {
    let mut d = Buf::new();
    d.s(h).s(path);
    d
}

/// `<hierarchy><path><name>` as a C path (name: "/cgroup.procs" and the like).
fn file_in(h: &[u8], path: &[u8], name: &[u8]) -> Buf<{ PATH + 96 }> {
    let mut f = Buf::new();
    f.s(h).s(path).s(name);
    f
}

/// Creates the cgroup in every hierarchy (parents included) and returns its identity (see
/// [`ident`]). The container's own directory is claimed: made by this call or refused, so two
/// containers (two creates racing, or two --root with one id) never share one, and mote never
/// kills what is in a cgroup it did not make. What this call made is removed if it fails.
pub fn create(path: &[u8]) -> Result<u64> {
    let hs = hierarchies()?;
    let mut tries = 0;
    loop {
        let mut made = 0;
        let r = claim(hs, path, &mut made);
        if r.is_err() {
            for h in &hs[..made] {
                let _ = dir_in(h.lossy(), path).cstr().map(|d| fs::rmdir(d));
            }
        }
        match r {
            // A concurrent delete may remove a shared parent (/mote) between our mkdirs.
            Err(e) if matches!(e.errno(), Some(Errno::NOENT)) && tries < 5 => tries += 1,
            r => {
                r?;
                break;
            }
        }
    }
    // Under a frozen parent our process would wait in the refrigerator forever (runc's check
    // and words).
    if is_frozen(path) {
        let _ = destroy(path, 0);
        return Err(Error::msg(t!("cgroup"), path, t!("container's cgroup unexpectedly frozen")));
    }
    // The container may make cgroups of its own (through a cgroup namespace), as deep as mote
    // will walk to kill and remove them, and no deeper (v2; v1 is not delegated; kernels before
    // 4.14 have no such file).
    let mut depth = Buf::<8>::new();
    depth.u(limits::CGROUP_DEPTH as u64);
    match write_file(file_in(v2_root(), path, b"/cgroup.max.depth").cstr(), depth.lossy()) {
        Err(e) if e.errno() != Some(Errno::NOENT) => {
            let _ = destroy(path, 0);
            return Err(e);
        }
        _ => {}
    }
    ident(path)
}

/// mkdir of the path in every hierarchy; `made` counts the hierarchies where the leaf is ours.
/// The leaf first: its parents are made only where it has none (ENOENT).
fn claim(hs: &[Buf<64>], path: &[u8], made: &mut usize) -> Result<()> {
    for h in hs {
        let mut d = dir_in(h.lossy(), path);
        let leaf = d.cstr().fits(t!("cgroup path:"))?;
        let mut r = fs::mkdir(leaf, Mode::from_raw_mode(0o755));
        if r == Err(Errno::NOENT) {
            let mut p = dir_in(h.lossy(), b"");
            for comp in on(path, b'/').filter(|c| !c.is_empty()) {
                p.c(b'/').s(comp);
                if p.len() == d.len() {
                    break; // the leaf, made below
                }
                match fs::mkdir(p.cstr().fits(t!("cgroup path:"))?, Mode::from_raw_mode(0o755)) {
                    Ok(()) | Err(Errno::EXIST) => {}
                    Err(e) => return Err(Error::sys(t!("create cgroup"), p.lossy(), e)),
                }
            }
            r = fs::mkdir(d.cstr().fits(t!("cgroup path:"))?, Mode::from_raw_mode(0o755));
        }
        match r {
            Ok(()) => *made += 1,
            Err(Errno::EXIST) if populated(path)? => return Err(Error::msg(t!("cgroup"), path, t!("already has processes in it"))),
            Err(Errno::EXIST) => {
                return Err(Error::msg(t!("cgroup"), path, t!("already exists: another container's, or left over (remove it first)")))
            }
            Err(e) => return Err(Error::sys(t!("create cgroup"), d.lossy(), e)),
        }
        // A v1 cpuset starts empty and refuses tasks until it has cpus and mems.
        if h.lossy().ends_with(b"/cpuset") {
            fill_cpuset(h.len(), d.lossy())?;
        }
    }
    Ok(())
}

/// The hierarchies in the order that finds a cgroup's [`home`]: the v2 tree first when there
/// is one (pure v2, or a hybrid host's unified), then every one.
fn home_order() -> Result<impl Iterator<Item = &'static Buf<64>>> {
    let hs = hierarchies()?;
    let v2 = hs.iter().position(|h| h.lossy() == ROOT || h.lossy().ends_with(b"/unified"));
    Ok(v2.map(|i| &hs[i]).into_iter().chain(hs.iter()))
}

/// The cgroup's directory in hierarchy `h`; None where it has none.
#[inline(never)]
fn open_dir(h: &Buf<64>, path: &[u8]) -> Result<Option<OwnedFd>> {
    let mut d = dir_in(h.lossy(), path);
    match fs::open(d.cstr().fits(t!("cgroup path:"))?, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty()) {
        Err(Errno::NOENT) => Ok(None),
        r => r.map(Some).ctx(t!("open cgroup"), d.lossy()),
    }
}

/// The hierarchy that identifies a cgroup and lists its processes: the v2 tree when there is
/// one, else the first v1 hierarchy that has the cgroup.
#[inline(never)]
fn home(path: &[u8]) -> Result<Option<OwnedFd>> {
    for h in home_order()? {
        if let Some(fd) = open_dir(h, path)? {
            return Ok(Some(fd));
        }
    }
    Ok(None)
}

/// The inode of the cgroup's directory in its [`home`] hierarchy (one stat, no descriptor).
fn home_ino(path: &[u8]) -> Result<Option<u64>> {
    for h in home_order()? {
        match fs::statat(CWD, dir_in(h.lossy(), path).cstr().fits(t!("cgroup path:"))?, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) if fs::FileType::from_raw_mode(st.st_mode) == fs::FileType::Directory => return Ok(Some(st.st_ino)),
            Ok(_) => return Err(Error::sys(t!("open cgroup"), path, Errno::NOTDIR)),
            Err(Errno::NOENT) => {}
            Err(e) => return Err(Error::sys(t!("stat cgroup"), path, e)),
        }
    }
    Ok(None)
}

/// The cgroup's identity: the inode of its directory in its [`home`] hierarchy (the kernel's
/// cgroup id on v2). Recorded at create and compared before anything is killed or removed: a
/// cgroup of the same path made since is not the container's.
pub fn ident(path: &[u8]) -> Result<u64> {
    home_ino(path)?.ok_or_else(|| Error::sys(t!("open cgroup"), path, Errno::NOENT))
}

/// Fails unless the cgroup at `path` is still the one with identity `ino` (0: not recorded,
/// a state.json from before identities; a missing cgroup is nobody's and passes).
pub fn owned(path: &[u8], ino: u64) -> Result<()> {
    match home_ino(path)? {
        Some(i) if ino != 0 && i != ino => {
            Err(Error::msg(t!("cgroup"), path, t!("is not this container's any more (made again since): left alone")))
        }
        _ => Ok(()),
    }
}

/// Gives the new v1 cpuset directory `dir` (its hierarchy's path is `dir[..top]`) the cpus and
/// mems of its nearest ancestor that has them, writing them into every empty directory between
/// (parents just made, by us or by a concurrent create that has not filled them yet).
fn fill_cpuset(top: usize, dir: &[u8]) -> Result<()> {
    for file in [&b"/cpuset.cpus"[..], b"/cpuset.mems"] {
        let mut val = [0u8; 256];
        let mut up = dir.len();
        let n = loop {
            up = dir[..up].iter().rposition(|&c| c == b'/').unwrap_or(0);
            let n = read_file(file_in(&dir[..up], b"", file).cstr(), &mut val)?;
            if n > 1 || up <= top {
                break n;
            }
        };
        while up < dir.len() {
            up = dir[up + 1..].iter().position(|&c| c == b'/').map_or(dir.len(), |i| up + 1 + i);
            write_file(file_in(&dir[..up], b"", file).cstr(), &val[..n])?;
        }
    }
    Ok(())
}

/// Moves process `pid` into the cgroup in every hierarchy.
pub fn join(path: &[u8], pid: u32) -> Result<()> {
    let mut v = Buf::<16>::new();
    v.u(pid as u64);
    for h in hierarchies()? {
        write_file(file_in(h.lossy(), path, b"/cgroup.procs").cstr(), v.get().fits(t!("pid:"))?)?;
    }
    Ok(())
}

/// Calls `f(parent, name, dir)` for every cgroup below `dir`, children before their parent
/// (so that `f` may remove them).
fn below(dir: &OwnedFd, depth: usize, f: &mut dyn FnMut(&OwnedFd, &core::ffi::CStr, &OwnedFd) -> Result<()>) -> Result<()> {
    if depth > limits::CGROUP_DEPTH {
        return Err(Error::say(t!("cgroup"), t!("nested deeper than 32 levels below the container's (spec/limits.rs)")));
    }
    let mut buf = [MaybeUninit::<u8>::uninit(); 1024];
    let mut it = RawDir::new(dir, &mut buf);
    while let Some(e) = it.next() {
        let e = e.ctx(t!("read cgroup directory"), "")?;
        let name = e.file_name();
        if e.file_type() != fs::FileType::Directory || name.to_bytes().starts_with(b".") {
            continue;
        }
        let sub = match fs::openat(dir, name, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty()) {
            Err(Errno::NOENT) => continue, // removed meanwhile
            r => r.ctx(t!("open cgroup"), name.to_bytes())?,
        };
        below(&sub, depth + 1, f)?;
        f(dir, name, &sub)?;
    }
    Ok(())
}

/// Calls `f` for every pid in `dir`'s cgroup.procs, read a page at a time (no size cap).
fn procs(dir: &OwnedFd, f: &mut dyn FnMut(u32) -> Result<()>) -> Result<()> {
    let file = match fs::openat(dir, c"cgroup.procs", OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()) {
        Err(Errno::NOENT) => return Ok(()), // removed meanwhile
        r => r.ctx(t!("open"), "cgroup.procs")?,
    };
    let (mut buf, mut line, mut n) = ([0u8; 4096], [0u8; 16], 0);
    loop {
        let k = match mote_sys::rustix::io::read(&file, &mut buf) {
            Ok(0) | Err(Errno::NODEV) => return Ok(()), // the cgroup went away
            Ok(k) => k,
            Err(Errno::INTR) => continue,
            Err(e) => return Err(Error::sys(t!("read"), "cgroup.procs", e)),
        };
        for &c in &buf[..k] {
            if c != b'\n' {
                *line.get_mut(n).ok_or_else(|| Error::msg(t!("read"), "cgroup.procs", t!("not a pid per line")))? = c;
                n += 1;
            } else {
                f(mote_sys::num::parse(&line[..n]).ok_or_else(|| Error::msg(t!("read"), "cgroup.procs", t!("not a pid per line")))?)?;
                n = 0;
            }
        }
    }
}

/// Calls `f` for every pid in the cgroup and every cgroup below it (they may have made their
/// own, through a cgroup namespace: they are the container's all the same).
pub fn pids(path: &[u8], f: &mut dyn FnMut(u32) -> Result<()>) -> Result<()> {
    let Some(top) = home(path)? else { return Ok(()) };
    below(&top, 0, &mut |_, _, sub| procs(sub, f))?;
    procs(&top, f)
}

/// Whether any process is in the cgroup or below it, in any hierarchy (a v1 host may have
/// put processes in just one of them).
pub fn populated(path: &[u8]) -> Result<bool> {
    for h in hierarchies()? {
        let Some(fd) = open_dir(h, path)? else { continue };
        let mut any = false;
        let mut found = |_| {
            any = true;
            Err(Error::say(t!(""), t!(""))) // stops the walk at the first pid
        };
        let r = below(&fd, 0, &mut |_, _, sub| procs(sub, &mut found)).and_then(|()| procs(&fd, &mut found));
        if any {
            return Ok(true);
        }
        r?;
    }
    Ok(false)
}

/// Kills everything in the cgroup and below it, then removes them all, children first, from
/// every hierarchy. `ino` is the identity recorded at create ([`owned`]). Processes are frozen
/// first where a freezer can (a fork bomb cannot outrun the kill), killed, then thawed so that
/// the kill is delivered; v2's cgroup.kill does the same in one write.
pub fn destroy(path: &[u8], ino: u64) -> Result<()> {
    owned(path, ino)?;
    // Most often every process has left and none made a cgroup below: one rmdir per hierarchy
    // does it (the kernel refuses, EBUSY, a cgroup with a process or a child: then all below).
    if rmdir_each(path)? {
        remove_default_parent(path);
        return Ok(());
    }
    if populated(path)? {
        let _ = freeze(path, true);
        if let Ok(k) = file_in(v2_root(), path, b"/cgroup.kill").cstr() {
            let _ = write_file(k, b"1"); // kernels before 5.14 have none: the kill below
        }
        kill_all(path)?;
        // Thawed whether or not the freeze settled: a frozen process does not die.
        let _ = freeze(path, false);
    }
    // Killed processes take a moment to leave: 100 rounds of 10 ms at most.
    for _ in 0..100 {
        kill_all(path)?;
        let mut left = false;
        for h in hierarchies()? {
            let Some(top) = open_dir(h, path)? else { continue };
            let mut d = dir_in(h.lossy(), path);
            below(&top, 0, &mut |parent, name, _| match fs::unlinkat(parent, name, AtFlags::REMOVEDIR) {
                Ok(()) | Err(Errno::NOENT) => Ok(()),
                Err(Errno::BUSY) => {
                    left = true;
                    Ok(())
                }
                Err(e) => Err(Error::sys(t!("remove cgroup below"), d.lossy(), e)),
            })?;
            left |= !rmdir_in(&mut d)?;
        }
        if !left {
            remove_default_parent(path);
            return Ok(());
        }
        sleep_ms(10);
    }
    Err(Error::msg(t!("remove cgroup"), path, t!("processes did not leave within 1s")))
}

/// SIGKILL to every process of the cgroup and below it.
fn kill_all(path: &[u8]) -> Result<()> {
    pids(path, &mut |pid| {
        let _ = mote_sys::sig::kill(pid as i32, 9);
        Ok(())
    })
}

/// rmdir of the cgroup in every hierarchy; true when it is gone from all of them.
fn rmdir_each(path: &[u8]) -> Result<bool> {
    let mut gone = true;
    for h in hierarchies()? {
        gone &= rmdir_in(&mut dir_in(h.lossy(), path))?;
    }
    Ok(gone)
}

/// rmdir of the cgroup directory `d`; false while it has processes or children (EBUSY).
#[inline(never)]
fn rmdir_in(d: &mut Buf<{ PATH + 64 }>) -> Result<bool> {
    match fs::rmdir(d.cstr().fits(t!("cgroup path:"))?) {
        Ok(()) | Err(Errno::NOENT) => Ok(true),
        Err(Errno::BUSY) => Ok(false),
        Err(e) => Err(Error::sys(t!("remove cgroup"), d.lossy(), e)),
    }
}

/// Removes the shared /mote parent of default paths once the last container is gone (an rmdir
/// of a non-empty cgroup fails harmlessly, and paths of the config's choosing are left alone).
fn remove_default_parent(path: &[u8]) {
    if !path.starts_with(b"/mote/") {
        return;
    }
    for h in hierarchies().map_or(&[][..], |h| &h[..]) {
        if let Ok(d) = dir_in(h.lossy(), b"/mote").cstr() {
            let _ = fs::rmdir(d);
        }
    }
}

/// The file that asks for (and on v1 says) the cgroup's frozen state: v2 cgroup.freeze, v1
/// freezer.state.
fn freeze_file(v2: bool, path: &[u8]) -> Buf<{ PATH + 96 }> {
    if v2 { file_in(ROOT, path, b"/cgroup.freeze") } else { file_in(b"/sys/fs/cgroup/freezer", path, b"/freezer.state") }
}

/// Freezes (or thaws) every process of the cgroup, and waits until the kernel says it is done.
pub fn freeze(path: &[u8], on: bool) -> Result<()> {
    let v2 = pure_v2();
    let mut f = freeze_file(v2, path);
    let val: &[u8] = match (v2, on) {
        (true, true) => b"1",
        (true, false) => b"0",
        (false, true) => b"FROZEN",
        (false, false) => b"THAWED",
    };
    write_file(f.cstr(), val)?;
    for _ in 0..500 {
        if is_frozen(path) == on {
            return Ok(());
        }
        sleep_ms(2);
    }
    Err(Error::msg(if on { t!("freeze") } else { t!("thaw") }, f.lossy(), t!("the cgroup did not settle within 1s")))
}

/// Sleeps `ms` milliseconds (the polling loops above).
pub fn sleep_ms(ms: u64) {
    let ts = mote_sys::rustix::time::Timespec { tv_sec: (ms / 1000) as i64, tv_nsec: (ms % 1000 * 1_000_000) as i64 };
    let _ = mote_sys::rustix::thread::nanosleep(&ts);
}

/// Whether the cgroup is frozen (v1 freezer.state FROZEN, v2 cgroup.events "frozen 1"): the
/// effective state, an ancestor's freeze included.
pub fn is_frozen(path: &[u8]) -> bool {
    if path.is_empty() {
        return false;
    }
    for h in hierarchies().map_or(&[][..], |h| &h[..]) {
        let hb = h.lossy();
        // v2: cgroup.events says whether the processes are frozen (cgroup.freeze is only what
        // was asked for).
        let file: &[u8] = if hb.ends_with(b"/freezer") {
            b"/freezer.state"
        } else if hb == ROOT {
            b"/cgroup.events"
        } else {
            continue;
        };
        let mut buf = [0u8; 128];
        if let Ok(n) = read_file(file_in(hb, path, file).cstr(), &mut buf) {
            let v = &buf[..n];
            return v.starts_with(b"FROZEN") || on(v, b'\n').any(|l| l == b"frozen 1");
        }
    }
    false
}

/// Whether the container is paused: its cgroup was asked to freeze (`status`). v2: what
/// cgroup.freeze asks for (cgroup.events says "frozen 0" for a moment whenever a process joins a
/// frozen cgroup, an exec's child for one). v1: FREEZING is that same passing state (or a
/// process still on its way to the refrigerator): read again, as runc does, for up to 1 s, and
/// still freezing then is paused all the same (freezing is what was asked). Without this, a
/// paused container read as running for a moment and `resume` refused it.
pub fn is_paused(path: &[u8]) -> bool {
    if path.is_empty() {
        return false;
    }
    let v2 = pure_v2();
    let mut f = freeze_file(v2, path);
    for _ in 0..500 {
        let mut buf = [0u8; 16];
        let Ok(n) = read_file(f.cstr(), &mut buf) else { return false };
        let v = &buf[..n];
        if !v.starts_with(b"FREEZING") {
            return v.starts_with(b"FROZEN") || v.starts_with(b"1");
        }
        sleep_ms(2);
    }
    true
}

/// How many processes of the cgroup the OOM killer killed (v2 memory.events, v1
/// memory.oom_control; 0 where the kernel does not count them).
pub fn oom_kills(path: &[u8]) -> u64 {
    let v2 = pure_v2();
    let mut f = if v2 { file_in(ROOT, path, b"/memory.events") } else { file_in(b"/sys/fs/cgroup/memory", path, b"/memory.oom_control") };
    let mut b = [0u8; 512];
    let Ok(n) = read_file(f.cstr(), &mut b) else { return 0 };
    on(&b[..n], b'\n').find_map(|l| l.strip_prefix(b"oom_kill ")).and_then(mote_sys::num::u64).unwrap_or(0)
}

/// The parts of `b` between `sep`s (the lines, words, fields and path components of cgroupfs
/// and procfs text): one splitter type, so one copy of its code instead of one per closure.
pub fn on(b: &[u8], sep: u8) -> core::slice::Split<'_, u8, impl FnMut(&u8) -> bool> {
    b.split(move |&c| c == sep)
}

/// Reads a small cgroupfs file.
#[inline]
pub fn read_file<'a>(path: impl CPath<'a>, buf: &mut [u8]) -> Result<usize> {
    read_c(path.path()?, buf)
}

#[inline(never)]
fn read_c(path: &core::ffi::CStr, buf: &mut [u8]) -> Result<usize> {
    let f: OwnedFd = fs::openat(CWD, path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()).ctx(t!("open"), path.to_bytes())?;
    // (cgroup.procs, many records, is read by procs())
    crate::state::read_small(&f, buf).ctx(t!("read"), path.to_bytes())
}

/// Writes a value to a cgroupfs file (one write: cgroupfs takes a value per write).
#[inline]
pub fn write_file<'a>(path: impl CPath<'a>, val: &[u8]) -> Result<()> {
    write_c(path.path()?, val)
}

#[inline(never)]
fn write_c(path: &core::ffi::CStr, val: &[u8]) -> Result<()> {
    write_to(&open_w(path)?, path.to_bytes(), val)
}

/// Opens a cgroupfs (or procfs) file for writes ([`write_to`]), to write it several times.
#[inline(never)]
pub fn open_w(path: &core::ffi::CStr) -> Result<OwnedFd> {
    fs::openat(CWD, path, OFlags::WRONLY | OFlags::CLOEXEC, Mode::empty()).ctx(t!("open"), path.to_bytes())
}

/// One value in one write (cgroupfs takes a value, or a rule, per write) to `f`, opened from `path`.
#[inline(never)]
pub fn write_to(f: &OwnedFd, path: &[u8], val: &[u8]) -> Result<()> {
    match mote_sys::rustix::io::write(f, val) {
        Ok(_) => Ok(()),
        Err(e) => {
            let mut b = Buf::<{ PATH + 200 }>::new();
            b.s(path).s(b" (value ").s(val).c(b')');
            Err(Error::sys(t!("write"), b.lossy(), e))
        }
    }
}
