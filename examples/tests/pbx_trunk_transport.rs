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

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use phone_support::{Phone, Pki, any_port, config, registered, start_pbx};
use recording_ua::Recording;
use sip_core::Method;
use sip_core::auth::{DigestSecret, DigestServer, DigestServerConfig};
use sip_core::registration::{
    MemoryLocationStore, RegisterOutcome, Registrar, RegistrarConfig, RegistrarService, SecretStore,
};
use sip_core::tokio::{Driver, DriverConfig, TlsConfig, tls};
use sip_core::transaction::Transport;
use sip_core::ua::{Body, UaConfig, UaEvent, UserAgent};
use telox_examples::config::{PbxConfig, TlsListen};
use telox_examples::phone::Command;
use tokio::sync::mpsc;

/// The trunk's password for user `telox`.
struct Secret;

impl SecretStore for Secret {
    fn secret(&self, username: &str) -> Option<DigestSecret> {
        (username == "telox").then(|| DigestSecret::Password("trunk-secret".into()))
    }
}

/// The trunk: a user agent recording the transport of every request, and a registrar.
struct Trunk {
    rec: Recording,
    registrar: RegistrarService<MemoryLocationStore, Secret>,
    /// One message per REGISTER answered 200 with a binding.
    registered: mpsc::UnboundedSender<()>,
}

impl Trunk {
    /// Answers REGISTERs with the registrar and INVITEs with an SDP answer.
    fn serve(&mut self, now: Instant) {
        let ua = &mut self.rec.ua;
        while let Some(ev) = ua.poll_event() {
            match ev {
                UaEvent::Request { key, request, .. } if *request.method() == Method::Register => {
                    let (resp, outcome) = self.registrar.handle(now, &request, "trunk-tag");
                    ua.send_response(now, &key, resp).unwrap();
                    if let RegisterOutcome::Registered { bindings, .. } = outcome
                        && !bindings.is_empty()
                    {
                        let _ = self.registered.send(());
                    }
                }
                UaEvent::Incoming { leg, .. } => {
                    let answer = Body::sdp(
                        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n\
                         t=0 0\r\nm=audio 4002 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n",
                    );
                    ua.answer(now, leg, Some(answer)).unwrap();
                }
                _ => {}
            }
        }
    }
}

/// Runs the trunk until `stop`; returns the requests it got.
async fn run_trunk(mut driver: Driver, mut trunk: Trunk, stop: Arc<AtomicBool>) -> Recording {
    while !stop.load(Ordering::Relaxed) {
        driver.step(&mut trunk.rec).await.unwrap();
        trunk.serve(telox_examples::clock());
    }
    trunk.rec
}

/// A trunk on loopback over `transport` (TCP, or TLS with a certificate of `pki`); returns
/// its driver, its address over that transport and the trunk.
async fn trunk(
    transport: Transport,
    pki: &Pki,
    registered: mpsc::UnboundedSender<()>,
) -> (Driver, SocketAddr, Trunk) {
    let mut dcfg = DriverConfig::new("127.0.0.1:0".parse().unwrap());
    dcfg.tcp = transport == Transport::Tcp;
    if transport == Transport::Tls {
        let (cert, key) = pki.issue("trunk");
        let server = tls::server_config(
            tls::load_certs(&cert).unwrap(),
            tls::load_private_key(&key).unwrap(),
        )
        .unwrap();
        let listen = "127.0.0.1:0".parse().unwrap();
        dcfg.tls = Some(TlsConfig::new(Some(listen), Some(server), None));
    }
    let driver = Driver::bind(dcfg).await.unwrap();
    let addr = match transport {
        Transport::Tls => driver.tls_local_addr().unwrap(),
        _ => driver.local_addr(),
    };
    let mut ucfg = UaConfig::new(driver.local_addr(), "trunk", 31);
    ucfg.transport = transport;
    let mut ua = UserAgent::new(ucfg);
    ua.set_listen_addr(transport, addr);
    // Grants 2 s whatever is asked: the PBX refreshes after 1 s.
    let limits = RegistrarConfig {
        min_expires: 1,
        max_expires: 2,
        ..RegistrarConfig::default()
    };
    let registrar = RegistrarService::with_auth(
        Registrar::new(limits, MemoryLocationStore::default()),
        DigestServer::new(DigestServerConfig::new("trunk.test", 5)),
        Secret,
    );
    let trunk = Trunk {
        rec: Recording::new(ua),
        registrar,
        registered,
    };
    (driver, addr, trunk)
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
    let (driver, addr, trunk) = trunk(transport, &pki, reg_tx).await;
    let stop = Arc::new(AtomicBool::new(false));
    let trunk_task = tokio::spawn(run_trunk(driver, trunk, stop.clone()));

    let uri = format!("sip:{addr};transport={}", transport.as_via_str());
    let cfg = pbx_config(&uri, &pki, transport == Transport::Tls);
    let (log_tx, mut log) = mpsc::channel(4096);
    let pbx = start_pbx(cfg, 41, Some(log_tx)).await;
    // The first registration and one refresh.
    for n in 1..=2 {
        let got = tokio::time::timeout(Duration::from_secs(10), reg_rx.recv()).await;
        let mut lines = Vec::new();
        while let Ok(l) = log.try_recv() {
            lines.push(l);
        }
        assert!(matches!(got, Ok(Some(()))), "registration {n}: {lines:?}");
    }

    let mut phone = registered(config("1000", Transport::Udp, 3), "1000", pbx.addr).await;
    phone.send(Command::Call("5550100".into())).await;
    phone.answered().await.unwrap();
    phone.send(Command::Hangup).await;
    phone.ended().await.unwrap();
    Phone::quit(phone).await;
    let summary = pbx.stop().await;
    assert_eq!(summary.trunks_registered, 0, "unregistered at stop");

    stop.store(true, Ordering::Relaxed);
    let rec = tokio::time::timeout(Duration::from_secs(10), trunk_task)
        .await
        .unwrap()
        .unwrap();
    let seen = &rec.requests;
    // REGISTER, its answer to the 401, at least one refresh, the removal at stop.
    assert!(rec.transports_of(&Method::Register).len() >= 4, "{seen:?}");
    assert!(!rec.transports_of(&Method::Invite).is_empty(), "{seen:?}");
    assert!(seen.iter().all(|(t, _)| *t == transport), "{seen:?}");
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
    let (driver, addr, trunk) = trunk(Transport::Tcp, &pki, reg_tx).await;
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
    let (driver, addr, trunk) = trunk(Transport::Tcp, &pki, reg_tx).await;
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
