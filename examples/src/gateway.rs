//! The gateway engine: calls from an internal side (allowed networks only) to a SIP trunk,
//! failing over to the next trunk on a 5xx or a timeout, with media bridged through two
//! [`MediaLeg`]s so the sides can differ in codec (Opus <-> G.711 transcoding, with jitter
//! buffer and concealment on each side) and in security (SRTP <-> RTP), DTMF forwarded as
//! RFC 4733 events, and a quality report per side at hang-up.
//!
//! A trunk may be a host name or SIP URI ([`TrunkAddress::locate`], RFC 3263): its INVITE
//! goes to the first of its targets, and the UA sends it on to the next target on a 503, a
//! transport error or Timer B (RFC 3263 §4.3) before the gateway moves to the next trunk. A
//! target that sends nothing within `trunk_timeout` is left for the trunk's next target
//! ([`UserAgent::fail_over`]); one that answered (a 1xx) but not in time is cancelled and
//! the call goes to the next trunk.
//!
//! A name's targets are kept no longer than the smallest TTL of their records: the gateway
//! locates the name again as soon as they expire, off its event loop, and the calls after
//! that go to the new targets; a registrar's REGISTER waits for its new targets
//! ([`UaEvent::TargetsExpired`]). So a trunk moved by DNS is found without a restart.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use codecs::Resampler;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use sip_core::header::From;
use sip_core::tokio::{DnsClient, Driver, DriverConfig};
use sip_core::transaction::{Target, Transport};
use sip_core::ua::{Body, LegId, RegistrationId, TargetList, UaConfig, UaEvent, UserAgent};
use sip_core::{Request, Uri};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot, watch};

use crate::cli::Cidr;
use crate::media::{MediaLeg, MediaParams, audio_capabilities, savp_fallback};
use crate::relay::Recorder;
use crate::report::LegReport;
use crate::trunk::{
    DialogHop, Located, Lookup, SourceNet, TrunkAddress, TrunkRegistrations, carrier_source,
    dialog_hop_name, dns_client, set_dialog_hop,
};
use crate::{clock, wallclock};

/// Gateway settings.
#[derive(Clone, Debug)]
pub struct GatewayConfig {
    /// SIP address (both sides use it): UDP, and TCP on the same port.
    pub listen: SocketAddr,
    /// SIP over TLS: a listener with its certificate, and the CA (`ca`) that TLS trunks'
    /// certificates are verified against. A `sips:` or `;transport=tls` trunk needs both:
    /// the gateway's Contact in its REGISTERs and INVITEs is `sips:` at the listener, and the
    /// carrier sends its requests (a BYE, a re-INVITE, a call to the registered binding)
    /// there on a connection of its own.
    pub tls: Option<crate::config::TlsListen>,
    /// Trunks in failover order, each with its targets as located at the start (a trunk
    /// located by name is located again when they expire; the gateway keeps the new ones
    /// itself).
    pub trunks: Vec<TrunkAddress>,
    /// The nameserver that locates trunk and registrar names again (`None`: those of
    /// `/etc/resolv.conf`).
    pub dns: Option<SocketAddr>,
    /// Networks allowed to call in on the internal side.
    pub allow: Vec<Cidr>,
    /// Where the carriers' requests come from (their SBCs), for every trunk: IPs and CIDR
    /// prefixes with an optional port, checked over UDP only. Empty: the trunks' own
    /// addresses, as located (over TCP/TLS from any port, unless on this host). A call from these is refused
    /// (403), even from an allowed network: the gateway sends every call to a trunk, and a
    /// carrier's call may not go out through a trunk again (toll fraud).
    pub trunk_sources: Vec<SourceNet>,
    /// Digest credentials for trunks that challenge (REGISTER and INVITE).
    pub credentials: Option<(String, String)>,
    /// Registrations to the trunks (refreshed while the gateway runs, removed when it stops).
    pub registrations: Vec<crate::trunk::TrunkRegistration>,
    /// Codecs offered to the trunk (G.711 by default).
    pub trunk_codecs: Vec<String>,
    /// SRTP towards the trunk (usually off: trunks speak plain RTP).
    pub trunk_srtp: sdp::SrtpPolicy,
    /// Codecs accepted on the internal side, preference order.
    pub internal_codecs: Vec<String>,
    /// How long a trunk may take to answer before the next is tried.
    pub trunk_timeout: Duration,
    /// Seed of random choices.
    pub seed: u64,
}

/// What the gateway did.
#[derive(Clone, Debug, Default)]
pub struct GatewaySummary {
    /// Calls bridged.
    pub answered: u64,
    /// Calls that failed on every trunk.
    pub failed: u64,
    /// Calls refused because the source was not allowed.
    pub refused: u64,
    /// Failovers to a next trunk, or to the next target of a trunk (RFC 3263 §4.3).
    pub failovers: u64,
    /// Per-call reports `[internal side, trunk side]`.
    pub reports: Vec<[LegReport; 2]>,
    /// Successful registrations to the trunks (first ones and refreshes).
    pub trunk_registrations: u64,
    /// Trunks still registered when the gateway stopped (0 after a clean unregister).
    pub trunks_registered: usize,
}

struct GwCall {
    a: LegId,
    offer: Bytes,
    from: String,
    number: String,
    b: Option<LegId>,
    b_oa: Option<sdp::OfferAnswer>,
    /// The RTP/SAVP offer sent once if the trunk refuses the best-effort SRTP one with 488
    /// or 606 ([`crate::media::savp_fallback`]).
    b_fallback: Option<sdp::OfferAnswer>,
    trunk_idx: usize,
    started: Instant,
    bridge: Option<TranscodeHandle>,
    b_sock: Option<std::net::UdpSocket>,
}

/// Runs the gateway until `shutdown` turns true; progress lines go to `log`.
///
/// # Errors
/// I/O errors binding the SIP socket.
pub async fn run(
    config: GatewayConfig,
    log: mpsc::Sender<String>,
    shutdown: watch::Receiver<bool>,
) -> std::io::Result<GatewaySummary> {
    run_reporting(config, log, shutdown, None).await
}

/// [`run`], sending the SIP address to `bound` once the socket is bound: with port 0 in
/// `config.listen` the OS picks the port, and whoever started the gateway learns it (and
/// that the gateway is ready) without probing (as [`crate::pbx::run_reporting`]).
///
/// # Errors
/// As [`run`].
pub async fn run_reporting(
    mut config: GatewayConfig,
    log: mpsc::Sender<String>,
    mut shutdown: watch::Receiver<bool>,
    bound: Option<oneshot::Sender<SocketAddr>>,
) -> std::io::Result<GatewaySummary> {
    // UDP and TCP on `listen`; TLS out to the trunks when a CA is given (RFC 3261 §18: a
    // trunk's transport is the one its URI names, and its requests and their answers ride
    // the connection the gateway opens).
    let mut dcfg = DriverConfig::new(config.listen);
    dcfg.tcp = true;
    if let Some(t) = &config.tls {
        let tls = t
            .driver_config()
            .map_err(|(what, e)| std::io::Error::other(format!("tls {what}: {e}")))?;
        dcfg.tls = Some(tls);
    }
    let mut driver = Driver::bind(dcfg).await?;
    let local = driver.local_addr();
    if let Some(bound) = bound {
        let _ = bound.send(local);
    }
    let mut ua_cfg = UaConfig::new(local, "gw", config.seed);
    ua_cfg.credentials.clone_from(&config.credentials);
    ua_cfg.user_agent = Some(format!("telox-gateway/{}", env!("CARGO_PKG_VERSION")));
    let mut ua = UserAgent::new(ua_cfg);
    if let Some(tls) = driver.tls_local_addr() {
        // Vias and Contacts of messages over TLS name the TLS listener (RFC 3261 §18.1.1).
        ua.set_listen_addr(Transport::Tls, tls);
        let _ = log.try_send(format!("listening on tls:{tls}"));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let mut calls: HashMap<u64, GwCall> = HashMap::new();
    let mut by_leg: HashMap<LegId, u64> = HashMap::new();
    let mut next = 1u64;
    let mut summary = GatewaySummary::default();
    let (mut regs, lines) =
        TrunkRegistrations::start(&mut ua, clock(), config.registrations.clone());
    for l in lines {
        let _ = log.try_send(l);
    }
    let (relocated, mut relocated_rx) = mpsc::channel(16);
    let mut relocator = Relocator {
        dns: config.dns,
        local,
        client: None,
        tx: relocated,
        trunks: std::mem::take(&mut config.trunks)
            .into_iter()
            .map(|t| match t.server {
                Some(_) => Located::new(t),
                None => Located::fixed(t),
            })
            .collect(),
    };
    loop {
        // Sends what is queued: a failed send (a refused connection, a failed handshake)
        // is reported to the UA, which fails the transaction over or ends it.
        let _ = driver.flush(&mut ua).await;
        let trunk_deadline = calls
            .values()
            .filter(|c| c.bridge.is_none() && c.b.is_some())
            .map(|c| c.started + config.trunk_timeout)
            .min();
        let deadline = [ua.poll_timeout(), trunk_deadline, relocator.next()]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or_else(|| clock() + Duration::from_secs(3600));
        tokio::select! {
            // Cancel-safe: a datagram, a framed stream message or a connection event; fed
            // to the UA outside the race.
            // The UA's timers are the sleep branch's (its deadline includes them).
            input = driver.next_input(None) => {
                if let Ok(input) = input {
                    let _ = driver.handle(&mut ua, input).await;
                }
            }
            _ = tokio::time::sleep_until(tokio::time::Instant::from_std(deadline)) => {
                let now = clock();
                ua.handle_timeout(now);
                relocator.due(now);
                // A trunk that does not answer in time: cancel it (best effort) and fail over
                // at once, without waiting for the INVITE transaction's Timer B.
                let late: Vec<u64> = calls
                    .iter()
                    .filter(|(_, c)| c.bridge.is_none() && c.b.is_some() && c.started + config.trunk_timeout <= now)
                    .map(|(id, _)| *id)
                    .collect();
                for id in late {
                    let Some(c) = calls.get_mut(&id) else { continue };
                    // The trunk's next target first, when this one sent nothing at all (RFC
                    // 3263 §4.3); the FailedOver event counts and logs it.
                    if let Some(b) = c.b
                        && ua.fail_over(now, b) == Ok(true)
                    {
                        c.started = now;
                        continue;
                    }
                    if let Some(b) = c.b.take() {
                        let _ = ua.cancel(now, b);
                        by_leg.remove(&b);
                    }
                    if c.trunk_idx + 1 < relocator.trunks.len() {
                        c.trunk_idx += 1;
                        summary.failovers += 1;
                        let _ = log.try_send(format!("trunk timed out: failing over to {}", relocator.name(c.trunk_idx)));
                        if try_trunk(&mut ua, (&config, &relocator), &mut rng, c, now, &log) {
                            by_leg.extend(c.b.map(|b| (b, id)));
                            continue;
                        }
                    }
                    give_up(&mut ua, now, (&mut calls, &mut by_leg, &mut summary), id, 408);
                }
            }
            c = shutdown.changed() => {
                if c.is_err() || *shutdown.borrow() {
                    break;
                }
            }
            Some(r) = relocated_rx.recv() => {
                for line in relocator.relocated(clock(), r, &mut ua) {
                    let _ = log.try_send(line);
                }
            }
        }
        while let Some(ev) = ua.poll_event() {
            let now = clock();
            match ev {
                UaEvent::Incoming { leg, request } => {
                    if let Some(peer) = ua
                        .peer(leg)
                        .filter(|&p| relocator.is_carrier(&config.trunk_sources, p))
                    {
                        summary.refused += 1;
                        let _ = ua.reject(now, leg, 403);
                        let _ = log.try_send(format!(
                            "refused call from a trunk ({}): no trunk-to-trunk calls",
                            peer.addr
                        ));
                        continue;
                    }
                    // The packet's source, as the carrier check above reads it (an
                    // IPv4-mapped peer of a dual-stack listener as IPv4).
                    let src = ua.peer(leg).map(|p| p.addr.ip().to_canonical());
                    let allowed = src.is_some_and(|ip| config.allow.iter().any(|c| c.contains(ip)));
                    if !allowed {
                        summary.refused += 1;
                        let _ = ua.reject(now, leg, 403);
                        let _ = log.try_send(format!("refused call from {src:?}: not in --allow"));
                        continue;
                    }
                    let number = request.uri().user().unwrap_or_default().to_owned();
                    let from = request
                        .header::<From>()
                        .and_then(Result::ok)
                        .and_then(|f| f.uri().user().map(str::to_owned))
                        .unwrap_or_default();
                    let id = next;
                    next += 1;
                    by_leg.insert(leg, id);
                    calls.insert(
                        id,
                        GwCall {
                            a: leg,
                            offer: sip_core::body::sdp_or_body(request.headers()),
                            from,
                            number,
                            b: None,
                            b_oa: None,
                            b_fallback: None,
                            trunk_idx: 0,
                            started: now,
                            bridge: None,
                            b_sock: None,
                        },
                    );
                    if let Some(c) = calls.get_mut(&id) {
                        if try_trunk(&mut ua, (&config, &relocator), &mut rng, c, now, &log) {
                            by_leg.extend(c.b.map(|b| (b, id)));
                        } else {
                            // RFC 3261 §21.5.4: no trunk could take the call.
                            give_up(
                                &mut ua,
                                now,
                                (&mut calls, &mut by_leg, &mut summary),
                                id,
                                503,
                            );
                        }
                    }
                }
                UaEvent::Provisional { leg, response } => {
                    let Some(c) = by_leg.get(&leg).and_then(|id| calls.get(id)) else {
                        continue;
                    };
                    if Some(leg) != c.b {
                        continue;
                    }
                    if (180..=183).contains(&response.status().0) {
                        let _ = ua.ringing(now, c.a, 180, None);
                    }
                    // The trunk's next PRACKs and UPDATEs go to the early dialog's next hop.
                    if crate::trunk::is_reliable(&response)
                        && let Some(hop) = dialog_hop_name(&ua, leg)
                    {
                        relocator.dialog_hop(leg, hop);
                    }
                }
                UaEvent::Failed { leg, status, .. } => {
                    let Some(&id) = by_leg.get(&leg) else {
                        continue;
                    };
                    let Some(c) = calls.get_mut(&id) else {
                        continue;
                    };
                    if Some(leg) != c.b {
                        continue;
                    }
                    by_leg.remove(&leg);
                    c.b = None;
                    // RFC 3261 §16.7-style failover: 5xx, 408 (timeout) and 487 (our cancel on
                    // timeout) move to the next trunk; other finals go back to the caller.
                    let failover = status >= 500 || status == 408 || status == 487;
                    if failover && c.trunk_idx + 1 < relocator.trunks.len() {
                        c.trunk_idx += 1;
                        summary.failovers += 1;
                        let _ = log.try_send(format!(
                            "trunk answered {status}: failing over to {}",
                            relocator.name(c.trunk_idx)
                        ));
                        c.started = now;
                        if try_trunk(&mut ua, (&config, &relocator), &mut rng, c, now, &log) {
                            by_leg.extend(c.b.map(|b| (b, id)));
                            continue;
                        }
                    }
                    let st = if status == 487 { 408 } else { status };
                    give_up(
                        &mut ua,
                        now,
                        (&mut calls, &mut by_leg, &mut summary),
                        id,
                        st.max(400),
                    );
                }
                UaEvent::FailedOver { leg: Some(leg), .. } => {
                    // The UA sent the INVITE on to the trunk's next target: its own time.
                    if let Some(c) = by_leg.get(&leg).and_then(|id| calls.get_mut(id)) {
                        c.started = now;
                        summary.failovers += 1;
                        let trunk = relocator.trunk(c.trunk_idx).map(|t| t.host.as_str());
                        let what = format!("trunk {}", trunk.unwrap_or_default());
                        let _ = log
                            .try_send(crate::trunk::failover_line(&what, &ev).unwrap_or_default());
                    }
                }
                UaEvent::Answered { leg, response } => {
                    let Some(&id) = by_leg.get(&leg) else {
                        continue;
                    };
                    let Some(c) = calls.get_mut(&id) else {
                        continue;
                    };
                    match bridge(
                        &config,
                        &mut rng,
                        c,
                        &sip_core::body::sdp_or_body(response.headers()),
                        local,
                    )
                    .await
                    {
                        Ok(answer) => {
                            let _ = ua.answer(now, c.a, Some(Body::sdp(answer)));
                            summary.answered += 1;
                            let _ = log.try_send(format!(
                                "call {} -> {} bridged via {}",
                                c.from,
                                c.number,
                                relocator.name(c.trunk_idx)
                            ));
                            // The trunk's BYE and re-INVITEs go to its dialog's next hop by
                            // name (its Contact may name another SBC than the INVITE's).
                            if let Some(hop) = dialog_hop_name(&ua, leg) {
                                relocator.dialog_hop(leg, hop);
                            }
                        }
                        Err(why) => {
                            let _ = log.try_send(format!("cannot bridge: {why}"));
                            let _ = ua.reject(now, c.a, 488);
                            let _ = ua.bye(now, leg);
                        }
                    }
                }
                UaEvent::Cancelled { leg } => {
                    if let Some(id) = by_leg.remove(&leg)
                        && let Some(c) = calls.remove(&id)
                        && let Some(b) = c.b
                    {
                        let _ = ua.cancel(now, b);
                    }
                }
                UaEvent::Ended { leg, .. } => {
                    let Some(id) = by_leg.remove(&leg) else {
                        continue;
                    };
                    let Some(mut c) = calls.remove(&id) else {
                        continue;
                    };
                    let other = if leg == c.a { c.b } else { Some(c.a) };
                    if let Some(o) = other {
                        by_leg.remove(&o);
                        let _ = ua.bye(now, o);
                    }
                    if let Some((stop, done)) = c.bridge.take() {
                        let _ = stop.send(());
                        if let Ok(Ok(r)) = tokio::time::timeout(Duration::from_secs(2), done).await
                        {
                            let _ = log.try_send(format!(
                                "call {} -> {} ended\n{}",
                                c.from,
                                c.number,
                                crate::report::render(&r)
                            ));
                            summary.reports.push(r);
                        }
                    }
                }
                UaEvent::Request { key, .. } => {
                    let _ = ua.respond(now, &key, 200, None);
                }
                UaEvent::OfferRetried { leg, status } => {
                    let c = by_leg.get(&leg).and_then(|id| calls.get_mut(id));
                    if let Some(c) = c.filter(|c| c.b == Some(leg))
                        && let Some(oa) = c.b_fallback.take()
                    {
                        c.b_oa = Some(oa);
                        let _ = log.try_send(format!(
                            "trunk refused RTP/AVP with a=crypto ({status}): offering RTP/SAVP"
                        ));
                    }
                }
                UaEvent::TargetsExpired { registration } => {
                    // The registrar's records expired: its REGISTER waits for a new location.
                    if let Some(uri) = regs.server_of(registration) {
                        relocator.registrar(registration, uri.clone());
                    }
                }
                UaEvent::Registered { .. }
                | UaEvent::RegistrationFailed { .. }
                | UaEvent::FailedOver { .. }
                | UaEvent::Unregistered { .. } => {
                    if matches!(ev, UaEvent::Registered { .. }) {
                        summary.trunk_registrations += 1;
                    }
                    if let Some(line) = regs.on_event(&ev) {
                        let _ = log.try_send(line);
                    }
                }
                _ => {}
            }
        }
    }
    for line in regs
        .unregister_all(&mut ua, &mut driver, Duration::from_secs(3))
        .await
    {
        let _ = log.try_send(line);
    }
    summary.trunks_registered = regs.registered();
    Ok(summary)
}

pub(crate) fn request_source(req: &Request) -> Option<std::net::IpAddr> {
    // The transaction layer records `received` on the top Via (RFC 3261 §18.2.1); fall back to
    // the sent-by host.
    let via = req.header::<sip_core::header::Via>()?.ok()?;
    via.received()
        .and_then(|r| r.parse().ok())
        .or_else(|| via.host().trim_matches(['[', ']']).parse().ok())
}

/// A name located (again): a trunk's (by index), a registration's registrar, or the next
/// hop of a trunk call's dialog.
enum Relocated {
    Trunk(usize, Result<TrunkAddress, String>),
    Registrar(RegistrationId, Result<TrunkAddress, String>),
    DialogHop(DialogHop),
}

/// Locates trunk and registrar names again (RFC 3263), each in a task of its own so that
/// the event loop goes on meanwhile; the results come back through `tx`.
struct Relocator {
    dns: Option<SocketAddr>,
    local: SocketAddr,
    /// Made at the first use; shared by the lookups (its cache).
    client: Option<Arc<tokio::sync::Mutex<DnsClient>>>,
    tx: mpsc::Sender<Relocated>,
    /// The trunks' targets (`GatewayConfig::trunks` order), located again as soon as they
    /// go stale; the calls take the last ones meanwhile.
    trunks: Vec<Located<TrunkAddress>>,
}

impl Relocator {
    /// Trunk `i`'s targets, the last located.
    fn trunk(&self, i: usize) -> Option<&TrunkAddress> {
        self.trunks.get(i).and_then(Located::current)
    }

    /// Trunk `i` as the log names it.
    fn name(&self, i: usize) -> String {
        self.trunk(i).map(ToString::to_string).unwrap_or_default()
    }

    /// Whether a request from `peer` is a carrier's: from one of `sources` when any are
    /// configured, else from one of the trunks' addresses ([`carrier_source`]).
    fn is_carrier(&self, sources: &[SourceNet], peer: Target) -> bool {
        if !sources.is_empty() {
            return carrier_source(sources, &[], self.local.ip(), peer);
        }
        self.trunks
            .iter()
            .filter_map(Located::current)
            .any(|t| carrier_source(&[], &t.targets, self.local.ip(), peer))
    }

    /// When the first trunk located by name goes stale (its lookup not yet running).
    fn next(&self) -> Option<Instant> {
        self.trunks.iter().filter_map(Located::stale_at).min()
    }

    /// Starts the lookup of every trunk whose targets are stale at `now`.
    fn due(&mut self, now: Instant) {
        for i in 0..self.trunks.len() {
            let Some(located) = self.trunks.get_mut(i) else {
                continue;
            };
            if located.stale_at().is_some_and(|at| at <= now)
                && located.lookup(now) == Lookup::Resolve
                && let Some(uri) = located.current().and_then(|t| t.server.clone())
            {
                self.spawn(uri, move |r| Relocated::Trunk(i, r));
            }
        }
    }

    /// Starts the lookup of registration `id`'s registrar `uri`.
    fn registrar(&mut self, id: RegistrationId, uri: Uri) {
        self.spawn(uri, move |r| Relocated::Registrar(id, r));
    }

    /// Starts the lookup of `hop`, the next hop of the dialog of the trunk call on `leg`.
    fn dialog_hop(&mut self, leg: LegId, hop: Uri) {
        self.spawn(hop.clone(), move |r| {
            let found = r.map(|a| a.target_list());
            Relocated::DialogHop(DialogHop { leg, hop, found })
        });
    }

    fn spawn(
        &mut self,
        uri: Uri,
        done: impl FnOnce(Result<TrunkAddress, String>) -> Relocated + Send + 'static,
    ) {
        let client = match &self.client {
            Some(c) => Arc::clone(c),
            None => match dns_client(self.dns) {
                Ok(c) => Arc::clone(self.client.insert(Arc::new(tokio::sync::Mutex::new(c)))),
                Err(e) => {
                    // The channel has room for the few lookups that can run at once.
                    let _ = self.tx.try_send(done(Err(e)));
                    return;
                }
            },
        };
        let (tx, local) = (self.tx.clone(), self.local);
        tokio::spawn(async move {
            let located = TrunkAddress::locate_name(&mut *client.lock().await, &uri, local).await;
            let _ = tx.send(done(located)).await;
        });
    }

    /// Takes a lookup's result: a trunk's new targets for the calls after it (a failure
    /// keeps the old ones, [`Located::resolved`]), a registrar's for its waiting REGISTER
    /// (a failure keeps the old ones, still stale), a dialog's next hop for its later
    /// requests (unless the call is over). Returns log lines.
    fn relocated(&mut self, now: Instant, r: Relocated, ua: &mut UserAgent) -> Vec<String> {
        let mut lines = Vec::new();
        match r {
            Relocated::Trunk(i, result) => {
                let Some(located) = self.trunks.get_mut(i) else {
                    return lines;
                };
                if let Some(t) = located.current() {
                    match &result {
                        Ok(new) if new.targets != t.targets => {
                            lines.push(format!("trunk {}: located again: {new}", t.host));
                        }
                        Ok(_) => {}
                        Err(e) => {
                            lines.push(format!("trunk {}: cannot locate again: {e}", t.host));
                        }
                    }
                }
                located.resolved(now, result);
            }
            Relocated::Registrar(id, result) => {
                let list = match result {
                    Ok(a) => {
                        lines.push(format!("registrar located again: {a}"));
                        a.target_list()
                    }
                    Err(e) => {
                        lines.push(format!("registrar: cannot locate again: {e}"));
                        TargetList::default()
                    }
                };
                if let Err(e) = ua.relocate_registration(now, id, list) {
                    lines.push(format!("REGISTER failed: {e}"));
                }
            }
            Relocated::DialogHop(hop) => lines.extend(set_dialog_hop(ua, hop)),
        }
        lines
    }
}

/// Answers call `id`'s caller with `status` (no trunk took the call) and forgets the call.
fn give_up(
    ua: &mut UserAgent,
    now: Instant,
    (calls, by_leg, summary): (
        &mut HashMap<u64, GwCall>,
        &mut HashMap<LegId, u64>,
        &mut GatewaySummary,
    ),
    id: u64,
    status: u16,
) {
    if let Some(c) = calls.remove(&id) {
        let _ = ua.reject(now, c.a, status);
        summary.failed += 1;
        by_leg.remove(&c.a);
    }
}

/// Sends the call's INVITE to its trunk, moving on to the next trunks while one cannot take
/// it (no available target, RFC 3261 §21.5.4); false when none could.
fn try_trunk(
    ua: &mut UserAgent,
    (cfg, trunks): (&GatewayConfig, &Relocator),
    rng: &mut ChaCha8Rng,
    c: &mut GwCall,
    now: Instant,
    log: &mpsc::Sender<String>,
) -> bool {
    let Ok(sock) = std::net::UdpSocket::bind(SocketAddr::new(cfg.listen.ip(), 0)) else {
        return false;
    };
    let port = sock.local_addr().map_or(0, |a| a.port());
    let _ = sock.set_nonblocking(true);
    let names: Vec<&str> = cfg.trunk_codecs.iter().map(String::as_str).collect();
    let caps = audio_capabilities(port, &names, cfg.trunk_srtp);
    let fallback = savp_fallback(cfg.listen.ip(), &caps, rng);
    let mut oa = sdp::OfferAnswer::new(sdp::SessionConfig::new(cfg.listen.ip(), caps), rng);
    let Ok(offer) = oa.create_offer(rng) else {
        return false;
    };
    let Ok(from) = format!("sip:{}@{}", c.from, cfg.listen.ip()).parse::<Uri>() else {
        return false;
    };
    while let Some(trunk) = trunks.trunk(c.trunk_idx) {
        let Ok(to) = format!("sip:{}@{}", c.number, trunk.host).parse::<Uri>() else {
            return false;
        };
        let body = Some(Body::sdp(offer.to_bytes()));
        match ua.invite(now, from.clone(), to.clone(), to, trunk.sip_targets(), body) {
            Ok(leg) => {
                c.b = Some(leg);
                c.b_oa = Some(oa);
                // A refusal of the best-effort SRTP offer gets one retry with RTP/SAVP.
                c.b_fallback = fallback
                    .and_then(|(oa, body)| ua.set_fallback_offer(leg, body).ok().map(|()| oa));
                c.b_sock = Some(sock);
                c.started = now;
                return true;
            }
            Err(e) => {
                let _ = log.try_send(format!("INVITE to trunk {trunk} failed: {e}"));
            }
        }
        if c.trunk_idx + 1 >= trunks.trunks.len() {
            break;
        }
        c.trunk_idx += 1;
    }
    false
}

async fn bridge(
    cfg: &GatewayConfig,
    rng: &mut ChaCha8Rng,
    c: &mut GwCall,
    trunk_answer: &Bytes,
    local: SocketAddr,
) -> Result<Bytes, String> {
    let oa = c.b_oa.as_mut().ok_or("no trunk offer")?;
    let ans = sdp::Sdp::parse_with(trunk_answer.clone(), &sdp::ParseOptions::lenient())
        .map_err(|e| e.to_string())?;
    oa.handle_answer(&ans).map_err(|e| e.to_string())?;
    let b_stream = oa.streams().first().ok_or("no trunk stream")?.clone();
    let a_sock =
        std::net::UdpSocket::bind(SocketAddr::new(local.ip(), 0)).map_err(|e| e.to_string())?;
    a_sock.set_nonblocking(true).map_err(|e| e.to_string())?;
    let a_port = a_sock.local_addr().map_err(|e| e.to_string())?.port();
    let names: Vec<&str> = cfg.internal_codecs.iter().map(String::as_str).collect();
    let caps = audio_capabilities(a_port, &names, sdp::SrtpPolicy::Optional);
    let mut a_oa = sdp::OfferAnswer::new(sdp::SessionConfig::new(local.ip(), caps), rng);
    let offer = sdp::Sdp::parse_with(c.offer.clone(), &sdp::ParseOptions::lenient())
        .map_err(|e| e.to_string())?;
    let answer = a_oa.handle_offer(&offer, rng).map_err(|e| e.to_string())?;
    let a_stream = a_oa.streams().first().ok_or("no internal stream")?.clone();
    let now = clock();
    let a = MediaLeg::new(
        MediaParams::from_negotiated(&a_stream, rng).map_err(|e| e.to_string())?,
        now,
        wallclock(),
    )
    .map_err(|e| e.to_string())?;
    let b = MediaLeg::new(
        MediaParams::from_negotiated(&b_stream, rng).map_err(|e| e.to_string())?,
        now,
        wallclock(),
    )
    .map_err(|e| e.to_string())?;
    let a_sock = UdpSocket::from_std(a_sock).map_err(|e| e.to_string())?;
    let b_sock = UdpSocket::from_std(c.b_sock.take().ok_or("no trunk socket")?)
        .map_err(|e| e.to_string())?;
    let names = (
        format!("{} (internal)", c.from),
        format!("{} (trunk)", c.number),
    );
    c.bridge = Some(spawn_transcode(a, b, a_sock, b_sock, names));
    Ok(answer.to_bytes())
}

/// A running [`transcode`] task: send `()` to stop it, then its per-side reports arrive.
pub(crate) type TranscodeHandle = (oneshot::Sender<()>, oneshot::Receiver<[LegReport; 2]>);

/// Starts [`transcode`] between `a` and `b` on its own task.
pub(crate) fn spawn_transcode(
    a: MediaLeg,
    b: MediaLeg,
    a_sock: UdpSocket,
    b_sock: UdpSocket,
    names: (String, String),
) -> TranscodeHandle {
    spawn_transcode_with(a, b, a_sock, b_sock, names, None, None)
}

/// A change to a running [`transcode`] (a re-INVITE of one side: `a` true for side a).
#[derive(Clone, Copy, Debug)]
pub(crate) enum LegUpdate {
    /// The side's party now receives RTP at `addr` and RTCP at `rtcp`.
    Remote {
        a: bool,
        addr: SocketAddr,
        rtcp: SocketAddr,
    },
    /// Whether the PBX sends to the side's party (false while it holds with sendonly).
    Sending { a: bool, sending: bool },
}

/// [`spawn_transcode`] taking [`LegUpdate`]s from `updates`, and recording what each side
/// said (decoded, side a on the left channel) to `recorder` (written when it stops).
pub(crate) fn spawn_transcode_with(
    a: MediaLeg,
    b: MediaLeg,
    a_sock: UdpSocket,
    b_sock: UdpSocket,
    names: (String, String),
    updates: Option<mpsc::Receiver<LegUpdate>>,
    recorder: Option<Recorder>,
) -> TranscodeHandle {
    let (stop_tx, stop_rx) = oneshot::channel();
    let (done_tx, done_rx) = oneshot::channel();
    tokio::spawn(async move {
        let r = transcode(a, b, a_sock, b_sock, stop_rx, names, updates, recorder).await;
        let _ = done_tx.send(r);
    });
    (stop_tx, done_rx)
}

/// Decodes each side's audio (jitter buffer + concealment), resamples it and encodes it for the
/// other side every 20 ms; forwards DTMF digits as RFC 4733 events.
#[expect(
    clippy::too_many_arguments,
    reason = "the two legs, their sockets and controls"
)]
pub(crate) async fn transcode(
    mut a: MediaLeg,
    mut b: MediaLeg,
    a_sock: UdpSocket,
    b_sock: UdpSocket,
    mut stop: oneshot::Receiver<()>,
    names: (String, String),
    mut updates: Option<mpsc::Receiver<LegUpdate>>,
    mut recorder: Option<Recorder>,
) -> [LegReport; 2] {
    let mut ab = Resampler::new(a.sample_rate(), b.sample_rate()).ok();
    let mut ba = Resampler::new(b.sample_rate(), a.sample_rate()).ok();
    let (mut to_b, mut to_a): (Vec<i16>, Vec<i16>) = (Vec::new(), Vec::new());
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let (mut buf_a, mut buf_b) = (vec![0u8; 2048], vec![0u8; 2048]);
    let (mut digits_a, mut digits_b) = (0usize, 0usize);
    loop {
        tokio::select! {
            r = a_sock.recv_from(&mut buf_a) => if let Ok((n, _)) = r { a.handle_datagram(clock(), buf_a.get(..n).unwrap_or_default()); },
            r = b_sock.recv_from(&mut buf_b) => if let Ok((n, _)) = r { b.handle_datagram(clock(), buf_b.get(..n).unwrap_or_default()); },
            _ = tick.tick() => {
                let now = clock();
                let pa = a.pull_audio(now);
                let pb = b.pull_audio(now);
                if let Some(r) = recorder.as_mut() {
                    r.add_pcm(true, &pa, a.sample_rate());
                    r.add_pcm(false, &pb, b.sample_rate());
                }
                resample_into(&mut ab, &pa, &mut to_b);
                resample_into(&mut ba, &pb, &mut to_a);
                forward_digits(&a, &mut b, &mut digits_a);
                forward_digits(&b, &mut a, &mut digits_b);
                for (leg, pcm, sock) in [(&mut b, &mut to_b, &b_sock), (&mut a, &mut to_a, &a_sock)] {
                    let n = leg.frame_samples();
                    // Send one frame per tick; pad a short start with silence.
                    if pcm.len() < n {
                        pcm.resize(n, 0);
                    }
                    let frame: Vec<i16> = pcm.drain(..n).collect();
                    // Bound the backlog (clock drift between the sides) to 3 frames.
                    if pcm.len() > 3 * n {
                        let extra = pcm.len() - 3 * n;
                        pcm.drain(..extra);
                    }
                    let remote = leg.remote();
                    let rtcp_to = leg.params().remote_rtcp;
                    if let Ok(pkts) = leg.send_frame(now, &frame) {
                        for p in pkts {
                            let _ = sock.send_to(&p, remote).await;
                        }
                    }
                    for p in leg.poll_rtcp(now) {
                        let _ = sock.send_to(&p, rtcp_to).await;
                    }
                }
            }
            u = async {
                match updates.as_mut() {
                    Some(r) => r.recv().await,
                    None => std::future::pending().await,
                }
            } => match u {
                Some(LegUpdate::Remote { a: side_a, addr, rtcp }) => {
                    if side_a { a.set_remote(addr, rtcp) } else { b.set_remote(addr, rtcp) }
                }
                Some(LegUpdate::Sending { a: side_a, sending }) => {
                    if side_a { a.set_sending(sending) } else { b.set_sending(sending) }
                }
                None => updates = None,
            },
            _ = &mut stop => break,
        }
    }
    [a.report(&names.0), b.report(&names.1)]
}

fn resample_into(r: &mut Option<Resampler>, input: &[i16], out: &mut Vec<i16>) {
    match r {
        Some(r) if r.input_rate() != r.output_rate() => r.process(input, out),
        _ => out.extend_from_slice(input),
    }
}

fn forward_digits(from: &MediaLeg, to: &mut MediaLeg, seen: &mut usize) {
    let d = from.digits();
    for k in d.chars().skip(*seen) {
        to.send_dtmf(k, 100);
    }
    *seen = d.chars().count();
}
