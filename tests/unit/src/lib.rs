//! mote's unit tests: each included module carries its own `#[cfg(test)] mod tests`; the number
//! parser's are here (mote-sys itself is no_std and has no test harness).
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

/// hooks.rs runs processes (and needs the CLI's types): only its validation is the parser's,
/// and the fuzz leaves it out.
pub mod hooks {
    pub fn validate(_: crate::json::Val<'_>, _: &crate::spec::P) -> crate::error::Result<()> {
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
/// then spec::parse_into never panic (nor abort, nor hang: the fuzzer watches from outside), and
/// every error is a clean one, a reason and a place.
pub fn check_config(input: &[u8]) {
    let mut doc = input.to_vec();
    match json::prepare(&mut doc) {
        Err(e) => assert!(!e.what.is_empty() && e.offset <= doc.len(), "a syntax error without a reason or an offset"),
        Ok(root) => {
            assert!(root < doc.len(), "the root value past the document");
            if let Err(e) = parse(&doc, root) {
                let mut b = mote_sys::io::Buf::<1024>::new();
                e.render(&mut b);
                let Ok(m) = b.get() else { panic!("an error message over 1 KiB") };
                assert!(!m.is_empty(), "an error that says nothing");
                assert!(core::str::from_utf8(m).is_ok(), "an error message that is not UTF-8");
            }
        }
    }
}

/// The fuzzer's seeds: `mote spec`'s configs (root and rootless, from the source that writes
/// them) and tests/unit/fuzz/seeds (every field the parser reads).
pub fn seeds() -> Vec<Vec<u8>> {
    use spec_json::*;
    let mut v = vec![[HEAD, GID5, MIDDLE, SYS_ROOT, TAIL].concat().into_bytes(), [HEAD, MIDDLE, SYS_ROOTLESS, TAIL].concat().into_bytes()];
    v.extend(inputs(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds")));
    v
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
