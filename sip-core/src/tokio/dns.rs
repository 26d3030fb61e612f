//! DNS over UDP, and TCP when an answer is truncated (RFC 1035 §4.2, RFC 7766 §5), for
//! locating SIP servers ([`Driver::resolve`](super::Driver::resolve)): a [`DnsClient`]
//! drives the sans-IO [`Resolution`] with the nameservers of [`DnsConfig`] and keeps a
//! [`DnsCache`].

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use super::now;
use crate::dns::{DnsCache, DnsMessage, IpFamilies, Question, Rcode, Resolution};
use crate::locate::{self, LocateConfig};
use crate::transaction::Target;
use crate::ua::TargetList;
use crate::uri::Uri;

/// Where and how to ask.
#[derive(Clone, Debug)]
pub struct DnsConfig {
    /// Nameservers, asked in turn (UDP, and TCP on the same address after a truncated
    /// answer).
    pub nameservers: Vec<SocketAddr>,
    /// How long to wait for one server's answer before asking the next.
    pub timeout: Duration,
    /// Rounds over all the servers before a question counts as failed.
    pub attempts: u32,
    /// Bound on cached answers.
    pub cache_entries: usize,
    /// Bound on one whole resolution: once passed, the questions left count as failed
    /// (no records), so a dead nameserver cannot hold the caller for every question's
    /// `timeout * attempts * nameservers`.
    pub resolve_timeout: Duration,
}

impl DnsConfig {
    /// Asks `nameservers` with a 2 s timeout, 2 rounds, 1024 cached answers.
    pub fn new(nameservers: Vec<SocketAddr>) -> Self {
        Self {
            nameservers,
            timeout: Duration::from_secs(2),
            attempts: 2,
            cache_entries: 1024,
            resolve_timeout: Duration::from_secs(10),
        }
    }

    /// The settings of a resolv.conf(5) text: up to three `nameserver` lines (port 53),
    /// `options timeout:N attempts:N`; without a nameserver, the local one (127.0.0.1,
    /// as the resolver library does). `search` and `domain` are ignored: SIP URIs carry
    /// fully qualified names.
    pub fn from_resolv_conf(text: &str) -> Self {
        let mut config = Self::new(Vec::new());
        config.timeout = Duration::from_secs(5);
        for line in text.lines() {
            let mut words = line.split_whitespace();
            match words.next() {
                Some("nameserver") => {
                    let ip = words
                        .next()
                        .map(|w| w.split('%').next().unwrap_or(w))
                        .and_then(|w| w.parse::<IpAddr>().ok());
                    if let Some(ip) = ip
                        && config.nameservers.len() < MAX_NAMESERVERS
                    {
                        config.nameservers.push(SocketAddr::new(ip, 53));
                    }
                }
                Some("options") => {
                    for option in words {
                        let (key, value) = option.split_once(':').unwrap_or((option, ""));
                        let Ok(n) = value.parse::<u32>() else {
                            continue;
                        };
                        match key {
                            "timeout" => {
                                config.timeout = Duration::from_secs(n.clamp(1, 30).into())
                            }
                            "attempts" => config.attempts = n.clamp(1, 5),
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        if config.nameservers.is_empty() {
            config
                .nameservers
                .push(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 53));
        }
        config
    }

    /// [`DnsConfig::from_resolv_conf`] of `/etc/resolv.conf`.
    ///
    /// # Errors
    /// The file cannot be read.
    pub fn system() -> io::Result<Self> {
        Ok(Self::from_resolv_conf(&std::fs::read_to_string(
            "/etc/resolv.conf",
        )?))
    }
}

/// Asks nameservers and caches their answers. See the module docs.
#[derive(Debug)]
pub struct DnsClient {
    config: DnsConfig,
    cache: DnsCache,
    /// Query IDs (RFC 5452 §9.2: unpredictable) and the SRV weighted order.
    rng: ChaCha8Rng,
}

impl DnsClient {
    /// A client with an empty cache, its random source seeded from the OS.
    pub fn new(config: DnsConfig) -> Self {
        Self {
            cache: DnsCache::new(config.cache_entries),
            config,
            rng: ChaCha8Rng::from_os_rng(),
        }
    }

    /// The cache.
    pub fn cache(&self) -> &DnsCache {
        &self.cache
    }

    /// The targets for `uri` in the order to try them (RFC 3263 §4), as
    /// [`Driver::resolve_all`](super::Driver::resolve_all) finds them, without a driver:
    /// an IP host needs no lookup ([`locate::ip_target`]); a name is [located](Self::locate)
    /// over DNS with `config`'s transports, and when DNS gives no address, or for a
    /// single-label host such as `localhost`, the system resolver (`/etc/hosts`, then its
    /// DNS) is asked for the host (an address of `families`, IPv4 for
    /// [`IpFamilies::Both`]).
    ///
    /// # Errors
    /// `InvalidInput` for a non-SIP URI or an unsupported transport; `NotFound` when the
    /// host has no address.
    pub async fn resolve(
        &mut self,
        uri: &Uri,
        config: &LocateConfig,
        families: IpFamilies,
    ) -> io::Result<Vec<Target>> {
        Ok(self.resolve_list(uri, config, families).await?.into_vec())
    }

    /// As [`DnsClient::resolve`], with the instant the targets go stale
    /// ([`TargetList::expires`]): the smallest TTL of the records they came from
    /// ([`Resolution::expires`]). An IP host never goes stale, nor does a host the system
    /// resolver answered (it tells no TTL; it has its own caching).
    ///
    /// # Errors
    /// As [`DnsClient::resolve`].
    pub async fn resolve_list(
        &mut self,
        uri: &Uri,
        config: &LocateConfig,
        families: IpFamilies,
    ) -> io::Result<TargetList> {
        let host = match locate::ip_target(uri) {
            Ok(t) => return Ok(t.into()),
            Err(locate::LocateError::HostName(host)) => host,
            Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidInput, e)),
        };
        // A single label (`localhost`, a name from /etc/hosts) has no NAPTR or SRV records
        // in any public zone: the system resolver answers it at once.
        let located = if host.trim_end_matches('.').contains('.') {
            self.locate_list(uri, config, families).await?
        } else {
            TargetList::default()
        };
        if located.is_empty() {
            let transport = locate::uri_transport(uri)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
            let port = uri.port().unwrap_or(locate::default_port(transport));
            let v6 = families == IpFamilies::V6;
            let addr = tokio::net::lookup_host((host.as_str(), port))
                .await?
                .find(|a| a.is_ipv6() == v6)
                .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "host has no address"))?;
            return Ok(Target { transport, addr }.into());
        }
        Ok(located)
    }

    /// The ordered targets for `uri` (RFC 3263 §4): NAPTR, SRV and address lookups as the
    /// URI needs them, answered from the cache where fresh. A question no server answers
    /// counts as no records, and so do all questions left once
    /// [`DnsConfig::resolve_timeout`] has passed.
    ///
    /// # Errors
    /// `InvalidInput` for a URI [`Resolution::new`] refuses.
    pub async fn locate(
        &mut self,
        uri: &Uri,
        config: &LocateConfig,
        families: IpFamilies,
    ) -> io::Result<Vec<Target>> {
        Ok(self.locate_list(uri, config, families).await?.into_vec())
    }

    /// As [`DnsClient::locate`], with the instant the targets go stale
    /// ([`Resolution::expires`]: the smallest TTL of the records they came from).
    ///
    /// # Errors
    /// As [`DnsClient::locate`].
    pub async fn locate_list(
        &mut self,
        uri: &Uri,
        config: &LocateConfig,
        families: IpFamilies,
    ) -> io::Result<TargetList> {
        let mut resolution = Resolution::new(uri, config, families)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let deadline = now() + self.config.resolve_timeout;
        while let Some(question) = resolution.poll_question(now(), &self.cache) {
            let left = deadline.saturating_duration_since(now());
            if left.is_zero() {
                resolution.handle_failure(&question);
                continue;
            }
            match tokio::time::timeout(left, self.query(&question))
                .await
                .unwrap_or_else(|_| Err(io::ErrorKind::TimedOut.into()))
            {
                Ok(response) => {
                    resolution.handle_response(now(), &mut self.cache, &question, &response);
                }
                Err(_) => resolution.handle_failure(&question),
            }
        }
        Ok(TargetList::new(resolution.targets(&mut self.rng)).with_expiry(resolution.expires()))
    }

    /// Asks `question` of each server in turn, `attempts` rounds, each with a new random ID
    /// and a new socket (a random source port, RFC 5452 §9.2). A truncated UDP answer is
    /// asked again over TCP of the same server. SERVFAIL, REFUSED and the like move on to
    /// the next server; the last of them is returned when no server does better.
    ///
    /// # Errors
    /// `TimedOut` when no server answered; socket errors are taken as no answer.
    pub async fn query(&mut self, question: &Question) -> io::Result<DnsMessage> {
        let mut last = None;
        for _ in 0..self.config.attempts.max(1) {
            for server in self.config.nameservers.clone() {
                let query = DnsMessage::query(self.rng.random(), &question.name, question.rtype);
                let Ok(Some(mut response)) = self.udp(server, &query).await else {
                    continue;
                };
                if response.flags.truncated
                    && let Ok(Some(full)) = self.tcp(server, &query).await
                {
                    response = full;
                }
                let rcode = response.flags.rcode;
                if rcode == Rcode::NO_ERROR || rcode == Rcode::NAME_ERROR {
                    return Ok(response);
                }
                last = Some(response);
            }
        }
        last.ok_or_else(|| io::Error::new(io::ErrorKind::TimedOut, "no nameserver answered"))
    }

    /// One UDP exchange; `None` on timeout. Datagrams that are not the answer (another ID,
    /// another question, unparseable) are dropped and the wait goes on.
    async fn udp(&self, server: SocketAddr, query: &DnsMessage) -> io::Result<Option<DnsMessage>> {
        let bytes = query.encode().map_err(invalid)?;
        let local = match server {
            SocketAddr::V4(_) => SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
            SocketAddr::V6(_) => SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0),
        };
        let socket = UdpSocket::bind(local).await?;
        // connected: only the server's datagrams arrive
        socket.connect(server).await?;
        socket.send(&bytes).await?;
        let mut buf = vec![0u8; 65_535];
        let wait = async {
            loop {
                let n = socket.recv(&mut buf).await?;
                if let Ok(m) = DnsMessage::parse(buf.get(..n).unwrap_or_default())
                    && m.answers(query)
                {
                    return Ok::<_, io::Error>(m);
                }
            }
        };
        match tokio::time::timeout(self.config.timeout, wait).await {
            Ok(r) => r.map(Some),
            Err(_) => Ok(None),
        }
    }

    /// One TCP exchange (RFC 1035 §4.2.2: a two-octet length before each message); `None`
    /// on timeout.
    async fn tcp(&self, server: SocketAddr, query: &DnsMessage) -> io::Result<Option<DnsMessage>> {
        let bytes = query.encode().map_err(invalid)?;
        let exchange = async {
            let mut stream = TcpStream::connect(server).await?;
            let len = u16::try_from(bytes.len()).map_err(invalid)?;
            let mut out = Vec::with_capacity(bytes.len() + 2);
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(&bytes);
            stream.write_all(&out).await?;
            let len = stream.read_u16().await?;
            let mut buf = vec![0u8; usize::from(len)];
            stream.read_exact(&mut buf).await?;
            let m = DnsMessage::parse(&buf).map_err(invalid)?;
            if m.answers(query) {
                Ok(m)
            } else {
                Err(io::Error::new(io::ErrorKind::InvalidData, "not the answer"))
            }
        };
        match tokio::time::timeout(self.config.timeout, exchange).await {
            Ok(r) => r.map(Some),
            Err(_) => Ok(None),
        }
    }
}

fn invalid(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

/// resolv.conf(5) MAXNS.
const MAX_NAMESERVERS: usize = 3;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolv_conf_servers_and_options() {
        let c = DnsConfig::from_resolv_conf(
            "# comment\nsearch example.com\nnameserver 10.255.255.53\n\
             nameserver fe80::1%eth0\nnameserver bogus\noptions ndots:2 timeout:3 attempts:9\n\
             nameserver 192.0.2.1\nnameserver 192.0.2.2\n",
        );
        assert_eq!(
            c.nameservers,
            vec![
                "10.255.255.53:53".parse().unwrap(),
                "[fe80::1]:53".parse().unwrap(),
                "192.0.2.1:53".parse().unwrap(),
            ]
        );
        assert_eq!(c.timeout, Duration::from_secs(3));
        assert_eq!(c.attempts, 5);
        let empty = DnsConfig::from_resolv_conf("");
        assert_eq!(empty.nameservers, vec!["127.0.0.1:53".parse().unwrap()]);
        assert_eq!((empty.timeout, empty.attempts), (Duration::from_secs(5), 2));
    }
}
