//! Blind transfer (REFER, RFC 3515) between three phones on loopback: A calls B, A transfers
//! B to C; B accepts (202), reports 100 then 200 in NOTIFYs (message/sipfrag), A hangs up
//! after the final NOTIFY, and B and C are in a call with audio both ways. Then a transfer to
//! a target that refuses: A learns the failure from the NOTIFY (486) and hangs up. And the
//! last step of an attended transfer (RFC 5589 §7): a REFER whose Refer-To carries a
//! Replaces makes the phone's INVITE to the target carry it (RFC 3891).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    reason = "test code"
)]

mod phone_support;
mod sip_peer;

use std::time::Duration;

use phone_support::{auto_answer, config, start, wait};
use sip_core::transaction::Transport;
use telox_examples::phone::{Command, PhoneEvent};
use tokio::net::UdpSocket;

/// Waits for A's transfer statuses up to the final one; returns them all.
async fn transfer_statuses(a: &mut phone_support::Phone) -> Vec<u16> {
    let mut seen = Vec::new();
    loop {
        let s = wait("alice", &mut a.events, |e| match e {
            PhoneEvent::TransferStatus(s) => Some(*s),
            _ => None,
        })
        .await
        .unwrap();
        seen.push(s);
        if s >= 200 {
            return seen;
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn blind_transfer_connects_b_and_c_with_audio() {
    let mut a = start(config("alice", Transport::Udp, 1)).await;
    let mut b = start(auto_answer("bob", Transport::Udp, 2)).await;
    let mut c = start(auto_answer("carol", Transport::Udp, 3)).await;

    a.send(Command::Call(format!("sip:bob@{}", b.addr))).await;
    a.answered().await.unwrap();
    b.answered().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    a.send(Command::Transfer(format!("sip:carol@{}", c.addr)))
        .await;
    let referred = wait("bob", &mut b.events, |e| match e {
        PhoneEvent::Referred(to) => Some(to.clone()),
        _ => None,
    })
    .await
    .unwrap();
    assert_eq!(referred, format!("sip:carol@{}", c.addr));
    // Bob's first call ends as transferred; then he is in a call with carol.
    let (_, transferred) = b.ended().await.unwrap();
    assert!(transferred);
    b.answered().await.unwrap();
    c.answered().await.unwrap();

    assert_eq!(transfer_statuses(&mut a).await, vec![100, 200]);
    // Alice hangs up after the final NOTIFY.
    let (ra, transferred) = a.ended().await.unwrap();
    assert!(!transferred);
    assert!(ra.packets_received > 0);

    // Bob and carol talk, then bob hangs up: both received audio.
    phone_support::Phone::talk_and_hang_up(&mut b, &mut c).await;
    for p in [a, b, c] {
        p.quit().await;
    }
}

#[tokio::test(flavor = "current_thread")]
async fn failed_transfer_is_reported_then_the_transferor_hangs_up() {
    let mut a = start(config("alice", Transport::Udp, 11)).await;
    let mut b = start(auto_answer("bob", Transport::Udp, 12)).await;
    // Carol answers nothing automatically: she rejects (busy) when told to hang up.
    let mut c = start(config("carol", Transport::Udp, 13)).await;

    a.send(Command::Call(format!("sip:bob@{}", b.addr))).await;
    a.answered().await.unwrap();
    b.answered().await.unwrap();
    a.send(Command::Transfer(format!("sip:carol@{}", c.addr)))
        .await;
    wait("carol", &mut c.events, |e| {
        matches!(e, PhoneEvent::Incoming(_)).then_some(())
    })
    .await
    .unwrap();
    c.send(Command::Hangup).await;
    assert_eq!(transfer_statuses(&mut a).await, vec![100, 486]);
    // Bob left alice's call for carol on the REFER; after the final NOTIFY alice hangs up.
    let (_, transferred) = b.ended().await.unwrap();
    assert!(transferred);
    let (_, transferred) = a.ended().await.unwrap();
    assert!(!transferred);
    for p in [a, b, c] {
        p.quit().await;
    }
}

/// A raw peer calls bob and REFERs him to a socket playing carol, with a Replaces naming
/// carol's dialog with the transferor: bob's INVITE to carol carries that Replaces.
#[tokio::test(flavor = "current_thread")]
async fn a_refer_with_replaces_sends_an_invite_with_replaces() {
    let bob = start(auto_answer("bob", Transport::Udp, 31)).await;
    let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let carol = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let me = peer.local_addr().unwrap();
    let ruri = format!("sip:bob@{}", bob.addr);
    let offer = sip_peer::pcmu_offer(40_060, 31);
    let invite = sip_peer::Req {
        method: "INVITE",
        ruri: &ruri,
        me,
        to_tag: "",
        cseq: 1,
        branch: "x1",
        contact: "",
        content_type: "application/sdp",
        body: &offer,
    };
    invite.send(&peer, bob.addr).await;
    let (ok, _) = sip_peer::final_response(&peer, "INVITE").await;
    assert_eq!(ok.status().as_u16(), 200);
    let tag = sip_peer::to_tag(&ok);
    let ack = sip_peer::Req {
        method: "ACK",
        to_tag: &tag,
        branch: "x2",
        body: "",
        ..invite
    };
    ack.send(&peer, bob.addr).await;
    let refer_to = format!(
        "Refer-To: <sip:carol@{}?Replaces=c-7%40test%3Bto-tag%3Dct%3Bfrom-tag%3Dat>\r\n",
        carol.local_addr().unwrap()
    );
    let refer = sip_peer::Req {
        method: "REFER",
        cseq: 2,
        branch: "x3",
        ..ack
    }
    .text()
    .replace(
        "Max-Forwards: 70\r\n",
        &format!("Max-Forwards: 70\r\n{refer_to}"),
    );
    peer.send_to(refer.as_bytes(), bob.addr).await.unwrap();
    let invite = sip_peer::next_request(&carol).await;
    assert_eq!(invite.method().to_string(), "INVITE");
    let replaces: Vec<&str> = invite
        .headers()
        .named_str("Replaces")
        .filter_map(|h| h.value_str())
        .collect();
    assert_eq!(replaces, ["c-7@test;to-tag=ct;from-tag=at"]);
    bob.quit().await;
}
