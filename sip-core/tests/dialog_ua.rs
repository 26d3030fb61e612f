//! Dialog and UA scenarios (RFC 3261 §9, §12, §13, §14, §22): CANCEL, forking, re-INVITE
//! glare with 491 and the §14.1 timer, digest retry of an INVITE, in-dialog CSeq checks,
//! route sets and target refresh. Two user agents on a virtual clock, delivery by hand.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers outside #[test] fns"
)]

use std::time::Duration;

use bytes::Bytes;
use telox_sip_core::dialog::{Dialog, DialogError, DialogState};
use telox_sip_core::header::Via;
use telox_sip_core::ua::{UaConfig, UaEvent, UserAgent};
use telox_sip_core::{Method, Request, Response};
use ua_support::*;

mod ua_support;

#[test]
fn cancel_before_answer() {
    let now = origin();
    let (mut a, mut b) = (ua(A, "alice", 1), ua(B, "bob", 2));
    let al = call(&mut a, now);
    // No provisional yet: the CANCEL waits (RFC 3261 §9.1).
    a.cancel(now, al).unwrap();
    let invite = out(&mut a);
    assert_eq!(first_lines(&invite).len(), 1);
    let invite_branch = Request::parse(invite[0].payload.clone())
        .unwrap()
        .header::<Via>()
        .unwrap()
        .unwrap()
        .branch()
        .map(str::to_owned);
    deliver(now, &mut b, A, invite);
    let bl = incoming(&events(&mut b));
    b.ringing(now, bl, 180, None).unwrap();
    deliver(now, &mut a, B, out(&mut b));
    let cancel = out(&mut a);
    assert!(first_lines(&cancel)[0].starts_with("CANCEL sip:bob@127.0.0.1:5062"));
    let c = Request::parse(cancel[0].payload.clone()).unwrap();
    // RFC 3261 §9.1: the CANCEL has the INVITE's top Via (same branch).
    assert_eq!(
        c.header::<Via>()
            .unwrap()
            .unwrap()
            .branch()
            .map(str::to_owned),
        invite_branch
    );
    deliver(now, &mut b, A, cancel);
    assert!(
        events(&mut b)
            .iter()
            .any(|e| matches!(e, UaEvent::Cancelled { leg } if *leg == bl))
    );
    let replies = out(&mut b);
    let lines = first_lines(&replies);
    assert!(
        lines.iter().any(|l| l.starts_with("SIP/2.0 200")),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("SIP/2.0 487")),
        "{lines:?}"
    );
    deliver(now, &mut a, B, replies);
    let ev = events(&mut a);
    assert!(
        ev.iter()
            .any(|e| matches!(e, UaEvent::Failed { status: 487, .. })),
        "{ev:?}"
    );
    // The transaction ACKs the 487 itself.
    assert!(
        first_lines(&out(&mut a))
            .iter()
            .any(|l| l.starts_with("ACK"))
    );
    assert_eq!((a.leg_count(), b.leg_count()), (0, 0));
}

#[test]
fn forked_second_2xx_gets_ack_and_bye() {
    let now = origin();
    let mut a = ua(A, "alice", 1);
    let (mut b1, mut b2) = (ua(B, "bob", 2), ua(B, "bob", 3));
    call(&mut a, now);
    let invite = out(&mut a);
    // A forking proxy would deliver the INVITE to both; here both UAs get the same bytes.
    deliver(now, &mut b1, A, invite.clone());
    deliver(now, &mut b2, A, invite);
    let l1 = incoming(&events(&mut b1));
    let l2 = incoming(&events(&mut b2));
    b1.answer(now, l1, None).unwrap();
    b2.answer(now, l2, None).unwrap();
    deliver(now, &mut a, B, out(&mut b1));
    assert_eq!(
        first_lines(&out(&mut a)),
        vec!["ACK sip:bob@127.0.0.1:5062 SIP/2.0"]
    );
    deliver(now, &mut a, B, out(&mut b2));
    let sent = first_lines(&out(&mut a));
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(
        sent[0].starts_with("ACK") && sent[1].starts_with("BYE"),
        "{sent:?}"
    );
    let answered = events(&mut a)
        .iter()
        .filter(|e| matches!(e, UaEvent::Answered { .. }))
        .count();
    assert_eq!(answered, 1, "only the first 2xx answers the call");
}

#[test]
fn uac_acks_every_2xx_retransmission() {
    let now = origin();
    let (mut a, mut b) = (ua(A, "alice", 1), ua(B, "bob", 2));
    call(&mut a, now);
    deliver(now, &mut b, A, out(&mut a));
    let bl = incoming(&events(&mut b));
    b.answer(now, bl, None).unwrap();
    let ok = out(&mut b);
    deliver(now, &mut a, B, ok.clone());
    let ack1 = out(&mut a);
    // The ACK is lost; B retransmits its 2xx at T1 (RFC 3261 §13.3.1.4).
    b.handle_timeout(now + Duration::from_millis(500));
    let again = out(&mut b);
    assert_eq!(again[0].payload, ok[0].payload);
    deliver(now + Duration::from_millis(500), &mut a, B, again);
    let ack2 = out(&mut a);
    assert_eq!(ack1[0].payload, ack2[0].payload, "the same ACK again");
    deliver(now + Duration::from_millis(510), &mut b, A, ack2);
    assert!(
        events(&mut b)
            .iter()
            .any(|e| matches!(e, UaEvent::Confirmed { .. }))
    );
    b.handle_timeout(now + Duration::from_secs(2));
    assert!(out(&mut b).is_empty(), "retransmissions stop after the ACK");
}

#[test]
fn uas_gives_up_without_ack_and_sends_bye() {
    let now = origin();
    let (mut a, mut b) = (ua(A, "alice", 1), ua(B, "bob", 2));
    call(&mut a, now);
    deliver(now, &mut b, A, out(&mut a));
    let bl = incoming(&events(&mut b));
    b.answer(now, bl, None).unwrap();
    assert_eq!(first_lines(&out(&mut b)), vec!["SIP/2.0 200 OK"]);
    let mut sent = Vec::new();
    let mut at = now;
    while let Some(next) = b.poll_timeout() {
        if next > now + Duration::from_secs(40) {
            break;
        }
        at = next;
        b.handle_timeout(at);
        for l in first_lines(&out(&mut b)) {
            sent.push(((at - now).as_millis(), l));
        }
    }
    let oks: Vec<u128> = sent
        .iter()
        .filter(|(_, l)| l.starts_with("SIP/2.0 200"))
        .map(|(t, _)| *t)
        .collect();
    assert_eq!(
        &oks[..6],
        &[500, 1500, 3500, 7500, 11_500, 15_500],
        "T1 doubling to T2"
    );
    assert!(
        sent.iter()
            .any(|(t, l)| *t == 32_000 && l.starts_with("BYE")),
        "{sent:?}"
    );
    let _ = at;
}

#[test]
fn reinvite_glare_gets_491_and_retries_after_the_timer() {
    let now = origin();
    let (mut a, mut b) = (ua(A, "alice", 1), ua(B, "bob", 2));
    let (al, bl) = established(&mut a, &mut b, now);
    a.request(now, al, Method::Invite, None, &[]).unwrap();
    b.request(now, bl, Method::Invite, None, &[]).unwrap();
    // A second re-INVITE while one is pending is refused locally (§14.1).
    assert!(a.request(now, al, Method::Invite, None, &[]).is_err());
    let from_a = out(&mut a);
    let from_b = out(&mut b);
    deliver(now, &mut b, A, from_a);
    deliver(now, &mut a, B, from_b);
    let to_b = out(&mut a);
    let to_a = out(&mut b);
    assert!(
        first_lines(&to_b)
            .iter()
            .any(|l| l.starts_with("SIP/2.0 491"))
    );
    assert!(
        first_lines(&to_a)
            .iter()
            .any(|l| l.starts_with("SIP/2.0 491"))
    );
    deliver(now, &mut b, A, to_b);
    deliver(now, &mut a, B, to_a);
    assert!(
        events(&mut a)
            .iter()
            .any(|e| matches!(e, UaEvent::Response { status: 491, .. }))
    );
    assert!(
        events(&mut b)
            .iter()
            .any(|e| matches!(e, UaEvent::Response { status: 491, .. }))
    );
    // A owns the Call-ID: it retries between 2.1 and 4 s; B between 0 and 2 s.
    let retry_at = |u: &mut UserAgent| {
        loop {
            let at = u.poll_timeout().unwrap();
            u.handle_timeout(at);
            if first_lines(&out(u)).iter().any(|l| l.starts_with("INVITE")) {
                return (at - now).as_millis();
            }
            assert!(at < now + Duration::from_secs(5));
        }
    };
    let ta = retry_at(&mut a);
    let tb = retry_at(&mut b);
    assert!(
        (2100..=4000).contains(&ta) && ta % 10 == 0,
        "owner retry at {ta} ms"
    );
    assert!(tb <= 2000 && tb % 10 == 0, "other side retry at {tb} ms");
}

#[test]
fn invite_digest_retry_uses_a_new_cseq() {
    let now = origin();
    let mut cfg = UaConfig::new(A.parse().unwrap(), "alice", 1);
    cfg.credentials = Some(("alice".into(), "pw".into()));
    let mut a = UserAgent::new(cfg);
    call(&mut a, now);
    let invite = Request::parse(out(&mut a)[0].payload.clone()).unwrap();
    let challenge = Response::builder(&invite, telox_sip_core::StatusCode(407))
        .to_tag("p")
        .raw_header(
            "Proxy-Authenticate",
            r#"Digest realm="proxy", nonce="abc", qop="auth""#,
        )
        .unwrap()
        .build();
    a.handle_datagram(now, t(B), challenge.to_bytes());
    let sent = out(&mut a);
    let lines = first_lines(&sent);
    assert!(
        lines[0].starts_with("ACK") && lines[1].starts_with("INVITE"),
        "{lines:?}"
    );
    let retry = Request::parse(sent[1].payload.clone()).unwrap();
    let cseq = retry
        .headers()
        .named_str("CSeq")
        .next()
        .unwrap()
        .value_str()
        .unwrap();
    assert_eq!(cseq, "2 INVITE");
    let auth = retry
        .headers()
        .named_str("Proxy-Authorization")
        .next()
        .unwrap();
    assert!(auth.value_str().unwrap().contains("realm=\"proxy\""));
    let b1 = invite.header::<Via>().unwrap().unwrap();
    let b2 = retry.header::<Via>().unwrap().unwrap();
    assert_ne!(b1.branch(), b2.branch(), "a new transaction");
    assert!(
        events(&mut a)
            .iter()
            .all(|e| !matches!(e, UaEvent::Failed { .. }))
    );
}

#[test]
fn bye_ends_both_sides_and_late_requests_get_481() {
    let now = origin();
    let (mut a, mut b) = (ua(A, "alice", 1), ua(B, "bob", 2));
    let (al, _bl) = established(&mut a, &mut b, now);
    let info_key = a.request(now, al, Method::Info, None, &[]).unwrap();
    let info = out(&mut a);
    deliver(now, &mut b, A, info.clone());
    let ev = events(&mut b);
    let UaEvent::Request {
        key, leg: Some(_), ..
    } = &ev[0]
    else {
        panic!("{ev:?}")
    };
    b.respond(now, key, 200, None).unwrap();
    deliver(now, &mut a, B, out(&mut b));
    assert!(
        events(&mut a)
            .iter()
            .any(|e| matches!(e, UaEvent::Response { key, status: 200, .. } if *key == info_key))
    );
    a.bye(now, al).unwrap();
    deliver(now, &mut b, A, out(&mut a));
    assert!(
        events(&mut b)
            .iter()
            .any(|e| matches!(e, UaEvent::Ended { by_peer: true, .. }))
    );
    deliver(now, &mut a, B, out(&mut b));
    assert!(
        events(&mut a)
            .iter()
            .any(|e| matches!(e, UaEvent::Ended { by_peer: false, .. }))
    );
    // The same INFO again with a new branch and CSeq after the dialog is gone: 481.
    let late = String::from_utf8_lossy(&info[0].payload)
        .replace("CSeq: 2 INFO", "CSeq: 9 INFO")
        .replace(";branch=z9hG4bK", ";branch=z9hG4bKlate");
    b.handle_datagram(now, t(A), Bytes::from(late));
    assert!(first_lines(&out(&mut b))[0].starts_with("SIP/2.0 481"));
}

#[test]
fn dialog_route_set_cseq_and_target_refresh() {
    let invite = Request::parse(Bytes::from_static(
        b"INVITE sip:bob@biloxi.com SIP/2.0\r\n\
          Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK1\r\n\
          From: <sip:alice@atlanta.com>;tag=a\r\nTo: <sip:bob@biloxi.com>\r\n\
          Call-ID: d1\r\nCSeq: 10 INVITE\r\nContact: <sip:alice@pc33.atlanta.com>\r\n\
          Content-Length: 0\r\n\r\n",
    ))
    .unwrap();
    let ok = Response::parse(Bytes::from_static(
        b"SIP/2.0 200 OK\r\n\
          Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK1\r\n\
          Record-Route: <sip:p2.biloxi.com;lr>\r\n\
          Record-Route: <sip:p1.atlanta.com;lr>\r\n\
          From: <sip:alice@atlanta.com>;tag=a\r\nTo: <sip:bob@biloxi.com>;tag=b\r\n\
          Call-ID: d1\r\nCSeq: 10 INVITE\r\nContact: <sip:bob@192.0.2.4>\r\n\
          Content-Length: 0\r\n\r\n",
    ))
    .unwrap();
    let mut d = Dialog::new_uac(&invite, &ok).unwrap();
    assert_eq!(d.state(), DialogState::Confirmed);
    // UAC route set: Record-Route reversed (RFC 3261 §12.1.2).
    let routes: Vec<String> = d.route_set().iter().map(|r| r.uri().to_string()).collect();
    assert_eq!(
        routes,
        vec!["sip:p1.atlanta.com;lr", "sip:p2.biloxi.com;lr"]
    );
    assert_eq!(d.next_hop().as_str(), "sip:p1.atlanta.com;lr");
    let via = Via::new("UDP", "pc33.atlanta.com", None, "z9hG4bK2").unwrap();
    let bye = d.request(Method::Bye, via);
    let text = String::from_utf8_lossy(&bye.to_bytes()).into_owned();
    assert!(
        text.starts_with("BYE sip:bob@192.0.2.4 SIP/2.0\r\n"),
        "{text}"
    );
    assert!(text.contains("CSeq: 11 BYE"));
    assert!(text.find("p1.atlanta.com").unwrap() < text.find("p2.biloxi.com").unwrap());
    // In-dialog request from the peer: a re-INVITE refreshes the target; an older CSeq is 500.
    let reinvite = |cseq: u32, contact: &str| {
        Request::parse(Bytes::from(format!(
            "INVITE sip:alice@pc33.atlanta.com SIP/2.0\r\n\
             Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK{cseq}\r\n\
             From: <sip:bob@biloxi.com>;tag=b\r\nTo: <sip:alice@atlanta.com>;tag=a\r\n\
             Call-ID: d1\r\nCSeq: {cseq} INVITE\r\nContact: <{contact}>\r\n\
             Content-Length: 0\r\n\r\n"
        )))
        .unwrap()
    };
    d.handle_request(&reinvite(5, "sip:bob@192.0.2.99"))
        .unwrap();
    assert_eq!(d.remote_target().as_str(), "sip:bob@192.0.2.99");
    let e = d
        .handle_request(&reinvite(5, "sip:bob@192.0.2.100"))
        .unwrap_err();
    assert_eq!(e, DialogError::CSeqOutOfOrder { got: 5, last: 5 });
    assert_eq!(e.status_code(), 500);
    // Strict routing: a route without lr goes into the Request-URI.
    let strict = Response::parse(Bytes::from(
        String::from_utf8_lossy(&ok.to_bytes())
            .replace("<sip:p1.atlanta.com;lr>", "<sip:p1.atlanta.com>"),
    ))
    .unwrap();
    let mut d = Dialog::new_uac(&invite, &strict).unwrap();
    let via = Via::new("UDP", "pc33.atlanta.com", None, "z9hG4bK3").unwrap();
    let text = String::from_utf8_lossy(&d.request(Method::Bye, via).to_bytes()).into_owned();
    assert!(
        text.starts_with("BYE sip:p1.atlanta.com SIP/2.0\r\n"),
        "{text}"
    );
    assert!(
        text.contains("<sip:bob@192.0.2.4>"),
        "remote target appended as last Route"
    );
}

#[test]
fn attended_transfer_refer_with_replaces_and_notify() {
    use telox_sip_core::ua::refer::{Replaces, parse_refer_to};
    let now = origin();
    let (mut a, mut b) = (ua(A, "alice", 1), ua(B, "bob", 2));
    let (al, bl) = established(&mut a, &mut b, now);
    // Alice transfers Bob to Carol, replacing Alice's dialog with Carol.
    let alice_carol = telox_sip_core::dialog::DialogId {
        call_id: "c2@127.0.0.1".into(),
        local_tag: "alice-tag".into(),
        remote_tag: "carol-tag".into(),
    };
    let replaces = Replaces::for_peer_of(&alice_carol);
    a.refer(now, al, &uri("sip:carol@127.0.0.1:5063"), Some(&replaces))
        .unwrap();
    deliver(now, &mut b, A, out(&mut a));
    let ev = events(&mut b);
    let UaEvent::Request {
        key,
        leg: Some(leg),
        request,
    } = &ev[0]
    else {
        panic!("{ev:?}")
    };
    assert_eq!((*leg, request.method()), (bl, &Method::Refer));
    let refer_to = request
        .headers()
        .named_str("Refer-To")
        .next()
        .unwrap()
        .value_str()
        .unwrap();
    assert!(
        refer_to.contains("Replaces=c2%40127.0.0.1%3Bto-tag%3Dcarol-tag"),
        "{refer_to}"
    );
    let (target, got) = parse_refer_to(refer_to).unwrap();
    assert_eq!(target, "sip:carol@127.0.0.1:5063");
    assert_eq!(got.as_ref(), Some(&replaces));
    assert_eq!(
        got.unwrap().header_value(),
        "c2@127.0.0.1;to-tag=carol-tag;from-tag=alice-tag"
    );
    b.respond(now, key, 202, None).unwrap();
    deliver(now, &mut a, B, out(&mut b));
    assert!(
        events(&mut a)
            .iter()
            .any(|e| matches!(e, UaEvent::Response { status: 202, .. }))
    );
    // Bob reports the referred call's progress: 100 then 200 (ends the subscription).
    for status in [100, 200] {
        b.notify_refer(now, bl, status).unwrap();
        deliver(now, &mut a, B, out(&mut b));
        let ev = events(&mut a);
        let UaEvent::Request { key, request, .. } = &ev[0] else {
            panic!("{ev:?}")
        };
        assert_eq!(request.method(), &Method::Notify);
        let body = String::from_utf8_lossy(request.body()).into_owned();
        assert!(body.starts_with(&format!("SIP/2.0 {status} ")), "{body}");
        let state = request
            .headers()
            .named_str("Subscription-State")
            .next()
            .unwrap()
            .value_str()
            .unwrap();
        assert_eq!(state.starts_with("terminated"), status >= 200);
        a.respond(now, key, 200, None).unwrap();
        deliver(now, &mut b, A, out(&mut a));
    }
}

#[test]
fn reliable_provisional_is_pracked_and_retransmitted_until_then() {
    let now = origin();
    let (mut a, mut b) = (ua(A, "alice", 1), ua(B, "bob", 2));
    let al = call(&mut a, now);
    deliver(now, &mut b, A, out(&mut a));
    let bl = incoming(&events(&mut b));
    b.ringing_reliable(now, bl, 183, None).unwrap();
    // A second reliable provisional must wait for the PRACK (RFC 3262 §3).
    assert!(b.ringing_reliable(now, bl, 180, None).is_err());
    let first = out(&mut b);
    let text = String::from_utf8_lossy(&first[0].payload).into_owned();
    assert!(
        text.contains("Require: 100rel") && text.contains("RSeq: 1"),
        "{text}"
    );
    // The 183 is lost once: B retransmits it at T1.
    b.handle_timeout(now + Duration::from_millis(500));
    let again = out(&mut b);
    assert_eq!(again[0].payload, first[0].payload);
    deliver(now + Duration::from_millis(500), &mut a, B, again);
    let prack = out(&mut a);
    let prack_text = String::from_utf8_lossy(&prack[0].payload).into_owned();
    assert!(prack_text.starts_with("PRACK "), "{prack_text}");
    assert!(prack_text.contains("RAck: 1 1 INVITE") && prack_text.contains("CSeq: 2 PRACK"));
    assert!(
        events(&mut a)
            .iter()
            .any(|e| matches!(e, UaEvent::Provisional { .. }))
    );
    // A retransmission of the same 183 is neither PRACKed again nor reported.
    deliver(now + Duration::from_millis(510), &mut a, B, first);
    assert!(out(&mut a).is_empty());
    assert!(events(&mut a).is_empty());
    deliver(now + Duration::from_millis(520), &mut b, A, prack);
    assert_eq!(
        first_lines(&out(&mut b)),
        vec!["SIP/2.0 200 OK"],
        "200 to the PRACK"
    );
    b.handle_timeout(now + Duration::from_millis(1500));
    assert!(out(&mut b).is_empty(), "no retransmission after the PRACK");
    // Now the next reliable provisional is allowed, then the answer.
    b.ringing_reliable(now, bl, 180, None).unwrap();
    assert!(String::from_utf8_lossy(&out(&mut b)[0].payload).contains("RSeq: 2"));
    b.answer(now, bl, None).unwrap();
    deliver(now, &mut a, B, out(&mut b));
    assert!(
        events(&mut a)
            .iter()
            .any(|e| matches!(e, UaEvent::Answered { leg, .. } if *leg == al))
    );
}

#[test]
fn reliable_provisional_without_prack_rejects_with_500() {
    let now = origin();
    let (mut a, mut b) = (ua(A, "alice", 1), ua(B, "bob", 2));
    call(&mut a, now);
    deliver(now, &mut b, A, out(&mut a));
    let bl = incoming(&events(&mut b));
    b.ringing_reliable(now, bl, 180, None).unwrap();
    out(&mut b);
    let mut sent = Vec::new();
    while let Some(at) = b.poll_timeout() {
        if at > now + Duration::from_secs(33) {
            break;
        }
        b.handle_timeout(at);
        for l in first_lines(&out(&mut b)) {
            sent.push(((at - now).as_millis(), l));
        }
    }
    let retrans: Vec<u128> = sent
        .iter()
        .filter(|(_, l)| l.starts_with("SIP/2.0 180"))
        .map(|(t, _)| *t)
        .collect();
    assert_eq!(
        retrans,
        vec![500, 1500, 3500, 7500, 15_500, 31_500],
        "T1 doubling, no cap"
    );
    assert!(
        sent.iter()
            .any(|(t, l)| *t == 32_000 && l.starts_with("SIP/2.0 500")),
        "{sent:?}"
    );
}
