//! The PBX calls a party over the transport it registered with: B-leg INVITEs to a Contact
//! registered over TCP go over TCP, on the connection the REGISTER came on (RFC 5626 style
//! flow reuse). Proof: a sip-core user agent that registers over TCP but listens on UDP only
//! (no TCP listener, so the INVITE can reach it over TCP only on its own connection) records
//! the transport its INVITE arrived on; and a telox phone registered over TCP is called
//! through the PBX from a phone on UDP, with audio both ways.
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

use phone_support::{
    Phone, RunningPbx, WAIT, any_port, auto_answer, config, start, start_pbx, wait,
};
use recording_ua::Recording;
use sip_core::Method;
use sip_core::tokio::{Driver, DriverConfig};
use sip_core::transaction::{Target, Transport};
use sip_core::ua::{UaConfig, UaEvent, UserAgent};
use telox_examples::config::PbxConfig;
use telox_examples::phone::{Command, PhoneEvent};
use tokio::sync::mpsc;

/// What the busy callee saw.
#[derive(Debug, PartialEq)]
enum Seen {
    Registered,
    Invite(Vec<Transport>),
}

/// Registers `user` over TCP at `pbx` from a UA without a TCP listener and answers every
/// INVITE 486, reporting the transports INVITEs arrived on.
async fn busy_callee(user: &'static str, pbx: SocketAddr, seen: mpsc::Sender<Seen>) {
    // DriverConfig::new listens on UDP only.
    let mut driver = Driver::bind(DriverConfig::new("127.0.0.1:0".parse().unwrap()))
        .await
        .unwrap();
    let mut cfg = UaConfig::new(driver.local_addr(), user, 11);
    cfg.transport = Transport::Tcp;
    cfg.credentials = Some((user.into(), user.into()));
    let mut rec = Recording::new(UserAgent::new(cfg));
    let target = Target {
        transport: Transport::Tcp,
        addr: pbx,
    };
    rec.ua
        .register(
            telox_examples::clock(),
            format!("sip:{}", pbx.ip()).parse().unwrap(),
            format!("sip:{user}@{}", pbx.ip()).parse().unwrap(),
            target,
            300,
        )
        .unwrap();
    loop {
        if driver.step(&mut rec).await.is_err() {
            continue;
        }
        while let Some(ev) = rec.ua.poll_event() {
            match ev {
                UaEvent::Registered { .. } => {
                    let _ = seen.send(Seen::Registered).await;
                }
                UaEvent::Incoming { leg, .. } => {
                    let _ = rec.ua.reject(telox_examples::clock(), leg, 486);
                    let _ = seen
                        .send(Seen::Invite(rec.transports_of(&Method::Invite)))
                        .await;
                }
                _ => {}
            }
        }
    }
}

async fn pbx_with_log() -> (SocketAddr, RunningPbx, mpsc::Receiver<String>) {
    let (tx, log) = mpsc::channel(4096);
    // Bound before the callee registers over TCP: a transport error would only be retried
    // after 30 s.
    let pbx = start_pbx(PbxConfig::demo(any_port(), 1000, 1009, None), 5, Some(tx)).await;
    (pbx.addr, pbx, log)
}

/// A phone on UDP registered as `user` at `pbx`.
async fn caller(user: &str, pbx: SocketAddr) -> Phone {
    let mut c = config(user, Transport::Udp, 1);
    c.registrar = Some(pbx);
    c.password = Some(user.into());
    let mut p = start(c).await;
    registered(&mut p).await;
    p
}

async fn registered(p: &mut Phone) {
    let name = p.name.clone();
    wait(&name, &mut p.events, |e| match e {
        PhoneEvent::Registered { .. } => Some(Ok(())),
        PhoneEvent::RegisterFailed(s) => Some(Err(*s)),
        _ => None,
    })
    .await
    .unwrap()
    .unwrap();
}

/// Stops the PBX; it wrote one call record.
async fn assert_one_record(pbx: RunningPbx) {
    assert_eq!(pbx.stop().await.records.len(), 1);
}

fn drain(log: &mut mpsc::Receiver<String>) -> Vec<String> {
    let mut lines = Vec::new();
    while let Ok(l) = log.try_recv() {
        lines.push(l);
    }
    lines
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invite_reaches_a_tcp_registered_ua_on_its_own_connection() {
    let (pbx_addr, pbx, mut log) = pbx_with_log().await;
    let (seen_tx, mut seen) = mpsc::channel(16);
    let callee = tokio::spawn(busy_callee("1001", pbx_addr, seen_tx));
    let first = tokio::time::timeout(WAIT, seen.recv()).await.unwrap();
    assert_eq!(first, Some(Seen::Registered), "{:?}", drain(&mut log));

    let mut a = caller("1000", pbx_addr).await;
    a.send(Command::Call(format!("sip:1001@{pbx_addr}"))).await;
    let outcome = a.call_outcome().await;
    let invite = tokio::time::timeout(WAIT, seen.recv()).await;
    let lines = drain(&mut log);
    assert_eq!(
        invite.ok().flatten(),
        Some(Seen::Invite(vec![Transport::Tcp])),
        "{lines:?}"
    );
    assert_eq!(outcome, Ok(486), "{lines:?}");
    assert!(
        lines.iter().any(|l| l.starts_with("calling 1001 at tcp:")),
        "{lines:?}"
    );
    callee.abort();
    a.quit().await;
    assert_one_record(pbx).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phone_registered_over_tcp_is_called_through_the_pbx() {
    let (pbx_addr, pbx, mut log) = pbx_with_log().await;
    let mut b = {
        let mut c = auto_answer("1002", Transport::Tcp, 2);
        c.registrar = Some(pbx_addr);
        c.password = Some("1002".into());
        start(c).await
    };
    registered(&mut b).await;
    let mut a = caller("1000", pbx_addr).await;
    a.send(Command::Call(format!("sip:1002@{pbx_addr}"))).await;
    let codec = a.answered().await;
    let lines = drain(&mut log);
    assert!(codec.is_ok(), "{codec:?} {lines:?}");
    b.answered().await.unwrap();
    assert!(
        lines.iter().any(|l| l.starts_with("calling 1002 at tcp:")),
        "{lines:?}"
    );
    Phone::talk_and_hang_up(&mut a, &mut b).await;
    a.quit().await;
    b.quit().await;
    assert_one_record(pbx).await;
}
