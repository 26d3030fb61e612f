//! Fuzz target: forwards to `telox_rtp::fuzzing::rtcp_compound`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    telox_rtp::fuzzing::rtcp_compound(data);
});
