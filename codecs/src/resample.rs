//! A streaming polyphase resampler between the telephony rates (8, 12, 16, 24, 32, 48 kHz).
//!
//! Rational `L/M` conversion with one Kaiser-windowed sinc prototype (β = 8, about 80 dB of
//! stop-band rejection, 12 zero crossings each side) whose cutoff is 0.45 × the lower of the
//! two rates, so 8 kHz audio keeps its 3.6 kHz telephone band and 48 → 8 kHz removes what
//! would alias. Polyphase means only the taps that meet a real input sample are computed.
//! Written here rather than taking `rubato` because the gateway's ratios are all small
//! integers, where a fixed polyphase FIR is the exact, allocation-free tool and keeps the
//! crate free of FFT dependencies.

use crate::CodecError;

const RATES: [u32; 6] = [8000, 12000, 16000, 24000, 32000, 48000];
/// Zero crossings of the prototype sinc on each side of its centre.
const ZERO_CROSSINGS: f64 = 12.0;
/// Kaiser window shape.
const BETA: f64 = 8.0;
/// Cutoff as a fraction of the lower rate.
const CUTOFF: f64 = 0.45;

/// Streaming mono resampler; feed any number of samples per call.
#[derive(Debug, Clone)]
pub struct Resampler {
    from: u32,
    to: u32,
    up: usize,
    down: usize,
    /// Taps per phase.
    taps: usize,
    /// `up` phases of `taps` coefficients, phase-major, each reversed for a forward dot.
    coefs: Vec<f32>,
    /// Last `taps - 1` inputs followed by the current call's input.
    buf: Vec<f32>,
    /// Up-sampled time of the next output, relative to `buf[0]`.
    next: usize,
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// Zeroth-order modified Bessel function of the first kind (power series).
fn bessel_i0(x: f64) -> f64 {
    let mut sum = 1.0;
    let mut term = 1.0;
    let q = x * x / 4.0;
    for k in 1..50 {
        term *= q / f64::from(k * k);
        sum += term;
        if term < sum * 1e-12 {
            break;
        }
    }
    sum
}

impl Resampler {
    /// A resampler from `from` Hz to `to` Hz, both one of 8000, 12000, 16000, 24000, 32000,
    /// 48000.
    ///
    /// # Errors
    /// [`CodecError::UnsupportedSampleRate`] naming the offending rate.
    pub fn new(from: u32, to: u32) -> Result<Self, CodecError> {
        for r in [from, to] {
            if !RATES.contains(&r) {
                return Err(CodecError::UnsupportedSampleRate(r));
            }
        }
        let g = gcd(from, to);
        let up = (to / g) as usize;
        let down = (from / g) as usize;
        // Prototype at the up-sampled rate from * up.
        let fc = CUTOFF * f64::from(from.min(to)) / (f64::from(from) * up as f64);
        let taps = ((ZERO_CROSSINGS / fc / up as f64).ceil() as usize).max(1);
        let n = taps * up;
        // An odd-length prototype (last tap zero when n is even) has a whole-sample delay.
        let len = if n.is_multiple_of(2) { n - 1 } else { n };
        let centre = (len as f64 - 1.0) / 2.0;
        let i0_beta = bessel_i0(BETA);
        let proto: Vec<f64> = (0..n)
            .map(|i| {
                if i >= len {
                    return 0.0;
                }
                let t = i as f64 - centre;
                let x = 2.0 * fc * t;
                let sinc = if x.abs() < 1e-12 {
                    1.0
                } else {
                    (std::f64::consts::PI * x).sin() / (std::f64::consts::PI * x)
                };
                let r = 2.0 * t / (len as f64 - 1.0).max(1.0);
                let w = bessel_i0(BETA * (1.0 - r * r).max(0.0).sqrt()) / i0_beta;
                2.0 * fc * sinc * w * up as f64
            })
            .collect();
        let mut coefs = vec![0.0f32; n];
        for p in 0..up {
            for k in 0..taps {
                // y = sum_k h[p + k*up] * x[base - k]; stored reversed so the dot product
                // walks the input forwards: coef[taps-1-k] pairs with x[base-k].
                coefs[p * taps + (taps - 1 - k)] = proto[p + k * up] as f32;
            }
        }
        Ok(Self {
            from,
            to,
            up,
            down,
            taps,
            coefs,
            buf: vec![0.0; taps - 1],
            next: (taps - 1) * up,
        })
    }

    /// Input rate in Hz.
    pub fn input_rate(&self) -> u32 {
        self.from
    }

    /// Output rate in Hz.
    pub fn output_rate(&self) -> u32 {
        self.to
    }

    /// Delay the filter adds, in output samples.
    pub fn delay(&self) -> f64 {
        let n = self.taps * self.up;
        let len = if n.is_multiple_of(2) { n - 1 } else { n };
        (len as f64 - 1.0) / 2.0 / self.down as f64
    }

    /// Forgets the signal history.
    pub fn reset(&mut self) {
        self.buf.clear();
        self.buf.resize(self.taps - 1, 0.0);
        self.next = (self.taps - 1) * self.up;
    }

    /// Resamples `input`, appending the produced samples to `out`. Over a stream the output
    /// count is exactly `input * to / from` (up to one sample of rounding per call).
    pub fn process(&mut self, input: &[i16], out: &mut Vec<i16>) {
        self.buf.extend(input.iter().map(|&x| f32::from(x)));
        let len = self.buf.len();
        while self.next / self.up < len {
            let base = self.next / self.up;
            let phase = self.next % self.up;
            let window = &self.buf[base + 1 - self.taps..=base];
            let coefs = &self.coefs[phase * self.taps..(phase + 1) * self.taps];
            let acc = dot(window, coefs);
            out.push(acc.round().clamp(-32768.0, 32767.0) as i16);
            self.next += self.down;
        }
        let keep = self.taps - 1;
        let drop = len - keep;
        self.buf.drain(..drop);
        self.next -= drop * self.up;
    }
}

/// Dot product with eight independent accumulators, so the compiler can vectorise it (a
/// single running float sum cannot be reordered).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let (a8, a_rest) = a.as_chunks::<8>();
    let (b8, b_rest) = b.as_chunks::<8>();
    let mut acc = [0.0f32; 8];
    for (x, c) in a8.iter().zip(b8) {
        for k in 0..8 {
            acc[k] += x[k] * c[k];
        }
    }
    let tail: f32 = a_rest.iter().zip(b_rest).map(|(&x, &c)| x * c).sum();
    acc.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(rate: u32, freq: f64, n: usize, amp: f64) -> Vec<i16> {
        (0..n)
            .map(|i| {
                (amp * (2.0 * std::f64::consts::PI * freq * i as f64 / f64::from(rate)).sin())
                    as i16
            })
            .collect()
    }

    fn rms(x: &[i16]) -> f64 {
        (x.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
    }

    /// SNR of `got` against the ideal sine delayed by `delay` samples, skipping the
    /// filter's start-up.
    fn snr_vs_sine(got: &[i16], rate: u32, freq: f64, amp: f64, delay: f64) -> f64 {
        let (mut s, mut e) = (0.0, 0.0);
        let start = (delay.ceil() as usize) * 2 + 10;
        for (i, &g) in got.iter().enumerate().skip(start) {
            let t = (i as f64 - delay) / f64::from(rate);
            let w = amp * (2.0 * std::f64::consts::PI * freq * t).sin();
            s += w * w;
            e += (w - f64::from(g)).powi(2);
        }
        10.0 * (s / e.max(1e-9)).log10()
    }

    #[test]
    fn output_length_follows_the_ratio() {
        for (from, to) in [
            (8000, 48000),
            (48000, 8000),
            (16000, 8000),
            (8000, 16000),
            (16000, 48000),
        ] {
            let mut r = Resampler::new(from, to).unwrap();
            let mut out = Vec::new();
            for _ in 0..50 {
                r.process(&vec![0i16; from as usize / 50], &mut out);
            }
            assert_eq!(out.len(), to as usize, "{from}->{to}");
        }
    }

    #[test]
    fn tone_survives_up_and_down() {
        let x = sine(8000, 1000.0, 8000, 10000.0);
        let mut up = Resampler::new(8000, 48000).unwrap();
        let mut down = Resampler::new(48000, 8000).unwrap();
        let mut mid = Vec::new();
        up.process(&x, &mut mid);
        let snr_up = snr_vs_sine(&mid, 48000, 1000.0, 10000.0, up.delay());
        assert!(snr_up > 50.0, "8->48 kHz: {snr_up} dB");
        let mut back = Vec::new();
        down.process(&mid, &mut back);
        let snr_back = snr_vs_sine(
            &back,
            8000,
            1000.0,
            10000.0,
            up.delay() / 6.0 + down.delay(),
        );
        assert!(snr_back > 50.0, "8->48->8 kHz: {snr_back} dB");
    }

    #[test]
    fn decimation_rejects_what_would_alias() {
        // 6 kHz at 48 kHz would fold to 2 kHz at 8 kHz.
        let x = sine(48000, 6000.0, 48000, 10000.0);
        let mut r = Resampler::new(48000, 8000).unwrap();
        let mut out = Vec::new();
        r.process(&x, &mut out);
        let level = 20.0 * (rms(&out[100..]) / rms(&x)).log10();
        assert!(level < -60.0, "alias at {level} dB");
        // 16 -> 8 kHz: 5 kHz is out of band.
        let x = sine(16000, 5000.0, 16000, 10000.0);
        let mut r = Resampler::new(16000, 8000).unwrap();
        let mut out = Vec::new();
        r.process(&x, &mut out);
        assert!(20.0 * (rms(&out[100..]) / rms(&x)).log10() < -60.0);
    }

    #[test]
    fn passband_is_flat() {
        let x = sine(8000, 3000.0, 8000, 10000.0);
        let mut r = Resampler::new(8000, 16000).unwrap();
        let mut out = Vec::new();
        r.process(&x, &mut out);
        let gain = 20.0 * (rms(&out[200..15800]) / rms(&x[100..7900])).log10();
        assert!(gain.abs() < 0.5, "3 kHz gain {gain} dB");
    }

    #[test]
    fn chunking_does_not_change_the_output() {
        let x = sine(16000, 440.0, 4000, 8000.0);
        let mut a = Resampler::new(16000, 48000).unwrap();
        let mut b = a.clone();
        let (mut oa, mut ob) = (Vec::new(), Vec::new());
        a.process(&x, &mut oa);
        for c in x.chunks(37) {
            b.process(c, &mut ob);
        }
        assert_eq!(oa, ob);
    }

    #[test]
    fn rejects_odd_rates() {
        assert!(matches!(
            Resampler::new(44100, 8000),
            Err(CodecError::UnsupportedSampleRate(44100))
        ));
    }
}
