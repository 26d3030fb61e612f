#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    #[allow(
        clippy::disallowed_methods,
        reason = "the virtual clock needs some epoch"
    )]
    let t0 = std::time::Instant::now();
    telox_jitter_buffer::fuzzing::jb_ops(t0, data);
});
