//! Jitter buffer: the cost of one packet's push plus one pop in steady state (a call's
//! per-packet work on the media path), with and without jitter and loss; payloads are `Bytes`
//! as the glue passes them (the clone is a reference-count increment). No allocation
//! happens on this path (jitter-buffer/tests/no_alloc.rs proves it). No peer: no Rust crate
//! offers an adaptive (NetEq-like) jitter buffer to compare with.
//!
//! Times are **on-CPU time of the bench thread** (Linux `/proc/thread-self/schedstat`), as in
//! benches/rtp.rs: the machine is shared (load above 10 on 2 cores), which inflates wall time
//! several times over while CPU time stays put.
//!
//! Run: `cargo bench -p telox-benches --bench jitter_buffer -- --warm-up-time 1 --measurement-time 3`

#![allow(
    missing_docs,
    reason = "criterion_group! generates an undocumented pub fn"
)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::measurement::Measurement;
use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use jitter_buffer::{JitterBuffer, JitterConfig, Playout};
use rtp::{MediaTime, SeqNo};
use telox_benches::ThreadCpu;

/// Packets per measured iteration.
const BATCH: u64 = 16;
/// Arrival offsets (ms) cycling through a jittery pattern, up to 35 ms late, with reordering.
const JITTER_MS: [u64; 16] = [3, 17, 0, 35, 8, 22, 1, 12, 30, 5, 0, 19, 27, 4, 9, 14];

fn bench_push_pop<M: Measurement>(c: &mut Criterion<M>) {
    let mut g = c.benchmark_group("jitter_buffer");
    // CPU time from schedstat advances in scheduler ticks: each sample must run for many
    // milliseconds, so every iteration handles BATCH packets and all samples are equal.
    g.throughput(Throughput::Elements(BATCH));
    g.sampling_mode(SamplingMode::Flat);
    for (name, jitter, loss_every) in [
        ("push_pop/clean", false, 0_u64),
        ("push_pop/jitter", true, 0),
        ("push_pop/jitter_loss_2pct", true, 50),
    ] {
        #[expect(
            clippy::disallowed_methods,
            reason = "bench: any epoch for the virtual clock"
        )]
        let t0 = Instant::now();
        let mut jb: JitterBuffer<Bytes> = match JitterBuffer::new(JitterConfig::new(8_000, 20)) {
            Ok(jb) => jb,
            Err(e) => panic!("default config rejected: {e}"),
        };
        // A received RTP payload as the glue holds it (a `Bytes` view of the datagram).
        let payload = Bytes::from(vec![0_u8; 160]);
        let mut i: u64 = 0;
        let mut frames: u64 = 0;
        g.bench_function(name, |b| {
            b.iter(|| {
                for _ in 0..BATCH {
                    // One packet per 20 ms of audio: the audio side pops at its own
                    // cadence and the packet arrives with its jitter.
                    let send = t0 + Duration::from_millis(i * 20);
                    let arrival = send
                        + Duration::from_millis(if jitter {
                            JITTER_MS[(i % 16) as usize]
                        } else {
                            0
                        });
                    if loss_every == 0 || i % loss_every != 7 {
                        black_box(jb.push(
                            arrival,
                            SeqNo(i & 0xFFFF),
                            MediaTime::new(i.wrapping_mul(160), 8_000),
                            payload.clone(),
                        ));
                    }
                    if let Playout::Frame(f) = jb.pop(send + Duration::from_millis(60)) {
                        frames += 1;
                        black_box(f);
                    }
                    i += 1;
                }
            });
        });
        assert!(frames > 0 || i < 100, "{name}: nothing played");
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(ThreadCpu);
    targets = bench_push_pop
}
criterion_main!(benches);
