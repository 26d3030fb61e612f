//! Registration to SIP trunks, shared by the PBX and the gateway: one sip-core registration
//! client per trunk (digest challenges, refresh before expiry and the retry after a failure
//! are sip-core's, see [`UserAgent::register`]; failures are retried with the exponential
//! back-off of RFC 5626 §4.5, [`RegisterRetry::rfc5626`]: 30-60 s after the first, doubling
//! to 15-30 min, back to the base after a success), progress as log lines, and an orderly
//! unregister when the program stops.
//!
//! A trunk is named by an address or by a host name / SIP URI ([`TrunkAddress::locate`]):
//! the name is located by RFC 3263 (NAPTR, SRV, A) once at start, and its targets are handed
//! to the UA, which fails over along them (RFC 3263 §4.3, sip-core's `ua::failover`).

use std::fmt;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use sip_core::Uri;
use sip_core::dns::IpFamilies;
use sip_core::locate::LocateConfig;
use sip_core::registration::RegisterRetry;
use sip_core::tokio::{DnsClient, DnsConfig};
use sip_core::transaction::{Target, Transport};
use sip_core::ua::{RegistrationId, UaEvent, UserAgent};
use tokio::net::UdpSocket;

use crate::clock;

/// A trunk (or registrar, proxy): the host its URIs name and where its requests go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrunkAddress {
    /// The host, with a port when one was given, for the URIs: `sip:<number>@<host>`, the
    /// registrar `sip:<host>`.
    pub host: String,
    /// Where requests go over UDP, in RFC 3263 order (the UA fails over along them).
    pub targets: Vec<SocketAddr>,
}

impl TrunkAddress {
    /// A trunk at one address (its URIs name the address).
    pub fn at(addr: SocketAddr) -> Self {
        Self {
            host: addr.to_string(),
            targets: vec![addr],
        }
    }

    /// `spec` as an address (`IP:PORT`), else as a host name or SIP URI
    /// (`provider.example.com`, `sip:provider.example.com;transport=udp`) located over UDP
    /// by RFC 3263: NAPTR/SRV/A through the nameserver `dns` (else those of
    /// `/etc/resolv.conf`), then the system resolver for a name without records. Addresses
    /// of `local`'s family only.
    ///
    /// # Errors
    /// A message when `spec` is neither, names another transport than UDP, or has no UDP
    /// target.
    pub async fn locate(
        spec: &str,
        dns: Option<SocketAddr>,
        local: SocketAddr,
    ) -> Result<Self, String> {
        if let Ok(addr) = spec.parse::<SocketAddr>() {
            return Ok(Self::at(addr));
        }
        let uri = server_uri(spec)
            .map_err(|e| format!("{spec}: not an address, host or SIP URI: {e}"))?;
        let config = match dns {
            Some(ns) => DnsConfig::new(vec![ns]),
            None => DnsConfig::system().map_err(|e| format!("/etc/resolv.conf: {e}"))?,
        };
        let located = LocateConfig {
            transports: vec![Transport::Udp],
        };
        let targets: Vec<SocketAddr> = DnsClient::new(config)
            .resolve(&uri, &located, IpFamilies::of(local))
            .await
            .map_err(|e| format!("{spec}: {e}"))?
            .into_iter()
            .filter(|t| t.transport == Transport::Udp)
            .map(|t| t.addr)
            .collect();
        if targets.is_empty() {
            return Err(format!("{spec}: no UDP target"));
        }
        Ok(Self {
            host: host_port(&uri),
            targets,
        })
    }

    /// The targets as the UA takes them (UDP).
    pub fn udp_targets(&self) -> Vec<Target> {
        udp_targets(&self.targets)
    }
}

impl fmt::Display for TrunkAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let named = self.targets.len() != 1
            || self.targets.first().map(ToString::to_string).as_ref() != Some(&self.host);
        if !named {
            return f.write_str(&self.host);
        }
        let list: Vec<String> = self.targets.iter().map(ToString::to_string).collect();
        write!(f, "{} ({})", self.host, list.join(", "))
    }
}

/// A server named on the command line as a SIP URI: `sip:`/`sips:` URIs as they are, a bare
/// host (`pbx.example.com`, `pbx.example.com:5070`) as `sip:HOST`.
///
/// # Errors
/// When that is not a URI.
pub fn server_uri(spec: &str) -> Result<Uri, sip_core::UriError> {
    if spec.starts_with("sip:") || spec.starts_with("sips:") {
        spec.parse()
    } else {
        format!("sip:{spec}").parse()
    }
}

/// `uri`'s host, with its port when it has one (the domain of URIs made for that server).
pub fn host_port(uri: &Uri) -> String {
    match uri.port() {
        Some(port) => format!("{}:{port}", uri.host()),
        None => uri.host().to_owned(),
    }
}

/// `addrs` as UDP targets.
pub fn udp_targets(addrs: &[SocketAddr]) -> Vec<Target> {
    addrs
        .iter()
        .map(|&addr| Target {
            transport: Transport::Udp,
            addr,
        })
        .collect()
}

/// A log line for a request the UA sent to the next target (RFC 3263 §4.3).
pub fn failover_line(what: &str, event: &UaEvent) -> Option<String> {
    match event {
        UaEvent::FailedOver {
            failed,
            next,
            status,
            ..
        } => Some(format!(
            "{what}: {} failed ({status}); sent again to {}",
            failed.addr, next.addr
        )),
        _ => None,
    }
}

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
    /// Where they go when `target` fails, in order (RFC 3263 §4.3).
    pub alternates: Vec<SocketAddr>,
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
        Self::located(name, user, &TrunkAddress::at(registrar), expires)
    }

    /// A registration of `user` at `registrar`: `sip:<host>` as Request-URI,
    /// `sip:user@<host>` as address-of-record, sent to its targets in order.
    ///
    /// # Errors
    /// A message when `user` cannot form a SIP URI or `registrar` has no target.
    pub fn located(
        name: &str,
        user: &str,
        registrar: &TrunkAddress,
        expires: u32,
    ) -> Result<Self, String> {
        let bad = |_| format!("trunk {name}: user {user:?} does not form a SIP URI");
        let host = &registrar.host;
        let (target, alternates) = registrar
            .targets
            .split_first()
            .ok_or_else(|| format!("trunk {name}: no address for {host}"))?;
        Ok(Self {
            name: name.to_owned(),
            registrar: format!("sip:{host}").parse().map_err(bad)?,
            aor: format!("sip:{user}@{host}").parse().map_err(bad)?,
            target: *target,
            alternates: alternates.to_vec(),
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
                let mut addrs = vec![spec.target];
                addrs.extend_from_slice(&spec.alternates);
                let id = match ua.register(
                    now,
                    spec.registrar.clone(),
                    spec.aor.clone(),
                    udp_targets(&addrs),
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
            UaEvent::FailedOver {
                registration: Some(id),
                ..
            } => {
                let entry = self.entry(*id)?;
                failover_line(&format!("trunk {}", entry.spec.name), event)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_trunk_is_an_address_or_a_located_name() {
        let local: SocketAddr = "127.0.0.1:0".parse().unwrap();
        // No DNS for an address; its URIs name it.
        let t = TrunkAddress::locate("127.0.0.1:5090", None, local)
            .await
            .unwrap();
        assert_eq!(t, TrunkAddress::at("127.0.0.1:5090".parse().unwrap()));
        assert_eq!(t.to_string(), "127.0.0.1:5090");
        // A single-label name goes to the system resolver (/etc/hosts), not to the
        // nameserver (nothing listens at port 9 of loopback); the URIs keep the name.
        let dead_ns = Some("127.0.0.1:9".parse().unwrap());
        for spec in ["localhost:5099", "sip:localhost:5099"] {
            let t = TrunkAddress::locate(spec, dead_ns, local).await.unwrap();
            assert_eq!(t.host, "localhost:5099");
            assert_eq!(t.targets, ["127.0.0.1:5099".parse::<SocketAddr>().unwrap()]);
            assert_eq!(t.to_string(), "localhost:5099 (127.0.0.1:5099)");
            let reg = TrunkRegistration::located("1", "4930", &t, 600).unwrap();
            assert_eq!(reg.registrar.to_string(), "sip:localhost:5099");
            assert_eq!(reg.aor.to_string(), "sip:4930@localhost:5099");
            assert_eq!(reg.target, t.targets[0]);
            assert!(reg.alternates.is_empty());
        }
        assert!(
            TrunkAddress::locate("not a host", None, local)
                .await
                .is_err()
        );
        let none = TrunkAddress {
            host: "x".into(),
            targets: Vec::new(),
        };
        assert!(TrunkRegistration::located("1", "u", &none, 600).is_err());
    }
}
