//! RTP and RTCP in the shape real stacks send them (tests/data/vendor-style, see README.md
//! there): compound RTCP with XR VoIP metrics, multi-block RRs, APP, BYE with a padded reason,
//! reduced-size feedback; RTP with RFC 8285 extensions, CSRCs and padding; a phone's stream with
//! wraps, comfort noise, DTX, a duplicate, an RFC 4733 key press and an SSRC change, through the
//! parsers, the session statistics, the DTMF receiver and the capture analysis.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers outside #[test] fns"
)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use telox_rtp::analysis::StreamAnalysis;
use telox_rtp::dtmf::{DtmfEvent, DtmfNotice, DtmfReceiver};
use telox_rtp::packet::{ExtensionElement, ExtensionForm};
use telox_rtp::rtcp::{
    self, DlrrItem, RtcpPacket, SdesItem, Validation, VoipMetrics, XrBlock, build,
};
use telox_rtp::{
    NtpTime, RtcpError, RtpPacket, RtpSession, SeqUpdate, SessionConfig, SessionEvent, Ssrc,
};

#[expect(
    clippy::disallowed_methods,
    reason = "a test's time origin; all later times are virtual"
)]
fn t0() -> Instant {
    Instant::now()
}

/// One datagram of a data file, with its arrival time in ms when the line gives one (`@ms`).
struct Datagram {
    at_ms: Option<f64>,
    bytes: Vec<u8>,
}

fn load(name: &str) -> Vec<Datagram> {
    let path = format!(
        "{}/tests/data/vendor-style/{name}.hex",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (at_ms, hex) = match l.strip_prefix('@') {
                Some(rest) => {
                    let (t, h) = rest.split_once(' ').expect("@ms then hex");
                    (Some(t.parse().expect("a time in ms")), h)
                }
                None => (None, l),
            };
            let hex = hex.trim().as_bytes();
            assert!(hex.len() % 2 == 0, "{name}: odd hex length");
            let bytes = hex
                .chunks(2)
                .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
                .collect();
            Datagram { at_ms, bytes }
        })
        .collect()
}

/// The packets to send that write `packets` back.
fn to_build<'a>(packets: &[RtcpPacket<'a>]) -> Vec<build::RtcpPacket<'a>> {
    packets.iter().copied().map(Into::into).collect()
}

fn compound(name: &str, index: usize, validation: Validation) -> Vec<RtcpPacket<'static>> {
    let bytes: &'static [u8] = load(name).swap_remove(index).bytes.leak();
    let packets: Vec<_> = rtcp::parse_compound(bytes, validation)
        .unwrap_or_else(|e| panic!("{name}[{index}]: {e}"))
        .collect();
    // Every compound here is canonical: written back, it is the same bytes.
    assert_eq!(
        rtcp::compound_to_vec(&to_build(&packets)).unwrap(),
        bytes,
        "{name}[{index}]: not byte-exact"
    );
    packets
}

#[test]
fn every_file_of_the_folder_is_read_here() {
    let dir = format!("{}/tests/data/vendor-style", env!("CARGO_MANIFEST_DIR"));
    let mut found: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|f| f.strip_suffix(".hex").map(str::to_owned))
        .collect();
    found.sort();
    assert_eq!(
        found,
        [
            "app_in_compound",
            "bridge_rr_three_blocks",
            "bye_reason_padded_last",
            "cisco_rr_sdes_xr_all_blocks",
            "padding_not_last",
            "phone_call_stream",
            "polycom_sr_sdes_xr_voip",
            "reduced_size_feedback",
            "rtp_extensions_csrc_padding",
            "sdes_xr_layouts_from_reports",
            "webrtc_feedback",
        ]
    );
}

/// The blocks of an XR packet.
fn xr_blocks<'a>(p: &RtcpPacket<'a>) -> Vec<XrBlock<'a>> {
    let RtcpPacket::ExtendedReport(xr) = p else {
        panic!("not XR: {p:?}")
    };
    xr.blocks().iter().collect()
}

#[test]
fn phone_report_with_xr_voip_metrics() {
    let p = compound("polycom_sr_sdes_xr_voip", 0, Validation::Compound);
    assert_eq!(p.len(), 3);
    let RtcpPacket::SenderReport(sr) = &p[0] else {
        panic!("{:?}", p[0])
    };
    assert_eq!(sr.ssrc(), Ssrc(0x5A3C_1E07));
    assert_eq!(sr.ntp(), NtpTime(0xEB2A_61F4_4000_0000));
    assert_eq!((sr.packet_count(), sr.octet_count()), (251, 40160));
    let block = sr.reports().iter().next().unwrap();
    assert_eq!(block.ssrc, Ssrc(0x0B16_C3A9));
    assert_eq!((block.fraction_lost, block.cumulative_lost), (3, 5));
    assert_eq!(block.extended_highest_seq, 0x0001_0F3C);
    assert_eq!(
        (block.jitter, block.lsr, block.dlsr),
        (37, 0x61F1_2000, 0x0003_4000)
    );
    let RtcpPacket::SourceDescription(sdes) = &p[1] else {
        panic!("{:?}", p[1])
    };
    let chunk = sdes.chunks().iter().next().unwrap();
    assert_eq!(chunk.cname(), Some(&b"1001@10.1.20.52"[..]));
    let items: Vec<_> = chunk.items.iter().collect();
    assert_eq!(
        items[1],
        SdesItem::Tool(b"PolycomVVX-VVX_450-UA/6.4.6.2532")
    );
    let blocks = xr_blocks(&p[2]);
    assert_eq!(
        blocks[0],
        XrBlock::Rrtr {
            ntp: NtpTime(0xEB2A_61F4_4000_0000)
        }
    );
    let XrBlock::VoipMetrics(vm) = &blocks[1] else {
        panic!("{:?}", blocks[1])
    };
    assert_eq!(vm.ssrc, Ssrc(0x0B16_C3A9));
    assert_eq!(
        (
            vm.loss_rate,
            vm.discard_rate,
            vm.burst_density,
            vm.gap_density
        ),
        (5, 2, 64, 1)
    );
    assert_eq!((vm.burst_duration, vm.gap_duration), (40, 4980));
    assert_eq!((vm.round_trip_delay, vm.end_system_delay), (34, 80));
    // Signed levels in dBm0, 127 = unavailable.
    assert_eq!((vm.signal_level, vm.noise_level, vm.rerl), (-23, -67, 127));
    assert_eq!((vm.gmin, vm.r_factor, vm.ext_r_factor), (16, 88, 127));
    assert_eq!((vm.mos_lq, vm.mos_cq, vm.rx_config), (41, 40, 0xA8));
    assert_eq!(
        (vm.jb_nominal, vm.jb_maximum, vm.jb_abs_max),
        (60, 120, 200)
    );
}

#[test]
fn bridge_receiver_report_with_three_blocks_and_an_empty_one() {
    let p = compound("bridge_rr_three_blocks", 0, Validation::Compound);
    let RtcpPacket::ReceiverReport(rr) = &p[0] else {
        panic!("{:?}", p[0])
    };
    let blocks: Vec<_> = rr.reports().iter().collect();
    assert_eq!(blocks.len(), 3);
    assert_eq!(blocks[1].ssrc, Ssrc(0x33CC_44DD));
    assert_eq!(
        (blocks[1].fraction_lost, blocks[1].cumulative_lost),
        (26, 41)
    );
    assert_eq!(blocks[1].extended_highest_seq, 0x0002_0005);
    // A cumulative loss of -1 (a duplicate more than expected) is sign-extended from 24 bits.
    assert_eq!(blocks[2].cumulative_lost, -1);
    assert_eq!((blocks[2].lsr, blocks[2].dlsr), (0, 0));
    let RtcpPacket::SourceDescription(sdes) = &p[1] else {
        panic!("{:?}", p[1])
    };
    let items: Vec<_> = sdes.chunks().iter().next().unwrap().items.iter().collect();
    assert_eq!(items[1], SdesItem::Name(b"Conference 4711"));

    let p = compound("bridge_rr_three_blocks", 1, Validation::Compound);
    let RtcpPacket::ReceiverReport(rr) = &p[0] else {
        panic!("{:?}", p[0])
    };
    assert!(rr.reports().is_empty());
}

#[test]
fn bye_with_a_reason_and_padding_on_the_last_packet() {
    let name = "bye_reason_padded_last";
    let bytes = load(name).swap_remove(0).bytes;
    // The padded compound is not canonical (we write no padding); its packets are read.
    let p: Vec<_> = rtcp::parse_compound(&bytes, Validation::Compound)
        .unwrap()
        .collect();
    assert_eq!(p.len(), 3);
    let RtcpPacket::Goodbye(bye) = &p[2] else {
        panic!("{:?}", p[2])
    };
    assert_eq!(
        bye.sources().iter().collect::<Vec<_>>(),
        [Ssrc(0x2C1F_8E93)]
    );
    assert_eq!(bye.reason(), Some(&b"Call ended"[..]));
    // The three packets written back without the padding: 8 bytes shorter.
    assert_eq!(
        rtcp::compound_to_vec(&to_build(&p)).unwrap().len(),
        bytes.len() - 8
    );

    // A session that knows the source reports its BYE with the reason.
    let start = t0();
    let mut session = RtpSession::new(SessionConfig::default(), start);
    for (i, seq) in (100u16..103).enumerate() {
        let pkt = rtp_packet(0x2C1F_8E93, seq, 160 * seq as u32);
        session
            .handle_rtp(start + Duration::from_millis(20 * i as u64), &pkt)
            .unwrap();
    }
    while session.poll_event().is_some() {}
    session
        .handle_rtcp(start + Duration::from_millis(80), &bytes)
        .unwrap();
    assert_eq!(
        session.poll_event(),
        Some(SessionEvent::Bye {
            ssrc: Ssrc(0x2C1F_8E93),
            reason: Some("Call ended".to_owned())
        })
    );
    assert_eq!(session.cname_of(Ssrc(0x2C1F_8E93)), None, "gone after BYE");
}

fn rtp_packet(ssrc: u32, seq: u16, ts: u32) -> RtpPacket<Bytes> {
    let mut v = vec![0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    v[2..4].copy_from_slice(&seq.to_be_bytes());
    v[4..8].copy_from_slice(&ts.to_be_bytes());
    v[8..12].copy_from_slice(&ssrc.to_be_bytes());
    v.extend_from_slice(&[0xFF; 160]);
    RtpPacket::new_checked(Bytes::from(v)).unwrap()
}

#[test]
fn app_packet_after_the_report() {
    let p = compound("app_in_compound", 0, Validation::Compound);
    let RtcpPacket::App(app) = &p[2] else {
        panic!("{:?}", p[2])
    };
    assert_eq!((app.subtype(), app.ssrc()), (3, Ssrc(0x4455_6677)));
    assert_eq!(&app.name(), b"QOSR");
    assert_eq!(app.data(), [0x00, 0x2A, 0x01, 0x90, 0x00, 0x00, 0x00, 0x11]);
    // A session takes the compound and learns the CNAME, ignoring the APP.
    let start = t0();
    let mut session = RtpSession::new(SessionConfig::default(), start);
    for seq in 0u16..3 {
        session
            .handle_rtp(start, &rtp_packet(0x4455_6677, seq, 160 * u32::from(seq)))
            .unwrap();
    }
    let bytes = load("app_in_compound").swap_remove(0).bytes;
    session.handle_rtcp(start, &bytes).unwrap();
    assert_eq!(
        session.cname_of(Ssrc(0x4455_6677)),
        Some(&b"gw1@192.0.2.10"[..])
    );
    let last_sr = session
        .source_stats(Ssrc(0x4455_6677))
        .unwrap()
        .last_sr
        .unwrap();
    assert_eq!(last_sr.rtp_timestamp, 0x3E80);
}

#[test]
fn reduced_size_feedback_alone_in_a_datagram() {
    let name = "reduced_size_feedback";
    let nack = compound(name, 0, Validation::ReducedSize);
    let RtcpPacket::GenericNack(n) = &nack[0] else {
        panic!("{:?}", nack[0])
    };
    let lost: Vec<u16> = n.pairs().iter().flat_map(|p| p.lost()).collect();
    assert_eq!(lost, [1000, 1002, 1005]);
    let pli = compound(name, 1, Validation::ReducedSize);
    assert!(matches!(pli[0], RtcpPacket::PictureLossIndication(_)));
    compound(name, 2, Validation::ReducedSize);
    // The same datagrams are not compounds (RFC 3550 §6.1): refused unless reduced size is on.
    let d = load(name);
    assert_eq!(
        rtcp::parse_compound(&d[0].bytes, Validation::Compound).err(),
        Some(RtcpError::FirstNotReport(205))
    );
    assert_eq!(
        rtcp::parse_compound(&d[2].bytes, Validation::Compound).err(),
        Some(RtcpError::MissingCname)
    );
    // A session configured for RFC 5506 takes a NACK about its own stream.
    let start = t0();
    let config = SessionConfig {
        reduced_size: true,
        ssrc: Some(Ssrc(0x0B16_C3A9)),
        ..Default::default()
    };
    let mut session = RtpSession::new(config, start);
    session.handle_rtcp(start, &d[0].bytes).unwrap();
    assert_eq!(
        session.poll_event(),
        Some(SessionEvent::Nack {
            from: Ssrc(0x9F3E_2D1C),
            lost: vec![1000, 1002, 1005]
        })
    );
}

#[test]
fn padding_before_the_last_packet_is_refused() {
    let d = load("padding_not_last");
    assert_eq!(
        rtcp::parse_compound(&d[0].bytes, Validation::Compound).err(),
        Some(RtcpError::BadPadding { at: 0 })
    );
}

#[test]
fn extensions_csrcs_and_padding() {
    let d = load("rtp_extensions_csrc_padding");
    let pk: Vec<RtpPacket<Bytes>> = d
        .iter()
        .map(|d| RtpPacket::new_checked(Bytes::from(d.bytes.clone())).unwrap())
        .collect();
    let elements = |p: &RtpPacket<Bytes>| -> Vec<(u8, Vec<u8>)> {
        p.extension()
            .unwrap()
            .elements()
            .map(|ExtensionElement { id, data }| (id, data.to_vec()))
            .collect()
    };
    // One-byte form: audio level (V bit set, 42 -dBov), a padding byte, abs-send-time.
    let ext = pk[0].extension().unwrap();
    assert_eq!(ext.form(), Some(ExtensionForm::OneByte));
    assert_eq!(
        elements(&pk[0]),
        [(1, vec![0x80 | 42]), (3, vec![0x12, 0x34, 0x56])]
    );
    assert!(pk[0].marker());
    assert_eq!(pk[0].payload(), (0u8..40).collect::<Vec<_>>());
    // Two-byte form: an empty element and id 17.
    assert_eq!(
        pk[1].extension().unwrap().form(),
        Some(ExtensionForm::TwoByte { appbits: 0 })
    );
    assert_eq!(elements(&pk[1]), [(1, vec![]), (17, vec![0xAB, 0xCD])]);
    assert_eq!(pk[1].payload().len(), 40);
    // A mixer's CSRCs.
    assert_eq!(
        pk[2].csrcs().collect::<Vec<_>>(),
        [Ssrc(0x0101_0101), Ssrc(0x0202_0202)]
    );
    assert_eq!((pk[2].header_len(), pk[2].payload().len()), (20, 160));
    // Padding: 12 bytes, the payload is the 4 before them.
    assert!(pk[3].has_padding());
    assert_eq!(
        (pk[3].padding_len(), pk[3].payload()),
        (12, &[1, 2, 3, 4][..])
    );
    // All three at once.
    assert_eq!(pk[4].csrcs().count(), 1);
    assert_eq!(elements(&pk[4]).len(), 2);
    assert_eq!(pk[4].padding_len(), 4);
    assert_eq!(pk[4].payload(), [0xAA; 20]);
    // A generic extension has no RFC 8285 elements but keeps its data.
    let ext = pk[5].extension().unwrap();
    assert_eq!(
        (ext.profile, ext.data),
        (0xABAC, &[0xDE, 0xAD, 0xBE, 0xEF][..])
    );
    assert_eq!(ext.form(), None);
    assert_eq!(ext.elements().count(), 0);
    // Each packet's header is rebuilt byte for byte from what was parsed.
    for (p, d) in pk.iter().zip(&d) {
        let rebuilt = p.header().to_vec(p.payload()).unwrap();
        assert_eq!(rebuilt, d.bytes, "seq {}", p.sequence_number());
    }
}

/// The phone stream's packets with their arrival times.
fn call_stream() -> Vec<(Duration, RtpPacket<Bytes>)> {
    load("phone_call_stream")
        .into_iter()
        .map(|d| {
            let at = Duration::from_secs_f64(d.at_ms.expect("an arrival time") / 1000.0);
            (at, RtpPacket::new_checked(Bytes::from(d.bytes)).unwrap())
        })
        .collect()
}

const FIRST: Ssrc = Ssrc(0x6A3F_0C21);
const SECOND: Ssrc = Ssrc(0x1D7E_52B4);

#[test]
fn phone_stream_through_the_session_statistics() {
    let start = t0();
    let mut session = RtpSession::new(SessionConfig::default(), start);
    let mut updates = Vec::new();
    for (at, p) in call_stream() {
        updates.push(session.handle_rtp(start + at, &p).unwrap());
    }
    // Each SSRC is validated once (after MIN_SEQUENTIAL = 2), with no restart or bad jump:
    // the sequence wrap, the DTX gap and the key press are all in order.
    let validated: Vec<Ssrc> = std::iter::from_fn(|| session.poll_event())
        .filter_map(|e| match e {
            SessionEvent::NewSource { ssrc } => Some(ssrc),
            _ => None,
        })
        .collect();
    assert_eq!(validated, [FIRST, SECOND]);
    assert!(
        !updates
            .iter()
            .any(|u| matches!(u, SeqUpdate::Restarted | SeqUpdate::BadJump))
    );
    // First SSRC: 111 packets (one a duplicate) over 110 sequence numbers from 65530 through
    // the wrap to 103; A.1 counts from the validating packet (65531).
    let a = session.source_stats(FIRST).unwrap();
    assert_eq!(a.extended_highest_seq.0, 65536 + 103);
    assert_eq!((a.expected, a.received, a.duplicates), (109, 110, 1));
    assert_eq!(a.lost, -1);
    assert_eq!(a.loss_percent, 0.0);
    // Second SSRC: 50 packets from 1200, none lost.
    let b = session.source_stats(SECOND).unwrap();
    assert_eq!(b.extended_highest_seq.0, 1249);
    assert_eq!((b.expected, b.received, b.lost), (49, 49, 0));
    // The new source's jitter starts afresh: a 0/1/2/1 ms pattern is 8 ticks at most per
    // packet, so the estimate stays under 1 ms (it does not inherit the old stream's offset).
    assert!(b.jitter_ms < 1.0, "{}", b.jitter_ms);
    // The main source of the call is the one still sending.
    assert_eq!(session.stats().ssrc, SECOND);
}

#[test]
fn phone_stream_key_press_reported_once() {
    let mut rx = DtmfReceiver::new();
    let mut markers = 0;
    for (_, p) in call_stream() {
        if p.payload_type() == 101 {
            markers += usize::from(p.marker());
            rx.handle_packet(p.timestamp(), p.payload()).unwrap();
        }
    }
    assert_eq!(markers, 1);
    let notices: Vec<_> = std::iter::from_fn(|| rx.poll_event()).collect();
    let five = DtmfEvent::from_char('5').unwrap();
    let DtmfNotice::Begin { event, timestamp } = notices[0] else {
        panic!("{notices:?}")
    };
    assert_eq!(event, five);
    assert_eq!(
        notices,
        [
            DtmfNotice::Begin { event, timestamp },
            DtmfNotice::End {
                event: five,
                timestamp,
                duration: 800
            }
        ],
        "three end packets, one key press"
    );
}

#[test]
fn phone_stream_capture_analysis_per_ssrc() {
    let mut first = StreamAnalysis::new();
    let mut second = StreamAnalysis::new();
    let mut markers = Vec::new();
    for (at, p) in call_stream() {
        let rate = match p.payload_type() {
            0 | 13 => 8000,
            _ => 0, // telephone-event: no jitter from its frozen timestamp
        };
        if p.marker() {
            markers.push((p.ssrc(), p.payload_type()));
        }
        let a = if p.ssrc() == FIRST {
            &mut first
        } else {
            &mut second
        };
        a.handle(at, &p, rate);
    }
    // Talkspurt starts carry the marker: three talkspurts, the key press, the new SSRC.
    assert_eq!(
        markers,
        [
            (FIRST, 0),
            (FIRST, 0),
            (FIRST, 101),
            (FIRST, 0),
            (SECOND, 0)
        ]
    );
    // Wireshark's way: every packet counts, expected from lowest to highest sequence number.
    let s = first.summary();
    assert_eq!((s.packets, s.expected, s.lost), (111, 110, -1));
    // One sequence error: the duplicate.
    assert_eq!(s.sequence_errors, 1);
    assert_eq!(s.payload_type, 0);
    assert_eq!(s.packetization_ms, 20.0);
    let s = second.summary();
    assert_eq!(
        (s.packets, s.expected, s.lost, s.sequence_errors),
        (50, 50, 0, 0)
    );
    assert!(s.max_jitter_ms < 2.0, "{}", s.max_jitter_ms);
}

/// SDES and XR layouts other stacks misread, each reported from the field: a chunk whose
/// items end on a 32-bit boundary and so take four null octets (mediasoup#1139), an SDES with
/// TOOL before a BYE (sipsorcery#1809 found its BYE by re-encoding the SDES, which kept only
/// the CNAME), and an XR block of a type no RFC registers, as Chrome sent it (mediasoup#151).
#[test]
fn sdes_and_xr_layouts_other_stacks_misread() {
    let name = "sdes_xr_layouts_from_reports";
    let p = compound(name, 0, Validation::Compound);
    let RtcpPacket::SourceDescription(sdes) = &p[1] else {
        panic!("{:?}", p[1])
    };
    let chunks: Vec<_> = sdes.chunks().iter().collect();
    assert_eq!(chunks.len(), 2);
    assert_eq!(chunks[0].cname(), Some(&b"rtc-7f3a"[..]));
    assert!(
        chunks[0]
            .items
            .iter()
            .any(|i| i == SdesItem::Tool("ñandú1".as_bytes()))
    );
    assert_eq!(chunks[1].ssrc, Ssrc(0x2F61_A005));
    assert_eq!(
        chunks[1].items.iter().collect::<Vec<_>>(),
        [SdesItem::Note(b"mix")]
    );

    let p = compound(name, 1, Validation::Compound);
    let RtcpPacket::Goodbye(bye) = &p[2] else {
        panic!("{:?}", p.get(2))
    };
    assert_eq!(
        (bye.sources().iter().collect::<Vec<_>>(), bye.reason()),
        (vec![Ssrc(0x2F61_A004)], None)
    );

    let p = compound(name, 2, Validation::Compound);
    let RtcpPacket::ExtendedReport(xr) = &p[2] else {
        panic!("{:?}", p.get(2))
    };
    assert_eq!(
        xr.blocks().iter().collect::<Vec<_>>(),
        [XrBlock::Unknown {
            block_type: 42,
            type_specific: 0,
            data: &[1, 2, 3, 4, 5, 6, 7, 8]
        }]
    );
}

/// Our SSRC in `cisco_rr_sdes_xr_all_blocks` and `webrtc_feedback`.
const OURS: Ssrc = Ssrc(0x1122_3344);

/// A session sending as [`OURS`], its events drained.
fn our_session(start: Instant, reduced_size: bool) -> RtpSession {
    let config = SessionConfig {
        ssrc: Some(OURS),
        reduced_size,
        ..Default::default()
    };
    RtpSession::new(config, start)
}

fn events(session: &mut RtpSession) -> Vec<SessionEvent> {
    std::iter::from_fn(|| session.poll_event()).collect()
}

#[test]
fn phone_receiver_report_with_every_xr_block() {
    let name = "cisco_rr_sdes_xr_all_blocks";
    let p = compound(name, 0, Validation::Compound);
    assert_eq!(p.len(), 3);
    let RtcpPacket::ReceiverReport(rr) = &p[0] else {
        panic!("{:?}", p[0])
    };
    assert_eq!(rr.ssrc(), Ssrc(0x5A1C_0FFE));
    let block = rr.reports().iter().next().unwrap();
    assert_eq!((block.ssrc, block.fraction_lost), (OURS, 5));
    assert_eq!((block.cumulative_lost, block.jitter), (37, 123));
    let RtcpPacket::SourceDescription(sdes) = &p[1] else {
        panic!("{:?}", p[1])
    };
    let items: Vec<_> = sdes.chunks().iter().next().unwrap().items.iter().collect();
    assert_eq!(
        items,
        [
            SdesItem::Cname(b"1001@10.20.30.41"),
            SdesItem::Name(b"Reception 1001"),
            SdesItem::Tool(b"Cisco-CP8865/14.2.1"),
            SdesItem::Priv {
                prefix: b"x-cisco",
                value: b"dev=SEP00AABBCCDDEE"
            },
        ]
    );
    let blocks = xr_blocks(&p[2]);
    let rrtr = XrBlock::Rrtr {
        ntp: NtpTime(0xE9A1_B2C3_8000_0000),
    };
    assert_eq!((blocks.len(), &blocks[0]), (4, &rrtr));
    let XrBlock::Dlrr(items) = &blocks[1] else {
        panic!("{:?}", blocks[1])
    };
    let items: Vec<_> = items.iter().map(|i| (i.ssrc, i.lrr, i.dlrr)).collect();
    assert_eq!(
        items,
        [
            (OURS, 0xB2C3_8000, 0x4000),
            (Ssrc(0x0BAD_CAFE), 0xB2C3_7000, 0x0001_0000)
        ]
    );
    let XrBlock::StatisticsSummary(s) = &blocks[2] else {
        panic!("{:?}", blocks[2])
    };
    assert_eq!(
        (
            s.loss_flag,
            s.duplicate_flag,
            s.jitter_flag,
            s.ttl_or_hop_limit
        ),
        (true, true, true, 1)
    );
    assert_eq!((s.ssrc, s.begin_seq, s.end_seq), (OURS, 0xFF9C, 0x0010));
    assert_eq!((s.lost_packets, s.dup_packets), (37, 2));
    assert_eq!(
        (s.min_jitter, s.max_jitter, s.mean_jitter, s.dev_jitter),
        (8, 312, 40, 21)
    );
    assert_eq!(
        (
            s.min_ttl_or_hl,
            s.max_ttl_or_hl,
            s.mean_ttl_or_hl,
            s.dev_ttl_or_hl
        ),
        (52, 64, 58, 3)
    );
    let XrBlock::VoipMetrics(vm) = &blocks[3] else {
        panic!("{:?}", blocks[3])
    };
    assert_eq!(
        *vm,
        VoipMetrics {
            ssrc: OURS,
            loss_rate: 12,
            discard_rate: 3,
            burst_density: 40,
            gap_density: 2,
            burst_duration: 120,
            gap_duration: 1880,
            round_trip_delay: 84,
            end_system_delay: 112,
            signal_level: -23,
            noise_level: -67,
            rerl: 127,
            gmin: 16,
            r_factor: 82,
            ext_r_factor: 127,
            mos_lq: 38,
            mos_cq: 37,
            rx_config: 0x6A,
            jb_nominal: 40,
            jb_maximum: 100,
            jb_abs_max: 200,
        }
    );

    // The session reports the phone's block about our stream, its DLRR sub-block about us
    // (not the one about 0x0BAD_CAFE) and its VoIP metrics about us. Neither gives an RTT:
    // their LSR and LRR are no NTP time this session sent (taken, they gave ~19,772 s).
    let start = t0();
    let mut session = our_session(start, false);
    let bytes = load(name).swap_remove(0).bytes;
    session.handle_rtcp(start, &bytes).unwrap();
    let ev = events(&mut session);
    let dlrr = DlrrItem {
        ssrc: OURS,
        lrr: 0xB2C3_8000,
        dlrr: 0x4000,
    };
    assert!(
        matches!(ev.as_slice(), [
            SessionEvent::Report { from, block: b, rtt: None },
            SessionEvent::Dlrr { from: f3, item, rtt: None },
            SessionEvent::VoipMetrics { from: f2, metrics },
        ] if *from == Ssrc(0x5A1C_0FFE) && b == &block && *f2 == *from && metrics == vm
            && *f3 == *from && *item == dlrr),
        "{ev:?}"
    );
}

#[test]
fn sender_report_without_blocks_and_sdes_with_every_item() {
    let name = "cisco_rr_sdes_xr_all_blocks";
    let p = compound(name, 1, Validation::Compound);
    let RtcpPacket::SenderReport(sr) = &p[0] else {
        panic!("{:?}", p[0])
    };
    assert!(sr.reports().is_empty());
    assert_eq!(
        (sr.rtp_timestamp(), sr.packet_count(), sr.octet_count()),
        (0x1234_5678, 1234, 197_392)
    );
    let RtcpPacket::SourceDescription(sdes) = &p[1] else {
        panic!("{:?}", p[1])
    };
    let chunks: Vec<_> = sdes.chunks().iter().collect();
    assert_eq!(chunks.len(), 2);
    let kinds: Vec<u8> = chunks[0].items.iter().map(|i| i.kind()).collect();
    assert_eq!(kinds, [1, 2, 3, 4, 5, 6, 7, 8]);
    assert_eq!(
        chunks[0].items.iter().last(),
        Some(SdesItem::Priv {
            prefix: b"x-polycom-",
            value: b"line=1"
        })
    );
    assert_eq!(chunks[1].ssrc, Ssrc(0x7E57_0002));
    assert_eq!(
        chunks[1].items.iter().collect::<Vec<_>>(),
        [
            SdesItem::Cname(b"conf-bridge@10.20.30.50"),
            SdesItem::Priv {
                prefix: b"",
                value: b""
            }
        ]
    );
    // The session keeps the sender's SR and CNAME; nothing is reported about our stream.
    let start = t0();
    let mut session = our_session(start, false);
    let bytes = load(name).swap_remove(1).bytes;
    session.handle_rtcp(start, &bytes).unwrap();
    assert_eq!(events(&mut session), []);
    let phone = Ssrc(0x5A1C_0FFE);
    assert_eq!(session.cname_of(phone), Some(&b"1001@10.20.30.41"[..]));
    let last_sr = session.source_stats(phone).unwrap().last_sr.unwrap();
    assert_eq!(last_sr.rtp_timestamp, 0x1234_5678);
}

#[test]
fn webrtc_feedback_is_read_and_unknown_kinds_are_skipped() {
    let name = "webrtc_feedback";
    let p = compound(name, 0, Validation::Compound);
    let kinds: Vec<_> = p
        .iter()
        .map(|p| match p {
            RtcpPacket::ReceiverReport(_) => "RR",
            RtcpPacket::SourceDescription(_) => "SDES",
            RtcpPacket::GenericNack(_) => "NACK",
            RtcpPacket::PictureLossIndication(_) => "PLI",
            RtcpPacket::Unknown {
                pt: 206, count: 4, ..
            } => "FIR",
            RtcpPacket::Unknown {
                pt: 206,
                count: 15,
                body,
            } if body.get(8..12) == Some(b"REMB") => "REMB",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["RR", "SDES", "NACK", "PLI", "FIR", "REMB"]);
    // TWCC padded as the last packet: its body without the 3 padding bytes.
    let d = load(name);
    let p: Vec<_> = rtcp::parse_compound(&d[1].bytes, Validation::Compound)
        .unwrap()
        .collect();
    assert!(
        matches!(p.as_slice(), [RtcpPacket::ReceiverReport(_), RtcpPacket::SourceDescription(_), RtcpPacket::Unknown { pt: 205, count: 15, body }] if body.len() == 21),
        "{p:?}"
    );
    // Reduced size: a lone FIR, a lone REMB, a lone padded TWCC.
    for d in &d[2..] {
        assert_eq!(
            rtcp::parse_compound(&d.bytes, Validation::ReducedSize)
                .unwrap()
                .count(),
            1
        );
    }

    // The session acts on the NACK and PLI about our stream, skips the rest without a
    // violation, and a reduced-size session takes the lone ones the same way.
    let start = t0();
    let mut session = our_session(start, false);
    for d in &d[..2] {
        session.handle_rtcp(start, &d.bytes).unwrap();
    }
    let ev = events(&mut session);
    let browser = Ssrc(1);
    assert!(
        matches!(ev.as_slice(), [SessionEvent::Report { from, .. }, SessionEvent::Nack { from: f2, lost }, SessionEvent::PictureLoss { from: f3 }]
            if *from == browser && *f2 == browser && lost == &[4000, 4001, 4003] && *f3 == browser),
        "{ev:?}"
    );
    assert_eq!(session.rtcp_violations(), 0);
    let mut session = our_session(start, true);
    for d in &d[2..] {
        session.handle_rtcp(start, &d.bytes).unwrap();
    }
    assert_eq!(events(&mut session), []);
    assert_eq!(session.rtcp_violations(), 0);
}
