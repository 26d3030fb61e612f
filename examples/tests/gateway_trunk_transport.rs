//! One trunk, one transport, for the gateway: a trunk written as `sip:<addr>;transport=tcp`
//! (or `tls`, verified against `tls_ca`) gets every request over that transport: the first
//! REGISTER, its answer to the 401 challenge, the refreshes, the INVITE of a call and the
//! REGISTER removing the binding at stop. The trunk is a sip-core driver with a registrar
//! that challenges and grants 2 s (so the gateway refreshes within the test), recording the
//! transport of every request; the caller is a telox phone on UDP.
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
use telox_examples::gateway::{self, GatewayConfig};
use telox_examples::phone::Command;
use telox_examples::trunk::{TrunkAddress, TrunkRegistration};
use tokio::sync::{mpsc, oneshot, watch};

async fn gateway_over(transport: Transport) {
    let pki = Pki::new("gwtrunkpki");
    let tls = (transport == Transport::Tls).then(|| pki.issue("trunk"));
    let (reg_tx, mut reg_rx) = mpsc::unbounded_channel();
    let (driver, addr, trunk) = trunk(transport, tls, reg_tx).await;
    let stop_trunk = Arc::new(AtomicBool::new(false));
    let trunk_task = tokio::spawn(run_trunk(driver, trunk, stop_trunk.clone()));

    let spec = format!("sip:{addr};transport={}", transport.as_via_str());
    let at = TrunkAddress::locate(&spec, None, any_port()).await.unwrap();
    assert_eq!(at.transport, transport);
    let cfg = GatewayConfig {
        listen: any_port(),
        tls_ca: (transport == Transport::Tls).then(|| pki.ca_file("gwtrunkpki")),
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
    alice.send(Command::Hangup).await;
    alice.ended().await.unwrap();
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
    // The BYE of the call too.
    assert!(
        !rec.transports_of(&Method::Bye).is_empty(),
        "{:?}",
        rec.requests
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tcp_trunk_registers_refreshes_and_calls_over_tcp() {
    gateway_over(Transport::Tcp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_trunk_registers_refreshes_and_calls_over_tls() {
    gateway_over(Transport::Tls).await;
}
