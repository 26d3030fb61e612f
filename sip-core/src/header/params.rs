//! Header parameters: `*( SEMI generic-param )` of RFC 3261 §25.1.

use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::HeaderError;
use crate::msg::scan::{self, is_lws, is_token};

/// The parameters of a header value (`;name=value;flag`), kept as written and looked up on
/// demand. Names compare case-insensitively (RFC 3261 §7.3.1).
#[derive(Clone, Default, Eq, PartialEq)]
pub struct Params {
    /// The text after the first `;`, validated; empty when there are none.
    raw: Bytes,
}

/// One parameter.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct Param<'a> {
    /// The name as written.
    pub name: &'a str,
    /// The value as written (a quoted string keeps its quotes); `None` for a flag.
    pub value: Option<&'a str>,
}

impl Params {
    /// No parameters.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parameters from text already known to be valid (`name=value` pairs, no leading `;`).
    pub(super) fn from_checked(raw: Bytes) -> Self {
        Self { raw }
    }

    /// Parses `*( LWS ";" LWS param )` from `s`, a sub-slice of `buf`; `s` must be all
    /// parameters (trailing whitespace allowed). Offsets in errors are relative to `base`.
    pub(crate) fn parse(buf: &Bytes, s: &[u8], base: &[u8]) -> Result<Self, HeaderError> {
        Self::parse_checked(buf, s, base, |_, _| Ok(()))
    }

    /// [`Params::parse`] that also hands every `(name, value)` to `check` in the same pass
    /// (a header validating its own parameters, e.g. Via `ttl`, Contact `expires`).
    pub(crate) fn parse_checked(
        buf: &Bytes,
        s: &[u8],
        base: &[u8],
        check: impl FnMut(&[u8], Option<&[u8]>) -> Result<(), HeaderError>,
    ) -> Result<Self, HeaderError> {
        Self::parse_checked_allowing_empty(buf, s, base, &[], check)
    }

    /// [`Params::parse_checked`] for text the caller already checked to be UTF-8 (a
    /// name-addr validates its whole value once; scanning the parameters again is waste).
    pub(crate) fn parse_checked_utf8(
        buf: &Bytes,
        s: &[u8],
        base: &[u8],
        check: impl FnMut(&[u8], Option<&[u8]>) -> Result<(), HeaderError>,
    ) -> Result<Self, HeaderError> {
        Self::parse_params(buf, s, base, &[], check)
    }

    /// [`Params::parse_checked`] where the parameters named in `empty_ok` may also be
    /// written `name=` with nothing after the `=` (`check` sees `Some(b"")` then). The
    /// grammar has no empty value; a header takes one only where a deployed peer sends it
    /// (Via `rport=`), so that `tag=` and the like stay refused.
    pub(crate) fn parse_checked_allowing_empty(
        buf: &Bytes,
        s: &[u8],
        base: &[u8],
        empty_ok: &[&str],
        check: impl FnMut(&[u8], Option<&[u8]>) -> Result<(), HeaderError>,
    ) -> Result<Self, HeaderError> {
        utf8(s, base)?;
        Self::parse_params(buf, s, base, empty_ok, check)
    }

    fn parse_params(
        buf: &Bytes,
        s: &[u8],
        base: &[u8],
        empty_ok: &[&str],
        mut check: impl FnMut(&[u8], Option<&[u8]>) -> Result<(), HeaderError>,
    ) -> Result<Self, HeaderError> {
        let mut rest = ltrim(s);
        if rest.is_empty() {
            return Ok(Self::default());
        }
        let first = rest;
        while let [c, tail @ ..] = rest {
            if *c != b';' {
                return Err(HeaderError::Unexpected {
                    at: scan::offset_in(base, rest),
                });
            }
            rest = ltrim(tail);
            let n = rest
                .iter()
                .position(|&c| !is_token(c))
                .unwrap_or(rest.len());
            if n == 0 {
                return Err(HeaderError::BadParam {
                    at: scan::offset_in(base, rest),
                });
            }
            let name = rest.get(..n).unwrap_or_default();
            rest = ltrim(rest.get(n..).unwrap_or_default());
            let mut value = None;
            if let [b'=', tail @ ..] = rest {
                rest = ltrim(tail);
                let v = if rest.first() == Some(&b'"') {
                    quoted_end(rest).map_err(|at| HeaderError::UnterminatedQuote {
                        at: scan::offset_in(base, rest) + at,
                    })?
                } else {
                    rest.iter()
                        .position(|&c| !is_value_char(c))
                        .unwrap_or(rest.len())
                };
                if v == 0
                    && !empty_ok
                        .iter()
                        .any(|n| name.eq_ignore_ascii_case(n.as_bytes()))
                {
                    return Err(HeaderError::BadParam {
                        at: scan::offset_in(base, rest),
                    });
                }
                value = rest.get(..v);
                rest = ltrim(rest.get(v..).unwrap_or_default());
            }
            check(name, value).map_err(|e| match e {
                HeaderError::BadNumber { .. } => HeaderError::BadNumber {
                    at: scan::offset_in(base, name),
                },
                other => other,
            })?;
        }
        let body = scan::trim_lws(first.get(1..).unwrap_or_default());
        Ok(Self {
            raw: buf.slice_ref(body),
        })
    }

    /// Whether there are no parameters.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// Every parameter in order.
    pub fn iter(&self) -> impl Iterator<Item = Param<'_>> + '_ {
        split_semis(&self.raw).filter_map(|p| {
            let p = scan::trim_lws(p);
            if p.is_empty() {
                return None;
            }
            Some(match p.iter().position(|&c| c == b'=') {
                Some(eq) => Param {
                    name: scan::as_str(scan::trim_lws(p.get(..eq).unwrap_or_default())),
                    value: Some(scan::as_str(scan::trim_lws(
                        p.get(eq + 1..).unwrap_or_default(),
                    ))),
                },
                None => Param {
                    name: scan::as_str(p),
                    value: None,
                },
            })
        })
    }

    /// The parameter `name`: `None` when absent, `Some(None)` for a flag, `Some(Some(v))`
    /// with the value as written.
    pub fn get(&self, name: &str) -> Option<Option<&str>> {
        // On bytes, converting only the value found: lookups (branch, tag) are on the hot path.
        // Each element is matched by its prefix; the rest of a non-matching element (e.g. a
        // long branch value) is not scanned for `=`.
        let name = name.as_bytes();
        if name.is_empty() || name.contains(&b'=') {
            return None;
        }
        split_semis(&self.raw).find_map(|p| {
            let p = ltrim(p);
            let (head, rest) = p.split_at_checked(name.len())?;
            if !head.eq_ignore_ascii_case(name) {
                return None;
            }
            match ltrim(rest) {
                [] => Some(None),
                [b'=', v @ ..] => Some(Some(scan::as_str(scan::trim_lws(v)))),
                _ => None,
            }
        })
    }

    /// Whether `name` is present (with or without value).
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Appends `;name` or `;name=value` (the value as it is to be written, quotes included
    /// when needed). Replaces an existing parameter of that name.
    pub fn set(&mut self, name: &str, value: Option<&str>) {
        let mut out = BytesMut::with_capacity(self.raw.len() + name.len() + 16);
        for p in self.iter().filter(|p| !p.name.eq_ignore_ascii_case(name)) {
            push_param(&mut out, p.name, p.value);
        }
        push_param(&mut out, name, value);
        self.raw = out.freeze();
    }

    /// Removes the parameter `name` if present.
    pub fn remove(&mut self, name: &str) {
        if !self.contains(name) {
            return;
        }
        let mut out = BytesMut::with_capacity(self.raw.len());
        for p in self.iter().filter(|p| !p.name.eq_ignore_ascii_case(name)) {
            push_param(&mut out, p.name, p.value);
        }
        self.raw = out.freeze();
    }
}

fn push_param(out: &mut BytesMut, name: &str, value: Option<&str>) {
    if !out.is_empty() {
        out.put_u8(b';');
    }
    out.put_slice(name.as_bytes());
    if let Some(v) = value {
        out.put_u8(b'=');
        out.put_slice(v.as_bytes());
    }
}

impl Params {
    /// Appends the parameters as `Display` writes them (`;name=value...`, no whitespace).
    pub(crate) fn write_to(&self, out: &mut Vec<u8>) {
        if self.raw.is_empty() {
            return;
        }
        // Parameters as parsed or set are usually already canonical: then they are the raw
        // text behind one `;`. Whitespace anywhere, or an empty element, takes the long way.
        // One parameter without whitespace or controls (a Via branch, a From tag) is told a
        // word at a time.
        let raw: &[u8] = &self.raw;
        let mut prev = b';';
        let canonical = scan::all_visible_except(raw, b';')
            || raw.iter().all(|&c| {
                let empty_element = c == b';' && prev == b';';
                let ok = !is_lws(c) && !empty_element;
                prev = c;
                ok
            }) && prev != b';';
        if canonical {
            out.push(b';');
            out.extend_from_slice(&self.raw);
            return;
        }
        for p in self.iter() {
            out.push(b';');
            out.extend_from_slice(p.name.as_bytes());
            if let Some(v) = p.value {
                out.push(b'=');
                out.extend_from_slice(v.as_bytes());
            }
        }
    }
}

impl fmt::Display for Params {
    /// `;name=value...` in canonical form (no whitespace), or nothing.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in self.iter() {
            f.write_str(";")?;
            f.write_str(p.name)?;
            if let Some(v) = p.value {
                write!(f, "={v}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

/// Value characters of `gen-value = token / host / quoted-string`: token plus the IPv6
/// reference characters.
fn is_value_char(c: u8) -> bool {
    is_token(c) || matches!(c, b'[' | b']' | b':')
}

/// Header text must be UTF-8 (RFC 3261 `TEXT-UTF8`, `UTF8-NONASCII` in quoted strings): typed
/// values hand out `&str`, so a value that is not is rejected at the first bad byte.
pub(crate) fn utf8(s: &[u8], base: &[u8]) -> Result<(), HeaderError> {
    // Header values are nearly always ASCII: the inlined word-at-a-time check is much
    // cheaper than a call into the UTF-8 validator for these short slices.
    if s.is_ascii() {
        return Ok(());
    }
    std::str::from_utf8(s)
        .map(drop)
        .map_err(|e| HeaderError::Unexpected {
            at: scan::offset_in(base, s) + e.valid_up_to(),
        })
}

pub(crate) fn ltrim(mut s: &[u8]) -> &[u8] {
    while let [c, tail @ ..] = s {
        if is_lws(*c) {
            s = tail;
        } else {
            break;
        }
    }
    s
}

/// Length of the quoted string at the start of `s` (which starts with `"`), closing quote
/// included; `Err(0)` when it is not terminated. Handles `\` escapes (RFC 3261 quoted-pair).
pub(crate) fn quoted_end(s: &[u8]) -> Result<usize, usize> {
    let mut escaped = false;
    for (i, &c) in s.iter().enumerate().skip(1) {
        if escaped {
            escaped = false;
        } else if c == b'\\' {
            escaped = true;
        } else if c == b'"' {
            return Ok(i + 1);
        }
    }
    Err(0)
}

/// Splits at `;` outside quoted strings.
fn split_semis(s: &[u8]) -> impl Iterator<Item = &[u8]> + '_ {
    let mut pos = 0usize;
    std::iter::from_fn(move || {
        let rest = s.get(pos..)?;
        if rest.is_empty() && pos > 0 {
            return None;
        }
        // Fast path: the element has no quote before its `;` (the common case: tag,
        // branch), so no quote state is needed.
        match rest.iter().position(|&c| c == b';' || c == b'"') {
            Some(end) if rest.get(end) == Some(&b';') => {
                pos += end + 1;
                return rest.get(..end);
            }
            None => {
                pos = s.len() + 1;
                return Some(rest);
            }
            Some(_) => {}
        }
        let mut in_quote = false;
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
            } else if c == b'"' {
                in_quote = true;
            } else if c == b';' {
                end = i;
                break;
            }
        }
        pos += end + 1;
        if end == rest.len() {
            pos = s.len() + 1;
        }
        rest.get(..end)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(s: &str) -> Result<Params, HeaderError> {
        let b = Bytes::copy_from_slice(s.as_bytes());
        Params::parse(&b, &b, &b)
    }

    #[test]
    fn parses_and_looks_up() {
        let p = params(" ;  tag    = 1918181833n ; lr;x=\"a;b\"").unwrap();
        assert_eq!(p.get("TAG"), Some(Some("1918181833n")));
        assert_eq!(p.get("lr"), Some(None));
        assert_eq!(p.get("x"), Some(Some("\"a;b\"")));
        assert_eq!(p.get("y"), None);
        assert_eq!(p.get("ta"), None);
        assert_eq!(p.get("tag="), None);
        assert_eq!(p.get(""), None);
        assert_eq!(p.get("tag    = 1918181833n"), None);
        assert_eq!(p.to_string(), ";tag=1918181833n;lr;x=\"a;b\"");
    }

    #[test]
    fn rejects_empty_and_unterminated() {
        assert!(matches!(params(";;"), Err(HeaderError::BadParam { .. })));
        assert!(matches!(params(";a="), Err(HeaderError::BadParam { .. })));
        assert!(matches!(
            params(";a=\"x"),
            Err(HeaderError::UnterminatedQuote { .. })
        ));
        assert!(matches!(params("a"), Err(HeaderError::Unexpected { .. })));
    }

    #[test]
    fn set_and_remove() {
        let mut p = params(";branch=z9hG4bK1;rport").unwrap();
        p.set("rport", Some("5060"));
        p.set("received", Some("192.0.2.1"));
        assert_eq!(
            p.to_string(),
            ";branch=z9hG4bK1;rport=5060;received=192.0.2.1"
        );
        p.remove("branch");
        assert_eq!(p.to_string(), ";rport=5060;received=192.0.2.1");
    }
}
