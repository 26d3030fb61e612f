//! One RTP session, sans-IO ([RFC 3550 §6], §8, Appendix A.7): the sender (SSRC, sequence
//! numbers, timestamps, SR counts, SSRC collisions), the reception statistics of every remote
//! source, the RTCP report schedule with timer reconsideration, BYE, timeouts, and call
//! quality per stream.
//!
//! [RFC 3550 §6]: https://www.rfc-editor.org/rfc/rfc3550#section-6

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use thiserror::Error;

use crate::error::{BuildError, RtcpError};
use crate::packet::{RtpPacket, StreamHeader};
use crate::quality::{self, CodecImpairment, EModelInput, Quality};
use crate::rtcp::build::{
    self, ExtendedReport, Goodbye, ReceiverReport, SenderReport, SourceDescription,
};
use crate::rtcp::{
    self, DlrrItem, List, ReportBlock, RtcpPacket, SdesChunk, SdesItem, Validation, VoipMetrics,
    XrBlock,
};
use crate::stats::{ReceptionStats, SeqUpdate, SourceStats, rtt_from_report};
use crate::types::{MediaTime, NtpTime, Ssrc};

/// Configuration of an [`RtpSession`].
#[derive(Clone, Debug)]
pub struct SessionConfig {
    /// Media clock rate in Hz (8000 for G.711).
    pub clock_rate: u32,
    /// Payload type of [`RtpSession::send_rtp`].
    pub payload_type: u8,
    /// Our CNAME (RFC 3550 §6.5.1), e.g. `user@host`.
    pub cname: String,
    /// Seed of the session's random source (SSRC, first sequence number and timestamp, RTCP
    /// interval randomization). Sessions with the same seed and inputs behave identically.
    pub seed: u64,
    /// A fixed SSRC instead of a random one.
    pub ssrc: Option<Ssrc>,
    /// Session bandwidth in bit/s (RTCP gets 5 % of it, RFC 3550 §6.2).
    pub session_bandwidth: u32,
    /// Use the reduced minimum RTCP interval, 360 / (session bandwidth in kbit/s) seconds
    /// (RFC 3550 §6.2), instead of 5 s.
    pub reduced_minimum: bool,
    /// Accept reduced-size RTCP (RFC 5506) instead of requiring §6.1 compounds.
    pub reduced_size: bool,
    /// Packets in sequence before a new source is valid (RFC 3550 A.1 MIN_SEQUENTIAL).
    pub min_sequential: u8,
    /// Most remote sources tracked; packets of further sources are counted as dropped.
    pub max_sources: usize,
    /// Wallclock (NTP) time at the `now` passed to [`RtpSession::new`]; SR timestamps follow it.
    pub wallclock: NtpTime,
    /// The codec's E-model factors, for [`RtpSession::quality`] and the XR VoIP metrics block.
    pub codec: CodecImpairment,
    /// Packetization interval (ptime), ms.
    pub packetization_ms: f64,
    /// Playout (jitter buffer) delay, ms, for the E-model.
    pub jitter_buffer_ms: f64,
    /// RTCP-XR (RFC 3611) in every report: a VoIP metrics block about each source; a DLRR
    /// sub-block answering the last Receiver Reference Time block of each source that sent one
    /// (§4.5); and, while we send no SR, a Receiver Reference Time block of our own (§4.4),
    /// so that a peer's DLRR gives us the round-trip time without an SR of ours.
    pub rtcp_xr: bool,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            clock_rate: 8000,
            payload_type: 0,
            cname: "telox@localhost".into(),
            seed: 0,
            ssrc: None,
            // G.711 at 50 packets/s: 64 kbit/s + 50 * (12 RTP + 8 UDP + 20 IP) * 8.
            session_bandwidth: 80_000,
            reduced_minimum: false,
            reduced_size: false,
            min_sequential: 2,
            max_sources: 32,
            wallclock: NtpTime::default(),
            codec: CodecImpairment::G711_PLC,
            packetization_ms: 20.0,
            jitter_buffer_ms: 40.0,
            rtcp_xr: false,
        }
    }
}

/// Misuse of a session (network input never causes these).
#[derive(Clone, Copy, Debug, Eq, Error, PartialEq)]
#[non_exhaustive]
pub enum SessionError {
    /// The session was closed with [`RtpSession::close`].
    #[error("rtp session is closed")]
    Closed,
}

/// Something the application may want to know.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum SessionEvent {
    /// A remote source passed probation (RFC 3550 A.1).
    NewSource {
        /// The source.
        ssrc: Ssrc,
    },
    /// A remote source left with BYE (RFC 3550 §6.6).
    Bye {
        /// The source.
        ssrc: Ssrc,
        /// Its reason, if it gave one (lossy UTF-8).
        reason: Option<String>,
    },
    /// A remote source was not heard from for five deterministic intervals (RFC 3550 §6.3.5).
    Timeout {
        /// The source.
        ssrc: Ssrc,
    },
    /// A remote source uses our SSRC: we sent BYE for the old one and took a new one
    /// (RFC 3550 §8.2).
    SsrcCollision {
        /// The SSRC we gave up.
        old: Ssrc,
        /// The SSRC we use from now on.
        new: Ssrc,
    },
    /// A report block about our stream arrived in an SR or RR.
    Report {
        /// Who sent it.
        from: Ssrc,
        /// The block.
        block: ReportBlock,
        /// The round-trip time it gives (arrival - LSR - DLSR), if any: `None` for an LSR of
        /// 0 (no SR received yet), an LSR that is none of our last SRs' NTP times (the
        /// peer's clock or bookkeeping is off: no RTT is better than a wrong one), or a
        /// delay longer than the time since that SR.
        rtt: Option<Duration>,
    },
    /// An RTCP-XR VoIP metrics block about our stream (RFC 3611 §4.7): the receiver's own
    /// view of the call's quality (loss and discard rates, bursts, delay, R factor, MOS), as
    /// phones with RTCP-XR enabled send it beside their report blocks.
    VoipMetrics {
        /// Who sent it (the XR packet's SSRC).
        from: Ssrc,
        /// The block.
        metrics: VoipMetrics,
    },
    /// A DLRR sub-block about us (RFC 3611 §4.5): a peer's answer to a Receiver Reference Time
    /// block we sent.
    Dlrr {
        /// Who sent it (the XR packet's SSRC).
        from: Ssrc,
        /// The sub-block.
        item: DlrrItem,
        /// The round-trip time it gives (arrival - LRR - DLRR), if any: `None` for an LRR of
        /// 0 (no RRTR received), an LRR that is none of our last RRTRs' NTP times, or a delay
        /// longer than the time since that RRTR.
        rtt: Option<Duration>,
    },
    /// A generic NACK for our stream (RFC 4585).
    Nack {
        /// Who sent it.
        from: Ssrc,
        /// The lost sequence numbers.
        lost: Vec<u16>,
    },
    /// A picture loss indication (RFC 4585).
    PictureLoss {
        /// Who sent it.
        from: Ssrc,
    },
    /// A received RTCP compound broke the compound rules of RFC 3550 §6.1/A.2 or held a
    /// malformed packet; its well-framed packets were used all the same (see
    /// [`RtpSession::handle_rtcp`]).
    RtcpViolation {
        /// The first rule broken.
        first: RtcpError,
        /// Packets skipped because their body is malformed.
        skipped: u32,
    },
}

#[derive(Clone, Debug)]
struct Source {
    stats: SourceStats,
    last_heard: Instant,
    last_rtp: Option<Instant>,
    sender: bool,
    rtp_since_report: bool,
    cname: Option<Vec<u8>>,
    rtt: Option<Duration>,
    /// The last Receiver Reference Time block from this source (RFC 3611 §4.4): the middle
    /// 32 bits of its NTP time (the LRR we answer with) and when it arrived.
    rrtr: Option<(u32, Instant)>,
}

#[derive(Clone, Debug)]
struct Bye {
    reason: Option<String>,
    members: usize,
}

/// One RTP session ([RFC 3550 §6], Appendix A.7), sans-IO.
///
/// Drain rule: after [`new`](Self::new) and after any `handle_*`, `send_*` or
/// [`close`](Self::close) call, drain [`poll_transmit`](Self::poll_transmit) (RTCP compounds to
/// send) and [`poll_event`](Self::poll_event) until both return `None`, then call
/// [`handle_timeout`](Self::handle_timeout) at [`poll_timeout`](Self::poll_timeout).
///
/// ```
/// use std::time::{Duration, Instant};
/// use bytes::Bytes;
/// use telox_rtp::{MediaTime, RtpSession, SessionConfig};
///
/// let start = Instant::now();
/// let mut s = RtpSession::new(SessionConfig { seed: 7, ..Default::default() }, start);
/// let pkt = s.send_rtp(start, MediaTime::new(0, 8000), true, Bytes::from_static(&[0xFF; 160]));
/// assert_eq!(pkt.payload().len(), 160);
/// // Timer reconsideration (RFC 3550 A.7) may move the deadline before the first report.
/// let rtcp = loop {
///     let deadline = s.poll_timeout().unwrap();
///     s.handle_timeout(deadline);
///     if let Some(rtcp) = s.poll_transmit() {
///         break rtcp;
///     }
/// };
/// assert_eq!(rtcp[1], 200); // SR, then SDES CNAME
/// let deadline = start + std::time::Duration::from_secs(1);
/// assert!(s.poll_timeout().unwrap() > deadline);
/// ```
///
/// [RFC 3550 §6]: https://www.rfc-editor.org/rfc/rfc3550#section-6
#[derive(Debug)]
pub struct RtpSession {
    config: SessionConfig,
    rng: StdRng,
    start: Instant,
    ssrc: Ssrc,
    seq: u16,
    ts_offset: u32,
    packet_count: u32,
    octet_count: u32,
    last_sent: Option<(Instant, u32)>,
    sent_since_report: bool,
    we_sent: bool,
    sent_anything: bool,
    sources: Vec<Source>,
    dropped_sources: u64,
    rtcp_violations: u64,
    rtcp_skipped: u64,
    tp: Instant,
    tn: Instant,
    pmembers: usize,
    avg_rtcp_size: f64,
    initial: bool,
    bye: Option<Bye>,
    closed: bool,
    transmit: VecDeque<Bytes>,
    events: VecDeque<SessionEvent>,
    /// Report blocks and XR blocks of the report being built, kept from report to report so
    /// building one does not allocate.
    report_blocks: Vec<ReportBlock>,
    xr_blocks: Vec<XrBlock<'static>>,
    /// The DLRR sub-blocks of the report being built; lent to `xr_blocks` as its DLRR block's
    /// list while the report is written, then taken back.
    dlrr_items: Vec<DlrrItem>,
    /// The middle 32 bits of the NTP times of the last SRs and RRTRs we sent (a ring): a
    /// report's LSR or a DLRR's LRR gives a round-trip time only when it is one of them.
    sent_ntp: [u32; SENT_NTP_KEPT],
    /// Where the next sent NTP time goes in `sent_ntp`.
    sent_ntp_next: usize,
    /// The buffer RTCP compounds are written into; each one is split off as the `Bytes` that
    /// [`poll_transmit`](Self::poll_transmit) hands out, and its memory is reused once that
    /// `Bytes` is dropped.
    rtcp_buf: BytesMut,
}

/// How many of our last SR/RRTR NTP times are kept to match LSRs and LRRs against: a peer
/// answers the last one it received, within an RTCP interval or two; eight cover reports
/// sent at the reduced minimum and a peer that reports late.
const SENT_NTP_KEPT: usize = 8;

/// Capacity reserved for an RTCP compound: an SR with a few report blocks, SDES CNAME, XR VoIP
/// metrics and BYE fit.
const RTCP_BUF_MIN: usize = 512;

/// Writes `packets` as one compound into `buf` (cleared first) and returns its length, or
/// clears `buf` and returns 0 if a packet cannot be written.
fn write_compound_into<'p, 'a: 'p>(
    buf: &mut BytesMut,
    packets: impl Iterator<Item = &'p build::RtcpPacket<'a>> + Clone,
) -> usize {
    let len: usize = packets.clone().map(build::RtcpPacket::encoded_len).sum();
    buf.clear();
    // At least a typical compound's worth, so a report that grows by a block or two reuses
    // the memory instead of allocating again.
    buf.reserve(len.max(RTCP_BUF_MIN));
    buf.resize(len, 0);
    let mut at = 0;
    for p in packets {
        match buf.get_mut(at..).map(|out| p.write_to(out)) {
            Some(Ok(n)) => at += n,
            _ => {
                buf.clear();
                return 0;
            }
        }
    }
    len
}

/// RFC 3550 §6.3.3: packet sizes include lower-layer headers (IPv4 + UDP).
const LOWER_LAYER_OVERHEAD: usize = 28;
/// RFC 3550 A.7: "RTCP_MIN_TIME = 5."
const RTCP_MIN_TIME: f64 = 5.0;
/// RFC 3550 A.7: "COMPENSATION = 2.71828 - 1.5".
const COMPENSATION: f64 = std::f64::consts::E - 1.5;
/// RFC 3550 §6.3.5: "the multiplier M (5)".
const TIMEOUT_MULTIPLIER: u32 = 5;

impl RtpSession {
    /// A session started at `now`; the first RTCP report is scheduled per §6.3.2 (half the
    /// minimum interval, randomized).
    pub fn new(config: SessionConfig, now: Instant) -> Self {
        let mut rng = StdRng::seed_from_u64(config.seed);
        // RFC 3550 §5.1: "The initial value of the sequence number SHOULD be random" and §5.1:
        // "The initial value of the timestamp SHOULD be random".
        let ssrc = config.ssrc.unwrap_or_else(|| Ssrc(rng.random()));
        let seq = rng.random();
        let ts_offset = rng.random();
        let avg = (80 + config.cname.len() + LOWER_LAYER_OVERHEAD) as f64;
        let mut s = Self {
            config,
            rng,
            start: now,
            ssrc,
            seq,
            ts_offset,
            packet_count: 0,
            octet_count: 0,
            last_sent: None,
            sent_since_report: false,
            we_sent: false,
            sent_anything: false,
            sources: Vec::new(),
            dropped_sources: 0,
            rtcp_violations: 0,
            rtcp_skipped: 0,
            tp: now,
            tn: now,
            pmembers: 1,
            avg_rtcp_size: avg,
            initial: true,
            bye: None,
            closed: false,
            transmit: VecDeque::new(),
            events: VecDeque::new(),
            report_blocks: Vec::new(),
            xr_blocks: Vec::new(),
            dlrr_items: Vec::new(),
            sent_ntp: [0; SENT_NTP_KEPT],
            sent_ntp_next: 0,
            rtcp_buf: BytesMut::new(),
        };
        let t = s.rtcp_interval(true);
        s.tn = now + t;
        s
    }

    /// Our SSRC.
    pub fn ssrc(&self) -> Ssrc {
        self.ssrc
    }

    /// The sequence number the next packet will carry.
    pub fn next_sequence_number(&self) -> u16 {
        self.seq
    }

    /// The configuration.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// Packets and payload octets sent under the current SSRC (the SR counts).
    pub fn sent(&self) -> (u32, u32) {
        (self.packet_count, self.octet_count)
    }

    /// Sends a packet with the configured payload type; see [`send_packet`](Self::send_packet).
    pub fn send_rtp(
        &mut self,
        now: Instant,
        media: MediaTime,
        marker: bool,
        payload: Bytes,
    ) -> RtpPacket<Bytes> {
        let pt = self.config.payload_type;
        self.send_packet(now, pt, media, marker, &payload)
    }

    /// Builds the next RTP packet: our SSRC, the next sequence number, and the RTP timestamp
    /// `media` ticks after the random initial timestamp; counts it for the SR. `media` is at
    /// the session's clock rate (telephone events share it, RFC 4733 §2.1).
    ///
    /// This allocates the packet's buffer; [`send_packet_into`](Self::send_packet_into) writes
    /// into the caller's.
    pub fn send_packet(
        &mut self,
        now: Instant,
        payload_type: u8,
        media: MediaTime,
        marker: bool,
        payload: &[u8],
    ) -> RtpPacket<Bytes> {
        let mut buf = BytesMut::zeroed(12 + payload.len());
        // The buffer is exactly the packet's length, so the write cannot fail; a failure would
        // leave a zeroed (version 0) buffer.
        let _ = self.send_packet_into(now, payload_type, media, marker, payload, &mut buf);
        RtpPacket::from_built(buf.freeze(), 12)
    }

    /// As [`send_packet`](Self::send_packet), but writes the packet (12-byte header and
    /// payload) into `out` and returns its length: the send path without an allocation. The
    /// packet is counted and the sequence number advanced only if it was written.
    ///
    /// # Errors
    /// [`BuildError::BufferTooSmall`] if `out` is shorter than 12 + `payload.len()` bytes.
    // Always inlined: see `StreamHeader::write_packet`.
    #[inline(always)]
    pub fn send_packet_into(
        &mut self,
        now: Instant,
        payload_type: u8,
        media: MediaTime,
        marker: bool,
        payload: &[u8],
        out: &mut [u8],
    ) -> Result<usize, BuildError> {
        let timestamp = self.ts_offset.wrapping_add(media.rtp_timestamp());
        // The header is encoded per packet on purpose: `StreamHeader::new` is a shift, an OR
        // and a byte swap of values already in registers. A copy kept in the session (rebuilt
        // on a payload-type change or SSRC collision) measured 3 more instructions per packet
        // (its load and payload-type check), 15 more when audio and events alternate.
        let n = StreamHeader::new(payload_type, self.ssrc)
            .write_packet(marker, self.seq, timestamp, payload, out)?;
        self.count_sent(now, timestamp, payload.len());
        Ok(n)
    }

    /// As [`send_packet_into`](Self::send_packet_into), without copying the payload: `packet`
    /// already holds it after a [`StreamHeader::LEN`]-byte reserve (an encoder wrote it at
    /// `packet[12..]`), and the header is written in front. Returns `packet.len()`.
    ///
    /// # Errors
    /// [`BuildError::BufferTooSmall`] if `packet` is shorter than the 12-byte header; nothing is
    /// written or counted then.
    #[inline]
    pub fn send_packet_in_place(
        &mut self,
        now: Instant,
        payload_type: u8,
        media: MediaTime,
        marker: bool,
        packet: &mut [u8],
    ) -> Result<usize, BuildError> {
        let timestamp = self.ts_offset.wrapping_add(media.rtp_timestamp());
        let n = StreamHeader::new(payload_type, self.ssrc)
            .write_to(marker, self.seq, timestamp, packet)?;
        self.count_sent(now, timestamp, packet.len() - n);
        Ok(packet.len())
    }

    /// Counts a packet just written (for the SR) and advances the sequence number.
    #[inline(always)]
    fn count_sent(&mut self, now: Instant, timestamp: u32, payload_len: usize) {
        self.seq = self.seq.wrapping_add(1);
        self.packet_count = self.packet_count.wrapping_add(1);
        self.octet_count = self.octet_count.wrapping_add(payload_len as u32);
        self.last_sent = Some((now, timestamp));
        self.sent_since_report = true;
        self.we_sent = true;
        self.sent_anything = true;
    }

    /// Handles a received RTP packet: SSRC collision check (§8.2), then the sequence and jitter
    /// statistics of its source (A.1, A.8). Returns what the statistics made of it, so the
    /// caller can skip packets of a source on probation.
    ///
    /// # Errors
    /// [`SessionError::Closed`] after [`close`](Self::close).
    pub fn handle_rtp<T: AsRef<[u8]>>(
        &mut self,
        now: Instant,
        packet: &RtpPacket<T>,
    ) -> Result<SeqUpdate, SessionError> {
        if self.closed {
            return Err(SessionError::Closed);
        }
        let ssrc = packet.ssrc();
        if ssrc == self.ssrc {
            self.collision(now);
            return Ok(SeqUpdate::Probation);
        }
        let arrival = now.saturating_duration_since(self.start);
        let Some(i) = self.source_index(now, ssrc, Some(packet.sequence_number())) else {
            self.dropped_sources += 1;
            return Ok(SeqUpdate::Probation);
        };
        let src = &mut self.sources[i];
        src.last_heard = now;
        src.last_rtp = Some(now);
        src.sender = true;
        src.rtp_since_report = true;
        let r = src
            .stats
            .update(packet.sequence_number(), packet.timestamp(), arrival);
        if r == SeqUpdate::Validated {
            self.events.push_back(SessionEvent::NewSource { ssrc });
        }
        Ok(r)
    }

    /// Handles a received RTCP compound (or reduced-size packet if configured).
    ///
    /// The compound is read as real receivers read it ([`rtcp::iter_lenient`]): every
    /// well-framed packet that parses is used, even when the compound breaks the RFC 3550
    /// §6.1/A.2 rules (not SR or RR first, no CNAME, padding before the last packet) or holds a
    /// packet whose body is malformed (that packet is skipped), and the walk ends at bytes that
    /// cannot be framed. Each compound that broke a rule but was used is counted
    /// ([`rtcp_violations`](Self::rtcp_violations)) and reported as
    /// [`SessionEvent::RtcpViolation`]. A caller that wants the strict rules validates with
    /// [`rtcp::parse_compound`] before handing the datagram on.
    ///
    /// # Errors
    /// [`RtcpError`] (the first rule broken) when no packet of the datagram could be used, or
    /// [`RtcpError::FirstNotReport`] when its first packet's type is outside RTCP's 192-223
    /// (RFC 5761 §4: it is RTP, not RTCP); nothing of it is used then.
    pub fn handle_rtcp(&mut self, now: Instant, compound: &[u8]) -> Result<(), RtcpError> {
        let validation = if self.config.reduced_size {
            Validation::ReducedSize
        } else {
            Validation::Compound
        };
        let mut walk = rtcp::iter_lenient(compound, validation);
        let Some(first) = walk.next() else {
            return Err(walk.violations().first.unwrap_or(RtcpError::Empty));
        };
        // RFC 5761 §4: RTCP packet types lie in 192-223. A datagram that starts outside them
        // is RTP handed over by a demultiplexing mistake (its sequence number framed as a
        // length), or noise: nothing of it is used or counted, as the strict rules refuse it.
        if let RtcpPacket::Unknown { pt, .. } = first
            && !(192..=223).contains(&pt)
        {
            return Err(RtcpError::FirstNotReport(pt));
        }
        // RFC 3550 A.7 OnReceive: "avg_rtcp_size = (1./16.)*packet_size + (15./16.)*(avg_rtcp_size)".
        self.avg_rtcp_size +=
            ((compound.len() + LOWER_LAYER_OVERHEAD) as f64 - self.avg_rtcp_size) / 16.0;
        let arrival = now.saturating_duration_since(self.start);
        let ntp_now = self.wallclock(now);
        for p in std::iter::once(first).chain(&mut walk) {
            match p {
                RtcpPacket::SenderReport(sr) => {
                    if self.is_own(now, sr.ssrc(), compound) {
                        return Ok(());
                    }
                    if let Some(i) = self.source_index(now, sr.ssrc(), None) {
                        let s = &mut self.sources[i];
                        s.last_heard = now;
                        s.stats
                            .handle_sender_report(sr.ntp(), sr.rtp_timestamp(), arrival);
                    }
                    self.handle_blocks(sr.ssrc(), &sr.reports(), ntp_now);
                }
                RtcpPacket::ReceiverReport(rr) => {
                    if self.is_own(now, rr.ssrc(), compound) {
                        return Ok(());
                    }
                    if let Some(i) = self.source_index(now, rr.ssrc(), None) {
                        self.sources[i].last_heard = now;
                    }
                    self.handle_blocks(rr.ssrc(), &rr.reports(), ntp_now);
                }
                RtcpPacket::SourceDescription(sdes) => {
                    for chunk in sdes.chunks().iter() {
                        if let (Some(c), Some(s)) = (
                            chunk.cname(),
                            self.sources
                                .iter_mut()
                                .find(|s| s.stats.ssrc() == chunk.ssrc),
                        ) && s.cname.as_deref() != Some(c)
                        {
                            s.cname = Some(c.to_vec());
                        }
                    }
                }
                RtcpPacket::Goodbye(bye) => {
                    let reason = bye
                        .reason()
                        .map(|r| String::from_utf8_lossy(r).into_owned());
                    for ssrc in bye.sources().iter() {
                        if let Some(b) = &mut self.bye {
                            // RFC 3550 §6.3.7: while leaving, count the BYEs received as members.
                            b.members += 1;
                        }
                        if let Some(i) = self.sources.iter().position(|s| s.stats.ssrc() == ssrc) {
                            self.sources.swap_remove(i);
                            self.events.push_back(SessionEvent::Bye {
                                ssrc,
                                reason: reason.clone(),
                            });
                        }
                    }
                    self.reverse_reconsideration(now);
                }
                RtcpPacket::ExtendedReport(xr) => {
                    for block in xr.blocks().iter() {
                        match block {
                            XrBlock::VoipMetrics(metrics) if metrics.ssrc == self.ssrc => {
                                self.events.push_back(SessionEvent::VoipMetrics {
                                    from: xr.ssrc(),
                                    metrics,
                                });
                            }
                            XrBlock::Rrtr { ntp } if xr.ssrc() != self.ssrc => {
                                if let Some(i) = self.source_index(now, xr.ssrc(), None) {
                                    self.sources[i].rrtr = Some((ntp.middle32(), now));
                                }
                            }
                            XrBlock::Dlrr(items) => self.handle_dlrr(xr.ssrc(), &items, ntp_now),
                            _ => {}
                        }
                    }
                }
                RtcpPacket::GenericNack(n) if n.media_ssrc() == self.ssrc => {
                    let lost = n.pairs().iter().flat_map(|p| p.lost()).collect();
                    self.events.push_back(SessionEvent::Nack {
                        from: n.sender_ssrc(),
                        lost,
                    });
                }
                RtcpPacket::PictureLossIndication(p) if p.media_ssrc == self.ssrc => {
                    self.events.push_back(SessionEvent::PictureLoss {
                        from: p.sender_ssrc,
                    });
                }
                _ => {}
            }
        }
        let v = walk.violations();
        if let Some(first) = v.first {
            self.rtcp_violations += 1;
            self.rtcp_skipped += u64::from(v.skipped);
            self.events.push_back(SessionEvent::RtcpViolation {
                first,
                skipped: v.skipped,
            });
        }
        Ok(())
    }

    /// Runs the RTCP timer (A.7 OnExpire with timer reconsideration) and the §6.3.5 timeouts.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.closed || now < self.tn {
            return;
        }
        if let Some(bye) = &self.bye {
            // RFC 3550 §6.3.7: BYE reconsideration with members counted from received BYEs.
            let members = bye.members;
            let t = self.interval_for(members, 0, false, true);
            if self.tp + t <= now {
                self.send_bye(now);
            } else {
                self.tn = self.tp + t;
            }
            return;
        }
        self.check_timeouts(now);
        let t = self.rtcp_interval(self.initial);
        if self.tp + t <= now {
            let len = self.send_report(now, None);
            self.avg_rtcp_size += ((len + LOWER_LAYER_OVERHEAD) as f64 - self.avg_rtcp_size) / 16.0;
            self.tp = now;
            self.initial = false;
            self.pmembers = self.members();
            let t = self.rtcp_interval(false);
            self.tn = now + t;
        } else {
            self.tn = self.tp + t;
        }
    }

    /// Leaves the session: sends BYE now when there are fewer than 50 members, else schedules
    /// it with BYE reconsideration (RFC 3550 §6.3.7). Nothing is sent if we never sent RTP or
    /// RTCP ("if a participant ... never sent an RTP or RTCP packet, it MUST NOT send a BYE").
    pub fn close(&mut self, now: Instant, reason: Option<&str>) {
        if self.closed || self.bye.is_some() {
            return;
        }
        let bye = Bye {
            reason: reason.map(str::to_owned),
            members: 1,
        };
        if !self.sent_anything {
            self.closed = true;
            return;
        }
        self.bye = Some(bye);
        if self.members() < 50 {
            self.send_bye(now);
        } else {
            self.tp = now;
            self.initial = true;
            self.we_sent = false;
            self.avg_rtcp_size = 100.0;
            let t = self.interval_for(1, 0, false, true);
            self.tn = now + t;
        }
    }

    /// The next RTCP compound to send.
    ///
    /// Compounds are written into one buffer the session keeps; once the caller has dropped
    /// the `Bytes` (after sending it), the next report reuses that memory, so report generation
    /// does not allocate in steady state.
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        self.transmit.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.events.pop_front()
    }

    /// When to call [`handle_timeout`](Self::handle_timeout); `None` once closed.
    pub fn poll_timeout(&self) -> Option<Instant> {
        (!self.closed).then_some(self.tn)
    }

    /// Statistics of the main remote source: of the validated ones still present, the one whose
    /// RTP arrived last (the first of them on a tie), or empty statistics when none is.
    ///
    /// In a one-to-one call that is the peer's stream; when the peer changes SSRC mid-call (a
    /// B2BUA re-anchoring media after a transfer, a gateway restarting its stream), the old
    /// source stays until it times out (RFC 3550 §6.3.5), and the new one is the call's.
    pub fn stats(&self) -> ReceptionStats {
        self.sources
            .iter()
            .rev()
            .filter(|s| s.stats.is_valid())
            .max_by_key(|s| s.last_rtp)
            .map(Self::snapshot)
            .unwrap_or_default()
    }

    /// Statistics of every tracked remote source.
    pub fn sources(&self) -> impl Iterator<Item = ReceptionStats> + '_ {
        self.sources.iter().map(Self::snapshot)
    }

    /// Statistics of one remote source.
    pub fn source_stats(&self, ssrc: Ssrc) -> Option<ReceptionStats> {
        self.sources
            .iter()
            .find(|s| s.stats.ssrc() == ssrc)
            .map(Self::snapshot)
    }

    /// The CNAME a remote source announced.
    pub fn cname_of(&self, ssrc: Ssrc) -> Option<&[u8]> {
        self.sources
            .iter()
            .find(|s| s.stats.ssrc() == ssrc)?
            .cname
            .as_deref()
    }

    /// Packets dropped because `max_sources` sources were already tracked.
    pub fn dropped_sources(&self) -> u64 {
        self.dropped_sources
    }

    /// Received RTCP compounds that broke a rule of RFC 3550 §6.1/A.2 (or held a malformed
    /// packet) and were still used in part, see [`handle_rtcp`](Self::handle_rtcp).
    pub fn rtcp_violations(&self) -> u64 {
        self.rtcp_violations
    }

    /// Well-framed RTCP packets skipped because their body is malformed, in compounds of which
    /// other packets were used.
    pub fn rtcp_skipped(&self) -> u64 {
        self.rtcp_skipped
    }

    /// The E-model estimate of the stream received from `ssrc`: its loss percentage and burst
    /// ratio, half the RTT (or 0 before one is measured) as one-way delay, and the configured
    /// codec, packetization and playout delay.
    pub fn quality(&self, ssrc: Ssrc) -> Option<Quality> {
        let s = self.sources.iter().find(|s| s.stats.ssrc() == ssrc)?;
        Some(quality::estimate(&self.emodel_input(s)))
    }

    /// The NTP time at `now` on the session's wallclock (config `wallclock` + elapsed).
    pub fn wallclock(&self, now: Instant) -> NtpTime {
        self.config
            .wallclock
            .add_duration(now.saturating_duration_since(self.start))
    }

    fn snapshot(s: &Source) -> ReceptionStats {
        ReceptionStats {
            rtt: s.rtt,
            ..s.stats.snapshot()
        }
    }

    fn emodel_input(&self, s: &Source) -> EModelInput {
        let st = s.stats.snapshot();
        EModelInput {
            codec: self.config.codec,
            packetization_ms: self.config.packetization_ms,
            one_way_delay_ms: s.rtt.map_or(0.0, |r| r.as_secs_f64() * 500.0),
            jitter_buffer_ms: self.config.jitter_buffer_ms,
            loss_percent: st.loss_percent,
            burst_ratio: st.burst_ratio,
        }
    }

    fn source_index(&mut self, now: Instant, ssrc: Ssrc, seq: Option<u16>) -> Option<usize> {
        if let Some(i) = self.sources.iter().position(|s| s.stats.ssrc() == ssrc) {
            return Some(i);
        }
        if self.sources.len() >= self.config.max_sources {
            return None;
        }
        let stats = SourceStats::new(
            ssrc,
            seq.unwrap_or(0),
            self.config.clock_rate,
            self.config.min_sequential,
        );
        self.sources.push(Source {
            stats,
            last_heard: now,
            last_rtp: None,
            sender: false,
            rtp_since_report: false,
            cname: None,
            rtt: None,
            rrtr: None,
        });
        Some(self.sources.len() - 1)
    }

    /// Whether an RTCP packet claims our SSRC: a loop of our own packets (same CNAME, ignored)
    /// or a collision (handled, §8.2). Either way the compound is not used further.
    fn is_own(&mut self, now: Instant, ssrc: Ssrc, compound: &[u8]) -> bool {
        if ssrc != self.ssrc {
            return false;
        }
        let looped = rtcp::parse_compound(compound, Validation::ReducedSize).is_ok_and(|mut ps| {
            ps.any(|p| match p {
                RtcpPacket::SourceDescription(s) => s
                    .chunks()
                    .iter()
                    .any(|c| c.ssrc == ssrc && c.cname() == Some(self.config.cname.as_bytes())),
                _ => false,
            })
        });
        if !looped {
            self.collision(now);
        }
        true
    }

    /// RFC 3550 §8.2: "the participant MUST send an RTCP BYE packet with the old identifier and
    /// choose a new random one".
    fn collision(&mut self, now: Instant) {
        let old = self.ssrc;
        if self.sent_anything {
            self.queue_bye_compound(now, Some("SSRC collision"));
        }
        let mut new = Ssrc(self.rng.random());
        while new == old || self.sources.iter().any(|s| s.stats.ssrc() == new) {
            new = Ssrc(self.rng.random());
        }
        self.ssrc = new;
        self.packet_count = 0;
        self.octet_count = 0;
        self.events
            .push_back(SessionEvent::SsrcCollision { old, new });
    }

    fn handle_blocks(&mut self, from: Ssrc, blocks: &List<'_, ReportBlock>, ntp_now: NtpTime) {
        for block in blocks.iter().filter(|b| b.ssrc == self.ssrc) {
            let rtt = self.rtt_to(ntp_now, block.lsr, block.dlsr);
            if let (Some(r), Some(s)) = (
                rtt,
                self.sources.iter_mut().find(|s| s.stats.ssrc() == from),
            ) {
                s.rtt = Some(r);
            }
            self.events
                .push_back(SessionEvent::Report { from, block, rtt });
        }
    }

    /// RFC 3611 §4.5: the DLRR sub-blocks about us (others answer other receivers' RRTRs)
    /// give the round-trip time as an SR's report block does: arrival - LRR - DLRR.
    fn handle_dlrr(&mut self, from: Ssrc, items: &List<'_, DlrrItem>, ntp_now: NtpTime) {
        for item in items.iter().filter(|d| d.ssrc == self.ssrc) {
            let rtt = self.rtt_to(ntp_now, item.lrr, item.dlrr);
            if let (Some(r), Some(s)) = (
                rtt,
                self.sources.iter_mut().find(|s| s.stats.ssrc() == from),
            ) {
                s.rtt = Some(r);
            }
            self.events
                .push_back(SessionEvent::Dlrr { from, item, rtt });
        }
    }

    /// The round-trip time from a report arriving at `arrival` that answers our SR or RRTR
    /// `lsr` after holding it `dlsr` (RFC 3550 §6.4.1, RFC 3611 §4.5), when `lsr` is one of
    /// the NTP times we sent: a peer echoing a stale or foreign value (seen in vendor
    /// captures: an RTT of hours) gives none.
    fn rtt_to(&self, arrival: NtpTime, lsr: u32, dlsr: u32) -> Option<Duration> {
        // An LSR of 0 ("no SR yet") gives none in `rtt_from_report`, even against the
        // ring's unused zero slots.
        self.sent_ntp
            .contains(&lsr)
            .then(|| rtt_from_report(arrival, lsr, dlsr))
            .flatten()
    }

    fn members(&self) -> usize {
        1 + self.sources.iter().filter(|s| s.stats.is_valid()).count()
    }

    fn senders(&self) -> usize {
        usize::from(self.we_sent)
            + self
                .sources
                .iter()
                .filter(|s| s.sender && s.stats.is_valid())
                .count()
    }

    fn rtcp_interval(&mut self, initial: bool) -> Duration {
        let (m, s, w) = (self.members(), self.senders(), self.we_sent);
        self.interval_for(m, s, w, initial)
    }

    /// RFC 3550 A.7 `rtcp_interval()`, randomized.
    fn interval_for(
        &mut self,
        members: usize,
        senders: usize,
        we_sent: bool,
        initial: bool,
    ) -> Duration {
        let t = self.deterministic_interval(
            members,
            senders,
            we_sent,
            initial,
            self.config.reduced_minimum,
        );
        // RFC 3550 A.7: "t = t * (drand48() + 0.5); t = t / COMPENSATION;"
        let t = t * self.rng.random_range(0.5..1.5) / COMPENSATION;
        Duration::from_secs_f64(t)
    }

    fn deterministic_interval(
        &self,
        members: usize,
        senders: usize,
        we_sent: bool,
        initial: bool,
        reduced: bool,
    ) -> f64 {
        // RFC 3550 §6.2: the reduced minimum is "360 divided by the session bandwidth in
        // kilobits/second"; §6.3.2: the initial interval uses half the minimum.
        let mut min_time = if reduced {
            360.0 / (f64::from(self.config.session_bandwidth.max(1)) / 1000.0)
        } else {
            RTCP_MIN_TIME
        };
        if initial {
            min_time /= 2.0;
        }
        // RFC 3550 §6.2: RTCP gets 5 % of the session bandwidth; in octets per second.
        let mut rtcp_bw = f64::from(self.config.session_bandwidth) * 0.05 / 8.0;
        let mut n = members as f64;
        // RFC 3550 A.7: "if (senders <= members * RTCP_SENDER_BW_FRACTION)"
        if (senders as f64) <= n * 0.25 {
            if we_sent {
                rtcp_bw *= 0.25;
                n = senders as f64;
            } else {
                rtcp_bw *= 0.75;
                n -= senders as f64;
            }
        }
        let t = if rtcp_bw > 0.0 {
            self.avg_rtcp_size * n / rtcp_bw
        } else {
            min_time
        };
        t.max(min_time)
    }

    /// RFC 3550 §6.3.4: when members leave, pull the next report earlier.
    fn reverse_reconsideration(&mut self, now: Instant) {
        let members = self.members();
        if members < self.pmembers && self.bye.is_none() {
            let ratio = members as f64 / self.pmembers as f64;
            if self.tn > now {
                self.tn = now + (self.tn - now).mul_f64(ratio);
            }
            if now > self.tp {
                self.tp = now - (now - self.tp).mul_f64(ratio);
            }
            self.pmembers = members;
        }
    }

    fn check_timeouts(&mut self, now: Instant) {
        // RFC 3550 §6.3.5: the deterministic interval with the 5 s minimum, not reduced.
        let (m, s, w) = (self.members(), self.senders(), self.we_sent);
        let td = Duration::from_secs_f64(self.deterministic_interval(m, s, w, false, false));
        let timeout = td * TIMEOUT_MULTIPLIER;
        let report_interval = Duration::from_secs_f64(self.deterministic_interval(
            m,
            s,
            w,
            false,
            self.config.reduced_minimum,
        ));
        let before = self.sources.len();
        let mut i = 0;
        while i < self.sources.len() {
            let src = &mut self.sources[i];
            // "if any member who was a sender has not sent RTP since time tc - 2T", it is no
            // longer a sender.
            if src
                .last_rtp
                .is_some_and(|t| now.saturating_duration_since(t) > report_interval * 2)
            {
                src.sender = false;
            }
            if now.saturating_duration_since(src.last_heard) > timeout {
                let ssrc = src.stats.ssrc();
                self.sources.swap_remove(i);
                self.events.push_back(SessionEvent::Timeout { ssrc });
            } else {
                i += 1;
            }
        }
        if self.sources.len() < before {
            self.reverse_reconsideration(now);
        }
        // "we_sent" covers the last two report intervals.
        if !self.sent_since_report
            && self
                .last_sent
                .is_some_and(|(t, _)| now.saturating_duration_since(t) > report_interval * 2)
        {
            self.we_sent = false;
        }
    }

    /// The RTP timestamp that corresponds to `now` on our media clock.
    fn rtp_timestamp_at(&self, now: Instant) -> u32 {
        let rate = u128::from(self.config.clock_rate);
        match self.last_sent {
            Some((t, ts)) => {
                let ticks = now.saturating_duration_since(t).as_nanos() * rate / 1_000_000_000;
                ts.wrapping_add(ticks as u32)
            }
            None => {
                let ticks =
                    now.saturating_duration_since(self.start).as_nanos() * rate / 1_000_000_000;
                self.ts_offset.wrapping_add(ticks as u32)
            }
        }
    }

    /// Builds an SR or RR, SDES CNAME, the XR VoIP metrics if configured and the BYE if
    /// `bye`, and queues the compound; returns its length (0 if it could not be built).
    ///
    /// Allocation-free in steady state: the block lists are reused, the packets borrow them,
    /// and the compound is written into `rtcp_buf`, whose memory comes back once the caller
    /// has dropped the previous report's `Bytes`.
    fn send_report(&mut self, now: Instant, bye: Option<&str>) -> usize {
        let arrival = now.saturating_duration_since(self.start);
        self.report_blocks.clear();
        self.xr_blocks.clear();
        for i in 0..self.sources.len() {
            let s = &self.sources[i];
            if !(s.stats.is_valid() && s.rtp_since_report) || self.report_blocks.len() == 31 {
                continue;
            }
            if self.config.rtcp_xr {
                let input = self.emodel_input(s);
                let q = quality::estimate(&input);
                let rtt_ms = s.rtt.map_or(0.0, |r| r.as_secs_f64() * 1000.0);
                let metrics = q.voip_metrics(s.stats.ssrc(), &input, rtt_ms);
                self.xr_blocks.push(XrBlock::VoipMetrics(metrics));
            }
            let s = &mut self.sources[i];
            s.rtp_since_report = false;
            self.report_blocks.push(s.stats.report_block(arrival));
        }
        let (ntp, rtp_timestamp) = (self.wallclock(now), self.rtp_timestamp_at(now));
        if self.config.rtcp_xr {
            self.add_reference_time_blocks(now, ntp);
        }
        let ssrc = self.ssrc;
        let reports = List::Borrowed(&self.report_blocks);
        let report = if self.we_sent {
            build::RtcpPacket::SenderReport(SenderReport {
                ssrc,
                ntp,
                rtp_timestamp,
                packet_count: self.packet_count,
                octet_count: self.octet_count,
                reports,
                profile_extension: &[],
            })
        } else {
            build::RtcpPacket::ReceiverReport(ReceiverReport {
                ssrc,
                reports,
                profile_extension: &[],
            })
        };
        let cname = [SdesItem::Cname(self.config.cname.as_bytes())];
        let chunk = [SdesChunk {
            ssrc,
            items: List::Borrowed(&cname),
        }];
        let sdes = build::RtcpPacket::SourceDescription(SourceDescription {
            chunks: List::Borrowed(&chunk),
        });
        let xr = (!self.xr_blocks.is_empty()).then(|| {
            build::RtcpPacket::ExtendedReport(ExtendedReport {
                ssrc,
                blocks: List::Borrowed(&self.xr_blocks),
            })
        });
        let bye = bye.map(|reason| {
            build::RtcpPacket::Goodbye(Goodbye {
                sources: List::Borrowed(std::slice::from_ref(&self.ssrc)),
                reason: Some(reason.as_bytes()).filter(|r| !r.is_empty() && r.len() <= 255),
            })
        });
        let packets = [Some(report), Some(sdes), xr, bye];
        // Our own packets: counts below 31 blocks and items under 255 bytes (a CNAME longer
        // than that is cut by `SdesItem::check` failing, then nothing is sent).
        let len = write_compound_into(&mut self.rtcp_buf, packets.iter().flatten());
        // The DLRR list goes back to be reused by the next report.
        if let Some(XrBlock::Dlrr(List::Owned(items))) = self.xr_blocks.pop() {
            self.dlrr_items = items;
        }
        if len > 0 {
            self.transmit.push_back(self.rtcp_buf.split().freeze());
            self.sent_anything = true;
            // An SR carries `ntp`, and so does our RRTR (sent while we send no SR).
            if self.we_sent || self.config.rtcp_xr {
                if let Some(slot) = self.sent_ntp.get_mut(self.sent_ntp_next) {
                    *slot = ntp.middle32();
                }
                self.sent_ntp_next = (self.sent_ntp_next + 1) % SENT_NTP_KEPT;
            }
        }
        self.sent_since_report = false;
        len
    }

    /// The XR blocks of RFC 3611 §4.4 and §4.5 for a report sent at `now` (wallclock `ntp`):
    /// our Receiver Reference Time while we send no SR (a sender's SR carries its NTP time),
    /// then one DLRR sub-block per source whose RRTR we hold, its delay since that RRTR arrived
    /// in 1/65536 s. The DLRR block is the last one pushed, so `send_report` takes its list
    /// back after writing.
    fn add_reference_time_blocks(&mut self, now: Instant, ntp: NtpTime) {
        if !self.we_sent {
            self.xr_blocks.push(XrBlock::Rrtr { ntp });
        }
        let mut items = std::mem::take(&mut self.dlrr_items);
        items.clear();
        for s in &self.sources {
            if let Some((lrr, at)) = s.rrtr {
                let units = now.saturating_duration_since(at).as_nanos() * 65536 / 1_000_000_000;
                items.push(DlrrItem {
                    ssrc: s.stats.ssrc(),
                    lrr,
                    dlrr: u32::try_from(units).unwrap_or(u32::MAX),
                });
            }
        }
        if items.is_empty() {
            self.dlrr_items = items;
        } else {
            self.xr_blocks.push(XrBlock::Dlrr(List::Owned(items)));
        }
    }

    fn queue_bye_compound(&mut self, now: Instant, reason: Option<&str>) {
        self.send_report(now, Some(reason.unwrap_or("")));
    }

    fn send_bye(&mut self, now: Instant) {
        let reason = self.bye.as_ref().and_then(|b| b.reason.clone());
        self.queue_bye_compound(now, reason.as_deref());
        self.closed = true;
    }
}
