//! SIP over WebSocket (RFC 7118) for the [`Driver`](super::Driver): listeners for `ws` and
//! `wss` (TLS with the driver's server certificate), outgoing connections, the opening
//! handshake and framing through the sans-IO [`crate::ws`] module. One SIP message per
//! frame; pings are answered; a close is echoed and ends the connection.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;

use super::{Inbound, StreamWriter};
use crate::msg::ParseLimits;
use crate::transaction::{Target, Transport};
use crate::ws::{
    ClientRequest, MAX_HANDSHAKE, Role, WsCodec, WsError, WsEvent, parse_client_handshake,
    reject_response,
};

/// WebSocket settings of a [`Driver`](super::Driver).
#[derive(Clone, Debug)]
pub struct WsConfig {
    /// Address of the `ws` listener (port 0 picks one); `None` for none.
    pub bind: Option<SocketAddr>,
    /// Address of the `wss` listener; it presents the certificate of
    /// [`TlsConfig::server`](super::TlsConfig::server), which must then be set.
    pub secure_bind: Option<SocketAddr>,
    /// The request target of outgoing connections (`/` by default).
    pub path: String,
}

impl WsConfig {
    /// A `ws` listener at `bind` (or none), no `wss` listener, path `/`.
    pub fn new(bind: Option<SocketAddr>) -> Self {
        Self {
            bind,
            secure_bind: None,
            path: String::from("/"),
        }
    }
}

fn invalid(e: WsError) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

/// Reads into `buf` until `parse` finds a whole handshake; returns its length.
async fn read_handshake<R: AsyncRead + Unpin, T>(
    read: &mut R,
    buf: &mut BytesMut,
    mut parse: impl FnMut(&[u8]) -> Result<Option<T>, WsError>,
) -> io::Result<T> {
    loop {
        if let Some(t) = parse(buf).map_err(invalid)? {
            return Ok(t);
        }
        if buf.len() > MAX_HANDSHAKE {
            return Err(invalid(WsError::HandshakeTooLarge));
        }
        if read.read_buf(buf).await? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "closed during the websocket handshake",
            ));
        }
    }
}

/// Accepts `ws` (no `acceptor`) or `wss` connections; each handshake runs in its own task,
/// bounded in time.
pub(super) async fn accept_ws(
    listener: TcpListener,
    acceptor: Option<TlsAcceptor>,
    tx: mpsc::Sender<Inbound>,
    limits: ParseLimits,
    handshake_timeout: Duration,
    seed: u64,
) {
    let mut seeds = ChaCha8Rng::seed_from_u64(seed);
    while let Some((stream, peer)) = super::accept(&listener, &tx).await {
        let _ = stream.set_nodelay(true);
        let tx = tx.clone();
        let acceptor = acceptor.clone();
        let seed = seeds.next_u64();
        tokio::spawn(async move {
            match acceptor {
                Some(acceptor) => {
                    let Ok(Ok(stream)) =
                        tokio::time::timeout(handshake_timeout, acceptor.accept(stream)).await
                    else {
                        return;
                    };
                    let target = Target {
                        transport: Transport::Wss,
                        addr: peer,
                    };
                    serve(stream, target, tx, limits, handshake_timeout, seed).await;
                }
                None => {
                    let target = Target {
                        transport: Transport::Ws,
                        addr: peer,
                    };
                    serve(stream, target, tx, limits, handshake_timeout, seed).await;
                }
            }
        });
    }
}

/// The server side of one connection: the handshake (refusing clients that do not offer
/// `sip`), then frames until the connection ends.
async fn serve<S: AsyncRead + AsyncWrite + Unpin + Send + Sync + 'static>(
    stream: S,
    peer: Target,
    tx: mpsc::Sender<Inbound>,
    limits: ParseLimits,
    handshake_timeout: Duration,
    seed: u64,
) {
    let (mut read, mut write) = tokio::io::split(stream);
    let mut buf = BytesMut::with_capacity(4096);
    let handshake = tokio::time::timeout(
        handshake_timeout,
        read_handshake(&mut read, &mut buf, parse_client_handshake),
    )
    .await;
    let answer = match handshake {
        Ok(Ok((hs, len))) => match hs.accept_response() {
            Ok(answer) => {
                let _ = buf.split_to(len);
                Ok(answer)
            }
            Err(_) => Err(reject_response(400, "Bad Request (no sip subprotocol)")),
        },
        Ok(Err(e)) if e.kind() == io::ErrorKind::InvalidData => {
            Err(reject_response(400, "Bad Request"))
        }
        _ => return,
    };
    match answer {
        Ok(answer) => {
            if write.write_all(&answer).await.is_err() || write.flush().await.is_err() {
                return;
            }
        }
        Err(refusal) => {
            let _ = write.write_all(&refusal).await;
            let _ = write.shutdown().await;
            return;
        }
    }
    let writer = StreamWriter::new_ws(write, Role::Server);
    let id = writer.id;
    if tx.send(Inbound::Accepted(peer, writer)).await.is_ok() {
        read_ws(read, buf, peer, id, tx, limits, Role::Server, seed).await;
    }
}

/// The client side of the handshake on a connected `stream` to `host` (for `Host`);
/// returns the writer and spawns the reader.
pub(super) async fn connect<S: AsyncRead + AsyncWrite + Unpin + Send + Sync + 'static>(
    stream: S,
    to: Target,
    host: &str,
    path: &str,
    rng: &mut ChaCha8Rng,
    tx: mpsc::Sender<Inbound>,
    limits: ParseLimits,
) -> io::Result<StreamWriter> {
    let mut nonce = [0u8; 16];
    rng.fill_bytes(&mut nonce);
    let request = ClientRequest::new(host, path, nonce);
    let (mut read, mut write) = tokio::io::split(stream);
    write.write_all(request.bytes()).await?;
    write.flush().await?;
    let mut buf = BytesMut::with_capacity(4096);
    let len = read_handshake(&mut read, &mut buf, |b| request.parse_response(b)).await?;
    let _ = buf.split_to(len);
    let writer = StreamWriter::new_ws(write, Role::Client);
    tokio::spawn(read_ws(
        read,
        buf,
        to,
        writer.id,
        tx,
        limits,
        Role::Client,
        rng.next_u64(),
    ));
    Ok(writer)
}

/// Reads frames: messages go to the core; a ping gets its pong and a close its echo,
/// written by the driver on this connection's writer (`id`).
#[expect(clippy::too_many_arguments, reason = "one connection's whole context")]
async fn read_ws<R: AsyncRead + Unpin>(
    mut read: R,
    mut buf: BytesMut,
    peer: Target,
    id: u64,
    tx: mpsc::Sender<Inbound>,
    limits: ParseLimits,
    role: Role,
    seed: u64,
) {
    let mut codec = WsCodec::new(role, limits.max_message);
    let mut masks = ChaCha8Rng::seed_from_u64(seed);
    loop {
        loop {
            let mut mask = [0u8; 4];
            masks.fill_bytes(&mut mask);
            let mut reply = BytesMut::new();
            let end = match codec.decode(&mut buf) {
                Ok(None) => break,
                Ok(Some(WsEvent::Message(msg))) => {
                    if tx.send(Inbound::Message(peer, msg)).await.is_err() {
                        return;
                    }
                    None
                }
                Ok(Some(WsEvent::Ping(payload))) => {
                    codec.encode_pong(&payload, mask, &mut reply);
                    None
                }
                Ok(Some(WsEvent::Pong(_))) => None,
                Ok(Some(WsEvent::Close { .. })) => {
                    // RFC 6455 §5.5.1: answer a close with a close, then end.
                    codec.encode_close(1000, mask, &mut reply);
                    Some(Inbound::Closed(peer, id))
                }
                Err(e) => {
                    codec.encode_close(e.close_code(), mask, &mut reply);
                    Some(Inbound::Failed(peer, id))
                }
            };
            if !reply.is_empty() {
                let _ = tx.send(Inbound::Write(peer, id, reply.freeze())).await;
            }
            if let Some(end) = end {
                let _ = tx.send(end).await;
                return;
            }
        }
        match super::read_more(&mut read, &mut buf, &tx).await {
            None => return,
            Some(Ok(0)) => break,
            Some(Ok(_)) => {}
            Some(Err(_)) => {
                let _ = tx.send(Inbound::Failed(peer, id)).await;
                return;
            }
        }
    }
    let _ = tx.send(Inbound::Closed(peer, id)).await;
}

/// Frames one SIP message for a connection of `role`.
pub(super) fn frame(role: Role, payload: &[u8], rng: &mut ChaCha8Rng) -> Bytes {
    let mut mask = [0u8; 4];
    rng.fill_bytes(&mut mask);
    let mut out = BytesMut::with_capacity(payload.len() + 14);
    WsCodec::new(role, usize::MAX).encode_message(payload, mask, &mut out);
    out.freeze()
}
