//! Replays the seed corpora of the codec fuzz targets (fuzz/corpus/codec_*) on stable, so
//! every input that ever mattered keeps being checked by `cargo test`.
#![allow(clippy::unwrap_used, reason = "test helpers outside #[test] fns")]

use std::path::PathBuf;

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "empty corpus {}", dir.display());
    files
        .into_iter()
        .map(|p| {
            let data = std::fs::read(&p).unwrap();
            (p, data)
        })
        .collect()
}

#[test]
fn codec_decode_corpus() {
    for (path, data) in corpus("codec_decode") {
        println!("{}", path.display());
        telox_codecs::fuzzing::codec_decode(&data);
    }
}

#[test]
fn codec_cn_corpus() {
    for (path, data) in corpus("codec_cn") {
        println!("{}", path.display());
        telox_codecs::fuzzing::codec_cn(&data);
    }
}
