//! Shared by the rtp-analyze tests: run the tool on a capture and read its `--json` rows.

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
