//! Every description in tests/data (RFC 4317, real peers and vendor-style, see
//! tests/data/README.md) parses, round-trips and negotiates with telox.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use std::path::{Path, PathBuf};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use telox_sdp::{
    Codec, Direction, MediaCapabilities, NegotiationError, OfferAnswer, ParseOptions, Role, Sdp,
    SessionConfig, SrtpPolicy, SrtpSuite, negotiate,
};

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

fn files(dir: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(data_dir().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sdp"))
        .collect();
    v.sort();
    v
}

fn lenient(dir: &str, name: &str) -> Sdp {
    let bytes = std::fs::read(data_dir().join(dir).join(name)).unwrap();
    Sdp::parse_with(bytes, &ParseOptions::lenient()).unwrap()
}

/// The input with CRLF endings and no trailing empty lines: the canonical form.
fn canonical(bytes: &[u8]) -> Vec<u8> {
    let text = String::from_utf8(bytes.to_vec())
        .unwrap()
        .replace("\r\n", "\n");
    let mut out = String::new();
    for line in text.trim_end_matches('\n').split('\n') {
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.into_bytes()
}

fn telox(codecs: &str, srtp: SrtpPolicy) -> OfferAnswer {
    let codecs = codecs
        .split(',')
        .map(|c| Codec::by_name(c).unwrap())
        .collect();
    let caps = MediaCapabilities::audio(40000, codecs).with_srtp(srtp);
    let config = SessionConfig::new("203.0.113.5".parse().unwrap(), caps);
    OfferAnswer::new(config, &mut ChaCha8Rng::seed_from_u64(9))
}

/// Every codec the real and vendor-style offers are answered with.
const ALL: &str = "opus,pcmu,pcma,g722,telephone-event";

#[test]
fn every_vector_parses_and_round_trips() {
    let mut count = 0;
    for dir in ["real", "rfc4317"] {
        for path in files(dir) {
            let bytes = std::fs::read(&path).unwrap();
            let name = path.display();
            let sdp = Sdp::parse_with(bytes.clone(), &ParseOptions::lenient())
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            // Strictly parsed input writes back byte for byte.
            if let Ok(strict) = Sdp::parse(bytes.clone()) {
                assert_eq!(strict.to_bytes(), bytes.as_slice(), "{name}");
            }
            // The canonical form of every vector (CRLF; RFC 4317 prints s= empty) parses
            // strictly and round-trips byte for byte, to the same model as the original.
            let canon = canonical(&bytes);
            let opts = ParseOptions {
                allow_empty_session_name: true,
                ..ParseOptions::strict()
            };
            let strict =
                Sdp::parse_with(canon.clone(), &opts).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(strict.to_bytes(), canon.as_slice(), "{name}");
            assert_eq!(strict, sdp, "{name}");
            // What we write parses back to the same model.
            assert_eq!(
                Sdp::parse_with(sdp.to_bytes(), &opts).unwrap(),
                sdp,
                "{name}"
            );
            count += 1;
        }
    }
    assert_eq!(count, 12 + 54);
}

#[test]
fn line_ending_deviations_need_the_lenient_switches() {
    let asterisk = std::fs::read(data_dir().join("real/asterisk_chan_sip_offer.sdp")).unwrap();
    let err = Sdp::parse(asterisk).unwrap_err();
    assert_eq!((err.line, err.kind), (1, Some('v')));
    assert_eq!(err.to_string(), "line 1 (v=): line ends with LF, not CRLF");
    let baresip = std::fs::read(data_dir().join("real/baresip_3.24_offer.sdp")).unwrap();
    let opts = ParseOptions {
        allow_lf_line_endings: true,
        ..ParseOptions::strict()
    };
    let err = Sdp::parse_with(baresip, &opts).unwrap_err();
    assert_eq!(err.to_string(), "line 35: empty line");
    let rfc = std::fs::read(data_dir().join("rfc4317/2.1-offer.sdp")).unwrap();
    assert_eq!(
        Sdp::parse(rfc).unwrap_err().to_string(),
        "line 3 (s=): empty session name"
    );
}

/// What telox answers to each real offer with every codec and optional SRTP: send codec
/// name and payload type, telephone-event payload type, SRTP suite; or the failure.
#[test]
fn telox_answers_every_real_offer() {
    type Expect = Result<(&'static str, u8, Option<u8>, Option<SrtpSuite>), &'static str>;
    let table: [(&str, Expect); 12] = [
        (
            "asterisk_chan_sip_offer.sdp",
            Ok(("PCMU", 0, Some(101), None)),
        ),
        ("baresip_3.24_offer.sdp", Ok(("PCMU", 0, Some(101), None))),
        (
            "chrome_jssip_offer.sdp",
            Ok(("opus", 111, Some(126), Some(SrtpSuite::AesCm128HmacSha1_80))),
        ),
        (
            "chrome_planb_audio_video_offer.sdp",
            Err("no acceptable crypto"),
        ),
        (
            "counterpath_eyebeam15.sdp",
            Ok(("PCMU", 0, Some(101), None)),
        ),
        ("ekiga_3.0.sdp", Ok(("PCMU", 0, Some(101), None))),
        (
            "firefox_152_simulcast_offer.sdp",
            Err("no acceptable crypto"),
        ),
        ("freeswitch_1.0rc1.sdp", Ok(("PCMA", 8, Some(99), None))),
        ("lg_ip_phone.sdp", Ok(("PCMU", 0, Some(101), None))),
        (
            "linphone_style_talk_rtcpxr.sdp",
            Ok(("opus", 96, Some(101), None)),
        ),
        (
            "polycom_ip_phone.sdp",
            Ok(("PCMU", 0, Some(96), Some(SrtpSuite::AesCm128HmacSha1_80))),
        ),
        ("safari_offer.sdp", Err("no acceptable crypto")),
    ];
    for (file, expect) in table {
        let offer = lenient("real", file);
        let mut session = telox(ALL, SrtpPolicy::Optional);
        let result = session.handle_offer(&offer, &mut ChaCha8Rng::seed_from_u64(1));
        match (expect, result) {
            (Ok((codec, pt, te, suite)), Ok(answer)) => {
                let audio = &session.streams()[0];
                assert_eq!(audio.send_codec.name, codec, "{file}");
                assert_eq!(audio.send_codec.send_payload_type, pt, "{file}");
                assert_eq!(audio.send_codec.recv_payload_type, pt, "{file}");
                assert_eq!(
                    audio.telephone_event.map(|t| t.send_payload_type),
                    te,
                    "{file}"
                );
                assert_eq!(audio.crypto.as_ref().map(|c| c.suite), suite, "{file}");
                assert_eq!(audio.remote_port, offer.media[audio.index].port, "{file}");
                // Only the audio stream is accepted; the others are rejected with port 0.
                assert_eq!(session.streams().len(), 1, "{file}");
                assert_eq!(session.rejected().len(), offer.media.len() - 1, "{file}");
                // The answer is strict, canonical SDP, and the peer sees the mirror image.
                let bytes = answer.to_bytes();
                assert_eq!(Sdp::parse(bytes.clone()).unwrap(), answer, "{file}");
                let peer = negotiate(&offer, &answer, Role::Offerer).unwrap();
                let theirs = &peer.streams[0];
                assert_eq!(theirs.send_codec.send_payload_type, pt, "{file}");
                assert_eq!(
                    theirs.remote_rtp,
                    Some("203.0.113.5:40000".parse().unwrap())
                );
                if let (Some(ours), Some(their)) = (&audio.crypto, &theirs.crypto) {
                    assert_eq!(ours.local_key, their.remote_key, "{file}");
                    assert_eq!(ours.remote_key, their.local_key, "{file}");
                }
            }
            (Err(reason), Err(e)) => {
                assert!(e.to_string().starts_with(reason), "{file}: {e}");
                assert_eq!(e.sip_status(), 488);
            }
            (expect, got) => panic!("{file}: expected {expect:?}, got {got:?}"),
        }
    }
}

#[test]
fn codec_preference_and_srtp_policy_change_the_answer() {
    let polycom = lenient("real", "polycom_ip_phone.sdp");
    // Our preference order decides among the offered codecs.
    let mut s = telox("g722,pcma", SrtpPolicy::Disabled);
    let answer = s
        .handle_offer(&polycom, &mut ChaCha8Rng::seed_from_u64(1))
        .unwrap();
    assert_eq!(s.streams()[0].send_codec.name, "G722");
    assert_eq!(s.streams()[0].send_codec.sample_rate(), 16000);
    assert_eq!(answer.media[0].format_list, "9 8");
    assert!(answer.media[0].attribute("crypto").is_none());
    assert!(s.streams()[0].crypto.is_none());
    // SRTP required: Polycom's best-effort RTP/AVP crypto line is taken.
    let mut s = telox("pcmu", SrtpPolicy::Required);
    s.handle_offer(&polycom, &mut ChaCha8Rng::seed_from_u64(1))
        .unwrap();
    assert_eq!(s.streams()[0].crypto.as_ref().unwrap().tag, 1);
    // SRTP required but Asterisk offers none.
    let asterisk = lenient("real", "asterisk_chan_sip_offer.sdp");
    let mut s = telox("pcmu", SrtpPolicy::Required);
    let e = s
        .handle_offer(&asterisk, &mut ChaCha8Rng::seed_from_u64(1))
        .unwrap_err();
    assert_eq!(
        e,
        NegotiationError::NoAcceptableCrypto("no a=crypto offered".to_owned())
    );
    // No codec in common names both lists.
    let mut s = telox("opus", SrtpPolicy::Disabled);
    let e = s
        .handle_offer(&asterisk, &mut ChaCha8Rng::seed_from_u64(1))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "no common codec: offered PCMU/8000,GSM/8000,PCMA/8000,telephone-event/8000, \
         supported opus/48000"
    );
}

#[test]
fn linphone_opus_gets_the_48000_telephone_event_and_fec() {
    let offer = lenient("real", "linphone_style_talk_rtcpxr.sdp");
    let mut s = telox("opus,telephone-event", SrtpPolicy::Disabled);
    s.handle_offer(&offer, &mut ChaCha8Rng::seed_from_u64(1))
        .unwrap();
    let audio = &s.streams()[0];
    assert_eq!(audio.telephone_event.unwrap().clock_rate, 48000);
    assert_eq!(audio.telephone_event.unwrap().events.to_fmtp(), "0-15");
    let opus = audio.send_codec.opus.unwrap();
    assert!(opus.use_inband_fec);
    assert!(!opus.stereo);
}

#[test]
fn chrome_jssip_rtcp_and_strongest_suite() {
    let offer = lenient("real", "chrome_jssip_offer.sdp");
    let mut s = telox("opus,pcmu", SrtpPolicy::Required);
    let answer = s
        .handle_offer(&offer, &mut ChaCha8Rng::seed_from_u64(1))
        .unwrap();
    let audio = &s.streams()[0];
    // Offered _32 with tag 0 and _80 with tag 1: the stronger one wins.
    assert_eq!(audio.crypto.as_ref().unwrap().tag, 1);
    assert_eq!(
        audio.remote_rtp,
        Some("193.84.77.194:60017".parse().unwrap())
    );
    // We did not enable rtcp-mux, so RTCP goes where a=rtcp says (RFC 3605).
    assert!(!audio.rtcp_mux);
    assert_eq!(
        audio.remote_rtcp,
        Some("193.84.77.194:60017".parse().unwrap())
    );
    assert_eq!(audio.max_ptime, Some(60));
    assert_eq!(answer.media[0].protocol.as_str(), "RTP/SAVPF");
    assert_eq!(answer.media[0].mid(), Some("audio"));
}

/// RFC 4317: every offer/answer pair negotiates from Alice's side as the RFC describes.
#[test]
fn rfc4317_pairs_negotiate() {
    let mut pairs = 0;
    for path in files("rfc4317") {
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let Some(stem) = name.strip_suffix(".sdp") else {
            continue;
        };
        if !stem.contains("offer") {
            continue;
        }
        let offer = lenient("rfc4317", &name);
        let answer = lenient("rfc4317", &stem.replace("offer", "answer").add_sdp());
        let ours =
            negotiate(&offer, &answer, Role::Offerer).unwrap_or_else(|e| panic!("{name}: {e}"));
        let theirs = negotiate(&offer, &answer, Role::Answerer).unwrap();
        assert_eq!(ours.streams.len(), theirs.streams.len(), "{name}");
        for (a, b) in ours.streams.iter().zip(&theirs.streams) {
            assert_eq!(
                a.send_codec.send_payload_type, b.send_codec.recv_payload_type,
                "{name}"
            );
            assert_eq!(a.direction, b.direction.reversed(), "{name}");
        }
        pairs += 1;
    }
    assert_eq!(pairs, 27);

    // 2.1: audio PCMU and video MPV both flow.
    let o = negotiate(
        &lenient("rfc4317", "2.1-offer.sdp"),
        &lenient("rfc4317", "2.1-answer.sdp"),
        Role::Offerer,
    )
    .unwrap();
    assert_eq!(o.streams.len(), 2);
    assert_eq!(o.streams[0].send_codec.name, "PCMU");
    assert_eq!(o.streams[1].send_codec.name, "MPV");
    assert_eq!(o.streams[0].remote_host, "host.biloxi.example.com");
    assert_eq!(
        o.streams[0].remote_rtp, None,
        "a host name is not resolved here"
    );
    // 2.2 second exchange: video disabled with port 0.
    let o = negotiate(
        &lenient("rfc4317", "2.2-offer-2.sdp"),
        &lenient("rfc4317", "2.2-answer-2.sdp"),
        Role::Offerer,
    )
    .unwrap();
    assert_eq!((o.streams.len(), o.rejected.len()), (1, 1));
    assert_eq!(o.rejected[0].reason, "port 0 in the offer");
    // 3.1: Bob answers sendonly, so Alice only receives.
    let o = negotiate(
        &lenient("rfc4317", "3.1-offer.sdp"),
        &lenient("rfc4317", "3.1-answer.sdp"),
        Role::Offerer,
    )
    .unwrap();
    assert_eq!(o.streams[0].direction, Direction::RecvOnly);
    assert_eq!(o.streams[0].send_codec.name, "iLBC");
    assert_eq!(o.streams[0].send_codec.send_payload_type, 97);
}

trait AddSdp {
    fn add_sdp(&self) -> String;
}

impl AddSdp for String {
    fn add_sdp(&self) -> String {
        format!("{self}.sdp")
    }
}

#[test]
fn rfc4317_offers_are_answered_by_telox() {
    // Alice's PCMU/PCMA/iLBC offer; telox has PCMA only.
    let offer = lenient("rfc4317", "2.1-offer.sdp");
    let mut s = telox("pcma,telephone-event", SrtpPolicy::Disabled);
    let answer = s
        .handle_offer(&offer, &mut ChaCha8Rng::seed_from_u64(1))
        .unwrap();
    assert_eq!(answer.media[0].format_list, "8");
    assert_eq!(answer.media[1].port, 0, "no local video: rejected");
    assert_eq!(s.streams()[0].send_codec.name, "PCMA");
    assert!(
        s.streams()[0].telephone_event.is_none(),
        "Alice offers no telephone-event"
    );
    // 2.6 offers two audio streams; telox has one: the second is rejected with port 0.
    let offer = lenient("rfc4317", "2.6-offer.sdp");
    let mut s = telox("pcmu,telephone-event", SrtpPolicy::Disabled);
    let answer = s
        .handle_offer(&offer, &mut ChaCha8Rng::seed_from_u64(1))
        .unwrap();
    assert_eq!((answer.media[0].port, answer.media[1].port), (40000, 0));
    assert_eq!(s.rejected()[0].index, 1);
    // Ekiga offers events 0-16,32,36; we support 0-16: the answer lists the intersection.
    let offer = lenient("real", "ekiga_3.0.sdp");
    let answer = s
        .handle_offer(&offer, &mut ChaCha8Rng::seed_from_u64(1))
        .unwrap_err();
    assert!(
        matches!(answer, NegotiationError::BadOffer(_)),
        "one m-line where the session has two"
    );
    let mut s = telox("pcmu,telephone-event", SrtpPolicy::Disabled);
    let answer = s
        .handle_offer(&offer, &mut ChaCha8Rng::seed_from_u64(1))
        .unwrap();
    assert_eq!(answer.media[0].fmtp("101"), Some("0-16"));
    assert_eq!(
        s.streams()[0].telephone_event.unwrap().events.to_fmtp(),
        "0-16"
    );
}

/// A description in the shape a vendor sends (tests/data/vendor-style, see
/// tests/data/README.md): it parses strictly and writes back byte for byte.
fn vendor_style(name: &str) -> Sdp {
    let bytes = std::fs::read(data_dir().join("vendor-style").join(name)).unwrap();
    let sdp = Sdp::parse(bytes.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(sdp.to_bytes(), bytes.as_slice(), "{name}: not byte-exact");
    sdp
}

#[test]
fn every_vendor_style_file_parses_strictly_and_round_trips() {
    let names: Vec<_> = files("vendor-style")
        .iter()
        .map(|p| p.file_name().unwrap().to_str().unwrap().to_owned())
        .collect();
    for name in &names {
        vendor_style(name);
    }
    assert_eq!(names.len(), 10);
}

/// (file, send codec and payload type, telephone-event payload type, RTCP port (a=rtcp, or
/// RTP + 1), suite)
#[test]
fn telox_answers_every_vendor_style_offer() {
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
        let offer = vendor_style(file);
        let mut session = telox(ALL, SrtpPolicy::Optional);
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
    let offer = vendor_style("avaya_sm_invite.sdp");
    let mut session = telox(ALL, SrtpPolicy::Required);
    session
        .handle_offer(&offer, &mut ChaCha8Rng::seed_from_u64(1))
        .unwrap();
    let crypto = session.streams()[0].crypto.clone().unwrap();
    let mki = crypto.remote_key.mki.unwrap();
    assert_eq!((mki.value, mki.length), (1, 4));
    assert_eq!(crypto.remote_key.key_salt.len(), 30);
    // Teams offers two keys for the same suite: the first (tag 2) is taken.
    let offer = vendor_style("teams_direct_routing_invite.sdp");
    let mut session = telox(ALL, SrtpPolicy::Required);
    session
        .handle_offer(&offer, &mut ChaCha8Rng::seed_from_u64(1))
        .unwrap();
    assert_eq!(session.streams()[0].crypto.as_ref().unwrap().tag, 2);
}

#[test]
fn a_freeswitch_183_answers_a_telox_offer() {
    // The 183's description as the answer to a PCMU offer on port 40000 from telox.
    let answer = vendor_style("freeswitch_183.sdp");
    let mut session = telox(ALL, SrtpPolicy::Disabled);
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

#[test]
fn teams_media_bypass_ice_rtcp_mux_and_keys_with_lifetime_and_mki() {
    let offer = vendor_style("teams_media_bypass_ice_rtcp_mux.sdp");
    assert_eq!(
        offer.attribute("x-devicecaps"),
        Some("audio:send,recv;video:send,recv")
    );
    let audio = &offer.media[0];
    assert!(audio.rtcp_mux());
    assert_eq!(audio.rtcp().map(|r| r.port), Some(50010));
    assert_eq!(
        audio.ice_credentials(),
        Some(("Ct9h", "p1dv2J7xfVzG9hWcU0m8Tq4K"))
    );
    assert_eq!(audio.candidates().count(), 4);
    assert!(audio.candidates().nth(2).unwrap().contains(" tcp-pass "));
    assert_eq!(audio.attributes_named("x-candidate-ipv6").count(), 1);
    assert_eq!(audio.attribute("label"), Some("main-audio"));
    let keys: Vec<_> = audio.cryptos().collect();
    assert_eq!(keys.len(), 2);
    assert_eq!((keys[0].tag, keys[1].tag), (2, 3));
    assert_eq!(audio.rtpmap(117).map(|r| r.channels), Some(Some(2)));
    assert_eq!(audio.ptime(), Some(20));
    assert_eq!(audio.maxptime(), Some(200));
    // telox answers PCMU with the first key, and sends RTCP to the RTP port (a=rtcp says so).
    let mut session = telox(ALL, SrtpPolicy::Optional);
    session
        .handle_offer(&offer, &mut ChaCha8Rng::seed_from_u64(1))
        .unwrap();
    let stream = &session.streams()[0];
    assert_eq!(stream.send_codec.name, "PCMU");
    assert_eq!(stream.crypto.as_ref().map(|c| c.tag), Some(2));
    assert_eq!(stream.remote_rtp, stream.remote_rtcp);
}

#[test]
fn a_stereo_g722_is_not_telox_mono_g722() {
    let offer = vendor_style("teams_media_bypass_ice_rtcp_mux.sdp");
    let mut session = telox(ALL, SrtpPolicy::Optional);
    let answer = session
        .handle_offer(&offer, &mut ChaCha8Rng::seed_from_u64(1))
        .unwrap();
    let formats: Vec<&str> = answer.media[0].formats().collect();
    assert!(formats.contains(&"9"), "{formats:?}");
    assert!(!formats.contains(&"117"), "{formats:?}");
}

#[test]
fn webrtc_gateway_offer_fields() {
    let offer = vendor_style("webrtc_gateway_offer.sdp");
    let groups: Vec<_> = offer.groups().collect();
    assert_eq!(groups.len(), 1);
    assert_eq!(
        offer.attribute("msid-semantic"),
        Some(" WMS 3b5f8a2c-7e1d-4c9a-b0f2-6d8e4a1c3f57")
    );
    let audio = &offer.media[0];
    assert_eq!(audio.port, 9);
    assert!(audio.protocol.is_dtls() && audio.protocol.is_feedback());
    assert_eq!(audio.mid(), Some("0"));
    assert!(audio.rtcp_mux() && audio.has_attribute("rtcp-rsize"));
    assert!(audio.fingerprint().is_some());
    assert!(audio.setup().is_some());
    assert_eq!(audio.attributes_named("extmap").count(), 4);
    assert_eq!(
        audio.attributes_named("rtcp-fb").next(),
        Some("111 transport-cc")
    );
    assert_eq!(audio.ssrcs().count(), 2);
    assert_eq!(audio.fmtp("111"), Some("minptime=10;useinbandfec=1"));
    assert_eq!(audio.rtpmap(110).map(|r| r.clock_rate), Some(48000));
    // DTLS-SRTP is not telox's keying (SDES only): refused, not misread.
    let mut session = telox(ALL, SrtpPolicy::Optional);
    let err = session
        .handle_offer(&offer, &mut ChaCha8Rng::seed_from_u64(1))
        .unwrap_err();
    assert!(err.to_string().contains("DTLS"), "{err}");
}

#[test]
fn cisco_x_cap_lines_are_kept_and_ignored() {
    let offer = vendor_style("cisco_cube_xcap_t38.sdp");
    let audio = &offer.media[0];
    assert_eq!(audio.attributes_named("X-cap").count(), 2);
    assert_eq!(
        audio.attributes_named("X-cpar").next(),
        Some(" a=rtpmap:100 X-NSE/8000")
    );
    assert_eq!(audio.attribute("X-sqn"), Some("0"));
    let tias = audio
        .extra()
        .bandwidths
        .iter()
        .find(|b| b.kind.as_str() == "TIAS");
    assert_eq!(tias.map(|b| b.value), Some(64000));
    assert_eq!((audio.ptime(), audio.maxptime()), (Some(20), Some(40)));
    let mut session = telox(ALL, SrtpPolicy::Optional);
    let answer = session
        .handle_offer(&offer, &mut ChaCha8Rng::seed_from_u64(1))
        .unwrap();
    let stream = &session.streams()[0];
    assert_eq!(stream.send_codec.send_payload_type, 0);
    assert_eq!(
        stream.telephone_event.map(|t| t.send_payload_type),
        Some(101)
    );
    assert_eq!(stream.remote_rtcp.map(|a| a.port()), Some(17509));
    assert!(!answer.to_bytes().windows(5).any(|w| w == b"X-cap"));
}

#[test]
fn t38_reinvite_with_the_audio_declined() {
    let offer = vendor_style("avaya_t38_reinvite.sdp");
    assert_eq!(offer.media.len(), 2);
    assert_eq!(offer.media[0].port, 0);
    let image = &offer.media[1];
    assert_eq!(image.kind, telox_sdp::MediaKind::Image);
    assert_eq!(image.protocol, telox_sdp::Protocol::Udptl);
    assert_eq!(image.formats().collect::<Vec<_>>(), ["t38"]);
    assert_eq!(image.attribute("T38FaxMaxDatagram"), Some("72"));
    assert_eq!(image.attribute("T38FaxUdpEC"), Some("t38UDPRedundancy"));
    assert!(image.has_attribute("T38FaxVersion"));
    // No fax here and no audio left: nothing to answer (the UA answers 488).
    let mut session = telox(ALL, SrtpPolicy::Optional);
    assert!(
        session
            .handle_offer(&offer, &mut ChaCha8Rng::seed_from_u64(1))
            .is_err()
    );
}

#[test]
fn ipv6_connection_per_media_and_a_declined_video() {
    let offer = vendor_style("carrier_media_level_connection_ipv6.sdp");
    assert!(offer.connection.is_none());
    let audio = &offer.media[0];
    assert_eq!(
        audio.effective_connection(&offer).and_then(|c| c.ip()),
        Some("2001:db8:c0::10".parse().unwrap())
    );
    let rtcp = audio.rtcp().unwrap();
    assert_eq!(
        (rtcp.port, rtcp.address.as_deref()),
        (26001, Some("2001:db8:c0::11"))
    );
    assert_eq!(audio.extra().bandwidths.len(), 2);
    assert_eq!(offer.media[1].port, 0);
    let mut session = telox(ALL, SrtpPolicy::Optional);
    let answer = session
        .handle_offer(&offer, &mut ChaCha8Rng::seed_from_u64(1))
        .unwrap();
    let stream = &session.streams()[0];
    assert_eq!(
        stream.remote_rtp,
        Some("[2001:db8:c0::10]:26000".parse().unwrap())
    );
    assert_eq!(
        stream.remote_rtcp,
        Some("[2001:db8:c0::11]:26001".parse().unwrap())
    );
    // The declined video stays declined, in its place (RFC 3264 §6).
    assert_eq!(answer.media.len(), 2);
    assert_eq!(answer.media[1].port, 0);
}
