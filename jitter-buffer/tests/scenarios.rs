//! Scripted scenarios: put / get / lost / late / duplicate / jump events with the outcomes
//! the buffer must produce. 8 kHz, 20 ms frames (160 ticks) unless said otherwise.

mod common;

use std::time::Duration;

use common::{Driver, RATE};
use rtp::{MediaTime, SeqNo};
use telox_jitter_buffer::{
    ConcealReason, ConcealSource, Concealer, Concealment, DelayMode, FrameAction, JitterConfig,
    PacketInfo, Playout, Push,
};

const F: u32 = 160;

#[test]
fn in_order_stream_plays_after_the_initial_delay() {
    let mut d = Driver::adaptive();
    for i in 0..10_u16 {
        assert_eq!(
            d.push(f64::from(i) * 20.0, i, u32::from(i) * F),
            Push::Inserted
        );
    }
    d.run_until(400.0);
    assert_eq!(d.played(), (0..10).collect::<Vec<_>>());
    for (k, (t, f)) in d.frames().into_iter().enumerate() {
        assert_eq!(t, 40.0 + 20.0 * k as f64, "frame {k}");
        assert_eq!(f.duration, F);
        assert_eq!(f.action, FrameAction::Normal);
    }
    assert!(matches!(d.log[0].1, Playout::Empty { duration: 80 }));
    let s = d.jb.stats();
    assert_eq!((s.received, s.frames, s.late, s.lost), (10, 10, 0, 0));
    assert_eq!(s.current_delay, Duration::from_millis(40));
}

#[test]
fn reordered_packets_play_in_sequence() {
    let mut d = Driver::adaptive();
    d.push(0.0, 0, 0);
    assert_eq!(d.push(20.0, 2, 2 * F), Push::Inserted);
    assert_eq!(d.push(25.0, 1, F), Push::Reordered);
    d.push(60.0, 3, 3 * F);
    d.run_until(200.0);
    assert_eq!(d.played(), [0, 1, 2, 3]);
    assert_eq!(d.jb.stats().reordered, 1);
    assert_eq!(d.jb.stats().lost, 0);
}

#[test]
fn duplicates_are_dropped_before_and_after_playout() {
    let mut d = Driver::adaptive();
    d.push(0.0, 0, 0);
    assert_eq!(d.push(1.0, 0, 0), Push::Duplicate);
    d.push(20.0, 1, F);
    d.run_until(70.0);
    // Seq 0 played at 40 ms; a copy now is still a duplicate, not a late packet.
    assert_eq!(d.push(70.0, 0, 0), Push::Duplicate);
    d.run_until(200.0);
    assert_eq!(d.played(), [0, 1]);
    let s = d.jb.stats();
    assert_eq!((s.duplicate, s.late), (2, 0));
}

#[test]
fn loss_is_concealed_then_merged() {
    let mut d = Driver::adaptive();
    for i in [0_u16, 1, 3, 4] {
        d.push(f64::from(i) * 20.0, i, u32::from(i) * F);
    }
    d.run_until(200.0);
    assert_eq!(d.played(), [0, 1, 3, 4]);
    // One loss concealment; after seq 4 the stream ends and the buffer conceals underflow.
    let c: Vec<_> = d
        .conceals()
        .into_iter()
        .filter(|(_, c)| c.reason == ConcealReason::Loss)
        .collect();
    assert_eq!(c.len(), 1);
    let (t, c) = c[0];
    assert_eq!(t, 80.0);
    assert_eq!(c.duration, F);
    assert_eq!(c.reason, ConcealReason::Loss);
    assert_eq!(c.missing.wire(), 2);
    assert_eq!(c.next.map(SeqNo::wire), Some(3));
    let frames = d.frames();
    assert_eq!(frames[2].0, 100.0);
    assert_eq!(frames[2].1.action, FrameAction::Merge);
    assert_eq!(d.jb.stats().lost, 1);
    // And the lost packet, arriving now, is late.
    assert_eq!(d.push(200.0, 2, 2 * F), Push::Late);
    assert_eq!(d.jb.stats().late, 1);
}

#[test]
fn late_packet_after_its_slot_is_counted_and_dropped() {
    let mut d = Driver::adaptive();
    d.push(0.0, 0, 0);
    d.push(20.0, 1, F);
    d.push(60.0, 3, 3 * F);
    // Seq 2's slot (80 ms) is concealed; it arrives at 95 ms.
    d.run_until(95.0);
    assert_eq!(d.push(95.0, 2, 2 * F), Push::Late);
    d.run_until(200.0);
    assert_eq!(d.played(), [0, 1, 3]);
    let s = d.jb.stats();
    assert_eq!((s.late, s.lost, s.received), (1, 1, 4));
    assert!((s.late_loss_rate() - 0.25).abs() < 1e-9);
}

#[test]
fn sequence_and_timestamp_wrap_around() {
    let mut d = Driver::adaptive();
    let ts0 = u32::MAX - 2 * F + 1;
    for i in 0..6_u16 {
        let seq = 65_533_u16.wrapping_add(i);
        let ts = ts0.wrapping_add(u32::from(i) * F);
        assert!(d.push(f64::from(i) * 20.0, seq, ts).is_buffered());
    }
    d.run_until(300.0);
    assert_eq!(d.played(), [65_533, 65_534, 65_535, 0, 1, 2]);
    let frames = d.frames();
    // Extended sequence numbers and media times keep counting through the wrap.
    for w in frames.windows(2) {
        assert_eq!(w[1].1.seq.0, w[0].1.seq.0 + 1);
        assert_eq!(w[1].1.media.ticks, w[0].1.media.ticks + u64::from(F));
    }
    assert_eq!(d.jb.stats().lost + d.jb.stats().late, 0);
}

#[test]
fn reorder_across_the_wrap() {
    let mut d = Driver::adaptive();
    d.push(0.0, 65_535, 0);
    d.push(20.0, 1, 2 * F);
    assert_eq!(d.push(22.0, 0, F), Push::Reordered);
    d.run_until(200.0);
    assert_eq!(d.played(), [65_535, 0, 1]);
}

#[test]
fn timestamp_jump_resets_the_buffer() {
    let mut d = Driver::adaptive();
    d.push(0.0, 0, 0);
    d.push(20.0, 1, F);
    d.push(40.0, 2, 2 * F);
    d.run_until(45.0);
    // Timestamp leaps 10 minutes ahead (a new source behind the same SSRC).
    assert_eq!(d.push(60.0, 3, 8_000 * 600), Push::Reset);
    d.push(80.0, 4, 8_000 * 600 + F);
    d.run_until(300.0);
    let s = d.jb.stats();
    assert_eq!(s.resets, 1);
    assert_eq!(s.flushed, 2, "seq 1 and 2 were still buffered");
    assert_eq!(d.played(), [0, 3, 4]);
    // Playout of the new stream starts after the target delay, not after 10 minutes.
    let (t3, _) = d.frames()[1];
    assert!((100.0..=120.0).contains(&t3), "{t3}");
}

#[test]
fn sequence_jump_resets_the_buffer() {
    let mut d = Driver::adaptive();
    d.push(0.0, 0, 0);
    d.push(20.0, 1, F);
    assert_eq!(d.push(40.0, 30_000, 2 * F), Push::Reset);
    assert_eq!(d.jb.stats().resets, 1);
}

#[test]
fn ssrc_change_resets_the_buffer() {
    let mut d = Driver::adaptive();
    assert_eq!(d.push_ssrc(0.0, 100, 1_000, 7), Push::Inserted);
    assert_eq!(d.push_ssrc(20.0, 101, 1_000 + F, 7), Push::Inserted);
    d.run_until(50.0);
    assert_eq!(d.push_ssrc(60.0, 9, 555, 8), Push::Reset);
    d.push_ssrc(80.0, 10, 555 + F, 8);
    d.run_until(300.0);
    assert_eq!(d.played(), [100, 9, 10]);
    assert_eq!(d.jb.stats().resets, 1);
    assert_eq!(d.jb.stats().flushed, 1);
}

#[test]
fn talkspurts_after_dtx_silence_restart_at_the_target_delay() {
    let mut d = Driver::adaptive();
    for i in 0..5_u16 {
        d.push(f64::from(i) * 20.0, i, u32::from(i) * F);
    }
    // DTX: the sender is silent for 1 s; the next talkspurt has the marker bit, the next
    // sequence number and a timestamp 1 s later.
    let gap = 8_000;
    for i in 5..10_u16 {
        let mut info = PacketInfo::new(
            SeqNo(u64::from(i)),
            MediaTime::new(u64::from(u32::from(i) * F + gap), RATE),
        );
        info.marker = i == 5;
        d.push_info(1_000.0 + f64::from(i) * 20.0, info);
    }
    d.run_until(1_500.0);
    assert_eq!(d.played(), (0..10).collect::<Vec<_>>());
    let frames = d.frames();
    assert!(frames[5].1.talkspurt_start);
    // The new talkspurt also plays 40 ms after its first packet arrived (1100 ms).
    assert_eq!(frames[5].0, 1_140.0);
    // The buffer waited for packet 5 concealing up to the max delay, then played silence;
    // nothing was lost or late.
    let s = d.jb.stats();
    assert_eq!((s.lost, s.late), (0, 0));
    assert!(s.silence_us > 500_000, "{s:?}");
}

#[test]
fn comfort_noise_fills_the_gap_after_a_sid_frame() {
    let mut d = Driver::adaptive();
    for i in 0..4_u16 {
        let mut info = PacketInfo::new(
            SeqNo(u64::from(i)),
            MediaTime::new(u64::from(u32::from(i) * F), RATE),
        );
        info.comfort_noise = i == 3;
        d.push_info(f64::from(i) * 20.0, info);
    }
    d.run_until(400.0);
    assert!(d.frames()[3].1.comfort_noise);
    let after: Vec<_> = d.log.iter().skip_while(|(t, _)| *t <= 100.0).collect();
    assert!(!after.is_empty());
    assert!(
        after
            .iter()
            .all(|(_, p)| matches!(p, Playout::ComfortNoise { .. }))
    );
    assert_eq!(d.jb.stats().concealed_us, 0);
}

#[test]
fn variable_frame_sizes_from_10_to_60_ms() {
    let sizes_ms = [10_u32, 20, 30, 60, 10, 40, 20, 60, 20];
    // With the codec's duration hint (the glue reads it from the payload), every frame has
    // its exact duration, even when the next packet is not there yet.
    let mut d = Driver::adaptive();
    let (mut ts, mut t) = (0_u32, 0.0);
    for (i, ms) in sizes_ms.iter().enumerate() {
        let mut info = PacketInfo::new(SeqNo(i as u64), MediaTime::new(u64::from(ts), RATE));
        info.duration = Some(ms * 8);
        d.push_info(t, info);
        ts += ms * 8;
        t += f64::from(*ms);
    }
    d.run_until(600.0);
    let frames = d.frames();
    assert_eq!(frames.len(), sizes_ms.len());
    for (k, (ms, (_, f))) in sizes_ms.iter().zip(&frames).enumerate() {
        assert_eq!(f.duration, ms * 8, "frame {k}");
    }
    // Frames follow each other without gaps or overlaps.
    for w in frames.windows(2) {
        assert!((w[1].0 - w[0].0 - f64::from(w[0].1.duration) / 8.0).abs() < 1e-6);
    }
    let s = d.jb.stats();
    assert_eq!((s.lost, s.late), (0, 0));
    // No concealment before the stream ends.
    let last = frames.last().unwrap().0;
    assert!(d.conceals().iter().all(|(t, _)| *t > last));

    // Without hints, a frame's duration comes from the next packet's timestamp when that is
    // buffered (here all arrive in one burst).
    let mut d = Driver::adaptive();
    let mut ts = 0_u32;
    for (i, ms) in sizes_ms.iter().enumerate() {
        d.push(0.0, i as u16, ts);
        ts += ms * 8;
    }
    d.run_until(600.0);
    let got: Vec<u32> = d.frames().iter().map(|(_, f)| f.duration).collect();
    assert_eq!(
        got[..8],
        sizes_ms[..8].iter().map(|ms| ms * 8).collect::<Vec<_>>()[..]
    );
    assert_eq!((d.jb.stats().lost, d.jb.stats().late), (0, 0));
}

#[test]
fn a_delay_spike_is_waited_out_with_concealment_not_lost() {
    let mut d = Driver::adaptive();
    let arrival = |i: u16| {
        let send = f64::from(i) * 20.0;
        // A FIFO delay spike: packets sent from 600 to 700 ms are held by the network and
        // all arrive at 720 ms, packet 36 with them.
        if (30..36).contains(&i) { 720.0 } else { send }
    };
    let mut order: Vec<u16> = (0..60).collect();
    order.sort_by(|&a, &b| arrival(a).total_cmp(&arrival(b)));
    for i in order {
        d.push(arrival(i), i, u32::from(i) * F);
    }
    d.run_until(2_000.0);
    assert_eq!(d.played(), (0..60).collect::<Vec<_>>(), "nothing lost");
    let s = d.jb.stats();
    assert_eq!((s.late, s.lost), (0, 0));
    let under: Vec<_> = d
        .conceals()
        .into_iter()
        .filter(|(_, c)| c.reason == ConcealReason::Underflow)
        .collect();
    assert!(!under.is_empty());
    // Packet 30 is played with a merge, once it has come.
    assert!(s.peak_delay >= Duration::from_millis(120), "{s:?}");
    let (t30, f30) = d.frames()[30];
    assert!(t30 >= 720.0);
    assert_eq!(f30.action, FrameAction::Merge);
    // Afterwards the added delay is removed again by accelerating.
    assert!(
        d.frames()
            .iter()
            .any(|(_, f)| matches!(f.action, FrameAction::Accelerate { .. }))
    );
    assert!(s.accelerate_us > 0);
}

#[test]
fn delay_above_target_is_reduced_by_accelerate_and_below_by_expand() {
    // 60 ms initial delay on a jitter-free network: once measured, the target falls to the
    // minimum and speech is accelerated towards it.
    let mut c = JitterConfig::new(RATE, 20);
    c.initial_delay = Duration::from_millis(60);
    c.min_delay = Duration::from_millis(20);
    let mut d = Driver::new(c);
    for i in 0..150_u16 {
        d.push(f64::from(i) * 20.0, i, u32::from(i) * F);
    }
    d.run_until(3_200.0);
    let s = d.jb.stats().clone();
    assert_eq!(s.target_delay, Duration::from_millis(20));
    assert!(s.accelerate_us >= 25_000, "{s:?}");
    assert!(s.current_delay <= Duration::from_millis(30), "{s:?}");
    assert_eq!((s.lost, s.late), (0, 0));

    // Now jitter appears (every 4th packet 50 ms late, behind its successor, so it is lost
    // rather than waited for): late packets raise the target and speech is expanded.
    let mut c = JitterConfig::new(RATE, 20);
    c.initial_delay = Duration::from_millis(25);
    c.min_delay = Duration::from_millis(25);
    let mut d = Driver::new(c);
    let mut arrivals: Vec<(f64, u16)> = (0..300_u16)
        .map(|i| {
            let late = if i > 50 && i % 4 == 0 { 50.0 } else { 0.0 };
            (f64::from(i) * 20.0 + late, i)
        })
        .collect();
    arrivals.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (t, i) in arrivals {
        d.push(t, i, u32::from(i) * F);
    }
    d.run_until(6_500.0);
    let s = d.jb.stats();
    assert!(s.expand_us > 0, "{s:?}");
    assert!(s.target_delay >= Duration::from_millis(50), "{s:?}");
    assert!(
        s.late > 0 && s.late < 20,
        "adapted after a few late packets: {s:?}"
    );
}

#[test]
fn capacity_bounds_the_buffer() {
    let mut c = JitterConfig::new(RATE, 20);
    c.capacity = 16;
    let mut d = Driver::new(c);
    // A sender bursting 40 packets at once before playout starts.
    let mut results = Vec::new();
    for i in 0..40_u16 {
        results.push(d.jb.push(
            d.at(0.0),
            SeqNo(u64::from(i)),
            MediaTime::new(u64::from(u32::from(i) * F), RATE),
            u32::from(i),
        ));
    }
    assert!(results[..16].iter().all(|p| p.is_buffered()));
    assert!(results[16..].iter().all(|&p| p == Push::Overflow));
    assert_eq!(d.jb.len(), 16);
    assert_eq!(d.jb.stats().overflow, 24);
}

#[test]
fn target_delay_is_bounded_by_min_and_max() {
    let mut c = JitterConfig::new(RATE, 20);
    c.min_delay = Duration::from_millis(30);
    c.max_delay = Duration::from_millis(150);
    let mut d = Driver::new(c);
    // Enormous jitter: every other packet 500 ms late.
    let mut arrivals: Vec<(f64, u16)> = (0..200_u16)
        .map(|i| {
            (
                f64::from(i) * 20.0 + if i % 2 == 1 { 500.0 } else { 0.0 },
                i,
            )
        })
        .collect();
    arrivals.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (t, i) in arrivals {
        d.push(t, i, u32::from(i) * F);
        assert!(d.jb.target_delay() <= Duration::from_millis(150));
        assert!(d.jb.target_delay() >= Duration::from_millis(30));
    }
    d.run_until(5_000.0);
    // Never waits beyond the max delay: the late half is dropped, not waited for.
    assert!(d.jb.stats().current_delay <= Duration::from_millis(170));
    assert!(d.jb.stats().late >= 90);
}

#[test]
fn fixed_mode_neither_stretches_nor_waits() {
    let mut c = JitterConfig::new(RATE, 20);
    c.mode = DelayMode::Fixed(Duration::from_millis(30));
    let mut d = Driver::new(c);
    let mut arrivals: Vec<(f64, u16)> = (0..50_u16)
        .map(|i| (f64::from(i) * 20.0 + if i == 20 { 45.0 } else { 0.0 }, i))
        .collect();
    arrivals.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (t, i) in arrivals {
        d.push(t, i, u32::from(i) * F);
    }
    d.run_until(1_500.0);
    let frames = d.frames();
    assert!(
        frames
            .iter()
            .all(|(_, f)| matches!(f.action, FrameAction::Normal | FrameAction::Merge))
    );
    // Frame i plays at 30 + 20 i exactly; packet 20 (due at 430, came at 445) is late.
    for (t, f) in &frames {
        assert_eq!(*t, 30.0 + 20.0 * f64::from(f.payload));
    }
    assert!(!d.played().contains(&20));
    assert_eq!(d.jb.stats().late, 1);
    assert_eq!(d.jb.target_delay(), Duration::from_millis(30));
}

#[test]
fn clock_rate_mismatch_is_refused() {
    let mut d = Driver::adaptive();
    let r = d.jb.push(d.at(0.0), SeqNo(1), MediaTime::new(0, 48_000), 1);
    assert_eq!(r, Push::ClockRateMismatch);
    assert!(d.jb.is_empty());
}

#[test]
fn bad_configs_are_typed_errors() {
    use telox_jitter_buffer::{ConfigError, JitterBuffer};
    let mut c = JitterConfig::new(0, 20);
    assert_eq!(
        JitterBuffer::<()>::new(c.clone()).err(),
        Some(ConfigError::ZeroClockRate)
    );
    c.clock_rate = 8_000;
    c.min_delay = Duration::from_millis(500);
    assert!(matches!(
        JitterBuffer::<()>::new(c.clone()).err(),
        Some(ConfigError::DelayBounds { .. })
    ));
    c.min_delay = Duration::ZERO;
    c.capacity = 1;
    assert_eq!(
        JitterBuffer::<()>::new(c).err(),
        Some(ConfigError::Capacity { capacity: 1 })
    );
}

/// A codec stand-in: PLC writes 1s, FEC writes 2s when the next payload is even.
struct MockCodec;

impl Concealer<u32> for MockCodec {
    type Error = ();

    fn conceal(&mut self, ticks: u32, out: &mut Vec<i16>) -> Result<(), ()> {
        out.extend(std::iter::repeat_n(1, ticks as usize));
        Ok(())
    }

    fn recover(&mut self, next: &u32, ticks: u32, out: &mut Vec<i16>) -> Result<bool, ()> {
        if next.is_multiple_of(2) {
            out.extend(std::iter::repeat_n(2, ticks as usize));
            return Ok(true);
        }
        Ok(false)
    }
}

#[test]
fn concealment_uses_fec_of_the_next_packet_when_there() {
    let mut d = Driver::adaptive();
    for i in [0_u16, 1, 3] {
        d.push(f64::from(i) * 20.0, i, u32::from(i) * F);
    }
    d.run_until(80.0);
    // At 80 ms seq 2 is missing and 3 (odd: no FEC in the mock) is buffered.
    let c = match d.jb.pop(d.at(80.0)) {
        Playout::Conceal(c) => c,
        other => panic!("{other:?}"),
    };
    assert_eq!(c.next.map(SeqNo::wire), Some(3));
    let mut out = Vec::new();
    assert_eq!(
        d.jb.conceal_with(&c, &mut MockCodec, &mut out),
        Ok(ConcealSource::Plc)
    );
    assert_eq!(out, vec![1; 160]);
    // Buffer seq 4 (even) and point a concealment at it: FEC.
    d.jb.push(
        d.at(81.0),
        SeqNo(4),
        MediaTime::new(u64::from(4 * F), RATE),
        4,
    );
    let fec = Concealment {
        next: Some(SeqNo(4)),
        ..c
    };
    out.clear();
    assert_eq!(
        d.jb.conceal_with(&fec, &mut MockCodec, &mut out),
        Ok(ConcealSource::Fec)
    );
    assert_eq!(out, vec![2; 160]);
    // A next packet that is not buffered falls back to PLC.
    let gone = Concealment {
        next: Some(SeqNo(40)),
        ..c
    };
    assert_eq!(
        d.jb.conceal_with(&gone, &mut MockCodec, &mut out),
        Ok(ConcealSource::Plc)
    );
}
