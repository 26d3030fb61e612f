//! Stream framing for TCP/TLS/WebSocket-less streams (RFC 3261 §18.3, RFC 5626 §4.4.1).
//!
//! Sans-IO: feed received bytes into a `BytesMut`, call [`Framer::decode`] until it returns
//! `Ok(None)`, parse each frame with [`Message::parse_stream`](crate::Message::parse_stream).

use bytes::{Buf, Bytes, BytesMut};

use crate::error::{FrameError, Limit};
use crate::header::HeaderName;
use crate::msg::ParseLimits;
use crate::msg::scan::{self, find_byte};

/// Cuts complete SIP messages out of a byte stream by Content-Length.
///
/// RFC 3261 §18.3: "In the case of stream-oriented transports such as TCP, the Content-Length
/// header field indicates the size of the body. All implementations MUST accept the
/// Content-Length header field in messages sent over stream transports", so a message without
/// it is an error ([`FrameError::MissingContentLength`]) and the stream must be closed, as
/// after every error (the framing is lost).
///
/// Keep-alives between messages (RFC 5626 §4.4.1) are consumed: a double CRLF is a ping
/// ([`Framer::take_ping`], answer with a single CRLF), a single CRLF a pong
/// ([`Framer::take_pong`]). A ping split between two reads counts as two pongs.
///
/// Work is linear in the input: bytes already searched for the end of the header section
/// are not searched again.
#[derive(Clone, Debug, Default)]
pub struct Framer {
    limits: ParseLimits,
    /// Bytes of the current head already searched for the empty line.
    scanned: usize,
    /// Total length of the current message once its head is complete.
    pending: Option<usize>,
    pings: usize,
    pongs: usize,
}

impl Framer {
    /// A framer with the given limits (`max_message` bounds each message, `max_body` the
    /// body).
    pub fn new(limits: ParseLimits) -> Self {
        Self {
            limits,
            ..Self::default()
        }
    }

    /// Takes the next complete message off the front of `buf`; `Ok(None)` when more bytes are
    /// needed.
    ///
    /// # Errors
    /// [`FrameError`]; the stream cannot be resynchronized afterwards and should be closed.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
        if self.pending.is_none() && self.scanned == 0 {
            self.skip_keepalives(buf);
            if buf.as_ref() == b"\r" {
                return Ok(None);
            }
        }
        let total = match self.pending {
            Some(t) => t,
            None => {
                let Some(head_end) = self.find_head_end(buf) else {
                    if buf.len() > self.limits.max_message {
                        return Err(FrameError::TooLarge {
                            limit: Limit::Message,
                            max: self.limits.max_message,
                        });
                    }
                    return Ok(None);
                };
                let cl = content_length(buf.get(..head_end).unwrap_or_default())?;
                if cl > self.limits.max_body {
                    return Err(FrameError::TooLarge {
                        limit: Limit::Body,
                        max: self.limits.max_body,
                    });
                }
                let total = head_end + cl;
                if total > self.limits.max_message {
                    return Err(FrameError::TooLarge {
                        limit: Limit::Message,
                        max: self.limits.max_message,
                    });
                }
                self.pending = Some(total);
                total
            }
        };
        if buf.len() < total {
            return Ok(None);
        }
        self.pending = None;
        self.scanned = 0;
        Ok(Some(buf.split_to(total).freeze()))
    }

    /// Whether a keep-alive ping (CRLFCRLF) arrived since the last call; each ping is
    /// reported once.
    pub fn take_ping(&mut self) -> bool {
        let had = self.pings > 0;
        self.pings = self.pings.saturating_sub(1);
        had
    }

    /// Whether a keep-alive pong (CRLF) arrived since the last call.
    pub fn take_pong(&mut self) -> bool {
        let had = self.pongs > 0;
        self.pongs = self.pongs.saturating_sub(1);
        had
    }

    fn skip_keepalives(&mut self, buf: &mut BytesMut) {
        loop {
            if buf.starts_with(b"\r\n\r\n") {
                self.pings += 1;
                buf.advance(4);
            } else if buf.starts_with(b"\r\n") {
                self.pongs += 1;
                buf.advance(2);
            } else if buf.starts_with(b"\n") {
                // a bare LF between messages: tolerated as a pong
                self.pongs += 1;
                buf.advance(1);
            } else {
                break;
            }
        }
    }

    /// Offset just past the empty line ending the header section.
    fn find_head_end(&mut self, buf: &[u8]) -> Option<usize> {
        let mut pos = self.scanned;
        while let Some(off) = find_byte(buf.get(pos..).unwrap_or_default(), b'\n') {
            let lf = pos + off;
            match buf.get(lf + 1) {
                Some(b'\n') => return Some(lf + 2),
                Some(b'\r') => match buf.get(lf + 2) {
                    Some(b'\n') => return Some(lf + 3),
                    Some(_) => pos = lf + 1,
                    None => {
                        self.scanned = lf;
                        return None;
                    }
                },
                Some(_) => pos = lf + 1,
                None => {
                    self.scanned = lf;
                    return None;
                }
            }
        }
        self.scanned = buf.len();
        None
    }
}

/// Reads Content-Length (or `l`) from a complete header section.
fn content_length(head: &[u8]) -> Result<usize, FrameError> {
    let mut found: Option<usize> = None;
    for line in head.split(|&c| c == b'\n').skip(1) {
        let Some(colon) = line.iter().position(|&c| c == b':') else {
            continue;
        };
        let name = scan::trim_lws(line.get(..colon).unwrap_or_default());
        if HeaderName::from_bytes(name) != Some(HeaderName::ContentLength) {
            continue;
        }
        let value = scan::trim_lws(line.get(colon + 1..).unwrap_or_default());
        let n = scan::parse_u64(value, 10)
            .and_then(|n| usize::try_from(n).ok())
            .ok_or(FrameError::BadContentLength)?;
        if found.is_some_and(|f| f != n) {
            return Err(FrameError::BadContentLength);
        }
        found = Some(n);
    }
    found.ok_or(FrameError::MissingContentLength)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &[u8] = b"OPTIONS sip:a@b SIP/2.0\r\nl: 4\r\nCall-ID: x\r\n\r\nbody";

    #[test]
    fn frames_byte_by_byte_with_keepalives() {
        let mut stream = Vec::new();
        stream.extend_from_slice(b"\r\n\r\n");
        stream.extend_from_slice(MSG);
        stream.extend_from_slice(b"\r\n");
        stream.extend_from_slice(MSG);
        let mut f = Framer::default();
        let mut buf = BytesMut::new();
        let mut frames = Vec::new();
        // the ping arrives in one read, the rest byte by byte
        for chunk in std::iter::once(&stream[..4]).chain(stream[4..].chunks(1)) {
            buf.extend_from_slice(chunk);
            while let Some(m) = f.decode(&mut buf).unwrap() {
                frames.push(m);
            }
        }
        assert_eq!(
            frames,
            vec![Bytes::from_static(MSG), Bytes::from_static(MSG)]
        );
        assert!(f.take_ping());
        assert!(!f.take_ping());
        assert!(f.take_pong());
        assert!(buf.is_empty());
    }

    #[test]
    fn errors() {
        let mut f = Framer::default();
        let mut buf = BytesMut::from(&b"OPTIONS sip:a@b SIP/2.0\r\nCall-ID: x\r\n\r\n"[..]);
        assert_eq!(f.decode(&mut buf), Err(FrameError::MissingContentLength));
        let mut f = Framer::default();
        let mut buf =
            BytesMut::from(&b"A sip:a@b SIP/2.0\r\nl: 1\r\nContent-Length: 2\r\n\r\n"[..]);
        assert_eq!(f.decode(&mut buf), Err(FrameError::BadContentLength));
        let mut f = Framer::new(ParseLimits {
            max_message: 10,
            ..ParseLimits::default()
        });
        let mut buf = BytesMut::from(&b"OPTIONS sip:a@b SIP/2.0\r\n"[..]);
        assert!(matches!(
            f.decode(&mut buf),
            Err(FrameError::TooLarge { .. })
        ));
    }
}
