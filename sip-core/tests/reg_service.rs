//! REGISTER with digest authentication against the registrar service (RFC 3261 §10.3, §22).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers outside #[test] fns"
)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use telox_sip_core::auth::{
    Challenge, DigestClient, DigestSecret, DigestServer, DigestServerConfig,
};
use telox_sip_core::registration::{
    MemoryLocationStore, RegisterOutcome, Registrar, RegistrarConfig, RegistrarService,
};
use telox_sip_core::{Request, Response};

#[expect(
    clippy::disallowed_methods,
    reason = "virtual clock origin; only offsets matter"
)]
fn origin() -> Instant {
    Instant::now()
}

fn register(user: &str, cseq: u32, expires: u32, auth: Option<&str>) -> Request {
    let mut text = format!(
        "REGISTER sip:example.com SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-{cseq}\r\n\
         From: <sip:{user}@example.com>;tag=r1\r\n\
         To: <sip:{user}@example.com>\r\n\
         Call-ID: reg-1\r\n\
         CSeq: {cseq} REGISTER\r\n\
         Contact: <sip:{user}@127.0.0.1:5070>\r\n\
         Expires: {expires}\r\n"
    );
    if let Some(a) = auth {
        text.push_str(&format!("Authorization: {a}\r\n"));
    }
    text.push_str("Content-Length: 0\r\n\r\n");
    Request::parse(Bytes::from(text)).unwrap()
}

fn secrets(user: &str) -> Option<DigestSecret> {
    (user == "alice" || user == "bob").then(|| DigestSecret::Password(format!("{user}-pw")))
}

fn service() -> RegistrarService<MemoryLocationStore, fn(&str) -> Option<DigestSecret>> {
    RegistrarService::with_auth(
        Registrar::new(RegistrarConfig::default(), MemoryLocationStore::default()),
        DigestServer::new(DigestServerConfig::new("example.com", 9)),
        secrets as fn(&str) -> Option<DigestSecret>,
    )
}

fn challenges(r: &Response) -> Vec<Challenge> {
    r.headers()
        .named_str("WWW-Authenticate")
        .map(|h| Challenge::parse(h.value_str().unwrap()).unwrap())
        .collect()
}

#[test]
fn challenge_then_register_with_sha256() {
    let t0 = origin();
    let mut s = service();
    let (r, out) = s.handle(t0, &register("alice", 1, 600, None), "t1");
    assert_eq!(r.status().as_u16(), 401);
    assert_eq!(out, RegisterOutcome::Challenged { stale: false });
    let ch = challenges(&r);
    assert_eq!(ch.len(), 2, "SHA-256 and MD5 (RFC 8760)");
    let mut client = DigestClient::new("alice", "alice-pw", ChaCha8Rng::seed_from_u64(1));
    let creds = client
        .authorize(
            Challenge::select(&ch).unwrap(),
            "REGISTER",
            "sip:example.com",
        )
        .unwrap();
    assert!(creds.to_string().contains("algorithm=SHA-256"));
    let (r, out) = s.handle(
        t0,
        &register("alice", 2, 600, Some(&creds.to_string())),
        "t2",
    );
    assert_eq!(r.status().as_u16(), 200);
    let contact = r.headers().named_str("Contact").next().unwrap();
    assert_eq!(
        contact.value_str(),
        Some("<sip:alice@127.0.0.1:5070>;expires=600")
    );
    assert!(
        matches!(out, RegisterOutcome::Registered { ref aor, .. } if aor == "sip:alice@example.com")
    );
    // Replaying the same Authorization is refused (nonce count did not increase).
    let (r, _) = s.handle(
        t0,
        &register("alice", 3, 600, Some(&creds.to_string())),
        "t3",
    );
    assert_eq!(r.status().as_u16(), 401);
    // After the nonce lifetime the right answer is stale.
    let creds = client
        .authorize(
            Challenge::select(&ch).unwrap(),
            "REGISTER",
            "sip:example.com",
        )
        .unwrap();
    let (r, out) = s.handle(
        t0 + Duration::from_secs(301),
        &register("alice", 4, 600, Some(&creds.to_string())),
        "t4",
    );
    assert_eq!(r.status().as_u16(), 401);
    assert_eq!(out, RegisterOutcome::Challenged { stale: true });
    assert!(challenges(&r)[0].stale);
}

#[test]
fn wrong_password_unknown_user_and_foreign_aor() {
    let t0 = origin();
    let mut s = service();
    let (r, _) = s.handle(t0, &register("bob", 1, 600, None), "t");
    let ch = challenges(&r);
    let mut wrong = DigestClient::new("bob", "nope", ChaCha8Rng::seed_from_u64(1));
    let c = wrong
        .authorize(&ch[1], "REGISTER", "sip:example.com")
        .unwrap();
    let (r, _) = s.handle(t0, &register("bob", 2, 600, Some(&c.to_string())), "t");
    assert_eq!(r.status().as_u16(), 401);
    let mut eve = DigestClient::new("eve", "x", ChaCha8Rng::seed_from_u64(1));
    let c = eve
        .authorize(&ch[1], "REGISTER", "sip:example.com")
        .unwrap();
    let (r, _) = s.handle(t0, &register("eve", 3, 600, Some(&c.to_string())), "t");
    assert_eq!(r.status().as_u16(), 401);
    // alice's credentials for bob's AOR: 403.
    let mut alice = DigestClient::new("alice", "alice-pw", ChaCha8Rng::seed_from_u64(1));
    let c = alice
        .authorize(&ch[1], "REGISTER", "sip:example.com")
        .unwrap();
    let (r, out) = s.handle(t0, &register("bob", 4, 600, Some(&c.to_string())), "t");
    assert_eq!(
        (r.status().as_u16(), out),
        (403, RegisterOutcome::Forbidden)
    );
}

#[test]
fn too_brief_gets_423_with_min_expires() {
    let t0 = origin();
    let mut s: RegistrarService<MemoryLocationStore, fn(&str) -> Option<DigestSecret>> =
        RegistrarService::new(Registrar::new(
            RegistrarConfig::default(),
            MemoryLocationStore::default(),
        ));
    let (r, out) = s.handle(t0, &register("alice", 1, 10, None), "t");
    assert_eq!(r.status().as_u16(), 423);
    assert_eq!(out, RegisterOutcome::Refused(423));
    assert_eq!(
        r.headers()
            .named_str("Min-Expires")
            .next()
            .unwrap()
            .value_str(),
        Some("60")
    );
}
