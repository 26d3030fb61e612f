//! G.711 against the reference tables in tests/data (all 65536 inputs, all 256 codes),
//! plus round-trip and tone SNR.
#![allow(clippy::unwrap_used, reason = "test helpers outside #[test] fns")]

mod common;

use telox_codecs::g711::{alaw_decode, alaw_encode, ulaw_decode, ulaw_encode};
use telox_codecs::{Decoder, Encoder, G711Decoder, G711Encoder, Law};

fn data(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn all_inputs() -> Vec<i16> {
    (i16::MIN..=i16::MAX).collect()
}

fn le_i16(bytes: &[u8]) -> Vec<i16> {
    bytes
        .chunks_exact(2)
        .map(|c| i16::from_le_bytes([c[0], c[1]]))
        .collect()
}

#[test]
fn ulaw_encoder_matches_g191_on_every_input() {
    let want = data("lin16_to_ulaw_g191.bin");
    let mut got = vec![0u8; 65536];
    ulaw_encode(&all_inputs(), &mut got);
    let bad: Vec<_> = (0..65536).filter(|&i| got[i] != want[i]).collect();
    assert!(
        bad.is_empty(),
        "{} mismatches, first at input {}",
        bad.len(),
        bad[0] as i32 - 32768
    );
}

#[test]
fn ulaw_differs_from_audioop_only_where_documented() {
    // audioop (Sun g711.c) takes negative magnitudes as -(x >> 2): 508 negative inputs,
    // one step each, differ from G.191.
    let audioop = data("lin16_to_ulaw.bin");
    let mut got = vec![0u8; 65536];
    ulaw_encode(&all_inputs(), &mut got);
    let diff: Vec<usize> = (0..65536).filter(|&i| got[i] != audioop[i]).collect();
    assert_eq!(diff.len(), 508);
    assert!(
        diff.iter().all(|&i| i < 32768),
        "only negative inputs differ"
    );
}

#[test]
fn alaw_encoder_matches_reference_on_every_input() {
    let want = data("lin16_to_alaw.bin");
    let mut got = vec![0u8; 65536];
    alaw_encode(&all_inputs(), &mut got);
    assert_eq!(got, want);
}

#[test]
fn decoders_match_reference_on_every_code() {
    let codes: Vec<u8> = (0..=255).collect();
    let mut got = vec![0i16; 256];
    ulaw_decode(&codes, &mut got);
    assert_eq!(got, le_i16(&data("ulaw_to_lin16.bin")));
    alaw_decode(&codes, &mut got);
    assert_eq!(got, le_i16(&data("alaw_to_lin16.bin")));
}

#[test]
fn decode_then_encode_is_identity_on_codes() {
    // Every code except µ-law's negative zero (0x7F decodes to 0, which encodes as 0xFF).
    let codes: Vec<u8> = (0..=255).collect();
    for law in [Law::Ulaw, Law::Alaw] {
        let mut pcm = vec![0i16; 256];
        law.decode(&codes, &mut pcm);
        let mut back = vec![0u8; 256];
        law.encode(&pcm, &mut back);
        for (c, &b) in back.iter().enumerate() {
            if law == Law::Ulaw && c == 0x7F {
                assert_eq!(b, 0xFF);
            } else {
                assert_eq!(b, c as u8, "{law:?} code {c:#x}");
            }
        }
    }
}

#[test]
fn round_trip_error_is_bounded_by_the_segment_step() {
    let x = all_inputs();
    for law in [Law::Ulaw, Law::Alaw] {
        let mut codes = vec![0u8; x.len()];
        law.encode(&x, &mut codes);
        let mut y = vec![0i16; x.len()];
        law.decode(&codes, &mut y);
        for (&a, &b) in x.iter().zip(&y) {
            let err = (i32::from(a) - i32::from(b)).abs();
            // Step size of the segment holding a: 1/16 of its magnitude or so, at least 8.
            let bound = (i32::from(a).abs() / 16).max(16) + 132;
            assert!(err <= bound, "{law:?}: {a} -> {b}");
        }
    }
}

#[test]
fn tone_snr_of_1khz_through_the_trait() {
    // A -10 dBFS-ish tone: G.711's signal-to-quantisation ratio is about 38 dB over most of
    // the range (G.712 asks >= 35 dB); 1000 Hz hits only 8 sample phases, so 1020 Hz (the
    // ITU test tone) is checked too.
    for (law, freq) in [
        (Law::Ulaw, 1000.0),
        (Law::Alaw, 1000.0),
        (Law::Ulaw, 1020.0),
        (Law::Alaw, 1020.0),
    ] {
        let x = common::sine(8000, freq, 8000, 10000.0);
        let mut enc = G711Encoder::new(law, 20).unwrap();
        let mut dec = G711Decoder::new(law);
        let mut y = Vec::new();
        for frame in x.chunks_exact(160) {
            let payload = enc.encode_vec(frame).unwrap();
            assert_eq!(payload.len(), 160);
            y.extend(dec.decode_vec(&payload).unwrap());
        }
        let snr = common::snr(&x, &y);
        assert!(
            snr > 35.0 && snr < 55.0,
            "{law:?} {freq} Hz tone SNR {snr:.1} dB"
        );
    }
}

#[test]
fn speech_like_round_trip_snr() {
    let x = common::speech_like(8000, 2.0, 1);
    for law in [Law::Ulaw, Law::Alaw] {
        let mut codes = vec![0u8; x.len()];
        law.encode(&x, &mut codes);
        let mut y = vec![0i16; x.len()];
        law.decode(&codes, &mut y);
        let snr = common::snr(&x, &y);
        assert!(snr > 30.0, "{law:?} speech SNR {snr:.1} dB");
    }
}
