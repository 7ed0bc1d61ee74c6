//! Statistics for `events`, in runc's JSON shape (cpu, memory, pids, blkio), from the v1
//! controllers or the v2 tree.

use mote_sys::io::{Buf, Text};

use super::{read_file, resources::Layout, PATH, ROOT};

#[inline(never)]
fn file(ctl: &str, path: &[u8], name: &[u8], v2: bool) -> Buf<{ PATH + 128 }> {
    let mut f = Buf::new();
    f.s(ROOT);
    if !v2 {
        f.c(b'/').s(ctl);
    }
    f.s(path).c(b'/').s(name);
    f
}

/// A file's first number (0 when missing; "max" is u64::MAX as runc reports it).
#[inline(never)]
fn number(ctl: &str, path: &[u8], name: &[u8], v2: bool) -> u64 {
    let mut b = [0u8; 64];
    let Ok(n) = read_file(file(ctl, path, name, v2).cstr(), &mut b) else { return 0 };
    if b[..n].starts_with(b"max") {
        return u64::MAX;
    }
    parse(&b[..n])
}

/// The number at the start of `b` (0 when there is none).
#[inline(never)]
fn parse(b: &[u8]) -> u64 {
    let n = b.iter().take_while(|c| c.is_ascii_digit()).count();
    mote_sys::num::u64(&b[..n]).unwrap_or(0)
}

/// The value of `key` in a "key value" lines file (memory.stat, cpu.stat, cpuacct.stat).
#[inline(never)]
fn keyed(ctl: &str, path: &[u8], name: &[u8], key: &[u8], v2: bool) -> u64 {
    let mut b = [0u8; 8192];
    let Ok(n) = read_file(file(ctl, path, name, v2).cstr(), &mut b) else { return 0 };
    for line in b[..n].split(|&c| c == b'\n') {
        if let Some(rest) = line.strip_prefix(key) {
            if rest.first() == Some(&b' ') {
                return parse(&rest[1..]);
            }
        }
    }
    0
}

/// Appends the stats object of cgroup `path`.
pub fn json(o: &mut Text, path: &[u8]) {
    let v2 = Layout::detect().v2;
    // cpu: nanoseconds
    let (total, user, kernel) = if v2 {
        (keyed("", path, b"cpu.stat", b"usage_usec", true).saturating_mul(1000), keyed("", path, b"cpu.stat", b"user_usec", true).saturating_mul(1000),
         keyed("", path, b"cpu.stat", b"system_usec", true).saturating_mul(1000))
    } else {
        // cpuacct.stat is in USER_HZ (100 per second on Linux)
        (number("cpuacct", path, b"cpuacct.usage", false), keyed("cpuacct", path, b"cpuacct.stat", b"user", false) * 10_000_000,
         keyed("cpuacct", path, b"cpuacct.stat", b"system", false) * 10_000_000)
    };
    o.s(br#"{"cpu":{"usage":{"total":"#).u(total).s(br#","percpu":["#);
    if !v2 {
        let mut b = [0u8; 4096];
        if let Ok(n) = read_file(file("cpuacct", path, b"cpuacct.usage_percpu", false).cstr(), &mut b) {
            for (i, x) in b[..n].split(|&c| c == b' ' || c == b'\n').filter(|x| !x.is_empty()).enumerate() {
                if i > 0 {
                    o.c(b',');
                }
                o.u(parse(x));
            }
        }
    }
    o.s(br#"],"kernel":"#).u(kernel).s(br#","user":"#).u(user).s(b"},");
    let ctl = if v2 { "" } else { "cpu" };
    o.s(br#""throttling":{"periods":"#).u(keyed(ctl, path, b"cpu.stat", b"nr_periods", v2));
    o.s(br#","throttled_periods":"#).u(keyed(ctl, path, b"cpu.stat", b"nr_throttled", v2));
    let tt = if v2 { keyed("", path, b"cpu.stat", b"throttled_usec", true).saturating_mul(1000) } else { keyed("cpu", path, b"cpu.stat", b"throttled_time", false) };
    o.s(br#","throttled_time":"#).u(tt).s(b"}},");
    // memory
    let (usage, max, limit, failcnt) = if v2 {
        (number("", path, b"memory.current", true), number("", path, b"memory.peak", true), number("", path, b"memory.max", true), 0)
    } else {
        (number("memory", path, b"memory.usage_in_bytes", false), number("memory", path, b"memory.max_usage_in_bytes", false),
         number("memory", path, b"memory.limit_in_bytes", false), number("memory", path, b"memory.failcnt", false))
    };
    o.s(br#""memory":{"usage":{"usage":"#).u(usage).s(br#","max":"#).u(max).s(br#","limit":"#).u(limit);
    o.s(br#","failcnt":"#).u(failcnt).s(br#"},"raw":{"#);
    let mut b = [0u8; 8192];
    if let Ok(n) = read_file(file("memory", path, b"memory.stat", v2).cstr(), &mut b) {
        let mut first = true;
        for line in b[..n].split(|&c| c == b'\n') {
            let mut kv = line.splitn(2, |&c| c == b' ');
            if let (Some(k), Some(v)) = (kv.next(), kv.next()) {
                if !first {
                    o.c(b',');
                }
                first = false;
                o.json(k).c(b':').u(parse(v));
            }
        }
    }
    o.s(b"}},");
    // pids
    let ctl = if v2 { "" } else { "pids" };
    o.s(br#""pids":{"current":"#).u(number(ctl, path, b"pids.current", v2));
    let lim = number(ctl, path, b"pids.max", v2);
    o.s(br#","limit":"#).u(if lim == u64::MAX { 0 } else { lim }).s(b"},");
    // blkio: bytes per device and operation
    o.s(br#""blkio":{"ioServiceBytesRecursive":["#);
    let mut b = [0u8; 8192];
    let f = if v2 { file("", path, b"io.stat", true) } else { file("blkio", path, b"blkio.throttle.io_service_bytes_recursive", false) };
    let mut f = f;
    if let Ok(n) = read_file(f.cstr(), &mut b) {
        let mut first = true;
        // v1: "MAJ:MIN Op value" lines; v2: "MAJ:MIN rbytes=N wbytes=N rios=N ..." (bytes only).
        for line in b[..n].split(|&c| c == b'\n') {
            let mut w = line.split(|&c| c == b' ');
            let Some(dev) = w.next() else { continue };
            let mut mm = dev.split(|&c| c == b':');
            let (Some(ma), Some(mi)) = (mm.next(), mm.next()) else { continue };
            let mut entry = |op: &[u8], val: &[u8]| {
                if !first {
                    o.c(b',');
                }
                first = false;
                o.s(br#"{"major":"#).u(parse(ma)).s(br#","minor":"#).u(parse(mi)).s(br#","op":"#).json(op);
                o.s(br#","value":"#).u(parse(val)).c(b'}');
            };
            if v2 {
                for kv in w {
                    match kv.split_at(kv.iter().position(|&c| c == b'=').unwrap_or(kv.len())) {
                        (b"rbytes", v) => entry(b"Read", &v[1..]),
                        (b"wbytes", v) => entry(b"Write", &v[1..]),
                        _ => {}
                    }
                }
            } else if let (Some(op), Some(val)) = (w.next(), w.next()) {
                entry(op, val);
            }
        }
    }
    o.s(b"]}}");
}
