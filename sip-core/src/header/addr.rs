//! Address headers: `name-addr / addr-spec` with parameters (RFC 3261 §20.10, §20.20,
//! §20.39, §25.1), and the headers built on them.

use std::borrow::Cow;
use std::fmt;
use std::ops::{Deref, DerefMut};

use bytes::Bytes;

use super::params::{Params, ltrim, quoted_end, utf8};
use super::{Header, HeaderName};
use crate::error::HeaderError;
use crate::msg::scan::{self, is_lws, is_token};
use crate::uri::{Uri, UriParts};

/// `( name-addr / addr-spec ) *( SEMI param )`: an optional display name, a URI and
/// header parameters (`tag`, `expires`, `q`, ...).
///
/// In the addr-spec form (no `<>`) everything after the first `;` is a header parameter,
/// and the URI may carry no headers (RFC 3261 §20: a URI with `,` `?` or `;` must be in
/// angle brackets).
#[derive(Clone, Eq, PartialEq)]
pub struct NameAddr {
    display: Option<Bytes>,
    uri: Uri,
    params: Params,
}

impl NameAddr {
    /// An address with no display name and no parameters.
    pub fn new(uri: Uri) -> Self {
        Self {
            display: None,
            uri,
            params: Params::new(),
        }
    }

    /// Sets the display name (quoted and escaped as needed).
    #[must_use]
    pub fn with_display_name(mut self, name: &str) -> Self {
        let mut q = String::with_capacity(name.len() + 2);
        q.push('"');
        for c in name.chars() {
            if c == '"' || c == '\\' {
                q.push('\\');
            }
            if c != '\r' && c != '\n' {
                q.push(c);
            }
        }
        q.push('"');
        self.display = Some(Bytes::from(q));
        self
    }

    /// Sets parameter `name` (value written as given).
    #[must_use]
    pub fn with_param(mut self, name: &str, value: Option<&str>) -> Self {
        self.params.set(name, value);
        self
    }

    /// Parses one value.
    ///
    /// # Errors
    /// [`HeaderError`] with the offset in the value.
    #[inline]
    pub fn parse(value: &Bytes) -> Result<Self, HeaderError> {
        Self::parse_with(value, false, |_, _| Ok(()))
    }

    /// [`NameAddr::parse`] with a check of each header parameter, done in the same pass.
    /// `bare_headers`: a URI outside angle brackets may carry `?headers` (see below).
    fn parse_with(
        value: &Bytes,
        bare_headers: bool,
        check: impl FnMut(&[u8], Option<&[u8]>) -> Result<(), HeaderError>,
    ) -> Result<Self, HeaderError> {
        let s: &[u8] = scan::trim_lws(value);
        utf8(s, value)?;
        if s.is_empty() {
            return Err(HeaderError::Empty);
        }
        let (display, rest) = if s.first() == Some(&b'"') {
            let q = quoted_end(s).map_err(|_| HeaderError::UnterminatedQuote {
                at: scan::offset_in(value, s),
            })?;
            let after = ltrim(s.get(q..).unwrap_or_default());
            if after.first() != Some(&b'<') && crate::uri::scheme_colon(after).is_some() {
                // A quoted display name before a bare URI: `"Anonymous" sip:anonymous@...;tag=`
                // from an Asterisk-fronted switch (SIP.js#100), `"unknown" sip:...` in the 302
                // Contact of nksip#20. RFC 3261 §20.10 wants the URI in
                // angle brackets when a display name is present; read it as an addr-spec
                // (the URI ends at the first ';', the rest are header parameters).
                (Some(value.slice_ref(s.get(..q).unwrap_or_default())), after)
            } else {
                // A Cisco phone echoes a display name it was given quoted inside quotes of its own:
                // `""unknown"" <sip:...>` (nksip#20), quoted strings and tokens run together.
                // RFC 3261's display-name is one quoted string; read the run as one name.
                let q = q + phrase_len(s.get(q..).unwrap_or_default());
                let rest = ltrim(s.get(q..).unwrap_or_default());
                if rest.first() != Some(&b'<') {
                    return Err(HeaderError::Unexpected {
                        at: scan::offset_in(value, rest),
                    });
                }
                (Some(value.slice_ref(s.get(..q).unwrap_or_default())), rest)
            }
        } else if let Some(lt) = s.iter().position(|&c| c == b'<' || c == b'"' || c == b';') {
            if s.get(lt) == Some(&b'<') {
                let name = scan::trim_lws(s.get(..lt).unwrap_or_default());
                // display-name = *(token LWS) / quoted-string (RFC 4475 3.1.2.15). Softphones
                // write a name in another script unquoted (`From: 中文<sip:...>`, doubango#333):
                // UTF-8 letters count as token characters (the value is checked UTF-8 above).
                if let Some(i) = name
                    .iter()
                    .position(|&c| !is_token(c) && !is_lws(c) && c.is_ascii())
                {
                    return Err(HeaderError::Unexpected {
                        at: scan::offset_in(value, name) + i,
                    });
                }
                let display = (!name.is_empty()).then(|| value.slice_ref(name));
                (display, s.get(lt..).unwrap_or_default())
            } else {
                (None, s)
            }
        } else {
            (None, s)
        };
        if let [b'<', inner @ ..] = rest {
            let gt = scan::find_byte(inner, b'>').ok_or(HeaderError::Unexpected {
                at: scan::offset_in(value, rest),
            })?;
            let uri_bytes = inner.get(..gt).unwrap_or_default();
            let uri = Uri::parse(value.slice_ref(uri_bytes)).map_err(HeaderError::Uri)?;
            let after = inner.get(gt + 1..).unwrap_or_default();
            let params = Params::parse_checked_utf8(value, after, value, check)?;
            return Ok(Self {
                display,
                uri,
                params,
            });
        }
        // addr-spec: the URI ends at the first ';' and may not contain '?' (RFC 3261 §20,
        // RFC 4475 3.1.2.12), except where `bare_headers` allows it: baresip before 3.5 sent
        // an attended transfer's Refer-To bare with its `?Replaces=` (baresip#2681). A URI
        // header value holds no ';', so it cannot swallow a header parameter.
        let end = rest
            .iter()
            .position(|&c| c == b';' || is_lws(c))
            .unwrap_or(rest.len());
        let uri_bytes = rest.get(..end).unwrap_or_default();
        let parts = UriParts::parse(uri_bytes, !bare_headers).map_err(HeaderError::Uri)?;
        let uri = Uri::from_parts(value.slice_ref(uri_bytes), parts);
        let params =
            Params::parse_checked_utf8(value, rest.get(end..).unwrap_or_default(), value, check)?;
        Ok(Self {
            display,
            uri,
            params,
        })
    }

    /// The display name as written (quotes kept), if any.
    pub fn display_name_raw(&self) -> Option<&str> {
        self.display.as_deref().map(scan::as_str)
    }

    /// The display name with quotes and `\` escapes removed (a run of quoted strings and
    /// tokens, as a Cisco phone may send, is read as their texts one after the other).
    pub fn display_name(&self) -> Option<Cow<'_, str>> {
        let raw = self.display_name_raw()?;
        Some(
            match raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
                // One quoted string without escapes: its inside as it stands.
                Some(inner)
                    if !inner.contains('\\') && quoted_end(raw.as_bytes()) == Ok(raw.len()) =>
                {
                    Cow::Borrowed(inner)
                }
                None if !raw.starts_with('"') => Cow::Borrowed(raw),
                _ => Cow::Owned(unquote_phrase(raw)),
            },
        )
    }

    /// The URI.
    pub fn uri(&self) -> &Uri {
        &self.uri
    }

    /// The header parameters.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// The header parameters, to modify.
    pub fn params_mut(&mut self) -> &mut Params {
        &mut self.params
    }

    /// The `tag` parameter (From/To, RFC 3261 §19.3).
    pub fn tag(&self) -> Option<&str> {
        self.params.get("tag").flatten()
    }

    /// Sets the `tag` parameter.
    pub fn set_tag(&mut self, tag: &str) {
        self.params.set("tag", Some(tag));
    }
}

impl NameAddr {
    /// Appends the value as `Display` writes it.
    pub(crate) fn write_to(&self, out: &mut Vec<u8>) {
        if let Some(d) = &self.display {
            out.extend_from_slice(d);
            out.push(b' ');
        }
        out.push(b'<');
        out.extend_from_slice(self.uri.as_bytes());
        out.push(b'>');
        self.params.write_to(out);
    }
}

impl fmt::Display for NameAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(d) = self.display_name_raw() {
            write!(f, "{d} ")?;
        }
        write!(f, "<{}>{}", self.uri, self.params)
    }
}

impl fmt::Debug for NameAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

/// The length of the run of quoted strings and tokens (and the LWS between them) at the start
/// of `s`; an unterminated quote ends the run before it.
fn phrase_len(s: &[u8]) -> usize {
    let mut at = 0;
    loop {
        let word = ltrim(s.get(at..).unwrap_or_default());
        let n = match word.first() {
            Some(b'"') => quoted_end(word).unwrap_or(0),
            _ => word.iter().take_while(|&&c| is_token(c)).count(),
        };
        if n == 0 {
            return at;
        }
        at = scan::offset_in(s, word) + n;
    }
}

/// The text of a run of quoted strings and tokens: quotes dropped, `\` escapes decoded, the
/// whitespace between words kept.
fn unquote_phrase(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let (mut quoted, mut escaped) = (false, false);
    for c in raw.chars() {
        match c {
            _ if escaped => {
                escaped = false;
                out.push(c);
            }
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            _ => out.push(c),
        }
    }
    out
}

macro_rules! addr_header {
    ($(#[$doc:meta])* $ty:ident, $name:ident, $multi:expr) => {
        addr_header!($(#[$doc])* $ty, $name, $multi, false);
    };
    ($(#[$doc:meta])* $ty:ident, $name:ident, $multi:expr, $bare_headers:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Eq, PartialEq)]
        pub struct $ty(pub NameAddr);

        impl $ty {
            /// The header for `uri`, no display name, no parameters.
            pub fn new(uri: Uri) -> Self {
                Self(NameAddr::new(uri))
            }

            /// Sets the `tag` parameter.
            #[must_use]
            pub fn with_tag(mut self, tag: &str) -> Self {
                self.0.set_tag(tag);
                self
            }
        }

        impl Deref for $ty {
            type Target = NameAddr;
            fn deref(&self) -> &NameAddr {
                &self.0
            }
        }

        impl DerefMut for $ty {
            fn deref_mut(&mut self) -> &mut NameAddr {
                &mut self.0
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl Header for $ty {
            const NAME: HeaderName = HeaderName::$name;
            const MULTI: bool = $multi;
            #[inline]
            fn parse(value: &Bytes) -> Result<Self, HeaderError> {
                NameAddr::parse_with(value, $bare_headers, |_, _| Ok(())).map(Self)
            }
            fn write_value(&self, out: &mut Vec<u8>) {
                self.0.write_to(out);
            }
        }
    };
}

addr_header!(
    /// `From` (RFC 3261 §20.20): the request's originator; `tag()` is the local tag.
    From, From, false
);
addr_header!(
    /// `To` (RFC 3261 §20.39): the logical recipient; `tag()` is set by the UAS.
    To, To, false
);
addr_header!(
    /// One `Route` value (RFC 3261 §20.34).
    Route, Route, true
);
addr_header!(
    /// One `Record-Route` value (RFC 3261 §20.30).
    RecordRoute, RecordRoute, true
);
addr_header!(
    /// `Refer-To` (RFC 3515 §2.1). A bare URI may carry `?headers` (baresip#2681).
    ReferTo, ReferTo, false, true
);
addr_header!(
    /// `Referred-By` (RFC 3892).
    ReferredBy, ReferredBy, false
);
addr_header!(
    /// One `P-Asserted-Identity` value (RFC 3325 §9.1).
    PAssertedIdentity, PAssertedIdentity, true
);

/// One `Contact` value (RFC 3261 §20.10): `*` (in a REGISTER that removes all bindings) or
/// an address with `expires` and `q` parameters, checked while parsing.
#[derive(Clone, Debug, Eq, PartialEq)]
pub enum Contact {
    /// `*`.
    Wildcard,
    /// An address.
    Addr(NameAddr),
}

impl Contact {
    /// A contact for `uri`.
    pub fn new(uri: Uri) -> Self {
        Self::Addr(NameAddr::new(uri))
    }

    /// The address, unless this is `*`.
    pub fn addr(&self) -> Option<&NameAddr> {
        match self {
            Self::Addr(a) => Some(a),
            Self::Wildcard => None,
        }
    }

    /// The URI, unless this is `*`.
    pub fn uri(&self) -> Option<&Uri> {
        self.addr().map(NameAddr::uri)
    }

    /// The `expires` parameter in seconds.
    pub fn expires(&self) -> Option<u32> {
        let v = self.addr()?.params().get("expires").flatten()?;
        scan::parse_u64(v.as_bytes(), 10).and_then(|n| u32::try_from(n).ok())
    }

    /// The `q` parameter in thousandths (0..=1000).
    pub fn q(&self) -> Option<u16> {
        parse_qvalue(self.addr()?.params().get("q").flatten()?.as_bytes())
    }
}

impl fmt::Display for Contact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Wildcard => f.write_str("*"),
            Self::Addr(a) => a.fmt(f),
        }
    }
}

impl Header for Contact {
    const NAME: HeaderName = HeaderName::Contact;
    const MULTI: bool = true;
    fn parse(value: &Bytes) -> Result<Self, HeaderError> {
        if scan::trim_lws(value) == b"*" {
            return Ok(Self::Wildcard);
        }
        let a = NameAddr::parse_with(value, false, |name, v| {
            // expires = delta-seconds (u32); q = qvalue. A quoted expires is RFC 2543's
            // absolute date (`expires="Sat, 28 Nov 2026 10:00:00 GMT"`), still sent by old
            // stacks: not c-p-expires but a valid contact-extension (generic-param with a
            // quoted-string), so kept, and `expires()` reads no seconds from it.
            let ok = if name.eq_ignore_ascii_case(b"expires") {
                v.is_some_and(|v| {
                    v.first() == Some(&b'"')
                        || scan::parse_u64(v, 10).is_some_and(|n| u32::try_from(n).is_ok())
                })
            } else if name.eq_ignore_ascii_case(b"q") {
                v.and_then(parse_qvalue).is_some()
            } else {
                true
            };
            ok.then_some(()).ok_or(HeaderError::BadNumber { at: 0 })
        })?;
        Ok(Self::Addr(a))
    }

    fn write_value(&self, out: &mut Vec<u8>) {
        match self {
            Self::Wildcard => out.push(b'*'),
            Self::Addr(a) => a.write_to(out),
        }
    }
}

/// `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )` in thousandths.
fn parse_qvalue(v: &[u8]) -> Option<u16> {
    let (int, frac) = match v.iter().position(|&c| c == b'.') {
        Some(d) => (v.get(..d)?, v.get(d + 1..)?),
        None => (v, &b""[..]),
    };
    if frac.len() > 3 || !frac.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut thousandths = 0u16;
    for (i, &c) in frac.iter().enumerate() {
        thousandths += u16::from(c - b'0') * [100, 10, 1].get(i).copied().unwrap_or(0);
    }
    match int {
        b"0" => Some(thousandths),
        b"1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn na(s: &str) -> Result<NameAddr, HeaderError> {
        NameAddr::parse(&Bytes::copy_from_slice(s.as_bytes()))
    }

    /// A quoted display name before a URI without angle brackets (SIP.js#100, nksip#20):
    /// the URI ends at the first ';', the rest are header parameters; written back with
    /// brackets. Without the quotes, or with something other than a URI after them, it is
    /// still refused.
    #[test]
    fn quoted_display_name_before_a_bare_uri() {
        for (text, display, uri, tag) in [
            (
                "\"Anonymous\" sip:anonymous@synthesis-switch.e164;tag=as4b6e3ad0",
                "Anonymous",
                "sip:anonymous@synthesis-switch.e164",
                Some("as4b6e3ad0"),
            ),
            (
                "\"unknown\" sip:1000@192.0.2.1",
                "unknown",
                "sip:1000@192.0.2.1",
                None,
            ),
            (
                "\"A B\"sips:b@h:5061;tag=x",
                "A B",
                "sips:b@h:5061",
                Some("x"),
            ),
            (
                "\"T\" tel:+15551234567;tag=y",
                "T",
                "tel:+15551234567",
                Some("y"),
            ),
        ] {
            let a = NameAddr::parse(&Bytes::copy_from_slice(text.as_bytes()))
                .unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(a.display_name().as_deref(), Some(display), "{text}");
            assert_eq!(a.uri().as_str(), uri, "{text}");
            assert_eq!(a.tag(), tag, "{text}");
            let again = NameAddr::parse(&Bytes::from(a.to_string())).unwrap();
            assert_eq!((again.uri().as_str(), again.tag()), (uri, tag), "{text}");
        }
        for bad in [
            "\"Anonymous\" anonymous@h;tag=1",
            "\"Anonymous\" sip:a@h?X=1",
            "\"Anonymous\" 123",
            "\"A\" sip:a b@h",
        ] {
            assert!(
                NameAddr::parse(&Bytes::copy_from_slice(bad.as_bytes())).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn forms() {
        let a = na(
            "\"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com>\r\n  ;\r\n  tag = 98asjd8",
        )
        .unwrap();
        assert_eq!(a.display_name().unwrap(), "J Rosenberg \\\"");
        assert_eq!(a.uri().as_str(), "sip:jdrosen@example.com");
        assert_eq!(a.tag(), Some("98asjd8"));
        let a = na("sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n").unwrap();
        assert_eq!(a.tag(), Some("1918181833n"));
        assert_eq!(a.uri().host(), "chair-dnrc.example.com");
        let a = na("\"caller\"<sip:caller@example.com>;tag=323").unwrap();
        assert_eq!(a.display_name().unwrap(), "caller");
        let a = na("Bob <sips:bob@biloxi.example.com>").unwrap();
        assert_eq!(a.display_name().unwrap(), "Bob");
        assert_eq!(a.to_string(), "Bob <sips:bob@biloxi.example.com>");
        let a = na("<sip:u@h;lr>;unknownparam").unwrap();
        assert_eq!(a.uri().param("lr"), Some(None));
        assert!(a.params().contains("unknownparam"));
        let a = na("sip:u@h;unknownparam").unwrap();
        assert_eq!(a.uri().param("unknownparam"), None);
        assert!(a.params().contains("unknownparam"));
        // An unquoted name in another script (doubango#333), read as written.
        let a = na("张伟 Zhang<sip:1001@192.0.2.5>;tag=1").unwrap();
        assert_eq!(a.display_name().as_deref(), Some("张伟 Zhang"));
        assert!(na("张伟, Zhang <sip:1001@192.0.2.5>").is_err());
        // A Cisco phone's quotes around quotes (nksip#20): one name, "unknown".
        let a = na("\"\"unknown\"\" <sip:1001@192.0.2.5>;tag=1").unwrap();
        assert_eq!(a.display_name().as_deref(), Some("unknown"));
        assert_eq!((a.uri().user(), a.tag()), (Some("1001"), Some("1")));
        assert_eq!(a.to_string(), "\"\"unknown\"\" <sip:1001@192.0.2.5>;tag=1");
        let a = na("\"Dr.\" John \"\\\"J\\\"\" <sip:j@h>").unwrap();
        assert_eq!(a.display_name().as_deref(), Some("Dr. John \"J\""));
        assert!(na("\"a\" b, c <sip:j@h>").is_err());
        // A bare Refer-To URI with headers (not RFC 3261's form; baresip#2681) ends at the
        // ';'; elsewhere that form stays refused (RFC 4475 3.1.2.12).
        let bare =
            ReferTo::parse_str("sip:c@example.com?Replaces=a%3Bto-tag%3D1%3Bfrom-tag%3D2;x=1")
                .unwrap();
        assert_eq!(
            bare.uri().headers(),
            Some("Replaces=a%3Bto-tag%3D1%3Bfrom-tag%3D2")
        );
        assert_eq!(bare.params().get("x"), Some(Some("1")));
        assert!(na("sip:user@example.com?Route=%3Csip:sip.example.com%3E").is_err());
        assert!(
            Contact::parse_str("sip:user@example.com?Route=%3Csip:sip.example.com%3E").is_err()
        );
    }

    #[test]
    fn rejects() {
        assert!(matches!(
            na("\"Mr J. User <sip:j.user@example.com>"),
            Err(HeaderError::UnterminatedQuote { .. })
        ));
        assert!(na("Bell, Alexander <sip:a.g.bell@bell-tel.com>").is_err());
        assert!(na("\"Watson, Thomas\" < sip:t.watson@example.org >").is_err());
        assert!(na("<sip:user@example.com?Route=%3Csip:sip.example.com%3E>").is_ok());
        assert!(na("").is_err());
        assert!(na("<sip:a@b").is_err());
    }

    #[test]
    fn contact() {
        let c = Contact::parse_str("*").unwrap();
        assert_eq!(c, Contact::Wildcard);
        let c = Contact::parse_str("<sip:a@b>;expires=3600;q=0.7").unwrap();
        assert_eq!(c.expires(), Some(3600));
        assert_eq!(c.q(), Some(700));
        assert!(Contact::parse_str("<sip:a@b>;expires=280297596632815").is_err());
        // RFC 2543's date form: a quoted extension, no seconds; unquoted it is an error.
        let c = Contact::parse_str("<sip:a@b>;expires=\"Sat, 28 Nov 2026 10:00:00 GMT\"").unwrap();
        assert_eq!(c.expires(), None);
        assert!(Contact::parse_str("<sip:a@b>;expires=Sat").is_err());
        assert!(Contact::parse_str("<sip:a@b>;q=1.5").is_err());
        assert_eq!(parse_qvalue(b"1.000"), Some(1000));
        assert_eq!(parse_qvalue(b"0.33"), Some(330));
    }
}
