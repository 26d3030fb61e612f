//! RFC 3263 §4.3 failover in the user agent, on a virtual clock with hand-driven servers:
//! an INVITE or REGISTER that times out (Timer B/F), meets a transport error or gets a 503
//! goes as the same request (same Call-ID, From tag and CSeq, a new branch) to the next
//! target; a 503's Retry-After keeps its server out of later requests (RFC 3261 §21.5.4);
//! 4xx, 6xx and other 5xx answers end the request; calls and registrations stay on the
//! target that answered.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers outside #[test] fns"
)]

use std::time::{Duration, Instant};

use telox_sip_core::header::{CSeq, CallId, Expires, From, Via};
use telox_sip_core::transaction::{Target, Transmit, Transport};
use telox_sip_core::ua::{
    Body, LegId, RegistrationId, TargetList, UaConfig, UaError, UaEvent, UserAgent,
};
use telox_sip_core::{Message, Method, Request, Response, StatusCode, Uri};

#[expect(
    clippy::disallowed_methods,
    reason = "virtual clock origin; only offsets matter"
)]
fn origin() -> Instant {
    Instant::now()
}

fn udp(addr: &str) -> Target {
    Target {
        transport: Transport::Udp,
        addr: addr.parse().unwrap(),
    }
}

/// The first, second and third server of the list.
fn s1() -> Target {
    udp("192.0.2.1:5060")
}
fn s2() -> Target {
    udp("192.0.2.2:5060")
}
fn s3() -> Target {
    udp("192.0.2.3:5060")
}

fn uri(s: &str) -> Uri {
    s.parse().unwrap()
}

struct Uac {
    ua: UserAgent,
    t0: Instant,
}

impl Uac {
    fn new() -> Self {
        Self {
            ua: UserAgent::new(UaConfig::new("127.0.0.1:5070".parse().unwrap(), "alice", 7)),
            t0: origin(),
        }
    }

    fn at(&self, ms: u64) -> Instant {
        self.t0 + Duration::from_millis(ms)
    }

    fn call(&mut self, ms: u64, targets: impl Into<TargetList>) -> Result<LegId, UaError> {
        self.ua.invite(
            self.at(ms),
            uri("sip:alice@example.com"),
            uri("sip:bob@example.com"),
            uri("sip:bob@example.com"),
            targets,
            Some(Body::sdp("v=0\r\n")),
        )
    }

    fn register(&mut self, ms: u64, targets: impl Into<TargetList>) -> RegistrationId {
        self.ua
            .register(
                self.at(ms),
                uri("sip:example.com"),
                uri("sip:alice@example.com"),
                targets,
                600,
            )
            .unwrap()
    }

    /// Runs the timers at `ms`; the requests sent, with their destination.
    fn tick(&mut self, ms: u64) -> Vec<(Target, Request)> {
        self.ua.handle_timeout(self.at(ms));
        self.requests()
    }

    fn requests(&mut self) -> Vec<(Target, Request)> {
        std::iter::from_fn(|| self.ua.poll_transmit())
            .filter_map(|t: Transmit| match Message::parse(t.payload) {
                Ok(Message::Request(r)) => Some((
                    Target {
                        transport: t.transport,
                        addr: t.destination,
                    },
                    r,
                )),
                _ => None,
            })
            .collect()
    }

    /// Answers `request` from `server` at `ms` with `status` (and header lines).
    fn answer(
        &mut self,
        ms: u64,
        server: Target,
        request: &Request,
        status: u16,
        headers: &[(&str, &str)],
    ) -> Vec<(Target, Request)> {
        self.answer_tagged(ms, server, request, status, "srv", headers)
    }

    /// [`Uac::answer`] with the To tag `tag`.
    fn answer_tagged(
        &mut self,
        ms: u64,
        server: Target,
        request: &Request,
        status: u16,
        tag: &str,
        headers: &[(&str, &str)],
    ) -> Vec<(Target, Request)> {
        let mut b = Response::builder(request, StatusCode(status)).to_tag(tag);
        for (name, value) in headers {
            b = b.raw_header(name, value).unwrap();
        }
        self.ua
            .handle_datagram(self.at(ms), server, b.build().to_bytes());
        self.requests()
    }

    fn events(&mut self) -> Vec<UaEvent> {
        std::iter::from_fn(|| self.ua.poll_event()).collect()
    }
}

/// The first request of `method` sent to `to`.
fn sent(out: &[(Target, Request)], method: &Method, to: Target) -> Option<Request> {
    out.iter()
        .find(|(t, r)| *t == to && r.method() == method)
        .map(|(_, r)| r.clone())
}

fn branch(r: &Request) -> String {
    r.header::<Via>()
        .unwrap()
        .unwrap()
        .branch()
        .unwrap()
        .to_owned()
}

/// Call-ID, From tag and CSeq: what a failover keeps.
fn identity(r: &Request) -> (String, String, u32) {
    let from = r.header::<From>().unwrap().unwrap();
    (
        r.header::<CallId>().unwrap().unwrap().as_str().to_owned(),
        from.tag().unwrap().to_owned(),
        r.header::<CSeq>().unwrap().unwrap().seq(),
    )
}

fn failed_over(events: &[UaEvent]) -> Vec<(Target, Target, u16)> {
    events
        .iter()
        .filter_map(|e| match e {
            UaEvent::FailedOver {
                failed,
                next,
                status,
                ..
            } => Some((*failed, *next, *status)),
            _ => None,
        })
        .collect()
}

fn call_failed(events: &[UaEvent]) -> Option<u16> {
    events.iter().find_map(|e| match e {
        UaEvent::Failed { status, .. } => Some(*status),
        _ => None,
    })
}

/// The same request, a new transaction: same identity, another branch.
fn assert_same_request(first: &Request, again: &Request) {
    assert_eq!(identity(first), identity(again));
    assert_ne!(branch(first), branch(again));
    assert_eq!(first.uri_str(), again.uri_str());
    assert_eq!(first.body(), again.body());
}

#[test]
fn an_invite_that_times_out_goes_to_the_next_target_and_the_call_stays_there() {
    let mut c = Uac::new();
    let leg = c.call(0, vec![s1(), s2()]).unwrap();
    let out = c.requests();
    let first = sent(&out, &Method::Invite, s1()).unwrap();
    assert!(sent(&out, &Method::Invite, s2()).is_none());
    // Timer A retransmits to the first target only, until Timer B (64*T1 = 32 s).
    for ms in (500..32_000).step_by(500) {
        let out = c.tick(ms);
        assert!(out.iter().all(|(t, _)| *t == s1()), "at {ms} ms: {out:?}");
        assert!(
            failed_over(&c.events()).is_empty(),
            "failover before Timer B, {ms} ms"
        );
    }
    let to_s2 = c.tick(32_000);
    let again = sent(&to_s2, &Method::Invite, s2()).expect("INVITE to the second target");
    assert_same_request(&first, &again);
    let events = c.events();
    assert_eq!(failed_over(&events), [(s1(), s2(), 408)]);
    assert_eq!(call_failed(&events), None);
    // The second target answers: the ACK and the BYE go there.
    let acks = c.answer(
        33_000,
        s2(),
        &again,
        200,
        &[("Contact", "<sip:bob@192.0.2.2>")],
    );
    assert!(sent(&acks, &Method::Ack, s2()).is_some());
    assert!(
        c.events()
            .iter()
            .any(|e| matches!(e, UaEvent::Answered { leg: l, .. } if *l == leg))
    );
    c.ua.bye(c.at(34_000), leg).unwrap();
    let out = c.requests();
    assert!(sent(&out, &Method::Bye, s2()).is_some(), "{out:?}");
}

#[test]
fn a_transport_error_fails_over_at_once() {
    let mut c = Uac::new();
    c.call(0, vec![s1(), s2(), s3()]).unwrap();
    let first = sent(&c.requests(), &Method::Invite, s1()).unwrap();
    c.ua.handle_transport_error(c.at(10), s1());
    let out = c.requests();
    let again = sent(&out, &Method::Invite, s2()).expect("INVITE to the second target");
    assert_same_request(&first, &again);
    assert_eq!(failed_over(&c.events()), [(s1(), s2(), 503)]);
    // The second one fails too: the third.
    c.ua.handle_transport_error(c.at(20), s2());
    let third = sent(&c.requests(), &Method::Invite, s3()).expect("INVITE to the third");
    assert_same_request(&first, &third);
    assert_eq!(failed_over(&c.events()), [(s2(), s3(), 503)]);
    // The last one fails: the call fails with 503, as RFC 3261 §8.1.3.1 treats a transport
    // error (and FailedOver reports it above).
    c.ua.handle_transport_error(c.at(30), s3());
    assert!(c.requests().is_empty());
    let events = c.events();
    assert!(failed_over(&events).is_empty());
    assert_eq!(call_failed(&events), Some(503));
}

#[test]
fn a_503_fails_over_and_its_retry_after_keeps_the_server_out_of_later_calls() {
    let mut c = Uac::new();
    c.call(0, vec![s1(), s2()]).unwrap();
    let first = sent(&c.requests(), &Method::Invite, s1()).unwrap();
    let out = c.answer(50, s1(), &first, 503, &[("Retry-After", "60")]);
    // The transaction ACKs the 503 where it came from; the INVITE goes on to the next.
    assert!(sent(&out, &Method::Ack, s1()).is_some(), "{out:?}");
    let again = sent(&out, &Method::Invite, s2()).expect("INVITE to the second target");
    assert_same_request(&first, &again);
    assert_eq!(failed_over(&c.events()), [(s1(), s2(), 503)]);
    assert_eq!(
        c.ua.unavailable_until(c.at(50), s1()),
        Some(c.at(50) + Duration::from_secs(60))
    );
    // A new call within the 60 s starts at the second target ...
    c.call(59_000, vec![s1(), s2()]).unwrap();
    let out = c.requests();
    assert!(sent(&out, &Method::Invite, s2()).is_some(), "{out:?}");
    assert!(sent(&out, &Method::Invite, s1()).is_none());
    // ... and one after them at the first again.
    c.call(60_050, vec![s1(), s2()]).unwrap();
    assert!(sent(&c.requests(), &Method::Invite, s1()).is_some());
    // With every target unavailable there is nothing to send to.
    let mut c = Uac::new();
    c.call(0, s1()).unwrap();
    let first = sent(&c.requests(), &Method::Invite, s1()).unwrap();
    c.answer(10, s1(), &first, 503, &[("Retry-After", "30")]);
    assert_eq!(call_failed(&c.events()), Some(503));
    assert_eq!(c.call(1_000, s1()).unwrap_err(), UaError::NoTarget);
    assert_eq!(c.call(1_000, Vec::new()).unwrap_err(), UaError::NoTarget);
}

#[test]
fn a_503_without_retry_after_fails_over_but_keeps_the_server_for_later_calls() {
    let mut c = Uac::new();
    c.call(0, vec![s1(), s2()]).unwrap();
    let first = sent(&c.requests(), &Method::Invite, s1()).unwrap();
    let out = c.answer(50, s1(), &first, 503, &[]);
    assert!(sent(&out, &Method::Invite, s2()).is_some());
    assert_eq!(c.ua.unavailable_until(c.at(50), s1()), None);
    c.call(100, vec![s1(), s2()]).unwrap();
    assert!(sent(&c.requests(), &Method::Invite, s1()).is_some());
}

#[test]
fn final_answers_other_than_503_do_not_fail_over() {
    for status in [404, 480, 486, 500, 502, 504, 603, 604] {
        let mut c = Uac::new();
        c.call(0, vec![s1(), s2()]).unwrap();
        let first = sent(&c.requests(), &Method::Invite, s1()).unwrap();
        let out = c.answer(50, s1(), &first, status, &[]);
        assert!(
            sent(&out, &Method::Invite, s2()).is_none(),
            "{status} failed over"
        );
        let events = c.events();
        assert!(failed_over(&events).is_empty(), "{status}");
        assert_eq!(call_failed(&events), Some(status));
        // Timer B's time passes without anything more to the second target.
        for ms in (1_000..=40_000).step_by(1_000) {
            assert!(c.tick(ms).iter().all(|(t, _)| *t != s2()), "{status}");
        }
    }
}

#[test]
fn a_call_that_reached_a_server_does_not_fail_over() {
    // An early dialog (180 with a To tag), then a transport error: the call fails.
    let mut c = Uac::new();
    c.call(0, vec![s1(), s2()]).unwrap();
    let first = sent(&c.requests(), &Method::Invite, s1()).unwrap();
    c.answer(50, s1(), &first, 180, &[]);
    c.ua.handle_transport_error(c.at(100), s1());
    assert!(sent(&c.requests(), &Method::Invite, s2()).is_none());
    let events = c.events();
    assert!(failed_over(&events).is_empty());
    assert_eq!(call_failed(&events), Some(503));
    // A call being cancelled before any answer: a timeout ends it, no new INVITE.
    let mut c = Uac::new();
    let leg = c.call(0, vec![s1(), s2()]).unwrap();
    c.requests();
    c.ua.cancel(c.at(100), leg).unwrap();
    let mut to_s2 = Vec::new();
    for ms in (500..=33_000).step_by(500) {
        to_s2.extend(c.tick(ms).into_iter().filter(|(t, _)| *t == s2()));
    }
    assert!(to_s2.is_empty(), "{to_s2:?}");
    assert_eq!(call_failed(&c.events()), Some(408));
}

#[test]
fn a_register_fails_over_keeps_its_cseq_and_refreshes_at_the_target_that_answered() {
    let mut c = Uac::new();
    let id = c.register(0, vec![s1(), s2()]);
    let first = sent(&c.requests(), &Method::Register, s1()).unwrap();
    // Timer F (64*T1) with no answer from the first target.
    let mut out = Vec::new();
    for ms in (500..=32_500).step_by(500) {
        out.extend(c.tick(ms));
    }
    let again = sent(&out, &Method::Register, s2()).expect("REGISTER to the second target");
    assert_same_request(&first, &again);
    let events = c.events();
    assert!(events.iter().any(|e| matches!(
        e,
        UaEvent::FailedOver { registration: Some(r), failed, next, status: 408, .. }
            if *r == id && *failed == s1() && *next == s2()
    )));
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, UaEvent::RegistrationFailed { .. }))
    );
    c.answer(33_000, s2(), &again, 200, &[("Expires", "600")]);
    assert!(
        c.events()
            .iter()
            .any(|e| matches!(e, UaEvent::Registered { expires: 600, .. }))
    );
    // The refresh (32 s before expiry) goes to the second target, with the next CSeq.
    let refresh_at = 33_000 + 568_000;
    let out = c.tick(refresh_at);
    let refresh = sent(&out, &Method::Register, s2()).expect("refresh to the second target");
    assert!(sent(&out, &Method::Register, s1()).is_none());
    assert_eq!(identity(&refresh).2, identity(&again).2 + 1);
    // It answers 503: the refresh goes to the first target again, same CSeq.
    let out = c.answer(refresh_at + 10, s2(), &refresh, 503, &[]);
    let back = sent(&out, &Method::Register, s1()).expect("refresh to the first target");
    assert_same_request(&refresh, &back);
    assert_eq!(failed_over(&c.events()), [(s2(), s1(), 503)]);
}

#[test]
fn a_register_that_fails_everywhere_backs_off_then_starts_from_the_first_target() {
    let mut c = Uac::new();
    let id = c.register(0, vec![s1(), s2()]);
    let first = sent(&c.requests(), &Method::Register, s1()).unwrap();
    c.ua.handle_transport_error(c.at(10), s1());
    let second = sent(&c.requests(), &Method::Register, s2()).unwrap();
    assert_same_request(&first, &second);
    c.ua.handle_transport_error(c.at(20), s2());
    assert!(c.requests().is_empty());
    let events = c.events();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, UaEvent::RegistrationFailed { id: i, status: 503 } if *i == id))
    );
    // The back-off (30 s by default): again at the first target.
    assert!(c.tick(29_000).is_empty());
    let out = c.tick(30_020);
    assert!(sent(&out, &Method::Register, s1()).is_some(), "{out:?}");
}

#[test]
fn the_application_moves_a_silent_call_on_before_timer_b() {
    let mut c = Uac::new();
    let leg = c.call(0, vec![s1(), s2()]).unwrap();
    let first = sent(&c.requests(), &Method::Invite, s1()).unwrap();
    // A deadline of the application's (3 s) instead of Timer B's 32 s.
    assert_eq!(c.ua.fail_over(c.at(3_000), leg), Ok(true));
    let again = sent(&c.requests(), &Method::Invite, s2()).expect("INVITE to the second target");
    assert_same_request(&first, &again);
    assert_eq!(failed_over(&c.events()), [(s1(), s2(), 408)]);
    // Nothing is left to fail over to.
    assert_eq!(c.ua.fail_over(c.at(3_500), leg), Ok(false));
    // The abandoned transaction's Timer B (at 32 s) ends it quietly: the call lives on at
    // the second target, whose own Timer B (at 35 s) then fails it.
    let mut to_s1 = Vec::new();
    for ms in (3_500..=34_500).step_by(500) {
        to_s1.extend(c.tick(ms).into_iter().filter(|(t, _)| *t == s1()));
        assert_eq!(call_failed(&c.events()), None, "at {ms} ms");
    }
    assert!(
        to_s1.iter().all(|(_, r)| branch(r) == branch(&first)),
        "only retransmissions of the first INVITE went to the first target"
    );
    c.tick(35_000);
    assert_eq!(call_failed(&c.events()), Some(408));
    // After any response (a 100), the application cancels instead.
    let mut c = Uac::new();
    let leg = c.call(0, vec![s1(), s2()]).unwrap();
    let first = sent(&c.requests(), &Method::Invite, s1()).unwrap();
    c.answer(100, s1(), &first, 100, &[]);
    assert_eq!(c.ua.fail_over(c.at(3_000), leg), Ok(false));
    assert!(c.requests().is_empty());
    assert_eq!(
        c.ua.fail_over(c.at(3_000), LegId(99)),
        Err(UaError::NoSuchLeg)
    );
}

/// A call to the first and second server moved on with fail_over at 1 s: the UA, the
/// call, the INVITE to the first server and the one to the second.
fn moved_on() -> (Uac, LegId, Request, Request) {
    let mut c = Uac::new();
    let leg = c.call(0, vec![s1(), s2()]).unwrap();
    let first = sent(&c.requests(), &Method::Invite, s1()).unwrap();
    assert_eq!(c.ua.fail_over(c.at(1_000), leg), Ok(true));
    let again = sent(&c.requests(), &Method::Invite, s2()).unwrap();
    c.events();
    (c, leg, first, again)
}

/// The second server answers `again` with 200: ACKed there, the call answered.
fn answered_at_s2(c: &mut Uac, leg: LegId, again: &Request) {
    let contact = ("Contact", "<sip:bob@127.0.0.1:5081>");
    let out = c.answer_tagged(2_500, s2(), again, 200, "s2", &[contact]);
    assert!(sent(&out, &Method::Ack, s2()).is_some());
    assert!(
        c.events()
            .iter()
            .any(|e| matches!(e, UaEvent::Answered { leg: l, .. } if *l == leg))
    );
}

#[test]
fn a_late_answer_from_the_target_moved_on_from_leaves_the_call_alone() {
    const CONTACT: (&str, &str) = ("Contact", "<sip:bob@127.0.0.1:5081>");
    // A 180 then a 486 from the first target after fail_over: nothing reaches the call,
    // which is answered at the second.
    let (mut c, leg, first, again) = moved_on();
    c.answer_tagged(1_500, s1(), &first, 180, "late", &[CONTACT]);
    c.answer_tagged(2_000, s1(), &first, 486, "late", &[]);
    let events = c.events();
    assert!(events.is_empty(), "{events:?}");
    answered_at_s2(&mut c, leg, &again);
    // A 503 with Retry-After from the first target still keeps it out of later calls.
    let (mut c, _, first, _) = moved_on();
    c.answer(1_500, s1(), &first, 503, &[("Retry-After", "60")]);
    assert!(c.ua.unavailable_until(c.at(2_000), s1()).is_some());
    assert_eq!(call_failed(&c.events()), None);
    // A 2xx from the first target: ACK and BYE go to it, and its retransmission gets the
    // ACK again; the call goes on at the second target.
    let (mut c, leg, first, again) = moved_on();
    let out = c.answer_tagged(1_500, s1(), &first, 200, "late", &[CONTACT]);
    assert!(sent(&out, &Method::Ack, s1()).is_some(), "{out:?}");
    assert!(sent(&out, &Method::Bye, s1()).is_some(), "{out:?}");
    assert!(out.iter().all(|(t, _)| *t == s1()), "{out:?}");
    let out = c.answer_tagged(2_000, s1(), &first, 200, "late", &[CONTACT]);
    assert!(sent(&out, &Method::Ack, s1()).is_some(), "{out:?}");
    assert!(sent(&out, &Method::Bye, s1()).is_none(), "{out:?}");
    assert!(
        c.events()
            .iter()
            .all(|e| !matches!(e, UaEvent::Answered { .. }))
    );
    answered_at_s2(&mut c, leg, &again);
}

#[test]
fn a_late_2xx_is_acknowledged_over_the_transport_it_came_by() {
    // A TCP first target moved on from for a UDP second one: its late 2xx gets an ACK and
    // a BYE whose Via names TCP.
    let tcp = Target {
        transport: Transport::Tcp,
        addr: "192.0.2.1:5060".parse().unwrap(),
    };
    let mut c = Uac::new();
    let leg = c.call(0, vec![tcp, s2()]).unwrap();
    let first = sent(&c.requests(), &Method::Invite, tcp).unwrap();
    assert_eq!(c.ua.fail_over(c.at(1_000), leg), Ok(true));
    let again = sent(&c.requests(), &Method::Invite, s2()).unwrap();
    assert_eq!(again.header::<Via>().unwrap().unwrap().transport(), "UDP");
    let contact = ("Contact", "<sip:bob@192.0.2.1;transport=tcp>");
    let out = c.answer_tagged(1_500, tcp, &first, 200, "late", &[contact]);
    for method in [Method::Ack, Method::Bye] {
        let r = sent(&out, &method, tcp).unwrap_or_else(|| panic!("{method:?}: {out:?}"));
        assert_eq!(r.header::<Via>().unwrap().unwrap().transport(), "TCP");
    }
}

fn expired(events: &[UaEvent]) -> Vec<RegistrationId> {
    events
        .iter()
        .filter_map(|e| match e {
            UaEvent::TargetsExpired { registration } => Some(*registration),
            _ => None,
        })
        .collect()
}

/// A registration's targets located over DNS are kept no longer than the smallest TTL of
/// their records (RFC 3263 §4.3 orders them from those records): the refresh due after
/// that waits for the application to locate the registrar again, then goes to the new
/// targets, so a registrar moved by DNS is found without a restart. Before the expiry the
/// refresh goes out by itself; a list without an expiry never asks.
#[test]
fn a_refresh_after_the_targets_expire_waits_for_new_ones() {
    let mut c = Uac::new();
    // The records said 900 s; the registrar grants 600 s: the first refresh (at 568 s) is
    // before the expiry, the second (at 1136 s) after it.
    let list = TargetList::new(vec![s1()]).with_expiry(Some(c.at(900_000)));
    assert!(list.is_fresh(c.at(899_999)) && !list.is_fresh(c.at(900_000)));
    let id = c.register(0, list);
    let first = sent(&c.requests(), &Method::Register, s1()).unwrap();
    c.answer(10, s1(), &first, 200, &[("Expires", "600")]);
    c.events();
    let out = c.tick(568_010);
    let refresh = sent(&out, &Method::Register, s1()).expect("refresh before the expiry");
    assert!(expired(&c.events()).is_empty());
    c.answer(568_020, s1(), &refresh, 200, &[("Expires", "600")]);
    c.events();
    // Due at 1136.02 s, after the expiry: nothing is sent, the application is asked.
    assert!(c.tick(1_136_020).is_empty());
    assert_eq!(expired(&c.events()), [id]);
    assert_eq!(
        c.ua.poll_timeout(),
        None,
        "the REGISTER waits for the application"
    );
    assert!(c.tick(1_150_000).is_empty());
    assert!(expired(&c.events()).is_empty(), "asked once");
    // The registrar moved to s2 (stale from 2000 s): the held REGISTER goes there at once.
    let moved = TargetList::new(vec![s2()]).with_expiry(Some(c.at(2_000_000)));
    c.ua.relocate_registration(c.at(1_150_000), id, moved)
        .unwrap();
    let out = c.requests();
    let there = sent(&out, &Method::Register, s2()).expect("REGISTER to the new target");
    assert!(sent(&out, &Method::Register, s1()).is_none());
    assert_eq!(identity(&there).2, identity(&refresh).2 + 1);
    c.answer(1_150_010, s2(), &there, 200, &[("Expires", "600")]);
    // Its refresh (at 1718 s) goes to s2 by itself; the next (2286 s) asks again. A failed
    // lookup (empty list) sends it to the old targets, still stale.
    let out = c.tick(1_718_010);
    let again = sent(&out, &Method::Register, s2()).expect("refresh at the new target");
    c.answer(1_718_020, s2(), &again, 200, &[("Expires", "600")]);
    c.events();
    assert!(c.tick(2_286_020).is_empty());
    assert_eq!(expired(&c.events()), [id]);
    c.ua.relocate_registration(c.at(2_286_030), id, TargetList::default())
        .unwrap();
    let out = c.requests();
    let old = sent(&out, &Method::Register, s2()).expect("the old targets after a failed lookup");
    c.answer(2_286_040, s2(), &old, 200, &[("Expires", "600")]);
    c.events();
    assert!(c.tick(2_854_040).is_empty());
    assert_eq!(expired(&c.events()), [id], "still stale: asked again");
    // An unknown registration.
    assert!(matches!(
        c.ua.relocate_registration(c.at(2_854_050), RegistrationId(999), vec![s1()]),
        Err(UaError::NoSuchLeg)
    ));
    // Without an expiry nothing is asked, however long it runs.
    let mut d = Uac::new();
    d.register(0, vec![s1()]);
    let first = sent(&d.requests(), &Method::Register, s1()).unwrap();
    d.answer(10, s1(), &first, 200, &[("Expires", "600")]);
    let mut at = 10;
    for _ in 0..5 {
        at += 568_000;
        let out = d.tick(at);
        let r = sent(&out, &Method::Register, s1()).expect("refresh");
        d.answer(at, s1(), &r, 200, &[("Expires", "600")]);
        assert!(expired(&d.events()).is_empty());
    }
}

/// An unregistration while a REGISTER waits for new targets goes out at once (to the old
/// target); the targets that arrive after it send nothing more.
#[test]
fn an_unregister_while_relocating_is_the_only_register_sent() {
    let mut c = Uac::new();
    let id = c.register(
        0,
        TargetList::new(vec![s1()]).with_expiry(Some(c.at(100_000))),
    );
    let first = sent(&c.requests(), &Method::Register, s1()).unwrap();
    c.answer(10, s1(), &first, 200, &[("Expires", "600")]);
    assert!(c.tick(568_010).is_empty());
    assert_eq!(expired(&c.events()), [id]);
    c.ua.unregister(c.at(568_020), id).unwrap();
    let out = c.requests();
    let bye = sent(&out, &Method::Register, s1()).expect("the unregister, to the old target");
    assert_eq!(bye.header::<Expires>().unwrap().unwrap().0, 0);
    c.ua.relocate_registration(c.at(568_030), id, vec![s2()])
        .unwrap();
    assert!(
        c.requests().is_empty(),
        "nothing more while the unregister is out"
    );
    c.answer(568_040, s1(), &bye, 200, &[("Expires", "0")]);
    assert!(
        c.events()
            .iter()
            .any(|e| matches!(e, UaEvent::Unregistered { id: i } if *i == id))
    );
}

/// A retry held for new targets after a round where every target failed starts from the
/// top of the list, as a retry does without an expiry, also when the lookup failed and the
/// old targets are kept.
#[test]
fn a_retry_held_for_new_targets_starts_from_the_first_target() {
    let mut c = Uac::new();
    let id = c.register(
        0,
        TargetList::new(vec![s1(), s2()]).with_expiry(Some(c.at(1_000))),
    );
    let first = sent(&c.requests(), &Method::Register, s1()).unwrap();
    c.ua.handle_transport_error(c.at(10), s1());
    sent(&c.requests(), &Method::Register, s2()).unwrap();
    c.ua.handle_transport_error(c.at(20), s2());
    c.events();
    // The back-off (30 s) ends after the expiry: the retry waits for the application.
    assert!(c.tick(30_020).is_empty());
    assert_eq!(expired(&c.events()), [id]);
    c.ua.relocate_registration(c.at(30_030), id, TargetList::default())
        .unwrap();
    let out = c.requests();
    let retry = sent(&out, &Method::Register, s1()).expect("the retry at the first target");
    assert!(sent(&out, &Method::Register, s2()).is_none());
    assert_eq!(identity(&retry).2, identity(&first).2 + 1);
}

/// A failover whose send is refused (here: the transaction limit, the INVITE to the first
/// target still holding the only transaction) leaves the targets not tried with the call:
/// when the first INVITE's Timer B ends it, the call goes on to the third target.
#[test]
fn a_failover_that_cannot_send_keeps_the_targets_not_tried() {
    let mut config = UaConfig::new("127.0.0.1:5070".parse().unwrap(), "alice", 7);
    config.transactions.max_transactions = 1;
    let mut c = Uac {
        ua: UserAgent::new(config),
        t0: origin(),
    };
    let leg = c.call(0, vec![s1(), s2(), s3()]).unwrap();
    sent(&c.requests(), &Method::Invite, s1()).unwrap();
    assert_eq!(c.ua.fail_over(c.at(3_000), leg), Ok(false));
    assert!(c.requests().is_empty());
    let mut to_s3 = Vec::new();
    for ms in (3_500..=33_000).step_by(500) {
        to_s3.extend(c.tick(ms).into_iter().filter(|(t, _)| *t == s3()));
    }
    assert!(
        sent(&to_s3, &Method::Invite, s3()).is_some(),
        "the INVITE goes to the target not tried"
    );
    assert_eq!(call_failed(&c.events()), None);
}
