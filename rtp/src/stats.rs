//! Reception statistics for one source ([RFC 3550 Appendix A.1, A.3, A.8]): probation and
//! sequence validation, the extended highest sequence number, cumulative and fraction lost,
//! interarrival jitter, loss bursts for the E-model, and the NTP/RTP mapping from sender reports.
//!
//! The per-packet update does not allocate.
//!
//! [RFC 3550 Appendix A.1, A.3, A.8]: https://www.rfc-editor.org/rfc/rfc3550#appendix-A.1

use std::time::Duration;

use crate::rtcp::ReportBlock;
use crate::types::{NtpTime, SeqNo, Ssrc};

/// RFC 3550 A.1: "MAX_DROPOUT = 3000".
const MAX_DROPOUT: u16 = 3000;
/// RFC 3550 A.1: "MAX_MISORDER = 100".
const MAX_MISORDER: u16 = 100;
/// 2^16.
const RTP_SEQ_MOD: u32 = 1 << 16;

/// What [`SourceStats::update`] made of a packet.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum SeqUpdate {
    /// Counted: in order, late, or a duplicate within the misorder window.
    Valid,
    /// The source is still on probation (A.1 "MIN_SEQUENTIAL") and this packet did not end it.
    Probation,
    /// The source just passed probation with this packet.
    Validated,
    /// A large jump: ignored unless the next packet confirms it (then the source restarts).
    BadJump,
    /// The jump was confirmed: statistics restarted at this packet.
    Restarted,
}

/// The statistics of one received source, maintained per RFC 3550 Appendix A.
#[derive(Clone, Debug)]
pub struct SourceStats {
    ssrc: Ssrc,
    clock_rate: u32,
    max_seq: u16,
    cycles: u32,
    base_seq: u32,
    bad_seq: u32,
    probation: u8,
    received: u64,
    expected_prior: u64,
    received_prior: u64,
    /// Relative transit time and RTP timestamp of the last packet the jitter used.
    transit: Option<(u32, u32)>,
    jitter: f64,
    max_jitter: f64,
    duplicates: u64,
    loss_bursts: u64,
    last_sr: Option<LastSr>,
}

/// The last sender report from a source, as needed for LSR/DLSR and NTP/RTP mapping.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct LastSr {
    /// The SR's NTP timestamp.
    pub ntp: NtpTime,
    /// The SR's RTP timestamp.
    pub rtp_timestamp: u32,
    /// When it arrived, as a duration on the session's clock.
    pub arrival: Duration,
}

impl LastSr {
    /// The wallclock time of `rtp_timestamp` on a media clock of `clock_rate` Hz, from this SR's
    /// NTP/RTP pair (timestamps up to 2^31 ticks either side); `None` for a zero rate.
    pub fn ntp_for_rtp(&self, rtp_timestamp: u32, clock_rate: u32) -> Option<NtpTime> {
        if clock_rate == 0 {
            return None;
        }
        let delta = i64::from(rtp_timestamp.wrapping_sub(self.rtp_timestamp) as i32);
        let ntp_delta = (delta << 32) / i64::from(clock_rate);
        Some(NtpTime(self.ntp.0.wrapping_add_signed(ntp_delta)))
    }
}

impl SourceStats {
    /// Statistics for a source first heard with sequence number `seq` ([RFC 3550 A.1]: the
    /// source needs `min_sequential` packets in sequence before it is valid; 0 or 1 validates
    /// it at once). Call [`update`](Self::update) for that first packet too.
    ///
    /// [RFC 3550 A.1]: https://www.rfc-editor.org/rfc/rfc3550#appendix-A.1
    pub fn new(ssrc: Ssrc, seq: u16, clock_rate: u32, min_sequential: u8) -> Self {
        let mut s = Self {
            ssrc,
            clock_rate,
            max_seq: 0,
            cycles: 0,
            base_seq: 0,
            bad_seq: 0,
            probation: 0,
            received: 0,
            expected_prior: 0,
            received_prior: 0,
            transit: None,
            jitter: 0.0,
            max_jitter: 0.0,
            duplicates: 0,
            loss_bursts: 0,
            last_sr: None,
        };
        s.init_seq(seq);
        // RFC 3550 A.1: "s->max_seq = seq - 1; s->probation = MIN_SEQUENTIAL;"
        s.max_seq = seq.wrapping_sub(1);
        s.probation = min_sequential.max(1);
        s
    }

    fn init_seq(&mut self, seq: u16) {
        self.base_seq = u32::from(seq);
        self.max_seq = seq;
        self.bad_seq = RTP_SEQ_MOD + 1; // so seq == bad_seq is false
        self.cycles = 0;
        self.received = 0;
        self.received_prior = 0;
        self.expected_prior = 0;
    }

    /// Updates the statistics with one packet: sequence number `seq`, RTP timestamp `ts`, and
    /// arrival time `arrival` (any monotonic clock origin, the same for every call).
    ///
    /// Implements A.1 `update_seq` and the A.8 jitter estimator, updated for every packet past
    /// probation whose timestamp differs from the last one used (packets repeating a
    /// timestamp, such as an RFC 4733 event's, leave the jitter alone).
    #[inline]
    pub fn update(&mut self, seq: u16, ts: u32, arrival: Duration) -> SeqUpdate {
        let udelta = seq.wrapping_sub(self.max_seq);
        let result = if self.probation > 0 {
            // RFC 3550 A.1: "packet is in sequence"
            if seq == self.max_seq.wrapping_add(1) {
                self.probation -= 1;
                self.max_seq = seq;
                if self.probation == 0 {
                    self.init_seq(seq);
                    self.received += 1;
                    SeqUpdate::Validated
                } else {
                    return SeqUpdate::Probation;
                }
            } else {
                self.probation = self.probation.max(2) - 1;
                self.max_seq = seq;
                return SeqUpdate::Probation;
            }
        } else if udelta < MAX_DROPOUT {
            // In order, with permissible gap.
            if seq < self.max_seq {
                // RFC 3550 A.1: "Sequence number wrapped - count another 64K cycle."
                self.cycles += RTP_SEQ_MOD;
            }
            match udelta {
                0 => self.duplicates += 1,
                1 => {}
                _ => self.loss_bursts += 1,
            }
            self.max_seq = seq;
            self.received += 1;
            SeqUpdate::Valid
        } else if u32::from(udelta) <= RTP_SEQ_MOD - u32::from(MAX_MISORDER) {
            // The sequence number made a very large jump.
            if u32::from(seq) == self.bad_seq {
                // RFC 3550 A.1: "Two sequential packets -- assume that the other side restarted
                // without telling us so just re-sync (i.e., pretend this was the first packet)."
                self.init_seq(seq);
                self.received += 1;
                self.transit = None;
                SeqUpdate::Restarted
            } else {
                self.bad_seq = (u32::from(seq) + 1) & (RTP_SEQ_MOD - 1);
                return SeqUpdate::BadJump;
            }
        } else {
            // Duplicate or reordered packet.
            self.received += 1;
            SeqUpdate::Valid
        };
        self.update_jitter(ts, arrival);
        result
    }

    #[inline]
    fn update_jitter(&mut self, ts: u32, arrival: Duration) {
        // RFC 3550 A.8: arrival time in timestamp units; transit = arrival - r->ts.
        let ticks = (arrival.as_nanos() * u128::from(self.clock_rate) / 1_000_000_000) as u32;
        let transit = ticks.wrapping_sub(ts);
        if let Some((prev, prev_ts)) = self.transit {
            if prev_ts == ts {
                // The same timestamp again: an RFC 4733 event's packets all carry the event's
                // start (RFC 4733 §2.5.1.2), a video frame's packets share one, a duplicate
                // repeats it. Their spacing says nothing of the network's, and counting it
                // would report a key press as jitter (libwebrtc skips them; PJSIP skips DTMF).
                return;
            }
            let d = f64::from((transit.wrapping_sub(prev) as i32).unsigned_abs());
            // RFC 3550 A.8: "s->jitter += (1./16.) * ((double)d - s->jitter);"
            self.jitter += (d - self.jitter) / 16.0;
            self.max_jitter = self.max_jitter.max(self.jitter);
        }
        self.transit = Some((transit, ts));
    }

    /// Records a sender report from this source, received at `arrival`.
    pub fn handle_sender_report(&mut self, ntp: NtpTime, rtp_timestamp: u32, arrival: Duration) {
        self.last_sr = Some(LastSr {
            ntp,
            rtp_timestamp,
            arrival,
        });
    }

    /// The source.
    pub fn ssrc(&self) -> Ssrc {
        self.ssrc
    }

    /// Whether the source passed probation.
    pub fn is_valid(&self) -> bool {
        self.probation == 0
    }

    /// The extended highest sequence number received.
    pub fn extended_highest_seq(&self) -> SeqNo {
        SeqNo(u64::from(self.cycles) + u64::from(self.max_seq))
    }

    /// Packets received (duplicates included, as RFC 3550 A.3 counts them).
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Packets expected: extended highest minus base plus one (A.3).
    pub fn expected(&self) -> u64 {
        if !self.is_valid() {
            return 0;
        }
        (self.extended_highest_seq().0 + 1).saturating_sub(u64::from(self.base_seq))
    }

    /// Cumulative packets lost: expected minus received, negative with duplicates (A.3).
    pub fn cumulative_lost(&self) -> i64 {
        self.expected() as i64 - self.received as i64
    }

    /// Duplicates of the highest sequence number seen (an older duplicate cannot be told from a
    /// late packet without per-packet history).
    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }

    /// Number of loss bursts (gaps in the sequence), for the burst ratio.
    pub fn loss_bursts(&self) -> u64 {
        self.loss_bursts
    }

    /// Interarrival jitter in timestamp units (A.8).
    pub fn jitter(&self) -> f64 {
        self.jitter
    }

    /// Interarrival jitter in milliseconds.
    pub fn jitter_ms(&self) -> f64 {
        if self.clock_rate == 0 {
            0.0
        } else {
            self.jitter * 1000.0 / f64::from(self.clock_rate)
        }
    }

    /// The largest jitter seen so far, in milliseconds.
    pub fn max_jitter_ms(&self) -> f64 {
        if self.clock_rate == 0 {
            0.0
        } else {
            self.max_jitter * 1000.0 / f64::from(self.clock_rate)
        }
    }

    /// The media clock rate.
    pub fn clock_rate(&self) -> u32 {
        self.clock_rate
    }

    /// The last sender report of this source.
    pub fn last_sr(&self) -> Option<LastSr> {
        self.last_sr
    }

    /// The wallclock (NTP) time of an RTP timestamp of this source, from its last SR
    /// ([RFC 3550 §6.4.1]: the SR's NTP and RTP timestamps map the media clock to wallclock).
    ///
    /// [RFC 3550 §6.4.1]: https://www.rfc-editor.org/rfc/rfc3550#section-6.4.1
    pub fn ntp_for_rtp(&self, rtp_timestamp: u32) -> Option<NtpTime> {
        self.last_sr?.ntp_for_rtp(rtp_timestamp, self.clock_rate)
    }

    /// A report block for an RR/SR sent at `now` (same clock as the arrivals), and moves the
    /// interval for the fraction lost (A.3).
    pub fn report_block(&mut self, now: Duration) -> ReportBlock {
        let expected = self.expected();
        let expected_interval = expected.saturating_sub(self.expected_prior);
        self.expected_prior = expected;
        let received_interval = self.received.saturating_sub(self.received_prior);
        self.received_prior = self.received;
        let lost_interval = expected_interval as i64 - received_interval as i64;
        // RFC 3550 A.3: "if (expected_interval == 0 || lost_interval <= 0) fraction = 0;
        // else fraction = (lost_interval << 8) / expected_interval;"
        let fraction_lost = if expected_interval == 0 || lost_interval <= 0 {
            0
        } else {
            ((lost_interval << 8) / expected_interval as i64).min(255) as u8
        };
        let (lsr, dlsr) = match self.last_sr {
            Some(sr) => {
                let d = now.saturating_sub(sr.arrival);
                let dlsr = (d.as_nanos() * 65536 / 1_000_000_000).min(u128::from(u32::MAX));
                (sr.ntp.middle32(), dlsr as u32)
            }
            None => (0, 0),
        };
        ReportBlock {
            ssrc: self.ssrc,
            fraction_lost,
            cumulative_lost: ReportBlock::clamp_lost(self.cumulative_lost()),
            extended_highest_seq: self.extended_highest_seq().0 as u32,
            jitter: self.jitter as u32,
            lsr,
            dlsr,
        }
    }

    /// The G.107 burst ratio of the losses so far: observed mean burst length over the mean
    /// burst length of random loss at the same rate (1 for random loss, > 1 for bursty loss).
    /// From a two-state Markov model: p = bursts / received, q = bursts / lost,
    /// BurstR = 1 / (p + q).
    pub fn burst_ratio(&self) -> f64 {
        let lost = self.cumulative_lost();
        if lost <= 0 || self.loss_bursts == 0 || self.received == 0 {
            return 1.0;
        }
        let p = self.loss_bursts as f64 / self.received as f64;
        let q = self.loss_bursts as f64 / lost as f64;
        (1.0 / (p + q)).max(1.0)
    }

    /// A snapshot of the statistics.
    pub fn snapshot(&self) -> ReceptionStats {
        let expected = self.expected();
        let lost = self.cumulative_lost();
        ReceptionStats {
            ssrc: self.ssrc,
            received: self.received,
            expected,
            lost,
            loss_percent: if expected == 0 {
                0.0
            } else {
                lost.max(0) as f64 * 100.0 / expected as f64
            },
            extended_highest_seq: self.extended_highest_seq(),
            jitter: self.jitter as u32,
            jitter_ms: self.jitter_ms(),
            max_jitter_ms: self.max_jitter_ms(),
            duplicates: self.duplicates,
            burst_ratio: self.burst_ratio(),
            rtt: None,
            last_sr: self.last_sr,
        }
    }
}

/// A snapshot of one source's reception statistics.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReceptionStats {
    /// The source.
    pub ssrc: Ssrc,
    /// Packets received (duplicates included).
    pub received: u64,
    /// Packets expected.
    pub expected: u64,
    /// Cumulative lost (expected - received; negative with duplicates).
    pub lost: i64,
    /// Loss in percent of expected (0 when negative).
    pub loss_percent: f64,
    /// Extended highest sequence number.
    pub extended_highest_seq: SeqNo,
    /// Interarrival jitter, timestamp units.
    pub jitter: u32,
    /// Interarrival jitter, ms.
    pub jitter_ms: f64,
    /// Largest jitter seen, ms.
    pub max_jitter_ms: f64,
    /// Duplicates seen.
    pub duplicates: u64,
    /// G.107 burst ratio of the losses.
    pub burst_ratio: f64,
    /// Round-trip time measured from the source's reports about us (LSR/DLSR).
    pub rtt: Option<Duration>,
    /// The last sender report of the source.
    pub last_sr: Option<LastSr>,
}

/// Round-trip time from a report block about us received at NTP time `arrival`
/// ([RFC 3550 §6.4.1]: "A - LSR - DLSR"); `None` without an LSR or when negative.
///
/// [RFC 3550 §6.4.1]: https://www.rfc-editor.org/rfc/rfc3550#section-6.4.1
pub fn rtt_from_report(arrival: NtpTime, lsr: u32, dlsr: u32) -> Option<Duration> {
    if lsr == 0 {
        return None;
    }
    let a = arrival.middle32();
    let rtt = a.wrapping_sub(lsr).wrapping_sub(dlsr);
    if (rtt as i32) < 0 {
        return None;
    }
    Some(Duration::from_nanos(u64::from(rtt) * 1_000_000_000 / 65536))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn probation_then_counting() {
        let mut s = SourceStats::new(Ssrc(1), 100, 8000, 2);
        assert_eq!(s.update(100, 0, ms(0)), SeqUpdate::Probation);
        assert!(!s.is_valid());
        assert_eq!(s.update(101, 160, ms(20)), SeqUpdate::Validated);
        assert_eq!(s.expected(), 1);
        assert_eq!(s.update(102, 320, ms(40)), SeqUpdate::Valid);
        // 103 and 104 lost.
        assert_eq!(s.update(105, 800, ms(100)), SeqUpdate::Valid);
        assert_eq!(s.expected(), 5);
        assert_eq!(s.received(), 3);
        assert_eq!(s.cumulative_lost(), 2);
        let rb = s.report_block(ms(100));
        // 2 lost of 5 expected: (2 << 8) / 5 = 102.
        assert_eq!(rb.fraction_lost, 102);
        assert_eq!(rb.cumulative_lost, 2);
        assert_eq!(rb.extended_highest_seq, 105);
        // Next interval: nothing new, fraction 0.
        assert_eq!(s.report_block(ms(200)).fraction_lost, 0);
    }

    #[test]
    fn wrap_duplicates_and_restart() {
        let mut s = SourceStats::new(Ssrc(1), 0xFFFE, 8000, 0);
        assert_eq!(s.update(0xFFFE, 0, ms(0)), SeqUpdate::Validated);
        s.update(0xFFFF, 160, ms(20));
        s.update(0x0000, 320, ms(40));
        assert_eq!(s.extended_highest_seq(), SeqNo(0x1_0000));
        s.update(0x0000, 320, ms(41));
        assert_eq!(s.duplicates(), 1);
        assert_eq!(s.cumulative_lost(), -1);
        // A jump of 10000: ignored once, accepted when the next packet confirms it.
        assert_eq!(s.update(10000, 0, ms(60)), SeqUpdate::BadJump);
        assert_eq!(s.update(10001, 160, ms(80)), SeqUpdate::Restarted);
        assert_eq!(s.expected(), 1);
        assert_eq!(s.received(), 1);
    }

    #[test]
    fn jitter_follows_a8() {
        // Packets every 20 ms (160 ticks) arriving 0, 25, 40, 60 ms: transit differences are
        // 0, 40 ticks (5 ms late), 40 ticks back, 0.
        let mut s = SourceStats::new(Ssrc(1), 0, 8000, 0);
        s.update(0, 0, ms(0));
        s.update(1, 160, ms(25));
        assert!((s.jitter() - 40.0 / 16.0).abs() < 1e-9);
        s.update(2, 320, ms(40));
        let j = 2.5 + (40.0 - 2.5) / 16.0;
        assert!((s.jitter() - j).abs() < 1e-9);
        s.update(3, 480, ms(60));
        let j = j + (0.0 - j) / 16.0;
        assert!((s.jitter() - j).abs() < 1e-9);
        assert!((s.jitter_ms() - j / 8.0).abs() < 1e-9);
    }

    #[test]
    fn a_key_press_with_a_frozen_timestamp_is_not_jitter() {
        // Audio every 20 ms, then an RFC 4733 event: five packets 50 ms apart, all with the
        // event's start timestamp 480, then audio again at 640 (in time). Only packets with a
        // new timestamp move the estimate: none of them arrives off its schedule.
        let mut s = SourceStats::new(Ssrc(1), 0, 8000, 0);
        for (seq, ts, at) in [(0, 0, 0), (1, 160, 20), (2, 320, 40), (3, 480, 60)] {
            s.update(seq, ts, ms(at));
        }
        for (i, at) in [110, 160, 210, 210, 210].into_iter().enumerate() {
            s.update(4 + i as u16, 480, ms(at));
        }
        assert_eq!(s.jitter(), 0.0);
        s.update(9, 640, ms(80));
        assert_eq!(s.jitter(), 0.0);
        // A late packet with a new timestamp still counts: 5 ms (40 ticks) late.
        s.update(10, 800, ms(105));
        assert!((s.jitter() - 40.0 / 16.0).abs() < 1e-9);
    }

    #[test]
    fn lsr_dlsr_rtt_and_ntp_mapping() {
        let mut s = SourceStats::new(Ssrc(1), 0, 8000, 0);
        let ntp = NtpTime((1000 << 32) | 0x8000_0000);
        s.handle_sender_report(ntp, 8000, ms(1000));
        let rb = s.report_block(ms(1500));
        assert_eq!(rb.lsr, ((1000 << 16) | 0x8000) as u32);
        assert_eq!(rb.dlsr, 32768); // 0.5 s in 1/65536 s
        // 1 s of media after the SR is 1 s of wallclock later.
        assert_eq!(s.ntp_for_rtp(16000), Some(NtpTime(ntp.0 + (1 << 32))));
        assert_eq!(s.ntp_for_rtp(4000), Some(NtpTime(ntp.0 - (1 << 31))));
        // RFC 3550 §6.4.1 example: A = 0xb710:8000, LSR = 0xb705:2000, DLSR = 0x0005:4000
        // gives 0x0006:2000 = 6.125 s.
        let a = NtpTime(0xB710_8000u64 << 16);
        assert_eq!(
            rtt_from_report(a, 0xB705_2000, 0x0005_4000),
            Some(Duration::from_millis(6125))
        );
        assert_eq!(rtt_from_report(a, 0, 0), None);
    }

    #[test]
    fn burst_ratio_is_one_for_isolated_losses_and_larger_for_bursts() {
        let mut s = SourceStats::new(Ssrc(1), 0, 8000, 0);
        let mut seq = 0u16;
        for i in 0..1000u32 {
            seq = seq.wrapping_add(if i % 10 == 9 { 2 } else { 1 });
            s.update(seq, 0, ms(0));
        }
        let random = s.burst_ratio();
        let mut b = SourceStats::new(Ssrc(1), 0, 8000, 0);
        let mut seq = 0u16;
        for i in 0..1000u32 {
            seq = seq.wrapping_add(if i % 50 == 49 { 6 } else { 1 });
            b.update(seq, 0, ms(0));
        }
        assert!((random - 1.0).abs() < 0.15, "{random}");
        assert!(b.burst_ratio() > 4.0, "{}", b.burst_ratio());
    }
}
