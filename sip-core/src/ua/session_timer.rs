//! Session timers (RFC 4028): negotiation of the interval and the refresher, and when to
//! refresh or give up; and their use by the [`UserAgent`] when
//! [`UaConfig::session_timer`](super::UaConfig::session_timer) is set.
//!
//! With a [`SessionTimerConfig`] the UA, by itself:
//! - offers `Supported: timer`, `Session-Expires` and `Min-SE` in its INVITEs, and retries
//!   an INVITE answered 422 with the peer's larger Min-SE (§7.4);
//! - answers an INVITE, re-INVITE or UPDATE whose interval is below our Min-SE with 422 and
//!   `Min-SE` (§8.1), and puts `Session-Expires` (with the refresher) and `Require: timer`
//!   into its 2xx (§9);
//! - when it is the refresher, sends a refresh at half the interval (§10): an UPDATE without
//!   body when the peer allows UPDATE and [`SessionTimerConfig::use_update`] is set, else a
//!   re-INVITE with our last session description; it answers a peer's body-less UPDATE
//!   itself;
//! - when no refresh succeeded in time, sends BYE "the minimum of 32 seconds and one third
//!   of the session interval" before expiry (§10), after [`UaEvent::SessionExpired`].
//!
//! A refresh that fails (§10, RFC 3261 §12.2.1.2, §14.1):
//! - 491: retried after the §14.1 delay (2.1-4 s for the owner of the Call-ID, 0-2 s
//!   otherwise);
//! - 422: retried at once with the 422's larger Min-SE (§7.4), at most twice;
//! - 405/501 to an UPDATE: retried at once as a re-INVITE;
//! - 408 or a transaction timeout: the session is over, [`UaEvent::SessionExpired`] and BYE
//!   at once (§10: "the UAC sends a BYE request");
//! - 481: the peer has no such dialog any more: [`UaEvent::SessionExpired`] and
//!   [`UaEvent::Ended`] (`by_peer`) at once, without a BYE that could only get another 481;
//! - another 5xx (500, 503, 504, ...): retried once per refresh, after its `Retry-After`
//!   (else T2), when that is still before the expiry BYE;
//! - anything else: no retry; the expiry timer still runs and ends the session.

use std::time::{Duration, Instant};

use super::{Body, LegId, LegState, Purpose, UaEvent, UserAgent};
use crate::header::{Allow, MinSe, SessionExpires, Supported};
use crate::msg::{Method, Request, Response};

/// Local session-timer policy.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct SessionTimerConfig {
    /// The interval we ask for or grant, 1800 s by default (RFC 4028 §4 recommends it).
    pub session_expires: u32,
    /// The smallest interval we accept, at least 90 s (RFC 4028 §5: "MUST NOT be less than
    /// 90 seconds").
    pub min_se: u32,
    /// The refresher we ask for as UAC (`refresher=` in our INVITE's Session-Expires);
    /// `None` lets the UAS choose.
    pub refresher: Option<Refresher>,
    /// Refresh with UPDATE (RFC 3311) when the peer allows it; otherwise, or when false,
    /// with a re-INVITE.
    pub use_update: bool,
}

impl Default for SessionTimerConfig {
    fn default() -> Self {
        Self {
            session_expires: 1800,
            min_se: 90,
            refresher: None,
            use_update: true,
        }
    }
}

/// Who sends the refreshes.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Refresher {
    /// The UAC of the INVITE that set the timer.
    Uac,
    /// The UAS of that INVITE.
    Uas,
}

impl Refresher {
    /// The `refresher` parameter value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Uac => "uac",
            Self::Uas => "uas",
        }
    }
}

/// A negotiated session timer.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct SessionTimer {
    /// Session interval in seconds.
    pub interval: u32,
    /// Who refreshes.
    pub refresher: Refresher,
}

/// The request's interval is below our minimum: answer 422 with `Min-SE: min_se`
/// (RFC 4028 §8.1).
#[derive(Clone, Copy, Debug, Eq, PartialEq, thiserror::Error)]
#[error("session interval too small, min-se {min_se}")]
pub struct IntervalTooSmall {
    /// The Min-SE value for the 422.
    pub min_se: u32,
}

impl SessionTimer {
    /// The UAS side (RFC 4028 §9): the timer to put in our 2xx, `None` when neither side
    /// asked for one and we do not want one, or 422 when the request's Session-Expires is
    /// below our Min-SE.
    ///
    /// # Errors
    /// [`IntervalTooSmall`] (answer 422).
    pub fn negotiate_uas(
        request: &Request,
        config: &SessionTimerConfig,
    ) -> Result<Option<Self>, IntervalTooSmall> {
        let uac_supports = request
            .header_all::<Supported>()
            .filter_map(Result::ok)
            .any(|s| s.contains("timer"));
        let request_min = match request.header::<MinSe>() {
            Some(Ok(m)) => m.seconds(),
            _ => 90,
        };
        let Some(Ok(se)) = request.header::<SessionExpires>() else {
            // RFC 4028 §9: without Session-Expires the UAS MAY still use a timer, refreshing
            // itself ("the UAS MUST set the refresher to 'uas'" when the UAC lacks support).
            return Ok(Some(Self {
                interval: config.session_expires.max(request_min).max(config.min_se),
                refresher: Refresher::Uas,
            }));
        };
        if se.seconds() < config.min_se {
            return Err(IntervalTooSmall {
                min_se: config.min_se,
            });
        }
        // "the UAS MAY reduce its value but MUST NOT set it to a duration lower than the value
        // in the Min-SE header field in the request, if any".
        let interval = se
            .seconds()
            .min(config.session_expires.max(request_min))
            .max(request_min);
        let refresher = match se.params().get("refresher").flatten() {
            Some(r) if r.eq_ignore_ascii_case("uas") => Refresher::Uas,
            Some(r) if r.eq_ignore_ascii_case("uac") => Refresher::Uac,
            // "If the refresher parameter in the Session-Expires header field in the request
            // was not present ... the UAS elects ... 'uac' if the UAC supports the extension".
            _ if uac_supports => Refresher::Uac,
            _ => Refresher::Uas,
        };
        Ok(Some(Self {
            interval,
            refresher,
        }))
    }

    /// The UAC side: the timer from the 2xx (RFC 4028 §7.2); a 2xx without Session-Expires
    /// means no timer.
    pub fn from_response(response: &Response) -> Option<Self> {
        let se = response.header::<SessionExpires>()?.ok()?;
        let refresher = match se.params().get("refresher").flatten() {
            Some(r) if r.eq_ignore_ascii_case("uas") => Refresher::Uas,
            _ => Refresher::Uac,
        };
        Some(Self {
            interval: se.seconds(),
            refresher,
        })
    }

    /// The Session-Expires value to send (`1800;refresher=uac`).
    pub fn header_value(&self) -> String {
        format!("{};refresher={}", self.interval, self.refresher.as_str())
    }

    /// When the refresher sends its refresh: half the interval after the last 2xx
    /// (RFC 4028 §10: "SHOULD send a refresh request at half the session interval").
    pub fn refresh_at(&self, last_refresh: Instant) -> Instant {
        last_refresh + Duration::from_secs(u64::from(self.interval) / 2)
    }

    /// When the other side gives up and sends BYE: "the minimum of 32 seconds and one third
    /// of the session interval" before the session expires (RFC 4028 §10).
    pub fn expire_at(&self, last_refresh: Instant) -> Instant {
        let interval = u64::from(self.interval);
        last_refresh + Duration::from_secs(interval - (interval / 3).min(32))
    }

    /// True when we (UAC or UAS of the INVITE, per `we_are_uac`) send the refreshes.
    pub fn we_refresh(&self, we_are_uac: bool) -> bool {
        (self.refresher == Refresher::Uac) == we_are_uac
    }
}

/// The session timer of one call leg: who refreshes, and when to refresh or give up.
#[derive(Clone, Copy, Debug)]
pub(super) struct SessionState {
    pub(super) timer: SessionTimer,
    /// We send the refreshes.
    pub(super) we_refresh: bool,
    /// When we send the next refresh (refresher only; `None` while one is in flight).
    pub(super) refresh_at: Option<Instant>,
    /// When we send BYE without a successful refresh.
    pub(super) expire_at: Instant,
    /// 422 retries of the refresh in flight.
    pub(super) retries: u8,
    /// The refresh of this interval was already retried after a 5xx.
    pub(super) failure_retried: bool,
}

impl SessionState {
    fn new(now: Instant, timer: SessionTimer, we_refresh: bool) -> Self {
        Self {
            timer,
            we_refresh,
            refresh_at: we_refresh.then(|| timer.refresh_at(now)),
            expire_at: timer.expire_at(now),
            retries: 0,
            failure_retried: false,
        }
    }

    pub(super) fn deadline(&self) -> Instant {
        self.refresh_at
            .map_or(self.expire_at, |r| r.min(self.expire_at))
    }
}

/// The `Min-SE` of a 422 (RFC 4028 §6).
fn min_se_of(response: &Response) -> Option<u32> {
    match response.header::<MinSe>() {
        Some(Ok(m)) => Some(m.seconds()),
        _ => None,
    }
}

fn supports_timer(request: &Request) -> bool {
    request
        .header_all::<Supported>()
        .filter_map(Result::ok)
        .any(|s| s.contains("timer"))
}

fn response_supports_timer(response: &Response) -> bool {
    response
        .header_all::<Supported>()
        .filter_map(Result::ok)
        .any(|s| s.contains("timer"))
        || response
            .headers()
            .named(crate::header::HeaderName::Require)
            .filter_map(|h| h.value_str())
            .any(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case("timer")))
}

/// True when the message's Allow lists UPDATE.
pub(super) fn allows_update(allow: Option<Result<Allow, crate::header::HeaderError>>) -> bool {
    matches!(allow, Some(Ok(a)) if a.contains(&Method::Update))
}

impl UserAgent {
    /// The session-timer headers of an INVITE or UPDATE we send: Supported, Session-Expires
    /// (with `refresher`, when known) and Min-SE. Empty without a configuration.
    pub(super) fn session_request_headers(
        &self,
        interval: Option<u32>,
        refresher: Option<Refresher>,
    ) -> Vec<(&'static str, String)> {
        let Some(cfg) = self.config.session_timer else {
            return Vec::new();
        };
        let interval = interval.unwrap_or(cfg.session_expires);
        let se = match refresher {
            Some(r) => format!("{interval};refresher={}", r.as_str()),
            None => interval.to_string(),
        };
        vec![
            ("Session-Expires", se),
            ("Min-SE", cfg.min_se.min(interval).to_string()),
        ]
    }

    /// The headers for an in-dialog INVITE/UPDATE the application sends: the current
    /// interval, the refresher role kept.
    pub(super) fn session_headers_in_dialog(&self, leg: LegId) -> Vec<(&'static str, String)> {
        let state = self.legs.get(&leg).and_then(|l| l.session);
        let (interval, refresher) = match state {
            Some(s) if s.we_refresh => (Some(s.timer.interval), Some(Refresher::Uac)),
            Some(s) => (Some(s.timer.interval), Some(Refresher::Uas)),
            None => (None, None),
        };
        let mut h = self.session_request_headers(interval, refresher);
        if !h.is_empty() {
            h.push(("Supported", String::from("timer")));
        }
        h
    }

    /// An incoming INVITE/UPDATE asks for an interval below our Min-SE: the 422 to send
    /// (RFC 4028 §8.1), or `None` when it is acceptable (or we use no timers).
    pub(super) fn session_too_small(&self, request: &Request) -> Option<u32> {
        let cfg = self.config.session_timer?;
        SessionTimer::negotiate_uas(request, &cfg)
            .err()
            .map(|e| e.min_se)
    }

    /// The headers of our 2xx to `request` (INVITE, re-INVITE, UPDATE): Session-Expires with
    /// the refresher, and `Require: timer` when the UAC supports timers (RFC 4028 §9).
    pub(super) fn session_response_headers(
        &self,
        request: &Request,
    ) -> Vec<(&'static str, String)> {
        let Some(cfg) = self.config.session_timer else {
            return Vec::new();
        };
        let Ok(Some(t)) = SessionTimer::negotiate_uas(request, &cfg) else {
            return Vec::new();
        };
        let mut h = vec![("Session-Expires", t.header_value())];
        if supports_timer(request) {
            h.push(("Require", String::from("timer")));
        }
        h
    }

    /// A 2xx to a session refresh (or the INVITE) was sent (`we_are_uac` false) or received
    /// (true): (re)arm the leg's timer from its Session-Expires; no Session-Expires means no
    /// timer (RFC 4028 §7.2, §9). Returns whether a timer runs.
    pub(super) fn arm_session(
        &mut self,
        now: Instant,
        leg: LegId,
        response: &Response,
        we_are_uac: bool,
    ) -> bool {
        if self.config.session_timer.is_none() {
            return false;
        }
        let Some(l) = self.legs.get_mut(&leg) else {
            return false;
        };
        let negotiated =
            SessionTimer::from_response(response).map(|t| (t, t.we_refresh(we_are_uac)));
        // A 2xx without Session-Expires turns the timer off (RFC 4028 §7.2), except from a
        // peer that does not support timers at all, to whom we are the refresher by
        // necessity (§9: "the UAS ... MUST set the refresher to 'uas'"): our timer goes on.
        let kept = (we_are_uac && !response_supports_timer(response))
            .then(|| l.session.map(|s| (s.timer, s.we_refresh)))
            .flatten();
        l.session = negotiated
            .or(kept)
            .map(|(t, we_refresh)| SessionState::new(now, t, we_refresh));
        l.session.is_some()
    }

    /// A refresh transaction (INVITE or UPDATE, ours when `we_are_uac`) got a 2xx: rearm the
    /// timer from it and tell the application.
    pub(super) fn session_refreshed(
        &mut self,
        now: Instant,
        leg: LegId,
        response: &Response,
        we_are_uac: bool,
    ) {
        if self.arm_session(now, leg, response, we_are_uac) {
            let interval = self
                .legs
                .get(&leg)
                .and_then(|l| l.session)
                .map_or(0, |s| s.timer.interval);
            self.events
                .push_back(UaEvent::SessionRefreshed { leg, interval });
        }
    }

    /// Sends the refresh, or BYE when the session expired (RFC 4028 §10).
    pub(super) fn session_timers(&mut self, now: Instant, leg_id: LegId) {
        let Some(l) = self.legs.get_mut(&leg_id) else {
            return;
        };
        let Some(state) = l.session.as_mut() else {
            return;
        };
        if l.state != LegState::Up {
            return;
        }
        if now >= state.expire_at {
            l.session = None;
            self.events
                .push_back(UaEvent::SessionExpired { leg: leg_id });
            let _ = self.bye(now, leg_id);
            return;
        }
        if state.refresh_at.is_some_and(|r| now >= r) {
            state.refresh_at = None;
            state.retries = 0;
            let interval = state.timer.interval;
            self.send_refresh(now, leg_id, interval, None);
        }
    }

    /// Sends a refresh asking for `interval`; `peer_min_se` is the Min-SE of a 422 that
    /// this refresh retries (RFC 4028 §7.4: the new request carries "a Min-SE header field
    /// ... with the largest value it received in any 422").
    fn send_refresh(
        &mut self,
        now: Instant,
        leg_id: LegId,
        interval: u32,
        peer_min_se: Option<u32>,
    ) {
        let Some(cfg) = self.config.session_timer else {
            return;
        };
        let Ok(via) = self.leg_via(leg_id) else {
            return;
        };
        let mut headers = self.session_request_headers(Some(interval), Some(Refresher::Uac));
        if let Some(min) = peer_min_se {
            for (name, value) in &mut headers {
                if *name == "Min-SE" {
                    *value = min.max(cfg.min_se).to_string();
                }
            }
        }
        let Some(l) = self.legs.get_mut(&leg_id) else {
            return;
        };
        let method = if cfg.use_update && l.peer_allows_update {
            Method::Update
        } else if l.reinvite_pending {
            // An INVITE of ours is in progress: try again shortly.
            if let Some(s) = l.session.as_mut() {
                s.refresh_at = Some(now + Duration::from_secs(1));
            }
            return;
        } else {
            Method::Invite
        };
        let Some(d) = l.dialog.as_mut() else { return };
        let mut b = d.request(method.clone(), via).to_builder();
        for (name, value) in headers
            .iter()
            .map(|(n, v)| (*n, v.as_str()))
            .chain([("Supported", "timer")])
        {
            match b.raw_header(name, value) {
                Ok(nb) => b = nb,
                Err(_) => return,
            }
        }
        let body = if method == Method::Invite {
            l.local_body.clone()
        } else {
            None
        };
        let request = super::with_body(b, body).build();
        if method == Method::Invite {
            l.reinvite_pending = true;
        }
        let target = l.in_dialog_target();
        if let Ok(key) = self.txns.send_request(now, request, target) {
            self.by_txn.insert(key, (leg_id, Purpose::Refresh(method)));
        }
    }

    /// The final response to our refresh (`response` is `None` on a timeout).
    pub(super) fn on_refresh_response(
        &mut self,
        now: Instant,
        leg_id: LegId,
        method: &Method,
        response: Option<&Response>,
    ) {
        let status = response.map_or(408, |r| r.status().as_u16());
        let Some(l) = self.legs.get_mut(&leg_id) else {
            return;
        };
        if *method == Method::Invite {
            l.reinvite_pending = false;
        }
        // A 408 does not end the dialog before our BYE (RFC 4028 §10 sends one).
        if let (Some(d), Some(r)) = (l.dialog.as_mut(), response.filter(|_| status != 408)) {
            d.handle_response(method, r);
        }
        match (status, response) {
            (200..=299, Some(r)) => {
                if *method == Method::Invite {
                    self.ack_2xx(leg_id, r);
                }
                self.session_refreshed(now, leg_id, r, true);
            }
            (422, Some(r)) => {
                // RFC 4028 §7.4 (for refreshes too): retry with the larger Min-SE.
                let state = l.session.as_mut();
                match (state, min_se_of(r)) {
                    (Some(s), Some(min)) if min > s.timer.interval && s.retries < 2 => {
                        s.retries += 1;
                        s.timer.interval = min;
                        self.send_refresh(now, leg_id, min, Some(min));
                    }
                    _ => {}
                }
            }
            (405 | 501, _) if *method == Method::Update => {
                // The peer does not take UPDATE after all: refresh with re-INVITE now (or,
                // with an INVITE of ours in progress, shortly: see send_refresh).
                l.peer_allows_update = false;
                if let Some(interval) = l.session.map(|s| s.timer.interval) {
                    self.send_refresh(now, leg_id, interval, None);
                }
            }
            (491, _) => {
                // Glare with the peer's INVITE (or UPDATE, RFC 3311 §5.2): retry after the
                // RFC 3261 §14.1 delay, longer for the owner of the Call-ID.
                let at = now + self.glare_delay(leg_id);
                if let Some(s) = self.legs.get_mut(&leg_id).and_then(|l| l.session.as_mut()) {
                    s.refresh_at = Some(at);
                }
            }
            (408, _) => {
                // RFC 4028 §10: "If the session refresh request transaction times out or
                // generates a 408 ... the UAC sends a BYE request".
                l.session = None;
                self.events
                    .push_back(UaEvent::SessionExpired { leg: leg_id });
                let _ = self.bye(now, leg_id);
            }
            (481, _) => {
                // The peer has no such dialog (RFC 3261 §12.2.1.2: "the UAC SHOULD terminate
                // the dialog"): a BYE would only get another 481, so the call ends here.
                l.session = None;
                l.state = LegState::Ended;
                self.events
                    .push_back(UaEvent::SessionExpired { leg: leg_id });
                self.events.push_back(UaEvent::Ended {
                    leg: leg_id,
                    by_peer: true,
                });
                self.end_leg(leg_id);
            }
            (500..=599, Some(r)) => {
                // A server failure (RFC 3261 §21.5): one more try per refresh, after the
                // Retry-After (else T2), when it still goes out before the expiry BYE.
                let delay = match r.header::<crate::header::RetryAfter>() {
                    Some(Ok(ra)) => Duration::from_secs(u64::from(ra.seconds())),
                    _ => self.config.transactions.timers.t2,
                };
                let at = now.checked_add(delay);
                if let Some(s) = self.legs.get_mut(&leg_id).and_then(|l| l.session.as_mut())
                    && let Some(at) = at.filter(|at| *at < s.expire_at)
                    && !s.failure_retried
                {
                    s.failure_retried = true;
                    s.refresh_at = Some(at);
                }
            }
            // Any other failure: the expiry timer still runs.
            _ => {}
        }
    }

    /// Remembers the session description we last sent on `leg`, in an INVITE, a 2xx or an
    /// ACK (the offer of a re-INVITE refresh, RFC 4028 §7.4).
    pub(super) fn remember_body(&mut self, leg: LegId, body: Option<&Body>) {
        if let (Some(l), Some(b)) = (self.legs.get_mut(&leg), body) {
            l.local_body = Some(b.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn invite(extra: &str) -> Request {
        Request::parse(Bytes::from(format!(
            "INVITE sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\
             From: <sip:a@h>;tag=1\r\nTo: <sip:b@h>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\
             {extra}Content-Length: 0\r\n\r\n"
        )))
        .unwrap()
    }

    #[test]
    fn uas_negotiation() {
        let cfg = SessionTimerConfig::default();
        let t = SessionTimer::negotiate_uas(
            &invite("Supported: timer\r\nSession-Expires: 3600\r\nMin-SE: 120\r\n"),
            &cfg,
        )
        .unwrap()
        .unwrap();
        assert_eq!((t.interval, t.refresher), (1800, Refresher::Uac));
        assert_eq!(t.header_value(), "1800;refresher=uac");
        let t = SessionTimer::negotiate_uas(&invite("Session-Expires: 600\r\n"), &cfg)
            .unwrap()
            .unwrap();
        assert_eq!(
            (t.interval, t.refresher),
            (600, Refresher::Uas),
            "no timer support: uas"
        );
        let t = SessionTimer::negotiate_uas(
            &invite("Supported: timer\r\nSession-Expires: 600;refresher=uas\r\n"),
            &cfg,
        )
        .unwrap()
        .unwrap();
        assert_eq!(t.refresher, Refresher::Uas);
        let e = SessionTimer::negotiate_uas(&invite("Session-Expires: 60\r\n"), &cfg);
        assert_eq!(e, Err(IntervalTooSmall { min_se: 90 }));
        let t = SessionTimer::negotiate_uas(&invite(""), &cfg)
            .unwrap()
            .unwrap();
        assert_eq!((t.interval, t.refresher), (1800, Refresher::Uas));
    }

    #[test]
    #[expect(clippy::disallowed_methods, reason = "an origin instant for offsets")]
    fn refresh_and_expiry_instants() {
        let t0 = Instant::now();
        let t = SessionTimer {
            interval: 1800,
            refresher: Refresher::Uac,
        };
        assert_eq!(t.refresh_at(t0), t0 + Duration::from_secs(900));
        assert_eq!(t.expire_at(t0), t0 + Duration::from_secs(1768));
        let short = SessionTimer {
            interval: 90,
            refresher: Refresher::Uas,
        };
        assert_eq!(short.expire_at(t0), t0 + Duration::from_secs(60));
        assert!(short.we_refresh(false) && !short.we_refresh(true));
    }
}
