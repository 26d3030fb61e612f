//! `rtp-analyze` against Wireshark 4.0's RTP stream analysis where the differential test
//! (`.ci/interop/rtp/differential.py`: seeded captures, rtp-analyze vs `tshark -z
//! rtp,streams`) found them apart. Each capture here is small and built by hand; the expected
//! figures are what tshark 4.0.17 prints for the same capture (and follow from its
//! computation, worked out beside each).

#![allow(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] fns: a failure is the test failing"
)]

mod rtp_analyze_support;

use std::net::SocketAddr;
use std::time::Duration;

use rtp_analyze_support::{analyze_json, rtp_packet};
use telox_examples::pcap::PcapWriter;

const A_SIP: &str = "10.0.0.1:5060";
const B_SIP: &str = "10.0.0.2:5060";
const A_RTP: &str = "10.0.0.1:4000";
const B_RTP: &str = "10.0.0.2:5000";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn ms(n: u64) -> Duration {
    Duration::from_secs(1_795_000_000) + Duration::from_millis(n)
}

/// A SIP INVITE (or its 200 OK) whose SDP offers `media` with the `rtpmap` lines given.
fn sip(invite: bool, cseq: u32, media: SocketAddr, rtpmap: &[(u8, &str)]) -> Vec<u8> {
    let ip = media.ip();
    let pts: Vec<String> = rtpmap.iter().map(|(pt, _)| pt.to_string()).collect();
    let maps: String = rtpmap
        .iter()
        .map(|(pt, enc)| format!("a=rtpmap:{pt} {enc}\r\n"))
        .collect();
    let sdp = format!(
        "v=0\r\no=- 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n\
         m=audio {} RTP/AVP {}\r\n{maps}",
        media.port(),
        pts.join(" ")
    );
    let first = if invite {
        "INVITE sip:b@example.com SIP/2.0"
    } else {
        "SIP/2.0 200 OK"
    };
    format!(
        "{first}\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKws{cseq}\r\n\
         From: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>\r\nCall-ID: ws@example.com\r\n\
         CSeq: {cseq} INVITE\r\nMax-Forwards: 70\r\nContent-Type: application/sdp\r\n\
         Content-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    )
    .into_bytes()
}

/// An INVITE at `t` and its 200 OK 30 ms later, both with `rtpmap`.
fn offer_answer(w: &mut PcapWriter<Vec<u8>>, t: u64, cseq: u32, rtpmap: &[(u8, &str)]) {
    let invite = sip(true, cseq, addr(A_RTP), rtpmap);
    w.write_udp(ms(t), addr(A_SIP), addr(B_SIP), &invite)
        .unwrap();
    let ok = sip(false, cseq, addr(B_RTP), rtpmap);
    w.write_udp(ms(t + 30), addr(B_SIP), addr(A_SIP), &ok)
        .unwrap();
}

fn media(w: &mut PcapWriter<Vec<u8>>, t: u64, pt: u8, seq: u16, ts: u32, marker: bool) {
    let mut p = rtp_packet(pt, seq, ts, 0x1122_3344, &[0xd5; 160]);
    if marker {
        p[1] |= 0x80;
    }
    w.write_udp(ms(t), addr(A_RTP), addr(B_RTP), &p).unwrap();
}

fn f(v: &serde_json::Value, key: &str) -> f64 {
    v[key].as_f64().unwrap()
}

/// G.722 announced with its audio rate (`a=rtpmap:9 G722/16000`) and stamped at 16 kHz (320
/// per 20 ms), as some devices do: Wireshark takes a static payload type's clock from RFC
/// 3551 (8000 for G.722) whatever the SDP says, so each packet is 20 ms late against its
/// timestamp: D = 20 ms every packet, J_k = J_(k-1) + (20 - J_(k-1))/16 over packets 2..10.
#[test]
fn a_static_payload_type_keeps_its_rfc_3551_clock_whatever_the_sdp_says() {
    let mut w = PcapWriter::new(Vec::new()).unwrap();
    offer_answer(&mut w, 0, 1, &[(9, "G722/16000")]);
    for i in 0..10u16 {
        media(
            &mut w,
            100 + 20 * u64::from(i),
            9,
            100 + i,
            320 * u32::from(i),
            false,
        );
    }
    let streams = analyze_json("ws-g722", &w.finish().unwrap());
    assert_eq!(streams.len(), 1, "{streams:?}");
    let s = &streams[0];
    let (mut j, mut max, mut mean) = (0.0f64, 0.0f64, 0.0f64);
    for n in 1..10 {
        j += (20.0 - j) / 16.0;
        max = max.max(j);
        mean = (mean * f64::from(n - 1) + j) / f64::from(n);
    }
    // tshark 4.0: max 8.812, mean 5.314 (with the SDP's 16000 the jitter would be 0).
    assert!((f(s, "max_jitter_ms") - 8.812).abs() < 1e-9, "{s}");
    assert!((f(s, "mean_jitter_ms") - 5.314).abs() < 1e-9, "{s}");
    assert!((max - 8.812).abs() < 5e-4 && (mean - 5.314).abs() < 5e-4);
}

/// A re-INVITE moves the call from Opus (dynamic type 111) to PCMU while Opus packets are
/// still arriving, and a packet sent before the call's INVITE reached the media port. As in
/// Wireshark 4.0: an SDP applies from its message on, a packet takes its destination's SDP
/// (B's answer) before its source's (A's offer), and the new SDPs no longer map 111.
///  - INVITE at 50 ms, 200 OK at 80 ms (Opus 111 both);
///  - seq 1-5: Opus from 150 ms, 20 ms apart, on time (jitter 0);
///  - re-INVITE at 240 ms (A's offer: PCMU only), its 200 OK at 270 ms (B's answer: PCMU);
///  - seq 6 at 265 ms, 15 ms late: between offer and answer, B's first answer still maps 111
///    (48 kHz): D = 15, J = 15/16 = 0.9375;
///  - seq 7 at 300 ms, after the answer: 111 has no clock, no jitter (J stays 0.9375);
///  - the stray packet before the INVITE is not RTP: 7 packets, not 8.
///
/// tshark 4.0: 7 packets, max jitter 0.938, mean 0.188 (0.9375 / 5 over packets 2-6), max
/// delta 35 ms. Taking the source's SDP first would give max 0; keeping 111 after the answer
/// would give 1.816.
#[test]
fn the_sdp_in_effect_when_each_packet_arrives_sets_its_clock() {
    reinvite_call("ws-reinvite", offer_answer);
}

/// The call of the previous test with its SIP over one TCP connection that stays open: the
/// INVITE and the re-INVITE follow each other in one stream of contiguous sequence numbers
/// (as do the two 200 OKs), so they come out of one reassembled chunk. Each SDP still
/// applies from the segment that carried its message, not from the connection's first
/// segment: dated at 50 ms, the re-INVITE's PCMU-only SDP would take the Opus clock from
/// packets 2-6 (jitter 0). Same figures as over UDP (tshark 4.0 reads them the same way).
#[test]
fn sip_over_one_tcp_connection_applies_each_sdp_from_its_own_segment() {
    let (mut a_seq, mut b_seq) = (1_000u32, 7_000u32);
    reinvite_call("ws-reinvite-tcp", |w, t, cseq, rtpmap| {
        let invite = sip(true, cseq, addr(A_RTP), rtpmap);
        w.write_tcp(ms(t), (addr(A_SIP), addr(B_SIP)), a_seq, &invite)
            .unwrap();
        a_seq = a_seq.wrapping_add(u32::try_from(invite.len()).unwrap());
        let ok = sip(false, cseq, addr(B_RTP), rtpmap);
        w.write_tcp(ms(t + 30), (addr(B_SIP), addr(A_SIP)), b_seq, &ok)
            .unwrap();
        b_seq = b_seq.wrapping_add(u32::try_from(ok.len()).unwrap());
    });
}

/// The call of the two tests above, its signalling written by `signal` (an offer at `t` and
/// its answer, with CSeq and rtpmap), and tshark's figures for it.
fn reinvite_call(
    name: &str,
    mut signal: impl FnMut(&mut PcapWriter<Vec<u8>>, u64, u32, &[(u8, &str)]),
) {
    let mut w = PcapWriter::new(Vec::new()).unwrap();
    media(&mut w, 0, 111, 0, 0, false);
    signal(&mut w, 50, 1, &[(111, "opus/48000/2")]);
    for i in 0..5u16 {
        media(
            &mut w,
            150 + 20 * u64::from(i),
            111,
            1 + i,
            960 * u32::from(i),
            i == 0,
        );
    }
    signal(&mut w, 240, 2, &[(0, "PCMU/8000")]);
    media(&mut w, 265, 111, 6, 960 * 5, false);
    media(&mut w, 300, 111, 7, 960 * 6, false);
    let streams = analyze_json(name, &w.finish().unwrap());
    assert_one_stream(&streams, 7, (0.938, 0.188), 35.0);
}

/// `streams` is one stream of `packets` packets, none lost, with tshark's (max, mean)
/// jitter and max delta, in ms.
fn assert_one_stream(
    streams: &[serde_json::Value],
    packets: u64,
    (max_jitter, mean_jitter): (f64, f64),
    max_delta: f64,
) {
    assert_eq!(streams.len(), 1, "{streams:?}");
    let s = &streams[0];
    assert_eq!(s["packets"], packets, "{s}");
    assert_eq!(s["lost"], 0, "{s}");
    assert!((f(s, "max_jitter_ms") - max_jitter).abs() < 1e-9, "{s}");
    assert!((f(s, "mean_jitter_ms") - mean_jitter).abs() < 1e-9, "{s}");
    assert!((f(s, "max_delta_ms") - max_delta).abs() < 1e-9, "{s}");
}

/// A SIP message split over two TCP segments is dated, as in Wireshark, by the segment that
/// completes it (its reassembled PDU shows in that frame, and its SDP applies from there),
/// not by the one holding its first byte. The call of [`reinvite_call`] over TCP, with the
/// re-INVITE's 200 OK (B's PCMU-only answer) sent in two segments, at 270 and 320 ms:
///  - seq 6 at 265 ms, 15 ms late: J = 15/16 = 0.9375 (as above);
///  - seq 7 at 300 ms, between the two segments: B's first answer (111 = Opus, 48 kHz) still
///    applies, D = 35 - 20 = 15, J = 0.9375 + (15 - 0.9375)/16 = 1.81640625;
///  - seq 8 at 335 ms, after the answer is complete: 111 has no clock, no jitter.
///
/// tshark 4.0.17 on this capture: 8 packets, max jitter 1.816, mean 0.459 ((0.9375 + 1.8164)
/// / 6 over packets 2-7), max delta 35 ms; it shows the 200 OK in the frame at 320 ms. Dated
/// by its first segment, the answer would take the clock from seq 7 too: max 0.938, mean
/// 0.188.
#[test]
fn a_sip_message_split_over_tcp_segments_applies_from_the_segment_completing_it() {
    let (mut a_seq, mut b_seq) = (1_000u32, 7_000u32);
    let mut w = PcapWriter::new(Vec::new()).unwrap();
    let mut tcp = |w: &mut PcapWriter<Vec<u8>>, t: u64, from_a: bool, data: &[u8]| {
        let (flow, seq) = if from_a {
            ((addr(A_SIP), addr(B_SIP)), &mut a_seq)
        } else {
            ((addr(B_SIP), addr(A_SIP)), &mut b_seq)
        };
        w.write_tcp(ms(t), flow, *seq, data).unwrap();
        *seq = seq.wrapping_add(u32::try_from(data.len()).unwrap());
    };
    let opus = [(111, "opus/48000/2")];
    tcp(&mut w, 50, true, &sip(true, 1, addr(A_RTP), &opus));
    tcp(&mut w, 80, false, &sip(false, 1, addr(B_RTP), &opus));
    for i in 0..5u16 {
        let t = 150 + 20 * u64::from(i);
        media(&mut w, t, 111, 1 + i, 960 * u32::from(i), i == 0);
    }
    let pcmu = [(0, "PCMU/8000")];
    tcp(&mut w, 240, true, &sip(true, 2, addr(A_RTP), &pcmu));
    media(&mut w, 265, 111, 6, 960 * 5, false);
    let answer = sip(false, 2, addr(B_RTP), &pcmu);
    let (head, rest) = answer.split_at(answer.len() / 2);
    tcp(&mut w, 270, false, head);
    media(&mut w, 300, 111, 7, 960 * 6, false);
    tcp(&mut w, 320, false, rest);
    media(&mut w, 335, 111, 8, 960 * 7, false);
    let pcap = w.finish().unwrap();
    let streams = analyze_json("ws-split-answer", &pcap);
    assert_one_stream(&streams, 8, (1.816, 0.459), 35.0);
}

/// A sender restart that keeps its SSRC (a PBX re-anchoring media) and starts its sequence
/// numbers over below the first: Wireshark counts a sequence cycle when a number comes
/// below the first packet's, so expected = last - first + 65536 + 1 and the stream shows
/// 64536 lost of 64556 (99.97 %), with 10 sequence errors (its sequence check stays on
/// 1009: every restarted packet is "late"). RFC 3550 A.1 would instead resynchronise after
/// two in-order packets. The MOS stays a MOS (1.16 here: never NaN, never above 4.41).
#[test]
fn a_restart_below_the_first_sequence_number_counts_a_cycle_as_wireshark() {
    let mut w = PcapWriter::new(Vec::new()).unwrap();
    offer_answer(&mut w, 0, 1, &[(0, "PCMU/8000")]);
    for i in 0..20u16 {
        let seq = if i < 10 { 1000 + i } else { i };
        media(
            &mut w,
            100 + 20 * u64::from(i),
            0,
            seq,
            160 * u32::from(i),
            false,
        );
    }
    let streams = analyze_json("ws-restart", &w.finish().unwrap());
    let s = &streams[0];
    assert_eq!(s["packets"], 20, "{s}");
    assert_eq!(s["expected"], 64556, "{s}");
    assert_eq!(s["lost"], 64536, "{s}");
    assert_eq!(s["sequence_errors"], 10, "{s}");
    assert_eq!(s["timestamp_errors"], 0, "{s}");
    assert!((1.0..=4.41).contains(&f(s, "mos")), "{s}");
}
