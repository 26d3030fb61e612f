//! The phone retries a failed registration with the RFC 5626 §4.5 back-off
//! (`PhoneConfig::register_retry`): its registrar (a PBX over TCP) is not up yet, so every
//! REGISTER fails at once (connection refused); the phone waits between attempts at least
//! what the back-off asks, and once the PBX listens the next attempt registers.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    reason = "test code"
)]

mod phone_support;

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use phone_support::{config, start, wait};
use sip_core::registration::RegisterRetry;
use sip_core::transaction::Transport;
use telox_examples::config::PbxConfig;
use telox_examples::pbx;
use telox_examples::phone::PhoneEvent;
use tokio::net::TcpSocket;
use tokio::sync::watch;
use tokio::time::Instant;

/// A loopback port free for UDP and TCP, held until the guards drop: the TCP socket is bound
/// but not listening, so the phone's connects are refused, and no connection made meanwhile
/// (by this test or another running beside it) takes the port as its ephemeral source port,
/// which would keep the PBX from binding it later (a probe-and-release left that window open:
/// the phone then never reached the PBX).
fn reserve_port() -> (SocketAddr, (UdpSocket, TcpSocket)) {
    loop {
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = udp.local_addr().unwrap();
        let tcp = TcpSocket::new_v4().unwrap();
        if tcp.bind(addr).is_ok() {
            return (addr, (udp, tcp));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_backs_off_while_the_registrar_is_down_then_registers() {
    let (registrar, held) = reserve_port();
    let retry = RegisterRetry {
        base: Duration::from_millis(100),
        max: Duration::from_millis(400),
        jitter: true,
    };
    let mut c = config("1000", Transport::Tcp, 7);
    c.password = Some("1000".into());
    c.registrar = Some(registrar);
    c.register_retry = retry;
    let started = Instant::now();
    let mut phone = start(c).await;

    // Four refused attempts: the first at once, then after 100-200, 200-400, 200-400 ms.
    for _ in 0..4 {
        let status = wait("1000", &mut phone.events, |e| match e {
            PhoneEvent::RegisterFailed(s) => Some(*s),
            PhoneEvent::Registered { .. } => panic!("registered without a registrar"),
            _ => None,
        })
        .await
        .unwrap();
        assert!(matches!(status, 408 | 503), "status {status}");
    }
    // The phone waited at least half of each back-off step (its jitter) between attempts,
    // 100 + 200 + 200 ms from the first attempt to the fourth. Measured from before the
    // phone started to the test seeing the fourth failure, which a loaded machine can only
    // lengthen (the gaps between the events as the test sees them can shrink: two events
    // read together). The exact instants (doubling, cap, jitter bounds) are checked on a
    // virtual clock in sip-core's reg_client tests; the default back-off (60 s base) would
    // not make four attempts within the waits' bound.
    let least: Duration = (1..4).map(|n| retry.wait(n) / 2).sum();
    let took = started.elapsed();
    assert!(
        took >= least,
        "four attempts in {took:?}: the back-off asks for at least {least:?}"
    );

    // The registrar comes up: the next attempt (at most 400 ms later) registers.
    drop(held);
    let (stop, rx) = watch::channel(false);
    let pbx_task = tokio::spawn(pbx::run(
        PbxConfig::demo(registrar, 1000, 1001, None),
        9,
        None,
        rx,
    ));
    let challenges = wait("1000", &mut phone.events, |e| match e {
        PhoneEvent::Registered { challenges } => Some(*challenges),
        _ => None,
    })
    .await
    .unwrap();
    assert_eq!(challenges, 1, "one digest challenge, then 200");
    phone.quit().await;
    stop.send(true).unwrap();
    let summary = pbx_task.await.unwrap().unwrap();
    assert!(summary.registrations >= 1);
}
