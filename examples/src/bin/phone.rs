//! `phone`: a CLI softphone. Registers (digest auth), places and answers calls, DTMF,
//! hold/resume, blind transfer, plays a WAV file as the microphone and records the far end to
//! WAV, and prints the call report at hang-up.
//!
//! ```text
//! phone --listen 127.0.0.1:5070 --auto-answer [--play FILE.wav] [--record DIR]
//! phone --call sip:1001@127.0.0.1:5060 --user 1000 --password 1000 [--duration 5s]
//! phone --transport tls --ca ca.pem --cert me.pem --key me.key --call sips:1001@127.0.0.1:5061
//! phone --call sip:1001@127.0.0.1:5070 --transfer-to sip:1002@127.0.0.1:5072 [--duration 2s]
//! ```
//! `--transport udp|tcp|tls` is used for registering, calling and listening (a `sips:` URI
//! implies TLS); TLS trusts the `--ca` PEM file and presents `--cert`/`--key` as the
//! listener's certificate and as the client certificate (mutual TLS);
//! `--require-client-cert` makes the listener refuse clients without one. `--transfer-to`
//! blind-transfers the answered call (REFER) after `--duration` (1 s by default) and exits
//! with the transfer's outcome. A failed registration is retried with the RFC 5626 §4.5
//! back-off, `--register-retry BASE[,MAX]` (30s,1800s by default; each wait a random 50-100 %
//! of `min(MAX, BASE * 2^failures)`).
//!
//! Commands on stdin: `call NUMBER|URI`, `answer`, `dtmf KEYS`, `hold`, `resume`,
//! `transfer NUMBER|URI`, `xfer-attended NUMBER|URI REPLACES` (attended transfer; REPLACES is
//! the `phone: replaces ...` line the consulted call printed), `hangup`, `stats` (the call's
//! media report so far), `quit`.

#![forbid(unsafe_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use sip_core::registration::RegisterRetry;
use sip_core::transaction::Transport;
use telox_examples::audio::{read_wav, write_wav};
use telox_examples::cli::{Spec, parse_duration};
use telox_examples::phone::{self, Command, PhoneConfig, PhoneEvent};
use telox_examples::report;
use telox_examples::trunk::server_uri;
use tokio::io::AsyncBufReadExt;
use tokio::sync::mpsc;

const USAGE: &str = "usage: phone [--listen IP:PORT] [--user U] [--password P] [--registrar IP:PORT|HOST|URI] [--dns IP:PORT] \
[--call URI] [--duration D] [--dtmf KEYS] [--auto-answer] [--play FILE.wav] [--record DIR] \
[--codecs opus,pcmu,pcma,g722] [--srtp off|optional|required] [--max-time D] [--calls N] [--seed N] \
[--transport udp|tcp|tls] [--ca FILE.pem] [--cert FILE.pem --key FILE.pem] [--require-client-cert] \
[--transfer-to URI] [--register-retry BASE[,MAX]]";

struct Opts {
    config: PhoneConfig,
    call: Option<String>,
    duration: Option<Duration>,
    dtmf: Option<String>,
    record: Option<PathBuf>,
    max_time: Option<Duration>,
    calls: Option<u32>,
    transfer_to: Option<String>,
}

/// A registrar given by name (see [`server_uri`]).
fn registrar_uri(spec: &str) -> Result<sip_core::Uri, String> {
    server_uri(spec).map_err(|e| format!("bad --registrar {spec}: {e}"))
}

fn opts() -> Result<Opts, String> {
    let a = Spec::new()
        .values(&[
            "listen",
            "user",
            "password",
            "registrar",
            "dns",
            "call",
            "duration",
            "dtmf",
            "play",
            "record",
            "codecs",
            "srtp",
            "max-time",
            "calls",
            "seed",
            "transport",
            "ca",
            "cert",
            "key",
            "transfer-to",
            "register-retry",
        ])
        .switches(&["auto-answer", "require-client-cert", "help"])
        .parse(std::env::args().skip(1))
        .map_err(|e| e.to_string())?;
    if a.flag("help") {
        println!("{USAGE}");
        std::process::exit(0);
    }
    let listen = a
        .addr("listen")
        .map_err(|e| e.to_string())?
        .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 0)));
    let user = a.value("user").unwrap_or("telox").to_owned();
    let mut c = PhoneConfig::new("phone", &user, listen);
    c.password = a.value("password").map(str::to_owned);
    // `--registrar IP:PORT`, or a host name / SIP URI located by RFC 3263 (through --dns).
    if let Some(r) = a.value("registrar") {
        match r.parse::<SocketAddr>() {
            Ok(addr) => c.registrar = Some(addr),
            Err(_) => c.registrar_name = Some(registrar_uri(r)?),
        }
    }
    c.dns = a.addr("dns").map_err(|e| e.to_string())?;
    let call = a.value("call").map(str::to_owned);
    // `--call sip:N@HOST --user U`: the host of the URI is the registrar/proxy.
    if c.registrar.is_none()
        && c.registrar_name.is_none()
        && c.password.is_some()
        && let Some(uri) = &call
        && let Some(hostport) = uri.split('@').nth(1)
        && let Some(host) = hostport.split(';').next()
    {
        match host.parse::<SocketAddr>() {
            Ok(addr) => c.registrar = Some(addr),
            Err(_) => c.registrar_name = Some(registrar_uri(host)?),
        }
    }
    c.transport = match a.value("transport") {
        Some(t) if t.eq_ignore_ascii_case("udp") => Transport::Udp,
        Some(t) if t.eq_ignore_ascii_case("tcp") => Transport::Tcp,
        Some(t) if t.eq_ignore_ascii_case("tls") => Transport::Tls,
        Some(other) => return Err(format!("bad --transport {other}")),
        // RFC 3261 §26.2: a sips: URI is reached over TLS.
        None if call.as_deref().is_some_and(|u| u.starts_with("sips:")) => Transport::Tls,
        None => Transport::Udp,
    };
    c.tls.ca = a.value("ca").map(PathBuf::from);
    c.tls.cert = a.value("cert").map(PathBuf::from);
    c.tls.key = a.value("key").map(PathBuf::from);
    c.tls.require_client_cert = a.flag("require-client-cert");
    c.auto_answer = a.flag("auto-answer");
    if let Some(p) = a.value("play") {
        c.play = Some(read_wav(&PathBuf::from(p), 48_000 * 3600).map_err(|e| format!("{p}: {e}"))?);
    }
    if let Some(list) = a.value("codecs") {
        c.codecs = list
            .split(',')
            .map(|s| match s.trim().to_ascii_lowercase().as_str() {
                "opus" => "opus".to_owned(),
                "g722" => "G722".to_owned(),
                other => other.to_ascii_uppercase(),
            })
            .collect();
    }
    c.srtp = match a.value("srtp").unwrap_or("optional") {
        "off" => sdp::SrtpPolicy::Disabled,
        "optional" => sdp::SrtpPolicy::Optional,
        "required" => sdp::SrtpPolicy::Required,
        other => return Err(format!("bad --srtp {other}")),
    };
    if let Some(r) = a.value("register-retry") {
        c.register_retry = register_retry(r).ok_or(format!("bad --register-retry {r}"))?;
    }
    c.seed = a
        .parsed_or("seed", telox_examples::entropy_seed(), "a number")
        .map_err(|e| e.to_string())?;
    Ok(Opts {
        config: c,
        call,
        duration: a.duration("duration").map_err(|e| e.to_string())?,
        dtmf: a.value("dtmf").map(str::to_owned),
        record: a.value("record").map(PathBuf::from),
        max_time: a.duration("max-time").map_err(|e| e.to_string())?,
        calls: a.parsed("calls", "a number").map_err(|e| e.to_string())?,
        transfer_to: a.value("transfer-to").map(str::to_owned),
    })
}

/// `BASE[,MAX]` durations (`2s`, `500ms`, `1m`): RFC 5626 back-off from BASE, capped at
/// MAX (1800 s by default), with jitter.
fn register_retry(text: &str) -> Option<RegisterRetry> {
    let (base, max) = match text.split_once(',') {
        Some((b, m)) => (b, Some(m)),
        None => (text, None),
    };
    let mut r = RegisterRetry::rfc5626();
    r.base = parse_duration(base.trim()).filter(|d| !d.is_zero())?;
    if let Some(m) = max {
        r.max = parse_duration(m.trim())?;
    }
    (r.max >= r.base).then_some(r)
}

fn parse_command(line: &str) -> Option<Command> {
    let mut it = line.split_whitespace();
    let cmd = it.next()?;
    let arg = it.next().map(str::to_owned);
    if let ("xfer-attended", Some(to), Some(replaces)) = (cmd, &arg, it.next()) {
        let (to, replaces) = (to.clone(), replaces.to_owned());
        return Some(Command::AttendedTransfer { to, replaces });
    }
    Some(match (cmd, arg) {
        ("call", Some(t)) => Command::Call(t),
        ("answer", _) => Command::Answer,
        ("dtmf", Some(k)) => Command::Dtmf(k),
        ("hold", _) => Command::Hold,
        ("resume", _) => Command::Resume,
        ("transfer", Some(t)) => Command::Transfer(t),
        ("hangup", _) => Command::Hangup,
        ("stats", _) => Command::Stats,
        ("quit", _) => Command::Quit,
        _ => return None,
    })
}

fn main() -> ExitCode {
    let o = match opts() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("phone: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("phone: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(run(o))
}

async fn run(o: Opts) -> ExitCode {
    let (cmd_tx, cmd_rx) = mpsc::channel(32);
    let (ev_tx, mut ev_rx) = mpsc::channel(256);
    let registers = (o.config.registrar.is_some() || o.config.registrar_name.is_some())
        && o.config.password.is_some();
    let task = tokio::spawn(phone::run(o.config.clone(), cmd_rx, ev_tx));
    let mut stdin = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    let mut stdin_open = true;
    let max = tokio::time::sleep(o.max_time.unwrap_or(Duration::from_secs(86_400)));
    tokio::pin!(max);
    let mut hangup_at: Option<tokio::time::Instant> = None;
    let mut transfer_at: Option<tokio::time::Instant> = None;
    let mut transfer_ok: Option<bool> = None;
    let mut called = false;
    let mut calls_done = 0u32;
    let mut ok = o.call.is_none();
    if let Some(c) = &o.call
        && !registers
    {
        called = true;
        let _ = cmd_tx.send(Command::Call(c.clone())).await;
    }
    loop {
        let hang = async {
            match hangup_at {
                Some(t) => tokio::time::sleep_until(t).await,
                None => std::future::pending().await,
            }
        };
        let transfer = async {
            match transfer_at {
                Some(t) => tokio::time::sleep_until(t).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            ev = ev_rx.recv() => {
                let Some(ev) = ev else { break };
                match ev {
                    PhoneEvent::Log(l) => eprintln!("phone: {l}"),
                    PhoneEvent::Registered { challenges } => {
                        eprintln!("phone: registered ({challenges} digest challenge(s))");
                        if let Some(c) = &o.call && !called {
                            called = true;
                            let _ = cmd_tx.send(Command::Call(c.clone())).await;
                        }
                    }
                    PhoneEvent::RegisterFailed(s) => {
                        eprintln!("phone: registration failed: {s}");
                        // Only a call still waiting for the registration is given up; one
                        // already placed (no password, so not gated on it) goes on.
                        if o.call.is_some() && !called {
                            let _ = cmd_tx.send(Command::Quit).await;
                        }
                    }
                    PhoneEvent::Incoming(f) => eprintln!("phone: incoming call from {f}"),
                    PhoneEvent::Ringing => eprintln!("phone: ringing"),
                    PhoneEvent::Answered { codec, srtp } => {
                        eprintln!("phone: call up: {codec}, SRTP {srtp}");
                        if o.transfer_to.is_some() && transfer_ok.is_none() {
                            let d = o.duration.unwrap_or(Duration::from_secs(1));
                            transfer_at = Some(tokio::time::Instant::now() + d);
                        } else if let Some(d) = o.duration {
                            hangup_at = Some(tokio::time::Instant::now() + d);
                        }
                        if let Some(k) = &o.dtmf {
                            let _ = cmd_tx.send(Command::Dtmf(k.clone())).await;
                        }
                    }
                    PhoneEvent::CallFailed(s) => {
                        eprintln!("phone: call failed: {s}");
                        calls_done += 1;
                        if o.call.is_some() {
                            let _ = cmd_tx.send(Command::Quit).await;
                        }
                    }
                    PhoneEvent::Hold(h) => eprintln!("phone: {}", if h { "on hold" } else { "resumed" }),
                    PhoneEvent::Listening { addr, transport } => {
                        eprintln!("phone: listening on {} {addr}", transport.as_via_str());
                    }
                    PhoneEvent::Referred(to) => eprintln!("phone: transferred to {to}"),
                    PhoneEvent::Replaces(r) => eprintln!("phone: replaces {r}"),
                    PhoneEvent::TransferStatus(s) => {
                        eprintln!("phone: transfer status {s}");
                        if s >= 200 {
                            transfer_ok = Some((200..300).contains(&s));
                            if s >= 300 && o.call.is_some() {
                                let _ = cmd_tx.send(Command::Hangup).await;
                            }
                        }
                    }
                    PhoneEvent::Ended { by_peer, transferred, report: r, recorded } => {
                        calls_done += 1;
                        hangup_at = None;
                        transfer_at = None;
                        let why = match (transferred, by_peer) {
                            (true, _) => "transferred",
                            (false, true) => "far end hung up",
                            (false, false) => "hung up",
                        };
                        eprintln!("phone: call ended ({why})");
                        println!("{}", report::render(std::slice::from_ref(&r)));
                        if o.call.is_some() {
                            ok = r.packets_received > 0;
                        }
                        if let Some(dir) = &o.record {
                            let _ = std::fs::create_dir_all(dir);
                            let path = dir.join(format!("call-{calls_done}.wav"));
                            match write_wav(&path, &recorded) {
                                Ok(()) => eprintln!("phone: recorded {}", path.display()),
                                Err(e) => eprintln!("phone: {e}"),
                            }
                        }
                        if (o.call.is_some() && !transferred) || o.calls.is_some_and(|n| calls_done >= n) {
                            let _ = cmd_tx.send(Command::Quit).await;
                        }
                    }
                    PhoneEvent::Stats(r) => println!("{}", report::render(std::slice::from_ref(&r))),
                    PhoneEvent::Stopped => break,
                    _ => {}
                }
            }
            line = stdin.next_line(), if stdin_open => match line {
                Ok(Some(l)) => match parse_command(&l) {
                    Some(c) => { let _ = cmd_tx.send(c).await; }
                    None if l.trim().is_empty() => {}
                    None => eprintln!("phone: commands: call X | answer | dtmf KEYS | hold | resume | transfer X | hangup | stats | quit"),
                },
                _ => stdin_open = false,
            },
            _ = hang => {
                hangup_at = None;
                let _ = cmd_tx.send(Command::Hangup).await;
            }
            _ = transfer => {
                transfer_at = None;
                if let Some(t) = &o.transfer_to {
                    let _ = cmd_tx.send(Command::Transfer(t.clone())).await;
                }
            }
            _ = &mut max => {
                eprintln!("phone: --max-time reached");
                let _ = cmd_tx.send(Command::Quit).await;
                break;
            }
        }
    }
    match tokio::time::timeout(Duration::from_secs(5), task).await {
        Ok(Ok(Err(e))) => {
            eprintln!("phone: {e}");
            return ExitCode::FAILURE;
        }
        Err(_) => eprintln!("phone: did not stop in time"),
        _ => {}
    }
    if o.transfer_to.is_some() {
        ok = transfer_ok == Some(true);
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
