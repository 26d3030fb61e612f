//! Messages in the shape real vendors send (tests/data/vendor-style, see README.md there):
//! Cisco CUCM, Avaya Session Manager, Microsoft Teams Direct Routing (upper-case header names),
//! Polycom, Yealink, Grandstream, Asterisk, FreeSWITCH, Kamailio, and the compact forms.
//! Each parses, validates, serializes back byte-exact, and every typed header it carries
//! parses; then the facts a UA acts on are checked field by field.

use bytes::Bytes;
use telox_sip_core::auth::Challenge;
use telox_sip_core::header::{
    Allow, Authorization, CSeq, CallId, Contact, ContentType, Date, Event, Expires, From, Header,
    MaxForwards, MinSe, PAssertedIdentity, RSeq, Reason, RecordRoute, Require, Route, Server,
    SessionExpires, SubscriptionState, Supported, To, UserAgent, Via, WwwAuthenticate,
};
use telox_sip_core::{Headers, Message, Method};

const FILES: [&str; 10] = [
    "asterisk_401",
    "avaya_sm_invite",
    "cisco_cucm_invite",
    "compact_form_invite",
    "freeswitch_183",
    "grandstream_notify_mwi",
    "kamailio_record_route_bye",
    "polycom_register",
    "teams_direct_routing_invite",
    "yealink_subscribe_mwi",
];

fn load(name: &str) -> Message {
    let path = format!(
        "{}/tests/data/vendor-style/{name}.sip",
        env!("CARGO_MANIFEST_DIR")
    );
    let raw = Bytes::from(std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}")));
    let msg = Message::parse(raw.clone()).unwrap_or_else(|e| panic!("{name}: parse: {e}"));
    msg.validate()
        .unwrap_or_else(|e| panic!("{name}: validate: {e}"));
    assert_eq!(msg.to_bytes(), raw, "{name}: not byte-exact");
    msg
}

/// Every value of `H` in `h` parses; returns them.
fn all<H: Header>(name: &str, h: &Headers) -> Vec<H> {
    h.get_all::<H>()
        .map(|v| v.unwrap_or_else(|e| panic!("{name}: {}: {e}", H::NAME.as_str())))
        .collect()
}

fn one<H: Header>(name: &str, h: &Headers) -> H {
    h.get::<H>()
        .unwrap_or_else(|| panic!("{name}: no {}", H::NAME.as_str()))
        .unwrap_or_else(|e| panic!("{name}: {}: {e}", H::NAME.as_str()))
}

#[test]
fn every_message_parses_and_every_typed_header_in_it_parses() {
    // Every file of the folder is in FILES (none is left out of the checks).
    let dir = format!("{}/tests/data/vendor-style", env!("CARGO_MANIFEST_DIR"));
    let mut found: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|f| f.strip_suffix(".sip").map(str::to_owned))
        .collect();
    found.sort();
    assert_eq!(found, FILES);
    for name in FILES {
        let m = load(name);
        let h = m.headers();
        assert!(!all::<Via>(name, h).is_empty(), "{name}: no Via");
        one::<From>(name, h);
        one::<To>(name, h);
        one::<CallId>(name, h);
        one::<CSeq>(name, h);
        all::<Contact>(name, h);
        all::<Route>(name, h);
        all::<RecordRoute>(name, h);
        all::<ContentType>(name, h);
        all::<MaxForwards>(name, h);
        all::<Expires>(name, h);
        all::<Allow>(name, h);
        all::<Supported>(name, h);
        all::<Require>(name, h);
        all::<SessionExpires>(name, h);
        all::<MinSe>(name, h);
        all::<PAssertedIdentity>(name, h);
        all::<Authorization>(name, h);
        all::<WwwAuthenticate>(name, h);
        all::<Event>(name, h);
        all::<SubscriptionState>(name, h);
        all::<RSeq>(name, h);
        all::<Reason>(name, h);
        all::<UserAgent>(name, h);
        all::<Server>(name, h);
        all::<Date>(name, h);
        // An INVITE's or 183's offer/answer is found in the body.
        if one::<CSeq>(name, h).method() == &Method::Invite && !m.body().is_empty() {
            let sdp = telox_sip_core::body::session_description(h)
                .unwrap_or_else(|e| panic!("{name}: body: {e}"))
                .unwrap_or_else(|| panic!("{name}: no SDP"));
            assert!(sdp.starts_with(b"v=0\r\n"), "{name}");
        }
    }
}

#[test]
fn teams_upper_case_names_and_its_via_parameters() {
    let name = "teams_direct_routing_invite";
    let m = load(name);
    let h = m.headers();
    assert_eq!(one::<From>(name, h).tag(), Some("1c29a8f6b1"));
    assert_eq!(one::<CSeq>(name, h).seq(), 1);
    let via = &all::<Via>(name, h)[0];
    assert_eq!(via.transport(), "TLS");
    assert_eq!(via.received(), Some("198.51.100.24"));
    assert_eq!(via.params().get("ms-received-port"), Some(Some("5061")));
    assert_eq!(one::<SessionExpires>(name, h).seconds(), 3600);
    assert_eq!(one::<MinSe>(name, h).seconds(), 90);
    assert_eq!(all::<RecordRoute>(name, h).len(), 1);
}

#[test]
fn compact_forms_read_as_their_long_names() {
    let name = "compact_form_invite";
    let m = load(name);
    let h = m.headers();
    assert_eq!(all::<Via>(name, h)[0].branch(), Some("z9hG4bKnashds8"));
    assert_eq!(one::<From>(name, h).tag(), Some("1928301774"));
    assert_eq!(
        one::<CallId>(name, h).as_str(),
        "a84b4c76e66710@pc33.atlanta.example.com"
    );
    assert!(one::<ContentType>(name, h).is("application", "sdp"));
    assert!(one::<Supported>(name, h).contains("100rel"));
    assert_eq!(one::<SessionExpires>(name, h).refresher(), Some("uac"));
    assert_eq!(all::<Contact>(name, h).len(), 1);
}

#[test]
fn avaya_two_vias_history_info_and_sdes_with_mki() {
    let name = "avaya_sm_invite";
    let m = load(name);
    let h = m.headers();
    let vias = all::<Via>(name, h);
    assert_eq!(vias.len(), 2);
    assert_eq!(vias[0].port(), None);
    assert_eq!(vias[1].received(), Some("10.1.1.6"));
    assert_eq!(one::<MaxForwards>(name, h).0, 67);
    assert_eq!(
        one::<Contact>(name, h).uri().map(|u| u.to_string()),
        Some("sips:4001@10.1.1.6:5061;transport=tls".to_owned())
    );
    assert_eq!(
        h.iter()
            .filter(|l| l.name.eq_ignore_ascii_case("History-Info"))
            .count(),
        2
    );
}

#[test]
fn cisco_doubled_supported_and_proprietary_contact_parameter() {
    let name = "cisco_cucm_invite";
    let m = load(name);
    let h = m.headers();
    let supported = all::<Supported>(name, h);
    assert_eq!(supported.len(), 2, "two Supported lines");
    assert!(supported[1].contains("X-cisco-srtp-fallback"));
    assert_eq!(one::<MinSe>(name, h).seconds(), 1800);
    let contact = one::<Contact>(name, h);
    assert_eq!(
        contact
            .addr()
            .and_then(|a| a.params().get("+u.sip!devicename.ccm.cisco.com")),
        Some(Some("\"SEP001122334455\""))
    );
}

#[test]
fn registration_and_challenge_from_phones_and_asterisk() {
    let name = "polycom_register";
    let m = load(name);
    let h = m.headers();
    let contact = one::<Contact>(name, h);
    assert_eq!(
        contact.addr().and_then(|a| a.params().get("reg-id")),
        Some(Some("1"))
    );
    assert_eq!(one::<Expires>(name, h).0, 3600);
    one::<Authorization>(name, h);

    let name = "asterisk_401";
    let m = load(name);
    let Message::Response(r) = &m else {
        panic!("{name}: a response")
    };
    assert_eq!(r.status().as_u16(), 401);
    let www = one::<WwwAuthenticate>(name, m.headers()).to_string();
    // Asterisk writes the algorithm in lower case and no spaces after commas.
    let challenge = Challenge::parse(&www).unwrap();
    assert!(challenge.is_supported(), "{www}");
    assert_eq!(challenge.realm, "asterisk");
}

#[test]
fn kamailio_route_list_on_one_line_and_a_q850_reason() {
    let name = "kamailio_record_route_bye";
    let m = load(name);
    let h = m.headers();
    assert_eq!(all::<Route>(name, h).len(), 2);
    assert_eq!(one::<Reason>(name, h).cause(), Some(16));
    assert_eq!(all::<Via>(name, h)[1].rport(), Some(Some(1024)));
}

#[test]
fn mwi_subscription_and_notify() {
    let name = "yealink_subscribe_mwi";
    let m = load(name);
    assert_eq!(one::<Event>(name, m.headers()).value(), "message-summary");
    let name = "grandstream_notify_mwi";
    let m = load(name);
    let h = m.headers();
    assert_eq!(one::<SubscriptionState>(name, h).expires(), Some(3599));
    assert!(one::<ContentType>(name, h).is("application", "simple-message-summary"));
}

#[test]
fn freeswitch_reliable_183_with_early_media() {
    let name = "freeswitch_183";
    let m = load(name);
    let h = m.headers();
    assert_eq!(one::<RSeq>(name, h).0, 1);
    assert!(one::<Require>(name, h).contains("100rel"));
}
