//! An adaptive, payload-agnostic jitter buffer for telox.
//!
//! Part of telox, an embeddable VoIP stack. Sans-IO: this crate opens no socket, reads no
//! clock and spawns no task; time is passed in as `Instant`s, and the buffer is driven from
//! two sides: the network pushes packets as they arrive, the audio clock pops what to play.
//!
//! - [`JitterBuffer`]: insert by sequence number and timestamp (wrap-around, reordering,
//!   duplicates, late packets, losses, timestamp jumps and SSRC changes, talkspurts, DTX and
//!   comfort noise, frames of 10 to 120 ms); a NetEq-style adaptive target delay; playout
//!   decisions ([`Playout`]: play, conceal, merge, accelerate, expand, silence); statistics
//!   ([`JitterStats`]).
//! - [`Concealer`]: the trait through which concealment is asked of the codec.
//! - [`stretch`]: WSOLA time-stretching (accelerate, preemptive expand) and the merge
//!   cross-fade on i16 PCM, for the glue to apply what the buffer decides.
//! - [`sim`]: the trace format, a seeded trace generator and the simulator behind `jb-sim`.
//!
//! It does not decode audio, keep a clock or know codecs.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use telox_jitter_buffer::{JitterBuffer, JitterConfig, Playout};
//! use rtp::{MediaTime, SeqNo};
//!
//! let mut jb = JitterBuffer::new(JitterConfig::new(8000, 20)).unwrap();
//! let t0 = Instant::now();
//! // Network side: one 20 ms packet (160 ticks at 8 kHz) arrives.
//! jb.push(t0, SeqNo(1), MediaTime::new(160, 8000), "frame 1");
//! // Audio side: pull until the frame comes out after the initial delay.
//! let mut now = t0;
//! loop {
//!     match jb.pop(now) {
//!         Playout::Frame(f) => {
//!             assert_eq!(f.payload, "frame 1");
//!             break;
//!         }
//!         other => now += Duration::from_micros(u64::from(other.duration()) * 125),
//!     }
//! }
//! assert!(now - t0 >= Duration::from_millis(60));
//! ```

#![forbid(unsafe_code)]

mod buffer;
mod conceal;
mod config;
mod delay;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
mod playout;
pub mod sim;
mod stats;
pub mod stretch;

pub use buffer::{JitterBuffer, PacketInfo};
pub use conceal::{ConcealSource, Concealer};
pub use config::{DelayMode, JitterConfig};
pub use error::{ConfigError, Error, TraceError};
pub use playout::{ConcealReason, Concealment, Frame, FrameAction, Playout, Push};
pub use stats::JitterStats;
