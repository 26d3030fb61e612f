//! Real linphone SDPs (linphone-cli 5.1.65, captured on the wire by the interop script
//! `.ci/interop/60-linphone.sh`, see tests/data/README.md): each parses strictly, writes back
//! byte for byte, and negotiates with telox as the offer telox answers or as the answer to
//! the offer it was sent.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use telox_sdp::{
    Codec, MediaCapabilities, NegotiatedStream, NegotiationError, OfferAnswer, Role, Sdp,
    SessionConfig, SrtpPolicy, SrtpSuite, negotiate,
};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/real/linphone")
}

fn read(name: &str) -> Sdp {
    Sdp::parse(std::fs::read(dir().join(name)).unwrap()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn telox(srtp: SrtpPolicy) -> OfferAnswer {
    let codecs = vec![
        Codec::opus(),
        Codec::pcmu(),
        Codec::pcma(),
        Codec::g722(),
        Codec::telephone_event(),
    ];
    let caps = MediaCapabilities::audio(40000, codecs).with_srtp(srtp);
    let config = SessionConfig::new("203.0.113.5".parse().unwrap(), caps);
    OfferAnswer::new(config, &mut ChaCha8Rng::seed_from_u64(9))
}

fn addr(a: &str) -> Option<SocketAddr> {
    Some(a.parse().unwrap())
}

#[test]
fn every_capture_parses_strictly_and_writes_back_byte_for_byte() {
    let mut names: Vec<String> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".sdp"))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "linphone_5.1.65_answer_srtp.sdp",
            "linphone_5.1.65_answer_to_linphone.sdp",
            "linphone_5.1.65_answer_to_telox.sdp",
            "linphone_5.1.65_offer.sdp",
            "linphone_5.1.65_offer_ipv6.sdp",
            "linphone_5.1.65_offer_srtp.sdp",
            "telox_pbx_offer_to_linphone.sdp",
            "telox_phone_offer_srtp_to_linphone.sdp",
        ]
    );
    for name in names {
        let bytes = std::fs::read(dir().join(&name)).unwrap();
        let sdp = Sdp::parse(bytes.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(sdp.to_bytes(), bytes.as_slice(), "{name}");
    }
}

/// What linphone writes that other peers do not, kept by the model as written.
#[test]
fn linphone_specifics_are_kept() {
    let offer = read("linphone_5.1.65_offer.sdp");
    assert_eq!(offer.session_name, "Talk");
    assert_eq!(
        offer.attribute("rtcp-xr"),
        Some("rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics")
    );
    let audio = &offer.media[0];
    assert_eq!(audio.format_list, "96 97 98 0 8 18 99 100 101");
    // telephone-event at three clock rates, and an fmtp for static G.729 without an rtpmap.
    for (pt, rate) in [(99, 48000), (100, 16000), (101, 8000)] {
        let map = audio.rtpmap(pt).unwrap();
        assert_eq!(
            (map.encoding.as_str(), map.clock_rate),
            ("telephone-event", rate)
        );
    }
    assert_eq!(audio.attributes_named("fmtp").nth(3), Some("18 annexb=yes"));
    assert_eq!(
        audio.attributes_named("rtcp-fb").collect::<Vec<_>>(),
        ["* trr-int 1000", "* ccm tmmbr"]
    );
    let srtp = read("linphone_5.1.65_offer_srtp.sdp");
    assert_eq!(srtp.media[0].protocol.as_str(), "RTP/SAVP");
    let tags: Vec<u32> = srtp.media[0].cryptos().map(|c| c.tag).collect();
    assert_eq!(tags, [1, 2, 3, 4]);
    // Without a proxy linphone took its address from the default route, IPv6, although
    // use_ipv6=0 was set.
    let v6 = read("linphone_5.1.65_offer_ipv6.sdp");
    assert_eq!(v6.connection.as_ref().unwrap().address, "fd00::2");
}

/// telox answers each linphone offer; the answer is strict SDP and linphone's side of the
/// negotiation (computed from the same pair) mirrors ours.
fn answer_offer(name: &str, srtp: SrtpPolicy) -> (NegotiatedStream, Sdp) {
    let offer = read(name);
    let mut session = telox(srtp);
    let answer = session
        .handle_offer(&offer, &mut ChaCha8Rng::seed_from_u64(1))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(Sdp::parse(answer.to_bytes()).unwrap(), answer, "{name}");
    assert_eq!(session.streams().len(), 1, "{name}");
    let ours = session.streams()[0].clone();
    let theirs = &negotiate(&offer, &answer, Role::Offerer).unwrap().streams[0];
    assert_eq!(
        theirs.send_codec.send_payload_type, ours.send_codec.recv_payload_type,
        "{name}"
    );
    assert_eq!(theirs.remote_rtp, addr("203.0.113.5:40000"), "{name}");
    match (&ours.crypto, &theirs.crypto) {
        (Some(o), Some(t)) => {
            assert_eq!(o.local_key, t.remote_key, "{name}");
            assert_eq!(o.remote_key, t.local_key, "{name}");
        }
        (None, None) => {}
        other => panic!("{name}: {other:?}"),
    }
    (ours, answer)
}

#[test]
fn telox_answers_linphone_offers() {
    let (s, answer) = answer_offer("linphone_5.1.65_offer.sdp", SrtpPolicy::Optional);
    assert_eq!(s.send_codec.name, "opus");
    assert_eq!(s.send_codec.send_payload_type, 96);
    // The telephone-event at opus's 48000 Hz clock of the three offered.
    let te = s.telephone_event.unwrap();
    assert_eq!((te.send_payload_type, te.clock_rate), (99, 48000));
    assert!(s.send_codec.opus.unwrap().use_inband_fec);
    assert_eq!(s.remote_rtp, addr("127.0.0.1:32000"));
    assert_eq!(s.remote_rtcp, addr("127.0.0.1:32001"));
    assert!(s.crypto.is_none());
    assert!(answer.media[0].attribute("crypto").is_none());

    let (s, _) = answer_offer("linphone_5.1.65_offer_ipv6.sdp", SrtpPolicy::Disabled);
    assert_eq!(s.remote_rtp, addr("[fd00::2]:32300"));
    assert_eq!(s.send_codec.send_payload_type, 96);

    // SRTP: the strongest of linphone's four suites, as the PBX took it live (tag 3).
    for policy in [SrtpPolicy::Optional, SrtpPolicy::Required] {
        let (s, answer) = answer_offer("linphone_5.1.65_offer_srtp.sdp", policy);
        let c = s.crypto.unwrap();
        assert_eq!((c.suite, c.tag), (SrtpSuite::Aes256CmHmacSha1_80, 3));
        assert_eq!(answer.media[0].protocol.as_str(), "RTP/SAVP");
        assert_eq!(answer.media[0].cryptos().count(), 1);
    }
    // An RTP/SAVP offer without SRTP on our side is refused, 488.
    let e = telox(SrtpPolicy::Disabled)
        .handle_offer(
            &read("linphone_5.1.65_offer_srtp.sdp"),
            &mut ChaCha8Rng::seed_from_u64(1),
        )
        .unwrap_err();
    assert_eq!(e.sip_status(), 488, "{e}");
    assert!(matches!(e, NegotiationError::NoAcceptableCrypto(_)), "{e}");
}

/// linphone's answers, each to the offer it was sent: the telox PBX's best-effort SDES offer
/// with rtcp-mux (linphone with media_encryption=none answers plain RTP/AVP without
/// rtcp-mux), another linphone's offer, and a telox phone's RTP/SAVP offer.
#[test]
fn linphone_answers_negotiate_with_the_offers_they_answered() {
    let offer = read("telox_pbx_offer_to_linphone.sdp");
    let answer = read("linphone_5.1.65_answer_to_telox.sdp");
    let n = negotiate(&offer, &answer, Role::Offerer).unwrap();
    let s = &n.streams[0];
    assert_eq!(s.send_codec.name, "opus");
    assert_eq!(
        (
            s.send_codec.send_payload_type,
            s.send_codec.recv_payload_type
        ),
        (111, 111)
    );
    let names: Vec<&str> = s.codecs.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["opus", "PCMU", "PCMA"]);
    assert_eq!(s.telephone_event.unwrap().send_payload_type, 101);
    assert!(!s.rtcp_mux);
    assert!(s.crypto.is_none());
    assert_eq!(s.remote_rtp, addr("127.0.0.1:32100"));
    // The answer as telox the answerer reads it is the same pair seen from the other side.
    let mirror = negotiate(&offer, &answer, Role::Answerer).unwrap();
    assert_eq!(mirror.streams[0].send_codec.send_payload_type, 111);

    let offer = read("linphone_5.1.65_offer_ipv6.sdp");
    let answer = read("linphone_5.1.65_answer_to_linphone.sdp");
    let s = &negotiate(&offer, &answer, Role::Offerer).unwrap().streams[0];
    assert_eq!(s.send_codec.name, "opus");
    assert_eq!(s.remote_rtp, addr("127.0.0.1:32400"));
    assert_eq!(s.telephone_event.unwrap().clock_rate, 48000);
    assert_eq!(answer.attribute("rtcp-xr"), offer.attribute("rtcp-xr"));

    // SRTP: of the phone's six suites linphone takes AES_256_CM_HMAC_SHA1_80 (tag 3), not
    // the AEAD ones listed first; no rtcp-mux, and it ignores our a=rtcp.
    let offer = read("telox_phone_offer_srtp_to_linphone.sdp");
    let answer = read("linphone_5.1.65_answer_srtp.sdp");
    let theirs = answer.media[0].cryptos().next().unwrap().keys[0].clone();
    let ours = offer.media[0].cryptos().find(|c| c.tag == 3).unwrap().keys[0].clone();
    let s = &negotiate(&offer, &answer, Role::Offerer).unwrap().streams[0];
    let c = s.crypto.as_ref().unwrap();
    assert_eq!((c.suite, c.tag), (SrtpSuite::Aes256CmHmacSha1_80, 3));
    assert_eq!((&c.local_key, &c.remote_key), (&ours, &theirs));
    assert!(!s.rtcp_mux);
    assert_eq!(s.remote_rtcp, addr("127.0.0.1:47537"));
    assert_eq!(s.send_codec.name, "opus");
    let mirror = negotiate(&offer, &answer, Role::Answerer).unwrap();
    let c = mirror.streams[0].crypto.as_ref().unwrap();
    assert_eq!((&c.local_key, &c.remote_key), (&theirs, &ours));
}
