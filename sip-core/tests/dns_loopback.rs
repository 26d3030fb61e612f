//! RFC 3263 over a real DNS exchange on loopback: an in-process nameserver (UDP and TCP on
//! ports 37000-37499) serves NAPTR, SRV and A records of `sipdns.test`, and a telox UAC
//! reaches a telox UAS by name through `Driver::resolve_all`: the NAPTR picks TCP, the
//! preferred SRV target refuses the connection, and the call goes to the next target
//! (RFC 3263 §4.3). On the way the client retries a lost UDP query, asks a truncated
//! answer again over TCP, and answers a second resolution from its cache.
#![cfg(feature = "tokio")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    reason = "test code"
)]

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use telox_sip_core::dns::{DnsMessage, Flags, Rcode, Record, RecordData, RecordType};
use telox_sip_core::locate::{NaptrRecord, SrvRecord};
use telox_sip_core::tokio::{DnsConfig, Driver, DriverConfig};
use telox_sip_core::transaction::{Target, Transport};
use telox_sip_core::ua::{UaConfig, UaEvent, UserAgent};
use telox_sip_core::uri::Uri;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use ua_support::net::{clock, server_agent, until};

mod ua_support;

/// What the nameserver was asked: (name, type, "udp"/"tcp").
type Log = Arc<Mutex<Vec<(String, RecordType, &'static str)>>>;

/// The nameserver's behaviour.
#[derive(Clone, Default)]
struct Zone {
    records: Vec<Record>,
    /// Names whose UDP answers are truncated (TC, no records).
    truncate: Vec<String>,
    /// Names whose first UDP query is dropped.
    drop_first: Vec<String>,
}

impl Zone {
    fn answer(&self, query: &DnsMessage) -> DnsMessage {
        let q = query.questions.first().cloned().unwrap();
        let answers: Vec<Record> = self
            .records
            .iter()
            .filter(|r| r.name.eq_ignore_ascii_case(&q.name) && r.data.rtype() == q.rtype)
            .cloned()
            .collect();
        let known = self
            .records
            .iter()
            .any(|r| r.name.eq_ignore_ascii_case(&q.name));
        let soa = Record {
            name: "sipdns.test".into(),
            ttl: 60,
            data: RecordData::Soa {
                mname: "ns.sipdns.test".into(),
                rname: "root.sipdns.test".into(),
                minimum: 60,
            },
        };
        DnsMessage {
            id: query.id,
            flags: Flags {
                response: true,
                authoritative: true,
                recursion_desired: query.flags.recursion_desired,
                rcode: if known {
                    Rcode::NO_ERROR
                } else {
                    Rcode::NAME_ERROR
                },
                ..Flags::default()
            },
            questions: query.questions.clone(),
            authorities: if answers.is_empty() {
                vec![soa]
            } else {
                Vec::new()
            },
            answers,
            additionals: Vec::new(),
        }
    }
}

/// Serves `zone` on UDP and TCP at one loopback port the OS picks (a fixed port may be in
/// use, by another test or as some connection's source port) until the test ends: the
/// address and the log.
async fn nameserver(zone: Zone) -> (SocketAddr, Log) {
    let log: Log = Arc::default();
    let (udp, tcp) = loop {
        let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        if let Ok(tcp) = TcpListener::bind(udp.local_addr().unwrap()).await {
            break (udp, tcp);
        }
    };
    let addr = udp.local_addr().unwrap();
    let (z, l) = (zone.clone(), Arc::clone(&log));
    tokio::spawn(async move {
        let mut buf = vec![0u8; 1500];
        let mut dropped = Vec::new();
        loop {
            let (n, from) = udp.recv_from(&mut buf).await.unwrap();
            let query = DnsMessage::parse(&buf[..n]).unwrap();
            let q = query.questions[0].clone();
            l.lock().unwrap().push((q.name.clone(), q.rtype, "udp"));
            if z.drop_first.contains(&q.name) && !dropped.contains(&q.name) {
                dropped.push(q.name.clone());
                continue;
            }
            let mut response = z.answer(&query);
            if z.truncate.contains(&q.name) {
                response.flags.truncated = true;
                response.answers.clear();
            }
            udp.send_to(&response.encode().unwrap(), from)
                .await
                .unwrap();
        }
    });
    let l = Arc::clone(&log);
    tokio::spawn(async move {
        loop {
            let (mut stream, _) = tcp.accept().await.unwrap();
            let len = stream.read_u16().await.unwrap();
            let mut buf = vec![0u8; usize::from(len)];
            stream.read_exact(&mut buf).await.unwrap();
            let query = DnsMessage::parse(&buf).unwrap();
            let q = query.questions[0].clone();
            l.lock().unwrap().push((q.name.clone(), q.rtype, "tcp"));
            let bytes = zone.answer(&query).encode().unwrap();
            let mut out = u16::try_from(bytes.len()).unwrap().to_be_bytes().to_vec();
            out.extend_from_slice(&bytes);
            stream.write_all(&out).await.unwrap();
        }
    });
    (addr, log)
}

fn rec(name: &str, data: RecordData) -> Record {
    Record {
        name: name.into(),
        ttl: 300,
        data,
    }
}

fn naptr(order: u16, service: &str, replacement: &str) -> RecordData {
    RecordData::Naptr(NaptrRecord::sip(order, 10, service, replacement))
}

fn srv(priority: u16, port: u16, target: &str) -> RecordData {
    RecordData::Srv(SrvRecord::new(priority, 0, port, target))
}

fn loopback_a() -> RecordData {
    RecordData::A(Ipv4Addr::LOCALHOST)
}

/// A UAS on TCP and UDP that answers every INVITE; returns its address.
async fn start_uas() -> SocketAddr {
    let mut config = DriverConfig::new("127.0.0.1:0".parse().unwrap());
    config.tcp = true;
    let mut driver = Driver::bind(config).await.unwrap();
    let addr = driver.local_addr();
    let mut ua = server_agent(addr, Transport::Tcp);
    tokio::spawn(async move {
        loop {
            driver.step(&mut ua).await.unwrap();
            while let Some(event) = ua.poll_event() {
                if let UaEvent::Incoming { leg, .. } = event {
                    ua.answer(clock(), leg, None).unwrap();
                }
            }
        }
    });
    addr
}

/// A port nothing listens on.
async fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap().port()
}

async fn uac(dns: SocketAddr) -> (Driver, UserAgent) {
    let mut config = DriverConfig::new("127.0.0.1:0".parse().unwrap());
    let mut dns = DnsConfig::new(vec![dns]);
    dns.timeout = Duration::from_millis(300);
    config.dns = Some(dns);
    let driver = Driver::bind(config).await.unwrap();
    let mut ua_config = UaConfig::new(driver.local_addr(), "alice", 11);
    ua_config.transport = Transport::Tcp;
    (driver, UserAgent::new(ua_config))
}

fn t(transport: Transport, addr: SocketAddr) -> Target {
    Target { transport, addr }
}

#[tokio::test]
async fn uac_reaches_uas_by_name_through_naptr_srv_and_failover() {
    let uas = start_uas().await;
    let dead = closed_port().await;
    let zone = Zone {
        records: vec![
            rec("sipdns.test", naptr(10, "SIP+D2T", "_sip._tcp.sipdns.test")),
            rec("sipdns.test", naptr(20, "SIP+D2U", "_sip._udp.sipdns.test")),
            rec("_sip._tcp.sipdns.test", srv(10, dead, "dead.sipdns.test")),
            rec(
                "_sip._tcp.sipdns.test",
                srv(20, uas.port(), "uas.sipdns.test"),
            ),
            rec(
                "_sip._udp.sipdns.test",
                srv(10, uas.port(), "uas.sipdns.test"),
            ),
            rec("dead.sipdns.test", loopback_a()),
            rec("uas.sipdns.test", loopback_a()),
        ],
        truncate: vec!["uas.sipdns.test".into()],
        drop_first: vec!["dead.sipdns.test".into()],
    };
    let (ns, log) = nameserver(zone).await;
    let (mut driver, mut ua) = uac(ns).await;

    let uri: Uri = "sip:bob@sipdns.test".parse().unwrap();
    let targets = driver.resolve_all(&uri).await.unwrap();
    let live = SocketAddr::from((Ipv4Addr::LOCALHOST, uas.port()));
    assert_eq!(
        targets,
        vec![
            t(
                Transport::Tcp,
                SocketAddr::from((Ipv4Addr::LOCALHOST, dead))
            ),
            t(Transport::Tcp, live),
            t(Transport::Udp, live),
        ]
    );
    let asked = log.lock().unwrap().clone();
    let expected = [
        ("sipdns.test", RecordType::NAPTR, "udp"),
        ("_sip._tcp.sipdns.test", RecordType::SRV, "udp"),
        ("_sip._udp.sipdns.test", RecordType::SRV, "udp"),
        // the first query is lost: asked again after the timeout
        ("dead.sipdns.test", RecordType::A, "udp"),
        ("dead.sipdns.test", RecordType::A, "udp"),
        // truncated over UDP: asked again over TCP
        ("uas.sipdns.test", RecordType::A, "udp"),
        ("uas.sipdns.test", RecordType::A, "tcp"),
    ];
    let expected: Vec<(String, RecordType, &str)> = expected
        .iter()
        .map(|(n, r, p)| ((*n).to_owned(), *r, *p))
        .collect();
    assert_eq!(asked, expected);

    // RFC 3263 §4.3: the first target refuses; a new INVITE (new branch) to the next.
    let me: Uri = "sip:alice@127.0.0.1".parse().unwrap();
    let mut outcomes = Vec::new();
    for target in &targets {
        let leg = ua
            .invite(clock(), me.clone(), uri.clone(), uri.clone(), *target, None)
            .unwrap();
        let answered = until(&mut driver, &mut ua, |e| match e {
            UaEvent::Answered { leg: l, .. } if l == leg => Some(true),
            UaEvent::Failed { leg: l, .. } if l == leg => Some(false),
            _ => None,
        })
        .await;
        outcomes.push(answered);
        if answered {
            break;
        }
    }
    assert_eq!(outcomes, [false, true]);

    // A second resolution comes from the cache: nothing more is asked.
    assert_eq!(driver.resolve_all(&uri).await.unwrap(), targets);
    assert_eq!(log.lock().unwrap().len(), expected.len());
}

#[tokio::test]
async fn explicit_port_asks_only_addresses_localhost_asks_none_unknown_names_fail() {
    let zone = Zone {
        records: vec![
            rec("sipdns.test", naptr(10, "SIP+D2T", "_sip._tcp.sipdns.test")),
            rec("host.sipdns.test", loopback_a()),
        ],
        ..Zone::default()
    };
    let (ns, log) = nameserver(zone).await;
    let (mut driver, _) = uac(ns).await;
    let uri: Uri = "sip:bob@host.sipdns.test:5099;transport=tcp"
        .parse()
        .unwrap();
    assert_eq!(
        driver.resolve(&uri).await.unwrap(),
        t(Transport::Tcp, "127.0.0.1:5099".parse().unwrap())
    );
    assert_eq!(
        log.lock().unwrap().clone(),
        vec![("host.sipdns.test".to_owned(), RecordType::A, "udp")]
    );
    // a single label goes to the system resolver (/etc/hosts), not to the nameserver
    let local: Uri = "sip:bob@localhost:5098".parse().unwrap();
    assert_eq!(
        driver.resolve(&local).await.unwrap(),
        t(Transport::Udp, "127.0.0.1:5098".parse().unwrap())
    );
    assert_eq!(log.lock().unwrap().len(), 1);
    // no records anywhere, and the system resolver does not know the name either
    let nowhere: Uri = "sip:bob@nowhere.sipdns.test".parse().unwrap();
    assert!(driver.resolve(&nowhere).await.is_err());
}

#[tokio::test]
async fn a_silent_nameserver_is_bounded_by_the_resolve_timeout() {
    // A nameserver that reads queries and never answers.
    let silent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let ns = silent.local_addr().unwrap();
    let asked = Arc::new(Mutex::new(0usize));
    let count = Arc::clone(&asked);
    tokio::spawn(async move {
        let mut buf = [0u8; 512];
        while silent.recv_from(&mut buf).await.is_ok() {
            *count.lock().unwrap() += 1;
        }
    });
    let mut config = DriverConfig::new("127.0.0.1:0".parse().unwrap());
    let mut dns = DnsConfig::new(vec![ns]);
    dns.timeout = Duration::from_millis(200);
    dns.attempts = 1;
    dns.resolve_timeout = Duration::from_millis(500);
    config.dns = Some(dns);
    let mut driver = Driver::bind(config).await.unwrap();
    // NAPTR, two SRV and A would be four questions of 200 ms each: the fourth is never
    // sent (each wait lasts at least its timeout, and the resolution stops at 500 ms).
    let uri: Uri = "sip:bob@silent.sipdns.test".parse().unwrap();
    assert!(driver.resolve(&uri).await.is_err());
    let n = *asked.lock().unwrap();
    assert!((1..=3).contains(&n), "{n} queries");
}

#[tokio::test]
async fn a_resolver_task_leaves_the_driver_serving_sip() {
    // A nameserver that holds its answer until the test releases it.
    let held = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let ns = held.local_addr().unwrap();
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    let (asked_tx, asked) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 1500];
        let (n, from) = held.recv_from(&mut buf).await.unwrap();
        let query = DnsMessage::parse(&buf[..n]).unwrap();
        asked_tx.send(()).unwrap();
        released.await.unwrap();
        let zone = Zone {
            records: vec![rec("held.sipdns.test", loopback_a())],
            ..Zone::default()
        };
        let bytes = zone.answer(&query).encode().unwrap();
        held.send_to(&bytes, from).await.unwrap();
    });
    let (mut driver, mut ua) = uac(ns).await;
    let resolver = driver.resolver().unwrap();
    let uri: Uri = "sip:bob@held.sipdns.test:5097;transport=udp"
        .parse()
        .unwrap();
    let lookup = tokio::spawn(async move { resolver.resolve_all(&uri).await });
    asked.await.unwrap();
    // While the nameserver holds the answer, the driver takes an OPTIONS and answers it.
    let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let p = peer.local_addr().unwrap();
    let options = format!(
        "OPTIONS sip:alice@{a} SIP/2.0\r\nVia: SIP/2.0/UDP {p};branch=z9hG4bKheld1\r\n\
         Max-Forwards: 70\r\nFrom: <sip:peer@{p}>;tag=p1\r\nTo: <sip:alice@{a}>\r\n\
         Call-ID: held-1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
        a = driver.local_addr()
    );
    peer.send_to(options.as_bytes(), driver.local_addr())
        .await
        .unwrap();
    driver.step(&mut ua).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let (n, _) = tokio::time::timeout(Duration::from_secs(5), peer.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert!(buf[..n].starts_with(b"SIP/2.0 200 "), "{:?}", &buf[..n]);
    assert!(!lookup.is_finished());
    release.send(()).unwrap();
    let targets = lookup.await.unwrap().unwrap();
    assert_eq!(
        targets,
        [t(Transport::Udp, "127.0.0.1:5097".parse().unwrap())]
    );
}
