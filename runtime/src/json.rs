//! A zero-copy JSON reader for config.json.
//!
//! [`prepare`] validates the whole document once and unescapes every string *in place*: the
//! decoded text is followed by a NUL, and the bytes up to the closing quote become spaces. After
//! that every string is a `&CStr` pointing into the config buffer, ready to be handed to a
//! syscall (mount source, execve argument) with no copy and no allocation. Strings with `\u0000`
//! are refused, since no kernel interface could take them.
//!
//! [`Val`] then walks the prepared document: objects and arrays are iterated lazily.
//!
//! Duplicate keys in one object are refused. Go's encoding/json (runc, and the policy engines
//! that check a config before it runs) keeps the last one; other parsers keep the first or both.
//! A config that two readers may see differently is rejected rather than resolved either way.

use crate::error::Txt;
use core::ffi::CStr;

/// Deepest nesting accepted (config.json needs about 6).
pub const MAX_DEPTH: usize = 64;
/// Most keys of all the objects being read at once (an object and its enclosing ones), checked
/// for duplicates: a config's largest object is its annotations (64 at most).
pub const MAX_KEYS: usize = 1024;

/// The keys of the objects being read, for the duplicate check: offsets of decoded keys.
struct Keys {
    off: [u32; MAX_KEYS],
    n: usize,
}

/// The decoded key at `off` (up to its NUL).
fn key_at(b: &[u8], off: usize) -> &[u8] {
    let k = &b[off..];
    &k[..k.iter().position(|&c| c == 0).unwrap_or(k.len())]
}

/// A syntax error at a byte offset.
#[derive(Debug, Clone, Copy)]
pub struct SyntaxError {
    pub offset: usize,
    pub what: Txt,
}

type R<T> = Result<T, SyntaxError>;

/// (One copy: inlined, each of the validator's ~15 refusals wrote the whole error itself.)
#[cold]
#[inline(never)]
fn err(offset: usize, what: Txt) -> R<usize> {
    Err(SyntaxError { offset, what })
}

fn ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

/// Validates `b` as one JSON value and unescapes its strings in place; returns the offset of the
/// root value.
pub fn prepare(b: &mut [u8]) -> R<usize> {
    let start = ws(b, 0);
    let mut keys = Keys { off: [0; MAX_KEYS], n: 0 };
    let end = value(b, start, 0, &mut keys)?;
    if ws(b, end) != b.len() {
        return err(end, t!("trailing data after the JSON value"));
    }
    Ok(start)
}

fn value(b: &mut [u8], i: usize, depth: usize, keys: &mut Keys) -> R<usize> {
    if depth > MAX_DEPTH {
        return err(i, t!("nesting too deep"));
    }
    match b.get(i) {
        None => err(i, t!("unexpected end of input")),
        Some(b'"') => string(b, i),
        Some(b'{') => {
            let mut i = ws(b, i + 1);
            if b.get(i) == Some(&b'}') {
                return Ok(i + 1);
            }
            let base = keys.n;
            loop {
                if b.get(i) != Some(&b'"') {
                    return err(i, t!("expected a string key"));
                }
                let e = string(b, i)?;
                let k = key_at(b, i + 1);
                if keys.off[base..keys.n].iter().any(|&o| key_at(b, o as usize) == k) {
                    return err(i, t!("duplicate key in an object"));
                }
                if keys.n == MAX_KEYS {
                    return err(i, t!("more than 1024 keys in nested objects"));
                }
                keys.off[keys.n] = (i + 1) as u32;
                keys.n += 1;
                i = ws(b, e);
                if b.get(i) != Some(&b':') {
                    return err(i, t!("expected ':'"));
                }
                let v = ws(b, i + 1);
                let e = value(b, v, depth + 1, keys)?;
                i = ws(b, e);
                match b.get(i) {
                    Some(b',') => i = ws(b, i + 1),
                    Some(b'}') => {
                        keys.n = base;
                        return Ok(i + 1);
                    }
                    _ => return err(i, t!("expected ',' or '}'")),
                }
            }
        }
        Some(b'[') => {
            let mut i = ws(b, i + 1);
            if b.get(i) == Some(&b']') {
                return Ok(i + 1);
            }
            loop {
                let e = value(b, i, depth + 1, keys)?;
                i = ws(b, e);
                match b.get(i) {
                    Some(b',') => i = ws(b, i + 1),
                    Some(b']') => return Ok(i + 1),
                    _ => return err(i, t!("expected ',' or ']'")),
                }
            }
        }
        Some(b't') => literal(b, i, b"true"),
        Some(b'f') => literal(b, i, b"false"),
        Some(b'n') => literal(b, i, b"null"),
        Some(b'-' | b'0'..=b'9') => number(b, i),
        Some(_) => err(i, t!("unexpected character")),
    }
}

fn literal(b: &[u8], i: usize, lit: &[u8]) -> R<usize> {
    if b[i..].starts_with(lit) { Ok(i + lit.len()) } else { err(i, t!("invalid literal")) }
}

fn number(b: &[u8], mut i: usize) -> R<usize> {
    let start = i;
    let digits = |b: &[u8], mut i: usize| {
        let s = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        (i, i - s)
    };
    if b[i] == b'-' {
        i += 1;
    }
    let (j, n) = digits(b, i);
    if n == 0 || (b[i] == b'0' && n > 1) {
        return err(start, t!("invalid number"));
    }
    i = j;
    if b.get(i) == Some(&b'.') {
        let (j, n) = digits(b, i + 1);
        if n == 0 {
            return err(start, t!("invalid number"));
        }
        i = j;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let (j, n) = digits(b, i);
        if n == 0 {
            return err(start, t!("invalid number"));
        }
        i = j;
    }
    Ok(i)
}

/// The four hex digits at `i` (a code unit: u16, kept in the validator's usize).
fn hex4(b: &[u8], i: usize) -> R<usize> {
    let mut v = 0;
    for k in 0..4 {
        let d = match b.get(i + k) {
            Some(c @ b'0'..=b'9') => c - b'0',
            Some(c @ b'a'..=b'f') => c - b'a' + 10,
            Some(c @ b'A'..=b'F') => c - b'A' + 10,
            _ => return err(i, t!("invalid \\u escape")),
        };
        v = v * 16 + d as usize;
    }
    Ok(v)
}

/// Decodes the string starting at the quote `i` into itself; returns the offset after its
/// closing quote.
fn string(b: &mut [u8], i: usize) -> R<usize> {
    let (mut r, mut w) = (i + 1, i + 1);
    loop {
        let c = match b.get(r) {
            None => return err(i, t!("unterminated string")),
            Some(&c) => c,
        };
        match c {
            b'"' => break,
            0..=0x1f => return err(r, t!("control character in string")),
            b'\\' => {
                let e = match b.get(r + 1) {
                    None => return err(r, t!("unterminated string")),
                    Some(&e) => e,
                };
                r += 2;
                let simple = match e {
                    b'"' => b'"',
                    b'\\' => b'\\',
                    b'/' => b'/',
                    b'b' => 8,
                    b'f' => 12,
                    b'n' => b'\n',
                    b'r' => b'\r',
                    b't' => b'\t',
                    b'u' => 0,
                    _ => return err(r - 2, t!("invalid escape")),
                };
                if e != b'u' {
                    b[w] = simple;
                    w += 1;
                    continue;
                }
                let mut cp = hex4(b, r)? as u32;
                r += 4;
                if (0xd800..0xdc00).contains(&cp) {
                    if b.get(r) != Some(&b'\\') || b.get(r + 1) != Some(&b'u') {
                        return err(r, t!("unpaired surrogate"));
                    }
                    let lo = hex4(b, r + 2)? as u32;
                    if !(0xdc00..0xe000).contains(&lo) {
                        return err(r, t!("unpaired surrogate"));
                    }
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                    r += 6;
                } else if (0xdc00..0xe000).contains(&cp) {
                    return err(r - 6, t!("unpaired surrogate"));
                }
                if cp == 0 {
                    return err(r - 6, t!("\\u0000 in a string"));
                }
                // UTF-8 encode; never longer than the escape it replaces (six bytes, twelve
                // for a pair), so it fits before `r`. Surrogates were refused above.
                w += char::from_u32(cp).map_or(0, |c| c.encode_utf8(&mut b[w..r]).len());
            }
            _ => {
                b[w] = c;
                w += 1;
                r += 1;
            }
        }
    }
    // JSON text is UTF-8: refuse anything else here, so that no config string can put invalid
    // UTF-8 into a message, a log line or state.json.
    if !utf8(&b[i + 1..w]) {
        return err(i, t!("invalid UTF-8 in string"));
    }
    // r is at the closing quote and w <= r: terminate, and pad up to the quote with spaces. With no
    // escapes w == r and the NUL takes the closing quote's place ([`skip`] knows both shapes).
    b[w] = 0;
    if w + 1 < r {
        b[w + 1..r].fill(b' ');
    }
    Ok(r + 1)
}

/// Whether `b` is UTF-8, as JSON text must be (RFC 3629: no overlong form, no surrogate,
/// nothing past U+10FFFF); create checks the bundle path with it (state.json is JSON). A byte
/// at a time: core's from_utf8 is ~400 bytes of word-at-a-time code for texts of a few bytes
/// (the unit tests compare the two on every sequence of up to three bytes and many of four).
#[inline(never)]
pub fn utf8(b: &[u8]) -> bool {
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        // The continuation bytes a lead byte announces, and the smallest code point that
        // needs that many.
        let (more, least) = match c {
            0..=0x7f => (0, 0),
            0xc0..=0xdf => (1, 0x80),
            0xe0..=0xef => (2, 0x800),
            0xf0..=0xf7 => (3, 0x1_0000),
            _ => return false,
        };
        let mut cp = (c & (0x7f >> more)) as u32;
        for k in 1..=more {
            match b.get(i + k) {
                Some(&d) if d & 0xc0 == 0x80 => cp = cp << 6 | (d & 0x3f) as u32,
                _ => return false,
            }
        }
        if cp < least || cp > 0x10_ffff || (0xd800..0xe000).contains(&cp) {
            return false;
        }
        i += 1 + more;
    }
    true
}

/// What a value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Null,
    Bool,
    Number,
    String,
    Array,
    Object,
}

impl Kind {
    /// The JSON name of the kind, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Null => "null",
            Kind::Bool => "boolean",
            Kind::Number => "number",
            Kind::String => "string",
            Kind::Array => "array",
            Kind::Object => "object",
        }
    }
}

/// A value inside a prepared document: the document from the value's first byte to its end.
/// One slice (two registers) rather than the document and an offset: a Val is passed, and an
/// Obj or Arr returned in a Result, in registers instead of through the stack (issue 17).
#[derive(Clone, Copy)]
pub struct Val<'a> {
    b: &'a [u8],
}

/// Length of the value at the start of `b`, a suffix of a prepared document.
#[inline(never)]
fn skip(b: &[u8]) -> usize {
    let (mut i, mut depth) = (0, 0usize);
    loop {
        match b[i] {
            b'"' => {
                // Content, NUL, then either nothing (the NUL replaced the quote) or spaces and the
                // quote. After a string valid JSON never continues with '"', so this is unambiguous.
                while b[i] != 0 {
                    i += 1;
                }
                let mut j = i + 1;
                while j < b.len() && b[j] == b' ' {
                    j += 1;
                }
                i = if j < b.len() && b[j] == b'"' { j + 1 } else { i + 1 };
            }
            b'{' | b'[' => {
                depth += 1;
                i += 1;
            }
            b'}' | b']' => {
                depth -= 1;
                i += 1;
            }
            _ => {
                if depth == 0 {
                    // a scalar at top level: run to its end
                    while i < b.len() && !matches!(b[i], b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t') {
                        i += 1;
                    }
                    return i;
                }
                i += 1;
            }
        }
        if depth == 0 {
            return i;
        }
    }
}

impl<'a> Val<'a> {
    /// The root value of a document that [`prepare`] accepted (`root` is what it returned).
    pub fn root(b: &'a [u8], root: usize) -> Self {
        Val { b: &b[root..] }
    }
    /// The kind of value.
    pub fn kind(&self) -> Kind {
        match self.b[0] {
            b'n' => Kind::Null,
            b't' | b'f' => Kind::Bool,
            b'"' => Kind::String,
            b'[' => Kind::Array,
            b'{' => Kind::Object,
            _ => Kind::Number,
        }
    }
    /// The string as a C string (decoded, NUL-terminated in the buffer).
    #[inline(never)]
    pub fn cstr(&self) -> Option<&'a CStr> {
        if self.kind() != Kind::String {
            return None;
        }
        CStr::from_bytes_until_nul(&self.b[1..]).ok()
    }
    /// The string's bytes, without the NUL.
    pub fn bytes(&self) -> Option<&'a [u8]> {
        self.cstr().map(|c| c.to_bytes())
    }
    /// The raw text of a number.
    fn num(&self) -> Option<&'a [u8]> {
        if self.kind() != Kind::Number {
            return None;
        }
        Some(&self.b[..skip(self.b)])
    }
    /// The number as an i64, if it is an integer in range.
    #[inline(never)]
    pub fn i64(&self) -> Option<i64> {
        mote_sys::num::i64(self.num()?)
    }
    /// The number as a u64, if it is a non-negative integer in range.
    #[inline(never)]
    pub fn u64(&self) -> Option<u64> {
        mote_sys::num::u64(self.num()?)
    }
    /// The boolean.
    pub fn bool(&self) -> Option<bool> {
        match self.b[0] {
            b't' => Some(true),
            b'f' => Some(false),
            _ => None,
        }
    }
    /// Iterates an object's (key, value) pairs.
    pub fn obj(&self) -> Option<Obj<'a>> {
        (self.kind() == Kind::Object).then(|| Obj { b: &self.b[1..] })
    }
    /// Iterates an array's elements.
    pub fn arr(&self) -> Option<Arr<'a>> {
        (self.kind() == Kind::Array).then(|| Arr { b: &self.b[1..] })
    }
}

/// The next member or element of the rest `b` of an object or array (past a comma), or None at
/// the closing `close`.
fn item(b: &[u8], close: u8) -> Option<&[u8]> {
    let mut i = ws(b, 0);
    if b[i] == b',' {
        i = ws(b, i + 1);
    }
    (b[i] != close).then(|| &b[i..])
}

/// Iterator over an object's members: the object's text from the next member on.
pub struct Obj<'a> {
    b: &'a [u8],
}

impl<'a> Iterator for Obj<'a> {
    type Item = (&'a CStr, Val<'a>);
    #[inline(never)]
    fn next(&mut self) -> Option<Self::Item> {
        let b = item(self.b, b'}')?;
        let key = CStr::from_bytes_until_nul(&b[1..]).ok()?;
        let i = ws(b, skip(b));
        let v = &b[ws(b, i + 1)..]; // past ':'
        self.b = &v[skip(v)..];
        Some((key, Val { b: v }))
    }
}

/// The index of `k` among `names` (each one followed by a NUL), else usize::MAX: for [`keys!`].
#[inline(never)]
pub fn find(k: &[u8], names: &str) -> usize {
    names.as_bytes().split(|&c| c == 0).position(|n| n == k).unwrap_or(usize::MAX)
}

/// A `match` on a key (any `&[u8]`) against string literals, as one search of one string:
/// `match k { b"uid" => .. }` compiles to a compare and a branch per byte of every name (~10
/// bytes of code per character at opt-level z), this to a call and a compare per arm. The same
/// arms as a match (a comma after each, `"a" | "b"` alternatives, a last `_` arm):
/// `keys!(k, { "uid" => a, "gid" | "group" => b, _ => c })`.
#[allow(unused_macros)] // (mote-image's)
macro_rules! keys {
    ($k:expr, { $($($name:literal)|+ => $body:expr,)+ _ => $default:expr $(,)? }) => {{
        let i = $crate::json::find($k, concat!($($($name, "\0",)+)+));
        $crate::json::keys!(@arm i; $($($name)|+ => $body,)+ _ => $default)
    }};
    (@arm $i:ident; $($name:literal)|+ => $body:expr, $($rest:tt)*) => {{
        let n = [$($name),+].len();
        if $i < n {
            $body
        } else {
            #[allow(unused_variables)]
            let $i = $i - n;
            $crate::json::keys!(@arm $i; $($rest)*)
        }
    }};
    (@arm $i:ident; _ => $default:expr) => {
        $default
    };
}
#[allow(unused_imports)]
pub(crate) use keys;

/// Iterator over an array's elements: the array's text from the next element on.
pub struct Arr<'a> {
    b: &'a [u8],
}

impl<'a> Iterator for Arr<'a> {
    type Item = Val<'a>;
    #[inline(never)]
    fn next(&mut self) -> Option<Self::Item> {
        let v = item(self.b, b']')?;
        self.b = &v[skip(v)..];
        Some(Val { b: v })
    }
}

/// Writes the compact JSON `src` to `out` indented as Go's json.MarshalIndent(v, "", unit)
/// does (what runc prints for `state` with two spaces, and for `spec` with a tab; what tools
/// grep): a member or element per line, ": " after keys, and empty objects and arrays kept as
/// `{}` and `[]`. Line breaks and blanks between tokens of `src` are left out (cli/spec_json.rs
/// has some, to be read); an empty object or array in `src` is written without them.
pub fn indent(src: &[u8], out: &mut mote_sys::io::Text, unit: &[u8]) {
    let (mut depth, mut in_str, mut esc) = (0usize, false, false);
    let newline = |out: &mut mote_sys::io::Text, depth: usize| {
        out.c(b'\n');
        for _ in 0..depth {
            out.s(unit);
        }
    };
    for (i, &c) in src.iter().enumerate() {
        if in_str {
            out.c(c);
            (in_str, esc) = (esc || c != b'"', !esc && c == b'\\');
            continue;
        }
        match c {
            b'"' => {
                in_str = true;
                out.c(c);
            }
            b'{' | b'[' => {
                out.c(c);
                depth += 1;
                if !matches!(src.get(i + 1), Some(b'}' | b']')) {
                    newline(out, depth);
                }
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                if !matches!(src.get(i.wrapping_sub(1)), Some(b'{' | b'[')) {
                    newline(out, depth);
                }
                out.c(c);
            }
            b',' => {
                out.c(c);
                newline(out, depth);
            }
            b':' => {
                out.s(b": ");
            }
            b' ' | b'\t' | b'\n' | b'\r' => {}
            _ => {
                out.c(c);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! Run on the host by tests/unit (cargo test); see tests/test_unit.py.
    extern crate std;
    use super::*;
    use std::vec::Vec;

    fn prep(s: &str) -> Result<(Vec<u8>, usize), SyntaxError> {
        let mut b = s.as_bytes().to_vec();
        let r = prepare(&mut b)?;
        Ok((b, r))
    }

    fn str_of(s: &str) -> Vec<u8> {
        let (b, r) = prep(s).unwrap();
        Val::root(&b, r).bytes().unwrap().to_vec()
    }

    #[test]
    fn escapes() {
        assert_eq!(str_of(r#""a\nb\t\"\\\/\b\f\r""#), b"a\nb\t\"\\/\x08\x0c\r");
        assert_eq!(str_of(r#""\u00e9\u20ac""#), "é€".as_bytes());
        assert_eq!(str_of("\"é\""), "é".as_bytes());
        assert!(prep(r#""\x""#).is_err());
        assert!(prep(r#""\u12""#).is_err());
        assert!(prep("\"a\nb\"").is_err(), "a raw control character");
        assert!(prep(r#""\u0000""#).is_err());
        assert!(prep("\"abc").is_err());
    }

    #[test]
    fn surrogates() {
        assert_eq!(str_of(r#""\ud83d\ude00""#), "😀".as_bytes());
        assert!(prep(r#""\ud83d""#).is_err());
        assert!(prep(r#""\ud83dx""#).is_err());
        assert!(prep(r#""\ude00""#).is_err());
        assert!(prep(r#""\ud83d\u0041""#).is_err());
    }

    #[test]
    fn utf8_as_core() {
        let same = |b: &[u8]| assert_eq!(utf8(b), core::str::from_utf8(b).is_ok(), "{b:x?}");
        same(b"");
        for x in 0..=0xff_ffffu32 {
            let [a, b, c, _] = x.to_le_bytes();
            same(&[a]);
            same(&[a, b]);
            same(&[a, b, c]);
            same(&[b'x', a, b, c, b'y']);
        }
        // Four bytes: every lead byte with continuations at their edges and between.
        let edges = [0x00, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xff];
        for a in 0..=0xffu8 {
            for b in edges {
                for c in edges {
                    for d in edges {
                        same(&[a, b, c, d]);
                    }
                }
            }
        }
    }

    #[test]
    fn invalid_utf8() {
        let mut b = b"\"\xff\"".to_vec();
        assert!(prepare(&mut b).is_err());
        let mut b = b"\"\xc3\"".to_vec();
        assert!(prepare(&mut b).is_err());
    }

    #[test]
    fn numbers_at_the_edges() {
        let num = |s: &str| {
            let (b, r) = prep(s).unwrap();
            let v = Val::root(&b, r);
            (v.i64(), v.u64())
        };
        assert_eq!(num("9223372036854775807"), (Some(i64::MAX), Some(i64::MAX as u64)));
        assert_eq!(num("-9223372036854775808"), (Some(i64::MIN), None));
        assert_eq!(num("18446744073709551615"), (None, Some(u64::MAX)));
        assert_eq!(num("18446744073709551616"), (None, None));
        assert_eq!(num("-0"), (Some(0), None));
        assert_eq!(num("1.5"), (None, None));
        assert_eq!(num("1e3"), (None, None));
        for bad in ["01", "-", "1.", ".5", "1e", "+1", "--1", "0x1"] {
            assert!(prep(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn depth() {
        let nest = |n: usize| "[".repeat(n) + &"]".repeat(n);
        assert!(prep(&nest(MAX_DEPTH + 1)).is_ok());
        assert!(prep(&nest(MAX_DEPTH + 2)).is_err());
        let objs = |n: usize| r#"{"a":"#.repeat(n) + "1" + &"}".repeat(n);
        assert!(prep(&objs(MAX_DEPTH)).is_ok());
        assert!(prep(&objs(MAX_DEPTH + 2)).is_err());
    }

    #[test]
    fn duplicate_keys() {
        assert!(prep(r#"{"a":1,"a":2}"#).is_err());
        assert!(prep(r#"{"a":1,"\u0061":2}"#).is_err(), "equal once unescaped");
        assert!(prep(r#"{"a":{"b":1},"c":{"b":1}}"#).is_ok(), "siblings may share keys");
        assert!(prep(r#"{"a":{"a":{"a":1}}}"#).is_ok(), "so may nested objects");
        assert!(prep(r#"[{"a":1},{"a":1}]"#).is_ok());
        assert!(prep(r#"{"a":[{"b":1,"b":2}]}"#).is_err());
        assert!(prep(r#"{"ab":1,"a":2,"abc":3}"#).is_ok(), "prefixes are not duplicates");
        let many: Vec<String> = (0..MAX_KEYS).map(|i| std::format!("\"k{i}\":0")).collect();
        assert!(prep(&("{".to_string() + &many.join(",") + "}")).is_ok());
        let many: Vec<String> = (0..=MAX_KEYS).map(|i| std::format!("\"k{i}\":0")).collect();
        assert!(prep(&("{".to_string() + &many.join(",") + "}")).is_err());
    }

    #[test]
    fn walk_after_prepare() {
        let (b, r) = prep(r#" {"x": ["a\n", 1, true, null, {"y": -2}], "z": "q"} "#).unwrap();
        let v = Val::root(&b, r);
        let mut it = v.obj().unwrap();
        let (k, x) = it.next().unwrap();
        assert_eq!(k.to_bytes(), b"x");
        let items: Vec<Val> = x.arr().unwrap().collect();
        assert_eq!(items.len(), 5);
        assert_eq!(items[0].bytes(), Some(&b"a\n"[..]));
        assert_eq!(items[2].bool(), Some(true));
        assert_eq!(items[3].kind(), Kind::Null);
        assert_eq!(items[4].obj().unwrap().next().unwrap().1.i64(), Some(-2));
        let (k, z) = it.next().unwrap();
        assert_eq!((k.to_bytes(), z.bytes()), (&b"z"[..], Some(&b"q"[..])));
        assert!(it.next().is_none());
        assert!(prep("{} x").is_err());
        assert!(prep("").is_err());
    }
}
