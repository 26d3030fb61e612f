//! The `Transactions` endpoint: matching (RFC 3261 §17.1.3, §17.2.3), CANCEL (§9.2), merged
//! requests (§8.2.2.2), the ACK of non-2xx, 100 Trying, response routing (§18.2.2, RFC 3581)
//! and the late provisional after a 2xx (peers README finding 1), on a virtual clock.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers outside #[test] fns"
)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use telox_sip_core::header::Via;
use telox_sip_core::msg::{Message, Request, Response};
use telox_sip_core::transaction::{
    State, Target, Termination, TransactionConfig, TransactionEvent, TransactionKey, Transactions,
    Transmit, Transport,
};

#[expect(
    clippy::disallowed_methods,
    reason = "virtual clock origin; only offsets matter"
)]
fn origin() -> Instant {
    Instant::now()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

const A: &str = "127.0.0.1:5061";
const B: &str = "127.0.0.1:5062";

fn target(addr: &str, transport: Transport) -> Target {
    Target {
        transport,
        addr: addr.parse().unwrap(),
    }
}

fn request(method: &str, branch: &str, cseq: u32, extra: &str) -> Request {
    let text = format!(
        "{method} sip:bob@127.0.0.1:5062 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:5061;branch={branch}{extra}\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:alice@127.0.0.1>;tag=a1\r\n\
         To: <sip:bob@127.0.0.1>\r\n\
         Call-ID: call-1@127.0.0.1\r\n\
         CSeq: {cseq} {method}\r\n\
         Content-Length: 0\r\n\r\n"
    );
    Request::parse(Bytes::from(text)).unwrap()
}

fn response_to(req: &Request, status: u16, to_tag: Option<&str>) -> Response {
    let mut text = format!("SIP/2.0 {status} Whatever\r\n");
    for h in req.headers().iter() {
        let v = String::from_utf8_lossy(h.value);
        match h.name.to_ascii_lowercase().as_str() {
            "via" | "from" | "call-id" | "cseq" => text.push_str(&format!("{}: {v}\r\n", h.name)),
            "to" => match to_tag {
                Some(t) => text.push_str(&format!("To: {v};tag={t}\r\n")),
                None => text.push_str(&format!("To: {v}\r\n")),
            },
            _ => {}
        }
    }
    text.push_str("Content-Length: 0\r\n\r\n");
    Response::parse(Bytes::from(text)).unwrap()
}

fn drain(t: &mut Transactions) -> (Vec<Transmit>, Vec<TransactionEvent>) {
    let mut tx = Vec::new();
    let mut ev = Vec::new();
    while let Some(x) = t.poll_transmit() {
        tx.push(x);
    }
    while let Some(e) = t.poll_event() {
        ev.push(e);
    }
    (tx, ev)
}

/// Delivers every transmit of `from` to `to` as a parsed message.
fn deliver(now: Instant, tx: &[Transmit], to: &mut Transactions, src: &str, transport: Transport) {
    for t in tx {
        let m = Message::parse(t.payload.clone()).unwrap();
        to.handle_message(now, target(src, transport), m);
    }
}

fn first_line(t: &Transmit) -> String {
    String::from_utf8_lossy(&t.payload)
        .lines()
        .next()
        .unwrap_or("")
        .to_owned()
}

fn server_key(ev: &[TransactionEvent]) -> TransactionKey {
    ev.iter()
        .find_map(|e| match e {
            TransactionEvent::Request { key, .. } => Some(key.clone()),
            _ => None,
        })
        .expect("a request event")
}

#[test]
fn non_invite_round_trip_and_wait_timers() {
    let t0 = origin();
    let mut a = Transactions::new(TransactionConfig::default());
    let mut b = Transactions::new(TransactionConfig::default());
    let opts = request("OPTIONS", "z9hG4bK-o1", 1, "");
    let ck = a.send_request(t0, opts, target(B, Transport::Udp)).unwrap();
    let (tx, _) = drain(&mut a);
    assert_eq!(tx.len(), 1);
    assert_eq!(tx[0].destination, B.parse::<SocketAddr>().unwrap());
    deliver(t0, &tx, &mut b, A, Transport::Udp);
    let (_, ev) = drain(&mut b);
    let sk = server_key(&ev);
    assert!(sk.is_server() && !ck.is_server());
    let TransactionEvent::Request { request, .. } = &ev[0] else {
        panic!()
    };
    b.send_response(t0 + ms(1), &sk, response_to(request, 200, Some("b1")))
        .unwrap();
    let (tx, _) = drain(&mut b);
    assert_eq!(tx[0].destination, A.parse::<SocketAddr>().unwrap());
    deliver(t0 + ms(2), &tx, &mut a, B, Transport::Udp);
    let (_, ev) = drain(&mut a);
    assert!(
        matches!(&ev[..], [TransactionEvent::Response { key, response }]
        if *key == ck && response.status().as_u16() == 200)
    );
    assert_eq!(a.state(&ck), Some(State::Completed));
    // Timer K = T4 for the client, J = 64*T1 for the server.
    assert_eq!(a.poll_timeout(), Some(t0 + ms(5_002)));
    a.handle_timeout(t0 + ms(5_002));
    let (_, ev) = drain(&mut a);
    assert!(matches!(
        &ev[..],
        [TransactionEvent::Terminated {
            reason: Termination::Normal,
            ..
        }]
    ));
    assert!(a.is_empty());
    assert_eq!(b.poll_timeout(), Some(t0 + ms(32_001)));
    b.handle_timeout(t0 + ms(32_001));
    assert!(b.is_empty());
}

#[test]
fn client_retransmits_at_exact_instants_when_the_link_drops_everything() {
    let t0 = origin();
    let mut a = Transactions::new(TransactionConfig::default());
    a.send_request(
        t0,
        request("INVITE", "z9hG4bK-i1", 1, ""),
        target(B, Transport::Udp),
    )
    .unwrap();
    let mut sent = Vec::new();
    let mut now = t0;
    let mut terminated = None;
    loop {
        while let Some(t) = a.poll_transmit() {
            sent.push((now - t0).as_millis());
            assert!(first_line(&t).starts_with("INVITE"));
        }
        while let Some(e) = a.poll_event() {
            if let TransactionEvent::Terminated { reason, .. } = e {
                terminated = Some(((now - t0).as_millis(), reason));
            }
        }
        let Some(next) = a.poll_timeout() else { break };
        now = next;
        a.handle_timeout(now);
    }
    assert_eq!(sent, vec![0, 500, 1500, 3500, 7500, 15_500, 31_500]);
    assert_eq!(terminated, Some((32_000, Termination::Timeout)));
}

#[test]
fn no_retransmission_over_tcp() {
    let t0 = origin();
    let mut a = Transactions::new(TransactionConfig::default());
    a.send_request(
        t0,
        request("BYE", "z9hG4bK-t1", 2, ""),
        target(B, Transport::Tcp),
    )
    .unwrap();
    assert_eq!(drain(&mut a).0.len(), 1);
    assert_eq!(a.poll_timeout(), Some(t0 + ms(32_000)), "only timer F");
    a.handle_timeout(t0 + ms(32_000));
    let (tx, ev) = drain(&mut a);
    assert!(tx.is_empty());
    assert!(matches!(
        &ev[..],
        [TransactionEvent::Terminated {
            reason: Termination::Timeout,
            ..
        }]
    ));
}

#[test]
fn late_180_after_200_is_discarded_and_2xx_retransmits_pass() {
    let t0 = origin();
    let mut a = Transactions::new(TransactionConfig::default());
    let inv = request("INVITE", "z9hG4bK-i2", 1, "");
    let ck = a
        .send_request(t0, inv.clone(), target(B, Transport::Udp))
        .unwrap();
    drain(&mut a);
    let from_b = target(B, Transport::Udp);
    a.handle_message(
        t0 + ms(10),
        from_b,
        response_to(&inv, 200, Some("b")).into(),
    );
    a.handle_message(
        t0 + ms(11),
        from_b,
        response_to(&inv, 180, Some("b")).into(),
    );
    a.handle_message(
        t0 + ms(500),
        from_b,
        response_to(&inv, 200, Some("b")).into(),
    );
    let (tx, ev) = drain(&mut a);
    assert!(tx.is_empty(), "the transaction never ACKs a 2xx");
    let statuses: Vec<u16> = ev
        .iter()
        .filter_map(|e| match e {
            TransactionEvent::Response { response, .. } => Some(response.status().as_u16()),
            _ => None,
        })
        .collect();
    assert_eq!(statuses, vec![200, 200]);
    assert_eq!(a.state(&ck), Some(State::Accepted));
}

#[test]
fn non_2xx_gets_ack_from_the_transaction_and_server_absorbs_it() {
    let t0 = origin();
    let mut a = Transactions::new(TransactionConfig::default());
    let mut b = Transactions::new(TransactionConfig::default());
    let inv = request("INVITE", "z9hG4bK-i3", 7, "");
    let ck = a.send_request(t0, inv, target(B, Transport::Udp)).unwrap();
    let (tx, _) = drain(&mut a);
    deliver(t0, &tx, &mut b, A, Transport::Udp);
    let (_, ev) = drain(&mut b);
    let sk = server_key(&ev);
    let TransactionEvent::Request { request: rq, .. } = &ev[0] else {
        panic!()
    };
    b.send_response(t0 + ms(5), &sk, response_to(rq, 486, Some("busy")))
        .unwrap();
    let (final_486, _) = drain(&mut b);
    deliver(t0 + ms(6), &final_486, &mut a, B, Transport::Udp);
    let (ack, ev) = drain(&mut a);
    assert_eq!(ev.len(), 1);
    assert_eq!(ack.len(), 1);
    let ack_req = Request::parse(ack[0].payload.clone()).unwrap();
    assert_eq!(first_line(&ack[0]), "ACK sip:bob@127.0.0.1:5062 SIP/2.0");
    let to = ack_req.headers().named_str("To").next().unwrap();
    assert!(to.value_str().unwrap().contains("tag=busy"));
    let cseq = ack_req.headers().named_str("CSeq").next().unwrap();
    assert_eq!(cseq.value_str(), Some("7 ACK"));
    assert_eq!(
        ack_req.header::<Via>().unwrap().unwrap().branch(),
        Some("z9hG4bK-i3")
    );
    assert_eq!(a.state(&ck), Some(State::Completed));
    // The server absorbs the ACK (no event) and goes to Confirmed.
    deliver(t0 + ms(7), &ack, &mut b, A, Transport::Udp);
    let (tx, ev) = drain(&mut b);
    assert!(tx.is_empty() && ev.is_empty());
    assert_eq!(b.state(&sk), Some(State::Confirmed));
    // A retransmitted 486 makes the client resend the ACK, without a new event.
    deliver(t0 + ms(600), &final_486, &mut a, B, Transport::Udp);
    let (again, ev) = drain(&mut a);
    assert!(ev.is_empty());
    assert_eq!(again[0].payload, ack[0].payload);
}

/// A transaction that only waits for its end timer keeps nothing it will not send again:
/// the request a client sent (and the INVITE the ACK of a non-2xx was built from), the
/// INVITE an INVITE server received, and the response an INVITE server no longer resends
/// (Confirmed, Accepted) are released, so the test's own copy of those bytes is the last
/// one. A non-INVITE server in Completed and an INVITE server in Completed keep their
/// response: a retransmitted request gets it again (RFC 3261 §17.2.1, §17.2.2).
#[test]
fn waiting_transactions_hold_only_what_they_resend() {
    let t0 = origin();
    for (method, status, client_state, server_state) in [
        ("OPTIONS", 200, State::Completed, State::Completed),
        ("OPTIONS", 404, State::Completed, State::Completed),
        ("INVITE", 486, State::Completed, State::Completed),
        ("INVITE", 200, State::Accepted, State::Accepted),
    ] {
        let case = format!("{method} {status}");
        let mut a = Transactions::new(TransactionConfig::default());
        let mut b = Transactions::new(TransactionConfig::default());
        let req = request(method, "z9hG4bK-w1", 1, "");
        let sent = req.to_bytes();
        let ck = a.send_request(t0, req, target(B, Transport::Udp)).unwrap();
        let (tx, _) = drain(&mut a);
        deliver(t0, &tx, &mut b, A, Transport::Udp);
        drop(tx);
        let (_, mut ev) = drain(&mut b);
        let sk = server_key(&ev);
        let Some(TransactionEvent::Request { request: rq, .. }) = ev.pop() else {
            panic!("{case}")
        };
        let resp = response_to(&rq, status, Some("w"));
        drop(rq);
        let answer = resp.to_bytes();
        b.send_response(t0 + ms(5), &sk, resp).unwrap();
        let (tx, _) = drain(&mut b);
        deliver(t0 + ms(6), &tx, &mut a, B, Transport::Udp);
        drop(tx);
        let (acks, ev) = drain(&mut a);
        drop(ev);
        assert_eq!(a.state(&ck), Some(client_state), "{case}");
        assert_eq!(b.state(&sk), Some(server_state), "{case}");
        assert!(sent.is_unique(), "{case}: the request is still held");
        assert_eq!(a.invite(&ck), None, "{case}");
        assert_eq!(b.invite(&sk), None, "{case}");
        if server_state == State::Completed {
            assert!(
                !answer.is_unique(),
                "{case}: the response to resend is gone"
            );
        } else {
            assert!(answer.is_unique(), "{case}: the 2xx is still held");
        }
        if status == 486 {
            // The ACK moves the server to Confirmed, which resends nothing.
            deliver(t0 + ms(7), &acks, &mut b, A, Transport::Udp);
            assert_eq!(b.state(&sk), Some(State::Confirmed), "{case}");
            assert!(answer.is_unique(), "{case}: the 486 is still held");
        }
    }
}

#[test]
fn invite_server_sends_100_trying_after_200ms_and_repeats_it() {
    let t0 = origin();
    let mut b = Transactions::new(TransactionConfig::default());
    let inv = request("INVITE", "z9hG4bK-i4", 1, "");
    b.handle_message(t0, target(A, Transport::Udp), inv.clone().into());
    let (tx, ev) = drain(&mut b);
    assert!(tx.is_empty());
    assert_eq!(ev.len(), 1);
    assert_eq!(b.poll_timeout(), Some(t0 + ms(200)));
    b.handle_timeout(t0 + ms(199));
    assert!(drain(&mut b).0.is_empty());
    b.handle_timeout(t0 + ms(200));
    let (tx, _) = drain(&mut b);
    assert_eq!(tx.len(), 1);
    assert_eq!(first_line(&tx[0]), "SIP/2.0 100 Trying");
    let trying = Response::parse(tx[0].payload.clone()).unwrap();
    let to = trying.headers().named_str("To").next().unwrap();
    assert!(
        !to.value_str().unwrap().contains("tag="),
        "no To tag on 100"
    );
    // The INVITE retransmission gets the 100 again and no new event.
    b.handle_message(t0 + ms(500), target(A, Transport::Udp), inv.into());
    let (tx, ev) = drain(&mut b);
    assert_eq!(tx.len(), 1);
    assert!(ev.is_empty());
}

#[test]
fn cancel_matches_its_invite() {
    let t0 = origin();
    let mut b = Transactions::new(TransactionConfig::default());
    let inv = request("INVITE", "z9hG4bK-i5", 1, "");
    b.handle_message(t0, target(A, Transport::Udp), inv.into());
    let (_, ev) = drain(&mut b);
    let ik = server_key(&ev);
    let cancel = request("CANCEL", "z9hG4bK-i5", 1, "");
    b.handle_message(t0 + ms(50), target(A, Transport::Udp), cancel.into());
    let (_, ev) = drain(&mut b);
    let [
        TransactionEvent::Cancel {
            key,
            invite,
            request: cancel_req,
            ..
        },
    ] = &ev[..]
    else {
        panic!("{ev:?}")
    };
    assert_eq!(invite.as_ref(), Some(&ik));
    assert_ne!(key, &ik);
    // The TU answers the CANCEL with 200 and the INVITE with 487.
    b.send_response(t0 + ms(51), key, response_to(cancel_req, 200, Some("x")))
        .unwrap();
    let invite_req = b.invite(&ik).unwrap();
    b.send_response(t0 + ms(51), &ik, response_to(&invite_req, 487, Some("x")))
        .unwrap();
    assert_eq!(b.state(&ik), Some(State::Completed));
    // A CANCEL with an unknown branch matches nothing.
    b.handle_message(
        t0,
        target(A, Transport::Udp),
        request("CANCEL", "z9hG4bK-zz", 1, "").into(),
    );
    let (_, ev) = drain(&mut b);
    assert!(matches!(
        &ev[..],
        [TransactionEvent::Cancel { invite: None, .. }]
    ));
}

#[test]
fn merged_request_gets_482() {
    let t0 = origin();
    let mut b = Transactions::new(TransactionConfig::default());
    b.handle_message(
        t0,
        target(A, Transport::Udp),
        request("INVITE", "z9hG4bK-m1", 1, "").into(),
    );
    drain(&mut b);
    // Same From tag, Call-ID and CSeq through another path (another branch).
    b.handle_message(
        t0,
        target(A, Transport::Udp),
        request("INVITE", "z9hG4bK-m2", 1, "").into(),
    );
    let (tx, ev) = drain(&mut b);
    assert!(ev.is_empty());
    assert_eq!(first_line(&tx[0]), "SIP/2.0 482 Loop Detected");
    assert_eq!(b.len(), 1);
}

#[test]
fn rport_and_received_are_stamped_and_used_for_routing() {
    let t0 = origin();
    let mut b = Transactions::new(TransactionConfig::default());
    let rq = Request::parse(Bytes::from_static(
        b"OPTIONS sip:bob@127.0.0.1 SIP/2.0\r\n\
          Via: SIP/2.0/UDP client.example.com:5070;branch=z9hG4bK-r1;rport\r\n\
          From: <sip:alice@example.com>;tag=1\r\nTo: <sip:bob@example.com>\r\n\
          Call-ID: r1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
    ))
    .unwrap();
    b.handle_message(t0, target("192.0.2.9:40000", Transport::Udp), rq.into());
    let (_, ev) = drain(&mut b);
    let TransactionEvent::Request { key, request, .. } = &ev[0] else {
        panic!()
    };
    let via = request.header::<Via>().unwrap().unwrap();
    assert_eq!(via.received(), Some("192.0.2.9"));
    assert_eq!(via.rport(), Some(Some(40000)));
    b.send_response(t0, key, response_to(request, 200, Some("t")))
        .unwrap();
    let (tx, _) = drain(&mut b);
    assert_eq!(
        tx[0].destination,
        "192.0.2.9:40000".parse::<SocketAddr>().unwrap()
    );
    // Without rport: the source IP with the sent-by port.
    let rq = Request::parse(Bytes::from_static(
        b"OPTIONS sip:bob@127.0.0.1 SIP/2.0\r\n\
          Via: SIP/2.0/UDP client.example.com:5070;branch=z9hG4bK-r2\r\n\
          From: <sip:alice@example.com>;tag=1\r\nTo: <sip:bob@example.com>\r\n\
          Call-ID: r2\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
    ))
    .unwrap();
    b.handle_message(t0, target("192.0.2.9:40000", Transport::Udp), rq.into());
    let (_, ev) = drain(&mut b);
    let TransactionEvent::Request { key, request, .. } = &ev[0] else {
        panic!()
    };
    assert_eq!(
        request.header::<Via>().unwrap().unwrap().received(),
        Some("192.0.2.9")
    );
    b.send_response(t0, key, response_to(request, 200, Some("t")))
        .unwrap();
    let (tx, _) = drain(&mut b);
    assert_eq!(
        tx[0].destination,
        "192.0.2.9:5070".parse::<SocketAddr>().unwrap()
    );
}

/// A `received` the sender wrote into its own top Via (with its sent-by equal to the source,
/// where §18.2.1 adds nothing) is replaced by the source address: a PBX or gateway that reads
/// the request's source from the Via (its allow list, its failed-login blocker) must not be
/// told another address. Twice from the same source: the second request goes through the
/// endpoint's cache of sources whose sent-by needed no stamp.
#[test]
fn a_received_written_by_the_sender_is_replaced_by_the_source() {
    let t0 = origin();
    let mut b = Transactions::new(TransactionConfig::default());
    for (branch, via) in [
        ("z9hG4bK-f0", "192.0.2.9:5060;branch=z9hG4bK-f0"),
        (
            "z9hG4bK-f1",
            "192.0.2.9:5060;branch=z9hG4bK-f1;received=10.0.0.5",
        ),
        (
            "z9hG4bK-f2",
            "192.0.2.9:5060;received=10.0.0.5;branch=z9hG4bK-f2",
        ),
        (
            "z9hG4bK-f3",
            "192.0.2.9;received=10.0.0.5;branch=z9hG4bK-f3",
        ),
    ] {
        let rq = Request::parse(Bytes::from(format!(
            "OPTIONS sip:bob@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP {via}\r\n\
             From: <sip:alice@example.com>;tag=1\r\nTo: <sip:bob@example.com>\r\n\
             Call-ID: {branch}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        )))
        .unwrap();
        b.handle_message(t0, target("192.0.2.9:5060", Transport::Udp), rq.into());
        let (_, ev) = drain(&mut b);
        let TransactionEvent::Request { request, .. } = &ev[0] else {
            panic!("{via}: {ev:?}")
        };
        let received = request
            .header::<Via>()
            .unwrap()
            .unwrap()
            .received()
            .map(str::to_owned);
        let expected = if branch == "z9hG4bK-f0" {
            None
        } else {
            Some("192.0.2.9".to_owned())
        };
        assert_eq!(received, expected, "{via}");
    }
}

#[test]
fn retransmitted_request_gets_last_response_and_second_final_is_refused() {
    let t0 = origin();
    let mut b = Transactions::new(TransactionConfig::default());
    let rq = request("REGISTER", "z9hG4bK-g1", 3, "");
    b.handle_message(t0, target(A, Transport::Udp), rq.clone().into());
    let (_, ev) = drain(&mut b);
    let key = server_key(&ev);
    b.send_response(t0, &key, response_to(&rq, 401, Some("t")))
        .unwrap();
    drain(&mut b);
    b.handle_message(t0 + ms(500), target(A, Transport::Udp), rq.clone().into());
    let (tx, ev) = drain(&mut b);
    assert!(ev.is_empty());
    assert!(first_line(&tx[0]).starts_with("SIP/2.0 401"));
    assert!(
        b.send_response(t0, &key, response_to(&rq, 200, Some("t")))
            .is_err()
    );
}

#[test]
fn stray_responses_go_to_the_core() {
    let t0 = origin();
    let mut a = Transactions::new(TransactionConfig::default());
    let rq = request("INVITE", "z9hG4bK-unknown", 1, "");
    a.handle_message(
        t0,
        target(B, Transport::Udp),
        response_to(&rq, 200, Some("x")).into(),
    );
    let (_, ev) = drain(&mut a);
    assert!(matches!(&ev[..], [TransactionEvent::StrayResponse { .. }]));
}

#[test]
fn overload_answers_503_and_send_request_fails() {
    let t0 = origin();
    let mut b = Transactions::new(TransactionConfig {
        max_transactions: 1,
        ..Default::default()
    });
    b.handle_message(
        t0,
        target(A, Transport::Udp),
        request("OPTIONS", "z9hG4bK-1", 1, "").into(),
    );
    drain(&mut b);
    let mut rq = request("OPTIONS", "z9hG4bK-2", 2, "");
    b.handle_message(t0, target(A, Transport::Udp), rq.clone().into());
    let (tx, ev) = drain(&mut b);
    assert!(ev.is_empty());
    assert_eq!(first_line(&tx[0]), "SIP/2.0 503 Service Unavailable");
    rq = request("OPTIONS", "z9hG4bK-3", 3, "");
    assert!(b.send_request(t0, rq, target(A, Transport::Udp)).is_err());
}

#[test]
fn requests_without_magic_cookie_match_by_rfc2543_rules() {
    let t0 = origin();
    let mut b = Transactions::new(TransactionConfig::default());
    let rq = request("INVITE", "old-style-1", 1, "");
    b.handle_message(t0, target(A, Transport::Udp), rq.clone().into());
    let (_, ev) = drain(&mut b);
    let key = server_key(&ev);
    assert!(key.branch().starts_with("2543:"));
    b.send_response(t0, &key, response_to(&rq, 404, Some("n")))
        .unwrap();
    drain(&mut b);
    // The ACK (same Request-URI, From tag, Call-ID, CSeq number, Via) matches the INVITE.
    b.handle_message(
        t0 + ms(5),
        target(A, Transport::Udp),
        request("ACK", "old-style-1", 1, "").into(),
    );
    let (_, ev) = drain(&mut b);
    assert!(ev.is_empty());
    assert_eq!(b.state(&key), Some(State::Confirmed));
}

#[test]
fn transport_error_is_reported() {
    let t0 = origin();
    let mut a = Transactions::new(TransactionConfig::default());
    let key = a
        .send_request(
            t0,
            request("OPTIONS", "z9hG4bK-e", 1, ""),
            target(B, Transport::Tcp),
        )
        .unwrap();
    drain(&mut a);
    a.handle_transport_error(t0, &key);
    let (_, ev) = drain(&mut a);
    assert!(matches!(
        &ev[..],
        [TransactionEvent::Terminated {
            reason: Termination::TransportError,
            ..
        }]
    ));
    assert!(a.is_empty());
}

#[test]
fn large_udp_request_goes_over_tcp_with_via_changed() {
    let t0 = origin();
    let mut a = Transactions::new(TransactionConfig::default());
    let pad = format!("\r\nX-Pad: {}", "a".repeat(1400));
    let key = a
        .send_request(
            t0,
            request("MESSAGE", "z9hG4bK-big", 1, &pad),
            target(B, Transport::Udp),
        )
        .unwrap();
    let (tx, _) = drain(&mut a);
    assert_eq!(tx[0].transport, Transport::Tcp);
    let sent = Request::parse(tx[0].payload.clone()).unwrap();
    let via = sent.header::<Via>().unwrap().unwrap();
    assert_eq!(
        (via.transport(), via.branch()),
        ("TCP", Some("z9hG4bK-big"))
    );
    // Reliable now: no Timer E, only F.
    assert_eq!(a.poll_timeout(), Some(t0 + ms(32_000)));
    assert!(a.state(&key).is_some());
    // A small request stays on UDP; with the switch disabled a large one does too.
    let mut b = Transactions::new(TransactionConfig {
        udp_size_limit: None,
        ..Default::default()
    });
    b.send_request(
        t0,
        request("MESSAGE", "z9hG4bK-big2", 1, &pad),
        target(A, Transport::Udp),
    )
    .unwrap();
    assert_eq!(drain(&mut b).0[0].transport, Transport::Udp);
}

/// Server keys compare the sent-by host case-insensitively and the branch exactly (RFC 3261
/// §17.2.3), for branches short enough to be stored inline in the key and for long ones.
#[test]
fn server_matching_host_case_and_long_branches() {
    let t0 = origin();
    let long = format!("z9hG4bK{}", "x".repeat(120));
    for branch in ["z9hG4bK-short", long.as_str()] {
        let mut b = Transactions::new(TransactionConfig::default());
        let text = |host: &str, branch: &str| {
            format!(
                "OPTIONS sip:bob@127.0.0.1:5062 SIP/2.0\r\n\
                 Via: SIP/2.0/UDP {host}:5061;branch={branch}\r\n\
                 From: <sip:alice@127.0.0.1>;tag=a1\r\n\
                 To: <sip:bob@127.0.0.1>\r\n\
                 Call-ID: case@127.0.0.1\r\n\
                 CSeq: 1 OPTIONS\r\n\
                 Content-Length: 0\r\n\r\n"
            )
        };
        let from = target(A, Transport::Udp);
        assert!(b.handle_datagram(t0, from, Bytes::from(text("Alice.Example.COM", branch))));
        let (_, ev) = drain(&mut b);
        let key = server_key(&ev);
        assert_eq!(key.branch(), branch);
        assert_eq!(b.len(), 1);
        // The retransmission with the host in another case matches the same transaction:
        // no new event, no new transaction.
        assert!(b.handle_datagram(t0, from, Bytes::from(text("alice.example.com", branch))));
        let (_, ev) = drain(&mut b);
        assert!(ev.is_empty(), "{ev:?}");
        assert_eq!(b.len(), 1);
        // A branch differing in case is another transaction (branches compare exactly);
        // it carries the same From tag, Call-ID and CSeq, so it is a merged request (482).
        let upper = branch.replace('x', "X").replace("short", "SHORT");
        assert!(b.handle_datagram(t0, from, Bytes::from(text("alice.example.com", &upper))));
        let (tx, ev) = drain(&mut b);
        assert!(ev.is_empty(), "{ev:?}");
        assert_eq!(first_line(&tx[0]), "SIP/2.0 482 Loop Detected");
        assert_eq!(b.state(&key), Some(State::Trying));
    }
}

/// The status of a `Response` event, the reason of a `Terminated` one, in order.
fn outline(ev: &[TransactionEvent]) -> Vec<String> {
    ev.iter()
        .map(|e| match e {
            TransactionEvent::Response { response, .. } => response.status().as_u16().to_string(),
            TransactionEvent::Terminated { reason, .. } => format!("{reason:?}"),
            other => format!("{other:?}"),
        })
        .collect()
}

/// On a reliable transport timers D, I, J and K are zero (RFC 3261 §17.1.1.2, §17.2.1,
/// §17.2.2, §17.1.2.2): the transaction ends in the call that starts the timer, after the
/// response event and the ACK it sends. Timers L and M are 64*T1 on every transport (RFC 6026
/// §8.4, §8.7): after a 2xx both ends stay Accepted until then.
#[test]
fn zero_wait_timers_on_tcp_end_at_once_but_accepted_waits_64_t1() {
    let t0 = origin();
    let tcp = Transport::Tcp;
    let mut a = Transactions::new(TransactionConfig::default());
    let mut b = Transactions::new(TransactionConfig::default());
    let exchange =
        |a: &mut Transactions, b: &mut Transactions, method: &str, branch: &str, status: u16| {
            let ck = a
                .send_request(t0, request(method, branch, 1, ""), target(B, tcp))
                .unwrap();
            let (tx, _) = drain(a);
            deliver(t0, &tx, b, A, tcp);
            let (_, ev) = drain(b);
            let sk = server_key(&ev);
            let TransactionEvent::Request { request: rq, .. } = &ev[0] else {
                panic!("{ev:?}")
            };
            b.send_response(t0 + ms(1), &sk, response_to(rq, status, Some("b")))
                .unwrap();
            let (tx, server_ev) = drain(b);
            deliver(t0 + ms(2), &tx, a, B, tcp);
            let (client_tx, client_ev) = drain(a);
            (ck, sk, server_ev, client_tx, client_ev)
        };

    // non-INVITE: J ends the server with its response, K the client with the response event
    let (ck, sk, server_ev, _, client_ev) = exchange(&mut a, &mut b, "OPTIONS", "z9hG4bK-z1", 200);
    assert_eq!(outline(&server_ev), ["Normal"]);
    assert_eq!(outline(&client_ev), ["200", "Normal"]);
    assert_eq!((a.state(&ck), b.state(&sk)), (None, None));

    // INVITE answered 486: D ends the client once its ACK is sent, I the server at the ACK
    let (ck, sk, server_ev, ack, client_ev) = exchange(&mut a, &mut b, "INVITE", "z9hG4bK-z2", 486);
    assert!(server_ev.is_empty(), "{server_ev:?}");
    assert_eq!(b.state(&sk), Some(State::Completed), "timer H");
    assert_eq!(outline(&client_ev), ["486", "Normal"]);
    assert_eq!(first_line(&ack[0]), "ACK sip:bob@127.0.0.1:5062 SIP/2.0");
    assert_eq!(a.state(&ck), None);
    deliver(t0 + ms(3), &ack, &mut b, A, tcp);
    let (tx, server_ev) = drain(&mut b);
    assert!(tx.is_empty());
    assert_eq!(outline(&server_ev), ["Normal"]);
    assert!(a.is_empty() && b.is_empty());
    assert_eq!((a.poll_timeout(), b.poll_timeout()), (None, None));

    // INVITE answered 200: L and M run their 64*T1
    let (ck, sk, server_ev, _, client_ev) = exchange(&mut a, &mut b, "INVITE", "z9hG4bK-z3", 200);
    assert!(server_ev.is_empty(), "{server_ev:?}");
    assert_eq!(outline(&client_ev), ["200"]);
    assert_eq!(b.state(&sk), Some(State::Accepted));
    assert_eq!(a.state(&ck), Some(State::Accepted));
    assert_eq!(b.poll_timeout(), Some(t0 + ms(32_001)), "timer L");
    assert_eq!(a.poll_timeout(), Some(t0 + ms(32_002)), "timer M");
    // a 2xx retransmission from the TU passes and the transaction stays
    let TransactionEvent::Response { response, .. } = &client_ev[0] else {
        panic!("{client_ev:?}")
    };
    let again = Response::parse(response.to_bytes()).unwrap();
    b.send_response(t0 + ms(500), &sk, again).unwrap();
    assert!(drain(&mut b).1.is_empty());
    assert_eq!(b.state(&sk), Some(State::Accepted));
    b.handle_timeout(t0 + ms(32_001));
    a.handle_timeout(t0 + ms(32_002));
    assert_eq!(outline(&drain(&mut b).1), ["Normal"]);
    assert_eq!(outline(&drain(&mut a).1), ["Normal"]);
    assert!(a.is_empty() && b.is_empty());
}
