//! `sip-lint`: checks one SIP message the way a telox UAS would before answering it.
//!
//! ```text
//! sip-lint [--json] FILE      (FILE may be `-` for stdin)
//! ```
//!
//! Prints what it found (the start line, the typed core headers, notes on things a peer
//! may dislike), then as its last line `valid` or `invalid: <reason>`; exit status 0 or 1
//! (2 for a usage or I/O error). With `--json` the parsed structure is printed as one JSON
//! object before the verdict. Line ends may be CRLF or bare LF (files edited by hand).

use std::io::{Read as _, Write as _};
use std::process::ExitCode;

use bytes::Bytes;
use serde_json::{Map, Value, json};
use sip_core::header::{
    CSeq, CallId, Contact, ContentLength, ContentType, Date, Expires, From, Header, MaxForwards,
    NameAddr, ReferTo, To, Via,
};
use sip_core::{Headers, Message, Scheme, Uri};

fn main() -> ExitCode {
    let mut json_out = false;
    let mut file = None;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--json" => json_out = true,
            "-h" | "--help" => {
                println!("usage: sip-lint [--json] FILE|-");
                return ExitCode::SUCCESS;
            }
            _ if file.is_none() => file = Some(arg),
            _ => {
                eprintln!("usage: sip-lint [--json] FILE|-");
                return ExitCode::from(2);
            }
        }
    }
    let Some(file) = file else {
        eprintln!("usage: sip-lint [--json] FILE|-");
        return ExitCode::from(2);
    };
    let data = if file == "-" {
        let mut v = Vec::new();
        std::io::stdin().read_to_end(&mut v).map(|_| v)
    } else {
        std::fs::read(&file)
    };
    let data = match data {
        Ok(d) => d,
        Err(e) => {
            eprintln!("sip-lint: {file}: {e}");
            return ExitCode::from(2);
        }
    };
    let (lines, verdict) = lint(Bytes::from(data), json_out);
    // A closed pipe (`sip-lint x | head`) is not an error of the message.
    let mut out = std::io::stdout().lock();
    for l in &lines {
        let _ = writeln!(out, "{l}");
    }
    match verdict {
        Ok(()) => {
            let _ = writeln!(out, "valid");
            ExitCode::SUCCESS
        }
        Err(reason) => {
            let _ = writeln!(out, "invalid: {reason}");
            ExitCode::from(1)
        }
    }
}

/// The report lines and the verdict for one message.
fn lint(data: Bytes, json_out: bool) -> (Vec<String>, Result<(), String>) {
    let mut lines = Vec::new();
    let msg = match Message::parse(data) {
        Ok(m) => m,
        Err(e) => {
            return (
                lines,
                Err(format!("{e} (a UAS answers {})", e.status_code())),
            );
        }
    };
    if json_out {
        lines.push(to_json(&msg).to_string());
    } else {
        lines.extend(summary(&msg));
    }
    lines.extend(notes(&msg));
    let verdict = msg
        .validate()
        .map_err(|e| format!("{e} (a UAS answers {})", e.status_code()));
    (lines, verdict)
}

fn summary(msg: &Message) -> Vec<String> {
    let mut out = Vec::new();
    match msg {
        Message::Request(r) => out.push(format!("request {} {}", r.method(), r.uri())),
        Message::Response(r) => out.push(format!("response {} {}", r.status(), r.reason())),
    }
    let h = msg.headers();
    out.push(format!(
        "{} header lines, body {} bytes",
        h.len(),
        msg.body().len()
    ));
    for (i, via) in h.get_all::<Via>().enumerate() {
        out.push(match via {
            Ok(v) => format!(
                "via[{i}] {} {} branch={}",
                v.transport(),
                v.host(),
                v.branch().unwrap_or("-")
            ),
            Err(e) => format!("via[{i}] malformed: {e}"),
        });
    }
    for (label, v) in [("from", addr::<From>(h)), ("to", addr::<To>(h))] {
        if let Some(v) = v {
            out.push(format!("{label} {v}"));
        }
    }
    if let Some(Ok(c)) = h.get::<CSeq>() {
        out.push(format!("cseq {} {}", c.seq(), c.method()));
    }
    if let Some(Ok(c)) = h.get::<CallId>() {
        out.push(format!("call-id {c}"));
    }
    out
}

fn addr<H: Header + std::ops::Deref<Target = NameAddr>>(h: &Headers) -> Option<String> {
    Some(match h.get::<H>()? {
        Ok(a) => format!("{} tag={}", a.uri(), a.tag().unwrap_or("-")),
        Err(e) => format!("malformed: {e}"),
    })
}

/// Things that are valid but that a UAS answers with an error or a peer may reject.
fn notes(msg: &Message) -> Vec<String> {
    let mut out = Vec::new();
    let h = msg.headers();
    if let Message::Request(r) = msg {
        if !r.uri().is_sip() && r.uri().scheme() != Scheme::Tel {
            out.push(format!(
                "note: request-uri scheme {} is not sip/sips/tel (416)",
                r.uri().scheme_str()
            ));
        }
        if h.get::<MaxForwards>().is_none() {
            out.push("note: no Max-Forwards (RFC 3261 §8.1.1.6)".to_owned());
        }
        if let Some(Ok(v)) = h.get::<Via>()
            && !v.has_rfc3261_branch()
        {
            out.push("note: top Via branch lacks the z9hG4bK cookie (RFC 2543 peer)".to_owned());
        }
    }
    if !h.contains(sip_core::HeaderName::ContentLength) {
        out.push("note: no Content-Length (required on TCP/TLS, RFC 3261 §18.3)".to_owned());
    }
    // Forms telox reads but RFC 3261's grammar does not have, which stricter peers refuse.
    if let Some(Ok(d)) = h.get::<Date>()
        && !is_rfc3261_date(d.as_str())
    {
        out.push(format!(
            "note: Date {:?} is not RFC 3261's form `Sat, 13 Nov 2010 23:29:00 GMT` (§20.17)",
            d.as_str()
        ));
    }
    let addrs: Vec<NameAddr> = h
        .get_all::<ReferTo>()
        .flatten()
        .map(|r| r.0)
        .chain(
            h.get_all::<Contact>()
                .flatten()
                .filter_map(|c| c.addr().cloned()),
        )
        .chain(h.get_all::<From>().flatten().map(|f| f.0))
        .chain(h.get_all::<To>().flatten().map(|t| t.0))
        .collect();
    let mut seen = std::collections::BTreeSet::new();
    for a in &addrs {
        for note in addr_notes(a) {
            if seen.insert(note) {
                out.push(format!("note: {note}"));
            }
        }
    }
    // Via `rport=` with no value (elixir-sippet#14): read as the bare request.
    if h.get_all::<Via>()
        .flatten()
        .any(|v| v.params().get("rport") == Some(Some("")))
    {
        out.push(
            "note: Via 'rport=' with no value (RFC 3581 has 'rport' or 'rport=<port>')".to_owned(),
        );
    }
    // An empty element in an option-tag or method list (MizuDroid's `Supported: ,outbound`,
    // pjproject#4650: PJSIP drops the message).
    use sip_core::HeaderName as N;
    let lists = [
        N::Supported,
        N::Require,
        N::ProxyRequire,
        N::Unsupported,
        N::Allow,
    ];
    for name in names_where(h, &lists, has_empty_element) {
        out.push(format!(
            "note: an empty element in {name} (a leading, trailing or doubled ','; PJSIP \
             refuses the message)"
        ));
    }
    // A quoted display name before a URI without angle brackets (SIP.js#100).
    let addrs_names = [N::From, N::To, N::Contact, N::ReferTo];
    for name in names_where(h, &addrs_names, display_before_bare_uri) {
        out.push(format!(
            "note: {name}: a quoted display name before a URI without '<>' (RFC 3261 §20.10)"
        ));
    }
    // An IPv6 zone in a host (Asterisk's link-local `[fe80::1%eth0]`, SIP.js#1094).
    let request_uri = match msg {
        Message::Request(r) => Some(r.uri()),
        Message::Response(_) => None,
    };
    if h.get_all::<Via>().flatten().any(|v| is_zoned(v.host()))
        || request_uri.is_some_and(|u| is_zoned(u.host()))
        || addrs.iter().any(|a| is_zoned(a.uri().host()))
    {
        out.push(ZONE_NOTE.to_owned());
    }
    if let Some(Ok(e)) = h.get::<Expires>()
        && h.named(sip_core::HeaderName::Expires)
            .next()
            .is_some_and(|l| !l.value.iter().all(u8::is_ascii_digit))
    {
        out.push(format!(
            "note: Expires is an RFC 2543 date, read as {} s (RFC 3261 §20.19)",
            e.0
        ));
    }
    out
}

/// What in one address is read by telox but is not RFC 3261's grammar (each from a peer's
/// bug report; see sip-core/tests/data/vendor-style).
fn addr_notes(a: &NameAddr) -> Vec<&'static str> {
    let mut out = Vec::new();
    let u = a.uri();
    if u.headers().is_some_and(|x| x.contains('@')) {
        out.push("unescaped '@' in a URI's headers (RFC 3261 §25.1 wants %40)");
    }
    if u.user().is_some_and(|x| x.contains('#')) {
        out.push("unescaped '#' in a URI's user part (RFC 3261 §25.1 wants %23)");
    }
    if u.params()
        .any(|p| p.value.is_some_and(|v| v.starts_with('"')))
    {
        out.push("a quoted URI parameter value (not RFC 3261's pvalue)");
    }
    let params_text = u.as_str().split('?').next().unwrap_or_default();
    if params_text.contains(";;") || params_text.ends_with(';') {
        out.push("an empty URI parameter (';;' or a trailing ';')");
    }
    if a.display_name_raw()
        .is_some_and(|d| d.starts_with('"') && !is_one_quoted_string(d))
    {
        out.push("a display name of several quoted strings (RFC 3261 wants one)");
    }
    if a.display_name_raw()
        .is_some_and(|d| !d.starts_with('"') && !d.is_ascii())
    {
        out.push("a non-ASCII display name without quotes (RFC 3261 wants it quoted)");
    }
    out
}

const ZONE_NOTE: &str = "note: an IPv6 zone ('%...') in a host: meaningful only on the \
                         sender's link, not in RFC 3261's grammar (RFC 6874 writes '%25')";

/// Whether `host` is an IPv6 reference with a zone (`[fe80::1%eth0]`).
fn is_zoned(host: &str) -> bool {
    host.starts_with('[') && host.contains('%')
}

/// The names among `names` with a line whose value `pred` holds for.
fn names_where(
    h: &Headers,
    names: &[sip_core::HeaderName],
    pred: fn(&[u8]) -> bool,
) -> Vec<sip_core::HeaderName> {
    names
        .iter()
        .copied()
        .filter(|&n| h.named(n).any(|l| pred(l.value)))
        .collect()
}

/// Whether a value starts with a quoted string followed by a URI scheme rather than `<` (a
/// display name before a bare URI); escapes inside the quotes are skipped.
fn display_before_bare_uri(value: &[u8]) -> bool {
    let v = value.trim_ascii_start();
    v.first() == Some(&b'"')
        && closing_quote(v).is_some_and(|i| {
            // a URI scheme and its ':' right after the quotes
            let rest = v.get(i + 1..).unwrap_or_default().trim_ascii_start();
            rest.first().is_some_and(u8::is_ascii_alphabetic)
                && rest
                    .iter()
                    .find(|&&c| !(c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.')))
                    == Some(&b':')
        })
}

/// Where the first unescaped `"` after the opening one (at 0) of `v` is.
fn closing_quote(v: &[u8]) -> Option<usize> {
    let mut escaped = false;
    for (i, &c) in v.iter().enumerate().skip(1) {
        match c {
            _ if escaped => escaped = false,
            b'\\' => escaped = true,
            b'"' => return Some(i),
            _ => {}
        }
    }
    None
}

/// Whether a comma-separated list value has an empty element (not counting an empty value).
fn has_empty_element(value: &[u8]) -> bool {
    let value = value.trim_ascii();
    !value.is_empty()
        && value
            .split(|&c| c == b',')
            .any(|e| e.trim_ascii().is_empty())
}

/// Whether `d` is one quoted string: its first unescaped closing quote is its last byte.
fn is_one_quoted_string(d: &str) -> bool {
    closing_quote(d.as_bytes()).is_some_and(|i| i + 1 == d.len())
}

/// Whether `date` is exactly RFC 3261's `rfc1123-date`: day of the week, two-digit day, GMT.
fn is_rfc3261_date(date: &str) -> bool {
    let b = date.as_bytes();
    b.len() == 29 && b.get(3) == Some(&b',') && date.ends_with(" GMT")
}

fn uri_json(u: &Uri) -> Value {
    let params: Map<String, Value> = u
        .params()
        .map(|p| (p.name.to_owned(), p.value.map_or(Value::Null, |v| json!(v))))
        .collect();
    json!({
        "uri": u.as_str(),
        "scheme": u.scheme_str(),
        "user": u.user(),
        "host": u.host(),
        "port": u.port(),
        "params": params,
        "headers": u.headers(),
    })
}

fn name_addr_json(a: &NameAddr) -> Value {
    let params: Map<String, Value> = a
        .params()
        .iter()
        .map(|p| (p.name.to_owned(), p.value.map_or(Value::Null, |v| json!(v))))
        .collect();
    json!({
        "display_name": a.display_name(),
        "uri": uri_json(a.uri()),
        "tag": a.tag(),
        "params": params,
    })
}

fn typed<H: Header>(h: &Headers, f: impl Fn(&H) -> Value) -> Value {
    match h.get::<H>() {
        None => Value::Null,
        Some(Ok(v)) => f(&v),
        Some(Err(e)) => json!({ "error": e.to_string() }),
    }
}

fn to_json(msg: &Message) -> Value {
    let h = msg.headers();
    let mut o = Map::new();
    match msg {
        Message::Request(r) => {
            o.insert("kind".into(), json!("request"));
            o.insert("method".into(), json!(r.method().as_str()));
            o.insert("request_uri".into(), uri_json(&r.uri()));
        }
        Message::Response(r) => {
            o.insert("kind".into(), json!("response"));
            o.insert("status".into(), json!(r.status().0));
            o.insert("reason".into(), json!(r.reason()));
        }
    }
    let vias: Vec<Value> = h
        .get_all::<Via>()
        .map(|v| match v {
            Ok(v) => json!({
                "transport": v.transport(),
                "host": v.host(),
                "port": v.port(),
                "branch": v.branch(),
                "received": v.received(),
                "rport": v.params().get("rport").map(|p| p.unwrap_or("")),
            }),
            Err(e) => json!({ "error": e.to_string() }),
        })
        .collect();
    o.insert("via".into(), Value::Array(vias));
    o.insert("from".into(), typed::<From>(h, |a| name_addr_json(a)));
    o.insert("to".into(), typed::<To>(h, |a| name_addr_json(a)));
    o.insert("call_id".into(), typed::<CallId>(h, |c| json!(c.as_str())));
    o.insert(
        "cseq".into(),
        typed::<CSeq>(
            h,
            |c| json!({ "seq": c.seq(), "method": c.method().as_str() }),
        ),
    );
    o.insert(
        "max_forwards".into(),
        typed::<MaxForwards>(h, |m| json!(m.0)),
    );
    let contacts: Vec<Value> = h
        .get_all::<Contact>()
        .map(|c| match c {
            Ok(Contact::Wildcard) => json!("*"),
            Ok(Contact::Addr(a)) => {
                let mut v = name_addr_json(&a);
                if let Some(obj) = v.as_object_mut() {
                    let c = Contact::Addr(a.clone());
                    obj.insert("expires".into(), json!(c.expires()));
                    obj.insert("q".into(), json!(c.q().map(|q| f64::from(q) / 1000.0)));
                }
                v
            }
            Err(e) => json!({ "error": e.to_string() }),
        })
        .collect();
    o.insert("contact".into(), Value::Array(contacts));
    o.insert(
        "content_type".into(),
        typed::<ContentType>(h, |c| json!(c.to_string())),
    );
    o.insert(
        "content_length".into(),
        typed::<ContentLength>(h, |c| json!(c.0)),
    );
    o.insert("header_count".into(), json!(h.len()));
    o.insert("body_length".into(), json!(msg.body().len()));
    Value::Object(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notes_of(text: &str) -> Vec<String> {
        let msg = Message::parse(Bytes::from(text.replace('\n', "\r\n"))).unwrap();
        notes(&msg)
    }

    const HEAD: &str = "REFER sip:b@192.0.2.2 SIP/2.0\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\n\
        Max-Forwards: 70\nFrom: <sip:a@192.0.2.1>;tag=1\nTo: <sip:b@192.0.2.2>;tag=2\n\
        Call-ID: c1\nCSeq: 2 REFER\nContent-Length: 0\n";

    #[test]
    fn forms_telox_reads_but_stricter_peers_refuse_are_noted() {
        // SIPp's [date] (UTC) and a one-digit day; PJSIP's unescaped '@' in Replaces.
        for (extra, note) in [
            ("Date: Fri, 27 Nov 2026 09:15:02 UTC\n", "Date"),
            ("Date: Mon, 4 Nov 2024 06:48:27 GMT\n", "Date"),
            (
                "Refer-To: <sip:c@h?Replaces=1@h%3Bto-tag%3D2%3Bfrom-tag%3D3>\n",
                "unescaped '@'",
            ),
            // FreeSWITCH's '#', a topology-hiding proxy's quoted parameter, sprout's ';>',
            // a Cisco phone's quotes around quotes, an RFC 2543 Expires date.
            ("Contact: <sip:PBX#1000@192.0.2.9>\n", "'#'"),
            (
                "Contact: <sip:192.0.2.9;thinfo=\"QUJD\">\n",
                "quoted URI parameter",
            ),
            ("Contact: <sip:a@192.0.2.9;lr;>\n", "empty URI parameter"),
            (
                "Contact: \"\"unknown\"\" <sip:a@192.0.2.9>\n",
                "several quoted",
            ),
            ("Expires: Sat, 28 Nov 2026 10:00:00 GMT\n", "RFC 2543 date"),
            (
                "Contact: 王小明<sip:a@192.0.2.9>\n",
                "non-ASCII display name",
            ),
            // session 9: an empty rport (elixir-sippet#14), MizuDroid's ',outbound'
            // (pjproject#4650), Asterisk's link-local zone (SIP.js#1094)
            (
                "Via: SIP/2.0/UDP 192.0.2.7;rport=;branch=z9hG4bK2\n",
                "'rport=' with no value",
            ),
            ("Supported: ,outbound\n", "empty element in Supported"),
            ("Allow: INVITE, BYE,\n", "empty element in Allow"),
            ("Contact: <sip:a@[fe80::1%eth0]:5060>\n", "IPv6 zone"),
            (
                "Contact: \"unknown\" sip:a@192.0.2.9\n",
                "display name before a URI without",
            ),
            (
                "Via: SIP/2.0/UDP [fe80::1%25eth0];branch=z9hG4bK3\n",
                "IPv6 zone",
            ),
        ] {
            let found = notes_of(&format!("{HEAD}{extra}\n"));
            assert!(found.iter().any(|n| n.contains(note)), "{extra}: {found:?}");
        }
        let clean = format!(
            "{HEAD}Date: Sat, 13 Nov 2010 23:29:00 GMT\n\
             Refer-To: <sip:c@h?Replaces=1%40h%3Bto-tag%3D2%3Bfrom-tag%3D3>\n\
             Contact: \"A \\\"B\\\" 王\" <sip:a@192.0.2.9;lr>\nExpires: 60\n\
             Via: SIP/2.0/UDP [2001:db8::1];rport;branch=z9hG4bK4\n\
             Supported: timer, 100rel\nAllow:\n\n"
        );
        assert_eq!(notes_of(&clean), Vec::<String>::new());
    }
}
