//! A seeded network emulator (delay, jitter, loss, reorder, duplicate) between a sending and a
//! receiving RtpSession: the receiver's reported loss and jitter must match what the emulator
//! did, computed independently here from the emulator's own log.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers outside #[test] fns"
)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use telox_rtp::rtcp::{self, RtcpPacket, Validation};
use telox_rtp::{MediaTime, RtpPacket, RtpSession, SessionConfig, Ssrc};

#[expect(
    clippy::disallowed_methods,
    reason = "a test's time origin; all later times are virtual"
)]
fn t0() -> Instant {
    Instant::now()
}

struct Netem {
    loss: f64,
    duplicate: f64,
    base_delay_ms: f64,
    jitter_ms: f64,
}

struct Outcome {
    /// (arrival, seq, rtp timestamp) in arrival order.
    arrivals: Vec<(Instant, u16, u32)>,
    dropped_in_range: i64,
    duplicated: i64,
}

fn run(seed: u64, n: u64, net: &Netem) -> (RtpSession, Outcome, Vec<u8>) {
    let t = t0();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut tx = RtpSession::new(
        SessionConfig {
            seed: 0x5eed,
            ..SessionConfig::default()
        },
        t,
    );
    let mut rx = RtpSession::new(
        SessionConfig {
            seed: 0xfeed,
            min_sequential: 0,
            ..SessionConfig::default()
        },
        t,
    );
    let mut flight: Vec<(Instant, Bytes)> = Vec::new();
    let mut dropped = Vec::new();
    let mut duplicated = 0;
    for i in 0..n {
        let at = t + Duration::from_millis(20 * i);
        let p = tx.send_rtp(
            at,
            MediaTime::new(i * 160, 8000),
            false,
            Bytes::from_static(&[0x55; 160]),
        );
        let bytes = p.into_inner();
        // The first and last packets are always delivered on time, so the expected range is
        // the sent range and nothing can arrive before the first.
        let edge = i == 0 || i == n - 1;
        if !edge && rng.random_bool(net.loss) {
            dropped.push(i);
            continue;
        }
        let copies = if !edge && rng.random_bool(net.duplicate) {
            2
        } else {
            1
        };
        duplicated += copies - 1;
        for _ in 0..copies {
            let jitter = if edge {
                0.0
            } else {
                rng.random_range(0.0..net.jitter_ms)
            };
            let delay = Duration::from_secs_f64((net.base_delay_ms + jitter) / 1000.0);
            flight.push((at + delay, bytes.clone()));
        }
    }
    // Arrival order: sorted by arrival time (packets overtake each other: reorder).
    flight.sort_by_key(|f| f.0);
    let mut arrivals = Vec::new();
    let mut last_rr = Vec::new();
    let mut next_report = t + Duration::from_secs(5);
    for (at, bytes) in flight {
        while at >= next_report {
            // Read B's RR at the report time, as the far end would.
            while let Some(d) = rx.poll_timeout().filter(|d| *d <= next_report) {
                rx.handle_timeout(d);
                if rx.poll_timeout() == Some(d) {
                    break;
                }
            }
            while let Some(x) = rx.poll_transmit() {
                // Keep the last report that carries a block (two reports can fall in one
                // 5 s step, the second with nothing new to report).
                let has_block = rtcp::parse_compound(&x, Validation::Compound)
                    .unwrap()
                    .any(|p| matches!(p, RtcpPacket::ReceiverReport(r) if !r.reports().is_empty()));
                if has_block {
                    last_rr = x.to_vec();
                }
            }
            next_report += Duration::from_secs(5);
        }
        let p = RtpPacket::new_checked(bytes).unwrap();
        arrivals.push((at, p.sequence_number(), p.timestamp()));
        rx.handle_rtp(at, &p).unwrap();
    }
    let outcome = Outcome {
        arrivals,
        dropped_in_range: dropped.len() as i64,
        duplicated,
    };
    (rx, outcome, last_rr)
}

/// RFC 3550 A.8 over the emulator's arrival log, computed here independently.
fn reference_jitter(arrivals: &[(Instant, u16, u32)]) -> f64 {
    let t = arrivals[0].0;
    let mut jitter = 0.0f64;
    let mut prev: Option<(f64, u32)> = None;
    for &(at, _, ts) in arrivals {
        let arrival_ticks = ((at - t).as_nanos() * 8000 / 1_000_000_000) as f64;
        let transit = arrival_ticks - f64::from(ts);
        if let Some((p, p_ts)) = prev {
            if p_ts == ts {
                // A duplicate right behind its original: its spacing is not the network's
                // (the session skips packets repeating the last timestamp).
                continue;
            }
            jitter += ((transit - p).abs() - jitter) / 16.0;
        }
        prev = Some((transit, ts));
    }
    jitter
}

#[test]
fn loss_and_jitter_match_the_emulator() {
    for (seed, net) in [
        (
            1,
            Netem {
                loss: 0.05,
                duplicate: 0.01,
                base_delay_ms: 40.0,
                jitter_ms: 30.0,
            },
        ),
        (
            2,
            Netem {
                loss: 0.0,
                duplicate: 0.0,
                base_delay_ms: 10.0,
                jitter_ms: 6.0,
            },
        ),
        (
            3,
            Netem {
                loss: 0.20,
                duplicate: 0.05,
                base_delay_ms: 80.0,
                jitter_ms: 60.0,
            },
        ),
    ] {
        let n = 3000;
        let (rx, out, _) = run(seed, n, &net);
        let st = rx.stats();
        assert_eq!(st.expected, n, "seed {seed}");
        assert_eq!(
            st.received,
            n - out.dropped_in_range as u64 + out.duplicated as u64
        );
        // RFC 3550 A.3: lost = expected - received, so duplicates offset losses.
        assert_eq!(
            st.lost,
            out.dropped_in_range - out.duplicated,
            "seed {seed}"
        );
        // Jitter: exactly the A.8 estimator over the same arrivals (the transit offset of the
        // session's own clock origin cancels in the differences) ...
        let want = reference_jitter(&out.arrivals);
        assert!(
            (st.jitter_ms - want / 8.0).abs() < 0.02,
            "seed {seed}: {} vs {}",
            st.jitter_ms,
            want / 8.0
        );
        // ... and close to the emulator's jitter: for delays uniform on [0, J] the mean
        // |D| is J/3, which A.8 converges to while packets are rarely reordered (J well
        // above the 20 ms spacing reorders most packets and the arrival-order differences
        // no longer follow the delay distribution).
        let expect_ms = net.jitter_ms / 3.0;
        assert!(
            net.jitter_ms > 40.0 || (st.jitter_ms - expect_ms).abs() < expect_ms * 0.35 + 0.2,
            "seed {seed}: jitter {} ms, emulator J/3 = {expect_ms} ms",
            st.jitter_ms
        );
    }
}

#[test]
fn receiver_reports_carry_the_same_figures() {
    let net = Netem {
        loss: 0.10,
        duplicate: 0.0,
        base_delay_ms: 20.0,
        jitter_ms: 20.0,
    };
    let (rx, out, rr) = run(7, 3000, &net);
    let ps: Vec<_> = rtcp::parse_compound(&rr, Validation::Compound)
        .unwrap()
        .collect();
    let RtcpPacket::ReceiverReport(r) = &ps[0] else {
        panic!("{ps:?}")
    };
    let block = r.reports().iter().next().unwrap();
    assert_ne!(block.ssrc, Ssrc(0));
    // The last RR covers the stream up to its send time: its cumulative loss is at most the
    // final figure and its fraction lost is near 10 %.
    assert!(i64::from(block.cumulative_lost) <= out.dropped_in_range);
    assert!(block.cumulative_lost > 0);
    let frac = f64::from(block.fraction_lost) / 256.0;
    assert!((frac - 0.10).abs() < 0.06, "fraction lost {frac}");
    let st = rx.stats();
    assert!((f64::from(block.jitter) / 8.0 - st.jitter_ms).abs() < 3.0);
    assert!((st.loss_percent - 10.0).abs() < 2.0, "{}", st.loss_percent);
    // The E-model sees the loss: G.711 with PLC at ~10 % random loss gives R well below 93.
    let q = rx.quality(st.ssrc).unwrap();
    assert!(q.r_factor < 75.0 && q.r_factor > 40.0, "{q:?}");
}
