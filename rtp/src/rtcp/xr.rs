//! Extended reports, XR (207) ([RFC 3611]): RRTR, DLRR, statistics summary and VoIP metrics;
//! other block types are kept as bytes.
//!
//! [RFC 3611]: https://www.rfc-editor.org/rfc/rfc3611

use super::{List, WireItem, put_u16, put_u32, put_u64, u32_at, u64_at};
use crate::packet::be16;
use crate::types::{NtpTime, Ssrc};

/// An XR packet to send; a received one is read through the
/// [`ExtendedReport`](super::ExtendedReport) view.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ExtendedReport<'a> {
    /// SSRC of the packet sender.
    pub ssrc: Ssrc,
    /// The report blocks.
    pub blocks: List<'a, XrBlock<'a>>,
}

impl<'a> ExtendedReport<'a> {
    pub(super) fn body_len(&self) -> usize {
        4 + self.blocks.encoded_len()
    }

    pub(super) fn write_body(&self, out: &mut [u8]) {
        put_u32(out, 0, self.ssrc.0);
        if let Some(o) = out.get_mut(4..) {
            self.blocks.encode(o);
        }
    }
}

/// Block type values ([RFC 3611 §4]).
mod bt {
    pub(super) const RRTR: u8 = 4;
    pub(super) const DLRR: u8 = 5;
    pub(super) const STATISTICS_SUMMARY: u8 = 6;
    pub(super) const VOIP_METRICS: u8 = 7;
}

/// One XR report block.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum XrBlock<'a> {
    /// Receiver reference time ([RFC 3611 §4.4]).
    ///
    /// [RFC 3611 §4.4]: https://www.rfc-editor.org/rfc/rfc3611#section-4.4
    Rrtr {
        /// The receiver's wallclock when sending.
        ntp: NtpTime,
    },
    /// DLRR ([RFC 3611 §4.5]): one sub-block per RRTR sender.
    ///
    /// [RFC 3611 §4.5]: https://www.rfc-editor.org/rfc/rfc3611#section-4.5
    Dlrr(List<'a, DlrrItem>),
    /// Statistics summary ([RFC 3611 §4.6]).
    ///
    /// [RFC 3611 §4.6]: https://www.rfc-editor.org/rfc/rfc3611#section-4.6
    StatisticsSummary(StatisticsSummary),
    /// VoIP metrics ([RFC 3611 §4.7]).
    ///
    /// [RFC 3611 §4.7]: https://www.rfc-editor.org/rfc/rfc3611#section-4.7
    VoipMetrics(VoipMetrics),
    /// Any other block type.
    Unknown {
        /// Block type.
        block_type: u8,
        /// The type-specific octet.
        type_specific: u8,
        /// The block contents (a multiple of 4 bytes).
        data: &'a [u8],
    },
}

/// One DLRR sub-block.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub struct DlrrItem {
    /// The receiver whose RRTR this answers.
    pub ssrc: Ssrc,
    /// Last RR timestamp: middle 32 bits of that RRTR's NTP time.
    pub lrr: u32,
    /// Delay since that RRTR, in 1/65536 s.
    pub dlrr: u32,
}

impl WireItem<'_> for DlrrItem {
    fn decode(b: &[u8]) -> Option<(Self, usize)> {
        Some((
            Self {
                ssrc: Ssrc(u32_at(b, 0)?),
                lrr: u32_at(b, 4)?,
                dlrr: u32_at(b, 8)?,
            },
            12,
        ))
    }
    fn encoded_len(&self) -> usize {
        12
    }
    fn encode(&self, out: &mut [u8]) {
        put_u32(out, 0, self.ssrc.0);
        put_u32(out, 4, self.lrr);
        put_u32(out, 8, self.dlrr);
    }
}

/// The statistics summary block ([RFC 3611 §4.6]); a field whose flag is clear is 0.
///
/// [RFC 3611 §4.6]: https://www.rfc-editor.org/rfc/rfc3611#section-4.6
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub struct StatisticsSummary {
    /// L flag: loss report present.
    pub loss_flag: bool,
    /// D flag: duplicate report present.
    pub duplicate_flag: bool,
    /// J flag: jitter fields present.
    pub jitter_flag: bool,
    /// ToH: 0 none, 1 IPv4 TTL, 2 IPv6 hop limit.
    pub ttl_or_hop_limit: u8,
    /// The source reported on.
    pub ssrc: Ssrc,
    /// First sequence number of the interval.
    pub begin_seq: u16,
    /// Last sequence number of the interval, plus one.
    pub end_seq: u16,
    /// Packets lost in the interval.
    pub lost_packets: u32,
    /// Duplicate packets in the interval.
    pub dup_packets: u32,
    /// Minimum relative transit time difference (timestamp units).
    pub min_jitter: u32,
    /// Maximum.
    pub max_jitter: u32,
    /// Mean.
    pub mean_jitter: u32,
    /// Standard deviation.
    pub dev_jitter: u32,
    /// Minimum TTL or hop limit.
    pub min_ttl_or_hl: u8,
    /// Maximum.
    pub max_ttl_or_hl: u8,
    /// Mean.
    pub mean_ttl_or_hl: u8,
    /// Standard deviation.
    pub dev_ttl_or_hl: u8,
}

/// The VoIP metrics block ([RFC 3611 §4.7]). Units follow the RFC: rates and densities in
/// 1/256, durations and delays in ms, levels in dBm0 / dB, R and MOS ×10; 127 (levels) and
/// 127/0xFF (scores) mean unavailable.
///
/// [RFC 3611 §4.7]: https://www.rfc-editor.org/rfc/rfc3611#section-4.7
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub struct VoipMetrics {
    /// The source reported on.
    pub ssrc: Ssrc,
    /// Fraction of packets lost, in 1/256.
    pub loss_rate: u8,
    /// Fraction of packets discarded (late or early), in 1/256.
    pub discard_rate: u8,
    /// Loss and discard density within bursts, in 1/256.
    pub burst_density: u8,
    /// Density within gaps, in 1/256.
    pub gap_density: u8,
    /// Mean burst duration, ms.
    pub burst_duration: u16,
    /// Mean gap duration, ms.
    pub gap_duration: u16,
    /// Round-trip delay, ms.
    pub round_trip_delay: u16,
    /// End system delay, ms.
    pub end_system_delay: u16,
    /// Signal level, dBm0 (127 unavailable).
    pub signal_level: i8,
    /// Noise level, dBm0 (127 unavailable).
    pub noise_level: i8,
    /// Residual echo return loss, dB (127 unavailable).
    pub rerl: u8,
    /// Gap threshold (16 recommended).
    pub gmin: u8,
    /// R factor, 0-100 (127 unavailable).
    pub r_factor: u8,
    /// External R factor (127 unavailable).
    pub ext_r_factor: u8,
    /// MOS-LQ ×10, 10-50 (127 unavailable).
    pub mos_lq: u8,
    /// MOS-CQ ×10, 10-50 (127 unavailable).
    pub mos_cq: u8,
    /// Receiver configuration byte (PLC, JBA, JB rate).
    pub rx_config: u8,
    /// Jitter buffer nominal delay, ms.
    pub jb_nominal: u16,
    /// Jitter buffer maximum delay, ms.
    pub jb_maximum: u16,
    /// Jitter buffer absolute maximum delay, ms.
    pub jb_abs_max: u16,
}

impl XrBlock<'_> {
    /// The block type (BT, RFC 3611 §3): 4 RRTR, 5 DLRR, 6 statistics summary, 7 VoIP
    /// metrics, or the unknown block's.
    pub fn block_type(&self) -> u8 {
        match self {
            Self::Rrtr { .. } => bt::RRTR,
            Self::Dlrr(_) => bt::DLRR,
            Self::StatisticsSummary(_) => bt::STATISTICS_SUMMARY,
            Self::VoipMetrics(_) => bt::VOIP_METRICS,
            Self::Unknown { block_type, .. } => *block_type,
        }
    }
}

impl<'a> WireItem<'a> for XrBlock<'a> {
    fn decode(b: &'a [u8]) -> Option<(Self, usize)> {
        let &[block_type, type_specific, ..] = b else {
            return None;
        };
        let words = usize::from(be16(b, 2)?);
        let len = 4 + 4 * words;
        let d = b.get(4..len)?;
        let block = match (block_type, words) {
            (bt::RRTR, 2) => Self::Rrtr {
                ntp: NtpTime(u64_at(d, 0)?),
            },
            (bt::DLRR, _) if words % 3 == 0 => Self::Dlrr(List::Wire(d)),
            (bt::STATISTICS_SUMMARY, 9) => Self::StatisticsSummary(StatisticsSummary {
                loss_flag: type_specific & 0x80 != 0,
                duplicate_flag: type_specific & 0x40 != 0,
                jitter_flag: type_specific & 0x20 != 0,
                ttl_or_hop_limit: (type_specific >> 3) & 0x03,
                ssrc: Ssrc(u32_at(d, 0)?),
                begin_seq: be16(d, 4)?,
                end_seq: be16(d, 6)?,
                lost_packets: u32_at(d, 8)?,
                dup_packets: u32_at(d, 12)?,
                min_jitter: u32_at(d, 16)?,
                max_jitter: u32_at(d, 20)?,
                mean_jitter: u32_at(d, 24)?,
                dev_jitter: u32_at(d, 28)?,
                min_ttl_or_hl: *d.get(32)?,
                max_ttl_or_hl: *d.get(33)?,
                mean_ttl_or_hl: *d.get(34)?,
                dev_ttl_or_hl: *d.get(35)?,
            }),
            (bt::VOIP_METRICS, 8) => {
                let c = d.first_chunk::<32>()?;
                Self::VoipMetrics(VoipMetrics {
                    ssrc: Ssrc(u32_at(d, 0)?),
                    loss_rate: c[4],
                    discard_rate: c[5],
                    burst_density: c[6],
                    gap_density: c[7],
                    burst_duration: be16(d, 8)?,
                    gap_duration: be16(d, 10)?,
                    round_trip_delay: be16(d, 12)?,
                    end_system_delay: be16(d, 14)?,
                    signal_level: c[16] as i8,
                    noise_level: c[17] as i8,
                    rerl: c[18],
                    gmin: c[19],
                    r_factor: c[20],
                    ext_r_factor: c[21],
                    mos_lq: c[22],
                    mos_cq: c[23],
                    rx_config: c[24],
                    jb_nominal: be16(d, 26)?,
                    jb_maximum: be16(d, 28)?,
                    jb_abs_max: be16(d, 30)?,
                })
            }
            // RFC 3611 §3: unknown block types (and known types with another length) are
            // skipped by their length, so they are kept opaque.
            _ => Self::Unknown {
                block_type,
                type_specific,
                data: d,
            },
        };
        Some((block, len))
    }

    fn encoded_len(&self) -> usize {
        4 + match self {
            Self::Rrtr { .. } => 8,
            Self::Dlrr(items) => items.encoded_len(),
            Self::StatisticsSummary(_) => 36,
            Self::VoipMetrics(_) => 32,
            Self::Unknown { data, .. } => data.len().next_multiple_of(4),
        }
    }

    fn encode(&self, out: &mut [u8]) {
        let words = (self.encoded_len() / 4 - 1).min(usize::from(u16::MAX)) as u16;
        put_u16(out, 2, words);
        let type_specific = match self {
            Self::StatisticsSummary(s) => {
                (u8::from(s.loss_flag) << 7)
                    | (u8::from(s.duplicate_flag) << 6)
                    | (u8::from(s.jitter_flag) << 5)
                    | ((s.ttl_or_hop_limit & 0x03) << 3)
            }
            Self::Unknown { type_specific, .. } => *type_specific,
            Self::Rrtr { .. } | Self::Dlrr(_) | Self::VoipMetrics(_) => 0,
        };
        if let Some(h) = out.get_mut(..2) {
            h.copy_from_slice(&[self.block_type(), type_specific]);
        }
        let d = out.get_mut(4..).unwrap_or_default();
        match self {
            Self::Rrtr { ntp } => put_u64(d, 0, ntp.0),
            Self::Dlrr(items) => items.encode(d),
            Self::StatisticsSummary(s) => {
                put_u32(d, 0, s.ssrc.0);
                put_u16(d, 4, s.begin_seq);
                put_u16(d, 6, s.end_seq);
                put_u32(d, 8, s.lost_packets);
                put_u32(d, 12, s.dup_packets);
                put_u32(d, 16, s.min_jitter);
                put_u32(d, 20, s.max_jitter);
                put_u32(d, 24, s.mean_jitter);
                put_u32(d, 28, s.dev_jitter);
                if let Some(t) = d.get_mut(32..36) {
                    t.copy_from_slice(&[
                        s.min_ttl_or_hl,
                        s.max_ttl_or_hl,
                        s.mean_ttl_or_hl,
                        s.dev_ttl_or_hl,
                    ]);
                }
            }
            Self::VoipMetrics(v) => {
                put_u32(d, 0, v.ssrc.0);
                if let Some(t) = d.get_mut(4..8) {
                    t.copy_from_slice(&[
                        v.loss_rate,
                        v.discard_rate,
                        v.burst_density,
                        v.gap_density,
                    ]);
                }
                put_u16(d, 8, v.burst_duration);
                put_u16(d, 10, v.gap_duration);
                put_u16(d, 12, v.round_trip_delay);
                put_u16(d, 14, v.end_system_delay);
                if let Some(t) = d.get_mut(16..26) {
                    t.copy_from_slice(&[
                        v.signal_level as u8,
                        v.noise_level as u8,
                        v.rerl,
                        v.gmin,
                        v.r_factor,
                        v.ext_r_factor,
                        v.mos_lq,
                        v.mos_cq,
                        v.rx_config,
                        0,
                    ]);
                }
                put_u16(d, 26, v.jb_nominal);
                put_u16(d, 28, v.jb_maximum);
                put_u16(d, 30, v.jb_abs_max);
            }
            Self::Unknown { data, .. } => {
                if let Some(o) = d.get_mut(..data.len()) {
                    o.copy_from_slice(data);
                }
            }
        }
    }
}
