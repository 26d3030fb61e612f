//! sip_datagram: see `telox_sip_core::fuzzing::datagram` for the invariants checked.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    telox_sip_core::fuzzing::datagram(data);
});
