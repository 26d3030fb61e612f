//! `pbx`: an IP PBX (registrar with digest auth, dial plan, ring groups, B2BUA with media
//! relay, trunks, call records, webhook, protection).
//!
//! ```text
//! pbx --config examples/data/pbx.toml
//! pbx --listen 127.0.0.1:5060 --demo-users 1000-1099 [--trunk 127.0.0.1:5070] [--direct-media]
//!     (--trunk: IP:PORT over UDP, or a host / SIP URI: `sip:127.0.0.1:5070;transport=tcp`)
//!     [--trunk-user U --trunk-password P [--trunk-registrar IP:PORT] [--register-expires S]]
//!     [--trunk-source CIDR[:PORT] ...]
//!     [--tls-cert PEM --tls-key PEM [--tls-listen IP:PORT] [--tls-ca PEM]] [--no-tcp]
//!     [--cdr FILE] [--record DIR] [--webhook http://IP:PORT/PATH] [--duration 60s]
//! ```
//! SIP over UDP and TCP on `--listen` (`--no-tcp`: UDP only), and over TLS on `--tls-listen`
//! (default: the next port) when a certificate is given; with `--tls-ca`, calls to a phone
//! whose TLS registration connection is gone open a new connection to its Contact, verified
//! against that CA.
//! With `--demo-users`, users `N..=M` have their extension as password (demo mode, logged
//! loudly); every other number an authenticated user dials goes to `--trunk`.
//!
//! A call from a trunk's sources is the carrier's: taken without a digest challenge, and
//! refused (403) when it, or a transfer it asks for, would go out through a trunk again.
//! The sources are the trunk's own addresses (over TCP/TLS from any port, unless the trunk is on this host: its exact address then), or the list given
//! as `sources` in the config file's trunk (or `--trunk-source`, repeated, for every trunk):
//! IPs and CIDR prefixes, each with an optional UDP port (`203.0.113.0/28`,
//! `198.51.100.7:5060`, `[2001:db8::7]:5060`), for a carrier whose SBCs send from other
//! addresses than the one the PBX sends to.

#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use telox_examples::cli::{CliError, Spec};
use telox_examples::config::{MediaMode, PbxConfig, TlsListen};
use telox_examples::lifecycle::{print_logs_until, print_remaining, shutdown_signal};
use telox_examples::pbx;
use telox_examples::trunk::{ServerAddress, SourceNet};
use tokio::sync::{mpsc, watch};

const USAGE: &str = "usage: pbx --config FILE | pbx --listen IP:PORT --demo-users N-M [--trunk IP:PORT|URI] \
[--trunk-user U --trunk-password P [--trunk-registrar IP:PORT] [--register-expires S] [--no-register]] \
[--trunk-source CIDR[:PORT] ...] [--tls-cert PEM --tls-key PEM [--tls-listen IP:PORT] [--tls-ca PEM]] [--no-tcp] \
[--direct-media] [--digest SHA-256,MD5] [--cdr FILE] [--record DIR] [--webhook URL] [--duration D] [--seed N] [--quiet]";

fn config() -> Result<(PbxConfig, Option<std::time::Duration>, u64, bool), String> {
    let args = Spec::new()
        .values(&[
            "config",
            "listen",
            "demo-users",
            "trunk",
            "cdr",
            "record",
            "webhook",
            "duration",
            "seed",
            "digest",
            "trunk-user",
            "trunk-password",
            "trunk-registrar",
            "register-expires",
            "trunk-source",
            "tls-cert",
            "tls-key",
            "tls-listen",
            "tls-ca",
        ])
        .switches(&["direct-media", "no-register", "no-tcp", "quiet", "help"])
        .parse(std::env::args().skip(1))
        .map_err(|e| e.to_string())?;
    if args.flag("help") {
        println!("{USAGE}");
        std::process::exit(0);
    }
    let mut cfg = match (args.value("config"), args.value("demo-users")) {
        (Some(path), _) => PbxConfig::load(&PathBuf::from(path)).map_err(|e| e.to_string())?,
        (None, Some(range)) => {
            let listen = args
                .addr("listen")
                .map_err(|e| e.to_string())?
                .ok_or("--listen is required")?;
            let (a, b) = range.split_once('-').unwrap_or((range, range));
            let (first, last): (u32, u32) = (
                a.parse().map_err(|_| format!("bad --demo-users {range}"))?,
                b.parse().map_err(|_| format!("bad --demo-users {range}"))?,
            );
            if last < first || last - first > 100_000 {
                return Err(format!("bad --demo-users range {range}"));
            }
            let trunk = args
                .value("trunk")
                .map(|t| {
                    t.parse::<ServerAddress>()
                        .map_err(|e| format!("--trunk {e}"))
                })
                .transpose()?;
            eprintln!(
                "pbx: DEMO MODE: users {first}-{last} have their extension as password; do not expose this PBX"
            );
            let cfg = PbxConfig::demo(listen, first, last, None);
            match trunk {
                Some(t) => cfg.with_trunk(t),
                None => cfg,
            }
        }
        _ => return Err(CliError::Required("config or --demo-users".into()).to_string()),
    };
    if let Some(l) = args.addr("listen").map_err(|e| e.to_string())? {
        cfg.listen = l;
    }
    if let Some(d) = args.value("digest") {
        cfg.digest_algorithms = d
            .split(',')
            .map(|a| a.trim().to_ascii_uppercase())
            .collect();
    }
    // Trunk credentials from flags apply to every trunk; with them the PBX registers to the
    // trunk (to --trunk-registrar when REGISTERs go elsewhere) unless --no-register.
    match (args.value("trunk-user"), args.value("trunk-password")) {
        (Some(u), Some(p)) => {
            let registrar = args.addr("trunk-registrar").map_err(|e| e.to_string())?;
            let expires: Option<u32> = match args.value("register-expires") {
                Some(v) => Some(
                    v.parse()
                        .map_err(|_| format!("bad --register-expires {v}"))?,
                ),
                None => None,
            };
            for t in &mut cfg.trunks {
                t.username = Some(u.to_owned());
                t.password = Some(p.to_owned());
                t.register = !args.flag("no-register");
                t.registrar = registrar.map(ServerAddress::Addr).or(t.registrar.take());
                t.register_expires = expires.unwrap_or(t.register_expires);
            }
        }
        (None, None) => {}
        _ => return Err("--trunk-user and --trunk-password go together".into()),
    }
    // Sources from flags apply to every trunk, as the credentials do.
    let sources = SourceNet::from_flags(args.all("trunk-source"))?;
    if !sources.is_empty() {
        for t in &mut cfg.trunks {
            t.sources.clone_from(&sources);
        }
    }
    // TLS: --tls-cert and --tls-key, on --tls-listen (default: the SIP port + 1).
    match (args.value("tls-cert"), args.value("tls-key")) {
        (Some(cert), Some(key)) => {
            let listen = match args.addr("tls-listen").map_err(|e| e.to_string())? {
                Some(a) => a,
                None => {
                    let mut a = cfg.listen;
                    a.set_port(a.port().checked_add(1).ok_or("--tls-listen is required")?);
                    a
                }
            };
            cfg.tls = Some(TlsListen {
                listen,
                cert: PathBuf::from(cert),
                key: PathBuf::from(key),
                ca: args.value("tls-ca").map(PathBuf::from),
            });
        }
        (None, None) => {}
        _ => return Err("--tls-cert and --tls-key go together".into()),
    }
    if args.flag("no-tcp") {
        cfg.tcp = false;
    }
    if args.flag("direct-media") {
        cfg.media = MediaMode::Direct;
    }
    if let Some(c) = args.value("cdr") {
        cfg.cdr_file = Some(PathBuf::from(c));
    }
    if let Some(d) = args.value("record") {
        cfg.record_dir = Some(PathBuf::from(d));
    }
    if let Some(w) = args.value("webhook") {
        cfg.webhook = Some(w.to_owned());
    }
    cfg.validate().map_err(|e| e.to_string())?;
    let duration = args.duration("duration").map_err(|e| e.to_string())?;
    let seed = args
        .parsed_or("seed", telox_examples::entropy_seed(), "a number")
        .map_err(|e| e.to_string())?;
    Ok((cfg, duration, seed, args.flag("quiet")))
}

fn main() -> ExitCode {
    let (cfg, duration, seed, quiet) = match config() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("pbx: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("pbx: {e}");
            return ExitCode::FAILURE;
        }
    };
    let listen = cfg.listen;
    let tcp = cfg.tcp;
    let users = cfg.users.len();
    let r = rt.block_on(async move {
        let (log_tx, mut log_rx) = mpsc::channel::<String>(1024);
        let (stop_tx, stop_rx) = watch::channel(false);
        let task = tokio::spawn(pbx::run(cfg, seed, Some(log_tx), stop_rx));
        eprintln!(
            "pbx: listening on udp:{listen}{}, {users} users",
            if tcp {
                format!(" and tcp:{listen}")
            } else {
                String::new()
            }
        );
        // SIGINT or SIGTERM (or --duration) stop the pbx cleanly.
        print_logs_until("pbx", quiet, &mut log_rx, shutdown_signal(duration)).await;
        let _ = stop_tx.send(true);
        let r = task.await;
        print_remaining("pbx", quiet, &mut log_rx);
        r
    });
    match r {
        Ok(Ok(summary)) => {
            let answered = summary
                .records
                .iter()
                .filter(|r| r.answer.is_some())
                .count();
            eprintln!(
                "pbx: stopped: {} calls ({answered} answered), {} registrations, {} requests dropped, {} trunk registrations ({} left registered)",
                summary.records.len(),
                summary.registrations,
                summary.dropped,
                summary.trunk_registrations,
                summary.trunks_registered
            );
            ExitCode::SUCCESS
        }
        Ok(Err(e)) => {
            eprintln!("pbx: {e}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("pbx: {e}");
            ExitCode::FAILURE
        }
    }
}
