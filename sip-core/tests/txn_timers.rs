//! Every transaction timer on a virtual clock: one test that fires it (with the exact instant
//! of every retransmission) and one that cancels it (RFC 3261 §17, RFC 6026).
//!
//! The retransmission timers (A, E, G) and the wait timers (D, I, J, K, L, M) are tables:
//! one row per timer says how to reach the state that arms it and the exact instants, and
//! the same rows run on an unreliable and a reliable transport and under a transport error.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers outside #[test] fns"
)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use telox_sip_core::transaction::{Kind, Machine, Output, State, Termination, Timer, TimerConfig};

#[expect(
    clippy::disallowed_methods,
    reason = "virtual clock origin; only offsets matter"
)]
fn origin() -> Instant {
    Instant::now()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

const REQ: &[u8] = b"REQUEST";
const RESP: &[u8] = b"RESPONSE";

/// Steps the machine from deadline to deadline until `end`, collecting (offset ms, output).
fn run(m: &mut Machine, t0: Instant, cfg: &TimerConfig, end: Duration) -> Vec<(u128, Output)> {
    let mut log = Vec::new();
    while let Some((at, _)) = m.next_timer() {
        if at > t0 + end {
            break;
        }
        let out = m.on_timeout(at, cfg);
        log.push(((at - t0).as_millis(), out));
    }
    log
}

fn retransmits(log: &[(u128, Output)]) -> Vec<u128> {
    log.iter()
        .filter(|(_, o)| o.transmit.is_some())
        .map(|(t, _)| *t)
        .collect()
}

fn terminated_at(log: &[(u128, Output)]) -> Option<(u128, Termination)> {
    log.iter().find_map(|(t, o)| o.terminated.map(|r| (*t, r)))
}

fn client(kind: Kind, t0: Instant, cfg: &TimerConfig, reliable: bool) -> Machine {
    let (m, out) = Machine::new_client(kind, t0, cfg, reliable, Bytes::from_static(REQ));
    assert_eq!(
        out.transmit.as_deref(),
        Some(REQ),
        "the request goes out at once"
    );
    m
}

fn server(kind: Kind, t0: Instant, cfg: &TimerConfig, reliable: bool) -> Machine {
    let (m, out) = Machine::new_server(kind, t0, cfg, reliable);
    assert!(out.to_tu, "a new server transaction passes its request up");
    m
}

/// The TU answers `status` at `at`; the response goes out at once.
fn answer(m: &mut Machine, at: Instant, cfg: &TimerConfig, status: u16) {
    let out = m
        .send_response(at, cfg, status, Bytes::from_static(RESP))
        .unwrap();
    assert_eq!(out.transmit.as_deref(), Some(RESP));
}

/// A retransmission timer (A, E, G): how to arm it, then the exact retransmission instants
/// and the end on each transport (none of them runs on a reliable transport).
struct Retransmit {
    timer: Timer,
    arm: fn(Instant, &TimerConfig, bool) -> Machine,
    unreliable: &'static [u128],
    end: (u128, Termination),
}

const RETRANSMIT_TIMERS: [Retransmit; 3] = [
    // A: 0.5, 1, 2, 4, 8, 16 s intervals, no cap at T2 (4 s); B ends it at 64*T1.
    Retransmit {
        timer: Timer::A,
        arm: |t0, cfg, rel| client(Kind::InviteClient, t0, cfg, rel),
        unreliable: &[500, 1500, 3500, 7500, 15_500, 31_500],
        end: (32_000, Termination::Timeout),
    },
    // E: 0.5, 1, 2, 4, 4, 4 ... capped at T2 until F at 64*T1.
    Retransmit {
        timer: Timer::E,
        arm: |t0, cfg, rel| client(Kind::NonInviteClient, t0, cfg, rel),
        unreliable: &[
            500, 1500, 3500, 7500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500,
        ],
        end: (32_000, Termination::Timeout),
    },
    // G after a 486 at 50 ms: capped at T2 (a peer capped it at 64*T1 instead); H ends
    // the transaction without ACK at 64*T1.
    Retransmit {
        timer: Timer::G,
        arm: |t0, cfg, rel| {
            let mut m = server(Kind::InviteServer, t0, cfg, rel);
            answer(&mut m, t0 + ms(50), cfg, 486);
            assert_eq!(m.timer(Timer::Trying), None);
            m
        },
        unreliable: &[
            550, 1550, 3550, 7550, 11_550, 15_550, 19_550, 23_550, 27_550, 31_550,
        ],
        end: (32_050, Termination::NoAck),
    },
];

#[test]
fn retransmission_timers_back_off_exactly_then_time_out() {
    let cfg = TimerConfig::default();
    for row in &RETRANSMIT_TIMERS {
        for reliable in [false, true] {
            let t0 = origin();
            let mut m = (row.arm)(t0, &cfg, reliable);
            let first = row.unreliable.first().map(|&t| t0 + ms(t as u64));
            let expect_first = if reliable { None } else { first };
            assert_eq!(
                m.timer(row.timer),
                expect_first,
                "{:?} {reliable}",
                row.timer
            );
            let log = run(&mut m, t0, &cfg, ms(40_000));
            let expected: &[u128] = if reliable { &[] } else { row.unreliable };
            assert_eq!(retransmits(&log), expected, "{:?} {reliable}", row.timer);
            assert_eq!(
                terminated_at(&log),
                Some(row.end),
                "{:?} {reliable}",
                row.timer
            );
            assert_eq!(m.state(), State::Terminated);
            assert_eq!(m.next_timer(), None);
        }
    }
}

/// A wait timer (D, I, J, K, L, M): how to reach the state that arms it, and its deadline
/// (ms from t0) on an unreliable and on a reliable transport.
struct Wait {
    timer: Timer,
    arm: fn(Instant, &TimerConfig, bool) -> Machine,
    unreliable_ms: u64,
    reliable_ms: u64,
}

const WAIT_TIMERS: [Wait; 6] = [
    // D: 32 s unreliable, zero reliable, after a non-2xx final at 100 ms.
    Wait {
        timer: Timer::D,
        arm: |t0, cfg, rel| {
            let mut m = client(Kind::InviteClient, t0, cfg, rel);
            let out = m.on_response(t0 + ms(100), cfg, 486);
            assert!(out.to_tu && out.build_ack);
            m
        },
        unreliable_ms: 32_100,
        reliable_ms: 100,
    },
    // M: 64*T1 on every transport after a 2xx at 10 ms (RFC 6026).
    Wait {
        timer: Timer::M,
        arm: |t0, cfg, rel| {
            let mut m = client(Kind::InviteClient, t0, cfg, rel);
            assert!(m.on_response(t0 + ms(10), cfg, 200).to_tu);
            assert_eq!(m.state(), State::Accepted);
            m
        },
        unreliable_ms: 32_010,
        reliable_ms: 32_010,
    },
    // K: T4 unreliable, zero reliable, after a final at 200 ms.
    Wait {
        timer: Timer::K,
        arm: |t0, cfg, rel| {
            let mut m = client(Kind::NonInviteClient, t0, cfg, rel);
            assert!(m.on_response(t0 + ms(200), cfg, 200).to_tu);
            m
        },
        unreliable_ms: 5_200,
        reliable_ms: 200,
    },
    // I: T4 unreliable, zero reliable, after the ACK of a non-2xx at 10 ms.
    Wait {
        timer: Timer::I,
        arm: |t0, cfg, rel| {
            let mut m = server(Kind::InviteServer, t0, cfg, rel);
            answer(&mut m, t0, cfg, 486);
            assert!(!m.on_ack(t0 + ms(10), cfg).to_tu);
            assert_eq!(m.state(), State::Confirmed);
            m
        },
        unreliable_ms: 5_010,
        reliable_ms: 10,
    },
    // L: 64*T1 on every transport after a 2xx at 30 ms (RFC 6026).
    Wait {
        timer: Timer::L,
        arm: |t0, cfg, rel| {
            let mut m = server(Kind::InviteServer, t0, cfg, rel);
            answer(&mut m, t0 + ms(30), cfg, 200);
            assert_eq!(m.state(), State::Accepted);
            m
        },
        unreliable_ms: 32_030,
        reliable_ms: 32_030,
    },
    // J: 64*T1 unreliable, zero reliable, after a final at 10 ms.
    Wait {
        timer: Timer::J,
        arm: |t0, cfg, rel| {
            let mut m = server(Kind::NonInviteServer, t0, cfg, rel);
            answer(&mut m, t0 + ms(10), cfg, 200);
            m
        },
        unreliable_ms: 32_010,
        reliable_ms: 10,
    },
];

#[test]
fn wait_timers_fire_once_at_their_exact_instant() {
    let cfg = TimerConfig::default();
    for row in &WAIT_TIMERS {
        for reliable in [false, true] {
            let t0 = origin();
            let mut m = (row.arm)(t0, &cfg, reliable);
            let at = if reliable {
                row.reliable_ms
            } else {
                row.unreliable_ms
            };
            assert_eq!(
                m.timer(row.timer),
                Some(t0 + ms(at)),
                "{:?} {reliable}",
                row.timer
            );
            assert_eq!(m.next_timer(), Some((t0 + ms(at), row.timer)));
            if at > 0 {
                let early = m.on_timeout(t0 + ms(at) - Duration::from_nanos(1), &cfg);
                assert_eq!(
                    early,
                    Output::default(),
                    "{:?} not before its instant",
                    row.timer
                );
            }
            let log = run(&mut m, t0, &cfg, ms(100_000));
            assert!(retransmits(&log).is_empty(), "{:?} {reliable}", row.timer);
            assert_eq!(
                terminated_at(&log),
                Some((u128::from(at), Termination::Normal)),
                "{:?} {reliable}",
                row.timer
            );
            assert_eq!(m.state(), State::Terminated);
        }
    }
}

/// The wait timers have no RFC event that stops them early except a transport failure: it
/// cancels each of them and ends the transaction at once.
#[test]
fn transport_error_cancels_every_wait_timer() {
    let cfg = TimerConfig::default();
    for row in &WAIT_TIMERS {
        let t0 = origin();
        let mut m = (row.arm)(t0, &cfg, false);
        let timer = row.timer;
        assert!(m.timer(timer).is_some(), "{timer:?} armed");
        let out = m.on_transport_error();
        assert_eq!(
            out.terminated,
            Some(Termination::TransportError),
            "{timer:?}"
        );
        assert_eq!(m.timer(timer), None, "{timer:?} cancelled");
        assert_eq!(m.next_timer(), None);
        assert!(
            run(&mut m, t0, &cfg, ms(100_000)).is_empty(),
            "{timer:?} never fires"
        );
    }
}

#[test]
fn timer_a_and_b_cancelled_by_provisional() {
    let cfg = TimerConfig::default();
    let t0 = origin();
    let mut m = client(Kind::InviteClient, t0, &cfg, false);
    let _ = m.on_timeout(t0 + ms(500), &cfg);
    let out = m.on_response(t0 + ms(700), &cfg, 180);
    assert!(out.to_tu);
    assert_eq!(m.state(), State::Proceeding);
    assert_eq!(m.timer(Timer::A), None);
    assert_eq!(m.timer(Timer::B), None);
    assert!(run(&mut m, t0, &cfg, ms(100_000)).is_empty());
}

#[test]
fn timer_d_absorbs_final_retransmits_then_fires() {
    let cfg = TimerConfig::default();
    let t0 = origin();
    let mut m = client(Kind::InviteClient, t0, &cfg, false);
    let out = m.on_response(t0 + ms(100), &cfg, 486);
    assert!(out.to_tu && out.build_ack);
    assert_eq!(
        m.set_ack(Bytes::from_static(b"ACK")),
        Bytes::from_static(b"ACK")
    );
    assert_eq!(m.timer(Timer::D), Some(t0 + ms(32_100)));
    assert_eq!(m.timer(Timer::A), None);
    // A retransmitted 486 re-sends the ACK and is not passed up.
    let out = m.on_response(t0 + ms(600), &cfg, 486);
    assert!(!out.to_tu);
    assert_eq!(out.transmit.as_deref(), Some(&b"ACK"[..]));
    let log = run(&mut m, t0, &cfg, ms(100_000));
    assert_eq!(terminated_at(&log), Some((32_100, Termination::Normal)));
}

#[test]
fn timer_m_accepted_passes_2xx_retransmits_and_drops_late_provisional() {
    let cfg = TimerConfig::default();
    let t0 = origin();
    let mut m = client(Kind::InviteClient, t0, &cfg, false);
    assert!(m.on_response(t0 + ms(10), &cfg, 200).to_tu);
    assert_eq!(m.state(), State::Accepted);
    assert_eq!(m.timer(Timer::M), Some(t0 + ms(32_010)));
    // kamailio reorders the 180 after the 200 (peers README finding 1): discard it.
    let late = m.on_response(t0 + ms(11), &cfg, 180);
    assert!(!late.to_tu && late.transmit.is_none());
    assert!(m.on_response(t0 + ms(500), &cfg, 200).to_tu);
    assert!(!m.on_response(t0 + ms(600), &cfg, 486).to_tu);
    let log = run(&mut m, t0, &cfg, ms(100_000));
    assert!(
        retransmits(&log).is_empty(),
        "no retransmission of the INVITE after a 2xx"
    );
    assert_eq!(terminated_at(&log), Some((32_010, Termination::Normal)));
}

#[test]
fn timer_e_uses_t2_in_proceeding() {
    let cfg = TimerConfig::default();
    let t0 = origin();
    let mut m = client(Kind::NonInviteClient, t0, &cfg, false);
    let _ = m.on_timeout(t0 + ms(500), &cfg); // next E at 1500
    assert!(m.on_response(t0 + ms(600), &cfg, 100).to_tu);
    let log = run(&mut m, t0, &cfg, ms(12_000));
    assert_eq!(retransmits(&log), vec![1500, 5500, 9500]);
}

#[test]
fn timers_e_and_f_cancelled_by_final_then_timer_k() {
    let cfg = TimerConfig::default();
    let t0 = origin();
    let mut m = client(Kind::NonInviteClient, t0, &cfg, false);
    assert!(m.on_response(t0 + ms(200), &cfg, 200).to_tu);
    assert_eq!(m.timer(Timer::E), None);
    assert_eq!(m.timer(Timer::F), None);
    assert_eq!(m.timer(Timer::K), Some(t0 + ms(5_200)));
    assert!(
        !m.on_response(t0 + ms(300), &cfg, 200).to_tu,
        "absorbed in Completed"
    );
    let log = run(&mut m, t0, &cfg, ms(100_000));
    assert!(retransmits(&log).is_empty());
    assert_eq!(terminated_at(&log), Some((5_200, Termination::Normal)));
}

#[test]
fn ack_cancels_g_and_h_then_timer_i() {
    let cfg = TimerConfig::default();
    let t0 = origin();
    let mut m = server(Kind::InviteServer, t0, &cfg, false);
    let _ = m
        .send_response(t0, &cfg, 603, Bytes::from_static(RESP))
        .unwrap();
    let _ = m.on_timeout(t0 + ms(500), &cfg);
    let out = m.on_request_retransmit();
    assert_eq!(out.transmit.as_deref(), Some(RESP));
    let out = m.on_ack(t0 + ms(800), &cfg);
    assert!(!out.to_tu, "the ACK of a non-2xx is absorbed");
    assert_eq!(m.state(), State::Confirmed);
    assert_eq!((m.timer(Timer::G), m.timer(Timer::H)), (None, None));
    assert_eq!(m.timer(Timer::I), Some(t0 + ms(5_800)));
    let log = run(&mut m, t0, &cfg, ms(100_000));
    assert!(retransmits(&log).is_empty());
    assert_eq!(terminated_at(&log), Some((5_800, Termination::Normal)));
}

#[test]
fn trying_timer_sends_100_after_200ms() {
    let cfg = TimerConfig::default();
    let t0 = origin();
    let mut m = server(Kind::InviteServer, t0, &cfg, false);
    assert_eq!(m.timer(Timer::Trying), Some(t0 + ms(200)));
    assert!(!m.on_timeout(t0 + ms(199), &cfg).send_trying);
    assert!(
        m.on_request_retransmit().transmit.is_none(),
        "nothing to repeat yet"
    );
    assert!(m.on_timeout(t0 + ms(200), &cfg).send_trying);
    m.set_trying(Bytes::from_static(b"100"));
    assert_eq!(
        m.on_request_retransmit().transmit.as_deref(),
        Some(&b"100"[..])
    );
}

#[test]
fn trying_timer_cancelled_by_tu_provisional() {
    let cfg = TimerConfig::default();
    let t0 = origin();
    let mut m = server(Kind::InviteServer, t0, &cfg, false);
    let _ = m
        .send_response(t0 + ms(20), &cfg, 180, Bytes::from_static(b"180"))
        .unwrap();
    assert_eq!(m.timer(Timer::Trying), None);
    assert!(run(&mut m, t0, &cfg, ms(100_000)).is_empty());
    assert_eq!(
        m.on_request_retransmit().transmit.as_deref(),
        Some(&b"180"[..])
    );
}

#[test]
fn timer_l_accepted_passes_acks_and_2xx_retransmits() {
    let cfg = TimerConfig::default();
    let t0 = origin();
    let mut m = server(Kind::InviteServer, t0, &cfg, false);
    let out = m
        .send_response(t0 + ms(30), &cfg, 200, Bytes::from_static(b"200"))
        .unwrap();
    assert_eq!(out.transmit.as_deref(), Some(&b"200"[..]));
    assert_eq!(m.state(), State::Accepted);
    assert_eq!(m.timer(Timer::L), Some(t0 + ms(32_030)));
    // RFC 6026: the TU retransmits the 2xx itself; the transaction does not.
    assert!(
        m.send_response(t0 + ms(530), &cfg, 200, Bytes::from_static(b"200"))
            .is_ok()
    );
    assert!(
        m.on_request_retransmit().transmit.is_none(),
        "INVITE retransmits absorbed"
    );
    assert!(m.on_ack(t0 + ms(600), &cfg).to_tu);
    assert!(
        m.send_response(t0 + ms(700), &cfg, 486, Bytes::from_static(b"486"))
            .is_err()
    );
    let log = run(&mut m, t0, &cfg, ms(100_000));
    assert!(retransmits(&log).is_empty());
    assert_eq!(terminated_at(&log), Some((32_030, Termination::Normal)));
}

#[test]
fn timer_j_absorbs_retransmits_then_fires() {
    let cfg = TimerConfig::default();
    let t0 = origin();
    let mut m = server(Kind::NonInviteServer, t0, &cfg, false);
    assert_eq!(m.state(), State::Trying);
    assert!(m.on_request_retransmit().transmit.is_none());
    let _ = m
        .send_response(t0 + ms(5), &cfg, 100, Bytes::from_static(b"100"))
        .unwrap();
    assert_eq!(
        m.on_request_retransmit().transmit.as_deref(),
        Some(&b"100"[..])
    );
    let _ = m
        .send_response(t0 + ms(10), &cfg, 200, Bytes::from_static(b"200"))
        .unwrap();
    assert_eq!(m.timer(Timer::J), Some(t0 + ms(32_010)));
    assert_eq!(
        m.on_request_retransmit().transmit.as_deref(),
        Some(&b"200"[..])
    );
    assert!(
        m.send_response(t0 + ms(20), &cfg, 200, Bytes::from_static(b"200"))
            .is_err()
    );
    let log = run(&mut m, t0, &cfg, ms(100_000));
    assert!(
        retransmits(&log).is_empty(),
        "non-INVITE servers never retransmit by timer"
    );
    assert_eq!(terminated_at(&log), Some((32_010, Termination::Normal)));
}

#[test]
fn custom_t1_t2_scale_every_timer() {
    let cfg = TimerConfig {
        t1: ms(100),
        t2: ms(400),
        t4: ms(1000),
        ..TimerConfig::default()
    };
    let t0 = origin();
    let mut m = client(Kind::NonInviteClient, t0, &cfg, false);
    let log = run(&mut m, t0, &cfg, ms(10_000));
    assert_eq!(&retransmits(&log)[..5], &[100, 300, 700, 1100, 1500]);
    assert_eq!(terminated_at(&log), Some((6_400, Termination::Timeout)));
}

#[test]
fn transport_error_terminates() {
    let cfg = TimerConfig::default();
    let t0 = origin();
    let mut m = client(Kind::InviteClient, t0, &cfg, false);
    assert_eq!(
        m.on_transport_error().terminated,
        Some(Termination::TransportError)
    );
    assert_eq!(m.next_timer(), None);
}

/// Timer H is cancelled by the ACK, G by the ACK too (see `ack_cancels_g_and_h_then_timer_i`);
/// Timer B by a provisional, A by a provisional, E and F by a final response, Trying by the
/// TU's provisional. This test checks that a final response during Proceeding also cancels
/// Timer E and F for a non-INVITE client that had already seen a provisional.
#[test]
fn final_in_proceeding_cancels_e_and_f() {
    let cfg = TimerConfig::default();
    let t0 = origin();
    let mut m = client(Kind::NonInviteClient, t0, &cfg, false);
    let _ = m.on_response(t0 + ms(100), &cfg, 100);
    assert!(m.timer(Timer::E).is_some() && m.timer(Timer::F).is_some());
    let _ = m.on_response(t0 + ms(200), &cfg, 404);
    assert_eq!((m.timer(Timer::E), m.timer(Timer::F)), (None, None));
    let log = run(&mut m, t0, &cfg, ms(100_000));
    assert!(retransmits(&log).is_empty());
    assert_eq!(terminated_at(&log), Some((5_200, Termination::Normal)));
}
