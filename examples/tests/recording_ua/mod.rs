//! Shared by tests that check which transport requests came over: a sip-core user agent for
//! the tokio driver that records the transport and method of every request it is given, and
//! a trunk built on it (a registrar that challenges, an answer to every INVITE).

#![allow(dead_code, reason = "each test binary uses part of the helpers")]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use sip_core::auth::{DigestSecret, DigestServer, DigestServerConfig};
use sip_core::header::HeaderName;
use sip_core::registration::{
    MemoryLocationStore, RegisterOutcome, Registrar, RegistrarConfig, RegistrarService, SecretStore,
};
use sip_core::tokio::{Driver, DriverConfig, SansIo, TlsConfig, tls};
use sip_core::transaction::{Target, Transmit, Transport};
use sip_core::ua::{Body, LegId, UaConfig, UaEvent, UserAgent};
use sip_core::{Message, Method};
use tokio::sync::mpsc;

/// The longest one turn of the driver waits, so that a loop around it looks at its other
/// work (a stop flag) at least this often.
const WAKE: Duration = Duration::from_millis(50);

/// A user agent and the requests it got: the transport each came over, and its method.
pub(crate) struct Recording {
    pub(crate) ua: UserAgent,
    pub(crate) requests: Vec<(Transport, Method)>,
    /// The Contact header value of every request that has one, by method.
    pub(crate) contacts: Vec<(Method, String)>,
}

impl Recording {
    pub(crate) fn new(ua: UserAgent) -> Self {
        Self {
            ua,
            requests: Vec::new(),
            contacts: Vec::new(),
        }
    }

    /// The transports the requests of `method` came over, in order.
    pub(crate) fn transports_of(&self, method: &Method) -> Vec<Transport> {
        self.requests
            .iter()
            .filter(|(_, m)| m == method)
            .map(|(t, _)| *t)
            .collect()
    }
}

impl SansIo for Recording {
    fn handle_input(&mut self, now: Instant, from: Target, bytes: Bytes) {
        if let Ok(Message::Request(r)) = Message::parse(bytes.clone()) {
            self.requests.push((from.transport, r.method().clone()));
            if let Some(c) = r.headers().named(HeaderName::Contact).next() {
                let value = String::from_utf8_lossy(c.value).into_owned();
                self.contacts.push((r.method().clone(), value));
            }
        }
        self.ua.handle_datagram(now, from, bytes);
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.ua.handle_timeout(now);
    }
    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.ua.poll_transmit()
    }
    fn poll_timeout(&self) -> Option<Instant> {
        let wake = telox_examples::clock() + WAKE;
        Some(self.ua.poll_timeout().map_or(wake, |t| t.min(wake)))
    }
    fn handle_send_error(&mut self, now: Instant, to: Target) {
        self.ua.handle_transport_error(now, to);
    }
}

/// The trunk's password for user `telox`.
pub(crate) struct Secret;

impl SecretStore for Secret {
    fn secret(&self, username: &str) -> Option<DigestSecret> {
        (username == "telox").then(|| DigestSecret::Password("trunk-secret".into()))
    }
}

/// The trunk: a user agent recording the transport of every request, and a registrar.
pub(crate) struct Trunk {
    rec: Recording,
    registrar: RegistrarService<MemoryLocationStore, Secret>,
    /// One message per REGISTER answered 200 with a binding.
    registered: mpsc::UnboundedSender<()>,
    /// Set: the trunk hangs up the calls it answered (a BYE of its own, to the caller's
    /// Contact).
    pub(crate) hang_up: Arc<AtomicBool>,
    answered: Vec<LegId>,
}

impl Trunk {
    /// Answers REGISTERs with the registrar and INVITEs with an SDP answer.
    fn serve(&mut self, now: Instant) {
        let ua = &mut self.rec.ua;
        while let Some(ev) = ua.poll_event() {
            match ev {
                UaEvent::Request { key, request, .. } if *request.method() == Method::Register => {
                    let (resp, outcome) = self.registrar.handle(now, &request, "trunk-tag");
                    ua.send_response(now, &key, resp).unwrap();
                    if let RegisterOutcome::Registered { bindings, .. } = outcome
                        && !bindings.is_empty()
                    {
                        let _ = self.registered.send(());
                    }
                }
                UaEvent::Incoming { leg, .. } => {
                    let answer = Body::sdp(
                        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n\
                         t=0 0\r\nm=audio 4002 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n",
                    );
                    ua.answer(now, leg, Some(answer)).unwrap();
                    self.answered.push(leg);
                }
                _ => {}
            }
        }
        if self.hang_up.swap(false, Ordering::Relaxed) {
            for leg in self.answered.drain(..) {
                ua.bye(now, leg).unwrap();
            }
        }
    }
}

/// Runs the trunk until `stop`; returns the requests it got.
pub(crate) async fn run_trunk(
    mut driver: Driver,
    mut trunk: Trunk,
    stop: Arc<AtomicBool>,
) -> Recording {
    while !stop.load(Ordering::Relaxed) {
        driver.step(&mut trunk.rec).await.unwrap();
        trunk.serve(telox_examples::clock());
    }
    trunk.rec
}

/// A trunk on loopback over `transport` (UDP, TCP, or TLS with the certificate and key
/// files of `tls`, and its CA file, if any, trusted for connections of its own); returns its
/// driver, its address over that transport and the trunk.
pub(crate) async fn trunk(
    transport: Transport,
    tls: Option<(PathBuf, PathBuf, Option<PathBuf>)>,
    registered: mpsc::UnboundedSender<()>,
) -> (Driver, SocketAddr, Trunk) {
    let mut dcfg = DriverConfig::new("127.0.0.1:0".parse().unwrap());
    dcfg.tcp = transport == Transport::Tcp;
    if let Some((cert, key, ca)) = tls {
        let server = tls::server_config(
            tls::load_certs(&cert).unwrap(),
            tls::load_private_key(&key).unwrap(),
        )
        .unwrap();
        let client = ca.map(|ca| {
            tls::load_certs(ca)
                .and_then(tls::root_store)
                .and_then(tls::client_config)
                .unwrap()
        });
        let listen = "127.0.0.1:0".parse().unwrap();
        dcfg.tls = Some(TlsConfig::new(Some(listen), Some(server), client));
    }
    let driver = Driver::bind(dcfg).await.unwrap();
    let addr = match transport {
        Transport::Tls => driver.tls_local_addr().unwrap(),
        _ => driver.local_addr(),
    };
    let mut ucfg = UaConfig::new(driver.local_addr(), "trunk", 31);
    ucfg.transport = transport;
    let mut ua = UserAgent::new(ucfg);
    ua.set_listen_addr(transport, addr);
    // Grants 2 s whatever is asked: the PBX refreshes after 1 s.
    let limits = RegistrarConfig {
        min_expires: 1,
        max_expires: 2,
        ..RegistrarConfig::default()
    };
    let registrar = RegistrarService::with_auth(
        Registrar::new(limits, MemoryLocationStore::default()),
        DigestServer::new(DigestServerConfig::new("trunk.test", 5)),
        Secret,
    );
    let trunk = Trunk {
        rec: Recording::new(ua),
        registrar,
        registered,
        hang_up: Arc::new(AtomicBool::new(false)),
        answered: Vec::new(),
    };
    (driver, addr, trunk)
}

/// Waits (10 s each) for `n` registrations granted by a [`trunk`]; panics with the program's
/// log lines so far when one does not come.
pub(crate) async fn wait_registrations(
    registered: &mut mpsc::UnboundedReceiver<()>,
    log: &mut mpsc::Receiver<String>,
    n: usize,
) {
    for i in 1..=n {
        let got = tokio::time::timeout(Duration::from_secs(10), registered.recv()).await;
        let mut lines = Vec::new();
        while let Ok(l) = log.try_recv() {
            lines.push(l);
        }
        assert!(matches!(got, Ok(Some(()))), "registration {i}: {lines:#?}");
    }
}

/// Stops a [`trunk`] run by [`run_trunk`] and checks what it got: the REGISTER, its answer
/// to the 401, at least one refresh and the removal at stop, and an INVITE, all over
/// `transport`. Returns the recording.
pub(crate) async fn all_over(
    trunk: tokio::task::JoinHandle<Recording>,
    stop: &AtomicBool,
    transport: Transport,
) -> Recording {
    stop.store(true, Ordering::Relaxed);
    let rec = tokio::time::timeout(Duration::from_secs(10), trunk)
        .await
        .unwrap()
        .unwrap();
    let seen = &rec.requests;
    assert!(rec.transports_of(&Method::Register).len() >= 4, "{seen:?}");
    assert!(!rec.transports_of(&Method::Invite).is_empty(), "{seen:?}");
    assert!(seen.iter().all(|(t, _)| *t == transport), "{seen:?}");
    rec
}
