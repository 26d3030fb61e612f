//! One call leg's media, sans-IO: PCM in -> codec -> RTP -> SRTP -> datagram out, and
//! datagram in -> SRTP -> RTP -> jitter buffer -> codec (or concealment) -> PCM out, with
//! RFC 4733 DTMF both ways and the figures for the call report.
//!
//! The caller owns the socket and the audio clock: every `ptime` it calls
//! [`MediaLeg::send_frame`] with one frame of PCM (and sends what comes back) and
//! [`MediaLeg::pull_audio`] to get the next stretch of received audio; every datagram that
//! arrives goes to [`MediaLeg::handle_datagram`].

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use codecs::{Decoder, Encoder};
use jitter_buffer::{FrameAction, JitterBuffer, JitterConfig, Playout, stretch};
use rtp::dtmf::{DtmfEvent, DtmfNotice, DtmfReceiver, EventPacket, encode_key_press};
use rtp::quality::{CodecImpairment, EModelInput};
use rtp::{MediaTime, NtpTime, RtpPacket, RtpSession, SeqNo, SessionConfig, SessionEvent, Ssrc};
use sdp::negotiate::NegotiatedStream;
use srtp::{MasterKey, ProtectionProfile, SrtpConfig, SrtpContext};

use crate::report::LegReport;

/// An error setting up or running a media leg.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MediaError {
    /// The negotiated codec cannot be built.
    #[error("codec: {0}")]
    Codec(#[from] codecs::CodecError),
    /// The negotiated SRTP suite or key is unusable.
    #[error("srtp key: {0}")]
    Key(#[from] srtp::KeyError),
    /// The SRTP suite has no counterpart in the srtp crate.
    #[error("srtp suite {0} not supported")]
    Suite(&'static str),
    /// The negotiated key is shorter than the suite needs.
    #[error("srtp key material too short for {0}")]
    KeyLength(&'static str),
    /// The jitter buffer refused its configuration.
    #[error("jitter buffer: {0}")]
    Jitter(#[from] jitter_buffer::ConfigError),
    /// The peer gave no address to send to.
    #[error("no remote RTP address in the negotiated stream")]
    NoRemote,
    /// Building an RTP packet failed (caller misuse: payload too large).
    #[error("rtp build: {0}")]
    Build(#[from] rtp::BuildError),
    /// SRTP protect failed (e.g. key lifetime exhausted).
    #[error("srtp: {0}")]
    Srtp(#[from] srtp::SrtpError),
    /// The frame handed to `send_frame` has the wrong length.
    #[error("frame of {got} samples, the codec takes {want}")]
    FrameSize {
        /// Samples given.
        got: usize,
        /// Samples expected.
        want: usize,
    },
}

/// SRTP keys for one leg (SDES: each side protects with its own key).
#[derive(Clone, Debug)]
pub struct SrtpKeys {
    /// The profile.
    pub profile: ProtectionProfile,
    /// Key||salt protecting what we send.
    pub local: Vec<u8>,
    /// Key||salt of the peer, for what we receive.
    pub remote: Vec<u8>,
    /// The MKI the peer puts in every packet (RFC 4568 `|value:length` on its key; Microsoft
    /// Teams and some SBCs offer one), empty when it uses none. We send without an MKI.
    pub remote_mki: Vec<u8>,
}

impl SrtpKeys {
    /// The contexts that protect what we send and check what we receive.
    ///
    /// # Errors
    /// [`MediaError::Key`] or [`MediaError::Srtp`].
    pub fn contexts(&self) -> Result<(SrtpContext, SrtpContext), MediaError> {
        let local = MasterKey::from_key_salt(self.profile, &self.local)?;
        let mut remote = MasterKey::from_key_salt(self.profile, &self.remote)?;
        if !self.remote_mki.is_empty() {
            remote = remote.with_mki(&self.remote_mki)?;
        }
        Ok((
            SrtpContext::new(self.profile, &local, SrtpConfig::default())?,
            SrtpContext::new(self.profile, &remote, SrtpConfig::default())?,
        ))
    }
}

/// The MKI of an SDES key as the bytes on the wire: `value` big-endian in `length` bytes.
fn mki_bytes(mki: Option<sdp::Mki>) -> Vec<u8> {
    let Some(m) = mki else {
        return Vec::new();
    };
    let be = m.value.to_be_bytes();
    let len = usize::from(m.length);
    let mut out = vec![0; len.saturating_sub(be.len())];
    out.extend_from_slice(&be[be.len().saturating_sub(len)..]);
    out
}

/// Everything a media leg needs, usually from [`MediaParams::from_negotiated`].
#[derive(Clone, Debug)]
pub struct MediaParams {
    /// Encoding name (`opus`, `PCMU`, ...).
    pub codec: String,
    /// RTP clock rate.
    pub clock_rate: u32,
    /// Channels in the rtpmap (Opus says 2; we encode and decode mono).
    pub channels: u16,
    /// Payload type we send.
    pub send_pt: u8,
    /// Payload type we receive.
    pub recv_pt: u8,
    /// Packetization time, ms.
    pub ptime: u32,
    /// telephone-event payload types (send, receive) and clock rate, when negotiated.
    pub telephone_event: Option<(u8, u8, u32)>,
    /// SRTP, when negotiated.
    pub srtp: Option<SrtpKeys>,
    /// Where RTP goes.
    pub remote: SocketAddr,
    /// Where RTCP goes (the RTP address with rtcp-mux).
    pub remote_rtcp: SocketAddr,
    /// Seed of the RTP session (SSRC, initial sequence number and timestamp, RTCP timing).
    pub seed: u64,
    /// Our RTCP CNAME.
    pub cname: String,
}

impl MediaParams {
    /// Media parameters from an SDP negotiation result; SSRC, initial sequence number and
    /// timestamp come from `rng`.
    ///
    /// # Errors
    /// [`MediaError::NoRemote`], [`MediaError::Suite`] or [`MediaError::KeyLength`].
    pub fn from_negotiated<R: rand::Rng + ?Sized>(
        stream: &NegotiatedStream,
        rng: &mut R,
    ) -> Result<Self, MediaError> {
        let (remote, remote_rtcp) = remote_addrs(stream).ok_or(MediaError::NoRemote)?;
        let c = &stream.send_codec;
        let srtp = match &stream.crypto {
            Some(crypto) => {
                let name = crypto.suite.as_str();
                let profile = ProtectionProfile::ALL
                    .into_iter()
                    .find(|p| p.name() == name)
                    .ok_or(MediaError::Suite(name))?;
                let need = crypto.suite.key_salt_len();
                if crypto.local_key.key_salt.len() < need || crypto.remote_key.key_salt.len() < need
                {
                    return Err(MediaError::KeyLength(name));
                }
                Some(SrtpKeys {
                    profile,
                    local: crypto.local_key.key_salt[..need].to_vec(),
                    remote: crypto.remote_key.key_salt[..need].to_vec(),
                    remote_mki: mki_bytes(crypto.remote_key.mki),
                })
            }
            None => None,
        };
        Ok(Self {
            codec: c.name.clone(),
            clock_rate: c.clock_rate,
            channels: c.channels,
            send_pt: c.send_payload_type,
            recv_pt: c.recv_payload_type,
            ptime: stream.ptime.clamp(10, 60),
            telephone_event: stream
                .telephone_event
                .map(|t| (t.send_payload_type, t.recv_payload_type, t.clock_rate)),
            srtp,
            remote,
            remote_rtcp,
            seed: rng.random(),
            cname: "telox@127.0.0.1".into(),
        })
    }

    /// `opus/48000` style label.
    pub fn codec_label(&self) -> String {
        format!("{}/{}", self.codec, self.clock_rate)
    }
}

/// Where a negotiated stream's RTP and RTCP go: (RTP, RTCP), the RTCP address being the
/// RTP one with rtcp-mux, else the RFC 3605 `a=rtcp` or RTP port + 1 (the sdp crate's
/// [`NegotiatedStream::remote_rtcp`]). `None` while the stream has no RTP address (hold with
/// `c=0.0.0.0`, a host name).
pub fn remote_addrs(stream: &NegotiatedStream) -> Option<(SocketAddr, SocketAddr)> {
    let rtp = stream.remote_rtp?;
    let rtcp = if stream.rtcp_mux {
        rtp
    } else {
        stream.remote_rtcp.unwrap_or(rtp)
    };
    Some((rtp, rtcp))
}

/// What a received datagram was.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub enum Received {
    /// An audio packet, handed to the jitter buffer.
    Audio,
    /// A telephone-event packet.
    Dtmf,
    /// RTCP (counted; its reports feed the statistics when the session supports them).
    Rtcp,
    /// Refused: SRTP authentication or replay check failed.
    Refused,
    /// Not RTP/RTCP, or a payload type not negotiated.
    Ignored,
}

/// Counters kept by the leg itself.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub struct LegCounters {
    /// RTP packets sent (audio and DTMF).
    pub sent: u64,
    /// Payload octets sent.
    pub sent_octets: u64,
    /// Audio packets received and accepted.
    pub received: u64,
    /// DTMF packets received.
    pub dtmf_packets: u64,
    /// RTCP packets received.
    pub rtcp: u64,
    /// Datagrams refused by SRTP.
    pub refused: u64,
    /// Datagrams ignored (not RTP, unknown payload type, decode errors).
    pub ignored: u64,
    /// Frames played from packets.
    pub played: u64,
    /// Frames concealed.
    pub concealed: u64,
    /// Samples removed or added by time-stretching ([`MediaLeg::pull_stretched`]).
    pub stretched_samples: u64,
}

/// Paces [`MediaLeg::pull_stretched`] like a sound card would: the next pull is due when the
/// audio pulled so far has played, so a stretched (shorter or longer) frame moves the next
/// pull earlier or later and the jitter buffer's delay really changes.
#[derive(Clone, Copy, Debug, Default)]
pub struct PlayoutClock {
    next: Option<Instant>,
}

impl PlayoutClock {
    /// Playout that fell further behind than this restarts at `now` (the program stalled).
    const MAX_LAG: Duration = Duration::from_millis(200);

    /// Whether audio must be pulled at `now`.
    pub fn due(&mut self, now: Instant) -> bool {
        match self.next {
            Some(t) if now.saturating_duration_since(t) > Self::MAX_LAG => {
                self.next = Some(now);
                true
            }
            Some(t) => t <= now,
            None => true,
        }
    }

    /// `samples` at `rate` were pulled at `now`; at least 1 ms is accounted so an empty
    /// pull cannot spin.
    pub fn played(&mut self, now: Instant, samples: usize, rate: u32) {
        let us = (samples as u64 * 1_000_000 / u64::from(rate.max(1))).max(1_000);
        let from = self.next.unwrap_or(now);
        self.next = Some(from + Duration::from_micros(us));
    }
}

/// One leg's media state.
pub struct MediaLeg {
    params: MediaParams,
    session: RtpSession,
    media_ticks: u64,
    first_audio: bool,
    rtt: Option<Duration>,
    remote_ssrc: Option<Ssrc>,
    encoder: Box<dyn Encoder>,
    decoder: Box<dyn Decoder>,
    sample_rate: u32,
    frame_samples: usize,
    ticks_per_frame: u32,
    jb: JitterBuffer<Bytes>,
    tx: Option<SrtpContext>,
    rx: Option<SrtpContext>,
    dtmf_out: VecDeque<EventPacket>,
    dtmf_keys: VecDeque<(DtmfEvent, u32)>,
    dtmf_in: DtmfReceiver,
    digits: String,
    sending: bool,
    counters: LegCounters,
    last_seq: Option<SeqNo>,
    enc_buf: Vec<u8>,
    pcm_buf: Vec<i16>,
    stretch_buf: Vec<i16>,
}

impl std::fmt::Debug for MediaLeg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaLeg")
            .field("codec", &self.params.codec_label())
            .field("remote", &self.params.remote)
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

impl MediaLeg {
    /// Builds the codec, RTP session, SRTP contexts and jitter buffer for `params`; `now` starts
    /// the RTP session and `wallclock` is the NTP time at `now` (for sender reports and RTT).
    ///
    /// # Errors
    /// [`MediaError`] when a part cannot be built.
    pub fn new(params: MediaParams, now: Instant, wallclock: NtpTime) -> Result<Self, MediaError> {
        // SDP says 2 channels for Opus (RFC 7587); we send and play mono.
        let channels = if params.codec.eq_ignore_ascii_case("opus") {
            1
        } else {
            params.channels
        };
        let encoder =
            codecs::encoder_for(&params.codec, params.clock_rate, channels, params.ptime)?;
        let decoder = codecs::decoder_for(&params.codec, params.clock_rate, channels)?;
        let sample_rate = sdp::codec::sample_rate(&params.codec, params.clock_rate);
        let frame_samples = encoder.frame_samples();
        let ticks_per_frame = params.clock_rate * params.ptime / 1000;
        let jb = JitterBuffer::new(JitterConfig::new(params.clock_rate, params.ptime))?;
        let (tx, rx) = match &params.srtp {
            Some(k) => {
                let (tx, rx) = k.contexts()?;
                (Some(tx), Some(rx))
            }
            None => (None, None),
        };
        let max_payload = encoder.max_payload_len();
        // Payload bit rate plus IP/UDP/RTP headers at 50 packets/s (RTCP gets 5 % of it).
        let bandwidth = if params.codec.eq_ignore_ascii_case("opus") {
            40_000
        } else {
            80_000
        };
        let session = RtpSession::new(
            SessionConfig {
                clock_rate: params.clock_rate,
                payload_type: params.send_pt,
                cname: params.cname.clone(),
                seed: params.seed,
                session_bandwidth: bandwidth,
                wallclock,
                codec: impairment(&params.codec),
                packetization_ms: f64::from(params.ptime),
                ..SessionConfig::default()
            },
            now,
        );
        Ok(Self {
            session,
            media_ticks: 0,
            first_audio: true,
            rtt: None,
            remote_ssrc: None,
            params,
            encoder,
            decoder,
            sample_rate,
            frame_samples,
            ticks_per_frame,
            jb,
            tx,
            rx,
            dtmf_out: VecDeque::new(),
            dtmf_keys: VecDeque::new(),
            dtmf_in: DtmfReceiver::new(),
            digits: String::new(),
            sending: true,
            counters: LegCounters::default(),
            last_seq: None,
            enc_buf: vec![0; max_payload],
            pcm_buf: Vec::new(),
            stretch_buf: Vec::new(),
        })
    }

    /// The parameters in use.
    pub fn params(&self) -> &MediaParams {
        &self.params
    }

    /// PCM samples per frame the leg takes in [`send_frame`](Self::send_frame).
    pub fn frame_samples(&self) -> usize {
        self.frame_samples
    }

    /// The PCM sample rate of the codec.
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// Where RTP goes.
    pub fn remote(&self) -> SocketAddr {
        self.params.remote
    }

    /// Changes where RTP and RTCP go (re-INVITE with a new address: [`remote_addrs`]).
    pub fn set_remote(&mut self, remote: SocketAddr, remote_rtcp: SocketAddr) {
        self.params.remote = remote;
        self.params.remote_rtcp = remote_rtcp;
    }

    /// Stops or resumes sending (hold: `a=sendonly`/`inactive` from the far end or us).
    pub fn set_sending(&mut self, sending: bool) {
        self.sending = sending;
    }

    /// Whether the leg sends.
    pub fn is_sending(&self) -> bool {
        self.sending
    }

    /// Queues an RFC 4733 key press of `duration_ms`; the next frames carry its event packets
    /// instead of audio. Returns false for a character that is not a DTMF key or when no
    /// telephone-event was negotiated.
    pub fn send_dtmf(&mut self, key: char, duration_ms: u32) -> bool {
        let (Some(event), Some(_)) = (DtmfEvent::from_char(key), self.params.telephone_event)
        else {
            return false;
        };
        self.dtmf_keys.push_back((event, duration_ms));
        true
    }

    /// Encodes one frame of PCM and returns the datagrams to send now (one, or several when
    /// DTMF end packets are due; none while on hold).
    ///
    /// # Errors
    /// [`MediaError::FrameSize`], codec, RTP or SRTP errors.
    pub fn send_frame(&mut self, now: Instant, pcm: &[i16]) -> Result<Vec<Vec<u8>>, MediaError> {
        if pcm.len() != self.frame_samples {
            return Err(MediaError::FrameSize {
                got: pcm.len(),
                want: self.frame_samples,
            });
        }
        let mut out = Vec::new();
        if self.dtmf_out.is_empty()
            && let Some((_, _, rate)) = self.params.telephone_event
            && let Some((event, duration_ms)) = self.dtmf_keys.pop_front()
        {
            // Each key press starts at the media time of the frame it replaces (RFC 4733
            // §2.5.1.2), so consecutive keys carry distinct timestamps.
            let interval = (rate * self.params.ptime / 1000).max(1);
            let duration = (rate * duration_ms / 1000).max(interval);
            let start = self.media_ticks as u32;
            self.dtmf_out
                .extend(encode_key_press(event, 10, start, duration, interval));
        }
        if let Some((te_pt, ..)) = self.params.telephone_event
            && let Some(first) = self.dtmf_out.pop_front()
        {
            // RFC 4733 §2.5.1.4: the three end packets go out together in one frame time.
            let mut batch = vec![first];
            while first.payload.end
                && self
                    .dtmf_out
                    .front()
                    .is_some_and(|p| p.payload == first.payload)
            {
                batch.extend(self.dtmf_out.pop_front());
            }
            for p in batch {
                let bytes = p.payload.to_bytes();
                if self.sending {
                    let media = MediaTime::new(u64::from(p.timestamp), self.params.clock_rate);
                    out.push(self.packet(now, te_pt, p.marker, media, &bytes)?);
                }
            }
            self.media_ticks += u64::from(self.ticks_per_frame);
            self.first_audio = true;
            return Ok(out);
        }
        let n = self.encoder.encode(pcm, &mut self.enc_buf)?;
        let payload = self.enc_buf.get(..n).unwrap_or_default().to_vec();
        let media = MediaTime::new(self.media_ticks, self.params.clock_rate);
        self.media_ticks += u64::from(self.ticks_per_frame);
        if self.sending {
            // RFC 3551 §4.1: the marker bit starts a talkspurt (first packet, after DTMF or hold).
            let marker = std::mem::take(&mut self.first_audio);
            out.push(self.packet(now, self.params.send_pt, marker, media, &payload)?);
        } else {
            self.first_audio = true;
        }
        Ok(out)
    }

    fn packet(
        &mut self,
        now: Instant,
        pt: u8,
        marker: bool,
        media: MediaTime,
        payload: &[u8],
    ) -> Result<Vec<u8>, MediaError> {
        let pkt = self.session.send_packet(now, pt, media, marker, payload);
        let mut pkt = pkt.as_bytes().to_vec();
        if let Some(tx) = &mut self.tx {
            tx.protect_rtp_vec(&mut pkt)?;
        }
        self.counters.sent += 1;
        self.counters.sent_octets += payload.len() as u64;
        Ok(pkt)
    }

    /// Handles one received datagram (RTP or RTCP, SRTP-protected when negotiated).
    pub fn handle_datagram(&mut self, now: Instant, datagram: &[u8]) -> Received {
        let mut buf = datagram.to_vec();
        if is_rtcp(&buf) {
            let len = match &mut self.rx {
                Some(rx) => match rx.unprotect_rtcp(&mut buf) {
                    Ok(n) => n,
                    Err(_) => {
                        self.counters.refused += 1;
                        return Received::Refused;
                    }
                },
                None => buf.len(),
            };
            self.counters.rtcp += 1;
            if self
                .session
                .handle_rtcp(now, buf.get(..len).unwrap_or_default())
                .is_err()
            {
                self.counters.ignored += 1;
            }
            self.drain_events();
            return Received::Rtcp;
        }
        let len = match &mut self.rx {
            Some(rx) => match rx.unprotect_rtp(&mut buf) {
                Ok(n) => n,
                Err(_) => {
                    self.counters.refused += 1;
                    return Received::Refused;
                }
            },
            None => buf.len(),
        };
        buf.truncate(len);
        let Ok(pkt) = RtpPacket::new_checked(Bytes::from(buf)) else {
            self.counters.ignored += 1;
            return Received::Ignored;
        };
        // Statistics count every packet of the stream, audio and telephone events alike.
        let _ = self.session.handle_rtp(now, &pkt);
        self.remote_ssrc = Some(pkt.ssrc());
        self.drain_events();
        if let Some((_, te_recv, _)) = self.params.telephone_event
            && pkt.payload_type() == te_recv
        {
            self.counters.dtmf_packets += 1;
            if self
                .dtmf_in
                .handle_packet(pkt.timestamp(), pkt.payload())
                .is_err()
            {
                self.counters.ignored += 1;
                return Received::Ignored;
            }
            while let Some(n) = self.dtmf_in.poll_event() {
                if let DtmfNotice::Begin { event, .. } = n {
                    self.digits.push(event.to_char());
                }
            }
            return Received::Dtmf;
        }
        if pkt.payload_type() != self.params.recv_pt {
            self.counters.ignored += 1;
            return Received::Ignored;
        }
        self.counters.received += 1;
        let seq = match self.last_seq {
            Some(prev) => prev.extend(pkt.sequence_number()),
            None => SeqNo(u64::from(pkt.sequence_number())),
        };
        if self.last_seq.is_none_or(|p| seq > p) {
            self.last_seq = Some(seq);
        }
        let media = MediaTime::new(u64::from(pkt.timestamp()), self.params.clock_rate);
        let payload = Bytes::copy_from_slice(pkt.payload());
        self.jb.push(now, seq, media, payload);
        Received::Audio
    }

    /// The next stretch of received audio at the codec's sample rate: a decoded frame, its
    /// concealment, or silence, always one frame long (the jitter buffer's time-stretch
    /// requests are not applied; the frame after a concealment is cross-faded from it). Call
    /// it once per `ptime` on the audio clock; a player that can take frames of varying
    /// length uses [`pull_stretched`](Self::pull_stretched) instead.
    pub fn pull_audio(&mut self, now: Instant) -> Vec<i16> {
        self.pull(now, false)
    }

    /// Like [`pull_audio`](Self::pull_audio), but applies the jitter buffer's time-stretch
    /// requests: a frame it asks to accelerate loses one pitch period, a frame it asks to
    /// expand gains one (WSOLA, [`jitter_buffer::stretch`]), so the playout delay follows its
    /// target when the sender's clock drifts. The length varies: pull again when the
    /// previous output has played ([`PlayoutClock`] paces that).
    pub fn pull_stretched(&mut self, now: Instant) -> Vec<i16> {
        self.pull(now, true)
    }

    fn pull(&mut self, now: Instant, stretch: bool) -> Vec<i16> {
        let playout = self.jb.pop(now);
        let samples = self.ticks_to_samples(playout.duration());
        self.pcm_buf.clear();
        self.pcm_buf.resize(samples.max(self.frame_samples * 6), 0);
        let n = match playout {
            Playout::Frame(f) => {
                // The concealment continued for a few ms, to fade from into the frame.
                let fade_from = matches!(f.action, FrameAction::Merge)
                    .then(|| self.conceal_tail())
                    .flatten();
                match self.decoder.decode(&f.payload, &mut self.pcm_buf) {
                    Ok(n) => {
                        self.counters.played += 1;
                        let n = n.min(self.pcm_buf.len());
                        match (f.action, fade_from) {
                            (FrameAction::Merge, Some(tail)) => {
                                stretch::merge(
                                    &tail,
                                    self.pcm_buf.get_mut(..n).unwrap_or_default(),
                                );
                                n
                            }
                            // Shorten only with audio waiting behind this frame: the
                            // buffer's delay is relative to the fastest recent packet, so
                            // under a slow sender clock it asks to accelerate a nearly
                            // empty buffer, which would only run it dry.
                            (FrameAction::Accelerate { max_ticks }, _)
                                if stretch && self.jb.stats().buffered >= 2 =>
                            {
                                let max = self.ticks_to_samples(max_ticks);
                                self.stretch_frame(n, max, stretch::accelerate)
                            }
                            (FrameAction::Expand { max_ticks }, _) if stretch => {
                                let max = self.ticks_to_samples(max_ticks);
                                self.stretch_frame(n, max, stretch::preemptive_expand)
                            }
                            _ => n,
                        }
                    }
                    Err(_) => {
                        self.counters.ignored += 1;
                        self.conceal(samples)
                    }
                }
            }
            Playout::Conceal(c) => {
                let samples = self.ticks_to_samples(c.duration);
                self.counters.concealed += 1;
                // Opus in-band FEC: the next packet may carry the missing frame.
                let fec = c.next.and_then(|next| self.jb.peek(next).cloned());
                match fec {
                    Some(next) => {
                        match self
                            .decoder
                            .decode_fec(next.as_ref(), samples, &mut self.pcm_buf)
                        {
                            Ok(n) => n,
                            Err(_) => self.conceal(samples),
                        }
                    }
                    None => self.conceal(samples),
                }
            }
            _ => samples.min(self.pcm_buf.len()),
        };
        self.pcm_buf.truncate(n);
        std::mem::take(&mut self.pcm_buf)
    }

    /// When [`poll_rtcp`](Self::poll_rtcp) wants to run next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.session.poll_timeout()
    }

    /// Runs the RTCP timer and returns the (SRTCP-protected) compounds to send to
    /// [`MediaParams::remote_rtcp`].
    pub fn poll_rtcp(&mut self, now: Instant) -> Vec<Vec<u8>> {
        if self.session.poll_timeout().is_some_and(|t| t <= now) {
            self.session.handle_timeout(now);
        }
        self.drain_rtcp()
    }

    /// Leaves the RTP session (RTCP BYE) and returns the compounds to send.
    pub fn close(&mut self, now: Instant) -> Vec<Vec<u8>> {
        self.session.close(now, Some("hang-up"));
        self.drain_rtcp()
    }

    fn drain_rtcp(&mut self) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while let Some(c) = self.session.poll_transmit() {
            let mut v = c.to_vec();
            if let Some(tx) = &mut self.tx
                && tx.protect_rtcp_vec(&mut v).is_err()
            {
                continue;
            }
            out.push(v);
        }
        self.drain_events();
        out
    }

    fn drain_events(&mut self) {
        while let Some(ev) = self.session.poll_event() {
            if let SessionEvent::Report { rtt: Some(rtt), .. } = ev {
                self.rtt = Some(rtt);
            }
        }
    }

    /// Runs `op` (accelerate or expand) over the first `n` decoded samples into `pcm_buf`;
    /// returns the new length.
    fn stretch_frame(
        &mut self,
        n: usize,
        max: usize,
        op: fn(&[i16], u32, usize, &mut Vec<i16>) -> stretch::Stretched,
    ) -> usize {
        let input = self.pcm_buf.get(..n).unwrap_or_default();
        let done = op(input, self.sample_rate, max, &mut self.stretch_buf);
        self.counters.stretched_samples += done.changed as u64;
        std::mem::swap(&mut self.pcm_buf, &mut self.stretch_buf);
        done.written
    }

    /// A short continuation of the concealment (a quarter frame), for the merge cross-fade.
    fn conceal_tail(&mut self) -> Option<Vec<i16>> {
        let n = (self.frame_samples / 4).max(1);
        let mut tail = vec![0i16; n];
        match self.decoder.decode_lost(n, &mut tail) {
            Ok(k) if k > 0 => {
                tail.truncate(k);
                Some(tail)
            }
            _ => None,
        }
    }

    fn conceal(&mut self, samples: usize) -> usize {
        let samples = samples.min(self.pcm_buf.len());
        match self.decoder.decode_lost(samples, &mut self.pcm_buf) {
            Ok(n) => n,
            Err(_) => {
                self.pcm_buf.iter_mut().take(samples).for_each(|s| *s = 0);
                samples
            }
        }
    }

    fn ticks_to_samples(&self, ticks: u32) -> usize {
        let rate = u64::from(self.params.clock_rate.max(1));
        (u64::from(ticks) * u64::from(self.sample_rate) / rate) as usize
    }

    /// DTMF keys received so far.
    pub fn digits(&self) -> &str {
        &self.digits
    }

    /// Takes the DTMF keys received so far.
    pub fn take_digits(&mut self) -> String {
        std::mem::take(&mut self.digits)
    }

    /// The leg's own counters.
    pub fn counters(&self) -> LegCounters {
        self.counters
    }

    /// The jitter buffer's statistics.
    pub fn jitter_stats(&self) -> &jitter_buffer::JitterStats {
        self.jb.stats()
    }

    /// The RTP session (statistics, RTCP state).
    pub fn session(&self) -> &RtpSession {
        &self.session
    }

    /// The call report row for this leg: RFC 3550 statistics of the received stream, the RTT
    /// from RTCP, the jitter buffer's delay and concealment, and the G.107 E-model MOS with
    /// the measured jitter-buffer delay.
    pub fn report(&self, name: &str) -> LegReport {
        let jb = self.jb.stats();
        let c = self.counters;
        let frames = c.played + c.concealed;
        let rx = self.session.stats();
        let rtt = self.rtt.or(rx.rtt);
        let jb_delay_ms = jb.target_delay.max(jb.current_delay).as_secs_f64() * 1000.0;
        let q = rtp::quality::estimate(&EModelInput {
            codec: impairment(&self.params.codec),
            packetization_ms: f64::from(self.params.ptime),
            one_way_delay_ms: rtt.map_or(0.0, |r| r.as_secs_f64() * 500.0),
            jitter_buffer_ms: jb_delay_ms,
            loss_percent: rx.loss_percent,
            burst_ratio: rx.burst_ratio.max(1.0),
        });
        LegReport {
            leg: name.to_owned(),
            codec: self.params.codec_label(),
            srtp: self
                .params
                .srtp
                .as_ref()
                .map_or_else(|| "none".into(), |k| k.profile.name().into()),
            packets_sent: c.sent,
            packets_received: rx.received,
            lost: rx.lost.max(0) as u64,
            loss_pct: rx.loss_percent,
            jitter_ms: rx.jitter_ms,
            rtt_ms: rtt.map(|r| r.as_secs_f64() * 1000.0),
            jb_delay_ms,
            concealed_pct: pct(c.concealed, frames),
            late: jb.late,
            mos: q.mos_cq,
            dtmf: self.digits.clone(),
        }
    }
}

/// The E-model factors of a codec. G.113 Appendix I lists G.711 (Ie 0, Bpl 25.1 with PLC);
/// it has no entry for Opus or G.722, for which we use Ie 0 and a Bpl of 20 (wideband codecs
/// with concealment; a stated assumption, not an ITU value).
fn impairment(codec: &str) -> CodecImpairment {
    if codec.eq_ignore_ascii_case("PCMU") || codec.eq_ignore_ascii_case("PCMA") {
        CodecImpairment::G711_PLC
    } else {
        CodecImpairment {
            ie: 0.0,
            bpl: 20.0,
            lookahead_ms: if codec.eq_ignore_ascii_case("opus") {
                6.5
            } else {
                0.0
            },
        }
    }
}

fn pct(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

/// Whether a datagram on an RTP port is RTCP (SRTCP) rather than RTP (SRTP), by its second
/// octet (RFC 5761 §4): RTCP packet types 192-223 (SR 200 .. 207 and friends) would read as
/// RTP with the marker bit and payload types 64-95, which RTP does not use for that reason.
pub fn is_rtcp(datagram: &[u8]) -> bool {
    datagram.get(1).is_some_and(|b| (192..=223).contains(b))
}

/// The session description in a message's body ([`sip_core::body::sdp_or_body`]: an SDP part
/// of a multipart, empty without SDP, a broken body as sent), parsed leniently as the
/// programs here take peers' SDP.
///
/// # Errors
/// The parse error, also for a body without SDP (empty).
pub fn parse_body_sdp(headers: &sip_core::Headers) -> Result<sdp::Sdp, sdp::ParseError> {
    parse_lenient(sip_core::body::sdp_or_body(headers))
}

/// The session description in a message's body, parsed as [`parse_body_sdp`] does; `None`
/// when the body holds no SDP (no body, or only other parts: an offerless INVITE or
/// re-INVITE, an ACK without an answer).
pub fn offered_sdp(headers: &sip_core::Headers) -> Option<Result<sdp::Sdp, sdp::ParseError>> {
    let body = sip_core::body::sdp_or_body(headers);
    (!body.is_empty()).then(|| parse_lenient(body))
}

fn parse_lenient(body: Bytes) -> Result<sdp::Sdp, sdp::ParseError> {
    sdp::Sdp::parse_with(body, &sdp::ParseOptions::lenient())
}

/// Local media capabilities for an audio stream on `port`: the codecs by SDP name in
/// preference order (`opus`, `PCMU`, `PCMA`, `G722`), telephone-event, rtcp-mux, and SDES-SRTP
/// when `srtp` is set (`Required`: offer RTP/SAVP) or offered as best effort (`Optional`).
/// `a=rtcp:<port>` (RFC 3605) names the one socket for RTCP too: a peer without rtcp-mux
/// (linphone) otherwise sends its RTCP to port + 1, where telox has no socket.
pub fn audio_capabilities(
    port: u16,
    codecs: &[&str],
    srtp: sdp::SrtpPolicy,
) -> sdp::MediaCapabilities {
    let mut list: Vec<sdp::Codec> = codecs
        .iter()
        .filter_map(|c| sdp::Codec::by_name(c))
        .collect();
    list.push(sdp::Codec::telephone_event());
    let mut caps = sdp::MediaCapabilities::audio(port, list).with_rtcp_mux();
    caps.ptime = Some(20);
    caps.rtcp_port = Some(port);
    caps.with_srtp(srtp)
}

/// The offer that goes again when a callee refuses a best-effort SRTP offer (RTP/AVP with
/// `a=crypto`, [`sdp::SrtpPolicy::Optional`]) with 488 or 606: the same stream as RTP/SAVP
/// with new keys, as Asterisk, FreeSWITCH and rtpengine setups retry (linphone with SRTP
/// mandatory takes SDES only on RTP/SAVP). `None` when the first offer was not best-effort:
/// an RTP/SAVP offer (SRTP required) has no plain fallback, and a plain one none with SRTP.
/// Returns the engine that takes the answer to the retry, and the offer as the body of the
/// INVITE again ([`sip_core::ua::UserAgent::set_fallback_offer`]).
pub fn savp_fallback<R: rand::CryptoRng + ?Sized>(
    address: std::net::IpAddr,
    first: &sdp::MediaCapabilities,
    rng: &mut R,
) -> Option<(sdp::OfferAnswer, sip_core::ua::Body)> {
    if first.srtp != sdp::SrtpPolicy::Optional {
        return None;
    }
    let caps = first.clone().with_srtp(sdp::SrtpPolicy::Required);
    let mut oa = sdp::OfferAnswer::new(sdp::SessionConfig::new(address, caps), rng);
    let offer = oa.create_offer(rng).ok()?;
    Some((oa, sip_core::ua::Body::sdp(offer.to_bytes())))
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use sip_core::body::sdp_or_body as sdp_body;

    /// The SDP of a message as the calls take it: the body when it is SDP, the SDP part of a
    /// multipart (SIP-I's ISUP first here), nothing without a body or without an SDP part,
    /// and a broken multipart as sent, so that the SDP parse refuses it (the caller's 488).
    #[test]
    fn sdp_body_takes_the_sdp_out_of_the_body() {
        let headers = |content_type: &str, body: &str| {
            let text = format!(
                "INVITE sip:b@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\r\n\
                 From: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>\r\nCall-ID: c1\r\n\
                 CSeq: 1 INVITE\r\nMax-Forwards: 70\r\n{content_type}Content-Length: {}\r\n\r\n{body}",
                body.len()
            );
            sip_core::Message::parse(Bytes::from(text)).unwrap()
        };
        let sdp = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n\
                   m=audio 4000 RTP/AVP 0\r\n";
        let plain = headers("Content-Type: application/sdp\r\n", sdp);
        assert_eq!(sdp_body(plain.headers()), sdp);
        let sip_i = format!(
            "--b1\r\nContent-Type: application/isup;version=itu-t92+\r\n\r\nIAM\r\n\
             --b1\r\nContent-Type: application/sdp\r\n\r\n{sdp}\r\n--b1--\r\n"
        );
        let multipart = headers("Content-Type: multipart/mixed;boundary=b1\r\n", &sip_i);
        assert_eq!(sdp_body(multipart.headers()), sdp);
        assert!(parse_body_sdp(multipart.headers()).is_ok());
        let isup = headers("Content-Type: application/isup\r\n", "IAM");
        assert!(sdp_body(isup.headers()).is_empty());
        assert!(sdp_body(headers("", "").headers()).is_empty());
        let no_boundary = headers("Content-Type: multipart/mixed\r\n", &sip_i);
        assert_eq!(sdp_body(no_boundary.headers()), sip_i.as_str());
        assert!(parse_body_sdp(no_boundary.headers()).is_err());
    }
    use crate::audio::{level_dbfs, speech_like};
    use crate::netem::{ImpairedLink, LinkConfig};

    #[expect(clippy::disallowed_methods, reason = "tests need an arbitrary epoch")]
    fn epoch() -> Instant {
        Instant::now()
    }

    const LO: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    #[test]
    fn mki_is_the_value_big_endian_in_its_length() {
        let mki = |value, length| mki_bytes(Some(sdp::Mki { value, length }));
        assert_eq!(mki(1, 1), [1]);
        assert_eq!(mki(0x0102, 4), [0, 0, 1, 2]);
        assert_eq!(
            mki(0x0102_0304_0506_0708, 10),
            [0, 0, 1, 2, 3, 4, 5, 6, 7, 8]
        );
        assert!(mki_bytes(None).is_empty());
    }

    /// An offer whose key carries an MKI (`|2^31|1:1`, as Microsoft Teams sends it): the
    /// peer's packets end in the MKI byte before the tag, and we must take them.
    #[test]
    fn answering_a_key_with_an_mki_receives_the_peers_packets() {
        let offer = "v=0\r\no=- 1 1 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 192.0.2.9\r\nt=0 0\r\n\
            m=audio 49152 RTP/SAVP 0\r\na=rtpmap:0 PCMU/8000\r\n\
            a=crypto:2 AES_CM_128_HMAC_SHA1_80 \
            inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^31|1:1\r\n";
        let offer = sdp::Sdp::parse_with(
            Bytes::from_static(offer.as_bytes()),
            &sdp::ParseOptions::lenient(),
        )
        .unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let caps = audio_capabilities(4000, &["pcmu"], sdp::SrtpPolicy::Required);
        let mut ob = sdp::OfferAnswer::new(sdp::SessionConfig::new(LO, caps), &mut rng);
        ob.handle_offer(&offer, &mut rng).unwrap();
        let params = MediaParams::from_negotiated(&ob.streams()[0], &mut rng).unwrap();
        let keys = params.srtp.expect("SRTP negotiated");
        assert_eq!(keys.remote_mki, [1]);

        let peer_key = MasterKey::from_key_salt(keys.profile, &keys.remote)
            .and_then(|k| k.with_mki(&[1]))
            .unwrap();
        let mut peer = SrtpContext::new(keys.profile, &peer_key, SrtpConfig::default()).unwrap();
        let (_, mut rx) = keys.contexts().unwrap();
        // PT 0, sequence 7, timestamp 160, SSRC 0x12345678, 160 bytes of payload.
        let mut rtp = vec![0x80, 0, 0, 7, 0, 0, 0, 160, 0x12, 0x34, 0x56, 0x78];
        rtp.extend_from_slice(&[0x55; 160]);
        let mut buf = rtp.clone();
        buf.resize(rtp.len() + 64, 0);
        let len = peer.protect_rtp(&mut buf, rtp.len()).unwrap();
        assert_eq!(buf[rtp.len()], 1, "the MKI follows the payload");
        buf.truncate(len);
        let plain = rx.unprotect_rtp(&mut buf).unwrap();
        assert_eq!(&buf[..plain], &rtp[..]);
    }

    /// A re-offer that moves the peer: RTCP goes to its `a=rtcp` port, else the RTP port + 1,
    /// and with rtcp-mux on both sides to the RTP address; the leg takes both addresses.
    #[test]
    fn a_moved_peer_gets_rtcp_at_its_new_rtcp_address() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        // We offer rtcp-mux (audio_capabilities); it holds when the peer says it too.
        let addrs = |extra: &str, rng: &mut ChaCha8Rng| {
            let offer = format!(
                "v=0\r\no=- 1 2 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 192.0.2.9\r\nt=0 0\r\n\
                 m=audio 5000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n{extra}"
            );
            let offer = sdp::Sdp::parse(Bytes::from(offer)).unwrap();
            let caps = audio_capabilities(4000, &["pcmu"], sdp::SrtpPolicy::Disabled);
            let mut ob = sdp::OfferAnswer::new(sdp::SessionConfig::new(LO, caps), rng);
            ob.handle_offer(&offer, rng).unwrap();
            remote_addrs(&ob.streams()[0]).unwrap()
        };
        let at = |port| SocketAddr::new("192.0.2.9".parse().unwrap(), port);
        let moved = addrs("a=rtcp:5003\r\n", &mut rng);
        assert_eq!(moved, (at(5000), at(5003)));
        assert_eq!(addrs("", &mut rng), (at(5000), at(5001)));
        assert_eq!(addrs("a=rtcp-mux\r\n", &mut rng), (at(5000), at(5000)));
        let (pa, _) = negotiate(&["pcmu"], &["pcmu"], sdp::SrtpPolicy::Disabled);
        let mut leg = MediaLeg::new(pa, epoch(), NtpTime::from_unix(Duration::ZERO)).unwrap();
        leg.set_remote(moved.0, moved.1);
        assert_eq!((leg.remote(), leg.params().remote_rtcp), moved);
    }

    /// Negotiates a/b with the given codec lists and returns both legs' parameters.
    fn negotiate(a: &[&str], b: &[&str], srtp: sdp::SrtpPolicy) -> (MediaParams, MediaParams) {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mut oa = sdp::OfferAnswer::new(
            sdp::SessionConfig::new(LO, audio_capabilities(4000, a, srtp)),
            &mut rng,
        );
        let mut ob = sdp::OfferAnswer::new(
            sdp::SessionConfig::new(LO, audio_capabilities(6000, b, srtp)),
            &mut rng,
        );
        let offer = oa.create_offer(&mut rng).unwrap();
        let answer = ob.handle_offer(&offer, &mut rng).unwrap();
        oa.handle_answer(&answer).unwrap();
        let pa = MediaParams::from_negotiated(&oa.streams()[0], &mut rng).unwrap();
        let pb = MediaParams::from_negotiated(&ob.streams()[0], &mut rng).unwrap();
        (pa, pb)
    }

    /// Runs `secs` of audio from a to b over `link` on a virtual 20 ms clock; returns b's
    /// received PCM and both legs.
    fn run_call(
        pa: MediaParams,
        pb: MediaParams,
        link: LinkConfig,
        secs: f64,
        dtmf: &str,
    ) -> (Vec<i16>, MediaLeg, MediaLeg, u64) {
        let t0 = epoch();
        let mut a = MediaLeg::new(
            pa,
            t0,
            NtpTime::from_unix(Duration::from_secs(1_700_000_000)),
        )
        .unwrap();
        let mut b = MediaLeg::new(
            pb,
            t0,
            NtpTime::from_unix(Duration::from_secs(1_700_000_000)),
        )
        .unwrap();
        let mut ab = ImpairedLink::new(link.clone());
        let mut ba = ImpairedLink::new(LinkConfig {
            seed: link.seed + 1,
            ..link
        });
        let src = speech_like(a.sample_rate(), secs, 11);
        let mut got = Vec::new();
        let frames = src.samples.len() / a.frame_samples();
        for (i, frame) in src.samples.chunks_exact(a.frame_samples()).enumerate() {
            let now = t0 + Duration::from_millis(20 * i as u64);
            if i == frames / 2 {
                for k in dtmf.chars() {
                    assert!(a.send_dtmf(k, 100));
                }
            }
            for d in a.send_frame(now, frame).unwrap() {
                ab.send(now, d);
            }
            let silence = vec![0i16; b.frame_samples()];
            for d in b.send_frame(now, &silence).unwrap() {
                ba.send(now, d);
            }
            for d in a.poll_rtcp(now) {
                ab.send(now, d);
            }
            for d in b.poll_rtcp(now) {
                ba.send(now, d);
            }
            while let Some(d) = ab.poll_deliver(now) {
                b.handle_datagram(now, &d);
            }
            while let Some(d) = ba.poll_deliver(now) {
                a.handle_datagram(now, &d);
            }
            got.extend(b.pull_audio(now));
        }
        let dups = ab.stats().duplicated + ba.stats().duplicated;
        (got, a, b, dups)
    }

    #[test]
    fn opus_srtp_call_with_loss_conceals_and_reports() {
        let (pa, pb) = negotiate(
            &["opus", "PCMU"],
            &["opus", "PCMU"],
            sdp::SrtpPolicy::Required,
        );
        assert_eq!(pa.codec.to_ascii_lowercase(), "opus");
        assert!(pa.srtp.is_some());
        let link = LinkConfig {
            loss: 0.03,
            jitter: Duration::from_millis(10),
            seed: 3,
            ..LinkConfig::impaired()
        };
        let (got, a, b, dups) = run_call(pa, pb, link, 5.0, "12#");
        // Roughly 8 s of audio came out, and it is not silence.
        let secs = got.len() as f64 / f64::from(b.sample_rate());
        assert!((4.0..5.5).contains(&secs), "{secs} s");
        assert!(level_dbfs(&got) > -40.0, "level {}", level_dbfs(&got));
        assert_eq!(b.digits(), "12#");
        let r = b.report("b");
        assert_eq!(r.codec.to_ascii_lowercase(), "opus/48000");
        assert_eq!(r.srtp, "AEAD_AES_256_GCM");
        assert!(r.packets_received > 200 && r.lost > 0, "{r:?}");
        assert!(r.loss_pct > 0.5 && r.loss_pct < 8.0, "{r:?}");
        assert!(
            r.jitter_ms > 0.0 && r.concealed_pct > 0.0 && r.jb_delay_ms > 0.0,
            "{r:?}"
        );
        assert!(r.rtt_ms.is_some_and(|rtt| rtt > 60.0), "{r:?}");
        assert!((1.0..4.5).contains(&r.mos), "{r:?}");
        // The link's duplicates are replays to SRTP: refused, and nothing else is.
        assert_eq!(a.counters().refused + b.counters().refused, dups);
        assert!(a.report("a").packets_sent >= 240);
    }

    #[test]
    fn pcmu_fallback_plain_rtp_clean_link() {
        let (pa, pb) = negotiate(&["opus", "PCMU"], &["PCMU"], sdp::SrtpPolicy::Disabled);
        assert_eq!(pa.codec, "PCMU");
        assert!(pa.srtp.is_none());
        let (got, _a, b, _) = run_call(pa, pb, LinkConfig::clean(), 3.0, "");
        let r = b.report("b");
        assert_eq!((r.lost, r.srtp.as_str()), (0, "none"));
        assert!(r.mos > 4.0, "{r:?}");
        assert!(level_dbfs(&got) > -40.0);
    }

    #[test]
    fn hostile_datagrams_are_refused_or_ignored() {
        let (pa, pb) = negotiate(&["PCMU"], &["PCMU"], sdp::SrtpPolicy::Required);
        let t0 = epoch();
        let mut b = MediaLeg::new(pb, t0, NtpTime::default()).unwrap();
        let _ = pa;
        for junk in [
            &b""[..],
            &[0x80],
            &[0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 9, 9],
            &[0x80, 200, 0, 1],
        ] {
            let r = b.handle_datagram(t0, junk);
            assert!(matches!(r, Received::Refused | Received::Ignored), "{r:?}");
        }
        assert_eq!(b.counters().received, 0);
    }

    /// What a drifting-sender run left behind.
    struct Drift {
        /// Jitter-buffer delay at the end.
        end_delay: Duration,
        /// Concealment events over the run.
        conceal_events: u64,
        /// Samples the leg removed or added by stretching.
        stretched: u64,
        /// Packets dropped as late or beyond capacity.
        dropped: u64,
    }

    /// The sender's clock runs `drift` fast (negative: slow) for `secs` of speech over a
    /// clean link; the receiver plays on a 1 ms virtual clock, paced by [`PlayoutClock`] with
    /// time-stretching, or (`stretch = false`) one plain frame per 20 ms as before.
    fn drifting_sender(drift: f64, secs: f64, stretch: bool) -> Drift {
        let (pa, pb) = negotiate(&["PCMU"], &["PCMU"], sdp::SrtpPolicy::Disabled);
        let t0 = epoch();
        let ntp = NtpTime::from_unix(Duration::from_secs(1_700_000_000));
        let mut a = MediaLeg::new(pa, t0, ntp).unwrap();
        let mut b = MediaLeg::new(pb, t0, ntp).unwrap();
        let src = speech_like(a.sample_rate(), secs, 5);
        let frames: Vec<&[i16]> = src.samples.chunks_exact(a.frame_samples()).collect();
        let period_us = 20_000.0 / (1.0 + drift);
        let mut clock = PlayoutClock::default();
        let (mut sent, mut ms) = (0usize, 0u64);
        while sent < frames.len() {
            let now = t0 + Duration::from_millis(ms);
            while sent < frames.len() && (sent as f64 * period_us) as u64 <= ms * 1000 {
                for d in a.send_frame(now, frames[sent]).unwrap() {
                    b.handle_datagram(now, &d);
                }
                sent += 1;
            }
            if stretch {
                while clock.due(now) {
                    let pcm = b.pull_stretched(now);
                    clock.played(now, pcm.len(), b.sample_rate());
                }
            } else if ms % 20 == 0 {
                b.pull_audio(now);
            }
            ms += 1;
        }
        let st = b.jitter_stats();
        Drift {
            end_delay: st.current_delay,
            conceal_events: st.conceal_events,
            stretched: b.counters().stretched_samples,
            dropped: st.late + st.overflow + st.flushed,
        }
    }

    #[test]
    fn fast_sender_clock_keeps_the_buffer_delay_bounded_by_accelerating() {
        // 2 % fast for 40 s: 800 ms of extra audio arrives.
        let plain = drifting_sender(0.02, 40.0, false);
        let paced = drifting_sender(0.02, 40.0, true);
        eprintln!(
            "fast sender: plain end delay {:?}, dropped {}; stretched end delay {:?}, dropped {}, {} samples removed",
            plain.end_delay, plain.dropped, paced.end_delay, paced.dropped, paced.stretched
        );
        // Without stretching the surplus piles up (or is thrown away).
        assert!(plain.end_delay > Duration::from_millis(300) || plain.dropped > 20);
        assert!(
            paced.end_delay < Duration::from_millis(160),
            "{:?}",
            paced.end_delay
        );
        assert!(paced.dropped <= 2, "dropped {}", paced.dropped);
        assert!(
            paced.stretched > 8000 * 6 / 10,
            "removed {}",
            paced.stretched
        );
    }

    #[test]
    fn slow_sender_clock_is_not_made_worse_by_stretching() {
        // 2 % slow for 40 s: 800 ms of audio is missing, so the buffer runs dry now and then.
        // The jitter buffer never asks to expand here (its delay is relative to the fastest
        // recent packet, which a slow clock makes look high), and the glue refuses its
        // accelerate requests while little is buffered: no more concealment than plain.
        let plain = drifting_sender(-0.02, 40.0, false);
        let paced = drifting_sender(-0.02, 40.0, true);
        eprintln!(
            "slow sender: plain {} conceal events, end delay {:?}; stretched {} events, end delay {:?}",
            plain.conceal_events, plain.end_delay, paced.conceal_events, paced.end_delay
        );
        assert!(plain.conceal_events >= 20, "{}", plain.conceal_events);
        assert!(
            paced.conceal_events <= plain.conceal_events + 2,
            "{} > {}",
            paced.conceal_events,
            plain.conceal_events
        );
        assert!(paced.end_delay < Duration::from_millis(160));
    }
}
