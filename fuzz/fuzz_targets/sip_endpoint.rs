//! sip_endpoint: a user agent and a transaction endpoint driven by arbitrary datagrams, timer
//! firings and application actions; see `telox_sip_core::transaction::fuzzing::endpoint`.

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
    telox_sip_core::transaction::fuzzing::endpoint(origin, data);
});
