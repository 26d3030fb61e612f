//! sip_header: see `telox_sip_core::fuzzing::typed_header` for the invariants checked.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    telox_sip_core::fuzzing::typed_header(data);
});
