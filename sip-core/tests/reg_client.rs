//! The UA's registration client against the registrar service over a virtual link:
//! 401 -> digest retry -> 200, refresh before expiry, 423 Min-Expires, unregister, and the
//! retry schedule after failures: the exact instants of RFC 5626 §4.5 back-off (doubling
//! from the base to the cap), jitter from the seeded RNG within bounds and reproducible,
//! reset after a success, and the fixed 30 s default.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers outside #[test] fns"
)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use telox_sip_core::auth::{DigestSecret, DigestServer, DigestServerConfig};
use telox_sip_core::registration::{
    MemoryLocationStore, RegisterRetry, Registrar, RegistrarConfig, RegistrarService,
};
use telox_sip_core::transaction::{
    Target, TransactionConfig, TransactionEvent, Transactions, Transport,
};
use telox_sip_core::ua::{RegistrationId, UaConfig, UaEvent, UserAgent};
use telox_sip_core::{Method, Response, StatusCode};

#[expect(
    clippy::disallowed_methods,
    reason = "virtual clock origin; only offsets matter"
)]
fn origin() -> Instant {
    Instant::now()
}

const UA: &str = "127.0.0.1:5070";
const REG: &str = "127.0.0.1:5060";

type Service = RegistrarService<MemoryLocationStore, fn(&str) -> Option<DigestSecret>>;

fn secrets(u: &str) -> Option<DigestSecret> {
    (u == "alice").then(|| DigestSecret::Password("wonderland".into()))
}

struct Net {
    t0: Instant,
    now: Instant,
    ua: UserAgent,
    server: Transactions,
    service: Service,
    events: Vec<(u64, UaEvent)>,
    registers: Vec<(u64, String)>,
    /// When set, the registrar answers every REGISTER with this status.
    fail_with: Option<u16>,
    /// Milliseconds since `t0` of each REGISTER the registrar received.
    register_ms: Vec<u64>,
}

impl Net {
    fn new(min_expires: u32) -> Self {
        let t0 = origin();
        let mut cfg = UaConfig::new(UA.parse().unwrap(), "alice", 3);
        cfg.credentials = Some(("alice".into(), "wonderland".into()));
        Self {
            t0,
            now: t0,
            ua: UserAgent::new(cfg),
            server: Transactions::new(TransactionConfig::default()),
            service: RegistrarService::with_auth(
                Registrar::new(
                    RegistrarConfig {
                        min_expires,
                        ..RegistrarConfig::default()
                    },
                    MemoryLocationStore::default(),
                ),
                DigestServer::new(DigestServerConfig::new("example.com", 1)),
                secrets as fn(&str) -> Option<DigestSecret>,
            ),
            events: Vec::new(),
            registers: Vec::new(),
            fail_with: None,
            register_ms: Vec::new(),
        }
    }

    fn secs(&self) -> u64 {
        (self.now - self.t0).as_secs()
    }

    /// Delivers everything in both directions (no delay) until quiet.
    fn settle(&mut self) {
        let from_ua = Target {
            transport: Transport::Udp,
            addr: UA.parse::<SocketAddr>().unwrap(),
        };
        let from_reg = Target {
            transport: Transport::Udp,
            addr: REG.parse::<SocketAddr>().unwrap(),
        };
        loop {
            let mut moved = false;
            while let Some(t) = self.ua.poll_transmit() {
                moved = true;
                let text = String::from_utf8_lossy(&t.payload).into_owned();
                let auth = text.contains("Authorization:");
                let expires = text
                    .lines()
                    .find(|l| l.starts_with("Expires:"))
                    .unwrap_or("")
                    .to_owned();
                self.registers
                    .push((self.secs(), format!("{expires} auth={auth}")));
                self.server.handle_datagram(self.now, from_ua, t.payload);
            }
            while let Some(e) = self.server.poll_event() {
                if let TransactionEvent::Request { key, request, .. } = e {
                    assert_eq!(*request.method(), Method::Register);
                    self.register_ms
                        .push(u64::try_from((self.now - self.t0).as_millis()).unwrap());
                    let resp = match self.fail_with {
                        Some(status) => Response::builder(&request, StatusCode(status))
                            .to_tag("rt")
                            .build(),
                        None => self.service.handle(self.now, &request, "rt").0,
                    };
                    self.server.send_response(self.now, &key, resp).unwrap();
                }
            }
            while let Some(t) = self.server.poll_transmit() {
                moved = true;
                self.ua.handle_datagram(self.now, from_reg, t.payload);
            }
            while let Some(e) = self.ua.poll_event() {
                self.events.push((self.secs(), e));
            }
            if !moved {
                break;
            }
        }
    }

    fn advance_to(&mut self, secs: u64) {
        let end = self.t0 + Duration::from_secs(secs);
        loop {
            self.settle();
            let next = [self.ua.poll_timeout(), self.server.poll_timeout()]
                .into_iter()
                .flatten()
                .min()
                .filter(|n| *n <= end);
            let Some(next) = next else { break };
            self.now = next.max(self.now);
            self.ua.handle_timeout(self.now);
            self.server.handle_timeout(self.now);
        }
        self.now = end;
    }

    /// Registers for 3600 s with `retry`, the registrar answering 503 (seed `seed`).
    /// Registers alice at the registrar for `expires` seconds.
    fn register(&mut self, expires: u32) -> RegistrationId {
        self.ua
            .register(
                self.now,
                "sip:example.com".parse().unwrap(),
                "sip:alice@example.com".parse().unwrap(),
                Target {
                    transport: Transport::Udp,
                    addr: REG.parse().unwrap(),
                },
                expires,
            )
            .unwrap()
    }

    fn failing(seed: u64, retry: RegisterRetry) -> (Self, RegistrationId) {
        let mut n = Self::new(60);
        let mut cfg = UaConfig::new(UA.parse().unwrap(), "alice", seed);
        cfg.credentials = Some(("alice".into(), "wonderland".into()));
        n.ua = UserAgent::new(cfg);
        n.fail_with = Some(503);
        let id = n.register(3600);
        n.ua.set_register_retry(id, retry).unwrap();
        n.settle();
        (n, id)
    }

    fn failures(&self) -> usize {
        self.events
            .iter()
            .filter(|(_, e)| matches!(e, UaEvent::RegistrationFailed { status: 503, .. }))
            .count()
    }
}

fn no_jitter() -> RegisterRetry {
    RegisterRetry {
        jitter: false,
        ..RegisterRetry::rfc5626()
    }
}

fn secs(list: &[u64]) -> Vec<u64> {
    list.iter().map(|ms| ms / 1000).collect()
}

#[test]
fn backoff_doubles_to_the_cap_at_exact_instants() {
    let (mut n, id) = Net::failing(1, no_jitter());
    n.advance_to(8000);
    // 0, then +60, +120, +240, +480, +960, +1800, +1800, +1800; whole seconds.
    assert_eq!(
        n.register_ms,
        [0, 60, 180, 420, 900, 1860, 3660, 5460, 7260].map(|s| s * 1000)
    );
    assert_eq!(n.failures(), 9);
    assert_eq!(n.ua.register_failures(id), Some(9));
}

#[test]
fn success_resets_the_backoff() {
    let (mut n, id) = Net::failing(1, no_jitter());
    n.advance_to(500);
    assert_eq!(secs(&n.register_ms), [0, 60, 180, 420]);
    n.fail_with = None;
    // At 900: 401, then the digest retry, 200.
    n.advance_to(900);
    assert_eq!(secs(&n.register_ms), [0, 60, 180, 420, 900, 900]);
    assert!(matches!(
        n.events.last(),
        Some((900, UaEvent::Registered { expires: 3600, .. }))
    ));
    assert_eq!(n.ua.register_failures(id), Some(0));
    // The refresh 32 s before expiry (900 + 3568) fails; the back-off starts again from
    // the base: + 60, + 120.
    n.fail_with = Some(503);
    n.advance_to(4700);
    assert_eq!(
        secs(&n.register_ms),
        [0, 60, 180, 420, 900, 900, 4468, 4528, 4648]
    );
}

#[test]
fn jitter_is_within_bounds_and_reproducible_from_the_seed() {
    let run = |seed| {
        let (mut n, _) = Net::failing(seed, RegisterRetry::rfc5626());
        n.advance_to(20_000);
        n.register_ms
    };
    let a = run(7);
    assert_eq!(a, run(7), "same seed, same instants");
    assert_ne!(a, run(8), "another seed draws other delays");
    let r = RegisterRetry::rfc5626();
    assert!(a.len() >= 12, "{a:?}");
    for (i, w) in a.windows(2).enumerate() {
        let gap = w[1] - w[0];
        let wait = u64::try_from(r.wait(u32::try_from(i + 1).unwrap()).as_millis()).unwrap();
        assert!(
            gap >= wait / 2 && gap <= wait,
            "retry {i}: {gap} ms, wait {wait} ms"
        );
    }
    // Not simply the upper bound every time.
    assert!(a.windows(2).any(|w| w[1] - w[0] < 1_700_000), "{a:?}");
}

#[test]
fn default_retries_every_30_s() {
    let (mut n, _) = Net::failing(1, RegisterRetry::default());
    n.advance_to(100);
    assert_eq!(n.register_ms, [0, 30, 60, 90].map(|s| s * 1000));
}

#[test]
fn register_with_digest_refresh_and_unregister() {
    let mut n = Net::new(60);
    let id = n.register(600);
    n.settle();
    assert_eq!(
        n.registers,
        vec![
            (0, "Expires: 600 auth=false".to_owned()),
            (0, "Expires: 600 auth=true".to_owned())
        ]
    );
    assert!(matches!(
        n.events[..],
        [(0, UaEvent::Registered { expires: 600, .. })]
    ));
    assert_eq!(
        n.service
            .registrar()
            .lookup(n.now, "sip:alice@example.com")
            .len(),
        1
    );
    // The refresh goes out 32 s before expiry with the old nonce (nc=2); that nonce is past
    // its 300 s lifetime, so the registrar answers 401 stale=true and the client retries at
    // once with the fresh nonce.
    n.advance_to(600);
    assert_eq!(n.registers[2], (568, "Expires: 600 auth=true".to_owned()));
    assert_eq!(n.registers[3], (568, "Expires: 600 auth=true".to_owned()));
    assert_eq!(n.registers.len(), 4);
    assert!(matches!(
        n.events[1],
        (568, UaEvent::Registered { expires: 600, .. })
    ));
    n.ua.unregister(n.now, id).unwrap();
    n.settle();
    assert!(matches!(
        n.events.last(),
        Some((600, UaEvent::Unregistered { .. }))
    ));
    assert!(
        n.service
            .registrar()
            .lookup(n.now, "sip:alice@example.com")
            .is_empty()
    );
}

#[test]
fn interval_too_brief_is_retried_with_min_expires() {
    let mut n = Net::new(300);
    n.register(120);
    n.settle();
    assert!(
        n.events
            .iter()
            .any(|(_, e)| matches!(e, UaEvent::Registered { expires: 300, .. })),
        "{:?} {:?}",
        n.registers,
        n.events
    );
}
