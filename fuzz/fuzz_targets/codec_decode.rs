//! Hostile payload streams into every telox decoder (G.711, G.722, Opus), with concealment
//! and FEC calls interleaved.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    telox_codecs::fuzzing::codec_decode(data);
});
