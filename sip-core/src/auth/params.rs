//! The `auth-param` list grammar shared by challenges and credentials (RFC 3261 §25.1,
//! RFC 7235 §2.1): `Digest name=token, name="quoted string", ...`.

use super::AuthError;
use crate::msg::scan;

/// Most parameters a challenge or credentials header may carry; more is hostile input.
pub(crate) const MAX_PARAMS: usize = 32;

/// A scheme and its (name, unquoted value) parameters.
pub(crate) type SchemeParams<'a> = (&'a str, Vec<(&'a str, String)>);

/// Splits `Scheme p1=v1, p2="v 2"` into the scheme and its (name, unquoted value) pairs.
///
/// Quoted values have their `\` escapes removed. Names are returned as written; callers
/// compare them case-insensitively. The value may be folded over several lines as received
/// (RFC 3261 §7.3.1: a CRLF followed by a space or tab is LWS): IMS cores and carriers fold
/// long challenges after a comma or right after the scheme.
pub(crate) fn parse_scheme_params(input: &str) -> Result<SchemeParams<'_>, AuthError> {
    let input = input.trim_matches(is_lws);
    let scheme_end = input.find(is_lws).unwrap_or(input.len());
    let scheme = &input[..scheme_end];
    if scheme.is_empty() || !scheme.bytes().all(is_token_byte) {
        return Err(AuthError::BadScheme);
    }
    let mut rest = &input[scheme_end..];
    let mut params = Vec::new();
    loop {
        rest = rest.trim_start_matches(|c| is_lws(c) || c == ',');
        if rest.is_empty() {
            break;
        }
        if params.len() == MAX_PARAMS {
            return Err(AuthError::TooManyParams { limit: MAX_PARAMS });
        }
        let name_end = rest.find(|c: char| !is_token_char(c)).unwrap_or(rest.len());
        let name = &rest[..name_end];
        if name.is_empty() {
            return Err(AuthError::BadParam {
                at: input.len() - rest.len(),
            });
        }
        rest = rest[name_end..].trim_start_matches(is_lws);
        let Some(after_eq) = rest.strip_prefix('=') else {
            return Err(AuthError::BadParam {
                at: input.len() - rest.len(),
            });
        };
        rest = after_eq.trim_start_matches(is_lws);
        let value;
        if let Some(quoted) = rest.strip_prefix('"') {
            let mut out = String::new();
            let mut chars = quoted.char_indices();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '"' => {
                        end = Some(i + 1);
                        break;
                    }
                    '\\' => match chars.next() {
                        Some((_, escaped)) => out.push(escaped),
                        None => break,
                    },
                    _ => out.push(c),
                }
            }
            let Some(end) = end else {
                return Err(AuthError::UnterminatedQuote);
            };
            value = out;
            rest = &quoted[end..];
        } else {
            let end = rest.find(|c: char| !is_token_char(c)).unwrap_or(rest.len());
            if end == 0 {
                return Err(AuthError::BadParam {
                    at: input.len() - rest.len(),
                });
            }
            value = rest[..end].to_owned();
            rest = &rest[end..];
        }
        params.push((name, value));
        rest = rest.trim_start_matches(is_lws);
        if !rest.is_empty() && !rest.starts_with(',') {
            return Err(AuthError::BadParam {
                at: input.len() - rest.len(),
            });
        }
    }
    Ok((scheme, params))
}

/// Appends `name="value"` with `"` and `\` escaped.
pub(crate) fn push_quoted(out: &mut String, name: &str, value: &str) {
    out.push_str(name);
    out.push_str("=\"");
    for c in value.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

/// LWS inside a header value as received (a fold keeps its CRLF): the message layer's
/// [`scan::is_lws`], on characters.
fn is_lws(c: char) -> bool {
    u8::try_from(c).is_ok_and(scan::is_lws)
}

fn is_token_char(c: char) -> bool {
    c.is_ascii() && is_token_byte(c as u8)
}

fn is_token_byte(b: u8) -> bool {
    // RFC 3261 §25.1: token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")
    b.is_ascii_alphanumeric() || b"-.!%*_+`'~/:".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_quoted_and_token_values() {
        let (scheme, params) =
            parse_scheme_params(r#"Digest realm="a \"b\"", nonce=abc,qop="auth,auth-int""#)
                .unwrap();
        assert_eq!(scheme, "Digest");
        assert_eq!(params[0], ("realm", "a \"b\"".to_owned()));
        assert_eq!(params[1], ("nonce", "abc".to_owned()));
        assert_eq!(params[2], ("qop", "auth,auth-int".to_owned()));
    }

    #[test]
    fn folded_values_read_as_unfolded() {
        // The shapes of sipgo#251 (a carrier's 401, folded after each comma) and
        // doubango#485 (an IMS core folding right after the scheme with a tab).
        let unfolded = parse_scheme_params(r#"Digest realm="r", nonce="n=", qop="auth""#).unwrap();
        for folded in [
            "Digest realm=\"r\",\r\n   nonce=\"n=\",\r\n   qop=\"auth\"",
            "Digest\r\n\trealm=\"r\",nonce=\"n=\",qop=\"auth\"",
            "Digest realm\r\n =\r\n \"r\"\r\n , nonce=\"n=\", qop=\"auth\"",
        ] {
            assert_eq!(parse_scheme_params(folded).unwrap(), unfolded, "{folded:?}");
        }
    }

    #[test]
    fn rejects_garbage() {
        assert!(matches!(
            parse_scheme_params("Digest realm=\"x"),
            Err(AuthError::UnterminatedQuote)
        ));
        assert!(parse_scheme_params("Digest realm").is_err());
        assert!(parse_scheme_params("Digest =x").is_err());
        assert!(parse_scheme_params("").is_err());
        assert!(parse_scheme_params("Digest a=b c=d").is_err());
        let many: String = (0..40).map(|i| format!("p{i}=1,")).collect();
        assert!(matches!(
            parse_scheme_params(&format!("Digest {many}")),
            Err(AuthError::TooManyParams { .. })
        ));
    }
}
