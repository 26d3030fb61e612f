//! Hand-assembled RTCP packets (field by field from RFC 3550, 3611, 4585) parsed and rebuilt.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers outside #[test] fns"
)]

use telox_rtp::rtcp::build::{
    self, App, ExtendedReport, GenericNack, Goodbye, PictureLossIndication, ReceiverReport,
    SenderReport, SourceDescription,
};
use telox_rtp::rtcp::{
    self, DlrrItem, List, NackPair, ReportBlock, RtcpPacket, SdesItem, StatisticsSummary,
    Validation, VoipMetrics, XrBlock,
};
use telox_rtp::{NtpTime, RtcpError, Ssrc};

// SR with one report block, then SDES with CNAME "ab" (RFC 3550 §6.4.1, §6.5).
const SR_SDES: [u8; 64] = [
    0x81, 200, 0x00, 0x0C, // V=2 RC=1 PT=SR length=12 (52 bytes)
    0x11, 0x22, 0x33, 0x44, // SSRC of sender
    0xE0, 0x00, 0x00, 0x01, 0x80, 0x00, 0x00, 0x00, // NTP 0xE0000001.80000000
    0x00, 0x00, 0x1F, 0x40, // RTP timestamp 8000
    0x00, 0x00, 0x00, 0x32, // packet count 50
    0x00, 0x00, 0x1F, 0x40, // octet count 8000
    0x55, 0x66, 0x77, 0x88, // report block: SSRC
    0x40, 0xFF, 0xFF, 0xFE, // fraction lost 64/256, cumulative lost -2
    0x00, 0x01, 0x00, 0x05, // extended highest seq: 1 cycle, seq 5
    0x00, 0x00, 0x00, 0x64, // jitter 100
    0xB7, 0x05, 0x20, 0x00, // LSR
    0x00, 0x05, 0x40, 0x00, // DLSR 5.25 s
    0x81, 202, 0x00, 0x02, // V=2 SC=1 PT=SDES length=2 (12 bytes)
    0x11, 0x22, 0x33, 0x44, // chunk SSRC
    0x01, 0x02, b'a', b'b', // CNAME len 2 "ab", then the null terminator word below
];

fn sr_sdes_full() -> Vec<u8> {
    let mut v = SR_SDES.to_vec();
    // The SDES chunk: 4 (ssrc) + 4 (item) + 1 null padded to 4: one more word.
    v.extend_from_slice(&[0, 0, 0, 0]);
    v
}

#[test]
fn sender_report_and_sdes_every_field() {
    let mut bytes = sr_sdes_full();
    // Length of SDES is 3 words after the header (ssrc, item, terminator).
    bytes[55] = 3;
    let packets: Vec<_> = rtcp::parse_compound(&bytes, Validation::Compound)
        .unwrap()
        .collect();
    assert_eq!(packets.len(), 2);
    let RtcpPacket::SenderReport(sr) = &packets[0] else {
        panic!("not an SR: {:?}", packets[0])
    };
    assert_eq!(sr.ssrc(), Ssrc(0x1122_3344));
    assert_eq!(sr.ntp(), NtpTime(0xE000_0001_8000_0000));
    assert_eq!(
        (sr.rtp_timestamp(), sr.packet_count(), sr.octet_count()),
        (8000, 50, 8000)
    );
    let blocks: Vec<_> = sr.reports().iter().collect();
    assert_eq!(
        blocks,
        vec![ReportBlock {
            ssrc: Ssrc(0x5566_7788),
            fraction_lost: 64,
            cumulative_lost: -2,
            extended_highest_seq: 0x0001_0005,
            jitter: 100,
            lsr: 0xB705_2000,
            dlsr: 0x0005_4000,
        }]
    );
    let RtcpPacket::SourceDescription(sdes) = &packets[1] else {
        panic!()
    };
    let chunk = sdes.chunks().iter().next().unwrap();
    assert_eq!(chunk.cname(), Some(&b"ab"[..]));
    // Rebuild from owned values: byte-exact.
    let owned = vec![
        build::RtcpPacket::SenderReport(SenderReport {
            reports: List::Owned(blocks),
            ..SenderReport::from(*sr)
        }),
        build::RtcpPacket::SourceDescription(SourceDescription::cname(Ssrc(0x1122_3344), b"ab")),
    ];
    assert_eq!(rtcp::compound_to_vec(&owned).unwrap(), bytes);
    // And the parsed (wire) form writes back identically too.
    let rewritten: Vec<build::RtcpPacket<'_>> = packets.iter().copied().map(Into::into).collect();
    assert_eq!(rtcp::compound_to_vec(&rewritten).unwrap(), bytes);
}

#[test]
fn compound_validity_rules() {
    let mut bytes = sr_sdes_full();
    bytes[55] = 3;
    // Lengths must add up: a truncated compound is an error at the right offset.
    assert!(matches!(
        rtcp::parse_compound(&bytes[..60], Validation::Compound),
        Err(RtcpError::Truncated {
            at: 52,
            need: 16,
            have: 8
        })
    ));
    // SDES first: not allowed in a full compound, fine in reduced size.
    let sdes_only = &bytes[52..];
    assert_eq!(
        rtcp::parse_compound(sdes_only, Validation::Compound).unwrap_err(),
        RtcpError::FirstNotReport(202)
    );
    assert!(rtcp::parse_compound(sdes_only, Validation::ReducedSize).is_ok());
    // SR alone lacks the CNAME.
    assert_eq!(
        rtcp::parse_compound(&bytes[..52], Validation::Compound).unwrap_err(),
        RtcpError::MissingCname
    );
    // Padding on the first packet of a compound is invalid.
    let mut padded = bytes.clone();
    padded[0] |= 0x20;
    padded[51] = 4;
    assert_eq!(
        rtcp::parse_compound(&padded, Validation::Compound).unwrap_err(),
        RtcpError::BadPadding { at: 0 }
    );
    // Version 1.
    let mut v1 = bytes.clone();
    v1[52] = 0x41;
    assert_eq!(
        rtcp::parse_compound(&v1, Validation::Compound).unwrap_err(),
        RtcpError::BadVersion { at: 52, version: 1 }
    );
    assert_eq!(
        rtcp::parse_compound(&[], Validation::Compound).unwrap_err(),
        RtcpError::Empty
    );
    // Report count larger than the packet.
    let mut rc = bytes.clone();
    rc[0] = 0x82;
    assert!(matches!(
        rtcp::parse_compound(&rc, Validation::Compound),
        Err(RtcpError::Malformed { pt: 200, at: 0, .. })
    ));
    // Every truncated prefix fails cleanly.
    for n in 0..bytes.len() {
        assert!(rtcp::parse_compound(&bytes[..n], Validation::ReducedSize).is_err() || n % 4 == 0);
    }
}

/// The one-pass iterator: packets come out as they are checked, the first error once, then
/// nothing; the §6.1 rules and RFC 5506 reduced size as in `compound_validity_rules`.
#[test]
fn one_pass_iterator_yields_then_stops_at_the_first_error() {
    let mut bytes = sr_sdes_full();
    bytes[55] = 3;
    let all: Vec<_> = rtcp::iter_compound(&bytes, Validation::Compound).collect();
    let whole: Vec<_> = rtcp::parse_compound(&bytes, Validation::Compound)
        .unwrap()
        .collect();
    assert_eq!(all, whole.into_iter().map(Ok).collect::<Vec<_>>());
    assert_eq!(all.len(), 2);

    // Truncated SDES: the SR is yielded, then the error, then the iteration is over.
    let mut it = rtcp::iter_compound(&bytes[..60], Validation::Compound);
    assert!(matches!(it.next(), Some(Ok(RtcpPacket::SenderReport(_)))));
    assert_eq!(it.remaining(), &bytes[52..60]);
    assert_eq!(
        it.next(),
        Some(Err(RtcpError::Truncated {
            at: 52,
            need: 16,
            have: 8
        }))
    );
    assert_eq!(it.next(), None);
    assert_eq!(it.next(), None);

    // No CNAME: known only at the end, after the SR was yielded.
    let mut it = rtcp::iter_compound(&bytes[..52], Validation::Compound);
    assert!(matches!(it.next(), Some(Ok(RtcpPacket::SenderReport(_)))));
    assert_eq!(it.next(), Some(Err(RtcpError::MissingCname)));
    assert_eq!(it.next(), None);
    // Reduced size needs no CNAME and no report first.
    assert_eq!(
        rtcp::iter_compound(&bytes[..52], Validation::ReducedSize).count(),
        1
    );
    let sdes_only = &bytes[52..];
    let mut it = rtcp::iter_compound(sdes_only, Validation::Compound);
    assert_eq!(it.next(), Some(Err(RtcpError::FirstNotReport(202))));
    assert_eq!(it.next(), None);
    let mut it = rtcp::iter_compound(sdes_only, Validation::ReducedSize);
    assert!(matches!(
        it.next(),
        Some(Ok(RtcpPacket::SourceDescription(_)))
    ));
    assert_eq!(it.next(), None);

    // Padding only on the last packet: the first packet is refused before it is yielded.
    let mut padded = bytes.clone();
    padded[0] |= 0x20;
    padded[51] = 4;
    let mut it = rtcp::iter_compound(&padded, Validation::Compound);
    assert_eq!(it.next(), Some(Err(RtcpError::BadPadding { at: 0 })));
    assert_eq!(it.next(), None);
    // Padding on the last packet is fine: 4 padding octets after the SDES chunk.
    let mut last_padded = bytes.clone();
    last_padded[52] |= 0x20;
    last_padded[55] = 4;
    last_padded.extend_from_slice(&[0, 0, 0, 4]);
    let ps: Result<Vec<_>, _> = rtcp::iter_compound(&last_padded, Validation::Compound).collect();
    assert_eq!(ps.unwrap().len(), 2);

    // An SDES chunk that does not end inside its packet is refused when reached.
    let mut bad_sdes = bytes.clone();
    bad_sdes[61] = 9; // CNAME length past the chunk
    let mut it = rtcp::iter_compound(&bad_sdes, Validation::Compound);
    assert!(matches!(it.next(), Some(Ok(_))));
    assert!(matches!(
        it.next(),
        Some(Err(RtcpError::Malformed {
            pt: 202,
            at: 52,
            ..
        }))
    ));

    let mut it = rtcp::iter_compound(&[], Validation::ReducedSize);
    assert_eq!(it.next(), Some(Err(RtcpError::Empty)));
    assert_eq!(it.next(), None);
    // A tail shorter than a header after a whole packet.
    let mut tail = bytes.clone();
    tail.extend_from_slice(&[0x80, 201]);
    let r: Result<Vec<_>, _> = rtcp::iter_compound(&tail, Validation::Compound).collect();
    assert_eq!(
        r.unwrap_err(),
        RtcpError::Truncated {
            at: 68,
            need: 4,
            have: 2
        }
    );
}

#[test]
fn bye_with_reason_app_nack_pli() {
    let bye = [
        0x82, 203, 0x00, 0x04, // SC=2 BYE length 4
        0, 0, 0, 1, 0, 0, 0, 2, // two SSRCs
        5, b'c', b'l', b'o', b's', b'e', 0, 0, // reason "close", padded
    ];
    let (p, len) = RtcpPacket::parse(&bye).unwrap();
    assert_eq!(len, 20);
    let RtcpPacket::Goodbye(b) = &p else { panic!() };
    assert_eq!(
        b.sources().iter().collect::<Vec<_>>(),
        vec![Ssrc(1), Ssrc(2)]
    );
    assert_eq!(b.reason(), Some(&b"close"[..]));
    let owned = build::RtcpPacket::Goodbye(Goodbye {
        sources: List::Owned(vec![Ssrc(1), Ssrc(2)]),
        reason: Some(b"close"),
    });
    assert_eq!(rtcp::compound_to_vec(&[owned]).unwrap(), bye);

    let app = [
        0x83, 204, 0x00, 0x03, 0, 0, 0, 9, b'T', b'E', b'S', b'T', 1, 2, 3, 4,
    ];
    let (p, _) = RtcpPacket::parse(&app).unwrap();
    assert_eq!(
        p,
        build::RtcpPacket::App(App {
            subtype: 3,
            ssrc: Ssrc(9),
            name: *b"TEST",
            data: &[1, 2, 3, 4]
        })
    );

    let nack = [
        0x81, 205, 0x00, 0x03, // FMT=1 RTPFB length 3
        0, 0, 0, 1, 0, 0, 0, 2, // sender, media
        0x00, 0x64, 0x00, 0x05, // PID 100, BLP bits 0 and 2 -> 101, 103
    ];
    let (p, _) = RtcpPacket::parse(&nack).unwrap();
    let RtcpPacket::GenericNack(n) = &p else {
        panic!()
    };
    let lost: Vec<u16> = n.pairs().iter().flat_map(NackPair::lost).collect();
    assert_eq!(lost, vec![100, 101, 103]);
    assert_eq!(
        NackPair::from_lost([100, 101, 103]),
        vec![NackPair { pid: 100, blp: 5 }]
    );
    let owned = build::RtcpPacket::GenericNack(GenericNack {
        sender_ssrc: Ssrc(1),
        media_ssrc: Ssrc(2),
        pairs: List::Owned(vec![NackPair { pid: 100, blp: 5 }]),
    });
    assert_eq!(rtcp::compound_to_vec(&[owned]).unwrap(), nack);
    // A NACK without FCI is malformed (RFC 4585 §6.2.1).
    assert!(RtcpPacket::parse(&[0x81, 205, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2]).is_err());

    let pli = [0x81, 206, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 2];
    let (p, _) = RtcpPacket::parse(&pli).unwrap();
    assert_eq!(
        p,
        build::RtcpPacket::PictureLossIndication(PictureLossIndication {
            sender_ssrc: Ssrc(1),
            media_ssrc: Ssrc(2)
        })
    );
}

#[test]
fn sdes_all_items_and_priv() {
    let items = vec![
        SdesItem::Cname(b"u@h"),
        SdesItem::Name(b"User"),
        SdesItem::Email(b"u@example.org"),
        SdesItem::Phone(b"+1 555"),
        SdesItem::Loc(b"Paris"),
        SdesItem::Tool(b"telox"),
        SdesItem::Note(b"busy"),
        SdesItem::Priv {
            prefix: b"x",
            value: b"yz",
        },
        SdesItem::Other {
            kind: 42,
            value: b"?",
        },
    ];
    let p = build::RtcpPacket::SourceDescription(SourceDescription {
        chunks: List::Owned(vec![rtcp::SdesChunk {
            ssrc: Ssrc(5),
            items: List::Owned(items.clone()),
        }]),
    });
    let bytes = rtcp::compound_to_vec(std::slice::from_ref(&p)).unwrap();
    // PRIV on the wire: type 8, length 4, prefix length 1, "x", "yz".
    let at = bytes.windows(3).position(|w| w == [8, 4, 1]).unwrap();
    assert_eq!(&bytes[at + 3..at + 6], b"xyz");
    let (parsed, _) = RtcpPacket::parse(&bytes).unwrap();
    assert_eq!(parsed, p);
    let RtcpPacket::SourceDescription(s) = parsed else {
        panic!()
    };
    assert_eq!(
        s.chunks()
            .iter()
            .next()
            .unwrap()
            .items
            .iter()
            .collect::<Vec<_>>(),
        items
    );
}

#[test]
fn xr_blocks() {
    let xr = [
        0x80, 207, 0x00, 0x08, // XR length 8
        0, 0, 0, 7, // SSRC
        4, 0, 0, 2, 0xE0, 0, 0, 1, 0, 0, 0, 0, // RRTR, NTP
        5, 0, 0, 3, 0, 0, 0, 9, 0x12, 0x34, 0x56, 0x78, 0, 1, 0, 0, // DLRR, one sub-block
    ];
    let (p, _) = RtcpPacket::parse(&xr).unwrap();
    let RtcpPacket::ExtendedReport(x) = &p else {
        panic!()
    };
    let blocks: Vec<_> = x.blocks().iter().collect();
    assert_eq!(
        blocks[0],
        XrBlock::Rrtr {
            ntp: NtpTime(0xE000_0001_0000_0000)
        }
    );
    let XrBlock::Dlrr(items) = &blocks[1] else {
        panic!()
    };
    assert_eq!(
        items.iter().collect::<Vec<_>>(),
        vec![DlrrItem {
            ssrc: Ssrc(9),
            lrr: 0x1234_5678,
            dlrr: 0x0001_0000
        }]
    );
    let owned = build::RtcpPacket::ExtendedReport(ExtendedReport {
        ssrc: Ssrc(7),
        blocks: List::Owned(vec![
            XrBlock::Rrtr {
                ntp: NtpTime(0xE000_0001_0000_0000),
            },
            XrBlock::Dlrr(List::Owned(vec![DlrrItem {
                ssrc: Ssrc(9),
                lrr: 0x1234_5678,
                dlrr: 0x0001_0000,
            }])),
        ]),
    });
    assert_eq!(rtcp::compound_to_vec(&[owned]).unwrap(), xr);

    // Statistics summary and VoIP metrics at their RFC 3611 offsets.
    let ss = StatisticsSummary {
        loss_flag: true,
        jitter_flag: true,
        ttl_or_hop_limit: 1,
        ssrc: Ssrc(3),
        begin_seq: 10,
        end_seq: 20,
        lost_packets: 2,
        max_jitter: 40,
        min_ttl_or_hl: 64,
        ..Default::default()
    };
    let vm = VoipMetrics {
        ssrc: Ssrc(3),
        loss_rate: 5,
        r_factor: 93,
        mos_cq: 44,
        signal_level: -20,
        jb_abs_max: 200,
        ..Default::default()
    };
    let p = build::RtcpPacket::ExtendedReport(ExtendedReport {
        ssrc: Ssrc(7),
        blocks: List::Owned(vec![
            XrBlock::StatisticsSummary(ss),
            XrBlock::VoipMetrics(vm),
        ]),
    });
    let b = rtcp::compound_to_vec(std::slice::from_ref(&p)).unwrap();
    assert_eq!(&b[8..12], &[6, 0xA8, 0, 9]); // BT 6, L|J|ToH=1, 9 words
    assert_eq!(b[8 + 4 + 32], 64); // min TTL
    let vm_at = 8 + 40;
    assert_eq!(&b[vm_at..vm_at + 4], &[7, 0, 0, 8]);
    assert_eq!(b[vm_at + 8], 5); // loss rate
    assert_eq!(b[vm_at + 20], 0xEC); // signal level -20
    assert_eq!(b[vm_at + 24], 93); // R factor
    assert_eq!(b[vm_at + 27], 44); // MOS-CQ
    assert_eq!(&b[vm_at + 34..vm_at + 36], &[0, 200]); // JB abs max
    assert_eq!(RtcpPacket::parse(&b).unwrap().0, p);
}

#[test]
fn rr_and_unknown_round_trip() {
    let rr = build::RtcpPacket::ReceiverReport(ReceiverReport {
        ssrc: Ssrc(1),
        reports: List::default(),
        profile_extension: &[],
    });
    let b = rtcp::compound_to_vec(std::slice::from_ref(&rr)).unwrap();
    assert_eq!(b, [0x80, 201, 0, 1, 0, 0, 0, 1]);
    let unknown = [0x85, 210, 0, 1, 1, 2, 3, 4];
    let (p, _) = RtcpPacket::parse(&unknown).unwrap();
    assert_eq!(
        p,
        RtcpPacket::Unknown {
            pt: 210,
            count: 5,
            body: &[1, 2, 3, 4]
        }
    );
    assert_eq!(rtcp::compound_to_vec(&[p.into()]).unwrap(), unknown);
}

/// A malformed body of each parsed type gets the error naming that type, with its text
/// (the texts are picked by packet type out of the walk's happy path).
#[test]
fn malformed_bodies_name_their_type() {
    let cases: [(&[u8], u8, &str); 8] = [
        (
            &[0x81, 200, 0, 6],
            200,
            "sender report shorter than its report count",
        ),
        (
            &[0x81, 201, 0, 1],
            201,
            "receiver report shorter than its report count",
        ),
        (
            &[0x81, 202, 0, 1],
            202,
            "sdes chunks do not match the source count",
        ),
        (&[0x82, 203, 0, 1], 203, "bye shorter than its source count"),
        (&[0x80, 204, 0, 1], 204, "app shorter than 8 bytes"),
        (&[0x81, 205, 0, 2], 205, "generic nack without a whole fci"),
        (&[0x81, 206, 0, 1], 206, "pli is not exactly two ssrcs"),
        (
            &[0x80, 207, 0, 2],
            207,
            "xr report blocks do not fit the packet",
        ),
    ];
    for (header, pt, what) in cases {
        let words = usize::from(header[3]);
        let mut packet = header.to_vec();
        packet.resize(4 + 4 * words, 0);
        if pt == 207 {
            // One XR block header claiming 5 words after the SSRC: past the packet's end.
            packet[8..12].copy_from_slice(&[4, 0, 0, 5]);
        }
        assert_eq!(
            RtcpPacket::parse(&packet).err(),
            Some(RtcpError::Malformed { pt, at: 0, what }),
            "packet type {pt}"
        );
    }
}
