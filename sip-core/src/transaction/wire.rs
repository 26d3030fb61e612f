//! What the transaction layer reads from and writes into messages: the matching facts of
//! §17.1.3 / §17.2.3, the ACK of §17.1.1.3, the responses it sends by itself (100 Trying,
//! 400, 482, 503 per §8.2.6) and the `received`/`rport` stamp of §18.2.1 / RFC 3581.

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

use bytes::{Bytes, BytesMut};

use super::endpoint::TransactionKey;
use crate::header::{self, HeaderName, Via};
use crate::msg::{Message, Method, Request, Response};

/// The method part of a transaction key: ACK matches the INVITE (RFC 3261 §17.2.3), CANCEL
/// is a transaction of its own.
#[derive(Clone, Debug, Eq, Hash, PartialEq)]
pub(crate) enum KeyMethod {
    Invite,
    Cancel,
    Other(Method),
}

impl KeyMethod {
    fn of(method: &Method) -> Self {
        match method {
            Method::Invite | Method::Ack => Self::Invite,
            Method::Cancel => Self::Cancel,
            m => Self::Other(m.clone()),
        }
    }
}

/// The facts of a request the transaction layer needs.
#[derive(Clone, Debug)]
pub(crate) struct RequestFacts {
    /// The branch, or the RFC 2543 fallback key.
    pub(crate) branch: String,
    pub(crate) rfc3261: bool,
    pub(crate) key_method: KeyMethod,
    /// `host:port` of the top Via.
    pub(crate) sent_by: String,
    pub(crate) sent_by_port: Option<u16>,
    pub(crate) rport: bool,
    pub(crate) call_id: String,
    pub(crate) cseq: u32,
    pub(crate) from_tag: Option<String>,
    pub(crate) to_tag: Option<String>,
}

/// The matching facts of a request; `None` when it lacks a parseable top Via, CSeq,
/// Call-ID or From (such a request cannot be handled by a transaction).
pub(crate) fn request_facts(request: &Request) -> Option<RequestFacts> {
    let via = request.header::<Via>()?.ok()?;
    let (cseq, _) = cseq(request.headers().named(HeaderName::CSeq).next()?.value)?;
    let call_id = request
        .headers()
        .named(HeaderName::CallId)
        .next()?
        .value_str()?
        .to_owned();
    let from_tag = request
        .header::<header::From>()?
        .ok()?
        .0
        .tag()
        .map(str::to_owned);
    let to_tag = match request.header::<header::To>() {
        Some(Ok(to)) => to.0.tag().map(str::to_owned),
        _ => None,
    };
    let sent_by = match via.port() {
        Some(p) => format!("{}:{p}", via.host().to_ascii_lowercase()),
        None => via.host().to_ascii_lowercase(),
    };
    let rfc3261 = via.has_rfc3261_branch();
    let branch = match via.branch() {
        Some(b) if rfc3261 => b.to_owned(),
        // RFC 3261 §17.2.3: without the magic cookie, match on Request-URI, From tag,
        // Call-ID, CSeq number and top Via (the To tag is left out so the ACK of a
        // non-2xx, which carries the response's To tag, still matches its INVITE).
        _ => format!(
            "2543:{}|{}|{call_id}|{cseq}|{via}",
            request.uri_str(),
            from_tag.as_deref().unwrap_or("")
        ),
    };
    Some(RequestFacts {
        branch,
        rfc3261,
        key_method: KeyMethod::of(request.method()),
        sent_by,
        sent_by_port: via.port(),
        rport: via.rport().is_some(),
        call_id,
        cseq,
        from_tag,
        to_tag,
    })
}

/// The client transaction key of a response (RFC 3261 §17.1.3): top Via branch and CSeq
/// method.
pub(crate) fn response_key(response: &Response) -> Option<TransactionKey> {
    let via = response.header::<Via>()?.ok()?;
    let (_, method) = cseq(response.headers().named(HeaderName::CSeq).next()?.value)?;
    Some(TransactionKey::client(
        via.branch()?,
        KeyMethod::of(&method),
    ))
}

/// Where responses of a server transaction go (RFC 3261 §18.2.2, RFC 3581 §4): the source
/// address when `rport` was asked for (or on a connection), else the source IP (the
/// `received` address) with the sent-by port, 5060 by default.
pub(crate) fn response_destination(facts: &RequestFacts, source: SocketAddr) -> SocketAddr {
    if facts.rport {
        source
    } else {
        SocketAddr::new(source.ip(), facts.sent_by_port.unwrap_or(5060))
    }
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
    if host_is_source && !wants_rport {
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
    let text = std::str::from_utf8(value).ok()?.trim();
    let (num, method) = text.split_once([' ', '\t'])?;
    // RFC 3261 §8.1.1.5: "The sequence number value MUST be expressible as a 32-bit
    // unsigned integer".
    let num = num.parse::<u32>().ok()?;
    Some((num, Method::from_token(method.trim().as_bytes())?))
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

fn offset_in(outer: &[u8], inner: &[u8]) -> Option<usize> {
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
