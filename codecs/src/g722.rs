//! ITU-T G.722 sub-band ADPCM at 64 kbit/s (mode 1), RFC 3551 §4.5.2.
//!
//! 16 kHz PCM is split by a 24-tap QMF into a low band coded with 6-bit ADPCM and a high
//! band coded with 2-bit ADPCM; each 8-bit code carries one sample pair (`high << 6 | low`).
//! The RTP quirk: the RTP clock is 8000 Hz although the audio is sampled at 16 kHz, so a
//! 20 ms frame is 320 samples, 160 bytes and 160 RTP timestamp ticks
//! ([`PayloadFormat::G722`]).
//!
//! The arithmetic follows the block diagrams of G.722 §3 and §4 (blocks 1L-6L, 1H-5H and the
//! shared predictor block 4) with 16-bit saturation where the standard has it; the QMF scaling
//! treats the input as the 15-bit signal of the standard, as common 16-bit implementations do.

use crate::CodecError;
use crate::codec::{Decoder, Encoder, PayloadFormat, check_ptime};
use crate::plc::Plc;

/// QMF coefficients h0..h11 (the filter is symmetric: h23-i = hi).
const QMF: [i32; 12] = [3, -11, 12, 32, -210, 951, 3876, -805, 362, -156, 53, -11];

/// Low-band quantiser decision levels (block 1L, table 6), scaled by `det`.
const Q6: [i32; 32] = [
    0, 35, 72, 110, 150, 190, 233, 276, 323, 370, 422, 473, 530, 587, 650, 714, 786, 858, 940,
    1023, 1121, 1219, 1339, 1458, 1612, 1765, 1980, 2195, 2557, 2919, 0, 0,
];
/// Low-band 6-bit codes for negative errors, by quantiser interval.
const ILN: [u8; 32] = [
    0, 63, 62, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11,
    10, 9, 8, 7, 6, 5, 4, 0,
];
/// Low-band 6-bit codes for positive errors, by quantiser interval.
const ILP: [u8; 32] = [
    0, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47, 46, 45, 44, 43, 42, 41, 40, 39,
    38, 37, 36, 35, 34, 33, 32, 0,
];
/// Low-band log scale factor multipliers (block 3L).
const WL: [i32; 8] = [-60, -30, 58, 172, 334, 538, 1198, 3042];
/// 4-bit code to magnitude index for `WL`.
const RL42: [usize; 16] = [0, 7, 6, 5, 4, 3, 2, 1, 7, 6, 5, 4, 3, 2, 1, 0];
/// Inverse log table (2048 * 2^(i/32)), shared by both bands.
const ILB: [i32; 32] = [
    2048, 2093, 2139, 2186, 2233, 2282, 2332, 2383, 2435, 2489, 2543, 2599, 2656, 2714, 2774, 2834,
    2896, 2960, 3025, 3091, 3158, 3228, 3298, 3371, 3444, 3520, 3597, 3676, 3756, 3838, 3922, 4008,
];
/// Low-band 4-bit inverse quantiser (block 2L), used by the predictor.
const QM4: [i32; 16] = [
    0, -20456, -12896, -8968, -6288, -4240, -2584, -1200, 20456, 12896, 8968, 6288, 4240, 2584,
    1200, 0,
];
/// Low-band 6-bit inverse quantiser (block 5L), used for the 64 kbit/s output.
const QM6: [i32; 64] = [
    -136, -136, -136, -136, -24808, -21904, -19008, -16704, -14984, -13512, -12280, -11192, -10232,
    -9360, -8576, -7856, -7192, -6576, -6000, -5456, -4944, -4464, -4008, -3576, -3168, -2776,
    -2400, -2032, -1688, -1360, -1040, -728, 24808, 21904, 19008, 16704, 14984, 13512, 12280,
    11192, 10232, 9360, 8576, 7856, 7192, 6576, 6000, 5456, 4944, 4464, 4008, 3576, 3168, 2776,
    2400, 2032, 1688, 1360, 1040, 728, 432, 136, -432, -136,
];
/// High-band 2-bit inverse quantiser.
const QM2: [i32; 4] = [-7408, -1616, 7408, 1616];
/// High-band codes for negative / positive errors by interval.
const IHN: [u8; 3] = [0, 1, 0];
const IHP: [u8; 3] = [0, 3, 2];
/// High-band log scale factor multipliers and the code-to-index map.
const WH: [i32; 3] = [0, -214, 798];
const RH2: [usize; 4] = [2, 1, 2, 1];

fn sat16(x: i32) -> i32 {
    x.clamp(-32768, 32767)
}

/// Adaptive predictor and scale factor of one sub-band (blocks 3 and 4).
#[derive(Debug, Clone, Default)]
struct Band {
    /// Signal estimate (PREDIC output).
    s: i32,
    /// Pole-section contribution.
    sp: i32,
    /// Zero-section contribution.
    sz: i32,
    /// Reconstructed signal history r[0..2].
    r: [i32; 3],
    /// Pole coefficients a[1], a[2] (index 0 unused).
    a: [i32; 3],
    ap: [i32; 3],
    /// Partially reconstructed signal history p[0..2].
    p: [i32; 3],
    /// Quantised difference history d[0..6].
    d: [i32; 7],
    /// Zero coefficients b[1..6] (index 0 unused).
    b: [i32; 7],
    bp: [i32; 7],
    /// Log scale factor.
    nb: i32,
    /// Linear scale factor.
    det: i32,
}

impl Band {
    fn new(det: i32) -> Self {
        Self {
            det,
            ..Self::default()
        }
    }

    /// Block 4: reconstruct, adapt the pole and zero predictors, predict the next sample.
    fn update(&mut self, d: i32) {
        // RECONS and PARREC
        self.d[0] = d;
        self.r[0] = sat16(self.s + d);
        self.p[0] = sat16(self.sz + d);

        // UPPOL2
        let sg0 = self.p[0] >> 15;
        let sg1 = self.p[1] >> 15;
        let sg2 = self.p[2] >> 15;
        let wd1 = sat16(self.a[1] << 2);
        let wd2 = if sg0 == sg1 { -wd1 } else { wd1 }.min(32767);
        let mut wd3 = (wd2 >> 7) + if sg0 == sg2 { 128 } else { -128 };
        wd3 += (self.a[2] * 32512) >> 15;
        self.ap[2] = wd3.clamp(-12288, 12288);

        // UPPOL1
        let wd1 = if sg0 == sg1 { 192 } else { -192 };
        let wd2 = (self.a[1] * 32640) >> 15;
        let limit = sat16(15360 - self.ap[2]);
        self.ap[1] = sat16(wd1 + wd2).clamp(-limit, limit);

        // UPZERO
        let step = if d == 0 { 0 } else { 128 };
        let sgd = d >> 15;
        for i in 1..7 {
            let wd2 = if (self.d[i] >> 15) == sgd {
                step
            } else {
                -step
            };
            let wd3 = (self.b[i] * 32640) >> 15;
            self.bp[i] = sat16(wd2 + wd3);
        }

        // DELAYA
        for i in (1..7).rev() {
            self.d[i] = self.d[i - 1];
            self.b[i] = self.bp[i];
        }
        for i in (1..3).rev() {
            self.r[i] = self.r[i - 1];
            self.p[i] = self.p[i - 1];
            self.a[i] = self.ap[i];
        }

        // FILTEP
        let wd1 = (self.a[1] * sat16(self.r[1] + self.r[1])) >> 15;
        let wd2 = (self.a[2] * sat16(self.r[2] + self.r[2])) >> 15;
        self.sp = sat16(wd1 + wd2);

        // FILTEZ
        let mut sz = 0;
        for i in (1..7).rev() {
            sz += (self.b[i] * sat16(self.d[i] + self.d[i])) >> 15;
        }
        self.sz = sat16(sz);

        // PREDIC
        self.s = sat16(self.sp + self.sz);
    }

    /// Blocks 3L (LOGSCL, SCALEL) for the low band, given the 4-bit code.
    fn adapt_low(&mut self, code4: usize) {
        let nb = ((self.nb * 127) >> 7) + WL[RL42[code4 & 15]];
        self.nb = nb.clamp(0, 18432);
        self.det = scale(self.nb, 8);
    }

    /// Blocks 3H (LOGSCH, SCALEH) for the high band, given the 2-bit code.
    fn adapt_high(&mut self, code2: usize) {
        let nb = ((self.nb * 127) >> 7) + WH[RH2[code2 & 3]];
        self.nb = nb.clamp(0, 22528);
        self.det = scale(self.nb, 10);
    }
}

/// SCALEL / SCALEH: linear scale factor from the log one.
fn scale(nb: i32, bias: i32) -> i32 {
    let wd1 = ILB[((nb >> 6) & 31) as usize];
    let shift = bias - (nb >> 11);
    let wd3 = if shift < 0 {
        wd1 << -shift
    } else {
        wd1 >> shift
    };
    wd3 << 2
}

/// The QMF delay line of one direction.
#[derive(Debug, Clone)]
struct Qmf {
    x: [i32; 24],
}

impl Qmf {
    fn new() -> Self {
        Self { x: [0; 24] }
    }

    fn push(&mut self, a: i32, b: i32) {
        self.x.copy_within(2.., 0);
        self.x[22] = a;
        self.x[23] = b;
    }

    /// (sum over even taps, sum over odd taps) with mirrored coefficients.
    fn sums(&self) -> (i32, i32) {
        let mut even = 0;
        let mut odd = 0;
        for i in 0..12 {
            odd += self.x[2 * i] * QMF[i];
            even += self.x[2 * i + 1] * QMF[11 - i];
        }
        (even, odd)
    }
}

/// Stateful G.722 64 kbit/s encoder core: 2 samples in, one byte out.
#[derive(Debug, Clone)]
pub struct G722Core {
    low: Band,
    high: Band,
    qmf: Qmf,
}

impl Default for G722Core {
    fn default() -> Self {
        Self::new()
    }
}

impl G722Core {
    /// Fresh encoder state (ITU reset values).
    pub fn new() -> Self {
        Self {
            low: Band::new(32),
            high: Band::new(8),
            qmf: Qmf::new(),
        }
    }

    /// Encodes `pcm` (16 kHz, even length) into `out` (`pcm.len() / 2` bytes); extra
    /// samples or bytes beyond the shorter of the two are left alone.
    pub fn encode(&mut self, pcm: &[i16], out: &mut [u8]) {
        for (o, pair) in out.iter_mut().zip(pcm.chunks_exact(2)) {
            *o = self.encode_pair(i32::from(pair[0]), i32::from(pair[1]));
        }
    }

    fn encode_pair(&mut self, x0: i32, x1: i32) -> u8 {
        // Transmit QMF: shift by 12 for the filter gain, 1 for the two filters and 1 for
        // the 15-bit input of the standard.
        self.qmf.push(x0, x1);
        let (even, odd) = self.qmf.sums();
        let xlow = (even + odd) >> 14;
        let xhigh = (even - odd) >> 14;

        // Low band: SUBTRA, QUANTL.
        let el = sat16(xlow - self.low.s);
        let wd = if el >= 0 { el } else { -(el + 1) };
        let mut i = 1;
        while i < 30 {
            if wd < (Q6[i] * self.low.det) >> 12 {
                break;
            }
            i += 1;
        }
        let ilow = if el < 0 { ILN[i] } else { ILP[i] };
        // INVQAL, LOGSCL, SCALEL, predictor.
        let ril = usize::from(ilow >> 2);
        let dlow = (self.low.det * QM4[ril]) >> 15;
        self.low.adapt_low(ril);
        self.low.update(dlow);

        // High band: SUBTRA, QUANTH.
        let eh = sat16(xhigh - self.high.s);
        let wd = if eh >= 0 { eh } else { -(eh + 1) };
        let mih = if wd >= (564 * self.high.det) >> 12 {
            2
        } else {
            1
        };
        let ihigh = if eh < 0 { IHN[mih] } else { IHP[mih] };
        // INVQAH, LOGSCH, SCALEH, predictor.
        let dhigh = (self.high.det * QM2[usize::from(ihigh)]) >> 15;
        self.high.adapt_high(usize::from(ihigh));
        self.high.update(dhigh);

        (ihigh << 6) | ilow
    }
}

/// Stateful G.722 64 kbit/s decoder core: one byte in, 2 samples out.
#[derive(Debug, Clone)]
pub struct G722DecoderCore {
    low: Band,
    high: Band,
    qmf: Qmf,
}

impl Default for G722DecoderCore {
    fn default() -> Self {
        Self::new()
    }
}

impl G722DecoderCore {
    /// Fresh decoder state (ITU reset values).
    pub fn new() -> Self {
        Self {
            low: Band::new(32),
            high: Band::new(8),
            qmf: Qmf::new(),
        }
    }

    /// Decodes `codes` into `out` (two 16 kHz samples per byte), as far as both reach.
    pub fn decode(&mut self, codes: &[u8], out: &mut [i16]) {
        for (pair, &code) in out.chunks_exact_mut(2).zip(codes) {
            let (a, b) = self.decode_byte(code);
            pair[0] = a;
            pair[1] = b;
        }
    }

    fn decode_byte(&mut self, code: u8) -> (i16, i16) {
        let ilow = usize::from(code & 0x3F);
        let ihigh = usize::from(code >> 6);

        // Low band: INVQBL, RECONS, LIMIT for the output; INVQAL for the predictor.
        let wd = (self.low.det * QM6[ilow]) >> 15;
        let rlow = (self.low.s + wd).clamp(-16384, 16383);
        let ril = ilow >> 2;
        let dlow = (self.low.det * QM4[ril]) >> 15;
        self.low.adapt_low(ril);
        self.low.update(dlow);

        // High band: INVQAH, RECONS, LIMIT.
        let dhigh = (self.high.det * QM2[ihigh]) >> 15;
        let rhigh = (dhigh + self.high.s).clamp(-16384, 16383);
        self.high.adapt_high(ihigh);
        self.high.update(dhigh);

        // Receive QMF: shift by 12 for the filter gain less 1 for the 15-bit signal.
        self.qmf.push(rlow + rhigh, rlow - rhigh);
        let (even, odd) = self.qmf.sums();
        (sat16(even >> 11) as i16, sat16(odd >> 11) as i16)
    }
}

/// G.722 encoder behind the [`Encoder`] trait.
#[derive(Debug, Clone)]
pub struct G722Encoder {
    core: G722Core,
    frame: usize,
}

impl G722Encoder {
    /// A 64 kbit/s encoder with `ptime_ms` frames (5..=200 ms in steps of 5).
    ///
    /// # Errors
    /// [`CodecError::InvalidSetting`] for another ptime.
    pub fn new(ptime_ms: u32) -> Result<Self, CodecError> {
        check_ptime(ptime_ms)?;
        Ok(Self {
            core: G722Core::new(),
            frame: 16 * ptime_ms as usize,
        })
    }
}

impl Encoder for G722Encoder {
    fn format(&self) -> PayloadFormat {
        PayloadFormat::G722
    }

    fn frame_samples(&self) -> usize {
        self.frame
    }

    fn max_payload_len(&self) -> usize {
        self.frame / 2
    }

    fn encode(&mut self, pcm: &[i16], out: &mut [u8]) -> Result<usize, CodecError> {
        if pcm.len() != self.frame {
            return Err(CodecError::BadFrameLength {
                expected: self.frame,
                got: pcm.len(),
            });
        }
        let n = pcm.len() / 2;
        let got = out.len();
        let Some(out) = out.get_mut(..n) else {
            return Err(CodecError::OutputTooSmall { needed: n, got });
        };
        self.core.encode(pcm, out);
        Ok(n)
    }
}

/// Largest G.722 payload accepted in one call: 1 s of audio.
const MAX_G722_PAYLOAD: usize = 8000;

/// G.722 decoder behind the [`Decoder`] trait, with Appendix-I style concealment at 16 kHz.
#[derive(Debug, Clone)]
pub struct G722Decoder {
    core: G722DecoderCore,
    plc: Plc,
}

impl Default for G722Decoder {
    fn default() -> Self {
        Self::new()
    }
}

impl G722Decoder {
    /// A 64 kbit/s decoder.
    pub fn new() -> Self {
        Self {
            core: G722DecoderCore::new(),
            plc: Plc::wideband(),
        }
    }
}

impl Decoder for G722Decoder {
    fn format(&self) -> PayloadFormat {
        PayloadFormat::G722
    }

    fn samples_in(&self, payload: &[u8]) -> Result<usize, CodecError> {
        if payload.len() > MAX_G722_PAYLOAD {
            return Err(CodecError::PayloadTooLong(payload.len()));
        }
        Ok(payload.len() * 2)
    }

    fn decode(&mut self, payload: &[u8], out: &mut [i16]) -> Result<usize, CodecError> {
        let n = self.samples_in(payload)?;
        let got = out.len();
        let Some(out) = out.get_mut(..n) else {
            return Err(CodecError::OutputTooSmall { needed: n, got });
        };
        self.core.decode(payload, out);
        self.plc.good_frame(out);
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
        self.plc.conceal(out);
        // The ADPCM state does not see the concealed audio; re-encoding it would be the
        // G.722 Appendix III/IV approach. Keeping the state is what most endpoints do.
        Ok(samples)
    }

    fn reset(&mut self) {
        self.core = G722DecoderCore::new();
        self.plc.reset();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ilb_is_the_inverse_log_table() {
        for (i, &v) in ILB.iter().enumerate() {
            let exact = 2048.0 * 2f64.powf(i as f64 / 32.0);
            assert!((f64::from(v) - exact).abs() <= 2.0, "ILB[{i}]");
        }
    }

    #[test]
    fn quantiser_tables_are_consistent() {
        // Each reconstruction level of the 6-bit quantiser lies inside its decision interval.
        for i in 1..30 {
            for (codes, sign) in [(&ILP, 1), (&ILN, -1)] {
                let level = QM6[usize::from(codes[i])] * sign;
                let lo = Q6[i - 1] * 8;
                let hi = Q6[i] * 8;
                assert!(
                    level >= lo && level <= hi,
                    "interval {i}: {level} not in {lo}..{hi}"
                );
            }
        }
    }

    #[test]
    fn silence_stays_silence() {
        let mut e = G722Core::new();
        let mut d = G722DecoderCore::new();
        let pcm = [0i16; 320];
        let mut codes = [0u8; 160];
        e.encode(&pcm, &mut codes);
        let mut out = [1i16; 320];
        d.decode(&codes, &mut out);
        // G.722's idle channel noise is a couple of LSBs.
        assert!(out.iter().all(|&x| x.abs() <= 4), "{out:?}");
    }

    #[test]
    fn rtp_clock_quirk() {
        let f = PayloadFormat::G722;
        assert_eq!(f.rtp_ticks(320), 160);
        let e = G722Encoder::new(20).unwrap();
        assert_eq!(e.frame_samples(), 320);
        assert_eq!(e.max_payload_len(), 160);
    }
}
