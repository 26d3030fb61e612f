//! The UA's registration client against the registrar service over a virtual link:
//! 401 -> digest retry -> 200, refresh before expiry, 423 Min-Expires, unregister.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers outside #[test] fns"
)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use telox_sip_core::Method;
use telox_sip_core::auth::{DigestSecret, DigestServer, DigestServerConfig};
use telox_sip_core::registration::{
    MemoryLocationStore, Registrar, RegistrarConfig, RegistrarService,
};
use telox_sip_core::transaction::{
    Target, TransactionConfig, TransactionEvent, Transactions, Transport,
};
use telox_sip_core::ua::{UaConfig, UaEvent, UserAgent};

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
                    let (resp, _) = self.service.handle(self.now, &request, "rt");
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
}

#[test]
fn register_with_digest_refresh_and_unregister() {
    let mut n = Net::new(60);
    let id =
        n.ua.register(
            n.now,
            "sip:example.com".parse().unwrap(),
            "sip:alice@example.com".parse().unwrap(),
            Target {
                transport: Transport::Udp,
                addr: REG.parse().unwrap(),
            },
            600,
        )
        .unwrap();
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
    n.ua.register(
        n.now,
        "sip:example.com".parse().unwrap(),
        "sip:alice@example.com".parse().unwrap(),
        Target {
            transport: Transport::Udp,
            addr: REG.parse().unwrap(),
        },
        120,
    )
    .unwrap();
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
