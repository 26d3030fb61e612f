//! Round 2 of the vendor-style descriptions (tests/data/vendor-style/round2, see the README
//! there): SDPs in the shape of ones that other stacks refused or misread, each from a public
//! bug report. Each test reads the values a UA acts on and what telox answers. Three of them
//! failed when written (a session parameter answered without it, two declined m= lines that
//! sank the offer) and were fixed in sdp/src by 0d79ec5 and ca6931d.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod vendor_rounds;

use telox_sdp::{KeyLifetime, OfferAnswer, ParseOptions, Sdp, SrtpPolicy, SrtpSuite};

fn bytes(name: &str) -> Vec<u8> {
    vendor_rounds::bytes("round2", name)
}

/// Parses strictly and writes back byte for byte.
fn strict(name: &str) -> Sdp {
    vendor_rounds::parse("round2", name, &ParseOptions::strict())
}

/// The answer telox with PCMU, PCMA, G.722, Opus and telephone-event, SRTP as `srtp` says,
/// gives to `offer`, with the session that made it.
fn answer(offer: &Sdp, srtp: SrtpPolicy) -> (OfferAnswer, Sdp) {
    let codecs = ["opus", "pcmu", "pcma", "g722", "telephone-event"];
    vendor_rounds::answer(offer, &codecs, srtp)
}

#[test]
fn every_round2_file_is_listed_in_the_readme() {
    assert_eq!(vendor_rounds::readme_lists_every_file("round2"), 8);
}

/// An SBC offers two keys, the first with the session parameter UNENCRYPTED_SRTCP (RFC 4568
/// §6.3.2: SRTCP then goes unencrypted both ways). livekit's parser failed on the line
/// (livekit media-sdk#71); telox reads it right: lifetime 2^48 and the parameter apart.
#[test]
fn crypto_session_parameters_are_read_apart_from_the_lifetime() {
    let sdp = strict("sbc_crypto_unencrypted_srtcp.sdp");
    let cryptos: Vec<_> = sdp.media[0].cryptos().collect();
    assert_eq!(cryptos.len(), 2);
    assert_eq!(cryptos[0].tag, 1);
    assert_eq!(cryptos[0].suite(), Some(SrtpSuite::AesCm128HmacSha1_80));
    assert_eq!(cryptos[0].session_params, ["UNENCRYPTED_SRTCP"]);
    let key = cryptos[0].usable_key().unwrap();
    assert_eq!(key.lifetime, Some(KeyLifetime::PowerOfTwo(48)));
    assert_eq!(key.mki, None);
    assert!(cryptos[1].session_params.is_empty());
    assert_eq!(
        cryptos[1].usable_key().unwrap().lifetime,
        Some(KeyLifetime::PowerOfTwo(31))
    );
}

/// What telox answers to that offer: tag 2. Taking tag 1 and answering it without the
/// session parameter would encrypt telox's SRTCP and expect encrypted SRTCP while the SBC
/// sends and expects it in the clear: RTCP lost both ways. livekit skips such a line and
/// takes the next (media-sdk#73), as telox now does (RFC 4568 §6.3.7).
#[test]
fn an_unsupported_session_parameter_is_not_accepted_silently() {
    let offer = strict("sbc_crypto_unencrypted_srtcp.sdp");
    let (_, answer) = answer(&offer, SrtpPolicy::Optional);
    let answered: Vec<_> = answer.media[0].cryptos().collect();
    assert_eq!(answered.len(), 1);
    assert_eq!(answered[0].tag, 2, "{answered:?}");
    assert!(answered[0].session_params.is_empty(), "{answered:?}");
}

/// AudioCodes-style `inline:<key>|2^31` with no MKI (diago#182 failed to decode the key):
/// read, and telox answers SRTP on it.
#[test]
fn a_key_with_a_lifetime_and_no_mki_is_answered() {
    let offer = strict("sbc_offer_crypto_lifetime_only.sdp");
    let c = offer.media[0].cryptos().next().unwrap();
    let key = c.usable_key().unwrap();
    assert_eq!(key.key_salt.len(), 30);
    assert_eq!(key.lifetime.map(KeyLifetime::packets), Some(1 << 31));
    assert_eq!(key.mki, None);
    let (session, answer) = answer(&offer, SrtpPolicy::Optional);
    assert!(answer.media[0].protocol.is_secure());
    let stream = &session.streams()[0];
    // both G.711 laws are offered; telox answers in its own order (PCMU first)
    assert_eq!(stream.send_codec.name, "PCMU");
    assert_eq!(
        stream.telephone_event.map(|t| t.send_payload_type),
        Some(101)
    );
}

/// Three m= lines, the first two declined with port 0 and a loopback `c=` (an Eltex ECSS
/// behind pjmedia; SIPp#230 found no media in it): telox keeps all three in order, declines
/// the first two and answers the third, RTCP on the `a=rtcp` port and address.
#[test]
fn the_third_of_three_media_lines_is_the_one_answered() {
    let offer = strict("pjmedia_three_audio_two_declined.sdp");
    assert_eq!(offer.media.len(), 3);
    assert_eq!(offer.extra().bandwidths.len(), 1);
    assert_eq!(offer.attribute("X-nat"), Some("0"));
    let (session, answer) = answer(&offer, SrtpPolicy::Optional);
    let ports: Vec<u16> = answer.media.iter().map(|m| m.port).collect();
    assert_eq!(ports, [0, 0, 40000]);
    let streams = session.streams();
    assert_eq!(streams.len(), 1);
    assert_eq!(streams[0].index, 2);
    assert_eq!(streams[0].send_codec.name, "PCMA");
    assert_eq!(
        streams[0].remote_rtp,
        Some("192.0.2.24:12176".parse().unwrap())
    );
    assert_eq!(
        streams[0].remote_rtcp,
        Some("192.0.2.24:12177".parse().unwrap())
    );
}

/// `m=audio 30000/2` (a paging speaker; sipsorcery#1329's regex refused it): the port and
/// the count are read apart and the call is answered on port 30000.
#[test]
fn a_port_count_is_read_and_the_first_port_answered() {
    let offer = strict("network_speaker_port_count.sdp");
    assert_eq!(offer.media[0].port, 30000);
    assert_eq!(offer.media[0].port_count, Some(2));
    let (session, _) = answer(&offer, SrtpPolicy::Disabled);
    assert_eq!(
        session.streams()[0].remote_rtp,
        Some("192.0.2.111:30000".parse().unwrap())
    );
}

/// `r=0 0` (an AJA encoder; pion/sdp#228 refused it): read as one repeat line.
#[test]
fn a_zero_repeat_line_is_read() {
    let sdp = strict("encoder_repeat_zero.sdp");
    assert_eq!(sdp.times.len(), 1);
    let t = sdp.times.iter().next().unwrap();
    assert_eq!((t.start, t.stop), (0, 0));
    assert_eq!(t.repeats.len(), 1);
    assert_eq!(t.repeats[0].as_str(), "0 0");
}

/// A Cisco gateway declines video as `m=video 0 RTP/AVP 255` (rtpengine#2122): 255 is no
/// RTP payload type, but the stream is declined (port 0), so nothing reads it. Strict
/// parsing refuses it ("bad payload type"); the lenient options read it, and telox answers
/// the audio and declines the video.
#[test]
fn a_declined_stream_with_payload_type_255_does_not_sink_the_offer() {
    audio_answered_video_declined("cisco_gw_declined_video_pt255.sdp", "PCMA");
}

/// `name` (audio, then a declined video) is refused strictly, parses leniently, and telox
/// answers the audio with `codec` and declines the video with a format valid for RTP, so
/// that its answer parses strictly.
fn audio_answered_video_declined(name: &str, codec: &str) {
    assert!(Sdp::parse(bytes(name)).is_err(), "{name}");
    let offer = Sdp::parse_with(bytes(name), &ParseOptions::lenient()).unwrap();
    let (session, answer) = answer(&offer, SrtpPolicy::Disabled);
    assert_eq!(answer.media.len(), 2, "{name}");
    assert_eq!(answer.media[1].port, 0, "{name}");
    assert_eq!(
        answer.media[1].formats().collect::<Vec<_>>(),
        ["0"],
        "{name}"
    );
    Sdp::parse(answer.to_bytes()).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(session.streams()[0].send_codec.name, codec, "{name}");
}

/// `m=video 0 RTP/AVP` with no format at all (pjproject#75 and #1233: "some implementations
/// put no format list on disabled/rejected media"). Strict parsing refuses it ("bad fmt");
/// the lenient options read it, and telox answers the audio and declines the video.
#[test]
fn a_declined_stream_without_formats_does_not_sink_the_offer() {
    audio_answered_video_declined("declined_video_no_formats.sdp", "PCMU");
}

/// `a=rtpmap:120 opus/48000/2 ` with a trailing space (pjproject#2827: PJSIP kept the space
/// in the channel count and Opus stopped matching). Strict parsing refuses the line; the
/// lenient options (what telox's examples use for a peer's SDP) strip it and telox answers
/// Opus, two channels, as offered.
#[test]
fn an_rtpmap_with_a_trailing_space_still_matches_opus() {
    let raw = bytes("phone_rtpmap_trailing_space.sdp");
    let e = Sdp::parse(raw.clone()).unwrap_err();
    assert!(e.to_string().contains("trailing whitespace"), "{e}");
    let offer = Sdp::parse_with(raw, &ParseOptions::lenient()).unwrap();
    let rtpmap = offer.media[0].rtpmap(120).unwrap();
    assert_eq!(
        (rtpmap.encoding.as_str(), rtpmap.clock_rate, rtpmap.channels),
        ("opus", 48000, Some(2))
    );
    let (session, _) = answer(&offer, SrtpPolicy::Disabled);
    let stream = &session.streams()[0];
    assert_eq!(stream.send_codec.name, "opus");
    assert_eq!(stream.send_codec.send_payload_type, 120);
    assert_eq!(
        stream.telephone_event.map(|t| t.send_payload_type),
        Some(101)
    );
}
