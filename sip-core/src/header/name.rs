//! Header names: well-known names, compact forms and case-insensitive lookup.

use std::fmt;

/// A well-known SIP header name. Extension headers have no variant; they are kept verbatim
/// and found by name ([`Headers::named_str`](crate::Headers::named_str)).
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum HeaderName {
    /// `Via` (RFC 3261 §20.42, compact `v`).
    Via,
    /// `From` (RFC 3261 §20.20, compact `f`).
    From,
    /// `To` (RFC 3261 §20.39, compact `t`).
    To,
    /// `Call-ID` (RFC 3261 §20.8, compact `i`).
    CallId,
    /// `CSeq` (RFC 3261 §20.16).
    CSeq,
    /// `Max-Forwards` (RFC 3261 §20.22).
    MaxForwards,
    /// `Contact` (RFC 3261 §20.10, compact `m`).
    Contact,
    /// `Content-Length` (RFC 3261 §20.14, compact `l`).
    ContentLength,
    /// `Content-Type` (RFC 3261 §20.15, compact `c`).
    ContentType,
    /// `Route` (RFC 3261 §20.34).
    Route,
    /// `Record-Route` (RFC 3261 §20.30).
    RecordRoute,
    /// `Expires` (RFC 3261 §20.19).
    Expires,
    /// `Authorization` (RFC 3261 §20.7).
    Authorization,
    /// `Proxy-Authorization` (RFC 3261 §20.28).
    ProxyAuthorization,
    /// `WWW-Authenticate` (RFC 3261 §20.44).
    WwwAuthenticate,
    /// `Proxy-Authenticate` (RFC 3261 §20.27).
    ProxyAuthenticate,
    /// `Allow` (RFC 3261 §20.5).
    Allow,
    /// `Supported` (RFC 3261 §20.37, compact `k`).
    Supported,
    /// `Require` (RFC 3261 §20.32).
    Require,
    /// `Proxy-Require` (RFC 3261 §20.29).
    ProxyRequire,
    /// `Unsupported` (RFC 3261 §20.40).
    Unsupported,
    /// `Event` (RFC 6665 §8.2.1, compact `o`).
    Event,
    /// `Subscription-State` (RFC 6665 §8.2.3).
    SubscriptionState,
    /// `Refer-To` (RFC 3515 §2.1, compact `r`).
    ReferTo,
    /// `Referred-By` (RFC 3892, compact `b`).
    ReferredBy,
    /// `Replaces` (RFC 3891).
    Replaces,
    /// `Session-Expires` (RFC 4028, compact `x`).
    SessionExpires,
    /// `Min-SE` (RFC 4028).
    MinSe,
    /// `RSeq` (RFC 3262).
    RSeq,
    /// `RAck` (RFC 3262).
    RAck,
    /// `P-Asserted-Identity` (RFC 3325).
    PAssertedIdentity,
    /// `User-Agent` (RFC 3261 §20.41).
    UserAgent,
    /// `Server` (RFC 3261 §20.35).
    Server,
    /// `Reason` (RFC 3326).
    Reason,
    /// `Warning` (RFC 3261 §20.43).
    Warning,
    /// `Date` (RFC 3261 §20.17).
    Date,
    /// `Retry-After` (RFC 3261 §20.33).
    RetryAfter,
    /// `Subject` (RFC 3261 §20.36, compact `s`).
    Subject,
    /// `Accept` (RFC 3261 §20.1).
    Accept,
    /// `Accept-Encoding` (RFC 3261 §20.2).
    AcceptEncoding,
    /// `Accept-Language` (RFC 3261 §20.3).
    AcceptLanguage,
    /// `Content-Encoding` (RFC 3261 §20.12, compact `e`).
    ContentEncoding,
    /// `Content-Disposition` (RFC 3261 §20.11).
    ContentDisposition,
    /// `Content-Language` (RFC 3261 §20.13).
    ContentLanguage,
    /// `MIME-Version` (RFC 3261 §20.24).
    MimeVersion,
    /// `Min-Expires` (RFC 3261 §20.23).
    MinExpires,
    /// `Timestamp` (RFC 3261 §20.38).
    Timestamp,
    /// `Organization` (RFC 3261 §20.25).
    Organization,
    /// `Priority` (RFC 3261 §20.26).
    Priority,
    /// `In-Reply-To` (RFC 3261 §20.21).
    InReplyTo,
    /// `Reply-To` (RFC 3261 §20.31).
    ReplyTo,
    /// `Alert-Info` (RFC 3261 §20.4).
    AlertInfo,
    /// `Call-Info` (RFC 3261 §20.9).
    CallInfo,
    /// `Error-Info` (RFC 3261 §20.18).
    ErrorInfo,
    /// `Authentication-Info` (RFC 3261 §20.6).
    AuthenticationInfo,
    /// `Allow-Events` (RFC 6665 §8.2.2, compact `u`).
    AllowEvents,
    /// `Path` (RFC 3327).
    Path,
    /// `Service-Route` (RFC 3608).
    ServiceRoute,
    /// `Privacy` (RFC 3323).
    Privacy,
    /// `P-Preferred-Identity` (RFC 3325).
    PPreferredIdentity,
    /// `Identity` (RFC 8224 §4.1).
    Identity,
}

const ALL: [HeaderName; 61] = [
    HeaderName::Via,
    HeaderName::From,
    HeaderName::To,
    HeaderName::CallId,
    HeaderName::CSeq,
    HeaderName::MaxForwards,
    HeaderName::Contact,
    HeaderName::ContentLength,
    HeaderName::ContentType,
    HeaderName::Route,
    HeaderName::RecordRoute,
    HeaderName::Expires,
    HeaderName::Authorization,
    HeaderName::ProxyAuthorization,
    HeaderName::WwwAuthenticate,
    HeaderName::ProxyAuthenticate,
    HeaderName::Allow,
    HeaderName::Supported,
    HeaderName::Require,
    HeaderName::ProxyRequire,
    HeaderName::Unsupported,
    HeaderName::Event,
    HeaderName::SubscriptionState,
    HeaderName::ReferTo,
    HeaderName::ReferredBy,
    HeaderName::Replaces,
    HeaderName::SessionExpires,
    HeaderName::MinSe,
    HeaderName::RSeq,
    HeaderName::RAck,
    HeaderName::PAssertedIdentity,
    HeaderName::UserAgent,
    HeaderName::Server,
    HeaderName::Reason,
    HeaderName::Warning,
    HeaderName::Date,
    HeaderName::RetryAfter,
    HeaderName::Subject,
    HeaderName::Accept,
    HeaderName::AcceptEncoding,
    HeaderName::AcceptLanguage,
    HeaderName::ContentEncoding,
    HeaderName::ContentDisposition,
    HeaderName::ContentLanguage,
    HeaderName::MimeVersion,
    HeaderName::MinExpires,
    HeaderName::Timestamp,
    HeaderName::Organization,
    HeaderName::Priority,
    HeaderName::InReplyTo,
    HeaderName::ReplyTo,
    HeaderName::AlertInfo,
    HeaderName::CallInfo,
    HeaderName::ErrorInfo,
    HeaderName::AuthenticationInfo,
    HeaderName::AllowEvents,
    HeaderName::Path,
    HeaderName::ServiceRoute,
    HeaderName::Privacy,
    HeaderName::PPreferredIdentity,
    HeaderName::Identity,
];

impl HeaderName {
    /// The canonical spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Via => "Via",
            Self::From => "From",
            Self::To => "To",
            Self::CallId => "Call-ID",
            Self::CSeq => "CSeq",
            Self::MaxForwards => "Max-Forwards",
            Self::Contact => "Contact",
            Self::ContentLength => "Content-Length",
            Self::ContentType => "Content-Type",
            Self::Route => "Route",
            Self::RecordRoute => "Record-Route",
            Self::Expires => "Expires",
            Self::Authorization => "Authorization",
            Self::ProxyAuthorization => "Proxy-Authorization",
            Self::WwwAuthenticate => "WWW-Authenticate",
            Self::ProxyAuthenticate => "Proxy-Authenticate",
            Self::Allow => "Allow",
            Self::Supported => "Supported",
            Self::Require => "Require",
            Self::ProxyRequire => "Proxy-Require",
            Self::Unsupported => "Unsupported",
            Self::Event => "Event",
            Self::SubscriptionState => "Subscription-State",
            Self::ReferTo => "Refer-To",
            Self::ReferredBy => "Referred-By",
            Self::Replaces => "Replaces",
            Self::SessionExpires => "Session-Expires",
            Self::MinSe => "Min-SE",
            Self::RSeq => "RSeq",
            Self::RAck => "RAck",
            Self::PAssertedIdentity => "P-Asserted-Identity",
            Self::UserAgent => "User-Agent",
            Self::Server => "Server",
            Self::Reason => "Reason",
            Self::Warning => "Warning",
            Self::Date => "Date",
            Self::RetryAfter => "Retry-After",
            Self::Subject => "Subject",
            Self::Accept => "Accept",
            Self::AcceptEncoding => "Accept-Encoding",
            Self::AcceptLanguage => "Accept-Language",
            Self::ContentEncoding => "Content-Encoding",
            Self::ContentDisposition => "Content-Disposition",
            Self::ContentLanguage => "Content-Language",
            Self::MimeVersion => "MIME-Version",
            Self::MinExpires => "Min-Expires",
            Self::Timestamp => "Timestamp",
            Self::Organization => "Organization",
            Self::Priority => "Priority",
            Self::InReplyTo => "In-Reply-To",
            Self::ReplyTo => "Reply-To",
            Self::AlertInfo => "Alert-Info",
            Self::CallInfo => "Call-Info",
            Self::ErrorInfo => "Error-Info",
            Self::AuthenticationInfo => "Authentication-Info",
            Self::AllowEvents => "Allow-Events",
            Self::Path => "Path",
            Self::ServiceRoute => "Service-Route",
            Self::Privacy => "Privacy",
            Self::PPreferredIdentity => "P-Preferred-Identity",
            Self::Identity => "Identity",
        }
    }

    /// The compact form (RFC 3261 §7.3.3 and extensions), if the header has one.
    pub const fn compact(self) -> Option<char> {
        match self {
            Self::Via => Some('v'),
            Self::From => Some('f'),
            Self::To => Some('t'),
            Self::CallId => Some('i'),
            Self::Contact => Some('m'),
            Self::ContentLength => Some('l'),
            Self::ContentType => Some('c'),
            Self::Supported => Some('k'),
            Self::Event => Some('o'),
            Self::ReferTo => Some('r'),
            Self::ReferredBy => Some('b'),
            Self::SessionExpires => Some('x'),
            Self::Subject => Some('s'),
            Self::ContentEncoding => Some('e'),
            Self::AllowEvents => Some('u'),
            _ => None,
        }
    }

    /// Looks a name up case-insensitively, compact forms included.
    pub fn from_bytes(name: &[u8]) -> Option<Self> {
        let (Some(&first), Some(&last)) = (name.first(), name.last()) else {
            return None;
        };
        // (length, first, last) picks at most two candidates; then one comparison
        let candidate: &[Self] = match (name.len(), first | 0x20, last | 0x20) {
            (2, b't', b'o') => &[Self::To],
            (3, b'v', b'a') => &[Self::Via],
            (4, b'c', b'q') => &[Self::CSeq],
            (4, b'd', b'e') => &[Self::Date],
            (4, b'f', b'm') => &[Self::From],
            (4, b'p', b'h') => &[Self::Path],
            (4, b'r', b'k') => &[Self::RAck],
            (4, b'r', b'q') => &[Self::RSeq],
            (5, b'a', b'w') => &[Self::Allow],
            (5, b'e', b't') => &[Self::Event],
            (5, b'r', b'e') => &[Self::Route],
            (6, b'a', b't') => &[Self::Accept],
            (6, b'm', b'e') => &[Self::MinSe],
            (6, b'r', b'n') => &[Self::Reason],
            (6, b's', b'r') => &[Self::Server],
            (7, b'c', b'd') => &[Self::CallId],
            (7, b'c', b't') => &[Self::Contact],
            (7, b'e', b's') => &[Self::Expires],
            (7, b'p', b'y') => &[Self::Privacy],
            (7, b'r', b'e') => &[Self::Require],
            (7, b's', b't') => &[Self::Subject],
            (7, b'w', b'g') => &[Self::Warning],
            (8, b'i', b'y') => &[Self::Identity],
            (8, b'p', b'y') => &[Self::Priority],
            (8, b'r', b'o') => &[Self::ReferTo, Self::ReplyTo],
            (8, b'r', b's') => &[Self::Replaces],
            (9, b'c', b'o') => &[Self::CallInfo],
            (9, b's', b'd') => &[Self::Supported],
            (9, b't', b'p') => &[Self::Timestamp],
            (10, b'a', b'o') => &[Self::AlertInfo],
            (10, b'e', b'o') => &[Self::ErrorInfo],
            (10, b'u', b't') => &[Self::UserAgent],
            (11, b'i', b'o') => &[Self::InReplyTo],
            (11, b'm', b's') => &[Self::MinExpires],
            (11, b'r', b'r') => &[Self::RetryAfter],
            (11, b'r', b'y') => &[Self::ReferredBy],
            (11, b'u', b'd') => &[Self::Unsupported],
            (12, b'a', b's') => &[Self::AllowEvents],
            (12, b'c', b'e') => &[Self::ContentType],
            (12, b'm', b'n') => &[Self::MimeVersion],
            (12, b'm', b's') => &[Self::MaxForwards],
            (12, b'o', b'n') => &[Self::Organization],
            (12, b'r', b'e') => &[Self::RecordRoute],
            (13, b'a', b'n') => &[Self::Authorization],
            (13, b'p', b'e') => &[Self::ProxyRequire],
            (13, b's', b'e') => &[Self::ServiceRoute],
            (14, b'c', b'h') => &[Self::ContentLength],
            (15, b'a', b'e') => &[Self::AcceptLanguage],
            (15, b'a', b'g') => &[Self::AcceptEncoding],
            (15, b's', b's') => &[Self::SessionExpires],
            (16, b'c', b'e') => &[Self::ContentLanguage],
            (16, b'c', b'g') => &[Self::ContentEncoding],
            (16, b'w', b'e') => &[Self::WwwAuthenticate],
            (18, b'p', b'e') => &[Self::ProxyAuthenticate],
            (18, b's', b'e') => &[Self::SubscriptionState],
            (19, b'a', b'o') => &[Self::AuthenticationInfo],
            (19, b'c', b'n') => &[Self::ContentDisposition],
            (19, b'p', b'n') => &[Self::ProxyAuthorization],
            (19, b'p', b'y') => &[Self::PAssertedIdentity],
            (20, b'p', b'y') => &[Self::PPreferredIdentity],
            (1, _, _) => {
                return match first | 0x20 {
                    b'v' => Some(Self::Via),
                    b'f' => Some(Self::From),
                    b't' => Some(Self::To),
                    b'i' => Some(Self::CallId),
                    b'm' => Some(Self::Contact),
                    b'l' => Some(Self::ContentLength),
                    b'c' => Some(Self::ContentType),
                    b'k' => Some(Self::Supported),
                    b'o' => Some(Self::Event),
                    b'r' => Some(Self::ReferTo),
                    b'b' => Some(Self::ReferredBy),
                    b'x' => Some(Self::SessionExpires),
                    b's' => Some(Self::Subject),
                    b'e' => Some(Self::ContentEncoding),
                    b'u' => Some(Self::AllowEvents),
                    _ => None,
                };
            }
            _ => return None,
        };
        candidate.iter().copied().find(|c| {
            let canonical = c.as_str().as_bytes();
            canonical == name || canonical.eq_ignore_ascii_case(name)
        })
    }

    /// Index key in the header table: 1 + position, 0 is reserved for extension headers.
    pub(crate) const fn kind(self) -> u8 {
        match self {
            Self::Via => 1,
            Self::From => 2,
            Self::To => 3,
            Self::CallId => 4,
            Self::CSeq => 5,
            Self::MaxForwards => 6,
            Self::Contact => 7,
            Self::ContentLength => 8,
            Self::ContentType => 9,
            Self::Route => 10,
            Self::RecordRoute => 11,
            Self::Expires => 12,
            Self::Authorization => 13,
            Self::ProxyAuthorization => 14,
            Self::WwwAuthenticate => 15,
            Self::ProxyAuthenticate => 16,
            Self::Allow => 17,
            Self::Supported => 18,
            Self::Require => 19,
            Self::ProxyRequire => 20,
            Self::Unsupported => 21,
            Self::Event => 22,
            Self::SubscriptionState => 23,
            Self::ReferTo => 24,
            Self::ReferredBy => 25,
            Self::Replaces => 26,
            Self::SessionExpires => 27,
            Self::MinSe => 28,
            Self::RSeq => 29,
            Self::RAck => 30,
            Self::PAssertedIdentity => 31,
            Self::UserAgent => 32,
            Self::Server => 33,
            Self::Reason => 34,
            Self::Warning => 35,
            Self::Date => 36,
            Self::RetryAfter => 37,
            Self::Subject => 38,
            Self::Accept => 39,
            Self::AcceptEncoding => 40,
            Self::AcceptLanguage => 41,
            Self::ContentEncoding => 42,
            Self::ContentDisposition => 43,
            Self::ContentLanguage => 44,
            Self::MimeVersion => 45,
            Self::MinExpires => 46,
            Self::Timestamp => 47,
            Self::Organization => 48,
            Self::Priority => 49,
            Self::InReplyTo => 50,
            Self::ReplyTo => 51,
            Self::AlertInfo => 52,
            Self::CallInfo => 53,
            Self::ErrorInfo => 54,
            Self::AuthenticationInfo => 55,
            Self::AllowEvents => 56,
            Self::Path => 57,
            Self::ServiceRoute => 58,
            Self::Privacy => 59,
            Self::PPreferredIdentity => 60,
            Self::Identity => 61,
        }
    }

    pub(crate) fn from_kind(kind: u8) -> Option<Self> {
        ALL.get(usize::from(kind).checked_sub(1)?).copied()
    }
}

/// A well-known name as the line classifier compares it: two little-endian words (the line's
/// bytes 0..8 and 8..16) for the name's bytes lower-cased, the `0x20` bits to OR into the
/// line under its letters (so either case of a letter compares equal, while `-` must match
/// exactly), the mask of the name's bytes, and its [`HeaderName::kind`].
#[derive(Clone, Copy)]
struct Known {
    pattern: [u64; 2],
    fold: [u64; 2],
    mask: [u64; 2],
    kind: u8,
}

/// Names of at most this many bytes are classified from one 16-byte load (with their colon);
/// longer ones (`WWW-Authenticate`, `Proxy-Authorization`, ...) take the general path.
const SHORT: usize = 15;

/// Every well-known full and compact name of at most [`SHORT`] bytes (entry 0 is a sentinel
/// that matches nothing), and a table from (first letter, name length) to up to three of them.
struct Classifier {
    known: [Known; 80],
    buckets: [[u8; 3]; 512],
}

const CLASSIFIER: Classifier = Classifier::build();

impl Classifier {
    const fn build() -> Self {
        let mut c = Self {
            // a pattern with every bit set: never equal to a masked line
            known: [Known {
                pattern: [u64::MAX; 2],
                fold: [0; 2],
                mask: [0; 2],
                kind: 0,
            }; 80],
            buckets: [[0; 3]; 512],
        };
        let mut n = 1;
        let mut i = 0;
        while i < ALL.len() {
            let name = ALL[i];
            n = c.add(n, name.as_str().as_bytes(), name.kind());
            if let Some(ch) = name.compact() {
                n = c.add(n, &[ch as u8], name.kind());
            }
            i += 1;
        }
        c
    }

    /// Adds `name` as entry `n` (if short enough); the next free entry. A full bucket or
    /// list fails the build (this runs at compile time).
    const fn add(&mut self, n: usize, name: &[u8], kind: u8) -> usize {
        if name.is_empty() || name.len() > SHORT {
            return n;
        }
        let mut k = Known {
            pattern: [0; 2],
            fold: [0; 2],
            mask: [0; 2],
            kind,
        };
        let mut i = 0;
        while i < name.len() {
            let (word, shift) = (i / 8, 8 * (i % 8));
            let lower = name[i].to_ascii_lowercase();
            k.pattern[word] |= (lower as u64) << shift;
            if lower.is_ascii_lowercase() {
                k.fold[word] |= 0x20 << shift;
            }
            k.mask[word] |= 0xff << shift;
            i += 1;
        }
        self.known[n] = k;
        let bucket = &mut self.buckets[bucket(name[0], name.len())];
        let mut slot = 0;
        while bucket[slot] != 0 {
            slot += 1;
        }
        // n < 80: the entry number fits a byte
        bucket[slot] = n as u8;
        n + 1
    }
}

/// Bucket of a name by its first letter (either case) and its length (1..=15; 0 maps to
/// empty buckets).
const fn bucket(first: u8, len: usize) -> usize {
    ((first & 0x1f) as usize) << 4 | (len & 0xf)
}

impl HeaderName {
    /// Recognises a well-known name written as `Name:` at the start of `line` (the common
    /// spelling: no space before the colon, a name of at most 15 bytes, 16 bytes of line
    /// available). Returns the name's length and its [`HeaderName::kind`]; `None` means "not
    /// decided here": the caller takes the general path (token scan, `HCOLON`,
    /// [`HeaderName::from_bytes`]), which also reports malformed lines.
    ///
    /// Two 8-byte loads: the first colon is found with the has-zero-byte test (on the second
    /// word only when the first has none), (first letter, length) picks at most three
    /// candidates, each compared as two masked words with `0x20` OR-ed under its letters.
    #[inline(always)]
    pub(crate) fn classify_line(line: &[u8]) -> Option<(usize, u8)> {
        const LO: u64 = u64::MAX / 0xff;
        const HI: u64 = LO << 7;
        const COLONS: u64 = LO * b':' as u64;
        let word = u128::from_le_bytes(*line.first_chunk::<16>()?);
        // truncations intended: the two halves
        let (w0, w1) = (word as u64, (word >> 64) as u64);
        // the lowest flagged byte of the has-zero test is exact (false flags only sit above a
        // true one), and no borrow crosses from the first word into the second
        let x0 = w0 ^ COLONS;
        let z0 = x0.wrapping_sub(LO) & !x0 & HI;
        let len = if z0 != 0 {
            (z0.trailing_zeros() / 8) as usize
        } else {
            let x1 = w1 ^ COLONS;
            let z1 = x1.wrapping_sub(LO) & !x1 & HI;
            if z1 == 0 {
                return None;
            }
            8 + (z1.trailing_zeros() / 8) as usize
        };
        // truncation intended: the first byte of the line
        let candidates = CLASSIFIER.buckets.get(bucket(w0 as u8, len))?;
        for &id in candidates {
            let k = CLASSIFIER.known.get(usize::from(id))?;
            let d0 = ((w0 | k.fold[0]) & k.mask[0]) ^ k.pattern[0];
            let d1 = ((w1 | k.fold[1]) & k.mask[1]) ^ k.pattern[1];
            if d0 | d1 == 0 {
                return Some((len, k.kind));
            }
            if id == 0 {
                break;
            }
        }
        None
    }
}

impl fmt::Display for HeaderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_round_trips() {
        for (i, name) in ALL.iter().enumerate() {
            assert_eq!(usize::from(name.kind()), i + 1);
            assert_eq!(HeaderName::from_kind(name.kind()), Some(*name));
            assert_eq!(
                HeaderName::from_bytes(name.as_str().as_bytes()),
                Some(*name)
            );
            let upper = name.as_str().to_ascii_uppercase();
            assert_eq!(HeaderName::from_bytes(upper.as_bytes()), Some(*name));
            if let Some(c) = name.compact() {
                let s = c.to_ascii_uppercase().to_string();
                assert_eq!(HeaderName::from_bytes(s.as_bytes()), Some(*name));
            }
        }
        assert_eq!(HeaderName::from_bytes(b"X-Custom"), None);
        assert_eq!(HeaderName::from_bytes(b"z"), None);
        assert_eq!(HeaderName::from_kind(0), None);
    }

    /// The fast classifier agrees with `from_bytes` on every name in both cases, compact
    /// forms included, and declines what it cannot decide.
    #[test]
    fn classify_line_agrees_with_from_bytes() {
        let pad = |s: &str| format!("{s}: some value that is long enough\r\n");
        let mut names: Vec<String> = Vec::new();
        for name in ALL {
            names.push(name.as_str().to_owned());
            names.push(name.as_str().to_ascii_uppercase());
            names.push(name.as_str().to_ascii_lowercase());
            if let Some(c) = name.compact() {
                names.push(c.to_string());
                names.push(c.to_ascii_uppercase().to_string());
            }
        }
        let mut fast = 0;
        for n in &names {
            let line = pad(n);
            let want = HeaderName::from_bytes(n.as_bytes()).map(HeaderName::kind);
            match HeaderName::classify_line(line.as_bytes()) {
                Some((len, kind)) => {
                    fast += 1;
                    assert_eq!((len, Some(kind)), (n.len(), want), "{n}");
                }
                // only long names are left to the general path
                None => assert!(n.len() > SHORT, "{n}"),
            }
        }
        assert!(fast > 150, "{fast}");
        // near misses: a letter off, a hyphen or colon replaced by a byte that folds onto it,
        // extension names, a space before the colon, no colon, a short line
        for line in [
            "Vib: x.......................",
            "Via :x.......................",
            "Call\rID: x..................",
            "Call-ID\x1a x..................",
            "Ca\x4cl-ID: x..................",
            "X-Via: x.....................",
            "Viaa: x......................",
            "Toto: x......................",
            "Content-Lengths: 12..........",
            "1: x.........................",
            "@: x.........................",
            ": x..........................",
            "Via",
            "v: 1",
            "ViaViaViaViaViaVia: x........",
        ] {
            let got = HeaderName::classify_line(line.as_bytes());
            let name = line.split(':').next().unwrap_or_default();
            if let Some((len, kind)) = got {
                // whatever it accepts must be exactly what from_bytes says of the name
                assert_eq!(
                    Some(kind),
                    HeaderName::from_bytes(&line.as_bytes()[..len]).map(HeaderName::kind),
                    "{line:?}"
                );
                assert_eq!(len, name.len(), "{line:?}");
            }
        }
        assert_eq!(
            HeaderName::classify_line(b"Call-ID\x1a x.................."),
            None
        );
        assert_eq!(
            HeaderName::classify_line(b"Ca\x4cl-ID: x.................."),
            Some((7, 4))
        );
        assert_eq!(
            HeaderName::classify_line(b"Cal\x0c-ID: x.................."),
            None
        );
        assert_eq!(
            HeaderName::classify_line(b"Via :x......................."),
            None
        );
        assert_eq!(
            HeaderName::classify_line(b"X-Via: x....................."),
            None
        );
        assert_eq!(HeaderName::classify_line(b"v: 1"), None);
    }
}
