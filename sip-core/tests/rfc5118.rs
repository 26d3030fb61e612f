//! RFC 5118 (SIP torture tests for IPv6): IPv6 references in the Request-URI, Via, Contact and
//! To, the port/address ambiguity, `received` with and without brackets, mixed IPv4/IPv6 Vias
//! and IPv4-mapped addresses. Data: tests/data/rfc5118 (see README.md there).

use bytes::Bytes;
use telox_sip_core::header::{Contact, To, Via};
use telox_sip_core::{Message, Request, StatusCode};

fn load(name: &str) -> Bytes {
    let path = format!(
        "{}/tests/data/rfc5118/{name}.sip",
        env!("CARGO_MANIFEST_DIR")
    );
    Bytes::from(std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
}

/// Parses, validates and checks the byte-exact round trip; returns the request.
fn request(name: &str) -> Request {
    let raw = load(name);
    let msg = Message::parse(raw.clone()).unwrap_or_else(|e| panic!("{name}: parse: {e}"));
    msg.validate()
        .unwrap_or_else(|e| panic!("{name}: validate: {e}"));
    assert_eq!(msg.to_bytes(), raw, "{name}: not byte-exact");
    match msg {
        Message::Request(r) => r,
        Message::Response(_) => panic!("{name}: expected a request"),
    }
}

fn vias(r: &Request) -> Vec<Via> {
    r.header_all::<Via>().map(Result::unwrap).collect()
}

#[test]
fn s4_1_ipv6_reference_in_request_uri_via_and_contact() {
    let r = request("ipv6-good");
    assert_eq!(r.uri().host(), "[2001:db8::10]");
    assert_eq!(r.uri().port(), None);
    let v = vias(&r);
    assert_eq!((v[0].host(), v[0].port()), ("[2001:db8::9:1]", None));
    assert_eq!(v[0].branch(), Some("z9hG4bKas3-111"));
    let contact = r.header::<Contact>().unwrap().unwrap();
    assert_eq!(contact.uri().unwrap().host(), "[2001:db8::1]");
}

#[test]
fn s4_2_ipv6_without_brackets_in_request_uri_is_a_400() {
    let e = Message::parse(load("ipv6-bad")).expect_err("ipv6-bad must be refused");
    assert_eq!(e.status_code(), StatusCode::BAD_REQUEST, "{e}");
}

#[test]
fn s4_3_colon_inside_the_brackets_is_part_of_the_address() {
    let r = request("port-ambiguous");
    assert_eq!(r.uri().host(), "[2001:db8::10:5070]");
    assert_eq!(r.uri().port(), None);
}

#[test]
fn s4_4_port_after_the_brackets() {
    let r = request("port-unambiguous");
    assert_eq!(r.uri().host(), "[2001:db8::10]");
    assert_eq!(r.uri().port(), Some(5070));
}

#[test]
fn s4_5_received_with_and_without_brackets() {
    let r = request("via-received-param-with-delim");
    assert_eq!(vias(&r)[0].received(), Some("[2001:db8::9:255]"));
    assert_eq!(vias(&r)[0].branch(), Some("z9hG4bKas3-111"));
    let r = request("via-received-param-no-delim");
    assert_eq!(vias(&r)[0].received(), Some("2001:db8::9:255"));
    assert_eq!(vias(&r)[0].branch(), Some("z9hG4bKas3"));
}

#[test]
fn s4_7_ipv6_and_ipv4_vias_mixed() {
    let r = request("mult-ip-in-header");
    let v = vias(&r);
    assert_eq!(v.len(), 3);
    assert_eq!(
        (v[0].transport(), v[0].host(), v[0].port()),
        ("UDP", "[2001:db8::9:1]", Some(6050))
    );
    assert_eq!((v[1].host(), v[1].port()), ("192.0.2.1", None));
    assert_eq!(
        (v[2].transport(), v[2].host(), v[2].received()),
        ("TCP", "[2001:db8::9:255]", Some("192.0.2.200"))
    );
}

#[test]
fn s4_9_ipv4_mapped_ipv6() {
    let r = request("ipv4-mapped-ipv6");
    let v = vias(&r);
    assert_eq!(
        (v[0].host(), v[0].port()),
        ("[::ffff:192.0.2.10]", Some(19823))
    );
    assert_eq!(v[1].host(), "[::ffff:192.0.2.2]");
    let contact = r.header::<Contact>().unwrap().unwrap();
    assert_eq!(contact.uri().unwrap().host(), "[::ffff:192.0.2.2]");
}

#[test]
fn s4_10_ipv4_suffix_after_two_and_three_colons() {
    // Two colons: the RFC 4291 form. Three: admitted by RFC 3261's original ABNF (corrected by
    // RFC 5954); RFC 5118 asks parsers to be robust, so it is accepted and kept verbatim.
    for (name, host) in [
        ("ipv6-correct-abnf-2-colons", "[2001:db8::192.0.2.1]"),
        ("ipv6-bug-abnf-3-colons", "[2001:db8:::192.0.2.1]"),
    ] {
        let r = request(name);
        assert_eq!(r.uri().host(), host, "{name}");
        assert_eq!(r.uri().user(), Some("user"), "{name}");
        let to = r.header::<To>().unwrap().unwrap();
        assert_eq!(to.uri().host(), host, "{name}");
    }
}
