//! Session timers run by the user agent (RFC 4028): negotiation in the INVITE/2xx, the
//! refresher's UPDATE or re-INVITE at half the interval, BYE from the other side when no
//! refresh arrives "the minimum of 32 seconds and one third of the session interval" before
//! expiry, and the 422/Min-SE retry. Two user agents on a virtual clock, delivery by hand.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers outside #[test] fns"
)]

use std::time::{Duration, Instant};

use telox_sip_core::header::CSeq;
use telox_sip_core::transaction::Transmit;
use telox_sip_core::ua::session_timer::{Refresher, SessionTimerConfig};
use telox_sip_core::ua::{Body, LegId, UaConfig, UaEvent, UserAgent};
use telox_sip_core::{Message, Method, Request, Response, StatusCode};
use ua_support::*;

mod ua_support;

const SDP: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
                   m=audio 4000 RTP/AVP 0\r\n";

fn timed(addr: &str, user: &str, seed: u64, cfg: SessionTimerConfig) -> UserAgent {
    let mut c = UaConfig::new(addr.parse().unwrap(), user, seed);
    c.session_timer = Some(cfg);
    UserAgent::new(c)
}

fn cfg(session_expires: u32, min_se: u32) -> SessionTimerConfig {
    SessionTimerConfig {
        session_expires,
        min_se,
        ..SessionTimerConfig::default()
    }
}

fn secs(t0: Instant, s: u64) -> Instant {
    t0 + Duration::from_secs(s)
}

fn header<'a>(m: &'a Message, name: &'a str) -> Option<&'a str> {
    m.headers()
        .named_str(name)
        .next()
        .and_then(|h| h.value_str())
}

fn messages(msgs: &[Transmit]) -> Vec<Message> {
    msgs.iter()
        .map(|m| Message::parse(m.payload.clone()).unwrap())
        .collect()
}

/// The requests of `method` among `msgs`.
fn of(msgs: &[Transmit], method: Method) -> Vec<Request> {
    requests(msgs)
        .into_iter()
        .filter(|r| *r.method() == method)
        .collect()
}

fn expired(evs: &[UaEvent], leg: LegId) -> bool {
    evs.iter()
        .any(|e| matches!(e, UaEvent::SessionExpired { leg: l } if *l == leg))
}

fn refreshed(evs: &[UaEvent]) -> Option<u32> {
    evs.iter().find_map(|e| match e {
        UaEvent::SessionRefreshed { interval, .. } => Some(*interval),
        _ => None,
    })
}

/// A calls B, B answers with `body`; returns the legs and the 2xx as sent.
fn answered(
    a: &mut UserAgent,
    b: &mut UserAgent,
    t0: Instant,
    body: Option<Body>,
) -> (LegId, LegId, Message) {
    let al = call(a, t0);
    let invite = out(a);
    let inv = &messages(&invite)[0];
    assert_eq!(header(inv, "Supported"), Some("100rel, replaces, timer"));
    deliver(t0, b, A, invite);
    let bl = incoming(&events(b));
    b.answer(t0, bl, body.clone()).unwrap();
    let ok = out(b);
    let ok_msg = messages(&ok).remove(0);
    deliver(t0, a, B, ok);
    assert!(
        events(a)
            .iter()
            .any(|e| matches!(e, UaEvent::Answered { .. }))
    );
    // A's INVITE had no offer: a 2xx with one is ACKed with A's answer (RFC 3264 §5).
    assert_eq!(a.ack_pending(al), body.is_some());
    if a.ack_pending(al) {
        assert!(out(a).is_empty(), "the ACK waits for the answer");
        a.ack(al, Some(Body::sdp(SDP))).unwrap();
    }
    deliver(t0, b, A, out(a));
    assert!(
        events(b)
            .iter()
            .any(|e| matches!(e, UaEvent::Confirmed { .. }))
    );
    (al, bl, ok_msg)
}

#[test]
fn uac_refreshes_with_update_and_both_sides_bye_when_refreshes_stop() {
    let t0 = origin();
    let mut a = timed(A, "alice", 1, cfg(90, 90));
    let mut b = timed(B, "bob", 2, cfg(90, 90));
    let (al, bl, ok) = answered(&mut a, &mut b, t0, None);
    // RFC 4028 §9: the UAC supports timers and named no refresher, so the UAS picks "uac".
    assert_eq!(header(&ok, "Session-Expires"), Some("90;refresher=uac"));
    assert_eq!(header(&ok, "Require"), Some("timer"));

    // A refreshes at half the interval, with UPDATE (B's Allow lists it).
    a.handle_timeout(t0 + Duration::from_millis(44_999));
    assert!(of(&out(&mut a), Method::Update).is_empty());
    a.handle_timeout(secs(t0, 45));
    let sent = out(&mut a);
    let update = &of(&sent, Method::Update)[0];
    let um = Message::Request(update.clone());
    assert_eq!(header(&um, "Session-Expires"), Some("90;refresher=uac"));
    assert_eq!(update.header::<CSeq>().unwrap().unwrap().seq(), 2);
    // B answers the body-less refresh itself and restarts its expiry timer.
    deliver(secs(t0, 45), &mut b, A, sent);
    assert_eq!(refreshed(&events(&mut b)), Some(90));
    let ok = out(&mut b);
    assert_eq!(
        header(&messages(&ok)[0], "Session-Expires"),
        Some("90;refresher=uac")
    );
    deliver(secs(t0, 45), &mut a, B, ok);
    assert_eq!(refreshed(&events(&mut a)), Some(90));

    // B would have given up at 60 s (90 - min(32, 30)) without that refresh.
    b.handle_timeout(secs(t0, 60));
    assert!(of(&out(&mut b), Method::Bye).is_empty());
    assert!(!expired(&events(&mut b), bl));

    // The next refresh (at 90 s) is lost: B sends BYE at 45 + 60 = 105 s, not before.
    a.handle_timeout(secs(t0, 90));
    assert_eq!(of(&out(&mut a), Method::Update).len(), 1);
    byes_at(&mut b, bl, secs(t0, 105));
    // A's refresh got no answer either: the refresher gives up at the same instant.
    a.handle_timeout(secs(t0, 105));
    assert_eq!(of(&out(&mut a), Method::Bye).len(), 1);
    assert!(expired(&events(&mut a), al));
}

#[test]
fn uas_refreshes_with_reinvite_and_the_uac_byes_when_refreshes_stop() {
    let t0 = origin();
    let a_cfg = SessionTimerConfig {
        refresher: Some(Refresher::Uas),
        ..cfg(120, 90)
    };
    let b_cfg = SessionTimerConfig {
        use_update: false,
        ..cfg(1800, 90)
    };
    let mut a = timed(A, "alice", 1, a_cfg);
    let mut b = timed(B, "bob", 2, b_cfg);
    let (al, bl, ok) = answered(&mut a, &mut b, t0, Some(Body::sdp(SDP)));
    // B grants the 120 s A asked for (below its own 1800) with the refresher A asked for.
    assert_eq!(header(&ok, "Session-Expires"), Some("120;refresher=uas"));

    // A is not the refresher: nothing from A at 60 s.
    a.handle_timeout(secs(t0, 60));
    assert!(out(&mut a).is_empty());
    // B refreshes at 60 s with a re-INVITE carrying its session description again.
    b.handle_timeout(secs(t0, 60));
    let sent = out(&mut b);
    let reinvite = &of(&sent, Method::Invite)[0];
    assert_eq!(reinvite.body(), SDP.as_bytes());
    let rm = Message::Request(reinvite.clone());
    assert_eq!(header(&rm, "Session-Expires"), Some("120;refresher=uac"));
    deliver(secs(t0, 60), &mut a, B, sent);
    let key = events(&mut a)
        .into_iter()
        .find_map(|e| match e {
            UaEvent::Request { key, leg, request } if leg == Some(al) => {
                assert_eq!(*request.method(), Method::Invite);
                Some(key)
            }
            _ => None,
        })
        .expect("the re-INVITE goes to the application");
    a.respond(secs(t0, 60), &key, 200, Some(Body::sdp(SDP)))
        .unwrap();
    assert_eq!(refreshed(&events(&mut a)), Some(120));
    let ok = out(&mut a);
    // A's 2xx keeps B as the refresher (B is the UAC of this refresh).
    assert_eq!(
        header(&messages(&ok)[0], "Session-Expires"),
        Some("120;refresher=uac")
    );
    deliver(secs(t0, 60), &mut b, A, ok);
    assert_eq!(refreshed(&events(&mut b)), Some(120));
    // B ACKs the 2xx of its refresh.
    let ack = out(&mut b);
    assert_eq!(of(&ack, Method::Ack).len(), 1);
    deliver(secs(t0, 60), &mut a, B, ack);

    // B's next refresh at 120 s is lost; A gives up at 60 + (120 - 32) = 148 s.
    b.handle_timeout(secs(t0, 120));
    assert_eq!(of(&out(&mut b), Method::Invite).len(), 1);
    a.handle_timeout(t0 + Duration::from_millis(147_999));
    assert!(of(&out(&mut a), Method::Bye).is_empty());
    a.handle_timeout(secs(t0, 148));
    let bye = out(&mut a);
    assert_eq!(of(&bye, Method::Bye).len(), 1);
    let evs = events(&mut a);
    assert!(expired(&evs, al));
    deliver(secs(t0, 148), &mut b, A, bye);
    assert!(
        events(&mut b)
            .iter()
            .any(|e| matches!(e, UaEvent::Ended { leg, by_peer: true } if *leg == bl))
    );
}

#[test]
fn interval_below_min_se_gets_422_and_the_uac_retries_with_min_se() {
    let t0 = origin();
    let mut a = timed(A, "alice", 1, cfg(90, 90));
    let mut b = timed(B, "bob", 2, cfg(1800, 600));
    let al = call(&mut a, t0);
    deliver(t0, &mut b, A, out(&mut a));
    // B rejects by itself: no call reaches its application.
    assert!(events(&mut b).is_empty());
    let r422 = out(&mut b);
    let m = &messages(&r422)[0];
    assert!(matches!(m, Message::Response(r) if r.status().as_u16() == 422));
    assert_eq!(header(m, "Min-SE"), Some("600"));
    deliver(t0, &mut a, B, r422);
    let sent = out(&mut a);
    let retry = &of(&sent, Method::Invite)[0];
    let rm = Message::Request(retry.clone());
    assert_eq!(header(&rm, "Session-Expires"), Some("600"));
    assert_eq!(header(&rm, "Min-SE"), Some("600"));
    assert_eq!(retry.header::<CSeq>().unwrap().unwrap().seq(), 2);
    assert!(
        !events(&mut a)
            .iter()
            .any(|e| matches!(e, UaEvent::Failed { .. }))
    );
    deliver(t0, &mut b, A, sent);
    let bl = incoming(&events(&mut b));
    b.answer(t0, bl, None).unwrap();
    let ok = out(&mut b);
    assert_eq!(
        header(&messages(&ok)[0], "Session-Expires"),
        Some("600;refresher=uac")
    );
    deliver(t0, &mut a, B, ok);
    // A refreshes at 300 s.
    a.handle_timeout(secs(t0, 299));
    assert!(of(&out(&mut a), Method::Update).is_empty());
    a.handle_timeout(secs(t0, 300));
    assert_eq!(of(&out(&mut a), Method::Update).len(), 1);
    let _ = al;
}

#[test]
fn uas_refreshes_for_a_caller_without_timer_support() {
    let t0 = origin();
    // A knows nothing of session timers (RFC 4028 §9: the UAS then refreshes itself).
    let mut a = ua(A, "alice", 1);
    let mut b = timed(B, "bob", 2, cfg(90, 90));
    let al = call(&mut a, t0);
    deliver(t0, &mut b, A, out(&mut a));
    let bl = incoming(&events(&mut b));
    b.answer(t0, bl, None).unwrap();
    let ok = out(&mut b);
    let m = &messages(&ok)[0];
    assert_eq!(header(m, "Session-Expires"), Some("90;refresher=uas"));
    assert_eq!(header(m, "Require"), None, "A does not support timer");
    deliver(t0, &mut a, B, ok);
    deliver(t0, &mut b, A, out(&mut a));
    let _ = (events(&mut a), events(&mut b));

    // B refreshes with UPDATE (A's Allow lists it); A's application answers it.
    b.handle_timeout(secs(t0, 45));
    let sent = out(&mut b);
    assert_eq!(of(&sent, Method::Update).len(), 1);
    deliver(secs(t0, 45), &mut a, B, sent);
    let key = events(&mut a)
        .into_iter()
        .find_map(|e| match e {
            UaEvent::Request { key, leg, .. } if leg == Some(al) => Some(key),
            _ => None,
        })
        .expect("the UPDATE goes to A's application");
    a.respond(secs(t0, 45), &key, 200, None).unwrap();
    deliver(secs(t0, 45), &mut b, A, out(&mut a));
    // A's 200 has no Session-Expires, from a peer without timer support: B stays the
    // refresher with its interval (the timer is not turned off, RFC 4028 §9).
    assert_eq!(refreshed(&events(&mut b)), Some(90));
    b.handle_timeout(secs(t0, 89));
    assert!(of(&out(&mut b), Method::Update).is_empty());
    b.handle_timeout(secs(t0, 90));
    assert_eq!(of(&out(&mut b), Method::Update).len(), 1);
    // That refresh is never answered: B ends the session at 45 + 60 s.
    b.handle_timeout(secs(t0, 105));
    assert_eq!(of(&out(&mut b), Method::Bye).len(), 1);
    assert!(expired(&events(&mut b), bl));
}

/// The peer's answer to our in-dialog `request`, built by hand (a peer that behaves unlike
/// our UA), with `extra` headers, delivered from `from`.
fn answer(
    to: &mut UserAgent,
    now: Instant,
    from: &str,
    request: &Request,
    status: u16,
    extra: &[(&str, &str)],
) {
    let mut b = Response::builder(request, StatusCode(status));
    for (name, value) in extra {
        b = b.raw_header(name, value).unwrap();
    }
    to.handle_message(now, t(from), Message::Response(b.build()));
}

fn seq(r: &Request) -> u32 {
    r.header::<CSeq>().unwrap().unwrap().seq()
}

fn session_expires(r: &Request) -> Option<String> {
    header(&Message::Request(r.clone()), "Session-Expires").map(str::to_owned)
}

/// `u` sends BYE for `leg` (a [`UaEvent::SessionExpired`] first) at `at`, not 1 ms before.
fn byes_at(u: &mut UserAgent, leg: LegId, at: Instant) {
    u.handle_timeout(at - Duration::from_millis(1));
    assert!(of(&out(u), Method::Bye).is_empty(), "BYE early");
    u.handle_timeout(at);
    assert_eq!(of(&out(u), Method::Bye).len(), 1);
    assert!(expired(&events(u), leg));
}

/// A calls B, both with 90 s timers; A (the refresher, UPDATE allowed) sends its refresh
/// at 45 s. Returns both UAs, A's leg and that UPDATE.
fn update_refresh(t0: Instant) -> (UserAgent, UserAgent, LegId, Request) {
    let mut a = timed(A, "alice", 1, cfg(90, 90));
    let mut b = timed(B, "bob", 2, cfg(90, 90));
    let (al, _, _) = answered(&mut a, &mut b, t0, None);
    a.handle_timeout(secs(t0, 45));
    let update = of(&out(&mut a), Method::Update).remove(0);
    assert_eq!(seq(&update), 2);
    (a, b, al, update)
}

#[test]
fn update_refresh_answered_501_or_405_falls_back_to_reinvite() {
    for status in [501, 405] {
        let t0 = origin();
        let (mut a, mut b, al, update) = update_refresh(t0);
        let at = secs(t0, 45);
        answer(&mut a, at, B, &update, status, &[]);
        // RFC 4028 §10 allows either method: A refreshes with a re-INVITE at once, with the
        // same interval and role and a new CSeq.
        let sent = out(&mut a);
        assert!(of(&sent, Method::Update).is_empty(), "{status}");
        let reinvite = of(&sent, Method::Invite).remove(0);
        assert_eq!(seq(&reinvite), 3, "{status}");
        assert_eq!(
            session_expires(&reinvite).as_deref(),
            Some("90;refresher=uac")
        );
        assert!(!expired(&events(&mut a), al), "{status}");
        // B's application takes the re-INVITE; its 2xx refreshes A's timer.
        deliver(at, &mut b, A, sent);
        let key = events(&mut b)
            .into_iter()
            .find_map(|e| match e {
                UaEvent::Request { key, .. } => Some(key),
                _ => None,
            })
            .expect("the re-INVITE reaches B's application");
        b.respond(at, &key, 200, None).unwrap();
        deliver(at, &mut a, B, out(&mut b));
        assert_eq!(refreshed(&events(&mut a)), Some(90), "{status}");
        assert_eq!(of(&out(&mut a), Method::Ack).len(), 1, "{status}");
        // The next refresh (at 90 s) is a re-INVITE again: A remembers the refusal.
        a.handle_timeout(secs(t0, 90));
        let sent = out(&mut a);
        assert!(of(&sent, Method::Update).is_empty(), "{status}");
        assert_eq!(of(&sent, Method::Invite).len(), 1, "{status}");
    }
}

/// The refresher (A, who called and owns the Call-ID, when `a_refreshes`; else B) sends
/// its re-INVITE refresh at 45 s and gets 491; returns how long it waited before the retry.
fn refresh_491_retry(seed: u64, a_refreshes: bool) -> Duration {
    let t0 = origin();
    let refresher = if a_refreshes {
        Refresher::Uac
    } else {
        Refresher::Uas
    };
    let no_update = |c: SessionTimerConfig| SessionTimerConfig {
        use_update: false,
        ..c
    };
    let a_cfg = SessionTimerConfig {
        refresher: Some(refresher),
        ..no_update(cfg(90, 90))
    };
    let mut a = timed(A, "alice", seed, a_cfg);
    let mut b = timed(B, "bob", seed + 100, no_update(cfg(90, 90)));
    let (al, bl, _) = answered(&mut a, &mut b, t0, Some(Body::sdp(SDP)));
    let (refr, leg, peer) = if a_refreshes {
        (&mut a, al, B)
    } else {
        (&mut b, bl, A)
    };
    let at = secs(t0, 45);
    refr.handle_timeout(at);
    let first = of(&out(refr), Method::Invite).remove(0);
    // The glare answer of a peer with an INVITE of its own in progress (RFC 3261 §14.2).
    answer(refr, at, peer, &first, 491, &[]);
    // The transaction ACKs the 491; no new INVITE yet, the session goes on.
    let sent = out(refr);
    assert_eq!(of(&sent, Method::Ack).len(), 1);
    assert!(of(&sent, Method::Invite).is_empty());
    assert!(!expired(&events(refr), leg));
    let retry_at = refr.poll_timeout().unwrap();
    assert!(retry_at >= at);
    refr.handle_timeout(retry_at - Duration::from_millis(1));
    assert!(of(&out(refr), Method::Invite).is_empty(), "retried early");
    refr.handle_timeout(retry_at);
    let retry = of(&out(refr), Method::Invite).remove(0);
    assert_eq!(seq(&retry), seq(&first) + 1);
    // The same session description as the first try (B's answer is B's to repeat; A
    // made no offer in this test).
    assert_eq!(retry.body(), first.body());
    if !a_refreshes {
        assert_eq!(retry.body(), SDP.as_bytes());
    }
    assert_eq!(session_expires(&retry).as_deref(), Some("90;refresher=uac"));
    // The retry goes through: the session is refreshed.
    let se = [
        ("Session-Expires", "90;refresher=uac"),
        ("Require", "timer"),
    ];
    answer(refr, retry_at, peer, &retry, 200, &se);
    assert_eq!(refreshed(&events(refr)), Some(90));
    retry_at - at
}

#[test]
fn refresh_reinvite_answered_491_is_retried_after_the_glare_delay() {
    // RFC 3261 §14.1: the owner of the Call-ID (A, who called) waits 2.1 to 4 s, the other
    // side 0 to 2 s, in units of 10 ms, chosen at random.
    let mut owner = Vec::new();
    for seed in 1..=6 {
        let d = refresh_491_retry(seed, true);
        assert!(
            (Duration::from_millis(2100)..=Duration::from_secs(4)).contains(&d),
            "owner waited {d:?}"
        );
        assert_eq!(d.as_millis() % 10, 0, "{d:?}");
        owner.push(d);
        let d = refresh_491_retry(seed, false);
        assert!(d <= Duration::from_secs(2), "non-owner waited {d:?}");
        assert_eq!(d.as_millis() % 10, 0, "{d:?}");
    }
    owner.sort();
    owner.dedup();
    assert!(owner.len() > 1, "the delay is not random: {owner:?}");
}

#[test]
fn in_dialog_refresh_answered_422_raises_the_interval_to_min_se_and_retries() {
    let t0 = origin();
    let (mut a, mut b, al, update) = update_refresh(t0);
    let at = secs(t0, 45);
    // RFC 4028 §7.4: retry with Session-Expires and Min-SE at the 422's Min-SE.
    answer(&mut a, at, B, &update, 422, &[("Min-SE", "120")]);
    let sent = out(&mut a);
    let retry = of(&sent, Method::Update).remove(0);
    assert_eq!(seq(&retry), 3);
    assert_eq!(
        session_expires(&retry).as_deref(),
        Some("120;refresher=uac")
    );
    assert_eq!(
        header(&Message::Request(retry.clone()), "Min-SE"),
        Some("120")
    );
    // B's UA takes it and grants 120 s; A's next refresh is half of that later.
    deliver(at, &mut b, A, sent);
    assert_eq!(refreshed(&events(&mut b)), Some(120));
    deliver(at, &mut a, B, out(&mut b));
    assert_eq!(refreshed(&events(&mut a)), Some(120));
    a.handle_timeout(secs(t0, 104));
    assert!(of(&out(&mut a), Method::Update).is_empty());
    a.handle_timeout(secs(t0, 105));
    let second = of(&out(&mut a), Method::Update).remove(0);
    assert_eq!(
        session_expires(&second).as_deref(),
        Some("120;refresher=uac")
    );

    // A peer that keeps raising: two retries (150, then 180 asked), not a third.
    let at = secs(t0, 105);
    answer(&mut a, at, B, &second, 422, &[("Min-SE", "150")]);
    let r1 = of(&out(&mut a), Method::Update).remove(0);
    assert_eq!(session_expires(&r1).as_deref(), Some("150;refresher=uac"));
    answer(&mut a, at, B, &r1, 422, &[("Min-SE", "180")]);
    let r2 = of(&out(&mut a), Method::Update).remove(0);
    assert_eq!(session_expires(&r2).as_deref(), Some("180;refresher=uac"));
    answer(&mut a, at, B, &r2, 422, &[("Min-SE", "210")]);
    assert!(of(&out(&mut a), Method::Update).is_empty(), "third retry");
    // Without a successful refresh the session ends when the 120 s one expires:
    // 45 + 120 - 32 = 133 s.
    byes_at(&mut a, al, secs(t0, 133));
}

#[test]
fn refresh_answered_422_without_a_larger_min_se_is_not_retried() {
    let t0 = origin();
    let (mut a, _, al, update) = update_refresh(t0);
    let at = secs(t0, 45);
    answer(&mut a, at, B, &update, 422, &[("Min-SE", "90")]);
    assert!(of(&out(&mut a), Method::Update).is_empty());
    answer(&mut a, at, B, &update, 422, &[]);
    assert!(of(&out(&mut a), Method::Update).is_empty());
    // The expiry timer still runs: BYE at 90 - 30 = 60 s.
    byes_at(&mut a, al, secs(t0, 60));
}

#[test]
fn refresh_reinvite_after_an_offerless_invite_offers_the_answer_sent_in_the_ack() {
    const ANSWER: &str = "v=0\r\no=- 2 7 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n\
                          t=0 0\r\nm=audio 4002 RTP/AVP 0\r\n";
    let t0 = origin();
    let a_cfg = SessionTimerConfig {
        refresher: Some(Refresher::Uac),
        use_update: false,
        ..cfg(90, 90)
    };
    let mut a_config = UaConfig::new(A.parse().unwrap(), "alice", 1);
    a_config.session_timer = Some(a_cfg);
    let mut a = UserAgent::new(a_config);
    let mut b = timed(B, "bob", 2, cfg(90, 90));

    // A's INVITE has no offer; B offers in its 2xx.
    let al = call(&mut a, t0);
    let invite = out(&mut a);
    assert!(of(&invite, Method::Invite)[0].body().is_empty());
    deliver(t0, &mut b, A, invite);
    let bl = incoming(&events(&mut b));
    b.answer(t0, bl, Some(Body::sdp(SDP))).unwrap();
    let ok = out(&mut b);
    deliver(t0, &mut a, B, ok.clone());
    assert!(
        events(&mut a)
            .iter()
            .any(|e| matches!(e, UaEvent::Answered { leg, .. } if *leg == al))
    );
    // The ACK waits for A's answer, also when the 2xx is retransmitted meanwhile.
    assert!(out(&mut a).is_empty());
    deliver(t0, &mut a, B, ok);
    assert!(out(&mut a).is_empty());
    a.ack(al, Some(Body::sdp(ANSWER))).unwrap();
    assert!(a.ack(al, None).is_err(), "only one ACK per 2xx");
    let ack = out(&mut a);
    let acks = of(&ack, Method::Ack);
    assert_eq!(acks.len(), 1);
    assert_eq!(acks[0].body(), ANSWER.as_bytes());
    deliver(t0, &mut b, A, ack);
    let confirmed = events(&mut b).into_iter().find_map(|e| match e {
        UaEvent::Confirmed { ack, .. } => Some(ack),
        _ => None,
    });
    assert_eq!(confirmed.unwrap().body(), ANSWER.as_bytes());

    // A's refresh at half the interval is a re-INVITE offering the session description A
    // last sent (the answer in the ACK, same o= version: nothing changed), RFC 4028 §7.4.
    a.handle_timeout(secs(t0, 45));
    let sent = out(&mut a);
    let reinvite = &of(&sent, Method::Invite)[0];
    assert_eq!(reinvite.body(), ANSWER.as_bytes());
    let rm = Message::Request(reinvite.clone());
    assert_eq!(header(&rm, "Content-Type"), Some("application/sdp"));
    assert_eq!(
        session_expires(reinvite).as_deref(),
        Some("90;refresher=uac")
    );
    // B answers the offer; A's ACK of the refresh owes nothing and carries no body.
    deliver(secs(t0, 45), &mut b, A, sent);
    let key = events(&mut b)
        .into_iter()
        .find_map(|e| match e {
            UaEvent::Request { key, leg, .. } if leg == Some(bl) => Some(key),
            _ => None,
        })
        .expect("the refresh goes to the application");
    b.respond(secs(t0, 45), &key, 200, Some(Body::sdp(SDP)))
        .unwrap();
    deliver(secs(t0, 45), &mut a, B, out(&mut b));
    assert_eq!(refreshed(&events(&mut a)), Some(90));
    let acks = of(&out(&mut a), Method::Ack);
    assert_eq!(acks.len(), 1);
    assert!(acks[0].body().is_empty());
}

/// A (the refresher) sends BYE for `leg` at once, after [`UaEvent::SessionExpired`].
fn byes_now(u: &mut UserAgent, leg: LegId) {
    let sent = out(u);
    assert_eq!(of(&sent, Method::Bye).len(), 1, "{:?}", first_lines(&sent));
    assert!(expired(&events(u), leg));
}

#[test]
fn refresh_answered_408_or_481_ends_the_session_with_bye_at_once() {
    // RFC 4028 §10: "If the session refresh request transaction times out or generates a
    // 408 or 481 response, then the UAC sends a BYE request".
    let t0 = origin();
    let (mut a, mut b, al, update) = update_refresh(t0);
    answer(&mut a, secs(t0, 46), B, &update, 408, &[]);
    let sent = out(&mut a);
    assert_eq!(of(&sent, Method::Bye).len(), 1, "{:?}", first_lines(&sent));
    assert!(expired(&events(&mut a), al));
    deliver(secs(t0, 46), &mut b, A, sent);
    deliver(secs(t0, 46), &mut a, B, out(&mut b));
    assert!(
        events(&mut a)
            .iter()
            .any(|e| matches!(e, UaEvent::Ended { leg, by_peer: false } if *leg == al))
    );
    assert_eq!(a.leg_count(), 0);
    // 481: the peer lost the dialog; the call ends without a BYE (it would get 481 too).
    let (mut a, _, al, update) = update_refresh(t0);
    answer(&mut a, secs(t0, 46), B, &update, 481, &[]);
    assert!(of(&out(&mut a), Method::Bye).is_empty());
    let evs = events(&mut a);
    assert!(expired(&evs, al));
    assert!(
        evs.iter()
            .any(|e| matches!(e, UaEvent::Ended { leg, by_peer: true } if *leg == al))
    );
    assert_eq!(a.leg_count(), 0);
}

#[test]
fn refresh_that_times_out_ends_the_session_with_bye() {
    // A 1800 s session: the refresh at 900 s is never answered; its UPDATE gives up at
    // 64*T1 (Timer F, 932 s), long before the expiry BYE at 1768 s.
    let t0 = origin();
    let mut a = timed(A, "alice", 1, cfg(1800, 90));
    let mut b = timed(B, "bob", 2, cfg(1800, 90));
    let (al, _, _) = answered(&mut a, &mut b, t0, None);
    a.handle_timeout(secs(t0, 900));
    assert_eq!(of(&out(&mut a), Method::Update).len(), 1);
    let mut at = secs(t0, 900);
    while let Some(next) = a.poll_timeout().filter(|n| *n < secs(t0, 932)) {
        at = next;
        a.handle_timeout(at);
        assert!(
            of(&out(&mut a), Method::Bye).is_empty(),
            "BYE at {:?}",
            at - t0
        );
    }
    assert!(at < secs(t0, 932));
    a.handle_timeout(secs(t0, 932));
    byes_now(&mut a, al);
}

#[test]
fn refresh_answered_5xx_is_retried_once_before_expiry() {
    let t0 = origin();
    // 500 at 46 s: retried after T2 (4 s), not before; that retry succeeds.
    let (mut a, _, _, update) = update_refresh(t0);
    answer(&mut a, secs(t0, 46), B, &update, 500, &[]);
    assert!(out(&mut a).is_empty());
    assert!(events(&mut a).is_empty());
    a.handle_timeout(secs(t0, 50) - Duration::from_millis(1));
    assert!(of(&out(&mut a), Method::Update).is_empty(), "retried early");
    a.handle_timeout(secs(t0, 50));
    let retry = of(&out(&mut a), Method::Update).remove(0);
    assert_eq!(seq(&retry), seq(&update) + 1);
    let se = [
        ("Session-Expires", "90;refresher=uac"),
        ("Require", "timer"),
    ];
    answer(&mut a, secs(t0, 50), B, &retry, 200, &se);
    assert_eq!(refreshed(&events(&mut a)), Some(90));
    // The next refresh cycle (at 50 + 45 s) may be retried again.
    a.handle_timeout(secs(t0, 95));
    let next = of(&out(&mut a), Method::Update).remove(0);
    answer(&mut a, secs(t0, 95), B, &next, 503, &[("Retry-After", "3")]);
    a.handle_timeout(secs(t0, 98) - Duration::from_millis(1));
    assert!(of(&out(&mut a), Method::Update).is_empty());
    a.handle_timeout(secs(t0, 98));
    assert_eq!(of(&out(&mut a), Method::Update).len(), 1);

    // Once only: a 5xx to the retry leaves the session to expire (BYE at 90 - 30 = 60 s).
    let (mut a, _, al, update) = update_refresh(t0);
    answer(&mut a, secs(t0, 45), B, &update, 504, &[]);
    a.handle_timeout(secs(t0, 49));
    let retry = of(&out(&mut a), Method::Update).remove(0);
    answer(&mut a, secs(t0, 49), B, &retry, 500, &[]);
    a.handle_timeout(secs(t0, 59));
    assert!(
        of(&out(&mut a), Method::Update).is_empty(),
        "a second retry"
    );
    byes_at(&mut a, al, secs(t0, 60));

    // A Retry-After that ends after the expiry BYE: no retry.
    let (mut a, _, al, update) = update_refresh(t0);
    answer(
        &mut a,
        secs(t0, 45),
        B,
        &update,
        503,
        &[("Retry-After", "15")],
    );
    a.handle_timeout(secs(t0, 59));
    assert!(of(&out(&mut a), Method::Update).is_empty());
    byes_at(&mut a, al, secs(t0, 60));

    // A 4xx other than 408/422/481/491 is not retried either.
    let (mut a, _, al, update) = update_refresh(t0);
    answer(&mut a, secs(t0, 45), B, &update, 403, &[]);
    a.handle_timeout(secs(t0, 59));
    assert!(of(&out(&mut a), Method::Update).is_empty());
    byes_at(&mut a, al, secs(t0, 60));
}

#[test]
fn refresh_reinvite_2xx_retransmission_gets_the_same_ack_and_no_second_event() {
    let t0 = origin();
    let a_cfg = SessionTimerConfig {
        use_update: false,
        ..cfg(90, 90)
    };
    let mut a = timed(A, "alice", 1, a_cfg);
    let mut b = timed(B, "bob", 2, cfg(90, 90));
    let (al, _, _) = answered(&mut a, &mut b, t0, None);
    a.handle_timeout(secs(t0, 45));
    let reinvite = of(&out(&mut a), Method::Invite).remove(0);
    let se = [
        ("Session-Expires", "90;refresher=uac"),
        ("Require", "timer"),
    ];
    answer(&mut a, secs(t0, 45), B, &reinvite, 200, &se);
    assert_eq!(refreshed(&events(&mut a)), Some(90));
    let ack = of(&out(&mut a), Method::Ack);
    assert_eq!(ack.len(), 1);
    answer(&mut a, secs(t0, 46), B, &reinvite, 200, &se);
    let again = of(&out(&mut a), Method::Ack);
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].to_bytes(), ack[0].to_bytes(), "the same ACK");
    assert!(events(&mut a).is_empty(), "no second SessionRefreshed");
    // The timer runs from the first 2xx: next refresh at 45 + 45 s.
    a.handle_timeout(secs(t0, 90) - Duration::from_millis(1));
    assert!(of(&out(&mut a), Method::Invite).is_empty());
    a.handle_timeout(secs(t0, 90));
    assert_eq!(of(&out(&mut a), Method::Invite).len(), 1);
    let _ = al;
}
