//! Call transfer: REFER (RFC 3515) with Replaces (RFC 3891) and the NOTIFYs that report the
//! referred call's progress (RFC 3515 §2.4.4, message/sipfrag of RFC 3420).
//!
//! Attended transfer, the three roles:
//! - **transferor** (talks to both parties): [`UserAgent::attended_transfer`]`(now, a, b)`
//!   sends REFER on call `a` with `Refer-To: <b's remote target?Replaces=b's dialog>`, so
//!   that a's party calls b's party and replaces our call with b. Its progress comes back as
//!   NOTIFY requests on `a` ([`super::UaEvent::Request`]); hang up both calls after the final
//!   one. [`UserAgent::replaces_for`] gives the [`Replaces`] alone (to build another REFER).
//! - **transferee**: the REFER arrives as a request on its call; [`parse_refer_to`] splits
//!   the target and the Replaces to put on the new INVITE (`extra` headers or a raw header of
//!   [`UserAgent::invite`]'s request), reported with [`UserAgent::notify_refer`].
//! - **transfer target** (UAS of the INVITE with Replaces, RFC 3891 §3): the UA checks the
//!   header before the application sees the call. No matching dialog, or an early dialog we
//!   did not initiate: 481; a matching dialog that already ended: 603; a confirmed dialog
//!   with `early-only`: 486; more than one or a malformed Replaces: 400. A matching call
//!   arrives as [`super::UaEvent::Incoming`] with [`UserAgent::replaced_leg`] naming the
//!   call it replaces; when the application answers it with a 2xx, the UA ends the replaced
//!   call by itself (BYE for a confirmed dialog, CANCEL for our own early one; its
//!   [`super::UaEvent::Ended`] or [`super::UaEvent::Failed`] 487 follows). A B2BUA that
//!   bridges rather than replaces looks a Replaces up with [`UserAgent::find_replaced`].

use std::fmt::Write as _;
use std::time::Instant;

use bytes::Bytes;

use super::{Body, LegId, LegState, UaError, UserAgent};
use crate::dialog::{DialogId, DialogState};
use crate::header::{ContentType, Header as _};
use crate::msg::{Method, StatusCode};
use crate::transaction::TransactionKey;
use crate::uri::Uri;

/// The dialog named by a Replaces (RFC 3891 §6.1), as the recipient of the INVITE sees it.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Replaces {
    /// Call-ID.
    pub call_id: String,
    /// The recipient's local tag.
    pub to_tag: String,
    /// The recipient's remote tag.
    pub from_tag: String,
    /// `early-only`: replace the dialog only while it is early (RFC 3891 §6.1).
    pub early_only: bool,
}

impl Replaces {
    /// The Replaces for dialog `id` of ours, addressed to its peer (our remote tag is the
    /// peer's local tag, so it goes in `to-tag`).
    pub fn for_peer_of(id: &DialogId) -> Self {
        Self {
            call_id: id.call_id.clone(),
            to_tag: id.remote_tag.clone(),
            from_tag: id.local_tag.clone(),
            early_only: false,
        }
    }

    /// From a parsed `Replaces` header.
    pub fn from_header(h: &crate::header::Replaces) -> Option<Self> {
        Some(Self {
            call_id: h.call_id().as_str().to_owned(),
            to_tag: h.to_tag()?.to_owned(),
            from_tag: h.from_tag()?.to_owned(),
            early_only: h.early_only(),
        })
    }

    /// Parses a Replaces header value (`call-id;to-tag=..;from-tag=..[;early-only]`).
    pub fn parse(value: &str) -> Option<Self> {
        Self::from_header(&crate::header::Replaces::parse_str(value).ok()?)
    }

    /// The dialog id this Replaces names, as its recipient (local tag = `to-tag`).
    pub fn dialog_id(&self) -> DialogId {
        DialogId {
            call_id: self.call_id.clone(),
            local_tag: self.to_tag.clone(),
            remote_tag: self.from_tag.clone(),
        }
    }

    /// The Replaces header value: `call-id;to-tag=..;from-tag=..[;early-only]`.
    pub fn header_value(&self) -> String {
        let early = if self.early_only { ";early-only" } else { "" };
        format!(
            "{};to-tag={};from-tag={}{early}",
            self.call_id, self.to_tag, self.from_tag
        )
    }
}

/// Why an INVITE's Replaces (RFC 3891 §3) matches no call that may be replaced, with the
/// status the UAS answers.
#[derive(Clone, Copy, Debug, Eq, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplacesError {
    /// No dialog matches (481).
    #[error("no dialog matches the replaces header")]
    NoDialog,
    /// The dialog matched is early and we did not initiate it (481: "leaves the matched
    /// dialog unchanged").
    #[error("the replaced dialog is an early dialog we did not initiate")]
    EarlyNotOurs,
    /// The dialog matched has already terminated (603).
    #[error("the replaced dialog has terminated")]
    Terminated,
    /// The dialog matched is confirmed and the Replaces has `early-only` (486).
    #[error("early-only replaces of a confirmed dialog")]
    Confirmed,
    /// More than one Replaces, or one that does not parse (400).
    #[error("malformed or repeated replaces header")]
    Malformed,
}

impl ReplacesError {
    /// The status to answer the INVITE with (RFC 3891 §3).
    pub fn status_code(self) -> u16 {
        match self {
            Self::NoDialog | Self::EarlyNotOurs => 481,
            Self::Terminated => 603,
            Self::Confirmed => 486,
            Self::Malformed => 400,
        }
    }
}

/// The Refer-To value: `<target>` for a blind transfer, `<target?Replaces=...>` (escaped per
/// RFC 3261 §19.1.1 `hvalue`) for an attended one.
pub fn refer_to_value(target: &Uri, replaces: Option<&Replaces>) -> String {
    match replaces {
        None => format!("<{target}>"),
        Some(r) => format!("<{target}?Replaces={}>", escape_hvalue(&r.header_value())),
    }
}

/// Splits a Refer-To value into the target URI text and its Replaces, if any.
pub fn parse_refer_to(value: &str) -> Option<(String, Option<Replaces>)> {
    let inner = value.trim();
    let inner = match (inner.find('<'), inner.rfind('>')) {
        (Some(a), Some(b)) if a < b => &inner[a + 1..b],
        _ => inner,
    };
    let (uri, headers) = match inner.split_once('?') {
        Some((u, h)) => (u, Some(h)),
        None => (inner, None),
    };
    let replaces = headers.and_then(|h| {
        h.split('&').find_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            k.eq_ignore_ascii_case("Replaces").then(|| unescape(v))?
        })
    });
    let replaces = replaces.and_then(|v| Replaces::parse(&v));
    Some((uri.to_owned(), replaces))
}

/// The `message/sipfrag` body of a progress NOTIFY: the status line of the referred call.
///
/// # Errors
/// Only if the constant content type failed to parse (it does not).
pub fn sipfrag(status: u16) -> Result<Body, crate::header::HeaderError> {
    let reason = StatusCode(status).canonical_reason();
    Ok(Body {
        content_type: ContentType::parse_str("message/sipfrag;version=2.0")?,
        bytes: Bytes::from(format!("SIP/2.0 {status} {reason}\r\n")),
    })
}

impl UserAgent {
    /// Sends REFER on `leg` asking the peer to call `target` (replacing dialog `replaces`
    /// at the target for an attended transfer). The peer's NOTIFYs arrive as
    /// [`super::UaEvent::Request`] on the same leg.
    ///
    /// # Errors
    /// As [`UserAgent::request`].
    pub fn refer(
        &mut self,
        now: Instant,
        leg: LegId,
        target: &Uri,
        replaces: Option<&Replaces>,
    ) -> Result<TransactionKey, UaError> {
        let refer_to = refer_to_value(target, replaces);
        self.request(now, leg, Method::Refer, None, &[("Refer-To", &refer_to)])
    }

    /// Attended transfer (RFC 5589 §7): asks the party of call `leg` to call the party of
    /// call `target` and replace our dialog with it there. Sends REFER on `leg` with
    /// `Refer-To: <remote target of target?Replaces=...>` naming `target`'s dialog as its
    /// peer sees it ([`UserAgent::replaces_for`]). The 202 comes as
    /// [`super::UaEvent::Response`], the progress as NOTIFY requests on `leg`; the
    /// application hangs up both calls after the final NOTIFY (or the replaced call is ended
    /// by its peer).
    ///
    /// # Errors
    /// [`UaError::NoSuchLeg`]; [`UaError::InvalidState`] when either call has no confirmed
    /// dialog (an early dialog cannot be replaced at a peer that did not initiate it,
    /// RFC 3891 §3), or as [`UserAgent::request`].
    pub fn attended_transfer(
        &mut self,
        now: Instant,
        leg: LegId,
        target: LegId,
    ) -> Result<TransactionKey, UaError> {
        let d = self.dialog(target).ok_or(UaError::NoSuchLeg)?;
        if d.state() != DialogState::Confirmed
            || self.dialog(leg).map(crate::dialog::Dialog::state) != Some(DialogState::Confirmed)
        {
            return Err(UaError::InvalidState);
        }
        let uri = d.remote_target().clone();
        let replaces = Replaces::for_peer_of(d.id());
        self.refer(now, leg, &uri, Some(&replaces))
    }

    /// The [`Replaces`] that names `leg`'s current dialog at its peer (to-tag = the peer's
    /// tag), for a REFER or INVITE the caller builds; `None` without a dialog.
    pub fn replaces_for(&self, leg: LegId) -> Option<Replaces> {
        self.dialog(leg).map(|d| Replaces::for_peer_of(d.id()))
    }

    /// For an incoming call whose INVITE carried a Replaces that matched (RFC 3891 §3): the
    /// call it replaces. Answering the new call with a 2xx makes the UA end that call (BYE,
    /// or CANCEL when it was our own still-ringing call); from then on this is `None`.
    pub fn replaced_leg(&self, leg: LegId) -> Option<LegId> {
        self.legs.get(&leg)?.replaces
    }

    /// The call a Replaces names, with the matching rules of RFC 3891 §3: a confirmed
    /// dialog (unless `early-only`), or an early dialog of a call we made (any fork).
    ///
    /// # Errors
    /// [`ReplacesError`] with the status to answer (481, 486, 603).
    pub fn find_replaced(&self, replaces: &Replaces) -> Result<LegId, ReplacesError> {
        let id = replaces.dialog_id();
        let Some(&leg_id) = self.by_dialog.get(&id) else {
            return Err(if self.ended_dialogs.contains(&id) {
                ReplacesError::Terminated
            } else {
                ReplacesError::NoDialog
            });
        };
        let Some(leg) = self.legs.get(&leg_id) else {
            return Err(ReplacesError::NoDialog);
        };
        let current = leg.dialog.as_ref().filter(|d| *d.id() == id);
        match (leg.state, current.map(crate::dialog::Dialog::state)) {
            (LegState::Terminating | LegState::Ended, _) | (_, Some(DialogState::Terminated)) => {
                Err(ReplacesError::Terminated)
            }
            (LegState::Up, Some(DialogState::Confirmed)) if replaces.early_only => {
                Err(ReplacesError::Confirmed)
            }
            (LegState::Up, Some(DialogState::Confirmed)) => Ok(leg_id),
            // An early dialog (the current one or another fork's) of a call we made.
            (LegState::Proceeding, _) if leg.uac => Ok(leg_id),
            (LegState::Proceeding, _) => Err(ReplacesError::EarlyNotOurs),
            // A fork's dialog after another fork answered: not a live dialog of the call.
            _ => Err(ReplacesError::NoDialog),
        }
    }

    /// Checks an incoming INVITE's Replaces headers: `Ok(None)` without one, the replaced
    /// call, or the error to answer.
    pub(super) fn check_replaces(
        &self,
        request: &crate::msg::Request,
    ) -> Result<Option<LegId>, ReplacesError> {
        let mut all = request.header_all::<crate::header::Replaces>();
        let Some(first) = all.next() else {
            return Ok(None);
        };
        if all.next().is_some() {
            return Err(ReplacesError::Malformed);
        }
        let replaces = first
            .ok()
            .as_ref()
            .and_then(Replaces::from_header)
            .ok_or(ReplacesError::Malformed)?;
        self.find_replaced(&replaces).map(Some)
    }

    /// Ends the call that the answered call `leg` replaces (RFC 3891 §3: "shuts down the
    /// replaced dialog by sending a BYE", or a CANCEL for an early dialog we initiated).
    pub(super) fn end_replaced(&mut self, now: Instant, leg: LegId) {
        let Some(old) = self.legs.get_mut(&leg).and_then(|l| l.replaces.take()) else {
            return;
        };
        let Some(o) = self.legs.get(&old) else {
            return;
        };
        match o.state {
            LegState::Up => {
                let _ = self.bye(now, old);
            }
            LegState::Proceeding if o.uac => {
                let _ = self.cancel(now, old);
            }
            _ => {}
        }
    }

    /// Reports the progress of a call made for a REFER received on `leg` (RFC 3515
    /// §2.4.4): `status` of the referred INVITE; a final status ends the implicit
    /// subscription.
    ///
    /// # Errors
    /// As [`UserAgent::request`].
    pub fn notify_refer(
        &mut self,
        now: Instant,
        leg: LegId,
        status: u16,
    ) -> Result<TransactionKey, UaError> {
        let state = if status >= 200 {
            "terminated;reason=noresource"
        } else {
            "active;expires=60"
        };
        self.request(
            now,
            leg,
            Method::Notify,
            Some(sipfrag(status).map_err(|_| UaError::InvalidState)?),
            &[("Event", "refer"), ("Subscription-State", state)],
        )
    }
}

fn escape_hvalue(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    for b in s.bytes() {
        // hvalue = *( hnv-unreserved / unreserved / escaped ) (RFC 3261 §25.1)
        if b.is_ascii_alphanumeric() || b"-_.!~*'()[]/?:+$".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn unescape(s: &str) -> Option<String> {
    let bytes = crate::uri::unescape(s.as_bytes());
    String::from_utf8(bytes.into_owned()).ok()
}
