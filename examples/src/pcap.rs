//! Minimal pcap / pcapng reading and pcap writing for the tools (rtp-analyze, srtp-decrypt).
//!
//! Only what the tools need: capture files in classic pcap (micro- and nanosecond, either byte
//! order) or pcapng (several sections and interfaces, `if_tsresol`), link types Ethernet (with
//! VLAN tags), Linux cooked (SLL, SLL2), raw IP, IPv4, IPv6 and BSD loopback, then IPv4/IPv6 and
//! UDP or TCP ([`Capture::tcp_chunks`]), also inside mirrored traffic (VXLAN, GRE, ERSPAN
//! II/III). Any input is safe: a malformed file gives a [`PcapError`], a malformed or
//! uninteresting frame is skipped, nothing panics and nothing allocates more than the input's
//! size.
//!
//! IP fragments: [`Capture::udp_datagrams`] skips them (zero-copy, one frame per datagram);
//! [`Capture::reassembled_udp`] rebuilds the UDP datagrams that were fragmented (IPv4,
//! RFC 791 §3.2, and the IPv6 Fragment header, RFC 8200 §4.5). RTP fits in one frame, but a
//! SIP INVITE or 200 OK over UDP with a large SDP (ICE candidates, many codecs, SDES and
//! DTLS lines) is often fragmented, and the tools need its SDP to find the media streams.

use std::collections::HashMap;
use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

/// Why a capture file could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PcapError {
    /// The file starts with neither a pcap nor a pcapng magic number.
    #[error("not a pcap or pcapng file (magic {0:#010x})")]
    BadMagic(u32),
    /// The file ends inside a header or block.
    #[error("capture truncated at byte {at}")]
    Truncated {
        /// Offset of the header or block that is cut short.
        at: usize,
    },
    /// A pcapng block is malformed (length not a multiple of 4, too small, or trailer mismatch).
    #[error("malformed pcapng block at byte {at}")]
    BadBlock {
        /// Offset of the block.
        at: usize,
    },
}

/// One captured frame, as stored in the file.
#[derive(Clone, Debug)]
pub struct Frame<'a> {
    /// Capture time since the Unix epoch.
    pub ts: Duration,
    /// Link type of the interface it was captured on (LINKTYPE_* number).
    pub link_type: u32,
    /// The captured bytes (possibly shorter than the frame on the wire).
    pub data: &'a [u8],
}

/// One UDP datagram found in a capture.
#[derive(Clone, Debug)]
pub struct UdpDatagram<'a> {
    /// Index of the frame in the capture (0-based), for messages.
    pub frame: usize,
    /// Capture time since the Unix epoch.
    pub ts: Duration,
    /// Source address and port.
    pub src: SocketAddr,
    /// Destination address and port.
    pub dst: SocketAddr,
    /// The UDP payload.
    pub payload: &'a [u8],
}

/// The frames of a capture file, borrowed from its bytes.
#[derive(Clone, Debug, Default)]
pub struct Capture<'a> {
    /// Frames in file order.
    pub frames: Vec<Frame<'a>>,
    /// Frames that were not UDP over IP, or were fragments or malformed, when asked for UDP.
    pub skipped: usize,
}

impl<'a> Capture<'a> {
    /// Reads a pcap or pcapng file (detected from its magic number).
    ///
    /// # Errors
    /// [`PcapError`] when the file header is unknown or a header or block is cut short.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, PcapError> {
        let magic = read_u32(bytes, 0, false).ok_or(PcapError::Truncated { at: 0 })?;
        match magic {
            PCAPNG_SHB => parse_pcapng(bytes),
            PCAP_MAGIC_US | PCAP_MAGIC_NS | PCAP_MAGIC_US_SWAPPED | PCAP_MAGIC_NS_SWAPPED => {
                parse_pcap(bytes)
            }
            other => Err(PcapError::BadMagic(other)),
        }
    }

    /// The UDP datagrams of the capture, in file order. Frames that are not UDP over IPv4/IPv6
    /// (or are fragments, or malformed) are skipped and counted in the returned count.
    pub fn udp_datagrams(&self) -> (Vec<UdpDatagram<'a>>, usize) {
        let mut out = Vec::new();
        let mut skipped = 0;
        for (index, frame) in self.frames.iter().enumerate() {
            match decode_udp(frame.link_type, frame.data) {
                Some((src, dst, payload)) => out.push(UdpDatagram {
                    frame: index,
                    ts: frame.ts,
                    src,
                    dst,
                    payload,
                }),
                None => skipped += 1,
            }
        }
        (out, skipped)
    }
}

/// A UDP datagram rebuilt from IP fragments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReassembledUdp {
    /// Index of the frame that completed it (0-based).
    pub frame: usize,
    /// Capture time of that frame.
    pub ts: Duration,
    /// Source address and port.
    pub src: SocketAddr,
    /// Destination address and port.
    pub dst: SocketAddr,
    /// The UDP payload.
    pub payload: Vec<u8>,
}

/// Datagrams waiting for fragments at once; the oldest is dropped beyond this.
const MAX_PENDING: usize = 256;
/// Fragments one datagram may have (64 KiB in 1 KiB pieces).
const MAX_FRAGMENTS: usize = 64;

/// The fragments received so far of one datagram.
struct Pending<'a> {
    pieces: Vec<(usize, &'a [u8])>,
    /// The IP payload length, known once the last fragment (More Fragments clear) arrived.
    total: Option<usize>,
    /// Arrival order, to drop the oldest.
    born: usize,
}

impl Pending<'_> {
    /// The IP payload, when the pieces cover `0..total` exactly once; `Err` when they overlap
    /// or run past the end (RFC 5722: such a datagram is discarded).
    fn assemble(&mut self) -> Result<Option<Vec<u8>>, ()> {
        let Some(total) = self.total else {
            return Ok(None);
        };
        self.pieces.sort_unstable_by_key(|p| p.0);
        let mut at = 0;
        for &(offset, data) in &self.pieces {
            match offset.cmp(&at) {
                std::cmp::Ordering::Greater => return Ok(None), // a hole, for now
                std::cmp::Ordering::Less => return Err(()),
                std::cmp::Ordering::Equal => at += data.len(),
            }
        }
        match at.cmp(&total) {
            std::cmp::Ordering::Less => Ok(None),
            std::cmp::Ordering::Greater => Err(()),
            std::cmp::Ordering::Equal => Ok(Some(
                self.pieces
                    .iter()
                    .flat_map(|p| p.1.iter().copied())
                    .collect(),
            )),
        }
    }
}

impl Capture<'_> {
    /// The UDP datagrams that arrived in IP fragments, rebuilt, in the order they completed.
    /// Datagrams missing a fragment, with overlapping fragments, over 64 KiB or with more
    /// than 64 fragments are left out; at most 256 wait for fragments at once.
    pub fn reassembled_udp(&self) -> Vec<ReassembledUdp> {
        let mut pending: HashMap<(IpAddr, IpAddr, u32), Pending<'_>> = HashMap::new();
        let mut out = Vec::new();
        for (index, frame) in self.frames.iter().enumerate() {
            let Some(f) = udp_packet(frame.link_type, frame.data) else {
                continue;
            };
            let Some(piece) = f.fragment else {
                continue; // a whole datagram: Capture::udp_datagrams has it
            };
            let key = (f.src, f.dst, piece.id);
            if piece.offset + f.data.len() > usize::from(u16::MAX) {
                pending.remove(&key);
                continue;
            }
            if !pending.contains_key(&key) && pending.len() >= MAX_PENDING {
                let oldest = pending.iter().min_by_key(|(_, p)| p.born).map(|(k, _)| *k);
                if let Some(k) = oldest {
                    pending.remove(&k);
                }
            }
            let entry = pending.entry(key).or_insert_with(|| Pending {
                pieces: Vec::new(),
                total: None,
                born: index,
            });
            // The same fragment twice (a capture on both sides of a span port): keep one.
            if entry
                .pieces
                .iter()
                .any(|p| p.0 == piece.offset && p.1 == f.data)
            {
                continue;
            }
            if entry.pieces.len() >= MAX_FRAGMENTS || (!piece.more && entry.total.is_some()) {
                pending.remove(&key);
                continue;
            }
            entry.pieces.push((piece.offset, f.data));
            if !piece.more {
                entry.total = Some(piece.offset + f.data.len());
            }
            match entry.assemble() {
                Ok(None) => {}
                Ok(Some(udp)) => {
                    pending.remove(&key);
                    if let Some((src, dst, payload)) = decode_udp_header(f.src, f.dst, &udp) {
                        out.push(ReassembledUdp {
                            frame: index,
                            ts: frame.ts,
                            src,
                            dst,
                            payload: payload.to_vec(),
                        });
                    }
                }
                Err(()) => {
                    pending.remove(&key);
                }
            }
        }
        out
    }
}

/// Contiguous bytes of one direction of a TCP connection, rebuilt from its segments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TcpChunk {
    /// Index of the frame of its first segment (0-based).
    pub frame: usize,
    /// Capture time of that frame.
    pub ts: Duration,
    /// Source address and port.
    pub src: SocketAddr,
    /// Destination address and port.
    pub dst: SocketAddr,
    /// The payload bytes, in sequence order.
    pub data: Vec<u8>,
    /// Where each segment's bytes start in `data`, with its capture time, in `data` order
    /// (the first is `(0, ts)`); a retransmission that added nothing is not listed.
    pub segments: Vec<(usize, Duration)>,
}

impl TcpChunk {
    /// Capture time of the segment that carried the byte at `offset` of `data` (a SIP message
    /// is dated by its last byte's segment, not by the chunk's first one).
    pub fn ts_at(&self, offset: usize) -> Duration {
        let i = self.segments.partition_point(|&(start, _)| start <= offset);
        self.segments
            .get(i.wrapping_sub(1))
            .map_or(self.ts, |&(_, ts)| ts)
    }
}

/// One TCP segment with payload, placed in its flow.
struct Segment<'a> {
    frame: usize,
    ts: Duration,
    seq: u32,
    data: &'a [u8],
}

/// TCP directions followed at once; segments of further ones are left out.
const MAX_TCP_FLOWS: usize = 1024;

impl Capture<'_> {
    /// The payload of every TCP direction in the capture (SIP over TCP, for the tools), in
    /// sequence order: reordered segments are put in place and retransmitted bytes taken once;
    /// where the capture missed a segment, the chunk ends and the next starts after the hole.
    /// Segments in IP fragments are left out; at most 1024 directions are followed.
    pub fn tcp_chunks(&self) -> Vec<TcpChunk> {
        let mut flows: HashMap<(SocketAddr, SocketAddr), Vec<Segment<'_>>> = HashMap::new();
        let mut order: Vec<(SocketAddr, SocketAddr)> = Vec::new();
        for (index, frame) in self.frames.iter().enumerate() {
            let Some(p) = ip_packet(frame.link_type, frame.data) else {
                continue;
            };
            if p.proto != IPPROTO_TCP || p.fragment.is_some() {
                continue;
            }
            let Some((sport, dport, seq, data)) = tcp_segment(p.data) else {
                continue;
            };
            if data.is_empty() {
                continue;
            }
            let key = (SocketAddr::new(p.src, sport), SocketAddr::new(p.dst, dport));
            if !flows.contains_key(&key) {
                if flows.len() >= MAX_TCP_FLOWS {
                    continue;
                }
                order.push(key);
            }
            flows.entry(key).or_default().push(Segment {
                frame: index,
                ts: frame.ts,
                seq,
                data,
            });
        }
        let mut out = Vec::new();
        for key in order {
            let Some(mut segments) = flows.remove(&key) else {
                continue;
            };
            // Sequence numbers relative to the lowest one seen (modulo 2^32 around the first).
            let first = segments[0].seq;
            let low = segments
                .iter()
                .map(|s| s.seq.wrapping_sub(first) as i32)
                .min()
                .unwrap_or(0);
            let base = first.wrapping_add(low as u32);
            let offset = |s: &Segment<'_>| u64::from(s.seq.wrapping_sub(base));
            segments.sort_by_key(offset);
            let mut chunk: Option<(TcpChunk, u64)> = None;
            for seg in &segments {
                let start = offset(seg);
                let end = start + seg.data.len() as u64;
                match &mut chunk {
                    Some((c, at)) if start <= *at => {
                        // Overlap with what is already there: only the new tail.
                        if end > *at {
                            let skip = usize::try_from(*at - start).unwrap_or(usize::MAX);
                            c.segments.push((c.data.len(), seg.ts));
                            c.data
                                .extend_from_slice(seg.data.get(skip..).unwrap_or_default());
                            *at = end;
                        }
                    }
                    _ => {
                        if let Some((c, _)) = chunk.take() {
                            out.push(c);
                        }
                        chunk = Some((
                            TcpChunk {
                                frame: seg.frame,
                                ts: seg.ts,
                                src: key.0,
                                dst: key.1,
                                data: seg.data.to_vec(),
                                segments: vec![(0, seg.ts)],
                            },
                            end,
                        ));
                    }
                }
            }
            if let Some((c, _)) = chunk {
                out.push(c);
            }
        }
        out
    }
}

/// Ports, sequence number and payload of a TCP segment (RFC 9293 §3.1).
fn tcp_segment(tcp: &[u8]) -> Option<(u16, u16, u32, &[u8])> {
    let sport = read_u16(tcp, 0)?;
    let dport = read_u16(tcp, 2)?;
    let seq = u32::from_be_bytes(tcp.get(4..8)?.try_into().ok()?);
    let header_len = usize::from(*tcp.get(12)? >> 4) * 4;
    if header_len < 20 {
        return None;
    }
    Some((sport, dport, seq, tcp.get(header_len..)?))
}

/// Writes a classic pcap file (microsecond timestamps, little endian, LINKTYPE_ETHERNET) of UDP
/// datagrams, each wrapped in Ethernet + IPv4/IPv6 + UDP headers with valid checksums, so that
/// Wireshark and tshark read it as they would a real capture.
pub struct PcapWriter<W: Write> {
    out: W,
    frame: Vec<u8>,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the pcap file header.
    ///
    /// # Errors
    /// Any I/O error of `out`.
    pub fn new(mut out: W) -> io::Result<Self> {
        let mut header = [0u8; 24];
        header[0..4].copy_from_slice(&PCAP_MAGIC_US.to_le_bytes());
        header[4..6].copy_from_slice(&2u16.to_le_bytes());
        header[6..8].copy_from_slice(&4u16.to_le_bytes());
        // thiszone and sigfigs stay 0.
        header[16..20].copy_from_slice(&SNAPLEN.to_le_bytes());
        header[20..24].copy_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
        out.write_all(&header)?;
        Ok(Self {
            out,
            frame: Vec::with_capacity(1600),
        })
    }

    /// Appends one UDP datagram from `src` to `dst` captured at `ts` (since the Unix epoch).
    /// Both addresses must be of the same family; mixed families are written as IPv6 with the
    /// IPv4 address mapped (`::ffff:a.b.c.d`).
    ///
    /// # Errors
    /// Any I/O error of the underlying writer, or `InvalidInput` for a payload too large for
    /// one UDP datagram.
    pub fn write_udp(
        &mut self,
        ts: Duration,
        src: SocketAddr,
        dst: SocketAddr,
        payload: &[u8],
    ) -> io::Result<()> {
        encode_udp_frame(&mut self.frame, src, dst, payload)?;
        write_record(&mut self.out, ts, &self.frame)
    }

    /// Appends one TCP segment carrying `payload` at sequence number `seq` (no handshake is
    /// written: the tools read the payload of each direction).
    ///
    /// # Errors
    /// Any I/O error of the underlying writer; `InvalidInput` for a payload too large for one
    /// IP packet.
    pub fn write_tcp(
        &mut self,
        ts: Duration,
        (src, dst): (SocketAddr, SocketAddr),
        seq: u32,
        payload: &[u8],
    ) -> io::Result<()> {
        encode_tcp_frame(&mut self.frame, src, dst, seq, payload)?;
        write_record(&mut self.out, ts, &self.frame)
    }

    /// Appends one UDP datagram as a network with link MTU `mtu` carries it: in IP fragments
    /// of at most `mtu` bytes of IP packet each, identified by `id` (IPv4, RFC 791: its low
    /// 16 bits, the field's size; IPv6: a Fragment header, RFC 8200 §4.5), all captured at
    /// `ts`. A datagram that fits is written whole.
    ///
    /// # Errors
    /// Any I/O error of the underlying writer; `InvalidInput` for a payload too large for one
    /// UDP datagram or an `mtu` under 68 (IPv4) or 1280 (IPv6).
    pub fn write_udp_fragmented(
        &mut self,
        ts: Duration,
        (src, dst): (SocketAddr, SocketAddr),
        payload: &[u8],
        mtu: usize,
        id: u32,
    ) -> io::Result<()> {
        encode_udp_frame(&mut self.frame, src, dst, payload)?;
        let whole = &self.frame;
        let v4 = whole[12..14] == ETHERTYPE_IPV4.to_be_bytes();
        let (ip_header, min_mtu) = if v4 { (20, 68) } else { (40, 1280) };
        if mtu < min_mtu {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "MTU too small"));
        }
        let header = &whole[..14 + ip_header];
        let data = &whole[14 + ip_header..];
        // Fragment data comes in multiples of 8 bytes, except the last.
        let room = if v4 {
            mtu - ip_header
        } else {
            mtu - ip_header - 8
        } / 8
            * 8;
        if data.len() + ip_header <= mtu {
            return write_record(&mut self.out, ts, whole);
        }
        let mut frame = Vec::with_capacity(mtu + 14);
        for (n, piece) in data.chunks(room).enumerate() {
            let offset = n * room;
            let more = offset + piece.len() < data.len();
            frame.clear();
            frame.extend_from_slice(header);
            if v4 {
                let total = u16::try_from(ip_header + piece.len()).unwrap_or(u16::MAX);
                frame[16..18].copy_from_slice(&total.to_be_bytes());
                frame[18..20].copy_from_slice(&(id as u16).to_be_bytes());
                let flags = u16::try_from(offset / 8).unwrap_or(0) | if more { 0x2000 } else { 0 };
                frame[20..22].copy_from_slice(&flags.to_be_bytes());
                frame[24..26].copy_from_slice(&[0, 0]);
                let csum = checksum_finish(checksum_add(0, &frame[14..34]));
                frame[24..26].copy_from_slice(&csum.to_be_bytes());
            } else {
                let len = u16::try_from(8 + piece.len()).unwrap_or(u16::MAX);
                frame[18..20].copy_from_slice(&len.to_be_bytes());
                frame[20] = IPV6_FRAGMENT;
                let off_m = u16::try_from(offset / 8).unwrap_or(0) << 3 | u16::from(more);
                frame.extend_from_slice(&[IPPROTO_UDP, 0]);
                frame.extend_from_slice(&off_m.to_be_bytes());
                frame.extend_from_slice(&id.to_be_bytes());
            }
            frame.extend_from_slice(piece);
            write_record(&mut self.out, ts, &frame)?;
        }
        Ok(())
    }

    /// Flushes and returns the writer.
    ///
    /// # Errors
    /// Any I/O error of the flush.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Writes the pcap record of `frame`, captured at `ts`, to `out`.
fn write_record(out: &mut impl Write, ts: Duration, frame: &[u8]) -> io::Result<()> {
    let len = u32::try_from(frame.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame too large"))?;
    let secs = u32::try_from(ts.as_secs()).unwrap_or(u32::MAX);
    let mut record = [0u8; 16];
    record[0..4].copy_from_slice(&secs.to_le_bytes());
    record[4..8].copy_from_slice(&ts.subsec_micros().to_le_bytes());
    record[8..12].copy_from_slice(&len.to_le_bytes());
    record[12..16].copy_from_slice(&len.to_le_bytes());
    out.write_all(&record)?;
    out.write_all(frame)
}

/// Builds an Ethernet frame holding `payload` in UDP over IPv4 (both addresses IPv4) or IPv6,
/// with correct lengths and checksums, into `frame` (cleared first).
///
/// # Errors
/// `InvalidInput` when the payload does not fit in one UDP datagram.
pub fn encode_udp_frame(
    frame: &mut Vec<u8>,
    src: SocketAddr,
    dst: SocketAddr,
    payload: &[u8],
) -> io::Result<()> {
    let too_big = || io::Error::new(io::ErrorKind::InvalidInput, "payload too large for UDP");
    let udp_len = u16::try_from(payload.len() + 8).map_err(|_| too_big())?;
    let mut header = [0u8; 8];
    header[0..2].copy_from_slice(&src.port().to_be_bytes());
    header[2..4].copy_from_slice(&dst.port().to_be_bytes());
    header[4..6].copy_from_slice(&udp_len.to_be_bytes());
    encode_ip_frame(frame, (src.ip(), dst.ip()), IPPROTO_UDP, &header, payload).ok_or_else(too_big)
}

/// Builds an Ethernet frame holding `payload` in one TCP segment (ACK and PSH set, sequence
/// number `seq`) over IPv4 or IPv6, with correct lengths and checksums, into `frame`.
///
/// # Errors
/// `InvalidInput` when the payload does not fit in one IP packet.
pub fn encode_tcp_frame(
    frame: &mut Vec<u8>,
    src: SocketAddr,
    dst: SocketAddr,
    seq: u32,
    payload: &[u8],
) -> io::Result<()> {
    let mut header = [0u8; 20];
    header[0..2].copy_from_slice(&src.port().to_be_bytes());
    header[2..4].copy_from_slice(&dst.port().to_be_bytes());
    header[4..8].copy_from_slice(&seq.to_be_bytes());
    header[12] = 5 << 4; // data offset: 5 words, no options
    header[13] = 0x18; // PSH, ACK
    header[14..16].copy_from_slice(&65535u16.to_be_bytes());
    encode_ip_frame(frame, (src.ip(), dst.ip()), IPPROTO_TCP, &header, payload).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "payload too large for one segment",
        )
    })
}

/// Ethernet + IPv4 (both addresses IPv4) or IPv6 + the transport `header` (its checksum field
/// filled in here: UDP at byte 6, TCP at 16) + `payload`; `None` when it exceeds 65535 bytes.
fn encode_ip_frame(
    frame: &mut Vec<u8>,
    (src, dst): (IpAddr, IpAddr),
    proto: u8,
    header: &[u8],
    payload: &[u8],
) -> Option<()> {
    let l4_len = u16::try_from(header.len() + payload.len()).ok()?;
    frame.clear();
    // Ethernet: locally administered MACs, so the frame is plainly synthetic.
    frame.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01]);
    let mut sum = 0u32;
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let total = l4_len.checked_add(20)?;
            frame.extend_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
            let start = frame.len();
            frame.extend_from_slice(&[0x45, 0]);
            frame.extend_from_slice(&total.to_be_bytes());
            frame.extend_from_slice(&[0, 0, 0x40, 0, 64, proto, 0, 0]);
            frame.extend_from_slice(&s.octets());
            frame.extend_from_slice(&d.octets());
            let csum = checksum_finish(checksum_add(0, &frame[start..start + 20]));
            frame[start + 10..start + 12].copy_from_slice(&csum.to_be_bytes());
            sum = checksum_add(sum, &s.octets());
            sum = checksum_add(sum, &d.octets());
        }
        (s, d) => {
            let s = to_v6(s);
            let d = to_v6(d);
            frame.extend_from_slice(&ETHERTYPE_IPV6.to_be_bytes());
            frame.extend_from_slice(&[0x60, 0, 0, 0]);
            frame.extend_from_slice(&l4_len.to_be_bytes());
            frame.extend_from_slice(&[proto, 64]);
            frame.extend_from_slice(&s.octets());
            frame.extend_from_slice(&d.octets());
            sum = checksum_add(sum, &s.octets());
            sum = checksum_add(sum, &d.octets());
        }
    }
    let l4_start = frame.len();
    frame.extend_from_slice(header);
    frame.extend_from_slice(payload);
    // Checksum over the pseudo-header (RFC 768, RFC 9293 §3.1, RFC 8200 §8.1).
    sum = checksum_add(sum, &[0, proto]);
    sum = checksum_add(sum, &l4_len.to_be_bytes());
    sum = checksum_add(sum, &frame[l4_start..]);
    let mut csum = checksum_finish(sum);
    let at = if proto == IPPROTO_UDP {
        // RFC 768: a computed 0 is sent as all ones (0 means "no checksum").
        if csum == 0 {
            csum = 0xFFFF;
        }
        6
    } else {
        16
    };
    frame[l4_start + at..l4_start + at + 2].copy_from_slice(&csum.to_be_bytes());
    Some(())
}

/// Decodes one frame of the given link type down to its UDP payload. `None` for anything that
/// is not a complete, unfragmented UDP datagram over IPv4 or IPv6.
pub fn decode_udp(link_type: u32, data: &[u8]) -> Option<(SocketAddr, SocketAddr, &[u8])> {
    let packet = udp_packet(link_type, data)?;
    if packet.fragment.is_some() {
        return None;
    }
    decode_udp_header(packet.src, packet.dst, packet.data)
}

/// The IP packet a frame of `link_type` carries, with its ethertype.
fn ip_of(link_type: u32, data: &[u8]) -> Option<(u16, &[u8])> {
    let (ethertype, ip) = match link_type {
        LINKTYPE_ETHERNET => untag(read_u16(data, 12)?, data, 14)?,
        LINKTYPE_NULL | LINKTYPE_LOOP => {
            let family = data.get(0..4)?;
            let family = if link_type == LINKTYPE_LOOP {
                u32::from_be_bytes(family.try_into().ok()?)
            } else {
                // Host byte order of the capturing machine: accept either.
                let le = u32::from_le_bytes(family.try_into().ok()?);
                if le <= 0xFF { le } else { le.swap_bytes() }
            };
            let ethertype = match family {
                2 => ETHERTYPE_IPV4,
                24 | 28 | 30 => ETHERTYPE_IPV6,
                _ => return None,
            };
            (ethertype, data.get(4..)?)
        }
        LINKTYPE_RAW | LINKTYPE_RAW_OPENBSD | LINKTYPE_IPV4 | LINKTYPE_IPV6 => {
            let version = data.first()? >> 4;
            let ethertype = match version {
                4 => ETHERTYPE_IPV4,
                6 => ETHERTYPE_IPV6,
                _ => return None,
            };
            (ethertype, data)
        }
        // A cooked capture (`tcpdump -i any`) of a VLAN interface's parent keeps the tag
        // when the NIC does not strip it: the protocol is then 0x8100 and the tag follows.
        LINKTYPE_LINUX_SLL => untag(read_u16(data, 14)?, data, 16)?,
        LINKTYPE_LINUX_SLL2 => untag(read_u16(data, 0)?, data, 20)?,
        _ => return None,
    };
    Some((ethertype, ip))
}

/// Skips the VLAN tags (802.1Q, 802.1ad, and the older 0x9100 QinQ, possibly stacked) that
/// start at `offset` when `ethertype` announces one; returns the inner ethertype and packet.
fn untag(mut ethertype: u16, data: &[u8], mut offset: usize) -> Option<(u16, &[u8])> {
    while matches!(ethertype, 0x8100 | 0x88A8 | 0x9100) {
        ethertype = read_u16(data, offset + 2)?;
        offset += 4;
    }
    Some((ethertype, data.get(offset..)?))
}

/// An IP packet carrying UDP, TCP or GRE: a whole datagram or segment, or one IP fragment
/// (only UDP datagrams are reassembled from theirs).
struct IpPacket<'a> {
    src: IpAddr,
    dst: IpAddr,
    /// `IPPROTO_UDP`, `IPPROTO_TCP` or `IPPROTO_GRE`.
    proto: u8,
    /// Which piece of its datagram the packet carries; `None` for a whole datagram.
    fragment: Option<FragmentOf>,
    /// The transport's header and payload (UDP, TCP or GRE), or this fragment's piece of it.
    data: &'a [u8],
}

/// Where an IP fragment goes in its datagram.
#[derive(Clone, Copy)]
struct FragmentOf {
    /// The identification shared by the fragments of one datagram (with the addresses).
    id: u32,
    /// Byte offset of the piece in the datagram.
    offset: usize,
    /// More fragments follow (clear on the last).
    more: bool,
}

/// The UDP that the IPv4 or IPv6 packet in a frame of `link_type` carries, whole or as a
/// fragment.
fn udp_packet(link_type: u32, data: &[u8]) -> Option<IpPacket<'_>> {
    ip_packet(link_type, data).filter(|p| p.proto == IPPROTO_UDP)
}

/// The UDP, TCP or GRE (a tunnel it cannot open) that the IPv4 or IPv6 packet in a frame of
/// `link_type` carries. Mirrored traffic is unwrapped first: VXLAN (RFC 7348, UDP port 4789:
/// AWS/Azure/GCP traffic mirroring), GRE with transparent Ethernet bridging or IP, and Cisco
/// ERSPAN type II/III (a remote SPAN); at most two layers deep.
fn ip_packet(link_type: u32, data: &[u8]) -> Option<IpPacket<'_>> {
    let mut packet = ip_packet_once(link_type, data)?;
    for _ in 0..2 {
        let Some((inner_link, inner)) = tunnelled(&packet) else {
            break;
        };
        packet = ip_packet_once(inner_link, inner)?;
    }
    Some(packet)
}

fn ip_packet_once(link_type: u32, data: &[u8]) -> Option<IpPacket<'_>> {
    let (ethertype, ip) = ip_of(link_type, data)?;
    match ethertype {
        ETHERTYPE_IPV4 => ipv4_packet(ip),
        ETHERTYPE_IPV6 => ipv6_packet(ip),
        _ => None,
    }
}

/// The link type and frame that a tunnel packet carries, if `p` is one (whole, not a fragment).
fn tunnelled<'a>(p: &IpPacket<'a>) -> Option<(u32, &'a [u8])> {
    if p.fragment.is_some() {
        return None;
    }
    let d = p.data;
    match p.proto {
        // VXLAN: UDP header, then flags (I set: the VNI is valid), reserved, VNI, reserved.
        IPPROTO_UDP if read_u16(d, 2)? == VXLAN_PORT && d.get(8)? & 0x08 != 0 => {
            Some((LINKTYPE_ETHERNET, d.get(16..)?))
        }
        IPPROTO_GRE => {
            // RFC 2784/2890: C, K and S flags each add a word; version 0 only.
            let flags = read_u16(d, 0)?;
            if flags & 0x0007 != 0 {
                return None;
            }
            let len = 4
                + 4 * usize::from(flags & 0x8000 != 0)
                + 4 * usize::from(flags & 0x2000 != 0)
                + 4 * usize::from(flags & 0x1000 != 0);
            match read_u16(d, 2)? {
                0x6558 => Some((LINKTYPE_ETHERNET, d.get(len..)?)),
                ETHERTYPE_IPV4 | ETHERTYPE_IPV6 => Some((LINKTYPE_RAW, d.get(len..)?)),
                // ERSPAN type II: an 8-byte header before the mirrored frame.
                0x88BE => Some((LINKTYPE_ETHERNET, d.get(len + 8..)?)),
                // ERSPAN type III: 12 bytes, and 8 more with the O flag (platform subheader).
                0x22EB => {
                    let o = d.get(len + 11)? & 0x01 != 0;
                    Some((LINKTYPE_ETHERNET, d.get(len + 12 + 8 * usize::from(o)..)?))
                }
                _ => None,
            }
        }
        _ => None,
    }
}

fn ipv4_packet(ip: &[u8]) -> Option<IpPacket<'_>> {
    let first = *ip.first()?;
    if first >> 4 != 4 {
        return None;
    }
    let header_len = usize::from(first & 0x0F) * 4;
    let total_len = usize::from(read_u16(ip, 2)?);
    let id = read_u16(ip, 4)?;
    let flags_fragment = read_u16(ip, 6)?;
    let proto = *ip.get(9)?;
    if !matches!(proto, IPPROTO_UDP | IPPROTO_TCP | IPPROTO_GRE) || header_len < 20 {
        return None;
    }
    let src = Ipv4Addr::from(<[u8; 4]>::try_from(ip.get(12..16)?).ok()?);
    let dst = Ipv4Addr::from(<[u8; 4]>::try_from(ip.get(16..20)?).ok()?);
    // Ethernet pads short frames: the IP total length bounds the datagram. A total length of
    // 0 is what a capture shows for a packet the NIC segments (TSO/GSO offload, captured
    // before the NIC fills it in): the captured bytes are the packet, as Wireshark reads it.
    let end = if total_len == 0 {
        ip.len()
    } else {
        total_len.min(ip.len())
    };
    // More-fragments set or a non-zero offset: a fragment (RFC 791 §3.2).
    let fragment = (flags_fragment & 0x3FFF != 0).then(|| FragmentOf {
        id: u32::from(id),
        offset: usize::from(flags_fragment & 0x1FFF) * 8,
        more: flags_fragment & 0x2000 != 0,
    });
    Some(IpPacket {
        src: IpAddr::V4(src),
        dst: IpAddr::V4(dst),
        proto,
        fragment,
        data: ip.get(header_len..end)?,
    })
}

fn ipv6_packet(ip: &[u8]) -> Option<IpPacket<'_>> {
    if ip.first()? >> 4 != 6 {
        return None;
    }
    let payload_len = usize::from(read_u16(ip, 4)?);
    let mut next = *ip.get(6)?;
    let src = IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(ip.get(8..24)?).ok()?));
    let dst = IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(ip.get(24..40)?).ok()?));
    let end = (40 + payload_len).min(ip.len());
    let mut offset = 40;
    // Extension headers (RFC 8200 §4); at most a handful are legitimate.
    for _ in 0..8 {
        match next {
            IPPROTO_UDP | IPPROTO_TCP | IPPROTO_GRE => {
                return Some(IpPacket {
                    src,
                    dst,
                    proto: next,
                    fragment: None,
                    data: ip.get(offset..end)?,
                });
            }
            IPV6_FRAGMENT => {
                // Fragment header (RFC 8200 §4.5): next header, reserved, offset and M flag,
                // identification; only a fragment of UDP is of use here (a TCP segment in
                // fragments is left out, see `Capture::tcp_chunks`).
                if *ip.get(offset)? != IPPROTO_UDP {
                    return None;
                }
                let off_m = read_u16(ip, offset + 2)?;
                let id = u32::from_be_bytes(ip.get(offset + 4..offset + 8)?.try_into().ok()?);
                return Some(IpPacket {
                    src,
                    dst,
                    proto: IPPROTO_UDP,
                    fragment: Some(FragmentOf {
                        id,
                        offset: usize::from(off_m >> 3) * 8,
                        more: off_m & 1 != 0,
                    }),
                    data: ip.get(offset + 8..end)?,
                });
            }
            0 | 43 | 60 => {
                next = *ip.get(offset)?;
                offset += (usize::from(*ip.get(offset + 1)?) + 1) * 8;
            }
            _ => return None,
        }
    }
    None
}

fn decode_udp_header(
    src: IpAddr,
    dst: IpAddr,
    udp: &[u8],
) -> Option<(SocketAddr, SocketAddr, &[u8])> {
    let sport = read_u16(udp, 0)?;
    let dport = read_u16(udp, 2)?;
    let len = usize::from(read_u16(udp, 4)?);
    if len < 8 {
        return None;
    }
    let payload = udp.get(8..len.min(udp.len()))?;
    Some((
        SocketAddr::new(src, sport),
        SocketAddr::new(dst, dport),
        payload,
    ))
}

fn parse_pcap(bytes: &[u8]) -> Result<Capture<'_>, PcapError> {
    let magic_le = read_u32(bytes, 0, false).ok_or(PcapError::Truncated { at: 0 })?;
    let swapped = matches!(magic_le, PCAP_MAGIC_US_SWAPPED | PCAP_MAGIC_NS_SWAPPED);
    let nanos = matches!(magic_le, PCAP_MAGIC_NS | PCAP_MAGIC_NS_SWAPPED);
    let link_type =
        read_u32(bytes, 20, swapped).ok_or(PcapError::Truncated { at: 0 })? & 0x0FFF_FFFF;
    let mut frames = Vec::new();
    let mut at = 24;
    while at < bytes.len() {
        let truncated = PcapError::Truncated { at };
        let secs = read_u32(bytes, at, swapped).ok_or(truncated)?;
        let frac = read_u32(bytes, at + 4, swapped).ok_or(PcapError::Truncated { at })?;
        let incl = read_u32(bytes, at + 8, swapped).ok_or(PcapError::Truncated { at })? as usize;
        let start = at + 16;
        let data = start
            .checked_add(incl)
            .and_then(|end| bytes.get(start..end))
            .ok_or(PcapError::Truncated { at })?;
        let sub = if nanos {
            Duration::from_nanos(u64::from(frac))
        } else {
            Duration::from_micros(u64::from(frac))
        };
        frames.push(Frame {
            ts: Duration::from_secs(u64::from(secs)) + sub,
            link_type,
            data,
        });
        at = start + incl;
    }
    Ok(Capture { frames, skipped: 0 })
}

#[derive(Clone, Copy)]
struct Interface {
    link_type: u32,
    /// Timestamp units per second.
    units_per_sec: u64,
}

fn parse_pcapng(bytes: &[u8]) -> Result<Capture<'_>, PcapError> {
    let mut frames = Vec::new();
    let mut interfaces: Vec<Interface> = Vec::new();
    let mut swapped = false;
    let mut at = 0;
    while at < bytes.len() {
        let block_type_raw = read_u32(bytes, at, false).ok_or(PcapError::Truncated { at })?;
        if block_type_raw == PCAPNG_SHB {
            // The byte-order magic decides the endianness of this whole section.
            let bom = read_u32(bytes, at + 8, false).ok_or(PcapError::Truncated { at })?;
            swapped = match bom {
                0x1A2B_3C4D => false,
                0x4D3C_2B1A => true,
                _ => return Err(PcapError::BadBlock { at }),
            };
            interfaces.clear();
        }
        let len = read_u32(bytes, at + 4, swapped).ok_or(PcapError::Truncated { at })? as usize;
        if len < 12 || !len.is_multiple_of(4) {
            return Err(PcapError::BadBlock { at });
        }
        let block = at
            .checked_add(len)
            .and_then(|end| bytes.get(at..end))
            .ok_or(PcapError::Truncated { at })?;
        let body = block.get(8..len - 4).ok_or(PcapError::BadBlock { at })?;
        let block_type = if swapped {
            block_type_raw.swap_bytes()
        } else {
            block_type_raw
        };
        match block_type {
            PCAPNG_IDB => {
                let link_type =
                    u32::from(read_u16_endian(body, 0, swapped).ok_or(PcapError::BadBlock { at })?);
                let mut units_per_sec = 1_000_000;
                // Options start after linktype(2), reserved(2), snaplen(4).
                let mut opt = 8;
                while let (Some(code), Some(olen)) = (
                    read_u16_endian(body, opt, swapped),
                    read_u16_endian(body, opt + 2, swapped),
                ) {
                    if code == 0 {
                        break;
                    }
                    let olen = usize::from(olen);
                    if code == 9 && olen >= 1 {
                        let resol = *body.get(opt + 4).ok_or(PcapError::BadBlock { at })?;
                        let exp = u32::from(resol & 0x7F);
                        let base: u64 = if resol & 0x80 != 0 { 2 } else { 10 };
                        units_per_sec = base.checked_pow(exp).unwrap_or(u64::MAX).max(1);
                    }
                    opt += 4 + olen.div_ceil(4) * 4;
                }
                interfaces.push(Interface {
                    link_type,
                    units_per_sec,
                });
            }
            PCAPNG_EPB | PCAPNG_PB => {
                let iface = if block_type == PCAPNG_EPB {
                    read_u32(body, 0, swapped).ok_or(PcapError::BadBlock { at })? as usize
                } else {
                    usize::from(
                        read_u16_endian(body, 0, swapped).ok_or(PcapError::BadBlock { at })?,
                    )
                };
                let high = read_u32(body, 4, swapped).ok_or(PcapError::BadBlock { at })?;
                let low = read_u32(body, 8, swapped).ok_or(PcapError::BadBlock { at })?;
                let caplen =
                    read_u32(body, 12, swapped).ok_or(PcapError::BadBlock { at })? as usize;
                let data = body
                    .get(20..20usize.saturating_add(caplen))
                    .ok_or(PcapError::BadBlock { at })?;
                if let Some(iface) = interfaces.get(iface) {
                    let ticks = (u64::from(high) << 32) | u64::from(low);
                    frames.push(Frame {
                        ts: ticks_to_duration(ticks, iface.units_per_sec),
                        link_type: iface.link_type,
                        data,
                    });
                }
            }
            PCAPNG_SPB => {
                let orig = read_u32(body, 0, swapped).ok_or(PcapError::BadBlock { at })? as usize;
                let data = body.get(4..).ok_or(PcapError::BadBlock { at })?;
                let data = &data[..orig.min(data.len())];
                if let Some(iface) = interfaces.first() {
                    frames.push(Frame {
                        ts: Duration::ZERO,
                        link_type: iface.link_type,
                        data,
                    });
                }
            }
            _ => {} // statistics, name resolution, custom blocks: not needed
        }
        at += len;
    }
    Ok(Capture { frames, skipped: 0 })
}

fn ticks_to_duration(ticks: u64, units_per_sec: u64) -> Duration {
    let secs = ticks / units_per_sec;
    let rem = ticks % units_per_sec;
    let nanos = (u128::from(rem) * 1_000_000_000 / u128::from(units_per_sec)) as u32;
    Duration::new(secs, nanos)
}

fn to_v6(ip: IpAddr) -> Ipv6Addr {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    }
}

fn checksum_add(mut sum: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for pair in &mut chunks {
        sum += u32::from(u16::from_be_bytes([pair[0], pair[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    sum
}

fn checksum_finish(mut sum: u32) -> u16 {
    while sum > 0xFFFF {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    !(sum as u16)
}

fn read_u16(data: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(data.get(at..at + 2)?.try_into().ok()?))
}

fn read_u16_endian(data: &[u8], at: usize, swapped: bool) -> Option<u16> {
    let v = u16::from_le_bytes(data.get(at..at + 2)?.try_into().ok()?);
    Some(if swapped { v.swap_bytes() } else { v })
}

/// Reads a u32 in the file's byte order: little endian unless `swapped`.
fn read_u32(data: &[u8], at: usize, swapped: bool) -> Option<u32> {
    let v = u32::from_le_bytes(data.get(at..at.checked_add(4)?)?.try_into().ok()?);
    Some(if swapped { v.swap_bytes() } else { v })
}

const PCAP_MAGIC_US: u32 = 0xA1B2_C3D4;
const PCAP_MAGIC_NS: u32 = 0xA1B2_3C4D;
const PCAP_MAGIC_US_SWAPPED: u32 = 0xD4C3_B2A1;
const PCAP_MAGIC_NS_SWAPPED: u32 = 0x4D3C_B2A1;
const PCAPNG_SHB: u32 = 0x0A0D_0D0A;
const PCAPNG_IDB: u32 = 1;
const PCAPNG_PB: u32 = 2;
const PCAPNG_SPB: u32 = 3;
const PCAPNG_EPB: u32 = 6;
const SNAPLEN: u32 = 65535;

/// LINKTYPE_NULL: BSD loopback, 4-byte address family in host byte order.
pub const LINKTYPE_NULL: u32 = 0;
/// LINKTYPE_ETHERNET.
pub const LINKTYPE_ETHERNET: u32 = 1;
/// LINKTYPE_RAW: raw IPv4 or IPv6.
pub const LINKTYPE_RAW: u32 = 101;
const LINKTYPE_RAW_OPENBSD: u32 = 14;
/// LINKTYPE_LOOP: OpenBSD loopback, family in network byte order.
pub const LINKTYPE_LOOP: u32 = 108;
/// LINKTYPE_LINUX_SLL: Linux cooked capture v1 (`tshark -i any`).
pub const LINKTYPE_LINUX_SLL: u32 = 113;
/// LINKTYPE_IPV4.
pub const LINKTYPE_IPV4: u32 = 228;
/// LINKTYPE_IPV6.
pub const LINKTYPE_IPV6: u32 = 229;
/// LINKTYPE_LINUX_SLL2: Linux cooked capture v2.
pub const LINKTYPE_LINUX_SLL2: u32 = 276;
const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86DD;
const IPPROTO_UDP: u8 = 17;
const IPPROTO_TCP: u8 = 6;
const IPPROTO_GRE: u8 = 47;
const VXLAN_PORT: u16 = 4789;
/// The IPv6 Fragment extension header (RFC 8200 §4.5).
const IPV6_FRAGMENT: u8 = 44;

#[cfg(test)]
mod tests {
    use super::*;

    /// A capture of `payload` from `src` to `dst` in fragments for `mtu`, plus the bytes.
    fn fragmented(src: &str, dst: &str, payload: &[u8], mtu: usize) -> Vec<u8> {
        let mut w = PcapWriter::new(Vec::new()).unwrap();
        w.write_udp_fragmented(
            Duration::from_secs(1_795_000_000),
            (addr(src), addr(dst)),
            payload,
            mtu,
            0x1234_5678,
        )
        .unwrap();
        w.finish().unwrap()
    }

    fn big_payload(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 % 251) as u8).collect()
    }

    #[test]
    fn ipv4_and_ipv6_fragments_reassemble_to_the_datagram() {
        for (src, dst, mtu, frames) in [
            ("10.0.0.1:5060", "10.0.0.2:5060", 1500, 3),
            ("10.0.0.1:5060", "10.0.0.2:5060", 576, 6),
            ("[2001:db8::1]:5060", "[2001:db8::2]:5060", 1280, 3),
        ] {
            let payload = big_payload(3000);
            let bytes = fragmented(src, dst, &payload, mtu);
            let capture = Capture::parse(&bytes).unwrap();
            assert_eq!(capture.frames.len(), frames, "{src} {mtu}");
            assert!(capture.frames.iter().all(|f| f.data.len() <= mtu + 14));
            // Not a whole datagram in any one frame.
            assert_eq!(capture.udp_datagrams().0.len(), 0);
            let got = capture.reassembled_udp();
            assert_eq!(got.len(), 1, "{src} {mtu}");
            assert_eq!(got[0].payload, payload);
            assert_eq!((got[0].src, got[0].dst), (addr(src), addr(dst)));
            assert_eq!(got[0].frame, frames - 1);
        }
        // A datagram that fits is written whole.
        let bytes = fragmented("10.0.0.1:5060", "10.0.0.2:5060", b"OPTIONS", 1500);
        let capture = Capture::parse(&bytes).unwrap();
        assert_eq!(capture.udp_datagrams().0.len(), 1);
        assert!(capture.reassembled_udp().is_empty());
    }

    #[test]
    fn reordered_and_duplicated_fragments_still_reassemble() {
        let payload = big_payload(5000);
        for src in ["10.0.0.1:5060", "[2001:db8::1]:5060"] {
            let dst = if src.starts_with('[') {
                "[2001:db8::2]:5060"
            } else {
                "10.0.0.2:5060"
            };
            let bytes = fragmented(src, dst, &payload, 1280);
            let mut capture = Capture::parse(&bytes).unwrap();
            capture.frames.reverse();
            let again = capture.frames[1].clone();
            capture.frames.insert(2, again);
            let got = capture.reassembled_udp();
            assert_eq!(got.len(), 1, "{src}");
            assert_eq!(got[0].payload, payload, "{src}");
        }
    }

    #[test]
    fn missing_or_overlapping_fragments_give_nothing() {
        let payload = big_payload(3000);
        let bytes = fragmented("10.0.0.1:5060", "10.0.0.2:5060", &payload, 1500);
        let mut capture = Capture::parse(&bytes).unwrap();
        capture.frames.remove(1);
        assert!(capture.reassembled_udp().is_empty());
        // The same datagram cut for two MTUs, same identification: the pieces overlap.
        let a = fragmented("10.0.0.1:5060", "10.0.0.2:5060", &payload, 1500);
        let b = fragmented("10.0.0.1:5060", "10.0.0.2:5060", &payload, 1000);
        let (ca, cb) = (Capture::parse(&a).unwrap(), Capture::parse(&b).unwrap());
        let mixed = Capture {
            frames: vec![
                ca.frames[0].clone(),
                cb.frames[1].clone(),
                ca.frames[2].clone(),
            ],
            skipped: 0,
        };
        assert!(mixed.reassembled_udp().is_empty());
    }

    #[test]
    fn pending_datagrams_are_bounded() {
        // The first fragment of datagram 0, the first fragments of 299 others that never
        // complete, the last fragment of datagram 0, then datagram 300 whole: datagram 0 was
        // the oldest of more than MAX_PENDING waiting and is dropped; 300 reassembles.
        let ts = Duration::from_secs(1_795_000_000);
        let payload = big_payload(2000);
        let written: Vec<Vec<u8>> = (0..=300)
            .map(|id| {
                let mut w = PcapWriter::new(Vec::new()).unwrap();
                let ends = (addr("10.0.0.1:1"), addr("10.0.0.2:2"));
                w.write_udp_fragmented(ts, ends, &payload, 1500, id)
                    .unwrap();
                w.finish().unwrap()
            })
            .collect();
        let each: Vec<Capture<'_>> = written.iter().map(|b| Capture::parse(b).unwrap()).collect();
        let mut frames = vec![each[0].frames[0].clone()];
        frames.extend(each[1..300].iter().map(|c| c.frames[0].clone()));
        frames.push(each[0].frames[1].clone());
        frames.extend(each[300].frames.iter().cloned());
        let last = frames.len() - 1;
        let got = Capture { frames, skipped: 0 }.reassembled_udp();
        assert_eq!(got.len(), 1);
        assert_eq!((got[0].frame, &got[0].payload), (last, &payload));
    }

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn written_pcap_reads_back_ipv4_and_ipv6() {
        let mut w = PcapWriter::new(Vec::new()).unwrap();
        let ts = Duration::new(1_700_000_000, 123_456_000);
        w.write_udp(ts, addr("127.0.0.1:4000"), addr("127.0.0.2:5000"), b"hello")
            .unwrap();
        w.write_udp(ts, addr("[::1]:6000"), addr("[::2]:7000"), b"odd")
            .unwrap();
        let bytes = w.finish().unwrap();
        let cap = Capture::parse(&bytes).unwrap();
        assert_eq!(cap.frames.len(), 2);
        let (udp, skipped) = cap.udp_datagrams();
        assert_eq!(skipped, 0);
        assert_eq!(udp[0].src, addr("127.0.0.1:4000"));
        assert_eq!(udp[0].dst, addr("127.0.0.2:5000"));
        assert_eq!(udp[0].payload, b"hello");
        assert_eq!(udp[0].ts, ts);
        assert_eq!(udp[1].src, addr("[::1]:6000"));
        assert_eq!(udp[1].payload, b"odd");
    }

    #[test]
    fn ipv4_and_udp_checksums_verify() {
        let mut frame = Vec::new();
        encode_udp_frame(&mut frame, addr("10.0.0.1:1"), addr("10.0.0.2:2"), b"abc").unwrap();
        let ip = &frame[14..34];
        assert_eq!(checksum_finish(checksum_add(0, ip)), 0);
        let mut sum = checksum_add(0, &frame[26..34]);
        sum = checksum_add(sum, &[0, IPPROTO_UDP]);
        sum = checksum_add(sum, &frame[38..40]);
        sum = checksum_add(sum, &frame[34..]);
        assert_eq!(checksum_finish(sum), 0);
    }

    #[test]
    fn pcapng_with_nanosecond_resolution() {
        // SHB, IDB (linktype RAW, if_tsresol=9), EPB with an IPv4/UDP packet.
        let mut frame = Vec::new();
        encode_udp_frame(&mut frame, addr("1.2.3.4:10"), addr("5.6.7.8:20"), b"xyz").unwrap();
        let ip = &frame[14..];
        let mut f = Vec::new();
        let block = |f: &mut Vec<u8>, t: u32, body: &[u8]| {
            let padded = body.len().div_ceil(4) * 4;
            let len = (12 + padded) as u32;
            f.extend_from_slice(&t.to_le_bytes());
            f.extend_from_slice(&len.to_le_bytes());
            f.extend_from_slice(body);
            f.resize(f.len() + padded - body.len(), 0);
            f.extend_from_slice(&len.to_le_bytes());
        };
        let mut shb = Vec::new();
        shb.extend_from_slice(&0x1A2B_3C4Du32.to_le_bytes());
        shb.extend_from_slice(&[1, 0, 0, 0]);
        shb.extend_from_slice(&u64::MAX.to_le_bytes());
        block(&mut f, PCAPNG_SHB, &shb);
        let mut idb = Vec::new();
        idb.extend_from_slice(&(LINKTYPE_RAW as u16).to_le_bytes());
        idb.extend_from_slice(&[0, 0]);
        idb.extend_from_slice(&0u32.to_le_bytes());
        idb.extend_from_slice(&[9, 0, 1, 0, 9, 0, 0, 0, 0, 0, 0, 0]);
        block(&mut f, PCAPNG_IDB, &idb);
        let ticks: u64 = 1_500_000_000_250_000_000;
        let mut epb = Vec::new();
        epb.extend_from_slice(&0u32.to_le_bytes());
        epb.extend_from_slice(&((ticks >> 32) as u32).to_le_bytes());
        epb.extend_from_slice(&(ticks as u32).to_le_bytes());
        epb.extend_from_slice(&(ip.len() as u32).to_le_bytes());
        epb.extend_from_slice(&(ip.len() as u32).to_le_bytes());
        epb.extend_from_slice(ip);
        block(&mut f, PCAPNG_EPB, &epb);
        let cap = Capture::parse(&f).unwrap();
        let (udp, _) = cap.udp_datagrams();
        assert_eq!(udp.len(), 1);
        assert_eq!(udp[0].payload, b"xyz");
        assert_eq!(udp[0].ts, Duration::new(1_500_000_000, 250_000_000));
    }

    #[test]
    fn every_truncation_is_an_error_or_fewer_frames_never_a_panic() {
        let mut w = PcapWriter::new(Vec::new()).unwrap();
        w.write_udp(
            Duration::ZERO,
            addr("127.0.0.1:1"),
            addr("127.0.0.1:2"),
            b"data",
        )
        .unwrap();
        let bytes = w.finish().unwrap();
        for cut in 0..bytes.len() {
            if let Ok(cap) = Capture::parse(&bytes[..cut]) {
                let _ = cap.udp_datagrams();
            }
        }
        assert!(matches!(
            Capture::parse(b"nope"),
            Err(PcapError::BadMagic(_))
        ));
    }

    #[test]
    fn cooked_and_ethernet_frames_with_vlan_tags() {
        let mut frame = Vec::new();
        encode_udp_frame(
            &mut frame,
            addr("10.1.1.1:4000"),
            addr("10.1.1.2:5000"),
            b"v",
        )
        .unwrap();
        let ip = &frame[14..];
        // Linux cooked v1 (`tcpdump -i any`): packet type, ARPHRD, address length, address,
        // then the protocol 0x8100 with the tag still in the packet (VLAN 20, IPv4 inside).
        let mut sll = vec![
            0, 0, 0, 1, 0, 6, 0, 0x11, 0x22, 0x33, 0x44, 0x55, 0, 0, 0x81, 0x00,
        ];
        sll.extend_from_slice(&[0x00, 0x14, 0x08, 0x00]);
        sll.extend_from_slice(ip);
        let (src, dst, payload) = decode_udp(LINKTYPE_LINUX_SLL, &sll).unwrap();
        assert_eq!(
            (src, dst, payload),
            (addr("10.1.1.1:4000"), addr("10.1.1.2:5000"), &b"v"[..])
        );
        // Linux cooked v2: protocol first, 20-byte header.
        let mut sll2 = vec![0x81, 0x00, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6];
        sll2.extend_from_slice(&[0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0, 0]);
        sll2.extend_from_slice(&[0x00, 0x14, 0x08, 0x00]);
        sll2.extend_from_slice(ip);
        assert_eq!(decode_udp(LINKTYPE_LINUX_SLL2, &sll2).unwrap().2, b"v");
        // Ethernet with the pre-standard 0x9100 outer tag over an 802.1Q one.
        let mut qinq = frame[..12].to_vec();
        qinq.extend_from_slice(&[0x91, 0x00, 0x00, 0x64, 0x81, 0x00, 0x00, 0x14, 0x08, 0x00]);
        qinq.extend_from_slice(ip);
        assert_eq!(decode_udp(LINKTYPE_ETHERNET, &qinq).unwrap().2, b"v");
    }

    #[test]
    fn an_ipv4_total_length_of_zero_means_the_captured_bytes() {
        // TSO/GSO offload: the capture sees the packet before the NIC writes its length.
        let mut frame = Vec::new();
        encode_udp_frame(
            &mut frame,
            addr("10.1.1.1:4000"),
            addr("10.1.1.2:5000"),
            b"gso",
        )
        .unwrap();
        frame[16..18].copy_from_slice(&[0, 0]);
        assert_eq!(decode_udp(LINKTYPE_ETHERNET, &frame).unwrap().2, b"gso");
    }

    #[test]
    fn tcp_segments_are_put_in_order_once_and_holes_split_the_chunks() {
        let (a, b) = (addr("10.0.0.1:5060"), addr("10.0.0.2:35000"));
        let msg = b"INVITE sip:b@x SIP/2.0\r\nContent-Length: 0\r\n\r\n";
        let (p1, rest) = msg.split_at(10);
        let (p2, p3) = rest.split_at(12);
        let seq = u32::MAX - 4; // the sequence number wraps inside the message
        let s2 = seq.wrapping_add(10);
        let s3 = s2.wrapping_add(12);
        let mut w = PcapWriter::new(Vec::new()).unwrap();
        let t = Duration::from_secs(1);
        // Out of order, the middle one retransmitted with more data, the reverse direction
        // interleaved, then a segment after a hole of 100 bytes.
        w.write_tcp(t, (a, b), s2, p2).unwrap();
        w.write_tcp(t, (b, a), 7, b"SIP/2.0 100 Trying\r\n")
            .unwrap();
        w.write_tcp(t, (a, b), seq, p1).unwrap();
        w.write_tcp(t, (a, b), s2, &msg[10..30]).unwrap();
        w.write_tcp(t, (a, b), s3, p3).unwrap();
        let after_hole = s3.wrapping_add(p3.len() as u32 + 100);
        w.write_tcp(t, (a, b), after_hole, b"OPTIONS").unwrap();
        let bytes = w.finish().unwrap();
        let cap = Capture::parse(&bytes).unwrap();
        let chunks = cap.tcp_chunks();
        let view: Vec<(SocketAddr, &[u8])> =
            chunks.iter().map(|c| (c.src, c.data.as_slice())).collect();
        assert_eq!(
            view,
            [
                (a, &msg[..]),
                (a, &b"OPTIONS"[..]),
                (b, &b"SIP/2.0 100 Trying\r\n"[..])
            ]
        );
        // The UDP view of the same capture has none of it.
        let (udp, skipped) = cap.udp_datagrams();
        assert_eq!((udp.len(), skipped), (0, 6));
    }

    #[test]
    fn mirrored_traffic_in_vxlan_gre_and_erspan_is_unwrapped() {
        let mut inner = Vec::new();
        encode_udp_frame(
            &mut inner,
            addr("10.9.0.1:4000"),
            addr("10.9.0.2:5000"),
            b"rtp",
        )
        .unwrap();
        let want = (addr("10.9.0.1:4000"), addr("10.9.0.2:5000"), &b"rtp"[..]);
        // A raw IPv4 packet of protocol GRE (checksums are not read).
        let ipv4_gre = |gre: &[u8]| {
            let mut ip = vec![0x45, 0];
            ip.extend_from_slice(&u16::try_from(20 + gre.len()).unwrap().to_be_bytes());
            ip.extend_from_slice(&[0, 0, 0x40, 0, 64, IPPROTO_GRE, 0, 0]);
            ip.extend_from_slice(&[192, 0, 2, 1, 192, 0, 2, 2]);
            ip.extend_from_slice(gre);
            ip
        };
        // VXLAN (AWS traffic mirroring): UDP to 4789, flags with I, VNI 7, then the frame.
        let mut vxlan = vec![0x08, 0, 0, 0, 0, 0, 7, 0];
        vxlan.extend_from_slice(&inner);
        let mut outer = Vec::new();
        encode_udp_frame(
            &mut outer,
            addr("172.31.0.5:51000"),
            addr("172.31.0.9:4789"),
            &vxlan,
        )
        .unwrap();
        assert_eq!(decode_udp(LINKTYPE_ETHERNET, &outer), Some(want));
        // GRE (S flag) + ERSPAN type II over IPv4 protocol 47 (a Cisco remote SPAN).
        let mut gre = vec![0x10, 0x00, 0x88, 0xBE, 0, 0, 0, 1];
        gre.extend_from_slice(&[0x10, 0x01, 0x00, 0x00, 0, 0, 0, 0]);
        gre.extend_from_slice(&inner);
        assert_eq!(decode_udp(LINKTYPE_RAW, &ipv4_gre(&gre)), Some(want));
        // GRE carrying IPv4 directly (no Ethernet inside).
        let mut plain = vec![0x00, 0x00, 0x08, 0x00];
        plain.extend_from_slice(&inner[14..]);
        assert_eq!(decode_udp(LINKTYPE_RAW, &ipv4_gre(&plain)), Some(want));
        // UDP to 4789 that is not VXLAN (I flag clear) stays what it is.
        let mut not_vxlan = Vec::new();
        encode_udp_frame(
            &mut not_vxlan,
            addr("1.1.1.1:1"),
            addr("2.2.2.2:4789"),
            &[0; 20],
        )
        .unwrap();
        assert_eq!(
            decode_udp(LINKTYPE_ETHERNET, &not_vxlan).unwrap().2,
            [0; 20]
        );
    }

    #[test]
    fn ip_fragments_and_non_udp_are_skipped() {
        let mut frame = Vec::new();
        encode_udp_frame(&mut frame, addr("1.1.1.1:1"), addr("2.2.2.2:2"), b"p").unwrap();
        let mut frag = frame.clone();
        frag[20] = 0x20; // more fragments
        assert!(decode_udp(LINKTYPE_ETHERNET, &frag).is_none());
        let mut tcp = frame.clone();
        tcp[23] = 6;
        assert!(decode_udp(LINKTYPE_ETHERNET, &tcp).is_none());
        assert!(decode_udp(LINKTYPE_ETHERNET, &frame).is_some());
    }
}
