//! mote's unit tests: each included module carries its own `#[cfg(test)] mod tests`; the number
//! parser's are here (mote-sys itself is no_std and has no test harness).
#[macro_use]
extern crate mote_sys; // t!: printed text, packed (sys/src/txt.rs)
#[path = "../../../runtime/src/cgroup/bpf.rs"]
pub mod bpf;
#[path = "../../../runtime/src/json.rs"]
pub mod json;
#[path = "../../../runtime/src/error.rs"]
pub mod error;
#[path = "../../../runtime/src/linux/resolve.rs"]
pub mod resolve;
#[path = "../../../runtime/src/spec/mod.rs"]
pub mod spec;
/// spec/resources.rs reads device rules into cgroup/bpf.rs's type.
pub mod cgroup {
    pub use crate::bpf;
}

/// cli/mod.rs's argument parser (tests/unit/build.rs takes it from the source without the
/// verbs' modules) and each verb's FLAGS table.
#[allow(dead_code)]
pub mod cli {
    include!(concat!(env!("OUT_DIR"), "/cli.rs"));
    pub mod verbs {
        use super::{flag, Flag};
        include!(concat!(env!("OUT_DIR"), "/verbs.rs"));
    }
}
pub use cli::verbs::OCI_VERSION;

/// state/mod.rs needs the whole runtime; Parsed::id's check of the id is all the CLI uses of it
/// (and the fuzz does not call it).
pub mod state {
    pub fn validate_id(_: &[u8]) -> crate::error::Result<()> {
        Ok(())
    }
}

#[path = "../../../runtime/src/cli/spec_json.rs"]
#[allow(dead_code)]
mod spec_json;

/// A prepared `doc` read by spec::parse_into into a Spec of its own (boxed: a Spec is ~190 KiB;
/// spec::parse fills the process's one Spec, once).
pub fn parse(doc: &[u8], root: usize) -> error::Result<()> {
    let mut s = Box::new(spec::Spec::empty());
    spec::parse_into(doc, root, &mut s)
}

/// What the fuzzer (src/bin/fuzz.rs) asks of the config parser for any input: json::prepare
/// then spec::parse_into (the hooks' validation too, spec/hooks.rs) never panic (nor abort, nor
/// hang: the fuzzer watches from outside), and every error is a clean one, a reason and a place.
/// A config that parses gives the state JSON its hooks would get on stdin (with the input's
/// first bytes, made UTF-8, as the bundle path): valid JSON that says what was put in, or an
/// error.
pub fn check_config(input: &[u8]) {
    let mut doc = input.to_vec();
    match json::prepare(&mut doc) {
        Err(e) => assert!(!e.what.is_empty() && e.offset <= doc.len(), "a syntax error without a reason or an offset"),
        Ok(root) => {
            assert!(root < doc.len(), "the root value past the document");
            let mut s = Box::new(spec::Spec::empty());
            match spec::parse_into(&doc, root, &mut s) {
                Err(e) => clean_error(&e, true),
                // (create refuses a bundle path that is not UTF-8: JSON cannot hold it)
                Ok(()) => check_state_json(&s, String::from_utf8_lossy(&input[..input.len().min(64)]).as_bytes()),
            }
        }
    }
}

/// An error renders to a message of at most 1 KiB that says something (in UTF-8 when `utf8`:
/// all that went in was).
fn clean_error(e: &error::Error, utf8: bool) {
    let mut b = mote_sys::io::Buf::<1024>::new();
    e.render(&mut b);
    let Ok(m) = b.get() else { panic!("an error message over 1 KiB") };
    assert!(!m.is_empty(), "an error that says nothing");
    assert!(!utf8 || core::str::from_utf8(m).is_ok(), "an error message that is not UTF-8");
}

/// spec/hooks.rs's state JSON for `s` with `bundle`: an error (too large), or a document
/// json.rs reads back with the same id, bundle and annotations.
fn check_state_json(s: &spec::Spec<'_>, bundle: &[u8]) {
    let mut b = Box::new(mote_sys::io::Buf::<{ spec::limits::STATE }>::new());
    if let Err(e) = spec::hooks::state_json(&mut b, s, b"id-1", "creating", 7, bundle) {
        return clean_error(&e, true);
    }
    let Ok(out) = b.get() else { panic!("state_json said Ok but overflowed") };
    let mut out = out.to_vec();
    let root = json::prepare(&mut out).unwrap_or_else(|e| panic!("the hooks' state JSON is not JSON: {} at {}", e.what, e.offset));
    let v = json::Val::root(&out, root);
    let get = |k: &[u8]| v.obj().unwrap().find(|(n, _)| n.to_bytes() == k).map(|(_, v)| v).unwrap();
    assert_eq!(get(b"bundle").bytes(), Some(bundle), "the state JSON's bundle");
    let ann: Vec<(&[u8], &[u8])> = get(b"annotations").obj().unwrap().map(|(k, v)| (k.to_bytes(), v.bytes().unwrap())).collect();
    let want: Vec<(&[u8], &[u8])> = s.annotations.iter().map(|(k, v)| (k.to_bytes(), v.to_bytes())).collect();
    assert_eq!(ann, want, "the state JSON's annotations");
}

/// What the fuzzer asks of the CLI parser (cli/mod.rs) for any argv (`input` split on NUL
/// bytes, after "mote"): main's walk of the global flags, then the verb's parse, never panic;
/// errors are clean; what parses keeps its bounds, and the value parsers the verbs use (numbers,
/// Go durations, runc's sizes) take every value given.
pub fn check_cli(input: &[u8]) {
    use std::ffi::CString;
    let owned: Vec<CString> = input.split(|&c| c == 0).map(|s| CString::new(s).unwrap()).collect();
    let strs: Vec<&core::ffi::CStr> = std::iter::once(c"mote").chain(owned.iter().map(|s| s.as_c_str())).collect();
    // SAFETY: `owned` (and the static "mote") outlive `a` and everything parsed from it, all
    // dropped at the end of this function.
    let a = unsafe { mote_sys::Args::new(&strs) };
    let utf8 = core::str::from_utf8(input).is_ok();
    let mut g = cli::Global { root: c"/run/mote", log: None, log_json: false, debug: false };
    let mut i = 1;
    while let Some(arg) = a.get(i) {
        if !arg.starts_with(b"-") || matches!(arg, b"-v" | b"--version" | b"-h" | b"--help") {
            break;
        }
        if let Err(e) = cli::parse_global(&a, &mut i, &mut g) {
            return clean_error(&e, utf8);
        }
    }
    use cli::verbs::*;
    // No verb: main prints the usage.
    let Some(v) = a.get(i) else { return };
    let (verb, flags, stop): (mote_sys::txt::Txt, &'static [cli::Flag], usize) = match v {
        b"create" | b"run" => (t!("create"), CREATE, usize::MAX),
        b"exec" => (t!("exec"), EXEC, 1),
        b"update" => (t!("update"), UPDATE, usize::MAX),
        b"delete" => (t!("delete"), DELETE, usize::MAX),
        b"events" => (t!("events"), EVENTS, usize::MAX),
        b"kill" => (t!("kill"), KILL, usize::MAX),
        b"list" => (t!("list"), LIST, usize::MAX),
        b"ps" => (t!("ps"), PS, 1),
        b"spec" => (t!("spec"), SPEC, usize::MAX),
        b"seccomp" => (t!("seccomp"), SECCOMP, usize::MAX),
        _ => (t!("state"), &[], usize::MAX),
    };
    let p = match cli::parse(&a, i + 1, verb, flags, &mut g, stop) {
        Ok(p) => p,
        Err(e) => return clean_error(&e, utf8),
    };
    assert!(p.pos.len() <= 8 && p.rest <= a.len() && p.rest > i, "positionals or the rest out of bounds");
    assert!(p.pos.iter().all(|x| owned.iter().any(|o| o.as_c_str() == *x)), "a positional that is no whole argument");
    for (k, f) in flags.iter().enumerate().filter(|(_, f)| f.value()) {
        assert_eq!(cli::index(flags, core::str::from_utf8(f.long()).unwrap()), k, "a flag's index by its name");
        let Some(v) = p.at(k) else { continue };
        assert_eq!(p.each_at(k).last(), Some(v), "the last value given is the flag's");
        let v = v.to_bytes();
        // Never cut: a value is a whole argument, or what follows `=` (or a short flag) in one.
        assert!(owned.iter().any(|o| o.as_bytes().ends_with(v)), "a flag value that is no argument's end");
        for r in [cli::number(v, t!("n")).map(drop), cli::duration_ms(v, t!("d")).map(drop)] {
            if let Err(e) = r {
                clean_error(&e, utf8);
            }
        }
        let _ = mote_sys::num::size(v);
    }
}

/// The fuzzer's seeds: `mote spec`'s configs (root and rootless, from the source that writes
/// them) and tests/unit/fuzz/seeds (every field the parser reads).
pub fn seeds() -> Vec<Vec<u8>> {
    use spec_json::*;
    let mut v = vec![[HEAD, GID5, MIDDLE, SYS_ROOT, TAIL].map(|t| t.to_vec()).concat(), [HEAD, MIDDLE, SYS_ROOTLESS, TAIL].map(|t| t.to_vec()).concat()];
    v.extend(inputs(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds")));
    v
}

/// The CLI fuzz's seeds: command lines as engines and users write them (the arguments after
/// "mote", NUL-separated).
pub fn cli_seeds() -> Vec<Vec<u8>> {
    [
        "--root\0/run/x\0--log\0/l\0--log-format\0json\0create\0--bundle\0/b\0--pid-file\0/p\0--console-socket\0/s\0id",
        "--root=/r\0run\0-d\0-b\0/b\0--preserve-fds\03\0--keep\0id",
        "exec\0-t\0-e\0A=B\0--env=C=D\0-u\01000:1000\0-g\05\0--cap\0CAP_KILL\0--cwd\0/\0id\0sh\0-c\0x",
        "exec\0--process\0/p.json\0--detach\0--pid-file=/p\0id",
        "update\0--memory\01.5g\0--memory-swap\0-1\0--cpu-quota\050000\0--cpu-period=100000\0--pids-limit\09\0id",
        "update\0-r\0-\0id",
        "--debug\0events\0--stats\0--interval\01m30s\0id",
        "kill\0--all\0id\0SIGTERM",
        "delete\0-f\0id",
        "list\0--format=json\0-q",
        "ps\0-f\0json\0id\0--\0-ef",
        "spec\0--rootless\0-b\0/b",
        "--systemd-cgroup\0--cgroup-manager\0cgroupfs\0start\0id",
        "seccomp\0--bundle\0/b\0--raw",
        "state\0id\0--\0x",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect()
}

/// The files of `dir`, in name order.
pub fn inputs(dir: &std::path::Path) -> Vec<Vec<u8>> {
    let mut es: Vec<_> = std::fs::read_dir(dir).into_iter().flatten().flatten().map(|e| e.path()).collect();
    es.sort();
    es.iter().filter_map(|e| std::fs::read(e).ok()).collect()
}

/// The fuzzer's finds, kept: tests/unit/fuzz/crashes holds every input that once crashed the
/// parser (each fixed since), and the seeds must parse whole.
#[cfg(test)]
mod fuzz {
    #[test]
    fn seeds_parse_whole() {
        for s in super::seeds() {
            let mut d = s.clone();
            let root = crate::json::prepare(&mut d).unwrap_or_else(|e| panic!("seed: {} at {}", e.what, e.offset));
            if let Err(e) = super::parse(&d, root) {
                let mut b = mote_sys::io::Buf::<1024>::new();
                e.render(&mut b);
                panic!("seed: {}", String::from_utf8_lossy(b.lossy()));
            };
        }
    }

    #[test]
    fn crashes_found_by_the_fuzzer_stay_fixed() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/crashes");
        let all = super::inputs(&dir);
        for c in &all {
            super::check_config(c);
        }
        eprintln!("fuzz: {} regression inputs from {} checked", all.len(), dir.display());
    }

    #[test]
    fn cli_crashes_found_by_the_fuzzer_stay_fixed() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/crashes-cli");
        let all = super::inputs(&dir);
        for c in super::cli_seeds().iter().chain(&all) {
            super::check_cli(c);
        }
        eprintln!("fuzz: {} CLI regression inputs from {} checked", all.len(), dir.display());
    }
}

#[cfg(test)]
mod num {
    use mote_sys::num::{i64, parse, u64};

    #[test]
    fn edges() {
        assert_eq!(u64(b"0"), Some(0));
        assert_eq!(u64(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(u64(b"18446744073709551616"), None);
        assert_eq!(u64(b"99999999999999999999"), None);
        for bad in [&b""[..], b"-1", b"+1", b" 1", b"1 ", b"1a", b"0x10", b"1.0", b"\xff"] {
            assert_eq!(u64(bad), None, "{bad:?}");
        }
        assert_eq!(i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(i64(b"9223372036854775808"), None);
        assert_eq!(i64(b"-9223372036854775809"), None);
        assert_eq!(i64(b"-"), None);
        assert_eq!(i64(b"--1"), None);
        assert_eq!(parse::<u32>(b"4294967295"), Some(u32::MAX));
        assert_eq!(parse::<u32>(b"4294967296"), None);
        assert_eq!(parse::<i32>(b"2147483648"), None);
        assert_eq!(parse::<u8>(b"255"), Some(255));
    }

    /// runc's update flags read sizes with go-units' RAMInBytes; the expected values are what
    /// `runc update --memory X` wrote to memory.limit_in_bytes here (test_resources_files.py
    /// checks mote's writes against runc's on a few of them).
    #[test]
    fn sizes_as_runc_reads_them() {
        use mote_sys::num::size;
        for (s, want) in [
            ("0", 0), ("100", 100), ("100b", 100), ("100B", 100), ("1k", 1024), ("1K", 1024), ("1kb", 1024), ("1KiB", 1024),
            ("1ki", 1024), ("512m", 512 << 20), ("512MiB", 512 << 20), ("1GB", 1 << 30), ("1g", 1 << 30), ("2t", 2 << 40),
            ("3P", 3 << 50), ("1.5g", 3 << 29), ("0.5k", 512), ("0.1k", 102), ("64 kb", 64 << 10), ("1ib", 1),
            ("1.0000000000000000000001m", 1 << 20), ("8191p", 8191 << 50), ("9223372036854775807", i64::MAX),
        ] {
            assert_eq!(size(s.as_bytes()), Ok(want), "{s}");
        }
        for bad in ["", "k", "-1", "-1k", "1x", "1kk", "1bi", "1.k", ".5k", "1.2.3", "1  k", " 1k", "1k ", "0x10", "1e3", "1,5g"] {
            assert_eq!(size(bad.as_bytes()), Err(false), "{bad}");
        }
        for big in ["8192p", "9223372036854775808", "99999999999999999999", "18446744073709551615b", "9007199254740992k"] {
            assert_eq!(size(big.as_bytes()), Err(true), "{big}");
        }
    }

    /// size's fraction by bit-wise long division against the u128 formula it replaced
    /// (fraction * 2^shift / 10^digits), for every unit and fractions of 1 to 18 digits.
    #[test]
    fn size_fractions_match_u128_division() {
        use mote_sys::num::size;
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for (i, unit) in ["", "k", "m", "g", "t", "p"].iter().enumerate() {
            for digits in 1..=18u32 {
                for _ in 0..200 {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let f = x % 10u64.pow(digits);
                    let s = format!("3.{f:0width$}{unit}", width = digits as usize);
                    let want = (3u128 << (10 * i)) + ((f as u128) << (10 * i)) / 10u128.pow(digits);
                    assert_eq!(size(s.as_bytes()), Ok(want as i64), "{s}");
                }
            }
        }
    }

    #[test]
    fn limits_are_coherent() {
        use crate::spec::limits::*;
        // The default cgroup path /mote/<id> fits the cgroup bound with the longest id; a state
        // dir path with the longest id leaves room for --root.
        assert!("/mote/".len() + ID <= CGROUP_PATH);
        assert!(ID < PATH && CGROUP_PATH < PATH && SYSCTL_KEY < PATH);
        assert!(ANNOTATIONS < JSON_KEYS, "an annotations object must pass the duplicate check");
        assert!(PRESERVE_FDS < i32::MAX as usize - 3);
        assert!(STATE <= CONFIG_BYTES);
    }
}

/// sys/src/mem.rs: the .bss buffers that keep big values out of stack frames.
#[cfg(test)]
mod text {
    use mote_sys::io::Buf;

    /// Text::cstr: the bytes with a NUL after them; refused when a NUL is inside, when nothing
    /// is left for the NUL, or after an overflow. Text::cwd: getcwd into the room left.
    #[test]
    fn cstr_and_cwd() {
        let mut b = Buf::<8>::new();
        assert_eq!(b.s(b"abc").cstr().ok(), Some(c"abc"));
        assert_eq!(b.len(), 3);
        assert!(b.s(b"\0d").cstr().is_err());
        let mut full = Buf::<4>::new();
        assert!(full.s(b"abcd").cstr().is_err());
        let mut over = Buf::<4>::new();
        over.s(b"abcde");
        assert!(over.cstr().is_err());
        let mut empty = Buf::<1>::new();
        assert_eq!(empty.cstr().ok(), Some(c""));
        let mut d = Buf::<4096>::new();
        d.cwd().unwrap();
        assert!(!d.overflowed());
        assert_eq!(d.lossy(), std::env::current_dir().unwrap().as_os_str().as_encoded_bytes());
        let mut small = Buf::<2>::new();
        assert_eq!(small.cwd(), Err(mote_sys::rustix::io::Errno::RANGE));
        assert!(small.is_empty());
    }
}

#[cfg(test)]
mod mem {
    use mote_sys::mem::{Pool, Slot};

    #[test]
    fn pool_lends_to_one_holder_at_a_time() {
        static P: Pool<[u8; 8]> = Pool::new([0; 8]);
        let mut a = P.get().expect("free at first");
        a[0] = 1;
        assert!(P.get().is_none(), "lent twice");
        drop(a);
        assert_eq!(P.get().expect("free again once given back")[0], 1);
    }

    #[test]
    fn slot_is_handed_out_once() {
        static S: Slot<u32> = Slot::new();
        assert_eq!(*S.take(|| 7).expect("first take"), 7);
        assert!(S.take(|| 8).is_none(), "taken twice");
        assert!(mote_sys::mem::take_arena().is_some_and(|a| a.len() == mote_sys::mem::ARENA && a.iter().all(|&b| b == 0)));
        assert!(mote_sys::mem::take_arena().is_none(), "arena taken twice");
    }
}

/// Packed text (sys/src/txt.rs): every dictionary word packs and expands back to itself, and so
/// do texts that use many words, none, or one at their ends.
#[test]
fn txt_round_trip() {
    use mote_sys::txt::{code, index, len, pack, word, Txt, DICT, LONGEST};
    /// Packed bytes as a Txt (with the NUL it ends in).
    fn txt(b: &[u8]) -> Txt {
        Txt::new(std::boxed::Box::leak([b, &[0]].concat().into_boxed_slice()))
    }
    fn round(s: &str) -> usize {
        let (b, n) = pack::<2048>(s);
        let packed = txt(&b[..n]);
        assert_eq!(packed.bytes(), &b[..n]);
        assert_eq!(packed.to_vec(), s.as_bytes(), "{s:?}");
        assert_eq!(len(packed.bytes()), s.len());
        assert_eq!(packed.is_empty(), s.is_empty());
        n
    }
    for k in 0..157 {
        assert_eq!(index(code(k)), Some(k));
    }
    assert_eq!((0..=255u8).filter(|&c| index(c).is_none()).count(), 256 - 157);
    let words = DICT.iter().filter(|&&c| c == 0).count();
    assert!((1..=157).contains(&words), "{words} words, 157 codes");
    for k in 0..words {
        let w = txt(word(k)).to_vec();
        assert!(w.len() <= LONGEST);
        assert!(!w.is_empty() && w.iter().all(|&c| c != 0 && index(c).is_none()), "word {k}: {w:?}");
        assert!(round(std::str::from_utf8(&w).unwrap()) < w.len(), "word {k} does not pack");
    }
    for s in ["", "x", "cgroup", "container cgroup container", "not a number", "the container's cgroup: not found",
              "\tunknown flag\n", "spec/limits.rs spec/limits.rs", "ee  tt"] {
        round(s);
    }
    assert_eq!(t!("see mote --help").to_vec(), b"see mote --help");
    assert_eq!(t!("").to_vec(), b"");
    assert!(t!("container cgroup").bytes().len() < "container cgroup".len());
}
