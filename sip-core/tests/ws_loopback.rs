//! SIP over WebSocket (RFC 7118) through tokio drivers on loopback: OPTIONS and a full call
//! between a UAC and a UAS over one `ws` connection, OPTIONS over `wss`, and a raw client
//! (the sans-IO codec over a plain socket) checking the handshake's `sip` subprotocol, the
//! refusal of a client without it, masked frames in and unmasked frames out, ping/pong and
//! the close echo.
#![cfg(feature = "tokio")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    reason = "test code"
)]

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use telox_sip_core::header::{CSeq, CallId, From, MaxForwards, To, Via};
use telox_sip_core::msg::{Method, Request, Response};
use telox_sip_core::tokio::{Driver, DriverConfig, TlsConfig, WsConfig, tls};
use telox_sip_core::transaction::Transport;
use telox_sip_core::ua::{UaConfig, UaEvent, UserAgent};
use telox_sip_core::uri::Uri;
use telox_sip_core::ws::{ClientRequest, Role, WsCodec, WsEvent, parse_client_handshake};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use ua_support::net::{clock, seen, server_agent, until};

mod ua_support;

/// What the UAS saw.
#[derive(Debug)]
enum Seen {
    Options { via: String },
    Confirmed,
    Ended { connections: usize },
}

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// A UAS on `ws` (and `wss` with `tls`); returns the ws and wss listener addresses.
async fn start_uas(
    tls: Option<TlsConfig>,
) -> (
    SocketAddr,
    Option<SocketAddr>,
    mpsc::UnboundedReceiver<Seen>,
    tokio::task::JoinHandle<()>,
) {
    let mut config = DriverConfig::new(loopback());
    let mut ws = WsConfig::new(Some(loopback()));
    if tls.is_some() {
        ws.secure_bind = Some(loopback());
    }
    config.ws = Some(ws);
    config.tls = tls;
    let mut driver = Driver::bind(config).await.unwrap();
    let ws_addr = driver.ws_local_addr().unwrap();
    let wss_addr = driver.wss_local_addr();
    let mut ua = server_agent(ws_addr, Transport::Ws);
    let (tx, rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        loop {
            driver.step(&mut ua).await.unwrap();
            let now = clock();
            while let Some(event) = ua.poll_event() {
                match event {
                    UaEvent::Request { key, request, .. } => {
                        let via = request.header::<Via>().unwrap().unwrap();
                        ua.respond(now, &key, 200, None).unwrap();
                        tx.send(Seen::Options {
                            via: via.transport().to_owned(),
                        })
                        .unwrap();
                    }
                    UaEvent::Incoming { leg, .. } => {
                        ua.ringing(now, leg, 180, None).unwrap();
                        ua.answer(now, leg, None).unwrap();
                    }
                    UaEvent::Confirmed { .. } => tx.send(Seen::Confirmed).unwrap(),
                    UaEvent::Ended { .. } => {
                        driver.flush(&mut ua).await.unwrap();
                        tx.send(Seen::Ended {
                            connections: driver.connection_count(),
                        })
                        .unwrap();
                    }
                    _ => {}
                }
            }
        }
    });
    (ws_addr, wss_addr, rx, task)
}

fn options_to(ua: &mut UserAgent, to: &Uri, call_id: &str) -> Request {
    let from: Uri = "sip:uac@127.0.0.1".parse().unwrap();
    Request::builder(Method::Options, to.clone())
        .header(ua.via().unwrap())
        .header(MaxForwards(70))
        .header(From::new(from).with_tag("wstag"))
        .header(To::new(to.clone()))
        .header(CallId::new(call_id).unwrap())
        .header(CSeq::new(1, Method::Options))
        .build()
}

async fn options_status(driver: &mut Driver, ua: &mut UserAgent, to: &Uri) -> u16 {
    let target = driver.resolve(to).await.unwrap();
    let request = options_to(ua, to, &format!("ws-{}@127.0.0.1", to.port().unwrap()));
    let sent = ua.send_request(clock(), request, target).unwrap();
    until(driver, ua, |e| match e {
        UaEvent::Response { key, status, .. } if key == sent => Some(status),
        _ => None,
    })
    .await
}

#[tokio::test]
async fn options_and_call_over_one_websocket() {
    let (ws_addr, _, mut rx, task) = start_uas(None).await;
    let mut driver = Driver::bind(DriverConfig::new(loopback())).await.unwrap();
    let mut ua_config = UaConfig::new(driver.local_addr(), "uac", 11);
    ua_config.transport = Transport::Ws;
    let mut ua = UserAgent::new(ua_config);
    assert_eq!(
        ua.contact_uri().unwrap().param("transport").flatten(),
        Some("ws")
    );

    let uas: Uri = format!("sip:uas@127.0.0.1:{};transport=ws", ws_addr.port())
        .parse()
        .unwrap();
    let target = driver.resolve(&uas).await.unwrap();
    assert_eq!(target.transport, Transport::Ws);
    assert_eq!(target.addr, ws_addr);
    assert_eq!(options_status(&mut driver, &mut ua, &uas).await, 200);
    match seen(&mut rx).await {
        Seen::Options { via } => assert_eq!(via, "WS"),
        other => panic!("unexpected {other:?}"),
    }

    let me: Uri = "sip:uac@127.0.0.1".parse().unwrap();
    let leg = ua
        .invite(clock(), me, uas.clone(), uas.clone(), target, None)
        .unwrap();
    let status = until(&mut driver, &mut ua, |e| match e {
        UaEvent::Answered { leg: l, response } if l == leg => Some(response.status().as_u16()),
        UaEvent::Failed { status, .. } => panic!("call failed with {status}"),
        _ => None,
    })
    .await;
    assert_eq!(status, 200);
    assert!(matches!(seen(&mut rx).await, Seen::Confirmed));
    ua.bye(clock(), leg).unwrap();
    until(&mut driver, &mut ua, |e| match e {
        UaEvent::Ended { leg: l, .. } if l == leg => Some(()),
        _ => None,
    })
    .await;
    // One connection each side carried everything.
    assert!(matches!(
        seen(&mut rx).await,
        Seen::Ended { connections: 1 }
    ));
    assert_eq!(driver.connection_count(), 1);
    task.abort();
}

#[tokio::test]
async fn options_over_secure_websocket() {
    let ck = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).unwrap();
    let der = ck.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.key_pair.serialize_der()));
    let server = tls::server_config(vec![der.clone()], key).unwrap();
    let (_, wss_addr, mut rx, task) =
        start_uas(Some(TlsConfig::new(None, Some(server), None))).await;
    let wss_addr = wss_addr.unwrap();

    let client = tls::client_config(tls::root_store([der]).unwrap()).unwrap();
    let mut config = DriverConfig::new(loopback());
    config.tls = Some(TlsConfig::new(None, None, Some(client)));
    let mut driver = Driver::bind(config).await.unwrap();
    let mut ua_config = UaConfig::new(driver.local_addr(), "uac", 12);
    ua_config.transport = Transport::Wss;
    let mut ua = UserAgent::new(ua_config);
    assert_eq!(ua.contact_uri().unwrap().scheme_str(), "sips");
    let uas: Uri = format!("sips:uas@127.0.0.1:{};transport=ws", wss_addr.port())
        .parse()
        .unwrap();
    assert_eq!(
        driver.resolve(&uas).await.unwrap().transport,
        Transport::Wss
    );
    assert_eq!(options_status(&mut driver, &mut ua, &uas).await, 200);
    match seen(&mut rx).await {
        Seen::Options { via } => assert_eq!(via, "WSS"),
        other => panic!("unexpected {other:?}"),
    }
    task.abort();
}

/// Reads until `f` finds something in the bytes received so far.
async fn read_until<T>(
    stream: &mut TcpStream,
    buf: &mut BytesMut,
    mut f: impl FnMut(&mut BytesMut) -> Option<T>,
) -> T {
    loop {
        if let Some(t) = f(buf) {
            return t;
        }
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read_buf(buf))
            .await
            .expect("nothing within 5 s")
            .unwrap();
        assert!(n > 0, "connection closed");
    }
}

#[tokio::test]
async fn raw_client_handshake_frames_ping_and_close() {
    let (ws_addr, _, _rx, task) = start_uas(None).await;

    // Without the sip subprotocol: refused with 400.
    let mut s = TcpStream::connect(ws_addr).await.unwrap();
    let request = ClientRequest::new("127.0.0.1", "/", [3; 16]);
    let text = String::from_utf8(request.bytes().to_vec()).unwrap();
    let no_sip = text.replace("Sec-WebSocket-Protocol: sip\r\n", "");
    assert!(parse_client_handshake(no_sip.as_bytes()).unwrap().is_some());
    s.write_all(no_sip.as_bytes()).await.unwrap();
    let mut buf = BytesMut::new();
    let head = read_until(&mut s, &mut buf, |b| {
        b.windows(4)
            .any(|w| w == b"\r\n\r\n")
            .then(|| String::from_utf8_lossy(b).into_owned())
    })
    .await;
    assert!(head.starts_with("HTTP/1.1 400 "), "{head}");

    // With it: 101, then SIP in masked frames; answers come unmasked.
    let mut s = TcpStream::connect(ws_addr).await.unwrap();
    s.write_all(request.bytes()).await.unwrap();
    let mut buf = BytesMut::new();
    let n = read_until(&mut s, &mut buf, |b| request.parse_response(b).unwrap()).await;
    let _ = buf.split_to(n);
    let client = WsCodec::new(Role::Client, 65_535);
    let uas: Uri = format!("sip:uas@127.0.0.1:{};transport=ws", ws_addr.port())
        .parse()
        .unwrap();
    let mut ua = UserAgent::new({
        let mut c = UaConfig::new("127.0.0.1:9".parse().unwrap(), "raw", 3);
        c.transport = Transport::Ws;
        c
    });
    let options = options_to(&mut ua, &uas, "raw-ws@127.0.0.1").to_bytes();
    let mut out = BytesMut::new();
    client.encode_message(&options, [0x11, 0x22, 0x33, 0x44], &mut out);
    // A ping in between gets its pong.
    let mut ping = BytesMut::new();
    // A client-masked ping frame (zero key) with payload "hb".
    ping.extend_from_slice(&[0x89, 0x82, 0, 0, 0, 0, b'h', b'b']);
    out.extend_from_slice(&ping);
    s.write_all(&out).await.unwrap();
    let mut rx_codec = WsCodec::new(Role::Client, 65_535);
    let mut got_pong = false;
    let response = read_until(&mut s, &mut buf, |b| {
        loop {
            match rx_codec.decode(b).unwrap() {
                Some(WsEvent::Pong(p)) => {
                    assert_eq!(p, Bytes::from_static(b"hb"));
                    got_pong = true;
                }
                Some(WsEvent::Message(m)) => return Some(Response::parse(m).unwrap()),
                Some(other) => panic!("unexpected {other:?}"),
                None => return None,
            }
        }
    })
    .await;
    assert_eq!(response.status().as_u16(), 200);
    // A close is echoed.
    let mut close = BytesMut::new();
    client.encode_close(1000, [5, 6, 7, 8], &mut close);
    s.write_all(&close).await.unwrap();
    let event = read_until(&mut s, &mut buf, |b| {
        loop {
            match rx_codec.decode(b).unwrap() {
                Some(WsEvent::Pong(_)) => got_pong = true,
                other => return other,
            }
        }
    })
    .await;
    assert_eq!(
        event,
        WsEvent::Close {
            code: Some(1000),
            reason: String::new()
        }
    );
    assert!(got_pong);
    task.abort();
}
