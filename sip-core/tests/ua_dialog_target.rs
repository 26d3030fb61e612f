//! In-dialog requests to the dialog's next hop as the application located it
//! (`UserAgent::set_dialog_target`, RFC 3261 §12.2.1.1 with RFC 3263): by default a call's
//! requests go where its INVITE went or came from; once a target is set, the BYE and the
//! other in-dialog requests go there, over the leg's transport, to that one target.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers outside #[test] fns"
)]

use telox_sip_core::transaction::{Target, Transmit, Transport};
use telox_sip_core::ua::{LegId, UaError};
use telox_sip_core::{Message, Method, Response, StatusCode};
use ua_support::*;

mod ua_support;

/// Where the requests of `method` among `msgs` went.
fn sent_to(msgs: &[Transmit], method: &Method) -> Vec<Target> {
    msgs.iter()
        .filter(|t| {
            matches!(Message::parse(t.payload.clone()),
                Ok(Message::Request(r)) if r.method() == method)
        })
        .map(|t| Target {
            transport: t.transport,
            addr: t.destination,
        })
        .collect()
}

fn at(transport: Transport, addr: &str) -> Target {
    Target {
        transport,
        addr: addr.parse().unwrap(),
    }
}

#[test]
fn in_dialog_requests_go_to_the_located_next_hop_on_both_sides() {
    let t0 = origin();
    let (mut a, mut b) = (ua(A, "alice", 1), ua(B, "bob", 2));
    let (al, bl) = established(&mut a, &mut b, t0);
    // By default: where the INVITE went.
    a.request(t0, al, Method::Info, None, &[]).unwrap();
    assert_eq!(sent_to(&out(&mut a), &Method::Info), [t(B)]);

    // The next hop located: a TCP target first, which the UDP dialog skips.
    let located = [
        at(Transport::Tcp, "192.0.2.9:5060"),
        at(Transport::Udp, "192.0.2.9:5062"),
        at(Transport::Udp, "192.0.2.10:5060"),
    ];
    assert_eq!(a.set_dialog_target(al, &located), Ok(located[1]));
    a.request(t0, al, Method::Info, None, &[]).unwrap();
    assert_eq!(sent_to(&out(&mut a), &Method::Info), [located[1]]);
    a.request(t0, al, Method::Invite, None, &[]).unwrap();
    assert_eq!(sent_to(&out(&mut a), &Method::Invite), [located[1]]);

    // The callee's side alike: its BYE goes to the target set, not to the INVITE's source.
    let callee_hop = at(Transport::Udp, "192.0.2.20:5070");
    assert_eq!(b.set_dialog_target(bl, &[callee_hop]), Ok(callee_hop));
    b.bye(t0, bl).unwrap();
    assert_eq!(sent_to(&out(&mut b), &Method::Bye), [callee_hop]);
}

#[test]
fn a_dialog_target_needs_the_leg_and_its_transport() {
    let t0 = origin();
    let (mut a, mut b) = (ua(A, "alice", 1), ua(B, "bob", 2));
    let (al, _bl) = established(&mut a, &mut b, t0);
    let tcp = at(Transport::Tcp, "192.0.2.9:5060");
    assert_eq!(a.set_dialog_target(al, &[tcp]), Err(UaError::NoTarget));
    assert_eq!(a.set_dialog_target(al, &[]), Err(UaError::NoTarget));
    let gone = LegId(u64::MAX);
    assert_eq!(a.set_dialog_target(gone, &[t(B)]), Err(UaError::NoSuchLeg));
    // Nothing set: the BYE goes where the INVITE went.
    a.bye(t0, al).unwrap();
    assert_eq!(sent_to(&out(&mut a), &Method::Bye), [t(B)]);
}

#[test]
fn the_ack_of_a_reinvite_goes_where_the_reinvite_went() {
    let t0 = origin();
    let (mut a, mut b) = (ua(A, "alice", 1), ua(B, "bob", 2));
    let (al, _bl) = established(&mut a, &mut b, t0);
    let hop = at(Transport::Udp, "192.0.2.9:5062");
    assert_eq!(a.set_dialog_target(al, &[hop]), Ok(hop));
    a.request(t0, al, Method::Invite, None, &[]).unwrap();
    let sent = out(&mut a);
    assert_eq!(sent_to(&sent, &Method::Invite), [hop]);
    let reinvite = requests(&sent).remove(0);
    let ok = Response::builder(&reinvite, StatusCode(200)).build();
    a.handle_datagram(t0, hop, ok.to_bytes());
    assert_eq!(sent_to(&out(&mut a), &Method::Ack), [hop]);
    // A retransmission of the 2xx gets the same ACK, to the same place.
    a.handle_datagram(t0, hop, ok.to_bytes());
    assert_eq!(sent_to(&out(&mut a), &Method::Ack), [hop]);
}

/// The To tag of `r`.
fn to_tag(r: &Response) -> String {
    let to = r.headers().named_str("To").next().unwrap();
    let value = to.value_str().unwrap();
    value.split(";tag=").nth(1).unwrap().to_owned()
}

/// A ringing call (RFC 3262): the PRACK of the first reliable provisional goes where the
/// INVITE went; once the application located the early dialog's next hop, the PRACK of the
/// next one and an UPDATE (RFC 3311) in that dialog go there. Another fork's provisional
/// makes its own dialog current, whose requests go where the INVITE went; back in the
/// first fork, to its target again.
#[test]
fn prack_and_update_in_an_early_dialog_go_to_its_located_next_hop() {
    let t0 = origin();
    let (mut a, mut b) = (ua(A, "alice", 1), ua(B, "bob", 2));
    let al = call(&mut a, t0);
    deliver(t0, &mut b, A, out(&mut a));
    let bl = incoming(&events(&mut b));
    b.ringing_reliable(t0, bl, 183, None).unwrap();
    let first = out(&mut b);
    let tag = to_tag(&responses(&first)[0]);
    deliver(t0, &mut a, B, first);
    let prack = out(&mut a);
    assert_eq!(sent_to(&prack, &Method::Prack), [t(B)]);
    deliver(t0, &mut b, A, prack);
    deliver(t0, &mut a, B, out(&mut b));

    let hop = at(Transport::Udp, "192.0.2.9:5062");
    assert_eq!(a.set_dialog_target(al, &[hop]), Ok(hop));
    b.ringing_reliable(t0, bl, 180, None).unwrap();
    let second = out(&mut b);
    let ringing = responses(&second)[0].to_bytes();
    deliver(t0, &mut a, B, second);
    assert_eq!(sent_to(&out(&mut a), &Method::Prack), [hop]);
    a.request(t0, al, Method::Update, None, &[]).unwrap();
    assert_eq!(sent_to(&out(&mut a), &Method::Update), [hop]);

    // A second fork rings (its own To tag): its dialog is current, with no target set.
    let text = String::from_utf8(ringing.to_vec()).unwrap();
    let fork = text
        .replace(&format!("tag={tag}"), "tag=fork2")
        .replace("Require: 100rel\r\n", "");
    a.handle_datagram(t0, t(B), fork.into_bytes().into());
    let _ = out(&mut a);
    a.request(t0, al, Method::Update, None, &[]).unwrap();
    assert_eq!(sent_to(&out(&mut a), &Method::Update), [t(B)]);
    a.use_early_dialog(al, &tag).unwrap();
    a.request(t0, al, Method::Update, None, &[]).unwrap();
    assert_eq!(sent_to(&out(&mut a), &Method::Update), [hop]);
}
