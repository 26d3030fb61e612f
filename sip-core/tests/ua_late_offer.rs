//! Offer in the 2xx, answer in the ACK (RFC 3261 §13.2.2.4, §13.3.1.4, RFC 3264 §5): an
//! INVITE or re-INVITE without an offer, on both sides, with 2xx retransmissions and the
//! 64*T1 bound on the application's answer. Two user agents on a virtual clock.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers outside #[test] fns"
)]

use std::time::{Duration, Instant};

use telox_sip_core::header::{ContentType, Header};
use telox_sip_core::transaction::{TransactionKey, Transmit};
use telox_sip_core::ua::{Body, LegId, UaEvent, UserAgent};
use telox_sip_core::{Method, Request};
use ua_support::*;

mod ua_support;

const OFFER: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n\
                     t=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";
const ANSWER: &str = "v=0\r\no=- 2 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n\
                      t=0 0\r\nm=audio 4002 RTP/AVP 0\r\n";

fn of(msgs: &[Transmit], method: Method) -> Vec<Request> {
    requests(msgs)
        .into_iter()
        .filter(|r| *r.method() == method)
        .collect()
}

fn ms(t0: Instant, n: u64) -> Instant {
    t0 + Duration::from_millis(n)
}

/// A calls B without an offer and B answers with one: the legs and B's 2xx as sent; A has
/// seen Answered and owes the ACK.
fn offer_in_2xx(
    a: &mut UserAgent,
    b: &mut UserAgent,
    t0: Instant,
) -> (LegId, LegId, Vec<Transmit>) {
    let al = call(a, t0);
    let invite = out(a);
    assert!(of(&invite, Method::Invite)[0].body().is_empty());
    deliver(t0, b, A, invite);
    let bl = incoming(&events(b));
    b.answer(t0, bl, Some(Body::sdp(OFFER))).unwrap();
    let ok = out(b);
    deliver(t0, a, B, ok.clone());
    assert!(
        events(a)
            .iter()
            .any(|e| matches!(e, UaEvent::Answered { leg, .. } if *leg == al))
    );
    assert!(a.ack_pending(al));
    (al, bl, ok)
}

fn confirmed_ack(evs: Vec<UaEvent>) -> Option<Request> {
    evs.into_iter().find_map(|e| match e {
        UaEvent::Confirmed { ack, .. } => Some(ack),
        _ => None,
    })
}

fn reason(r: &Request) -> Option<String> {
    r.headers()
        .named_str("Reason")
        .next()
        .and_then(|h| h.value_str().map(str::to_owned))
}

#[test]
fn uac_acks_the_offer_in_the_2xx_with_its_answer_on_every_retransmission() {
    let t0 = origin();
    let (mut a, mut b) = (ua(A, "alice", 1), ua(B, "bob", 2));
    let (al, _bl, ok) = offer_in_2xx(&mut a, &mut b, t0);
    // No ACK without the answer, also not for B's retransmission at T1.
    assert!(out(&mut a).is_empty());
    b.handle_timeout(ms(t0, 500));
    let again = out(&mut b);
    assert_eq!(again[0].payload, ok[0].payload);
    deliver(ms(t0, 500), &mut a, B, again);
    assert!(out(&mut a).is_empty());
    assert!(
        events(&mut a).is_empty(),
        "a retransmission is no new event"
    );
    // The application answers: the ACK carries the answer.
    a.ack(al, Some(Body::sdp(ANSWER))).unwrap();
    assert!(!a.ack_pending(al));
    assert!(a.ack(al, None).is_err(), "one ACK per 2xx");
    let ack = out(&mut a);
    assert_eq!(of(&ack, Method::Ack)[0].body(), ANSWER.as_bytes());
    // The ACK is lost: B's next retransmission (at 1.5 s) gets the very same ACK.
    b.handle_timeout(ms(t0, 1500));
    deliver(ms(t0, 1500), &mut a, B, out(&mut b));
    let ack2 = out(&mut a);
    assert_eq!(ack2.len(), 1);
    assert_eq!(ack2[0].payload, ack[0].payload);
    deliver(ms(t0, 1500), &mut b, A, ack2);
    let got = confirmed_ack(events(&mut b)).expect("B confirmed");
    assert_eq!(
        got.body(),
        ANSWER.as_bytes(),
        "the answer reaches B's application"
    );
    assert!(out(&mut b).is_empty(), "no BYE: the answer came");
    // No give-up timer is left at A.
    a.handle_timeout(ms(t0, 40_000));
    assert!(of(&out(&mut a), Method::Bye).is_empty());
}

#[test]
fn uac_that_never_answers_acks_without_body_and_byes_after_64_t1() {
    let t0 = origin();
    let (mut a, mut b) = (ua(A, "alice", 1), ua(B, "bob", 2));
    let (al, _bl, _ok) = offer_in_2xx(&mut a, &mut b, t0);
    assert_eq!(
        a.poll_timeout().map(|t| t - t0),
        Some(Duration::from_secs(32))
    );
    a.handle_timeout(t0 + Duration::from_secs(32) - Duration::from_nanos(1));
    assert!(out(&mut a).is_empty(), "not 1 ns early");
    a.handle_timeout(ms(t0, 32_000));
    let sent = out(&mut a);
    assert_eq!(first_lines(&sent).len(), 2, "{:?}", first_lines(&sent));
    let ack = &of(&sent, Method::Ack)[0];
    assert!(ack.body().is_empty());
    let bye = &of(&sent, Method::Bye)[0];
    assert!(
        first_lines(&sent)[0].starts_with("ACK"),
        "ACK before BYE: {:?}",
        first_lines(&sent)
    );
    assert_eq!(
        reason(bye).as_deref(),
        Some("SIP;cause=488;text=\"No answer to the offer\"")
    );
    assert!(!a.ack_pending(al));
    // B confirms with the body-less ACK and hangs up too (RFC 3264 §5: no answer, no
    // session); the crossing BYEs both succeed and the call ends on both sides.
    deliver(ms(t0, 32_000), &mut b, A, sent);
    assert!(confirmed_ack(events(&mut b)).is_some());
    let from_b = out(&mut b);
    assert_eq!(of(&from_b, Method::Bye).len(), 1);
    assert!(
        first_lines(&from_b)
            .iter()
            .any(|l| l.starts_with("SIP/2.0 200")),
        "B answers A's crossing BYE: {:?}",
        first_lines(&from_b)
    );
    deliver(ms(t0, 32_000), &mut a, B, from_b);
    let from_a = out(&mut a);
    assert!(
        first_lines(&from_a)
            .iter()
            .any(|l| l.starts_with("SIP/2.0 200")),
        "A answers B's crossing BYE: {:?}",
        first_lines(&from_a)
    );
    assert!(
        events(&mut a)
            .iter()
            .any(|e| matches!(e, UaEvent::Ended { leg, by_peer: false } if *leg == al))
    );
    deliver(ms(t0, 32_000), &mut b, A, from_a);
    assert!(
        events(&mut b)
            .iter()
            .any(|e| matches!(e, UaEvent::Ended { .. }))
    );
    assert_eq!((a.leg_count(), b.leg_count()), (0, 0));
}

#[test]
fn bye_while_the_ack_is_owed_sends_the_ack_first() {
    let t0 = origin();
    let (mut a, mut b) = (ua(A, "alice", 1), ua(B, "bob", 2));
    let (al, _bl, _ok) = offer_in_2xx(&mut a, &mut b, t0);
    a.bye(ms(t0, 100), al).unwrap();
    let sent = out(&mut a);
    let lines = first_lines(&sent);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[0].starts_with("ACK") && lines[1].starts_with("BYE"),
        "{lines:?}"
    );
    assert!(reason(&of(&sent, Method::Bye)[0]).is_none());
}

#[test]
fn uas_offer_in_2xx_and_an_ack_without_answer_gets_bye_with_reason() {
    let t0 = origin();
    let (mut a, mut b) = (ua(A, "alice", 1), ua(B, "bob", 2));
    let (al, bl, _ok) = offer_in_2xx(&mut a, &mut b, t0);
    // A's application "answers" with nothing: the ACK has no body.
    a.ack(al, None).unwrap();
    deliver(ms(t0, 10), &mut b, A, out(&mut a));
    let evs = events(&mut b);
    assert!(confirmed_ack(evs).is_some());
    let sent = out(&mut b);
    let bye = of(&sent, Method::Bye);
    assert_eq!(bye.len(), 1, "{:?}", first_lines(&sent));
    assert_eq!(
        reason(&bye[0]).as_deref(),
        Some("SIP;cause=488;text=\"No answer to the offer\"")
    );
    deliver(ms(t0, 10), &mut a, B, sent);
    assert!(
        events(&mut a)
            .iter()
            .any(|e| matches!(e, UaEvent::Ended { leg, by_peer: true } if *leg == al))
    );
    deliver(ms(t0, 10), &mut b, A, out(&mut a));
    assert!(
        events(&mut b)
            .iter()
            .any(|e| matches!(e, UaEvent::Ended { leg, by_peer: false } if *leg == bl))
    );
}

#[test]
fn offerless_reinvite_is_acked_with_the_answer_and_retransmissions_reacked() {
    let t0 = origin();
    let (mut a, mut b) = (ua(A, "alice", 1), ua(B, "bob", 2));
    let (al, bl) = established(&mut a, &mut b, t0);
    // A asks for a new offer: a re-INVITE without a body.
    let key = a
        .request(ms(t0, 1000), al, Method::Invite, None, &[])
        .unwrap();
    deliver(ms(t0, 1000), &mut b, A, out(&mut a));
    let bkey = events(&mut b)
        .into_iter()
        .find_map(|e| match e {
            UaEvent::Request { key, leg, request } if leg == Some(bl) => {
                assert!(request.body().is_empty());
                Some(key)
            }
            _ => None,
        })
        .expect("re-INVITE at B");
    b.respond(ms(t0, 1000), &bkey, 200, Some(Body::sdp(OFFER)))
        .unwrap();
    let ok = out(&mut b);
    deliver(ms(t0, 1000), &mut a, B, ok.clone());
    let evs = events(&mut a);
    assert!(
        evs.iter()
            .any(|e| matches!(e, UaEvent::Response { key: k, status: 200, .. } if *k == key)),
        "{evs:?}"
    );
    assert!(a.ack_pending(al));
    assert!(out(&mut a).is_empty(), "no ACK before the answer");
    // No other re-INVITE meanwhile (RFC 3261 §14.1).
    assert!(
        a.request(ms(t0, 1000), al, Method::Invite, None, &[])
            .is_err()
    );
    // A 2xx retransmission meanwhile: still nothing, and no second event.
    b.handle_timeout(ms(t0, 1500));
    let again = out(&mut b);
    assert_eq!(again[0].payload, ok[0].payload);
    deliver(ms(t0, 1500), &mut a, B, again);
    assert!(out(&mut a).is_empty());
    assert!(events(&mut a).is_empty());
    a.ack(al, Some(Body::sdp(ANSWER))).unwrap();
    let ack = out(&mut a);
    let acks = of(&ack, Method::Ack);
    assert_eq!(acks[0].body(), ANSWER.as_bytes());
    assert_eq!(
        acks[0]
            .header::<telox_sip_core::header::CSeq>()
            .unwrap()
            .unwrap()
            .seq(),
        2,
        "the ACK has the re-INVITE's CSeq"
    );
    // Lost: the next retransmission (at 2.5 s) gets the same ACK, B gets the answer.
    b.handle_timeout(ms(t0, 2500));
    deliver(ms(t0, 2500), &mut a, B, out(&mut b));
    let ack2 = out(&mut a);
    assert_eq!(ack2.len(), 1);
    assert_eq!(ack2[0].payload, ack[0].payload);
    assert!(events(&mut a).is_empty());
    deliver(ms(t0, 2500), &mut b, A, ack2);
    let got = confirmed_ack(events(&mut b)).expect("re-INVITE confirmed at B");
    assert_eq!(got.body(), ANSWER.as_bytes());
    assert!(out(&mut b).is_empty());
}

#[test]
fn offered_reinvite_and_bodyless_2xx_are_acked_at_once() {
    let t0 = origin();
    let (mut a, mut b) = (ua(A, "alice", 1), ua(B, "bob", 2));
    let (al, bl) = established(&mut a, &mut b, t0);
    a.request(t0, al, Method::Invite, Some(Body::sdp(OFFER)), &[])
        .unwrap();
    deliver(t0, &mut b, A, out(&mut a));
    let bkey = request_key(&mut b, bl).unwrap();
    b.respond(t0, &bkey, 200, Some(Body::sdp(ANSWER))).unwrap();
    deliver(t0, &mut a, B, out(&mut b));
    assert!(!a.ack_pending(al));
    let acks = of(&out(&mut a), Method::Ack);
    assert_eq!(acks.len(), 1);
    assert!(acks[0].body().is_empty());
}

/// A SIP-I INVITE: a multipart body whose only part is the ISUP IAM (RFC 5621, RFC 3204).
fn isup_only() -> Body {
    Body {
        content_type: ContentType::parse_str("multipart/mixed;boundary=isup1").unwrap(),
        bytes: "--isup1\r\nContent-Type: application/isup;version=itu-t92+\r\n\r\nIAM\r\n\
                --isup1--\r\n"
            .into(),
    }
}

#[test]
fn invite_with_a_body_but_no_sdp_is_a_late_offer_on_both_sides() {
    let t0 = origin();
    let (mut a, mut b) = (ua(A, "alice", 1), ua(B, "bob", 2));
    let al = a
        .invite(
            t0,
            uri("sip:alice@127.0.0.1"),
            uri("sip:bob@127.0.0.1"),
            uri("sip:bob@127.0.0.1:5062"),
            t(B),
            Some(isup_only()),
        )
        .unwrap();
    let invite = out(&mut a);
    assert!(!of(&invite, Method::Invite)[0].body().is_empty());
    deliver(t0, &mut b, A, invite);
    let bl = incoming(&events(&mut b));
    b.answer(t0, bl, Some(Body::sdp(OFFER))).unwrap();
    deliver(t0, &mut a, B, out(&mut b));
    // A's INVITE carried no offer, so the 2xx's SDP is one: the ACK waits for the answer.
    assert!(a.ack_pending(al), "the 2xx's SDP taken as an answer");
    assert!(out(&mut a).is_empty());
    // A ACKs without an answer: B, whose 2xx carried the offer, ends the call.
    a.ack(al, None).unwrap();
    deliver(ms(t0, 10), &mut b, A, out(&mut a));
    assert!(confirmed_ack(events(&mut b)).is_some());
    let bye = of(&out(&mut b), Method::Bye);
    assert_eq!(bye.len(), 1, "no BYE for an ACK without the answer");
    assert_eq!(
        reason(&bye[0]).as_deref(),
        Some("SIP;cause=488;text=\"No answer to the offer\"")
    );
}

#[test]
fn ack_with_the_answer_in_a_multipart_body_is_an_answer() {
    let t0 = origin();
    let (mut a, mut b) = (ua(A, "alice", 1), ua(B, "bob", 2));
    let (al, _bl, _ok) = offer_in_2xx(&mut a, &mut b, t0);
    let answer = Body {
        content_type: ContentType::parse_str("multipart/mixed;boundary=b2").unwrap(),
        bytes: format!(
            "--b2\r\nContent-Type: application/isup\r\n\r\nACM\r\n--b2\r\n\
             Content-Type: application/sdp\r\n\r\n{ANSWER}\r\n--b2--\r\n"
        )
        .into(),
    };
    a.ack(al, Some(answer)).unwrap();
    deliver(ms(t0, 10), &mut b, A, out(&mut a));
    assert!(confirmed_ack(events(&mut b)).is_some());
    assert!(out(&mut b).is_empty(), "no BYE: the answer came");
    // The control: an ACK whose body holds no SDP is no answer.
    let (mut a, mut b) = (ua(A, "alice", 3), ua(B, "bob", 4));
    let (al, _bl, _ok) = offer_in_2xx(&mut a, &mut b, t0);
    a.ack(al, Some(isup_only())).unwrap();
    deliver(ms(t0, 10), &mut b, A, out(&mut a));
    assert!(confirmed_ack(events(&mut b)).is_some());
    assert_eq!(of(&out(&mut b), Method::Bye).len(), 1);
}

#[test]
fn reinvite_with_a_body_but_no_sdp_is_a_late_offer() {
    let t0 = origin();
    let (mut a, mut b) = (ua(A, "alice", 1), ua(B, "bob", 2));
    let (al, _bl) = established(&mut a, &mut b, t0);
    a.request(t0, al, Method::Invite, Some(isup_only()), &[])
        .unwrap();
    let sent = out(&mut a);
    let reinvite = of(&sent, Method::Invite).remove(0);
    assert!(!reinvite.body().is_empty());
    // A 2xx with an offer, written here (no need of B's side).
    let ok = telox_sip_core::Response::builder(&reinvite, telox_sip_core::StatusCode(200))
        .raw_header("Content-Type", "application/sdp")
        .unwrap()
        .body(OFFER.into())
        .build();
    a.handle_datagram(t0, t(B), ok.to_bytes());
    // The re-INVITE carried no offer, so the 2xx's SDP is one: the ACK waits for the answer.
    assert!(a.ack_pending(al), "the 2xx's SDP taken as an answer");
    assert!(of(&out(&mut a), Method::Ack).is_empty());
}

/// The key of the first in-dialog request on `leg` among `u`'s events.
fn request_key(u: &mut UserAgent, leg: LegId) -> Option<TransactionKey> {
    events(u).into_iter().find_map(|e| match e {
        UaEvent::Request { key, leg: l, .. } if l == Some(leg) => Some(key),
        _ => None,
    })
}

/// The CSeq number of a request.
fn ack_seq(r: &Request) -> u32 {
    r.header::<telox_sip_core::header::CSeq>()
        .unwrap()
        .unwrap()
        .seq()
}

#[test]
fn a_late_reack_of_the_last_2xx_is_not_the_ack_of_the_next_one() {
    // RFC 3261 §13.2.2.4: the ACK has the CSeq number of the INVITE it acknowledges. B's 2xx
    // to the INVITE goes again at T1 before A's ACK gets there; the retransmission reaches A
    // only after A sent a re-INVITE without SDP, so A ACKs it again, and that ACK (CSeq 1,
    // the first answer) comes to B while B's 2xx to the re-INVITE (CSeq 2, a new offer)
    // waits for its own. Seen in the PBX as a hold answered with the first call's sendrecv.
    let t0 = origin();
    let (mut a, mut b) = (ua(A, "alice", 1), ua(B, "bob", 2));
    let (al, bl, _ok) = offer_in_2xx(&mut a, &mut b, t0);
    a.ack(al, Some(Body::sdp(ANSWER))).unwrap();
    let ack1 = out(&mut a);
    b.handle_timeout(ms(t0, 500));
    let again = out(&mut b);
    assert_eq!(first_lines(&again).len(), 1, "B's 2xx at T1");
    deliver(ms(t0, 500), &mut b, A, ack1.clone());
    assert!(confirmed_ack(events(&mut b)).is_some());

    a.request(ms(t0, 600), al, Method::Invite, None, &[])
        .unwrap();
    let reinvite = out(&mut a);
    deliver(ms(t0, 600), &mut a, B, again);
    let reack = out(&mut a);
    assert_eq!(reack.len(), 1, "the retransmitted 2xx is ACKed again");
    assert_eq!(reack[0].payload, ack1[0].payload);

    deliver(ms(t0, 600), &mut b, A, reinvite);
    let bkey = request_key(&mut b, bl).expect("re-INVITE at B");
    const HOLD: &str = "v=0\r\no=- 2 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n\
                        t=0 0\r\nm=audio 4002 RTP/AVP 0\r\na=sendonly\r\n";
    b.respond(ms(t0, 600), &bkey, 200, Some(Body::sdp(OFFER)))
        .unwrap();
    let ok2 = out(&mut b);
    deliver(ms(t0, 600), &mut b, A, reack);
    let evs = events(&mut b);
    assert!(
        confirmed_ack(evs.clone()).is_none(),
        "the ACK of CSeq 1 taken for the 2xx of CSeq 2: {evs:?}"
    );
    assert!(out(&mut b).is_empty(), "no BYE for a stale ACK");

    deliver(ms(t0, 600), &mut a, B, ok2);
    a.ack(al, Some(Body::sdp(HOLD))).unwrap();
    deliver(ms(t0, 700), &mut b, A, out(&mut a));
    let got = confirmed_ack(events(&mut b)).expect("the re-INVITE's ACK confirmed at B");
    assert_eq!(ack_seq(&got), 2);
    assert_eq!(
        got.body(),
        HOLD.as_bytes(),
        "the answer to the second offer"
    );
    assert!(out(&mut b).is_empty());
}
