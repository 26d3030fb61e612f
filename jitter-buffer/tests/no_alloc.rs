//! push + pop allocate nothing in steady state: proven with a counting global allocator
//! (stats_alloc; no unsafe code here). One test per binary, so no other test thread allocates
//! while the region is open.

use std::alloc::System;
use std::time::Duration;

use rtp::{MediaTime, SeqNo};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use telox_jitter_buffer::{JitterBuffer, JitterConfig, Playout};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

#[test]
fn push_and_pop_allocate_nothing_in_steady_state() {
    #[expect(
        clippy::disallowed_methods,
        reason = "any epoch will do for the virtual clock"
    )]
    let t0 = std::time::Instant::now();
    let mut jb: JitterBuffer<[u8; 160]> = JitterBuffer::new(JitterConfig::new(8_000, 20)).unwrap();
    let mut played = 0_u32;
    // Jitter, reordering, loss, duplicates and a delay spike: every code path of a call.
    let arrival_ms = |i: u64| -> u64 {
        let jitter = (i * 7_919) % 37;
        let spike = if (1_000..1_010).contains(&i) { 150 } else { 0 };
        i * 20 + jitter + spike
    };
    let run = |jb: &mut JitterBuffer<[u8; 160]>, from: u64, to: u64, played: &mut u32| {
        let mut audio_ms = from * 20;
        for i in from..to {
            if i % 53 == 0 {
                continue; // lost
            }
            let at = t0 + Duration::from_millis(arrival_ms(i));
            while audio_ms < arrival_ms(i) {
                if let Playout::Frame(_) = jb.pop(t0 + Duration::from_millis(audio_ms)) {
                    *played += 1;
                }
                audio_ms += 20;
            }
            let seq = SeqNo(i & 0xFFFF);
            let media = MediaTime::new(i * 160, 8_000);
            jb.push(at, seq, media, [i as u8; 160]);
            if i % 97 == 0 {
                jb.push(at, seq, media, [0; 160]); // duplicate
            }
        }
    };
    // Warm-up: the first pops and pushes may not allocate either, but steady state is the
    // claim.
    run(&mut jb, 0, 500, &mut played);
    let region = Region::new(GLOBAL);
    run(&mut jb, 500, 4_000, &mut played);
    let stats = region.change();
    assert_eq!(stats.allocations, 0, "{stats:?}");
    assert_eq!(stats.reallocations, 0, "{stats:?}");
    assert!(played > 3_000, "{played}");
    let s = jb.stats();
    assert!(s.lost > 50 && s.duplicate > 30, "{s:?}");

    // The counter works.
    let region = Region::new(GLOBAL);
    let v = vec![0_u8; 64];
    assert!(region.change().allocations > 0);
    drop(v);
}
