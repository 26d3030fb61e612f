//! Shared by the re-resolution tests: an in-process nameserver on loopback whose SRV records
//! the test changes while it runs (TTL 1 s), and hand-driven SIP servers that report what
//! reaches them.

#![allow(dead_code, reason = "each test binary uses part of the helpers")]

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use sip_core::dns::{DnsMessage, Flags, Rcode, Record, RecordData, RecordType};
use sip_core::locate::SrvRecord;
use sip_core::{Message, Method, Response, StatusCode};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

/// The SRV records of `_sip._udp.<domain>`: (priority, port), all at `host.<domain>`.
pub(crate) type Srv = Arc<Mutex<Vec<(u16, u16)>>>;

/// Answers SRV for `_sip._udp.<domain>` from `srv` and A (127.0.0.1) for `host.<domain>`,
/// with a TTL of 1 s; everything else is NXDOMAIN without an SOA (not cached).
pub(crate) async fn nameserver(domain: &str, srv: Srv) -> SocketAddr {
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = sock.local_addr().unwrap();
    let (srv_name, host) = (format!("_sip._udp.{domain}"), format!("host.{domain}"));
    tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        loop {
            let Ok((n, from)) = sock.recv_from(&mut buf).await else {
                return;
            };
            let Ok(query) = DnsMessage::parse(&buf[..n]) else {
                continue;
            };
            let Some(q) = query.questions.first().cloned() else {
                continue;
            };
            let record = |data| Record {
                name: q.name.clone(),
                ttl: 1,
                data,
            };
            let answers: Vec<Record> = match q.rtype {
                RecordType::SRV if q.name == srv_name => srv
                    .lock()
                    .unwrap()
                    .iter()
                    .map(|&(prio, port)| {
                        record(RecordData::Srv(SrvRecord::new(prio, 0, port, &host)))
                    })
                    .collect(),
                RecordType::A if q.name == host => vec![record(RecordData::A(Ipv4Addr::LOCALHOST))],
                _ => Vec::new(),
            };
            let response = DnsMessage {
                id: query.id,
                flags: Flags {
                    response: true,
                    authoritative: true,
                    recursion_desired: query.flags.recursion_desired,
                    rcode: if answers.is_empty() {
                        Rcode::NAME_ERROR
                    } else {
                        Rcode::NO_ERROR
                    },
                    ..Flags::default()
                },
                questions: query.questions.clone(),
                answers,
                authorities: Vec::new(),
                additionals: Vec::new(),
            };
            let _ = sock.send_to(&response.encode().unwrap(), from).await;
        }
    });
    addr
}

/// What a [`sip_server`] saw: its port, the method and the Request-URI of a request.
pub(crate) type Seen = (u16, Method, String);

/// A SIP server on loopback: REGISTER gets `register_status` (a 2xx granting `expires`
/// seconds), INVITE gets `invite_status`, other requests 200 (ACK nothing); reports each
/// request to `seen`. UDP only, holding its port on TCP (bound, not listening): a request
/// too large for UDP is tried over TCP first (RFC 3261 §18.1.1), and must find the port
/// refused (then it comes over UDP), not a listener or a connection of another test's
/// endpoint that the OS gave the same TCP port.
pub(crate) async fn sip_server(
    register_status: u16,
    expires: u32,
    invite_status: u16,
    seen: mpsc::Sender<Seen>,
) -> u16 {
    let (sock, tcp) = loop {
        let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let tcp = tokio::net::TcpSocket::new_v4().unwrap();
        if tcp.bind(sock.local_addr().unwrap()).is_ok() {
            break (sock, tcp);
        }
    };
    let port = sock.local_addr().unwrap().port();
    tokio::spawn(async move {
        let _tcp = tcp;
        let mut buf = vec![0u8; 65_536];
        loop {
            let Ok((n, from)) = sock.recv_from(&mut buf).await else {
                return;
            };
            let Ok(Message::Request(req)) = Message::parse(Bytes::copy_from_slice(&buf[..n]))
            else {
                continue;
            };
            let method = req.method().clone();
            let _ = seen
                .send((port, method.clone(), req.uri_str().to_owned()))
                .await;
            let code = match method {
                Method::Ack => continue,
                Method::Register => register_status,
                Method::Invite => invite_status,
                _ => 200,
            };
            let mut b = Response::builder(&req, StatusCode(code)).to_tag("server");
            if method == Method::Register {
                b = b.raw_header("Expires", &expires.to_string()).unwrap();
            }
            let _ = sock.send_to(&b.build().to_bytes(), from).await;
        }
    });
    port
}

/// Waits (at most `within`) for a request of `method` at `port`; the others seen meanwhile
/// are dropped.
pub(crate) async fn reaches(
    seen: &mut mpsc::Receiver<Seen>,
    port: u16,
    method: &Method,
    within: Duration,
) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    while let Ok(Some((p, m, _))) = tokio::time::timeout_at(deadline, seen.recv()).await {
        if p == port && m == *method {
            return true;
        }
    }
    false
}
