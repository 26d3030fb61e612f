//! The parser: typed access to every line type, errors that name the line and why, the
//! lenient switches one by one, and no panic on any truncation.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use telox_sdp::{
    AddrType, Direction, MediaKind, ParseOptions, ParseReason, Protocol, Sdp, SrtpSuite,
};

/// Every line type (RFC 8866 §5) and the attributes the crate types, in canonical form.
const FULL: &str = "v=0\r\n\
o=jdoe 3724394400 3724394405 IN IP4 198.51.100.1\r\n\
s=Call to John Smith\r\n\
i=SDP Offer #1\r\n\
u=http://www.jdoe.example.com/home.html\r\n\
e=Jane Doe <jane@jdoe.example.com>\r\n\
p=+1 617 555-6011\r\n\
c=IN IP4 233.252.0.1/127/2\r\n\
b=CT:384\r\n\
t=3724394400 3724398000\r\n\
r=7d 1h 0 25h\r\n\
t=0 0\r\n\
z=2882844526 -1h 2898848070 0\r\n\
k=prompt\r\n\
a=group:BUNDLE a v\r\n\
a=ice-ufrag:F7gI\r\n\
a=recvonly\r\n\
m=audio 49170 RTP/SAVPF 0 96 101\r\n\
i=voice\r\n\
c=IN IP6 ff15::101/3\r\n\
b=AS:64\r\n\
b=TIAS:64000\r\n\
k=clear:secret\r\n\
a=rtpmap:96 opus/48000/2\r\n\
a=fmtp:96 useinbandfec=1; stereo=1\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-16\r\n\
a=ptime:20\r\n\
a=maxptime:60\r\n\
a=sendonly\r\n\
a=rtcp:53020 IN IP4 198.51.100.2\r\n\
a=rtcp-mux\r\n\
a=mid:a\r\n\
a=ssrc:3669794641 cname:sip:A@192.168.1.1\r\n\
a=crypto:1 AES_256_CM_HMAC_SHA1_80 inline:AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLg==|2^20|1:4 UNENCRYPTED_SRTCP\r\n\
a=candidate:1 1 UDP 2130706431 198.51.100.1 49170 typ host\r\n\
a=ice-pwd:asd88fgpdd777uzjYhagZg\r\n\
a=fingerprint:sha-256 D2:FA:0E:C3\r\n\
a=setup:actpass\r\n\
a=x-unknown:any thing: at all \t!\r\n\
a=x-flag\r\n\
m=video 51372/2 RTP/AVP 31\r\n\
m=image 0 udptl t38\r\n\
m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n";

#[test]
fn every_line_type_is_typed_and_round_trips() {
    let sdp = Sdp::parse(FULL).unwrap();
    assert_eq!(sdp.to_bytes(), FULL.as_bytes());
    assert_eq!(sdp.encoded_len(), FULL.len());
    assert_eq!(sdp.origin.username, "jdoe");
    assert_eq!(sdp.origin.session_id, "3724394400");
    assert_eq!(sdp.origin.session_version, 3_724_394_405);
    assert_eq!(sdp.origin.addr_type, AddrType::Ip4);
    assert_eq!(sdp.session_name, "Call to John Smith");
    assert_eq!(sdp.extra().information.as_ref().unwrap(), "SDP Offer #1");
    assert_eq!(
        sdp.extra().uri.as_ref().unwrap(),
        "http://www.jdoe.example.com/home.html"
    );
    assert_eq!(sdp.extra().emails.len(), 1);
    assert_eq!(sdp.extra().phones[0], "+1 617 555-6011");
    let c = sdp.connection.as_ref().unwrap();
    assert_eq!(
        (c.address.as_str(), c.ttl, c.count),
        ("233.252.0.1", Some(127), Some(2))
    );
    assert_eq!(
        (
            sdp.extra().bandwidths[0].kind.as_str(),
            sdp.extra().bandwidths[0].value
        ),
        ("CT", 384)
    );
    assert_eq!(sdp.times.len(), 2);
    assert_eq!(sdp.times[0].repeats[0], "7d 1h 0 25h");
    assert_eq!(
        sdp.extra().time_zones.as_ref().unwrap(),
        "2882844526 -1h 2898848070 0"
    );
    assert_eq!(sdp.extra().key.as_ref().unwrap(), "prompt");
    assert_eq!(sdp.groups().next().unwrap().mids, ["a", "v"]);
    assert_eq!(sdp.direction(), Some(Direction::RecvOnly));

    let m = &sdp.media[0];
    assert_eq!(
        (m.kind.clone(), m.port, m.protocol.clone()),
        (MediaKind::Audio, 49170, Protocol::RtpSavpf)
    );
    assert_eq!(m.payload_types().collect::<Vec<_>>(), [0, 96, 101]);
    assert_eq!(m.connections[0].addr_type, AddrType::Ip6);
    assert_eq!(
        (m.connections[0].ttl, m.connections[0].count),
        (None, Some(3))
    );
    assert_eq!(m.extra().bandwidths[1].value, 64000);
    assert_eq!(m.extra().key.as_ref().unwrap(), "clear:secret");
    let opus = m.rtpmap(96).unwrap();
    assert_eq!(
        (opus.encoding.as_str(), opus.clock_rate, opus.channels),
        ("opus", 48000, Some(2))
    );
    assert!(m.rtpmap(0).is_none(), "static payload type without rtpmap");
    assert_eq!(m.fmtp("96"), Some("useinbandfec=1; stereo=1"));
    assert_eq!((m.ptime(), m.maxptime()), (Some(20), Some(60)));
    assert_eq!(m.direction(), Some(Direction::SendOnly));
    assert_eq!(m.effective_direction(&sdp), Direction::SendOnly);
    let rtcp = m.rtcp().unwrap();
    assert_eq!(
        (rtcp.port, rtcp.address.as_deref()),
        (53020, Some("198.51.100.2"))
    );
    assert!(m.rtcp_mux());
    assert_eq!(m.mid(), Some("a"));
    let ssrc = m.ssrcs().next().unwrap();
    assert_eq!(
        (ssrc.ssrc, ssrc.attribute.as_str()),
        (3_669_794_641, "cname")
    );
    assert_eq!(ssrc.value.as_deref(), Some("sip:A@192.168.1.1"));
    let crypto = m.cryptos().next().unwrap();
    assert_eq!(crypto.suite(), Some(SrtpSuite::Aes256CmHmacSha1_80));
    assert_eq!(crypto.keys[0].key_salt.len(), 46);
    assert_eq!(crypto.session_params, ["UNENCRYPTED_SRTCP"]);
    assert_eq!(m.candidates().count(), 1);
    assert_eq!(m.ice_credentials(), None, "ufrag is session-level here");
    assert_eq!(m.fingerprint().unwrap().hash, "sha-256");
    assert_eq!(m.setup(), Some(telox_sdp::attr::Setup::ActPass));
    assert_eq!(
        m.attribute("x-unknown"),
        Some("any thing: at all \t!"),
        "verbatim"
    );
    assert!(m.has_attribute("x-flag"));
    assert_eq!(sdp.media[1].port_count, Some(2));
    assert_eq!(sdp.media[2].protocol, Protocol::Udptl);
    assert_eq!(sdp.media[2].formats().collect::<Vec<_>>(), ["t38"]);
    assert_eq!(sdp.media[3].protocol.as_str(), "UDP/DTLS/SCTP");
}

#[test]
fn errors_name_the_line_and_why() {
    let head = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n";
    let cases: &[(&str, &str)] = &[
        ("", "line 0: empty description"),
        ("v=1\r\n", "line 1 (v=): unsupported version (only v=0)"),
        ("o=- 1 1 IN IP4 a\r\n", "line 1 (o=): missing v= line"),
        ("v=0\r\ns=-\r\n", "line 2 (s=): missing o= line"),
        ("v=0\r\no=- 1 1 IN IP4 a\r\n", "line 0: missing s= line"),
        (
            "v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\n",
            "line 0: missing t= line",
        ),
        ("v=0\r\no=- x 1 IN IP4 a\r\n", "line 2 (o=): bad sess-id"),
        (
            "v=0\r\no=- 1 1 IN IP4\r\n",
            "line 2 (o=): bad unicast-address",
        ),
        ("v=0\r\no=- 1 1  IN IP4 a\r\n", "line 2 (o=): bad nettype"),
        (
            "v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nt=0\r\n",
            "line 4 (t=): bad stop-time",
        ),
        (
            "v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nc=IN IP4 1.2.3.4/x\r\n",
            "line 4 (c=): bad connection-address",
        ),
        (
            "v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nc=IN IP4 224.0.0.1/127/02\r\n",
            "line 4 (c=): bad connection-address",
        ),
        (
            "v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nc=IN IP4 224.0.0.1/300\r\n",
            "line 4 (c=): bad multicast ttl",
        ),
        (
            "v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nb=AS\r\n",
            "line 4 (b=): bad bandwidth",
        ),
        (
            "v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nr=1\r\n",
            "line 4 (r=): missing t= line",
        ),
        (
            "v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nt=0 0\r\nc=IN IP4 a\r\n",
            "line 5 (c=): line out of order (RFC 8866 §5 order is v o s i u e p c b t r z k a m)",
        ),
        (
            "v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\ns=-\r\n",
            "line 4 (s=): repeated line",
        ),
        (
            "v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nx=1\r\n",
            "line 4 (x=): unknown line type",
        ),
        (
            "v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nhello\r\n",
            "line 4 (h=): not of the form <type>=<value>",
        ),
        (
            "v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nt=0 0\r\nm=audio x RTP/AVP 0\r\n",
            "line 5 (m=): bad port",
        ),
        (
            "v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nt=0 0\r\nm=audio 1 RTP/AVP\r\n",
            "line 5 (m=): bad fmt",
        ),
        (
            "v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nt=0 0\r\nm=audio 1 RTP/AVP 128\r\n",
            "line 5 (m=): bad payload type",
        ),
        (
            "v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nt=0 0\r\nm=audio 70000 RTP/AVP 0\r\n",
            "line 5 (m=): bad port",
        ),
        (
            "v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nt=0 0\r\nm=audio 1 RTP/AVP 0\r\n",
            "line 5 (m=): media has no connection address (no c= at session or media level)",
        ),
        (
            "v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nt=0 0\r\nm=audio 1 RTP/AVP 0\r\na=x\r\nc=IN IP4 a\r\n",
            "line 7 (c=): line out of order (RFC 8866 §5 order is v o s i u e p c b t r z k a m)",
        ),
        (
            "v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nt=0 0\r\na=rtpmap:x PCMU/8000\r\n",
            "line 5 (a=): bad a=rtpmap value: <pt> <name>/<rate>[/<ch>]",
        ),
        (
            "v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nt=0 0\r\na=rtpmap:0 PCMU/0\r\n",
            "line 5 (a=): bad a=rtpmap value: clock rate",
        ),
        (
            "v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nt=0 0\r\na=ptime:abc\r\n",
            "line 5 (a=): bad a=ptime value: milliseconds",
        ),
        (
            "v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nt=0 0\r\na=sendrecv:1\r\n",
            "line 5 (a=): bad a=sendrecv value: flag takes no value",
        ),
        (
            "v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nt=0 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:@@\r\n",
            "line 5 (a=): bad a=crypto value: key||salt base64",
        ),
        (
            "v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nt=0 0\r\na=rtcp:x\r\n",
            "line 5 (a=): bad a=rtcp value: port",
        ),
        (
            "v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nt=0 0\r\na=setup:maybe\r\n",
            "line 5 (a=): bad a=setup value: role",
        ),
        (
            "v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nt=0 0\r\na=candidate:1 1 UDP x\r\n",
            "line 5 (a=): bad a=candidate value: priority",
        ),
        (
            "v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nt=0 0\r\na=mid:\r\n",
            "line 5 (a=): bad a=mid value: missing value",
        ),
        (
            "v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nt=0 0\r\na=bad name\r\n",
            "line 5 (a=): bad attribute name",
        ),
        (
            "v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nt=0 0\r\na=x\rb\r\n",
            "line 5 (a=): stray CR inside the line",
        ),
        ("UTF8", "line 3: not valid utf-8"),
    ];
    for (input, want) in cases {
        let bytes: Vec<u8> = if *input == "UTF8" {
            b"v=0\r\no=- 1 1 IN IP4 a\r\ns=\xff\r\n".to_vec()
        } else {
            input.as_bytes().to_vec()
        };
        let err = Sdp::parse(bytes.clone()).unwrap_err();
        assert_eq!(
            err.to_string(),
            *want,
            "{:?}",
            String::from_utf8_lossy(&bytes)
        );
    }
    // The head itself is fine.
    assert!(Sdp::parse(head).is_ok());
}

#[test]
fn media_attribute_lines_get_every_line_check() {
    // A media-level `a=` line ended by CRLF takes a short path through the parser; every
    // deviation of such a line must still be refused at its line, for the same reason as
    // any other line, and accepted only by its switch.
    let head =
        "v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 1 RTP/AVP 0\r\n";
    let cases: &[(&str, usize, ParseReason, bool)] = &[
        ("a=sendrecv \r\n", 7, ParseReason::TrailingWhitespace, true),
        ("a=sendrecv\t\r\n", 7, ParseReason::TrailingWhitespace, true),
        ("a=sendrecv\n", 7, ParseReason::LfLineEnding, true),
        ("a=sendrecv", 7, ParseReason::MissingFinalLineEnding, true),
        ("a=sendrecv\ra=mid:0\r\n", 7, ParseReason::StrayCr, false),
        ("\r\na=sendrecv\r\n", 7, ParseReason::EmptyLine, false),
        (
            "a=mid:0\r\n\r\na=sendrecv\r\n",
            8,
            ParseReason::EmptyLine,
            false,
        ),
        ("a=\r\n", 7, ParseReason::BadField("attribute name"), false),
        ("a=mid:0\r\ni=x\r\n", 8, ParseReason::OutOfOrder, true),
        // Deviations further into a run of such lines, and after it.
        (
            "a=mid:0\r\na=ptime:20\r\na=sendrecv \r\n",
            9,
            ParseReason::TrailingWhitespace,
            true,
        ),
        (
            "a=mid:0\r\na=ptime:20\r\na=sendrecv\n",
            9,
            ParseReason::LfLineEnding,
            true,
        ),
        (
            "a=mid:0\r\na=ptime:x\r\na=sendrecv\r\n",
            8,
            ParseReason::BadAttribute {
                attribute: "ptime",
                field: "milliseconds",
            },
            false,
        ),
        (
            "a=mid:0\r\na=ptime:20\r\na=x y\r\na=sendrecv\r\n",
            9,
            ParseReason::BadField("attribute name"),
            false,
        ),
        (
            "a=mid:0\r\na=ptime:+20\r\na=sendrecv\r\n",
            8,
            ParseReason::BadAttribute {
                attribute: "ptime",
                field: "milliseconds",
            },
            true,
        ),
        (
            "a=mid:0\r\na=sendrecv\r\nb=AS:x\r\n",
            9,
            ParseReason::OutOfOrder,
            false,
        ),
        (
            "a=sendrecv:x\r\n",
            7,
            ParseReason::BadAttribute {
                attribute: "sendrecv",
                field: "flag takes no value",
            },
            false,
        ),
    ];
    for (tail, line, reason, lenient_ok) in cases {
        let input = format!("{head}{tail}");
        let err = Sdp::parse(input.clone()).unwrap_err();
        assert_eq!((err.line, &err.reason), (*line, reason), "{input:?}");
        let lenient = Sdp::parse_with(input.clone(), &ParseOptions::lenient());
        assert_eq!(lenient.is_ok(), *lenient_ok, "{input:?}: {lenient:?}");
    }
    // The attribute limit counts media-level lines too.
    let opts = ParseOptions {
        max_attributes: 2,
        ..ParseOptions::strict()
    };
    let input = format!("{head}a=mid:0\r\na=sendrecv\r\na=ptime:20\r\n");
    let err = Sdp::parse_with(input, &opts).unwrap_err();
    assert_eq!(err.line, 9);
    assert!(matches!(err.reason, ParseReason::TooLarge { .. }), "{err}");
}

#[test]
fn each_lenient_switch_allows_one_deviation() {
    let good =
        "v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 1 RTP/AVP 0\r\n";
    let strict = ParseOptions::strict();
    type Knob = fn(&mut ParseOptions);
    let cases: &[(String, Knob, ParseReason)] = &[
        (
            good.replace("\r\n", "\n"),
            |o| o.allow_lf_line_endings = true,
            ParseReason::LfLineEnding,
        ),
        (
            good.trim_end().to_owned(),
            |o| o.allow_missing_final_line_ending = true,
            ParseReason::MissingFinalLineEnding,
        ),
        (
            format!("{good}\r\n\r\n"),
            |o| o.allow_trailing_empty_lines = true,
            ParseReason::EmptyLine,
        ),
        (
            good.replace("a\r\n", "a \r\n"),
            |o| o.allow_trailing_whitespace = true,
            ParseReason::TrailingWhitespace,
        ),
        (
            good.replace("t=0 0\r\n", ""),
            |o| o.allow_missing_time = true,
            ParseReason::Missing('t'),
        ),
        (
            good.replace("s=-", "s="),
            |o| o.allow_empty_session_name = true,
            ParseReason::EmptySessionName,
        ),
        (
            good.replace("c=IN IP4 192.0.2.1\r\nt=0 0", "t=0 0\r\nc=IN IP4 192.0.2.1"),
            |o| o.allow_misordered_lines = true,
            ParseReason::OutOfOrder,
        ),
        (
            good.replace("c=IN IP4 192.0.2.1\r\n", ""),
            |o| o.allow_missing_connection = true,
            ParseReason::MissingConnection,
        ),
        (
            format!("{good}a=ptime:+20\r\n"),
            |o| o.allow_plus_signed_numbers = true,
            ParseReason::BadAttribute {
                attribute: "ptime",
                field: "milliseconds",
            },
        ),
        (
            format!("{good}m=video 0 RTP/AVP 255\r\n"),
            |o| o.allow_declined_media_any_format = true,
            ParseReason::BadField("payload type"),
        ),
        (
            format!("{good}m=video 0 RTP/AVP\r\n"),
            |o| o.allow_declined_media_any_format = true,
            ParseReason::BadField("fmt"),
        ),
    ];
    for (input, knob, reason) in cases {
        assert_eq!(
            &Sdp::parse(input.clone()).unwrap_err().reason,
            reason,
            "{input:?}"
        );
        let mut opts = strict.clone();
        knob(&mut opts);
        let sdp =
            Sdp::parse_with(input.clone(), &opts).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(sdp.media[0].port, 1);
        assert!(Sdp::parse_with(input.clone(), &ParseOptions::lenient()).is_ok());
    }
    // An empty line in the middle is never accepted.
    let mid = good.replace("s=-\r\n", "s=-\r\n\r\n");
    assert_eq!(
        Sdp::parse_with(mid, &ParseOptions::lenient())
            .unwrap_err()
            .reason,
        ParseReason::EmptyLine
    );
    // A declined line keeps what it had, byte for byte; an accepted one does not get the
    // declined line's leave, and a declined line still needs tokens.
    let lenient = ParseOptions::lenient();
    for declined in ["m=video 0 RTP/AVP 255\r\n", "m=video 0 RTP/AVP\r\n"] {
        let input = format!("{good}{declined}");
        let sdp = Sdp::parse_with(input.clone(), &lenient).unwrap();
        assert_eq!(sdp.to_bytes(), input.as_bytes());
        assert_eq!(sdp.media[1].payload_types().count(), 0, "{declined}");
    }
    for refused in [
        "m=video 5004 RTP/AVP 255\r\n",
        "m=video 5004 RTP/AVP\r\n",
        "m=video 0 RTP/AVP \"x\"\r\n",
    ] {
        let input = format!("{good}{refused}");
        assert!(Sdp::parse_with(input, &lenient).is_err(), "{refused}");
    }
    // "s= " is RFC 8866's recommended empty name, not trailing whitespace.
    let space = good.replace("s=-", "s= ");
    assert_eq!(
        Sdp::parse(space.clone()).unwrap().to_bytes(),
        space.as_bytes()
    );
}

#[test]
fn limits_are_errors_not_truncations() {
    let opts = ParseOptions {
        max_media: 2,
        max_attributes: 3,
        max_size: 400,
        ..ParseOptions::strict()
    };
    let head = "v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n";
    let media = format!("{head}{}", "m=audio 1 RTP/AVP 0\r\n".repeat(3));
    assert_eq!(
        Sdp::parse_with(media, &opts).unwrap_err().reason,
        ParseReason::TooLarge {
            what: "media count",
            limit: 2
        }
    );
    let attrs = format!("{head}{}", "a=x\r\n".repeat(4));
    assert_eq!(
        Sdp::parse_with(attrs, &opts).unwrap_err().to_string(),
        "line 9 (a=): attribute count exceeds the limit of 3"
    );
    let big = format!("{head}{}", "a=x\r\n".repeat(100));
    assert_eq!(Sdp::parse_with(big, &opts).unwrap_err().line, 0);
}

#[test]
fn no_prefix_or_byte_flip_panics() {
    let lenient = ParseOptions::lenient();
    for end in 0..=FULL.len() {
        let prefix = &FULL.as_bytes()[..end];
        let _ = Sdp::parse(prefix.to_vec());
        if let Ok(sdp) = Sdp::parse_with(prefix.to_vec(), &lenient) {
            assert_eq!(Sdp::parse_with(sdp.to_bytes(), &lenient).unwrap(), sdp);
        }
    }
    for i in 0..FULL.len() {
        for b in [b' ', b'\n', b'\r', b'=', b':', b'/', b'0', 0xff] {
            let mut v = FULL.as_bytes().to_vec();
            v[i] = b;
            telox_sdp::fuzzing::parse(&v);
        }
    }
}

#[test]
fn built_descriptions_serialize_canonically() {
    use telox_sdp::{Attribute, Connection, Media, Origin, Text};
    let mut sdp = Sdp::new(Origin {
        username: Text::from("-"),
        session_id: Text::from("42"),
        session_version: 7,
        net_type: Text::from_static("IN"),
        addr_type: AddrType::Ip6,
        address: Text::from("2001:db8::1"),
    });
    sdp.connection = Some(Connection::new("2001:db8::1".parse().unwrap()));
    let mut m = Media::new(MediaKind::Audio, 4000, Protocol::RtpAvp, ["0", "8"]);
    m.push_attribute(Direction::SendOnly.into());
    m.push_attribute(Attribute::new("ptime", "30"));
    sdp.media.push(m);
    let text = "v=0\r\no=- 42 7 IN IP6 2001:db8::1\r\ns=-\r\nc=IN IP6 2001:db8::1\r\nt=0 0\r\n\
                m=audio 4000 RTP/AVP 0 8\r\na=sendonly\r\na=ptime:30\r\n";
    assert_eq!(sdp.to_bytes(), text.as_bytes());
    assert_eq!(sdp.to_string(), text);
    assert_eq!(Sdp::parse(text).unwrap(), sdp);
}

#[test]
fn a_plus_sign_before_a_number_is_strict_error_and_lenient_switch() {
    let head = "v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n\
                m=audio 1 RTP/AVP 0\r\n";
    let key = "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR";
    // Each number that `str::parse` would take with a `+`, and the field a strict parse names.
    let cases = [
        ("ptime:+20".to_owned(), "ptime", "milliseconds"),
        ("ptime:+20.5".to_owned(), "ptime", "milliseconds"),
        ("maxptime:+150".to_owned(), "maxptime", "milliseconds"),
        ("rtcp:+9".to_owned(), "rtcp", "port"),
        ("rtcp:+9 IN IP4 192.0.2.1".to_owned(), "rtcp", "port"),
        ("ssrc:+1 cname:x".to_owned(), "ssrc", "ssrc"),
        (
            format!("crypto:1 AES_CM_128_HMAC_SHA1_80 {key}|+1024"),
            "crypto",
            "lifetime",
        ),
        (
            format!("crypto:1 AES_CM_128_HMAC_SHA1_80 {key}|2^+20"),
            "crypto",
            "lifetime",
        ),
        (
            format!("crypto:1 AES_CM_128_HMAC_SHA1_80 {key}|+1:4"),
            "crypto",
            "mki value",
        ),
        (
            format!("crypto:1 AES_CM_128_HMAC_SHA1_80 {key}|1:+4"),
            "crypto",
            "mki length",
        ),
        (
            "candidate:1 +1 UDP 2 192.0.2.1 9 typ host".to_owned(),
            "candidate",
            "component-id",
        ),
        (
            "candidate:1 1 UDP +2 192.0.2.1 9 typ host".to_owned(),
            "candidate",
            "priority",
        ),
        (
            "candidate:1 1 UDP 2 192.0.2.1 +9 typ host".to_owned(),
            "candidate",
            "port",
        ),
    ];
    for (attr, attribute, field) in cases {
        let input = format!("{head}a={attr}\r\n");
        let err = Sdp::parse(input.clone()).unwrap_err();
        assert_eq!((err.line, err.kind), (7, Some('a')), "{attr}");
        assert_eq!(
            err.reason,
            ParseReason::BadAttribute { attribute, field },
            "{attr}"
        );
        // Lenient (and the switch alone) accept it, and the typed views read the number.
        let opts = ParseOptions {
            allow_plus_signed_numbers: true,
            ..ParseOptions::strict()
        };
        for o in [opts, ParseOptions::lenient()] {
            let sdp = Sdp::parse_with(input.clone(), &o).unwrap_or_else(|e| panic!("{attr}: {e}"));
            assert_eq!(sdp.to_bytes(), input.as_bytes());
            let m = &sdp.media[0];
            match attribute {
                "ptime" => assert_eq!(m.ptime(), Some(20)),
                "maxptime" => assert_eq!(m.maxptime(), Some(150)),
                "rtcp" => assert_eq!(m.rtcp().map(|r| r.port), Some(9)),
                "ssrc" => assert_eq!(m.ssrcs().map(|s| s.ssrc).collect::<Vec<_>>(), [1]),
                "crypto" => assert_eq!(m.cryptos().count(), 1, "{attr}"),
                _ => {}
            }
        }
        // Without the sign a strict parse accepts it.
        let plain = input.replace('+', "");
        assert!(Sdp::parse(plain.clone()).is_ok(), "{plain}");
    }
}

#[test]
fn media_line_errors_name_their_field() {
    // The m= checks skip the token test of a known media type, protocol and payload type:
    // an unknown one is still tested, and a bad format is named as before.
    let head = "v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n";
    let cases: &[(&str, Option<&str>)] = &[
        ("m=audio 1 RTP/AVP 0 8 127", None),
        ("m=x-media 1 RTP/AVP 0", None),
        ("m=x\"y 1 RTP/AVP 0", Some("media")),
        ("m=audio 1 TCP/MSRP *", None),
        ("m=audio 1 TCP//MSRP *", Some("proto")),
        ("m=audio 1 TCP/\"MSRP *", Some("proto")),
        ("m=audio 1 RTP/AVP 0 128", Some("payload type")),
        ("m=audio 1 RTP/AVP 0 08", Some("payload type")),
        ("m=audio 1 RTP/AVP 0 x", Some("payload type")),
        ("m=audio 1 RTP/AVP 0 \"", Some("fmt")),
        ("m=audio 1 RTP/AVP 0  8", Some("fmt")),
        ("m=audio 1 udptl t38", None),
        ("m=audio 1 udptl \"", Some("fmt")),
    ];
    for (line, field) in cases {
        let input = format!("{head}{line}\r\n");
        match (Sdp::parse(input.clone()), field) {
            (Ok(_), None) => {}
            (Err(e), Some(f)) => {
                assert_eq!(
                    (e.line, &e.reason),
                    (6, &ParseReason::BadField(f)),
                    "{line}"
                )
            }
            (r, _) => panic!("{line}: {r:?}"),
        }
    }
}

#[test]
fn media_attribute_names_are_recognised_by_their_bytes() {
    // A run of media-level a= lines recognises the usual names with their `:` from the
    // line's first bytes: a bad value is refused at its line, naming the attribute, and a
    // longer or shorter name sharing the prefix is another attribute.
    let head =
        "v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 1 RTP/AVP 0\r\n";
    for name in [
        "rtpmap", "fmtp", "ptime", "crypto", "ssrc", "rtcp", "mid", "maxptime",
    ] {
        let input = format!("{head}a=sendrecv\r\na={name}:\r\n");
        let err = Sdp::parse(input.clone()).unwrap_err();
        assert_eq!(err.line, 8, "{input:?}");
        assert!(
            matches!(err.reason, ParseReason::BadAttribute { attribute, .. } if attribute == name),
            "{input:?}: {err}"
        );
        for other in [format!("{name}x:"), format!("x{name}:"), format!("{name}x")] {
            let input = format!("{head}a=sendrecv\r\na={other}\r\n");
            let sdp = Sdp::parse(input.clone()).unwrap_or_else(|e| panic!("{input:?}: {e}"));
            assert_eq!(sdp.media[0].attribute(name), None, "{input:?}");
            assert_eq!(sdp.to_bytes(), input.as_bytes());
        }
    }
    let input = format!("{head}a=rtpmap:0 PCMU/8000\r\na=ptime:20\r\na=mid:0\r\n");
    let sdp = Sdp::parse(input.clone()).unwrap();
    assert_eq!(sdp.media[0].rtpmap(0).unwrap().encoding, "PCMU");
    assert_eq!(sdp.media[0].ptime(), Some(20));
    assert_eq!(sdp.media[0].mid(), Some("0"));
}
