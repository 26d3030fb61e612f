//! Shared harness of the user-agent scenario tests: two (or more) [`UserAgent`]s on a
//! virtual clock at fixed loopback addresses, messages moved by hand.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers; each test binary uses a subset"
)]

use std::net::SocketAddr;
use std::time::Instant;

use telox_sip_core::transaction::{Target, Transmit, Transport};
use telox_sip_core::ua::{LegId, UaConfig, UaEvent, UserAgent};
use telox_sip_core::{Request, Response, Uri};

#[cfg(feature = "tokio")]
pub(crate) mod net;

/// The caller's address.
pub(crate) const A: &str = "127.0.0.1:5061";
/// The callee's address.
pub(crate) const B: &str = "127.0.0.1:5062";

#[expect(
    clippy::disallowed_methods,
    reason = "virtual clock origin; only offsets matter"
)]
pub(crate) fn origin() -> Instant {
    Instant::now()
}

pub(crate) fn t(addr: &str) -> Target {
    Target {
        transport: Transport::Udp,
        addr: addr.parse::<SocketAddr>().unwrap(),
    }
}

pub(crate) fn uri(s: &str) -> Uri {
    s.parse().unwrap()
}

pub(crate) fn ua(addr: &str, user: &str, seed: u64) -> UserAgent {
    UserAgent::new(UaConfig::new(addr.parse().unwrap(), user, seed))
}

pub(crate) fn out(u: &mut UserAgent) -> Vec<Transmit> {
    std::iter::from_fn(|| u.poll_transmit()).collect()
}

pub(crate) fn events(u: &mut UserAgent) -> Vec<UaEvent> {
    std::iter::from_fn(|| u.poll_event()).collect()
}

pub(crate) fn deliver(now: Instant, to: &mut UserAgent, from: &str, msgs: Vec<Transmit>) {
    for m in msgs {
        to.handle_datagram(now, t(from), m.payload);
    }
}

pub(crate) fn first_lines(msgs: &[Transmit]) -> Vec<String> {
    msgs.iter()
        .map(|m| {
            String::from_utf8_lossy(&m.payload)
                .lines()
                .next()
                .unwrap_or("")
                .to_owned()
        })
        .collect()
}

pub(crate) fn responses(msgs: &[Transmit]) -> Vec<Response> {
    msgs.iter()
        .filter_map(|m| Response::parse(m.payload.clone()).ok())
        .collect()
}

pub(crate) fn requests(msgs: &[Transmit]) -> Vec<Request> {
    msgs.iter()
        .filter_map(|m| Request::parse(m.payload.clone()).ok())
        .collect()
}

/// A calls `sip:bob@127.0.0.1:5062` at B.
pub(crate) fn call(a: &mut UserAgent, now: Instant) -> LegId {
    a.invite(
        now,
        uri("sip:alice@127.0.0.1"),
        uri("sip:bob@127.0.0.1"),
        uri("sip:bob@127.0.0.1:5062"),
        t(B),
        None,
    )
    .unwrap()
}

pub(crate) fn incoming(events: &[UaEvent]) -> LegId {
    incoming_request(events).0
}

pub(crate) fn incoming_request(events: &[UaEvent]) -> (LegId, Request) {
    events
        .iter()
        .find_map(|e| match e {
            UaEvent::Incoming { leg, request } => Some((*leg, request.clone())),
            _ => None,
        })
        .expect("incoming call")
}

/// A calls B and B answers; returns (A leg, B leg) with the ACK delivered.
pub(crate) fn established(a: &mut UserAgent, b: &mut UserAgent, now: Instant) -> (LegId, LegId) {
    let al = call(a, now);
    deliver(now, b, A, out(a));
    let bl = incoming(&events(b));
    b.answer(now, bl, None).unwrap();
    deliver(now, a, B, out(b));
    assert!(
        events(a)
            .iter()
            .any(|e| matches!(e, UaEvent::Answered { .. }))
    );
    deliver(now, b, A, out(a));
    assert!(
        events(b)
            .iter()
            .any(|e| matches!(e, UaEvent::Confirmed { .. }))
    );
    (al, bl)
}
