//! ITU-T G.711 µ-law (PCMU) and A-law (PCMA), RFC 3551 §4.5.14.
//!
//! Encoding and decoding are single table look-ups built at compile time from the ITU-T
//! G.191 reference algorithms (`ulaw_compress`/`alaw_compress`, `ulaw_expand`/`alaw_expand`):
//! a 64 KiB table per law indexed by the sample's bit pattern for encoding, a 256-entry one
//! for decoding. The slice functions ([`ulaw_encode`], [`alaw_decode`], ...) are one load and
//! one store per sample, with no branch, no arithmetic and no bounds check. (Smaller
//! 16 KiB/4 KiB tables indexed by `x >> 2`/`x >> 4` were measured 20-40 % slower because of
//! the index arithmetic, and a branch-free SIMD formulation did not vectorise on baseline
//! x86-64.)
//!
//! Negative magnitudes are taken as a one's complement (`!x`) as G.191 does, so µ-law inputs
//! -1..-4 encode to 0x7F ("negative zero"); Sun's `g711.c` (Python's `audioop`) differs
//! on 508 negative inputs. Decoding is identical across all implementations.

use crate::CodecError;
use crate::codec::{Decoder, Encoder, PayloadFormat, check_ptime};
use crate::plc::Plc;

/// G.191 `ulaw_compress` for one 16-bit sample.
const fn ulaw_compress(x: i16) -> u8 {
    // One's complement magnitude of the 14-bit sample, plus the bias of 33.
    let mut absno: i32 = if x < 0 {
        ((!x) >> 2) as i32
    } else {
        (x >> 2) as i32
    } + 33;
    if absno > 0x1FFF {
        absno = 0x1FFF;
    }
    let mut i = absno >> 6;
    let mut segno = 1;
    while i != 0 {
        segno += 1;
        i >>= 1;
    }
    let high = 8 - segno;
    let low = 0xF - ((absno >> segno) & 0xF);
    let mut out = (high << 4) | low;
    if x >= 0 {
        out |= 0x80;
    }
    out as u8
}

/// G.191 `alaw_compress` for one 16-bit sample.
const fn alaw_compress(x: i16) -> u8 {
    let mut ix: i32 = if x < 0 {
        ((!x) >> 4) as i32
    } else {
        (x >> 4) as i32
    };
    if ix > 15 {
        let mut iexp = 1;
        while ix > 16 + 15 {
            ix >>= 1;
            iexp += 1;
        }
        ix -= 16;
        ix += iexp << 4;
    }
    if x >= 0 {
        ix |= 0x80;
    }
    (ix ^ 0x55) as u8
}

/// G.191 `ulaw_expand` for one code, scaled to 16 bits.
const fn ulaw_expand(code: u8) -> i16 {
    let c = !code;
    let exponent = (c >> 4) & 7;
    let mantissa = (c & 0xF) as i32;
    let t = ((mantissa << 3) + 0x84) << exponent;
    if c & 0x80 != 0 {
        (0x84 - t) as i16
    } else {
        (t - 0x84) as i16
    }
}

/// G.191 `alaw_expand` for one code, scaled to 16 bits.
const fn alaw_expand(code: u8) -> i16 {
    let c = code ^ 0x55;
    let mut t = ((c & 0xF) as i32) << 4;
    let seg = ((c & 0x70) >> 4) as i32;
    if seg == 0 {
        t += 8;
    } else {
        t = (t + 0x108) << (seg - 1);
    }
    if c & 0x80 != 0 { t as i16 } else { -t as i16 }
}

/// µ-law code of every sample, indexed by the sample's bit pattern (`x as u16`): one load
/// per sample and no arithmetic at all, as fast as a table gets.
static ULAW_ENCODE: [u8; 65536] = {
    let mut t = [0u8; 65536];
    let mut i = 0;
    while i < 65536 {
        t[i] = ulaw_compress(i as u16 as i16);
        i += 1;
    }
    t
};

/// A-law code of every sample, indexed by the sample's bit pattern.
static ALAW_ENCODE: [u8; 65536] = {
    let mut t = [0u8; 65536];
    let mut i = 0;
    while i < 65536 {
        t[i] = alaw_compress(i as u16 as i16);
        i += 1;
    }
    t
};

/// Linear value of every µ-law code.
static ULAW_DECODE: [i16; 256] = {
    let mut t = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = ulaw_expand(i as u8);
        i += 1;
    }
    t
};

/// Linear value of every A-law code.
static ALAW_DECODE: [i16; 256] = {
    let mut t = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = alaw_expand(i as u8);
        i += 1;
    }
    t
};

/// Encodes one sample to µ-law.
#[inline]
pub fn ulaw_encode_sample(x: i16) -> u8 {
    ULAW_ENCODE[usize::from(x as u16)]
}

/// Encodes one sample to A-law.
#[inline]
pub fn alaw_encode_sample(x: i16) -> u8 {
    ALAW_ENCODE[usize::from(x as u16)]
}

/// Decodes one µ-law code.
#[inline]
pub fn ulaw_decode_sample(code: u8) -> i16 {
    ULAW_DECODE[usize::from(code)]
}

/// Decodes one A-law code.
#[inline]
pub fn alaw_decode_sample(code: u8) -> i16 {
    ALAW_DECODE[usize::from(code)]
}

/// Encodes `min(pcm.len(), out.len())` samples to µ-law.
#[inline]
pub fn ulaw_encode(pcm: &[i16], out: &mut [u8]) {
    for (o, &x) in out.iter_mut().zip(pcm) {
        *o = ULAW_ENCODE[usize::from(x as u16)];
    }
}

/// Encodes `min(pcm.len(), out.len())` samples to A-law.
#[inline]
pub fn alaw_encode(pcm: &[i16], out: &mut [u8]) {
    for (o, &x) in out.iter_mut().zip(pcm) {
        *o = ALAW_ENCODE[usize::from(x as u16)];
    }
}

/// Decodes `min(codes.len(), out.len())` µ-law codes.
#[inline]
pub fn ulaw_decode(codes: &[u8], out: &mut [i16]) {
    for (o, &c) in out.iter_mut().zip(codes) {
        *o = ULAW_DECODE[usize::from(c)];
    }
}

/// Decodes `min(codes.len(), out.len())` A-law codes.
#[inline]
pub fn alaw_decode(codes: &[u8], out: &mut [i16]) {
    for (o, &c) in out.iter_mut().zip(codes) {
        *o = ALAW_DECODE[usize::from(c)];
    }
}

/// The two G.711 companding laws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Law {
    /// µ-law, RTP `PCMU`, payload type 0.
    Ulaw,
    /// A-law, RTP `PCMA`, payload type 8.
    Alaw,
}

impl Law {
    /// The RTP payload format of this law.
    pub const fn format(self) -> PayloadFormat {
        match self {
            Self::Ulaw => PayloadFormat::PCMU,
            Self::Alaw => PayloadFormat::PCMA,
        }
    }

    /// Encodes a slice with this law (see [`ulaw_encode`]).
    pub fn encode(self, pcm: &[i16], out: &mut [u8]) {
        match self {
            Self::Ulaw => ulaw_encode(pcm, out),
            Self::Alaw => alaw_encode(pcm, out),
        }
    }

    /// Decodes a slice with this law (see [`ulaw_decode`]).
    pub fn decode(self, codes: &[u8], out: &mut [i16]) {
        match self {
            Self::Ulaw => ulaw_decode(codes, out),
            Self::Alaw => alaw_decode(codes, out),
        }
    }
}

/// G.711 encoder: one byte per sample, frames of `ptime` milliseconds.
#[derive(Debug, Clone)]
pub struct G711Encoder {
    law: Law,
    frame: usize,
}

impl G711Encoder {
    /// An encoder for `law` with `ptime_ms` frames (5..=200 ms in steps of 5).
    ///
    /// # Errors
    /// [`CodecError::InvalidSetting`] for another ptime.
    pub fn new(law: Law, ptime_ms: u32) -> Result<Self, CodecError> {
        check_ptime(ptime_ms)?;
        Ok(Self {
            law,
            frame: 8 * ptime_ms as usize,
        })
    }

    /// The law this encoder uses.
    pub fn law(&self) -> Law {
        self.law
    }
}

impl Encoder for G711Encoder {
    fn format(&self) -> PayloadFormat {
        self.law.format()
    }

    fn frame_samples(&self) -> usize {
        self.frame
    }

    fn max_payload_len(&self) -> usize {
        self.frame
    }

    fn encode(&mut self, pcm: &[i16], out: &mut [u8]) -> Result<usize, CodecError> {
        if pcm.len() != self.frame {
            return Err(CodecError::BadFrameLength {
                expected: self.frame,
                got: pcm.len(),
            });
        }
        let Some(out) = out.get_mut(..pcm.len()) else {
            return Err(CodecError::OutputTooSmall {
                needed: pcm.len(),
                got: out.len(),
            });
        };
        self.law.encode(pcm, out);
        Ok(pcm.len())
    }
}

/// G.711 decoder with G.711 Appendix I packet-loss concealment (on by default).
#[derive(Debug, Clone)]
pub struct G711Decoder {
    law: Law,
    plc: Option<Plc>,
}

/// Largest G.711 payload accepted in one call: 1 s of audio, far beyond any ptime.
const MAX_G711_PAYLOAD: usize = 8000;

impl G711Decoder {
    /// A decoder for `law` with concealment.
    pub fn new(law: Law) -> Self {
        Self {
            law,
            plc: Some(Plc::narrowband()),
        }
    }

    /// A decoder for `law` whose [`Decoder::decode_lost`] outputs silence (zero fill).
    pub fn without_plc(law: Law) -> Self {
        Self { law, plc: None }
    }

    /// The law this decoder uses.
    pub fn law(&self) -> Law {
        self.law
    }
}

impl Decoder for G711Decoder {
    fn format(&self) -> PayloadFormat {
        self.law.format()
    }

    fn samples_in(&self, payload: &[u8]) -> Result<usize, CodecError> {
        if payload.len() > MAX_G711_PAYLOAD {
            return Err(CodecError::PayloadTooLong(payload.len()));
        }
        Ok(payload.len())
    }

    fn decode(&mut self, payload: &[u8], out: &mut [i16]) -> Result<usize, CodecError> {
        let n = self.samples_in(payload)?;
        let got = out.len();
        let Some(out) = out.get_mut(..n) else {
            return Err(CodecError::OutputTooSmall { needed: n, got });
        };
        self.law.decode(payload, out);
        if let Some(plc) = &mut self.plc {
            plc.good_frame(out);
        }
        Ok(n)
    }

    fn decode_lost(&mut self, samples: usize, out: &mut [i16]) -> Result<usize, CodecError> {
        let got = out.len();
        let Some(out) = out.get_mut(..samples) else {
            return Err(CodecError::OutputTooSmall {
                needed: samples,
                got,
            });
        };
        match &mut self.plc {
            Some(plc) => plc.conceal(out),
            None => out.fill(0),
        }
        Ok(samples)
    }

    fn reset(&mut self) {
        if let Some(plc) = &mut self.plc {
            plc.reset();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spot_values_from_g191() {
        assert_eq!(ulaw_encode_sample(0), 0xFF);
        assert_eq!(ulaw_encode_sample(-1), 0x7F);
        assert_eq!(ulaw_encode_sample(32767), 0x80);
        assert_eq!(ulaw_encode_sample(-32768), 0x00);
        assert_eq!(alaw_encode_sample(0), 0xD5);
        assert_eq!(alaw_encode_sample(-32768), 0x2A);
        assert_eq!(ulaw_decode_sample(0x00), -32124);
        assert_eq!(alaw_decode_sample(0xD5), 8);
        assert_eq!(alaw_decode_sample(0xAA), 32256);
    }

    #[test]
    fn tables_match_the_per_sample_algorithm_everywhere() {
        for x in i16::MIN..=i16::MAX {
            assert_eq!(ulaw_encode_sample(x), ulaw_compress(x), "ulaw {x}");
            assert_eq!(alaw_encode_sample(x), alaw_compress(x), "alaw {x}");
        }
    }

    #[test]
    fn encoder_checks_frame_and_output() {
        let mut e = G711Encoder::new(Law::Ulaw, 20).unwrap();
        assert_eq!(e.frame_samples(), 160);
        let mut out = [0u8; 160];
        assert!(matches!(
            e.encode(&[0; 80], &mut out),
            Err(CodecError::BadFrameLength {
                expected: 160,
                got: 80
            })
        ));
        assert!(matches!(
            e.encode(&[0; 160], &mut out[..10]),
            Err(CodecError::OutputTooSmall { .. })
        ));
        assert_eq!(e.encode(&[0; 160], &mut out).unwrap(), 160);
        assert!(out.iter().all(|&c| c == 0xFF));
        assert!(G711Encoder::new(Law::Alaw, 7).is_err());
        assert!(G711Encoder::new(Law::Alaw, 0).is_err());
    }

    #[test]
    fn decoder_rejects_short_output_and_huge_payloads() {
        let mut d = G711Decoder::new(Law::Alaw);
        let mut out = [0i16; 10];
        assert!(d.decode(&[0xD5; 20], &mut out).is_err());
        assert!(matches!(
            d.samples_in(&vec![0u8; MAX_G711_PAYLOAD + 1]),
            Err(CodecError::PayloadTooLong(_))
        ));
        assert_eq!(d.decode(&[0xD5; 10], &mut out).unwrap(), 10);
        assert!(out.iter().all(|&x| x == 8));
    }
}
