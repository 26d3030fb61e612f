//! Replays the seed corpus of every rtp fuzz target (`fuzz/corpus/rtp_*`) on stable, plus every
//! truncation of each file, through the same harness functions cargo-fuzz runs.

#![allow(clippy::unwrap_used, reason = "test helper outside #[test] fns")]

use std::path::PathBuf;

use telox_rtp::fuzzing;

fn replay(target: &str, harness: fn(&[u8])) -> usize {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        for end in 0..=data.len() {
            harness(&data[..end]);
        }
        n += 1;
    }
    n
}

#[test]
fn rtp_packet_corpus() {
    assert!(replay("rtp_packet", fuzzing::rtp_packet) >= 5);
}

#[test]
fn rtp_rtcp_corpus() {
    assert!(replay("rtp_rtcp", fuzzing::rtcp_compound) >= 7);
}

#[test]
fn rtp_session_corpus() {
    assert!(replay("rtp_session", fuzzing::rtp_session) >= 1);
}
