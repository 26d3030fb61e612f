//! RTCP feedback ([RFC 4585 §6]): generic NACK (RTPFB, FMT 1) and PLI (PSFB, FMT 1).
//!
//! [RFC 4585 §6]: https://www.rfc-editor.org/rfc/rfc4585#section-6

use super::{List, WireItem, put_u16, put_u32, u32_at};
use crate::types::Ssrc;

/// FMT of the generic NACK.
pub(super) const FMT_GENERIC_NACK: u8 = 1;
/// FMT of picture loss indication.
pub(super) const FMT_PLI: u8 = 1;

/// A generic NACK to send ([RFC 4585 §6.2.1]): packets the receiver asks to have
/// retransmitted; a received one is read through the [`GenericNack`](super::GenericNack) view.
///
/// [RFC 4585 §6.2.1]: https://www.rfc-editor.org/rfc/rfc4585#section-6.2.1
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GenericNack<'a> {
    /// SSRC of the packet sender.
    pub sender_ssrc: Ssrc,
    /// The media source the NACK is about.
    pub media_ssrc: Ssrc,
    /// The FCI entries (at least one).
    pub pairs: List<'a, NackPair>,
}

/// One generic NACK FCI entry: a packet id and a bitmask of the 16 following.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub struct NackPair {
    /// Packet id: the sequence number of a lost packet.
    pub pid: u16,
    /// Bitmask of following lost packets: bit i set means `pid + i + 1` is lost.
    pub blp: u16,
}

impl NackPair {
    /// The lost sequence numbers this entry names, in order.
    pub fn lost(self) -> impl Iterator<Item = u16> {
        std::iter::once(self.pid).chain(
            (0..16)
                .filter(move |i| self.blp & (1 << i) != 0)
                .map(move |i| self.pid.wrapping_add(i + 1)),
        )
    }

    /// Packs sorted (wrapping) sequence numbers into as few entries as possible.
    pub fn from_lost(lost: impl IntoIterator<Item = u16>) -> Vec<Self> {
        let mut out: Vec<Self> = Vec::new();
        for s in lost {
            if let Some(last) = out.last_mut() {
                let d = s.wrapping_sub(last.pid);
                if (1..=16).contains(&d) {
                    last.blp |= 1 << (d - 1);
                    continue;
                }
                if d == 0 {
                    continue;
                }
            }
            out.push(Self { pid: s, blp: 0 });
        }
        out
    }
}

impl WireItem<'_> for NackPair {
    fn decode(b: &[u8]) -> Option<(Self, usize)> {
        let w = u32_at(b, 0)?;
        Some((
            Self {
                pid: (w >> 16) as u16,
                blp: w as u16,
            },
            4,
        ))
    }
    fn encoded_len(&self) -> usize {
        4
    }
    fn encode(&self, out: &mut [u8]) {
        put_u16(out, 0, self.pid);
        put_u16(out, 2, self.blp);
    }
}

impl<'a> GenericNack<'a> {
    pub(super) fn body_len(&self) -> usize {
        8 + self.pairs.encoded_len()
    }

    pub(super) fn write_body(&self, out: &mut [u8]) {
        put_u32(out, 0, self.sender_ssrc.0);
        put_u32(out, 4, self.media_ssrc.0);
        if let Some(o) = out.get_mut(8..) {
            self.pairs.encode(o);
        }
    }
}

/// A picture loss indication ([RFC 4585 §6.3.1]); no FCI. Eight bytes of plain values, so one
/// type serves both directions.
///
/// [RFC 4585 §6.3.1]: https://www.rfc-editor.org/rfc/rfc4585#section-6.3.1
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub struct PictureLossIndication {
    /// SSRC of the packet sender.
    pub sender_ssrc: Ssrc,
    /// The media source.
    pub media_ssrc: Ssrc,
}

impl PictureLossIndication {
    #[inline(always)]
    pub(super) fn parse_body(body: &[u8]) -> Option<Self> {
        // RFC 4585 §6.3.1: "PLI does not require parameters. Therefore, the length field MUST be
        // 2, and there MUST NOT be any Feedback Control Information."
        if body.len() != 8 {
            return None;
        }
        Some(Self {
            sender_ssrc: Ssrc(u32_at(body, 0)?),
            media_ssrc: Ssrc(u32_at(body, 4)?),
        })
    }

    pub(super) fn write_body(&self, out: &mut [u8]) {
        put_u32(out, 0, self.sender_ssrc.0);
        put_u32(out, 4, self.media_ssrc.0);
    }
}
