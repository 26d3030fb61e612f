//! How the UA's registration client treats a failed REGISTER, first or refresh, on a virtual
//! clock with a hand-driven registrar: Retry-After delays the next try (RFC 3261 §20.33)
//! but never shortens the back-off; 403, 404 and 604 without Retry-After are not repeated
//! (§21.4.4); other failures are retried after the back-off.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers outside #[test] fns"
)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use telox_sip_core::transaction::{Target, Transport};
use telox_sip_core::ua::{RegistrationId, UaConfig, UaEvent, UserAgent};
use telox_sip_core::{Message, Method, Request, Response, StatusCode};

#[expect(
    clippy::disallowed_methods,
    reason = "virtual clock origin; only offsets matter"
)]
fn origin() -> Instant {
    Instant::now()
}

fn registrar() -> Target {
    Target {
        transport: Transport::Udp,
        addr: "127.0.0.1:5060".parse().unwrap(),
    }
}

struct Client {
    ua: UserAgent,
    t0: Instant,
    id: RegistrationId,
}

impl Client {
    fn new() -> Self {
        let t0 = origin();
        let mut ua = UserAgent::new(UaConfig::new("127.0.0.1:5070".parse().unwrap(), "alice", 3));
        let id = ua
            .register(
                t0,
                "sip:example.com".parse().unwrap(),
                "sip:alice@example.com".parse().unwrap(),
                registrar(),
                600,
            )
            .unwrap();
        Self { ua, t0, id }
    }

    fn at(&self, secs: u64) -> Instant {
        self.t0 + Duration::from_secs(secs)
    }

    /// The REGISTERs the UA sends when its timers run at `secs`.
    fn registers_at(&mut self, secs: u64) -> Vec<Request> {
        self.ua.handle_timeout(self.at(secs));
        let mut out = Vec::new();
        while let Some(t) = self.ua.poll_transmit() {
            if let Ok(Message::Request(r)) = Message::parse(t.payload)
                && r.method() == &Method::Register
            {
                out.push(r);
            }
        }
        out
    }

    /// Answers `request` at `secs` with `status` and extra header lines; returns the events.
    fn answer(
        &mut self,
        secs: u64,
        request: &Request,
        status: u16,
        headers: &[(&str, &str)],
    ) -> Vec<UaEvent> {
        let mut b = Response::builder(request, StatusCode(status)).to_tag("reg");
        for (name, value) in headers {
            b = b.raw_header(name, value).unwrap();
        }
        let bytes: Bytes = b.build().to_bytes();
        self.ua.handle_datagram(self.at(secs), registrar(), bytes);
        std::iter::from_fn(|| self.ua.poll_event()).collect()
    }

    /// The seconds from `from` to `until` at which a REGISTER goes out (each second's
    /// timers run once, so a retransmission shows as the next second).
    fn sends_until(&mut self, from: u64, until: u64) -> Vec<u64> {
        (from..=until)
            .filter(|s| !self.registers_at(*s).is_empty())
            .collect()
    }
}

fn failed(events: &[UaEvent], id: RegistrationId) -> Option<u16> {
    events.iter().find_map(|e| match e {
        UaEvent::RegistrationFailed { id: i, status } if *i == id => Some(*status),
        _ => None,
    })
}

#[test]
fn retry_after_delays_the_next_register_but_never_shortens_the_backoff() {
    // 503 with Retry-After 120: not at the 30 s back-off, at 120 s.
    let mut c = Client::new();
    let first = c.registers_at(0).pop().unwrap();
    let events = c.answer(0, &first, 503, &[("Retry-After", "120")]);
    assert_eq!(failed(&events, c.id), Some(503));
    assert_eq!(c.sends_until(1, 120), [120]);
    // 500 with Retry-After 10: the 30 s back-off is longer and wins.
    let mut c = Client::new();
    let first = c.registers_at(0).pop().unwrap();
    c.answer(0, &first, 500, &[("Retry-After", "10")]);
    assert_eq!(c.sends_until(1, 30), [30]);
    // 404 with Retry-After (RFC 3261 §20.33 lists it): retried after it.
    let mut c = Client::new();
    let first = c.registers_at(0).pop().unwrap();
    c.answer(0, &first, 404, &[("Retry-After", "60")]);
    assert_eq!(c.sends_until(1, 60), [60]);
    // 480 without Retry-After: the back-off.
    let mut c = Client::new();
    let first = c.registers_at(0).pop().unwrap();
    c.answer(0, &first, 480, &[]);
    assert_eq!(c.sends_until(1, 30), [30]);
}

#[test]
fn forbidden_and_unknown_aor_are_not_repeated() {
    for status in [403, 404, 604] {
        let mut c = Client::new();
        let first = c.registers_at(0).pop().unwrap();
        let events = c.answer(0, &first, status, &[]);
        assert_eq!(failed(&events, c.id), Some(status));
        assert!(c.sends_until(1, 3600).is_empty(), "{status} repeated");
        assert_eq!(c.ua.register_failures(c.id), Some(1));
    }
}

#[test]
fn a_refresh_answered_403_stops_and_one_answered_503_retries() {
    let mut c = Client::new();
    let first = c.registers_at(0).pop().unwrap();
    let events = c.answer(0, &first, 200, &[("Expires", "600")]);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, UaEvent::Registered { expires: 600, .. }))
    );
    // the refresh goes out 32 s before expiry
    assert_eq!(c.sends_until(1, 568), [568]);
    let mut c2 = Client::new();
    let first = c2.registers_at(0).pop().unwrap();
    c2.answer(0, &first, 200, &[("Expires", "600")]);
    let refresh = c2.registers_at(568).pop().unwrap();
    // 503 Retry-After 45: again at 613 (past the binding's expiry: the registrar asked)
    c2.answer(568, &refresh, 503, &[("Retry-After", "45")]);
    assert_eq!(c2.sends_until(569, 613), [613]);
    // and the first client's refresh refused: no further REGISTER
    let mut c3 = Client::new();
    let first = c3.registers_at(0).pop().unwrap();
    c3.answer(0, &first, 200, &[("Expires", "600")]);
    let refresh = c3.registers_at(568).pop().unwrap();
    let events = c3.answer(568, &refresh, 403, &[]);
    assert_eq!(failed(&events, c3.id), Some(403));
    assert!(c3.sends_until(569, 4000).is_empty());
}
