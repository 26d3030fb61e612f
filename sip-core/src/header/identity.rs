//! `Identity` (RFC 8224 §4.1): a PASSporT (RFC 8225) signed by the caller's service, as
//! STIR/SHAKEN carriers send it.

use std::fmt;

use bytes::Bytes;

use super::params::{ltrim, quoted_end, utf8};
use super::{Header, HeaderName};
use crate::error::HeaderError;
use crate::msg::scan::{self, is_token};

/// One `Identity` value: `<passport>;info=<uri>;alg=ES256;ppt=shaken`.
///
/// A request may carry several (RFC 8224 §4: a call diverted by a carrier adds a `div`
/// PASSporT beside the original `shaken` one); read them with `get_all`. Not checked by
/// [`Message::validate`](crate::Message::validate): a verifier answers a bad one with 438
/// (RFC 8224 §6.2.2), anyone else ignores it.
///
/// Read as carriers send it: `ppt` quoted (`ppt="shaken"`, as T-Mobile sends it,
/// secsipidx#2) or not (`ppt=shaken`, the RFC's token, as Bandwidth and Verizon send it,
/// OpenSIPS#2735); the base64url alphabet (`-`, `_`) in the PASSporT, which RFC 8224's
/// `base64-char` leaves out but RFC 8225 uses; `info` missing (then [`Identity::info`] is
/// `None`; RFC 8224 requires it).
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Identity {
    /// The whole value as written.
    value: Bytes,
    /// The signed-identity-digest: the PASSporT in JWS compact form.
    passport: Bytes,
    /// The URI inside `info=<...>`.
    info: Option<Bytes>,
    /// `alg`, as written.
    alg: Option<Bytes>,
    /// `ppt`, quotes removed.
    ppt: Option<Bytes>,
}

impl Identity {
    /// The PASSporT in JWS compact form (`header.payload.signature`, base64url), as written.
    pub fn passport(&self) -> &str {
        scan::as_str(&self.passport)
    }

    /// The three base64url parts of the PASSporT: header, payload and signature. `None` when
    /// it does not have exactly three parts (RFC 7515 §7.1).
    pub fn passport_parts(&self) -> Option<(&str, &str, &str)> {
        let mut parts = self.passport().split('.');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(h), Some(p), Some(s), None) => Some((h, p, s)),
            _ => None,
        }
    }

    /// The `info` URI (where the signing certificate is), without its angle brackets.
    pub fn info(&self) -> Option<&str> {
        self.info.as_deref().map(scan::as_str)
    }

    /// The `alg` parameter (`ES256` for SHAKEN).
    pub fn alg(&self) -> Option<&str> {
        self.alg.as_deref().map(scan::as_str)
    }

    /// The `ppt` parameter (`shaken`, `div`, ...), quotes removed.
    pub fn ppt(&self) -> Option<&str> {
        self.ppt.as_deref().map(scan::as_str)
    }
}

impl Header for Identity {
    const NAME: HeaderName = HeaderName::Identity;

    fn parse(value: &Bytes) -> Result<Self, HeaderError> {
        // Identity = signed-identity-digest SEMI ident-info *( SEMI ident-info-params )
        let s = scan::trim_lws(value);
        utf8(s, value)?;
        let (passport, rest) = split_while(s, is_passport_char);
        if passport.is_empty() {
            return Err(HeaderError::Unexpected { at: 0 });
        }
        let mut out = Self {
            value: value.slice_ref(s),
            passport: value.slice_ref(passport),
            info: None,
            alg: None,
            ppt: None,
        };
        let mut rest = ltrim(rest);
        while let [c, tail @ ..] = rest {
            let at = scan::offset_in(value, rest);
            if *c != b';' {
                return Err(HeaderError::Unexpected { at });
            }
            let (name, tail) = split_while(ltrim(tail), is_token);
            if name.is_empty() {
                return Err(HeaderError::BadParam { at });
            }
            rest = ltrim(tail);
            let mut param = None;
            if let [b'=', tail @ ..] = rest {
                rest = ltrim(tail);
                let (whole, inner) = match rest.first() {
                    // ident-info-uri = LAQUOT absoluteURI RAQUOT
                    Some(b'<') => {
                        let close = rest
                            .iter()
                            .position(|&c| c == b'>')
                            .ok_or(HeaderError::Unexpected { at })?;
                        (close + 1, rest.get(1..close))
                    }
                    Some(b'"') => {
                        let end = quoted_end(rest).map_err(|e| HeaderError::UnterminatedQuote {
                            at: scan::offset_in(value, rest) + e,
                        })?;
                        (end, rest.get(1..end.saturating_sub(1)))
                    }
                    _ => {
                        let token = split_while(rest, is_token).0;
                        (token.len(), Some(token))
                    }
                };
                if whole == 0 {
                    return Err(HeaderError::BadParam { at });
                }
                param = inner.map(|v| value.slice_ref(v));
                rest = ltrim(rest.get(whole..).unwrap_or_default());
            }
            let slot = if name.eq_ignore_ascii_case(b"info") {
                &mut out.info
            } else if name.eq_ignore_ascii_case(b"alg") {
                &mut out.alg
            } else if name.eq_ignore_ascii_case(b"ppt") {
                &mut out.ppt
            } else {
                continue;
            };
            if slot.is_some() {
                return Err(HeaderError::NotAllowed("identity parameter given twice"));
            }
            *slot = param;
        }
        Ok(out)
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(scan::as_str(&self.value))
    }
}

/// `s` split after its longest prefix of bytes that satisfy `keep`.
fn split_while(s: &[u8], keep: impl Fn(u8) -> bool) -> (&[u8], &[u8]) {
    s.split_at(s.iter().position(|&c| !keep(c)).unwrap_or(s.len()))
}

/// RFC 8224 `base64-char` and `.`, plus the base64url `-` and `_` of RFC 7515 and `=`.
fn is_passport_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'/' | b'+' | b'-' | b'_' | b'.' | b'=')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carrier_forms() {
        // Bandwidth / Verizon style (OpenSIPS#2735): alg given, ppt a token.
        let i = Identity::parse_str(
            "eyJhbGciOiJFUzI1NiJ9.eyJpYXQiOjF9.c2ln;info=<https://cert.example.org/a.pem>;alg=ES256;ppt=shaken",
        )
        .unwrap();
        assert_eq!(
            i.passport_parts(),
            Some(("eyJhbGciOiJFUzI1NiJ9", "eyJpYXQiOjF9", "c2ln"))
        );
        assert_eq!(i.info(), Some("https://cert.example.org/a.pem"));
        assert_eq!((i.alg(), i.ppt()), (Some("ES256"), Some("shaken")));
        // T-Mobile style (secsipidx#2): ppt quoted, spaces around the separators.
        let i =
            Identity::parse_str("a-b.c_d.e ; info = <https://x.example/c.pem> ; ppt=\"shaken\"")
                .unwrap();
        assert_eq!(
            (i.passport(), i.ppt(), i.alg()),
            ("a-b.c_d.e", Some("shaken"), None)
        );
        assert_eq!(
            i.to_string(),
            "a-b.c_d.e ; info = <https://x.example/c.pem> ; ppt=\"shaken\""
        );
        // Unknown parameters are kept in the text and skipped.
        let i = Identity::parse_str("x.y.z;info=<https://a/b>;x-carrier=1;flag").unwrap();
        assert_eq!(i.info(), Some("https://a/b"));
        assert_eq!(i.passport_parts(), Some(("x", "y", "z")));
        assert_eq!(
            Identity::parse_str("x.y;ppt=div").unwrap().passport_parts(),
            None
        );
        for bad in [
            "",
            ";info=<https://a/b>",
            "x.y.z;info=<https://a/b",
            "x.y.z;ppt=\"shaken",
            "x.y.z;=shaken",
            "x.y.z info=<https://a/b>",
            "x.y.z;ppt=a;ppt=b",
            "\"legacy-4474-signature\"",
        ] {
            assert!(Identity::parse_str(bad).is_err(), "{bad:?}");
        }
    }
}
