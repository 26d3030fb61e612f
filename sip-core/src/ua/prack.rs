//! Reliable provisional responses (RFC 3262): the UAS retransmits a `100rel` provisional
//! until the PRACK arrives; the UAC sends PRACK for each new one.

use std::time::{Duration, Instant};

use super::{LegId, Purpose, UaError, UserAgent};
use crate::header::{HeaderName, RAck, RSeq};
use crate::msg::{Method, Request, Response};
use crate::transaction::TransactionKey;

/// A reliable provisional response waiting for its PRACK.
#[derive(Debug)]
pub(super) struct Reliable1xx {
    rseq: u32,
    response: Response,
    next: Instant,
    interval: Duration,
    give_up: Instant,
}

impl Reliable1xx {
    pub(super) fn new(now: Instant, t1: Duration, rseq: u32, response: Response) -> Self {
        Self {
            rseq,
            response,
            next: now + t1,
            interval: t1,
            give_up: now + t1.saturating_mul(64),
        }
    }

    pub(super) fn deadline(&self) -> Instant {
        self.next.min(self.give_up)
    }
}

impl UserAgent {
    /// Sends a provisional response reliably (RFC 3262): with `Require: 100rel` and an RSeq,
    /// retransmitted (T1, doubling) until the caller's PRACK arrives; after 64*T1 without
    /// PRACK the call is rejected with 500. Only when the INVITE said `Supported: 100rel`
    /// or `Require: 100rel`.
    ///
    /// # Errors
    /// [`UaError::InvalidState`] when the caller does not support 100rel or an earlier
    /// reliable provisional is still unacknowledged ("MUST NOT send a second reliable
    /// provisional response until the first is acknowledged").
    pub fn ringing_reliable(
        &mut self,
        now: Instant,
        leg: LegId,
        status: u16,
        body: Option<super::Body>,
    ) -> Result<(), UaError> {
        let l = self.legs.get(&leg).ok_or(UaError::NoSuchLeg)?;
        if !(101..200).contains(&status) || l.reliable_1xx.is_some() || !supports_100rel(&l.invite)
        {
            return Err(UaError::InvalidState);
        }
        self.uas_respond_full(now, leg, status, body, true, &[])
    }

    /// A PRACK arrived on `leg` (already checked against the dialog): stop the matching
    /// retransmissions and answer 200, or 481 when it matches nothing (RFC 3262 §3).
    pub(super) fn on_prack(
        &mut self,
        now: Instant,
        leg_id: LegId,
        key: &TransactionKey,
        request: &Request,
    ) {
        let rack = match request.header::<RAck>() {
            Some(Ok(r)) => Some(r),
            _ => None,
        };
        let matched = match (self.legs.get_mut(&leg_id), rack) {
            (Some(leg), Some(rack)) => {
                let cseq = super::cseq_of(leg.invite.headers()).unwrap_or(0);
                let hit = leg.reliable_1xx.as_ref().is_some_and(|r| {
                    r.rseq == rack.rseq && rack.cseq == cseq && rack.method == Method::Invite
                });
                if hit {
                    leg.reliable_1xx = None;
                }
                hit
            }
            _ => false,
        };
        self.reply(now, key, request, if matched { 200 } else { 481 });
    }

    /// A provisional response to our INVITE: PRACK it when it is reliable. Returns false for
    /// a retransmission of one already acknowledged (the caller then drops it).
    pub(super) fn on_reliable_provisional(
        &mut self,
        now: Instant,
        leg_id: LegId,
        response: &Response,
    ) -> bool {
        let reliable = response
            .headers()
            .named(HeaderName::Require)
            .filter_map(|h| h.value_str())
            .any(|v| {
                v.split(',')
                    .any(|t| t.trim().eq_ignore_ascii_case("100rel"))
            });
        let Some(Ok(RSeq(rseq))) = response.header::<RSeq>() else {
            return true;
        };
        if !reliable {
            return true;
        }
        let Ok(via) = self.leg_via(leg_id) else {
            return true;
        };
        let Some(leg) = self.legs.get_mut(&leg_id) else {
            return true;
        };
        // RFC 3262 §4: a response with an RSeq not higher than the last one acknowledged is
        // a retransmission.
        if leg.rseq != 0 && rseq <= leg.rseq {
            return false;
        }
        leg.rseq = rseq;
        let Some(cseq) = super::cseq_of(response.headers()) else {
            return true;
        };
        let Some(dialog) = leg.dialog.as_mut() else {
            return true;
        };
        let prack = dialog.request(Method::Prack, via);
        let Ok(b) = prack
            .to_builder()
            .raw_header("RAck", &format!("{rseq} {cseq} INVITE"))
        else {
            return true;
        };
        // A PRACK is a request within the early dialog (RFC 3262 §4): to its next hop as the
        // application located it (`set_dialog_target`), else where the INVITE went.
        let target = leg.in_dialog_target();
        if let Ok(key) = self.txns.send_request(now, b.build(), target) {
            self.by_txn.insert(key, (leg_id, Purpose::Prack));
        }
        true
    }

    pub(super) fn prack_timers(&mut self, now: Instant, leg_id: LegId) {
        let Some(leg) = self.legs.get_mut(&leg_id) else {
            return;
        };
        let Some(r) = leg.reliable_1xx.as_mut() else {
            return;
        };
        if now >= r.give_up {
            leg.reliable_1xx = None;
            // RFC 3262 §3: "the UAS SHOULD reject the original request with a 5xx response".
            let _ = self.uas_respond(now, leg_id, 500, None);
            return;
        }
        if now >= r.next {
            let key = leg.invite_key.clone();
            let response = r.response.clone();
            r.interval = r.interval.saturating_mul(2);
            r.next += r.interval;
            if let Some(key) = key {
                let _ = self.txns.send_response(now, &key, response);
            }
        }
    }
}

fn supports_100rel(invite: &Request) -> bool {
    [HeaderName::Supported, HeaderName::Require]
        .into_iter()
        .any(|name| {
            invite
                .headers()
                .named(name)
                .filter_map(|h| h.value_str())
                .any(|v| {
                    v.split(',')
                        .any(|t| t.trim().eq_ignore_ascii_case("100rel"))
                })
        })
}
