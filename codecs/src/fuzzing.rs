//! Fuzz harnesses, shared by `fuzz/fuzz_targets/codec_*.rs` and the corpus replay test.
//! Not part of the public API.

use crate::cn::{CnGenerator, ComfortNoise};
use crate::{Decoder, decoder_for};

/// Decodes a stream of hostile payloads with every decoder. Layout: byte 0 picks the
/// codec, then records of `[op, len, payload...]` where `op` chooses decode, conceal or
/// FEC. Must never panic.
pub fn codec_decode(data: &[u8]) {
    let Some((&pick, mut rest)) = data.split_first() else {
        return;
    };
    let mut dec: Box<dyn Decoder> = match pick % 5 {
        0 => decoder_for("PCMU", 8000, 1),
        1 => decoder_for("PCMA", 8000, 1),
        2 => decoder_for("G722", 8000, 1),
        3 => decoder_for("opus", 48000, 1),
        _ => decoder_for("opus", 48000, 2),
    }
    .unwrap_or_else(|_| unreachable!("fixed valid codec names"));
    let mut out = vec![0i16; 5760 * 2];
    while let [op, len, tail @ ..] = rest {
        let len = usize::from(*len).min(tail.len());
        let (payload, next) = tail.split_at(len);
        rest = next;
        match op % 4 {
            0 | 1 => {
                let _ = dec.decode(payload, &mut out);
            }
            2 => {
                let samples = 120 * usize::from(op / 4 % 48 + 1);
                let _ = dec.decode_lost(samples, &mut out);
            }
            _ => {
                let _ = dec.decode_fec(payload, 960, &mut out);
            }
        }
        let _ = dec.samples_in(payload);
    }
}

/// Parses a hostile comfort-noise payload and, if valid, synthesises from it and writes
/// it back. Must never panic, and a parsed payload must round-trip.
pub fn codec_cn(data: &[u8]) {
    if let Ok(cn) = ComfortNoise::parse(data) {
        assert_eq!(cn.to_bytes(), data, "CN payload must round-trip");
        let mut rng = SplitMix(u64::from(cn.level));
        let mut out = [0i16; 160];
        CnGenerator::new().generate(&cn, &mut rng, &mut out);
    }
}

/// A tiny deterministic RNG for the harness (no external state).
struct SplitMix(u64);

impl rand::RngCore for SplitMix {
    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}
