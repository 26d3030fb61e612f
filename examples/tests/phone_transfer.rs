//! Blind transfer (REFER, RFC 3515) between three phones on loopback: A calls B, A transfers
//! B to C; B accepts (202), reports 100 then 200 in NOTIFYs (message/sipfrag), A hangs up
//! after the final NOTIFY, and B and C are in a call with audio both ways. Then a transfer to
//! a target that refuses: A learns the failure from the NOTIFY (486) and hangs up.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    reason = "test code"
)]

mod phone_support;

use std::time::Duration;

use phone_support::{auto_answer, config, start, wait};
use sip_core::transaction::Transport;
use telox_examples::phone::{Command, PhoneEvent};

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
