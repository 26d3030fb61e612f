//! The PBX engine on tokio: a registrar with digest auth, INVITE challenges (407), a dial plan
//! (extensions, ring groups, trunks), a B2BUA with media anchored in a [`relay`]
//! (or passed through), hold forwarding, call records and webhook events, and the protection
//! of [`guard`](crate::guard). The `pbx` program and `demo-call` run it with [`run`].
//!
//! One [`UserAgent`] carries everything: REGISTERs arrive as out-of-dialog requests and are
//! answered with the registrar service's response ([`UserAgent::send_response`]); a new
//! INVITE without valid Proxy-Authorization is answered 407 with the challenge
//! ([`UserAgent::respond_call`]) before it reaches the B2BUA. Rate limits, auth-failure
//! blocking and the scanner filter run on each datagram before the UA parses further.
//!
//! An INVITE or re-INVITE without SDP (late offer, RFC 3261 §13.2.1) gets the offer in the
//! 200 and its answer from the ACK: with the relay (and the IVR) the PBX makes that offer
//! itself, as Asterisk and FreeSWITCH do when they anchor media; with direct media the
//! other party's offer and the answer are passed through.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sip_core::auth::{
    Credentials, DigestAlgorithm, DigestSecret, DigestServer, DigestServerConfig, Verdict,
};
use sip_core::header::{CSeq, CallId, Contact, From, HeaderName, To};
use sip_core::locate::ip_target;
use sip_core::registration::{
    Binding, MemoryLocationStore, RegisterOutcome, Registrar, RegistrarConfig, RegistrarService,
    canonical_aor,
};
use sip_core::tokio::{DnsConfig, Driver, DriverConfig, Resolver, SansIo};
use sip_core::transaction::{Target, TransactionKey, Transmit, Transport};
use sip_core::ua::refer::Replaces;
use sip_core::ua::{Body, LegId, TargetList, UaConfig, UaEvent, UserAgent};
use sip_core::{Message, Method, Request, Response, Uri};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot, watch};

use crate::audio::Pcm;
use crate::cdr::{AnswerCause, CallEvent, CallRecord, CdrWriter, EndCause, Webhook};
use crate::config::{MediaMode, PbxConfig, Strategy, duration};
use crate::dialplan::{OutboundRule, Route};
use crate::gateway::{LegUpdate, TranscodeHandle, spawn_transcode_with};
use crate::guard::{AuthBlocker, RateLimiter, is_scanner};
use crate::media::{MediaLeg, MediaParams, audio_capabilities, remote_addrs, savp_fallback};
use crate::relay::{self, Recorder, RelayHandle, RelaySide};
use crate::report::LegReport;
use crate::trunk::{
    DialogHop, Located, Lookup, RELOCATE_RETRY, ServerAddress, TrunkAddress, TrunkRegistrations,
    carrier_source, locate_dialog_hop, set_dialog_hop,
};
use crate::{clock, unix_time, wallclock};

/// An error starting the PBX.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PbxError {
    /// The SIP socket could not be bound.
    #[error("pbx socket: {0}")]
    Io(#[from] std::io::Error),
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The TLS certificate or key could not be loaded.
    #[error("pbx tls: {0}")]
    Tls(String),
}

/// The longest the PBX waits in one turn of the SIP driver before it looks at its IVR tasks
/// and the shutdown signal.
const WAKE: Duration = Duration::from_millis(50);

/// A trunk's address or registrar located (or not), from a resolution task.
#[derive(Debug)]
struct TrunkLocated {
    /// The trunk (`config.trunks` index).
    index: usize,
    /// Its registrar, rather than its address.
    registrar: bool,
    result: Result<TrunkAddress, String>,
}

/// The PBX as the SIP driver's sans-IO core: every message goes through the protection of
/// [`Pbx::datagram`] before the user agent.
struct Core<'a>(&'a mut Pbx);

impl SansIo for Core<'_> {
    fn handle_input(&mut self, now: Instant, from: Target, bytes: Bytes) {
        self.0.datagram(now, from, bytes);
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.0.ua.handle_timeout(now);
    }
    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.0.ua.poll_transmit()
    }
    fn poll_timeout(&self) -> Option<Instant> {
        [self.0.ua.poll_timeout(), self.0.next_ring_timeout()]
            .into_iter()
            .flatten()
            .chain([clock() + WAKE])
            .min()
    }
    fn handle_send_error(&mut self, now: Instant, to: Target) {
        self.0.ua.handle_transport_error(now, to);
    }
    fn handle_connection_closed(&mut self, _now: Instant, peer: Target) {
        // The connection a phone registered on is gone: its calls now go to its Contact.
        self.0.flows.retain(|_, (_, flow)| *flow != peer);
    }
}

/// What the PBX did, returned when it stops.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PbxSummary {
    /// Call records written.
    pub records: Vec<CallRecord>,
    /// Successful registrations.
    pub registrations: u64,
    /// Requests dropped by the protection (rate limit, block, scanner).
    pub dropped: u64,
    /// Successful registrations of the PBX to its trunks (first ones and refreshes).
    pub trunk_registrations: u64,
    /// Trunks still registered when the PBX stopped (0 after a clean unregister).
    pub trunks_registered: usize,
}

/// Runs the PBX until `shutdown` turns true. Progress lines go to `log` when given.
///
/// # Errors
/// [`PbxError`] when the socket cannot be bound or the configuration is invalid.
pub async fn run(
    config: PbxConfig,
    seed: u64,
    log: Option<mpsc::Sender<String>>,
    shutdown: watch::Receiver<bool>,
) -> Result<PbxSummary, PbxError> {
    run_reporting(config, seed, log, shutdown, None).await
}

/// [`run`], sending the SIP address to `bound` once the sockets are bound: with port 0 in
/// `config.listen` the OS picks the port, and whoever started the PBX learns it (and that
/// the PBX is ready) without probing.
///
/// # Errors
/// As [`run`].
pub async fn run_reporting(
    config: PbxConfig,
    seed: u64,
    log: Option<mpsc::Sender<String>>,
    mut shutdown: watch::Receiver<bool>,
    bound: Option<oneshot::Sender<SocketAddr>>,
) -> Result<PbxSummary, PbxError> {
    config.validate()?;
    let mut dcfg = DriverConfig::new(config.listen);
    dcfg.tcp = config.tcp;
    dcfg.dns = config.dns.map(|ns| DnsConfig::new(vec![ns]));
    if let Some(t) = &config.tls {
        // The listener, and outgoing TLS to Contacts verified against the configured CA.
        let tls = t
            .driver_config()
            .map_err(|(_, e)| PbxError::Tls(e.to_string()))?;
        dcfg.tls = Some(tls);
    }
    let mut driver = Driver::bind(dcfg).await?;
    let local = driver.local_addr();
    let (ivr_tx, mut ivr_rx) = mpsc::channel::<IvrDone>(64);
    let (dns_tx, mut dns_rx) = mpsc::channel::<TrunkLocated>(64);
    let (hop_tx, mut hop_rx) = mpsc::channel::<DialogHop>(64);
    let named = config.trunks.iter().any(|t| {
        matches!(t.address, ServerAddress::Name(_))
            || matches!(t.registrar(), ServerAddress::Name(_))
    });
    let mut pbx = Pbx::new(config, local, seed, log, ivr_tx)?;
    if named {
        // Trunk names are located in tasks of their own (the driver goes on meanwhile).
        pbx.dns = Some((driver.resolver()?, dns_tx));
    }
    // So is the next hop of a trunk call's dialog that is a host name (any trunk's carrier
    // may answer with such a Contact); without a nameserver it is not located.
    if !pbx.config.trunks.is_empty()
        && let Ok(resolver) = driver.resolver()
    {
        pbx.hops = Some((resolver, hop_tx));
    }
    if let Some(tls) = driver.tls_local_addr() {
        // Vias and Contacts of messages over TLS name the TLS listener (RFC 3261 §18.1.1).
        pbx.ua.set_listen_addr(Transport::Tls, tls);
        pbx.log(format!("listening on tls:{tls}"));
    }
    pbx.register_trunks()?;
    pbx.locate_trunks(clock());
    if let Some(bound) = bound {
        let _ = bound.send(local);
    }
    loop {
        pbx.post_hooks().await;
        if let Err(e) = driver.step(&mut Core(&mut pbx)).await {
            pbx.log(format!("sip socket: {e}"));
        }
        // The IVR tasks and the shutdown are looked at after every turn (a turn lasts at most
        // WAKE): the driver's turn is not cancelled half-way through a stream write.
        while let Ok(done) = ivr_rx.try_recv() {
            pbx.ivr_digit(clock(), done);
        }
        while let Ok(done) = dns_rx.try_recv() {
            pbx.trunk_located(clock(), done);
        }
        while let Ok(hop) = hop_rx.try_recv() {
            pbx.dialog_hop_located(hop);
        }
        pbx.ring_timeouts(clock());
        pbx.registrar_retries(clock());
        pbx.drain_ua().await;
        if shutdown.has_changed().is_err() || *shutdown.borrow_and_update() {
            break;
        }
    }
    // Hang up what is left, remove our trunk registrations, and give it all a moment to go
    // out.
    let now = clock();
    let legs: Vec<LegId> = pbx.calls.values().flat_map(|c| c.legs()).collect();
    for l in legs {
        let _ = pbx.ua.bye(now, l);
    }
    pbx.trunk_regs.unregister(&mut pbx.ua, now);
    let end = tokio::time::Instant::now() + Duration::from_secs(3);
    while pbx.trunk_regs.pending() {
        let turn = tokio::time::timeout_at(end, driver.step(&mut Core(&mut pbx))).await;
        while let Some(ev) = pbx.ua.poll_event() {
            if let Some(line) = pbx.trunk_regs.on_event(&ev) {
                pbx.log(line);
            }
        }
        if turn.is_err() {
            break;
        }
    }
    let _ = driver.flush(&mut Core(&mut pbx)).await;
    pbx.summary.trunks_registered = pbx.trunk_regs.registered();
    let ids: Vec<u64> = pbx.calls.keys().copied().collect();
    for id in ids {
        pbx.finish(id, EndCause::System, 503).await;
    }
    pbx.post_hooks().await;
    Ok(pbx.summary)
}

struct Secrets(HashMap<String, String>);

impl sip_core::registration::SecretStore for Secrets {
    fn secret(&self, username: &str) -> Option<DigestSecret> {
        self.0
            .get(username)
            .map(|p| DigestSecret::Password(p.clone()))
    }
}

#[derive(Debug)]
struct Outgoing {
    leg: LegId,
    oa: Option<sdp::OfferAnswer>,
    member: String,
    /// The relay socket facing this party, bound before the offer names its port.
    sock: Option<std::net::UdpSocket>,
    /// The party is a trunk.
    trunk: bool,
    /// The engine of the RTP/SAVP offer the INVITE goes again with if the party refuses the
    /// best-effort SRTP offer with 488 or 606 ([`crate::media::savp_fallback`]).
    fallback: Option<sdp::OfferAnswer>,
    /// The status that refused the first offer, once the INVITE went again with RTP/SAVP.
    retried: Option<u16>,
}

#[derive(Debug)]
struct B2buaCall {
    a_leg: LegId,
    a_offer: Bytes,
    a_oa: Option<sdp::OfferAnswer>,
    from: String,
    to: String,
    call_id: String,
    destination: String,
    start: f64,
    answer: Option<f64>,
    b: Vec<Outgoing>,
    winner: Option<usize>,
    pending_members: Vec<(String, Target)>,
    ring_deadline: Option<Instant>,
    relay: Option<RelayHandle>,
    codec: Option<String>,
    ended_by_a: Option<bool>,
    hold_key: Option<TransactionKey>,
    /// IVR: the PBX's own media leg towards the caller, once a digit was chosen.
    ivr_media: Option<(MediaLeg, UdpSocket, Option<Recorder>)>,
    /// IVR: stops the prompt task.
    ivr_stop: Option<oneshot::Sender<()>>,
    /// IVR calls, and calls whose sides share no codec, are bridged by decoding and
    /// re-encoding (two media legs).
    bridge: Option<TranscodeHandle>,
    /// A blind transfer in progress (REFER from one party).
    transfer: Option<Transfer>,
    /// Reports of media legs that left the call (attended transfer, Replaces), for the record.
    earlier: Vec<LegReport>,
    /// The WAV file the call's relay records to.
    recording: Option<std::path::PathBuf>,
    /// Re-INVITE changes for the transcoder of `bridge`.
    bridge_updates: Option<mpsc::Sender<LegUpdate>>,
    /// INVITE without SDP: what waits for the caller's answer in its ACK.
    late: Option<LateOffer>,
    /// Direct media: a party's re-INVITE passed on to the other party (our request's key,
    /// the party's server transaction), whose final answer goes back to it.
    forwarded: Option<(TransactionKey, TransactionKey)>,
    /// Parties owed a re-offer once our re-INVITE still out to them is answered (RFC 3261
    /// §14.1: one INVITE transaction at a time), e.g. a resume that overtook the hold's
    /// re-INVITE ([`Pbx::reoffer`]).
    reoffer_after_answer: Vec<LegId>,
}

/// An INVITE without SDP in relay mode (RFC 3261 §13.2.1, RFC 3264 §5: the offer goes in
/// the 2xx, the answer comes in the ACK). As Asterisk and FreeSWITCH do when they anchor the
/// media, the PBX offers the callee its own codecs in an ordinary INVITE; once the callee
/// answered, the caller gets the PBX's offer in the 200 (the callee's codec first, so that
/// packets are relayed as they are when it takes it), and the media starts when the
/// caller's answer arrives in its ACK ([`Pbx::caller_answered`]).
#[derive(Debug)]
enum LateOffer {
    /// A call to a callee (relay mode).
    Bridge(Box<LateBridge>),
    /// A call to the IVR: the socket of the PBX's own media; the prompt starts from the
    /// answer ([`Pbx::ivr_answered`]).
    Ivr(UdpSocket),
}

/// [`LateOffer::Bridge`]: the callee's side is negotiated, the caller's waits.
#[derive(Debug)]
struct LateBridge {
    /// The relay socket facing the caller (the port of the PBX's offer).
    sock_a: UdpSocket,
    /// The relay socket facing the callee.
    sock_b: UdpSocket,
    /// What the PBX negotiated with the callee.
    b: MediaParams,
    /// Who answered.
    member: String,
}

/// Where a party sits in an answered call: the caller's side (the relay's side a) or the
/// answering callee's (side b, `b[index]`).
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum Party {
    A,
    B(usize),
}

/// A party joining an answered call in place of another (attended transfer, INVITE with
/// Replaces): its leg, negotiation, and the relay socket facing it.
struct Newcomer {
    leg: LegId,
    oa: sdp::OfferAnswer,
    sock: UdpSocket,
    side: RelaySide,
}

/// A blind transfer (RFC 3515): the transferor sent REFER; the PBX calls the target and, once
/// it answers, puts it on the transferor's side of the relay and hangs up the transferor.
#[derive(Debug)]
struct Transfer {
    /// The transferor's leg (it sent the REFER and gets the NOTIFYs).
    from: LegId,
    /// Whether the transferor is the relay's side a (the caller).
    a_side: bool,
    /// The INVITE to the target.
    leg: LegId,
    oa: sdp::OfferAnswer,
    sock: Option<std::net::UdpSocket>,
    member: String,
    /// The target is a trunk.
    trunk: bool,
}

/// The IVR prompt task's result: the caller pressed `digit`.
struct IvrDone {
    id: u64,
    digit: char,
    media: MediaLeg,
    sock: UdpSocket,
    /// The call's recording so far (the caller, and the prompt as the other side).
    recorder: Option<Recorder>,
}

impl B2buaCall {
    /// Whether the caller's INVITE carried an offer (an INVITE without a body is a late
    /// offer: RFC 3261 §13.2.1).
    fn has_offer(&self) -> bool {
        carries_sdp(&self.a_offer)
    }

    fn legs(&self) -> Vec<LegId> {
        let mut v = vec![self.a_leg];
        v.extend(self.b.iter().map(|o| o.leg));
        v.extend(self.transfer.as_ref().map(|t| t.leg));
        v
    }

    /// The position of `leg` once the call is answered.
    fn party(&self, leg: LegId) -> Option<Party> {
        if leg == self.a_leg {
            return Some(Party::A);
        }
        let w = self.winner?;
        (self.b.get(w)?.leg == leg).then_some(Party::B(w))
    }

    /// The party facing `p`.
    fn other(&self, p: Party) -> Option<Party> {
        match p {
            Party::A => self.winner.map(Party::B),
            Party::B(_) => Some(Party::A),
        }
    }

    fn leg_of(&self, p: Party) -> Option<LegId> {
        match p {
            Party::A => Some(self.a_leg),
            Party::B(w) => self.b.get(w).map(|o| o.leg),
        }
    }

    /// The user at `p` (the caller's user, or the extension or number that answered).
    fn name_of(&self, p: Party) -> &str {
        match p {
            Party::A => &self.from,
            Party::B(w) => self.b.get(w).map_or("", |o| o.member.as_str()),
        }
    }

    /// The PBX's negotiation with the party at `p`.
    fn oa_mut(&mut self, p: Party) -> Option<&mut sdp::OfferAnswer> {
        match p {
            Party::A => self.a_oa.as_mut(),
            Party::B(w) => self.b.get_mut(w).and_then(|o| o.oa.as_mut()),
        }
    }

    fn take_oa(&mut self, p: Party) -> Option<sdp::OfferAnswer> {
        match p {
            Party::A => self.a_oa.take(),
            Party::B(w) => self.b.get_mut(w).and_then(|o| o.oa.take()),
        }
    }

    /// Seats another party at `p`: its leg and negotiation replace the old party's.
    fn seat(&mut self, p: Party, leg: LegId, oa: sdp::OfferAnswer, name: &str) {
        match p {
            Party::A => {
                self.a_leg = leg;
                self.a_oa = Some(oa);
            }
            Party::B(w) => {
                if let Some(out) = self.b.get_mut(w) {
                    out.leg = leg;
                    out.oa = Some(oa);
                    name.clone_into(&mut out.member);
                    name.clone_into(&mut self.destination);
                }
            }
        }
    }
}

struct Pbx {
    config: PbxConfig,
    rules: Vec<OutboundRule>,
    local: SocketAddr,
    ua: UserAgent,
    registrar: RegistrarService<MemoryLocationStore, Secrets>,
    invite_auth: DigestServer,
    secrets: HashMap<String, String>,
    rng: ChaCha8Rng,
    ext_aor: HashMap<String, String>,
    calls: HashMap<u64, B2buaCall>,
    by_leg: HashMap<LegId, u64>,
    next_call: u64,
    register_limit: RateLimiter,
    invite_limit: RateLimiter,
    blocker: AuthBlocker,
    cdr: Option<CdrWriter>,
    webhook: Option<Webhook>,
    hooks: Vec<String>,
    log: Option<mpsc::Sender<String>>,
    summary: PbxSummary,
    ivr_tx: mpsc::Sender<IvrDone>,
    prompt: Option<Pcm>,
    trunk_regs: TrunkRegistrations,
    /// The targets of each trunk (`config.trunks` order), kept until their records expire.
    trunk_targets: Vec<Located<TrunkAddress>>,
    /// Calls waiting for their trunk to be located: (call, trunk, number).
    parked: Vec<(u64, usize, String)>,
    /// Trunks whose registrar could not be located before a first REGISTER: when to try
    /// again.
    registrar_retry: Vec<(usize, Instant)>,
    /// Locates trunk names off the event loop; results come back on the channel.
    dns: Option<(Resolver, mpsc::Sender<TrunkLocated>)>,
    /// Locates the next hop of trunk calls' dialogs off the event loop
    /// ([`Pbx::locate_dialog_hop`]).
    hops: Option<(Resolver, mpsc::Sender<DialogHop>)>,
    /// The connection each REGISTER arrived on, by (Call-ID, CSeq), for REGISTERs over a
    /// stream (TCP, TLS, WebSocket); taken when the registrar answers.
    register_from: HashMap<(String, u32), Target>,
    /// Contacts registered over a stream: the connection to send their calls on (RFC 5626
    /// style flow reuse; the Contact's own address may not listen), with the AOR.
    flows: HashMap<String, (String, Target)>,
}

/// Bound of [`Pbx::register_from`] and [`Pbx::flows`] (flood protection).
const MAX_FLOWS: usize = 10_000;

impl Pbx {
    fn new(
        config: PbxConfig,
        local: SocketAddr,
        seed: u64,
        log: Option<mpsc::Sender<String>>,
        ivr_tx: mpsc::Sender<IvrDone>,
    ) -> Result<Self, PbxError> {
        let prompt = config
            .ivr
            .as_ref()
            .and_then(|i| crate::audio::read_wav(&i.prompt, 48_000 * 120).ok());
        let rules = config.outbound_rules()?;
        let secrets: HashMap<String, String> = config
            .users
            .iter()
            .map(|u| (u.extension.clone(), u.password.clone()))
            .collect();
        let mut ua_cfg = UaConfig::new(local, "pbx", seed);
        // An INVITE offering every codec with SDES keys is about 1.4 kB: RFC 3261 §18.1.1
        // sends it over TCP, and over UDP after all to a peer that refuses TCP (sip-core's
        // fallback).
        ua_cfg.user_agent = Some(format!("telox-pbx/{}", env!("CARGO_PKG_VERSION")));
        // Challenges from trunks (REGISTER and outbound INVITEs) are answered with the trunk
        // credentials (one set: `PbxConfig::validate` checks that they agree).
        ua_cfg.credentials = config
            .trunks
            .iter()
            .find_map(|t| t.username.clone().zip(t.password.clone()));
        let algorithms: Vec<DigestAlgorithm> = config
            .digest_algorithms
            .iter()
            .filter_map(|a| DigestAlgorithm::from_token(a))
            .collect();
        let digest = |seed: u64| {
            let mut c = DigestServerConfig::new(config.realm.clone(), seed);
            c.algorithms.clone_from(&algorithms);
            DigestServer::new(c)
        };
        let registrar = RegistrarService::with_auth(
            Registrar::new(RegistrarConfig::default(), MemoryLocationStore::default()),
            digest(seed ^ 0x1),
            Secrets(secrets.clone()),
        );
        let invite_auth = digest(seed ^ 0x2);
        let l = &config.limits;
        let window = duration(&l.auth_window, "auth_window")?;
        let block = duration(&l.block_for, "block_for")?;
        let webhook = match &config.webhook {
            Some(w) => Some(
                Webhook::parse(w)
                    .map_err(|e| crate::config::ConfigError::Invalid(e.to_string()))?,
            ),
            None => None,
        };
        Ok(Self {
            rules,
            local,
            ua: UserAgent::new(ua_cfg),
            registrar,
            invite_auth,
            secrets,
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0x3),
            ext_aor: HashMap::new(),
            calls: HashMap::new(),
            by_leg: HashMap::new(),
            next_call: 1,
            register_limit: RateLimiter::new(l.register_per_sec, l.burst, l.max_sources),
            invite_limit: RateLimiter::new(l.invite_per_sec, l.burst, l.max_sources),
            blocker: AuthBlocker::new(l.auth_failures, window, block, l.max_sources),
            cdr: config.cdr_file.clone().map(CdrWriter::new),
            webhook,
            hooks: Vec::new(),
            log,
            summary: PbxSummary::default(),
            ivr_tx,
            prompt,
            trunk_regs: TrunkRegistrations::default(),
            trunk_targets: config
                .trunks
                .iter()
                .map(|t| match &t.address {
                    ServerAddress::Addr(a) => Located::fixed(t.at(*a)),
                    ServerAddress::Name(_) => Located::default(),
                })
                .collect(),
            parked: Vec::new(),
            registrar_retry: Vec::new(),
            dns: None,
            hops: None,
            register_from: HashMap::new(),
            flows: HashMap::new(),
            config,
        })
    }

    /// Starts the registrations to the trunks that want one; a registrar named by host or
    /// URI is located first ([`Pbx::trunk_located`] starts its registration).
    fn register_trunks(&mut self) -> Result<(), PbxError> {
        let specs = self
            .config
            .trunks
            .iter()
            .filter_map(|t| t.registration().transpose())
            .collect::<Result<Vec<_>, _>>()?;
        let (regs, lines) = TrunkRegistrations::start(&mut self.ua, clock(), specs);
        self.trunk_regs = regs;
        for l in lines {
            self.log(l);
        }
        let named: Vec<usize> = self
            .config
            .trunks
            .iter()
            .enumerate()
            .filter(|(_, t)| t.register && matches!(t.registrar(), ServerAddress::Name(_)))
            .map(|(i, _)| i)
            .collect();
        for i in named {
            self.locate_trunk(i, true);
        }
        Ok(())
    }

    /// Locates the trunks named by host or URI at the start, so that calls from their
    /// addresses are known as theirs before the first call to them ([`Pbx::is_carrier_leg`]).
    fn locate_trunks(&mut self, now: Instant) {
        for i in 0..self.trunk_targets.len() {
            if self
                .trunk_targets
                .get_mut(i)
                .is_some_and(|l| l.lookup(now) == Lookup::Resolve)
            {
                self.locate_trunk(i, false);
            }
        }
    }

    /// Locates trunk `index`'s address (or its registrar) in a task of its own; the result
    /// comes to [`Pbx::trunk_located`].
    fn locate_trunk(&mut self, index: usize, registrar: bool) {
        let Some(t) = self.config.trunks.get(index) else {
            return;
        };
        let server = if registrar { t.registrar() } else { &t.address }.clone();
        // One trunk, one transport: its registrar is located over the trunk's.
        let transport = t.transport();
        let done = move |result| TrunkLocated {
            index,
            registrar,
            result,
        };
        let uri = match &server {
            // An address: nothing to locate (the Located of an address never asks).
            ServerAddress::Addr(a) => {
                let at = t.at(*a);
                self.trunk_located(clock(), done(Ok(at)));
                return;
            }
            // Over the trunk's transport even when this URI names none (a TCP trunk's
            // registrar written `sip:host`): its UDP targets would all be dropped.
            ServerAddress::Name(uri) => server.locate_uri(transport).unwrap_or_else(|| uri.clone()),
        };
        let Some((resolver, tx)) = self.dns.clone() else {
            self.trunk_located(clock(), done(Err("no resolver".into())));
            return;
        };
        self.log(format!("trunk {}: locating {server}", t.name));
        tokio::spawn(async move {
            let result = match resolver.resolve_list(&uri).await {
                Ok(list) => TrunkAddress::from_list(&server, transport, &list),
                Err(e) => Err(format!("{server}: {e}")),
            };
            let _ = tx.send(done(result)).await;
        });
    }

    /// A trunk name located (or not): the calls waiting for it go out, or fail with 503; a
    /// registrar starts its registration, or takes the new targets (an empty list after a
    /// failure keeps the old ones, RFC 3263 gives no better).
    fn trunk_located(&mut self, now: Instant, done: TrunkLocated) {
        let Some(name) = self.config.trunks.get(done.index).map(|t| t.name.clone()) else {
            return;
        };
        match &done.result {
            Ok(a) => self.log(format!("trunk {name}: located {a}")),
            Err(e) => self.log(format!("trunk {name}: cannot locate: {e}")),
        }
        if done.registrar {
            match (self.trunk_regs.id_of(&name), done.result) {
                (Some(id), result) => {
                    let list = result.map(|a| a.target_list()).unwrap_or_default();
                    if let Err(e) = self.ua.relocate_registration(now, id, list) {
                        self.log(format!("trunk {name}: REGISTER failed: {e}"));
                    }
                }
                (None, Ok(at)) => {
                    let spec = self
                        .config
                        .trunks
                        .get(done.index)
                        .map(|t| t.registration_at(&at));
                    match spec {
                        Some(Ok(Some(spec))) => {
                            let line = self.trunk_regs.add(&mut self.ua, now, spec);
                            self.log(line);
                        }
                        Some(Err(e)) => self.log(e.to_string()),
                        _ => {}
                    }
                }
                (None, Err(_)) => {
                    if let Some(at) = now.checked_add(RELOCATE_RETRY) {
                        self.registrar_retry.push((done.index, at));
                    }
                }
            }
            return;
        }
        let Some(located) = self.trunk_targets.get_mut(done.index) else {
            return;
        };
        let address = located.resolved(now, done.result);
        let (waiting, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.parked)
            .into_iter()
            .partition(|p| p.1 == done.index);
        self.parked = rest;
        for (id, index, number) in waiting {
            let gone = self.calls.get(&id).is_none_or(|c| !c.b.is_empty());
            if gone {
                continue;
            }
            match &address {
                Some(a) => self.fork_to(
                    now,
                    id,
                    &number,
                    a.target_list(),
                    Some((index, a.host.clone())),
                ),
                None => self.no_route(now, id, 503),
            }
        }
    }

    /// Locates again the registrars that could not be located for a first REGISTER.
    fn registrar_retries(&mut self, now: Instant) {
        if self.registrar_retry.iter().all(|r| r.1 > now) {
            return;
        }
        let (due, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.registrar_retry)
            .into_iter()
            .partition(|r| r.1 <= now);
        self.registrar_retry = rest;
        for (index, _) in due {
            self.locate_trunk(index, true);
        }
    }

    /// The targets of trunk `index` for call `id` to `number` at `now`: `None` while they
    /// are being located (the call waits in `parked` for [`Pbx::trunk_located`]; a
    /// resolution is started when none runs).
    fn trunk_lookup(
        &mut self,
        now: Instant,
        index: usize,
        id: u64,
        number: &str,
    ) -> Option<TrunkAddress> {
        let lookup = self.trunk_targets.get_mut(index)?.lookup(now);
        if let Lookup::Ready(a) = lookup {
            return Some(a);
        }
        self.parked.push((id, index, number.to_owned()));
        if lookup == Lookup::Resolve {
            self.locate_trunk(index, false);
        }
        None
    }

    /// Call `id` found no target: its caller gets `status`.
    fn no_route(&mut self, now: Instant, id: u64, status: u16) {
        let Some(leg) = self.calls.get(&id).map(|c| c.a_leg) else {
            return;
        };
        let _ = self.ua.reject(now, leg, status);
        self.finish_sync(id, AnswerCause::Unavailable, EndCause::NotAnswered, status);
    }

    fn log(&self, text: String) {
        if let Some(l) = &self.log {
            let _ = l.try_send(text);
        }
    }

    fn datagram(&mut self, now: Instant, target: Target, data: Bytes) {
        let Ok(msg) = Message::parse(data) else {
            return;
        };
        let from = target.addr;
        let Some(req) = msg.as_request() else {
            self.ua.handle_message(now, target, msg);
            return;
        };
        let ip = from.ip();
        if self.blocker.is_blocked(now, ip) {
            self.summary.dropped += 1;
            return;
        }
        if self.config.limits.drop_scanners
            && req
                .headers()
                .named(HeaderName::UserAgent)
                .filter_map(|h| h.value_str())
                .any(is_scanner)
        {
            self.summary.dropped += 1;
            return;
        }
        let has_to_tag = req
            .header::<To>()
            .and_then(Result::ok)
            .is_some_and(|t| t.tag().is_some());
        let limited = match req.method() {
            Method::Register => !self.register_limit.check(now, ip),
            Method::Invite if !has_to_tag && !self.users_empty() => {
                !self.invite_limit.check(now, ip)
            }
            _ => false,
        };
        if limited {
            self.summary.dropped += 1;
            return;
        }
        if *req.method() == Method::Register
            && target.transport != Transport::Udp
            && let (Some(Ok(call_id)), Some(Ok(cseq))) =
                (req.header::<CallId>(), req.header::<CSeq>())
        {
            if self.register_from.len() >= MAX_FLOWS {
                self.register_from.clear();
            }
            self.register_from
                .insert((call_id.as_str().to_owned(), cseq.seq()), target);
        }
        self.ua.handle_message(now, target, msg);
    }

    fn users_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// `None`: no credentials (challenge); `Some(true)`: valid; `Some(false)`: wrong.
    fn check_invite_auth(&mut self, now: Instant, req: &Request) -> Option<bool> {
        let creds = req
            .headers()
            .named(HeaderName::ProxyAuthorization)
            .filter_map(|h| h.value_str())
            .filter_map(|v| Credentials::parse(v).ok())
            .find(|c| c.realm == self.invite_auth.realm())?;
        let Some(password) = self.secrets.get(&creds.username) else {
            return Some(false);
        };
        let from_user = req
            .header::<From>()
            .and_then(Result::ok)
            .and_then(|f| f.uri().user().map(str::to_owned));
        if from_user.as_deref() != Some(creds.username.as_str()) {
            return Some(false);
        }
        match self.invite_auth.verify(
            now,
            "INVITE",
            &creds,
            &DigestSecret::Password(password.clone()),
        ) {
            Verdict::Authorized => Some(true),
            Verdict::Stale => None,
            _ => Some(false),
        }
    }

    /// Answers a REGISTER with the registrar service (200 with the bindings, 401 challenge,
    /// 403, 423) on the UA's server transaction.
    fn register(&mut self, now: Instant, key: &TransactionKey, request: &Request) {
        let ip = crate::gateway::request_source(request);
        let tag = format!("{:08x}", self.rng.random::<u32>());
        let had_creds = request.headers().contains(HeaderName::Authorization);
        let (resp, outcome) = self.registrar.handle(now, request, &tag);
        let flow = match (request.header::<CallId>(), request.header::<CSeq>()) {
            (Some(Ok(c)), Some(Ok(s))) => {
                self.register_from.remove(&(c.as_str().to_owned(), s.seq()))
            }
            _ => None,
        };
        match &outcome {
            RegisterOutcome::Registered { aor, bindings } => {
                self.remember_flows(now, request, aor, bindings, flow);
                // A phone on TLS may register a `sips:` AOR (RFC 3261 §26.2).
                let user = aor
                    .strip_prefix("sip:")
                    .or_else(|| aor.strip_prefix("sips:"));
                if let Some(user) = user.and_then(|r| r.split('@').next()) {
                    self.ext_aor.insert(user.to_owned(), aor.clone());
                }
                self.summary.registrations += 1;
                if let Some(ip) = ip {
                    self.blocker.success(ip);
                }
                if bindings.is_empty() {
                    self.log(format!("unregistered {aor}"));
                } else {
                    self.log(format!("registered {aor} ({} binding(s))", bindings.len()));
                }
            }
            RegisterOutcome::Forbidden => {
                if let Some(ip) = ip {
                    self.blocker.failure(now, ip);
                }
            }
            RegisterOutcome::Challenged { stale: false }
                if had_creds && ip.is_some_and(|ip| self.blocker.failure(now, ip)) =>
            {
                self.log(format!(
                    "blocking {} after repeated auth failures",
                    ip.map(|i| i.to_string()).unwrap_or_default()
                ));
            }
            _ => {}
        }
        let _ = self.ua.send_response(now, key, resp);
    }

    /// Checks a new INVITE's Proxy-Authorization; answers 407 with a fresh challenge (and
    /// counts a wrong answer towards blocking the source) when it is missing or wrong.
    fn authorize_invite(&mut self, now: Instant, leg: LegId, request: &Request) -> bool {
        if self.users_empty() {
            return true;
        }
        // A carrier does not answer its customer's digest challenge: a call from one of a
        // trunk's sources (its SBCs; by default its own addresses) is the trunk's, as
        // carriers' SIP trunks are identified everywhere.
        if self.is_carrier_leg(leg) {
            return true;
        }
        let ip = crate::gateway::request_source(request);
        let verdict = self.check_invite_auth(now, request);
        if verdict == Some(true) {
            if let Some(ip) = ip {
                self.blocker.success(ip);
            }
            return true;
        }
        if verdict == Some(false)
            && let Some(ip) = ip
            && self.blocker.failure(now, ip)
        {
            self.log(format!("blocking {ip} after repeated auth failures"));
        }
        let challenges: Vec<String> = self
            .invite_auth
            .challenge(now, false)
            .iter()
            .map(ToString::to_string)
            .collect();
        let extra: Vec<(&str, &str)> = challenges
            .iter()
            .map(|c| ("Proxy-Authenticate", c.as_str()))
            .collect();
        let _ = self.ua.respond_call(now, leg, 407, None, &extra);
        false
    }

    async fn drain_ua(&mut self) {
        while let Some(ev) = self.ua.poll_event() {
            let now = clock();
            match ev {
                UaEvent::Incoming { leg, request } => {
                    if request.headers().contains(HeaderName::Replaces) {
                        self.incoming_replaces(now, leg, &request).await;
                    } else {
                        self.incoming(now, leg, request);
                    }
                }
                UaEvent::Provisional { leg, response } => {
                    if crate::trunk::is_reliable(&response) && self.is_trunk_leg(leg) {
                        // Its next PRACKs and UPDATEs go to the early dialog's next hop.
                        self.locate_hop(leg);
                    }
                    if let Some(&id) = self.by_leg.get(&leg)
                        && let Some(call) = self.calls.get(&id)
                        && call.transfer.as_ref().is_none_or(|t| t.leg != leg)
                        && (180..=183).contains(&response.status().0)
                    {
                        let a = call.a_leg;
                        let _ = self.ua.ringing(now, a, 180, None);
                    }
                }
                UaEvent::Answered { leg, response } => match self.transfer_of(leg) {
                    Some(id) => self.transfer_answered(now, id, &response).await,
                    None => {
                        self.answered(now, leg, response).await;
                        self.locate_dialog_hop(leg);
                    }
                },
                UaEvent::Failed { leg, status, .. } => match self.transfer_of(leg) {
                    Some(id) => self.transfer_failed(now, id, status),
                    None => self.b_failed(now, leg, status).await,
                },
                UaEvent::OfferRetried { leg, status } => self.offer_retried(leg, status),
                UaEvent::Cancelled { leg } => {
                    if let Some(&id) = self.by_leg.get(&leg) {
                        let b: Vec<LegId> = self
                            .calls
                            .get(&id)
                            .map(|c| c.b.iter().map(|o| o.leg).collect())
                            .unwrap_or_default();
                        for l in b {
                            let _ = self.ua.cancel(now, l);
                        }
                        self.finish_with(id, AnswerCause::Cancelled, EndCause::NotAnswered, 487)
                            .await;
                    }
                }
                UaEvent::Ended { leg, by_peer } => {
                    let Some(&id) = self.by_leg.get(&leg) else {
                        continue;
                    };
                    let Some(call) = self.calls.get_mut(&id) else {
                        continue;
                    };
                    let is_a = leg == call.a_leg;
                    let is_winner = call
                        .winner
                        .and_then(|w| call.b.get(w))
                        .is_some_and(|o| o.leg == leg);
                    if !is_a && !is_winner {
                        // A losing fork that answered too and got our BYE.
                        self.by_leg.remove(&leg);
                        continue;
                    }
                    if call.ended_by_a.is_none() {
                        call.ended_by_a = Some(is_a == by_peer);
                        let other: Vec<LegId> = if is_a {
                            call.winner
                                .and_then(|w| call.b.get(w))
                                .map(|o| o.leg)
                                .into_iter()
                                .collect()
                        } else {
                            vec![call.a_leg]
                        };
                        for l in other {
                            let _ = self.ua.bye(now, l);
                        }
                        let cause = if is_a == by_peer {
                            EndCause::CallerHangup
                        } else {
                            EndCause::CalleeHangup
                        };
                        self.finish(id, cause, 200).await;
                    }
                }
                UaEvent::Request { key, leg, request } => {
                    self.in_dialog(now, key, leg, request).await;
                }
                UaEvent::Confirmed { leg, ack } => {
                    self.confirmed(now, leg, &ack);
                    // A call a carrier placed into the PBX (or moved here with Replaces):
                    // our BYE and re-INVITEs go to its dialog's next hop by name too.
                    if self.is_carrier_leg(leg) {
                        self.locate_hop(leg);
                    }
                }
                UaEvent::TargetsExpired { registration } => {
                    // The registrar's records expired: locate it again before the REGISTER.
                    let index = self
                        .trunk_regs
                        .name_of(registration)
                        .and_then(|name| self.config.trunks.iter().position(|t| t.name == name));
                    if let Some(i) = index {
                        self.locate_trunk(i, true);
                    }
                }
                UaEvent::FailedOver { leg: Some(_), .. } => {
                    if let Some(line) = crate::trunk::failover_line("call", &ev) {
                        self.log(line);
                    }
                }
                UaEvent::Registered { .. }
                | UaEvent::RegistrationFailed { .. }
                | UaEvent::FailedOver {
                    registration: Some(_),
                    ..
                }
                | UaEvent::Unregistered { .. } => {
                    if matches!(ev, UaEvent::Registered { .. }) {
                        self.summary.trunk_registrations += 1;
                    }
                    if let Some(line) = self.trunk_regs.on_event(&ev) {
                        self.log(line);
                    }
                }
                UaEvent::Response {
                    key,
                    leg: Some(leg),
                    status,
                    response,
                } if !self.forwarded_answer(now, leg, &key, status, response.as_ref()) => {
                    // Answer to our hold/resume re-INVITE towards a party.
                    let to_invite = response.as_ref().is_some_and(|r| {
                        r.header::<CSeq>()
                            .and_then(Result::ok)
                            .is_some_and(|c| *c.method() == Method::Invite)
                    });
                    if to_invite
                        && let Some(&id) = self.by_leg.get(&leg)
                        && let Some(call) = self.calls.get_mut(&id)
                        && let Some(p) = call.party(leg)
                        && let Some(oa) = call.oa_mut(p)
                    {
                        if (200..300).contains(&status)
                            && let Some(r) = response
                            && let Ok(ans) = crate::media::parse_body_sdp(r.headers())
                        {
                            let _ = oa.handle_answer(&ans);
                        } else {
                            oa.cancel_offer();
                        }
                        let deferred = call.reoffer_after_answer.iter().position(|l| *l == leg);
                        if let Some(i) = deferred {
                            call.reoffer_after_answer.swap_remove(i);
                            self.reoffer(now, id, p);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    fn incoming(&mut self, now: Instant, leg: LegId, request: Request) {
        if !self.authorize_invite(now, leg, &request) {
            return;
        }
        let number = request.uri().user().unwrap_or_default().to_owned();
        let from = request
            .header::<From>()
            .and_then(Result::ok)
            .and_then(|f| f.uri().user().map(str::to_owned))
            .unwrap_or_default();
        let call_id = request
            .header::<CallId>()
            .and_then(Result::ok)
            .map(|c| c.to_string())
            .unwrap_or_default();
        let id = self.next_call;
        self.next_call += 1;
        let mut call = B2buaCall {
            a_leg: leg,
            a_offer: sip_core::body::sdp_or_body(request.headers()),
            a_oa: None,
            from: from.clone(),
            to: number.clone(),
            call_id,
            destination: String::new(),
            start: unix_time(),
            answer: None,
            b: Vec::new(),
            winner: None,
            pending_members: Vec::new(),
            ring_deadline: None,
            relay: None,
            codec: None,
            ended_by_a: None,
            hold_key: None,
            ivr_media: None,
            ivr_stop: None,
            bridge: None,
            transfer: None,
            earlier: Vec::new(),
            recording: None,
            bridge_updates: None,
            late: None,
            forwarded: None,
            reoffer_after_answer: Vec::new(),
        };
        self.by_leg.insert(leg, id);
        if self.calls.len() >= self.config.limits.max_calls {
            let _ = self.ua.reject(now, leg, 503);
            self.by_leg.remove(&leg);
            return;
        }
        let route = self.config.route(&number, &self.rules);
        self.log(format!("INVITE {from} -> {number}: {route:?}"));
        if self.refused_trunk_to_trunk(leg, route.as_ref(), &format!("INVITE {from} -> {number}")) {
            let _ = self.ua.reject(now, leg, 403);
            self.by_leg.remove(&leg);
            return;
        }
        if let Some(Route::Ivr(_)) = route {
            call.destination = number;
            self.calls.insert(id, call);
            self.start_ivr(now, id);
            return;
        }
        let targets: Vec<(String, Target)> = match &route {
            Some(Route::Extension(ext)) => self
                .contacts(now, ext)
                .into_iter()
                .map(|a| (ext.clone(), a))
                .collect(),
            Some(Route::RingGroup(g)) => {
                let group = self.config.ring_groups.iter().find(|r| &r.number == g);
                let members: Vec<String> = group.map(|r| r.members.clone()).unwrap_or_default();
                let ring = group
                    .and_then(|r| duration(&r.ring_timeout, "ring_timeout").ok())
                    .unwrap_or(Duration::from_secs(20));
                call.ring_deadline = Some(now + ring);
                let all: Vec<(String, Target)> = members
                    .iter()
                    .flat_map(|m| {
                        self.contacts(now, m)
                            .into_iter()
                            .map(move |a| (m.clone(), a))
                    })
                    .collect();
                if group.is_some_and(|r| r.strategy == Strategy::Sequential) {
                    call.pending_members = all.iter().skip(1).cloned().collect();
                    all.into_iter().take(1).collect()
                } else {
                    all
                }
            }
            Some(Route::Trunk { .. }) | Some(Route::Ivr(_)) | None => Vec::new(),
        };
        call.destination = match &route {
            Some(Route::Trunk { trunk, .. }) => trunk.clone(),
            _ => number.clone(),
        };
        let trunk = match &route {
            Some(Route::Trunk { trunk, number }) => self
                .config
                .trunks
                .iter()
                .position(|t| &t.name == trunk)
                .map(|i| (i, number.clone())),
            _ => None,
        };
        self.calls.insert(id, call);
        if targets.is_empty() && trunk.is_none() {
            self.no_route(now, id, if route.is_some() { 480 } else { 404 });
            return;
        }
        self.hook("call.ringing", id);
        for (member, addr) in targets {
            self.fork(now, id, &member, addr);
        }
        // A trunk named by host: its targets while fresh, else once located again.
        if let Some((index, number)) = trunk
            && let Some(at) = self.trunk_lookup(now, index, id, &number)
        {
            self.fork_to(now, id, &number, at.target_list(), Some((index, at.host)));
        }
    }

    /// Where to send the calls of `ext`: per live binding, the connection its REGISTER came
    /// on when that was a stream, else the Contact's address over the transport it names.
    fn contacts(&self, now: Instant, ext: &str) -> Vec<Target> {
        let aor = self
            .ext_aor
            .get(ext)
            .cloned()
            .unwrap_or_else(|| canonical_aor(&format!("sip:{ext}@{}", self.local.ip())));
        self.registrar
            .registrar()
            .lookup(now, &aor)
            .iter()
            .filter_map(|b| match self.flows.get(&b.contact) {
                Some((_, flow)) => Some(*flow),
                // A Contact with an IP host, by its scheme and transport (RFC 3261 §19.1.2,
                // §26.2).
                None => b
                    .contact
                    .parse::<Uri>()
                    .ok()
                    .and_then(|u| ip_target(&u).ok()),
            })
            .collect()
    }

    /// After a successful REGISTER: the request's Contacts that are bound remember `flow`
    /// (the stream it came on; `None` for UDP forgets it), the others are forgotten.
    fn remember_flows(
        &mut self,
        now: Instant,
        request: &Request,
        aor: &str,
        bindings: &[Binding],
        flow: Option<Target>,
    ) {
        for c in request.header_all::<Contact>().filter_map(Result::ok) {
            let Some(uri) = c.uri().map(ToString::to_string) else {
                continue;
            };
            match flow {
                Some(f) if bindings.iter().any(|b| b.contact == uri) => {
                    self.flows.insert(uri, (aor.to_owned(), f));
                }
                _ => {
                    self.flows.remove(&uri);
                }
            }
        }
        if self.flows.len() > MAX_FLOWS {
            // Forget the flows of bindings that expired.
            let registrar = self.registrar.registrar();
            self.flows.retain(|contact, (aor, _)| {
                registrar
                    .lookup(now, aor)
                    .iter()
                    .any(|b| &b.contact == contact)
            });
        }
    }

    /// Answers an IVR call with the PBX's own media, plays the prompt (looped) and waits for a
    /// DTMF digit; the task hands the media leg back with the digit ([`Pbx::ivr_digit`]).
    fn start_ivr(&mut self, now: Instant, id: u64) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let offered = if call.has_offer() {
            offered_codecs(&call.a_offer)
        } else {
            codecs::SUPPORTED.iter().map(|c| (*c).to_owned()).collect()
        };
        let names: Vec<&str> = offered.iter().map(String::as_str).collect();
        let Some((sock, port)) =
            bind_media(self.local.ip(), self.config.media_ports, &mut self.rng)
        else {
            let _ = self.ua.reject(now, call.a_leg, 503);
            return;
        };
        let caps = audio_capabilities(port, &names, sdp::SrtpPolicy::Optional);
        let mut oa = sdp::OfferAnswer::new(
            sdp::SessionConfig::new(self.local.ip(), caps),
            &mut self.rng,
        );
        if !call.has_offer() {
            // Late offer: the PBX's offer in the 200; the prompt starts once the caller's
            // answer arrives in its ACK ([`Pbx::ivr_answered`]).
            let (Ok(offer), Ok(sock)) = (oa.create_offer(&mut self.rng), UdpSocket::from_std(sock))
            else {
                let _ = self.ua.reject(now, call.a_leg, 500);
                return;
            };
            let _ = self
                .ua
                .answer(now, call.a_leg, Some(Body::sdp(offer.to_bytes())));
            call.answer = Some(unix_time());
            call.a_oa = Some(oa);
            call.late = Some(LateOffer::Ivr(sock));
            return;
        }
        let answer = sdp::Sdp::parse_with(call.a_offer.clone(), &sdp::ParseOptions::lenient())
            .ok()
            .and_then(|o| oa.handle_offer(&o, &mut self.rng).ok());
        let media = oa
            .streams()
            .first()
            .and_then(|s| MediaParams::from_negotiated(s, &mut self.rng).ok())
            .and_then(|p| MediaLeg::new(p, now, wallclock()).ok());
        let (Some(answer), Some(media), Ok(sock)) = (answer, media, UdpSocket::from_std(sock))
        else {
            let _ = self.ua.reject(now, call.a_leg, 488);
            return;
        };
        let _ = self
            .ua
            .answer(now, call.a_leg, Some(Body::sdp(answer.to_bytes())));
        call.answer = Some(unix_time());
        call.a_oa = Some(oa);
        self.play_prompt(id, media, sock);
    }

    /// Late offer to the IVR: the caller's ACK carried `answer` to the PBX's offer; the
    /// prompt starts, or the call ends as in [`Pbx::caller_answered`].
    fn ivr_answered(&mut self, now: Instant, id: u64, sock: UdpSocket, answer: &Bytes) {
        let media = self
            .calls
            .get_mut(&id)
            .and_then(|c| c.a_oa.as_mut())
            .and_then(|oa| answered_params(oa, answer, &mut self.rng))
            .and_then(|p| MediaLeg::new(p, now, wallclock()).ok());
        match media {
            Some(media) => self.play_prompt(id, media, sock),
            None => self.late_answer_failed(now, id, answer),
        }
    }

    /// The IVR's media towards the caller is up: the prompt task runs (recording the caller
    /// on the left channel and the prompt on the right when the call is to be recorded).
    fn play_prompt(&mut self, id: u64, media: MediaLeg, sock: UdpSocket) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        call.codec = Some(media.params().codec_label());
        let (stop_tx, stop_rx) = oneshot::channel();
        call.ivr_stop = Some(stop_tx);
        let prompt = self
            .prompt
            .as_ref()
            .map(|p| crate::audio::resample_linear(p, media.sample_rate()));
        let to = call.to.clone();
        let recorder = recorder_for(&self.config, call, &to, media.params(), media.params());
        let tx = self.ivr_tx.clone();
        tokio::spawn(ivr_task(
            IvrDone {
                id,
                digit: ' ',
                media,
                sock,
                recorder,
            },
            prompt,
            tx,
            stop_rx,
        ));
        let line = format!(
            "call {} -> IVR {}: answered, playing the prompt",
            call.from, call.to
        );
        self.log(line);
    }

    /// The caller chose `digit` in the IVR: ring the destination it maps to.
    fn ivr_digit(&mut self, now: Instant, done: IvrDone) {
        let target = self
            .config
            .ivr
            .as_ref()
            .and_then(|i| i.routes.get(&done.digit.to_string()).cloned());
        let Some(call) = self.calls.get_mut(&done.id) else {
            return;
        };
        call.ivr_stop = None;
        call.ivr_media = Some((done.media, done.sock, done.recorder));
        let a = call.a_leg;
        let from = call.from.clone();
        let targets: Vec<(String, Target)> = match target
            .as_deref()
            .and_then(|n| self.config.route(n, &self.rules))
        {
            Some(Route::Extension(ext)) => self
                .contacts(now, &ext)
                .into_iter()
                .map(|a| (ext.clone(), a))
                .collect(),
            Some(Route::RingGroup(g)) => self
                .config
                .ring_groups
                .iter()
                .find(|r| r.number == g)
                .map(|r| r.members.clone())
                .unwrap_or_default()
                .iter()
                .flat_map(|m| {
                    self.contacts(now, m)
                        .into_iter()
                        .map(move |a| (m.clone(), a))
                })
                .collect(),
            _ => Vec::new(),
        };
        self.log(format!(
            "call {from} in IVR pressed {}: {:?} ({} contact(s))",
            done.digit,
            target,
            targets.len()
        ));
        if targets.is_empty() {
            let _ = self.ua.bye(now, a);
            return;
        }
        for (member, addr) in targets {
            self.fork(now, done.id, &member, addr);
        }
    }

    /// Bridges an IVR caller (PBX-terminated media) to the answering callee by decoding and
    /// re-encoding through two media legs.
    fn bridge_ivr(&mut self, id: u64, idx: usize, b_answer: &Bytes) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let Some(out) = call.b.get_mut(idx) else {
            return;
        };
        let now = clock();
        let b_media = out
            .oa
            .as_mut()
            .and_then(|oa| answered_params(oa, b_answer, &mut self.rng))
            .and_then(|p| MediaLeg::new(p, now, wallclock()).ok());
        let b_sock = out.sock.take().and_then(|s| UdpSocket::from_std(s).ok());
        let (Some(b_media), Some(b_sock), Some((a_media, a_sock, recorder))) =
            (b_media, b_sock, call.ivr_media.take())
        else {
            let _ = self.ua.bye(now, out.leg);
            return;
        };
        let member = out.member.clone();
        let names = (format!("{} -> pbx", call.from), format!("{member} -> pbx"));
        // The recording of the IVR part goes on (the callee in the prompt's channel), else
        // the callee may be a number to record.
        let recorder = recorder.or_else(|| {
            recorder_for(
                &self.config,
                call,
                &member,
                a_media.params(),
                b_media.params(),
            )
        });
        start_transcode(call, (a_media, a_sock), (b_media, b_sock), names, recorder);
        let line = format!("call {} -> {member} answered after the IVR", call.from);
        self.log(line);
    }

    fn fork(&mut self, now: Instant, id: u64, member: &str, target: Target) {
        self.fork_to(now, id, member, target.into(), None);
    }

    /// Sends call `id`'s INVITE to `member` at `targets` (failing over along them, RFC 3263
    /// §4.3); `trunk` is the trunk (its index and the host its URIs name), for a trunk.
    fn fork_to(
        &mut self,
        now: Instant,
        id: u64,
        member: &str,
        targets: TargetList,
        trunk: Option<(usize, String)>,
    ) {
        let Some(&target) = targets.as_slice().first() else {
            return;
        };
        let addr = target.addr;
        self.log(format!(
            "calling {member} at {}:{addr}",
            target.transport.as_via_str().to_ascii_lowercase()
        ));
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let (body, oa, sock, fallback) = match self.config.media {
            // An INVITE without SDP goes on without it: the callee's offer reaches the caller
            // in the 200 and the caller's answer, in its ACK, is passed on ([`Pbx::confirmed`]).
            MediaMode::Direct => (
                call.has_offer().then(|| Body::sdp(call.a_offer.clone())),
                None,
                None,
                None,
            ),
            MediaMode::Relay => {
                // Offer the B party the codecs the caller offered first (relayed as they are),
                // then the PBX's other codecs (the PBX transcodes if B takes one of those).
                let mut offered = offered_codecs(&call.a_offer);
                for c in codecs::SUPPORTED {
                    if !offered.iter().any(|o| o.eq_ignore_ascii_case(c)) {
                        offered.push(c.to_owned());
                    }
                }
                let names: Vec<&str> = offered.iter().map(String::as_str).collect();
                let Some((sock, port)) =
                    bind_media(self.local.ip(), self.config.media_ports, &mut self.rng)
                else {
                    self.log("no free media port".into());
                    return;
                };
                let caps = audio_capabilities(port, &names, sdp::SrtpPolicy::Optional);
                let fallback = savp_fallback(self.local.ip(), &caps, &mut self.rng);
                let mut oa = sdp::OfferAnswer::new(
                    sdp::SessionConfig::new(self.local.ip(), caps),
                    &mut self.rng,
                );
                match oa.create_offer(&mut self.rng) {
                    Ok(o) => (
                        Some(Body::sdp(o.to_bytes())),
                        Some(oa),
                        Some(sock),
                        fallback,
                    ),
                    Err(_) => (None, None, None, None),
                }
            }
        };
        // A trunk with an account expects it as the caller (the From user digest checks).
        let from_user = trunk
            .as_ref()
            .and_then(|(i, _)| self.config.trunks.get(*i))
            .and_then(|t| t.username.as_deref())
            .unwrap_or(&call.from);
        let Ok(from) = format!("sip:{from_user}@{}", self.local.ip()).parse::<Uri>() else {
            return;
        };
        let is_trunk = trunk.is_some();
        let host = trunk.map_or_else(|| addr.to_string(), |(_, host)| host);
        let Ok(to) = format!("{}:{member}@{host}", scheme(target)).parse::<Uri>() else {
            return;
        };
        match self.ua.invite(now, from, to.clone(), to, targets, body) {
            Ok(leg) => {
                // A refusal of the best-effort SRTP offer gets one retry with RTP/SAVP.
                let fallback = fallback
                    .and_then(|(oa, body)| self.ua.set_fallback_offer(leg, body).ok().map(|()| oa));
                call.b.push(Outgoing {
                    leg,
                    oa,
                    member: member.to_owned(),
                    sock,
                    trunk: is_trunk,
                    fallback,
                    retried: None,
                });
                self.by_leg.insert(leg, id);
            }
            Err(e) => self.log(format!("INVITE to {member} failed: {e}")),
        }
    }

    /// The trunk call on `leg` is up: when its dialog's next hop is a host name, it is
    /// located (RFC 3263, off the event loop) for the call's BYE and re-INVITEs
    /// ([`Pbx::dialog_hop_located`]).
    fn locate_dialog_hop(&mut self, leg: LegId) {
        let trunk_won = self
            .by_leg
            .get(&leg)
            .and_then(|id| self.calls.get(id))
            .and_then(|c| c.b.get(c.winner?))
            .is_some_and(|o| o.leg == leg && o.trunk);
        if trunk_won {
            self.locate_hop(leg);
        }
    }

    /// True when `leg` is an outgoing call to a trunk (ringing or answered).
    fn is_trunk_leg(&self, leg: LegId) -> bool {
        self.by_leg
            .get(&leg)
            .and_then(|id| self.calls.get(id))
            .is_some_and(|c| c.b.iter().any(|o| o.leg == leg && o.trunk))
    }

    /// True when `leg`'s peer is one of a trunk's sources ([`crate::config::Trunk::sources`];
    /// without any, the trunk's addresses, the targets last located for a trunk by name,
    /// [`carrier_source`]): its requests are the carrier's, taken without a digest identity.
    fn is_carrier_leg(&self, leg: LegId) -> bool {
        self.ua.peer(leg).is_some_and(|peer| {
            self.config
                .trunks
                .iter()
                .zip(&self.trunk_targets)
                .any(|(trunk, located)| {
                    let targets = located.current().map_or(&[][..], |t| &t.targets);
                    carrier_source(&trunk.sources, targets, self.local.ip(), peer)
                })
        })
    }

    /// True (and logged) when `leg` is a carrier's and `route` would take its call, or the
    /// transfer it asks for, out through a trunk. A carrier's requests are taken on its
    /// source address alone, without a digest identity ([`Pbx::authorize_invite`]): they may
    /// reach extensions, groups and the IVR, but never a trunk again, or anyone able to send
    /// from (or spoof) that address would place paid calls through the PBX (toll fraud).
    fn refused_trunk_to_trunk(&mut self, leg: LegId, route: Option<&Route>, what: &str) -> bool {
        let refused = matches!(route, Some(Route::Trunk { .. })) && self.is_carrier_leg(leg);
        if refused {
            self.log(format!(
                "{what} from a trunk refused: no trunk-to-trunk calls"
            ));
        }
        refused
    }

    /// Locates the next hop of `leg`'s dialog, a trunk's, when it is a host name, over the
    /// leg's transport (a carrier calling in over TCP or TLS).
    fn locate_hop(&mut self, leg: LegId) {
        let lookup = self.hops.as_ref().map(|(r, tx)| (r, tx));
        let transport = self.ua.peer(leg).map_or(Transport::Udp, |p| p.transport);
        if let Some(line) = locate_dialog_hop(&self.ua, leg, transport, lookup, |h| h) {
            self.log(line);
        }
    }

    /// A trunk call's dialog next hop located (or not): its later requests go there.
    fn dialog_hop_located(&mut self, hop: DialogHop) {
        if self.by_leg.contains_key(&hop.leg)
            && let Some(line) = set_dialog_hop(&mut self.ua, hop)
        {
            self.log(line);
        }
    }

    async fn answered(&mut self, now: Instant, leg: LegId, response: Response) {
        let Some(&id) = self.by_leg.get(&leg) else {
            return;
        };
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        if call.winner.is_some() {
            // A second answer (parallel ringing): the UA already ACKed; hang it up.
            let _ = self.ua.bye(now, leg);
            return;
        }
        let Some(idx) = call.b.iter().position(|o| o.leg == leg) else {
            return;
        };
        call.winner = Some(idx);
        call.answer = Some(unix_time());
        // Cancel the other forks.
        for o in call.b.iter().filter(|o| o.leg != leg) {
            let _ = self.ua.cancel(now, o.leg);
        }
        let b_body = sip_core::body::sdp_or_body(response.headers());
        if call.ivr_media.is_some() {
            self.bridge_ivr(id, idx, &b_body);
            if let Some(call) = self.calls.get_mut(&id)
                && let Some(o) = call.b.get(idx)
            {
                call.destination = o.member.clone();
            }
            return;
        }
        let late = !call.has_offer();
        let a_body = match self.config.media {
            // Late offer: the callee's offer (the caller answers in its ACK); without one
            // the call cannot go on.
            MediaMode::Direct => Some(b_body).filter(|b| !late || !b.is_empty()),
            MediaMode::Relay if late => self.offer_caller(id, idx, &b_body),
            MediaMode::Relay => self.bridge_media(id, idx, &b_body),
        };
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        if let Some(o) = call.b.get(idx) {
            call.destination = o.member.clone();
        }
        match a_body {
            Some(body) => {
                let _ = self.ua.answer(now, call.a_leg, Some(Body::sdp(body)));
                let retried = call.b.get(idx).and_then(|o| o.retried);
                let line = format!(
                    "call {} -> {} answered ({}{})",
                    call.from,
                    call.destination,
                    call.codec.clone().unwrap_or_default(),
                    retried.map_or_else(String::new, |s| format!(", RTP/SAVP after {s}"))
                );
                self.log(line);
                self.hook("call.answered", id);
            }
            None => {
                let (a, b) = (call.a_leg, leg);
                let _ = self.ua.reject(now, a, 488);
                let _ = self.ua.bye(now, b);
                self.finish_with(id, AnswerCause::Failed, EndCause::NotAnswered, 488)
                    .await;
            }
        }
    }

    /// The callee on `leg` refused the best-effort SRTP offer with `status` (488, 606) and
    /// the UA sent the INVITE again with RTP/SAVP: its answer goes to that offer's engine.
    /// The caller hears nothing of it but a longer setup.
    fn offer_retried(&mut self, leg: LegId, status: u16) {
        let Some(o) = self
            .by_leg
            .get(&leg)
            .and_then(|id| self.calls.get_mut(id))
            .and_then(|c| c.b.iter_mut().find(|o| o.leg == leg))
        else {
            return;
        };
        let Some(oa) = o.fallback.take() else {
            return;
        };
        o.oa = Some(oa);
        o.retried = Some(status);
        let line = format!(
            "{} refused RTP/AVP with a=crypto ({status}): offering RTP/SAVP",
            o.member
        );
        self.log(line);
    }

    /// Negotiates both sides and starts the relay; returns the SDP answer for the caller.
    fn bridge_media(&mut self, id: u64, idx: usize, b_answer: &Bytes) -> Option<Bytes> {
        let (sock_b, pb, member) = self.callee_answered(id, idx, b_answer)?;
        let call = self.calls.get_mut(&id)?;
        let codec = pb.codec.clone();
        // The caller gets exactly the codec the callee chose when it offered it (packets are
        // relayed); otherwise its own preferred codec, and the PBX transcodes.
        let offered = offered_codecs(&call.a_offer);
        let common = offered.iter().any(|c| c.eq_ignore_ascii_case(&codec));
        let a_codecs: Vec<&str> = if common {
            vec![codec.as_str()]
        } else {
            offered.iter().map(String::as_str).collect()
        };
        let (sock_a, port_a) = bind_media(self.local.ip(), self.config.media_ports, &mut self.rng)?;
        let sock_a = UdpSocket::from_std(sock_a).ok()?;
        let caps = audio_capabilities(port_a, &a_codecs, sdp::SrtpPolicy::Optional);
        let mut a_oa = sdp::OfferAnswer::new(
            sdp::SessionConfig::new(self.local.ip(), caps),
            &mut self.rng,
        );
        let offer =
            sdp::Sdp::parse_with(call.a_offer.clone(), &sdp::ParseOptions::lenient()).ok()?;
        let a_answer = a_oa.handle_offer(&offer, &mut self.rng).ok()?;
        let a_stream = a_oa.streams().first()?.clone();
        let pa = MediaParams::from_negotiated(&a_stream, &mut self.rng).ok()?;
        call.a_oa = Some(a_oa);
        let recorder = recorder_for(&self.config, call, &member, &pa, &pb);
        let from = call.from.clone();
        bridge_sides(
            call,
            (sock_a, RelaySide::new(pa, from)),
            (sock_b, RelaySide::new(pb, member)),
            recorder,
        )
        .then(|| a_answer.to_bytes())
    }

    /// The callee's answer to the PBX's offer (relay mode): the socket facing it, what was
    /// negotiated, and who it is.
    fn callee_answered(
        &mut self,
        id: u64,
        idx: usize,
        b_answer: &Bytes,
    ) -> Option<(UdpSocket, MediaParams, String)> {
        let out = self.calls.get_mut(&id)?.b.get_mut(idx)?;
        let pb = answered_params(out.oa.as_mut()?, b_answer, &mut self.rng)?;
        let sock_b = UdpSocket::from_std(out.sock.take()?).ok()?;
        Some((sock_b, pb, out.member.clone()))
    }

    /// Late offer in relay mode (see [`LateOffer`]): the callee answered; returns the PBX's
    /// offer for the caller's 200.
    fn offer_caller(&mut self, id: u64, idx: usize, b_answer: &Bytes) -> Option<Bytes> {
        let (sock_b, pb, member) = self.callee_answered(id, idx, b_answer)?;
        let mut names = vec![pb.codec.as_str()];
        names.extend(
            codecs::SUPPORTED
                .iter()
                .filter(|c| !c.eq_ignore_ascii_case(&pb.codec)),
        );
        let (sock_a, port_a) = bind_media(self.local.ip(), self.config.media_ports, &mut self.rng)?;
        let caps = audio_capabilities(port_a, &names, sdp::SrtpPolicy::Optional);
        let mut a_oa = sdp::OfferAnswer::new(
            sdp::SessionConfig::new(self.local.ip(), caps),
            &mut self.rng,
        );
        let offer = a_oa.create_offer(&mut self.rng).ok()?;
        let call = self.calls.get_mut(&id)?;
        call.a_oa = Some(a_oa);
        call.late = Some(LateOffer::Bridge(Box::new(LateBridge {
            sock_a: UdpSocket::from_std(sock_a).ok()?,
            sock_b,
            b: pb,
            member,
        })));
        Some(offer.to_bytes())
    }

    /// The ACK of a 2xx of ours arrived on `leg`, maybe with the answer to an offer the 2xx
    /// carried (RFC 3264 §5): the caller's answer to the PBX's offer (late offer, relay
    /// mode), to be passed on to the callee (late offer, direct mode: the callee's 200
    /// carried the offer and waits for its ACK), or a party's answer to the PBX's offer in a
    /// re-INVITE without SDP.
    fn confirmed(&mut self, now: Instant, leg: LegId, ack: &Request) {
        let Some(&id) = self.by_leg.get(&leg) else {
            return;
        };
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let Some(p) = call.party(leg) else {
            return;
        };
        let answer = sip_core::body::sdp_or_body(ack.headers());
        if p == Party::A
            && let Some(late) = call.late.take()
        {
            match late {
                LateOffer::Bridge(late) => self.caller_answered(now, id, *late, &answer),
                LateOffer::Ivr(sock) => self.ivr_answered(now, id, sock, &answer),
            }
            return;
        }
        if let Some(o) = call.other(p).and_then(|o| call.leg_of(o))
            && self.ua.ack_pending(o)
        {
            // Direct media: the other party's 2xx (to an INVITE or re-INVITE without SDP)
            // carried the offer and waits for this answer. An ACK without one: the UA hangs
            // up this party (488) and the other's ACK goes without a body before its BYE.
            if !answer.is_empty() {
                let _ = self.ua.ack(o, Some(Body::sdp(answer)));
            }
            return;
        }
        let Some(oa) = call.oa_mut(p).filter(|o| o.has_pending_offer()) else {
            return;
        };
        let usable = sdp::Sdp::parse_with(answer, &sdp::ParseOptions::lenient())
            .is_ok_and(|a| oa.handle_answer(&a).is_ok());
        if usable {
            self.direction_changed(now, id, p);
        } else {
            oa.cancel_offer();
            let _ = self.ua.bye_with(now, leg, &[("Reason", REASON_488)]);
        }
    }

    /// Late offer in relay mode: the caller's ACK carried `answer` to the PBX's offer; the
    /// relay (or the transcoder, when the caller took another codec than the callee) starts.
    /// An unusable answer ends the call: BYE with `Reason: SIP;cause=488` to the caller
    /// (RFC 3261 §13.2.2.4 asks the same of a UAC), BYE to the callee.
    fn caller_answered(&mut self, now: Instant, id: u64, late: LateBridge, answer: &Bytes) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let pa = call
            .a_oa
            .as_mut()
            .and_then(|oa| answered_params(oa, answer, &mut self.rng));
        let recorder = pa
            .as_ref()
            .and_then(|pa| recorder_for(&self.config, call, &late.member, pa, &late.b));
        let from = call.from.clone();
        let bridged = pa.is_some_and(|pa| {
            bridge_sides(
                call,
                (late.sock_a, RelaySide::new(pa, from)),
                (late.sock_b, RelaySide::new(late.b, late.member)),
                recorder,
            )
        });
        if bridged {
            let line = format!(
                "call {} -> {}: media up after the answer in the ACK ({})",
                call.from,
                call.destination,
                call.codec.clone().unwrap_or_default()
            );
            self.log(line);
            return;
        }
        self.late_answer_failed(now, id, answer);
    }

    /// The caller's ACK carried no usable answer to the PBX's offer: BYE with
    /// `Reason: SIP;cause=488` to the caller, BYE to the callee, and the call's record.
    fn late_answer_failed(&mut self, now: Instant, id: u64, answer: &Bytes) {
        let Some(call) = self.calls.get(&id) else {
            return;
        };
        let (a, b) = (
            call.a_leg,
            call.winner.and_then(|w| call.b.get(w)).map(|o| o.leg),
        );
        // The UA already hung up a caller whose ACK had no body.
        if !answer.is_empty() {
            let _ = self.ua.bye_with(now, a, &[("Reason", REASON_488)]);
        }
        if let Some(b) = b {
            let _ = self.ua.bye(now, b);
        }
        self.log(format!("call {id}: no usable answer in the caller's ACK"));
        self.finish_sync(id, AnswerCause::Failed, EndCause::System, 488);
    }

    async fn b_failed(&mut self, now: Instant, leg: LegId, status: u16) {
        let Some(&id) = self.by_leg.get(&leg) else {
            return;
        };
        self.by_leg.remove(&leg);
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        call.b.retain(|o| o.leg != leg);
        if call.winner.is_some() || !call.b.is_empty() {
            return;
        }
        if !call.pending_members.is_empty() {
            let (m, a) = call.pending_members.remove(0);
            self.fork(now, id, &m, a);
            return;
        }
        let a = call.a_leg;
        let st = if status == 487 { 480 } else { status };
        let _ = self.ua.reject(now, a, st);
        let cause = match status {
            486 | 600 => AnswerCause::Busy,
            404 | 480 => AnswerCause::Unavailable,
            401 | 403 | 407 => AnswerCause::Rejected,
            408 | 487 => AnswerCause::NoAnswer,
            _ => AnswerCause::Failed,
        };
        self.finish_with(id, cause, EndCause::NotAnswered, st).await;
    }

    fn next_ring_timeout(&self) -> Option<Instant> {
        self.calls
            .values()
            .filter(|c| c.winner.is_none())
            .filter_map(|c| c.ring_deadline)
            .min()
    }

    fn ring_timeouts(&mut self, now: Instant) {
        for call in self.calls.values_mut() {
            if call.winner.is_none() && call.ring_deadline.is_some_and(|d| d <= now) {
                call.ring_deadline = None;
                call.pending_members.clear();
                for o in &call.b {
                    let _ = self.ua.cancel(now, o.leg);
                }
            }
        }
    }

    async fn in_dialog(
        &mut self,
        now: Instant,
        key: TransactionKey,
        leg: Option<LegId>,
        request: Request,
    ) {
        let Some(leg) = leg else {
            let status = match request.method() {
                Method::Register => return self.register(now, &key, &request),
                Method::Options => 200,
                _ => 405,
            };
            let _ = self.ua.respond(now, &key, status, None);
            return;
        };
        let Some(&id) = self.by_leg.get(&leg) else {
            let _ = self.ua.respond(now, &key, 481, None);
            return;
        };
        match request.method() {
            Method::Refer => self.refer(now, &key, leg, id, &request).await,
            Method::Invite if self.config.media == MediaMode::Direct => {
                self.forward_reinvite(
                    now,
                    key,
                    leg,
                    sip_core::body::sdp_or_body(request.headers()),
                );
            }
            Method::Invite => self.reinvite(now, key, leg, id, &request),
            _ => {
                let _ = self.ua.respond(now, &key, 200, None);
            }
        }
    }

    /// A re-INVITE from either party of an answered call (hold, resume, a new address):
    /// answered from the PBX's side, the relay told the party's new address, and the hold or
    /// resume forwarded to the other party in a re-INVITE of the PBX (direct media:
    /// [`Pbx::forward_reinvite`]); 488 when the PBX has no negotiation with the party (IVR,
    /// transfer target). A re-INVITE without SDP (some phones resume that way) gets the
    /// PBX's offer in the 200 and its answer comes in the ACK ([`Pbx::confirmed`]).
    fn reinvite(
        &mut self,
        now: Instant,
        key: TransactionKey,
        leg: LegId,
        id: u64,
        request: &Request,
    ) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let Some((p, oa)) = call.party(leg).and_then(|p| Some((p, call.oa_mut(p)?))) else {
            let _ = self.ua.respond(now, &key, 488, None);
            return;
        };
        let body = sip_core::body::sdp_or_body(request.headers());
        if !carries_sdp(&body) {
            // RFC 3261 §14.1: "a UAC MUST NOT initiate a new INVITE transaction within a
            // dialog while another INVITE transaction is in progress"; the PBX's own
            // re-INVITE to this party is such a glare (491: create_offer refuses while the
            // PBX's offer to the party is pending).
            let (status, body) = match oa.create_offer(&mut self.rng) {
                Ok(o) => (200, Some(Body::sdp(o.to_bytes()))),
                Err(_) => (491, None),
            };
            let _ = self.ua.respond(now, &key, status, body);
            return;
        }
        let offer = sdp::Sdp::parse_with(body, &sdp::ParseOptions::lenient());
        let Ok(answer) = offer
            .map_err(|_| ())
            .and_then(|o| oa.handle_offer(&o, &mut self.rng).map_err(|_| ()))
        else {
            let _ = self.ua.respond(now, &key, 488, None);
            return;
        };
        let _ = self
            .ua
            .respond(now, &key, 200, Some(Body::sdp(answer.to_bytes())));
        call.hold_key = Some(key);
        self.direction_changed(now, id, p);
    }

    /// Direct media: a re-INVITE from a party (hold, resume, a new address; with or without
    /// SDP) goes on to the other party as the PBX's re-INVITE with the same body, and its
    /// final answer comes back ([`Pbx::forwarded_answer`]); an offer in that answer is
    /// answered in the party's ACK, passed on by [`Pbx::confirmed`]. 491 while another
    /// re-INVITE of the call is under way (RFC 3261 §14.1).
    fn forward_reinvite(&mut self, now: Instant, key: TransactionKey, leg: LegId, body: Bytes) {
        let Some(&id) = self.by_leg.get(&leg) else {
            return;
        };
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let other = call
            .party(leg)
            .and_then(|p| call.other(p))
            .and_then(|o| call.leg_of(o));
        let Some(other) = other.filter(|_| call.forwarded.is_none()) else {
            let _ = self.ua.respond(now, &key, 491, None);
            return;
        };
        let body = carries_sdp(&body).then(|| Body::sdp(body));
        match self.ua.request(now, other, Method::Invite, body, &[]) {
            Ok(ours) => call.forwarded = Some((ours, key)),
            Err(_) => {
                let _ = self.ua.respond(now, &key, 491, None);
            }
        }
    }

    /// The final answer to a re-INVITE passed on by [`Pbx::forward_reinvite`]: the same
    /// status and body back to the party that sent it. False when `key` is no such request.
    fn forwarded_answer(
        &mut self,
        now: Instant,
        leg: LegId,
        key: &TransactionKey,
        status: u16,
        response: Option<&Response>,
    ) -> bool {
        let Some(call) = self.by_leg.get(&leg).and_then(|id| self.calls.get_mut(id)) else {
            return false;
        };
        let Some((_, theirs)) = call.forwarded.take_if(|(ours, _)| ours == key) else {
            return false;
        };
        let body = response
            .map(Response::body_bytes)
            .filter(|b| !b.is_empty())
            .map(Body::sdp);
        let _ = self.ua.respond(now, &theirs, status, body);
        true
    }

    /// A new offer/answer with the party at `p` completed: the relay or transcoder follows
    /// its address and direction, and the hold or resume is forwarded to the other party.
    fn direction_changed(&mut self, now: Instant, id: u64, p: Party) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let Some(oa) = call.oa_mut(p) else {
            return;
        };
        let stream = oa.streams().first();
        let hold = stream.is_some_and(|s| !s.direction.receives() || !s.direction.sends());
        // Whether the PBX sends to this party now (not when it holds with sendonly).
        let we_send = stream.is_none_or(|s| s.direction.sends());
        let a = p == Party::A;
        if let Some((addr, rtcp)) = stream.and_then(remote_addrs) {
            if let Some(relay) = &call.relay {
                let _ = relay
                    .updates
                    .try_send(relay::RelayUpdate::Remote { a, addr, rtcp });
            }
            if let Some(tx) = &call.bridge_updates {
                let _ = tx.try_send(LegUpdate::Remote { a, addr, rtcp });
            }
        }
        if let Some(tx) = &call.bridge_updates {
            let _ = tx.try_send(LegUpdate::Sending {
                a,
                sending: we_send,
            });
        }
        let other = call.other(p);
        if let Some(o_oa) = other.and_then(|o| call.oa_mut(o)) {
            if hold { o_oa.hold() } else { o_oa.resume() }
        }
        let line = format!(
            "call {} -> {}: {} from {}",
            call.from,
            call.destination,
            if hold { "hold" } else { "resume" },
            call.name_of(p)
        );
        self.log(line);
        if let Some(o) = other {
            self.reoffer(now, id, o);
        }
    }

    /// Sends party `p` of call `id` a re-INVITE with what the PBX now offers it (after a
    /// hold or resume changed that). While our previous re-INVITE to the party is still
    /// unanswered (RFC 3261 §14.1: one INVITE transaction at a time), the re-offer waits for
    /// that answer ([`B2buaCall::reoffer_after_answer`]).
    fn reoffer(&mut self, now: Instant, id: u64, p: Party) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let Some(leg) = call.leg_of(p) else { return };
        let Some(oa) = call.oa_mut(p) else { return };
        if oa.has_pending_offer() {
            if !call.reoffer_after_answer.contains(&leg) {
                call.reoffer_after_answer.push(leg);
            }
            return;
        }
        if let Ok(o) = oa.create_offer(&mut self.rng)
            && self
                .ua
                .request(now, leg, Method::Invite, Some(Body::sdp(o.to_bytes())), &[])
                .is_err()
        {
            oa.cancel_offer();
        }
    }

    /// Takes the parties of call `id` off hold where the PBX holds them (after a transfer
    /// the held party is bridged to someone new): a re-INVITE offering sendrecv.
    fn resume_held(&mut self, now: Instant, id: u64) {
        let Some(call) = self.calls.get(&id) else {
            return;
        };
        let winner = call.winner.map(Party::B);
        for p in [Some(Party::A), winner].into_iter().flatten() {
            let Some(oa) = self.calls.get_mut(&id).and_then(|c| c.oa_mut(p)) else {
                continue;
            };
            let held = oa
                .capabilities_mut(0)
                .is_some_and(|c| c.direction != sdp::Direction::SendRecv);
            if held {
                oa.resume();
                self.reoffer(now, id, p);
            }
        }
    }

    /// A REFER from a party of an answered, relayed call (blind transfer): 202, NOTIFY 100,
    /// and an INVITE to the target (routed by the dial plan) offering the codec the relay
    /// carries. Calls without the relay (direct media, transcoded, IVR) answer 501.
    async fn refer(
        &mut self,
        now: Instant,
        key: &TransactionKey,
        leg: LegId,
        id: u64,
        req: &Request,
    ) {
        let target = req
            .headers()
            .named_str("Refer-To")
            .chain(req.headers().named_str("r"))
            .filter_map(|h| h.value_str())
            .find_map(sip_core::ua::refer::parse_refer_to);
        let Some(call) = self.calls.get(&id) else {
            let _ = self.ua.respond(now, key, 481, None);
            return;
        };
        let winner = call.winner.and_then(|w| call.b.get(w));
        let a_side = leg == call.a_leg;
        let transferor_known = a_side || winner.is_some_and(|o| o.leg == leg);
        let status = match &target {
            None => 400,
            _ if !transferor_known || call.answer.is_none() => 481,
            Some((_, Some(replaces))) => {
                let replaces = replaces.clone();
                return self.attended_refer(now, key, leg, id, &replaces).await;
            }
            _ if call.relay.is_none() || call.transfer.is_some() => 501,
            _ => 0,
        };
        if status != 0 {
            let _ = self.ua.respond(now, key, status, None);
            return;
        }
        let number = target
            .and_then(|(uri, _)| uri.parse::<Uri>().ok())
            .and_then(|u| u.user().map(str::to_owned))
            .unwrap_or_default();
        // The codec the relay carries: the target must take it (the other side is untouched).
        let oa = if a_side {
            call.a_oa.as_ref()
        } else {
            winner.and_then(|o| o.oa.as_ref())
        };
        let codec = oa
            .and_then(|o| o.streams().first())
            .map(|s| s.send_codec.name.to_string());
        let from_user = call.from.clone();
        let mut relocate = None;
        let route = self.config.route(&number, &self.rules);
        if self.refused_trunk_to_trunk(leg, route.as_ref(), &format!("REFER to {number}")) {
            let _ = self.ua.respond(now, key, 403, None);
            return;
        }
        let dest = match route {
            Some(Route::Extension(ext)) => self
                .contacts(now, &ext)
                .first()
                .map(|t| (ext.clone(), TargetList::from(*t), t.addr.to_string(), false)),
            // A transfer does not wait for DNS: a trunk's last targets, stale or not (a stale
            // list is located again, for the calls after it).
            Some(Route::Trunk { trunk, number }) => {
                let index = self.config.trunks.iter().position(|t| t.name == trunk);
                index
                    .and_then(|i| self.trunk_targets.get_mut(i).map(|l| (i, l)))
                    .and_then(|(i, l)| {
                        if l.lookup(now) == Lookup::Resolve {
                            relocate = Some(i);
                        }
                        l.current()
                            .map(|a| (number, a.target_list(), a.host.clone(), true))
                    })
            }
            _ => None,
        };
        if let Some(i) = relocate {
            self.locate_trunk(i, false);
        }
        let (Some(codec), Some((member, targets, host, trunk))) = (codec, dest) else {
            let _ = self.ua.respond(now, key, 404, None);
            return;
        };
        let _ = self.ua.respond(now, key, 202, None);
        let _ = self.ua.notify_refer(now, leg, 100);

        let Some((sock, port)) =
            bind_media(self.local.ip(), self.config.media_ports, &mut self.rng)
        else {
            let _ = self.ua.notify_refer(now, leg, 503);
            return;
        };
        let caps = audio_capabilities(port, &[codec.as_str()], sdp::SrtpPolicy::Optional);
        let mut oa = sdp::OfferAnswer::new(
            sdp::SessionConfig::new(self.local.ip(), caps),
            &mut self.rng,
        );
        let offer = oa.create_offer(&mut self.rng).ok();
        let uris = (
            format!("sip:{from_user}@{}", self.local.ip()).parse::<Uri>(),
            targets
                .as_slice()
                .first()
                .map(|t| format!("{}:{member}@{host}", scheme(*t)))
                .unwrap_or_default()
                .parse::<Uri>(),
        );
        let (Some(offer), (Ok(from), Ok(to))) = (offer, uris) else {
            let _ = self.ua.notify_refer(now, leg, 500);
            return;
        };
        match self.ua.invite(
            now,
            from,
            to.clone(),
            to,
            targets,
            Some(Body::sdp(offer.to_bytes())),
        ) {
            Ok(t_leg) => {
                self.by_leg.insert(t_leg, id);
                self.log(format!(
                    "transfer: {member} for the party of leg {leg:?} (call {id})"
                ));
                if let Some(call) = self.calls.get_mut(&id) {
                    call.transfer = Some(Transfer {
                        from: leg,
                        a_side,
                        leg: t_leg,
                        oa,
                        sock: Some(sock),
                        member,
                        trunk,
                    });
                }
            }
            Err(_) => {
                let _ = self.ua.notify_refer(now, leg, 500);
            }
        }
    }

    /// The transfer target answered: it takes the transferor's side of the relay; the
    /// transferor gets NOTIFY 200 and a BYE.
    async fn transfer_answered(&mut self, now: Instant, id: u64, response: &Response) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let Some(mut t) = call.transfer.take() else {
            return;
        };
        let answered = crate::media::parse_body_sdp(response.headers())
            .is_ok_and(|ans| t.oa.handle_answer(&ans).is_ok());
        let side = answered
            .then(|| t.oa.streams().first().cloned())
            .flatten()
            .and_then(|s| MediaParams::from_negotiated(&s, &mut self.rng).ok());
        let sock = t.sock.take().and_then(|s| UdpSocket::from_std(s).ok());
        let (Some(params), Some(sock), Some(relay)) = (side, sock, call.relay.as_ref()) else {
            let _ = self.ua.bye(now, t.leg);
            self.by_leg.remove(&t.leg);
            let _ = self.ua.notify_refer(now, t.from, 488);
            return;
        };
        let update = relay::RelayUpdate::Replace {
            a: t.a_side,
            sock,
            side: Box::new(RelaySide::new(params, t.member.clone())),
        };
        if relay.updates.send(update).await.is_err() {
            return;
        }
        let _ = self.ua.notify_refer(now, t.from, 200);
        let _ = self.ua.bye(now, t.from);
        self.by_leg.remove(&t.from);
        if t.a_side {
            call.a_leg = t.leg;
            call.a_oa = Some(t.oa);
        } else if let Some(w) = call.winner
            && let Some(out) = call.b.get_mut(w)
        {
            out.leg = t.leg;
            out.oa = Some(t.oa);
            out.member.clone_from(&t.member);
            out.trunk = t.trunk;
            call.destination.clone_from(&t.member);
        }
        let line = format!("transfer completed: call {id} now with {}", t.member);
        self.log(line);
        if t.trunk {
            self.locate_hop(t.leg);
        }
    }

    /// The transfer target did not answer: the transferor learns the status (NOTIFY) and the
    /// call goes on as before.
    fn transfer_failed(&mut self, now: Instant, id: u64, status: u16) {
        let Some(t) = self.calls.get_mut(&id).and_then(|c| c.transfer.take()) else {
            return;
        };
        self.by_leg.remove(&t.leg);
        let _ = self.ua.notify_refer(now, t.from, status);
        self.log(format!(
            "transfer of call {id} to {} failed: {status}",
            t.member
        ));
    }

    /// The call of `id` whose transfer target is `leg`.
    fn transfer_of(&self, leg: LegId) -> Option<u64> {
        let id = *self.by_leg.get(&leg)?;
        let t = self.calls.get(&id)?.transfer.as_ref()?;
        (t.leg == leg).then_some(id)
    }

    /// The leg, and its call, whose dialog a Replaces names (sip-core's RFC 3891 §3
    /// matching; the PBX is the recipient, so `to-tag` is its own tag): the status to answer
    /// when none.
    fn replaced_leg(&self, r: &Replaces) -> Result<(u64, LegId), u16> {
        let leg = self.ua.find_replaced(r).map_err(|e| e.status_code())?;
        let id = self.by_leg.get(&leg).ok_or(481u16)?;
        Ok((*id, leg))
    }

    /// An attended transfer (RFC 5589 §7): the party on `leg` of call `id` sent REFER whose
    /// Refer-To carries a Replaces naming its other call's dialog with the PBX (as the
    /// transferor sees it). The PBX owns both calls, so it bridges their two other parties
    /// (the held one and the consulted one) itself, takes them off hold, NOTIFYs 200 and hangs
    /// up the transferor's two legs. A failure is the NOTIFY's status: 481 no such dialog,
    /// 403 a dialog of another user, 501 a call whose media is not relayed.
    async fn attended_refer(
        &mut self,
        now: Instant,
        key: &TransactionKey,
        leg: LegId,
        id: u64,
        replaces: &Replaces,
    ) {
        let _ = self.ua.respond(now, key, 202, None);
        let _ = self.ua.notify_refer(now, leg, 100);
        match self.attended_merge(now, id, leg, replaces).await {
            Ok((line, consulted)) => {
                // The transferor learns the outcome first, then both its legs end.
                let _ = self.ua.notify_refer(now, leg, 200);
                let _ = self.ua.bye(now, leg);
                let _ = self.ua.bye(now, consulted);
                self.log(line);
            }
            Err(status) => {
                let _ = self.ua.notify_refer(now, leg, status);
                self.log(format!("attended transfer in call {id} failed: {status}"));
            }
        }
    }

    /// Moves the party facing the replaced dialog's leg into call `id1` in place of the
    /// transferor (`leg1`), and ends the replaced dialog's call (its record says transferred).
    /// Returns the log line and the replaced leg, for the caller to hang up.
    async fn attended_merge(
        &mut self,
        now: Instant,
        id1: u64,
        leg1: LegId,
        replaces: &Replaces,
    ) -> Result<(String, LegId), u16> {
        let (id2, leg2) = self.replaced_leg(replaces)?;
        let (c1, c2) = (self.calls.get(&id1), self.calls.get(&id2));
        let (Some(c1), Some(c2)) = (c1, c2) else {
            return Err(481);
        };
        let (Some(p1), Some(p2)) = (c1.party(leg1), c2.party(leg2)) else {
            return Err(481);
        };
        if id1 == id2 {
            return Err(400);
        }
        if c1.name_of(p1) != c2.name_of(p2) {
            return Err(403);
        }
        let relayed = |c: &B2buaCall| c.relay.is_some() && c.transfer.is_none();
        if !relayed(c1) || !relayed(c2) {
            return Err(501);
        }
        let y = c2.other(p2).ok_or(481u16)?;
        let mut c2 = self.calls.remove(&id2).ok_or(481u16)?;
        for l in c2.legs() {
            self.by_leg.remove(&l);
        }
        let parts = match c2.relay.take() {
            Some(r) => r.stop_parts().await,
            None => None,
        };
        let y_name = c2.name_of(y).to_owned();
        let y_leg = c2.leg_of(y);
        let y_oa = c2.take_oa(y);
        let (Some(parts), Some(y_leg), Some(y_oa)) = (parts, y_leg, y_oa) else {
            for l in [Some(leg2), c2.leg_of(y)].into_iter().flatten() {
                let _ = self.ua.bye(now, l);
            }
            self.record(c2, AnswerCause::Answered, EndCause::System, 500, Vec::new());
            return Err(500);
        };
        let (sock, mut side) = if y == Party::A { parts.a } else { parts.b };
        side.name.clone_from(&y_name);
        self.record(
            c2,
            AnswerCause::Answered,
            EndCause::Transferred,
            200,
            parts.reports.into(),
        );
        let newcomer = Newcomer {
            leg: y_leg,
            oa: y_oa,
            sock,
            side,
        };
        if let Err(status) = self.replace_party(now, id1, p1, newcomer).await {
            let _ = self.ua.bye(now, y_leg);
            let _ = self.ua.bye(now, leg2);
            return Err(status);
        }
        let line = format!(
            "attended transfer completed: call {id1} now with {y_name} (call {id2} merged)"
        );
        Ok((line, leg2))
    }

    /// An INVITE with Replaces (RFC 3891) naming a dialog of an answered call (sip-core
    /// already answered 481/603/486/400 to one that matches nothing it may replace): the
    /// caller takes the place of the party on that dialog (a phone moving its own call, or
    /// completing a transfer by INVITE), and the UA hangs that party up when we answer. 403
    /// when the caller is not the user on the dialog, 501 when the call's media is not
    /// relayed.
    async fn incoming_replaces(&mut self, now: Instant, leg: LegId, request: &Request) {
        if !self.authorize_invite(now, leg, request) {
            return;
        }
        let Some(old) = self.ua.replaced_leg(leg) else {
            let _ = self.ua.reject(now, leg, 481);
            return;
        };
        match self.take_over(now, leg, old, request).await {
            Ok(line) => self.log(line),
            Err(status) => {
                let _ = self.ua.reject(now, leg, status);
                self.log(format!("INVITE with Replaces refused: {status}"));
            }
        }
    }

    async fn take_over(
        &mut self,
        now: Instant,
        leg: LegId,
        old: LegId,
        request: &Request,
    ) -> Result<String, u16> {
        let id = *self.by_leg.get(&old).ok_or(481u16)?;
        let call = self.calls.get_mut(&id).ok_or(481u16)?;
        let p = call.party(old).ok_or(481u16)?;
        let from = request
            .header::<From>()
            .and_then(Result::ok)
            .and_then(|f| f.uri().user().map(str::to_owned))
            .unwrap_or_default();
        if from != call.name_of(p) {
            return Err(403);
        }
        if call.relay.is_none() || call.transfer.is_some() {
            return Err(501);
        }
        // The codec the other party's relay side carries, when the newcomer offers it (then
        // packets are relayed); else the newcomer's own codecs, transcoded.
        let other = call.other(p).ok_or(481u16)?;
        let codec = call
            .oa_mut(other)
            .and_then(|o| o.streams().first())
            .map(|s| s.send_codec.name.to_string());
        let body = sip_core::body::sdp_or_body(request.headers());
        let offered = offered_codecs(&body);
        let names: Vec<&str> = match codec {
            Some(c) if offered.iter().any(|o| o.eq_ignore_ascii_case(&c)) => offered
                .iter()
                .filter(|o| o.eq_ignore_ascii_case(&c))
                .map(String::as_str)
                .collect(),
            _ => offered.iter().map(String::as_str).collect(),
        };
        let (sock, port) =
            bind_media(self.local.ip(), self.config.media_ports, &mut self.rng).ok_or(503u16)?;
        let caps = audio_capabilities(port, &names, sdp::SrtpPolicy::Optional);
        let mut oa = sdp::OfferAnswer::new(
            sdp::SessionConfig::new(self.local.ip(), caps),
            &mut self.rng,
        );
        let offer =
            sdp::Sdp::parse_with(body, &sdp::ParseOptions::lenient()).map_err(|_| 488u16)?;
        let answer = oa.handle_offer(&offer, &mut self.rng).map_err(|_| 488u16)?;
        let params = oa
            .streams()
            .first()
            .and_then(|s| MediaParams::from_negotiated(s, &mut self.rng).ok())
            .ok_or(488u16)?;
        let sock = UdpSocket::from_std(sock).map_err(|_| 503u16)?;
        let newcomer = Newcomer {
            leg,
            oa,
            sock,
            side: RelaySide::new(params, from.clone()),
        };
        // Answering makes the UA hang up the replaced leg (RFC 3891 §3).
        self.replace_party(now, id, p, newcomer).await?;
        let _ = self.ua.answer(now, leg, Some(Body::sdp(answer.to_bytes())));
        Ok(format!(
            "call {id}: {from} took over by INVITE with Replaces"
        ))
    }

    /// Seats `newcomer` at `p` of call `id`: the call's relay stops (its reports are kept for
    /// the record), the party staying is bridged with the newcomer in a new relay (or a
    /// transcoder when their codecs differ) and taken off hold. Returns the leg that left.
    async fn replace_party(
        &mut self,
        now: Instant,
        id: u64,
        p: Party,
        newcomer: Newcomer,
    ) -> Result<LegId, u16> {
        let call = self.calls.get_mut(&id).ok_or(481u16)?;
        let old = call.leg_of(p).ok_or(481u16)?;
        let relay = call.relay.take().ok_or(501u16)?;
        let parts = relay.stop_parts().await.ok_or(500u16)?;
        call.earlier.extend(parts.reports);
        self.by_leg.remove(&old);
        self.by_leg.insert(newcomer.leg, id);
        call.seat(p, newcomer.leg, newcomer.oa, &newcomer.side.name);
        let joining = (newcomer.sock, newcomer.side);
        let (a, b) = match p {
            Party::A => (joining, parts.b),
            Party::B(_) => (parts.a, joining),
        };
        if !bridge_sides(call, a, b, parts.recorder) {
            return Err(500);
        }
        self.resume_held(now, id);
        Ok(old)
    }

    fn finish_sync(&mut self, id: u64, answer: AnswerCause, end: EndCause, status: u16) {
        let Some(call) = self.calls.remove(&id) else {
            return;
        };
        for l in call.legs() {
            self.by_leg.remove(&l);
        }
        self.record(call, answer, end, status, Vec::new());
    }

    async fn finish_with(&mut self, id: u64, answer: AnswerCause, end: EndCause, status: u16) {
        let Some(mut call) = self.calls.remove(&id) else {
            return;
        };
        for l in call.legs() {
            self.by_leg.remove(&l);
        }
        if let Some(t) = call.transfer.take() {
            // The call ended while the transfer target was ringing (or just answered).
            let now = clock();
            if self.ua.cancel(now, t.leg).is_err() {
                let _ = self.ua.bye(now, t.leg);
            }
        }
        if let Some(stop) = call.ivr_stop.take() {
            let _ = stop.send(());
        }
        let mut legs = std::mem::take(&mut call.earlier);
        if let Some(r) = call.relay.take() {
            legs.extend(r.stop().await.into_iter().flatten());
        }
        if let Some((stop, done)) = call.bridge.take() {
            let _ = stop.send(());
            if let Ok(Ok(r)) = tokio::time::timeout(Duration::from_secs(2), done).await {
                legs.extend(r);
            }
        }
        self.record(call, answer, end, status, legs);
    }

    async fn finish(&mut self, id: u64, end: EndCause, status: u16) {
        let answered = self.calls.get(&id).is_some_and(|c| c.answer.is_some());
        let cause = if answered {
            AnswerCause::Answered
        } else {
            AnswerCause::Failed
        };
        let end = if answered { end } else { EndCause::NotAnswered };
        self.finish_with(id, cause, end, status).await;
    }

    fn record(
        &mut self,
        call: B2buaCall,
        answer_cause: AnswerCause,
        end_cause: EndCause,
        status: u16,
        legs: Vec<LegReport>,
    ) {
        let end = unix_time();
        let rec = CallRecord {
            call_id: call.call_id,
            from: call.from,
            to: call.to,
            destination: call.destination,
            start: call.start,
            answer: call.answer,
            end,
            duration_s: call.answer.map_or(0.0, |a| (end - a).max(0.0)),
            answer_cause,
            end_cause,
            sip_status: if answer_cause == AnswerCause::Answered {
                200
            } else {
                status
            },
            codec: call.codec,
            legs,
            recording: call.recording.map(|p| p.display().to_string()),
        };
        if let Some(w) = &self.cdr
            && let Err(e) = w.write(&rec)
        {
            self.log(format!("cdr write failed: {e}"));
        }
        if self.webhook.is_some() {
            let ev = CallEvent {
                event: "call.ended",
                call_id: &rec.call_id,
                from: &rec.from,
                to: &rec.to,
                time: end,
                record: Some(&rec),
            };
            if let Ok(j) = serde_json::to_string(&ev) {
                self.hooks.push(j);
            }
        }
        self.log(format!(
            "call {} -> {} ended: {:?} / {:?}",
            rec.from, rec.to, rec.answer_cause, rec.end_cause
        ));
        self.summary.records.push(rec);
    }

    fn hook(&mut self, event: &str, id: u64) {
        if self.webhook.is_none() {
            return;
        }
        let Some(c) = self.calls.get(&id) else { return };
        let ev = CallEvent {
            event,
            call_id: &c.call_id,
            from: &c.from,
            to: &c.to,
            time: unix_time(),
            record: None,
        };
        if let Ok(j) = serde_json::to_string(&ev) {
            // Bounded: if the webhook is slower than the calls, old events are dropped.
            if self.hooks.len() < 1000 {
                self.hooks.push(j);
            }
        }
    }

    async fn post_hooks(&mut self) {
        let Some(w) = self.webhook.clone() else {
            return;
        };
        for body in std::mem::take(&mut self.hooks) {
            let log = self.log.clone();
            let w = w.clone();
            tokio::spawn(async move {
                if let Err(e) = w.post(&body).await
                    && let Some(l) = log
                {
                    let _ = l.try_send(format!("webhook: {e}"));
                }
            });
        }
    }
}

/// Bridges two parties of `call` given the sockets facing them and what was negotiated with
/// each: a relay when they use the same codec, else a transcoder; either records to
/// `recorder`. False when the transcoder's media legs could not be made.
fn bridge_sides(
    call: &mut B2buaCall,
    a: (UdpSocket, RelaySide),
    b: (UdpSocket, RelaySide),
    recorder: Option<Recorder>,
) -> bool {
    let (pa, pb) = (&a.1.params, &b.1.params);
    if pa.codec.eq_ignore_ascii_case(&pb.codec) && pa.clock_rate == pb.clock_rate {
        call.codec = Some(pa.codec_label());
        call.relay = Some(relay::start_with(a.0, b.0, a.1, b.1, recorder));
        return true;
    }
    let now = clock();
    let names = (
        format!("{} -> pbx", a.1.name),
        format!("{} -> pbx", b.1.name),
    );
    let (Ok(ma), Ok(mb)) = (
        MediaLeg::new(a.1.params, now, wallclock()),
        MediaLeg::new(b.1.params, now, wallclock()),
    ) else {
        return false;
    };
    call.codec = Some(format!(
        "{} <-> {}",
        ma.params().codec_label(),
        mb.params().codec_label()
    ));
    start_transcode(call, (ma, a.0), (mb, b.0), names, recorder);
    true
}

/// Bridges `call`'s two parties by decoding and re-encoding (the gateway's transcoder), with
/// a channel for the address and direction changes of later re-INVITEs.
fn start_transcode(
    call: &mut B2buaCall,
    a: (MediaLeg, UdpSocket),
    b: (MediaLeg, UdpSocket),
    names: (String, String),
    recorder: Option<Recorder>,
) {
    let (tx, rx) = mpsc::channel(8);
    call.bridge = Some(spawn_transcode_with(
        a.0,
        b.0,
        a.1,
        b.1,
        names,
        Some(rx),
        recorder,
    ));
    call.bridge_updates = Some(tx);
}

/// The recording of `call` when the configuration wants it (`record_dir`, and the caller,
/// the dialled number or the answering `member` in `record_numbers` when that is set); its
/// path goes in the call record.
fn recorder_for(
    config: &PbxConfig,
    call: &mut B2buaCall,
    member: &str,
    a: &MediaParams,
    b: &MediaParams,
) -> Option<Recorder> {
    let dir = config.record_dir.as_ref()?;
    let numbers = &config.record_numbers;
    let wanted = numbers.is_empty()
        || [call.from.as_str(), call.to.as_str(), member]
            .iter()
            .any(|n| numbers.iter().any(|x| x == n));
    if !wanted {
        return None;
    }
    let path = dir.join(recording_name(call.start, &call.call_id));
    call.recording = Some(path.clone());
    Some(Recorder::new(path, a, b))
}

/// Whether an INVITE's `body` carries an offer: a body of whitespace only counts as none (a
/// late offer, RFC 3261 §13.2.1).
fn carries_sdp(body: &[u8]) -> bool {
    body.iter().any(|b| !b.is_ascii_whitespace())
}

/// What `oa` negotiated once `answer` (SDP) answered its offer: the first stream's media
/// parameters; `None` when the answer is unusable.
fn answered_params(
    oa: &mut sdp::OfferAnswer,
    answer: &Bytes,
    rng: &mut ChaCha8Rng,
) -> Option<MediaParams> {
    let ans = sdp::Sdp::parse_with(answer.clone(), &sdp::ParseOptions::lenient()).ok()?;
    oa.handle_answer(&ans).ok()?;
    let stream = oa.streams().first()?;
    MediaParams::from_negotiated(stream, rng).ok()
}

/// The Reason of a BYE after an unusable offer or answer (RFC 3326, RFC 3261 §13.2.2.4).
const REASON_488: &str = "SIP;cause=488;text=\"Not Acceptable Here\"";

/// The file name of a call's recording: its start time and Call-ID (filename-safe
/// characters only, bounded).
fn recording_name(start: f64, call_id: &str) -> String {
    let id: String = call_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    format!("{}-{id}.wav", start as u64)
}

/// Binds a non-blocking UDP socket on a random port of `range` (a few tries), for tokio.
fn bind_media(
    ip: IpAddr,
    range: (u16, u16),
    rng: &mut ChaCha8Rng,
) -> Option<(std::net::UdpSocket, u16)> {
    for _ in 0..32 {
        let port = rng.random_range(range.0..=range.1.max(range.0));
        if let Ok(s) = std::net::UdpSocket::bind(SocketAddr::new(ip, port))
            && s.set_nonblocking(true).is_ok()
        {
            return Some((s, port));
        }
    }
    None
}

/// The URI scheme for a request sent over `target`'s transport (RFC 3261 §26.2: `sips` over
/// TLS).
fn scheme(target: Target) -> &'static str {
    match target.transport {
        Transport::Tls | Transport::Wss => "sips",
        _ => "sip",
    }
}

/// The audio codec names of an SDP offer that telox implements, in the offer's order.
fn offered_codecs(offer: &Bytes) -> Vec<String> {
    let Ok(sdp) = sdp::Sdp::parse_with(offer.clone(), &sdp::ParseOptions::lenient()) else {
        return vec!["PCMU".into()];
    };
    let mut names = Vec::new();
    for m in sdp.media.iter() {
        for f in sdp::codec::formats(m) {
            let name = f.name.to_string();
            if codecs::SUPPORTED
                .iter()
                .any(|s| s.eq_ignore_ascii_case(&name))
                && !names.iter().any(|n: &String| n.eq_ignore_ascii_case(&name))
            {
                names.push(name);
            }
        }
    }
    if names.is_empty() {
        names.push("PCMU".into());
    }
    names
}

/// Plays `prompt` to the caller of `leg` (its `digit` is not read) in a loop (1 s pause
/// between plays) until a DTMF digit arrives, then hands the media leg back with the digit;
/// records what the caller says and the prompt when `leg` carries a recorder.
async fn ivr_task(
    leg: IvrDone,
    prompt: Option<Pcm>,
    tx: mpsc::Sender<IvrDone>,
    mut stop: oneshot::Receiver<()>,
) {
    let IvrDone {
        id,
        mut media,
        sock,
        mut recorder,
        ..
    } = leg;
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut buf = vec![0u8; 2048];
    let mut pos = 0usize;
    let n = media.frame_samples();
    let gap = media.sample_rate() as usize;
    loop {
        tokio::select! {
            r = sock.recv_from(&mut buf) => if let Ok((len, _)) = r {
                media.handle_datagram(clock(), buf.get(..len).unwrap_or_default());
            },
            _ = tick.tick() => {
                let now = clock();
                let frame: Vec<i16> = match &prompt {
                    Some(p) if !p.samples.is_empty() => {
                        let cycle = p.samples.len() + gap;
                        (0..n).map(|i| p.samples.get((pos + i) % cycle).copied().unwrap_or(0)).collect()
                    }
                    _ => vec![0; n],
                };
                pos = pos.wrapping_add(n);
                let remote = media.remote();
                let rtcp_to = media.params().remote_rtcp;
                if let Ok(pkts) = media.send_frame(now, &frame) {
                    for p in pkts {
                        let _ = sock.send_to(&p, remote).await;
                    }
                }
                for p in media.poll_rtcp(now) {
                    let _ = sock.send_to(&p, rtcp_to).await;
                }
                let heard = media.pull_audio(now);
                if let Some(r) = recorder.as_mut() {
                    let rate = media.sample_rate();
                    r.add_pcm(true, &heard, rate);
                    r.add_pcm(false, &frame, rate);
                }
                if let Some(digit) = media.take_digits().chars().next() {
                    let _ = tx.send(IvrDone { id, digit, media, sock, recorder }).await;
                    return;
                }
            }
            _ = &mut stop => return,
        }
    }
}
