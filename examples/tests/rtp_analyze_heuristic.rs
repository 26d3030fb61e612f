//! `rtp-analyze` without SIP and without `--port`: the heuristic finds the RTP stream of a
//! capture and leaves out the DNS traffic beside it, whose random message IDs give a quarter
//! of DNS datagrams the RTP version bits.

mod rtp_analyze_support;

use std::net::SocketAddr;
use std::time::Duration;

use rtp_analyze_support::{analyze_json, rtp_packet};
use telox_examples::pcap::PcapWriter;

#[test]
fn heuristic_keeps_the_rtp_stream_and_drops_dns_noise() {
    let addr = |s: &str| -> SocketAddr { s.parse().unwrap() };
    let mut w = PcapWriter::new(Vec::new()).unwrap();
    let (caller, callee) = (addr("10.0.0.1:4000"), addr("10.0.0.2:5000"));
    let (client, server) = (addr("10.0.0.1:33333"), addr("10.0.0.53:53"));
    // A DNS query for example.com (ID 0x8042: its first byte reads as RTP version 2, no
    // CSRC), sent twice, and its answer.
    let mut query = vec![0x80, 0x42, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    query.extend_from_slice(b"\x07example\x03com\x00\x00\x01\x00\x01");
    let mut answer = query.clone();
    answer[2] = 0x81;
    answer[3] = 0x80;
    answer[7] = 1;
    answer.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 192, 0, 2, 7]);
    let mut t = Duration::from_secs(1_795_000_000);
    w.write_udp(t, client, server, &query).unwrap();
    w.write_udp(t + Duration::from_millis(5), client, server, &query)
        .unwrap();
    w.write_udp(t + Duration::from_millis(9), server, client, &answer)
        .unwrap();
    for i in 0..50u16 {
        let pkt = rtp_packet(
            0,
            1000 + i,
            8000 + 160 * u32::from(i),
            0x1122_3344,
            &[0xff; 160],
        );
        w.write_udp(t, caller, callee, &pkt).unwrap();
        t += Duration::from_millis(20);
    }
    let bytes = w.finish().unwrap();

    let streams = analyze_json("heur", &bytes);
    assert_eq!(streams.len(), 1, "{streams:#?}");
    assert_eq!(streams[0]["ssrc"], 0x1122_3344);
    assert_eq!(streams[0]["packets"], 50);
    assert_eq!(streams[0]["lost"], 0);
}
