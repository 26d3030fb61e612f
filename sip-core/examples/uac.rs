//! A UAC for interop tests: places `--calls` calls to `--to`, `--concurrent` at a time;
//! each call hangs up with BYE `--hold-ms` after the answer. Prints a summary and exits 1
//! if any call failed.
//!
//! `uac --to 127.0.0.1:5070 [--bind 127.0.0.1:0] [--calls 10] [--concurrent 5]
//!      [--hold-ms 100] [--user u --password p] [--tcp | --tls CA | --ws] [--late-offer]`
//! `uac --uri sip:service@example.com [--dns 127.0.0.1:53] [...]`
//!
//! `--uri` calls a SIP URI located by RFC 3263 (`Driver::resolve_all`: NAPTR, SRV, A over
//! the nameserver `--dns`, else those of /etc/resolv.conf); the transport comes from DNS
//! or the URI, not from `--tcp`. The UA is handed every target: an INVITE that times out,
//! meets a transport error or gets a 503 goes to the next one (RFC 3263 §4.3,
//! `UaEvent::FailedOver`); the summary line counts these as `failovers`.
//!
//! `--late-offer` sends the INVITEs without an offer: the peer's 2xx must carry one, and
//! the ACK carries our answer (RFC 3264 §5); a 2xx without an offer fails the call.
//!
//! `--tls CA` calls `sips:` over TLS, trusting the certificates of the PEM file CA and
//! checking the server's certificate against the `--to` address. `--ws` calls over
//! WebSocket (RFC 7118, `ws://` to the `--to` address).

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use telox_sip_core::Uri;
use telox_sip_core::tokio::{DnsConfig, Driver, DriverConfig, TlsConfig, tls};
use telox_sip_core::transaction::{Target, Transport};
use telox_sip_core::ua::{Body, LegId, UaConfig, UaEvent, UserAgent};

const SDP: &str = "v=0\r\no=telox 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
m=audio 40002 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
    };
    let located: Option<Uri> = arg("--uri")
        .map(|u| u.parse().map_err(std::io::Error::other))
        .transpose()?;
    let to: Option<SocketAddr> = arg("--to")
        .map(|s| s.parse().map_err(std::io::Error::other))
        .transpose()?;
    let bind = arg("--bind").map_or("127.0.0.1:0", String::as_str);
    let calls: u64 = arg("--calls").and_then(|s| s.parse().ok()).unwrap_or(10);
    let concurrent: u64 = arg("--concurrent")
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let hold = Duration::from_millis(arg("--hold-ms").and_then(|s| s.parse().ok()).unwrap_or(100));
    let tcp = args.iter().any(|a| a == "--tcp");
    let late_offer = args.iter().any(|a| a == "--late-offer");
    let mut config = DriverConfig::new(bind.parse().map_err(std::io::Error::other)?);
    config.tcp = tcp;
    if let Some(ns) = arg("--dns") {
        config.dns = Some(DnsConfig::new(vec![
            ns.parse().map_err(std::io::Error::other)?,
        ]));
    }
    let tls_ca = arg("--tls");
    if let Some(ca) = tls_ca {
        let roots = tls::load_certs(ca)
            .and_then(tls::root_store)
            .and_then(tls::client_config)
            .map_err(std::io::Error::other)?;
        config.tls = Some(TlsConfig::new(None, None, Some(roots)));
    }
    let ws = args.iter().any(|a| a == "--ws");
    let transport = match (tls_ca.is_some(), tcp, ws) {
        (true, _, _) => Transport::Tls,
        (false, _, true) => Transport::Ws,
        (false, true, false) => Transport::Tcp,
        (false, false, false) => Transport::Udp,
    };
    let mut driver = Driver::bind(config).await?;
    let mut ua_config = UaConfig::new(driver.local_addr(), "uac", 11);
    ua_config.transport = transport;
    if let (Some(u), Some(p)) = (arg("--user"), arg("--password")) {
        ua_config.credentials = Some((u.clone(), p.clone()));
    }
    let mut ua = UserAgent::new(ua_config);
    let (remote, targets) = match (&located, to) {
        (Some(u), _) => (u.clone(), driver.resolve_all(u).await?),
        (None, Some(to)) => (
            format!("{}:service@{to}", scheme(transport))
                .parse()
                .map_err(std::io::Error::other)?,
            vec![Target {
                transport,
                addr: to,
            }],
        ),
        (None, None) => {
            return Err(std::io::Error::other(
                "--to HOST:PORT or --uri URI is required",
            ));
        }
    };
    if located.is_some() {
        let list: Vec<String> = targets
            .iter()
            .map(|t| format!("{:?} {}", t.transport, t.addr))
            .collect();
        println!("uac targets: {}", list.join(", "));
    }
    let mut failovers = 0u64;
    let local = driver.local_addr();
    let (mut started, mut ok, mut failed) = (0u64, 0u64, 0u64);
    let mut live: HashSet<LegId> = HashSet::new();
    let mut hangups: BTreeMap<Instant, Vec<LegId>> = BTreeMap::new();
    let deadline = clock() + Duration::from_secs(60 + calls / 10);
    while (ok + failed < calls) && clock() < deadline {
        let now = clock();
        while started < calls && (live.len() as u64) < concurrent {
            let leg = invite(&mut ua, now, (&remote, local), &targets, late_offer)?;
            live.insert(leg);
            started += 1;
        }
        let due: Vec<Instant> = hangups.range(..=now).map(|(k, _)| *k).collect();
        for k in due {
            for leg in hangups.remove(&k).unwrap_or_default() {
                if ua.bye(now, leg).is_err() {
                    failed += 1;
                    live.remove(&leg);
                }
            }
        }
        let wake = hangups.keys().next().copied().unwrap_or(deadline);
        let step = tokio::time::timeout_at(wake.into(), driver.step(&mut ua)).await;
        if let Ok(r) = step {
            r?;
        }
        let now = clock();
        while let Some(event) = ua.poll_event() {
            match event {
                UaEvent::Answered { leg, .. } if late_offer && !ua.ack_pending(leg) => {
                    eprintln!("call failed: no offer in the 2xx");
                    let _ = ua.bye(now, leg);
                    failed += 1;
                    live.remove(&leg);
                }
                UaEvent::Answered { leg, .. } => {
                    if ua.ack_pending(leg) {
                        // The 2xx carried the offer: our answer goes in the ACK.
                        ua.ack(leg, Some(Body::sdp(SDP)))
                            .map_err(std::io::Error::other)?;
                    }
                    hangups.entry(now + hold).or_default().push(leg);
                }
                UaEvent::FailedOver { .. } => failovers += 1,
                UaEvent::Failed { leg, status, .. } => {
                    eprintln!("call failed: {status}");
                    failed += 1;
                    live.remove(&leg);
                }
                UaEvent::Ended { leg, by_peer } if live.remove(&leg) => {
                    if by_peer {
                        failed += 1;
                    } else {
                        ok += 1;
                    }
                }
                _ => {}
            }
        }
    }
    driver.flush(&mut ua).await?;
    if located.is_some() {
        println!("uac failovers={failovers}");
    }
    println!("uac calls={calls} ok={ok} failed={failed}");
    if ok == calls {
        Ok(())
    } else {
        Err(std::io::Error::other("some calls failed"))
    }
}

/// `sips` over TLS, else `sip`.
fn scheme(transport: Transport) -> &'static str {
    if transport == Transport::Tls {
        "sips"
    } else {
        "sip"
    }
}

/// Places one call to `remote` through `targets` (the UA fails over along them), from
/// `uac@local` with the first target's scheme; with an offer unless `late_offer`.
fn invite(
    ua: &mut UserAgent,
    now: Instant,
    (remote, local): (&Uri, SocketAddr),
    targets: &[Target],
    late_offer: bool,
) -> std::io::Result<LegId> {
    let target = *targets
        .first()
        .ok_or_else(|| std::io::Error::other("no target"))?;
    let from: Uri = format!("{}:uac@{local}", scheme(target.transport))
        .parse()
        .map_err(std::io::Error::other)?;
    let body = (!late_offer).then(|| Body::sdp(SDP));
    ua.invite(now, from, remote.clone(), remote.clone(), targets, body)
        .map_err(std::io::Error::other)
}

#[expect(
    clippy::disallowed_methods,
    reason = "an example program reads the real clock"
)]
fn clock() -> Instant {
    Instant::now()
}
