//! Message layer: typical messages, every truncated prefix, limits and their status codes,
//! builders (RFC 3261 §8.2.6), header spill beyond the inline index, stream framing.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: an unwrap failure is a test failure"
)]

use bytes::{Bytes, BytesMut};
use telox_sip_core::header::{
    Authorization, CSeq, CallId, Contact, ContentLength, ContentType, From, MaxForwards, To, Via,
};
use telox_sip_core::{
    Framer, HeaderName, Limit, Message, Method, ParseError, ParseLimits, Request, Response,
    StatusCode, Uri,
};

const INVITE: &[u8] = include_bytes!("data/sip/invite.sip");
const OK: &[u8] = include_bytes!("data/sip/ok.sip");
const REGISTER: &[u8] = include_bytes!("data/sip/register.sip");

fn req(wire: &'static [u8]) -> Request {
    Request::parse(Bytes::from_static(wire)).unwrap()
}

#[test]
fn typical_messages_type_their_core_headers() {
    let r = req(INVITE);
    r.validate().unwrap();
    assert_eq!(r.method(), &Method::Invite);
    assert_eq!(r.uri().host(), "biloxi.example.com");
    let via = r.header::<Via>().unwrap().unwrap();
    assert_eq!(
        (via.host(), via.port(), via.rport()),
        ("pc33.atlanta.example.com", Some(5060), Some(None))
    );
    assert_eq!(
        r.header::<From>().unwrap().unwrap().tag(),
        Some("1928301774")
    );
    assert_eq!(r.header::<To>().unwrap().unwrap().tag(), None);
    assert_eq!(
        r.header::<CSeq>().unwrap().unwrap(),
        CSeq::new(314_159, Method::Invite)
    );
    let contact = r.header::<Contact>().unwrap().unwrap();
    assert_eq!(contact.uri().unwrap().param("transport"), Some(Some("udp")));
    let cl = r.header::<ContentLength>().unwrap().unwrap();
    assert_eq!(cl.0 as usize, r.body().len());
    assert!(r.body().starts_with(b"v=0\r\n"));
    assert_eq!(r.to_bytes(), Bytes::from_static(INVITE));

    let ok = Response::parse(Bytes::from_static(OK)).unwrap();
    ok.validate().unwrap();
    assert_eq!((ok.status(), ok.reason()), (StatusCode::OK, "OK"));
    let via = ok.header::<Via>().unwrap().unwrap();
    assert_eq!(
        (via.received(), via.rport()),
        (Some("192.0.2.101"), Some(Some(5060)))
    );

    let reg = req(REGISTER);
    reg.validate().unwrap();
    let auth = reg.header::<Authorization>().unwrap().unwrap();
    assert_eq!(
        auth.param("nonce").unwrap(),
        "dcd98b7102dd2f0e8b11d0f600bfb0c093"
    );
    assert_eq!(auth.param("algorithm").unwrap(), "MD5");
    assert_eq!(
        reg.header::<Contact>().unwrap().unwrap().expires(),
        Some(7200)
    );
}

#[test]
fn every_truncated_prefix_is_handled() {
    for wire in [INVITE, OK, REGISTER] {
        let head_end = wire.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        for len in 0..wire.len() {
            let prefix = Bytes::copy_from_slice(&wire[..len]);
            // datagram: a cut body is an error; a cut header section is an error or a message
            // without body (a datagram may end after its last header line)
            match Message::parse(prefix.clone()) {
                Ok(m) => assert!(len <= head_end && m.body().is_empty(), "len {len}"),
                Err(e) => assert_ne!(e.status_code().0, 0),
            }
            // stream: never complete
            assert!(Message::parse_stream(prefix.clone(), &ParseLimits::default()).is_err());
            let mut buf = BytesMut::from(&prefix[..]);
            assert_eq!(Framer::default().decode(&mut buf), Ok(None), "len {len}");
        }
    }
}

#[test]
fn limits_are_errors_with_their_status_codes() {
    let wire = Bytes::from_static(INVITE);
    let small = ParseLimits {
        max_message: 500,
        ..ParseLimits::default()
    };
    let e = Message::parse_with(wire.clone(), &small).unwrap_err();
    assert_eq!(
        e,
        ParseError::TooLarge {
            limit: Limit::Message,
            max: 500
        }
    );
    assert_eq!(e.status_code(), StatusCode::MESSAGE_TOO_LARGE);
    let body = ParseLimits {
        max_body: 100,
        ..ParseLimits::default()
    };
    let e = Message::parse_with(wire.clone(), &body).unwrap_err();
    assert_eq!(e.status_code(), StatusCode::REQUEST_ENTITY_TOO_LARGE);
    let headers = ParseLimits {
        max_headers: 5,
        ..ParseLimits::default()
    };
    let e = Message::parse_with(wire.clone(), &headers).unwrap_err();
    assert_eq!(
        e,
        ParseError::TooLarge {
            limit: Limit::Headers,
            max: 5
        }
    );
    let line = ParseLimits {
        max_header_line: 40,
        ..ParseLimits::default()
    };
    let e = Message::parse_with(wire, &line).unwrap_err();
    assert!(matches!(
        e,
        ParseError::TooLarge {
            limit: Limit::HeaderLine,
            ..
        }
    ));
    assert_eq!(e.status_code(), StatusCode::BAD_REQUEST);
}

#[test]
fn start_line_errors_say_where() {
    let cases: &[(&[u8], ParseError)] = &[
        (
            b"INVITE sip:a@b SIP/3.0\r\n\r\n",
            ParseError::UnsupportedVersion,
        ),
        (
            b"INVITE sip:a@b HTTP/1.1\r\n\r\n",
            ParseError::BadStartLine { at: 15 },
        ),
        (
            b"INV(TE sip:a@b SIP/2.0\r\n\r\n",
            ParseError::BadMethod { at: 3 },
        ),
        (
            b"INVITE sip:a@b\r\n\r\n",
            ParseError::BadStartLine { at: 14 },
        ),
        (
            b"INVITE a@b SIP/2.0\r\n\r\n",
            ParseError::BadRequestUri { at: 7 },
        ),
        (
            b"SIP/2.0 99 Odd\r\n\r\n",
            ParseError::BadStatusCode { at: 8 },
        ),
        (
            b"SIP/2.0 700 Odd\r\n\r\n",
            ParseError::BadStatusCode { at: 8 },
        ),
        (
            b"SIP/2.0 200 OK\r\nVia SIP/2.0/UDP h\r\n\r\n",
            ParseError::BadHeaderLine { at: 16 },
        ),
        (
            b"SIP/2.0 200 OK\r\n: x\r\n\r\n",
            ParseError::BadHeaderLine { at: 16 },
        ),
        (b"", ParseError::Incomplete),
    ];
    for (wire, expected) in cases {
        let got = Message::parse(Bytes::from_static(wire)).unwrap_err();
        assert_eq!(&got, expected, "{}", String::from_utf8_lossy(wire));
    }
}

#[test]
fn leading_crlf_and_bare_lf_are_tolerated() {
    let m = Message::parse(Bytes::from_static(
        b"\r\n\r\nOPTIONS sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\nl: 0\n\n",
    ))
    .unwrap();
    assert_eq!(m.headers().len(), 2);
    assert!(m.to_bytes().starts_with(b"OPTIONS"));
}

#[test]
fn response_from_request_per_8_2_6() {
    let mut wire = INVITE.to_vec();
    // a second Via and a Timestamp, to check order and the 100 rule
    let at = wire.windows(4).position(|w| w == b"\r\nMa").unwrap() + 2;
    wire.splice(
        at..at,
        b"Via: SIP/2.0/TCP proxy.example.com;branch=z9hG4bK2\r\nTimestamp: 54\r\n"
            .iter()
            .copied(),
    );
    let r = Request::parse(Bytes::from(wire)).unwrap();

    let trying = Response::builder(&r, StatusCode::TRYING).build();
    assert_eq!(
        trying.to_bytes().split(|&b| b == b'\n').next().unwrap(),
        b"SIP/2.0 100 Trying\r"
    );
    assert_eq!(
        trying
            .headers()
            .named(HeaderName::Timestamp)
            .next()
            .unwrap()
            .value,
        b"54"
    );
    assert_eq!(trying.header::<To>().unwrap().unwrap().tag(), None);

    let ok = Response::builder(&r, StatusCode::OK)
        .to_tag("a6c85cf")
        .header(Contact::new("sip:bob@192.0.2.4".parse().unwrap()))
        .header(ContentType::sdp())
        .body(Bytes::from_static(b"v=0\r\n"))
        .build();
    ok.validate().unwrap();
    let vias: Vec<String> = ok
        .header_all::<Via>()
        .map(|v| v.unwrap().to_string())
        .collect();
    let req_vias: Vec<String> = r
        .header_all::<Via>()
        .map(|v| v.unwrap().to_string())
        .collect();
    assert_eq!(vias, req_vias);
    assert_eq!(vias.len(), 2);
    assert_eq!(ok.header::<From>(), r.header::<From>());
    assert_eq!(ok.header::<CallId>(), r.header::<CallId>());
    assert_eq!(ok.header::<CSeq>(), r.header::<CSeq>());
    assert!(ok.headers().named(HeaderName::Timestamp).next().is_none());
    let to = ok.header::<To>().unwrap().unwrap();
    assert_eq!(to.tag(), Some("a6c85cf"));
    assert_eq!(to.uri(), r.header::<To>().unwrap().unwrap().uri());
    assert_eq!(ok.body(), b"v=0\r\n");
    assert_eq!(
        ok.header::<ContentLength>().unwrap().unwrap(),
        ContentLength(5)
    );
    // an existing To tag is kept
    let again = Response::builder(&Request::parse(ok_as_request(&ok)).unwrap(), StatusCode::OK)
        .to_tag("other")
        .build();
    assert_eq!(
        again.header::<To>().unwrap().unwrap().tag(),
        Some("a6c85cf")
    );
    // parse(serialize(built)) is the same message
    assert_eq!(
        Message::parse(ok.to_bytes()).unwrap(),
        Message::Response(ok.clone())
    );
    let busy = Response::builder(&r, StatusCode::BUSY_HERE)
        .reason("Busy\r\nX: y")
        .build();
    assert_eq!(busy.reason(), "Busy  X: y");
    assert_eq!(busy.headers().len(), 7);
}

/// The response's headers under a request line, to feed it back to the builder.
fn ok_as_request(ok: &Response) -> Bytes {
    let bytes = ok.to_bytes();
    let nl = bytes.iter().position(|&b| b == b'\n').unwrap();
    let mut v = b"INVITE sip:bob@biloxi.example.com SIP/2.0\r\n".to_vec();
    v.extend_from_slice(&bytes[nl + 1..]);
    Bytes::from(v)
}

#[test]
fn builder_round_trip_and_modification() {
    let uri: Uri = "sip:bob@biloxi.example.com".parse().unwrap();
    let r = Request::builder(Method::Bye, uri.clone())
        .header(
            Via::new(
                "TCP",
                "pc33.atlanta.example.com",
                Some(5070),
                "z9hG4bKnashds8",
            )
            .unwrap(),
        )
        .header(MaxForwards(70))
        .header(From::new("sip:alice@atlanta.example.com".parse().unwrap()).with_tag("9fxced76sl"))
        .header(To::new(uri).with_tag("8321234356"))
        .header(CallId::new("3848276298220188511@atlanta.example.com").unwrap())
        .header(CSeq::new(u32::MAX, Method::Bye))
        .raw_header("X-Trace", "abc def")
        .unwrap()
        .build();
    r.validate().unwrap();
    let parsed = Request::parse(r.to_bytes()).unwrap();
    assert_eq!(parsed, r);
    assert_eq!(parsed.header::<CSeq>().unwrap().unwrap().seq(), u32::MAX);
    assert_eq!(
        parsed.headers().named_str("x-trace").next().unwrap().value,
        b"abc def"
    );
    assert!(r.to_builder().raw_header("Bad Name", "x").is_err());
    assert!(r.to_builder().raw_header("X", "a\r\nInjected: 1").is_err());

    // a proxy adds its Via on top and decrements Max-Forwards (RFC 3261 §16.6)
    let mut b = parsed.to_builder();
    b.prepend_header(Via::new("UDP", "proxy.example.com", None, "z9hG4bKp1").unwrap());
    b.set_header(MaxForwards(69));
    let fwd = b.build();
    let vias: Vec<Via> = fwd.header_all::<Via>().map(Result::unwrap).collect();
    assert_eq!(vias.len(), 2);
    assert_eq!(vias[0].host(), "proxy.example.com");
    assert_eq!(
        fwd.header::<MaxForwards>().unwrap().unwrap(),
        MaxForwards(69)
    );
    assert_eq!(fwd.headers().named(HeaderName::MaxForwards).count(), 1);
    fwd.validate().unwrap();
}

#[test]
fn many_headers_spill_past_the_inline_index() {
    let mut wire = b"OPTIONS sip:a@b SIP/2.0\r\n".to_vec();
    for i in 0..100 {
        wire.extend_from_slice(format!("Via: SIP/2.0/UDP h{i};branch=z9hG4bK{i}\r\n").as_bytes());
    }
    wire.extend_from_slice(b"l: 0\r\n\r\n");
    let m = Message::parse(Bytes::from(wire.clone())).unwrap();
    assert_eq!(m.headers().len(), 101);
    let last = m.headers().get_all::<Via>().last().unwrap().unwrap();
    assert_eq!(last.branch(), Some("z9hG4bK99"));
    assert_eq!(m.to_bytes(), Bytes::from(wire));
}

/// The inline index stores 16-bit offsets and a value at most 255 bytes after its name's
/// start: a header section past 64 KiB (limits raised) or a name over 255 bytes moves it to
/// the heap, with every line kept.
#[test]
fn long_names_and_offsets_past_64k_spill_past_the_inline_index() {
    let limits = ParseLimits {
        max_message: 1 << 20,
        max_header_line: 1 << 20,
        ..ParseLimits::default()
    };
    let long_name = format!("X-{}", "n".repeat(300));
    let filler = "a".repeat(70_000);
    let mut wire = b"OPTIONS sip:a@b SIP/2.0\r\nCall-ID: 1@h\r\n".to_vec();
    wire.extend_from_slice(format!("{long_name}: named\r\nX-Big: {filler}\r\n").as_bytes());
    wire.extend_from_slice(b"Via: SIP/2.0/UDP far;branch=z9hG4bKfar\r\nl: 4\r\n\r\nbody");
    let m = Message::parse_with(Bytes::from(wire.clone()), &limits).unwrap();
    let h = m.headers();
    let lines: Vec<(String, usize)> = h
        .iter()
        .map(|l| (l.name.to_owned(), l.value.len()))
        .collect();
    assert_eq!(
        lines,
        [
            ("Call-ID".to_owned(), 3),
            (long_name.clone(), 5),
            ("X-Big".to_owned(), 70_000),
            ("Via".to_owned(), 33),
            ("l".to_owned(), 1),
        ]
    );
    assert_eq!(h.named_str(&long_name).next().unwrap().value, b"named");
    let via = h.get::<Via>().unwrap().unwrap();
    assert_eq!(via.branch(), Some("z9hG4bKfar"));
    assert_eq!(h.get::<CallId>().unwrap().unwrap().as_str(), "1@h");
    assert_eq!(m.body(), b"body");
    assert_eq!(m.to_bytes(), Bytes::from(wire));
    // the same lines without the long ones stay inline and read the same
    let short = b"OPTIONS sip:a@b SIP/2.0\r\nCall-ID: 1@h\r\nl: 4\r\n\r\nbody";
    let m = Message::parse(Bytes::from_static(short)).unwrap();
    assert_eq!(
        m.headers().get::<CallId>().unwrap().unwrap().as_str(),
        "1@h"
    );
}

/// The index keeps where a name starts and where its value lies; the name's end is read
/// from the bytes (the first non-token byte). Whitespace before and after the colon, up to
/// and past the 255 bytes an inline line allows between a name's start and its value, gives
/// the same names and values, and a builder widening a later line keeps them.
#[test]
fn names_are_read_up_to_the_colon_whatever_the_whitespace() {
    for (before, after) in [
        (0, 1),
        (0, 0),
        (3, 2),
        (1, 240),
        (120, 120),
        // 7 + 1 + 247: the value 255 bytes after the name's start (inline), then 256
        (0, 246),
        (0, 247),
        (0, 248),
        (200, 100),
        (0, 400),
    ] {
        let subject = format!(
            "Subject{}:{}hi there",
            " ".repeat(before),
            "\t".repeat(after)
        );
        let wire = format!(
            "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n{subject}\r\n\
             X-Tok!%*_+`'~ : v2\r\nTo: <sip:b@h>\r\nFrom: <sip:a@h>;tag=1\r\nCall-ID: c\r\n\
             CSeq: 1 OPTIONS\r\nl: 0\r\n\r\n"
        );
        let m = Request::parse(Bytes::from(wire.clone())).unwrap();
        let lines: Vec<(&str, &[u8])> = m.headers().iter().map(|h| (h.name, h.value)).collect();
        let want: Vec<(&str, &[u8])> = vec![
            ("Via", b"SIP/2.0/UDP h;branch=z9hG4bK1"),
            ("Subject", b"hi there"),
            ("X-Tok!%*_+`'~", b"v2"),
            ("To", b"<sip:b@h>"),
            ("From", b"<sip:a@h>;tag=1"),
            ("Call-ID", b"c"),
            ("CSeq", b"1 OPTIONS"),
            ("l", b"0"),
        ];
        assert_eq!(lines, want, "{before} {after}");
        assert_eq!(m.headers().named_str("x-tok!%*_+`'~").count(), 1);
        // the builder copies the lines and widens To by its tag
        let ok = Response::builder(&m, StatusCode::OK).to_tag("t9").build();
        let to = ok.headers().named(HeaderName::To).next().unwrap();
        assert_eq!((to.name, to.value), ("To", &b"<sip:b@h>;tag=t9"[..]));
        let names: Vec<&str> = ok.headers().iter().map(|h| h.name).collect();
        assert_eq!(
            names,
            ["Via", "To", "From", "Call-ID", "CSeq", "Content-Length"]
        );
        let rebuilt = m.to_builder().build();
        let names: Vec<&str> = rebuilt.headers().iter().map(|h| h.name).collect();
        assert_eq!(
            names[..3],
            ["Via", "Subject", "X-Tok!%*_+`'~"],
            "{before} {after}"
        );
        assert_eq!(Request::parse(rebuilt.to_bytes()).unwrap(), rebuilt);
    }
}

#[test]
fn list_headers_split_at_commas_outside_quotes() {
    let m = Message::parse(Bytes::from_static(
        b"SIP/2.0 200 OK\r\nContact: \"a, b\" <sip:a:p,w@h;x=1>;q=0.5, <sip:c@h>\r\nContact: *\r\n\
          Via: SIP/2.0/UDP h1;branch=z9hG4bK1,SIP/2.0/UDP h2;branch=z9hG4bK2\r\nl: 0\r\n\r\n",
    ))
    .unwrap();
    let c: Vec<Contact> = m
        .headers()
        .get_all::<Contact>()
        .map(Result::unwrap)
        .collect();
    assert_eq!(c.len(), 3);
    assert_eq!(c[0].addr().unwrap().display_name().unwrap(), "a, b");
    assert_eq!(c[0].uri().unwrap().password(), Some("p,w"));
    assert_eq!(c[2], Contact::Wildcard);
    assert_eq!(m.headers().get_all::<Via>().count(), 2);
    // Authorization-like headers are not split
    let a = Message::parse(Bytes::from_static(
        b"SIP/2.0 401 Unauthorized\r\nWWW-Authenticate: Digest realm=\"a,b\", nonce=\"n\"\r\nl: 0\r\n\r\n",
    ))
    .unwrap();
    let w = a
        .header::<telox_sip_core::header::WwwAuthenticate>()
        .unwrap()
        .unwrap();
    assert_eq!(w.param("realm").unwrap(), "a,b");
    assert_eq!(w.param("nonce").unwrap(), "n");
}

#[test]
fn framer_feeds_stream_parser() {
    let mut stream = BytesMut::new();
    stream.extend_from_slice(INVITE);
    stream.extend_from_slice(b"\r\n\r\n");
    stream.extend_from_slice(OK);
    let mut framer = Framer::default();
    let mut got = Vec::new();
    while let Some(frame) = framer.decode(&mut stream).unwrap() {
        got.push(Message::parse_stream(frame, &ParseLimits::default()).unwrap());
    }
    assert_eq!(got.len(), 2);
    assert!(framer.take_ping());
    assert_eq!(got[1].as_response().unwrap().status(), StatusCode::OK);
    assert_eq!(got[0].to_bytes(), Bytes::from_static(INVITE));
}
