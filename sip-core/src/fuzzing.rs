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
    if let Message::Request(r) = &msg {
        let _ = r.uri().user_unescaped();
        // rebuilding from a builder yields a parseable message
        let rebuilt = r.to_builder().build();
        assert!(
            Message::parse(rebuilt.to_bytes()).is_ok(),
            "rebuilt request does not parse"
        );
    }
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
/// identically.
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
    let _ = crate::Uri::parse(value);
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
