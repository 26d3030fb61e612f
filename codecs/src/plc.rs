//! Packet-loss concealment after ITU-T G.711 Appendix I, for any PCM codec.
//!
//! The method is pitch waveform substitution:
//! - a history of the last 48.75 ms of output is kept;
//! - at the first lost sample the pitch period `P` (5 to 15 ms, i.e. 66 to 200 Hz) is
//!   found by normalised cross-correlation of the last 20 ms with the history;
//! - the lost audio is the last pitch period repeated, whose last `P/4` samples are
//!   overlap-added with the `P/4` samples one period earlier so the wrap is smooth;
//! - after 10 ms of loss the repeated segment grows to two periods, after 20 ms to
//!   three (less buzzy), and from 10 ms on the output is attenuated by 20 % per 10 ms,
//!   reaching silence at 60 ms;
//! - the first good frame after a loss is cross-faded with the continued synthetic signal
//!   over `P/4` plus 4 ms per extra 10 ms of loss (at most 10 ms).
//!
//! Unlike the Appendix I reference code this version adds no output delay (the reference
//! delays output by 3.75 ms to overlap-add the start of the erasure): the synthetic signal
//! starts exactly where the real one stopped, at the cost of a tiny step at the start of the
//! loss. All constants are scaled from 8 kHz to the configured rate, so G.722 (16 kHz) or
//! any PCM stream can use it.

use crate::CodecError;

/// Concealment state for one mono PCM stream.
#[derive(Debug, Clone)]
pub struct Plc {
    /// Scale of the 8 kHz constants (sample_rate / 8000).
    scale: usize,
    /// The last `history_len` output samples, oldest first.
    history: Vec<f32>,
    /// Last three pitch periods at the start of the current erasure, tail smoothed.
    pitch_buf: Vec<f32>,
    /// Pitch period in samples of the current erasure.
    pitch: usize,
    /// Periods of `pitch_buf` in use (1 to 3).
    periods: usize,
    /// Read position inside the active part of `pitch_buf`.
    pos: usize,
    /// Samples concealed in the current erasure (0 = none in progress).
    erased: usize,
    /// Normalised correlation of the history with itself one pitch period earlier, in
    /// `[0, 1]`: how periodic (voiced) the signal was when the erasure began.
    voicing: f32,
}

impl Plc {
    /// Concealment for `sample_rate` Hz mono PCM; the rate must be a multiple of 8000 up to
    /// 48000.
    ///
    /// # Errors
    /// [`CodecError::UnsupportedSampleRate`] for any other rate.
    pub fn new(sample_rate: u32) -> Result<Self, CodecError> {
        if sample_rate == 0 || !sample_rate.is_multiple_of(8000) || sample_rate > 48000 {
            return Err(CodecError::UnsupportedSampleRate(sample_rate));
        }
        Ok(Self::with_scale(sample_rate as usize / 8000))
    }

    /// Concealment at 8 kHz (G.711).
    pub fn narrowband() -> Self {
        Self::with_scale(1)
    }

    /// Concealment at 16 kHz (G.722).
    pub fn wideband() -> Self {
        Self::with_scale(2)
    }

    fn with_scale(scale: usize) -> Self {
        let mut plc = Self {
            scale,
            history: Vec::new(),
            pitch_buf: Vec::new(),
            pitch: 0,
            periods: 1,
            pos: 0,
            erased: 0,
            voicing: 0.0,
        };
        plc.reset();
        plc
    }

    /// Forgets all history.
    pub fn reset(&mut self) {
        self.history = vec![0.0; self.history_len()];
        self.pitch_buf.clear();
        self.erased = 0;
        self.pos = 0;
        self.periods = 1;
    }

    fn pitch_min(&self) -> usize {
        40 * self.scale
    }
    fn pitch_max(&self) -> usize {
        120 * self.scale
    }
    fn corr_len(&self) -> usize {
        160 * self.scale
    }
    /// 10 ms in samples.
    fn block(&self) -> usize {
        80 * self.scale
    }
    fn history_len(&self) -> usize {
        390 * self.scale
    }

    /// Whether an erasure is in progress (the last call was [`conceal`](Self::conceal)).
    pub fn in_erasure(&self) -> bool {
        self.erased > 0
    }

    /// Passes a correctly received frame through: after an erasure its start is cross-faded
    /// with the synthetic signal; in all cases it is recorded as history.
    pub fn good_frame(&mut self, pcm: &mut [i16]) {
        if self.erased > 0 {
            let extra_blocks = (self.erased - 1) / self.block();
            let ola = (self.pitch / 4 + extra_blocks * 4 * self.scale * 8)
                .min(self.block())
                .min(pcm.len());
            for (i, x) in pcm.iter_mut().take(ola).enumerate() {
                let synth = self.next_synthetic();
                let w = (i + 1) as f32 / (ola + 1) as f32;
                *x = to_i16(synth * (1.0 - w) + f32::from(*x) * w);
            }
            self.erased = 0;
        }
        self.push_history(pcm.iter().map(|&x| f32::from(x)));
    }

    /// Fills `out` with concealment audio for lost samples.
    pub fn conceal(&mut self, out: &mut [i16]) {
        if self.erased == 0 {
            self.start_erasure();
        }
        for x in out.iter_mut() {
            *x = to_i16(self.next_synthetic());
        }
        let out: &[i16] = out;
        self.push_history(out.iter().map(|&x| f32::from(x)));
    }

    fn push_history(&mut self, samples: impl ExactSizeIterator<Item = f32>) {
        let n = samples.len();
        let len = self.history.len();
        if n >= len {
            let skip = n - len;
            for (h, s) in self.history.iter_mut().zip(samples.skip(skip)) {
                *h = s;
            }
        } else {
            self.history.copy_within(n.., 0);
            for (h, s) in self.history[len - n..].iter_mut().zip(samples) {
                *h = s;
            }
        }
    }

    fn start_erasure(&mut self) {
        let pitch = self.find_pitch();
        self.voicing = self.correlation(pitch);
        let h = &self.history;
        let len = h.len();
        let ov = pitch / 4;
        self.pitch_buf.clear();
        self.pitch_buf.extend_from_slice(&h[len - 3 * pitch..]);
        // Overlap-add the last quarter period with the quarter period one period earlier,
        // so that the end of the buffer flows into its start.
        let pb_len = self.pitch_buf.len();
        for i in 0..ov {
            let w = (i + 1) as f32 / (ov + 1) as f32;
            let here = h[len - ov + i];
            let before = h[len - pitch - ov + i];
            self.pitch_buf[pb_len - ov + i] = here * (1.0 - w) + before * w;
        }
        self.pitch = pitch;
        self.periods = 1;
        self.pos = 0;
    }

    /// Next concealment sample: repeated pitch periods, attenuated after 10 ms.
    fn next_synthetic(&mut self) -> f32 {
        let block = self.block();
        let n = self.erased;
        // Widen the repeated segment at 10 and 20 ms, keeping the current sample.
        if n > 0 && n.is_multiple_of(block) && self.periods < 3 && n / block >= self.periods {
            self.periods += 1;
            self.pos += self.pitch;
        }
        let active = self.periods * self.pitch;
        let start = self.pitch_buf.len() - active;
        let sample = self.pitch_buf.get(start + self.pos).copied().unwrap_or(0.0);
        self.pos += 1;
        if self.pos >= active {
            self.pos = 0;
        }
        let fade = if n < block {
            1.0
        } else {
            (1.0 - 0.2 * (n - block) as f32 / block as f32).max(0.0)
        };
        // The further from the real signal, the less a repeated period resembles it; how
        // fast it stops resembling it is measured by the voicing. Scaling by
        // voicing^(periods elapsed) keeps voiced speech nearly intact and lets aperiodic
        // sound (noise, fricatives, onsets) fade instead of buzzing.
        let periods = 1.0 + n as f32 / self.pitch.max(1) as f32;
        let gain = fade * self.voicing.powf(periods);
        self.erased += 1;
        sample * gain
    }

    /// Normalised correlation coefficient (clamped to `[0, 1]`) between the last 20 ms and
    /// the 20 ms `lag` samples earlier.
    fn correlation(&self, lag: usize) -> f32 {
        let h = &self.history;
        let len = h.len();
        let corr_len = self.corr_len();
        let target = &h[len - corr_len..];
        let past = &h[len - corr_len - lag..len - lag];
        let (mut cross, mut e1, mut e2) = (0.0f32, 0.0f32, 0.0f32);
        for (&a, &b) in target.iter().zip(past) {
            cross += a * b;
            e1 += a * a;
            e2 += b * b;
        }
        if e1 <= 1.0 || e2 <= 1.0 {
            return 0.0;
        }
        (cross / (e1 * e2).sqrt()).clamp(0.0, 1.0)
    }

    /// Pitch period in samples: the lag maximising the normalised cross-correlation
    /// between the last 20 ms and the history `lag` samples earlier. A coarse search on
    /// every other lag is refined around its best.
    fn find_pitch(&self) -> usize {
        let h = &self.history;
        let len = h.len();
        let corr_len = self.corr_len();
        let target = &h[len - corr_len..];
        let score = |lag: usize| -> f32 {
            let past = &h[len - corr_len - lag..len - lag];
            let mut cross = 0.0f32;
            let mut energy = 0.0f32;
            for (&a, &b) in target.iter().zip(past) {
                cross += a * b;
                energy += b * b;
            }
            if energy <= 1.0 {
                0.0
            } else {
                cross / energy.sqrt()
            }
        };
        let (min, max) = (self.pitch_min(), self.pitch_max());
        let step = 2 * self.scale;
        let mut best = max;
        let mut best_score = f32::MIN;
        let mut lag = min;
        while lag <= max {
            let s = score(lag);
            if s > best_score {
                best_score = s;
                best = lag;
            }
            lag += step;
        }
        let refine = |best: usize, best_score: f32| {
            let (mut best, mut best_score) = (best, best_score);
            let lo = best.saturating_sub(step).max(min);
            let hi = (best + step).min(max);
            for lag in lo..=hi {
                let s = score(lag);
                if s > best_score {
                    best_score = s;
                    best = lag;
                }
            }
            (best, best_score)
        };
        let (mut best, best_score) = refine(best, best_score);
        // A multiple of the period correlates as well as the period itself; prefer the
        // shortest one that is nearly as good (avoids pitch doubling).
        for div in [3, 2] {
            let cand = best / div;
            if cand >= min {
                let (lag, s) = refine(cand, score(cand));
                if s >= 0.95 * best_score {
                    best = lag;
                    break;
                }
            }
        }
        best
    }
}

fn to_i16(x: f32) -> i16 {
    x.round().clamp(-32768.0, 32767.0) as i16
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(n: usize, period: f32, offset: usize) -> Vec<i16> {
        (0..n)
            .map(|i| {
                let t = (i + offset) as f32;
                (8000.0 * (2.0 * std::f32::consts::PI * t / period).sin()) as i16
            })
            .collect()
    }

    #[test]
    fn finds_the_pitch_of_a_periodic_signal() {
        let mut plc = Plc::narrowband();
        let mut x = tone(400, 57.0, 0);
        plc.good_frame(&mut x);
        assert_eq!(plc.find_pitch(), 57);
        let mut wb = Plc::wideband();
        let mut x = tone(800, 150.0, 0);
        wb.good_frame(&mut x);
        assert_eq!(wb.find_pitch(), 150);
    }

    #[test]
    fn concealment_continues_a_periodic_signal() {
        let mut plc = Plc::narrowband();
        let mut x = tone(400, 50.0, 0);
        plc.good_frame(&mut x);
        let mut out = [0i16; 80];
        plc.conceal(&mut out);
        let truth = tone(80, 50.0, 400);
        let err: f64 = out
            .iter()
            .zip(&truth)
            .map(|(&a, &b)| (f64::from(a) - f64::from(b)).powi(2))
            .sum();
        let sig: f64 = truth.iter().map(|&b| f64::from(b).powi(2)).sum();
        assert!(10.0 * (sig / err).log10() > 20.0, "snr too low");
    }

    #[test]
    fn long_loss_fades_to_silence_and_recovers() {
        let mut plc = Plc::narrowband();
        let mut x = tone(400, 50.0, 0);
        plc.good_frame(&mut x);
        let mut out = [0i16; 80];
        for _ in 0..6 {
            plc.conceal(&mut out);
        }
        assert!(plc.in_erasure());
        plc.conceal(&mut out);
        assert!(out.iter().all(|&s| s == 0), "silent after 60 ms");
        let mut good = tone(160, 50.0, 3);
        let orig = good.clone();
        plc.good_frame(&mut good);
        assert!(!plc.in_erasure());
        // Fade-in from silence over at most 10 ms: start attenuated, the rest untouched.
        assert!(good[0].abs() < orig[0].abs());
        assert_eq!(good[80..], orig[80..]);
    }

    #[test]
    fn rejects_odd_rates() {
        assert!(Plc::new(11025).is_err());
        assert!(Plc::new(0).is_err());
        assert!(Plc::new(96000).is_err());
        assert!(Plc::new(48000).is_ok());
    }
}
