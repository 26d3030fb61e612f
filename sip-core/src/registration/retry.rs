//! How a registration client waits before retrying a failed REGISTER: a fixed interval, or
//! the exponential back-off of RFC 5626 §4.5 with a cap and jitter.

use std::time::Duration;

use rand::Rng;

/// The retry schedule of a failed registration.
///
/// After `n` consecutive failures (`n >= 1`) the wait is `min(max, base * 2^n)` (RFC 5626
/// §4.5); with `jitter` the client waits a random time between 50 % and 100 % of it,
/// drawn from its seeded RNG, so that many clients failing together do not retry together.
/// A success resets the count. [`RegisterRetry::fixed`] (the default, 30 s) keeps the wait
/// constant.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct RegisterRetry {
    /// The base time (RFC 5626's `base-time`).
    pub base: Duration,
    /// The longest wait (RFC 5626's `max-time`).
    pub max: Duration,
    /// Wait a random 50-100 % of the computed time.
    pub jitter: bool,
}

impl RegisterRetry {
    /// Always `interval`, no jitter.
    pub const fn fixed(interval: Duration) -> Self {
        Self {
            base: interval,
            max: interval,
            jitter: false,
        }
    }

    /// RFC 5626 §4.5 with its recommended values when every flow failed: base 30 s, at most
    /// 1800 s, with jitter (30-60 s after the first failure, 1-2 min after the second, ...,
    /// 15-30 min from the sixth on).
    pub const fn rfc5626() -> Self {
        Self {
            base: Duration::from_secs(30),
            max: Duration::from_secs(1800),
            jitter: true,
        }
    }

    /// The wait before jitter after `failures` consecutive failures (`failures` 0 counts
    /// as 1): `min(max, base * 2^failures)`.
    pub fn wait(&self, failures: u32) -> Duration {
        let factor = 1u32.checked_shl(failures.clamp(1, 31)).unwrap_or(u32::MAX);
        self.base
            .checked_mul(factor)
            .map_or(self.max, |w| w.min(self.max))
    }

    /// The delay before the next attempt after `failures` consecutive failures: [`wait`],
    /// or with `jitter` a uniform draw from `rng` between half of it and all of it
    /// (millisecond resolution).
    ///
    /// [`wait`]: RegisterRetry::wait
    pub fn delay<R: Rng + ?Sized>(&self, failures: u32, rng: &mut R) -> Duration {
        let wait = self.wait(failures);
        if !self.jitter {
            return wait;
        }
        let hi = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rng.random_range(hi / 2..=hi))
    }
}

impl Default for RegisterRetry {
    /// [`RegisterRetry::fixed`] of 30 s.
    fn default() -> Self {
        Self::fixed(Duration::from_secs(30))
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    #[test]
    fn doubles_from_base_to_the_cap() {
        let r = RegisterRetry {
            jitter: false,
            ..RegisterRetry::rfc5626()
        };
        let waits: Vec<u64> = (1..=8).map(|n| r.wait(n).as_secs()).collect();
        assert_eq!(waits, [60, 120, 240, 480, 960, 1800, 1800, 1800]);
        assert_eq!(r.wait(u32::MAX).as_secs(), 1800);
        assert_eq!(RegisterRetry::default().wait(7).as_secs(), 30);
    }

    #[test]
    fn jitter_stays_between_half_and_full_wait() {
        let r = RegisterRetry::rfc5626();
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let mut distinct = std::collections::BTreeSet::new();
        for n in 1..=6 {
            for _ in 0..50 {
                let d = r.delay(n, &mut rng);
                assert!(d >= r.wait(n) / 2 && d <= r.wait(n), "{n}: {d:?}");
                distinct.insert(d);
            }
        }
        assert!(distinct.len() > 250, "{}", distinct.len());
    }
}
