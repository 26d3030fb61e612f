//! Owned builders: requests from scratch, responses from requests (RFC 3261 §8.2.6).

use bytes::{BufMut, Bytes, BytesMut};

use super::{Entry, Headers, Index, Method, Request, Response, Span, StatusCode};
use crate::error::BuildError;
use crate::header::{Header, HeaderName, To};
use crate::msg::scan;
use crate::uri::Uri;

/// Header lines and body being assembled.
#[derive(Clone, Debug, Default)]
struct Lines {
    headers: Vec<(Bytes, Bytes)>,
    body: Bytes,
}

impl Lines {
    fn typed<H: Header>(h: &H) -> (Bytes, Bytes) {
        (
            Bytes::from_static(H::NAME.as_str().as_bytes()),
            Bytes::from(h.to_string()),
        )
    }

    fn raw(name: &str, value: &str) -> Result<(Bytes, Bytes), BuildError> {
        if !scan::all_token(name.as_bytes()) {
            return Err(BuildError::BadHeaderName);
        }
        if value.bytes().any(|c| matches!(c, b'\r' | b'\n' | 0)) {
            return Err(BuildError::BadHeaderValue);
        }
        Ok((
            Bytes::copy_from_slice(name.as_bytes()),
            Bytes::copy_from_slice(value.as_bytes()),
        ))
    }

    fn from_headers(h: &Headers) -> Self {
        let raw = h.raw_bytes();
        let headers = h
            .entries()
            .iter()
            .filter(|e| e.kind != HeaderName::ContentLength.kind())
            .map(|e| (raw.slice(e.name().range()), raw.slice(e.value.range())))
            .collect();
        Self {
            headers,
            body: h.body_bytes(),
        }
    }

    fn is(name: &Bytes, which: HeaderName) -> bool {
        HeaderName::from_bytes(name) == Some(which)
    }

    fn remove(&mut self, which: HeaderName) {
        self.headers.retain(|(n, _)| !Self::is(n, which));
    }

    /// Writes header lines, Content-Length, the empty line and the body after `start`.
    fn write(self, mut out: BytesMut) -> (Bytes, Index, u32) {
        let mut index = Index::new();
        let cl = self.body.len().to_string();
        let cl_line = (
            Bytes::from_static(b"Content-Length"),
            Bytes::copy_from_slice(cl.as_bytes()),
        );
        let lines = self
            .headers
            .iter()
            .filter(|(n, _)| !Self::is(n, HeaderName::ContentLength))
            .chain(std::iter::once(&cl_line));
        for (name, value) in lines {
            let ns = out.len();
            out.put_slice(name);
            let ne = out.len();
            out.put_slice(b": ");
            let vs = out.len();
            // A folded value copied from a parsed message is unfolded; CR/LF/NUL cannot
            // reach the wire from a builder.
            let value = scan::trim_lws(value);
            out.extend(value.iter().map(|&c| {
                if matches!(c, b'\r' | b'\n' | 0) {
                    b' '
                } else {
                    c
                }
            }));
            let ve = out.len();
            out.put_slice(b"\r\n");
            index.push(Entry::new(
                Span::new(ns, ne),
                Span::new(vs, ve),
                HeaderName::from_bytes(name).map_or(0, HeaderName::kind),
            ));
        }
        out.put_slice(b"\r\n");
        let body_start = Span::new(out.len(), out.len()).start;
        out.put_slice(&self.body);
        (out.freeze(), index, body_start)
    }
}

macro_rules! header_methods {
    () => {
        /// Appends a typed header line.
        #[must_use]
        pub fn header<H: Header>(mut self, h: H) -> Self {
            self.lines.headers.push(Lines::typed(&h));
            self
        }

        /// Appends a typed header line (in place).
        pub fn push_header<H: Header>(&mut self, h: H) -> &mut Self {
            self.lines.headers.push(Lines::typed(&h));
            self
        }

        /// Inserts a typed header line before all others (e.g. a proxy's Via, §16.6).
        pub fn prepend_header<H: Header>(&mut self, h: H) -> &mut Self {
            self.lines.headers.insert(0, Lines::typed(&h));
            self
        }

        /// Replaces every line of `H` with one line holding `h`, in the place of the first.
        pub fn set_header<H: Header>(&mut self, h: H) -> &mut Self {
            let line = Lines::typed(&h);
            match self
                .lines
                .headers
                .iter()
                .position(|(n, _)| Lines::is(n, H::NAME))
            {
                Some(i) => {
                    self.lines.remove(H::NAME);
                    self.lines
                        .headers
                        .insert(i.min(self.lines.headers.len()), line);
                }
                None => self.lines.headers.push(line),
            }
            self
        }

        /// Appends an extension (or any) header line verbatim.
        ///
        /// # Errors
        /// [`BuildError`] when the name is not a token or the value holds CR, LF or NUL.
        pub fn raw_header(mut self, name: &str, value: &str) -> Result<Self, BuildError> {
            self.lines.headers.push(Lines::raw(name, value)?);
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
                None => self
                    .lines
                    .headers
                    .retain(|(n, _)| !n.eq_ignore_ascii_case(name.as_bytes())),
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
        let mut out = BytesMut::with_capacity(256 + self.lines.body.len());
        out.put_slice(self.method.as_str().as_bytes());
        out.put_u8(b' ');
        let us = out.len();
        out.put_slice(self.uri.as_bytes());
        let ue = out.len();
        out.put_slice(b" SIP/2.0\r\n");
        let (raw, index, body_start) = self.lines.write(out);
        let method = Method::from_shared(&raw, raw.get(..us.saturating_sub(1)).unwrap_or_default());
        let uri_parts = crate::uri::UriParts::parse(raw.get(us..ue).unwrap_or_default(), false)
            .unwrap_or_default();
        Request {
            method,
            uri: Span::new(us, ue),
            uri_parts,
            head: Headers {
                raw,
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
        let headers = req
            .head
            .entries()
            .iter()
            .filter(|e| {
                HeaderName::from_kind(e.kind).is_some_and(|n| {
                    copied.contains(&n) || (n == HeaderName::Timestamp && status.0 == 100)
                })
            })
            .map(|e| {
                let name = HeaderName::from_kind(e.kind).map_or("", HeaderName::as_str);
                (
                    Bytes::from_static(name.as_bytes()),
                    raw.slice(e.value.range()),
                )
            })
            .collect();
        Self {
            status,
            reason: None,
            lines: Lines {
                headers,
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
        for (name, value) in &mut self.lines.headers {
            if Lines::is(name, HeaderName::To) {
                if let Ok(mut to) = To::parse(value)
                    && to.tag().is_none()
                {
                    to.set_tag(tag);
                    *value = Bytes::from(to.to_string());
                }
                break;
            }
        }
        self
    }

    header_methods!();

    /// Serializes the response once and indexes it.
    pub fn build(self) -> Response {
        let mut out = BytesMut::with_capacity(256 + self.lines.body.len());
        out.put_slice(b"SIP/2.0 ");
        out.put_slice(self.status.0.to_string().as_bytes());
        out.put_u8(b' ');
        let rs = out.len();
        out.put_slice(
            self.reason
                .as_deref()
                .unwrap_or(self.status.canonical_reason())
                .as_bytes(),
        );
        let re = out.len();
        out.put_slice(b"\r\n");
        let (raw, index, body_start) = self.lines.write(out);
        Response {
            status: self.status,
            reason: Span::new(rs, re),
            head: Headers {
                raw,
                index,
                body_start,
            },
        }
    }
}
