//! Shared by the tests that play a SIP peer by hand on a raw UDP socket: request text from a
//! template, the final responses it gets back, and SDP for the phone's offers and answers.

#![allow(dead_code, reason = "each test binary uses part of the helpers")]

use std::net::SocketAddr;

use bytes::Bytes;
use rand::SeedableRng;
use sip_core::{Message, Method, Request, Response};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use crate::phone_support::WAIT;

/// A request of the dialog `sip-i-1@test` from `me` (From tag `c1`) to the phone's `ruri`.
pub(crate) struct Req<'a> {
    pub(crate) method: &'a str,
    pub(crate) ruri: &'a str,
    pub(crate) me: SocketAddr,
    /// `;tag=...` once the phone answered, else empty.
    pub(crate) to_tag: &'a str,
    pub(crate) cseq: u32,
    pub(crate) branch: &'a str,
    /// The Contact URI (`sip:carrier@<me>` when empty).
    pub(crate) contact: &'a str,
    pub(crate) content_type: &'a str,
    pub(crate) body: &'a str,
}

impl<'a> Req<'a> {
    /// An INVITE from `me` (no To tag yet, CSeq 1, Contact at `me`) with SDP `offer`.
    pub(crate) fn invite(ruri: &'a str, me: SocketAddr, branch: &'a str, offer: &'a str) -> Self {
        Self {
            method: "INVITE",
            ruri,
            me,
            to_tag: "",
            cseq: 1,
            branch,
            contact: "",
            content_type: "application/sdp",
            body: offer,
        }
    }

    /// The request's text.
    pub(crate) fn text(&self) -> String {
        let (method, me, body) = (self.method, self.me, self.body);
        let contact = if self.contact.is_empty() {
            format!("sip:carrier@{me}")
        } else {
            self.contact.to_owned()
        };
        format!(
            "{method} {} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bK{};rport\r\n\
             Max-Forwards: 70\r\nFrom: <sip:carrier@{me}>;tag=c1\r\n\
             To: <sip:bob@127.0.0.1>{}\r\nCall-ID: sip-i-1@test\r\nCSeq: {} {method}\r\n\
             Contact: <{contact}>\r\nContent-Type: {}\r\nContent-Length: {}\r\n\r\n{body}",
            self.ruri,
            self.branch,
            self.to_tag,
            self.cseq,
            self.content_type,
            body.len(),
        )
    }

    /// Sends it from `sock` to `to`.
    pub(crate) async fn send(&self, sock: &UdpSocket, to: SocketAddr) {
        sock.send_to(self.text().as_bytes(), to).await.unwrap();
    }
}

/// The next final response to `method` the socket receives (provisionals skipped), and the
/// methods of the requests that came before it.
pub(crate) async fn final_response(sock: &UdpSocket, method: &str) -> (Response, Vec<String>) {
    let mut requests = Vec::new();
    loop {
        let r = match next_message(sock).await {
            Message::Response(r) => r,
            Message::Request(q) => {
                requests.push(q.method().to_string());
                continue;
            }
        };
        let cseq = r.headers().named_str("CSeq").next();
        let of_method = cseq
            .and_then(|h| h.value_str().map(|v| v.ends_with(method)))
            .unwrap_or(false);
        if of_method && r.status().as_u16() >= 200 {
            return (r, requests);
        }
    }
}

/// The next request the socket receives (responses skipped).
pub(crate) async fn next_request(sock: &UdpSocket) -> Request {
    loop {
        if let Message::Request(q) = next_message(sock).await {
            return q;
        }
    }
}

/// The next SIP message the socket receives (within [`WAIT`]).
async fn next_message(sock: &UdpSocket) -> Message {
    let mut buf = vec![0u8; 65_536];
    loop {
        let (n, _) = tokio::time::timeout(WAIT, sock.recv_from(&mut buf))
            .await
            .expect("a SIP message in time")
            .unwrap();
        if let Ok(m) = Message::parse(Bytes::copy_from_slice(&buf[..n])) {
            return m;
        }
    }
}

/// The value of header `name` in `r` (empty when absent).
pub(crate) fn header(r: &Response, name: &str) -> String {
    r.headers()
        .named_str(name)
        .next()
        .and_then(|h| h.value_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The `;tag=...` of the To header of `r`.
pub(crate) fn to_tag(r: &Response) -> String {
    let to = header(r, "To");
    to[to.find('>').map_or(to.len(), |i| i + 1)..].to_owned()
}

/// A PCMU-only offer/answer engine for media at `port` on loopback.
pub(crate) fn pcmu_oa(port: u16, rng: &mut rand_chacha::ChaCha8Rng) -> sdp::OfferAnswer {
    let caps =
        telox_examples::media::audio_capabilities(port, &["PCMU"], sdp::SrtpPolicy::Optional);
    sdp::OfferAnswer::new(
        sdp::SessionConfig::new("127.0.0.1".parse().unwrap(), caps),
        rng,
    )
}

/// A PCMU offer for media at `port`.
pub(crate) fn pcmu_offer(port: u16, seed: u64) -> String {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let offer = pcmu_oa(port, &mut rng).create_offer(&mut rng).unwrap();
    String::from_utf8(offer.to_bytes().to_vec()).unwrap()
}

/// The answer to the phone's offer in `ok`, for media at `port`.
pub(crate) fn answer_to(ok: &Response, port: u16, rng: &mut rand_chacha::ChaCha8Rng) -> String {
    let offer = telox_examples::media::parse_body_sdp(ok.headers()).expect("an SDP offer");
    let answer = pcmu_oa(port, rng)
        .handle_offer(&offer, rng)
        .expect("the phone's offer takes PCMU");
    String::from_utf8(answer.to_bytes().to_vec()).unwrap()
}

/// The next request at `sock`, an INVITE (sent from `to`), answered as a carrier would:
/// 200 with a PCMU answer for media at `port` and `contact` as the Contact (the call's
/// remote target).
pub(crate) async fn answer_next_invite(sock: &UdpSocket, to: SocketAddr, contact: &str, port: u16) {
    let invite = next_request(sock).await;
    assert_eq!(*invite.method(), Method::Invite);
    answer_invite(sock, to, &invite, contact, port).await;
}

/// Answers `invite` (sent from `to`) with 200 and a PCMU answer for media at `port`, with
/// `contact` as the Contact.
pub(crate) async fn answer_invite(
    sock: &UdpSocket,
    to: SocketAddr,
    invite: &Request,
    contact: &str,
    port: u16,
) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(u64::from(port));
    let offer = telox_examples::media::parse_body_sdp(invite.headers()).expect("an SDP offer");
    let answer = pcmu_oa(port, &mut rng)
        .handle_offer(&offer, &mut rng)
        .expect("the offer takes PCMU");
    let body = String::from_utf8(answer.to_bytes().to_vec()).unwrap();
    let head = format!("Contact: <{contact}>\r\nContent-Type: application/sdp\r\n");
    respond(sock, to, invite, "200 OK", &head, &body).await;
}

/// Answers `request` (sent from `to`) with `status` (`"183 Session Progress"`), the To tag
/// `t1`, the header lines `extra` (each ending in CRLF) and `body`.
pub(crate) async fn respond(
    sock: &UdpSocket,
    to: SocketAddr,
    request: &Request,
    status: &str,
    extra: &str,
    body: &str,
) {
    let mut head = format!("SIP/2.0 {status}\r\n");
    for name in ["Via", "From", "To", "Call-ID", "CSeq"] {
        for h in request.headers().named_str(name) {
            let value = h.value_str().unwrap_or_default();
            let tag = if name == "To" { ";tag=t1" } else { "" };
            head.push_str(&format!("{name}: {value}{tag}\r\n"));
        }
    }
    let text = format!("{head}{extra}Content-Length: {}\r\n\r\n{body}", body.len());
    sock.send_to(text.as_bytes(), to).await.unwrap();
}

/// A socket on loopback for a call's later requests, and a Contact that names it by host
/// (`sip:carrier@host.<domain>:PORT`, the A record of the tests' nameserver).
pub(crate) async fn target_by_name(domain: &str) -> (UdpSocket, String) {
    let target = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = target.local_addr().unwrap().port();
    (target, format!("sip:carrier@host.{domain}:{port}"))
}

/// The next line of `log` (each within [`WAIT`]) that starts with `prefix`.
pub(crate) async fn log_line(log: &mut mpsc::Receiver<String>, prefix: &str) -> String {
    loop {
        let l = tokio::time::timeout(WAIT, log.recv())
            .await
            .unwrap_or_else(|_| panic!("no line '{prefix}...' in time"))
            .unwrap();
        if l.starts_with(prefix) {
            return l;
        }
    }
}

/// Waits for a BYE at `target` and checks that its Request-URI is the dialog's remote
/// target `contact`.
pub(crate) async fn bye_at(target: &UdpSocket, contact: &str) {
    let bye = next_request(target).await;
    assert_eq!(*bye.method(), Method::Bye);
    assert_eq!(
        bye.uri_str(),
        contact,
        "the remote target is the Request-URI"
    );
}
