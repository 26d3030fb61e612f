//! SIP over WebSocket (RFC 7118) on RFC 6455, sans-IO: the opening handshake with the `sip`
//! subprotocol and the framing, over bytes the caller moves.
//!
//! - Handshake: a server parses the client's HTTP Upgrade with
//!   [`parse_client_handshake`] and answers with [`ClientHandshake::accept_response`]
//!   (`101`, `Sec-WebSocket-Accept`, `Sec-WebSocket-Protocol: sip`) or [`reject_response`];
//!   a client sends [`ClientRequest::new`]'s bytes and checks the answer with
//!   [`ClientRequest::parse_response`]. Nonces and masking keys come from the caller.
//! - Framing: [`WsCodec`] turns a byte stream into [`WsEvent`]s (a whole message, with
//!   fragments joined; ping, pong, close) and encodes one SIP message per frame (RFC 7118
//!   §5), masked when the codec is a client (RFC 6455 §5.3). Everything arriving from the
//!   network is bounded and checked: reserved bits, masking direction, control frame rules,
//!   UTF-8 of text messages, and the message size before any byte is buffered for it.
//!
//! The Via transport of SIP over WebSocket is `WS` or `WSS`
//! ([`Transport::Ws`](crate::transaction::Transport::Ws)); the transactions treat it as
//! reliable and answer over the connection the request came on.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::{BufMut, Bytes, BytesMut};
use sha1::{Digest, Sha1};

/// The WebSocket subprotocol of SIP (RFC 7118 §4.1).
pub const SIP_PROTOCOL: &str = "sip";

/// RFC 6455 §1.3: the GUID appended to the key for `Sec-WebSocket-Accept`.
const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Largest opening handshake (request or response) accepted, in bytes.
pub const MAX_HANDSHAKE: usize = 8_192;

/// A handshake or framing failure. [`WsError::close_code`] gives the close status to send
/// before dropping the connection.
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum WsError {
    /// The opening handshake is malformed or refuses what we need.
    #[error("websocket handshake: {0}")]
    Handshake(&'static str),
    /// The handshake did not end within [`MAX_HANDSHAKE`] bytes.
    #[error("websocket handshake over {MAX_HANDSHAKE} bytes")]
    HandshakeTooLarge,
    /// A frame breaks RFC 6455 §5 (reserved bits, masking, control frame, opcode,
    /// fragmentation).
    #[error("websocket protocol: {0}")]
    Protocol(&'static str),
    /// A message larger than the codec's limit.
    #[error("websocket message of {size} bytes over the {max} byte limit")]
    TooLarge {
        /// The announced size (so far, for a fragmented message).
        size: u64,
        /// The limit.
        max: usize,
    },
    /// A text message (or close reason) that is not UTF-8 (RFC 6455 §8.1).
    #[error("websocket text is not UTF-8")]
    InvalidUtf8,
}

impl WsError {
    /// The close status code for this failure (RFC 6455 §7.4.1): 1002 protocol error,
    /// 1007 invalid data, 1009 too big.
    pub fn close_code(&self) -> u16 {
        match self {
            Self::InvalidUtf8 => 1007,
            Self::TooLarge { .. } => 1009,
            _ => 1002,
        }
    }
}

/// `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key` (RFC 6455 §4.2.2): base64 of the SHA-1
/// of the key and the GUID.
pub fn accept_key(key: &str) -> String {
    let mut h = Sha1::new();
    h.update(key.trim().as_bytes());
    h.update(GUID.as_bytes());
    BASE64.encode(h.finalize())
}

/// A client's opening handshake as the server sees it (RFC 6455 §4.2.1).
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct ClientHandshake {
    /// The request target (`/` usually).
    pub path: String,
    /// `Host`.
    pub host: Option<String>,
    /// `Origin`, sent by browsers.
    pub origin: Option<String>,
    /// `Sec-WebSocket-Key`.
    pub key: String,
    /// The subprotocols offered, in order.
    pub protocols: Vec<String>,
}

impl ClientHandshake {
    /// True when the client offers the `sip` subprotocol.
    pub fn offers_sip(&self) -> bool {
        self.protocols
            .iter()
            .any(|p| p.eq_ignore_ascii_case(SIP_PROTOCOL))
    }

    /// The `101 Switching Protocols` answer selecting `sip`.
    ///
    /// # Errors
    /// [`WsError::Handshake`] when the client did not offer `sip` (RFC 7118 §4.1: SIP
    /// needs it; answer with [`reject_response`]).
    pub fn accept_response(&self) -> Result<Vec<u8>, WsError> {
        if !self.offers_sip() {
            return Err(WsError::Handshake(
                "client does not offer the sip subprotocol",
            ));
        }
        Ok(format!(
            "HTTP/1.1 101 Switching Protocols\r\n\
             Upgrade: websocket\r\n\
             Connection: Upgrade\r\n\
             Sec-WebSocket-Accept: {}\r\n\
             Sec-WebSocket-Protocol: {SIP_PROTOCOL}\r\n\r\n",
            accept_key(&self.key)
        )
        .into_bytes())
    }
}

/// An HTTP refusal of an opening handshake (`400 Bad Request` for a malformed one or one
/// without `sip`); it names the version we speak (RFC 6455 §4.2.2).
pub fn reject_response(status: u16, reason: &str) -> Vec<u8> {
    let reason: String = reason
        .chars()
        .filter(|c| !c.is_control())
        .take(64)
        .collect();
    format!(
        "HTTP/1.1 {status} {reason}\r\nSec-WebSocket-Version: 13\r\nContent-Length: 0\r\n\
         Connection: close\r\n\r\n"
    )
    .into_bytes()
}

/// The header block at the start of `buf`: `Ok(None)` until its blank line has arrived.
fn head(buf: &[u8]) -> Result<Option<(&str, usize)>, WsError> {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return if buf.len() > MAX_HANDSHAKE {
            Err(WsError::HandshakeTooLarge)
        } else {
            Ok(None)
        };
    };
    if end + 4 > MAX_HANDSHAKE {
        return Err(WsError::HandshakeTooLarge);
    }
    let text = buf
        .get(..end)
        .and_then(|b| std::str::from_utf8(b).ok())
        .ok_or(WsError::Handshake("header block is not UTF-8"))?;
    Ok(Some((text, end + 4)))
}

/// Header (name, value) pairs of a header block after its first line.
fn fields(text: &str) -> impl Iterator<Item = (&str, &str)> {
    text.split("\r\n")
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim(), v.trim()))
}

/// True when some `name` field holds `token` in its comma-separated list.
fn has_token(text: &str, name: &str, token: &str) -> bool {
    fields(text)
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .flat_map(|(_, v)| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

fn field<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    fields(text)
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// Parses a client's opening handshake at the start of `buf` (RFC 6455 §4.2.1): a `GET`
/// with `Upgrade: websocket`, `Connection: Upgrade`, `Sec-WebSocket-Version: 13` and a
/// 16-byte base64 `Sec-WebSocket-Key`. Returns `Ok(None)` until the whole header block
/// has arrived, else the handshake and its length in `buf` (frames may follow).
///
/// # Errors
/// [`WsError::Handshake`], [`WsError::HandshakeTooLarge`].
pub fn parse_client_handshake(buf: &[u8]) -> Result<Option<(ClientHandshake, usize)>, WsError> {
    let Some((text, len)) = head(buf)? else {
        return Ok(None);
    };
    let first = text.split("\r\n").next().unwrap_or_default();
    let mut parts = first.split(' ');
    let (Some("GET"), Some(path), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(WsError::Handshake("not a GET request line"));
    };
    if !version.starts_with("HTTP/1.") || version == "HTTP/1.0" {
        return Err(WsError::Handshake("HTTP/1.1 or later required"));
    }
    if !has_token(text, "Upgrade", "websocket") {
        return Err(WsError::Handshake("no Upgrade: websocket"));
    }
    if !has_token(text, "Connection", "upgrade") {
        return Err(WsError::Handshake("no Connection: Upgrade"));
    }
    if field(text, "Sec-WebSocket-Version") != Some("13") {
        return Err(WsError::Handshake("Sec-WebSocket-Version is not 13"));
    }
    let key = field(text, "Sec-WebSocket-Key").ok_or(WsError::Handshake("no key"))?;
    // "a randomly selected 16-byte value that has been base64-encoded".
    match BASE64.decode(key) {
        Ok(raw) if raw.len() == 16 => {}
        _ => return Err(WsError::Handshake("key is not 16 bytes of base64")),
    }
    let protocols = fields(text)
        .filter(|(n, _)| n.eq_ignore_ascii_case("Sec-WebSocket-Protocol"))
        .flat_map(|(_, v)| v.split(','))
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .take(16)
        .collect();
    Ok(Some((
        ClientHandshake {
            path: path.to_owned(),
            host: field(text, "Host").map(str::to_owned),
            origin: field(text, "Origin").map(str::to_owned),
            key: key.to_owned(),
            protocols,
        },
        len,
    )))
}

/// A client's opening handshake (RFC 6455 §4.1) asking for `sip`, and the check of the
/// server's answer.
#[derive(Clone, Debug)]
pub struct ClientRequest {
    bytes: Vec<u8>,
    expected_accept: String,
}

impl ClientRequest {
    /// The request for `path` on `host` (`host[:port]`), with `nonce` (16 random bytes
    /// from the caller) as the key.
    pub fn new(host: &str, path: &str, nonce: [u8; 16]) -> Self {
        let key = BASE64.encode(nonce);
        let bytes = format!(
            "GET {path} HTTP/1.1\r\n\
             Host: {host}\r\n\
             Upgrade: websocket\r\n\
             Connection: Upgrade\r\n\
             Sec-WebSocket-Key: {key}\r\n\
             Sec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Protocol: {SIP_PROTOCOL}\r\n\r\n"
        )
        .into_bytes();
        Self {
            bytes,
            expected_accept: accept_key(&key),
        }
    }

    /// The bytes to send.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Checks the server's answer at the start of `buf` (RFC 6455 §4.1, RFC 7118 §4.1):
    /// `101`, `Upgrade: websocket`, `Connection: Upgrade`, our `Sec-WebSocket-Accept` and
    /// `Sec-WebSocket-Protocol: sip`. `Ok(None)` until the header block has arrived, else
    /// its length (frames may follow).
    ///
    /// # Errors
    /// [`WsError::Handshake`] (refused or wrong answer), [`WsError::HandshakeTooLarge`].
    pub fn parse_response(&self, buf: &[u8]) -> Result<Option<usize>, WsError> {
        let Some((text, len)) = head(buf)? else {
            return Ok(None);
        };
        let first = text.split("\r\n").next().unwrap_or_default();
        let mut parts = first.split(' ');
        let (Some(version), Some("101")) = (parts.next(), parts.next()) else {
            return Err(WsError::Handshake("server refused the upgrade"));
        };
        if !version.starts_with("HTTP/1.") {
            return Err(WsError::Handshake("not an HTTP/1.1 response"));
        }
        if !has_token(text, "Upgrade", "websocket") || !has_token(text, "Connection", "upgrade") {
            return Err(WsError::Handshake("101 without the websocket upgrade"));
        }
        if field(text, "Sec-WebSocket-Accept") != Some(self.expected_accept.as_str()) {
            return Err(WsError::Handshake("wrong Sec-WebSocket-Accept"));
        }
        if !field(text, "Sec-WebSocket-Protocol")
            .is_some_and(|p| p.eq_ignore_ascii_case(SIP_PROTOCOL))
        {
            return Err(WsError::Handshake(
                "server did not select the sip subprotocol",
            ));
        }
        Ok(Some(len))
    }
}

/// Which end of the connection a [`WsCodec`] is: clients mask what they send and receive
/// unmasked frames; servers the reverse (RFC 6455 §5.1).
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Role {
    /// We opened the connection.
    Client,
    /// We accepted it.
    Server,
}

/// What a [`WsCodec`] decoded.
#[derive(Clone, Debug, Eq, PartialEq)]
pub enum WsEvent {
    /// A whole data message (text or binary, fragments joined): one SIP message (RFC 7118
    /// §5).
    Message(Bytes),
    /// A ping: answer with [`WsCodec::encode_pong`] and the same payload.
    Ping(Bytes),
    /// A pong.
    Pong(Bytes),
    /// The peer closes: answer with [`WsCodec::encode_close`] and drop the connection.
    Close {
        /// The status code, when the frame had one.
        code: Option<u16>,
        /// The reason text.
        reason: String,
    },
}

const OP_CONTINUATION: u8 = 0;
const OP_TEXT: u8 = 1;
const OP_BINARY: u8 = 2;
const OP_CLOSE: u8 = 8;
const OP_PING: u8 = 9;
const OP_PONG: u8 = 10;

/// RFC 6455 framing for one connection. See the module docs.
#[derive(Debug)]
pub struct WsCodec {
    role: Role,
    max_message: usize,
    /// A fragmented data message in progress: is it text, and its bytes so far.
    partial: Option<(bool, BytesMut)>,
}

impl WsCodec {
    /// A codec for `role` accepting messages up to `max_message` bytes (use the SIP
    /// message limit, [`ParseLimits::max_message`](crate::msg::ParseLimits)).
    pub fn new(role: Role, max_message: usize) -> Self {
        Self {
            role,
            max_message,
            partial: None,
        }
    }

    /// The codec's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Decodes the next event from the front of `buf`, consuming the frames it used;
    /// `Ok(None)` when more bytes are needed. After an error the connection must be closed
    /// (with [`WsError::close_code`]).
    ///
    /// # Errors
    /// [`WsError::Protocol`], [`WsError::TooLarge`], [`WsError::InvalidUtf8`].
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<WsEvent>, WsError> {
        loop {
            let Some(frame) = self.frame(buf)? else {
                return Ok(None);
            };
            if let Some(event) = self.on_frame(frame)? {
                return Ok(Some(event));
            }
        }
    }

    /// Splits one whole frame off `buf`: (fin, opcode, unmasked payload).
    fn frame(&self, buf: &mut BytesMut) -> Result<Option<(bool, u8, BytesMut)>, WsError> {
        let &[b0, b1, ref rest @ ..] = &buf[..] else {
            return Ok(None);
        };
        let fin = b0 & 0x80 != 0;
        if b0 & 0x70 != 0 {
            // "MUST be 0 unless an extension is negotiated"; we negotiate none.
            return Err(WsError::Protocol("reserved bits set"));
        }
        let opcode = b0 & 0x0f;
        let masked = b1 & 0x80 != 0;
        match (self.role, masked) {
            (Role::Server, false) => {
                // §5.1: "The server MUST close the connection upon receiving a frame that is
                // not masked."
                return Err(WsError::Protocol("unmasked frame from a client"));
            }
            (Role::Client, true) => {
                return Err(WsError::Protocol("masked frame from a server"));
            }
            _ => {}
        }
        let (len, ext) = match b1 & 0x7f {
            126 => match rest {
                &[a, b, ..] => (u64::from(u16::from_be_bytes([a, b])), 2),
                _ => return Ok(None),
            },
            127 => match rest {
                &[a, b, c, d, e, f, g, h, ..] => {
                    let len = u64::from_be_bytes([a, b, c, d, e, f, g, h]);
                    if len >> 63 != 0 {
                        return Err(WsError::Protocol("64-bit length with the top bit set"));
                    }
                    (len, 8)
                }
                _ => return Ok(None),
            },
            n => (u64::from(n), 0),
        };
        let control = opcode >= 8;
        if control && (!fin || len > 125) {
            // §5.5: "All control frames MUST have a payload length of 125 bytes or less
            // and MUST NOT be fragmented."
            return Err(WsError::Protocol("fragmented or long control frame"));
        }
        if !control {
            let so_far = self.partial.as_ref().map_or(0, |(_, b)| b.len() as u64);
            let size = so_far.saturating_add(len);
            if size > self.max_message as u64 {
                return Err(WsError::TooLarge {
                    size,
                    max: self.max_message,
                });
            }
        }
        let mask_at = 2 + ext;
        let payload_at = mask_at + if masked { 4 } else { 0 };
        // `len` is at most `max_message` (or 125) here, so it fits a usize.
        let total = payload_at
            + usize::try_from(len).map_err(|_| WsError::TooLarge {
                size: len,
                max: self.max_message,
            })?;
        if buf.len() < total {
            return Ok(None);
        }
        let mut frame = buf.split_to(total);
        let mut payload = frame.split_off(payload_at);
        if masked {
            let key: [u8; 4] = frame
                .get(mask_at..payload_at)
                .and_then(|k| k.try_into().ok())
                .ok_or(WsError::Protocol("truncated masking key"))?;
            apply_mask(&mut payload, key);
        }
        Ok(Some((fin, opcode, payload)))
    }

    fn on_frame(
        &mut self,
        (fin, opcode, payload): (bool, u8, BytesMut),
    ) -> Result<Option<WsEvent>, WsError> {
        match opcode {
            OP_CONTINUATION => {
                let Some((_, so_far)) = self.partial.as_mut() else {
                    return Err(WsError::Protocol("continuation without a message"));
                };
                so_far.extend_from_slice(&payload);
                if !fin {
                    return Ok(None);
                }
                let Some((text, whole)) = self.partial.take() else {
                    return Ok(None);
                };
                finish(text, whole).map(Some)
            }
            OP_TEXT | OP_BINARY => {
                if self.partial.is_some() {
                    return Err(WsError::Protocol("new message inside a fragmented one"));
                }
                let text = opcode == OP_TEXT;
                if fin {
                    finish(text, payload).map(Some)
                } else {
                    self.partial = Some((text, payload));
                    Ok(None)
                }
            }
            OP_CLOSE => {
                let (code, reason) = match &payload[..] {
                    [] => (None, String::new()),
                    [_] => return Err(WsError::Protocol("close frame of one byte")),
                    [a, b, reason @ ..] => (
                        Some(u16::from_be_bytes([*a, *b])),
                        std::str::from_utf8(reason)
                            .map_err(|_| WsError::InvalidUtf8)?
                            .to_owned(),
                    ),
                };
                Ok(Some(WsEvent::Close { code, reason }))
            }
            OP_PING => Ok(Some(WsEvent::Ping(payload.freeze()))),
            OP_PONG => Ok(Some(WsEvent::Pong(payload.freeze()))),
            _ => Err(WsError::Protocol("unknown opcode")),
        }
    }

    /// Appends one SIP message as one frame (RFC 7118 §5): a text frame when it is UTF-8,
    /// binary otherwise; masked with `mask` when we are the client (the key must come from
    /// a strong random source, RFC 6455 §5.3), unmasked as a server (`mask` ignored).
    pub fn encode_message(&self, message: &[u8], mask: [u8; 4], out: &mut BytesMut) {
        let opcode = if std::str::from_utf8(message).is_ok() {
            OP_TEXT
        } else {
            OP_BINARY
        };
        self.encode(opcode, message, mask, out);
    }

    /// Appends the pong answering a ping's `payload` (at most 125 bytes are echoed).
    pub fn encode_pong(&self, payload: &[u8], mask: [u8; 4], out: &mut BytesMut) {
        let payload = payload.get(..payload.len().min(125)).unwrap_or_default();
        self.encode(OP_PONG, payload, mask, out);
    }

    /// Appends a close frame with `code` (1000 normal closure, or [`WsError::close_code`]).
    pub fn encode_close(&self, code: u16, mask: [u8; 4], out: &mut BytesMut) {
        self.encode(OP_CLOSE, &code.to_be_bytes(), mask, out);
    }

    fn encode(&self, opcode: u8, payload: &[u8], mask: [u8; 4], out: &mut BytesMut) {
        let masked = self.role == Role::Client;
        let mask_bit = if masked { 0x80 } else { 0 };
        out.reserve(payload.len() + 14);
        out.put_u8(0x80 | opcode);
        match payload.len() {
            n @ 0..=125 => out.put_u8(mask_bit | n as u8),
            n @ 126..=0xffff => {
                out.put_u8(mask_bit | 126);
                out.put_u16(n as u16);
            }
            n => {
                out.put_u8(mask_bit | 127);
                out.put_u64(n as u64);
            }
        }
        if masked {
            out.put_slice(&mask);
            let start = out.len();
            out.put_slice(payload);
            if let Some(tail) = out.get_mut(start..) {
                apply_mask(tail, mask);
            }
        } else {
            out.put_slice(payload);
        }
    }
}

fn finish(text: bool, whole: BytesMut) -> Result<WsEvent, WsError> {
    if text && std::str::from_utf8(&whole).is_err() {
        return Err(WsError::InvalidUtf8);
    }
    Ok(WsEvent::Message(whole.freeze()))
}

/// RFC 6455 §5.3: octet i is XORed with octet i mod 4 of the key.
fn apply_mask(data: &mut [u8], key: [u8; 4]) {
    for (b, k) in data.iter_mut().zip(key.iter().cycle()) {
        *b ^= k;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIP: &[u8] = b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 0\r\n\r\n";

    fn encoded(role: Role, msg: &[u8]) -> BytesMut {
        let mut out = BytesMut::new();
        WsCodec::new(role, 1 << 20).encode_message(msg, [1, 2, 3, 4], &mut out);
        out
    }

    #[test]
    fn accept_key_matches_rfc_6455_example() {
        // RFC 6455 §1.3.
        assert_eq!(
            accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn handshake_both_ways() {
        let req = ClientRequest::new("example.com:8080", "/sip", [7; 16]);
        let bytes = req.bytes().to_vec();
        // Incomplete: wait.
        assert_eq!(parse_client_handshake(&bytes[..bytes.len() - 2]), Ok(None));
        let (hs, len) = parse_client_handshake(&bytes).unwrap().unwrap();
        assert_eq!(len, bytes.len());
        assert_eq!(hs.path, "/sip");
        assert_eq!(hs.host.as_deref(), Some("example.com:8080"));
        assert!(hs.offers_sip());
        let mut answer = hs.accept_response().unwrap();
        let text = String::from_utf8(answer.clone()).unwrap();
        assert!(text.starts_with("HTTP/1.1 101 "));
        assert!(text.contains("Sec-WebSocket-Protocol: sip\r\n"));
        // A frame right behind the answer is left for the codec.
        answer.extend_from_slice(&encoded(Role::Server, SIP));
        let n = req.parse_response(&answer).unwrap().unwrap();
        assert_eq!(n, text.len());

        // Another key's accept value is refused.
        let other = ClientRequest::new("example.com", "/", [8; 16]);
        assert!(matches!(
            other.parse_response(&answer),
            Err(WsError::Handshake(_))
        ));
        assert!(matches!(
            req.parse_response(&reject_response(400, "no sip")),
            Err(WsError::Handshake(_))
        ));
    }

    #[test]
    fn handshake_refusals() {
        let base = "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n\
                    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";
        let ok = format!("{base}Sec-WebSocket-Protocol: chat, SIP\r\n\r\n");
        let (hs, _) = parse_client_handshake(ok.as_bytes()).unwrap().unwrap();
        assert_eq!(hs.protocols, vec!["chat", "SIP"]);
        assert!(hs.offers_sip());
        let no_sip = format!("{base}Sec-WebSocket-Protocol: chat\r\n\r\n");
        let (hs, _) = parse_client_handshake(no_sip.as_bytes()).unwrap().unwrap();
        assert!(hs.accept_response().is_err());
        for bad in [
            base.replace("GET", "POST") + "\r\n",
            base.replace("websocket", "h2c") + "\r\n",
            base.replace("13", "8") + "\r\n",
            base.replace("dGhlIHNhbXBsZSBub25jZQ==", "c2hvcnQ=") + "\r\n",
            base.replace("HTTP/1.1", "HTTP/1.0") + "\r\n",
        ] {
            assert!(
                matches!(
                    parse_client_handshake(bad.as_bytes()),
                    Err(WsError::Handshake(_))
                ),
                "{bad}"
            );
        }
        let huge = vec![b'a'; MAX_HANDSHAKE + 1];
        assert_eq!(
            parse_client_handshake(&huge),
            Err(WsError::HandshakeTooLarge)
        );
    }

    #[test]
    fn round_trip_every_length_class_and_byte_by_byte() {
        for len in [0usize, 1, 125, 126, 65_535, 65_536, 70_000] {
            let msg: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            for (from, to) in [(Role::Client, Role::Server), (Role::Server, Role::Client)] {
                let mut wire = encoded(from, &msg);
                let mut rx = WsCodec::new(to, 1 << 20);
                assert_eq!(
                    rx.decode(&mut wire),
                    Ok(Some(WsEvent::Message(Bytes::from(msg.clone()))))
                );
                assert!(wire.is_empty());
            }
        }
        // Fed one byte at a time: nothing until the last byte.
        let wire = encoded(Role::Client, SIP);
        let mut rx = WsCodec::new(Role::Server, 1 << 16);
        let mut buf = BytesMut::new();
        for (i, b) in wire.iter().enumerate() {
            buf.put_u8(*b);
            let got = rx.decode(&mut buf).unwrap();
            assert_eq!(got.is_some(), i == wire.len() - 1);
        }
        // Client frames are masked on the wire; server frames are not.
        assert_ne!(&encoded(Role::Client, SIP)[6..], SIP);
        assert_eq!(&encoded(Role::Server, SIP)[2..], SIP);
        // Non-UTF-8 goes as binary.
        assert_eq!(encoded(Role::Server, &[0xff, 0xfe])[0], 0x82);
        assert_eq!(encoded(Role::Server, SIP)[0], 0x81);
    }

    /// A frame as a client would send it (masked with a zero key for readability).
    fn raw(b0: u8, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![b0, 0x80 | payload.len() as u8, 0, 0, 0, 0];
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn fragments_join_and_control_frames_interleave() {
        let mut wire = BytesMut::new();
        wire.extend_from_slice(&raw(0x01, b"OPTIONS "));
        wire.extend_from_slice(&raw(0x89, b"hi"));
        wire.extend_from_slice(&raw(0x00, b"sip:a@b "));
        wire.extend_from_slice(&raw(0x80, b"SIP/2.0"));
        wire.extend_from_slice(&raw(0x88, &[0x03, 0xe8, b'b', b'y', b'e']));
        let mut rx = WsCodec::new(Role::Server, 1024);
        assert_eq!(
            rx.decode(&mut wire),
            Ok(Some(WsEvent::Ping(Bytes::from_static(b"hi"))))
        );
        assert_eq!(
            rx.decode(&mut wire),
            Ok(Some(WsEvent::Message(Bytes::from_static(
                b"OPTIONS sip:a@b SIP/2.0"
            ))))
        );
        assert_eq!(
            rx.decode(&mut wire),
            Ok(Some(WsEvent::Close {
                code: Some(1000),
                reason: String::from("bye")
            }))
        );
        assert_eq!(rx.decode(&mut wire), Ok(None));
        // A pong answers with the payload, unmasked from a server.
        let mut out = BytesMut::new();
        rx.encode_pong(b"hi", [9; 4], &mut out);
        assert_eq!(&out[..], &[0x8a, 2, b'h', b'i']);
        out.clear();
        rx.encode_close(1002, [9; 4], &mut out);
        assert_eq!(&out[..], &[0x88, 2, 0x03, 0xea]);
    }

    #[test]
    fn hostile_frames_are_refused() {
        let cases: Vec<(Role, Vec<u8>, WsError)> = vec![
            (
                Role::Server,
                vec![0x81, 0x03, b'a', b'b', b'c'],
                WsError::Protocol("unmasked frame from a client"),
            ),
            (
                Role::Client,
                raw(0x81, b"abc"),
                WsError::Protocol("masked frame from a server"),
            ),
            (
                Role::Server,
                raw(0xc1, b"abc"),
                WsError::Protocol("reserved bits set"),
            ),
            (
                Role::Server,
                raw(0x83, b"abc"),
                WsError::Protocol("unknown opcode"),
            ),
            (
                Role::Server,
                raw(0x09, b"x"),
                WsError::Protocol("fragmented or long control frame"),
            ),
            (
                Role::Server,
                raw(0x80, b"x"),
                WsError::Protocol("continuation without a message"),
            ),
            (
                Role::Server,
                raw(0x88, b"x"),
                WsError::Protocol("close frame of one byte"),
            ),
            (Role::Server, raw(0x81, &[0xc3, 0x28]), WsError::InvalidUtf8),
            (
                Role::Server,
                // 64-bit length with the top bit set.
                vec![0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1],
                WsError::Protocol("64-bit length with the top bit set"),
            ),
            (
                Role::Server,
                // Announces 2^40 bytes: refused before any is buffered.
                vec![0x82, 0xff, 0, 0, 1, 0, 0, 0, 0, 0],
                WsError::TooLarge {
                    size: 1 << 40,
                    max: 1024,
                },
            ),
        ];
        for (role, bytes, want) in cases {
            let mut rx = WsCodec::new(role, 1024);
            let mut buf = BytesMut::from(&bytes[..]);
            assert_eq!(rx.decode(&mut buf), Err(want.clone()), "{bytes:?}");
            assert!((1002..=1009).contains(&want.close_code()));
        }
        // A second message while one is fragmented.
        let mut rx = WsCodec::new(Role::Server, 1024);
        let mut buf = BytesMut::new();
        buf.extend_from_slice(&raw(0x01, b"a"));
        buf.extend_from_slice(&raw(0x01, b"b"));
        assert_eq!(
            rx.decode(&mut buf),
            Err(WsError::Protocol("new message inside a fragmented one"))
        );
        // Fragments adding up over the limit.
        let mut rx = WsCodec::new(Role::Server, 4);
        let mut buf = BytesMut::new();
        buf.extend_from_slice(&raw(0x01, b"abc"));
        buf.extend_from_slice(&raw(0x80, b"de"));
        assert_eq!(
            rx.decode(&mut buf),
            Err(WsError::TooLarge { size: 5, max: 4 })
        );
    }
}
