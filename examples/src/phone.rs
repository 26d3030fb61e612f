//! A softphone engine on tokio: registration with digest auth, calls out and in (auto-answer),
//! SDP offer/answer, a [`MediaLeg`] per call fed from a WAV/PCM source and recorded to PCM,
//! DTMF, hold/resume, blind transfer (REFER) and hang-up with a call report. The `phone`
//! program and `demo-call` drive it through [`Command`]s and watch its [`PhoneEvent`]s.
//!
//! Received media passes through a simulated [`ImpairedLink`] first (a clean 0 ms link unless
//! configured), so the demo can show the jitter buffer and concealment at work.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sip_core::auth::{Challenge, DigestClient};
use sip_core::header::{CSeq, CallId, Contact, Expires, From, MaxForwards, To};
use sip_core::transaction::{Target, Transport};
use sip_core::ua::{Body, LegId, UaConfig, UaEvent, UserAgent};
use sip_core::{Method, Request, Response, Uri};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use crate::audio::Pcm;
use crate::media::{MediaLeg, MediaParams, audio_capabilities};
use crate::netem::{ImpairedLink, LinkConfig};
use crate::report::LegReport;
use crate::{clock, wallclock};

/// How the phone is set up.
#[derive(Clone, Debug)]
pub struct PhoneConfig {
    /// A name for progress lines (`alice`).
    pub name: String,
    /// SIP user (extension) and digest username.
    pub user: String,
    /// Digest password.
    pub password: Option<String>,
    /// Local SIP address (UDP).
    pub listen: SocketAddr,
    /// Registrar / proxy to register with and send calls to.
    pub registrar: Option<SocketAddr>,
    /// Codecs by SDP name, preference order.
    pub codecs: Vec<String>,
    /// SDES-SRTP policy.
    pub srtp: sdp::SrtpPolicy,
    /// Answer every incoming call.
    pub auto_answer: bool,
    /// Audio sent as the microphone (looped); silence when `None`.
    pub play: Option<Pcm>,
    /// Impairment of received media.
    pub link: LinkConfig,
    /// Seed of every random choice (tags, keys, SSRC, link).
    pub seed: u64,
    /// Registration lifetime asked for, seconds.
    pub expires: u32,
}

impl PhoneConfig {
    /// A phone for `user` on `listen` with defaults: Opus then PCMU, optional SRTP, no
    /// registrar, no audio, clean link.
    pub fn new(name: &str, user: &str, listen: SocketAddr) -> Self {
        Self {
            name: name.to_owned(),
            user: user.to_owned(),
            password: None,
            listen,
            registrar: None,
            codecs: vec!["opus".into(), "PCMU".into(), "PCMA".into()],
            srtp: sdp::SrtpPolicy::Optional,
            auto_answer: false,
            play: None,
            link: LinkConfig {
                delay: Duration::ZERO,
                ..LinkConfig::clean()
            },
            seed: 1,
            expires: 600,
        }
    }
}

/// What the application asks of the phone.
#[derive(Clone, Debug, Eq, PartialEq)]
pub enum Command {
    /// Call a number (sent to the registrar) or a full `sip:` URI.
    Call(String),
    /// Answer the ringing call.
    Answer,
    /// Send DTMF keys (RFC 4733).
    Dtmf(String),
    /// Put the call on hold (re-INVITE, sendonly).
    Hold,
    /// Take it off hold.
    Resume,
    /// Blind transfer the far end to a number or URI (REFER).
    Transfer(String),
    /// Hang up (BYE, or CANCEL while ringing).
    Hangup,
    /// Unregister and stop.
    Quit,
}

/// What the phone reports.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum PhoneEvent {
    /// A progress line for the user.
    Log(String),
    /// Registration succeeded (after `challenges` digest challenges).
    Registered {
        /// 401s answered on the way.
        challenges: u32,
    },
    /// Registration failed with this status.
    RegisterFailed(u16),
    /// A call is ringing in (from this URI).
    Incoming(String),
    /// Our call is ringing at the far end.
    Ringing,
    /// The call is up with this codec and SRTP suite.
    Answered {
        /// `opus/48000`.
        codec: String,
        /// SRTP suite name or `none`.
        srtp: String,
    },
    /// Our call failed with this status.
    CallFailed(u16),
    /// Hold (`true`) or resume completed.
    Hold(bool),
    /// The call ended.
    Ended {
        /// The far end hung up.
        by_peer: bool,
        /// The call report of our receiving side.
        report: Box<LegReport>,
        /// What we received.
        recorded: Pcm,
    },
    /// The phone stopped.
    Stopped,
}

/// An error starting the phone.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PhoneError {
    /// A socket could not be bound.
    #[error("phone socket: {0}")]
    Io(#[from] std::io::Error),
}

struct Call {
    leg: LegId,
    oa: sdp::OfferAnswer,
    media: Option<MediaLeg>,
    uac: bool,
    answered: bool,
    on_hold: bool,
    recorded: Vec<i16>,
    source: Option<Pcm>,
    source_pos: usize,
    incoming: Option<Request>,
    hold_pending: Option<bool>,
}

/// Runs the phone until [`Command::Quit`] or until the command channel closes.
///
/// # Errors
/// [`PhoneError::Io`] when a socket cannot be bound.
pub async fn run(
    config: PhoneConfig,
    mut commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<PhoneEvent>,
) -> Result<(), PhoneError> {
    let sip = UdpSocket::bind(config.listen).await?;
    let local = sip.local_addr()?;
    let media_sock = UdpSocket::bind(SocketAddr::new(local.ip(), 0)).await?;
    let media_port = media_sock.local_addr()?.port();
    let mut ua_cfg = UaConfig::new(local, config.user.clone(), config.seed);
    ua_cfg.credentials = config.password.clone().map(|p| (config.user.clone(), p));
    ua_cfg.user_agent = Some(format!("telox-phone/{}", env!("CARGO_PKG_VERSION")));
    let mut p = Phone {
        ua: UserAgent::new(ua_cfg),
        rng: ChaCha8Rng::seed_from_u64(config.seed ^ 0x5eed),
        link: ImpairedLink::new(config.link.clone()),
        local,
        media_port,
        call: None,
        reg: None,
        events,
        config,
        quit: false,
    };
    p.start_register(clock());
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut buf = vec![0u8; 65_536];
    let mut mbuf = vec![0u8; 65_536];
    loop {
        p.flush(&sip).await;
        if p.quit && p.call.is_none() && p.reg.as_ref().is_none_or(|r| r.done) {
            break;
        }
        let deadline = [
            p.ua.poll_timeout(),
            p.link.poll_timeout(),
            p.reg.as_ref().and_then(|r| r.refresh),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or_else(|| clock() + Duration::from_secs(3600));
        tokio::select! {
            r = sip.recv_from(&mut buf) => {
                if let Ok((n, from)) = r {
                    let data = Bytes::copy_from_slice(buf.get(..n).unwrap_or_default());
                    p.ua.handle_datagram(clock(), Target { transport: Transport::Udp, addr: from }, data);
                }
            }
            r = media_sock.recv_from(&mut mbuf) => {
                if let Ok((n, _)) = r {
                    p.link.send(clock(), mbuf.get(..n).unwrap_or_default().to_vec());
                }
            }
            _ = tokio::time::sleep_until(tokio::time::Instant::from_std(deadline)) => {
                let now = clock();
                p.ua.handle_timeout(now);
                while let Some(d) = p.link.poll_deliver(now) {
                    if let Some(m) = p.call.as_mut().and_then(|c| c.media.as_mut()) {
                        m.handle_datagram(now, &d);
                    }
                }
                if p.reg.as_ref().and_then(|r| r.refresh).is_some_and(|t| t <= now) {
                    p.start_register(now);
                }
            }
            _ = tick.tick() => {
                p.media_tick(&media_sock).await;
            }
            c = commands.recv() => {
                let c = c.unwrap_or(Command::Quit);
                p.command(c);
            }
        }
        p.drain_events();
    }
    let _ = p.events.send(PhoneEvent::Stopped).await;
    Ok(())
}

struct Registration {
    call_id: String,
    cseq: u32,
    challenges: u32,
    refresh: Option<Instant>,
    unregister: bool,
    done: bool,
    digest: Option<DigestClient<ChaCha8Rng>>,
    tag: String,
}

struct Phone {
    config: PhoneConfig,
    ua: UserAgent,
    rng: ChaCha8Rng,
    link: ImpairedLink<Vec<u8>>,
    local: SocketAddr,
    media_port: u16,
    call: Option<Call>,
    reg: Option<Registration>,
    events: mpsc::Sender<PhoneEvent>,
    quit: bool,
}

impl Phone {
    fn log(&self, text: String) {
        let _ = self.events.try_send(PhoneEvent::Log(text));
    }

    fn emit(&self, ev: PhoneEvent) {
        // Unbounded growth is impossible: the channel is bounded; a slow reader loses logs.
        let _ = self.events.try_send(ev);
    }

    fn domain(&self) -> String {
        self.config
            .registrar
            .map_or_else(|| self.local.ip().to_string(), |r| r.to_string())
    }

    fn aor(&self) -> Option<Uri> {
        format!("sip:{}@{}", self.config.user, self.domain())
            .parse()
            .ok()
    }

    fn start_register(&mut self, now: Instant) {
        let Some(registrar) = self.config.registrar else {
            return;
        };
        let reg = self.reg.get_or_insert_with(|| Registration {
            call_id: format!("{:016x}@{}", self.rng.random::<u64>(), self.local.ip()),
            cseq: 0,
            challenges: 0,
            refresh: None,
            unregister: false,
            done: false,
            digest: self.config.password.clone().map(|p| {
                DigestClient::new(
                    self.config.user.clone(),
                    p,
                    ChaCha8Rng::seed_from_u64(self.config.seed),
                )
            }),
            tag: format!("{:08x}", self.rng.random::<u32>()),
        });
        reg.refresh = None;
        let _ = registrar;
        self.send_register(now, None);
    }

    fn send_register(&mut self, now: Instant, auth: Option<(String, String)>) {
        let (Some(registrar), Some(aor)) = (self.config.registrar, self.aor()) else {
            return;
        };
        let Ok(req_uri) = format!("sip:{}", self.domain()).parse::<Uri>() else {
            return;
        };
        let Ok(contact) = self.ua.contact_uri() else {
            return;
        };
        let Ok(via) = self.ua.via() else { return };
        let Some(reg) = self.reg.as_mut() else { return };
        reg.cseq += 1;
        let expires = if reg.unregister {
            0
        } else {
            self.config.expires
        };
        let Ok(call_id) = CallId::new(&reg.call_id) else {
            return;
        };
        let mut b = Request::builder(Method::Register, req_uri)
            .header(via)
            .header(MaxForwards(70))
            .header(From::new(aor.clone()).with_tag(&reg.tag))
            .header(To::new(aor))
            .header(call_id)
            .header(CSeq::new(reg.cseq, Method::Register))
            .header(Contact::new(contact))
            .header(Expires(expires));
        if let Some((name, value)) = auth
            && let Ok(nb) = b.clone().raw_header(&name, &value)
        {
            b = nb;
        }
        let target = Target {
            transport: Transport::Udp,
            addr: registrar,
        };
        if let Err(e) = self.ua.send_request(now, b.build(), target) {
            self.log(format!("REGISTER not sent: {e}"));
        }
    }

    fn on_register_response(&mut self, now: Instant, status: u16, response: Option<Response>) {
        let uri = format!("sip:{}", self.domain());
        let Some(reg) = self.reg.as_mut() else { return };
        if (status == 401 || status == 407) && reg.challenges < 3 {
            let header = if status == 401 {
                "WWW-Authenticate"
            } else {
                "Proxy-Authenticate"
            };
            let challenges: Vec<Challenge> = response
                .as_ref()
                .map(|r| {
                    r.headers()
                        .named_str(header)
                        .filter_map(|h| h.value_str())
                        .filter_map(|v| Challenge::parse(v).ok())
                        .collect()
                })
                .unwrap_or_default();
            let creds = Challenge::select(&challenges).and_then(|c| {
                reg.digest
                    .as_mut()
                    .and_then(|d| d.authorize(c, "REGISTER", &uri).ok())
            });
            if let Some(c) = creds {
                reg.challenges += 1;
                let name = if status == 401 {
                    "Authorization"
                } else {
                    "Proxy-Authorization"
                };
                self.send_register(now, Some((name.to_owned(), c.to_string())));
                return;
            }
        }
        if (200..300).contains(&status) {
            if reg.unregister {
                reg.done = true;
                self.log("unregistered".into());
                return;
            }
            let granted = response
                .as_ref()
                .and_then(|r| r.header::<Expires>())
                .and_then(Result::ok)
                .map_or(self.config.expires, |e| e.0);
            // Refresh at half the granted lifetime (RFC 3261 §10.2.4 leaves the margin to us).
            reg.refresh = Some(now + Duration::from_secs(u64::from(granted.max(2) / 2)));
            let challenges = reg.challenges;
            reg.challenges = 0;
            self.emit(PhoneEvent::Registered { challenges });
        } else {
            reg.done = true;
            self.emit(PhoneEvent::RegisterFailed(status));
        }
    }

    fn command(&mut self, c: Command) {
        let now = clock();
        match c {
            Command::Call(target) => self.call(now, &target),
            Command::Answer => self.answer(now),
            Command::Dtmf(keys) => {
                if let Some(m) = self.call.as_mut().and_then(|c| c.media.as_mut()) {
                    for k in keys.chars() {
                        m.send_dtmf(k, 100);
                    }
                }
            }
            Command::Hold => self.reinvite(now, true),
            Command::Resume => self.reinvite(now, false),
            Command::Transfer(to) => {
                let uri = self.target_uri(&to);
                if let (Some(call), Some(uri)) = (self.call.as_ref(), uri) {
                    let value = format!("<{uri}>");
                    let _ = self.ua.request(
                        now,
                        call.leg,
                        Method::Refer,
                        None,
                        &[("Refer-To", &value)],
                    );
                }
            }
            Command::Hangup => self.hangup(now),
            Command::Quit => {
                self.quit = true;
                self.hangup(now);
                if let Some(reg) = self.reg.as_mut() {
                    if reg.done || reg.refresh.is_none() {
                        reg.done = true;
                    } else {
                        reg.unregister = true;
                        reg.refresh = None;
                        self.send_register(now, None);
                    }
                }
            }
        }
    }

    fn target_uri(&self, target: &str) -> Option<Uri> {
        if target.starts_with("sip:") {
            target.parse().ok()
        } else {
            format!("sip:{target}@{}", self.domain()).parse().ok()
        }
    }

    fn new_oa(&mut self) -> sdp::OfferAnswer {
        let codecs: Vec<&str> = self.config.codecs.iter().map(String::as_str).collect();
        let caps = audio_capabilities(self.media_port, &codecs, self.config.srtp);
        sdp::OfferAnswer::new(
            sdp::SessionConfig::new(self.local.ip(), caps),
            &mut self.rng,
        )
    }

    fn call(&mut self, now: Instant, target: &str) {
        if self.call.is_some() {
            self.log("already in a call".into());
            return;
        }
        let (Some(to), Some(from)) = (self.target_uri(target), self.aor()) else {
            self.log(format!("bad target {target}"));
            return;
        };
        let dest = match (to.port(), self.config.registrar) {
            (_, Some(r)) => r,
            (port, None) => match to.host().trim_matches(['[', ']']).parse::<IpAddr>() {
                Ok(ip) => SocketAddr::new(ip, port.unwrap_or(5060)),
                Err(_) => {
                    self.log(format!("cannot reach {to} without a registrar"));
                    return;
                }
            },
        };
        let mut oa = self.new_oa();
        let Ok(offer) = oa.create_offer(&mut self.rng) else {
            return;
        };
        let body = Body::sdp(offer.to_bytes());
        let target = Target {
            transport: Transport::Udp,
            addr: dest,
        };
        match self
            .ua
            .invite(now, from, to.clone(), to, target, Some(body))
        {
            Ok(leg) => {
                self.call = Some(Call::new(leg, oa, true));
                self.log(format!("calling {target}", target = target.addr));
            }
            Err(e) => self.log(format!("INVITE not sent: {e}")),
        }
    }

    fn answer(&mut self, now: Instant) {
        let Some(call) = self.call.as_mut() else {
            return;
        };
        let Some(invite) = call.incoming.take() else {
            return;
        };
        let offer = sdp::Sdp::parse_with(invite.body_bytes(), &sdp::ParseOptions::lenient());
        let answer = offer.map_err(|e| e.to_string()).and_then(|o| {
            call.oa
                .handle_offer(&o, &mut self.rng)
                .map_err(|e| e.to_string())
        });
        match answer {
            Ok(sdp_answer) => {
                let _ = self
                    .ua
                    .answer(now, call.leg, Some(Body::sdp(sdp_answer.to_bytes())));
                call.answered = true;
                Self::start_media(
                    &self.events,
                    &mut self.rng,
                    call,
                    now,
                    self.config.play.as_ref(),
                );
            }
            Err(why) => {
                let leg = call.leg;
                self.log(format!("cannot answer: {why}"));
                let _ = self.ua.reject(now, leg, 488);
                self.call = None;
            }
        }
    }

    fn start_media(
        events: &mpsc::Sender<PhoneEvent>,
        rng: &mut ChaCha8Rng,
        call: &mut Call,
        now: Instant,
        play: Option<&Pcm>,
    ) {
        let Some(stream) = call.oa.streams().first() else {
            return;
        };
        let leg = MediaParams::from_negotiated(stream, rng)
            .and_then(|p| MediaLeg::new(p, now, wallclock()));
        match leg {
            Ok(m) => {
                let codec = m.params().codec_label();
                let srtp = m
                    .params()
                    .srtp
                    .as_ref()
                    .map_or_else(|| "none".into(), |k| k.profile.name().to_owned());
                let _ = events.try_send(PhoneEvent::Answered { codec, srtp });
                call.source = play.map(|p| crate::audio::resample_linear(p, m.sample_rate()));
                call.media = Some(m);
            }
            Err(e) => {
                let _ = events.try_send(PhoneEvent::Log(format!("media setup failed: {e}")));
            }
        }
    }

    fn reinvite(&mut self, now: Instant, hold: bool) {
        let Some(call) = self.call.as_mut() else {
            return;
        };
        if hold {
            call.oa.hold();
        } else {
            call.oa.resume();
        }
        let Ok(offer) = call.oa.create_offer(&mut self.rng) else {
            return;
        };
        call.hold_pending = Some(hold);
        if self
            .ua
            .request(
                now,
                call.leg,
                Method::Invite,
                Some(Body::sdp(offer.to_bytes())),
                &[],
            )
            .is_err()
        {
            call.oa.cancel_offer();
            call.hold_pending = None;
        }
    }

    fn hangup(&mut self, now: Instant) {
        let Some(call) = self.call.as_ref() else {
            return;
        };
        let leg = call.leg;
        let r = if call.answered {
            self.ua.bye(now, leg)
        } else if call.uac {
            self.ua.cancel(now, leg)
        } else {
            self.ua.reject(now, leg, 486)
        };
        if r.is_err() {
            // Nothing to signal (e.g. the call already ended): finish locally.
            self.end_call(now, false);
        }
    }

    fn end_call(&mut self, now: Instant, by_peer: bool) {
        let Some(mut call) = self.call.take() else {
            return;
        };
        let (report, rate) = match call.media.as_mut() {
            Some(m) => {
                let _ = m.close(now);
                (m.report(&self.config.name), m.sample_rate())
            }
            None => (
                LegReport {
                    leg: self.config.name.clone(),
                    ..LegReport::default()
                },
                8000,
            ),
        };
        self.emit(PhoneEvent::Ended {
            by_peer,
            report: Box::new(report),
            recorded: Pcm {
                rate,
                samples: std::mem::take(&mut call.recorded),
            },
        });
    }

    fn drain_events(&mut self) {
        while let Some(ev) = self.ua.poll_event() {
            let now = clock();
            match ev {
                UaEvent::Incoming { leg, request } => {
                    if self.call.is_some() {
                        let _ = self.ua.reject(now, leg, 486);
                        continue;
                    }
                    let from = request
                        .header::<From>()
                        .and_then(Result::ok)
                        .map(|f| f.uri().to_string())
                        .unwrap_or_default();
                    let oa = self.new_oa();
                    let mut call = Call::new(leg, oa, false);
                    call.incoming = Some(request);
                    self.call = Some(call);
                    let _ = self.ua.ringing(now, leg, 180, None);
                    self.emit(PhoneEvent::Incoming(from));
                    if self.config.auto_answer {
                        self.answer(now);
                    }
                }
                UaEvent::Provisional { response, .. }
                    if response.status().0 == 180 || response.status().0 == 183 =>
                {
                    self.emit(PhoneEvent::Ringing);
                }
                UaEvent::Answered { leg, response } => {
                    let Some(call) = self.call.as_mut().filter(|c| c.leg == leg) else {
                        continue;
                    };
                    let parsed =
                        sdp::Sdp::parse_with(response.body_bytes(), &sdp::ParseOptions::lenient());
                    match parsed.map_err(|e| e.to_string()).and_then(|a| {
                        call.oa
                            .handle_answer(&a)
                            .map(|_| ())
                            .map_err(|e| e.to_string())
                    }) {
                        Ok(()) => {
                            call.answered = true;
                            Self::start_media(
                                &self.events,
                                &mut self.rng,
                                call,
                                now,
                                self.config.play.as_ref(),
                            );
                        }
                        Err(why) => {
                            call.answered = true;
                            self.log(format!("bad SDP answer: {why}"));
                            self.hangup(now);
                        }
                    }
                }
                UaEvent::Failed { leg, status, .. }
                    if self.call.as_ref().is_some_and(|c| c.leg == leg) =>
                {
                    self.call = None;
                    self.emit(PhoneEvent::CallFailed(status));
                }
                UaEvent::Confirmed { .. } => {}
                UaEvent::Cancelled { leg } | UaEvent::Ended { leg, .. }
                    if self.call.as_ref().is_none_or(|c| c.leg != leg) => {}
                UaEvent::Cancelled { .. } => {
                    self.call = None;
                    self.emit(PhoneEvent::CallFailed(487));
                }
                UaEvent::Ended { by_peer, .. } => self.end_call(now, by_peer),
                UaEvent::Request { key, leg, request } => self.on_request(now, key, leg, request),
                UaEvent::Response {
                    leg,
                    status,
                    response,
                    ..
                } => match leg {
                    None if self.reg.is_some() => self.on_register_response(now, status, response),
                    Some(l) => self.on_dialog_response(now, l, status, response),
                    None => {}
                },
                _ => {}
            }
        }
    }

    fn on_dialog_response(
        &mut self,
        now: Instant,
        leg: LegId,
        status: u16,
        response: Option<Response>,
    ) {
        let Some(call) = self.call.as_mut().filter(|c| c.leg == leg) else {
            return;
        };
        let Some(hold) = call.hold_pending.take() else {
            return;
        };
        if !(200..300).contains(&status) {
            call.oa.cancel_offer();
            self.log(format!("re-INVITE refused: {status}"));
            return;
        }
        let body = response.map(|r| r.body_bytes()).unwrap_or_default();
        if let Ok(answer) = sdp::Sdp::parse_with(body, &sdp::ParseOptions::lenient())
            && call.oa.handle_answer(&answer).is_ok()
        {
            call.on_hold = hold;
            let sending = call.oa.streams().first().is_some_and(|s| s.is_sending());
            if let Some(m) = call.media.as_mut() {
                m.set_sending(sending);
            }
            self.emit(PhoneEvent::Hold(hold));
        }
        let _ = now;
    }

    fn on_request(
        &mut self,
        now: Instant,
        key: sip_core::transaction::TransactionKey,
        leg: Option<LegId>,
        request: Request,
    ) {
        let method = request.method().clone();
        let in_call = leg.is_some() && self.call.as_ref().is_some_and(|c| Some(c.leg) == leg);
        match method {
            Method::Invite if in_call => {
                let Some(call) = self.call.as_mut() else {
                    return;
                };
                let offer =
                    sdp::Sdp::parse_with(request.body_bytes(), &sdp::ParseOptions::lenient());
                match offer
                    .map_err(|_| 400)
                    .and_then(|o| call.oa.handle_offer(&o, &mut self.rng).map_err(|_| 488))
                {
                    Ok(answer) => {
                        let _ = self
                            .ua
                            .respond(now, &key, 200, Some(Body::sdp(answer.to_bytes())));
                        let stream = call.oa.streams().first();
                        let sending = stream.is_some_and(|s| s.is_sending());
                        if let (Some(m), Some(s)) = (call.media.as_mut(), stream) {
                            m.set_sending(sending);
                            if let Some(r) = s.remote_rtp {
                                m.set_remote(r);
                            }
                        }
                        let held = !sending;
                        if held != call.on_hold {
                            call.on_hold = held;
                            self.log(if held {
                                "held by the far end".into()
                            } else {
                                "resumed by the far end".into()
                            });
                        }
                    }
                    Err(status) => {
                        let _ = self.ua.respond(now, &key, status, None);
                    }
                }
            }
            Method::Refer if in_call => {
                let to = request
                    .headers()
                    .named_str("Refer-To")
                    .find_map(|h| h.value_str().map(str::to_owned));
                let _ = self.ua.respond(now, &key, 202, None);
                if let Some(to) = to {
                    let uri = to
                        .trim()
                        .trim_start_matches('<')
                        .split('>')
                        .next()
                        .unwrap_or_default()
                        .to_owned();
                    self.log(format!("transferred to {uri}"));
                    // BYE the transferor, report that call now, then call the target.
                    self.hangup(now);
                    self.end_call(now, true);
                    self.call(now, &uri);
                }
            }
            Method::Options => {
                let _ = self.ua.respond(now, &key, 200, None);
            }
            Method::Info | Method::Notify | Method::Update => {
                let _ = self.ua.respond(now, &key, 200, None);
            }
            _ => {
                let _ = self.ua.respond(now, &key, 405, None);
            }
        }
    }

    async fn media_tick(&mut self, sock: &UdpSocket) {
        let now = clock();
        let Some(call) = self.call.as_mut() else {
            return;
        };
        let Some(m) = call.media.as_mut() else { return };
        let n = m.frame_samples();
        let frame: Vec<i16> = match &call.source {
            Some(src) if !src.samples.is_empty() => (0..n)
                .map(|i| {
                    src.samples
                        .get((call.source_pos + i) % src.samples.len())
                        .copied()
                        .unwrap_or(0)
                })
                .collect(),
            _ => vec![0; n],
        };
        call.source_pos = call.source_pos.wrapping_add(n);
        let remote = m.remote();
        let remote_rtcp = m.params().remote_rtcp;
        let mut out: Vec<(Vec<u8>, SocketAddr)> = Vec::new();
        if let Ok(pkts) = m.send_frame(now, &frame) {
            out.extend(pkts.into_iter().map(|p| (p, remote)));
        }
        out.extend(m.poll_rtcp(now).into_iter().map(|p| (p, remote_rtcp)));
        let pcm = m.pull_audio(now);
        call.recorded.extend_from_slice(&pcm);
        for (p, to) in out {
            let _ = sock.send_to(&p, to).await;
        }
    }

    async fn flush(&mut self, sock: &UdpSocket) {
        while let Some(t) = self.ua.poll_transmit() {
            let _ = sock.send_to(&t.payload, t.destination).await;
        }
    }
}

impl Call {
    fn new(leg: LegId, oa: sdp::OfferAnswer, uac: bool) -> Self {
        Self {
            leg,
            oa,
            media: None,
            uac,
            answered: false,
            on_hold: false,
            recorded: Vec::new(),
            source: None,
            source_pos: 0,
            incoming: None,
            hold_pending: None,
        }
    }
}
