//! Arbitrary bytes as an SDP offer into the RFC 3264 answerer: no panic; every answer parses
//! strictly and negotiates from the offerer's side.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _answered = telox_sdp::fuzzing::offer_answer(data);
});
