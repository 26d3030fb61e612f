//! The adaptive target delay: a NetEq-style histogram of relative packet delay.
//!
//! Each packet's *offset* is its arrival time minus its media time. The fastest packet of the
//! last `min_window` (the smallest offset) is the zero of *relative delay*; a packet's relative
//! delay is how much later than that fastest path it came. Relative delays go into a histogram
//! of 1 ms buckets in which every new sample weighs `1 / forgetting_factor` times more than the
//! one before (old samples fade exponentially, without an O(buckets) decay per packet: the
//! weights are renormalized when they grow large). The target delay is the histogram's
//! `quantile`, tracked incrementally, so an update costs O(1) amortized.
//!
//! Reaction is asymmetric, as the issue asks: a delay spike raises the target at once (a
//! run of three arrivals above the target, the signature of a queue building up, lifts a peak
//! floor to their delay), while the floor and the histogram decay slowly.

use std::collections::VecDeque;

/// Width of a histogram bucket in microseconds.
const BUCKET_US: i64 = 1_000;
/// Renormalize the histogram when the next sample's weight exceeds this.
const RENORMALIZE_AT: f64 = 1e100;
/// Recompute the cumulative sum from scratch this often (floating-point hygiene).
const RESYNC_EVERY: u32 = 4_096;
/// Capacity of the sliding-minimum queue.
const WINDOW_CAP: usize = 512;
/// Samples allowed above the target while the histogram fills.
const TAIL_SAMPLES: f64 = 2.0;
/// Consecutive arrivals above target that make a delay spike.
const PEAK_RUN: u32 = 3;
/// The peak floor decays by this many microseconds per second.
const PEAK_DECAY_US_PER_S: i64 = 40_000;

/// Estimates the target playout delay from packet arrivals.
#[derive(Clone, Debug)]
pub(crate) struct DelayEstimator {
    buckets: Vec<f64>,
    weight: f64,
    inv_forget: f64,
    total: f64,
    quantile: f64,
    q_idx: usize,
    cum_below: f64,
    updates: u32,
    samples: u64,
    window: VecDeque<(i64, i64)>,
    window_us: i64,
    /// Consecutive arrivals above target, and the lowest relative delay among them.
    spike_run: (u32, i64),
    peak_us: i64,
    peak_at: i64,
    max_us: i64,
}

impl DelayEstimator {
    pub(crate) fn new(max_delay_us: i64, quantile: f64, forgetting: f64, window_us: i64) -> Self {
        let n = usize::try_from(max_delay_us / BUCKET_US).unwrap_or(0) + 1;
        Self {
            buckets: vec![0.0; n],
            weight: 1.0,
            inv_forget: 1.0 / forgetting,
            total: 0.0,
            quantile,
            q_idx: 0,
            cum_below: 0.0,
            updates: 0,
            samples: 0,
            window: VecDeque::with_capacity(WINDOW_CAP),
            window_us,
            spike_run: (0, i64::MAX),
            peak_us: 0,
            peak_at: 0,
            max_us: max_delay_us,
        }
    }

    /// Forgets the fastest-path reference (after a reset of the stream's timing); the
    /// histogram is kept, since the network is the same.
    pub(crate) fn reset_reference(&mut self) {
        self.window.clear();
        self.spike_run = (0, i64::MAX);
        self.peak_us = 0;
    }

    /// The smallest offset seen in the window (the zero of relative delay), if any.
    pub(crate) fn min_offset(&self) -> Option<i64> {
        self.window.front().map(|&(_, o)| o)
    }

    /// Number of samples seen.
    pub(crate) fn samples(&self) -> u64 {
        self.samples
    }

    /// Records a packet that arrived at `arrival` (µs) with `offset` = arrival - media time.
    pub(crate) fn update(&mut self, arrival: i64, offset: i64) {
        // Sliding window minimum (monotonic queue).
        while self.window.back().is_some_and(|&(_, o)| o >= offset) {
            self.window.pop_back();
        }
        if self.window.len() == WINDOW_CAP {
            self.window.pop_front();
        }
        self.window.push_back((arrival, offset));
        while self.window.len() > 1
            && self
                .window
                .front()
                .is_some_and(|&(a, _)| a < arrival.saturating_sub(self.window_us))
        {
            self.window.pop_front();
        }
        let min = self.min_offset().unwrap_or(offset);
        let rel = offset.saturating_sub(min).max(0);
        self.add_sample(rel);
        self.track_peak(arrival, rel);
    }

    /// Target delay in µs from the quantile and the peak floor.
    pub(crate) fn target_us(&self, now: i64) -> i64 {
        let q = (i64::try_from(self.q_idx)
            .unwrap_or(i64::MAX)
            .saturating_add(1))
            * BUCKET_US;
        q.max(self.peak_floor(now)).min(self.max_us)
    }

    fn peak_floor(&self, now: i64) -> i64 {
        if self.peak_us == 0 {
            return 0;
        }
        let elapsed = now.saturating_sub(self.peak_at).max(0);
        let decay = elapsed.saturating_mul(PEAK_DECAY_US_PER_S) / 1_000_000;
        self.peak_us.saturating_sub(decay).max(0)
    }

    fn track_peak(&mut self, arrival: i64, rel: i64) {
        let target = self.target_us(arrival);
        // A lone outlier is left to the histogram (heavy-tailed jitter would otherwise keep
        // the target at its maxima). A delay spike is a queue: it delays consecutive
        // packets, so PEAK_RUN arrivals in a row above target raise the floor to the lowest
        // of their delays at once.
        if rel > target + 2 * BUCKET_US && self.samples > 10 {
            let (run, low) = self.spike_run;
            self.spike_run = (run + 1, low.min(rel));
            if run + 1 >= PEAK_RUN {
                self.peak_us = self.spike_run.1.min(self.max_us);
                self.peak_at = arrival;
            }
        } else {
            self.spike_run = (0, i64::MAX);
        }
    }

    fn add_sample(&mut self, rel: i64) {
        let last = self.buckets.len().saturating_sub(1);
        let idx = usize::try_from(rel / BUCKET_US).unwrap_or(last).min(last);
        let w = self.weight;
        if let Some(b) = self.buckets.get_mut(idx) {
            *b += w;
        }
        self.total += w;
        if idx < self.q_idx {
            self.cum_below += w;
        }
        self.samples = self.samples.saturating_add(1);
        self.weight *= self.inv_forget;
        self.updates += 1;
        if self.weight > RENORMALIZE_AT {
            self.renormalize();
        } else if self.updates >= RESYNC_EVERY {
            self.resync();
        }
        self.move_quantile();
    }

    /// Moves `q_idx` to the smallest bucket whose cumulative weight reaches the quantile.
    fn move_quantile(&mut self) {
        // While few samples are in, a quantile near 1 is just the largest sample: one early
        // outlier would set the delay for seconds. Ask for no more than TAIL_SAMPLES of
        // them to lie above the target.
        let quantile = if (self.samples as f64) * (1.0 - self.quantile) >= TAIL_SAMPLES {
            self.quantile
        } else {
            let n = self.samples.max(1) as f64;
            self.quantile.min(1.0 - TAIL_SAMPLES / n).max(0.5)
        };
        let want = quantile * self.total;
        let last = self.buckets.len().saturating_sub(1);
        loop {
            let here = self.buckets.get(self.q_idx).copied().unwrap_or(0.0);
            if self.cum_below + here < want && self.q_idx < last {
                self.cum_below += here;
                self.q_idx += 1;
                continue;
            }
            // cum_below is the weight of buckets 0..q_idx: if it already reaches the
            // quantile, bucket q_idx - 1 does too.
            if self.q_idx > 0 && self.cum_below >= want {
                self.q_idx -= 1;
                let below = self.buckets.get(self.q_idx).copied().unwrap_or(0.0);
                self.cum_below = (self.cum_below - below).max(0.0);
                continue;
            }
            break;
        }
    }

    fn renormalize(&mut self) {
        let scale = 1.0 / self.weight;
        for b in &mut self.buckets {
            *b *= scale;
        }
        self.weight = 1.0;
        self.resync();
    }

    fn resync(&mut self) {
        self.updates = 0;
        self.total = self.buckets.iter().sum();
        self.cum_below = self.buckets.iter().take(self.q_idx).sum();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn estimator() -> DelayEstimator {
        DelayEstimator::new(400_000, 0.95, 0.997, 2_000_000)
    }

    #[test]
    fn quantile_tracks_a_uniform_distribution() {
        let mut e = estimator();
        // Relative delays 0..=99 ms, cycled: the 95 % quantile is 95 ms (bucket upper edge).
        for i in 0..3_000_i64 {
            let arrival = i * 20_000;
            let rel = (i * 37 % 100) * 1_000;
            // The first packet has offset 0, so later offsets are relative delays.
            e.update(arrival, if i == 0 { 0 } else { rel });
        }
        let t = e.target_us(3_000 * 20_000);
        assert!((90_000..=100_000).contains(&t), "target {t}");
    }

    #[test]
    fn old_samples_are_forgotten() {
        let mut e = estimator();
        for i in 0..2_000_i64 {
            e.update(i * 20_000, if i % 2 == 0 { 0 } else { 150_000 });
        }
        let high = e.target_us(2_000 * 20_000);
        assert!(high >= 150_000, "high {high}");
        for i in 2_000..6_000_i64 {
            e.update(i * 20_000, 10_000 * (i % 2));
        }
        let low = e.target_us(6_000 * 20_000);
        assert!(low <= 11_000, "low {low}");
    }

    #[test]
    fn confirmed_spike_raises_target_at_once_and_decays() {
        let mut e = estimator();
        for i in 0..200_i64 {
            e.update(i * 20_000, 0);
        }
        assert!(e.target_us(200 * 20_000) <= 1_000);
        e.update(200 * 20_000, 200_000);
        e.update(201 * 20_000, 180_000);
        assert!(
            e.target_us(201 * 20_000) <= 1_000,
            "two outliers are not a spike yet"
        );
        e.update(202 * 20_000, 190_000);
        let t = 202 * 20_000;
        assert!(e.target_us(t) >= 180_000, "{}", e.target_us(t));
        // 40 ms/s decay: after 2 s the floor is ~100 ms lower.
        let later = e.target_us(t + 2_000_000);
        assert!((90_000..=110_000).contains(&later), "{later}");
    }

    #[test]
    fn renormalization_keeps_the_quantile() {
        let mut e = DelayEstimator::new(400_000, 0.9, 0.95, 2_000_000);
        for i in 0..20_000_i64 {
            e.update(i * 20_000, (i % 10) * 1_000);
        }
        let t = e.target_us(20_000 * 20_000);
        assert!((8_000..=11_000).contains(&t), "{t}");
    }

    #[test]
    fn window_minimum_slides() {
        let mut e = estimator();
        e.update(0, -5_000);
        e.update(1_000_000, 0);
        assert_eq!(e.min_offset(), Some(-5_000));
        e.update(2_500_000, 1_000);
        assert_eq!(e.min_offset(), Some(0));
    }
}
