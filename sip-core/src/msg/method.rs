//! The request method (RFC 3261 §7.1, §27.4).

use std::fmt;

use bytes::Bytes;

use super::scan;

/// A SIP method. Methods are case-sensitive (RFC 3261 §7.1): `invite` is an extension method,
/// not INVITE.
///
/// 16 bytes on x86-64: an extension token is boxed (one allocation for a request with an
/// extension method, which is rare), so the method does not make every [`Request`] 24 bytes
/// larger (see [`INLINE_HEADERS`]).
///
/// [`Request`]: super::Request
/// [`INLINE_HEADERS`]: super::INLINE_HEADERS
#[derive(Clone, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum Method {
    /// INVITE (RFC 3261).
    Invite,
    /// ACK (RFC 3261).
    Ack,
    /// BYE (RFC 3261).
    Bye,
    /// CANCEL (RFC 3261).
    Cancel,
    /// OPTIONS (RFC 3261).
    Options,
    /// REGISTER (RFC 3261).
    Register,
    /// PRACK (RFC 3262).
    Prack,
    /// SUBSCRIBE (RFC 6665).
    Subscribe,
    /// NOTIFY (RFC 6665).
    Notify,
    /// PUBLISH (RFC 3903).
    Publish,
    /// INFO (RFC 6086).
    Info,
    /// REFER (RFC 3515).
    Refer,
    /// MESSAGE (RFC 3428).
    Message,
    /// UPDATE (RFC 3311).
    Update,
    /// Any other token, as written (boxed, see above).
    Extension(Box<Bytes>),
}

impl Method {
    /// The method for a token; `None` if `token` is not an RFC 3261 token.
    pub fn from_token(token: &[u8]) -> Option<Self> {
        if let Some(m) = Self::known(token) {
            return Some(m);
        }
        scan::all_token(token).then(|| Self::Extension(Box::new(Bytes::copy_from_slice(token))))
    }

    /// The method for a token inside `buf` (a sub-slice), sharing `buf` for extensions.
    pub(crate) fn from_shared(buf: &Bytes, token: &[u8]) -> Self {
        Self::known(token).unwrap_or_else(|| Self::Extension(Box::new(buf.slice_ref(token))))
    }

    /// The method for a well-known token (case-sensitive); `None` for any other.
    pub(crate) fn known(token: &[u8]) -> Option<Self> {
        Some(match token {
            b"INVITE" => Self::Invite,
            b"ACK" => Self::Ack,
            b"BYE" => Self::Bye,
            b"CANCEL" => Self::Cancel,
            b"OPTIONS" => Self::Options,
            b"REGISTER" => Self::Register,
            b"PRACK" => Self::Prack,
            b"SUBSCRIBE" => Self::Subscribe,
            b"NOTIFY" => Self::Notify,
            b"PUBLISH" => Self::Publish,
            b"INFO" => Self::Info,
            b"REFER" => Self::Refer,
            b"MESSAGE" => Self::Message,
            b"UPDATE" => Self::Update,
            _ => return None,
        })
    }

    /// The method token.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Invite => "INVITE",
            Self::Ack => "ACK",
            Self::Bye => "BYE",
            Self::Cancel => "CANCEL",
            Self::Options => "OPTIONS",
            Self::Register => "REGISTER",
            Self::Prack => "PRACK",
            Self::Subscribe => "SUBSCRIBE",
            Self::Notify => "NOTIFY",
            Self::Publish => "PUBLISH",
            Self::Info => "INFO",
            Self::Refer => "REFER",
            Self::Message => "MESSAGE",
            Self::Update => "UPDATE",
            Self::Extension(b) => scan::as_str(b),
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Method {
    type Err = crate::error::HeaderError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_token(s.as_bytes()).ok_or(crate::error::HeaderError::Unexpected { at: 0 })
    }
}

// The method's size is part of `Request`'s (see `INLINE_HEADERS`); a larger one fails here.
#[cfg(target_pointer_width = "64")]
const _: () = assert!(size_of::<Method>() <= 16);
