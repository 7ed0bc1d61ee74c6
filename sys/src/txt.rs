//! Text mote only prints (error messages, the help, `mote spec`'s template, `mote features`, the
//! errno texts), stored compressed: each of the [`DICT`] words it contains is one byte, a
//! [`code`] (all our text is printable ASCII, tab and newline, so 0x80..=0xff and the other
//! control bytes are free). `t!("...")` packs a literal at compile time; [`Text::t`] (io.rs) is
//! the one expander. ~7.5 KB less on x86_64 than the plain literals (issue 17).
//!
//! Never for text that is compared or handed to a syscall: a packed Txt is not its text.

/// Packed static text, from [`t!`](crate::t). Its bytes are the text with dictionary words as codes.
#[derive(Clone, Copy, Debug)]
pub struct Txt(pub &'static [u8]);

impl Txt {
    /// Whether the text is empty (packing keeps that: only a word makes a code).
    pub const fn is_empty(self) -> bool {
        self.0.is_empty()
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
                return DICT.split_at(i).0.split_at(at).1;
            }
            n += 1;
            at = i + 1;
        }
        i += 1;
    }
    b""
}

/// The length of packed text `t` expanded: for a compile-time check that a buffer holds it.
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
/// length. Refuses (at compile time, in [`t!`](crate::t)) a text that is not ASCII or has a NUL.
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

/// The first `N` bytes of a [`pack`]ed buffer.
pub const fn cut<const L: usize, const N: usize>(b: &[u8; L]) -> [u8; N] {
    let mut o = [0u8; N];
    let mut i = 0;
    while i < N {
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
        const B: [u8; P.1] = $crate::txt::cut(&P.0);
        $crate::txt::Txt(&B)
    }};
}

// BEGIN DICT (tests/tools/txt.py dict writes this: the words, each ending in a NUL)
pub const DICT: &[u8] = b"\n\t\t\t\0e \0container\0t \0cgroup\0s \0\": \0in\0th\0on\0d \0er\0or\0re\0te\0\
\",\x80\"opti\x89s\x86[\x80\t\"nosuid\",\x80\t\"noexec\",\x80\t\"n\0no\x83\0proc\0\
\x8b \x88an \0  \0moun\0\"\x80},\x80{\x80\t\"type\x86\"\0st\0mus\x83b\x81\0\",\x80\0\
\t\t{\x80\"de\x96\x87ati\x89\x86\"/\0devic\0an\0namespac\0expec\x8e\x8a\0spec/limits.r\0\
at\0 E\0imag\0a \0ar\0unknown \0al\0se\0\
\t\"CAP_AUDIT_WRITE\x98\t\"CAP_KILL\x98\t\"CAP_NET_B\0ro\0\n\t\t\0supp\x8c\x8e\0un\0de\0\
\", \"\0le\0m\x8c\x81\x88\x9b \0c\x89fig\0y \0exec\0open\0\x98\"source\x86\"\0pa\x88\0\
\x20by\x8e\0\"type\x86\"\0me\0o \0\x88\x81\0need\x85\0sys\0\x8c \0SCMP_A\0--\0\
BPF p\xa8gram\0comp\0\x87 \0: \0ch\0\n\x93\0di\x8dct\x8c\0wi\x88\0it\0\
p\xa8\x8ec\x83\xbar\xabtim\x81b\x87\xa3y\xc3\0\xa8ot\0es\0fi\0.js\x89\0l\x89g\x92\0\
syml\x87k\0ad\0mo\0\x98\"/\x91/\0\x8b \0i\x85\0\xacscript\0i\x89\0\x87v\xa5i\x8a\0\
Mapp\x87gs\x86[\x80{\x80\t\"\x82ID\x860,\x80\t\"ho\x96ID\x861000,\x80\t\"siz\0\
c\x8d\x9f\x81\0li\0nam\x81\0ou\0\x94t_\xa6t\x9ftr (L\x87ux 5.12)\0, \0\
buff\xd3\xa5\x8d\xd0\xb1\xc2us\x81(\xa2bug)\0id\0\x96\x9f\x81dir\0of \0\
\x86[\x80\xa7IND_SERVICE\"\x80]\0flag\0f\x8c\0\x87g\0\
-\xc1\x8ds\xa6\x8alay\x8b\x85\xa3\x81\x90\xaa\x8a(\x89l\xb1t\xa3 \x9b\x8at\xa3+gzip)\0NO\0\
lo\0us\0l\x87ux\0spec\0s\x86[\0\x85/etc/\0\x86{ \"enab\xaed\x86\0\x8dfu\xa6\0a\x8e\0\t\"\0\
,\xc5\x93\0capabil\xc8\0to\xb9\0\xa3\xc4ive\01024\0JSON\0\x84 \0\xbeCT_\xe8TIFY \0 (\0\
na\xb8\0ti\xb8\0tr\0SCHED_\0l\x81\0\x8d\xd0-\x89l\xb1\0be\xe9w \0opt\xd6\0\x94\x83\0\
\x9b\x8a\0\xb9su\xc4 \0\xc3\xc4oos\x81\x89\x81\xc7 \xbf\x8df\0\xe8SUPPORT\xa0\0\
\"\x8cg.\xb3\x82s.r\xab\xfd-\xec.fe\x9fu\x8ds.\xd1\x8e.\0ct\0en\0ho\0ma\0\
\x98\xf2size=65536k\"\x80]\xa9},\n\x99\xacv/\0,\xa9\"\0c\x9b\x90\0\x8d\xd1v\0\
\xeaage\xc3\xd1\x8e-\xa1\x81b\xabd\x01IMAGE DIR\0el\0exi\x96\0numb\0\
swap acco\xabt\xe6 \xd4off \x89 \x88\xd4\0\x91\xcb\0\x93\x93\0\xa3g\0fs\0miss\xe6\0\
m\x9bife\x96\0";
// END DICT
