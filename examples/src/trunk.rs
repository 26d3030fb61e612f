//! Registration to SIP trunks, shared by the PBX and the gateway: one sip-core registration
//! client per trunk (digest challenges, refresh before expiry and the retry after a failure
//! are sip-core's, see [`UserAgent::register`]; failures are retried with the exponential
//! back-off of RFC 5626 §4.5, [`RegisterRetry::rfc5626`]: 30-60 s after the first, doubling
//! to 15-30 min, back to the base after a success), progress as log lines, and an orderly
//! unregister when the program stops.
//!
//! A trunk is named by an address or by a host name / SIP URI ([`ServerAddress`]): the name
//! is located by RFC 3263 (NAPTR, SRV, A), and its targets are handed to the UA, which fails
//! over along them (RFC 3263 §4.3, sip-core's `ua::failover`). Both programs keep the
//! targets no longer than the smallest TTL of their records and locate the name again
//! ([`TrunkAddress::server`], [`UaEvent::TargetsExpired`] for a registrar): the PBX for the
//! next call after that ([`Located`]), the gateway as soon as they expire
//! ([`TrunkAddress::locate_name`]).

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use sip_core::dns::IpFamilies;
use sip_core::header::RSeq;
use sip_core::locate::LocateConfig;
use sip_core::registration::RegisterRetry;
use sip_core::tokio::{DnsClient, DnsConfig, Driver, Resolver};
use sip_core::transaction::{Target, Transport};
use sip_core::ua::{LegId, RegistrationId, TargetList, UaEvent, UserAgent};
use sip_core::{Response, Uri};
use tokio::sync::mpsc;

use crate::cli::Cidr;
use crate::clock;

/// A server as a configuration names it: an address (`IP:PORT`), or a host name or SIP URI
/// (`provider.example.com`, `sip:provider.example.com;transport=udp`) to locate by RFC 3263.
/// Parsed from a string, so a config field that held an address takes either.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "String")]
pub enum ServerAddress {
    /// An address, used as it is.
    Addr(SocketAddr),
    /// A `sip:`/`sips:` URI (a bare host `h` is `sip:h`) to locate; an IP host in it needs
    /// no DNS.
    Name(Uri),
}

impl ServerAddress {
    /// The host for the URIs made for the server (`sip:<number>@<host>`, the registrar
    /// `sip:<host>`): the address, or the name with its port when it has one.
    pub fn host(&self) -> String {
        match self {
            Self::Addr(a) => a.to_string(),
            Self::Name(uri) => host_port(uri),
        }
    }

    /// The transport requests to the server go over: the one its URI names
    /// (`sip:carrier.example;transport=tcp`: TCP; `transport=tls`: TLS), TLS for a `sips:`
    /// URI without the parameter (RFC 3261 §26.2, RFC 3263 §4.1), else UDP (an address, or a
    /// `sip:` URI without the parameter).
    pub fn transport(&self) -> Transport {
        self.named_transport().unwrap_or(Transport::Udp)
    }

    /// The URI to locate for requests over `transport` (the trunk's one transport): the
    /// server's own when it names a transport (or `transport` is UDP, what an unnamed `sip:`
    /// URI locates to), else the URI with `;transport=tcp`/`tls` added before any headers, so
    /// RFC 3263 (§4.1, §4.2) looks for that transport's targets and default port (5061 for
    /// TLS) instead of locating UDP targets that the trunk then cannot use. `None` for an
    /// address.
    pub fn locate_uri(&self, transport: Transport) -> Option<Uri> {
        let Self::Name(uri) = self else {
            return None;
        };
        if self.named_transport().is_some() || transport == Transport::Udp {
            return Some(uri.clone());
        }
        let text = uri.as_str();
        let (head, headers) = text.split_at(text.find('?').unwrap_or(text.len()));
        let name = match transport {
            Transport::Tls => "tls",
            Transport::Tcp => "tcp",
            _ => return Some(uri.clone()),
        };
        Uri::parse(Bytes::from(format!("{head};transport={name}{headers}")))
            .ok()
            .or_else(|| Some(uri.clone()))
    }

    /// The transport the server's URI names by itself: its `transport` parameter, or TLS
    /// for a `sips:` URI (RFC 3261 §26.2); `None` for an address or a `sip:` URI without
    /// the parameter, which go over whatever the rest of the configuration says.
    pub fn named_transport(&self) -> Option<Transport> {
        match self {
            Self::Addr(_) => None,
            Self::Name(uri) if uri.scheme() == sip_core::Scheme::Sips => Some(Transport::Tls),
            // `from_str` refused a URI naming a transport telox cannot use, so the error
            // arm is not reached.
            Self::Name(uri) => sip_core::locate::named_transport(uri).ok().flatten(),
        }
    }
}

impl FromStr for ServerAddress {
    type Err = String;

    fn from_str(spec: &str) -> Result<Self, String> {
        if let Ok(addr) = spec.parse::<SocketAddr>() {
            return Ok(Self::Addr(addr));
        }
        let uri = server_uri(spec)
            .map_err(|e| format!("{spec}: not an address, host or SIP URI: {e}"))?;
        sip_core::locate::named_transport(&uri).map_err(|e| format!("{spec}: {e}"))?;
        Ok(Self::Name(uri))
    }
}

impl TryFrom<String> for ServerAddress {
    type Error = String;

    fn try_from(spec: String) -> Result<Self, String> {
        spec.parse()
    }
}

impl From<SocketAddr> for ServerAddress {
    fn from(addr: SocketAddr) -> Self {
        Self::Addr(addr)
    }
}

impl fmt::Display for ServerAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Addr(a) => write!(f, "{a}"),
            Self::Name(uri) => write!(f, "{uri}"),
        }
    }
}

/// A trunk (or registrar, proxy): the host its URIs name and where its requests go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrunkAddress {
    /// The host, with a port when one was given, for the URIs: `sip:<number>@<host>`, the
    /// registrar `sip:<host>`.
    pub host: String,
    /// Where requests go over [`TrunkAddress::transport`], in RFC 3263 order (the UA fails
    /// over along them).
    pub targets: Vec<SocketAddr>,
    /// The transport of the targets: the one the trunk's URI names (`;transport=tcp`),
    /// else UDP.
    pub transport: Transport,
    /// When the targets go stale: the smallest TTL of the DNS records they came from
    /// (`None`: never, an address).
    pub expires: Option<Instant>,
    /// The name the targets were located from, to locate again once they expire (`None`:
    /// an address).
    pub server: Option<Uri>,
}

impl TrunkAddress {
    /// A trunk at one address (its URIs name the address).
    pub fn at(addr: SocketAddr) -> Self {
        Self {
            host: addr.to_string(),
            targets: vec![addr],
            transport: Transport::Udp,
            expires: None,
            server: None,
        }
    }

    /// The targets of `list` (located for `server`) over `transport` (the trunk's, which a
    /// separate registrar shares: [`crate::config::Trunk::transport`]; else
    /// [`ServerAddress::transport`]), with its expiry.
    ///
    /// # Errors
    /// A message when `list` has no target over that transport.
    pub fn from_list(
        server: &ServerAddress,
        transport: Transport,
        list: &TargetList,
    ) -> Result<Self, String> {
        let targets: Vec<SocketAddr> = list
            .as_slice()
            .iter()
            .filter(|t| t.transport == transport)
            .map(|t| t.addr)
            .collect();
        if targets.is_empty() {
            return Err(format!("{server}: no {} target", transport.as_via_str()));
        }
        Ok(Self {
            host: server.host(),
            targets,
            transport,
            expires: list.expires(),
            server: match server {
                ServerAddress::Name(uri) => Some(uri.clone()),
                ServerAddress::Addr(_) => None,
            },
        })
    }

    /// The targets as the UA takes them, with their expiry.
    pub fn target_list(&self) -> TargetList {
        TargetList::new(self.sip_targets()).with_expiry(self.expires)
    }

    /// `spec` read as a [`ServerAddress`]: an address (`IP:PORT`) as it is (UDP), a host name
    /// or SIP URI (`provider.example.com`, `sip:provider.example.com;transport=tcp`) located
    /// over its transport by RFC 3263: NAPTR/SRV/A through the nameserver `dns` (else those of
    /// `/etc/resolv.conf`), then the system resolver for a name without records. Addresses
    /// of `local`'s family only. The targets go stale with their records
    /// ([`TrunkAddress::expires`]).
    ///
    /// # Errors
    /// A message when `spec` is neither, names a transport telox cannot use, or has no
    /// target over its transport.
    pub async fn locate(
        spec: &str,
        dns: Option<SocketAddr>,
        local: SocketAddr,
    ) -> Result<Self, String> {
        let uri = match spec.parse::<ServerAddress>()? {
            ServerAddress::Addr(addr) => return Ok(Self::at(addr)),
            ServerAddress::Name(uri) => uri,
        };
        Self::locate_name(&mut dns_client(dns)?, &uri, local).await
    }

    /// The name `uri` located over its transport by RFC 3263 with `client` (its cache), as
    /// [`TrunkAddress::locate`] does: also to locate [`TrunkAddress::server`] again once the
    /// targets expire.
    ///
    /// # Errors
    /// A message when the name has no target over its transport.
    pub async fn locate_name(
        client: &mut DnsClient,
        uri: &Uri,
        local: SocketAddr,
    ) -> Result<Self, String> {
        let server = ServerAddress::Name(uri.clone());
        let located = LocateConfig {
            transports: vec![server.transport()],
        };
        let list = client
            .resolve_list(uri, &located, IpFamilies::of(local))
            .await
            .map_err(|e| format!("{uri}: {e}"))?;
        Self::from_list(&server, server.transport(), &list)
    }

    /// The targets as the UA takes them (over [`TrunkAddress::transport`]).
    pub fn sip_targets(&self) -> Vec<Target> {
        let transport = self.transport;
        self.targets
            .iter()
            .map(|&addr| Target { transport, addr })
            .collect()
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

/// An address or network a carrier's requests are taken from (a trunk's `sources`): an IP
/// or CIDR prefix (`203.0.113.7`, `203.0.113.0/24`, `2001:db8::/48`), with an optional port
/// (`203.0.113.7:5060`, `203.0.113.0/24:5060`, `[2001:db8::7]:5060`). The port is the
/// source port of UDP requests; over TCP and TLS the connection is what counts (its source
/// port is an ephemeral one), so any port matches there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct SourceNet {
    /// The addresses.
    pub net: Cidr,
    /// The UDP source port, `None`: any.
    pub port: Option<u16>,
}

impl SourceNet {
    /// Exactly `addr` (its IP, and its port over UDP): a trunk's located target, the
    /// default source of its requests.
    pub fn exact(addr: SocketAddr) -> Self {
        let ip = addr.ip().to_canonical();
        Self {
            net: Cidr {
                addr: ip,
                prefix: if ip.is_ipv4() { 32 } else { 128 },
            },
            port: Some(addr.port()),
        }
    }

    /// Whether a request from `peer` comes from here (an IPv4-mapped IPv6 source is read as
    /// its IPv4 address).
    pub fn admits(&self, peer: Target) -> bool {
        self.net.contains(peer.addr.ip().to_canonical())
            && (peer.transport != Transport::Udp || self.port.is_none_or(|p| p == peer.addr.port()))
    }
}

/// Whether a request from `peer`, to a program listening at IP `host`, is a carrier's: from
/// one of `sources` when any are configured, else from one of `located` (the trunk's
/// addresses, [`SourceNet::exact`]: over TCP/TLS from any port). A trunk on the program's own
/// host (its IP, or loopback when it listens on all addresses) is known by its exact address
/// over every transport: every other program there connects from that IP too (a phone whose
/// INVITE went over TCP for its size), and would be taken for the carrier.
pub fn carrier_source(
    sources: &[SourceNet],
    located: &[SocketAddr],
    host: IpAddr,
    peer: Target,
) -> bool {
    if !sources.is_empty() {
        return sources.iter().any(|s| s.admits(peer));
    }
    let (host, from) = (host.to_canonical(), peer.addr.ip().to_canonical());
    located.iter().any(|&a| {
        let ip = a.ip().to_canonical();
        if ip == host || (host.is_unspecified() && ip.is_loopback()) {
            from == ip && peer.addr.port() == a.port()
        } else {
            SourceNet::exact(a).admits(peer)
        }
    })
}

impl FromStr for SourceNet {
    type Err = String;

    fn from_str(spec: &str) -> Result<Self, String> {
        let bad = |e: &str| format!("{spec}: not an IP, CIDR prefix or either with :PORT: {e}");
        let (net, port) = if let Some(rest) = spec.strip_prefix('[') {
            let (net, port) = rest
                .split_once("]:")
                .ok_or_else(|| bad("[...] without :PORT"))?;
            (net, Some(port))
        } else if spec.matches(':').count() == 1 {
            let (net, port) = spec.split_once(':').ok_or_else(|| bad("no port"))?;
            (net, Some(port))
        } else {
            (spec, None)
        };
        let port = match port {
            Some(p) => Some(p.parse::<u16>().map_err(|_| bad("bad port"))?),
            None => None,
        };
        let net: Cidr = net.parse().map_err(bad)?;
        Ok(Self { net, port })
    }
}

impl SourceNet {
    /// The `--trunk-source` values of a command line (the PBX's, the gateway's).
    ///
    /// # Errors
    /// A message naming the first value that is not a source.
    pub fn from_flags(specs: &[String]) -> Result<Vec<Self>, String> {
        specs
            .iter()
            .map(|s| s.parse().map_err(|e| format!("bad --trunk-source {e}")))
            .collect()
    }
}

impl TryFrom<String> for SourceNet {
    type Error = String;

    fn try_from(spec: String) -> Result<Self, String> {
        spec.parse()
    }
}

/// How [`Located::lookup`] answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup<T> {
    /// The targets, fresh.
    Ready(T),
    /// None fresh: locate the name now and hand the result to [`Located::resolved`].
    Resolve,
    /// None fresh, and a resolution is running: wait for it.
    Wait,
}

/// How long the targets of a name that could not be located again are used before the
/// next try (so a nameserver that is down costs one lookup per this, not one per call).
pub const RELOCATE_RETRY: Duration = Duration::from_secs(30);

/// The least time targets are kept, whatever TTL their records have (a TTL of 0 would
/// otherwise have every request, or a program relocating at expiry, ask without pause).
pub const RELOCATE_MIN: Duration = Duration::from_secs(1);

/// Targets located by RFC 3263 that go stale with the DNS records they came from: a
/// trunk's [`TrunkAddress`], a registrar's [`TargetList`].
pub trait Expiring: Clone {
    /// When they go stale (`None`: never).
    fn expires(&self) -> Option<Instant>;
    /// Sets when they go stale.
    fn set_expires(&mut self, at: Option<Instant>);
}

impl Expiring for TrunkAddress {
    fn expires(&self) -> Option<Instant> {
        self.expires
    }

    fn set_expires(&mut self, at: Option<Instant>) {
        self.expires = at;
    }
}

impl Expiring for TargetList {
    fn expires(&self) -> Option<Instant> {
        Self::expires(self)
    }

    fn set_expires(&mut self, at: Option<Instant>) {
        *self = std::mem::take(self).with_expiry(at);
    }
}

/// A name's targets between resolutions, sans-IO, the one stale-target rule of the PBX's
/// trunks, the gateway's trunks and the phone's registrar: kept no longer than the
/// smallest TTL of the DNS records they came from (RFC 3263 §4.3 takes the order from
/// those records) and at least [`RELOCATE_MIN`], so a server moved by DNS is found by the
/// next request after that without a restart; one resolution at a time however many
/// requests find them stale; a failed resolution keeps the old targets (they beat none)
/// for [`RELOCATE_RETRY`]. The caller resolves (off its event loop) when
/// [`Located::lookup`] says so: at the next request (the PBX, the phone), or as soon as
/// they expire ([`Located::stale_at`], the gateway).
#[derive(Clone, Debug)]
pub struct Located<T> {
    current: Option<T>,
    resolving: bool,
}

impl<T> Default for Located<T> {
    fn default() -> Self {
        Self {
            current: None,
            resolving: false,
        }
    }
}

impl<T: Expiring> Located<T> {
    /// Targets that never go stale (an address).
    pub fn fixed(mut targets: T) -> Self {
        targets.set_expires(None);
        Self {
            current: Some(targets),
            resolving: false,
        }
    }

    /// Targets located already (at the start), stale from their own expiry on.
    pub fn new(targets: T) -> Self {
        Self {
            current: Some(targets),
            resolving: false,
        }
    }

    /// The targets to use at `now`: [`Lookup::Ready`] while fresh; else [`Lookup::Resolve`]
    /// once (the caller locates the name) and [`Lookup::Wait`] until
    /// [`Located::resolved`].
    pub fn lookup(&mut self, now: Instant) -> Lookup<T> {
        match &self.current {
            Some(c) if c.expires().is_none_or(|e| now < e) => Lookup::Ready(c.clone()),
            _ if self.resolving => Lookup::Wait,
            _ => {
                self.resolving = true;
                Lookup::Resolve
            }
        }
    }

    /// Asks for a resolution whether or not the targets are stale (a registrar's
    /// [`UaEvent::TargetsExpired`]): true when the caller is to locate the name now, false
    /// while one runs.
    pub fn relocate(&mut self) -> bool {
        !std::mem::replace(&mut self.resolving, true)
    }

    /// When the targets go stale, for a caller that locates them again at once: `None`
    /// while a resolution runs, for targets that never go stale, and before the first
    /// location.
    pub fn stale_at(&self) -> Option<Instant> {
        if self.resolving {
            return None;
        }
        self.current.as_ref()?.expires()
    }

    /// The targets last located, stale or not.
    pub fn current(&self) -> Option<&T> {
        self.current.as_ref()
    }

    /// The result of the resolution [`Located::lookup`] (or [`Located::relocate`]) asked
    /// for, at `now`; returns the targets for the requests that waited. New targets are
    /// kept at least [`RELOCATE_MIN`]; a failure keeps the old ones for
    /// [`RELOCATE_RETRY`]; `None` when there are none.
    pub fn resolved(&mut self, now: Instant, result: Result<T, String>) -> Option<T> {
        self.resolving = false;
        match result {
            Ok(mut targets) => {
                if let (Some(e), Some(floor)) = (targets.expires(), now.checked_add(RELOCATE_MIN)) {
                    targets.set_expires(Some(e.max(floor)));
                }
                self.current = Some(targets);
            }
            Err(_) => {
                if let Some(c) = &mut self.current {
                    c.set_expires(now.checked_add(RELOCATE_RETRY));
                }
            }
        }
        self.current.clone()
    }
}

/// A DNS client asking the nameserver `dns`, else those of `/etc/resolv.conf`.
///
/// # Errors
/// A message when `/etc/resolv.conf` cannot be read.
pub fn dns_client(dns: Option<SocketAddr>) -> Result<DnsClient, String> {
    let config = match dns {
        Some(ns) => DnsConfig::new(vec![ns]),
        None => DnsConfig::system().map_err(|e| format!("/etc/resolv.conf: {e}"))?,
    };
    Ok(DnsClient::new(config))
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

/// The targets of a name (RFC 3263), those of `transport` first choice: the others only
/// when it has none; they go stale with the records they came from.
///
/// # Errors
/// A message naming `uri` when it cannot be located.
pub async fn locate_name(
    resolver: &Resolver,
    uri: &Uri,
    transport: Transport,
) -> Result<TargetList, String> {
    let all = resolver
        .resolve_list(uri)
        .await
        .map_err(|e| format!("{uri}: {e}"))?;
    let ours: Vec<Target> = all
        .as_slice()
        .iter()
        .copied()
        .filter(|t| t.transport == transport)
        .collect();
    if ours.is_empty() {
        return Ok(all);
    }
    Ok(TargetList::new(ours).with_expiry(all.expires()))
}

/// The next hop of an established call's dialog, located (or not) by RFC 3263 for its
/// later requests ([`UserAgent::set_dialog_target`]).
#[derive(Debug)]
pub struct DialogHop {
    /// The call's leg.
    pub leg: LegId,
    /// The dialog's next hop ([`dialog_hop_name`]).
    pub hop: Uri,
    /// Its targets, or why there are none.
    pub found: Result<TargetList, String>,
}

/// The next hop of `leg`'s dialog (the first route, else the peer's Contact) when it is a
/// host name, to locate once the call is up so that its BYE and re-INVITEs reach the
/// address of that name (a carrier answering from one SBC with `Contact:
/// <sip:...@sbc2.carrier.example>`). `None` for an IP next hop: the requests keep going
/// where the INVITE went or came from, which is also right behind a NAT that rewrote
/// nothing in the Contact. `None` without a dialog.
pub fn dialog_hop_name(ua: &UserAgent, leg: LegId) -> Option<Uri> {
    let hop = ua.dialog(leg)?.next_hop();
    sip_core::locate::ip_target(hop)
        .is_err()
        .then(|| hop.clone())
}

/// Starts locating the next hop of `leg`'s dialog when it is a host name
/// ([`dialog_hop_name`]): off the event loop with `lookup`'s resolver, its result sent to
/// `lookup`'s channel as `wrap(hop)` (for [`set_dialog_hop`]). Returns the log line when it
/// cannot start (no resolver: `lookup` is `None`).
pub fn locate_dialog_hop<T: Send + 'static>(
    ua: &UserAgent,
    leg: LegId,
    transport: Transport,
    lookup: Option<(&Resolver, &mpsc::Sender<T>)>,
    wrap: fn(DialogHop) -> T,
) -> Option<String> {
    let hop = dialog_hop_name(ua, leg)?;
    let Some((resolver, tx)) = lookup else {
        return Some(format!(
            "in-dialog requests: cannot locate {hop}: no nameserver"
        ));
    };
    let (resolver, tx) = (resolver.clone(), tx.clone());
    tokio::spawn(async move {
        let found = locate_name(&resolver, &hop, transport).await;
        let _ = tx.send(wrap(DialogHop { leg, hop, found })).await;
    });
    None
}

/// Hands a located dialog next hop to `ua` for the leg's in-dialog requests; returns the
/// log line (the target taken, or why none). Dropped (`None`) when the leg's dialog no
/// longer has that next hop: an early dialog's lookup that finished after another fork
/// answered, or after a target refresh.
pub fn set_dialog_hop(ua: &mut UserAgent, located: DialogHop) -> Option<String> {
    let DialogHop { leg, hop, found } = located;
    if dialog_hop_name(ua, leg).as_ref() != Some(&hop) {
        return None;
    }
    let line = match found.map(|list| ua.set_dialog_target(leg, list.as_slice())) {
        Ok(Ok(t)) => format!(
            "in-dialog requests to {hop}: {} {}",
            t.transport.as_via_str(),
            t.addr
        ),
        Ok(Err(e)) => format!("in-dialog requests: {hop}: {e}"),
        Err(e) => format!("in-dialog requests: cannot locate {e}"),
    };
    Some(line)
}

/// True for a reliable provisional response (RFC 3262: an RSeq): the early dialog it
/// makes gets PRACKs, and may get UPDATEs, so the programs locate its next hop by name as
/// they do an answered call's.
pub fn is_reliable(response: &Response) -> bool {
    response.status().as_u16() > 100 && response.header::<RSeq>().is_some()
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
    /// The transport of `target` and `alternates`: the trunk's, so that its REGISTERs, their
    /// refreshes and challenge answers go the way its calls go.
    pub transport: Transport,
    /// When those targets go stale ([`TrunkAddress::expires`]); the UA asks for new ones
    /// then ([`UaEvent::TargetsExpired`]).
    pub stale_at: Option<Instant>,
    /// The name they were located from ([`TrunkAddress::server`]), to locate again.
    pub server: Option<Uri>,
    /// Requested expiry in seconds.
    pub expires: u32,
}

impl TrunkRegistration {
    /// A registration of `user` at `registrar`: `sip:<host>` as Request-URI,
    /// `sip:user@<host>` as address-of-record, sent to its targets in order over its
    /// transport.
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
            transport: registrar.transport,
            stale_at: registrar.expires,
            server: registrar.server.clone(),
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
        let mut regs = Self::default();
        let lines = specs
            .into_iter()
            .map(|spec| regs.add(ua, now, spec))
            .collect();
        (regs, lines)
    }

    /// Sends the first REGISTER of `spec` through `ua` (a trunk whose registrar was located
    /// after the start); returns the log line.
    pub fn add(&mut self, ua: &mut UserAgent, now: Instant, spec: TrunkRegistration) -> String {
        let transport = spec.transport;
        let targets = std::iter::once(spec.target)
            .chain(spec.alternates.iter().copied())
            .map(|addr| Target { transport, addr })
            .collect();
        let targets = TargetList::new(targets).with_expiry(spec.stale_at);
        let (id, line) = match ua.register(
            now,
            spec.registrar.clone(),
            spec.aor.clone(),
            targets,
            spec.expires,
        ) {
            Ok(id) => {
                // The id was just returned, so this cannot fail.
                let _ = ua.set_register_retry(id, RegisterRetry::rfc5626());
                let line = format!(
                    "trunk {}: registering {} at {} over {}",
                    spec.name,
                    spec.aor,
                    spec.target,
                    transport.as_via_str()
                );
                (Some(id), line)
            }
            Err(e) => (None, format!("trunk {}: REGISTER failed: {e}", spec.name)),
        };
        self.entries.push(Entry {
            spec,
            id,
            registered: false,
            failures: 0,
        });
        line
    }

    /// The registration of trunk `name`, while it runs.
    pub fn id_of(&self, name: &str) -> Option<RegistrationId> {
        self.entries
            .iter()
            .find(|e| e.spec.name == name)
            .and_then(|e| e.id)
    }

    /// The name the registrar of registration `id` was located from
    /// ([`TrunkRegistration::server`]), to locate again after [`UaEvent::TargetsExpired`].
    pub fn server_of(&self, id: RegistrationId) -> Option<&Uri> {
        self.entries
            .iter()
            .find(|e| e.id == Some(id))
            .and_then(|e| e.spec.server.as_ref())
    }

    /// The trunk name of registration `id`.
    pub fn name_of(&self, id: RegistrationId) -> Option<&str> {
        self.entries
            .iter()
            .find(|e| e.id == Some(id))
            .map(|e| e.spec.name.as_str())
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

    /// Unregisters from every trunk and drives `ua` on `driver` until the registrars answered
    /// or `limit` passed (the program is stopping; other events are dropped). Returns the
    /// log lines.
    pub async fn unregister_all(
        &mut self,
        ua: &mut UserAgent,
        driver: &mut Driver,
        limit: Duration,
    ) -> Vec<String> {
        let mut lines = Vec::new();
        let end = clock() + limit;
        self.unregister(ua, clock());
        while self.pending() && clock() < end {
            // A turn cut short by the limit may lose a message half sent: the gateway is
            // stopping, and the registrar's binding then expires by itself.
            let turn = tokio::time::timeout_at(end.into(), driver.step(ua)).await;
            while let Some(ev) = ua.poll_event() {
                lines.extend(self.on_event(&ev));
            }
            if turn.is_err() {
                break;
            }
        }
        let _ = driver.flush(ua).await;
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_located_over_the_trunks_transport() {
        let name = |s: &str| s.parse::<ServerAddress>().unwrap();
        let located = |s: &str, t| name(s).locate_uri(t).map(|u| u.to_string());
        // A URI naming no transport takes the trunk's, before any headers.
        assert_eq!(
            located("sip:carrier.example", Transport::Tcp).as_deref(),
            Some("sip:carrier.example;transport=tcp")
        );
        assert_eq!(
            located("sip:10.0.0.1:5070;lr?x=y", Transport::Tls).as_deref(),
            Some("sip:10.0.0.1:5070;lr;transport=tls?x=y")
        );
        // UDP (what an unnamed sip: URI locates to) and a URI naming one stay as written.
        assert_eq!(
            located("sip:carrier.example", Transport::Udp).as_deref(),
            Some("sip:carrier.example")
        );
        assert_eq!(
            located("sips:carrier.example", Transport::Tls).as_deref(),
            Some("sips:carrier.example")
        );
        assert_eq!(
            located("sip:carrier.example;transport=tcp", Transport::Tcp).as_deref(),
            Some("sip:carrier.example;transport=tcp")
        );
        // An address is not located.
        assert_eq!(located("127.0.0.1:5060", Transport::Tcp), None);
    }

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
            transport: Transport::Udp,
            expires: None,
            server: None,
        };
        assert!(TrunkRegistration::located("1", "u", &none, 600).is_err());
    }

    #[test]
    fn a_server_is_an_address_a_host_or_a_uri() {
        let addr: ServerAddress = "192.0.2.1:5060".parse().unwrap();
        assert_eq!(addr, ServerAddress::Addr("192.0.2.1:5060".parse().unwrap()));
        assert_eq!(addr.host(), "192.0.2.1:5060");
        for (spec, uri, host) in [
            (
                "trunk.example.com",
                "sip:trunk.example.com",
                "trunk.example.com",
            ),
            (
                "sip:trunk.example.com:5070",
                "sip:trunk.example.com:5070",
                "trunk.example.com:5070",
            ),
            (
                "sips:trunk.example.com",
                "sips:trunk.example.com",
                "trunk.example.com",
            ),
        ] {
            let s: ServerAddress = spec.parse().unwrap();
            assert_eq!(s, ServerAddress::Name(uri.parse().unwrap()), "{spec}");
            assert_eq!(s.host(), host);
        }
        // The transport a trunk's requests go over: the URI's, else UDP; named only by a
        // transport parameter or sips:.
        for (spec, transport, named) in [
            ("192.0.2.1:5060", Transport::Udp, false),
            ("trunk.example.com", Transport::Udp, false),
            ("sip:trunk.example.com;transport=udp", Transport::Udp, true),
            ("sip:192.0.2.1:5070;transport=tcp", Transport::Tcp, true),
            ("sip:trunk.example.com;transport=TLS", Transport::Tls, true),
            ("sips:trunk.example.com;transport=tcp", Transport::Tls, true),
            ("sips:trunk.example.com", Transport::Tls, true),
        ] {
            let s: ServerAddress = spec.parse().unwrap();
            assert_eq!(s.transport(), transport, "{spec}");
            assert_eq!(s.named_transport(), named.then_some(transport), "{spec}");
        }
        for bad in [
            "not a host",
            "tel:+4930",
            "sips:t.example.com;transport=udp",
        ] {
            assert!(bad.parse::<ServerAddress>().is_err(), "{bad}");
        }
    }

    #[expect(clippy::disallowed_methods, reason = "a virtual clock's origin")]
    fn origin() -> Instant {
        Instant::now()
    }

    fn located(port: u16, expires: Option<Instant>) -> TrunkAddress {
        TrunkAddress {
            host: "trunk.example.com".into(),
            targets: vec![SocketAddr::from(([192, 0, 2, 1], port))],
            transport: Transport::Udp,
            expires,
            server: None,
        }
    }

    /// RFC 3263 §4.3 orders the targets from DNS records: they are used until the smallest
    /// TTL runs out, then the next request locates the name again (one resolution however
    /// many requests wait), and a changed record is what the requests after it use.
    #[test]
    fn located_targets_are_kept_until_their_records_expire() {
        let t0 = origin();
        let secs = |s: u64| t0 + Duration::from_secs(s);
        let mut l = Located::default();
        // Never located: the first request resolves, the others wait for it.
        assert_eq!(l.lookup(t0), Lookup::Resolve);
        assert_eq!(l.lookup(t0), Lookup::Wait);
        assert_eq!(l.current(), None);
        let first = located(5060, Some(secs(60)));
        assert_eq!(l.resolved(t0, Ok(first.clone())), Some(first.clone()));
        assert_eq!(l.lookup(secs(59)), Lookup::Ready(first.clone()));
        // At the expiry: resolve again; the server moved.
        assert_eq!(l.lookup(secs(60)), Lookup::Resolve);
        assert_eq!(l.lookup(secs(61)), Lookup::Wait);
        let moved = located(5070, Some(secs(120)));
        assert_eq!(l.resolved(secs(61), Ok(moved.clone())), Some(moved.clone()));
        assert_eq!(l.lookup(secs(62)), Lookup::Ready(moved.clone()));
        // A failed lookup keeps the stale targets, for RELOCATE_RETRY.
        assert_eq!(l.lookup(secs(120)), Lookup::Resolve);
        let kept = l.resolved(secs(121), Err("no nameserver answered".into()));
        assert_eq!(kept.as_ref().map(|k| &k.targets), Some(&moved.targets));
        let retry = secs(121) + RELOCATE_RETRY;
        assert_eq!(kept.and_then(|k| k.expires), Some(retry));
        assert!(matches!(
            l.lookup(retry - Duration::from_secs(1)),
            Lookup::Ready(_)
        ));
        assert_eq!(l.lookup(retry), Lookup::Resolve);
        // Never located and failed: nothing to use, and the next request tries again.
        let mut none = Located::<TrunkAddress>::default();
        assert_eq!(none.lookup(t0), Lookup::Resolve);
        assert_eq!(none.resolved(t0, Err("NXDOMAIN".into())), None);
        assert_eq!(none.lookup(t0), Lookup::Resolve);
        // An address never goes stale.
        let mut fixed = Located::fixed(located(5060, Some(t0)));
        assert!(matches!(fixed.lookup(secs(1_000_000)), Lookup::Ready(_)));
        assert_eq!(fixed.stale_at(), None);
    }

    /// The same rule for a caller that locates again as soon as the targets go stale (the
    /// gateway's trunks) and for a registrar's [`TargetList`] (the phone): `stale_at` says
    /// when, and nothing while a lookup runs; a TTL of 0 still keeps the targets
    /// RELOCATE_MIN; a forced relocation (the UA's TargetsExpired) runs once at a time.
    #[test]
    fn stale_targets_are_located_again_once_at_a_time() {
        let t0 = origin();
        let secs = |s: u64| t0 + Duration::from_secs(s);
        let mut l = Located::new(located(5060, Some(secs(10))));
        assert_eq!(l.stale_at(), Some(secs(10)));
        assert!(matches!(l.lookup(secs(9)), Lookup::Ready(_)));
        assert_eq!(l.lookup(secs(10)), Lookup::Resolve);
        assert_eq!(l.stale_at(), None);
        // The records came back with a TTL of 0: kept RELOCATE_MIN all the same.
        let zero = l.resolved(secs(11), Ok(located(5070, Some(secs(11)))));
        assert_eq!(zero.and_then(|z| z.expires), Some(secs(11) + RELOCATE_MIN));
        assert_eq!(l.stale_at(), Some(secs(11) + RELOCATE_MIN));
        // Never located: nothing to wait for until a request asks.
        assert_eq!(Located::<TrunkAddress>::default().stale_at(), None);

        let udp = |port: u16| Target {
            transport: Transport::Udp,
            addr: SocketAddr::from(([192, 0, 2, 1], port)),
        };
        let mut reg = Located::new(TargetList::new(vec![udp(5060)]).with_expiry(Some(secs(60))));
        assert!(matches!(reg.lookup(secs(30)), Lookup::Ready(_)));
        // The UA found the registrar's targets stale: one lookup, however often it asks.
        assert!(reg.relocate());
        assert!(!reg.relocate());
        assert_eq!(reg.lookup(secs(61)), Lookup::Wait);
        let failed = reg.resolved(secs(61), Err("SERVFAIL".into())).unwrap();
        assert_eq!(failed.as_slice(), [udp(5060)]);
        assert_eq!(failed.expires(), Some(secs(61) + RELOCATE_RETRY));
        assert!(reg.relocate());
        let moved = TargetList::new(vec![udp(5070)]).with_expiry(Some(secs(200)));
        assert_eq!(reg.resolved(secs(62), Ok(moved.clone())), Some(moved));
    }

    #[test]
    fn a_located_list_keeps_its_udp_targets_and_expiry() {
        let t0 = origin();
        let server: ServerAddress = "sip:trunk.example.com".parse().unwrap();
        let tcp = Target {
            transport: Transport::Tcp,
            addr: "192.0.2.1:5060".parse().unwrap(),
        };
        let udp = Target {
            transport: Transport::Udp,
            addr: "192.0.2.2:5060".parse().unwrap(),
        };
        let list = TargetList::new(vec![tcp, udp]).with_expiry(Some(t0));
        let a = TrunkAddress::from_list(&server, Transport::Udp, &list).unwrap();
        assert_eq!(a.host, "trunk.example.com");
        assert_eq!(a.targets, [udp.addr]);
        assert_eq!(a.expires, Some(t0));
        assert_eq!(
            a.target_list(),
            TargetList::new(vec![udp]).with_expiry(Some(t0))
        );
        let reg = TrunkRegistration::located("t", "4930", &a, 600).unwrap();
        assert_eq!(reg.stale_at, Some(t0));
        assert_eq!(reg.transport, Transport::Udp);
        let only_tcp = TargetList::new(vec![tcp]);
        assert!(TrunkAddress::from_list(&server, Transport::Udp, &only_tcp).is_err());
        // A registrar of a TCP trunk keeps the TCP targets, and its REGISTERs go over TCP.
        let a = TrunkAddress::from_list(&server, Transport::Tcp, &list).unwrap();
        assert_eq!(
            (a.targets.as_slice(), a.transport),
            ([tcp.addr].as_slice(), Transport::Tcp)
        );
        let reg = TrunkRegistration::located("t", "4930", &a, 600).unwrap();
        assert_eq!((reg.target, reg.transport), (tcp.addr, Transport::Tcp));
    }
    /// A trunk's sources: IPs and prefixes with an optional port, the port checked over UDP
    /// only (a connection's source port is ephemeral); without any, the trunk's located
    /// addresses, exactly over UDP and by IP over TCP/TLS.
    #[test]
    fn a_carrier_is_known_by_its_sources() {
        let at = |transport, addr: &str| Target {
            transport,
            addr: addr.parse().unwrap(),
        };
        let udp = |a: &str| at(Transport::Udp, a);
        let tcp = |a: &str| at(Transport::Tcp, a);
        let parse = |s: &str| s.parse::<SourceNet>();
        let sbcs: Vec<SourceNet> = ["203.0.113.0/28", "198.51.100.7:5060", "[2001:db8::7]:5062"]
            .into_iter()
            .map(|s| parse(s).unwrap())
            .collect();
        let host: IpAddr = "192.0.2.100".parse().unwrap();
        let from = |peer| carrier_source(&sbcs, &[], host, peer);
        assert!(from(udp("203.0.113.9:40000")));
        assert!(!from(udp("203.0.113.16:5060")));
        assert!(from(udp("198.51.100.7:5060")));
        assert!(!from(udp("198.51.100.7:5070")));
        assert!(from(tcp("198.51.100.7:49152")));
        assert!(from(udp("[2001:db8::7]:5062")));
        assert!(from(udp("[::ffff:203.0.113.1]:5060")));
        assert!(!from(udp("[2001:db8::8]:5062")));
        assert_eq!(
            parse("203.0.113.0/24:5060").unwrap(),
            SourceNet {
                net: "203.0.113.0/24".parse().unwrap(),
                port: Some(5060)
            }
        );
        assert_eq!(parse("2001:db8::/48").unwrap().port, None);
        for bad in [
            "",
            "sbc.example",
            "203.0.113.0/33",
            "203.0.113.7:99999",
            "[2001:db8::7]",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        // Nothing configured: the located addresses, configured sources replace them.
        let located: [SocketAddr; 1] = ["192.0.2.1:5060".parse().unwrap()];
        assert!(carrier_source(&[], &located, host, udp("192.0.2.1:5060")));
        assert!(!carrier_source(&[], &located, host, udp("192.0.2.1:5061")));
        assert!(carrier_source(&[], &located, host, tcp("192.0.2.1:50123")));
        assert!(!carrier_source(
            &sbcs,
            &located,
            host,
            udp("192.0.2.1:5060")
        ));
        // A trunk on our own host: its exact address over TCP too (a local phone is not it).
        let here: IpAddr = "192.0.2.1".parse().unwrap();
        assert!(carrier_source(&[], &located, here, udp("192.0.2.1:5060")));
        assert!(!carrier_source(&[], &located, here, tcp("192.0.2.1:50123")));
        let any: IpAddr = "0.0.0.0".parse().unwrap();
        let lo: [SocketAddr; 1] = ["127.0.0.1:5080".parse().unwrap()];
        assert!(!carrier_source(&[], &lo, any, tcp("127.0.0.1:50123")));
        assert!(carrier_source(&[], &lo, any, udp("127.0.0.1:5080")));
        // In a PBX configuration file.
        let trunk: crate::config::Trunk = toml::from_str(
            "name = \"c\"\naddress = \"192.0.2.1:5060\"\nsources = [\"203.0.113.0/28\", \"198.51.100.7:5060\"]",
        )
        .unwrap();
        assert_eq!(trunk.sources, sbcs[..2]);
        let bad = "name = \"c\"\naddress = \"192.0.2.1:5060\"\nsources = [\"sbc.example\"]";
        assert!(toml::from_str::<crate::config::Trunk>(bad).is_err());
    }
}
