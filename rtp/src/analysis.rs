//! Capture analysis of one RTP stream, computed the way Wireshark 4.0's RTP stream analysis
//! does (`ui/tap-rtp-analysis.c` and `tap-rtp-common.c`, used by `tshark -z rtp,streams`), so
//! our tools and Wireshark agree on the same capture. `.ci/interop/rtp/differential.py` checks
//! it stream by stream against tshark 4.0.17 on seeded captures of many call shapes.
//!
//! The computation, and where it departs from RFC 3550:
//! - **Expected and lost.** expected = last packet's sequence number - first packet's + 1 +
//!   65536 per cycle; a cycle is counted when a number (in time sequence, see below) comes
//!   below the first packet's, and again only after one above it. lost = expected - packets,
//!   every packet counted, duplicates too. RFC 3550 A.3 counts from the base to the *highest*
//!   extended number after A.1's validation: Wireshark's lost is negative with duplicates, a
//!   late last packet shortens expected, and a sender restart below the first number (same
//!   SSRC) reads as some 65000 packets lost where A.1 would resynchronise.
//! - **Time sequence.** A packet is in time sequence when its timestamp is at most 2^31 ahead
//!   of the *first* packet's (modulo 2^32; RFC 3550 has no such notion). Out of sequence it
//!   counts (packets, sequence check) but takes no part in the jitter, the delta, the cycle
//!   count, and does not move the arrival reference; it is a "timestamp error" (Wireshark's
//!   problem flag with the sequence errors).
//! - **Jitter.** RFC 3550 A.8's estimator J += (|D| - J)/16 in milliseconds, with D against the
//!   last in-sequence packet's arrival and the nominal time of the last packet with a known
//!   clock, the nominal time being (timestamp - first timestamp) / (clock / 1000) with an
//!   *integer* ticks-per-ms (44100 Hz reads as 44): a stream whose clock changes mid-way (a
//!   re-INVITE from Opus to PCMU with the timestamp running on) shows one large D, and a
//!   telephone event (no clock, RFC 4733) moves the arrival reference but not the nominal one.
//! - **Max and mean jitter** over the "regular" packets only: not the first, not marked, not
//!   comfort noise (PT 13 or 19) nor right after it, in time sequence. The mean divides the
//!   sum by the packets before each one, all packets counted (`(mean * (n - 1) + J) / n`).
//!   RFC 3550 defines the jitter only; these are Wireshark's figures.
//! - **Clock rates** ([`analysis_clock_rate`]): a static type's from RFC 3551 whatever the SDP
//!   says; a dynamic type's from the SDP in effect, none for telephone-event.
//!
//! This differs from the receiver statistics of [`crate::stats`] on purpose: those follow RFC
//! 3550 A.1 (probation, base sequence fixed at the first valid packet) for RTCP reports.

use std::time::Duration;

use crate::packet::RtpPacket;
use crate::quality::{self, CodecImpairment, EModelInput, Quality};
use crate::types::Ssrc;

/// Comfort noise payload types (RFC 3389, and the old value 19) that Wireshark leaves out of
/// the jitter figures.
const PT_CN: u8 = 13;
const PT_CN_OLD: u8 = 19;

/// The running analysis of one stream.
#[derive(Clone, Debug, Default)]
pub struct StreamAnalysis {
    ssrc: Ssrc,
    payload_type: Option<u8>,
    last_pt: u8,
    packets: u64,
    first_arrival: Duration,
    last_arrival: Duration,
    /// Arrival (ms) of the last packet whose timestamp was in sequence.
    time_ms: f64,
    /// RTP timestamp of the first packet: Wireshark 4.0 measures every timestamp from it.
    first_timestamp: u32,
    /// Nominal time (ms since the first packet's timestamp) of the last packet with a clock.
    last_nominal_ms: f64,
    /// Timestamp of the previous in-sequence packet with a known clock (packetization only).
    last_clock_ts: u32,
    /// Sequence numbers of the first and the last packet (in capture order), and the
    /// sequence cycles counted Wireshark's way (`seq_cycles` and its `under` flag).
    start_seq: u16,
    stop_seq: u16,
    seq_cycles: u64,
    under: bool,
    seq_num: u16,
    sequence_errors: u64,
    timestamp_errors: u64,
    loss_bursts: u64,
    jitter_ms: f64,
    max_jitter_ms: f64,
    mean_jitter_ms: f64,
    max_delta_ms: f64,
    packetization_ticks: Option<u64>,
    clock_rate: u32,
}

/// The figures of a stream.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StreamSummary {
    /// The stream's SSRC.
    pub ssrc: Ssrc,
    /// The first payload type that carries media (not a telephone event), or the first seen.
    pub payload_type: u8,
    /// Packets received.
    pub packets: u64,
    /// Packets expected, Wireshark's way: from the first packet's sequence number to the last
    /// packet's, plus 65536 per sequence cycle counted (negative when the last packet is
    /// behind the first without a cycle counted, e.g. after a sender restart).
    pub expected: i64,
    /// Expected minus received (negative with duplicates).
    pub lost: i64,
    /// Lost in percent of expected.
    pub loss_percent: f64,
    /// Largest jitter, ms.
    pub max_jitter_ms: f64,
    /// Mean jitter over the regular packets, ms.
    pub mean_jitter_ms: f64,
    /// Largest gap between consecutive regular packets, ms.
    pub max_delta_ms: f64,
    /// Packets whose sequence number was not the previous plus one.
    pub sequence_errors: u64,
    /// Packets whose timestamp is behind the first packet's (more than 2^31 ticks ahead of
    /// it, modulo 2^32): Wireshark's "wrong timestamp", left out of the jitter.
    pub timestamp_errors: u64,
    /// From the first to the last packet.
    pub duration: Duration,
    /// Clock rate used for the jitter (0 if unknown).
    pub clock_rate: u32,
    /// Packetization interval, ms (from the timestamp step), 0 if unknown.
    pub packetization_ms: f64,
    /// G.107 burst ratio of the losses.
    pub burst_ratio: f64,
}

impl StreamAnalysis {
    /// An empty analysis.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a packet captured at `arrival` (any fixed origin). `clock_rate` is the packet's
    /// payload clock rate in Hz, or 0 for payloads whose timestamps do not advance with time
    /// (telephone events): those count for sequence and loss but not for jitter.
    ///
    /// The computation is Wireshark 4.0's (`rtppacket_analyse`), step for step, including
    /// where it departs from RFC 3550 (see the module documentation).
    pub fn handle<T: AsRef<[u8]>>(
        &mut self,
        arrival: Duration,
        packet: &RtpPacket<T>,
        clock_rate: u32,
    ) {
        let pt = packet.payload_type();
        let seq = packet.sequence_number();
        let ts = packet.timestamp();
        let now_ms = arrival.as_secs_f64() * 1000.0;
        if self.packets == 0 {
            self.ssrc = packet.ssrc();
            self.first_arrival = arrival;
            self.last_arrival = arrival;
            self.time_ms = now_ms;
            self.first_timestamp = ts;
            self.last_clock_ts = ts;
            self.start_seq = seq;
            self.stop_seq = seq;
            self.seq_num = seq;
            self.last_pt = pt;
            if clock_rate != 0 {
                self.payload_type = Some(pt);
                self.clock_rate = clock_rate;
            }
            self.packets = 1;
            return;
        }
        self.last_arrival = self.last_arrival.max(arrival);
        // In time sequence: at most 2^31 ticks after the first packet's timestamp, modulo
        // 2^32 (so a timestamp wrap is in sequence, a packet from before the first is not).
        let since_first = ts.wrapping_sub(self.first_timestamp);
        let in_time = since_first < 0x8000_0000;
        if !in_time {
            self.timestamp_errors += 1;
        }
        // Sequence cycles, counted against the first packet's sequence number.
        if in_time && !self.under && (seq < self.start_seq || (seq == 0 && self.stop_seq == 0xFFFF))
        {
            self.seq_cycles += 1;
            self.under = true;
        } else if in_time && self.under && seq > self.start_seq {
            self.under = false;
        }
        // Sequence check, in C int arithmetic on the 16-bit values.
        let (prev, cur) = (i32::from(self.seq_num), i32::from(seq));
        if in_time && (prev + 1 == cur || (prev == 0xFFFF && cur == 0)) {
            self.seq_num = seq;
        } else if in_time && (prev + 1 < cur || prev - cur > 0xFF00) {
            // A gap: packets lost (or a wrap whose packets were lost).
            self.seq_num = seq;
            self.sequence_errors += 1;
            self.loss_bursts += 1;
        } else if prev + 1 > cur {
            // Late or duplicated.
            self.sequence_errors += 1;
        }
        let is_cn = pt == PT_CN || pt == PT_CN_OLD;
        let follows_cn = self.last_pt == PT_CN || self.last_pt == PT_CN_OLD;
        self.last_pt = pt;

        // Arrival minus arrival of the previous in-sequence packet, ms (Wireshark's `delta`);
        // a packet out of time sequence has none (and is not regular below).
        let mut delta_ms = 0.0;
        if in_time {
            if clock_rate != 0 {
                self.clock_rate = clock_rate;
                if self.payload_type.is_none() {
                    self.payload_type = Some(pt);
                }
                let step = u64::from(ts.wrapping_sub(self.last_clock_ts));
                if step > 0 && step < u64::from(clock_rate) {
                    self.packetization_ticks =
                        Some(self.packetization_ticks.map_or(step, |p| p.min(step)));
                }
                self.last_clock_ts = ts;
                // Wireshark converts with an integer ms clock: "nominaltime /(clock_rate/1000)"
                // (it divides by zero below 1000 Hz; this keeps 1).
                let per_ms = f64::from((clock_rate / 1000).max(1));
                let nominal = f64::from(since_first) / per_ms;
                let expected_time = self.time_ms + (nominal - self.last_nominal_ms);
                let diff = (now_ms - expected_time).abs();
                self.jitter_ms = (15.0 * self.jitter_ms + diff) / 16.0;
                self.last_nominal_ms = nominal;
            }
            delta_ms = now_ms - self.time_ms;
        }
        // Regular: not marked, not comfort noise nor right after it, timestamp in sequence.
        if in_time && !packet.marker() && !is_cn && !follows_cn {
            self.max_delta_ms = self.max_delta_ms.max(delta_ms);
            if clock_rate != 0 {
                self.max_jitter_ms = self.max_jitter_ms.max(self.jitter_ms);
                // The mean over the N-1 differences of N packets.
                let n = self.packets as f64;
                self.mean_jitter_ms = (self.mean_jitter_ms * (n - 1.0) + self.jitter_ms) / n;
            }
        }
        if in_time {
            self.time_ms = now_ms;
        }
        self.stop_seq = seq;
        self.packets += 1;
    }

    /// The figures so far.
    pub fn summary(&self) -> StreamSummary {
        let expected = if self.packets == 0 {
            0
        } else {
            i64::from(self.stop_seq) + (self.seq_cycles as i64) * 0x1_0000
                - i64::from(self.start_seq)
                + 1
        };
        let lost = expected - self.packets as i64;
        let loss_percent = if expected == 0 {
            0.0
        } else {
            lost as f64 * 100.0 / expected as f64
        };
        let burst_ratio = if lost > 0 && self.loss_bursts > 0 {
            let p = self.loss_bursts as f64 / self.packets as f64;
            let q = self.loss_bursts as f64 / lost as f64;
            (1.0 / (p + q)).max(1.0)
        } else {
            1.0
        };
        StreamSummary {
            ssrc: self.ssrc,
            payload_type: self.payload_type.unwrap_or(self.last_pt),
            packets: self.packets,
            expected,
            lost,
            loss_percent,
            max_jitter_ms: self.max_jitter_ms,
            mean_jitter_ms: self.mean_jitter_ms,
            max_delta_ms: self.max_delta_ms,
            sequence_errors: self.sequence_errors,
            timestamp_errors: self.timestamp_errors,
            duration: self.last_arrival.saturating_sub(self.first_arrival),
            clock_rate: self.clock_rate,
            packetization_ms: match (self.packetization_ticks, self.clock_rate) {
                (Some(t), r) if r > 0 => t as f64 * 1000.0 / f64::from(r),
                _ => 0.0,
            },
            burst_ratio,
        }
    }
}

impl StreamSummary {
    /// An E-model estimate for the stream as a listener saw it: the codec's Ie/Bpl (from
    /// `codec`), its packetization, the measured loss and burstiness, and a playout delay of
    /// twice the largest jitter (an adaptive buffer's usual target); the network delay is not
    /// in a one-sided capture, so it is 0.
    pub fn quality(&self, codec: CodecImpairment) -> Quality {
        quality::estimate(&EModelInput {
            codec,
            packetization_ms: self.packetization_ms,
            one_way_delay_ms: 0.0,
            jitter_buffer_ms: 2.0 * self.max_jitter_ms,
            // Wireshark's lost can be negative (duplicates) and its expected count can be
            // negative too (a sender restart behind the first sequence number): the E-model
            // takes a loss rate in 0..=100 %, so neither leaks in.
            loss_percent: if self.expected > 0 {
                self.loss_percent.clamp(0.0, 100.0)
            } else {
                0.0
            },
            burst_ratio: self.burst_ratio,
        })
    }
}

/// The clock rate of a static payload type ([RFC 3551 §6] table 4, and 8000 for 19, the old
/// comfort noise type), 0 if unknown or dynamic.
///
/// [RFC 3551 §6]: https://www.rfc-editor.org/rfc/rfc3551#section-6
pub fn static_clock_rate(pt: u8) -> u32 {
    match pt {
        0..=5 | 7..=9 | 12 | 13 | 15 | 18 | 19 => 8000,
        6 => 16000,
        10 | 11 => 44100,
        14 | 25 | 26 | 28 | 31..=34 => 90000,
        16 => 11025,
        17 => 22050,
        _ => 0,
    }
}

/// The clock rate Wireshark's RTP analysis uses for a packet of payload type `pt`, given the
/// `a=rtpmap` encoding name and clock rate the SDP in effect gives it (if any): RFC 3551's
/// table for a static type (0-95, [`static_clock_rate`]) whatever the SDP says; for a
/// dynamic type the SDP's rate, except 0 for `telephone-event` (RFC 4733 §2.1: its
/// timestamp is the event's start, not a clock); 0 without an SDP mapping.
pub fn analysis_clock_rate(pt: u8, rtpmap: Option<(&str, u32)>) -> u32 {
    if pt < 96 {
        return static_clock_rate(pt);
    }
    match rtpmap {
        Some((name, _))
            if name
                .get(..15)
                .is_some_and(|n| n.eq_ignore_ascii_case("telephone-event")) =>
        {
            0
        }
        Some((_, rate)) => rate,
        None => 0,
    }
}

/// The E-model factors of a static payload type's codec (G.711 with PLC when unknown).
pub fn codec_for_payload_type(pt: u8) -> CodecImpairment {
    match pt {
        4 => CodecImpairment::G723_1,
        18 => CodecImpairment::G729A,
        _ => CodecImpairment::G711_PLC,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::RtpHeader;

    fn pkt(seq: u16, ts: u32, marker: bool) -> RtpPacket<Vec<u8>> {
        let h = RtpHeader {
            sequence_number: seq,
            timestamp: ts,
            marker,
            ssrc: Ssrc(9),
            ..Default::default()
        };
        RtpPacket::new_checked(h.to_vec(&[0; 160]).unwrap()).unwrap()
    }

    /// The summary of 8 kHz packets (arrival in microseconds, seq, timestamp, marker).
    fn analyse(packets: &[(u64, u16, u32, bool)]) -> StreamSummary {
        let mut a = StreamAnalysis::new();
        for &(us, seq, ts, marker) in packets {
            a.handle(Duration::from_micros(us), &pkt(seq, ts, marker), 8000);
        }
        a.summary()
    }

    #[test]
    fn lost_jitter_and_sequence_errors_like_wireshark() {
        // 20 ms packets across the sequence wrap; one packet 5 ms late, seq 2 lost.
        let s = analyse(&[
            (0, 65534, 0, true),
            (20_000, 65535, 160, false),
            (40_000, 0, 320, false),
            (65_000, 1, 480, false),  // 5 ms late
            (100_000, 3, 800, false), // 2 lost
        ]);
        assert_eq!(s.packets, 5);
        assert_eq!(s.expected, 6);
        assert_eq!(s.lost, 1);
        assert_eq!(s.sequence_errors, 1);
        // Jitter: diffs 0, 0, 5, 5 (the packet after the late one is 5 ms early relative to it).
        let j1 = 5.0 / 16.0;
        let j2 = (15.0 * j1 + 5.0) / 16.0;
        assert!((s.max_jitter_ms - j2).abs() < 1e-9);
        // Mean over the regular packets 2..5 (the first is marked and first): (0+0+j1+j2)/4.
        assert!(
            (s.mean_jitter_ms - (j1 + j2) / 4.0).abs() < 1e-9,
            "{}",
            s.mean_jitter_ms
        );
        assert!((s.packetization_ms - 20.0).abs() < 1e-9);
        assert_eq!(s.duration, Duration::from_millis(100));
        let q = s.quality(codec_for_payload_type(0));
        assert!(q.mos_cq < 4.4);
    }

    /// A packet whose timestamp is behind the first packet's is out of time sequence for
    /// Wireshark 4.0: counted (packets, sequence errors, timestamp errors) but left out of
    /// the jitter, and the arrival reference stays on the packet before it.
    #[test]
    fn a_timestamp_behind_the_first_is_out_of_time_sequence() {
        let s = analyse(&[
            (0, 100, 1000, false),
            (20_000, 101, 1160, false),
            (25_000, 99, 840, false),   // from before the first
            (43_000, 102, 1320, false), // 3 ms late against 101
        ]);
        assert_eq!((s.packets, s.expected, s.lost), (4, 3, -1));
        assert_eq!((s.sequence_errors, s.timestamp_errors), (1, 1));
        // D = 0 for 101; D = |43 - (20 + 20)| = 3 for 102 (not against the late packet).
        assert!(
            (s.max_jitter_ms - 3.0 / 16.0).abs() < 1e-12,
            "{}",
            s.max_jitter_ms
        );
        // The mean divides by the packets before, the late one included: (0 * 2 + 3/16) / 3.
        assert!(
            (s.mean_jitter_ms - 1.0 / 16.0).abs() < 1e-12,
            "{}",
            s.mean_jitter_ms
        );
        assert!((s.max_delta_ms - 23.0).abs() < 1e-9);
    }

    /// Expected is counted from the first packet's sequence number to the last packet's
    /// (not the highest): a late last packet shortens it, and the duplicates' negative loss
    /// stays out of the E-model.
    #[test]
    fn expected_runs_from_the_first_to_the_last_packet() {
        let s = analyse(&[
            (0, 1, 160, false),
            (20_000, 2, 320, false),
            (40_000, 3, 480, false),
            (60_000, 5, 800, false),
            (80_000, 4, 640, false),
        ]);
        assert_eq!((s.packets, s.expected, s.lost), (5, 4, -1));
        assert!(s.loss_percent < 0.0);
        let clean = StreamSummary {
            lost: 0,
            loss_percent: 0.0,
            ..s
        };
        let codec = codec_for_payload_type(0);
        assert_eq!(s.quality(codec), clean.quality(codec));
        // A last packet behind the first without a cycle: expected <= 0, its "loss rate"
        // (lost / expected, positive) is no loss rate at all.
        let s = analyse(&[
            (0, 1000, 8000, false),
            (20_000, 1001, 8160, false),
            (25_000, 998, 7680, false),
        ]);
        assert_eq!((s.expected, s.lost), (-1, -4));
        assert_eq!(
            s.quality(codec),
            StreamSummary {
                loss_percent: 0.0,
                ..s
            }
            .quality(codec)
        );
    }

    #[test]
    fn clock_rates_as_wireshark_reads_them() {
        // Static types: RFC 3551's table whatever the SDP says (G.722 announced 16000).
        assert_eq!(analysis_clock_rate(9, Some(("G722", 16000))), 8000);
        assert_eq!(analysis_clock_rate(6, None), 16000);
        assert_eq!(analysis_clock_rate(19, None), 8000);
        assert_eq!(analysis_clock_rate(77, Some(("L16", 16000))), 0);
        // Dynamic types: the SDP's rate; telephone-event and unmapped types have none.
        assert_eq!(analysis_clock_rate(111, Some(("opus", 48000))), 48000);
        assert_eq!(analysis_clock_rate(101, Some(("telephone-event", 8000))), 0);
        assert_eq!(
            analysis_clock_rate(101, Some(("TELEPHONE-EVENT", 48000))),
            0
        );
        assert_eq!(analysis_clock_rate(96, None), 0);
    }
}
