//! Call detail records (one JSON line per call) and webhook call events (JSON over a plain
//! HTTP/1.1 POST), how the PBX feeds CRMs and helpdesks.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::report::LegReport;

/// How a call was answered (or not).
#[derive(Clone, Copy, Debug, Eq, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AnswerCause {
    /// The callee answered.
    Answered,
    /// The callee was busy (486/600).
    Busy,
    /// Nobody answered before the ring timeout.
    NoAnswer,
    /// The caller cancelled before an answer.
    Cancelled,
    /// No such user or not registered (404/480).
    Unavailable,
    /// Authentication failed or the call was refused (401/403/407).
    Rejected,
    /// Any other failure (5xx, timeout, transport error).
    Failed,
}

/// Why an answered call ended.
#[derive(Clone, Copy, Debug, Eq, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EndCause {
    /// The caller sent BYE.
    CallerHangup,
    /// The callee sent BYE.
    CalleeHangup,
    /// The call was transferred away.
    Transferred,
    /// Media stopped arriving (RTP timeout).
    MediaTimeout,
    /// The PBX ended it (shutdown, limit).
    System,
    /// The call never got answered.
    NotAnswered,
}

/// One call record, written as a JSON line when the call ends.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CallRecord {
    /// SIP Call-ID of the caller's leg.
    pub call_id: String,
    /// Calling party (user part or URI).
    pub from: String,
    /// Dialled number.
    pub to: String,
    /// Where the call went (extension, ring group member, trunk name).
    pub destination: String,
    /// Unix time (s, with ms) the INVITE arrived.
    pub start: f64,
    /// Unix time of the answer.
    pub answer: Option<f64>,
    /// Unix time of the end.
    pub end: f64,
    /// Talk time in seconds (0 when not answered).
    pub duration_s: f64,
    /// How the call was answered.
    pub answer_cause: AnswerCause,
    /// Why it ended.
    pub end_cause: EndCause,
    /// SIP status of the final response to the caller.
    pub sip_status: u16,
    /// Negotiated codec, when answered.
    pub codec: Option<String>,
    /// Quality per media leg (from RTCP and the E-model), when media was relayed.
    pub legs: Vec<LegReport>,
    /// The call's recording (stereo WAV: caller left, callee right), when recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recording: Option<String>,
}

/// A call event posted to the webhook.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CallEvent<'a> {
    /// `call.ringing`, `call.answered`, `call.ended`.
    pub event: &'a str,
    /// The call's Call-ID.
    pub call_id: &'a str,
    /// Calling party.
    pub from: &'a str,
    /// Dialled number.
    pub to: &'a str,
    /// Unix time of the event.
    pub time: f64,
    /// The full record, on `call.ended`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<&'a CallRecord>,
}

/// Appends call records to a JSON-lines file.
#[derive(Debug)]
pub struct CdrWriter {
    path: PathBuf,
}

impl CdrWriter {
    /// A writer appending to `path` (created on first write).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// Where the records go.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one record as one line.
    ///
    /// # Errors
    /// I/O errors from opening or writing the file.
    pub fn write(&self, record: &CallRecord) -> std::io::Result<()> {
        let mut line = serde_json::to_string(record).map_err(std::io::Error::other)?;
        line.push('\n');
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        f.write_all(line.as_bytes())
    }
}

/// An error posting to the webhook.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// The URL is not `http://HOST:PORT/PATH` with a literal IP host.
    #[error("webhook url must be http://IP:PORT/PATH: {0}")]
    BadUrl(String),
    /// Connecting, writing or reading failed.
    #[error("webhook i/o: {0}")]
    Io(#[from] std::io::Error),
    /// No answer in time.
    #[error("webhook timed out")]
    Timeout,
    /// The answer was not an HTTP/1.x status line.
    #[error("webhook answered with a malformed status line")]
    BadResponse,
    /// The server answered with a non-2xx status.
    #[error("webhook answered {0}")]
    Status(u16),
}

/// A webhook endpoint (`http://IP:PORT/PATH`; plain HTTP/1.1, no TLS, no DNS).
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Webhook {
    addr: SocketAddr,
    host: String,
    path: String,
    timeout: Duration,
}

impl Webhook {
    /// Parses the URL.
    ///
    /// # Errors
    /// [`WebhookError::BadUrl`].
    pub fn parse(url: &str) -> Result<Self, WebhookError> {
        let bad = || WebhookError::BadUrl(url.to_owned());
        let rest = url.strip_prefix("http://").ok_or_else(bad)?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let addr: SocketAddr = authority.parse().map_err(|_| bad())?;
        if path.bytes().any(|b| b.is_ascii_control() || b == b' ') {
            return Err(bad());
        }
        Ok(Self {
            addr,
            host: authority.to_owned(),
            path: path.to_owned(),
            timeout: Duration::from_secs(3),
        })
    }

    /// Posts `body` (JSON) and returns the HTTP status.
    ///
    /// # Errors
    /// [`WebhookError`] on connection failure, timeout, a malformed answer or a non-2xx status.
    pub async fn post(&self, body: &str) -> Result<u16, WebhookError> {
        tokio::time::timeout(self.timeout, self.post_inner(body))
            .await
            .map_err(|_| WebhookError::Timeout)?
    }

    async fn post_inner(&self, body: &str) -> Result<u16, WebhookError> {
        let mut s = TcpStream::connect(self.addr).await?;
        let head = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: telox-pbx\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            self.path,
            self.host,
            body.len()
        );
        s.write_all(head.as_bytes()).await?;
        s.write_all(body.as_bytes()).await?;
        s.flush().await?;
        // Only the status line matters; read at most 1 KiB of it.
        let mut buf = [0u8; 1024];
        let mut n = 0;
        while n < buf.len() {
            let Some(dst) = buf.get_mut(n..) else { break };
            let got = s.read(dst).await?;
            if got == 0 {
                break;
            }
            n += got;
            if buf.get(..n).is_some_and(|b| b.contains(&b'\n')) {
                break;
            }
        }
        let status =
            parse_status_line(buf.get(..n).unwrap_or_default()).ok_or(WebhookError::BadResponse)?;
        if (200..300).contains(&status) {
            Ok(status)
        } else {
            Err(WebhookError::Status(status))
        }
    }
}

fn parse_status_line(buf: &[u8]) -> Option<u16> {
    let line = buf.split(|&b| b == b'\n').next()?;
    let text = std::str::from_utf8(line).ok()?;
    let mut parts = text.split_ascii_whitespace();
    if !parts.next()?.starts_with("HTTP/1.") {
        return None;
    }
    let code = parts.next()?;
    if code.len() != 3 {
        return None;
    }
    code.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> CallRecord {
        CallRecord {
            call_id: "abc@host".into(),
            from: "1000".into(),
            to: "1001".into(),
            destination: "1001".into(),
            start: 1000.0,
            answer: Some(1002.5),
            end: 1010.5,
            duration_s: 8.0,
            answer_cause: AnswerCause::Answered,
            end_cause: EndCause::CallerHangup,
            sip_status: 200,
            codec: Some("PCMU/8000".into()),
            legs: vec![],
            recording: None,
        }
    }

    #[test]
    fn cdr_lines_are_json() {
        let dir = std::env::temp_dir().join(format!("telox-cdr-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let w = CdrWriter::new(dir.join("cdr.jsonl"));
        w.write(&record()).unwrap();
        w.write(&CallRecord {
            answer_cause: AnswerCause::NoAnswer,
            ..record()
        })
        .unwrap();
        let text = std::fs::read_to_string(w.path()).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["answer_cause"], "answered");
        assert_eq!(lines[0]["end_cause"], "caller-hangup");
        assert_eq!(lines[1]["answer_cause"], "no-answer");
        assert_eq!(lines[0]["duration_s"], 8.0);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn webhook_urls() {
        let w = Webhook::parse("http://127.0.0.1:8080/hooks/call").unwrap();
        assert_eq!(w.path, "/hooks/call");
        assert_eq!(Webhook::parse("http://127.0.0.1:80").unwrap().path, "/");
        for bad in [
            "https://1.2.3.4:1/",
            "http://example.com/x",
            "http://1.2.3.4:1/a b",
            "x",
        ] {
            assert!(Webhook::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn status_lines() {
        assert_eq!(parse_status_line(b"HTTP/1.1 204 No Content\r\n"), Some(204));
        assert_eq!(parse_status_line(b"HTTP/1.0 500 x\r\n"), Some(500));
        assert_eq!(parse_status_line(b"SIP/2.0 200 OK\r\n"), None);
        assert_eq!(parse_status_line(b"HTTP/1.1 20000 OK"), None);
        assert_eq!(parse_status_line(b""), None);
    }

    #[tokio::test]
    async fn webhook_posts_json_to_a_server() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut got = Vec::new();
            let mut buf = [0u8; 4096];
            loop {
                let n = s.read(&mut buf).await.unwrap();
                got.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&got);
                if let Some(i) = text.find("\r\n\r\n") {
                    let len: usize = text
                        .lines()
                        .find_map(|l| l.strip_prefix("Content-Length: "))
                        .unwrap()
                        .parse()
                        .unwrap();
                    if got.len() >= i + 4 + len {
                        break;
                    }
                }
            }
            s.write_all(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")
                .await
                .unwrap();
            String::from_utf8(got).unwrap()
        });
        let hook = Webhook::parse(&format!("http://{addr}/events")).unwrap();
        let rec = record();
        let ev = CallEvent {
            event: "call.ended",
            call_id: "abc@host",
            from: "1000",
            to: "1001",
            time: 1010.5,
            record: Some(&rec),
        };
        let status = hook
            .post(&serde_json::to_string(&ev).unwrap())
            .await
            .unwrap();
        assert_eq!(status, 202);
        let req = server.await.unwrap();
        assert!(req.starts_with("POST /events HTTP/1.1\r\n"));
        let body = &req[req.find("\r\n\r\n").unwrap() + 4..];
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["event"], "call.ended");
        assert_eq!(v["record"]["sip_status"], 200);
    }

    #[tokio::test]
    async fn webhook_errors_are_typed() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf).await;
            s.write_all(b"HTTP/1.1 500 Oops\r\n\r\n").await.unwrap();
        });
        let hook = Webhook::parse(&format!("http://{addr}/")).unwrap();
        assert!(matches!(
            hook.post("{}").await,
            Err(WebhookError::Status(500))
        ));
    }
}
