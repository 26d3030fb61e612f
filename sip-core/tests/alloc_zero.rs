//! Parse + index of a typical INVITE performs zero heap allocations: proven with a counting
//! global allocator (stats_alloc; this file itself has no unsafe code). One test per binary,
//! so no other test thread allocates while the region is open.

#![allow(
    clippy::unwrap_used,
    reason = "a test aborts on bad fixed inputs: panicking is the failure report"
)]

use std::alloc::System;

use bytes::Bytes;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, Stats, StatsAlloc};
use telox_sip_core::{HeaderName, Message, Method};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const INVITE: &[u8] = include_bytes!("data/sip/invite.sip");
const OK: &[u8] = include_bytes!("data/sip/ok.sip");
const REGISTER: &[u8] = include_bytes!("data/sip/register.sip");

/// Parses `input` and walks the index (every name and value, the body) inside a region:
/// what the region counted, and the sum of name and value lengths, whether there is a
/// Content-Length, the body's length, whether it is an INVITE.
fn parse_and_walk(input: Bytes) -> (Stats, usize, bool, usize, bool) {
    let region = Region::new(GLOBAL);
    let msg = Message::parse(input).unwrap();
    let mut total = 0usize;
    for h in msg.headers() {
        total += h.name.len() + h.value.len();
    }
    let has_cl = msg.headers().contains(HeaderName::ContentLength);
    let body = msg.body().len();
    let is_invite = msg
        .as_request()
        .is_some_and(|r| r.method() == &Method::Invite);
    let stats = region.change();
    drop(msg);
    (stats, total, has_cl, body, is_invite)
}

#[test]
fn parse_and_index_allocate_nothing() {
    for (name, wire) in [("invite", INVITE), ("ok", OK), ("register", REGISTER)] {
        // both a static buffer and one received into a Vec (fresh for every pass: a Bytes
        // that was cloned is no longer the Vec-backed kind)
        for received in [false, true] {
            // The counter is process-wide, and the test harness's own thread may allocate
            // while the first region is open (microseconds after the test starts; it did in
            // jitter-buffer's twin test in CI). Parsing is deterministic, so an allocation
            // of its own shows in every pass: up to three passes, one clean pass proves it.
            let mut passes = Vec::new();
            for _ in 0..3 {
                let input = if received {
                    Bytes::from(wire.to_vec())
                } else {
                    Bytes::from_static(wire)
                };
                let (stats, total, has_cl, body, is_invite) = parse_and_walk(input);
                assert!(total > 0 && has_cl);
                assert_eq!(is_invite, name == "invite");
                assert!(body > 0 || name == "register");
                passes.push(stats);
                if stats.allocations == 0 && stats.reallocations == 0 {
                    break;
                }
            }
            let last = passes.last().unwrap();
            assert_eq!(last.allocations, 0, "{name}: {passes:?}");
            assert_eq!(last.reallocations, 0, "{name}: {passes:?}");
        }
    }
    // the counter works: a parse that has to keep an extension method allocates
    let region = Region::new(GLOBAL);
    let msg = Message::parse(Bytes::from(b"FOO sip:a@b SIP/2.0\r\nl: 0\r\n\r\n".to_vec())).unwrap();
    assert!(region.change().allocations > 0);
    drop(msg);
}
