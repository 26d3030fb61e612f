//! Via and Contact name the transport a message actually goes over (RFC 3261 §18.1.1: the
//! Via transport is the one the request is sent on; §8.1.1.8: the Contact must be
//! reachable over it), not the UA's configured default: a UDP-configured UA calling and
//! registering over TCP, TLS and WebSocket targets, the callee answering a call that came
//! over TCP, ACK, CANCEL, re-INVITE and BYE on both sides. Two user agents on a virtual
//! clock, delivery by hand.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers outside #[test] fns"
)]

use std::time::Instant;
use telox_sip_core::transaction::{Target, Transmit, Transport};
use telox_sip_core::ua::{LegId, UaEvent, UserAgent};
use telox_sip_core::{Method, Request, Response};
use ua_support::*;

mod ua_support;

fn over(transport: Transport, addr: &str) -> Target {
    Target {
        transport,
        addr: addr.parse().unwrap(),
    }
}

/// Hands `msgs` to `to` as received over `transport` from `from`; each went out over it.
fn deliver_over(
    now: Instant,
    to: &mut UserAgent,
    transport: Transport,
    from: &str,
    msgs: Vec<Transmit>,
) {
    for m in msgs {
        assert_eq!(m.transport, transport, "sent over the leg's transport");
        to.handle_datagram(now, over(transport, from), m.payload);
    }
}

/// (top Via, Contact or "") of each message, as written on the wire.
fn via_contact(msgs: &[Transmit]) -> Vec<(String, String)> {
    msgs.iter()
        .map(|m| {
            let text = String::from_utf8_lossy(&m.payload).into_owned();
            let value = |name: &str| {
                text.lines()
                    .find_map(|l| {
                        let (n, v) = l.split_once(':')?;
                        n.trim()
                            .eq_ignore_ascii_case(name)
                            .then(|| v.trim().to_owned())
                    })
                    .unwrap_or_default()
            };
            (value("Via"), value("Contact"))
        })
        .collect()
}

fn assert_via(msgs: &[Transmit], via_prefix: &str) {
    assert!(!msgs.is_empty());
    for (via, _) in via_contact(msgs) {
        assert!(
            via.starts_with(via_prefix),
            "{via} should start {via_prefix}"
        );
    }
}

fn invite_over(a: &mut UserAgent, now: Instant, target: Target, scheme: &str) -> LegId {
    a.invite(
        now,
        uri("sip:alice@127.0.0.1"),
        uri(&format!("{scheme}:bob@127.0.0.1")),
        uri(&format!("{scheme}:bob@127.0.0.1:5062")),
        target,
        None,
    )
    .unwrap()
}

#[test]
fn call_over_tcp_from_udp_configured_agents_names_tcp_everywhere() {
    let now = origin();
    let tcp = Transport::Tcp;
    let mut a = ua(A, "alice", 1);
    let mut b = ua(B, "bob", 2);
    let al = invite_over(&mut a, now, over(tcp, B), "sip");
    let invite = out(&mut a);
    assert_eq!(
        via_contact(&invite)
            .into_iter()
            .map(|(v, c)| (v[..28].to_owned(), c))
            .collect::<Vec<_>>(),
        vec![(
            "SIP/2.0/TCP 127.0.0.1:5061;b".to_owned(),
            "<sip:alice@127.0.0.1:5061;transport=tcp>".to_owned()
        )]
    );
    deliver_over(now, &mut b, tcp, A, invite);
    let bl = incoming(&events(&mut b));
    b.answer(now, bl, None).unwrap();
    let ok = out(&mut b);
    let (_, contact) = via_contact(&ok).remove(0);
    assert_eq!(contact, "<sip:bob@127.0.0.1:5062;transport=tcp>");
    deliver_over(now, &mut a, tcp, B, ok);
    assert!(
        events(&mut a)
            .iter()
            .any(|e| matches!(e, UaEvent::Answered { .. }))
    );
    let ack = out(&mut a);
    assert_eq!(
        first_lines(&ack),
        ["ACK sip:bob@127.0.0.1:5062;transport=tcp SIP/2.0"]
    );
    assert_via(&ack, "SIP/2.0/TCP 127.0.0.1:5061;");
    deliver_over(now, &mut b, tcp, A, ack);
    assert!(
        events(&mut b)
            .iter()
            .any(|e| matches!(e, UaEvent::Confirmed { .. }))
    );

    // A re-INVITE from the callee keeps both its Via and its Contact on TCP.
    b.request(now, bl, Method::Invite, None, &[]).unwrap();
    let reinvite = out(&mut b);
    assert_via(&reinvite, "SIP/2.0/TCP 127.0.0.1:5062;");
    assert_eq!(
        via_contact(&reinvite)[0].1,
        "<sip:bob@127.0.0.1:5062;transport=tcp>"
    );
    deliver_over(now, &mut a, tcp, B, reinvite);
    let key = events(&mut a)
        .into_iter()
        .find_map(|e| match e {
            UaEvent::Request { key, .. } => Some(key),
            _ => None,
        })
        .expect("re-INVITE for the app");
    a.respond(now, &key, 200, None).unwrap();
    let ok = out(&mut a);
    assert_eq!(
        via_contact(&ok)[0].1,
        "<sip:alice@127.0.0.1:5061;transport=tcp>"
    );
    deliver_over(now, &mut b, tcp, A, ok);
    let ack = out(&mut b);
    assert_eq!(first_lines(&ack)[0].split(' ').next(), Some("ACK"));
    assert_via(&ack, "SIP/2.0/TCP 127.0.0.1:5062;");
    deliver_over(now, &mut a, tcp, B, ack);

    a.bye(now, al).unwrap();
    let bye = out(&mut a);
    assert_eq!(requests(&bye)[0].method(), &Method::Bye);
    assert_via(&bye, "SIP/2.0/TCP 127.0.0.1:5061;");
    deliver_over(now, &mut b, tcp, A, bye);
    let ok = responses(&out(&mut b));
    assert_eq!(ok[0].status().as_u16(), 200);
}

#[test]
fn invite_over_tls_has_a_sips_contact_and_its_cancel_the_tls_via() {
    let now = origin();
    let mut a = ua(A, "alice", 3);
    let al = invite_over(&mut a, now, over(Transport::Tls, B), "sips");
    let invite = out(&mut a);
    assert_via(&invite, "SIP/2.0/TLS 127.0.0.1:5061;");
    assert_eq!(via_contact(&invite)[0].1, "<sips:alice@127.0.0.1:5061>");
    // CANCEL only after a provisional response (RFC 3261 §9.1).
    let inv = Request::parse(invite[0].payload.clone()).unwrap();
    let ringing = Response::builder(&inv, telox_sip_core::StatusCode(180))
        .to_tag("b1")
        .build();
    a.handle_datagram(now, over(Transport::Tls, B), ringing.to_bytes());
    a.cancel(now, al).unwrap();
    let cancel = out(&mut a);
    assert_eq!(requests(&cancel)[0].method(), &Method::Cancel);
    assert_eq!(via_contact(&cancel)[0].0, via_contact(&invite)[0].0);
    assert_eq!(cancel[0].transport, Transport::Tls);
}

#[test]
fn register_over_websocket_and_tcp_names_that_transport() {
    let now = origin();
    let mut a = ua(A, "alice", 4);
    for (target, via, contact) in [
        (
            over(Transport::Ws, B),
            "SIP/2.0/WS 127.0.0.1:5061;",
            "<sip:alice@127.0.0.1:5061;transport=ws>",
        ),
        (
            over(Transport::Tcp, B),
            "SIP/2.0/TCP 127.0.0.1:5061;",
            "<sip:alice@127.0.0.1:5061;transport=tcp>",
        ),
        (
            t(B),
            "SIP/2.0/UDP 127.0.0.1:5061;",
            "<sip:alice@127.0.0.1:5061>",
        ),
    ] {
        a.register(
            now,
            uri("sip:example.com"),
            uri("sip:alice@example.com"),
            target,
            600,
        )
        .unwrap();
        let reg = out(&mut a);
        assert_eq!(reg.len(), 1);
        assert_eq!(reg[0].transport, target.transport);
        assert_via(&reg, via);
        assert_eq!(via_contact(&reg)[0].1, contact);
    }
}

#[test]
fn a_transport_listening_on_its_own_port_is_named_with_that_port() {
    let now = origin();
    let mut a = ua(A, "alice", 5);
    a.set_listen_addr(Transport::Tls, "127.0.0.1:5071".parse().unwrap());
    invite_over(&mut a, now, over(Transport::Tls, B), "sips");
    let tls = out(&mut a);
    assert_via(&tls, "SIP/2.0/TLS 127.0.0.1:5071;");
    assert_eq!(via_contact(&tls)[0].1, "<sips:alice@127.0.0.1:5071>");
    // Other transports keep the configured address.
    invite_over(&mut a, now, over(Transport::Tcp, B), "sip");
    let tcp = out(&mut a);
    assert_via(&tcp, "SIP/2.0/TCP 127.0.0.1:5061;");
    assert_eq!(
        via_contact(&tcp)[0].1,
        "<sip:alice@127.0.0.1:5061;transport=tcp>"
    );
}
