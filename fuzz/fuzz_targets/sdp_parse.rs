//! Arbitrary bytes into the SDP parser, strict and lenient: no panic; strictly parsed input
//! writes back byte for byte; leniently parsed input writes back to the same model.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    telox_sdp::fuzzing::parse(data);
});
