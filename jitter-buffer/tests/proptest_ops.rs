//! Properties over random inputs: any operation sequence keeps the invariants (the fuzz
//! harness), and a stream with bounded reordering and jitter, no loss, is played completely
//! and in order.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use rtp::{MediaTime, SeqNo};
use telox_jitter_buffer::{JitterBuffer, JitterConfig, Playout};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_operations_keep_the_invariants(data in proptest::collection::vec(any::<u8>(), 0..2_000)) {
        #[expect(clippy::disallowed_methods, reason = "any epoch will do for the virtual clock")]
        let t0 = Instant::now();
        telox_jitter_buffer::fuzzing::jb_ops(t0, &data);
    }

    #[test]
    fn jitter_within_the_max_delay_loses_nothing(
        jitter in proptest::collection::vec(0_u64..120, 300..600),
        start_seq in any::<u16>(),
        start_ts in any::<u32>(),
    ) {
        #[expect(clippy::disallowed_methods, reason = "any epoch will do for the virtual clock")]
        let t0 = Instant::now();
        let mut jb: JitterBuffer<u64> = JitterBuffer::new(JitterConfig::new(8_000, 20)).unwrap();
        // Packet i is sent at 20 i ms and arrives up to 120 ms later (reordering included);
        // the audio side pulls every frame duration.
        let mut arrivals: Vec<(u64, u64)> =
            jitter.iter().enumerate().map(|(i, j)| (i as u64 * 20 + j, i as u64)).collect();
        arrivals.sort_unstable();
        let mut played = Vec::new();
        let mut audio = arrivals[0].0;
        let mut next = 0;
        let end = arrivals.last().unwrap().0 + 2_000;
        while audio < end {
            while next < arrivals.len() && arrivals[next].0 <= audio {
                let (at, i) = arrivals[next];
                let seq = SeqNo(u64::from(start_seq.wrapping_add(i as u16)));
                let ts = MediaTime::new(u64::from(start_ts.wrapping_add(i as u32 * 160)), 8_000);
                jb.push(t0 + Duration::from_millis(at), seq, ts, i);
                next += 1;
            }
            let out = jb.pop(t0 + Duration::from_millis(audio));
            let mut step = u64::from(out.duration()) / 8;
            if let Playout::Frame(f) = out {
                played.push(f.payload);
                step = match f.action {
                    telox_jitter_buffer::FrameAction::Accelerate { max_ticks } => step - u64::from(max_ticks) / 8,
                    telox_jitter_buffer::FrameAction::Expand { max_ticks } => step + u64::from(max_ticks) / 8,
                    _ => step,
                };
            }
            audio += step.max(1);
        }
        // In order, never twice; everything played or counted late. Jitter may start at any
        // time (a calm start lets the target fall to its minimum), so the first packets of a
        // jittery phase can be late; once learnt, jitter under the max delay (400 ms) costs
        // little: at most 3 % + 1 of the last third is late (the histogram asks for at most
        // two samples above target while it fills, so the quantile is 0.99 from 200 packets).
        prop_assert!(played.windows(2).all(|w| w[0] < w[1]), "{played:?}");
        let s = jb.stats();
        prop_assert_eq!(played.len() as u64 + s.late, jitter.len() as u64);
        let n = jitter.len() as u64;
        let tail = n - 2 * n / 3;
        let late_tail = (2 * n / 3..n).filter(|i| !played.contains(i)).count() as u64;
        prop_assert!(late_tail <= tail * 3 / 100 + 1, "late {late_tail} of {tail}");
    }
}
