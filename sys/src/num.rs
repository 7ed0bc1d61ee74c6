//! The one decimal parser of both binaries: checked, so input never wraps or saturates.

/// `b` as an unsigned decimal: one or more ASCII digits, nothing else, no overflow.
#[inline(never)]
pub fn u64(b: &[u8]) -> Option<u64> {
    if b.is_empty() {
        return None;
    }
    b.iter().try_fold(0u64, |n, &c| {
        let d = c.checked_sub(b'0').filter(|d| *d <= 9)?;
        n.checked_mul(10)?.checked_add(d as u64)
    })
}

/// `b` as a signed decimal: an optional '-' then digits, within i64.
pub fn i64(b: &[u8]) -> Option<i64> {
    match b.strip_prefix(b"-") {
        Some(d) => 0i64.checked_sub_unsigned(u64(d)?),
        None => u64(b)?.try_into().ok(),
    }
}

/// `b` as an unsigned decimal that fits `T` (u32, i32, usize...).
pub fn parse<T: TryFrom<u64>>(b: &[u8]) -> Option<T> {
    T::try_from(u64(b)?).ok()
}

/// `b` as a byte size the way runc's `update` flags read one (go-units' RAMInBytes): digits,
/// an optional fraction, an optional space, an optional k, m, g, t or p (powers of 1024, any
/// case), an optional "i" and "b": "100", "1.5g", "512MiB", "1GB", "2t", "64 kb". A fraction is
/// cut toward zero, as Go's float-to-int conversion. `Err(true)` past i64, `Err(false)` not a size.
#[inline(never)]
pub fn size(b: &[u8]) -> Result<i64, bool> {
    let end = b.iter().position(|c| !c.is_ascii_digit() && *c != b'.').unwrap_or(b.len());
    let (num, mut rest) = b.split_at(end);
    let (int, frac) = match num.iter().position(|&c| c == b'.') {
        Some(i) => (&num[..i], Some(&num[i + 1..])),
        None => (num, None),
    };
    rest = rest.strip_prefix(b" ").unwrap_or(rest);
    let shift = match rest.first().map(u8::to_ascii_lowercase).and_then(|c| b"kmgtp".iter().position(|&u| u == c)) {
        Some(i) => {
            rest = &rest[1..];
            10 * (i as u32 + 1)
        }
        None => 0,
    };
    for suffix in [b'i', b'b'] {
        if rest.first().map(u8::to_ascii_lowercase) == Some(suffix) {
            rest = &rest[1..];
        }
    }
    let frac = frac.unwrap_or(b"0");
    if !rest.is_empty() || int.is_empty() || frac.is_empty() || !frac.iter().all(u8::is_ascii_digit) {
        return Err(false);
    }
    let whole = u64(int).ok_or(true)?.checked_mul(1 << shift).ok_or(true)?;
    // Digits past the 18th of a fraction change the bytes by less than one: checked, not used.
    let d = &frac[..frac.len().min(18)];
    // part = d * 2^shift / 10^len(d), cut, by binary long division one bit of the shift at a
    // time: the remainder stays below 10^18, so twice it fits a u64 (a u128 division pulled in
    // compiler_builtins' ~1 KB of it for this one line).
    let den = 10u64.pow(d.len() as u32);
    let (mut rem, mut part) = (u64(d).unwrap_or(0), 0u64);
    for _ in 0..shift {
        rem <<= 1;
        part = part << 1 | (rem >= den) as u64;
        if rem >= den {
            rem -= den;
        }
    }
    whole.checked_add(part).and_then(|n| i64::try_from(n).ok()).ok_or(true)
}
