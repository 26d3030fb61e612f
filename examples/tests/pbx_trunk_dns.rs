//! A PBX trunk named by a SIP URI (RFC 3263): an in-process nameserver on loopback serves
//! the SRV and A records of `carrier.test` with a TTL of 1 s, and hand-driven "carrier"
//! sockets answer. The REGISTER and the INVITE both meet a 503 at the first SRV target and
//! go to the second (RFC 3263 §4.3), with `carrier.test` in their URIs; after the records
//! change and their TTL runs out, the next call is located again and reaches the carrier
//! the new record names, without a restart. And a carrier that answers with a Contact by
//! host name gets the call's BYE at the address that name has.

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
use sip_peer::{answer_next_invite, bye_at, log_line, target_by_name};
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
