//! The call glue that telox's example programs share (demo-call, phone, pbx, gateway and the
//! tools). Programs live in `src/bin/`; what two of them need goes here once.
//!
//! - [`cli`]: hand-written flag parsing, durations, CIDRs;
//! - [`netem`]: a seeded impaired-link simulator (loss, jitter, reorder, duplicate);
//! - [`audio`]: speech-like test audio, WAV files, levels;
//! - [`report`]: the per-leg call report;
//! - [`cdr`]: call records as JSON lines and webhook events;
//! - [`config`] and [`dialplan`]: the PBX's TOML configuration and routing;
//! - [`guard`]: rate limits, auth-failure blocking, scanner filtering;
//! - [`lifecycle`]: how the long-running programs stop (duration, SIGINT, SIGTERM);
//! - [`trunk`]: registration to SIP trunks (the PBX and the gateway);
//! - [`pcap`] and [`wav_export`]: captures in and out, RTP streams to WAV (the tools).

#![forbid(unsafe_code)]

pub mod audio;
pub mod cdr;
pub mod cli;
pub mod config;
pub mod demo;
pub mod dialplan;
pub mod gateway;
pub mod guard;
pub mod lifecycle;
pub mod media;
pub mod netem;
pub mod pbx;
pub mod pcap;
pub mod phone;
pub mod relay;
pub mod report;
pub mod trunk;
pub mod wav_export;

/// The current time, for the tokio glue (the sans-IO cores never read the clock themselves).
#[expect(
    clippy::disallowed_methods,
    reason = "the programs' I/O glue owns the clock"
)]
pub fn clock() -> std::time::Instant {
    std::time::Instant::now()
}

/// The current NTP wallclock time (for RTCP sender reports).
#[expect(
    clippy::disallowed_methods,
    reason = "the programs' I/O glue owns the clock"
)]
pub fn wallclock() -> rtp::NtpTime {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    rtp::NtpTime::from_unix(since)
}

/// Seconds since the Unix epoch, for call records.
pub fn unix_time() -> f64 {
    let ntp = wallclock().as_duration().as_secs_f64();
    ntp - rtp::NtpTime::UNIX_OFFSET_SECS as f64
}

/// A seed from the operating system's entropy, for programs run without `--seed` (two PBXs
/// started with the same seed would pick the same branches, tags and Call-IDs).
#[expect(
    clippy::disallowed_methods,
    reason = "the programs seed their cores once at start"
)]
pub fn entropy_seed() -> u64 {
    use rand::Rng;
    rand::rng().random()
}
