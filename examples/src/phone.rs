//! A softphone engine on tokio: registration with digest auth (sip-core's registration
//! client: refresh before expiry, unregister on exit), calls out and in (auto-answer) over UDP,
//! TCP or TLS (sip-core's tokio driver, with mutual TLS as an option), SDP offer/answer, a
//! [`MediaLeg`] per call fed from a WAV/PCM source and recorded to PCM, DTMF, hold/resume, blind
//! transfer (REFER with sipfrag NOTIFYs, RFC 3515) and hang-up with a call report. The `phone`
//! program and `demo-call` drive it through [`Command`]s and watch its [`PhoneEvent`]s.
//!
//! Received media passes through a simulated [`ImpairedLink`] first (a clean 0 ms link unless
//! configured), so the demo can show the jitter buffer and concealment at work.

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use sip_core::header::{CSeq, CallId, From};
use sip_core::registration::RegisterRetry;
use sip_core::tokio::{DnsConfig, Driver, DriverConfig, Resolver, SansIo, TlsConfig, tls};
use sip_core::transaction::{Target, TransactionKey, Transmit, Transport};
use sip_core::ua::{Body, LegId, RegistrationId, TargetList, UaConfig, UaEvent, UserAgent, refer};
use sip_core::{Message, Method, Request, Response, Scheme, Uri};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use crate::audio::Pcm;
use crate::media::{MediaLeg, MediaParams, PlayoutClock, audio_capabilities, savp_fallback};
use crate::netem::{ImpairedLink, LinkConfig};
use crate::report::LegReport;
use crate::trunk::{DialogHop, Located, Lookup, locate_dialog_hop, locate_name, set_dialog_hop};
use crate::{clock, wallclock};

/// TLS material of a phone on [`Transport::Tls`], as PEM files.
#[derive(Clone, Debug, Default)]
pub struct PhoneTls {
    /// Certificates trusted for servers we connect to (and, with `require_client_cert`,
    /// for client certificates). Outgoing TLS needs it.
    pub ca: Option<PathBuf>,
    /// Our certificate chain: presented by the listener, and as the client certificate of
    /// outgoing connections (mutual TLS).
    pub cert: Option<PathBuf>,
    /// The private key of `cert`.
    pub key: Option<PathBuf>,
    /// The listener requires a client certificate signed by `ca` (mutual TLS); otherwise it
    /// asks for none.
    pub require_client_cert: bool,
}

/// How the phone is set up.
#[derive(Clone, Debug)]
pub struct PhoneConfig {
    /// A name for progress lines (`alice`).
    pub name: String,
    /// SIP user (extension) and digest username.
    pub user: String,
    /// Digest password.
    pub password: Option<String>,
    /// Local SIP address: UDP, plus the TCP or TLS listener for those transports.
    pub listen: SocketAddr,
    /// The SIP transport for registration, calls and our Via/Contact.
    pub transport: Transport,
    /// Certificates and keys for [`Transport::Tls`].
    pub tls: PhoneTls,
    /// Registrar / proxy to register with and send calls to.
    pub registrar: Option<SocketAddr>,
    /// The registrar / proxy as a host name or SIP URI (`sip:pbx.example.com`), in place of
    /// `registrar`: located at start by RFC 3263 (NAPTR, SRV, A through `dns`, else the
    /// nameservers of /etc/resolv.conf) and again once the records' TTL has run out (for the
    /// next REGISTER or call, so a registrar moved by DNS is found without a restart);
    /// REGISTERs and calls go to its targets with failover (RFC 3263 §4.3), preferring
    /// those of our `transport`, and its host is the domain of our address-of-record.
    pub registrar_name: Option<Uri>,
    /// Nameserver for `registrar_name`.
    pub dns: Option<SocketAddr>,
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
    /// How a failed registration (an error status, a timeout, an unreachable registrar) is
    /// retried: RFC 5626 §4.5 back-off by default (30 s doubling up to 30 min, each wait a
    /// random 50-100 % of it), reset by a success.
    pub register_retry: RegisterRetry,
}

impl PhoneConfig {
    /// A phone for `user` on `listen` with defaults: UDP, Opus then PCMU, optional SRTP, no
    /// registrar, no audio, clean link.
    pub fn new(name: &str, user: &str, listen: SocketAddr) -> Self {
        Self {
            name: name.to_owned(),
            user: user.to_owned(),
            password: None,
            listen,
            transport: Transport::Udp,
            tls: PhoneTls::default(),
            registrar: None,
            registrar_name: None,
            dns: None,
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
            register_retry: RegisterRetry::rfc5626(),
        }
    }
}

/// What the application asks of the phone.
#[derive(Clone, Debug, Eq, PartialEq)]
pub enum Command {
    /// Call a number (sent to the registrar) or a full `sip:`/`sips:` URI.
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
    /// Attended transfer (RFC 5589 §7): REFER the far end to `to` with a Replaces naming the
    /// dialog `replaces` (the value a [`PhoneEvent::Replaces`] reported for the consulted
    /// call, which may be up on another phone of the same user).
    AttendedTransfer {
        /// Number or URI of the consulted party.
        to: String,
        /// `call-id;to-tag=..;from-tag=..` of the consulted call's dialog at its far end.
        replaces: String,
    },
    /// Hang up (BYE, or CANCEL while ringing).
    Hangup,
    /// Report the call's media statistics so far ([`PhoneEvent::Stats`]).
    Stats,
    /// Unregister and stop.
    Quit,
}

/// What the phone reports.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum PhoneEvent {
    /// A progress line for the user.
    Log(String),
    /// The call's media statistics so far, on [`Command::Stats`] (all zero while no call
    /// has media).
    Stats(Box<LegReport>),
    /// The phone listens for SIP on this address and transport (the TLS listener's address
    /// on TLS).
    Listening {
        /// Address written in Via and Contact.
        addr: SocketAddr,
        /// Its transport.
        transport: Transport,
    },
    /// Registration succeeded (after `challenges` digest challenges); also on each refresh.
    Registered {
        /// 401/407 answers to REGISTER since the last success.
        challenges: u32,
    },
    /// Registration failed with this status (408 or 503 when the registrar did not answer or
    /// could not be reached); it is retried after [`PhoneConfig::register_retry`]'s back-off.
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
    /// We were asked (REFER) to call this URI instead; the current call ends.
    Referred(String),
    /// The call is up; this Replaces value names its dialog at the far end (for an attended
    /// transfer to this call, [`Command::AttendedTransfer`]).
    Replaces(String),
    /// Progress of a transfer we asked for: the status the far end reported in a NOTIFY
    /// (100, then the final status), or the REFER's own failure status. A final status in a
    /// NOTIFY is followed by our BYE.
    TransferStatus(u16),
    /// The call ended.
    Ended {
        /// The far end hung up.
        by_peer: bool,
        /// The call ended because the far end was transferred by REFER.
        transferred: bool,
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
    /// The TLS files could not be loaded or do not form a configuration.
    #[error("phone TLS: {0}")]
    Tls(String),
}

impl std::convert::From<tls::TlsError> for PhoneError {
    fn from(e: tls::TlsError) -> Self {
        Self::Tls(e.to_string())
    }
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
    /// Our 2xx carried the offer (the INVITE or re-INVITE had none, RFC 3261 §13.2.1): the
    /// answer comes in the ACK.
    answer_in_ack: bool,
    /// The REFER we sent on this call, until its response.
    refer: Option<TransactionKey>,
    /// Paces the received audio's playout.
    playout: PlayoutClock,
    /// UAC: the engine of the RTP/SAVP offer our INVITE goes again with if the callee
    /// refuses the best-effort SRTP offer with 488 or 606 ([`crate::media::savp_fallback`]).
    fallback: Option<sdp::OfferAnswer>,
}

/// How long [`Command::Quit`] waits for the BYE and the unregistration to complete.
const QUIT_GRACE: Duration = Duration::from_secs(3);

/// The TLS configurations for `tls` (sip-core's rustls helpers): a listener at `listen` when
/// a certificate is given, outgoing connections when a CA is given.
fn tls_config(t: &PhoneTls, listen: SocketAddr) -> Result<TlsConfig, PhoneError> {
    let ca = match &t.ca {
        Some(ca) => Some(tls::load_certs(ca)?),
        None => None,
    };
    let identity = match (&t.cert, &t.key) {
        (Some(c), Some(k)) => Some((tls::load_certs(c)?, tls::load_private_key(k)?)),
        (None, None) => None,
        _ => return Err(PhoneError::Tls("a certificate needs its key".into())),
    };
    let client = match (&ca, &identity) {
        (Some(ca), Some((chain, key))) => Some(tls::client_config_with_cert(
            tls::root_store(ca.clone())?,
            chain.clone(),
            key.clone_key(),
        )?),
        (Some(ca), None) => Some(tls::client_config(tls::root_store(ca.clone())?)?),
        (None, _) => None,
    };
    let server = match (identity, t.require_client_cert, ca) {
        (Some((chain, key)), true, Some(ca)) => {
            Some(tls::server_config_mutual(chain, key, tls::root_store(ca)?)?)
        }
        (Some(_), true, None) => {
            return Err(PhoneError::Tls(
                "requiring client certificates needs a CA".into(),
            ));
        }
        (Some((chain, key)), false, _) => Some(tls::server_config(chain, key)?),
        (None, _, _) => None,
    };
    Ok(TlsConfig::new(
        server.is_some().then_some(listen),
        server,
        client,
    ))
}

/// What the driver task hands the phone.
enum SipIn {
    Message(Target, Bytes),
    SendError(Target),
}

/// The core the driver task runs: it forwards what arrives to the phone and sends what the
/// phone queued. Nothing it does produces output by itself, so [`Driver::step`] only waits
/// (and is safe to cancel) while the phone's output is sent to completion in between.
struct Relay {
    queue: VecDeque<Transmit>,
    to_phone: mpsc::Sender<SipIn>,
}

impl SansIo for Relay {
    fn handle_input(&mut self, _now: Instant, from: Target, bytes: Bytes) {
        // Bounded: under a flood the excess is dropped like an overflowing socket buffer.
        let _ = self.to_phone.try_send(SipIn::Message(from, bytes));
    }
    fn handle_timeout(&mut self, _now: Instant) {}
    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.queue.pop_front()
    }
    fn poll_timeout(&self) -> Option<Instant> {
        None
    }
    fn handle_send_error(&mut self, _now: Instant, to: Target) {
        let _ = self.to_phone.try_send(SipIn::SendError(to));
    }
}

/// Runs the sockets: sends everything the phone queues (in order, to completion) and
/// forwards what arrives, until the phone drops its sender.
async fn drive(mut driver: Driver, mut from_phone: mpsc::Receiver<Transmit>, mut relay: Relay) {
    loop {
        tokio::select! {
            biased;
            t = from_phone.recv() => {
                let Some(t) = t else { break };
                relay.queue.push_back(t);
                while let Ok(t) = from_phone.try_recv() {
                    relay.queue.push_back(t);
                }
                if driver.flush(&mut relay).await.is_err() {
                    break;
                }
            }
            r = driver.step(&mut relay) => {
                if r.is_err() {
                    break;
                }
            }
        }
    }
}

/// Runs the phone until [`Command::Quit`] or until the command channel closes.
///
/// # Errors
/// [`PhoneError::Io`] when a socket cannot be bound, [`PhoneError::Tls`] for unusable TLS
/// files.
pub async fn run(
    config: PhoneConfig,
    mut commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<PhoneEvent>,
) -> Result<(), PhoneError> {
    // The driver holds the TCP twin of a UDP-only port (no connection on this host can start
    // from it) and gives back a port chosen by the OS whose twin is taken.
    let mut driver = Driver::bind(driver_config(&config)?).await?;
    // Names are located with the driver's resolver, in tasks of their own (the driver goes
    // on serving SIP meanwhile): a registrar by name now, and again whenever its records
    // expire; the next hop of a call's dialog when it is a host name.
    let resolver = driver.resolver().map_err(|e| e.to_string());
    let registrar_targets = match &config.registrar_name {
        None => Ok(TargetList::default()),
        // An IP host needs no DNS and never goes stale.
        Some(uri) => match (sip_core::locate::ip_target(uri), &resolver) {
            (Ok(t), _) => Ok(t.into()),
            (Err(_), Ok(r)) => locate_name(r, uri, config.transport).await,
            (Err(_), Err(e)) => Err(format!("{uri}: {e}")),
        },
    };
    if let Some(uri) = &config.registrar_name {
        let _ = events.try_send(PhoneEvent::Log(located_line(uri, &registrar_targets)));
    }
    let (found, mut found_rx) = mpsc::channel(4);
    let local = match config.transport {
        Transport::Tls => driver.tls_local_addr().unwrap_or(driver.local_addr()),
        _ => driver.local_addr(),
    };
    let (sip_out, from_phone) = mpsc::channel(256);
    let (to_phone, mut sip_in) = mpsc::channel(1024);
    let relay = Relay {
        queue: VecDeque::new(),
        to_phone,
    };
    let driver_task = tokio::spawn(drive(driver, from_phone, relay));
    let media_sock = UdpSocket::bind(SocketAddr::new(local.ip(), 0)).await?;
    let media_port = media_sock.local_addr()?.port();
    let mut ua_cfg = UaConfig::new(local, config.user.clone(), config.seed);
    ua_cfg.transport = config.transport;
    // An offer with three codecs and SDES keys passes 1300 bytes, so RFC 3261 §18.1.1 sends
    // it over TCP; a peer that refuses TCP gets it over UDP after all (sip-core's fallback).
    ua_cfg.credentials = config.password.clone().map(|p| (config.user.clone(), p));
    ua_cfg.user_agent = Some(format!("telox-phone/{}", env!("CARGO_PKG_VERSION")));
    if config.transport == Transport::Tls && config.tls.ca.is_none() {
        let _ = events.try_send(PhoneEvent::Log(
            "TLS without a CA file: outgoing TLS connections are refused".into(),
        ));
    }
    let _ = events.try_send(PhoneEvent::Listening {
        addr: local,
        transport: config.transport,
    });
    let mut p = Phone {
        ua: UserAgent::new(ua_cfg),
        rng: ChaCha8Rng::seed_from_u64(config.seed ^ 0x5eed),
        link: ImpairedLink::new(config.link.clone()),
        local,
        media_port,
        // Not located at the start: the first call locates it (and registers once it is).
        registrar: registrar_targets.map_or_else(|_| Located::default(), Located::new),
        resolver: resolver.ok(),
        found,
        call: None,
        reg: None,
        challenges: 0,
        referrer: None,
        events,
        config,
        quit: None,
        sip_out,
    };
    p.start_register(clock());
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut mbuf = vec![0u8; 65_536];
    loop {
        p.flush().await;
        if let Some(by) = p.quit
            && ((p.call.is_none() && p.reg.is_none()) || clock() >= by)
        {
            break;
        }
        let deadline = [p.ua.poll_timeout(), p.link.poll_timeout(), p.quit]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or_else(|| clock() + Duration::from_secs(3600));
        tokio::select! {
            m = sip_in.recv() => match m {
                Some(SipIn::Message(from, bytes)) => {
                    p.count_challenge(&bytes);
                    p.ua.handle_datagram(clock(), from, bytes);
                }
                Some(SipIn::SendError(to)) => p.ua.handle_transport_error(clock(), to),
                None => {
                    p.log("SIP transport stopped".into());
                    break;
                }
            },
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
            }
            _ = tick.tick() => {
                p.media_tick(&media_sock).await;
            }
            c = commands.recv() => {
                let c = c.unwrap_or(Command::Quit);
                p.command(c);
            }
            Some(f) = found_rx.recv() => p.found(clock(), f),
        }
        p.drain_events();
    }
    p.flush().await;
    let Phone {
        events, sip_out, ..
    } = p;
    // Closing the channel lets the driver send what is queued (the last BYE or
    // unregistration) and stop.
    drop(sip_out);
    let _ = tokio::time::timeout(Duration::from_secs(2), driver_task).await;
    let _ = events.send(PhoneEvent::Stopped).await;
    Ok(())
}

/// The driver's configuration for the phone's transport.
fn driver_config(config: &PhoneConfig) -> Result<DriverConfig, PhoneError> {
    let mut dc = DriverConfig::new(config.listen);
    dc.dns = config.dns.map(|ns| DnsConfig::new(vec![ns]));
    match config.transport {
        Transport::Tcp => dc.tcp = true,
        Transport::Tls => dc.tls = Some(tls_config(&config.tls, config.listen)?),
        _ => {}
    }
    Ok(dc)
}

/// The log line of a registrar located (or not).
fn located_line(uri: &Uri, located: &Result<TargetList, String>) -> String {
    match located {
        Ok(targets) => {
            let list: Vec<String> = targets
                .as_slice()
                .iter()
                .map(|t| format!("{} {}", t.transport.as_via_str(), t.addr))
                .collect();
            format!("registrar {uri}: {}", list.join(", "))
        }
        Err(e) => format!("registrar {e}"),
    }
}

/// What a lookup of the phone's found (RFC 3263).
enum Found {
    /// The registrar's targets, located again.
    Registrar(Result<TargetList, String>),
    /// The next hop of a call's dialog.
    DialogHop(DialogHop),
}

struct Phone {
    config: PhoneConfig,
    ua: UserAgent,
    rng: ChaCha8Rng,
    link: ImpairedLink<Vec<u8>>,
    local: SocketAddr,
    media_port: u16,
    /// The located targets of [`PhoneConfig::registrar_name`], in RFC 3263 order, kept
    /// until their records expire (an empty list without a name).
    registrar: Located<TargetList>,
    /// Locates names (`None` when no nameserver is known).
    resolver: Option<Resolver>,
    /// Where the lookups' results are sent, for [`Phone::found`].
    found: mpsc::Sender<Found>,
    call: Option<Call>,
    /// Our registration while it exists (until unregistered).
    reg: Option<RegistrationId>,
    /// Digest challenges to REGISTER since the last success.
    challenges: u32,
    /// The leg of a call that sent us a REFER we are acting on: it gets the NOTIFYs.
    referrer: Option<LegId>,
    events: mpsc::Sender<PhoneEvent>,
    /// Set by [`Command::Quit`]: stop once the call and registration are gone, or at this
    /// instant.
    quit: Option<Instant>,
    sip_out: mpsc::Sender<Transmit>,
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
        if let Some(uri) = &self.config.registrar_name {
            return crate::trunk::host_port(uri);
        }
        self.config
            .registrar
            .map_or_else(|| self.local.ip().to_string(), |r| r.to_string())
    }

    /// Where REGISTERs and calls through the registrar go: its located targets, else its
    /// address over our transport.
    fn registrar_targets(&self) -> TargetList {
        if let Some(located) = self.registrar.current().filter(|l| !l.is_empty()) {
            return located.clone();
        }
        self.config
            .registrar
            .map(|addr| Target {
                transport: self.config.transport,
                addr,
            })
            .into_iter()
            .collect()
    }

    /// Locates the registrar's name again, off the event loop (once at a time): its
    /// records expired ([`UaEvent::TargetsExpired`]: the REGISTER waits for it). The result
    /// comes to [`Phone::registrar_relocated`].
    fn relocate_registrar(&mut self, now: Instant) {
        if self.registrar.relocate() {
            self.locate_registrar(now);
        }
    }

    /// Starts the lookup of the registrar's name that [`Phone::registrar`] asked for.
    fn locate_registrar(&mut self, now: Instant) {
        let (Some(resolver), Some(uri)) =
            (self.resolver.clone(), self.config.registrar_name.clone())
        else {
            self.registrar.resolved(now, Err("no nameserver".into()));
            return;
        };
        let (tx, transport) = (self.found.clone(), self.config.transport);
        tokio::spawn(async move {
            let found = locate_name(&resolver, &uri, transport).await;
            let _ = tx.send(Found::Registrar(found)).await;
        });
    }

    /// The call on `leg` is established: when its dialog's next hop (the first route, else
    /// the peer's Contact) is a host name, it is located (RFC 3263, off the event loop) for
    /// the call's later requests ([`Phone::located`]). An IP next hop is left alone: the
    /// requests keep going where the INVITE went or came from, which is also right behind
    /// a NAT that rewrote nothing in the Contact.
    fn locate_dialog_hop(&mut self, leg: LegId) {
        let lookup = self.resolver.as_ref().map(|r| (r, &self.found));
        if let Some(line) = locate_dialog_hop(
            &self.ua,
            leg,
            self.config.transport,
            lookup,
            Found::DialogHop,
        ) {
            self.log(line);
        }
    }

    /// A lookup's result.
    fn found(&mut self, now: Instant, found: Found) {
        match found {
            Found::Registrar(found) => self.registrar_relocated(now, found),
            Found::DialogHop(hop) => {
                if self.call.as_ref().is_none_or(|c| c.leg != hop.leg) {
                    return;
                }
                if let Some(line) = set_dialog_hop(&mut self.ua, hop) {
                    self.log(line);
                }
            }
        }
    }

    /// The registrar located again: REGISTERs and calls go to the new targets. A failure
    /// keeps the old ones (they beat none, RFC 3263 gives no better): for the calls, for
    /// [`RELOCATE_RETRY`](crate::trunk::RELOCATE_RETRY); for the registration, still stale,
    /// so the next REGISTER due asks again. A phone whose registrar could not be located
    /// at the start registers once it is.
    fn registrar_relocated(&mut self, now: Instant, located: Result<TargetList, String>) {
        if let Some(uri) = &self.config.registrar_name {
            self.log(located_line(uri, &located));
        }
        let list = located.clone().unwrap_or_default();
        self.registrar.resolved(now, located);
        match self.reg {
            Some(id) => {
                if let Err(e) = self.ua.relocate_registration(now, id, list) {
                    self.log(format!("REGISTER not sent: {e}"));
                }
            }
            None if self.quit.is_none() && !list.is_empty() => self.start_register(now),
            None => {}
        }
    }

    fn aor(&self) -> Option<Uri> {
        format!("sip:{}@{}", self.config.user, self.domain())
            .parse()
            .ok()
    }

    /// Registers through sip-core's registration client, which answers the digest
    /// challenges, refreshes before expiry and retries after failures.
    fn start_register(&mut self, now: Instant) {
        let targets = self.registrar_targets();
        if targets.is_empty() {
            return;
        }
        let (Ok(uri), Some(aor)) = (format!("sip:{}", self.domain()).parse::<Uri>(), self.aor())
        else {
            return;
        };
        match self
            .ua
            .register(now, uri, aor, targets, self.config.expires)
        {
            Ok(id) => {
                self.reg = Some(id);
                // Set before any answer can arrive: the first failure already backs off.
                let _ = self.ua.set_register_retry(id, self.config.register_retry);
            }
            Err(e) => self.log(format!("REGISTER not sent: {e}")),
        }
    }

    /// Counts the digest challenges to our REGISTERs (for the progress report; sip-core
    /// answers them).
    fn count_challenge(&mut self, bytes: &Bytes) {
        if self.reg.is_none() || !bytes.starts_with(b"SIP/2.0 40") {
            return;
        }
        if let Ok(Message::Response(r)) = Message::parse(bytes.clone())
            && matches!(r.status().as_u16(), 401 | 407)
            && r.header::<CSeq>()
                .and_then(Result::ok)
                .is_some_and(|c| *c.method() == Method::Register)
        {
            self.challenges += 1;
        }
    }

    fn command(&mut self, c: Command) {
        let now = clock();
        match c {
            Command::Call(target) => {
                self.call(now, &target, None);
            }
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
            Command::Transfer(to) => self.transfer(now, &to, None),
            Command::AttendedTransfer { to, replaces } => match refer::Replaces::parse(&replaces) {
                Some(r) => self.transfer(now, &to, Some(&r)),
                None => self.log(format!("bad Replaces {replaces}")),
            },
            Command::Hangup => self.hangup(now),
            Command::Stats => {
                let name = &self.config.name;
                let report = self
                    .call
                    .as_ref()
                    .and_then(|c| c.media.as_ref())
                    .map_or_else(
                        || LegReport {
                            leg: name.clone(),
                            ..LegReport::default()
                        },
                        |m| m.report(name),
                    );
                self.emit(PhoneEvent::Stats(Box::new(report)));
            }
            Command::Quit => {
                if self.quit.is_none() {
                    self.quit = Some(now + QUIT_GRACE);
                }
                self.hangup(now);
                if let Some(id) = self.reg
                    && self.ua.unregister(now, id).is_err()
                {
                    self.reg = None;
                }
            }
        }
    }

    /// Blind transfer (RFC 3515): REFER the far end to `to`; its NOTIFYs report progress.
    /// With `replaces`, an attended transfer (RFC 5589 §7).
    fn transfer(&mut self, now: Instant, to: &str, replaces: Option<&refer::Replaces>) {
        let Some(uri) = self.target_uri(to) else {
            self.log(format!("bad transfer target {to}"));
            return;
        };
        let Some(call) = self.call.as_mut().filter(|c| c.answered) else {
            self.log("no call to transfer".into());
            return;
        };
        match self.ua.refer(now, call.leg, &uri, replaces) {
            Ok(key) => {
                call.refer = Some(key);
                self.log(format!("transferring to {uri}"));
            }
            Err(e) => self.log(format!("REFER not sent: {e}")),
        }
    }

    fn emit_replaces(&self, leg: LegId) {
        if let Some(r) = self.ua.replaces_for(leg) {
            self.emit(PhoneEvent::Replaces(r.header_value()));
        }
    }

    fn target_uri(&self, target: &str) -> Option<Uri> {
        if target.starts_with("sip:") || target.starts_with("sips:") {
            target.parse().ok()
        } else {
            format!("sip:{target}@{}", self.domain()).parse().ok()
        }
    }

    /// The transport towards `uri`: TLS for `sips:` (RFC 3261 §26.2), its `transport`
    /// parameter, else ours.
    fn transport_for(&self, uri: &Uri) -> Transport {
        if uri.scheme() == Scheme::Sips {
            return Transport::Tls;
        }
        match uri.param("transport").flatten() {
            Some(t) if t.eq_ignore_ascii_case("udp") => Transport::Udp,
            Some(t) if t.eq_ignore_ascii_case("tcp") => Transport::Tcp,
            Some(t) if t.eq_ignore_ascii_case("tls") => Transport::Tls,
            _ => self.config.transport,
        }
    }

    fn caps(&self) -> sdp::MediaCapabilities {
        let codecs: Vec<&str> = self.config.codecs.iter().map(String::as_str).collect();
        audio_capabilities(self.media_port, &codecs, self.config.srtp)
    }

    fn new_oa(&mut self) -> sdp::OfferAnswer {
        let caps = self.caps();
        sdp::OfferAnswer::new(
            sdp::SessionConfig::new(self.local.ip(), caps),
            &mut self.rng,
        )
    }

    /// Places a call, with a Replaces header when it completes an attended transfer (RFC
    /// 5589 §7: the Refer-To's Replaces goes into the INVITE, RFC 3891); `false` when no
    /// INVITE could be sent.
    fn call(&mut self, now: Instant, target: &str, replaces: Option<&refer::Replaces>) -> bool {
        if self.call.is_some() {
            self.log("already in a call".into());
            return false;
        }
        let (Some(to), Some(from)) = (self.target_uri(target), self.aor()) else {
            self.log(format!("bad target {target}"));
            return false;
        };
        if self.registrar.lookup(now) == Lookup::Resolve {
            // This call takes the last targets; the calls after it the new ones.
            self.locate_registrar(now);
        }
        let mut targets = self.registrar_targets().into_vec();
        if targets.is_empty() {
            match to.host().trim_matches(['[', ']']).parse::<IpAddr>() {
                Ok(ip) => targets.push(Target {
                    transport: self.transport_for(&to),
                    addr: SocketAddr::new(ip, to.port().unwrap_or(5060)),
                }),
                Err(_) => {
                    self.log(format!("cannot reach {to} without a registrar"));
                    return false;
                }
            }
        } else if self.registrar.current().is_none_or(TargetList::is_empty)
            && let Some(t) = targets.first_mut()
        {
            // A numeric registrar: the URI's transport (sips:, ;transport=) decides.
            t.transport = self.transport_for(&to);
        }
        let Some(&target) = targets.first() else {
            return false;
        };
        let mut oa = self.new_oa();
        let Ok(offer) = oa.create_offer(&mut self.rng) else {
            return false;
        };
        let body = Body::sdp(offer.to_bytes());
        let fallback = savp_fallback(self.local.ip(), &self.caps(), &mut self.rng);
        let replaces = replaces.map(refer::Replaces::header_value);
        let extra: Vec<(&str, &str)> = replaces.iter().map(|v| ("Replaces", v.as_str())).collect();
        match self.ua.invite_with(
            now,
            from,
            to.clone(),
            to.clone(),
            targets,
            Some(body),
            &extra,
        ) {
            Ok(leg) => {
                let mut call = Call::new(leg, oa, true);
                // A refusal of the best-effort SRTP offer gets one retry with RTP/SAVP.
                call.fallback = fallback
                    .and_then(|(oa, body)| self.ua.set_fallback_offer(leg, body).ok().map(|()| oa));
                self.call = Some(call);
                self.log(format!(
                    "calling {to} via {} {}",
                    target.transport.as_via_str(),
                    target.addr
                ));
                true
            }
            Err(e) => {
                self.log(format!("INVITE not sent: {e}"));
                false
            }
        }
    }

    fn answer(&mut self, now: Instant) {
        let Some(call) = self.call.as_mut() else {
            return;
        };
        let Some(invite) = call.incoming.take() else {
            return;
        };
        // A body without SDP (a SIP-I ISUP or a PIDF-LO alone, RFC 5621) is no offer either.
        let Some(offer) = crate::media::offered_sdp(invite.headers()) else {
            // Late offer: our offer goes in the 200 and media starts from the ACK's answer.
            match call.oa.create_offer(&mut self.rng) {
                Ok(offer) => {
                    let _ = self
                        .ua
                        .answer(now, call.leg, Some(Body::sdp(offer.to_bytes())));
                    call.answered = true;
                    call.answer_in_ack = true;
                }
                Err(e) => {
                    let leg = call.leg;
                    self.log(format!("cannot offer: {e}"));
                    let _ = self.ua.reject(now, leg, 500);
                    self.call = None;
                }
            }
            return;
        };
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
                let leg = call.leg;
                self.media_up(now, leg);
            }
            Err(why) => {
                let leg = call.leg;
                self.log(format!("cannot answer: {why}"));
                let _ = self.ua.reject(now, leg, 488);
                self.call = None;
            }
        }
    }

    /// The ACK of our 2xx: when the 2xx carried our offer, the ACK carries the answer; the
    /// media starts from it (or, on a re-INVITE, follows it). An ACK without SDP (no body,
    /// or none in it) was already answered by the UA with a BYE; an answer we cannot use
    /// ends the call the same way (RFC 3261 §13.2.2.4 style, `Reason: SIP;cause=488`).
    fn on_ack(&mut self, now: Instant, leg: LegId, ack: &Request) {
        let Some(call) = self
            .call
            .as_mut()
            .filter(|c| c.leg == leg && c.answer_in_ack)
        else {
            return;
        };
        call.answer_in_ack = false;
        let Some(answer) = crate::media::offered_sdp(ack.headers()) else {
            return;
        };
        let used = answer.map_err(|e| e.to_string()).and_then(|a| {
            call.oa
                .handle_answer(&a)
                .map(|_| ())
                .map_err(|e| e.to_string())
        });
        match used {
            Ok(()) if call.media.is_none() => {
                self.media_up(now, leg);
            }
            Ok(()) => self.follow_negotiation(),
            Err(why) => {
                self.log(format!("bad SDP answer in the ACK: {why}"));
                let reason = "SIP;cause=488;text=\"Unusable answer in the ACK\"";
                let _ = self.ua.bye_with(now, leg, &[("Reason", reason)]);
            }
        }
    }

    /// After a re-negotiation the far end started: the media follows the stream (sending or
    /// not, the remote address), and a hold or resume by the far end is logged.
    fn follow_negotiation(&mut self) {
        let Some(call) = self.call.as_mut() else {
            return;
        };
        let stream = call.oa.streams().first();
        let sending = stream.is_some_and(|s| s.is_sending());
        if let (Some(m), Some(s)) = (call.media.as_mut(), stream) {
            m.set_sending(sending);
            if let Some((rtp, rtcp)) = crate::media::remote_addrs(s) {
                m.set_remote(rtp, rtcp);
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

    /// The call is up: media starts from the negotiation, and a call that replaced another
    /// says so.
    fn media_up(&mut self, now: Instant, leg: LegId) {
        if let Some(call) = self.call.as_mut() {
            Self::start_media(
                &self.events,
                &mut self.rng,
                call,
                now,
                self.config.play.as_ref(),
            );
        }
        self.emit_replaces(leg);
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
        self.end_call_as(now, by_peer, false);
    }

    fn end_call_as(&mut self, now: Instant, by_peer: bool, transferred: bool) {
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
            transferred,
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
                    let from = request
                        .header::<From>()
                        .and_then(Result::ok)
                        .map(|f| f.uri().to_string())
                        .unwrap_or_default();
                    if self.call.is_some() {
                        // One call at a time: say whose INVITE was turned away.
                        let call_id = request
                            .header::<CallId>()
                            .and_then(Result::ok)
                            .map(|c| c.to_string())
                            .unwrap_or_default();
                        self.log(format!("busy: 486 to {from} (Call-ID {call_id})"));
                        let _ = self.ua.reject(now, leg, 486);
                        continue;
                    }
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
                UaEvent::Provisional { leg, response }
                    if self.call.as_ref().is_some_and(|c| c.leg == leg) =>
                {
                    if crate::trunk::is_reliable(&response) {
                        // Its next PRACKs and UPDATEs go to the early dialog's next hop.
                        self.locate_dialog_hop(leg);
                    }
                    if response.status().0 == 180 || response.status().0 == 183 {
                        self.emit(PhoneEvent::Ringing);
                    }
                }
                UaEvent::Answered { leg, response } => {
                    let Some(call) = self.call.as_mut().filter(|c| c.leg == leg) else {
                        continue;
                    };
                    if let Some(referrer) = self.referrer.take() {
                        Self::notify_referrer(&mut self.ua, now, referrer, 200);
                    }
                    let parsed = crate::media::parse_body_sdp(response.headers());
                    match parsed.map_err(|e| e.to_string()).and_then(|a| {
                        call.oa
                            .handle_answer(&a)
                            .map(|_| ())
                            .map_err(|e| e.to_string())
                    }) {
                        Ok(()) => {
                            call.answered = true;
                            self.media_up(now, leg);
                            self.locate_dialog_hop(leg);
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
                    if let Some(referrer) = self.referrer.take() {
                        Self::notify_referrer(&mut self.ua, now, referrer, status);
                    }
                    self.emit(PhoneEvent::CallFailed(status));
                }
                UaEvent::OfferRetried { leg, status } => {
                    let Some(call) = self.call.as_mut().filter(|c| c.leg == leg) else {
                        continue;
                    };
                    if let Some(oa) = call.fallback.take() {
                        call.oa = oa;
                        self.log(format!(
                            "the callee refused RTP/AVP with a=crypto ({status}): offering RTP/SAVP"
                        ));
                    }
                }
                UaEvent::FailedOver { leg, .. } => {
                    let what = if leg.is_some() { "call" } else { "registrar" };
                    if let Some(line) = crate::trunk::failover_line(what, &ev) {
                        self.log(line);
                    }
                }
                UaEvent::Registered { id, .. } if self.reg == Some(id) => {
                    let challenges = std::mem::take(&mut self.challenges);
                    self.emit(PhoneEvent::Registered { challenges });
                }
                UaEvent::RegistrationFailed { id, status } if self.reg == Some(id) => {
                    self.challenges = 0;
                    self.emit(PhoneEvent::RegisterFailed(status));
                    if self.quit.is_some() {
                        self.reg = None;
                    }
                }
                UaEvent::TargetsExpired { registration } if self.reg == Some(registration) => {
                    // The registrar's records expired: its REGISTER waits for a new location.
                    self.relocate_registrar(now);
                }
                UaEvent::Unregistered { id } if self.reg == Some(id) => {
                    self.reg = None;
                    self.log("unregistered".into());
                }
                UaEvent::Confirmed { leg, ack } => {
                    self.on_ack(now, leg, &ack);
                    if self.call.as_ref().is_some_and(|c| c.leg == leg) {
                        self.locate_dialog_hop(leg);
                    }
                }
                UaEvent::Cancelled { leg } | UaEvent::Ended { leg, .. }
                    if self.call.as_ref().is_none_or(|c| c.leg != leg) => {}
                UaEvent::Cancelled { .. } => {
                    self.call = None;
                    self.emit(PhoneEvent::CallFailed(487));
                }
                UaEvent::Ended { by_peer, .. } => self.end_call(now, by_peer),
                UaEvent::Request { key, leg, request } => self.on_request(now, key, leg, request),
                UaEvent::Response {
                    leg: Some(leg),
                    status,
                    response,
                    key,
                } => self.on_dialog_response(&key, leg, status, response),
                _ => {}
            }
        }
    }

    fn on_dialog_response(
        &mut self,
        key: &TransactionKey,
        leg: LegId,
        status: u16,
        response: Option<Response>,
    ) {
        let Some(call) = self.call.as_mut().filter(|c| c.leg == leg) else {
            return;
        };
        if call.refer.as_ref() == Some(key) {
            call.refer = None;
            if status >= 300 {
                self.log(format!("transfer refused: {status}"));
                self.emit(PhoneEvent::TransferStatus(status));
            }
            return;
        }
        let Some(hold) = call.hold_pending.take() else {
            return;
        };
        if !(200..300).contains(&status) {
            call.oa.cancel_offer();
            self.log(format!("re-INVITE refused: {status}"));
            return;
        }
        if let Some(Ok(answer)) = response.map(|r| crate::media::parse_body_sdp(r.headers()))
            && call.oa.handle_answer(&answer).is_ok()
        {
            call.on_hold = hold;
            let sending = call.oa.streams().first().is_some_and(|s| s.is_sending());
            if let Some(m) = call.media.as_mut() {
                m.set_sending(sending);
            }
            self.emit(PhoneEvent::Hold(hold));
        }
    }

    /// Reports the referred call's `status` to the transferor (RFC 3515 §2.4.5).
    fn notify_referrer(ua: &mut UserAgent, now: Instant, referrer: LegId, status: u16) {
        // The transferor may already have hung up; then there is nobody to tell.
        let _ = ua.notify_refer(now, referrer, status);
    }

    fn on_request(
        &mut self,
        now: Instant,
        key: TransactionKey,
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
                let Some(offer) = crate::media::offered_sdp(request.headers()) else {
                    // An offerless re-INVITE: we re-offer in the 200, the answer comes in
                    // the ACK (491 while our own offer is outstanding).
                    match call.oa.create_offer(&mut self.rng) {
                        Ok(offer) => {
                            let _ =
                                self.ua
                                    .respond(now, &key, 200, Some(Body::sdp(offer.to_bytes())));
                            call.answer_in_ack = true;
                        }
                        Err(_) => {
                            let _ = self.ua.respond(now, &key, 491, None);
                        }
                    }
                    return;
                };
                match offer
                    .map_err(|_| 400)
                    .and_then(|o| call.oa.handle_offer(&o, &mut self.rng).map_err(|_| 488))
                {
                    Ok(answer) => {
                        let _ = self
                            .ua
                            .respond(now, &key, 200, Some(Body::sdp(answer.to_bytes())));
                        self.follow_negotiation();
                    }
                    Err(status) => {
                        let _ = self.ua.respond(now, &key, status, None);
                    }
                }
            }
            Method::Refer if in_call => self.on_refer(now, &key, leg, &request),
            Method::Notify if in_call => {
                let _ = self.ua.respond(now, &key, 200, None);
                self.on_transfer_notify(now, &request);
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

    /// The transferee side of a blind transfer: accept (202), report 100 Trying, end this
    /// call's media and call the target; the outcome goes to the transferor as a NOTIFY,
    /// and the transferor ends the old dialog with BYE.
    fn on_refer(
        &mut self,
        now: Instant,
        key: &TransactionKey,
        leg: Option<LegId>,
        request: &Request,
    ) {
        let target = request
            .headers()
            .named_str("Refer-To")
            .find_map(|h| h.value_str())
            .and_then(refer::parse_refer_to);
        let (Some(leg), Some((uri, replaces))) = (leg, target) else {
            let _ = self.ua.respond(now, key, 400, None);
            return;
        };
        if self.referrer.is_some() {
            // One transfer at a time (RFC 3515 §2.4.2 lets us refuse).
            let _ = self.ua.respond(now, key, 491, None);
            return;
        }
        let _ = self.ua.respond(now, key, 202, None);
        Self::notify_referrer(&mut self.ua, now, leg, 100);
        self.emit(PhoneEvent::Referred(uri.clone()));
        self.log(format!("transferred to {uri}"));
        self.end_call_as(now, true, true);
        if self.call(now, &uri, replaces.as_ref()) {
            self.referrer = Some(leg);
        } else {
            Self::notify_referrer(&mut self.ua, now, leg, 400);
        }
    }

    /// The transferor side: a NOTIFY with the referred call's status line (sipfrag). After
    /// the final one we hang up: on 2xx the far end is with the target; on a failure the far
    /// end has already left our call for the target (it ended its media on the REFER).
    fn on_transfer_notify(&mut self, now: Instant, request: &Request) {
        let is_refer = request
            .headers()
            .named_str("Event")
            .filter_map(|h| h.value_str())
            .any(|v| {
                v.split(';')
                    .next()
                    .is_some_and(|e| e.trim().eq_ignore_ascii_case("refer"))
            });
        let Some(status) = is_refer
            .then(|| sipfrag_status(&request.body_bytes()))
            .flatten()
        else {
            return;
        };
        self.emit(PhoneEvent::TransferStatus(status));
        if status >= 200 {
            let outcome = if status < 300 { "completed" } else { "failed" };
            self.log(format!("transfer {outcome} ({status}), hanging up"));
            self.hangup(now);
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
        // Played as a sound card would: pull when the previous audio has played, so the
        // jitter buffer's time-stretching moves its delay (bounded: 8 pulls per tick).
        for _ in 0..8 {
            if !call.playout.due(now) {
                break;
            }
            let pcm = m.pull_stretched(now);
            call.playout.played(now, pcm.len(), m.sample_rate());
            call.recorded.extend_from_slice(&pcm);
        }
        for (p, to) in out {
            let _ = sock.send_to(&p, to).await;
        }
    }

    /// Hands what the UA wants sent to the driver task.
    async fn flush(&mut self) {
        while let Some(t) = self.ua.poll_transmit() {
            if self.sip_out.send(t).await.is_err() {
                break;
            }
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
            answer_in_ack: false,
            refer: None,
            playout: PlayoutClock::default(),
            fallback: None,
        }
    }
}

/// The status code of a `message/sipfrag` status line (`SIP/2.0 200 OK`).
fn sipfrag_status(body: &[u8]) -> Option<u16> {
    let line = body.split(|&b| b == b'\r' || b == b'\n').next()?;
    let rest = line.strip_prefix(b"SIP/2.0 ")?;
    let code = rest.get(..3)?;
    let status: u16 = std::str::from_utf8(code).ok()?.parse().ok()?;
    (100..700).contains(&status).then_some(status)
}

#[cfg(test)]
mod tests {
    use super::sipfrag_status;

    #[test]
    fn sipfrag_status_lines() {
        assert_eq!(sipfrag_status(b"SIP/2.0 100 Trying\r\n"), Some(100));
        assert_eq!(sipfrag_status(b"SIP/2.0 486 Busy Here"), Some(486));
        assert_eq!(sipfrag_status(b"SIP/2.0 20"), None);
        assert_eq!(sipfrag_status(b"INVITE sip:a@b SIP/2.0\r\n"), None);
        assert_eq!(sipfrag_status(b"SIP/2.0 099 Low\r\n"), None);
        assert_eq!(sipfrag_status(b""), None);
    }
}
