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

    fn index(self) -> usize {
        self as usize
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

/// The armed timers of one transaction: a deadline per letter plus the current interval of
/// the retransmission timers (A, E, G) for back-off.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Timers {
    deadline: [Option<Instant>; 13],
    /// Current interval of the one retransmit timer a machine uses (A, E or G).
    pub(crate) interval: Duration,
}

impl Timers {
    pub(crate) fn set(&mut self, timer: Timer, at: Instant) {
        self.deadline[timer.index()] = Some(at);
    }

    pub(crate) fn cancel(&mut self, timer: Timer) {
        self.deadline[timer.index()] = None;
    }

    pub(crate) fn cancel_all(&mut self) {
        self.deadline = [None; 13];
    }

    pub(crate) fn get(&self, timer: Timer) -> Option<Instant> {
        self.deadline[timer.index()]
    }

    /// The earliest armed timer and its deadline (the first in table order on a tie).
    pub(crate) fn next(&self) -> Option<(Instant, Timer)> {
        let mut best: Option<(Instant, usize)> = None;
        for (i, d) in self.deadline.iter().enumerate() {
            if let Some(d) = *d
                && best.is_none_or(|(b, _)| d < b)
            {
                best = Some((d, i));
            }
        }
        best.and_then(|(d, i)| Timer::ALL.get(i).map(|&t| (d, t)))
    }
}
