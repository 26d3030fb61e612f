//! Calls through the PBX by a sip-core user agent with its own RTP sockets.
//! - Hold and resume on a call the PBX transcodes (the caller offers PCMU only, the callee
//!   takes G.722 only): the caller holds with `a=sendonly` and a new media port (the PBX
//!   stops sending to it), then resumes on that new port, where the transcoder must send.
//! - A re-INVITE moving a relayed caller without rtcp-mux to new RTP and RTCP ports
//!   (`a=rtcp`, RFC 3605): the callee's RTCP follows to the new RTCP port; so does the
//!   transcoder's own RTCP on a transcoded call, and a telox phone's on a direct call.
//! - A trunk written as a URI with `;transport=tcp`: the PBX's INVITE to it goes over TCP.
//! - INVITE with Replaces (RFC 3891): a phone's call is taken over by the user agent (the same
//!   user on another device); the phone gets a BYE and the callee's audio now reaches the
//!   user agent.
//! - Late offer (RFC 3261 §13.2.1, RFC 3264 §5: an INVITE without SDP, the offer in the 200,
//!   the answer in the ACK): through the relay (the PBX offers the caller in its 200 and
//!   starts the media from the answer in the ACK; re-INVITEs without SDP hold and resume;
//!   the recording holds both parties), and with direct media (the callee, a user agent
//!   behind the trunk, answers the INVITE without SDP with its offer and gets the caller's
//!   answer in its ACK; a re-INVITE without SDP is passed on the same way; a telox phone as
//!   the callee does the same and holds on the answer in the ACK of an offerless re-INVITE),
//!   and to the IVR (the prompt starts from the answer in the ACK).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    reason = "test code"
)]

mod phone_support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use phone_support::{
    WAIT, any_port, auto_answer, config, registered, start_pbx, stereo_recording, wait, with_ivr,
};
use sip_core::Method;
use sip_core::tokio::{Driver, DriverConfig, SansIo};
use sip_core::transaction::{Target, Transmit, Transport};
use sip_core::ua::{Body, LegId, UaConfig, UaEvent, UserAgent};
use telox_examples::audio::tone;
use telox_examples::cdr::AnswerCause;
use telox_examples::config::{MediaMode, PbxConfig};
use telox_examples::phone::{Command, PhoneEvent};
use tokio::net::UdpSocket;

struct Ua(UserAgent);

impl SansIo for Ua {
    fn handle_input(&mut self, now: Instant, from: Target, bytes: Bytes) {
        self.0.handle_datagram(now, from, bytes);
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.0.handle_timeout(now);
    }
    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.0.poll_transmit()
    }
    fn poll_timeout(&self) -> Option<Instant> {
        self.0.poll_timeout()
    }
    fn handle_send_error(&mut self, now: Instant, to: Target) {
        self.0.handle_transport_error(now, to);
    }
}

/// Runs the driver until `pick` takes an event.
async fn until<T>(
    driver: &mut Driver,
    ua: &mut Ua,
    mut pick: impl FnMut(UaEvent) -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        while let Some(ev) = ua.0.poll_event() {
            if let Some(t) = pick(ev) {
                return t;
            }
        }
        let turn = tokio::time::timeout_at(deadline, driver.step(ua)).await;
        assert!(turn.is_ok(), "timed out");
    }
}

/// Sends BYE on `leg` and runs the driver until the call ended.
async fn hang_up(driver: &mut Driver, ua: &mut Ua, leg: LegId) {
    ua.0.bye(telox_examples::clock(), leg).unwrap();
    until(driver, ua, |e| {
        matches!(e, UaEvent::Ended { .. }).then_some(())
    })
    .await;
}

/// A user agent on loopback (UDP) with `user`'s credentials (password = user).
async fn user_agent(user: &str) -> (Driver, Ua) {
    user_agent_on(user, false).await
}

/// [`user_agent`], also listening on TCP (the same port) with `tcp`.
async fn user_agent_on(user: &str, tcp: bool) -> (Driver, Ua) {
    let mut dcfg = DriverConfig::new("127.0.0.1:0".parse().unwrap());
    dcfg.tcp = tcp;
    let driver = Driver::bind(dcfg).await.unwrap();
    let mut cfg = UaConfig::new(driver.local_addr(), user, 21);
    cfg.credentials = Some((user.into(), user.into()));
    (driver, Ua(UserAgent::new(cfg)))
}

/// Sends a re-INVITE with `body` on `leg`; returns its final status.
async fn reinvite(driver: &mut Driver, ua: &mut Ua, leg: LegId, body: Body) -> u16 {
    reinvite_with(driver, ua, leg, Some(body)).await.0
}

/// Sends a re-INVITE with or without a body on `leg`; returns its final status and the
/// response's body.
async fn reinvite_with(
    driver: &mut Driver,
    ua: &mut Ua,
    leg: LegId,
    body: Option<Body>,
) -> (u16, Bytes) {
    ua.0.request(telox_examples::clock(), leg, Method::Invite, body, &[])
        .unwrap();
    until(driver, ua, |e| match e {
        UaEvent::Response {
            status, response, ..
        } => Some((status, response.map(|r| r.body_bytes()).unwrap_or_default())),
        _ => None,
    })
    .await
}

fn sdp(version: u32, port: u16, direction: &str) -> Body {
    Body::sdp(format!(
        "v=0\r\no=- 1 {version} IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na={direction}\r\n"
    ))
}

/// [`sdp`] with RTCP on `rtcp_port` (RFC 3605 `a=rtcp`, no rtcp-mux).
fn sdp_rtcp(version: u32, port: u16, rtcp_port: u16) -> Body {
    Body::sdp(format!(
        "v=0\r\no=- 1 {version} IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=rtcp:{rtcp_port}\r\n"
    ))
}

/// The RTP address of an SDP answer.
fn media_addr(body: &[u8]) -> SocketAddr {
    let text = std::str::from_utf8(body).unwrap();
    let ip = text
        .lines()
        .find_map(|l| l.strip_prefix("c=IN IP4 "))
        .unwrap()
        .trim();
    let port = text
        .lines()
        .find_map(|l| l.strip_prefix("m=audio "))
        .and_then(|l| l.split(' ').next())
        .unwrap();
    format!("{ip}:{port}").parse().unwrap()
}

/// Sends a PCMU packet from `sock` to `to` every 20 ms (with `send`) and counts the RTP
/// packets that come to `sock`, until `done(received, sent)`; returns the count.
async fn exchange(
    sock: &UdpSocket,
    to: SocketAddr,
    seq: &mut u16,
    send: bool,
    mut done: impl FnMut(usize, usize) -> bool,
) -> usize {
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let mut buf = [0u8; 2048];
    let (mut got, mut sent) = (0, 0);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if done(got, sent) {
                    return got;
                }
                if send {
                    let mut pkt = vec![0x80, 0];
                    pkt.extend_from_slice(&seq.to_be_bytes());
                    pkt.extend_from_slice(&(u32::from(*seq) * 160).to_be_bytes());
                    pkt.extend_from_slice(&0x1234_5678u32.to_be_bytes());
                    // A 1 kHz-ish square wave in u-law: loud enough to count as audio.
                    pkt.extend((0..160).map(|i| if i % 8 < 4 { 0x9F } else { 0x1F }));
                    let _ = sock.send_to(&pkt, to).await;
                    *seq = seq.wrapping_add(1);
                    sent += 1;
                }
            }
            r = sock.recv_from(&mut buf) => if r.is_ok_and(|(n, _)| n > 12 && buf[1] & 0x7F == 0) {
                got += 1;
            },
        }
    }
}

/// [`exchange`] for `ms` milliseconds: a pause, or a count of what must not come (a loaded
/// machine only makes fewer packets come).
async fn talk(sock: &UdpSocket, to: SocketAddr, seq: &mut u16, ms: u64, send: bool) -> usize {
    let end = tokio::time::Instant::now() + Duration::from_millis(ms);
    exchange(sock, to, seq, send, |_, _| {
        tokio::time::Instant::now() >= end
    })
    .await
}

/// [`exchange`] until `want` packets came and, with `send`, a second of audio (50 packets)
/// went, bounded by [`WAIT`] (a hang): how many packets come in a fixed time depends on the
/// load of the machine (the PBX transcodes in a debug build), how many come in the end does
/// not.
async fn talk_until(
    sock: &UdpSocket,
    to: SocketAddr,
    seq: &mut u16,
    want: usize,
    send: bool,
) -> usize {
    let end = tokio::time::Instant::now() + WAIT;
    exchange(sock, to, seq, send, |got, sent| {
        (got >= want && (!send || sent >= 50)) || tokio::time::Instant::now() >= end
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hold_and_resume_on_a_new_port_move_the_transcoded_media() {
    let cfg = PbxConfig::demo(any_port(), 1000, 1009, None);
    let pbx = start_pbx(cfg, 11, None).await;
    let pbx_addr = pbx.addr;
    let mut callee = auto_answer("1001", Transport::Udp, 2);
    callee.codecs = vec!["G722".into()];
    let mut callee = registered(callee, "1001", pbx_addr).await;

    let (mut driver, mut ua) = user_agent("1000").await;
    let (sock1, sock2) = (
        UdpSocket::bind("127.0.0.1:0").await.unwrap(),
        UdpSocket::bind("127.0.0.1:0").await.unwrap(),
    );
    let port = |s: &UdpSocket| s.local_addr().unwrap().port();
    let uri = |u: &str| format!("sip:{u}@{}", pbx_addr.ip()).parse().unwrap();
    let target = Target {
        transport: Transport::Udp,
        addr: pbx_addr,
    };
    let now = telox_examples::clock();
    let leg =
        ua.0.invite(
            now,
            uri("1000"),
            uri("1001"),
            format!("sip:1001@{pbx_addr}").parse().unwrap(),
            target,
            Some(sdp(1, port(&sock1), "sendrecv")),
        )
        .unwrap();
    let answer = until(&mut driver, &mut ua, |e| match e {
        UaEvent::Answered { response, .. } => Some(response.body_bytes()),
        UaEvent::Failed { status, .. } => panic!("call failed {status}"),
        _ => None,
    })
    .await;
    let pbx_media = media_addr(&answer);
    let mut seq = 1u16;
    let before = talk_until(&sock1, pbx_media, &mut seq, 30, true).await;
    assert!(before >= 30, "{before} packets before the hold");

    // Hold from a new port: the PBX answers recvonly and stops sending.
    let new_port = port(&sock2);
    assert_eq!(
        reinvite(&mut driver, &mut ua, leg, sdp(2, new_port, "sendonly")).await,
        200
    );
    // Let packets in flight drain, then nothing may come while held.
    talk(&sock2, pbx_media, &mut seq, 200, false).await;
    let held = talk(&sock2, pbx_media, &mut seq, 600, false).await;
    let stray = talk(&sock1, pbx_media, &mut seq, 100, false).await;
    assert!(held <= 2, "{held} packets to the new port while on hold");

    assert_eq!(
        reinvite(&mut driver, &mut ua, leg, sdp(3, new_port, "sendrecv")).await,
        200
    );
    let after = talk_until(&sock2, pbx_media, &mut seq, 30, true).await;
    assert!(
        after >= 30,
        "{after} packets on the new port after resuming"
    );

    callee.send(Command::Hangup).await;
    callee.ended().await.unwrap();
    callee.quit().await;
    let summary = pbx.stop().await;
    let rec = summary.records.first().unwrap();
    assert_eq!(rec.codec.as_deref(), Some("PCMU/8000 <-> G722/8000"));
    // The PBX took the caller's audio from both ports (about 100 packets in all).
    let from_caller = rec.legs.iter().find(|l| l.leg == "1000 -> pbx").unwrap();
    assert!(
        from_caller.packets_received >= 75,
        "{} packets from the caller ({stray} stray after the move)",
        from_caller.packets_received
    );
}

/// Waits (bounded by [`WAIT`]) for an RTCP packet (PT 200-204) at `sock`, RTP ignored.
async fn rtcp_at(sock: &UdpSocket) -> Option<Vec<u8>> {
    let mut buf = [0u8; 2048];
    let end = tokio::time::Instant::now() + WAIT;
    loop {
        let r = tokio::time::timeout_at(end, sock.recv_from(&mut buf)).await;
        let (n, _) = r.ok()?.ok()?;
        if n >= 8 && (200..=204).contains(&buf[1]) {
            return Some(buf[..n].to_vec());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reinvite_to_new_ports_moves_the_relayed_rtcp() {
    let (mut t_driver, mut t_ua) = user_agent("trunk").await;
    let cfg = PbxConfig::demo(any_port(), 1000, 1009, Some(t_driver.local_addr()));
    let pbx = start_pbx(cfg, 16, None).await;
    let pbx_addr = pbx.addr;

    // The callee behind the trunk answers, then sends an SR to the PBX every 50 ms and
    // answers the PBX's re-INVITEs, until the call ends.
    let callee_sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let callee_port = callee_sock.local_addr().unwrap().port();
    let callee = tokio::spawn(async move {
        let (leg, offer) = incoming(&mut t_driver, &mut t_ua).await;
        let now = telox_examples::clock();
        t_ua.0
            .answer(now, leg, Some(sdp(1, callee_port, "sendrecv")))
            .unwrap();
        let pbx_media = media_addr(&offer);
        let reports = tokio::spawn(async move {
            let mut sr = vec![0x80, 200, 0, 6, 0, 0, 0, 9];
            sr.extend_from_slice(&[0; 20]);
            loop {
                let _ = callee_sock.send_to(&sr, pbx_media).await;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        for version in 2.. {
            let reinvite = until(&mut t_driver, &mut t_ua, |e| match e {
                UaEvent::Request { key, request, .. } if *request.method() == Method::Invite => {
                    Some(Some(key))
                }
                UaEvent::Ended { .. } => Some(None),
                _ => None,
            })
            .await;
            let Some(key) = reinvite else { break };
            let body = sdp(version, callee_port, "sendrecv");
            t_ua.0
                .respond(telox_examples::clock(), &key, 200, Some(body))
                .unwrap();
        }
        reports.abort();
    });

    let (mut driver, mut ua) = user_agent("1000").await;
    rtcp_follows_a_reinvite(&mut driver, &mut ua, pbx_addr, "5550100", 300).await;
    callee.await.unwrap();
    pbx.stop().await;
}

/// Calls `number` at `to` from `ua` with RTP and RTCP (`a=rtcp`, no rtcp-mux) on two ports
/// of its own, waits for RTCP at the first RTCP port, moves both to two other ports by
/// re-INVITE and waits for RTCP at the new RTCP port; once it arrives there, none may come
/// to the old one for `quiet_ms` (what was in flight drained first). Hangs up.
async fn rtcp_follows_a_reinvite(
    driver: &mut Driver,
    ua: &mut Ua,
    to: SocketAddr,
    number: &str,
    quiet_ms: u64,
) {
    let mut socks = Vec::new();
    for _ in 0..4 {
        socks.push(UdpSocket::bind("127.0.0.1:0").await.unwrap());
    }
    let port = |i: usize| socks[i].local_addr().unwrap().port();
    let offer = sdp_rtcp(1, port(0), port(1));
    let (leg, _) = call(driver, ua, to, number, Some(offer)).await;
    assert!(
        rtcp_at(&socks[1]).await.is_some(),
        "no RTCP at the first port"
    );

    // The caller moves RTP and RTCP to two other ports.
    assert_eq!(
        reinvite(driver, ua, leg, sdp_rtcp(2, port(2), port(3))).await,
        200
    );
    assert!(
        rtcp_at(&socks[3]).await.is_some(),
        "no RTCP at the new RTCP port after the re-INVITE"
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut buf = [0u8; 2048];
    while socks[1].try_recv_from(&mut buf).is_ok() {}
    tokio::time::sleep(Duration::from_millis(quiet_ms)).await;
    assert!(
        socks[1].try_recv_from(&mut buf).is_err(),
        "RTCP still goes to the old port"
    );
    hang_up(driver, ua, leg).await;
}

/// The transcoder sends its own RTCP (an SR every few seconds, RFC 3550 §6.2): after the
/// caller's re-INVITE it goes to the caller's new RTCP port.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reinvite_to_new_ports_moves_the_transcoders_rtcp() {
    let cfg = PbxConfig::demo(any_port(), 1000, 1009, None);
    let pbx = start_pbx(cfg, 18, None).await;
    let mut callee = auto_answer("1001", Transport::Udp, 4);
    callee.codecs = vec!["G722".into()];
    let mut callee = registered(callee, "1001", pbx.addr).await;
    let (mut driver, mut ua) = user_agent("1000").await;
    // The transcoder's reports come 2.5-7.5 s apart: the old port stays quiet for longer.
    rtcp_follows_a_reinvite(&mut driver, &mut ua, pbx.addr, "1001", 8000).await;
    callee.ended().await.unwrap();
    callee.quit().await;
    let summary = pbx.stop().await;
    let rec = summary.records.first().unwrap();
    assert_eq!(rec.codec.as_deref(), Some("PCMU/8000 <-> G722/8000"));
}

/// A telox phone called directly sends its RTCP to the caller's new RTCP port after the
/// caller's re-INVITE.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reinvite_to_new_ports_moves_the_phones_rtcp() {
    let mut phone = phone_support::start(auto_answer("1001", Transport::Udp, 5)).await;
    let (mut driver, mut ua) = user_agent("1000").await;
    rtcp_follows_a_reinvite(&mut driver, &mut ua, phone.addr, "1001", 8000).await;
    phone.ended().await.unwrap();
    phone.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trunk_uri_with_transport_tcp_takes_its_calls_over_tcp() {
    let (mut t_driver, mut t_ua) = user_agent_on("trunk", true).await;
    let trunk = format!("sip:{};transport=tcp", t_driver.local_addr());
    let cfg = PbxConfig::demo(any_port(), 1000, 1009, None).with_trunk(trunk.parse().unwrap());
    let pbx = start_pbx(cfg, 17, None).await;
    let pbx_addr = pbx.addr;

    // The trunk answers and reports the transport the INVITE came over.
    let callee_port = UdpSocket::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let callee = tokio::spawn(async move {
        let (leg, _) = incoming(&mut t_driver, &mut t_ua).await;
        let peer = t_ua.0.peer(leg).unwrap();
        let now = telox_examples::clock();
        t_ua.0
            .answer(now, leg, Some(sdp(1, callee_port, "sendrecv")))
            .unwrap();
        until(&mut t_driver, &mut t_ua, |e| {
            matches!(e, UaEvent::Ended { .. }).then_some(())
        })
        .await;
        peer
    });

    let (mut driver, mut ua) = user_agent("1000").await;
    let offer = sdp(1, 4000, "sendrecv");
    let (leg, _) = call(&mut driver, &mut ua, pbx_addr, "5550100", Some(offer)).await;
    hang_up(&mut driver, &mut ua, leg).await;
    let peer = callee.await.unwrap();
    assert_eq!(peer.transport, Transport::Tcp, "{peer:?}");
    pbx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invite_with_replaces_takes_over_a_call() {
    let cfg = PbxConfig::demo(any_port(), 1000, 1009, None);
    let pbx = start_pbx(cfg, 12, None).await;
    let pbx_addr = pbx.addr;
    let mut phone = registered(config("1000", Transport::Udp, 1), "1000", pbx_addr).await;
    let mut bob = registered(auto_answer("1001", Transport::Udp, 2), "1001", pbx_addr).await;
    phone.send(Command::Call("1001".into())).await;
    phone.answered().await.unwrap();
    let replaces = wait("1000", &mut phone.events, |e| match e {
        PhoneEvent::Replaces(r) => Some(r.clone()),
        _ => None,
    })
    .await
    .unwrap();
    bob.answered().await.unwrap();

    let (mut driver, mut ua) = user_agent("1000").await;
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let uri = |u: &str| format!("sip:{u}@{}", pbx_addr.ip()).parse().unwrap();
    let target = Target {
        transport: Transport::Udp,
        addr: pbx_addr,
    };
    let port = sock.local_addr().unwrap().port();
    let extra = [("Replaces", replaces.as_str()), ("Require", "replaces")];
    let leg =
        ua.0.invite_with(
            telox_examples::clock(),
            uri("1000"),
            uri("1001"),
            format!("sip:1001@{pbx_addr}").parse().unwrap(),
            target,
            Some(sdp(1, port, "sendrecv")),
            &extra,
        )
        .unwrap();
    let answer = until(&mut driver, &mut ua, |e| match e {
        UaEvent::Answered { response, .. } => Some(response.body_bytes()),
        UaEvent::Failed { status, .. } => panic!("take-over refused {status}"),
        _ => None,
    })
    .await;
    // The phone's call ends (the PBX hangs it up); bob's goes on, now with the user agent.
    let (_, transferred) = phone.ended().await.unwrap();
    assert!(!transferred);
    let mut seq = 1;
    let got = talk_until(&sock, media_addr(&answer), &mut seq, 30, true).await;
    assert!(got >= 30, "{got} packets from bob after the take-over");
    hang_up(&mut driver, &mut ua, leg).await;
    bob.ended().await.unwrap();
    for p in [phone, bob] {
        p.quit().await;
    }
    let summary = pbx.stop().await;
    assert_eq!(summary.records.len(), 1, "{:#?}", summary.records);
    // The record keeps the phone's relay legs and adds the new relay's.
    assert!(summary.records[0].legs.len() >= 4);
}

/// The INVITE of a late offer (no body) from `ua` to `number` at the PBX; waits for the 200
/// and returns the leg and the offer it carries, whose answer the ACK still owes.
async fn late_offer_call(
    driver: &mut Driver,
    ua: &mut Ua,
    pbx: SocketAddr,
    number: &str,
) -> (LegId, Bytes) {
    let (leg, offer) = call(driver, ua, pbx, number, None).await;
    assert!(ua.0.ack_pending(leg), "the 200 carries an offer");
    (leg, offer)
}

/// An INVITE from 1000 (`ua`) to `number` at the PBX with `offer`; waits for the 200 and
/// returns the leg and the 200's body.
async fn call(
    driver: &mut Driver,
    ua: &mut Ua,
    pbx: SocketAddr,
    number: &str,
    offer: Option<Body>,
) -> (LegId, Bytes) {
    let uri = |u: &str| format!("sip:{u}@{}", pbx.ip()).parse().unwrap();
    let target = Target {
        transport: Transport::Udp,
        addr: pbx,
    };
    let leg =
        ua.0.invite(
            telox_examples::clock(),
            uri("1000"),
            uri(number),
            format!("sip:{number}@{pbx}").parse().unwrap(),
            target,
            offer,
        )
        .unwrap();
    let body = until(driver, ua, |e| match e {
        UaEvent::Answered { response, .. } => Some(response.body_bytes()),
        UaEvent::Failed { status, .. } => panic!("call failed {status}"),
        _ => None,
    })
    .await;
    (leg, body)
}

/// The next INVITE `ua` (a callee) receives: its leg and body.
async fn incoming(driver: &mut Driver, ua: &mut Ua) -> (LegId, Bytes) {
    until(driver, ua, |e| match e {
        UaEvent::Incoming { leg, request } => Some((leg, request.body_bytes())),
        _ => None,
    })
    .await
}

/// How many 20 ms blocks of `samples` carry audio (RMS above -40 dBFS).
fn loud_blocks(samples: &[i16], rate: u32) -> usize {
    let n = (rate / 50) as usize;
    samples
        .chunks(n)
        .filter(|c| {
            let e: f64 = c.iter().map(|&x| f64::from(x) * f64::from(x)).sum();
            (e / c.len() as f64).sqrt() > 328.0
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_offer_through_the_relay_gets_the_answer_from_the_ack() {
    let dir = std::env::temp_dir().join(format!("telox-pbx-late-{}", std::process::id()));
    let mut cfg = PbxConfig::demo(any_port(), 1000, 1009, None);
    cfg.record_dir = Some(dir.clone());
    let (log_tx, mut log) = tokio::sync::mpsc::channel(4096);
    let pbx = start_pbx(cfg, 13, Some(log_tx)).await;
    let pbx_addr = pbx.addr;
    let mut callee = auto_answer("1001", Transport::Udp, 2);
    callee.play = Some(tone(8000, 440.0, 8.0, 8000));
    let mut callee = registered(callee, "1001", pbx_addr).await;

    let (mut driver, mut ua) = user_agent("1000").await;
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = sock.local_addr().unwrap().port();
    let (leg, offer) = late_offer_call(&mut driver, &mut ua, pbx_addr, "1001").await;
    // The PBX offers the callee's codec first.
    let text = String::from_utf8_lossy(&offer).into_owned();
    assert!(
        text.contains("m=audio ") && text.contains(" RTP/AVP 0"),
        "{text}"
    );
    ua.0.ack(leg, Some(sdp(1, port, "sendrecv"))).unwrap();
    driver.flush(&mut ua).await.unwrap();
    callee.answered().await.unwrap();
    let pbx_media = media_addr(&offer);
    let mut seq = 1u16;
    let got = talk_until(&sock, pbx_media, &mut seq, 30, true).await;
    assert!(
        got >= 30,
        "{got} packets from the callee after the answer in the ACK"
    );

    // Hold and resume by re-INVITEs without SDP: the PBX offers in its 200, the answer in
    // the ACK says sendonly (hold), then sendrecv (resume).
    for (version, direction) in [(2, "sendonly"), (3, "sendrecv")] {
        let (status, reoffer) = reinvite_with(&mut driver, &mut ua, leg, None).await;
        assert_eq!(status, 200);
        assert!(
            reoffer.starts_with(b"v=0"),
            "the 200 carries the PBX's offer"
        );
        assert!(ua.0.ack_pending(leg));
        ua.0.ack(leg, Some(sdp(version, port, direction))).unwrap();
        driver.flush(&mut ua).await.unwrap();
        talk(&sock, pbx_media, &mut seq, 300, true).await;
    }
    let after = talk_until(&sock, pbx_media, &mut seq, 30, true).await;
    assert!(
        after >= 30,
        "{after} packets from the callee after resuming"
    );

    hang_up(&mut driver, &mut ua, leg).await;
    let (report, _) = callee.ended().await.unwrap();
    assert!(report.packets_received >= 75, "{report:?}");
    callee.quit().await;
    let summary = pbx.stop().await;
    let mut lines = Vec::new();
    while let Ok(l) = log.try_recv() {
        lines.push(l);
    }
    for want in ["hold from 1000", "resume from 1000"] {
        assert!(
            lines.iter().any(|l| l.ends_with(want)),
            "{want}: {lines:#?}"
        );
    }
    let rec = summary.records.first().unwrap();
    assert_eq!(rec.codec.as_deref(), Some("PCMU/8000"));
    let (rate, left, right) = stereo_recording(std::path::Path::new(
        rec.recording.as_deref().expect("recorded"),
    ))
    .await;
    // About 3 s of call; the caller's square wave on the left, the callee's tone on the
    // right, each for most of it.
    assert!(left.len() >= 2 * rate as usize, "{} frames", left.len());
    let (l, r) = (loud_blocks(&left, rate), loud_blocks(&right, rate));
    assert!(
        l >= 100 && r >= 100,
        "loud 20 ms blocks: left {l}, right {r}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_offer_with_direct_media_passes_the_answer_in_the_ack_on() {
    let (mut t_driver, mut t_ua) = user_agent("trunk").await;
    let mut cfg = PbxConfig::demo(any_port(), 1000, 1009, Some(t_driver.local_addr()));
    cfg.media = MediaMode::Direct;
    let pbx = start_pbx(cfg, 14, None).await;
    let pbx_addr = pbx.addr;

    // The callee behind the trunk answers the INVITE without SDP with its offer.
    let callee_sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let callee_port = callee_sock.local_addr().unwrap().port();
    let callee = tokio::spawn(async move {
        let (leg, invite_body) = incoming(&mut t_driver, &mut t_ua).await;
        let offer = sdp(1, callee_port, "sendrecv");
        t_ua.0
            .answer(telox_examples::clock(), leg, Some(offer))
            .unwrap();
        let acked = |e| match e {
            UaEvent::Confirmed { ack, .. } => Some(ack.body_bytes()),
            _ => None,
        };
        let answer = until(&mut t_driver, &mut t_ua, acked).await;
        // The caller's re-INVITE without SDP, passed on as it is: our offer in the 200, the
        // caller's answer in the ACK.
        let (key, reinvite_body) = until(&mut t_driver, &mut t_ua, |e| match e {
            UaEvent::Request { key, request, .. } if *request.method() == Method::Invite => {
                Some((key, request.body_bytes()))
            }
            _ => None,
        })
        .await;
        let reoffer = sdp(2, callee_port, "sendrecv");
        t_ua.0
            .respond(telox_examples::clock(), &key, 200, Some(reoffer))
            .unwrap();
        let hold = until(&mut t_driver, &mut t_ua, acked).await;
        until(&mut t_driver, &mut t_ua, |e| {
            matches!(e, UaEvent::Ended { .. }).then_some(())
        })
        .await;
        (invite_body, answer, reinvite_body, hold)
    });

    let (mut driver, mut ua) = user_agent("1000").await;
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let (leg, offer) = late_offer_call(&mut driver, &mut ua, pbx_addr, "5550100").await;
    // The callee's own offer, end to end.
    assert_eq!(media_addr(&offer), callee_sock.local_addr().unwrap());
    let port = sock.local_addr().unwrap().port();
    ua.0.ack(leg, Some(sdp(1, port, "sendrecv"))).unwrap();
    driver.flush(&mut ua).await.unwrap();
    let (mut s1, mut s2) = (1u16, 1u16);
    let (to_callee, to_caller) = (media_addr(&offer), sock.local_addr().unwrap());
    let (at_caller, at_callee) = tokio::join!(
        talk_until(&sock, to_callee, &mut s1, 30, true),
        talk_until(&callee_sock, to_caller, &mut s2, 30, true),
    );
    assert!(
        at_caller >= 30 && at_callee >= 30,
        "{at_caller} / {at_callee} packets"
    );

    // Hold by a re-INVITE without SDP: the callee's offer comes back in the 200, and the
    // answer (sendonly) goes on in the PBX's ACK.
    let (status, reoffer) = reinvite_with(&mut driver, &mut ua, leg, None).await;
    assert_eq!(status, 200);
    assert_eq!(media_addr(&reoffer), to_callee);
    assert!(ua.0.ack_pending(leg));
    ua.0.ack(leg, Some(sdp(2, port, "sendonly"))).unwrap();
    driver.flush(&mut ua).await.unwrap();

    hang_up(&mut driver, &mut ua, leg).await;
    let (invite_body, answer, reinvite_body, hold) = callee.await.unwrap();
    assert!(
        reinvite_body.is_empty(),
        "the re-INVITE went on without SDP"
    );
    let hold = String::from_utf8_lossy(&hold).into_owned();
    assert!(
        hold.contains("a=sendonly"),
        "the hold answer reached the callee: {hold}"
    );
    assert!(invite_body.is_empty(), "the INVITE went on without SDP");
    assert_eq!(
        media_addr(&answer),
        to_caller,
        "the caller's answer reached the callee"
    );
    let summary = pbx.stop().await;
    let rec = summary.records.first().unwrap();
    assert_eq!(rec.answer_cause, AnswerCause::Answered);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_offer_to_a_phone_with_direct_media() {
    let mut cfg = PbxConfig::demo(any_port(), 1000, 1009, None);
    cfg.media = MediaMode::Direct;
    let pbx = start_pbx(cfg, 15, None).await;
    let pbx_addr = pbx.addr;
    let mut phone = registered(auto_answer("1001", Transport::Udp, 4), "1001", pbx_addr).await;

    // The phone gets the INVITE without SDP, offers in its 200 and starts its media from the
    // caller's answer in the ACK.
    let (mut driver, mut ua) = user_agent("1000").await;
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = sock.local_addr().unwrap().port();
    let (leg, offer) = late_offer_call(&mut driver, &mut ua, pbx_addr, "1001").await;
    let to_phone = media_addr(&offer);
    assert_ne!(to_phone.port(), 0, "the phone's offer: {offer:?}");
    ua.0.ack(leg, Some(sdp(1, port, "sendrecv"))).unwrap();
    driver.flush(&mut ua).await.unwrap();
    assert_eq!(phone.answered().await.unwrap(), "PCMU/8000");
    let mut seq = 1u16;
    let got = talk_until(&sock, to_phone, &mut seq, 30, true).await;
    assert!(got >= 30, "{got} packets from the phone after the ACK");

    // Hold by a re-INVITE without SDP: the phone re-offers in its 200 and follows the
    // sendonly answer in the ACK.
    let (status, reoffer) = reinvite_with(&mut driver, &mut ua, leg, None).await;
    assert_eq!(status, 200);
    assert_eq!(media_addr(&reoffer), to_phone);
    assert!(ua.0.ack_pending(leg));
    ua.0.ack(leg, Some(sdp(2, port, "sendonly"))).unwrap();
    driver.flush(&mut ua).await.unwrap();
    let held = wait("1001", &mut phone.events, |e| match e {
        PhoneEvent::Log(l) if l.contains("held by the far end") => Some(()),
        _ => None,
    })
    .await;
    assert_eq!(held, Ok(()));

    hang_up(&mut driver, &mut ua, leg).await;
    let (report, _) = phone.ended().await.unwrap();
    assert!(report.packets_received >= 30, "{report:?}");
    phone.quit().await;
    pbx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_offer_to_the_ivr_starts_the_prompt_from_the_ack() {
    let dir = std::env::temp_dir().join(format!("telox-pbx-late-ivr-{}", std::process::id()));
    let mut cfg = PbxConfig::demo(any_port(), 1000, 1009, None);
    with_ivr(&mut cfg, &dir);
    let pbx = start_pbx(cfg, 15, None).await;
    let pbx_addr = pbx.addr;
    let (mut driver, mut ua) = user_agent("1000").await;
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = sock.local_addr().unwrap().port();
    let (leg, offer) = late_offer_call(&mut driver, &mut ua, pbx_addr, "500").await;
    let mut seq = 1u16;
    // Nothing is sent before the answer...
    let early = talk(&sock, media_addr(&offer), &mut seq, 300, false).await;
    assert_eq!(early, 0, "prompt packets before the answer");
    // ...and the prompt once the ACK carried it.
    ua.0.ack(leg, Some(sdp(1, port, "sendrecv"))).unwrap();
    driver.flush(&mut ua).await.unwrap();
    let got = talk_until(&sock, media_addr(&offer), &mut seq, 30, false).await;
    assert!(
        got >= 30,
        "{got} prompt packets after the answer in the ACK"
    );
    hang_up(&mut driver, &mut ua, leg).await;
    let summary = pbx.stop().await;
    assert_eq!(summary.records[0].codec.as_deref(), Some("PCMU/8000"));
    let _ = std::fs::remove_dir_all(dir);
}
