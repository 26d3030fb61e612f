//! Shared by the rtp-analyze tests: RTP packets for their captures, and running the tool on
//! a capture to read its `--json` rows.

#![allow(
    clippy::unwrap_used,
    reason = "test helper: a failure is the test failing"
)]

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use telox_examples::pcap::PcapWriter;

/// Runs `rtp-analyze --json` on `pcap` (the capture's bytes, written to a temporary file
/// named after `name`) and returns its stream objects; panics if the tool fails.
pub(crate) fn analyze_json(name: &str, pcap: &[u8]) -> Vec<serde_json::Value> {
    let dir = std::env::temp_dir().join(format!("telox-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.pcap"));
    std::fs::write(&path, pcap).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_rtp-analyze"))
        .args(["--json", path.to_str().unwrap()])
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let streams: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    streams.as_array().unwrap().clone()
}

/// An RTP packet (version 2, no padding, extension or CSRC) carrying `payload`.
pub(crate) fn rtp_packet(pt: u8, seq: u16, ts: u32, ssrc: u32, payload: &[u8]) -> Vec<u8> {
    let mut pkt = vec![0x80, pt];
    pkt.extend_from_slice(&seq.to_be_bytes());
    pkt.extend_from_slice(&ts.to_be_bytes());
    pkt.extend_from_slice(&ssrc.to_be_bytes());
    pkt.extend_from_slice(payload);
    pkt
}

/// Writes `n` PCMU packets, 20 ms apart after `t`, from `from` to `to` (SSRC 0x11223344) and,
/// beside each, one of an RTP-looking flow of another system (10.0.0.9:7000 -> 10.0.0.8:7002,
/// SSRC 0x55667788), which only the SDP of the capture's SIP tells apart from the call.
#[allow(
    dead_code,
    reason = "not every test file that includes the support uses it"
)]
pub(crate) fn call_beside_a_decoy(
    w: &mut PcapWriter<Vec<u8>>,
    mut t: Duration,
    (from, to): (SocketAddr, SocketAddr),
    n: u16,
) {
    let decoy: (SocketAddr, SocketAddr) = (
        "10.0.0.9:7000".parse().unwrap(),
        "10.0.0.8:7002".parse().unwrap(),
    );
    for i in 0..n {
        t += Duration::from_millis(20);
        for (src, dst, ssrc) in [(from, to, 0x1122_3344u32), (decoy.0, decoy.1, 0x5566_7788)] {
            let pkt = rtp_packet(0, 1000 + i, 160 * u32::from(i), ssrc, &[0xff; 160]);
            w.write_udp(t, src, dst, &pkt).unwrap();
        }
    }
}
