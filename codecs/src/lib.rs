//! Audio codecs for telox: G.711, Opus and G.722 behind one trait, with concealment.
//!
//! Part of telox, an embeddable VoIP stack. Sans-IO: this crate opens no socket, reads no
//! clock and spawns no task; time is passed in as `Instant`s.

#![forbid(unsafe_code)]
