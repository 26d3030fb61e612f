//! Descriptions in the shape vendors send (tests/data/vendor-style, see tests/data/README.md):
//! each parses strictly and writes back byte for byte, and telox answers each offer with
//! the codec, telephone-event, RTCP port and SRTP key (with its MKI) the offer calls for.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use std::path::Path;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use telox_sdp::{
    Codec, MediaCapabilities, OfferAnswer, Role, Sdp, SessionConfig, SrtpPolicy, SrtpSuite,
    negotiate,
};

fn load(name: &str) -> (Vec<u8>, Sdp) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/vendor-style")
        .join(name);
    let bytes = std::fs::read(&path).unwrap();
    let sdp = Sdp::parse(bytes.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(sdp.to_bytes(), bytes.as_slice(), "{name}: not byte-exact");
    (bytes, sdp)
}

fn telox(srtp: SrtpPolicy) -> OfferAnswer {
    let codecs = "opus,pcmu,pcma,g722,telephone-event"
        .split(',')
        .map(|c| Codec::by_name(c).unwrap())
        .collect();
    let caps = MediaCapabilities::audio(40000, codecs).with_srtp(srtp);
    let config = SessionConfig::new("203.0.113.5".parse().unwrap(), caps);
    OfferAnswer::new(config, &mut ChaCha8Rng::seed_from_u64(9))
}

#[test]
fn every_file_parses_strictly_and_round_trips() {
    for name in [
        "avaya_sm_invite.sdp",
        "cisco_cucm_invite.sdp",
        "compact_form_invite.sdp",
        "freeswitch_183.sdp",
        "teams_direct_routing_invite.sdp",
    ] {
        load(name);
    }
}

/// (file, send codec and payload type, telephone-event payload type, RTCP port (a=rtcp, or
/// RTP + 1), suite)
#[test]
fn telox_answers_every_vendor_offer() {
    type Row = (
        &'static str,
        &'static str,
        u8,
        Option<u8>,
        Option<u16>,
        Option<SrtpSuite>,
    );
    let table: [Row; 4] = [
        (
            "cisco_cucm_invite.sdp",
            "PCMU",
            0,
            Some(101),
            Some(24581),
            None,
        ),
        (
            "avaya_sm_invite.sdp",
            "PCMU",
            0,
            Some(101),
            Some(2049),
            Some(SrtpSuite::AesCm128HmacSha1_80),
        ),
        (
            "teams_direct_routing_invite.sdp",
            "PCMU",
            0,
            Some(101),
            Some(52041),
            Some(SrtpSuite::AesCm128HmacSha1_80),
        ),
        // c= names a host: no socket address until it is resolved.
        ("compact_form_invite.sdp", "PCMU", 0, None, None, None),
    ];
    for (file, codec, pt, te, rtcp, suite) in table {
        let (_, offer) = load(file);
        let mut session = telox(SrtpPolicy::Optional);
        let answer = session
            .handle_offer(&offer, &mut ChaCha8Rng::seed_from_u64(1))
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        let audio = &session.streams()[0];
        assert_eq!(audio.send_codec.name, codec, "{file}");
        assert_eq!(audio.send_codec.send_payload_type, pt, "{file}");
        assert_eq!(
            audio.telephone_event.map(|t| t.send_payload_type),
            te,
            "{file}"
        );
        assert_eq!(audio.remote_rtcp.map(|a| a.port()), rtcp, "{file}");
        assert_eq!(audio.crypto.as_ref().map(|c| c.suite), suite, "{file}");
        // The answer is strict SDP and the offerer negotiates the mirror image.
        assert_eq!(Sdp::parse(answer.to_bytes()).unwrap(), answer, "{file}");
        let peer = negotiate(&offer, &answer, Role::Offerer).unwrap();
        assert_eq!(peer.streams[0].send_codec.send_payload_type, pt, "{file}");
    }
}

#[test]
fn the_offered_mki_is_the_key_telox_receives_with() {
    // Avaya's key carries lifetime 2^20 and MKI 1 in 4 bytes: the sender puts that MKI in
    // every packet, so the receiving context must expect it.
    let (_, offer) = load("avaya_sm_invite.sdp");
    let mut session = telox(SrtpPolicy::Required);
    session
        .handle_offer(&offer, &mut ChaCha8Rng::seed_from_u64(1))
        .unwrap();
    let crypto = session.streams()[0].crypto.clone().unwrap();
    let mki = crypto.remote_key.mki.unwrap();
    assert_eq!((mki.value, mki.length), (1, 4));
    assert_eq!(crypto.remote_key.key_salt.len(), 30);
    // Teams offers two keys for the same suite: the first (tag 2) is taken.
    let (_, offer) = load("teams_direct_routing_invite.sdp");
    let mut session = telox(SrtpPolicy::Required);
    session
        .handle_offer(&offer, &mut ChaCha8Rng::seed_from_u64(1))
        .unwrap();
    assert_eq!(session.streams()[0].crypto.as_ref().unwrap().tag, 2);
}

#[test]
fn a_freeswitch_183_answers_a_telox_offer() {
    // The 183's description as the answer to a PCMU offer on port 40000 from telox.
    let (_, answer) = load("freeswitch_183.sdp");
    let mut session = telox(SrtpPolicy::Disabled);
    let _ = session
        .create_offer(&mut ChaCha8Rng::seed_from_u64(2))
        .unwrap();
    session.handle_answer(&answer).unwrap();
    let audio = &session.streams()[0];
    assert_eq!(audio.send_codec.name, "PCMU");
    assert_eq!(
        audio.remote_rtp,
        Some("198.51.100.20:16384".parse().unwrap())
    );
    assert_eq!(
        audio.remote_rtcp,
        Some("198.51.100.20:16385".parse().unwrap())
    );
}
