//! Capture analysis of one RTP stream, computed the way Wireshark's RTP stream analysis does
//! (`tap-rtp-analysis.c`, used by `tshark -z rtp,streams`), so our tools and Wireshark agree on
//! the same capture: lost = (highest - lowest extended sequence + 1) - packets, jitter in ms with
//! the RFC 3550 A.8 estimator over arrival times, sequence errors, and max/mean jitter over the
//! "regular" packets (not the first, not marked, not comfort noise, not late in timestamp).
//!
//! This differs from the receiver statistics of [`crate::stats`] on purpose: those follow RFC
//! 3550 A.1 (probation, base sequence fixed at the first valid packet) for RTCP reports.

use std::time::Duration;

use crate::packet::RtpPacket;
use crate::quality::{self, CodecImpairment, EModelInput, Quality};
use crate::types::{SeqNo, Ssrc};

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
    /// Arrival (ms) of the previous packet.
    time_ms: f64,
    /// Extended timestamp of the previous packet with a known clock rate.
    seq_timestamp: u64,
    last_ext_ts: u64,
    last_ext_seq: SeqNo,
    start_seq: u64,
    stop_seq: u64,
    seq_num: u16,
    sequence_errors: u64,
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
    /// Packets expected from the lowest and highest extended sequence numbers.
    pub expected: u64,
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
            self.seq_timestamp = u64::from(ts);
            self.last_ext_ts = u64::from(ts);
            self.last_ext_seq = SeqNo(u64::from(seq) + 0x1_0000);
            self.start_seq = self.last_ext_seq.0;
            self.stop_seq = self.last_ext_seq.0;
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
        // Extended sequence number and timestamp, relative to the previous packet (the RTP
        // dissector's approach); the first packet starts in cycle 1 so late packets before it
        // do not underflow.
        let ext_seq = self.last_ext_seq.extend(seq);
        self.last_ext_seq = ext_seq;
        let ext_ts = extend_ts(self.last_ext_ts, ts);
        let ts_in_order = ext_ts >= self.last_ext_ts;
        self.last_ext_ts = ext_ts;

        // Sequence check as Wireshark does it, in C int arithmetic on the 16-bit values.
        let (prev, cur) = (i32::from(self.seq_num), i32::from(seq));
        if prev + 1 == cur || (prev == 0xFFFF && cur == 0) {
            self.seq_num = seq;
        } else if prev + 1 < cur || prev - cur > 0xFF00 {
            // A gap: packets lost (or a wrap whose packets were lost).
            self.seq_num = seq;
            self.sequence_errors += 1;
            self.loss_bursts += 1;
        } else {
            // Late or duplicated.
            self.sequence_errors += 1;
        }
        let is_cn = pt == PT_CN || pt == PT_CN_OLD;
        let follows_cn = self.last_pt == PT_CN || self.last_pt == PT_CN_OLD;
        self.last_pt = pt;

        let mut current_jitter = self.jitter_ms;
        let delta = now_ms - self.time_ms;
        if clock_rate != 0 {
            self.clock_rate = clock_rate;
            if self.payload_type.is_none() {
                self.payload_type = Some(pt);
            }
            let step = ext_ts.saturating_sub(self.seq_timestamp);
            if ts_in_order && step > 0 && step < u64::from(clock_rate) {
                self.packetization_ticks =
                    Some(self.packetization_ticks.map_or(step, |p| p.min(step)));
            }
            // Wireshark converts with an integer ms clock: "nominaltime_diff /(clock_rate/1000)".
            let per_ms = f64::from((clock_rate / 1000).max(1));
            let nominal = (ext_ts as f64 - self.seq_timestamp as f64) / per_ms;
            let expected_time = self.time_ms + nominal;
            let diff = (now_ms - expected_time).abs();
            current_jitter = (15.0 * self.jitter_ms + diff) / 16.0;
            self.jitter_ms = current_jitter;
        }
        let regular = !packet.marker() && !is_cn && !follows_cn;
        if regular {
            self.max_delta_ms = self.max_delta_ms.max(delta);
            if clock_rate != 0 {
                self.max_jitter_ms = self.max_jitter_ms.max(self.jitter_ms);
                // The mean over the N-1 differences of N packets.
                let n = self.packets as f64;
                self.mean_jitter_ms = (self.mean_jitter_ms * (n - 1.0) + current_jitter) / n;
            }
        }
        // As tshark 4.0 does: the arrival reference moves with every packet, the timestamp
        // reference only with packets whose clock is known (so a telephone event between audio
        // packets shows up as one large difference, as in Wireshark).
        self.time_ms = now_ms;
        if clock_rate != 0 {
            self.seq_timestamp = ext_ts;
        }
        self.start_seq = self.start_seq.min(ext_seq.0);
        self.stop_seq = self.stop_seq.max(ext_seq.0);
        self.packets += 1;
    }

    /// The figures so far.
    pub fn summary(&self) -> StreamSummary {
        let expected = if self.packets == 0 {
            0
        } else {
            self.stop_seq - self.start_seq + 1
        };
        let lost = expected as i64 - self.packets as i64;
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
            loss_percent: self.loss_percent.max(0.0),
            burst_ratio: self.burst_ratio,
        })
    }
}

fn extend_ts(last: u64, ts: u32) -> u64 {
    let cand = (last & !0xFFFF_FFFF) | u64::from(ts);
    let diff = cand as i128 - last as i128;
    if diff > 0x8000_0000 && cand >= 0x1_0000_0000 {
        cand - 0x1_0000_0000
    } else if diff < -0x8000_0000 {
        cand + 0x1_0000_0000
    } else {
        cand
    }
}

/// The clock rate of a static payload type ([RFC 3551 §6] table 4), 0 if unknown or dynamic.
///
/// [RFC 3551 §6]: https://www.rfc-editor.org/rfc/rfc3551#section-6
pub fn static_clock_rate(pt: u8) -> u32 {
    match pt {
        0..=9 | 12 | 13 | 15 | 18 => 8000,
        10 | 11 => 44100,
        14 | 25 | 26 | 28 | 31..=34 => 90000,
        16 => 11025,
        17 => 22050,
        _ => 0,
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

    #[test]
    fn lost_jitter_and_sequence_errors_like_wireshark() {
        let mut a = StreamAnalysis::new();
        let ms = |n: u64| Duration::from_micros(n);
        // 20 ms packets across the sequence wrap; one packet 5 ms late, seq 2 lost.
        a.handle(ms(0), &pkt(65534, 0, true), 8000);
        a.handle(ms(20_000), &pkt(65535, 160, false), 8000);
        a.handle(ms(40_000), &pkt(0, 320, false), 8000);
        a.handle(ms(65_000), &pkt(1, 480, false), 8000); // 5 ms late
        a.handle(ms(100_000), &pkt(3, 800, false), 8000); // 2 lost
        let s = a.summary();
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
}
