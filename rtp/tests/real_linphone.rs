//! RTCP compounds a real linphone sent (linphone-cli 5.1.65, linphonec with `rtcp_xr_*`
//! configured, calling another linphonec; captured with tshark on loopback by
//! `.ci/interop/60-linphone.sh` on 2026-11-27): SR, SDES (CNAME and TOOL) and an XR whose only
//! block is a receiver reference time report, the one XR block linphone 5.1 sends although
//! its SDP advertises stat-summary and voip-metrics too. Parsed with every validation level,
//! field by field as tshark decoded them, and written back byte for byte.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use telox_rtp::rtcp::{self, RtcpPacket, SdesItem, Validation, XrBlock};
use telox_rtp::{NtpTime, Ssrc};

/// Two compounds of one linphonec, 5 s apart, as UDP payloads (tshark `udp.payload`).
const COMPOUNDS: [&str; 2] = [
    "81c8000c298d1ba8eeb419064e646f151291c9640000014000006540efd113e40000000000000142\
     0000000019048fd50001bd7c81ca000b298d1ba801107369703a7831405b666430303a3a325d0610\
     4c696e70686f6e65632f352e312e36350000000080cf0004298d1ba804000002eeb419064e64a16a",
    "81c8000c298d1ba8eeb4190967eec39712940ea4000001db00009734efd113e400000000000001dd\
     0000000019048fd50004d70681ca000b298d1ba801107369703a7831405b666430303a3a325d0610\
     4c696e70686f6e65632f352e312e36350000000080cf0004298d1ba804000002eeb4190967eee525",
];

fn bytes(hex: &str) -> Vec<u8> {
    let hex: Vec<u8> = hex.bytes().filter(u8::is_ascii_hexdigit).collect();
    hex.chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}

#[test]
fn linphone_sr_sdes_xr_compounds_parse_field_by_field() {
    // (SR packet count, SR RTP timestamp, RRTR NTP timestamp), as tshark decoded them.
    let expect = [
        (320, 0x1291_c964, 0xeeb4_1906_4e64_a16a_u64),
        (475, 0x1294_0ea4, 0xeeb4_1909_67ee_e525_u64),
    ];
    for (hex, (count, rtp_ts, rrtr)) in COMPOUNDS.iter().zip(expect) {
        let buf = bytes(hex);
        assert_eq!(buf.len(), 120);
        for validation in [Validation::Compound, Validation::ReducedSize] {
            let packets: Vec<_> = rtcp::parse_compound(&buf, validation).unwrap().collect();
            assert_eq!(packets.len(), 3);
            let RtcpPacket::SenderReport(sr) = &packets[0] else {
                panic!("{:?}", packets[0])
            };
            assert_eq!(sr.ssrc(), Ssrc(0x298d_1ba8));
            assert_eq!((sr.packet_count(), sr.rtp_timestamp()), (count, rtp_ts));
            assert_eq!(sr.reports().len(), 1);
            let RtcpPacket::SourceDescription(sdes) = &packets[1] else {
                panic!("{:?}", packets[1])
            };
            let chunk = sdes.chunks().iter().next().unwrap();
            assert_eq!(chunk.ssrc, Ssrc(0x298d_1ba8));
            // linphone's CNAME names the IPv6 address it guessed, not the loopback it used.
            assert_eq!(chunk.cname(), Some(&b"sip:x1@[fd00::2]"[..]));
            let items: Vec<_> = chunk.items.iter().collect();
            assert_eq!(items.len(), 2);
            assert!(matches!(items[1], SdesItem::Tool(t) if t == b"Linphonec/5.1.65"));
            let RtcpPacket::ExtendedReport(xr) = &packets[2] else {
                panic!("{:?}", packets[2])
            };
            assert_eq!(xr.ssrc(), Ssrc(0x298d_1ba8));
            let blocks: Vec<_> = xr.blocks().iter().collect();
            assert_eq!(blocks, [XrBlock::Rrtr { ntp: NtpTime(rrtr) }]);
        }
        // The lenient walk (what a session uses) reads the same and finds no violation.
        let mut walk = rtcp::iter_lenient(&buf, Validation::Compound);
        assert_eq!(walk.by_ref().count(), 3);
        assert!(walk.violations().is_empty());
        let packets: Vec<_> = rtcp::parse_compound(&buf, Validation::Compound)
            .unwrap()
            .collect();
        let rewritten: Vec<rtcp::build::RtcpPacket<'_>> =
            packets.iter().copied().map(Into::into).collect();
        assert_eq!(rtcp::compound_to_vec(&rewritten).unwrap(), buf);
    }
}
