//! Forking (RFC 3261 §12.1.2, §13.2.2.4): a proxy forks A's INVITE to B1 and B2. A keeps one
//! early dialog per To tag, each with its own route set and remote target, sends in-dialog
//! requests in the one it selects, confirms the dialog whose 2xx arrives first, and ACKs then
//! BYEs the second fork's 2xx (once, however often that 2xx is retransmitted). Three user
//! agents on a virtual clock; the "proxy" is the test adding Record-Route to responses.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers outside #[test] fns"
)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use telox_sip_core::dialog::DialogState;
use telox_sip_core::header::{CSeq, Route, To};
use telox_sip_core::transaction::Transmit;
use telox_sip_core::ua::{LegId, UaError, UaEvent, UserAgent};
use telox_sip_core::{Method, Request, Response};
use ua_support::*;

mod ua_support;

const B2: &str = "127.0.0.1:5063";

/// The proxy on the way back: adds `Record-Route: <sip:{proxy};lr>` to each response, as a
/// record-routing proxy on that branch would have.
fn via_proxy(msgs: Vec<Transmit>, proxy: &str) -> Vec<Transmit> {
    msgs.into_iter()
        .map(|mut m| {
            let text = String::from_utf8(m.payload.to_vec()).unwrap();
            if text.starts_with("SIP/2.0") {
                let (first, rest) = text.split_once("\r\n").unwrap();
                m.payload = Bytes::from(format!(
                    "{first}\r\nRecord-Route: <sip:{proxy};lr>\r\n{rest}"
                ));
            }
            m
        })
        .collect()
}

fn to_tag(r: &Response) -> String {
    r.header::<To>().unwrap().unwrap().tag().unwrap().to_owned()
}

fn routes(r: &Request) -> Vec<String> {
    r.header_all::<Route>()
        .map(|r| r.unwrap().uri().as_str().to_owned())
        .collect()
}

fn seq(r: &Request) -> u32 {
    r.header::<CSeq>().unwrap().unwrap().seq()
}

fn count(evs: &[UaEvent], f: impl Fn(&UaEvent) -> bool) -> usize {
    evs.iter().filter(|e| f(e)).count()
}

/// A calling, the INVITE forked to B1 and B2, both with an incoming call: the three user
/// agents and the legs (A's, B1's, B2's).
fn forked(t0: Instant) -> (UserAgent, UserAgent, UserAgent, [LegId; 3]) {
    let mut a = ua(A, "alice", 1);
    let mut b1 = ua(B, "bob", 2);
    let mut b2 = ua(B2, "bob", 3);
    let al = call(&mut a, t0);
    let invite = out(&mut a);
    // The proxy forks: both branches get the INVITE.
    deliver(t0, &mut b1, A, invite.clone());
    deliver(t0, &mut b2, A, invite);
    let l1 = incoming(&events(&mut b1));
    let l2 = incoming(&events(&mut b2));
    (a, b1, b2, [al, l1, l2])
}

#[test]
fn two_forks_first_2xx_wins_second_gets_ack_then_bye() {
    let t0 = origin();
    let (mut a, mut b1, mut b2, [al, l1, l2]) = forked(t0);
    b1.ringing(t0, l1, 180, None).unwrap();
    b2.ringing(t0, l2, 183, None).unwrap();
    let ring1 = via_proxy(out(&mut b1), "p1.example.com");
    let ring2 = via_proxy(out(&mut b2), "p2.example.com");
    let tag1 = to_tag(&responses(&ring1)[0]);
    let tag2 = to_tag(&responses(&ring2)[0]);
    assert_ne!(tag1, tag2);
    deliver(t0, &mut a, B, ring1);
    deliver(t0, &mut a, B, ring2);
    let evs = events(&mut a);
    assert_eq!(count(&evs, |e| matches!(e, UaEvent::Provisional { .. })), 2);

    // One early dialog per To tag, the latest current, each with its own route set and
    // remote target.
    let early = a.early_dialogs(al);
    assert_eq!(early.len(), 2);
    assert_eq!(early[0].id().remote_tag, tag2);
    assert_eq!(early[1].id().remote_tag, tag1);
    assert!(early.iter().all(|d| d.state() == DialogState::Early));
    assert_eq!(early[0].remote_target().as_str(), "sip:bob@127.0.0.1:5063");
    assert_eq!(early[1].remote_target().as_str(), "sip:bob@127.0.0.1:5062");
    assert_eq!(early[0].next_hop().as_str(), "sip:p2.example.com;lr");
    assert_eq!(early[1].next_hop().as_str(), "sip:p1.example.com;lr");
    assert_eq!(
        a.use_early_dialog(al, "no-such-tag"),
        Err(UaError::InvalidState)
    );

    // An UPDATE in fork 1's early dialog follows its route set to its target.
    a.use_early_dialog(al, &tag1).unwrap();
    a.request(t0, al, Method::Update, None, &[]).unwrap();
    let update = out(&mut a);
    let u = &requests(&update)[0];
    assert_eq!(u.uri_str(), "sip:bob@127.0.0.1:5062");
    assert_eq!(routes(u), vec!["sip:p1.example.com;lr"]);
    assert_eq!(seq(u), 2);
    deliver(t0, &mut b1, A, update);
    let key = events(&mut b1)
        .into_iter()
        .find_map(|e| match e {
            UaEvent::Request { key, leg, .. } if leg == Some(l1) => Some(key),
            _ => None,
        })
        .expect("UPDATE in the early dialog");
    b1.respond(t0, &key, 200, None).unwrap();
    deliver(t0, &mut a, B, via_proxy(out(&mut b1), "p1.example.com"));
    assert!(
        events(&mut a)
            .iter()
            .any(|e| matches!(e, UaEvent::Response { status: 200, .. }))
    );

    // B2 answers first: its dialog is confirmed, the ACK follows B2's route set.
    let t1 = t0 + Duration::from_secs(1);
    b2.answer(t1, l2, None).unwrap();
    deliver(t1, &mut a, B, via_proxy(out(&mut b2), "p2.example.com"));
    let evs = events(&mut a);
    assert_eq!(count(&evs, |e| matches!(e, UaEvent::Answered { .. })), 1);
    let d = a.dialog(al).unwrap();
    assert_eq!(d.id().remote_tag, tag2);
    assert_eq!(d.state(), DialogState::Confirmed);
    assert_eq!(d.remote_target().as_str(), "sip:bob@127.0.0.1:5063");
    assert!(a.early_dialogs(al).is_empty());
    let ack2 = out(&mut a);
    let ack = &requests(&ack2)[0];
    assert_eq!(*ack.method(), Method::Ack);
    assert_eq!(ack.uri_str(), "sip:bob@127.0.0.1:5063");
    assert_eq!(routes(ack), vec!["sip:p2.example.com;lr"]);
    assert_eq!(seq(ack), 1);
    deliver(t1, &mut b2, A, ack2);
    assert!(
        events(&mut b2)
            .iter()
            .any(|e| matches!(e, UaEvent::Confirmed { .. }))
    );

    // B1 answers later: ACK then BYE, both in B1's dialog, no second Answered.
    let t2 = t0 + Duration::from_secs(2);
    b1.answer(t2, l1, None).unwrap();
    let ok1 = via_proxy(out(&mut b1), "p1.example.com");
    deliver(t2, &mut a, B, ok1.clone());
    assert_eq!(
        count(&events(&mut a), |e| matches!(e, UaEvent::Answered { .. })),
        0
    );
    let sent = out(&mut a);
    let reqs = requests(&sent);
    let methods: Vec<Method> = reqs.iter().map(|r| r.method().clone()).collect();
    assert_eq!(methods, vec![Method::Ack, Method::Bye]);
    for r in &reqs {
        assert_eq!(r.uri_str(), "sip:bob@127.0.0.1:5062");
        assert_eq!(routes(r), vec!["sip:p1.example.com;lr"]);
        assert_eq!(to_tag_of(r), tag1);
    }
    assert_eq!(seq(&reqs[0]), 1, "the ACK has the INVITE's CSeq");
    assert_eq!(
        seq(&reqs[1]),
        3,
        "the BYE follows the UPDATE sent in that early dialog"
    );
    deliver(t2, &mut b1, A, sent);
    let evs = events(&mut b1);
    assert_eq!(
        count(&evs, |e| matches!(e, UaEvent::Confirmed { .. })),
        1,
        "{evs:?}"
    );
    assert_eq!(
        count(&evs, |e| matches!(e, UaEvent::Ended { by_peer: true, .. })),
        1
    );

    // A retransmission of B1's 2xx is ACKed again, without a second BYE.
    deliver(t2 + Duration::from_millis(500), &mut a, B, ok1);
    let again = out(&mut a);
    let methods: Vec<Method> = requests(&again)
        .iter()
        .map(|r| r.method().clone())
        .collect();
    assert_eq!(methods, vec![Method::Ack]);

    // The winning call is untouched: A hangs up towards B2.
    a.bye(t2, al).unwrap();
    let bye = out(&mut a);
    let r = &requests(&bye)[0];
    assert_eq!(*r.method(), Method::Bye);
    assert_eq!(r.uri_str(), "sip:bob@127.0.0.1:5063");
    assert_eq!(to_tag_of(r), tag2);
}

fn to_tag_of(r: &Request) -> String {
    r.header::<To>().unwrap().unwrap().tag().unwrap().to_owned()
}

#[test]
fn failure_after_forks_clears_every_early_dialog() {
    let t0 = origin();
    let (mut a, mut b1, mut b2, [al, l1, l2]) = forked(t0);
    b1.ringing(t0, l1, 180, None).unwrap();
    b2.ringing(t0, l2, 180, None).unwrap();
    let ring2 = out(&mut b2);
    deliver(t0, &mut a, B, out(&mut b1));
    deliver(t0, &mut a, B, ring2.clone());
    // A retransmitted provisional does not add a dialog.
    deliver(t0, &mut a, B, ring2);
    assert_eq!(a.early_dialogs(al).len(), 2);
    // The proxy forwards the best final response: a 486 from B1.
    b1.reject(t0, l1, 486).unwrap();
    deliver(t0, &mut a, B, out(&mut b1));
    assert!(
        events(&mut a)
            .iter()
            .any(|e| matches!(e, UaEvent::Failed { status: 486, .. }))
    );
    assert!(a.early_dialogs(al).is_empty());
    assert_eq!(a.leg_count(), 0);
    // A request in B2's early dialog now finds nothing at A: 481.
    b2.request(t0, l2, Method::Update, None, &[]).unwrap();
    deliver(t0, &mut a, B2, out(&mut b2));
    let lines = first_lines(&out(&mut a));
    assert!(
        lines.iter().any(|l| l.starts_with("SIP/2.0 481")),
        "{lines:?}"
    );
}
