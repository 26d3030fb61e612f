//! The phone with its registrar by name (RFC 3263): an in-process nameserver on loopback
//! serves `registrar.test` with a TTL of 1 s. The phone registers at the server the SRV
//! record names; the record then moves to another server, and once its TTL has run out the
//! phone locates the name again (`UaEvent::TargetsExpired`): the next REGISTER and the next
//! call reach the new server, without a restart. And a caller whose Contact is a host
//! name gets the call's later requests at the address that name has, as does a callee
//! ringing with reliable provisionals (RFC 3262) for the next PRACK.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers fail the test on setup errors"
)]

mod dns_support;
mod phone_support;
mod sip_peer;

use std::sync::{Arc, Mutex};

use dns_support::{Srv, nameserver, reaches, sip_server};
use phone_support::{WAIT, auto_answer, config, start, wait};
use sip_core::Method;
use sip_core::transaction::Transport;
use sip_peer::{
    Req, bye_at, final_response, next_request, pcmu_offer, respond, target_by_name, to_tag,
};
use telox_examples::phone::{Command, PhoneEvent};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

#[tokio::test(flavor = "current_thread")]
async fn registrar_moved_by_dns_is_found_without_a_restart() {
    let (tx, mut seen) = mpsc::channel(64);
    // Registrations granted for 2 s: refreshed 1 s after each, past the records' TTL.
    let first = sip_server(200, 2, 486, tx.clone()).await;
    let second = sip_server(200, 2, 486, tx).await;
    let srv: Srv = Arc::new(Mutex::new(vec![(10, first)]));
    let dns = nameserver("registrar.test", Arc::clone(&srv)).await;
    let mut c = config("alice", Transport::Udp, 31);
    c.registrar_name = Some("sip:registrar.test".parse().unwrap());
    c.dns = Some(dns);
    c.expires = 2;
    let mut alice = start(c).await;
    let registered = wait("alice", &mut alice.events, |e| {
        matches!(e, PhoneEvent::Registered { .. }).then_some(())
    })
    .await;
    assert_eq!(registered, Ok(()));
    assert!(reaches(&mut seen, first, &Method::Register, WAIT).await);

    // The record moves: a refresh (at most ~1 s later) finds it stale and the name is
    // located again.
    *srv.lock().unwrap() = vec![(10, second)];
    assert!(
        reaches(&mut seen, second, &Method::Register, WAIT).await,
        "no REGISTER reached the server the record moved to"
    );
    // Calls through the registrar go there too.
    alice
        .send(Command::Call("sip:bob@registrar.test".into()))
        .await;
    assert!(reaches(&mut seen, second, &Method::Invite, WAIT).await);
    assert_eq!(alice.call_outcome().await, Ok(486));
    alice.quit().await;
}

/// A caller whose Contact is a host name (RFC 3261 §12.1.1: the remote target): once the
/// call is up, the phone locates it (RFC 3263) and its BYE goes there, not to the address
/// the INVITE came from.
#[tokio::test(flavor = "current_thread")]
async fn a_remote_target_by_name_gets_the_in_dialog_requests() {
    let dns = nameserver("peer.test", Arc::new(Mutex::new(Vec::new()))).await;
    let mut c = auto_answer("bob", Transport::Udp, 33);
    c.dns = Some(dns);
    let mut bob = start(c).await;
    let caller = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let (target, contact) = target_by_name("peer.test").await;
    let ruri = format!("sip:bob@{}", bob.addr);
    let offer = pcmu_offer(40_010, 5);
    let invite = Req {
        method: "INVITE",
        ruri: &ruri,
        me: caller.local_addr().unwrap(),
        to_tag: "",
        cseq: 1,
        branch: "n1",
        contact: &contact,
        content_type: "application/sdp",
        body: &offer,
    };
    invite.send(&caller, bob.addr).await;
    let (ok, _) = final_response(&caller, "INVITE").await;
    assert_eq!(ok.status().as_u16(), 200);
    let tag = to_tag(&ok);
    let ack = Req {
        method: "ACK",
        to_tag: &tag,
        branch: "n2",
        content_type: "application/sdp",
        body: "",
        ..invite
    };
    ack.send(&caller, bob.addr).await;
    let line = wait("bob", &mut bob.events, |e| match e {
        PhoneEvent::Log(l) if l.starts_with("in-dialog requests") => Some(l.clone()),
        _ => None,
    })
    .await
    .unwrap();
    assert!(line.contains("host.peer.test"), "{line}");
    bob.send(Command::Hangup).await;
    bye_at(&target, &contact).await;
    bob.quit().await;
}

/// The phone calls a peer that rings with reliable provisional responses whose Contact is
/// a host name: the first PRACK goes where the INVITE went; the phone locates the early
/// dialog's next hop, and the PRACK of the next provisional reaches that name's address.
#[tokio::test(flavor = "current_thread")]
async fn a_callee_ringing_reliably_gets_the_next_prack_at_its_contact() {
    let dns = nameserver("peer.test", Arc::new(Mutex::new(Vec::new()))).await;
    let mut c = config("alice", Transport::Udp, 34);
    c.dns = Some(dns);
    let mut alice = start(c).await;
    let callee = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let (target, contact) = target_by_name("peer.test").await;
    let me = callee.local_addr().unwrap();
    alice.send(Command::Call(format!("sip:carol@{me}"))).await;
    let invite = next_request(&callee).await;
    assert_eq!(*invite.method(), Method::Invite);
    let reliable =
        |rseq: u32| format!("Require: 100rel\r\nRSeq: {rseq}\r\nContact: <{contact}>\r\n");
    let to = alice.addr;
    respond(
        &callee,
        to,
        &invite,
        "183 Session Progress",
        &reliable(1),
        "",
    )
    .await;
    let prack = next_request(&callee).await;
    assert_eq!(*prack.method(), Method::Prack);
    let line = wait("alice", &mut alice.events, |e| match e {
        PhoneEvent::Log(l) if l.starts_with("in-dialog requests") => Some(l.clone()),
        _ => None,
    })
    .await
    .unwrap();
    assert!(line.contains("host.peer.test"), "{line}");
    respond(&callee, to, &invite, "180 Ringing", &reliable(2), "").await;
    let prack = next_request(&target).await;
    assert_eq!(*prack.method(), Method::Prack);
    assert_eq!(
        prack.uri_str(),
        contact,
        "the remote target is the Request-URI"
    );
    respond(&callee, to, &invite, "486 Busy Here", "", "").await;
    assert_eq!(alice.call_outcome().await, Ok(486));
    alice.quit().await;
}
