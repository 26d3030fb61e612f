//! RTP data packets ([RFC 3550 §5.1]): a checked zero-copy view [`RtpPacket`] and an owned
//! [`RtpHeader`] for building, with CSRC lists, padding and header extensions in the RFC 3550
//! generic form and the [RFC 8285] one-byte and two-byte forms.
//!
//! [RFC 3550 §5.1]: https://www.rfc-editor.org/rfc/rfc3550#section-5.1
//! [RFC 8285]: https://www.rfc-editor.org/rfc/rfc8285

use bytes::Bytes;

use crate::error::{BuildError, RtpError};
use crate::types::Ssrc;

mod avx2;

pub(crate) use avx2::Avx2;

/// Byte offsets of the fixed RTP header fields.
pub mod field {
    /// V, P, X, CC.
    pub const VPXCC: usize = 0;
    /// M, PT.
    pub const MPT: usize = 1;
    /// Sequence number (16 bits).
    pub const SEQ: usize = 2;
    /// Timestamp (32 bits).
    pub const TIMESTAMP: usize = 4;
    /// SSRC (32 bits).
    pub const SSRC: usize = 8;
    /// First CSRC.
    pub const CSRC: usize = 12;
    /// Length of the fixed header.
    pub const FIXED_LEN: usize = 12;
}

/// The RFC 8285 one-byte header extension profile ("defined by profile" value).
pub const ONE_BYTE_PROFILE: u16 = 0xBEDE;
/// The RFC 8285 two-byte header extension profile, upper 12 bits (low 4 bits are "appbits").
pub const TWO_BYTE_PROFILE: u16 = 0x1000;

/// A checked view of an RTP packet over any byte container.
///
/// [`new_checked`](Self::new_checked) validates the version, the CSRC list, the header
/// extension length and the padding count once; afterwards **no accessor can panic**, whatever
/// the bytes were.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct RtpPacket<T: AsRef<[u8]>> {
    buf: T,
    header_len: u16,
    payload_end: u32,
}

impl<T: AsRef<[u8]>> RtpPacket<T> {
    /// Validates `buf` as an RTP packet.
    ///
    /// # Errors
    /// [`RtpError`] naming the first field that is out of range: too short, version not 2,
    /// CSRC list or extension past the end, or a padding count of zero or beyond the payload
    /// (RFC 3550 §5.1: "The last octet of the padding contains a count of how many padding
    /// octets should be ignored, including itself").
    #[inline]
    pub fn new_checked(buf: T) -> Result<Self, RtpError> {
        let b = buf.as_ref();
        let len = b.len();
        let Some(fixed) = b.first_chunk::<{ field::FIXED_LEN }>() else {
            return Err(RtpError::TooShort { len });
        };
        let first = fixed[field::VPXCC];
        if first >> 6 != 2 {
            return Err(RtpError::BadVersion(first >> 6));
        }
        let cc = first & 0x0F;
        let mut header_len = field::CSRC + 4 * usize::from(cc);
        if header_len > len {
            return Err(RtpError::CsrcOverrun { count: cc, len });
        }
        if first & 0x10 != 0 {
            let at = header_len;
            let Some(words) = be16(b, at + 2) else {
                return Err(RtpError::ExtensionOverrun { at, words: 0 });
            };
            header_len = at + 4 + 4 * usize::from(words);
            if header_len > len {
                return Err(RtpError::ExtensionOverrun { at, words });
            }
        }
        let mut payload_end = len;
        if first & 0x20 != 0 {
            let available = len - header_len;
            let count = b.last().copied().unwrap_or(0);
            if count == 0 || usize::from(count) > available {
                return Err(RtpError::BadPadding { count, available });
            }
            payload_end = len - usize::from(count);
        }
        // Lengths fit: header_len <= 12 + 60 + 4 + 262140, and datagrams are < 4 GiB.
        let payload_end = u32::try_from(payload_end).unwrap_or(u32::MAX);
        Ok(Self {
            buf,
            header_len: header_len as u16,
            payload_end,
        })
    }

    /// A view of a packet this crate just wrote: a fixed header of `header_len` bytes, no padding.
    pub(crate) fn from_built(buf: T, header_len: u16) -> Self {
        let payload_end = u32::try_from(buf.as_ref().len()).unwrap_or(u32::MAX);
        Self {
            buf,
            header_len,
            payload_end,
        }
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buf
    }

    /// The whole packet as bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.as_ref()
    }

    #[inline]
    fn fixed(&self) -> [u8; field::FIXED_LEN] {
        self.buf
            .as_ref()
            .first_chunk::<{ field::FIXED_LEN }>()
            .copied()
            .unwrap_or_default()
    }

    /// The version field (always 2 after the checked constructor).
    pub fn version(&self) -> u8 {
        self.fixed()[field::VPXCC] >> 6
    }

    /// Whether the P (padding) bit is set.
    pub fn has_padding(&self) -> bool {
        self.fixed()[field::VPXCC] & 0x20 != 0
    }

    /// Whether the X (extension) bit is set.
    pub fn has_extension(&self) -> bool {
        self.fixed()[field::VPXCC] & 0x10 != 0
    }

    /// The CSRC count (CC).
    pub fn csrc_count(&self) -> u8 {
        self.fixed()[field::VPXCC] & 0x0F
    }

    /// The marker bit.
    #[inline]
    pub fn marker(&self) -> bool {
        self.fixed()[field::MPT] & 0x80 != 0
    }

    /// The payload type (7 bits).
    #[inline]
    pub fn payload_type(&self) -> u8 {
        self.fixed()[field::MPT] & 0x7F
    }

    /// The 16-bit sequence number.
    #[inline]
    pub fn sequence_number(&self) -> u16 {
        let f = self.fixed();
        u16::from_be_bytes([f[field::SEQ], f[field::SEQ + 1]])
    }

    /// The 32-bit RTP timestamp.
    #[inline]
    pub fn timestamp(&self) -> u32 {
        let f = self.fixed();
        u32::from_be_bytes([f[4], f[5], f[6], f[7]])
    }

    /// The synchronization source.
    #[inline]
    pub fn ssrc(&self) -> Ssrc {
        let f = self.fixed();
        Ssrc(u32::from_be_bytes([f[8], f[9], f[10], f[11]]))
    }

    /// The contributing sources, in order.
    pub fn csrcs(&self) -> impl ExactSizeIterator<Item = Ssrc> + '_ {
        let end = field::CSRC + 4 * usize::from(self.csrc_count());
        self.buf
            .as_ref()
            .get(field::CSRC..end)
            .unwrap_or_default()
            .chunks_exact(4)
            .map(|c| Ssrc(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
    }

    /// The header extension, if the X bit is set.
    pub fn extension(&self) -> Option<ExtensionRef<'_>> {
        if !self.has_extension() {
            return None;
        }
        let at = field::CSRC + 4 * usize::from(self.csrc_count());
        let b = self.buf.as_ref();
        let profile = be16(b, at)?;
        let data = b.get(at + 4..usize::from(self.header_len))?;
        Some(ExtensionRef { profile, data })
    }

    /// Length of the header: fixed part, CSRCs and extension.
    pub fn header_len(&self) -> usize {
        usize::from(self.header_len)
    }

    /// The payload, without padding.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        self.buf
            .as_ref()
            .get(self.header_len()..self.payload_end as usize)
            .unwrap_or_default()
    }

    /// Number of padding octets (0 without the P bit).
    pub fn padding_len(&self) -> usize {
        self.buf
            .as_ref()
            .len()
            .saturating_sub(self.payload_end as usize)
    }

    /// An owned header with the same fields, for re-building.
    pub fn header(&self) -> RtpHeader {
        RtpHeader {
            marker: self.marker(),
            payload_type: self.payload_type(),
            sequence_number: self.sequence_number(),
            timestamp: self.timestamp(),
            ssrc: self.ssrc(),
            csrcs: self.csrcs().collect(),
            extension: self.extension().map(|e| HeaderExtension {
                profile: e.profile,
                data: Bytes::copy_from_slice(e.data),
            }),
            padding: u8::try_from(self.padding_len()).unwrap_or(0),
        }
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> RtpPacket<T> {
    fn fixed_mut(&mut self) -> Option<&mut [u8; field::FIXED_LEN]> {
        self.buf.as_mut().first_chunk_mut::<{ field::FIXED_LEN }>()
    }

    /// Sets the marker bit.
    pub fn set_marker(&mut self, marker: bool) {
        if let Some(f) = self.fixed_mut() {
            f[field::MPT] = (f[field::MPT] & 0x7F) | (u8::from(marker) << 7);
        }
    }

    /// Sets the payload type (the top bit of `pt` is ignored).
    pub fn set_payload_type(&mut self, pt: u8) {
        if let Some(f) = self.fixed_mut() {
            f[field::MPT] = (f[field::MPT] & 0x80) | (pt & 0x7F);
        }
    }

    /// Sets the sequence number.
    pub fn set_sequence_number(&mut self, seq: u16) {
        if let Some(f) = self.fixed_mut() {
            f[field::SEQ..field::SEQ + 2].copy_from_slice(&seq.to_be_bytes());
        }
    }

    /// Sets the timestamp.
    pub fn set_timestamp(&mut self, ts: u32) {
        if let Some(f) = self.fixed_mut() {
            f[field::TIMESTAMP..field::TIMESTAMP + 4].copy_from_slice(&ts.to_be_bytes());
        }
    }

    /// Sets the SSRC.
    pub fn set_ssrc(&mut self, ssrc: Ssrc) {
        if let Some(f) = self.fixed_mut() {
            f[field::SSRC..field::SSRC + 4].copy_from_slice(&ssrc.0.to_be_bytes());
        }
    }

    /// The payload, mutable (e.g. for in-place encryption).
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let (start, end) = (self.header_len(), self.payload_end as usize);
        self.buf.as_mut().get_mut(start..end).unwrap_or_default()
    }
}

/// A header extension as found in a packet: the 16-bit profile value and the data words.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct ExtensionRef<'a> {
    /// "defined by profile": 0xBEDE for RFC 8285 one-byte, 0x100X for two-byte.
    pub profile: u16,
    /// The extension data (a multiple of 4 bytes).
    pub data: &'a [u8],
}

impl<'a> ExtensionRef<'a> {
    /// The RFC 8285 form this extension uses, if any.
    pub fn form(&self) -> Option<ExtensionForm> {
        extension_form(self.profile)
    }

    /// The RFC 8285 elements (empty for the generic form). Padding bytes are skipped; an element
    /// that would run past the end, the one-byte id 15 (RFC 8285 §4.2: "the local identifier
    /// value 15 is reserved ... parsing stops"), or a one-byte id 0 with a nonzero length (id 0
    /// is padding, a lone zero byte) ends the iteration.
    pub fn elements(&self) -> ExtensionElements<'a> {
        ExtensionElements {
            form: self.form(),
            data: self.data,
        }
    }
}

/// Which RFC 8285 header extension form.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum ExtensionForm {
    /// One-byte header: ids 1-14, 1 to 16 data bytes ([RFC 8285 §4.2]).
    ///
    /// [RFC 8285 §4.2]: https://www.rfc-editor.org/rfc/rfc8285#section-4.2
    OneByte,
    /// Two-byte header: ids 1-255, 0 to 255 data bytes, 4 "appbits" ([RFC 8285 §4.3]).
    ///
    /// [RFC 8285 §4.3]: https://www.rfc-editor.org/rfc/rfc8285#section-4.3
    TwoByte {
        /// The low 4 bits of the profile value.
        appbits: u8,
    },
}

fn extension_form(profile: u16) -> Option<ExtensionForm> {
    if profile == ONE_BYTE_PROFILE {
        Some(ExtensionForm::OneByte)
    } else if profile & 0xFFF0 == TWO_BYTE_PROFILE {
        Some(ExtensionForm::TwoByte {
            appbits: (profile & 0x0F) as u8,
        })
    } else {
        None
    }
}

/// One RFC 8285 header extension element.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct ExtensionElement<'a> {
    /// Local identifier.
    pub id: u8,
    /// Element data.
    pub data: &'a [u8],
}

/// Iterator over RFC 8285 elements, see [`ExtensionRef::elements`].
#[derive(Clone, Debug)]
pub struct ExtensionElements<'a> {
    form: Option<ExtensionForm>,
    data: &'a [u8],
}

impl<'a> Iterator for ExtensionElements<'a> {
    type Item = ExtensionElement<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let (&first, rest) = self.data.split_first()?;
            if first == 0 {
                // RFC 8285 §4.1: padding bytes (id 0) may appear between elements.
                self.data = rest;
                continue;
            }
            let (id, len, rest) = match self.form? {
                ExtensionForm::OneByte => {
                    let id = first >> 4;
                    // Id 0 is padding and has no length: a 0 id with a length (a byte 0x01 to
                    // 0x0F) is no element, and what follows cannot be framed; stop as for 15.
                    if id == 15 || id == 0 {
                        self.data = &[];
                        return None;
                    }
                    (id, usize::from(first & 0x0F) + 1, rest)
                }
                ExtensionForm::TwoByte { .. } => {
                    let (&len, rest) = rest.split_first()?;
                    (first, usize::from(len), rest)
                }
            };
            let Some((data, tail)) = rest.split_at_checked(len) else {
                self.data = &[];
                return None;
            };
            self.data = tail;
            return Some(ExtensionElement { id, data });
        }
    }
}

/// An owned header extension for building.
#[derive(Clone, Debug, Default, Eq, PartialEq)]
pub struct HeaderExtension {
    /// The 16-bit "defined by profile" value.
    pub profile: u16,
    /// The data, a multiple of 4 bytes.
    pub data: Bytes,
}

impl HeaderExtension {
    /// The RFC 3550 generic form.
    ///
    /// # Errors
    /// [`BuildError::FieldTooLarge`] if `data` is not a multiple of 4 bytes or longer than
    /// 65535 words.
    pub fn generic(profile: u16, data: Bytes) -> Result<Self, BuildError> {
        if !data.len().is_multiple_of(4) || data.len() / 4 > usize::from(u16::MAX) {
            return Err(BuildError::FieldTooLarge {
                what: "header extension length",
            });
        }
        Ok(Self { profile, data })
    }

    /// The RFC 8285 one-byte form from `(id, data)` pairs (ids 1-14, 1-16 bytes each), padded to
    /// a 32-bit boundary with zero bytes.
    ///
    /// # Errors
    /// [`BuildError::BadExtensionElement`] for an id or length out of range.
    pub fn one_byte(elements: &[(u8, &[u8])]) -> Result<Self, BuildError> {
        let mut out = Vec::new();
        for &(id, data) in elements {
            if !(1..=14).contains(&id) || data.is_empty() || data.len() > 16 {
                return Err(BuildError::BadExtensionElement {
                    id,
                    len: data.len(),
                });
            }
            out.push((id << 4) | (data.len() - 1) as u8);
            out.extend_from_slice(data);
        }
        Self::padded(ONE_BYTE_PROFILE, out)
    }

    /// The RFC 8285 two-byte form from `(id, data)` pairs (ids 1-255, 0-255 bytes each).
    ///
    /// # Errors
    /// [`BuildError::BadExtensionElement`] for an id or length out of range.
    pub fn two_byte(appbits: u8, elements: &[(u8, &[u8])]) -> Result<Self, BuildError> {
        let mut out = Vec::new();
        for &(id, data) in elements {
            let Ok(len) = u8::try_from(data.len()) else {
                return Err(BuildError::BadExtensionElement {
                    id,
                    len: data.len(),
                });
            };
            if id == 0 {
                return Err(BuildError::BadExtensionElement {
                    id,
                    len: data.len(),
                });
            }
            out.extend_from_slice(&[id, len]);
            out.extend_from_slice(data);
        }
        Self::padded(TWO_BYTE_PROFILE | u16::from(appbits & 0x0F), out)
    }

    fn padded(profile: u16, mut out: Vec<u8>) -> Result<Self, BuildError> {
        while !out.len().is_multiple_of(4) {
            out.push(0);
        }
        Self::generic(profile, Bytes::from(out))
    }

    /// A borrowed view, to read the elements back.
    pub fn as_ref(&self) -> ExtensionRef<'_> {
        ExtensionRef {
            profile: self.profile,
            data: &self.data,
        }
    }
}

/// An owned RTP header for building packets ([RFC 3550 §5.1]).
///
/// [RFC 3550 §5.1]: https://www.rfc-editor.org/rfc/rfc3550#section-5.1
#[derive(Clone, Debug, Default, Eq, PartialEq)]
pub struct RtpHeader {
    /// Marker bit.
    pub marker: bool,
    /// Payload type (0-127).
    pub payload_type: u8,
    /// Sequence number.
    pub sequence_number: u16,
    /// RTP timestamp.
    pub timestamp: u32,
    /// Synchronization source.
    pub ssrc: Ssrc,
    /// Contributing sources (at most 15).
    pub csrcs: Vec<Ssrc>,
    /// Header extension.
    pub extension: Option<HeaderExtension>,
    /// Number of padding octets appended after the payload (0 = no P bit).
    pub padding: u8,
}

impl RtpHeader {
    /// Length of the header written by [`write_to`](Self::write_to) (no payload or padding).
    #[inline]
    pub fn encoded_len(&self) -> usize {
        field::FIXED_LEN
            + 4 * self.csrcs.len()
            + self.extension.as_ref().map_or(0, |e| 4 + e.data.len())
    }

    /// Length of a whole packet with this header and a payload of `payload_len` bytes.
    pub fn packet_len(&self, payload_len: usize) -> usize {
        self.encoded_len() + payload_len + usize::from(self.padding)
    }

    /// The fixed 12-byte header ([RFC 3550 §5.1]) of this header's fields, with the X bit and
    /// CC count set as given. Built from three big-endian 32-bit words, so writing it is one
    /// 12-byte copy instead of a store per field.
    ///
    /// [RFC 3550 §5.1]: https://www.rfc-editor.org/rfc/rfc3550#section-5.1
    #[inline(always)]
    fn fixed_bytes(&self, x_cc: u8) -> [u8; field::FIXED_LEN] {
        let first = 0x80 | (u8::from(self.padding > 0) << 5) | x_cc;
        StreamHeader::with_first_octet(first, self.payload_type, self.ssrc).encode(
            self.marker,
            self.sequence_number,
            self.timestamp,
        )
    }

    /// The [`StreamHeader`] of this header's payload type and SSRC, if this is a plain header
    /// (no CSRC, extension or padding) that one can write.
    #[inline(always)]
    fn as_stream(&self) -> Option<StreamHeader> {
        (self.is_plain() && self.padding == 0)
            .then(|| StreamHeader::new(self.payload_type, self.ssrc))
    }

    /// Whether this header is the plain fixed header: no CSRC and no extension.
    #[inline(always)]
    fn is_plain(&self) -> bool {
        self.csrcs.is_empty() && self.extension.is_none()
    }

    /// Writes the header into `out` and returns the number of bytes written.
    ///
    /// The usual header (no CSRC, no extension) takes a fast path: one length check and one
    /// 12-byte copy.
    ///
    /// # Errors
    /// [`BuildError::BufferTooSmall`] if `out` is shorter than [`encoded_len`](Self::encoded_len);
    /// [`BuildError::FieldTooLarge`] for more than 15 CSRCs or an extension of more than 65535
    /// words or not a multiple of 4 bytes.
    #[inline]
    pub fn write_to(&self, out: &mut [u8]) -> Result<usize, BuildError> {
        if self.is_plain() {
            let have = out.len();
            let Some(fixed) = out.first_chunk_mut::<{ field::FIXED_LEN }>() else {
                return Err(BuildError::BufferTooSmall {
                    need: field::FIXED_LEN,
                    have,
                });
            };
            *fixed = self.fixed_bytes(0);
            return Ok(field::FIXED_LEN);
        }
        self.write_full(out)
    }

    /// The general header writer: CSRC list and header extension.
    #[inline(never)]
    fn write_full(&self, out: &mut [u8]) -> Result<usize, BuildError> {
        let need = self.encoded_len();
        if self.csrcs.len() > 15 {
            return Err(BuildError::FieldTooLarge { what: "csrc count" });
        }
        let Some(out) = out.get_mut(..need) else {
            return Err(BuildError::BufferTooSmall {
                need,
                have: out.len(),
            });
        };
        let (fixed, mut rest) = out.split_at_mut(field::FIXED_LEN);
        let x_cc = (u8::from(self.extension.is_some()) << 4) | self.csrcs.len() as u8;
        fixed.copy_from_slice(&self.fixed_bytes(x_cc));
        for c in &self.csrcs {
            let (w, r) = rest.split_at_mut(4);
            w.copy_from_slice(&c.0.to_be_bytes());
            rest = r;
        }
        if let Some(ext) = &self.extension {
            let words = ext.data.len() / 4;
            if !ext.data.len().is_multiple_of(4) || words > usize::from(u16::MAX) {
                return Err(BuildError::FieldTooLarge {
                    what: "header extension length",
                });
            }
            rest[0..2].copy_from_slice(&ext.profile.to_be_bytes());
            rest[2..4].copy_from_slice(&(words as u16).to_be_bytes());
            rest[4..].copy_from_slice(&ext.data);
        }
        Ok(need)
    }

    /// Writes header, `payload` and padding (zeros, count in the last octet) into `out` and
    /// returns the packet length.
    ///
    /// The usual packet (no CSRC, extension or padding) takes the fast path of
    /// [`StreamHeader::write_packet`]: one length check, then the header and a payload of
    /// 4-256 bytes as 16-byte rows and inline block copies (`memcpy` for other lengths).
    ///
    /// # Errors
    /// As [`write_to`](Self::write_to), with the whole packet length as the need.
    // Always inlined: see `StreamHeader::write_packet`.
    #[inline(always)]
    pub fn write_packet(&self, payload: &[u8], out: &mut [u8]) -> Result<usize, BuildError> {
        match self.as_stream() {
            // The portable payload copy, inline: the AVX2 one (a call) made this builder slower
            // (benches/README.md, "rtp, session 15").
            Some(stream) => stream.write_packet_with(
                None,
                self.marker,
                self.sequence_number,
                self.timestamp,
                payload,
                out,
            ),
            None => self.write_packet_full(payload, out),
        }
    }

    /// The general packet writer: CSRC list, header extension and padding.
    #[inline(never)]
    fn write_packet_full(&self, payload: &[u8], out: &mut [u8]) -> Result<usize, BuildError> {
        let need = self.packet_len(payload.len());
        let Some(out) = out.get_mut(..need) else {
            return Err(BuildError::BufferTooSmall {
                need,
                have: out.len(),
            });
        };
        let h = self.write_to(out)?;
        let (body, pad) = out[h..].split_at_mut(payload.len());
        body.copy_from_slice(payload);
        if let Some((last, zeros)) = pad.split_last_mut() {
            zeros.fill(0);
            *last = self.padding;
        }
        Ok(need)
    }

    /// The whole packet as a new buffer.
    ///
    /// # Errors
    /// As [`write_to`](Self::write_to).
    pub fn to_vec(&self, payload: &[u8]) -> Result<Vec<u8>, BuildError> {
        let mut out = vec![0; self.packet_len(payload.len())];
        self.write_packet(payload, &mut out)?;
        Ok(out)
    }
}

/// The fixed header of one outgoing stream, pre-encoded ([RFC 3550 §5.1]): version 2, no
/// padding, extension or CSRC, and the payload type and SSRC set once; only the marker bit,
/// sequence number and timestamp change per packet.
///
/// This is the send path of a media stream ([`RtpSession`](crate::RtpSession) uses it): a
/// header is one 8-byte and one 4-byte store after one length check. For CSRC lists, header
/// extensions or padding use [`RtpHeader`].
///
/// The payload may be copied in ([`write_packet`](Self::write_packet)), or an encoder may write
/// it straight into the packet buffer after a [`LEN`](Self::LEN)-byte reserve and the header
/// then goes in front ([`write_to`](Self::write_to)), which saves the copy:
///
/// ```
/// use telox_rtp::packet::StreamHeader;
/// use telox_rtp::{RtpPacket, Ssrc};
///
/// let stream = StreamHeader::new(0, Ssrc(0xDEAD_BEEF));
/// let mut buf = [0u8; 1500];
/// // The encoder writes 160 bytes of PCMU at buf[12..172] ...
/// buf[StreamHeader::LEN..172].fill(0xFF);
/// // ... then the header goes in front.
/// stream.write_to(true, 7, 160, &mut buf).unwrap();
/// let p = RtpPacket::new_checked(&buf[..172]).unwrap();
/// assert_eq!((p.marker(), p.sequence_number(), p.timestamp()), (true, 7, 160));
/// assert_eq!((p.payload_type(), p.ssrc(), p.payload().len()), (0, Ssrc(0xDEAD_BEEF), 160));
/// ```
///
/// [RFC 3550 §5.1]: https://www.rfc-editor.org/rfc/rfc3550#section-5.1
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct StreamHeader {
    /// Octets 0 (V, P, X, CC) and 1 (PT, marker clear) as the top 16 bits of the first 8-byte
    /// big-endian word of the header; the sequence number and timestamp fill the rest.
    first: u64,
    /// Octets 8-11: the SSRC, already big-endian.
    ssrc: [u8; 4],
}

impl StreamHeader {
    /// Length of the header it writes (the fixed RTP header).
    pub const LEN: usize = field::FIXED_LEN;

    /// The header of a stream with this payload type (its low 7 bits) and SSRC.
    #[inline]
    pub fn new(payload_type: u8, ssrc: Ssrc) -> Self {
        Self::with_first_octet(0x80, payload_type, ssrc)
    }

    /// A header whose first octet (V, P, X, CC) is `first`; [`RtpHeader`] sets P, X and CC.
    #[inline(always)]
    fn with_first_octet(first: u8, payload_type: u8, ssrc: Ssrc) -> Self {
        Self {
            first: (u64::from(first) << 56) | (u64::from(payload_type & 0x7F) << 48),
            ssrc: ssrc.0.to_be_bytes(),
        }
    }

    /// The payload type.
    pub fn payload_type(&self) -> u8 {
        (self.first >> 48) as u8 & 0x7F
    }

    /// The SSRC.
    pub fn ssrc(&self) -> Ssrc {
        Ssrc(u32::from_be_bytes(self.ssrc))
    }

    /// Octets 0-7 of one packet's header as a big-endian word.
    #[inline(always)]
    fn head(&self, marker: bool, sequence_number: u16, timestamp: u32) -> u64 {
        self.first
            | (u64::from(marker) << 55)
            | (u64::from(sequence_number) << 32)
            | u64::from(timestamp)
    }

    /// The 12 header octets of one packet.
    #[inline(always)]
    pub fn encode(&self, marker: bool, sequence_number: u16, timestamp: u32) -> [u8; Self::LEN] {
        self.octets(self.head(marker, sequence_number, timestamp))
    }

    /// The 12 header octets with octets 0-7 given as [`head`](Self::head) made them.
    #[inline(always)]
    fn octets(&self, head: u64) -> [u8; Self::LEN] {
        let mut fixed = [0u8; Self::LEN];
        let (a, b) = fixed.split_at_mut(8);
        a.copy_from_slice(&head.to_be_bytes());
        b.copy_from_slice(&self.ssrc);
        fixed
    }

    /// Writes the header of one packet into the first [`LEN`](Self::LEN) bytes of `out`
    /// (whatever follows is left alone: it may already hold the payload) and returns
    /// [`LEN`](Self::LEN).
    ///
    /// # Errors
    /// [`BuildError::BufferTooSmall`] if `out` is shorter than [`LEN`](Self::LEN).
    #[inline]
    pub fn write_to(
        &self,
        marker: bool,
        sequence_number: u16,
        timestamp: u32,
        out: &mut [u8],
    ) -> Result<usize, BuildError> {
        let have = out.len();
        let Some(fixed) = out.first_chunk_mut::<{ Self::LEN }>() else {
            return Err(BuildError::BufferTooSmall {
                need: Self::LEN,
                have,
            });
        };
        *fixed = self.encode(marker, sequence_number, timestamp);
        Ok(Self::LEN)
    }

    /// Writes one packet, header and a copy of `payload`, into `out` and returns its length.
    ///
    /// # Errors
    /// [`BuildError::BufferTooSmall`] if `out` is shorter than [`LEN`](Self::LEN) +
    /// `payload.len()`; nothing is written then.
    // Always inlined, and so are the two callers that build the same plain packet
    // (`RtpHeader::write_packet`, `RtpSession::send_packet_into`): with the short copy inside,
    // `#[inline]` no longer sufficed and a call with stack-passed arguments cost more than
    // the copy saves (benches/README.md, "rtp, session 5").
    #[inline(always)]
    pub fn write_packet(
        &self,
        marker: bool,
        sequence_number: u16,
        timestamp: u32,
        payload: &[u8],
        out: &mut [u8],
    ) -> Result<usize, BuildError> {
        self.write_packet_with(
            Avx2::detect(),
            marker,
            sequence_number,
            timestamp,
            payload,
            out,
        )
    }

    /// [`write_packet`](Self::write_packet) with the payload copy's 32-byte moves (`avx2`)
    /// or without (`None`: the portable copy, which tests and the fuzz harness also run where
    /// the CPU has AVX2).
    #[inline(always)]
    pub(crate) fn write_packet_with(
        &self,
        avx2: Option<Avx2>,
        marker: bool,
        sequence_number: u16,
        timestamp: u32,
        payload: &[u8],
        out: &mut [u8],
    ) -> Result<usize, BuildError> {
        let need = Self::LEN + payload.len();
        let have = out.len();
        let Some(packet) = out.get_mut(..need) else {
            return Err(BuildError::BufferTooSmall { need, have });
        };
        let head = self.head(marker, sequence_number, timestamp);
        match (
            packet.split_first_chunk_mut::<16>(),
            payload.split_first_chunk::<4>(),
        ) {
            // A voice frame: written as 16-byte rows from the packet's start, so a packet
            // buffer aligned to 16 bytes gets aligned stores only (see `copy_short`).
            (Some((row, body)), Some((first, rest))) if payload.len() <= SHORT_PAYLOAD => {
                // Octets 8-15 (the SSRC, payload octets 0-3) as one word: the row is two
                // 8-byte stores (copying `octets()` and `first` makes it three).
                let tail = u64::from(u32::from_le_bytes(self.ssrc))
                    | (u64::from(u32::from_le_bytes(*first)) << 32);
                let mut octets = [0u8; 16];
                octets[..8].copy_from_slice(&head.to_be_bytes());
                octets[8..].copy_from_slice(&tail.to_le_bytes());
                *row = octets;
                copy_payload(avx2, body, rest);
            }
            _ => write_long(self.octets(head), payload, packet),
        }
        Ok(need)
    }
}

/// [`StreamHeader::write_packet`] for payloads of 0-3 or more than [`SHORT_PAYLOAD`] bytes:
/// the header octets `fixed`, then `memcpy`. Out of line: only the short path is worth its
/// code at every call site.
///
/// It takes the octets, not `&StreamHeader`: with a reference, `RtpHeader::write_packet`,
/// which builds its `StreamHeader` per packet, stored that header to the stack on every packet
/// for this call it almost never makes (general builder + 160 B: 10 % faster without, A/B in
/// interleaved blocks, benches/README.md "rtp, session 6").
#[inline(never)]
fn write_long(fixed: [u8; StreamHeader::LEN], payload: &[u8], packet: &mut [u8]) {
    let (head, body) = packet.split_at_mut(StreamHeader::LEN);
    head.copy_from_slice(&fixed);
    body.copy_from_slice(payload);
}

/// The longest payload [`StreamHeader::write_packet`] copies with [`copy_short`] (a 20 ms
/// G.711 frame is 160 bytes, G.722 160, Opus at 64 kbit/s 160); longer ones go to `memcpy`.
const SHORT_PAYLOAD: usize = 256;

/// [`copy_short`] with 32-byte moves where `avx2` proves the CPU has them (one call into
/// the AVX2 copy), else inline.
#[inline(always)]
fn copy_payload(avx2: Option<Avx2>, dst: &mut [u8], src: &[u8]) {
    match avx2 {
        Some(avx2) => avx2.copy_short(dst, src),
        None => copy_short(dst, src),
    }
}

/// Copies `src` into `dst` (of the same length, at most 256 bytes) with fixed-size block
/// copies that the compiler emits as inline 16-byte vector moves: no call, no loop.
///
/// A short `memcpy` costs more than its moves here: the call, a length dispatch, and (glibc's
/// AVX-512 entry on this project's bench CPU) four 64-byte stores at `packet[12..]` that each
/// straddle two cache lines. With the header's first row written whole by the caller, the
/// copy starts at `packet[16..]`, so on a 16-byte aligned packet buffer every store but the
/// last one or two lands on a 16-byte boundary (benches/README.md, "rtp, session 5").
///
/// From 128 bytes on: the first 128, then the last 32, 64 or 128 bytes of the whole, which
/// overlap the first block (one length compare for the rest of a 160-byte frame, where
/// [`copy_up_to_128`] on the rest took three and two address adds: 68 -> 62 instructions per
/// packet in a driver of the build bench's loop, callgrind, session 13).
#[inline(always)]
fn copy_short(dst: &mut [u8], src: &[u8]) {
    debug_assert!(dst.len() == src.len() && src.len() <= 256);
    let (Some(d), Some(s)) = (dst.first_chunk_mut::<128>(), src.first_chunk::<128>()) else {
        return copy_up_to_128(dst, src);
    };
    *d = *s;
    macro_rules! last {
        ($n:literal) => {
            if let (Some(d), Some(s)) = (dst.last_chunk_mut::<$n>(), src.last_chunk::<$n>()) {
                *d = *s;
            }
        };
    }
    match src.len() {
        ..=160 => last!(32),
        161..=192 => last!(64),
        _ => last!(128),
    }
}

/// [`copy_short`] for at most 128 bytes: the first and the last `N` bytes for the largest
/// `N` in 64, 32 ... 1 that fits (the two blocks overlap unless the length is `2 N`).
#[inline(always)]
fn copy_up_to_128(dst: &mut [u8], src: &[u8]) {
    macro_rules! ends {
        ($n:literal) => {{
            if let (Some(d), Some(s)) = (dst.first_chunk_mut::<$n>(), src.first_chunk::<$n>()) {
                *d = *s;
            }
            if let (Some(d), Some(s)) = (dst.last_chunk_mut::<$n>(), src.last_chunk::<$n>()) {
                *d = *s;
            }
            return;
        }};
    }
    match src.len() {
        64.. => ends!(64),
        32.. => ends!(32),
        16.. => ends!(16),
        8.. => ends!(8),
        4.. => ends!(4),
        2.. => ends!(2),
        _ => {
            if let (Some(d), Some(s)) = (dst.first_mut(), src.first()) {
                *d = *s;
            }
        }
    }
}

#[inline]
pub(crate) fn be16(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([s[0], s[1]]))
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 3550 header: V=2 P=0 X=0 CC=0, M=1 PT=0, seq 0x1234, ts 0xDEADBEEF, SSRC 0x01020304.
    const SIMPLE: [u8; 16] = [
        0x80, 0x80, 0x12, 0x34, // V/P/X/CC, M/PT, seq
        0xDE, 0xAD, 0xBE, 0xEF, // timestamp
        0x01, 0x02, 0x03, 0x04, // ssrc
        0xAA, 0xBB, 0xCC, 0xDD, // payload
    ];

    #[test]
    fn parses_every_fixed_field() {
        let p = RtpPacket::new_checked(&SIMPLE[..]).unwrap();
        assert_eq!(p.version(), 2);
        assert!(p.marker());
        assert_eq!(p.payload_type(), 0);
        assert_eq!(p.sequence_number(), 0x1234);
        assert_eq!(p.timestamp(), 0xDEAD_BEEF);
        assert_eq!(p.ssrc(), Ssrc(0x0102_0304));
        assert_eq!(p.csrcs().count(), 0);
        assert_eq!(p.payload(), &[0xAA, 0xBB, 0xCC, 0xDD]);
        assert_eq!(p.header().to_vec(p.payload()).unwrap(), SIMPLE);
    }

    #[test]
    fn csrc_extension_and_padding() {
        let pkt = [
            0xB1, 0x08, 0x00, 0x01, // V=2 P=1 X=1 CC=1, PT=8, seq 1
            0x00, 0x00, 0x00, 0xA0, // ts 160
            0x11, 0x11, 0x11, 0x11, // ssrc
            0x22, 0x22, 0x22, 0x22, // csrc
            0xBE, 0xDE, 0x00, 0x01, // one-byte extension, 1 word
            0x10, 0x7F, 0x00, 0x00, // id 1 len 1 (0x7F), padding
            0x55, 0x00, 0x00, 0x02, // payload 0x55, 1 pad byte... then count 2? see below
        ];
        // Last octet is 2: padding is 0x00 0x02, payload is 0x55 0x00.
        let p = RtpPacket::new_checked(&pkt[..]).unwrap();
        assert_eq!(p.payload_type(), 8);
        assert_eq!(p.csrcs().collect::<Vec<_>>(), vec![Ssrc(0x2222_2222)]);
        let ext = p.extension().unwrap();
        assert_eq!(ext.form(), Some(ExtensionForm::OneByte));
        let els: Vec<_> = ext.elements().collect();
        assert_eq!(
            els,
            vec![ExtensionElement {
                id: 1,
                data: &[0x7F]
            }]
        );
        assert_eq!(p.payload(), &[0x55, 0x00]);
        assert_eq!(p.padding_len(), 2);
        assert_eq!(p.header().to_vec(p.payload()).unwrap(), pkt);
    }

    #[test]
    fn rejects_bad_input_with_precise_errors() {
        assert_eq!(
            RtpPacket::new_checked(&SIMPLE[..11]),
            Err(RtpError::TooShort { len: 11 })
        );
        let mut v1 = SIMPLE;
        v1[0] = 0x40;
        assert_eq!(
            RtpPacket::new_checked(&v1[..]),
            Err(RtpError::BadVersion(1))
        );
        let mut cc = SIMPLE;
        cc[0] = 0x82;
        assert_eq!(
            RtpPacket::new_checked(&cc[..]),
            Err(RtpError::CsrcOverrun { count: 2, len: 16 })
        );
        let mut x = SIMPLE;
        x[0] = 0x90;
        assert_eq!(
            RtpPacket::new_checked(&x[..]),
            Err(RtpError::ExtensionOverrun {
                at: 12,
                words: 0xCCDD
            })
        );
        let mut pad = SIMPLE;
        pad[0] = 0xA0;
        assert_eq!(
            RtpPacket::new_checked(&pad[..]),
            Err(RtpError::BadPadding {
                count: 0xDD,
                available: 4
            })
        );
        pad[15] = 0;
        assert_eq!(
            RtpPacket::new_checked(&pad[..]),
            Err(RtpError::BadPadding {
                count: 0,
                available: 4
            })
        );
        // Every truncated prefix of a valid packet is rejected or parsed without panicking.
        for n in 0..SIMPLE.len() {
            let _ = RtpPacket::new_checked(&SIMPLE[..n]);
        }
    }

    #[test]
    fn two_byte_extension_round_trip() {
        let ext = HeaderExtension::two_byte(3, &[(1, &[]), (200, &[1, 2, 3])]).unwrap();
        assert_eq!(ext.profile, 0x1003);
        assert_eq!(&ext.data[..], &[1, 0, 200, 3, 1, 2, 3, 0]);
        let r = ext.as_ref();
        assert_eq!(r.form(), Some(ExtensionForm::TwoByte { appbits: 3 }));
        let els: Vec<_> = r.elements().collect();
        assert_eq!(
            els,
            vec![
                ExtensionElement { id: 1, data: &[] },
                ExtensionElement {
                    id: 200,
                    data: &[1, 2, 3]
                }
            ]
        );
        assert!(HeaderExtension::one_byte(&[(15, &[1])]).is_err());
        assert!(HeaderExtension::one_byte(&[(1, &[0; 17])]).is_err());
        assert!(HeaderExtension::generic(7, Bytes::from_static(&[1, 2, 3])).is_err());
    }

    /// The elements of a one-byte form extension holding `data`.
    fn one_byte_elements(data: &[u8]) -> Vec<ExtensionElement<'_>> {
        let r = ExtensionRef {
            profile: ONE_BYTE_PROFILE,
            data,
        };
        r.elements().collect()
    }

    #[test]
    fn one_byte_id_15_stops_parsing() {
        assert_eq!(
            one_byte_elements(&[0x10, 9, 0xF0, 0x20, 1, 2, 0, 0]),
            vec![ExtensionElement { id: 1, data: &[9] }]
        );
        // An element running past the end ends the iteration.
        assert!(one_byte_elements(&[0x13, 1, 2, 3]).is_empty());
    }

    #[test]
    fn one_byte_id_0_with_a_length_stops_parsing() {
        // Byte 0x02 is id 0 (padding) with a length field of 2: it was read as an element
        // with id 0 and three data bytes, swallowing the audio level after it. The reports
        // OvenMediaEngine#2312, rvoip#19 and sipsorcery#1789 found the same misreading.
        assert_eq!(
            one_byte_elements(&[0x10, 0x7F, 0, 0x02, 0x10, 0x2A, 0, 0]),
            vec![ExtensionElement {
                id: 1,
                data: &[0x7F]
            }]
        );
        // Lone zero bytes stay padding between and after elements.
        let ids: Vec<u8> = one_byte_elements(&[0, 0x10, 0x7F, 0, 0x20, 0x2A, 0, 0])
            .iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(ids, [1, 2]);
    }

    #[test]
    fn setters_change_fields_in_place() {
        let mut buf = SIMPLE;
        let mut p = RtpPacket::new_checked(&mut buf[..]).unwrap();
        p.set_marker(false);
        p.set_payload_type(101);
        p.set_sequence_number(7);
        p.set_timestamp(9);
        p.set_ssrc(Ssrc(5));
        p.payload_mut()[0] = 1;
        assert!(!p.marker());
        assert_eq!(
            (p.payload_type(), p.sequence_number(), p.timestamp()),
            (101, 7, 9)
        );
        assert_eq!(p.ssrc(), Ssrc(5));
        assert_eq!(p.payload()[0], 1);
    }

    #[test]
    fn fast_path_writes_what_the_general_writer_writes() {
        let payload = [0x5A; 160];
        for (marker, pt, seq, ts, ssrc) in [
            (false, 0, 0, 0, 0),
            (true, 127, 0xFFFF, u32::MAX, u32::MAX),
            (true, 8, 0x1234, 0xDEAD_BEEF, 0x0102_0304),
        ] {
            let h = RtpHeader {
                marker,
                payload_type: pt,
                sequence_number: seq,
                timestamp: ts,
                ssrc: Ssrc(ssrc),
                ..RtpHeader::default()
            };
            let (mut fast, mut full) = ([0u8; 200], [0u8; 200]);
            assert_eq!(h.write_packet(&payload, &mut fast), Ok(172));
            assert_eq!(h.write_packet_full(&payload, &mut full), Ok(172));
            assert_eq!(fast, full);
            assert_eq!(h.write_to(&mut fast), Ok(12));
            assert_eq!(h.write_full(&mut full), Ok(12));
            assert_eq!(fast[..12], full[..12]);
            let p = RtpPacket::new_checked(&fast[..172]).unwrap();
            assert_eq!(
                (p.marker(), p.payload_type(), p.sequence_number()),
                (marker, pt, seq)
            );
            assert_eq!(
                (p.timestamp(), p.ssrc(), p.payload()),
                (ts, Ssrc(ssrc), &payload[..])
            );
        }
        let h = RtpHeader::default();
        for short in [0, 11, 12, 171] {
            assert_eq!(
                h.write_packet(&payload, &mut [0u8; 200][..short]),
                Err(BuildError::BufferTooSmall {
                    need: 172,
                    have: short
                })
            );
        }
    }

    #[test]
    fn stream_header_writes_what_the_general_writer_writes() {
        let payload = [0xA5; 160];
        for (marker, pt, seq, ts, ssrc) in [
            (false, 0, 0, 0, 0),
            (true, 127, 0xFFFF, u32::MAX, u32::MAX),
            (true, 8, 0x1234, 0xDEAD_BEEF, 0x0102_0304),
            (false, 0xFF, 1, 2, 3),
        ] {
            let h = RtpHeader {
                marker,
                payload_type: pt & 0x7F,
                sequence_number: seq,
                timestamp: ts,
                ssrc: Ssrc(ssrc),
                ..RtpHeader::default()
            };
            let stream = StreamHeader::new(pt, Ssrc(ssrc));
            assert_eq!(
                (stream.payload_type(), stream.ssrc()),
                (pt & 0x7F, Ssrc(ssrc))
            );
            let (mut ours, mut general) = ([0x11u8; 200], [0x11u8; 200]);
            assert_eq!(
                stream.write_packet(marker, seq, ts, &payload, &mut ours),
                Ok(172)
            );
            assert_eq!(h.write_packet_full(&payload, &mut general), Ok(172));
            assert_eq!(ours, general);
            assert_eq!(stream.encode(marker, seq, ts), general[..12]);
            // write_to writes the 12 header bytes and leaves the rest alone.
            let mut hdr = [0x22u8; 20];
            assert_eq!(stream.write_to(marker, seq, ts, &mut hdr), Ok(12));
            assert_eq!((&hdr[..12], &hdr[12..]), (&general[..12], &[0x22u8; 8][..]));
        }
        let stream = StreamHeader::new(0, Ssrc(1));
        assert_eq!(
            stream.write_to(false, 0, 0, &mut [0u8; 11]),
            Err(BuildError::BufferTooSmall { need: 12, have: 11 })
        );
        let mut out = [0x33u8; 171];
        assert_eq!(
            stream.write_packet(false, 0, 0, &payload, &mut out),
            Err(BuildError::BufferTooSmall {
                need: 172,
                have: 171
            })
        );
        assert_eq!(out, [0x33u8; 171], "nothing is written on error");
    }

    /// Every payload length on both sides of the short-copy limit and of each block size in
    /// `copy_short`, at every alignment of the packet in a 16-byte row, through both payload
    /// copies (portable, and AVX2 where the CPU has it), and through the general builder: the
    /// header followed by the payload, and nothing written past the packet.
    #[test]
    fn stream_header_copies_every_payload_length() {
        let source: Vec<u8> = (0..=u8::MAX).cycle().skip(7).take(300).collect();
        let stream = StreamHeader::new(96, Ssrc(0x0102_0304));
        let h = RtpHeader {
            marker: true,
            payload_type: 96,
            sequence_number: 0xABCD,
            timestamp: 0x1122_3344,
            ssrc: Ssrc(0x0102_0304),
            ..RtpHeader::default()
        };
        let avx2 = Avx2::detect();
        if avx2.is_none() {
            eprintln!("no AVX2 on this CPU: the portable copy only");
        }
        for len in 0..=source.len() {
            let payload = &source[..len];
            let mut expected = stream.encode(true, 0xABCD, 0x1122_3344).to_vec();
            expected.extend_from_slice(payload);
            for copy in [None, avx2] {
                for offset in 0..16 {
                    let mut buf = vec![0x5Au8; offset + len + 12 + 40];
                    let out = &mut buf[offset..];
                    let n = stream.write_packet_with(copy, true, 0xABCD, 0x1122_3344, payload, out);
                    let at = format!("length {len}, offset {offset}, {copy:?}");
                    assert_eq!(n, Ok(len + 12), "{at}");
                    assert_eq!(out[..len + 12], expected[..], "{at}");
                    assert!(
                        out[len + 12..].iter().all(|&b| b == 0x5A),
                        "{at}: written past the packet"
                    );
                }
            }
            let mut buf = vec![0x5Au8; len + 12 + 40];
            assert_eq!(h.write_packet(payload, &mut buf), Ok(len + 12));
            assert_eq!(
                buf[..len + 12],
                expected[..],
                "general builder, length {len}"
            );
            assert!(buf[len + 12..].iter().all(|&b| b == 0x5A));
            // The session's send path: the stream header, `Avx2::detect`'s copy.
            let n = stream.write_packet(true, 0xABCD, 0x1122_3344, payload, &mut buf);
            assert_eq!((n, &buf[..len + 12]), (Ok(len + 12), &expected[..]));
        }
    }

    #[test]
    fn write_to_reports_misuse() {
        let h = RtpHeader {
            csrcs: vec![Ssrc(1); 16],
            ..Default::default()
        };
        let mut out = [0u8; 128];
        assert_eq!(
            h.write_to(&mut out),
            Err(BuildError::FieldTooLarge { what: "csrc count" })
        );
        let h = RtpHeader::default();
        assert_eq!(
            h.write_to(&mut out[..5]),
            Err(BuildError::BufferTooSmall { need: 12, have: 5 })
        );
    }
}
