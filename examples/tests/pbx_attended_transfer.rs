//! Attended transfer through the PBX's B2BUA (RFC 5589 §7 with RFC 3891 Replaces): user 1000
//! calls 1001 and puts it on hold, calls 1002 from a second phone of the same user (its
//! second line), then REFERs 1001's call to 1002 with a Replaces naming the consulted call.
//! The PBX owns both calls: it bridges 1001 with 1002, takes 1001 off hold, NOTIFYs 100 then
//! 200, and hangs up both of 1000's legs. 1001 and 1002 then talk with audio both ways
//! through the new relay. A Replaces naming no dialog is reported 481. The call is recorded
//! in one file across the merge: alice's 440 Hz, then carol's 1 kHz in the left channel.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    reason = "test code"
)]

mod phone_support;

use phone_support::{
    Phone, any_port, auto_answer, config, energy, registered, start_pbx, stereo_recording,
    until_last_sound, wait,
};
use sip_core::transaction::Transport;
use telox_examples::audio::tone;
use telox_examples::cdr::EndCause;
use telox_examples::config::PbxConfig;
use telox_examples::phone::{Command, PhoneEvent};
use tokio::sync::mpsc;

/// CI's flake: alice's INVITE to 1001 got 486 at once. The PBX sends a large INVITE to a
/// phone on UDP over TCP to the same address (RFC 3261 §18.1.1), and reuses a connection it
/// accepted from that address (§18 indexes them by source): alice's own connection to the
/// PBX, made from an ephemeral port equal to bob's UDP port, took bob's INVITE and alice,
/// in her call, said busy. A phone on UDP now holds its port on TCP, so no connection can
/// come from it, and TCP connects to it are still refused (the PBX falls back to UDP).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_connection_to_the_pbx_can_come_from_a_udp_phones_port() {
    let cfg = PbxConfig::demo(any_port(), 1000, 1009, None);
    let pbx = start_pbx(cfg, 8, None).await;
    let pbx_addr = pbx.addr;
    let mut alice = registered(config("1000", Transport::Udp, 1), "1000", pbx_addr).await;
    let mut bob = registered(auto_answer("1001", Transport::Udp, 3), "1001", pbx_addr).await;
    let other = tokio::net::TcpSocket::new_v4().unwrap();
    assert_eq!(
        other.bind(bob.addr).map_err(|e| e.kind()),
        Err(std::io::ErrorKind::AddrInUse),
        "a connection to the PBX from bob's port would take bob's INVITE"
    );
    let refused = tokio::net::TcpStream::connect(bob.addr).await;
    assert_eq!(
        refused.map(drop).map_err(|e| e.kind()),
        Err(std::io::ErrorKind::ConnectionRefused)
    );
    alice.send(Command::Call("1001".into())).await;
    alice.answered().await.unwrap();
    bob.answered().await.unwrap();
    alice.send(Command::Hangup).await;
    alice.ended().await.unwrap();
    bob.ended().await.unwrap();
    for p in [alice, bob] {
        p.quit().await;
    }
    pbx.stop().await;
}

/// `caller` calls `number` (answered automatically by `callee`) and puts it on hold.
async fn call_and_hold(caller: &mut Phone, callee: &mut Phone, number: &str) {
    caller.send(Command::Call(number.into())).await;
    caller.answered().await.unwrap();
    callee.answered().await.unwrap();
    caller.send(Command::Hold).await;
    let name = caller.name.clone();
    wait(&name, &mut caller.events, |e| {
        matches!(e, PhoneEvent::Hold(true)).then_some(())
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attended_transfer_bridges_the_held_and_the_consulted_party() {
    let dir = std::env::temp_dir().join(format!("telox-pbx-att-{}", std::process::id()));
    let mut cfg = PbxConfig::demo(any_port(), 1000, 1009, None);
    cfg.record_dir = Some(dir.clone());
    let (log_tx, mut log) = mpsc::channel(4096);
    let pbx = start_pbx(cfg, 7, Some(log_tx)).await;
    let pbx_addr = pbx.addr;
    tokio::spawn(async move {
        while let Some(l) = log.recv().await {
            eprintln!("pbx: {l}");
        }
    });

    // Alice (1000) on two phones; bob (1001) and carol (1002) answer automatically.
    let mut alice = config("1000", Transport::Udp, 1);
    alice.play = Some(tone(8000, 440.0, 8.0, 8000));
    let mut a1 = registered(alice, "1000", pbx_addr).await;
    let mut a2 = registered(config("1000", Transport::Udp, 2), "1000", pbx_addr).await;
    let mut bob = registered(auto_answer("1001", Transport::Udp, 3), "1001", pbx_addr).await;
    let mut carol = auto_answer("1002", Transport::Udp, 4);
    carol.play = Some(tone(8000, 1000.0, 8.0, 8000));
    let mut carol = registered(carol, "1002", pbx_addr).await;

    call_and_hold(&mut a1, &mut bob, "1001").await;
    a2.send(Command::Call("1002".into())).await;
    a2.answered().await.unwrap();
    let consulted = wait("1000", &mut a2.events, |e| match e {
        PhoneEvent::Replaces(r) => Some(r.clone()),
        _ => None,
    })
    .await
    .unwrap();
    carol.answered().await.unwrap();

    // A Replaces naming no dialog of the PBX: 202, then 481. The phone hangs up after a
    // failed transfer's final NOTIFY, so the real transfer uses a fresh call to bob.
    a1.send(Command::AttendedTransfer {
        to: "1002".into(),
        replaces: "nosuchcall@127.0.0.1;to-tag=x;from-tag=y".into(),
    })
    .await;
    assert_eq!(a1.transfer_statuses().await, vec![100, 481]);
    a1.ended().await.unwrap();
    bob.ended().await.unwrap();
    call_and_hold(&mut a1, &mut bob, "1001").await;

    a1.send(Command::AttendedTransfer {
        to: "1002".into(),
        replaces: consulted,
    })
    .await;
    assert_eq!(a1.transfer_statuses().await, vec![100, 200]);
    // Both of alice's calls end; bob and carol stay up and now talk to each other.
    a1.ended().await.unwrap();
    let (_, transferred) = a2.ended().await.unwrap();
    assert!(!transferred);

    Phone::talk_and_hang_up(&mut bob, &mut carol).await;
    for p in [a1, a2, bob, carol] {
        p.quit().await;
    }
    let summary = pbx.stop().await;
    let recs = &summary.records;
    // The failed attempt's call, the consulted call (merged away), and the bridged call.
    assert_eq!(recs.len(), 3, "{recs:#?}");
    let merged = recs
        .iter()
        .find(|r| r.end_cause == EndCause::Transferred)
        .unwrap();
    assert_eq!(merged.to, "1002");
    let bridged = recs.last().unwrap();
    assert_eq!(
        (bridged.to.as_str(), bridged.destination.as_str()),
        ("1001", "1001")
    );
    // The last two legs are the new relay's, from the merge on: bob (taken off hold) and
    // carol both sent audio through it.
    let n = bridged.legs.len();
    assert!(n >= 4, "{:#?}", bridged.legs);
    let after = &bridged.legs[n - 2..];
    for leg in after {
        assert!(
            leg.packets_received >= 40,
            "{} relayed only {} packets after the transfer",
            leg.leg,
            leg.packets_received
        );
    }
    let mut names: Vec<&str> = after.iter().map(|l| l.leg.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["1001 -> pbx", "1002 -> pbx"]);
    // One recording of the bridged call, going on after the merge: its last half second
    // has carol (1 kHz, taking alice's side, the left channel), not alice (440 Hz).
    let (rate, left, _) =
        stereo_recording(std::path::Path::new(bridged.recording.as_deref().unwrap())).await;
    // Bob's side may run on after carol's last packet (on a loaded machine the file's last
    // half second was all padding once): the left channel's audio ends at its last sound.
    let left = until_last_sound(&left);
    let half = rate as usize / 2;
    assert!(left.len() > 2 * half, "{} frames", left.len());
    let last = &left[left.len() - half..];
    let (l440, l1k) = (energy(last, rate, 440.0), energy(last, rate, 1000.0));
    assert!(
        l1k > 20.0 * l440,
        "last 0.5 s: 440 Hz {l440:e}, 1 kHz {l1k:e}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
