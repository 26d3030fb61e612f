//! Property tests: `parse(emit(x)) == x` for generated models, `emit(parse(b)) == b` for
//! generated canonical text, and offer/answer between random capability sets.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use proptest::prelude::*;
use rand::SeedableRng;
use telox_sdp::{
    AddrType, Attribute, Bandwidth, Codec, Connection, Media, MediaCapabilities, MediaKind,
    NegotiationError, OfferAnswer, Origin, Protocol, Sdp, SessionConfig, SrtpPolicy, SrtpSuite,
    Text, Timing,
};

fn token() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9][a-zA-Z0-9.+_-]{0,8}"
}

/// Free text: no CR/LF, no leading '=' issues, no trailing whitespace.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,20}[!-~]",
        "-".prop_map(String::from),
        "é ü [a-z]{1,4}"
    ]
}

fn number() -> impl Strategy<Value = u64> {
    prop_oneof![Just(0u64), any::<u64>(), 1u64..100_000]
}

fn addr_type() -> impl Strategy<Value = AddrType> {
    prop_oneof![
        Just(AddrType::Ip4),
        Just(AddrType::Ip6),
        "X[A-Z]{1,3}".prop_map(|s| AddrType::Other(Text::from(s)))
    ]
}

fn connection() -> impl Strategy<Value = Connection> {
    (
        addr_type(),
        token(),
        proptest::option::of(any::<u8>()),
        proptest::option::of(1u32..255),
    )
        .prop_map(|(addr_type, address, ttl, count)| {
            // IPv6 has no TTL; a count alone (IPv4) would read back as a TTL.
            let (ttl, count) = match addr_type {
                AddrType::Ip6 => (None, count),
                _ => (ttl, if ttl.is_some() { count } else { None }),
            };
            Connection {
                net_type: Text::from_static("IN"),
                addr_type,
                address: Text::from(address),
                ttl,
                count,
            }
        })
}

fn bandwidth() -> impl Strategy<Value = Bandwidth> {
    (prop_oneof!["AS", "CT", "TIAS", "X-[A-Z]{1,3}"], number()).prop_map(|(k, value)| Bandwidth {
        kind: Text::from(k),
        value,
    })
}

fn attribute() -> impl Strategy<Value = Attribute> {
    prop_oneof![
        ("x-[a-z]{1,6}", proptest::option::of(text())).prop_map(|(n, v)| Attribute {
            name: Text::from(n),
            value: v.map(Text::from)
        }),
        prop_oneof!["sendrecv", "sendonly", "recvonly", "inactive", "rtcp-mux"]
            .prop_map(|n| Attribute::flag(&n)),
        (
            0u8..128,
            "[A-Za-z0-9-]{1,10}",
            1u32..100_000,
            proptest::option::of(1u16..9)
        )
            .prop_map(|(pt, n, c, ch)| {
                let ch = ch.map(|c| format!("/{c}")).unwrap_or_default();
                Attribute::new("rtpmap", format!("{pt} {n}/{c}{ch}"))
            }),
        (0u8..128, "[a-z0-9=;-]{1,20}")
            .prop_map(|(pt, p)| Attribute::new("fmtp", format!("{pt} {p}"))),
        (1u32..200).prop_map(|p| Attribute::new("ptime", p.to_string())),
        (1u16..65535).prop_map(|p| Attribute::new("rtcp", p.to_string())),
        token().prop_map(|m| Attribute::new("mid", m)),
        (any::<u32>(), token()).prop_map(|(s, c)| Attribute::new("ssrc", format!("{s} cname:{c}"))),
    ]
}

fn protocol() -> impl Strategy<Value = Protocol> {
    prop_oneof![
        Just(Protocol::RtpAvp),
        Just(Protocol::RtpSavp),
        Just(Protocol::RtpAvpf),
        Just(Protocol::RtpSavpf),
        Just(Protocol::UdpTlsRtpSavpf),
        Just(Protocol::Udptl),
        Just(Protocol::Other(Text::from_static("TCP/MSRP"))),
    ]
}

fn media(needs_connection: bool) -> impl Strategy<Value = Media> {
    (
        prop_oneof![
            Just(MediaKind::Audio),
            Just(MediaKind::Video),
            Just(MediaKind::Image),
            Just(MediaKind::Application),
            "x[a-z]{1,4}".prop_map(|s| MediaKind::Other(Text::from(s)))
        ],
        any::<u16>(),
        proptest::option::of(1u16..8),
        protocol(),
        proptest::collection::vec(0u8..128, 1..6),
        proptest::option::of(text()),
        proptest::collection::vec(connection(), usize::from(needs_connection)..3),
        proptest::collection::vec(bandwidth(), 0..2),
        proptest::option::of(text()),
        proptest::collection::vec(attribute(), 0..6),
    )
        .prop_map(
            |(
                kind,
                port,
                port_count,
                protocol,
                pts,
                information,
                connections,
                bandwidths,
                key,
                attributes,
            )| {
                let fmts: Vec<String> = if protocol.is_rtp() {
                    pts.iter().map(u8::to_string).collect()
                } else {
                    vec!["t38".to_owned(), "*".to_owned()]
                };
                let mut m = Media::new(kind, port, protocol, fmts.iter().map(String::as_str));
                m.port_count = port_count;
                m.connections = connections;
                if information.is_some() || !bandwidths.is_empty() || key.is_some() {
                    let extra = m.extra_mut();
                    extra.information = information.map(Text::from);
                    extra.bandwidths = bandwidths;
                    extra.key = key.map(Text::from);
                }
                m.attributes = attributes.into();
                m
            },
        )
}

fn sdp() -> impl Strategy<Value = Sdp> {
    proptest::option::of(connection())
        .prop_flat_map(|session_conn| {
            let needs = session_conn.is_none();
            (
                (token(), "[1-9][0-9]{0,18}", number(), addr_type(), token()),
                text(),
                (proptest::option::of(text()), proptest::option::of(text())),
                (
                    proptest::collection::vec(text(), 0..2),
                    proptest::collection::vec(text(), 0..2),
                ),
                Just(session_conn),
                proptest::collection::vec(bandwidth(), 0..2),
                proptest::collection::vec(
                    (number(), number(), proptest::collection::vec(text(), 0..2)),
                    1..3,
                ),
                (proptest::option::of(text()), proptest::option::of(text())),
                proptest::collection::vec(attribute(), 0..5),
                proptest::collection::vec(media(needs), 0..4),
            )
        })
        .prop_map(|(o, s, (i, u), (e, p), c, b, t, (z, k), a, m)| {
            let mut sdp = Sdp::new(Origin {
                username: Text::from(o.0),
                session_id: Text::from(o.1),
                session_version: o.2,
                net_type: Text::from_static("IN"),
                addr_type: o.3,
                address: Text::from(o.4),
            });
            sdp.session_name = Text::from(s);
            sdp.extra_mut().information = i.map(Text::from);
            sdp.extra_mut().uri = u.map(Text::from);
            sdp.extra_mut().emails = e.into_iter().map(Text::from).collect();
            sdp.extra_mut().phones = p.into_iter().map(Text::from).collect();
            sdp.connection = c;
            sdp.extra_mut().bandwidths = b;
            sdp.times = t
                .into_iter()
                .map(|(start, stop, r)| Timing {
                    start,
                    stop,
                    repeats: r.into_iter().map(Text::from).collect(),
                })
                .collect();
            sdp.extra_mut().time_zones = z.map(Text::from);
            sdp.extra_mut().key = k.map(Text::from);
            sdp.attributes = a.into();
            sdp.media = m.into();
            sdp
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn parse_of_emit_is_identity(model in sdp()) {
        let bytes = model.to_bytes();
        prop_assert_eq!(bytes.len(), model.encoded_len());
        let parsed = Sdp::parse(bytes.clone());
        prop_assert_eq!(parsed.as_ref(), Ok(&model), "{}", String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn emit_of_parse_is_identity_for_canonical_text(model in sdp()) {
        // Canonical text is what the writer produces; reparse and rewrite it unchanged, and
        // every line cut away at the end leaves either an error or a shorter valid text.
        let text = model.to_bytes();
        let parsed = Sdp::parse(text.clone()).unwrap();
        prop_assert_eq!(parsed.to_bytes(), text.clone());
        let cut = text.len() / 2;
        if let Ok(p) = Sdp::parse(text.slice(..cut)) {
            prop_assert_eq!(p.to_bytes(), text.slice(..cut));
        }
    }

    #[test]
    fn offer_answer_between_random_capabilities(
        ours in proptest::sample::subsequence(vec!["opus", "pcmu", "pcma", "g722", "telephone-event"], 1..=5),
        theirs in proptest::sample::subsequence(vec!["opus", "pcmu", "pcma", "g722", "telephone-event"], 1..=5),
        srtp_a in prop_oneof![Just(SrtpPolicy::Disabled), Just(SrtpPolicy::Optional), Just(SrtpPolicy::Required)],
        srtp_b in prop_oneof![Just(SrtpPolicy::Disabled), Just(SrtpPolicy::Optional), Just(SrtpPolicy::Required)],
        suites_b in proptest::sample::subsequence(SrtpSuite::ALL.to_vec(), 1..=6),
        seed in any::<u64>(),
    ) {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let caps = |names: &[&str], port| MediaCapabilities::audio(port, names.iter().map(|n| Codec::by_name(n).unwrap()).collect());
        let mut a = OfferAnswer::new(SessionConfig::new("192.0.2.1".parse().unwrap(), caps(&ours, 4000).with_srtp(srtp_a)), &mut rng);
        let mut b_caps = caps(&theirs, 5000).with_srtp(srtp_b);
        b_caps.srtp_suites = suites_b;
        let mut b = OfferAnswer::new(SessionConfig::new("192.0.2.2".parse().unwrap(), b_caps), &mut rng);
        let offer = a.create_offer(&mut rng).unwrap();
        let reparsed = Sdp::parse(offer.to_bytes());
        prop_assert_eq!(reparsed.as_ref(), Ok(&offer));
        let media_codec = |n: &&&str| **n != "telephone-event";
        let common = ours.iter().filter(media_codec).any(|c| theirs.contains(c));
        // SRTP cannot work when one side requires it and the other has it disabled.
        let crypto_possible = !matches!(
            (srtp_a, srtp_b),
            (SrtpPolicy::Required, SrtpPolicy::Disabled) | (SrtpPolicy::Disabled, SrtpPolicy::Required)
        );
        match b.handle_offer(&offer, &mut rng) {
            Ok(answer) => {
                prop_assert!(common && crypto_possible);
                let streams = a.handle_answer(&answer).unwrap().to_vec();
                let (sa, sb) = (&streams[0], &b.streams()[0]);
                prop_assert_eq!(&sa.send_codec.name, &sb.send_codec.name);
                prop_assert_eq!(sa.send_codec.send_payload_type, sb.send_codec.recv_payload_type);
                // Bob's first preference among the common codecs is used.
                let first = theirs.iter().filter(media_codec).find(|c| ours.contains(c)).unwrap();
                prop_assert!(sa.send_codec.name.eq_ignore_ascii_case(first));
                let te = ours.contains(&"telephone-event") && theirs.contains(&"telephone-event");
                prop_assert_eq!(sa.telephone_event.is_some(), te);
                prop_assert_eq!(sa.crypto.as_ref().map(|c| (&c.local_key, &c.remote_key)),
                    sb.crypto.as_ref().map(|c| (&c.remote_key, &c.local_key)));
                if srtp_a == SrtpPolicy::Required || srtp_b == SrtpPolicy::Required {
                    prop_assert!(sa.crypto.is_some());
                }
            }
            Err(NegotiationError::NoCommonCodec { .. }) => prop_assert!(!common && crypto_possible),
            Err(NegotiationError::NoAcceptableCrypto(_)) => prop_assert!(!crypto_possible),
            Err(e) => prop_assert!(false, "unexpected {e}"),
        }
    }
}
