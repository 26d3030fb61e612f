//! INVITE with Replaces (RFC 3891 §3) at the UAS and attended transfer (RFC 3515, RFC 5589
//! §7): three user agents on a virtual clock, delivery by hand.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers outside #[test] fns"
)]

use std::time::Instant;

use telox_sip_core::Method;
use telox_sip_core::ua::refer::{Replaces, ReplacesError, parse_refer_to};
use telox_sip_core::ua::{LegId, UaEvent, UserAgent};
use ua_support::*;

mod ua_support;

/// Carol's address.
const C: &str = "127.0.0.1:5063";

/// `from` (at `from_addr`) calls the UA at `to_addr` with extra headers; returns the leg.
fn call_with(from: &mut UserAgent, now: Instant, to_addr: &str, extra: &[(&str, &str)]) -> LegId {
    from.invite_with(
        now,
        uri("sip:caller@127.0.0.1"),
        uri("sip:callee@127.0.0.1"),
        uri(&format!("sip:callee@{to_addr}")),
        t(to_addr),
        None,
        extra,
    )
    .unwrap()
}

/// `x` at `xa` calls `y` at `ya`, `y` answers, the ACK arrives: (x's leg, y's leg).
fn connect(
    x: &mut UserAgent,
    xa: &str,
    y: &mut UserAgent,
    ya: &str,
    now: Instant,
) -> (LegId, LegId) {
    let xl = call_with(x, now, ya, &[]);
    deliver(now, y, xa, out(x));
    let yl = incoming(&events(y));
    y.answer(now, yl, None).unwrap();
    deliver(now, x, ya, out(y));
    events(x);
    deliver(now, y, xa, out(x));
    assert!(
        events(y)
            .iter()
            .any(|e| matches!(e, UaEvent::Confirmed { .. }))
    );
    (xl, yl)
}

/// The status of the one response in `msgs`.
fn status_of(msgs: &[telox_sip_core::transaction::Transmit]) -> u16 {
    let r = responses(msgs);
    assert_eq!(r.len(), 1, "{:?}", first_lines(msgs));
    r[0].status().as_u16()
}

#[test]
fn attended_transfer_replaces_the_call_at_the_target() {
    let now = origin();
    let (mut a, mut b, mut c) = (ua(A, "alice", 1), ua(B, "bob", 2), ua(C, "carol", 3));
    // Alice talks to Bob and to Carol, then transfers Bob to Carol.
    let (ab, _ba) = connect(&mut a, A, &mut b, B, now);
    let (ac, ca) = connect(&mut a, A, &mut c, C, now);
    a.attended_transfer(now, ab, ac).unwrap();
    deliver(now, &mut b, A, out(&mut a));
    let ev = events(&mut b);
    let UaEvent::Request {
        key,
        leg: Some(bl),
        request,
    } = &ev[0]
    else {
        panic!("{ev:?}")
    };
    assert_eq!(request.method(), &Method::Refer);
    let refer_to = request
        .headers()
        .named_str("Refer-To")
        .next()
        .unwrap()
        .value_str()
        .unwrap()
        .to_owned();
    let (target, replaces) = parse_refer_to(&refer_to).unwrap();
    // The target is Carol's Contact; the Replaces names the dialog as Carol sees it.
    assert_eq!(target, "sip:carol@127.0.0.1:5063");
    let replaces = replaces.unwrap();
    let carol_side = c.dialog(ca).unwrap().id().clone();
    assert_eq!(replaces.dialog_id(), carol_side);
    assert!(!replaces.early_only);
    b.respond(now, key, 202, None).unwrap();
    b.notify_refer(now, *bl, 100).unwrap();
    deliver(now, &mut a, B, out(&mut b));
    // Bob calls Carol with the Replaces.
    let value = replaces.header_value();
    let bc = b
        .invite_with(
            now,
            uri("sip:bob@127.0.0.1"),
            uri(&target),
            uri(&target),
            t(C),
            None,
            &[("Replaces", &value), ("Require", "replaces")],
        )
        .unwrap();
    deliver(now, &mut c, B, out(&mut b));
    let cb = incoming(&events(&mut c));
    assert_eq!(c.replaced_leg(cb), Some(ca));
    assert_eq!(c.find_replaced(&replaces), Ok(ca));
    // Carol answers Bob: her UA hangs up on Alice by itself (RFC 3891 §3).
    c.answer(now, cb, None).unwrap();
    assert_eq!(c.replaced_leg(cb), None, "done with once answered");
    let sent = out(&mut c);
    let lines = first_lines(&sent);
    assert!(
        lines.iter().any(|l| l.starts_with("SIP/2.0 200")),
        "{lines:?}"
    );
    let byes: Vec<_> = sent
        .iter()
        .filter(|m| m.payload.starts_with(b"BYE "))
        .cloned()
        .collect();
    assert_eq!(byes.len(), 1, "{lines:?}");
    assert_eq!(byes[0].destination, t(A).addr);
    let (to_bob, to_alice): (Vec<_>, Vec<_>) =
        sent.into_iter().partition(|m| m.destination == t(B).addr);
    deliver(now, &mut a, C, to_alice);
    let ev = events(&mut a);
    assert!(
        ev.iter()
            .any(|e| matches!(e, UaEvent::Ended { leg, by_peer: true } if *leg == ac)),
        "{ev:?}"
    );
    deliver(now, &mut c, A, out(&mut a));
    assert!(
        events(&mut c)
            .iter()
            .any(|e| matches!(e, UaEvent::Ended { leg, by_peer: false } if *leg == ca))
    );
    deliver(now, &mut b, C, to_bob);
    assert!(
        events(&mut b)
            .iter()
            .any(|e| matches!(e, UaEvent::Answered { leg, .. } if *leg == bc))
    );
    deliver(now, &mut c, B, out(&mut b));
    assert!(
        events(&mut c)
            .iter()
            .any(|e| matches!(e, UaEvent::Confirmed { leg, .. } if *leg == cb))
    );
    // The replaced dialog is gone: a second INVITE naming it is declined with 603.
    call_with(&mut b, now, C, &[("Replaces", &value)]);
    deliver(now, &mut c, B, out(&mut b));
    assert_eq!(status_of(&out(&mut c)), 603);
    assert_eq!(c.find_replaced(&replaces), Err(ReplacesError::Terminated));
    assert!(events(&mut c).is_empty(), "no call for the application");
}

#[test]
fn replaces_without_a_match_or_malformed_is_refused() {
    let now = origin();
    let (mut a, mut b, mut c) = (ua(A, "alice", 1), ua(B, "bob", 2), ua(C, "carol", 3));
    let (_ac, ca) = connect(&mut a, A, &mut c, C, now);
    let good = c.dialog(ca).unwrap().id().clone();
    let cases: [(String, u16); 6] = [
        // Tags swapped: as Carol sees it, to-tag is her own tag.
        (
            format!(
                "{};to-tag={};from-tag={}",
                good.call_id, good.remote_tag, good.local_tag
            ),
            481,
        ),
        (
            format!(
                "other@x;to-tag={};from-tag={}",
                good.local_tag, good.remote_tag
            ),
            481,
        ),
        // A confirmed dialog with early-only: 486.
        (
            format!(
                "{};to-tag={};from-tag={};early-only",
                good.call_id, good.local_tag, good.remote_tag
            ),
            486,
        ),
        // No from-tag: malformed.
        (format!("{};to-tag={}", good.call_id, good.local_tag), 400),
        (String::from(";;;"), 400),
        (
            format!(
                "{};to-tag={};from-tag={}",
                good.call_id, good.local_tag, good.remote_tag
            ),
            0,
        ),
    ];
    for (value, want) in cases {
        call_with(&mut b, now, C, &[("Replaces", &value)]);
        deliver(now, &mut c, B, out(&mut b));
        if want == 0 {
            let (leg, _) = incoming_request(&events(&mut c));
            assert_eq!(c.replaced_leg(leg), Some(ca), "{value}");
            c.reject(now, leg, 486).unwrap();
            // Rejecting the new call leaves the old one alone.
            assert!(
                !first_lines(&out(&mut c))
                    .iter()
                    .any(|l| l.starts_with("BYE"))
            );
            assert_eq!(c.find_replaced(&Replaces::parse(&value).unwrap()), Ok(ca));
        } else {
            assert_eq!(status_of(&out(&mut c)), want, "{value}");
            assert!(events(&mut c).is_empty(), "{value}");
        }
        events(&mut b);
    }
    // Two Replaces headers: 400.
    let one = format!(
        "{};to-tag={};from-tag={}",
        good.call_id, good.local_tag, good.remote_tag
    );
    call_with(&mut b, now, C, &[("Replaces", &one), ("Replaces", &one)]);
    deliver(now, &mut c, B, out(&mut b));
    assert_eq!(status_of(&out(&mut c)), 400);
    // A Replaces on another request than INVITE: 400, in a dialog or out of one.
    let (bl, _) = connect(&mut b, B, &mut c, C, now);
    for in_dialog in [true, false] {
        if in_dialog {
            b.request(now, bl, Method::Info, None, &[("Replaces", &one)])
                .unwrap();
        } else {
            let via = b.via().unwrap();
            let req =
                telox_sip_core::Request::builder(Method::Options, uri("sip:carol@127.0.0.1:5063"))
                    .header(via)
                    .raw_header("From", "<sip:bob@127.0.0.1>;tag=x1")
                    .unwrap()
                    .raw_header("To", "<sip:carol@127.0.0.1>")
                    .unwrap()
                    .raw_header("Call-ID", "opt-1@127.0.0.1")
                    .unwrap()
                    .raw_header("CSeq", "1 OPTIONS")
                    .unwrap()
                    .raw_header("Replaces", &one)
                    .unwrap()
                    .build();
            b.send_request(now, req, t(C)).unwrap();
        }
        deliver(now, &mut c, B, out(&mut b));
        assert_eq!(status_of(&out(&mut c)), 400, "in dialog: {in_dialog}");
        assert!(events(&mut c).is_empty());
        events(&mut b);
    }
}

#[test]
fn replaces_of_an_early_dialog_ours_or_not() {
    let now = origin();
    let (mut a, mut b, mut c) = (ua(A, "alice", 1), ua(B, "bob", 2), ua(C, "carol", 3));
    // Carol calls Alice, who rings: an early dialog Carol initiated.
    let ca = call_with(&mut c, now, A, &[]);
    deliver(now, &mut a, C, out(&mut c));
    let ac = incoming(&events(&mut a));
    a.ringing(now, ac, 180, None).unwrap();
    deliver(now, &mut c, A, out(&mut a));
    events(&mut c);
    // At Alice, the dialog is early and not hers: 481, the ringing call stays.
    let at_alice = a.dialog(ac).unwrap().id().clone();
    let value = format!(
        "{};to-tag={};from-tag={}",
        at_alice.call_id, at_alice.local_tag, at_alice.remote_tag
    );
    call_with(&mut b, now, A, &[("Replaces", &value)]);
    deliver(now, &mut a, B, out(&mut b));
    assert_eq!(status_of(&out(&mut a)), 481);
    assert_eq!(
        a.find_replaced(&Replaces::parse(&value).unwrap()),
        Err(ReplacesError::EarlyNotOurs)
    );
    events(&mut b);
    // At Carol, it is her own early dialog (call pickup): accepted with early-only too, and
    // answering the new call cancels the ringing one.
    let at_carol = c.dialog(ca).unwrap().id().clone();
    let value = format!(
        "{};to-tag={};from-tag={};early-only",
        at_carol.call_id, at_carol.local_tag, at_carol.remote_tag
    );
    let bc = call_with(&mut b, now, C, &[("Replaces", &value)]);
    deliver(now, &mut c, B, out(&mut b));
    let cb = incoming(&events(&mut c));
    assert_eq!(c.replaced_leg(cb), Some(ca));
    c.answer(now, cb, None).unwrap();
    let sent = out(&mut c);
    let lines = first_lines(&sent);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("CANCEL sip:callee@127.0.0.1:5061")),
        "{lines:?}"
    );
    let (to_bob, to_alice): (Vec<_>, Vec<_>) =
        sent.into_iter().partition(|m| m.destination == t(B).addr);
    deliver(now, &mut a, C, to_alice);
    assert!(
        events(&mut a)
            .iter()
            .any(|e| matches!(e, UaEvent::Cancelled { leg } if *leg == ac))
    );
    deliver(now, &mut c, A, out(&mut a));
    assert!(
        events(&mut c)
            .iter()
            .any(|e| matches!(e, UaEvent::Failed { leg, status: 487, .. } if *leg == ca))
    );
    deliver(now, &mut b, C, to_bob);
    assert!(
        events(&mut b)
            .iter()
            .any(|e| matches!(e, UaEvent::Answered { leg, .. } if *leg == bc))
    );
}

#[test]
fn attended_transfer_needs_two_confirmed_calls() {
    let now = origin();
    let (mut a, mut b, mut c) = (ua(A, "alice", 1), ua(B, "bob", 2), ua(C, "carol", 3));
    let (ab, _) = connect(&mut a, A, &mut b, B, now);
    let ac = call_with(&mut a, now, C, &[]);
    deliver(now, &mut c, A, out(&mut a));
    let cl = incoming(&events(&mut c));
    c.ringing(now, cl, 180, None).unwrap();
    deliver(now, &mut a, C, out(&mut c));
    assert!(
        a.attended_transfer(now, ab, ac).is_err(),
        "target still ringing"
    );
    assert!(
        a.attended_transfer(now, ac, ab).is_err(),
        "transferee still ringing"
    );
    assert!(out(&mut a).is_empty());
    let r = a.replaces_for(ab).unwrap();
    assert_eq!(r.to_tag, a.dialog(ab).unwrap().id().remote_tag);
    assert_eq!(Replaces::parse(&r.header_value()), Some(r));
}
