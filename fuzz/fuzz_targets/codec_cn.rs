//! Hostile RFC 3389 comfort-noise payloads: parse, round-trip, synthesise.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    telox_codecs::fuzzing::codec_cn(data);
});
