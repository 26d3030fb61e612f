//! SRTP and SRTCP for telox (RFC 3711, RFC 6188, RFC 7714).
//!
//! Part of telox, an embeddable VoIP stack. Sans-IO: this crate opens no socket, reads no
//! clock and spawns no task; time is passed in as `Instant`s.

#![forbid(unsafe_code)]
