//! RFC 3389 comfort noise (CN) payloads: parse, generate, analyse and synthesise.
//!
//! A CN payload (a SID frame) is one noise-level byte, `0..=127` meaning `0` to `-127`
//! dBov, optionally followed by reflection coefficients of an all-pole model of the noise
//! spectrum, one byte each (RFC 3389 §3). The model order is the payload length minus one.
//! A coefficient byte `N` stands for `k = (N - 127) / 128`. 0 dBov is the power of a
//! full-scale square wave (RFC 3389 §3.1), here ±32767.

use crate::CodecError;
use rand::Rng;

/// Power of 0 dBov: a full-scale 16-bit square wave.
const FULL_SCALE_POWER: f64 = 32767.0 * 32767.0;

/// Longest model order [`ComfortNoise::parse`] accepts. RFC 3389 leaves the order open;
/// G.711 Appendix II uses up to 10, so 32 is generous and keeps synthesis cheap.
pub const MAX_ORDER: usize = 32;

/// One comfort-noise payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComfortNoise {
    /// Noise level in -dBov, `0..=127` (so 40 means -40 dBov).
    pub level: u8,
    /// Quantised reflection coefficients, first order first (may be empty).
    pub coefficients: Vec<u8>,
}

impl ComfortNoise {
    /// Parses a CN payload.
    ///
    /// # Errors
    /// [`CodecError::MalformedPayload`] when empty or when the level's unused top bit is set;
    /// [`CodecError::PayloadTooLong`] for a model order above [`MAX_ORDER`].
    pub fn parse(payload: &[u8]) -> Result<Self, CodecError> {
        let (&level, coefficients) = payload
            .split_first()
            .ok_or(CodecError::MalformedPayload("empty comfort noise payload"))?;
        if level & 0x80 != 0 {
            return Err(CodecError::MalformedPayload(
                "comfort noise level byte has its unused top bit set",
            ));
        }
        if coefficients.len() > MAX_ORDER {
            return Err(CodecError::PayloadTooLong(payload.len()));
        }
        Ok(Self {
            level,
            coefficients: coefficients.to_vec(),
        })
    }

    /// Writes the payload bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + self.coefficients.len());
        out.push(self.level & 0x7F);
        out.extend_from_slice(&self.coefficients);
        out
    }

    /// The noise level in dBov (zero or negative).
    pub fn dbov(&self) -> i32 {
        -i32::from(self.level & 0x7F)
    }

    /// The reflection coefficients as real numbers in `[-0.9921875, 1.0]`.
    pub fn reflection_coefficients(&self) -> impl Iterator<Item = f64> + '_ {
        self.coefficients
            .iter()
            .map(|&n| (f64::from(n) - 127.0) / 128.0)
    }

    /// Describes a stretch of background noise: its level and an all-pole model of
    /// order `order` (clamped to [`MAX_ORDER`]; 0 sends the level alone).
    pub fn analyze(pcm: &[i16], order: usize) -> Self {
        let order = order.min(MAX_ORDER).min(pcm.len().saturating_sub(1));
        let x: Vec<f64> = pcm.iter().map(|&s| f64::from(s)).collect();
        let power = if x.is_empty() {
            0.0
        } else {
            x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64
        };
        let level = if power <= 0.0 {
            127
        } else {
            (-10.0 * (power / FULL_SCALE_POWER).log10())
                .round()
                .clamp(0.0, 127.0) as u8
        };
        let reflection = levinson_reflection(&x, order);
        let coefficients = reflection
            .iter()
            .map(|&k| (k * 128.0 + 127.0).round().clamp(0.0, 255.0) as u8)
            .collect();
        Self {
            level,
            coefficients,
        }
    }
}

/// Reflection coefficients of the all-pole model of `x` (autocorrelation method with a
/// Hann window and a tiny white-noise floor for stability), sign convention of a lattice
/// synthesis filter `y[n] = e[n] - sum a_i y[n-i]` ... expressed as `k_i`.
fn levinson_reflection(x: &[f64], order: usize) -> Vec<f64> {
    if order == 0 || x.len() < 2 {
        return Vec::new();
    }
    let n = x.len();
    let w: Vec<f64> = x
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let h = 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / (n - 1) as f64).cos();
            v * h
        })
        .collect();
    let mut r = vec![0.0; order + 1];
    for (lag, r) in r.iter_mut().enumerate() {
        *r = w.iter().zip(&w[lag..]).map(|(a, b)| a * b).sum();
    }
    if r[0] <= 0.0 {
        return vec![0.0; order];
    }
    r[0] *= 1.0 + 1e-9;
    // Levinson-Durbin: a = prediction coefficients with x[n] ≈ sum a_i x[n-i].
    let mut a = vec![0.0; order + 1];
    let mut k_out = Vec::with_capacity(order);
    let mut err = r[0];
    for i in 1..=order {
        let mut acc = r[i];
        for j in 1..i {
            acc -= a[j] * r[i - j];
        }
        let k = (acc / err).clamp(-0.9921875, 0.9921875);
        let prev = a.clone();
        a[i] = k;
        for j in 1..i {
            a[j] = prev[j] - k * prev[i - j];
        }
        err *= 1.0 - k * k;
        k_out.push(k);
    }
    k_out
}

/// Synthesises comfort noise from CN payloads: white noise through the all-pole filter of
/// the reflection coefficients, scaled to the payload's level.
#[derive(Debug, Clone, Default)]
pub struct CnGenerator {
    /// Last outputs, newest first, one per model order.
    state: Vec<f64>,
    /// Direct-form predictor of the current model.
    lpc: Vec<f64>,
}

impl CnGenerator {
    /// A generator with empty filter state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Fills `out` with noise shaped and scaled as `cn` describes. Randomness comes from
    /// `rng` (seed it for reproducible output).
    pub fn generate<R: Rng + ?Sized>(&mut self, cn: &ComfortNoise, rng: &mut R, out: &mut [i16]) {
        let k: Vec<f64> = cn.reflection_coefficients().collect();
        step_up(&k, &mut self.lpc);
        self.state.resize(k.len(), 0.0);
        // The all-pole model amplifies white noise by 1 / prod(1 - k^2); scale the
        // excitation down by that so the output has the requested power.
        let gain: f64 = k.iter().map(|k| 1.0 - k * k).product();
        let power = FULL_SCALE_POWER * 10f64.powf(f64::from(cn.dbov()) / 10.0);
        // Uniform noise in [-1, 1) has variance 1/3.
        let scale = (power * gain * 3.0).sqrt();
        for o in out.iter_mut() {
            let e: f64 = rng.random_range(-1.0..1.0) * scale;
            let y = e + self
                .lpc
                .iter()
                .zip(&self.state)
                .map(|(a, y)| a * y)
                .sum::<f64>();
            if !self.state.is_empty() {
                self.state.rotate_right(1);
                self.state[0] = y;
            }
            *o = y.round().clamp(-32768.0, 32767.0) as i16;
        }
    }
}

/// Reflection coefficients to the direct-form predictor `x[n] ~ sum a_i x[n-i]`
/// (the step-up recursion, the inverse of Levinson-Durbin).
fn step_up(k: &[f64], a: &mut Vec<f64>) {
    a.clear();
    for (i, &ki) in k.iter().enumerate() {
        let prev = a.clone();
        a.push(ki);
        for j in 0..i {
            a[j] = prev[j] - ki * prev[i - 1 - j];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn parse_and_write_round_trip() {
        let p = [40u8, 127, 200, 3];
        let cn = ComfortNoise::parse(&p).unwrap();
        assert_eq!(cn.dbov(), -40);
        assert_eq!(cn.coefficients, vec![127, 200, 3]);
        assert_eq!(cn.to_bytes(), p);
        let k: Vec<f64> = cn.reflection_coefficients().collect();
        assert_eq!(k[0], 0.0);
        assert!(ComfortNoise::parse(&[]).is_err());
        assert!(ComfortNoise::parse(&[0x80]).is_err());
        assert!(ComfortNoise::parse(&[1; MAX_ORDER + 2]).is_err());
        assert!(ComfortNoise::parse(&[1; MAX_ORDER + 1]).is_ok());
    }

    #[test]
    fn generated_noise_has_the_requested_level_and_analyses_back() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        // A low-pass noise model: first-order predictor 0.8.
        let cn = ComfortNoise {
            level: 30,
            coefficients: vec![(0.8f64 * 128.0 + 127.0).round() as u8],
        };
        let mut g = CnGenerator::new();
        let mut out = vec![0i16; 16000];
        g.generate(&cn, &mut rng, &mut out);
        let back = ComfortNoise::analyze(&out, 4);
        assert!(
            (i32::from(back.level) - 30).abs() <= 1,
            "level {}",
            back.level
        );
        let k: Vec<f64> = back.reflection_coefficients().collect();
        assert!((k[0] - 0.8).abs() < 0.05, "k1 {}", k[0]);
        assert!(k[1].abs() < 0.1, "k2 {}", k[1]);
    }

    #[test]
    fn analyze_silence_and_tiny_input() {
        assert_eq!(ComfortNoise::analyze(&[0; 160], 10).level, 127);
        assert_eq!(ComfortNoise::analyze(&[], 10).to_bytes(), vec![127]);
        let cn = ComfortNoise::analyze(&[1000], 10);
        assert!(cn.coefficients.is_empty());
    }
}
