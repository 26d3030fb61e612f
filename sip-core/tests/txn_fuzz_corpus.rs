//! Replays fuzz/corpus/sip_endpoint through the endpoint harness on stable, whole and in
//! truncated prefixes.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers outside #[test] fns"
)]

use std::path::Path;
use std::time::Instant;

use telox_sip_core::transaction::fuzzing;

#[expect(
    clippy::disallowed_methods,
    reason = "virtual clock origin; only offsets matter"
)]
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

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Random op streams built from seed fragments: mutated datagrams, timer jumps and
    /// application actions in any order.
    #[test]
    fn random_op_streams_hold_the_invariants(
        ops in proptest::collection::vec((0u8..3, proptest::collection::vec(proptest::num::u8::ANY, 0..64)), 0..24),
        seed in proptest::collection::vec(proptest::num::u8::ANY, 0..8),
    ) {
        let t0 = origin();
        let mut data = Vec::new();
        let corpus = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fuzz/corpus/sip_endpoint/invite_answer_ack_bye")).unwrap();
        for (op, bytes) in ops {
            match op {
                0 => {
                    // A slice of a seed datagram with some bytes overwritten.
                    let start = usize::from(bytes.first().copied().unwrap_or(0)) % corpus.len();
                    let mut chunk = corpus[start..].to_vec();
                    for (i, b) in bytes.iter().enumerate().skip(1) {
                        let at = usize::from(*b) * 7 % chunk.len().max(1);
                        if let Some(c) = chunk.get_mut(at) { *c = seed.get(i % seed.len().max(1)).copied().unwrap_or(b'x'); }
                    }
                    data.extend_from_slice(&chunk);
                }
                1 => data.extend_from_slice(&[1, bytes.first().copied().unwrap_or(0), bytes.get(1).copied().unwrap_or(0)]),
                _ => data.extend_from_slice(&[2, bytes.first().copied().unwrap_or(0)]),
            }
        }
        fuzzing::endpoint(t0, &data);
    }
}
