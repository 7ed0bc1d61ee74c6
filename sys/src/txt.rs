//! Text mote only prints (error messages, the help, `mote spec`'s template), stored compressed:
//! each of the [`DICT`] words it contains is one byte 0x80 + the word's index (all our text is
//! ASCII, so those bytes are free). `t!("...")` packs a literal at compile time; [`Text::t`]
//! (io.rs) is the one expander. ~5-7 KB less .rodata than the plain literals (issue 17).
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

/// The first code; a byte below it stands for itself.
pub const CODE: u8 = 0x80;

/// Word `c - CODE` of [`DICT`] (packed itself: a word may contain earlier words).
pub fn word(c: u8) -> &'static [u8] {
    let mut k = c.wrapping_sub(CODE) as usize;
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
        assert!(s[n] != 0 && s[n] < CODE, "t!: only ASCII text without NUL can be packed");
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
                b[o] = CODE + k as u8;
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
pub const DICT: &[u8] = b"\n\t\t\t\0e \0container\0t \0cgroup\0s \0in\0th\0\": \0on\0d \0er\0\
\",\x80\"opti\x89s\x88[\x80\t\"nosuid\",\x80\t\"noexec\",\x80\t\"n\0or\0re\0proc\0\
\"\x80},\x80{\x80\t\"type\x88\"\0no\x83\0te\0\x8b \x87an \0moun\0\
\t\t{\x80\"dest\x86ati\x89\x88\"/\0mus\x83b\x81\0\",\x80\0st\0expec\x92\x8a\0imag\0an\0\
namespac\0unknown \0a \0de\0\t\"CAP_AUDIT_WRITE\x97\t\"CAP_KILL\x97\t\"CAP_NET_B\0at\0ar\0\
\x20 \0se\0spec/limits.r\0\n\t\t\0ro\0al\0c\x89fig\0\x97\"source\x88\"\0pa\x87\0\
\"type\x88\"\0exec\0m\x8d\x81\x87\x9b \0un\0\x9fvic\0y \0need\x85\0supp\x8d\x92\0\
\x81eBPF p\xa7gram\0p\xa7\x92c\x83\x87\x81r\xaftim\x81b\x86\xa2y: \0--\0open \0 by\x92\0\
comp\0\x8d \0\x86 \0nam\0\x87\x81\0\xa7otf\0le\0it\0wi\x87\0.js\x89\0SCMP_ACT_NOTIFY \0\
ch\0es\0l\x89g\x93\0syml\x86k\0sys\0\x8b \0\x8ead\0\x97\"/\x8f/\0o \0mo\0: \0\
Mapp\x86gs\x88[\x80{\x80\t\"\x82ID\x880,\x80\t\"ho\x98ID\x881000,\x80\t\"siz\0\
c\x8e\xa1\x81\0fi\0i\x85\0\x94t_\xa4t\xa1tr (L\x86ux 5.12)\0\x9fscript\0di\x8ect\x8d\0li\0\
\x98\xa1\x81dir\0buff\xc9\xa8\xca\xb1\xbbus\x81(\x9ebug)\0id\0\
\x88[\x80\xa0IND_SERVICE\"\x80]\0\
-\xb9\x8es\xa4\x8alay\x8b\x85\xa2\x81\x91\xb3\x8a(\x89l\xb1t\xa2 \x9b\x8at\xa2+gzip)\0\
\x86g\0\x86v\xa8i\x8a\0, \0below \0flag\0\x85/etc/\0f\x8d\0me\0ou\0\t\"\0opti\x89\0us\0\
\xa2\xc4ive\01024\0\x84 \0of\0SCHED_\0a\x92\0b\xafdl\x81\0en\0head\0l\x86ux\0spec\0\
\x8efu\xa4\0\x94\x83\0\xce\xc4oos\x81\x89\x81\xc1 \xb6\x8ef\0 (\0ma\0si\0,\xa6\"\0\
\x97\xe5\xf8ze=65536k\"\x80]\xa6},\n\x95\x9fv/\0\x9b\x8a\0\n\xa3\0capabil\xc0\0lo\0numb\0";
// END DICT
