//! RTP and RTCP for telox: packets, the RTP session, reception statistics, call-quality metrics
//! and DTMF (RFC 4733).
//!
//! Part of telox, an embeddable VoIP stack. Sans-IO: this crate opens no socket, reads no
//! clock and spawns no task; time is passed in as `Instant`s.

#![forbid(unsafe_code)]

pub mod analysis;
pub mod dtmf;
pub mod error;
pub mod packet;
pub mod quality;
pub mod rtcp;
pub mod session;
pub mod stats;
pub mod types;

pub use error::{BuildError, Error, RtcpError, RtpError};
pub use packet::{HeaderExtension, RtpHeader, RtpPacket};
pub use session::{RtpSession, SessionConfig, SessionError, SessionEvent};
pub use stats::{ReceptionStats, SeqUpdate, SourceStats};
pub use types::{MediaTime, NtpTime, SeqNo, Ssrc};

#[doc(hidden)]
pub mod fuzzing;
