//! Statistics of a [`JitterBuffer`](crate::JitterBuffer), modelled on WebRTC NetEq's
//! `NetEqNetworkStatistics` and the RTCP-XR VoIP metrics (RFC 3611 §4.7).

use std::time::Duration;

/// Counters and delay figures of a jitter buffer. Output durations count media time handed
/// to the audio device (µs); rates are shares of all output.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct JitterStats {
    /// Packets offered to [`push`](crate::JitterBuffer::push).
    pub received: u64,
    /// Packets that arrived after their playout time (counted and dropped).
    pub late: u64,
    /// Sequence numbers whose playout time passed without a packet (concealed). A packet
    /// that arrives afterwards is counted in `late` as well.
    pub lost: u64,
    /// Packets received twice.
    pub duplicate: u64,
    /// Packets that arrived with a lower sequence number than one received before.
    pub reordered: u64,
    /// Packets refused because they were beyond the hard capacity.
    pub overflow: u64,
    /// Packets dropped from the buffer by a reset (SSRC change or timestamp jump).
    pub flushed: u64,
    /// Stream resets (SSRC changes, timestamp or sequence jumps).
    pub resets: u64,
    /// Frames handed out for decoding.
    pub frames: u64,
    /// Media time of the frames handed out, µs.
    pub frame_us: u64,
    /// Concealment asked of the codec, µs.
    pub concealed_us: u64,
    /// Concealment events (runs of consecutive concealment).
    pub conceal_events: u64,
    /// Silence or comfort noise played while no speech was due, µs.
    pub silence_us: u64,
    /// Time removed by accelerate requests (upper bound of what the glue removed), µs.
    pub accelerate_us: u64,
    /// Time added by preemptive-expand requests (upper bound), µs.
    pub expand_us: u64,
    /// Frames played right after concealment (merge).
    pub merges: u64,
    /// Playout delay of the last frame, relative to the fastest packet of the window (RTCP-XR
    /// VoIP metrics, RFC 3611 §4.7.7: "JB nominal" is `target_delay`, "JB maximum" is
    /// `peak_delay`, "JB abs max" the configured max delay).
    pub current_delay: Duration,
    /// The largest `current_delay` so far.
    pub peak_delay: Duration,
    /// The current target delay.
    pub target_delay: Duration,
    /// Packets in the buffer now.
    pub buffered: usize,
}

impl JitterStats {
    /// Share of received packets that arrived after their playout time (0..=1).
    pub fn late_loss_rate(&self) -> f64 {
        ratio(self.late, self.received)
    }

    /// Share of speech output that was concealment (0..=1).
    pub fn concealment_rate(&self) -> f64 {
        ratio(self.concealed_us, self.concealed_us + self.frame_us)
    }

    /// Share of speech output removed by accelerate (0..=1).
    pub fn accelerate_rate(&self) -> f64 {
        ratio(self.accelerate_us, self.frame_us)
    }

    /// Share of speech output added by preemptive expand (0..=1).
    pub fn expand_rate(&self) -> f64 {
        ratio(self.expand_us, self.frame_us)
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}
