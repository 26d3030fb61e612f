//! Fuzz harnesses (cargo-fuzz targets in `fuzz/` forward here; `tests/fuzz_corpus.rs` replays
//! the seed corpus on stable). Each asserts the round trips that apply.

use std::time::{Duration, Instant};

use crate::RtcpError;
use crate::dtmf::DtmfReceiver;
use crate::packet::{Avx2, RtpPacket, StreamHeader};
use crate::rtcp::{self, RtcpPacket, Validation, build};
use crate::session::{RtpSession, SessionConfig};
use crate::types::Ssrc;

/// RTP: a valid view rebuilds byte-exact through the owned header (up to padding bytes, which
/// are rebuilt as zeros) and no accessor panics; and, for any input but the empty one,
/// `StreamHeader` writes its bytes as a payload exactly (see `stream_write`).
pub fn rtp_packet(data: &[u8]) {
    stream_write(data);
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

/// `StreamHeader::write_packet` (16-byte rows and inline block copies for payloads of 4-256
/// bytes, with 16 or, where the CPU has AVX2, 32-byte moves; `memcpy` otherwise) writes header + payload exactly and nothing else, wherever the
/// packet starts: octet 0 of `data` gives the packet's offset from a 64-byte boundary (its low
/// 6 bits), the rest (at most 300 bytes) is the payload.
fn stream_write(data: &[u8]) {
    #[repr(C, align(64))]
    struct Aligned([u8; 384]);
    let Some((&at, payload)) = data.split_first() else {
        return;
    };
    let payload = &payload[..payload.len().min(300)];
    let at = usize::from(at & 63);
    let stream = StreamHeader::new(at as u8, Ssrc(0x0102_0304));
    let (marker, seq) = (at & 1 == 1, payload.len() as u16);
    let mut expected = stream.encode(marker, seq, 0xDEAD_BEEF).to_vec();
    expected.extend_from_slice(payload);
    let end = at + expected.len();
    // Both payload copies: the portable one, and the AVX2 one where the CPU has it.
    for copy in [None, Avx2::detect()] {
        let mut buf = Aligned([0x5A; 384]);
        let out = &mut buf.0[at..];
        let written = stream.write_packet_with(copy, marker, seq, 0xDEAD_BEEF, payload, out);
        assert_eq!(written, Ok(expected.len()));
        assert_eq!(buf.0.get(at..end), Some(&expected[..]));
        assert!(buf.0[..at].iter().chain(&buf.0[end..]).all(|&b| b == 0x5A));
    }
    // One byte short: refused, nothing written.
    let mut buf = Aligned([0x5A; 384]);
    assert!(
        stream
            .write_packet(marker, seq, 0xDEAD_BEEF, payload, &mut buf.0[at..end - 1])
            .is_err()
    );
    assert!(buf.0.iter().all(|&b| b == 0x5A));
}

/// RTCP: a compound that validates writes back to bytes that parse again; when it carries no
/// padding the rewritten packets equal the parsed ones (padding and reserved bits are not kept,
/// so byte equality holds for canonical input only, which the proptests check).
///
/// The one-pass iterator agrees with the validate-first parse: the same packets for a valid
/// compound, the same first error otherwise. The lenient walk names that same first error,
/// yields the packets the strict walk yielded before it (all of them for a valid compound) and
/// leaves a suffix of the datagram.
pub fn rtcp_compound(data: &[u8]) {
    for v in [Validation::Compound, Validation::ReducedSize] {
        let strict: Vec<_> = rtcp::iter_compound(data, v).collect();
        let one_pass: Result<Vec<_>, _> = strict.iter().copied().collect();
        let whole = rtcp::parse_compound(data, v).map(Iterator::collect::<Vec<_>>);
        assert_eq!(
            one_pass, whole,
            "one-pass and validate-first parses disagree"
        );
        lenient_agrees(data, v, &strict);
        let Ok(packets) = whole else {
            continue;
        };
        let packets: Vec<build::RtcpPacket<'_>> = packets.into_iter().map(Into::into).collect();
        let Ok(out) = rtcp::compound_to_vec(&packets) else {
            continue;
        };
        let reparsed: Vec<build::RtcpPacket<'_>> =
            match rtcp::parse_compound(&out, Validation::ReducedSize) {
                Ok(c) => c.map(Into::into).collect(),
                Err(e) => panic!("rewritten compound does not parse: {e}"),
            };
        if !has_padding(data) {
            assert_eq!(reparsed, packets);
        }
    }
}

/// See [`rtcp_compound`].
fn lenient_agrees(data: &[u8], v: Validation, strict: &[Result<RtcpPacket<'_>, RtcpError>]) {
    let mut walk = rtcp::iter_lenient(data, v);
    let lenient: Vec<_> = walk.by_ref().collect();
    let rest = walk.remaining();
    assert_eq!(Some(rest), data.get(data.len() - rest.len()..));
    let ok: Vec<_> = strict.iter().map_while(|r| r.ok()).collect();
    assert_eq!(
        walk.violations().first,
        strict.iter().find_map(|r| r.err()),
        "lenient and strict walks name different first errors"
    );
    assert_eq!(lenient.get(..ok.len()), Some(&ok[..]));
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
