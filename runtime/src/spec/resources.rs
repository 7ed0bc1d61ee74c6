//! linux.resources -> bounded structs, read once with the rest of config.json (and by `update`
//! from its flags or its -r file), before any state dir or cgroup exists: a bad value is refused
//! by name and leaves nothing behind. cgroup/resources.rs only writes what is here.
//!
//! The scalar fields are one table: [`FIELDS`] names each slot, [`KINDS`] says how its JSON
//! value is read; cgroup/resources.rs has the matching table of files and conversions.

use core::ffi::CStr;

use heapless::Vec;

use super::{bool, entries, i64, items, limits, members, position, push, set_members, str, u32, u64, word, P};
use crate::cgroup::bpf::{Rule, MKNOD, READ, WRITE};
use crate::error::{Error, Result, Txt};
use crate::json::{Kind, Val};

/// The scalar fields as "object.key", in slot order. Slots below [`TABLE`] are combined with
/// others when written (limit with swap, quota with period); the rest map one to one to a file.
pub const FIELDS: &str = "memory.limit memory.swap memory.checkBeforeUpdate cpu.quota cpu.period \
memory.reservation memory.swappiness memory.disableOOMKiller memory.useHierarchy memory.kernel \
memory.kernelTCP cpu.shares cpu.burst cpu.realtimePeriod cpu.realtimeRuntime cpu.idle pids.limit \
blockIO.weight blockIO.leafWeight cpu.cpus cpu.mems";
pub const SLOTS: usize = 21;
pub const LIMIT: usize = 0;
pub const SWAP: usize = 1;
pub const CHECK: usize = 2;
pub const QUOTA: usize = 3;
pub const PERIOD: usize = 4;
pub const TABLE: usize = 5;
pub const CPUS: usize = 19;
pub const MEMS: usize = 20;

/// How each slot's value is read: `i` an integer; `z` an integer where 0 means unset (runc's
/// reading of memory limit, swap, reservation, kernel memory, the pids limit and the cpu quota:
/// a quota of 0 made "max" on v2 and EINVAL on v1); `u` a non-negative integer (up to 2^64-1,
/// kept as its bits); `U` the same where 0 means unset (runc and crun write no cpu shares, blkio
/// weight or cpu period of 0: the kernel would take a weight as its lowest, refuses a period);
/// `p` a percentage 0..100; `b` a switch (only true is kept); `s` a string.
pub const KINDS: &[u8; SLOTS] = b"zzbzUzpbbzzUuuiizUUss";

/// linux.resources' objects, by bit of [`Resources::groups`].
pub const GROUPS: &str = "memory cpu pids blockIO hugepageLimits rdma network unified devices";
pub const NETWORK: u16 = 1 << 6;

/// blockIO's device lists, by [`BlkDev::list`].
const BLKIO_LISTS: &str = "weightDevice throttleReadBpsDevice throttleWriteBpsDevice throttleReadIOPSDevice throttleWriteIOPSDevice";

/// One entry of blockIO's device lists.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BlkDev {
    /// 0 weightDevice, 1..4 the throttles in [`BLKIO_LISTS`]' order.
    pub list: u8,
    pub major: u64,
    pub minor: u64,
    /// The weight or the rate.
    pub value: u64,
}

/// One linux.resources.devices rule, compact (it lives in the config's struct): cgroup/bpf.rs's
/// Rule with its access bits, and -1 for any major or minor.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DevRule {
    pub allow: bool,
    /// b'a', b'c' or b'b'
    pub kind: u8,
    pub access: u8,
    pub major: i32,
    pub minor: i32,
}

impl DevRule {
    /// The rule as cgroup/bpf.rs's program takes it.
    pub fn rule(self) -> Rule {
        Rule { allow: self.allow, kind: self.kind, major: self.major as i64, minor: self.minor as i64, access: self.access as u32 }
    }
}

#[derive(Default)]
pub struct Resources<'a> {
    /// The objects present (bit i: the i-th of [`GROUPS`]), even empty ones: v2 enables their
    /// controllers, and `network`/`unified` are refused where they cannot apply.
    pub groups: u16,
    set: u32,
    vals: [i64; SLOTS],
    strs: [&'a CStr; 2],
    /// (pageSize, limit: -1 unlimited, 0 when not given)
    pub hugepages: Vec<(&'a CStr, i64), { limits::RESOURCE_LIST }>,
    pub class_id: Option<u32>,
    /// network.priorities: (interface, priority)
    pub priorities: Vec<(&'a CStr, u32), { limits::RESOURCE_LIST }>,
    /// (device, hcaHandles, hcaObjects)
    pub rdma: Vec<(&'a CStr, Option<u32>, Option<u32>), { limits::RESOURCE_LIST }>,
    /// The entries of all five of blockIO's device lists, in the config's order.
    pub blkio: Vec<BlkDev, { limits::RESOURCE_LIST }>,
    pub unified: Vec<(&'a CStr, &'a CStr), { limits::RESOURCE_LIST }>,
    /// The device rules (cgroup/devices.rs adds the ones every container gets).
    pub devices: Option<Vec<DevRule, { limits::DEVICE_RULES }>>,
}

/// The object and key of scalar `slot`.
pub fn field(slot: usize) -> (&'static str, &'static str) {
    word(FIELDS, slot).split_once('.').unwrap_or(("", ""))
}

/// An error about scalar `slot` under `p` (linux.resources, or update's document root).
#[cold]
#[inline(never)]
pub fn err(p: &P, slot: usize, why: Txt) -> Error {
    let (o, k) = field(slot);
    p.key(o).key(k).err(why)
}

impl<'a> Resources<'a> {
    /// Scalar `slot`'s value, if the config set it (`u` kinds: the u64's bits; `b`: 1).
    pub fn get(&self, slot: usize) -> Option<i64> {
        (self.set >> slot & 1 != 0).then(|| self.vals[slot])
    }
    /// String slot [`CPUS`] or [`MEMS`].
    pub fn str(&self, slot: usize) -> &'a CStr {
        self.strs[slot - CPUS]
    }
    /// Sets string slot [`CPUS`] or [`MEMS`].
    pub fn put_str(&mut self, slot: usize, s: &'a CStr) {
        self.strs[slot - CPUS] = s;
        self.set |= 1 << slot;
    }
    /// Sets scalar `slot` to `n` (read as its kind says), or refuses it naming the field.
    #[inline(never)]
    pub fn put(&mut self, slot: usize, n: i64, p: &P) -> Result<()> {
        match KINDS[slot] {
            b'z' | b'U' | b'b' if n == 0 => return Ok(()),
            b'p' if n as u64 > 100 => return Err(err(p, slot, t!("must be 0..100"))),
            _ => {}
        }
        self.vals[slot] = n;
        self.set |= 1 << slot;
        Ok(())
    }
    #[inline(never)]
    fn scalar(&mut self, slot: usize, v: Val<'a>, p: &P) -> Result<()> {
        let (o, k) = field(slot);
        let pk = p.key(o);
        let pk = pk.key(k);
        let n = match KINDS[slot] {
            b's' => return Ok(self.put_str(slot, str(v, &pk)?)),
            b'b' => bool(v, &pk)? as i64,
            b'u' | b'U' | b'p' => u64(v, &pk)? as i64,
            _ => i64(v, &pk)?,
        };
        self.put(slot, n, p)
    }
}

/// Reads linux.resources (or update's resources document) at `p` into `r` (in place: the
/// struct is large, and a returned one would be one more copy in the caller's frame).
#[inline(never)]
pub fn parse<'a>(v: Val<'a>, p: &P, r: &mut Resources<'a>) -> Result<()> {
    set_members(v, p, GROUPS, &mut |g, v, pg| {
        r.groups |= 1 << g;
        match g {
            0..=3 => {
                let name = word(GROUPS, g as usize);
                entries(v, pg, &mut |k, v| {
                    if v.kind() == Kind::Null {
                        return Ok(()); // unset, as for set_members
                    }
                    let key = k.to_bytes();
                    if let Some(slot) = (0..SLOTS).find(|&s| field(s).0 == name && field(s).1.as_bytes() == key) {
                        r.scalar(slot, v, p)?;
                    } else if let Some(list) = position(BLKIO_LISTS, b"", key).filter(|_| g == 3) {
                        let pd = pg.key(word(BLKIO_LISTS, list as usize));
                        items(v, &pd, &mut |d, pi| {
                            let d = blkio(d, pi, list as u8)?;
                            push(&mut r.blkio, d, &pd)?;
                            Ok(())
                        })?;
                    }
                    Ok(())
                })?;
            }
            4 => {
                items(v, pg, &mut |h, pi| {
                    // An absent (or null) limit is 0, no pages: the spec requires one, and runc
                    // reads a missing one as Go's zero value and writes it. -1 is unlimited.
                    let (mut size, mut limit) = (c"", 0);
                    set_members(h, pi, "pageSize limit", &mut |i, v, pk| {
                        match i {
                            0 => size = name_of(str(v, pk)?, pk)?,
                            _ => limit = i64(v, pk)?,
                        }
                        Ok(())
                    })?;
                    // A file name part: hugetlb.<pageSize>.max
                    if size.is_empty() || size.to_bytes().contains(&b'/') {
                        return Err(pi.key_err("pageSize", t!("missing or invalid")));
                    }
                    push(&mut r.hugepages, (size, limit), pg)?;
                    Ok(())
                })?;
            }
            5 => {
                entries(v, pg, &mut |dev, v| {
                    let mut e = (name_of(dev, pg)?, None, None);
                    // (the fields' paths without the device's name, as before)
                    set_members(v, pg, "hcaHandles hcaObjects", &mut |i, v, pk| {
                        let n = Some(u32(v, pk)?);
                        if i == 0 { e.1 = n } else { e.2 = n }
                        Ok(())
                    })?;
                    push(&mut r.rdma, e, pg)?;
                    Ok(())
                })?;
            }
            6 => set_members(v, pg, "classID priorities", &mut |i, v, pk| {
                if i == 0 {
                    r.class_id = Some(u32(v, pk)?);
                    return Ok(());
                }
                items(v, pk, &mut |e, pi| {
                    let (mut name, mut prio) = (c"", 0);
                    members(e, pi, "name priority", &mut |i, v, pn| {
                        match i {
                            0 => name = name_of(str(v, pn)?, pn)?,
                            _ => if v.kind() != Kind::Null { prio = u32(v, pn)? },
                        }
                        Ok(())
                    })?;
                    push(&mut r.priorities, (name, prio), pk)?;
                    Ok(())
                })?;
                Ok(())
            })?,
            7 => {
                entries(v, pg, &mut |k, v| {
                    let key = k.to_bytes();
                    // Stay inside the container's own cgroup: a plain file name, no path.
                    if key.is_empty() || key.contains(&b'/') || key.starts_with(b".") {
                        let mut e = pg.err(t!("invalid key "));
                        e.path(|p| { p.s(key); });
                        return Err(e);
                    }
                    let e = (name_of(k, pg)?, str(v, pg)?);
                    push(&mut r.unified, e, pg)?;
                    Ok(())
                })?;
            }
            _ => {
                let rules = r.devices.insert(Vec::new());
                items(v, pg, &mut |d, pi| {
                    let d = rule(d, pi)?;
                    push(rules, d, pg)?;
                    Ok(())
                })?;
            }
        }
        Ok(())
    })
}


/// A name that becomes part of a cgroup file's name or content: at most RESOURCE_NAME bytes.
#[inline(never)]
fn name_of<'a>(s: &'a CStr, p: &P) -> Result<&'a CStr> {
    if s.to_bytes().len() <= limits::RESOURCE_NAME {
        return Ok(s);
    }
    let mut e = p.err(t!("longer than "));
    e.path(|p| { p.u(limits::RESOURCE_NAME as u64).t(t!(" bytes (the bound in spec/limits.rs)")); });
    Err(e)
}

/// One entry of a blockIO device list: major and minor required, then weight or rate (0 if absent).
#[inline(never)]
fn blkio(d: Val<'_>, p: &P, list: u8) -> Result<BlkDev> {
    let (mut maj, mut min, mut value) = (None, None, 0);
    set_members(d, p, "major minor weight rate leafWeight", &mut |i, v, pk| {
        match i {
            0 => maj = Some(u64(v, pk)?),
            1 => min = Some(u64(v, pk)?),
            // weightDevice's value is its weight, the throttles' their rate.
            2 | 3 => if (i == 2) == (list == 0) { value = u64(v, pk)? },
            // CFQ's per-device leaf weights went with CFQ (Linux 5.0): no kernel file takes one.
            _ => if list == 0 && u64(v, pk)? != 0 {
                return Err(pk.err(t!("has no kernel file since CFQ was removed (Linux 5.0)")));
            },
        }
        Ok(())
    })?;
    match (maj, min) {
        (Some(major), Some(minor)) => Ok(BlkDev { list, major, minor, value }),
        _ => Err(p.err(t!("needs major and minor"))),
    }
}

/// One linux.resources.devices rule.
#[inline(never)]
fn rule(d: Val<'_>, p: &P) -> Result<DevRule> {
    let mut r = DevRule { allow: false, kind: b'a', major: -1, minor: -1, access: 7 };
    members(d, p, "allow type major minor access", &mut |i, v, pk| {
        if v.kind() == Kind::Null && i != 0 {
            return Ok(());
        }
        match i {
            0 => r.allow = bool(v, pk)?,
            1 => {
                r.kind = match str(v, pk)?.to_bytes() {
                    [c @ (b'a' | b'c' | b'b')] => *c,
                    _ => return Err(pk.err(t!("must be a, c or b"))),
                }
            }
            // -1 (any) or a number the program can compare: never cut to 32 bits.
            2 | 3 => {
                let n = match i64(v, pk)? {
                    n @ -1..=0x7fff_ffff => n as i32,
                    _ => return Err(pk.err(t!("must be -1 (any) or a device number below 2^31"))),
                };
                if i == 2 { r.major = n } else { r.minor = n }
            }
            _ => {
                let s = str(v, pk)?.to_bytes();
                // Empty means all, as runc reads it.
                r.access = if s.is_empty() { 7 } else { 0 };
                for &c in s {
                    r.access |= match c {
                        b'r' => READ as u8,
                        b'w' => WRITE as u8,
                        b'm' => MKNOD as u8,
                        _ => return Err(pk.err(t!("must be made of r, w and m"))),
                    };
                }
            }
        }
        Ok(())
    })?;
    Ok(r)
}

#[cfg(test)]
mod tests {
    //! Run on the host by tests/unit (cargo test); see tests/test_unit.py.
    extern crate std;
    use super::*;
    use std::format;
    use std::string::String;
    use std::vec::Vec;

    /// Parses `doc` as linux.resources; the error as mote prints it.
    fn parse_str(doc: &str) -> core::result::Result<Resources<'static>, String> {
        let mut b = doc.as_bytes().to_vec();
        let root = crate::json::prepare(&mut b).map_err(|e| e.what.to_string())?;
        let b: &'static [u8] = std::boxed::Box::leak(b.into_boxed_slice());
        let pl = P::ROOT.key("linux");
        let mut r = Resources::default();
        match parse(Val::root(b, root), &pl.key("resources"), &mut r) {
            Ok(()) => Ok(r),
            Err(e) => {
                let mut m = mote_sys::io::Buf::<1024>::new();
                e.render(&mut m);
                Err(String::from_utf8_lossy(m.lossy()).into_owned())
            }
        }
    }

    fn err_of(doc: &str) -> String {
        match parse_str(doc) {
            Ok(_) => panic!("accepted: {doc}"),
            Err(e) => e,
        }
    }

    /// A JSON value of slot `slot`'s kind.
    fn sample(slot: usize) -> &'static str {
        match KINDS[slot] {
            b's' => "\"0-1\"",
            b'b' => "true",
            b'p' => "60",
            _ => "7",
        }
    }

    #[test]
    fn every_scalar_field() {
        for slot in 0..SLOTS {
            let (o, k) = field(slot);
            assert!(!o.is_empty() && !k.is_empty(), "slot {slot}");
            let r = parse_str(&format!(r#"{{"{o}":{{"{k}":{}}}}}"#, sample(slot))).unwrap();
            let want = match KINDS[slot] {
                b'b' => 1,
                b'p' => 60,
                b's' => 0, // set; the value is str()'s
                _ => 7,
            };
            assert_eq!(r.get(slot), Some(want), "{o}.{k}");
            if KINDS[slot] == b's' {
                assert_eq!(r.str(slot).to_bytes(), b"0-1");
            }
            let g = GROUPS.split(' ').position(|n| n == o).unwrap();
            assert_eq!(r.groups, 1 << g, "{o}.{k}");
            for other in (0..SLOTS).filter(|&s| s != slot) {
                assert_eq!(r.get(other), None, "{o}.{k} set slot {other}");
            }
        }
        assert_eq!(FIELDS.split(' ').count(), SLOTS);
    }

    #[test]
    fn every_field_at_once() {
        let doc = r#"{
            "memory": {"limit": 1048576, "swap": 2097152, "reservation": 4096, "swappiness": 0, "kernel": -1,
                       "kernelTCP": 5, "disableOOMKiller": true, "useHierarchy": true, "checkBeforeUpdate": true},
            "cpu": {"shares": 18446744073709551615, "quota": -1, "period": 100000, "burst": 3, "realtimeRuntime": -5,
                    "realtimePeriod": 6, "cpus": "0-3", "mems": "0", "idle": 1},
            "pids": {"limit": -1},
            "blockIO": {"weight": 10, "leafWeight": 20,
                        "weightDevice": [{"major": 8, "minor": 0, "weight": 500, "leafWeight": 0}],
                        "throttleReadBpsDevice": [{"major": 8, "minor": 1, "rate": 1}],
                        "throttleWriteBpsDevice": [{"major": 8, "minor": 2, "rate": 2}],
                        "throttleReadIOPSDevice": [{"major": 8, "minor": 3, "rate": 3}],
                        "throttleWriteIOPSDevice": [{"major": 8, "minor": 4}]},
            "hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}, {"pageSize": "1GB"}],
            "network": {"classID": 4294967295, "priorities": [{"name": "eth0", "priority": 5}]},
            "rdma": {"mlx5_0": {"hcaHandles": 3, "hcaObjects": 4}, "mlx5_1": {"hcaObjects": 9}},
            "unified": {"memory.high": "max", "io.bfq.weight": "50"},
            "devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 10, "minor": -1, "access": "r"}],
            "unknownField": {"x": 1}
        }"#;
        let r = parse_str(doc).unwrap();
        assert_eq!(r.groups, 0x1ff);
        let get = |o: &str, k: &str| r.get(FIELDS.split(' ').position(|f| f == format!("{o}.{k}")).unwrap());
        assert_eq!(get("memory", "limit"), Some(1048576));
        assert_eq!(get("memory", "swap"), Some(2097152));
        assert_eq!(get("memory", "reservation"), Some(4096));
        assert_eq!(get("memory", "swappiness"), Some(0), "0 is a value for swappiness");
        assert_eq!(get("memory", "kernel"), Some(-1));
        assert_eq!(get("memory", "kernelTCP"), Some(5));
        assert_eq!(get("memory", "disableOOMKiller"), Some(1));
        assert_eq!(get("memory", "useHierarchy"), Some(1));
        assert_eq!(get("memory", "checkBeforeUpdate"), Some(1));
        assert_eq!(get("cpu", "shares").map(|v| v as u64), Some(u64::MAX), "u64 fields keep their bits");
        assert_eq!(get("cpu", "quota"), Some(-1));
        assert_eq!(get("cpu", "period"), Some(100000));
        assert_eq!(get("cpu", "burst"), Some(3));
        assert_eq!(get("cpu", "realtimeRuntime"), Some(-5));
        assert_eq!(get("cpu", "realtimePeriod"), Some(6));
        assert_eq!(r.str(CPUS).to_bytes(), b"0-3");
        assert_eq!(r.str(MEMS).to_bytes(), b"0");
        assert_eq!(get("cpu", "idle"), Some(1));
        assert_eq!(get("pids", "limit"), Some(-1));
        assert_eq!(get("blockIO", "weight"), Some(10));
        assert_eq!(get("blockIO", "leafWeight"), Some(20));
        let blk: Vec<(u8, u64, u64, u64)> = r.blkio.iter().map(|d| (d.list, d.major, d.minor, d.value)).collect();
        assert_eq!(blk, [(0, 8, 0, 500), (1, 8, 1, 1), (2, 8, 2, 2), (3, 8, 3, 3), (4, 8, 4, 0)]);
        let huge: Vec<(&[u8], i64)> = r.hugepages.iter().map(|(s, l)| (s.to_bytes(), *l)).collect();
        assert_eq!(huge, [(&b"2MB"[..], 4194304), (&b"1GB"[..], 0)], "an absent limit is runc's 0");
        assert_eq!(r.class_id, Some(u32::MAX));
        assert_eq!(r.priorities.len(), 1);
        assert_eq!((r.priorities[0].0.to_bytes(), r.priorities[0].1), (&b"eth0"[..], 5));
        let rdma: Vec<(&[u8], Option<u32>, Option<u32>)> = r.rdma.iter().map(|(d, h, o)| (d.to_bytes(), *h, *o)).collect();
        assert_eq!(rdma, [(&b"mlx5_0"[..], Some(3), Some(4)), (&b"mlx5_1"[..], None, Some(9))]);
        let uni: Vec<(&[u8], &[u8])> = r.unified.iter().map(|(k, v)| (k.to_bytes(), v.to_bytes())).collect();
        assert_eq!(uni, [(&b"memory.high"[..], &b"max"[..]), (&b"io.bfq.weight"[..], &b"50"[..])]);
        let d = r.devices.as_ref().unwrap();
        assert_eq!(d[..], [DevRule { allow: false, kind: b'a', access: 7, major: -1, minor: -1 },
                           DevRule { allow: true, kind: b'c', access: READ as u8, major: 10, minor: -1 }]);
    }

    #[test]
    fn zero_and_false_are_unset() {
        let r = parse_str(r#"{"memory":{"limit":0,"swap":0,"reservation":0,"disableOOMKiller":false,"useHierarchy":false,
            "checkBeforeUpdate":false,"kernel":0,"kernelTCP":0},"pids":{"limit":0},"cpu":{"quota":0,"period":0,"idle":0,"shares":0},
            "blockIO":{"weight":0,"leafWeight":0}}"#).unwrap();
        for slot in [LIMIT, SWAP, CHECK, 5, 7, 8, 9, 10, 11, 16, 17, 18] {
            assert_eq!(r.get(slot), None, "{:?}", field(slot));
        }
        // runc and crun skip a 0 quota or period (v2: cpu.max untouched, v1: no write the kernel
        // would refuse); mote once read a 0 quota as "max" on v2 and wrote 0 on v1 (EINVAL).
        assert_eq!((r.get(QUOTA), r.get(PERIOD)), (None, None), "0 quota and period are unset");
        assert_eq!(r.get(15), Some(0), "idle 0 is a value");
        assert_eq!(r.groups, 0b1111, "the objects are there, their controllers enabled");
        let r = parse_str(r#"{"devices":[]}"#).unwrap();
        assert_eq!(r.devices.as_ref().map(|d| d.len()), Some(0), "an empty list is a list (the defaults still apply)");
        assert!(parse_str("{}").unwrap().devices.is_none());
    }

    #[test]
    fn null_is_unset_as_in_go() {
        // runc reads config.json with Go's encoding/json: null leaves a field unset. It was
        // "expected number, got null" here for every field.
        for slot in 0..SLOTS {
            let (o, k) = field(slot);
            let r = parse_str(&format!(r#"{{"{o}":{{"{k}":null}}}}"#)).unwrap();
            assert_eq!(r.get(slot), None, "{o}.{k}");
        }
        let r = parse_str(r#"{"memory":null,"cpu":null,"pids":null,"blockIO":null,"hugepageLimits":null,"rdma":null,
            "network":null,"unified":null,"devices":null}"#).unwrap();
        assert_eq!(r.groups, 0, "a null object is absent: no controller enabled, nothing refused");
        assert!(r.devices.is_none());
        let r = parse_str(r#"{"blockIO":{"weightDevice":null,"throttleReadBpsDevice":[{"major":8,"minor":0,"rate":null}]},
            "hugepageLimits":[{"pageSize":"2MB","limit":null}],"rdma":{"m":{"hcaHandles":null,"hcaObjects":1}},
            "network":{"classID":null,"priorities":[{"name":"lo","priority":null}]},
            "devices":[{"allow":true,"type":null,"major":null,"minor":null,"access":null}]}"#).unwrap();
        assert_eq!((r.blkio.len(), r.blkio[0].value), (1, 0));
        assert_eq!(r.hugepages[0].1, 0, "null: Go's zero value, as absent");
        assert_eq!((r.rdma[0].1, r.rdma[0].2, r.class_id), (None, Some(1), None));
        assert_eq!(r.priorities[0].1, 0);
        assert_eq!(r.devices.unwrap()[0], DevRule { allow: true, kind: b'a', access: 7, major: -1, minor: -1 });
        // A list entry's required fields stay required.
        for (doc, want) in [
            (r#"{"hugepageLimits":[{"pageSize":null}]}"#, "hugepageLimits[0].pageSize: missing or invalid"),
            (r#"{"blockIO":{"weightDevice":[{"major":null,"minor":0}]}}"#, "weightDevice[0]: needs major and minor"),
            (r#"{"network":{"priorities":[{"name":null}]}}"#, "priorities[0].name: expected string, got null"),
            (r#"{"devices":[{"allow":null}]}"#, "devices[0].allow: expected boolean, got null"),
            (r#"{"hugepageLimits":[null]}"#, "hugepageLimits[0]: expected object, got null"),
            (r#"{"unified":{"memory.high":null}}"#, "unified: expected string, got null"),
        ] {
            let e = err_of(doc);
            assert!(e.contains(want), "{doc}: {e}");
        }
    }

    #[test]
    fn wrong_types_name_the_field() {
        for slot in 0..SLOTS {
            let (o, k) = field(slot);
            let want = match KINDS[slot] {
                b's' => "expected string, got number",
                b'b' => "expected boolean, got number",
                _ => "got string",
            };
            let bad = if KINDS[slot] == b's' || KINDS[slot] == b'b' { "1" } else { "\"1\"" };
            let e = err_of(&format!(r#"{{"{o}":{{"{k}":{bad}}}}}"#));
            assert!(e.contains(&format!("linux.resources.{o}.{k}: ")) && e.contains(want), "{e}");
            if matches!(KINDS[slot], b'u' | b'U' | b'p') {
                let e = err_of(&format!(r#"{{"{o}":{{"{k}":-1}}}}"#));
                assert!(e.contains(&format!("linux.resources.{o}.{k}: expected a non-negative integer")), "{e}");
            }
            if !matches!(KINDS[slot], b's' | b'b') {
                let e = err_of(&format!(r#"{{"{o}":{{"{k}":1.5}}}}"#));
                assert!(e.contains(&format!("linux.resources.{o}.{k}: expected")), "{e}");
                let e = err_of(&format!(r#"{{"{o}":{{"{k}":18446744073709551616}}}}"#));
                assert!(e.contains(&format!("linux.resources.{o}.{k}: expected")), "{e}");
            }
        }
        assert!(err_of(r#"{"memory":{"swappiness":101}}"#).contains("linux.resources.memory.swappiness: must be 0..100"));
        assert!(parse_str(r#"{"memory":{"swappiness":100}}"#).is_ok());
        assert!(err_of(r#"{"cpu":{"quota":9223372036854775808}}"#).contains("linux.resources.cpu.quota: expected an integer"));
        for (doc, want) in [
            (r#"[]"#, "linux.resources: expected object, got array"),
            (r#"{"memory":[]}"#, "linux.resources.memory: expected object, got array"),
            (r#"{"pids":1}"#, "linux.resources.pids: expected object"),
            (r#"{"hugepageLimits":{}}"#, "linux.resources.hugepageLimits: expected array"),
            (r#"{"hugepageLimits":[{"limit":1}]}"#, "linux.resources.hugepageLimits[0].pageSize: missing or invalid"),
            (r#"{"hugepageLimits":[{"pageSize":"../x"}]}"#, "hugepageLimits[0].pageSize: missing or invalid"),
            (r#"{"hugepageLimits":[{"pageSize":"2MB","limit":"x"}]}"#, "hugepageLimits[0].limit: expected number"),
            (r#"{"network":{"classID":4294967296}}"#, "linux.resources.network.classID: out of range"),
            (r#"{"network":{"priorities":[{"name":"lo","priority":-1}]}}"#, "network.priorities[0].priority: expected a non-negative"),
            (r#"{"network":{"priorities":[{"name":3}]}}"#, "network.priorities[0].name: expected string"),
            (r#"{"rdma":{"m":{"hcaHandles":"1"}}}"#, "linux.resources.rdma.hcaHandles: expected number"),
            (r#"{"rdma":{"m":1}}"#, "linux.resources.rdma: expected object, got number"),
            (r#"{"unified":{"a/b":"1"}}"#, "linux.resources.unified: invalid key a/b"),
            (r#"{"unified":{"../escape":"1"}}"#, "unified: invalid key ../escape"),
            (r#"{"unified":{".hidden":"1"}}"#, "unified: invalid key .hidden"),
            (r#"{"unified":{"":"1"}}"#, "unified: invalid key"),
            (r#"{"unified":{"memory.high":1}}"#, "linux.resources.unified: expected string"),
            (r#"{"blockIO":{"weightDevice":[{"major":8}]}}"#, "blockIO.weightDevice[0]: needs major and minor"),
            (r#"{"blockIO":{"throttleWriteIOPSDevice":[{"major":8,"minor":0,"rate":-1}]}}"#, "throttleWriteIOPSDevice[0].rate: expected a non-negative"),
            (r#"{"blockIO":{"weightDevice":[{"major":-1,"minor":0}]}}"#, "weightDevice[0].major: expected a non-negative"),
            (r#"{"devices":{}}"#, "linux.resources.devices: expected array"),
            (r#"{"devices":[{"type":"x"}]}"#, "devices[0].type: must be a, c or b"),
            (r#"{"devices":[{"type":"cc"}]}"#, "devices[0].type: must be a, c or b"),
            (r#"{"devices":[{"access":"rwx"}]}"#, "devices[0].access: must be made of r, w and m"),
            (r#"{"devices":[{"major":2147483648}]}"#, "devices[0].major: must be -1 (any) or a device number below 2^31"),
            (r#"{"devices":[{"minor":-2}]}"#, "devices[0].minor: must be -1"),
            (r#"{"devices":[{"allow":1}]}"#, "devices[0].allow: expected boolean"),
        ] {
            let e = err_of(doc);
            assert!(e.contains(want), "{doc}: {e}");
        }
        let r = parse_str(r#"{"devices":[{"major":2147483647,"minor":-1,"access":""}]}"#).unwrap();
        let d = r.devices.unwrap();
        assert_eq!((d[0].major, d[0].minor, d[0].access), (0x7fff_ffff, -1, 7), "empty access means all");
    }

    #[test]
    fn bounds_at_and_one_past() {
        let n = limits::RESOURCE_LIST;
        let lists: [(&str, fn(usize) -> String); 9] = [
            ("hugepageLimits", |i| format!(r#"{{"hugepageLimits":[{}]}}"#, vec_of(i, r#"{"pageSize":"2MB"}"#))),
            ("network.priorities", |i| format!(r#"{{"network":{{"priorities":[{}]}}}}"#, vec_of(i, r#"{"name":"lo","priority":1}"#))),
            ("rdma", |i| format!(r#"{{"rdma":{{{}}}}}"#, (0..i).map(|j| format!(r#""d{j}":{{}}"#)).collect::<Vec<_>>().join(","))),
            ("unified", |i| format!(r#"{{"unified":{{{}}}}}"#, (0..i).map(|j| format!(r#""k{j}":"1""#)).collect::<Vec<_>>().join(","))),
            ("blockIO.weightDevice", |i| blk(&[("weightDevice", i)])),
            ("blockIO.throttleReadBpsDevice", |i| blk(&[("throttleReadBpsDevice", i)])),
            ("blockIO.throttleWriteBpsDevice", |i| blk(&[("throttleWriteBpsDevice", i)])),
            ("blockIO.throttleReadIOPSDevice", |i| blk(&[("throttleReadIOPSDevice", i)])),
            // The five lists share the bound: the one that passes it is named.
            ("blockIO.throttleWriteIOPSDevice", |i| blk(&[("weightDevice", i - i / 2), ("throttleWriteIOPSDevice", i / 2)])),
        ];
        for (name, doc) in lists {
            assert!(parse_str(&doc(n)).is_ok(), "{name} at {n}");
            let e = err_of(&doc(n + 1));
            assert!(e.contains(&format!("linux.resources.{name}: more than {n} entries")), "{name}: {e}");
        }
        let rules = |i: usize| format!(r#"{{"devices":[{}]}}"#, vec_of(i, r#"{"allow":true,"type":"c","major":1,"minor":3,"access":"rw"}"#));
        let r = parse_str(&rules(limits::DEVICE_RULES)).unwrap();
        let d = r.devices.unwrap();
        let all: Vec<Rule> = d.iter().map(|r| r.rule()).chain(crate::cgroup::bpf::DEFAULTS).collect();
        assert_eq!(all.len(), limits::DEVICE_RULES + 10);
        assert!(crate::cgroup::bpf::program(&all).is_some(), "the bound's rules (8 instructions each) and the defaults fit the eBPF program");
        let e = err_of(&rules(limits::DEVICE_RULES + 1));
        assert!(e.contains(&format!("linux.resources.devices: more than {} entries", limits::DEVICE_RULES)), "{e}");

        let long = |i: usize| "x".repeat(i);
        let m = limits::RESOURCE_NAME;
        let named: [(&str, fn(&str) -> String); 4] = [
            ("hugepageLimits[0].pageSize", |s| format!(r#"{{"hugepageLimits":[{{"pageSize":"{s}"}}]}}"#)),
            ("network.priorities[0].name", |s| format!(r#"{{"network":{{"priorities":[{{"name":"{s}"}}]}}}}"#)),
            ("rdma", |s| format!(r#"{{"rdma":{{"{s}":{{}}}}}}"#)),
            ("unified", |s| format!(r#"{{"unified":{{"{s}":"1"}}}}"#)),
        ];
        for (name, doc) in named {
            assert!(parse_str(&doc(&long(m))).is_ok(), "{name} at {m}");
            let e = err_of(&doc(&long(m + 1)));
            assert!(e.contains(&format!("linux.resources.{name}: longer than {m} bytes")), "{name}: {e}");
        }
    }

    fn vec_of(n: usize, item: &str) -> String {
        std::iter::repeat(item).take(n).collect::<Vec<_>>().join(",")
    }

    fn blk(lists: &[(&str, usize)]) -> String {
        let body: Vec<String> = lists
            .iter()
            .map(|(l, n)| format!(r#""{l}":[{}]"#, (0..*n).map(|j| format!(r#"{{"major":8,"minor":{j},"rate":1,"weight":1}}"#)).collect::<Vec<_>>().join(",")))
            .collect();
        format!(r#"{{"blockIO":{{{}}}}}"#, body.join(","))
    }

    #[test]
    fn duplicate_keys_are_refused() {
        for doc in [
            r#"{"memory":{"limit":1,"limit":2}}"#,
            r#"{"pids":{"limit":1},"pids":{"limit":2}}"#,
            r#"{"unified":{"memory.high":"1","memory.high":"2"}}"#,
            r#"{"rdma":{"m":{},"m":{}}}"#,
            r#"{"devices":[{"allow":true,"allow":false}]}"#,
        ] {
            assert!(err_of(doc).contains("duplicate key"), "{doc}");
        }
        // The same entry twice in a list is two entries (runc writes both; the last wins).
        assert_eq!(parse_str(r#"{"hugepageLimits":[{"pageSize":"2MB","limit":1},{"pageSize":"2MB","limit":2}]}"#).unwrap().hugepages.len(), 2);
    }

    #[test]
    fn put_reads_as_the_kinds_say() {
        let mut r = Resources::default();
        let p = P::ROOT;
        assert!(r.put(LIMIT, 0, &p).is_ok());
        assert_eq!(r.get(LIMIT), None, "0 is unset, as from JSON");
        assert!(r.put(LIMIT, -1, &p).is_ok());
        assert_eq!(r.get(LIMIT), Some(-1));
        let mut e = mote_sys::io::Buf::<256>::new();
        let Err(er) = r.put(6, 101, &p) else { panic!("101 accepted") };
        er.render(&mut e);
        assert!(e.lossy().ends_with(b"memory.swappiness: must be 0..100"));
        r.put_str(CPUS, c"1");
        assert_eq!((r.get(CPUS).is_some(), r.str(CPUS).to_bytes()), (true, &b"1"[..]));
    }
}
