//! PBX protection: per-source rate limits, blocking after repeated authentication failures,
//! and known scanner User-Agents. All state is bounded: a flood of spoofed sources cannot grow
//! memory past the configured table size.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Token-bucket rate limiter per source address.
#[derive(Debug)]
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    max_sources: usize,
    buckets: HashMap<IpAddr, Bucket>,
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

impl RateLimiter {
    /// `per_second` requests sustained with bursts up to `burst`, tracking at most
    /// `max_sources` addresses.
    pub fn new(per_second: f64, burst: u32, max_sources: usize) -> Self {
        Self {
            rate: if per_second.is_finite() {
                per_second.max(0.0)
            } else {
                0.0
            },
            burst: f64::from(burst.max(1)),
            max_sources: max_sources.max(1),
            buckets: HashMap::new(),
        }
    }

    /// Whether a request from `ip` at `now` is allowed (and takes a token if so).
    ///
    /// When the table is full, buckets that have refilled completely are forgotten (they hold
    /// no information); if that frees nothing, an unknown source is refused until it does.
    pub fn check(&mut self, now: Instant, ip: IpAddr) -> bool {
        if !self.buckets.contains_key(&ip) && self.buckets.len() >= self.max_sources {
            self.sweep(now);
            if self.buckets.len() >= self.max_sources {
                return false;
            }
        }
        let burst = self.burst;
        let rate = self.rate;
        let b = self.buckets.entry(ip).or_insert(Bucket {
            tokens: burst,
            last: now,
        });
        let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
        b.tokens = (b.tokens + elapsed * rate).min(burst);
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Sources currently tracked.
    pub fn tracked(&self) -> usize {
        self.buckets.len()
    }

    fn sweep(&mut self, now: Instant) {
        let (rate, burst) = (self.rate, self.burst);
        self.buckets.retain(|_, b| {
            let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
            b.tokens + elapsed * rate < burst
        });
    }
}

/// Blocks a source after `max_failures` authentication failures within `window`, for `block`.
#[derive(Debug)]
pub struct AuthBlocker {
    max_failures: u32,
    window: Duration,
    block: Duration,
    max_sources: usize,
    sources: HashMap<IpAddr, Failures>,
}

#[derive(Clone, Copy, Debug)]
struct Failures {
    count: u32,
    first: Instant,
    blocked_until: Option<Instant>,
}

impl AuthBlocker {
    /// A blocker with the given thresholds, tracking at most `max_sources` addresses.
    pub fn new(max_failures: u32, window: Duration, block: Duration, max_sources: usize) -> Self {
        Self {
            max_failures: max_failures.max(1),
            window,
            block,
            max_sources: max_sources.max(1),
            sources: HashMap::new(),
        }
    }

    /// Whether `ip` is blocked at `now`.
    pub fn is_blocked(&self, now: Instant, ip: IpAddr) -> bool {
        self.sources
            .get(&ip)
            .and_then(|f| f.blocked_until)
            .is_some_and(|until| now < until)
    }

    /// Records a failed authentication; returns true when this failure starts a block.
    pub fn failure(&mut self, now: Instant, ip: IpAddr) -> bool {
        if !self.sources.contains_key(&ip) && self.sources.len() >= self.max_sources {
            self.sweep(now);
            if self.sources.len() >= self.max_sources {
                // Table full of live entries: refuse to track more (blocking stays in force
                // for those tracked); memory stays bounded.
                return false;
            }
        }
        let f = self.sources.entry(ip).or_insert(Failures {
            count: 0,
            first: now,
            blocked_until: None,
        });
        if now.saturating_duration_since(f.first) > self.window {
            f.count = 0;
            f.first = now;
        }
        f.count += 1;
        if f.count >= self.max_failures && f.blocked_until.is_none_or(|u| now >= u) {
            f.blocked_until = Some(now + self.block);
            f.count = 0;
            f.first = now;
            return true;
        }
        false
    }

    /// Records a successful authentication (clears the failure count, not an active block).
    pub fn success(&mut self, ip: IpAddr) {
        if let Some(f) = self.sources.get_mut(&ip) {
            f.count = 0;
        }
    }

    /// Sources currently tracked.
    pub fn tracked(&self) -> usize {
        self.sources.len()
    }

    fn sweep(&mut self, now: Instant) {
        let window = self.window;
        self.sources.retain(|_, f| {
            f.blocked_until.is_some_and(|u| now < u)
                || now.saturating_duration_since(f.first) <= window
        });
    }
}

/// User-Agent substrings of SIP scanners and toll-fraud tools (lowercase).
pub const SCANNER_USER_AGENTS: &[&str] = &[
    "friendly-scanner",
    "sipvicious",
    "sipcli",
    "sip-scan",
    "sipscan",
    "sundayddr",
    "iwar",
    "vaxsipuseragent",
    "pplsip",
    "smap",
    "sivus",
    "nmap nse",
    "sipptk",
    "voipbuster",
];

/// Whether `user_agent` is a known scanner (case-insensitive substring match).
pub fn is_scanner(user_agent: &str) -> bool {
    let ua = user_agent.to_ascii_lowercase();
    SCANNER_USER_AGENTS.iter().any(|s| ua.contains(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[expect(clippy::disallowed_methods, reason = "tests need an arbitrary epoch")]
    fn epoch() -> Instant {
        Instant::now()
    }

    fn ip(n: u32) -> IpAddr {
        IpAddr::V4(n.into())
    }

    #[test]
    fn token_bucket_allows_burst_then_rate() {
        let t0 = epoch();
        let mut rl = RateLimiter::new(10.0, 5, 100);
        let allowed = (0..20).filter(|_| rl.check(t0, ip(1))).count();
        assert_eq!(allowed, 5);
        // another source is independent
        assert!(rl.check(t0, ip(2)));
        // after 1 s, 10 more tokens, capped at the burst of 5
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!((0..20).filter(|_| rl.check(t1, ip(1))).count(), 5);
        // 100 ms later: one token
        let t2 = t1 + Duration::from_millis(100);
        assert!(rl.check(t2, ip(1)));
        assert!(!rl.check(t2, ip(1)));
    }

    #[test]
    fn rate_limiter_memory_is_bounded_under_spoofed_flood() {
        let t0 = epoch();
        let mut rl = RateLimiter::new(1.0, 2, 1000);
        for n in 0..100_000 {
            rl.check(t0, ip(n));
        }
        assert!(rl.tracked() <= 1000);
        // once the old buckets refill they are swept and new sources get in
        let later = t0 + Duration::from_secs(10);
        assert!(rl.check(later, ip(500_000)));
        assert!(rl.tracked() <= 1000);
    }

    #[test]
    fn auth_failures_block_then_expire() {
        let t0 = epoch();
        let mut b = AuthBlocker::new(3, Duration::from_secs(60), Duration::from_secs(30), 100);
        assert!(!b.failure(t0, ip(1)));
        assert!(!b.failure(t0, ip(1)));
        assert!(!b.is_blocked(t0, ip(1)));
        assert!(b.failure(t0, ip(1)));
        assert!(b.is_blocked(t0 + Duration::from_secs(29), ip(1)));
        assert!(!b.is_blocked(t0 + Duration::from_secs(30), ip(1)));
        assert!(!b.is_blocked(t0, ip(2)));
        // failures spread beyond the window do not accumulate
        let mut b = AuthBlocker::new(3, Duration::from_secs(10), Duration::from_secs(30), 100);
        for k in 0..10u64 {
            assert!(!b.failure(t0 + Duration::from_secs(11 * k), ip(3)));
        }
        // success resets the count
        b.failure(t0, ip(4));
        b.failure(t0, ip(4));
        b.success(ip(4));
        assert!(!b.failure(t0, ip(4)));
    }

    #[test]
    fn auth_blocker_is_bounded() {
        let t0 = epoch();
        let mut b = AuthBlocker::new(3, Duration::from_secs(10), Duration::from_secs(30), 50);
        for n in 0..10_000 {
            b.failure(t0, ip(n));
        }
        assert!(b.tracked() <= 50);
    }

    #[test]
    fn scanners_are_recognised() {
        assert!(is_scanner("friendly-scanner"));
        assert!(is_scanner("SIPVicious 0.3.4"));
        assert!(is_scanner("sipcli/v1.8"));
        assert!(!is_scanner("baresip v1.0.0 (x86_64/linux)"));
        assert!(!is_scanner("telox-phone/0.1"));
        assert!(!is_scanner("Linphone/5.0"));
    }
}
