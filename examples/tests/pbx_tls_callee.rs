//! The PBX opens a new TLS connection to a callee whose registration connection is gone:
//! 1001's binding (a `sips:` Contact naming a phone's TLS listener) is registered over a TLS
//! connection that then closes; a call from 1000 (UDP) to 1001 reaches the phone over a new
//! TLS connection from the PBX, which verifies the phone's certificate (issued for 127.0.0.1
//! by a CA made here) against the PBX's `ca`. Without `ca` the same call fails.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    reason = "test code"
)]

mod phone_support;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use phone_support::{
    Phone, Pki, RunningPbx, any_port, auto_answer, config, start, start_pbx, wait,
};
use sip_core::tokio::{Driver, DriverConfig, TlsConfig, tls};
use sip_core::transaction::{Target, Transport};
use sip_core::ua::{UaConfig, UaEvent, UserAgent};
use telox_examples::config::{PbxConfig, TlsListen};
use telox_examples::phone::{Command, PhoneEvent};
use tokio::sync::mpsc;

/// Registers 1001 (password 1001) over TLS at `pbx_tls` with the Contact
/// `sips:1001@<contact>`, from a driver of its own that is dropped afterwards: the
/// registration's connection closes and only the binding stays.
async fn register_then_disconnect(pbx_tls: SocketAddr, contact: SocketAddr, ca: &Path) {
    let roots = tls::root_store(tls::load_certs(ca).unwrap()).unwrap();
    let mut dc = DriverConfig::new("127.0.0.1:0".parse().unwrap());
    dc.tls = Some(TlsConfig::new(
        None,
        None,
        Some(tls::client_config(roots).unwrap()),
    ));
    let mut driver = Driver::bind(dc).await.unwrap();
    let mut cfg = UaConfig::new(contact, "1001", 17);
    cfg.transport = Transport::Tls;
    cfg.credentials = Some(("1001".into(), "1001".into()));
    let mut ua = UserAgent::new(cfg);
    let target = Target {
        transport: Transport::Tls,
        addr: pbx_tls,
    };
    let now = telox_examples::clock();
    let registrar = "sips:127.0.0.1".parse().unwrap();
    let aor = "sips:1001@127.0.0.1".parse().unwrap();
    ua.register(now, registrar, aor, target, 300).unwrap();
    let registered = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            driver.step(&mut ua).await.unwrap();
            while let Some(ev) = ua.poll_event() {
                match ev {
                    UaEvent::Registered { .. } => return Ok(()),
                    UaEvent::RegistrationFailed { status, .. } => return Err(status),
                    _ => {}
                }
            }
        }
    })
    .await;
    assert_eq!(registered, Ok(Ok(())), "1001 registers over TLS");
    assert_eq!(driver.connection_count(), 1);
    drop(driver);
    // The PBX reads the close on its own time: give it a moment before calling.
    tokio::time::sleep(Duration::from_millis(1000)).await;
}

/// A PBX (users 1000-1001) with a TLS listener presenting a certificate of `pki`, trusting
/// `pki`'s CA for outgoing TLS when `outgoing`; returns its UDP and TLS addresses.
async fn tls_pbx(
    pki: &Pki,
    outgoing: bool,
) -> (SocketAddr, SocketAddr, RunningPbx, mpsc::Receiver<String>) {
    let (cert, key) = pki.issue("pbx");
    let mut cfg = PbxConfig::demo(any_port(), 1000, 1001, None);
    cfg.tls = Some(TlsListen {
        listen: "127.0.0.1:0".parse().unwrap(),
        cert,
        key,
        ca: outgoing.then(|| pki.ca_file("pki")),
    });
    let (tx, mut log) = mpsc::channel(4096);
    let pbx = start_pbx(cfg, 5, Some(tx)).await;
    let tls_addr = loop {
        let l = tokio::time::timeout(Duration::from_secs(10), log.recv())
            .await
            .expect("the PBX logs its TLS listener")
            .unwrap();
        if let Some(a) = l.strip_prefix("listening on tls:") {
            break a.parse().unwrap();
        }
    };
    (pbx.addr, tls_addr, pbx, log)
}

/// Starts the callee phone (TLS listener, auto-answer, no registration of its own) and the
/// caller 1000 on UDP registered at `pbx`.
async fn phones(pki: &Pki, pbx: SocketAddr) -> (Phone, Phone) {
    let mut b = auto_answer("1001", Transport::Tls, 2);
    let (cert, key) = pki.issue("1001");
    b.tls.cert = Some(cert);
    b.tls.key = Some(key);
    b.tls.ca = Some(pki.ca_file("pki"));
    let b = start(b).await;
    let mut a = config("1000", Transport::Udp, 1);
    a.password = Some("1000".into());
    a.registrar = Some(pbx);
    let mut a = start(a).await;
    wait("1000", &mut a.events, |e| {
        matches!(e, PhoneEvent::Registered { .. }).then_some(())
    })
    .await
    .unwrap();
    (a, b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pbx_opens_a_new_tls_connection_to_the_registered_contact() {
    let pki = Pki::new("pki");
    let (udp, tls_addr, pbx, mut log) = tls_pbx(&pki, true).await;
    let (mut a, mut b) = phones(&pki, udp).await;
    register_then_disconnect(tls_addr, b.addr, &pki.ca_file("pki")).await;

    a.send(Command::Call("1001".into())).await;
    let answered = a.answered().await;
    let mut lines = Vec::new();
    while let Ok(l) = log.try_recv() {
        lines.push(l);
    }
    assert!(answered.is_ok(), "{answered:?} {lines:?}");
    b.answered().await.unwrap();
    Phone::talk_and_hang_up(&mut a, &mut b).await;
    a.quit().await;
    b.quit().await;
    pbx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_ca_the_pbx_cannot_reach_a_disconnected_tls_callee() {
    let pki = Pki::new("pki");
    let (udp, tls_addr, pbx, _log) = tls_pbx(&pki, false).await;
    let (mut a, b) = phones(&pki, udp).await;
    register_then_disconnect(tls_addr, b.addr, &pki.ca_file("pki")).await;

    a.send(Command::Call("1001".into())).await;
    let status = a.call_outcome().await.unwrap();
    assert!(status >= 400, "the call got {status}");
    a.quit().await;
    b.quit().await;
    pbx.stop().await;
}
