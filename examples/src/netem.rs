//! A seeded, sans-IO impaired-link simulator: delay, jitter, bursty loss, reordering and
//! duplication, for the demo call and for tests.
//!
//! Packets go in with [`ImpairedLink::send`] at the time they leave and come out of
//! [`ImpairedLink::poll_deliver`] when the simulated network delivers them. Everything random
//! comes from the seed in [`LinkConfig`], so a run is reproducible. The queue is bounded
//! ([`LinkConfig::max_queue`]); overflow is counted as a drop, never an allocation.
//!
//! Loss follows the two-state Gilbert model: `loss` is the long-run loss rate and `burst` the
//! mean length of a loss burst in packets (1 = independent losses).

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// How the simulated link behaves.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkConfig {
    /// Fixed one-way delay.
    pub delay: Duration,
    /// Standard deviation of the random delay added per packet (half-normal, so it never
    /// makes a packet earlier than `delay`).
    pub jitter: Duration,
    /// Long-run share of packets lost, 0.0-1.0.
    pub loss: f64,
    /// Mean loss-burst length in packets (>= 1).
    pub burst: f64,
    /// Share of packets held back by `reorder_delay` so that later packets overtake them.
    pub reorder: f64,
    /// Extra delay of a reordered packet.
    pub reorder_delay: Duration,
    /// Share of packets delivered twice.
    pub duplicate: f64,
    /// Packets in flight at most; more are dropped (and counted).
    pub max_queue: usize,
    /// Seed of the link's random numbers.
    pub seed: u64,
}

impl Default for LinkConfig {
    fn default() -> Self {
        Self::clean()
    }
}

impl LinkConfig {
    /// A perfect link (1 ms delay, nothing else).
    pub fn clean() -> Self {
        Self {
            delay: Duration::from_millis(1),
            jitter: Duration::ZERO,
            loss: 0.0,
            burst: 1.0,
            reorder: 0.0,
            reorder_delay: Duration::from_millis(30),
            duplicate: 0.0,
            max_queue: 4096,
            seed: 1,
        }
    }

    /// The demo's default impairment: a congested Wi-Fi-like path (40 ms delay, 12 ms jitter,
    /// 3 % loss in bursts of 2, 2 % reordered, 1 % duplicated).
    pub fn impaired() -> Self {
        Self {
            delay: Duration::from_millis(40),
            jitter: Duration::from_millis(12),
            loss: 0.03,
            burst: 2.0,
            reorder: 0.02,
            reorder_delay: Duration::from_millis(30),
            duplicate: 0.01,
            max_queue: 4096,
            seed: 1,
        }
    }

    /// Checks the values are in range.
    ///
    /// # Errors
    /// A message naming the bad field.
    pub fn validate(&self) -> Result<(), &'static str> {
        let share = |v: f64| (0.0..=1.0).contains(&v);
        if !share(self.loss) || self.loss >= 1.0 {
            return Err("loss must be in 0..1");
        }
        if !(self.burst.is_finite() && self.burst >= 1.0) {
            return Err("burst must be >= 1");
        }
        if !share(self.reorder) || !share(self.duplicate) {
            return Err("reorder and duplicate must be in 0..1");
        }
        if self.max_queue == 0 {
            return Err("max_queue must be > 0");
        }
        Ok(())
    }
}

/// What the link did so far.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub struct LinkStats {
    /// Packets handed to the link.
    pub sent: u64,
    /// Packets the loss model dropped.
    pub lost: u64,
    /// Packets dropped because the queue was full.
    pub overflow: u64,
    /// Extra copies delivered.
    pub duplicated: u64,
    /// Packets held back to be overtaken.
    pub reordered: u64,
    /// Packets (copies included) delivered.
    pub delivered: u64,
}

/// The simulated link (one direction).
#[derive(Debug)]
pub struct ImpairedLink<T> {
    config: LinkConfig,
    rng: ChaCha8Rng,
    queue: BinaryHeap<Reverse<Entry<T>>>,
    in_burst: bool,
    order: u64,
    stats: LinkStats,
}

impl<T: Clone> ImpairedLink<T> {
    /// A link with `config` (values out of range are clamped into range).
    pub fn new(mut config: LinkConfig) -> Self {
        config.loss = clamp_share(config.loss).min(0.999);
        config.burst = if config.burst.is_finite() {
            config.burst.max(1.0)
        } else {
            1.0
        };
        config.reorder = clamp_share(config.reorder);
        config.duplicate = clamp_share(config.duplicate);
        config.max_queue = config.max_queue.max(1);
        Self {
            rng: ChaCha8Rng::seed_from_u64(config.seed),
            config,
            queue: BinaryHeap::new(),
            in_burst: false,
            order: 0,
            stats: LinkStats::default(),
        }
    }

    /// Puts `packet` on the link at `now`.
    pub fn send(&mut self, now: Instant, packet: T) {
        self.stats.sent += 1;
        if self.lose() {
            self.stats.lost += 1;
            return;
        }
        let copies = if self.rng.random_bool(self.config.duplicate) {
            2
        } else {
            1
        };
        for copy in 0..copies {
            if self.queue.len() >= self.config.max_queue {
                self.stats.overflow += 1;
                return;
            }
            let mut at = now + self.config.delay + self.jitter();
            if copy == 0 && self.config.reorder > 0.0 && self.rng.random_bool(self.config.reorder) {
                self.stats.reordered += 1;
                at += self.config.reorder_delay;
            }
            if copy == 1 {
                self.stats.duplicated += 1;
            }
            self.order += 1;
            self.queue.push(Reverse(Entry {
                at,
                order: self.order,
                packet: packet.clone(),
            }));
        }
    }

    /// The next packet due at or before `now`, if any.
    pub fn poll_deliver(&mut self, now: Instant) -> Option<T> {
        if self.queue.peek().is_some_and(|Reverse(e)| e.at <= now) {
            self.stats.delivered += 1;
            return self.queue.pop().map(|Reverse(e)| e.packet);
        }
        None
    }

    /// When the next packet is due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.queue.peek().map(|Reverse(e)| e.at)
    }

    /// Packets in flight.
    pub fn in_flight(&self) -> usize {
        self.queue.len()
    }

    /// What the link did so far.
    pub fn stats(&self) -> LinkStats {
        self.stats
    }

    /// The configuration in use.
    pub fn config(&self) -> &LinkConfig {
        &self.config
    }

    fn lose(&mut self) -> bool {
        let loss = self.config.loss;
        if loss <= 0.0 {
            return false;
        }
        // Gilbert model: stationary bad-state share p / (p + r) = loss with r = 1 / burst.
        let r = 1.0 / self.config.burst;
        let p = (loss * r / (1.0 - loss)).min(1.0);
        self.in_burst = if self.in_burst {
            !self.rng.random_bool(r)
        } else {
            self.rng.random_bool(p)
        };
        self.in_burst
    }

    fn jitter(&mut self) -> Duration {
        if self.config.jitter.is_zero() {
            return Duration::ZERO;
        }
        // Box-Muller; half-normal so the base delay is a floor.
        let u1: f64 = self.rng.random_range(f64::EPSILON..1.0);
        let u2: f64 = self.rng.random();
        let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
        let secs = (z.abs() * self.config.jitter.as_secs_f64()).min(10.0);
        Duration::from_secs_f64(secs)
    }
}

fn clamp_share(v: f64) -> f64 {
    if v.is_finite() {
        v.clamp(0.0, 1.0)
    } else {
        0.0
    }
}

#[derive(Debug)]
struct Entry<T> {
    at: Instant,
    order: u64,
    packet: T,
}

impl<T> PartialEq for Entry<T> {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.order) == (other.at, other.order)
    }
}
impl<T> Eq for Entry<T> {}
impl<T> PartialOrd for Entry<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Entry<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.order).cmp(&(other.at, other.order))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[expect(clippy::disallowed_methods, reason = "tests need an arbitrary epoch")]
    fn epoch() -> Instant {
        Instant::now()
    }

    fn run(config: LinkConfig, n: u64) -> (Vec<(u64, Duration)>, LinkStats) {
        let start = epoch();
        let mut link = ImpairedLink::new(config);
        let mut out = Vec::new();
        let step = Duration::from_millis(20);
        for i in 0..n + 100 {
            let now = start + step * (i as u32);
            if i < n {
                link.send(now, i);
            }
            while let Some(p) = link.poll_deliver(now) {
                out.push((p, now - start));
            }
        }
        (out, link.stats())
    }

    #[test]
    fn clean_link_delivers_everything_in_order() {
        let (out, st) = run(LinkConfig::clean(), 500);
        assert_eq!(out.len(), 500);
        assert!(out.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(st.lost + st.duplicated + st.reordered + st.overflow, 0);
    }

    #[test]
    fn loss_rate_and_bursts_match_config() {
        let cfg = LinkConfig {
            loss: 0.05,
            burst: 3.0,
            seed: 7,
            ..LinkConfig::clean()
        };
        let (out, st) = run(cfg, 40_000);
        let rate = st.lost as f64 / st.sent as f64;
        assert!((rate - 0.05).abs() < 0.01, "loss rate {rate}");
        // mean burst length from the delivered sequence gaps
        let mut bursts = 0u64;
        let mut prev = None;
        for &(seq, _) in &out {
            if let Some(p) = prev
                && seq > p + 1
            {
                bursts += 1;
            }
            prev = Some(seq);
        }
        let mean = st.lost as f64 / bursts as f64;
        assert!((2.4..3.6).contains(&mean), "mean burst {mean}");
    }

    #[test]
    fn jitter_reorder_duplicate_are_counted_and_seeded() {
        let cfg = LinkConfig {
            jitter: Duration::from_millis(15),
            reorder: 0.05,
            duplicate: 0.02,
            seed: 3,
            ..LinkConfig::clean()
        };
        let (a, sa) = run(cfg.clone(), 5000);
        let (b, sb) = run(cfg, 5000);
        assert_eq!(a, b, "same seed, same run");
        assert_eq!(sa, sb);
        assert_eq!(a.len() as u64, 5000 + sa.duplicated);
        assert!(sa.duplicated > 50 && sa.reordered > 150);
        let inversions = a.windows(2).filter(|w| w[1].0 < w[0].0).count();
        assert!(inversions > 100, "{inversions}");
        // every packet is delayed by at least the base delay
        assert!(
            a.iter()
                .all(|&(seq, t)| t >= Duration::from_millis(20 * seq + 1))
        );
    }

    #[test]
    fn queue_is_bounded() {
        let start = epoch();
        let mut link = ImpairedLink::new(LinkConfig {
            max_queue: 10,
            ..LinkConfig::clean()
        });
        for i in 0..100u32 {
            link.send(start, i);
        }
        assert_eq!(link.in_flight(), 10);
        assert_eq!(link.stats().overflow, 90);
        assert!(link.poll_deliver(start).is_none());
        assert_eq!(link.poll_timeout(), Some(start + Duration::from_millis(1)));
    }

    #[test]
    fn out_of_range_config_is_clamped_and_rejected_by_validate() {
        let bad = LinkConfig {
            loss: 2.0,
            burst: 0.0,
            ..LinkConfig::clean()
        };
        assert!(bad.validate().is_err());
        let link: ImpairedLink<u8> = ImpairedLink::new(bad);
        assert!(link.config().loss < 1.0 && link.config().burst >= 1.0);
        assert!(LinkConfig::impaired().validate().is_ok());
    }
}
