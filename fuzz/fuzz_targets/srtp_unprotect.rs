//! Arbitrary bytes into SRTP/SRTCP unprotect for every profile: no panic, never accepted;
//! plus a protect -> unprotect round trip when the bytes parse as RTP/RTCP.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    telox_srtp::fuzzing::unprotect_arbitrary(data);
});
