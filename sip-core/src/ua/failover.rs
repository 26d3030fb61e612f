//! Failover across the targets of a request (RFC 3263 §4.3, RFC 3261 §21.5.4).
//!
//! The caller resolves a URI into an ordered [`TargetList`] (RFC 3263 §4, for instance
//! with the tokio `Driver::resolve_all`) and hands it to [`UserAgent::invite`] or
//! [`UserAgent::register`]. The request goes to the first target that is not
//! [unavailable](UserAgent::unavailable_until); RFC 3263 §4.3: "a failure occurs if the
//! transaction layer reports a 503 error response or a transport failure of some sort ...
//! Failure also occurs if the transaction layer times out without ever having received any
//! response, provisional or final (i.e., timer B or timer F in RFC 3261 fires). If a
//! failure occurs, the client SHOULD create a new request, which is identical to the
//! previous, but has a different value of the Via branch ID than the previous (and
//! therefore constitutes a new SIP transaction). That request is sent to the next element
//! in the list". So the UA sends the same request (same Call-ID, From tag and CSeq; a new
//! Via, and a Contact for the new transport when it changes) to the next target and reports
//! [`UaEvent::FailedOver`]. Only when no target is left does the request fail
//! ([`UaEvent::Failed`], [`UaEvent::RegistrationFailed`]). A 4xx or 6xx, or any other 5xx,
//! is the answer and ends the request as before.
//!
//! A 503 with `Retry-After` also makes its target unavailable for that long (RFC 3261
//! §21.5.4: the client "SHOULD NOT forward any other requests to that server for the
//! duration specified in the Retry-After header field"): later calls and registrations skip
//! it while another target is left.
//!
//! Sticky targets: a call keeps the target that took its INVITE for all its requests (RFC
//! 3261 §12: a dialog's requests go to its remote target). A registration refreshes at the
//! target that last accepted it; when that one fails, the others of the list are tried in
//! order, and after a round where all failed, the retry (after the back-off) starts again
//! from the first available one of the list. An INVITE that has an early dialog, or whose
//! CANCEL is pending, does not fail over: it has reached a server.
//!
//! An application with a deadline shorter than Timer B (a gateway's trunk timeout) moves a
//! call that has had no response at all to its next target at once with
//! [`UserAgent::fail_over`].

use std::time::{Duration, Instant};

use crate::header::{Contact, HeaderName, RetryAfter};
use crate::msg::{Request, Response};
use crate::transaction::{Target, Termination, TransactionKey};

use super::{LegId, LegState, Purpose, RegistrationId, UaError, UaEvent, UserAgent};

/// The targets of a request in the order to try them (RFC 3263 §4): what the caller
/// resolved, and until when that holds. A single [`Target`] converts into a list of one
/// that never goes stale.
///
/// A list located over DNS is good until the smallest TTL of the records it came from runs
/// out ([`TargetList::expires`], from the tokio `Resolver::resolve_list`); a registration
/// given such a list asks for a new one before a REGISTER after that instant
/// ([`UaEvent::TargetsExpired`]), so a registrar moved by DNS is found without a restart.
#[derive(Clone, Debug, Default, Eq, PartialEq)]
pub struct TargetList {
    targets: Vec<Target>,
    expires: Option<Instant>,
}

impl TargetList {
    /// The list, in this order, never stale.
    pub fn new(targets: Vec<Target>) -> Self {
        Self {
            targets,
            expires: None,
        }
    }

    /// The list, stale from `expires` on (`None`: never).
    #[must_use]
    pub fn with_expiry(mut self, expires: Option<Instant>) -> Self {
        self.expires = expires;
        self
    }

    /// The targets in order.
    pub fn as_slice(&self) -> &[Target] {
        &self.targets
    }

    /// The targets in order, taken out.
    pub fn into_vec(self) -> Vec<Target> {
        self.targets
    }

    /// True for a list of no target.
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    /// The instant the list goes stale and is to be resolved again (`None`: never).
    pub fn expires(&self) -> Option<Instant> {
        self.expires
    }

    /// True when the list may still be used at `now` (before [`TargetList::expires`]).
    pub fn is_fresh(&self, now: Instant) -> bool {
        self.expires.is_none_or(|e| now < e)
    }
}

impl From<Target> for TargetList {
    fn from(target: Target) -> Self {
        Self::new(vec![target])
    }
}

impl From<Vec<Target>> for TargetList {
    fn from(targets: Vec<Target>) -> Self {
        Self::new(targets)
    }
}

impl From<&[Target]> for TargetList {
    fn from(targets: &[Target]) -> Self {
        Self::new(targets.to_vec())
    }
}

impl FromIterator<Target> for TargetList {
    fn from_iter<I: IntoIterator<Item = Target>>(iter: I) -> Self {
        Self::new(iter.into_iter().collect())
    }
}

/// Targets that answered 503 with `Retry-After`, until when (RFC 3261 §21.5.4); bounded.
#[derive(Debug, Default)]
pub(super) struct Unavailable(Vec<(Target, Instant)>);

impl Unavailable {
    fn insert(&mut self, now: Instant, target: Target, until: Instant) {
        self.0.retain(|(t, end)| *end > now && *t != target);
        if self.0.len() >= MAX_UNAVAILABLE
            && let Some((i, _)) = self.0.iter().enumerate().min_by_key(|(_, e)| e.1)
        {
            // The one that ends first makes room.
            self.0.swap_remove(i);
        }
        self.0.push((target, until));
    }

    fn until(&self, now: Instant, target: Target) -> Option<Instant> {
        self.0
            .iter()
            .find(|(t, end)| *t == target && *end > now)
            .map(|e| e.1)
    }
}

/// Bound on the targets remembered as unavailable, whatever the servers answer.
const MAX_UNAVAILABLE: usize = 64;

impl UserAgent {
    /// Gives up on the current target of `leg`'s INVITE before Timer B, as if it had fired
    /// (RFC 3263 §4.3): when the INVITE has had no response at all (not even a 100) and a
    /// target is left, the same INVITE goes to the next target at once and
    /// [`UaEvent::FailedOver`] follows with status 408. The abandoned transaction is left
    /// to end by itself (it cannot be cancelled before a provisional, RFC 3261 §9.1) without
    /// touching the call: should that server answer after all, a provisional or non-2xx
    /// is dropped (a 503's `Retry-After` still counts) and a 2xx gets an ACK and a BYE sent
    /// to that server, as an unwanted fork's (RFC 3261 §13.2.2.4). Returns false, sending
    /// nothing, when the call has had a response or no target is left: cancel it then.
    ///
    /// # Errors
    /// [`UaError::NoSuchLeg`].
    pub fn fail_over(&mut self, now: Instant, leg: LegId) -> Result<bool, UaError> {
        let l = self.legs.get(&leg).ok_or(UaError::NoSuchLeg)?;
        let (Some(key), failed) = (l.invite_key.clone(), l.peer) else {
            return Ok(false);
        };
        let calling = self
            .txns
            .state(&key)
            .is_some_and(|s| s == crate::transaction::State::Calling);
        if !(calling && self.failover_invite(now, leg, 408)) {
            return Ok(false);
        }
        self.by_txn.insert(key, (leg, Purpose::Abandoned(failed)));
        Ok(true)
    }

    /// A response to an INVITE `leg` moved on from with [`UserAgent::fail_over`], sent to
    /// `server`: see there.
    pub(super) fn on_abandoned_response(
        &mut self,
        now: Instant,
        leg: LegId,
        server: Target,
        response: &Response,
    ) {
        self.note_503(now, server, response);
        if response.status().is_success() {
            self.unwanted_2xx(now, leg, response, server);
        }
    }

    /// Until when `target` is skipped because it answered 503 with `Retry-After` (RFC 3261
    /// §21.5.4); `None` when it is available at `now`.
    pub fn unavailable_until(&self, now: Instant, target: Target) -> Option<Instant> {
        self.unavailable.until(now, target)
    }

    /// The first target of `list` available at `now`, and the ones after it.
    pub(super) fn pick_target(
        &self,
        now: Instant,
        list: &[Target],
    ) -> Option<(Target, Vec<Target>)> {
        let i = list
            .iter()
            .position(|t| self.unavailable.until(now, *t).is_none())?;
        let first = *list.get(i)?;
        Some((first, list.iter().skip(i + 1).copied().collect()))
    }

    /// Takes the next available target from `alternates` (dropping unavailable ones).
    fn next_alternate(&self, now: Instant, alternates: &mut Vec<Target>) -> Option<Target> {
        while !alternates.is_empty() {
            let t = alternates.remove(0);
            if self.unavailable.until(now, t).is_none() {
                return Some(t);
            }
        }
        None
    }

    /// Records a 503's `Retry-After` for `target` (RFC 3261 §21.5.4).
    pub(super) fn note_503(&mut self, now: Instant, target: Target, response: &Response) {
        if response.status().as_u16() != 503 {
            return;
        }
        if let Some(Ok(ra)) = response.header::<RetryAfter>()
            && ra.seconds() > 0
            && let Some(until) = now.checked_add(Duration::from_secs(u64::from(ra.seconds())))
        {
            self.unavailable.insert(now, target, until);
        }
    }

    /// The status a failed transaction counts as: 408 for a timeout (RFC 3261 §8.1.3.1),
    /// 503 for a transport error ("SHOULD be treated as a 503").
    pub(super) fn failure_status(reason: Termination) -> u16 {
        if reason == Termination::TransportError {
            503
        } else {
            408
        }
    }

    /// RFC 3263 §4.3: the leg's INVITE, failed with `status` at its target, goes to the next
    /// one as a new transaction. False (nothing sent) when the call has reached a server
    /// (an early dialog), is being cancelled, or has no target left.
    pub(super) fn failover_invite(&mut self, now: Instant, leg_id: LegId, status: u16) -> bool {
        let Some(leg) = self.legs.get_mut(&leg_id) else {
            return false;
        };
        let reached = leg.dialog.is_some() || !leg.forks.is_empty() || leg.cancel_pending;
        if !leg.uac || leg.state != LegState::Proceeding || reached {
            return false;
        }
        let mut alternates = std::mem::take(&mut leg.alternates);
        let failed = leg.peer;
        let invite = leg.invite.clone();
        let sent = self.send_to_next(now, &mut alternates, &invite, failed);
        let Some(leg) = self.legs.get_mut(&leg_id) else {
            return false;
        };
        // The targets not tried stay the leg's, whether or not this one could be sent.
        leg.alternates = alternates;
        let Some((next, request, key)) = sent else {
            return false;
        };
        leg.peer = next;
        leg.invite = request;
        leg.invite_key = Some(key.clone());
        self.by_txn.insert(key, (leg_id, Purpose::Invite));
        self.events.push_back(UaEvent::FailedOver {
            leg: Some(leg_id),
            registration: None,
            failed,
            next,
            status,
        });
        self.flush();
        true
    }

    /// RFC 3263 §4.3 for a REGISTER: the last one goes, unchanged but for its Via (and its
    /// Contact when the transport changes), to the registration's next target. False when
    /// none is left.
    pub(super) fn failover_register(
        &mut self,
        now: Instant,
        id: RegistrationId,
        status: u16,
    ) -> bool {
        let Some(reg) = self.registrations.get_mut(&id) else {
            return false;
        };
        let Some(last) = reg.last.clone() else {
            return false;
        };
        let mut alternates = std::mem::take(&mut reg.alternates);
        let failed = reg.target;
        let sent = self.send_to_next(now, &mut alternates, &last, failed);
        let Some(reg) = self.registrations.get_mut(&id) else {
            return false;
        };
        reg.alternates = alternates;
        let Some((next, request, key)) = sent else {
            return false;
        };
        reg.target = next;
        reg.last = Some(request);
        reg.in_flight = true;
        self.by_txn.insert(key, (LegId(0), Purpose::Register(id)));
        self.events.push_back(UaEvent::FailedOver {
            leg: None,
            registration: Some(id),
            failed,
            next,
            status,
        });
        self.flush();
        true
    }

    /// Sends `request` (which failed at `failed`) to the next available of `alternates` as a
    /// new transaction; the target, the request sent and its transaction.
    fn send_to_next(
        &mut self,
        now: Instant,
        alternates: &mut Vec<Target>,
        request: &Request,
        failed: Target,
    ) -> Option<(Target, Request, TransactionKey)> {
        let next = self.next_alternate(now, alternates)?;
        let request = self.retarget(request, failed, next)?;
        let key = self.txns.send_request(now, request.clone(), next).ok()?;
        Some((next, request, key))
    }

    /// `request` (sent to `failed`) for `next`: a new Via (so a new branch) naming `next`'s
    /// transport, and our Contact for that transport when it differs.
    fn retarget(&mut self, request: &Request, failed: Target, next: Target) -> Option<Request> {
        let via = self.via_for(next.transport).ok()?;
        let mut b = request.to_builder();
        b.remove_header(HeaderName::Via);
        b.prepend_header(via);
        if next.transport != failed.transport {
            let contact = self.contact_uri_for(next.transport).ok()?;
            b.set_header(Contact::new(contact));
        }
        Some(b.build())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transaction::Transport;

    fn target(port: u16) -> Target {
        Target {
            transport: Transport::Udp,
            addr: std::net::SocketAddr::from(([192, 0, 2, 1], port)),
        }
    }

    #[test]
    #[expect(clippy::disallowed_methods, reason = "an origin instant for offsets")]
    fn the_memory_is_bounded_and_gives_up_the_one_that_ends_first() {
        let now = Instant::now();
        let mut u = Unavailable::default();
        let secs = |s: u64| now + Duration::from_secs(s);
        // Port 1 ends last, port 2 first; the others in between.
        u.insert(now, target(1), secs(1_000));
        u.insert(now, target(2), secs(10));
        for port in 3..=u16::try_from(MAX_UNAVAILABLE).unwrap() {
            u.insert(now, target(port), secs(100 + u64::from(port)));
        }
        assert_eq!(u.0.len(), MAX_UNAVAILABLE);
        u.insert(now, target(999), secs(500));
        assert_eq!(u.0.len(), MAX_UNAVAILABLE);
        assert_eq!(u.until(now, target(2)), None);
        assert_eq!(u.until(now, target(1)), Some(secs(1_000)));
        assert_eq!(u.until(now, target(999)), Some(secs(500)));
        // Inserting a target again replaces it; an ended one is dropped.
        u.insert(now, target(1), secs(20));
        assert_eq!(u.until(now, target(1)), Some(secs(20)));
        assert_eq!(u.until(secs(20), target(1)), None);
        u.insert(secs(150), target(1), secs(2_000));
        assert!(u.0.len() < MAX_UNAVAILABLE);
    }
}
