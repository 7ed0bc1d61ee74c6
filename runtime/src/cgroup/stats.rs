//! Statistics for `events`, in runc's JSON shape (cpu, memory, pids, blkio), from the v1
//! controllers or the v2 tree.

use mote_sys::io::{Buf, Text};

use super::{on, read_file, resources::Layout, PATH, ROOT};

/// A file of cgroup `path`: on v1 under the controller its name starts with.
#[inline(never)]
fn file(path: &[u8], name: &[u8], v2: bool) -> Buf<{ PATH + 128 }> {
    let mut f = Buf::new();
    f.s(ROOT);
    if !v2 {
        f.c(b'/').s(&name[..name.iter().position(|&c| c == b'.').unwrap_or(0)]);
    }
    f.s(path).c(b'/').s(name);
    f
}

/// The number at the start of `b` (0 when there is none).
#[inline(never)]
fn parse(b: &[u8]) -> u64 {
    let n = b.iter().take_while(|c| c.is_ascii_digit()).count();
    mote_sys::num::u64(&b[..n]).unwrap_or(0)
}

/// A file's first number, or with a `key` its value in a "key value" lines file (memory.stat,
/// cpu.stat, cpuacct.stat); 0 when missing, "max" is u64::MAX as runc reports it.
#[inline(never)]
fn value(path: &[u8], name: &[u8], key: &[u8], v2: bool) -> u64 {
    let mut b = [0u8; 8192];
    if name.is_empty() {
        return 0;
    }
    let Ok(n) = read_file(file(path, name, v2).cstr(), &mut b) else { return 0 };
    let b = &b[..n];
    if key.is_empty() {
        return if b.starts_with(b"max") { u64::MAX } else { parse(b) };
    }
    for line in on(b, b'\n') {
        if let Some(rest) = line.strip_prefix(key) {
            if rest.first() == Some(&b' ') {
                return parse(&rest[1..]);
            }
        }
    }
    0
}

/// The numbers of the stats object in order, five NUL-ended fields each: the JSON before it, its
/// v1 file and key, its v2 file and key (no key: the file's first number; no file: 0). A v2
/// `*_usec` key is scaled to nanoseconds; v1's cpuacct.stat is in USER_HZ (100 per second on
/// Linux); a pids.max of "max" is 0. The percpu list comes before row 1, memory.stat's before row 10.
const ROWS: &[u8] = b"{\"cpu\":{\"usage\":{\"total\":\0cpuacct.usage\0\0cpu.stat\0usage_usec\0\
],\"kernel\":\0cpuacct.stat\0system\0cpu.stat\0system_usec\0\
,\"user\":\0cpuacct.stat\0user\0cpu.stat\0user_usec\0\
},\"throttling\":{\"periods\":\0cpu.stat\0nr_periods\0cpu.stat\0nr_periods\0\
,\"throttled_periods\":\0cpu.stat\0nr_throttled\0cpu.stat\0nr_throttled\0\
,\"throttled_time\":\0cpu.stat\0throttled_time\0cpu.stat\0throttled_usec\0\
}},\"memory\":{\"usage\":{\"usage\":\0memory.usage_in_bytes\0\0memory.current\0\0\
,\"max\":\0memory.max_usage_in_bytes\0\0memory.peak\0\0\
,\"limit\":\0memory.limit_in_bytes\0\0memory.max\0\0\
,\"failcnt\":\0memory.failcnt\0\0\0\0\
\"pids\":{\"current\":\0pids.current\0\0pids.current\0\0\
,\"limit\":\0pids.max\0\0pids.max\0\0";

/// Appends the stats object of cgroup `path`.
pub fn json(o: &mut Text, path: &[u8]) {
    let v2 = Layout::detect().v2;
    let mut f = ROWS.split(|&c| c == 0);
    let mut i = 0;
    while let (Some(text), Some(n1), Some(k1), Some(n2), Some(k2)) = (f.next(), f.next(), f.next(), f.next(), f.next()) {
        if i == 1 {
            o.s(br#","percpu":["#);
            let mut b = [0u8; 4096];
            let n = if v2 { 0 } else { read_file(file(path, b"cpuacct.usage_percpu", false).cstr(), &mut b).unwrap_or(0) };
            // One line of numbers (the kernel's), its newline at the end.
            for (i, x) in on(b[..n].trim_ascii_end(), b' ').filter(|x| !x.is_empty()).enumerate() {
                if i > 0 {
                    o.c(b',');
                }
                o.u(parse(x));
            }
        }
        if i == 10 {
            raw(o, path, v2);
        }
        i += 1;
        let (name, key) = if v2 { (n2, k2) } else { (n1, k1) };
        let mut x = value(path, name, key, v2);
        if v2 && key.ends_with(b"_usec") {
            x = x.saturating_mul(1000);
        }
        if !v2 && name == b"cpuacct.stat" {
            x = x.saturating_mul(10_000_000);
        }
        if name == b"pids.max" && x == u64::MAX {
            x = 0;
        }
        o.s(text).u(x);
    }
    o.s(b"},");
    // blkio: bytes per device and operation
    o.s(br#""blkio":{"ioServiceBytesRecursive":["#);
    let mut b = [0u8; 8192];
    let f = file(path, if v2 { b"io.stat" } else { b"blkio.throttle.io_service_bytes_recursive" }, v2);
    let mut f = f;
    if let Ok(n) = read_file(f.cstr(), &mut b) {
        let mut first = true;
        // v1: "MAJ:MIN Op value" lines; v2: "MAJ:MIN rbytes=N wbytes=N rios=N ..." (bytes only).
        for line in on(&b[..n], b'\n') {
            let mut w = on(line, b' ');
            let Some(dev) = w.next() else { continue };
            let mut mm = on(dev, b':');
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

/// memory.stat as the "raw" object, closing the memory object.
#[inline(never)]
fn raw(o: &mut Text, path: &[u8], v2: bool) {
    o.s(br#"},"raw":{"#);
    let mut b = [0u8; 8192];
    if let Ok(n) = read_file(file(path, b"memory.stat", v2).cstr(), &mut b) {
        let mut first = true;
        for line in on(&b[..n], b'\n') {
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
}
