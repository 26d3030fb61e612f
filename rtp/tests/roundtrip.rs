//! proptest round trips for every wire type: `parse(write(x)) == x`, and `write(parse(b)) == b`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers outside #[test] fns"
)]

use bytes::Bytes;
use proptest::collection::vec;
use proptest::prelude::*;
use telox_rtp::dtmf::EventPayload;
use telox_rtp::rtcp::build::{
    App, ExtendedReport, GenericNack, Goodbye, PictureLossIndication, ReceiverReport, RtcpPacket,
    SenderReport, SourceDescription,
};
use telox_rtp::rtcp::{
    self, DlrrItem, List, NackPair, ReportBlock, SdesChunk, SdesItem, StatisticsSummary,
    Validation, VoipMetrics, XrBlock,
};
use telox_rtp::{HeaderExtension, NtpTime, RtpHeader, RtpPacket, Ssrc};

fn ssrc() -> impl Strategy<Value = Ssrc> {
    any::<u32>().prop_map(Ssrc)
}

fn text() -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..40)
}

fn extension() -> impl Strategy<Value = Option<HeaderExtension>> {
    prop_oneof![
        Just(None),
        vec((1u8..=14, vec(any::<u8>(), 1..=16)), 0..4).prop_map(|els| {
            let refs: Vec<(u8, &[u8])> = els.iter().map(|(i, d)| (*i, d.as_slice())).collect();
            Some(HeaderExtension::one_byte(&refs).unwrap())
        }),
        (0u8..16, vec((1u8..=255, vec(any::<u8>(), 0..20)), 0..4)).prop_map(|(a, els)| {
            let refs: Vec<(u8, &[u8])> = els.iter().map(|(i, d)| (*i, d.as_slice())).collect();
            Some(HeaderExtension::two_byte(a, &refs).unwrap())
        }),
        (any::<u16>(), vec(any::<[u8; 4]>(), 0..4)).prop_map(|(p, w)| {
            Some(HeaderExtension::generic(p, Bytes::from(w.concat())).unwrap())
        }),
    ]
}

prop_compose! {
    fn rtp_header()(
        marker in any::<bool>(), payload_type in 0u8..128, sequence_number in any::<u16>(),
        timestamp in any::<u32>(), ssrc in ssrc(), csrcs in vec(ssrc(), 0..16),
        extension in extension(), padding in 0u8..8,
    ) -> RtpHeader {
        RtpHeader { marker, payload_type, sequence_number, timestamp, ssrc, csrcs, extension, padding }
    }
}

fn report_block() -> impl Strategy<Value = ReportBlock> {
    (
        ssrc(),
        any::<u8>(),
        -0x80_0000i32..0x80_0000,
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
    )
        .prop_map(
            |(ssrc, fraction_lost, cumulative_lost, extended_highest_seq, jitter, lsr, dlsr)| {
                ReportBlock {
                    ssrc,
                    fraction_lost,
                    cumulative_lost,
                    extended_highest_seq,
                    jitter,
                    lsr,
                    dlsr,
                }
            },
        )
}

/// An SDES item: kind, value (or PRIV prefix), PRIV value.
type ItemSpec = (u8, Vec<u8>, Vec<u8>);

/// Owned byte storage for the borrowed packet types.
#[derive(Clone, Debug)]
enum Spec {
    Sr(u32, u64, u32, u32, u32, Vec<ReportBlock>, Vec<[u8; 4]>),
    Rr(u32, Vec<ReportBlock>),
    Sdes(Vec<(u32, Vec<ItemSpec>)>),
    Bye(Vec<u32>, Option<Vec<u8>>),
    App(u8, u32, [u8; 4], Vec<[u8; 4]>),
    Nack(u32, u32, Vec<(u16, u16)>),
    Pli(u32, u32),
    Xr(u32, Vec<XrSpec>),
}

#[derive(Clone, Debug)]
enum XrSpec {
    Rrtr(u64),
    Dlrr(Vec<(u32, u32, u32)>),
    Stats(StatisticsSummary),
    Voip(VoipMetrics),
}

fn spec() -> impl Strategy<Value = Spec> {
    let item = (1u8..=9, text(), text()).prop_map(|(k, a, b)| (k, a, b));
    let stats = (
        any::<[bool; 3]>(),
        0u8..3,
        any::<u32>(),
        any::<(u16, u16)>(),
        any::<[u32; 6]>(),
        any::<[u8; 4]>(),
    )
        .prop_map(|(f, toh, s, (b, e), n, t)| StatisticsSummary {
            loss_flag: f[0],
            duplicate_flag: f[1],
            jitter_flag: f[2],
            ttl_or_hop_limit: toh,
            ssrc: Ssrc(s),
            begin_seq: b,
            end_seq: e,
            lost_packets: n[0],
            dup_packets: n[1],
            min_jitter: n[2],
            max_jitter: n[3],
            mean_jitter: n[4],
            dev_jitter: n[5],
            min_ttl_or_hl: t[0],
            max_ttl_or_hl: t[1],
            mean_ttl_or_hl: t[2],
            dev_ttl_or_hl: t[3],
        });
    let voip =
        (any::<u32>(), any::<[u8; 12]>(), any::<[u16; 7]>()).prop_map(|(s, b, w)| VoipMetrics {
            ssrc: Ssrc(s),
            loss_rate: b[0],
            discard_rate: b[1],
            burst_density: b[2],
            gap_density: b[3],
            burst_duration: w[0],
            gap_duration: w[1],
            round_trip_delay: w[2],
            end_system_delay: w[3],
            signal_level: b[4] as i8,
            noise_level: b[5] as i8,
            rerl: b[6],
            gmin: b[7],
            r_factor: b[8],
            ext_r_factor: b[9],
            mos_lq: b[10],
            mos_cq: b[11],
            rx_config: b[0] ^ b[1],
            jb_nominal: w[4],
            jb_maximum: w[5],
            jb_abs_max: w[6],
        });
    let xr = prop_oneof![
        any::<u64>().prop_map(XrSpec::Rrtr),
        vec(any::<(u32, u32, u32)>(), 0..4).prop_map(XrSpec::Dlrr),
        stats.prop_map(XrSpec::Stats),
        voip.prop_map(XrSpec::Voip),
    ];
    prop_oneof![
        (
            any::<u32>(),
            any::<u64>(),
            any::<u32>(),
            any::<u32>(),
            any::<u32>(),
            vec(report_block(), 0..5),
            vec(any::<[u8; 4]>(), 0..3)
        )
            .prop_map(|(a, b, c, d, e, f, g)| Spec::Sr(a, b, c, d, e, f, g)),
        (any::<u32>(), vec(report_block(), 0..5)).prop_map(|(a, b)| Spec::Rr(a, b)),
        vec((any::<u32>(), vec(item, 0..5)), 0..4).prop_map(Spec::Sdes),
        (vec(any::<u32>(), 0..5), proptest::option::of(text())).prop_map(|(a, b)| Spec::Bye(a, b)),
        (
            0u8..32,
            any::<u32>(),
            any::<[u8; 4]>(),
            vec(any::<[u8; 4]>(), 0..4)
        )
            .prop_map(|(a, b, c, d)| Spec::App(a, b, c, d)),
        (any::<u32>(), any::<u32>(), vec(any::<(u16, u16)>(), 1..5))
            .prop_map(|(a, b, c)| Spec::Nack(a, b, c)),
        (any::<u32>(), any::<u32>()).prop_map(|(a, b)| Spec::Pli(a, b)),
        (any::<u32>(), vec(xr, 0..4)).prop_map(|(a, b)| Spec::Xr(a, b)),
    ]
}

fn sdes_item<'a>(k: u8, a: &'a [u8], b: &'a [u8]) -> SdesItem<'a> {
    match k {
        1 => SdesItem::Cname(a),
        2 => SdesItem::Name(a),
        3 => SdesItem::Email(a),
        4 => SdesItem::Phone(a),
        5 => SdesItem::Loc(a),
        6 => SdesItem::Tool(a),
        7 => SdesItem::Note(a),
        8 => SdesItem::Priv {
            prefix: a,
            value: b,
        },
        _ => SdesItem::Other { kind: 99, value: a },
    }
}

fn packet(s: &Spec) -> RtcpPacket<'_> {
    match s {
        Spec::Sr(a, b, c, d, e, f, g) => RtcpPacket::SenderReport(SenderReport {
            ssrc: Ssrc(*a),
            ntp: NtpTime(*b),
            rtp_timestamp: *c,
            packet_count: *d,
            octet_count: *e,
            reports: List::Owned(f.clone()),
            profile_extension: g.as_flattened(),
        }),
        Spec::Rr(a, b) => RtcpPacket::ReceiverReport(ReceiverReport {
            ssrc: Ssrc(*a),
            reports: List::Owned(b.clone()),
            profile_extension: &[],
        }),
        Spec::Sdes(chunks) => RtcpPacket::SourceDescription(SourceDescription {
            chunks: List::Owned(
                chunks
                    .iter()
                    .map(|(ssrc, items)| SdesChunk {
                        ssrc: Ssrc(*ssrc),
                        items: List::Owned(
                            items.iter().map(|(k, a, b)| sdes_item(*k, a, b)).collect(),
                        ),
                    })
                    .collect(),
            ),
        }),
        Spec::Bye(a, b) => RtcpPacket::Goodbye(Goodbye {
            sources: List::Owned(a.iter().copied().map(Ssrc).collect()),
            reason: b.as_deref(),
        }),
        Spec::App(a, b, c, d) => RtcpPacket::App(App {
            subtype: *a,
            ssrc: Ssrc(*b),
            name: *c,
            data: d.as_flattened(),
        }),
        Spec::Nack(a, b, c) => RtcpPacket::GenericNack(GenericNack {
            sender_ssrc: Ssrc(*a),
            media_ssrc: Ssrc(*b),
            pairs: List::Owned(c.iter().map(|&(pid, blp)| NackPair { pid, blp }).collect()),
        }),
        Spec::Pli(a, b) => RtcpPacket::PictureLossIndication(PictureLossIndication {
            sender_ssrc: Ssrc(*a),
            media_ssrc: Ssrc(*b),
        }),
        Spec::Xr(a, blocks) => RtcpPacket::ExtendedReport(ExtendedReport {
            ssrc: Ssrc(*a),
            blocks: List::Owned(
                blocks
                    .iter()
                    .map(|b| match b {
                        XrSpec::Rrtr(n) => XrBlock::Rrtr { ntp: NtpTime(*n) },
                        XrSpec::Dlrr(items) => XrBlock::Dlrr(List::Owned(
                            items
                                .iter()
                                .map(|&(s, l, d)| DlrrItem {
                                    ssrc: Ssrc(s),
                                    lrr: l,
                                    dlrr: d,
                                })
                                .collect(),
                        )),
                        XrSpec::Stats(s) => XrBlock::StatisticsSummary(*s),
                        XrSpec::Voip(v) => XrBlock::VoipMetrics(*v),
                    })
                    .collect(),
            ),
        }),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn rtp_round_trip(h in rtp_header(), payload in vec(any::<u8>(), 0..64)) {
        let bytes = h.to_vec(&payload).unwrap();
        let p = RtpPacket::new_checked(&bytes[..]).unwrap();
        prop_assert_eq!(p.payload(), &payload[..]);
        prop_assert_eq!(p.header(), h);
        prop_assert_eq!(p.header().to_vec(p.payload()).unwrap(), bytes);
    }

    #[test]
    fn rtp_view_never_panics(b in vec(any::<u8>(), 0..80)) {
        if let Ok(p) = RtpPacket::new_checked(&b[..]) {
            let _ = (p.marker(), p.payload_type(), p.sequence_number(), p.timestamp(), p.ssrc());
            let _ = p.csrcs().count();
            if let Some(e) = p.extension() { let _ = e.elements().count(); }
            prop_assert!(p.header_len() + p.payload().len() + p.padding_len() == b.len());
        }
    }

    #[test]
    fn rtcp_round_trip(specs in vec(spec(), 1..4)) {
        let packets: Vec<RtcpPacket<'_>> = specs.iter().map(packet).collect();
        let bytes = rtcp::compound_to_vec(&packets).unwrap();
        let parsed: Vec<_> = rtcp::parse_compound(&bytes, Validation::ReducedSize).unwrap().collect();
        prop_assert_eq!(&parsed, &packets);
        let rewritten: Vec<RtcpPacket<'_>> = parsed.iter().copied().map(Into::into).collect();
        prop_assert_eq!(rtcp::compound_to_vec(&rewritten).unwrap(), bytes);
    }

    #[test]
    fn borrowed_lists_write_what_owned_lists_write(
        blocks in vec(report_block(), 0..4),
        ssrc in ssrc(),
        cname in text(),
    ) {
        let owned = [
            RtcpPacket::ReceiverReport(ReceiverReport {
                ssrc,
                reports: List::Owned(blocks.clone()),
                profile_extension: &[],
            }),
            RtcpPacket::SourceDescription(SourceDescription::cname(ssrc, &cname)),
            RtcpPacket::Goodbye(Goodbye { sources: List::Owned(vec![ssrc]), reason: None }),
        ];
        let item = [SdesItem::Cname(&cname)];
        let chunk = [SdesChunk { ssrc, items: List::Borrowed(&item) }];
        let borrowed = [
            RtcpPacket::ReceiverReport(ReceiverReport {
                ssrc,
                reports: List::Borrowed(&blocks),
                profile_extension: &[],
            }),
            RtcpPacket::SourceDescription(SourceDescription { chunks: List::Borrowed(&chunk) }),
            RtcpPacket::Goodbye(Goodbye {
                sources: List::Borrowed(std::slice::from_ref(&ssrc)),
                reason: None,
            }),
        ];
        prop_assert_eq!(&owned, &borrowed);
        let bytes = rtcp::compound_to_vec(&borrowed).unwrap();
        prop_assert_eq!(&bytes, &rtcp::compound_to_vec(&owned).unwrap());
        let parsed: Vec<_> = rtcp::parse_compound(&bytes, Validation::Compound).unwrap().collect();
        prop_assert_eq!(&parsed[..], &borrowed[..]);
    }

    #[test]
    fn rtcp_parse_never_panics(b in vec(any::<u8>(), 0..120)) {
        if let Ok(c) = rtcp::parse_compound(&b, Validation::ReducedSize) {
            // Every accessor of every view (the conversion reads them all), and every item of
            // its lists: lists stay on the wire after the conversion, and two lists compare
            // item by item, decoding each (SDES chunks down to their items).
            for p in c {
                let b = RtcpPacket::from(p);
                let _ = b.encoded_len();
                prop_assert_eq!(&b, &b.clone());
            }
        }
    }

    #[test]
    fn dtmf_payload_round_trip(event in 0u8..=255, end in any::<bool>(), volume in 0u8..64, duration in any::<u16>()) {
        let p = EventPayload { event, end, volume, duration };
        prop_assert_eq!(EventPayload::parse(&p.to_bytes()).unwrap(), p);
    }
}

#[test]
fn borrowed_sdes_items_are_checked_like_owned_ones() {
    let long = [b'x'; 256];
    let item = [SdesItem::Cname(&long)];
    let chunk = [SdesChunk {
        ssrc: Ssrc(1),
        items: List::Borrowed(&item),
    }];
    let sdes = RtcpPacket::SourceDescription(SourceDescription {
        chunks: List::Borrowed(&chunk),
    });
    assert_eq!(
        rtcp::compound_to_vec(std::slice::from_ref(&sdes)),
        Err(telox_rtp::BuildError::FieldTooLarge { what: "sdes item" })
    );
}
