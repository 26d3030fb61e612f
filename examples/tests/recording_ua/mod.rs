//! Shared by tests that check which transport requests came over: a sip-core user agent for
//! the tokio driver that records the transport and method of every request it is given.

#![allow(dead_code, reason = "each test binary uses part of the helpers")]

use std::time::{Duration, Instant};

use bytes::Bytes;
use sip_core::tokio::SansIo;
use sip_core::transaction::{Target, Transmit, Transport};
use sip_core::ua::UserAgent;
use sip_core::{Message, Method};

/// The longest one turn of the driver waits, so that a loop around it looks at its other
/// work (a stop flag) at least this often.
const WAKE: Duration = Duration::from_millis(50);

/// A user agent and the requests it got: the transport each came over, and its method.
pub(crate) struct Recording {
    pub(crate) ua: UserAgent,
    pub(crate) requests: Vec<(Transport, Method)>,
}

impl Recording {
    pub(crate) fn new(ua: UserAgent) -> Self {
        Self {
            ua,
            requests: Vec::new(),
        }
    }

    /// The transports the requests of `method` came over, in order.
    pub(crate) fn transports_of(&self, method: &Method) -> Vec<Transport> {
        self.requests
            .iter()
            .filter(|(_, m)| m == method)
            .map(|(t, _)| *t)
            .collect()
    }
}

impl SansIo for Recording {
    fn handle_input(&mut self, now: Instant, from: Target, bytes: Bytes) {
        if let Ok(Message::Request(r)) = Message::parse(bytes.clone()) {
            self.requests.push((from.transport, r.method().clone()));
        }
        self.ua.handle_datagram(now, from, bytes);
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.ua.handle_timeout(now);
    }
    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.ua.poll_transmit()
    }
    fn poll_timeout(&self) -> Option<Instant> {
        let wake = telox_examples::clock() + WAKE;
        Some(self.ua.poll_timeout().map_or(wake, |t| t.min(wake)))
    }
    fn handle_send_error(&mut self, now: Instant, to: Target) {
        self.ua.handle_transport_error(now, to);
    }
}
