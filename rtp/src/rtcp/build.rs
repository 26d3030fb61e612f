//! RTCP packets to send: the types a sender fills in and writes, one per packet type, and the
//! compound writers.
//!
//! A received packet is a checked view ([`super::RtcpPacket`]); it converts into the type here
//! with `From` (so `build::RtcpPacket::from(parse(write(x))) == x`). Repeated items are a
//! [`List`]: [`List::Owned`], [`List::Borrowed`] to build without allocating, or
//! [`List::Wire`] bytes taken over from a received packet.

#[cfg(doc)]
use super::List;
pub use super::app::App;
pub use super::bye::Goodbye;
pub use super::fb::{GenericNack, PictureLossIndication};
pub use super::rr::ReceiverReport;
pub use super::sdes::SourceDescription;
pub use super::sr::SenderReport;
pub use super::xr::ExtendedReport;
use super::{HEADER_LEN, fb, pt};
use crate::error::BuildError;

/// One RTCP packet to send.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum RtcpPacket<'a> {
    /// SR (200).
    SenderReport(SenderReport<'a>),
    /// RR (201).
    ReceiverReport(ReceiverReport<'a>),
    /// SDES (202).
    SourceDescription(SourceDescription<'a>),
    /// BYE (203).
    Goodbye(Goodbye<'a>),
    /// APP (204).
    App(App<'a>),
    /// RTPFB generic NACK (205, FMT 1).
    GenericNack(GenericNack<'a>),
    /// PSFB picture loss indication (206, FMT 1).
    PictureLossIndication(PictureLossIndication),
    /// XR (207).
    ExtendedReport(ExtendedReport<'a>),
    /// Any other packet type or feedback message, as bytes.
    Unknown {
        /// Packet type.
        pt: u8,
        /// The 5-bit count / FMT field.
        count: u8,
        /// The body after the 4-byte header (zero-padded to 32 bits when written).
        body: &'a [u8],
    },
}

impl<'a> From<super::RtcpPacket<'a>> for RtcpPacket<'a> {
    fn from(p: super::RtcpPacket<'a>) -> Self {
        use super::RtcpPacket as V;
        match p {
            V::SenderReport(v) => Self::SenderReport(v.into()),
            V::ReceiverReport(v) => Self::ReceiverReport(v.into()),
            V::SourceDescription(v) => Self::SourceDescription(v.into()),
            V::Goodbye(v) => Self::Goodbye(v.into()),
            V::App(v) => Self::App(v.into()),
            V::GenericNack(v) => Self::GenericNack(v.into()),
            V::PictureLossIndication(v) => Self::PictureLossIndication(v),
            V::ExtendedReport(v) => Self::ExtendedReport(v.into()),
            V::Unknown { pt, count, body } => Self::Unknown { pt, count, body },
        }
    }
}

/// A received packet equals a packet to send when it converts into it.
impl PartialEq<super::RtcpPacket<'_>> for RtcpPacket<'_> {
    fn eq(&self, other: &super::RtcpPacket<'_>) -> bool {
        // Lists compare item by item, whatever form (wire, owned, borrowed) they are in.
        let other: RtcpPacket<'_> = (*other).into();
        *self == other
    }
}

/// A received packet equals a packet to send when it converts into it.
impl PartialEq<RtcpPacket<'_>> for super::RtcpPacket<'_> {
    fn eq(&self, other: &RtcpPacket<'_>) -> bool {
        let this: RtcpPacket<'_> = (*self).into();
        this == *other
    }
}

impl RtcpPacket<'_> {
    /// The packet type value.
    pub fn packet_type(&self) -> u8 {
        match self {
            Self::SenderReport(_) => pt::SR,
            Self::ReceiverReport(_) => pt::RR,
            Self::SourceDescription(_) => pt::SDES,
            Self::Goodbye(_) => pt::BYE,
            Self::App(_) => pt::APP,
            Self::GenericNack(_) => pt::RTPFB,
            Self::PictureLossIndication(_) => pt::PSFB,
            Self::ExtendedReport(_) => pt::XR,
            Self::Unknown { pt, .. } => *pt,
        }
    }

    fn count_field(&self) -> Result<u8, BuildError> {
        match self {
            Self::SourceDescription(p) => p.check()?,
            Self::Goodbye(p) => p.check()?,
            _ => {}
        }
        let n = match self {
            Self::SenderReport(p) => p.reports.len(),
            Self::ReceiverReport(p) => p.reports.len(),
            Self::SourceDescription(p) => p.chunks.len(),
            Self::Goodbye(p) => p.sources.len(),
            Self::App(p) => usize::from(p.subtype),
            Self::GenericNack(_) => usize::from(fb::FMT_GENERIC_NACK),
            Self::PictureLossIndication(_) => usize::from(fb::FMT_PLI),
            Self::ExtendedReport(_) => 0,
            Self::Unknown { count, .. } => usize::from(*count),
        };
        if n > 31 {
            return Err(BuildError::FieldTooLarge {
                what: "rtcp count field",
            });
        }
        Ok(n as u8)
    }

    fn body_len(&self) -> usize {
        match self {
            Self::SenderReport(p) => p.body_len(),
            Self::ReceiverReport(p) => p.body_len(),
            Self::SourceDescription(p) => p.body_len(),
            Self::Goodbye(p) => p.body_len(),
            Self::App(p) => p.body_len(),
            Self::GenericNack(p) => p.body_len(),
            Self::PictureLossIndication(_) => 8,
            Self::ExtendedReport(p) => p.body_len(),
            Self::Unknown { body, .. } => body.len().next_multiple_of(4),
        }
    }

    /// Length of this packet on the wire.
    pub fn encoded_len(&self) -> usize {
        HEADER_LEN + self.body_len()
    }

    /// Writes the packet into `out` and returns the number of bytes written.
    ///
    /// # Errors
    /// [`BuildError::BufferTooSmall`] if `out` is shorter than [`encoded_len`](Self::encoded_len);
    /// [`BuildError::FieldTooLarge`] for more than 31 items in a count field or a packet longer
    /// than 65536 words.
    pub fn write_to(&self, out: &mut [u8]) -> Result<usize, BuildError> {
        let need = self.encoded_len();
        let count = self.count_field()?;
        let Some(out) = out.get_mut(..need) else {
            return Err(BuildError::BufferTooSmall {
                need,
                have: out.len(),
            });
        };
        let Ok(words) = u16::try_from(need / 4 - 1) else {
            return Err(BuildError::FieldTooLarge {
                what: "rtcp length",
            });
        };
        let (h, body) = out.split_at_mut(HEADER_LEN);
        h[0] = 0x80 | count;
        h[1] = self.packet_type();
        h[2..4].copy_from_slice(&words.to_be_bytes());
        body.fill(0);
        match self {
            Self::SenderReport(p) => p.write_body(body),
            Self::ReceiverReport(p) => p.write_body(body),
            Self::SourceDescription(p) => p.write_body(body),
            Self::Goodbye(p) => p.write_body(body),
            Self::App(p) => p.write_body(body),
            Self::GenericNack(p) => p.write_body(body),
            Self::PictureLossIndication(p) => p.write_body(body),
            Self::ExtendedReport(p) => p.write_body(body),
            Self::Unknown { body: b, .. } => body[..b.len()].copy_from_slice(b),
        }
        Ok(need)
    }
}

/// Length of a compound of `packets`.
pub fn compound_len(packets: &[RtcpPacket<'_>]) -> usize {
    packets.iter().map(RtcpPacket::encoded_len).sum()
}

/// Writes `packets` back to back as one compound packet.
///
/// # Errors
/// As [`RtcpPacket::write_to`].
pub fn write_compound(packets: &[RtcpPacket<'_>], out: &mut [u8]) -> Result<usize, BuildError> {
    let need = compound_len(packets);
    if out.len() < need {
        return Err(BuildError::BufferTooSmall {
            need,
            have: out.len(),
        });
    }
    let mut at = 0;
    for p in packets {
        at += p.write_to(out.get_mut(at..).unwrap_or_default())?;
    }
    Ok(at)
}

/// Writes `packets` as one compound into a new buffer.
///
/// # Errors
/// As [`RtcpPacket::write_to`].
pub fn compound_to_vec(packets: &[RtcpPacket<'_>]) -> Result<Vec<u8>, BuildError> {
    let mut out = vec![0; compound_len(packets)];
    write_compound(packets, &mut out)?;
    Ok(out)
}
