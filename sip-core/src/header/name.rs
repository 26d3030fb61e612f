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
}

const ALL: [HeaderName; 60] = [
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
];

impl HeaderName {
    /// The canonical spelling.
    pub fn as_str(self) -> &'static str {
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
        }
    }

    /// The compact form (RFC 3261 §7.3.3 and extensions), if the header has one.
    pub fn compact(self) -> Option<char> {
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
        let candidates: &[Self] = match name.len() {
            2 => &[Self::To],
            3 => &[Self::Via],
            4 => &[
                Self::From,
                Self::CSeq,
                Self::RSeq,
                Self::RAck,
                Self::Date,
                Self::Path,
            ],
            5 => &[Self::Route, Self::Allow, Self::Event],
            6 => &[Self::MinSe, Self::Server, Self::Reason, Self::Accept],
            7 => &[
                Self::CallId,
                Self::Contact,
                Self::Expires,
                Self::Require,
                Self::Warning,
                Self::Subject,
                Self::Privacy,
            ],
            8 => &[Self::ReferTo, Self::Replaces, Self::Priority, Self::ReplyTo],
            9 => &[Self::Supported, Self::Timestamp, Self::CallInfo],
            10 => &[Self::UserAgent, Self::AlertInfo, Self::ErrorInfo],
            11 => &[
                Self::Unsupported,
                Self::ReferredBy,
                Self::RetryAfter,
                Self::MinExpires,
                Self::InReplyTo,
            ],
            12 => &[
                Self::MaxForwards,
                Self::ContentType,
                Self::RecordRoute,
                Self::MimeVersion,
                Self::Organization,
                Self::AllowEvents,
            ],
            13 => &[Self::Authorization, Self::ProxyRequire, Self::ServiceRoute],
            14 => &[Self::ContentLength],
            15 => &[
                Self::SessionExpires,
                Self::AcceptEncoding,
                Self::AcceptLanguage,
            ],
            16 => &[
                Self::WwwAuthenticate,
                Self::ContentEncoding,
                Self::ContentLanguage,
            ],
            18 => &[Self::ProxyAuthenticate, Self::SubscriptionState],
            19 => &[
                Self::ProxyAuthorization,
                Self::PAssertedIdentity,
                Self::ContentDisposition,
                Self::AuthenticationInfo,
            ],
            20 => &[Self::PPreferredIdentity],
            1 => {
                return match name.first().map(u8::to_ascii_lowercase) {
                    Some(b'v') => Some(Self::Via),
                    Some(b'f') => Some(Self::From),
                    Some(b't') => Some(Self::To),
                    Some(b'i') => Some(Self::CallId),
                    Some(b'm') => Some(Self::Contact),
                    Some(b'l') => Some(Self::ContentLength),
                    Some(b'c') => Some(Self::ContentType),
                    Some(b'k') => Some(Self::Supported),
                    Some(b'o') => Some(Self::Event),
                    Some(b'r') => Some(Self::ReferTo),
                    Some(b'b') => Some(Self::ReferredBy),
                    Some(b'x') => Some(Self::SessionExpires),
                    Some(b's') => Some(Self::Subject),
                    Some(b'e') => Some(Self::ContentEncoding),
                    Some(b'u') => Some(Self::AllowEvents),
                    _ => None,
                };
            }
            _ => return None,
        };
        candidates
            .iter()
            .copied()
            .find(|c| c.as_str().as_bytes().eq_ignore_ascii_case(name))
    }

    /// Index key in the header table: 1 + position, 0 is reserved for extension headers.
    pub(crate) fn kind(self) -> u8 {
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
        }
    }

    pub(crate) fn from_kind(kind: u8) -> Option<Self> {
        ALL.get(usize::from(kind).checked_sub(1)?).copied()
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
}
