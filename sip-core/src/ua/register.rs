//! The registration client of the user agent (RFC 3261 §10.2): register, refresh before
//! expiry, answer digest challenges, follow 423 Min-Expires, unregister.
//!
//! A REGISTER (first or refresh) that fails:
//! - 401/407: answered with credentials, at most twice in a row; then as below (without
//!   credentials or a challenge we can answer: after the [`RegisterRetry`] delay);
//! - 423: sent again at once with the Min-Expires value (RFC 3261 §10.2.8); without a
//!   Min-Expires above the expiry asked: after the [`RegisterRetry`] delay;
//! - with `Retry-After` (503, 500, 480, 404, ...): sent again after the retry delay, but
//!   not before the Retry-After (RFC 3261 §20.33);
//! - 403, 404, 604 without `Retry-After`: not sent again (§21.4.4: 403 "SHOULD NOT be
//!   repeated"; 404 and 604 say the AOR does not exist);
//! - anything else, a timeout or a transport error: sent again after the registration's
//!   [`RegisterRetry`] delay.
//!
//! Before any of that, a timeout, a transport error or a 503 sends the same REGISTER to the
//! next target of the registration's list, when one is left (RFC 3263 §4.3, see
//! [`super::failover`]); the failure above is what happens once none is.

use std::time::{Duration, Instant};

use super::{Purpose, TargetList, UaError, UaEvent, UserAgent};
use crate::auth::{Challenge, ChallengeKind};
use crate::header::{
    CSeq, CallId, Contact, Expires, From, HeaderName, MaxForwards, RetryAfter, To,
};
use crate::msg::{Method, Request, Response};
use crate::registration::RegisterRetry;
use crate::transaction::{Target, Transport};
use crate::uri::Uri;

/// When a failed REGISTER is sent again.
#[derive(Clone, Copy, Debug)]
enum NextTry {
    /// After the registration's [`RegisterRetry`] delay.
    Backoff,
    /// After that delay, but not before this one (a Retry-After).
    AtLeast(Duration),
    /// Not by itself: the failure is permanent.
    Never,
}

/// Identifies one registration of a [`UserAgent`].
#[derive(Clone, Copy, Debug, Eq, Hash, Ord, PartialEq, PartialOrd)]
pub struct RegistrationId(pub u64);

#[derive(Debug)]
pub(super) struct Registration {
    registrar: Uri,
    aor: Uri,
    /// Where the REGISTERs go now (sticky until it fails).
    pub(super) target: Target,
    /// Every target, in the caller's order, and when they go stale.
    targets: TargetList,
    /// A REGISTER waits for new targets ([`UaEvent::TargetsExpired`]).
    relocating: bool,
    /// The targets left to try in this round after `target` fails (RFC 3263 §4.3).
    pub(super) alternates: Vec<Target>,
    /// The last REGISTER sent, sent again as it is to the next target on failover.
    pub(super) last: Option<Request>,
    /// Requested expiry in seconds (0 while unregistering).
    expires: u32,
    call_id: String,
    from_tag: String,
    cseq: u32,
    auth_tries: u8,
    /// The Authorization value for the last challenge, re-sent with each refresh.
    authorization: Option<(ChallengeKind, Challenge)>,
    /// When to send the next REGISTER (refresh or retry).
    next: Option<Instant>,
    pub(super) in_flight: bool,
    unregistering: bool,
    /// The retry schedule after failures.
    retry: RegisterRetry,
    /// Consecutive failures since the last success.
    failures: u32,
}

impl UserAgent {
    /// Registers `aor` with our Contact at `registrar` (the REGISTER Request-URI), sent to
    /// the first available of `targets` (a [`Target`] or a [`TargetList`] in RFC 3263
    /// order, failing over as the module docs say), asking for `expires` seconds; refreshes
    /// before expiry until [`UserAgent::unregister`]. Results come as
    /// [`UaEvent::Registered`] and [`UaEvent::RegistrationFailed`].
    ///
    /// # Errors
    /// [`UaError::BadUri`], [`UaError::Transaction`], [`UaError::NoTarget`].
    pub fn register(
        &mut self,
        now: Instant,
        registrar: Uri,
        aor: Uri,
        targets: impl Into<TargetList>,
        expires: u32,
    ) -> Result<RegistrationId, UaError> {
        let targets: TargetList = targets.into();
        let (target, alternates) = self
            .pick_target(now, targets.as_slice())
            .ok_or(UaError::NoTarget)?;
        let id = RegistrationId(self.next_leg);
        self.next_leg += 1;
        // RFC 3261 §10.2: "A UA SHOULD use the same Call-ID for all registrations during a
        // single boot cycle" towards one registrar.
        let call_id = format!(
            "{}@{}",
            self.token(16),
            super::host_of(self.config.local_addr)
        );
        let from_tag = self.token(8);
        let reg = Registration {
            registrar,
            aor,
            target,
            targets,
            relocating: false,
            alternates,
            last: None,
            expires,
            call_id,
            from_tag,
            cseq: 0,
            auth_tries: 0,
            authorization: None,
            next: None,
            in_flight: false,
            unregistering: false,
            retry: RegisterRetry::default(),
            failures: 0,
        };
        self.registrations.insert(id, reg);
        self.send_register(now, id)?;
        Ok(id)
    }

    /// Sets how registration `id` is retried after a failure (from the next failure on);
    /// the default is [`RegisterRetry::fixed`] 30 s. [`RegisterRetry::rfc5626`] backs off
    /// exponentially with jitter from the UA's seeded RNG and resets on success.
    ///
    /// # Errors
    /// [`UaError::NoSuchLeg`] for an unknown registration.
    pub fn set_register_retry(
        &mut self,
        id: RegistrationId,
        retry: RegisterRetry,
    ) -> Result<(), UaError> {
        let reg = self.registrations.get_mut(&id).ok_or(UaError::NoSuchLeg)?;
        reg.retry = retry;
        Ok(())
    }

    /// New targets for registration `id` (RFC 3263 §4: the registrar located again, for
    /// instance after [`UaEvent::TargetsExpired`]): the next REGISTER goes to the first
    /// available of them, and a REGISTER held for them goes now. An empty list keeps the
    /// old targets (the name could not be located again; they beat none) and sends the held
    /// REGISTER to them; they stay stale, so the next REGISTER due asks again.
    ///
    /// # Errors
    /// [`UaError::NoSuchLeg`] for an unknown registration; [`UaError::NoTarget`] when every
    /// new target is unavailable (the old ones are kept); [`UaError::Transaction`].
    pub fn relocate_registration(
        &mut self,
        now: Instant,
        id: RegistrationId,
        targets: impl Into<TargetList>,
    ) -> Result<(), UaError> {
        let list = targets.into();
        let picked = (!list.is_empty()).then(|| self.pick_target(now, list.as_slice()));
        let reg = self.registrations.get_mut(&id).ok_or(UaError::NoSuchLeg)?;
        // An unregistration sent meanwhile went out already: nothing is held any more.
        let held = std::mem::take(&mut reg.relocating) && !reg.in_flight;
        let result = match picked {
            None => Ok(()),
            Some(None) => Err(UaError::NoTarget),
            Some(Some((target, alternates))) => {
                reg.targets = list;
                // A REGISTER in flight finishes where it went; the next goes to the new list.
                if !reg.in_flight {
                    reg.target = target;
                    reg.alternates = alternates;
                }
                Ok(())
            }
        };
        if held {
            self.send_due_register(now, id);
        }
        result
    }

    /// Consecutive failures of registration `id` since its last success (`None` for an
    /// unknown registration).
    pub fn register_failures(&self, id: RegistrationId) -> Option<u32> {
        self.registrations.get(&id).map(|r| r.failures)
    }

    /// Removes our binding (REGISTER with `Expires: 0`); [`UaEvent::Unregistered`] follows.
    ///
    /// # Errors
    /// [`UaError::NoSuchLeg`] for an unknown registration, [`UaError::Transaction`].
    pub fn unregister(&mut self, now: Instant, id: RegistrationId) -> Result<(), UaError> {
        let reg = self.registrations.get_mut(&id).ok_or(UaError::NoSuchLeg)?;
        reg.unregistering = true;
        reg.expires = 0;
        reg.auth_tries = 0;
        self.send_register(now, id)
    }

    /// The transport a registration's REGISTERs go over (its registrar target's).
    fn registration_transport(&self, id: RegistrationId) -> Transport {
        self.registrations
            .get(&id)
            .map_or(self.config.transport, |r| r.target.transport)
    }

    pub(super) fn send_register(
        &mut self,
        now: Instant,
        id: RegistrationId,
    ) -> Result<(), UaError> {
        let transport = self.registration_transport(id);
        let via = self.via_for(transport)?;
        let contact = self.contact_uri_for(transport)?;
        let auth = match self
            .registrations
            .get(&id)
            .and_then(|r| r.authorization.clone())
        {
            Some((kind, challenge)) => {
                let uri = self.registrations.get(&id).map(|r| r.registrar.to_string());
                match (self.digest.as_mut(), uri) {
                    (Some(d), Some(uri)) => d
                        .authorize(&challenge, "REGISTER", &uri)
                        .ok()
                        .map(|c| (kind.credentials_header(), c.to_string())),
                    _ => None,
                }
            }
            None => None,
        };
        self.send_register_with(now, id, via, contact, auth)
    }

    fn send_register_with(
        &mut self,
        now: Instant,
        id: RegistrationId,
        via: crate::header::Via,
        contact: Uri,
        auth: Option<(&'static str, String)>,
    ) -> Result<(), UaError> {
        let reg = self.registrations.get_mut(&id).ok_or(UaError::NoSuchLeg)?;
        reg.cseq = reg.cseq.wrapping_add(1);
        let mut b = Request::builder(Method::Register, reg.registrar.clone())
            .header(via)
            .header(MaxForwards(70))
            .header(From::new(reg.aor.clone()).with_tag(&reg.from_tag))
            .header(To::new(reg.aor.clone()))
            .header(CallId::new(&reg.call_id).map_err(|_| UaError::BadUri)?)
            .header(CSeq::new(reg.cseq, Method::Register))
            .header(Contact::new(contact))
            .header(Expires(reg.expires));
        if let Some((name, value)) = auth {
            b = b.raw_header(name, &value).map_err(|_| UaError::BadUri)?;
        }
        let target = reg.target;
        reg.in_flight = true;
        reg.next = None;
        let request = b.build();
        reg.last = Some(request.clone());
        let key = self.txns.send_request(now, request, target)?;
        self.by_txn
            .insert(key, (super::LegId(0), Purpose::Register(id)));
        self.flush();
        Ok(())
    }

    pub(super) fn on_register_response(
        &mut self,
        now: Instant,
        id: RegistrationId,
        response: &Response,
    ) {
        let status = response.status().as_u16();
        if status < 200 {
            return;
        }
        let contact = self.contact_uri_for(self.registration_transport(id)).ok();
        let Some(reg) = self.registrations.get_mut(&id) else {
            return;
        };
        reg.in_flight = false;
        match status {
            200..=299 => {
                reg.auth_tries = 0;
                reg.failures = 0;
                // Sticky: refreshes go to this target; the others are left should it fail.
                // A target no longer in the list (relocated meanwhile) is left for its first.
                let targets = reg.targets.as_slice();
                if !targets.contains(&reg.target)
                    && let Some(first) = targets.first()
                {
                    reg.target = *first;
                }
                let current = reg.target;
                reg.alternates = targets.iter().copied().filter(|t| *t != current).collect();
                if reg.unregistering {
                    self.registrations.remove(&id);
                    self.events.push_back(UaEvent::Unregistered { id });
                    return;
                }
                // The granted expiry: our Contact's expires param, else Expires, else ours.
                let ours = contact.as_ref().map(Uri::as_str);
                let from_contact = response
                    .header_all::<Contact>()
                    .filter_map(Result::ok)
                    .find(|c| c.uri().map(Uri::as_str) == ours)
                    .and_then(|c| c.expires());
                let from_header = match response.header::<Expires>() {
                    Some(Ok(e)) => Some(e.0),
                    _ => None,
                };
                let granted = from_contact.or(from_header).unwrap_or(reg.expires);
                // Refresh early enough for a full transaction timeout (Timer F, 64*T1)
                // to fit before expiry: at most half the interval before.
                let margin = u64::from(granted / 2).min(32);
                reg.next = Some(now + Duration::from_secs(u64::from(granted) - margin));
                self.events.push_back(UaEvent::Registered {
                    id,
                    expires: granted,
                });
            }
            401 | 407 if reg.auth_tries < 2 => {
                let kind = if status == 407 {
                    ChallengeKind::Proxy
                } else {
                    ChallengeKind::Www
                };
                let name = if status == 407 {
                    HeaderName::ProxyAuthenticate
                } else {
                    HeaderName::WwwAuthenticate
                };
                let challenges: Vec<Challenge> = response
                    .headers()
                    .named(name)
                    .filter_map(|h| h.value_str())
                    .filter_map(|v| Challenge::parse(v).ok())
                    .collect();
                match (Challenge::select(&challenges), self.digest.is_some()) {
                    (Some(c), true) => {
                        reg.authorization = Some((kind, c.clone()));
                        reg.auth_tries += 1;
                        if self.send_register(now, id).is_err() {
                            self.register_failed(now, id, status);
                        }
                    }
                    _ => self.register_failed(now, id, status),
                }
            }
            423 => {
                // RFC 3261 §10.2.8: retry with at least the Min-Expires value.
                let min = response
                    .headers()
                    .named_str("Min-Expires")
                    .next()
                    .and_then(|h| h.value_str())
                    .and_then(|v| v.trim().parse::<u32>().ok());
                match min {
                    Some(min) if min > reg.expires => {
                        reg.expires = min;
                        if self.send_register(now, id).is_err() {
                            self.register_failed(now, id, 423);
                        }
                    }
                    _ => self.register_failed(now, id, 423),
                }
            }
            _ => {
                // RFC 3261 §20.33: Retry-After says how long the registrar expects to be
                // unavailable; the next try waits at least that long.
                let retry_after = match response.header::<RetryAfter>() {
                    Some(Ok(ra)) => Some(Duration::from_secs(u64::from(ra.seconds()))),
                    _ => None,
                };
                if status == 503 {
                    let target = reg.target;
                    self.note_503(now, target, response);
                    if self.failover_register(now, id, 503) {
                        return;
                    }
                }
                let next = match (status, retry_after) {
                    (_, Some(at_least)) => NextTry::AtLeast(at_least),
                    // RFC 3261 §21.4.4: 403 "the request SHOULD NOT be repeated"; 404
                    // (§21.4.5) and 604 (RFC 3261 §21.6.3) say the AOR does not exist:
                    // asking again cannot succeed until someone fixes the account.
                    (403 | 404 | 604, None) => NextTry::Never,
                    _ => NextTry::Backoff,
                };
                self.register_failed_then(now, id, status, next);
            }
        }
    }

    /// A failed REGISTER (timeout, transport error, a challenge or 423 it cannot answer, a
    /// REGISTER it could not send): retried after the registration's [`RegisterRetry`]
    /// delay, whatever the response's `Retry-After`.
    pub(super) fn register_failed(&mut self, now: Instant, id: RegistrationId, status: u16) {
        self.register_failed_then(now, id, status, NextTry::Backoff);
    }

    fn register_failed_then(
        &mut self,
        now: Instant,
        id: RegistrationId,
        status: u16,
        next: NextTry,
    ) {
        let Some(reg) = self.registrations.get_mut(&id) else {
            return;
        };
        reg.in_flight = false;
        reg.auth_tries = 0;
        if reg.unregistering {
            self.registrations.remove(&id);
            self.events.push_back(UaEvent::Unregistered { id });
            return;
        }
        reg.failures = reg.failures.saturating_add(1);
        let backoff = reg.retry.delay(reg.failures, &mut self.rng);
        reg.next = match next {
            NextTry::Backoff => now.checked_add(backoff),
            NextTry::AtLeast(at_least) => now.checked_add(backoff.max(at_least)),
            NextTry::Never => None,
        };
        self.events
            .push_back(UaEvent::RegistrationFailed { id, status });
    }

    pub(super) fn registration_timers(&mut self, now: Instant) {
        let due: Vec<RegistrationId> = self
            .registrations
            .iter()
            .filter(|(_, r)| !r.in_flight && r.next.is_some_and(|n| n <= now))
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            // RFC 3263 §4.3 orders the targets from records with TTLs: once they ran out,
            // the application locates the registrar again before the REGISTER goes.
            if let Some(r) = self.registrations.get_mut(&id)
                && !r.unregistering
                && !r.targets.is_fresh(now)
            {
                r.next = None;
                r.relocating = true;
                self.events
                    .push_back(UaEvent::TargetsExpired { registration: id });
                continue;
            }
            self.send_due_register(now, id);
        }
    }

    /// Sends the REGISTER due for `id` (a refresh or a retry, on time or once new targets
    /// came, see [`UserAgent::relocate_registration`]).
    fn send_due_register(&mut self, now: Instant, id: RegistrationId) {
        let restart = self
            .registrations
            .get(&id)
            .filter(|r| r.failures > 0)
            .map(|r| {
                // A retry after a round where every target failed: from the top of the
                // list again (the first target is the most preferred one, RFC 3263 §4).
                let targets = r.targets.as_slice();
                let first = targets.first().copied().unwrap_or(r.target);
                self.pick_target(now, targets)
                    .unwrap_or((first, targets.iter().skip(1).copied().collect()))
            });
        if let Some(r) = self.registrations.get_mut(&id) {
            r.auth_tries = 0;
            if let Some((target, alternates)) = restart {
                r.target = target;
                r.alternates = alternates;
            }
        }
        if self.send_register(now, id).is_err() {
            self.register_failed(now, id, 503);
        }
    }

    pub(super) fn registration_deadline(&self) -> Option<Instant> {
        self.registrations
            .values()
            .filter(|r| !r.in_flight)
            .filter_map(|r| r.next)
            .min()
    }
}
