//! dns_message: DNS responses from the network, parsed, re-encoded and run through an RFC
//! 3263 resolution; see `telox_sip_core::fuzzing::dns`.

#![no_main]

use std::sync::OnceLock;
use std::time::Instant;

use libfuzzer_sys::fuzz_target;

static ORIGIN: OnceLock<Instant> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    #[expect(
        clippy::disallowed_methods,
        reason = "any origin instant; the harness is sans-IO"
    )]
    let origin = *ORIGIN.get_or_init(Instant::now);
    telox_sip_core::fuzzing::dns(origin, data);
});
