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
pub const DICT: &[u8] = b"\n\t\t\t\0container\0e \0cgroup\0\": \0t \0s \0in\0\
\",\x80\"options\x84[\x80\t\"nosuid\",\x80\t\"noexec\",\x80\t\"n\0at\0on\0d \0proc\0  \0\
re\0moun\0\"\x80},\x80{\x80\t\"type\x84\"\0or\0er\0st\0mus\x85b\x82\0no\x85\0\",\x80\0th\0\
devic\0\t\t{\x80\"de\x93\x87\x89i\x8a\x84\"/\0namespac\0spec/limits.r\0an\0 E\0unknown \0\
\t\"CAP_AUDIT_WRITE\x96\t\"CAP_KILL\x96\t\"CAP_NET_B\0expecte\x8b\0\n\t\t\0se\0al\0\
\", \"\0a \0protec\x85\x97\x82runtim\x82b\x87ary: \0exec\0\x96\"source\x84\"\0\
\"type\x84\"\0BPF program\0es\0SCMP_A\0y \0en\0le\0need\x86\0it\0\n\x8d\0p\x89h\0\
\xa2ccomp\0o \0un\0supp\x91te\0\x92 \x97\x9c \0ro\0de\0m\x91\x82\x97\x9c \0\x96\"/\x8c/\0\
--\0\x97\x82\0buff\x92 \xa3\x8ead\xad\x87 us\x82(\xa5bug)\0ar\0fi\0i\x8a\0sy\0\
\x87v\xa3i\x8b\0\x91 \0\
Mapp\x87gs\x84[\x80{\x80\t\"\x81ID\x840,\x80\t\"ho\x93ID\x841000,\x80\t\"siz\0li\0\x87 \0\
\x8ft_\xa2t\x89tr (L\x87ux 5.12)\0i\x86\0op\0c\x8e\x89\0\x8ead\0: \0di\x8ect\x91\0ot\0\
\x93\x89\x82dir\0me\0\x84[\x80\x9fIND_SERVICE\"\x80]\0NO\0\
\xb2\x8d\"\x91g.\xcb\xae\x81s.r\xb6ti\xd2-spec.fe\x89u\x8es.m\xd0e.\0, \0below \0flag\0\
l\x87ux\0\x8efu\xa2\0ch\0ou\0\t\"\0capabil\xb1\0c\x8a\xc1g.js\x8a\0id\0of \0s\x84[\0 (\0\
JSON\0\x83 \0\x84{ \"\xaeab\xafd\x84\0\x87g\0\x8d\x8d\0\xacCT_\xd4TIFY \0\xc3\x93em\0ma\0\
\x93\x89\0SCHED_\0\xc3ml\x87k \0 byt\01024\0ct\0to\xb5\0wi\x97\0\x8emov\0\x8f\x85\0\
\xd4SUPPORT\x9d\0ho\0us\0\x96\xddsize=65536k\"\x80]\xa1},\n\x99\xbav/\0,\xa1\"\0\
e\x86(\xbebo\xb6\x8b\xc8\x9bs)\0f\x91\0\x8al\xad\0\xcb\xae \0,\xb2\x8d\"\0d\xabcript\x91\0\
swap acco\xb6t\xe7 \xcaoff \x8a \x97\xca\0\x9c\x8b\0c\x9c\x95\0k\x92nel\0l\x8ag\0\
miss\xe7\0priv\x89e\0\x84true\0\x8c\xab\0\xacRCH_\0\xdctput\0b\x87\0e\x8b\0\
\nN\xb5su\xdb \0\nTo\xb5m\x9c\xad\0ab\xaf\0c\x8at\xb9ll\x92\0lo\0l\x82\0na\xd2\0spec\0\
\x8ecursiv\0\x96\xdd\xb9\"\x80]\xa1}\n\t],\n\xdd\xd9\x84{\xa1\"\0\xa7 \xc1f\0\xc3s\0\
\xc7\x93\xae\x92\0\xd2m\x91y\0RE\0";
// END DICT
