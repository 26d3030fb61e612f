//! `sdp-tool`: what a user runs when two peers will not agree on media.
//!
//! ```text
//! sdp-tool parse FILE [--strict] [--json]
//!     Parses FILE (leniently, as real peers need, unless --strict). Prints a summary, or
//!     with --json the typed structure, and as its last line `valid` or
//!     `invalid: line N "<line>": <reason>`. Exit 0 when valid, 1 when not.
//! sdp-tool answer OFFER_FILE --codecs opus,pcmu,pcma,g722,telephone-event [--srtp]
//!         [--address IP] [--port N] [--seed N]
//!     Prints the SDP answer telox would send (notes on stderr), or exits 1 with the reason
//!     negotiation failed. --srtp requires SDES-keyed SRTP (RFC 4568).
//! ```

use std::net::IpAddr;
use std::process::ExitCode;

use rand::SeedableRng;
use rand::rngs::StdRng;
use sdp::{
    Codec, MediaCapabilities, OfferAnswer, ParseError, ParseOptions, Sdp, SessionConfig, SrtpPolicy,
};
use serde_json::{Value, json};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("parse") => parse(&args[1..]),
        Some("answer") => answer(&args[1..]),
        _ => {
            eprintln!("{}", USAGE);
            ExitCode::from(2)
        }
    }
}

const USAGE: &str = "usage: sdp-tool parse FILE [--strict] [--json]\n       \
    sdp-tool answer OFFER_FILE --codecs opus,pcmu,pcma,g722,telephone-event [--srtp] \
    [--address IP] [--port N] [--seed N]";

fn usage(msg: &str) -> ExitCode {
    eprintln!("sdp-tool: {msg}\n{USAGE}");
    ExitCode::from(2)
}

fn read(path: &str) -> Result<Vec<u8>, ExitCode> {
    std::fs::read(path).map_err(|e| {
        eprintln!("sdp-tool: cannot read {path}: {e}");
        ExitCode::from(2)
    })
}

/// `line N "<text>"`, or `description` for errors about the whole body.
fn locate(bytes: &[u8], e: &ParseError) -> String {
    if e.line == 0 {
        return "description".to_owned();
    }
    let text = String::from_utf8_lossy(bytes);
    let line = text
        .split('\n')
        .nth(e.line - 1)
        .unwrap_or("")
        .trim_end_matches('\r');
    let mut shown: String = line.chars().take(80).collect();
    if line.chars().count() > 80 {
        shown.push_str("...");
    }
    format!("line {} {:?}", e.line, shown)
}

fn parse(args: &[String]) -> ExitCode {
    let mut file = None;
    let (mut strict, mut as_json) = (false, false);
    for a in args {
        match a.as_str() {
            "--strict" => strict = true,
            "--json" => as_json = true,
            f if !f.starts_with("--") && file.is_none() => file = Some(f.to_owned()),
            other => return usage(&format!("unexpected argument {other}")),
        }
    }
    let Some(file) = file else {
        return usage("parse needs a FILE");
    };
    let bytes = match read(&file) {
        Ok(b) => b,
        Err(code) => return code,
    };
    let options = if strict {
        ParseOptions::strict()
    } else {
        ParseOptions::lenient()
    };
    match Sdp::parse_with(bytes.clone(), &options) {
        Ok(sdp) => {
            if as_json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&to_json(&sdp)).unwrap_or_default()
                );
            } else {
                summary(&sdp);
            }
            if !strict && let Err(e) = Sdp::parse(bytes.clone()) {
                println!(
                    "note: not strict RFC 8866: {}: {}",
                    locate(&bytes, &e),
                    e.reason
                );
            }
            println!("valid");
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("invalid: {}: {}", locate(&bytes, &e), e.reason);
            ExitCode::from(1)
        }
    }
}

fn summary(sdp: &Sdp) {
    let o = &sdp.origin;
    println!(
        "origin: {} session {} version {} at {}",
        o.username, o.session_id, o.session_version, o.address
    );
    if let Some(c) = &sdp.connection {
        println!("connection: {} {}", c.addr_type.as_str(), c.address);
    }
    for (i, m) in sdp.media.iter().enumerate() {
        let dir = m.effective_direction(sdp).as_str();
        println!(
            "m[{i}]: {} port {} {} {dir}",
            m.kind.as_str(),
            m.port,
            m.protocol.as_str()
        );
        for f in sdp::codec::formats(m) {
            let fmtp = f.fmtp.map(|p| format!(" ({p})")).unwrap_or_default();
            println!(
                "  {} {}/{}/{}{fmtp}",
                f.payload_type, f.name, f.clock_rate, f.channels
            );
        }
        for c in m.cryptos() {
            println!("  crypto {} {}", c.tag, c.suite_name);
        }
    }
}

fn to_json(sdp: &Sdp) -> Value {
    let attrs = |a: &sdp::Attributes| -> Value {
        a.iter()
            .map(|a| json!({"name": a.name, "value": a.value}))
            .collect()
    };
    let conn = |c: &sdp::Connection| {
        json!({"nettype": c.net_type.as_str(), "addrtype": c.addr_type.as_str(),
               "address": c.address.as_str(), "ttl": c.ttl, "count": c.count})
    };
    let bw = |b: &[sdp::Bandwidth]| -> Value {
        b.iter()
            .map(|b| json!({"type": b.kind.as_str(), "value": b.value}))
            .collect()
    };
    let o = &sdp.origin;
    let extra = sdp.extra();
    json!({
        "origin": {"username": o.username.as_str(), "session_id": o.session_id.as_str(),
                   "session_version": o.session_version, "nettype": o.net_type.as_str(),
                   "addrtype": o.addr_type.as_str(), "address": o.address.as_str()},
        "session_name": sdp.session_name.as_str(),
        "information": extra.information.as_ref().map(|t| t.as_str()),
        "uri": extra.uri.as_ref().map(|t| t.as_str()),
        "emails": extra.emails.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
        "phones": extra.phones.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
        "connection": sdp.connection.as_ref().map(conn),
        "bandwidths": bw(&extra.bandwidths),
        "times": sdp.times.iter().map(|t| json!({"start": t.start, "stop": t.stop,
            "repeats": t.repeats.iter().map(|r| r.as_str()).collect::<Vec<_>>()})).collect::<Vec<_>>(),
        "time_zones": extra.time_zones.as_ref().map(|t| t.as_str()),
        "key": extra.key.as_ref().map(|t| t.as_str()),
        "direction": sdp.direction().map(|d| d.as_str()),
        "attributes": attrs(&sdp.attributes),
        "media": sdp.media.iter().map(|m| json!({
            "kind": m.kind.as_str(),
            "port": m.port,
            "port_count": m.port_count,
            "protocol": m.protocol.as_str(),
            "formats": m.formats().collect::<Vec<_>>(),
            "codecs": sdp::codec::formats(m).map(|f| json!({
                "payload_type": f.payload_type, "name": f.name, "clock_rate": f.clock_rate,
                "channels": f.channels, "fmtp": f.fmtp})).collect::<Vec<_>>(),
            "connections": m.connections.iter().map(conn).collect::<Vec<_>>(),
            "bandwidths": bw(&m.extra().bandwidths),
            "direction": m.effective_direction(sdp).as_str(),
            "ptime": m.ptime(),
            "maxptime": m.maxptime(),
            "rtcp": m.rtcp().map(|r| json!({"port": r.port, "address": r.address})),
            "rtcp_mux": m.rtcp_mux(),
            "mid": m.mid(),
            "crypto": m.cryptos().map(|c| json!({"tag": c.tag, "suite": c.suite_name,
                "keys": c.keys.iter().map(|k| json!({
                    "key_salt_bytes": k.key_salt.len(),
                    "lifetime": k.lifetime.map(|l| l.packets()),
                    "mki": k.mki.map(|m| json!({"value": m.value, "length": m.length}))
                })).collect::<Vec<_>>(),
                "session_params": c.session_params})).collect::<Vec<_>>(),
            "attributes": attrs(&m.attributes),
        })).collect::<Vec<_>>(),
    })
}

fn answer(args: &[String]) -> ExitCode {
    let mut file = None;
    let mut codecs = None;
    let mut srtp = SrtpPolicy::Disabled;
    let mut address: IpAddr = [127, 0, 0, 1].into();
    let mut port: u16 = 40000;
    let mut seed = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().cloned().ok_or(format!("{name} needs a value"));
        let parsed: Result<(), String> = match a.as_str() {
            "--codecs" => value("--codecs").map(|v| codecs = Some(v)),
            "--srtp" => {
                srtp = SrtpPolicy::Required;
                Ok(())
            }
            "--address" => value("--address")
                .and_then(|v| v.parse().map_err(|_| format!("bad address {v}")))
                .map(|v| address = v),
            "--port" => value("--port")
                .and_then(|v| v.parse().map_err(|_| format!("bad port {v}")))
                .map(|v| port = v),
            "--seed" => value("--seed")
                .and_then(|v| v.parse().map_err(|_| format!("bad seed {v}")))
                .map(|v| seed = Some(v)),
            f if !f.starts_with("--") && file.is_none() => {
                file = Some(f.to_owned());
                Ok(())
            }
            other => Err(format!("unexpected argument {other}")),
        };
        if let Err(e) = parsed {
            return usage(&e);
        }
    }
    let Some(file) = file else {
        return usage("answer needs an OFFER_FILE");
    };
    let Some(codecs) = codecs else {
        return usage("answer needs --codecs");
    };
    let mut list = Vec::new();
    for name in codecs.split(',').filter(|n| !n.is_empty()) {
        match Codec::by_name(name) {
            Some(c) => list.push(c),
            None => {
                return usage(&format!(
                    "unknown codec {name} (opus, pcmu, pcma, g722, telephone-event)"
                ));
            }
        }
    }
    let bytes = match read(&file) {
        Ok(b) => b,
        Err(code) => return code,
    };
    let offer = match Sdp::parse_with(bytes.clone(), &ParseOptions::lenient()) {
        Ok(o) => o,
        Err(e) => {
            println!("invalid: {}: {}", locate(&bytes, &e), e.reason);
            return ExitCode::from(1);
        }
    };
    let mut rng = match seed {
        Some(s) => StdRng::seed_from_u64(s),
        None => StdRng::from_os_rng(),
    };
    let caps = MediaCapabilities::audio(port, list).with_srtp(srtp);
    let mut session = OfferAnswer::new(SessionConfig::new(address, caps), &mut rng);
    match session.handle_offer(&offer, &mut rng) {
        Ok(answer) => {
            print!("{answer}");
            for s in session.streams() {
                eprintln!(
                    "note: m[{}] {}: send {} pt {} ptime {} {} to {}:{}{}{}",
                    s.index,
                    s.kind.as_str(),
                    s.send_codec.name,
                    s.send_codec.send_payload_type,
                    s.ptime,
                    s.direction.as_str(),
                    s.remote_host,
                    s.remote_port,
                    s.telephone_event
                        .map(|t| format!(", telephone-event pt {}", t.send_payload_type))
                        .unwrap_or_default(),
                    s.crypto
                        .as_ref()
                        .map(|c| format!(", srtp {}", c.suite.as_str()))
                        .unwrap_or_default(),
                );
            }
            for r in session.rejected() {
                eprintln!(
                    "note: m[{}] {} rejected: {}",
                    r.index,
                    r.kind.as_str(),
                    r.reason
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("failed: {e} (SIP {})", e.sip_status());
            ExitCode::from(1)
        }
    }
}
