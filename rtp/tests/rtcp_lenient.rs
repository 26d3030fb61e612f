//! RTCP receive leniency: a compound that breaks the RFC 3550 §6.1/A.2 compound rules, or holds
//! one malformed packet, is still used packet by packet by the session (as libwebrtc's receiver
//! does), and the violation is counted and reported; the strict validator still refuses it.
//! Hostile bytes never make the lenient walk panic or read past the datagram.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers outside #[test] fns"
)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use proptest::collection::vec;
use proptest::prelude::*;
use telox_rtp::rtcp::{self, RtcpPacket, Validation, Violations};
use telox_rtp::{RtcpError, RtpPacket, RtpSession, SessionConfig, SessionEvent, Ssrc};

const PEER: Ssrc = Ssrc(0x4455_6677);

/// SR from PEER, no report block (28 bytes).
const SR: &str = concat!(
    "80c80006", // V=2 RC=0, PT 200, length 6 words
    "44556677", // SSRC
    "eb2a6400", "80000000", // NTP timestamp
    "00003e80", // RTP timestamp 16000
    "00000064", // packet count
    "00003e80", // octet count
);

/// SDES, one chunk: CNAME "janus1" ending on a 32-bit boundary with no null octet after it.
/// RFC 3550 §6.5: "The list of items in each chunk MUST be terminated by one or more null
/// octets"; Janus before 2018 sent its chunk like this.
const SDES_NO_NULL: &str = concat!(
    "81ca0003",         // SC=1, PT 202, length 3 words
    "44556677",         // SSRC
    "01066a616e757331", // CNAME, 6 bytes, "janus1": the chunk ends here, unterminated
);

/// SDES, one chunk: CNAME "janus" and its terminating null octet.
const SDES: &str = concat!("81ca0003", "44556677", "01056a616e757300");

/// BYE from PEER.
const BYE: &str = concat!("81cb0001", "44556677");

fn hex(parts: &[&str]) -> Vec<u8> {
    let s: String = parts.concat();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[expect(
    clippy::disallowed_methods,
    reason = "a test's time origin; all later times are virtual"
)]
fn t0() -> Instant {
    Instant::now()
}

/// A session that has validated PEER's stream, with its events drained.
fn session_hearing_peer(start: Instant) -> RtpSession {
    let mut s = RtpSession::new(SessionConfig::default(), start);
    for seq in 0u16..3 {
        let mut v = vec![0x80, 0, 0, 0, 0, 0, 0, 0, 0x44, 0x55, 0x66, 0x77];
        v[2..4].copy_from_slice(&seq.to_be_bytes());
        v[4..8].copy_from_slice(&(160 * u32::from(seq)).to_be_bytes());
        v.extend_from_slice(&[0xFF; 160]);
        let p = RtpPacket::new_checked(Bytes::from(v)).unwrap();
        s.handle_rtp(start + Duration::from_millis(20 * u64::from(seq)), &p)
            .unwrap();
    }
    while s.poll_event().is_some() {}
    s
}

fn events(s: &mut RtpSession) -> Vec<SessionEvent> {
    std::iter::from_fn(|| s.poll_event()).collect()
}

#[test]
fn janus_sdes_without_null_terminator_keeps_the_sender_report() {
    let bytes = hex(&[SR, SDES_NO_NULL]);
    let malformed = RtcpError::Malformed {
        pt: 202,
        at: 28,
        what: "sdes chunks do not match the source count",
    };
    // The strict validator refuses the compound, as before.
    assert_eq!(
        rtcp::parse_compound(&bytes, Validation::Compound).err(),
        Some(malformed)
    );
    // The lenient walk yields the SR, skips the SDES and notes both rules broken.
    let mut walk = rtcp::iter_lenient(&bytes, Validation::Compound);
    let packets: Vec<_> = walk.by_ref().collect();
    assert!(matches!(packets[..], [RtcpPacket::SenderReport(_)]));
    assert_eq!(
        walk.violations(),
        Violations {
            first: Some(malformed),
            skipped: 1,
            count: 2, // the malformed SDES, then no CNAME in the compound
        }
    );
    // The session uses the SR (its RTP timestamp is the last SR's) and says what it skipped.
    let start = t0();
    let mut s = session_hearing_peer(start);
    s.handle_rtcp(start + Duration::from_millis(60), &bytes)
        .unwrap();
    let last_sr = s.source_stats(PEER).unwrap().last_sr.unwrap();
    assert_eq!(last_sr.rtp_timestamp, 0x3E80);
    assert_eq!(s.cname_of(PEER), None, "the malformed SDES is not read");
    assert_eq!(
        events(&mut s),
        [SessionEvent::RtcpViolation {
            first: malformed,
            skipped: 1
        }]
    );
    assert_eq!((s.rtcp_violations(), s.rtcp_skipped()), (1, 1));
}

#[test]
fn compound_not_starting_with_a_report_is_used() {
    // SDES + BYE with no SR or RR before them, as old PJSIP sent a BYE
    // (https://github.com/pjsip/pjproject/issues/1440).
    let bytes = hex(&[SDES, BYE]);
    assert_eq!(
        rtcp::parse_compound(&bytes, Validation::Compound).err(),
        Some(RtcpError::FirstNotReport(202))
    );
    let start = t0();
    let mut s = session_hearing_peer(start);
    s.handle_rtcp(start + Duration::from_millis(60), &bytes)
        .unwrap();
    assert_eq!(
        events(&mut s),
        [
            SessionEvent::Bye {
                ssrc: PEER,
                reason: None
            },
            SessionEvent::RtcpViolation {
                first: RtcpError::FirstNotReport(202),
                skipped: 0
            }
        ]
    );
    assert!(s.source_stats(PEER).is_none(), "gone after BYE");
    assert_eq!((s.rtcp_violations(), s.rtcp_skipped()), (1, 0));
}

#[test]
fn a_valid_compound_is_no_violation() {
    let bytes = hex(&[SR, SDES]);
    let mut walk = rtcp::iter_lenient(&bytes, Validation::Compound);
    assert_eq!(walk.by_ref().count(), 2);
    assert!(walk.violations().is_empty());
    let start = t0();
    let mut s = session_hearing_peer(start);
    s.handle_rtcp(start, &bytes).unwrap();
    assert_eq!(s.cname_of(PEER), Some(&b"janus"[..]));
    assert_eq!(events(&mut s), []);
    assert_eq!((s.rtcp_violations(), s.rtcp_skipped()), (0, 0));
}

#[test]
fn unframeable_bytes_end_the_walk() {
    // SR + SDES, then an RR whose length (8 words) runs past the end of the datagram: the
    // packets before it are used, nothing after it can be located.
    let bytes = hex(&[SR, SDES, "81c90007", "44556677", BYE]);
    let truncated = RtcpError::Truncated {
        at: 44,
        need: 32,
        have: 16,
    };
    let mut walk = rtcp::iter_lenient(&bytes, Validation::Compound);
    assert_eq!(walk.by_ref().count(), 2);
    assert_eq!(walk.violations().first, Some(truncated));
    assert_eq!(walk.remaining().len(), 16);
    let start = t0();
    let mut s = session_hearing_peer(start);
    s.handle_rtcp(start, &bytes).unwrap();
    assert_eq!(s.cname_of(PEER), Some(&b"janus"[..]));
    assert!(
        s.source_stats(PEER).is_some(),
        "the BYE after it is not read"
    );
    // A version-0 tail (zero bytes after the compound) ends it the same way.
    let mut zeros = hex(&[SR, SDES]);
    zeros.extend_from_slice(&[0; 8]);
    let mut walk = rtcp::iter_lenient(&zeros, Validation::Compound);
    assert_eq!(walk.by_ref().count(), 2);
    assert_eq!(
        walk.violations().first,
        Some(RtcpError::BadVersion { at: 44, version: 0 })
    );
}

#[test]
fn nothing_usable_is_an_error_and_not_counted() {
    let start = t0();
    let mut s = session_hearing_peer(start);
    // Only a malformed SDES: framed, but no packet to use.
    let bytes = hex(&[SDES_NO_NULL]);
    assert!(matches!(
        s.handle_rtcp(start, &bytes),
        Err(RtcpError::Malformed { pt: 202, at: 0, .. })
    ));
    assert_eq!(s.handle_rtcp(start, &[]), Err(RtcpError::Empty));
    assert_eq!(
        s.handle_rtcp(start, &[0x00, 0xC8, 0x00, 0x00]),
        Err(RtcpError::BadVersion { at: 0, version: 0 })
    );
    assert_eq!(events(&mut s), []);
    assert_eq!((s.rtcp_violations(), s.rtcp_skipped()), (0, 0));
}

/// An RTP packet handed to the RTCP handler (a demultiplexing mistake) whose sequence number
/// frames it as an 8-byte "packet" of type 0 is refused whole, not used as RTCP with a
/// violation: RFC 5761 §4 puts RTCP packet types in 192-223.
#[test]
fn rtp_given_as_rtcp_is_refused() {
    let start = t0();
    let mut s = session_hearing_peer(start);
    // V=2, PT 0 (PCMU), sequence number 1, timestamp: framed as 2 words.
    let rtp = [0x80, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0xA0];
    assert_eq!(
        s.handle_rtcp(start, &rtp),
        Err(RtcpError::FirstNotReport(0))
    );
    // Marker set with PT 0: second byte 0x80 (128), still outside 192-223.
    let marked = [0x80, 0x80, 0x00, 0x01, 0x00, 0x00, 0x00, 0xA0];
    assert_eq!(
        s.handle_rtcp(start, &marked),
        Err(RtcpError::FirstNotReport(128))
    );
    assert_eq!(events(&mut s), []);
    assert_eq!((s.rtcp_violations(), s.rtcp_skipped()), (0, 0));
}

/// A valid compound with some bytes overwritten and possibly cut short.
fn mangled() -> impl Strategy<Value = Vec<u8>> {
    let base = hex(&[SR, SDES, BYE]);
    let n = base.len();
    (
        vec((0..n, any::<u8>()), 0..4),
        prop_oneof![Just(n), 0..=n],
        vec(any::<u8>(), 0..8),
    )
        .prop_map(move |(edits, cut, tail)| {
            let mut b = base.clone();
            for (i, v) in edits {
                b[i] = v;
            }
            b.truncate(cut);
            b.extend_from_slice(&tail);
            b
        })
}

fn check_walk(bytes: &[u8], validation: Validation) {
    let mut walk = rtcp::iter_lenient(bytes, validation);
    let lenient: Vec<_> = walk.by_ref().collect();
    let v = walk.violations();
    // Never past the end: what is left is a suffix of the datagram, and every packet walked
    // (yielded or skipped) took at least a header of the part walked.
    let rest = walk.remaining();
    assert!(rest.len() <= bytes.len());
    assert_eq!(rest, &bytes[bytes.len() - rest.len()..]);
    let walked = bytes.len() - rest.len();
    assert!(4 * (lenient.len() + v.skipped as usize) <= walked);
    // Same first error as the strict walk, and the strict walk's packets are a prefix.
    let strict: Vec<_> = rtcp::iter_compound(bytes, validation).collect();
    let strict_ok: Vec<_> = strict.iter().map_while(|r| r.ok()).collect();
    let strict_err = strict.iter().find_map(|r| r.err());
    assert_eq!(v.first, strict_err);
    assert_eq!(&lenient[..strict_ok.len()], &strict_ok[..]);
    if strict_err.is_none() {
        assert_eq!(lenient, strict_ok);
        assert_eq!(v, Violations::default());
        assert!(rest.is_empty());
    }
    assert!(v.skipped <= v.count);
    assert_eq!(v.count == 0, v.first.is_none());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn lenient_walk_of_hostile_bytes(bytes in vec(any::<u8>(), 0..96)) {
        check_walk(&bytes, Validation::Compound);
        check_walk(&bytes, Validation::ReducedSize);
    }

    #[test]
    fn lenient_walk_of_mangled_compounds(bytes in mangled()) {
        check_walk(&bytes, Validation::Compound);
        check_walk(&bytes, Validation::ReducedSize);
        // The session uses it or refuses it whole, never panics: it refuses a datagram with
        // nothing usable or whose first packet's type is outside RTCP's 192-223.
        let start = t0();
        let mut s = session_hearing_peer(start);
        let used = rtcp::iter_lenient(&bytes, Validation::Compound)
            .next()
            .is_some_and(|p| (192..=223).contains(&p.packet_type()));
        prop_assert_eq!(s.handle_rtcp(start, &bytes).is_ok(), used);
    }
}
