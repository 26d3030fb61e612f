//! What the transaction layer reads from and writes into messages: the matching facts of
//! §17.1.3 / §17.2.3, the ACK of §17.1.1.3, the responses it sends by itself (100 Trying,
//! 400, 482, 503 per §8.2.6) and the `received`/`rport` stamp of §18.2.1 / RFC 3581.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

use bytes::{Bytes, BytesMut};

use super::endpoint::TransactionKey;
use crate::header::{self, HeaderName, Via};
use crate::msg::{Message, Method, Request, Response, scan};

/// The method part of a transaction key: ACK matches the INVITE (RFC 3261 §17.2.3), CANCEL
/// is a transaction of its own.
#[derive(Clone, Debug, Eq, Hash, PartialEq)]
pub(crate) enum KeyMethod {
    Invite,
    Cancel,
    Other(Method),
}

impl KeyMethod {
    /// A one-byte code for the method part of a key, distinct for every value, and the name
    /// that goes with it when the code does not tell it (an extension method; else empty).
    pub(crate) fn code(&self) -> (u8, &[u8]) {
        let m = match self {
            Self::Invite => return (0, b""),
            Self::Cancel => return (1, b""),
            Self::Other(m) => m,
        };
        // 2 + the method's place in `KNOWN`
        let code = match m {
            Method::Invite => 2,
            Method::Ack => 3,
            Method::Bye => 4,
            Method::Cancel => 5,
            Method::Options => 6,
            Method::Register => 7,
            Method::Prack => 8,
            Method::Subscribe => 9,
            Method::Notify => 10,
            Method::Publish => 11,
            Method::Info => 12,
            Method::Refer => 13,
            Method::Message => 14,
            Method::Update => 15,
            Method::Extension(name) => return (EXTENSION, name),
        };
        (code, b"")
    }

    /// The name of a method code of [`KeyMethod::code`]; `None` for an extension method.
    pub(crate) fn name_of(code: u8) -> Option<&'static str> {
        match code {
            0 => Some("INVITE"),
            1 => Some("CANCEL"),
            EXTENSION => None,
            c => KNOWN
                .get(usize::from(c).checked_sub(2)?)
                .map(Method::as_str),
        }
    }

    fn of(method: Method) -> Self {
        match method {
            Method::Invite | Method::Ack => Self::Invite,
            Method::Cancel => Self::Cancel,
            m => Self::Other(m),
        }
    }
}

/// The code of an extension method ([`KeyMethod::code`]).
const EXTENSION: u8 = u8::MAX;

/// The methods with a variant, in the order of their [`KeyMethod::code`] (from 2).
const KNOWN: [Method; 14] = [
    Method::Invite,
    Method::Ack,
    Method::Bye,
    Method::Cancel,
    Method::Options,
    Method::Register,
    Method::Prack,
    Method::Subscribe,
    Method::Notify,
    Method::Publish,
    Method::Info,
    Method::Refer,
    Method::Message,
    Method::Update,
];

/// The facts of a request the transaction layer needs, borrowed from the parsed message
/// (nothing is copied until a transaction keeps its key).
///
/// Read straight from the header bytes: only the pieces a key keeps (branch, sent-by host)
/// are checked as UTF-8 (see [`utf8`]), the rest is compared and hashed as bytes.
#[derive(Clone, Debug)]
pub(crate) struct RequestFacts<'a> {
    /// The branch, or the RFC 2543 fallback key (the only case that allocates); UTF-8.
    pub(crate) branch: Cow<'a, [u8]>,
    pub(crate) rfc3261: bool,
    pub(crate) key_method: KeyMethod,
    pub(crate) sent_by_port: Option<u16>,
    /// The sent-by host as written; UTF-8.
    pub(crate) sent_by_host: &'a [u8],
    pub(crate) rport: bool,
    /// The top Via arrived with a `received` of its own: only the receiver writes one
    /// (RFC 3261 §18.2.1), so it is replaced by the source, never trusted.
    pub(crate) received: bool,
    pub(crate) call_id: &'a [u8],
    pub(crate) cseq: u32,
    pub(crate) from_tag: Option<&'a [u8]>,
    pub(crate) to_tag: Option<&'a [u8]>,
    /// The whole value of the first Via line (all of its Via values, as indexed).
    pub(crate) via_line: &'a [u8],
}

/// The matching facts of a request a client sends; `None` when it lacks a parseable top
/// Via, CSeq, Call-ID or From (such a request cannot be handled by a transaction). The From
/// and To tags are not read (`None`): a client transaction's key does not use them, only
/// merged-request detection on the server does.
pub(crate) fn request_facts(request: &Request) -> Option<RequestFacts<'_>> {
    request_facts_with(request, None)
}

/// [`request_facts`] with the tags, reading the top Via with the help of `memo` (see
/// [`ViaMemo`]): what a server reads of each request it receives.
pub(crate) fn server_request_facts<'a>(
    request: &'a Request,
    memo: &mut ViaMemo,
) -> Option<RequestFacts<'a>> {
    request_facts_with(request, Some(memo))
}

/// The facts of a request: a server's (tags read, the top Via through `memo`) with a memo,
/// a client's without.
fn request_facts_with<'a>(
    request: &'a Request,
    memo: Option<&mut ViaMemo>,
) -> Option<RequestFacts<'a>> {
    let tags = memo.is_some();
    // One pass over the header index instead of one search per header.
    let [cseq_line, call_id, from, to, via] = request.headers().first_values([
        HeaderName::CSeq,
        HeaderName::CallId,
        HeaderName::From,
        HeaderName::To,
        HeaderName::Via,
    ]);
    let cseq = cseq_number(cseq_line?, request.method())?;
    let call_id = call_id?;
    let from = from?;
    let (from_tag, to_tag) = if tags {
        (tag_of(from), to.and_then(tag_of))
    } else {
        (None, None)
    };
    let via_line = via?;
    // A client's own request, its top Via written by the builder: the branch is known
    // without a scan (~500 instructions per request); the client key needs no sent-by.
    let via = match request.headers().built_via_branch() {
        Some(branch) if !tags && branch.starts_with(b"z9hG4bK") => ViaFacts {
            raw: via_line,
            host: b"",
            port: None,
            branch: Some(branch),
            rport: false,
            received: false,
        },
        _ => match memo {
            Some(memo) => first_via_memo(via_line, memo)?,
            None => first_via(via_line)?,
        },
    };
    let rfc3261 = via.branch.is_some_and(|b| b.starts_with(b"z9hG4bK"));
    let branch = match via.branch {
        Some(b) if rfc3261 => Cow::Borrowed(b),
        // RFC 3261 §17.2.3: without the magic cookie, match on Request-URI, From tag,
        // Call-ID, CSeq number and top Via (the To tag is left out so the ACK of a
        // non-2xx, which carries the response's To tag, still matches its INVITE).
        _ => Cow::Owned(
            format!(
                "2543:{}|{}|{}|{cseq}|{}",
                request.uri_str(),
                String::from_utf8_lossy(from_tag.unwrap_or_default()),
                String::from_utf8_lossy(call_id),
                String::from_utf8_lossy(via.raw)
            )
            .into_bytes(),
        ),
    };
    Some(RequestFacts {
        branch,
        rfc3261,
        key_method: KeyMethod::of(request.method().clone()),
        sent_by_port: via.port,
        sent_by_host: via.host,
        rport: via.rport,
        received: via.received,
        call_id,
        cseq,
        from_tag,
        to_tag,
        via_line,
    })
}

/// The parts of the top Via the transaction layer needs, read without allocating. `host`
/// and `branch` are UTF-8 (checked, see [`utf8`]).
pub(crate) struct ViaFacts<'a> {
    pub(crate) raw: &'a [u8],
    pub(crate) host: &'a [u8],
    pub(crate) port: Option<u16>,
    pub(crate) branch: Option<&'a [u8]>,
    pub(crate) rport: bool,
    /// A `received` parameter is present (only the general scan reports one: the plain
    /// form refuses it).
    pub(crate) received: bool,
}

/// Scans the first value of the first Via line: `SIP / 2.0 / transport sent-by *(;param)`
/// (RFC 3261 §20.42). Returns `None` for anything it does not recognise; callers then treat
/// the request as unmatchable.
fn first_via(line: &[u8]) -> Option<ViaFacts<'_>> {
    scan_plain_via(line).or_else(|| first_via_general(line))
}

/// [`first_via`] for any form: the first list element, then [`scan_via`].
fn first_via_general(line: &[u8]) -> Option<ViaFacts<'_>> {
    // One Via per line is the common case: no list to split (as `Headers::get` does).
    let first = if scan::find_byte(line, b',').is_none() {
        line
    } else {
        header::split_list(line).next()?.ok()?
    };
    scan_via(first)
}

/// The first Via value of a line in its plain form, read in one pass with one table look-up
/// per byte: a solid `SIP/2.0/`, an alphanumeric transport, one space, a host name or IPv4
/// address, an optional port, parameters without whitespace, quotes or angle brackets, and
/// the end of the line or a comma. `None` for anything else, which [`scan_via`] then reads
/// (its result is the same wherever this one answers: `plain_via_agrees_with_scan_via`).
fn scan_plain_via(line: &[u8]) -> Option<ViaFacts<'_>> {
    let (host, port, i) = plain_sent_by(line)?;
    plain_params(line, host, port, i, false, false, &mut None)
}

/// [`first_via`] for a server, which reads the top Via of every request it receives: a line
/// that starts with the plain-form text `memo` holds (protocol, transport, sent-by and
/// parameters up to the first `branch=`, as the previous request from that peer wrote them)
/// is read from the branch value on. A one-pass scan decides each byte by that byte alone,
/// in order, so over those identical bytes it reaches the same point with the same facts;
/// the rest is read as always, and anything the plain form refuses goes to the general scan
/// as in [`first_via`] (`via_memo_agrees_with_first_via`).
fn first_via_memo<'a>(line: &'a [u8], memo: &mut ViaMemo) -> Option<ViaFacts<'a>> {
    let known = usize::from(memo.len);
    if known > 0
        && let Some(prefix) = memo.text.get(..known)
        && line.starts_with(prefix)
    {
        let plain = line
            .get(usize::from(memo.host.0)..usize::from(memo.host.1))
            .and_then(|host| {
                plain_params(line, host, memo.port, known, memo.rport, true, &mut None)
            });
        return plain.or_else(|| first_via_general(line));
    }
    let mut mark = None;
    let plain = plain_sent_by(line)
        .and_then(|(host, port, i)| plain_params(line, host, port, i, false, false, &mut mark));
    if let Some(v) = &plain
        && let Some((at, rport)) = mark
    {
        memo.remember(line, v, at, rport);
    }
    plain.or_else(|| first_via_general(line))
}

/// The plain-form text of the last top Via a server read, up to its first `branch=`, with
/// what it says: see [`first_via_memo`]. Empty until a Via in the plain form with a branch
/// of at most [`ViaMemo::MAX`] bytes before its value is read.
#[derive(Debug)]
pub(crate) struct ViaMemo {
    text: [u8; Self::MAX],
    /// Bytes of `text` in use; 0 when empty.
    len: u8,
    /// The sent-by host within `text`.
    host: (u8, u8),
    port: Option<u16>,
    /// An `rport` before the branch.
    rport: bool,
}

impl Default for ViaMemo {
    fn default() -> Self {
        Self {
            text: [0; Self::MAX],
            len: 0,
            host: (0, 0),
            port: None,
            rport: false,
        }
    }
}

impl ViaMemo {
    /// The longest text remembered.
    const MAX: usize = 64;

    /// Remembers `line` up to `at` (where its first branch value starts, after an `rport`
    /// or not), read in the plain form as `v`.
    fn remember(&mut self, line: &[u8], v: &ViaFacts<'_>, at: usize, rport: bool) {
        let (Some(start), Some(prefix)) = (offset_in(line, v.host), line.get(..at)) else {
            return;
        };
        let end = start + v.host.len();
        if let (Some(text), Ok(len), Ok(s), Ok(e)) = (
            self.text.get_mut(..at),
            u8::try_from(at),
            u8::try_from(start),
            u8::try_from(end),
        ) && end <= at
        {
            text.copy_from_slice(prefix);
            self.len = len;
            self.host = (s, e);
            self.port = v.port;
            self.rport = rport;
        }
    }
}

/// The plain-form start of a Via value: a solid `SIP/2.0/`, an alphanumeric transport, one
/// space, a host name or IPv4 address and an optional port; the host, the port and where
/// the parameters start.
fn plain_sent_by(line: &[u8]) -> Option<(&[u8], Option<u16>, usize)> {
    if !solid_protocol(line) {
        return None;
    }
    let i = span(line, 8, ALNUM);
    if i == 8 || line.get(i) != Some(&b' ') {
        return None;
    }
    let (host, mut i) = run(line, i + 1, HOST)?;
    let mut port = None;
    if line.get(i) == Some(&b':') {
        i += 1;
        let digits_start = i;
        let mut value = 0u32;
        while let Some(&c) = line.get(i).filter(|c| c.is_ascii_digit()) {
            value = value * 10 + u32::from(c - b'0');
            i += 1;
            if i - digits_start > 5 {
                return None;
            }
        }
        if i == digits_start {
            return None;
        }
        port = Some(u16::try_from(value).ok()?);
    }
    Some((host, port, i))
}

/// The plain-form parameters of a Via value from `i` (parameters without whitespace,
/// quotes or angle brackets, then the end of the line or a comma), with an `rport` already
/// seen or not; with `in_branch`, `i` is where the value of a `branch=` starts. `mark` gets
/// where the value of the first `branch=` starts, with whether an `rport` came before it.
fn plain_params<'a>(
    line: &'a [u8],
    host: &'a [u8],
    port: Option<u16>,
    mut i: usize,
    mut rport: bool,
    mut in_branch: bool,
    mark: &mut Option<(usize, bool)>,
) -> Option<ViaFacts<'a>> {
    let mut branch = None;
    loop {
        let is_branch = if in_branch {
            in_branch = false;
            true
        } else {
            if line.get(i) != Some(&b';') {
                break;
            }
            let name;
            (name, i) = run(line, i + 1, NAME)?;
            let is_branch = name.len() == 6 && name.eq_ignore_ascii_case(b"branch");
            if name.len() == 5 && name.eq_ignore_ascii_case(b"rport") {
                rport = true;
            }
            // A `received` the sender wrote itself: the general scan reports it.
            if name.len() == 8 && name.eq_ignore_ascii_case(b"received") {
                return None;
            }
            if line.get(i) != Some(&b'=') {
                // a branch without a value is no branch
                if is_branch {
                    branch = None;
                }
                continue;
            }
            i += 1;
            if is_branch && mark.is_none() {
                *mark = Some((i, rport));
            }
            is_branch
        };
        let value;
        (value, i) = run(line, i, VALUE)?;
        if is_branch {
            branch = Some(value);
        }
    }
    // The value ends at the end of the line or at the comma before the next one.
    if !matches!(line.get(i), None | Some(b',')) {
        return None;
    }
    Some(ViaFacts {
        raw: line.get(..i)?,
        host,
        port,
        branch,
        rport,
        received: false,
    })
}

/// The run of bytes of `class` that starts at `from` and where it ends; `None` when empty.
#[inline]
fn run(line: &[u8], from: usize, class: u8) -> Option<(&[u8], usize)> {
    let end = span(line, from, class);
    let run = line.get(from..end)?;
    (!run.is_empty()).then_some((run, end))
}

/// The end of the run of bytes of `class` (see [`PLAIN_VIA`]) that starts at `from`: one
/// table look-up per byte, no bounds check per byte.
#[inline]
fn span(line: &[u8], from: usize, class: u8) -> usize {
    let rest = line.get(from..).unwrap_or_default();
    from + rest
        .iter()
        .position(|&c| PLAIN_VIA[usize::from(c)] & class == 0)
        .unwrap_or(rest.len())
}

/// Classes of [`PLAIN_VIA`].
const ALNUM: u8 = 1;
const HOST: u8 = 2;
const NAME: u8 = 4;
const VALUE: u8 = 8;

/// Byte classes of the plain Via form: letters and digits are transport, host, name and
/// value characters; `.` and `-` host, name and value characters; the other visible ASCII
/// characters but `;`, `,`, `"`, `<`, `>` name and value characters (`=` a value character
/// only). Whitespace, controls and non-ASCII bytes have no class.
const PLAIN_VIA: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0x21;
    while c < 0x7f {
        let b = c as u8;
        t[c] = if b.is_ascii_alphanumeric() {
            ALNUM | HOST | NAME | VALUE
        } else if b == b'.' || b == b'-' {
            HOST | NAME | VALUE
        } else if b == b'=' {
            VALUE
        } else if matches!(b, b';' | b',' | b'"' | b'<' | b'>') {
            0
        } else {
            NAME | VALUE
        };
        c += 1;
    }
    t
};

/// Scans one Via value in one forward pass (the matching facts are read for every message,
/// so this is hot): the solid `SIP/2.0/` is compared at once, delimiters are searched a word
/// at a time, host and branch are checked as ASCII a word at a time.
pub(crate) fn scan_via(raw: &[u8]) -> Option<ViaFacts<'_>> {
    // sent-protocol: "SIP/2.0/" written solid is the common form; LWS around the slashes
    // (RFC 3261 SLASH = SWS "/" SWS) takes the general path.
    let after_protocol = if solid_protocol(raw) {
        8
    } else {
        let slash1 = scan::find_byte(raw, b'/')?;
        slash1 + 2 + scan::find_byte(raw.get(slash1 + 1..)?, b'/')?
    };
    let transport_start = skip_lws(raw, after_protocol, false);
    let transport_end = transport_start
        + raw
            .get(transport_start..)?
            .iter()
            .position(|&c| c == b' ' || c == b'\t')?;
    let sent_by_start = skip_lws(raw, transport_end, true);
    let rest = raw.get(sent_by_start..)?;
    let (sent_by, mut params) = match scan::find_byte(rest, b';') {
        Some(i) => (rest.get(..i)?.trim_ascii_end(), rest.get(i + 1..)),
        None => (rest.trim_ascii_end(), None),
    };
    let (host, port) = if let Some(v6) = sent_by.strip_prefix(b"[") {
        let close = v6.iter().position(|&c| c == b']')?;
        let host = sent_by.get(..close + 2)?;
        let port = match sent_by.get(close + 2..)?.strip_prefix(b":") {
            Some(p) => Some(port_of(p)?),
            None => None,
        };
        (host, port)
    } else {
        match scan::find_byte(sent_by, b':') {
            Some(i) => (
                sent_by.get(..i)?.trim_ascii_end(),
                Some(port_of(sent_by.get(i + 1..)?)?),
            ),
            None => (sent_by, None),
        }
    };
    if host.is_empty() || host.iter().any(|c| matches!(c, b' ' | b',' | b'"')) || !utf8(host) {
        return None;
    }
    let mut branch = None;
    let mut rport = false;
    let mut received = false;
    while let Some(rest) = params {
        let (param, next) = match scan::find_byte(rest, b';') {
            Some(i) => (rest.get(..i)?, rest.get(i + 1..)),
            None => (rest, None),
        };
        params = next;
        let (name, value) = match param.iter().position(|&c| c == b'=') {
            Some(i) => (param.get(..i)?, Some(param.get(i + 1..)?.trim_ascii())),
            None => (param, None),
        };
        let name = name.trim_ascii();
        // Most parameters are neither: one look at the length tells.
        if name.len() == 6 && name.eq_ignore_ascii_case(b"branch") {
            branch = match value {
                Some(v) if utf8(v) => Some(v),
                Some(_) => return None,
                None => None,
            };
        } else if name.len() == 5 && name.eq_ignore_ascii_case(b"rport") {
            rport = true;
        } else if name.len() == 8 && name.eq_ignore_ascii_case(b"received") {
            received = true;
        }
    }
    Some(ViaFacts {
        raw,
        host,
        port,
        branch,
        rport,
        received,
    })
}

/// Whether `bytes` start with `SIP/2.0/` written solid (no LWS), `SIP` in either case,
/// compared as one little-endian word.
#[inline]
fn solid_protocol(bytes: &[u8]) -> bool {
    // The case bit of the three letters of `SIP/`: OR-ing it in lower-cases exactly `S`,
    // `I` and `P` (only `S`/`s` OR 0x20 gives `s`, and so on) and leaves the other five
    // bytes to be compared exactly.
    const SIP_CASE: u64 = 0x0020_2020;
    bytes
        .first_chunk::<8>()
        .is_some_and(|w| u64::from_le_bytes(*w) | SIP_CASE == u64::from_le_bytes(*b"sip/2.0/"))
}

/// Whether `bytes` are UTF-8: ASCII (the grammar of hosts and branches, checked a word at a
/// time) or, failing that, valid UTF-8 all the same, as keys accepted before.
pub(crate) fn utf8(bytes: &[u8]) -> bool {
    bytes.is_ascii() || std::str::from_utf8(bytes).is_ok()
}

/// A port number with surrounding whitespace.
fn port_of(text: &[u8]) -> Option<u16> {
    u16::try_from(scan::parse_u64(text.trim_ascii(), 5)?).ok()
}

/// The first position at or after `from` that is not a space or tab (nor CR or LF with
/// `line_ends`): a `matches!` per byte, not a search of a set per byte.
fn skip_lws(bytes: &[u8], from: usize, line_ends: bool) -> usize {
    from + bytes
        .get(from..)
        .unwrap_or_default()
        .iter()
        .take_while(|&&c| c == b' ' || c == b'\t' || (line_ends && (c == b'\r' || c == b'\n')))
        .count()
}

/// The `tag` parameter of a From/To value (RFC 3261 §20.20: header parameters follow the
/// `>` of a name-addr, or the URI of an addr-spec, which then cannot carry URI parameters).
pub(crate) fn tag_of(value: &[u8]) -> Option<&[u8]> {
    // The usual form, `<uri>;tag=...`: what the reading below finds (its first parameter is
    // the empty one before the `;`, its second the tag), without the parameter loop.
    if let [b'<', inner @ ..] = value
        && let Some(close) = scan::find_byte(inner, b'>')
        && let Some(tag) = inner
            .get(close + 1..)
            .and_then(|p| p.strip_prefix(b";tag="))
    {
        let end = scan::find_byte(tag, b';').unwrap_or(tag.len());
        return Some(tag.get(..end)?.trim_ascii());
    }
    tag_of_general(value)
}

/// [`tag_of`] for any form.
fn tag_of_general(value: &[u8]) -> Option<&[u8]> {
    let mut in_quote = false;
    let mut escaped = false;
    let mut params_at = None;
    for (i, &c) in value.iter().enumerate() {
        if in_quote {
            if escaped {
                escaped = false;
            } else if c == b'\\' {
                escaped = true;
            } else if c == b'"' {
                in_quote = false;
            }
        } else if c == b'"' {
            in_quote = true;
        } else if c == b'<' {
            let close = scan::find_byte(value.get(i..)?, b'>')? + i;
            params_at = Some(close + 1);
            break;
        } else if c == b';' {
            params_at = Some(i);
            break;
        }
    }
    let mut params = value.get(params_at?..)?;
    while !params.is_empty() {
        let (param, rest) = match scan::find_byte(params, b';') {
            Some(i) => (params.get(..i)?, params.get(i + 1..)?),
            None => (params, &[][..]),
        };
        params = rest;
        if let Some(eq) = scan::find_byte(param, b'=')
            && param.get(..eq)?.trim_ascii().eq_ignore_ascii_case(b"tag")
        {
            return Some(param.get(eq + 1..)?.trim_ascii());
        }
    }
    None
}

/// The client transaction key of a response (RFC 3261 §17.1.3): top Via branch and CSeq
/// method.
pub(crate) fn response_key(response: &Response) -> Option<TransactionKey> {
    response_key_by(response, via_branch).map(|(key, _)| key)
}

/// [`response_key`] with the branch found by [`find_branch`], not by a scan of the top Via,
/// and the first Via line's value: a key to look a transaction up with, to be trusted only
/// once that line is checked (see `Transactions::handle_response`).
pub(crate) fn quick_response_key(response: &Response) -> Option<(TransactionKey, &[u8])> {
    response_key_by(response, find_branch)
}

/// The key of a response with the branch `branch` reads from the first Via line, and that
/// line's value.
fn response_key_by<'a>(
    response: &'a Response,
    branch: impl FnOnce(&'a [u8]) -> Option<&'a [u8]>,
) -> Option<(TransactionKey, &'a [u8])> {
    let [cseq_line, via] = response
        .headers()
        .first_values([HeaderName::CSeq, HeaderName::Via]);
    let via = via?;
    let branch = branch(via)?;
    let (_, method) = cseq_parts(cseq_line?)?;
    let key = TransactionKey::client(branch, &KeyMethod::of(Method::from_token(method)?))?;
    Some((key, via))
}

/// The branch of the first Via value of a Via line, as the transaction layer reads it (the
/// scan of [`first_via`]); `None` when that value cannot be read or has no branch.
pub(crate) fn via_branch(line: &[u8]) -> Option<&[u8]> {
    first_via(line)?.branch
}

/// The value after the first `;branch=` of `line` (up to the next `;`), found with
/// a byte search per `;` instead of reading the Via: not the Via's branch in general (the
/// text may sit in a quoted value, a later Via value or be followed by another branch), so a
/// caller checks the line before it trusts the answer.
fn find_branch(line: &[u8]) -> Option<&[u8]> {
    let mut from = 0;
    loop {
        from += scan::find_byte(line.get(from..)?, b';')? + 1;
        if let Some(value) = line.get(from..)?.strip_prefix(b"branch=") {
            // up to the next parameter (a word-at-a-time search); a comma or blank after
            // the value stays in it, and such a key finds no transaction
            let end = scan::find_byte(value, b';').unwrap_or(value.len());
            return value.get(..end);
        }
    }
}

/// Where responses of a server transaction go (RFC 3261 §18.2.2, RFC 3581 §4): the source
/// address when `rport` was asked for (or on a connection), else the source IP (the
/// `received` address) with the sent-by port, 5060 by default.
pub(crate) fn response_destination(facts: &RequestFacts<'_>, source: SocketAddr) -> SocketAddr {
    if facts.rport {
        source
    } else {
        SocketAddr::new(source.ip(), facts.sent_by_port.unwrap_or(5060))
    }
}

/// Whether the top Via needs `received` or `rport` stamped (RFC 3261 §18.2.1, RFC 3581
/// §4): the common case (no `rport`, sent-by is the source IP) needs nothing.
pub(crate) fn needs_stamp(facts: &RequestFacts<'_>, source: SocketAddr) -> bool {
    if facts.rport || facts.received {
        return true;
    }
    // The common case read by hand: a dotted quad (std's parser is general and slower).
    if let Some(octets) = dotted_quad(facts.sent_by_host) {
        return !matches!(source.ip(), IpAddr::V4(ip) if ip.octets() == octets);
    }
    let host = facts
        .sent_by_host
        .strip_prefix(b"[")
        .and_then(|h| h.strip_suffix(b"]"))
        .unwrap_or(facts.sent_by_host);
    std::str::from_utf8(host)
        .ok()
        .and_then(|h| h.parse::<IpAddr>().ok())
        .is_none_or(|ip| ip != source.ip())
}

/// An IPv4 address in the form `Ipv4Addr`'s parser accepts (four decimal octets of one to
/// three digits, no leading zero, at most 255); `None` for anything else.
fn dotted_quad(text: &[u8]) -> Option<[u8; 4]> {
    // One pass over the bytes (a split iterator per octet cost ~150 instructions).
    let mut octets = [0u8; 4];
    let mut n = 0;
    let mut value = 0u16;
    let mut digits = 0;
    for &c in text {
        if c == b'.' {
            *octets.get_mut(n)? = u8::try_from(value).ok().filter(|_| digits > 0)?;
            n += 1;
            value = 0;
            digits = 0;
        } else if c.is_ascii_digit() {
            // no leading zero, at most three digits
            if digits == 3 || (digits == 1 && value == 0) {
                return None;
            }
            value = value * 10 + u16::from(c - b'0');
            digits += 1;
        } else {
            return None;
        }
    }
    if n != 3 || digits == 0 {
        return None;
    }
    *octets.get_mut(3)? = u8::try_from(value).ok()?;
    Some(octets)
}

/// Adds `received` (when the sent-by host is not the source IP) and fills `rport` (when
/// requested) in the top Via (RFC 3261 §18.2.1, RFC 3581 §4). Returns the request unchanged
/// when nothing needs stamping or the rewrite fails.
pub(crate) fn stamp_via(request: Request, source: SocketAddr) -> Request {
    let Some(Ok(mut via)) = request.header::<Via>() else {
        return request;
    };
    let host_is_source = via
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .is_ok_and(|ip| ip == source.ip());
    let wants_rport = via.rport() == Some(None);
    // A `received` the sender wrote is replaced by the source: read as the request's source
    // (an allow list, a failed-login blocker), a forged one would speak for any address.
    if host_is_source && !wants_rport && via.received().is_none() {
        return request;
    }
    // RFC 3581 §4: "the server MUST insert a 'received' parameter ... even if it is
    // identical to the sent-by host" when rport is present.
    via.set_received(&source.ip().to_string());
    if wants_rport {
        via.set_rport(source.port());
    }
    let raw = request.to_bytes();
    let Some(line) = request.headers().named(HeaderName::Via).next() else {
        return request;
    };
    let Some(Ok(first)) = header::split_list(line.value).next() else {
        return request;
    };
    let Some(start) = offset_in(&raw, first) else {
        return request;
    };
    let end = start + first.len();
    let mut out = BytesMut::with_capacity(raw.len() + 40);
    out.extend_from_slice(&raw[..start]);
    out.extend_from_slice(via.to_string().as_bytes());
    out.extend_from_slice(&raw[end..]);
    match Message::parse(out.freeze()) {
        Ok(Message::Request(r)) => r,
        _ => request,
    }
}

/// `request` with the transport of its top Via replaced (RFC 3261 §18.1.1).
pub(crate) fn with_via_transport(
    request: &Request,
    transport: super::Transport,
) -> Option<Request> {
    let raw = request.to_bytes();
    let line = request.headers().named(HeaderName::Via).next()?;
    let first = header::split_list(line.value).next()?.ok()?;
    let start = offset_in(&raw, first)?;
    let text = std::str::from_utf8(first).ok()?;
    // sent-protocol = protocol-name SLASH protocol-version SLASH transport
    let second_slash = text.match_indices('/').nth(1)?.0;
    let after = &text[second_slash + 1..];
    let lead = after.len() - after.trim_start().len();
    let token_len = after.trim_start().find([' ', '\t'])?;
    let token_start = start + second_slash + 1 + lead;
    let mut out = BytesMut::with_capacity(raw.len() + 4);
    out.extend_from_slice(&raw[..token_start]);
    out.extend_from_slice(transport.as_via_str().as_bytes());
    out.extend_from_slice(&raw[token_start + token_len..]);
    match Message::parse(out.freeze()) {
        Ok(Message::Request(r)) => Some(r),
        _ => None,
    }
}

/// A response to `request` made by the transaction layer itself (RFC 3261 §8.2.6): Via,
/// From, To, Call-ID and CSeq copied, a To tag added except for 100, no body.
pub(crate) fn stateless_response(request: &Request, status: u16) -> Option<Bytes> {
    let reason = match status {
        100 => "Trying",
        400 => "Bad Request",
        482 => "Loop Detected",
        _ => "Service Unavailable",
    };
    let mut s = String::with_capacity(request.to_bytes().len().min(1024) + 64);
    let _ = write!(s, "SIP/2.0 {status} {reason}\r\n");
    let mut has_via = false;
    for h in request.headers().iter() {
        let name = match h.header_name() {
            Some(HeaderName::Via) => {
                has_via = true;
                "Via"
            }
            Some(HeaderName::From) => "From",
            Some(HeaderName::CallId) => "Call-ID",
            Some(HeaderName::CSeq) => "CSeq",
            Some(HeaderName::To) => {
                let value = h.value_str()?;
                s.push_str("To: ");
                s.push_str(value);
                // RFC 3261 §8.2.6.2: "the UAS MUST add a tag to the To header field in the
                // response (with the exception of the 100 (Trying) response". A stateless
                // answer derives it from the request so retransmissions get the same tag.
                if status > 100 && !has_tag(value) {
                    let _ = write!(s, ";tag={:016x}", fnv(request.to_bytes().get(..200)));
                }
                s.push_str("\r\n");
                continue;
            }
            _ => continue,
        };
        s.push_str(name);
        s.push_str(": ");
        s.push_str(h.value_str()?);
        s.push_str("\r\n");
    }
    if !has_via {
        return None;
    }
    s.push_str("Content-Length: 0\r\n\r\n");
    Some(Bytes::from(s))
}

/// The ACK for a non-2xx final response (RFC 3261 §17.1.1.3): Request-URI, Call-ID, From,
/// CSeq number and the top Via of the INVITE, the To of the response, the INVITE's Route.
pub(crate) fn build_ack(invite: &Request, response: &Response) -> Option<Bytes> {
    let mut s = String::with_capacity(512);
    let _ = write!(s, "ACK {} SIP/2.0\r\n", invite.uri_str());
    let via = invite.headers().named(HeaderName::Via).next()?;
    let top = header::split_list(via.value).next()?.ok()?;
    s.push_str("Via: ");
    s.push_str(std::str::from_utf8(top).ok()?);
    s.push_str("\r\n");
    for h in invite.headers().iter() {
        let name = match h.header_name() {
            Some(HeaderName::Route) => "Route",
            Some(HeaderName::From) => "From",
            Some(HeaderName::CallId) => "Call-ID",
            _ => continue,
        };
        let _ = write!(s, "{name}: {}\r\n", h.value_str()?);
    }
    let to = response
        .headers()
        .named(HeaderName::To)
        .next()?
        .value_str()?;
    let (num, _) = cseq(invite.headers().named(HeaderName::CSeq).next()?.value)?;
    let _ = write!(
        s,
        "To: {to}\r\nCSeq: {num} ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    );
    Some(Bytes::from(s))
}

/// `CSeq: 4711 INVITE` -> (4711, INVITE).
pub(crate) fn cseq(value: &[u8]) -> Option<(u32, Method)> {
    let (num, method) = cseq_parts(value)?;
    Some((num, Method::from_token(method)?))
}

/// `CSeq: 4711 INVITE` -> (4711, b"INVITE"), the method checked to be a token.
fn cseq_parts(value: &[u8]) -> Option<(u32, &[u8])> {
    let text = value.trim_ascii();
    let split = text.iter().position(|&c| c == b' ' || c == b'\t')?;
    // RFC 3261 §8.1.1.5: "The sequence number value MUST be expressible as a 32-bit
    // unsigned integer".
    let num = u32::try_from(scan::parse_u64(text.get(..split)?, 10)?).ok()?;
    let method = text.get(split + 1..)?.trim_ascii();
    scan::all_token(method).then_some((num, method))
}

/// The number of [`cseq_parts`], read directly from the usual `<digits> <method>` with the
/// request's own method (an RFC method, a token): the same answer for that form (the digits
/// read as `cseq_parts` reads them), without its trims and scans; any other form (another
/// method, more whitespace, no digits) is read by `cseq_parts`. The method of a request's CSeq is not part of its matching facts (the key
/// takes the request's method).
fn cseq_number(value: &[u8], method: &Method) -> Option<u32> {
    if !matches!(method, Method::Extension(_))
        && let Some(digits) = value
            .strip_suffix(method.as_str().as_bytes())
            .and_then(|rest| rest.strip_suffix(b" "))
        && let Some(num) = scan::parse_u64(digits, 10)
    {
        return u32::try_from(num).ok();
    }
    cseq_parts(value).map(|(num, _)| num)
}

fn has_tag(value: &str) -> bool {
    let params = match value.rfind('>') {
        Some(i) => &value[i..],
        None => value,
    };
    params.split(';').skip(1).any(|p| {
        p.trim()
            .get(..4)
            .is_some_and(|n| n.eq_ignore_ascii_case("tag="))
            || p.trim().eq_ignore_ascii_case("tag")
    })
}

/// Where `inner` starts in `outer`, when it lies inside it.
pub(crate) fn offset_in(outer: &[u8], inner: &[u8]) -> Option<usize> {
    let start = (inner.as_ptr() as usize).checked_sub(outer.as_ptr() as usize)?;
    (start + inner.len() <= outer.len()).then_some(start)
}

fn fnv(bytes: Option<&[u8]>) -> u64 {
    bytes
        .unwrap_or_default()
        .iter()
        .fold(0xcbf2_9ce4_8422_2325, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scans_via_forms() {
        let v = scan_via(b"SIP/2.0/UDP pc33.atlanta.com:5066;branch=z9hG4bK77;rport").unwrap();
        assert_eq!(
            (v.host, v.port, v.branch, v.rport),
            (
                &b"pc33.atlanta.com"[..],
                Some(5066),
                Some(&b"z9hG4bK77"[..]),
                true
            )
        );
        let v = scan_via(b"SIP / 2.0 / TCP [2001:db8::9]:5061 ; BRANCH = z9hG4bKx").unwrap();
        assert_eq!(
            (v.host, v.port, v.branch, v.rport),
            (
                &b"[2001:db8::9]"[..],
                Some(5061),
                Some(&b"z9hG4bKx"[..]),
                false
            )
        );
        let v = scan_via(b"SIP/2.0/UDP 192.0.2.1").unwrap();
        assert_eq!((v.host, v.port, v.branch), (&b"192.0.2.1"[..], None, None));
        // the solid protocol is matched case-insensitively, LWS takes the general path
        let v = scan_via(b"sip/2.0/udp h;branch=z9hG4bKx").unwrap();
        assert_eq!((v.host, v.branch), (&b"h"[..], Some(&b"z9hG4bKx"[..])));
        let v = scan_via(b"SIP/ 2.0/UDP h2").unwrap();
        assert_eq!(v.host, &b"h2"[..]);
        assert!(scan_via(b"SIP/2.0/UDP").is_none());
        assert!(scan_via(b"SIP/2.0/UDP host:notaport;branch=1").is_none());
        assert!(scan_via(b"SIP/2.0/UDP [::1;branch=1").is_none());
        assert!(scan_via(b"garbage").is_none());
    }

    /// The hand-written dotted-quad reader agrees with std's `Ipv4Addr` parser.
    #[test]
    fn dotted_quad_agrees_with_std() {
        for text in [
            "127.0.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "192.0.2.10",
            "256.0.0.1",
            "01.2.3.4",
            "1.2.3",
            "1.2.3.4.5",
            "1..3.4",
            "1.2.3.4 ",
            "a.b.c.d",
            "1234.1.1.1",
            "",
            "::1",
            "0.0.0.00",
            "1.2.3.",
            ".1.2.3",
            "1.2.3.4.",
            "255.255.255.256",
            "10.0.0.099",
            "9.99.199.249",
        ] {
            let std = text
                .parse::<std::net::Ipv4Addr>()
                .ok()
                .map(|ip| ip.octets());
            assert_eq!(dotted_quad(text.as_bytes()), std, "{text:?}");
        }
    }

    /// Wherever the one-pass plain form answers, the general scan gives the same facts.
    #[test]
    fn plain_via_agrees_with_scan_via() {
        let facts = via_facts;
        let mut plain = 0;
        let cases: &[&[u8]] = &[
            b"SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK0000000000000001",
            b"SIP/2.0/TCP pc33.atlanta.example.com;branch=z9hG4bK776;rport",
            b"sip/2.0/udp h;RPORT=5;Branch=z9hG4bKx;received=192.0.2.1",
            b"SIP/2.0/UDP h:05060;branch=a=b;branch=second",
            b"SIP/2.0/UDP h;branch=x,SIP/2.0/UDP other;branch=y",
            b"SIP/2.0/UDP h;branch=x, SIP/2.0/UDP other",
            b"SIP/2.0/UDP h;branch=x ",
            b"SIP/2.0/UDP h:65536;branch=x",
            b"SIP/2.0/UDP h:123456;branch=x",
            b"SIP/2.0/UDP h:;branch=x",
            b"SIP/2.0/UDP h;branch=",
            b"SIP/2.0/UDP h;;branch=x",
            b"SIP/2.0/UDP h;branch",
            b"SIP/2.0/UDP h;branch=\"q\"",
            b"SIP/2.0/UDP h;p=<a,b>;branch=x",
            b"SIP/2.0/UDP [2001:db8::1]:5060;branch=x",
            b"SIP/2.0/UDP  h;branch=x",
            b"SIP/2.0/U_P h;branch=x",
            b"SIP/2.0/UDP h_1;branch=x",
            b"SIP/2.0/UDP h\xc3\xa9;branch=x",
            b"SIP/2.0/UDP h;branch=\xc3\xa9",
            b"SIP /2.0/UDP h;branch=x",
            b"SIP/2.0/UDP",
            b"SIP/2.0/UDP ",
            b"SIP/2.0/ h",
            b"",
        ];
        for &case in cases {
            if let Some(v) = scan_plain_via(case) {
                plain += 1;
                assert_eq!(facts(Some(v)), facts(first_via_general(case)), "{case:?}");
            }
            assert_eq!(
                facts(first_via(case)),
                facts(first_via_general(case)),
                "{case:?}"
            );
        }
        assert!(plain >= 6, "the plain form answered {plain} cases");
    }

    const MATCHING: [HeaderName; 5] = [
        HeaderName::Via,
        HeaderName::From,
        HeaderName::To,
        HeaderName::CallId,
        HeaderName::CSeq,
    ];

    /// The one pass over the index (`first_values`) against `named` (the general walk),
    /// for every matching header, in two orders, and with a well-known kind outside them.
    fn assert_firsts_agree(m: &Message) {
        let head = m.headers();
        let mut reversed = MATCHING;
        reversed.reverse();
        for names in [MATCHING, reversed] {
            for (name, first) in names.into_iter().zip(head.first_values(names)) {
                assert_eq!(
                    first,
                    head.named(name).next().map(|h| h.value),
                    "{name:?} {m:?}"
                );
            }
        }
        let [contact, via] = head.first_values([HeaderName::Contact, HeaderName::Via]);
        assert_eq!(
            contact,
            head.named(HeaderName::Contact).next().map(|h| h.value)
        );
        assert_eq!(via, head.named(HeaderName::Via).next().map(|h| h.value));
    }

    fn message(lines: &[String]) -> Message {
        let text = format!(
            "OPTIONS sip:b@h SIP/2.0\r\n{}Content-Length: 0\r\n\r\n",
            lines.iter().map(|l| format!("{l}\r\n")).collect::<String>()
        );
        Message::parse(Bytes::from(text)).expect("parses")
    }

    /// The first lines the one pass finds are the ones `named` finds: none, one, repeated,
    /// compact forms, folded, after 24 lines (the heap index) and in a built request and
    /// response.
    #[test]
    fn first_values_agree_with_named() {
        let many = |n: usize| (0..n).map(|i| format!("X-{i}: {i}")).collect::<Vec<_>>();
        let mut cases: Vec<Vec<String>> = vec![
            vec![],
            vec!["Via: SIP/2.0/UDP a;branch=z9hG4bK1".into()],
            vec![
                "v: SIP/2.0/UDP first".into(),
                "Via: SIP/2.0/UDP second".into(),
                "f: <sip:a@h>;tag=1".into(),
                "From: <sip:b@h>;tag=2".into(),
                "t: <sip:c@h>".into(),
                "i: id1".into(),
                "CALL-ID: id2".into(),
                "CSeq: 1 OPTIONS".into(),
                "cseq: 2 OPTIONS".into(),
            ],
            vec!["To: <sip:c@h>\r\n ;tag=folded".into(), "X-To: no".into()],
        ];
        for at in [0, 10, 23, 24, 30] {
            let mut lines = many(at);
            lines.push("CSeq: 7 OPTIONS".into());
            lines.push("Via: SIP/2.0/TCP late".into());
            lines.extend(many(3));
            cases.push(lines);
        }
        for lines in &cases {
            assert_firsts_agree(&message(lines));
        }
        let mut b = Request::builder(Method::Options, "sip:b@h".parse().expect("uri"));
        b.push_via("UDP", "127.0.0.1", Some(5061), "z9hG4bKb")
            .expect("via")
            .push_call_id("built")
            .expect("call-id");
        let b = b
            .raw_header("From", "<sip:a@h>;tag=f")
            .and_then(|b| b.raw_header("t", "<sip:b@h>"))
            .and_then(|b| b.raw_header("CSeq", "3 OPTIONS"))
            .expect("lines");
        let request = b.clone().build();
        assert_firsts_agree(&Message::Request(request.clone()));
        // the lines form (a Via put before the others) indexes again from the start
        let mut lines = b;
        let proxy = Bytes::from_static(b"SIP/2.0/UDP proxy;branch=z9hG4bKp");
        lines.prepend_header(<Via as header::Header>::parse(&proxy).expect("via"));
        assert_firsts_agree(&Message::Request(lines.build()));
        let response = Response::builder(&request, crate::msg::StatusCode::OK)
            .to_tag("t")
            .build();
        assert_firsts_agree(&Message::Response(response));
    }

    /// Every well-known name is found (the one pass skips lines by a bit set of kinds: a
    /// kind past its width would never be found), behind a line of another kind.
    #[test]
    fn first_values_finds_every_well_known_name() {
        let mut names = 0;
        for name in (0..=u8::MAX).filter_map(HeaderName::from_kind) {
            let m = message(&["Subject: s".into(), format!("{}: 0", name.as_str())]);
            let [value] = m.headers().first_values([name]);
            let want = if name == HeaderName::Subject {
                "s"
            } else {
                "0"
            };
            assert_eq!(value, Some(want.as_bytes()), "{name:?}");
            names += 1;
        }
        assert!(names >= 60, "{names} names");
    }

    type Facts<'a> = Option<(&'a [u8], &'a [u8], Option<u16>, Option<&'a [u8]>, bool)>;

    fn via_facts(v: Option<ViaFacts<'_>>) -> Facts<'_> {
        v.map(|v| (v.raw, v.host, v.port, v.branch, v.rport))
    }

    /// Reads `lines` in order with one memo, each as `first_via` reads it alone; returns how
    /// many were read from a remembered start.
    fn assert_memo_agrees(lines: &[&[u8]]) -> usize {
        let mut memo = ViaMemo::default();
        let mut hits = 0;
        for &line in lines {
            let known = usize::from(memo.len);
            if known > 0 && memo.text.get(..known).is_some_and(|p| line.starts_with(p)) {
                hits += 1;
            }
            assert_eq!(
                via_facts(first_via_memo(line, &mut memo)),
                via_facts(first_via(line)),
                "{:?}",
                String::from_utf8_lossy(line)
            );
        }
        hits
    }

    /// The memo of a server's last top Via changes no answer: every line of a table read
    /// after every other (the second from the first one's remembered start when it begins
    /// with it: rport before or after the branch, a second branch, an empty or bad value
    /// after the start, a comma, trailing garbage, the general form).
    #[test]
    fn via_memo_agrees_with_first_via() {
        let cases: &[&[u8]] = &[
            b"SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK0000000000000001",
            b"SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK0000000000000002",
            b"SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK3;rport",
            b"SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK4;branch=other",
            b"SIP/2.0/UDP 127.0.0.1:5061;branch=",
            b"SIP/2.0/UDP 127.0.0.1:5061;branch=;rport",
            b"SIP/2.0/UDP 127.0.0.1:5061;branch=x y",
            b"SIP/2.0/UDP 127.0.0.1:5061;branch=x,SIP/2.0/UDP other;branch=y",
            b"SIP/2.0/UDP 127.0.0.1:5061;branch=\"q\"",
            b"SIP/2.0/UDP 127.0.0.1:5061;branch=x;branch",
            b"SIP/2.0/UDP 127.0.0.1:5061;rport;branch=z9hG4bK5",
            b"SIP/2.0/UDP 127.0.0.1:5061;rport;branch=z9hG4bK6;received=1.2.3.4",
            b"SIP/2.0/UDP 127.0.0.1:5061;rport=1;branch=z9hG4bK7",
            b"SIP/2.0/UDP 127.0.0.1:5061;branch;branch=z9hG4bK8",
            b"SIP/2.0/UDP 127.0.0.1:5061;x=1;branch=z9hG4bK9",
            b"SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK10",
            b"SIP/2.0/UDP 127.0.0.1:5061;branch=\xc3\xa9",
            b"SIP/2.0/UDP 127.0.0.1:5061 ;branch=z9hG4bK11",
            b"SIP/2.0/TCP pc33.atlanta.example.com;branch=z9hG4bK776;rport",
            b"sip/2.0/udp h;RPORT=5;Branch=z9hG4bKx;received=192.0.2.1",
            b"SIP/2.0/UDP a-very-long-host-name-that-does-not-fit.example.com:5060;branch=z9hG4bK1",
            b"SIP/2.0/UDP h;branch=x",
            b"SIP/2.0/UDP h;branch=x, SIP/2.0/UDP other",
            b"SIP/2.0/UDP [2001:db8::1]:5060;branch=x",
            b"",
        ];
        let mut hits = 0;
        for a in cases {
            for b in cases {
                hits += assert_memo_agrees(&[a, b, a]);
            }
        }
        assert!(hits > 100, "{hits} lines read from a remembered start");
    }

    proptest::proptest! {
        /// Any From/To value near the usual form: `tag_of` answers as its general reading.
        #[test]
        fn tag_of_agrees_for_any_value(value in "<?[a-z@;=<> \t\"]{0,10}>?(;tag=)?[a-z;= ]{0,6}") {
            assert_eq!(tag_of(value.as_bytes()), tag_of_general(value.as_bytes()));
        }

        /// Any CSeq value near the usual form: `cseq_number` answers as `cseq_parts`.
        #[test]
        fn cseq_number_agrees_for_any_value(
            value in "[0-9]{0,12}[ \t]{0,2}(OPTIONS|INVITE|ACK|X|[ A-Z]{0,8})[ ]?",
        ) {
            assert_cseq_number_agrees(value.as_bytes());
        }

        /// Any sequence of Via lines from a few shared starts and parameter pieces: the memo
        /// changes no answer.
        #[test]
        fn via_memo_agrees_for_any_sequence(
            picks in proptest::collection::vec((0usize..4, proptest::collection::vec(0usize..12, 0..5)), 1..12)
        ) {
            const STARTS: [&str; 4] = [
                "SIP/2.0/UDP 127.0.0.1:5061;branch=",
                "SIP/2.0/UDP 127.0.0.1:5061;rport;branch=",
                "SIP/2.0/TCP h;branch=",
                "SIP/2.0/UDP 127.0.0.1:5061",
            ];
            const PIECES: [&str; 12] = [
                "z9hG4bK1", "x", ";rport", ";branch=y", ";branch", ";", "=", " ", ",", "\"",
                ";received=1.2.3.4", "SIP/2.0/UDP o",
            ];
            let lines: Vec<Vec<u8>> = picks
                .iter()
                .map(|(start, pieces)| {
                    let mut line = STARTS[*start].to_string();
                    for p in pieces {
                        line.push_str(PIECES[*p]);
                    }
                    line.into_bytes()
                })
                .collect();
            let refs: Vec<&[u8]> = lines.iter().map(Vec::as_slice).collect();
            assert_memo_agrees(&refs);
        }

        /// Any mix of matching, compact, repeated and extension lines, more than fit inline
        /// included: the one pass finds what `named` finds.
        #[test]
        fn first_values_agree_with_named_for_any_mix(
            picks in proptest::collection::vec((0usize..14, 0u32..1000), 0..40)
        ) {
            const NAMES: [&str; 14] = [
                "Via", "v", "From", "f", "To", "t", "Call-ID", "i", "CSeq", "Contact",
                "X-Via", "Max-Forwards", "Route", "Subject",
            ];
            let lines: Vec<String> = picks
                .iter()
                .map(|&(n, v)| format!("{}: {v}", NAMES.get(n).copied().unwrap_or("X")))
                .collect();
            assert_firsts_agree(&message(&lines));
        }

        /// Any Via parts `push_via` is given: the built branch, where there is one, is what
        /// a scan of the bytes reads, and the client's facts are those of the parse.
        #[test]
        fn built_branch_agrees_for_any_via(
            transport in "[A-Za-z ;!-]{0,4}",
            host in "[a-z0-9.:\\[\\] -]{0,8}",
            port in proptest::option::of(proptest::prelude::any::<u16>()),
            branch in "(z9hG4bK)?[a-zA-Z0-9 ;=.!%*+,\"-]{0,10}",
            raw_before in proptest::bool::ANY,
        ) {
            let before: &[(&str, &str)] = if raw_before { &[("X-A", "1")] } else { &[] };
            assert_built_branch_agrees(&built(before, (&transport, &host, port, &branch), false));
        }
    }

    /// A request with `via` pushed by `push_via` after `before` raw lines (and `prepend`:
    /// a proxy's Via put on top afterwards, which leaves the direct form).
    fn built(
        before: &[(&str, &str)],
        via: (&str, &str, Option<u16>, &str),
        prepend: bool,
    ) -> Request {
        let mut b = Request::builder(Method::Options, "sip:b@h".parse().expect("uri"));
        for (name, value) in before {
            b = b.raw_header(name, value).expect("line");
        }
        let (transport, host, port, branch) = via;
        if b.push_via(transport, host, port, branch).is_err() {
            b = b
                .raw_header("Via", "SIP/2.0/UDP fallback;branch=z9hG4bKf")
                .expect("line");
        }
        let mut b = b
            .raw_header("From", "<sip:a@h>;tag=f")
            .and_then(|b| b.raw_header("To", "<sip:b@h>"))
            .and_then(|b| b.raw_header("Call-ID", "c"))
            .and_then(|b| b.raw_header("CSeq", "3 OPTIONS"))
            .expect("lines");
        if prepend {
            let proxy = Bytes::from_static(b"SIP/2.0/UDP proxy;branch=z9hG4bKp");
            b.prepend_header(<Via as header::Header>::parse(&proxy).expect("via"));
        }
        b.build()
    }

    /// The client's facts of a built request (its branch taken from the builder where it
    /// wrote the top Via) equal those of a parse of its bytes (the branch from a Via scan).
    fn assert_built_branch_agrees(request: &Request) {
        let parsed = Request::parse(request.to_bytes()).expect("parse");
        assert_eq!(parsed.headers().built_via_branch(), None);
        if let Some(branch) = request.headers().built_via_branch() {
            let [.., via] = request.headers().first_values([HeaderName::Via]);
            assert_eq!(
                first_via(via.expect("via")).and_then(|v| v.branch),
                Some(branch)
            );
        }
        let facts = |r: &Request| {
            request_facts(r).map(|f| (f.branch.into_owned(), f.rfc3261, f.key_method))
        };
        assert_eq!(facts(request), facts(&parsed), "{:?}", request.to_bytes());
    }

    #[test]
    fn built_branch_agrees_with_the_via_scan() {
        let plain = ("UDP", "127.0.0.1", Some(5061), "z9hG4bK1f");
        for via in [
            plain,
            ("TCP", "host.example.com", None, "z9hG4bK-._!%*+`'~"),
            ("X-Y", "h", Some(0), "z9hG4bKx"),
            ("UDP", "h", Some(65535), "nocookie"),
            ("UDP", "h", None, "z9hG4bK"),
            ("UDP", "[::1]", Some(5060), "z9hG4bKv6"),
            ("UDP", "h", None, "z9hG4bK x"),
            ("", "h", None, "z9hG4bKe"),
            ("UDP", "h", None, ""),
        ] {
            for prepend in [false, true] {
                assert_built_branch_agrees(&built(&[], via, prepend));
                assert_built_branch_agrees(&built(&[("X-A", "1")], via, prepend));
            }
        }
        // set only for the top Via written by `push_via` in the direct form
        assert!(
            built(&[], plain, false)
                .headers()
                .built_via_branch()
                .is_some()
        );
        assert!(
            built(&[], plain, true)
                .headers()
                .built_via_branch()
                .is_none()
        );
        let under = built(
            &[("Via", "SIP/2.0/UDP first;branch=z9hG4bKtop")],
            plain,
            false,
        );
        assert!(under.headers().built_via_branch().is_none());
        assert_built_branch_agrees(&under);
        let mut b = Request::builder(Method::Options, "sip:b@h".parse().expect("uri"));
        b.push_via("UDP", "a", None, "z9hG4bKa")
            .and_then(|b| b.push_via("UDP", "b", None, "z9hG4bKb"))
            .expect("via");
        let two = b.build();
        assert_eq!(two.headers().built_via_branch(), Some(&b"z9hG4bKa"[..]));
        // a built request equals its parse (the hint is not part of equality)
        assert_eq!(Request::parse(two.to_bytes()).expect("parse"), two);
    }

    #[test]
    fn reads_cseq() {
        assert_eq!(cseq_parts(b" 4711\tINVITE "), Some((4711, &b"INVITE"[..])));
        assert_eq!(cseq_parts(b"4294967295 FOO"), Some((u32::MAX, &b"FOO"[..])));
        assert_eq!(cseq_parts(b"4294967296 INVITE"), None);
        assert_eq!(cseq_parts(b"x1 INVITE"), None);
        assert_eq!(cseq_parts(b"1 IN<VITE"), None);
        assert_eq!(cseq_parts(b"1"), None);
    }

    /// `cseq_number` answers as `cseq_parts` for every value and request method.
    fn assert_cseq_number_agrees(value: &[u8]) {
        for method in [
            Method::Options,
            Method::Invite,
            Method::Ack,
            Method::Extension(Box::new(Bytes::from_static(b"OPTIONS"))),
        ] {
            assert_eq!(
                cseq_number(value, &method),
                cseq_parts(value).map(|(n, _)| n),
                "{:?} {method}",
                String::from_utf8_lossy(value)
            );
        }
    }

    #[test]
    fn cseq_number_agrees_with_cseq_parts() {
        for value in [
            &b"1 OPTIONS"[..],
            b"4711 INVITE",
            b"4294967295 OPTIONS",
            b"4294967296 OPTIONS",
            b"04294967295 OPTIONS",
            b"00000000001 OPTIONS",
            b"0 ACK",
            b"x1 OPTIONS",
            b"1x OPTIONS",
            b"1 2 OPTIONS",
            b"1  OPTIONS",
            b"1\tOPTIONS",
            b" 1 OPTIONS",
            b"1 OPTIONS ",
            b"1 XOPTIONS",
            b"1 X OPTIONS",
            b"OPTIONS",
            b" OPTIONS",
            b"1 options",
            b"",
        ] {
            assert_cseq_number_agrees(value);
        }
    }

    #[test]
    fn tag_of_agrees_with_the_general_reading() {
        for value in [
            &b"<sip:a@b>;tag=t1"[..],
            b"<sip:a@b>;tag=t1;x=y",
            b"<sip:a@b>;tag= t1 ;x",
            b"<sip:a@b>;tag=",
            b"<sip:a@b>;tag=;x",
            b"<sip:a@b>;TAG=t1",
            b"<sip:a@b>;x=1;tag=t1",
            b"<sip:a@b;tag=u>;tag=h",
            b"<sip:a@b",
            b"<sip:a@b>",
            b"<>;tag=t",
            b"sip:a@b;tag=t1",
        ] {
            assert_eq!(tag_of(value), tag_of_general(value), "{value:?}");
        }
    }

    #[test]
    fn finds_tags_outside_uris_and_quotes() {
        assert_eq!(
            tag_of(b"<sip:a@b;tag=uri-param>;tag=hdr"),
            Some(&b"hdr"[..])
        );
        assert_eq!(
            tag_of(b"\"x;tag=no <y>\" <sip:a@b>;TAG=ok"),
            Some(&b"ok"[..])
        );
        assert_eq!(tag_of(b"sip:a@b;tag=t1"), Some(&b"t1"[..]));
        assert_eq!(tag_of(b"<sip:a@b>"), None);
        assert_eq!(tag_of(b"<sip:a@b"), None);
    }
}
