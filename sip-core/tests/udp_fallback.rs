//! RFC 3261 §18.1.1: a request moved from UDP to TCP only because of its size goes back to
//! UDP when the TCP connection cannot be made ("results in a TCP reset ... SHOULD retry the
//! request, using UDP"): on the virtual clock with `Transactions` alone, and through the
//! tokio driver against a peer that listens on UDP only.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers outside #[test] fns"
)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use telox_sip_core::msg::{Request, Response};
use telox_sip_core::transaction::{
    State, Target, Termination, TransactionConfig, TransactionEvent, Transactions, Transmit,
    Transport,
};

#[expect(
    clippy::disallowed_methods,
    reason = "virtual clock origin; only offsets matter"
)]
fn origin() -> Instant {
    Instant::now()
}

const PEER: &str = "127.0.0.1:5062";

fn target(transport: Transport) -> Target {
    Target {
        transport,
        addr: PEER.parse().unwrap(),
    }
}

/// A request of about `size` bytes (a long Subject pads it) from `via` (`host:port`).
fn request(method: &str, branch: &str, via: &str, size: usize) -> Request {
    let head = format!(
        "{method} sip:bob@{PEER} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {via};branch={branch};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:alice@127.0.0.1>;tag=a1\r\n\
         To: <sip:bob@127.0.0.1>\r\n\
         Call-ID: {branch}@127.0.0.1\r\n\
         CSeq: 1 {method}\r\n\
         Contact: <sip:alice@{via}>\r\n"
    );
    let pad = "x".repeat(size.saturating_sub(head.len() + 40));
    let text = format!("{head}Subject: {pad}\r\nContent-Length: 0\r\n\r\n");
    Request::parse(Bytes::from(text)).unwrap()
}

fn transmits(t: &mut Transactions) -> Vec<Transmit> {
    std::iter::from_fn(|| t.poll_transmit()).collect()
}

fn events(t: &mut Transactions) -> Vec<TransactionEvent> {
    std::iter::from_fn(|| t.poll_event()).collect()
}

fn top_via(payload: &[u8]) -> String {
    String::from_utf8_lossy(payload)
        .lines()
        .find(|l| l.starts_with("Via:"))
        .unwrap()
        .to_owned()
}

fn terminated(events: &[TransactionEvent]) -> Option<Termination> {
    events.iter().find_map(|e| match e {
        TransactionEvent::Terminated { reason, .. } => Some(*reason),
        _ => None,
    })
}

#[test]
fn size_switched_request_retries_over_udp_after_a_refused_connection() {
    for method in ["OPTIONS", "INVITE"] {
        let t0 = origin();
        let mut txns = Transactions::new(TransactionConfig::default());
        let big = request(method, "z9hG4bK-big-1", "127.0.0.1:5061", 1500);
        let original = big.to_bytes();
        let key = txns.send_request(t0, big, target(Transport::Udp)).unwrap();
        let first = transmits(&mut txns);
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].transport, Transport::Tcp, "{method} over 1300 B");
        assert!(top_via(&first[0].payload).contains("SIP/2.0/TCP"));

        // The connect is refused 10 ms later: the same request goes out over UDP, with the
        // original Via, and nothing is reported to the TU.
        let t1 = t0 + Duration::from_millis(10);
        txns.handle_peer_error(t1, target(Transport::Tcp));
        let retry = transmits(&mut txns);
        assert_eq!(retry.len(), 1, "{method}");
        assert_eq!(retry[0].transport, Transport::Udp);
        assert_eq!(retry[0].destination, PEER.parse().unwrap());
        assert_eq!(retry[0].payload, original);
        assert!(top_via(&retry[0].payload).contains("SIP/2.0/UDP"));
        assert!(events(&mut txns).is_empty(), "{method}");
        let first_state = if method == "INVITE" {
            State::Calling
        } else {
            State::Trying
        };
        assert_eq!(txns.state(&key), Some(first_state));

        // Now on an unreliable transport: retransmitted at T1 after the retry (Timer A/E),
        // not before, and given up at 64*T1 (Timer B/F).
        txns.handle_timeout(t1 + Duration::from_millis(499));
        assert!(transmits(&mut txns).is_empty());
        txns.handle_timeout(t1 + Duration::from_millis(500));
        let again = transmits(&mut txns);
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].transport, Transport::Udp);
        assert_eq!(again[0].payload, original);

        // A second failure report for the TCP target no longer concerns it.
        txns.handle_peer_error(t1 + Duration::from_millis(600), target(Transport::Tcp));
        assert!(events(&mut txns).is_empty());
        assert_eq!(txns.state(&key), Some(first_state));

        let mut at = t1 + Duration::from_millis(600);
        while at < t1 + Duration::from_secs(32) {
            at += Duration::from_millis(250);
            txns.handle_timeout(at);
            let _ = transmits(&mut txns);
            if let Some(reason) = terminated(&events(&mut txns)) {
                assert_eq!(reason, Termination::Timeout, "{method}");
                break;
            }
        }
        assert!(txns.is_empty(), "{method} ends at Timer B/F");
        assert!(
            at >= t1 + Duration::from_millis(31_999),
            "{method} {:?}",
            at - t1
        );

        // The peer refused TCP: its next large request goes over UDP at once, for 5 minutes;
        // then TCP is tried again.
        for (after, transport) in [(60, Transport::Udp), (301, Transport::Tcp)] {
            let branch = format!("z9hG4bK-again-{after}");
            let big = request(method, &branch, "127.0.0.1:5061", 1500);
            let later = t1 + Duration::from_secs(after);
            txns.send_request(later, big, target(Transport::Udp))
                .unwrap();
            let sent = transmits(&mut txns);
            assert_eq!(sent[0].transport, transport, "{method} after {after} s");
        }
    }
}

#[test]
fn no_udp_retry_for_small_tcp_requests_or_after_a_response() {
    let t0 = origin();
    let mut txns = Transactions::new(TransactionConfig::default());

    // Sent over TCP because the caller asked for TCP: a refused connection ends it.
    let small = request("OPTIONS", "z9hG4bK-tcp-1", "127.0.0.1:5061", 400);
    txns.send_request(t0, small, target(Transport::Tcp))
        .unwrap();
    assert_eq!(transmits(&mut txns)[0].transport, Transport::Tcp);
    txns.handle_peer_error(t0, target(Transport::Tcp));
    assert!(transmits(&mut txns).is_empty());
    assert_eq!(
        terminated(&events(&mut txns)),
        Some(Termination::TransportError)
    );

    // Size-switched, but the peer answered over TCP before the connection failed: the
    // request got through, so it is not sent again.
    let big = request("INVITE", "z9hG4bK-big-2", "127.0.0.1:5061", 1500);
    let key = txns.send_request(t0, big, target(Transport::Udp)).unwrap();
    let sent = transmits(&mut txns);
    assert_eq!(sent[0].transport, Transport::Tcp);
    let sent = Request::parse(sent[0].payload.clone()).unwrap();
    let trying = Response::parse(Bytes::from(trying_to(&sent))).unwrap();
    txns.handle_message(
        t0 + Duration::from_millis(5),
        target(Transport::Tcp),
        trying.into(),
    );
    let _ = events(&mut txns);
    assert_eq!(txns.state(&key), Some(State::Proceeding));
    txns.handle_peer_error(t0 + Duration::from_millis(10), target(Transport::Tcp));
    assert!(transmits(&mut txns).is_empty());
    assert_eq!(
        terminated(&events(&mut txns)),
        Some(Termination::TransportError)
    );

    // Without a size limit nothing is switched, and a UDP request stays on UDP.
    let mut plain = Transactions::new(TransactionConfig {
        udp_size_limit: None,
        ..TransactionConfig::default()
    });
    let big = request("OPTIONS", "z9hG4bK-big-3", "127.0.0.1:5061", 1500);
    plain.send_request(t0, big, target(Transport::Udp)).unwrap();
    assert_eq!(transmits(&mut plain)[0].transport, Transport::Udp);
}

/// A 100 Trying to `req`, its headers copied (RFC 3261 §8.2.6).
fn trying_to(req: &Request) -> String {
    let mut text = String::from("SIP/2.0 100 Trying\r\n");
    for h in req.headers().iter() {
        if ["via", "from", "to", "call-id", "cseq"].contains(&h.name.to_ascii_lowercase().as_str())
        {
            text.push_str(&format!(
                "{}: {}\r\n",
                h.name,
                String::from_utf8_lossy(h.value)
            ));
        }
    }
    text.push_str("Content-Length: 0\r\n\r\n");
    text
}

/// Through the tokio driver: the peer has a UDP socket and no TCP listener on its port, so
/// the TCP connect is refused; the request arrives over UDP and the answer completes it.
#[cfg(feature = "tokio")]
#[tokio::test]
async fn driver_reports_the_refused_connect_and_the_request_arrives_over_udp() {
    use telox_sip_core::tokio::{Driver, DriverConfig};
    use tokio::net::UdpSocket;

    let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let peer_addr = peer.local_addr().unwrap();
    let mut driver = Driver::bind(DriverConfig::new("127.0.0.1:0".parse().unwrap()))
        .await
        .unwrap();
    let me = driver.local_addr().to_string();
    let mut txns = Transactions::new(TransactionConfig::default());
    let mut big = request("OPTIONS", "z9hG4bK-drv-1", &me, 1500);
    // Address the peer's real port.
    big = Request::parse(Bytes::from(
        String::from_utf8_lossy(&big.to_bytes()).replacen(PEER, &peer_addr.to_string(), 1),
    ))
    .unwrap();
    let key = txns
        .send_request(
            now(),
            big,
            Target {
                transport: Transport::Udp,
                addr: peer_addr,
            },
        )
        .unwrap();

    let mut buf = vec![0u8; 4096];
    let (n, from) = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            tokio::select! {
                r = peer.recv_from(&mut buf) => break r.unwrap(),
                r = driver.step(&mut txns) => r.unwrap(),
            }
        }
    })
    .await
    .expect("the request reaches the UDP-only peer");
    assert_eq!(from, driver.local_addr());
    let got = Request::parse(Bytes::copy_from_slice(&buf[..n])).unwrap();
    assert!(n > 1300, "{n} bytes");
    assert!(top_via(&got.to_bytes()).contains("SIP/2.0/UDP"));
    assert_eq!(txns.state(&key), Some(State::Trying));

    let ok = trying_to(&got).replacen("100 Trying", "200 OK", 1);
    peer.send_to(ok.as_bytes(), from).await.unwrap();
    let status = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            driver.step(&mut txns).await.unwrap();
            while let Some(e) = txns.poll_event() {
                if let TransactionEvent::Response { key: k, response } = e
                    && k == key
                {
                    return response.status().as_u16();
                }
            }
        }
    })
    .await
    .expect("the 200 completes the transaction");
    assert_eq!(status, 200);
}

#[cfg(feature = "tokio")]
#[expect(
    clippy::disallowed_methods,
    reason = "the driver runs on the real clock"
)]
fn now() -> Instant {
    Instant::now()
}
