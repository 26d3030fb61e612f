//! A scripted driver: pushes at given times, and an audio side that pops whenever the
//! previous playout has been played, realizing time-stretch requests in full.

#![allow(
    dead_code,
    reason = "each test file uses a different part of the driver"
)]

use std::time::{Duration, Instant};

use rtp::{MediaTime, SeqNo, Ssrc};
use telox_jitter_buffer::{FrameAction, JitterBuffer, JitterConfig, PacketInfo, Playout, Push};

pub(crate) const RATE: u32 = 8_000;

pub(crate) struct Driver {
    pub(crate) jb: JitterBuffer<u32>,
    pub(crate) t0: Instant,
    /// Audio-side time of the next pop, µs.
    pub(crate) audio_us: u64,
    /// Every playout with the time (ms) it started.
    pub(crate) log: Vec<(f64, Playout<u32>)>,
}

impl Driver {
    pub(crate) fn new(config: JitterConfig) -> Self {
        #[expect(
            clippy::disallowed_methods,
            reason = "any epoch will do for the virtual clock"
        )]
        let t0 = Instant::now();
        Self {
            jb: match JitterBuffer::new(config) {
                Ok(jb) => jb,
                Err(e) => panic!("test config rejected: {e}"),
            },
            t0,
            audio_us: 0,
            log: Vec::new(),
        }
    }

    /// An adaptive buffer at 8 kHz, 20 ms frames, 40 ms initial delay.
    pub(crate) fn adaptive() -> Self {
        let mut c = JitterConfig::new(RATE, 20);
        c.initial_delay = Duration::from_millis(40);
        Self::new(c)
    }

    pub(crate) fn at(&self, ms: f64) -> Instant {
        self.t0 + Duration::from_micros((ms * 1_000.0).round() as u64)
    }

    /// Runs the audio side up to `ms`, then pushes a packet (payload = seq).
    pub(crate) fn push(&mut self, ms: f64, seq: u16, ts: u32) -> Push {
        self.push_info(
            ms,
            PacketInfo::new(SeqNo(u64::from(seq)), MediaTime::new(u64::from(ts), RATE)),
        )
    }

    pub(crate) fn push_info(&mut self, ms: f64, info: PacketInfo) -> Push {
        self.run_until(ms);
        let now = self.at(ms);
        self.jb.push_packet(now, info, info.seq.wire().into())
    }

    pub(crate) fn push_ssrc(&mut self, ms: f64, seq: u16, ts: u32, ssrc: u32) -> Push {
        let mut info = PacketInfo::new(SeqNo(u64::from(seq)), MediaTime::new(u64::from(ts), RATE));
        info.ssrc = Some(Ssrc(ssrc));
        self.push_info(ms, info)
    }

    /// Pops at every audio time before `ms` (pops at exactly `ms` happen after pushes at `ms`).
    pub(crate) fn run_until(&mut self, ms: f64) {
        let limit = (ms * 1_000.0).round() as u64;
        while self.audio_us < limit {
            let now = self.t0 + Duration::from_micros(self.audio_us);
            let out = self.jb.pop(now);
            let ticks = |t: u32| u64::from(t) * 1_000_000 / u64::from(RATE);
            let step = match &out {
                Playout::Frame(f) => match f.action {
                    FrameAction::Accelerate { max_ticks } => ticks(f.duration) - ticks(max_ticks),
                    FrameAction::Expand { max_ticks } => ticks(f.duration) + ticks(max_ticks),
                    _ => ticks(f.duration),
                },
                other => ticks(other.duration()),
            };
            self.log.push((self.audio_us as f64 / 1_000.0, out));
            self.audio_us += step.max(1);
        }
    }

    /// Sequence numbers of the frames played, in order.
    pub(crate) fn played(&self) -> Vec<u32> {
        self.log
            .iter()
            .filter_map(|(_, p)| match p {
                Playout::Frame(f) => Some(f.payload),
                _ => None,
            })
            .collect()
    }

    /// (time ms, frame) of every frame played.
    pub(crate) fn frames(&self) -> Vec<(f64, &telox_jitter_buffer::Frame<u32>)> {
        self.log
            .iter()
            .filter_map(|(t, p)| match p {
                Playout::Frame(f) => Some((*t, f)),
                _ => None,
            })
            .collect()
    }

    pub(crate) fn conceals(&self) -> Vec<(f64, telox_jitter_buffer::Concealment)> {
        self.log
            .iter()
            .filter_map(|(t, p)| match p {
                Playout::Conceal(c) => Some((*t, *c)),
                _ => None,
            })
            .collect()
    }
}
