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
mod sip_peer;

use phone_support::{auto_answer, wait};
use rand::SeedableRng;
use sip_core::transaction::Transport;
use sip_peer::{Req, answer_to, final_response, header, to_tag};
use telox_examples::phone::PhoneEvent;
use tokio::net::UdpSocket;

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
    let req = |method, to_tag, cseq, branch, content_type, body| Req {
        method,
        ruri: &ruri,
        me,
        to_tag,
        cseq,
        branch,
        contact: "",
        content_type,
        body,
    };
    let isup = "multipart/mixed;boundary=isup1";
    req("INVITE", "", 1, "i1", isup, ISUP_ONLY)
        .send(&sock, bob.addr)
        .await;
    let (ok, _) = final_response(&sock, "INVITE").await;
    assert_eq!(
        ok.status().as_u16(),
        200,
        "an INVITE without SDP is no bad offer"
    );
    assert!(header(&ok, "Content-Type").starts_with("application/sdp"));
    let to_tag = to_tag(&ok);
    assert!(to_tag.contains("tag="), "{to_tag}");
    let answer = with_isup(&answer_to(&ok, 40_000, &mut rng));
    let mixed = "multipart/mixed;boundary=b2";
    req("ACK", &to_tag, 1, "a1", mixed, &answer)
        .send(&sock, bob.addr)
        .await;
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
    let pidf = "multipart/mixed;boundary=loc1";
    req("INVITE", &to_tag, 2, "i2", pidf, PIDF_ONLY)
        .send(&sock, bob.addr)
        .await;
    let (ok2, _) = final_response(&sock, "INVITE").await;
    assert_eq!(
        ok2.status().as_u16(),
        200,
        "a re-INVITE without SDP is no bad offer"
    );
    assert!(header(&ok2, "Content-Type").starts_with("application/sdp"));
    let answer = with_isup(&answer_to(&ok2, 40_002, &mut rng));
    req("ACK", &to_tag, 2, "a2", mixed, &answer)
        .send(&sock, bob.addr)
        .await;
    // The phone follows the answer (no BYE for an unusable one); then we hang up.
    req("BYE", &to_tag, 3, "b3", "text/plain", "")
        .send(&sock, bob.addr)
        .await;
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
