//! What [`push`](crate::JitterBuffer::push) and [`pop`](crate::JitterBuffer::pop) return.

use rtp::{MediaTime, SeqNo};

/// Outcome of [`JitterBuffer::push`](crate::JitterBuffer::push).
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub enum Push {
    /// Buffered for playout.
    Inserted,
    /// Buffered, and it arrived after a higher sequence number.
    Reordered,
    /// Buffered as the first packet of a new stream: the previous one was flushed (SSRC
    /// change, timestamp or sequence-number jump).
    Reset,
    /// Dropped: its playout time has passed (counted as late).
    Late,
    /// Dropped: this sequence number is already buffered or was played.
    Duplicate,
    /// Dropped: beyond the hard capacity of the buffer.
    Overflow,
    /// Dropped: caller misuse, the media clock rate differs from the configured one.
    ClockRateMismatch,
}

impl Push {
    /// Whether the packet was kept.
    pub fn is_buffered(self) -> bool {
        matches!(self, Self::Inserted | Self::Reordered | Self::Reset)
    }
}

/// What to play next, from [`JitterBuffer::pop`](crate::JitterBuffer::pop). Every variant
/// covers a stretch of media time given in ticks of the configured clock rate; the caller
/// calls `pop` again when that has been played out.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Playout<P> {
    /// Decode and play this frame.
    Frame(Frame<P>),
    /// No packet for this stretch: ask the codec for concealment (PLC, or FEC from the next
    /// packet; see [`Concealer`](crate::Concealer)).
    Conceal(Concealment),
    /// Between talkspurts after a comfort-noise frame: keep generating comfort noise.
    ComfortNoise {
        /// Duration in ticks.
        duration: u32,
    },
    /// Nothing to play (before the first packet, a silence gap, or after concealment ran
    /// out): play silence.
    Empty {
        /// Duration in ticks.
        duration: u32,
    },
}

impl<P> Playout<P> {
    /// The media duration this playout covers, in ticks (a frame's nominal duration, before
    /// any time-stretching).
    pub fn duration(&self) -> u32 {
        match self {
            Self::Frame(f) => f.duration,
            Self::Conceal(c) => c.duration,
            Self::ComfortNoise { duration } | Self::Empty { duration } => *duration,
        }
    }
}

/// A frame to decode.
#[derive(Clone, Debug, PartialEq)]
pub struct Frame<P> {
    /// The payload as pushed.
    pub payload: P,
    /// Its sequence number (extended by the buffer).
    pub seq: SeqNo,
    /// Its media time (extended by the buffer, at the configured rate).
    pub media: MediaTime,
    /// Its media duration in ticks (from the next packet's timestamp, the caller's hint or the
    /// configured frame size).
    pub duration: u32,
    /// How to play it.
    pub action: FrameAction,
    /// The frame starts a talkspurt (marker bit, or after a silence gap).
    pub talkspurt_start: bool,
    /// The frame is a comfort-noise (SID) frame.
    pub comfort_noise: bool,
}

/// How a frame is to be played.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub enum FrameAction {
    /// As decoded.
    Normal,
    /// Right after concealment: cross-fade from the concealment into the decoded audio
    /// ([`stretch::merge`](crate::stretch::merge)).
    Merge,
    /// The delay is above target: shorten the decoded audio by up to `max_ticks` with
    /// [`stretch::accelerate`](crate::stretch::accelerate).
    Accelerate {
        /// Upper bound of the time to remove, ticks.
        max_ticks: u32,
    },
    /// The delay is below target: lengthen the decoded audio by up to `max_ticks` with
    /// [`stretch::preemptive_expand`](crate::stretch::preemptive_expand).
    Expand {
        /// Upper bound of the time to add, ticks.
        max_ticks: u32,
    },
}

/// A stretch of media time to conceal.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct Concealment {
    /// Duration in ticks.
    pub duration: u32,
    /// Why.
    pub reason: ConcealReason,
    /// The sequence number whose audio is missing.
    pub missing: SeqNo,
    /// The next buffered packet, whose in-band FEC may recover the missing frame.
    pub next: Option<SeqNo>,
}

/// Why the buffer asks for concealment.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub enum ConcealReason {
    /// The packet is missing and a later one is here: it is lost (or will be late).
    Loss,
    /// The buffer ran dry: the buffer waits for the packet (the delay grows), concealing.
    Underflow,
}
