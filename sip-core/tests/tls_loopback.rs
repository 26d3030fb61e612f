//! SIP over TLS (`sips:`) through two tokio drivers on loopback: OPTIONS and a full call
//! (INVITE/180/200/ACK/BYE) between a UAC and a UAS core, each over one reused TLS
//! connection, with a self-signed certificate generated here (rcgen); and a client whose
//! root store does not hold the server's certificate, whose requests end with a transport
//! error reported to the core.
#![cfg(feature = "tokio")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    reason = "test code"
)]

use std::time::Duration;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use telox_sip_core::header::{CSeq, CallId, Contact, From, MaxForwards, To};
use telox_sip_core::msg::{Method, Request};
use telox_sip_core::tokio::{Driver, DriverConfig, TlsConfig, tls};
use telox_sip_core::transaction::{Target, Transport};
use telox_sip_core::ua::{Body, UaConfig, UaEvent, UserAgent};
use telox_sip_core::uri::Uri;
use tokio::sync::mpsc;
use ua_support::net::{clock, seen, server_agent, until};

mod ua_support;

const SDP: &str = "v=0\r\no=t 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
m=audio 40000 RTP/AVP 0\r\n";

struct Cert {
    der: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
    cert_pem: String,
    key_pem: String,
}

fn self_signed() -> Cert {
    let ck =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    Cert {
        der: ck.cert.der().clone(),
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.key_pair.serialize_der())),
        cert_pem: ck.cert.pem(),
        key_pem: ck.key_pair.serialize_pem(),
    }
}

/// What the UAS reports to the test.
#[derive(Debug)]
enum Seen {
    Options { via_tls: bool },
    Incoming { via_tls: bool, sips: bool },
    Confirmed,
    Ended { by_peer: bool, connections: usize },
}

/// A TLS UAS at 127.0.0.1 (ephemeral ports) with the certificate loaded from PEM files
/// through the driver's helpers. The application answers OPTIONS (not the UA) so the test
/// sees the request's Via.
async fn start_uas(
    cert: &Cert,
) -> (
    Uri,
    mpsc::UnboundedReceiver<Seen>,
    tokio::task::JoinHandle<()>,
) {
    start_uas_with(cert, None).await
}

/// [`start_uas`], requiring client certificates that chain to `client_roots` when given
/// (mutual TLS).
async fn start_uas_with(
    cert: &Cert,
    client_roots: Option<Vec<CertificateDer<'static>>>,
) -> (
    Uri,
    mpsc::UnboundedReceiver<Seen>,
    tokio::task::JoinHandle<()>,
) {
    // One directory per server: tests run in parallel.
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("telox-tls-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, &cert.cert_pem).unwrap();
    std::fs::write(&key_path, &cert.key_pem).unwrap();
    let chain = tls::load_certs(&cert_path).unwrap();
    let key = tls::load_private_key(&key_path).unwrap();
    assert_eq!(chain, vec![cert.der.clone()]);
    let server = match client_roots {
        Some(roots) => {
            tls::server_config_mutual(chain, key, tls::root_store(roots).unwrap()).unwrap()
        }
        None => tls::server_config(chain, key).unwrap(),
    };

    let mut config = DriverConfig::new("127.0.0.1:0".parse().unwrap());
    config.tls = Some(TlsConfig::new(
        Some("127.0.0.1:0".parse().unwrap()),
        Some(server),
        None,
    ));
    let mut driver = Driver::bind(config).await.unwrap();
    let tls_addr = driver.tls_local_addr().unwrap();
    let mut ua = server_agent(tls_addr, Transport::Tls);
    let (tx, rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        loop {
            driver.step(&mut ua).await.unwrap();
            let now = clock();
            while let Some(event) = ua.poll_event() {
                match event {
                    UaEvent::Request { key, request, .. }
                        if *request.method() == Method::Options =>
                    {
                        let via_tls = top_via_is_tls(&request);
                        ua.respond(now, &key, 200, None).unwrap();
                        tx.send(Seen::Options { via_tls }).unwrap();
                    }
                    UaEvent::Incoming { leg, request } => {
                        tx.send(Seen::Incoming {
                            via_tls: top_via_is_tls(&request),
                            sips: request.uri().scheme_str() == "sips",
                        })
                        .unwrap();
                        ua.ringing(now, leg, 180, None).unwrap();
                        ua.answer(now, leg, Some(Body::sdp(SDP))).unwrap();
                    }
                    UaEvent::Confirmed { .. } => tx.send(Seen::Confirmed).unwrap(),
                    UaEvent::Ended { by_peer, .. } => {
                        // Send the 200 to the BYE before reporting.
                        driver.flush(&mut ua).await.unwrap();
                        tx.send(Seen::Ended {
                            by_peer,
                            connections: driver.connection_count(),
                        })
                        .unwrap();
                    }
                    _ => {}
                }
            }
        }
    });
    let uri: Uri = format!("sips:uas@127.0.0.1:{}", tls_addr.port())
        .parse()
        .unwrap();
    (uri, rx, task)
}

fn top_via_is_tls(request: &Request) -> bool {
    let text = String::from_utf8_lossy(&request.to_bytes()).into_owned();
    text.lines()
        .find(|l| l.to_ascii_lowercase().starts_with("via:") || l.starts_with("v:"))
        .is_some_and(|l| l.contains("SIP/2.0/TLS"))
}

/// A TLS client driver (no listener) trusting `roots`, and a UA whose Via says TLS.
async fn start_uac(roots: Vec<CertificateDer<'static>>) -> (Driver, UserAgent) {
    start_uac_with(roots, None).await
}

/// [`start_uac`], presenting `client_cert` when given (mutual TLS).
async fn start_uac_with(
    roots: Vec<CertificateDer<'static>>,
    client_cert: Option<&Cert>,
) -> (Driver, UserAgent) {
    let roots = tls::root_store(roots).unwrap();
    let client = match client_cert {
        Some(c) => {
            tls::client_config_with_cert(roots, vec![c.der.clone()], c.key.clone_key()).unwrap()
        }
        None => tls::client_config(roots).unwrap(),
    };
    let mut config = DriverConfig::new("127.0.0.1:0".parse().unwrap());
    config.tls = Some(TlsConfig::new(None, None, Some(client)));
    let driver = Driver::bind(config).await.unwrap();
    let mut ua_config = UaConfig::new(driver.local_addr(), "uac", 11);
    ua_config.transport = Transport::Tls;
    (driver, UserAgent::new(ua_config))
}

fn options(ua: &mut UserAgent, to: &Uri) -> Request {
    let from: Uri = "sips:uac@127.0.0.1".parse().unwrap();
    Request::builder(Method::Options, to.clone())
        .header(ua.via().unwrap())
        .header(MaxForwards(70))
        .header(From::new(from).with_tag("tlstag"))
        .header(To::new(to.clone()))
        .header(CallId::new("tls-options@127.0.0.1").unwrap())
        .header(CSeq::new(1, Method::Options))
        .build()
}

#[tokio::test]
async fn options_and_call_over_one_tls_connection() {
    let cert = self_signed();
    let (uas_uri, mut rx, task) = start_uas(&cert).await;
    let (mut driver, mut ua) = start_uac(vec![cert.der.clone()]).await;

    // sips: resolves to TLS on the URI's port; the server name checked is 127.0.0.1.
    let target = driver.resolve(&uas_uri).await.unwrap();
    assert_eq!(target.transport, Transport::Tls);
    assert_eq!(
        target.addr,
        format!("127.0.0.1:{}", uas_uri.port().unwrap())
            .parse()
            .unwrap()
    );

    let request = options(&mut ua, &uas_uri);
    let sent = ua.send_request(clock(), request, target).unwrap();
    let status = until(&mut driver, &mut ua, |e| match e {
        UaEvent::Response { key, status, .. } if key == sent => Some(status),
        _ => None,
    })
    .await;
    assert_eq!(status, 200);
    assert!(matches!(
        seen(&mut rx).await,
        Seen::Options { via_tls: true }
    ));
    assert_eq!(driver.connection_count(), 1);

    let me: Uri = "sips:uac@127.0.0.1".parse().unwrap();
    let leg = ua
        .invite(
            clock(),
            me,
            uas_uri.clone(),
            uas_uri.clone(),
            target,
            Some(Body::sdp(SDP)),
        )
        .unwrap();
    let mut provisional = 0;
    let answered = until(&mut driver, &mut ua, |e| match e {
        UaEvent::Provisional { leg: l, response } if l == leg => {
            assert_eq!(response.status().as_u16(), 180);
            provisional += 1;
            None
        }
        UaEvent::Answered { leg: l, response } if l == leg => Some(response.status().as_u16()),
        UaEvent::Failed { status, .. } => panic!("call failed with {status}"),
        _ => None,
    })
    .await;
    assert_eq!(answered, 200);
    assert_eq!(provisional, 1);
    assert!(matches!(
        seen(&mut rx).await,
        Seen::Incoming {
            via_tls: true,
            sips: true
        }
    ));
    assert!(matches!(seen(&mut rx).await, Seen::Confirmed));

    ua.bye(clock(), leg).unwrap();
    let by_peer = until(&mut driver, &mut ua, |e| match e {
        UaEvent::Ended { leg: l, by_peer } if l == leg => Some(by_peer),
        _ => None,
    })
    .await;
    assert!(!by_peer);
    match seen(&mut rx).await {
        Seen::Ended {
            by_peer,
            connections,
        } => {
            assert!(by_peer);
            // Everything (OPTIONS, INVITE, ACK, BYE and the responses) used one connection
            // at each end (RFC 3261 §18 reuse).
            assert_eq!(connections, 1);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(driver.connection_count(), 1);
    task.abort();
}

#[tokio::test]
async fn untrusted_server_certificate_is_a_transport_error() {
    let cert = self_signed();
    let other = self_signed();
    let (uas_uri, mut rx, task) = start_uas(&cert).await;
    // The client trusts a different self-signed certificate only.
    let (mut driver, mut ua) = start_uac(vec![other.der.clone()]).await;
    let target = driver.resolve(&uas_uri).await.unwrap();
    let started = clock();

    let request = options(&mut ua, &uas_uri);
    let sent = ua.send_request(clock(), request, target).unwrap();
    let status = until(&mut driver, &mut ua, |e| match e {
        UaEvent::Response {
            key,
            status,
            response,
            ..
        } if key == sent => {
            assert!(response.is_none(), "no response can arrive");
            Some(status)
        }
        _ => None,
    })
    .await;
    assert_eq!(status, 503);

    let me: Uri = "sips:uac@127.0.0.1".parse().unwrap();
    let leg = ua
        .invite(clock(), me, uas_uri.clone(), uas_uri.clone(), target, None)
        .unwrap();
    let failed = until(&mut driver, &mut ua, |e| match e {
        UaEvent::Failed { leg: l, status, .. } if l == leg => Some(status),
        UaEvent::Answered { .. } => panic!("answered over an untrusted connection"),
        _ => None,
    })
    .await;
    assert_eq!(failed, 503);
    // Reported at once by the handshake failure, not by Timer F/B (32 s).
    assert!(clock() - started < Duration::from_secs(5));
    assert_eq!(driver.connection_count(), 0);
    assert!(rx.try_recv().is_err(), "the UAS saw no request");
    task.abort();
}

/// OPTIONS from the UAC; returns the status and whether a response arrived.
async fn options_status(driver: &mut Driver, ua: &mut UserAgent, to: &Uri) -> (u16, bool) {
    let target = driver.resolve(to).await.unwrap();
    let request = options(ua, to);
    let sent = ua.send_request(clock(), request, target).unwrap();
    until(driver, ua, |e| match e {
        UaEvent::Response {
            key,
            status,
            response,
            ..
        } if key == sent => Some((status, response.is_some())),
        _ => None,
    })
    .await
}

#[tokio::test]
async fn mutual_tls_needs_the_client_certificate_and_contacts_are_sips() {
    let server_cert = self_signed();
    let client_cert = self_signed();
    let (uas_uri, mut rx, task) =
        start_uas_with(&server_cert, Some(vec![client_cert.der.clone()])).await;

    // With the client certificate: OPTIONS and a call go through.
    let (mut driver, mut ua) =
        start_uac_with(vec![server_cert.der.clone()], Some(&client_cert)).await;
    // RFC 3261 §8.1.1.8: a UA on TLS puts a SIPS URI in its Contact.
    let contact = ua.contact_uri().unwrap();
    assert_eq!(contact.scheme_str(), "sips");
    assert!(contact.param("transport").is_none(), "{contact:?}");
    assert_eq!(
        options_status(&mut driver, &mut ua, &uas_uri).await,
        (200, true)
    );
    assert!(matches!(
        seen(&mut rx).await,
        Seen::Options { via_tls: true }
    ));
    let target = driver.resolve(&uas_uri).await.unwrap();
    let me: Uri = "sips:uac@127.0.0.1".parse().unwrap();
    let leg = ua
        .invite(clock(), me, uas_uri.clone(), uas_uri.clone(), target, None)
        .unwrap();
    let peer_contact = until(&mut driver, &mut ua, |e| match e {
        UaEvent::Answered { leg: l, response } if l == leg => {
            Some(response.header::<Contact>().unwrap().unwrap())
        }
        UaEvent::Failed { status, .. } => panic!("call failed with {status}"),
        _ => None,
    })
    .await;
    // Our INVITE had no offer: the answer to the 2xx's offer goes in the ACK.
    ua.ack(leg, Some(Body::sdp(SDP))).unwrap();
    driver.flush(&mut ua).await.unwrap();
    assert_eq!(peer_contact.uri().unwrap().scheme_str(), "sips");
    // The dialog's remote target is the UAS's sips: Contact.
    assert_eq!(ua.dialog(leg).unwrap().remote_target().scheme_str(), "sips");
    assert!(matches!(
        seen(&mut rx).await,
        Seen::Incoming {
            via_tls: true,
            sips: true
        }
    ));

    // Without a client certificate the server refuses the handshake: the request fails
    // at once with a transport error, and the UAS sees nothing.
    let (mut bare_driver, mut bare_ua) = start_uac(vec![server_cert.der.clone()]).await;
    let started = clock();
    assert_eq!(
        options_status(&mut bare_driver, &mut bare_ua, &uas_uri).await,
        (503, false)
    );
    assert!(clock() - started < Duration::from_secs(5));
    assert_eq!(bare_driver.connection_count(), 0);
    assert!(matches!(seen(&mut rx).await, Seen::Confirmed));
    assert!(
        rx.try_recv().is_err(),
        "the UAS saw no request without a certificate"
    );
    task.abort();
}

/// A `sip:` INVITE over TLS (`transport=tls`) gets a `sip:` Contact with `transport=tls` in
/// the 2xx, not a SIPS one (RFC 3261 §12.1.1 asks for SIPS only when the INVITE was SIPS;
/// baresip 1.0 drops a 2xx with a SIPS Contact in a `sip:` dialog).
#[tokio::test]
async fn sip_dialog_over_tls_keeps_a_sip_contact() {
    let cert = self_signed();
    let (uas_uri, _rx, task) = start_uas(&cert).await;
    let (mut driver, mut ua) = start_uac(vec![cert.der.clone()]).await;
    let sip_uri: Uri = format!(
        "sip:uas@127.0.0.1:{};transport=tls",
        uas_uri.port().unwrap()
    )
    .parse()
    .unwrap();
    let target = driver.resolve(&sip_uri).await.unwrap();
    assert_eq!(target.transport, Transport::Tls);
    let me: Uri = "sip:uac@127.0.0.1".parse().unwrap();
    let leg = ua
        .invite(clock(), me, sip_uri.clone(), sip_uri, target, None)
        .unwrap();
    let contact = until(&mut driver, &mut ua, |e| match e {
        UaEvent::Answered { leg: l, response } if l == leg => {
            Some(response.header::<Contact>().unwrap().unwrap())
        }
        UaEvent::Failed { status, .. } => panic!("call failed with {status}"),
        _ => None,
    })
    .await;
    let uri = contact.uri().unwrap();
    assert_eq!(uri.scheme_str(), "sip", "{uri}");
    assert_eq!(uri.param("transport"), Some(Some("tls")), "{uri}");
    task.abort();
}

#[tokio::test]
async fn tls_without_client_config_fails_and_sip_uri_transport_param() {
    let mut driver = Driver::bind(DriverConfig::new("127.0.0.1:0".parse().unwrap()))
        .await
        .unwrap();
    let tcp: Uri = "sip:a@127.0.0.1;transport=tcp".parse().unwrap();
    let t = driver.resolve(&tcp).await.unwrap();
    assert_eq!(
        t,
        Target {
            transport: Transport::Tcp,
            addr: "127.0.0.1:5060".parse().unwrap()
        }
    );
    let sips: Uri = "sips:a@127.0.0.1".parse().unwrap();
    let t = driver.resolve(&sips).await.unwrap();
    assert_eq!(
        t,
        Target {
            transport: Transport::Tls,
            addr: "127.0.0.1:5061".parse().unwrap()
        }
    );
    let udp: Uri = "sip:a@127.0.0.1:5070".parse().unwrap();
    assert_eq!(
        driver.resolve(&udp).await.unwrap().transport,
        Transport::Udp
    );
    let bad: Uri = "sip:a@127.0.0.1;transport=sctp".parse().unwrap();
    assert!(driver.resolve(&bad).await.is_err());

    // A TLS listener needs a certificate.
    let mut config = DriverConfig::new("127.0.0.1:0".parse().unwrap());
    config.tls = Some(TlsConfig::new(
        Some("127.0.0.1:0".parse().unwrap()),
        None,
        None,
    ));
    assert!(Driver::bind(config).await.is_err());

    // A driver without a TLS client configuration reports a TLS send as a transport error.
    let cert = self_signed();
    let (uas_uri, _rx, task) = start_uas(&cert).await;
    let mut ua_config = UaConfig::new(driver.local_addr(), "uac", 3);
    ua_config.transport = Transport::Tls;
    let mut ua = UserAgent::new(ua_config);
    let target = driver.resolve(&uas_uri).await.unwrap();
    let request = options(&mut ua, &uas_uri);
    let sent = ua.send_request(clock(), request, target).unwrap();
    let status = until(&mut driver, &mut ua, |e| match e {
        UaEvent::Response { key, status, .. } if key == sent => Some(status),
        _ => None,
    })
    .await;
    assert_eq!(status, 503);
    task.abort();
}

#[test]
fn pem_errors_are_typed() {
    let dir = std::env::temp_dir().join(format!("telox-tls-pem-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let empty = dir.join("empty.pem");
    std::fs::write(&empty, "no pem here\n").unwrap();
    assert!(matches!(
        tls::load_certs(&empty),
        Err(tls::TlsError::Pem { .. })
    ));
    assert!(matches!(
        tls::load_private_key(&empty),
        Err(tls::TlsError::Pem { .. })
    ));
    assert!(matches!(
        tls::load_certs(dir.join("missing.pem")),
        Err(tls::TlsError::Pem { .. })
    ));
    // A key that does not match the certificate is refused by rustls.
    let (a, b) = (self_signed(), self_signed());
    assert!(matches!(
        tls::server_config(vec![a.der], b.key),
        Err(tls::TlsError::Rustls(_))
    ));
}

/// A plain TLS client (rustls directly, not the driver) sends an OPTIONS whose Via names
/// another port and no `rport`: the response still comes back over the same connection
/// (RFC 3261 §18.2.2), with the UA's automatic 200.
#[tokio::test]
async fn response_returns_over_the_connection_without_rport() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let cert = self_signed();
    let server = tls::server_config(vec![cert.der.clone()], cert.key.clone_key()).unwrap();
    let mut config = DriverConfig::new("127.0.0.1:0".parse().unwrap());
    config.tls = Some(TlsConfig::new(
        Some("127.0.0.1:0".parse().unwrap()),
        Some(server),
        None,
    ));
    let mut driver = Driver::bind(config).await.unwrap();
    let tls_addr = driver.tls_local_addr().unwrap();
    let mut ua_config = UaConfig::new(tls_addr, "uas", 5);
    ua_config.transport = Transport::Tls;
    let mut ua = UserAgent::new(ua_config);
    let task = tokio::spawn(async move {
        loop {
            driver.step(&mut ua).await.unwrap();
        }
    });

    let client = tls::client_config(tls::root_store([cert.der.clone()]).unwrap()).unwrap();
    let tcp = tokio::net::TcpStream::connect(tls_addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let mut stream = tokio_rustls::TlsConnector::from(client)
        .connect(name, tcp)
        .await
        .unwrap();
    let request = format!(
        "OPTIONS sips:uas@{tls_addr} SIP/2.0\r\n\
         Via: SIP/2.0/TLS 127.0.0.1:9;branch=z9hG4bK-norport-1\r\n\
         Max-Forwards: 70\r\n\
         From: <sips:probe@127.0.0.1>;tag=p1\r\n\
         To: <sips:uas@127.0.0.1>\r\n\
         Call-ID: norport-1@127.0.0.1\r\n\
         CSeq: 1 OPTIONS\r\n\
         Content-Length: 0\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    stream.flush().await.unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 2048];
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .expect("no response within 5 s")
            .unwrap();
        assert!(n > 0, "connection closed without a response");
        got.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8(got).unwrap();
    assert!(text.starts_with("SIP/2.0 200 "), "{text}");
    assert!(text.contains("Call-ID: norport-1@127.0.0.1"), "{text}");
    task.abort();
}
