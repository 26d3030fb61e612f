//! `gateway`: a SIP gateway between an internal side and SIP trunks: accepts calls from the
//! allowed networks only, sends each to the first trunk that answers (failover on 5xx or
//! timeout), transcodes Opus <-> G.711 and bridges SRTP <-> RTP, and prints a quality report
//! per call.
//!
//! ```text
//! gateway --listen 127.0.0.1:5080 --trunk 127.0.0.1:5090 [--trunk 127.0.0.1:5091] --allow 127.0.0.0/8
//!         [--trunk-user U --trunk-password P [--trunk-registrar IP:PORT] [--register-expires S]
//!          [--no-register]] [--trunk-codecs pcmu,pcma] [--trunk-timeout 5s] [--dns IP:PORT]
//!         [--trunk-source CIDR[:PORT] ...] [--tls-listen IP:PORT --tls-cert FILE --tls-key FILE
//!          [--tls-ca FILE]] [--duration D] [--quiet]
//! ```
//!
//! The gateway listens on UDP and TCP at `--listen`. A trunk reaches over the transport its
//! URI names: `sip:carrier.example.com;transport=tcp`, or TLS with `sips:` or
//! `;transport=tls`, whose certificate is verified against `--tls-ca`. A TLS trunk also needs
//! the gateway's TLS listener (`--tls-listen` with `--tls-cert`/`--tls-key`): the Contact of
//! its REGISTERs and INVITEs names it, and the carrier's own requests (a BYE, a re-INVITE, a
//! call to the registered binding) come there. Its REGISTERs go over the trunk's transport.
//!
//! `--trunk` and `--trunk-registrar` also take a host name or SIP URI
//! (`--trunk sip:provider.example.com`): located at start by RFC 3263 (NAPTR, SRV, A over
//! UDP, through `--dns` or the nameservers of /etc/resolv.conf); the INVITEs and REGISTERs
//! fail over along its targets.
//!
//! A call from a trunk's sources is refused (403), even from an `--allow`ed network: every
//! call goes out to a trunk, and a carrier's may not come back out (toll fraud). The sources
//! are the trunks' own addresses (over TCP/TLS from any port, unless on this host), or, for a carrier whose SBCs
//! send from other addresses, the `--trunk-source` list (repeated, for every trunk): IPs and
//! CIDR prefixes, each with an optional UDP port (`203.0.113.0/28`, `198.51.100.7:5060`,
//! `[2001:db8::7]:5060`).

#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::time::Duration;

use sip_core::transaction::Transport;
use telox_examples::cli::{Cidr, Spec};
use telox_examples::config::TlsListen;
use telox_examples::gateway::{self, GatewayConfig};
use telox_examples::lifecycle::{print_logs_until, print_remaining, shutdown_signal};
use telox_examples::trunk::{SourceNet, TrunkAddress, TrunkRegistration};
use tokio::sync::{mpsc, watch};

const USAGE: &str = "usage: gateway --listen IP:PORT --trunk IP:PORT|HOST|URI [--trunk ...] --allow CIDR \
[--allow CIDR ...] [--trunk-user U --trunk-password P [--trunk-registrar IP:PORT|HOST|URI] [--register-expires S] [--no-register]] \
[--trunk-codecs pcmu,pcma] [--trunk-timeout D] [--dns IP:PORT] [--trunk-source CIDR[:PORT] ...] \
[--tls-listen IP:PORT --tls-cert FILE --tls-key FILE [--tls-ca FILE]] [--duration D] [--seed N] [--quiet]";

fn config(rt: &tokio::runtime::Runtime) -> Result<(GatewayConfig, Option<Duration>, bool), String> {
    let a = Spec::new()
        .values(&[
            "listen",
            "trunk",
            "allow",
            "trunk-user",
            "trunk-password",
            "trunk-codecs",
            "trunk-timeout",
            "trunk-registrar",
            "register-expires",
            "trunk-source",
            "tls-ca",
            "tls-listen",
            "tls-cert",
            "tls-key",
            "dns",
            "duration",
            "seed",
        ])
        .switches(&["no-register", "quiet", "help"])
        .parse(std::env::args().skip(1))
        .map_err(|e| e.to_string())?;
    if a.flag("help") {
        println!("{USAGE}");
        std::process::exit(0);
    }
    let listen = a
        .addr("listen")
        .map_err(|e| e.to_string())?
        .ok_or("--listen is required")?;
    let dns = a.addr("dns").map_err(|e| e.to_string())?;
    let tls = match (
        a.addr("tls-listen").map_err(|e| e.to_string())?,
        a.value("tls-cert"),
        a.value("tls-key"),
    ) {
        (Some(listen), Some(cert), Some(key)) => Some(TlsListen {
            listen,
            cert: cert.into(),
            key: key.into(),
            ca: a.value("tls-ca").map(Into::into),
        }),
        (None, None, None) if a.value("tls-ca").is_none() => None,
        _ => {
            return Err(
                "--tls-listen, --tls-cert and --tls-key go together (and --tls-ca with them)"
                    .into(),
            );
        }
    };
    let tls_trunk_ok = tls.as_ref().is_some_and(|t| t.ca.is_some());
    // A TLS trunk without a CA to verify it with, or without a listener for the carrier's
    // requests, would fail calls: refused here, not left to fail call by call. (WebSocket is
    // for browsers, not trunks.)
    let locate = |spec: &str| {
        let trunk = rt
            .block_on(TrunkAddress::locate(spec, dns, listen))
            .map_err(|e| format!("bad --trunk {e}"))?;
        match trunk.transport {
            Transport::Udp | Transport::Tcp => {}
            Transport::Tls if tls_trunk_ok => {}
            Transport::Tls => {
                return Err(format!(
                    "bad --trunk {spec}: over TLS it needs --tls-ca (the CA its certificate is \
                     verified against) and --tls-listen/--tls-cert/--tls-key (where the carrier's \
                     requests come)"
                ));
            }
            t => {
                return Err(format!(
                    "bad --trunk {spec}: the gateway reaches trunks over UDP, TCP or TLS, not {}",
                    t.as_via_str()
                ));
            }
        }
        Ok(trunk)
    };
    let trunks = a
        .all("trunk")
        .iter()
        .map(|t| locate(t))
        .collect::<Result<Vec<_>, _>>()?;
    if trunks.is_empty() {
        return Err("at least one --trunk is required".into());
    }
    let allow = a
        .all("allow")
        .iter()
        .map(|c| {
            c.parse::<Cidr>()
                .map_err(|e| format!("bad --allow {c}: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if allow.is_empty() {
        return Err(
            "at least one --allow CIDR is required (calls from elsewhere are refused)".into(),
        );
    }
    let trunk_sources = SourceNet::from_flags(a.all("trunk-source"))?;
    let credentials = match (a.value("trunk-user"), a.value("trunk-password")) {
        (Some(u), Some(p)) => Some((u.to_owned(), p.to_owned())),
        (None, None) => None,
        _ => return Err("--trunk-user and --trunk-password go together".into()),
    };
    // With credentials the gateway registers to each trunk (or to --trunk-registrar).
    let expires: u32 = a
        .parsed_or("register-expires", 3600, "seconds")
        .map_err(|e| e.to_string())?;
    let registrars = match a.value("trunk-registrar") {
        Some(r) => vec![locate(r)?],
        None => trunks.clone(),
    };
    let registrations = match &credentials {
        Some((user, _)) if !a.flag("no-register") => registrars
            .iter()
            .enumerate()
            .map(|(i, r)| TrunkRegistration::located(&format!("{}", i + 1), user, r, expires))
            .collect::<Result<Vec<_>, _>>()?,
        _ => Vec::new(),
    };
    let trunk_codecs = a
        .value("trunk-codecs")
        .unwrap_or("pcmu,pcma")
        .split(',')
        .map(|c| {
            if c.eq_ignore_ascii_case("opus") {
                "opus".to_owned()
            } else {
                c.trim().to_ascii_uppercase()
            }
        })
        .collect();
    Ok((
        GatewayConfig {
            listen,
            tls,
            trunks,
            dns,
            allow,
            trunk_sources,
            credentials,
            registrations,
            trunk_codecs,
            trunk_srtp: sdp::SrtpPolicy::Disabled,
            internal_codecs: vec!["opus".into(), "PCMU".into(), "PCMA".into(), "G722".into()],
            trunk_timeout: a
                .duration("trunk-timeout")
                .map_err(|e| e.to_string())?
                .unwrap_or(Duration::from_secs(5)),
            seed: a
                .parsed_or("seed", telox_examples::entropy_seed(), "a number")
                .map_err(|e| e.to_string())?,
        },
        a.duration("duration").map_err(|e| e.to_string())?,
        a.flag("quiet"),
    ))
}

fn main() -> ExitCode {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("gateway: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (cfg, duration, quiet) = match config(&rt) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("gateway: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let trunks: Vec<String> = cfg.trunks.iter().map(ToString::to_string).collect();
    eprintln!(
        "gateway: listening on udp:{0} and tcp:{0}, trunks [{1}]",
        cfg.listen,
        trunks.join(", ")
    );
    let r = rt.block_on(async move {
        let (log_tx, mut log_rx) = mpsc::channel::<String>(1024);
        let (stop_tx, stop_rx) = watch::channel(false);
        let task = tokio::spawn(gateway::run(cfg, log_tx, stop_rx));
        print_logs_until("gateway", quiet, &mut log_rx, shutdown_signal(duration)).await;
        let _ = stop_tx.send(true);
        let r = task.await;
        print_remaining("gateway", quiet, &mut log_rx);
        r
    });
    match r {
        Ok(Ok(s)) => {
            eprintln!(
                "gateway: stopped: {} bridged, {} failed, {} refused, {} failovers, {} trunk registrations ({} left registered)",
                s.answered,
                s.failed,
                s.refused,
                s.failovers,
                s.trunk_registrations,
                s.trunks_registered
            );
            ExitCode::SUCCESS
        }
        Ok(Err(e)) => {
            eprintln!("gateway: {e}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("gateway: {e}");
            ExitCode::FAILURE
        }
    }
}
