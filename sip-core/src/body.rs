//! Message bodies: finding the session description in what a peer sent (RFC 3261 §7.4,
//! RFC 5621).
//!
//! Most INVITEs carry `application/sdp` alone, but real peers also send `multipart/mixed`
//! bodies (RFC 2046 §5.1) whose SDP is one part among others: SIP-I/SIP-T carrier
//! interconnects add the ISUP message (`application/isup`, RFC 3204), emergency calls add a
//! location object (`application/pidf+xml`, RFC 6442), and some PBXs send
//! `multipart/alternative` with two session descriptions. A UA that parses the whole body as
//! SDP refuses those calls; [`session_description`] returns the SDP part, zero-copy.
//!
//! Hostile input is bounded: at most [`MAX_PARTS`] parts per multipart, nesting at most
//! [`MAX_DEPTH`] deep, boundaries of 1-70 characters (RFC 2046 §5.1.1), and every scan is
//! linear in the body length (`memchr::memmem`).

use bytes::Bytes;
use memchr::memmem;

use crate::header::{ContentType, Header};
use crate::msg::Headers;

/// The most parts one multipart body may have before it is refused.
pub const MAX_PARTS: usize = 32;
/// How deep multiparts may nest (`multipart/alternative` inside `multipart/mixed` is 2).
pub const MAX_DEPTH: usize = 3;

/// Why a body has no usable session description.
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
pub enum BodyError {
    /// The body is of a type that is not, and does not contain, `application/sdp`
    /// (answer 415 Unsupported Media Type with `Accept: application/sdp`).
    #[error("no application/sdp in a body of type {0}")]
    Unsupported(String),
    /// The `Content-Type` header (of the message or of a part) does not parse.
    #[error("bad Content-Type: {0}")]
    BadContentType(String),
    /// A multipart body without a usable `boundary` parameter (missing, empty, over 70
    /// characters).
    #[error("multipart body without a valid boundary parameter")]
    BadBoundary,
    /// A multipart body whose delimiters or part headers are broken.
    #[error("malformed multipart body: {0}")]
    Malformed(&'static str),
    /// More than [`MAX_PARTS`] parts or [`MAX_DEPTH`] levels of nesting.
    #[error("multipart body beyond the limits (parts or nesting)")]
    TooComplex,
}

/// The session description a message carries.
///
/// - `Ok(None)`: no body (an INVITE without an offer, a late offer).
/// - `Ok(Some(sdp))`: the body is `application/sdp`, or a multipart whose first
///   `application/sdp` part (depth first, in order) is returned. A body without a
///   `Content-Type` (which RFC 3261 §7.4.1 requires, but some old UAs omit) is taken as SDP.
/// - `Err(_)`: a body that is not SDP or does not contain it, or a malformed multipart.
pub fn session_description(headers: &Headers) -> Result<Option<Bytes>, BodyError> {
    let body = headers.body_bytes();
    if body.is_empty() {
        return Ok(None);
    }
    match headers.get::<ContentType>() {
        None => Ok(Some(body)),
        Some(Err(e)) => Err(BodyError::BadContentType(e.to_string())),
        Some(Ok(ct)) => session_in(&ct, &body),
    }
}

/// [`session_description`] of a body of type `ct` that is not in a message yet (one the
/// application hands to the user agent).
pub(crate) fn session_in(ct: &ContentType, body: &Bytes) -> Result<Option<Bytes>, BodyError> {
    if body.is_empty() {
        return Ok(None);
    }
    find_sdp(ct, body, 0).map(Some)
}

/// The session description to hand to an SDP parser: [`session_description`]'s SDP; empty
/// when the message carries none (no body, or only parts that are not SDP: a SIP-I ISUP or a
/// PIDF-LO alone, RFC 5621), which is no offer and no answer; the body as sent when it
/// cannot be read (a malformed multipart or Content-Type), so that the SDP parse refuses it
/// with a precise error instead of the call taking it for a late offer.
pub fn sdp_or_body(headers: &Headers) -> Bytes {
    usable(session_description(headers), || headers.body_bytes())
}

/// [`sdp_or_body`] of a body of type `ct` that is not in a message yet.
pub(crate) fn sdp_or_body_in(ct: &ContentType, body: &Bytes) -> Bytes {
    usable(session_in(ct, body), || body.clone())
}

fn usable(found: Result<Option<Bytes>, BodyError>, as_sent: impl FnOnce() -> Bytes) -> Bytes {
    match found {
        Ok(sdp) => sdp.unwrap_or_default(),
        Err(BodyError::Unsupported(_)) => Bytes::new(),
        Err(_) => as_sent(),
    }
}

/// The first `application/sdp` inside `body` of type `ct`.
fn find_sdp(ct: &ContentType, body: &Bytes, depth: usize) -> Result<Bytes, BodyError> {
    if ct.is("application", "sdp") {
        return Ok(body.clone());
    }
    let unsupported = || BodyError::Unsupported(format!("{}/{}", ct.mtype(), ct.subtype()));
    if !ct.mtype().eq_ignore_ascii_case("multipart") {
        return Err(unsupported());
    }
    // `depth` multiparts enclose this one.
    if depth >= MAX_DEPTH {
        return Err(BodyError::TooComplex);
    }
    let boundary = boundary(ct)?;
    for part in Parts::new(body, boundary.as_bytes())? {
        let part = part?;
        // A part without Content-Type is text/plain (RFC 2046 §5.1): never SDP.
        let Some(ct) = part.content_type()? else {
            continue;
        };
        match find_sdp(&ct, &part.body, depth + 1) {
            Ok(sdp) => return Ok(sdp),
            Err(BodyError::Unsupported(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Err(unsupported())
}

/// The `boundary` parameter, unquoted ([`Parts::new`] checks its length).
fn boundary(ct: &ContentType) -> Result<&str, BodyError> {
    let raw = ct
        .params()
        .get("boundary")
        .flatten()
        .ok_or(BodyError::BadBoundary)?;
    Ok(raw
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .unwrap_or(raw))
}

/// One part of a multipart body: its header block and its content.
#[derive(Clone, Debug)]
pub struct Part {
    headers: Bytes,
    /// The part's content (the bytes between its header block and the next delimiter).
    pub body: Bytes,
}

impl Part {
    /// The part's `Content-Type`, if it has one.
    pub fn content_type(&self) -> Result<Option<ContentType>, BodyError> {
        let Some(value) = self.header("content-type") else {
            return Ok(None);
        };
        ContentType::parse(&value)
            .map(Some)
            .map_err(|e| BodyError::BadContentType(e.to_string()))
    }

    /// The value of the part header `name` (case-insensitive), with folded lines joined as
    /// written (the CRLFs stay; header parsers take them as whitespace).
    pub fn header(&self, name: &str) -> Option<Bytes> {
        let h = &self.headers;
        let mut at = 0;
        while at < h.len() {
            let end = line_end(h, at);
            let line = &h[at..end];
            // Only whitespace before the colon is trimmed: a continuation line (SP or HTAB
            // first) is part of the value above, and names nothing.
            if let Some(colon) = line.iter().position(|&c| c == b':')
                && line[..colon]
                    .trim_ascii_end()
                    .eq_ignore_ascii_case(name.as_bytes())
            {
                let mut value_end = end;
                // Continuation lines start with SP or HTAB.
                while value_end + 2 < h.len() && matches!(h[value_end + 2], b' ' | b'\t') {
                    value_end = line_end(h, value_end + 2);
                }
                return Some(h.slice(at + colon + 1..value_end));
            }
            at = end + 2;
        }
        None
    }
}

/// Where the line starting at `at` ends (the index of its CRLF, or the end of `h`).
fn line_end(h: &[u8], at: usize) -> usize {
    memmem::find(&h[at..], b"\r\n").map_or(h.len(), |i| at + i)
}

/// The parts of a multipart body, in order (RFC 2046 §5.1.1). The preamble before the first
/// delimiter and the epilogue after the close delimiter are ignored; a body with no part is
/// refused.
///
/// A body that ends without its close delimiter (`--boundary--`) is read as if it were
/// there: the last part runs to the end of the body, and a delimiter that ends the body
/// (`--boundary` without the `--`, with or without CRLF) closes it. Kamailio 4.4's
/// `set_body_multipart` wrote such bodies (kamailio#661), and a SIPREC client's INVITE
/// lacked the two hyphens (drachtio-siprec-recording-client#15); Content-Length already
/// says where the body ends, so nothing is guessed.
pub struct Parts {
    body: Bytes,
    /// `CRLF--boundary`.
    delimiter: Vec<u8>,
    /// Where the next part's content starts (after its delimiter line), or `None` when done.
    next: Option<usize>,
    count: usize,
}

impl Parts {
    /// The parts of `body` delimited by `boundary` (RFC 2046 §5.1.1: 1-70 characters, else
    /// [`BodyError::BadBoundary`]).
    pub fn new(body: &Bytes, boundary: &[u8]) -> Result<Self, BodyError> {
        if boundary.is_empty() || boundary.len() > 70 {
            return Err(BodyError::BadBoundary);
        }
        let mut delimiter = b"\r\n--".to_vec();
        delimiter.extend_from_slice(boundary);
        // The first delimiter may open the body without the CRLF before it.
        let first = if body.starts_with(&delimiter[2..]) {
            0
        } else {
            memmem::find(body, &delimiter)
                .map(|i| i + 2)
                .ok_or(BodyError::Malformed("no delimiter"))?
        };
        let after = first + delimiter.len() - 2;
        let next = Self::after_delimiter(body, after)?;
        // The close delimiter, or a delimiter line that ends the body: nothing follows.
        if next.is_none_or(|start| start == body.len()) {
            return Err(BodyError::Malformed("no part"));
        }
        Ok(Self {
            body: body.clone(),
            delimiter,
            next,
            count: 0,
        })
    }

    /// After a delimiter's boundary ending at `at`: `Some(start of the part)` for a
    /// delimiter line, `None` for the close delimiter (`--`).
    fn after_delimiter(body: &[u8], at: usize) -> Result<Option<usize>, BodyError> {
        let rest = &body[at..];
        // `--` closes; so does the end of the body right after the boundary.
        if rest.is_empty() || rest.starts_with(b"--") {
            return Ok(None);
        }
        // Transport padding (linear whitespace) may follow the boundary.
        let pad = rest
            .iter()
            .take_while(|&&c| c == b' ' || c == b'\t')
            .count();
        if rest[pad..].starts_with(b"\r\n") {
            Ok(Some(at + pad + 2))
        } else {
            Err(BodyError::Malformed("delimiter line does not end in CRLF"))
        }
    }
}

impl Iterator for Parts {
    type Item = Result<Part, BodyError>;

    fn next(&mut self) -> Option<Self::Item> {
        let start = self.next.take()?;
        let body = &self.body;
        // A delimiter line that ends the body: the close delimiter without its `--`.
        if start == body.len() {
            return None;
        }
        self.count += 1;
        if self.count > MAX_PARTS {
            return Some(Err(BodyError::TooComplex));
        }
        // The part ends at the next delimiter (the CRLF before it belongs to the delimiter),
        // or, with no delimiter left, at the end of the body.
        let next = memmem::find(&body[start..], &self.delimiter).map(|len| start + len);
        let end = next.unwrap_or(body.len());
        let part = &body[start..end];
        // No header block: the part starts with its blank line, or is empty.
        let (headers, content) = if part.is_empty() {
            (body.slice(start..start), body.slice(start..start))
        } else if part.starts_with(b"\r\n") {
            (body.slice(start..start), body.slice(start + 2..end))
        } else {
            match memmem::find(part, b"\r\n\r\n") {
                Some(i) => (body.slice(start..start + i), body.slice(start + i + 4..end)),
                None => return Some(Err(BodyError::Malformed("part headers without end"))),
            }
        };
        if next.is_some() {
            match Self::after_delimiter(body, end + self.delimiter.len()) {
                Ok(next) => self.next = next,
                Err(e) => return Some(Err(e)),
            }
        }
        Some(Ok(Part {
            headers,
            body: content,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Message;

    fn message(content_type: Option<&str>, body: &[u8]) -> Message {
        let ct = content_type.map_or(String::new(), |c| format!("Content-Type: {c}\r\n"));
        let mut text = format!(
            "INVITE sip:bob@example.com SIP/2.0\r\n\
             Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds\r\n\
             Max-Forwards: 70\r\nTo: <sip:bob@example.com>\r\n\
             From: <sip:alice@example.com>;tag=1928301774\r\n\
             Call-ID: a84b4c76e66710\r\nCSeq: 1 INVITE\r\n\
             {ct}Content-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        text.extend_from_slice(body);
        Message::parse(Bytes::from(text)).unwrap()
    }

    fn sdp_of(
        content_type: Option<&str>,
        body: impl AsRef<[u8]>,
    ) -> Result<Option<Bytes>, BodyError> {
        session_description(message(content_type, body.as_ref()).headers())
    }

    const SDP: &str = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\n\
                       t=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";

    #[test]
    fn plain_sdp_and_no_body() {
        assert_eq!(
            sdp_of(Some("application/sdp"), SDP).unwrap().unwrap(),
            SDP.as_bytes()
        );
        assert_eq!(
            sdp_of(Some("Application/SDP"), SDP).unwrap().unwrap(),
            SDP.as_bytes()
        );
        assert_eq!(sdp_of(None, SDP).unwrap().unwrap(), SDP.as_bytes());
        assert_eq!(sdp_of(Some("application/sdp"), "").unwrap(), None);
    }

    #[test]
    fn sip_i_multipart_with_isup() {
        // As SIP-I interconnects send it (ITU-T Q.1912.5, RFC 3204): SDP, then ISUP IAM.
        let mut body = format!(
            "--unique-boundary-1\r\nContent-Type: application/sdp\r\n\r\n{SDP}\r\n\
             --unique-boundary-1\r\nContent-Type: application/isup;version=itu-t92+;base=itu-t92+\r\n\
             Content-Disposition: signal;handling=optional\r\n\r\n"
        )
        .into_bytes();
        // An IAM, binary (with CR, LF and bytes above 0x7f).
        body.extend_from_slice(b"\x01\x10\x60\x01\x0a\x00\x02\x0a\x08\x83\x90\x89\x59\r\n\x0d");
        body.extend_from_slice(b"\r\n--unique-boundary-1--\r\n");
        let got = sdp_of(Some("multipart/mixed;boundary=unique-boundary-1"), &body)
            .unwrap()
            .unwrap();
        assert_eq!(got, SDP.as_bytes());
    }

    #[test]
    fn emergency_call_with_pidf_first_and_a_quoted_boundary_and_preamble() {
        // RFC 6442 §7: the location object may come first.
        let body = format!(
            "This is a preamble.\r\n--boundary1\r\nContent-Type: application/pidf+xml\r\n\
             Content-ID: <target123@atlanta.example.com>\r\n\r\n<?xml version=\"1.0\"?>\r\n\
             <presence/>\r\n--boundary1\r\nContent-Type: application/sdp\r\n\
             Content-Disposition: session\r\n\r\n{SDP}\r\n--boundary1--\r\nepilogue"
        );
        let got = sdp_of(Some("multipart/mixed; boundary=\"boundary1\""), &body)
            .unwrap()
            .unwrap();
        assert_eq!(got, SDP.as_bytes());
    }

    #[test]
    fn nested_alternative_inside_mixed() {
        let inner = format!(
            "--inner\r\nContent-Type: text/plain\r\n\r\nhello\r\n--inner\r\n\
             content-type:application/sdp\r\n\r\n{SDP}\r\n--inner--"
        );
        let body = format!(
            "--outer\r\nContent-Type: multipart/alternative;boundary=inner\r\n\r\n{inner}\r\n\
             --outer--\r\n"
        );
        let got = sdp_of(Some("multipart/mixed;boundary=outer"), &body)
            .unwrap()
            .unwrap();
        assert_eq!(got, SDP.as_bytes());
    }

    #[test]
    fn refusals_are_precise() {
        assert!(matches!(
            sdp_of(Some("application/isup"), "\x01\x02"),
            Err(BodyError::Unsupported(t)) if t == "application/isup"
        ));
        assert_eq!(
            sdp_of(Some("multipart/mixed"), "--x\r\n\r\nfoo\r\n--x--"),
            Err(BodyError::BadBoundary)
        );
        let long = "b".repeat(71);
        assert_eq!(
            sdp_of(
                Some(&format!("multipart/mixed;boundary={long}")),
                "--x\r\n\r\n--x--"
            ),
            Err(BodyError::BadBoundary)
        );
        // Parts, but none is SDP (a part without Content-Type is text/plain).
        assert!(matches!(
            sdp_of(
                Some("multipart/mixed;boundary=x"),
                "--x\r\n\r\nv=0\r\n--x\r\nContent-Type: text/plain\r\n\r\nhi\r\n--x--\r\n"
            ),
            Err(BodyError::Unsupported(t)) if t == "multipart/mixed"
        ));
        assert_eq!(
            sdp_of(Some("multipart/mixed;boundary=x"), "no delimiter here"),
            Err(BodyError::Malformed("no delimiter"))
        );
        // Never closed: the part runs to the end of the body (no SDP in it here).
        assert!(matches!(
            sdp_of(
                Some("multipart/mixed;boundary=x"),
                "--x\r\nContent-Type: text/plain\r\n\r\nhi, never closed"
            ),
            Err(BodyError::Unsupported(t)) if t == "multipart/mixed"
        ));
        assert_eq!(
            sdp_of(Some("multipart/mixed;boundary=x"), "--x--\r\n"),
            Err(BodyError::Malformed("no part"))
        );
        assert_eq!(
            sdp_of(
                Some("multipart/mixed;boundary=x"),
                "--xyz\r\n\r\nhi\r\n--x--"
            ),
            Err(BodyError::Malformed("delimiter line does not end in CRLF"))
        );
        assert!(matches!(
            sdp_of(
                Some("multipart/mixed;boundary=x"),
                "--x\r\nContent-Type: /\r\n\r\nhi\r\n--x--"
            ),
            Err(BodyError::BadContentType(_))
        ));
    }

    #[test]
    fn limits_hold_against_many_parts_and_deep_nesting() {
        let many: String = (0..=MAX_PARTS)
            .map(|_| "--x\r\nContent-Type: text/plain\r\n\r\nhi\r\n")
            .collect::<String>()
            + "--x--";
        assert_eq!(
            sdp_of(Some("multipart/mixed;boundary=x"), &many),
            Err(BodyError::TooComplex)
        );
        // MAX_PARTS parts are taken, the SDP in the last.
        let full: String = (1..MAX_PARTS)
            .map(|_| "--x\r\nContent-Type: text/plain\r\n\r\nhi\r\n")
            .collect::<String>()
            + &format!("--x\r\nContent-Type: application/sdp\r\n\r\n{SDP}\r\n--x--");
        assert_eq!(
            sdp_of(Some("multipart/mixed;boundary=x"), &full),
            Ok(Some(Bytes::from(SDP)))
        );
        // b0 inside b1 ... inside b{levels - 1}: MAX_DEPTH multiparts are taken, one more
        // is refused.
        let nested = |levels: usize| {
            let mut body = format!("--b0\r\nContent-Type: application/sdp\r\n\r\n{SDP}\r\n--b0--");
            for d in 1..levels {
                body = format!(
                    "--b{d}\r\nContent-Type: multipart/mixed;boundary=b{}\r\n\r\n{body}\r\n--b{d}--",
                    d - 1
                );
            }
            let top = format!("multipart/mixed;boundary=b{}", levels - 1);
            sdp_of(Some(&top), &body)
        };
        assert_eq!(nested(MAX_DEPTH), Ok(Some(Bytes::from(SDP))));
        assert_eq!(nested(MAX_DEPTH + 1), Err(BodyError::TooComplex));
    }

    #[test]
    fn part_headers_fold_and_padding_after_the_boundary() {
        let body = format!("--x  \r\nContent-Type:\r\n application/sdp\r\n\r\n{SDP}\r\n--x--");
        assert_eq!(
            sdp_of(Some("multipart/related;boundary=x"), &body)
                .unwrap()
                .unwrap(),
            SDP.as_bytes()
        );
        // A folded line of another header that reads like a Content-Type is no header.
        let body = format!(
            "--x\r\nX-Note: a\r\n content-type: text/plain\r\nContent-Type: application/sdp\r\n\r\n\
             {SDP}\r\n--x--"
        );
        assert_eq!(
            sdp_of(Some("multipart/mixed;boundary=x"), &body),
            Ok(Some(Bytes::from(SDP)))
        );
    }

    #[test]
    fn a_body_of_only_a_delimiter_line_has_no_part() {
        for body in ["--x\r\n", "pre\r\n--x  \r\n", "--x", "--x--"] {
            assert_eq!(
                sdp_of(Some("multipart/mixed;boundary=x"), body),
                Err(BodyError::Malformed("no part")),
                "{body:?}"
            );
        }
    }

    #[test]
    fn a_multipart_without_its_close_delimiter_is_read() {
        let isup = "--x\r\nContent-Type: application/isup;version=itu-t92+\r\n\r\n\x01\x10\x00";
        // The SDP first, then an ISUP part that runs to the end of the body (Kamailio 4.4's
        // set_body_multipart, kamailio#661), with and without the CRLF at its end.
        for tail in ["", "\r\n"] {
            let body = format!("--x\r\nContent-Type: application/sdp\r\n\r\n{SDP}\r\n{isup}{tail}");
            assert_eq!(
                sdp_of(Some("multipart/mixed;boundary=x"), &body),
                Ok(Some(Bytes::from(SDP)))
            );
        }
        // The SDP last and never closed: the part is the rest of the body.
        let body = format!("{isup}\r\n--x\r\nContent-Type: application/sdp\r\n\r\n{SDP}");
        assert_eq!(
            sdp_of(Some("multipart/mixed;boundary=x"), &body),
            Ok(Some(Bytes::from(SDP)))
        );
        // The last delimiter without its `--` (drachtio-siprec-recording-client#15), with
        // and without CRLF: it closes the body, the part before it keeps its content.
        for close in ["--x", "--x\r\n", "--x  \r\n"] {
            let body = format!("--x\r\nContent-Type: application/sdp\r\n\r\n{SDP}\r\n{close}");
            assert_eq!(
                sdp_of(Some("multipart/mixed;boundary=x"), &body),
                Ok(Some(Bytes::from(SDP))),
                "{close:?}"
            );
            let parts = Parts::new(&Bytes::from(body), b"x").unwrap();
            assert_eq!(parts.count(), 1, "{close:?}");
        }
        // Still refused: no part at all, part headers that never end, and a delimiter line
        // that goes on with other bytes.
        for (body, why) in [
            ("--x", "no part"),
            (
                "--x\r\nContent-Type: application/sdp",
                "part headers without end",
            ),
            (
                "--x\r\n\r\nhi\r\n--xyz",
                "delimiter line does not end in CRLF",
            ),
        ] {
            assert_eq!(
                sdp_of(Some("multipart/mixed;boundary=x"), body),
                Err(BodyError::Malformed(why)),
                "{body:?}"
            );
        }
    }

    proptest::proptest! {
        /// Any multipart built from parts that do not contain the delimiter gives back the
        /// first SDP part byte for byte, whatever comes before and after it.
        #[test]
        fn the_first_sdp_part_comes_back(
            before in proptest::collection::vec(("[a-z]{1,8}/[a-z+.-]{1,12}", proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64)), 0..4),
            sdp in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
            after in proptest::collection::vec(proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64), 0..4),
            boundary in "[A-Za-z0-9'()+_,./:=?-]{1,70}",
        ) {
            let delimiter = format!("\r\n--{boundary}");
            let clean = |b: &[u8]| !b.windows(delimiter.len()).any(|w| w == delimiter.as_bytes())
                && !b.starts_with(&delimiter.as_bytes()[2..]);
            proptest::prop_assume!(clean(&sdp) && before.iter().all(|(_, b)| clean(b)) && after.iter().all(|b| clean(b)));
            proptest::prop_assume!(!before.iter().any(|(t, _)| t.eq_ignore_ascii_case("application/sdp") || t.starts_with("multipart")));
            let mut body = Vec::new();
            let mut part = |ct: &str, content: &[u8]| {
                body.extend_from_slice(format!("--{boundary}\r\nContent-Type: {ct}\r\n\r\n").as_bytes());
                body.extend_from_slice(content);
                body.extend_from_slice(b"\r\n");
            };
            for (t, b) in &before {
                part(t, b);
            }
            part("application/sdp", &sdp);
            for b in &after {
                part("application/octet-stream", b);
            }
            body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
            let got = sdp_of(Some(&format!("multipart/mixed;boundary=\"{boundary}\"")), &body);
            proptest::prop_assert_eq!(got, Ok(Some(Bytes::from(sdp))));
        }

        /// Arbitrary bytes under a multipart type: no panic, and an SDP found is a slice of
        /// the body.
        #[test]
        fn any_body_is_safe(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
            let m = message(Some("multipart/mixed;boundary=x"), &body);
            if let Ok(Some(sdp)) = session_description(m.headers()) {
                proptest::prop_assert!(crate::fuzzing::lies_in(m.body(), &sdp));
            }
        }
    }
}
