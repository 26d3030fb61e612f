//! Packet-loss concealment (G.711 Appendix I) on speech-like audio with 10 % random loss:
//! the concealed output must be closer to the original than zero-filling.
#![allow(clippy::unwrap_used, reason = "test helpers outside #[test] fns")]

mod common;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use telox_codecs::{Decoder, Encoder, G711Decoder, G711Encoder, G722Decoder, G722Encoder, Law};

/// Runs `x` through encoder and decoder frame by frame, losing each frame with probability
/// `loss` (seeded), and returns the output.
fn run(x: &[i16], enc: &mut dyn Encoder, dec: &mut dyn Decoder, loss: f64, seed: u64) -> Vec<i16> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let frame = enc.frame_samples();
    let mut y = Vec::with_capacity(x.len());
    for chunk in x.chunks_exact(frame) {
        let payload = enc.encode_vec(chunk).unwrap();
        if rng.random_bool(loss) {
            y.extend(dec.conceal_vec(frame).unwrap());
        } else {
            y.extend(dec.decode_vec(&payload).unwrap());
        }
    }
    y
}

#[test]
fn g711_plc_beats_zero_fill_at_10_percent_loss() {
    let mut gain = 0.0;
    for seed in 0..4 {
        let x = common::speech_like(8000, 4.0, 100 + seed);
        let n = x.len() / 160 * 160;
        let x = &x[..n];
        let mut enc = G711Encoder::new(Law::Ulaw, 20).unwrap();
        let plc = run(x, &mut enc, &mut G711Decoder::new(Law::Ulaw), 0.1, seed);
        let mut enc = G711Encoder::new(Law::Ulaw, 20).unwrap();
        let zero = run(
            x,
            &mut enc,
            &mut G711Decoder::without_plc(Law::Ulaw),
            0.1,
            seed,
        );
        let (s_plc, s_zero) = (common::snr(x, &plc), common::snr(x, &zero));
        println!("seed {seed}: PLC {s_plc:.2} dB, zero fill {s_zero:.2} dB");
        assert!(
            s_plc > s_zero,
            "seed {seed}: PLC {s_plc:.2} dB <= zero fill {s_zero:.2} dB"
        );
        gain += (s_plc - s_zero) / 4.0;
    }
    assert!(gain > 1.0, "PLC gains {gain:.2} dB on average, want > 1 dB");
}

#[test]
fn g722_plc_beats_zero_fill_at_10_percent_loss() {
    let x = common::speech_like(16000, 4.0, 7);
    let n = x.len() / 320 * 320;
    let x = &x[..n];
    // Reference: the loss-free decode (G.722 itself is lossy).
    let clean = run(
        x,
        &mut G722Encoder::new(20).unwrap(),
        &mut G722Decoder::new(),
        0.0,
        1,
    );
    let lossy = run(
        x,
        &mut G722Encoder::new(20).unwrap(),
        &mut G722Decoder::new(),
        0.1,
        1,
    );
    // Zero fill: the same loss pattern with the concealed frames silenced.
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut zero = clean.clone();
    for f in zero.chunks_exact_mut(320) {
        if rng.random_bool(0.1) {
            f.fill(0);
        }
    }
    let (s_plc, s_zero) = (common::snr(&clean, &lossy), common::snr(&clean, &zero));
    println!("G.722: PLC {s_plc:.2} dB, zero fill {s_zero:.2} dB");
    assert!(
        s_plc > s_zero,
        "PLC {s_plc:.2} dB <= zero fill {s_zero:.2} dB"
    );
}
