//! A response built for a request (RFC 3261 §8.2.6) sizes its buffer once: no reallocation,
//! neither to grow it nor to give back a large spare (the builder keeps at most 64 spare
//! bytes and shrinks past that). Counted with a counting global allocator (stats_alloc).
//! One test per binary, so no other test thread allocates while a region is open.

#![allow(
    clippy::unwrap_used,
    reason = "a test aborts on bad fixed inputs: panicking is the failure report"
)]

use std::alloc::System;

use bytes::Bytes;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use telox_sip_core::{Request, Response, StatusCode};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// An OPTIONS that passed `proxies` proxies (one Via each above the UAC's).
fn request(proxies: usize) -> Request {
    let mut text = String::from("OPTIONS sip:bob@192.0.2.4:5062 SIP/2.0\r\n");
    for p in 0..proxies {
        text.push_str(&format!(
            "Via: SIP/2.0/UDP proxy{p}.example.com;branch=z9hG4bK{p}a8f3c2d1e0\r\n"
        ));
    }
    text.push_str(
        "Via: SIP/2.0/UDP 192.0.2.1:5061;branch=z9hG4bK0000000000000001\r\n\
         Max-Forwards: 70\r\nFrom: <sip:alice@192.0.2.1>;tag=a1b2c3\r\n\
         To: <sip:bob@192.0.2.4>\r\nCall-ID: 1@bench\r\nCSeq: 1 OPTIONS\r\n\
         Content-Length: 0\r\n\r\n",
    );
    Request::parse(Bytes::from(text)).unwrap()
}

#[test]
fn response_for_request_does_not_reallocate() {
    for proxies in [0, 1, 2, 3] {
        let req = request(proxies);
        for (status, tag) in [
            (StatusCode(100), None),
            (StatusCode::OK, Some("b1")),
            (StatusCode::OK, Some("8c2f41d7")),
            (StatusCode(486), Some("8c2f41d7")),
        ] {
            let region = Region::new(GLOBAL);
            let mut b = Response::builder(&req, status);
            if let Some(tag) = tag {
                b = b.to_tag(tag);
            }
            let resp = b.build();
            let stats = region.change();
            assert_eq!(
                stats.reallocations, 0,
                "{} after {proxies} proxies: {stats:?}",
                status.0
            );
            // the same lines as a parse of its bytes: nothing was lost to the sizing
            let again = Response::parse(resp.to_bytes()).unwrap();
            assert_eq!(again.headers().len(), resp.headers().len());
            assert_eq!(resp.headers().len(), proxies + 6);
            drop(resp);
        }
    }
}
