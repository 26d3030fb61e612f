//! The four transaction state machines of RFC 3261 §17 with the RFC 6026 corrections.
//!
//! Message-agnostic: a machine sees status codes and "a request/ACK arrived", keeps the
//! encoded bytes it must retransmit and tells its owner what to do through [`Output`].

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::timer::{Timer, TimerConfig, Timers};

/// Which of the four machines (RFC 3261 §17.1.1, §17.1.2, §17.2.1, §17.2.2).
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub enum Kind {
    /// INVITE client transaction.
    InviteClient,
    /// non-INVITE client transaction.
    NonInviteClient,
    /// INVITE server transaction.
    InviteServer,
    /// non-INVITE server transaction.
    NonInviteServer,
}

impl Kind {
    /// True for the client machines.
    pub fn is_client(self) -> bool {
        matches!(self, Self::InviteClient | Self::NonInviteClient)
    }
}

/// A transaction state, named as in the RFC figures.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub enum State {
    /// INVITE client, request sent, nothing received.
    Calling,
    /// non-INVITE server, request received, TU has not answered.
    Trying,
    /// A provisional response was sent or received (server INVITE starts here).
    Proceeding,
    /// A 2xx was sent or received (RFC 6026 §7.1, §7.2): 2xx retransmissions pass through.
    Accepted,
    /// A final response (non-2xx for INVITE) was sent or received.
    Completed,
    /// INVITE server: the ACK for a non-2xx final response arrived.
    Confirmed,
    /// Done; the transaction is removed.
    Terminated,
}

/// Why a transaction ended.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub enum Termination {
    /// The normal end after the wait timer of Completed/Confirmed/Accepted.
    Normal,
    /// Timer B or F fired: no final response (the TU treats it as 408, RFC 3261 §8.1.3.1).
    Timeout,
    /// Timer H fired: the ACK for a non-2xx final never came (RFC 3261 §17.2.1).
    NoAck,
    /// The transport reported a failure (RFC 3261 §17.1.4, §17.2.4).
    TransportError,
}

/// What the owner of a machine must do after an input.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Output {
    /// Pass the message that was just handled to the TU.
    pub to_tu: bool,
    /// Bytes to (re)transmit now.
    pub transmit: Option<Bytes>,
    /// Build the ACK for the non-2xx final response just handled and give it to
    /// [`Machine::set_ack`] (client INVITE, RFC 3261 §17.1.1.3).
    pub build_ack: bool,
    /// Build and send a 100 Trying (INVITE server, RFC 3261 §17.2.1).
    pub send_trying: bool,
    /// The machine reached Terminated for this reason.
    pub terminated: Option<Termination>,
}

/// The caller used a machine in a way the RFC does not allow (API misuse, not hostile input).
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct InvalidState {
    /// The state at the time.
    pub state: State,
}

/// One transaction state machine.
#[derive(Clone, Debug)]
pub struct Machine {
    kind: Kind,
    state: State,
    reliable: bool,
    timers: Timers,
    /// The request (client) or last response sent (server), for retransmission; empty once
    /// nothing will be resent from it (see [`Machine::enter`]).
    retransmit: Bytes,
    /// The ACK of a non-2xx final (client INVITE).
    ack: Option<Bytes>,
}

impl Machine {
    /// A client transaction about to send `request` (already encoded); the caller transmits
    /// the returned bytes.
    pub fn new_client(
        kind: Kind,
        now: Instant,
        config: &TimerConfig,
        reliable: bool,
        request: Bytes,
    ) -> (Self, Output) {
        let mut timers = Timers::default();
        let state = match kind {
            Kind::InviteClient => {
                // RFC 3261 §17.1.1.2: "If an unreliable transport is being used, the client
                // transaction MUST start timer A with a value of T1." / "For any transport,
                // the client transaction MUST start timer B with a value of 64*T1 seconds".
                if !reliable {
                    timers.interval = config.t1;
                    timers.set(Timer::A, now + config.t1);
                }
                timers.set(Timer::B, now + config.t1x64());
                State::Calling
            }
            _ => {
                // RFC 3261 §17.1.2.2: "If an unreliable transport is in use, the client
                // transaction MUST set timer E to fire in T1 seconds." and timer F to 64*T1.
                if !reliable {
                    timers.interval = config.t1;
                    timers.set(Timer::E, now + config.t1);
                }
                timers.set(Timer::F, now + config.t1x64());
                State::Trying
            }
        };
        let out = Output {
            transmit: Some(request.clone()),
            ..Output::default()
        };
        let kind = if kind.is_client() {
            kind
        } else {
            Kind::NonInviteClient
        };
        (
            Self {
                kind,
                state,
                reliable,
                timers,
                retransmit: request,
                ack: None,
            },
            out,
        )
    }

    /// A server transaction for a request just received; the caller passes it to the TU.
    pub fn new_server(
        kind: Kind,
        now: Instant,
        config: &TimerConfig,
        reliable: bool,
    ) -> (Self, Output) {
        let mut timers = Timers::default();
        let state = if kind == Kind::InviteServer {
            timers.set(Timer::Trying, now + config.trying);
            State::Proceeding
        } else {
            State::Trying
        };
        let kind = if kind.is_client() {
            Kind::NonInviteServer
        } else {
            kind
        };
        let machine = Self {
            kind,
            state,
            reliable,
            timers,
            retransmit: Bytes::new(),
            ack: None,
        };
        (
            machine,
            Output {
                to_tu: true,
                ..Output::default()
            },
        )
    }

    /// Which machine this is.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// A client's request as sent, kept for retransmission until a final response ends
    /// it (empty from then on, see [`Machine::enter`]); `None` on a server.
    pub(crate) fn sent_request(&self) -> Option<&Bytes> {
        self.kind.is_client().then_some(&self.retransmit)
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// True in the states that only wait for an end timer (Completed, Confirmed, Accepted):
    /// no request is sent and no new final response is taken from the TU any more.
    pub(crate) fn is_waiting(&self) -> bool {
        matches!(
            self.state,
            State::Completed | State::Confirmed | State::Accepted
        )
    }

    /// This machine as a [`Waiter`] when it only waits for its end timer and absorbs
    /// retransmissions (every waiting state but an INVITE server's Completed, which resends
    /// its final response on Timer G until the ACK, RFC 3261 §17.2.1); what it resends is
    /// moved into the waiter. `None` otherwise, the machine unchanged.
    pub(crate) fn take_waiter(&mut self) -> Option<Waiter> {
        if !self.is_waiting() || (self.kind == Kind::InviteServer && self.state == State::Completed)
        {
            return None;
        }
        let (deadline, timer) = self.timers.next()?;
        if timer.is_retransmit() {
            return None;
        }
        let resend = match (self.kind, self.state) {
            (Kind::InviteClient, State::Completed) => self.ack.take().unwrap_or_default(),
            (Kind::NonInviteServer, State::Completed) => std::mem::take(&mut self.retransmit),
            _ => Bytes::new(),
        };
        Some(Waiter {
            kind: self.kind,
            state: self.state,
            timer,
            deadline,
            resend,
        })
    }

    /// The deadline of one timer, if armed.
    pub fn timer(&self, timer: Timer) -> Option<Instant> {
        self.timers.get(timer)
    }

    /// The earliest armed timer.
    pub fn next_timer(&self) -> Option<(Instant, Timer)> {
        self.timers.next()
    }

    /// The current interval of `timer` when it is a retransmission timer (A, E, G; the 100
    /// Trying delay's stays zero), else zero: with the timer, the nominal delay the deadline
    /// queue files it under.
    pub(crate) fn interval_of(&self, timer: Timer) -> Duration {
        if timer.is_retransmit() {
            self.timers.interval
        } else {
            Duration::ZERO
        }
    }

    /// Stores the ACK built after [`Output::build_ack`] and returns it for sending.
    pub fn set_ack(&mut self, ack: Bytes) -> Bytes {
        self.ack = Some(ack.clone());
        ack
    }

    /// A response arrived for this client transaction.
    pub fn on_response(&mut self, now: Instant, config: &TimerConfig, status: u16) -> Output {
        let mut out = Output::default();
        let provisional = status < 200;
        match (self.kind, self.state) {
            (Kind::InviteClient, State::Calling | State::Proceeding) => {
                out.to_tu = true;
                if provisional {
                    // RFC 3261 §17.1.1.2: in Proceeding the client "SHOULD NOT" retransmit;
                    // timers A and B only act in Calling.
                    self.state = State::Proceeding;
                    self.timers.cancel(Timer::A);
                    self.timers.cancel(Timer::B);
                } else if status < 300 {
                    // RFC 6026 §8.4: "the client transaction MUST transition to the Accepted
                    // state, and Timer M MUST be started with a value of 64*T1".
                    self.enter(State::Accepted);
                    self.timers.set(Timer::M, now + config.t1x64());
                } else {
                    // RFC 3261 §17.1.1.2: "the client transaction MUST pass the received
                    // response up to the TU, and the client transaction MUST generate an ACK
                    // request", and set timer D (32 s unreliable, zero reliable).
                    self.enter(State::Completed);
                    out.build_ack = true;
                    let d = if self.reliable {
                        Duration::ZERO
                    } else {
                        config.d
                    };
                    self.timers.set(Timer::D, now + d);
                }
            }
            (Kind::InviteClient, State::Accepted) => {
                // RFC 6026 §8.4: 2xx retransmissions go to the TU (it ACKs each); anything
                // else, including a provisional reordered after the 2xx, is discarded.
                out.to_tu = (200..300).contains(&status);
            }
            // RFC 3261 §17.1.1.2: "Any retransmissions of the final response that are
            // received while in the 'Completed' state MUST cause the ACK to be re-passed
            // to the transport layer for retransmission, but the newly received response
            // MUST NOT be passed up to the TU."
            (Kind::InviteClient, State::Completed) if status >= 300 => {
                out.transmit = self.ack.clone();
            }
            (Kind::NonInviteClient, State::Trying | State::Proceeding) => {
                out.to_tu = true;
                if provisional {
                    self.state = State::Proceeding;
                } else {
                    // RFC 3261 §17.1.2.2: "timer K ... T4 seconds for unreliable transports,
                    // and zero seconds for reliable transports".
                    self.enter(State::Completed);
                    let k = if self.reliable {
                        Duration::ZERO
                    } else {
                        config.t4
                    };
                    self.timers.set(Timer::K, now + k);
                }
            }
            // Responses in Completed (non-INVITE) are absorbed; late ones are discarded
            // (RFC 3261 §17.1.1.2, peers README finding 1).
            _ => {}
        }
        out
    }

    /// The TU sends a response on this server transaction.
    ///
    /// # Errors
    /// [`InvalidState`] when the transaction already sent a final response (2xx
    /// retransmissions in Accepted are allowed, RFC 6026 §7.1).
    pub fn send_response(
        &mut self,
        now: Instant,
        config: &TimerConfig,
        status: u16,
        encoded: Bytes,
    ) -> Result<Output, InvalidState> {
        let mut out = Output::default();
        match (self.kind, self.state) {
            (Kind::InviteServer, State::Proceeding) => {
                self.timers.cancel(Timer::Trying);
                if status >= 300 {
                    // RFC 3261 §17.2.1: "For unreliable transports, timer G is set to fire
                    // in T1 seconds ... timer H MUST be set to fire in 64*T1 seconds for all
                    // transports."
                    self.enter(State::Completed);
                    if !self.reliable {
                        self.timers.interval = config.t1;
                        self.timers.set(Timer::G, now + config.t1);
                    }
                    self.timers.set(Timer::H, now + config.t1x64());
                } else if status >= 200 {
                    // RFC 6026 §8.7: "the server transaction MUST transition to the
                    // 'Accepted' state" and start Timer L at 64*T1.
                    self.enter(State::Accepted);
                    self.timers.set(Timer::L, now + config.t1x64());
                }
            }
            (Kind::InviteServer, State::Accepted) if (200..300).contains(&status) => {
                // RFC 6026 §7.1: the TU's 2xx retransmissions pass through Accepted.
            }
            (Kind::NonInviteServer, State::Trying | State::Proceeding) => {
                if status < 200 {
                    self.state = State::Proceeding;
                } else {
                    // RFC 3261 §17.2.2: "timer J ... 64*T1 seconds for unreliable
                    // transports, and zero seconds for reliable transports".
                    self.enter(State::Completed);
                    let j = if self.reliable {
                        Duration::ZERO
                    } else {
                        config.t1x64()
                    };
                    self.timers.set(Timer::J, now + j);
                }
            }
            (_, state) => return Err(InvalidState { state }),
        }
        // In Accepted the TU retransmits its 2xx itself (RFC 6026 §7.1) and a retransmitted
        // request is absorbed: nothing is resent from here, so the 2xx is not kept.
        if self.state != State::Accepted {
            self.retransmit = encoded.clone();
        }
        out.transmit = Some(encoded);
        Ok(out)
    }

    /// A retransmission of the request arrived at this server transaction.
    pub fn on_request_retransmit(&mut self) -> Output {
        let mut out = Output::default();
        match self.state {
            // RFC 3261 §17.2.1 / §17.2.2: retransmit the most recent provisional or final
            // response; in Trying (nothing sent yet) the retransmission is discarded.
            State::Proceeding | State::Completed if !self.retransmit.is_empty() => {
                out.transmit = Some(self.retransmit.clone());
            }
            _ => {}
        }
        out
    }

    /// An ACK arrived at this INVITE server transaction.
    pub fn on_ack(&mut self, now: Instant, config: &TimerConfig) -> Output {
        let mut out = Output::default();
        match self.state {
            State::Completed if self.kind == Kind::InviteServer => {
                // RFC 3261 §17.2.1: "the server transaction MUST transition to the
                // 'Confirmed' state ... timer I is set to fire in T4 seconds for unreliable
                // transports, and zero seconds for reliable transports."
                self.enter(State::Confirmed);
                let i = if self.reliable {
                    Duration::ZERO
                } else {
                    config.t4
                };
                self.timers.set(Timer::I, now + i);
            }
            // RFC 6026 §8.7: an ACK in Accepted is passed to the TU (the dialog layer
            // matches it to the 2xx).
            State::Accepted => out.to_tu = true,
            _ => {}
        }
        out
    }

    /// Fires every timer due at `now`.
    pub fn on_timeout(&mut self, now: Instant, config: &TimerConfig) -> Output {
        let mut out = Output::default();
        while let Some((at, timer)) = self.timers.next() {
            if at > now || out.terminated.is_some() {
                break;
            }
            self.timers.cancel(timer);
            self.fire(at, timer, config, &mut out);
        }
        out
    }

    /// The transport failed to send for this transaction (RFC 3261 §17.1.4, §17.2.4).
    pub fn on_transport_error(&mut self) -> Output {
        self.terminate(Termination::TransportError)
    }

    fn fire(&mut self, at: Instant, timer: Timer, config: &TimerConfig, out: &mut Output) {
        match (timer, self.state) {
            (Timer::A, State::Calling) => {
                // RFC 3261 §17.1.1.2: "the client transaction MUST retransmit the request ...
                // and reset the timer with a value of 2*T1" - doubling with no T2 cap.
                self.timers.interval = self.timers.interval.saturating_mul(2);
                self.timers.set(Timer::A, at + self.timers.interval);
                out.transmit = Some(self.retransmit.clone());
            }
            (Timer::E, State::Trying | State::Proceeding) => {
                // RFC 3261 §17.1.2.2: in Trying "reset the timer with a value of
                // MIN(2*T1, T2)"; in Proceeding "reset ... with a value of T2 seconds".
                let next = if self.state == State::Proceeding {
                    config.t2
                } else {
                    self.timers.interval.saturating_mul(2).min(config.t2)
                };
                self.timers.interval = next;
                self.timers.set(Timer::E, at + next);
                out.transmit = Some(self.retransmit.clone());
            }
            (Timer::G, State::Completed) => {
                // RFC 3261 §17.2.1: "reset with a value of MIN(2*T1, T2) seconds".
                self.timers.interval = self.timers.interval.saturating_mul(2).min(config.t2);
                self.timers.set(Timer::G, at + self.timers.interval);
                out.transmit = Some(self.retransmit.clone());
            }
            (Timer::Trying, State::Proceeding) if self.retransmit.is_empty() => {
                out.send_trying = true;
            }
            (Timer::B, State::Calling) | (Timer::F, State::Trying | State::Proceeding) => {
                *out = Output {
                    transmit: out.transmit.take(),
                    ..self.terminate(Termination::Timeout)
                };
            }
            (Timer::H, State::Completed) => *out = self.terminate(Termination::NoAck),
            (Timer::D, State::Completed)
            | (Timer::K, State::Completed)
            | (Timer::J, State::Completed)
            | (Timer::I, State::Confirmed)
            | (Timer::L | Timer::M, State::Accepted) => *out = self.terminate(Termination::Normal),
            _ => {}
        }
    }

    /// Records the 100 Trying the owner sent after [`Output::send_trying`], so request
    /// retransmissions repeat it.
    pub fn set_trying(&mut self, encoded: Bytes) {
        if self.state == State::Proceeding && self.retransmit.is_empty() {
            self.retransmit = encoded;
        }
    }

    /// Moves to `state`, cancelling every timer. A machine waiting for its end timer keeps
    /// only what absorbing retransmissions needs: a client its ACK of a non-2xx (INVITE,
    /// Completed: resent for each retransmitted final response, RFC 3261 §17.1.1.2), a
    /// server the response it resends (Completed); the request a client sent and the
    /// response an INVITE server sent before Confirmed or Accepted are released here, so
    /// that the thousands of transactions waiting for Timer K, J, D, I, L or M hold no
    /// message bytes they will never send again.
    fn enter(&mut self, state: State) {
        self.state = state;
        self.timers.cancel_all();
        let done_sending = match self.kind {
            Kind::InviteClient | Kind::NonInviteClient => {
                matches!(state, State::Completed | State::Accepted)
            }
            Kind::InviteServer => matches!(state, State::Confirmed | State::Accepted),
            Kind::NonInviteServer => false,
        };
        if done_sending || state == State::Terminated {
            self.retransmit = Bytes::new();
        }
    }

    fn terminate(&mut self, reason: Termination) -> Output {
        self.enter(State::Terminated);
        Output {
            terminated: Some(reason),
            ..Output::default()
        }
    }
}

/// A transaction that only waits for its end timer, in the few bytes that absorbing
/// retransmissions needs (what [`Machine::take_waiter`] gives): a non-INVITE client in
/// Completed (Timer K), a non-INVITE server in Completed (Timer J, with the final response
/// it resends), an INVITE client in Completed (Timer D, with its ACK) or Accepted (Timer M),
/// an INVITE server in Confirmed (Timer I) or Accepted (Timer L). Its inputs follow the same
/// rules as [`Machine`]'s in those states and never change it: the end timer ends it.
#[derive(Clone, Debug)]
pub(crate) struct Waiter {
    kind: Kind,
    state: State,
    timer: Timer,
    deadline: Instant,
    /// A non-INVITE server's final response or an INVITE client's ACK of a non-2xx; empty
    /// for the others.
    resend: Bytes,
}

impl Waiter {
    /// The state it waits in.
    pub(crate) fn state(&self) -> State {
        self.state
    }

    /// The end timer and when it fires.
    pub(crate) fn end_timer(&self) -> (Instant, Timer) {
        (self.deadline, self.timer)
    }

    /// A response arrived for this client transaction ([`Machine::on_response`]).
    pub(crate) fn on_response(&self, status: u16) -> Output {
        let mut out = Output::default();
        match (self.kind, self.state) {
            // RFC 6026 §8.4: 2xx retransmissions go to the TU, anything else is discarded.
            (Kind::InviteClient, State::Accepted) => out.to_tu = (200..300).contains(&status),
            // RFC 3261 §17.1.1.2: a retransmitted final response in Completed makes the ACK
            // be passed to the transport again, and is not passed up. No ACK (the final
            // response it would answer had none that could be built): nothing to resend.
            (Kind::InviteClient, State::Completed) if status >= 300 && !self.resend.is_empty() => {
                out.transmit = Some(self.resend.clone());
            }
            // Non-INVITE Completed: absorbed (RFC 3261 §17.1.2.2).
            _ => {}
        }
        out
    }

    /// A retransmission of the request arrived ([`Machine::on_request_retransmit`]): a
    /// non-INVITE server in Completed resends its final response (RFC 3261 §17.2.2);
    /// Confirmed and Accepted absorb it.
    pub(crate) fn on_request_retransmit(&self) -> Output {
        let mut out = Output::default();
        if self.state == State::Completed && !self.resend.is_empty() {
            out.transmit = Some(self.resend.clone());
        }
        out
    }

    /// An ACK arrived ([`Machine::on_ack`]): passed to the TU in Accepted (RFC 6026 §8.7),
    /// absorbed in Confirmed.
    pub(crate) fn on_ack(&self) -> Output {
        Output {
            to_tu: self.state == State::Accepted,
            ..Output::default()
        }
    }

    /// The TU sends a response ([`Machine::send_response`]): only an INVITE server's 2xx
    /// retransmission in Accepted passes (RFC 6026 §7.1).
    ///
    /// # Errors
    /// [`InvalidState`] for any other.
    pub(crate) fn send_response(
        &self,
        status: u16,
        encoded: Bytes,
    ) -> Result<Output, InvalidState> {
        if self.kind == Kind::InviteServer
            && self.state == State::Accepted
            && (200..300).contains(&status)
        {
            Ok(Output {
                transmit: Some(encoded),
                ..Output::default()
            })
        } else {
            Err(InvalidState { state: self.state })
        }
    }
}
