//! Responses with extra headers from the user-agent core: `respond_with` (WWW-Authenticate,
//! Contact with expires), `send_response` with a response from the registrar service (so a
//! registrar needs no second transaction endpoint), and `respond_call` on an INVITE (407 with
//! Proxy-Authenticate and the caller's digest retry; 200 with Require/Supported/
//! Session-Expires). Two user agents on a virtual clock, delivery by hand.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers outside #[test] fns"
)]

use std::time::Instant;
use telox_sip_core::auth::{DigestSecret, DigestServer, DigestServerConfig};
use telox_sip_core::header::HeaderName;
use telox_sip_core::registration::{
    MemoryLocationStore, RegisterOutcome, Registrar, RegistrarConfig, RegistrarService,
};
use telox_sip_core::transaction::TransactionKey;

use telox_sip_core::ua::{RegistrationId, UaConfig, UaError, UaEvent, UserAgent};
use telox_sip_core::{Method, Request, Response};
use ua_support::*;

mod ua_support;

fn ua_auth(addr: &str, user: &str, seed: u64, creds: bool) -> UserAgent {
    let mut c = UaConfig::new(addr.parse().unwrap(), user, seed);
    if creds {
        c.credentials = Some((user.to_owned(), format!("{user}-pw")));
    }
    UserAgent::new(c)
}

fn header<'a>(r: &'a Response, name: &'a str) -> Vec<&'a str> {
    r.headers()
        .named_str(name)
        .filter_map(|h| h.value_str())
        .collect()
}

/// The single out-of-dialog request the application received.
fn app_request(evs: Vec<UaEvent>) -> (TransactionKey, Request) {
    let mut found: Vec<_> = evs
        .into_iter()
        .filter_map(|e| match e {
            UaEvent::Request {
                key,
                leg: None,
                request,
            } => Some((key, request)),
            _ => None,
        })
        .collect();
    assert_eq!(found.len(), 1, "one request for the application");
    found.remove(0)
}

fn secrets(user: &str) -> Option<DigestSecret> {
    (user == "alice").then(|| DigestSecret::Password(String::from("alice-pw")))
}

/// Alice (at A) registers with the registrar at B.
fn register_alice(a: &mut UserAgent, now: Instant, expires: u32) -> RegistrationId {
    a.register(
        now,
        uri("sip:example.com"),
        uri("sip:alice@example.com"),
        t(B),
        expires,
    )
    .unwrap()
}

#[test]
fn registrar_answers_register_through_the_ua() {
    let now = origin();
    let mut a = ua_auth(A, "alice", 1, true);
    let mut b = ua(B, "registrar", 2);
    let mut service = RegistrarService::with_auth(
        Registrar::new(RegistrarConfig::default(), MemoryLocationStore::default()),
        DigestServer::new(DigestServerConfig::new("example.com", 7)),
        secrets as fn(&str) -> Option<DigestSecret>,
    );
    let id = register_alice(&mut a, now, 600);
    let mut outcomes = Vec::new();
    // REGISTER, 401, REGISTER with credentials, 200.
    for _ in 0..2 {
        deliver(now, &mut b, A, out(&mut a));
        let (key, request) = app_request(events(&mut b));
        assert_eq!(*request.method(), Method::Register);
        let (response, outcome) = service.handle(now, &request, "regtag");
        outcomes.push(outcome);
        b.send_response(now, &key, response).unwrap();
        // A second final response on the same transaction is refused.
        assert!(matches!(
            b.respond(now, &key, 500, None),
            Err(UaError::Transaction(_))
        ));
        deliver(now, &mut a, B, out(&mut b));
    }
    assert_eq!(outcomes[0], RegisterOutcome::Challenged { stale: false });
    assert!(matches!(outcomes[1], RegisterOutcome::Registered { .. }));
    let evs = events(&mut a);
    assert!(
        evs.iter()
            .any(|e| matches!(e, UaEvent::Registered { id: i, .. } if *i == id)),
        "{evs:?}"
    );
    let bindings = service.registrar().lookup(now, "sip:alice@example.com");
    assert_eq!(bindings.len(), 1);
}

#[test]
fn respond_with_adds_headers_and_contact_expires_is_honoured() {
    let now = origin();
    let mut a = ua_auth(A, "alice", 1, true);
    let mut b = ua(B, "registrar", 2);
    let id = register_alice(&mut a, now, 3600);
    deliver(now, &mut b, A, out(&mut a));
    let (key, _) = app_request(events(&mut b));
    let challenge = r#"Digest realm="example.com", nonce="abc123", algorithm=MD5, qop="auth""#;
    b.respond_with(now, &key, 401, None, &[("WWW-Authenticate", challenge)])
        .unwrap();
    let sent = out(&mut b);
    let r401 = &responses(&sent)[0];
    assert_eq!(r401.status().as_u16(), 401);
    assert_eq!(header(r401, "WWW-Authenticate"), vec![challenge]);
    deliver(now, &mut a, B, sent);
    // The UA retries with credentials for that nonce.
    deliver(now, &mut b, A, out(&mut a));
    let (key, request) = app_request(events(&mut b));
    let auth = request
        .headers()
        .named(HeaderName::Authorization)
        .filter_map(|h| h.value_str())
        .next()
        .unwrap()
        .to_owned();
    assert!(auth.contains("nonce=\"abc123\""), "{auth}");
    // A header that cannot form a line is refused and nothing is sent.
    assert_eq!(
        b.respond_with(now, &key, 200, None, &[("Bad Name", "x")]),
        Err(UaError::InvalidState)
    );
    assert!(out(&mut b).is_empty());
    let contact = format!("<{}>;expires=120", a.contact_uri().unwrap());
    b.respond_with(
        now,
        &key,
        200,
        None,
        &[("Contact", &contact), ("Supported", "path, outbound")],
    )
    .unwrap();
    let sent = out(&mut b);
    let ok = &responses(&sent)[0];
    assert_eq!(header(ok, "Supported"), vec!["path, outbound"]);
    deliver(now, &mut a, B, sent);
    // The registrar granted 120 s through the Contact's expires parameter.
    let evs = events(&mut a);
    assert!(
        evs.iter()
            .any(|e| matches!(e, UaEvent::Registered { id: i, expires: 120 } if *i == id)),
        "{evs:?}"
    );
}

#[test]
fn respond_call_challenges_then_answers_with_extra_headers() {
    let now = origin();
    let mut a = ua_auth(A, "alice", 1, true);
    let mut b = ua(B, "bob", 2);
    let al = call(&mut a, now);
    deliver(now, &mut b, A, out(&mut a));
    let (bl, invite) = incoming_request(&events(&mut b));
    assert!(
        invite
            .headers()
            .named_str("Proxy-Authorization")
            .next()
            .is_none()
    );
    let challenge = r#"Digest realm="pbx", nonce="n1", algorithm=MD5, qop="auth""#;
    // Status 100 and below is not ours to send.
    assert_eq!(
        b.respond_call(now, bl, 100, None, &[]),
        Err(UaError::InvalidState)
    );
    b.respond_call(now, bl, 407, None, &[("Proxy-Authenticate", challenge)])
        .unwrap();
    let sent = out(&mut b);
    let r407 = &responses(&sent)[0];
    assert_eq!(header(r407, "Proxy-Authenticate"), vec![challenge]);
    // The leg is over at B; A retries with credentials on a new transaction.
    assert_eq!(
        b.respond_call(now, bl, 200, None, &[]),
        Err(UaError::NoSuchLeg)
    );
    deliver(now, &mut a, B, sent);
    let retry = out(&mut a);
    // The ACK for the 407 (hop by hop) and the new INVITE.
    deliver(now, &mut b, A, retry);
    let (bl, invite) = incoming_request(&events(&mut b));
    let auth = invite
        .headers()
        .named_str("Proxy-Authorization")
        .filter_map(|h| h.value_str())
        .next()
        .unwrap();
    assert!(auth.contains("nonce=\"n1\""), "{auth}");
    b.respond_call(
        now,
        bl,
        200,
        None,
        &[
            ("Require", "timer"),
            ("Supported", "timer, 100rel"),
            ("Session-Expires", "1800;refresher=uac"),
        ],
    )
    .unwrap();
    let sent = out(&mut b);
    let ok = &responses(&sent)[0];
    assert_eq!(header(ok, "Require"), vec!["timer"]);
    assert_eq!(header(ok, "Session-Expires"), vec!["1800;refresher=uac"]);
    assert_eq!(header(ok, "Supported"), vec!["timer, 100rel"]);
    // Our own Contact and Allow are still there, once.
    assert_eq!(header(ok, "Contact").len(), 1);
    assert_eq!(header(ok, "Allow").len(), 1);
    deliver(now, &mut a, B, sent);
    assert!(
        events(&mut a)
            .iter()
            .any(|e| matches!(e, UaEvent::Answered { leg, .. } if *leg == al))
    );
    deliver(now, &mut b, A, out(&mut a));
    assert!(
        events(&mut b)
            .iter()
            .any(|e| matches!(e, UaEvent::Confirmed { .. }))
    );
}

#[test]
fn respond_with_contact_replaces_ours_on_a_reinvite_2xx() {
    let now = origin();
    let mut a = ua(A, "alice", 1);
    let mut b = ua(B, "bob", 2);
    let al = call(&mut a, now);
    deliver(now, &mut b, A, out(&mut a));
    let bl = incoming(&events(&mut b));
    b.answer(now, bl, None).unwrap();
    deliver(now, &mut a, B, out(&mut b));
    deliver(now, &mut b, A, out(&mut a));
    let _ = (events(&mut a), events(&mut b));
    a.request(now, al, Method::Invite, None, &[]).unwrap();
    deliver(now, &mut b, A, out(&mut a));
    let key = events(&mut b)
        .into_iter()
        .find_map(|e| match e {
            UaEvent::Request { key, leg, .. } if leg == Some(bl) => Some(key),
            _ => None,
        })
        .unwrap();
    b.respond_with(
        now,
        &key,
        200,
        None,
        &[("Contact", "<sip:bob@127.0.0.1:6000>")],
    )
    .unwrap();
    let sent = out(&mut b);
    let ok = &responses(&sent)[0];
    assert_eq!(header(ok, "Contact"), vec!["<sip:bob@127.0.0.1:6000>"]);
    deliver(now, &mut a, B, sent);
    // Target refresh: A's dialog now targets the new Contact.
    assert_eq!(
        a.dialog(al).unwrap().remote_target().as_str(),
        "sip:bob@127.0.0.1:6000"
    );
}

/// `to_tag("")` would write `;tag=` with no value, which is no token (RFC 3261 §25.1) and
/// does not parse: an empty (or blank) tag writes nothing, in both forms of the builder (the
/// direct one for a plain To, the lines one after an edit), and a real tag still goes in.
#[test]
fn an_empty_to_tag_writes_no_tag() {
    let req: Request = Request::parse(bytes::Bytes::from_static(
        b"OPTIONS sip:bob@192.0.2.4 SIP/2.0\r\n\
          Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1\r\n\
          From: <sip:a@x>;tag=f1\r\n\
          To: Bob <sip:bob@192.0.2.4>\r\n\
          Call-ID: c1\r\n\
          CSeq: 1 OPTIONS\r\n\
          Content-Length: 0\r\n\r\n",
    ))
    .unwrap();
    let to = |r: &Response| header(r, "To").concat();
    for tag in ["", " ", "\t"] {
        let direct = Response::builder(&req, 200.into()).to_tag(tag).build();
        assert_eq!(to(&direct), "Bob <sip:bob@192.0.2.4>", "{tag:?}");
        assert!(Response::parse(direct.to_bytes()).is_ok());
        let lines = Response::builder(&req, 200.into())
            .reason("Fine")
            .to_tag(tag)
            .build();
        assert_eq!(to(&lines), "Bob <sip:bob@192.0.2.4>", "{tag:?}");
    }
    let tagged = Response::builder(&req, 200.into()).to_tag("t1").build();
    assert_eq!(to(&tagged), "Bob <sip:bob@192.0.2.4>;tag=t1");
}
