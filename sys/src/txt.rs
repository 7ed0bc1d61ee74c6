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
pub fn word(mut k: usize) -> &'static [u8] {
    let mut at = 0;
    for (i, &b) in DICT.iter().enumerate() {
        if b == 0 {
            if k == 0 {
                return &DICT[at..i];
            }
            k -= 1;
            at = i + 1;
        }
    }
    b""
}

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
pub const DICT: &[u8] = b"\n\t\t\t\0e \0container\0t \0cgroup\0\": \0s \0in\0on\0th\0d \0er\0or\0re\0\
\",\x80\"opti\x88s\x85[\x80\t\"nosuid\",\x80\t\"noexec\",\x80\t\"n\0te\0no\x83\0proc\0  \0\
moun\0\"\x80},\x80{\x80\t\"type\x85\"\0\x8b \x89an \0st\0mus\x83b\x81\0\",\x80\0\
\t\t{\x80\"de\x96\x87ati\x88\x85\"/\0devic\0expec\x8f\x8a\0an\0namespac\0 E\0at\0imag\0\
a \0ar\0unknown \0al\0se\0\t\"CAP_AUDIT_WRITE\x98\t\"CAP_KILL\x98\t\"CAP_NET_B\0ro\0\
spec/limits.r\0\n\t\t\0supp\x8c\x8f\0de\0un\0\", \"\0c\x88fig\0y \0exec\0le\0open\0\
\x98\"source\x85\"\0pa\x89\0\"type\x85\"\0m\x8c\x81\x89\x9c \0o \0me\0need\x86\0sys\0\
\x8c \0SCMP_A\0\x81eBPF p\xa7gram\0comp\0p\xa7\x8fc\x83\x89\x81r\xactim\x81b\x87\xa2y: \0\
--\0 by\x8f\0ch\0\x87 \0\n\x92\0di\x8dct\x8c\0it\0\x89\x81\0\xa7otf\0es\0wi\x89\0.js\x88\0\
fi\0l\x88g\x95\0syml\x87k\0mo\0\x8dad\0\x98\"/\x91/\0\x8b \0\xabscript\0: \0\
Mapp\x87gs\x85[\x80{\x80\t\"\x82ID\x850,\x80\t\"ho\x96ID\x851000,\x80\t\"siz\0\
c\x8d\x9f\x81\0i\x86\0i\x88\0li\0\x93t_\xa5t\x9ftr (L\x87ux 5.12)\0id\0nam\x81\0ou\0, \0\
\x96\x9f\x81dir\0buff\xd2\xa4\xd0\xaf\xc3us\x81(\xa1bug)\0\
\x85[\x80\xa6IND_SERVICE\"\x80]\0flag\0v\xa4i\x8a\0\
-\xbe\x8ds\xa5\x8alay\x8b\x86\xa2\x81\x90\xaa\x8a(\x88l\xaft\xa2 \x9c\x8at\xa2+gzip)\0NO\0\
lo\0of \0\x87g\0f\x8c\0us\0l\x87ux\0spec\0s\x85[\0\x85{ \"enab\xb1d\x85\0\x86/etc/\0\t\"\0\
,\xc4\x92\0a\x8f\0capabil\xc6\0to\xb7\0\x8dfu\xa5d\0\xa2\xc2ive\01024\0ma\0\x84 \0\
\xbcCT_\xe5TIFY \0\"\x8cg.\xb2\x82s.r\xacti\xb8-\xec.fe\x9fu\x8ds.\xcf\x8f.\0SCHED_\0\
l\x81\0tr\0be\xe6w \0head\0na\xb8\0\x93\x83\0\xb7su\xc2 \0\
\xd4\xc2oos\x81\x88\x81\xca \xc0\x8df\0\xe5SUPPORT\x9e\0 (\0\
\x98\xf0size=65536k\"\x80]\xa9},\n\x99\xabv/\0,\xa9\"\0ct\0c\x9c\x90\0en\0\x88l\xaf\0\
\x8d\xcfv\0\x9c\x8a\0\xeaage\xd4\xcf\x8f-\xa0\x81b\xacd\xfdIMAGE DIR\0exi\x96\0hook\0\
numb\0opt\xd8\0swap acco\xact\xe8 \xd7off \x88 \x89\xd7\0\x91\xc9\0\x92\x92\0miss\xe8\0\
m\x9cife\x96\0ne\0pri\0ti\xb8\0\xa5c\xbe\0";
// END DICT
