//! Fuzz harnesses (cargo-fuzz targets in `fuzz/` forward here; `tests/fuzz_corpus.rs` replays
//! the seed corpus on stable). Each asserts the round trips that apply.

use std::time::{Duration, Instant};

use crate::dtmf::DtmfReceiver;
use crate::packet::RtpPacket;
use crate::rtcp::{self, Validation};
use crate::session::{RtpSession, SessionConfig};

/// RTP: a valid view rebuilds byte-exact through the owned header (up to padding bytes, which
/// are rebuilt as zeros) and no accessor panics.
pub fn rtp_packet(data: &[u8]) {
    let Ok(p) = RtpPacket::new_checked(data) else {
        return;
    };
    let _ = (
        p.marker(),
        p.payload_type(),
        p.sequence_number(),
        p.timestamp(),
        p.ssrc(),
    );
    if let Some(e) = p.extension() {
        for el in e.elements() {
            let _ = el.data.len();
        }
    }
    let h = p.header();
    let rebuilt = h.to_vec(p.payload());
    assert!(rebuilt.is_ok(), "a parsed header must rebuild");
    if let Ok(b) = rebuilt {
        let n = p.header_len() + p.payload().len();
        assert_eq!(b.get(..n), data.get(..n));
        assert_eq!(b.len(), data.len());
    }
}

/// RTCP: a compound that validates writes back to bytes that parse again; when it carries no
/// padding the rewritten packets equal the parsed ones (padding and reserved bits are not kept,
/// so byte equality holds for canonical input only, which the proptests check).
///
/// The one-pass iterator agrees with the validate-first parse: the same packets for a valid
/// compound, the same first error otherwise.
pub fn rtcp_compound(data: &[u8]) {
    for v in [Validation::Compound, Validation::ReducedSize] {
        let one_pass: Result<Vec<_>, _> = rtcp::iter_compound(data, v).collect();
        let whole = rtcp::parse_compound(data, v).map(Iterator::collect::<Vec<_>>);
        assert_eq!(
            one_pass, whole,
            "one-pass and validate-first parses disagree"
        );
        let Ok(packets) = whole else {
            continue;
        };
        let Ok(out) = rtcp::compound_to_vec(&packets) else {
            continue;
        };
        let reparsed: Vec<_> = match rtcp::parse_compound(&out, Validation::ReducedSize) {
            Ok(c) => c.collect(),
            Err(e) => panic!("rewritten compound does not parse: {e}"),
        };
        if !has_padding(data) {
            assert_eq!(reparsed, packets);
        }
    }
}

/// Whether any packet of a (structurally valid) compound has the P bit.
fn has_padding(data: &[u8]) -> bool {
    let mut at = 0;
    while let Some(h) = data.get(at..at + 4) {
        if h[0] & 0x20 != 0 {
            return true;
        }
        at += (usize::from(u16::from_be_bytes([h[2], h[3]])) + 1) * 4;
    }
    false
}

/// The session and DTMF receiver fed arbitrary datagrams: first byte picks RTP, RTCP or a
/// timer step; nothing may panic.
pub fn rtp_session(data: &[u8]) {
    #[expect(
        clippy::disallowed_methods,
        reason = "fuzz harness origin; time is virtual after"
    )]
    let t0 = Instant::now();
    let mut s = RtpSession::new(
        SessionConfig {
            min_sequential: 1,
            ..SessionConfig::default()
        },
        t0,
    );
    let mut dtmf = DtmfReceiver::new();
    let mut now = t0;
    for chunk in data.split(|&b| b == 0xA5).take(256) {
        let Some((&op, rest)) = chunk.split_first() else {
            continue;
        };
        now += Duration::from_millis(u64::from(op));
        match op % 3 {
            0 => {
                if let Ok(p) = RtpPacket::new_checked(rest) {
                    let _ = s.handle_rtp(now, &p);
                    let _ = dtmf.handle_packet(p.timestamp(), p.payload());
                }
            }
            1 => {
                let _ = s.handle_rtcp(now, rest);
            }
            _ => {
                if let Some(d) = s.poll_timeout() {
                    now = now.max(d);
                    s.handle_timeout(now);
                }
            }
        }
        while s.poll_transmit().is_some() {}
        while s.poll_event().is_some() {}
        while dtmf.poll_event().is_some() {}
        let _ = s.stats();
    }
}
