//! Shared by the rtp-analyze tests: RTP packets for their captures, and running the tool on
//! a capture to read its `--json` rows.

#![allow(
    clippy::unwrap_used,
    reason = "test helper: a failure is the test failing"
)]

use std::process::Command;

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
