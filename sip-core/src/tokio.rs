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

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpSocket, TcpStream, UdpSocket};
use tokio::sync::mpsc;

use crate::framer::Framer;
use crate::msg::ParseLimits;
use crate::transaction::{Target, Transactions, Transmit, Transport};
use crate::ua::UserAgent;

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
}

impl DriverConfig {
    /// UDP only, CS3 marking.
    pub fn new(bind: SocketAddr) -> Self {
        Self {
            bind,
            tos: Some(TOS_CS3),
            tcp: false,
            limits: ParseLimits::default(),
        }
    }
}

/// Owns the sockets of one SIP endpoint. See the module docs.
#[derive(Debug)]
pub struct Driver {
    udp: UdpSocket,
    local: SocketAddr,
    tcp_writers: HashMap<SocketAddr, OwnedWriteHalf>,
    inbound_tx: mpsc::Sender<Inbound>,
    inbound_rx: mpsc::Receiver<Inbound>,
    limits: ParseLimits,
    tos: Option<u8>,
    buf: Vec<u8>,
}

#[derive(Debug)]
enum Inbound {
    Message(Target, Bytes),
    Accepted(SocketAddr, OwnedWriteHalf),
    Closed(SocketAddr),
}

impl Driver {
    /// Binds the sockets and sets their TOS byte.
    ///
    /// # Errors
    /// Socket errors from the OS.
    pub async fn bind(config: DriverConfig) -> io::Result<Self> {
        let udp = UdpSocket::bind(config.bind).await?;
        if let Some(tos) = config.tos {
            set_tos(&udp, tos)?;
        }
        let local = udp.local_addr()?;
        let (inbound_tx, inbound_rx) = mpsc::channel(1024);
        if config.tcp {
            let socket = tcp_socket(local, config.tos)?;
            socket.set_reuseaddr(true)?;
            socket.bind(local)?;
            let listener: TcpListener = socket.listen(1024)?;
            let tx = inbound_tx.clone();
            let limits = config.limits;
            tokio::spawn(async move {
                // Accepted sockets inherit the listener's TOS on Linux.
                while let Ok((stream, peer)) = listener.accept().await {
                    let (read, write) = stream.into_split();
                    if tx.send(Inbound::Accepted(peer, write)).await.is_err() {
                        break;
                    }
                    tokio::spawn(read_stream(read, peer, tx.clone(), limits));
                }
            });
        }
        Ok(Self {
            udp,
            local,
            tcp_writers: HashMap::new(),
            inbound_tx,
            inbound_rx,
            limits: config.limits,
            tos: config.tos,
            buf: vec![0u8; 65_535],
        })
    }

    /// The bound address (UDP and TCP share it).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Sends everything the core has queued.
    ///
    /// # Errors
    /// Only unexpected socket errors; a failed send to one peer is reported to the core
    /// through [`SansIo::handle_send_error`].
    pub async fn flush<E: SansIo>(&mut self, core: &mut E) -> io::Result<()> {
        while let Some(t) = core.poll_transmit() {
            let to = Target {
                transport: t.transport,
                addr: t.destination,
            };
            let sent = match t.transport {
                Transport::Udp => self
                    .udp
                    .send_to(&t.payload, t.destination)
                    .await
                    .map(|_| ()),
                Transport::Tcp => self.send_tcp(t.destination, &t.payload).await,
                // TLS and WebSocket need their own connectors; report them as failures.
                _ => Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "transport not driven",
                )),
            };
            if sent.is_err() {
                core.handle_send_error(now(), to);
            }
        }
        Ok(())
    }

    /// One turn: send what is queued, wait for a message or the core's next deadline, feed
    /// it, and send again. The application drains the core's events after each turn.
    ///
    /// # Errors
    /// Socket errors from the OS.
    pub async fn step<E: SansIo>(&mut self, core: &mut E) -> io::Result<()> {
        self.flush(core).await?;
        let deadline = core.poll_timeout();
        let sleep = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            r = self.udp.recv_from(&mut self.buf) => {
                let (n, from) = r?;
                let bytes = Bytes::copy_from_slice(self.buf.get(..n).unwrap_or_default());
                core.handle_input(now(), Target { transport: Transport::Udp, addr: from }, bytes);
            }
            Some(inbound) = self.inbound_rx.recv() => match inbound {
                Inbound::Message(from, bytes) => core.handle_input(now(), from, bytes),
                Inbound::Accepted(peer, write) => {
                    self.tcp_writers.insert(peer, write);
                }
                Inbound::Closed(peer) => {
                    self.tcp_writers.remove(&peer);
                }
            },
            () = sleep => core.handle_timeout(now()),
        }
        self.flush(core).await
    }

    async fn send_tcp(&mut self, to: SocketAddr, payload: &[u8]) -> io::Result<()> {
        if !self.tcp_writers.contains_key(&to) {
            let stream: TcpStream = tcp_socket(to, self.tos)?.connect(to).await?;
            let (read, write) = stream.into_split();
            tokio::spawn(read_stream(read, to, self.inbound_tx.clone(), self.limits));
            self.tcp_writers.insert(to, write);
        }
        let Some(w) = self.tcp_writers.get_mut(&to) else {
            return Err(io::Error::new(io::ErrorKind::NotConnected, "no connection"));
        };
        let r = w.write_all(payload).await;
        if r.is_err() {
            self.tcp_writers.remove(&to);
        }
        r
    }
}

async fn read_stream(
    mut read: tokio::net::tcp::OwnedReadHalf,
    peer: SocketAddr,
    tx: mpsc::Sender<Inbound>,
    limits: ParseLimits,
) {
    let mut framer = Framer::new(limits);
    let mut buf = BytesMut::with_capacity(8192);
    loop {
        match read.read_buf(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        loop {
            match framer.decode(&mut buf) {
                Ok(Some(msg)) => {
                    let from = Target {
                        transport: Transport::Tcp,
                        addr: peer,
                    };
                    if tx.send(Inbound::Message(from, msg)).await.is_err() {
                        return;
                    }
                }
                Ok(None) => break,
                // RFC 3261 §18.3: a framing error on a stream cannot be recovered from;
                // close the connection.
                Err(_) => {
                    let _ = tx.send(Inbound::Closed(peer)).await;
                    return;
                }
            }
        }
    }
    let _ = tx.send(Inbound::Closed(peer)).await;
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

#[expect(
    clippy::disallowed_methods,
    reason = "the tokio glue is where the clock is read"
)]
fn now() -> Instant {
    Instant::now()
}
