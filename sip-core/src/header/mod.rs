//! Typed SIP headers (RFC 3261 §20, §25 and the extensions listed on [`HeaderName`]).
//!
//! Headers stay raw in the message index until asked for; [`Header::parse`] types one value.
//! Typed values share the message buffer ([`Bytes`] slices), so they are cheap to keep.
//! `Display` writes the value in canonical form, which is how builders serialize them.

mod addr;
mod auth;
mod name;
mod params;
mod simple;
mod via;

use std::fmt;
use std::marker::PhantomData;

use bytes::Bytes;

pub use crate::error::HeaderError;
use crate::msg::{Headers, scan};

pub use addr::{
    Contact, From, NameAddr, PAssertedIdentity, RecordRoute, ReferTo, ReferredBy, Route, To,
};
pub use auth::{AuthValue, Authorization, ProxyAuthenticate, ProxyAuthorization, WwwAuthenticate};
pub use name::HeaderName;
pub use params::{Param, Params};
pub use simple::{
    Allow, CSeq, CallId, ContentLength, ContentType, Date, Event, Expires, MaxForwards, MinSe,
    ProxyRequire, RAck, RSeq, Reason, Replaces, Require, RetryAfter, Server, SessionExpires,
    SubscriptionState, Supported, Unsupported, UserAgent, Warning,
};
pub use via::Via;

/// A header that can be typed from its value and written back.
pub trait Header: Sized + fmt::Display {
    /// The header's name.
    const NAME: HeaderName;
    /// Whether one line may carry several comma-separated values (RFC 3261 §7.3.1); each
    /// value is then typed separately.
    const MULTI: bool = false;

    /// Types one value (without surrounding whitespace; for list headers one element).
    ///
    /// # Errors
    /// [`HeaderError`] when the value does not follow the header's grammar.
    fn parse(value: &Bytes) -> Result<Self, HeaderError>;

    /// Types a value given as text (copies it).
    ///
    /// # Errors
    /// As [`Header::parse`].
    fn parse_str(value: &str) -> Result<Self, HeaderError> {
        Self::parse(&Bytes::copy_from_slice(scan::trim_lws(value.as_bytes())))
    }
}

/// Splits a list header value at commas outside quoted strings and `<...>` (RFC 3261
/// §7.3.1). Empty elements are an error (RFC 4475 3.1.2.1).
pub fn split_list(value: &[u8]) -> impl Iterator<Item = Result<&[u8], HeaderError>> + '_ {
    let mut pos = 0usize;
    let mut done = false;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        let rest = value.get(pos..).unwrap_or_default();
        let mut in_quote = false;
        let mut in_angle = false;
        let mut escaped = false;
        let mut end = rest.len();
        for (i, &c) in rest.iter().enumerate() {
            if in_quote {
                if escaped {
                    escaped = false;
                } else if c == b'\\' {
                    escaped = true;
                } else if c == b'"' {
                    in_quote = false;
                }
                continue;
            }
            match c {
                b'"' => in_quote = true,
                b'<' => in_angle = true,
                b'>' => in_angle = false,
                b',' if !in_angle => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
        let elem = rest.get(..end).unwrap_or_default();
        let at = pos;
        if end == rest.len() {
            done = true;
        } else {
            pos += end + 1;
        }
        let trimmed = scan::trim_lws(elem);
        if trimmed.is_empty() {
            done = true;
            return Some(Err(HeaderError::Unexpected { at }));
        }
        Some(Ok(trimmed))
    })
}

/// Every value of one header in a message, typed (see [`Headers::get_all`]).
pub struct TypedIter<'a, H> {
    headers: &'a Headers,
    entry: usize,
    line: Option<Bytes>,
    pos: usize,
    _h: PhantomData<fn() -> H>,
}

impl<'a, H: Header> TypedIter<'a, H> {
    pub(crate) fn new(headers: &'a Headers) -> Self {
        Self {
            headers,
            entry: 0,
            line: None,
            pos: 0,
            _h: PhantomData,
        }
    }
}

impl<H> fmt::Debug for TypedIter<'_, H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TypedIter")
            .field("entry", &self.entry)
            .finish()
    }
}

impl<H: Header> Iterator for TypedIter<'_, H> {
    type Item = Result<H, HeaderError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(line) = &self.line {
                if self.pos < line.len() {
                    let rest = line.get(self.pos..).unwrap_or_default();
                    let mut it = split_list(rest);
                    let first = it.next();
                    // Advance past this element: to the char after its end, plus the comma.
                    match first {
                        Some(Ok(elem)) => {
                            let end = scan::offset_in(rest, elem) + elem.len();
                            let after = rest.get(end..).unwrap_or_default();
                            let comma = after.iter().position(|&c| c == b',');
                            self.pos += match comma {
                                Some(c) => end + c + 1,
                                None => rest.len(),
                            };
                            if comma.is_some() && self.pos >= line.len() {
                                // trailing comma: an empty last element
                                self.pos = usize::MAX;
                                return Some(Err(HeaderError::Unexpected { at: line.len() }));
                            }
                            return Some(H::parse(&line.slice_ref(elem)));
                        }
                        Some(Err(e)) => {
                            self.pos = line.len();
                            return Some(Err(e));
                        }
                        None => self.pos = line.len(),
                    }
                    continue;
                }
                self.line = None;
            }
            let kind = H::NAME.kind();
            let entries = self.headers.entries();
            let e = entries
                .get(self.entry..)?
                .iter()
                .position(|e| e.kind == kind)?;
            let entry = entries.get(self.entry + e)?;
            self.entry += e + 1;
            let value = self.headers.raw_bytes().slice(entry.value.range());
            if !H::MULTI {
                return Some(H::parse(&value));
            }
            self.line = Some(value);
            self.pos = 0;
        }
    }
}

/// Checks a value of a well-known header against its grammar; the error carries the offset
/// inside the value.
pub(crate) fn check_value(name: HeaderName, value: &Bytes) -> Result<(), (usize, HeaderError)> {
    fn one<H: Header>(value: &Bytes) -> Result<(), (usize, HeaderError)> {
        if H::MULTI {
            for elem in split_list(value) {
                let elem = elem.map_err(|e| (0, e))?;
                H::parse(&value.slice_ref(elem)).map_err(|e| (scan::offset_in(value, elem), e))?;
            }
            Ok(())
        } else {
            H::parse(value).map(drop).map_err(|e| (0, e))
        }
    }
    match name {
        HeaderName::Via => one::<Via>(value),
        HeaderName::From => one::<From>(value),
        HeaderName::To => one::<To>(value),
        HeaderName::CallId => one::<CallId>(value),
        HeaderName::CSeq => one::<CSeq>(value),
        HeaderName::MaxForwards => one::<MaxForwards>(value),
        HeaderName::Contact => one::<Contact>(value),
        HeaderName::ContentLength => one::<ContentLength>(value),
        HeaderName::ContentType => one::<ContentType>(value),
        HeaderName::Route => one::<Route>(value),
        HeaderName::RecordRoute => one::<RecordRoute>(value),
        HeaderName::Expires => one::<Expires>(value),
        HeaderName::Authorization => one::<Authorization>(value),
        HeaderName::ProxyAuthorization => one::<ProxyAuthorization>(value),
        HeaderName::WwwAuthenticate => one::<WwwAuthenticate>(value),
        HeaderName::ProxyAuthenticate => one::<ProxyAuthenticate>(value),
        HeaderName::Allow => one::<Allow>(value),
        HeaderName::Supported => one::<Supported>(value),
        HeaderName::Require => one::<Require>(value),
        HeaderName::ProxyRequire => one::<ProxyRequire>(value),
        HeaderName::Unsupported => one::<Unsupported>(value),
        HeaderName::Event => one::<Event>(value),
        HeaderName::SubscriptionState => one::<SubscriptionState>(value),
        HeaderName::ReferTo => one::<ReferTo>(value),
        HeaderName::ReferredBy => one::<ReferredBy>(value),
        HeaderName::Replaces => one::<Replaces>(value),
        HeaderName::SessionExpires => one::<SessionExpires>(value),
        HeaderName::MinSe => one::<MinSe>(value),
        HeaderName::RSeq => one::<RSeq>(value),
        HeaderName::RAck => one::<RAck>(value),
        HeaderName::PAssertedIdentity => one::<PAssertedIdentity>(value),
        HeaderName::Reason => one::<Reason>(value),
        HeaderName::Warning => one::<Warning>(value),
        HeaderName::Date => one::<Date>(value),
        HeaderName::RetryAfter => one::<RetryAfter>(value),
        // UserAgent / Server are free text; the rest are not typed here.
        _ => Ok(()),
    }
}
