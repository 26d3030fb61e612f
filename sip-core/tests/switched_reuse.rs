//! RFC 3261 §18.1.1 moves a request too large for UDP to TCP, towards its target's UDP
//! address. A connection the driver accepted from that same address and port (another
//! endpoint, behind the same NAT, whose TCP source port has that number) is not taken for
//! it: the driver opens a connection of its own, and here, where nothing listens on TCP at
//! that port, the refused connect sends the request over UDP after all (the transaction
//! layer's fallback). A request the application sends over TCP to that address still
//! rides the accepted connection (RFC 3261 §18 reuse, RFC 5626 flows).
#![cfg(feature = "tokio")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    reason = "test code"
)]

use std::net::SocketAddr;
use std::time::Duration;

use telox_sip_core::header::{CSeq, CallId, From, MaxForwards, To};
use telox_sip_core::msg::{Method, Request};
use telox_sip_core::tokio::{Driver, DriverConfig};
use telox_sip_core::transaction::{Target, Transport};
use telox_sip_core::ua::{UaConfig, UserAgent};
use telox_sip_core::uri::Uri;
use tokio::net::{TcpStream, UdpSocket};
use ua_support::net::clock;

mod ua_support;

const WAIT: Duration = Duration::from_secs(10);

/// An OPTIONS to `to` over `transport`, padded to about `size` bytes.
fn options(ua: &mut UserAgent, to: SocketAddr, transport: Transport, size: usize) -> Request {
    let uri: Uri = format!("sip:peer@{to}").parse().unwrap();
    let from: Uri = "sip:pbx@127.0.0.1".parse().unwrap();
    let n = size;
    Request::builder(Method::Options, uri.clone())
        .header(ua.via_for(transport).unwrap())
        .header(MaxForwards(70))
        .header(From::new(from).with_tag(&format!("t{n}")))
        .header(To::new(uri))
        .header(CallId::new(&format!("reuse-{n}@127.0.0.1")).unwrap())
        .header(CSeq::new(1, Method::Options))
        .raw_header("Subject", &"x".repeat(size))
        .unwrap()
        .build()
}

/// Steps the driver until `read` has something (bounded by [`WAIT`]).
async fn step_until<T>(
    driver: &mut Driver,
    ua: &mut UserAgent,
    read: impl Future<Output = T>,
) -> T {
    tokio::pin!(read);
    let end = clock() + WAIT;
    loop {
        tokio::select! {
            got = &mut read => return got,
            r = tokio::time::timeout_at(end.into(), driver.step(ua)) => {
                r.expect("nothing arrived in time").unwrap();
            }
        }
    }
}

#[tokio::test]
async fn a_size_switched_request_does_not_ride_a_connection_another_endpoint_opened() {
    let mut config = DriverConfig::new("127.0.0.1:0".parse().unwrap());
    config.tcp = true;
    let mut driver = Driver::bind(config).await.unwrap();
    let me = driver.local_addr();
    let mut ua = UserAgent::new(UaConfig::new(me, "pbx", 7));
    // Another endpoint connects over TCP; a UDP socket takes its source port's number.
    let mut tries = 0;
    let (other, udp) = loop {
        tries += 1;
        assert!(tries <= 16, "no TCP source port free on UDP too");
        let s = TcpStream::connect(me).await.unwrap();
        let port = s.local_addr().unwrap().port();
        if let Ok(u) = UdpSocket::bind(("127.0.0.1", port)).await {
            break (s, u);
        }
    };
    let peer = udp.local_addr().unwrap();
    let end = clock() + WAIT;
    while driver.connection_count() == 0 {
        assert!(clock() < end, "the driver did not accept the connection");
        let _ = tokio::time::timeout(Duration::from_millis(50), driver.step(&mut ua)).await;
    }

    // Too large for UDP: switched to TCP, not on the accepted connection; over UDP after
    // the refused connect.
    let big = options(&mut ua, peer, Transport::Udp, 1500);
    ua.send_request(
        clock(),
        big,
        Target {
            transport: Transport::Udp,
            addr: peer,
        },
    )
    .unwrap();
    let mut buf = vec![0u8; 4096];
    let (n, _) = step_until(&mut driver, &mut ua, udp.recv_from(&mut buf))
        .await
        .unwrap();
    assert!(
        buf[..n].starts_with(b"OPTIONS "),
        "the large OPTIONS over UDP"
    );
    let mut tcp = [0u8; 64];
    assert_eq!(
        other.try_read(&mut tcp).map_err(|e| e.kind()),
        Err(std::io::ErrorKind::WouldBlock),
        "nothing on the other endpoint's connection"
    );

    // Sent over TCP by choice: on the accepted connection.
    let small = options(&mut ua, peer, Transport::Tcp, 100);
    ua.send_request(
        clock(),
        small,
        Target {
            transport: Transport::Tcp,
            addr: peer,
        },
    )
    .unwrap();
    step_until(&mut driver, &mut ua, other.readable())
        .await
        .unwrap();
    let n = other.try_read(&mut tcp).unwrap();
    assert!(tcp[..n].starts_with(b"OPTIONS "), "the TCP OPTIONS on it");
}
