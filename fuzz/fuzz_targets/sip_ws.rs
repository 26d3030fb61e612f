//! sip_ws: see `telox_sip_core::fuzzing::ws` for the invariants checked.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    telox_sip_core::fuzzing::ws(data);
});
