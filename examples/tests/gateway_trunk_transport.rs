//! One trunk, one transport, for the gateway: a trunk written as `sip:<addr>;transport=tcp`
//! (or `tls`, verified against the gateway's `tls.ca`) gets every request over that
//! transport: the first REGISTER, its answer to the 401 challenge, the refreshes, the INVITE
//! of a call and the REGISTER removing the binding at stop. The trunk is a sip-core driver
//! with a registrar that challenges and grants 2 s (so the gateway refreshes within the
//! test), recording the transport of every request; the caller is a telox phone on UDP. The
//! trunk hangs up: its BYE goes to the gateway's Contact on a connection of its own (over
//! TLS: the gateway's TLS listener, which the Contact names).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    reason = "test code"
)]

mod phone_support;
mod recording_ua;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use phone_support::{Phone, Pki, any_port, config, start};
use recording_ua::{all_over, run_trunk, trunk, wait_registrations};
use sip_core::Method;
use sip_core::transaction::Transport;
use telox_examples::config::TlsListen;
use telox_examples::gateway::{self, GatewayConfig};
use telox_examples::phone::Command;
use telox_examples::trunk::{TrunkAddress, TrunkRegistration};
use tokio::sync::{mpsc, oneshot, watch};

async fn gateway_over(transport: Transport) {
    let pki = Pki::new("gwtrunkpki");
    let ca = pki.ca_file("gwtrunkpki");
    // The gateway's TLS listener, at a port known here (the Contact must name it).
    let tls_listen = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let tls = (transport == Transport::Tls).then(|| {
        let (cert, key) = pki.issue("trunk");
        (cert, key, Some(ca.clone()))
    });
    let (reg_tx, mut reg_rx) = mpsc::unbounded_channel();
    let (driver, addr, trunk) = trunk(transport, tls, reg_tx).await;
    let hang_up = Arc::clone(&trunk.hang_up);
    let stop_trunk = Arc::new(AtomicBool::new(false));
    let trunk_task = tokio::spawn(run_trunk(driver, trunk, stop_trunk.clone()));

    let spec = format!("sip:{addr};transport={}", transport.as_via_str());
    let at = TrunkAddress::locate(&spec, None, any_port()).await.unwrap();
    assert_eq!(at.transport, transport);
    let cfg = GatewayConfig {
        listen: any_port(),
        tls: (transport == Transport::Tls).then(|| {
            let (cert, key) = pki.issue("gw");
            TlsListen {
                listen: tls_listen,
                cert,
                key,
                ca: Some(ca.clone()),
            }
        }),
        registrations: vec![TrunkRegistration::located("1", "telox", &at, 60).unwrap()],
        trunks: vec![at],
        dns: None,
        allow: vec!["127.0.0.0/8".parse().unwrap()],
        trunk_sources: Vec::new(),
        credentials: Some(("telox".into(), "trunk-secret".into())),
        trunk_codecs: vec!["PCMU".into()],
        trunk_srtp: sdp::SrtpPolicy::Disabled,
        internal_codecs: vec!["PCMU".into()],
        trunk_timeout: Duration::from_secs(5),
        seed: 47,
    };
    let (log_tx, mut log) = mpsc::channel(4096);
    let (stop, stop_rx) = watch::channel(false);
    let (bound_tx, bound) = oneshot::channel();
    let gw = tokio::spawn(gateway::run_reporting(cfg, log_tx, stop_rx, Some(bound_tx)));
    let listen = tokio::time::timeout(phone_support::WAIT, bound)
        .await
        .unwrap()
        .unwrap();
    // The first registration and one refresh (the trunk grants 2 s).
    wait_registrations(&mut reg_rx, &mut log, 2).await;

    let mut alice = start(config("alice", Transport::Udp, 48)).await;
    alice
        .send(Command::Call(format!("sip:5550100@{listen}")))
        .await;
    let answered = alice.answered().await;
    let mut lines = Vec::new();
    while let Ok(l) = log.try_recv() {
        lines.push(l);
    }
    assert!(answered.is_ok(), "not answered: {lines:#?}");
    // The carrier hangs up: its BYE reaches the gateway, which ends alice's call.
    hang_up.store(true, std::sync::atomic::Ordering::Relaxed);
    let ended = alice.ended().await;
    let mut lines = Vec::new();
    while let Ok(l) = log.try_recv() {
        lines.push(l);
    }
    assert!(
        ended.is_ok(),
        "the trunk's BYE did not end the call: {lines:#?}"
    );
    Phone::quit(alice).await;
    let _ = stop.send(true);
    let summary = tokio::time::timeout(Duration::from_secs(10), gw)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(summary.answered, 1, "{summary:?}");
    assert_eq!(
        summary.trunks_registered, 0,
        "unregistered at stop: {summary:?}"
    );

    let rec = all_over(trunk_task, &stop_trunk, transport).await;
    // Over TLS the Contact of the INVITE and of every REGISTER but the removal (`*` or an
    // expires of 0 on the same Contact) names the TLS listener, where the carrier's own
    // requests go; over TCP the listen address.
    let contacts: Vec<_> = rec
        .contacts
        .iter()
        .filter(|(m, _)| *m == Method::Invite || *m == Method::Register)
        .collect();
    assert!(!contacts.is_empty());
    for (m, c) in &contacts {
        if transport == Transport::Tls {
            assert!(
                c.contains(&format!("sips:gw@{tls_listen}"))
                    || c.contains(&format!("{tls_listen};transport=tls")),
                "{m} Contact {c} does not name the TLS listener {tls_listen}"
            );
        } else {
            assert!(!c.contains(&tls_listen.to_string()), "{m} Contact {c}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tcp_trunk_registers_refreshes_and_calls_over_tcp() {
    gateway_over(Transport::Tcp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_trunk_registers_refreshes_and_calls_over_tls() {
    gateway_over(Transport::Tls).await;
}
