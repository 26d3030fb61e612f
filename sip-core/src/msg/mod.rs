//! SIP messages (RFC 3261 §7): zero-copy views over received bytes and owned builders.
//!
//! [`Message::parse`] makes one pass over the bytes: it checks the start line, records where
//! every header name and value lies (in a small inline array, no allocation for up to
//! [`INLINE_HEADERS`] headers), reads Content-Length and delimits the body. Header values are
//! typed only when asked ([`Request::header`]). [`Message::validate`] adds the checks of RFC
//! 3261 §8.2 (mandatory and single-instance headers, every known header against its grammar,
//! CSeq method), which a UAS runs before it hands a request to the transaction user.
//!
//! The hot path is hand-written rather than nom: it is one loop over line ends (found eight
//! bytes at a time) and it needs exact byte offsets for the error it reports.

mod builder;
mod method;
mod parse;
pub(crate) mod scan;
mod status;

use std::fmt;

use bytes::Bytes;

use crate::error::ParseError;
use crate::header::{self, Header, HeaderName};
use crate::uri::{Uri, UriParts};

pub use builder::{RequestBuilder, ResponseBuilder};
pub use method::Method;
pub use status::StatusCode;

/// Headers a message indexes without allocating; more spill to the heap.
///
/// 25 covers the usual request and response (an INVITE from a UA has 10-14 header lines)
/// and the longer ones: proxied and carrier INVITEs, IMS REGISTERs and some 183s carry 16-25
/// header lines (every one of the 55 real and vendor-style messages in sip-core/tests/data
/// has at most 25). A [`Request`] (and so a [`Message`]) stays at 256 bytes on x86-64: a
/// message is moved by value several times on its way through the transaction layer
/// (parsed, handed to the endpoint, queued, handed out in an event), and glibc copies up to
/// 256 bytes in one straight run but takes its loop above that (callgrind: ~64 instructions
/// a move at 320 bytes, ~29 at 256). What makes room: an inline line takes 6 bytes (the
/// name's length is read from the buffer when asked, see `Entry::name`) and a [`Method`]
/// 16 (an extension token is boxed).
pub const INLINE_HEADERS: usize = 25;

/// Limits applied while parsing; exceeding one is an error, never a truncation.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct ParseLimits {
    /// Largest whole message in bytes (start line + headers + body). Default 65 535, the
    /// largest UDP payload.
    pub max_message: usize,
    /// Most header lines. Default 128.
    pub max_headers: usize,
    /// Longest start line or header line incl. folded continuations. Default 8 192.
    pub max_header_line: usize,
    /// Largest body announced by Content-Length. Default 65 535.
    pub max_body: usize,
}

impl Default for ParseLimits {
    fn default() -> Self {
        Self {
            max_message: 65_535,
            max_headers: 128,
            max_header_line: 8_192,
            max_body: 65_535,
        }
    }
}

/// A SIP request or response.
#[derive(Clone, Debug, Eq, PartialEq)]
pub enum Message {
    /// A request.
    Request(Request),
    /// A response.
    Response(Response),
}

impl Message {
    /// Parses one message from a datagram with the default [`ParseLimits`].
    ///
    /// Leading CRLFs are skipped (RFC 3261 §7.5). Octets after the body that Content-Length
    /// delimits are discarded (RFC 3261 §18.3); without Content-Length the body is the rest
    /// of the datagram. A datagram that ends right after its last header line (no empty line)
    /// is accepted with an empty body.
    ///
    /// This checks the start line, the header line syntax and Content-Length; header values
    /// are checked when typed or by [`Message::validate`].
    ///
    /// # Errors
    /// A [`ParseError`] saying what is wrong and where; [`ParseError::status_code`] is the
    /// answer to a request that fails.
    pub fn parse(bytes: Bytes) -> Result<Self, ParseError> {
        Self::parse_with(bytes, &ParseLimits::default())
    }

    /// [`Message::parse`] with explicit limits.
    ///
    /// # Errors
    /// As [`Message::parse`], plus [`ParseError::TooLarge`] when a limit is exceeded.
    pub fn parse_with(bytes: Bytes, limits: &ParseLimits) -> Result<Self, ParseError> {
        parse::parse(bytes, limits, true)
    }

    /// Parses one complete message cut out of a stream by [`Framer`](crate::Framer): the
    /// body must be exactly as long as Content-Length says.
    ///
    /// # Errors
    /// As [`Message::parse`].
    pub fn parse_stream(bytes: Bytes, limits: &ParseLimits) -> Result<Self, ParseError> {
        parse::parse(bytes, limits, false)
    }

    /// Full RFC 3261 §8.2 check: mandatory headers (Via, From, To, Call-ID, CSeq), single
    /// instance of To/From/Call-ID/CSeq/Max-Forwards/Content-Type, every known header value
    /// against its grammar, and the CSeq method equal to the request method.
    ///
    /// # Errors
    /// The first failure found.
    pub fn validate(&self) -> Result<(), ParseError> {
        match self {
            Self::Request(r) => r.validate(),
            Self::Response(r) => r.validate(),
        }
    }

    /// The headers of either kind of message.
    pub fn headers(&self) -> &Headers {
        match self {
            Self::Request(r) => &r.head,
            Self::Response(r) => &r.head,
        }
    }

    /// The first value of header `H`, typed; `None` when absent.
    pub fn header<H: Header>(&self) -> Option<Result<H, header::HeaderError>> {
        self.headers().get::<H>()
    }

    /// The message body (possibly empty).
    pub fn body(&self) -> &[u8] {
        self.headers().body()
    }

    /// The message as bytes; byte-exact with the input for a parsed message.
    pub fn to_bytes(&self) -> Bytes {
        self.headers().raw.clone()
    }

    /// The message body as shared bytes.
    pub fn body_bytes(&self) -> Bytes {
        self.headers().body_bytes()
    }

    /// The request, if this is one.
    pub fn as_request(&self) -> Option<&Request> {
        match self {
            Self::Request(r) => Some(r),
            Self::Response(_) => None,
        }
    }

    /// The response, if this is one.
    pub fn as_response(&self) -> Option<&Response> {
        match self {
            Self::Response(r) => Some(r),
            Self::Request(_) => None,
        }
    }
}

impl From<Request> for Message {
    fn from(r: Request) -> Self {
        Self::Request(r)
    }
}

impl From<Response> for Message {
    fn from(r: Response) -> Self {
        Self::Response(r)
    }
}

/// The accessors [`Request`] and [`Response`] share, all answered by their [`Headers`]
/// (`self.head`): written once here.
macro_rules! head_accessors {
    ($what:literal) => {
        /// The header section.
        pub fn headers(&self) -> &Headers {
            &self.head
        }

        /// The first value of header `H`, typed; `None` when absent. For list headers (Via,
        /// Contact, Route, ...) this is the first element of the first line.
        pub fn header<H: Header>(&self) -> Option<Result<H, header::HeaderError>> {
            self.head.get::<H>()
        }

        /// Every value of header `H` in order, across lines and comma-separated elements.
        pub fn header_all<H: Header>(&self) -> header::TypedIter<'_, H> {
            self.head.get_all::<H>()
        }

        /// The body (possibly empty).
        pub fn body(&self) -> &[u8] {
            self.head.body()
        }

        /// The body as shared bytes.
        pub fn body_bytes(&self) -> Bytes {
            self.head.body_bytes()
        }

        #[doc = concat!("The serialized ", $what, "; byte-exact with the input for a parsed ", $what, ".")]
        pub fn to_bytes(&self) -> Bytes {
            self.head.raw.clone()
        }
    };
}

// A request moves in glibc's straight-line copy of up to 256 bytes (see `INLINE_HEADERS`);
// a field that makes it larger fails the build here.
#[cfg(target_pointer_width = "64")]
const _: () = assert!(size_of::<Request>() <= 256);

/// A SIP request: method, Request-URI, headers and body over one buffer.
#[derive(Clone, Eq, PartialEq)]
pub struct Request {
    method: Method,
    uri: Span,
    uri_parts: UriParts,
    head: Headers,
}

impl Request {
    /// Starts an owned request; see [`RequestBuilder`].
    #[inline]
    pub fn builder(method: Method, uri: Uri) -> RequestBuilder {
        RequestBuilder::new(method, uri)
    }

    /// Parses a datagram that must hold a request.
    ///
    /// # Errors
    /// As [`Message::parse`]; a response gives [`ParseError::BadStartLine`] at 0.
    pub fn parse(bytes: Bytes) -> Result<Self, ParseError> {
        match Message::parse(bytes)? {
            Message::Request(r) => Ok(r),
            Message::Response(_) => Err(ParseError::BadStartLine { at: 0 }),
        }
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The Request-URI (checked while parsing; this slices it out of the buffer).
    pub fn uri(&self) -> Uri {
        Uri::from_parts(self.head.raw.slice(self.uri.range()), self.uri_parts)
    }

    /// The Request-URI as written.
    pub fn uri_str(&self) -> &str {
        scan::as_str(self.head.slice(self.uri))
    }

    head_accessors!("request");

    /// An owned builder holding this request's start line, headers and body, to modify and
    /// rebuild (e.g. a proxy adding a Via).
    pub fn to_builder(&self) -> RequestBuilder {
        RequestBuilder::from_request(self)
    }

    /// See [`Message::validate`].
    ///
    /// # Errors
    /// The first failure found.
    pub fn validate(&self) -> Result<(), ParseError> {
        self.head.validate_common()?;
        let cseq = self
            .head
            .validated_single::<header::CSeq>()?
            .ok_or(ParseError::MissingHeader(HeaderName::CSeq))?;
        if cseq.method() != &self.method {
            return Err(ParseError::CSeqMethodMismatch);
        }
        Ok(())
    }
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("uri", &self.uri_str())
            .field("headers", &self.head)
            .finish()
    }
}

/// A SIP response: status, reason, headers and body over one buffer.
#[derive(Clone, Eq, PartialEq)]
pub struct Response {
    status: StatusCode,
    reason: Span,
    head: Headers,
}

impl Response {
    /// Starts a response to `request` per RFC 3261 §8.2.6; see [`ResponseBuilder`].
    #[inline]
    pub fn builder(request: &Request, status: StatusCode) -> ResponseBuilder {
        ResponseBuilder::for_request(request, status)
    }

    /// Parses a datagram that must hold a response.
    ///
    /// # Errors
    /// As [`Message::parse`]; a request gives [`ParseError::BadStartLine`] at 0.
    pub fn parse(bytes: Bytes) -> Result<Self, ParseError> {
        match Message::parse(bytes)? {
            Message::Response(r) => Ok(r),
            Message::Request(_) => Err(ParseError::BadStartLine { at: 0 }),
        }
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The reason phrase (UTF-8, possibly empty).
    pub fn reason(&self) -> &str {
        scan::as_str(self.head.slice(self.reason))
    }

    head_accessors!("response");

    /// An owned builder holding this response, to modify and rebuild.
    pub fn to_builder(&self) -> ResponseBuilder {
        ResponseBuilder::from_response(self)
    }

    /// See [`Message::validate`].
    ///
    /// # Errors
    /// The first failure found.
    pub fn validate(&self) -> Result<(), ParseError> {
        self.head.validate_common()?;
        self.head
            .validated_single::<header::CSeq>()?
            .ok_or(ParseError::MissingHeader(HeaderName::CSeq))?;
        Ok(())
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("reason", &self.reason())
            .field("headers", &self.head)
            .finish()
    }
}

/// A byte range in the message buffer.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub(crate) struct Span {
    pub(crate) start: u32,
    pub(crate) end: u32,
}

impl Span {
    pub(crate) fn new(start: usize, end: usize) -> Self {
        // Messages are limited far below 4 GiB (ParseLimits, builder); saturate anyway.
        let clamp = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
        Self {
            start: clamp(start),
            end: clamp(end),
        }
    }

    pub(crate) fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// One indexed header line, as the crate reads it: where the name and the value lie and
/// which well-known header it is.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub(crate) struct Entry {
    name_start: u32,
    pub(crate) value: Span,
    /// `HeaderName` discriminant + 1, or 0 for an extension header.
    pub(crate) kind: u8,
}

impl Entry {
    /// Where the name lies in `raw`, the buffer the line indexes. The index keeps where a
    /// name starts, not its length: a name is a token and ends at the first byte that is
    /// not a token character (the colon or the whitespace before it), which every line the
    /// parser or a builder indexes has before its value.
    pub(crate) fn name(&self, raw: &[u8]) -> Span {
        let start = self.name_start as usize;
        let line = raw
            .get(start..self.value.start as usize)
            .unwrap_or_default();
        Span::new(start, start + scan::token_len(line))
    }
}

/// One indexed header line as stored inline: 6 bytes, offsets into the first 64 KiB of the
/// message (the header section of every message within the default limits), a value that
/// starts at most 255 bytes after its name (the name, the colon and the whitespace around
/// it). A line that does not fit moves the whole index to [`Entry`]s on the heap.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub(crate) struct Slot {
    value_start: u16,
    value_end: u16,
    /// `value_start` less the name's start.
    name_off: u8,
    kind: u8,
}

impl Slot {
    #[inline]
    fn entry(self) -> Entry {
        Entry {
            name_start: u32::from(self.name_start()),
            value: Span {
                start: u32::from(self.value_start),
                end: u32::from(self.value_end),
            },
            kind: self.kind,
        }
    }

    /// Where the name starts (`name_off` before the value, which [`Index::push`] checked:
    /// the subtraction does not wrap).
    #[inline]
    fn name_start(self) -> u16 {
        self.value_start.wrapping_sub(u16::from(self.name_off))
    }
}

/// The header index: up to [`INLINE_HEADERS`] 6-byte slots inline (25 of them: 150 bytes),
/// else 16-byte entries on the heap.
#[derive(Clone, Debug, Eq, PartialEq)]
enum Index {
    Inline {
        len: u8,
        items: [Slot; INLINE_HEADERS],
    },
    Heap(Vec<Entry>),
}

impl Index {
    fn new() -> Self {
        Self::Inline {
            len: 0,
            items: [Slot::default(); INLINE_HEADERS],
        }
    }

    /// Appends a line: name from `name_start` (a token; see [`Entry::name`]), value at
    /// `value_start..value_end`, `kind` as in [`Entry::kind`].
    #[inline]
    fn push(&mut self, name_start: usize, value_start: usize, value_end: usize, kind: u8) {
        // a name starts before its value: `off` wraps to a huge value only if it does not
        let off = value_start.wrapping_sub(name_start);
        // the two offsets fit 16 bits iff their OR does: one compare
        if let Self::Inline { len, items } = self
            && let Some(slot) = items.get_mut(usize::from(*len))
            && (value_end | value_start) <= usize::from(u16::MAX)
            && off <= usize::from(u8::MAX)
        {
            // the test above: no truncation
            *slot = Slot {
                value_start: value_start as u16,
                value_end: value_end as u16,
                name_off: off as u8,
                kind,
            };
            *len += 1;
            return;
        }
        self.push_slow(Entry {
            name_start: Span::new(name_start, name_start).start,
            value: Span::new(value_start, value_end),
            kind,
        });
    }

    #[cold]
    #[inline(never)]
    fn push_slow(&mut self, e: Entry) {
        match self {
            Self::Inline { len, items } => {
                let mut v = Vec::with_capacity(INLINE_HEADERS * 2);
                v.extend(
                    items
                        .get(..usize::from(*len))
                        .unwrap_or_default()
                        .iter()
                        .map(|s| s.entry()),
                );
                v.push(e);
                *self = Self::Heap(v);
            }
            Self::Heap(v) => v.push(e),
        }
    }

    /// Makes line `i`'s value `add` bytes longer and moves every later line by as much (a
    /// builder inserted `add` bytes at the end of that value).
    fn widen(&mut self, i: usize, add: usize) {
        if let Self::Inline { len, items } = self {
            let items = items.get_mut(..usize::from(*len)).unwrap_or_default();
            // the last line ends furthest: when it still fits 16 bits, every line does
            if let Ok(add) = u16::try_from(add)
                && items
                    .last()
                    .is_some_and(|s| s.value_end.checked_add(add).is_some())
            {
                for (j, s) in items.iter_mut().enumerate().skip(i) {
                    if j > i {
                        s.value_start += add;
                    }
                    s.value_end += add;
                }
                return;
            }
            *self = Self::Heap(self.iter().collect());
        }
        if let Self::Heap(v) = self {
            let add = Span::new(add, add).start;
            for (j, e) in v.iter_mut().enumerate().skip(i) {
                if j > i {
                    e.name_start = e.name_start.saturating_add(add);
                    e.value.start = e.value.start.saturating_add(add);
                }
                e.value.end = e.value.end.saturating_add(add);
            }
        }
    }

    fn len(&self) -> usize {
        match self {
            Self::Inline { len, .. } => usize::from(*len),
            Self::Heap(v) => v.len(),
        }
    }

    fn iter(&self) -> Entries<'_> {
        match self {
            Self::Inline { len, items } => {
                Entries::Inline(items.get(..usize::from(*len)).unwrap_or_default().iter())
            }
            Self::Heap(v) => Entries::Heap(v.iter()),
        }
    }

    /// The value of the first line of each of `kinds` (well-known kinds, all below 64), in
    /// one pass over the lines that stops once all are found.
    #[inline]
    fn first_values<const N: usize>(&self, kinds: [u8; N]) -> [Option<Span>; N] {
        match self {
            // the inline slots are read as they are: a line of another kind costs a byte
            // load and a bit test, no `Entry` is made for it
            Self::Inline { len, items } => first_of(
                items.get(..usize::from(*len)).unwrap_or_default(),
                kinds,
                |s| s.kind,
                |s| s.entry().value,
            ),
            Self::Heap(v) => first_of(v, kinds, |e| e.kind, |e| e.value),
        }
    }

    /// The first line of `kind` at or after line `from`, with its position.
    #[inline]
    fn find(&self, from: usize, kind: u8) -> Option<(usize, Entry)> {
        match self {
            Self::Inline { len, items } => {
                let items = items.get(..usize::from(*len))?;
                let i = from + items.get(from..)?.iter().position(|s| s.kind == kind)?;
                Some((i, items.get(i)?.entry()))
            }
            Self::Heap(v) => {
                let i = from + v.get(from..)?.iter().position(|e| e.kind == kind)?;
                Some((i, *v.get(i)?))
            }
        }
    }
}

/// [`Index::first_values`] over either form of line.
#[inline(always)]
fn first_of<T, const N: usize>(
    lines: &[T],
    kinds: [u8; N],
    kind_of: impl Fn(&T) -> u8,
    value_of: impl Fn(&T) -> Span,
) -> [Option<Span>; N] {
    let mut found = [None; N];
    let mut missing = N;
    // one bit per wanted kind: every other line is passed over with one test
    let wanted = kinds.iter().fold(0u64, |set, &k| {
        set | 1u64.checked_shl(u32::from(k)).unwrap_or(0)
    });
    for line in lines {
        let kind = kind_of(line);
        if wanted.checked_shr(u32::from(kind)).unwrap_or(0) & 1 == 0 {
            continue;
        }
        if let Some(i) = kinds.iter().position(|&k| k == kind)
            && let Some(slot @ None) = found.get_mut(i)
        {
            *slot = Some(value_of(line));
            missing -= 1;
            if missing == 0 {
                break;
            }
        }
    }
    found
}

/// The lines of an [`Index`] in order.
#[derive(Clone, Debug)]
pub(crate) enum Entries<'a> {
    Inline(std::slice::Iter<'a, Slot>),
    Heap(std::slice::Iter<'a, Entry>),
}

impl Iterator for Entries<'_> {
    type Item = Entry;

    #[inline]
    fn next(&mut self) -> Option<Entry> {
        match self {
            Self::Inline(it) => it.next().map(|s| s.entry()),
            Self::Heap(it) => it.next().copied(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            Self::Inline(it) => it.size_hint(),
            Self::Heap(it) => it.size_hint(),
        }
    }
}

impl ExactSizeIterator for Entries<'_> {}

/// The header section of a message and the buffer it indexes.
///
/// Iterating gives every header line in order as a [`RawHeader`] (name as written, value
/// with surrounding whitespace removed, folding kept).
#[derive(Clone)]
pub struct Headers {
    raw: Bytes,
    index: Index,
    body_start: u32,
    /// Where the branch of the top Via is in `raw` (start, length), when the builder wrote
    /// that Via in its plain form ([`RequestBuilder::push_via`]); `[0, 0]` otherwise (every
    /// parsed message). The transaction layer takes a client key from it instead of scanning
    /// the Via the builder has just written. Held in the padding after `body_start`, so a
    /// message is no larger; not part of equality (a built message equals its parse).
    built_branch: [u16; 2],
}

impl PartialEq for Headers {
    fn eq(&self, other: &Self) -> bool {
        let Self {
            raw,
            index,
            body_start,
            built_branch: _,
        } = self;
        *raw == other.raw && *index == other.index && *body_start == other.body_start
    }
}

impl Eq for Headers {}

impl Headers {
    /// No buffer, no lines: what the parser fills.
    fn empty() -> Self {
        Self {
            raw: Bytes::new(),
            index: Index::new(),
            body_start: 0,
            built_branch: [0, 0],
        }
    }

    /// The branch of the top Via as the builder wrote it (see `built_branch`); `None` for a
    /// parsed message or any other Via. The same bytes a scan of the top Via reads as its
    /// branch (`transaction::wire` tests).
    #[inline]
    pub(crate) fn built_via_branch(&self) -> Option<&[u8]> {
        let [start, len] = self.built_branch;
        if len == 0 {
            return None;
        }
        let start = usize::from(start);
        self.raw.get(start..start + usize::from(len))
    }

    /// Number of header lines.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether there are no header lines.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every header line in order.
    pub fn iter(&self) -> RawHeaders<'_> {
        RawHeaders {
            headers: self,
            inner: self.index.iter(),
        }
    }

    /// The lines of one well-known header, in order.
    pub fn named(&self, name: HeaderName) -> impl Iterator<Item = RawHeader<'_>> + '_ {
        let kind = name.kind();
        self.iter().filter(move |h| h.kind == kind)
    }

    /// The lines whose name equals `name` (case-insensitive, compact forms included for
    /// well-known names).
    pub fn named_str<'a>(&'a self, name: &'a str) -> impl Iterator<Item = RawHeader<'a>> + 'a {
        let known = HeaderName::from_bytes(name.as_bytes());
        self.iter().filter(move |h| match known {
            Some(k) => h.kind == k.kind(),
            None => h.name.eq_ignore_ascii_case(name),
        })
    }

    /// Whether a line of `name` is present.
    pub fn contains(&self, name: HeaderName) -> bool {
        let kind = name.kind();
        self.index.find(0, kind).is_some()
    }

    /// The first value of `H`, typed; `None` when absent.
    #[inline]
    pub fn get<H: Header>(&self) -> Option<Result<H, header::HeaderError>> {
        let kind = H::NAME.kind();
        let (_, entry) = self.index.find(0, kind)?;
        let value = self.raw.slice(entry.value.range());
        if H::MULTI && scan::find_byte(&value, b',').is_some() {
            let first = header::split_list(&value).next()?;
            Some(first.and_then(|v| H::parse(&value.slice_ref(v))))
        } else {
            Some(H::parse(&value))
        }
    }

    /// Every value of `H` in order (lines, then comma-separated elements for list headers).
    pub fn get_all<H: Header>(&self) -> header::TypedIter<'_, H> {
        header::TypedIter::new(self)
    }

    /// The body (possibly empty).
    pub fn body(&self) -> &[u8] {
        self.raw.get(self.body_start as usize..).unwrap_or_default()
    }

    pub(crate) fn body_bytes(&self) -> Bytes {
        self.raw.slice(self.body_start as usize..)
    }

    pub(crate) fn raw_bytes(&self) -> &Bytes {
        &self.raw
    }

    pub(crate) fn slice(&self, span: Span) -> &[u8] {
        self.raw.get(span.range()).unwrap_or_default()
    }

    /// Every indexed line in order.
    pub(crate) fn entries(&self) -> Entries<'_> {
        self.index.iter()
    }

    /// The value of the first line of each of `names` (as [`Headers::named`] gives it
    /// first), in one pass over the index that stops once all are found.
    #[inline]
    pub(crate) fn first_values<const N: usize>(
        &self,
        names: [HeaderName; N],
    ) -> [Option<&[u8]>; N] {
        self.index
            .first_values(names.map(HeaderName::kind))
            .map(|v| v.map(|span| self.slice(span)))
    }

    /// The first line of `name` at or after line `from`, with its position.
    pub(crate) fn find_entry(&self, from: usize, name: HeaderName) -> Option<(usize, Entry)> {
        self.index.find(from, name.kind())
    }

    fn validate_common(&self) -> Result<(), ParseError> {
        for name in [
            HeaderName::Via,
            HeaderName::From,
            HeaderName::To,
            HeaderName::CallId,
        ] {
            if !self.contains(name) {
                return Err(ParseError::MissingHeader(name));
            }
        }
        for name in [
            HeaderName::From,
            HeaderName::To,
            HeaderName::CallId,
            HeaderName::CSeq,
            HeaderName::MaxForwards,
            HeaderName::ContentType,
        ] {
            if self.named(name).nth(1).is_some() {
                return Err(ParseError::DuplicateHeader(name));
            }
        }
        for e in self.entries() {
            let Some(name) = HeaderName::from_kind(e.kind) else {
                continue;
            };
            let value = self.raw.slice(e.value.range());
            header::check_value(name, &value).map_err(|(at, error)| ParseError::BadHeader {
                name,
                at: e.value.start as usize + at,
                error,
            })?;
        }
        Ok(())
    }

    fn validated_single<H: Header>(&self) -> Result<Option<H>, ParseError> {
        match self.get::<H>() {
            None => Ok(None),
            Some(Ok(h)) => Ok(Some(h)),
            Some(Err(error)) => {
                let at = self
                    .named(H::NAME)
                    .next()
                    .map_or(0, |h| scan::offset_in(&self.raw, h.value));
                Err(ParseError::BadHeader {
                    name: H::NAME,
                    at,
                    error,
                })
            }
        }
    }
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for &'a Headers {
    type Item = RawHeader<'a>;
    type IntoIter = RawHeaders<'a>;
    fn into_iter(self) -> RawHeaders<'a> {
        self.iter()
    }
}

/// One header line as received.
#[derive(Clone, Copy, Eq, PartialEq)]
pub struct RawHeader<'a> {
    /// The name as written (may be a compact form, any case).
    pub name: &'a str,
    /// The value without surrounding whitespace; folded lines keep their CRLF.
    pub value: &'a [u8],
    kind: u8,
}

impl<'a> RawHeader<'a> {
    /// The well-known header this line is, if any (compact forms resolved).
    pub fn header_name(&self) -> Option<HeaderName> {
        HeaderName::from_kind(self.kind)
    }

    /// The value as text, if it is UTF-8.
    pub fn value_str(&self) -> Option<&'a str> {
        std::str::from_utf8(self.value).ok()
    }
}

impl fmt::Debug for RawHeader<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.name, String::from_utf8_lossy(self.value))
    }
}

/// Iterator over the header lines of a message.
#[derive(Clone, Debug)]
pub struct RawHeaders<'a> {
    headers: &'a Headers,
    inner: Entries<'a>,
}

impl<'a> Iterator for RawHeaders<'a> {
    type Item = RawHeader<'a>;
    fn next(&mut self) -> Option<RawHeader<'a>> {
        let e = self.inner.next()?;
        Some(RawHeader {
            name: scan::as_str(self.headers.slice(e.name(&self.headers.raw))),
            value: self.headers.slice(e.value),
            kind: e.kind,
        })
    }
}
