//! Heap allocations of the transaction layer per full non-INVITE transaction (RFC 3261
//! §17.1.2, §17.2.2), client and server endpoints in one process, counted with a counting
//! global allocator (stats_alloc). Only the `Transactions` calls are counted: building the
//! request and the 200 is the TU's work. One test per binary, so no other test thread
//! allocates while a region is open.

#![allow(
    clippy::unwrap_used,
    reason = "a test aborts on bad fixed inputs: panicking is the failure report"
)]

use std::alloc::System;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use telox_sip_core::header::{CSeq, CallId, From, MaxForwards, To, Via};
use telox_sip_core::transaction::{
    Target, TransactionConfig, TransactionEvent, Transactions, Transport,
};
use telox_sip_core::{Method, Request, Response, StatusCode, Uri};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Allocator calls (allocations + reallocations) since the region opened.
fn calls(region: &Region<'_, System>) -> usize {
    let s = region.change();
    s.allocations + s.reallocations
}

fn options(n: usize, transport: Transport) -> Request {
    let uri: Uri = "sip:bob@127.0.0.1:5062".parse().unwrap();
    Request::builder(Method::Options, uri.clone())
        .header(
            Via::new(
                transport.as_via_str(),
                "127.0.0.1",
                Some(5061),
                &format!("z9hG4bK{n:016x}"),
            )
            .unwrap(),
        )
        .header(MaxForwards(70))
        .header(From::new("sip:alice@127.0.0.1".parse().unwrap()).with_tag("a1"))
        .header(To::new(uri))
        .header(CallId::new(&format!("{n:x}@t")).unwrap())
        .header(CSeq::new(1, Method::Options))
        .build()
}

/// Runs `batch` transactions over `transport` from request to both ends removed; returns the
/// allocator calls made inside the transaction layer.
fn run_batch(
    a: &mut Transactions,
    b: &mut Transactions,
    now: &mut Instant,
    first: usize,
    batch: usize,
    transport: Transport,
) -> usize {
    let to_b = Target {
        transport,
        addr: SocketAddr::from(([127, 0, 0, 1], 5062)),
    };
    let to_a = Target {
        transport,
        addr: SocketAddr::from(([127, 0, 0, 1], 5061)),
    };
    let mut counted = 0;
    // On a reliable transport timers K and J are zero: both ends end with the response,
    // before the timeout below.
    let mut ended = 0;
    for n in first..first + batch {
        let req = options(n, transport);
        let region = Region::new(GLOBAL);
        a.send_request(*now, req, to_b).unwrap();
        let wire = a.poll_transmit().unwrap().payload;
        assert!(b.handle_datagram(*now, to_a, wire));
        let (key, request) = loop {
            match b.poll_event() {
                Some(TransactionEvent::Request { key, request, .. }) => break (key, request),
                Some(TransactionEvent::Terminated { .. }) => ended += 1,
                other => panic!("{other:?}"),
            }
        };
        counted += calls(&region);
        let resp = Response::builder(&request, StatusCode::OK)
            .to_tag("b1")
            .build();
        let region = Region::new(GLOBAL);
        b.send_response(*now, &key, resp).unwrap();
        let wire = b.poll_transmit().unwrap().payload;
        assert!(a.handle_datagram(*now, to_b, wire));
        assert!(matches!(
            a.poll_event(),
            Some(TransactionEvent::Response { .. })
        ));
        while let Some(e) = a.poll_event() {
            assert!(matches!(e, TransactionEvent::Terminated { .. }), "{e:?}");
            ended += 1;
        }
        counted += calls(&region);
    }
    if transport.is_reliable() {
        // nothing left to wait for
        assert!(a.is_empty() && b.is_empty());
        assert_eq!((a.poll_timeout(), b.poll_timeout()), (None, None));
    }
    // every wait timer (K, J) runs out, both ends are empty again
    *now += Duration::from_secs(40);
    let region = Region::new(GLOBAL);
    a.handle_timeout(*now);
    b.handle_timeout(*now);
    while let Some(e) = a.poll_event().or_else(|| b.poll_event()) {
        assert!(matches!(e, TransactionEvent::Terminated { .. }));
        ended += 1;
    }
    counted += calls(&region);
    assert_eq!(ended, 2 * batch);
    assert!(a.is_empty() && b.is_empty());
    counted
}

#[test]
fn no_allocation_per_transaction() {
    #[expect(clippy::disallowed_methods, reason = "virtual clock origin")]
    let mut now = Instant::now();
    const BATCH: usize = 200;
    for transport in [Transport::Udp, Transport::Tcp] {
        let mut a = Transactions::new(TransactionConfig::default());
        let mut b = Transactions::new(TransactionConfig::default());
        // warm up: queues, slot vectors, maps and deadline runs reach their working size
        run_batch(&mut a, &mut b, &mut now, 0, BATCH, transport);
        let counted = run_batch(&mut a, &mut b, &mut now, BATCH, BATCH, transport);
        // None per transaction (at most a few per batch, should a queue regrow): entries
        // live inline in the slab, messages move by reference count, keys are inline.
        assert!(
            counted <= 8,
            "{transport:?}: {counted} allocator calls for {BATCH} transactions"
        );
        // the counter works
        let region = Region::new(GLOBAL);
        let v = vec![0u8; 64];
        assert!(calls(&region) > 0);
        drop(v);
    }
}
