//! A coverage-guided fuzzer of the config parser (json::prepare, then spec::parse_into: the hooks'
//! validation and the state JSON they get too) and of the command-line parser (cli/mod.rs), on
//! stable Rust.
//!
//! cargo-fuzz needs a nightly toolchain and libFuzzer's runtime (libfuzzer-sys), neither of which
//! this build has. LLVM's SanitizerCoverage pass is reachable through stable flags, though, so the
//! harness is built with
//!   RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=3
//!              -Cllvm-args=-sanitizer-coverage-inline-8bit-counters"
//! (tests/test_unit.py does it): every edge of the parser gets an 8-bit counter, the pass hands
//! their ranges to `__sanitizer_cov_8bit_counters_init` below, and the loop keeps an input when it
//! makes a counter reach a hit-count bucket (1, 2, 3, 4-7, 8-15, 16-31, 32-127, 128+) no earlier
//! input reached. Built without those flags it has no counters and says so.
//!
//! The fuzzing runs in a worker process (this program again, MOTE_FUZZ_WORKER set) so that a
//! panic, an abort, a signal or a hang is seen from outside: the worker copies every input into a
//! file it shares with the supervisor (mmap, no syscall per run) before parsing it. The supervisor
//! saves a crashing input (one per distinct panic location) in OUT/crashes, restarts the worker on
//! the corpus kept so far in OUT/corpus, and exits 1 when it found any.
//!
//! Mutations: bit flips, bytes, deletions, repeated spans, splices from another corpus entry,
//! escapes, numbers at the edges of every integer type, and JSON-aware ones: a string's contents
//! or a number replaced, a member `"word": value` or an element added to an object or array, the
//! words from a dictionary: every word of every string literal in runtime/src/spec (keys, enum
//! names: so a field added there is fuzzed without a change here) and the seeds' strings.
//! Seeds: `mote spec`'s two configs (from cli/spec_json.rs) and tests/unit/fuzz/seeds.
//! What is checked of each input: mote_unit::check_config (no panic, every error a clean one);
//! the profile `fuzz` keeps overflow checks on, so arithmetic overflow on input is a crash too.
//!
//! `--target cli`: the input is argv after "mote", its arguments split on NUL bytes (as the
//! kernel hands them over: C strings); checked by mote_unit::check_cli. Seeds: engines' command
//! lines (mote_unit::cli_seeds); dictionary: the string literals of runtime/src/cli (flag names,
//! verbs), inserted as whole arguments (`--name`, `-n`, `--name=value`). Its corpus and crashes
//! go to OUT/cli.
//!
//! Usage: fuzz [--secs N] [--out DIR] [--target config|cli] [--plain] [SEED_DIR_OR_FILE...]
//!   --secs: how long (default 20); --out: corpus, crashes (default $TMPDIR/mote-fuzz);
//!   --plain: the earlier blind mutation fuzz (its mutations, a corpus of what parses whole),
//!            measured the same way, for comparison.
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

use mote_unit::json;

const MAX_INPUT: usize = 128 << 10;
const MSG: usize = 512;
/// The shared file: execs, edges, input length, message length (u64 each), message, input.
const HDR: usize = 32;
const SHARED: usize = HDR + MSG + MAX_INPUT;

// --- SanitizerCoverage's 8-bit counters: up to 256 modules (one per codegen unit).
static REGIONS: [AtomicUsize; 512] = [const { AtomicUsize::new(0) }; 512];
static NREGIONS: AtomicUsize = AtomicUsize::new(0);

/// Called by each instrumented module's constructor, before main.
#[no_mangle]
pub extern "C" fn __sanitizer_cov_8bit_counters_init(start: *mut u8, stop: *mut u8) {
    let i = NREGIONS.fetch_add(1, Relaxed);
    if i < 256 && start < stop {
        REGIONS[2 * i].store(start as usize, Relaxed);
        REGIONS[2 * i + 1].store(stop as usize - start as usize, Relaxed);
    }
}

fn counters() -> Vec<&'static mut [u8]> {
    (0..NREGIONS.load(Relaxed).min(256))
        .filter_map(|i| {
            let (p, n) = (REGIONS[2 * i].load(Relaxed), REGIONS[2 * i + 1].load(Relaxed));
            // SAFETY: the pass's own static arrays, alive for the whole program; only this
            // thread runs instrumented code, and these slices are only used between runs.
            (n > 0).then(|| unsafe { std::slice::from_raw_parts_mut(p as *mut u8, n) })
        })
        .collect()
}

fn bucket(c: u8) -> u8 {
    match c {
        0 => 0,
        1 => 1,
        2 => 2,
        3 => 4,
        4..=7 => 8,
        8..=15 => 16,
        16..=31 => 32,
        32..=127 => 64,
        _ => 128,
    }
}

// --- the input shared with the supervisor
extern "C" {
    fn mmap(addr: *mut u8, len: usize, prot: i32, flags: i32, fd: i32, off: i64) -> *mut u8;
}

fn map_shared(path: &Path) -> &'static mut [u8] {
    use std::os::fd::AsRawFd;
    let f = fs::OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path).unwrap();
    f.set_len(SHARED as u64).unwrap();
    // SAFETY: a new mapping (PROT_READ|PROT_WRITE, MAP_SHARED) of a file of SHARED bytes; it
    // outlives the fd and is never unmapped.
    let p = unsafe { mmap(std::ptr::null_mut(), SHARED, 3, 1, f.as_raw_fd(), 0) };
    assert!(p as isize != -1, "mmap {}", path.display());
    // SAFETY: SHARED bytes, mapped above, for the rest of the process.
    unsafe { std::slice::from_raw_parts_mut(p, SHARED) }
}

fn get(s: &[u8], i: usize) -> u64 {
    u64::from_le_bytes(s[8 * i..8 * i + 8].try_into().unwrap())
}
fn set(s: &mut [u8], i: usize, v: u64) {
    s[8 * i..8 * i + 8].copy_from_slice(&v.to_le_bytes());
}

struct Rng(u64);
impl Rng {
    fn n(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}

/// The old plain fuzz's tokens and mutations, for --plain.
const TOKENS: &[&[u8]] = &[b"{", b"}", b"[", b"]", b",", b":", b"\"", b"\\u", b"\\ud83d", b"-", b"0", b"1e9",
    b"99999999999999999999", b"null", b"true", b"\"args\"", b"\"type\"", b"\"limit\"", b"\xff", b"\x00", b"-1"];

fn plain_mutate(g: &mut Rng, b: &mut Vec<u8>) {
    for _ in 0..1 + g.n(4) {
        let at = g.n(b.len() + 1);
        match g.n(5) {
            0 if !b.is_empty() => {
                let i = at.min(b.len() - 1);
                b[i] = g.n(256) as u8;
            }
            1 if at < b.len() => {
                let n = g.n(16).min(b.len() - at);
                b.drain(at..at + n);
            }
            2 => {
                let t = TOKENS[g.n(TOKENS.len())];
                b.splice(at..at, t.iter().copied());
            }
            3 if at < b.len() => {
                let n = g.n(64).min(b.len() - at);
                let span: Vec<u8> = b[at..at + n].to_vec();
                b.splice(at..at, span);
            }
            _ => {}
        }
    }
}

const NUMBERS: &[&[u8]] = &[b"0", b"-0", b"1", b"-1", b"2", b"3", b"5", b"7", b"8", b"63", b"64", b"255", b"256", b"1023", b"1024", b"4095",
    b"65535", b"65536", b"2147483647", b"2147483648", b"-2147483648", b"-2147483649", b"4294967295", b"4294967296",
    b"9223372036854775807", b"9223372036854775808", b"-9223372036854775808", b"-9223372036854775809",
    b"18446744073709551615", b"18446744073709551616", b"1e308", b"1e309", b"-1e309", b"0.5", b"1.0", b"1e2", b"1E-400",
    b"9007199254740993", b"0777", b"00"];
const BYTES: &[u8] = b"{}[]\",:\\0123456789-+.eEtrufalsn \n\x00\x01\x1f\x7f\x80\xbf\xc0\xc3\xed\xf4\xff";
const ESCAPES: &[&[u8]] = &[b"\\u0000", b"\\ud800", b"\\udc00", b"\\ud83d\\ude00", b"\\ud83d", b"\\\"", b"\\\\", b"\\/",
    b"\\n", b"\\u00e9", b"\\uFFFF", b"\\x", b"\\u12"];

/// A byte range of a token of the JSON text around `at`: a string's contents or a number.
fn token_at(b: &[u8], at: usize, string: bool) -> Option<(usize, usize)> {
    let (mut i, mut n) = (at.min(b.len()), 0);
    while i < b.len() && n < 256 {
        if string && b[i] == b'"' {
            let s = i + 1;
            let e = s + b[s..].iter().position(|&c| c == b'"')?;
            return Some((s, e));
        }
        if !string && (b[i].is_ascii_digit() || b[i] == b'-') && (i == 0 || !b[i - 1].is_ascii_alphanumeric()) {
            let e = i + 1 + b[i + 1..].iter().position(|c| !b"0123456789.eE+-".contains(c)).unwrap_or(b.len() - i - 1);
            return Some((i, e));
        }
        i += 1;
        n += 1;
    }
    None
}

fn mutate(g: &mut Rng, b: &mut Vec<u8>, dict: &[Vec<u8>], other: &[u8], cli: bool) {
    for _ in 0..1 << g.n(4) {
        let at = g.n(b.len() + 1);
        let len = b.len();
        match g.n(15) {
            0 if at < len => b[at] ^= 1 << g.n(8),
            1 if at < len => b[at] = BYTES[g.n(BYTES.len())],
            2 if at < len => {
                let max = if g.n(4) == 0 { 256 } else { 8 };
                b.drain(at..at + (1 + g.n(max)).min(len - at));
            }
            // a whole argument: --word, -w, --word=value, word
            3 if cli => {
                let w = &dict[g.n(dict.len())];
                let at = if g.n(2) == 0 { b[..at].iter().rposition(|&c| c == 0).map_or(0, |i| i + 1) } else { at };
                let mut t = [&b"--"[..], b"-", b""][g.n(3)].to_vec();
                t.extend_from_slice(if t.len() == 1 { &w[..1] } else { w });
                match g.n(4) {
                    0 => t.extend([&b"="[..], NUMBERS[g.n(NUMBERS.len())]].concat()),
                    1 => t.extend([&b"\0"[..], NUMBERS[g.n(NUMBERS.len())]].concat()),
                    _ => {}
                }
                t.push(0);
                b.splice(at..at, t);
            }
            3 => {
                let w = &dict[g.n(dict.len())];
                let q = g.n(2) == 0;
                let mut t = Vec::with_capacity(w.len() + 2);
                if q {
                    t.push(b'"');
                }
                t.extend_from_slice(w);
                if q {
                    t.push(b'"');
                }
                b.splice(at..at, t);
            }
            // a string's contents, or a number, replaced by a word or a number at the edges
            4 | 5 => {
                if let Some((s, e)) = token_at(b, at, true) {
                    let w = &dict[g.n(dict.len())];
                    b.splice(s..e, w.iter().copied());
                }
            }
            6 => {
                if let Some((s, e)) = token_at(b, at, false) {
                    b.splice(s..e, NUMBERS[g.n(NUMBERS.len())].iter().copied());
                }
            }
            // repeat a span: more array entries, repeated keys, deeper nesting
            7 if at < len => {
                let n = (1 + g.n(128)).min(len - at);
                let span = b[at..at + n].to_vec();
                for _ in 0..1 + if g.n(8) == 0 { g.n(64) } else { 0 } {
                    b.splice(at..at, span.iter().copied());
                }
            }
            // a span of another corpus entry, inserted or overwriting
            8 if !other.is_empty() => {
                let s = g.n(other.len());
                let n = (1 + g.n(256)).min(other.len() - s);
                let e = if g.n(2) == 0 { at } else { (at + n).min(len) };
                b.splice(at..e, other[s..s + n].iter().copied());
            }
            9 => {
                let t = ESCAPES[g.n(ESCAPES.len())];
                b.splice(at..at, t.iter().copied());
            }
            10 if at < len => {
                let t = TOKENS[g.n(TOKENS.len())];
                b.splice(at..at, t.iter().copied());
            }
            11 => b.truncate(at),
            // a member "word": value after an object's '{', or an element after an array's '['
            12..=14 => {
                let Some(i) = b[at..].iter().position(|&c| c == b'{' || c == b'[').map(|i| at + i + 1) else { continue };
                let mut t = Vec::new();
                if b[i - 1] == b'{' {
                    t.push(b'"');
                    t.extend_from_slice(&dict[g.n(dict.len())]);
                    t.extend_from_slice(b"\":");
                }
                let w = &dict[g.n(dict.len())];
                match g.n(6) {
                    0 => t.extend_from_slice(NUMBERS[g.n(NUMBERS.len())]),
                    1 => t.extend_from_slice(b"{}"),
                    2 => t.extend_from_slice(b"[]"),
                    3 => t.extend_from_slice(if g.n(2) == 0 { b"true" } else { b"null" }),
                    4 => t.extend([&b"[\""[..], w, b"\"]"].concat()),
                    _ => t.extend([&b"\""[..], w, b"\""].concat()),
                }
                let close = b.get(i).is_some_and(|&c| c == b'}' || c == b']');
                if !close {
                    t.push(b',');
                }
                b.splice(i..i, t);
            }
            _ => {}
        }
    }
    b.truncate(MAX_INPUT);
}

/// Every whitespace-separated word of every string literal in `dir`'s .rs files: JSON keys and
/// the names of enum values (SCHED_FIFO, SCMP_ACT_ERRNO, MS_RDONLY ...).
fn dictionary(dir: &Path, seeds: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut words: Vec<Vec<u8>> = Vec::new();
    let mut add = |w: &[u8]| {
        if !w.is_empty() && w.len() <= 48 && w.iter().all(|c| c.is_ascii_alphanumeric() || b"_-./=:".contains(c)) {
            words.push(w.to_vec());
        }
    };
    for e in fs::read_dir(dir).into_iter().flatten().flatten() {
        let src = fs::read(e.path()).unwrap_or_default();
        let mut parts = src.split(|&c| c == b'"');
        parts.next();
        // literals are the odd parts (escaped quotes are rare enough in these files)
        while let Some(lit) = parts.next() {
            lit.split(|c| c.is_ascii_whitespace() || *c == b',').for_each(&mut add);
            parts.next();
        }
    }
    for s in seeds {
        let mut parts = s.split(|&c| c == b'"');
        parts.next();
        while let Some(lit) = parts.next() {
            add(lit);
            parts.next();
        }
    }
    words.sort();
    words.dedup();
    words
}

struct Args {
    secs: f64,
    out: PathBuf,
    plain: bool,
    cli: bool,
    seeds: Vec<PathBuf>,
}

fn args() -> Args {
    let mut a = Args { secs: 20.0, out: std::env::temp_dir().join("mote-fuzz"), plain: false, cli: false, seeds: vec![] };
    let mut it = std::env::args().skip(1);
    while let Some(s) = it.next() {
        match s.as_str() {
            "--secs" => a.secs = it.next().and_then(|v| v.parse().ok()).expect("--secs N"),
            "--out" => a.out = it.next().expect("--out DIR").into(),
            "--plain" => a.plain = true,
            "--target" => match it.next().as_deref() {
                Some("cli") => a.cli = true,
                Some("config") => a.cli = false,
                t => panic!("--target config|cli, not {t:?}"),
            },
            _ => a.seeds.push(s.into()),
        }
    }
    if a.cli {
        a.out = a.out.join("cli");
    }
    a
}

fn worker(a: Args, shared: &'static mut [u8]) {
    // Seconds since the supervisor started (a restarted worker goes on with its clock).
    let start_ns: u128 = std::env::var("MOTE_FUZZ_T0").unwrap().parse().unwrap();
    let since = || (epoch_ns() - start_ns) as f64 / 1e9;
    let mut seeds = match (a.seeds.is_empty(), a.cli) {
        (true, true) => mote_unit::cli_seeds(),
        (true, false) => mote_unit::seeds(),
        (false, _) => vec![],
    };
    for p in &a.seeds {
        seeds.extend(if p.is_dir() { mote_unit::inputs(p) } else { fs::read(p).into_iter().collect() });
    }
    let dict = dictionary(&Path::new(env!("CARGO_MANIFEST_DIR")).join(if a.cli { "../../runtime/src/cli" } else { "../../runtime/src/spec" }), &seeds);
    let check = if a.cli { mote_unit::check_cli } else { mote_unit::check_config };
    let mut cov = counters();
    let total: usize = cov.iter().map(|c| c.len()).sum();
    let mut seen: Vec<Vec<u8>> = cov.iter().map(|c| vec![0u8; c.len()]).collect();
    let mut edges = 0usize;
    let sh = shared.as_mut_ptr();
    // One run: the input into the shared file, counters zeroed, the parse, new buckets counted.
    let exec = |input: &[u8], cov: &mut Vec<&'static mut [u8]>, seen: &mut Vec<Vec<u8>>, edges: &mut usize| -> bool {
        // SAFETY: the mapping lives as long as the process; the panic hook, its only other
        // user, runs on this thread and never returns.
        let s = unsafe { std::slice::from_raw_parts_mut(sh, SHARED) };
        set(s, 2, input.len() as u64);
        s[HDR + MSG..HDR + MSG + input.len()].copy_from_slice(input);
        set(s, 0, get(s, 0) + 1);
        for c in cov.iter_mut() {
            c.fill(0);
        }
        check(input);
        let mut new = false;
        for (c, v) in cov.iter().zip(seen.iter_mut()) {
            for (x, y) in c.iter().zip(v.iter_mut()) {
                let k = bucket(*x);
                if k & !*y != 0 {
                    if *y == 0 {
                        *edges += 1;
                    }
                    *y |= k;
                    new = true;
                }
            }
        }
        set(s, 1, *edges as u64);
        new
    };
    let corpus_dir = a.out.join(if a.plain { "corpus-plain" } else { "corpus" });
    fs::create_dir_all(&corpus_dir).unwrap();
    let mut corpus: Vec<Vec<u8>> = Vec::new();
    // Inputs that crashed an earlier worker (their hashes, from the supervisor) are not rerun.
    let skip = fs::read_to_string(a.out.join(".skip")).unwrap_or_default();
    for s in seeds.iter().chain(mote_unit::inputs(&corpus_dir).iter()) {
        let s = &s[..s.len().min(MAX_INPUT)];
        if skip.lines().any(|l| l == format!("{:016x}", hash(s))) {
            continue;
        }
        if exec(s, &mut cov, &mut seen, &mut edges) || corpus.len() < seeds.len() {
            corpus.push(s.to_vec());
        }
    }
    let mut g = Rng(0x2545_f491_4f6c_dd1d ^ (std::process::id() as u64) << 20);
    let (mut runs, mut next) = (0u64, 1.0f64);
    let end = a.secs;
    eprintln!(
        "fuzz: {} coverage counters, {} seeds, {} dictionary words, mode {}",
        total,
        seeds.len(),
        dict.len(),
        if a.plain { "plain" } else if a.cli { "guided, cli" } else { "guided" }
    );
    while since() < end {
        let parent = if a.plain || corpus.len() < 8 || g.n(2) == 0 { g.n(corpus.len()) } else { corpus.len() - 1 - g.n(8) };
        let mut b = corpus[parent].clone();
        if a.plain {
            plain_mutate(&mut g, &mut b);
        } else {
            let other = &corpus[g.n(corpus.len())];
            mutate(&mut g, &mut b, &dict, other, a.cli);
        }
        let new = exec(&b, &mut cov, &mut seen, &mut edges);
        runs += 1;
        let keep = if a.plain {
            // the old policy: keep what still parses whole, up to 256
            corpus.len() < 256 && {
                let mut d = b.clone();
                json::prepare(&mut d).ok().is_some_and(|r| mote_unit::parse(&d, r).is_ok())
            }
        } else {
            new
        };
        if keep {
            let name = corpus_dir.join(format!("{:06}-{:x}", corpus.len(), g.n(1 << 30)));
            fs::write(name, &b).unwrap();
            corpus.push(b);
        }
        let t = since();
        if t >= next {
            eprintln!("fuzz: t={:.0}s execs={} edges={} corpus={}", t, runs, edges, corpus.len());
            next = t.floor() + if t < 10.0 { 1.0 } else { 5.0 };
        }
    }
    eprintln!("fuzz: worker done: {} execs, {} edges of {} counters, corpus {}", runs, edges, total, corpus.len());
}

fn supervise(a: Args) -> i32 {
    fs::create_dir_all(a.out.join("crashes")).unwrap();
    let shared = map_shared(&a.out.join(".current"));
    let t0 = Instant::now();
    let t0_ns = epoch_ns();
    let me = std::env::current_exe().unwrap();
    let mut found = Vec::new();
    let mut restarts = 0;
    while t0.elapsed().as_secs_f64() < a.secs && restarts < 1000 {
        set(shared, 3, 0);
        let mut child = std::process::Command::new(&me)
            .args(std::env::args_os().skip(1))
            .env("MOTE_FUZZ_WORKER", "1")
            .env("MOTE_FUZZ_T0", t0_ns.to_string())
            .spawn()
            .expect("spawn the worker");
        let (mut last, mut stalled) = (u64::MAX, Instant::now());
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break Some(s);
            }
            let n = get(shared, 0);
            if n != last {
                (last, stalled) = (n, Instant::now());
            } else if stalled.elapsed() > Duration::from_secs(5) {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        if status.is_some_and(|s| s.success()) {
            break;
        }
        restarts += 1;
        let len = (get(shared, 2) as usize).min(MAX_INPUT);
        let input = shared[HDR + MSG..HDR + MSG + len].to_vec();
        let m = (get(shared, 3) as usize).min(MSG);
        let why = match status {
            None => "hang: no progress for 5 s".to_string(),
            Some(s) if m > 0 => format!("panic at {} ({})", String::from_utf8_lossy(&shared[HDR..HDR + m]), s),
            Some(s) => format!("died: {s}"),
        };
        // One file per panic location (the message's "at file:line"), the first input that hit it.
        let key = why.split('\t').next().unwrap_or(&why).to_string();
        let h = hash(key.as_bytes());
        let mut f = fs::OpenOptions::new().append(true).create(true).open(a.out.join(".skip")).unwrap();
        writeln!(f, "{:016x}", hash(&input)).unwrap();
        let file = a.out.join("crashes").join(format!("crash-{h:016x}"));
        if !found.contains(&file) {
            if !file.exists() {
                fs::write(&file, &input).unwrap();
            }
            eprintln!("fuzz: CRASH after {:.1}s: {why}\nfuzz:   input saved in {}", t0.elapsed().as_secs_f64(), file.display());
            found.push(file);
        }
    }
    eprintln!(
        "fuzz: {} execs in {:.0}s ({}/s), {} edges, {} distinct crashes, {} worker restarts",
        get(shared, 0),
        t0.elapsed().as_secs_f64(),
        (get(shared, 0) as f64 / t0.elapsed().as_secs_f64()) as u64,
        get(shared, 1),
        found.len(),
        restarts
    );
    if counters_missing() {
        eprintln!("fuzz: built without SanitizerCoverage: no coverage guidance (see the top of src/bin/fuzz.rs)");
    }
    let _ = std::io::stderr().flush();
    i32::from(!found.is_empty())
}

/// FNV-1a.
fn hash(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf29ce484222325u64, |h, &c| (h ^ c as u64).wrapping_mul(0x100000001b3))
}

fn epoch_ns() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
}

fn counters_missing() -> bool {
    NREGIONS.load(Relaxed) == 0
}

fn main() {
    let a = args();
    if std::env::var_os("MOTE_FUZZ_WORKER").is_none() {
        std::process::exit(supervise(a));
    }
    let shared = map_shared(&a.out.join(".current"));
    let sh = shared.as_mut_ptr() as usize;
    // A panic is a crash: its message and place go to the supervisor, then the worker aborts.
    std::panic::set_hook(Box::new(move |info| {
        // SAFETY: the mapping of map_shared, for the rest of the process; the fuzz loop, its
        // other user, is on this thread and does not resume (the hook aborts).
        let s = unsafe { std::slice::from_raw_parts_mut(sh as *mut u8, SHARED) };
        let at = info.location().map(|l| format!("{}:{}", l.file(), l.line())).unwrap_or_default();
        let what = info.payload().downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| info.payload().downcast_ref::<String>().cloned());
        let m = format!("{at}\t{}", what.unwrap_or_default()).replace('\n', " ");
        let m = &m.as_bytes()[..m.len().min(MSG)];
        s[HDR..HDR + m.len()].copy_from_slice(m);
        set(s, 3, m.len() as u64);
        std::process::abort();
    }));
    worker(a, shared);
}
