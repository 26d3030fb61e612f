//! SRTP and SRTCP for telox (RFC 3711, RFC 6188, RFC 7714).
//!
//! Confidentiality, integrity and replay protection for RTP and RTCP: AES counter mode with
//! HMAC-SHA1 (128, 192 and 256-bit keys, 80 and 32-bit tags) and AES-GCM (128 and 256-bit),
//! the AES-CM key derivation function with an optional key derivation rate, the optional
//! MKI with several master keys per context (RFC 3711 §8.1), the rollover counter per SSRC
//! with the RFC 3711 Appendix A index estimate, a sliding replay window (64 to 32768
//! packets), a sender that never reuses a packet index, and the master-key lifetime limits.
//!
//! Packets are protected and unprotected in place in the caller's buffer; the key schedules
//! and MAC states are prepared once per session, so the per-packet path neither allocates
//! nor re-keys. Key material is zeroized on drop and never appears in `Debug` or errors.
//!
//! Part of telox, an embeddable VoIP stack. Sans-IO: this crate opens no socket, reads no
//! clock and spawns no task. It does not negotiate keys (SDES lives in `sdp`, DTLS-SRTP is
//! out of scope) and does not parse RTP beyond the few header fields SRTP needs.
//!
//! ```
//! use telox_srtp::{MasterKey, ProtectionProfile, SrtpConfig, SrtpContext};
//!
//! let profile = ProtectionProfile::AesCm128HmacSha1_80;
//! // key || salt, e.g. from an SDES `a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:...`
//! let master = MasterKey::from_key_salt(profile, &[7u8; 30])?;
//! let mut sender = SrtpContext::new(profile, &master, SrtpConfig::default())?;
//! let mut receiver = SrtpContext::new(profile, &master, SrtpConfig::default())?;
//!
//! // An RTP packet (V=2, PT 0, seq 1, ts 160, SSRC 0x1234) with room for the tag.
//! let mut buf = [0u8; 12 + 160 + 10];
//! buf[..12].copy_from_slice(&[0x80, 0, 0, 1, 0, 0, 0, 160, 0, 0, 0x12, 0x34]);
//! let mut plain = buf;
//! let srtp_len = sender.protect_rtp(&mut buf, 12 + 160)?;
//! let mut copy = buf;
//! let rtp_len = receiver.unprotect_rtp(&mut buf[..srtp_len])?;
//! assert_eq!(rtp_len, 172);
//! // The same packet again is a replay.
//! assert!(receiver.unprotect_rtp(&mut copy[..srtp_len]).is_err());
//! // And the sender refuses to use sequence number 1 (index 1) twice.
//! assert!(sender.protect_rtp(&mut plain, 172).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

// `unsafe` is allowed in one module only, `gcm_x86` (and its submodules `avx512`, `sha1x16`,
// `sha1ni` and `vaes`), whose docs give the measured need.
#![deny(unsafe_code)]

mod context;
mod crypto;
mod error;
#[doc(hidden)]
pub mod fuzzing;
#[cfg(target_arch = "x86_64")]
mod gcm_x86;
mod ghash;
mod key;
mod profile;
mod replay;
#[cfg(test)]
mod vectors;
mod wire;

pub use context::SrtpContext;
pub use error::{KeyError, SrtpError};
pub use key::{MAX_MKI_LEN, MasterKey, SrtpConfig, UnknownSsrcPolicy};
pub use profile::ProtectionProfile;
