//! Every transaction timer on a virtual clock: one test that fires it (with the exact instant
//! of every retransmission) and one that cancels it (RFC 3261 §17, RFC 6026).

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

#[test]
fn timer_a_doubles_without_cap_until_timer_b() {
    let cfg = TimerConfig::default();
    let t0 = origin();
    let (mut m, out) =
        Machine::new_client(Kind::InviteClient, t0, &cfg, false, Bytes::from_static(REQ));
    assert_eq!(out.transmit.as_deref(), Some(REQ));
    assert_eq!(m.timer(Timer::A), Some(t0 + ms(500)));
    assert_eq!(m.timer(Timer::B), Some(t0 + ms(32_000)));
    let log = run(&mut m, t0, &cfg, ms(40_000));
    // 0.5, 1, 2, 4, 8, 16 s intervals: no cap at T2 (4 s) for Timer A.
    assert_eq!(
        retransmits(&log),
        vec![500, 1500, 3500, 7500, 15_500, 31_500]
    );
    assert_eq!(terminated_at(&log), Some((32_000, Termination::Timeout)));
    assert_eq!(m.state(), State::Terminated);
}

#[test]
fn timer_a_and_b_cancelled_by_provisional() {
    let cfg = TimerConfig::default();
    let t0 = origin();
    let (mut m, _) =
        Machine::new_client(Kind::InviteClient, t0, &cfg, false, Bytes::from_static(REQ));
    let _ = m.on_timeout(t0 + ms(500), &cfg);
    let out = m.on_response(t0 + ms(700), &cfg, 180);
    assert!(out.to_tu);
    assert_eq!(m.state(), State::Proceeding);
    assert_eq!(m.timer(Timer::A), None);
    assert_eq!(m.timer(Timer::B), None);
    assert!(run(&mut m, t0, &cfg, ms(100_000)).is_empty());
}

#[test]
fn reliable_invite_has_no_timer_a() {
    let cfg = TimerConfig::default();
    let t0 = origin();
    let (mut m, _) =
        Machine::new_client(Kind::InviteClient, t0, &cfg, true, Bytes::from_static(REQ));
    assert_eq!(m.timer(Timer::A), None);
    let log = run(&mut m, t0, &cfg, ms(40_000));
    assert!(retransmits(&log).is_empty());
    assert_eq!(terminated_at(&log), Some((32_000, Termination::Timeout)));
}

#[test]
fn timer_d_absorbs_final_retransmits_then_fires() {
    let cfg = TimerConfig::default();
    let t0 = origin();
    let (mut m, _) =
        Machine::new_client(Kind::InviteClient, t0, &cfg, false, Bytes::from_static(REQ));
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
fn timer_d_is_zero_on_reliable_transport() {
    let cfg = TimerConfig::default();
    let t0 = origin();
    let (mut m, _) =
        Machine::new_client(Kind::InviteClient, t0, &cfg, true, Bytes::from_static(REQ));
    let _ = m.on_response(t0 + ms(100), &cfg, 404);
    assert_eq!(m.timer(Timer::D), Some(t0 + ms(100)));
}

#[test]
fn timer_m_accepted_passes_2xx_retransmits_and_drops_late_provisional() {
    let cfg = TimerConfig::default();
    let t0 = origin();
    let (mut m, _) =
        Machine::new_client(Kind::InviteClient, t0, &cfg, false, Bytes::from_static(REQ));
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
fn timer_e_doubles_to_t2_and_timer_f_times_out() {
    let cfg = TimerConfig::default();
    let t0 = origin();
    let (mut m, _) = Machine::new_client(
        Kind::NonInviteClient,
        t0,
        &cfg,
        false,
        Bytes::from_static(REQ),
    );
    let log = run(&mut m, t0, &cfg, ms(40_000));
    // 0.5, 1, 2, 4, 4, 4 ... (capped at T2 = 4 s) until F at 32 s.
    assert_eq!(
        retransmits(&log),
        vec![
            500, 1500, 3500, 7500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500
        ]
    );
    assert_eq!(terminated_at(&log), Some((32_000, Termination::Timeout)));
}

#[test]
fn timer_e_uses_t2_in_proceeding() {
    let cfg = TimerConfig::default();
    let t0 = origin();
    let (mut m, _) = Machine::new_client(
        Kind::NonInviteClient,
        t0,
        &cfg,
        false,
        Bytes::from_static(REQ),
    );
    let _ = m.on_timeout(t0 + ms(500), &cfg); // next E at 1500
    assert!(m.on_response(t0 + ms(600), &cfg, 100).to_tu);
    let log = run(&mut m, t0, &cfg, ms(12_000));
    assert_eq!(retransmits(&log), vec![1500, 5500, 9500]);
}

#[test]
fn timers_e_and_f_cancelled_by_final_then_timer_k() {
    let cfg = TimerConfig::default();
    let t0 = origin();
    let (mut m, _) = Machine::new_client(
        Kind::NonInviteClient,
        t0,
        &cfg,
        false,
        Bytes::from_static(REQ),
    );
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
fn timer_k_is_zero_on_reliable_transport() {
    let cfg = TimerConfig::default();
    let t0 = origin();
    let (mut m, _) = Machine::new_client(
        Kind::NonInviteClient,
        t0,
        &cfg,
        true,
        Bytes::from_static(REQ),
    );
    assert_eq!(m.timer(Timer::E), None);
    let _ = m.on_response(t0 + ms(200), &cfg, 200);
    assert_eq!(m.timer(Timer::K), Some(t0 + ms(200)));
}

#[test]
fn timer_g_doubles_to_t2_and_timer_h_fires_without_ack() {
    let cfg = TimerConfig::default();
    let t0 = origin();
    let (mut m, out) = Machine::new_server(Kind::InviteServer, t0, &cfg, false);
    assert!(out.to_tu);
    let out = m
        .send_response(t0 + ms(50), &cfg, 486, Bytes::from_static(RESP))
        .unwrap();
    assert_eq!(out.transmit.as_deref(), Some(RESP));
    assert_eq!(m.timer(Timer::Trying), None);
    let log = run(&mut m, t0, &cfg, ms(40_000));
    // G: 0.5, 1, 2, 4, 4, ... capped at T2 (a peer capped it at 64*T1 instead).
    assert_eq!(
        retransmits(&log),
        vec![
            550, 1550, 3550, 7550, 11_550, 15_550, 19_550, 23_550, 27_550, 31_550
        ]
    );
    assert_eq!(terminated_at(&log), Some((32_050, Termination::NoAck)));
}

#[test]
fn ack_cancels_g_and_h_then_timer_i() {
    let cfg = TimerConfig::default();
    let t0 = origin();
    let (mut m, _) = Machine::new_server(Kind::InviteServer, t0, &cfg, false);
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
fn timer_i_is_zero_and_no_g_on_reliable_transport() {
    let cfg = TimerConfig::default();
    let t0 = origin();
    let (mut m, _) = Machine::new_server(Kind::InviteServer, t0, &cfg, true);
    let _ = m
        .send_response(t0, &cfg, 486, Bytes::from_static(RESP))
        .unwrap();
    assert_eq!(m.timer(Timer::G), None);
    assert_eq!(m.timer(Timer::H), Some(t0 + ms(32_000)));
    let _ = m.on_ack(t0 + ms(10), &cfg);
    assert_eq!(m.timer(Timer::I), Some(t0 + ms(10)));
}

#[test]
fn trying_timer_sends_100_after_200ms() {
    let cfg = TimerConfig::default();
    let t0 = origin();
    let (mut m, _) = Machine::new_server(Kind::InviteServer, t0, &cfg, false);
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
    let (mut m, _) = Machine::new_server(Kind::InviteServer, t0, &cfg, false);
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
    let (mut m, _) = Machine::new_server(Kind::InviteServer, t0, &cfg, false);
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
    let (mut m, _) = Machine::new_server(Kind::NonInviteServer, t0, &cfg, false);
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
fn timer_j_is_zero_on_reliable_transport() {
    let cfg = TimerConfig::default();
    let t0 = origin();
    let (mut m, _) = Machine::new_server(Kind::NonInviteServer, t0, &cfg, true);
    let _ = m
        .send_response(t0 + ms(10), &cfg, 200, Bytes::from_static(b"200"))
        .unwrap();
    assert_eq!(m.timer(Timer::J), Some(t0 + ms(10)));
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
    let (mut m, _) = Machine::new_client(
        Kind::NonInviteClient,
        t0,
        &cfg,
        false,
        Bytes::from_static(REQ),
    );
    let log = run(&mut m, t0, &cfg, ms(10_000));
    assert_eq!(&retransmits(&log)[..5], &[100, 300, 700, 1100, 1500]);
    assert_eq!(terminated_at(&log), Some((6_400, Termination::Timeout)));
}

#[test]
fn transport_error_terminates() {
    let cfg = TimerConfig::default();
    let t0 = origin();
    let (mut m, _) =
        Machine::new_client(Kind::InviteClient, t0, &cfg, false, Bytes::from_static(REQ));
    assert_eq!(
        m.on_transport_error().terminated,
        Some(Termination::TransportError)
    );
    assert_eq!(m.next_timer(), None);
}

/// The wait timers (D, I, J, K, L, M) have no RFC event that stops them early except a
/// transport failure: it cancels each of them and ends the transaction at once.
#[test]
fn transport_error_cancels_every_wait_timer() {
    let cfg = TimerConfig::default();
    let t0 = origin();
    let req = || Bytes::from_static(REQ);
    let mut cases: Vec<(Timer, Machine)> = Vec::new();
    let (mut m, _) = Machine::new_client(Kind::InviteClient, t0, &cfg, false, req());
    let _ = m.on_response(t0, &cfg, 486);
    cases.push((Timer::D, m));
    let (mut m, _) = Machine::new_client(Kind::InviteClient, t0, &cfg, false, req());
    let _ = m.on_response(t0, &cfg, 200);
    cases.push((Timer::M, m));
    let (mut m, _) = Machine::new_client(Kind::NonInviteClient, t0, &cfg, false, req());
    let _ = m.on_response(t0, &cfg, 200);
    cases.push((Timer::K, m));
    let (mut m, _) = Machine::new_server(Kind::InviteServer, t0, &cfg, false);
    let _ = m
        .send_response(t0, &cfg, 486, Bytes::from_static(RESP))
        .unwrap();
    let _ = m.on_ack(t0, &cfg);
    cases.push((Timer::I, m));
    let (mut m, _) = Machine::new_server(Kind::InviteServer, t0, &cfg, false);
    let _ = m
        .send_response(t0, &cfg, 200, Bytes::from_static(RESP))
        .unwrap();
    cases.push((Timer::L, m));
    let (mut m, _) = Machine::new_server(Kind::NonInviteServer, t0, &cfg, false);
    let _ = m
        .send_response(t0, &cfg, 200, Bytes::from_static(RESP))
        .unwrap();
    cases.push((Timer::J, m));
    for (timer, mut m) in cases {
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

/// Timer H is cancelled by the ACK, G by the ACK too (see `ack_cancels_g_and_h_then_timer_i`);
/// Timer B by a provisional, A by a provisional, E and F by a final response, Trying by the
/// TU's provisional. This test checks that a final response during Proceeding also cancels
/// Timer E and F for a non-INVITE client that had already seen a provisional.
#[test]
fn final_in_proceeding_cancels_e_and_f() {
    let cfg = TimerConfig::default();
    let t0 = origin();
    let (mut m, _) = Machine::new_client(
        Kind::NonInviteClient,
        t0,
        &cfg,
        false,
        Bytes::from_static(REQ),
    );
    let _ = m.on_response(t0 + ms(100), &cfg, 100);
    assert!(m.timer(Timer::E).is_some() && m.timer(Timer::F).is_some());
    let _ = m.on_response(t0 + ms(200), &cfg, 404);
    assert_eq!((m.timer(Timer::E), m.timer(Timer::F)), (None, None));
    let log = run(&mut m, t0, &cfg, ms(100_000));
    assert!(retransmits(&log).is_empty());
    assert_eq!(terminated_at(&log), Some((5_200, Termination::Normal)));
}
