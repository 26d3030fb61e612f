//! Fuzz harness for the endpoint (`fuzz/fuzz_targets/sip_endpoint.rs` and the stable replay
//! in `tests/txn_fuzz_corpus.rs`): a [`UserAgent`] and a bare [`Transactions`] driven by
//! arbitrary datagrams, timer firings and application actions.
//!
//! Input format, repeated until the data ends:
//! - `0x00 len_hi len_lo src bytes[len]`: a datagram from one of 4 sources (UDP or TCP);
//! - `0x01 ms_hi ms_lo`: the clock advances, timers fire;
//! - `0x02 action`: the application answers (200), rejects (486), rings (180), hangs up or
//!   cancels its newest call, or starts a call;
//! - anything else: ignored.
//!
//! Invariants: no panic; live transactions never exceed the configured limit; once input
//! stops and 200 s pass with the application answering everything, no transaction is left.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::{Target, TransactionConfig, TransactionEvent, Transactions, Transport};
use crate::ua::{LegId, UaConfig, UaEvent, UserAgent};

const LIMIT: usize = 64;

/// Runs the endpoint harness on `data`. `origin` is any instant (the harness is sans-IO).
pub fn endpoint(origin: Instant, data: &[u8]) {
    let mut cfg = UaConfig::new(addr(0), "fuzz", 1);
    cfg.transactions = TransactionConfig {
        max_transactions: LIMIT,
        ..Default::default()
    };
    let mut ua = UserAgent::new(cfg);
    let mut txns = Transactions::new(TransactionConfig {
        max_transactions: LIMIT,
        ..Default::default()
    });
    let mut now = origin;
    let mut legs: Vec<LegId> = Vec::new();
    let mut rest = data;
    while let Some((&op, tail)) = rest.split_first() {
        rest = tail;
        match op {
            0 => {
                let (Some(&hi), Some(&lo), Some(&src)) = (rest.first(), rest.get(1), rest.get(2))
                else {
                    break;
                };
                let len = (usize::from(hi) << 8 | usize::from(lo)).min(rest.len() - 3);
                let bytes = Bytes::copy_from_slice(&rest[3..3 + len]);
                rest = &rest[3 + len..];
                let from = Target {
                    transport: if src & 4 == 0 {
                        Transport::Udp
                    } else {
                        Transport::Tcp
                    },
                    addr: addr(1 + (src & 3)),
                };
                ua.handle_datagram(now, from, bytes.clone());
                txns.handle_datagram(now, from, bytes);
            }
            1 => {
                let (Some(&hi), Some(&lo)) = (rest.first(), rest.get(1)) else {
                    break;
                };
                rest = &rest[2..];
                now += Duration::from_millis(u64::from(hi) << 8 | u64::from(lo));
                ua.handle_timeout(now);
                txns.handle_timeout(now);
            }
            2 => {
                let Some(&action) = rest.first() else { break };
                rest = &rest[1..];
                act(&mut ua, now, &mut legs, action);
            }
            _ => {}
        }
        drain(&mut ua, &mut txns, now, &mut legs, false);
        assert!(txns.len() <= LIMIT && ua.transactions().len() <= LIMIT);
    }
    // Quiesce: answer everything still pending and let every timer run out.
    for _ in 0..8 {
        now += Duration::from_secs(40);
        ua.handle_timeout(now);
        txns.handle_timeout(now);
        drain(&mut ua, &mut txns, now, &mut legs, true);
    }
    assert!(
        ua.transactions().is_empty(),
        "ua transactions left: {}",
        ua.transactions().len()
    );
}

fn drain(
    ua: &mut UserAgent,
    txns: &mut Transactions,
    now: Instant,
    legs: &mut Vec<LegId>,
    finish: bool,
) {
    while ua.poll_transmit().is_some() {}
    while txns.poll_transmit().is_some() {}
    while let Some(e) = txns.poll_event() {
        match e {
            TransactionEvent::Request { key, request, .. }
            | TransactionEvent::Cancel { key, request, .. } => {
                let r = crate::msg::Response::builder(&request, crate::msg::StatusCode(200))
                    .to_tag("f")
                    .build();
                let _ = txns.send_response(now, &key, r);
            }
            _ => {}
        }
    }
    while let Some(e) = ua.poll_event() {
        match e {
            UaEvent::Incoming { leg, .. } => {
                legs.push(leg);
                if finish {
                    let _ = ua.reject(now, leg, 486);
                }
            }
            UaEvent::Request { key, .. } => {
                let _ = ua.respond(now, &key, 200, None);
            }
            _ => {}
        }
    }
    if finish {
        for &leg in legs.iter() {
            let _ = ua.reject(now, leg, 486);
            let _ = ua.cancel(now, leg);
            let _ = ua.bye(now, leg);
        }
        while ua.poll_transmit().is_some() {}
    }
    while txns.poll_transmit().is_some() {}
}

fn act(ua: &mut UserAgent, now: Instant, legs: &mut Vec<LegId>, action: u8) {
    let leg = legs.last().copied();
    match (action % 7, leg) {
        (0, Some(l)) => {
            let _ = ua.answer(now, l, None);
        }
        (1, Some(l)) => {
            let _ = ua.reject(now, l, 486);
        }
        (2, Some(l)) => {
            let _ = ua.ringing(now, l, 180, None);
        }
        (3, Some(l)) => {
            let _ = ua.bye(now, l);
        }
        (4, Some(l)) => {
            let _ = ua.cancel(now, l);
        }
        (5, _) => {
            let uri = |s: &str| s.parse::<crate::Uri>();
            if let (Ok(a), Ok(b), Ok(r)) = (
                uri("sip:fuzz@127.0.0.1"),
                uri("sip:peer@127.0.0.1"),
                uri("sip:peer@127.0.0.1:5001"),
            ) && let Ok(l) = ua.invite(
                now,
                a,
                b,
                r,
                Target {
                    transport: Transport::Udp,
                    addr: addr(1),
                },
                None,
            ) {
                legs.push(l);
            }
        }
        _ => {}
    }
}

fn addr(i: u8) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 5000 + u16::from(i)))
}
