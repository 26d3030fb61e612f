//! Parse + index of a typical INVITE performs zero heap allocations: proven with a counting
//! global allocator (stats_alloc; this file itself has no unsafe code). One test per binary,
//! so no other test thread allocates while the region is open.

use std::alloc::System;

use bytes::Bytes;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use telox_sip_core::{HeaderName, Message, Method};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const INVITE: &[u8] = include_bytes!("data/sip/invite.sip");
const OK: &[u8] = include_bytes!("data/sip/ok.sip");
const REGISTER: &[u8] = include_bytes!("data/sip/register.sip");

#[test]
fn parse_and_index_allocate_nothing() {
    for (name, wire) in [("invite", INVITE), ("ok", OK), ("register", REGISTER)] {
        // both a static buffer and one received into a Vec
        for input in [Bytes::from_static(wire), Bytes::from(wire.to_vec())] {
            let region = Region::new(GLOBAL);
            let msg = Message::parse(input).unwrap();
            // walk the index: every name and value, the body
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
            assert_eq!(stats.allocations, 0, "{name}: {stats:?}");
            assert_eq!(stats.reallocations, 0, "{name}: {stats:?}");
            assert!(total > 0 && has_cl);
            assert_eq!(is_invite, name == "invite");
            assert!(body > 0 || name == "register");
            drop(msg);
        }
    }
    // the counter works: a parse that has to keep an extension method allocates
    let region = Region::new(GLOBAL);
    let msg = Message::parse(Bytes::from(b"FOO sip:a@b SIP/2.0\r\nl: 0\r\n\r\n".to_vec())).unwrap();
    assert!(region.change().allocations > 0);
    drop(msg);
}
