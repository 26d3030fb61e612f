//! Owned builders: requests from scratch, responses from requests (RFC 3261 §8.2.6).

use bytes::Bytes;

use super::{Headers, Index, Method, Request, Response, Span, StatusCode};
use crate::error::BuildError;
use crate::header::{Header, HeaderName, To};
use crate::msg::scan;
use crate::uri::Uri;

/// Where a builder line's name or value text lies.
#[derive(Clone, Copy, Debug)]
enum Text {
    /// A well-known name.
    Static(&'static str),
    /// A range of the message the builder was made from (`Lines::src`).
    Src(Span),
    /// A range of the builder's own buffer (`Lines::own`).
    Own(Span),
}

/// One header line being assembled.
#[derive(Clone, Copy, Debug)]
struct Line {
    name: Text,
    value: Text,
    /// `HeaderName::kind` of the name (0 for an extension header).
    kind: u8,
}

/// Header lines and body being assembled.
///
/// Nothing is copied per line: lines taken over from a parsed message are ranges of its
/// buffer, typed headers are written once (bytes, no `fmt`) into one growing buffer of the
/// builder, and [`Lines::write`] copies everything once into an exactly pre-sized message.
#[derive(Clone, Debug, Default)]
struct Lines {
    lines: Vec<Line>,
    src: Bytes,
    own: Vec<u8>,
    body: Bytes,
}

/// Header lines a typical message has: the line list is allocated once.
const LINES_CAPACITY: usize = 12;

impl Lines {
    fn text(&self, t: Text) -> &[u8] {
        match t {
            Text::Static(s) => s.as_bytes(),
            Text::Src(span) => self.src.get(span.range()).unwrap_or_default(),
            Text::Own(span) => self.own.get(span.range()).unwrap_or_default(),
        }
    }

    fn typed<H: Header>(&mut self, h: &H) -> Line {
        if self.own.capacity() == 0 {
            self.own.reserve(256);
        }
        let start = self.own.len();
        h.write_value(&mut self.own);
        Line {
            name: Text::Static(H::NAME.as_str()),
            value: Text::Own(Span::new(start, self.own.len())),
            kind: H::NAME.kind(),
        }
    }

    fn own_text(&mut self, text: &[u8]) -> Text {
        let start = self.own.len();
        self.own.extend_from_slice(text);
        Text::Own(Span::new(start, self.own.len()))
    }

    fn raw(&mut self, name: &str, value: &str) -> Result<Line, BuildError> {
        if !scan::all_token(name.as_bytes()) {
            return Err(BuildError::BadHeaderName);
        }
        if value.bytes().any(|c| matches!(c, b'\r' | b'\n' | 0)) {
            return Err(BuildError::BadHeaderValue);
        }
        let kind = HeaderName::from_bytes(name.as_bytes()).map_or(0, HeaderName::kind);
        Ok(Line {
            name: self.own_text(name.as_bytes()),
            value: self.own_text(value.as_bytes()),
            kind,
        })
    }

    fn from_headers(h: &Headers) -> Self {
        let entries = h.entries();
        let mut lines = Vec::with_capacity(entries.len().max(LINES_CAPACITY));
        lines.extend(
            entries
                .filter(|e| e.kind != HeaderName::ContentLength.kind())
                .map(|e| Line {
                    name: Text::Src(e.name()),
                    value: Text::Src(e.value),
                    kind: e.kind,
                }),
        );
        Self {
            lines,
            src: h.raw_bytes().clone(),
            own: Vec::new(),
            body: h.body_bytes(),
        }
    }

    fn push(&mut self, line: Line) {
        if self.lines.capacity() == 0 {
            self.lines.reserve(LINES_CAPACITY);
        }
        self.lines.push(line);
    }

    fn remove(&mut self, which: HeaderName) {
        let kind = which.kind();
        self.lines.retain(|l| l.kind != kind);
    }

    fn set(&mut self, line: Line) {
        match self.lines.iter().position(|l| l.kind == line.kind) {
            Some(i) => {
                self.lines.retain(|l| l.kind != line.kind);
                self.lines.insert(i.min(self.lines.len()), line);
            }
            None => self.push(line),
        }
    }

    /// Bytes [`Lines::write`] appends (the Content-Length value at most 20 digits).
    fn encoded_len(&self) -> usize {
        let lines: usize = self
            .lines
            .iter()
            .map(|l| self.text(l.name).len() + self.text(l.value).len() + 4)
            .sum();
        lines + "Content-Length: \r\n\r\n".len() + 20 + self.body.len()
    }

    /// Writes header lines, Content-Length, the empty line and the body after `start`.
    fn write(&self, out: &mut Vec<u8>) -> (Index, u32) {
        let mut index = Index::new();
        let cl = HeaderName::ContentLength.kind();
        for line in self.lines.iter().filter(|l| l.kind != cl) {
            let ns = out.len();
            out.extend_from_slice(self.text(line.name));
            let ne = out.len();
            out.extend_from_slice(b": ");
            let vs = out.len();
            // A folded value copied from a parsed message is unfolded; CR/LF/NUL cannot
            // reach the wire from a builder.
            let value = scan::trim_lws(self.text(line.value));
            let clean = value
                .iter()
                .fold(true, |ok, &c| ok & !matches!(c, b'\r' | b'\n' | 0));
            if clean {
                out.extend_from_slice(value);
            } else {
                out.extend(value.iter().map(|&c| {
                    if matches!(c, b'\r' | b'\n' | 0) {
                        b' '
                    } else {
                        c
                    }
                }));
            }
            let ve = out.len();
            out.extend_from_slice(b"\r\n");
            index.push(ns, ne - ns, vs, ve, line.kind);
        }
        let ns = out.len();
        out.extend_from_slice(b"Content-Length: ");
        let vs = out.len();
        scan::put_u64(out, u64::try_from(self.body.len()).unwrap_or(u64::MAX));
        let ve = out.len();
        out.extend_from_slice(b"\r\n\r\n");
        index.push(ns, 14, vs, ve, cl);
        let body_start = Span::new(out.len(), out.len()).start;
        out.extend_from_slice(&self.body);
        (index, body_start)
    }
}

/// Whether a From/To value carries a `tag` header parameter, when the bytes alone tell
/// (RFC 3261 §20.20, §25.1): no quoted display name, no folding, at most one `<...>` with
/// the header parameters after it (or, without `<`, after the first `;`). `None` for any
/// other form, which is then parsed as a typed header.
fn tag_state(value: &[u8]) -> Option<bool> {
    if value
        .iter()
        .any(|&c| matches!(c, b'"' | b'\r' | b'\n' | b'\\'))
    {
        return None;
    }
    let params = match scan::find_byte(value, b'<') {
        Some(lt) => {
            let rest = value.get(lt + 1..)?;
            let gt = scan::find_byte(rest, b'>')?;
            rest.get(gt + 1..)?
        }
        None => {
            scan::find_byte(value, b';').map_or(&[][..], |i| value.get(i..).unwrap_or_default())
        }
    };
    if params.iter().any(|&c| matches!(c, b'<' | b'>')) {
        return None;
    }
    Some(params.split(|&c| c == b';').any(|param| {
        let name =
            scan::find_byte(param, b'=').map_or(param, |eq| param.get(..eq).unwrap_or_default());
        name.trim_ascii().eq_ignore_ascii_case(b"tag")
    }))
}

macro_rules! header_methods {
    () => {
        /// Appends a typed header line.
        #[must_use]
        pub fn header<H: Header>(mut self, h: H) -> Self {
            let line = self.lines.typed(&h);
            self.lines.push(line);
            self
        }

        /// Appends a typed header line (in place).
        pub fn push_header<H: Header>(&mut self, h: H) -> &mut Self {
            let line = self.lines.typed(&h);
            self.lines.push(line);
            self
        }

        /// Inserts a typed header line before all others (e.g. a proxy's Via, §16.6).
        pub fn prepend_header<H: Header>(&mut self, h: H) -> &mut Self {
            let line = self.lines.typed(&h);
            self.lines.lines.insert(0, line);
            self
        }

        /// Replaces every line of `H` with one line holding `h`, in the place of the first.
        pub fn set_header<H: Header>(&mut self, h: H) -> &mut Self {
            let line = self.lines.typed(&h);
            self.lines.set(line);
            self
        }

        /// Appends an extension (or any) header line verbatim.
        ///
        /// # Errors
        /// [`BuildError`] when the name is not a token or the value holds CR, LF or NUL.
        pub fn raw_header(mut self, name: &str, value: &str) -> Result<Self, BuildError> {
            let line = self.lines.raw(name, value)?;
            self.lines.push(line);
            Ok(self)
        }

        /// Removes every line of a well-known header.
        pub fn remove_header(&mut self, name: HeaderName) -> &mut Self {
            self.lines.remove(name);
            self
        }

        /// Removes every line whose name equals `name` (case-insensitive).
        pub fn remove_header_str(&mut self, name: &str) -> &mut Self {
            match HeaderName::from_bytes(name.as_bytes()) {
                Some(known) => self.lines.remove(known),
                None => {
                    let lines = std::mem::take(&mut self.lines.lines);
                    self.lines.lines = lines
                        .into_iter()
                        .filter(|l| {
                            !self
                                .lines
                                .text(l.name)
                                .eq_ignore_ascii_case(name.as_bytes())
                        })
                        .collect();
                }
            }
            self
        }

        /// Sets the body; Content-Length is written by [`Self::build`]. Set Content-Type
        /// with [`Self::header`].
        #[must_use]
        pub fn body(mut self, body: Bytes) -> Self {
            self.lines.body = body;
            self
        }
    };
}

/// Builds a request. Content-Length is always written (last header) from the body.
///
/// ```
/// use telox_sip_core::header::{CSeq, CallId, From, MaxForwards, To, Via};
/// use telox_sip_core::{Method, Request, Uri};
///
/// let uri: Uri = "sip:bob@biloxi.example.com".parse().unwrap();
/// let req = Request::builder(Method::Options, uri.clone())
///     .header(Via::new("UDP", "pc33.atlanta.example.com", None, "z9hG4bK776asdhds").unwrap())
///     .header(MaxForwards(70))
///     .header(To::new(uri))
///     .header(From::new("sip:alice@atlanta.example.com".parse().unwrap()).with_tag("1928301774"))
///     .header(CallId::new("a84b4c76e66710@pc33.atlanta.example.com").unwrap())
///     .header(CSeq::new(314159, Method::Options))
///     .build();
/// assert!(req.to_bytes().starts_with(b"OPTIONS sip:bob@biloxi.example.com SIP/2.0\r\nVia: "));
/// ```
#[derive(Clone, Debug)]
pub struct RequestBuilder {
    method: Method,
    uri: Uri,
    lines: Lines,
}

impl RequestBuilder {
    pub(crate) fn new(method: Method, uri: Uri) -> Self {
        Self {
            method,
            uri,
            lines: Lines::default(),
        }
    }

    pub(crate) fn from_request(r: &Request) -> Self {
        Self {
            method: r.method.clone(),
            uri: r.uri(),
            lines: Lines::from_headers(&r.head),
        }
    }

    /// Replaces the method.
    #[must_use]
    pub fn method(mut self, method: Method) -> Self {
        self.method = method;
        self
    }

    /// Replaces the Request-URI.
    #[must_use]
    pub fn uri(mut self, uri: Uri) -> Self {
        self.uri = uri;
        self
    }

    header_methods!();

    /// Serializes the request once and indexes it; the result behaves exactly like a parsed
    /// request.
    pub fn build(self) -> Request {
        let method = self.method.as_str().as_bytes();
        let uri = self.uri.as_bytes();
        let mut out = Vec::with_capacity(
            method.len() + uri.len() + " SIP/2.0\r\n".len() + 1 + self.lines.encoded_len(),
        );
        out.extend_from_slice(method);
        out.push(b' ');
        let us = out.len();
        out.extend_from_slice(uri);
        let ue = out.len();
        out.extend_from_slice(b" SIP/2.0\r\n");
        let (index, body_start) = self.lines.write(&mut out);
        Request {
            method: self.method,
            uri: Span::new(us, ue),
            uri_parts: self.uri.parts(),
            head: Headers {
                raw: Bytes::from(out),
                index,
                body_start,
            },
        }
    }
}

/// Builds a response. [`Response::builder`] starts one per RFC 3261 §8.2.6.2: the Via lines,
/// From, Call-ID, CSeq and To of the request are copied (To gets a tag via
/// [`ResponseBuilder::to_tag`]); a 100 (Trying) also copies Timestamp (§8.2.6.1).
#[derive(Clone, Debug)]
pub struct ResponseBuilder {
    status: StatusCode,
    reason: Option<String>,
    lines: Lines,
}

impl ResponseBuilder {
    /// A response with no headers at all (to fill by hand).
    pub fn new(status: StatusCode) -> Self {
        Self {
            status,
            reason: None,
            lines: Lines::default(),
        }
    }

    pub(crate) fn for_request(req: &Request, status: StatusCode) -> Self {
        let raw = req.head.raw_bytes();
        // RFC 3261 §8.2.6.2: "The From field of the response MUST equal the From header field
        // of the request. The Call-ID ... MUST equal ... The CSeq ... MUST equal ... The Via
        // header field values in the response MUST equal the Via header field values in the
        // request and MUST maintain the same ordering."
        let copied = [
            HeaderName::Via,
            HeaderName::From,
            HeaderName::To,
            HeaderName::CallId,
            HeaderName::CSeq,
        ];
        let mut lines = Vec::with_capacity(LINES_CAPACITY);
        lines.extend(req.head.entries().filter_map(|e| {
            let n = HeaderName::from_kind(e.kind)?;
            (copied.contains(&n) || (n == HeaderName::Timestamp && status.0 == 100)).then_some(
                Line {
                    name: Text::Static(n.as_str()),
                    value: Text::Src(e.value),
                    kind: e.kind,
                },
            )
        }));
        Self {
            status,
            reason: None,
            lines: Lines {
                lines,
                src: raw.clone(),
                own: Vec::new(),
                body: Bytes::new(),
            },
        }
    }

    pub(crate) fn from_response(r: &Response) -> Self {
        Self {
            status: r.status,
            reason: Some(r.reason().to_owned()),
            lines: Lines::from_headers(&r.head),
        }
    }

    /// Sets the reason phrase (default: the RFC 3261 §21 phrase of the code).
    #[must_use]
    pub fn reason(mut self, reason: &str) -> Self {
        self.reason = Some(reason.replace(['\r', '\n'], " "));
        self
    }

    /// Adds `;tag=<tag>` to To unless it already has a tag (RFC 3261 §8.2.6.2: "the UAS MUST
    /// add a tag to the To header field in the response (with the exception of the 100
    /// (Trying) response ...)"). The tag comes from the caller's RNG.
    #[must_use]
    pub fn to_tag(mut self, tag: &str) -> Self {
        let kind = HeaderName::To.kind();
        let Some(i) = self.lines.lines.iter().position(|l| l.kind == kind) else {
            return self;
        };
        let Some(line) = self.lines.lines.get(i).copied() else {
            return self;
        };
        // The common case is told from the bytes: the value is copied as written (§8.2.6.2
        // asks for the request's To plus a tag, not a canonical form) with `;tag=` appended.
        match tag_state(self.lines.text(line.value)) {
            Some(true) => return self,
            Some(false) => {
                let start = self.lines.own.len();
                self.lines
                    .own
                    .reserve(self.lines.text(line.value).len() + ";tag=".len() + tag.len());
                match line.value {
                    Text::Src(span) => {
                        let value = self.lines.src.get(span.range()).unwrap_or_default();
                        self.lines.own.extend_from_slice(scan::trim_lws(value));
                    }
                    other => {
                        let value = scan::trim_lws(self.lines.text(other)).to_vec();
                        self.lines.own.extend_from_slice(&value);
                    }
                }
                self.lines.own.extend_from_slice(b";tag=");
                self.lines.own.extend_from_slice(tag.as_bytes());
                if let Some(l) = self.lines.lines.get_mut(i) {
                    l.value = Text::Own(Span::new(start, self.lines.own.len()));
                }
                return self;
            }
            None => {}
        }
        let value = match line.value {
            Text::Src(span) => self.lines.src.slice(span.range()),
            other => Bytes::copy_from_slice(self.lines.text(other)),
        };
        if let Ok(to) = To::parse(&value)
            && to.tag().is_none()
        {
            // The tag goes last: the canonical form of `to` followed by `;tag=...` is what
            // `to.set_tag(tag)` would write, without rebuilding its parameters.
            let start = self.lines.own.len();
            to.write_value(&mut self.lines.own);
            self.lines.own.extend_from_slice(b";tag=");
            self.lines.own.extend_from_slice(tag.as_bytes());
            if let Some(l) = self.lines.lines.get_mut(i) {
                l.value = Text::Own(Span::new(start, self.lines.own.len()));
            }
        }
        self
    }

    header_methods!();

    /// Serializes the response once and indexes it.
    pub fn build(self) -> Response {
        let reason = self
            .reason
            .as_deref()
            .unwrap_or(self.status.canonical_reason())
            .as_bytes();
        let mut out = Vec::with_capacity(
            "SIP/2.0 ".len() + 5 + 1 + reason.len() + 2 + self.lines.encoded_len(),
        );
        out.extend_from_slice(b"SIP/2.0 ");
        scan::put_u32(&mut out, u32::from(self.status.0));
        out.push(b' ');
        let rs = out.len();
        out.extend_from_slice(reason);
        let re = out.len();
        out.extend_from_slice(b"\r\n");
        let (index, body_start) = self.lines.write(&mut out);
        Response {
            status: self.status,
            reason: Span::new(rs, re),
            head: Headers {
                raw: Bytes::from(out),
                index,
                body_start,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_state_reads_simple_forms_only() {
        assert_eq!(tag_state(b"<sip:b@x>"), Some(false));
        assert_eq!(tag_state(b"Bob <sip:b@x;tag=uri-param>"), Some(false));
        assert_eq!(tag_state(b"<sip:b@x> ; TAG = 1"), Some(true));
        assert_eq!(tag_state(b"sip:b@x;tag=1"), Some(true));
        assert_eq!(tag_state(b"sip:b@x;tagx=1"), Some(false));
        assert_eq!(tag_state(b"\"B;tag=no\" <sip:b@x>"), None);
        assert_eq!(tag_state(b"<sip:b@x"), None);
        assert_eq!(tag_state(b"<sip:b@x>;p=<y>"), None);
    }

    fn request_with_to(to: &str) -> Request {
        let text = format!(
            "OPTIONS sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\n\
             From: <sip:a@x>;tag=f\r\nTo: {to}\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\n\r\n"
        );
        Request::parse(Bytes::from(text)).unwrap_or_else(|e| panic!("{e:?}"))
    }

    fn to_of(r: &Response) -> String {
        let to = r.headers().named(HeaderName::To).next();
        String::from_utf8_lossy(to.map(|h| h.value).unwrap_or_default()).into_owned()
    }

    /// RFC 3261 §8.2.6.2: the request's To plus a tag, once, in every form.
    #[test]
    fn to_tag_appends_once() {
        for (to, want) in [
            ("Bob <sip:b@x;tag=u>", "Bob <sip:b@x;tag=u>;tag=t9"),
            ("<sip:b@x>;tag=old", "<sip:b@x>;tag=old"),
            ("sip:b@x", "sip:b@x;tag=t9"),
            ("\"Bob B\" <sip:b@x>", "\"Bob B\" <sip:b@x>;tag=t9"),
            ("\"Bob\" <sip:b@x>;tag=old", "\"Bob\" <sip:b@x>;tag=old"),
        ] {
            let req = request_with_to(to);
            let resp = Response::builder(&req, StatusCode::OK).to_tag("t9").build();
            assert_eq!(to_of(&resp), want, "{to}");
            assert!(Response::parse(resp.to_bytes()).is_ok());
        }
    }
}
