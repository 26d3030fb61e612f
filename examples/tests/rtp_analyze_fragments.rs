//! `rtp-analyze` on a capture whose SIP crossed the network in IP fragments: an INVITE and
//! its 200 OK with large SDPs (ICE candidates, many codecs, as softphones and Teams send)
//! exceed the MTU and arrive in IPv4 fragments. The tool must reassemble them to find the
//! media streams by SDP; without the SDP it would fall back to the heuristic and report the
//! unrelated RTP-looking flow beside the call too. (tshark, given the same file when this
//! test was written, reassembled both messages and decoded their SDP: the fragments are what
//! a network carries.)

mod rtp_analyze_support;

use std::net::SocketAddr;
use std::time::Duration;

use rtp_analyze_support::{analyze_json, call_beside_a_decoy, rtp_packet};
use telox_examples::pcap::PcapWriter;

/// A SIP message with an SDP body over 2,000 bytes announcing audio at `media`.
fn big_sip(first_line: &str, media: SocketAddr, cseq: &str) -> Vec<u8> {
    sip_with(first_line, media, cseq, false)
}

/// [`big_sip`], with the SDP as the first part of a SIP-I multipart body when `multipart`.
fn sip_with(first_line: &str, media: SocketAddr, cseq: &str, multipart: bool) -> Vec<u8> {
    let ip = media.ip();
    let mut sdp = format!(
        "v=0\r\no=- 4242 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n\
         m=audio {} RTP/AVP 96 0 8 9 18 101\r\n",
        media.port()
    );
    sdp.push_str("a=rtpmap:96 opus/48000/2\r\na=fmtp:96 useinbandfec=1\r\n");
    sdp.push_str("a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:9 G722/8000\r\n");
    sdp.push_str("a=rtpmap:18 G729/8000\r\na=rtpmap:101 telephone-event/8000\r\n");
    for n in 0..24 {
        sdp.push_str(&format!(
            "a=candidate:{n} 1 UDP {} 198.51.100.{n} {} typ srflx raddr {ip} rport {}\r\n",
            2_130_706_431 - n,
            40000 + n,
            media.port()
        ));
    }
    let content_type = if multipart {
        sdp = format!(
            "--b1\r\nContent-Type: application/sdp\r\n\r\n{sdp}\r\n--b1\r\n\
             Content-Type: application/isup;version=itu-t92+\r\n\r\nIAM\r\n--b1--\r\n"
        );
        "multipart/mixed;boundary=b1"
    } else {
        "application/sdp"
    };
    let msg = format!(
        "{first_line}\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKfrag1\r\n\
         From: <sip:alice@example.com>;tag=a1\r\nTo: <sip:bob@example.com>\r\n\
         Call-ID: frag-test@10.0.0.1\r\nCSeq: {cseq}\r\nMax-Forwards: 70\r\n\
         Contact: <sip:alice@10.0.0.1:5060>\r\nContent-Type: {content_type}\r\n\
         Content-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    );
    msg.into_bytes()
}

#[test]
fn streams_are_found_by_the_sdp_of_fragmented_sip() {
    let addr = |s: &str| -> SocketAddr { s.parse().unwrap() };
    let (sip_a, sip_b) = (addr("10.0.0.1:5060"), addr("10.0.0.2:5060"));
    let (media_a, media_b) = (addr("10.0.0.1:4000"), addr("10.0.0.2:5000"));
    let invite = big_sip("INVITE sip:bob@10.0.0.2 SIP/2.0", media_a, "1 INVITE");
    let ok = big_sip("SIP/2.0 200 OK", media_b, "1 INVITE");
    assert!(invite.len() > 2000 && ok.len() > 2000);
    let mut w = PcapWriter::new(Vec::new()).unwrap();
    let mut t = Duration::from_secs(1_795_000_000);
    w.write_udp_fragmented(t, (sip_a, sip_b), &invite, 1500, 0x0101)
        .unwrap();
    w.write_udp_fragmented(
        t + Duration::from_millis(30),
        (sip_b, sip_a),
        &ok,
        1500,
        0x0202,
    )
    .unwrap();
    // The call's media (opus, PT 96) and, beside it, an RTP-looking flow of another system.
    for i in 0..50u16 {
        t += Duration::from_millis(20);
        for (src, dst, ssrc, pt) in [
            (media_b, media_a, 0x1122_3344u32, 96u8),
            (addr("10.0.0.9:7000"), addr("10.0.0.8:7002"), 0x5566_7788, 0),
        ] {
            let pkt = rtp_packet(pt, 1000 + i, 960 * u32::from(i), ssrc, &[0x55; 80]);
            w.write_udp(t, src, dst, &pkt).unwrap();
        }
    }
    let bytes = w.finish().unwrap();
    let streams = analyze_json("frag", &bytes);
    assert_eq!(streams.len(), 1, "only the call's stream: {streams:#?}");
    assert_eq!(streams[0]["ssrc"], 0x1122_3344);
    assert_eq!(streams[0]["payload_type"], 96);
    assert_eq!(streams[0]["packets"], 50);
    assert_eq!(streams[0]["lost"], 0);
}

#[test]
fn streams_are_found_by_the_sdp_part_of_a_multipart_body() {
    let addr = |s: &str| -> SocketAddr { s.parse().unwrap() };
    let (sip_a, sip_b) = (addr("10.0.0.1:5060"), addr("10.0.0.2:5060"));
    let (media_a, media_b) = (addr("10.0.0.1:4000"), addr("10.0.0.2:5000"));
    let invite = sip_with("INVITE sip:bob@10.0.0.2 SIP/2.0", media_a, "1 INVITE", true);
    let ok = sip_with("SIP/2.0 200 OK", media_b, "1 INVITE", true);
    let mut w = PcapWriter::new(Vec::new()).unwrap();
    let t = Duration::from_secs(1_795_000_000);
    // Jumbo frames: each message in one frame.
    w.write_udp(t, sip_a, sip_b, &invite).unwrap();
    w.write_udp(t, sip_b, sip_a, &ok).unwrap();
    call_beside_a_decoy(&mut w, t, (media_b, media_a), 20);
    let streams = analyze_json("multipart", &w.finish().unwrap());
    assert_eq!(streams.len(), 1, "only the call's stream: {streams:#?}");
    assert_eq!(streams[0]["ssrc"], 0x1122_3344);
}
