//! linux.resources (parsed in spec/resources.rs) -> cgroupfs files, on v1 controllers (this
//! hybrid host, old kernels) or the v2 tree, with runc/crun's conversions (cpu shares -> weight,
//! blkio weight -> io.weight). A value the kernel refuses is an error naming the file and the
//! value; a v1-only field on v2 with no kernel-defined conversion (kernel memory, swappiness...)
//! is refused by name before anything is written.

use mote_sys::io::Buf;
use mote_sys::raw::Errno;
use mote_sys::rustix::fs::{self, Access};

use super::{write_file, PATH, ROOT};
use crate::error::{Error, Result};
use crate::spec::resources::{self as res, Resources, CHECK, CPUS, LIMIT, MEMS, NETWORK, PERIOD, QUOTA, SLOTS, SWAP, TABLE};
use crate::spec::{limits, P};

/// Where a controller's files are: v2 has one tree, v1 one per controller.
pub struct Layout {
    pub v2: bool,
}

impl Layout {
    pub fn detect() -> Layout {
        Layout { v2: super::pure_v2() } // (the layout mod.rs read once)
    }
}

/// The file of each scalar slot from [`TABLE`] on, on v1 and on v2 ("-": none). On v1 a file
/// lives under the controller its name begins with.
const V1: &str = "memory.soft_limit_in_bytes memory.swappiness memory.oom_control memory.use_hierarchy \
memory.kmem.limit_in_bytes memory.kmem.tcp.limit_in_bytes cpu.shares cpu.cfs_burst_us cpu.rt_period_us \
cpu.rt_runtime_us cpu.idle pids.max blkio.weight blkio.leaf_weight cpuset.cpus cpuset.mems";
const V2: &str = "memory.low - - - - - cpu.weight cpu.max.burst - - cpu.idle pids.max io.weight - cpuset.cpus cpuset.mems";
/// How each of those slots is written, on v1 then v2: `n` the number; `m` the number, or "max"
/// when negative; `h` the number where the kernel still has the file (kmem: newer kernels dropped
/// it, runc ignores it too); `s` the string; `w` crun's cpu.weight from shares; `o` crun's
/// io.weight from the blkio weight; `b` blkio's weight or its BFQ twin; `r` the real-time
/// budget (see [`rt_runtime`]); `x` refused (no v2 equivalent); `k` refused (kernel memory);
/// `-` nothing.
const CONV_V1: &[u8; SLOTS - TABLE] = b"nnnnhhnnnrnmbbss";
const CONV_V2: &[u8; SLOTS - TABLE] = b"mxx-kkwnxxnmoxss";

/// crun's conversion of a blkio weight [10, 1000] to iocost's io.weight [1, 10000].
fn io_weight(v: u64) -> u64 {
    1 + (v.clamp(10, 1000) - 10) * 9999 / 990
}

/// Writes into cgroup `path`.
struct Writer<'a> {
    path: &'a [u8],
    v2: bool,
}

impl Writer<'_> {
    /// `file` of this cgroup: on v1 under the controller its name begins with.
    #[inline(never)]
    fn file(&self, file: &[u8]) -> Buf<{ PATH + 128 }> {
        let mut f = Buf::new();
        f.s(ROOT);
        if !self.v2 {
            f.c(b'/').s(ctl(file));
        }
        f.s(self.path).c(b'/').s(file);
        f
    }
    /// Whether `file` exists on this host.
    #[inline(never)]
    fn has(&self, file: &[u8]) -> bool {
        self.file(file).cstr().is_ok_and(|f| fs::access(f, Access::EXISTS).is_ok())
    }
    #[inline(never)]
    fn put(&self, file: &[u8], val: &[u8]) -> Result<()> {
        if !self.v2 {
            let mut root = Buf::<64>::new();
            root.s(ROOT).c(b'/').s(ctl(file)).s(b"/cgroup.procs");
            if !root.cstr().is_ok_and(|f| fs::access(f, Access::EXISTS).is_ok()) {
                return Err(Error::msg(t!("cgroup controller"), ctl(file), t!("is not mounted on this host")));
            }
        }
        write_file(self.file(file).cstr(), val)
    }
    /// A number; `unsigned`: the bits of a u64 field (never written as a negative i64).
    #[inline(never)]
    fn num(&self, file: &[u8], v: i64, unsigned: bool) -> Result<()> {
        let mut b = Buf::<24>::new();
        if unsigned { b.u(v as u64) } else { b.i(v) };
        self.put(file, b.lossy()) // 24 bytes hold any 64-bit number
    }
    /// v2 spelling of a limit: negative means "max".
    #[inline(never)]
    fn max(&self, file: &[u8], v: i64) -> Result<()> {
        if v < 0 { self.put(file, b"max") } else { self.num(file, v, false) }
    }
    #[inline(never)]
    fn read(&self, file: &[u8]) -> Result<i64> {
        let mut f = self.file(file);
        let mut b = [0u8; 32];
        let n = super::read_file(f.cstr(), &mut b)?;
        mote_sys::num::i64(b[..n].trim_ascii_end()).ok_or_else(|| Error::msg(t!("read"), f.lossy(), t!("not a number")))
    }
}

/// The v1 controller of a file: its name up to the first dot.
fn ctl(file: &[u8]) -> &[u8] {
    super::on(file, b'.').next().unwrap_or(file)
}

fn nth(list: &'static str, i: usize) -> &'static [u8] {
    crate::spec::word(list, i).as_bytes()
}

/// What this host's cgroup layout refuses in `r` (a v1-only field on v2, `unified` on v1):
/// create asks before it makes anything, apply before its first write (update is all or nothing).
pub fn check(r: &Resources<'_>, p: &P) -> Result<()> {
    refused(r, Layout::detect().v2, p, None)
}

/// `cur`: the value in force of the one of memory.limit and memory.swap `r` leaves out (v2,
/// see [`apply`]).
#[inline(never)]
fn refused(r: &Resources<'_>, v2: bool, p: &P, cur: Option<i64>) -> Result<()> {
    if !v2 {
        // An empty map asks for nothing: crun and runc accept it on v1.
        if !r.unified.is_empty() {
            return Err(p.key("unified").err(t!("needs a cgroup v2 host (this host's controllers are v1)")));
        }
        return Ok(());
    }
    if r.groups & NETWORK != 0 {
        return Err(p.key("network").err(t!("has no cgroup v2 controller (net_cls/net_prio are v1 only)")));
    }
    for slot in TABLE..SLOTS {
        match (r.get(slot), CONV_V2[slot - TABLE]) {
            (Some(_), b'x') => return Err(res::err(p, slot, t!("has no cgroup v2 equivalent"))),
            (Some(_), b'k') => return Err(res::err(p, slot, t!("kernel memory limits have no cgroup v2 equivalent"))),
            _ => {}
        }
    }
    swap_v2(r, p, cur).map(drop)
}

/// v1 swap is memory+swap; v2 swap.max is swap alone (runc's conversion), from the values
/// given, or the one in force (`cur`) of the two.
fn swap_v2(r: &Resources<'_>, p: &P, cur: Option<i64>) -> Result<i64> {
    match (r.get(SWAP).or(cur), r.get(LIMIT).or(cur)) {
        (None | Some(-1), _) => Ok(-1),
        (Some(s), Some(l)) if l >= 0 && s >= l => Ok(s - l),
        _ => Err(res::err(p, SWAP, t!("must be -1 or at least memory.limit on cgroup v2 (or the one in force)"))),
    }
}

/// Applies `r` to cgroup `path`; `p` is where its fields are named from in errors. `update`:
/// the cgroup has values in force that `r` may leave out (create's new cgroup has none, and
/// reading them there would only cost syscalls).
pub fn apply(r: &Resources<'_>, path: &[u8], p: &P, update: bool) -> Result<()> {
    let w = Writer { path, v2: Layout::detect().v2 };
    // v2's swap.max is swap alone, the spec's swap (v1's memsw) memory+swap: of the two, the one
    // `r` leaves out is the one in force (runc's update keeps the container's, since 1.2): the
    // limit (memory.max) for a swap value alone; for a limit alone the memory+swap
    // (memory.max + memory.swap.max), which swap.max is then recomputed from and the new limit
    // must not exceed (v1's kernel keeps memsw so). "max" in either reads as none: swap.max stays.
    let cur = match (r.get(SWAP), r.get(LIMIT)) {
        (Some(s), None) | (None, Some(s)) if update && w.v2 && s != -1 => {
            let m = w.read(b"memory.max").ok();
            if r.get(SWAP).is_some() { m } else { m.and_then(|m| w.read(b"memory.swap.max").ok().map(|s| m.saturating_add(s))) }
        }
        _ => None,
    };
    refused(r, w.v2, p, cur)?;
    // First, as the controllers' files (memory.current too) exist only once they are enabled.
    if w.v2 {
        enable_controllers(path, r)?;
    }
    if let (Some(l), Some(_)) = (r.get(LIMIT), r.get(CHECK)) {
        // Refuse a limit below what the cgroup already uses (instead of an OOM kill), before
        // any of its values is written.
        let used = w.read(if w.v2 { b"memory.current" } else { b"memory.usage_in_bytes" })?;
        if l >= 0 && l < used {
            let mut e = res::err(p, LIMIT, t!("below the current usage "));
            e.path(|p| { p.i(used).t(t!(" (checkBeforeUpdate)")); });
            return Err(e);
        }
    }
    for slot in TABLE..SLOTS {
        let Some(v) = r.get(slot) else { continue };
        let i = slot - TABLE;
        let (conv, file) = if w.v2 { (CONV_V2[i], nth(V2, i)) } else { (CONV_V1[i], nth(V1, i)) };
        match conv {
            b'm' => w.max(file, v)?,
            b's' => w.put(file, r.str(slot).to_bytes())?,
            // crun's conversion of [2, 262144] to [1, 10000]
            b'w' => w.num(file, 1 + (((v as u64).clamp(2, 262_144) - 2) * 9999 / 262_142) as i64, false)?,
            // The BFQ scheduler's weight takes blkio's range as it is (runc, crun), else
            // crun's conversion of blkio [10, 1000] to iocost's io.weight [1, 10000].
            b'o' if w.has(b"io.bfq.weight") => w.num(b"io.bfq.weight", v, true)?,
            b'o' => w.num(file, io_weight(v as u64) as i64, false)?,
            // blkio.weight, or blkio.bfq.weight on kernels where the BFQ scheduler took it over.
            b'b' if !w.has(file) => {
                let mut f = Buf::<32>::new();
                f.s(b"blkio.bfq.").s(&file[6..]); // mote's own names: always fit
                w.num(f.lossy(), v, true)?
            }
            b'r' => rt_runtime(&w, v)?,
            b'h' if !w.has(file) => {}
            b'-' => {}
            _ => w.num(file, v, matches!(res::KINDS[slot], b'u' | b'U' | b'p'))?,
        }
    }
    memory(&w, r, p, cur)?;
    let (quota, period) = (r.get(QUOTA), r.get(PERIOD));
    if w.v2 {
        if quota.is_some() || period.is_some() {
            // One file for both: the one not given keeps its value in force (as runc's update,
            // which starts from the container's values), the kernel's defaults if unreadable.
            let mut cur = [0u8; 48];
            let n = super::read_file(w.file(b"cpu.max").cstr(), &mut cur).unwrap_or(0);
            let mut it = super::on(cur[..n].trim_ascii_end(), b' ');
            let word = |s: &[u8]| s.len() <= 20 && (s == b"max" || !s.is_empty() && s.iter().all(u8::is_ascii_digit));
            let (cq, cp) = (it.next().filter(|s| word(s)), it.next().filter(|s| word(s) && *s != b"max"));
            let mut b = Buf::<48>::new();
            match (quota, cq) {
                (Some(q), _) if q > 0 => b.i(q),
                (None, Some(c)) => b.s(c),
                _ => b.s(b"max"),
            };
            b.c(b' ');
            match (period, cp) {
                (Some(p), _) => b.u(p as u64),
                (None, Some(c)) => b.s(c),
                (None, None) => b.u(100_000),
            };
            w.put(b"cpu.max", b.lossy())?; // two words of at most 20 bytes and a space: always fits
        }
    } else {
        // The period first: a quota is checked against the current period.
        if let Some(pe) = period {
            w.num(b"cpu.cfs_period_us", pe, true)?;
        }
        if let Some(q) = quota {
            w.num(b"cpu.cfs_quota_us", q, false)?;
        }
    }
    // The lines below fit their buffers: names are at most RESOURCE_NAME bytes (spec/limits.rs).
    const LINE: usize = limits::RESOURCE_NAME + 64;
    for &(size, limit) in &r.hugepages {
        // The limit, and (as runc) the same on reservations where the kernel has them (5.7+):
        // else pages reserved by mmap but not yet touched would escape it.
        for rsvd in [&b""[..], b".rsvd"] {
            let mut f = Buf::<LINE>::new();
            f.s(b"hugetlb.").s(size.to_bytes()).s(rsvd).s(if w.v2 { &b".max"[..] } else { b".limit_in_bytes" });
            if !rsvd.is_empty() && !w.has(f.lossy()) {
                continue;
            }
            // Unlimited is "max" on v2 but "-1" on v1, whose hugetlb files refuse "max" (EINVAL).
            if w.v2 { w.max(f.lossy(), limit)? } else { w.num(f.lossy(), limit.max(-1), false)? }
        }
    }
    if let Some(c) = r.class_id {
        w.num(b"net_cls.classid", c as i64, false)?;
    }
    for &(name, prio) in &r.priorities {
        let mut line = Buf::<LINE>::new();
        line.s(name.to_bytes()).c(b' ').u(prio as u64);
        w.put(b"net_prio.ifpriomap", line.lossy())?;
    }
    for &(dev, handles, objects) in &r.rdma {
        let mut line = Buf::<LINE>::new();
        line.s(dev.to_bytes());
        if let Some(h) = handles {
            line.s(b" hca_handle=").u(h as u64);
        }
        if let Some(o) = objects {
            line.s(b" hca_object=").u(o as u64);
        }
        w.put(b"rdma.max", line.lossy())?;
    }
    for d in &r.blkio {
        let mut line = Buf::<LINE>::new();
        line.u(d.major).c(b':').u(d.minor).c(b' ');
        let i = d.list as usize;
        let mut value = d.value;
        let file = match (i, w.v2) {
            (0, false) if !w.has(b"blkio.weight_device") => &b"blkio.bfq.weight_device"[..],
            (0, false) => b"blkio.weight_device",
            // As the cgroup's own weight: BFQ's file takes blkio's range, iocost's its own.
            (0, true) if w.has(b"io.bfq.weight") => b"io.bfq.weight",
            (0, true) => {
                value = io_weight(value);
                b"io.weight"
            }
            (_, true) => {
                line.s(nth("rbps wbps riops wiops", i - 1)).c(b'=');
                b"io.max"
            }
            _ => nth("blkio.throttle.read_bps_device blkio.throttle.write_bps_device blkio.throttle.read_iops_device blkio.throttle.write_iops_device", i - 1),
        };
        line.u(value);
        w.put(file, line.lossy())?;
    }
    for &(key, val) in &r.unified {
        w.put(key.to_bytes(), val.to_bytes())?;
    }
    match &r.devices {
        Some(rules) => super::devices::apply(w.v2, path, rules),
        None => Ok(()),
    }
}

#[inline(never)]
fn memory(w: &Writer<'_>, r: &Resources<'_>, p: &P, cur: Option<i64>) -> Result<()> {
    let (limit, mut swap) = (r.get(LIMIT), r.get(SWAP).or(cur));
    const MEMSW: &[u8] = b"memory.memsw.limit_in_bytes";
    // (probed only where it matters: a swap value, or an unlimited limit that sets one)
    let memsw = !w.v2 && (swap.is_some() || limit == Some(-1)) && w.has(MEMSW);
    // runc: an unlimited memory limit without a swap value makes memory+swap (v2: swap)
    // unlimited too (else on v1 the old memsw limit, now below the limit, makes the kernel
    // refuse it; on v2 an update kept the old swap limit).
    if limit == Some(-1) && swap.is_none() && (memsw || w.v2) {
        swap = Some(-1);
    }
    // v1 keeps memory.limit <= memsw.limit at every step: when memsw grows (or goes
    // unlimited) it is written first, as runc orders them. (The limit in force reads as
    // unlimited when it cannot be read.)
    let swap_first = memsw
        && matches!((limit, swap), (Some(_), Some(s)) if s == -1 || s > w.read(b"memory.limit_in_bytes").unwrap_or(i64::MAX));
    if swap_first {
        if let Some(s) = swap {
            w.num(MEMSW, s, false)?;
        }
    }
    if let Some(l) = limit {
        if w.v2 {
            w.max(b"memory.max", l)?;
        } else {
            w.num(b"memory.limit_in_bytes", l, false)?;
        }
    }
    if let (Some(s), false) = (swap, swap_first) {
        if w.v2 {
            let sw = swap_v2(r, p, cur)?;
            // A kernel without swap accounting has no memory.swap.max: fine when no swap is
            // asked for beyond the limit (as on v1 without memsw).
            if w.has(b"memory.swap.max") {
                w.max(b"memory.swap.max", sw)?;
            } else if sw > 0 {
                return Err(res::err(p, SWAP, t!("swap accounting is off on this kernel (no memory.swap.max)")));
            }
        } else if memsw {
            w.num(MEMSW, s, false)?;
        } else if s != -1 && Some(s) != limit {
            return Err(res::err(p, SWAP, t!("swap accounting is off on this host (no memory.memsw.limit_in_bytes)")));
        }
    }
    Ok(())
}

/// cpu.rt_runtime_us: a cgroup's real-time budget must fit in its parent's (the sum of the
/// children's), and a new cgroup, /mote included, starts with none. Refused (EINVAL), each
/// ancestor below the root is raised by `v` first, nearest last, as runc and crun do.
fn rt_runtime(w: &Writer<'_>, v: i64) -> Result<()> {
    const RT: &[u8] = b"cpu.rt_runtime_us";
    match w.num(RT, v, false) {
        Err(e) if matches!(e.errno(), Some(Errno::INVAL)) && v > 0 => {}
        r => return r,
    }
    let Some(cut) = w.path.iter().rposition(|&c| c == b'/').filter(|&i| i > 0) else {
        return w.num(RT, v, false); // the root's own budget: not ours to raise
    };
    let parent = Writer { path: &w.path[..cut], v2: false };
    let cur = parent.read(RT)?;
    rt_runtime(&parent, cur.max(0).checked_add(v).ok_or_else(|| Error::say(t!("cpu.realtimeRuntime"), t!("too large")))?)?;
    w.num(RT, v, false)
}

/// v2: the controllers `r` needs (and only those) enabled in the subtree_control of every
/// ancestor of the container that lacks them, top down; a controller that cannot be enabled is
/// an error naming the file and the controller (it was ignored, and the write of its first file
/// then failed with a vaguer ENOENT).
#[inline(never)]
fn enable_controllers(path: &[u8], r: &Resources<'_>) -> Result<()> {
    // The controllers of memory, cpu, pids, blockIO, hugepageLimits, rdma (spec's GROUPS
    // order), then cpuset for cpu.cpus/mems; and each unified key's (memory.high: memory).
    let cpuset = r.get(CPUS).is_some() || r.get(MEMS).is_some();
    let unified = |c: &str| r.unified.iter().any(|(k, _)| ctl(k.to_bytes()) == c.as_bytes());
    let need = |i: usize, c: &str| unified(c) || if i < 6 { r.groups >> i & 1 != 0 } else { cpuset };
    const CONTROLLERS: &str = "memory cpu pids io hugetlb rdma cpuset";
    let mut dir = Buf::<{ PATH + 64 }>::new();
    dir.s(ROOT);
    let mut comps = super::on(path, b'/').filter(|c| !c.is_empty()).peekable();
    while let Some(comp) = comps.next() {
        let mut f = Buf::<{ PATH + 96 }>::new();
        f.s(dir.lossy()).s(b"/cgroup.subtree_control");
        let mut on = [0u8; 512];
        let n = super::read_file(f.cstr(), &mut on)?;
        for (i, c) in CONTROLLERS.split(' ').enumerate() {
            // One line of names (the kernel's), its newline at the end.
            if !need(i, c) || super::on(on[..n].trim_ascii_end(), b' ').any(|x| x == c.as_bytes()) {
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
