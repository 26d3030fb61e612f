//! Typed views of the attributes calls use. Attributes stay verbatim in the model
//! ([`Attribute`]); these types parse a value on demand and build new attributes.

use std::fmt::Write as _;

use crate::attributes::{Attributes, Kind};
use crate::error::AttributeError;
use crate::model::{Attribute, Text};
use crate::sdes::Crypto;

/// Media direction attributes (RFC 8866 §6.7, RFC 3264 §5.1).
#[derive(Clone, Copy, Debug, Default, Eq, Hash, PartialEq)]
pub enum Direction {
    /// `a=sendrecv` (the default).
    #[default]
    SendRecv,
    /// `a=sendonly`.
    SendOnly,
    /// `a=recvonly`.
    RecvOnly,
    /// `a=inactive`.
    Inactive,
}

impl Direction {
    /// The attribute name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::SendRecv => "sendrecv",
            Self::SendOnly => "sendonly",
            Self::RecvOnly => "recvonly",
            Self::Inactive => "inactive",
        }
    }

    /// Parses an attribute name.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "sendrecv" => Self::SendRecv,
            "sendonly" => Self::SendOnly,
            "recvonly" => Self::RecvOnly,
            "inactive" => Self::Inactive,
            _ => return None,
        })
    }

    /// Whether this side sends.
    pub const fn sends(self) -> bool {
        matches!(self, Self::SendRecv | Self::SendOnly)
    }

    /// Whether this side receives.
    pub const fn receives(self) -> bool {
        matches!(self, Self::SendRecv | Self::RecvOnly)
    }

    /// The direction seen from the other side (sendonly <-> recvonly).
    pub const fn reversed(self) -> Self {
        match self {
            Self::SendOnly => Self::RecvOnly,
            Self::RecvOnly => Self::SendOnly,
            d => d,
        }
    }

    /// From send/receive flags.
    pub const fn from_flags(send: bool, recv: bool) -> Self {
        match (send, recv) {
            (true, true) => Self::SendRecv,
            (true, false) => Self::SendOnly,
            (false, true) => Self::RecvOnly,
            (false, false) => Self::Inactive,
        }
    }

    /// Both sides' wishes combined: sends only if both allow it (RFC 3264 §6.1).
    pub const fn intersect(self, other: Self) -> Self {
        Self::from_flags(
            self.sends() && other.sends(),
            self.receives() && other.receives(),
        )
    }

    /// The flag attribute.
    pub const fn to_attribute(self) -> Attribute {
        Attribute::flag_static(self.as_str())
    }
}

/// `a=rtpmap:<payload type> <encoding name>/<clock rate>[/<channels>]` (RFC 8866 §6.6).
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Rtpmap {
    /// Payload type 0..=127.
    pub payload_type: u8,
    /// Encoding name as written (match case-insensitively).
    pub encoding: String,
    /// RTP clock rate (8000 for G.722, RFC 3551 §4.5.2).
    pub clock_rate: u32,
    /// Channel count when written.
    pub channels: Option<u16>,
}

impl Rtpmap {
    /// Parses the value of an `a=rtpmap`.
    ///
    /// # Errors
    /// An [`AttributeError`] naming the bad field.
    pub fn parse(value: &str) -> Result<Self, AttributeError> {
        let (pt, enc, clock, channels) = rtpmap_fields(value)?;
        Ok(Self {
            payload_type: pt,
            encoding: enc.to_owned(),
            clock_rate: clock,
            channels,
        })
    }

    /// The channel count, 1 when not written (RFC 8866 §6.6).
    pub fn channel_count(&self) -> u16 {
        self.channels.unwrap_or(1)
    }

    /// The attribute.
    pub fn to_attribute(&self) -> Attribute {
        let mut v = format!(
            "{} {}/{}",
            self.payload_type, self.encoding, self.clock_rate
        );
        if let Some(c) = self.channels {
            let _ = write!(v, "/{c}");
        }
        Attribute::new("rtpmap", v)
    }
}

/// `<pt> <name>/<rate>[/<channels>]`, every number plain decimal digits: one pass over the
/// bytes (it runs for every rtpmap of every parse and negotiation).
#[inline]
fn rtpmap_grammar(value: &str) -> Option<(u8, &str, u32, Option<u16>)> {
    let b = value.as_bytes();
    let (pt, after_pt) = leading_digits(b)?;
    let [b' ', name_on @ ..] = after_pt else {
        return None;
    };
    // The encoding name runs to the first `/`; a space before it is an error.
    let name_len = name_on.iter().position(|c| matches!(c, b'/' | b' '))?;
    let [b'/', clock_on @ ..] = name_on.get(name_len..)? else {
        return None;
    };
    if name_len == 0 {
        return None;
    }
    let (clock, rest) = leading_digits(clock_on)?;
    let channels = match rest {
        [] => None,
        [b'/', ch @ ..] => match leading_digits(ch)? {
            (ch, []) => Some(u16::try_from(ch).ok()?),
            _ => return None,
        },
        _ => return None,
    };
    // The name lies between the ASCII bytes ` ` and `/`, so both ends are character
    // boundaries.
    let start = b.len() - name_on.len();
    Some((
        u8::try_from(pt).ok()?,
        // Two one-sided cuts: inlined, where a `Range` cut of a `str` is a call.
        value.get(start..)?.get(..name_len)?,
        u32::try_from(clock).ok()?,
        channels,
    ))
}

/// The decimal number of the one or more digits that start `b`, and the bytes after them;
/// `None` without a digit or when the number overflows `u64`.
#[inline]
pub(crate) fn leading_digits(b: &[u8]) -> Option<(u64, &[u8])> {
    let mut n = 0u64;
    let mut count = 0;
    for c in b {
        let digit = c.wrapping_sub(b'0');
        if digit > 9 {
            break;
        }
        // Up to 19 digits cannot overflow; longer numbers are checked again below.
        n = n.wrapping_mul(10).wrapping_add(u64::from(digit));
        count += 1;
    }
    let (digits, rest) = b.split_at_checked(count)?;
    if count == 0 {
        return None;
    }
    if count > 19 {
        n = 0;
        for c in digits {
            n = n.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
        }
    }
    Some((n, rest))
}

/// `s` split at the first `sep` (which belongs to neither side).
#[inline]
pub(crate) fn split_byte(s: &str, sep: u8) -> Option<(&str, &str)> {
    let i = find_byte(s.as_bytes(), sep)?;
    Some((s.get(..i)?, s.get(i + 1..)?))
}

/// Index of the first `b` in `bytes`, eight bytes at a time (SDP fields are too short for
/// memchr's set-up cost to pay off, and a byte loop takes 3-4 instructions per byte).
pub(crate) fn find_byte(bytes: &[u8], b: u8) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let pattern = LO * u64::from(b);
    let mut chunks = bytes.chunks_exact(8);
    let mut i = 0;
    for chunk in &mut chunks {
        let Ok(word) = <[u8; 8]>::try_from(chunk) else {
            break;
        };
        let v = u64::from_le_bytes(word) ^ pattern;
        // A zero byte in v marks a match; the lowest flagged byte is exact.
        let hit = v.wrapping_sub(LO) & !v & HI;
        if hit != 0 {
            return Some(i + (hit.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|c| *c == b)
        .map(|j| i + j)
}

/// The pieces of `s` between `sep` bytes, like `str::split` with an ASCII char but without
/// the substring searcher's set-up cost, which dominates on the short fields of SDP.
pub(crate) fn split_on(s: &str, sep: u8) -> SplitOn<'_> {
    SplitOn { rest: Some(s), sep }
}

/// Iterator of [`split_on`].
pub(crate) struct SplitOn<'a> {
    rest: Option<&'a str>,
    sep: u8,
}

impl<'a> Iterator for SplitOn<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let rest = self.rest?;
        match split_byte(rest, self.sep) {
            Some((piece, tail)) => {
                self.rest = Some(tail);
                Some(piece)
            }
            None => {
                self.rest = None;
                Some(rest)
            }
        }
    }
}

/// Whether `s` contains the ASCII byte `b`.
pub(crate) fn has_byte(s: &str, b: u8) -> bool {
    s.bytes().any(|c| c == b)
}

/// `n` in decimal, written at the end of `buf` (without the formatting machinery of
/// `write!`), two digits per division.
pub(crate) fn decimal_digits(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    // u64::MAX has 20 digits: the buffer holds every number, so no write is skipped.
    let mut i = buf.len();
    loop {
        if n < 10 {
            i = i.saturating_sub(1);
            if let Some(d) = buf.get_mut(i) {
                // n < 10: the cast cannot truncate.
                *d = b'0' + n as u8;
            }
            break;
        }
        // n % 100 < 100: the cast cannot truncate.
        let pair = (n % 100) as usize * 2;
        n /= 100;
        i = i.saturating_sub(2);
        if let (Some(dst), Some(src)) = (buf.get_mut(i..i + 2), DIGIT_PAIRS.get(pair..pair + 2)) {
            dst.copy_from_slice(src);
        }
        if n == 0 {
            break;
        }
    }
    buf.get(i..).unwrap_or_default()
}

/// `00`, `01`, ... `99`.
const DIGIT_PAIRS: [u8; 200] = {
    let mut t = [0u8; 200];
    let mut k = 0;
    while k < 100 {
        t[2 * k] = b'0' + (k / 10) as u8;
        t[2 * k + 1] = b'0' + (k % 10) as u8;
        k += 1;
    }
    t
};

/// Appends `n` in decimal.
pub(crate) fn push_decimal(out: &mut String, n: u64) {
    for d in decimal_digits(n, &mut [0; 20]) {
        out.push(char::from(*d));
    }
}

/// One or more decimal digits (no sign, leading zeros allowed) that fit `T`.
pub(crate) fn decimal<T: TryFrom<u64>>(s: &str) -> Option<T> {
    match leading_digits(s.as_bytes())? {
        (n, []) => T::try_from(n).ok(),
        _ => None,
    }
}

/// One or more decimal digits that fit `T`, after an optional `+` when `plus` (what
/// `str::parse` takes, and what telox's parse took before session 5: a strict parse refuses
/// the sign, a lenient one and the typed views of a parsed description accept it).
pub(crate) fn unsigned<T: TryFrom<u64>>(s: &str, plus: bool) -> Option<T> {
    decimal(if plus {
        s.strip_prefix('+').unwrap_or(s)
    } else {
        s
    })
}

/// Zero-allocation rtpmap fields: payload type, encoding, clock rate, channels. The usual
/// shape is read in one pass ([`rtpmap_usual`]: offer/answer reads every rtpmap of both
/// descriptions this way); any other value goes through the grammar, which names the field
/// it rejects.
#[inline]
pub(crate) fn rtpmap_fields(value: &str) -> Result<(u8, &str, u32, Option<u16>), AttributeError> {
    if let Some((pt, name, clock, channels)) = rtpmap_usual(value.as_bytes())
        && let Some(enc) = value.get(name.start..).and_then(|v| v.get(..name.len()))
    {
        // `rtpmap_usual` bounds them: pt <= 127, channels of at most 4 digits.
        return Ok((pt as u8, enc, clock, channels.map(|c| c as u16)));
    }
    rtpmap_fields_general(value)
}

/// [`rtpmap_fields`] by the grammar, for every value.
fn rtpmap_fields_general(value: &str) -> Result<(u8, &str, u32, Option<u16>), AttributeError> {
    let bad = |field| AttributeError::new("rtpmap", field);
    let (pt, enc, clock, channels) =
        rtpmap_grammar(value).ok_or(bad("<pt> <name>/<rate>[/<ch>]"))?;
    if pt > 127 {
        return Err(bad("payload type"));
    }
    if clock == 0 {
        return Err(bad("clock rate"));
    }
    if channels == Some(0) {
        return Err(bad("channels"));
    }
    Ok((pt, enc, clock, channels))
}

/// Checks an rtpmap value exactly as [`rtpmap_fields`] does, without building the fields
/// (the strict parse runs it on every rtpmap line).
#[inline]
pub(crate) fn check_rtpmap(value: &str) -> Result<(), AttributeError> {
    match rtpmap_usual(value.as_bytes()) {
        Some(_) => Ok(()),
        None => rtpmap_fields_general(value).map(|_| ()),
    }
}

/// The usual rtpmap shape in one pass over the bytes: a payload type of 1-3 digits up to
/// 127, a non-empty encoding name (its byte range is returned), a clock rate of 1-9 digits
/// and not 0, channels of 1-4 digits and not 0: numbers that fit their types whatever the
/// digits, fields the grammar accepts alike. `None` is "not this shape" (the value may
/// still be valid), never "invalid".
#[inline]
fn rtpmap_usual(b: &[u8]) -> Option<RtpmapUsual> {
    let (fields, end) = rtpmap_scan(b)?;
    (end == b.len()).then_some(fields)
}

/// [`rtpmap_usual`]'s fields: payload type, encoding name's byte range, clock rate, channels.
type RtpmapUsual = (u32, std::ops::Range<usize>, u32, Option<u32>);

/// The end of an rtpmap value at the start of `line` (the bytes after `a=rtpmap:`) when it
/// has [`rtpmap_usual`]'s shape and a CR or LF follows it: the strict parse takes the
/// value's check as the search for the line's end. No byte of the shape is a CR or LF, so
/// the end is the line's first one, and the value up to it passes [`check_rtpmap`].
///
/// A check, not a read: the numbers are found by their digit runs, eight bytes at a time,
/// and only their bounds are tested (a payload type of 1-3 digits up to 127, a clock rate of
/// 1-9 digits and channels of 1-4, neither all zeros), not their values computed; the same
/// answer as [`rtpmap_scan`] followed by the CR/LF test (a test compares them).
#[inline]
pub(crate) fn rtpmap_line_end(line: &[u8]) -> Option<usize> {
    // Not all zeros: a value that is not 0.
    let nonzero = |digits: &[u8]| digits.iter().any(|c| *c != b'0');
    let pt = digit_run(line);
    // Three digits are at most 127: digit strings of one length compare as their values.
    if !(1..=3).contains(&pt) || (pt == 3 && line.get(..3) > Some(b"127".as_slice())) {
        return None;
    }
    let name = pt + 1;
    if line.get(pt) != Some(&b' ') {
        return None;
    }
    let slash = name + name_end(line.get(name..).unwrap_or_default());
    if slash == name || line.get(slash) != Some(&b'/') {
        return None;
    }
    let clock = slash + 1;
    let clock_on = line.get(clock..).unwrap_or_default();
    let clock_len = digit_run(clock_on);
    if !(1..=9).contains(&clock_len) || !nonzero(clock_on.get(..clock_len)?) {
        return None;
    }
    let mut end = clock + clock_len;
    if line.get(end) == Some(&b'/') {
        let channels_on = line.get(end + 1..).unwrap_or_default();
        let channels_len = digit_run(channels_on);
        if !(1..=4).contains(&channels_len) || !nonzero(channels_on.get(..channels_len)?) {
            return None;
        }
        end += 1 + channels_len;
    }
    matches!(line.get(end), Some(b'\r' | b'\n')).then_some(end)
}

/// The number of ASCII digits that start `b`, eight bytes at a time: a byte is a digit when
/// its high nibble is 3 and its low nibble plus 6 stays below 16 (no sum carries into the
/// next byte), so the first byte that is not one is the lowest byte with a flag.
#[inline]
pub(crate) fn digit_run(b: &[u8]) -> usize {
    const HIGH: u64 = 0xf0f0_f0f0_f0f0_f0f0;
    const LOW: u64 = 0x0f0f_0f0f_0f0f_0f0f;
    const ZEROS: u64 = 0x3030_3030_3030_3030;
    const SIXES: u64 = 0x0606_0606_0606_0606;
    first_flagged(
        b,
        |w| {
            let v = w ^ ZEROS;
            (v & HIGH) | (((v & LOW) + SIXES) & HIGH)
        },
        |c| !c.is_ascii_digit(),
    )
}

/// The index of the first byte of `b` that `stop` takes (or the length), eight bytes at a
/// time while eight are left: `flags` of a little-endian word must be zero where no byte
/// stops and flag the first byte that does in its lowest set bit (`stop` then reads the
/// last bytes one by one).
#[inline(always)]
fn first_flagged(b: &[u8], flags: impl Fn(u64) -> u64, stop: impl Fn(u8) -> bool) -> usize {
    let mut i = 0;
    while let Some(word) = b.get(i..).and_then(<[u8]>::first_chunk::<8>) {
        let hit = flags(u64::from_le_bytes(*word));
        if hit != 0 {
            return i + (hit.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    let tail = b.get(i..).unwrap_or_default();
    i + tail.iter().position(|c| stop(*c)).unwrap_or(tail.len())
}

/// The end of a number at the start of `line` (the bytes after `a=ptime:`, `a=rtcp:`...)
/// that a CR or LF follows: 1 to `max_len` (at most 9) digits of a value up to
/// `max_value`, the shape [`check_millis`] (`max_len` 9) accepts directly.
#[inline]
pub(crate) fn digits_line_end(line: &[u8], max_len: usize, max_value: u32) -> Option<usize> {
    let mut n = 0u32;
    let mut i = 0;
    while let Some(d) = line
        .get(i)
        .map(|c| c.wrapping_sub(b'0'))
        .filter(|d| *d <= 9)
    {
        // At most `max_len` (<= 9) digits are read: no overflow.
        n = n.wrapping_mul(10).wrapping_add(u32::from(d));
        i += 1;
        if i > max_len {
            return None;
        }
    }
    (i > 0 && n <= max_value && matches!(line.get(i), Some(b'\r' | b'\n'))).then_some(i)
}

/// [`rtpmap_usual`]'s shape from the start of `b`, up to the first byte that does not
/// continue it: the fields and the index of that byte. The name stops at `/` or at any byte
/// up to a space ([`name_end`]); only a `/` continues the shape.
#[inline]
fn rtpmap_scan(b: &[u8]) -> Option<(RtpmapUsual, usize)> {
    // Reads 1..=max digits at `*i`.
    let number = |i: &mut usize, max: usize| -> Option<u32> {
        let start = *i;
        let mut n = 0u32;
        while let Some(d) = b.get(*i).map(|c| c.wrapping_sub(b'0')).filter(|d| *d <= 9) {
            if *i - start == max {
                return None;
            }
            n = n * 10 + u32::from(d);
            *i += 1;
        }
        (*i > start).then_some(n)
    };
    let mut i = 0;
    let pt = number(&mut i, 3)?;
    if b.get(i) != Some(&b' ') {
        return None;
    }
    i += 1;
    let name = i;
    i += name_end(b.get(i..).unwrap_or_default());
    if i == name || b.get(i) != Some(&b'/') {
        return None;
    }
    let name = name..i;
    i += 1;
    let clock = number(&mut i, 9)?;
    let channels = match b.get(i) {
        Some(b'/') => {
            i += 1;
            Some(number(&mut i, 4)?)
        }
        _ => None,
    };
    // As the grammar: a payload type over 255 does not fit its u8, one over 127 is not an
    // RTP payload type.
    (pt <= 127 && clock != 0 && channels != Some(0)).then_some(((pt, name, clock, channels), i))
}

/// Where an rtpmap encoding name at the start of `rest` stops: the first `/`, or the first
/// byte up to a space (CR, LF, tab, a control byte), eight bytes at a time (names are 4-15
/// bytes, and a byte loop with four compares took some 10 instructions a byte). A stop at
/// any byte but `/` makes [`rtpmap_scan`] decline the value, which the grammar then reads.
#[inline]
fn name_end(rest: &[u8]) -> usize {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    first_flagged(
        rest,
        |v| {
            let slash = v ^ (LO * u64::from(b'/'));
            // Flags the bytes below 0x21 and the zero bytes of `slash` (the `/`s); the lowest
            // flag of each test is exact (borrows only run upwards), so the lowest of both is.
            ((v.wrapping_sub(LO * 0x21) & !v) | (slash.wrapping_sub(LO) & !slash)) & HI
        },
        |c| c <= b' ' || c == b'/',
    )
}

/// `a=fmtp:<format> <parameters>` (RFC 8866 §6.15).
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Fmtp {
    /// The format (payload type for RTP).
    pub format: String,
    /// The parameters verbatim.
    pub params: String,
}

impl Fmtp {
    /// Parses the value of an `a=fmtp`.
    ///
    /// # Errors
    /// An [`AttributeError`] when the format is missing.
    pub fn parse(value: &str) -> Result<Self, AttributeError> {
        let (format, params) = fmtp_fields(value)?;
        Ok(Self {
            format: format.to_owned(),
            params: params.to_owned(),
        })
    }

    /// The payload type when the format is one.
    pub fn payload_type(&self) -> Option<u8> {
        self.format.parse().ok()
    }

    /// `key=value` parameters split at `;` (spaces around them trimmed); a parameter
    /// without `=` yields `(param, "")`.
    pub fn parameters(&self) -> impl Iterator<Item = (&str, &str)> {
        fmtp_parameters(&self.params)
    }

    /// The attribute.
    pub fn to_attribute(&self) -> Attribute {
        Attribute::new("fmtp", format!("{} {}", self.format, self.params))
    }
}

#[inline]
pub(crate) fn fmtp_fields(value: &str) -> Result<(&str, &str), AttributeError> {
    match split_byte(value, b' ') {
        Some((f, p)) if !f.is_empty() => Ok((f, p)),
        _ => Err(AttributeError::new("fmtp", "<format> <parameters>")),
    }
}

/// `key=value` pairs of an fmtp parameter string.
pub fn fmtp_parameters(params: &str) -> impl Iterator<Item = (&str, &str)> {
    split_on(params, b';').filter_map(|p| {
        let p = p.trim();
        if p.is_empty() {
            return None;
        }
        Some(match split_byte(p, b'=') {
            Some((k, v)) => (k.trim(), v.trim()),
            None => (p, ""),
        })
    })
}

/// `a=rtcp:<port> [<nettype> <addrtype> <address>]` (RFC 3605).
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Rtcp {
    /// RTCP port.
    pub port: u16,
    /// Explicit address, when given.
    pub address: Option<String>,
}

impl Rtcp {
    /// Parses the value of an `a=rtcp`.
    ///
    /// # Errors
    /// An [`AttributeError`] naming the bad field.
    pub fn parse(value: &str) -> Result<Self, AttributeError> {
        let (port, address) = Self::check(value, true)?;
        Ok(Self {
            port,
            address: address.map(str::to_owned),
        })
    }

    #[inline]
    fn check(value: &str, plus: bool) -> Result<(u16, Option<&str>), AttributeError> {
        let bad = |f| AttributeError::new("rtcp", f);
        let (port, rest) = match split_byte(value, b' ') {
            Some((port, rest)) => (port, Some(rest)),
            None => (value, None),
        };
        let port = unsigned(port, plus).ok_or(bad("port"))?;
        let Some(rest) = rest else {
            return Ok((port, None));
        };
        let mut it = split_on(rest, b' ');
        let address = match (it.next(), it.next(), it.next(), it.next()) {
            (Some(net), Some(at), Some(addr), None)
                if !net.is_empty() && !at.is_empty() && !addr.is_empty() =>
            {
                Some(addr)
            }
            _ => return Err(bad("<nettype> <addrtype> <address>")),
        };
        Ok((port, address))
    }
}

/// `a=ssrc:<ssrc> <attribute>[:<value>]` (RFC 5576).
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct SsrcAttribute {
    /// The SSRC.
    pub ssrc: u32,
    /// Source attribute name (`cname`, `msid`...).
    pub attribute: String,
    /// Its value.
    pub value: Option<String>,
}

impl SsrcAttribute {
    /// Parses the value of an `a=ssrc`.
    ///
    /// # Errors
    /// An [`AttributeError`] naming the bad field.
    pub fn parse(value: &str) -> Result<Self, AttributeError> {
        let (ssrc, attribute, value) = Self::check(value, true)?;
        Ok(Self {
            ssrc,
            attribute: attribute.to_owned(),
            value: value.map(str::to_owned),
        })
    }

    #[inline]
    fn check(value: &str, plus: bool) -> Result<(u32, &str, Option<&str>), AttributeError> {
        let bad = |f| AttributeError::new("ssrc", f);
        let (ssrc, rest) = split_byte(value, b' ').ok_or(bad("<ssrc> <attribute>"))?;
        let ssrc = unsigned(ssrc, plus).ok_or(bad("ssrc"))?;
        let (attribute, value) = match split_byte(rest, b':') {
            Some((a, v)) => (a, Some(v)),
            None => (rest, None),
        };
        if attribute.is_empty() {
            return Err(bad("source attribute"));
        }
        Ok((ssrc, attribute, value))
    }
}

/// `a=group:<semantics> <mid>...` (RFC 5888).
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Group {
    /// `BUNDLE`, `LS`, `FID`...
    pub semantics: String,
    /// The media ids.
    pub mids: Vec<String>,
}

impl Group {
    /// Parses the value of an `a=group`.
    ///
    /// # Errors
    /// An [`AttributeError`] when the semantics token is missing.
    pub fn parse(value: &str) -> Result<Self, AttributeError> {
        let mut it = value.split(' ');
        let semantics = it.next().filter(|s| !s.is_empty());
        let semantics = semantics.ok_or(AttributeError::new("group", "semantics"))?;
        Ok(Self {
            semantics: semantics.to_owned(),
            mids: it.map(str::to_owned).collect(),
        })
    }
}

/// `a=fingerprint:<hash-func> <fingerprint>` (RFC 8122), kept for round trips.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Fingerprint {
    /// `sha-256`...
    pub hash: String,
    /// Colon-separated hex bytes.
    pub value: String,
}

impl Fingerprint {
    /// Parses the value of an `a=fingerprint`.
    ///
    /// # Errors
    /// An [`AttributeError`] naming the bad field.
    pub fn parse(value: &str) -> Result<Self, AttributeError> {
        let (h, v) = Self::check(value)?;
        Ok(Self {
            hash: h.to_owned(),
            value: v.to_owned(),
        })
    }

    fn check(value: &str) -> Result<(&str, &str), AttributeError> {
        match split_byte(value, b' ') {
            Some((h, v)) if !h.is_empty() && !v.is_empty() && !has_byte(v, b' ') => Ok((h, v)),
            _ => Err(AttributeError::new(
                "fingerprint",
                "<hash-func> <fingerprint>",
            )),
        }
    }
}

/// `a=setup` (RFC 4145).
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Setup {
    /// `active`.
    Active,
    /// `passive`.
    Passive,
    /// `actpass`.
    ActPass,
    /// `holdconn`.
    HoldConn,
}

impl Setup {
    /// Parses the value of an `a=setup`.
    ///
    /// # Errors
    /// An [`AttributeError`] for an unknown role.
    pub fn parse(value: &str) -> Result<Self, AttributeError> {
        Ok(match value {
            "active" => Self::Active,
            "passive" => Self::Passive,
            "actpass" => Self::ActPass,
            "holdconn" => Self::HoldConn,
            _ => return Err(AttributeError::new("setup", "role")),
        })
    }
}

/// Parses the value of a numeric attribute such as `ptime` or `maxptime` (`+` before the
/// number only when `plus`).
#[inline]
pub(crate) fn millis(name: &'static str, value: &str, plus: bool) -> Result<u32, AttributeError> {
    // Some phones write a fractional ptime ("20.0"); RFC 8866 allows it for ptime.
    let int = split_byte(value, b'.').map_or(value, |(i, frac)| {
        if frac.bytes().all(|b| b.is_ascii_digit()) {
            i
        } else {
            "x"
        }
    });
    unsigned(int, plus).ok_or(AttributeError::new(name, "milliseconds"))
}

/// Checks a `ptime`/`maxptime` value as [`millis`] does: 1 to 9 plain digits (a `u32`
/// whatever they are) directly, anything else through `millis`.
#[inline]
fn check_millis(name: &'static str, value: &str, plus: bool) -> Result<(), AttributeError> {
    if (1..=9).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(());
    }
    millis(name, value, plus).map(|_| ())
}

/// Whether `s` is plain digits, 1 to as many as `max_value` has, whose value is at most
/// `max_value` (the decimal form of the type's largest value): digit strings of one length
/// compare as text as their values do.
#[inline]
fn fits_digits(s: &str, max_value: &str) -> bool {
    (1..=max_value.len()).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_digit())
        && (s.len() < max_value.len() || s <= max_value)
}

/// Checks an `a=fmtp` value as [`fmtp_fields`] does (a space, not first: a non-empty
/// format before it) without cutting it.
#[inline]
fn check_fmtp(value: &str) -> Result<(), AttributeError> {
    if !value.starts_with(' ') && has_byte(value, b' ') {
        return Ok(());
    }
    fmtp_fields(value).map(|_| ())
}

/// Checks an `a=rtcp` value as [`Rtcp::check`] does: a port alone directly, anything else
/// through it.
#[inline]
fn check_rtcp(value: &str, plus: bool) -> Result<(), AttributeError> {
    if fits_digits(value, "65535") {
        return Ok(());
    }
    Rtcp::check(value, plus).map(|_| ())
}

/// Checks an `a=ssrc` value as [`SsrcAttribute::check`] does: `<ssrc> <attribute>...` with
/// a plain-digit SSRC and a non-empty attribute name directly, anything else through it.
#[inline]
fn check_ssrc(value: &str, plus: bool) -> Result<(), AttributeError> {
    // The SSRC is the digit run before the first space: 1 to 10 digits, and ten only up to
    // u32::MAX (digit strings of one length compare as their values do).
    let b = value.as_bytes();
    let n = digit_run(b);
    if let Some((ssrc, [b' ', first, ..])) = b.split_at_checked(n)
        && *first != b':'
        && (1..=10).contains(&n)
        && ssrc.first_chunk::<10>().is_none_or(|d| {
            let (hi, lo) = d.split_at(8);
            let hi = hi
                .first_chunk::<8>()
                .map_or(u64::MAX, |h| u64::from_be_bytes(*h));
            let lo = lo
                .first_chunk::<2>()
                .map_or(u16::MAX, |l| u16::from_be_bytes(*l));
            (hi, lo) <= (u64::from_be_bytes(*b"42949672"), u16::from_be_bytes(*b"95"))
        })
    {
        return Ok(());
    }
    SsrcAttribute::check(value, plus).map(|_| ())
}

/// Checks the value of every attribute this crate knows, so that a strict parse rejects a
/// malformed one with the attribute and field named; returns the attribute's kind (the
/// list then finds it without comparing names). Unknown attributes are not checked.
/// Numbers take a leading `+` only when `plus` (`ParseOptions::allow_plus_signed_numbers`).
/// Allocation-free: it runs for every parsed line.
#[inline]
pub(crate) fn validate(
    name: &str,
    value: Option<&str>,
    plus: bool,
) -> Result<Kind, AttributeError> {
    let kind = Kind::of(name);
    validate_kind(kind, value, plus)?;
    Ok(kind)
}

/// [`validate`] for a line whose kind is known.
#[inline(always)]
pub(crate) fn validate_kind(
    kind: Kind,
    value: Option<&str>,
    plus: bool,
) -> Result<(), AttributeError> {
    let need = |attr: &'static str| value.ok_or(AttributeError::new(attr, "missing value"));
    let flag = |attr: &'static str| match value {
        None => Ok(()),
        Some(_) => Err(AttributeError::new(attr, "flag takes no value")),
    };
    match kind {
        Kind::Other | Kind::Extmap | Kind::Msid | Kind::RtcpFb => Ok(()),
        Kind::Crypto => crate::sdes::check_crypto(need("crypto")?, plus),
        Kind::Candidate => candidate("candidate", need("candidate")?, plus),
        Kind::Fmtp => check_fmtp(need("fmtp")?),
        Kind::Fingerprint => Fingerprint::check(need("fingerprint")?).map(|_| ()),
        Kind::Group => non_empty("group", value),
        Kind::IceUfrag => non_empty("ice-ufrag", value),
        Kind::IcePwd => non_empty("ice-pwd", value),
        Kind::Mid => non_empty("mid", value),
        Kind::Inactive => flag("inactive"),
        Kind::Recvonly => flag("recvonly"),
        Kind::Sendonly => flag("sendonly"),
        Kind::Sendrecv => flag("sendrecv"),
        Kind::RtcpMux => flag("rtcp-mux"),
        Kind::RtcpRsize => flag("rtcp-rsize"),
        Kind::Maxptime => check_millis("maxptime", need("maxptime")?, plus),
        Kind::Ptime => check_millis("ptime", need("ptime")?, plus),
        Kind::Rtpmap => check_rtpmap(need("rtpmap")?),
        Kind::Rtcp => check_rtcp(need("rtcp")?, plus),
        Kind::Ssrc => check_ssrc(need("ssrc")?, plus),
        Kind::Setup => Setup::parse(need("setup")?).map(|_| ()),
    }
}

fn non_empty(attr: &'static str, value: Option<&str>) -> Result<(), AttributeError> {
    match value {
        Some(v) if !v.is_empty() => Ok(()),
        _ => Err(AttributeError::new(attr, "missing value")),
    }
}

/// RFC 8839 §5.1: foundation component-id transport priority address port "typ" type ...
fn candidate(attr: &'static str, value: &str, plus: bool) -> Result<(), AttributeError> {
    let mut it = value.split(' ');
    let bad = |f| AttributeError::new(attr, f);
    it.next()
        .filter(|f| !f.is_empty())
        .ok_or(bad("foundation"))?;
    it.next()
        .and_then(|c| unsigned::<u16>(c, plus))
        .ok_or(bad("component-id"))?;
    it.next()
        .filter(|f| !f.is_empty())
        .ok_or(bad("transport"))?;
    it.next()
        .and_then(|c| unsigned::<u32>(c, plus))
        .ok_or(bad("priority"))?;
    it.next()
        .filter(|f| !f.is_empty())
        .ok_or(bad("connection-address"))?;
    it.next()
        .and_then(|c| unsigned::<u16>(c, plus))
        .ok_or(bad("port"))?;
    match (it.next(), it.next()) {
        (Some("typ"), Some(t)) if !t.is_empty() => Ok(()),
        _ => Err(bad("typ")),
    }
}

impl crate::model::Media {
    /// The `a=rtpmap` of payload type `pt`, if any (malformed ones are skipped).
    pub fn rtpmap(&self, pt: u8) -> Option<Rtpmap> {
        self.attributes
            .of_kind(Kind::Rtpmap)
            .find_map(|v| Rtpmap::parse(v).ok().filter(|r| r.payload_type == pt))
    }

    /// The `a=fmtp` parameters of format `format`, if any.
    pub fn fmtp(&self, format: &str) -> Option<&str> {
        self.attributes
            .of_kind(Kind::Fmtp)
            .find_map(|v| match fmtp_fields(v) {
                Ok((f, p)) if f == format => Some(p),
                _ => None,
            })
    }

    /// `a=ptime` in milliseconds.
    pub fn ptime(&self) -> Option<u32> {
        first_millis(&self.attributes, Kind::Ptime, "ptime")
    }

    /// `a=maxptime` in milliseconds.
    pub fn maxptime(&self) -> Option<u32> {
        first_millis(&self.attributes, Kind::Maxptime, "maxptime")
    }

    /// The packetization time in force, ms: this section's `a=ptime`, else a session-level
    /// one ([`Sdp::ptime`](crate::Sdp::ptime)).
    pub fn effective_ptime(&self, session: &crate::model::Sdp) -> Option<u32> {
        self.ptime().or_else(|| session.ptime())
    }

    /// The maximum packetization time in force, ms: this section's `a=maxptime`, else a
    /// session-level one ([`Sdp::maxptime`](crate::Sdp::maxptime)).
    pub fn effective_maxptime(&self, session: &crate::model::Sdp) -> Option<u32> {
        self.maxptime().or_else(|| session.maxptime())
    }

    /// `a=rtcp` (RFC 3605).
    pub fn rtcp(&self) -> Option<Rtcp> {
        self.attributes
            .of_kind(Kind::Rtcp)
            .next()
            .and_then(|v| Rtcp::parse(v).ok())
    }

    /// Whether `a=rtcp-mux` (RFC 5761) is present.
    pub fn rtcp_mux(&self) -> bool {
        self.attributes.has_kind(Kind::RtcpMux)
    }

    /// `a=mid` (RFC 5888).
    pub fn mid(&self) -> Option<&str> {
        self.attributes.of_kind(Kind::Mid).next()
    }

    /// The `a=crypto` lines (RFC 4568) that parse, in order.
    pub fn cryptos(&self) -> impl Iterator<Item = Crypto> + '_ {
        self.attributes
            .of_kind(Kind::Crypto)
            .filter_map(|v| Crypto::parse(v).ok())
    }

    /// The `a=ssrc` lines (RFC 5576) that parse, in order.
    pub fn ssrcs(&self) -> impl Iterator<Item = SsrcAttribute> + '_ {
        self.attributes_named("ssrc")
            .filter_map(|v| SsrcAttribute::parse(v).ok())
    }

    /// `a=fingerprint` (RFC 8122).
    pub fn fingerprint(&self) -> Option<Fingerprint> {
        self.attribute("fingerprint")
            .and_then(|v| Fingerprint::parse(v).ok())
    }

    /// `a=setup` (RFC 4145).
    pub fn setup(&self) -> Option<Setup> {
        self.attribute("setup").and_then(|v| Setup::parse(v).ok())
    }

    /// `a=ice-ufrag` and `a=ice-pwd` (RFC 8839).
    pub fn ice_credentials(&self) -> Option<(&str, &str)> {
        Some((self.attribute("ice-ufrag")?, self.attribute("ice-pwd")?))
    }

    /// `a=candidate` values verbatim.
    pub fn candidates(&self) -> impl Iterator<Item = &str> {
        self.attributes_named("candidate")
    }
}

impl crate::model::Sdp {
    /// A session-level `a=ptime`, ms. RFC 8866 §6.4 defines `ptime` at media level only,
    /// but real peers write it once above the first `m=` line, meaning every stream: it
    /// applies to each media section that has none of its own
    /// ([`Media::effective_ptime`](crate::Media::effective_ptime), which the negotiation
    /// reads).
    pub fn ptime(&self) -> Option<u32> {
        first_millis(&self.attributes, Kind::Ptime, "ptime")
    }

    /// A session-level `a=maxptime`, ms, read as [`Sdp::ptime`](crate::Sdp::ptime) is:
    /// for every media section without its own.
    pub fn maxptime(&self) -> Option<u32> {
        first_millis(&self.attributes, Kind::Maxptime, "maxptime")
    }

    /// Session-level `a=group` lines (RFC 5888).
    pub fn groups(&self) -> impl Iterator<Item = Group> + '_ {
        self.attributes
            .of_kind(Kind::Group)
            .filter_map(|v| Group::parse(v).ok())
    }
}

/// The first `a=ptime` or `a=maxptime` (`kind`, named `name`) of a list, ms.
fn first_millis(attributes: &Attributes, kind: Kind, name: &'static str) -> Option<u32> {
    attributes
        .of_kind(kind)
        .next()
        .and_then(|v| millis(name, v, true).ok())
}

impl From<Direction> for Attribute {
    fn from(d: Direction) -> Self {
        d.to_attribute()
    }
}

impl From<&Rtpmap> for Attribute {
    fn from(r: &Rtpmap) -> Self {
        r.to_attribute()
    }
}

pub(crate) fn text_attr(name: &'static str, value: String) -> Attribute {
    Attribute {
        name: Text::from_static(name),
        value: Some(Text::from(value)),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::{check_rtpmap, decimal, rtpmap_fields, rtpmap_fields_general, split_byte};

    #[test]
    fn decimal_digits_round_trip() {
        let powers = (0..20).flat_map(|e| {
            let p = 10u64.pow(e);
            [p - 1, p, p + 1]
        });
        for n in (0..=100_000)
            .chain(powers)
            .chain([65535, u64::MAX - 1, u64::MAX])
        {
            let mut out = String::new();
            super::push_decimal(&mut out, n);
            assert_eq!(out, n.to_string());
            assert_eq!(decimal::<u64>(&out), Some(n));
        }
    }

    #[test]
    fn name_end_matches_a_byte_loop() {
        // Every stop byte at every place of names of 0-25 bytes, among bytes just above and
        // below the stops (0x21, 0x2e, 0x30, 0x1f, 0x80, 0xa1, 0xff) and a second stop after
        // it that a borrow must not move the answer to.
        let stops = [b'/', b' ', b'\r', b'\n', b'\t', 0x00, 0x20];
        for len in 0..26 {
            for at in 0..=len {
                for stop in stops {
                    let mut v: Vec<u8> = (0..len)
                        .map(|i| [b'a', 0x21, 0x2e, 0x30, 0x80, 0xa1, 0xff][i % 7])
                        .collect();
                    if at < len {
                        v[at] = stop;
                        if at + 1 < len {
                            v[at + 1] = b'/';
                        }
                    }
                    assert_eq!(
                        super::name_end(&v),
                        v.iter()
                            .position(|c| *c <= b' ' || *c == b'/')
                            .unwrap_or(v.len()),
                        "{v:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn find_byte_matches_a_byte_loop() {
        for len in 0..26 {
            for at in 0..=len {
                // Bytes around the mark that the SWAR test must not confuse with it.
                let mut v: Vec<u8> = (0..len)
                    .map(|i| [b'a', 0x3b, 0x3d, 0xba, 0xff][i % 5])
                    .collect();
                if at < len {
                    v[at] = b':';
                    if at + 2 < len {
                        v[at + 2] = b':';
                    }
                }
                assert_eq!(
                    super::find_byte(&v, b':'),
                    v.iter().position(|c| *c == b':'),
                    "{v:?}"
                );
            }
        }
    }

    #[test]
    fn decimal_takes_plain_digits_that_fit() {
        assert_eq!(decimal::<u8>("127"), Some(127));
        assert_eq!(decimal::<u8>("007"), Some(7));
        assert_eq!(decimal::<u8>("256"), None);
        assert_eq!(decimal::<u64>("18446744073709551615"), Some(u64::MAX));
        assert_eq!(decimal::<u64>("18446744073709551616"), None);
        for bad in ["", "+1", "-1", "1 ", " 1", "1a", "１"] {
            assert_eq!(decimal::<u32>(bad), None, "{bad:?}");
        }
        assert_eq!(split_byte("a b c", b' '), Some(("a", "b c")));
        assert_eq!(split_byte("abc", b' '), None);
    }

    #[test]
    fn rtpmap_grammar_is_exact() {
        assert_eq!(
            rtpmap_fields("111 opus/48000/2").unwrap(),
            (111, "opus", 48000, Some(2))
        );
        assert_eq!(
            rtpmap_fields("0 PCMU/8000").unwrap(),
            (0, "PCMU", 8000, None)
        );
        for bad in [
            "",
            "0",
            "0 PCMU",
            "0 PCMU/",
            "0 /8000",
            "0 PCMU/8000/",
            "0 PCMU/8000/1/1",
            "0 PCMU/8000 ",
            "0  PCMU/8000",
            "x PCMU/8000",
            "128 PCMU/8000",
            "0 PCMU/0",
            "0 PCMU/8000/0",
            "0 PC MU/8000",
            "0 PCMU/4294967296",
        ] {
            assert!(rtpmap_fields(bad).is_err(), "{bad:?}");
        }
    }

    /// Every byte string of 0 to `max_len` bytes from `alphabet`.
    pub(crate) fn all_strings(alphabet: &[u8], max_len: u32) -> impl Iterator<Item = Vec<u8>> {
        (0..=max_len).flat_map(move |len| {
            (0..alphabet.len().pow(len)).map(move |mut n| {
                let mut v = Vec::with_capacity(len as usize);
                for _ in 0..len {
                    v.push(alphabet[n % alphabet.len()]);
                    n /= alphabet.len();
                }
                v
            })
        })
    }

    /// [`all_strings`] of an ASCII alphabet, as text.
    fn all_text(alphabet: &[u8], max_len: u32) -> Vec<String> {
        all_strings(alphabet, max_len)
            .map(|v| String::from_utf8_lossy(&v).into_owned())
            .collect()
    }

    /// [`all_text`] of `alphabet`, then every one of `heads` followed by every one of `tails`.
    pub(crate) fn text_cases(
        alphabet: &[u8],
        max_len: u32,
        heads: &[&str],
        tails: &[&str],
    ) -> Vec<String> {
        let mut cases = all_text(alphabet, max_len);
        for head in heads {
            for tail in tails {
                cases.push(format!("{head}{tail}"));
            }
        }
        cases
    }

    #[test]
    fn check_millis_agrees_with_millis() {
        // Every string of up to 6 bytes from digits, the fraction's dot, a sign and a
        // letter, then digit strings around the fast path's 9-digit limit and u32's maximum.
        let cases = text_cases(
            b"09.+a",
            6,
            &[
                "999999999",
                "1000000000",
                "4294967295",
                "4294967296",
                "0000000000020",
                "+999999999",
            ],
            &["", ".", ".5", ".x", "a"],
        );
        for c in &cases {
            for plus in [false, true] {
                assert_eq!(
                    super::check_millis("ptime", c, plus),
                    super::millis("ptime", c, plus).map(|_| ()),
                    "{c:?}"
                );
            }
        }
    }

    #[test]
    fn check_fmtp_agrees_with_fmtp_fields() {
        for c in all_text(b"1 a=", 6) {
            assert_eq!(
                super::check_fmtp(&c),
                super::fmtp_fields(&c).map(|_| ()),
                "{c:?}"
            );
        }
    }

    #[test]
    fn check_rtcp_and_ssrc_agree_with_the_full_checks() {
        use super::{Rtcp, SsrcAttribute, check_rtcp, check_ssrc};
        let cases = text_cases(
            b"09 :+a",
            6,
            &[
                "65535",
                "65536",
                "99999",
                "065535",
                "4294967295",
                "4294967296",
                "04294967295",
            ],
            &["", " ", " cname:x", " :x", " x:", " IN IP4 a", "a"],
        );
        for c in &cases {
            for plus in [false, true] {
                assert_eq!(
                    check_rtcp(c, plus),
                    Rtcp::check(c, plus).map(|_| ()),
                    "{c:?}"
                );
                assert_eq!(
                    check_ssrc(c, plus),
                    SsrcAttribute::check(c, plus).map(|_| ()),
                    "{c:?}"
                );
            }
        }
    }

    #[test]
    fn rtpmap_line_end_agrees_with_rtpmap_scan() {
        let by_scan = |l: &[u8]| {
            super::rtpmap_scan(l)
                .map(|(_, end)| end)
                .filter(|end| matches!(l.get(*end), Some(b'\r' | b'\n')))
        };
        // Short lines of every shape, then numbers of every length around the limits (1-3,
        // 1-9 and 1-4 digits) and the eight-byte words, with and without zeros.
        let mut lines: Vec<Vec<u8>> = all_strings(b"0127 /a\r", 6).collect();
        for n in 0..12 {
            for digit in [b'0', b'1', b'9'] {
                let run = vec![digit; n];
                for (head, mid, tail) in [
                    (&b""[..], &b" a/"[..], &b"/8000\r\n"[..]),
                    (b"101 x/", b"", b"\r\n"),
                    (b"101 telephone-event/", b"", b"\n"),
                    (b"0 PCMU/8000/", b"", b"\r\n"),
                    (b"111 opus/48000/", b"", b"x\r\n"),
                    (b"0 ", b"/", b"\r\n"),
                ] {
                    lines.push([head, &run, mid, tail].concat());
                }
            }
        }
        for pt in [
            "0", "00", "000", "9", "99", "100", "119", "120", "126", "127", "128", "130", "199",
            "200", "999", "0127", "1270",
        ] {
            lines.push(format!("{pt} PCMU/8000\r\n").into_bytes());
        }
        for line in &lines {
            assert_eq!(super::rtpmap_line_end(line), by_scan(line), "{line:?}");
            for cut in 0..line.len() {
                assert_eq!(
                    super::rtpmap_line_end(&line[..cut]),
                    by_scan(&line[..cut]),
                    "{line:?} cut at {cut}"
                );
            }
        }
        for n in 0..20 {
            let b: Vec<u8> = (0..n).map(|i| b"0123456789x:/\x80\xff"[i % 15]).collect();
            let digits = b
                .iter()
                .position(|c| !c.is_ascii_digit())
                .unwrap_or(b.len());
            assert_eq!(super::digit_run(&b), digits, "{b:?}");
            let nines = vec![b'9'; n];
            assert_eq!(super::digit_run(&nines), n);
        }
    }

    /// The line-end scans of the strict parse's attribute run: an end they give is the
    /// line's first CR or LF and the value before it passes the value's check; the usual
    /// lines get one.
    #[test]
    fn line_end_scans_end_at_the_first_cr_or_lf_of_a_valid_value() {
        let first_eol = |l: &[u8]| l.iter().position(|c| matches!(c, b'\r' | b'\n'));
        let mut rtpmap_ends = 0;
        for line in all_strings(b"01 /a\r\n", 7) {
            if let Some(end) = super::rtpmap_line_end(&line) {
                assert_eq!(first_eol(&line), Some(end), "{line:?}");
                let value = std::str::from_utf8(&line[..end]).unwrap_or_default();
                assert_eq!(check_rtpmap(value), Ok(()), "{line:?}");
                rtpmap_ends += 1;
            }
        }
        assert!(rtpmap_ends > 0);
        let mut digit_ends = 0;
        for line in all_strings(b"09+ \r\n", 7).chain(
            ["1234567890\r\n", "123456789\r\n", "0000000001\r\n"].map(|l| l.as_bytes().to_vec()),
        ) {
            if let Some(end) = super::digits_line_end(&line, 9, u32::MAX) {
                assert_eq!(first_eol(&line), Some(end), "{line:?}");
                let value = std::str::from_utf8(&line[..end]).unwrap_or_default();
                assert_eq!(
                    super::check_millis("ptime", value, false),
                    Ok(()),
                    "{line:?}"
                );
                digit_ends += 1;
            }
        }
        assert!(digit_ends > 0);
        // The rtcp port alone (5 digits up to 65535): the strict parse takes it by the same
        // scan; what it ends is a value `check_rtcp` accepts, and it ends the usual ones.
        let mut rtcp_ends = 0;
        for line in all_strings(b"059+ \r\n", 7).chain(
            [
                "65535\r\n",
                "65536\r\n",
                "99999\r\n",
                "065535\r\n",
                "00000\r\n",
            ]
            .map(|l| l.as_bytes().to_vec()),
        ) {
            if let Some(end) = super::digits_line_end(&line, 5, u32::from(u16::MAX)) {
                assert_eq!(first_eol(&line), Some(end), "{line:?}");
                let value = std::str::from_utf8(&line[..end]).unwrap_or_default();
                assert_eq!(super::check_rtcp(value, false), Ok(()), "{line:?}");
                rtcp_ends += 1;
            }
        }
        assert!(rtcp_ends > 0);
        for (line, end) in [
            ("111 opus/48000/2\r\n", Some(16)),
            ("101 telephone-event/8000\r\n", Some(24)),
            ("0 PCMU/8000\n", Some(11)),
            ("0 PC\rMU/8000\r\n", None),
            ("0 PCMU/8000 \r\n", None),
            ("0 PCMU/8000", None),
        ] {
            assert_eq!(super::rtpmap_line_end(line.as_bytes()), end, "{line:?}");
        }
        // A ptime (9 digits, u32) and an rtcp port (5 digits, u16).
        let port = (5, u32::from(u16::MAX));
        for (line, (len, max), end) in [
            ("20\r\n", (9, u32::MAX), Some(2)),
            ("123456789\r\n", (9, u32::MAX), Some(9)),
            ("1234567890\r\n", (9, u32::MAX), None),
            ("+20\r\n", (9, u32::MAX), None),
            ("\r\n", (9, u32::MAX), None),
            ("20", (9, u32::MAX), None),
            ("40001\r\n", port, Some(5)),
            ("65535\r\n", port, Some(5)),
            ("65536\r\n", port, None),
            ("065535\r\n", port, None),
            ("9 IN IP4 192.0.2.1\r\n", port, None),
        ] {
            assert_eq!(
                super::digits_line_end(line.as_bytes(), len, max),
                end,
                "{line:?}"
            );
        }
    }

    #[test]
    fn check_rtpmap_agrees_with_rtpmap_fields() {
        // Every string of up to 6 bytes from an alphabet of the grammar's bytes, then
        // longer shapes around the fast path's digit limits.
        let mut cases = all_text(b"0129 /aP", 6);
        for pt in [
            "0", "00", "127", "128", "255", "256", "999", "0127", "1000", "+1", "",
        ] {
            for clock in [
                "0",
                "8000",
                "999999999",
                "1000000000",
                "4294967295",
                "4294967296",
                "0000000008000",
                "99999999999999999999",
                "",
            ] {
                for ch in [
                    "", "/0", "/1", "/9999", "/65535", "/65536", "/00002", "/", "/2 ", "/x",
                ] {
                    for name in ["PCMU", "", "a b", "é"] {
                        cases.push(format!("{pt} {name}/{clock}{ch}"));
                    }
                }
            }
        }
        for c in &cases {
            let general = rtpmap_fields_general(c);
            assert_eq!(rtpmap_fields(c), general, "{c:?}");
            assert_eq!(check_rtpmap(c), general.map(|_| ()), "{c:?}");
        }
    }
}
