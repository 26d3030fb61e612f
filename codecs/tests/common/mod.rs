//! Signals and measures shared by the integration tests.
#![allow(dead_code, reason = "each test file uses a subset")]

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A sine of `freq` Hz at `rate` Hz, amplitude `amp`.
pub(crate) fn sine(rate: u32, freq: f64, n: usize, amp: f64) -> Vec<i16> {
    (0..n)
        .map(|i| {
            (amp * (2.0 * std::f64::consts::PI * freq * i as f64 / f64::from(rate)).sin()) as i16
        })
        .collect()
}

/// Speech-like audio: syllables of voiced sound (a glottal pulse train with a gliding pitch
/// of 90-220 Hz through three formant resonators) separated by short pauses with a little
/// noise. Deterministic for a given seed.
pub(crate) fn speech_like(rate: u32, seconds: f64, seed: u64) -> Vec<i16> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n = (f64::from(rate) * seconds) as usize;
    let fs = f64::from(rate);
    let mut out = Vec::with_capacity(n);
    // Resonator state per formant.
    let mut y = [[0.0f64; 2]; 3];
    let mut phase = 0.0f64;
    while out.len() < n {
        let syllable = (fs * rng.random_range(0.12..0.3)) as usize;
        let pause = (fs * rng.random_range(0.03..0.12)) as usize;
        let f0_start: f64 = rng.random_range(90.0..220.0);
        let f0_end: f64 = f0_start * rng.random_range(0.8..1.25);
        let formants = [
            rng.random_range(300.0..900.0),
            rng.random_range(900.0..2300.0),
            rng.random_range(2300.0..3300.0),
        ];
        let coefs: Vec<(f64, f64)> = formants
            .iter()
            .map(|&f: &f64| {
                let r = (-std::f64::consts::PI * 90.0 / fs).exp();
                (
                    2.0 * r * (2.0 * std::f64::consts::PI * f / fs).cos(),
                    -r * r,
                )
            })
            .collect();
        for i in 0..syllable {
            let t = i as f64 / syllable as f64;
            let f0 = f0_start + (f0_end - f0_start) * t;
            phase += f0 / fs;
            let pulse = if phase >= 1.0 {
                phase -= 1.0;
                1.0
            } else {
                0.0
            };
            let excitation = pulse * 6000.0 + rng.random_range(-30.0..30.0);
            let mut s = 0.0;
            for (k, &(a1, a2)) in coefs.iter().enumerate() {
                let v = excitation + a1 * y[k][0] + a2 * y[k][1];
                y[k][1] = y[k][0];
                y[k][0] = v;
                s += v / (k as f64 + 1.0);
            }
            let env = (std::f64::consts::PI * t).sin();
            out.push((s * env * 0.05).clamp(-30000.0, 30000.0) as i16);
        }
        for _ in 0..pause {
            out.push(rng.random_range(-20..20));
        }
    }
    out.truncate(n);
    out
}

/// SNR in dB of `got` against `want` over their common length.
pub(crate) fn snr(want: &[i16], got: &[i16]) -> f64 {
    let (mut s, mut e) = (0.0f64, 0.0f64);
    for (&w, &g) in want.iter().zip(got) {
        s += f64::from(w).powi(2);
        e += (f64::from(w) - f64::from(g)).powi(2);
    }
    10.0 * (s / e.max(1e-9)).log10()
}

/// Best SNR of `got` shifted by a lag in `0..max_lag` against `want` (codec delay).
pub(crate) fn snr_with_lag(want: &[i16], got: &[i16], max_lag: usize) -> (f64, usize) {
    (0..max_lag)
        .filter(|&lag| lag < got.len())
        .map(|lag| (snr(want, &got[lag..]), lag))
        .fold((f64::MIN, 0), |a, b| if b.0 > a.0 { b } else { a })
}
