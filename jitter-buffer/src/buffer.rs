//! The jitter buffer proper.

use std::time::{Duration, Instant};

use rtp::{MediaTime, SeqNo, Ssrc};

use crate::config::{DelayMode, JitterConfig};
use crate::delay::DelayEstimator;
use crate::error::ConfigError;
use crate::playout::{ConcealReason, Concealment, Frame, FrameAction, Playout, Push};
use crate::stats::JitterStats;

/// What the buffer needs to know about a packet beyond its payload. [`JitterBuffer::push`]
/// fills the optional fields with their defaults.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct PacketInfo {
    /// RTP sequence number. Only the 16-bit wire value is used: the buffer extends it itself,
    /// so wrap-around works whether or not the caller extended it.
    pub seq: SeqNo,
    /// RTP timestamp. Only the 32-bit wire value is used (extended by the buffer); the rate
    /// must be 0 or the configured clock rate.
    pub media: MediaTime,
    /// RTP marker bit: for audio, the first packet of a talkspurt (RFC 3551 §4.1).
    pub marker: bool,
    /// SSRC: a change resets the buffer (new stream).
    pub ssrc: Option<Ssrc>,
    /// Media duration in ticks, if the caller knows it (e.g. from the codec's TOC); otherwise
    /// the buffer infers it from the next packet's timestamp.
    pub duration: Option<u32>,
    /// The payload is comfort noise (RFC 3389 SID): between talkspurts the buffer asks for
    /// comfort noise instead of concealment.
    pub comfort_noise: bool,
}

impl PacketInfo {
    /// A packet with no marker, SSRC, duration hint or comfort noise.
    pub fn new(seq: SeqNo, media: MediaTime) -> Self {
        Self {
            seq,
            media,
            marker: false,
            ssrc: None,
            duration: None,
            comfort_noise: false,
        }
    }
}

/// An adaptive, payload-agnostic jitter buffer driven by the audio clock.
///
/// The network side calls [`push`](Self::push) for every RTP packet, in arrival order, with
/// the arrival time. The audio side calls [`pop`](Self::pop) whenever it needs more audio; the
/// answer covers [`Playout::duration`] ticks (a frame, concealment or silence), after which it
/// calls `pop` again. Time only ever comes in as `Instant`s: the buffer reads no clock.
///
/// Delay: packets are played at *base + media time + target*, where *base* is the offset of
/// the fastest packet of the last two seconds and *target* comes from a forgetting histogram
/// of relative delay (NetEq's delay manager). The playout delay moves towards the target only
/// where that cannot be heard: in silence gaps between talkspurts, and in speech by asking the
/// glue to time-stretch a frame ([`FrameAction::Accelerate`] / [`FrameAction::Expand`]). When
/// the buffer runs dry it conceals and waits for the packet (up to the max delay), so a delay
/// spike costs concealment, not a discard; a frame after concealment is flagged
/// [`FrameAction::Merge`].
///
/// Bounded: at most `capacity` packets are held; memory is allocated in [`new`](Self::new)
/// only, so `push` and `pop` never allocate.
#[derive(Debug)]
pub struct JitterBuffer<P> {
    config: JitterConfig,
    slots: Vec<Option<Slot<P>>>,
    mask: u64,
    len: usize,
    epoch: Option<Instant>,
    ssrc: Option<Ssrc>,
    /// Extension reference: (16-bit seq, extended seq, 32-bit ts, extended ts).
    reference: Option<(u16, u64, u32, i64)>,
    highest: u64,
    next_seq: u64,
    next_ts: i64,
    /// Media time up to which output is certain: a packet before it is late. Equal to
    /// `next_ts` except after a frame whose duration was guessed.
    firm_ts: i64,
    started: bool,
    held: i64,
    conceal_run: i64,
    last_was_conceal: bool,
    last_cn: bool,
    frame_ticks: i64,
    max_frame_ticks: i64,
    pull_ticks: i64,
    estimator: DelayEstimator,
    anchor: Option<i64>,
    target_us: i64,
    /// `config`'s delays in µs, precomputed for the hot path.
    limits: Limits,
    /// 1e6 / clock rate as a reduced fraction.
    us_per_tick: (i64, i64),
    stats: JitterStats,
}

#[derive(Clone, Copy, Debug)]
struct Limits {
    min_delay: i64,
    max_delay: i64,
    initial_delay: i64,
    max_conceal: i64,
}

#[derive(Clone, Debug)]
struct Slot<P> {
    seq: u64,
    ts: i64,
    marker: bool,
    cn: bool,
    duration: Option<u32>,
    /// `None` once played: the slot then only remembers the packet for duplicate detection
    /// and frame-size inference.
    payload: Option<P>,
}

impl<P> JitterBuffer<P> {
    /// A buffer for one stream.
    ///
    /// # Errors
    /// [`ConfigError`] if the configuration is out of range ([`JitterConfig::validate`]).
    pub fn new(config: JitterConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        let cap = config.capacity.next_power_of_two();
        let mut slots = Vec::with_capacity(cap);
        slots.resize_with(cap, || None);
        let rate = i64::from(config.clock_rate);
        let max_us = duration_us(config.max_delay);
        let estimator = DelayEstimator::new(
            max_us,
            config.quantile,
            config.forgetting_factor,
            duration_us(config.min_window).max(1),
        );
        Ok(Self {
            mask: (cap as u64) - 1,
            slots,
            len: 0,
            epoch: None,
            ssrc: None,
            reference: None,
            highest: 0,
            next_seq: 0,
            next_ts: 0,
            firm_ts: 0,
            started: false,
            held: 0,
            conceal_run: 0,
            last_was_conceal: false,
            last_cn: false,
            frame_ticks: (rate * i64::from(config.frame_ms) / 1000).max(1),
            max_frame_ticks: (rate * MAX_FRAME_MS / 1000).max(1),
            pull_ticks: (rate * i64::from(config.pull_ms) / 1000).max(1),
            estimator,
            anchor: None,
            target_us: duration_us(config.initial_delay),
            us_per_tick: {
                let g = gcd(1_000_000, rate);
                (1_000_000 / g, rate / g)
            },
            limits: Limits {
                min_delay: duration_us(config.min_delay),
                max_delay: duration_us(config.max_delay),
                initial_delay: duration_us(config.initial_delay),
                max_conceal: duration_us(config.max_conceal),
            },
            stats: JitterStats::default(),
            config,
        })
    }

    /// Offers a packet that arrived at `now`. Shorthand for [`push_packet`](Self::push_packet)
    /// without marker, SSRC, duration or comfort-noise information.
    pub fn push(&mut self, now: Instant, seq: SeqNo, media: MediaTime, payload: P) -> Push {
        self.push_packet(now, PacketInfo::new(seq, media), payload)
    }

    /// Offers a packet that arrived at `now`. Never panics and never allocates; any sequence
    /// of packets is accepted (duplicates, reordering, wrap-around, jumps).
    ///
    /// A packet is dropped as [`Push::Late`] when its playout time has passed: its sequence
    /// number is behind the playout point, or its media starts before media already played
    /// out or concealed (when the previous frame's duration was a guess, only its start
    /// counts, so a shorter frame than guessed is not mistaken for a late one). An
    /// SSRC change, or a jump of more than `2 * capacity` sequence numbers or of the
    /// arrival-minus-media-time offset by more than `max_delay + 2 s`, resets the buffer: the
    /// buffered packets are flushed and playout restarts from this packet ([`Push::Reset`]).
    pub fn push_packet(&mut self, now: Instant, info: PacketInfo, payload: P) -> Push {
        let t = self.micros(now);
        self.stats.received += 1;
        if info.media.rate != 0 && info.media.rate != self.config.clock_rate {
            return Push::ClockRateMismatch;
        }
        let mut reset = false;
        if let Some(ssrc) = info.ssrc {
            if self.ssrc.is_some_and(|s| s != ssrc) {
                self.reset_stream();
                reset = true;
            }
            self.ssrc = Some(ssrc);
        }
        let (mut seq, mut ts) = self.extend(info.seq.wire(), info.media.rtp_timestamp());
        let mut offset = t - self.ticks_to_us(ts);
        if self.reference.is_some() && !reset && self.is_jump(seq, offset) {
            self.reset_stream();
            reset = true;
            (seq, ts) = self.extend(info.seq.wire(), info.media.rtp_timestamp());
            offset = t - self.ticks_to_us(ts);
        }
        let first = self.reference.is_none();
        if first || seq > self.highest {
            self.reference = Some((info.seq.wire(), seq, info.media.rtp_timestamp(), ts));
        }

        let index = self.index(seq);
        let dup = self
            .slots
            .get(index)
            .is_some_and(|s| s.as_ref().is_some_and(|s| s.seq == seq));
        if dup {
            self.stats.duplicate += 1;
            return Push::Duplicate;
        }
        // Every non-duplicate packet tells about the network, late ones most of all.
        self.observe(t, offset);
        let reordered = !first && seq < self.highest;
        if reordered {
            self.stats.reordered += 1;
        }
        if self.started && (seq < self.next_seq || ts < self.firm_ts) {
            self.stats.late += 1;
            return Push::Late;
        }
        let (lo, hi) = if self.started || self.len > 0 {
            (self.next_seq.min(seq), self.highest.max(seq))
        } else {
            (seq, seq)
        };
        if hi - lo >= self.slots.len() as u64 {
            self.stats.overflow += 1;
            return Push::Overflow;
        }
        if let Some(slot) = self.slots.get_mut(index) {
            *slot = Some(Slot {
                seq,
                ts,
                marker: info.marker,
                cn: info.comfort_noise,
                duration: info.duration,
                payload: Some(payload),
            });
        }
        self.len += 1;
        if !self.started {
            self.next_seq = lo;
        }
        if first || seq > self.highest {
            self.highest = seq;
        }
        self.learn_frame_size(seq, ts);
        self.stats.buffered = self.len;
        if reset {
            Push::Reset
        } else if reordered {
            Push::Reordered
        } else {
            Push::Inserted
        }
    }

    /// What to play from `now` on. Call it whenever the audio device needs more; the result
    /// covers [`Playout::duration`] ticks. Never panics and never allocates.
    pub fn pop(&mut self, now: Instant) -> Playout<P> {
        let t = self.micros(now);
        self.refresh_target(t);
        let out = self.decide(t);
        self.account(&out);
        out
    }

    /// The payload of a buffered packet, e.g. to read in-band FEC for a lost predecessor
    /// ([`Concealment::next`]).
    pub fn peek(&self, seq: SeqNo) -> Option<&P> {
        let (_, ext, _, _) = self.reference?;
        let seq = SeqNo(ext).extend(seq.wire()).0;
        self.slots
            .get(self.index(seq))?
            .as_ref()
            .filter(|s| s.seq == seq)?
            .payload
            .as_ref()
    }

    /// Statistics so far.
    pub fn stats(&self) -> &JitterStats {
        &self.stats
    }

    /// Packets held now.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no packet is held.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The current target delay.
    pub fn target_delay(&self) -> Duration {
        Duration::from_micros(u64::try_from(self.target_us).unwrap_or(0))
    }

    /// The configuration.
    pub fn config(&self) -> &JitterConfig {
        &self.config
    }

    /// Flushes the buffer and forgets the stream's timing (e.g. on re-INVITE to another
    /// source); statistics and the delay histogram are kept.
    pub fn reset(&mut self) {
        self.reset_stream();
    }

    // ---- playout decisions ----

    fn decide(&mut self, t: i64) -> Playout<P> {
        if !self.started {
            let Some((seq, ts)) = self.head() else {
                return Playout::Empty {
                    duration: ticks_u32(self.pull_ticks),
                };
            };
            let wait = self.desired_at(ts, t) - t;
            if wait > 0 {
                let d = self.us_to_ticks(wait).clamp(1, self.pull_ticks);
                return Playout::Empty {
                    duration: ticks_u32(d),
                };
            }
            self.started = true;
            self.next_seq = seq;
            self.next_ts = ts;
            self.firm_ts = ts;
            return self.play(seq, t, true);
        }
        // Each round either returns or consumes a missing sequence number, which the
        // capacity bounds.
        for _ in 0..=self.slots.len() {
            let Some((seq, ts)) = self.head() else {
                return self.underflow(t);
            };
            if seq == self.next_seq {
                if ts > self.next_ts {
                    if let Some(out) = self.silence_gap(ts, t) {
                        return out;
                    }
                    return self.play(seq, t, true);
                }
                return self.play(seq, t, false);
            }
            // next_seq .. seq are missing.
            let missing = i64::try_from(seq - self.next_seq)
                .unwrap_or(i64::MAX)
                .max(1);
            let span = ts - self.next_ts;
            self.stats.lost += 1;
            self.next_seq += 1;
            if span <= 0 {
                // Their media time was already covered by concealment while waiting.
                continue;
            }
            let mut per = span / missing;
            if per > self.max_frame_ticks || per == 0 {
                // A silence gap around the loss: conceal a frame, the rest is a gap.
                per = self.frame_ticks.min(span);
            }
            self.next_ts += per;
            self.firm_ts = self.next_ts;
            if self.held >= per {
                self.held -= per;
                continue;
            }
            let duration = per - self.held;
            self.held = 0;
            return Playout::Conceal(Concealment {
                duration: ticks_u32(duration),
                reason: ConcealReason::Loss,
                missing: SeqNo(self.next_seq - 1),
                next: Some(SeqNo(seq)),
            });
        }
        self.underflow(t)
    }

    /// Before a talkspurt that starts after a silence gap: the one place where the delay may
    /// jump, by playing more or less silence. Returns `None` when the frame is due now.
    fn silence_gap(&mut self, ts: i64, t: i64) -> Option<Playout<P>> {
        let wait = self.desired_at(ts, t) - t;
        self.held = 0;
        if wait <= 0 {
            return None;
        }
        let d = self.us_to_ticks(wait).clamp(1, self.pull_ticks);
        self.next_ts = (self.next_ts + d).min(ts);
        self.firm_ts = self.next_ts;
        Some(self.silence(d))
    }

    fn underflow(&mut self, t: i64) -> Playout<P> {
        let dur = self.frame_ticks;
        if self.last_cn {
            self.next_ts += dur;
            self.firm_ts = self.next_ts;
            return self.silence(dur);
        }
        let max_conceal = self.limits.max_conceal;
        if self.conceal_run >= max_conceal {
            self.next_ts += dur;
            self.firm_ts = self.next_ts;
            return Playout::Empty {
                duration: ticks_u32(dur),
            };
        }
        // Waiting for the packet: the delay it would be played with after this concealment.
        let base = self.base();
        let delay_then = t + self.ticks_to_us(dur) - (base + self.ticks_to_us(self.next_ts));
        let may_wait =
            matches!(self.config.mode, DelayMode::Adaptive) && delay_then <= self.limits.max_delay;
        let reason = if may_wait {
            self.held += dur;
            ConcealReason::Underflow
        } else {
            self.next_ts += dur;
            self.firm_ts = self.next_ts;
            ConcealReason::Loss
        };
        Playout::Conceal(Concealment {
            duration: ticks_u32(dur),
            reason,
            missing: SeqNo(self.next_seq),
            next: None,
        })
    }

    fn silence(&self, duration: i64) -> Playout<P> {
        let duration = ticks_u32(duration);
        if self.last_cn {
            Playout::ComfortNoise { duration }
        } else {
            Playout::Empty { duration }
        }
    }

    fn play(&mut self, seq: u64, t: i64, talkspurt_start: bool) -> Playout<P> {
        let (duration, guessed) = self.duration_of(seq);
        let index = self.index(seq);
        let Some(slot) = self.slots.get_mut(index).and_then(Option::as_mut) else {
            return self.underflow(t);
        };
        let Some(payload) = slot.payload.take() else {
            return self.underflow(t);
        };
        let (ts, marker, cn) = (slot.ts, slot.marker, slot.cn);
        self.len -= 1;
        let base = self.base();
        let current = t - (base + self.ticks_to_us(ts));
        self.stats.current_delay = Duration::from_micros(u64::try_from(current).unwrap_or(0));
        self.stats.peak_delay = self.stats.peak_delay.max(self.stats.current_delay);
        let action = if self.last_was_conceal {
            FrameAction::Merge
        } else if talkspurt_start || cn || !matches!(self.config.mode, DelayMode::Adaptive) {
            FrameAction::Normal
        } else {
            let err = current - self.target_us;
            if err > ACCELERATE_ABOVE_US {
                let max = self
                    .us_to_ticks(err - ACCELERATE_ABOVE_US / 2)
                    .min(duration / 4);
                stretch_or_normal(max, |m| FrameAction::Accelerate { max_ticks: m })
            } else if err < -EXPAND_BELOW_US {
                let max = self.us_to_ticks(-err).min(duration / 2);
                stretch_or_normal(max, |m| FrameAction::Expand { max_ticks: m })
            } else {
                FrameAction::Normal
            }
        };
        self.next_ts = ts + duration;
        self.firm_ts = if guessed { ts + 1 } else { self.next_ts };
        self.next_seq = seq + 1;
        self.held = 0;
        self.conceal_run = 0;
        self.last_cn = cn;
        Playout::Frame(Frame {
            payload,
            seq: SeqNo(seq),
            media: MediaTime::new(u64::try_from(ts).unwrap_or(0), self.config.clock_rate),
            duration: ticks_u32(duration),
            action,
            talkspurt_start: talkspurt_start || marker,
            comfort_noise: cn,
        })
    }

    fn account(&mut self, out: &Playout<P>) {
        let us = self.ticks_to_us(i64::from(out.duration()));
        let us_u = u64::try_from(us).unwrap_or(0);
        match out {
            Playout::Frame(f) => {
                self.stats.frames += 1;
                self.stats.frame_us += us_u;
                match f.action {
                    FrameAction::Merge => self.stats.merges += 1,
                    FrameAction::Accelerate { max_ticks } => {
                        self.stats.accelerate_us += self.ticks_to_us_u(max_ticks);
                    }
                    FrameAction::Expand { max_ticks } => {
                        self.stats.expand_us += self.ticks_to_us_u(max_ticks);
                    }
                    FrameAction::Normal => {}
                }
                self.last_was_conceal = false;
            }
            Playout::Conceal(_) => {
                if !self.last_was_conceal {
                    self.stats.conceal_events += 1;
                }
                self.stats.concealed_us += us_u;
                self.conceal_run += us;
                self.last_was_conceal = true;
            }
            Playout::ComfortNoise { .. } | Playout::Empty { .. } => {
                if self.started {
                    self.stats.silence_us += us_u;
                }
                self.last_was_conceal = false;
            }
        }
        self.stats.buffered = self.len;
        self.stats.target_delay = self.target_delay();
    }

    // ---- delay ----

    fn observe(&mut self, t: i64, offset: i64) {
        match self.config.mode {
            DelayMode::Adaptive => self.estimator.update(t, offset),
            DelayMode::Fixed(_) => {
                self.anchor.get_or_insert(offset);
            }
        }
        self.refresh_target(t);
    }

    /// The offset (arrival minus media time, µs) of the fastest path: the zero of delay.
    fn base(&self) -> i64 {
        match self.config.mode {
            DelayMode::Adaptive => self.estimator.min_offset().unwrap_or(0),
            DelayMode::Fixed(_) => self.anchor.unwrap_or(0),
        }
    }

    fn desired_at(&mut self, ts: i64, t: i64) -> i64 {
        self.refresh_target(t);
        self.base() + self.ticks_to_us(ts) + self.target_us
    }

    fn refresh_target(&mut self, t: i64) {
        self.target_us = match self.config.mode {
            DelayMode::Adaptive => {
                let mut est = self.estimator.target_us(t);
                if self.estimator.samples() < WARMUP_PACKETS {
                    est = est.max(self.limits.initial_delay);
                }
                est.clamp(self.limits.min_delay, self.limits.max_delay)
            }
            DelayMode::Fixed(d) => duration_us(d),
        };
    }

    fn is_jump(&self, seq: u64, offset: i64) -> bool {
        let seq_jump = seq.abs_diff(self.highest) > 2 * self.slots.len() as u64;
        let limit = self.limits.max_delay + TS_JUMP_MARGIN_US;
        let base = match self.config.mode {
            DelayMode::Adaptive => self.estimator.min_offset(),
            DelayMode::Fixed(_) => self.anchor,
        };
        let ts_jump = base.is_some_and(|b| offset.saturating_sub(b).abs() > limit);
        seq_jump || ts_jump
    }

    fn reset_stream(&mut self) {
        let flushed = self
            .slots
            .iter_mut()
            .filter_map(|s| s.take())
            .filter(|s| s.payload.is_some())
            .count();
        self.stats.flushed += flushed as u64;
        self.stats.resets += 1;
        self.len = 0;
        self.reference = None;
        self.started = false;
        self.held = 0;
        self.conceal_run = 0;
        self.last_cn = false;
        self.anchor = None;
        self.estimator.reset_reference();
    }

    // ---- helpers ----

    fn extend(&self, wire_seq: u16, wire_ts: u32) -> (u64, i64) {
        match self.reference {
            None => (SEQ_BASE | u64::from(wire_seq), i64::from(wire_ts)),
            Some((_, ext_seq, ref_ts, ext_ts)) => {
                let seq = SeqNo(ext_seq).extend(wire_seq).0;
                let ts = ext_ts + i64::from(wire_ts.wrapping_sub(ref_ts) as i32);
                (seq, ts)
            }
        }
    }

    /// Lowest buffered sequence number at or after `next_seq` (scans at most the capacity).
    fn head(&self) -> Option<(u64, i64)> {
        if self.len == 0 {
            return None;
        }
        let end = self.highest.min(self.next_seq + self.mask);
        (self.next_seq..=end).find_map(|s| {
            self.slots
                .get(self.index(s))?
                .as_ref()
                .filter(|slot| slot.seq == s && slot.payload.is_some())
                .map(|slot| (s, slot.ts))
        })
    }

    /// A frame's duration in ticks, and whether it is a guess (the configured or learned
    /// frame size rather than the caller's hint or the next packet's timestamp).
    fn duration_of(&self, seq: u64) -> (i64, bool) {
        let Some(slot) = self.slots.get(self.index(seq)).and_then(Option::as_ref) else {
            return (self.frame_ticks, true);
        };
        if let Some(d) = slot.duration.filter(|&d| d > 0) {
            return (i64::from(d).min(self.max_frame_ticks), false);
        }
        let next = self
            .slots
            .get(self.index(seq + 1))
            .and_then(Option::as_ref)
            .filter(|n| n.seq == seq + 1)
            .map(|n| n.ts - slot.ts);
        match next {
            Some(d) if d > 0 && d <= self.max_frame_ticks => (d, false),
            _ => (self.frame_ticks, true),
        }
    }

    fn learn_frame_size(&mut self, seq: u64, ts: i64) {
        let near = |s: u64| {
            self.slots
                .get(self.index(s))
                .and_then(Option::as_ref)
                .filter(|n| n.seq == s)
                .map(|n| n.ts)
        };
        let d = match (near(seq.wrapping_sub(1)), near(seq + 1)) {
            (_, Some(n)) if n - ts > 0 && n - ts <= self.max_frame_ticks => n - ts,
            (Some(p), _) if ts - p > 0 && ts - p <= self.max_frame_ticks => ts - p,
            _ => return,
        };
        self.frame_ticks = d;
    }

    fn index(&self, seq: u64) -> usize {
        usize::try_from(seq & self.mask).unwrap_or(0)
    }

    fn micros(&mut self, now: Instant) -> i64 {
        let epoch = *self.epoch.get_or_insert(now);
        match now.checked_duration_since(epoch) {
            Some(d) => duration_us(d),
            None => -duration_us(epoch.duration_since(now)),
        }
    }

    fn ticks_to_us(&self, ticks: i64) -> i64 {
        // Hot path: µs per tick as a reduced fraction (125/1 at 8 kHz) needs no division at
        // the common rates; otherwise i64 before i128 (a library call).
        let (num, den) = self.us_per_tick;
        if den == 1
            && let Some(v) = ticks.checked_mul(num)
        {
            return v;
        }
        match ticks.checked_mul(1_000_000) {
            Some(v) => v / i64::from(self.config.clock_rate),
            None => {
                let us = i128::from(ticks) * 1_000_000 / i128::from(self.config.clock_rate);
                i64::try_from(us).unwrap_or(if us < 0 { i64::MIN / 4 } else { i64::MAX / 4 })
            }
        }
    }

    fn ticks_to_us_u(&self, ticks: u32) -> u64 {
        u64::try_from(self.ticks_to_us(i64::from(ticks))).unwrap_or(0)
    }

    fn us_to_ticks(&self, us: i64) -> i64 {
        match us.checked_mul(i64::from(self.config.clock_rate)) {
            Some(v) => v / 1_000_000,
            None => {
                let t = i128::from(us) * i128::from(self.config.clock_rate) / 1_000_000;
                i64::try_from(t).unwrap_or(if t < 0 { i64::MIN / 4 } else { i64::MAX / 4 })
            }
        }
    }
}

fn stretch_or_normal(max: i64, f: impl FnOnce(u32) -> FrameAction) -> FrameAction {
    if max > 0 {
        f(ticks_u32(max))
    } else {
        FrameAction::Normal
    }
}

fn gcd(mut a: i64, mut b: i64) -> i64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a.max(1)
}

fn ticks_u32(t: i64) -> u32 {
    u32::try_from(t.max(0)).unwrap_or(u32::MAX)
}

fn duration_us(d: Duration) -> i64 {
    // Without the u128 of `as_micros`: this runs on every push and pop.
    i64::try_from(d.as_secs())
        .ok()
        .and_then(|s| s.checked_mul(1_000_000))
        .map_or(i64::MAX / 4, |us| us + i64::from(d.subsec_micros()))
        .min(i64::MAX / 4)
}

/// Extended sequence numbers start one 16-bit cycle up, so a packet reordered across the
/// first wrap-around extends below the first one without underflow.
const SEQ_BASE: u64 = 1 << 32;
/// Longest frame the buffer believes in (RFC 7587: Opus packs up to 120 ms).
const MAX_FRAME_MS: i64 = 120;
/// Until this many packets have been seen, the target is at least the initial delay.
const WARMUP_PACKETS: u64 = 25;
/// Speech is accelerated when the delay is this much above target (hysteresis)...
const ACCELERATE_ABOVE_US: i64 = 5_000;
/// ...and expanded when it is this much below.
const EXPAND_BELOW_US: i64 = 2_000;
/// An offset jump beyond max delay plus this is a timestamp jump, not network delay.
const TS_JUMP_MARGIN_US: i64 = 2_000_000;
