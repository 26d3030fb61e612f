//! The phone with its registrar by name (RFC 3263): an in-process nameserver on loopback
//! serves `registrar.test` with a TTL of 1 s. The phone registers at the server the SRV
//! record names; the record then moves to another server, and once its TTL has run out the
//! phone locates the name again (`UaEvent::TargetsExpired`): the next REGISTER and the next
//! call reach the new server, without a restart.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers fail the test on setup errors"
)]

mod dns_support;
mod phone_support;

use std::sync::{Arc, Mutex};

use dns_support::{Srv, nameserver, reaches, sip_server};
use phone_support::{WAIT, config, start, wait};
use sip_core::Method;
use sip_core::transaction::Transport;
use telox_examples::phone::{Command, PhoneEvent};
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
