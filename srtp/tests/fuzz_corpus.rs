//! Replays the seed corpus of the `srtp_unprotect` fuzz target (`fuzz/corpus/`) on stable,
//! so a regression found by fuzzing fails `cargo test`.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use std::path::Path;

#[test]
fn replay_srtp_unprotect_corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/srtp_unprotect");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("corpus directory") {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        telox_srtp::fuzzing::unprotect_arbitrary(&data);
        n += 1;
    }
    assert!(n >= 10, "corpus has {n} files");
}

#[test]
fn harness_rejects_and_round_trips_generated_inputs() {
    // a deterministic sweep of short inputs around the RTP/RTCP header boundaries
    let mut s = 0x1234_5678_u32;
    for len in 0..120 {
        let mut data: Vec<u8> = (0..len)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                s as u8
            })
            .collect();
        if let Some(b) = data.first_mut() {
            *b = 0x80 | (*b & 0x1f);
        }
        telox_srtp::fuzzing::unprotect_arbitrary(&data);
    }
}
