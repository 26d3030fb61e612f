//! tokio glue (feature `tokio`): sockets and timers that drive a sans-IO SIP core.
//!
//! [`Driver`] owns a UDP socket and optionally a TCP listener, sets the DSCP/TOS byte on
//! them (CS3 for signalling by default), feeds received messages and timer expiries into a
//! [`SansIo`] core ([`UserAgent`] or [`Transactions`]) and sends what the core emits:
//! datagrams on UDP; on TCP over the connection to the destination, reusing an accepted or
//! earlier connection (RFC 3261 §18.2.2 "the server transport uses the connection ... over
//! which the request arrived") and connecting when there is none. Streams are split into
//! messages by the sans-IO [`Framer`].
//!
//! TLS (`sips:`, RFC 3261 §26.2) runs over rustls when [`DriverConfig::tls`] is set: a
//! listener on its own port (5061 by convention) presenting the configured certificate
//! chain, and outgoing connections verified against the configured root store and the
//! target's server name ([`Driver::resolve`] records the host of a URI; an IP address is
//! checked otherwise). TLS connections are reused exactly like TCP ones, keyed by transport
//! and address. A failed connect or handshake is reported to the core with
//! [`SansIo::handle_send_error`], which ends the transactions towards that peer with a
//! transport error (RFC 3261 §17.1.4); so is a connection that fails while reading (a reset,
//! or a TLS alert such as a server refusing our client certificate). [`tls`] loads PEM files
//! and builds the configurations, mutual TLS included.
//!
//! [`Driver::step`] is one whole turn and is not cancel-safe; a loop that also waits on
//! other things in `tokio::select!` races the cancel-safe [`Driver::next_input`] and feeds
//! its result with [`Driver::handle`].
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use telox_sip_core::tokio::{Driver, DriverConfig};
//! use telox_sip_core::ua::{UaConfig, UserAgent};
//! let mut driver = Driver::bind(DriverConfig::new("127.0.0.1:5060".parse().unwrap())).await?;
//! let mut ua = UserAgent::new(UaConfig::new(driver.local_addr(), "alice", 1));
//! loop {
//!     driver.step(&mut ua).await?;
//!     while let Some(_event) = ua.poll_event() { /* application */ }
//! }
//! # }
//! ```

pub mod dns;
pub mod tls;
pub mod ws;

pub use dns::{DnsClient, DnsConfig};
pub use ws::WsConfig;

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio_rustls::{TlsAcceptor, TlsConnector};

use crate::dns::IpFamilies;
use crate::framer::Framer;
use crate::locate::{self, LocateConfig};
use crate::msg::ParseLimits;
use crate::transaction::{Target, Transactions, Transmit, Transport};
use crate::ua::UserAgent;
use crate::uri::Uri;

/// DSCP CS3 (24) in the TOS byte: the usual class for SIP signalling.
pub const TOS_CS3: u8 = 24 << 2;
/// DSCP EF (46) in the TOS byte: the usual class for RTP media.
pub const TOS_EF: u8 = 46 << 2;

/// A sans-IO core the driver can run.
pub trait SansIo {
    /// A message (datagram or framed stream message) arrived.
    fn handle_input(&mut self, now: Instant, from: Target, bytes: Bytes);
    /// Timers are due.
    fn handle_timeout(&mut self, now: Instant);
    /// Next message to send.
    fn poll_transmit(&mut self) -> Option<Transmit>;
    /// Next deadline.
    fn poll_timeout(&self) -> Option<Instant>;
    /// A message could not be sent to `to`.
    fn handle_send_error(&mut self, _now: Instant, _to: Target) {}
    /// The connection to `peer` (TCP, TLS or WebSocket, accepted or ours) closed or failed
    /// and is forgotten: a later send to `peer` opens a new connection. A B2BUA that routes
    /// to a registration's connection (RFC 5626-style) then reaches the registered Contact
    /// instead. Reported after the connection is gone, before any
    /// [`handle_send_error`](SansIo::handle_send_error) for it.
    fn handle_connection_closed(&mut self, _now: Instant, _peer: Target) {}
}

impl SansIo for UserAgent {
    fn handle_input(&mut self, now: Instant, from: Target, bytes: Bytes) {
        self.handle_datagram(now, from, bytes);
    }
    fn handle_timeout(&mut self, now: Instant) {
        Self::handle_timeout(self, now);
    }
    fn poll_transmit(&mut self) -> Option<Transmit> {
        Self::poll_transmit(self)
    }
    fn poll_timeout(&self) -> Option<Instant> {
        Self::poll_timeout(self)
    }
    fn handle_send_error(&mut self, now: Instant, to: Target) {
        self.handle_transport_error(now, to);
    }
}

impl SansIo for Transactions {
    fn handle_input(&mut self, now: Instant, from: Target, bytes: Bytes) {
        self.handle_datagram(now, from, bytes);
    }
    fn handle_timeout(&mut self, now: Instant) {
        Self::handle_timeout(self, now);
    }
    fn poll_transmit(&mut self) -> Option<Transmit> {
        Self::poll_transmit(self)
    }
    fn poll_timeout(&self) -> Option<Instant> {
        Self::poll_timeout(self)
    }
    fn handle_send_error(&mut self, now: Instant, to: Target) {
        self.handle_peer_error(now, to);
    }
}

/// TLS settings of a [`Driver`] (see [`tls`] for building them from PEM files).
#[derive(Clone, Debug)]
pub struct TlsConfig {
    /// Address of the TLS listener (port 5061 by convention; port 0 picks one); `None` for
    /// outgoing connections only. Requires `server`.
    pub bind: Option<SocketAddr>,
    /// The listener's certificate chain and key.
    pub server: Option<Arc<rustls::ServerConfig>>,
    /// Root store and settings for outgoing connections; `None` refuses outgoing TLS.
    pub client: Option<Arc<rustls::ClientConfig>>,
    /// Bound on TCP connect plus TLS handshake, in both directions.
    pub handshake_timeout: Duration,
}

impl TlsConfig {
    /// A listener at `bind` with `server`, and outgoing connections with `client`; 5 s
    /// handshake bound.
    pub fn new(
        bind: Option<SocketAddr>,
        server: Option<Arc<rustls::ServerConfig>>,
        client: Option<Arc<rustls::ClientConfig>>,
    ) -> Self {
        Self {
            bind,
            server,
            client,
            handshake_timeout: Duration::from_secs(5),
        }
    }
}

/// Sockets to open.
#[derive(Clone, Debug)]
pub struct DriverConfig {
    /// Address for the UDP socket (and the TCP listener when `tcp` is set).
    pub bind: SocketAddr,
    /// TOS byte for the sockets (DSCP << 2); `None` leaves the OS default.
    pub tos: Option<u8>,
    /// Also listen on TCP at the same address.
    pub tcp: bool,
    /// Message limits for stream framing.
    pub limits: ParseLimits,
    /// TLS listener and outgoing TLS; `None` reports TLS sends as failures.
    pub tls: Option<TlsConfig>,
    /// WebSocket listeners (RFC 7118); outgoing `ws`/`wss` connections work without (with
    /// path `/`).
    pub ws: Option<WsConfig>,
    /// Nameservers for [`Driver::resolve`]; `None` reads `/etc/resolv.conf` at the first
    /// name to resolve.
    pub dns: Option<DnsConfig>,
}

impl DriverConfig {
    /// UDP only, CS3 marking.
    pub fn new(bind: SocketAddr) -> Self {
        Self {
            bind,
            tos: Some(TOS_CS3),
            tcp: false,
            limits: ParseLimits::default(),
            tls: None,
            ws: None,
            dns: None,
        }
    }
}

/// The write side of a TCP, TLS or WebSocket connection.
struct StreamWriter {
    /// Distinguishes this connection from a later one to the same peer, so that the close
    /// of an old connection does not drop its replacement.
    id: u64,
    write: Pin<Box<dyn AsyncWrite + Send + Sync>>,
    /// WebSocket: our end (SIP messages are framed, masked as a client).
    ws: Option<crate::ws::Role>,
    /// The peer opened it (we accepted it).
    accepted: bool,
}

impl StreamWriter {
    fn new(write: impl AsyncWrite + Send + Sync + 'static) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        Self {
            id: NEXT.fetch_add(1, Ordering::Relaxed),
            write: Box::pin(write),
            ws: None,
            accepted: false,
        }
    }

    fn new_ws(write: impl AsyncWrite + Send + Sync + 'static, role: crate::ws::Role) -> Self {
        Self {
            ws: Some(role),
            ..Self::new(write)
        }
    }
}

impl fmt::Debug for StreamWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StreamWriter")
    }
}

/// Owns the sockets of one SIP endpoint. See the module docs.
#[derive(Debug)]
pub struct Driver {
    udp: UdpSocket,
    /// Without a TCP listener: the TCP twin of the UDP port, bound but not listening (see
    /// [`bind_udp_and_twin`]).
    _tcp_hold: Option<TcpSocket>,
    local: SocketAddr,
    tls_local: Option<SocketAddr>,
    /// Open connections by (transport, peer): accepted ones and ours (RFC 3261 §18 reuse).
    writers: HashMap<Target, StreamWriter>,
    /// Connections of ours to a peer whose address is also that of a connection in
    /// `writers` we accepted: for the requests that may not ride it
    /// ([`Transmit::own_connection`]).
    own: HashMap<Target, StreamWriter>,
    /// Server names for outgoing TLS and `Host`s for outgoing WebSocket connections, by
    /// address (from [`Driver::resolve`] and its [`Resolver`]s).
    names: Arc<Mutex<Names>>,
    tls_client: Option<Arc<rustls::ClientConfig>>,
    handshake_timeout: Duration,
    ws_local: Option<SocketAddr>,
    wss_local: Option<SocketAddr>,
    /// Request target of outgoing WebSocket connections.
    ws_path: String,
    /// WebSocket nonces and masking keys (RFC 6455 §5.3: "a strong source of entropy"):
    /// seeded from the OS.
    ws_rng: ChaCha8Rng,
    inbound_tx: mpsc::Sender<Inbound>,
    inbound_rx: mpsc::Receiver<Inbound>,
    limits: ParseLimits,
    tos: Option<u8>,
    buf: Vec<u8>,
    /// The configured nameservers, until the first lookup makes the client.
    dns_config: Option<DnsConfig>,
    /// The DNS client, shared with the [`Resolver`]s.
    dns: Option<Arc<tokio::sync::Mutex<DnsClient>>>,
}

/// What outgoing connections need to know of the names they were resolved from.
#[derive(Debug, Default)]
struct Names {
    /// Server names to verify for outgoing TLS.
    tls: HashMap<SocketAddr, ServerName<'static>>,
    /// `Host` of outgoing WebSocket handshakes.
    ws: HashMap<SocketAddr, String>,
}

/// Resolves URIs for a [`Driver`] away from it (from [`Driver::resolver`]): in a task of
/// its own, so that the driver goes on serving SIP meanwhile. It shares the driver's DNS
/// client (its cache; resolutions wait for each other) and records the TLS server names
/// and WebSocket hosts in the driver, as [`Driver::resolve_all`] does.
#[derive(Clone, Debug)]
pub struct Resolver {
    client: Arc<tokio::sync::Mutex<DnsClient>>,
    names: Arc<Mutex<Names>>,
    config: LocateConfig,
    families: IpFamilies,
}

impl Resolver {
    /// As [`Driver::resolve_all`].
    ///
    /// # Errors
    /// As [`Driver::resolve_all`].
    pub async fn resolve_all(&self, uri: &Uri) -> io::Result<Vec<Target>> {
        Ok(self.resolve_list(uri).await?.into_vec())
    }

    /// As [`Resolver::resolve_all`], with the instant the targets go stale
    /// ([`TargetList::expires`](crate::ua::TargetList::expires), the smallest TTL of the
    /// records they came from, see [`DnsClient::resolve_list`]): a list kept to start later
    /// requests is located again once it is stale, so a server moved by DNS is found
    /// without a restart. A registration given the list asks for that itself
    /// ([`UaEvent::TargetsExpired`](crate::ua::UaEvent::TargetsExpired)).
    ///
    /// # Errors
    /// As [`Driver::resolve_all`].
    pub async fn resolve_list(&self, uri: &Uri) -> io::Result<crate::ua::TargetList> {
        let targets = self
            .client
            .lock()
            .await
            .resolve_list(uri, &self.config, self.families)
            .await?;
        for t in targets.as_slice() {
            remember_names(&self.names, uri, *t)?;
        }
        Ok(targets)
    }
}

impl fmt::Debug for Inbound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Message(t, b) => write!(f, "Message({t:?}, {} bytes)", b.len()),
            Self::Accepted(t, _) => write!(f, "Accepted({t:?})"),
            Self::Closed(t, id) => write!(f, "Closed({t:?}, {id})"),
            Self::Failed(t, id) => write!(f, "Failed({t:?}, {id})"),
            Self::Write(t, id, b) => write!(f, "Write({t:?}, {id}, {} bytes)", b.len()),
        }
    }
}

/// What [`Driver::next_input`] waited for; feed it with [`Driver::handle`].
#[derive(Debug)]
pub struct Input(Event);

#[derive(Debug)]
enum Event {
    /// A UDP datagram.
    Datagram(SocketAddr, Bytes),
    /// A stream message or a connection event.
    Inbound(Inbound),
    /// The deadline passed.
    Timeout,
}

enum Inbound {
    Message(Target, Bytes),
    Accepted(Target, StreamWriter),
    Closed(Target, u64),
    /// The connection failed while reading (reset, TLS alert such as a refused client
    /// certificate): closed, and reported to the core like a failed send.
    Failed(Target, u64),
    /// Bytes to write as they are on connection `id` (a WebSocket pong or close).
    Write(Target, u64, Bytes),
}

impl Driver {
    /// Binds the sockets and sets their TOS byte.
    ///
    /// # Errors
    /// Socket errors from the OS; `InvalidInput` for a TLS listener without a server
    /// configuration.
    pub async fn bind(config: DriverConfig) -> io::Result<Self> {
        // A TLS or WebSocket listener configured on the UDP port's number needs that TCP
        // port: no hold then.
        let port = config.bind.port();
        let stream_listener_on_port = port != 0
            && config
                .tls
                .as_ref()
                .and_then(|t| t.bind)
                .into_iter()
                .chain(
                    config
                        .ws
                        .iter()
                        .flat_map(|w| [w.bind, w.secure_bind])
                        .flatten(),
                )
                .any(|b| b.port() == port);
        let mode = match (config.tcp, stream_listener_on_port) {
            (true, _) => TwinMode::Listen,
            (false, false) => TwinMode::Hold,
            (false, true) => TwinMode::Leave,
        };
        let (udp, twin) = bind_udp_and_twin(config.bind, mode, config.tos, || {
            std::net::UdpSocket::bind(config.bind)
        })?;
        let local = udp.local_addr()?;
        let (inbound_tx, inbound_rx) = mpsc::channel(1024);
        let tcp_hold = match twin {
            Twin::Listener(listener) => {
                let tx = inbound_tx.clone();
                let limits = config.limits;
                tokio::spawn(async move {
                    // Accepted sockets inherit the listener's TOS on Linux.
                    while let Some((stream, peer)) = accept(&listener, &tx).await {
                        let (read, write) = stream.into_split();
                        let target = Target {
                            transport: Transport::Tcp,
                            addr: peer,
                        };
                        let writer = StreamWriter::new(write);
                        let id = writer.id;
                        if tx.send(Inbound::Accepted(target, writer)).await.is_err() {
                            break;
                        }
                        tokio::spawn(read_stream(read, target, id, tx.clone(), limits));
                    }
                });
                None
            }
            Twin::Held(socket) => socket,
        };
        let mut tls_local = None;
        let mut tls_client = None;
        let mut tls_server = None;
        let mut handshake_timeout = Duration::from_secs(5);
        let mut ws_rng = ChaCha8Rng::from_os_rng();
        if let Some(tls) = config.tls {
            handshake_timeout = tls.handshake_timeout;
            tls_client = tls.client;
            tls_server.clone_from(&tls.server);
            if let Some(bind) = tls.bind {
                let Some(server) = tls.server else {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "TLS listener without a server certificate",
                    ));
                };
                let listener = listen(bind, config.tos)?;
                tls_local = Some(listener.local_addr()?);
                tokio::spawn(accept_tls(
                    listener,
                    TlsAcceptor::from(server),
                    inbound_tx.clone(),
                    config.limits,
                    handshake_timeout,
                ));
            }
        }
        let (mut ws_local, mut wss_local) = (None, None);
        let ws_config = config.ws.unwrap_or_else(|| WsConfig::new(None));
        for (bind, secure) in [(ws_config.bind, false), (ws_config.secure_bind, true)] {
            let Some(bind) = bind else { continue };
            let acceptor = match (secure, &tls_server) {
                (false, _) => None,
                (true, Some(server)) => Some(TlsAcceptor::from(Arc::clone(server))),
                (true, None) => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "wss listener without a TLS server certificate",
                    ));
                }
            };
            let listener = listen(bind, config.tos)?;
            let addr = Some(listener.local_addr()?);
            if secure {
                wss_local = addr;
            } else {
                ws_local = addr;
            }
            tokio::spawn(ws::accept_ws(
                listener,
                acceptor,
                inbound_tx.clone(),
                config.limits,
                handshake_timeout,
                ws_rng.next_u64(),
            ));
        }
        Ok(Self {
            udp,
            _tcp_hold: tcp_hold,
            local,
            tls_local,
            ws_local,
            wss_local,
            ws_path: ws_config.path,
            names: Arc::default(),
            ws_rng,
            writers: HashMap::new(),
            own: HashMap::new(),
            tls_client,
            handshake_timeout,
            inbound_tx,
            inbound_rx,
            limits: config.limits,
            tos: config.tos,
            buf: vec![0u8; 65_535],
            dns_config: config.dns,
            dns: None,
        })
    }

    /// The bound address (UDP and TCP share it).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The TLS listener's address, when one is configured: the address for Via and Contact
    /// of a UA on TLS (`UaConfig::local_addr` with `transport = Transport::Tls`).
    pub fn tls_local_addr(&self) -> Option<SocketAddr> {
        self.tls_local
    }

    /// The `ws` listener's address, when one is configured: the address for Via and Contact
    /// of a UA on WebSocket (`transport = Transport::Ws`).
    pub fn ws_local_addr(&self) -> Option<SocketAddr> {
        self.ws_local
    }

    /// The `wss` listener's address, when one is configured.
    pub fn wss_local_addr(&self) -> Option<SocketAddr> {
        self.wss_local
    }

    /// The number of open TCP, TLS and WebSocket connections (accepted and ours).
    pub fn connection_count(&self) -> usize {
        self.writers.len() + self.own.len()
    }

    /// Verify the certificate of the TLS server at `addr` against `name` (a DNS name or an
    /// IP address) instead of the address itself.
    ///
    /// # Errors
    /// `InvalidInput` when `name` is neither a DNS name nor an IP address.
    pub fn set_tls_server_name(&mut self, addr: SocketAddr, name: &str) -> io::Result<()> {
        let name = ServerName::try_from(name.to_owned())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        lock(&self.names).tls.insert(addr, name);
        Ok(())
    }

    /// Where to send a request for `uri`: the first of [`Driver::resolve_all`].
    ///
    /// # Errors
    /// As [`Driver::resolve_all`].
    pub async fn resolve(&mut self, uri: &Uri) -> io::Result<Target> {
        self.resolve_all(uri)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no address for the uri's host"))
    }

    /// The targets for `uri` in the order to try them (RFC 3263 §4), as
    /// [`UserAgent::invite`](crate::ua::UserAgent::invite) and
    /// [`UserAgent::register`](crate::ua::UserAgent::register) take them: they send the
    /// request again to the next after a timeout, a transport error or a 503 (§4.3).
    ///
    /// - An IP host needs no lookup ([`locate::ip_target`]): `sips:` means TLS (RFC 3261
    ///   §26.2), otherwise the `transport` parameter (`udp`, `tcp`, `tls`, `ws`; `ws` with
    ///   `sips:` means WSS, RFC 7118) or UDP; the port defaults to 5061 for TLS, 80/443
    ///   for WS/WSS and 5060 otherwise.
    /// - A name is located over DNS ([`DnsClient::locate`], the nameservers of
    ///   [`DriverConfig::dns`]): NAPTR unless the URI names a transport or a port, SRV
    ///   unless it names a port, then A (AAAA when the UDP socket is IPv6). The transports
    ///   considered are UDP, TCP, and TLS when [`DriverConfig::tls`] has a client
    ///   configuration. When DNS gives no address, and for a single-label host such as
    ///   `localhost`, the system resolver (`/etc/hosts`, then its DNS) is asked for the
    ///   host, as for a URI with neither NAPTR nor SRV records.
    ///
    /// The lookups are awaited here, bounded by [`DnsConfig::resolve_timeout`], and the
    /// driver takes no SIP input meanwhile: an application with calls in progress resolves
    /// with a [`Driver::resolver`] in a task of its own and steps the driver meanwhile.
    ///
    /// For TLS and WSS the URI's host name is recorded as the server name to verify
    /// ([`Driver::set_tls_server_name`]; RFC 5922 §4: the domain of the URI, not the SRV
    /// target), for WS/WSS as the `Host` of the handshake.
    ///
    /// # Errors
    /// `InvalidInput` for a non-SIP URI or an unsupported transport; `NotFound` when the
    /// host has no address; `/etc/resolv.conf` read errors.
    pub async fn resolve_all(&mut self, uri: &Uri) -> io::Result<Vec<Target>> {
        // An IP host before the resolver, which would make the DNS client (and read
        // /etc/resolv.conf) for nothing.
        match locate::ip_target(uri) {
            Ok(t) => {
                remember_names(&self.names, uri, t)?;
                Ok(vec![t])
            }
            Err(locate::LocateError::HostName(_)) => self.resolver()?.resolve_all(uri).await,
            Err(e) => Err(io::Error::new(io::ErrorKind::InvalidInput, e)),
        }
    }

    /// A handle that resolves as [`Driver::resolve_all`] does, to be moved into a task of
    /// its own so that the driver goes on taking SIP input while DNS is asked:
    ///
    /// ```no_run
    /// # async fn run(mut driver: telox_sip_core::tokio::Driver,
    /// #     uri: telox_sip_core::Uri) -> std::io::Result<()> {
    /// let resolver = driver.resolver()?;
    /// let lookup = tokio::spawn(async move { resolver.resolve_all(&uri).await });
    /// // ... step the driver; then, once `lookup` is finished:
    /// let targets = lookup.await.map_err(std::io::Error::other)??;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// `/etc/resolv.conf` read errors when no nameservers were configured.
    pub fn resolver(&mut self) -> io::Result<Resolver> {
        let mut transports = vec![Transport::Udp, Transport::Tcp];
        if self.tls_client.is_some() {
            transports.push(Transport::Tls);
        }
        Ok(Resolver {
            client: Arc::clone(self.dns_client()?),
            names: Arc::clone(&self.names),
            config: LocateConfig { transports },
            families: IpFamilies::of(self.local),
        })
    }

    /// The DNS client, made at the first use.
    fn dns_client(&mut self) -> io::Result<&Arc<tokio::sync::Mutex<DnsClient>>> {
        let client = match self.dns.take() {
            Some(client) => client,
            None => Arc::new(tokio::sync::Mutex::new(DnsClient::new(
                match self.dns_config.take() {
                    Some(c) => c,
                    None => DnsConfig::system()?,
                },
            ))),
        };
        Ok(self.dns.insert(client))
    }

    /// Sends everything the core has queued.
    ///
    /// # Errors
    /// Only unexpected socket errors; a failed send to one peer (including a refused
    /// connection or a failed TLS handshake) is reported to the core through
    /// [`SansIo::handle_send_error`].
    pub async fn flush<E: SansIo>(&mut self, core: &mut E) -> io::Result<()> {
        self.send_queued(core).await;
        Ok(())
    }

    /// Sends what the core has queued; returns how many sends failed (each reported to the
    /// core).
    async fn send_queued<E: SansIo>(&mut self, core: &mut E) -> usize {
        let mut failed = 0;
        while let Some(t) = core.poll_transmit() {
            let to = Target {
                transport: t.transport,
                addr: t.destination,
            };
            // A request that may not ride a connection the peer opened (RFC 3261 §18.1.1's
            // size switch aims at a UDP address; a connection accepted from that address
            // and port may be another endpoint's, behind the same NAT): one of our own.
            let own = t.own_connection && self.writers.get(&to).is_some_and(|w| w.accepted);
            let connected = !own && self.writers.contains_key(&to);
            let sent = match t.transport {
                Transport::Udp => self
                    .udp
                    .send_to(&t.payload, t.destination)
                    .await
                    .map(|_| ()),
                Transport::Tcp | Transport::Tls | Transport::Ws | Transport::Wss => {
                    self.send_stream(to, &t.payload, own).await
                }
            };
            if sent.is_err() {
                failed += 1;
                if connected && !self.writers.contains_key(&to) {
                    core.handle_connection_closed(now(), to);
                }
                core.handle_send_error(now(), to);
            }
        }
        failed
    }

    /// One turn: send what is queued, wait for a message or the core's next deadline, feed
    /// it, and send again. The application drains the core's events after each turn. When a
    /// send fails (the core has then been told, and may have events such as a failed call),
    /// the turn ends without waiting.
    ///
    /// **Not cancel-safe**: dropped while it sends (a TCP connect, a TLS handshake, a stream
    /// write), a message the core already handed over is lost, or half written on a stream.
    /// Inside `tokio::select!` next to other branches, wait with the cancel-safe
    /// [`Driver::next_input`] instead and feed its result with [`Driver::handle`] outside
    /// the `select!`.
    ///
    /// # Errors
    /// Socket errors from the OS.
    pub async fn step<E: SansIo>(&mut self, core: &mut E) -> io::Result<()> {
        if self.send_queued(core).await > 0 {
            return Ok(());
        }
        let input = self.next_input(core.poll_timeout()).await?;
        self.handle(core, input).await
    }

    /// Waits for the next datagram, stream message or connection event, or until `deadline`
    /// (the core's [`SansIo::poll_timeout`]). **Cancel-safe**: it only waits, and nothing is
    /// taken from a socket or queue unless it is returned, so it can race other branches of
    /// `tokio::select!`. Hand the result to [`Driver::handle`] (first send what the core has
    /// queued with [`Driver::flush`]):
    ///
    /// ```no_run
    /// # async fn run(mut driver: telox_sip_core::tokio::Driver,
    /// #     mut ua: telox_sip_core::ua::UserAgent,
    /// #     mut commands: tokio::sync::mpsc::Receiver<()>) -> std::io::Result<()> {
    /// loop {
    ///     driver.flush(&mut ua).await?;
    ///     tokio::select! {
    ///         input = driver.next_input(ua.poll_timeout()) => driver.handle(&mut ua, input?).await?,
    ///         Some(_command) = commands.recv() => { /* act on the UA */ }
    ///     }
    ///     while let Some(_event) = ua.poll_event() { /* application */ }
    /// }
    /// # }
    /// ```
    ///
    /// # Errors
    /// Socket errors from the OS.
    pub async fn next_input(&mut self, deadline: Option<Instant>) -> io::Result<Input> {
        let sleep = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending::<()>().await,
            }
        };
        // Each branch is cancel-safe: `recv_from` and `mpsc::Receiver::recv` take nothing
        // when dropped before they complete, and the datagram is copied out at once.
        tokio::select! {
            r = self.udp.recv_from(&mut self.buf) => {
                let (n, from) = r?;
                let bytes = Bytes::copy_from_slice(self.buf.get(..n).unwrap_or_default());
                Ok(Input(Event::Datagram(from, bytes)))
            }
            Some(inbound) = self.inbound_rx.recv() => Ok(Input(Event::Inbound(inbound))),
            () = sleep => Ok(Input(Event::Timeout)),
        }
    }

    /// Feeds `input` (from [`Driver::next_input`]) to the core, or records the connection
    /// event it is, then sends what the core queued. Not cancel-safe (see
    /// [`Driver::step`]): await it to completion, outside `select!`.
    ///
    /// # Errors
    /// Only unexpected socket errors, as [`Driver::flush`].
    pub async fn handle<E: SansIo>(&mut self, core: &mut E, input: Input) -> io::Result<()> {
        match input.0 {
            Event::Datagram(from, bytes) => {
                let from = Target {
                    transport: Transport::Udp,
                    addr: from,
                };
                core.handle_input(now(), from, bytes);
            }
            Event::Timeout => core.handle_timeout(now()),
            Event::Inbound(inbound) => self.inbound(core, inbound).await,
        }
        self.flush(core).await
    }

    /// A message or connection event from a stream task.
    async fn inbound<E: SansIo>(&mut self, core: &mut E, inbound: Inbound) {
        match inbound {
            Inbound::Message(from, bytes) => core.handle_input(now(), from, bytes),
            Inbound::Accepted(peer, mut write) => {
                write.accepted = true;
                self.writers.insert(peer, write);
            }
            // One of our own connections beside an accepted one: forgotten quietly (the
            // core knows the accepted one by that address); a failure still ends the
            // transactions towards the peer.
            Inbound::Closed(peer, id) if self.own.get(&peer).is_some_and(|w| w.id == id) => {
                self.own.remove(&peer);
            }
            Inbound::Failed(peer, id) if self.own.get(&peer).is_some_and(|w| w.id == id) => {
                self.own.remove(&peer);
                core.handle_send_error(now(), peer);
            }
            Inbound::Closed(peer, id) => {
                if self.writers.get(&peer).is_some_and(|w| w.id == id) {
                    self.writers.remove(&peer);
                    core.handle_connection_closed(now(), peer);
                }
            }
            Inbound::Write(peer, id, bytes) => {
                let own = self.own.get(&peer).is_some_and(|w| w.id == id);
                let open = if own {
                    &mut self.own
                } else {
                    &mut self.writers
                };
                if let Some(w) = open.get_mut(&peer).filter(|w| w.id == id) {
                    let ok =
                        w.write.write_all(&bytes).await.is_ok() && w.write.flush().await.is_ok();
                    if !ok {
                        open.remove(&peer);
                        if !own {
                            core.handle_connection_closed(now(), peer);
                        }
                    }
                }
            }
            Inbound::Failed(peer, id) => {
                if self.writers.get(&peer).is_some_and(|w| w.id == id) {
                    self.writers.remove(&peer);
                    core.handle_connection_closed(now(), peer);
                    core.handle_send_error(now(), peer);
                }
            }
        }
    }

    /// Writes on the open connection to `to`, connecting (and for TLS, handshaking) first
    /// when there is none; with `own`, on a connection of ours beside the accepted one.
    async fn send_stream(&mut self, to: Target, payload: &[u8], own: bool) -> io::Result<()> {
        let open = if own { &self.own } else { &self.writers };
        if !open.contains_key(&to) {
            let writer = tokio::time::timeout(self.handshake_timeout, self.connect(to))
                .await
                .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))??;
            let open = if own {
                &mut self.own
            } else {
                &mut self.writers
            };
            open.insert(to, writer);
        }
        let open = if own {
            &mut self.own
        } else {
            &mut self.writers
        };
        let Some(w) = open.get_mut(&to) else {
            return Err(io::Error::new(io::ErrorKind::NotConnected, "no connection"));
        };
        // RFC 7118 §5: each SIP message in one WebSocket message.
        let framed = w.ws.map(|role| ws::frame(role, payload, &mut self.ws_rng));
        let mut r = w
            .write
            .write_all(framed.as_deref().unwrap_or(payload))
            .await;
        if r.is_ok() {
            // rustls buffers records: push them to the socket now.
            r = w.write.flush().await;
        }
        if r.is_err() {
            open.remove(&to);
        }
        r
    }

    async fn connect(&mut self, to: Target) -> io::Result<StreamWriter> {
        let addr = to.addr;
        let stream: TcpStream = tcp_socket(addr, self.tos)?.connect(addr).await?;
        stream.set_nodelay(true)?;
        let tx = self.inbound_tx.clone();
        if to.transport == Transport::Tcp {
            let (read, write) = stream.into_split();
            let writer = StreamWriter::new(write);
            tokio::spawn(read_stream(read, to, writer.id, tx, self.limits));
            return Ok(writer);
        }
        let stream: Box<dyn Io> = if matches!(to.transport, Transport::Tls | Transport::Wss) {
            let Some(client) = &self.tls_client else {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "no TLS client configuration",
                ));
            };
            let name = lock(&self.names)
                .tls
                .get(&addr)
                .cloned()
                .unwrap_or_else(|| ServerName::IpAddress(addr.ip().into()));
            Box::new(
                TlsConnector::from(Arc::clone(client))
                    .connect(name, stream)
                    .await?,
            )
        } else {
            Box::new(stream)
        };
        if matches!(to.transport, Transport::Ws | Transport::Wss) {
            let host = lock(&self.names)
                .ws
                .get(&addr)
                .cloned()
                .unwrap_or_else(|| addr.to_string());
            let path = self.ws_path.clone();
            return ws::connect(stream, to, &host, &path, &mut self.ws_rng, tx, self.limits).await;
        }
        let (read, write) = tokio::io::split(stream);
        let writer = StreamWriter::new(write);
        tokio::spawn(read_stream(read, to, writer.id, tx, self.limits));
        Ok(writer)
    }
}

/// A connected byte stream (TCP, or TLS over it).
trait Io: AsyncRead + AsyncWrite + Unpin + Send + Sync {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send + Sync> Io for T {}

/// Accepts TLS connections; each handshake runs in its own task, bounded in time, so a
/// slow or hostile client cannot hold up the others.
async fn accept_tls(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    tx: mpsc::Sender<Inbound>,
    limits: ParseLimits,
    handshake_timeout: Duration,
) {
    while let Some((stream, peer)) = accept(&listener, &tx).await {
        let acceptor = acceptor.clone();
        let tx = tx.clone();
        tokio::spawn(async move {
            let _ = stream.set_nodelay(true);
            let Ok(Ok(stream)) =
                tokio::time::timeout(handshake_timeout, acceptor.accept(stream)).await
            else {
                return;
            };
            let (read, write) = tokio::io::split(stream);
            let target = Target {
                transport: Transport::Tls,
                addr: peer,
            };
            let writer = StreamWriter::new(write);
            let id = writer.id;
            if tx.send(Inbound::Accepted(target, writer)).await.is_ok() {
                read_stream(read, target, id, tx, limits).await;
            }
        });
    }
}

async fn read_stream<R: AsyncRead + Unpin>(
    mut read: R,
    peer: Target,
    id: u64,
    tx: mpsc::Sender<Inbound>,
    limits: ParseLimits,
) {
    let mut framer = Framer::new(limits);
    let mut buf = BytesMut::with_capacity(8192);
    loop {
        match read_more(&mut read, &mut buf, &tx).await {
            None => return,
            Some(Ok(0)) => break,
            Some(Err(_)) => {
                let _ = tx.send(Inbound::Failed(peer, id)).await;
                return;
            }
            Some(Ok(_)) => {}
        }
        loop {
            match framer.decode(&mut buf) {
                Ok(Some(msg)) => {
                    if tx.send(Inbound::Message(peer, msg)).await.is_err() {
                        return;
                    }
                }
                Ok(None) => break,
                // RFC 3261 §18.3: a framing error on a stream cannot be recovered from;
                // close the connection.
                Err(_) => {
                    let _ = tx.send(Inbound::Closed(peer, id)).await;
                    return;
                }
            }
        }
    }
    let _ = tx.send(Inbound::Closed(peer, id)).await;
}

/// The next connection on `listener`, or `None` once the driver is gone (its receiving end
/// dropped) or accepting fails: a dropped driver frees its listening ports.
async fn accept(
    listener: &TcpListener,
    tx: &mpsc::Sender<Inbound>,
) -> Option<(TcpStream, SocketAddr)> {
    tokio::select! {
        r = listener.accept() => r.ok(),
        () = tx.closed() => None,
    }
}

/// Reads more of a stream into `buf`, or `None` once the driver is gone, so that a dropped
/// driver's connections close (its read tasks end and drop their halves).
async fn read_more<R: AsyncRead + Unpin>(
    read: &mut R,
    buf: &mut BytesMut,
    tx: &mpsc::Sender<Inbound>,
) -> Option<io::Result<usize>> {
    tokio::select! {
        r = read.read_buf(buf) => Some(r),
        () = tx.closed() => None,
    }
}

/// What to do with the TCP port of the same number as the UDP socket.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum TwinMode {
    /// Listen for SIP over TCP on it.
    Listen,
    /// Hold it, bound without listening.
    Hold,
    /// Leave it (another listener of ours takes it).
    Leave,
}

/// What holds the TCP port of the same number as the UDP socket.
enum Twin {
    /// The SIP listener (`tcp` set).
    Listener(TcpListener),
    /// The port bound without listening; `None` when it was taken and the port configured.
    Held(Option<TcpSocket>),
}

/// Binds the UDP socket (from `next_udp`) and its TCP twin as `mode` says: the listener, or a
/// TCP socket bound to the port without listening, so that no TCP connection on this host
/// can start from it (a connect to it is still refused, so RFC 3261 §18.1.1's fallback to
/// UDP is unchanged). Why: a peer indexes the connections it accepted by their source
/// address (RFC 3261 §18) and sends a request too large for UDP over TCP to the same
/// address, so a connection another endpoint made from our port number would take our
/// requests. With port 0 a UDP port whose twin is taken is given back for another (up to
/// 16 tries); a configured port goes on without the hold, but a listener it cannot have
/// is an error.
fn bind_udp_and_twin(
    bind: SocketAddr,
    mode: TwinMode,
    tos: Option<u8>,
    mut next_udp: impl FnMut() -> io::Result<std::net::UdpSocket>,
) -> io::Result<(UdpSocket, Twin)> {
    const TRIES: usize = 16;
    // The refused ports stay bound until the end, so the OS cannot hand them out again.
    let mut refused = Vec::new();
    let mut last_error = None;
    for _ in 0..TRIES {
        let udp = next_udp()?;
        udp.set_nonblocking(true)?;
        let udp = UdpSocket::from_std(udp)?;
        if let Some(tos) = tos {
            set_tos(&udp, tos)?;
        }
        let local = udp.local_addr()?;
        let twin = match mode {
            TwinMode::Listen => listen(local, tos).map(Twin::Listener),
            TwinMode::Hold => hold_tcp_port(local).map(|s| Twin::Held(Some(s))),
            TwinMode::Leave => Ok(Twin::Held(None)),
        };
        match twin {
            Ok(twin) => return Ok((udp, twin)),
            Err(e) if bind.port() == 0 && e.kind() == io::ErrorKind::AddrInUse => {
                last_error = Some(e);
                refused.push(udp);
            }
            Err(_) if mode == TwinMode::Hold => return Ok((udp, Twin::Held(None))),
            Err(e) => return Err(e),
        }
    }
    Err(last_error.unwrap_or_else(|| io::ErrorKind::AddrInUse.into()))
}

/// A TCP socket bound to `addr`, not listening, without `SO_REUSEADDR` (so no other socket
/// binds the port either; the OS never picks a bound port as the source of a connect).
fn hold_tcp_port(addr: SocketAddr) -> io::Result<TcpSocket> {
    let socket = tcp_socket(addr, None)?;
    socket.bind(addr)?;
    Ok(socket)
}

fn listen(addr: SocketAddr, tos: Option<u8>) -> io::Result<TcpListener> {
    let socket = tcp_socket(addr, tos)?;
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

fn tcp_socket(addr: SocketAddr, tos: Option<u8>) -> io::Result<TcpSocket> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    if let (Some(tos), true) = (tos, addr.is_ipv4()) {
        socket.set_tos_v4(u32::from(tos))?;
    }
    Ok(socket)
}

fn set_tos(socket: &UdpSocket, tos: u8) -> io::Result<()> {
    match socket.local_addr()? {
        SocketAddr::V4(_) => socket.set_tos_v4(u32::from(tos)),
        // IPv6 traffic class needs socket2; left at the OS default.
        SocketAddr::V6(_) => Ok(()),
    }
}

/// Records the TLS server name and the WebSocket `Host` of `uri` for `target`: RFC 5922 §4,
/// the domain of the URI (not the SRV target) is the name to verify.
fn remember_names(names: &Mutex<Names>, uri: &Uri, target: Target) -> io::Result<()> {
    if matches!(target.transport, Transport::Tls | Transport::Wss) {
        let name = ServerName::try_from(locate::bare_host(uri).to_owned())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        lock(names).tls.insert(target.addr, name);
    }
    if matches!(target.transport, Transport::Ws | Transport::Wss) {
        let host = uri.host();
        let host = match uri.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_owned(),
        };
        lock(names).ws.insert(target.addr, host);
    }
    Ok(())
}

/// The names, whatever a panicking holder left (each insert or lookup is whole).
fn lock(names: &Mutex<Names>) -> std::sync::MutexGuard<'_, Names> {
    names
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[expect(
    clippy::disallowed_methods,
    reason = "the tokio glue is where the clock is read"
)]
fn now() -> Instant {
    Instant::now()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]

    use super::*;

    /// A UDP socket on loopback whose TCP port of the same number is taken (by the returned
    /// listener).
    fn udp_with_taken_twin() -> (std::net::UdpSocket, std::net::TcpListener) {
        loop {
            let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            if let Ok(udp) = std::net::UdpSocket::bind(tcp.local_addr().unwrap()) {
                return (udp, tcp);
            }
        }
    }

    #[tokio::test]
    async fn a_udp_only_driver_holds_its_tcp_port() {
        let driver = Driver::bind(DriverConfig::new("127.0.0.1:0".parse().unwrap()))
            .await
            .unwrap();
        let addr = driver.local_addr();
        let err = std::net::TcpListener::bind(addr).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
        // Held, not listening: a connect is refused, so a size-switched request falls back
        // to UDP (RFC 3261 §18.1.1).
        assert!(TcpStream::connect(addr).await.is_err());
    }

    #[tokio::test]
    async fn a_port_chosen_by_the_os_whose_twin_is_taken_is_given_back() {
        for mode in [TwinMode::Listen, TwinMode::Hold] {
            let (first, _taken) = udp_with_taken_twin();
            let taken_port = first.local_addr().unwrap().port();
            let mut candidates = vec![std::net::UdpSocket::bind("127.0.0.1:0").unwrap(), first];
            let (udp, twin) = bind_udp_and_twin("127.0.0.1:0".parse().unwrap(), mode, None, || {
                Ok(candidates.pop().unwrap())
            })
            .unwrap();
            assert!(
                candidates.is_empty(),
                "{mode:?}: the second candidate taken"
            );
            assert_ne!(udp.local_addr().unwrap().port(), taken_port);
            match (mode, twin) {
                (TwinMode::Listen, Twin::Listener(_)) | (TwinMode::Hold, Twin::Held(Some(_))) => {}
                _ => panic!("{mode:?}: wrong twin"),
            }
        }
    }

    #[tokio::test]
    async fn a_configured_port_whose_twin_is_taken() {
        let (udp, _taken) = udp_with_taken_twin();
        let addr = udp.local_addr().unwrap();
        let mut udp = Some(udp);
        // Holding is best effort: the configured port goes on without it.
        let (bound, twin) =
            bind_udp_and_twin(addr, TwinMode::Hold, None, || Ok(udp.take().unwrap())).unwrap();
        assert_eq!(bound.local_addr().unwrap(), addr);
        assert!(matches!(twin, Twin::Held(None)));
        // A listener it cannot have is an error.
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let _tcp = std::net::TcpListener::bind(udp.local_addr().unwrap()).unwrap();
        let addr = udp.local_addr().unwrap();
        let mut udp = Some(udp);
        let r = bind_udp_and_twin(addr, TwinMode::Listen, None, || Ok(udp.take().unwrap()));
        assert_eq!(r.err().map(|e| e.kind()), Some(io::ErrorKind::AddrInUse));
    }
}
