//! The user-agent core (RFC 3261 §8, §13, §14, §15): calls over [`Transactions`] and
//! [`Dialog`]s, sans-IO.
//!
//! [`UserAgent`] makes and takes calls: INVITE with provisional answers, CANCEL, the 2xx/ACK
//! handshake of §13.3.1.4 (the UAS retransmits its 2xx until the ACK; the UAC ACKs every 2xx
//! retransmission), forking (one early dialog per To tag, [`UserAgent::early_dialogs`]; the
//! first 2xx confirms its dialog, a later 2xx from another fork gets ACK then BYE), digest
//! retries on 401/407, BYE, re-INVITE glare (491 and the §14.1 retry timer), OPTIONS,
//! session timers ([`session_timer`], RFC 4028) when configured, and generic in-dialog
//! requests (UPDATE, INFO, REFER, NOTIFY, PRACK) for the application. Answers can carry
//! extra headers ([`UserAgent::respond_with`], [`UserAgent::respond_call`]) or be built by
//! the caller ([`UserAgent::send_response`], e.g. a registrar's).
//!
//! Offer in the 2xx (RFC 3261 §13.2.2.4, §13.3.1.4, RFC 3264 §5): when our INVITE or
//! re-INVITE carried no offer and its 2xx carries one, the UA does not ACK by itself: the
//! application answers the offer with [`UserAgent::ack`] (the body is the answer; the same
//! ACK is re-sent for each 2xx retransmission; [`UserAgent::ack_pending`] tells whether an
//! ACK is owed). If it does not within 64*T1 (32 s), the UA sends the ACK without a body and
//! hangs up with a BYE carrying `Reason: SIP;cause=488` (so does [`UserAgent::bye`] while
//! the ACK is owed: ACK first, then BYE). An application that finds the offer unusable
//! ACKs with a valid answer (for instance every stream refused, port 0) and calls
//! [`UserAgent::bye_with`] with a Reason, as §13.2.2.4 asks. On the UAS side, when our 2xx
//! carried the offer (the INVITE had none), the answer comes in the ACK of
//! [`UaEvent::Confirmed`]; an ACK without a body gets a BYE with `Reason: SIP;cause=488` at
//! once ([`UaEvent::Ended`] follows the Confirmed), and an application that finds the
//! answer unusable hangs up with [`UserAgent::bye_with`] and such a Reason. The 2xx of a
//! second fork (ACK then BYE, see above) is ACKed without a body even when it carries an
//! offer: the UA cannot make an SDP answer, and the BYE follows at once.
//!
//! Addressing: the UA resolves no URIs (RFC 3263 is the caller's job, see
//! [`crate::locate`]): an INVITE or a REGISTER is handed the ordered [`TargetList`] the
//! caller resolved, and fails over to the next target after a timeout, a transport error
//! or a 503 (RFC 3263 §4.3, see [`failover`]). Every request of a
//! call goes to the [`Target`] the INVITE was sent to or came from (a proxy or the peer),
//! unless the application located the dialog's next hop ([`Dialog::next_hop`], the first
//! route or the remote target) and handed it to [`UserAgent::set_dialog_target`], as it
//! does for a host name. Responses go back per RFC 3261 §18.2.2 / RFC 3581.
//!
//! Drive it like [`Transactions`]: after every call, drain [`UserAgent::poll_transmit`] and
//! [`UserAgent::poll_event`] until both return `None`, then sleep until
//! [`UserAgent::poll_timeout`] and call [`UserAgent::handle_timeout`].

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::auth::{Challenge, ChallengeKind, DigestClient};
use crate::dialog::{Dialog, DialogId, DialogState};
use crate::header::{
    Allow, CSeq, CallId, Contact, ContentType, From, HeaderName, MaxForwards, To,
    UserAgent as UserAgentHeader, Via,
};
use crate::msg::{Headers, Message, Method, Request, Response, StatusCode};
use crate::transaction::{
    Target, Termination, TransactionConfig, TransactionEvent, TransactionKey, Transactions,
    Transmit, Transport,
};
use crate::uri::Uri;

pub mod failover;
mod prack;
pub mod refer;
mod register;
pub mod session_timer;

pub use failover::TargetList;
use register::Registration;
pub use register::RegistrationId;

/// Identifies one call leg of a [`UserAgent`].
#[derive(Clone, Copy, Debug, Eq, Hash, Ord, PartialEq, PartialOrd)]
pub struct LegId(pub u64);

/// Configuration of a [`UserAgent`].
#[derive(Clone, Debug)]
pub struct UaConfig {
    /// Transaction layer settings (timers, limits).
    pub transactions: TransactionConfig,
    /// Our address as written in Via and Contact.
    pub local_addr: SocketAddr,
    /// The transport written in Via and Contact.
    pub transport: Transport,
    /// The user part of our Contact.
    pub user: String,
    /// Seed for branches, tags, Call-IDs, cnonces and the glare timer.
    pub seed: u64,
    /// Digest credentials (username, password) for 401/407 challenges.
    pub credentials: Option<(String, String)>,
    /// Answer out-of-dialog OPTIONS with 200 by itself.
    pub answer_options: bool,
    /// `User-Agent` header value.
    pub user_agent: Option<String>,
    /// Session timers (RFC 4028) run by the UA; `None` (the default) uses none. See
    /// [`session_timer`].
    pub session_timer: Option<session_timer::SessionTimerConfig>,
    /// Where we listen for a transport that is not at `local_addr` (for instance a TLS
    /// listener on its own port): the Via sent-by and the Contact of messages sent over that
    /// transport name this address (empty by default: `local_addr` for every transport).
    pub listen_addrs: Vec<(Transport, SocketAddr)>,
}

impl UaConfig {
    /// Defaults for a UA at `local_addr` over UDP.
    pub fn new(local_addr: SocketAddr, user: impl Into<String>, seed: u64) -> Self {
        Self {
            transactions: TransactionConfig::default(),
            local_addr,
            transport: Transport::Udp,
            user: user.into(),
            seed,
            credentials: None,
            answer_options: true,
            user_agent: Some(String::from("telox")),
            session_timer: None,
            listen_addrs: Vec::new(),
        }
    }

    /// The address written in Via sent-by and Contact for messages over `transport`: its
    /// entry in [`UaConfig::listen_addrs`], else `local_addr`.
    pub fn addr_for(&self, transport: Transport) -> SocketAddr {
        self.listen_addrs
            .iter()
            .find(|(t, _)| *t == transport)
            .map_or(self.local_addr, |(_, a)| *a)
    }
}

/// A body with its content type.
#[derive(Clone, Debug)]
pub struct Body {
    /// `Content-Type`.
    pub content_type: ContentType,
    /// The bytes.
    pub bytes: Bytes,
}

impl Body {
    /// An `application/sdp` body.
    pub fn sdp(bytes: impl Into<Bytes>) -> Self {
        Self {
            content_type: ContentType::sdp(),
            bytes: bytes.into(),
        }
    }
}

/// What the UA tells the application.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum UaEvent {
    /// A new incoming call; answer with [`UserAgent::ringing`], [`UserAgent::answer`] or
    /// [`UserAgent::reject`].
    Incoming {
        /// The new leg.
        leg: LegId,
        /// The INVITE.
        request: Request,
    },
    /// A provisional response to our INVITE (an early dialog when it has a To tag).
    Provisional {
        /// The leg.
        leg: LegId,
        /// The response.
        response: Response,
    },
    /// Our INVITE was answered with a 2xx; the ACK is already sent, or, when the 2xx carries
    /// the offer for our offerless INVITE, left to [`UserAgent::ack`] with the answer (see
    /// [`UserAgent::ack_pending`] and the module docs).
    Answered {
        /// The leg.
        leg: LegId,
        /// The 2xx.
        response: Response,
    },
    /// Our INVITE failed: a final non-2xx, 408 on timeout or 503 on a transport error
    /// (RFC 3261 §8.1.3.1); after a
    /// timeout, a transport error or a 503 only once no target is left to fail over to
    /// (see [`failover`]).
    Failed {
        /// The leg.
        leg: LegId,
        /// The status (408 for a timeout, 503 for a transport error).
        status: u16,
        /// The response, when one arrived.
        response: Option<Response>,
    },
    /// Our INVITE was refused with 488 or 606 and went again, as a new transaction of the
    /// same call (same Call-ID and From tag, CSeq + 1, a new branch), with the alternative
    /// offer set by [`UserAgent::set_fallback_offer`]: the answer that follows answers that
    /// offer.
    OfferRetried {
        /// The leg.
        leg: LegId,
        /// The status that refused the first offer (488 or 606).
        status: u16,
    },
    /// The ACK for our 2xx arrived (UAS): the call is up.
    Confirmed {
        /// The leg.
        leg: LegId,
        /// The ACK (it may carry the SDP answer).
        ack: Request,
    },
    /// The caller cancelled before we answered; 487 was sent.
    Cancelled {
        /// The leg.
        leg: LegId,
    },
    /// The call ended: BYE received (`by_peer`) or our BYE completed, or the 2xx was never
    /// ACKed.
    Ended {
        /// The leg.
        leg: LegId,
        /// True when the peer hung up.
        by_peer: bool,
    },
    /// A request for the application: in-dialog (`leg` set: re-INVITE, UPDATE, INFO,
    /// REFER, NOTIFY, PRACK) or out of dialog (OPTIONS when not auto-answered, MESSAGE, ...).
    /// Answer with [`UserAgent::respond`].
    Request {
        /// The server transaction.
        key: TransactionKey,
        /// The leg, for in-dialog requests.
        leg: Option<LegId>,
        /// The request.
        request: Request,
    },
    /// A registration succeeded (or was refreshed); `expires` is the granted interval.
    Registered {
        /// The registration.
        id: RegistrationId,
        /// Seconds granted by the registrar.
        expires: u32,
    },
    /// A REGISTER failed (final status, 408 on timeout, 503 on a transport error); it is retried after the
    /// registration's [`RegisterRetry`](crate::registration::RegisterRetry) delay (fixed
    /// 30 s by default, see [`UserAgent::set_register_retry`]; the failure count is
    /// [`UserAgent::register_failures`]), and not before the response's `Retry-After`
    /// (RFC 3261 §20.33). 403, 404 and 604 without `Retry-After` are not retried (403: RFC
    /// 3261 §21.4.4, "the request SHOULD NOT be repeated"; 404 and 604: the AOR does not
    /// exist): the application registers again once the account is fixed. A failed
    /// unregistration is not retried: it ends with [`UaEvent::Unregistered`].
    RegistrationFailed {
        /// The registration.
        id: RegistrationId,
        /// The status.
        status: u16,
    },
    /// The binding was removed after [`UserAgent::unregister`].
    Unregistered {
        /// The registration.
        id: RegistrationId,
    },
    /// A session refresh (RFC 4028) succeeded, ours or the peer's: the session runs for
    /// another `interval` seconds.
    SessionRefreshed {
        /// The leg.
        leg: LegId,
        /// The session interval in seconds.
        interval: u32,
    },
    /// No session refresh succeeded before the session expired (RFC 4028 §10): the UA sends
    /// BYE ([`UaEvent::Ended`] follows).
    SessionExpired {
        /// The leg.
        leg: LegId,
    },
    /// A request got a timeout (`status` 408), a transport error (503) or a 503 from its
    /// target and went, as a new transaction with the same Call-ID and CSeq, to the next
    /// target of its [`TargetList`] (RFC 3263 §4.3, see [`failover`]). Calls and
    /// registrations stay on `next` from now on.
    FailedOver {
        /// The call, for an INVITE.
        leg: Option<LegId>,
        /// The registration, for a REGISTER.
        registration: Option<RegistrationId>,
        /// The target that failed.
        failed: Target,
        /// The target the request went to.
        next: Target,
        /// 408 (timeout), 503 (503 response or transport error).
        status: u16,
    },
    /// A REGISTER of `registration` is due (a refresh or a retry) but its [`TargetList`]
    /// went stale ([`TargetList::expires`]: the TTLs of the DNS records it came from ran
    /// out). The REGISTER waits: locate the registrar again (off the event loop, e.g. the
    /// tokio `Resolver::resolve_list`) and hand the result to
    /// [`UserAgent::relocate_registration`] (an empty list if that failed: the old targets
    /// are used then).
    TargetsExpired {
        /// The registration whose REGISTER waits.
        registration: RegistrationId,
    },
    /// A final response to a request sent with [`UserAgent::request`] or
    /// [`UserAgent::send_request`] (408 synthesised on timeout, 503 on a transport error, is
    /// reported as `status`).
    Response {
        /// The client transaction.
        key: TransactionKey,
        /// The leg, for in-dialog requests.
        leg: Option<LegId>,
        /// The status.
        status: u16,
        /// The response, when one arrived.
        response: Option<Response>,
    },
}

/// Misuse of the [`UserAgent`] API.
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum UaError {
    /// No such leg.
    #[error("no such call leg")]
    NoSuchLeg,
    /// The leg is not in a state that allows this (e.g. answer twice, BYE before a dialog).
    #[error("operation not allowed in this call state")]
    InvalidState,
    /// The transaction layer refused.
    #[error(transparent)]
    Transaction(#[from] crate::transaction::TransactionError),
    /// A URI could not be formed from the configuration.
    #[error("bad local address for a uri")]
    BadUri,
    /// No target to send to: the [`TargetList`] is empty, or each of its targets answered
    /// 503 with a `Retry-After` that has not passed (RFC 3261 §21.5.4).
    #[error("no available target")]
    NoTarget,
}

/// The user-agent core. See the module docs.
#[derive(Debug)]
pub struct UserAgent {
    config: UaConfig,
    txns: Transactions,
    rng: ChaCha8Rng,
    digest: Option<DigestClient<ChaCha8Rng>>,
    legs: HashMap<LegId, Leg>,
    by_dialog: HashMap<DialogId, LegId>,
    by_txn: HashMap<TransactionKey, (LegId, Purpose)>,
    next_leg: u64,
    events: VecDeque<UaEvent>,
    transmits: VecDeque<Transmit>,
    /// Requests delivered to the application, awaiting [`UserAgent::respond`].
    pending_requests: HashMap<TransactionKey, Request>,
    registrations: HashMap<RegistrationId, Registration>,
    /// The last confirmed dialogs that ended (bounded), so that a Replaces naming one is
    /// answered 603 rather than 481 (RFC 3891 §3).
    ended_dialogs: VecDeque<DialogId>,
    /// Targets that answered 503 with Retry-After (RFC 3261 §21.5.4).
    unavailable: failover::Unavailable,
}

/// Bound on [`UserAgent`]'s memory of ended dialogs.
const MAX_ENDED_DIALOGS: usize = 64;

#[derive(Clone, Debug)]
enum Purpose {
    /// The leg's INVITE (UAC) or incoming INVITE (UAS).
    Invite,
    /// A re-INVITE we sent, with its body for a glare retry.
    ReInvite(Option<Body>),
    /// A re-INVITE of ours that got its final response: a 2xx now is a retransmission.
    ReInviteAnswered,
    /// Our BYE.
    Bye,
    /// An application request (in dialog when the leg is known).
    App,
    /// A CANCEL we sent.
    Cancel,
    /// A REGISTER of this registration.
    Register(RegistrationId),
    /// A PRACK we sent (RFC 3262).
    Prack,
    /// A session refresh we sent (RFC 4028): UPDATE or re-INVITE.
    Refresh(Method),
    /// A UAC INVITE the call moved on from before Timer B ([`UserAgent::fail_over`]), sent
    /// to this target.
    Abandoned(Target),
}

#[derive(Debug)]
struct Leg {
    uac: bool,
    state: LegState,
    /// UAC: the INVITE sent (updated on auth retry); UAS: the INVITE received.
    invite: Request,
    invite_key: Option<TransactionKey>,
    local_tag: String,
    peer: Target,
    /// UAC: the targets after `peer` to try when the INVITE fails there (RFC 3263 §4.3).
    alternates: Vec<Target>,
    /// Where the in-dialog requests go instead of `peer`: the dialog's next hop as the
    /// application located it ([`UserAgent::set_dialog_target`]), for the dialog with this
    /// remote tag (an early dialog of one fork, then the one a 2xx confirmed).
    dialog_target: Option<(Option<String>, Target)>,
    dialog: Option<Dialog>,
    /// UAC: the CSeq and bytes of the ACK sent for the last 2xx, re-sent for each
    /// retransmission of that 2xx.
    ack: Option<(u32, Bytes)>,
    /// UAC: the ACK of a 2xx that carries the offer for our offerless (re-)INVITE waits for
    /// [`UserAgent::ack`] with the answer.
    pending_ack: Option<PendingAck>,
    auth_tries: u8,
    cancel_pending: bool,
    /// UAS 2xx retransmission (RFC 3261 §13.3.1.4).
    retransmit_2xx: Option<Retransmit2xx>,
    /// A re-INVITE of ours is in progress (glare detection, §14.1/§14.2).
    reinvite_pending: bool,
    /// A re-INVITE to retry at this time after a 491 (§14.1).
    glare_retry: Option<(Instant, Option<Body>)>,
    /// RFC 3262: our unacknowledged reliable provisional response (UAS) ...
    reliable_1xx: Option<prack::Reliable1xx>,
    /// ... the RSeq of the next one (UAS), or the last one acknowledged (UAC) in `dialog`.
    rseq: u32,
    /// UAC: the early dialogs of other forks than `dialog` (RFC 3261 §12.1.2, §13.2.2.4).
    forks: Vec<EarlyFork>,
    /// UAC: forks whose 2xx came after the call was answered: their remote tag and the ACK
    /// we sent (re-sent for a 2xx retransmission; the BYE is sent once).
    dead_forks: Vec<(String, Bytes)>,
    /// The session timer (RFC 4028), once negotiated.
    session: Option<session_timer::SessionState>,
    /// The peer's Allow lists UPDATE (for refreshes).
    peer_allows_update: bool,
    /// The last session description we sent (re-sent in a re-INVITE refresh).
    local_body: Option<Body>,
    /// 422 retries of our INVITE (RFC 4028 §7.4).
    timer_tries: u8,
    /// UAC: the offer our INVITE goes again with, once, after a 488 or 606
    /// ([`UserAgent::set_fallback_offer`]).
    fallback_offer: Option<Body>,
    /// UAC: [`UserAgent::cancel`] was called: a 401/407, 422, 488 or 606 ends the call
    /// instead of sending the INVITE again.
    cancelled: bool,
    /// UAS: the call that this incoming INVITE's Replaces names (RFC 3891), ended when we
    /// answer with a 2xx.
    replaces: Option<LegId>,
}

/// A 2xx whose ACK waits for the application's answer (RFC 3264 §5).
#[derive(Clone, Copy, Debug)]
struct PendingAck {
    /// The CSeq of the (re-)INVITE.
    seq: u32,
    /// When the UA gives up waiting: ACK without a body, then BYE (64*T1).
    deadline: Instant,
}

/// The Reason of the BYE that ends a call whose offer went unanswered (RFC 3326).
const REASON_NO_ANSWER: &str = "SIP;cause=488;text=\"No answer to the offer\"";

/// An early dialog of a fork that is not the leg's current dialog.
#[derive(Debug)]
struct EarlyFork {
    dialog: Dialog,
    /// The last RSeq acknowledged in this dialog (RFC 3262 §4: RSeq is per dialog).
    rseq: u32,
}

/// Bound on the early dialogs (and late forks) one call keeps, whatever the network sends.
const MAX_FORKS: usize = 16;

impl Leg {
    /// Where the leg's in-dialog requests go ([`UserAgent::set_dialog_target`]).
    fn in_dialog_target(&self) -> Target {
        match &self.dialog_target {
            Some((tag, target)) if tag.as_deref() == self.remote_tag() => *target,
            _ => self.peer,
        }
    }

    fn new(
        uac: bool,
        invite: Request,
        key: TransactionKey,
        local_tag: String,
        peer: Target,
    ) -> Self {
        Self {
            uac,
            state: LegState::Proceeding,
            invite,
            invite_key: Some(key),
            local_tag,
            peer,
            alternates: Vec::new(),
            dialog_target: None,
            dialog: None,
            ack: None,
            pending_ack: None,
            auth_tries: 0,
            cancel_pending: false,
            retransmit_2xx: None,
            reinvite_pending: false,
            glare_retry: None,
            reliable_1xx: None,
            rseq: 0,
            forks: Vec::new(),
            dead_forks: Vec::new(),
            session: None,
            peer_allows_update: false,
            local_body: None,
            timer_tries: 0,
            fallback_offer: None,
            cancelled: false,
            replaces: None,
        }
    }

    fn remote_tag(&self) -> Option<&str> {
        self.dialog.as_ref().map(|d| d.id().remote_tag.as_str())
    }

    /// Takes the leg's dialog and early forks out of the index of dialogs.
    fn unindex_dialogs(&self, by_dialog: &mut HashMap<DialogId, LegId>) {
        for d in self
            .dialog
            .iter()
            .chain(self.forks.iter().map(|f| &f.dialog))
        {
            by_dialog.remove(d.id());
        }
    }

    /// Makes the early dialog with `remote_tag` the current one; false when there is none.
    fn switch_to_fork(&mut self, remote_tag: &str) -> bool {
        if self.remote_tag() == Some(remote_tag) {
            return true;
        }
        let Some(i) = self
            .forks
            .iter()
            .position(|f| f.dialog.id().remote_tag == remote_tag)
        else {
            return false;
        };
        let fork = self.forks.swap_remove(i);
        if let Some(current) = self.dialog.replace(fork.dialog) {
            self.forks.push(EarlyFork {
                dialog: current,
                rseq: self.rseq,
            });
        }
        self.rseq = fork.rseq;
        true
    }

    /// The dialog (current or fork) with this id.
    fn dialog_by_id(&mut self, id: &DialogId) -> Option<&mut Dialog> {
        if self.dialog.as_ref().is_some_and(|d| d.id() == id) {
            return self.dialog.as_mut();
        }
        self.forks
            .iter_mut()
            .map(|f| &mut f.dialog)
            .find(|d| d.id() == id)
    }
}

#[derive(Debug)]
struct Retransmit2xx {
    bytes: Bytes,
    /// The 2xx carries the offer (the INVITE had none): the ACK must carry the answer.
    offer: bool,
    /// The CSeq number of the INVITE (and of the 2xx): only the ACK with the same number
    /// acknowledges it (RFC 3261 §13.2.2.4).
    seq: Option<u32>,
    next: Instant,
    interval: Duration,
    give_up: Instant,
}

#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum LegState {
    /// UAC: INVITE sent, no final. UAS: INVITE received, no final sent.
    Proceeding,
    /// 2xx sent (UAS) awaiting ACK, or call up.
    Up,
    /// BYE sent.
    Terminating,
    /// Done.
    Ended,
}

impl UserAgent {
    /// A user agent with no calls.
    pub fn new(config: UaConfig) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        let digest = config.credentials.as_ref().map(|(u, p)| {
            DigestClient::new(
                u.clone(),
                p.clone(),
                ChaCha8Rng::seed_from_u64(rng.next_u64()),
            )
        });
        Self {
            txns: Transactions::new(config.transactions.clone()),
            config,
            rng,
            digest,
            legs: HashMap::new(),
            by_dialog: HashMap::new(),
            by_txn: HashMap::new(),
            next_leg: 1,
            events: VecDeque::new(),
            transmits: VecDeque::new(),
            pending_requests: HashMap::new(),
            registrations: HashMap::new(),
            ended_dialogs: VecDeque::new(),
            unavailable: failover::Unavailable::default(),
        }
    }

    /// The transaction layer (for inspection).
    pub fn transactions(&self) -> &Transactions {
        &self.txns
    }

    /// Number of legs not yet ended.
    pub fn leg_count(&self) -> usize {
        self.legs.len()
    }

    /// The dialog of a leg, once one exists.
    pub fn dialog(&self, leg: LegId) -> Option<&Dialog> {
        self.legs.get(&leg)?.dialog.as_ref()
    }

    /// Where `leg`'s INVITE went (an outgoing call, the target that took it after any
    /// failover) or came from (an incoming call: its transport and source address), which
    /// its in-dialog requests follow unless [`UserAgent::set_dialog_target`] set another.
    /// `None` for an unknown leg.
    pub fn peer(&self, leg: LegId) -> Option<Target> {
        Some(self.legs.get(&leg)?.peer)
    }

    /// Sends `leg`'s in-dialog requests from now on (BYE, re-INVITE, UPDATE, INFO, REFER,
    /// NOTIFY, session refreshes) to the first of `targets` over the leg's transport: the
    /// dialog's next hop ([`Dialog::next_hop`]: the first route, else the remote target) as
    /// the application located it by RFC 3263 when it is a host name. Without this they go
    /// where the INVITE went or came from (a NAT-safe default for an IP next hop). One
    /// target, no failover along the others: a dialog's requests all reach the one UA (or
    /// proxy) that holds it. The ACK of a 2xx is an in-dialog request too (RFC 3261
    /// §13.2.2.4) and goes there, so a re-INVITE's ACK goes where the re-INVITE went.
    /// Responses, the 2xx retransmissions and CANCEL keep following the INVITE. Returns the
    /// target taken.
    ///
    /// In an early dialog (a ringing call) it serves the PRACKs (RFC 3262) and UPDATEs
    /// (RFC 3311) sent in that dialog; it holds for the leg's current dialog only, so when
    /// another fork's provisional or 2xx makes its dialog current, the requests go where
    /// the INVITE went again until the application sets that dialog's target.
    ///
    /// # Errors
    /// [`UaError::NoSuchLeg`]; [`UaError::NoTarget`] when no target is of the leg's
    /// transport (the Via of the dialog's requests names it).
    pub fn set_dialog_target(&mut self, leg: LegId, targets: &[Target]) -> Result<Target, UaError> {
        let l = self.legs.get_mut(&leg).ok_or(UaError::NoSuchLeg)?;
        let target = *targets
            .iter()
            .find(|t| t.transport == l.peer.transport)
            .ok_or(UaError::NoTarget)?;
        l.dialog_target = Some((l.remote_tag().map(str::to_owned), target));
        Ok(target)
    }

    /// The early dialogs of an outgoing call that has no final response yet, one per To
    /// tag when a proxy forked the INVITE (RFC 3261 §12.1.2); the current one (see
    /// [`UserAgent::use_early_dialog`]) first. Empty once the call is answered or over.
    pub fn early_dialogs(&self, leg: LegId) -> Vec<&Dialog> {
        match self.legs.get(&leg) {
            Some(l) if l.uac && l.state == LegState::Proceeding => l
                .dialog
                .iter()
                .chain(l.forks.iter().map(|f| &f.dialog))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Makes the early dialog whose remote tag is `remote_tag` current, so that
    /// [`UserAgent::request`] (UPDATE, INFO, PRACK) goes into it, with its own route set
    /// and remote target. A provisional response from a fork makes its dialog current too.
    ///
    /// # Errors
    /// [`UaError::NoSuchLeg`], [`UaError::InvalidState`] when the call is not ringing or
    /// has no early dialog with that tag.
    pub fn use_early_dialog(&mut self, leg: LegId, remote_tag: &str) -> Result<(), UaError> {
        let l = self.legs.get_mut(&leg).ok_or(UaError::NoSuchLeg)?;
        if !l.uac || l.state != LegState::Proceeding || !l.switch_to_fork(remote_tag) {
            return Err(UaError::InvalidState);
        }
        Ok(())
    }

    /// Our Contact URI: `sip:user@host:port` on UDP, `;transport=tcp` on TCP, a `sips:` URI
    /// on TLS (RFC 3261 §8.1.1.8: a request to a SIPS URI "MUST" carry a SIPS Contact; RFC
    /// 5630 deprecates `transport=tls`), and `;transport=ws` on WebSocket, with `sips:` for
    /// secure WebSocket (RFC 7118 §5).
    ///
    /// # Errors
    /// [`UaError::BadUri`] when the configured user cannot form a URI.
    pub fn contact_uri(&self) -> Result<Uri, UaError> {
        self.contact_uri_for(self.config.transport)
    }

    /// [`UserAgent::contact_uri`] for a message sent over `transport` rather than the
    /// configured one (RFC 3261 §8.1.1.8: the Contact must be reachable over the transport
    /// the request goes out on). The UA uses it for every request, ACK and 2xx it sends over
    /// a [`Target`] whose transport differs from [`UaConfig::transport`].
    ///
    /// # Errors
    /// [`UaError::BadUri`] when the configured user cannot form a URI.
    pub fn contact_uri_for(&self, transport: Transport) -> Result<Uri, UaError> {
        let addr = self.config.addr_for(transport);
        let host = host_of(addr);
        let port = addr.port();
        let user = &self.config.user;
        let s = match transport {
            Transport::Udp => format!("sip:{user}@{host}:{port}"),
            Transport::Tcp => format!("sip:{user}@{host}:{port};transport=tcp"),
            Transport::Tls => format!("sips:{user}@{host}:{port}"),
            Transport::Ws => format!("sip:{user}@{host}:{port};transport=ws"),
            Transport::Wss => format!("sips:{user}@{host}:{port};transport=ws"),
        };
        s.parse().map_err(|_| UaError::BadUri)
    }

    /// Starts an outgoing call: INVITE `request_uri` from `from` to `to`, sent to the first
    /// available of `targets` (a [`Target`] or a [`TargetList`] in RFC 3263 order), failing
    /// over to the next after a timeout, a transport error or a 503 (see [`failover`]).
    ///
    /// # Errors
    /// [`UaError::BadUri`], [`UaError::Transaction`], [`UaError::NoTarget`].
    pub fn invite(
        &mut self,
        now: Instant,
        from: Uri,
        to: Uri,
        request_uri: Uri,
        targets: impl Into<TargetList>,
        body: Option<Body>,
    ) -> Result<LegId, UaError> {
        self.invite_with(now, from, to, request_uri, targets, body, &[])
    }

    /// [`UserAgent::invite`] with extra header lines `(name, value)`, e.g. the `Replaces`
    /// (and `Require: replaces`) of a transferee's INVITE (RFC 3891, see [`refer`]) or a
    /// `Referred-By`.
    ///
    /// # Errors
    /// [`UaError::BadUri`] (also for a header that does not form a valid line),
    /// [`UaError::Transaction`].
    #[expect(
        clippy::too_many_arguments,
        reason = "invite's arguments plus the extra headers"
    )]
    pub fn invite_with(
        &mut self,
        now: Instant,
        from: Uri,
        to: Uri,
        request_uri: Uri,
        targets: impl Into<TargetList>,
        body: Option<Body>,
        extra: &[(&str, &str)],
    ) -> Result<LegId, UaError> {
        let (target, alternates) = self
            .pick_target(now, targets.into().as_slice())
            .ok_or(UaError::NoTarget)?;
        let local_tag = self.token(8);
        let call_id = format!("{}@{}", self.token(16), host_of(self.config.local_addr));
        let mut b = Request::builder(Method::Invite, request_uri)
            .header(self.via_for(target.transport)?)
            .header(MaxForwards(70))
            .header(From::new(from).with_tag(&local_tag))
            .header(To::new(to))
            .header(CallId::new(&call_id).map_err(|_| UaError::BadUri)?)
            .header(CSeq::new(1, Method::Invite))
            .header(Contact::new(self.contact_uri_for(target.transport)?))
            .header(allow());
        let cfg = self.config.session_timer;
        let supported = if cfg.is_some() {
            "100rel, replaces, timer"
        } else {
            "100rel, replaces"
        };
        b = b
            .raw_header("Supported", supported)
            .map_err(|_| UaError::BadUri)?;
        let refresher = cfg.and_then(|c| c.refresher);
        for (name, value) in self.session_request_headers(None, refresher) {
            b = b.raw_header(name, &value).map_err(|_| UaError::BadUri)?;
        }
        if let Some(ua) = self.user_agent_header() {
            b = b.header(ua);
        }
        for (name, value) in extra {
            b = b.raw_header(name, value).map_err(|_| UaError::BadUri)?;
        }
        let local_body = body.clone();
        let request = with_body(b, body).build();
        let key = self.txns.send_request(now, request.clone(), target)?;
        let mut new = Leg::new(true, request, key.clone(), local_tag, target);
        new.alternates = alternates;
        let leg = self.new_leg(new);
        self.remember_body(leg, local_body.as_ref());
        self.by_txn.insert(key, (leg, Purpose::Invite));
        self.flush();
        Ok(leg)
    }

    /// Sets the offer that our INVITE on `leg` goes again with, once, when it is refused with
    /// 488 (Not Acceptable Here) or 606 (Not Acceptable): e.g. RTP/SAVP after a best-effort
    /// RTP/AVP offer with `a=crypto` that the callee refuses. The retry is a new transaction
    /// of the same call attempt, as after a 401 (RFC 3261 §8.1.3.5: the same Call-ID, From
    /// and To, CSeq + 1); [`UaEvent::OfferRetried`] reports it, and a refusal of the retry
    /// fails the leg.
    ///
    /// # Errors
    /// [`UaError::NoSuchLeg`]; [`UaError::InvalidState`] unless the leg is our INVITE
    /// without a final response yet.
    pub fn set_fallback_offer(&mut self, leg: LegId, body: Body) -> Result<(), UaError> {
        let l = self.legs.get_mut(&leg).ok_or(UaError::NoSuchLeg)?;
        if !l.uac || l.state != LegState::Proceeding {
            return Err(UaError::InvalidState);
        }
        l.fallback_offer = Some(body);
        Ok(())
    }

    /// Sends a provisional response (180, 183) on an incoming call; it carries our To tag,
    /// so it creates an early dialog at the caller.
    ///
    /// # Errors
    /// [`UaError::NoSuchLeg`], [`UaError::InvalidState`].
    pub fn ringing(
        &mut self,
        now: Instant,
        leg: LegId,
        status: u16,
        body: Option<Body>,
    ) -> Result<(), UaError> {
        if !(101..200).contains(&status) {
            return Err(UaError::InvalidState);
        }
        self.uas_respond(now, leg, status, body)
    }

    /// Answers an incoming call with 200 OK (with our Contact and `body`), and retransmits
    /// the 2xx until the ACK arrives (RFC 3261 §13.3.1.4).
    ///
    /// # Errors
    /// [`UaError::NoSuchLeg`], [`UaError::InvalidState`].
    pub fn answer(&mut self, now: Instant, leg: LegId, body: Option<Body>) -> Result<(), UaError> {
        self.uas_respond(now, leg, 200, body)
    }

    /// Rejects an incoming call with a final non-2xx `status`.
    ///
    /// # Errors
    /// [`UaError::NoSuchLeg`], [`UaError::InvalidState`].
    pub fn reject(&mut self, now: Instant, leg: LegId, status: u16) -> Result<(), UaError> {
        if status < 300 {
            return Err(UaError::InvalidState);
        }
        self.uas_respond(now, leg, status, None)
    }

    /// Answers an incoming call with any `status` (1xx, 2xx or a final rejection) and extra
    /// header lines `(name, value)`: e.g. `Proxy-Authenticate` on a 407, `Require` and
    /// `Supported`, `Session-Expires`, or `Contact` (which then replaces our own Contact),
    /// `Retry-After` on a 486. A 2xx is retransmitted until the ACK as with
    /// [`UserAgent::answer`].
    ///
    /// # Errors
    /// [`UaError::NoSuchLeg`], [`UaError::InvalidState`] (wrong state, a status of 100 or
    /// below, or a header that does not form a valid line).
    pub fn respond_call(
        &mut self,
        now: Instant,
        leg: LegId,
        status: u16,
        body: Option<Body>,
        extra: &[(&str, &str)],
    ) -> Result<(), UaError> {
        if !(101..700).contains(&status) {
            return Err(UaError::InvalidState);
        }
        self.uas_respond_full(now, leg, status, body, false, extra)
    }

    /// Cancels an outgoing call that has no final response yet (RFC 3261 §9.1). When no
    /// provisional has arrived, the CANCEL waits for one ("the client MUST wait for the
    /// arrival of a provisional response").
    ///
    /// # Errors
    /// [`UaError::NoSuchLeg`], [`UaError::InvalidState`] when the call is already answered.
    pub fn cancel(&mut self, now: Instant, leg: LegId) -> Result<(), UaError> {
        let l = self.legs.get_mut(&leg).ok_or(UaError::NoSuchLeg)?;
        if !l.uac || l.state != LegState::Proceeding {
            return Err(UaError::InvalidState);
        }
        // A cancelled call does not send its INVITE again (after a 401/407, 422, 488, 606).
        l.cancelled = true;
        let got_provisional = l
            .invite_key
            .as_ref()
            .and_then(|k| self.txns.state(k))
            .is_some_and(|s| s == crate::transaction::State::Proceeding);
        if got_provisional {
            self.send_cancel(now, leg);
        } else {
            l.cancel_pending = true;
        }
        self.flush();
        Ok(())
    }

    /// Hangs up an established call with BYE (RFC 3261 §15.1.1). While the ACK of an
    /// offer-carrying 2xx is owed ([`UserAgent::ack_pending`]), it is sent first, without a
    /// body.
    ///
    /// # Errors
    /// [`UaError::NoSuchLeg`], [`UaError::InvalidState`] without a confirmed dialog.
    pub fn bye(&mut self, now: Instant, leg: LegId) -> Result<(), UaError> {
        self.bye_with(now, leg, &[])
    }

    /// [`UserAgent::bye`] with extra header lines `(name, value)`, e.g. a `Reason` (RFC
    /// 3326) such as `SIP;cause=488;text="Not Acceptable Here"` after an unusable offer or
    /// answer.
    ///
    /// # Errors
    /// As [`UserAgent::bye`]; [`UaError::InvalidState`] for a header that does not form a
    /// valid line.
    pub fn bye_with(
        &mut self,
        now: Instant,
        leg: LegId,
        extra: &[(&str, &str)],
    ) -> Result<(), UaError> {
        let pending = self.legs.get(&leg).ok_or(UaError::NoSuchLeg)?.pending_ack;
        if let Some(p) = pending {
            self.send_ack(leg, Some(p.seq), None);
        }
        let via = self.leg_via(leg)?;
        let l = self.legs.get_mut(&leg).ok_or(UaError::NoSuchLeg)?;
        let Some(d) = l
            .dialog
            .as_mut()
            .filter(|d| d.state() == DialogState::Confirmed)
        else {
            return Err(UaError::InvalidState);
        };
        let mut b = d.request(Method::Bye, via).to_builder();
        for (name, value) in extra {
            b = b
                .raw_header(name, value)
                .map_err(|_| UaError::InvalidState)?;
        }
        let bye = b.build();
        d.terminate();
        l.state = LegState::Terminating;
        l.retransmit_2xx = None;
        let target = l.in_dialog_target();
        let key = self.txns.send_request(now, bye, target)?;
        self.by_txn.insert(key, (leg, Purpose::Bye));
        self.flush();
        Ok(())
    }

    /// Sends the ACK of a 2xx that carries the offer for our offerless INVITE or re-INVITE,
    /// with our answer as `body` (RFC 3264 §5; see the module docs). The ACK is re-sent for
    /// each 2xx retransmission, and `body` is our session description from then on (the
    /// offer of a session-refresh re-INVITE, RFC 4028 §7.4).
    ///
    /// # Errors
    /// [`UaError::NoSuchLeg`], [`UaError::InvalidState`] when no 2xx waits for its ACK.
    pub fn ack(&mut self, leg: LegId, body: Option<Body>) -> Result<(), UaError> {
        let l = self.legs.get(&leg).ok_or(UaError::NoSuchLeg)?;
        let Some(p) = l.pending_ack else {
            return Err(UaError::InvalidState);
        };
        self.send_ack(leg, Some(p.seq), body);
        self.flush();
        Ok(())
    }

    /// Whether the 2xx of our offerless INVITE or re-INVITE carried an offer whose answer
    /// [`UserAgent::ack`] still owes (after [`UaEvent::Answered`], or the
    /// [`UaEvent::Response`] 2xx of a re-INVITE).
    pub fn ack_pending(&self, leg: LegId) -> bool {
        self.legs.get(&leg).is_some_and(|l| l.pending_ack.is_some())
    }

    /// Sends an in-dialog request (`UPDATE`, `INFO`, `REFER`, `NOTIFY`, `PRACK`, `INVITE` for
    /// a re-INVITE, `OPTIONS`) with optional body and extra headers as (name, value).
    ///
    /// # Errors
    /// [`UaError::NoSuchLeg`], [`UaError::InvalidState`] without a dialog or with a
    /// re-INVITE already pending (RFC 3261 §14.1: "MUST NOT initiate a new INVITE
    /// transaction within a dialog while another INVITE transaction is in progress").
    pub fn request(
        &mut self,
        now: Instant,
        leg: LegId,
        method: Method,
        body: Option<Body>,
        extra: &[(&str, &str)],
    ) -> Result<TransactionKey, UaError> {
        let via = self.leg_via(leg)?;
        let session = if matches!(method, Method::Invite | Method::Update)
            && !has_header(extra, "session-expires", "x")
        {
            self.session_headers_in_dialog(leg)
        } else {
            Vec::new()
        };
        if method == Method::Invite {
            self.remember_body(leg, body.as_ref());
        }
        let l = self.legs.get_mut(&leg).ok_or(UaError::NoSuchLeg)?;
        let is_reinvite = method == Method::Invite;
        if is_reinvite && (l.reinvite_pending || l.state != LegState::Up || l.pending_ack.is_some())
        {
            return Err(UaError::InvalidState);
        }
        let Some(d) = l.dialog.as_mut() else {
            return Err(UaError::InvalidState);
        };
        let base = d.request(method.clone(), via);
        let mut b = base.to_builder();
        for (name, value) in extra
            .iter()
            .copied()
            .chain(session.iter().map(|(n, v)| (*n, v.as_str())))
        {
            b = b
                .raw_header(name, value)
                .map_err(|_| UaError::InvalidState)?;
        }
        let purpose_body = body.clone();
        let request = with_body(b, body).build();
        let target = l.in_dialog_target();
        if is_reinvite {
            l.reinvite_pending = true;
        }
        let key = self.txns.send_request(now, request, target)?;
        let purpose = if is_reinvite {
            Purpose::ReInvite(purpose_body)
        } else {
            Purpose::App
        };
        self.by_txn.insert(key.clone(), (leg, purpose));
        self.flush();
        Ok(key)
    }

    /// Sends an out-of-dialog request built by the caller (OPTIONS, MESSAGE, ...); it must
    /// carry a top Via from [`UserAgent::via`]. Its final response comes as
    /// [`UaEvent::Response`].
    ///
    /// # Errors
    /// [`UaError::Transaction`].
    pub fn send_request(
        &mut self,
        now: Instant,
        request: Request,
        target: Target,
    ) -> Result<TransactionKey, UaError> {
        let key = self.txns.send_request(now, request, target)?;
        self.by_txn.insert(key.clone(), (LegId(0), Purpose::App));
        self.flush();
        Ok(key)
    }

    /// Answers a request delivered as [`UaEvent::Request`] (a 2xx to a re-INVITE carries
    /// our Contact; its ACK comes as [`UaEvent::Confirmed`]).
    ///
    /// # Errors
    /// [`UaError::Transaction`] (unknown key, second final response).
    pub fn respond(
        &mut self,
        now: Instant,
        key: &TransactionKey,
        status: u16,
        body: Option<Body>,
    ) -> Result<(), UaError> {
        self.respond_with(now, key, status, body, &[])
    }

    /// [`UserAgent::respond`] with extra header lines `(name, value)`: `WWW-Authenticate`
    /// on a 401, `Contact` with `expires` on a REGISTER's 200, `Require`, `Supported`,
    /// `Session-Expires`, ... A `Contact` in `extra` replaces the Contact the UA adds to a
    /// re-INVITE's 2xx.
    ///
    /// # Errors
    /// [`UaError::Transaction`] (unknown key, second final response), [`UaError::InvalidState`]
    /// when a header does not form a valid line.
    pub fn respond_with(
        &mut self,
        now: Instant,
        key: &TransactionKey,
        status: u16,
        body: Option<Body>,
        extra: &[(&str, &str)],
    ) -> Result<(), UaError> {
        if !self.pending_requests.contains_key(key) {
            return Err(UaError::Transaction(
                crate::transaction::TransactionError::NoSuchTransaction,
            ));
        }
        let leg = self.by_txn.get(key).map(|(l, _)| *l);
        let tag = match leg.and_then(|l| self.legs.get(&l)) {
            Some(l) => l.local_tag.clone(),
            None => self.token(8),
        };
        let contact = match leg {
            Some(l) => self.leg_contact(l)?,
            None => self.contact_uri_for(self.config.transport)?,
        };
        let Some(request) = self.pending_requests.get(key) else {
            return Err(UaError::InvalidState);
        };
        let mut b = Response::builder(request, StatusCode(status)).to_tag(&tag);
        let method = request.method().clone();
        if (200..300).contains(&status)
            && method == Method::Invite
            && !has_header(extra, "contact", "m")
        {
            b = b.header(Contact::new(contact));
        }
        if (200..300).contains(&status)
            && leg.is_some()
            && matches!(method, Method::Invite | Method::Update)
            && !has_header(extra, "session-expires", "x")
        {
            let request = request.clone();
            for (name, value) in self.session_response_headers(&request) {
                b = b
                    .raw_header(name, &value)
                    .map_err(|_| UaError::InvalidState)?;
            }
        }
        let b = with_extra_resp(b, extra)?;
        if let (Some(leg), Method::Invite, 200..=299) = (leg, &method, status) {
            self.remember_body(leg, body.as_ref());
        }
        let response = with_body_resp(b, body).build();
        self.send_response(now, key, response)
    }

    /// Sends a response the caller built (for instance with
    /// [`RegistrarService::handle`](crate::registration::RegistrarService::handle) for a
    /// REGISTER, or [`Response::builder`] on the request of [`UaEvent::Request`]) on the
    /// server transaction `key`. A 2xx to a re-INVITE is retransmitted until its ACK like
    /// with [`UserAgent::respond`].
    ///
    /// # Errors
    /// [`UaError::Transaction`] (unknown key, second final response).
    pub fn send_response(
        &mut self,
        now: Instant,
        key: &TransactionKey,
        response: Response,
    ) -> Result<(), UaError> {
        let Some(request) = self.pending_requests.get(key) else {
            return Err(UaError::Transaction(
                crate::transaction::TransactionError::NoSuchTransaction,
            ));
        };
        let is_invite = *request.method() == Method::Invite;
        let offerless = is_invite && no_session(request.headers());
        let refresh = matches!(request.method(), Method::Invite | Method::Update);
        let status = response.status().as_u16();
        let leg = self.by_txn.get(key).map(|(l, _)| *l);
        self.txns.send_response(now, key, response.clone())?;
        if status >= 200 {
            self.pending_requests.remove(key);
        }
        if let Some(leg) = leg
            && (200..300).contains(&status)
            && is_invite
            && let Some(l) = self.legs.get_mut(&leg)
        {
            // The UAS core retransmits a re-INVITE's 2xx like the first one (§13.3.1.4).
            l.retransmit_2xx = Some(Retransmit2xx::new(now, &self.config, offerless, &response));
        }
        if let Some(leg) = leg
            && refresh
            && (200..300).contains(&status)
        {
            self.session_refreshed(now, leg, &response, false);
        }
        self.flush();
        Ok(())
    }

    /// Sets the address we listen on for `transport` when it is not the configured
    /// `local_addr` (see [`UaConfig::listen_addrs`]), for instance once a TLS listener is
    /// bound on its own port; later Vias and Contacts over `transport` name it.
    pub fn set_listen_addr(&mut self, transport: Transport, addr: SocketAddr) {
        self.config.listen_addrs.retain(|(t, _)| *t != transport);
        self.config.listen_addrs.push((transport, addr));
    }

    /// A Via for a new request from this UA: our sent-by, a fresh branch and `rport`
    /// (RFC 3581 §3).
    ///
    /// # Errors
    /// [`UaError::BadUri`] if the local address cannot form a sent-by (not expected for a
    /// socket address).
    pub fn via(&mut self) -> Result<Via, UaError> {
        self.via_for(self.config.transport)
    }

    /// [`UserAgent::via`] for a request sent over `transport` (RFC 3261 §18.1.1: the Via
    /// names the transport the request is actually sent over), for instance a request the
    /// caller builds for [`UserAgent::send_request`] to a [`Target`] over another transport
    /// than [`UaConfig::transport`].
    ///
    /// # Errors
    /// As [`UserAgent::via`].
    pub fn via_for(&mut self, transport: Transport) -> Result<Via, UaError> {
        let branch = format!("z9hG4bK{}", self.token(16));
        let addr = self.config.addr_for(transport);
        let text = format!(
            "SIP/2.0/{} {}:{};branch={branch};rport",
            transport.as_via_str(),
            host_of(addr),
            addr.port()
        );
        crate::header::Header::parse_str(&text).map_err(|_| UaError::BadUri)
    }

    /// A datagram (or framed stream message) arrived from `from`; returns whether it parsed.
    pub fn handle_datagram(&mut self, now: Instant, from: Target, bytes: Bytes) -> bool {
        match Message::parse(bytes) {
            Ok(m) => {
                self.handle_message(now, from, m);
                true
            }
            Err(_) => false,
        }
    }

    /// A parsed message arrived from `from`.
    pub fn handle_message(&mut self, now: Instant, from: Target, message: Message) {
        self.txns.handle_message(now, from, message);
        self.process(now);
    }

    /// The transport could not deliver to `peer` (see [`Transactions::handle_peer_error`]):
    /// the transactions towards it end with a transport error, which the UA reports like a
    /// timeout (a failed call, a failed request).
    pub fn handle_transport_error(&mut self, now: Instant, peer: Target) {
        self.txns.handle_peer_error(now, peer);
        self.process(now);
        self.flush();
    }

    /// Fires due timers (transactions, 2xx retransmission, glare retry).
    pub fn handle_timeout(&mut self, now: Instant) {
        self.txns.handle_timeout(now);
        self.process(now);
        let legs: Vec<LegId> = self.legs.keys().copied().collect();
        for id in legs {
            self.leg_timers(now, id);
            self.prack_timers(now, id);
            self.session_timers(now, id);
        }
        self.registration_timers(now);
        self.flush();
    }

    /// The next message to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.flush();
        self.transmits.pop_front()
    }

    /// The next event for the application.
    pub fn poll_event(&mut self) -> Option<UaEvent> {
        self.events.pop_front()
    }

    /// When to call [`UserAgent::handle_timeout`] next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let legs = self.legs.values().flat_map(|l| {
            [
                l.retransmit_2xx.as_ref().map(|r| r.next.min(r.give_up)),
                l.glare_retry.as_ref().map(|g| g.0),
                l.pending_ack.as_ref().map(|p| p.deadline),
                l.reliable_1xx.as_ref().map(prack::Reliable1xx::deadline),
                l.session
                    .as_ref()
                    .filter(|_| l.state == LegState::Up)
                    .map(session_timer::SessionState::deadline),
            ]
        });
        legs.chain([self.txns.poll_timeout(), self.registration_deadline()])
            .flatten()
            .min()
    }
}

impl UserAgent {
    fn process(&mut self, now: Instant) {
        while let Some(event) = self.txns.poll_event() {
            match event {
                TransactionEvent::Request {
                    key,
                    request,
                    source,
                } => {
                    self.on_request(now, key, request, source);
                }
                TransactionEvent::Cancel {
                    key,
                    request,
                    invite,
                    ..
                } => {
                    self.on_cancel(now, &key, &request, invite);
                }
                TransactionEvent::Ack { request, .. } => self.on_ack(now, request),
                TransactionEvent::Response { key, response } => {
                    self.on_response(now, key, response);
                }
                TransactionEvent::StrayResponse { response, .. } => self.on_stray(&response),
                TransactionEvent::Terminated { key, reason } => {
                    self.on_terminated(now, &key, reason);
                }
            }
        }
        self.flush();
    }

    fn on_request(&mut self, now: Instant, key: TransactionKey, request: Request, source: Target) {
        if *request.method() != Method::Invite && request.headers().contains(HeaderName::Replaces) {
            // RFC 3891 §3: "if a Replaces header field is present in a request other than
            // INVITE, the UAS MUST reject the request with a 400 Bad Request response".
            self.reply(now, &key, &request, 400);
            return;
        }
        let to_tag = match request.header::<To>() {
            Some(Ok(to)) => to.tag().map(str::to_owned),
            _ => None,
        };
        let Some(to_tag) = to_tag else {
            match request.method() {
                Method::Invite => {
                    if let Some(min_se) = self.session_too_small(&request) {
                        // RFC 4028 §8.1: "MUST be rejected with a 422 ... MUST contain a
                        // Min-SE header field".
                        let min = min_se.to_string();
                        self.reply_with(now, &key, &request, 422, &[("Min-SE", &min)]);
                        return;
                    }
                    let replaces = match self.check_replaces(&request) {
                        Ok(r) => r,
                        Err(e) => {
                            self.reply(now, &key, &request, e.status_code());
                            return;
                        }
                    };
                    let local_tag = self.token(8);
                    let mut l = Leg::new(false, request.clone(), key.clone(), local_tag, source);
                    l.peer_allows_update = session_timer::allows_update(request.header());
                    l.replaces = replaces;
                    let leg = self.new_leg(l);
                    self.by_txn.insert(key, (leg, Purpose::Invite));
                    self.events.push_back(UaEvent::Incoming { leg, request });
                }
                Method::Options if self.config.answer_options => {
                    let tag = self.token(8);
                    let response = Response::builder(&request, StatusCode::OK)
                        .to_tag(&tag)
                        .header(allow())
                        .build();
                    let _ = self.txns.send_response(now, &key, response);
                }
                _ => {
                    self.pending_requests.insert(key.clone(), request.clone());
                    self.events.push_back(UaEvent::Request {
                        key,
                        leg: None,
                        request,
                    });
                }
            }
            return;
        };
        let id = dialog_id_uas_view(&request, &to_tag);
        let Some((id, leg_id)) = id.and_then(|id| self.by_dialog.get(&id).map(|l| (id, *l))) else {
            // RFC 3261 §12.2.2: "If the UAS wishes to reject the request because it does not
            // wish to recreate the dialog, it MUST respond to the request with a 481".
            self.reply(now, &key, &request, 481);
            return;
        };
        let Some(leg) = self.legs.get_mut(&leg_id) else {
            return;
        };
        if *request.method() == Method::Bye && leg.state == LegState::Terminating {
            // Our BYE and the peer's crossed: both succeed (the call ends with our BYE's
            // response).
            self.reply(now, &key, &request, 200);
            return;
        }
        let Some(dialog) = leg.dialog_by_id(&id) else {
            return;
        };
        if let Err(e) = dialog.handle_request(&request) {
            let status = e.status_code();
            self.reply(now, &key, &request, status);
            return;
        }
        if *request.method() == Method::Bye && leg.remote_tag() != Some(id.remote_tag.as_str()) {
            // A BYE on the early dialog of a fork that is not current ends only that fork.
            leg.forks.retain(|f| f.dialog.id() != &id);
            self.by_dialog.remove(&id);
            self.reply(now, &key, &request, 200);
            return;
        }
        match request.method() {
            Method::Bye => {
                leg.state = LegState::Ended;
                leg.retransmit_2xx = None;
                self.reply(now, &key, &request, 200);
                self.events.push_back(UaEvent::Ended {
                    leg: leg_id,
                    by_peer: true,
                });
                self.end_leg(leg_id);
            }
            // RFC 3261 §14.2: "A UAS that receives a second INVITE before it sends the final
            // response to a first INVITE with a lower CSeq sequence number on the same dialog
            // MUST return a 500"; one that receives an INVITE while its own INVITE is in
            // progress "MUST return a 491 (Request Pending)".
            Method::Invite if leg.reinvite_pending => self.reply(now, &key, &request, 491),
            Method::Prack => self.on_prack(now, leg_id, &key, &request),
            Method::Invite | Method::Update if self.session_too_small(&request).is_some() => {
                let min = self.session_too_small(&request).unwrap_or(90).to_string();
                self.reply_with(now, &key, &request, 422, &[("Min-SE", &min)]);
            }
            Method::Update
                if self.config.session_timer.is_some() && no_session(request.headers()) =>
            {
                // A refresh without a session description: answer it ourselves.
                self.by_txn.insert(key.clone(), (leg_id, Purpose::App));
                self.pending_requests.insert(key.clone(), request);
                let _ = self.respond(now, &key, 200, None);
            }
            _ => {
                self.by_txn.insert(key.clone(), (leg_id, Purpose::App));
                self.pending_requests.insert(key.clone(), request.clone());
                self.events.push_back(UaEvent::Request {
                    key,
                    leg: Some(leg_id),
                    request,
                });
            }
        }
    }

    fn on_cancel(
        &mut self,
        now: Instant,
        key: &TransactionKey,
        request: &Request,
        invite: Option<TransactionKey>,
    ) {
        let leg = invite
            .as_ref()
            .and_then(|k| self.by_txn.get(k))
            .map(|(l, _)| *l);
        let pending = leg
            .and_then(|l| self.legs.get(&l))
            .is_some_and(|l| l.state == LegState::Proceeding);
        // RFC 3261 §9.2: "If the UAS did not find a matching transaction for the CANCEL
        // according to the procedure above, it SHOULD respond to the CANCEL with a 481".
        let status = if invite.is_some() { 200 } else { 481 };
        self.reply(now, key, request, status);
        if let (Some(leg), true) = (leg, pending) {
            // "the UAS core ... SHOULD immediately respond to the INVITE with a 487". The 487
            // keeps the INVITE's Vias (peers README finding 2).
            let _ = self.uas_respond(now, leg, 487, None);
            self.events.push_back(UaEvent::Cancelled { leg });
        }
    }

    fn on_ack(&mut self, now: Instant, request: Request) {
        let Some(Ok(to)) = request.header::<To>() else {
            return;
        };
        let Some(tag) = to.tag() else { return };
        let Some(id) = dialog_id_uas_view(&request, tag) else {
            return;
        };
        let Some(&leg_id) = self.by_dialog.get(&id) else {
            return;
        };
        let Some(leg) = self.legs.get_mut(&leg_id) else {
            return;
        };
        // A late ACK of an earlier 2xx (a retransmission of it ACKed again after our 2xx to
        // the next re-INVITE went) does not acknowledge this one: its answer is to the
        // earlier offer, and this 2xx still waits for its own ACK.
        let seq = cseq_of(request.headers());
        if let Some(r) = leg.retransmit_2xx.take_if(|r| r.seq == seq) {
            if let Some(d) = leg.dialog.as_mut() {
                d.confirm();
            }
            let unanswered = r.offer && no_session(request.headers());
            self.events.push_back(UaEvent::Confirmed {
                leg: leg_id,
                ack: request,
            });
            if unanswered {
                // RFC 3264 §5: the ACK of a 2xx carrying the offer carries the answer;
                // without one there is no session to run.
                let _ = self.bye_with(now, leg_id, &[("Reason", REASON_NO_ANSWER)]);
            }
        }
    }

    fn on_response(&mut self, now: Instant, key: TransactionKey, response: Response) {
        let Some((leg_id, purpose)) = self.by_txn.get(&key).cloned() else {
            return;
        };
        let status = response.status().as_u16();
        match purpose {
            Purpose::Invite => self.on_invite_response(now, leg_id, &key, response),
            Purpose::Abandoned(server) => {
                self.on_abandoned_response(now, leg_id, server, &response);
            }
            Purpose::ReInviteAnswered => {
                if (200..300).contains(&status) {
                    self.reack(leg_id, &response);
                }
            }
            Purpose::ReInvite(body) => {
                if status < 200 {
                    return;
                }
                self.by_txn
                    .insert(key.clone(), (leg_id, Purpose::ReInviteAnswered));
                if let Some(l) = self.legs.get_mut(&leg_id) {
                    l.reinvite_pending = false;
                    if let Some(d) = l.dialog.as_mut() {
                        d.handle_response(&Method::Invite, &response);
                    }
                    if (200..300).contains(&status) {
                        let offerless = body_holds_no_session(body.as_ref());
                        self.ack_or_wait(now, leg_id, offerless, &response);
                        self.session_refreshed(now, leg_id, &response, true);
                    } else if status == 491 {
                        let at = now + self.glare_delay(leg_id);
                        if let Some(l) = self.legs.get_mut(&leg_id) {
                            l.glare_retry = Some((at, body));
                        }
                    }
                }
                self.events.push_back(UaEvent::Response {
                    key,
                    leg: Some(leg_id),
                    status,
                    response: Some(response),
                });
            }
            Purpose::Bye => {
                if status >= 200 {
                    self.events.push_back(UaEvent::Ended {
                        leg: leg_id,
                        by_peer: false,
                    });
                    self.end_leg(leg_id);
                }
            }
            Purpose::Cancel | Purpose::Prack => {}
            Purpose::Refresh(method) => {
                if status >= 200 {
                    if method == Method::Invite {
                        // A 2xx retransmission now only gets the same ACK again.
                        self.by_txn
                            .insert(key.clone(), (leg_id, Purpose::ReInviteAnswered));
                    }
                    self.on_refresh_response(now, leg_id, &method, Some(&response));
                }
            }
            Purpose::Register(id) => self.on_register_response(now, id, &response),
            Purpose::App => {
                if status < 200 {
                    return;
                }
                if let Some(d) = self.legs.get_mut(&leg_id).and_then(|l| l.dialog.as_mut())
                    && let Some(Ok(cseq)) = response.header::<CSeq>()
                {
                    d.handle_response(cseq.method(), &response);
                    if *cseq.method() == Method::Update && (200..300).contains(&status) {
                        self.session_refreshed(now, leg_id, &response, true);
                    }
                }
                let leg = self.legs.contains_key(&leg_id).then_some(leg_id);
                self.events.push_back(UaEvent::Response {
                    key,
                    leg,
                    status,
                    response: Some(response),
                });
            }
        }
    }

    fn on_invite_response(
        &mut self,
        now: Instant,
        leg_id: LegId,
        key: &TransactionKey,
        response: Response,
    ) {
        let status = response.status().as_u16();
        let Some(leg) = self.legs.get_mut(&leg_id) else {
            return;
        };
        let to_tag = match response.header::<To>() {
            Some(Ok(to)) => to.tag().map(str::to_owned),
            _ => None,
        };
        if status < 200 {
            if leg.state != LegState::Proceeding {
                return;
            }
            if let Some(tag) = to_tag.as_deref()
                && status > 100
                && !leg.switch_to_fork(tag)
                && leg.forks.len() < MAX_FORKS
                && let Ok(d) = Dialog::new_uac(&leg.invite, &response)
            {
                // A new early dialog (RFC 3261 §12.1.2). With forking there is one per To
                // tag; the one of the latest provisional is current (PRACK and
                // `request` use it) until a 2xx picks the winner.
                self.by_dialog.insert(d.id().clone(), leg_id);
                if let Some(previous) = leg.dialog.replace(d) {
                    leg.forks.push(EarlyFork {
                        dialog: previous,
                        rseq: leg.rseq,
                    });
                }
                leg.rseq = 0;
            }
            let send_cancel = std::mem::take(&mut leg.cancel_pending);
            if send_cancel {
                self.send_cancel(now, leg_id);
            }
            if !self.on_reliable_provisional(now, leg_id, &response) {
                return;
            }
            self.events.push_back(UaEvent::Provisional {
                leg: leg_id,
                response,
            });
            return;
        }
        if (200..300).contains(&status) {
            if leg.state == LegState::Up {
                let same = to_tag.is_some() && leg.remote_tag() == to_tag.as_deref();
                if same {
                    // A retransmission of the 2xx that answered the call: the same ACK again
                    // (none yet while the application's answer is still to come).
                    self.reack(leg_id, &response);
                } else {
                    let peer = leg.peer;
                    self.unwanted_2xx(now, leg_id, &response, peer);
                }
                return;
            }
            let matched = to_tag.as_deref().is_some_and(|t| leg.switch_to_fork(t));
            match leg.dialog.as_mut() {
                Some(d) if matched => d.confirm_with(&response),
                _ => match Dialog::new_uac(&leg.invite, &response) {
                    Ok(d) => {
                        self.by_dialog.insert(d.id().clone(), leg_id);
                        if let Some(previous) = leg.dialog.replace(d) {
                            leg.forks.push(EarlyFork {
                                dialog: previous,
                                rseq: leg.rseq,
                            });
                        }
                    }
                    Err(_) => {
                        leg.dialog = None;
                    }
                },
            }
            // The other early dialogs stay (bounded) until their own 2xx, which gets ACK
            // and BYE in that dialog, or until the call ends.
            leg.state = LegState::Up;
            leg.peer_allows_update = session_timer::allows_update(response.header());
            let offerless = no_session(leg.invite.headers());
            self.ack_or_wait(now, leg_id, offerless, &response);
            self.arm_session(now, leg_id, &response, true);
            self.events.push_back(UaEvent::Answered {
                leg: leg_id,
                response,
            });
            return;
        }
        if status == 503 {
            // RFC 3261 §21.5.4: "A client (proxy or UAC) receiving a 503 (Service
            // Unavailable) SHOULD attempt to forward the request to an alternate server."
            let peer = leg.peer;
            self.note_503(now, peer, &response);
            if self.failover_invite(now, leg_id, 503) {
                return;
            }
        }
        let Some(leg) = self.legs.get_mut(&leg_id) else {
            return;
        };
        // A cancelled call ends with its final response: an INVITE again would ring the
        // callee of a call the caller gave up.
        let retry = !leg.cancelled;
        if retry
            && (status == 401 || status == 407)
            && leg.auth_tries < 2
            && self.retry_with_auth(now, leg_id, &response)
        {
            return;
        }
        if retry && status == 422 && self.retry_with_min_se(now, leg_id, &response) {
            return;
        }
        if retry
            && (status == 488 || status == 606)
            && self.retry_with_fallback_offer(now, leg_id, status)
        {
            return;
        }
        let _ = key;
        if let Some(l) = self.legs.get_mut(&leg_id) {
            l.state = LegState::Ended;
        }
        self.events.push_back(UaEvent::Failed {
            leg: leg_id,
            status,
            response: Some(response),
        });
        self.end_leg(leg_id);
    }

    fn on_stray(&mut self, response: &Response) {
        // A 2xx retransmission after the INVITE client transaction ended: still ACK it.
        let Some(Ok(cseq)) = response.header::<CSeq>() else {
            return;
        };
        if *cseq.method() != Method::Invite || !response.status().is_success() {
            return;
        }
        let (Some(Ok(from)), Some(Ok(to)), Some(Ok(call_id))) = (
            response.header::<From>(),
            response.header::<To>(),
            response.header::<CallId>(),
        ) else {
            return;
        };
        let (Some(local), Some(remote)) = (from.tag(), to.tag()) else {
            return;
        };
        let id = DialogId {
            call_id: call_id.as_str().to_owned(),
            local_tag: local.to_owned(),
            remote_tag: remote.to_owned(),
        };
        let Some(&leg_id) = self.by_dialog.get(&id) else {
            return;
        };
        self.reack(leg_id, response);
    }

    /// A retransmission of a 2xx we ACKed: the same ACK again (RFC 3261 §13.2.2.4), when
    /// it is for that 2xx; nothing while the application's answer is still owed.
    fn reack(&mut self, leg_id: LegId, response: &Response) {
        let Some(leg) = self.legs.get(&leg_id) else {
            return;
        };
        let seq = cseq_of(response.headers());
        if let Some((_, ack)) = leg.ack.as_ref().filter(|(s, _)| Some(*s) == seq) {
            let target = leg.in_dialog_target();
            self.transmits.push_back(Transmit {
                transport: target.transport,
                destination: target.addr,
                payload: ack.clone(),
                own_connection: false,
            });
        }
    }

    /// ACKs the first 2xx of our (re-)INVITE at once, or, when it carries the offer for our
    /// `offerless` request, leaves the ACK to the application's answer (RFC 3264 §5) with a
    /// deadline of 64*T1.
    fn ack_or_wait(&mut self, now: Instant, leg_id: LegId, offerless: bool, response: &Response) {
        let wait = self.config.transactions.timers.t1.saturating_mul(64);
        if offerless && !no_session(response.headers()) {
            if let Some(leg) = self.legs.get_mut(&leg_id) {
                let local = leg.dialog.as_ref().map_or(0, Dialog::local_seq);
                leg.pending_ack = Some(PendingAck {
                    seq: cseq_of(response.headers()).unwrap_or(local),
                    deadline: now + wait,
                });
            }
        } else {
            self.ack_2xx(leg_id, response);
        }
    }

    fn on_terminated(&mut self, now: Instant, key: &TransactionKey, reason: Termination) {
        let Some((leg_id, purpose)) = self.by_txn.remove(key) else {
            return;
        };
        self.pending_requests.remove(key);
        let failed = matches!(reason, Termination::Timeout | Termination::TransportError);
        match purpose {
            Purpose::Invite if failed => {
                let current = self
                    .legs
                    .get(&leg_id)
                    .is_some_and(|l| l.invite_key.as_ref() == Some(key));
                // RFC 3263 §4.3: Timer B or a transport error, and no response at all. An
                // INVITE the call has sent again (after a 401, 407 or 422) ends quietly.
                if !current || self.failover_invite(now, leg_id, Self::failure_status(reason)) {
                    return;
                }
                let proceeding = self
                    .legs
                    .get(&leg_id)
                    .is_some_and(|l| l.state == LegState::Proceeding && l.uac);
                if proceeding {
                    // RFC 3261 §8.1.3.1: a timeout is treated as a 408, a transport error
                    // as a 503.
                    self.events.push_back(UaEvent::Failed {
                        leg: leg_id,
                        status: Self::failure_status(reason),
                        response: None,
                    });
                    self.end_leg(leg_id);
                }
            }
            // RFC 3263 §4.3: the next target first; a failure once none is left.
            Purpose::Register(id)
                if failed && !self.failover_register(now, id, Self::failure_status(reason)) =>
            {
                self.register_failed(now, id, Self::failure_status(reason));
            }
            Purpose::Refresh(method) if failed => {
                self.on_refresh_response(now, leg_id, &method, None);
            }
            Purpose::Bye if failed => {
                self.events.push_back(UaEvent::Ended {
                    leg: leg_id,
                    by_peer: false,
                });
                self.end_leg(leg_id);
            }
            Purpose::App | Purpose::ReInvite(_) if failed && !key.is_server() => {
                if let Some(l) = self.legs.get_mut(&leg_id) {
                    l.reinvite_pending = false;
                }
                let leg = self.legs.contains_key(&leg_id).then_some(leg_id);
                self.events.push_back(UaEvent::Response {
                    key: key.clone(),
                    leg,
                    status: Self::failure_status(reason),
                    response: None,
                });
            }
            _ => {}
        }
    }

    fn uas_respond(
        &mut self,
        now: Instant,
        leg_id: LegId,
        status: u16,
        body: Option<Body>,
    ) -> Result<(), UaError> {
        self.uas_respond_full(now, leg_id, status, body, false, &[])
    }

    fn uas_respond_full(
        &mut self,
        now: Instant,
        leg_id: LegId,
        status: u16,
        body: Option<Body>,
        reliable: bool,
        extra: &[(&str, &str)],
    ) -> Result<(), UaError> {
        let contact = self.leg_contact(leg_id)?;
        let t1 = self.config.transactions.timers.t1;
        let leg = self.legs.get_mut(&leg_id).ok_or(UaError::NoSuchLeg)?;
        if leg.uac || leg.state != LegState::Proceeding {
            return Err(UaError::InvalidState);
        }
        let key = leg.invite_key.clone().ok_or(UaError::InvalidState)?;
        let mut b = Response::builder(&leg.invite, StatusCode(status));
        if status > 100 {
            b = b.to_tag(&leg.local_tag);
        }
        if status > 100 && status < 300 && !has_header(extra, "contact", "m") {
            b = b.header(Contact::new(contact.clone()));
        }
        if (200..300).contains(&status) && !has_header(extra, "allow", "allow") {
            b = b.header(allow());
        }
        if (200..300).contains(&status) && !has_header(extra, "session-expires", "x") {
            let invite = leg.invite.clone();
            for (name, value) in self.session_response_headers(&invite) {
                b = b
                    .raw_header(name, &value)
                    .map_err(|_| UaError::InvalidState)?;
            }
        }
        let leg = self.legs.get_mut(&leg_id).ok_or(UaError::NoSuchLeg)?;
        b = with_extra_resp(b, extra)?;
        if reliable {
            // RFC 3262 §3: "the UAS MUST send a Require header field containing the option
            // tag 100rel" and an RSeq, which starts anywhere and increases by one.
            leg.rseq = leg.rseq.wrapping_add(1);
            b = b
                .raw_header("Require", "100rel")
                .map_err(|_| UaError::InvalidState)?
                .header(crate::header::RSeq(leg.rseq));
        }
        let sent_body = body.clone();
        let response = with_body_resp(b, body).build();
        self.txns.send_response(now, &key, response.clone())?;
        if status >= 200 {
            // A final response ends the reliable provisional's retransmissions.
            leg.reliable_1xx = None;
        }
        if reliable {
            leg.reliable_1xx = Some(prack::Reliable1xx::new(now, t1, leg.rseq, response.clone()));
        }
        if status > 100
            && status < 300
            && leg.dialog.is_none()
            && let Ok(d) = Dialog::new_uas(
                &leg.invite,
                &leg.local_tag,
                Some(Contact::new(contact)),
                status < 200,
            )
        {
            self.by_dialog.insert(d.id().clone(), leg_id);
            leg.dialog = Some(d);
        }
        if (200..300).contains(&status) {
            leg.state = LegState::Up;
            if let Some(d) = leg.dialog.as_mut() {
                d.confirm();
            }
            leg.retransmit_2xx = Some(Retransmit2xx::new(
                now,
                &self.config,
                no_session(leg.invite.headers()),
                &response,
            ));
            self.arm_session(now, leg_id, &response, false);
            self.end_replaced(now, leg_id);
        } else if status >= 300 {
            leg.state = LegState::Ended;
            self.end_leg(leg_id);
        }
        if status > 100 && status < 300 {
            self.remember_body(leg_id, sent_body.as_ref());
        }
        self.flush();
        Ok(())
    }

    fn send_cancel(&mut self, now: Instant, leg_id: LegId) {
        let Some(leg) = self.legs.get(&leg_id) else {
            return;
        };
        let Some(cancel) = build_cancel(&leg.invite) else {
            return;
        };
        let target = leg.peer;
        if let Ok(key) = self.txns.send_request(now, cancel, target) {
            self.by_txn.insert(key, (leg_id, Purpose::Cancel));
        }
    }

    fn ack_2xx(&mut self, leg_id: LegId, response: &Response) {
        self.send_ack(leg_id, cseq_of(response.headers()), None);
    }

    /// Sends (and keeps for 2xx retransmissions) the ACK for the 2xx with CSeq `seq` (the
    /// dialog's local CSeq when unknown), with `body`.
    fn send_ack(&mut self, leg_id: LegId, seq: Option<u32>, body: Option<Body>) {
        let Ok(via) = self.leg_via(leg_id) else {
            return;
        };
        let Some(leg) = self.legs.get_mut(&leg_id) else {
            return;
        };
        let Some(d) = leg.dialog.as_ref() else { return };
        let seq = seq.unwrap_or_else(|| d.local_seq());
        let ack = with_body(d.ack(seq, via).to_builder(), body.clone())
            .build()
            .to_bytes();
        leg.ack = Some((seq, ack.clone()));
        leg.pending_ack = None;
        // An in-dialog request (RFC 3261 §13.2.2.4): where a re-INVITE went, its ACK goes.
        let target = leg.in_dialog_target();
        self.transmits.push_back(Transmit {
            transport: target.transport,
            destination: target.addr,
            payload: ack,
            own_connection: false,
        });
        self.remember_body(leg_id, body.as_ref());
    }

    /// A 2xx for a session the call does not take (a second fork's, or one from `server`
    /// after [`UserAgent::fail_over`]): ACK and BYE the first time, the same ACK again for
    /// a retransmission (RFC 3261 §13.2.2.4), all sent to `server`.
    fn unwanted_2xx(&mut self, now: Instant, leg_id: LegId, response: &Response, server: Target) {
        let Some(leg) = self.legs.get(&leg_id) else {
            return;
        };
        let to_tag = match response.header::<To>() {
            Some(Ok(to)) => to.tag().map(str::to_owned),
            _ => None,
        };
        let dead = leg
            .dead_forks
            .iter()
            .find(|(t, _)| Some(t) == to_tag.as_ref())
            .map(|(_, ack)| ack.clone());
        if let Some(ack) = dead {
            // A 2xx retransmission: ACK again (§13.2.2.4), BYE only once.
            self.transmits.push_back(Transmit {
                transport: server.transport,
                destination: server.addr,
                payload: ack,
                own_connection: false,
            });
        } else {
            // RFC 3261 §13.2.2.4: a 2xx from a second fork "MUST ... be acknowledged" and,
            // if the UAC does not want the extra session, it "MUST send a BYE".
            self.fork_ack_and_bye(now, leg_id, response, server);
        }
    }

    fn fork_ack_and_bye(
        &mut self,
        now: Instant,
        leg_id: LegId,
        response: &Response,
        target: Target,
    ) {
        let (Ok(via_ack), Ok(via_bye)) = (
            self.via_for(target.transport),
            self.via_for(target.transport),
        ) else {
            return;
        };
        let Some(leg) = self.legs.get_mut(&leg_id) else {
            return;
        };
        let tag = match response.header::<To>() {
            Some(Ok(to)) => to.tag().map(str::to_owned),
            _ => None,
        };
        // The fork's early dialog when it had one (so the BYE's CSeq follows requests sent
        // in it, e.g. PRACK or UPDATE), else a dialog from the 2xx.
        let early = tag.and_then(|t| {
            let i = leg
                .forks
                .iter()
                .position(|f| f.dialog.id().remote_tag == t)?;
            Some(leg.forks.swap_remove(i).dialog)
        });
        let mut d = match early {
            Some(mut d) => {
                self.by_dialog.remove(d.id());
                d.confirm_with(response);
                d
            }
            None => match Dialog::new_uac(&leg.invite, response) {
                Ok(d) => d,
                Err(_) => return,
            },
        };
        let seq = cseq_of(response.headers()).unwrap_or_else(|| d.local_seq());
        let ack = d.ack(seq, via_ack).to_bytes();
        self.transmits.push_back(Transmit {
            transport: target.transport,
            destination: target.addr,
            payload: ack.clone(),
            own_connection: false,
        });
        let bye = d.request(Method::Bye, via_bye);
        if leg.dead_forks.len() < MAX_FORKS {
            leg.dead_forks.push((d.id().remote_tag.clone(), ack));
        }
        let _ = self.txns.send_request(now, bye, target);
    }

    fn retry_with_auth(&mut self, now: Instant, leg_id: LegId, response: &Response) -> bool {
        let Ok(via) = self.leg_via(leg_id) else {
            return false;
        };
        let Some(digest) = self.digest.as_mut() else {
            return false;
        };
        let Some(leg) = self.legs.get_mut(&leg_id) else {
            return false;
        };
        let kind = if response.status().as_u16() == 407 {
            ChallengeKind::Proxy
        } else {
            ChallengeKind::Www
        };
        let name = if kind == ChallengeKind::Proxy {
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
        let Some(challenge) = Challenge::select(&challenges) else {
            return false;
        };
        let uri = leg.invite.uri_str().to_owned();
        let Ok(creds) = digest.authorize(challenge, "INVITE", &uri) else {
            return false;
        };
        leg.auth_tries += 1;
        self.resend_invite(now, leg_id, via, |mut b| {
            b.remove_header(HeaderName::Authorization);
            b.remove_header(HeaderName::ProxyAuthorization);
            b.raw_header(kind.credentials_header(), &creds.to_string())
                .ok()
        })
    }

    /// Our Contact in the responses of `leg`: [`UserAgent::contact_uri_for`] its transport,
    /// except that a dialog whose INVITE had a `sip:` Request-URI keeps a `sip:` Contact over
    /// TLS (`;transport=tls`). RFC 3261 §8.1.1.8 and §12.1.1 ask for a SIPS Contact when the
    /// INVITE was SIPS; a SIPS Contact in a `sip:` dialog makes baresip 1.0 drop our 2xx.
    fn leg_contact(&self, leg: LegId) -> Result<Uri, UaError> {
        let transport = self.leg_transport(leg);
        let sip_dialog = self
            .legs
            .get(&leg)
            .is_some_and(|l| l.invite.uri().scheme() == crate::uri::Scheme::Sip);
        if transport != Transport::Tls || !sip_dialog {
            return self.contact_uri_for(transport);
        }
        let addr = self.config.addr_for(transport);
        let (user, host, port) = (&self.config.user, host_of(addr), addr.port());
        format!("sip:{user}@{host}:{port};transport=tls")
            .parse()
            .map_err(|_| UaError::BadUri)
    }

    /// The transport a leg's messages go over (its peer's), else the configured one.
    fn leg_transport(&self, leg: LegId) -> Transport {
        self.legs
            .get(&leg)
            .map_or(self.config.transport, |l| l.peer.transport)
    }

    /// A Via for a request on `leg`, naming the transport it goes over (RFC 3261 §18.1.1).
    pub(super) fn leg_via(&mut self, leg: LegId) -> Result<Via, UaError> {
        let transport = self.leg_transport(leg);
        self.via_for(transport)
    }

    /// How long to wait before retrying a request of `leg_id` answered 491 (RFC 3261 §14.1):
    /// "If the UAC is the owner of the Call-ID ... a timer with a value T chosen randomly
    /// between 2.1 and 4 seconds in units of 10 ms. If the UAC is not the owner ... between
    /// 0 and 2 seconds". We own the Call-ID of the legs we called from.
    pub(super) fn glare_delay(&mut self, leg_id: LegId) -> Duration {
        let owner = self.legs.get(&leg_id).is_some_and(|l| l.uac);
        let units = if owner {
            self.rng.random_range(210..=400u64)
        } else {
            self.rng.random_range(0..=200u64)
        };
        Duration::from_millis(units * 10)
    }

    /// RFC 4028 §7.4: a 422 to our INVITE: "the UAC MAY retry the request with a
    /// Session-Expires ... and Min-SE ... set to the value in the Min-SE of the 422".
    fn retry_with_min_se(&mut self, now: Instant, leg_id: LegId, response: &Response) -> bool {
        let Some(cfg) = self.config.session_timer else {
            return false;
        };
        let Some(Ok(min)) = response.header::<crate::header::MinSe>() else {
            return false;
        };
        let min = min.seconds();
        let Ok(via) = self.leg_via(leg_id) else {
            return false;
        };
        let Some(leg) = self.legs.get_mut(&leg_id) else {
            return false;
        };
        let asked = match leg.invite.header::<crate::header::SessionExpires>() {
            Some(Ok(se)) => se.seconds(),
            _ => cfg.session_expires,
        };
        if leg.timer_tries >= 2 || min <= asked {
            return false;
        }
        leg.timer_tries += 1;
        let se = match cfg.refresher {
            Some(r) => format!("{min};refresher={}", r.as_str()),
            None => min.to_string(),
        };
        self.resend_invite(now, leg_id, via, |mut b| {
            b.remove_header(HeaderName::SessionExpires);
            b.remove_header(HeaderName::MinSe);
            b.raw_header("Session-Expires", &se)
                .and_then(|b| b.raw_header("Min-SE", &min.to_string()))
                .ok()
        })
    }

    /// A 488 or 606 to our INVITE: the INVITE goes again with the fallback offer, once
    /// ([`UserAgent::set_fallback_offer`]).
    fn retry_with_fallback_offer(&mut self, now: Instant, leg_id: LegId, status: u16) -> bool {
        let Ok(via) = self.leg_via(leg_id) else {
            return false;
        };
        let Some(body) = self
            .legs
            .get_mut(&leg_id)
            .and_then(|l| l.fallback_offer.take())
        else {
            return false;
        };
        self.remember_body(leg_id, Some(&body));
        let sent = self.resend_invite(now, leg_id, via, |mut b| {
            b.set_header(body.content_type);
            Some(b.body(body.bytes))
        });
        if sent {
            self.events.push_back(UaEvent::OfferRetried {
                leg: leg_id,
                status,
            });
        }
        sent
    }

    /// Sends the leg's INVITE again, edited by `edit`, as a new transaction: RFC 3261
    /// §22.2 (and RFC 4028 §7.4): "a new CSeq" and a new branch.
    fn resend_invite(
        &mut self,
        now: Instant,
        leg_id: LegId,
        via: Via,
        edit: impl FnOnce(crate::msg::RequestBuilder) -> Option<crate::msg::RequestBuilder>,
    ) -> bool {
        let Some(leg) = self.legs.get_mut(&leg_id) else {
            return false;
        };
        // The non-2xx final response ended the INVITE's early dialogs (RFC 3261 §12.3: "a
        // non-2xx final response ... terminates all early dialogs created by provisional
        // responses to the request"); the retry's responses create new ones, even with the
        // same To tag.
        leg.unindex_dialogs(&mut self.by_dialog);
        leg.dialog = None;
        leg.forks.clear();
        leg.rseq = 0;
        let seq = cseq_of(leg.invite.headers()).unwrap_or(1);
        let mut b = leg.invite.to_builder();
        b.remove_header(HeaderName::Via);
        b.prepend_header(via);
        b.set_header(CSeq::new(seq.wrapping_add(1), Method::Invite));
        let Some(b) = edit(b) else {
            return false;
        };
        let request = b.build();
        let target = leg.peer;
        match self.txns.send_request(now, request.clone(), target) {
            Ok(key) => {
                leg.invite = request;
                leg.invite_key = Some(key.clone());
                self.by_txn.insert(key, (leg_id, Purpose::Invite));
                true
            }
            Err(_) => false,
        }
    }

    fn leg_timers(&mut self, now: Instant, leg_id: LegId) {
        let t2 = self.config.transactions.timers.t2;
        let Some(leg) = self.legs.get_mut(&leg_id) else {
            return;
        };
        if let Some(r) = leg.retransmit_2xx.as_mut() {
            if now >= r.give_up {
                // RFC 3261 §13.3.1.4: "If the server retransmits the 2xx response for 64*T1
                // seconds without receiving an ACK, the dialog is confirmed, but the session
                // SHOULD be terminated. This is accomplished with a BYE".
                leg.retransmit_2xx = None;
                let _ = self.bye(now, leg_id);
                return;
            }
            if now >= r.next {
                self.transmits.push_back(Transmit {
                    transport: leg.peer.transport,
                    destination: leg.peer.addr,
                    payload: r.bytes.clone(),
                    own_connection: false,
                });
                // "an interval that starts at T1 seconds and doubles for each retransmission
                // until it reaches T2 seconds".
                r.interval = r.interval.saturating_mul(2).min(t2);
                r.next += r.interval;
            }
        }
        if leg.pending_ack.is_some_and(|p| now >= p.deadline) {
            // The application never answered the offer of the 2xx: ACK it without a body
            // and end the call (module docs).
            let _ = self.bye_with(now, leg_id, &[("Reason", REASON_NO_ANSWER)]);
            return;
        }
        if let Some((at, _)) = &leg.glare_retry
            && now >= *at
        {
            let body = leg.glare_retry.take().and_then(|(_, b)| b);
            let _ = self.request(now, leg_id, Method::Invite, body, &[]);
        }
    }

    fn reply(&mut self, now: Instant, key: &TransactionKey, request: &Request, status: u16) {
        self.reply_with(now, key, request, status, &[]);
    }

    fn reply_with(
        &mut self,
        now: Instant,
        key: &TransactionKey,
        request: &Request,
        status: u16,
        extra: &[(&str, &str)],
    ) {
        let tag = self.token(8);
        let b = Response::builder(request, StatusCode(status)).to_tag(&tag);
        if let Ok(b) = with_extra_resp(b, extra) {
            let _ = self.txns.send_response(now, key, b.build());
        }
    }

    fn new_leg(&mut self, leg: Leg) -> LegId {
        let id = LegId(self.next_leg);
        self.next_leg += 1;
        self.legs.insert(id, leg);
        id
    }

    /// Forgets a leg (its transactions finish on their own).
    fn end_leg(&mut self, leg_id: LegId) {
        if let Some(leg) = self.legs.remove(&leg_id) {
            leg.unindex_dialogs(&mut self.by_dialog);
            if let Some(d) = leg.dialog.filter(|d| d.state() != DialogState::Early) {
                if self.ended_dialogs.len() >= MAX_ENDED_DIALOGS {
                    self.ended_dialogs.pop_front();
                }
                self.ended_dialogs.push_back(d.id().clone());
            }
        }
    }

    fn flush(&mut self) {
        while let Some(t) = self.txns.poll_transmit() {
            self.transmits.push_back(t);
        }
    }

    fn token(&mut self, bytes: usize) -> String {
        let mut raw = [0u8; 16];
        let n = bytes.min(16);
        self.rng.fill_bytes(&mut raw[..n]);
        crate::auth::hex(&raw[..n])
    }

    fn user_agent_header(&self) -> Option<UserAgentHeader> {
        self.config
            .user_agent
            .as_deref()
            .and_then(|s| UserAgentHeader::new(s).ok())
    }
}

/// Whether a message carries no session description, so no offer or answer (RFC 3264 §5):
/// no body, or a body that is not SDP and holds none, such as a SIP-I ISUP or a PIDF-LO
/// location alone (RFC 5621, [`crate::body::session_description`]). A body that cannot be read
/// (a broken multipart) counts as one: the application sees it and refuses it.
fn no_session(headers: &Headers) -> bool {
    crate::body::sdp_or_body(headers).is_empty()
}

/// [`no_session`] for a body the application handed over (a re-INVITE's).
fn body_holds_no_session(body: Option<&Body>) -> bool {
    body.is_none_or(|b| crate::body::sdp_or_body_in(&b.content_type, &b.bytes).is_empty())
}

impl Retransmit2xx {
    /// The retransmission of `response` to an INVITE that had a body or not (`offerless`)
    /// (RFC 3261 §13.3.1.4).
    fn new(now: Instant, config: &UaConfig, offerless: bool, response: &Response) -> Self {
        let t1 = config.transactions.timers.t1;
        Self {
            bytes: response.to_bytes(),
            offer: offerless && !no_session(response.headers()),
            seq: cseq_of(response.headers()),
            next: now + t1,
            interval: t1,
            give_up: now + t1.saturating_mul(64),
        }
    }
}

/// The CANCEL for an INVITE (RFC 3261 §9.1): same Request-URI, Call-ID, To, From, CSeq
/// number and top Via (branch) as the INVITE, method CANCEL, its Route headers.
pub fn build_cancel(invite: &Request) -> Option<Request> {
    let via = invite.header::<Via>()?.ok()?;
    let cseq = invite.header::<CSeq>()?.ok()?;
    let mut b = Request::builder(Method::Cancel, invite.uri())
        .header(via)
        .header(MaxForwards(70))
        .header(invite.header::<From>()?.ok()?)
        .header(invite.header::<To>()?.ok()?)
        .header(invite.header::<CallId>()?.ok()?)
        .header(CSeq::new(cseq.seq(), Method::Cancel));
    for r in invite
        .header_all::<crate::header::Route>()
        .filter_map(Result::ok)
    {
        b = b.header(r);
    }
    Some(b.build())
}

/// The dialog id of an incoming in-dialog request as we (the recipient) see it.
fn dialog_id_uas_view(request: &Request, to_tag: &str) -> Option<DialogId> {
    let from = request.header::<From>()?.ok()?;
    let call_id = request.header::<CallId>()?.ok()?;
    Some(DialogId {
        call_id: call_id.as_str().to_owned(),
        local_tag: to_tag.to_owned(),
        remote_tag: from.tag()?.to_owned(),
    })
}

fn allow() -> Allow {
    Allow(vec![
        Method::Invite,
        Method::Ack,
        Method::Cancel,
        Method::Bye,
        Method::Options,
        Method::Update,
        Method::Info,
        Method::Refer,
        Method::Notify,
        Method::Prack,
    ])
}

/// The sequence number of the CSeq in `headers` (a request's or a response's); `None`
/// when it is missing or malformed.
fn cseq_of(headers: &Headers) -> Option<u32> {
    Some(headers.get::<CSeq>()?.ok()?.seq())
}

fn with_body(b: crate::msg::RequestBuilder, body: Option<Body>) -> crate::msg::RequestBuilder {
    match body {
        Some(body) => b.header(body.content_type).body(body.bytes),
        None => b,
    }
}

fn with_body_resp(
    b: crate::msg::ResponseBuilder,
    body: Option<Body>,
) -> crate::msg::ResponseBuilder {
    match body {
        Some(body) => b.header(body.content_type).body(body.bytes),
        None => b,
    }
}

/// Whether `extra` has a header named `long` or `compact` (case-insensitive).
fn has_header(extra: &[(&str, &str)], long: &str, compact: &str) -> bool {
    extra
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case(long) || n.eq_ignore_ascii_case(compact))
}

fn with_extra_resp(
    mut b: crate::msg::ResponseBuilder,
    extra: &[(&str, &str)],
) -> Result<crate::msg::ResponseBuilder, UaError> {
    for (name, value) in extra {
        b = b
            .raw_header(name, value)
            .map_err(|_| UaError::InvalidState)?;
    }
    Ok(b)
}

fn host_of(addr: SocketAddr) -> String {
    match addr {
        SocketAddr::V4(a) => a.ip().to_string(),
        SocketAddr::V6(a) => format!("[{}]", a.ip()),
    }
}
