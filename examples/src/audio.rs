//! Test audio: a seeded speech-like signal, WAV files (hound), levels and a linear resampler.
//!
//! The speech-like signal is a source-filter model: a glottal pulse train whose pitch follows a
//! falling intonation contour, shaped by three formant resonators whose frequencies change per
//! syllable, with noise bursts for fricatives, a syllable envelope and pauses between phrases.
//! It exercises codecs, concealment and VAD the way speech does (voiced harmonics, silence,
//! onsets), without shipping a recording.

use std::f64::consts::PI;
use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// An error reading or writing a WAV file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WavError {
    /// The file could not be read, written or parsed.
    #[error("wav: {0}")]
    Hound(#[from] hound::Error),
    /// A sample format we do not convert (e.g. 8-bit float).
    #[error("wav: unsupported sample format ({bits} bits, {format:?})")]
    Unsupported {
        /// Bits per sample.
        bits: u16,
        /// Integer or float.
        format: hound::SampleFormat,
    },
    /// More samples than the caller's limit.
    #[error("wav: longer than the limit of {limit} samples")]
    TooLong {
        /// The limit.
        limit: usize,
    },
}

/// Mono 16-bit PCM at a sample rate.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Pcm {
    /// Samples per second.
    pub rate: u32,
    /// The samples.
    pub samples: Vec<i16>,
}

impl Pcm {
    /// Duration in seconds.
    pub fn seconds(&self) -> f64 {
        if self.rate == 0 {
            0.0
        } else {
            self.samples.len() as f64 / f64::from(self.rate)
        }
    }
}

/// Generates `seconds` of speech-like audio at `rate` Hz, reproducible from `seed`.
pub fn speech_like(rate: u32, seconds: f64, seed: u64) -> Pcm {
    let rate_f = f64::from(rate.max(1));
    let total = (seconds.max(0.0) * rate_f) as usize;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut samples: Vec<f64> = Vec::with_capacity(total);
    // Vowel formant triples (Hz), roughly /a/ /e/ /i/ /o/ /u/.
    const VOWELS: [[f64; 3]; 5] = [
        [730.0, 1090.0, 2440.0],
        [530.0, 1840.0, 2480.0],
        [270.0, 2290.0, 3010.0],
        [570.0, 840.0, 2410.0],
        [300.0, 870.0, 2240.0],
    ];
    let mut res = [Resonator::default(); 3];
    let mut phase = 0.0f64;
    let mut lp = 0.0f64;
    let mut n = 0usize;
    while n < total {
        // A phrase of 3-7 syllables, then a pause.
        let syllables = rng.random_range(3..=7);
        let base_f0 = rng.random_range(95.0..210.0);
        for s in 0..syllables {
            let len = (rng.random_range(0.12..0.28) * rate_f) as usize;
            let vowel = VOWELS[rng.random_range(0..VOWELS.len())];
            let fricative = rng.random_bool(0.3);
            let f0_start = base_f0 * (1.0 - 0.15 * f64::from(s) / f64::from(syllables));
            for (k, r) in res.iter_mut().enumerate() {
                let bw = [80.0, 110.0, 160.0][k];
                r.tune(vowel[k].min(rate_f * 0.45), bw, rate_f);
            }
            for i in 0..len {
                if n >= total {
                    break;
                }
                let t = i as f64 / len.max(1) as f64;
                let f0 = f0_start * (1.0 - 0.1 * t);
                phase += f0 / rate_f;
                // Glottal source: a pulse per period, smoothed (Rosenberg-like via one-pole).
                let pulse = if phase >= 1.0 {
                    phase -= 1.0;
                    1.0
                } else {
                    0.0
                };
                lp = 0.35 * pulse + 0.65 * lp;
                let mut x = lp;
                // Fricative onset: the first 30 % of the syllable is noise.
                if fricative && t < 0.3 {
                    x = rng.random_range(-0.15..0.15);
                }
                let y: f64 = res.iter_mut().map(|r| r.step(x)).sum();
                // Syllable envelope: raised cosine.
                let env = 0.5 - 0.5 * (2.0 * PI * t).cos();
                samples.push(y * env);
                n += 1;
            }
        }
        let pause = (rng.random_range(0.25..0.6) * rate_f) as usize;
        for _ in 0..pause {
            if n >= total {
                break;
            }
            samples.push(0.0);
            n += 1;
        }
    }
    // Normalise to an active speech level of about -20 dBFS (ITU-T P.56 style: the level over
    // the non-silent samples), with peaks clipped well below full scale.
    let active: Vec<f64> = samples.iter().copied().filter(|v| v.abs() > 1e-9).collect();
    let rms = if active.is_empty() {
        0.0
    } else {
        (active.iter().map(|v| v * v).sum::<f64>() / active.len() as f64).sqrt()
    };
    let scale = if rms > 0.0 { 32768.0 * 0.1 / rms } else { 0.0 };
    let samples = samples
        .iter()
        .map(|v| (v * scale).clamp(-30000.0, 30000.0) as i16)
        .collect();
    Pcm { rate, samples }
}

/// A sine tone (for prompts and checks).
pub fn tone(rate: u32, freq: f64, seconds: f64, amplitude: i16) -> Pcm {
    let rate_f = f64::from(rate.max(1));
    let n = (seconds.max(0.0) * rate_f) as usize;
    let samples = (0..n)
        .map(|i| (f64::from(amplitude) * (2.0 * PI * freq * i as f64 / rate_f).sin()) as i16)
        .collect();
    Pcm { rate, samples }
}

/// Writes mono 16-bit PCM to a WAV file.
///
/// # Errors
/// [`WavError::Hound`] on I/O errors.
pub fn write_wav(path: &Path, pcm: &Pcm) -> Result<(), WavError> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: pcm.rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec)?;
    {
        let mut w16 = w.get_i16_writer(pcm.samples.len() as u32);
        for &s in &pcm.samples {
            w16.write_sample(s);
        }
        w16.flush()?;
    }
    w.finalize()?;
    Ok(())
}

/// Writes two mono tracks as one stereo 16-bit WAV (`left` on channel 1, `right` on 2): the
/// tracks are resampled to the higher of their rates and the shorter one padded with silence.
///
/// # Errors
/// [`WavError::Hound`] on I/O errors.
pub fn write_stereo_wav(path: &Path, left: &Pcm, right: &Pcm) -> Result<(), WavError> {
    let rate = left.rate.max(right.rate).max(8000);
    let (l, r) = (resample_linear(left, rate), resample_linear(right, rate));
    let n = l.samples.len().max(r.samples.len());
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec)?;
    {
        let frames = u32::try_from(n.saturating_mul(2)).unwrap_or(u32::MAX);
        let mut w16 = w.get_i16_writer(frames);
        for i in 0..n {
            w16.write_sample(l.samples.get(i).copied().unwrap_or(0));
            w16.write_sample(r.samples.get(i).copied().unwrap_or(0));
        }
        w16.flush()?;
    }
    w.finalize()?;
    Ok(())
}

/// Reads a WAV file as mono 16-bit PCM (channels averaged; 8/16/24/32-bit integer and 32-bit
/// float converted), refusing files longer than `max_samples` frames.
///
/// # Errors
/// [`WavError`] when the file cannot be read or is too long.
pub fn read_wav(path: &Path, max_samples: usize) -> Result<Pcm, WavError> {
    let mut r = hound::WavReader::open(path)?;
    let spec = r.spec();
    let channels = usize::from(spec.channels.max(1));
    let frames = r.duration() as usize;
    if frames > max_samples {
        return Err(WavError::TooLong { limit: max_samples });
    }
    let raw: Vec<f64> = match (spec.sample_format, spec.bits_per_sample) {
        (hound::SampleFormat::Int, bits @ 1..=32) => {
            let shift = i32::from(bits) - 16;
            r.samples::<i32>()
                .map(|s| {
                    s.map(|v| {
                        if shift >= 0 {
                            f64::from(v >> shift)
                        } else {
                            f64::from(v << -shift)
                        }
                    })
                })
                .collect::<Result<_, _>>()?
        }
        (hound::SampleFormat::Float, 32) => r
            .samples::<f32>()
            .map(|s| s.map(|v| f64::from(v) * 32767.0))
            .collect::<Result<_, _>>()?,
        (format, bits) => return Err(WavError::Unsupported { bits, format }),
    };
    let samples = raw
        .chunks(channels)
        .map(|c| (c.iter().sum::<f64>() / c.len() as f64).clamp(-32768.0, 32767.0) as i16)
        .collect();
    Ok(Pcm {
        rate: spec.sample_rate,
        samples,
    })
}

/// Linear-interpolation resampling (adequate for test signals and prompts; transcoding paths
/// use the codecs crate's resampler).
pub fn resample_linear(pcm: &Pcm, rate: u32) -> Pcm {
    if pcm.rate == rate || pcm.rate == 0 || rate == 0 || pcm.samples.is_empty() {
        return Pcm {
            rate,
            samples: pcm.samples.clone(),
        };
    }
    let ratio = f64::from(pcm.rate) / f64::from(rate);
    let n = (pcm.samples.len() as f64 / ratio) as usize;
    let last = pcm.samples.len() - 1;
    let samples = (0..n)
        .map(|i| {
            let pos = i as f64 * ratio;
            let k = (pos as usize).min(last);
            let frac = pos - k as f64;
            let a = f64::from(pcm.samples[k]);
            let b = f64::from(pcm.samples[(k + 1).min(last)]);
            (a + (b - a) * frac) as i16
        })
        .collect();
    Pcm { rate, samples }
}

/// Root-mean-square level of `samples` in dBFS (-inf dB for silence is reported as -120).
pub fn level_dbfs(samples: &[i16]) -> f64 {
    if samples.is_empty() {
        return -120.0;
    }
    let sum: f64 = samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    let rms = (sum / samples.len() as f64).sqrt();
    if rms <= 0.0 {
        -120.0
    } else {
        (20.0 * (rms / 32768.0).log10()).max(-120.0)
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct Resonator {
    a1: f64,
    a2: f64,
    gain: f64,
    y1: f64,
    y2: f64,
}

impl Resonator {
    fn tune(&mut self, freq: f64, bandwidth: f64, rate: f64) {
        let r = (-PI * bandwidth / rate).exp();
        self.a1 = 2.0 * r * (2.0 * PI * freq / rate).cos();
        self.a2 = -r * r;
        self.gain = 1.0 - r;
    }

    fn step(&mut self, x: f64) -> f64 {
        let y = self.gain * x + self.a1 * self.y1 + self.a2 * self.y2;
        self.y2 = self.y1;
        self.y1 = y;
        y
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speech_like_is_seeded_has_pauses_and_sane_level() {
        let a = speech_like(8000, 4.0, 1);
        let b = speech_like(8000, 4.0, 1);
        let c = speech_like(8000, 4.0, 2);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.samples.len(), 32000);
        let level = level_dbfs(&a.samples);
        assert!((-35.0..-8.0).contains(&level), "level {level} dBFS");
        // Silent stretches (pauses) and loud ones (vowels) both exist, 20 ms frames.
        let frames: Vec<f64> = a.samples.chunks(160).map(level_dbfs).collect();
        assert!(frames.iter().any(|&l| l < -100.0));
        assert!(frames.iter().any(|&l| l > -20.0));
        // Not clipped.
        assert!(a.samples.iter().all(|&s| s.unsigned_abs() <= 30000));
    }

    #[test]
    fn wav_round_trip_and_limits() {
        let dir = std::env::temp_dir().join(format!("telox-audio-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("t.wav");
        let pcm = speech_like(16000, 0.5, 9);
        write_wav(&p, &pcm).unwrap();
        assert_eq!(read_wav(&p, 1 << 20).unwrap(), pcm);
        assert!(matches!(
            read_wav(&p, 10),
            Err(WavError::TooLong { limit: 10 })
        ));
        std::fs::write(&p, b"RIFF garbage").unwrap();
        assert!(matches!(read_wav(&p, 10), Err(WavError::Hound(_))));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn resample_keeps_a_tone() {
        let t = tone(48000, 440.0, 1.0, 10000);
        let r = resample_linear(&t, 8000);
        assert_eq!(r.samples.len(), 8000);
        let expect = tone(8000, 440.0, 1.0, 10000);
        let err: f64 = r
            .samples
            .iter()
            .zip(&expect.samples)
            .map(|(&a, &b)| (f64::from(a) - f64::from(b)).abs())
            .fold(0.0, f64::max);
        assert!(err < 50.0, "max error {err}");
        assert!((level_dbfs(&r.samples) - level_dbfs(&t.samples)).abs() < 0.1);
    }
}
