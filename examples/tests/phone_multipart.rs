//! The phone and bodies that are not SDP alone (RFC 5621): a SIP-I carrier's INVITE whose
//! multipart body holds only the ISUP IAM (no SDP) is a late offer, so the phone offers in
//! its 200 and takes the answer from the ACK, here a multipart ACK (ISUP + SDP); the same
//! for an in-dialog re-INVITE with a PIDF-LO part alone. A raw UDP socket on loopback plays
//! the carrier.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    reason = "test code"
)]

mod phone_support;

use std::net::SocketAddr;

use bytes::Bytes;
use phone_support::{WAIT, auto_answer, wait};
use rand::SeedableRng;
use sip_core::transaction::Transport;
use sip_core::{Message, Response};
use telox_examples::phone::PhoneEvent;
use tokio::net::UdpSocket;

/// A request from the carrier at `me` to the phone at `to`, with `body` of `content_type`.
#[allow(clippy::too_many_arguments, reason = "a message template")]
fn request(
    method: &str,
    ruri: &str,
    me: SocketAddr,
    to_tag: &str,
    cseq: u32,
    branch: &str,
    content_type: &str,
    body: &str,
) -> String {
    format!(
        "{method} {ruri} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bK{branch};rport\r\n\
         Max-Forwards: 70\r\nFrom: <sip:carrier@{me}>;tag=c1\r\nTo: <sip:bob@127.0.0.1>{to_tag}\r\n\
         Call-ID: sip-i-1@test\r\nCSeq: {cseq} {cseq_method}\r\nContact: <sip:carrier@{me}>\r\n\
         Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len(),
        cseq_method = method,
    )
}

/// The next final response to `method` the socket receives (provisionals skipped), and the
/// methods of the requests that came before it.
async fn final_response(sock: &UdpSocket, method: &str) -> (Response, Vec<String>) {
    let mut buf = vec![0u8; 65_536];
    let mut requests = Vec::new();
    loop {
        let (n, _) = tokio::time::timeout(WAIT, sock.recv_from(&mut buf))
            .await
            .expect("a response in time")
            .unwrap();
        let r = match Message::parse(Bytes::copy_from_slice(&buf[..n])) {
            Ok(Message::Response(r)) => r,
            Ok(Message::Request(q)) => {
                requests.push(q.method().to_string());
                continue;
            }
            Err(_) => continue,
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

fn header(r: &Response, name: &str) -> String {
    r.headers()
        .named_str(name)
        .next()
        .and_then(|h| h.value_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The carrier's answer to the phone's offer in `ok`, with our media port `port`.
fn answer_to(ok: &Response, port: u16, rng: &mut rand_chacha::ChaCha8Rng) -> String {
    let offer = telox_examples::media::parse_body_sdp(ok.headers()).expect("an SDP offer");
    let caps =
        telox_examples::media::audio_capabilities(port, &["PCMU"], sdp::SrtpPolicy::Optional);
    let mut oa = sdp::OfferAnswer::new(
        sdp::SessionConfig::new("127.0.0.1".parse().unwrap(), caps),
        rng,
    );
    oa.handle_offer(&offer, rng)
        .expect("the phone's offer takes PCMU")
        .to_bytes()
        .iter()
        .map(|&b| char::from(b))
        .collect()
}

const ISUP_ONLY: &str = "--isup1\r\nContent-Type: application/isup;version=itu-t92+\r\n\
                         Content-Disposition: signal;handling=optional\r\n\r\nIAM\r\n--isup1--\r\n";
const PIDF_ONLY: &str = "--loc1\r\nContent-Type: application/pidf+xml\r\nContent-ID: <loc@test>\r\n\r\n\
                         <presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"pres:a@test\"/>\r\n\
                         --loc1--\r\n";

fn with_isup(sdp: &str) -> String {
    format!(
        "--b2\r\nContent-Type: application/isup;version=itu-t92+\r\n\r\nACM\r\n--b2\r\n\
         Content-Type: application/sdp\r\n\r\n{sdp}\r\n--b2--\r\n"
    )
}

#[tokio::test(flavor = "current_thread")]
async fn body_without_sdp_is_a_late_offer_and_the_multipart_ack_answers() {
    let mut bob = phone_support::start(auto_answer("bob", Transport::Udp, 21)).await;
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let me = sock.local_addr().unwrap();
    let ruri = format!("sip:bob@{}", bob.addr);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let invite = request(
        "INVITE",
        &ruri,
        me,
        "",
        1,
        "i1",
        "multipart/mixed;boundary=isup1",
        ISUP_ONLY,
    );
    sock.send_to(invite.as_bytes(), bob.addr).await.unwrap();
    let (ok, _) = final_response(&sock, "INVITE").await;
    assert_eq!(
        ok.status().as_u16(),
        200,
        "an INVITE without SDP is no bad offer"
    );
    assert!(header(&ok, "Content-Type").starts_with("application/sdp"));
    let to = header(&ok, "To");
    let to_tag = &to[to.find(">").map_or(to.len(), |i| i + 1)..];
    assert!(to_tag.contains("tag="), "{to}");
    let answer = with_isup(&answer_to(&ok, 40_000, &mut rng));
    let ack = request(
        "ACK",
        &ruri,
        me,
        to_tag,
        1,
        "a1",
        "multipart/mixed;boundary=b2",
        &answer,
    );
    sock.send_to(ack.as_bytes(), bob.addr).await.unwrap();
    let codec = wait("bob", &mut bob.events, |e| match e {
        PhoneEvent::Answered { codec, .. } => Some(codec.clone()),
        PhoneEvent::Ended { .. } => Some("ended".into()),
        _ => None,
    })
    .await
    .unwrap();
    assert_eq!(
        codec, "PCMU/8000",
        "the answer in the multipart ACK is taken"
    );

    // An in-dialog re-INVITE with a location (PIDF-LO) alone: again no offer, so the phone
    // offers in its 200 and the answer comes in the ACK.
    let reinvite = request(
        "INVITE",
        &ruri,
        me,
        to_tag,
        2,
        "i2",
        "multipart/mixed;boundary=loc1",
        PIDF_ONLY,
    );
    sock.send_to(reinvite.as_bytes(), bob.addr).await.unwrap();
    let (ok2, _) = final_response(&sock, "INVITE").await;
    assert_eq!(
        ok2.status().as_u16(),
        200,
        "a re-INVITE without SDP is no bad offer"
    );
    assert!(header(&ok2, "Content-Type").starts_with("application/sdp"));
    let answer = with_isup(&answer_to(&ok2, 40_002, &mut rng));
    let ack2 = request(
        "ACK",
        &ruri,
        me,
        to_tag,
        2,
        "a2",
        "multipart/mixed;boundary=b2",
        &answer,
    );
    sock.send_to(ack2.as_bytes(), bob.addr).await.unwrap();
    // The phone follows the answer (no BYE for an unusable one); then we hang up.
    let bye = request("BYE", &ruri, me, to_tag, 3, "b3", "text/plain", "");
    sock.send_to(bye.as_bytes(), bob.addr).await.unwrap();
    let (ok3, before) = final_response(&sock, "BYE").await;
    assert_eq!(ok3.status().as_u16(), 200);
    assert!(
        !before.iter().any(|m| m == "BYE"),
        "the phone hung up on the re-INVITE's answer: {before:?}"
    );
    let ended = bob.ended().await.unwrap();
    assert!(!ended.1, "not a transfer");
    bob.quit().await;
}
