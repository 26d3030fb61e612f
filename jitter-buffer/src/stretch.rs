//! Time-stretching of i16 PCM for the playout decisions: WSOLA-style accelerate and
//! preemptive expand (one pitch period removed or repeated with a cross-fade, as NetEq's
//! `Accelerate`/`PreemptiveExpand`), and the merge cross-fade after concealment.
//!
//! The pitch period is searched between 2.5 and 15 ms (400 to 67 Hz) by normalized
//! cross-correlation of two adjacent segments; a period is only removed or repeated where the
//! signal repeats (correlation at least [`MIN_CORRELATION`]) or is near silence, so the
//! change cannot be heard. The functions write into a caller's `Vec` and do not allocate once
//! it has the capacity.

/// Correlation needed to remove or repeat a period in voiced audio.
pub const MIN_CORRELATION: f64 = 0.8;
/// Below this mean-square energy the audio counts as silence and any period may go.
const SILENCE_ENERGY: f64 = 400.0;

/// The result of a stretch.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct Stretched {
    /// Samples written to `out`.
    pub written: usize,
    /// Samples removed (accelerate) or added (expand); 0 when the audio did not allow it.
    pub changed: usize,
}

/// Shortens `input` (mono PCM at `sample_rate`) by one pitch period of at most `max_remove`
/// samples, writing the result to `out` (cleared first). Needs at least two periods of input;
/// otherwise, or when the audio does not repeat, copies the input unchanged.
pub fn accelerate(
    input: &[i16],
    sample_rate: u32,
    max_remove: usize,
    out: &mut Vec<i16>,
) -> Stretched {
    out.clear();
    match find_period(input, sample_rate, max_remove) {
        Some(period) => {
            // A B C -> xfade(A, B) C: B's start continues A's end, so the fade is seamless.
            let (a, rest) = input.split_at(period);
            let (b, c) = rest.split_at(period);
            crossfade_into(a, b, out);
            out.extend_from_slice(c);
            Stretched {
                written: out.len(),
                changed: period,
            }
        }
        None => {
            out.extend_from_slice(input);
            Stretched {
                written: out.len(),
                changed: 0,
            }
        }
    }
}

/// Lengthens `input` by one pitch period of at most `max_insert` samples, writing the result
/// to `out` (cleared first): A B C becomes A xfade(B, A) B C. Copies the input unchanged when
/// it is too short or does not repeat.
pub fn preemptive_expand(
    input: &[i16],
    sample_rate: u32,
    max_insert: usize,
    out: &mut Vec<i16>,
) -> Stretched {
    out.clear();
    match find_period(input, sample_rate, max_insert) {
        Some(period) => {
            let (a, rest) = input.split_at(period);
            let (b, _) = rest.split_at(period);
            out.extend_from_slice(a);
            crossfade_into(b, a, out);
            out.extend_from_slice(rest);
            Stretched {
                written: out.len(),
                changed: period,
            }
        }
        None => {
            out.extend_from_slice(input);
            Stretched {
                written: out.len(),
                changed: 0,
            }
        }
    }
}

/// Merge after concealment: cross-fades from `concealed` (the concealment continued past its
/// end, e.g. one more PLC chunk) into the start of `decoded`, in place, over the shorter of
/// the two.
pub fn merge(concealed: &[i16], decoded: &mut [i16]) {
    let n = concealed.len().min(decoded.len());
    for (i, (d, &c)) in decoded.iter_mut().zip(concealed).enumerate().take(n) {
        let w = (i + 1) as f64 / (n + 1) as f64;
        *d = mix(f64::from(c), f64::from(*d), w);
    }
}

/// The best pitch period (2.5..=15 ms, at most `max` and half the input) where the two
/// adjacent segments repeat, or any allowed length in silence.
fn find_period(input: &[i16], sample_rate: u32, max: usize) -> Option<usize> {
    let rate = usize::try_from(sample_rate).ok()?;
    let lo = (rate * 5 / 2000).max(1);
    let hi = (rate * 15 / 1000).min(max).min(input.len() / 2);
    if hi < lo {
        return None;
    }
    let energy = input.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / input.len() as f64;
    if energy < SILENCE_ENERGY {
        return Some(hi);
    }
    let mut best = (0.0, 0);
    for period in lo..=hi {
        let (a, rest) = input.split_at(period);
        let b = rest.get(..period)?;
        let (mut ab, mut aa, mut bb) = (0.0, 0.0, 0.0);
        for (&x, &y) in a.iter().zip(b) {
            let (x, y) = (f64::from(x), f64::from(y));
            ab += x * y;
            aa += x * x;
            bb += y * y;
        }
        let c = if aa > 0.0 && bb > 0.0 {
            ab / (aa * bb).sqrt()
        } else {
            0.0
        };
        if c > best.0 {
            best = (c, period);
        }
    }
    (best.0 >= MIN_CORRELATION).then_some(best.1)
}

/// Appends a linear cross-fade from `from` to `to` (equal length).
fn crossfade_into(from: &[i16], to: &[i16], out: &mut Vec<i16>) {
    let n = from.len().min(to.len());
    for (i, (&f, &t)) in from.iter().zip(to).enumerate() {
        let w = (i + 1) as f64 / (n + 1) as f64;
        out.push(mix(f64::from(f), f64::from(t), w));
    }
}

fn mix(from: f64, to: f64, w: f64) -> i16 {
    let v = from * (1.0 - w) + to * w;
    // Rounded and clamped to i16, so the cast cannot wrap.
    v.round().clamp(f64::from(i16::MIN), f64::from(i16::MAX)) as i16
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A voiced-like signal: 125 Hz with harmonics, at 8 kHz (period 64 samples).
    fn voiced(len: usize) -> Vec<i16> {
        (0..len)
            .map(|i| {
                let p = i as f64 * 2.0 * std::f64::consts::PI * 125.0 / 8000.0;
                (6000.0 * p.sin() + 3000.0 * (2.0 * p).sin() + 1000.0 * (3.0 * p).sin()) as i16
            })
            .collect()
    }

    #[test]
    fn accelerate_removes_one_pitch_period() {
        let input = voiced(480);
        let mut out = Vec::new();
        let r = accelerate(&input, 8000, 120, &mut out);
        assert_eq!(r.changed % 64, 0, "removed {} samples", r.changed);
        assert!(r.changed >= 64);
        assert_eq!(out.len(), 480 - r.changed);
        // The tail is the input's tail, untouched.
        assert_eq!(out[out.len() - 100..], input[input.len() - 100..]);
    }

    #[test]
    fn expand_repeats_one_pitch_period() {
        let input = voiced(480);
        let mut out = Vec::new();
        let r = preemptive_expand(&input, 8000, 80, &mut out);
        assert_eq!(r.changed, 64);
        assert_eq!(out.len(), 480 + 64);
        // Periodic input stays periodic: the result is the same waveform, longer.
        for (i, (&o, &v)) in out.iter().zip(voiced(544).iter()).enumerate() {
            assert!(
                (i32::from(o) - i32::from(v)).abs() <= 2,
                "sample {i}: {o} vs {v}"
            );
        }
    }

    #[test]
    fn noise_is_left_alone() {
        let mut x: u32 = 1;
        let input: Vec<i16> = (0..480)
            .map(|_| {
                x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                ((x >> 16) as i16) / 2
            })
            .collect();
        let mut out = Vec::new();
        let r = accelerate(&input, 8000, 120, &mut out);
        assert_eq!(r.changed, 0);
        assert_eq!(out, input);
    }

    #[test]
    fn silence_is_stretched_by_the_maximum() {
        let input = vec![3_i16; 480];
        let mut out = Vec::new();
        assert_eq!(accelerate(&input, 8000, 100, &mut out).changed, 100);
        assert_eq!(out.len(), 380);
        assert_eq!(preemptive_expand(&input, 8000, 100, &mut out).changed, 100);
        assert_eq!(out.len(), 580);
    }

    #[test]
    fn short_or_odd_input_is_copied() {
        let mut out = Vec::new();
        assert_eq!(accelerate(&[1, 2, 3], 8000, 100, &mut out).changed, 0);
        assert_eq!(out, [1, 2, 3]);
        assert_eq!(accelerate(&[], 0, 100, &mut out).changed, 0);
        assert_eq!(
            preemptive_expand(&voiced(480), 8000, 0, &mut out).changed,
            0
        );
    }

    #[test]
    fn merge_fades_from_concealment_to_decoded() {
        let conceal = vec![1000_i16; 8];
        let mut decoded = vec![0_i16; 16];
        merge(&conceal, &mut decoded);
        assert!(decoded[0] > 800 && decoded[7] < 200);
        assert!(decoded.windows(2).take(7).all(|w| w[0] >= w[1]));
        assert_eq!(decoded[8..], [0; 8]);
    }
}
