//! The transaction timers of RFC 3261 §17 (Table 4) and RFC 6026, by letter.

use std::time::{Duration, Instant};

/// A transaction timer, named by its RFC letter (RFC 3261 Table 4, RFC 6026 §8.4, §8.7).
#[derive(Clone, Copy, Debug, Eq, Hash, Ord, PartialEq, PartialOrd)]
pub enum Timer {
    /// INVITE request retransmit (client, unreliable transport): T1, doubling without cap.
    A,
    /// INVITE transaction timeout (client): 64*T1.
    B,
    /// Wait time for response retransmits (client INVITE, Completed): 32 s unreliable, 0 reliable.
    D,
    /// non-INVITE request retransmit (client, unreliable): T1 doubling up to T2; T2 in Proceeding.
    E,
    /// non-INVITE transaction timeout (client): 64*T1.
    F,
    /// INVITE response retransmit (server, unreliable): T1 doubling up to T2.
    G,
    /// Wait time for ACK receipt (server INVITE, Completed): 64*T1.
    H,
    /// Wait time for ACK retransmits (server INVITE, Confirmed): T4 unreliable, 0 reliable.
    I,
    /// Wait time for non-INVITE request retransmits (server): 64*T1 unreliable, 0 reliable.
    J,
    /// Wait time for response retransmits (client non-INVITE): T4 unreliable, 0 reliable.
    K,
    /// Wait time for 2xx retransmissions from the TU (server INVITE, Accepted; RFC 6026): 64*T1.
    L,
    /// Wait time for 2xx retransmissions (client INVITE, Accepted; RFC 6026): 64*T1.
    M,
    /// The 200 ms after which an INVITE server transaction sends 100 Trying itself when the
    /// TU has not answered (RFC 3261 §17.2.1). Not lettered in the RFC.
    Trying,
}

impl Timer {
    /// Every timer, in table order.
    pub const ALL: [Self; 13] = [
        Self::A,
        Self::B,
        Self::D,
        Self::E,
        Self::F,
        Self::G,
        Self::H,
        Self::I,
        Self::J,
        Self::K,
        Self::L,
        Self::M,
        Self::Trying,
    ];

    /// A, E, G and the 100 Trying delay: the timers that make a machine (re)send.
    pub(crate) fn is_retransmit(self) -> bool {
        matches!(self, Self::A | Self::E | Self::G | Self::Trying)
    }
}

/// Timer values (RFC 3261 §17.1.1.1, Table 4). All configurable, defaults from the RFC.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct TimerConfig {
    /// RTT estimate, 500 ms by default.
    pub t1: Duration,
    /// Maximum retransmit interval for non-INVITE requests and INVITE responses, 4 s.
    pub t2: Duration,
    /// Maximum time a message stays in the network, 5 s.
    pub t4: Duration,
    /// Timer D on unreliable transports, "at least 32 seconds".
    pub d: Duration,
    /// Delay before the automatic 100 Trying of an INVITE server transaction, 200 ms.
    pub trying: Duration,
}

impl Default for TimerConfig {
    fn default() -> Self {
        Self {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
            d: Duration::from_secs(32),
            trying: Duration::from_millis(200),
        }
    }
}

impl TimerConfig {
    /// 64*T1, the value of timers B, F, H, J (unreliable), L and M.
    pub fn t1x64(&self) -> Duration {
        self.t1.saturating_mul(64)
    }
}

/// The armed timers of one transaction plus the current interval of the retransmission
/// timers (A, E, G) for back-off.
///
/// No machine state arms more than one retransmission timer (A, E, G or the 100 Trying
/// delay) and one wait timer (B, D, F, H, I, J, K, L or M) at a time (RFC 3261 Figures 5-8,
/// RFC 6026 Figures 1-4; entering a state cancels everything), so two slots, one per class,
/// hold them: 48 bytes instead of a deadline per letter, and the earliest is one compare.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Timers {
    retransmit: Option<(Instant, Timer)>,
    wait: Option<(Instant, Timer)>,
    /// Current interval of the one retransmit timer a machine uses (A, E or G).
    pub(crate) interval: Duration,
}

impl Timers {
    fn slot(&mut self, timer: Timer) -> &mut Option<(Instant, Timer)> {
        if timer.is_retransmit() {
            &mut self.retransmit
        } else {
            &mut self.wait
        }
    }

    pub(crate) fn set(&mut self, timer: Timer, at: Instant) {
        *self.slot(timer) = Some((at, timer));
    }

    pub(crate) fn cancel(&mut self, timer: Timer) {
        let slot = self.slot(timer);
        if slot.is_some_and(|(_, t)| t == timer) {
            *slot = None;
        }
    }

    pub(crate) fn cancel_all(&mut self) {
        self.retransmit = None;
        self.wait = None;
    }

    pub(crate) fn get(&self, timer: Timer) -> Option<Instant> {
        let slot = if timer.is_retransmit() {
            self.retransmit
        } else {
            self.wait
        };
        slot.filter(|&(_, t)| t == timer).map(|(at, _)| at)
    }

    /// The earliest armed timer and its deadline; on a tie the retransmission timer, which
    /// comes first in table order in every pair a state arms (A/B, E/F, G/H).
    pub(crate) fn next(&self) -> Option<(Instant, Timer)> {
        match (self.retransmit, self.wait) {
            (Some(r), Some(w)) => Some(if w.0 < r.0 { w } else { r }),
            (r, w) => r.or(w),
        }
    }
}

/// One armed deadline of an endpoint: the instant, the transaction's slot and the slot's
/// generation (a stale entry is skipped when it comes up).
pub(crate) type Deadline = (Instant, usize, u32);

/// Most distinct delays kept as FIFO runs; others go to the heap.
const RUNS: usize = 8;

/// The nominal delay of a deadline, which picks its FIFO run: its timer and, for the
/// retransmission timers (A, E, G), their current interval. Every wait timer that reaches
/// the queue has one fixed delay per endpoint (zero ones end the transaction at once), so
/// this names the delay without subtracting instants (`Instant::duration_since` cost ~51
/// instructions per push). A key that does not match the real delay (a late timer, a back-off
/// from the fired deadline) only sends the deadline to the heap: a run takes a deadline only
/// when it is not earlier than the run's last.
pub(crate) type Run = (Timer, Duration);

/// The armed deadlines of every transaction of an endpoint, earliest first.
///
/// Almost every deadline is set at a fixed delay from the current time (T1, T4, 64*T1, 0 on
/// reliable transports), and time only moves forward, so deadlines with the same delay (the
/// same [`Run`]) arrive in order: each such run is a FIFO queue (push and pop in O(1), where
/// a binary heap of thousands of entries cost ~10 levels of sifting per pop). A deadline
/// that would break a run's order (a back-off step from a late timer, a caller passing an
/// earlier `now`) goes to a binary heap. The earliest deadline is the smallest of the run
/// fronts and the heap top; deadlines at the same instant come out in the order they were
/// pushed within a run, and by slot between runs and the heap, except that once a run's
/// front is popped the rest of that run at the same instant follows it (a batch of
/// transactions started at one instant waits in one run, and their end timers then come
/// out without the fronts being compared again for each).
///
/// The earliest deadline and where it is are cached: [`Deadlines::peek`] is asked after every
/// input (to drop stale deadlines off the front), pushes rarely change the earliest, and
/// only a pop needs the fronts compared again.
#[derive(Debug, Default)]
pub(crate) struct Deadlines {
    runs: Vec<(Run, std::collections::VecDeque<Deadline>)>,
    heap: std::collections::BinaryHeap<std::cmp::Reverse<Deadline>>,
    /// The smallest of the run fronts and the heap top, with its source.
    first: Option<(Deadline, Source)>,
}

/// Where the earliest deadline is.
#[derive(Clone, Copy, Debug)]
enum Source {
    Run(usize),
    Heap,
}

impl Deadlines {
    /// Arms `deadline` in the FIFO run of `key` (its nominal delay), or in the heap when
    /// that run has a later deadline or no run is free.
    pub(crate) fn push(&mut self, key: Run, deadline: Deadline) {
        let run = match self.runs.iter().position(|(k, _)| *k == key) {
            Some(i) => Some(i),
            None => match self.runs.iter().position(|(_, q)| q.is_empty()) {
                Some(i) => {
                    if let Some(run) = self.runs.get_mut(i) {
                        run.0 = key;
                    }
                    Some(i)
                }
                None if self.runs.len() < RUNS => {
                    self.runs.push((key, std::collections::VecDeque::new()));
                    Some(self.runs.len() - 1)
                }
                None => None,
            },
        };
        if let Some(i) = run
            && let Some((_, q)) = self.runs.get_mut(i)
            && q.back().is_none_or(|back| back.0 <= deadline.0)
        {
            q.push_back(deadline);
            // Only a deadline that became its run's front can be the new earliest.
            if q.len() == 1 {
                self.offer(deadline, Source::Run(i));
            }
            return;
        }
        self.heap.push(std::cmp::Reverse(deadline));
        if let Some(&std::cmp::Reverse(top)) = self.heap.peek() {
            self.offer(top, Source::Heap);
        }
    }

    /// Makes `front` (now the front of `source`) the cached earliest if it is earlier.
    fn offer(&mut self, front: Deadline, source: Source) {
        if self.first.is_none_or(|(b, _)| front < b) {
            self.first = Some((front, source));
        }
    }

    fn earliest(&self) -> Option<(Deadline, Source)> {
        let mut best = self
            .heap
            .peek()
            .map(|std::cmp::Reverse(d)| (*d, Source::Heap));
        for (i, (_, q)) in self.runs.iter().enumerate() {
            if let Some(&front) = q.front()
                && best.is_none_or(|(b, _)| front < b)
            {
                best = Some((front, Source::Run(i)));
            }
        }
        best
    }

    /// The earliest deadline.
    pub(crate) fn peek(&self) -> Option<Deadline> {
        self.first.map(|(d, _)| d)
    }

    /// Removes and returns the earliest deadline.
    pub(crate) fn pop(&mut self) -> Option<Deadline> {
        let (first, source) = self.first?;
        let popped = match source {
            Source::Run(i) => {
                let run = &mut self.runs.get_mut(i)?.1;
                let popped = run.pop_front();
                // Every other front is at `first`'s instant or later: a next deadline of this
                // run at that instant is the earliest (a comparison of every front cost ~60
                // instructions per pop).
                if let Some(&next) = run.front()
                    && next.0 == first.0
                {
                    self.first = Some((next, source));
                    return popped;
                }
                popped
            }
            Source::Heap => self.heap.pop().map(|std::cmp::Reverse(d)| d),
        };
        self.first = self.earliest();
        popped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whatever the push order and delays, deadlines come out sorted by instant, exactly as
    /// a plain sort would give them (runs, the heap and stale reuse of empty runs mixed).
    #[test]
    #[expect(clippy::disallowed_methods, reason = "virtual clock origin")]
    fn deadlines_come_out_in_order() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut q = Deadlines::default();
        let mut all = Vec::new();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut now = t0;
        for i in 0..2000usize {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // mostly a few fixed delays, some random ones, the clock mostly moving forward
            let delay = match x % 16 {
                0 => ms(x % 977),
                1..=5 => ms(500),
                6..=9 => ms(5000),
                10..=13 => ms(32_000),
                _ => ms(0),
            };
            now = if x.is_multiple_of(23) {
                now.checked_sub(ms(3)).unwrap_or(now)
            } else {
                now + ms(x % 4)
            };
            // the fixed delays by their run, the random ones mostly under a key that does
            // not match their delay (order must hold all the same)
            let run = match x % 16 {
                0 => (Timer::ALL[(x >> 8) as usize % Timer::ALL.len()], ms(500)),
                _ => (Timer::J, delay),
            };
            let d = (now + delay, i, 0);
            q.push(run, d);
            all.push(d);
            if x.is_multiple_of(5) {
                let popped = q.pop();
                all.sort_by_key(|d| d.0);
                let first = all.first().map(|d| d.0);
                assert_eq!(popped.map(|d| d.0), first);
                if let Some(p) = popped {
                    all.retain(|d| *d != p);
                }
            }
        }
        all.sort_by_key(|d| d.0);
        for want in all {
            assert_eq!(q.peek().map(|d| d.0), Some(want.0));
            assert!(q.pop().is_some());
        }
        assert_eq!(q.pop(), None);
    }
}
