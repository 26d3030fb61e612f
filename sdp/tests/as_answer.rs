//! Every real SDP in tests/data processed as the ANSWER to a telox offer: telox offers
//! audio, the peer's description comes back, and the negotiated stream is checked field by
//! field. Descriptions with more m-lines than telox offers, or with two `a=crypto` lines,
//! are used in the adapted copies of `tests/data/as-answer/` (tests/data/README.md lists
//! each change); the others are used as they are.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use telox_sdp::{
    Codec, Direction, MediaCapabilities, NegotiatedStream, NegotiationError, OfferAnswer,
    ParseOptions, Sdp, SessionConfig, SrtpPolicy, SrtpSuite,
};

fn data(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let adapted = dir.join("as-answer").join(name);
    if adapted.exists() {
        adapted
    } else {
        dir.join("real").join(name)
    }
}

fn answer(name: &str) -> Sdp {
    let bytes = std::fs::read(data(name)).unwrap();
    Sdp::parse_with(bytes, &ParseOptions::lenient()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// telox's offer: opus, G.722, PCMU, PCMA and telephone-event on 203.0.113.5:40000, rtcp-mux,
/// ptime 30 (so that an answer without `a=ptime` shows), best-effort SDES with the two
/// AES-CM-128 suites (tags 1 and 2, the tags real phones use for them).
fn telox_offerer(direction: Direction) -> (OfferAnswer, Sdp) {
    let mut caps = MediaCapabilities::audio(
        40000,
        vec![
            Codec::opus(),
            Codec::g722(),
            Codec::pcmu(),
            Codec::pcma(),
            Codec::telephone_event(),
        ],
    )
    .with_srtp(SrtpPolicy::Optional)
    .with_rtcp_mux();
    caps.ptime = Some(30);
    caps.srtp_suites = vec![
        SrtpSuite::AesCm128HmacSha1_80,
        SrtpSuite::AesCm128HmacSha1_32,
    ];
    caps.direction = direction;
    let config = SessionConfig::new("203.0.113.5".parse().unwrap(), caps);
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let mut session = OfferAnswer::new(config, &mut rng);
    let offer = session.create_offer(&mut rng).unwrap();
    (session, offer)
}

/// What one real answer must negotiate to, from telox's (the offerer's) side.
struct Expect {
    file: &'static str,
    rtp: &'static str,
    rtcp: &'static str,
    rtcp_mux: bool,
    /// Send codec name, the peer's payload type (we send with it), ours (we receive it).
    codec: (&'static str, u8, u8),
    ptime: u32,
    max_ptime: Option<u32>,
    /// telephone-event payload types: (send = the peer's, receive = ours).
    telephone_event: Option<(u8, u8)>,
    /// SDES suite, accepted tag and the peer's inline key as written in the file.
    crypto: Option<(SrtpSuite, u32, &'static str)>,
}

const fn plain(
    file: &'static str,
    rtp: &'static str,
    rtcp: &'static str,
    codec: (&'static str, u8, u8),
    ptime: u32,
    telephone_event: Option<(u8, u8)>,
) -> Expect {
    Expect {
        file,
        rtp,
        rtcp,
        rtcp_mux: false,
        codec,
        ptime,
        max_ptime: None,
        telephone_event,
        crypto: None,
    }
}

fn expectations() -> Vec<Expect> {
    vec![
        // a=ptime:20 of the answer wins over our 30; GSM is skipped (not offered).
        plain(
            "asterisk_chan_sip_offer.sdp",
            "192.168.1.11:14390",
            "192.168.1.11:14391",
            ("PCMU", 0, 0),
            20,
            Some((101, 101)),
        ),
        // Its first codec G.722 (RTP clock 8000) is ours too; rtcp-rsize is no rtcp-mux.
        plain(
            "baresip_3.24_offer.sdp",
            "192.168.1.1:7574",
            "192.168.1.1:7575",
            ("G722", 9, 9),
            20,
            Some((101, 101)),
        ),
        // rtcp-mux on both sides: RTCP goes to the RTP address, not to a=rtcp. SRTP with the
        // tag-1 suite; ISAC and CN are not offered; a=maxptime:60 is the peer's.
        Expect {
            max_ptime: Some(60),
            rtcp_mux: true,
            crypto: Some((
                SrtpSuite::AesCm128HmacSha1_80,
                1,
                "ayId2M5kCitGTEEI9OjgEqatTA0IXGpQhFjmKOGk",
            )),
            ..plain(
                "chrome_jssip_offer.sdp",
                "193.84.77.194:60017",
                "193.84.77.194:60017",
                ("opus", 111, 111),
                30,
                Some((126, 101)),
            )
        },
        // BV32 and iLBC are not offered: PCMU is the first common codec. No a=ptime: ours.
        plain(
            "counterpath_eyebeam15.sdp",
            "84.209.220.122:24484",
            "84.209.220.122:24485",
            ("PCMU", 0, 0),
            30,
            Some((101, 101)),
        ),
        // CELT is not offered; G.722 written with "/1" channels matches ours.
        plain(
            "ekiga_3.0.sdp",
            "192.168.1.55:5062",
            "192.168.1.55:5063",
            ("G722", 9, 9),
            30,
            Some((101, 101)),
        ),
        // Session-level c= and a=sendrecv; the peer's telephone-event is 99, ours 101.
        plain(
            "freeswitch_1.0rc1.sdp",
            "1.2.3.4:16610",
            "1.2.3.4:16611",
            ("PCMA", 8, 8),
            20,
            Some((99, 101)),
        ),
        // Media-level c= (same address as the session one).
        plain(
            "lg_ip_phone.sdp",
            "85.112.135.82:17412",
            "85.112.135.82:17413",
            ("G722", 9, 9),
            20,
            Some((101, 101)),
        ),
        // Opus under the peer's number 96 (we receive it as our 111). Its telephone-event
        // runs at 48000 Hz, which we did not offer (we offer 8000): no DTMF.
        plain(
            "linphone_style_talk_rtcpxr.sdp",
            "127.0.0.1:7777",
            "127.0.0.1:7778",
            ("opus", 96, 111),
            30,
            None,
        ),
        // SDES on RTP/AVP with tag 1; telephone-event 96 for the peer, 101 for us.
        Expect {
            crypto: Some((
                SrtpSuite::AesCm128HmacSha1_80,
                1,
                "tMuyik1Aiiq9p4DQVHhAASSWDEP7K7wo0cICOn39",
            )),
            ..plain(
                "polycom_ip_phone.sdp",
                "192.168.9.74:49200",
                "192.168.9.74:49201",
                ("PCMA", 8, 8),
                30,
                Some((96, 101)),
            )
        },
    ]
}

fn check(e: &Expect, s: &NegotiatedStream, our_offer: &Sdp) {
    let file = e.file;
    let addr = |a: &str| Some(a.parse::<SocketAddr>().unwrap());
    assert_eq!(s.index, 0, "{file}");
    assert_eq!(s.local_port, 40000, "{file}");
    assert_eq!(s.remote_rtp, addr(e.rtp), "{file}");
    assert_eq!(s.remote_port, addr(e.rtp).unwrap().port(), "{file}");
    assert_eq!(
        s.remote_host,
        addr(e.rtp).unwrap().ip().to_string(),
        "{file}"
    );
    assert_eq!(s.remote_rtcp, addr(e.rtcp), "{file}");
    assert_eq!(s.rtcp_mux, e.rtcp_mux, "{file}");
    let (name, send, recv) = e.codec;
    assert_eq!(s.send_codec.name, name, "{file}");
    assert_eq!(s.send_codec.send_payload_type, send, "{file}");
    assert_eq!(s.send_codec.recv_payload_type, recv, "{file}");
    // Every codec listed is one we offered, with our number to receive it.
    for c in &s.codecs {
        let ours = our_offer.media[0].rtpmap(c.recv_payload_type).unwrap();
        assert!(ours.encoding.eq_ignore_ascii_case(&c.name), "{file}: {c:?}");
        assert_eq!(ours.clock_rate, c.clock_rate, "{file}");
    }
    assert_eq!(s.ptime, e.ptime, "{file}");
    assert_eq!(s.max_ptime, e.max_ptime, "{file}");
    assert_eq!(s.direction, Direction::SendRecv, "{file}");
    assert_eq!(
        s.telephone_event
            .map(|t| (t.send_payload_type, t.recv_payload_type)),
        e.telephone_event,
        "{file}"
    );
    match (&e.crypto, &s.crypto) {
        (None, None) => {}
        (Some((suite, tag, key)), Some(c)) => {
            assert_eq!((c.suite, c.tag), (*suite, *tag), "{file}");
            let written = base64::engine::general_purpose::STANDARD
                .decode(key)
                .unwrap();
            assert_eq!(c.remote_key.key_salt, written, "{file}");
            // Our key is the one our offer carried under that tag.
            let offered = our_offer.media[0]
                .cryptos()
                .find(|o| o.tag == *tag)
                .unwrap();
            assert_eq!(c.local_key, offered.keys[0], "{file}");
            assert_ne!(c.local_key, c.remote_key, "{file}");
        }
        (want, got) => panic!("{file}: crypto expected {want:?}, got {got:?}"),
    }
}

#[test]
fn every_sip_peers_description_is_accepted_as_the_answer_to_a_telox_offer() {
    let table = expectations();
    assert_eq!(table.len(), 9);
    for e in &table {
        let (mut session, offer) = telox_offerer(Direction::SendRecv);
        let answer = answer(e.file);
        let streams = session
            .handle_answer(&answer)
            .unwrap_or_else(|err| panic!("{}: {err}", e.file))
            .to_vec();
        assert_eq!(streams.len(), 1, "{}", e.file);
        check(e, &streams[0], &offer);
        assert!(session.rejected().is_empty(), "{}", e.file);
        assert_eq!(session.remote_description(), Some(&answer), "{}", e.file);
        assert!(!session.has_pending_offer());
    }
}

#[test]
fn on_hold_telox_only_sends_whatever_the_real_answer_says() {
    // RFC 3264 §8.4: we offered sendonly; a peer answering sendrecv still only receives.
    for e in &expectations() {
        let (mut session, _) = telox_offerer(Direction::SendOnly);
        let streams = session.handle_answer(&answer(e.file)).unwrap();
        assert_eq!(streams[0].direction, Direction::SendOnly, "{}", e.file);
        assert!(streams[0].is_sending(), "{}", e.file);
    }
}

#[test]
fn webrtc_answers_need_dtls_srtp_and_are_refused() {
    // Browsers key SRTP with DTLS only (UDP/TLS/RTP/SAVPF, no a=crypto): accepting their
    // answer to our RTP/AVP offer would send plain RTP to a peer that drops it.
    for file in [
        "chrome_planb_audio_video_offer.sdp",
        "firefox_152_simulcast_offer.sdp",
        "safari_offer.sdp",
    ] {
        let (mut session, _) = telox_offerer(Direction::SendRecv);
        let err = session.handle_answer(&answer(file)).unwrap_err();
        assert!(
            matches!(&err, NegotiationError::NoAcceptableCrypto(r) if r.contains("DTLS")),
            "{file}: {err}"
        );
        assert!(session.streams().is_empty(), "{file}");
        assert!(!session.has_pending_offer(), "{file}");
    }
}

#[test]
fn every_real_description_is_covered_as_an_answer() {
    // The 9 SIP answers above plus the 3 WebRTC ones: all 12 real descriptions.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/real");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".sdp"))
        .collect();
    names.sort();
    let mut covered: Vec<String> = expectations()
        .iter()
        .map(|e| e.file.to_owned())
        .chain(
            [
                "chrome_planb_audio_video_offer.sdp",
                "firefox_152_simulcast_offer.sdp",
                "safari_offer.sdp",
            ]
            .map(str::to_owned),
        )
        .collect();
    covered.sort();
    assert_eq!(names, covered);
}

#[test]
fn adapted_copies_only_drop_lines_of_the_originals() {
    // tests/data/as-answer/ holds copies with m-sections (or a second a=crypto) removed and
    // nothing else changed: every line is the original's, in the original order.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut count = 0;
    for entry in std::fs::read_dir(dir.join("as-answer")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "sdp") {
            continue;
        }
        let name = path.file_name().unwrap().to_owned();
        let adapted = std::fs::read(&path).unwrap();
        let original = std::fs::read(dir.join("real").join(&name)).unwrap();
        let lines = |b: &[u8]| -> Vec<Vec<u8>> {
            b.split_inclusive(|c| *c == b'\n')
                .map(<[u8]>::to_vec)
                .collect()
        };
        let mut orig = lines(&original).into_iter();
        for line in lines(&adapted) {
            assert!(
                orig.any(|o| o == line),
                "{name:?}: {:?}",
                String::from_utf8_lossy(&line)
            );
        }
        assert!(adapted.len() < original.len(), "{name:?}");
        // Exactly one audio m-line is left: the one telox's offer mirrors.
        let sdp = Sdp::parse_with(adapted, &ParseOptions::lenient()).unwrap();
        assert_eq!(sdp.media.len(), 1, "{name:?}");
        assert_eq!(sdp.media[0].kind, telox_sdp::MediaKind::Audio, "{name:?}");
        count += 1;
    }
    assert_eq!(count, 8);
}

#[test]
fn a_secure_answer_without_crypto_to_a_best_effort_offer_is_refused() {
    // Our Optional offer is RTP/AVP with a=crypto; an RTP/SAVP answer must pick one of them.
    let mut polycom = answer("polycom_ip_phone.sdp");
    polycom.media[0].protocol = telox_sdp::Protocol::RtpSavp;
    polycom.media[0].attributes.retain(|a| a.name != "crypto");
    let (mut session, _) = telox_offerer(Direction::SendRecv);
    let err = session.handle_answer(&polycom).unwrap_err();
    assert!(
        matches!(&err, NegotiationError::NoAcceptableCrypto(r) if r.contains("no a=crypto")),
        "{err}"
    );
    // The same answer as plain RTP/AVP is plain RTP.
    polycom.media[0].protocol = telox_sdp::Protocol::RtpAvp;
    let (mut session, _) = telox_offerer(Direction::SendRecv);
    assert!(session.handle_answer(&polycom).unwrap()[0].crypto.is_none());
}

#[test]
fn a_real_answer_with_a_changed_suite_or_a_short_key_is_refused() {
    let with_crypto = |value: &str| {
        let mut polycom = answer("polycom_ip_phone.sdp");
        polycom.media[0].attributes.retain(|a| a.name != "crypto");
        polycom.media[0].push_attribute(telox_sdp::Attribute::new("crypto", value));
        polycom
    };
    for (value, want) in [
        (
            "1 AES_CM_128_HMAC_SHA1_32 inline:tMuyik1Aiiq9p4DQVHhAASSWDEP7K7wo0cICOn39",
            "bad answer: a=crypto tag 1 changes suite AES_CM_128_HMAC_SHA1_80 to \
             AES_CM_128_HMAC_SHA1_32",
        ),
        (
            "1 AES_CM_128_HMAC_SHA1_80 inline:tMuyik1Aiiq9p4DQVHhAAA==",
            "no acceptable crypto: key length does not fit AES_CM_128_HMAC_SHA1_80",
        ),
        (
            "3 AES_CM_128_HMAC_SHA1_80 inline:tMuyik1Aiiq9p4DQVHhAASSWDEP7K7wo0cICOn39",
            "bad answer: a=crypto tag 3 was not offered",
        ),
    ] {
        let (mut session, _) = telox_offerer(Direction::SendRecv);
        let err = session.handle_answer(&with_crypto(value)).unwrap_err();
        assert_eq!(err.to_string(), want);
    }
    // Tag 2 is our AES_CM_128_HMAC_SHA1_32 line: accepted with that suite.
    let (mut session, offer) = telox_offerer(Direction::SendRecv);
    let streams = session
        .handle_answer(&with_crypto(
            "2 AES_CM_128_HMAC_SHA1_32 inline:tMuyik1Aiiq9p4DQVHhAASSWDEP7K7wo0cICOn39",
        ))
        .unwrap();
    let c = streams[0].crypto.as_ref().unwrap();
    assert_eq!((c.suite, c.tag), (SrtpSuite::AesCm128HmacSha1_32, 2));
    let ours = offer.media[0].cryptos().find(|o| o.tag == 2).unwrap();
    assert_eq!(c.local_key, ours.keys[0]);
}
