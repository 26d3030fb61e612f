//! Errors of the rtp crate: one enum per layer, hostile input and caller misuse kept apart.

use thiserror::Error;

/// Why bytes are not a valid RTP packet ([RFC 3550 §5.1]).
///
/// [RFC 3550 §5.1]: https://www.rfc-editor.org/rfc/rfc3550#section-5.1
#[derive(Clone, Copy, Debug, Eq, Error, PartialEq)]
#[non_exhaustive]
pub enum RtpError {
    /// Fewer bytes than the fixed 12-byte header.
    #[error("rtp packet of {len} bytes is shorter than the 12-byte fixed header")]
    TooShort {
        /// Length of the input.
        len: usize,
    },
    /// The version field is not 2.
    #[error("rtp version {0} is not 2")]
    BadVersion(u8),
    /// The CSRC list runs past the end of the packet.
    #[error("csrc list of {count} entries runs past the end of the {len}-byte packet")]
    CsrcOverrun {
        /// CC field.
        count: u8,
        /// Length of the input.
        len: usize,
    },
    /// The header extension runs past the end of the packet.
    #[error("header extension of {words} words at byte {at} runs past the end of the packet")]
    ExtensionOverrun {
        /// Offset of the extension header.
        at: usize,
        /// Length field of the extension, in 32-bit words.
        words: u16,
    },
    /// The padding count is zero or larger than the payload.
    #[error("padding count {count} is invalid for {available} bytes after the header")]
    BadPadding {
        /// The last octet of the packet.
        count: u8,
        /// Bytes after the header, padding included.
        available: usize,
    },
}

/// Why bytes are not a valid RTCP packet or compound packet ([RFC 3550 §6], [RFC 5506]).
///
/// [RFC 3550 §6]: https://www.rfc-editor.org/rfc/rfc3550#section-6
/// [RFC 5506]: https://www.rfc-editor.org/rfc/rfc5506
#[derive(Clone, Copy, Debug, Eq, Error, PartialEq)]
#[non_exhaustive]
pub enum RtcpError {
    /// Fewer bytes than needed at a position.
    #[error("rtcp packet truncated at byte {at}: need {need} bytes, have {have}")]
    Truncated {
        /// Offset where the data ran out.
        at: usize,
        /// Bytes needed from `at`.
        need: usize,
        /// Bytes available from `at`.
        have: usize,
    },
    /// The version field is not 2.
    #[error("rtcp version {version} at byte {at} is not 2")]
    BadVersion {
        /// Offset of the packet header.
        at: usize,
        /// The version found.
        version: u8,
    },
    /// The padding bit is set on a packet that is not the last of the compound, or the padding
    /// count is invalid (RFC 3550 §6.4.1, A.2).
    #[error("invalid padding in rtcp packet at byte {at}")]
    BadPadding {
        /// Offset of the packet header.
        at: usize,
    },
    /// The compound does not start with SR or RR (RFC 3550 §6.1; allowed in reduced-size mode).
    #[error("compound rtcp starts with packet type {0}, not SR or RR")]
    FirstNotReport(u8),
    /// The compound has no SDES packet carrying a CNAME (RFC 3550 §6.1).
    #[error("compound rtcp lacks an SDES CNAME")]
    MissingCname,
    /// The body of a packet does not match its count field or its type's layout.
    #[error("rtcp packet type {pt} at byte {at} is malformed: {what}")]
    Malformed {
        /// Packet type.
        pt: u8,
        /// Offset of the packet header.
        at: usize,
        /// What is wrong.
        what: &'static str,
    },
    /// An empty input.
    #[error("empty rtcp datagram")]
    Empty,
}

/// Caller misuse when building packets: never caused by network input.
#[derive(Clone, Copy, Debug, Eq, Error, PartialEq)]
#[non_exhaustive]
pub enum BuildError {
    /// The output buffer is shorter than [`encoded_len`](crate::RtpHeader::encoded_len).
    #[error("output buffer of {have} bytes, need {need}")]
    BufferTooSmall {
        /// Bytes needed.
        need: usize,
        /// Bytes available.
        have: usize,
    },
    /// A field value does not fit its wire width (e.g. more than 15 CSRCs, 31 report blocks).
    #[error("{what} does not fit its wire field")]
    FieldTooLarge {
        /// Which field.
        what: &'static str,
    },
    /// An RFC 8285 extension element id or length is outside the form's range.
    #[error("header extension element id {id} with {len} bytes is invalid for this form")]
    BadExtensionElement {
        /// Element id.
        id: u8,
        /// Element data length.
        len: usize,
    },
}

/// Any error of this crate.
#[derive(Clone, Copy, Debug, Eq, Error, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// A bad RTP packet.
    #[error(transparent)]
    Rtp(#[from] RtpError),
    /// A bad RTCP packet.
    #[error(transparent)]
    Rtcp(#[from] RtcpError),
    /// Caller misuse while building.
    #[error(transparent)]
    Build(#[from] BuildError),
}
