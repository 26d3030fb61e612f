//! The call glue that telox's example programs share (demo-call, phone, pbx, gateway and the
//! tools). Programs live in `src/bin/`; what two of them need goes here once.
//!
//! - [`cli`]: hand-written flag parsing, durations, CIDRs;
//! - [`netem`]: a seeded impaired-link simulator (loss, jitter, reorder, duplicate);
//! - [`audio`]: speech-like test audio, WAV files, levels;
//! - [`report`]: the per-leg call report;
//! - [`cdr`]: call records as JSON lines and webhook events;
//! - [`config`] and [`dialplan`]: the PBX's TOML configuration and routing;
//! - [`guard`]: rate limits, auth-failure blocking, scanner filtering.

#![forbid(unsafe_code)]

pub mod audio;
pub mod cdr;
pub mod cli;
pub mod config;
pub mod dialplan;
pub mod guard;
pub mod media;
pub mod netem;
pub mod pcap;
pub mod report;
