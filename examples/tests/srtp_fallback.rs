//! SRTP offer fallback (found with linphone 5.1, interop 60-linphone): a callee that takes
//! SDES keys only on RTP/SAVP refuses the PBX's (or a phone's) best-effort offer, RTP/AVP with
//! `a=crypto`, with 488; the INVITE goes again once with RTP/SAVP, as a new transaction of
//! the same call attempt (same Call-ID and From tag, CSeq 2, as after a 401); the gateway's
//! INVITE to its trunk (trunk SRTP optional) does the same. The callee here
//! is a sip-core UA on loopback that refuses by the offer's profile and answers with the
//! sdp crate's engine.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    reason = "test code"
)]

mod phone_support;

use std::net::SocketAddr;

use phone_support::{Phone, RunningPbx, any_port, config, start, start_pbx, wait};
use rand::SeedableRng;
use sip_core::header::{CSeq, CallId, From};
use sip_core::tokio::{Driver, DriverConfig};
use sip_core::transaction::{Target, Transport};
use sip_core::ua::{Body, UaConfig, UaEvent, UserAgent};
use telox_examples::config::PbxConfig;
use telox_examples::gateway::{self, GatewayConfig};
use telox_examples::phone::{Command, PhoneEvent};
use telox_examples::trunk::TrunkAddress;
use tokio::sync::mpsc;

/// Which offers the callee refuses with 488.
#[derive(Clone, Copy, Debug)]
enum Refuses {
    /// RTP/AVP (with or without `a=crypto`): SRTP mandatory, keys only on RTP/SAVP, as
    /// linphone 5.1 with `media_encryption_mandatory`.
    Avp,
    /// RTP/SAVP: no SRTP at all (it answers RTP/AVP offers plainly).
    Savp,
    /// Everything.
    Both,
}

/// One INVITE the callee received.
#[derive(Debug, Clone)]
struct Offer {
    call_id: String,
    from_tag: String,
    cseq: u32,
    protocol: String,
}

/// What the callee reports.
#[derive(Debug)]
enum Seen {
    Registered,
    Invite(Offer),
    /// It answered; true when the answer keyed SRTP.
    Answered(bool),
}

/// A callee UA as `user` on loopback, registered at `registrar` when given (password =
/// user), refusing offers per `refuses` and answering the others (PCMU; SRTP required for
/// RTP/SAVP offers, plain RTP for RTP/AVP ones). Returns its address.
async fn callee(
    user: &'static str,
    registrar: Option<SocketAddr>,
    refuses: Refuses,
    seen: mpsc::Sender<Seen>,
) -> SocketAddr {
    let mut driver = Driver::bind(DriverConfig::new("127.0.0.1:0".parse().unwrap()))
        .await
        .unwrap();
    let addr = driver.local_addr();
    let mut cfg = UaConfig::new(addr, user, 21);
    cfg.credentials = Some((user.into(), user.into()));
    let mut ua = UserAgent::new(cfg);
    if let Some(pbx) = registrar {
        let target = Target {
            transport: Transport::Udp,
            addr: pbx,
        };
        ua.register(
            telox_examples::clock(),
            format!("sip:{}", pbx.ip()).parse().unwrap(),
            format!("sip:{user}@{}", pbx.ip()).parse().unwrap(),
            target,
            300,
        )
        .unwrap();
    }
    // The media socket stays bound (nothing reads it): the answer names a real port.
    let media = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = media.local_addr().unwrap().port();
    tokio::spawn(async move {
        let _media = media;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        loop {
            if driver.step(&mut ua).await.is_err() {
                continue;
            }
            while let Some(ev) = ua.poll_event() {
                match ev {
                    UaEvent::Registered { .. } => {
                        let _ = seen.send(Seen::Registered).await;
                    }
                    UaEvent::Incoming { leg, request } => {
                        let now = telox_examples::clock();
                        let offer = sdp::Sdp::parse_with(
                            request.body_bytes(),
                            &sdp::ParseOptions::lenient(),
                        )
                        .unwrap();
                        let protocol = offer.media.first().unwrap().protocol.as_str().to_owned();
                        let from = request.header::<From>().unwrap().unwrap();
                        let _ = seen
                            .send(Seen::Invite(Offer {
                                call_id: request
                                    .header::<CallId>()
                                    .unwrap()
                                    .unwrap()
                                    .as_str()
                                    .into(),
                                from_tag: from.tag().unwrap_or_default().into(),
                                cseq: request.header::<CSeq>().unwrap().unwrap().seq(),
                                protocol: protocol.clone(),
                            }))
                            .await;
                        let savp = protocol == "RTP/SAVP";
                        let refuse = match refuses {
                            Refuses::Avp => !savp,
                            Refuses::Savp => savp,
                            Refuses::Both => true,
                        };
                        if refuse {
                            let _ = ua.reject(now, leg, 488);
                            continue;
                        }
                        let policy = if savp {
                            sdp::SrtpPolicy::Required
                        } else {
                            sdp::SrtpPolicy::Disabled
                        };
                        let caps =
                            telox_examples::media::audio_capabilities(port, &["PCMU"], policy);
                        let mut oa = sdp::OfferAnswer::new(
                            sdp::SessionConfig::new(addr.ip(), caps),
                            &mut rng,
                        );
                        let answer = oa.handle_offer(&offer, &mut rng).unwrap();
                        let keyed = oa.streams().first().is_some_and(|s| s.crypto.is_some());
                        let _ = ua.answer(now, leg, Some(Body::sdp(answer.to_bytes())));
                        let _ = seen.send(Seen::Answered(keyed)).await;
                    }
                    _ => {}
                }
            }
        }
    });
    addr
}

/// The next report of the callee (bounded).
async fn next(seen: &mut mpsc::Receiver<Seen>) -> Seen {
    tokio::time::timeout(phone_support::WAIT, seen.recv())
        .await
        .expect("the callee reports within the bound")
        .expect("the callee runs")
}

/// The PBX (users 1000-1009, media relay) and a callee 1001 registered at it.
async fn pbx_and_callee(
    refuses: Refuses,
) -> (RunningPbx, mpsc::Receiver<String>, mpsc::Receiver<Seen>) {
    let (tx, log) = mpsc::channel(4096);
    let pbx = start_pbx(PbxConfig::demo(any_port(), 1000, 1009, None), 5, Some(tx)).await;
    let (stx, mut seen) = mpsc::channel(64);
    callee("1001", Some(pbx.addr), refuses, stx).await;
    assert!(matches!(next(&mut seen).await, Seen::Registered));
    (pbx, log, seen)
}

/// A phone 1000 registered at `pbx` with SRTP `policy`.
async fn caller(pbx: SocketAddr, policy: sdp::SrtpPolicy) -> Phone {
    let mut c = config("1000", Transport::Udp, 1);
    c.registrar = Some(pbx);
    c.password = Some("1000".into());
    c.srtp = policy;
    let mut p = start(c).await;
    wait("1000", &mut p.events, |e| {
        matches!(e, PhoneEvent::Registered { .. }).then_some(())
    })
    .await
    .unwrap();
    p
}

/// The call's outcome at `phone`: Ok(srtp suite) when answered, Err(status) when it failed.
async fn outcome(phone: &mut Phone) -> Result<String, u16> {
    let name = phone.name.clone();
    wait(&name, &mut phone.events, |e| match e {
        PhoneEvent::Answered { srtp, .. } => Some(Ok(srtp.clone())),
        PhoneEvent::CallFailed(s) => Some(Err(*s)),
        _ => None,
    })
    .await
    .unwrap()
}

fn drain(log: &mut mpsc::Receiver<String>) -> Vec<String> {
    let mut lines = Vec::new();
    while let Ok(l) = log.try_recv() {
        lines.push(l);
    }
    lines
}

/// Two INVITEs of one call attempt: the same Call-ID and From tag, the CSeq one higher.
fn same_attempt(first: &Offer, second: &Offer) {
    assert_eq!(first.call_id, second.call_id);
    assert_eq!(first.from_tag, second.from_tag);
    assert_eq!(second.cseq, first.cseq + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pbx_offers_rtp_savp_after_a_488_to_best_effort_srtp() {
    let (pbx, mut log, mut seen) = pbx_and_callee(Refuses::Avp).await;
    let mut a = caller(pbx.addr, sdp::SrtpPolicy::Disabled).await;
    a.send(Command::Call("1001".into())).await;
    let Seen::Invite(first) = next(&mut seen).await else {
        panic!("an INVITE first")
    };
    assert_eq!(first.protocol, "RTP/AVP");
    let Seen::Invite(second) = next(&mut seen).await else {
        panic!("the INVITE again")
    };
    assert_eq!(second.protocol, "RTP/SAVP");
    same_attempt(&first, &second);
    assert!(matches!(next(&mut seen).await, Seen::Answered(true)));
    // The caller (plain RTP) hears nothing of it but a longer setup.
    assert_eq!(outcome(&mut a).await, Ok("none".into()));
    let lines = drain(&mut log);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("1001 refused RTP/AVP with a=crypto (488): offering RTP/SAVP")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("answered (") && l.contains("RTP/SAVP after 488")),
        "{lines:?}"
    );
    a.send(Command::Hangup).await;
    a.quit().await;
    pbx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pbx_call_to_a_callee_without_srtp_stays_plain_without_a_retry() {
    let (pbx, _log, mut seen) = pbx_and_callee(Refuses::Savp).await;
    let mut a = caller(pbx.addr, sdp::SrtpPolicy::Disabled).await;
    a.send(Command::Call("1001".into())).await;
    let Seen::Invite(first) = next(&mut seen).await else {
        panic!("an INVITE first")
    };
    assert_eq!(first.protocol, "RTP/AVP");
    assert!(matches!(next(&mut seen).await, Seen::Answered(false)));
    assert_eq!(outcome(&mut a).await, Ok("none".into()));
    a.send(Command::Hangup).await;
    a.quit().await;
    pbx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pbx_retries_once_and_the_caller_gets_the_488() {
    let (pbx, _log, mut seen) = pbx_and_callee(Refuses::Both).await;
    let mut a = caller(pbx.addr, sdp::SrtpPolicy::Disabled).await;
    a.send(Command::Call("1001".into())).await;
    let mut offers = Vec::new();
    for _ in 0..2 {
        match next(&mut seen).await {
            Seen::Invite(o) => offers.push(o),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(outcome(&mut a).await, Err(488));
    let protocols: Vec<&str> = offers.iter().map(|o| o.protocol.as_str()).collect();
    assert_eq!(protocols, ["RTP/AVP", "RTP/SAVP"]);
    same_attempt(offers.first().unwrap(), offers.get(1).unwrap());
    // No third INVITE: the retry's 488 went to the caller.
    assert!(seen.try_recv().is_err());
    a.quit().await;
    pbx.stop().await;
}

/// A phone calling `callee` directly (no registrar) with SRTP `policy`.
async fn direct_call(
    refuses: Refuses,
    policy: sdp::SrtpPolicy,
) -> (Result<String, u16>, Vec<Offer>, Phone) {
    let (stx, mut seen) = mpsc::channel(64);
    let b = callee("b", None, refuses, stx).await;
    let mut c = config("a", Transport::Udp, 3);
    c.srtp = policy;
    let mut a = start(c).await;
    a.send(Command::Call(format!("sip:b@{b}"))).await;
    let result = outcome(&mut a).await;
    let mut offers = Vec::new();
    while let Ok(s) = seen.try_recv() {
        if let Seen::Invite(o) = s {
            offers.push(o);
        }
    }
    (result, offers, a)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phone_with_optional_srtp_retries_with_rtp_savp() {
    let (result, offers, a) = direct_call(Refuses::Avp, sdp::SrtpPolicy::Optional).await;
    let suite = result.unwrap();
    assert_ne!(suite, "none", "SRTP is up");
    let protocols: Vec<&str> = offers.iter().map(|o| o.protocol.as_str()).collect();
    assert_eq!(protocols, ["RTP/AVP", "RTP/SAVP"]);
    same_attempt(offers.first().unwrap(), offers.get(1).unwrap());
    a.send(Command::Hangup).await;
    a.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phone_requiring_srtp_fails_at_a_callee_without_srtp() {
    // RTP/SAVP from the start: no plain fallback when SRTP is required.
    let (result, offers, a) = direct_call(Refuses::Savp, sdp::SrtpPolicy::Required).await;
    assert_eq!(result, Err(488));
    let protocols: Vec<&str> = offers.iter().map(|o| o.protocol.as_str()).collect();
    assert_eq!(protocols, ["RTP/SAVP"]);
    a.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phone_with_optional_srtp_goes_plain_with_a_callee_without_srtp() {
    let (result, offers, a) = direct_call(Refuses::Savp, sdp::SrtpPolicy::Optional).await;
    assert_eq!(result, Ok("none".into()));
    let protocols: Vec<&str> = offers.iter().map(|o| o.protocol.as_str()).collect();
    assert_eq!(protocols, ["RTP/AVP"]);
    a.send(Command::Hangup).await;
    a.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_offers_rtp_savp_to_its_trunk_after_a_488() {
    let (stx, mut seen) = mpsc::channel(64);
    let trunk = callee("trunk", None, Refuses::Avp, stx).await;
    let cfg = GatewayConfig {
        listen: any_port(),
        tls: None,
        trunks: vec![TrunkAddress::at(trunk)],
        dns: None,
        allow: vec!["127.0.0.0/8".parse().unwrap()],
        trunk_sources: Vec::new(),
        credentials: None,
        registrations: Vec::new(),
        trunk_codecs: vec!["PCMU".into()],
        trunk_srtp: sdp::SrtpPolicy::Optional,
        internal_codecs: vec!["PCMU".into()],
        trunk_timeout: std::time::Duration::from_secs(5),
        seed: 43,
    };
    let (log_tx, mut log) = mpsc::channel(4096);
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let (bound_tx, bound) = tokio::sync::oneshot::channel();
    let gw = tokio::spawn(gateway::run_reporting(cfg, log_tx, stop_rx, Some(bound_tx)));
    let gw_addr = tokio::time::timeout(phone_support::WAIT, bound)
        .await
        .unwrap()
        .unwrap();

    let mut a = start(config("a", Transport::Udp, 6)).await;
    a.send(Command::Call(format!("sip:100@{gw_addr}"))).await;
    assert!(outcome(&mut a).await.is_ok(), "{:?}", drain(&mut log));
    let mut offers = Vec::new();
    while let Ok(s) = seen.try_recv() {
        match s {
            Seen::Invite(o) => offers.push(o),
            // The trunk keyed SRTP in its answer to the retry.
            Seen::Answered(srtp) => assert!(srtp),
            Seen::Registered => {}
        }
    }
    let protocols: Vec<&str> = offers.iter().map(|o| o.protocol.as_str()).collect();
    assert_eq!(protocols, ["RTP/AVP", "RTP/SAVP"]);
    same_attempt(offers.first().unwrap(), offers.get(1).unwrap());
    let lines = drain(&mut log);
    assert!(
        lines.iter().any(|l| l.contains("offering RTP/SAVP")),
        "{lines:#?}"
    );
    a.send(Command::Hangup).await;
    a.quit().await;
    stop.send(true).unwrap();
    let summary = gw.await.unwrap().unwrap();
    assert_eq!(summary.answered, 1);
}
