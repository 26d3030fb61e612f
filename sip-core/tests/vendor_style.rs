//! Messages in the shape real vendors send (tests/data/vendor-style, see README.md there):
//! Cisco CUCM, Avaya Session Manager, Microsoft Teams Direct Routing (upper-case header names),
//! Polycom, Yealink, Grandstream, Asterisk, FreeSWITCH, Kamailio, and the compact forms; then
//! Cisco CUBE over IPv6, Snom with folded lines, carrier trunks (Diversion, History-Info,
//! Privacy, a SIP-I multipart body, two digest challenges), an ATA without Content-Length,
//! PRACK, UPDATE, OPTIONS keepalives, dialog subscriptions, REFER with Replaces, `sips:` with
//! escaped users, odd spacing and casing, and a 200 through several IPv6 proxies.
//! Each parses, validates, serializes back byte-exact, and every typed header it carries
//! parses; then the facts a UA acts on are checked field by field.

use bytes::{Bytes, BytesMut};
use telox_sip_core::auth::{Challenge, Credentials, DigestAlgorithm, DigestClient};
use telox_sip_core::header::{
    Allow, Authorization, CSeq, CallId, Contact, ContentLength, ContentType, Date, Event, Expires,
    From, Header, Identity, MaxForwards, MinSe, PAssertedIdentity, ProxyAuthenticate, RAck, RSeq,
    Reason, RecordRoute, ReferTo, ReferredBy, Require, Route, Server, SessionExpires,
    SubscriptionState, Supported, To, UserAgent, Via, Warning, WwwAuthenticate,
};
use telox_sip_core::ua::refer::parse_refer_to;
use telox_sip_core::{
    FrameError, Framer, HeaderName, Headers, Message, Method, ParseLimits, Scheme,
};

const FILES: [&str; 61] = [
    "asterisk_401",
    "asterisk_401_received_with_port",
    "asterisk_invite_from_display_bare_uri",
    "asterisk_invite_ipv6_link_local_zone",
    "asterisk_notify_dialog_info",
    "asterisk_notify_refer_sipfrag",
    "asterisk_prack",
    "ata_invite_no_content_length",
    "avaya_sm_invite",
    "bare_lf_options",
    "baresip_refer_bare_replaces",
    "broadworks_401_uppercase_digest",
    "cancel_reason_completed_elsewhere",
    "carrier_180_empty_reason",
    "carrier_407_two_challenges",
    "carrier_invite_stir_shaken_div",
    "carrier_trunk_invite_diversion_privacy",
    "cisco_7960_invite_after_302_quoted_quotes",
    "cisco_cube_invite_ipv6",
    "cisco_cucm_invite",
    "compact_form_invite",
    "contact_expires_date",
    "freeswitch_183",
    "freeswitch_register_200_hash_in_user",
    "freeswitch_update_session_refresh",
    "grandstream_invite_sips_escaped",
    "grandstream_notify_mwi",
    "ims_407_folded_after_scheme",
    "ims_ue_register_aka_initial",
    "ims_volte_invite_npdi",
    "jssip_wss_register",
    "kamailio_options_keepalive",
    "kamailio_record_route_bye",
    "kamailio_register_200_contacts",
    "kamailio_sipt_invite_multipart_unclosed",
    "legacy_rfc2543_register",
    "legacy_rfc2543_register_expires_date",
    "mizudroid_bye_supported_leading_comma",
    "odd_spacing_bye",
    "openims_401_aka_noisy_warning",
    "opensips_options_200",
    "pjsua_refer_replaces_unescaped_at",
    "polycom_publish_vq_rtcpxr",
    "polycom_register",
    "polycom_subscribe_dialog",
    "portasip_480_bracketed_reason",
    "proxy_200_many_vias_ipv6",
    "ringcentral_message_hash_user",
    "sbc_486_utf8_reason",
    "sipi_carrier_invite_multipart",
    "sipp_uac_invite_date_utc",
    "snom_invite_folded",
    "softphone_invite_unquoted_utf8_name",
    "softphone_register_empty_rport",
    "teams_direct_routing_invite",
    "tel_uri_invite",
    "th_proxy_200_quoted_uri_param",
    "unregister_all",
    "vowifi_401_folded_challenge",
    "yealink_refer_replaces",
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
        all::<RAck>(name, h);
        all::<Reason>(name, h);
        all::<ProxyAuthenticate>(name, h);
        all::<ReferTo>(name, h);
        all::<ReferredBy>(name, h);
        all::<UserAgent>(name, h);
        all::<Server>(name, h);
        all::<Date>(name, h);
        all::<Warning>(name, h);
        all::<Identity>(name, h);
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

fn request_uri(name: &str, m: &Message) -> telox_sip_core::Uri {
    m.as_request()
        .unwrap_or_else(|| panic!("{name}: a request"))
        .uri()
}

/// The Refer-To value as received, what the UA hands to `parse_refer_to`.
fn raw_refer_to(h: &Headers) -> &str {
    h.iter()
        .find(|l| l.name.eq_ignore_ascii_case("Refer-To"))
        .and_then(|l| l.value_str())
        .unwrap_or_default()
}

fn count_named(h: &Headers, header: &str) -> usize {
    h.iter()
        .filter(|l| l.name.eq_ignore_ascii_case(header))
        .count()
}

#[test]
fn cisco_cube_over_ipv6_references() {
    let name = "cisco_cube_invite_ipv6";
    let m = load(name);
    let h = m.headers();
    let ruri = request_uri(name, &m);
    assert_eq!(ruri.host(), "[2001:db8:100::20]");
    assert_eq!(ruri.port(), Some(5060));
    assert_eq!(ruri.param("user"), Some(Some("phone")));
    let via = &all::<Via>(name, h)[0];
    assert_eq!(via.host(), "[2001:db8:100::10]");
    assert_eq!(via.port(), Some(5060));
    assert_eq!(via.rport(), Some(None));
    assert_eq!(
        one::<Contact>(name, h).uri().map(|u| u.host().to_owned()),
        Some("[2001:db8:100::10]".to_owned())
    );
    // The Call-ID carries an IPv6 address after the `@`, unbracketed (CUBE does).
    assert_eq!(
        one::<CallId>(name, h).as_str(),
        "9F1E2D3C-AB1211EF-8000C0FF-EE112233@2001:db8:100::10"
    );
    assert!(one::<Supported>(name, h).contains("sdp-anat"));
    assert_eq!(one::<SessionExpires>(name, h).seconds(), 1800);
    assert_eq!(one::<Expires>(name, h).0, 180);
}

#[test]
fn snom_folded_lines_read_as_one_value() {
    let name = "snom_invite_folded";
    let m = load(name);
    let h = m.headers();
    // `Allow` folds after NOTIFY with a space, `Supported` after replaces with a tab.
    let allow = one::<Allow>(name, h);
    for method in [
        Method::Invite,
        Method::Subscribe,
        Method::Update,
        Method::Info,
    ] {
        assert!(allow.contains(&method), "{method:?}");
    }
    let supported = one::<Supported>(name, h);
    assert_eq!(
        supported.iter().collect::<Vec<_>>(),
        ["timer", "100rel", "replaces", "from-change"]
    );
    assert_eq!(
        one::<Contact>(name, h).uri().and_then(|u| u.param("line")),
        Some(Some("uvwxyz1a"))
    );
}

#[test]
fn carrier_trunk_identity_diversion_and_history() {
    let name = "carrier_trunk_invite_diversion_privacy";
    let m = load(name);
    let h = m.headers();
    // The number in the Request-URI is escaped (`%2B` for `+`).
    let ruri = request_uri(name, &m);
    assert_eq!(ruri.user(), Some("%2B14155550142"));
    assert_eq!(ruri.user_unescaped().as_deref(), Some(&b"+14155550142"[..]));
    let vias = all::<Via>(name, h);
    assert_eq!(vias.len(), 3);
    assert_eq!(vias[1].rport(), Some(Some(5060)));
    assert_eq!(vias[2].received(), Some("10.20.0.31"));
    // Three Record-Route values on two lines, in order.
    let rr: Vec<String> = all::<RecordRoute>(name, h)
        .iter()
        .map(|r| r.0.uri().host().to_owned())
        .collect();
    assert_eq!(rr, ["198.51.100.10", "198.51.100.20", "10.20.0.20"]);
    // A sip and a tel identity (RFC 3325 allows one of each).
    let pai = all::<PAssertedIdentity>(name, h);
    assert_eq!(pai.len(), 2);
    assert_eq!(pai[0].0.uri().user(), Some("+12125550187"));
    assert_eq!(pai[1].0.uri().scheme(), Scheme::Tel);
    assert_eq!(one::<From>(name, h).0.uri().host(), "anonymous.invalid");
    assert_eq!(count_named(h, "Privacy"), 1);
    assert_eq!(count_named(h, "Diversion"), 2);
    assert_eq!(count_named(h, "History-Info"), 3);
    // An option we do not know is listed, not refused.
    assert!(one::<Supported>(name, h).contains("x-carrier-feature"));
    assert_eq!(one::<MaxForwards>(name, h).0, 66);
}

#[test]
fn ata_invite_over_udp_without_content_length() {
    let name = "ata_invite_no_content_length";
    let m = load(name);
    // RFC 3261 §18.3: over UDP the body runs to the end of the datagram.
    assert!(m.headers().get::<ContentLength>().is_none());
    assert_eq!(m.body().len(), 204);
    assert!(m.body().starts_with(b"v=0\r\n") && m.body().ends_with(b"a=sendrecv\r\n"));
    let sdp = telox_sip_core::body::session_description(m.headers())
        .unwrap()
        .unwrap();
    assert_eq!(sdp.len(), 204);
    // Over a stream the length is mandatory (§18.3): the framer refuses the same bytes.
    let path = format!(
        "{}/tests/data/vendor-style/{name}.sip",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut stream = BytesMut::from(&std::fs::read(&path).unwrap()[..]);
    assert_eq!(
        Framer::new(ParseLimits::default()).decode(&mut stream),
        Err(FrameError::MissingContentLength)
    );
}

#[test]
fn prack_update_and_cancel_in_a_dialog() {
    let name = "asterisk_prack";
    let m = load(name);
    let h = m.headers();
    let rack = one::<RAck>(name, h);
    assert_eq!(
        (rack.rseq, rack.cseq, rack.method),
        (1, 21633, Method::Invite)
    );
    assert_eq!(one::<CSeq>(name, h).method(), &Method::Prack);
    assert_eq!(one::<To>(name, h).tag(), Some("as58f4201b"));

    let name = "freeswitch_update_session_refresh";
    let m = load(name);
    let h = m.headers();
    assert_eq!(m.as_request().map(|r| r.method()), Some(&Method::Update));
    assert!(m.body().is_empty());
    let se = one::<SessionExpires>(name, h);
    assert_eq!((se.seconds(), se.refresher()), (1800, Some("uac")));
    assert_eq!(one::<MinSe>(name, h).seconds(), 120);
    assert_eq!(all::<Route>(name, h).len(), 1);

    let name = "cancel_reason_completed_elsewhere";
    let m = load(name);
    let reason = one::<Reason>(name, m.headers());
    assert_eq!(reason.value(), "SIP");
    assert_eq!(reason.cause(), Some(200));
    assert_eq!(
        reason.params().get("text"),
        Some(Some("\"Call completed elsewhere\""))
    );
}

#[test]
fn options_keepalive_and_its_answer() {
    let name = "kamailio_options_keepalive";
    let m = load(name);
    let ruri = request_uri(name, &m);
    assert_eq!(
        (ruri.user(), ruri.host(), ruri.port()),
        (None, "10.0.0.21", Some(5060))
    );
    let h = m.headers();
    assert_eq!(one::<To>(name, h).tag(), None);
    assert_eq!(one::<CSeq>(name, h).seq(), 10);
    assert!(
        one::<UserAgent>(name, h)
            .as_str()
            .starts_with("kamailio (5.7.4")
    );

    let name = "opensips_options_200";
    let m = load(name);
    let Message::Response(r) = &m else {
        panic!("{name}: a response")
    };
    assert_eq!(r.status().as_u16(), 200);
    let h = m.headers();
    assert_eq!(one::<To>(name, h).tag(), Some("37GkEhwl6"));
    assert_eq!(all::<Via>(name, h)[0].received(), Some("10.0.0.2"));
    assert!(one::<Allow>(name, h).contains(&Method::Options));
}

#[test]
fn dialog_subscription_and_its_notify() {
    let name = "polycom_subscribe_dialog";
    let m = load(name);
    let h = m.headers();
    assert_eq!(one::<Event>(name, h).value(), "dialog");
    assert_eq!(one::<Expires>(name, h).0, 3600);

    let name = "asterisk_notify_dialog_info";
    let m = load(name);
    let h = m.headers();
    let state = one::<SubscriptionState>(name, h);
    assert_eq!((state.value(), state.expires()), ("active", Some(3599)));
    assert!(one::<ContentType>(name, h).is("application", "dialog-info+xml"));
    assert_eq!(m.body().len(), 526);
    assert!(m.body().ends_with(b"</dialog-info>\r\n"));
}

#[test]
fn refer_with_replaces_and_its_sipfrag_notify() {
    let name = "yealink_refer_replaces";
    let m = load(name);
    let h = m.headers();
    let refer_to = one::<ReferTo>(name, h);
    assert_eq!(refer_to.0.uri().user(), Some("1003"));
    assert!(
        refer_to
            .0
            .uri()
            .headers()
            .is_some_and(|x| x.starts_with("Replaces=0_3911432650%40"))
    );
    let (target, replaces) = parse_refer_to(raw_refer_to(h)).unwrap();
    assert_eq!(target, "sip:1003@pbx.example.com");
    let replaces = replaces.expect("a Replaces in the Refer-To");
    assert_eq!(replaces.call_id, "0_3911432650@192.168.5.31");
    assert_eq!(replaces.to_tag, "1b2c3d4e");
    assert_eq!(replaces.from_tag, "1795364311");
    assert!(!replaces.early_only);
    assert_eq!(one::<ReferredBy>(name, h).0.uri().user(), Some("1001"));

    let name = "asterisk_notify_refer_sipfrag";
    let m = load(name);
    let h = m.headers();
    let event = one::<Event>(name, h);
    assert_eq!((event.value(), event.id()), ("refer", Some("4")));
    let state = one::<SubscriptionState>(name, h);
    assert_eq!(state.value(), "terminated");
    assert_eq!(state.params().get("reason"), Some(Some("noresource")));
    assert!(one::<ContentType>(name, h).is("message", "sipfrag"));
    assert_eq!(m.body(), b"SIP/2.0 200 OK\r\n");
}

#[test]
fn sips_with_an_escaped_hash_and_a_quoted_display_name() {
    let name = "grandstream_invite_sips_escaped";
    let m = load(name);
    let h = m.headers();
    let ruri = request_uri(name, &m);
    assert_eq!(ruri.scheme(), Scheme::Sips);
    assert_eq!(
        ruri.user_unescaped().as_deref(),
        Some(&b"*67#18005550123"[..])
    );
    assert_eq!(ruri.param("transport"), Some(Some("tls")));
    let from = one::<From>(name, h);
    assert_eq!(from.0.display_name().as_deref(), Some("Lab \"B\" Phone"));
    assert_eq!(from.tag(), Some("1432781190"));
    let via = &all::<Via>(name, h)[0];
    assert_eq!(via.transport(), "TLS");
    assert_eq!(via.params().get("alias"), Some(None));
    assert_eq!(all::<Route>(name, h)[0].0.uri().scheme(), Scheme::Sips);
}

#[test]
fn odd_spacing_and_casing_read_as_written_properly() {
    let name = "odd_spacing_bye";
    let m = load(name);
    let h = m.headers();
    // Space before the colon, around `;` and `=`, tabs, names in any case (RFC 3261 §7.3.1,
    // §25.1 SWS).
    let via = &all::<Via>(name, h)[0];
    assert_eq!(via.branch(), Some("z9hG4bK-19a7c"));
    assert_eq!(via.rport(), Some(None));
    assert_eq!(via.host(), "192.0.2.80");
    assert_eq!(one::<From>(name, h).tag(), Some("ab12"));
    assert_eq!(
        one::<From>(name, h).0.display_name().as_deref(),
        Some("Alice")
    );
    // Parameter names are case-insensitive (§7.3.1): `TAG=` is the tag.
    assert_eq!(one::<To>(name, h).tag(), Some("cd34"));
    assert_eq!(one::<CallId>(name, h).as_str(), "x9y8z7@192.0.2.80");
    let cseq = one::<CSeq>(name, h);
    assert_eq!((cseq.seq(), cseq.method()), (2, &Method::Bye));
    assert_eq!(one::<MaxForwards>(name, h).0, 70);
    assert_eq!(one::<ContentLength>(name, h).0, 0);
}

#[test]
fn a_200_through_ipv6_proxies_keeps_every_via_and_route() {
    let name = "proxy_200_many_vias_ipv6";
    let m = load(name);
    let h = m.headers();
    let vias = all::<Via>(name, h);
    let hosts: Vec<&str> = vias.iter().map(|v| v.host()).collect();
    assert_eq!(
        hosts,
        [
            "[2001:db8::1]",
            "[2001:db8:0:1::2]",
            "192.0.2.7",
            "[2001:db8:ab::c0]"
        ]
    );
    assert_eq!(vias[1].transport(), "TCP");
    assert_eq!(vias[1].received(), Some("2001:db8:0:1::2"));
    // RFC 5118 §4.5: a received with brackets is seen in the field.
    assert_eq!(vias[3].received(), Some("[2001:db8:ab::c0]"));
    assert_eq!(vias[3].rport(), Some(Some(5080)));
    assert_eq!(all::<RecordRoute>(name, h).len(), 3);
    assert_eq!(
        one::<Contact>(name, h).uri().map(|u| u.host().to_owned()),
        Some("[2001:db8:cd::77]".to_owned())
    );
    assert!(one::<Require>(name, h).contains("timer"));
    assert_eq!(one::<SessionExpires>(name, h).refresher(), Some("uas"));
}

#[test]
fn two_digest_challenges_sha256_first() {
    let name = "carrier_407_two_challenges";
    let m = load(name);
    let Message::Response(r) = &m else {
        panic!("{name}: a response")
    };
    assert_eq!(r.status().as_u16(), 407);
    let challenges: Vec<Challenge> = all::<ProxyAuthenticate>(name, m.headers())
        .iter()
        .map(|c| Challenge::parse(&c.to_string()).unwrap())
        .collect();
    assert_eq!(challenges.len(), 2);
    assert_eq!(challenges[0].algorithm, Some(DigestAlgorithm::Sha256));
    assert_eq!(challenges[1].algorithm, Some(DigestAlgorithm::Md5));
    for c in &challenges {
        assert_eq!(c.realm, "sip.carrier.example");
        assert_eq!(c.opaque.as_deref(), Some("a1b2c3"));
        assert_eq!(c.qop, ["auth"]);
        assert!(c.is_supported());
    }
}

#[test]
fn sip_i_multipart_gives_the_sdp_part() {
    let name = "sipi_carrier_invite_multipart";
    let m = load(name);
    let h = m.headers();
    let ct = one::<ContentType>(name, h);
    assert!(ct.is("multipart", "mixed"));
    assert_eq!(ct.params().get("boundary"), Some(Some("unique-boundary-1")));
    let sdp = telox_sip_core::body::session_description(h)
        .unwrap()
        .unwrap();
    assert!(sdp.starts_with(b"v=0\r\no=- 83212 83212 IN IP4 203.0.113.70\r\n"));
    // The part ends before the CRLF that precedes the boundary (RFC 2046 §5.1.1).
    assert!(sdp.ends_with(b"a=ptime:20\r\n"), "{sdp:?}");
    assert_eq!(sdp.len(), 216);
    assert_eq!(
        all::<PAssertedIdentity>(name, h)[0].0.uri().scheme(),
        Scheme::Tel
    );
}

#[test]
fn registrar_200_lists_each_binding_with_its_expiry() {
    let name = "kamailio_register_200_contacts";
    let m = load(name);
    let h = m.headers();
    let contacts = all::<Contact>(name, h);
    assert_eq!(contacts.len(), 2);
    assert_eq!(contacts[0].expires(), Some(600));
    assert_eq!(contacts[1].expires(), Some(1800));
    assert_eq!((contacts[0].q(), contacts[1].q()), (None, Some(500)));
    let first = contacts[0].addr().unwrap();
    // Quoted parameter values holding `<`, `>`, `;` and `:` stay whole.
    assert_eq!(
        first.params().get("+sip.instance"),
        Some(Some("\"<urn:uuid:6f1a3c2e-4b5d-4e8f-9a0b-1c2d3e4f5a6b>\""))
    );
    assert_eq!(
        first.params().get("received"),
        Some(Some("\"sip:198.51.100.200:49321;transport=TLS\""))
    );
    assert_eq!(first.params().get("reg-id"), Some(Some("1")));
    assert_eq!(first.uri().param("ob"), Some(None));
    assert_eq!(count_named(h, "Path"), 1);
    assert_eq!(count_named(h, "Service-Route"), 1);
}

#[test]
fn ims_invite_with_a_ported_number_in_the_user_part() {
    let name = "ims_volte_invite_npdi";
    let m = load(name);
    let h = m.headers();
    // RFC 4694: `;npdi;rn=` live inside the user part of a SIP URI (user-unreserved `;`).
    let ruri = request_uri(name, &m);
    assert_eq!(ruri.user(), Some("+12125551234;npdi;rn=+12125550000"));
    assert_eq!(ruri.host(), "ims.mnc001.mcc310.3gppnetwork.org");
    assert_eq!(ruri.param("user"), Some(Some("phone")));
    assert_eq!(ruri.param("npdi"), None);
    let to = one::<To>(name, h);
    assert_eq!(to.0.uri().scheme(), Scheme::Tel);
    assert_eq!(to.0.uri().param("rn"), Some(Some("+12125550000")));
    // Two identities on one line.
    let pai = all::<PAssertedIdentity>(name, h);
    assert_eq!(pai.len(), 2);
    assert_eq!(pai[1].0.uri().scheme(), Scheme::Tel);
    let contact = one::<Contact>(name, h);
    let params = contact.addr().unwrap().params();
    assert_eq!(params.get("+g.3gpp.mid-call"), Some(None));
    assert_eq!(
        params.get("+sip.instance"),
        Some(Some("\"<urn:gsma:imei:35123456-789012-0>\""))
    );
    assert!(one::<Require>(name, h).contains("precondition"));
    assert_eq!(all::<Via>(name, h)[1].received(), Some("2001:db8:7::1"));
    // An empty Subject is a header with an empty value, not an error.
    assert_eq!(count_named(h, "Subject"), 1);
}

#[test]
fn rfc2543_style_register_without_branch_or_brackets() {
    let name = "legacy_rfc2543_register";
    let m = load(name);
    let h = m.headers();
    let via = &all::<Via>(name, h)[0];
    assert_eq!(via.branch(), None);
    assert!(!via.has_rfc3261_branch());
    // An unquoted display name of two tokens; a To without angle brackets.
    assert_eq!(
        one::<From>(name, h).0.display_name().as_deref(),
        Some("Juergen Mueller")
    );
    let to = one::<To>(name, h);
    assert_eq!((to.0.uri().user(), to.tag()), (Some("juergen"), None));
    // A comma inside a quoted (UTF-8) display name does not split the value.
    let contacts = all::<Contact>(name, h);
    assert_eq!(contacts.len(), 2);
    assert_eq!(contacts[0].expires(), Some(3600));
    assert_eq!(
        contacts[1].addr().and_then(|a| a.display_name()).as_deref(),
        Some("Mobile, Jürgen")
    );
    assert_eq!(contacts[1].q(), Some(700));
}

#[test]
fn contact_expires_as_an_rfc2543_date() {
    let name = "contact_expires_date";
    let m = load(name);
    let contact = one::<Contact>(name, m.headers());
    assert_eq!(contact.uri().and_then(|u| u.user()), Some("hans"));
    // Not a number of seconds: no expiry read from it (the registrar applies its default).
    assert_eq!(contact.expires(), None);
}

#[test]
fn unregister_all_bindings_with_a_star() {
    let name = "unregister_all";
    let m = load(name);
    let h = m.headers();
    assert_eq!(one::<Contact>(name, h), Contact::Wildcard);
    assert_eq!(one::<Expires>(name, h).0, 0);
    assert_eq!(request_uri(name, &m).scheme(), Scheme::Sips);
}

#[test]
fn empty_reason_phrase_tel_request_uri_and_bare_lf_lines() {
    let name = "carrier_180_empty_reason";
    let m = load(name);
    let Message::Response(r) = &m else {
        panic!("{name}: a response")
    };
    assert_eq!((r.status().as_u16(), r.reason()), (180, ""));

    let name = "tel_uri_invite";
    let m = load(name);
    let ruri = request_uri(name, &m);
    assert_eq!(ruri.scheme(), Scheme::Tel);
    assert_eq!(ruri.param("phone-context"), Some(Some("+1")));

    // Some embedded stacks end lines with LF alone (RFC 3261 §7.5 asks for CRLF, and peers
    // read LF too).
    let name = "bare_lf_options";
    let m = load(name);
    let h = m.headers();
    assert_eq!(one::<CallId>(name, h).as_str(), "lf-only-1@192.0.2.9");
    assert_eq!(one::<CSeq>(name, h).seq(), 1);
    assert!(m.body().is_empty());
}

#[test]
fn webrtc_client_register_over_secure_websocket() {
    let name = "jssip_wss_register";
    let m = load(name);
    let h = m.headers();
    let via = &all::<Via>(name, h)[0];
    assert_eq!(
        (via.transport(), via.host()),
        ("WSS", "df7jal23ls0d.invalid")
    );
    assert!(via.is_reliable());
    let contact = one::<Contact>(name, h);
    assert_eq!(contact.expires(), Some(600));
    assert_eq!(
        contact.uri().and_then(|u| u.param("transport")),
        Some(Some("ws"))
    );
    assert_eq!(
        contact.addr().and_then(|a| a.params().get("+sip.ice")),
        Some(None)
    );
    assert!(one::<Supported>(name, h).contains("outbound"));
    one::<Authorization>(name, h);
}

#[test]
fn a_busy_with_a_utf8_reason_phrase_warning_and_via_maddr_ttl() {
    let name = "sbc_486_utf8_reason";
    let m = load(name);
    let Message::Response(r) = &m else {
        panic!("{name}: a response")
    };
    // Reason-Phrase allows UTF-8 (RFC 3261 §25.1).
    assert_eq!(
        (r.status().as_u16(), r.reason()),
        (486, "Besetzt – bitte später")
    );
    let h = m.headers();
    let via = &all::<Via>(name, h)[0];
    assert_eq!((via.ttl(), via.maddr()), (Some(16), Some("192.0.2.10")));
    let from = one::<From>(name, h);
    assert_eq!(from.0.display_name().as_deref(), Some("Müller, Jürgen"));
    assert_eq!(from.0.params().get("x-flag"), Some(None));
    assert_eq!(one::<CallId>(name, h).as_str(), "6f2a1c@[2001:db8::7]");
    assert_eq!(one::<Reason>(name, h).cause(), Some(17));
    let warning = one::<Warning>(name, h);
    assert_eq!(
        (warning.code(), warning.agent(), warning.text()),
        (399, "sbc.example.de", "\"Callee busy\"")
    );
}

/// The challenges of `header` as the UA reads them: each raw value (folds kept) parsed.
fn challenges(m: &Message, header: HeaderName) -> Vec<Challenge> {
    m.headers()
        .named(header)
        .map(|h| {
            Challenge::parse(h.value_str().unwrap_or_default())
                .unwrap_or_else(|e| panic!("{header}: {e}"))
        })
        .collect()
}

/// The credentials text a telox UA (user `user`, password `secret`) answers `c` with, for a
/// REGISTER to `uri`.
fn answer(c: &Challenge, user: &str, uri: &str) -> String {
    let mut client = DigestClient::new(
        user,
        "secret",
        <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(7),
    );
    client
        .authorize(c, "REGISTER", uri)
        .unwrap_or_else(|e| panic!("{uri}: {e}"))
        .to_string()
}

/// Folded challenges (RFC 3261 §7.3.1): a VoWiFi registrar folds after every comma
/// (sipgo#251, an AT&T Wi-Fi calling 401) and an IMS core folds with a tab right after the
/// scheme (doubango#485). Before the fix the UA's `Challenge::parse` refused both (the CRLF
/// was not LWS to it), so it had no challenge to answer and the REGISTER or INVITE failed.
#[test]
fn folded_challenges_are_answered() {
    let name = "vowifi_401_folded_challenge";
    let m = load(name);
    let via = &all::<Via>(name, m.headers())[0];
    // An unbracketed IPv6 `received` (RFC 5118 §4.5), as the same 401 carries.
    assert_eq!(
        (via.host(), via.received(), via.rport()),
        (
            "[2001:db8:40::15]",
            Some("2001:db8:40::15"),
            Some(Some(48512))
        )
    );
    let c = challenges(&m, HeaderName::WwwAuthenticate);
    assert_eq!(c.len(), 1);
    let c = &c[0];
    assert_eq!(c.realm, "ims.carrier.example");
    assert_eq!(c.nonce, "q8Zt0Rk3bW1xYv2sPo7fLm4nA6cD9eG0hJ1kU5iT3wE=");
    assert_eq!(c.opaque.as_deref(), Some("SCSCF:c2Vzc2lvbi0xNzI2"));
    assert_eq!(
        (c.algorithm, c.qop.as_slice()),
        (Some(DigestAlgorithm::Md5), &["auth".to_owned()][..])
    );
    let back =
        Credentials::parse(&answer(c, "310150123456789", "sip:ims.carrier.example")).unwrap();
    assert_eq!(
        (back.opaque, back.nc.map(|n| n.value()), back.qop.as_deref()),
        (
            Some("SCSCF:c2Vzc2lvbi0xNzI2".to_owned()),
            Some(1),
            Some("auth")
        )
    );

    let name = "ims_407_folded_after_scheme";
    let m = load(name);
    let c = challenges(&m, HeaderName::ProxyAuthenticate);
    assert_eq!(c.len(), 1);
    assert_eq!(
        (
            c[0].realm.as_str(),
            c[0].nonce.as_str(),
            c[0].is_supported()
        ),
        ("ims.operator.example", "ZGVhZGJlZWYtMTcyNi0wMDAx", true)
    );
    // The typed header keeps the fold and reads the same parameters.
    let typed = one::<ProxyAuthenticate>(name, m.headers());
    assert_eq!(typed.scheme(), "Digest");
    assert_eq!(
        typed.param("realm").as_deref(),
        Some("ims.operator.example")
    );
    assert_eq!(Challenge::parse(&typed.to_string()).as_ref(), Ok(&c[0]));
}

/// SIPp's `[date]` keyword writes the zone as `UTC` (SIPp#535), and SIPp is how most people
/// load-test a SIP server. `validate` checks `Date`, so before the fix a telox UAS answered
/// 400 to this INVITE.
#[test]
fn sipp_date_in_utc_is_read_as_gmt() {
    let name = "sipp_uac_invite_date_utc";
    let m = load(name);
    let h = m.headers();
    let date = one::<Date>(name, h);
    assert_eq!(date.as_str(), "Fri, 27 Nov 2026 09:15:02 UTC");
    assert_eq!(date.unix_time(), 1_795_770_902);
    assert_eq!(
        one::<Contact>(name, h).uri().map(|u| (u.user(), u.port())),
        Some((Some("sipp"), Some(5060)))
    );
    assert_eq!(one::<From>(name, h).tag(), Some("31337SIPpTag001"));
}

/// PJSIP before 2.6 put the `Replaces` Call-ID in a Refer-To with its `@` unescaped
/// (pjproject#1985; RFC 3515's example escapes it). The URI, hence the REFER, was refused
/// (`validate` checks Refer-To) and the attended transfer failed with 400.
#[test]
fn refer_to_with_an_unescaped_at_in_replaces() {
    let name = "pjsua_refer_replaces_unescaped_at";
    let m = load(name);
    let h = m.headers();
    let refer_to = one::<ReferTo>(name, h);
    let uri = refer_to.0.uri();
    assert_eq!((uri.user(), uri.host()), (Some("carol"), "pbx.example.net"));
    let (target, replaces) =
        parse_refer_to(raw_refer_to(h)).unwrap_or_else(|| panic!("{name}: refer-to"));
    assert_eq!(target, "sip:carol@pbx.example.net");
    let replaces = replaces.unwrap_or_else(|| panic!("{name}: no Replaces"));
    assert_eq!(
        (
            replaces.call_id.as_str(),
            replaces.to_tag.as_str(),
            replaces.from_tag.as_str()
        ),
        ("7a2c91e0-55d3@192.0.2.9", "4aa01c", "e81b27")
    );
    assert_eq!(one::<Event>(name, h).value(), "refer");
    assert_eq!(all::<Via>(name, h)[0].rport(), Some(None));
}

/// A diverted carrier call with two STIR/SHAKEN `Identity` headers (RFC 8224 §4, RFC 8946
/// `div`): the originating carrier's with `ppt` quoted (as T-Mobile sends it, secsipidx#2)
/// and the diverting carrier's with the token form and `alg` (OpenSIPS#2735). Each is read
/// apart (FreeSWITCH kept one only, freeswitch#1741), its PASSporT splits into three parts,
/// its `x5u` is the `info` URI, and its `iat` is the `Date` (what RFC 8224 §6.2.1 checks).
#[test]
fn stir_shaken_identity_headers_of_a_diverted_call() {
    use base64::Engine as _;
    let name = "carrier_invite_stir_shaken_div";
    let m = load(name);
    let h = m.headers();
    let ids = all::<Identity>(name, h);
    let date = one::<Date>(name, h).unix_time();
    let mut seen = Vec::new();
    for id in &ids {
        let (header, payload, signature) = id
            .passport_parts()
            .unwrap_or_else(|| panic!("{name}: passport"));
        let json = |part: &str| {
            let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(part)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            String::from_utf8(raw).unwrap_or_else(|e| panic!("{name}: {e}"))
        };
        let (header, payload) = (json(header), json(payload));
        let info = id.info().unwrap_or_else(|| panic!("{name}: info"));
        assert!(header.contains(&format!("\"x5u\":\"{info}\"")), "{header}");
        assert!(header.contains(&format!("\"ppt\":\"{}\"", id.ppt().unwrap_or_default())));
        assert!(payload.contains(&format!("\"iat\":{date}")), "{payload}");
        assert_eq!((id.alg(), signature.len()), (Some("ES256"), 86));
        seen.push(id.ppt().unwrap_or_default().to_owned());
    }
    assert_eq!(seen, ["shaken", "div"]);
    assert_eq!(date, 1_795_770_902);
}

/// baresip before 3.5 sent an attended transfer's Refer-To without angle brackets, its
/// `?Replaces=` on a bare URI (baresip#2681; RFC 3261 §20 wants brackets around a URI with a
/// '?'). The Refer-To was refused, validate() checks it, and the REFER got 400.
#[test]
fn bare_refer_to_with_replaces() {
    let name = "baresip_refer_bare_replaces";
    let m = load(name);
    let h = m.headers();
    let refer_to = one::<ReferTo>(name, h);
    assert_eq!(
        (refer_to.0.uri().user(), refer_to.0.uri().host()),
        (Some("carol"), "pbx.example.net")
    );
    assert!(refer_to.0.params().is_empty());
    let (target, replaces) =
        parse_refer_to(raw_refer_to(h)).unwrap_or_else(|| panic!("{name}: refer-to"));
    let replaces = replaces.unwrap_or_else(|| panic!("{name}: no Replaces"));
    assert_eq!(target, "sip:carol@pbx.example.net");
    assert_eq!(
        (
            replaces.call_id.as_str(),
            replaces.to_tag.as_str(),
            replaces.from_tag.as_str()
        ),
        ("5d2e8f10c3a74b96", "c81d2e", "0f4a7b")
    );
}

/// A Cisco phone redirected by a 302 whose Contact had a quoted display name puts its own
/// quotes around the quotes in the new INVITE's To: `""unknown"" <sip:...>` (nksip#20). To
/// was refused, so the INVITE got 400; now the name reads as `unknown`.
#[test]
fn cisco_quotes_around_a_quoted_display_name() {
    let name = "cisco_7960_invite_after_302_quoted_quotes";
    let m = load(name);
    let h = m.headers();
    let to = one::<To>(name, h);
    assert_eq!(to.0.display_name().as_deref(), Some("unknown"));
    assert_eq!(to.0.display_name_raw(), Some("\"\"unknown\"\""));
    assert_eq!((to.0.uri().user(), to.tag()), (Some("1001"), None));
    assert_eq!(
        one::<From>(name, h).0.display_name().as_deref(),
        Some("Lobby")
    );
    assert_eq!(one::<Expires>(name, h).0, 180);
}

/// An RFC 2543 REGISTER whose Expires is an absolute date (RFC 2543 allowed it; RFC 3261
/// §20.19: "Malformed values SHOULD be treated as equivalent to 3600", for these peers).
/// The Expires was refused, validate() checks it, and the REGISTER got 400.
#[test]
fn rfc2543_expires_date_reads_as_an_hour() {
    let name = "legacy_rfc2543_register_expires_date";
    let m = load(name);
    let h = m.headers();
    assert_eq!(one::<Expires>(name, h).0, 3600);
    assert_eq!(one::<Contact>(name, h).expires(), None);
    assert!(!all::<Via>(name, h)[0].has_rfc3261_branch());
}

/// A 200 through a topology-hiding proxy, its Contact URI carrying `;thinfo="<base64>"` (a
/// quoted URI parameter, not RFC 3261's pvalue; SIP.js#419 and #593). The Contact was
/// refused, validate() checks it, and the 200 was dropped: the call never set up. The URI is
/// kept as written: it is the dialog's remote target.
#[test]
fn topology_hiding_quoted_uri_parameter() {
    let name = "th_proxy_200_quoted_uri_param";
    let m = load(name);
    let h = m.headers();
    let uri = one::<Contact>(name, h)
        .uri()
        .cloned()
        .unwrap_or_else(|| panic!("{name}"));
    assert_eq!(
        uri.as_str(),
        "sip:[2001:db8::20]:8061;transport=wss;thinfo=\"QmFzZTY0IHRvcG9sb2d5IGhpZGluZyBibG9i+/0=\""
    );
    assert_eq!((uri.host(), uri.port()), ("[2001:db8::20]", Some(8061)));
    assert_eq!(uri.param("transport"), Some(Some("wss")));
    let via = &all::<Via>(name, h)[0];
    assert_eq!(
        (via.received(), via.rport()),
        (Some("2001:db8::5"), Some(Some(34314)))
    );
}

/// FreeSWITCH's 200 to REGISTER in compact form lists every binding of the user, one with
/// `#` in its user part unescaped (SIP.js#560). The Contact was refused, validate() checks
/// it, and the REGISTER's 200 was dropped: the registration never completed.
#[test]
fn freeswitch_bindings_with_a_hash_in_the_user() {
    let name = "freeswitch_register_200_hash_in_user";
    let m = load(name);
    let h = m.headers();
    let bindings: Vec<(String, Option<u32>)> = all::<Contact>(name, h)
        .iter()
        .map(|c| {
            let user = c.uri().and_then(|u| u.user()).unwrap_or_default();
            (user.to_owned(), c.expires())
        })
        .collect();
    assert_eq!(
        bindings,
        [
            ("5e2c8a1f".to_owned(), Some(600)),
            ("10001080".to_owned(), Some(2353)),
            ("PBX#1000#905448737777".to_owned(), Some(2519)),
        ]
    );
    assert_eq!(one::<ContentLength>(name, h).0, 0);
    assert!(one::<Supported>(name, h).contains("path"));
}

/// A softphone writes its user's name in Chinese without quotes (doubango#333): RFC 3261's
/// unquoted display name is tokens, ASCII only. From was refused, so the INVITE got 400; now
/// the name reads as written.
#[test]
fn an_unquoted_display_name_in_another_script() {
    let name = "softphone_invite_unquoted_utf8_name";
    let m = load(name);
    let from = one::<From>(name, m.headers());
    assert_eq!(from.0.display_name().as_deref(), Some("王小明"));
    assert_eq!(
        (from.0.uri().user(), from.tag()),
        (Some("2001"), Some("813311057"))
    );
}

/// A UA writing `rport=` with nothing after it (elixir-sippet#14): the REGISTER is read, its
/// rport is the request a server fills in, and `tag=` on From stays refused.
#[test]
fn empty_rport_is_a_request_for_rport() {
    let name = "softphone_register_empty_rport";
    let m = load(name);
    let h = m.headers();
    let mut via = all::<Via>(name, h).remove(0);
    assert_eq!(via.rport(), Some(None));
    assert_eq!(via.branch(), Some("z9hG4bK1a7c03e25d"));
    assert_eq!(via.host(), "192.168.1.34");
    via.set_received("198.51.100.77");
    via.set_rport(40312);
    assert_eq!(
        via.to_string(),
        "SIP/2.0/UDP 192.168.1.34:5060;branch=z9hG4bK1a7c03e25d;received=198.51.100.77;rport=40312"
    );
    let raw = String::from_utf8(m.to_bytes().to_vec()).unwrap();
    let bad = raw.replace(";tag=70c21f9b", ";tag=");
    let bad = Message::parse(Bytes::from(bad)).unwrap();
    assert!(bad.validate().is_err());
}

/// The same REGISTER through a transaction endpoint from a NAT's address: the top Via is
/// stamped `received` and `rport=<source port>` (RFC 3581 §4) and the 200 goes back to the
/// source address and port, as for a bare `rport`.
#[test]
#[expect(
    clippy::disallowed_methods,
    reason = "virtual clock origin; only offsets matter"
)]
fn an_empty_rport_is_answered_at_the_source_port() {
    use telox_sip_core::msg::{Response, StatusCode};
    use telox_sip_core::transaction::{
        Target, TransactionConfig, TransactionEvent, Transactions, Transport,
    };
    let name = "softphone_register_empty_rport";
    let raw = load(name).to_bytes();
    let mut t = Transactions::new(TransactionConfig::default());
    let now = std::time::Instant::now();
    let nat = "198.51.100.77:40312".parse().unwrap();
    let from = Target {
        transport: Transport::Udp,
        addr: nat,
    };
    assert!(t.handle_datagram(now, from, raw));
    let Some(TransactionEvent::Request { request, key, .. }) = t.poll_event() else {
        panic!("{name}: no request event")
    };
    let via = one::<Via>(name, request.headers());
    assert_eq!(
        (via.received(), via.rport()),
        (Some("198.51.100.77"), Some(Some(40312)))
    );
    let ok = Response::builder(&request, StatusCode::OK).build();
    t.send_response(now, &key, ok)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let tx = t
        .poll_transmit()
        .unwrap_or_else(|| panic!("{name}: no 200 sent"));
    assert_eq!(tx.destination, nat);
    assert!(tx.payload.starts_with(b"SIP/2.0 200 OK\r\n"));
}

/// MizuDroid's BYE with `Supported: ,outbound` (pjproject#4650): PJSIP (so Asterisk) dropped
/// it and the call stayed up; telox reads the option tag and skips the empty element.
#[test]
fn supported_with_a_leading_comma_ends_the_call() {
    let name = "mizudroid_bye_supported_leading_comma";
    let m = load(name);
    let h = m.headers();
    assert_eq!(one::<CSeq>(name, h).method(), &Method::Bye);
    let supported = one::<Supported>(name, h);
    assert_eq!(supported.iter().collect::<Vec<_>>(), ["outbound"]);
    assert!(supported.contains("outbound"));
    let reason = one::<Reason>(name, h);
    assert_eq!(reason.value(), "SIP");
    assert_eq!(
        reason.params().get("description"),
        Some(Some("\"User Hung Up\""))
    );
    assert_eq!(reason.cause(), None);
}

/// Asterisk in link-local IPv6 mode writes the zone into Request-URI, Via, From, To and
/// Contact (`[fe80::...%eth0]`, SIP.js#1094; jain-sip#206 refused the same): read, hosts
/// kept as written.
#[test]
fn ipv6_link_local_hosts_with_a_zone() {
    let name = "asterisk_invite_ipv6_link_local_zone";
    let m = load(name);
    let h = m.headers();
    let Message::Request(r) = &m else {
        panic!("{name}: not a request")
    };
    assert_eq!(r.uri().host(), "[fe80::21a:2bff:fe3c:4d5e%eth0]");
    assert_eq!(r.uri().port(), Some(5060));
    let via = &all::<Via>(name, h)[0];
    assert_eq!(via.host(), "[fe80::5054:ff:fe12:3456%eth0]");
    assert_eq!(via.port(), Some(5060));
    assert_eq!(via.rport(), Some(None));
    let contact = &all::<Contact>(name, h)[0];
    assert_eq!(
        contact.addr().unwrap().uri().host(),
        "[fe80::5054:ff:fe12:3456%eth0]"
    );
    assert_eq!(one::<From>(name, h).uri().user(), Some("1001"));
    // a received with a zone, bracketed or not, and RFC 6874's escaped form
    for (v, received) in [
        (
            "SIP/2.0/UDP [fe80::1%eth0]:5060;branch=z9hG4bK1;received=fe80::1%eth0;rport=5060",
            "fe80::1%eth0",
        ),
        (
            "SIP/2.0/UDP [fe80::1%25eth0];branch=z9hG4bK1;received=[fe80::1%25eth0]",
            "[fe80::1%25eth0]",
        ),
    ] {
        let via = Via::parse_str(v).unwrap_or_else(|e| panic!("{v}: {e}"));
        assert_eq!(via.received(), Some(received), "{v}");
    }
    assert!(Via::parse_str("SIP/2.0/UDP [fe80::1%];branch=z9hG4bK1").is_err());
}

/// PortaSIP's 480 whose reason phrase carries `[...]` (SIP.js#996 failed on the status line;
/// reserved characters are allowed there): read, the phrase kept whole.
#[test]
fn a_reason_phrase_with_brackets() {
    let name = "portasip_480_bracketed_reason";
    let m = load(name);
    let Message::Response(r) = &m else {
        panic!("{name}: not a response")
    };
    assert_eq!(r.status().0, 480);
    assert_eq!(
        r.reason(),
        "Temporarily Unavailable [call Processing Released]"
    );
    let h = m.headers();
    assert_eq!(all::<RecordRoute>(name, h).len(), 3);
    assert_eq!(one::<To>(name, h).tag(), Some("KQ2WZLMR7TQCE3HN5UXA____.i"));
}

/// A BroadWorks 401 writes the scheme `DIGEST` (no spaces after the colons, qop first):
/// LiveKit (livekit/sip#856), drachtio-srf (#235), Twinkle (#36) and SIPSorcery (#1339)
/// each failed to answer it. RFC 7235 §2.1 makes the scheme case-insensitive; telox answers
/// with its own `Digest` credentials.
#[test]
fn an_upper_case_digest_scheme_is_answered() {
    let name = "broadworks_401_uppercase_digest";
    let m = load(name);
    let typed = one::<WwwAuthenticate>(name, m.headers());
    assert_eq!(typed.scheme(), "DIGEST");
    let c = challenges(&m, HeaderName::WwwAuthenticate);
    assert_eq!(c.len(), 1);
    let c = &c[0];
    assert!(c.is_supported());
    assert_eq!(
        (c.realm.as_str(), c.nonce.as_str(), c.algorithm),
        (
            "voip.example.net",
            "BroadWorksXm3q8v1kT7pa2b5BW",
            Some(DigestAlgorithm::Md5)
        )
    );
    let text = answer(c, "4830551234", "sip:voip.example.net");
    assert!(text.starts_with("Digest "), "{text}");
    let back = Credentials::parse(&text).unwrap();
    assert_eq!(back.realm, "voip.example.net");
    assert_eq!(back.qop.as_deref(), Some("auth"));
    assert_eq!(back.nc.map(|n| n.value()), Some(1));
}

/// A From with a quoted display name before a URI without angle brackets, as an
/// Asterisk-fronted switch sent it (SIP.js#100): read as an addr-spec with a display name,
/// the tag as a header parameter; the INVITE used to get 400.
#[test]
fn a_quoted_display_name_before_a_bare_uri() {
    let name = "asterisk_invite_from_display_bare_uri";
    let m = load(name);
    let from = one::<From>(name, m.headers());
    assert_eq!(from.display_name().as_deref(), Some("Anonymous"));
    assert_eq!(from.uri().as_str(), "sip:anonymous@switch.example.net");
    assert_eq!(from.uri().user(), Some("anonymous"));
    assert_eq!(from.tag(), Some("as61d0c7b2"));
}

/// A RingCentral MESSAGE to a WebRTC agent (ringcentral-web-phone#135): the From user starts
/// with `#` (`<sip:#8972...@...>`), the WS Via has two spaces after the protocol, the body
/// is `x-rc/agent`, `Content-Length:` has three spaces. SIP.js failed on that From; telox
/// reads it.
#[test]
fn a_from_user_starting_with_a_hash() {
    let name = "ringcentral_message_hash_user";
    let m = load(name);
    let from = one::<From>(name, m.headers());
    assert_eq!(from.uri().user(), Some("#8972010116348137300"));
    assert_eq!(from.tag(), None);
    let vias = all::<Via>(name, m.headers());
    assert_eq!(
        (vias[0].transport(), vias[0].host(), vias[0].port()),
        ("WS", "10.13.122.71", Some(8080))
    );
    let ct = one::<ContentType>(name, m.headers());
    assert_eq!((ct.mtype(), ct.subtype()), ("x-rc", "agent"));
    assert_eq!(
        one::<ContentLength>(name, m.headers()).0 as usize,
        m.body().len()
    );
    assert!(m.body().ends_with(b"</Msg>"));
}

/// An IMS UE's first REGISTER (3GPP TS 24.229 §5.1.1.2: open5gs#486/#564, IMSDroid's
/// imsdroid#17): `Authorization` with `nonce=""`, `response=""` and `algorithm=AKAv1-MD5`,
/// folded right after `Digest`, `Security-Client` with two mechanisms, and a Contact whose
/// feature tags include a quoted `language="en,fr"` holding a comma. The Contact stays one
/// binding with every tag; the AKA credentials are not digest credentials telox can check
/// (`UnknownAlgorithm`), so a telox registrar, which reads only the credentials that parse,
/// challenges the REGISTER as one without credentials.
#[test]
fn an_ims_first_register_with_aka_and_quoted_feature_tags() {
    let name = "ims_ue_register_aka_initial";
    let m = load(name);
    let contacts = all::<Contact>(name, m.headers());
    assert_eq!(contacts.len(), 1);
    let c = &contacts[0];
    assert_eq!(c.expires(), Some(600_000));
    let p = c.addr().unwrap().params();
    assert_eq!(p.get("language"), Some(Some("\"en,fr\"")));
    assert_eq!(
        p.get("+sip.instance"),
        Some(Some("\"<urn:gsma:imei:86381304-980034-0>\""))
    );
    assert_eq!(p.get("audio"), Some(None));
    assert_eq!(p.get("+g.3gpp.cs-voice"), Some(None));
    assert_eq!(one::<Expires>(name, m.headers()).0, 600_000);
    let auth = m
        .headers()
        .named(HeaderName::Authorization)
        .next()
        .unwrap()
        .value_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        Credentials::parse(&auth),
        Err(telox_sip_core::auth::AuthError::UnknownAlgorithm)
    );
    let sec: Vec<_> = m
        .headers()
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("Security-Client"))
        .collect();
    assert_eq!(sec.len(), 1);
    assert_eq!(sec[0].value_str().unwrap().matches("ipsec-3gpp").count(), 2);
}

/// A Polycom VVX's call-quality PUBLISH (RFC 6035: `Event: vq-rtcpxr`,
/// `application/vq-rtcpxr`, a Via without a port, `Accept-Language`), as captagent#156
/// shows it.
#[test]
fn a_polycom_quality_report_publish() {
    let name = "polycom_publish_vq_rtcpxr";
    let m = load(name);
    assert_eq!(one::<Event>(name, m.headers()).value(), "vq-rtcpxr");
    let ct = one::<ContentType>(name, m.headers());
    assert_eq!((ct.mtype(), ct.subtype()), ("application", "vq-rtcpxr"));
    assert!(
        m.body()
            .starts_with(b"VQSessionReport: CallTerm\r\nCallID:")
    );
    assert_eq!(all::<Via>(name, m.headers())[0].port(), None);
    assert_eq!(one::<Expires>(name, m.headers()).0, 3600);
}

/// An Asterisk 18 401 whose top Via has `received=<ip>:<port>` (RFC 3261 has only an
/// address there) beside `rport`: PJSIP took the port into its Contact and crashed
/// (pjproject#4580). telox keeps the value as written (no telox code reads it as an address
/// of a response) and answers the challenge.
#[test]
fn a_received_with_a_port_does_not_stop_the_challenge() {
    let name = "asterisk_401_received_with_port";
    let m = load(name);
    let via = &all::<Via>(name, m.headers())[0];
    assert_eq!(via.received(), Some("192.0.2.52:60571"));
    assert_eq!(via.rport(), Some(Some(50459)));
    let c = challenges(&m, HeaderName::WwwAuthenticate);
    assert_eq!(c.len(), 1);
    assert!(c[0].is_supported());
    assert_eq!(
        (c[0].realm.as_str(), c[0].nonce.as_str()),
        ("asterisk", "5c856c2c")
    );
    let text = answer(&c[0], "7188890003", "sip:198.51.100.52");
    let back = Credentials::parse(&text).unwrap();
    assert_eq!((back.nonce.as_str(), back.qop), ("5c856c2c", None));
}

/// An OpenIMSCore S-CSCF's 401 (webrtc2sip#10, open5gs#564): reason phrase `Unauthorized -
/// Challenging the UE`, `Path` and `Service-Route`, a `Warning: 392` whose agent is
/// `host:port` and whose text has double spaces and `==`, and an AKA challenge with `ck`,
/// `ik` and `qop="auth,auth-int"`. The challenge is read but not answerable (AKAv1-MD5), so
/// the UA gives up instead of sending MD5 credentials.
#[test]
fn an_ims_aka_challenge_with_a_noisy_warning() {
    let name = "openims_401_aka_noisy_warning";
    let m = load(name);
    let Message::Response(r) = &m else {
        panic!("{name}: not a response")
    };
    assert_eq!(
        (r.status().0, r.reason()),
        (401, "Unauthorized - Challenging the UE")
    );
    let w = one::<Warning>(name, m.headers());
    assert_eq!((w.code(), w.agent()), (392, "192.168.0.101:6060"));
    assert!(w.text().ends_with("via_cnt==4\""), "{}", w.text());
    let c = challenges(&m, HeaderName::WwwAuthenticate);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].unknown_algorithm.as_deref(), Some("AKAv1-MD5"));
    assert_eq!(c[0].qop, ["auth", "auth-int"]);
    assert!(!c[0].is_supported());
    assert!(Challenge::select(&c).is_none());
}

/// Hostile or broken forms real peers sent get a precise error, not a guess: an empty host
/// before the port colon in a SIPp-made Contact (`<sip:user@:;transport=UDP>`, which
/// OpenSIPS' sipmsg_validate let through, opensips#3510), and a REGISTER whose
/// `+sip.instance` holds a bare line feed (baresip writing its uuid file with a trailing
/// newline, which kamailio then dropped as malformed).
#[test]
fn broken_contacts_real_peers_sent_are_refused_precisely() {
    let empty_host = Bytes::from_static(
        b"REGISTER sip:10.27.136.168:5060;transport=UDP SIP/2.0\r\n\
          Via: SIP/2.0/UDP 10.36.51.108:5060;branch=z9hG4bK-3424508-342-0\r\n\
          From: User000341 <sip:User000341@scpl.internal>;tag=3424508SIPpTag07342\r\n\
          To: User000341 <sip:User000341@scpl.internal>\r\n\
          Call-ID: 342-3424508@10.36.51.108\r\n\
          CSeq: 1 REGISTER\r\n\
          Contact: <sip:User000341@:;transport=UDP>\r\n\
          Max-Forwards: 68\r\n\
          Content-Length: 0\r\n\
          Supported:\r\n\r\n",
    );
    let m = Message::parse(empty_host).unwrap();
    assert!(
        matches!(
            m.validate(),
            Err(telox_sip_core::ParseError::BadHeader {
                name: HeaderName::Contact,
                ..
            })
        ),
        "{:?}",
        m.validate()
    );
    let newline = Bytes::from_static(
        b"REGISTER sip:192.0.2.1 SIP/2.0\r\n\
          Via: SIP/2.0/UDP 192.0.2.20:5062;rport;branch=z9hG4bK5af141bb26e901eb\r\n\
          Contact: <sip:alice-0x8157a0@192.0.2.20:5062>;expires=600;\
          +sip.instance=\"<urn:uuid:69a4004b-6915-6615-3b25-417d79231b39\n>\"\r\n\
          Max-Forwards: 70\r\n\
          To: <sip:alice@192.0.2.1>\r\n\
          From: <sip:alice@192.0.2.1>;tag=18be67844ae13d6c\r\n\
          Call-ID: 69525f9016496df1\r\n\
          CSeq: 11478 REGISTER\r\n\
          Content-Length: 0\r\n\r\n",
    );
    // The bare LF ends the Contact line early; what follows it (`>"`) is not a header line.
    let after_lf = newline.windows(2).position(|w| w == b"\n>").unwrap() + 1;
    let err = Message::parse(newline).unwrap_err();
    assert!(
        matches!(err, telox_sip_core::ParseError::BadHeaderLine { at } if at == after_lf),
        "{err:?}"
    );
    assert_eq!(err.status_code().0, 400, "{err}");
}

/// A SIP-T INVITE through Kamailio 4.4, whose `set_body_multipart` left out the close
/// delimiter (kamailio#661): the SDP part, then a binary ISUP part that runs to the end of
/// the body. Before the fix the body module refused it ("no close delimiter"), so the UA
/// found no offer in the INVITE (the whole multipart went to the SDP parser and failed); the
/// last part now runs to the end of the body, which Content-Length delimits.
#[test]
fn a_multipart_without_its_close_delimiter_still_carries_the_offer() {
    let name = "kamailio_sipt_invite_multipart_unclosed";
    let m = load(name);
    let sdp = telox_sip_core::body::session_description(m.headers())
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .unwrap();
    assert!(sdp.starts_with(b"v=0\r\n") && sdp.ends_with(b"a=sendrecv\r\n"));
    assert_eq!(telox_sip_core::body::sdp_or_body(m.headers()), sdp);
    let ct = one::<ContentType>(name, m.headers());
    let boundary = ct.params().get("boundary").flatten().unwrap();
    let parts: Vec<_> = telox_sip_core::body::Parts::new(&m.body_bytes(), boundary.as_bytes())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(parts.len(), 2);
    let isup = parts[1].content_type().unwrap().unwrap();
    assert!(isup.is("application", "isup"));
    assert_eq!(parts[1].body.first(), Some(&0x01), "ISUP IAM message type");
    assert!(m.body().ends_with(&parts[1].body));
}
