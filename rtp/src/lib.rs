//! RTP and RTCP for telox: packets, the RTP session, reception statistics, call-quality metrics
//! and DTMF (RFC 4733).
//!
//! Part of telox, an embeddable VoIP stack. Sans-IO: this crate opens no socket, reads no
//! clock and spawns no task; time is passed in as `Instant`s and randomness comes from the seed
//! in [`SessionConfig`].
//!
//! | module | what |
//! |---|---|
//! | [`packet`] | RTP view [`RtpPacket`] (checked once, accessors cannot panic), builder [`RtpHeader`] (CSRC, padding, RFC 8285 extensions) and a stream's pre-encoded [`StreamHeader`] |
//! | [`rtcp`] | SR, RR, SDES, BYE, APP, XR (RRTR, DLRR, statistics summary, VoIP metrics), generic NACK, PLI; compound validation (RFC 3550 §6.1) and reduced size (RFC 5506) |
//! | [`session`] | [`RtpSession`]: sender, receivers, RTCP schedule (§6.3, A.7), BYE, timeouts, collisions |
//! | [`stats`] | per-source statistics (A.1, A.3, A.8), RTT from LSR/DLSR, NTP/RTP mapping |
//! | [`quality`] | ITU-T G.107 E-model: R and MOS-CQ, RFC 3611 VoIP metrics |
//! | [`dtmf`] | RFC 4733 telephone events: sender packet sequence, receiver with duplicates |
//! | [`analysis`] | capture analysis of a stream as Wireshark computes it (for tools) |
//!
//! Not here: sockets, SRTP (`srtp` crate), jitter buffering (`jitter-buffer`), codecs.
//!
//! A drive loop (the runtime owns the socket and the clock):
//!
//! ```
//! use std::time::{Duration, Instant};
//! use bytes::Bytes;
//! use telox_rtp::{MediaTime, RtpPacket, RtpSession, SessionConfig, SessionEvent};
//!
//! let start = Instant::now();
//! let mut alice = RtpSession::new(SessionConfig { seed: 1, ..Default::default() }, start);
//! let mut bob = RtpSession::new(SessionConfig { seed: 2, ..Default::default() }, start);
//! let mut now = start;
//! let (mut to_alice, mut to_bob) = (Vec::new(), Vec::new());
//! for i in 0..500u64 {
//!     // Every 20 ms: one packet of media out, into the peer's session.
//!     let pkt = alice.send_rtp(now, MediaTime::new(i * 160, 8000), i == 0, Bytes::from_static(&[0xFF; 160]));
//!     let wire: Bytes = pkt.into_inner(); // -> srtp protect -> socket
//!     bob.handle_rtp(now, &RtpPacket::new_checked(wire).unwrap()).unwrap();
//!     // Timers, then drain transmits (RTCP, to the peer) and events.
//!     for (s, peer) in [(&mut alice, &mut to_bob), (&mut bob, &mut to_alice)] {
//!         if s.poll_timeout().is_some_and(|t| t <= now) {
//!             s.handle_timeout(now);
//!         }
//!         while let Some(rtcp) = s.poll_transmit() {
//!             peer.push(rtcp);
//!         }
//!         while let Some(event) = s.poll_event() {
//!             if let SessionEvent::NewSource { ssrc } = event {
//!                 assert_ne!(ssrc, s.ssrc());
//!             }
//!         }
//!     }
//!     for rtcp in to_bob.drain(..) {
//!         bob.handle_rtcp(now, &rtcp).unwrap();
//!     }
//!     for rtcp in to_alice.drain(..) {
//!         alice.handle_rtcp(now, &rtcp).unwrap();
//!     }
//!     now += Duration::from_millis(20);
//! }
//! let st = bob.stats();
//! assert_eq!((st.ssrc, st.lost), (alice.ssrc(), 0));
//! assert!(bob.quality(alice.ssrc()).unwrap().mos_cq > 4.3);
//! ```

// `unsafe` is allowed in one module only, `packet::avx2`: one call into the AVX2 payload copy
// after run-time detection; its docs give the measured need and the safety argument.
#![deny(unsafe_code)]

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
pub use packet::{HeaderExtension, RtpHeader, RtpPacket, StreamHeader};
pub use session::{RtpSession, SessionConfig, SessionError, SessionEvent};
pub use stats::{ReceptionStats, SeqUpdate, SourceStats};
pub use types::{MediaTime, NtpTime, SeqNo, Ssrc};

#[doc(hidden)]
pub mod fuzzing;
