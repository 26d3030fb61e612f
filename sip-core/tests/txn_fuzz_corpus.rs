//! Replays fuzz/corpus/sip_endpoint through the endpoint harness on stable, whole and in
//! truncated prefixes.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers outside #[test] fns")]

use std::path::Path;
use std::time::Instant;

use telox_sip_core::transaction::fuzzing;

#[expect(clippy::disallowed_methods, reason = "virtual clock origin; only offsets matter")]
fn origin() -> Instant {
    Instant::now()
}

#[test]
fn sip_endpoint_corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/sip_endpoint");
    let t0 = origin();
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        fuzzing::endpoint(t0, &data);
        for len in (0..data.len()).step_by(11) {
            fuzzing::endpoint(t0, &data[..len]);
        }
        n += 1;
    }
    assert!(n >= 7, "corpus has {n} files");
}
