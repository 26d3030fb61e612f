//! Fuzz harnesses, shared by `fuzz/fuzz_targets/sip_*.rs` and the stable corpus replay test
//! (`tests/fuzz_corpus.rs`). Each harness asserts the invariants that must hold on any input.

use bytes::{Bytes, BytesMut};

use crate::Framer;
use crate::header::{self, Header};
use crate::msg::{Message, ParseLimits};

/// Datagram parsing: never panics; a parsed message re-serializes byte-exact, re-parses to
/// the same message, and validation and typed access never panic.
pub fn datagram(data: &[u8]) {
    let input = Bytes::copy_from_slice(data);
    let Ok(msg) = Message::parse(input) else {
        return;
    };
    let bytes = msg.to_bytes();
    assert!(data.windows(bytes.len().max(1)).any(|w| w == &bytes[..]) || bytes.is_empty());
    let again = Message::parse(bytes.clone());
    assert_eq!(again.as_ref().ok(), Some(&msg), "re-parse differs");
    let _ = msg.validate();
    typed_all(msg.headers());
    // A session description found in the body is a part of it (zero-copy).
    if let Ok(Some(sdp)) = crate::body::session_description(msg.headers()) {
        assert!(lies_in(msg.body(), &sdp), "SDP outside the body");
    }
    if let Message::Request(r) = &msg {
        let _ = r.uri().user_unescaped();
        // rebuilding from a builder yields a parseable message; the builder writes a
        // Content-Length line that a datagram may lack, one line more than it had (a
        // datagram at the header limit then rebuilds one line over it)
        let rebuilt = r.to_builder().build();
        let defaults = ParseLimits::default();
        let limits = ParseLimits {
            max_headers: defaults.max_headers + 1,
            ..defaults
        };
        assert!(
            Message::parse_with(rebuilt.to_bytes(), &limits).is_ok(),
            "rebuilt request does not parse"
        );
    }
}

/// Whether `inner` is empty or a part of the memory of `outer` (not merely equal bytes
/// somewhere in it, which a short slice from anywhere would be).
pub(crate) fn lies_in(outer: &[u8], inner: &[u8]) -> bool {
    let (outer, inner) = (outer.as_ptr_range(), inner.as_ptr_range());
    inner.is_empty() || (outer.start <= inner.start && inner.end <= outer.end)
}

/// Stream framing: never panics; feeding the input in two pieces yields the same frames as
/// feeding it whole, and every frame parses at most as a stream message.
pub fn stream(data: &[u8]) {
    let split = data.first().map_or(0, |&b| usize::from(b)).min(data.len());
    let whole = frames(&[data]);
    let pieces = frames(&[
        data.get(..split).unwrap_or_default(),
        data.get(split..).unwrap_or_default(),
    ]);
    assert_eq!(whole, pieces, "framing depends on segmentation");
    for f in whole.0 {
        let _ = Message::parse_stream(f, &ParseLimits::default());
    }
}

fn frames(chunks: &[&[u8]]) -> (Vec<Bytes>, bool) {
    let mut framer = Framer::default();
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match framer.decode(&mut buf) {
                Ok(Some(f)) => out.push(f),
                Ok(None) => break,
                Err(_) => return (out, true),
            }
        }
    }
    (out, false)
}

/// Typed headers: the first byte picks one of the 37 typed headers (modulo), the rest is its
/// value. A value that types writes back (Display) to text that types again and writes back
/// identically. Every value is also read as an `Identity` (RFC 8224, see `identity` below).
pub fn typed_header(data: &[u8]) {
    let Some((&which, value)) = data.split_first() else {
        return;
    };
    let value = Bytes::copy_from_slice(value);
    macro_rules! check {
        ($($ty:ty),*) => {{
            let table: &[fn(&Bytes)] = &[$(|v| round_trip::<$ty>(v)),*];
            if let Some(f) = table.get(usize::from(which) % table.len()) {
                f(&value);
            }
        }};
    }
    check!(
        header::Via,
        header::From,
        header::To,
        header::Contact,
        header::CSeq,
        header::CallId,
        header::MaxForwards,
        header::ContentType,
        header::Route,
        header::Authorization,
        header::Supported,
        header::Allow,
        header::Event,
        header::SubscriptionState,
        header::Replaces,
        header::SessionExpires,
        header::RAck,
        header::Reason,
        header::Warning,
        header::Date,
        header::RetryAfter,
        header::ReferTo,
        header::RecordRoute,
        header::Expires,
        header::ContentLength,
        header::ProxyAuthorization,
        header::WwwAuthenticate,
        header::ProxyAuthenticate,
        header::Require,
        header::ProxyRequire,
        header::Unsupported,
        header::ReferredBy,
        header::MinSe,
        header::RSeq,
        header::PAssertedIdentity,
        header::UserAgent,
        header::Server
    );
    identity(&value);
    let _ = crate::Uri::parse(value);
}

/// `Identity` (RFC 8224): it writes back as written and reads back equal; its PASSporT's three
/// parts join to the PASSporT; its parts are found in the text it writes. Checked on every value
/// beside the header the first byte picks, not as a 38th table entry: a longer table would move
/// the seeds whose first byte is 37 or more (three regression seeds) to other headers.
fn identity(value: &Bytes) {
    let Ok(h) = header::Identity::parse(value) else {
        return;
    };
    // Equal values hold the same text, so this is also Display's fixed point.
    let text = h.to_string();
    match header::Identity::parse_str(&text) {
        Ok(again) => assert_eq!(again, h, "Identity reads back different"),
        Err(e) => panic!("Identity value {text:?} written by Display does not parse: {e}"),
    }
    if let Some((head, payload, signature)) = h.passport_parts() {
        assert_eq!(format!("{head}.{payload}.{signature}"), h.passport());
    }
    for part in [Some(h.passport()), h.info(), h.alg(), h.ppt()]
        .into_iter()
        .flatten()
    {
        assert!(
            text.contains(part),
            "Identity part {part:?} not in {text:?}"
        );
    }
}

fn round_trip<H: Header + PartialEq + std::fmt::Debug>(value: &Bytes) {
    let Ok(h) = H::parse(value) else { return };
    let text = h.to_string();
    let again = H::parse_str(&text);
    match again {
        Ok(again) => {
            assert_eq!(again.to_string(), text, "display is not a fixed point");
        }
        Err(e) => panic!(
            "{} value {text:?} written by Display does not parse: {e}",
            H::NAME
        ),
    }
}

fn typed_all(h: &crate::Headers) {
    for line in h.iter() {
        if let Some(name) = line.header_name() {
            let _ = header::check_value(name, &Bytes::copy_from_slice(line.value));
        }
    }
    let _ = h.get_all::<header::Via>().count();
    let _ = h.get_all::<header::Contact>().count();
}

/// Largest message the [`ws`] harness's codecs accept.
const WS_LIMIT: usize = 4096;

/// SIP over WebSocket (RFC 7118): the bytes one connection receives, handshake then frames.
/// The first byte picks the side (bit 0 set: we are the server and parse the client's
/// upgrade; clear: we are a client that sent
/// [`ClientRequest::new`](crate::ws::ClientRequest::new) with an all-zero nonce and checks
/// the server's `101`) and the chunk sizes (the other bits); the rest arrives in those
/// chunks. Checked: no panic; what is buffered while waiting stays within
/// [`MAX_HANDSHAKE`](crate::ws::MAX_HANDSHAKE), or one frame header plus the message limit;
/// the handshake outcome, the events and the error are the same whatever the chunking;
/// messages stay within the limit and come back the same when the peer re-encodes them; a
/// ping's pong decodes to a pong with its payload; an accepted upgrade is answered with a
/// `101` that a client holding the same key accepts.
pub fn ws(data: &[u8]) {
    use crate::ws::{MAX_HANDSHAKE, Role};

    let Some((&mode, stream)) = data.split_first() else {
        return;
    };
    let role = if mode & 1 == 1 {
        Role::Server
    } else {
        Role::Client
    };
    let seed = usize::from(mode >> 1);
    let mut chunks = Vec::new();
    let mut rest = stream;
    let mut i = 0usize;
    while !rest.is_empty() {
        i += 1;
        let n = (1 + seed.wrapping_mul(i) % 97).min(rest.len());
        let (head, tail) = rest.split_at(n);
        chunks.push(head);
        rest = tail;
    }
    let whole = ws_run(role, &[stream]);
    let pieces = ws_run(role, &chunks);
    assert_eq!(whole, pieces, "websocket decoding depends on segmentation");
    assert!(
        pieces.max_waiting <= MAX_HANDSHAKE.max(WS_LIMIT + 14),
        "{} bytes buffered while waiting",
        pieces.max_waiting
    );
    let peer = match role {
        Role::Client => Role::Server,
        Role::Server => Role::Client,
    };
    for event in &whole.events {
        ws_echo(role, peer, event);
    }
}

/// What one connection's bytes decoded to ([`ws`]).
#[derive(Debug, Default)]
struct WsRun {
    /// The handshake: its length once complete, or the error.
    handshake: Option<Result<usize, crate::ws::WsError>>,
    events: Vec<crate::ws::WsEvent>,
    error: Option<crate::ws::WsError>,
    /// The most bytes left waiting after a call that asked for more (not compared).
    max_waiting: usize,
}

impl PartialEq for WsRun {
    fn eq(&self, other: &Self) -> bool {
        self.handshake == other.handshake
            && self.events == other.events
            && self.error == other.error
    }
}

/// The all-zero nonce of the client side of [`ws`].
const WS_NONCE: [u8; 16] = [0; 16];

fn ws_run(role: crate::ws::Role, chunks: &[&[u8]]) -> WsRun {
    use crate::ws::{ClientRequest, Role, WsCodec, parse_client_handshake};

    let request = ClientRequest::new("example.com", "/", WS_NONCE);
    let mut codec = WsCodec::new(role, WS_LIMIT);
    let mut run = WsRun::default();
    let mut buf = BytesMut::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        if run.handshake.is_none() {
            let parsed = match role {
                Role::Server => parse_client_handshake(&buf).map(|h| {
                    h.map(|(hs, len)| {
                        ws_check_accept(&hs);
                        len
                    })
                }),
                Role::Client => request.parse_response(&buf),
            };
            match parsed {
                Ok(None) => {
                    run.max_waiting = run.max_waiting.max(buf.len());
                    continue;
                }
                Ok(Some(len)) => {
                    run.handshake = Some(Ok(len));
                    let _ = buf.split_to(len);
                }
                Err(e) => {
                    run.handshake = Some(Err(e));
                    return run;
                }
            }
        }
        loop {
            match codec.decode(&mut buf) {
                Ok(Some(event)) => {
                    if let crate::ws::WsEvent::Message(m) = &event {
                        assert!(m.len() <= WS_LIMIT, "message of {} bytes", m.len());
                    }
                    run.events.push(event);
                }
                Ok(None) => {
                    run.max_waiting = run.max_waiting.max(buf.len());
                    break;
                }
                Err(e) => {
                    assert!((1002..=1009).contains(&e.close_code()));
                    run.error = Some(e);
                    return run;
                }
            }
        }
    }
    run
}

/// A server's answer to an upgrade it parsed: `101` exactly when `sip` is offered, and
/// accepted by a client that sent the same key.
fn ws_check_accept(hs: &crate::ws::ClientHandshake) {
    use base64::Engine as _;

    let answer = hs.accept_response();
    assert_eq!(
        answer.is_ok(),
        hs.offers_sip(),
        "accept without sip or refusal with it"
    );
    let Ok(answer) = answer else { return };
    let Ok(nonce) = base64::engine::general_purpose::STANDARD.decode(&hs.key) else {
        panic!("accepted key {:?} is not base64", hs.key);
    };
    let Ok(nonce) = <[u8; 16]>::try_from(nonce) else {
        panic!("accepted key {:?} is not 16 bytes", hs.key);
    };
    let client = crate::ws::ClientRequest::new("example.com", "/", nonce);
    assert_eq!(
        client.parse_response(&answer),
        Ok(Some(answer.len())),
        "our own 101 is refused by the client that sent key {:?}",
        hs.key
    );
}

/// A decoded event sent back by the peer decodes to the same event (a ping to a pong of its
/// payload).
fn ws_echo(role: crate::ws::Role, peer: crate::ws::Role, event: &crate::ws::WsEvent) {
    use crate::ws::{WsCodec, WsEvent};

    let tx = WsCodec::new(peer, WS_LIMIT);
    let mut wire = BytesMut::new();
    let want = match event {
        WsEvent::Message(m) => {
            tx.encode_message(m, [1, 2, 3, 4], &mut wire);
            event.clone()
        }
        WsEvent::Ping(p) => {
            tx.encode_pong(p, [5, 6, 7, 8], &mut wire);
            WsEvent::Pong(p.clone())
        }
        _ => return,
    };
    let mut rx = WsCodec::new(role, WS_LIMIT);
    assert_eq!(
        rx.decode(&mut wire),
        Ok(Some(want)),
        "re-encoded event differs"
    );
    assert!(wire.is_empty(), "bytes left after one frame");
}

/// DNS responses: parsing never panics; a parsed message that encodes (its character-strings
/// may not, once lossily decoded) parses back to itself; a resolution for the name of its
/// first question (or example.com), without and with a port, that gets the message,
/// re-addressed, as the answer to every question it asks never panics and ends. `now` comes
/// from the caller (sans-IO).
pub fn dns(now: std::time::Instant, data: &[u8]) {
    use crate::dns::{DnsCache, DnsMessage, IpFamilies, Question, RecordType, Resolution};
    let Ok(msg) = DnsMessage::parse(data) else {
        return;
    };
    if let Ok(bytes) = msg.encode() {
        assert_eq!(
            DnsMessage::parse(&bytes).as_ref(),
            Ok(&msg),
            "re-parse differs"
        );
    }
    let mut cache = DnsCache::new(8);
    let question = msg.questions.first().cloned().unwrap_or(Question {
        name: String::from("example.com"),
        rtype: RecordType::NAPTR,
    });
    // Without a port the plan starts at NAPTR; with one it asks the host's addresses only.
    for text in [
        format!("sip:{}", question.name),
        format!("sip:{}:5060", question.name),
    ] {
        let Ok(uri) = text.parse() else {
            continue;
        };
        let Ok(mut resolution) = Resolution::new(
            &uri,
            &crate::locate::LocateConfig::default(),
            IpFamilies::Both,
        ) else {
            continue;
        };
        // Every question gets this message as its answer: the plan still ends.
        let mut asked = 0;
        while let Some(q) = resolution.poll_question(now, &cache) {
            let mut answer = msg.clone();
            answer.questions = vec![q.clone()];
            resolution.handle_response(now, &mut cache, &q, &answer);
            asked += 1;
            assert!(asked <= 200, "resolution of {text} does not end");
        }
        let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(1);
        let _ = resolution.targets(&mut rng);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn lies_in_tells_a_slice_from_a_copy() {
        let body = b"v=0\r\nv=0\r\n".to_vec();
        let copy = body[..5].to_vec();
        assert!(super::lies_in(&body, &body[5..]));
        assert!(super::lies_in(&body, &[]));
        assert!(!super::lies_in(&body, &copy));
        assert!(!super::lies_in(&body[..4], &body[..5]));
    }
}
