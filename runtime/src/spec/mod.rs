//! config.json -> borrowed, bounded structs. Strings point into the config buffer (see json.rs),
//! already NUL-terminated. Every wrong type or value is an error naming its JSON path.

mod fields;
pub mod hooks;
pub mod limits;
pub mod resources;
pub mod seccomp;

use core::ffi::CStr;

use heapless::Vec;
use mote_sys::io::Text;
use mote_sys::linux_raw_sys::general as g;

use crate::error::{Error, Result, Txt};
use crate::json::{self, keys, Kind, Val};

/// A JSON path being read, for messages: a chain of keys and indices on the stack.
#[derive(Clone, Copy)]
pub struct P<'p> {
    seg: Seg,
    up: Option<&'p P<'p>>,
}

#[derive(Clone, Copy)]
enum Seg {
    Root,
    Key(&'static str),
    Idx(usize),
}

impl<'p> P<'p> {
    pub const ROOT: P<'static> = P { seg: Seg::Root, up: None };
    /// One copy, called: built inline, a P is four stores at each of ~380 places (~7 KB).
    #[inline(never)]
    pub fn key(&'p self, k: &'static str) -> P<'p> {
        P { seg: Seg::Key(k), up: Some(self) }
    }
    #[inline(never)]
    pub fn idx(&'p self, i: usize) -> P<'p> {
        P { seg: Seg::Idx(i), up: Some(self) }
    }
    pub fn render(&self, b: &mut Text) {
        if let Some(u) = self.up {
            u.render(b);
        }
        match self.seg {
            Seg::Root => {}
            Seg::Key(k) => {
                if !b.is_empty() {
                    b.c(b'.');
                }
                b.s(k);
            }
            Seg::Idx(i) => {
                b.c(b'[').u(i as u64).c(b']');
            }
        }
    }
    /// An error about the value at this path.
    #[cold]
    #[inline(never)]
    pub fn err(&self, why: Txt) -> Error {
        let mut e = Error::say(t!("config.json:"), t!(""));
        e.path(|p| {
            self.render(p);
            p.t(t!(": ")).t(why);
        });
        e
    }
    /// [`P::err`] about the field `k` under this path (one call where there were two).
    #[cold]
    #[inline(never)]
    pub fn key_err(&self, k: &'static str, why: Txt) -> Error {
        self.key(k).err(why)
    }
    #[cold]
    #[inline(never)]
    fn bound(&self, n: usize) -> Error {
        let mut e = self.err(t!("more than "));
        e.path(|p| { p.u(n as u64).t(t!(" entries (the bound in spec/limits.rs)")); });
        e
    }
    #[cold]
    #[inline(never)]
    fn kind(&self, want: Kind, got: Kind) -> Error {
        let mut e = self.err(t!("expected "));
        e.path(|p| { p.s(want.name()).t(t!(", got ")).s(got.name()); });
        e
    }
}

#[inline(never)]
pub fn str<'a>(v: Val<'a>, p: &P) -> Result<&'a CStr> {
    v.cstr().ok_or_else(|| p.kind(Kind::String, v.kind()))
}
#[inline(never)]
pub fn bool(v: Val<'_>, p: &P) -> Result<bool> {
    v.bool().ok_or_else(|| p.kind(Kind::Bool, v.kind()))
}
#[inline(never)]
pub fn u64(v: Val<'_>, p: &P) -> Result<u64> {
    match v.kind() {
        Kind::Number => v.u64().ok_or_else(|| p.err(t!("expected a non-negative integer"))),
        k => Err(p.kind(Kind::Number, k)),
    }
}
#[inline(never)]
pub fn i64(v: Val<'_>, p: &P) -> Result<i64> {
    match v.kind() {
        Kind::Number => v.i64().ok_or_else(|| p.err(t!("expected an integer"))),
        k => Err(p.kind(Kind::Number, k)),
    }
}
#[inline(never)]
pub fn u32(v: Val<'_>, p: &P) -> Result<u32> {
    u32::try_from(u64(v, p)?).map_err(|_| p.err(t!("out of range for a 32-bit value")))
}
#[inline(never)]
pub fn obj<'a>(v: Val<'a>, p: &P) -> Result<json::Obj<'a>> {
    v.obj().ok_or_else(|| p.kind(Kind::Object, v.kind()))
}
#[inline(never)]
pub fn arr<'a>(v: Val<'a>, p: &P) -> Result<json::Arr<'a>> {
    v.arr().ok_or_else(|| p.kind(Kind::Array, v.kind()))
}
/// Pushes onto a bounded vector, or fails naming the field and the bound.
pub fn push<T, const N: usize>(v: &mut Vec<T, N>, x: T, p: &P) -> Result<()> {
    v.push(x).map_err(|_| p.bound(N))
}
/// An array of strings into a bounded vector.
pub fn strs<'a, const N: usize>(v: Val<'a>, p: &P, out: &mut Vec<&'a CStr, N>) -> Result<()> {
    strs_with(v, p, N, &mut |s| out.push(s).is_ok())
}

/// Every path of a list absolute (maskedPaths, readonlyPaths: a relative one has no meaning in
/// the container, and runc refuses it).
fn absolute(p: &P, paths: &[&CStr]) -> Result<()> {
    match paths.iter().position(|s| s.to_bytes().first() != Some(&b'/')) {
        Some(i) => Err(p.idx(i).err(t!("must be an absolute path"))),
        None => Ok(()),
    }
}

/// The non-generic body of [`strs`] (one copy for every bound).
#[inline(never)]
fn strs_with<'a>(v: Val<'a>, p: &P, bound: usize, push: &mut dyn FnMut(&'a CStr) -> bool) -> Result<()> {
    items(v, p, &mut |x, pi| {
        if !push(str(x, pi)?) {
            return Err(p.bound(bound));
        }
        Ok(())
    })?;
    Ok(())
}

/// Reads the members of object `v` at `p` named in `names` (space-separated): `f` gets the
/// name's index, the value and the member's path; other keys are skipped (the spec requires
/// unknown fields to be ignored). One loop for every object of the config, and each field's
/// path built here: at each of ~30 objects that loop, the key search and the field name passed
/// again at every read cost ~100 bytes (issue 17).
#[inline(never)]
pub fn members<'a>(v: Val<'a>, p: &P, names: &'static str, f: &mut dyn FnMut(u32, Val<'a>, &P) -> Result<()>) -> Result<()> {
    for (k, v) in obj(v, p)? {
        if let Some(i) = position(names, b"", k.to_bytes()) {
            f(i, v, &p.key(word(names, i as usize)))?;
        }
    }
    Ok(())
}

/// Every member of object `v` at `p`, in order.
#[inline(never)]
pub fn entries<'a>(v: Val<'a>, p: &P, f: &mut dyn FnMut(&'a CStr, Val<'a>) -> Result<()>) -> Result<()> {
    for (k, v) in obj(v, p)? {
        f(k, v)?;
    }
    Ok(())
}

/// Reads the elements of array `v` at `p`: `f` gets each one and its path (one loop for the
/// config's ~20 arrays of objects and numbers).
#[inline(never)]
pub fn items<'a>(v: Val<'a>, p: &P, f: &mut dyn FnMut(Val<'a>, &P) -> Result<()>) -> Result<()> {
    for (i, x) in arr(v, p)?.enumerate() {
        f(x, &p.idx(i))?;
    }
    Ok(())
}

/// [`members`] but the null ones: runc reads config.json with Go's encoding/json, for which a
/// null leaves the field unset (linux.resources' objects).
#[inline(never)]
pub fn set_members<'a>(v: Val<'a>, p: &P, names: &'static str, f: &mut dyn FnMut(u32, Val<'a>, &P) -> Result<()>) -> Result<()> {
    members(v, p, names, &mut |i, v, pk| if v.kind() == Kind::Null { Ok(()) } else { f(i, v, pk) })
}

pub struct Spec<'a> {
    pub oci_version: &'a [u8],
    pub root: &'a CStr,
    pub root_readonly: bool,
    pub hostname: Option<&'a CStr>,
    pub domainname: Option<&'a CStr>,
    pub process: Option<Process<'a>>,
    pub mounts: Vec<Mount<'a>, { limits::MOUNTS }>,
    pub annotations: Vec<(&'a CStr, &'a CStr), { limits::ANNOTATIONS }>,
    pub linux: Linux<'a>,
    /// The hooks object, validated (hooks.rs runs them).
    pub hooks: Option<Val<'a>>,
}

pub struct Process<'a> {
    pub terminal: bool,
    /// process.consoleSize: (height, width) of the terminal.
    pub console_size: Option<(u16, u16)>,
    pub args: Vec<&'a CStr, { limits::ARGS }>,
    pub env: Vec<&'a CStr, { limits::ENV }>,
    pub cwd: &'a CStr,
    pub uid: u32,
    pub gid: u32,
    pub umask: Option<u32>,
    pub additional_gids: Vec<u32, { limits::ADDITIONAL_GIDS }>,
    /// bounding, effective, inheritable, permitted, ambient: a set absent from the config is
    /// empty (runc: `"capabilities": {}` or no key at all is a process without capabilities).
    pub caps: [u64; 5],
    pub rlimits: Vec<Rlimit, { limits::RLIMITS }>,
    pub no_new_privileges: bool,
    pub oom_score_adj: Option<i32>,
    pub apparmor_profile: Option<&'a CStr>,
    pub selinux_label: Option<&'a CStr>,
    /// ioprio_set's value: class << 13 | priority.
    pub io_priority: Option<u32>,
    pub scheduler: Option<Sched>,
    /// execCPUAffinity: initial (before the cgroup join), final (after it); CPU lists.
    pub cpu_affinity: [Option<&'a CStr>; 2],
}

/// process.scheduler, as sched_setattr(2) takes it.
#[derive(Clone, Copy, Default)]
pub struct Sched {
    pub policy: u32,
    pub nice: i32,
    pub priority: u32,
    pub flags: u64,
    pub runtime: u64,
    pub deadline: u64,
    pub period: u64,
}

#[derive(Clone, Copy)]
pub struct Rlimit {
    pub resource: u32,
    pub soft: u64,
    pub hard: u64,
}

pub struct Mount<'a> {
    pub destination: &'a CStr,
    pub typ: Option<&'a CStr>,
    pub source: Option<&'a CStr>,
    pub options: Vec<&'a CStr, { limits::MOUNT_OPTIONS }>,
}

#[derive(Clone, Copy)]
pub struct Namespace<'a> {
    /// CLONE_NEW* flag.
    pub flag: u32,
    pub path: Option<&'a CStr>,
}

#[derive(Clone, Copy)]
pub struct IdMap {
    pub container: u32,
    pub host: u32,
    pub size: u32,
}

#[derive(Clone, Copy)]
pub struct Device<'a> {
    pub path: &'a CStr,
    /// S_IFCHR, S_IFBLK or S_IFIFO.
    pub kind: u32,
    pub major: u32,
    pub minor: u32,
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

#[derive(Default)]
pub struct Linux<'a> {
    pub namespaces: Vec<Namespace<'a>, { limits::NAMESPACES }>,
    pub uid_mappings: Vec<IdMap, { limits::ID_MAPPINGS }>,
    pub gid_mappings: Vec<IdMap, { limits::ID_MAPPINGS }>,
    pub devices: Vec<Device<'a>, { limits::DEVICES }>,
    pub cgroups_path: Option<&'a CStr>,
    pub resources: Option<resources::Resources<'a>>,
    pub seccomp: Option<seccomp::Seccomp<'a>>,
    pub rootfs_propagation: Option<&'a CStr>,
    pub masked_paths: Vec<&'a CStr, { limits::MASKED_PATHS }>,
    pub readonly_paths: Vec<&'a CStr, { limits::READONLY_PATHS }>,
    pub sysctl: Vec<(&'a CStr, &'a CStr), { limits::SYSCTLS }>,
    pub personality: Option<u32>,
    /// (monotonic secs, nsecs), (boottime secs, nsecs)
    pub time_offsets: [(i64, u32); 2],
    pub mount_label: Option<&'a CStr>,
    /// memoryPolicy: set_mempolicy's mode with its flags, and the node list.
    pub memory_policy: Option<(u32, Option<&'a CStr>)>,
}

impl<'a> Linux<'a> {
    /// The namespace entry of `flag`, if the config asks for one.
    pub fn ns(&self, flag: u32) -> Option<&Namespace<'a>> {
        self.namespaces.iter().find(|n| n.flag == flag)
    }
}

/// The one parsed config of a process run, in .bss (a Spec is ~190 KiB of bounded vectors: on
/// the stack every page of it would be touched on entry).
static SPEC: mote_sys::mem::Slot<Spec<'static>> = mote_sys::mem::Slot::new();

/// Reads a prepared config.json (see [`json::prepare`]) into the process's one Spec.
pub fn parse(doc: &'static [u8], root: usize) -> Result<&'static mut Spec<'static>> {
    let s = SPEC.take(Spec::empty).ok_or_else(|| Error::say(t!("config.json:"), t!("parsed twice")))?;
    parse_into(doc, root, s)?;
    Ok(s)
}

/// Gives the parsed config's pages back for good (a foreground run, whose create is done with
/// it, before its long wait).
pub fn retire(s: &'static mut Spec<'static>) {
    SPEC.retire(s)
}

impl Spec<'_> {
    /// A config with nothing read yet (the spec's defaults).
    pub fn empty() -> Self {
        Spec {
            oci_version: b"",
            root: c"rootfs",
            root_readonly: false,
            hostname: None,
            domainname: None,
            process: None,
            mounts: Vec::new(),
            annotations: Vec::new(),
            linux: Linux::default(),
            hooks: None,
        }
    }
}

/// Reads a prepared config.json into `s`, which must be [`Spec::empty`].
pub fn parse_into<'a>(doc: &'a [u8], root: usize, s: &mut Spec<'a>) -> Result<()> {
    let p = P::ROOT;
    let mut have_version = false;
    // (unknown fields are ignored, as the spec requires)
    members(Val::root(doc, root), &p, "ociVersion root hostname domainname process mounts annotations linux hooks", &mut |i, v, pk| {
        match i {
            0 => {
                s.oci_version = str(v, pk)?.to_bytes();
                // Any 1.x: engines and test tools write 1.0.0 ... 1.2.x.
                if !s.oci_version.starts_with(b"1.") {
                    return Err(pk.err(t!("unsupported version (mote reads 1.x)")));
                }
                have_version = true;
            }
            1 => members(v, pk, "path readonly", &mut |i, v, pk| {
                match i {
                    0 => s.root = str(v, pk)?,
                    _ => s.root_readonly = bool(v, pk)?,
                }
                Ok(())
            })?,
            2 => s.hostname = Some(str(v, pk)?),
            3 => s.domainname = Some(str(v, pk)?),
            4 => process_into(v, pk, s.process.insert(Process::empty()))?,
            5 => {
                items(v, pk, &mut |v, pi| {
                    let mut m = Mount { destination: c"", typ: None, source: None, options: Vec::new() };
                    mount(v, pi, &mut m)?;
                    push(&mut s.mounts, m, pk)
                })?;
            }
            6 => {
                entries(v, pk, &mut |k, v| {
                    push(&mut s.annotations, (k, str(v, pk)?), pk)?;
                    Ok(())
                })?;
            }
            7 => linux(v, pk, &mut s.linux)?,
            _ => {
                hooks::validate(v, pk)?;
                s.hooks = Some(v);
            }
        }
        Ok(())
    })?;
    if !have_version {
        return Err(p.key_err("ociVersion", t!("missing")));
    }
    namespaced(s)
}

/// Why a config without a mount namespace is refused: a decision (runc would run it in the
/// host's mount namespace), since the switch of root and every mount would be made in the
/// host's, and undoing them is not mote's to do.
pub const MOUNT_NS_REQUIRED: Txt = t!("a mount namespace is required (without one the root switch and every mount would be \
made in the host's; mote refuses by design where runc would run it)");

/// Settings that would change the host unless their namespace is the container's own: refused
/// without it, as runc does ("unable to set hostname without a private UTS namespace").
fn namespaced(s: &Spec<'_>) -> Result<()> {
    let l = &s.linux;
    let has = |f: u32| l.ns(f).is_some();
    if (s.hostname.is_some() || s.domainname.is_some()) && !has(g::CLONE_NEWUTS) {
        return Err(P::ROOT.key("hostname").err(t!("needs a uts namespace of the container's own")));
    }
    let pl = P::ROOT.key("linux");
    let ps = pl.key("sysctl");
    for (k, _) in &l.sysctl {
        let k = k.to_bytes();
        // One search of one string (a `matches!` on byte strings is a compare per byte: ~450 bytes).
        let ipc = json::find(k, "kernel.msgmax\0kernel.msgmnb\0kernel.msgmni\0kernel.sem\0kernel.shmall\0\
kernel.shmmax\0kernel.shmmni\0kernel.shm_rmid_forced") != usize::MAX || k.starts_with(b"fs.mqueue.");
        let ok = if ipc {
            has(g::CLONE_NEWIPC)
        } else if k.starts_with(b"net.") {
            has(g::CLONE_NEWNET)
        } else if k == b"kernel.hostname" || k == b"kernel.domainname" {
            has(g::CLONE_NEWUTS)
        } else {
            false
        };
        if !ok {
            let mut e = ps.err(t!(""));
            e.path(|p| {
                let n = p.len() - 2;
                p.truncate(n);
                p.t(t!(": ")).s(k).t(t!(" is not namespaced here (it would change the host)"));
            });
            return Err(e);
        }
        // runc's rule: the hostname has its own field, which the sysctl would silently fight.
        if k == b"kernel.hostname" {
            let mut e = ps.err(t!(""));
            e.path(|p| {
                let n = p.len() - 2;
                p.truncate(n);
                p.t(t!(": kernel.hostname conflicts with the \"hostname\" field (set that instead)"));
            });
            return Err(e);
        }
    }
    Ok(())
}


impl Process<'_> {
    /// A process with nothing read yet (the spec's defaults).
    pub fn empty() -> Self {
        Process {
            terminal: false,
            console_size: None,
            args: Vec::new(),
            env: Vec::new(),
            cwd: c"/",
            uid: 0,
            gid: 0,
            umask: None,
            additional_gids: Vec::new(),
            caps: [0; 5],
            rlimits: Vec::new(),
            no_new_privileges: false,
            oom_score_adj: None,
            apparmor_profile: None,
            selinux_label: None,
            io_priority: None,
            scheduler: None,
            cpu_affinity: [None; 2],
        }
    }
}

/// Reads process `v` into `pr`, which must be [`Process::empty`]: in place, so that the config's
/// process is not built on the stack and copied whole into the static Spec (issue 17: ~13 page
/// faults of a `run`).
pub fn process_into<'a>(v: Val<'a>, p: &P, pr: &mut Process<'a>) -> Result<()> {
    const NAMES: &str = "terminal consoleSize args env cwd user capabilities rlimits noNewPrivileges oomScoreAdj \
apparmorProfile selinuxLabel ioPriority scheduler execCPUAffinity";
    members(v, p, NAMES, &mut |i, v, pk| {
        match i {
            0 => pr.terminal = bool(v, pk)?,
            1 => {
                let mut hw = [0u16; 2];
                members(v, pk, "height width", &mut |i, v, _| {
                    hw[i as usize % 2] = u16::try_from(u32(v, pk)?).map_err(|_| pk.err(t!("height and width must be at most 65535")))?;
                    Ok(())
                })?;
                pr.console_size = Some((hw[0], hw[1]));
            }
            2 => strs(v, pk, &mut pr.args)?,
            3 => strs(v, pk, &mut pr.env)?,
            4 => {
                pr.cwd = str(v, pk)?;
                if pr.cwd.to_bytes().first() != Some(&b'/') {
                    return Err(pk.err(t!("must be an absolute path")));
                }
            }
            5 => members(v, pk, "uid gid umask additionalGids", &mut |i, v, pk| {
                match i {
                    0 => pr.uid = u32(v, pk)?,
                    1 => pr.gid = u32(v, pk)?,
                    2 => pr.umask = Some(u32(v, pk)?),
                    _ => {
                        items(v, pk, &mut |g, pi| {
                            push(&mut pr.additional_gids, u32(g, pi)?, pk)?;
                            Ok(())
                        })?;
                    }
                }
                Ok(())
            })?,
            6 => members(v, pk, "bounding effective inheritable permitted ambient", &mut |i, v, ps| {
                let mut set = 0u64;
                items(v, ps, &mut |c, pj| {
                    // An unknown name is refused: granting less than asked silently is as
                    // wrong as granting more.
                    let name = str(c, pj)?.to_bytes();
                    let bit = cap_number(name).ok_or_else(|| {
                        let mut e = pj.err(t!("unknown capability "));
                        e.path(|p| { p.s(name); });
                        e
                    })?;
                    set |= 1 << bit;
                    Ok(())
                })?;
                pr.caps[i as usize % 5] = set;
                Ok(())
            })?,
            7 => {
                items(v, pk, &mut |r, pi| {
                    let mut rl = Rlimit { resource: u32::MAX, soft: 0, hard: 0 };
                    members(r, pi, "type soft hard", &mut |i, v, pk| {
                        match i {
                            0 => rl.resource = rlimit_number(str(v, pk)?.to_bytes()).ok_or_else(|| pk.err(t!("unknown rlimit")))?,
                            1 => rl.soft = u64(v, pk)?,
                            _ => rl.hard = u64(v, pk)?,
                        }
                        Ok(())
                    })?;
                    if rl.resource == u32::MAX {
                        return Err(pi.key_err("type", t!("missing")));
                    }
                    push(&mut pr.rlimits, rl, pk)?;
                    Ok(())
                })?;
            }
            8 => pr.no_new_privileges = bool(v, pk)?,
            9 => {
                let o = i64(v, pk)?;
                if !(-1000..=1000).contains(&o) {
                    return Err(pk.err(t!("must be within -1000..1000")));
                }
                pr.oom_score_adj = Some(o as i32);
            }
            10 => pr.apparmor_profile = nonempty(str(v, pk)?),
            11 => pr.selinux_label = nonempty(str(v, pk)?),
            12 => pr.io_priority = Some(io_priority(v, pk)?),
            13 => pr.scheduler = Some(scheduler(v, pk)?),
            _ => members(v, pk, "initial final", &mut |i, v, pi| {
                let l = str(v, pi)?;
                if bitmask(l.to_bytes(), &mut [0; MASK_WORDS]).is_none() {
                    return Err(pi.err(t!("expected a CPU list like 0-3,7 (CPUs below 1024)")));
                }
                pr.cpu_affinity[i as usize % 2] = nonempty(l);
                Ok(())
            })?,
        }
        Ok(())
    })
}

/// Reads a mount into `m` (empty; in place, not through a returned copy).
#[inline(never)]
fn mount<'a>(v: Val<'a>, p: &P, m: &mut Mount<'a>) -> Result<()> {
    members(v, p, "destination type source options uidMappings gidMappings", &mut |i, v, pk| {
        match i {
            0 => m.destination = str(v, pk)?,
            1 => m.typ = Some(str(v, pk)?),
            2 => m.source = Some(str(v, pk)?),
            3 => strs(v, pk, &mut m.options)?,
            _ => {
                if arr(v, pk)?.next().is_some() {
                    return Err(pk.err(t!("idmapped mounts are not supported")));
                }
            }
        }
        Ok(())
    })?;
    if m.destination.to_bytes().first() != Some(&b'/') {
        return Err(p.key_err("destination", t!("must be an absolute path")));
    }
    Ok(())
}

#[inline(never)]
fn linux<'a>(v: Val<'a>, p: &P, l: &mut Linux<'a>) -> Result<()> {
    const NAMES: &str = "namespaces uidMappings gidMappings devices cgroupsPath resources seccomp rootfsPropagation \
maskedPaths readonlyPaths sysctl personality mountLabel memoryPolicy intelRdt netDevices timeOffsets";
    members(v, p, NAMES, &mut |i, v, pk| {
        match i {
            0 => {
                items(v, pk, &mut |n, pi| {
                    let mut ns = Namespace { flag: 0, path: None };
                    members(n, pi, "type path", &mut |i, v, pk| {
                        match i {
                            0 => ns.flag = ns_flag(str(v, pk)?.to_bytes()).ok_or_else(|| pk.err(t!("unknown namespace type")))?,
                            _ => ns.path = Some(str(v, pk)?),
                        }
                        Ok(())
                    })?;
                    if ns.flag == 0 {
                        return Err(pi.key_err("type", t!("missing")));
                    }
                    if l.ns(ns.flag).is_some() {
                        return Err(pi.key_err("type", t!("namespace listed twice")));
                    }
                    push(&mut l.namespaces, ns, pk)?;
                    Ok(())
                })?;
            }
            1 => idmaps(v, pk, &mut l.uid_mappings)?,
            2 => idmaps(v, pk, &mut l.gid_mappings)?,
            3 => {
                items(v, pk, &mut |d, pi| {
                    let dev = device(d, pi)?;
                    push(&mut l.devices, dev, pk)?;
                    Ok(())
                })?;
            }
            4 => l.cgroups_path = Some(str(v, pk)?),
            5 => resources::parse(v, pk, l.resources.insert(Default::default()))?,
            6 => seccomp::parse(v, pk, &mut l.seccomp)?,
            7 => {
                let s = str(v, pk)?;
                if propagation(s.to_bytes()).is_none() {
                    return Err(pk.err(t!("must be one of shared, slave, private, unbindable (r- forms too)")));
                }
                l.rootfs_propagation = Some(s);
            }
            8 => {
                strs(v, pk, &mut l.masked_paths)?;
                absolute(pk, &l.masked_paths)?;
            }
            9 => {
                strs(v, pk, &mut l.readonly_paths)?;
                absolute(pk, &l.readonly_paths)?;
            }
            10 => {
                entries(v, pk, &mut |k, v| {
                    if k.to_bytes().len() > limits::SYSCTL_KEY {
                        return Err(pk.err(t!("a key longer than 256 bytes (the bound in spec/limits.rs)")));
                    }
                    push(&mut l.sysctl, (k, str(v, pk)?), pk)?;
                    Ok(())
                })?;
            }
            11 => members(v, pk, "domain flags", &mut |i, v, pd| {
                if i == 1 {
                    // (runc only warns that it ignores them: mote cannot apply them, so refuses)
                    return match arr(v, pd)?.next() {
                        Some(_) => Err(pd.err(t!("is not supported"))),
                        None => Ok(()),
                    };
                }
                l.personality = Some(keys!(str(v, pd)?.to_bytes(), {
                    "LINUX" => 0,
                    "LINUX32" => 8,
                    _ => return Err(pd.err(t!("must be LINUX or LINUX32"))),
                }));
                Ok(())
            })?,
            12 => l.mount_label = nonempty(str(v, pk)?),
            13 => l.memory_policy = Some(memory_policy(v, pk)?),
            14 => return Err(pk.err(t!("is not supported (no resctrl in mote)"))),
            15 => {
                if obj(v, pk)?.next().is_some() {
                    return Err(pk.err(t!("is not supported")));
                }
            }
            _ => entries(v, pk, &mut |k, v| {
                // Only these two clocks can be offset: a third would be dropped without a word.
                let Some(i) = position("monotonic boottime", b"", k.to_bytes()) else {
                    let mut e = pk.err(t!("only monotonic and boottime can be offset, not "));
                    e.path(|p| { p.s(k.to_bytes()); });
                    return Err(e);
                };
                let pc = pk.key(if i == 0 { "monotonic" } else { "boottime" });
                let t = &mut l.time_offsets[i as usize % 2];
                members(v, &pc, "secs nanosecs", &mut |j, v, pk| {
                    match j {
                        0 => t.0 = i64(v, pk)?,
                        _ => t.1 = u32(v, pk)?,
                    }
                    Ok(())
                })
            })?,
        }
        Ok(())
    })?;
    if l.ns(g::CLONE_NEWUSER).is_some_and(|n| n.path.is_none()) && (l.uid_mappings.is_empty() || l.gid_mappings.is_empty()) {
        let k = if l.uid_mappings.is_empty() { "uidMappings" } else { "gidMappings" };
        return Err(p.key_err(k, t!("a new user namespace needs uidMappings and gidMappings")));
    }
    // Fields that only a namespace applies, refused without it as runc does (else a container
    // meant to be an unprivileged user's would run as the host's root). A joined user
    // namespace's mappings are checked against it (spawn.rs).
    if l.ns(g::CLONE_NEWUSER).is_none() {
        for (k, m) in [("uidMappings", &l.uid_mappings), ("gidMappings", &l.gid_mappings)] {
            if !m.is_empty() {
                return Err(p.key_err(k, t!("given, but linux.namespaces has no user namespace")));
            }
        }
    }
    if l.time_offsets != [(0, 0); 2] && !l.ns(g::CLONE_NEWTIME).is_some_and(|n| n.path.is_none()) {
        return Err(p.key_err("timeOffsets", t!("given, but linux.namespaces has no new time namespace")));
    }
    Ok(())
}

fn nonempty(s: &CStr) -> Option<&CStr> {
    if s.is_empty() { None } else { Some(s) }
}

/// Words of a CPU or NUMA node bitmask (limits::CPUS bits).
pub const MASK_WORDS: usize = limits::CPUS / 64;

/// Sets the bits of a list like "0-3,7" in `out`; None if malformed or past the mask.
#[inline(never)]
pub fn bitmask(list: &[u8], out: &mut [u64; MASK_WORDS]) -> Option<()> {
    let num = |s: &[u8]| mote_sys::num::parse::<usize>(s.trim_ascii());
    for part in list.split(|&c| c == b',').filter(|p| !p.trim_ascii().is_empty()) {
        let (a, b) = match part.iter().position(|&c| c == b'-') {
            Some(i) => (num(&part[..i])?, num(&part[i + 1..])?),
            None => (num(part)?, num(part)?),
        };
        if a > b || b >= MASK_WORDS * 64 {
            return None;
        }
        for i in a..=b {
            out[i / 64] |= 1 << (i % 64);
        }
    }
    Some(())
}

/// process.ioPriority -> class << 13 | priority (class RT, BE or IDLE; priority 0..7, as runc).
#[inline(never)]
fn io_priority(v: Val<'_>, p: &P) -> Result<u32> {
    const CLASSES: &str = "IOPRIO_CLASS_NONE IOPRIO_CLASS_RT IOPRIO_CLASS_BE IOPRIO_CLASS_IDLE";
    let (mut class, mut prio) = (0, 0);
    // (errors name the object, not the field)
    members(v, p, "class priority", &mut |i, v, _| {
        match i {
            0 => class = position(CLASSES, b"", str(v, p)?.to_bytes()).unwrap_or(0),
            _ => prio = i64(v, p)?,
        }
        Ok(())
    })?;
    if class == 0 || !(0..=7).contains(&prio) {
        return Err(p.err(t!("class must be IOPRIO_CLASS_RT, _BE or _IDLE, priority within 0..7")));
    }
    Ok(class << 13 | prio as u32)
}

/// SCHED_* policies in number order, and sched_setattr's flags in bit order.
const POLICIES: &str = "SCHED_OTHER SCHED_FIFO SCHED_RR SCHED_BATCH SCHED_ISO SCHED_IDLE SCHED_DEADLINE";
const SCHED_FLAGS: &str = "SCHED_FLAG_RESET_ON_FORK SCHED_FLAG_RECLAIM SCHED_FLAG_DL_OVERRUN SCHED_FLAG_KEEP_POLICY \
SCHED_FLAG_KEEP_PARAMS SCHED_FLAG_UTIL_CLAMP_MIN SCHED_FLAG_UTIL_CLAMP_MAX";

/// process.scheduler, checked as runc and the kernel would (so that the error names the field).
#[inline(never)]
fn scheduler(v: Val<'_>, p: &P) -> Result<Sched> {
    // u32::MAX: no policy given; u32::MAX - 1: an unknown one.
    let mut s = Sched { policy: u32::MAX, ..Sched::default() };
    let (mut nice, mut bad_flag) = (0, false);
    // (errors name the object, not the field)
    members(v, p, "policy flags nice priority runtime deadline period", &mut |i, v, _| {
        match i {
            0 => s.policy = position(POLICIES, b"", str(v, p)?.to_bytes()).unwrap_or(u32::MAX - 1),
            1 => {
                for f in arr(v, p)? {
                    match position(SCHED_FLAGS, b"", str(f, p)?.to_bytes()) {
                        Some(b) => s.flags |= 1 << b,
                        None => bad_flag = true,
                    }
                }
            }
            2 => nice = i64(v, p)?,
            3 => s.priority = u32(v, p)?,
            4 => s.runtime = u64(v, p)?,
            5 => s.deadline = u64(v, p)?,
            _ => s.period = u64(v, p)?,
        }
        Ok(())
    })?;
    s.nice = nice.clamp(-100, 100) as i32;
    let (rt, dl) = (s.runtime, s.deadline);
    // The kernel's rules for SCHED_DEADLINE: 1024 ns <= runtime <= deadline <= period (0: the deadline).
    let period = if s.period == 0 { dl } else { s.period };
    let why = match s.policy {
        u32::MAX => t!("policy missing"),
        0xffff_fffe => t!("unknown policy"),
        _ if bad_flag => t!("unknown flag"),
        _ if !(-20..=19).contains(&nice) => t!("nice must be within -20..19"),
        1 | 2 if !(1..=99).contains(&s.priority) => t!("priority must be within 1..99 for SCHED_FIFO and SCHED_RR"),
        1 | 2 => t!(""),
        _ if s.priority != 0 => t!("priority is only for SCHED_FIFO and SCHED_RR"),
        6 if rt < 1024 || rt > dl || dl > period || period >> 63 != 0 => t!("SCHED_DEADLINE needs 1024 <= runtime <= deadline <= period (ns)"),
        6 => t!(""),
        _ if rt | dl | s.period != 0 => t!("runtime, deadline and period are only for SCHED_DEADLINE"),
        _ => t!(""),
    };
    if !why.is_empty() {
        return Err(p.err(why));
    }
    Ok(s)
}

/// set_mempolicy's modes, by number (`mote features` lists them too).
pub const MPOL_MODES: &str = "MPOL_DEFAULT MPOL_PREFERRED MPOL_BIND MPOL_INTERLEAVE MPOL_LOCAL MPOL_PREFERRED_MANY MPOL_WEIGHTED_INTERLEAVE";
/// Its flags by bit, from MPOL_F_NUMA_BALANCING (1 << 13).
pub const MPOL_FLAGS: &str = "MPOL_F_NUMA_BALANCING MPOL_F_RELATIVE_NODES MPOL_F_STATIC_NODES";

/// linux.memoryPolicy -> (set_mempolicy mode | flags, nodes).
#[inline(never)]
fn memory_policy<'a>(v: Val<'a>, p: &P) -> Result<(u32, Option<&'a CStr>)> {
    let (mut mode, mut nodes, mut flags) = (u32::MAX, None, 0);
    // (errors name the object, not the field)
    members(v, p, "mode nodes flags", &mut |i, v, _| {
        match i {
            0 => mode = position(MPOL_MODES, b"", str(v, p)?.to_bytes()).ok_or_else(|| p.err(t!("unknown mode")))?,
            1 => {
                let l = str(v, p)?;
                if bitmask(l.to_bytes(), &mut [0; MASK_WORDS]).is_none() {
                    return Err(p.err(t!("nodes: expected a list like 0-1,3 (nodes below 1024)")));
                }
                nodes = nonempty(l);
            }
            _ => {
                for f in arr(v, p)? {
                    flags |= 1 << (13 + position(MPOL_FLAGS, b"", str(f, p)?.to_bytes()).ok_or_else(|| p.err(t!("unknown flag")))?);
                }
            }
        }
        Ok(())
    })?;
    // DEFAULT and LOCAL take no nodes; BIND and the interleaves need some (the kernel's EINVAL,
    // named here); PREFERRED without nodes is the local node.
    let why = match mode {
        u32::MAX => t!("mode missing"),
        0 | 4 if nodes.is_some() => t!("nodes must be empty for MPOL_DEFAULT and MPOL_LOCAL"),
        2 | 3 | 5 | 6 if nodes.is_none() => t!("nodes missing"),
        _ => t!(""),
    };
    if !why.is_empty() {
        return Err(p.err(why));
    }
    Ok((mode | flags, nodes))
}

fn idmaps<const N: usize>(v: Val<'_>, p: &P, out: &mut Vec<IdMap, N>) -> Result<()> {
    items(v, p, &mut |m, pi| {
        let mut im = [0u32; 3]; // containerID, hostID, size
        members(m, pi, "containerID hostID size", &mut |i, v, pk| {
            im[i as usize % 3] = u32(v, pk)?;
            Ok(())
        })?;
        let im = IdMap { container: im[0], host: im[1], size: im[2] };
        if im.size == 0 {
            return Err(pi.key_err("size", t!("must be at least 1")));
        }
        push(out, im, p)?;
        Ok(())
    })?;
    Ok(())
}

#[inline(never)]
fn device<'a>(v: Val<'a>, p: &P) -> Result<Device<'a>> {
    let mut d = Device { path: c"", kind: 0, major: 0, minor: 0, mode: None, uid: None, gid: None };
    members(v, p, "path type major minor fileMode uid gid", &mut |i, v, pk| {
        match i {
            0 => d.path = str(v, pk)?,
            1 => {
                d.kind = match str(v, pk)?.to_bytes() {
                    b"c" | b"u" => g::S_IFCHR,
                    b"b" => g::S_IFBLK,
                    b"p" => g::S_IFIFO,
                    _ => return Err(pk.err(t!("must be c, u, b or p"))),
                }
            }
            2 => d.major = u32(v, pk)?,
            3 => d.minor = u32(v, pk)?,
            4 => d.mode = Some(u32(v, pk)?),
            5 => d.uid = Some(u32(v, pk)?),
            _ => d.gid = Some(u32(v, pk)?),
        }
        Ok(())
    })?;
    if d.path.to_bytes().first() != Some(&b'/') {
        return Err(p.key_err("path", t!("must be an absolute path")));
    }
    if d.kind == 0 {
        return Err(p.key_err("type", t!("missing")));
    }
    Ok(d)
}

/// CLONE_NEW* for a runtime-spec namespace type.
pub fn ns_flag(t: &[u8]) -> Option<u32> {
    Some(keys!(t, {
        "pid" => g::CLONE_NEWPID,
        "network" => g::CLONE_NEWNET,
        "mount" => g::CLONE_NEWNS,
        "ipc" => g::CLONE_NEWIPC,
        "uts" => g::CLONE_NEWUTS,
        "user" => g::CLONE_NEWUSER,
        "cgroup" => g::CLONE_NEWCGROUP,
        "time" => g::CLONE_NEWTIME,
        _ => return None,
    }))
}

/// MS_* propagation flags for a rootfsPropagation value.
pub fn propagation(v: &[u8]) -> Option<u64> {
    let rec = g::MS_REC as u64;
    Some(keys!(v, {
        "shared" => g::MS_SHARED as u64,
        "rshared" => g::MS_SHARED as u64 | rec,
        "slave" => g::MS_SLAVE as u64,
        "rslave" => g::MS_SLAVE as u64 | rec,
        "private" => g::MS_PRIVATE as u64,
        "rprivate" => g::MS_PRIVATE as u64 | rec,
        "unbindable" => g::MS_UNBINDABLE as u64,
        "runbindable" => g::MS_UNBINDABLE as u64 | rec,
        _ => return None,
    }))
}

/// Capability names without CAP_, in bit order (linux/capability.h). One string, not a table
/// of pointers: a table would need a relocation per entry. `mote features` lists them too.
pub const CAPS: &str = "CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP \
LINUX_IMMUTABLE NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE \
SYS_RAWIO SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE SYS_RESOURCE SYS_TIME \
SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP MAC_OVERRIDE MAC_ADMIN SYSLOG \
WAKE_ALARM BLOCK_SUSPEND AUDIT_READ PERFMON BPF CHECKPOINT_RESTORE";

/// RLIMIT_* names without RLIMIT_, in resource-number order.
const RLIMITS: &str = "CPU FSIZE DATA STACK CORE RSS NPROC NOFILE MEMLOCK AS LOCKS SIGPENDING MSGQUEUE NICE RTPRIO RTTIME";

/// Position of `name` (after `prefix`) in a space-separated list.
#[inline(never)]
pub fn position(list: &str, prefix: &[u8], name: &[u8]) -> Option<u32> {
    let n = name.strip_prefix(prefix)?;
    list.split(' ').position(|c| c.as_bytes() == n).map(|i| i as u32)
}

/// The `i`-th word of a space-separated list ("?" past its end).
#[inline(never)]
pub fn word(list: &'static str, i: usize) -> &'static str {
    list.split(' ').nth(i).unwrap_or("?")
}

/// Name of capability `bit` (without CAP_), for messages.
pub fn cap_name(bit: u32) -> &'static str {
    word(CAPS, bit as usize)
}

/// Name of rlimit `r` (without RLIMIT_), for messages.
pub fn rlimit_name(r: u32) -> &'static str {
    word(RLIMITS, r as usize)
}

pub fn cap_number(name: &[u8]) -> Option<u32> {
    position(CAPS, b"CAP_", name)
}

fn rlimit_number(name: &[u8]) -> Option<u32> {
    position(RLIMITS, b"RLIMIT_", name)
}
