//! `rtp-analyze --wav`: a synthetic call capture (PCMU both ways, one side through a lossy
//! emulator) exports one WAV per stream, named by SSRC, with the lost packets concealed so
//! both files cover the same call duration.

use std::process::Command;

#[test]
fn synthetic_call_exports_one_wav_per_stream_with_concealment() {
    let bin = env!("CARGO_BIN_EXE_rtp-analyze");
    let dir = std::env::temp_dir().join(format!("telox-wav-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let pcap = dir.join("call.pcap");
    let synth = Command::new(bin)
        .args([
            "--synth",
            pcap.to_str().unwrap(),
            "--loss",
            "0.05",
            "--seed",
            "7",
        ])
        .args(["--packets", "250", "--no-dtmf"])
        .output()
        .unwrap();
    assert!(
        synth.status.success(),
        "{}",
        String::from_utf8_lossy(&synth.stderr)
    );
    let wavs = dir.join("wav");
    let out = Command::new(bin)
        .args(["--wav", wavs.to_str().unwrap(), pcap.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = String::from_utf8_lossy(&out.stderr);
    let mut files: Vec<_> = std::fs::read_dir(&wavs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 2, "{log}");
    let mut lengths = Vec::new();
    for f in &files {
        let name = f.file_stem().unwrap().to_str().unwrap();
        assert_eq!(
            name.len(),
            8,
            "file named by the SSRC in 8 hex digits: {name}"
        );
        assert!(
            name.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        let reader = hound::WavReader::open(f).unwrap();
        let spec = reader.spec();
        assert_eq!(
            (spec.channels, spec.sample_rate, spec.bits_per_sample),
            (1, 8000, 16)
        );
        lengths.push(reader.duration());
    }
    // One stream lost ~5 % of its packets: concealment keeps it as long as the clean one
    // (within the frames lost at the very end, which nothing follows to reveal).
    let (a, b) = (lengths[0] as i64, lengths[1] as i64);
    assert!((a - b).abs() <= 160 * 3, "{lengths:?}");
    assert!(a >= 160 * 240, "{lengths:?}");
    assert!(log.contains("samples concealed"), "{log}");
    assert!(!log.contains(" 0 samples concealed") || log.matches("wrote").count() == 2);
    let _ = std::fs::remove_dir_all(&dir);
}
