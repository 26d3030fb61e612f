//! Parse + index of a typical INVITE (and of every vendor-style message, up to 25 header
//! lines) performs zero heap allocations: proven with a counting
//! global allocator (stats_alloc; this file itself has no unsafe code). One test per binary,
//! so no other test thread allocates while the region is open.

#![allow(
    clippy::unwrap_used,
    reason = "a test aborts on bad fixed inputs: panicking is the failure report"
)]

use std::alloc::System;

use bytes::Bytes;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, Stats, StatsAlloc};
use telox_sip_core::msg::INLINE_HEADERS;
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

/// Parses what `input` makes (fresh for every pass: a Bytes that was cloned is no longer
/// the Vec-backed kind) until a pass allocates nothing, at most three passes, checking each
/// walk with `check`; fails when every pass allocated.
///
/// The counter is process-wide, and the test harness's own thread may allocate while the
/// first region is open (microseconds after the test starts; it did in jitter-buffer's twin
/// test in CI). Parsing is deterministic, so an allocation of its own shows in every pass:
/// one clean pass proves it.
fn assert_no_allocation(
    what: &str,
    input: impl Fn() -> Bytes,
    check: impl Fn(usize, bool, usize, bool),
) {
    let mut passes = Vec::new();
    for _ in 0..3 {
        let (stats, total, has_cl, body, is_invite) = parse_and_walk(input());
        check(total, has_cl, body, is_invite);
        passes.push(stats);
        if stats.allocations == 0 && stats.reallocations == 0 {
            break;
        }
    }
    let last = passes.last().unwrap();
    assert_eq!(last.allocations, 0, "{what}: {passes:?}");
    assert_eq!(last.reallocations, 0, "{what}: {passes:?}");
}

#[test]
fn parse_and_index_allocate_nothing() {
    for (name, wire) in [("invite", INVITE), ("ok", OK), ("register", REGISTER)] {
        // both a static buffer and one received into a Vec
        for received in [false, true] {
            let input = || {
                if received {
                    Bytes::from(wire.to_vec())
                } else {
                    Bytes::from_static(wire)
                }
            };
            assert_no_allocation(name, input, |total, has_cl, body, is_invite| {
                assert!(total > 0 && has_cl);
                assert_eq!(is_invite, name == "invite");
                assert!(body > 0 || name == "register");
            });
        }
    }
    // The vendor-style messages, up to 25 header lines (INLINE_HEADERS): the 14 with 16-25
    // lines allocated while the index held 15 lines inline.
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/vendor-style");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "sip"))
        .collect();
    files.sort();
    let mut long = 0;
    for path in &files {
        let wire = std::fs::read(path).unwrap();
        let lines = Message::parse(Bytes::from(wire.clone()))
            .unwrap()
            .headers()
            .len();
        assert!(lines <= INLINE_HEADERS, "{path:?}: {lines} lines");
        if lines > 15 {
            long += 1;
        }
        let what = format!("{path:?}");
        assert_no_allocation(
            &what,
            || Bytes::from(wire.clone()),
            |total, _, _, _| {
                assert!(total > 0);
            },
        );
    }
    assert!(long >= 14, "{long} vendor-style messages of 16-25 lines");
    // the counter works: a parse that has to keep an extension method allocates
    let region = Region::new(GLOBAL);
    let msg = Message::parse(Bytes::from(b"FOO sip:a@b SIP/2.0\r\nl: 0\r\n\r\n".to_vec())).unwrap();
    assert!(region.change().allocations > 0);
    drop(msg);
}
