//! URIs: SIP and SIPS (RFC 3261 §19.1), tel (RFC 3966), and any other absolute URI kept
//! opaque (RFC 3261 §25.1 `absoluteURI`).

use std::borrow::Cow;
use std::fmt;

use bytes::Bytes;

use crate::error::UriError;
use crate::header::Param;
use crate::msg::scan;

/// The scheme of a [`Uri`].
#[derive(Clone, Copy, Debug, Default, Eq, Hash, PartialEq)]
pub enum Scheme {
    /// `sip:`
    #[default]
    Sip,
    /// `sips:`
    Sips,
    /// `tel:` (RFC 3966)
    Tel,
    /// Any other scheme; the URI is opaque (a UAS answers 416 to it in a Request-URI).
    Other,
}

/// A URI, zero-copy over its text. SIP/SIPS URIs are split into user, password, host, port,
/// parameters and headers; `tel:` into the number and parameters; other schemes are opaque.
///
/// Components are returned as written (percent-escapes kept); [`Uri::user_unescaped`]
/// decodes. Equality is textual (not the RFC 3261 §19.1.4 comparison).
#[derive(Clone, Eq, Hash, PartialEq)]
pub struct Uri {
    raw: Bytes,
    parts: UriParts,
}

impl Uri {
    /// Parses a URI (headers `?...` allowed, as in a Contact or Refer-To).
    ///
    /// # Errors
    /// [`UriError`] with the offending offset.
    pub fn parse(raw: Bytes) -> Result<Self, UriError> {
        let parts = UriParts::parse(&raw, false)?;
        Ok(Self { raw, parts })
    }

    /// Builds `sip:[user@]host[:port]`.
    ///
    /// # Errors
    /// [`UriError`] when a part does not follow the grammar (e.g. a space in the user).
    pub fn sip(user: Option<&str>, host: &str, port: Option<u16>) -> Result<Self, UriError> {
        let mut s = String::with_capacity(host.len() + 16);
        s.push_str("sip:");
        if let Some(u) = user {
            s.push_str(u);
            s.push('@');
        }
        s.push_str(host);
        if let Some(p) = port {
            s.push(':');
            s.push_str(&p.to_string());
        }
        s.parse()
    }

    pub(crate) fn from_parts(raw: Bytes, parts: UriParts) -> Self {
        Self { raw, parts }
    }

    pub(crate) fn parts(&self) -> UriParts {
        self.parts
    }

    /// The scheme.
    pub fn scheme(&self) -> Scheme {
        self.parts.scheme
    }

    /// The scheme as written.
    pub fn scheme_str(&self) -> &str {
        self.text(R16 {
            s: 0,
            e: self.parts.scheme_end,
        })
    }

    /// Whether this is a `sip:` or `sips:` URI.
    pub fn is_sip(&self) -> bool {
        matches!(self.parts.scheme, Scheme::Sip | Scheme::Sips)
    }

    /// The user part as written (escapes kept); for `tel:` the telephone number.
    pub fn user(&self) -> Option<&str> {
        self.parts.user.map(|r| self.text(r))
    }

    /// The user part with `%HH` escapes decoded (may contain any byte, even NUL).
    pub fn user_unescaped(&self) -> Option<Cow<'_, [u8]>> {
        self.parts.user.map(|r| unescape(self.text(r).as_bytes()))
    }

    /// The password, if the userinfo has one.
    pub fn password(&self) -> Option<&str> {
        self.parts.password.map(|r| self.text(r))
    }

    /// The host as written (an IPv6 reference keeps its brackets); empty for `tel:` and
    /// opaque URIs.
    pub fn host(&self) -> &str {
        self.text(self.parts.host)
    }

    /// The port, if given.
    pub fn port(&self) -> Option<u16> {
        self.parts.port
    }

    /// The URI parameters in order (`;transport=tcp;lr`).
    pub fn params(&self) -> impl Iterator<Item = Param<'_>> + '_ {
        let raw = self.text(self.parts.params);
        raw.split(';')
            .filter(|p| !p.is_empty())
            .map(|p| match p.split_once('=') {
                Some((name, value)) => Param {
                    name,
                    value: Some(value),
                },
                None => Param {
                    name: p,
                    value: None,
                },
            })
    }

    /// The URI parameter `name` (case-insensitive): `Some(None)` for a flag like `lr`.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        self.params()
            .find(|p| p.name.eq_ignore_ascii_case(name))
            .map(|p| p.value)
    }

    /// The headers component after `?`, as written.
    pub fn headers(&self) -> Option<&str> {
        self.parts.headers.map(|r| self.text(r))
    }

    /// The opaque part after `scheme:` (the whole rest, for any scheme).
    pub fn opaque(&self) -> &str {
        self.text(R16 {
            s: self.parts.scheme_end.saturating_add(1),
            e: self.len16(),
        })
    }

    /// The URI as written.
    pub fn as_str(&self) -> &str {
        scan::as_str(&self.raw)
    }

    /// The URI as shared bytes.
    pub fn as_bytes(&self) -> &Bytes {
        &self.raw
    }

    fn len16(&self) -> u16 {
        u16::try_from(self.raw.len()).unwrap_or(u16::MAX)
    }

    fn text(&self, r: R16) -> &str {
        scan::as_str(
            self.raw
                .get(usize::from(r.s)..usize::from(r.e))
                .unwrap_or_default(),
        )
    }
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Uri({})", self.as_str())
    }
}

impl std::str::FromStr for Uri {
    type Err = UriError;
    fn from_str(s: &str) -> Result<Self, UriError> {
        Self::parse(Bytes::copy_from_slice(s.as_bytes()))
    }
}

/// Decodes `%HH` escapes; invalid escapes are kept as written.
pub fn unescape(s: &[u8]) -> Cow<'_, [u8]> {
    if !s.contains(&b'%') {
        return Cow::Borrowed(s);
    }
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while let Some(&c) = s.get(i) {
        if c == b'%'
            && let (Some(h), Some(l)) = (
                s.get(i + 1).and_then(|&h| hex(h)),
                s.get(i + 2).and_then(|&l| hex(l)),
            )
        {
            out.push(h << 4 | l);
            i += 3;
            continue;
        }
        out.push(c);
        i += 1;
    }
    Cow::Owned(out)
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

/// A sub-range of a URI (URIs are limited to 64 KiB).
#[derive(Clone, Copy, Debug, Default, Eq, Hash, PartialEq)]
pub(crate) struct R16 {
    s: u16,
    e: u16,
}

/// Where the components of a URI lie; computed once while parsing.
#[derive(Clone, Copy, Debug, Default, Eq, Hash, PartialEq)]
pub(crate) struct UriParts {
    scheme: Scheme,
    scheme_end: u16,
    user: Option<R16>,
    password: Option<R16>,
    host: R16,
    port: Option<u16>,
    params: R16,
    headers: Option<R16>,
}

impl UriParts {
    /// Parses and validates `s`. In a Request-URI, headers are not allowed (RFC 3261
    /// §19.1.1 table: "headers ... not allowed" in the Request-URI, RFC 4475 3.1.2.11).
    pub(crate) fn parse(s: &[u8], request_uri: bool) -> Result<Self, UriError> {
        if s.len() > usize::from(u16::MAX) {
            return Err(UriError::Unexpected {
                at: usize::from(u16::MAX),
            });
        }
        let r = |a: usize, b: usize| R16 {
            s: u16::try_from(a).unwrap_or(u16::MAX),
            e: u16::try_from(b).unwrap_or(u16::MAX),
        };
        let colon = scheme_colon(s).ok_or(UriError::MissingScheme)?;
        let name = s.get(..colon).unwrap_or_default();
        let scheme = if name.eq_ignore_ascii_case(b"sip") {
            Scheme::Sip
        } else if name.eq_ignore_ascii_case(b"sips") {
            Scheme::Sips
        } else if name.eq_ignore_ascii_case(b"tel") {
            Scheme::Tel
        } else {
            Scheme::Other
        };
        let mut p = Self {
            scheme,
            scheme_end: r(0, colon).e,
            ..Self::default()
        };
        let body_start = colon + 1;
        let body = s.get(body_start..).unwrap_or_default();
        if body.is_empty() {
            return Err(UriError::Unexpected { at: body_start });
        }
        match scheme {
            Scheme::Other => {
                if let Some(i) = body
                    .iter()
                    .position(|&c| c <= b' ' || c >= 0x7f || b"<>\"".contains(&c))
                {
                    return Err(UriError::Unexpected { at: body_start + i });
                }
                p.host = r(s.len(), s.len());
                p.params = p.host;
            }
            Scheme::Tel => {
                let end = body.iter().position(|&c| c == b';').unwrap_or(body.len());
                let number = body.get(..end).unwrap_or_default();
                if let Some(i) = number
                    .iter()
                    .position(|&c| !(c.is_ascii_alphanumeric() || b"+-.()*#%".contains(&c)))
                {
                    return Err(UriError::Unexpected { at: body_start + i });
                }
                if number.is_empty() {
                    return Err(UriError::Unexpected { at: body_start });
                }
                p.user = Some(r(body_start, body_start + end));
                p.host = r(body_start + end, body_start + end);
                let params_start = body_start + end;
                check_uri_params(s, params_start, s.len())?;
                p.params = r((params_start + 1).min(s.len()), s.len());
            }
            Scheme::Sip | Scheme::Sips => {
                let mut hp = body_start;
                // userinfo ends at the first '@': no character of the user or password may be
                // an unescaped '@'
                if let Some(at) = scan::find_byte(body, b'@') {
                    let userinfo = body.get(..at).unwrap_or_default();
                    let (user, pass) = match userinfo.iter().position(|&c| c == b':') {
                        Some(c) => (userinfo.get(..c).unwrap_or_default(), userinfo.get(c + 1..)),
                        None => (userinfo, None),
                    };
                    if user.is_empty() {
                        return Err(UriError::Unexpected { at: body_start });
                    }
                    check_chars(user, body_start, UNRESERVED | USER)?;
                    p.user = Some(r(body_start, body_start + user.len()));
                    if let Some(pass) = pass {
                        let ps = body_start + user.len() + 1;
                        check_chars(pass, ps, UNRESERVED | PASSWORD)?;
                        p.password = Some(r(ps, ps + pass.len()));
                    }
                    hp = body_start + at + 1;
                }
                let rest = s.get(hp..).unwrap_or_default();
                let host_len = if rest.first() == Some(&b'[') {
                    let close = rest
                        .iter()
                        .position(|&c| c == b']')
                        .ok_or(UriError::BadHost { at: hp })?;
                    if !is_ipv6_reference_inner(rest.get(1..close).unwrap_or_default()) {
                        return Err(UriError::BadHost { at: hp });
                    }
                    close + 1
                } else {
                    let n = rest
                        .iter()
                        .position(|&c| CLASS[usize::from(c)] & HOST == 0)
                        .unwrap_or(rest.len());
                    if n == 0 {
                        return Err(UriError::BadHost { at: hp });
                    }
                    n
                };
                p.host = r(hp, hp + host_len);
                let mut i = hp + host_len;
                if s.get(i) == Some(&b':') {
                    let digits = s.get(i + 1..).unwrap_or_default();
                    let n = digits.iter().take_while(|c| c.is_ascii_digit()).count();
                    let port = scan::parse_u64(digits.get(..n).unwrap_or_default(), 5)
                        .and_then(|v| u16::try_from(v).ok())
                        .ok_or(UriError::BadPort { at: i + 1 })?;
                    p.port = Some(port);
                    i += 1 + n;
                }
                let headers_at = s.get(i..).and_then(|t| scan::find_byte(t, b'?'));
                let params_end = headers_at.map_or(s.len(), |h| i + h);
                match s.get(i) {
                    None | Some(b';' | b'?') => {}
                    Some(_) => return Err(UriError::Unexpected { at: i }),
                }
                check_uri_params(s, i, params_end)?;
                p.params = r((i + 1).min(params_end), params_end);
                if let Some(h) = headers_at {
                    let hs = i + h + 1;
                    if request_uri {
                        return Err(UriError::Unexpected { at: hs - 1 });
                    }
                    let hdrs = s.get(hs..).unwrap_or_default();
                    check_chars(hdrs, hs, UNRESERVED | HEADER)?;
                    p.headers = Some(r(hs, s.len()));
                }
            }
        }
        Ok(p)
    }
}

impl UriParts {
    /// [`UriParts::parse`] of a Request-URI, with a one-pass fast path for the common shape
    /// `sip[s]:[user@]host[:port][;param[=value]]...` (no password, escapes or IPv6 reference).
    /// Whatever the fast path does not decide takes the general path, which also reports
    /// the errors, so both agree on every input (a test compares them).
    ///
    /// # Errors
    /// As [`UriParts::parse`] with `request_uri`.
    #[inline]
    pub(crate) fn parse_request_uri(s: &[u8]) -> Result<Self, UriError> {
        match Self::sip_fast(s) {
            Some(p) => Ok(p),
            None => Self::parse(s, true),
        }
    }

    /// The fast path of [`UriParts::parse_request_uri`]: `Some` only for a valid SIP or SIPS
    /// Request-URI, with the parts [`UriParts::parse`] gives; `None` means "not decided here".
    pub(crate) fn sip_fast(s: &[u8]) -> Option<Self> {
        // the scheme in either case: OR-ing 0x20 maps exactly the two cases of a letter onto
        // the lower-case one, and leaves ':' as it is
        let head = u32::from_le_bytes(*s.first_chunk::<4>()?);
        let (scheme, body_start) = if head | 0x0020_2020 == u32::from_le_bytes(*b"sip:") {
            (Scheme::Sip, 4)
        } else if head | 0x2020_2020 == u32::from_le_bytes(*b"sips") && s.get(4) == Some(&b':') {
            (Scheme::Sips, 5)
        } else {
            return None;
        };
        let r = |a: usize, b: usize| R16 {
            s: u16::try_from(a).unwrap_or(u16::MAX),
            e: u16::try_from(b).unwrap_or(u16::MAX),
        };
        if s.len() > usize::from(u16::MAX) {
            return None;
        }
        // userinfo: user characters up to the first '@' (neither '@', ':' nor '%' is one, so
        // this is the whole userinfo, without password or escapes)
        let i = body_start + run(s.get(body_start..)?, USER_CHAR);
        let (user, hp) = if s.get(i) == Some(&b'@') {
            if i == body_start {
                return None;
            }
            (Some(r(body_start, i)), i + 1)
        } else {
            // an '@' further on (after a password or an escape) is the general path's
            if scan::find_byte(s.get(i..).unwrap_or_default(), b'@').is_some() {
                return None;
            }
            (None, body_start)
        };
        let mut i = hp + run(s.get(hp..)?, HOST);
        if i == hp {
            return None;
        }
        let host = r(hp, i);
        let mut port = None;
        if s.get(i) == Some(&b':') {
            let start = i + 1;
            let mut v: u32 = 0;
            i = start;
            while let Some(&c) = s.get(i)
                && c.is_ascii_digit()
            {
                if i - start == 5 {
                    return None;
                }
                v = v * 10 + u32::from(c - b'0');
                i += 1;
            }
            if i == start {
                return None;
            }
            port = Some(u16::try_from(v).ok()?);
        }
        let params = match s.get(i) {
            None => r(i, i),
            Some(b';') => {
                // uri-parameter: a non-empty name, then nothing or '=' and a non-empty value
                // (the first '=' splits), of param characters only
                let mut j = i + 1;
                let (mut seg, mut eq) = (j, None);
                loop {
                    j += run(s.get(j..)?, PARAM_CHAR);
                    match s.get(j) {
                        Some(b'=') => {
                            if eq.is_none() {
                                eq = Some(j);
                            }
                        }
                        end @ (None | Some(b';')) => {
                            if eq.unwrap_or(j) == seg || eq == Some(j - 1) {
                                return None;
                            }
                            if end.is_none() {
                                break;
                            }
                            (seg, eq) = (j + 1, None);
                        }
                        Some(_) => return None,
                    }
                    j += 1;
                }
                r(i + 1, s.len())
            }
            Some(_) => return None,
        };
        Some(Self {
            scheme,
            scheme_end: r(0, body_start - 1).e,
            user,
            password: None,
            host,
            port,
            params,
            headers: None,
        })
    }
}

/// `*( ";" uri-parameter )` between `start` and `end` (`s[start]` is ';' when non-empty).
fn check_uri_params(s: &[u8], start: usize, end: usize) -> Result<(), UriError> {
    let region = s.get(start..end).unwrap_or_default();
    if region.is_empty() {
        return Ok(());
    }
    let mut off = start;
    for (n, part) in region.split(|&c| c == b';').enumerate() {
        // An empty part is nothing: before the first ';' (the region starts with one), and an
        // empty parameter (`;;`, a `;` before `>`): Metaswitch's sprout choked on
        // `<sip:alice@example.com;foo=bar;this=that;>` (sprout#373) and took it so since.
        if part.is_empty() {
            off += 1;
            continue;
        }
        // text before the first ';' (the region does not start with one)
        if n == 0 {
            return Err(UriError::Unexpected { at: off });
        }
        let name_len = part.iter().position(|&c| c == b'=').unwrap_or(part.len());
        if name_len == 0 {
            return Err(UriError::BadParam { at: off });
        }
        let (name, value) = part.split_at(name_len);
        check_chars(name, off, UNRESERVED | PARAM)?;
        match value {
            [] => {}
            [b'='] => return Err(UriError::BadParam { at: off }),
            // A quoted value: not in RFC 3261's pvalue, but a topology-hiding proxy writes
            // `;thinfo="<base64>"` into the Contact of every 200 it forwards (SIP.js#419,
            // #593). Taken when the quotes close the parameter and hold no ';' (the list is
            // split at ';' first, so that one is refused).
            [b'=', b'"', inner @ .., b'"'] => {
                if let Some(i) = inner
                    .iter()
                    .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
                {
                    return Err(UriError::Unexpected {
                        at: off + name_len + 2 + i,
                    });
                }
            }
            [_, rest @ ..] => check_chars(rest, off + name_len + 1, UNRESERVED | PARAM)?,
        }
        off += part.len() + 1;
    }
    Ok(())
}

/// Whether `inner` (the text between `[` and `]`) is an IPv6 reference's address: hex
/// digits, `:` and `.`, then optionally a zone: `%` and one or more unreserved characters or
/// escapes. RFC 6874 writes the zone `%25eth0`; Asterisk in link-local IPv6 mode writes the
/// raw `%eth0` into Via and Contact (SIP.js#1094, <https://github.com/onsip/SIP.js/pull/1094>;
/// jain-sip#206 refused the same), and both read here. The zone only means something on the
/// sender's link, but refusing it refused the whole message.
pub(crate) fn is_ipv6_reference_inner(inner: &[u8]) -> bool {
    let (addr, zone) = match scan::find_byte(inner, b'%') {
        Some(i) => (
            inner.get(..i).unwrap_or_default(),
            inner.get(i + 1..).filter(|z| !z.is_empty()),
        ),
        None => (inner, Some(&b""[..])),
    };
    let Some(zone) = zone else {
        return false;
    };
    !addr.is_empty()
        && addr
            .iter()
            .all(|&c| c.is_ascii_hexdigit() || c == b':' || c == b'.')
        && check_chars(zone, 0, UNRESERVED).is_ok()
}

/// Host name characters (alphanum, `-`, `.`, `_`), one table lookup.
pub(crate) fn is_host_char(c: u8) -> bool {
    CLASS[usize::from(c)] & HOST != 0
}

/// Length of the run of bytes of class `bit` (one bit of [`CLASS`]) at the start of `s`:
/// eight bytes per step while they all are of the class, then byte by byte.
#[inline]
fn run(s: &[u8], bit: u8) -> usize {
    let mut chunks = s.chunks_exact(8);
    let mut n = 0;
    for chunk in &mut chunks {
        if chunk
            .iter()
            .fold(bit, |all, &c| all & CLASS[usize::from(c)])
            == 0
        {
            break;
        }
        n += 8;
    }
    let rest = s.get(n..).unwrap_or_default();
    n + rest
        .iter()
        .position(|&c| CLASS[usize::from(c)] & bit == 0)
        .unwrap_or(rest.len())
}

/// Checks every byte is in one of the `mask` classes or is a valid `%HH` escape.
fn check_chars(s: &[u8], base: usize, mask: u8) -> Result<(), UriError> {
    let mut i = 0;
    while let Some(&c) = s.get(i) {
        if CLASS[usize::from(c)] & mask != 0 {
            i += 1;
            continue;
        }
        if c == b'%' {
            let valid = s.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && s.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
            if !valid {
                return Err(UriError::BadEscape { at: base + i });
            }
            i += 3;
            continue;
        }
        return Err(UriError::Unexpected { at: base + i });
    }
    Ok(())
}

// Character classes of RFC 3261 §25.1, one bit each, looked up in one table.
/// `unreserved = alphanum / mark`
const UNRESERVED: u8 = 0x01;
/// `user-unreserved`: `& = + $ , ; ? /`
const USER: u8 = 0x02;
/// password characters besides unreserved: `& = + $ ,`
const PASSWORD: u8 = 0x04;
/// `param-unreserved` and `=`: `[ ] / : & + $ =`
const PARAM: u8 = 0x08;
/// `hnv-unreserved` and the separators: `[ ] / ? : + $ = &`, and `@`
const HEADER: u8 = 0x10;
/// host name characters: alphanum, `-`, `.`, `_`
const HOST: u8 = 0x20;
/// `UNRESERVED | USER` as one bit, for [`run`]
const USER_CHAR: u8 = 0x40;
/// `UNRESERVED | PARAM` except `=` as one bit, for [`run`]
const PARAM_CHAR: u8 = 0x80;

const fn classes() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        let mut m = 0;
        if c.is_ascii_alphanumeric() {
            m |= UNRESERVED | HOST;
        }
        if matches!(
            c,
            b'-' | b'_' | b'.' | b'!' | b'~' | b'*' | b'\'' | b'(' | b')'
        ) {
            m |= UNRESERVED;
        }
        if matches!(c, b'-' | b'.' | b'_') {
            m |= HOST;
        }
        // `#` is no user-unreserved character (RFC 3261 wants %23), but FreeSWITCH lists
        // bindings like `<sip:PBX#1000#905448737777@...>` in its 200 to REGISTER (SIP.js#560)
        // and phones dial `*67#...` unescaped; SIP gives `#` no meaning, so read it.
        if matches!(
            c,
            b'&' | b'=' | b'+' | b'$' | b',' | b';' | b'?' | b'/' | b'#'
        ) {
            m |= USER;
        }
        if matches!(c, b'&' | b'=' | b'+' | b'$' | b',') {
            m |= PASSWORD;
        }
        if matches!(c, b'[' | b']' | b'/' | b':' | b'&' | b'+' | b'$' | b'=') {
            m |= PARAM;
        }
        // RFC 3261 §25.1 wants `@` escaped in a header value, but PJSIP before 2.6 wrote the
        // Call-ID of a Refer-To's `Replaces` with its `@` as is (pjproject#1985), and after
        // the host an `@` cannot be mistaken for the userinfo's: read it as data.
        if matches!(
            c,
            b'[' | b']' | b'/' | b'?' | b':' | b'+' | b'$' | b'=' | b'&' | b'@'
        ) {
            m |= HEADER;
        }
        if m & (UNRESERVED | USER) != 0 {
            m |= USER_CHAR;
        }
        if m & (UNRESERVED | PARAM) != 0 && c != b'=' {
            m |= PARAM_CHAR;
        }
        t[i] = m;
        i += 1;
    }
    t
}

static CLASS: [u8; 256] = classes();

/// Where the colon after a URI scheme at the start of `s` is (`scheme = ALPHA *( ALPHA /
/// DIGIT / "+" / "-" / "." )`, then `:`), `None` when `s` does not start so.
pub(crate) fn scheme_colon(s: &[u8]) -> Option<usize> {
    if !s.first().is_some_and(u8::is_ascii_alphabetic) {
        return None;
    }
    s.iter()
        .position(|&c| !(c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.')))
        .filter(|&i| s.get(i) == Some(&b':'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(s: &str) -> Uri {
        s.parse().unwrap()
    }

    #[test]
    fn sip_parts() {
        let u = uri("sip:alice:secret@[2001:db8::1]:5061;transport=tcp;lr?Subject=hi");
        assert_eq!(u.scheme(), Scheme::Sip);
        assert_eq!(u.user(), Some("alice"));
        assert_eq!(u.password(), Some("secret"));
        assert_eq!(u.host(), "[2001:db8::1]");
        assert_eq!(u.port(), Some(5061));
        assert_eq!(u.param("transport"), Some(Some("tcp")));
        assert_eq!(u.param("LR"), Some(None));
        assert_eq!(u.headers(), Some("Subject=hi"));
        let u = uri("SIPS:example.com");
        assert_eq!(u.scheme(), Scheme::Sips);
        assert_eq!(u.user(), None);
        assert_eq!(u.host(), "example.com");
    }

    #[test]
    fn forms_real_servers_write_that_rfc_3261_has_not() {
        // A topology-hiding proxy's quoted parameter (SIP.js#419, #593), IPv6 host and all.
        let u = uri("sip:[0:0:0:0:0:0:0:1]:8061;transport=wss;thinfo=\"U2h5Yh+/UO==\"");
        assert_eq!((u.host(), u.port()), ("[0:0:0:0:0:0:0:1]", Some(8061)));
        assert_eq!(u.param("thinfo"), Some(Some("\"U2h5Yh+/UO==\"")));
        assert_eq!(u.param("transport"), Some(Some("wss")));
        assert!("sip:h;x=\"a;b\"".parse::<Uri>().is_err());
        assert!("sip:h;x=\"a\"b\"".parse::<Uri>().is_err());
        assert!("sip:h;x=\"open".parse::<Uri>().is_err());
        // FreeSWITCH's binding with '#' in the user (SIP.js#560).
        let u = uri("sip:PBX#1000#905448737777@192.0.2.1");
        assert_eq!(
            (u.user(), u.host()),
            (Some("PBX#1000#905448737777"), "192.0.2.1")
        );
        assert!(UriParts::parse(b"sip:*67#5551234@pbx.example", true).is_ok());
        // Empty parameters are nothing (sprout#373).
        let u = uri("sip:alice@example.com;foo=bar;;this=that;");
        assert_eq!(
            u.params().map(|p| p.name).collect::<Vec<_>>(),
            ["foo", "this"]
        );
        assert!("sip:h;=v".parse::<Uri>().is_err());
        assert!("sip:h;n=".parse::<Uri>().is_err());
    }

    #[test]
    fn an_unescaped_at_in_a_header_value_is_data() {
        // The Refer-To of PJSIP before 2.6 (pjproject#1985): the Call-ID's `@` unescaped.
        let u = uri("sip:dave@denver.example.org?Replaces=12345@192.0.2.3%3Bto-tag%3D1");
        assert_eq!((u.user(), u.host()), (Some("dave"), "denver.example.org"));
        assert_eq!(u.headers(), Some("Replaces=12345@192.0.2.3%3Bto-tag%3D1"));
        // Without a user part the first `@` still ends the userinfo, as RFC 3261 reads it
        // (`?` and `=` are user-unreserved).
        let u = uri("sip:example.org?h=a@b");
        assert_eq!(
            (u.user(), u.host(), u.headers()),
            (Some("example.org?h=a"), "b", None)
        );
        // A Request-URI still takes no headers at all.
        assert!(UriParts::parse(b"sip:a@b?h=c@d", true).is_err());
    }

    #[test]
    fn escapes_and_semicolons_in_user() {
        let u = uri("sip:user;par=u%40example.net@example.com");
        assert_eq!(u.user(), Some("user;par=u%40example.net"));
        assert_eq!(
            u.user_unescaped().unwrap().as_ref(),
            b"user;par=u@example.net"
        );
        assert_eq!(u.host(), "example.com");
        assert_eq!(
            uri("sip:%75se%72@example.com")
                .user_unescaped()
                .unwrap()
                .as_ref(),
            b"user"
        );
        assert_eq!(
            uri("sip:null-%00-null@example.com")
                .user_unescaped()
                .unwrap()
                .as_ref(),
            b"null-\0-null"
        );
    }

    #[test]
    fn tel_and_opaque() {
        let u = uri("tel:+1-201-555-0123;phone-context=example.com");
        assert_eq!(u.scheme(), Scheme::Tel);
        assert_eq!(u.user(), Some("+1-201-555-0123"));
        assert_eq!(u.param("phone-context"), Some(Some("example.com")));
        let u = uri("nobodyknowsthisscheme:totallyopaquecontent");
        assert_eq!(u.scheme(), Scheme::Other);
        assert_eq!(u.opaque(), "totallyopaquecontent");
    }

    #[test]
    fn rejects() {
        for bad in [
            "",
            "sip",
            "<sip:a@b>",
            "sip:",
            "sip:a@",
            "sip:a@b:99999",
            "sip:a@b:x",
            "sip:a b@c",
            "sip:a@b;x=",
            "sip:a%zz@b",
            "sip:a@[::1",
            "sip:a@b c",
        ] {
            assert!(bad.parse::<Uri>().is_err(), "{bad}");
        }
        assert!(UriParts::parse(b"sip:a@b?x=y", true).is_err());
        assert!(UriParts::parse(b"sip:a@b?x=y", false).is_ok());
    }

    /// An IPv6 reference may carry a zone, raw (`%eth0`, as Asterisk writes a link-local
    /// Contact) or escaped as RFC 6874 writes it (`%25eth0`); the host keeps it as written.
    #[test]
    fn ipv6_reference_with_a_zone() {
        for (text, host) in [
            (
                "sip:asterisk@[fe80::5054:ff:fe12:3456%eth0]:5060",
                "[fe80::5054:ff:fe12:3456%eth0]",
            ),
            ("sip:[fe80::1%25en0];transport=udp", "[fe80::1%25en0]"),
            ("sips:a@[fe80::1%2]:5061", "[fe80::1%2]"),
        ] {
            let u = uri(text);
            assert_eq!(u.host(), host, "{text}");
            assert_eq!(u.to_string(), text);
        }
        assert_eq!(uri("sip:a@[fe80::1%eth0]:5070").port(), Some(5070));
        for bad in [
            "sip:a@[fe80::1%]",
            "sip:a@[%eth0]",
            "sip:a@[fe80::1%eth0%]",
            "sip:a@[fe80::1%et h0]",
            "sip:a@[fe80::1%25%zz]",
            "sip:a@[fe80::g]",
        ] {
            assert!(bad.parse::<Uri>().is_err(), "{bad}");
        }
    }

    /// Where the Request-URI fast path decides, it agrees with the general parser.
    fn agrees(s: &[u8]) -> bool {
        match UriParts::sip_fast(s) {
            Some(fast) => {
                assert_eq!(
                    Ok(fast),
                    UriParts::parse(s, true),
                    "{:?}",
                    String::from_utf8_lossy(s)
                );
                true
            }
            None => false,
        }
    }

    #[test]
    fn request_uri_fast_path_takes_the_common_shapes() {
        for common in [
            "sip:bob@biloxi.example.com",
            "SIP:bob@biloxi.example.com",
            "sips:alice@atlanta.example.com:5061",
            "sip:registrar.example.com",
            "sip:192.0.2.4:5060;transport=udp",
            "sip:+15551234567;npdi@gw.example.com;user=phone",
            "sip:bob@127.0.0.1:5062;lr;ob;transport=tcp",
            "sip:a@b:65535",
            "sip:a@b;x=y=z",
            "sip:-.!~*'()&=+$,;?/@h_x",
        ] {
            assert!(agrees(common.as_bytes()), "{common}");
        }
        // left to the general path: password, escapes, IPv6, other schemes, and every error
        for other in [
            "sip:alice:secret@example.com",
            "sip:%61lice@example.com",
            "sip:alice@[2001:db8::1]",
            "sip:host;x=%41",
            "tel:+1-201-555-0123",
            "sip:@example.com",
            "sip:a@b:",
            "sip:a@b:65536",
            "sip:a@b:005060",
            "sip:a@b;",
            "sip:a@b;;x",
            "sip:a@b;=x",
            "sip:a@b;x=",
            "sip:a@b?x=y",
            "sip:a@b c",
            "sip:a@b;x=y;",
            "sip:user;par=u@example.net@example.com",
            "sip:",
            "sip:a@",
            "sip",
        ] {
            assert!(!agrees(other.as_bytes()), "{other}");
        }
        // mixed-case SIPS goes through the fast path too
        assert!(agrees(b"SiPs:x@y"));
    }

    proptest::proptest! {
        #[test]
        fn request_uri_fast_path_agrees_with_parse(
            s in "(sip|SIP|sips|Sips|sipx|tel|si):[a-c0-9@:;=?%\\[\\]._~+&/ -]{0,24}"
        ) {
            agrees(s.as_bytes());
        }

        /// Mostly the accepted alphabet, so that most cases reach the fast path's end.
        #[test]
        fn request_uri_fast_path_agrees_near_valid(
            s in "(sip|sips):[ab1@:;=.]{1,24}"
        ) {
            agrees(s.as_bytes());
        }
    }
}
