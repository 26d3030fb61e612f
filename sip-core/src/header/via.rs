//! `Via` (RFC 3261 §20.42, §18.2.1, RFC 3581 rport).

use std::fmt;

use bytes::Bytes;

use super::params::{Params, ltrim};
use super::{Header, HeaderName};
use crate::error::HeaderError;
use crate::msg::scan::{self, is_token};

/// One Via value: `SIP/2.0/UDP host:port;branch=...;received=...;rport`.
///
/// The sent-protocol and sent-by text is kept as one shared slice of the value with the
/// field positions in it (one reference count instead of four, and a smaller value to move).
#[derive(Clone, Eq)]
pub struct Via {
    /// From the protocol name to the end of the host, as written.
    head: Bytes,
    /// `[start, end)` of protocol, version, transport and host in `head`.
    spans: [(u32, u32); 4],
    port: Option<u16>,
    params: Params,
}

impl PartialEq for Via {
    /// Field by field: whitespace around the slashes does not matter.
    fn eq(&self, other: &Self) -> bool {
        (0..4).all(|i| self.field(i) == other.field(i))
            && self.port == other.port
            && self.params == other.params
    }
}

/// The bytes of a host [`Via::is_plain`] takes: letters, digits, dots and dashes.
static PLAIN_HOST: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = b.is_ascii_alphanumeric() || b == b'.' || b == b'-';
        i += 1;
    }
    t
};

const PROTOCOL: usize = 0;
const VERSION: usize = 1;
const TRANSPORT: usize = 2;
const HOST: usize = 3;

impl Via {
    /// `SIP/2.0/<transport> <host>[:<port>];branch=<branch>`.
    ///
    /// # Errors
    /// [`HeaderError`] when the transport is not a token or the host is not a host.
    pub fn new(
        transport: &str,
        host: &str,
        port: Option<u16>,
        branch: &str,
    ) -> Result<Self, HeaderError> {
        let mut s = Vec::with_capacity(24 + transport.len() + host.len() + branch.len());
        Self::write_text(&mut s, transport, host, port, branch);
        let s = Bytes::from(s);
        // The common form (token transport, host name or IPv4 address, token branch) is
        // built as `parse` would find it, without parsing the text just written; anything
        // else goes through `parse` for its checks and errors.
        if Self::is_plain(transport, host, branch)
            && let (Ok(t), Ok(host_end)) = (
                u32::try_from(transport.len()),
                u32::try_from(9 + transport.len() + host.len()),
            )
        {
            return Ok(Self {
                head: s.slice(..host_end as usize),
                spans: [(0, 3), (4, 7), (8, 8 + t), (9 + t, host_end)],
                port,
                params: Params::from_checked(s.slice(s.len() - branch.len() - "branch=".len()..)),
            });
        }
        Self::parse(&s.slice_ref(scan::trim_lws(&s)))
    }

    /// Appends `SIP/2.0/<transport> <host>[:<port>];branch=<branch>`, the text of
    /// [`Via::new`] (and, for its common form, what `write_value` writes back).
    pub(crate) fn write_text(
        out: &mut Vec<u8>,
        transport: &str,
        host: &str,
        port: Option<u16>,
        branch: &str,
    ) {
        out.extend_from_slice(b"SIP/2.0/");
        out.extend_from_slice(transport.as_bytes());
        out.push(b' ');
        out.extend_from_slice(host.as_bytes());
        if let Some(p) = port {
            out.push(b':');
            scan::put_u32(out, u32::from(p));
        }
        out.extend_from_slice(b";branch=");
        out.extend_from_slice(branch.as_bytes());
    }

    /// Whether [`Via::new`] takes its common form: a token transport, a host name or IPv4
    /// address and a token branch, written as given.
    pub(crate) fn is_plain(transport: &str, host: &str, branch: &str) -> bool {
        !host.is_empty()
            && scan::all_in(host.as_bytes(), &PLAIN_HOST)
            && scan::all_token(transport.as_bytes())
            && scan::all_token(branch.as_bytes())
    }

    fn field(&self, i: usize) -> &[u8] {
        let (s, e) = self.spans.get(i).copied().unwrap_or_default();
        self.head.get(s as usize..e as usize).unwrap_or_default()
    }

    /// The sent-protocol name (`SIP`).
    pub fn protocol(&self) -> &str {
        scan::as_str(self.field(PROTOCOL))
    }

    /// The sent-protocol version (`2.0`).
    pub fn version(&self) -> &str {
        scan::as_str(self.field(VERSION))
    }

    /// The transport as written (`UDP`, `TCP`, `TLS`, `SCTP`, `WS`, `WSS` or another token).
    pub fn transport(&self) -> &str {
        scan::as_str(self.field(TRANSPORT))
    }

    /// Whether the transport is reliable (anything but UDP; RFC 3261 §17.1.1.2).
    pub fn is_reliable(&self) -> bool {
        !self.field(TRANSPORT).eq_ignore_ascii_case(b"UDP")
    }

    /// The sent-by host (an IPv6 reference keeps its brackets).
    pub fn host(&self) -> &str {
        scan::as_str(self.field(HOST))
    }

    /// The sent-by port, if given.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// All via-params.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// The via-params, to modify (e.g. a server transport adding `received`).
    pub fn params_mut(&mut self) -> &mut Params {
        &mut self.params
    }

    /// The `branch` parameter.
    pub fn branch(&self) -> Option<&str> {
        self.params.get("branch").flatten()
    }

    /// Whether the branch starts with the RFC 3261 magic cookie `z9hG4bK` (§8.1.1.7).
    pub fn has_rfc3261_branch(&self) -> bool {
        self.branch().is_some_and(|b| b.starts_with("z9hG4bK"))
    }

    /// The `received` parameter (§18.2.1).
    pub fn received(&self) -> Option<&str> {
        self.params.get("received").flatten()
    }

    /// The `rport` parameter (RFC 3581): `None` absent, `Some(None)` requested (no value,
    /// or the empty `rport=` some UAs write), `Some(Some(port))` filled in.
    pub fn rport(&self) -> Option<Option<u16>> {
        self.params
            .get("rport")
            .map(|v| v.and_then(|v| scan::parse_u64(v.as_bytes(), 5)?.try_into().ok()))
    }

    /// The `maddr` parameter.
    pub fn maddr(&self) -> Option<&str> {
        self.params.get("maddr").flatten()
    }

    /// The `ttl` parameter.
    pub fn ttl(&self) -> Option<u8> {
        self.params
            .get("ttl")
            .flatten()
            .and_then(|v| v.parse().ok())
    }

    /// Sets `received` (RFC 3261 §18.2.1).
    pub fn set_received(&mut self, addr: &str) {
        self.params.set("received", Some(addr));
    }

    /// Sets `rport` to the source port (RFC 3581 §4).
    pub fn set_rport(&mut self, port: u16) {
        self.params.set("rport", Some(&port.to_string()));
    }
}

impl Header for Via {
    const NAME: HeaderName = HeaderName::Via;
    const MULTI: bool = true;

    fn parse(value: &Bytes) -> Result<Self, HeaderError> {
        let s: &[u8] = value;
        // sent-protocol = protocol-name SLASH protocol-version SLASH transport, with LWS
        // allowed around the slashes (RFC 3261 SLASH = SWS "/" SWS)
        let mut rest = ltrim(s);
        let mut fields: [&[u8]; 3] = [&[]; 3];
        for (i, field) in fields.iter_mut().enumerate() {
            if i > 0 {
                rest = ltrim(rest);
                let [b'/', tail @ ..] = rest else {
                    return Err(HeaderError::Unexpected {
                        at: scan::offset_in(s, rest),
                    });
                };
                rest = ltrim(tail);
            }
            let n = rest
                .iter()
                .position(|&c| !is_token(c))
                .unwrap_or(rest.len());
            if n == 0 {
                return Err(HeaderError::Unexpected {
                    at: scan::offset_in(s, rest),
                });
            }
            *field = rest.get(..n).unwrap_or_default();
            rest = rest.get(n..).unwrap_or_default();
        }
        let [protocol, version, transport] = fields;
        // LWS sent-by
        let before = rest.len();
        rest = ltrim(rest);
        if before == rest.len() {
            return Err(HeaderError::Unexpected {
                at: scan::offset_in(s, rest),
            });
        }
        let host_len = if rest.first() == Some(&b'[') {
            rest.iter().position(|&c| c == b']').map_or(0, |i| i + 1)
        } else {
            rest.iter()
                .position(|&c| !crate::uri::is_host_char(c))
                .unwrap_or(rest.len())
        };
        let host = rest.get(..host_len).unwrap_or_default();
        let host_at = scan::offset_in(s, rest);
        if host.is_empty() || !valid_host(host) {
            return Err(HeaderError::Unexpected { at: host_at });
        }
        rest = ltrim(rest.get(host_len..).unwrap_or_default());
        let mut port = None;
        if let [b':', tail @ ..] = rest {
            let t = ltrim(tail);
            let n = t.iter().take_while(|c| c.is_ascii_digit()).count();
            let p = scan::parse_u64(t.get(..n).unwrap_or_default(), 5)
                .and_then(|v| u16::try_from(v).ok())
                .ok_or(HeaderError::BadNumber {
                    at: scan::offset_in(s, t),
                })?;
            port = Some(p);
            rest = t.get(n..).unwrap_or_default();
        }
        // ttl = 1*3DIGIT (0-255); rport = [ "=" 1*DIGIT ] (RFC 3581). An empty `rport=` is
        // read as the bare flag: some UAs write the request so (elixir-sippet#14,
        // https://github.com/balena/elixir-sippet/issues/14), and refusing their Via would
        // refuse every request they send. Only rport: `branch=` and the rest stay refused.
        let params =
            Params::parse_checked_allowing_empty(value, rest, s, &["rport"], |name, v| {
                let ok = if name.eq_ignore_ascii_case(b"ttl") {
                    v.and_then(|t| scan::parse_u64(t, 3))
                        .is_some_and(|t| t <= 255)
                } else if name.eq_ignore_ascii_case(b"rport") {
                    v.is_none_or(|p| {
                        p.is_empty() || scan::parse_u64(p, 5).is_some_and(|p| p <= 65_535)
                    })
                } else {
                    true
                };
                ok.then_some(()).ok_or(HeaderError::BadNumber { at: 0 })
            })?;
        let start = scan::offset_in(s, protocol);
        let head = s
            .get(start..scan::offset_in(s, host) + host.len())
            .unwrap_or_default();
        let mut spans = [(0u32, 0u32); 4];
        for (span, field) in spans.iter_mut().zip([protocol, version, transport, host]) {
            let a = scan::offset_in(head, field);
            let b = a + field.len();
            *span = (
                u32::try_from(a).map_err(|_| HeaderError::Unexpected { at: start })?,
                u32::try_from(b).map_err(|_| HeaderError::Unexpected { at: start })?,
            );
        }
        Ok(Self {
            head: value.slice_ref(head),
            spans,
            port,
            params,
        })
    }

    fn write_value(&self, out: &mut Vec<u8>) {
        self.write_to(out);
    }
}

/// A host as in a SIP URI: IPv6 reference, IPv4 address or host name (the caller already
/// limited a non-bracketed host to host-name characters).
fn valid_host(host: &[u8]) -> bool {
    match host {
        // with a zone (`[fe80::1%eth0]`, as Asterisk writes a link-local sent-by)
        [b'[', inner @ .., b']'] => crate::uri::is_ipv6_reference_inner(inner),
        [b'[', ..] => false,
        _ => true,
    }
}

impl Via {
    /// Appends the value as `Display` writes it.
    fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.field(PROTOCOL));
        out.push(b'/');
        out.extend_from_slice(self.field(VERSION));
        out.push(b'/');
        out.extend_from_slice(self.field(TRANSPORT));
        out.push(b' ');
        out.extend_from_slice(self.field(HOST));
        if let Some(p) = self.port {
            out.push(b':');
            scan::put_u32(out, u32::from(p));
        }
        self.params.write_to(out);
    }
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{} {}",
            self.protocol(),
            self.version(),
            self.transport(),
            self.host()
        )?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        write!(f, "{}", self.params)
    }
}

impl fmt::Debug for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Via({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `is_plain` takes a host of letters, digits, dots and dashes, whatever byte is where.
    #[test]
    fn plain_host_is_the_bytewise_test() {
        assert!(!Via::is_plain("UDP", "", "z9hG4bK1"));
        for len in 1..12 {
            for at in 0..len {
                for c in 0..=127u8 {
                    let mut host = vec![b'h'; len];
                    host[at] = c;
                    let host = String::from_utf8(host).unwrap_or_default();
                    let want = c.is_ascii_alphanumeric() || c == b'.' || c == b'-';
                    assert_eq!(Via::is_plain("UDP", &host, "z9hG4bK1"), want, "{host:?}");
                }
            }
        }
        assert!(!Via::is_plain("UDP", "h\u{e9}", "z9hG4bK1"));
        assert!(!Via::is_plain("U DP", "h", "z9hG4bK1"));
        assert!(!Via::is_plain("UDP", "h", "z9hG4bK;1"));
    }

    /// `Via::new` builds the common form directly: the same value `parse` finds in its text.
    #[test]
    fn new_equals_parse() {
        for (transport, host, port, branch) in [
            ("UDP", "127.0.0.1", Some(5061), "z9hG4bK0000000000000001"),
            (
                "TCP",
                "pc33.atlanta-1.example.com",
                None,
                "z9hG4bK776asdhds",
            ),
            ("WSS", "h", Some(0), "b"),
            ("udp", "[2001:db8::9]", Some(5070), "z9hG4bK1"),
            ("UDP", "a.example.com", None, "\"quoted\""),
        ] {
            let v = Via::new(transport, host, port, branch).unwrap();
            let text = v.to_string();
            let parsed = Via::parse_str(&text).unwrap();
            assert_eq!(v, parsed, "{text}");
            assert_eq!(v.to_string(), parsed.to_string());
            assert_eq!((v.transport(), v.host(), v.port()), (transport, host, port));
            assert_eq!(v.branch(), parsed.branch());
        }
        assert!(Via::new("U DP", "h", None, "b").is_err());
        assert!(Via::new("UDP", "", None, "b").is_err());
    }

    #[test]
    fn odd_whitespace() {
        let v = Via::parse_str("SIP  /   2.0\r\n /UDP\r\n    192.0.2.2;branch=390skdjuw").unwrap();
        assert_eq!(v.transport(), "UDP");
        assert_eq!(v.host(), "192.0.2.2");
        assert_eq!(v.branch(), Some("390skdjuw"));
        let v = Via::parse_str(
            "SIP  / 2.0  / TCP     spindle.example.com   ;\r\n  branch  =   z9hG4bK9ikj8",
        )
        .unwrap();
        assert_eq!(v.transport(), "TCP");
        assert_eq!(v.host(), "spindle.example.com");
        assert_eq!(v.branch(), Some("z9hG4bK9ikj8"));
        assert!(v.has_rfc3261_branch());
    }

    #[test]
    fn params_and_port() {
        let mut v = Via::parse_str(
            "SIP/2.0/UDP [2001:db8::9]:5070;branch=z9hG4bK77;rport;maddr=224.2.0.1;ttl=16",
        )
        .unwrap();
        assert_eq!(v.host(), "[2001:db8::9]");
        assert_eq!(v.port(), Some(5070));
        assert_eq!(v.rport(), Some(None));
        assert_eq!(v.maddr(), Some("224.2.0.1"));
        assert_eq!(v.ttl(), Some(16));
        v.set_received("192.0.2.7");
        v.set_rport(5071);
        assert_eq!(v.received(), Some("192.0.2.7"));
        assert_eq!(v.rport(), Some(Some(5071)));
        assert_eq!(
            v.to_string(),
            "SIP/2.0/UDP [2001:db8::9]:5070;branch=z9hG4bK77;maddr=224.2.0.1;ttl=16;received=192.0.2.7;rport=5071"
        );
        let v2 = Via::parse_str(&v.to_string()).unwrap();
        assert_eq!(v2, Via::parse_str(&v2.to_string()).unwrap());
    }

    /// `rport=` with nothing after it (elixir-sippet#14) reads as the request `rport`; no
    /// other Via parameter may be empty, and an rport value must still be a port.
    #[test]
    fn empty_rport_is_the_request_flag() {
        for text in [
            "SIP/2.0/UDP 192.0.2.4:5060;rport=;branch=z9hG4bK74bf9",
            "SIP/2.0/UDP 192.0.2.4:5060;branch=z9hG4bK74bf9;rport=",
            "SIP/2.0/UDP 192.0.2.4:5060;branch=z9hG4bK74bf9;RPORT = ",
        ] {
            let mut v = Via::parse_str(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
            assert_eq!(v.rport(), Some(None), "{text:?}");
            assert_eq!(v.branch(), Some("z9hG4bK74bf9"), "{text:?}");
            let again = Via::parse_str(&v.to_string()).unwrap();
            assert_eq!(again.to_string(), v.to_string(), "{text:?}");
            assert_eq!(again.rport(), Some(None), "{text:?}");
            // a server answers the request as for a bare rport
            v.set_rport(6050);
            assert_eq!(v.rport(), Some(Some(6050)));
        }
        for bad in [
            "SIP/2.0/UDP 192.0.2.4;branch=",
            "SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK1;received=",
            "SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK1;ttl=",
            "SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK1;rport=x",
            "SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK1;rport=70000",
        ] {
            assert!(Via::parse_str(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn rejects() {
        for bad in [
            "",
            "SIP/2.0 host",
            "SIP/2.0/UDP",
            "SIP/2.0/UDP 192.0.2.15;;",
            "SIP/2.0/UDP host:99999",
            "SIP/2.0/UDP host;ttl=300",
            "SIP/2.0/UDP ho st",
            "SIP/2.0/UDP [::1",
        ] {
            assert!(Via::parse_str(bad).is_err(), "{bad:?}");
        }
    }
}
