//! `rtp-analyze`: per-stream RTP quality from a capture, computed as Wireshark's RTP stream
//! analysis does, plus an E-model MOS.
//!
//! ```text
//! rtp-analyze [--json] [--port N]... FILE.pcap|FILE.pcapng
//!     One row per RTP stream: SSRC, payload type, packets, lost, loss %, max and mean jitter
//!     (ms), sequence errors, duration, MOS (G.107 MOS-CQ). Streams are found from the SDP in
//!     the SIP the capture carries (over UDP, in IP fragments or over TCP), or on the UDP
//!     ports given with --port (either direction), or, with neither, by a heuristic (UDP
//!     datagrams that parse as RTP version 2 and are not RTCP, kept as a stream when two
//!     packets in a row advance its sequence number by 1 to 100: DNS and other noise with
//!     the same first bits is left out). RTCP on the RTP port (a=rtcp-mux) is never a
//!     stream. Mirrored traffic (VXLAN, GRE, ERSPAN) is unwrapped. --json prints an
//!     array of objects with the keys ssrc, payload_type, packets, expected, lost,
//!     loss_percent, max_jitter_ms, mean_jitter_ms, max_delta_ms, sequence_errors,
//!     timestamp_errors, duration_s, r_factor, mos, src, dst.
//! rtp-analyze --wav DIR [--pt N=CODEC]... [--port N]... FILE
//!     Also decodes every stream whose codec telox knows (PCMU, PCMA, G722, opus: from the
//!     SDP's rtpmap, the static payload type, or --pt, e.g. `--pt 96=opus`) in arrival order
//!     with loss concealment into DIR/<ssrc as 8 lowercase hex digits>.wav, 16-bit mono PCM
//!     at the codec's sampling rate (a second stream with the same SSRC gets a `-2` suffix).
//! rtp-analyze --dump [--port N]... FILE
//!     One tab-separated line per RTP and RTCP datagram as our parsers read it (for
//!     cross-checking against tshark): `RTP ssrc seq ts pt marker` and `RTCP pts senderssrcs
//!     rtp_ts packet_counts octet_counts ssrc_identifiers fractions cum_lost ext_high jitter
//!     lsr dlsr texts` (texts: SDES CNAMEs and BYE reasons; lists comma-separated, as tshark's -E aggregator=, prints them;
//!     ssrc_identifiers are report block, SDES chunk and BYE sources in order, like
//!     tshark's rtcp.ssrc.identifier). A compound that breaks RFC 3550 §6.1/A.2 or holds a
//!     malformed packet lists its well-framed packets, then `RTCP-VIOLATION error N skipped`.
//!     Each XR packet (RFC 3611) adds an `RTCP-XR ssrc types` line after its compound's:
//!     the block types in order, comma-separated (`RRTR`, `DLRR`, `statistics summary`,
//!     `VoIP metrics`, another as `BT=n`).
//! rtp-analyze --synth OUT.pcap [--seed N] [--packets N] [--loss P] [--jitter MS] [--no-dtmf]
//!     Writes a capture of a synthetic call made with telox's RtpSession: SIP INVITE/200 with
//!     SDP, PCMU both ways, an RFC 4733 key press, SR/RR/SDES RTCP; the caller's stream goes
//!     through a seeded network emulator (loss probability P, uniform extra delay up to MS).
//!     Prints on stdout what the emulator did: `dropped=N duplicated=N`.
//! ```
//! Agreement with Wireshark: a stream is (source, destination, SSRC) and its packets, lost,
//! max/mean jitter and max delta are Wireshark 4.0's `rtp,streams` figures on the same capture
//! (`rtp::analysis` says how they are computed and where Wireshark departs from RFC 3550: lost
//! from the first to the last packet's sequence number, negative with duplicates, about 65000
//! after a restart below the first number; jitter only over packets whose timestamp is within
//! 2^31 after the first's; an integer ticks-per-ms clock). An SDP applies from the SIP
//! message that carried it: a packet takes the latest SDP of its destination (else of its
//! source) before it, which sets its payload types' clocks (a static type keeps RFC 3551's
//! whatever the rtpmap says, as in Wireshark); a packet before any SDP naming it is not RTP.
//! timestamp_errors counts packets out of that time sequence; with sequence_errors it is
//! Wireshark's "Problems?" column. `.ci/interop/20-rtp.sh` checks all of it against tshark on
//! seeded captures of many call shapes (`.ci/interop/rtp/differential.py`).
//!
//! MOS assumptions: codec Ie/Bpl from the payload type (G.711 with PLC unless G.729 or
//! G.723.1), packetization from the timestamp step, playout delay twice the max jitter, no
//! network delay (a one-sided capture does not show it); the loss rate in 0-100 % (none when
//! Wireshark's lost is negative, or its expected count is not positive).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rtp::analysis::{self, StreamAnalysis, StreamSummary};
use rtp::dtmf::{self, DtmfEvent};
use rtp::rtcp::{self, RtcpPacket, Validation, XrBlock};
use rtp::{MediaTime, NtpTime, RtpPacket, RtpSession, SessionConfig, Ssrc};
use serde_json::json;
use telox_examples::media;
use telox_examples::pcap::{Capture, PcapWriter, TcpChunk, UdpDatagram};
use telox_examples::wav_export::{MediaPacket, export_wav};

const USAGE: &str = "usage: rtp-analyze [--json] [--port N]... FILE\n       \
    rtp-analyze --wav DIR [--pt N=CODEC]... [--port N]... FILE\n       \
    rtp-analyze --dump [--port N]... FILE\n       \
    rtp-analyze --synth OUT.pcap [--seed N] [--packets N] [--loss P] [--jitter MS] [--no-dtmf]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rtp-analyze: {e}");
            if e.starts_with("usage") {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

#[derive(Default)]
struct Options {
    json: bool,
    dump: bool,
    synth: Option<String>,
    ports: Vec<u16>,
    file: Option<String>,
    seed: u64,
    packets: u64,
    loss: f64,
    jitter_ms: f64,
    no_dtmf: bool,
    wav: Option<String>,
    pt_map: Vec<(u8, String)>,
}

fn parse_args(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        packets: 500,
        ..Options::default()
    };
    let mut it = args.iter();
    let value = |it: &mut std::slice::Iter<'_, String>, name: &str| -> Result<String, String> {
        it.next()
            .cloned()
            .ok_or_else(|| format!("usage: {name} needs a value\n{USAGE}"))
    };
    let num = |s: String, name: &str| -> Result<f64, String> {
        s.parse::<f64>()
            .map_err(|_| format!("usage: {name} {s}: not a number\n{USAGE}"))
    };
    while let Some(a) = it.next() {
        match a.as_str() {
            "--json" => o.json = true,
            "--no-dtmf" => o.no_dtmf = true,
            "--dump" => o.dump = true,
            "--synth" => o.synth = Some(value(&mut it, a)?),
            "--wav" => o.wav = Some(value(&mut it, a)?),
            "--pt" => {
                let v = value(&mut it, a)?;
                let (pt, codec) = v
                    .split_once('=')
                    .and_then(|(pt, c)| Some((pt.parse::<u8>().ok()?, c.to_owned())))
                    .filter(|(pt, _)| *pt < 128)
                    .ok_or_else(|| format!("usage: --pt {v}: expected N=CODEC\n{USAGE}"))?;
                o.pt_map.push((pt, codec));
            }
            "--port" => {
                let v = value(&mut it, a)?;
                o.ports.push(
                    v.parse()
                        .map_err(|_| format!("usage: --port {v}: not a port\n{USAGE}"))?,
                );
            }
            "--seed" => o.seed = num(value(&mut it, a)?, a)? as u64,
            "--packets" => o.packets = num(value(&mut it, a)?, a)? as u64,
            "--loss" => o.loss = num(value(&mut it, a)?, a)?.clamp(0.0, 1.0),
            "--jitter" => o.jitter_ms = num(value(&mut it, a)?, a)?.max(0.0),
            "-h" | "--help" => return Err(format!("usage:\n{USAGE}")),
            f if !f.starts_with('-') && o.file.is_none() => o.file = Some(f.to_owned()),
            other => return Err(format!("usage: unknown argument {other}\n{USAGE}")),
        }
    }
    Ok(o)
}

fn run(args: &[String]) -> Result<(), String> {
    let o = parse_args(args)?;
    if let Some(out) = &o.synth {
        return synth(out, &o);
    }
    let file = o
        .file
        .as_deref()
        .ok_or_else(|| format!("usage: no capture file\n{USAGE}"))?;
    let bytes = std::fs::read(file).map_err(|e| format!("{file}: {e}"))?;
    let capture = Capture::parse(&bytes).map_err(|e| format!("{file}: {e}"))?;
    let (datagrams, _) = capture.udp_datagrams();
    // SIP with a large SDP may have crossed the network in IP fragments, or over TCP.
    let reassembled = capture.reassembled_udp();
    let over_tcp = sip_over_tcp(&capture.tcp_chunks());
    let sip: Vec<(Duration, &[u8])> = reassembled
        .iter()
        .map(|d| (d.ts, d.payload.as_slice()))
        .chain(over_tcp.iter().map(|(ts, m)| (*ts, &m[..])))
        .collect();
    let streams = collect_streams(&datagrams, &sip, &o.ports);
    if o.dump {
        dump(&datagrams, &streams.rtcp_ports, &streams);
        return Ok(());
    }
    if let Some(dir) = &o.wav {
        export_wavs(dir, &streams, &o.pt_map)?;
    }
    let rows: Vec<Row> = streams.streams.iter().map(Row::new).collect();
    if o.json {
        let arr: Vec<_> = rows.iter().map(Row::json).collect();
        println!("{}", serde_json::Value::Array(arr));
    } else {
        println!(
            "{:<10} {:>3} {:>7} {:>5} {:>6} {:>11} {:>12} {:>6} {:>9} {:>4}  src -> dst",
            "ssrc",
            "pt",
            "packets",
            "lost",
            "loss%",
            "max_jit_ms",
            "mean_jit_ms",
            "seqerr",
            "dur_s",
            "mos"
        );
        for r in &rows {
            let s = &r.summary;
            println!(
                "{:#010x} {:>3} {:>7} {:>5} {:>6.2} {:>11.3} {:>12.3} {:>6} {:>9.3} {:>4.2}  {} -> {}",
                s.ssrc.0,
                s.payload_type,
                s.packets,
                s.lost,
                s.loss_percent,
                s.max_jitter_ms,
                s.mean_jitter_ms,
                s.sequence_errors,
                s.duration.as_secs_f64(),
                r.mos,
                r.src,
                r.dst
            );
        }
    }
    Ok(())
}

/// Writes `DIR/<ssrc>.wav` for every stream whose codec telox can decode; reports on stderr.
fn export_wavs(dir: &str, streams: &Streams<'_>, pt_map: &[(u8, String)]) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{dir}: {e}"))?;
    let mut used = std::collections::HashSet::new();
    for s in &streams.streams {
        // The stream's codec: its most frequent payload type that names a known codec.
        let mut counts: HashMap<u8, usize> = HashMap::new();
        for p in &s.packets {
            *counts.entry(p.packet.payload_type()).or_default() += 1;
        }
        let mut by_count: Vec<(u8, usize)> = counts.into_iter().collect();
        by_count.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let chosen = by_count.iter().find_map(|&(pt, _)| {
            let (name, clock) = codec_of(pt, &s.rtpmap, pt_map)?;
            // Opus is announced as opus/48000/2; export its first channel at 48 kHz.
            codecs::decoder_for(&name, clock, 1).ok().map(|d| (pt, d))
        });
        let Some((pt, mut decoder)) = chosen else {
            eprintln!(
                "rtp-analyze: ssrc {:#010x}: no decodable codec (give --pt N=CODEC), no WAV",
                s.ssrc.0
            );
            continue;
        };
        let mut name = format!("{:08x}", s.ssrc.0);
        let mut n = 2;
        while !used.insert(name.clone()) {
            name = format!("{:08x}-{n}", s.ssrc.0);
            n += 1;
        }
        let path = std::path::Path::new(dir).join(format!("{name}.wav"));
        let packets = s
            .packets
            .iter()
            .filter(|p| p.packet.payload_type() == pt)
            .map(|p| MediaPacket {
                timestamp: p.packet.timestamp(),
                payload: p.packet.payload(),
            });
        let stats = export_wav(&path, decoder.as_mut(), packets)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        eprintln!(
            "rtp-analyze: wrote {} ({} {} Hz): {} decoded, {} samples concealed, {} late, {} undecodable",
            path.display(),
            decoder.format().encoding_name,
            decoder.format().sample_rate,
            stats.decoded,
            stats.concealed_samples,
            stats.late,
            stats.undecodable
        );
    }
    Ok(())
}

/// Encoding name and RTP clock rate of a payload type: `--pt` first, then the SDP's rtpmap,
/// then RFC 3551's static assignments.
fn codec_of(pt: u8, rtpmap: &RtpMap, pt_map: &[(u8, String)]) -> Option<(String, u32)> {
    if let Some((_, name)) = pt_map.iter().find(|(p, _)| *p == pt) {
        let clock = if name.eq_ignore_ascii_case("opus") {
            48000
        } else {
            8000
        };
        return Some((name.clone(), clock));
    }
    if let Some((name, clock)) = rtpmap.get(&pt) {
        return Some((name.clone(), *clock));
    }
    match pt {
        0 => Some(("PCMU".to_owned(), 8000)),
        8 => Some(("PCMA".to_owned(), 8000)),
        9 => Some(("G722".to_owned(), 8000)),
        _ => None,
    }
}

/// One RTP packet of a stream, borrowed from the capture.
pub struct CapturedRtp<'a> {
    /// Capture time since the Unix epoch.
    pub arrival: Duration,
    /// The packet.
    pub packet: RtpPacket<&'a [u8]>,
}

/// One RTP stream of a capture: direction, SSRC, its packets in capture order, the payload
/// clock rates from the SDP, and the running analysis.
pub struct Stream<'a> {
    /// Sender address.
    pub src: SocketAddr,
    /// Receiver address.
    pub dst: SocketAddr,
    /// The SSRC.
    pub ssrc: Ssrc,
    /// Packets in capture order.
    pub packets: Vec<CapturedRtp<'a>>,
    /// rtpmap of the stream's SDP: payload type -> (encoding name, clock rate).
    pub rtpmap: HashMap<u8, (String, u32)>,
    /// The Wireshark-compatible analysis.
    pub analysis: StreamAnalysis,
}

/// The streams of a capture, and the ports that carry their RTCP.
pub struct Streams<'a> {
    /// RTP streams in order of their first packet.
    pub streams: Vec<Stream<'a>>,
    /// Ports treated as RTCP (RTP port + 1).
    pub rtcp_ports: Vec<u16>,
}

/// Payload type -> (encoding name, clock rate), from `a=rtpmap`.
type RtpMap = HashMap<u8, (String, u32)>;

/// A media endpoint announced in SDP.
#[derive(Clone, Debug)]
struct SdpMedia {
    /// Capture time of the SIP message that carried it: it applies from then on.
    at: Duration,
    addr: SocketAddr,
    rtpmap: HashMap<u8, (String, u32)>,
}

/// Finds the RTP streams of a capture: on the SDP media endpoints of its SIP (in `datagrams`
/// or in `more_sip` with their capture times, e.g. datagrams reassembled from IP fragments),
/// on `ports`, or (with neither) by heuristic. Reusable by other tools (e.g. a WAV export).
///
/// As in Wireshark, an SDP applies from the message that carried it on: a packet belongs to
/// the media of the latest SDP before it that names its destination (else its source), and
/// its payload types' clock rates are that SDP's alone (a re-INVITE that moves the port or
/// changes the codec changes them from then on: a late packet of the old dynamic codec then
/// has no clock); a packet before any SDP naming it is not RTP.
pub fn collect_streams<'a>(
    datagrams: &[UdpDatagram<'a>],
    more_sip: &[(Duration, &[u8])],
    ports: &[u16],
) -> Streams<'a> {
    let mut sdp: Vec<SdpMedia> = datagrams
        .iter()
        .map(|d| (d.ts, d.payload))
        .chain(more_sip.iter().copied())
        .filter_map(|(at, payload)| sdp_media(at, payload))
        .flatten()
        .collect();
    sdp.sort_by_key(|m| m.at);
    let heuristic = sdp.is_empty() && ports.is_empty();
    let mut rtcp_ports: Vec<u16> = ports.iter().map(|p| p.wrapping_add(1)).collect();
    rtcp_ports.extend(sdp.iter().map(|m| m.addr.port().wrapping_add(1)));
    let mut streams: Vec<Stream<'a>> = Vec::new();
    for d in datagrams {
        // A packet takes the latest SDP of its destination (the receiver's offer or answer,
        // as Wireshark 4.0 does), else of its source.
        if is_muxed_rtcp(d.payload) {
            continue;
        }
        let latest = |addr: SocketAddr| sdp.iter().rev().find(|m| m.at <= d.ts && m.addr == addr);
        let media = latest(d.dst).or_else(|| latest(d.src));
        let on_port = ports.contains(&d.dst.port()) || ports.contains(&d.src.port());
        let looks_rtcp = rtcp_ports.contains(&d.dst.port());
        if !(media.is_some() || on_port || (heuristic && !looks_rtcp)) {
            continue;
        }
        let Ok(packet) = RtpPacket::new_checked(d.payload) else {
            continue;
        };
        let ssrc = packet.ssrc();
        let idx = match streams
            .iter()
            .position(|s| s.src == d.src && s.dst == d.dst && s.ssrc == ssrc)
        {
            Some(i) => i,
            None => {
                streams.push(Stream {
                    src: d.src,
                    dst: d.dst,
                    ssrc,
                    packets: Vec::new(),
                    rtpmap: HashMap::new(),
                    analysis: StreamAnalysis::new(),
                });
                streams.len() - 1
            }
        };
        let s = &mut streams[idx];
        let pt = packet.payload_type();
        if let Some(m) = media {
            for (k, v) in &m.rtpmap {
                s.rtpmap.entry(*k).or_insert_with(|| v.clone());
            }
        }
        let sdp_map = media.and_then(|m| m.rtpmap.get(&pt));
        let rate = analysis::analysis_clock_rate(pt, sdp_map.map(|(n, r)| (n.as_str(), *r)));
        s.analysis.handle(d.ts, &packet, rate);
        s.packets.push(CapturedRtp {
            arrival: d.ts,
            packet,
        });
    }
    if heuristic {
        streams.retain(plausible_rtp);
    }
    Streams {
        streams,
        rtcp_ports,
    }
}

/// The SIP messages in the captured TCP streams, cut by Content-Length as a SIP transport
/// does (RFC 3261 §18.3); a stream stops at the first bytes that are not a SIP message (other
/// traffic, or a capture that started in the middle of one). Each message is dated by the
/// segment holding its last byte, as Wireshark shows a reassembled PDU in the frame that
/// completes it (its SDP applies from then on): a connection that stays open carries the
/// INVITE and a later re-INVITE in one chunk, and a long message spans segments.
fn sip_over_tcp(chunks: &[TcpChunk]) -> Vec<(Duration, Bytes)> {
    let mut out = Vec::new();
    for c in chunks {
        let mut framer = sip_core::Framer::new(sip_core::ParseLimits::default());
        let mut buf = BytesMut::from(&c.data[..]);
        while let Ok(Some(msg)) = framer.decode(&mut buf) {
            let end = c.data.len() - buf.len();
            out.push((c.ts_at(end.saturating_sub(1)), msg));
        }
    }
    out
}

/// Whether a datagram is version-2 RTCP rather than RTP by its second octet
/// ([`media::is_rtcp`], RFC 5761 §4). With `a=rtcp-mux` (Teams, WebRTC, many SBCs) RTCP
/// shares the RTP port, so this, not the port, tells them apart; read as RTP, each SR would
/// open a bogus stream whose "SSRC" is the NTP seconds.
fn is_muxed_rtcp(payload: &[u8]) -> bool {
    payload.first().is_some_and(|b0| b0 >> 6 == 2) && media::is_rtcp(payload)
}

/// Whether a stream found by the heuristic looks like RTP and not like other UDP that happens
/// to start with version bits 2 (a quarter of DNS messages do, by their random ID): at least
/// two packets of which some pair in a row advances the sequence number by 1 to 100.
fn plausible_rtp(stream: &Stream<'_>) -> bool {
    stream.packets.windows(2).any(|w| {
        let step = w[1]
            .packet
            .sequence_number()
            .wrapping_sub(w[0].packet.sequence_number());
        (1..=100).contains(&step)
    })
}

/// The media endpoints of the SDP body of a SIP message (`c=` + `m=` lines, `a=rtpmap`),
/// read with telox-sdp in its lenient mode (what real peers send).
fn sdp_media(at: Duration, payload: &[u8]) -> Option<Vec<SdpMedia>> {
    let text = std::str::from_utf8(payload).ok()?;
    let first = text.lines().next()?;
    if !(first.starts_with("SIP/2.0 ") || first.ends_with(" SIP/2.0")) {
        return None;
    }
    // The SDP part of the body (multipart too); what follows the blank line when the
    // message itself does not parse (a capture shows what peers sent, not only valid SIP).
    let body = match sip_core::Message::parse(Bytes::copy_from_slice(payload)) {
        Ok(m) => sip_core::body::sdp_or_body(m.headers()),
        Err(_) => Bytes::copy_from_slice(&payload[text.find("\r\n\r\n")? + 4..]),
    };
    let description = sdp::Sdp::parse_with(body, &sdp::ParseOptions::lenient()).ok()?;
    let session_addr = description
        .connection
        .as_ref()
        .and_then(|c| c.address.as_str().parse::<IpAddr>().ok());
    let media: Vec<SdpMedia> = description
        .media
        .iter()
        .filter(|m| matches!(m.kind, sdp::MediaKind::Audio | sdp::MediaKind::Video) && m.port != 0)
        .filter_map(|m| {
            let addr = match m.connections.first() {
                Some(c) => c.address.as_str().parse::<IpAddr>().ok()?,
                None => session_addr?,
            };
            let rtpmap: RtpMap = m
                .payload_types()
                .filter_map(|pt| m.rtpmap(pt))
                .map(|r| (r.payload_type, (r.encoding, r.clock_rate)))
                .collect();
            Some(SdpMedia {
                at,
                addr: SocketAddr::new(addr, m.port),
                rtpmap,
            })
        })
        .collect();
    (!media.is_empty()).then_some(media)
}

struct Row {
    summary: StreamSummary,
    mos: f64,
    r: f64,
    src: SocketAddr,
    dst: SocketAddr,
}

impl Row {
    fn new(s: &Stream<'_>) -> Self {
        let summary = s.analysis.summary();
        let q = summary.quality(analysis::codec_for_payload_type(summary.payload_type));
        Self {
            summary,
            mos: q.mos_cq,
            r: q.r_factor,
            src: s.src,
            dst: s.dst,
        }
    }

    fn json(&self) -> serde_json::Value {
        let s = &self.summary;
        let round = |x: f64| (x * 1000.0).round() / 1000.0;
        json!({
            "ssrc": s.ssrc.0,
            "payload_type": s.payload_type,
            "packets": s.packets,
            "expected": s.expected,
            "lost": s.lost,
            "loss_percent": round(s.loss_percent),
            "max_jitter_ms": round(s.max_jitter_ms),
            "mean_jitter_ms": round(s.mean_jitter_ms),
            "max_delta_ms": round(s.max_delta_ms),
            "sequence_errors": s.sequence_errors,
            "timestamp_errors": s.timestamp_errors,
            "duration_s": round(s.duration.as_secs_f64()),
            "r_factor": round(self.r),
            "mos": (self.mos * 100.0).round() / 100.0,
            "src": self.src.to_string(),
            "dst": self.dst.to_string(),
        })
    }
}

/// Prints every RTP datagram of the streams and every RTCP datagram on their RTCP ports.
fn dump(datagrams: &[UdpDatagram<'_>], rtcp_ports: &[u16], streams: &Streams<'_>) {
    let rtp_frames: std::collections::HashSet<(Duration, SocketAddr, SocketAddr)> = streams
        .streams
        .iter()
        .flat_map(|s| s.packets.iter().map(move |p| (p.arrival, s.src, s.dst)))
        .collect();
    for d in datagrams {
        if rtcp_ports.contains(&d.dst.port()) || is_muxed_rtcp(d.payload) {
            dump_rtcp(d.payload);
        } else if rtp_frames.contains(&(d.ts, d.src, d.dst))
            && let Ok(p) = RtpPacket::new_checked(d.payload)
        {
            emit(&format!(
                "RTP\t{:#010x}\t{}\t{}\t{}\t{}",
                p.ssrc().0,
                p.sequence_number(),
                p.timestamp(),
                p.payload_type(),
                u8::from(p.marker())
            ));
        }
    }
}

/// Prints a line; a closed stdout (e.g. piped into `head`) ends the program quietly.
fn emit(line: &str) {
    use std::io::Write;
    if writeln!(std::io::stdout().lock(), "{line}").is_err() {
        std::process::exit(0);
    }
}

/// One `RTCP` line per compound: its well-framed packets, read as the session reads them
/// (`rtcp::iter_lenient`; tshark too dissects the packets of a compound that breaks RFC 3550
/// §6.1/A.2), then an `RTCP-XR` line per XR packet among them (its sender SSRC and block
/// types), then an `RTCP-VIOLATION` line with the first rule broken and the packets skipped
/// when the compound broke one; `RTCP invalid` when no packet could be read.
fn dump_rtcp(payload: &[u8]) {
    let mut walk = rtcp::iter_lenient(payload, Validation::ReducedSize);
    let packets: Vec<_> = walk.by_ref().collect();
    let violations = walk.violations();
    if packets.is_empty() {
        emit("RTCP\tinvalid");
        return;
    }
    let mut cols: [Vec<String>; 13] = Default::default();
    let mut xr_lines = Vec::new();
    for p in packets {
        cols[0].push(p.packet_type().to_string());
        let blocks = match &p {
            RtcpPacket::SenderReport(sr) => {
                cols[1].push(format!("{:#010x}", sr.ssrc().0));
                cols[2].push(sr.rtp_timestamp().to_string());
                cols[3].push(sr.packet_count().to_string());
                cols[4].push(sr.octet_count().to_string());
                sr.reports().iter().collect()
            }
            RtcpPacket::ReceiverReport(rr) => {
                cols[1].push(format!("{:#010x}", rr.ssrc().0));
                rr.reports().iter().collect()
            }
            // tshark's rtcp.ssrc.identifier also names SDES chunk and BYE sources, in order.
            RtcpPacket::SourceDescription(sdes) => {
                for c in sdes.chunks().iter() {
                    cols[5].push(format!("{:#010x}", c.ssrc.0));
                    if let Some(cname) = c.cname() {
                        cols[12].push(String::from_utf8_lossy(cname).into_owned());
                    }
                }
                Vec::new()
            }
            RtcpPacket::Goodbye(bye) => {
                cols[5].extend(bye.sources().iter().map(|s| format!("{:#010x}", s.0)));
                // tshark shows the BYE reason in rtcp.sdes.text too.
                if let Some(r) = bye.reason() {
                    cols[12].push(String::from_utf8_lossy(r).into_owned());
                }
                Vec::new()
            }
            RtcpPacket::ExtendedReport(xr) => {
                xr_lines.push(xr_line(xr));
                Vec::new()
            }
            _ => Vec::new(),
        };
        for b in blocks {
            cols[5].push(format!("{:#010x}", b.ssrc.0));
            cols[6].push(b.fraction_lost.to_string());
            cols[7].push(b.cumulative_lost.to_string());
            cols[8].push(b.extended_highest_seq.to_string());
            cols[9].push(b.jitter.to_string());
            cols[10].push(b.lsr.to_string());
            cols[11].push(b.dlsr.to_string());
        }
    }
    let line: Vec<String> = cols.iter().map(|c| c.join(",")).collect();
    emit(&format!("RTCP\t{}", line.join("\t")));
    for l in xr_lines {
        emit(&l);
    }
    if let Some(first) = violations.first {
        emit(&format!(
            "RTCP-VIOLATION\t{first}\t{} skipped",
            violations.skipped
        ));
    }
}

/// The `RTCP-XR` line of an XR packet: its sender SSRC and the type of each report block
/// (RFC 3611 §4): `RRTR`, `DLRR`, `statistics summary`, `VoIP metrics`, any other (or a
/// known type of the wrong length) `BT=n`.
fn xr_line(xr: &rtcp::ExtendedReport<'_>) -> String {
    let types: Vec<String> = xr
        .blocks()
        .iter()
        .map(|b| match b {
            XrBlock::Rrtr { .. } => "RRTR".into(),
            XrBlock::Dlrr(_) => "DLRR".into(),
            XrBlock::StatisticsSummary(_) => "statistics summary".into(),
            XrBlock::VoipMetrics(_) => "VoIP metrics".into(),
            other => format!("BT={}", other.block_type()),
        })
        .collect();
    format!("RTCP-XR\t{:#010x}\t{}", xr.ssrc().0, types.join(","))
}

/// Writes a synthetic call capture (see the usage text).
fn synth(out: &str, o: &Options) -> Result<(), String> {
    #[expect(
        clippy::disallowed_methods,
        reason = "a tool's virtual clock origin; time is simulated"
    )]
    let t0 = Instant::now();
    let epoch = Duration::from_secs(1_700_000_000);
    let at = |t: Instant| epoch + (t - t0);
    let lo = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let (alice_sip, bob_sip) = (SocketAddr::new(lo, 5060), SocketAddr::new(lo, 5070));
    let (alice_rtp, bob_rtp) = (SocketAddr::new(lo, 40000), SocketAddr::new(lo, 40002));
    let rtcp_of = |a: SocketAddr| SocketAddr::new(a.ip(), a.port() + 1);
    let wall = NtpTime::from_unix(epoch);
    let cfg = |seed: u64, cname: &str| SessionConfig {
        seed,
        cname: cname.into(),
        wallclock: wall,
        min_sequential: 2,
        ..SessionConfig::default()
    };
    let mut alice = RtpSession::new(cfg(o.seed.wrapping_mul(2) + 1, "alice@127.0.0.1"), t0);
    let mut bob = RtpSession::new(cfg(o.seed.wrapping_mul(2) + 2, "bob@127.0.0.1"), t0);
    let mut rng = StdRng::seed_from_u64(o.seed ^ 0x6e65_7465_6d00);
    // (time, src, dst, bytes): everything captured, written in time order at the end.
    let mut frames: Vec<(Instant, SocketAddr, SocketAddr, Bytes)> = Vec::new();
    frames.push((
        t0,
        alice_sip,
        bob_sip,
        Bytes::from(sip_message(true, alice_rtp)),
    ));
    frames.push((
        t0 + Duration::from_millis(5),
        bob_sip,
        alice_sip,
        Bytes::from(sip_message(false, bob_rtp)),
    ));
    let start = t0 + Duration::from_millis(10);
    let mut dropped = 0u64;
    let mut duplicated = 0u64;
    // The key press: '5' from packet 100, 100 ms long, updates every 20 ms.
    let press_at = o.packets / 2;
    let press = dtmf::encode_key_press(
        DtmfEvent::from_char('5').unwrap_or(DtmfEvent::FLASH),
        10,
        0,
        800,
        160,
    );
    let mut pending_rtcp: Vec<(Instant, SocketAddr, SocketAddr, Bytes, bool)> = Vec::new();
    let mut now = start;
    let payload = Bytes::from(vec![0xFF; 160]);
    let mut i = 0u64;
    let mut dtmf_i = 0usize;
    let mut media_ticks = 0u64;
    while i < o.packets {
        // Alice -> Bob, through the emulator; during the key press the audio pauses and the
        // event packets go out instead (same clock, timestamp = event start).
        let pkt = if !o.no_dtmf && i >= press_at && dtmf_i < press.len() {
            let e = press[dtmf_i];
            dtmf_i += 1;
            let media = MediaTime::new(u64::from(e.timestamp) + press_at * 160, 8000);
            alice.send_packet(now, 101, media, e.marker, &e.payload.to_bytes())
        } else {
            let p = alice.send_rtp(
                now,
                MediaTime::new(media_ticks, 8000),
                i == 0,
                payload.clone(),
            );
            i += 1;
            p
        };
        media_ticks = (i + dtmf_i as u64) * 160;
        let bytes = pkt.into_inner();
        let edge = i <= 1 || i >= o.packets;
        if !edge && rng.random_bool(o.loss) {
            dropped += 1;
        } else {
            let copies = if !edge && rng.random_bool(o.loss / 4.0) {
                2
            } else {
                1
            };
            duplicated += copies - 1;
            for _ in 0..copies {
                let extra = if o.jitter_ms > 0.0 {
                    rng.random_range(0.0..o.jitter_ms)
                } else {
                    0.0
                };
                let arrive = now + Duration::from_secs_f64((1.0 + extra) / 1000.0);
                frames.push((arrive, alice_rtp, bob_rtp, bytes.clone()));
                if let Ok(p) = RtpPacket::new_checked(bytes.clone()) {
                    pending_rtcp.push((arrive, alice_rtp, bob_rtp, p.into_inner(), false));
                }
            }
        }
        // Bob -> Alice, clean.
        let back = bob.send_rtp(
            now,
            MediaTime::new((i + dtmf_i as u64) * 160, 8000),
            i == 1,
            payload.clone(),
        );
        let arrive = now + Duration::from_millis(1);
        frames.push((arrive, bob_rtp, alice_rtp, back.as_bytes().to_vec().into()));
        pending_rtcp.push((arrive, bob_rtp, alice_rtp, back.into_inner(), false));
        let next = now + Duration::from_millis(20);
        // Deliver what arrives before the next tick, in order, and run both RTCP timers.
        pending_rtcp.sort_by_key(|x| x.0);
        let due: Vec<_> = {
            let n = pending_rtcp.iter().take_while(|x| x.0 < next).count();
            pending_rtcp.drain(..n).collect()
        };
        for (t, _src, dst, b, is_rtcp) in due {
            let to_bob = dst == bob_rtp || dst == rtcp_of(bob_rtp);
            let s = if to_bob { &mut bob } else { &mut alice };
            if is_rtcp {
                let _ = s.handle_rtcp(t, &b);
            } else if let Ok(p) = RtpPacket::new_checked(b) {
                let _ = s.handle_rtp(t, &p);
            }
        }
        for (s, from, to) in [
            (&mut alice, alice_rtp, bob_rtp),
            (&mut bob, bob_rtp, alice_rtp),
        ] {
            while let Some(d) = s.poll_timeout().filter(|d| *d < next) {
                s.handle_timeout(d);
                while let Some(c) = s.poll_transmit() {
                    let arrive = d + Duration::from_millis(1);
                    frames.push((d, rtcp_of(from), rtcp_of(to), c.clone()));
                    pending_rtcp.push((arrive, rtcp_of(from), rtcp_of(to), c, true));
                }
                if s.poll_timeout() == Some(d) {
                    break;
                }
            }
            while s.poll_event().is_some() {}
        }
        now = next;
    }
    for (s, from, to) in [
        (&mut alice, alice_rtp, bob_rtp),
        (&mut bob, bob_rtp, alice_rtp),
    ] {
        s.close(now, Some("bye"));
        while let Some(c) = s.poll_transmit() {
            frames.push((now, rtcp_of(from), rtcp_of(to), c));
        }
    }
    frames.sort_by_key(|f| f.0);
    let file = std::fs::File::create(out).map_err(|e| format!("{out}: {e}"))?;
    let mut w =
        PcapWriter::new(std::io::BufWriter::new(file)).map_err(|e| format!("{out}: {e}"))?;
    for (t, src, dst, b) in &frames {
        w.write_udp(at(*t), *src, *dst, b)
            .map_err(|e| format!("{out}: {e}"))?;
    }
    w.finish().map_err(|e| format!("{out}: {e}"))?;
    println!(
        "dropped={dropped} duplicated={duplicated} alice_ssrc={:#010x} bob_ssrc={:#010x}",
        alice.ssrc().0,
        bob.ssrc().0
    );
    Ok(())
}

fn sip_message(invite: bool, media: SocketAddr) -> Vec<u8> {
    let sdp = format!(
        "v=0\r\no=- 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\nm=audio {port} RTP/AVP 0 101\r\n\
         a=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\n",
        ip = media.ip(),
        port = media.port()
    );
    let start = if invite {
        "INVITE sip:bob@127.0.0.1:5070 SIP/2.0"
    } else {
        "SIP/2.0 200 OK"
    };
    let port = if invite { 5060 } else { 5070 };
    format!(
        "{start}\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-synth-1\r\nMax-Forwards: 70\r\n\
         From: <sip:alice@127.0.0.1>;tag=a1\r\nTo: <sip:bob@127.0.0.1>{totag}\r\n\
         Call-ID: synth-call@127.0.0.1\r\nCSeq: 1 INVITE\r\nContact: <sip:{user}@127.0.0.1:{port}>\r\n\
         Content-Type: application/sdp\r\nContent-Length: {len}\r\n\r\n{sdp}",
        totag = if invite { "" } else { ";tag=b1" },
        user = if invite { "alice" } else { "bob" },
        len = sdp.len()
    )
    .into_bytes()
}
