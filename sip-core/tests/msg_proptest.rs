//! proptest round trips: typed message -> bytes -> message (same typed values), and
//! bytes -> message -> bytes for canonical input (byte-exact); arbitrary bytes never panic.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: an unwrap failure is a test failure"
)]

use bytes::Bytes;
use proptest::prelude::*;
use telox_sip_core::header::{CSeq, CallId, Contact, From, MaxForwards, To, Via};
use telox_sip_core::{Header, Message, Method, Request, Response, StatusCode, Uri};

fn token() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9][a-zA-Z0-9.!%*_+`'~-]{0,15}"
}

fn host() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-z0-9-]{0,10}(\\.[a-z][a-z0-9-]{0,10}){0,3}",
        (any::<u8>(), any::<u8>(), any::<u8>(), any::<u8>())
            .prop_map(|(a, b, c, d)| format!("{a}.{b}.{c}.{d}")),
        any::<[u16; 8]>().prop_map(|s| {
            let parts: Vec<String> = s.iter().map(|x| format!("{x:x}")).collect();
            format!("[{}]", parts.join(":"))
        }),
    ]
}

fn user() -> impl Strategy<Value = String> {
    "([a-zA-Z0-9_.!~*'()&=+$,;?/-]|%[0-9A-F]{2}){1,20}"
}

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        Just(Method::Invite),
        Just(Method::Register),
        Just(Method::Options),
        Just(Method::Bye),
        Just(Method::Subscribe),
        "[A-Z]{3,10}".prop_map(|m| Method::from_token(m.as_bytes()).unwrap()),
    ]
}

#[derive(Clone, Debug)]
struct Fields {
    method: Method,
    ruri_user: Option<String>,
    ruri_host: String,
    port: Option<u16>,
    transport: String,
    branch: String,
    from_tag: String,
    to_tag: Option<String>,
    display: Option<String>,
    call_id: String,
    cseq: u32,
    max_forwards: u8,
    q: Option<u16>,
    body: Vec<u8>,
}

fn fields() -> impl Strategy<Value = Fields> {
    (
        (
            method(),
            proptest::option::of(user()),
            host(),
            proptest::option::of(any::<u16>()),
        ),
        (
            "UDP|TCP|TLS|SCTP|WS|WSS",
            token(),
            token(),
            proptest::option::of(token()),
        ),
        (
            proptest::option::of("[ -~]{0,20}"),
            token(),
            any::<u32>(),
            any::<u8>(),
        ),
        (
            proptest::option::of(0u16..=1000),
            proptest::collection::vec(any::<u8>(), 0..200),
        ),
    )
        .prop_map(
            |((method, ruri_user, ruri_host, port), (t, b, ft, tt), (d, c, s, mf), (q, body))| {
                Fields {
                    method,
                    ruri_user,
                    ruri_host,
                    port,
                    transport: t,
                    branch: format!("z9hG4bK{b}"),
                    from_tag: ft,
                    to_tag: tt,
                    display: d,
                    call_id: c,
                    cseq: s,
                    max_forwards: mf,
                    q,
                    body,
                }
            },
        )
}

fn build(f: &Fields) -> Request {
    let uri = Uri::sip(f.ruri_user.as_deref(), &f.ruri_host, f.port).unwrap();
    let mut to = To::new(uri.clone());
    if let Some(t) = &f.to_tag {
        to.set_tag(t);
    }
    let mut from = From::new(uri.clone()).with_tag(&f.from_tag);
    if let Some(d) = &f.display {
        from = From(from.0.clone().with_display_name(d));
    }
    let mut contact = telox_sip_core::header::NameAddr::new(uri.clone());
    if let Some(q) = f.q {
        contact = contact.with_param("q", Some(&format!("{}.{:03}", q / 1000, q % 1000)));
    }
    Request::builder(f.method.clone(), uri)
        .header(Via::new(&f.transport, &f.ruri_host, f.port, &f.branch).unwrap())
        .header(MaxForwards(f.max_forwards))
        .header(to)
        .header(from)
        .header(CallId::new(&f.call_id).unwrap())
        .header(CSeq::new(f.cseq, f.method.clone()))
        .header(Contact::Addr(contact))
        .body(Bytes::from(f.body.clone()))
        .build()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn typed_message_to_bytes_and_back(f in fields()) {
        let built = build(&f);
        let parsed = Request::parse(built.to_bytes()).unwrap();
        parsed.validate().unwrap();
        prop_assert_eq!(&parsed, &built);
        prop_assert_eq!(parsed.method(), &f.method);
        let ruri = parsed.uri();
        prop_assert_eq!(ruri.user(), f.ruri_user.as_deref());
        prop_assert_eq!(parsed.uri().port(), f.port);
        let via = parsed.header::<Via>().unwrap().unwrap();
        prop_assert_eq!(via.transport(), f.transport.as_str());
        prop_assert_eq!(via.host(), f.ruri_host.as_str());
        prop_assert_eq!(via.branch(), Some(f.branch.as_str()));
        let from = parsed.header::<From>().unwrap().unwrap();
        prop_assert_eq!(from.tag(), Some(f.from_tag.as_str()));
        if let Some(d) = &f.display {
            let shown = from.display_name().unwrap();
            prop_assert_eq!(shown.as_ref(), d.as_str());
        }
        let to = parsed.header::<To>().unwrap().unwrap();
        prop_assert_eq!(to.tag(), f.to_tag.as_deref());
        let cseq = parsed.header::<CSeq>().unwrap().unwrap();
        prop_assert_eq!(cseq.seq(), f.cseq);
        prop_assert_eq!(parsed.header::<MaxForwards>().unwrap().unwrap().0, f.max_forwards);
        let call_id = parsed.header::<CallId>().unwrap().unwrap();
        prop_assert_eq!(call_id.as_str(), f.call_id.as_str());
        prop_assert_eq!(parsed.header::<Contact>().unwrap().unwrap().q(), f.q);
        prop_assert_eq!(parsed.body(), &f.body[..]);
        // typed values print back to text that types to the same value
        for v in parsed.header_all::<Via>() {
            let v = v.unwrap();
            prop_assert_eq!(Via::parse_str(&v.to_string()).unwrap(), v);
        }
    }

    #[test]
    fn canonical_bytes_round_trip_exactly(f in fields(), code in 100u16..700) {
        let req = build(&f);
        let wire = req.to_bytes();
        let m = Message::parse(wire.clone()).unwrap();
        prop_assert_eq!(m.to_bytes(), wire.clone());
        let resp = Response::builder(&req, StatusCode(code)).to_tag("t1").build();
        let rw = resp.to_bytes();
        let again = Message::parse(rw.clone()).unwrap();
        prop_assert_eq!(again.to_bytes(), rw);
        prop_assert_eq!(again.as_response().unwrap().status(), StatusCode(code));
        // rebuilding an unmodified message through its builder is a fixed point
        prop_assert_eq!(req.to_builder().build().to_bytes(), wire);
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..400)) {
        telox_sip_core::fuzzing::datagram(&data);
        telox_sip_core::fuzzing::stream(&data);
        telox_sip_core::fuzzing::typed_header(&data);
    }

    #[test]
    fn mutated_messages_never_panic(
        f in fields(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let mut wire = build(&f).to_bytes().to_vec();
        for (i, b) in edits {
            let at = i.index(wire.len());
            wire[at] = b;
        }
        telox_sip_core::fuzzing::datagram(&wire);
        telox_sip_core::fuzzing::stream(&wire);
    }
}
