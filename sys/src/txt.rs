//! Text mote only prints (error messages, the help, `mote spec`'s template, `mote features`, the
//! errno texts), stored compressed: each of the [`DICT`] words it contains is one byte, a
//! [`code`] (all our text is printable ASCII, tab and newline, so 0x80..=0xff and the other
//! control bytes are free). `t!("...")` packs a literal at compile time; [`Text::t`] (io.rs) is
//! the one expander. The words are picked by tests/tools/txt.py from mote's texts; with a Txt
//! one pointer, ~11 KB less on x86_64 than plain literals (issue 17).
//!
//! Never for text that is compared or handed to a syscall: a packed Txt is not its text.

use core::ptr::NonNull;

/// Packed static text, from [`t!`](crate::t): the text with dictionary words as codes, ended by
/// a NUL. One pointer, no length (a thin pointer is an instruction less at each of ~900 places
/// that pass one: -3 KB on x86_64, issue 17).
#[derive(Clone, Copy, Debug)]
pub struct Txt(NonNull<u8>);

// SAFETY: a Txt points into immutable 'static data (see Txt::new).
unsafe impl Send for Txt {}
// SAFETY: as above: nothing is ever written through it.
unsafe impl Sync for Txt {}

impl Txt {
    /// Packed text from its bytes, which must end in a NUL (checked; an earlier NUL would end it
    /// there, and t! never makes one).
    pub const fn new(b: &'static [u8]) -> Txt {
        assert!(!b.is_empty() && b[b.len() - 1] == 0, "txt: a Txt ends in a NUL");
        // The pointer comes from the whole slice: reading up to its NUL stays within it.
        match NonNull::new(b.as_ptr() as *mut u8) {
            Some(p) => Txt(p),
            None => panic!("txt: a null slice"),
        }
    }
    /// The packed bytes, without the NUL.
    pub fn bytes(self) -> &'static [u8] {
        let p = self.0.as_ptr() as *const u8;
        let mut n = 0;
        // SAFETY: Txt::new took a 'static slice ending in a NUL: every byte up to that NUL is in
        // it (and the pointer's provenance is the whole slice).
        while unsafe { *p.add(n) } != 0 {
            n += 1;
        }
        // SAFETY: the n bytes before the NUL are in that 'static slice, which nothing writes.
        unsafe { core::slice::from_raw_parts(p, n) }
    }
    /// Whether the text is empty (packing keeps that: only a word makes a code).
    pub fn is_empty(self) -> bool {
        // SAFETY: a Txt points at least at its NUL (Txt::new).
        unsafe { *self.0.as_ptr() == 0 }
    }
}

/// Word `k`'s code: 0x80..=0xff, then the control bytes our text does not use (all but NUL,
/// tab and newline): 157 codes.
pub const fn code(k: usize) -> u8 {
    match k {
        0..=127 => 0x80 + k as u8,
        128..=135 => (k - 127) as u8,
        136..=156 => (k - 125) as u8,
        _ => panic!("txt: more words than codes"),
    }
}

/// The word byte `c` stands for, if it is a code.
pub const fn index(c: u8) -> Option<usize> {
    match c {
        0x80.. => Some(c as usize - 0x80),
        1..=8 => Some(c as usize + 127),
        11..=31 => Some(c as usize + 125),
        _ => None,
    }
}

/// Word `k` of [`DICT`] (packed itself: a word may contain earlier words).
pub const fn word(k: usize) -> &'static [u8] {
    let (mut at, mut i, mut n) = (0, 0, 0);
    while i < DICT.len() {
        if DICT[i] == 0 {
            if n == k {
                return DICT.split_at(i).0.split_at(at).1; // (DICT[at..i]: slicing is not const)
            }
            n += 1;
            at = i + 1;
        }
        i += 1;
    }
    b""
}

/// The length of packed text `t` expanded.
pub const fn len(t: &[u8]) -> usize {
    let (mut i, mut n) = (0, 0);
    while i < t.len() {
        n += match index(t[i]) {
            Some(k) => len(word(k)),
            None => 1,
        };
        i += 1;
    }
    n
}

/// The longest word expanded (at least 1): a buffer with this much room left takes any code.
pub const LONGEST: usize = {
    let (mut k, mut m) = (0, 1);
    while k < 157 {
        let n = len(word(k));
        if n > m {
            m = n;
        }
        k += 1;
    }
    m
};

/// How many words [`DICT`] has, and where each starts (then DICT's end): counted once, for
/// [`pack`] (only in const evaluation: not in the binary).
const WORDS: usize = {
    let (mut i, mut n) = (0, 0);
    while i < DICT.len() {
        n += (DICT[i] == 0) as usize;
        i += 1;
    }
    n
};
const STARTS: [usize; WORDS + 1] = {
    let mut s = [0; WORDS + 1];
    let (mut i, mut k) = (0, 1);
    while i < DICT.len() {
        if DICT[i] == 0 {
            s[k] = i + 1;
            assert!(s[k] - s[k - 1] > 2, "txt: a word in DICT shorter than two bytes");
            k += 1;
        }
        i += 1;
    }
    s
};

/// A hash of the byte pair `a b`, for [`pack`]'s filter.
const fn pair(a: u8, b: u8) -> usize {
    ((a as usize) << 1 ^ b as usize) & 255
}

/// `s` packed: every dictionary word in turn (the order tests/tools/txt.py chose them in)
/// replaced by its code, left to right; returned in a buffer of `s`'s length with the packed
/// length. Refuses (at compile time, in [`t!`](crate::t)) a text with a NUL or a byte that is a
/// code (not ASCII, or a control byte other than tab and newline). ~900 texts are packed at each
/// build, in const evaluation (slow): a word whose first two bytes are no pair of the text's is
/// skipped unread.
pub const fn pack<const L: usize>(s: &str) -> ([u8; L], usize) {
    let s = s.as_bytes();
    let mut b = [0u8; L];
    let mut n = 0;
    while n < s.len() {
        assert!(s[n] != 0 && index(s[n]).is_none(), "t!: only ASCII text without control bytes but tab and newline can be packed");
        b[n] = s[n];
        n += 1;
    }
    // The byte pairs the text holds or held (hashed: a superset only costs a scan).
    let mut pairs = [false; 256];
    let mut i = 1;
    while i < n {
        pairs[pair(b[i - 1], b[i])] = true;
        i += 1;
    }
    let mut k = 0;
    while k < WORDS {
        let at = STARTS[k];
        let w = STARTS[k + 1] - 1 - at;
        if w <= n && pairs[pair(DICT[at], DICT[at + 1])] {
            let (mut r, mut o, mut hit) = (0, 0, false);
            while r < n {
                let mut m = 0;
                if r + w <= n {
                    while m < w && b[r + m] == DICT[at + m] {
                        m += 1;
                    }
                }
                if m == w {
                    b[o] = code(k);
                    r += w;
                    hit = true;
                } else {
                    b[o] = b[r];
                    r += 1;
                }
                o += 1;
            }
            n = o;
            // The code makes new pairs with its neighbours.
            let mut i = 1;
            while hit && i < n {
                pairs[pair(b[i - 1], b[i])] = true;
                i += 1;
            }
        }
        k += 1;
    }
    (b, n)
}

/// The first `N - 1` bytes of a [`pack`]ed buffer and a NUL.
pub const fn cut<const L: usize, const N: usize>(b: &[u8; L]) -> [u8; N] {
    let mut o = [0u8; N];
    let mut i = 0;
    while i + 1 < N {
        o[i] = b[i];
        i += 1;
    }
    o
}

/// Packed static text: `t!("open")` is a [`Txt`], the literal packed at compile time.
#[macro_export]
macro_rules! t {
    ($s:expr) => {{
        const S: &str = $s;
        const P: ([u8; S.len()], usize) = $crate::txt::pack(S);
        const B: [u8; P.1 + 1] = $crate::txt::cut(&P.0);
        const T: $crate::txt::Txt = $crate::txt::Txt::new(&B);
        T
    }};
}

// BEGIN DICT (tests/tools/txt.py dict writes this: the words, each ending in a NUL)
pub const DICT: &[u8] = b"container\0e \0cgroup\0t \0s \0in\0on\0at\0d \0\"type\":\"\0moun\0proc\0  \0re\0\
\",\"opti\x86s\":[\"nosuid\",\"noexec\",\"n\0or\0er\0st\0no\x83\0mus\x83b\x81\0\
spec/limits.r\0th\0devic\0namespac\0\":\0an\0unknown \0\",\"\0 E\0\
\"CAP_AUDIT_WRITE\x9bCAP_KILL\x9bCAP_NET_BIND_S\0expecte\x88\0\
{\"de\x91\x85\x87i\x86\x98\"/\0a \0se\0al\0\", \"\0\
protec\x83\x95\x81runtim\x81b\x85ary: \0exec\0BPF program\0es\0y \0\x9bsource\x98\"\0\
SCMP_A\0en\0\xa1ccomp\0it\0le\0need\x84\0\n\x8c\0o \0p\x87h\0un\0ro\0supp\x8fte\0\
\x90 \x95\x99 \0de\0m\x8f\x81\x95\x99 \0i\x86\0fi\0i\x84\0\x95\x81\0--\0ar\0\
buff\x90 \xa2\x8dad\xa8\x85 us\x81(\xa0bug)\0sy\0\x8f \0li\0op\0\x85v\xa2i\x88\0\
Mapp\x85gs\x98[{\"\x80ID\x980,\"ho\x91ID\x981000,\"size\x981}],\n\0c\x8d\x87\0\x85 \0\
\x8at_\xa1t\x87tr (L\x85ux 5.12)\0: \0\"},{\x89\0\x8dad\0c\x86\xbag.js\x86\0me\0ot\0\
\x91\x87\x81dir\0\x98 \0, \0l\x85ux\0NO\0ct\0of \0\
\xb0\x8c\"\x8fg.\xc3\xab\x80s.r\xb3ti\xcd-spec.fe\x87u\x8ds.m\xcee.\0,\n\"\0below \0ch\0\
flag\0\x8dfu\xa1\0\x9b/\x8b/\0ou\0capabil\xad\0id\0 (\0JSON\0\x82 \0\x85g\0\x8c\x8c\0\
\xaaCT_\xd3TIFY \0\xc0\x91em\0\xd0{ \"\xabab\xaed\xd0\0ma\0to\xb1\0\x91\x87\0SCHED_\0\
\xc0ml\x85k \0 byt\01024\0di\x8d\xd4\x8f\0k\x90nel\0wi\x95\0\x8a\x83\0\x8dmov\0\
\xd3SUPPORT\x9c\0ho\0e\x84(\xbcbo\xb3\x88\xc7\x94s)\0us\0\x86l\xa8\0\xc3t\xb9\0\xc3\xab \0\
,\xb0\x8c\"\0b\x85\0d\xa7cript\x8f\0f\x8f\0spec\0\
swap acco\xb3t\xe3 \xbboff \x86 \x95\xbb\0\x99\x88\0c\x99\x92\0e\x88\0l\x86g\0miss\xe3\0\
na\xcd\0priv\x87e\0\x8b\xa7\0\x98[\x9dERVICE\"]\0\x9bsize=65536k\"]},\n\x9f\xb7v/\0\
\xaaRCH_\0\xddtput\0\xc0s\0\nN\xb1su\xd9 \0\nTo\xb1m\x99\xa8\0ab\xae\0c\x86t\xb4ll\x90\0\
lo\0l\x81\0wr\xad\0\x8dcursiv\0\xa5 \xbaf\0\xc2\x91\xab\x90\0\xcdm\x8fy\0RE\0fs\0s\x83\0\
\x8at\0";
// END DICT
