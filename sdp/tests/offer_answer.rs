//! RFC 3264 offer/answer scenarios between telox sessions and hand-written peers.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use telox_sdp::{
    Codec, Direction, MediaCapabilities, MediaKind, NegotiationError, OfferAnswer, Role, Sdp,
    SessionConfig, SrtpPolicy, SrtpSuite, negotiate,
};

fn rng() -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(42)
}

fn session(addr: &str, port: u16, codecs: Vec<Codec>) -> OfferAnswer {
    let caps = MediaCapabilities::audio(port, codecs);
    OfferAnswer::new(SessionConfig::new(addr.parse().unwrap(), caps), &mut rng())
}

fn alice() -> OfferAnswer {
    session(
        "192.0.2.1",
        4000,
        vec![Codec::opus(), Codec::pcmu(), Codec::telephone_event()],
    )
}

fn bob() -> OfferAnswer {
    session(
        "192.0.2.2",
        5000,
        vec![Codec::pcma(), Codec::pcmu(), Codec::telephone_event()],
    )
}

fn call(a: &mut OfferAnswer, b: &mut OfferAnswer) -> (Sdp, Sdp) {
    let offer = a.create_offer(&mut rng()).unwrap();
    let answer = b.handle_offer(&offer, &mut rng()).unwrap();
    a.handle_answer(&answer).unwrap();
    (offer, answer)
}

fn crlf(s: &str) -> Sdp {
    Sdp::parse(s.replace('\n', "\r\n")).unwrap()
}

#[test]
fn initial_exchange_gives_both_sides_mirrored_streams() {
    let (mut a, mut b) = (alice(), bob());
    let (offer, answer) = call(&mut a, &mut b);
    assert_eq!(offer.media[0].format_list, "111 0 101");
    assert_eq!(
        answer.media[0].format_list, "0 101",
        "bob lists his preference, alice's PTs"
    );
    let (sa, sb) = (&a.streams()[0], &b.streams()[0]);
    assert_eq!(sa.send_codec.name, "PCMU");
    assert_eq!(sb.send_codec.name, "PCMU");
    assert_eq!(sa.remote_rtp, Some("192.0.2.2:5000".parse().unwrap()));
    assert_eq!(sa.remote_rtcp, Some("192.0.2.2:5001".parse().unwrap()));
    assert_eq!(sb.remote_rtp, Some("192.0.2.1:4000".parse().unwrap()));
    assert_eq!(sa.direction, Direction::SendRecv);
    assert_eq!(sa.ptime, 20);
    let te = sa.telephone_event.unwrap();
    assert_eq!(
        (te.send_payload_type, te.recv_payload_type, te.clock_rate),
        (101, 101, 8000)
    );
    assert_eq!(te.events.to_fmtp(), "0-16");
    assert!(sa.crypto.is_none());
    assert!(sa.is_sending() && sb.is_sending());
}

#[test]
fn answerer_payload_numbers_may_differ() {
    let mut a = alice();
    let offer = a.create_offer(&mut rng()).unwrap();
    let v = offer.origin.session_version;
    // A peer that numbers opus 96 and telephone-event 100 in its answer.
    let answer = crlf(
        "v=0\no=peer 1 1 IN IP4 198.51.100.7\ns=-\nc=IN IP4 198.51.100.7\nt=0 0\n\
         m=audio 7000 RTP/AVP 96 100\na=rtpmap:96 opus/48000/2\n\
         a=fmtp:96 maxplaybackrate=16000;stereo=1;useinbandfec=1\n\
         a=rtpmap:100 telephone-event/48000\na=fmtp:100 0-15\na=ptime:40\n",
    );
    let streams = a.handle_answer(&answer).unwrap();
    let s = &streams[0];
    assert_eq!(s.send_codec.name, "opus");
    assert_eq!(
        (
            s.send_codec.send_payload_type,
            s.send_codec.recv_payload_type
        ),
        (96, 111)
    );
    let opus = s.send_codec.opus.unwrap();
    assert_eq!(opus.max_playback_rate, 16000);
    assert!(opus.stereo && opus.use_inband_fec);
    // We offered telephone-event at 8000 only; the peer's 48000 one does not match.
    assert!(s.telephone_event.is_none());
    assert_eq!(s.ptime, 40);
    assert_eq!(a.version(), v);
}

#[test]
fn unchanged_reoffers_keep_version_and_result() {
    let (mut a, mut b) = (alice(), bob());
    let (offer, answer) = call(&mut a, &mut b);
    let before = (a.streams().to_vec(), b.streams().to_vec());
    // RFC 3264 §8: a description that did not change keeps its version.
    let reoffer = a.create_offer(&mut rng()).unwrap();
    assert_eq!(reoffer, offer);
    let reanswer = b.handle_offer(&reoffer, &mut rng()).unwrap();
    assert_eq!(reanswer, answer);
    a.handle_answer(&reanswer).unwrap();
    assert_eq!((a.streams().to_vec(), b.streams().to_vec()), before);
    // The other direction: Bob re-offers what he has.
    let bob_offer = b.create_offer(&mut rng()).unwrap();
    assert_eq!(
        bob_offer.origin.session_version,
        answer.origin.session_version + 1,
        "bob's offer differs from his answer (all his codecs), so it is a new version"
    );
    let alice_answer = a.handle_offer(&bob_offer, &mut rng()).unwrap();
    b.handle_answer(&alice_answer).unwrap();
    assert_eq!(
        alice_answer.origin.session_version,
        offer.origin.session_version + 1
    );
    assert_eq!(a.streams()[0].send_codec.name, "PCMU");
}

#[test]
fn hold_and_resume_increment_the_version() {
    let (mut a, mut b) = (alice(), bob());
    let (offer, _) = call(&mut a, &mut b);
    let v0 = offer.origin.session_version;
    a.hold();
    let (hold, hold_answer) = call(&mut a, &mut b);
    assert_eq!(hold.origin.session_version, v0 + 1);
    assert_eq!(hold.media[0].direction(), Some(Direction::SendOnly));
    assert_eq!(hold_answer.media[0].direction(), Some(Direction::RecvOnly));
    assert_eq!(a.streams()[0].direction, Direction::SendOnly);
    assert_eq!(b.streams()[0].direction, Direction::RecvOnly);
    assert!(!b.streams()[0].is_sending());
    a.resume();
    let (resume, resume_answer) = call(&mut a, &mut b);
    assert_eq!(resume.origin.session_version, v0 + 2);
    assert_eq!(
        resume_answer.media[0].direction(),
        Some(Direction::SendRecv)
    );
    assert_eq!(b.streams()[0].direction, Direction::SendRecv);
    // Bob holds too: inactive when he only received.
    b.set_direction(0, Direction::RecvOnly).unwrap();
    call(&mut b, &mut a);
    assert_eq!(a.streams()[0].direction, Direction::SendOnly);
    b.hold();
    let (inactive, _) = call(&mut b, &mut a);
    assert_eq!(inactive.media[0].direction(), Some(Direction::Inactive));
    assert_eq!(a.streams()[0].direction, Direction::Inactive);
}

#[test]
fn old_style_hold_with_zero_address_is_understood() {
    let (mut a, mut b) = (alice(), bob());
    call(&mut a, &mut b);
    // An RFC 2543 phone holds with c=0.0.0.0 and no direction attribute (RFC 3264 §8.4).
    let hold = crlf(
        "v=0\no=old 1 2 IN IP4 192.0.2.2\ns=-\nc=IN IP4 0.0.0.0\nt=0 0\n\
         m=audio 5000 RTP/AVP 0 101\na=rtpmap:101 telephone-event/8000\n",
    );
    let answer = a.handle_offer(&hold, &mut rng()).unwrap();
    assert_eq!(answer.media[0].direction(), Some(Direction::RecvOnly));
    let s = &a.streams()[0];
    assert_eq!(s.remote_rtp, None);
    assert_eq!(s.remote_host, "0.0.0.0");
    assert!(!s.is_sending());
    assert!(s.direction.receives());
}

#[test]
fn adding_rejecting_and_removing_streams() {
    let (mut a, mut b) = (alice(), bob());
    call(&mut a, &mut b);
    let video = MediaCapabilities {
        kind: MediaKind::Video,
        ptime: None,
        ..MediaCapabilities::audio(4002, vec![Codec::new("VP8", 90000, 1, 96)])
    };
    let id = a.add_stream(video);
    let (offer, answer) = call(&mut a, &mut b);
    assert_eq!(offer.media.len(), 2);
    assert_eq!(
        answer.media[1].port, 0,
        "bob has no video: rejected with port 0"
    );
    assert_eq!(answer.media[1].kind, MediaKind::Video);
    assert_eq!(a.streams().len(), 1);
    assert_eq!(a.rejected()[0].reason, "port 0 in the answer");
    // Removing the stream: port 0 in the next offer, m-line kept (RFC 3264 §8.2).
    a.remove_stream(id).unwrap();
    let (offer, _) = call(&mut a, &mut b);
    assert_eq!((offer.media.len(), offer.media[1].port), (2, 0));
    assert_eq!(offer.media[1].format_list, "96");
    // Bob gains video; Alice adds it back, reusing the disabled m-line (RFC 3264 §8.1).
    let vp8 = MediaCapabilities {
        kind: MediaKind::Video,
        ..MediaCapabilities::audio(5002, vec![Codec::new("vp8", 90000, 1, 100)])
    };
    b.add_stream(vp8.clone());
    a.add_stream(MediaCapabilities { port: 4004, ..vp8 });
    let (offer, answer) = call(&mut a, &mut b);
    assert_eq!(offer.media.len(), 2);
    assert_eq!((offer.media[1].port, answer.media[1].port), (4004, 5002));
    assert_eq!(a.streams()[1].send_codec.send_payload_type, 100);
    assert_eq!(a.streams()[1].kind, MediaKind::Video);
    // An offer that drops m-lines is bad.
    let short = crlf(
        "v=0\no=x 1 9 IN IP4 192.0.2.9\ns=-\nc=IN IP4 192.0.2.9\nt=0 0\nm=audio 1 RTP/AVP 0\n",
    );
    assert!(matches!(
        b.handle_offer(&short, &mut rng()),
        Err(NegotiationError::BadOffer(_))
    ));
}

fn srtp_session(addr: &str, port: u16, policy: SrtpPolicy, suites: &[SrtpSuite]) -> OfferAnswer {
    let mut caps = MediaCapabilities::audio(port, vec![Codec::pcmu()]).with_srtp(policy);
    caps.srtp_suites = suites.to_vec();
    OfferAnswer::new(SessionConfig::new(addr.parse().unwrap(), caps), &mut rng())
}

#[test]
fn sdes_picks_the_strongest_common_suite_and_keeps_keys() {
    let mut a = srtp_session(
        "192.0.2.1",
        4000,
        SrtpPolicy::Required,
        &[
            SrtpSuite::AesCm128HmacSha1_80,
            SrtpSuite::AeadAes128Gcm,
            SrtpSuite::AesCm128HmacSha1_32,
        ],
    );
    let mut b = srtp_session("192.0.2.2", 5000, SrtpPolicy::Required, &SrtpSuite::ALL);
    let (offer, answer) = call(&mut a, &mut b);
    assert_eq!(offer.media[0].protocol.as_str(), "RTP/SAVP");
    assert_eq!(offer.media[0].cryptos().count(), 3);
    assert_eq!(answer.media[0].cryptos().count(), 1);
    let (ca, cb) = (
        a.streams()[0].crypto.clone().unwrap(),
        b.streams()[0].crypto.clone().unwrap(),
    );
    assert_eq!(ca.suite, SrtpSuite::AeadAes128Gcm);
    assert_eq!(ca.tag, 2);
    assert_eq!(ca.local_key, cb.remote_key);
    assert_eq!(ca.remote_key, cb.local_key);
    assert_ne!(ca.local_key, ca.remote_key);
    assert_eq!(ca.local_key.key_salt.len(), 28);
    // Re-offer: same keys, same description.
    let (again, _) = call(&mut a, &mut b);
    assert_eq!(again, offer);
    assert_eq!(a.streams()[0].crypto.as_ref(), Some(&ca));
    // Different seeds give different keys.
    let other = srtp_session("192.0.2.1", 4000, SrtpPolicy::Required, &SrtpSuite::ALL)
        .create_offer(&mut ChaCha8Rng::seed_from_u64(43))
        .unwrap();
    assert_ne!(
        other.media[0].attribute("crypto"),
        offer.media[0].attribute("crypto")
    );
}

#[test]
fn srtp_failures_name_the_reason() {
    let mut a = srtp_session(
        "192.0.2.1",
        4000,
        SrtpPolicy::Required,
        &[SrtpSuite::AeadAes256Gcm],
    );
    let mut b = srtp_session(
        "192.0.2.2",
        5000,
        SrtpPolicy::Required,
        &[SrtpSuite::AesCm128HmacSha1_80],
    );
    let offer = a.create_offer(&mut rng()).unwrap();
    let e = b.handle_offer(&offer, &mut rng()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "no acceptable crypto: offered AEAD_AES_256_GCM with usable keys: none acceptable"
    );
    assert_eq!(e.sip_status(), 488);
    let mut plain = srtp_session("192.0.2.3", 6000, SrtpPolicy::Disabled, &[]);
    let e = plain.handle_offer(&offer, &mut rng()).unwrap_err();
    assert_eq!(
        e,
        NegotiationError::NoAcceptableCrypto("SRTP offered but disabled locally".into())
    );
    // Optional: offered as RTP/AVP with crypto; a plain peer ignores it, an SRTP one uses it.
    let mut opt = srtp_session(
        "192.0.2.4",
        7000,
        SrtpPolicy::Optional,
        &[SrtpSuite::AesCm128HmacSha1_80],
    );
    let offer = opt.create_offer(&mut rng()).unwrap();
    assert_eq!(offer.media[0].protocol.as_str(), "RTP/AVP");
    let answer = plain.handle_offer(&offer, &mut rng()).unwrap();
    assert!(answer.media[0].attribute("crypto").is_none());
    opt.handle_answer(&answer).unwrap();
    assert!(opt.streams()[0].crypto.is_none());
    let offer = opt.create_offer(&mut rng()).unwrap();
    let mut b = srtp_session("192.0.2.2", 5000, SrtpPolicy::Optional, &SrtpSuite::ALL);
    let answer = b.handle_offer(&offer, &mut rng()).unwrap();
    opt.handle_answer(&answer).unwrap();
    assert_eq!(
        opt.streams()[0].crypto.as_ref().unwrap().suite,
        SrtpSuite::AesCm128HmacSha1_80
    );
}

#[test]
fn bad_answers_are_rejected_and_keep_the_previous_result() {
    let (mut a, mut b) = (alice(), bob());
    call(&mut a, &mut b);
    let before = a.streams().to_vec();
    let bad = [
        (
            "v=0\no=p 1 1 IN IP4 192.0.2.9\ns=-\nc=IN IP4 192.0.2.9\nt=0 0\n",
            "bad answer: 0 m-lines in the answer, 1 in the offer",
        ),
        (
            "v=0\no=p 1 1 IN IP4 192.0.2.9\ns=-\nc=IN IP4 192.0.2.9\nt=0 0\nm=video 9 RTP/AVP 0\n",
            "bad answer: m-line 0 is audio in the offer, video in the answer",
        ),
        (
            "v=0\no=p 1 1 IN IP4 192.0.2.9\ns=-\nc=IN IP4 192.0.2.9\nt=0 0\nm=audio 9 RTP/AVP 8\n",
            "no common codec: offered opus/48000,PCMU/8000,telephone-event/8000, supported PCMA/8000",
        ),
        (
            "v=0\no=p 1 1 IN IP4 192.0.2.9\ns=-\nc=IN IP4 192.0.2.9\nt=0 0\nm=audio 0 RTP/AVP 0\n",
            "no acceptable media stream: the answer rejects every stream",
        ),
    ];
    for (answer, reason) in bad {
        a.create_offer(&mut rng()).unwrap();
        let e = a.handle_answer(&crlf(answer)).unwrap_err();
        assert_eq!(e.to_string(), reason);
        assert!(!a.has_pending_offer());
        assert_eq!(a.streams(), before.as_slice());
    }
    // Crypto tag that was never offered.
    let mut s = srtp_session(
        "192.0.2.1",
        4000,
        SrtpPolicy::Required,
        &[SrtpSuite::AesCm128HmacSha1_80],
    );
    s.create_offer(&mut rng()).unwrap();
    let answer = crlf(
        "v=0\no=p 1 1 IN IP4 192.0.2.9\ns=-\nc=IN IP4 192.0.2.9\nt=0 0\nm=audio 9 RTP/SAVP 0\n\
         a=crypto:7 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR\n",
    );
    assert_eq!(
        s.handle_answer(&answer).unwrap_err().to_string(),
        "bad answer: a=crypto tag 7 was not offered"
    );
    s.create_offer(&mut rng()).unwrap();
    let no_crypto = crlf(
        "v=0\no=p 1 1 IN IP4 192.0.2.9\ns=-\nc=IN IP4 192.0.2.9\nt=0 0\nm=audio 9 RTP/SAVP 0\n",
    );
    assert!(matches!(
        s.handle_answer(&no_crypto),
        Err(NegotiationError::NoAcceptableCrypto(_))
    ));
}

#[test]
fn api_misuse_and_glare() {
    let (mut a, mut b) = (alice(), bob());
    let answer = crlf(
        "v=0\no=p 1 1 IN IP4 192.0.2.9\ns=-\nc=IN IP4 192.0.2.9\nt=0 0\nm=audio 9 RTP/AVP 0\n",
    );
    assert_eq!(
        a.handle_answer(&answer).unwrap_err(),
        NegotiationError::ApiMisuse("answer without a pending offer")
    );
    let offer = a.create_offer(&mut rng()).unwrap();
    assert!(matches!(
        a.create_offer(&mut rng()),
        Err(NegotiationError::ApiMisuse(_))
    ));
    let theirs = b.create_offer(&mut rng()).unwrap();
    let e = a.handle_offer(&theirs, &mut rng()).unwrap_err();
    assert_eq!(e, NegotiationError::Glare);
    assert_eq!(e.sip_status(), 491);
    // After a 491 the offer is withdrawn and the peer's offer can be answered.
    a.cancel_offer();
    a.handle_offer(&theirs, &mut rng()).unwrap();
    assert!(b.set_direction(9, Direction::Inactive).is_err());
    assert!(b.remove_stream(9).is_err());
    let _ = offer;
}

#[test]
fn rtcp_mux_and_rtcp_port() {
    let mut caps = MediaCapabilities::audio(4000, vec![Codec::pcmu()]).with_rtcp_mux();
    caps.rtcp_port = Some(4100);
    let mut a = OfferAnswer::new(
        SessionConfig::new("192.0.2.1".parse().unwrap(), caps.clone()),
        &mut rng(),
    );
    let mut b = OfferAnswer::new(
        SessionConfig::new(
            "192.0.2.2".parse().unwrap(),
            MediaCapabilities {
                port: 5000,
                rtcp_port: Some(5100),
                ..caps.clone()
            },
        ),
        &mut rng(),
    );
    let (offer, answer) = call(&mut a, &mut b);
    assert!(offer.media[0].rtcp_mux() && answer.media[0].rtcp_mux());
    assert_eq!(
        a.streams()[0].remote_rtcp,
        Some("192.0.2.2:5000".parse().unwrap())
    );
    // Without mux on one side, a=rtcp (RFC 3605) gives the RTCP port.
    let mut c = OfferAnswer::new(
        SessionConfig::new(
            "192.0.2.3".parse().unwrap(),
            MediaCapabilities {
                rtcp_mux: false,
                port: 6000,
                rtcp_port: Some(6100),
                ..caps
            },
        ),
        &mut rng(),
    );
    let offer = a.create_offer(&mut rng()).unwrap();
    let answer = c.handle_offer(&offer, &mut rng()).unwrap();
    assert_eq!(answer.media[0].rtcp().unwrap().port, 6100);
    a.handle_answer(&answer).unwrap();
    assert!(!a.streams()[0].rtcp_mux);
    assert_eq!(
        a.streams()[0].remote_rtcp,
        Some("192.0.2.3:6100".parse().unwrap())
    );
    assert_eq!(
        c.streams()[0].remote_rtcp,
        Some("192.0.2.1:4100".parse().unwrap())
    );
}

#[test]
fn g722_with_the_wrong_16000_clock_still_matches() {
    let mut s = session("192.0.2.1", 4000, vec![Codec::g722()]);
    let offer = crlf(
        "v=0\no=p 1 1 IN IP4 192.0.2.9\ns=-\nc=IN IP4 192.0.2.9\nt=0 0\nm=audio 9 RTP/AVP 9\na=rtpmap:9 G722/16000\n",
    );
    let answer = s.handle_offer(&offer, &mut rng()).unwrap();
    // Answered with the peer's own description so that it recognises it.
    assert_eq!(answer.media[0].attribute("rtpmap"), Some("9 G722/16000"));
    assert_eq!(s.streams()[0].send_codec.sample_rate(), 16000);
    let peer = negotiate(&offer, &answer, Role::Offerer).unwrap();
    assert_eq!(peer.streams[0].send_codec.send_payload_type, 9);
}

#[test]
fn offer_with_nothing_acceptable_fails_with_the_codec_reason() {
    let mut s = session("192.0.2.1", 4000, vec![Codec::opus()]);
    let offer = crlf(
        "v=0\no=p 1 1 IN IP4 192.0.2.9\ns=-\nc=IN IP4 192.0.2.9\nt=0 0\nm=video 9 RTP/AVP 31\nm=audio 9 RTP/AVP 0 8\nm=image 9 udptl t38\n",
    );
    let e = s.handle_offer(&offer, &mut rng()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "no common codec: offered PCMU/8000,PCMA/8000, supported opus/48000"
    );
    assert!(
        s.local_description().is_none(),
        "nothing sent, nothing changed"
    );
}

#[test]
fn clones_of_a_session_change_their_capabilities_apart() {
    // A session cloned from a template (one per call) shares the template's capabilities
    // until one side changes them: hold, a new direction or new codecs stay with that side.
    let template = alice();
    let mut held = template.clone();
    held.hold();
    held.capabilities_mut(0)
        .unwrap()
        .codecs
        .retain(|c| c.name != "opus");
    let mut fresh = template.clone();
    let held_offer = held.create_offer(&mut rng()).unwrap();
    let fresh_offer = fresh.create_offer(&mut rng()).unwrap();
    assert_eq!(held_offer.media[0].direction(), Some(Direction::SendOnly));
    assert!(held_offer.media[0].rtpmap(111).is_none());
    assert_eq!(fresh_offer.media[0].direction(), Some(Direction::SendRecv));
    assert_eq!(fresh_offer.media[0].rtpmap(111).unwrap().encoding, "opus");
    let mut again = template.clone();
    assert_eq!(again.create_offer(&mut rng()).unwrap(), fresh_offer);
}

#[test]
fn a_session_level_ptime_applies_to_media_without_one() {
    // A gateway's offer with a=ptime and a=maxptime written once above the m= lines (RFC
    // 8866 §6.4 puts them at media level; real peers write them so), and a second audio
    // section with its own a=ptime, which wins.
    let offer = |second: &str| {
        crlf(&format!(
            "v=0\no=GW-UserAgent 4521 7612 IN IP4 203.0.113.50\ns=SIP Call\n\
             c=IN IP4 203.0.113.50\nt=0 0\na=ptime:30\na=maxptime:60\n\
             m=audio 17424 RTP/AVP 0 8 101\nc=IN IP4 203.0.113.50\n\
             a=rtpmap:0 PCMU/8000\na=rtpmap:8 PCMA/8000\n\
             a=rtpmap:101 telephone-event/8000\na=fmtp:101 0-15\n{second}"
        ))
    };
    let plain = offer("");
    assert_eq!((plain.ptime(), plain.maxptime()), (Some(30), Some(60)));
    let m = &plain.media[0];
    assert_eq!((m.ptime(), m.maxptime()), (None, None));
    assert_eq!(
        (m.effective_ptime(&plain), m.effective_maxptime(&plain)),
        (Some(30), Some(60))
    );
    // Bob wants 20 ms (his capabilities); the offer's session-level 30 ms is what he
    // sends with, and the offer's maxptime is kept.
    let mut b = bob();
    b.handle_offer(&plain, &mut rng()).unwrap();
    let s = &b.streams()[0];
    assert_eq!((s.ptime, s.max_ptime), (30, Some(60)));

    // The media-level value wins over the session-level one.
    let own = offer("a=ptime:20\na=maxptime:40\n");
    let mut b = bob();
    b.handle_offer(&own, &mut rng()).unwrap();
    let s = &b.streams()[0];
    assert_eq!((s.ptime, s.max_ptime), (20, Some(40)));

    // The same in an answer to our offer.
    let mut a = alice();
    a.create_offer(&mut rng()).unwrap();
    let answer = crlf(
        "v=0\no=peer 1 1 IN IP4 198.51.100.7\ns=-\nc=IN IP4 198.51.100.7\nt=0 0\n\
         a=ptime:40\nm=audio 7000 RTP/AVP 0\na=rtpmap:0 PCMU/8000\n",
    );
    let streams = a.handle_answer(&answer).unwrap();
    assert_eq!((streams[0].ptime, streams[0].max_ptime), (40, None));
}
