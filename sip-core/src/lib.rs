//! SIP for telox: messages, transactions, dialogs, digest authentication and registration.
//!
//! Part of telox, an embeddable VoIP stack. Sans-IO: this crate opens no socket, reads no
//! clock and spawns no task; time is passed in as `Instant`s.
//!
//! # Messages
//!
//! [`Message::parse`] indexes a datagram in one pass without allocating; headers are typed
//! on request with [`Request::header`] / [`Request::header_all`]; [`Message::validate`] runs
//! the full RFC 3261 §8.2 checks; a parse error maps to the status code to answer with.
//! Owned builders serialize once; an unmodified parsed message serializes byte-exact.
//!
//! ```
//! use bytes::Bytes;
//! use telox_sip_core::header::{CSeq, CallId, From, To, Via};
//! use telox_sip_core::{Message, Method, Response, StatusCode};
//!
//! let wire = Bytes::from_static(
//!     b"INVITE sip:bob@biloxi.example.com SIP/2.0\r\n\
//!       Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds;rport\r\n\
//!       Max-Forwards: 70\r\n\
//!       To: Bob <sip:bob@biloxi.example.com>\r\n\
//!       From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n\
//!       Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n\
//!       CSeq: 314159 INVITE\r\n\
//!       Content-Length: 0\r\n\r\n",
//! );
//! let msg = Message::parse(wire.clone())?;
//! msg.validate()?;
//! let Message::Request(req) = msg else { unreachable!() };
//! assert_eq!(req.method(), &Method::Invite);
//! assert_eq!(req.uri().user(), Some("bob"));
//!
//! // typed headers, parsed on demand
//! let via: Via = req.header::<Via>().unwrap()?;
//! assert_eq!(via.branch(), Some("z9hG4bK776asdhds"));
//! assert_eq!(via.rport(), Some(None));
//! let from: From = req.header::<From>().unwrap()?;
//! assert_eq!(from.tag(), Some("1928301774"));
//! assert_eq!(req.header::<CSeq>().unwrap()?.seq(), 314159);
//! assert_eq!(req.header::<CallId>().unwrap()?.as_str(), "a84b4c76e66710@pc33.atlanta.example.com");
//! assert_eq!(req.to_bytes(), wire); // byte-exact
//!
//! // a response per RFC 3261 §8.2.6 (the To tag comes from your RNG)
//! let ok = Response::builder(&req, StatusCode::OK).to_tag("a6c85cf").build();
//! assert_eq!(ok.header::<To>().unwrap()?.tag(), Some("a6c85cf"));
//! assert_eq!(ok.header_all::<Via>().count(), 1);
//! let again = Message::parse(ok.to_bytes())?;
//! assert_eq!(again.as_response().map(|r| r.status()), Some(StatusCode::OK));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Streams (TCP/TLS) go through [`Framer`] first, then [`Message::parse_stream`].

#![forbid(unsafe_code)]

pub mod error;
pub mod framer;
#[doc(hidden)]
pub mod fuzzing;
pub mod header;
pub mod msg;
pub mod uri;

pub use error::{BuildError, FrameError, HeaderError, Limit, ParseError, UriError};
pub use framer::Framer;
pub use header::{Header, HeaderName};
pub use msg::{
    Headers, Message, Method, ParseLimits, RawHeader, Request, RequestBuilder, Response,
    ResponseBuilder, StatusCode,
};
pub use uri::{Scheme, Uri};

pub mod auth;
pub mod body;
pub mod dialog;
pub mod dns;
pub mod locate;
pub mod registration;
#[cfg(feature = "tokio")]
pub mod tokio;
pub mod transaction;
pub mod ua;
pub mod ws;
