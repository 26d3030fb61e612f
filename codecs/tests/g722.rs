//! G.722 round trips: tone and speech-like SNR, payload sizes, no panic on any bytes.
#![allow(clippy::unwrap_used, reason = "test helpers outside #[test] fns")]

mod common;

use proptest::prelude::*;
use telox_codecs::g722::{G722Core, G722DecoderCore};
use telox_codecs::{Decoder, Encoder, G722Decoder, G722Encoder};

fn round_trip(x: &[i16]) -> Vec<i16> {
    let mut enc = G722Encoder::new(20).unwrap();
    let mut dec = G722Decoder::new();
    let mut y = Vec::new();
    for frame in x.chunks_exact(320) {
        let p = enc.encode_vec(frame).unwrap();
        assert_eq!(p.len(), 160);
        y.extend(dec.decode_vec(&p).unwrap());
    }
    y
}

#[test]
fn tone_round_trip_snr() {
    for freq in [300.0, 1000.0, 3000.0, 6000.0] {
        let x = common::sine(16000, freq, 16000, 8000.0);
        let y = round_trip(&x);
        // The QMF pair delays the signal by 22 samples (a tone also matches a period later).
        let (snr, lag) = common::snr_with_lag(&x[..15000], &y, 40);
        println!("{freq} Hz: {snr:.1} dB at lag {lag}");
        let period = 16000.0 / freq;
        let off = (lag as f64 - 22.0) / period;
        assert!((off - off.round()).abs() < 0.01, "lag {lag}");
        // The upper band (4-8 kHz) has only 2 bits per sample.
        let floor = if freq > 4000.0 { 20.0 } else { 30.0 };
        assert!(snr > floor, "{freq} Hz: {snr:.1} dB");
    }
}

#[test]
fn speech_like_round_trip_snr() {
    let x = common::speech_like(16000, 3.0, 3);
    let y = round_trip(&x[..x.len() / 320 * 320]);
    let (snr, lag) = common::snr_with_lag(&x[..x.len() - 400], &y, 40);
    println!("speech: {snr:.1} dB at lag {lag}");
    assert_eq!(lag, 22);
    assert!(snr > 20.0, "speech SNR {snr:.1} dB");
}

#[test]
fn cores_are_streaming() {
    let x = common::speech_like(16000, 0.5, 9);
    let mut whole = vec![0u8; x.len() / 2];
    G722Core::new().encode(&x, &mut whole);
    let mut parts = Vec::new();
    let mut enc = G722Core::new();
    for c in x.chunks(64) {
        let mut b = vec![0u8; c.len() / 2];
        enc.encode(c, &mut b);
        parts.extend(b);
    }
    assert_eq!(whole, parts);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn any_bytes_decode_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let mut d = G722Decoder::new();
        let out = d.decode_vec(&bytes).unwrap();
        prop_assert_eq!(out.len(), bytes.len() * 2);
        let mut core = G722DecoderCore::new();
        let mut pcm = vec![0i16; bytes.len() * 2];
        core.decode(&bytes, &mut pcm);
        prop_assert_eq!(pcm, out);
    }

    #[test]
    fn any_pcm_encodes_without_panic(pcm in proptest::collection::vec(any::<i16>(), 320)) {
        let mut e = G722Encoder::new(20).unwrap();
        prop_assert_eq!(e.encode_vec(&pcm).unwrap().len(), 160);
    }
}
