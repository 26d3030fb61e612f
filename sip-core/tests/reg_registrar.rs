//! The registrar core of RFC 3261 §10.3 on a virtual clock.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers outside #[test] fns"
)]

use std::time::{Duration, Instant};

use telox_sip_core::registration::{
    ContactEntry, Contacts, LocationStore, MemoryLocationStore, RegisterError, RegisterRequest,
    Registrar, RegistrarConfig,
};

#[expect(
    clippy::disallowed_methods,
    reason = "virtual clock origin; only offsets matter"
)]
fn origin() -> Instant {
    Instant::now()
}

fn req(
    call_id: &str,
    cseq: u32,
    expires: Option<u32>,
    contacts: &[(&str, Option<u32>)],
) -> RegisterRequest {
    RegisterRequest {
        aor: "sip:bob@biloxi.com".into(),
        call_id: call_id.into(),
        cseq,
        expires,
        contacts: Contacts::List(
            contacts
                .iter()
                .map(|(u, e)| ContactEntry {
                    uri: (*u).into(),
                    expires: *e,
                    q: None,
                })
                .collect(),
        ),
    }
}

fn registrar() -> Registrar<MemoryLocationStore> {
    Registrar::new(RegistrarConfig::default(), MemoryLocationStore::default())
}

#[test]
fn register_refresh_expire_and_query() {
    let t0 = origin();
    let mut r = registrar();
    let b = r
        .register(t0, &req("c1", 1, Some(600), &[("sip:bob@192.0.2.4", None)]))
        .unwrap();
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].remaining_secs(t0), 600);
    // The contact's own expires param wins over the Expires header.
    let b = r
        .register(
            t0 + Duration::from_secs(10),
            &req("c1", 2, Some(600), &[("sip:bob@192.0.2.4", Some(120))]),
        )
        .unwrap();
    assert_eq!(b[0].remaining_secs(t0 + Duration::from_secs(10)), 120);
    // Longer than max_expires is shortened, default applies without any expiry.
    let b = r
        .register(t0, &req("c2", 1, None, &[("sip:bob@198.51.100.1", None)]))
        .unwrap();
    assert_eq!(b.len(), 2);
    assert_eq!(b[1].remaining_secs(t0), 3600);
    let b = r
        .register(
            t0,
            &req("c3", 1, Some(99_999), &[("sip:bob@198.51.100.2", None)]),
        )
        .unwrap();
    assert_eq!(b[2].remaining_secs(t0), 7200);
    // A query (no contacts) returns the live bindings unchanged.
    assert_eq!(r.register(t0, &req("c9", 1, None, &[])).unwrap().len(), 3);
    // After 130 s the 120 s binding is gone.
    let later = t0 + Duration::from_secs(131);
    assert_eq!(r.lookup(later, "sip:bob@biloxi.com").len(), 2);
    r.purge(t0 + Duration::from_secs(8000));
    assert_eq!(r.store().aor_count(), 0);
}

#[test]
fn interval_too_brief_is_423_and_changes_nothing() {
    let t0 = origin();
    let mut r = registrar();
    let e = r
        .register(t0, &req("c1", 1, Some(30), &[("sip:bob@192.0.2.4", None)]))
        .unwrap_err();
    assert_eq!(e, RegisterError::IntervalTooBrief { min_expires: 60 });
    assert_eq!(e.status_code(), 423);
    assert!(r.lookup(t0, "sip:bob@biloxi.com").is_empty());
}

#[test]
fn same_call_id_needs_higher_cseq() {
    let t0 = origin();
    let mut r = registrar();
    r.register(t0, &req("c1", 5, Some(600), &[("sip:bob@192.0.2.4", None)]))
        .unwrap();
    let e = r
        .register(t0, &req("c1", 5, Some(0), &[("sip:bob@192.0.2.4", None)]))
        .unwrap_err();
    assert_eq!(
        (e.clone(), e.status_code()),
        (RegisterError::OutOfOrder, 500)
    );
    assert_eq!(r.lookup(t0, "sip:bob@biloxi.com").len(), 1);
    // A different Call-ID may remove it whatever its CSeq.
    let b = r
        .register(
            t0,
            &req("other", 1, Some(0), &[("sip:bob@192.0.2.4", None)]),
        )
        .unwrap();
    assert!(b.is_empty());
}

#[test]
fn star_removes_all_only_with_expires_zero() {
    let t0 = origin();
    let mut r = registrar();
    r.register(
        t0,
        &req(
            "c1",
            1,
            None,
            &[("sip:bob@192.0.2.4", None), ("sip:bob@192.0.2.5", None)],
        ),
    )
    .unwrap();
    let mut star = req("c1", 2, Some(3600), &[]);
    star.contacts = Contacts::Star;
    assert_eq!(r.register(t0, &star).unwrap_err().status_code(), 400);
    star.expires = None;
    assert_eq!(
        r.register(t0, &star).unwrap_err(),
        RegisterError::InvalidStar
    );
    star.expires = Some(0);
    star.cseq = 1;
    assert_eq!(
        r.register(t0, &star).unwrap_err(),
        RegisterError::OutOfOrder
    );
    star.cseq = 2;
    assert!(r.register(t0, &star).unwrap().is_empty());
    assert_eq!(r.store().aor_count(), 0);
}

#[test]
fn lookup_orders_by_q_and_bindings_are_bounded() {
    let t0 = origin();
    let mut r = Registrar::new(
        RegistrarConfig {
            max_bindings: 2,
            ..RegistrarConfig::default()
        },
        MemoryLocationStore::default(),
    );
    let mut rq = req("c1", 1, None, &[("sip:a@h1", None), ("sip:a@h2", None)]);
    if let Contacts::List(l) = &mut rq.contacts {
        l[0].q = Some(100);
        l[1].q = Some(900);
    }
    r.register(t0, &rq).unwrap();
    let l = r.lookup(t0, "sip:bob@biloxi.com");
    assert_eq!(l[0].contact, "sip:a@h2");
    let e = r
        .register(t0, &req("c1", 2, None, &[("sip:a@h3", None)]))
        .unwrap_err();
    assert_eq!(e, RegisterError::TooManyBindings { limit: 2 });
    assert_eq!(r.lookup(t0, "sip:bob@biloxi.com").len(), 2);
}
