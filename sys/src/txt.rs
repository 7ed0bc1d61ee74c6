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

/// `s` packed: every dictionary word in turn (the order tests/tools/txt.py chose them in)
/// replaced by its code, left to right; returned in a buffer of `s`'s length with the packed
/// length. Refuses (at compile time, in [`t!`](crate::t)) a text with a NUL or a byte that is a
/// code (not ASCII, or a control byte other than tab and newline).
pub const fn pack<const L: usize>(s: &str) -> ([u8; L], usize) {
    let s = s.as_bytes();
    let mut b = [0u8; L];
    let mut n = 0;
    while n < s.len() {
        assert!(s[n] != 0 && index(s[n]).is_none(), "t!: only ASCII text without control bytes but tab and newline can be packed");
        b[n] = s[n];
        n += 1;
    }
    // One pass over DICT: word k is DICT[at..end].
    let (mut at, mut k) = (0, 0);
    while at < DICT.len() {
        let mut end = at;
        while DICT[end] != 0 {
            end += 1;
        }
        let w = end - at;
        assert!(w > 0, "txt: an empty word in DICT");
        let (mut r, mut o) = (0, 0);
        while r < n {
            let mut m = 0;
            while m < w && r + m < n && b[r + m] == DICT[at + m] {
                m += 1;
            }
            if m == w {
                b[o] = code(k);
                r += w;
            } else {
                b[o] = b[r];
                r += 1;
            }
            o += 1;
        }
        n = o;
        at = end + 1;
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
pub const DICT: &[u8] = b"container\0e \0cgroup\0t \0s \0in\0on\0at\0\"type\":\"\0d \0proc\0  \0re\0moun\0\
\",\"opti\x86s\":[\"nosuid\",\"noexec\",\"n\0or\0er\0st\0mus\x83b\x81\0no\x83\0th\0devic\0\
namespac\0spec/limits.r\0\":\0\",\"\0an\0 E\0unknown \0\
\"CAP_AUDIT_WRITE\x99CAP_KILL\x99CAP_NET_BIND_S\0expecte\x89\0\
{\"de\x91\x85\x87i\x86\x98\"/\0se\0al\0\", \"\0a \0\
protec\x83\x94\x81runtim\x81b\x85ary: \0exec\0BPF program\0es\0\x99source\x98\"\0SCMP_A\0\
y \0en\0le\0need\x84\0it\0\n\x8b\0p\x87h\0\xa0ccomp\0o \0un\0supp\x8fte\0\x90 \x94\x9a \0\
ro\0de\0m\x8f\x81\x94\x9a \0\x94\x81\0--\0buff\x90 \xa1\x8cad\xaa\x85 us\x81(\xa3bug)\0\
fi\0ar\0i\x86\0sy\0\x85v\xa1i\x89\0\x8f \0\
Mapp\x85gs\x98[{\"\x80ID\x980,\"ho\x91ID\x981000,\"size\x981}],\n\0li\0\x85 \0\
\x8dt_\xa0t\x87tr (L\x85ux 5.12)\0i\x84\0op\0\"},{\x88\0: \0c\x8c\x87\0\x8cad\0\
c\x86\xbcg.js\x86\0di\x8cct\x8f\0ot\0\x91\x87\x81dir\0me\0\x98 \0NO\0\
\xaf\x8b\"\x8fg.\xc7\xab\x80s.r\xb3ti\xd0-spec.fe\x87u\x8cs.m\xcee.\0, \0,\n\"\0below \0\
flag\0l\x85ux\0\x8cfu\xa0\0\x99/\x8a/\0ch\0ou\0capabil\xae\0id\0of \0JSON\0\x82 \0\x85g\0\
\x8b\x8b\0\xa9CT_\xd2TIFY \0\xbf\x91em\0\xd1{ \"\xabab\xacd\xd1\0 (\0ma\0\x91\x87\0\
SCHED_\0\xbfml\x85k \0 byt\01024\0ct\0to\xb2\0wi\x94\0\x8cmov\0\x8d\x83\0\xd2SUPPORT\x9b\0\
ho\0e\x84(\xb9bo\xb3\x89\xc4\x97s)\0us\0\x86l\xaa\0\xc7\xab \0,\xaf\x8b\"\0\
d\xa7cript\x8f\0f\x8f\0spec\0swap acco\xb3t\xe2 \xc6off \x86 \x94\xc6\0\x9a\x89\0\
c\x9a\x93\0k\x90nel\0l\x86g\0miss\xe2\0priv\x87e\0\x8a\xa7\0\x98[\x9dERVICE\"]\0\
\x99size=65536k\"]},\n\x9f\xb7v/\0\xa9RCH_\0\xdctput\0b\x85\0e\x89\0\nN\xb2su\xdb \0\
\nTo\xb2m\x9a\xaa\0ab\xac\0c\x86t\xb6ll\x90\0lo\0l\x81\0na\xd0\0\x8ccursiv\0\xa5 \xbcf\0\
\xbfs\0\xc3\x91\xab\x90\0\xd0m\x8fy\0RE\0fs\0s\x83\0],\xaf\xe3\"\0c\x86so\xac\0js\x86\0";
// END DICT
