//! A full call (INVITE, 180, 200, ACK, BYE) between two user agents in one process over a
//! simulated lossy link on a virtual clock, with the retransmissions checked.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers outside #[test] fns"
)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use telox_sip_core::Uri;
use telox_sip_core::transaction::{Target, Transport};
use telox_sip_core::ua::{Body, LegId, UaConfig, UaEvent, UserAgent};

#[expect(
    clippy::disallowed_methods,
    reason = "virtual clock origin; only offsets matter"
)]
fn origin() -> Instant {
    Instant::now()
}

const A: &str = "127.0.0.1:5061";
const B: &str = "127.0.0.1:5062";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// What the link does with the n-th message from a side.
type Fate = Box<dyn FnMut(bool, &str, usize) -> bool>;

/// Two UAs, a link with a one-way delay and a drop rule, and a log of what was sent.
struct World {
    t0: Instant,
    now: Instant,
    a: UserAgent,
    b: UserAgent,
    /// (deliver at, seq) -> (to_b, bytes)
    wire: BTreeMap<(Instant, u64), (bool, Bytes)>,
    seq: u64,
    delay: Duration,
    keep: Fate,
    /// (ms since t0, from A?, first line, delivered?)
    log: Vec<(u128, bool, String, bool)>,
    counts: BTreeMap<(bool, String), usize>,
    events_a: Vec<(u128, UaEvent)>,
    events_b: Vec<(u128, UaEvent)>,
}

impl World {
    fn new(seed: u64, keep: Fate) -> Self {
        let t0 = origin();
        Self {
            t0,
            now: t0,
            a: UserAgent::new(UaConfig::new(addr(A), "alice", seed)),
            b: UserAgent::new(UaConfig::new(addr(B), "bob", seed.wrapping_add(1))),
            wire: BTreeMap::new(),
            seq: 0,
            delay: Duration::from_millis(20),
            keep,
            log: Vec::new(),
            counts: BTreeMap::new(),
            events_a: Vec::new(),
            events_b: Vec::new(),
        }
    }

    fn ms(&self) -> u128 {
        (self.now - self.t0).as_millis()
    }

    /// Moves transmits onto the wire and events into the logs.
    fn pump(&mut self) {
        for from_a in [true, false] {
            loop {
                let ua = if from_a { &mut self.a } else { &mut self.b };
                let Some(t) = ua.poll_transmit() else { break };
                let line = String::from_utf8_lossy(&t.payload)
                    .lines()
                    .next()
                    .unwrap_or("")
                    .to_owned();
                let n = self.counts.entry((from_a, line.clone())).or_default();
                *n += 1;
                let keep = (self.keep)(from_a, &line, *n);
                self.log
                    .push(((self.now - self.t0).as_millis(), from_a, line, keep));
                if keep {
                    self.seq += 1;
                    self.wire
                        .insert((self.now + self.delay, self.seq), (from_a, t.payload));
                }
            }
        }
        let ms = self.ms();
        while let Some(e) = self.a.poll_event() {
            self.events_a.push((ms, e));
        }
        while let Some(e) = self.b.poll_event() {
            self.events_b.push((ms, e));
        }
    }

    /// Advances to the next delivery or timer, up to `until`; false when idle.
    fn step(&mut self, until: Instant) -> bool {
        self.pump();
        let next_wire = self.wire.keys().next().map(|k| k.0);
        let next = [next_wire, self.a.poll_timeout(), self.b.poll_timeout()]
            .into_iter()
            .flatten()
            .min();
        let Some(next) = next.filter(|n| *n <= until) else {
            self.now = until.max(self.now);
            return false;
        };
        self.now = next.max(self.now);
        while let Some((&k, _)) = self.wire.iter().next() {
            if k.0 > self.now {
                break;
            }
            let Some((from_a, bytes)) = self.wire.remove(&k) else {
                break;
            };
            if from_a {
                self.b.handle_datagram(
                    self.now,
                    Target {
                        transport: Transport::Udp,
                        addr: addr(A),
                    },
                    bytes,
                );
            } else {
                self.a.handle_datagram(
                    self.now,
                    Target {
                        transport: Transport::Udp,
                        addr: addr(B),
                    },
                    bytes,
                );
            }
        }
        self.a.handle_timeout(self.now);
        self.b.handle_timeout(self.now);
        self.pump();
        true
    }

    fn sent_at(&self, from_a: bool, prefix: &str) -> Vec<u128> {
        self.log
            .iter()
            .filter(|l| l.1 == from_a && l.2.starts_with(prefix))
            .map(|l| l.0)
            .collect()
    }
}

fn uri(s: &str) -> Uri {
    s.parse().unwrap()
}

/// Plays one call: A calls, B rings at once, answers 100 ms later, A hangs up 1 s after
/// the answer. Returns the world after everything settled.
fn call(seed: u64, keep: Fate) -> (World, LegId) {
    let mut w = World::new(seed, keep);
    let leg =
        w.a.invite(
            w.now,
            uri("sip:alice@127.0.0.1"),
            uri("sip:bob@127.0.0.1"),
            uri("sip:bob@127.0.0.1:5062"),
            Target {
                transport: Transport::Udp,
                addr: addr(B),
            },
            Some(Body::sdp("v=0\r\n")),
        )
        .unwrap();
    let deadline = w.now + Duration::from_secs(120);
    let mut answered_b: Option<(LegId, Instant)> = None;
    let mut hangup_at: Option<Instant> = None;
    let mut seen_b = 0;
    let mut seen_a = 0;
    while w.now < deadline {
        // Application logic of both sides.
        while seen_b < w.events_b.len() {
            if let UaEvent::Incoming { leg, .. } = &w.events_b[seen_b].1 {
                w.b.ringing(w.now, *leg, 180, None).unwrap();
                answered_b = Some((*leg, w.now + Duration::from_millis(100)));
            }
            seen_b += 1;
        }
        while seen_a < w.events_a.len() {
            if let UaEvent::Answered { .. } = &w.events_a[seen_a].1 {
                hangup_at = Some(w.now + Duration::from_secs(1));
            }
            seen_a += 1;
        }
        let mut until = deadline;
        if let Some((bleg, at)) = answered_b {
            if w.now >= at {
                w.b.answer(w.now, bleg, Some(Body::sdp("v=0\r\n"))).unwrap();
                answered_b = None;
                continue;
            }
            until = until.min(at);
        }
        if let Some(at) = hangup_at {
            if w.now >= at {
                w.a.bye(w.now, leg).unwrap();
                hangup_at = None;
                continue;
            }
            until = until.min(at);
        }
        if !w.step(until) && until == deadline {
            break;
        }
    }
    (w, leg)
}

fn ended(events: &[(u128, UaEvent)], by_peer: bool) -> bool {
    events
        .iter()
        .any(|(_, e)| matches!(e, UaEvent::Ended { by_peer: p, .. } if *p == by_peer))
}

#[test]
fn clean_link_full_call() {
    let (w, _) = call(1, Box::new(|_, _, _| true));
    assert_eq!(w.sent_at(true, "INVITE"), vec![0]);
    assert_eq!(w.sent_at(false, "SIP/2.0 180"), vec![20]);
    assert_eq!(
        w.sent_at(false, "SIP/2.0 200"),
        vec![120, 1160],
        "200 to INVITE, then to BYE"
    );
    assert_eq!(w.sent_at(true, "ACK"), vec![140]);
    assert_eq!(w.sent_at(true, "BYE"), vec![1140]);
    assert!(
        w.events_b
            .iter()
            .any(|(t, e)| *t == 160 && matches!(e, UaEvent::Confirmed { .. }))
    );
    assert!(ended(&w.events_a, false) && ended(&w.events_b, true));
    assert_eq!((w.a.leg_count(), w.b.leg_count()), (0, 0));
    // Every transaction ran out its wait timers.
    assert!(w.a.transactions().is_empty() && w.b.transactions().is_empty());
    assert_eq!(w.a.poll_timeout(), None);
}

#[test]
fn lost_invite_and_lost_200_are_retransmitted_at_t1() {
    // Drop the first INVITE, the first 200 OK (to the INVITE) and the first ACK.
    let (w, _) = call(
        2,
        Box::new(|from_a, line, n| {
            let first = |prefix: &str| n == 1 && line.starts_with(prefix);
            let dropped = if from_a {
                first("INVITE") || first("ACK")
            } else {
                first("SIP/2.0 200")
            };
            !dropped
        }),
    );
    // Timer A: the INVITE again at T1.
    assert_eq!(w.sent_at(true, "INVITE"), vec![0, 500]);
    // B got it at 520, rang, answered at 620; its 200 is retransmitted by the UAS core at
    // T1 and 2*T1 (§13.3.1.4) because the first 200 and the first ACK were lost.
    let oks = w.sent_at(false, "SIP/2.0 200");
    assert_eq!(&oks[..3], &[620, 1120, 2120]);
    // The UAC ACKs each 2xx it receives: the retransmission at 1120 arrives at 1140.
    assert_eq!(w.sent_at(true, "ACK"), vec![1140, 2140]);
    assert!(ended(&w.events_a, false) && ended(&w.events_b, true));
    assert!(w.a.transactions().is_empty() && w.b.transactions().is_empty());
}

#[test]
fn random_loss_thirty_percent_many_calls_all_complete() {
    let mut retransmissions = 0;
    for seed in 0..20u64 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let (w, _) = call(seed, Box::new(move |_, _, _| rng.random_bool(0.7)));
        assert!(
            ended(&w.events_a, false) && ended(&w.events_b, true),
            "seed {seed}: {:#?}",
            w.log
        );
        assert_eq!((w.a.leg_count(), w.b.leg_count()), (0, 0), "seed {seed}");
        assert!(
            w.a.transactions().is_empty() && w.b.transactions().is_empty(),
            "seed {seed}"
        );
        retransmissions += w.log.len() - 6;
    }
    assert!(
        retransmissions > 20,
        "the link did drop messages ({retransmissions})"
    );
}
