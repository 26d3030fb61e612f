//! Headers with simple values: numbers, tokens, token lists, media types, free text.

use std::fmt;

use bytes::Bytes;

use super::params::{Params, ltrim, quoted_end, utf8};
use super::{Header, HeaderName};
use crate::error::HeaderError;
use crate::msg::Method;
use crate::msg::scan::{self, is_token, parse_u64};

/// Splits `s` into a leading token and the rest.
fn token(s: &[u8]) -> (&[u8], &[u8]) {
    let n = s.iter().position(|&c| !is_token(c)).unwrap_or(s.len());
    (
        s.get(..n).unwrap_or_default(),
        s.get(n..).unwrap_or_default(),
    )
}

/// Splits `s` into leading digits and the rest.
fn digits(s: &[u8]) -> (&[u8], &[u8]) {
    let n = s.iter().take_while(|c| c.is_ascii_digit()).count();
    (
        s.get(..n).unwrap_or_default(),
        s.get(n..).unwrap_or_default(),
    )
}

/// A decimal that fits in u32 (RFC 3261 delta-seconds, CSeq, RSeq...).
fn u32_of(s: &[u8]) -> Result<u32, HeaderError> {
    parse_u64(s, 10)
        .and_then(|n| u32::try_from(n).ok())
        .ok_or(HeaderError::BadNumber { at: 0 })
}

fn whole_u32(value: &[u8]) -> Result<u32, HeaderError> {
    let s = scan::trim_lws(value);
    if s.is_empty() {
        return Err(HeaderError::Empty);
    }
    u32_of(s)
}

/// `CSeq` (RFC 3261 §20.16): sequence number (full u32 range) and method.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct CSeq {
    seq: u32,
    method: Method,
}

impl CSeq {
    /// A CSeq value.
    pub fn new(seq: u32, method: Method) -> Self {
        Self { seq, method }
    }

    /// The sequence number.
    pub fn seq(&self) -> u32 {
        self.seq
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }
}

impl Header for CSeq {
    const NAME: HeaderName = HeaderName::CSeq;
    fn parse(value: &Bytes) -> Result<Self, HeaderError> {
        let s = scan::trim_lws(value);
        let (num, rest) = digits(s);
        let seq = u32_of(num)?;
        let rest2 = ltrim(rest);
        if rest2.len() == rest.len() {
            return Err(HeaderError::Unexpected {
                at: scan::offset_in(value, rest),
            });
        }
        let (m, tail) = token(rest2);
        if m.is_empty() || !tail.is_empty() {
            return Err(HeaderError::Unexpected {
                at: scan::offset_in(value, rest2),
            });
        }
        Ok(Self {
            seq,
            method: Method::from_shared(value, m),
        })
    }

    fn write_value(&self, out: &mut Vec<u8>) {
        scan::put_u32(out, self.seq);
        out.push(b' ');
        out.extend_from_slice(self.method.as_str().as_bytes());
    }
}

impl fmt::Display for CSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.seq, self.method)
    }
}

/// `Call-ID` (RFC 3261 §20.8): `word [ "@" word ]`.
#[derive(Clone, Debug, Eq, Hash, PartialEq)]
pub struct CallId(Bytes);

impl CallId {
    /// A Call-ID from text (checked against the grammar).
    ///
    /// # Errors
    /// [`HeaderError`] when `id` is not `word [ "@" word ]`.
    pub fn new(id: &str) -> Result<Self, HeaderError> {
        Self::parse_str(id)
    }

    /// The Call-ID text.
    pub fn as_str(&self) -> &str {
        scan::as_str(&self.0)
    }
}

impl Header for CallId {
    const NAME: HeaderName = HeaderName::CallId;
    fn parse(value: &Bytes) -> Result<Self, HeaderError> {
        let s = scan::trim_lws(value);
        check_call_id(s)?;
        Ok(Self(value.slice_ref(s)))
    }

    fn write_value(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
    }
}

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Checks `word [ "@" word ]` (RFC 3261 §20.8) on a value without surrounding whitespace.
pub(crate) fn check_call_id(s: &[u8]) -> Result<(), HeaderError> {
    if s.is_empty() {
        return Err(HeaderError::Empty);
    }
    // One table lookup per byte (`@` is not in the table: it takes the slow branch).
    let mut ats = 0;
    for (i, &c) in s.iter().enumerate() {
        if WORD_CHAR[usize::from(c)] {
            continue;
        }
        if c == b'@' {
            ats += 1;
            let edge = i == 0 || i + 1 == s.len();
            if ats > 1 || edge {
                return Err(HeaderError::Unexpected { at: i });
            }
        } else {
            return Err(HeaderError::Unexpected { at: i });
        }
    }
    Ok(())
}

/// `word` characters of RFC 3261 §25.1: token plus `( ) < > : \ " / [ ] ? { }`.
static WORD_CHAR: [bool; 256] = word_chars();

const fn word_chars() -> [bool; 256] {
    let mut t = scan::token_table();
    let extra = b"()<>:\\\"/[]?{}";
    let mut i = 0;
    while i < extra.len() {
        t[extra[i] as usize] = true;
        i += 1;
    }
    t
}

macro_rules! number_header {
    ($(#[$doc:meta])* $ty:ident, $name:ident, $int:ty) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Eq, Hash, Ord, PartialEq, PartialOrd)]
        pub struct $ty(pub $int);

        impl Header for $ty {
            const NAME: HeaderName = HeaderName::$name;
            fn parse(value: &Bytes) -> Result<Self, HeaderError> {
                let n = whole_u32(value)?;
                <$int>::try_from(n).map(Self).map_err(|_| HeaderError::BadNumber { at: 0 })
            }

            fn write_value(&self, out: &mut Vec<u8>) {
                scan::put_u32(out, u32::from(self.0));
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

number_header!(
    /// `Max-Forwards` (RFC 3261 §20.22): 0..=255.
    MaxForwards, MaxForwards, u8
);
number_header!(
    /// `Content-Length` (RFC 3261 §20.14) in bytes.
    ContentLength, ContentLength, u32
);
/// `Expires` (RFC 3261 §20.19) in seconds, 0..=2^32-1.
///
/// An RFC 2543 absolute date (`Expires: Sat, 28 Nov 2026 10:00:00 GMT`) reads as 3600:
/// RFC 3261 §20.19, "Malformed values SHOULD be treated as equivalent to 3600", kept for
/// RFC 2543 peers (§10.2.1.1); reSIProcate reads it so too. A number out of range is
/// still an error (RFC 4475's `scalar02` lets a UAS refuse it).
#[derive(Clone, Copy, Debug, Eq, Hash, Ord, PartialEq, PartialOrd)]
pub struct Expires(pub u32);

impl Header for Expires {
    const NAME: HeaderName = HeaderName::Expires;
    fn parse(value: &Bytes) -> Result<Self, HeaderError> {
        match whole_u32(value) {
            Ok(n) => Ok(Self(n)),
            Err(_) if Date::parse(value).is_ok() => Ok(Self(RFC2543_DATE_EXPIRES)),
            Err(e) => Err(e),
        }
    }

    fn write_value(&self, out: &mut Vec<u8>) {
        scan::put_u32(out, self.0);
    }
}

impl fmt::Display for Expires {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
number_header!(
    /// `RSeq` (RFC 3262 §7.1).
    RSeq, RSeq, u32
);

/// `RAck` (RFC 3262 §7.2): response-num, CSeq number, method.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct RAck {
    /// The RSeq of the acknowledged response.
    pub rseq: u32,
    /// The CSeq number of the acknowledged response.
    pub cseq: u32,
    /// The CSeq method.
    pub method: Method,
}

impl Header for RAck {
    const NAME: HeaderName = HeaderName::RAck;
    fn parse(value: &Bytes) -> Result<Self, HeaderError> {
        let s = scan::trim_lws(value);
        let (a, rest) = digits(s);
        let rseq = u32_of(a)?;
        let (b, rest) = digits(ltrim(rest));
        let cseq = u32_of(b)?;
        let (m, tail) = token(ltrim(rest));
        if m.is_empty() || !tail.is_empty() {
            return Err(HeaderError::Unexpected {
                at: scan::offset_in(value, rest),
            });
        }
        Ok(Self {
            rseq,
            cseq,
            method: Method::from_shared(value, m),
        })
    }

    fn write_value(&self, out: &mut Vec<u8>) {
        scan::put_u32(out, self.rseq);
        out.push(b' ');
        scan::put_u32(out, self.cseq);
        out.push(b' ');
        out.extend_from_slice(self.method.as_str().as_bytes());
    }
}

impl fmt::Display for RAck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.rseq, self.cseq, self.method)
    }
}

macro_rules! token_params_header {
    ($(#[$doc:meta])* $ty:ident, $name:ident, $multi:expr, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Eq, PartialEq)]
        pub struct $ty {
            value: Bytes,
            params: Params,
        }

        impl $ty {
            #[doc = concat!("The ", $what, ".")]
            pub fn value(&self) -> &str {
                scan::as_str(&self.value)
            }

            /// The parameters.
            pub fn params(&self) -> &Params {
                &self.params
            }
        }

        impl Header for $ty {
            const NAME: HeaderName = HeaderName::$name;
            const MULTI: bool = $multi;
            fn parse(value: &Bytes) -> Result<Self, HeaderError> {
                let s = scan::trim_lws(value);
                let (t, rest) = token(s);
                if t.is_empty() {
                    return Err(HeaderError::Unexpected { at: 0 });
                }
                let params = Params::parse(value, rest, value)?;
                Ok(Self { value: value.slice_ref(t), params })
            }

            fn write_value(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.value);
                self.params.write_to(out);
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}{}", self.value(), self.params)
            }
        }
    };
}

token_params_header!(
    /// `Event` (RFC 6665 §8.2.1): event package and `id`.
    Event, Event, false, "event package"
);
token_params_header!(
    /// `Subscription-State` (RFC 6665 §8.2.3): `active` / `pending` / `terminated` and
    /// `expires`, `reason`, `retry-after`.
    SubscriptionState, SubscriptionState, false, "substate value"
);
token_params_header!(
    /// One `Reason` value (RFC 3326): protocol (`SIP`, `Q.850`) with `cause` and `text`.
    Reason, Reason, true, "protocol"
);

impl Event {
    /// The `id` parameter.
    pub fn id(&self) -> Option<&str> {
        self.params.get("id").flatten()
    }
}

impl SubscriptionState {
    /// The `expires` parameter in seconds.
    pub fn expires(&self) -> Option<u32> {
        u32_of(self.params.get("expires").flatten()?.as_bytes()).ok()
    }
}

impl Reason {
    /// The `cause` parameter.
    pub fn cause(&self) -> Option<u32> {
        u32_of(self.params.get("cause").flatten()?.as_bytes()).ok()
    }
}

macro_rules! delta_params_header {
    ($(#[$doc:meta])* $ty:ident, $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Eq, PartialEq)]
        pub struct $ty {
            seconds: u32,
            params: Params,
        }

        impl $ty {
            /// A value without parameters.
            pub fn new(seconds: u32) -> Self {
                Self { seconds, params: Params::new() }
            }

            /// The interval in seconds.
            pub fn seconds(&self) -> u32 {
                self.seconds
            }

            /// The parameters.
            pub fn params(&self) -> &Params {
                &self.params
            }
        }

        impl Header for $ty {
            const NAME: HeaderName = HeaderName::$name;
            fn parse(value: &Bytes) -> Result<Self, HeaderError> {
                let s = scan::trim_lws(value);
                let (d, mut rest) = digits(s);
                let seconds = u32_of(d)?;
                // Retry-After may carry a comment: "(in a meeting)"
                let r = ltrim(rest);
                if r.first() == Some(&b'(') {
                    let end = comment_end(r).ok_or(
                        HeaderError::Unexpected { at: scan::offset_in(value, r) },
                    )?;
                    rest = r.get(end..).unwrap_or_default();
                }
                let params = Params::parse(value, rest, value)?;
                Ok(Self { seconds, params })
            }

            fn write_value(&self, out: &mut Vec<u8>) {
                scan::put_u32(out, self.seconds);
                self.params.write_to(out);
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}{}", self.seconds, self.params)
            }
        }
    };
}

delta_params_header!(
    /// `Session-Expires` (RFC 4028 §4) with the `refresher` parameter.
    SessionExpires, SessionExpires
);
delta_params_header!(
    /// `Min-SE` (RFC 4028 §5).
    MinSe, MinSe
);
delta_params_header!(
    /// `Retry-After` (RFC 3261 §20.33), comment skipped.
    RetryAfter, RetryAfter
);

/// The length of the comment at the start of `s` (RFC 3261 §25.1: `comment = LPAREN *(ctext /
/// quoted-pair / comment) RPAREN`, so comments nest and `\)` is no end), or `None` when it is
/// not closed. Nesting is bounded by the value's length, counted, not recursed.
fn comment_end(s: &[u8]) -> Option<usize> {
    let mut depth = 0usize;
    let mut escaped = false;
    for (i, &c) in s.iter().enumerate() {
        match c {
            _ if escaped => escaped = false,
            b'\\' => escaped = true,
            b'(' => depth += 1,
            b')' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

impl SessionExpires {
    /// The `refresher` parameter (`uac` / `uas`).
    pub fn refresher(&self) -> Option<&str> {
        self.params.get("refresher").flatten()
    }
}

/// `Content-Type` (RFC 3261 §20.15): `type/subtype;params`.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct ContentType {
    mtype: Bytes,
    subtype: Bytes,
    params: Params,
}

impl ContentType {
    /// `application/sdp`.
    pub fn sdp() -> Self {
        Self {
            mtype: Bytes::from_static(b"application"),
            subtype: Bytes::from_static(b"sdp"),
            params: Params::new(),
        }
    }

    /// The type (`application`).
    pub fn mtype(&self) -> &str {
        scan::as_str(&self.mtype)
    }

    /// The subtype (`sdp`).
    pub fn subtype(&self) -> &str {
        scan::as_str(&self.subtype)
    }

    /// The parameters.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// Whether this is `type/subtype`, case-insensitively.
    pub fn is(&self, mtype: &str, subtype: &str) -> bool {
        self.mtype().eq_ignore_ascii_case(mtype) && self.subtype().eq_ignore_ascii_case(subtype)
    }
}

impl Header for ContentType {
    const NAME: HeaderName = HeaderName::ContentType;
    fn parse(value: &Bytes) -> Result<Self, HeaderError> {
        let s = scan::trim_lws(value);
        let (t, rest) = token(s);
        let rest = ltrim(rest);
        let [b'/', rest @ ..] = rest else {
            return Err(HeaderError::Unexpected {
                at: scan::offset_in(value, rest),
            });
        };
        let (st, rest) = token(ltrim(rest));
        if t.is_empty() || st.is_empty() {
            return Err(HeaderError::Empty);
        }
        let params = Params::parse(value, rest, value)?;
        Ok(Self {
            mtype: value.slice_ref(t),
            subtype: value.slice_ref(st),
            params,
        })
    }

    fn write_value(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.mtype);
        out.push(b'/');
        out.extend_from_slice(&self.subtype);
        self.params.write_to(out);
    }
}

impl fmt::Display for ContentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}{}", self.mtype(), self.subtype(), self.params)
    }
}

macro_rules! token_list_header {
    ($(#[$doc:meta])* $ty:ident, $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Default, Eq, PartialEq)]
        pub struct $ty(pub Vec<Bytes>);

        impl $ty {
            /// The tokens in order.
            pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
                self.0.iter().map(|b| scan::as_str(b))
            }

            /// Whether `tag` is listed (case-insensitive).
            pub fn contains(&self, tag: &str) -> bool {
                self.iter().any(|t| t.eq_ignore_ascii_case(tag))
            }
        }

        impl Header for $ty {
            const NAME: HeaderName = HeaderName::$name;
            fn parse(value: &Bytes) -> Result<Self, HeaderError> {
                token_list(value).map(Self)
            }

            fn write_value(&self, out: &mut Vec<u8>) {
                write_list(out, self.0.iter().map(|t| &t[..]));
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                for (i, t) in self.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    f.write_str(t)?;
                }
                Ok(())
            }
        }
    };
}

/// A comma-separated token list; an empty value is an empty list (RFC 3261 allows an empty
/// Supported / Allow).
///
/// An empty element (`,outbound`, `timer,,100rel`, a trailing `,`) is skipped: RFC 3261's
/// list has none, but MizuDroid ends every call with `Supported: ,outbound` in its BYE and
/// PJSIP's parser dropped the whole BYE, so the call never ended
/// (pjproject#4650, <https://github.com/pjsip/pjproject/issues/4650>). A token list carries
/// nothing an empty element could hide, unlike a list of addresses.
fn token_list(value: &Bytes) -> Result<Vec<Bytes>, HeaderError> {
    value
        .split(|&c| c == b',')
        .map(scan::trim_lws)
        .filter(|t| !t.is_empty())
        .map(|t| {
            if !scan::all_token(t) {
                return Err(HeaderError::Unexpected {
                    at: scan::offset_in(value, t),
                });
            }
            Ok(value.slice_ref(t))
        })
        .collect()
}

token_list_header!(
    /// `Supported` (RFC 3261 §20.37): option tags.
    Supported, Supported
);
token_list_header!(
    /// `Require` (RFC 3261 §20.32): option tags.
    Require, Require
);
token_list_header!(
    /// `Proxy-Require` (RFC 3261 §20.29): option tags.
    ProxyRequire, ProxyRequire
);
token_list_header!(
    /// `Unsupported` (RFC 3261 §20.40): option tags.
    Unsupported, Unsupported
);

/// `Allow` (RFC 3261 §20.5): methods.
#[derive(Clone, Debug, Default, Eq, PartialEq)]
pub struct Allow(pub Vec<Method>);

impl Allow {
    /// Whether `m` is allowed.
    pub fn contains(&self, m: &Method) -> bool {
        self.0.contains(m)
    }
}

impl Header for Allow {
    const NAME: HeaderName = HeaderName::Allow;
    fn parse(value: &Bytes) -> Result<Self, HeaderError> {
        Ok(Self(
            token_list(value)?
                .iter()
                .map(|t| Method::from_shared(t, t))
                .collect(),
        ))
    }

    fn write_value(&self, out: &mut Vec<u8>) {
        write_list(out, self.0.iter().map(|m| m.as_str().as_bytes()));
    }
}

/// Appends `a, b, c`.
fn write_list<'a>(out: &mut Vec<u8>, items: impl Iterator<Item = &'a [u8]>) {
    for (i, t) in items.enumerate() {
        if i > 0 {
            out.extend_from_slice(b", ");
        }
        out.extend_from_slice(t);
    }
}

impl fmt::Display for Allow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, m) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{m}")?;
        }
        Ok(())
    }
}

macro_rules! text_header {
    ($(#[$doc:meta])* $ty:ident, $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Eq, PartialEq)]
        pub struct $ty(Bytes);

        impl $ty {
            /// A value from text (line breaks are not allowed).
            ///
            /// # Errors
            /// [`HeaderError::Unexpected`] at a CR, LF or NUL.
            pub fn new(text: &str) -> Result<Self, HeaderError> {
                Self::parse_str(text)
            }

            /// The text.
            pub fn as_str(&self) -> &str {
                scan::as_str(&self.0)
            }
        }

        impl Header for $ty {
            const NAME: HeaderName = HeaderName::$name;
            fn parse(value: &Bytes) -> Result<Self, HeaderError> {
                if std::str::from_utf8(value).is_err() {
                    return Err(HeaderError::Unexpected { at: 0 });
                }
                let text = scan::trim_lws(value);
                // folded lines (CRLF + SP/HT) are fine; any other CR, LF or NUL is not
                let mut i = 0;
                while let Some(&c) = text.get(i) {
                    match c {
                        b'\r' => {
                            let folded = text.get(i + 1) == Some(&b'\n')
                                && matches!(text.get(i + 2), Some(b' ' | b'\t'));
                            if !folded {
                                return Err(HeaderError::Unexpected { at: i });
                            }
                            i += 3;
                        }
                        0 | b'\n' => return Err(HeaderError::Unexpected { at: i }),
                        _ => i += 1,
                    }
                }
                Ok(Self(value.slice_ref(text)))
            }

            fn write_value(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.0);
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_header!(
    /// `User-Agent` (RFC 3261 §20.41): product tokens and comments, kept as text.
    UserAgent, UserAgent
);
text_header!(
    /// `Server` (RFC 3261 §20.35): product tokens and comments, kept as text.
    Server, Server
);

/// `Date` (RFC 3261 §20.17): an RFC 1123 date, which SIP restricts to GMT.
///
/// Read as RFC 1123 §5.2.14 and RFC 822 §5.1 define the date, which is wider than RFC 3261's
/// `rfc1123-date` and is what peers send: the day of the week may be left out (reSIProcate
/// accepts it since resiprocate#200), the day may have one digit (`Mon, 4 Nov 2024`), and
/// `UTC` stands for `GMT` (SIPp's `[date]` keyword writes it, SIPp#535). A local zone
/// (`EST`, `+0100`) is refused: SIP allows GMT only.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Date {
    text: Bytes,
    unix: u64,
}

impl Date {
    /// The date as written.
    pub fn as_str(&self) -> &str {
        scan::as_str(&self.text)
    }

    /// The date as seconds since 1970-01-01 00:00:00 UTC (a leap second `:60` counts as the
    /// next second). RFC 8224 §6.2.1 compares this with the time a request is received.
    pub fn unix_time(&self) -> u64 {
        self.unix
    }
}

impl Header for Date {
    const NAME: HeaderName = HeaderName::Date;
    fn parse(value: &Bytes) -> Result<Self, HeaderError> {
        // [ wkday "," ] 1*2DIGIT SP month SP 4DIGIT SP hh:mm:ss SP ( "GMT" / "UTC" )
        // e.g. "Sat, 13 Nov 2010 23:29:00 GMT"
        let s = scan::trim_lws(value);
        let mut rest = s;
        if let Some((wkday, tail)) = s.split_at_checked(4)
            && wkday.last() == Some(&b',')
        {
            if !DAYS
                .iter()
                .any(|d| d.as_slice() == wkday.get(..3).unwrap_or_default())
            {
                return Err(HeaderError::Unexpected { at: 0 });
            }
            rest = tail;
        }
        let mut words = rest.split(|&c| scan::is_lws(c)).filter(|w| !w.is_empty());
        let (Some(day), Some(month), Some(year), Some(time), Some(zone), None) = (
            words.next(),
            words.next(),
            words.next(),
            words.next(),
            words.next(),
            words.next(),
        ) else {
            return Err(HeaderError::Unexpected { at: 0 });
        };
        let at = |w: &[u8]| scan::offset_in(value, w);
        let num = |d: &[u8], len: std::ops::RangeInclusive<usize>, max: u64| {
            len.contains(&d.len())
                .then(|| parse_u64(d, 4))
                .flatten()
                .filter(|&v| v <= max)
                .ok_or(HeaderError::BadNumber { at: at(d) })
        };
        let day = num(day, 1..=2, 31)?;
        let month = MONTHS
            .iter()
            .position(|m| m.as_slice() == month)
            .ok_or(HeaderError::Unexpected { at: at(month) })?;
        let year = num(year, 4..=4, 9999)?;
        let mut hms = time.split(|&c| c == b':');
        let [h, m, sec] = match (hms.next(), hms.next(), hms.next(), hms.next()) {
            (Some(h), Some(m), Some(sec), None) => {
                [num(h, 2..=2, 23)?, num(m, 2..=2, 59)?, num(sec, 2..=2, 60)?]
            }
            _ => return Err(HeaderError::Unexpected { at: at(time) }),
        };
        if day == 0 {
            return Err(HeaderError::BadNumber { at: 0 });
        }
        if zone != b"GMT" && zone != b"UTC" {
            return Err(HeaderError::NotAllowed("date must be in GMT"));
        }
        let days = days_from_civil(year, month as u64 + 1, day);
        Ok(Self {
            text: value.slice_ref(s),
            unix: days * 86_400 + h * 3600 + m * 60 + sec,
        })
    }
}

/// Days from 1970-01-01 to `year-month-day` (proleptic Gregorian; years before 1970 give 0,
/// SIP dates are never that old). Howard Hinnant's `days_from_civil`.
fn days_from_civil(year: u64, month: u64, day: u64) -> u64 {
    let y = if month <= 2 {
        year.saturating_sub(1)
    } else {
        year
    };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe).saturating_sub(719_468)
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `Replaces` (RFC 3891 §6.1): the dialog to replace.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Replaces {
    call_id: CallId,
    params: Params,
}

impl Replaces {
    /// The Call-ID of the dialog.
    pub fn call_id(&self) -> &CallId {
        &self.call_id
    }

    /// `to-tag`.
    pub fn to_tag(&self) -> Option<&str> {
        self.params.get("to-tag").flatten()
    }

    /// `from-tag`.
    pub fn from_tag(&self) -> Option<&str> {
        self.params.get("from-tag").flatten()
    }

    /// Whether `early-only` is present.
    pub fn early_only(&self) -> bool {
        self.params.contains("early-only")
    }
}

impl Header for Replaces {
    const NAME: HeaderName = HeaderName::Replaces;
    fn parse(value: &Bytes) -> Result<Self, HeaderError> {
        let s = scan::trim_lws(value);
        let end = s
            .iter()
            .position(|&c| c == b';' || scan::is_lws(c))
            .unwrap_or(s.len());
        let call_id = CallId::parse(&value.slice_ref(s.get(..end).unwrap_or_default()))?;
        let params = Params::parse(value, s.get(end..).unwrap_or_default(), value)?;
        if !params.contains("to-tag") || !params.contains("from-tag") {
            return Err(HeaderError::NotAllowed(
                "replaces needs to-tag and from-tag",
            ));
        }
        Ok(Self { call_id, params })
    }
}

impl fmt::Display for Replaces {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.call_id, self.params)
    }
}

/// One `Warning` value (RFC 3261 §20.43): 3-digit code, agent, quoted text.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Warning {
    code: u16,
    agent: Bytes,
    text: Bytes,
}

impl Warning {
    /// The warn-code (300..=399 in RFC 3261's registry).
    pub fn code(&self) -> u16 {
        self.code
    }

    /// The warn-agent (`host[:port]` or a pseudonym).
    pub fn agent(&self) -> &str {
        scan::as_str(&self.agent)
    }

    /// The warn-text with its quotes.
    pub fn text(&self) -> &str {
        scan::as_str(&self.text)
    }
}

impl Header for Warning {
    const NAME: HeaderName = HeaderName::Warning;
    const MULTI: bool = true;
    fn parse(value: &Bytes) -> Result<Self, HeaderError> {
        let s = scan::trim_lws(value);
        utf8(s, value)?;
        let (code, rest) = digits(s);
        if code.len() != 3 {
            return Err(HeaderError::BadNumber { at: 0 });
        }
        let code = parse_u64(code, 3)
            .and_then(|c| u16::try_from(c).ok())
            .unwrap_or_default();
        let rest = ltrim(rest);
        let n = rest
            .iter()
            .position(|&c| c == b' ' || c == b'\t')
            .unwrap_or(rest.len());
        let agent = rest.get(..n).unwrap_or_default();
        if agent.is_empty() {
            return Err(HeaderError::Empty);
        }
        let text = ltrim(rest.get(n..).unwrap_or_default());
        if text.first() != Some(&b'"') {
            return Err(HeaderError::Unexpected {
                at: scan::offset_in(value, text),
            });
        }
        let end = quoted_end(text).map_err(|_| HeaderError::UnterminatedQuote {
            at: scan::offset_in(value, text),
        })?;
        if end != text.len() {
            return Err(HeaderError::Unexpected {
                at: scan::offset_in(value, text) + end,
            });
        }
        Ok(Self {
            code,
            agent: value.slice_ref(agent),
            text: value.slice_ref(text),
        })
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:03} {} {}", self.code, self.agent(), self.text())
    }
}

/// What an absolute-date `Expires` stands for (RFC 3261 §20.19).
const RFC2543_DATE_EXPIRES: u32 = 3600;

/// Day-of-week and month names of a SIP date (RFC 1123 §5.2.14).
const DAYS: [[u8; 3]; 7] = [
    *b"Mon", *b"Tue", *b"Wed", *b"Thu", *b"Fri", *b"Sat", *b"Sun",
];
const MONTHS: [[u8; 3]; 12] = [
    *b"Jan", *b"Feb", *b"Mar", *b"Apr", *b"May", *b"Jun", *b"Jul", *b"Aug", *b"Sep", *b"Oct",
    *b"Nov", *b"Dec",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_id_word_table() {
        for c in 0..=255u8 {
            let word = is_token(c) || b"()<>:\\\"/[]?{}".contains(&c);
            assert_eq!(WORD_CHAR[usize::from(c)], word, "byte {c}");
        }
        let id = |s: &str| CallId::parse(&Bytes::copy_from_slice(s.as_bytes()));
        assert_eq!(id(" a@b ").unwrap().as_str(), "a@b");
        assert!(matches!(id("@a b"), Err(HeaderError::Unexpected { at: 0 })));
        assert!(matches!(
            id("a@b@c"),
            Err(HeaderError::Unexpected { at: 3 })
        ));
        assert!(matches!(id("ab@"), Err(HeaderError::Unexpected { at: 2 })));
        assert!(matches!(
            id("a b@c"),
            Err(HeaderError::Unexpected { at: 1 })
        ));
    }

    #[test]
    fn cseq() {
        let c = CSeq::parse_str("0009\r\n  INVITE").unwrap();
        assert_eq!((c.seq(), c.method()), (9, &Method::Invite));
        let c = CSeq::parse_str("4294967295 BYE").unwrap();
        assert_eq!(c.seq(), u32::MAX);
        assert!(CSeq::parse_str("4294967296 BYE").is_err());
        assert!(CSeq::parse_str("36893488147419103232 INVITE").is_err());
        assert!(CSeq::parse_str("1INVITE").is_err());
        assert!(CSeq::parse_str("1 INVITE x").is_err());
        assert_eq!(CSeq::new(7, Method::Ack).to_string(), "7 ACK");
    }

    #[test]
    fn numbers() {
        assert_eq!(MaxForwards::parse_str("0068").unwrap(), MaxForwards(68));
        assert!(MaxForwards::parse_str("300").is_err());
        assert!(Expires::parse_str("10000000000000000000").is_err());
        // RFC 2543's absolute date reads as 3600 (RFC 3261 §20.19); a local zone does not.
        let e = Expires::parse_str("Sat, 28 Nov 2026 10:00:00 GMT").unwrap();
        assert_eq!((e, e.to_string()), (Expires(3600), "3600".to_owned()));
        assert!(Expires::parse_str("Sat, 28 Nov 2026 10:00:00 EST").is_err());
        assert!(Expires::parse_str("soon").is_err());
        assert!(ContentLength::parse_str("-999").is_err());
        let r = RetryAfter::parse_str("18000 (in a meeting);duration=3600").unwrap();
        assert_eq!(r.seconds(), 18000);
        // RFC 3261 §25.1 comments nest and take quoted-pairs; the first ')' is not the end.
        for text in [
            "120 (I'm in a meeting (really));duration=60",
            "120 (closed \\) till 9);duration=60",
        ] {
            let r = RetryAfter::parse_str(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(
                (r.seconds(), r.params().get("duration")),
                (120, Some(Some("60")))
            );
        }
        assert!(RetryAfter::parse_str("120 (open (nested)").is_err());
        assert!(RetryAfter::parse_str("120 (escaped end\\)").is_err());
        assert!(RetryAfter::parse_str("949302838503028349304023988").is_err());
        let s = SessionExpires::parse_str("1800;refresher=uas").unwrap();
        assert_eq!((s.seconds(), s.refresher()), (1800, Some("uas")));
        let r = RAck::parse_str("776656 1 INVITE").unwrap();
        assert_eq!((r.rseq, r.cseq, r.method), (776_656, 1, Method::Invite));
    }

    #[test]
    fn tokens_and_types() {
        let s = Supported::parse_str("100rel, timer ,replaces").unwrap();
        assert!(s.contains("TIMER"));
        assert_eq!(s.to_string(), "100rel, timer, replaces");
        // empty elements are skipped (MizuDroid's `Supported: ,outbound`, pjproject#4650)
        assert_eq!(Require::parse_str("a,,b").unwrap().to_string(), "a, b");
        for (text, tags) in [
            (",outbound", &["outbound"][..]),
            (" , outbound ,", &["outbound"]),
            ("timer,,100rel", &["timer", "100rel"]),
            (",", &[]),
            ("\r\n ,timer", &["timer"]),
        ] {
            let s = Supported::parse_str(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
            assert_eq!(s.iter().collect::<Vec<_>>(), tags, "{text:?}");
            assert_eq!(Supported::parse_str(&s.to_string()).unwrap(), s, "{text:?}");
        }
        assert_eq!(Allow::parse_str("INVITE,,BYE,").unwrap().0.len(), 2);
        for bad in ["timer;x=1", "100rel timer", ", a b", "\"timer\""] {
            assert!(Supported::parse_str(bad).is_err(), "{bad:?}");
        }
        let a = Allow::parse_str("INVITE, ACK, FOO").unwrap();
        assert!(a.contains(&Method::Ack));
        let c = ContentType::parse_str("multipart/mixed;boundary=7a9cbec02ceef655").unwrap();
        assert!(c.is("Multipart", "MIXED"));
        assert_eq!(c.params().get("boundary"), Some(Some("7a9cbec02ceef655")));
        let e = Event::parse_str("dialog;id=42").unwrap();
        assert_eq!((e.value(), e.id()), ("dialog", Some("42")));
        let ss = SubscriptionState::parse_str("active;expires=600").unwrap();
        assert_eq!(ss.expires(), Some(600));
        let r = Reason::parse_str("Q.850;cause=16;text=\"Terminated\"").unwrap();
        assert_eq!(r.cause(), Some(16));
        let r =
            Replaces::parse_str("98732@sip.example.com;from-tag=r33th4x0r;to-tag=ff87ff").unwrap();
        assert_eq!(r.call_id().as_str(), "98732@sip.example.com");
        assert_eq!(r.to_tag(), Some("ff87ff"));
        assert!(CallId::parse_str("a@b@c").is_err());
        assert!(CallId::parse_str("intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{").is_ok());
    }

    #[test]
    fn date_and_warning() {
        let d = Date::parse_str("Sat, 13 Nov 2010 23:29:00 GMT").unwrap();
        assert_eq!(d.unix_time(), 1_289_690_940);
        assert_eq!(
            Date::parse_str("Thu, 01 Jan 1970 00:00:00 GMT")
                .unwrap()
                .unix_time(),
            0
        );
        assert_eq!(
            Date::parse_str("Tue, 29 Feb 2028 12:00:00 GMT")
                .unwrap()
                .unix_time(),
            1_835_438_400
        );
        // What peers write beside RFC 3261's strict form (RFC 1123 §5.2.14, RFC 822 §5.1):
        // one-digit day, no day of the week, UTC (SIPp's [date]), runs of spaces.
        for (text, unix) in [
            ("Mon, 4 Nov 2024 06:48:27 GMT", 1_730_702_907),
            ("04 Nov 2024 06:48:27 GMT", 1_730_702_907),
            ("Wed, 18 Aug 2021 14:43:48 UTC", 1_629_297_828),
            ("Wed,  18 Aug 2021  14:43:48 GMT", 1_629_297_828),
        ] {
            let d = Date::parse_str(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!((d.unix_time(), d.as_str()), (unix, text), "{text}");
        }
        for bad in [
            "Sat, 13 Nov 2010 23:29:00",
            "Sat, 13 Nov 2010 23:29 GMT",
            "Sat, 13 Nov 10 23:29:00 GMT",
            "Sat, 013 Nov 2010 23:29:00 GMT",
            "Sat, 0 Nov 2010 23:29:00 GMT",
            "Sat, 32 Nov 2010 23:29:00 GMT",
            "Sat, 13 November 2010 23:29:00 GMT",
            "Sat, 13 Nov 2010 24:00:00 GMT",
            "Sat, 13 Nov 2010 23:29:00 GMT GMT",
            "Xyz, 13 Nov 2010 23:29:00 GMT",
            "Sat, 13 Nov 2010 23:29:00 +0000",
            "",
        ] {
            assert!(Date::parse_str(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Date::parse_str("Fri, 01 Jan 2010 16:00:00 EST"),
            Err(HeaderError::NotAllowed("date must be in GMT"))
        );
        let w = Warning::parse_str("370 devnull \"Choose a bigger pipe\"").unwrap();
        assert_eq!((w.code(), w.agent()), (370, "devnull"));
        assert!(Warning::parse_str("1812 overture \"In Progress\"").is_err());
    }
}
