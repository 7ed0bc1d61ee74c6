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

/// A bounded-time mutation fuzz of the whole config parser (json::prepare, then spec::parse):
/// never a panic, whatever the bytes. Stable Rust, no coverage guidance (cargo-fuzz needs a
/// nightly toolchain with libFuzzer's runtime); MOTE_FUZZ_SECS sets the time (default 3).
#[cfg(test)]
mod fuzz {
    const SEED: &str = include_str!("seed.json");

    struct Rng(u64);
    impl Rng {
        fn next(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n.max(1) as u64) as usize
        }
    }

    const TOKENS: &[&[u8]] = &[b"{", b"}", b"[", b"]", b",", b":", b"\"", b"\\u", b"\\ud83d", b"-", b"0", b"1e9",
        b"99999999999999999999", b"null", b"true", b"\"args\"", b"\"type\"", b"\"limit\"", b"\xff", b"\x00", b"-1"];

    #[test]
    fn config_parser_never_panics() {
        let secs: u64 = std::env::var("MOTE_FUZZ_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(3);
        let end = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        let mut g = Rng(0x2545_f491_4f6c_dd1d);
        let (mut runs, mut parsed) = (0u64, 0u64);
        let mut corpus: Vec<Vec<u8>> = vec![SEED.as_bytes().to_vec()];
        while std::time::Instant::now() < end {
            let mut b = corpus[g.next(corpus.len())].clone();
            for _ in 0..1 + g.next(4) {
                let at = g.next(b.len() + 1);
                match g.next(5) {
                    0 if !b.is_empty() => {
                        let i = at.min(b.len() - 1);
                        b[i] = g.next(256) as u8;
                    }
                    1 if at < b.len() => {
                        let n = g.next(16).min(b.len() - at);
                        b.drain(at..at + n);
                    }
                    2 => {
                        let t = TOKENS[g.next(TOKENS.len())];
                        b.splice(at..at, t.iter().copied());
                    }
                    3 if at < b.len() => {
                        // duplicate a span (repeated keys, deeper nesting)
                        let n = g.next(64).min(b.len() - at);
                        let span: Vec<u8> = b[at..at + n].to_vec();
                        b.splice(at..at, span);
                    }
                    _ => {}
                }
            }
            runs += 1;
            let mut doc = b.clone();
            if let Ok(root) = crate::json::prepare(&mut doc) {
                // A Spec is ~175 KiB: boxed, as the test thread's stack is not mote's.
                let mut s = Box::new(crate::spec::Spec::empty());
                if crate::spec::parse_into(&doc, root, &mut s).is_ok() {
                    parsed += 1;
                    if corpus.len() < 256 {
                        corpus.push(b); // keep what still parses: mutations go deeper from there
                    }
                }
            }
        }
        eprintln!("fuzz: {runs} configs in {secs}s, {parsed} parsed whole");
        assert!(runs > 1000 && parsed > 0);
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
