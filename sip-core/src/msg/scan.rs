//! Byte-level helpers of the parsers: character classes of RFC 3261 §25.1 and a fast
//! line-end search.

/// Position of the first `needle` in `hay`, eight bytes at a time (SWAR), in safe code.
///
/// The header section is scanned once for line ends; a byte loop costs about one cycle per
/// byte, this costs about one per word.
pub(crate) fn find_byte(hay: &[u8], needle: u8) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let pattern = LO.wrapping_mul(u64::from(needle));
    let mut chunks = hay.chunks_exact(8);
    let mut base = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word) ^ pattern;
        let found = x.wrapping_sub(LO) & !x & HI;
        if found != 0 {
            return Some(base + (found.trailing_zeros() / 8) as usize);
        }
        base += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == needle)
        .map(|i| base + i)
}

/// The parser's line-end search: memchr's AVX2 searcher when the CPU has it (one call per
/// line instead of going through memchr's dispatch each time), else `memchr::memchr` (SSE2 or
/// portable).
#[derive(Clone, Copy, Debug)]
pub(crate) struct LineEnds {
    #[cfg(target_arch = "x86_64")]
    avx2: Option<&'static memchr::arch::x86_64::avx2::memchr::One>,
}

/// The AVX2 searcher, built once per process (building it per message copied 64 bytes of
/// vectors through the stack).
#[cfg(target_arch = "x86_64")]
static AVX2_LF: std::sync::OnceLock<Option<memchr::arch::x86_64::avx2::memchr::One>> =
    std::sync::OnceLock::new();

impl LineEnds {
    #[inline]
    pub(crate) fn new() -> Self {
        Self {
            #[cfg(target_arch = "x86_64")]
            avx2: AVX2_LF
                .get_or_init(|| memchr::arch::x86_64::avx2::memchr::One::new(b'\n'))
                .as_ref(),
        }
    }

    /// Position of the first LF in `hay`.
    #[inline]
    pub(crate) fn find(&self, hay: &[u8]) -> Option<usize> {
        #[cfg(target_arch = "x86_64")]
        if let Some(one) = self.avx2 {
            return one.find(hay);
        }
        memchr::memchr(b'\n', hay)
    }
}

/// RFC 3261 `token` characters: alphanum and `-.!%*_+`'~`.
pub(crate) fn is_token(b: u8) -> bool {
    TOKEN[usize::from(b)]
}

/// The length of the token `s` starts with (0 when its first byte is not a token character).
#[inline]
pub(crate) fn token_len(s: &[u8]) -> usize {
    s.iter().position(|&c| !is_token(c)).unwrap_or(s.len())
}

/// Whether every byte is a token character and there is at least one.
#[inline]
pub(crate) fn all_token(s: &[u8]) -> bool {
    !s.is_empty() && all_in(s, &TOKEN)
}

/// Whether `table` takes every byte of `s` (true for an empty `s`). The bytes' entries are
/// ANDed without an exit at the first miss: a loop of a load, a table load and an AND per
/// byte, which the compiler unrolls (a short-circuit `all` cost a compare and a branch
/// more per byte; the values checked here are almost always good).
#[inline]
pub(crate) fn all_in(s: &[u8], table: &[bool; 256]) -> bool {
    s.iter().fold(true, |ok, &b| ok & table[usize::from(b)])
}

/// Whitespace inside a header value, including the CRLF of a folded line.
pub(crate) fn is_lws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// Strips linear whitespace (incl. folding) from both ends.
pub(crate) fn trim_lws(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if is_lws(*first) {
            s = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = s {
        if is_lws(*last) {
            s = rest;
        } else {
            break;
        }
    }
    s
}

/// Offset of `sub` inside `base`, where `sub` is a sub-slice of `base`.
pub(crate) fn offset_in(base: &[u8], sub: &[u8]) -> usize {
    (sub.as_ptr() as usize).saturating_sub(base.as_ptr() as usize)
}

/// Parses a decimal number of at most `max_digits` digits (no sign, no spaces).
pub(crate) fn parse_u64(s: &[u8], max_digits: usize) -> Option<u64> {
    if s.is_empty() || s.len() > max_digits {
        return None;
    }
    let mut n: u64 = 0;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(n)
}

/// Appends `n` in decimal (no `fmt` machinery: builders write every number this way), with
/// one store per digit and no division loop for the one- and two-digit numbers of a new
/// request (CSeq 1, Max-Forwards 70).
#[inline]
pub(crate) fn put_u32(out: &mut Vec<u8>, n: u32) {
    match u8::try_from(n) {
        Ok(n @ 0..=9) => out.push(b'0' + n),
        Ok(n @ 10..=99) => out.extend_from_slice(&[b'0' + n / 10, b'0' + n % 10]),
        _ => put_u64(out, u64::from(n)),
    }
}

/// Appends `n` in decimal.
pub(crate) fn put_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        if let Some(d) = digits.get_mut(i) {
            // n % 10 < 10: the cast cannot truncate
            *d = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || i == 0 {
            break;
        }
    }
    out.extend_from_slice(digits.get(i..).unwrap_or_default());
}

/// Whether every byte is above 0x20 (no space, tab, CR, LF or other control) and none
/// equals `not`, eight bytes per step (the "has less than" and "has zero" word tests, exact
/// as yes/no answers).
pub(crate) fn all_visible_except(v: &[u8], not: u8) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let bad = |w: u64| {
        let x = w ^ (ONES * u64::from(not));
        ((w.wrapping_sub(ONES * 0x21) & !w) | (x.wrapping_sub(ONES) & !x)) & HIGH
    };
    let word = |c: &[u8]| u64::from_le_bytes(c.try_into().unwrap_or([0; 8]));
    if v.len() < 8 {
        return v.iter().all(|&c| c > 0x20 && c != not);
    }
    let mut acc = 0;
    let mut chunks = v.chunks_exact(8);
    for c in &mut chunks {
        acc |= bad(word(c));
    }
    // the tail as the last eight bytes, overlapping the last chunk
    acc |= bad(word(v.get(v.len() - 8..).unwrap_or_default()));
    acc == 0
}

/// The bytes as `&str`; callers pass bytes already checked to be ASCII or UTF-8.
pub(crate) fn as_str(b: &[u8]) -> &str {
    std::str::from_utf8(b).unwrap_or_default()
}

/// The `token` character table (also the base of other character classes).
pub(crate) const fn token_table() -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
            );
        i += 1;
    }
    t
}

static TOKEN: [bool; 256] = token_table();

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_byte_matches_position() {
        let hay = b"abcdefghijklmnopqrstuvwxyz\r\n0123";
        for needle in [b'a', b'h', b'i', b'\n', b'3', b'Z'] {
            assert_eq!(
                find_byte(hay, needle),
                hay.iter().position(|&b| b == needle)
            );
        }
        for len in 0..hay.len() {
            assert_eq!(
                find_byte(&hay[..len], b'\n'),
                hay[..len].iter().position(|&b| b == b'\n')
            );
        }
        // high bytes must not produce false positives
        assert_eq!(find_byte(&[0x8a; 16], b'\n'), None);
        assert_eq!(
            find_byte(&[0x0b, 0x0a, 0x09, 0x8a, 0x8b, 0, 0, 0, 0x0a], b'\n'),
            Some(1)
        );
    }

    #[test]
    fn put_u32_writes_decimal() {
        for n in [0, 7, 10, 99, 100, 65_535, 1_000_000_007, u32::MAX] {
            let mut out = b"x".to_vec();
            put_u32(&mut out, n);
            assert_eq!(out, format!("x{n}").into_bytes());
        }
        let mut out = Vec::new();
        put_u64(&mut out, u64::MAX);
        assert_eq!(out, u64::MAX.to_string().into_bytes());
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_u64(b"4294967295", 10), Some(4_294_967_295));
        assert_eq!(parse_u64(b"", 10), None);
        assert_eq!(parse_u64(b"12a", 10), None);
        assert_eq!(parse_u64(b"12345678901", 10), None);
    }

    /// `all_token` is the bytewise test of `is_token`, whatever the byte and its place.
    #[test]
    fn all_token_matches_bytewise() {
        assert!(!all_token(b""));
        for len in 1..20 {
            for at in 0..len {
                for c in 0..=255u8 {
                    let mut v = vec![b'a'; len];
                    v[at] = c;
                    let want = c.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&c);
                    assert_eq!(all_token(&v), want, "{len} {at} {c}");
                }
            }
        }
    }

    #[test]
    fn all_visible_except_matches_bytewise() {
        for len in 0..24 {
            for at in 0..len {
                for c in 0..=255u8 {
                    let mut v = vec![b'a'; len];
                    v[at] = c;
                    let want = v.iter().all(|&c| c > 0x20 && c != b';');
                    assert_eq!(all_visible_except(&v, b';'), want, "{len} {at} {c}");
                }
            }
        }
    }
}
