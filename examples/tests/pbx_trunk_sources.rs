//! A carrier known by several addresses: its SBCs send from other addresses than the one the
//! PBX sends to (a trunk's `sources`), and over TCP from an ephemeral port. A call from a
//! listed source is the carrier's: taken without a digest challenge (carriers do not answer
//! their customer's), and never sent out through a trunk again (toll fraud: 403). A call
//! from an address that is not listed is challenged like anyone's. Every "carrier" here is a
//! socket on a loopback address of its own (127.0.0.2, 127.0.0.3, ...).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers fail the test on setup errors"
)]

use std::net::SocketAddr;

use sip_core::transaction::Transport;
use telox_examples::config::PbxConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, UdpSocket};

use phone_support::{RunningPbx, WAIT, any_port, auto_answer, registered, start_pbx};
use sip_peer::{Req, final_response, pcmu_offer, to_tag};

mod phone_support;
mod sip_peer;

/// A PBX with extensions 1000 and 1001 whose one trunk (every other number) is `trunk`, with
/// `sources` as its configured sources (none: its address).
async fn pbx(trunk: SocketAddr, sources: &[&str], seed: u64) -> RunningPbx {
    let mut cfg = PbxConfig::demo(any_port(), 1000, 1001, Some(trunk));
    cfg.trunks[0].sources = sources.iter().map(|s| s.parse().unwrap()).collect();
    start_pbx(cfg, seed, None).await
}

/// A UDP socket on loopback address `ip`.
async fn udp(ip: &str) -> UdpSocket {
    UdpSocket::bind((ip, 0)).await.unwrap()
}

/// An INVITE from `sock` to `number` at the PBX, without credentials; the final response's
/// status and the requests `sock` got before it. A 2xx is ACKed.
async fn invite(sock: &UdpSocket, pbx: SocketAddr, number: &str, call: &str) -> (u16, Vec<String>) {
    let ruri = format!("sip:{number}@{pbx}");
    let offer = pcmu_offer(40_070, 70);
    let branch = format!("{call}-inv");
    let invite = Req::invite(&ruri, sock.local_addr().unwrap(), &branch, &offer);
    let dialog = |text: String| text.replace("sip-i-1@test", call);
    sock.send_to(dialog(invite.text()).as_bytes(), pbx)
        .await
        .unwrap();
    let (response, seen) = final_response(sock, "INVITE").await;
    let status = response.status().as_u16();
    if status < 300 {
        let ack = Req {
            method: "ACK",
            to_tag: &to_tag(&response),
            branch: &format!("{call}-ack"),
            body: "",
            ..invite
        };
        sock.send_to(dialog(ack.text()).as_bytes(), pbx)
            .await
            .unwrap();
    }
    (status, seen)
}

/// The carrier's second SBC (127.0.0.2, listed with the trunk's own address) calls 1001: it
/// is answered without a challenge; its call to a trunk number gets 403 and the trunk sees
/// no INVITE. A third address, not listed, is challenged (407).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_carriers_second_sbc_is_taken_without_digest_and_cannot_call_out() {
    let trunk = udp("127.0.0.1").await;
    let trunk_addr = trunk.local_addr().unwrap();
    let main = trunk_addr.to_string();
    let pbx = pbx(trunk_addr, &[&main, "127.0.0.2/32"], 31).await;
    let mut callee = registered(auto_answer("1001", Transport::Udp, 11), "1001", pbx.addr).await;

    let sbc2 = udp("127.0.0.2").await;
    let (status, _) = invite(&sbc2, pbx.addr, "1001", "sbc2-in@test").await;
    assert_eq!(
        status, 200,
        "a listed SBC's call is taken without a challenge"
    );
    callee.answered().await.unwrap();

    let (status, _) = invite(&sbc2, pbx.addr, "0301234", "sbc2-out@test").await;
    assert_eq!(status, 403, "no trunk-to-trunk call from a listed SBC");
    // Whatever the PBX sent the trunk before its 403 is in the trunk socket's queue by now
    // (loopback delivers on send): no INVITE among it.
    let mut buf = vec![0u8; 65_536];
    while let Ok((n, _)) = trunk.try_recv_from(&mut buf) {
        let text = String::from_utf8_lossy(&buf[..n]);
        assert!(!text.starts_with("INVITE "), "the trunk got: {text}");
    }

    let stranger = udp("127.0.0.3").await;
    let (status, _) = invite(&stranger, pbx.addr, "1001", "stranger@test").await;
    assert_eq!(status, 407, "an unlisted address is challenged");
    let (status, _) = invite(&stranger, pbx.addr, "0301234", "stranger-out@test").await;
    assert_eq!(status, 407, "and so is its call to the trunk");

    drop(trunk);
    callee.quit().await;
    pbx.stop().await;
}

/// The INVITE's final status line over a TCP connection from `ip` (any port) to the PBX.
async fn tcp_invite(ip: &str, pbx: SocketAddr, number: &str) -> String {
    let sock = TcpSocket::new_v4().unwrap();
    sock.bind(SocketAddr::new(ip.parse().unwrap(), 0)).unwrap();
    let mut stream = sock.connect(pbx).await.unwrap();
    let me = stream.local_addr().unwrap();
    let ruri = format!("sip:{number}@{pbx}");
    let offer = pcmu_offer(40_080, 80);
    let branch = format!("tcp-{}", me.port());
    let text = Req::invite(&ruri, me, &branch, &offer)
        .text()
        .replace("SIP/2.0/UDP", "SIP/2.0/TCP")
        .replace("sip-i-1@test", &format!("tcp-{}@test", me.port()));
    stream.write_all(text.as_bytes()).await.unwrap();
    let mut got = String::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(WAIT, stream.read(&mut buf))
            .await
            .expect("a response in time")
            .unwrap();
        assert!(n > 0, "the PBX closed the connection: {got}");
        got.push_str(&String::from_utf8_lossy(&buf[..n]));
        let finals = got
            .lines()
            .filter(|l| l.starts_with("SIP/2.0 ") && !l.starts_with("SIP/2.0 1"));
        if let Some(line) = finals.into_iter().next() {
            return line.to_owned();
        }
    }
}

/// A trunk with no sources configured is known by its address, and over TCP by its IP from
/// any port (a connection's source port is ephemeral): the carrier's TCP call to a trunk
/// number gets 403 (it was taken without a challenge), the same call from another address
/// gets 407.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_carrier_over_tcp_is_known_by_its_ip() {
    let trunk = udp("127.0.0.4").await;
    let pbx = pbx(trunk.local_addr().unwrap(), &[], 32).await;
    let carrier = tcp_invite("127.0.0.4", pbx.addr, "0301234").await;
    assert!(carrier.starts_with("SIP/2.0 403"), "{carrier}");
    let stranger = tcp_invite("127.0.0.5", pbx.addr, "0301234").await;
    assert!(stranger.starts_with("SIP/2.0 407"), "{stranger}");
    pbx.stop().await;
}
