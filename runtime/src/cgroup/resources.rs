//! linux.resources -> cgroupfs files, on v1 controllers (this hybrid host, old kernels) or the v2
//! tree, with runc/crun's conversions (cpu shares -> weight, blkio weight -> io.weight). A value
//! the kernel refuses is an error naming the file and the value; a v1-only field on v2 with no
//! kernel-defined conversion (kernel memory, kernelTCP, swappiness...) is refused by name.

use mote_sys::io::Buf;
use mote_sys::raw::Errno;
use mote_sys::rustix::fs::{self, Access};

use super::{write_file, PATH, ROOT};
use crate::error::{Error, Fits, Result};
use crate::json::Val;
use crate::spec::{self, P};

/// Where a controller's files are: v2 has one tree, v1 one per controller.
pub struct Layout {
    pub v2: bool,
}

impl Layout {
    pub fn detect() -> Layout {
        Layout { v2: fs::access(c"/sys/fs/cgroup/cgroup.controllers", Access::EXISTS).is_ok() }
    }
}

/// Writes `val` to `file` of controller `ctl` (ignored on v2) of cgroup `path`.
struct Writer<'a> {
    path: &'a [u8],
    v2: bool,
    /// [`check`]: every value parsed and validated, nothing read or written.
    dry: bool,
}

impl Writer<'_> {
    #[inline(never)]
    fn file(&self, ctl: &str, file: &[u8]) -> Buf<{ PATH + 128 }> {
        let mut f = Buf::new();
        f.s(ROOT);
        if !self.v2 {
            f.c(b'/').s(ctl);
        }
        f.s(self.path).c(b'/').s(file);
        f
    }
    /// Whether the controller (v1) or file exists on this host.
    #[inline(never)]
    fn has(&self, ctl: &str, file: &[u8]) -> bool {
        self.dry || self.file(ctl, file).cstr().is_ok_and(|f| fs::access(f, Access::EXISTS).is_ok())
    }
    #[inline(never)]
    fn put(&self, ctl: &str, file: &[u8], val: &[u8]) -> Result<()> {
        if self.dry {
            return Ok(());
        }
        let mut f = self.file(ctl, file);
        if !self.v2 && !self.has(ctl, b"cgroup.procs") {
            return Err(Error::msg("cgroup controller", ctl, "is not mounted on this host"));
        }
        write_file(f.cstr(), val)
    }
    #[inline(never)]
    fn num(&self, ctl: &str, file: &[u8], v: i64) -> Result<()> {
        let mut b = Buf::<24>::new();
        b.i(v);
        self.put(ctl, file, b.lossy()) // 24 bytes hold any i64
    }
    /// An unsigned value (u64 fields: never wrapped into a negative i64).
    #[inline(never)]
    fn unum(&self, ctl: &str, file: &[u8], v: u64) -> Result<()> {
        let mut b = Buf::<24>::new();
        b.u(v);
        self.put(ctl, file, b.lossy())
    }
    /// v2 spelling of a limit: -1 (or 0 for pids) means "max".
    #[inline(never)]
    fn max(&self, ctl: &str, file: &[u8], v: i64) -> Result<()> {
        if v < 0 { self.put(ctl, file, b"max") } else { self.num(ctl, file, v) }
    }
}

/// Parses and validates `res` as [`apply`] would, writing nothing: create runs it before the
/// state dir and the cgroup exist, so that a bad value leaves nothing behind. (What depends on
/// the cgroup itself, a kernel's refusal or a missing file, is still found by apply.)
pub fn check(res: Val<'_>, p: &P) -> Result<()> {
    run(res, b"", p, true)
}

/// Applies `res` (the linux.resources object, or update's resources JSON) to cgroup `path`.
pub fn apply(res: Val<'_>, path: &[u8], p: &P) -> Result<()> {
    run(res, path, p, false)
}

fn run(res: Val<'_>, path: &[u8], p: &P, dry: bool) -> Result<()> {
    let w = Writer { path, v2: Layout::detect().v2, dry };
    if w.v2 && !dry {
        enable_controllers(path, res, p)?;
    }
    for (k, v) in spec::obj(res, p)? {
        match k.to_bytes() {
            b"memory" => memory(&w, v, &p.key("memory"))?,
            b"cpu" => cpu(&w, v, &p.key("cpu"))?,
            b"pids" => {
                let pp = p.key("pids");
                for (k, v) in spec::obj(v, &pp)? {
                    if k.to_bytes() == b"limit" {
                        let l = spec::i64(v, &pp.key("limit"))?;
                        // As runc: 0 leaves the limit as it is, a negative value means unlimited.
                        match l {
                            0 => {}
                            ..0 => w.put("pids", b"pids.max", b"max")?,
                            _ => w.num("pids", b"pids.max", l)?,
                        }
                    }
                }
            }
            b"blockIO" => block_io(&w, v, &p.key("blockIO"))?,
            b"hugepageLimits" => {
                let ph = p.key("hugepageLimits");
                for (i, h) in spec::arr(v, &ph)?.enumerate() {
                    let pi = ph.idx(i);
                    let (mut size, mut limit) = (&b""[..], None);
                    for (k, v) in spec::obj(h, &pi)? {
                        match k.to_bytes() {
                            b"pageSize" => size = spec::str(v, &pi.key("pageSize"))?.to_bytes(),
                            b"limit" => limit = Some(spec::i64(v, &pi.key("limit"))?),
                            _ => {}
                        }
                    }
                    if size.is_empty() || size.contains(&b'/') {
                        return Err(pi.key("pageSize").err("missing or invalid"));
                    }
                    let mut f = Buf::<64>::new();
                    f.s(b"hugetlb.").s(size).s(if w.v2 { &b".max"[..] } else { b".limit_in_bytes" });
                    w.max("hugetlb", f.get().fits("linux.resources.hugepageLimits[].pageSize:")?, limit.unwrap_or(-1))?;
                }
            }
            b"network" => {
                let pn = p.key("network");
                if w.v2 {
                    return Err(pn.err("has no cgroup v2 controller (net_cls/net_prio are v1 only)"));
                }
                for (k, v) in spec::obj(v, &pn)? {
                    match k.to_bytes() {
                        b"classID" => w.num("net_cls", b"net_cls.classid", spec::u32(v, &pn.key("classID"))? as i64)?,
                        b"priorities" => {
                            let pp = pn.key("priorities");
                            for (i, e) in spec::arr(v, &pp)?.enumerate() {
                                let pi = pp.idx(i);
                                let mut line = Buf::<64>::new();
                                let (mut name, mut prio) = (&b""[..], 0u32);
                                for (k, v) in spec::obj(e, &pi)? {
                                    match k.to_bytes() {
                                        b"name" => name = spec::str(v, &pi.key("name"))?.to_bytes(),
                                        b"priority" => prio = spec::u32(v, &pi.key("priority"))?,
                                        _ => {}
                                    }
                                }
                                line.s(name).c(b' ').u(prio as u64);
                                w.put("net_prio", b"net_prio.ifpriomap", line.get().fits("linux.resources value:")?)?;
                            }
                        }
                        _ => {}
                    }
                }
            }
            b"rdma" => {
                let pr = p.key("rdma");
                for (dev, v) in spec::obj(v, &pr)? {
                    let mut line = Buf::<128>::new();
                    line.s(dev.to_bytes());
                    for (k, v) in spec::obj(v, &pr)? {
                        match k.to_bytes() {
                            b"hcaHandles" => {
                                line.s(b" hca_handle=").u(spec::u32(v, &pr.key("hcaHandles"))? as u64);
                            }
                            b"hcaObjects" => {
                                line.s(b" hca_object=").u(spec::u32(v, &pr.key("hcaObjects"))? as u64);
                            }
                            _ => {}
                        }
                    }
                    w.put("rdma", b"rdma.max", line.get().fits("linux.resources value:")?)?;
                }
            }
            b"unified" => {
                let pu = p.key("unified");
                if !w.v2 {
                    return Err(pu.err("needs a cgroup v2 host (this host's controllers are v1)"));
                }
                for (k, v) in spec::obj(v, &pu)? {
                    let key = k.to_bytes();
                    // Stay inside the container's own cgroup: a plain file name, no path.
                    if key.is_empty() || key.contains(&b'/') || key.starts_with(b".") {
                        let mut e = pu.err("invalid key ");
                        e.path.s(key);
                        return Err(e);
                    }
                    w.put("", key, spec::str(v, &pu)?.to_bytes())?;
                }
            }
            b"devices" => super::devices::apply(&w.v2, path, v, &p.key("devices"), dry)?,
            _ => {}
        }
    }
    Ok(())
}

#[inline(never)]
fn memory(w: &Writer<'_>, v: Val<'_>, p: &P) -> Result<()> {
    let (mut limit, mut swap, mut check) = (None, None, false);
    for (k, v) in spec::obj(v, p)? {
        let key = k.to_bytes();
        match key {
            // 0 is unset, as in runc and the Go engines (a limit of 0 bytes cannot start).
            b"limit" => limit = Some(spec::i64(v, &p.key("limit"))?).filter(|&l| l != 0),
            b"swap" => swap = Some(spec::i64(v, &p.key("swap"))?).filter(|&s| s != 0),
            b"reservation" => {
                let r = spec::i64(v, &p.key("reservation"))?;
                if r == 0 {
                    continue;
                }
                if w.v2 { w.max("memory", b"memory.low", r)? } else { w.num("memory", b"memory.soft_limit_in_bytes", r)? }
            }
            b"swappiness" => {
                let s = spec::u64(v, &p.key("swappiness"))?;
                if w.v2 {
                    return Err(p.key("swappiness").err("has no cgroup v2 equivalent"));
                }
                if s > 100 {
                    return Err(p.key("swappiness").err("must be 0..100"));
                }
                w.unum("memory", b"memory.swappiness", s)?;
            }
            b"disableOOMKiller" => {
                if spec::bool(v, &p.key("disableOOMKiller"))? {
                    if w.v2 {
                        return Err(p.key("disableOOMKiller").err("has no cgroup v2 equivalent"));
                    }
                    w.put("memory", b"memory.oom_control", b"1")?;
                }
            }
            b"checkBeforeUpdate" => check = spec::bool(v, &p.key("checkBeforeUpdate"))?,
            b"useHierarchy" => {
                if spec::bool(v, &p.key("useHierarchy"))? && !w.v2 {
                    w.put("memory", b"memory.use_hierarchy", b"1")?;
                }
            }
            b"kernel" | b"kernelTCP" => {
                let n = spec::i64(v, &p.key(if key == b"kernel" { "kernel" } else { "kernelTCP" }))?;
                if w.v2 {
                    return Err(p.key("kernel").err("kernel memory limits have no cgroup v2 equivalent"));
                }
                let f: &[u8] = if key == b"kernel" { b"memory.kmem.limit_in_bytes" } else { b"memory.kmem.tcp.limit_in_bytes" };
                // Newer kernels dropped kmem limits (runc ignores them too): only where they exist.
                if w.has("memory", f) {
                    w.num("memory", f, n)?;
                }
            }
            _ => {}
        }
    }
    if let (Some(l), true, false) = (limit, check, w.dry) {
        // Refuse a limit below what the cgroup already uses (instead of an OOM kill).
        let mut f = w.file("memory", if w.v2 { b"memory.current" } else { b"memory.usage_in_bytes" });
        let mut b = [0u8; 32];
        let n = super::read_file(f.cstr(), &mut b)?;
        let used = mote_sys::num::i64(b[..n].trim_ascii_end()).ok_or_else(|| Error::msg("read", f.lossy(), "not a number"))?;
        if l >= 0 && l < used {
            let mut e = p.key("limit").err("below the current usage ");
            e.path.i(used).s(b" (checkBeforeUpdate)");
            return Err(e);
        }
    }
    let memsw = !w.v2 && w.has("memory", b"memory.memsw.limit_in_bytes");
    // runc: an unlimited memory limit without a swap value makes memory+swap unlimited too
    // (else the old memsw limit, now below the limit, makes the kernel refuse it).
    if limit == Some(-1) && swap.is_none() && memsw {
        swap = Some(-1);
    }
    // v1 keeps memory.limit <= memsw.limit at every step: when memsw grows (or goes
    // unlimited) it is written first, as runc orders them.
    let swap_first = memsw && matches!((limit, swap), (Some(_), Some(s)) if s == -1 || s > current_limit(w));
    if swap_first {
        if let Some(s) = swap {
            w.num("memory", b"memory.memsw.limit_in_bytes", s)?;
        }
    }
    if let Some(l) = limit {
        if w.v2 {
            w.max("memory", b"memory.max", l)?;
        } else {
            w.num("memory", b"memory.limit_in_bytes", l)?;
        }
    }
    if let (Some(s), false) = (swap, swap_first) {
        if w.v2 {
            // v1 swap is memory+swap; v2 swap.max is swap alone (runc's conversion).
            let sw = match (s, limit) {
                (-1, _) => -1,
                (s, Some(l)) if l >= 0 && s >= l => s - l,
                _ => return Err(p.key("swap").err("must be -1 or at least memory.limit on cgroup v2")),
            };
            // A kernel without swap accounting has no memory.swap.max: fine when no swap is
            // asked for beyond the limit (as on v1 without memsw).
            if w.has("memory", b"memory.swap.max") {
                w.max("memory", b"memory.swap.max", sw)?;
            } else if sw > 0 {
                return Err(p.key("swap").err("swap accounting is off on this kernel (no memory.swap.max)"));
            }
        } else if w.has("memory", b"memory.memsw.limit_in_bytes") {
            w.num("memory", b"memory.memsw.limit_in_bytes", s)?;
        } else if s != -1 && Some(s) != limit {
            return Err(p.key("swap").err("swap accounting is off on this host (no memory.memsw.limit_in_bytes)"));
        }
    }
    Ok(())
}

/// The v1 memory.limit_in_bytes in force (i64::MAX when it cannot be read: unlimited).
fn current_limit(w: &Writer<'_>) -> i64 {
    let mut f = w.file("memory", b"memory.limit_in_bytes");
    let mut b = [0u8; 32];
    let n = super::read_file(f.cstr(), &mut b).unwrap_or(0);
    let digits = b[..n].iter().take_while(|c| c.is_ascii_digit());
    if n == 0 { i64::MAX } else { digits.fold(0i64, |a, &c| a.saturating_mul(10).saturating_add((c - b'0') as i64)) }
}

#[inline(never)]
fn cpu(w: &Writer<'_>, v: Val<'_>, p: &P) -> Result<()> {
    let (mut quota, mut period) = (None, None);
    for (k, v) in spec::obj(v, p)? {
        match k.to_bytes() {
            b"shares" => {
                let s = spec::u64(v, &p.key("shares"))?;
                if w.v2 {
                    // crun's conversion of [2, 262144] to [1, 10000]
                    let s = s.clamp(2, 262_144);
                    w.num("cpu", b"cpu.weight", (1 + ((s - 2) * 9999) / 262_142) as i64)?;
                } else {
                    w.unum("cpu", b"cpu.shares", s)?;
                }
            }
            b"quota" => quota = Some(spec::i64(v, &p.key("quota"))?),
            b"period" => period = Some(spec::u64(v, &p.key("period"))?),
            b"burst" => {
                let b = spec::u64(v, &p.key("burst"))?;
                if w.v2 { w.unum("cpu", b"cpu.max.burst", b)? } else { w.unum("cpu", b"cpu.cfs_burst_us", b)? }
            }
            b"realtimeRuntime" => {
                if w.v2 {
                    return Err(p.key("realtimeRuntime").err("has no cgroup v2 equivalent"));
                }
                rt_runtime(&w, spec::i64(v, &p.key("realtimeRuntime"))?)?;
            }
            b"realtimePeriod" => {
                if w.v2 {
                    return Err(p.key("realtimePeriod").err("has no cgroup v2 equivalent"));
                }
                w.unum("cpu", b"cpu.rt_period_us", spec::u64(v, &p.key("realtimePeriod"))?)?;
            }
            b"cpus" => w.put("cpuset", b"cpuset.cpus", spec::str(v, &p.key("cpus"))?.to_bytes())?,
            b"mems" => w.put("cpuset", b"cpuset.mems", spec::str(v, &p.key("mems"))?.to_bytes())?,
            b"idle" => w.num("cpu", b"cpu.idle", spec::i64(v, &p.key("idle"))?)?,
            _ => {}
        }
    }
    if w.v2 {
        if quota.is_some() || period.is_some() {
            let mut b = Buf::<48>::new();
            match quota {
                Some(q) if q > 0 => b.i(q),
                _ => b.s(b"max"),
            };
            b.c(b' ').u(period.unwrap_or(100_000));
            w.put("cpu", b"cpu.max", b.lossy())?; // two i64 and a space: always fits
        }
    } else {
        // The period first: a quota is checked against the current period.
        if let Some(pe) = period {
            w.unum("cpu", b"cpu.cfs_period_us", pe)?;
        }
        if let Some(q) = quota {
            w.num("cpu", b"cpu.cfs_quota_us", q)?;
        }
    }
    Ok(())
}

#[inline(never)]
fn block_io(w: &Writer<'_>, v: Val<'_>, p: &P) -> Result<()> {
    for (k, v) in spec::obj(v, p)? {
        let key = k.to_bytes();
        match key {
            b"weight" => {
                let x = spec::u64(v, &p.key("weight"))?;
                if w.v2 {
                    // crun's conversion of blkio [10, 1000] to io [1, 10000]
                    let x = x.clamp(10, 1000);
                    w.num("blkio", b"io.weight", (1 + (x - 10) * 9999 / 990) as i64)?;
                } else {
                    weight_v1(w, b"weight", x)?;
                }
            }
            b"leafWeight" => {
                if !w.v2 {
                    weight_v1(w, b"leaf_weight", spec::u64(v, &p.key("leafWeight"))?)?;
                }
            }
            b"weightDevice" => {
                let pd = p.key("weightDevice");
                for (i, d) in spec::arr(v, &pd)?.enumerate() {
                    let pi = pd.idx(i);
                    let (maj, min, mut weight) = device_numbers(d, &pi)?;
                    for (k, v) in spec::obj(d, &pi)? {
                        if k.to_bytes() == b"weight" {
                            weight = spec::u64(v, &pi.key("weight"))?;
                        }
                    }
                    let mut line = Buf::<64>::new();
                    line.u(maj).c(b':').u(min).c(b' ').u(weight);
                    w.put("blkio", if w.v2 { b"io.weight" } else { b"blkio.weight_device" }, line.get().fits("linux.resources value:")?)?;
                }
            }
            b"throttleReadBpsDevice" | b"throttleWriteBpsDevice" | b"throttleReadIOPSDevice" | b"throttleWriteIOPSDevice" => {
                let (v1file, v2key, name): (&[u8], &[u8], &'static str) = match key {
                    b"throttleReadBpsDevice" => (b"blkio.throttle.read_bps_device", b"rbps", "throttleReadBpsDevice"),
                    b"throttleWriteBpsDevice" => (b"blkio.throttle.write_bps_device", b"wbps", "throttleWriteBpsDevice"),
                    b"throttleReadIOPSDevice" => (b"blkio.throttle.read_iops_device", b"riops", "throttleReadIOPSDevice"),
                    _ => (b"blkio.throttle.write_iops_device", b"wiops", "throttleWriteIOPSDevice"),
                };
                let pd = p.key(name);
                for (i, d) in spec::arr(v, &pd)?.enumerate() {
                    let pi = pd.idx(i);
                    let (maj, min, _) = device_numbers(d, &pi)?;
                    let mut rate = 0;
                    for (k, v) in spec::obj(d, &pi)? {
                        if k.to_bytes() == b"rate" {
                            rate = spec::u64(v, &pi.key("rate"))?;
                        }
                    }
                    let mut line = Buf::<64>::new();
                    line.u(maj).c(b':').u(min).c(b' ');
                    if w.v2 {
                        line.s(v2key).c(b'=').u(rate);
                        w.put("blkio", b"io.max", line.get().fits("linux.resources value:")?)?;
                    } else {
                        line.u(rate);
                        w.put("blkio", v1file, line.get().fits("linux.resources value:")?)?;
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// cpu.rt_runtime_us: a cgroup's real-time budget must fit in its parent's (the sum of the
/// children's), and a new cgroup, /mote included, starts with none. Refused (EINVAL), each
/// ancestor below the root is raised by `v` first, nearest last, as runc and crun do.
fn rt_runtime(w: &Writer<'_>, v: i64) -> Result<()> {
    match w.num("cpu", b"cpu.rt_runtime_us", v) {
        Err(Error { errno: Some(Errno::INVAL), .. }) if v > 0 => {}
        r => return r,
    }
    let Some(cut) = w.path.iter().rposition(|&c| c == b'/').filter(|&i| i > 0) else {
        return w.num("cpu", b"cpu.rt_runtime_us", v); // the root's own budget: not ours to raise
    };
    let parent = Writer { path: &w.path[..cut], v2: false, dry: false };
    let mut f = parent.file("cpu", b"cpu.rt_runtime_us");
    let mut b = [0u8; 32];
    let n = super::read_file(f.cstr(), &mut b)?;
    let cur = mote_sys::num::i64(b[..n].trim_ascii_end()).ok_or_else(|| Error::msg("read", f.lossy(), "not a number"))?;
    rt_runtime(&parent, cur.max(0).checked_add(v).ok_or_else(|| Error::msg("cpu.realtimeRuntime", "", "too large"))?)?;
    w.num("cpu", b"cpu.rt_runtime_us", v)
}

/// blkio.weight, or blkio.bfq.weight on kernels where the BFQ scheduler took it over.
#[inline(never)]
fn weight_v1(w: &Writer<'_>, which: &[u8], x: u64) -> Result<()> {
    // `which` is one of mote's own names: both always fit.
    let mut f = Buf::<32>::new();
    f.s(b"blkio.").s(which);
    if !w.has("blkio", f.lossy()) {
        f.clear();
        f.s(b"blkio.bfq.").s(which);
    }
    w.unum("blkio", f.get().fits("blkio file name:")?, x)
}

#[inline(never)]
fn device_numbers(d: Val<'_>, p: &P) -> Result<(u64, u64, u64)> {
    let (mut maj, mut min) = (None, None);
    for (k, v) in spec::obj(d, p)? {
        match k.to_bytes() {
            b"major" => maj = Some(spec::u64(v, &p.key("major"))?),
            b"minor" => min = Some(spec::u64(v, &p.key("minor"))?),
            _ => {}
        }
    }
    match (maj, min) {
        (Some(a), Some(b)) => Ok((a, b, 0)),
        _ => Err(p.err("needs major and minor")),
    }
}

/// v2: the controllers `res` needs (and only those) enabled in the subtree_control of every
/// ancestor of the container that lacks them, top down; a controller that cannot be enabled is
/// an error naming the file and the controller (it was ignored, and the write of its first file
/// then failed with a vaguer ENOENT).
#[inline(never)]
fn enable_controllers(path: &[u8], res: Val<'_>, p: &P) -> Result<()> {
    let mut need = heapless::Vec::<&[u8], 8>::new();
    for (k, v) in spec::obj(res, p)? {
        let ctl: &[u8] = match k.to_bytes() {
            b"memory" => b"memory",
            b"cpu" => {
                let cpuset = spec::obj(v, &p.key("cpu"))?.any(|(k, _)| matches!(k.to_bytes(), b"cpus" | b"mems"));
                if cpuset && !need.contains(&&b"cpuset"[..]) {
                    let _ = need.push(b"cpuset"); // 8 slots for at most 7 names
                }
                b"cpu"
            }
            b"pids" => b"pids",
            b"blockIO" => b"io",
            b"hugepageLimits" => b"hugetlb",
            b"rdma" => b"rdma",
            _ => continue,
        };
        if !need.contains(&ctl) {
            let _ = need.push(ctl);
        }
    }
    let mut dir = Buf::<{ PATH + 64 }>::new();
    dir.s(ROOT);
    let mut comps = path.split(|&c| c == b'/').filter(|c| !c.is_empty()).peekable();
    while let Some(comp) = comps.next() {
        let mut f = Buf::<{ PATH + 96 }>::new();
        f.s(dir.lossy()).s(b"/cgroup.subtree_control");
        let mut on = [0u8; 512];
        let n = super::read_file(f.cstr(), &mut on)?;
        for &c in &need {
            if on[..n].split(|&x| x == b' ' || x == b'\n').any(|x| x == c) {
                continue;
            }
            let mut plus = Buf::<16>::new();
            plus.c(b'+').s(c);
            write_file(f.cstr(), plus.lossy())?; // names of 7 letters at most
        }
        if comps.peek().is_some() {
            dir.c(b'/').s(comp);
        }
    }
    Ok(())
}
