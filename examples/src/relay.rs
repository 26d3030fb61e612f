//! The B2BUA's media relay: two UDP sockets per call, one facing each party, passing RTP and
//! RTCP between them. Each side has its own SDES keys, so SRTP is terminated per side
//! (unprotect with that side's key, protect with the other side's); payload types are
//! rewritten between the two negotiations; the source address is latched from the first
//! authenticated packet (symmetric RTP, so calls work across NAT). Each direction is also fed
//! to an [`RtpSession`] that only listens, for the call record's loss, jitter and MOS.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rtp::quality::{CodecImpairment, EModelInput};
use rtp::{RtpPacket, RtpSession, SessionConfig};
use srtp::{MasterKey, SrtpConfig, SrtpContext};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};

use crate::clock;
use crate::media::MediaParams;
use crate::report::LegReport;

/// One side of the relay, from the PBX's point of view.
#[derive(Clone, Debug)]
pub struct RelaySide {
    /// What the PBX negotiated with this party (remote address, payload types, keys).
    pub params: MediaParams,
    /// Name for the report (`1000`).
    pub name: String,
}

/// Changes to a running relay.
#[derive(Debug)]
pub enum RelayUpdate {
    /// Side `a` (true) or `b` now sends to a new address (re-INVITE).
    Remote {
        /// Which side.
        a: bool,
        /// The new address.
        addr: SocketAddr,
    },
    /// Side `a` (true) or `b` is now another party (a transfer): its socket, negotiation and
    /// keys are replaced; the other side keeps flowing. The report then covers the new party.
    Replace {
        /// Which side.
        a: bool,
        /// The socket facing the new party.
        sock: UdpSocket,
        /// What the PBX negotiated with the new party.
        side: Box<RelaySide>,
    },
}

/// A running relay: stop it to get the per-direction reports.
#[derive(Debug)]
pub struct RelayHandle {
    /// Updates (new remote address after a re-INVITE).
    pub updates: mpsc::Sender<RelayUpdate>,
    stop: Option<oneshot::Sender<()>>,
    done: Option<oneshot::Receiver<[LegReport; 2]>>,
}

impl RelayHandle {
    /// Stops the relay and returns the reports of what each side sent (`[a->b, b->a]`).
    pub async fn stop(mut self) -> Option<[LegReport; 2]> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        match self.done.take() {
            Some(d) => tokio::time::timeout(Duration::from_secs(2), d)
                .await
                .ok()?
                .ok(),
            None => None,
        }
    }
}

/// Binds a relay socket on `ip` (port from the OS).
///
/// # Errors
/// I/O errors binding the socket.
pub async fn bind(ip: std::net::IpAddr) -> std::io::Result<UdpSocket> {
    UdpSocket::bind(SocketAddr::new(ip, 0)).await
}

/// Starts relaying between `sock_a` (facing side a) and `sock_b`.
pub fn start(sock_a: UdpSocket, sock_b: UdpSocket, a: RelaySide, b: RelaySide) -> RelayHandle {
    let (tx, rx) = mpsc::channel(8);
    let (stop_tx, stop_rx) = oneshot::channel();
    let (done_tx, done_rx) = oneshot::channel();
    tokio::spawn(async move {
        let reports = run(sock_a, sock_b, a, b, rx, stop_rx).await;
        let _ = done_tx.send(reports);
    });
    RelayHandle {
        updates: tx,
        stop: Some(stop_tx),
        done: Some(done_rx),
    }
}

struct Side {
    rx: Option<SrtpContext>,
    tx: Option<SrtpContext>,
    remote: SocketAddr,
    latched: bool,
    params: MediaParams,
    name: String,
    monitor: RtpSession,
    packets: u64,
    refused: u64,
}

fn side(s: RelaySide, now: Instant) -> Side {
    let ctx = |key: &[u8], k: &crate::media::SrtpKeys| {
        MasterKey::from_key_salt(k.profile, key)
            .ok()
            .and_then(|m| SrtpContext::new(k.profile, &m, SrtpConfig::default()).ok())
    };
    let (rx, tx) = match &s.params.srtp {
        Some(k) => (ctx(&k.remote, k), ctx(&k.local, k)),
        None => (None, None),
    };
    let monitor = RtpSession::new(
        SessionConfig {
            clock_rate: s.params.clock_rate,
            seed: s.params.seed,
            ..SessionConfig::default()
        },
        now,
    );
    Side {
        rx,
        tx,
        remote: s.params.remote,
        latched: false,
        params: s.params,
        name: s.name,
        monitor,
        packets: 0,
        refused: 0,
    }
}

async fn run(
    mut sock_a: UdpSocket,
    mut sock_b: UdpSocket,
    a: RelaySide,
    b: RelaySide,
    mut updates: mpsc::Receiver<RelayUpdate>,
    mut stop: oneshot::Receiver<()>,
) -> [LegReport; 2] {
    let now = clock();
    let mut sa = side(a, now);
    let mut sb = side(b, now);
    let mut buf_a = vec![0u8; 2048];
    let mut buf_b = vec![0u8; 2048];
    loop {
        tokio::select! {
            r = sock_a.recv_from(&mut buf_a) => {
                if let Ok((n, from)) = r {
                    let data = buf_a.get(..n).unwrap_or_default().to_vec();
                    if let Some((out, to)) = forward(&mut sa, &mut sb, data, from) {
                        let _ = sock_b.send_to(&out, to).await;
                    }
                }
            }
            r = sock_b.recv_from(&mut buf_b) => {
                if let Ok((n, from)) = r {
                    let data = buf_b.get(..n).unwrap_or_default().to_vec();
                    if let Some((out, to)) = forward(&mut sb, &mut sa, data, from) {
                        let _ = sock_a.send_to(&out, to).await;
                    }
                }
            }
            u = updates.recv() => match u {
                Some(RelayUpdate::Remote { a: true, addr }) => { sa.remote = addr; sa.latched = false; }
                Some(RelayUpdate::Remote { a: false, addr }) => { sb.remote = addr; sb.latched = false; }
                Some(RelayUpdate::Replace { a: true, sock, side: s }) => { sock_a = sock; sa = side(*s, clock()); }
                Some(RelayUpdate::Replace { a: false, sock, side: s }) => { sock_b = sock; sb = side(*s, clock()); }
                None => {}
            },
            _ = &mut stop => break,
        }
    }
    [report(&sa), report(&sb)]
}

/// A packet from `from_side`'s party: unprotect, account, rewrite, protect for `to_side`.
fn forward(
    from_side: &mut Side,
    to_side: &mut Side,
    mut data: Vec<u8>,
    from: SocketAddr,
) -> Option<(Vec<u8>, SocketAddr)> {
    let now = clock();
    let is_rtcp = data.get(1).is_some_and(|b| (192..=223).contains(b));
    if is_rtcp {
        if let Some(rx) = &mut from_side.rx {
            let n = rx.unprotect_rtcp(&mut data).ok()?;
            data.truncate(n);
        }
        if let Some(tx) = &mut to_side.tx {
            tx.protect_rtcp_vec(&mut data).ok()?;
        }
        return Some((data, to_side.remote));
    }
    if let Some(rx) = &mut from_side.rx {
        match rx.unprotect_rtp(&mut data) {
            Ok(n) => data.truncate(n),
            Err(_) => {
                from_side.refused += 1;
                return None;
            }
        }
    }
    // Latch the party's real address (NAT) once a packet authenticated or parsed.
    if !from_side.latched {
        from_side.remote = from;
        from_side.latched = true;
    }
    {
        let pkt = RtpPacket::new_checked(data.as_slice()).ok()?;
        let _ = from_side.monitor.handle_rtp(now, &pkt);
        while from_side.monitor.poll_event().is_some() {}
    }
    from_side.packets += 1;
    let pt = data.get(1).map_or(0, |b| b & 0x7F);
    let new_pt = if pt == from_side.params.recv_pt {
        to_side.params.send_pt
    } else {
        match (
            from_side.params.telephone_event,
            to_side.params.telephone_event,
        ) {
            (Some((_, recv, _)), Some((send, _, _))) if pt == recv => send,
            _ => pt,
        }
    };
    if let Some(b) = data.get_mut(1) {
        *b = (*b & 0x80) | (new_pt & 0x7F);
    }
    if let Some(tx) = &mut to_side.tx {
        tx.protect_rtp_vec(&mut data).ok()?;
    }
    Some((data, to_side.remote))
}

fn report(s: &Side) -> LegReport {
    let rx = s.monitor.stats();
    let g711 =
        s.params.codec.eq_ignore_ascii_case("PCMU") || s.params.codec.eq_ignore_ascii_case("PCMA");
    let q = rtp::quality::estimate(&EModelInput {
        codec: if g711 {
            CodecImpairment::G711_PLC
        } else {
            CodecImpairment {
                ie: 0.0,
                bpl: 20.0,
                lookahead_ms: 0.0,
            }
        },
        packetization_ms: f64::from(s.params.ptime),
        one_way_delay_ms: 0.0,
        jitter_buffer_ms: 40.0,
        loss_percent: rx.loss_percent,
        burst_ratio: rx.burst_ratio.max(1.0),
    });
    LegReport {
        leg: format!("{} -> pbx", s.name),
        codec: s.params.codec_label(),
        srtp: s
            .params
            .srtp
            .as_ref()
            .map_or_else(|| "none".into(), |k| k.profile.name().into()),
        packets_received: s.packets,
        lost: rx.lost.max(0) as u64,
        loss_pct: rx.loss_percent,
        jitter_ms: rx.jitter_ms,
        mos: q.mos_cq,
        ..LegReport::default()
    }
}
