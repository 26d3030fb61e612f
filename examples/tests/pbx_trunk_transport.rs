//! One trunk, one transport: a PBX trunk written as `sip:<addr>;transport=tcp` (or `tls`)
//! gets every request over that transport: the first REGISTER, its answer to the 401
//! challenge, the refreshes, the INVITE of a call and the REGISTER removing the binding at
//! stop. The trunk is a sip-core driver listening on UDP and TCP (or TLS, with a certificate
//! for 127.0.0.1 from a CA made here, which the PBX trusts), with a registrar that
//! challenges and grants 2 s, so the PBX refreshes within the test; it records the transport
//! every request came over.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    reason = "test code"
)]

mod phone_support;
mod recording_ua;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use phone_support::{Phone, Pki, any_port, config, registered, start_pbx};
use recording_ua::{all_over, run_trunk, trunk, wait_registrations};
use sip_core::transaction::Transport;
use telox_examples::config::{PbxConfig, TlsListen};
use telox_examples::phone::Command;
use tokio::sync::mpsc;

/// The trunk's certificate and key from `pki` when it listens on TLS.
fn tls_identity(pki: &Pki, transport: Transport) -> Option<(PathBuf, PathBuf, Option<PathBuf>)> {
    (transport == Transport::Tls).then(|| {
        let (cert, key) = pki.issue("trunk");
        (cert, key, None)
    })
}

/// The PBX (users 1000-1009) with one trunk at `uri`, registering as `telox`; for a TLS
/// trunk with a TLS listener and `pki`'s CA trusted.
fn pbx_config(uri: &str, pki: &Pki, tls_trunk: bool) -> PbxConfig {
    let mut cfg = PbxConfig::demo(any_port(), 1000, 1009, None).with_trunk(uri.parse().unwrap());
    let t = cfg.trunks.first_mut().unwrap();
    t.username = Some("telox".into());
    t.password = Some("trunk-secret".into());
    t.register = true;
    t.register_expires = 60;
    if tls_trunk {
        let (cert, key) = pki.issue("pbx");
        cfg.tls = Some(TlsListen {
            listen: "127.0.0.1:0".parse().unwrap(),
            cert,
            key,
            ca: Some(pki.ca_file("trunkpki")),
        });
    }
    cfg
}

/// Registers to a trunk over `transport`, waits for a refresh, calls through it, stops the
/// PBX; every request the trunk got must have come over `transport`.
async fn one_trunk_one_transport(transport: Transport) {
    let pki = Pki::new("trunkpki");
    let (reg_tx, mut reg_rx) = mpsc::unbounded_channel();
    let (driver, addr, trunk) = trunk(transport, tls_identity(&pki, transport), reg_tx).await;
    let stop = Arc::new(AtomicBool::new(false));
    let trunk_task = tokio::spawn(run_trunk(driver, trunk, stop.clone()));

    let uri = format!("sip:{addr};transport={}", transport.as_via_str());
    let cfg = pbx_config(&uri, &pki, transport == Transport::Tls);
    let (log_tx, mut log) = mpsc::channel(4096);
    let pbx = start_pbx(cfg, 41, Some(log_tx)).await;
    // The first registration and one refresh.
    wait_registrations(&mut reg_rx, &mut log, 2).await;

    let mut phone = registered(config("1000", Transport::Udp, 3), "1000", pbx.addr).await;
    phone.send(Command::Call("5550100".into())).await;
    phone.answered().await.unwrap();
    phone.send(Command::Hangup).await;
    phone.ended().await.unwrap();
    Phone::quit(phone).await;
    let summary = pbx.stop().await;
    assert_eq!(summary.trunks_registered, 0, "unregistered at stop");

    all_over(trunk_task, &stop, transport).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tcp_trunk_registers_refreshes_and_calls_over_tcp() {
    one_trunk_one_transport(Transport::Tcp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_trunk_registers_refreshes_and_calls_over_tls() {
    one_trunk_one_transport(Transport::Tls).await;
}

/// A trunk whose address and registrar name two transports is refused at start.
#[test]
fn a_trunk_has_one_transport() {
    let pki = Pki::new("onetransport");
    let mut cfg = pbx_config("sip:192.0.2.1:5060;transport=tcp", &pki, false);
    let t = cfg.trunks.first_mut().unwrap();
    t.registrar = Some("sip:192.0.2.2:5060;transport=udp".parse().unwrap());
    let e = cfg.validate().unwrap_err().to_string();
    assert!(e.contains("one transport"), "{e}");
    // A registrar naming none shares the trunk's.
    let t = cfg.trunks.first_mut().unwrap();
    t.registrar = Some("192.0.2.2:5060".parse().unwrap());
    cfg.validate().unwrap();
    let reg = cfg.trunks[0].registration().unwrap().unwrap();
    assert_eq!(reg.transport, Transport::Tcp);
    // A TLS trunk needs a CA to verify it with: refused at start without one.
    let mut cfg = pbx_config("sip:192.0.2.1:5061;transport=tls", &pki, false);
    let e = cfg.validate().unwrap_err().to_string();
    assert!(e.contains("needs tls.ca"), "{e}");
    cfg = pbx_config("sips:192.0.2.1:5061", &pki, true);
    cfg.validate().unwrap();
}

/// A TCP trunk whose registrar is a URI naming no transport (an IP literal here, a host with
/// only A records in the field) registers over TCP: the registrar is located as the URI
/// with `;transport=tcp` (it located UDP targets, all dropped: review rv2 of 334892c).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registrar_naming_no_transport_is_located_over_the_trunks() {
    let pki = Pki::new("unnamedreg");
    let (reg_tx, mut reg_rx) = mpsc::unbounded_channel();
    let (driver, addr, trunk) = trunk(Transport::Tcp, None, reg_tx).await;
    let stop = Arc::new(AtomicBool::new(false));
    let _trunk_task = tokio::spawn(run_trunk(driver, trunk, stop.clone()));
    let uri = format!("sip:{addr};transport=tcp");
    let mut cfg = pbx_config(&uri, &pki, false);
    cfg.trunks[0].registrar = Some(format!("sip:{addr}").parse().unwrap());
    cfg.validate().unwrap();
    let (log_tx, mut log) = mpsc::channel(4096);
    let pbx = start_pbx(cfg, 41, Some(log_tx)).await;
    let got = tokio::time::timeout(Duration::from_secs(8), reg_rx.recv()).await;
    let mut lines = Vec::new();
    while let Ok(l) = log.try_recv() {
        lines.push(l);
    }
    let _ = pbx.stop().await;
    stop.store(true, Ordering::Relaxed);
    assert!(matches!(got, Ok(Some(()))), "not registered: {lines:#?}");
}

/// A trunk address naming no transport with a registrar naming TCP: the trunk's transport
/// is TCP, and its calls find the address over TCP too (they failed with "no TCP target").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_naming_no_transport_is_located_over_the_trunks() {
    let pki = Pki::new("unnamedaddr");
    let (reg_tx, mut reg_rx) = mpsc::unbounded_channel();
    let (driver, addr, trunk) = trunk(Transport::Tcp, None, reg_tx).await;
    let stop = Arc::new(AtomicBool::new(false));
    let _trunk_task = tokio::spawn(run_trunk(driver, trunk, stop.clone()));
    let mut cfg = pbx_config(&format!("sip:{addr}"), &pki, false);
    cfg.trunks[0].registrar = Some(format!("sip:{addr};transport=tcp").parse().unwrap());
    cfg.validate().unwrap();
    let (log_tx, mut log) = mpsc::channel(4096);
    let pbx = start_pbx(cfg, 41, Some(log_tx)).await;
    let got = tokio::time::timeout(Duration::from_secs(8), reg_rx.recv()).await;
    assert!(matches!(got, Ok(Some(()))), "not registered");
    let mut phone = registered(config("1000", Transport::Udp, 3), "1000", pbx.addr).await;
    phone.send(Command::Call("5550100".into())).await;
    let answered = phone.answered().await;
    let mut lines = Vec::new();
    while let Ok(l) = log.try_recv() {
        lines.push(l);
    }
    assert!(answered.is_ok(), "call not answered: {lines:#?}");
}
