//! Locating SIP servers (RFC 3263 §4) as a sans-IO plan: the [`Locator`] says which DNS
//! record to look up next ([`Query`]: NAPTR, SRV, A/AAAA), the caller answers from its
//! resolver or cache, and [`Locator::targets`] orders the results into [`Target`]s to try
//! in turn (RFC 3263 §4.3: on a transport error or timeout, the next one).
//!
//! - Transport: the URI's `transport` parameter; else UDP for `sip:` and TLS for `sips:`
//!   when the host is an IP address or a port is given; else the NAPTR records of the
//!   host (services `SIP+D2U`, `SIP+D2T`, `SIPS+D2T`, and `SIP+D2W`/`SIPS+D2W` of RFC
//!   7118, flag `s`, by order then preference, only the transports we support, only secure
//!   ones for `sips:`); without usable NAPTR records, the SRV records of each transport we
//!   support (`_sip._udp`, `_sip._tcp`, `_sips._tcp`, ...); without those, UDP (TLS for
//!   `sips:`).
//! - Address and port: an IP host as is; with an explicit port, the host's A/AAAA records;
//!   otherwise the SRV records (RFC 2782: by priority, weighted random order within one
//!   priority; a target of `.` means no service), then their A/AAAA records; without SRV
//!   records, the host's A/AAAA with 5060 (5061 for TLS).
//!
//! Every list taken from the network is bounded, so hostile answers cannot grow the plan.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};

use rand::Rng;

use crate::transaction::{Target, Transport};
use crate::uri::{Scheme, Uri};

/// Most NAPTR records, SRV records per name and addresses per name considered.
pub const MAX_RECORDS: usize = 16;

/// A NAPTR record (RFC 3403) as the resolver returned it.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct NaptrRecord {
    /// Order (lower first).
    pub order: u16,
    /// Preference within one order (lower first).
    pub preference: u16,
    /// Flags (`s` for "an SRV lookup follows").
    pub flags: String,
    /// Service (`SIP+D2U`, `SIPS+D2T`, ...).
    pub service: String,
    /// Regular expression (empty for SIP: RFC 3263 §4.1 uses the replacement).
    pub regexp: String,
    /// The domain to look up SRV records for.
    pub replacement: String,
}

impl NaptrRecord {
    /// A record as RFC 3263 §4.1 publishes them: flag `s`, no regular expression, the SRV
    /// name to look up as the replacement.
    pub fn sip(
        order: u16,
        preference: u16,
        service: impl Into<String>,
        replacement: impl Into<String>,
    ) -> Self {
        Self {
            order,
            preference,
            flags: String::from("s"),
            service: service.into(),
            regexp: String::new(),
            replacement: replacement.into(),
        }
    }
}

/// An SRV record (RFC 2782).
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct SrvRecord {
    /// Priority (lower first).
    pub priority: u16,
    /// Weight within one priority.
    pub weight: u16,
    /// Port.
    pub port: u16,
    /// Host name (`.` means the service is not available there).
    pub target: String,
}

impl SrvRecord {
    /// The record (priority, weight, port, target).
    pub fn new(priority: u16, weight: u16, port: u16, target: impl Into<String>) -> Self {
        Self {
            priority,
            weight,
            port,
            target: target.into(),
        }
    }
}

/// A DNS lookup the [`Locator`] needs.
#[derive(Clone, Debug, Eq, Hash, PartialEq)]
pub enum Query {
    /// NAPTR records of the name; answer with [`Locator::answer_naptr`].
    Naptr(String),
    /// SRV records of the name; answer with [`Locator::answer_srv`].
    Srv(String),
    /// A and AAAA records of the name; answer with [`Locator::answer_addresses`].
    Address(String),
}

/// What the locator may use.
#[derive(Clone, Debug)]
pub struct LocateConfig {
    /// The transports we can use, in our order of preference for SRV lookups without
    /// NAPTR.
    pub transports: Vec<Transport>,
}

impl Default for LocateConfig {
    /// UDP, TCP and TLS.
    fn default() -> Self {
        Self {
            transports: vec![Transport::Udp, Transport::Tcp, Transport::Tls],
        }
    }
}

/// Why a URI cannot be located.
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum LocateError {
    /// Not a `sip:` or `sips:` URI.
    #[error("not a sip: or sips: uri")]
    Scheme,
    /// The `transport` parameter names a transport we do not support (or an insecure one
    /// with `sips:`).
    #[error("unsupported transport {0}")]
    Transport(String),
    /// The host is a name, not an IP address: [`ip_target`] needs DNS ([`Locator`]).
    #[error("host {0} is not an ip address")]
    HostName(String),
}

/// The transport a `sip:`/`sips:` URI names by itself, before any DNS: its `transport`
/// parameter (`udp`, `tcp`, `tls`, `ws`, `wss`, case-insensitive; with `sips:`, `tcp` means
/// TLS and `ws` means WSS, RFC 3261 §26.2 and RFC 7118 §5.2), `None` without one.
///
/// # Errors
/// [`LocateError::Scheme`] for another scheme; [`LocateError::Transport`] for an unknown
/// transport, or `udp` with `sips:` (SIPS needs TLS hop by hop, RFC 5630 §3.1.2).
pub fn named_transport(uri: &Uri) -> Result<Option<Transport>, LocateError> {
    let secure = match uri.scheme() {
        Scheme::Sip => false,
        Scheme::Sips => true,
        _ => return Err(LocateError::Scheme),
    };
    let Some(name) = uri.param("transport").flatten() else {
        return Ok(None);
    };
    let t = match name.to_ascii_lowercase().as_str() {
        "udp" if !secure => Transport::Udp,
        "tcp" if secure => Transport::Tls,
        "tcp" => Transport::Tcp,
        "tls" => Transport::Tls,
        "ws" if secure => Transport::Wss,
        "ws" => Transport::Ws,
        "wss" => Transport::Wss,
        _ => return Err(LocateError::Transport(name.to_owned())),
    };
    Ok(Some(t))
}

/// The transport towards `uri` without NAPTR/SRV (RFC 3263 §4.1 for a numeric host or an
/// explicit port): [`named_transport`], else UDP for `sip:` and TLS for `sips:`.
///
/// # Errors
/// As [`named_transport`].
pub fn uri_transport(uri: &Uri) -> Result<Transport, LocateError> {
    Ok(
        named_transport(uri)?.unwrap_or(if uri.scheme() == Scheme::Sips {
            Transport::Tls
        } else {
            Transport::Udp
        }),
    )
}

/// The port of a URI without one and without SRV records: 5061 for TLS, 5060 for UDP and
/// TCP (RFC 3261 §19.1.2), and the WebSocket defaults 80 for WS and 443 for WSS (RFC 7118
/// names none; RFC 6455 §3).
pub fn default_port(transport: Transport) -> u16 {
    match transport {
        Transport::Udp | Transport::Tcp => 5060,
        Transport::Tls => 5061,
        Transport::Ws => 80,
        Transport::Wss => 443,
    }
}

/// The host of `uri` without the brackets of an IPv6 reference.
pub fn bare_host(uri: &Uri) -> &str {
    let host = uri.host();
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
}

/// Where to send a request for `uri` when its host is an IP address, with no DNS: the
/// transport of [`uri_transport`] and the URI's port or [`default_port`]. This is the part
/// of RFC 3263 that needs no lookup; the tokio driver's `resolve` uses it, and a B2BUA can
/// route to a registered Contact with it synchronously.
///
/// # Errors
/// As [`named_transport`]; [`LocateError::HostName`] when the host is a name.
pub fn ip_target(uri: &Uri) -> Result<Target, LocateError> {
    let transport = uri_transport(uri)?;
    let host = bare_host(uri);
    let ip: IpAddr = host
        .parse()
        .map_err(|_| LocateError::HostName(host.to_owned()))?;
    let port = uri.port().unwrap_or(default_port(transport));
    Ok(Target {
        transport,
        addr: SocketAddr::new(ip, port),
    })
}

/// The RFC 3263 plan for one URI. See the module docs.
#[derive(Clone, Debug)]
pub struct Locator {
    secure: bool,
    host: String,
    port: Option<u16>,
    /// The transport the URI names, if any.
    transport: Option<Transport>,
    transports: Vec<Transport>,
    naptr: Option<Vec<NaptrRecord>>,
    srv: HashMap<String, Vec<SrvRecord>>,
    addrs: HashMap<String, Vec<IpAddr>>,
}

/// NAPTR service, SRV prefix and transport.
const SERVICES: [(&str, &str, Transport); 5] = [
    ("SIP+D2U", "_sip._udp.", Transport::Udp),
    ("SIP+D2T", "_sip._tcp.", Transport::Tcp),
    ("SIPS+D2T", "_sips._tcp.", Transport::Tls),
    ("SIP+D2W", "_sip._ws.", Transport::Ws),
    ("SIPS+D2W", "_sips._ws.", Transport::Wss),
];

/// Most names remembered per record type (the plan needs at most `MAX_RECORDS` SRV names,
/// `MAX_RECORDS` SRV targets and the host).
const MAX_NAMES: usize = 4 * MAX_RECORDS;

fn is_secure(t: Transport) -> bool {
    matches!(t, Transport::Tls | Transport::Wss)
}

impl Locator {
    /// The plan for `uri`.
    ///
    /// # Errors
    /// [`LocateError::Scheme`], [`LocateError::Transport`].
    pub fn new(uri: &Uri, config: &LocateConfig) -> Result<Self, LocateError> {
        let secure = match uri.scheme() {
            Scheme::Sip => false,
            Scheme::Sips => true,
            _ => return Err(LocateError::Scheme),
        };
        let transports: Vec<Transport> = config
            .transports
            .iter()
            .copied()
            .filter(|t| !secure || is_secure(*t))
            .collect();
        if transports.is_empty() {
            return Err(LocateError::Transport(String::from(if secure {
                "tls"
            } else {
                "none"
            })));
        }
        let transport = named_transport(uri)?;
        if let Some(t) = transport
            && !transports.contains(&t)
        {
            let name = uri.param("transport").flatten().unwrap_or_default();
            return Err(LocateError::Transport(name.to_owned()));
        }
        let host = bare_host(uri).trim_end_matches('.').to_ascii_lowercase();
        Ok(Self {
            secure,
            host,
            port: uri.port(),
            transport,
            transports,
            naptr: None,
            srv: HashMap::new(),
            addrs: HashMap::new(),
        })
    }

    /// The transport without NAPTR/SRV (RFC 3263 §4.1): UDP for `sip:`, TLS for `sips:`.
    fn fallback_transport(&self) -> Transport {
        self.transport.unwrap_or(if self.secure {
            Transport::Tls
        } else {
            Transport::Udp
        })
    }

    /// The SRV names to try, with their transport: from usable NAPTR records, else one per
    /// supported transport (only the named one with a `transport` parameter). `None` while
    /// the NAPTR answer is still needed.
    fn srv_names(&self) -> Option<Vec<(String, Transport)>> {
        let constructed = |ts: &[Transport]| -> Vec<(String, Transport)> {
            ts.iter()
                .filter_map(|t| {
                    let (_, prefix, _) = SERVICES.iter().find(|(_, _, st)| st == t)?;
                    Some((format!("{prefix}{}", self.host), *t))
                })
                .collect()
        };
        if let Some(t) = self.transport {
            return Some(constructed(&[t]));
        }
        let naptr = self.naptr.as_ref()?;
        let mut usable: Vec<(&NaptrRecord, Transport)> = naptr
            .iter()
            .filter(|r| r.flags.eq_ignore_ascii_case("s"))
            .filter_map(|r| {
                let (_, _, t) = SERVICES
                    .iter()
                    .find(|(s, _, _)| r.service.eq_ignore_ascii_case(s))?;
                self.transports.contains(t).then_some((r, *t))
            })
            .collect();
        usable.sort_by_key(|(r, _)| (r.order, r.preference));
        if usable.is_empty() {
            return Some(constructed(&self.transports));
        }
        let mut seen = HashSet::new();
        Some(
            usable
                .into_iter()
                .map(|(r, t)| (r.replacement.trim_end_matches('.').to_ascii_lowercase(), t))
                .filter(|entry| seen.insert(entry.clone()))
                .collect(),
        )
    }

    /// The next lookup to make, or `None` when [`Locator::targets`] can answer.
    pub fn next_query(&self) -> Option<Query> {
        if self.host.parse::<IpAddr>().is_ok() {
            return None;
        }
        if self.port.is_some() {
            return (!self.addrs.contains_key(&self.host))
                .then(|| Query::Address(self.host.clone()));
        }
        if self.transport.is_none() && self.naptr.is_none() {
            return Some(Query::Naptr(self.host.clone()));
        }
        let names = self.srv_names()?;
        if let Some((name, _)) = names.iter().find(|(n, _)| !self.srv.contains_key(n)) {
            return Some(Query::Srv(name.clone()));
        }
        let srv_targets: Vec<&str> = names
            .iter()
            .filter_map(|(n, _)| self.srv.get(n))
            .flatten()
            .map(|r| r.target.as_str())
            .filter(|t| *t != ".")
            .take(MAX_RECORDS)
            .collect();
        if srv_targets.is_empty() {
            return (!self.addrs.contains_key(&self.host))
                .then(|| Query::Address(self.host.clone()));
        }
        srv_targets
            .into_iter()
            .map(|t| t.trim_end_matches('.').to_ascii_lowercase())
            .find(|t| !self.addrs.contains_key(t))
            .map(Query::Address)
    }

    /// The NAPTR records of `name` (empty for none or NXDOMAIN).
    pub fn answer_naptr(&mut self, name: &str, records: &[NaptrRecord]) {
        if name.trim_end_matches('.').eq_ignore_ascii_case(&self.host) {
            self.naptr = Some(records.iter().take(MAX_RECORDS).cloned().collect());
        }
    }

    /// The SRV records of `name` (empty for none).
    pub fn answer_srv(&mut self, name: &str, records: &[SrvRecord]) {
        if self.srv.len() < MAX_NAMES {
            self.srv.insert(
                name.trim_end_matches('.').to_ascii_lowercase(),
                records.iter().take(MAX_RECORDS).cloned().collect(),
            );
        }
    }

    /// The A and AAAA records of `name` (empty for none).
    pub fn answer_addresses(&mut self, name: &str, addrs: &[IpAddr]) {
        if self.addrs.len() < MAX_NAMES {
            self.addrs.insert(
                name.trim_end_matches('.').to_ascii_lowercase(),
                addrs.iter().take(MAX_RECORDS).copied().collect(),
            );
        }
    }

    /// The targets to try in order, from what is known (call once [`Locator::next_query`]
    /// returns `None`; before, the list is what the answers so far give). `rng` orders SRV
    /// records of equal priority by weight (RFC 2782).
    pub fn targets(&self, rng: &mut impl Rng) -> Vec<Target> {
        let mut out = Vec::new();
        let push = |out: &mut Vec<Target>, transport, addr| {
            let t = Target { transport, addr };
            if !out.contains(&t) {
                out.push(t);
            }
        };
        let addrs_of = |name: &str| -> Vec<IpAddr> {
            self.addrs
                .get(&name.trim_end_matches('.').to_ascii_lowercase())
                .cloned()
                .unwrap_or_default()
        };
        if let Ok(ip) = self.host.parse::<IpAddr>() {
            let t = self.fallback_transport();
            push(
                &mut out,
                t,
                SocketAddr::new(ip, self.port.unwrap_or(default_port(t))),
            );
            return out;
        }
        if let Some(port) = self.port {
            let t = self.fallback_transport();
            for ip in addrs_of(&self.host) {
                push(&mut out, t, SocketAddr::new(ip, port));
            }
            return out;
        }
        let mut budget = MAX_RECORDS;
        for (name, t) in self.srv_names().unwrap_or_default() {
            let mut records = self.srv.get(&name).cloned().unwrap_or_default();
            records.retain(|r| r.target != ".");
            records.truncate(budget);
            budget -= records.len();
            for r in srv_order(records, rng) {
                for ip in addrs_of(&r.target) {
                    push(&mut out, t, SocketAddr::new(ip, r.port));
                }
            }
        }
        if out.is_empty() {
            let t = self.fallback_transport();
            for ip in addrs_of(&self.host) {
                push(&mut out, t, SocketAddr::new(ip, default_port(t)));
            }
        }
        out
    }
}

/// RFC 2782 order: ascending priority; within one priority, repeatedly pick a record with
/// probability proportional to its weight (zero-weight records get a small chance, first
/// in the running sum as the RFC places them). Records with target `.` are dropped.
fn srv_order(mut records: Vec<SrvRecord>, rng: &mut impl Rng) -> Vec<SrvRecord> {
    records.retain(|r| r.target != ".");
    records.sort_by_key(|r| (r.priority, r.weight != 0));
    let mut out = Vec::with_capacity(records.len());
    while !records.is_empty() {
        let priority = records.first().map_or(0, |r| r.priority);
        let end = records
            .iter()
            .position(|r| r.priority != priority)
            .unwrap_or(records.len());
        let mut group: Vec<SrvRecord> = records.drain(..end).collect();
        while !group.is_empty() {
            let total: u32 = group.iter().map(|r| u32::from(r.weight)).sum();
            let pick = rng.random_range(0..=total);
            let mut sum = 0u32;
            let i = group
                .iter()
                .position(|r| {
                    sum += u32::from(r.weight);
                    sum >= pick
                })
                .unwrap_or(0);
            out.push(group.remove(i));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    fn uri(s: &str) -> Uri {
        s.parse().unwrap()
    }

    fn naptr(order: u16, pref: u16, service: &str, replacement: &str) -> NaptrRecord {
        NaptrRecord::sip(order, pref, service, replacement)
    }

    fn srv(priority: u16, weight: u16, port: u16, target: &str) -> SrvRecord {
        SrvRecord::new(priority, weight, port, target)
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn t(transport: Transport, addr: &str) -> Target {
        Target {
            transport,
            addr: addr.parse().unwrap(),
        }
    }

    /// Runs the plan against a fixed zone; returns the queries made and the targets.
    fn run(
        u: &str,
        naptrs: &[NaptrRecord],
        srvs: &[(&str, Vec<SrvRecord>)],
        hosts: &[(&str, Vec<IpAddr>)],
    ) -> (Vec<Query>, Vec<Target>) {
        let mut l = Locator::new(&uri(u), &LocateConfig::default()).unwrap();
        let mut queries = Vec::new();
        while let Some(q) = l.next_query() {
            assert!(queries.len() < 32, "the plan terminates: {queries:?}");
            queries.push(q.clone());
            match q {
                Query::Naptr(name) => l.answer_naptr(&name, naptrs),
                Query::Srv(name) => {
                    let recs = srvs
                        .iter()
                        .find(|(n, _)| *n == name)
                        .map(|(_, r)| r.clone())
                        .unwrap_or_default();
                    l.answer_srv(&name, &recs);
                }
                Query::Address(name) => {
                    let a = hosts
                        .iter()
                        .find(|(n, _)| *n == name)
                        .map(|(_, a)| a.clone())
                        .unwrap_or_default();
                    l.answer_addresses(&name, &a);
                }
            }
        }
        (queries, l.targets(&mut ChaCha8Rng::seed_from_u64(1)))
    }

    #[test]
    fn numeric_host_and_explicit_port_skip_naptr_and_srv() {
        let (q, ts) = run("sip:alice@192.0.2.4", &[], &[], &[]);
        assert!(q.is_empty());
        assert_eq!(ts, vec![t(Transport::Udp, "192.0.2.4:5060")]);
        let (_, ts) = run("sips:alice@[2001:db8::1]", &[], &[], &[]);
        assert_eq!(ts, vec![t(Transport::Tls, "[2001:db8::1]:5061")]);
        let (q, ts) = run(
            "sip:alice@example.com:5080;transport=tcp",
            &[],
            &[],
            &[("example.com", vec![ip("192.0.2.9")])],
        );
        assert_eq!(q, vec![Query::Address(String::from("example.com"))]);
        assert_eq!(ts, vec![t(Transport::Tcp, "192.0.2.9:5080")]);
    }

    #[test]
    fn naptr_then_srv_then_addresses_in_order() {
        // RFC 3263 §4.1's example zone, with a TLS record preferred by order.
        let naptrs = [
            naptr(50, 50, "SIP+D2U", "_sip._udp.example.com."),
            naptr(90, 50, "SIP+D2T", "_sip._tcp.example.com"),
            naptr(10, 50, "SIPS+D2T", "_sips._tcp.example.com"),
            naptr(5, 5, "SIP+D2X", "_x.example.com"),
        ];
        let srvs = [
            (
                "_sips._tcp.example.com",
                vec![srv(0, 0, 5061, "tls1.example.com")],
            ),
            (
                "_sip._udp.example.com",
                vec![
                    srv(20, 0, 5060, "backup.example.com"),
                    srv(10, 1, 5060, "udp1.example.com."),
                ],
            ),
            ("_sip._tcp.example.com", vec![srv(0, 0, 5060, ".")]),
        ];
        let hosts = [
            ("tls1.example.com", vec![ip("192.0.2.1")]),
            ("udp1.example.com", vec![ip("192.0.2.2"), ip("2001:db8::2")]),
            ("backup.example.com", vec![ip("192.0.2.3")]),
        ];
        let (q, ts) = run("sip:bob@Example.COM", &naptrs, &srvs, &hosts);
        assert_eq!(q[0], Query::Naptr(String::from("example.com")));
        assert_eq!(q[1], Query::Srv(String::from("_sips._tcp.example.com")));
        assert_eq!(
            ts,
            vec![
                t(Transport::Tls, "192.0.2.1:5061"),
                t(Transport::Udp, "192.0.2.2:5060"),
                t(Transport::Udp, "[2001:db8::2]:5060"),
                t(Transport::Udp, "192.0.2.3:5060"),
            ]
        );
        // sips: keeps only the secure service.
        let (_, ts) = run("sips:bob@example.com", &naptrs, &srvs, &hosts);
        assert_eq!(ts, vec![t(Transport::Tls, "192.0.2.1:5061")]);
    }

    #[test]
    fn without_naptr_srv_per_transport_then_a_records() {
        let srvs = [(
            "_sip._tcp.example.org",
            vec![srv(1, 0, 5070, "sip.example.org")],
        )];
        let hosts = [
            ("sip.example.org", vec![ip("198.51.100.7")]),
            ("example.org", vec![ip("198.51.100.1")]),
        ];
        let (q, ts) = run("sip:x@example.org", &[], &srvs, &hosts);
        assert_eq!(
            q[..4],
            [
                Query::Naptr(String::from("example.org")),
                Query::Srv(String::from("_sip._udp.example.org")),
                Query::Srv(String::from("_sip._tcp.example.org")),
                Query::Srv(String::from("_sips._tcp.example.org")),
            ]
        );
        assert_eq!(ts, vec![t(Transport::Tcp, "198.51.100.7:5070")]);
        // No SRV either: the host's addresses, UDP on 5060.
        let (_, ts) = run("sip:x@example.org", &[], &[], &hosts);
        assert_eq!(ts, vec![t(Transport::Udp, "198.51.100.1:5060")]);
        // A transport parameter skips NAPTR and looks up that transport's SRV only.
        let (q, _) = run("sip:x@example.org;transport=tcp", &[], &srvs, &hosts);
        assert_eq!(q[0], Query::Srv(String::from("_sip._tcp.example.org")));
    }

    #[test]
    fn srv_weights_shape_the_order_within_a_priority() {
        let records = vec![
            srv(1, 90, 5060, "heavy"),
            srv(1, 10, 5060, "light"),
            srv(0, 0, 5060, "first"),
        ];
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut heavy_first = 0;
        for _ in 0..1000 {
            let order = srv_order(records.clone(), &mut rng);
            assert_eq!(order[0].target, "first", "lower priority first");
            if order[1].target == "heavy" {
                heavy_first += 1;
            }
        }
        // 90 % expected.
        assert!((850..=950).contains(&heavy_first), "{heavy_first}");
    }

    /// `ip_target` on Contact-style URIs (the PBX routes registered Contacts with it).
    #[test]
    fn ip_targets_by_scheme_transport_and_default_port() {
        use Transport::{Tcp, Tls, Udp, Ws, Wss};
        let cases = [
            ("sip:1000@127.0.0.1:5070", Udp, "127.0.0.1:5070"),
            ("sip:1000@127.0.0.1;transport=udp", Udp, "127.0.0.1:5060"),
            ("sip:[::1]:5080", Udp, "[::1]:5080"),
            (
                "sip:1000@127.0.0.1:5070;transport=tcp",
                Tcp,
                "127.0.0.1:5070",
            ),
            ("sip:1000@127.0.0.1;transport=TCP;ob", Tcp, "127.0.0.1:5060"),
            ("sips:1000@127.0.0.1", Tls, "127.0.0.1:5061"),
            (
                "sips:1@[2001:db8::1];transport=tcp",
                Tls,
                "[2001:db8::1]:5061",
            ),
            (
                "sip:1000@127.0.0.1:5080;transport=tls",
                Tls,
                "127.0.0.1:5080",
            ),
            ("sip:1000@127.0.0.1:8080;transport=ws", Ws, "127.0.0.1:8080"),
            ("sip:1000@127.0.0.1;transport=ws", Ws, "127.0.0.1:80"),
            ("sips:1000@127.0.0.1;transport=ws", Wss, "127.0.0.1:443"),
            ("sip:1000@127.0.0.1;transport=wss", Wss, "127.0.0.1:443"),
        ];
        for (u, transport, addr) in cases {
            assert_eq!(ip_target(&uri(u)), Ok(t(transport, addr)), "{u}");
        }
        let refused = [
            (
                "sip:example.com",
                LocateError::HostName("example.com".into()),
            ),
            (
                "sip:1@127.0.0.1;transport=sctp",
                LocateError::Transport("sctp".into()),
            ),
            (
                "sips:1@127.0.0.1;transport=udp",
                LocateError::Transport("udp".into()),
            ),
            ("tel:+15551234", LocateError::Scheme),
        ];
        for (u, e) in refused {
            assert_eq!(ip_target(&uri(u)), Err(e), "{u}");
        }
    }

    #[test]
    fn hostile_answers_stay_bounded_and_bad_uris_are_refused() {
        let many: Vec<NaptrRecord> = (0..1000)
            .map(|i| naptr(i, 0, "SIP+D2U", &format!("_sip._udp.n{i}.example")))
            .collect();
        let (q, _) = run("sip:a@example.net", &many, &[], &[]);
        assert!(q.len() <= 2 + MAX_RECORDS * 2, "{}", q.len());
        assert_eq!(
            Locator::new(
                &uri("sip:a@example.net;transport=sctp"),
                &LocateConfig::default()
            )
            .err(),
            Some(LocateError::Transport(String::from("sctp")))
        );
        assert_eq!(
            Locator::new(&uri("tel:+15551234"), &LocateConfig::default()).err(),
            Some(LocateError::Scheme)
        );
        let udp_only = LocateConfig {
            transports: vec![Transport::Udp],
        };
        assert!(Locator::new(&uri("sips:a@example.net"), &udp_only).is_err());
        assert!(Locator::new(&uri("sip:a@example.net;transport=tcp"), &udp_only).is_err());
    }
}
