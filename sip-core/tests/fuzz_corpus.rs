//! Replays the seed corpus (and fixed crashes) of the SIP fuzz targets on stable:
//! fuzz/corpus/sip_datagram, sip_stream, sip_header.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: an unwrap failure is a test failure"
)]

use std::path::Path;

use telox_sip_core::fuzzing;

fn replay(target: &str, harness: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        harness(&data);
        // every prefix too: truncation is the commonest hostile input
        for len in (0..data.len()).step_by(7) {
            harness(&data[..len]);
        }
        n += 1;
    }
    assert!(n > 0, "empty corpus {target}");
}

#[test]
fn sip_datagram_corpus() {
    replay("sip_datagram", fuzzing::datagram);
}

#[test]
fn sip_stream_corpus() {
    replay("sip_stream", fuzzing::stream);
}

#[test]
fn sip_header_corpus() {
    replay("sip_header", fuzzing::typed_header);
}
