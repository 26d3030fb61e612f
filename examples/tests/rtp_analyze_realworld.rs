//! `rtp-analyze` on captures shaped like the field's: RTCP multiplexed on the RTP port
//! (`a=rtcp-mux`, RFC 5761, as Teams Direct Routing, WebRTC gateways and many SBCs negotiate),
//! a pcapng taken with `tcpdump -i any` (Linux cooked headers) on an IPv6 network whose media
//! legs carry a VLAN tag, with a mid-call SSRC change, and SIP over TCP; a compound RTCP
//! with a malformed SDES (Janus before 2018) read packet by packet; the block types of an
//! XR packet in `--dump`.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] fns: a failure is the test failing"
)]

mod rtp_analyze_support;

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use rtp_analyze_support::{analyze_json, call_beside_a_decoy, rtp_packet};
use telox_examples::pcap::{LINKTYPE_LINUX_SLL, PcapWriter, encode_udp_frame};

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// A SIP message with an SDP offering PCMU and telephone-event at `media`, with `extra`
/// media-level attribute lines.
fn sip(first_line: &str, media: SocketAddr, extra: &str) -> Vec<u8> {
    let (net, ip) = match media {
        SocketAddr::V4(a) => ("IP4", a.ip().to_string()),
        SocketAddr::V6(a) => ("IP6", a.ip().to_string()),
    };
    let sdp = format!(
        "v=0\r\no=- 7 1 IN {net} {ip}\r\ns=-\r\nc=IN {net} {ip}\r\nt=0 0\r\n\
         m=audio {} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n\
         a=rtpmap:101 telephone-event/8000\r\n{extra}",
        media.port()
    );
    format!(
        "{first_line}\r\nVia: SIP/2.0/UDP sbc.example.com;branch=z9hG4bKrw1\r\n\
         From: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>\r\n\
         Call-ID: realworld@example.com\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n\
         Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    )
    .into_bytes()
}

/// SR (no report block) + SDES CNAME from `ssrc`, NTP seconds `ntp_secs`.
fn sr_sdes(ssrc: u32, ntp_secs: u32, rtp_ts: u32) -> Vec<u8> {
    let mut p = vec![0x80, 200, 0, 6];
    for w in [ssrc, ntp_secs, 0x8000_0000, rtp_ts, 50, 8000] {
        p.extend_from_slice(&w.to_be_bytes());
    }
    p.extend_from_slice(&[0x81, 202, 0, 3]);
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(&[1, 5, b'a', b'@', b'b', b'.', b'c', 0, 0, 0]);
    p
}

#[test]
fn rtcp_muxed_on_the_rtp_port_is_not_a_stream() {
    let (sip_a, sip_b) = (addr("192.0.2.10:5060"), addr("198.51.100.20:5061"));
    let (media_a, media_b) = (addr("192.0.2.10:40000"), addr("198.51.100.20:52040"));
    let mut w = PcapWriter::new(Vec::new()).unwrap();
    let mut t = Duration::from_secs(1_795_000_000);
    let offer = sip(
        "INVITE sip:b@198.51.100.20 SIP/2.0",
        media_a,
        "a=rtcp-mux\r\n",
    );
    let answer = sip("SIP/2.0 200 OK", media_b, "a=rtcp-mux\r\n");
    w.write_udp(t, sip_a, sip_b, &offer).unwrap();
    w.write_udp(t, sip_b, sip_a, &answer).unwrap();
    for i in 0..150u16 {
        t += Duration::from_millis(20);
        for (src, dst, ssrc) in [
            (media_a, media_b, 0x0A0A_0A0Au32),
            (media_b, media_a, 0x0B0B_0B0B),
        ] {
            let ts = 160 * u32::from(i);
            let pkt = rtp_packet(0, 3000 + i, ts, ssrc, &[0xFF; 160]);
            w.write_udp(t, src, dst, &pkt).unwrap();
            // An SR every second, on the RTP port: its NTP seconds would read as an SSRC.
            if i % 50 == 49 {
                let sr = sr_sdes(ssrc, 0xEB2A_0000 + u32::from(i), ts);
                w.write_udp(t, src, dst, &sr).unwrap();
            }
        }
    }
    let streams = analyze_json("rtcp-mux", &w.finish().unwrap());
    assert_eq!(streams.len(), 2, "the two RTP streams only: {streams:#?}");
    for s in &streams {
        assert_eq!(s["packets"], 150);
        assert_eq!(s["lost"], 0);
        assert_eq!(s["payload_type"], 0);
    }
}

/// `rtp-analyze --dump --port 40000` on the capture `pcap` (written to a temporary
/// directory named after `name`): its stdout.
fn dump_port_40000(name: &str, pcap: &[u8]) -> String {
    let dir = std::env::temp_dir().join(format!("telox-dump-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("capture.pcap");
    std::fs::write(&path, pcap).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_rtp-analyze"))
        .args(["--dump", "--port", "40000", path.to_str().unwrap()])
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn dump_reads_the_sender_report_beside_a_malformed_sdes() {
    let (media_a, media_b) = (addr("192.0.2.10:40000"), addr("198.51.100.20:52040"));
    let rtcp = |a: SocketAddr| SocketAddr::new(a.ip(), a.port() + 1);
    let mut w = PcapWriter::new(Vec::new()).unwrap();
    let t = Duration::from_secs(1_795_000_000);
    // SR + SDES whose chunk (CNAME "janus1") ends without its null octet, as Janus sent
    // before 2018.
    let mut compound = sr_sdes(0x0A0A_0A0A, 0xEB2A_0000, 16000);
    compound.truncate(28);
    compound.extend_from_slice(&[0x81, 202, 0, 3, 0x0A, 0x0A, 0x0A, 0x0A]);
    compound.extend_from_slice(&[1, 6, b'j', b'a', b'n', b'u', b's', b'1']);
    w.write_udp(t, rtcp(media_a), rtcp(media_b), &compound)
        .unwrap();
    let text = dump_port_40000("janus-sdes", &w.finish().unwrap());
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    let rtcp_cols: Vec<&str> = lines[0].split('\t').collect();
    assert_eq!(rtcp_cols[..5], ["RTCP", "200", "0x0a0a0a0a", "16000", "50"]);
    assert!(
        lines[1].starts_with("RTCP-VIOLATION\trtcp packet type 202 at byte 28 is malformed")
            && lines[1].ends_with("\t1 skipped"),
        "{text}"
    );
}

#[test]
fn dump_names_each_xr_block_type() {
    let (media_a, media_b) = (addr("192.0.2.10:40000"), addr("198.51.100.20:52040"));
    let rtcp = |a: SocketAddr| SocketAddr::new(a.ip(), a.port() + 1);
    // RR (no block) + XR (RFC 3611) from 0x0a0a0a0a: RRTR, DLRR, statistics summary, VoIP
    // metrics, a type telox does not know (42) and an RRTR one word short (read as unknown).
    let mut compound = vec![0x80, 201, 0, 1, 0x0A, 0x0A, 0x0A, 0x0A];
    let blocks: [(u8, u8, usize); 6] = [
        (4, 0, 2),
        (5, 0, 3),
        (6, 0xE0, 9),
        (7, 0, 8),
        (42, 0, 1),
        (4, 0, 1),
    ];
    let words: usize = blocks.iter().map(|b| 1 + b.2).sum();
    compound.extend_from_slice(&[0x80, 207, 0, (words + 1) as u8, 0x0A, 0x0A, 0x0A, 0x0A]);
    for (bt, type_specific, len) in blocks {
        compound.extend_from_slice(&[bt, type_specific, 0, len as u8]);
        compound.extend(std::iter::repeat_n(0x11, 4 * len));
    }
    let mut w = PcapWriter::new(Vec::new()).unwrap();
    let t = Duration::from_secs(1_795_000_000);
    w.write_udp(t, rtcp(media_a), rtcp(media_b), &compound)
        .unwrap();
    let text = dump_port_40000("xr", &w.finish().unwrap());
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[0].starts_with("RTCP\t201,207\t0x0a0a0a0a\t"),
        "{text}"
    );
    assert_eq!(
        lines[1],
        "RTCP-XR\t0x0a0a0a0a\tRRTR,DLRR,statistics summary,VoIP metrics,BT=42,BT=4"
    );
}

/// A pcapng block: type, length, body padded to 4 bytes, length again (little endian).
fn block(out: &mut Vec<u8>, block_type: u32, body: &[u8]) {
    let padded = body.len().div_ceil(4) * 4;
    let len = (12 + padded) as u32;
    out.extend_from_slice(&block_type.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(body);
    out.resize(out.len() + padded - body.len(), 0);
    out.extend_from_slice(&len.to_le_bytes());
}

/// A Linux cooked (SLL v1) frame of a UDP datagram; with a VLAN id, the 802.1Q tag left in.
fn cooked(src: SocketAddr, dst: SocketAddr, payload: &[u8], vlan: Option<u16>) -> Vec<u8> {
    let mut eth = Vec::new();
    encode_udp_frame(&mut eth, src, dst, payload).unwrap();
    let ethertype = [eth[12], eth[13]];
    // Packet type "sent by us", ARPHRD_ETHER, a 6-byte address padded to 8.
    let mut f = vec![0, 4, 0, 1, 0, 6, 0x02, 0, 0, 0, 0, 1, 0, 0];
    match vlan {
        Some(id) => {
            f.extend_from_slice(&[0x81, 0x00]);
            f.extend_from_slice(&id.to_be_bytes());
            f.extend_from_slice(&ethertype);
        }
        None => f.extend_from_slice(&ethertype),
    }
    f.extend_from_slice(&eth[14..]);
    f
}

#[test]
fn pcapng_cooked_capture_over_ipv6_with_vlan_tags_and_an_ssrc_change() {
    let (sip_a, sip_b) = (addr("[2001:db8:1::10]:5060"), addr("[2001:db8:2::20]:5060"));
    let (media_a, media_b) = (
        addr("[2001:db8:1::10]:16384"),
        addr("[2001:db8:2::20]:30000"),
    );
    let mut frames: Vec<(u64, Vec<u8>)> = Vec::new();
    let mut t_us: u64 = 1_795_000_000_000_000;
    frames.push((
        t_us,
        cooked(
            sip_a,
            sip_b,
            &sip("INVITE sip:b@[2001:db8:2::20] SIP/2.0", media_a, ""),
            None,
        ),
    ));
    frames.push((
        t_us + 40_000,
        cooked(sip_b, sip_a, &sip("SIP/2.0 200 OK", media_b, ""), None),
    ));
    for i in 0..100u32 {
        t_us += 20_000;
        // B's stream restarts with a new SSRC and sequence half way (a B2BUA re-anchoring).
        let (ssrc_b, seq_b) = if i < 50 {
            (0x0B0B_0001, 100 + i)
        } else {
            (0x0B0B_0002, 9000 + i)
        };
        let a = rtp_packet(0, (500 + i) as u16, 160 * i, 0x0A0A_0001, &[0xFF; 160]);
        let b = rtp_packet(0, seq_b as u16, 800_000 + 160 * i, ssrc_b, &[0xD5; 160]);
        frames.push((t_us, cooked(media_a, media_b, &a, Some(20))));
        frames.push((t_us + 3_000, cooked(media_b, media_a, &b, Some(20))));
    }
    let mut f = Vec::new();
    let mut shb = Vec::new();
    shb.extend_from_slice(&0x1A2B_3C4Du32.to_le_bytes());
    shb.extend_from_slice(&[1, 0, 0, 0]);
    shb.extend_from_slice(&u64::MAX.to_le_bytes());
    block(&mut f, 0x0A0D_0D0A, &shb);
    let mut idb = Vec::new();
    idb.extend_from_slice(&(LINKTYPE_LINUX_SLL as u16).to_le_bytes());
    idb.extend_from_slice(&[0, 0]);
    idb.extend_from_slice(&262_144u32.to_le_bytes());
    block(&mut f, 1, &idb);
    for (t, frame) in &frames {
        let mut epb = Vec::new();
        epb.extend_from_slice(&0u32.to_le_bytes());
        epb.extend_from_slice(&((t >> 32) as u32).to_le_bytes());
        epb.extend_from_slice(&(*t as u32).to_le_bytes());
        epb.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        epb.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        epb.extend_from_slice(frame);
        block(&mut f, 6, &epb);
    }
    let streams = analyze_json("cooked-v6", &f);
    let mut rows: Vec<(u64, u64, i64)> = streams
        .iter()
        .map(|s| {
            (
                s["ssrc"].as_u64().unwrap(),
                s["packets"].as_u64().unwrap(),
                s["lost"].as_i64().unwrap(),
            )
        })
        .collect();
    rows.sort_unstable();
    assert_eq!(
        rows,
        [
            (0x0A0A_0001, 100, 0),
            (0x0B0B_0001, 50, 0),
            (0x0B0B_0002, 50, 0)
        ],
        "{streams:#?}"
    );
}

#[test]
fn streams_are_found_by_the_sdp_of_sip_over_tcp() {
    // A carrier trunk on TCP (RFC 3261 §18.3): the INVITE in one segment, its 200 OK split in
    // two with the second segment sent twice (a retransmission), both directions on one
    // connection. Without the SDP the tool would fall back to its heuristic and report the
    // unrelated RTP-looking flow too.
    let (pbx, carrier) = (addr("10.0.0.1:40123"), addr("203.0.113.9:5060"));
    let (media_a, media_b) = (addr("10.0.0.1:4000"), addr("203.0.113.50:21000"));
    let invite = sip("INVITE sip:b@203.0.113.9 SIP/2.0", media_a, "");
    let ok = sip("SIP/2.0 200 OK", media_b, "a=ptime:20\r\n");
    let mut w = PcapWriter::new(Vec::new()).unwrap();
    let mut t = Duration::from_secs(1_795_000_000);
    w.write_tcp(t, (pbx, carrier), 1_000, &invite).unwrap();
    let (ok1, ok2) = ok.split_at(120);
    t += Duration::from_millis(40);
    w.write_tcp(t, (carrier, pbx), 77_000, ok1).unwrap();
    w.write_tcp(t, (carrier, pbx), 77_120, ok2).unwrap();
    w.write_tcp(t, (carrier, pbx), 77_120, ok2).unwrap();
    call_beside_a_decoy(&mut w, t, (media_b, media_a), 30);
    let streams = analyze_json("sip-tcp", &w.finish().unwrap());
    assert_eq!(streams.len(), 1, "only the call's stream: {streams:#?}");
    assert_eq!(streams[0]["ssrc"], 0x1122_3344);
    assert_eq!(streams[0]["packets"], 30);
}
