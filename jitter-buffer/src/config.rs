//! Configuration of a [`JitterBuffer`](crate::JitterBuffer).

use std::time::Duration;

use crate::error::ConfigError;

/// How the buffer chooses its playout delay.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum DelayMode {
    /// NetEq-style adaptive delay: a forgetting histogram of relative packet delay, played at
    /// its target quantile, changed at talkspurt boundaries and by time-stretching.
    Adaptive,
    /// A fixed buffer: every frame is scheduled `delay` after the first packet's arrival
    /// (anchored on the first packet of the stream); no time-stretching and no waiting for a
    /// missing packet. Meant as the baseline that the adaptive mode is measured against.
    Fixed(Duration),
}

/// Configuration of a [`JitterBuffer`](crate::JitterBuffer). Build with [`JitterConfig::new`]
/// and adjust the public fields; [`JitterConfig::validate`] is called by the buffer.
#[derive(Clone, Debug, PartialEq)]
pub struct JitterConfig {
    /// RTP clock rate of the stream in Hz (8000 for PCMU/PCMA/G.722, 48000 for Opus). All
    /// durations in [`Playout`](crate::Playout) are in ticks of this clock.
    pub clock_rate: u32,
    /// Expected frame duration (ptime) in ms, used until the buffer has learned the real one
    /// from consecutive packets, and for concealment when nothing tells otherwise.
    pub frame_ms: u32,
    /// Adaptive or fixed delay.
    pub mode: DelayMode,
    /// Lower bound of the target delay.
    pub min_delay: Duration,
    /// Upper bound of the target delay, and of how long the buffer waits (conceals without
    /// moving on) for a missing packet.
    pub max_delay: Duration,
    /// Target delay before any jitter has been measured.
    pub initial_delay: Duration,
    /// Hard capacity in packets: a packet more than this many sequence numbers ahead of the
    /// playout point is refused ([`Push::Overflow`](crate::Push::Overflow)).
    pub capacity: usize,
    /// Quantile of the relative-delay distribution used as target delay (NetEq uses 0.95 to
    /// 0.97; the default 0.99 keeps late loss under 1 %).
    pub quantile: f64,
    /// Per-packet forgetting factor of the delay histogram (0.997 forgets with a half-life of
    /// about 230 packets, 4.6 s at 20 ms).
    pub forgetting_factor: f64,
    /// Window over which the fastest packet is taken as the zero of relative delay (NetEq: 2 s).
    pub min_window: Duration,
    /// After this much concealment in a row the buffer plays silence instead ([`Playout::Empty`](
    /// crate::Playout::Empty)): PLC that long only adds artefacts.
    pub max_conceal: Duration,
    /// Granularity of [`Playout::Empty`](crate::Playout::Empty) while nothing is playing, in ms
    /// (the audio device's pull period).
    pub pull_ms: u32,
}

impl JitterConfig {
    /// Defaults for a stream at `clock_rate` Hz with `frame_ms` frames: adaptive, 0..400 ms,
    /// 60 ms initial delay, 256 packets, quantile 0.99, forgetting factor 0.997.
    pub fn new(clock_rate: u32, frame_ms: u32) -> Self {
        Self {
            clock_rate,
            frame_ms,
            mode: DelayMode::Adaptive,
            min_delay: Duration::ZERO,
            max_delay: Duration::from_millis(400),
            initial_delay: Duration::from_millis(60),
            capacity: 256,
            quantile: 0.995,
            forgetting_factor: 0.998,
            min_window: Duration::from_secs(2),
            max_conceal: Duration::from_millis(300),
            pull_ms: 10,
        }
    }

    /// Checks that the buffer can run with this configuration.
    ///
    /// # Errors
    /// The [`ConfigError`] naming the first field out of range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.clock_rate == 0 {
            return Err(ConfigError::ZeroClockRate);
        }
        if self.frame_ms == 0 || self.frame_ms > 120 {
            return Err(ConfigError::FrameDuration { ms: self.frame_ms });
        }
        if self.pull_ms == 0 || self.pull_ms > 120 {
            return Err(ConfigError::FrameDuration { ms: self.pull_ms });
        }
        let (min_ms, max_ms) = (ms(self.min_delay), ms(self.max_delay));
        if min_ms > max_ms {
            return Err(ConfigError::DelayBounds { min_ms, max_ms });
        }
        if max_ms > 10_000 {
            return Err(ConfigError::MaxDelayTooLarge { max_ms });
        }
        if !(2..=65_536).contains(&self.capacity) {
            return Err(ConfigError::Capacity {
                capacity: self.capacity,
            });
        }
        if !(self.quantile > 0.5 && self.quantile < 1.0) {
            return Err(ConfigError::Quantile);
        }
        if !(self.forgetting_factor > 0.9 && self.forgetting_factor < 1.0) {
            return Err(ConfigError::ForgettingFactor);
        }
        Ok(())
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
