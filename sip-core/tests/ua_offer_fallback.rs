//! The fallback offer of an INVITE ([`UserAgent::set_fallback_offer`]): after a 488 or 606
//! the INVITE goes again once with it, as a new transaction of the same call attempt (RFC 3261
//! §8.1.3.5 as after a 401: the same Call-ID, From and To, CSeq + 1, a new branch); the second
//! refusal fails the leg; a cancelled call does not send its INVITE again (after a 488, 407 or
//! 422). Two user agents on a virtual clock, delivery by hand.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers outside #[test] fns"
)]

use bytes::Bytes;
use telox_sip_core::header::{CSeq, CallId, From, To, Via};
use telox_sip_core::ua::session_timer::SessionTimerConfig;
use telox_sip_core::ua::{Body, UaConfig, UaEvent, UserAgent};
use telox_sip_core::{Request, Response, StatusCode};
use ua_support::*;

mod ua_support;

fn offer(profile: &str) -> Body {
    Body::sdp(Bytes::from(format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 {profile} 0\r\n"
    )))
}

/// Alice calls with an RTP/AVP offer and an RTP/SAVP fallback; returns her leg and the INVITE.
fn call_with_fallback(a: &mut UserAgent) -> (telox_sip_core::ua::LegId, Request) {
    let now = origin();
    let leg = a
        .invite(
            now,
            uri("sip:alice@127.0.0.1"),
            uri("sip:bob@127.0.0.1"),
            uri("sip:bob@127.0.0.1:5062"),
            t(B),
            Some(offer("RTP/AVP")),
        )
        .unwrap();
    a.set_fallback_offer(leg, offer("RTP/SAVP")).unwrap();
    let invite = Request::parse(out(a)[0].payload.clone()).unwrap();
    (leg, invite)
}

fn refuse(
    a: &mut UserAgent,
    invite: &Request,
    status: u16,
) -> Vec<telox_sip_core::transaction::Transmit> {
    let r = Response::builder(invite, StatusCode(status))
        .to_tag("b")
        .build();
    a.handle_datagram(origin(), t(B), r.to_bytes());
    out(a)
}

fn body_has(r: &Request, needle: &str) -> bool {
    String::from_utf8_lossy(r.body()).contains(needle)
}

#[test]
fn a_488_sends_the_fallback_offer_in_the_same_call_once() {
    let mut a = ua(A, "alice", 1);
    let (leg, invite) = call_with_fallback(&mut a);
    assert!(body_has(&invite, "RTP/AVP 0"));
    let sent = refuse(&mut a, &invite, 488);
    let lines = first_lines(&sent);
    assert!(
        lines[0].starts_with("ACK") && lines[1].starts_with("INVITE"),
        "{lines:?}"
    );
    let retry = Request::parse(sent[1].payload.clone()).unwrap();
    assert!(body_has(&retry, "RTP/SAVP 0"));
    let id = |r: &Request| r.header::<CallId>().unwrap().unwrap().as_str().to_owned();
    let tag = |r: &Request| {
        r.header::<From>()
            .unwrap()
            .unwrap()
            .tag()
            .map(str::to_owned)
    };
    let seq = |r: &Request| r.header::<CSeq>().unwrap().unwrap().seq();
    let branch = |r: &Request| {
        r.header::<Via>()
            .unwrap()
            .unwrap()
            .branch()
            .map(str::to_owned)
    };
    assert_eq!(id(&retry), id(&invite));
    assert_eq!(tag(&retry), tag(&invite));
    assert_eq!(seq(&retry), seq(&invite) + 1);
    assert_ne!(branch(&retry), branch(&invite), "a new transaction");
    assert_eq!(
        retry.header::<To>().unwrap().unwrap().tag(),
        None,
        "the same To: no tag"
    );
    let ev = events(&mut a);
    assert!(
        ev.iter()
            .any(|e| matches!(e, UaEvent::OfferRetried { leg: l, status: 488 } if *l == leg)),
        "{ev:?}"
    );
    assert!(
        !ev.iter().any(|e| matches!(e, UaEvent::Failed { .. })),
        "{ev:?}"
    );
    // The second refusal (606 too) fails the leg: one retry per call.
    let sent = refuse(&mut a, &retry, 606);
    assert_eq!(first_lines(&sent), ["ACK sip:bob@127.0.0.1:5062 SIP/2.0"]);
    let ev = events(&mut a);
    assert!(
        ev.iter()
            .any(|e| matches!(e, UaEvent::Failed { status: 606, .. })),
        "{ev:?}"
    );
}

/// A 180 with tag b, then 488: the refusal ended that early dialog (RFC 3261 §12.3), so the
/// retry's 180 and 200 tagged b confirm a dialog of the retry: the BYE goes with CSeq 3.
#[test]
fn a_488_ends_the_early_dialog_of_the_first_invite() {
    let mut a = ua(A, "alice", 1);
    let (leg, invite) = call_with_fallback(&mut a);
    let respond = |a: &mut UserAgent, r: &Request, status: u16| {
        let r = Response::builder(r, StatusCode(status)).to_tag("b").build();
        a.handle_datagram(origin(), t(B), r.to_bytes());
        requests(&out(a))
    };
    assert!(respond(&mut a, &invite, 180).is_empty());
    let sent = refuse(&mut a, &invite, 488);
    let retry = Request::parse(sent[1].payload.clone()).unwrap();
    assert!(body_has(&retry, "RTP/SAVP 0"));
    assert!(respond(&mut a, &retry, 180).is_empty());
    let ack = respond(&mut a, &retry, 200);
    assert_eq!(ack.len(), 1, "the ACK");
    assert!(
        events(&mut a)
            .iter()
            .any(|e| matches!(e, UaEvent::Answered { leg: l, .. } if *l == leg))
    );
    a.bye(origin(), leg).unwrap();
    let bye = requests(&out(&mut a));
    assert_eq!(bye.len(), 1);
    assert_eq!(bye[0].header::<CSeq>().unwrap().unwrap().seq(), 3);
}

#[test]
fn other_refusals_and_cancelled_calls_do_not_retry() {
    let mut a = ua(A, "alice", 1);
    let (_, invite) = call_with_fallback(&mut a);
    let sent = refuse(&mut a, &invite, 486);
    assert_eq!(first_lines(&sent).len(), 1, "the ACK only");
    assert!(
        events(&mut a)
            .iter()
            .any(|e| matches!(e, UaEvent::Failed { status: 486, .. }))
    );

    let mut a = ua(A, "alice", 1);
    let (leg, invite) = call_with_fallback(&mut a);
    let ringing = Response::builder(&invite, StatusCode(180))
        .to_tag("b")
        .build();
    a.handle_datagram(origin(), t(B), ringing.to_bytes());
    a.cancel(origin(), leg).unwrap();
    let _ = out(&mut a);
    let sent = refuse(&mut a, &invite, 488);
    assert!(
        first_lines(&sent).iter().all(|l| !l.starts_with("INVITE")),
        "{:?}",
        first_lines(&sent)
    );
    assert!(
        events(&mut a)
            .iter()
            .any(|e| matches!(e, UaEvent::Failed { status: 488, .. }))
    );
}

/// A call cancelled before any provisional (the CANCEL waits for one) that gets a 407, or a
/// 422, ends there: no INVITE again, which would ring the callee of a call given up.
#[test]
fn a_cancelled_call_is_not_sent_again_after_a_407_or_422() {
    for (status, header, value) in [
        (
            407,
            "Proxy-Authenticate",
            r#"Digest realm="proxy", nonce="abc", qop="auth""#,
        ),
        (422, "Min-SE", "600"),
    ] {
        let mut cfg = UaConfig::new(A.parse().unwrap(), "alice", 1);
        cfg.credentials = Some(("alice".into(), "pw".into()));
        cfg.session_timer = Some(SessionTimerConfig {
            session_expires: 90,
            min_se: 90,
            ..SessionTimerConfig::default()
        });
        let mut a = UserAgent::new(cfg);
        let (leg, invite) = call_with_fallback(&mut a);
        a.cancel(origin(), leg).unwrap();
        assert!(out(&mut a).is_empty(), "the CANCEL waits for a provisional");
        let r = Response::builder(&invite, StatusCode(status))
            .to_tag("p")
            .raw_header(header, value)
            .unwrap()
            .build();
        a.handle_datagram(origin(), t(B), r.to_bytes());
        let sent = out(&mut a);
        assert_eq!(
            first_lines(&sent),
            ["ACK sip:bob@127.0.0.1:5062 SIP/2.0"],
            "{status}: the ACK only"
        );
        let ev = events(&mut a);
        assert!(
            ev.iter()
                .any(|e| matches!(e, UaEvent::Failed { leg: l, status: s, .. } if *l == leg && *s == status)),
            "{ev:?}"
        );
        assert_eq!(a.leg_count(), 0);
    }
}

#[test]
fn no_fallback_on_an_incoming_leg() {
    let now = origin();
    let (mut a, mut b) = (ua(A, "alice", 1), ua(B, "bob", 2));
    call(&mut a, now);
    deliver(now, &mut b, A, out(&mut a));
    let leg = incoming(&events(&mut b));
    assert!(b.set_fallback_offer(leg, offer("RTP/SAVP")).is_err());
}
