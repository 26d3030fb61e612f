//! Zero-copy checked views of received RTCP packets.
//!
//! Each view holds the packet's bytes (its header and body, padding removed), checked once by
//! the walk that made it ([`RtcpPacket::parse`](super::RtcpPacket::parse),
//! [`iter_compound`](super::iter_compound) and the other walks); its accessors read the fields
//! from those bytes on demand, as [`RtpPacket`](crate::RtpPacket) does. A view is 16 bytes
//! and a [`RtcpPacket`](super::RtcpPacket) 24, so the walk hands a packet out in registers
//! instead of building and moving a 64-byte value (benches/README.md, "rtp, session 14").
//!
//! No accessor can panic: each reads through a checked slice, with a fallback the checks of
//! the constructor never leave reachable. A view converts into the packet type to send
//! ([`build`]) with `From`, e.g. to compare a round trip or forward a packet.
//!
//! Two views compare equal when their bytes are equal, header included (the padding is not
//! part of a view, but a different count or reserved bits are): to compare what two packets
//! say, compare a view with a [`build`] packet, or convert both.

use std::fmt;

use super::{HEADER_LEN, List, NackPair, ReportBlock, SdesChunk, XrBlock, build, sdes, u32_at};
use crate::types::{NtpTime, Ssrc};

/// The 5-bit count field of the packet whose bytes start at `p` (0 for fewer than one byte,
/// which no view holds).
#[inline(always)]
fn count_of(p: &[u8]) -> usize {
    usize::from(p.first().map_or(0, |b| b & 0x1F))
}

/// The big-endian `u32` at `at` of `p`, 0 past the end (never, after a view's checks).
#[inline(always)]
fn be32(p: &[u8], at: usize) -> u32 {
    u32_at(p, at).unwrap_or(0)
}

/// The body of `p`: the bytes after the header.
#[inline(always)]
fn body_of(p: &[u8]) -> &[u8] {
    p.get(HEADER_LEN..).unwrap_or_default()
}

/// A view's `Debug` is that of the packet to send it converts into (the same name and
/// fields), so a received packet and a built one print alike.
macro_rules! debug_as_built {
    ($($view:ident),*) => {$(
        impl fmt::Debug for $view<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&build::$view::from(*self), f)
            }
        }
    )*};
}

debug_as_built!(
    SenderReport,
    ReceiverReport,
    SourceDescription,
    Goodbye,
    App,
    GenericNack,
    ExtendedReport
);

/// The report blocks of an SR or RR whose blocks start at `fixed`, and the profile-specific
/// extension after them.
#[inline(always)]
fn report_blocks(packet: &[u8], fixed: usize) -> (&[u8], &[u8]) {
    let end = fixed + count_of(packet) * ReportBlock::LEN;
    (
        packet.get(fixed..end).unwrap_or_default(),
        packet.get(end..).unwrap_or_default(),
    )
}

/// Header and sender info of an SR.
const SR_FIXED: usize = HEADER_LEN + 24;

/// A received sender report, SR (200) ([RFC 3550 §6.4.1]): the sender info, then `count`
/// report blocks, then a profile-specific extension.
///
/// [RFC 3550 §6.4.1]: https://www.rfc-editor.org/rfc/rfc3550#section-6.4.1
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SenderReport<'a> {
    packet: &'a [u8],
}

impl<'a> SenderReport<'a> {
    /// Checks that `packet` (header and body, unpadded) holds the sender info and its count of
    /// report blocks.
    #[inline(always)]
    pub(super) fn new_checked(packet: &'a [u8]) -> Option<Self> {
        (packet.len() >= SR_FIXED + count_of(packet) * ReportBlock::LEN).then_some(Self { packet })
    }

    #[inline(always)]
    fn fixed(&self) -> &'a [u8; SR_FIXED] {
        self.packet.first_chunk().unwrap_or(&[0; SR_FIXED])
    }

    /// SSRC of the sender.
    #[inline]
    pub fn ssrc(&self) -> Ssrc {
        Ssrc(be32(self.fixed(), 4))
    }

    /// Wallclock time when the report was sent.
    #[inline]
    pub fn ntp(&self) -> NtpTime {
        let f = self.fixed();
        NtpTime((u64::from(be32(f, 8)) << 32) | u64::from(be32(f, 12)))
    }

    /// The RTP timestamp corresponding to [`ntp`](Self::ntp).
    #[inline]
    pub fn rtp_timestamp(&self) -> u32 {
        be32(self.fixed(), 16)
    }

    /// Packets sent since the start of transmission (wraps).
    #[inline]
    pub fn packet_count(&self) -> u32 {
        be32(self.fixed(), 20)
    }

    /// Payload octets sent since the start of transmission (wraps).
    #[inline]
    pub fn octet_count(&self) -> u32 {
        be32(self.fixed(), 24)
    }

    /// The report blocks (the count field's number of them, at most 31).
    #[inline]
    pub fn reports(&self) -> List<'a, ReportBlock> {
        List::Wire(report_blocks(self.packet, SR_FIXED).0)
    }

    /// Profile-specific extension: the bytes after the report blocks.
    #[inline]
    pub fn profile_extension(&self) -> &'a [u8] {
        report_blocks(self.packet, SR_FIXED).1
    }
}

impl<'a> From<SenderReport<'a>> for build::SenderReport<'a> {
    fn from(v: SenderReport<'a>) -> Self {
        Self {
            ssrc: v.ssrc(),
            ntp: v.ntp(),
            rtp_timestamp: v.rtp_timestamp(),
            packet_count: v.packet_count(),
            octet_count: v.octet_count(),
            reports: v.reports(),
            profile_extension: v.profile_extension(),
        }
    }
}

/// Header and SSRC of an RR.
const RR_FIXED: usize = HEADER_LEN + 4;

/// A received receiver report, RR (201) ([RFC 3550 §6.4.2]).
///
/// [RFC 3550 §6.4.2]: https://www.rfc-editor.org/rfc/rfc3550#section-6.4.2
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ReceiverReport<'a> {
    packet: &'a [u8],
}

impl<'a> ReceiverReport<'a> {
    /// Checks that `packet` holds the SSRC and its count of report blocks.
    #[inline(always)]
    pub(super) fn new_checked(packet: &'a [u8]) -> Option<Self> {
        (packet.len() >= RR_FIXED + count_of(packet) * ReportBlock::LEN).then_some(Self { packet })
    }

    /// SSRC of the packet sender.
    #[inline]
    pub fn ssrc(&self) -> Ssrc {
        Ssrc(be32(self.packet, 4))
    }

    /// The report blocks (the count field's number of them, at most 31).
    #[inline]
    pub fn reports(&self) -> List<'a, ReportBlock> {
        List::Wire(report_blocks(self.packet, RR_FIXED).0)
    }

    /// Profile-specific extension: the bytes after the report blocks.
    #[inline]
    pub fn profile_extension(&self) -> &'a [u8] {
        report_blocks(self.packet, RR_FIXED).1
    }
}

impl<'a> From<ReceiverReport<'a>> for build::ReceiverReport<'a> {
    fn from(v: ReceiverReport<'a>) -> Self {
        Self {
            ssrc: v.ssrc(),
            reports: v.reports(),
            profile_extension: v.profile_extension(),
        }
    }
}

/// A received source description, SDES (202) ([RFC 3550 §6.5]): one chunk per source.
///
/// [RFC 3550 §6.5]: https://www.rfc-editor.org/rfc/rfc3550#section-6.5
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SourceDescription<'a> {
    packet: &'a [u8],
}

impl<'a> SourceDescription<'a> {
    /// Checks that `packet`'s body holds exactly its count of whole chunks, and tells whether
    /// any chunk has a CNAME item (found in the same walk).
    #[inline(always)]
    pub(super) fn new_checked(packet: &'a [u8]) -> Option<(Self, bool)> {
        let cname = sdes::check_chunks(count_of(packet), body_of(packet))?;
        Some((Self { packet }, cname))
    }

    /// A view of `packet` whose chunks an earlier walk of the same bytes checked.
    #[inline(always)]
    pub(super) fn checked_before(packet: &'a [u8]) -> Self {
        Self { packet }
    }

    /// The chunks, decoded while iterating.
    #[inline]
    pub fn chunks(&self) -> List<'a, SdesChunk<'a>> {
        List::Wire(body_of(self.packet))
    }
}

impl<'a> From<SourceDescription<'a>> for build::SourceDescription<'a> {
    fn from(v: SourceDescription<'a>) -> Self {
        Self { chunks: v.chunks() }
    }
}

/// A received goodbye, BYE (203) ([RFC 3550 §6.6]): the sources leaving and an optional
/// reason.
///
/// [RFC 3550 §6.6]: https://www.rfc-editor.org/rfc/rfc3550#section-6.6
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Goodbye<'a> {
    packet: &'a [u8],
}

impl<'a> Goodbye<'a> {
    /// Checks that `packet`'s body holds its count of SSRCs and, after them, either nothing or
    /// a reason whose length octet fits the rest.
    #[inline(always)]
    pub(super) fn new_checked(packet: &'a [u8]) -> Option<Self> {
        let rest = body_of(packet).get(4 * count_of(packet)..)?;
        match rest.split_first() {
            Some((&len, r)) if usize::from(len) > r.len() => None,
            _ => Some(Self { packet }),
        }
    }

    /// The sources leaving (the count field's number of them, at most 31).
    #[inline]
    pub fn sources(&self) -> List<'a, Ssrc> {
        let body = body_of(self.packet);
        List::Wire(body.get(..4 * count_of(self.packet)).unwrap_or_default())
    }

    /// "Reason for leaving", if present.
    #[inline]
    pub fn reason(&self) -> Option<&'a [u8]> {
        let rest = body_of(self.packet).get(4 * count_of(self.packet)..)?;
        let (&len, r) = rest.split_first()?;
        r.get(..usize::from(len))
    }
}

impl<'a> From<Goodbye<'a>> for build::Goodbye<'a> {
    fn from(v: Goodbye<'a>) -> Self {
        Self {
            sources: v.sources(),
            reason: v.reason(),
        }
    }
}

/// A received application-defined packet, APP (204) ([RFC 3550 §6.7]).
///
/// [RFC 3550 §6.7]: https://www.rfc-editor.org/rfc/rfc3550#section-6.7
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct App<'a> {
    packet: &'a [u8],
}

/// Header, SSRC and name of an APP.
const APP_FIXED: usize = HEADER_LEN + 8;

impl<'a> App<'a> {
    /// Checks that `packet` holds an SSRC and a name.
    #[inline(always)]
    pub(super) fn new_checked(packet: &'a [u8]) -> Option<Self> {
        (packet.len() >= APP_FIXED).then_some(Self { packet })
    }

    /// Subtype (5 bits, in the count field).
    #[inline]
    pub fn subtype(&self) -> u8 {
        count_of(self.packet) as u8
    }

    /// Source.
    #[inline]
    pub fn ssrc(&self) -> Ssrc {
        Ssrc(be32(self.packet, 4))
    }

    /// Four ASCII characters naming the application.
    #[inline]
    pub fn name(&self) -> [u8; 4] {
        be32(self.packet, 8).to_be_bytes()
    }

    /// Application data.
    #[inline]
    pub fn data(&self) -> &'a [u8] {
        self.packet.get(APP_FIXED..).unwrap_or_default()
    }
}

impl<'a> From<App<'a>> for build::App<'a> {
    fn from(v: App<'a>) -> Self {
        Self {
            subtype: v.subtype(),
            ssrc: v.ssrc(),
            name: v.name(),
            data: v.data(),
        }
    }
}

/// Header and the two SSRCs of a feedback message.
const FB_FIXED: usize = HEADER_LEN + 8;

/// A received generic NACK ([RFC 4585 §6.2.1]): packets the receiver asks to have
/// retransmitted.
///
/// [RFC 4585 §6.2.1]: https://www.rfc-editor.org/rfc/rfc4585#section-6.2.1
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct GenericNack<'a> {
    packet: &'a [u8],
}

impl<'a> GenericNack<'a> {
    /// Checks that `packet` holds the two SSRCs and whole FCI entries, at least one (RFC 4585
    /// §6.2.1: "The FCI field MUST contain at least one and MAY contain more than one Generic
    /// NACK").
    #[inline(always)]
    pub(super) fn new_checked(packet: &'a [u8]) -> Option<Self> {
        let fci = packet.get(FB_FIXED..)?;
        (!fci.is_empty() && fci.len() % 4 == 0).then_some(Self { packet })
    }

    /// SSRC of the packet sender.
    #[inline]
    pub fn sender_ssrc(&self) -> Ssrc {
        Ssrc(be32(self.packet, 4))
    }

    /// The media source the NACK is about.
    #[inline]
    pub fn media_ssrc(&self) -> Ssrc {
        Ssrc(be32(self.packet, 8))
    }

    /// The FCI entries (at least one).
    #[inline]
    pub fn pairs(&self) -> List<'a, NackPair> {
        List::Wire(self.packet.get(FB_FIXED..).unwrap_or_default())
    }
}

impl<'a> From<GenericNack<'a>> for build::GenericNack<'a> {
    fn from(v: GenericNack<'a>) -> Self {
        Self {
            sender_ssrc: v.sender_ssrc(),
            media_ssrc: v.media_ssrc(),
            pairs: v.pairs(),
        }
    }
}

/// Header and SSRC of an XR.
const XR_FIXED: usize = HEADER_LEN + 4;

/// A received extended report, XR (207) ([RFC 3611]).
///
/// [RFC 3611]: https://www.rfc-editor.org/rfc/rfc3611
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ExtendedReport<'a> {
    packet: &'a [u8],
}

impl<'a> ExtendedReport<'a> {
    /// Checks that `packet` holds an SSRC and whole report blocks.
    #[inline(always)]
    pub(super) fn new_checked(packet: &'a [u8]) -> Option<Self> {
        List::<XrBlock<'a>>::validate(packet.get(XR_FIXED..)?, None)?;
        Some(Self { packet })
    }

    /// SSRC of the packet sender.
    #[inline]
    pub fn ssrc(&self) -> Ssrc {
        Ssrc(be32(self.packet, 4))
    }

    /// The report blocks, decoded while iterating.
    #[inline]
    pub fn blocks(&self) -> List<'a, XrBlock<'a>> {
        List::Wire(self.packet.get(XR_FIXED..).unwrap_or_default())
    }
}

impl<'a> From<ExtendedReport<'a>> for build::ExtendedReport<'a> {
    fn from(v: ExtendedReport<'a>) -> Self {
        Self {
            ssrc: v.ssrc(),
            blocks: v.blocks(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_are_small() {
        assert_eq!(size_of::<SenderReport<'_>>(), 16);
        assert!(size_of::<super::super::RtcpPacket<'_>>() <= 24);
    }

    #[test]
    fn nack_fci_must_be_whole_entries() {
        let p = [0x81, 205, 0, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 5, 0, 0];
        assert!(GenericNack::new_checked(&p).is_some());
        assert!(GenericNack::new_checked(&p[..15]).is_none());
        assert!(GenericNack::new_checked(&p[..12]).is_none());
    }
}
