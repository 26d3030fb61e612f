//! Replays fuzz/corpus/jb_ops/ (the seed corpus and any fixed crash) through the fuzz
//! harness on stable.

use std::path::Path;

#[test]
fn replay_jb_ops_corpus() {
    #[expect(
        clippy::disallowed_methods,
        reason = "any epoch will do for the virtual clock"
    )]
    let t0 = std::time::Instant::now();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/jb_ops");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        telox_jitter_buffer::fuzzing::jb_ops(t0, &data);
        n += 1;
    }
    assert!(n >= 8, "corpus has {n} files");
}
