//! The gateway with its trunk (and the trunk's registrar) by name (RFC 3263): an in-process
//! nameserver on loopback serves `trunk.test` with a TTL of 1 s. Calls from a phone go to
//! the server the SRV record names, and so does the REGISTER; the record then moves to
//! another server, and once its TTL has run out the gateway locates the name again: the
//! next REGISTER (`UaEvent::TargetsExpired`) and the calls after the new location reach
//! the new server, without a restart. And a trunk that answers with a Contact by host
//! name gets the call's BYE at the address that name has, and one that rings reliably
//! (RFC 3262) with such a Contact gets the next PRACK there. A call from a trunk's sources
//! (its address, or the SBCs listed) is refused even from an allowed network.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers fail the test on setup errors"
)]

mod dns_support;
mod phone_support;
mod sip_peer;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dns_support::{Seen, Srv, nameserver, reaches, sip_server};
use phone_support::{Phone, WAIT, any_port, config, start};
use sip_core::Method;
use sip_core::transaction::Transport;
use sip_peer::{
    Req, answer_next_invite, bye_at, final_response, log_line, next_request, pcmu_offer, respond,
    target_by_name,
};
use telox_examples::gateway::{self, GatewayConfig};
use telox_examples::phone::Command;
use telox_examples::trunk::{TrunkAddress, TrunkRegistration};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

/// The phone calls number 100 through the gateway at `gw`; returns the port of the server
/// the gateway's INVITE reached (each answers 486, which comes back to the phone).
async fn call_reaches(phone: &mut Phone, gw: SocketAddr, seen: &mut mpsc::Receiver<Seen>) -> u16 {
    phone.send(Command::Call(format!("sip:100@{gw}"))).await;
    let port = loop {
        match tokio::time::timeout(WAIT, seen.recv()).await {
            Ok(Some((port, Method::Invite, _))) => break port,
            Ok(Some(_)) => {}
            other => panic!("no INVITE reached a trunk server: {other:?}"),
        }
    };
    assert_eq!(phone.call_outcome().await, Ok(486));
    port
}

/// A gateway on loopback (the port left to the OS) whose one trunk is `trunk`, locating
/// names with `dns`.
fn gateway_config(trunk: TrunkAddress, dns: SocketAddr) -> GatewayConfig {
    GatewayConfig {
        listen: any_port(),
        tls: None,
        trunks: vec![trunk],
        dns: Some(dns),
        allow: vec!["127.0.0.0/8".parse().unwrap()],
        trunk_sources: Vec::new(),
        credentials: None,
        registrations: Vec::new(),
        trunk_codecs: vec!["PCMU".into()],
        trunk_srtp: sdp::SrtpPolicy::Disabled,
        internal_codecs: vec!["PCMU".into()],
        trunk_timeout: Duration::from_secs(5),
        seed: 41,
    }
}

type Gateway = JoinHandle<std::io::Result<gateway::GatewaySummary>>;

/// Starts the gateway and waits until its socket is bound; returns its address, its task
/// and the switch that stops it.
async fn start_gateway(
    cfg: GatewayConfig,
    log: mpsc::Sender<String>,
) -> (SocketAddr, Gateway, watch::Sender<bool>) {
    let (stop, stop_rx) = watch::channel(false);
    let (bound_tx, bound) = oneshot::channel();
    let gw = tokio::spawn(gateway::run_reporting(cfg, log, stop_rx, Some(bound_tx)));
    match tokio::time::timeout(WAIT, bound).await {
        Ok(Ok(addr)) => (addr, gw, stop),
        Ok(Err(_)) => panic!("the gateway did not start: {:?}", gw.await),
        Err(_) => panic!("the gateway did not bind its socket within {WAIT:?}"),
    }
}

#[tokio::test(flavor = "current_thread")]
async fn trunk_and_registrar_moved_by_dns_are_found_without_a_restart() {
    let (tx, mut seen) = mpsc::channel(256);
    // Registrations granted for 2 s: refreshed 1 s after each, past the records' TTL.
    let first = sip_server(200, 2, 486, tx.clone()).await;
    let second = sip_server(200, 2, 486, tx).await;
    let srv: Srv = Arc::new(Mutex::new(vec![(10, first)]));
    let dns = nameserver("trunk.test", Arc::clone(&srv)).await;
    let trunk = TrunkAddress::locate("sip:trunk.test", Some(dns), any_port())
        .await
        .unwrap();
    assert_eq!(trunk.targets, [SocketAddr::from(([127, 0, 0, 1], first))]);
    let registration = TrunkRegistration::located("1", "gw", &trunk, 2).unwrap();
    let cfg = GatewayConfig {
        registrations: vec![registration],
        ..gateway_config(trunk, dns)
    };
    let (log_tx, mut log) = mpsc::channel(256);
    tokio::spawn(async move {
        while let Some(line) = log.recv().await {
            eprintln!("gateway: {line}");
        }
    });
    let (listen, gw, stop) = start_gateway(cfg, log_tx).await;
    assert!(reaches(&mut seen, first, &Method::Register, WAIT).await);
    let mut alice = start(config("alice", Transport::Udp, 42)).await;
    assert_eq!(call_reaches(&mut alice, listen, &mut seen).await, first);

    // The record moves. The registrar's refresh (at most ~1 s later) finds its targets
    // stale and waits for the new location.
    *srv.lock().unwrap() = vec![(10, second)];
    assert!(
        reaches(&mut seen, second, &Method::Register, WAIT).await,
        "no REGISTER reached the server the record moved to"
    );
    // The trunk's targets were located again when they expired (1 s after the start): the
    // calls go to the new server (a few tries, for a lookup still under way).
    let mut ports = Vec::new();
    for _ in 0..5 {
        let port = call_reaches(&mut alice, listen, &mut seen).await;
        ports.push(port);
        if port == second {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(ports.last(), Some(&second), "INVITEs reached {ports:?}");
    alice.quit().await;
    let _ = stop.send(true);
    let summary = tokio::time::timeout(WAIT, gw)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(summary.trunk_registrations >= 2, "{summary:?}");
}

/// The trunk (an address) answers from one socket with `Contact:
/// <sip:carrier@host.carrier.test:P>`: once the call is up the gateway locates that name,
/// and the BYE reaches port P, not the socket the INVITE went to.
#[tokio::test(flavor = "current_thread")]
async fn a_trunk_contact_by_name_gets_the_bye() {
    let dns = nameserver("carrier.test", Arc::new(Mutex::new(Vec::new()))).await;
    let trunk = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let (target, contact) = target_by_name("carrier.test").await;
    let cfg = gateway_config(TrunkAddress::at(trunk.local_addr().unwrap()), dns);
    let (log_tx, mut log) = mpsc::channel(256);
    let (listen, gw, stop) = start_gateway(cfg, log_tx).await;
    let mut alice = start(config("alice", Transport::Udp, 43)).await;
    alice.send(Command::Call(format!("sip:100@{listen}"))).await;
    answer_next_invite(&trunk, listen, &contact, 40_020).await;
    alice.answered().await.unwrap();
    let line = log_line(&mut log, "in-dialog requests").await;
    assert!(line.contains("host.carrier.test"), "{line}");
    alice.send(Command::Hangup).await;
    bye_at(&target, &contact).await;
    alice.quit().await;
    let _ = stop.send(true);
    let _ = tokio::time::timeout(WAIT, gw).await;
}

/// The trunk rings with reliable provisional responses whose Contact is a host name: the
/// first PRACK goes where the INVITE went; the gateway locates the early dialog's next hop
/// and the PRACK of the next provisional reaches the address of that name.
#[tokio::test(flavor = "current_thread")]
async fn a_trunk_ringing_reliably_gets_the_next_prack_at_its_contact() {
    let dns = nameserver("carrier.test", Arc::new(Mutex::new(Vec::new()))).await;
    let trunk = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let (target, contact) = target_by_name("carrier.test").await;
    let cfg = gateway_config(TrunkAddress::at(trunk.local_addr().unwrap()), dns);
    let (log_tx, mut log) = mpsc::channel(256);
    let (listen, gw, stop) = start_gateway(cfg, log_tx).await;
    let mut alice = start(config("alice", Transport::Udp, 44)).await;
    alice.send(Command::Call(format!("sip:100@{listen}"))).await;
    let invite = next_request(&trunk).await;
    assert_eq!(*invite.method(), Method::Invite);
    let reliable =
        |rseq: u32| format!("Require: 100rel\r\nRSeq: {rseq}\r\nContact: <{contact}>\r\n");
    respond(
        &trunk,
        listen,
        &invite,
        "183 Session Progress",
        &reliable(1),
        "",
    )
    .await;
    let prack = next_request(&trunk).await;
    assert_eq!(*prack.method(), Method::Prack);
    let line = log_line(&mut log, "in-dialog requests").await;
    assert!(line.contains("host.carrier.test"), "{line}");
    respond(&trunk, listen, &invite, "180 Ringing", &reliable(2), "").await;
    let prack = next_request(&target).await;
    assert_eq!(*prack.method(), Method::Prack);
    assert_eq!(
        prack.uri_str(),
        contact,
        "the remote target is the Request-URI"
    );
    respond(&trunk, listen, &invite, "486 Busy Here", "", "").await;
    assert_eq!(alice.call_outcome().await, Ok(486));
    alice.quit().await;
    let _ = stop.send(true);
    let _ = tokio::time::timeout(WAIT, gw).await;
}

/// An INVITE for number 100 from `sock` to the gateway at `gw` (a Call-ID of its own),
/// without waiting for an answer.
async fn invite_from(sock: &UdpSocket, gw: SocketAddr) {
    let (ruri, offer) = (format!("sip:100@{gw}"), pcmu_offer(40_090, 90));
    let me = sock.local_addr().unwrap();
    let branch = format!("gw-{}", me.port());
    let text = Req::invite(&ruri, me, &branch, &offer)
        .text()
        .replace("sip-i-1@test", &format!("{branch}@test"));
    sock.send_to(text.as_bytes(), gw).await.unwrap();
}

/// The gateway sends every call to a trunk, so a call from a carrier may not come in (toll
/// fraud), even from an allowed network (127.0.0.0/8 here): from the trunk's own address it
/// gets 403; with the carrier's SBCs listed (127.0.0.6), from one of those too, while an
/// unlisted address of the allowed network goes out to the trunk.
#[tokio::test(flavor = "current_thread")]
async fn a_call_from_a_trunks_sources_is_refused() {
    let trunk = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let at = TrunkAddress::at(trunk.local_addr().unwrap());
    let cfg = gateway_config(at.clone(), any_port());
    let (log_tx, _log) = mpsc::channel(256);
    let (listen, gw, stop) = start_gateway(cfg, log_tx).await;
    invite_from(&trunk, listen).await;
    let (refused, _) = final_response(&trunk, "INVITE").await;
    assert_eq!(refused.status().as_u16(), 403, "the trunk's own address");
    let _ = stop.send(true);
    let _ = tokio::time::timeout(WAIT, gw).await;

    let cfg = GatewayConfig {
        trunk_sources: vec!["127.0.0.6".parse().unwrap()],
        ..gateway_config(at, any_port())
    };
    let (log_tx, _log) = mpsc::channel(256);
    let (listen, gw, stop) = start_gateway(cfg, log_tx).await;
    let sbc = UdpSocket::bind("127.0.0.6:0").await.unwrap();
    invite_from(&sbc, listen).await;
    let (refused, _) = final_response(&sbc, "INVITE").await;
    assert_eq!(refused.status().as_u16(), 403, "a listed SBC");
    let phone = UdpSocket::bind("127.0.0.7:0").await.unwrap();
    invite_from(&phone, listen).await;
    let out = next_request(&trunk).await;
    assert_eq!(
        *out.method(),
        Method::Invite,
        "an unlisted address's call goes out"
    );
    let _ = stop.send(true);
    let _ = tokio::time::timeout(WAIT, gw).await;
}
