//! The PBX's TOML configuration (see `examples/data/pbx.toml` for a commented sample).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use sip_core::transaction::Transport;

use crate::cli::parse_duration;
use crate::dialplan::{OutboundRule, PatternError, Route};
use crate::trunk::{ServerAddress, SourceNet, TrunkAddress, TrunkRegistration};

/// An error loading the PBX configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("config: cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// TOML syntax or a field of the wrong type.
    #[error("config: {0}")]
    Toml(#[from] toml::de::Error),
    /// A dial-plan pattern that does not compile.
    #[error("config: pattern {pattern:?}: {source}")]
    Pattern {
        /// The pattern.
        pattern: String,
        /// Why.
        source: PatternError,
    },
    /// A value that is syntactically fine but makes no sense (names the field).
    #[error("config: {0}")]
    Invalid(String),
}

/// Ring-group hunting strategy.
#[derive(Clone, Copy, Debug, Default, Deserialize, Eq, PartialEq)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// Ring every member at once; the first to answer wins.
    #[default]
    Simultaneous,
    /// Ring members one after another, `ring_timeout` each.
    Sequential,
}

/// Whether the PBX anchors media.
#[derive(Clone, Copy, Debug, Default, Deserialize, Eq, PartialEq)]
#[serde(rename_all = "lowercase")]
pub enum MediaMode {
    /// RTP/SRTP relayed through the PBX (works across NAT, allows recording and transcoding).
    #[default]
    Relay,
    /// SDP passed through, media flows end to end.
    Direct,
}

/// The PBX's TLS listener.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TlsListen {
    /// Address of the TLS listener (port 5061 by convention).
    pub listen: SocketAddr,
    /// PEM certificate chain presented to the phones.
    pub cert: PathBuf,
    /// PEM private key of the certificate.
    pub key: PathBuf,
    /// PEM CA certificates trusted for outgoing TLS: calls to a phone whose registration
    /// connection is gone open a new connection to its `sips:`/`transport=tls` Contact,
    /// verifying the Contact's host. Without it the PBX only reuses the connections phones
    /// registered on. A trunk over TLS needs it (verified against its URI's host).
    #[serde(default)]
    pub ca: Option<PathBuf>,
}

impl TlsListen {
    /// The driver's TLS settings: a listener at `listen` with `cert`/`key`, and outgoing
    /// connections verified against `ca` when given (none without it). An error names what
    /// failed to load (`"cert"`, `"key"` or `"ca"`) with the reason.
    ///
    /// # Errors
    /// A file that cannot be read or is not a PEM certificate chain, key or CA.
    pub fn driver_config(
        &self,
    ) -> Result<sip_core::tokio::TlsConfig, (&'static str, sip_core::tokio::tls::TlsError)> {
        use sip_core::tokio::tls;
        let chain = tls::load_certs(&self.cert).map_err(|e| ("cert", e))?;
        let key = tls::load_private_key(&self.key).map_err(|e| ("key", e))?;
        let server = tls::server_config(chain, key).map_err(|e| ("cert", e))?;
        let client = match &self.ca {
            Some(ca) => Some(
                tls::load_certs(ca)
                    .and_then(tls::root_store)
                    .and_then(tls::client_config)
                    .map_err(|e| ("ca", e))?,
            ),
            None => None,
        };
        Ok(sip_core::tokio::TlsConfig::new(
            Some(self.listen),
            Some(server),
            client,
        ))
    }
}

/// A user (extension) of the PBX.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct User {
    /// The extension number, also the digest username.
    pub extension: String,
    /// Digest password.
    pub password: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
}

/// A ring group.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RingGroup {
    /// The number that reaches the group.
    pub number: String,
    /// Member extensions, in hunting order.
    pub members: Vec<String>,
    /// Simultaneous or sequential.
    #[serde(default)]
    pub strategy: Strategy,
    /// How long each member (sequential) or the group (simultaneous) rings, e.g. `"15s"`.
    #[serde(default = "default_ring_timeout")]
    pub ring_timeout: String,
}

/// The IVR.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Ivr {
    /// The number that reaches the IVR.
    pub number: String,
    /// The prompt WAV file (mono; resampled to the call's codec rate).
    pub prompt: PathBuf,
    /// How long to wait for a digit after the prompt, e.g. `"5s"`.
    #[serde(default = "default_digit_timeout")]
    pub digit_timeout: String,
    /// Digit -> number to transfer to (an extension, a ring group, ...).
    pub routes: BTreeMap<String, String>,
}

/// A SIP trunk.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Trunk {
    /// Name used by outbound routes.
    pub name: String,
    /// The trunk: an address (`IP:PORT`), or a host name or `sip:`/`sips:` URI located by
    /// RFC 3263 (NAPTR, SRV, A through [`PbxConfig::dns`]), failing over along its targets
    /// and located again once the TTLs of their records run out. Calls and registrations
    /// go over one transport ([`Trunk::transport`]): UDP, or the one the URI names
    /// (`sip:carrier.example;transport=tcp`, `sip:203.0.113.5:5060;transport=tcp`,
    /// `;transport=tls`, `sips:`).
    pub address: ServerAddress,
    /// Digest username (when the trunk challenges or wants a registration).
    #[serde(default)]
    pub username: Option<String>,
    /// Digest password.
    #[serde(default)]
    pub password: Option<String>,
    /// Register to the trunk (needs `username` and `password`).
    #[serde(default)]
    pub register: bool,
    /// Where the REGISTERs go when it is not `address` (a separate registrar), named as
    /// `address` is; over the trunk's transport.
    #[serde(default)]
    pub registrar: Option<ServerAddress>,
    /// Registration expiry asked for, in seconds (refreshed before it runs out).
    #[serde(default = "default_register_expires")]
    pub register_expires: u32,
    /// Where the carrier's requests come from (its SBCs): IPs and CIDR prefixes, each with an
    /// optional port (`["203.0.113.0/28", "198.51.100.7:5060"]`; the port is checked over
    /// UDP only). Its calls from these are taken without a digest challenge and may not go
    /// out through a trunk again. Empty (the default): the trunk's own addresses, as located
    /// (over TCP/TLS from any port, unless the trunk is on this host).
    #[serde(default)]
    pub sources: Vec<SourceNet>,
}

impl Trunk {
    /// A trunk at `address` without credentials or registration.
    pub fn plain(name: &str, address: impl Into<ServerAddress>) -> Self {
        Self {
            name: name.to_owned(),
            address: address.into(),
            username: None,
            password: None,
            register: false,
            registrar: None,
            register_expires: default_register_expires(),
            sources: Vec::new(),
        }
    }

    /// Where the REGISTERs go: `registrar`, else `address`.
    pub fn registrar(&self) -> &ServerAddress {
        self.registrar.as_ref().unwrap_or(&self.address)
    }

    /// The one transport of the trunk's requests, INVITEs and REGISTERs (their refreshes
    /// and challenge answers too): the one `address` names (`;transport=`, or TLS for
    /// `sips:`, RFC 3263 §4.1), else the one a separate `registrar` names, else UDP.
    pub fn transport(&self) -> Transport {
        self.address
            .named_transport()
            .or_else(|| self.registrar.as_ref()?.named_transport())
            .unwrap_or(Transport::Udp)
    }

    /// The trunk at address `addr` (an address, not a name), over [`Trunk::transport`].
    pub fn at(&self, addr: SocketAddr) -> TrunkAddress {
        TrunkAddress {
            transport: self.transport(),
            ..TrunkAddress::at(addr)
        }
    }

    /// The registration to send, for a trunk with `register = true` whose registrar is an
    /// address; `None` too for a registrar to locate first ([`Trunk::registration_at`]).
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] when the username is missing or does not form a URI, or
    /// when `address` and `registrar` name two transports.
    pub fn registration(&self) -> Result<Option<TrunkRegistration>, ConfigError> {
        let named = self.address.named_transport();
        if let Some((a, r)) = named.zip(self.registrar.as_ref().and_then(|r| r.named_transport()))
            && a != r
        {
            return Err(ConfigError::Invalid(format!(
                "trunk {}: its address is over {} and its registrar over {}: a trunk has one \
                 transport",
                self.name,
                a.as_via_str(),
                r.as_via_str()
            )));
        }
        match self.registrar() {
            ServerAddress::Addr(a) => self.registration_at(&self.at(*a)),
            ServerAddress::Name(_) => self.register_user().map(|_| None),
        }
    }

    /// The registration to send to `registrar` (this trunk's registrar, located), for a
    /// trunk with `register = true`.
    ///
    /// # Errors
    /// As [`Trunk::registration`]; also when `registrar` has no target.
    pub fn registration_at(
        &self,
        registrar: &TrunkAddress,
    ) -> Result<Option<TrunkRegistration>, ConfigError> {
        let Some(user) = self.register_user()? else {
            return Ok(None);
        };
        TrunkRegistration::located(&self.name, user, registrar, self.register_expires)
            .map(Some)
            .map_err(ConfigError::Invalid)
    }

    /// The username to register, `None` without `register = true`.
    fn register_user(&self) -> Result<Option<&str>, ConfigError> {
        if !self.register {
            return Ok(None);
        }
        match (&self.username, &self.password) {
            (Some(user), Some(_)) => Ok(Some(user)),
            _ => Err(ConfigError::Invalid(format!(
                "trunk {}: register = true needs username and password",
                self.name
            ))),
        }
    }
}

/// An outbound route.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OutboundRoute {
    /// Dial-plan pattern.
    pub pattern: String,
    /// Trunk name.
    pub trunk: String,
    /// Leading characters removed before sending.
    #[serde(default)]
    pub strip: usize,
    /// Prepended after stripping.
    #[serde(default)]
    pub prefix: String,
}

/// Protection limits.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// REGISTERs per second per source.
    pub register_per_sec: f64,
    /// INVITEs per second per source.
    pub invite_per_sec: f64,
    /// Burst allowance for both.
    pub burst: u32,
    /// Failed authentications before a source is blocked.
    pub auth_failures: u32,
    /// Window in which failures count, e.g. `"60s"`.
    pub auth_window: String,
    /// Block duration, e.g. `"300s"`.
    pub block_for: String,
    /// Sources tracked at most (bounded memory).
    pub max_sources: usize,
    /// Concurrent calls at most.
    pub max_calls: usize,
    /// Drop requests from known scanner User-Agents silently.
    pub drop_scanners: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            register_per_sec: 20.0,
            invite_per_sec: 50.0,
            burst: 100,
            auth_failures: 5,
            auth_window: "60s".into(),
            block_for: "300s".into(),
            max_sources: 10_000,
            max_calls: 5_000,
            drop_scanners: true,
        }
    }
}

/// The PBX configuration file.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PbxConfig {
    /// SIP listen address (UDP, and TCP unless `tcp = false`).
    pub listen: SocketAddr,
    /// Also accept SIP over TCP on `listen`.
    #[serde(default = "default_true")]
    pub tcp: bool,
    /// SIP over TLS (`sips:`), when set.
    #[serde(default)]
    pub tls: Option<TlsListen>,
    /// Digest realm.
    #[serde(default = "default_realm")]
    pub realm: String,
    /// Digest algorithms challenged, in order (`SHA-256`, `MD5`; RFC 8760 puts SHA-256 first,
    /// but some peers, SIPp among them, answer only the first challenge and only with MD5).
    #[serde(default = "default_digest")]
    pub digest_algorithms: Vec<String>,
    /// Media anchoring.
    #[serde(default)]
    pub media: MediaMode,
    /// First and last UDP port for relayed media, e.g. `[20000, 29999]`.
    #[serde(default = "default_media_ports")]
    pub media_ports: (u16, u16),
    /// Where the JSON-lines call records go.
    #[serde(default)]
    pub cdr_file: Option<PathBuf>,
    /// Webhook URL for call events (`http://IP:PORT/PATH`).
    #[serde(default)]
    pub webhook: Option<String>,
    /// The users.
    #[serde(default)]
    pub users: Vec<User>,
    /// Ring groups.
    #[serde(default)]
    pub ring_groups: Vec<RingGroup>,
    /// The IVR, if any.
    #[serde(default)]
    pub ivr: Option<Ivr>,
    /// Trunks.
    #[serde(default)]
    pub trunks: Vec<Trunk>,
    /// The nameserver that locates trunks named by host or URI (`IP:PORT`); without it,
    /// those of `/etc/resolv.conf`.
    #[serde(default)]
    pub dns: Option<SocketAddr>,
    /// Outbound routes.
    #[serde(default)]
    pub routes: Vec<OutboundRoute>,
    /// Protection.
    #[serde(default)]
    pub limits: Limits,
    /// Call recording: calls whose media the PBX anchors (relayed, transcoded, IVR, and on
    /// across transfers) are recorded as stereo WAV files in this directory (caller left,
    /// callee right), each named in its call record. Direct-media calls are not.
    #[serde(default)]
    pub record_dir: Option<PathBuf>,
    /// With `record_dir`, only calls from or to these numbers (extensions, dialled numbers)
    /// are recorded; empty: every call.
    #[serde(default)]
    pub record_numbers: Vec<String>,
}

impl PbxConfig {
    /// Loads and validates a config file.
    ///
    /// # Errors
    /// [`ConfigError`] naming what is wrong.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text)
    }

    /// Parses and validates config text.
    ///
    /// # Errors
    /// [`ConfigError`] naming what is wrong.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let cfg: Self = toml::from_str(text)?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// A demo configuration: users `first..=last` with their extension as password, every
    /// other number to `trunk` (when given). Rate limits are set for load tests from one
    /// source (1000 requests/s), not for exposure to the internet.
    pub fn demo(listen: SocketAddr, first: u32, last: u32, trunk: Option<SocketAddr>) -> Self {
        let users = (first..=last)
            .map(|n| User {
                extension: n.to_string(),
                password: n.to_string(),
                name: String::new(),
            })
            .collect();
        let config = Self {
            listen,
            tcp: true,
            tls: None,
            realm: default_realm(),
            digest_algorithms: default_digest(),
            media: MediaMode::Relay,
            media_ports: default_media_ports(),
            cdr_file: None,
            webhook: None,
            users,
            ring_groups: vec![],
            ivr: None,
            trunks: Vec::new(),
            dns: None,
            routes: Vec::new(),
            limits: Limits {
                register_per_sec: 1000.0,
                invite_per_sec: 1000.0,
                burst: 2000,
                ..Limits::default()
            },
            record_dir: None,
            record_numbers: Vec::new(),
        };
        match trunk {
            Some(address) => config.with_trunk(address.into()),
            None => config,
        }
    }

    /// This configuration with a trunk named `trunk` at `address` that every number no
    /// user or group has goes to (the demo's trunk: `--trunk`).
    pub fn with_trunk(mut self, address: ServerAddress) -> Self {
        self.trunks.push(Trunk::plain("trunk", address));
        self.routes.push(OutboundRoute {
            pattern: "_X.".into(),
            trunk: "trunk".into(),
            strip: 0,
            prefix: String::new(),
        });
        self
    }

    /// Checks cross-references and values.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] or [`ConfigError::Pattern`].
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |m: String| Err(ConfigError::Invalid(m));
        let mut numbers = std::collections::BTreeSet::new();
        for u in &self.users {
            if u.extension.is_empty() || !u.extension.chars().all(|c| c.is_ascii_alphanumeric()) {
                return invalid(format!(
                    "user extension {:?} must be alphanumeric",
                    u.extension
                ));
            }
            if !numbers.insert(u.extension.as_str()) {
                return invalid(format!("duplicate number {}", u.extension));
            }
        }
        for g in &self.ring_groups {
            if !numbers.insert(g.number.as_str()) {
                return invalid(format!("duplicate number {}", g.number));
            }
            if g.members.is_empty() {
                return invalid(format!("ring group {} has no members", g.number));
            }
            for m in &g.members {
                if !self.users.iter().any(|u| &u.extension == m) {
                    return invalid(format!("ring group {}: unknown member {m}", g.number));
                }
            }
            duration(&g.ring_timeout, "ring_timeout")?;
        }
        if let Some(ivr) = &self.ivr {
            if !numbers.insert(ivr.number.as_str()) {
                return invalid(format!("duplicate number {}", ivr.number));
            }
            duration(&ivr.digit_timeout, "ivr.digit_timeout")?;
            for digit in ivr.routes.keys() {
                if digit.len() != 1 || !"0123456789*#".contains(digit.as_str()) {
                    return invalid(format!("ivr route key {digit:?} must be one DTMF digit"));
                }
            }
        }
        for t in &self.trunks {
            t.registration()?;
            // Without a CA the driver has no TLS client: every request to the trunk would
            // fail (503 per call), so refuse it here.
            if t.transport() == Transport::Tls && self.tls.as_ref().is_none_or(|t| t.ca.is_none()) {
                return invalid(format!(
                    "trunk {}: over TLS, it needs tls.ca (the CA its certificate is verified \
                     against; --tls-ca)",
                    t.name
                ));
            }
            if t.register_expires < 60 {
                return invalid(format!("trunk {}: register_expires must be >= 60", t.name));
            }
        }
        // sip-core's user agent answers challenges with one set of credentials.
        let mut creds = self
            .trunks
            .iter()
            .filter_map(|t| t.username.as_ref().zip(t.password.as_ref()));
        if let Some(first) = creds.next()
            && creds.any(|c| c != first)
        {
            return invalid("all trunks with credentials must share one username/password".into());
        }
        for r in &self.routes {
            if !self.trunks.iter().any(|t| t.name == r.trunk) {
                return invalid(format!("route {}: unknown trunk {}", r.pattern, r.trunk));
            }
        }
        if self.media_ports.0 > self.media_ports.1 || self.media_ports.0 < 1024 {
            return invalid("media_ports must be [low, high] with 1024 <= low <= high".into());
        }
        if self.digest_algorithms.is_empty()
            || self
                .digest_algorithms
                .iter()
                .any(|a| sip_core::auth::DigestAlgorithm::from_token(a).is_none())
        {
            return invalid("digest_algorithms must list SHA-256 and/or MD5".into());
        }
        duration(&self.limits.auth_window, "limits.auth_window")?;
        duration(&self.limits.block_for, "limits.block_for")?;
        if let Some(w) = &self.webhook {
            crate::cdr::Webhook::parse(w).map_err(|e| ConfigError::Invalid(e.to_string()))?;
        }
        self.outbound_rules()?;
        Ok(())
    }

    /// The outbound routes compiled.
    ///
    /// # Errors
    /// [`ConfigError::Pattern`] for a bad pattern.
    pub fn outbound_rules(&self) -> Result<Vec<OutboundRule>, ConfigError> {
        self.routes
            .iter()
            .map(|r| {
                let pattern = r.pattern.parse().map_err(|source| ConfigError::Pattern {
                    pattern: r.pattern.clone(),
                    source,
                })?;
                Ok(OutboundRule {
                    pattern,
                    trunk: r.trunk.clone(),
                    strip: r.strip,
                    prefix: r.prefix.clone(),
                })
            })
            .collect()
    }

    /// The user with `extension`.
    pub fn user(&self, extension: &str) -> Option<&User> {
        self.users.iter().find(|u| u.extension == extension)
    }

    /// Where `number` goes: extension, ring group, IVR, then outbound routes.
    pub fn route(&self, number: &str, rules: &[OutboundRule]) -> Option<Route> {
        if self.user(number).is_some() {
            return Some(Route::Extension(number.to_owned()));
        }
        if self.ring_groups.iter().any(|g| g.number == number) {
            return Some(Route::RingGroup(number.to_owned()));
        }
        if self.ivr.as_ref().is_some_and(|i| i.number == number) {
            return Some(Route::Ivr(number.to_owned()));
        }
        crate::dialplan::pick_outbound(rules, number).map(|r| Route::Trunk {
            trunk: r.trunk.clone(),
            number: r.rewrite(number),
        })
    }
}

/// Parses a duration field of the config.
///
/// # Errors
/// [`ConfigError::Invalid`] naming the field.
pub fn duration(text: &str, field: &str) -> Result<Duration, ConfigError> {
    parse_duration(text)
        .ok_or_else(|| ConfigError::Invalid(format!("{field}: bad duration {text:?}")))
}

fn default_true() -> bool {
    true
}
fn default_realm() -> String {
    "telox".into()
}
fn default_digest() -> Vec<String> {
    vec!["SHA-256".into(), "MD5".into()]
}
fn default_ring_timeout() -> String {
    "20s".into()
}
fn default_digit_timeout() -> String {
    "5s".into()
}
fn default_register_expires() -> u32 {
    3600
}
fn default_media_ports() -> (u16, u16) {
    (20000, 29999)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = include_str!("../data/pbx.toml");

    /// A trunk's `address` and `registrar` take an address as before, or a host / SIP URI
    /// to locate (RFC 3263); `dns` names the nameserver. A registrar to locate has no
    /// registration before it is located, but its account is still checked.
    #[test]
    fn trunks_are_addresses_or_names() {
        let text = "listen = \"127.0.0.1:5060\"\ndns = \"127.0.0.1:5353\"\n\
            [[trunks]]\nname = \"a\"\naddress = \"192.0.2.1:5080\"\n\
            [[trunks]]\nname = \"b\"\naddress = \"sip:sip.carrier.example;transport=udp\"\n\
            registrar = \"reg.carrier.example\"\nusername = \"u\"\npassword = \"p\"\n\
            register = true\n";
        let cfg = PbxConfig::parse(text).unwrap();
        assert_eq!(cfg.dns, Some("127.0.0.1:5353".parse().unwrap()));
        let a = &cfg.trunks[0];
        assert_eq!(
            a.address,
            ServerAddress::Addr("192.0.2.1:5080".parse().unwrap())
        );
        let b = &cfg.trunks[1];
        assert_eq!(
            b.address,
            ServerAddress::Name("sip:sip.carrier.example;transport=udp".parse().unwrap())
        );
        assert_eq!(b.address.host(), "sip.carrier.example");
        assert_eq!(b.registrar().host(), "reg.carrier.example");
        assert_eq!(b.registration().unwrap(), None);
        let at = TrunkAddress {
            host: b.registrar().host(),
            targets: vec!["192.0.2.9:5060".parse().unwrap()],
            transport: Transport::Udp,
            expires: None,
            server: None,
        };
        let reg = b.registration_at(&at).unwrap().unwrap();
        assert_eq!(reg.aor.to_string(), "sip:u@reg.carrier.example");
        let no_password = text.replace("password = \"p\"\n", "");
        assert!(PbxConfig::parse(&no_password).is_err());
        let bad = text.replace("reg.carrier.example", "tel:+4930");
        assert!(PbxConfig::parse(&bad).is_err());
    }

    #[test]
    fn sample_config_loads_and_routes() {
        let cfg = PbxConfig::parse(SAMPLE).unwrap();
        let rules = cfg.outbound_rules().unwrap();
        assert_eq!(
            cfg.route("1000", &rules),
            Some(Route::Extension("1000".into()))
        );
        assert_eq!(
            cfg.route("600", &rules),
            Some(Route::RingGroup("600".into()))
        );
        assert_eq!(cfg.route("500", &rules), Some(Route::Ivr("500".into())));
        assert_eq!(
            cfg.route("0049301234", &rules),
            Some(Route::Trunk {
                trunk: "carrier".into(),
                number: "+49301234".into()
            })
        );
        assert_eq!(cfg.route("42", &rules), None);
        assert_eq!(cfg.ring_groups[1].strategy, Strategy::Sequential);
    }

    #[test]
    fn invalid_configs_say_why() {
        let e = PbxConfig::parse("listen = \"x\"").unwrap_err();
        assert!(matches!(e, ConfigError::Toml(_)));
        let dup = "listen = \"127.0.0.1:5060\"\n[[users]]\nextension=\"1\"\npassword=\"a\"\n\
                   [[users]]\nextension=\"1\"\npassword=\"b\"\n";
        assert!(
            PbxConfig::parse(dup)
                .unwrap_err()
                .to_string()
                .contains("duplicate number 1")
        );
        let unknown_trunk =
            "listen = \"127.0.0.1:5060\"\n[[routes]]\npattern=\"_X.\"\ntrunk=\"t\"\n";
        assert!(
            PbxConfig::parse(unknown_trunk)
                .unwrap_err()
                .to_string()
                .contains("unknown trunk")
        );
        let bad_member =
            "listen = \"127.0.0.1:5060\"\n[[ring_groups]]\nnumber=\"6\"\nmembers=[\"9\"]\n";
        assert!(
            PbxConfig::parse(bad_member)
                .unwrap_err()
                .to_string()
                .contains("unknown member")
        );
        let typo = "listen = \"127.0.0.1:5060\"\nrelam = \"x\"\n";
        assert!(PbxConfig::parse(typo).is_err());
    }

    #[test]
    fn demo_mode_users_and_trunk() {
        let cfg = PbxConfig::demo(
            "127.0.0.1:5060".parse().unwrap(),
            1000,
            1099,
            Some("127.0.0.1:5070".parse().unwrap()),
        );
        cfg.validate().unwrap();
        assert_eq!(cfg.users.len(), 100);
        assert_eq!(cfg.user("1042").unwrap().password, "1042");
        let rules = cfg.outbound_rules().unwrap();
        assert_eq!(
            cfg.route("5551234", &rules),
            Some(Route::Trunk {
                trunk: "trunk".into(),
                number: "5551234".into()
            })
        );
    }
}
