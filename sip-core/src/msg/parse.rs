//! The one-pass parser: start line, header index, Content-Length, body.

use bytes::{Buf, Bytes};

use super::scan::{LineEnds, all_token, find_byte, is_token, parse_u64};
use super::{Headers, Message, Method, ParseLimits, Request, Response, Span};
use super::{StatusCode, scan};
use crate::error::{HeaderError, Limit, ParseError};
use crate::header::HeaderName;
use crate::uri::UriParts;

pub(crate) fn parse(
    buf: Bytes,
    limits: &ParseLimits,
    datagram: bool,
) -> Result<Message, ParseError> {
    // one copy of the loop per framing: the datagram tests leave the per-line path
    if datagram {
        parse_as::<true>(buf, limits)
    } else {
        parse_as::<false>(buf, limits)
    }
}

/// [`parse`] of a datagram (`DATAGRAM`) or of a frame cut out of a stream.
fn parse_as<const DATAGRAM: bool>(
    mut buf: Bytes,
    limits: &ParseLimits,
) -> Result<Message, ParseError> {
    // RFC 3261 §7.5: "Implementations processing SIP messages over stream-oriented transports
    // MUST ignore any CRLF appearing before the start-line"; harmless on datagrams too.
    let lead = buf
        .iter()
        .take_while(|&&b| b == b'\r' || b == b'\n')
        .count();
    if lead > 0 {
        buf.advance(lead);
    }
    if buf.len() > limits.max_message {
        return Err(ParseError::TooLarge {
            limit: Limit::Message,
            max: limits.max_message,
        });
    }
    let b: &[u8] = &buf;
    let line_ends = LineEnds::new();
    let Some(nl) = line_ends.find(b) else {
        return Err(ParseError::Incomplete);
    };
    if nl > limits.max_header_line {
        return Err(ParseError::TooLarge {
            limit: Limit::HeaderLine,
            max: limits.max_header_line,
        });
    }
    let line = strip_cr(b.get(..nl).unwrap_or_default());
    // The message is built first and its index filled in place: moving a finished index
    // (200 bytes) into the message re-read the slots just written (store-forwarding stalls).
    let mut msg = match start_line(&buf, line)? {
        Start::Request {
            method,
            uri,
            uri_parts,
        } => Message::Request(Request {
            method,
            uri,
            uri_parts,
            head: Headers::empty(),
        }),
        Start::Response { status, reason } => Message::Response(Response {
            status,
            reason,
            head: Headers::empty(),
        }),
    };
    let head = match &mut msg {
        Message::Request(r) => &mut r.head,
        Message::Response(r) => &mut r.head,
    };
    let index = &mut head.index;
    let mut count = 0usize;
    let mut content_length: Option<usize> = None;
    let mut pos = nl + 1;
    let head_end = loop {
        let rest = b.get(pos..).unwrap_or_default();
        // a header line starts with a token character, above CR: one compare per line
        if rest.first().is_none_or(|&c| c <= b'\r')
            && let Some(end) = head_end::<DATAGRAM>(rest, pos)?
        {
            break end;
        }
        count += 1;
        if count > limits.max_headers {
            return Err(ParseError::TooLarge {
                limit: Limit::Headers,
                max: limits.max_headers,
            });
        }
        // header-name HCOLON: a well-known name followed by its colon is recognised from the
        // line's first 16 bytes; anything else takes the general path
        let (colon_end, kind) = match HeaderName::classify_line(rest) {
            Some((len, kind)) => (len + 1, kind),
            None => name_colon(rest).ok_or(ParseError::BadHeaderLine { at: pos })?,
        };
        // Line end, following folded continuation lines (CRLF followed by SP or HTAB). The
        // name holds no LF, so the search starts at the line start: the next line's position
        // then does not wait for the name to be classified.
        let mut from = 0;
        let line_end = loop {
            let Some(off) = line_ends.find(rest.get(from..).unwrap_or_default()) else {
                if DATAGRAM {
                    break rest.len();
                }
                return Err(ParseError::Incomplete);
            };
            let lf = from + off;
            if matches!(rest.get(lf + 1), Some(b' ' | b'\t')) {
                from = lf + 1;
                continue;
            }
            break lf;
        };
        if line_end > limits.max_header_line {
            return Err(ParseError::TooLarge {
                limit: Limit::HeaderLine,
                max: limits.max_header_line,
            });
        }
        let raw_value = rest.get(colon_end..line_end).unwrap_or_default();
        let value = match raw_value {
            // common case: "Name: value\r\n" (SP after the colon, CR before the LF)
            [b' ', v @ .., b'\r']
                if !v.first().is_some_and(|&c| scan::is_lws(c))
                    && !v.last().is_some_and(|&c| scan::is_lws(c)) =>
            {
                v
            }
            _ => scan::trim_lws(raw_value),
        };
        let vstart = pos + colon_end + scan::offset_in(raw_value, value);
        if kind == CONTENT_LENGTH {
            let n = parse_u64(value, 10)
                .and_then(|n| usize::try_from(n).ok())
                .ok_or(ParseError::BadHeader {
                    name: HeaderName::ContentLength,
                    at: vstart,
                    error: HeaderError::BadNumber { at: 0 },
                })?;
            match content_length {
                Some(prev) if prev != n => {
                    return Err(ParseError::DuplicateHeader(HeaderName::ContentLength));
                }
                _ => content_length = Some(n),
            }
        }
        index.push(pos, vstart, vstart + value.len(), kind);
        pos += (line_end + 1).min(rest.len());
    };

    let available = b.len().saturating_sub(head_end);
    let end = match content_length {
        Some(cl) => {
            if cl > limits.max_body {
                return Err(ParseError::TooLarge {
                    limit: Limit::Body,
                    max: limits.max_body,
                });
            }
            if cl > available {
                return Err(ParseError::BodyTruncated {
                    declared: cl,
                    available,
                });
            }
            if !DATAGRAM && cl < available {
                return Err(ParseError::BadHeader {
                    name: HeaderName::ContentLength,
                    at: 0,
                    error: HeaderError::NotAllowed("content-length shorter than the frame"),
                });
            }
            head_end + cl
        }
        None => b.len(),
    };
    if end < buf.len() {
        // RFC 3261 §18.3: octets beyond Content-Length in a datagram are discarded.
        buf.truncate(end);
    }
    head.raw = buf;
    head.body_start = Span::new(head_end, head_end).start;
    Ok(msg)
}

const CONTENT_LENGTH: u8 = HeaderName::ContentLength.kind();

/// Where the header section ends when a line does not start with a token character:
/// `Some(offset of the body)` at the empty line (or at the end of a datagram), `None` for
/// any other line (the header-line check then reports it).
#[cold]
fn head_end<const DATAGRAM: bool>(rest: &[u8], pos: usize) -> Result<Option<usize>, ParseError> {
    Ok(match rest {
        // The datagram ends after its last header line: no body.
        [] | [b'\r'] if DATAGRAM => Some(pos + rest.len()),
        [] => return Err(ParseError::Incomplete),
        [b'\r', b'\n', ..] => Some(pos + 2),
        [b'\n', ..] => Some(pos + 1),
        _ => None,
    })
}

/// `header-name HCOLON` at the start of `line` in general: a token, `*( SP / HTAB ) ":"`.
/// Returns the offset after the colon and the name's kind (0 for an extension header); `None`
/// for a malformed line.
#[cold]
fn name_colon(line: &[u8]) -> Option<(usize, u8)> {
    // where `Entry::name` ends the name when asked
    let name_len = scan::token_len(line);
    if name_len == 0 || name_len > usize::from(u16::MAX) {
        return None;
    }
    let mut i = name_len;
    while matches!(line.get(i), Some(b' ' | b'\t')) {
        i += 1;
    }
    if line.get(i) != Some(&b':') {
        return None;
    }
    let kind = HeaderName::from_bytes(line.get(..name_len)?).map_or(0, HeaderName::kind);
    Some((i + 1, kind))
}

#[derive(Debug, PartialEq)]
enum Start {
    Request {
        method: Method,
        uri: Span,
        uri_parts: UriParts,
    },
    Response {
        status: StatusCode,
        reason: Span,
    },
}

fn strip_cr(line: &[u8]) -> &[u8] {
    match line {
        [rest @ .., b'\r'] => rest,
        _ => line,
    }
}

fn start_line(buf: &Bytes, line: &[u8]) -> Result<Start, ParseError> {
    if line.len() >= 4
        && line
            .get(..4)
            .is_some_and(|p| p.eq_ignore_ascii_case(b"SIP/"))
    {
        return status_line(line);
    }
    match request_line_fast(line) {
        Some(start) => Ok(start),
        None => request_line(buf, line),
    }
}

fn request_line(buf: &Bytes, line: &[u8]) -> Result<Start, ParseError> {
    // Request-Line = Method SP Request-URI SP SIP-Version CRLF (single spaces, RFC 4475
    // 3.1.2.9 and 3.1.2.10)
    let Some(sp1) = find_byte(line, b' ') else {
        return Err(ParseError::BadStartLine { at: line.len() });
    };
    let method = line.get(..sp1).unwrap_or_default();
    if !all_token(method) {
        let at = method.iter().position(|&c| !is_token(c)).unwrap_or(0);
        return Err(ParseError::BadMethod { at });
    }
    let rest = line.get(sp1 + 1..).unwrap_or_default();
    let Some(sp2) = find_byte(rest, b' ') else {
        return Err(ParseError::BadStartLine { at: line.len() });
    };
    let uri = rest.get(..sp2).unwrap_or_default();
    let version = rest.get(sp2 + 1..).unwrap_or_default();
    if uri.is_empty() {
        return Err(ParseError::BadStartLine { at: sp1 + 1 });
    }
    if let Some(sp) = find_byte(version, b' ') {
        return Err(ParseError::BadStartLine {
            at: sp1 + sp2 + 2 + sp,
        });
    }
    check_version(version, sp1 + sp2 + 2)?;
    let uri_start = sp1 + 1;
    let uri_parts = UriParts::parse_request_uri(uri)
        .map_err(|_| ParseError::BadRequestUri { at: uri_start })?;
    Ok(Start::Request {
        method: Method::from_shared(buf, method),
        uri: Span::new(uri_start, uri_start + uri.len()),
        uri_parts,
    })
}

/// The common Request-Line, `KNOWN-METHOD SP sip-uri SP "SIP/2.0"`, decided in one pass:
/// `Some` only where [`start_line`]'s general path gives the same (the Request-URI fast path
/// admits no space, so the spaces are the first and the last of the line); `None` leaves the
/// line, and every error, to the general path.
#[inline]
fn request_line_fast(line: &[u8]) -> Option<Start> {
    let (head, version) = line.split_last_chunk::<8>()?;
    if version != b" SIP/2.0" {
        return None;
    }
    let sp = find_byte(head, b' ')?;
    let method = Method::known(head.get(..sp)?)?;
    let uri = head.get(sp + 1..)?;
    let uri_parts = UriParts::sip_fast(uri)?;
    Some(Start::Request {
        method,
        uri: Span::new(sp + 1, head.len()),
        uri_parts,
    })
}

fn status_line(line: &[u8]) -> Result<Start, ParseError> {
    // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase CRLF
    let Some(sp1) = find_byte(line, b' ') else {
        return Err(ParseError::BadStartLine { at: line.len() });
    };
    check_version(line.get(..sp1).unwrap_or_default(), 0)?;
    let rest = line.get(sp1 + 1..).unwrap_or_default();
    let code_end = rest.iter().position(|&c| c == b' ').unwrap_or(rest.len());
    let code = rest.get(..code_end).unwrap_or_default();
    let status = match code {
        [a @ b'1'..=b'6', b @ b'0'..=b'9', c @ b'0'..=b'9'] => {
            u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0')
        }
        _ => return Err(ParseError::BadStatusCode { at: sp1 + 1 }),
    };
    if code_end == rest.len() {
        return Err(ParseError::BadStartLine { at: line.len() });
    }
    let reason_start = sp1 + 1 + code_end + 1;
    let reason = line.get(reason_start..).unwrap_or_default();
    if std::str::from_utf8(reason).is_err() || reason.iter().any(|&c| c < 0x20 && c != b'\t') {
        return Err(ParseError::BadReason { at: reason_start });
    }
    Ok(Start::Response {
        status: StatusCode(status),
        reason: Span::new(reason_start, reason_start + reason.len()),
    })
}

/// SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT; only 2.0 is supported (505 otherwise).
fn check_version(v: &[u8], at: usize) -> Result<(), ParseError> {
    if v == b"SIP/2.0" {
        return Ok(());
    }
    let well_formed = v.len() > 4
        && v.get(..4).is_some_and(|p| p.eq_ignore_ascii_case(b"SIP/"))
        && v.get(4..).is_some_and(|num| {
            let mut parts = num.split(|&c| c == b'.');
            let major = parts.next().unwrap_or_default();
            let minor = parts.next().unwrap_or_default();
            parts.next().is_none()
                && !major.is_empty()
                && !minor.is_empty()
                && major.iter().chain(minor).all(u8::is_ascii_digit)
        });
    if !well_formed {
        return Err(ParseError::BadStartLine { at });
    }
    let num = v.get(4..).unwrap_or_default();
    let trimmed: Vec<&[u8]> = num
        .split(|&c| c == b'.')
        .map(|p| {
            let z = p.iter().take_while(|&&c| c == b'0').count();
            p.get(z..).unwrap_or_default()
        })
        .collect();
    if trimmed.as_slice() == [b"2".as_slice(), b"".as_slice()] {
        Ok(())
    } else {
        Err(ParseError::UnsupportedVersion)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where the Request-Line fast path decides, the general path says the same.
    #[test]
    fn request_line_fast_path_agrees_with_the_general_path() {
        let mut fast = 0;
        for method in [
            "INVITE", "REGISTER", "invite", "FOO", "INV ITE", "", "SIP/2.0",
        ] {
            for uri in [
                "sip:bob@biloxi.example.com",
                "sips:a@b:5061;transport=tls",
                "sip:a b@c",
                "sip:a@b SIP/2.0",
                "sip:%61@b",
                "tel:+1",
                "",
            ] {
                for version in [
                    " SIP/2.0",
                    " SIP/2.00",
                    " sip/2.0",
                    "  SIP/2.0",
                    " SIP/2.0 ",
                ] {
                    let line = format!("{method} {uri}{version}");
                    let buf = Bytes::from(line.clone());
                    if let Some(start) = request_line_fast(line.as_bytes()) {
                        fast += 1;
                        assert_eq!(Ok(start), request_line(&buf, line.as_bytes()), "{line}");
                    }
                }
            }
        }
        // only INVITE and REGISTER with the first two URIs and " SIP/2.0"
        assert_eq!(fast, 4);
    }
}
