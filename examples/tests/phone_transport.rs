//! The phone over TCP and TLS on loopback: calls phone to phone with audio both ways (TCP;
//! TLS with client certificates from a CA made here with rcgen), the negative controls that
//! prove the transport was really used (a TCP caller cannot reach a UDP-only phone; a TLS
//! caller that does not trust the callee's CA, or has no certificate for a listener that
//! requires one, fails), and registration over TCP to a small in-test registrar (sip-core's
//! `RegistrarService` on the tokio driver) with digest auth, a refresh before expiry and the
//! unregistration on exit.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    reason = "test code"
)]

mod phone_support;

use std::time::Duration;

use phone_support::{Phone, Pki, WAIT, auto_answer, config, start, wait};
use sip_core::Method;
use sip_core::auth::{DigestSecret, DigestServer, DigestServerConfig};
use sip_core::registration::{
    MemoryLocationStore, RegisterOutcome, Registrar, RegistrarConfig, RegistrarService,
};
use sip_core::tokio::{Driver, DriverConfig};
use sip_core::transaction::{TransactionConfig, TransactionEvent, Transactions, Transport};
use telox_examples::phone::{Command, PhoneConfig, PhoneEvent};
use tokio::sync::mpsc;

/// A calls B, both hear each other for about a second, A hangs up.
async fn call_and_hang_up(a: &mut Phone, b: &mut Phone, uri: String) {
    a.send(Command::Call(uri)).await;
    let codec = a.answered().await.unwrap();
    assert_eq!(codec, b.answered().await.unwrap());
    Phone::talk_and_hang_up(a, b).await;
}

#[tokio::test(flavor = "current_thread")]
async fn tcp_call_with_audio_and_tcp_really_used() {
    let mut b = start(auto_answer("bob", Transport::Tcp, 2)).await;
    let mut a = start(config("alice", Transport::Tcp, 1)).await;
    let uri = format!("sip:bob@{}", b.addr);
    call_and_hang_up(&mut a, &mut b, uri).await;

    // Control: a UDP-only phone has no TCP listener, so a TCP INVITE cannot reach it.
    let mut u = start({
        let mut c = config("udp-only", Transport::Udp, 3);
        c.auto_answer = true;
        c
    })
    .await;
    a.send(Command::Call(format!("sip:udp@{}", u.addr))).await;
    let failed = a.call_outcome().await.unwrap();
    assert!(
        failed >= 400,
        "the TCP call to a UDP-only phone got {failed}"
    );
    assert!(
        tokio::time::timeout(Duration::from_millis(200), u.answered())
            .await
            .is_err(),
        "the UDP-only phone answered"
    );
    for p in [a, b, u] {
        p.quit().await;
    }
}

fn tls_config(name: &str, pki: &Pki, ca: &str, seed: u64) -> PhoneConfig {
    let mut c = config(name, Transport::Tls, seed);
    let (cert, key) = pki.issue(name);
    c.tls.ca = Some(pki.ca_file(ca));
    c.tls.cert = Some(cert);
    c.tls.key = Some(key);
    c
}

#[tokio::test(flavor = "current_thread")]
async fn tls_mutual_call_with_audio_and_refusals() {
    let pki = Pki::new("good");
    let other = Pki::new("other");
    let mut b = start({
        let mut c = tls_config("bob", &pki, "good", 2);
        c.auto_answer = true;
        c.tls.require_client_cert = true;
        c
    })
    .await;
    let mut a = start(tls_config("alice", &pki, "good", 1)).await;
    // sips: and the phone's TLS transport agree; the certificate names 127.0.0.1.
    let uri = format!("sips:bob@{}", b.addr);
    call_and_hang_up(&mut a, &mut b, uri).await;
    a.quit().await;

    // A caller trusting another CA refuses bob's certificate: the call fails at once.
    let mut m = start(tls_config("mallory", &other, "other", 3)).await;
    m.send(Command::Call(format!("sips:bob@{}", b.addr))).await;
    let started = telox_examples::clock();
    let status = m.call_outcome().await.unwrap();
    assert!(status >= 400, "untrusted server: got {status}");
    assert!(started.elapsed() < Duration::from_secs(5));
    m.quit().await;

    // A caller that trusts bob but has no client certificate is refused by bob's listener
    // (it requires one): bob never sees the call.
    let mut anon = config("anon", Transport::Tls, 4);
    anon.tls.ca = Some(pki.ca_file("good"));
    let mut n = start(anon).await;
    n.send(Command::Call(format!("sips:bob@{}", b.addr))).await;
    assert!(
        tokio::time::timeout(Duration::from_millis(1500), b.answered())
            .await
            .is_err(),
        "bob answered a client without a certificate"
    );
    // The refused handshake reaches the caller as a transport error: its call fails.
    let status = n.call_outcome().await.unwrap();
    assert!(status >= 400, "no client certificate: got {status}");
    n.quit().await;
    b.quit().await;
}

/// What the in-test registrar saw: the transport and the outcome of each REGISTER.
#[derive(Debug)]
struct Seen {
    transport: Transport,
    outcome: RegisterOutcome,
}

/// sip-core's registrar service with digest auth (user alice / secret) behind a driver that
/// listens on UDP and TCP; reports every REGISTER.
async fn registrar(report: mpsc::Sender<Seen>) -> std::net::SocketAddr {
    let mut dc = DriverConfig::new("127.0.0.1:0".parse().unwrap());
    dc.tcp = true;
    let mut driver = Driver::bind(dc).await.unwrap();
    let addr = driver.local_addr();
    tokio::spawn(async move {
        let mut service = RegistrarService::with_auth(
            Registrar::new(
                RegistrarConfig {
                    min_expires: 1,
                    ..RegistrarConfig::default()
                },
                MemoryLocationStore::default(),
            ),
            DigestServer::new(DigestServerConfig::new("telox-test".to_owned(), 7)),
            |u: &str| (u == "alice").then(|| DigestSecret::Password("secret".into())),
        );
        let mut txns = Transactions::new(TransactionConfig::default());
        let mut tag = 0u32;
        loop {
            if driver.step(&mut txns).await.is_err() {
                return;
            }
            let now = telox_examples::clock();
            while let Some(ev) = txns.poll_event() {
                let TransactionEvent::Request {
                    key,
                    request,
                    source,
                } = ev
                else {
                    continue;
                };
                if *request.method() != Method::Register {
                    continue;
                }
                tag += 1;
                let (response, outcome) = service.handle(now, &request, &format!("r{tag}"));
                let _ = txns.send_response(now, &key, response);
                let _ = report.try_send(Seen {
                    transport: source.transport,
                    outcome,
                });
            }
        }
    });
    addr
}

async fn next_seen(rx: &mut mpsc::Receiver<Seen>) -> Seen {
    tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("registrar saw nothing")
        .expect("registrar stopped")
}

#[tokio::test(flavor = "current_thread")]
async fn tcp_registration_with_digest_refresh_and_unregister() {
    let (tx, mut seen) = mpsc::channel(64);
    let reg = registrar(tx).await;
    let mut c = config("alice", Transport::Tcp, 5);
    c.password = Some("secret".into());
    c.registrar = Some(reg);
    c.expires = 4;
    let mut a = start(c).await;

    let first = next_seen(&mut seen).await;
    assert_eq!(first.transport, Transport::Tcp);
    assert!(matches!(first.outcome, RegisterOutcome::Challenged { .. }));
    let second = next_seen(&mut seen).await;
    assert_eq!(second.transport, Transport::Tcp);
    let RegisterOutcome::Registered { bindings, .. } = &second.outcome else {
        panic!("not registered: {second:?}");
    };
    assert_eq!(bindings.len(), 1);
    assert!(
        bindings[0].contact.contains("transport=tcp"),
        "{}",
        bindings[0].contact
    );
    let challenges = wait("alice", &mut a.events, |e| match e {
        PhoneEvent::Registered { challenges } => Some(*challenges),
        _ => None,
    })
    .await
    .unwrap();
    assert_eq!(challenges, 1);

    // Granted 4 s: sip-core refreshes 2 s before expiry, with the cached challenge.
    let t0 = telox_examples::clock();
    let refresh = next_seen(&mut seen).await;
    let after = t0.elapsed();
    assert!(
        matches!(refresh.outcome, RegisterOutcome::Registered { .. }),
        "{refresh:?}"
    );
    assert!(
        after >= Duration::from_millis(1000) && after < Duration::from_secs(4),
        "refresh after {after:?}"
    );

    // Quit unregisters (Expires: 0): the registrar is left with no binding.
    a.quit().await;
    let last = next_seen(&mut seen).await;
    match last.outcome {
        RegisterOutcome::Registered { bindings, .. } => assert!(bindings.is_empty()),
        other => panic!("unregister got {other:?}"),
    }
}
