//! The B2BUA's media relay: two UDP sockets per call, one facing each party, passing RTP and
//! RTCP between them. Each side has its own SDES keys, so SRTP is terminated per side
//! (unprotect with that side's key, protect with the other side's); payload types are
//! rewritten between the two negotiations; the source address is latched from the first
//! authenticated packet (symmetric RTP, so calls work across NAT). Each direction is also fed
//! to an [`RtpSession`] that only listens, for the call record's loss, jitter and MOS.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use rtp::quality::{CodecImpairment, EModelInput};
use rtp::{RtpPacket, RtpSession, SessionConfig};
use srtp::SrtpContext;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};

use crate::audio::{Pcm, resample_linear, write_stereo_wav};
use crate::clock;
use crate::media::MediaParams;
use crate::report::LegReport;

/// One side of the relay, from the PBX's point of view.
#[derive(Debug)]
pub struct RelaySide {
    /// What the PBX negotiated with this party (remote address, payload types, keys).
    pub params: MediaParams,
    /// Name for the report (`1000`).
    pub name: String,
    /// State a side keeps when it moves to another relay (see [`RelayParts`]); default for
    /// a new party.
    pub carried: Carried,
}

impl RelaySide {
    /// A side for a party new to the relay.
    pub fn new(params: MediaParams, name: String) -> Self {
        Self {
            params,
            name,
            carried: Carried::default(),
        }
    }
}

/// What a party's side keeps across relays (an attended transfer bridges it with someone
/// else in a new relay): its SRTP contexts (rollover counters, replay windows, the sender's
/// index) and the stream it is sent, so that a new source reaches it as the same SSRC with
/// consecutive sequence numbers and timestamps (as a B2BUA must: the party's jitter buffer
/// and SRTP receiver see one stream, RFC 3550 §8.2 / RFC 3711 §3.3.1).
#[derive(Debug, Default)]
pub struct Carried {
    srtp: Option<(Option<SrtpContext>, Option<SrtpContext>)>,
    out: Option<OutStream>,
}

/// The stream sent to a party: its SSRC, and the offsets applied to the current source.
#[derive(Clone, Copy, Debug)]
struct OutStream {
    ssrc: u32,
    source: u32,
    seq_delta: u16,
    ts_delta: u32,
    last_seq: u16,
    last_ts: u32,
}

impl OutStream {
    /// Rewrites an RTP packet's SSRC, sequence number and timestamp (`out` is `None` before
    /// the first packet: that source's numbering is kept). A new source continues one packet
    /// (`step` timestamp units) after the last one sent.
    fn rewrite(out: &mut Option<Self>, pkt: &mut [u8], step: u32) {
        let (Some(seq), Some(ts), Some(ssrc)) = (
            pkt.get(2..4).and_then(|b| <[u8; 2]>::try_from(b).ok()),
            pkt.get(4..8).and_then(|b| <[u8; 4]>::try_from(b).ok()),
            pkt.get(8..12).and_then(|b| <[u8; 4]>::try_from(b).ok()),
        ) else {
            return;
        };
        let (seq, ts, ssrc) = (
            u16::from_be_bytes(seq),
            u32::from_be_bytes(ts),
            u32::from_be_bytes(ssrc),
        );
        let o = out.get_or_insert(Self {
            ssrc,
            source: ssrc,
            seq_delta: 0,
            ts_delta: 0,
            last_seq: seq.wrapping_sub(1),
            last_ts: ts.wrapping_sub(step),
        });
        if o.source != ssrc {
            o.source = ssrc;
            o.seq_delta = o.last_seq.wrapping_add(1).wrapping_sub(seq);
            o.ts_delta = o.last_ts.wrapping_add(step).wrapping_sub(ts);
        }
        let (new_seq, new_ts) = (seq.wrapping_add(o.seq_delta), ts.wrapping_add(o.ts_delta));
        // Keep the highest sent (reordered packets are rewritten but do not move it back).
        if (new_seq.wrapping_sub(o.last_seq) as i16) > 0 {
            o.last_seq = new_seq;
            o.last_ts = new_ts;
        }
        let fields: [(std::ops::Range<usize>, &[u8]); 3] = [
            (2..4, &new_seq.to_be_bytes()),
            (4..8, &new_ts.to_be_bytes()),
            (8..12, &o.ssrc.to_be_bytes()),
        ];
        for (at, bytes) in fields {
            if let Some(b) = pkt.get_mut(at) {
                b.copy_from_slice(bytes);
            }
        }
    }
}

/// Changes to a running relay.
#[derive(Debug)]
pub enum RelayUpdate {
    /// Side `a` (true) or `b` now sends to a new address (re-INVITE).
    Remote {
        /// Which side.
        a: bool,
        /// The new RTP address.
        addr: SocketAddr,
        /// The new RTCP address (`addr` with rtcp-mux: [`crate::media::remote_addrs`]).
        rtcp: SocketAddr,
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
    done: Option<oneshot::Receiver<RelayParts>>,
}

/// What a stopped relay hands back: the reports and, per side, the socket facing that party
/// with what was negotiated with it (the remote address as latched), so that the party can be
/// bridged to someone else (attended transfer).
#[derive(Debug)]
pub struct RelayParts {
    /// What each side sent (`[a->b, b->a]`).
    pub reports: [LegReport; 2],
    /// Side a's socket and negotiation.
    pub a: (UdpSocket, RelaySide),
    /// Side b's socket and negotiation.
    pub b: (UdpSocket, RelaySide),
    /// The call's recording, not yet written: a relay that takes the parties over goes on
    /// with it ([`start_with`]); dropping it writes the file.
    pub recorder: Option<Recorder>,
}

impl RelayHandle {
    /// Stops the relay and returns the reports of what each side sent (`[a->b, b->a]`).
    pub async fn stop(self) -> Option<[LegReport; 2]> {
        self.stop_parts().await.map(|p| p.reports)
    }

    /// Stops the relay and hands back its sockets and sides with the reports.
    pub async fn stop_parts(mut self) -> Option<RelayParts> {
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
    start_with(sock_a, sock_b, a, b, None)
}

/// [`start`], also recording the call to `recorder` (a stereo WAV written when the relay
/// stops and no other relay takes the recording over, [`RelayParts::recorder`]: what side a
/// sent on the left channel, side b on the right, decoded with the codecs crate and placed by
/// RTP timestamp; at most [`MAX_RECORDING`] of each). The recorder may come from an earlier
/// relay or transcoder of the call ([`Recorder::new`] begins one).
pub fn start_with(
    sock_a: UdpSocket,
    sock_b: UdpSocket,
    a: RelaySide,
    b: RelaySide,
    recorder: Option<Recorder>,
) -> RelayHandle {
    let (tx, rx) = mpsc::channel(8);
    let (stop_tx, stop_rx) = oneshot::channel();
    let (done_tx, done_rx) = oneshot::channel();
    tokio::spawn(async move {
        let parts = run(sock_a, sock_b, a, b, rx, stop_rx, recorder).await;
        let _ = done_tx.send(parts);
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
    /// The stream this party is sent.
    out: Option<OutStream>,
    /// SRs forwarded to this party (NTP middle 32 bits, when), for the RTT its reports give.
    srs_sent: std::collections::VecDeque<(u32, Instant)>,
    /// Round-trip time between the PBX and this party, from its last usable report block.
    rtt: Option<Duration>,
}

/// How many forwarded SRs a side remembers for RTT (RFC 3550 §6.4.1).
const SRS_KEPT: usize = 8;

impl Side {
    /// An RTCP compound (already unprotected) from this side's party on its way to `to`'s
    /// party: `to` remembers the SRs it is sent; this side's report blocks whose LSR names
    /// an SR the PBX forwarded to it give the RTT between the PBX and this party (the
    /// PBX's own clock on both ends: A - LSR - DLSR of RFC 3550 §6.4.1, with A and the LSR's
    /// send time both taken at the PBX).
    fn rtcp(&mut self, to: &mut Self, compound: &[u8], now: Instant) {
        use rtp::rtcp::{RtcpPacket, Validation, iter_compound};
        for pkt in iter_compound(compound, Validation::ReducedSize).map_while(Result::ok) {
            let blocks = match &pkt {
                RtcpPacket::SenderReport(sr) => {
                    if to.srs_sent.len() >= SRS_KEPT {
                        to.srs_sent.pop_front();
                    }
                    to.srs_sent.push_back((sr.ntp().middle32(), now));
                    sr.reports()
                }
                RtcpPacket::ReceiverReport(rr) => rr.reports(),
                _ => continue,
            };
            for b in blocks.iter() {
                let sent = self
                    .srs_sent
                    .iter()
                    .find(|(lsr, _)| b.lsr != 0 && *lsr == b.lsr);
                if let Some(&(_, at)) = sent {
                    let dlsr = Duration::from_secs_f64(f64::from(b.dlsr) / 65536.0);
                    if let Some(rtt) = now.saturating_duration_since(at).checked_sub(dlsr) {
                        self.rtt = Some(rtt);
                    }
                }
            }
        }
    }
}

fn side(s: RelaySide, now: Instant) -> Side {
    let (rx, tx) = match (s.carried.srtp, &s.params.srtp) {
        (Some(carried), _) => carried,
        (None, Some(k)) => k
            .contexts()
            .map_or((None, None), |(tx, rx)| (Some(rx), Some(tx))),
        (None, None) => (None, None),
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
        out: s.carried.out,
        srs_sent: std::collections::VecDeque::new(),
        rtt: None,
    }
}

/// The longest a recording keeps of each side.
pub const MAX_RECORDING: Duration = Duration::from_secs(3600);

/// A call being recorded: one track per side (the caller's on the left channel), written as a
/// stereo WAV when dropped, off the runtime's threads: when the relay or transcoder that
/// records it stops and no other relay takes it over (a transfer keeps one file per call).
#[derive(Debug)]
pub struct Recorder {
    path: PathBuf,
    tracks: [Track; 2],
    start: Instant,
}

impl Recorder {
    /// A recording to `path` of a call whose sides negotiated `a` and `b`.
    pub fn new(path: PathBuf, a: &MediaParams, b: &MediaParams) -> Self {
        Self {
            path,
            tracks: [Track::new(a), Track::new(b)],
            start: clock(),
        }
    }

    /// Side `a` (true) or b is now another party, or the same party with another codec: its
    /// audio goes on in the same channel, placed from its first packet's arrival.
    pub fn set_party(&mut self, a: bool, params: &MediaParams) {
        let t = &mut self.tracks[usize::from(!a)];
        let (pcm, rate) = (std::mem::take(&mut t.pcm), t.rate);
        *t = Track::new(params);
        t.pcm = if rate == t.rate {
            pcm
        } else {
            resample_linear(&Pcm { rate, samples: pcm }, t.rate).samples
        };
    }

    /// Decoded audio that side `a` (true) or b sent, at `rate`: the frame after the previous
    /// one (a transcoder decodes one frame per side every packet time).
    pub fn add_pcm(&mut self, a: bool, samples: &[i16], rate: u32) {
        let since = clock().saturating_duration_since(self.start);
        self.tracks[usize::from(!a)].add_pcm(since, samples, rate);
    }

    /// An RTP packet (already unprotected) that side `a` (true) or b sent.
    fn add_rtp(&mut self, a: bool, rtp: &[u8], now: Instant) {
        let since = now.saturating_duration_since(self.start);
        self.tracks[usize::from(!a)].add(since, rtp);
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        let [a, b] = std::mem::take(&mut self.tracks);
        let path = std::mem::take(&mut self.path);
        let write = move || {
            if let Some(dir) = path.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            let _ = write_stereo_wav(&path, &a.into_pcm(), &b.into_pcm());
        };
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => drop(rt.spawn_blocking(write)),
            Err(_) => write(),
        }
    }
}

/// What one side sent, decoded: samples placed by arrival time for the first packet of each
/// source, then by RTP timestamp (so loss and silence suppression leave silence, reordering
/// lands in place).
#[derive(Default)]
struct Track {
    decoder: Option<Box<dyn codecs::Decoder>>,
    /// Decoded samples per RTP timestamp unit (G.722: 2).
    scale: f64,
    rate: u32,
    pcm: Vec<i16>,
    /// First packet of the current source: (SSRC, RTP timestamp, sample position).
    origin: Option<(u32, u32, usize)>,
    /// Where the next frame of decoded audio goes ([`Track::add_pcm`]).
    next: Option<usize>,
    buf: Vec<i16>,
}

impl std::fmt::Debug for Track {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Track")
            .field("rate", &self.rate)
            .field("samples", &self.pcm.len())
            .finish_non_exhaustive()
    }
}

impl Track {
    fn new(p: &MediaParams) -> Self {
        let decoder = codecs::decoder_for(&p.codec, p.clock_rate, 1).ok();
        let rate = decoder.as_ref().map_or(8000, |d| d.format().sample_rate);
        Self {
            decoder,
            scale: f64::from(rate) / f64::from(p.clock_rate.max(1)),
            rate,
            pcm: Vec::new(),
            origin: None,
            next: None,
            buf: vec![0; 5760],
        }
    }

    /// Decodes the payload of an RTP packet (already unprotected) into place.
    fn add(&mut self, since_start: Duration, rtp: &[u8]) {
        let Ok(pkt) = RtpPacket::new_checked(rtp) else {
            return;
        };
        let Some(dec) = self.decoder.as_mut() else {
            return;
        };
        let Ok(n) = dec.decode(pkt.payload(), &mut self.buf) else {
            return;
        };
        let (ssrc, ts) = (pkt.ssrc().0, pkt.timestamp());
        let rate = f64::from(self.rate);
        let arrival = (since_start.as_secs_f64() * rate) as usize;
        let (_, ts0, pos0) = match self.origin {
            // A new source (a party that joined after a transfer) starts where it arrives.
            Some(o) if o.0 == ssrc => o,
            _ => *self.origin.insert((ssrc, ts, arrival)),
        };
        let offset = f64::from(ts.wrapping_sub(ts0) as i32) * self.scale;
        let Some(pos) = usize::try_from((pos0 as f64 + offset) as i64).ok() else {
            return;
        };
        self.place(pos, n);
    }

    /// Decoded audio at `rate` (resampled to the track's), after the previous frame; it
    /// moves to its arrival time when it drifted more than 200 ms from it.
    fn add_pcm(&mut self, since_start: Duration, samples: &[i16], rate: u32) {
        let pcm = Pcm {
            rate,
            samples: samples.to_vec(),
        };
        let pcm = if rate == self.rate {
            pcm
        } else {
            resample_linear(&pcm, self.rate)
        };
        let arrival = (since_start.as_secs_f64() * f64::from(self.rate)) as usize;
        let drift = (self.rate / 5) as usize;
        let pos = self
            .next
            .filter(|n| n.abs_diff(arrival) <= drift)
            .unwrap_or(arrival);
        let n = pcm.samples.len();
        if self.buf.len() < n {
            self.buf.resize(n, 0);
        }
        if let Some(b) = self.buf.get_mut(..n) {
            b.copy_from_slice(&pcm.samples);
        }
        self.place(pos, n);
        self.next = Some(pos + n);
    }

    /// Writes the first `n` samples of `buf` at `pos` (nothing past [`MAX_RECORDING`]).
    fn place(&mut self, pos: usize, n: usize) {
        let max = (MAX_RECORDING.as_secs_f64() * f64::from(self.rate)) as usize;
        let end = pos.saturating_add(n);
        if end > max {
            return;
        }
        if self.pcm.len() < end {
            self.pcm.resize(end, 0);
        }
        if let (Some(dst), Some(src)) = (self.pcm.get_mut(pos..end), self.buf.get(..n)) {
            dst.copy_from_slice(src);
        }
    }

    fn into_pcm(self) -> Pcm {
        Pcm {
            rate: self.rate,
            samples: self.pcm,
        }
    }
}

async fn run(
    mut sock_a: UdpSocket,
    mut sock_b: UdpSocket,
    a: RelaySide,
    b: RelaySide,
    mut updates: mpsc::Receiver<RelayUpdate>,
    mut stop: oneshot::Receiver<()>,
    mut recorder: Option<Recorder>,
) -> RelayParts {
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
                    let rec = recorder.as_mut().map(|r| (r, true));
                    if let Some((out, to)) = forward(&mut sa, &mut sb, data, from, rec) {
                        let _ = sock_b.send_to(&out, to).await;
                    }
                }
            }
            r = sock_b.recv_from(&mut buf_b) => {
                if let Ok((n, from)) = r {
                    let data = buf_b.get(..n).unwrap_or_default().to_vec();
                    let rec = recorder.as_mut().map(|r| (r, false));
                    if let Some((out, to)) = forward(&mut sb, &mut sa, data, from, rec) {
                        let _ = sock_a.send_to(&out, to).await;
                    }
                }
            }
            u = updates.recv() => match u {
                Some(RelayUpdate::Remote { a, addr, rtcp }) => {
                    if a { sa.move_to(addr, rtcp) } else { sb.move_to(addr, rtcp) }
                }
                Some(RelayUpdate::Replace { a, sock, side: s }) => {
                    if let Some(r) = recorder.as_mut() {
                        r.set_party(a, &s.params);
                    }
                    let (sock_x, sx) = if a { (&mut sock_a, &mut sa) } else { (&mut sock_b, &mut sb) };
                    *sock_x = sock;
                    *sx = side(*s, clock());
                }
                None => {}
            },
            _ = &mut stop => break,
        }
    }
    let reports = [report(&sa), report(&sb)];
    RelayParts {
        reports,
        a: (sock_a, sa.into_side()),
        b: (sock_b, sb.into_side()),
        recorder,
    }
}

impl Side {
    /// The party moved (re-INVITE): RTP goes to `addr` until a packet from it is latched,
    /// RTCP to `rtcp` (or, with rtcp-mux, where its RTP goes).
    fn move_to(&mut self, addr: SocketAddr, rtcp: SocketAddr) {
        self.remote = addr;
        self.latched = false;
        self.params.remote = addr;
        self.params.remote_rtcp = rtcp;
    }

    /// The negotiation with this party, with the address latched from its packets: RTP's,
    /// and RTCP's too when it is muxed (RTCP goes where RTP goes, [`rtcp_destination`]), so
    /// that the next relay of the party (an attended transfer) sends its RTCP to the
    /// latched address, not to the negotiated one behind a NAT.
    fn into_side(mut self) -> RelaySide {
        if self.params.remote_rtcp == self.params.remote {
            self.params.remote_rtcp = self.remote;
        }
        self.params.remote = self.remote;
        RelaySide {
            params: self.params,
            name: self.name,
            carried: Carried {
                srtp: Some((self.rx, self.tx)),
                out: self.out,
            },
        }
    }
}

/// A packet from `from_side`'s party: unprotect, account, rewrite, protect for `to_side`.
fn forward(
    from_side: &mut Side,
    to_side: &mut Side,
    mut data: Vec<u8>,
    from: SocketAddr,
    rec: Option<(&mut Recorder, bool)>,
) -> Option<(Vec<u8>, SocketAddr)> {
    let now = clock();
    if crate::media::is_rtcp(&data) {
        if let Some(rx) = &mut from_side.rx {
            let n = rx.unprotect_rtcp(&mut data).ok()?;
            data.truncate(n);
        }
        from_side.rtcp(to_side, &data, now);
        if let Some(tx) = &mut to_side.tx {
            tx.protect_rtcp_vec(&mut data).ok()?;
        }
        return Some((data, rtcp_destination(to_side)));
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
    {
        let pkt = RtpPacket::new_checked(data.as_slice()).ok()?;
        let _ = from_side.monitor.handle_rtp(now, &pkt);
        while from_side.monitor.poll_event().is_some() {}
    }
    // Latch the party's real address (NAT) once a packet authenticated and parsed as RTP:
    // linphone sends STUN binding requests to this port from its RTCP port too, and the
    // first of them must not become the address its RTP goes to.
    if !from_side.latched {
        from_side.remote = from;
        from_side.latched = true;
    }
    from_side.packets += 1;
    let pt = data.get(1).map_or(0, |b| b & 0x7F);
    if let Some((rec, a)) = rec
        && pt == from_side.params.recv_pt
    {
        rec.add_rtp(a, &data, now);
    }
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
    let p = &from_side.params;
    let step = p.clock_rate.saturating_mul(p.ptime) / 1000;
    OutStream::rewrite(&mut to_side.out, &mut data, step);
    if let Some(tx) = &mut to_side.tx {
        tx.protect_rtp_vec(&mut data).ok()?;
    }
    Some((data, to_side.remote))
}

/// Where RTCP for a party goes: with rtcp-mux its RTP address (as latched), else the RTCP
/// address it negotiated (RTP port + 1, RFC 3550 §11, or its RFC 3605 `a=rtcp`). A party
/// without rtcp-mux (linphone, baresip) does not read RTCP sent to its RTP port: linphone
/// drops it and keeps sending STUN requests from its RTCP port every 500 ms for want of any.
fn rtcp_destination(s: &Side) -> SocketAddr {
    if s.params.remote_rtcp == s.params.remote {
        s.remote
    } else {
        s.params.remote_rtcp
    }
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
        // The party's half of its round trip to the PBX (the other leg's report has the rest).
        one_way_delay_ms: s.rtt.map_or(0.0, |r| r.as_secs_f64() * 500.0),
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
        rtt_ms: s.rtt.map(|r| r.as_secs_f64() * 1000.0),
        mos: q.mos_cq,
        ..LegReport::default()
    }
}

#[cfg(test)]
mod tests {
    use super::{OutStream, RelaySide, side};
    use crate::media::MediaParams;

    fn params(remote: &str) -> MediaParams {
        let addr = remote.parse().unwrap();
        MediaParams {
            codec: "PCMU".into(),
            clock_rate: 8000,
            channels: 1,
            send_pt: 0,
            recv_pt: 0,
            ptime: 20,
            telephone_event: None,
            srtp: None,
            remote: addr,
            remote_rtcp: addr,
            seed: 1,
            cname: "t".into(),
        }
    }

    /// An SR (no report blocks) with NTP time `ntp`.
    fn sr(ssrc: u32, ntp: u64) -> Vec<u8> {
        let mut p = vec![0x80, 200, 0, 6];
        p.extend_from_slice(&ssrc.to_be_bytes());
        p.extend_from_slice(&ntp.to_be_bytes());
        p.extend_from_slice(&[0; 12]);
        p
    }

    /// An RR with one block whose LSR/DLSR are `lsr`/`dlsr`, 10 % lost.
    fn rr(ssrc: u32, lsr: u32, dlsr: u32) -> Vec<u8> {
        let mut p = vec![0x81, 201, 0, 7];
        p.extend_from_slice(&ssrc.to_be_bytes());
        p.extend_from_slice(&7u32.to_be_bytes());
        p.extend_from_slice(&[25, 0, 0, 3, 0, 0, 0, 100, 0, 0, 0, 10]);
        p.extend_from_slice(&lsr.to_be_bytes());
        p.extend_from_slice(&dlsr.to_be_bytes());
        p
    }

    #[test]
    fn a_party_report_on_a_forwarded_sr_gives_its_rtt_to_the_pbx() {
        let now = crate::clock();
        let mut a = side(RelaySide::new(params("127.0.0.1:4000"), "a".into()), now);
        let mut b = side(RelaySide::new(params("127.0.0.1:4002"), "b".into()), now);
        // b's SR goes to a's party at `now`; a's party reports on it 80 ms later, after
        // holding it 30 ms (DLSR): the round trip PBX <-> a is 50 ms.
        let ntp = 0x1234_5678_9ABC_DEF0u64;
        b.rtcp(&mut a, &sr(9, ntp), now);
        let lsr = ((ntp >> 16) & 0xFFFF_FFFF) as u32;
        let later = now + std::time::Duration::from_millis(80);
        a.rtcp(&mut b, &rr(7, 0xDEAD, 65536 * 3 / 100), later);
        assert_eq!(a.rtt, None, "a report on an SR we never forwarded");
        a.rtcp(&mut b, &rr(7, lsr, 65536 * 3 / 100), later);
        let rtt = a.rtt.unwrap().as_secs_f64() * 1000.0;
        assert!((rtt - 50.0).abs() < 0.1, "{rtt} ms");
        assert_eq!(b.rtt, None);
        let report = super::report(&a);
        assert_eq!(report.rtt_ms.map(f64::round), Some(50.0));
        // The E-model counts the delay: a's MOS is below b's (same loss, no RTT).
        assert!(report.mos < super::report(&b).mos);
    }

    #[test]
    fn rtcp_goes_to_the_rtcp_port_of_a_party_without_rtcp_mux() {
        let now = crate::clock();
        let mut p = params("127.0.0.1:4000");
        p.remote_rtcp = "127.0.0.1:4001".parse().unwrap();
        let mut plain = side(RelaySide::new(p, "plain".into()), now);
        let mut muxed = side(RelaySide::new(params("127.0.0.1:4002"), "mux".into()), now);
        let from_muxed = "127.0.0.1:4002".parse().unwrap();
        let (_, to) = super::forward(&mut muxed, &mut plain, sr(9, 1), from_muxed, None).unwrap();
        assert_eq!(to, "127.0.0.1:4001".parse().unwrap());
        // The muxed party behind a NAT: RTCP follows the address its RTP was latched from.
        let nat = "192.0.2.7:31000".parse().unwrap();
        super::forward(&mut muxed, &mut plain, pkt(1, 160, 9), nat, None).unwrap();
        let from_plain = "127.0.0.1:4000".parse().unwrap();
        let (_, to) = super::forward(&mut plain, &mut muxed, sr(7, 1), from_plain, None).unwrap();
        assert_eq!(to, nat);
    }

    /// An attended transfer hands a party's side to a new relay ([`super::Side::into_side`]):
    /// its RTCP goes on to where it went, the latched address for a muxed party behind a
    /// NAT, the RTCP port for a party without rtcp-mux.
    #[test]
    fn a_handed_over_side_keeps_its_rtcp_address() {
        let now = crate::clock();
        let mut p = params("127.0.0.1:4000");
        p.remote_rtcp = "127.0.0.1:4001".parse().unwrap();
        let mut plain = side(RelaySide::new(p, "plain".into()), now);
        let mut muxed = side(RelaySide::new(params("127.0.0.1:4002"), "mux".into()), now);
        let nat = "192.0.2.7:31000".parse().unwrap();
        super::forward(&mut muxed, &mut plain, pkt(1, 160, 9), nat, None).unwrap();
        let plain_nat = "192.0.2.8:32000".parse().unwrap();
        super::forward(&mut plain, &mut muxed, pkt(1, 160, 7), plain_nat, None).unwrap();
        let mut muxed = side(muxed.into_side(), now);
        let mut plain = side(plain.into_side(), now);
        let rtcp_nat = "192.0.2.8:32001".parse().unwrap();
        let (_, to) = super::forward(&mut plain, &mut muxed, sr(7, 1), rtcp_nat, None).unwrap();
        assert_eq!(to, nat, "a muxed party's RTCP follows its latched RTP");
        let (_, to) = super::forward(&mut muxed, &mut plain, sr(9, 1), nat, None).unwrap();
        assert_eq!(
            to,
            "127.0.0.1:4001".parse().unwrap(),
            "RTCP port of a plain party"
        );
        // RTP goes to the latched addresses from the first packet of the new relay on.
        let (_, to) = super::forward(&mut muxed, &mut plain, pkt(2, 320, 9), nat, None).unwrap();
        assert_eq!(to, plain_nat);
        let (_, to) =
            super::forward(&mut plain, &mut muxed, pkt(2, 320, 7), plain_nat, None).unwrap();
        assert_eq!(to, nat);
    }

    #[test]
    fn a_stun_request_does_not_latch_the_address_rtp_goes_to() {
        let now = crate::clock();
        let mut a = side(RelaySide::new(params("127.0.0.1:4000"), "a".into()), now);
        let mut b = side(RelaySide::new(params("127.0.0.1:4002"), "b".into()), now);
        // A STUN binding request (RFC 5389: type 0x0001, magic cookie) from a's RTCP port.
        let mut stun = vec![0, 1, 0, 0, 0x21, 0x12, 0xA4, 0x42];
        stun.extend_from_slice(&[7; 12]);
        let rtcp_port = "127.0.0.1:4001".parse().unwrap();
        assert!(super::forward(&mut a, &mut b, stun, rtcp_port, None).is_none());
        let rtp_port = "127.0.0.1:4000".parse().unwrap();
        assert!(super::forward(&mut a, &mut b, pkt(1, 160, 9), rtp_port, None).is_some());
        let (_, to) = super::forward(&mut b, &mut a, pkt(1, 160, 5), rtp_port, None).unwrap();
        assert_eq!(to, rtp_port);
        assert_eq!(a.remote, rtp_port);
    }

    fn pkt(seq: u16, ts: u32, ssrc: u32) -> Vec<u8> {
        let mut p = vec![0x80, 0];
        p.extend_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&ts.to_be_bytes());
        p.extend_from_slice(&ssrc.to_be_bytes());
        p.extend_from_slice(&[0xAA; 4]);
        p
    }

    fn fields(p: &[u8]) -> (u16, u32, u32) {
        let r = rtp::RtpPacket::new_checked(p).unwrap();
        (r.sequence_number(), r.timestamp(), r.ssrc().0)
    }

    #[test]
    fn a_new_source_continues_the_stream_the_party_is_sent() {
        let mut out = None;
        let mut sent = Vec::new();
        // The first source passes unchanged, reordering included.
        for (seq, ts) in [(100u16, 1000u32), (102, 1320), (101, 1160)] {
            let mut p = pkt(seq, ts, 7);
            OutStream::rewrite(&mut out, &mut p, 160);
            sent.push(fields(&p));
        }
        assert_eq!(sent, [(100, 1000, 7), (102, 1320, 7), (101, 1160, 7)]);
        // A transfer: another source, with its own numbering (wrapping around), becomes
        // the next packets of the same stream.
        for (seq, ts) in [(65535u16, u32::MAX - 10), (0, 149), (1, 309)] {
            let mut p = pkt(seq, ts, 9);
            OutStream::rewrite(&mut out, &mut p, 160);
            sent.push(fields(&p));
        }
        assert_eq!(&sent[3..], [(103, 1480, 7), (104, 1640, 7), (105, 1800, 7)]);
        assert_eq!(&pkt(0, 0, 0)[12..], &[0xAA; 4]);
        // A runt is left alone.
        let mut runt = vec![0x80, 0, 1];
        OutStream::rewrite(&mut out, &mut runt, 160);
        assert_eq!(runt, [0x80, 0, 1]);
    }
}
