//! Errors of the message layer: what went wrong, where, and which status code answers it.

use crate::header::HeaderName;
use crate::msg::StatusCode;

/// Which configurable limit of [`ParseLimits`](crate::ParseLimits) a message exceeded.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub enum Limit {
    /// `max_message`: the whole message (start line, headers and body).
    Message,
    /// `max_headers`: the number of header lines.
    Headers,
    /// `max_header_line`: one start line or header line, including folded continuations.
    HeaderLine,
    /// `max_body`: the body announced by Content-Length.
    Body,
}

impl std::fmt::Display for Limit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Message => "message size",
            Self::Headers => "header count",
            Self::HeaderLine => "line length",
            Self::Body => "body size",
        })
    }
}

/// Why a received message was rejected (RFC 3261 §7, §8.2, §18.3, §25).
///
/// Every variant says what was wrong and, where it has one, the byte offset in the message.
/// [`ParseError::status_code`] gives the status a UAS or proxy answers a request with.
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The input ends before the message does (no start line, no end of header section).
    #[error("message is incomplete")]
    Incomplete,
    /// A configured limit was exceeded.
    #[error("{limit} exceeds the limit of {max}")]
    TooLarge {
        /// Which limit.
        limit: Limit,
        /// The configured maximum.
        max: usize,
    },
    /// The start line is not a Request-Line or Status-Line.
    #[error("malformed start line at byte {at}")]
    BadStartLine {
        /// Byte offset of the offending character.
        at: usize,
    },
    /// The method token contains a character outside RFC 3261 `token`.
    #[error("malformed method at byte {at}")]
    BadMethod {
        /// Byte offset.
        at: usize,
    },
    /// The Request-URI is not an absolute URI (or a SIP URI with forbidden parts).
    #[error("malformed request-uri at byte {at}")]
    BadRequestUri {
        /// Byte offset of the Request-URI.
        at: usize,
    },
    /// The SIP-Version is well formed but not `SIP/2.0` (answered with 505).
    #[error("unsupported sip version")]
    UnsupportedVersion,
    /// The Status-Code is not three digits in 100..=699.
    #[error("status code out of range at byte {at}")]
    BadStatusCode {
        /// Byte offset.
        at: usize,
    },
    /// The Reason-Phrase is not UTF-8 text.
    #[error("reason phrase is not utf-8 at byte {at}")]
    BadReason {
        /// Byte offset.
        at: usize,
    },
    /// A header line has no colon or an invalid header name.
    #[error("malformed header line at byte {at}")]
    BadHeaderLine {
        /// Byte offset of the line.
        at: usize,
    },
    /// A header value does not follow its grammar.
    #[error("malformed {name} header at byte {at}: {error}")]
    BadHeader {
        /// The header.
        name: HeaderName,
        /// Byte offset of the header value.
        at: usize,
        /// What was wrong with it.
        error: HeaderError,
    },
    /// A header that a request or response must carry is missing (RFC 3261 §8.1.1).
    #[error("missing {0} header")]
    MissingHeader(HeaderName),
    /// A header that allows a single value appears more than once (RFC 3261 §7.3.1).
    #[error("more than one {0} header")]
    DuplicateHeader(HeaderName),
    /// Content-Length announces more bytes than the datagram holds (RFC 3261 §18.3).
    #[error("content-length {declared} but only {available} body bytes")]
    BodyTruncated {
        /// The announced length.
        declared: usize,
        /// The bytes present.
        available: usize,
    },
    /// The CSeq method differs from the Request-Line method (RFC 3261 §8.1.1.5).
    #[error("cseq method differs from the request method")]
    CSeqMethodMismatch,
}

impl ParseError {
    /// The status code a UAS or proxy answers a request with when it fails this way.
    ///
    /// 505 for an unsupported version, 513 for a message over the size limit, 413 for a body
    /// over the body limit, 400 otherwise. (A Request-URI with a scheme the UA does not serve
    /// parses fine, as RFC 4475 §3.3.2 wants; the UA answers 416 after looking at
    /// [`Uri::scheme`](crate::Uri::scheme).)
    pub fn status_code(&self) -> StatusCode {
        match self {
            Self::UnsupportedVersion => StatusCode::VERSION_NOT_SUPPORTED,
            Self::TooLarge {
                limit: Limit::Message,
                ..
            } => StatusCode::MESSAGE_TOO_LARGE,
            Self::TooLarge {
                limit: Limit::Body, ..
            } => StatusCode::REQUEST_ENTITY_TOO_LARGE,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

/// Why a header value failed its grammar (RFC 3261 §25). Offsets are relative to the value.
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderError {
    /// The value is empty where the grammar needs something.
    #[error("empty value")]
    Empty,
    /// An unexpected character.
    #[error("unexpected character at {at}")]
    Unexpected {
        /// Offset in the value.
        at: usize,
    },
    /// A number is missing, not decimal or out of its range.
    #[error("number out of range at {at}")]
    BadNumber {
        /// Offset in the value.
        at: usize,
    },
    /// A quoted string is not terminated.
    #[error("unterminated quoted string at {at}")]
    UnterminatedQuote {
        /// Offset of the opening quote.
        at: usize,
    },
    /// A URI inside the value is malformed.
    #[error("malformed uri: {0}")]
    Uri(#[from] UriError),
    /// A parameter is empty or malformed (`;;`, `;=x`).
    #[error("malformed parameter at {at}")]
    BadParam {
        /// Offset in the value.
        at: usize,
    },
    /// The value is well formed but not allowed here (e.g. a Date outside GMT).
    #[error("value not allowed: {0}")]
    NotAllowed(&'static str),
}

/// Why a URI failed RFC 3261 §19.1 / RFC 3966 grammar. Offsets are relative to the URI.
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum UriError {
    /// No `scheme:` prefix.
    #[error("missing scheme")]
    MissingScheme,
    /// The host is missing or malformed.
    #[error("malformed host at {at}")]
    BadHost {
        /// Offset in the URI.
        at: usize,
    },
    /// The port is not a decimal number below 65536.
    #[error("malformed port at {at}")]
    BadPort {
        /// Offset in the URI.
        at: usize,
    },
    /// A `%` escape is not followed by two hex digits.
    #[error("malformed escape at {at}")]
    BadEscape {
        /// Offset in the URI.
        at: usize,
    },
    /// A character not allowed at this place.
    #[error("unexpected character at {at}")]
    Unexpected {
        /// Offset in the URI.
        at: usize,
    },
    /// A parameter is empty or malformed.
    #[error("malformed parameter at {at}")]
    BadParam {
        /// Offset in the URI.
        at: usize,
    },
}

/// Why a byte stream could not be framed into messages (RFC 3261 §18.3).
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// A message on a stream transport has no Content-Length header.
    #[error("message on a stream has no content-length")]
    MissingContentLength,
    /// Content-Length is not a decimal number, or two differ.
    #[error("malformed content-length")]
    BadContentLength,
    /// The header section or the message exceeds its limit; the stream must be closed.
    #[error("{limit} exceeds the limit of {max}")]
    TooLarge {
        /// Which limit.
        limit: Limit,
        /// The configured maximum.
        max: usize,
    },
}

/// Caller misuse of a builder, kept apart from hostile-input errors.
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A header name is not a token.
    #[error("header name is not a token")]
    BadHeaderName,
    /// A header value contains CR, LF or NUL.
    #[error("header value contains a line break or nul")]
    BadHeaderValue,
}
