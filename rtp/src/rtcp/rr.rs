//! Receiver reports and report blocks ([RFC 3550 §6.4.2], §6.4.1).
//!
//! [RFC 3550 §6.4.2]: https://www.rfc-editor.org/rfc/rfc3550#section-6.4.2

use super::{List, WireItem, put_u32};
use crate::types::Ssrc;

/// One reception report block ([RFC 3550 §6.4.1]), 24 bytes on the wire.
///
/// [RFC 3550 §6.4.1]: https://www.rfc-editor.org/rfc/rfc3550#section-6.4.1
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub struct ReportBlock {
    /// The source this block reports on.
    pub ssrc: Ssrc,
    /// Fraction lost since the previous report, in 1/256 units.
    pub fraction_lost: u8,
    /// Cumulative number of packets lost, a signed 24-bit value (negative with duplicates).
    pub cumulative_lost: i32,
    /// Extended highest sequence number received.
    pub extended_highest_seq: u32,
    /// Interarrival jitter in timestamp units.
    pub jitter: u32,
    /// Last SR timestamp (middle 32 bits of its NTP time), 0 if none.
    pub lsr: u32,
    /// Delay since last SR in 1/65536 s, 0 if none.
    pub dlsr: u32,
}

impl ReportBlock {
    /// Length on the wire.
    pub const LEN: usize = 24;

    /// Clamps a loss count to the signed 24-bit wire range (RFC 3550 A.3 clamps the same way).
    pub fn clamp_lost(lost: i64) -> i32 {
        lost.clamp(-0x80_0000, 0x7F_FFFF) as i32
    }
}

impl WireItem<'_> for ReportBlock {
    #[inline]
    fn decode(b: &[u8]) -> Option<(Self, usize)> {
        let c = b.first_chunk::<{ Self::LEN }>()?;
        let w = |i: usize| u32::from_be_bytes([c[i], c[i + 1], c[i + 2], c[i + 3]]);
        let lost_raw = w(4) & 0x00FF_FFFF;
        // Sign-extend the 24-bit field.
        let cumulative_lost = ((lost_raw << 8) as i32) >> 8;
        Some((
            Self {
                ssrc: Ssrc(w(0)),
                fraction_lost: c[4],
                cumulative_lost,
                extended_highest_seq: w(8),
                jitter: w(12),
                lsr: w(16),
                dlsr: w(20),
            },
            Self::LEN,
        ))
    }

    fn encoded_len(&self) -> usize {
        Self::LEN
    }

    fn encode(&self, out: &mut [u8]) {
        put_u32(out, 0, self.ssrc.0);
        let lost = (Self::clamp_lost(i64::from(self.cumulative_lost)) as u32) & 0x00FF_FFFF;
        put_u32(out, 4, (u32::from(self.fraction_lost) << 24) | lost);
        put_u32(out, 8, self.extended_highest_seq);
        put_u32(out, 12, self.jitter);
        put_u32(out, 16, self.lsr);
        put_u32(out, 20, self.dlsr);
    }
}

/// A receiver report to send, RR (201) ([RFC 3550 §6.4.2]); a received one is read through the
/// [`ReceiverReport`](super::ReceiverReport) view.
///
/// [RFC 3550 §6.4.2]: https://www.rfc-editor.org/rfc/rfc3550#section-6.4.2
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReceiverReport<'a> {
    /// SSRC of the packet sender.
    pub ssrc: Ssrc,
    /// Report blocks (at most 31).
    pub reports: List<'a, ReportBlock>,
    /// Profile-specific extension (a multiple of 4 bytes).
    pub profile_extension: &'a [u8],
}

impl<'a> ReceiverReport<'a> {
    pub(super) fn body_len(&self) -> usize {
        4 + self.reports.encoded_len() + self.profile_extension.len().next_multiple_of(4)
    }

    pub(super) fn write_body(&self, out: &mut [u8]) {
        put_u32(out, 0, self.ssrc.0);
        let end = 4 + self.reports.encoded_len();
        if let Some(o) = out.get_mut(4..end) {
            self.reports.encode(o);
        }
        if let Some(o) = out.get_mut(end..end + self.profile_extension.len()) {
            o.copy_from_slice(self.profile_extension);
        }
    }
}
