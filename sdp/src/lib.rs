//! SDP for telox: parse and serialize (RFC 8866), RFC 3264 offer/answer, SDES (RFC 4568).
//!
//! Part of telox, an embeddable VoIP stack. Sans-IO: this crate opens no socket, reads no
//! clock and spawns no task; time is passed in as `Instant`s.

#![forbid(unsafe_code)]
