//! Registration to SIP trunks, shared by the PBX and the gateway: one sip-core registration
//! client per trunk (digest challenges, refresh before expiry and the retry after a failure
//! are sip-core's, see [`UserAgent::register`]; failures are retried with the exponential
//! back-off of RFC 5626 §4.5, [`RegisterRetry::rfc5626`]: 30-60 s after the first, doubling
//! to 15-30 min, back to the base after a success), progress as log lines, and an orderly
//! unregister when the program stops.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use sip_core::Uri;
use sip_core::registration::RegisterRetry;
use sip_core::transaction::{Target, Transport};
use sip_core::ua::{RegistrationId, UaEvent, UserAgent};
use tokio::net::UdpSocket;

use crate::clock;

/// What to register at one trunk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrunkRegistration {
    /// The trunk's name (for log lines).
    pub name: String,
    /// The registrar URI (the REGISTER Request-URI), e.g. `sip:trunk.example.com`.
    pub registrar: Uri,
    /// The address-of-record registered, e.g. `sip:4930123@trunk.example.com`.
    pub aor: Uri,
    /// Where the REGISTERs are sent.
    pub target: SocketAddr,
    /// Requested expiry in seconds.
    pub expires: u32,
}

impl TrunkRegistration {
    /// A registration of `user` at `registrar` (`sip:<registrar address>` as Request-URI,
    /// `sip:user@<registrar address>` as address-of-record).
    ///
    /// # Errors
    /// A message when `user` cannot form a SIP URI.
    pub fn new(
        name: &str,
        user: &str,
        registrar: SocketAddr,
        expires: u32,
    ) -> Result<Self, String> {
        let bad = |_| format!("trunk {name}: user {user:?} does not form a SIP URI");
        Ok(Self {
            name: name.to_owned(),
            registrar: format!("sip:{registrar}").parse().map_err(bad)?,
            aor: format!("sip:{user}@{registrar}").parse().map_err(bad)?,
            target: registrar,
            expires,
        })
    }
}

#[derive(Debug)]
struct Entry {
    spec: TrunkRegistration,
    id: Option<RegistrationId>,
    registered: bool,
    failures: u32,
}

/// The registrations of a program to its trunks.
#[derive(Debug, Default)]
pub struct TrunkRegistrations {
    entries: Vec<Entry>,
}

impl TrunkRegistrations {
    /// Sends the first REGISTER of each of `specs` through `ua`; returns log lines for the ones
    /// that could not be sent.
    pub fn start(
        ua: &mut UserAgent,
        now: Instant,
        specs: Vec<TrunkRegistration>,
    ) -> (Self, Vec<String>) {
        let mut lines = Vec::new();
        let entries = specs
            .into_iter()
            .map(|spec| {
                let target = Target {
                    transport: Transport::Udp,
                    addr: spec.target,
                };
                let id = match ua.register(
                    now,
                    spec.registrar.clone(),
                    spec.aor.clone(),
                    target,
                    spec.expires,
                ) {
                    Ok(id) => {
                        // The id was just returned, so this cannot fail.
                        let _ = ua.set_register_retry(id, RegisterRetry::rfc5626());
                        lines.push(format!(
                            "trunk {}: registering {} at {}",
                            spec.name, spec.aor, spec.target
                        ));
                        Some(id)
                    }
                    Err(e) => {
                        lines.push(format!("trunk {}: REGISTER failed: {e}", spec.name));
                        None
                    }
                };
                Entry {
                    spec,
                    id,
                    registered: false,
                    failures: 0,
                }
            })
            .collect();
        (Self { entries }, lines)
    }

    /// Takes a registration event of the UA; returns a log line when the event was one of
    /// ours (other events return `None` and are the caller's).
    pub fn on_event(&mut self, event: &UaEvent) -> Option<String> {
        match event {
            UaEvent::Registered { id, expires } => {
                let entry = self.entry(*id)?;
                entry.registered = true;
                entry.failures = 0;
                Some(format!(
                    "trunk {}: registered {} for {expires} s",
                    entry.spec.name, entry.spec.aor
                ))
            }
            UaEvent::RegistrationFailed { id, status } => {
                let entry = self.entry(*id)?;
                entry.registered = false;
                entry.failures += 1;
                Some(format!(
                    "trunk {}: registration failed ({status}), attempt {}; retrying",
                    entry.spec.name, entry.failures
                ))
            }
            UaEvent::Unregistered { id } => {
                let entry = self.entry(*id)?;
                entry.registered = false;
                entry.id = None;
                Some(format!(
                    "trunk {}: unregistered {}",
                    entry.spec.name, entry.spec.aor
                ))
            }
            _ => None,
        }
    }

    fn entry(&mut self, id: RegistrationId) -> Option<&mut Entry> {
        self.entries.iter_mut().find(|e| e.id == Some(id))
    }

    /// Trunks currently registered.
    pub fn registered(&self) -> usize {
        self.entries.iter().filter(|e| e.registered).count()
    }

    /// Failed attempts since the last success, summed over the trunks.
    pub fn failures(&self) -> u32 {
        self.entries.iter().map(|e| e.failures).sum()
    }

    /// Removes every binding (REGISTER with `Expires: 0`); the [`UaEvent::Unregistered`]
    /// events end the wait of [`TrunkRegistrations::unregister_all`].
    pub fn unregister(&mut self, ua: &mut UserAgent, now: Instant) {
        for e in &mut self.entries {
            match e.id {
                Some(id) if ua.unregister(now, id).is_ok() => {}
                _ => e.id = None,
            }
        }
    }

    /// True while an unregistration is still waiting for its answer.
    pub fn pending(&self) -> bool {
        self.entries.iter().any(|e| e.id.is_some())
    }

    /// Unregisters from every trunk and drives `ua` on `sock` until the registrars answered
    /// or `limit` passed (the program is stopping; other events are dropped). Returns the
    /// log lines.
    pub async fn unregister_all(
        &mut self,
        ua: &mut UserAgent,
        sock: &UdpSocket,
        limit: Duration,
    ) -> Vec<String> {
        let mut lines = Vec::new();
        let end = clock() + limit;
        self.unregister(ua, clock());
        let mut buf = vec![0u8; 65_536];
        while self.pending() {
            while let Some(t) = ua.poll_transmit() {
                let _ = sock.send_to(&t.payload, t.destination).await;
            }
            let now = clock();
            if now >= end {
                break;
            }
            let wake = ua.poll_timeout().map_or(end, |t| t.min(end));
            tokio::select! {
                r = sock.recv_from(&mut buf) => if let Ok((n, from)) = r {
                    let data = Bytes::copy_from_slice(buf.get(..n).unwrap_or_default());
                    ua.handle_datagram(clock(), Target { transport: Transport::Udp, addr: from }, data);
                },
                _ = tokio::time::sleep_until(tokio::time::Instant::from_std(wake)) => ua.handle_timeout(clock()),
            }
            while let Some(ev) = ua.poll_event() {
                lines.extend(self.on_event(&ev));
            }
        }
        lines
    }
}
