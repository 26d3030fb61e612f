//! Typed SIP headers (RFC 3261 §20, §25 and the extensions listed on [`HeaderName`]).
//!
//! Headers stay raw in the message index until asked for; [`Header::parse`] types one value.
//! Typed values share the message buffer ([`Bytes`] slices), so they are cheap to keep.
//! `Display` writes the value in canonical form, which is how builders serialize them.

mod addr;
mod auth;
mod identity;
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
pub use identity::Identity;
pub use name::HeaderName;
pub use params::{Param, Params};
pub(crate) use simple::check_call_id;
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

    /// Appends the value in canonical form to `out`: the same text as `Display`. Builders
    /// serialize headers with this; the well-known headers write their bytes directly, the
    /// default goes through `Display`.
    fn write_value(&self, out: &mut Vec<u8>) {
        write_display(self, out);
    }
}

/// Appends `v`'s `Display` text to `out` (no intermediate `String`).
pub(crate) fn write_display(v: &(impl fmt::Display + ?Sized), out: &mut Vec<u8>) {
    struct Sink<'a>(&'a mut Vec<u8>);
    impl fmt::Write for Sink<'_> {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            self.0.extend_from_slice(s.as_bytes());
            Ok(())
        }
    }
    // Writing into a Vec cannot fail; a Display impl that errors leaves what it wrote.
    let _ = fmt::write(&mut Sink(out), format_args!("{v}"));
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
            let (i, entry) = self.headers.find_entry(self.entry, H::NAME)?;
            self.entry = i + 1;
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
        // UserAgent / Server are free text; Identity is for a verifier to judge (438, RFC 8224
        // §6.2.2), not a reason to refuse the request; the rest are not typed here.
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `write_value` must write exactly what `Display` writes, for values as received
    /// (odd whitespace, quoted parameters, compact forms) and for values set in code.
    fn same<H: Header>(values: &[&str]) {
        for v in values {
            let h = H::parse_str(v).unwrap_or_else(|e| panic!("{v:?}: {e}"));
            let mut out = b"prefix".to_vec();
            h.write_value(&mut out);
            assert_eq!(
                String::from_utf8_lossy(&out),
                format!("prefix{h}"),
                "{} {v:?}",
                H::NAME
            );
        }
    }

    #[test]
    fn write_value_equals_display() {
        same::<Via>(&[
            "SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds",
            "SIP/2.0/TCP [2001:db8::1]:5061;branch=z9hG4bKx;rport=5060;received=192.0.2.1",
            "SIP / 2.0 / UDP host ; branch = z9hG4bK1 ; rport",
            "SIP/2.0/UDP h;x=\"a; b\";branch=1",
            "SIP/2.0/UDP h:0",
        ]);
        same::<From>(&[
            "\"Alice \\\"A\\\"\" <sip:alice@atlanta.com>;tag=1928301774",
            "sip:alice@atlanta.com;tag=88sja8x",
            "<sip:a@b;lr> ; tag = x ; foo",
            "Bob <sips:bob@[::1]:5061;transport=tls?subject=x>",
        ]);
        same::<To>(&["<sip:bob@biloxi.com>", "sip:+1-212@x;user=phone"]);
        same::<Contact>(&[
            "*",
            "<sip:alice@pc33.atlanta.com>;expires=3600;q=0.7",
            "\"x\" <sip:x@y>;+sip.instance=\"<urn:uuid:1>\"",
        ]);
        same::<Route>(&["<sip:p1.example.com;lr>"]);
        same::<RecordRoute>(&["<sip:p2.example.com;lr>;x"]);
        same::<PAssertedIdentity>(&["\"Cullen\" <sip:fluffy@cisco.com>"]);
        same::<CallId>(&["a84b4c76e66710@pc33.atlanta.com", "f81d4fae"]);
        same::<CSeq>(&["314159 INVITE", "4294967295   FOO", "1 ACK"]);
        same::<RAck>(&["776656 1 INVITE"]);
        same::<MaxForwards>(&["0", "70", "255"]);
        same::<ContentLength>(&["0", "4294967295"]);
        same::<Expires>(&["3600"]);
        same::<RSeq>(&["988789"]);
        same::<MinSe>(&["90;x=y"]);
        same::<SessionExpires>(&["1800;refresher=uac", "1800 ; refresher = uas"]);
        same::<RetryAfter>(&["18000;duration=3600", "120 (I'm in a meeting)"]);
        same::<ContentType>(&["application/sdp", "multipart/mixed ; boundary=\"a b\""]);
        same::<Event>(&["presence;id=1", "refer"]);
        same::<SubscriptionState>(&["active;expires=60", "terminated;reason=timeout"]);
        same::<Supported>(&["", "100rel, timer,replaces"]);
        same::<Require>(&["100rel"]);
        same::<ProxyRequire>(&["foo"]);
        same::<Unsupported>(&["bar,baz"]);
        same::<Allow>(&["INVITE, ACK,OPTIONS, FOO", ""]);
        same::<UserAgent>(&["telox/0.1 (rust)"]);
        same::<Server>(&["Asterisk PBX 18.0"]);
        same::<Reason>(&["SIP;cause=200;text=\"Call completed elsewhere\""]);
        same::<Warning>(&["370 devnull \"Choose a bigger pipe\""]);
        same::<Date>(&["Sat, 13 Nov 2010 23:29:00 GMT"]);
        same::<Replaces>(&["98732@sip.example.com;from-tag=r33th4x0r;to-tag=ff87ff"]);
        same::<Identity>(&["a.b.c;info=<https://cert.example/x.pem>;alg=ES256;ppt=\"shaken\""]);
        same::<Authorization>(&[
            "Digest username=\"bob\", realm=\"biloxi.com\", nonce=\"dcd98b\", uri=\"sip:bob@biloxi.com\", response=\"245f23415f11432b3434341c022\"",
        ]);
        same::<WwwAuthenticate>(&[
            "Digest realm=\"atlanta.com\", nonce=\"84a4cc6f\", qop=\"auth\"",
        ]);
    }

    #[test]
    fn write_value_after_edits_equals_display() {
        let mut via = Via::parse_str("SIP/2.0/UDP h ; branch=z9hG4bK1").unwrap();
        via.set_received("192.0.2.7");
        via.set_rport(5062);
        let mut out = Vec::new();
        via.write_value(&mut out);
        assert_eq!(out, via.to_string().into_bytes());
        let to = To::parse_str("<sip:b@c>;x").unwrap().with_tag("t1");
        let mut out = Vec::new();
        to.write_value(&mut out);
        assert_eq!(out, b"<sip:b@c>;x;tag=t1");
        assert_eq!(out, to.to_string().into_bytes());
    }
}
