//! Authentication headers (RFC 3261 §20.7, §20.27, §20.28, §20.44, §22; RFC 7616).
//!
//! Commas inside these values separate auth-params, not header values. The digest
//! computations live in [`crate::auth`]; these types only split scheme and parameters.

use std::borrow::Cow;
use std::fmt;

use bytes::Bytes;

use super::params::{ltrim, quoted_end, utf8};
use super::{Header, HeaderName};
use crate::error::HeaderError;
use crate::msg::scan::{self, is_token};

/// Scheme and auth-params of a credentials or challenge value.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct AuthValue {
    scheme: Bytes,
    params: Bytes,
}

impl AuthValue {
    /// The scheme (`Digest`, or any other token).
    pub fn scheme(&self) -> &str {
        scan::as_str(&self.scheme)
    }

    /// Whether the scheme is Digest (case-insensitive).
    pub fn is_digest(&self) -> bool {
        self.scheme.eq_ignore_ascii_case(b"Digest")
    }

    /// The text after the scheme, as written (`username="bob", realm="x", ...`).
    pub fn params_str(&self) -> &str {
        scan::as_str(&self.params)
    }

    /// The auth-param `name` (case-insensitive), quotes removed and `\` escapes decoded.
    pub fn param(&self, name: &str) -> Option<Cow<'_, str>> {
        auth_params(&self.params).find_map(|(n, v)| {
            n.eq_ignore_ascii_case(name.as_bytes())
                .then(|| unquote(scan::as_str(v)))
        })
    }

    fn parse(value: &Bytes) -> Result<Self, HeaderError> {
        let s = scan::trim_lws(value);
        utf8(s, value)?;
        let n = s.iter().position(|&c| !is_token(c)).unwrap_or(s.len());
        if n == 0 {
            return Err(HeaderError::Empty);
        }
        let rest = s.get(n..).unwrap_or_default();
        let params = ltrim(rest);
        if !rest.is_empty() && params.len() == rest.len() {
            return Err(HeaderError::Unexpected { at: n });
        }
        // Every quoted string must be terminated.
        let mut i = 0;
        while let Some(&c) = params.get(i) {
            if c == b'"' {
                let end = quoted_end(params.get(i..).unwrap_or_default()).map_err(|_| {
                    HeaderError::UnterminatedQuote {
                        at: scan::offset_in(value, params) + i,
                    }
                })?;
                i += end;
            } else {
                i += 1;
            }
        }
        Ok(Self {
            scheme: value.slice_ref(s.get(..n).unwrap_or_default()),
            params: value.slice_ref(params),
        })
    }
}

impl fmt::Display for AuthValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.params.is_empty() {
            f.write_str(self.scheme())
        } else {
            write!(f, "{} {}", self.scheme(), self.params_str())
        }
    }
}

/// `name=value` pairs separated by commas, values possibly quoted.
fn auth_params(s: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
    let mut rest = s;
    std::iter::from_fn(move || {
        loop {
            rest = ltrim(rest);
            match rest {
                [] => return None,
                [b',', tail @ ..] => rest = tail,
                _ => break,
            }
        }
        let n = rest
            .iter()
            .position(|&c| !is_token(c))
            .unwrap_or(rest.len());
        let name = rest.get(..n)?;
        rest = ltrim(rest.get(n..)?);
        let value: &[u8] = if let [b'=', tail @ ..] = rest {
            let t = ltrim(tail);
            let len = if t.first() == Some(&b'"') {
                quoted_end(t).unwrap_or(t.len())
            } else {
                t.iter()
                    .position(|&c| c == b',' || scan::is_lws(c))
                    .unwrap_or(t.len())
            };
            rest = t.get(len..)?;
            t.get(..len)?
        } else {
            // token68 or junk: skip to the next comma
            let len = rest.iter().position(|&c| c == b',').unwrap_or(rest.len());
            rest = rest.get(len..)?;
            &[]
        };
        if n == 0 {
            rest = rest.get(1.min(rest.len())..)?;
        }
        Some((name, value))
    })
}

fn unquote(v: &str) -> Cow<'_, str> {
    let Some(inner) = v.strip_prefix('"').and_then(|r| r.strip_suffix('"')) else {
        return Cow::Borrowed(v);
    };
    if !inner.contains('\\') {
        return Cow::Borrowed(inner);
    }
    let mut out = String::with_capacity(inner.len());
    let mut escaped = false;
    for c in inner.chars() {
        if !escaped && c == '\\' {
            escaped = true;
            continue;
        }
        escaped = false;
        out.push(c);
    }
    Cow::Owned(out)
}

macro_rules! auth_header {
    ($(#[$doc:meta])* $ty:ident, $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Eq, PartialEq)]
        pub struct $ty(pub AuthValue);

        impl std::ops::Deref for $ty {
            type Target = AuthValue;
            fn deref(&self) -> &AuthValue {
                &self.0
            }
        }

        impl Header for $ty {
            const NAME: HeaderName = HeaderName::$name;
            fn parse(value: &Bytes) -> Result<Self, HeaderError> {
                AuthValue::parse(value).map(Self)
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

auth_header!(
    /// `Authorization` (RFC 3261 §20.7): credentials for a UAS or registrar.
    Authorization, Authorization
);
auth_header!(
    /// `Proxy-Authorization` (RFC 3261 §20.28).
    ProxyAuthorization, ProxyAuthorization
);
auth_header!(
    /// `WWW-Authenticate` (RFC 3261 §20.44): a challenge in a 401.
    WwwAuthenticate, WwwAuthenticate
);
auth_header!(
    /// `Proxy-Authenticate` (RFC 3261 §20.27): a challenge in a 407.
    ProxyAuthenticate, ProxyAuthenticate
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_params() {
        let a = Authorization::parse_str(
            "Digest username=\"bob\", realm=\"atlanta.example.com\", nonce=\"ea9c8e88df84f1cec4341ae6cbe5a359\", opaque=\"\", uri=\"sips:ss2.biloxi.example.com\", response=\"dfe56131d1958046689d83306477ecc\", qop=auth, nc=00000001",
        )
        .unwrap();
        assert!(a.is_digest());
        assert_eq!(a.param("username").unwrap(), "bob");
        assert_eq!(a.param("URI").unwrap(), "sips:ss2.biloxi.example.com");
        assert_eq!(a.param("qop").unwrap(), "auth");
        assert_eq!(a.param("nc").unwrap(), "00000001");
        assert_eq!(a.param("opaque").unwrap(), "");
        assert!(a.param("cnonce").is_none());
        let o = Authorization::parse_str("NoOneKnowsThisScheme opaque-data=here").unwrap();
        assert_eq!(o.scheme(), "NoOneKnowsThisScheme");
        assert!(WwwAuthenticate::parse_str("Digest realm=\"x").is_err());
    }
}
