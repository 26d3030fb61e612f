//! The early dialogs of an INVITE that goes again as a new transaction of the same call
//! attempt (after a 401/407 or a 422): RFC 3261 §12.3, "a non-2xx final response ...
//! terminates all early dialogs created by provisional responses to the request". A
//! provisional and a 2xx to the retry with the To tag of an early dialog of the first INVITE
//! build a new dialog from the retry (its CSeq), not the stale one. The callee's messages
//! are built by hand; a virtual clock.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers outside #[test] fns"
)]

use bytes::Bytes;
use telox_sip_core::header::{CSeq, To};
use telox_sip_core::ua::session_timer::SessionTimerConfig;
use telox_sip_core::ua::{Body, LegId, UaConfig, UaEvent, UserAgent};
use telox_sip_core::{Request, Response, StatusCode};
use ua_support::*;

mod ua_support;

/// Alice calls Bob with an offer; returns her leg and the INVITE.
fn call_with_offer(a: &mut UserAgent) -> (LegId, Request) {
    let sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
               m=audio 4000 RTP/AVP 0\r\n";
    let leg = a
        .invite(
            origin(),
            uri("sip:alice@127.0.0.1"),
            uri("sip:bob@127.0.0.1"),
            uri("sip:bob@127.0.0.1:5062"),
            t(B),
            Some(Body::sdp(Bytes::from_static(sdp.as_bytes()))),
        )
        .unwrap();
    let invite = Request::parse(out(a)[0].payload.clone()).unwrap();
    (leg, invite)
}

fn respond(a: &mut UserAgent, invite: &Request, status: u16, tag: &str) -> Vec<Request> {
    let r = Response::builder(invite, StatusCode(status))
        .to_tag(tag)
        .build();
    a.handle_datagram(origin(), t(B), r.to_bytes());
    requests(&out(a))
}

fn seq(r: &Request) -> u32 {
    r.header::<CSeq>().unwrap().unwrap().seq()
}

/// 180 tagged x, then `refusal` (a 407 or 422 that makes the UA send the INVITE again), then
/// 180 and 200 tagged x to the retry: the call's dialog is the retry's (CSeq 2), and the BYE
/// goes with CSeq 3.
fn retry_after_an_early_dialog(mut a: UserAgent, refusal: impl FnOnce(&Request) -> Response) {
    let (leg, invite) = call_with_offer(&mut a);
    assert!(respond(&mut a, &invite, 180, "x").is_empty());
    assert_eq!(a.early_dialogs(leg).len(), 1);
    a.handle_datagram(origin(), t(B), refusal(&invite).to_bytes());
    let sent = requests(&out(&mut a));
    assert_eq!(sent.len(), 2, "ACK and the INVITE again");
    let retry = sent[1].clone();
    assert_eq!(seq(&retry), 2);
    assert_eq!(retry.header::<To>().unwrap().unwrap().tag(), None);
    assert!(
        a.early_dialogs(leg).is_empty(),
        "the final response ended the early dialog"
    );
    assert!(respond(&mut a, &retry, 180, "x").is_empty());
    let ack = respond(&mut a, &retry, 200, "x");
    assert_eq!(ack.len(), 1);
    assert_eq!(seq(&ack[0]), 2, "the ACK of the retry's 2xx");
    assert!(
        events(&mut a)
            .iter()
            .any(|e| matches!(e, UaEvent::Answered { leg: l, .. } if *l == leg))
    );
    assert_eq!(a.dialog(leg).unwrap().local_seq(), 2, "the retry's dialog");
    a.bye(origin(), leg).unwrap();
    let bye = requests(&out(&mut a));
    assert_eq!(bye.len(), 1);
    assert_eq!(seq(&bye[0]), 3, "the BYE follows the retry's CSeq");
}

#[test]
fn a_407_ends_the_early_dialogs_of_the_first_invite() {
    let mut cfg = UaConfig::new(A.parse().unwrap(), "alice", 1);
    cfg.credentials = Some(("alice".into(), "pw".into()));
    retry_after_an_early_dialog(UserAgent::new(cfg), |invite| {
        Response::builder(invite, StatusCode(407))
            .to_tag("p")
            .raw_header(
                "Proxy-Authenticate",
                r#"Digest realm="proxy", nonce="abc", qop="auth""#,
            )
            .unwrap()
            .build()
    });
}

#[test]
fn a_422_ends_the_early_dialogs_of_the_first_invite() {
    let mut cfg = UaConfig::new(A.parse().unwrap(), "alice", 1);
    cfg.session_timer = Some(SessionTimerConfig {
        session_expires: 90,
        min_se: 90,
        ..SessionTimerConfig::default()
    });
    retry_after_an_early_dialog(UserAgent::new(cfg), |invite| {
        Response::builder(invite, StatusCode(422))
            .to_tag("x")
            .raw_header("Min-SE", "600")
            .unwrap()
            .build()
    });
}
