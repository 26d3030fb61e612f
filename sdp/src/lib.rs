//! SDP for telox: parse and serialize (RFC 8866), RFC 3264 offer/answer, SDES (RFC 4568).
//!
//! Part of telox, an embeddable VoIP stack. Sans-IO: this crate opens no socket, reads no
//! clock and spawns no task; randomness (session ids, SDES keys) comes from an RNG the
//! caller passes in.
//!
//! - [`Sdp`] is the owned model. [`Sdp::parse`] is strict RFC 8866;
//!   [`Sdp::parse_with`] takes [`ParseOptions`] whose `allow_*` switches accept what real
//!   peers send (LF endings, missing `t=`, trailing spaces...). Parsed text is zero-copy:
//!   attributes are [`Attributes`], a list of spans of the input (validated by the parse,
//!   never copied), and typed views ([`Rtpmap`], [`Crypto`], [`Media::ptime`]...) parse
//!   them on demand, so an unmodified canonical description writes back byte for byte.
//! - [`OfferAnswer`] is the RFC 3264 engine: [`MediaCapabilities`] in, offers and answers
//!   out, [`NegotiatedStream`]s (addresses, payload types, ptime, direction, SRTP keys,
//!   telephone-event) as the result. [`negotiate()`] is its pure core.
//!
//! ```
//! use telox_sdp::{ParseOptions, Sdp};
//!
//! let body = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n\
//!             m=audio 4000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n";
//! let sdp = Sdp::parse(body)?;
//! assert_eq!(sdp.media[0].port, 4000);
//! assert_eq!(sdp.media[0].rtpmap(101).unwrap().encoding, "telephone-event");
//! assert_eq!(sdp.to_bytes(), body.as_bytes());
//!
//! let lf = body.replace("\r\n", "\n");
//! assert!(Sdp::parse(lf.clone()).is_err());
//! assert!(Sdp::parse_with(lf, &ParseOptions::lenient()).is_ok());
//! # Ok::<(), telox_sdp::ParseError>(())
//! ```

#![forbid(unsafe_code)]

pub mod attr;
mod attributes;
pub mod codec;
mod error;
mod list;
mod model;
pub mod negotiate;
mod parse;
pub mod sdes;
mod session;
mod write;

#[doc(hidden)]
pub mod fuzzing;

pub use attr::{Direction, Fmtp, Rtpmap};
pub use attributes::{AttributeRef, Attributes, Iter as AttributeIter};
pub use codec::{Codec, DtmfEvents, OpusParams};
pub use error::{AttributeError, Error, NegotiationError, ParseError, ParseReason};
pub use list::List;
pub use model::{
    AddrType, Attribute, Bandwidth, Connection, Media, MediaExtra, MediaKind, Origin, Protocol,
    Sdp, SessionExtra, Text, Timing,
};
pub use negotiate::{
    NegotiatedCodec, NegotiatedCrypto, NegotiatedStream, NegotiatedTelephoneEvent, Negotiation,
    RejectedStream, Role, negotiate,
};
pub use parse::ParseOptions;
pub use sdes::{Crypto, KeyLifetime, KeyParam, Mki, SrtpSuite};
pub use session::{MediaCapabilities, OfferAnswer, SessionConfig, SrtpPolicy};
