//! A PBX trunk named by a SIP URI (RFC 3263): an in-process nameserver on loopback serves
//! the SRV and A records of `carrier.test` with a TTL of 1 s, and hand-driven "carrier"
//! sockets answer. The REGISTER and the INVITE both meet a 503 at the first SRV target and
//! go to the second (RFC 3263 §4.3), with `carrier.test` in their URIs; after the records
//! change and their TTL runs out, the next call is located again and reaches the carrier
//! the new record names, without a restart. And a carrier whose Contact is a host name gets
//! the call's PRACKs, BYE and re-INVITEs at the address that name has: when it answers a
//! call, when it calls in, when it takes a call over with Replaces, and in the early dialog
//! of a reliable provisional response.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers fail the test on setup errors"
)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sip_core::Method;
use sip_core::transaction::Transport;
use telox_examples::config::{OutboundRoute, PbxConfig, Trunk};
use telox_examples::phone::{Command, PhoneEvent};
use telox_examples::trunk::ServerAddress;
use tokio::sync::mpsc;

use dns_support::{Seen, Srv, nameserver, sip_server};
use phone_support::{any_port, auto_answer, config, registered, start_pbx, wait};
use sip_peer::{
    Req, answer_next_invite, bye_at, final_response, log_line, next_request, pcmu_offer, respond,
    target_by_name, to_tag,
};
use tokio::net::UdpSocket;

mod dns_support;
mod phone_support;
mod sip_peer;

/// A carrier: answers INVITE with `status`, REGISTER with 200 (503 too when `status` is
/// 503); reports each request's method and Request-URI.
async fn carrier(status: u16, seen: mpsc::Sender<Seen>) -> u16 {
    let register = if status == 503 { 503 } else { 200 };
    sip_server(register, 600, status, seen).await
}

/// The requests of `method` seen within a short while: (carrier port, Request-URI).
async fn seen_now(
    seen: &mut mpsc::Receiver<(u16, Method, String)>,
    method: &Method,
) -> Vec<(u16, String)> {
    let mut out = Vec::new();
    while let Ok(Some((port, m, uri))) =
        tokio::time::timeout(Duration::from_millis(500), seen.recv()).await
    {
        if m == *method {
            out.push((port, uri));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trunk_by_name_fails_over_and_is_located_again_when_its_records_expire() {
    let (tx, mut seen) = mpsc::channel(64);
    let busy = carrier(503, tx.clone()).await;
    let second = carrier(486, tx.clone()).await;
    let moved = carrier(486, tx).await;
    let srv: Srv = Arc::new(Mutex::new(vec![(10, busy), (20, second)]));
    let dns = nameserver("carrier.test", Arc::clone(&srv)).await;

    let mut cfg = PbxConfig::demo(any_port(), 1000, 1000, None);
    let name: ServerAddress = "sip:carrier.test".parse().unwrap();
    let mut trunk = Trunk::plain("carrier", name);
    trunk.username = Some("4930".into());
    trunk.password = Some("secret".into());
    trunk.register = true;
    cfg.trunks = vec![trunk];
    cfg.routes = vec![OutboundRoute {
        pattern: "_0X.".into(),
        trunk: "carrier".into(),
        strip: 0,
        prefix: String::new(),
    }];
    cfg.dns = Some(dns);
    let (log_tx, mut log) = mpsc::channel(1024);
    let pbx = start_pbx(cfg, 21, Some(log_tx)).await;
    let pbx_addr = pbx.addr;

    // The REGISTER: 503 at the first target, 200 at the second, the URI names the trunk.
    let regs = seen_now(&mut seen, &Method::Register).await;
    let mut lines = Vec::new();
    while let Ok(l) = log.try_recv() {
        lines.push(l);
    }
    assert_eq!(
        regs,
        [
            (busy, "sip:carrier.test".to_owned()),
            (second, "sip:carrier.test".to_owned())
        ],
        "{lines:?}"
    );

    let mut phone = registered(config("1000", Transport::Udp, 3), "1000", pbx_addr).await;
    let call = |p: &phone_support::Phone| {
        let cmd = p.cmd.clone();
        async move { cmd.send(Command::Call("0301234".into())).await.unwrap() }
    };
    let failed = |e: &PhoneEvent| match e {
        PhoneEvent::CallFailed(s) => Some(*s),
        _ => None,
    };
    call(&phone).await;
    assert_eq!(wait("1000", &mut phone.events, failed).await, Ok(486));
    let invites = seen_now(&mut seen, &Method::Invite).await;
    let uri = "sip:0301234@carrier.test".to_owned();
    assert_eq!(invites, [(busy, uri.clone()), (second, uri.clone())]);

    // The carrier moves; once the 1 s TTL has run out the next call finds it.
    *srv.lock().unwrap() = vec![(10, moved)];
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    call(&phone).await;
    assert_eq!(wait("1000", &mut phone.events, failed).await, Ok(486));
    let invites = seen_now(&mut seen, &Method::Invite).await;
    assert_eq!(invites, [(moved, uri)]);

    let s = pbx.stop().await;
    assert_eq!(s.trunk_registrations, 1);
    while let Ok(l) = log.try_recv() {
        lines.push(l);
    }
    assert!(
        lines
            .iter()
            .filter(|l| l.contains("trunk carrier: located"))
            .count()
            >= 3,
        "{lines:?}"
    );
}

/// A PBX with extensions 1000 and 1001 and one trunk, a carrier at a socket of its own
/// that answers with `Contact: <sip:carrier@host.carrier.test:P>` (the nameserver's A
/// record): the PBX, its log, the carrier, the socket at P and the Contact.
struct CarrierByName {
    pbx: phone_support::RunningPbx,
    log: mpsc::Receiver<String>,
    carrier: UdpSocket,
    target: UdpSocket,
    contact: String,
}

impl CarrierByName {
    async fn start(seed: u64) -> Self {
        let dns = nameserver("carrier.test", Arc::new(Mutex::new(Vec::new()))).await;
        let carrier = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let (target, contact) = target_by_name("carrier.test").await;
        let trunk = Some(carrier.local_addr().unwrap());
        let mut cfg = PbxConfig::demo(any_port(), 1000, 1001, trunk);
        cfg.dns = Some(dns);
        let (log_tx, log) = mpsc::channel(1024);
        let pbx = start_pbx(cfg, seed, Some(log_tx)).await;
        Self {
            pbx,
            log,
            carrier,
            target,
            contact,
        }
    }

    /// An INVITE from the carrier's socket (no credentials) with an SDP offer.
    fn invite<'a>(
        &self,
        ruri: &'a str,
        branch: &'a str,
        contact: &'a str,
        offer: &'a str,
    ) -> Req<'a> {
        Req {
            method: "INVITE",
            ruri,
            me: self.carrier.local_addr().unwrap(),
            to_tag: "",
            cseq: 1,
            branch,
            contact,
            content_type: "application/sdp",
            body: offer,
        }
    }

    /// The carrier answers the next INVITE; the PBX locates its Contact's name.
    async fn answers(&mut self, media_port: u16) {
        let (pbx, contact) = (self.pbx.addr, &self.contact);
        answer_next_invite(&self.carrier, pbx, contact, media_port).await;
        let line = log_line(&mut self.log, "in-dialog requests").await;
        assert!(line.contains("host.carrier.test"), "{line}");
    }
}

/// The carrier (a trunk by address) answers from one socket with `Contact:
/// <sip:carrier@host.carrier.test:P>`: once the call is up the PBX locates that name, and
/// the BYE reaches port P, not the socket the INVITE went to.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_carrier_contact_by_name_gets_the_bye() {
    let mut c = CarrierByName::start(22).await;
    let mut phone = registered(config("1000", Transport::Udp, 4), "1000", c.pbx.addr).await;
    phone.send(Command::Call("0301234".into())).await;
    c.answers(40_030).await;
    phone.answered().await.unwrap();
    phone.send(Command::Hangup).await;
    bye_at(&c.target, &c.contact).await;
    phone.quit().await;
    c.pbx.stop().await;
}

/// The same for a carrier that a blind transfer brought into a call: extension 1000 calls
/// 1001 and transfers it to a trunk number; when 1001 hangs up, the PBX's BYE to the
/// carrier reaches the address of its Contact's name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_carrier_reached_by_transfer_gets_the_bye_at_its_contact() {
    let mut c = CarrierByName::start(23).await;
    let pbx = c.pbx.addr;
    let mut callee = registered(auto_answer("1001", Transport::Udp, 5), "1001", pbx).await;
    let mut phone = registered(config("1000", Transport::Udp, 6), "1000", pbx).await;
    phone.send(Command::Call("1001".into())).await;
    phone.answered().await.unwrap();
    callee.answered().await.unwrap();
    phone.send(Command::Transfer("0301234".into())).await;
    c.answers(40_040).await;
    callee.send(Command::Hangup).await;
    bye_at(&c.target, &c.contact).await;
    phone.quit().await;
    callee.quit().await;
    c.pbx.stop().await;
}

/// The carrier calls extension 1001 from the trunk's address (no digest challenge: a trunk
/// is known by its address) with `Contact: <sip:carrier@host.carrier.test:P>`; returns the
/// PBX's To tag once it has ACKed the 200. The PBX locates the name once the call is up.
async fn call_in(c: &mut CarrierByName, call_id: &str, contact: &str, replaces: &str) -> String {
    let pbx = c.pbx.addr;
    let (ruri, offer) = (format!("sip:1001@{pbx}"), pcmu_offer(40_050, 50));
    let branch = format!("{call_id}-inv");
    let invite = c.invite(&ruri, &branch, contact, &offer);
    let dialog = |text: String| {
        text.replace("Call-ID: sip-i-1@test", &format!("Call-ID: {call_id}"))
            .replace(
                "Max-Forwards: 70\r\n",
                &format!("Max-Forwards: 70\r\n{replaces}"),
            )
    };
    let text = dialog(invite.text());
    c.carrier.send_to(text.as_bytes(), pbx).await.unwrap();
    let (ok, _) = final_response(&c.carrier, "INVITE").await;
    assert_eq!(ok.status().as_u16(), 200, "the PBX took the carrier's call");
    let tag = to_tag(&ok);
    let ack = Req {
        method: "ACK",
        to_tag: &tag,
        branch: &format!("{call_id}-ack"),
        body: "",
        ..invite
    };
    c.carrier
        .send_to(dialog(ack.text()).as_bytes(), pbx)
        .await
        .unwrap();
    let line = log_line(&mut c.log, "in-dialog requests").await;
    assert!(line.contains(contact), "{line}");
    tag.trim_start_matches(";tag=").to_owned()
}

/// A call the carrier places into the PBX: when 1001 hangs up, the PBX's BYE reaches the
/// address of the carrier's Contact name, not the socket the INVITE came from.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_carrier_calling_in_gets_the_bye_at_its_contact() {
    let mut c = CarrierByName::start(24).await;
    let pbx = c.pbx.addr;
    let mut callee = registered(auto_answer("1001", Transport::Udp, 7), "1001", pbx).await;
    let contact = c.contact.clone();
    call_in(&mut c, "sip-i-1@test", &contact, "").await;
    callee.answered().await.unwrap();
    callee.send(Command::Hangup).await;
    bye_at(&c.target, &c.contact).await;
    callee.quit().await;
    c.pbx.stop().await;
}

/// The carrier moves its call to another of its SBCs with an INVITE with Replaces (RFC
/// 3891) whose Contact names that SBC: the replaced dialog gets its BYE at the first
/// Contact's address, and the new dialog's BYE reaches the second's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_carrier_taking_over_with_replaces_gets_the_bye_at_its_new_contact() {
    let mut c = CarrierByName::start(25).await;
    let pbx = c.pbx.addr;
    let mut callee = registered(auto_answer("1001", Transport::Udp, 8), "1001", pbx).await;
    let contact = c.contact.clone();
    let tag = call_in(&mut c, "sip-i-1@test", &contact, "").await;
    callee.answered().await.unwrap();
    let (target2, contact2) = target_by_name("carrier.test").await;
    let replaces = format!("Replaces: sip-i-1@test;to-tag={tag};from-tag=c1\r\n");
    call_in(&mut c, "sip-i-2@test", &contact2, &replaces).await;
    bye_at(&c.target, &c.contact).await;
    callee.send(Command::Hangup).await;
    bye_at(&target2, &contact2).await;
    callee.quit().await;
    c.pbx.stop().await;
}

/// A call from the carrier's address is taken without a digest challenge, so it may not go
/// out through a trunk again: an INVITE from the carrier for a number the dialplan sends to
/// the trunk gets 403, and the carrier's socket sees no INVITE come back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_carrier_cannot_call_out_through_the_trunk() {
    let c = CarrierByName::start(27).await;
    let pbx = c.pbx.addr;
    let (ruri, offer) = (format!("sip:0301234@{pbx}"), pcmu_offer(40_060, 50));
    let invite = c.invite(&ruri, "sip-i-out-inv", &c.contact, &offer);
    c.carrier
        .send_to(invite.text().as_bytes(), pbx)
        .await
        .unwrap();
    let (refused, seen) = final_response(&c.carrier, "INVITE").await;
    assert_eq!(refused.status().as_u16(), 403, "no trunk-to-trunk call");
    assert!(!seen.iter().any(|m| m == "INVITE"), "{seen:?}");
    c.pbx.stop().await;
}

/// The same for a blind transfer the carrier asks for in a call it placed: its REFER to a
/// number the dialplan sends to the trunk gets 403, and no INVITE goes out for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_carrier_cannot_transfer_out_through_the_trunk() {
    let mut c = CarrierByName::start(28).await;
    let pbx = c.pbx.addr;
    let mut callee = registered(auto_answer("1001", Transport::Udp, 10), "1001", pbx).await;
    let contact = c.contact.clone();
    let tag = format!(
        ";tag={}",
        call_in(&mut c, "sip-i-1@test", &contact, "").await
    );
    callee.answered().await.unwrap();
    let ruri = format!("sip:1001@{pbx}");
    let refer = Req {
        method: "REFER",
        to_tag: &tag,
        cseq: 2,
        body: "",
        ..c.invite(&ruri, "sip-i-refer", &contact, "")
    };
    let text = refer.text().replace(
        "Max-Forwards: 70\r\n",
        &format!("Max-Forwards: 70\r\nRefer-To: <sip:0301234@{pbx}>\r\n"),
    );
    c.carrier.send_to(text.as_bytes(), pbx).await.unwrap();
    let (refused, seen) = final_response(&c.carrier, "REFER").await;
    assert_eq!(refused.status().as_u16(), 403, "no trunk-to-trunk transfer");
    assert!(!seen.iter().any(|m| m == "INVITE"), "{seen:?}");
    callee.quit().await;
    c.pbx.stop().await;
}

/// A carrier rings with reliable provisional responses (RFC 3262) whose Contact is a host
/// name: the first PRACK goes where the INVITE went; the PBX locates the early dialog's
/// next hop, and the PRACK of the next provisional reaches the address of that name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_carrier_ringing_reliably_gets_the_next_prack_at_its_contact() {
    let mut c = CarrierByName::start(26).await;
    let pbx = c.pbx.addr;
    let mut phone = registered(config("1000", Transport::Udp, 9), "1000", pbx).await;
    phone.send(Command::Call("0301234".into())).await;
    let invite = next_request(&c.carrier).await;
    assert_eq!(*invite.method(), Method::Invite);
    let reliable = |rseq: u32| {
        format!(
            "Require: 100rel\r\nRSeq: {rseq}\r\nContact: <{}>\r\n",
            c.contact
        )
    };
    respond(
        &c.carrier,
        pbx,
        &invite,
        "183 Session Progress",
        &reliable(1),
        "",
    )
    .await;
    let prack = next_request(&c.carrier).await;
    assert_eq!(*prack.method(), Method::Prack);
    let line = log_line(&mut c.log, "in-dialog requests").await;
    assert!(line.contains("host.carrier.test"), "{line}");
    respond(&c.carrier, pbx, &invite, "180 Ringing", &reliable(2), "").await;
    let prack = next_request(&c.target).await;
    assert_eq!(*prack.method(), Method::Prack);
    assert_eq!(
        prack.uri_str(),
        c.contact,
        "the remote target is the Request-URI"
    );
    respond(&c.carrier, pbx, &invite, "486 Busy Here", "", "").await;
    assert_eq!(phone.call_outcome().await, Ok(486));
    phone.quit().await;
    c.pbx.stop().await;
}
