//! Error types: parse errors name the line and why; negotiation errors say what failed.

/// The crate's top-level error: either a parse or a negotiation failure.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The description could not be parsed.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// Offer/answer negotiation failed.
    #[error(transparent)]
    Negotiation(#[from] NegotiationError),
}

/// A description that could not be parsed: which line (1-based), its type letter, and why.
///
/// Display: `line 6 (m=): port is not a number`. Line 0 means the description as a whole
/// (for example a missing `o=` line or a size limit).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}{}: {reason}", type_suffix(*.kind))]
pub struct ParseError {
    /// 1-based line number, 0 when the error concerns the whole description.
    pub line: usize,
    /// The type letter of the offending line (`m`, `a`, ...), when known.
    pub kind: Option<char>,
    /// What is wrong.
    pub reason: ParseReason,
}

fn type_suffix(kind: Option<char>) -> String {
    match kind {
        Some(c) if c.is_ascii_graphic() => format!(" ({c}=)"),
        _ => String::new(),
    }
}

impl ParseError {
    pub(crate) fn new(line: usize, kind: Option<char>, reason: ParseReason) -> Self {
        Self { line, kind, reason }
    }
}

/// Why a description was rejected by the parser.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseReason {
    /// The description is not UTF-8 (RFC 8866 §5: text is UTF-8).
    #[error("not valid utf-8")]
    NotUtf8,
    /// The input is empty.
    #[error("empty description")]
    Empty,
    /// A line ends with LF only (allowed by `ParseOptions::allow_lf_line_endings`).
    #[error("line ends with LF, not CRLF")]
    LfLineEnding,
    /// A bare CR inside a line.
    #[error("stray CR inside the line")]
    StrayCr,
    /// The last line has no line ending.
    #[error("last line has no CRLF")]
    MissingFinalLineEnding,
    /// An empty line (allowed at the end by `ParseOptions::allow_trailing_empty_lines`).
    #[error("empty line")]
    EmptyLine,
    /// Whitespace at the end of a line (allowed by `ParseOptions::allow_trailing_whitespace`).
    #[error("trailing whitespace")]
    TrailingWhitespace,
    /// The line is not `<type>=<value>`.
    #[error("not of the form <type>=<value>")]
    NotTypeValue,
    /// A type letter RFC 8866 does not define.
    #[error("unknown line type")]
    UnknownType,
    /// A line appears where RFC 8866 §5 does not allow it.
    #[error("line out of order (RFC 8866 §5 order is v o s i u e p c b t r z k a m)")]
    OutOfOrder,
    /// A line that may appear once appears twice.
    #[error("repeated line")]
    Repeated,
    /// A mandatory line is missing.
    #[error("missing {0}= line")]
    Missing(char),
    /// `v=` is not 0.
    #[error("unsupported version (only v=0)")]
    BadVersion,
    /// `s=` is empty (RFC 8866 recommends `s= ` or `s=-`).
    #[error("empty session name")]
    EmptySessionName,
    /// A field is missing or malformed; names the field.
    #[error("bad {0}")]
    BadField(&'static str),
    /// A known attribute has a malformed value; names the attribute and the field.
    #[error("bad a={attribute} value: {field}")]
    BadAttribute {
        /// Attribute name.
        attribute: &'static str,
        /// What is malformed.
        field: &'static str,
    },
    /// Neither the session nor a media description gives a `c=` line.
    #[error("media has no connection address (no c= at session or media level)")]
    MissingConnection,
    /// A configured limit was exceeded.
    #[error("{what} exceeds the limit of {limit}")]
    TooLarge {
        /// Which limit.
        what: &'static str,
        /// The limit's value.
        limit: usize,
    },
}

/// A typed attribute value could not be parsed; names the attribute and the field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("bad a={attribute} value: {field}")]
pub struct AttributeError {
    /// Attribute name.
    pub attribute: &'static str,
    /// What is malformed.
    pub field: &'static str,
}

impl AttributeError {
    pub(crate) const fn new(attribute: &'static str, field: &'static str) -> Self {
        Self { attribute, field }
    }
}

/// Why an offer/answer exchange failed (RFC 3264). Hostile or broken peer input and misuse
/// of the API by the caller are separate variants.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NegotiationError {
    /// No offered stream had a codec in common with our capabilities (SIP: 488).
    #[error("no common codec: offered {offered}, supported {supported}")]
    NoCommonCodec {
        /// What the remote side listed (encoding names, comma separated).
        offered: String,
        /// What we support (encoding names, comma separated).
        supported: String,
    },
    /// Encryption was required by one side and no offered crypto suite is acceptable.
    #[error("no acceptable crypto: {0}")]
    NoAcceptableCrypto(String),
    /// The offer contains no stream we can take part in.
    #[error("no acceptable media stream: {0}")]
    NoAcceptableStream(String),
    /// The answer violates RFC 3264 (wrong m-line count, kinds changed, codecs not offered...).
    #[error("bad answer: {0}")]
    BadAnswer(String),
    /// The offer violates RFC 3264 (fewer m-lines than before, kinds changed...).
    #[error("bad offer: {0}")]
    BadOffer(String),
    /// An offer arrived while ours is pending (RFC 3261 §14.2: answer 491 Request Pending;
    /// withdraw ours with `cancel_offer` if it was rejected).
    #[error("offer received while our offer is pending (glare)")]
    Glare,
    /// Caller misuse: the operation does not fit the offer/answer state.
    #[error("api misuse: {0}")]
    ApiMisuse(&'static str),
}

impl NegotiationError {
    /// The SIP status code that answers this failure when it came from a peer's offer
    /// (488 Not Acceptable Here for media failures, 400 for malformed offers, 491 for glare,
    /// 500 for misuse).
    pub fn sip_status(&self) -> u16 {
        match self {
            Self::NoCommonCodec { .. }
            | Self::NoAcceptableCrypto(_)
            | Self::NoAcceptableStream(_) => 488,
            Self::BadAnswer(_) | Self::BadOffer(_) => 400,
            Self::Glare => 491,
            Self::ApiMisuse(_) => 500,
        }
    }
}
