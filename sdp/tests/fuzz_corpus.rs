//! Replays the seed corpora of the `sdp_parse` and `sdp_offer_answer` fuzz targets
//! (`fuzz/corpus/`) on stable, so a regression found by fuzzing fails `cargo test`.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use std::path::Path;

#[test]
fn replay_sdp_parse_corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/sdp_parse");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("corpus directory") {
        telox_sdp::fuzzing::parse(&std::fs::read(entry.unwrap().path()).unwrap());
        n += 1;
    }
    assert!(n >= 20, "corpus has {n} files");
}

#[test]
fn replay_sdp_offer_answer_corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/sdp_offer_answer");
    let (mut n, mut answered) = (0, 0);
    for entry in std::fs::read_dir(&dir).expect("corpus directory") {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        answered += usize::from(telox_sdp::fuzzing::offer_answer(&data));
        n += 1;
    }
    assert!(n >= 20, "corpus has {n} files");
    // The SIP phones' offers are answered; the WebRTC (DTLS) ones are not.
    assert!(answered >= 15, "{answered} of {n} seeds answered");
}
