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
