//! The few RTP/RTCP header fields SRTP needs, read straight from the buffer.
//!
//! This is a deliberately small private reader (header length including CSRCs and the
//! extension, SSRC, sequence number; the RTCP sender SSRC) so that this crate does not
//! depend on the layout of `rtp`'s packet view, which was being written at the same time.
//! It checks every length before reading and never panics.

use crate::error::SrtpError;

/// Fixed RTP header length (RFC 3550 §5.1).
pub(crate) const RTP_HEADER_LEN: usize = 12;
/// RTCP header plus sender SSRC: the part of an SRTCP packet that is never encrypted.
pub(crate) const RTCP_HEADER_LEN: usize = 8;

/// What SRTP reads from an RTP header.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub(crate) struct RtpFields {
    /// Header length: 12 + 4 * CC, plus 4 + 4 * length of the extension if X is set.
    pub(crate) header_len: usize,
    pub(crate) seq: u16,
    pub(crate) ssrc: u32,
}

/// Reads the RTP header of `pkt` (which must not include any SRTP trailer).
pub(crate) fn rtp_fields(pkt: &[u8]) -> Result<RtpFields, SrtpError> {
    let Some(fixed) = pkt.get(..RTP_HEADER_LEN) else {
        return Err(SrtpError::TooShort {
            len: pkt.len(),
            need: RTP_HEADER_LEN,
        });
    };
    let version = fixed[0] >> 6;
    if version != 2 {
        return Err(SrtpError::BadVersion(version));
    }
    let cc = usize::from(fixed[0] & 0x0f);
    let mut header_len = RTP_HEADER_LEN + 4 * cc;
    if fixed[0] & 0x10 != 0 {
        // RFC 3550 §5.3.1: 16-bit profile field, 16-bit length in 32-bit words
        let need = header_len + 4;
        let Some(ext) = pkt.get(header_len..need) else {
            return Err(SrtpError::TooShort {
                len: pkt.len(),
                need,
            });
        };
        header_len = need + 4 * usize::from(u16::from_be_bytes([ext[2], ext[3]]));
    }
    if header_len > pkt.len() {
        return Err(SrtpError::TooShort {
            len: pkt.len(),
            need: header_len,
        });
    }
    Ok(RtpFields {
        header_len,
        seq: u16::from_be_bytes([fixed[2], fixed[3]]),
        ssrc: u32::from_be_bytes([fixed[8], fixed[9], fixed[10], fixed[11]]),
    })
}

/// Reads the sender SSRC of the first RTCP packet of a compound packet.
pub(crate) fn rtcp_ssrc(pkt: &[u8]) -> Result<u32, SrtpError> {
    let Some(h) = pkt.get(..RTCP_HEADER_LEN) else {
        return Err(SrtpError::TooShort {
            len: pkt.len(),
            need: RTCP_HEADER_LEN,
        });
    };
    let version = h[0] >> 6;
    if version != 2 {
        return Err(SrtpError::BadVersion(version));
    }
    Ok(u32::from_be_bytes([h[4], h[5], h[6], h[7]]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lengths() {
        let mut p = vec![
            0x80, 0, 0x12, 0x34, 0, 0, 0, 0, 0xca, 0xfe, 0xba, 0xbe, 1, 2,
        ];
        let f = rtp_fields(&p).unwrap();
        assert_eq!((f.header_len, f.seq, f.ssrc), (12, 0x1234, 0xcafe_babe));
        p[0] = 0x81; // one CSRC, missing
        assert_eq!(
            rtp_fields(&p),
            Err(SrtpError::TooShort { len: 14, need: 16 })
        );
        p.extend_from_slice(&[0, 0]);
        assert_eq!(rtp_fields(&p).unwrap().header_len, 16);
        p[0] = 0x91; // CSRC + extension header missing
        assert!(matches!(
            rtp_fields(&p),
            Err(SrtpError::TooShort { need: 20, .. })
        ));
        p.extend_from_slice(&[0xbe, 0xde, 0, 1, 9, 9, 9, 9]);
        assert_eq!(rtp_fields(&p).unwrap().header_len, 24);
        p[0] = 0x40;
        assert!(matches!(rtp_fields(&p), Err(SrtpError::BadVersion(1))));
        for n in 0..12 {
            assert!(rtp_fields(&p[..n]).is_err());
        }
    }

    #[test]
    fn rtcp() {
        let p = [0x80, 200, 0, 6, 1, 2, 3, 4];
        assert_eq!(rtcp_ssrc(&p), Ok(0x0102_0304));
        assert!(rtcp_ssrc(&p[..7]).is_err());
    }
}
