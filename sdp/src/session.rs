//! The RFC 3264 offer/answer session: a sans-IO object that creates offers and answers from
//! local capabilities and turns exchanges into [`NegotiatedStream`]s.

use std::net::IpAddr;
use std::sync::Arc;

use crate::attr::{Direction, push_decimal};
use crate::attributes::Attributes;
use crate::codec::{Codec, DtmfEvents, Format, formats};
use crate::error::NegotiationError;
use crate::model::{Connection, Media, MediaKind, Origin, Protocol, Sdp, Text};
use crate::negotiate::{
    NegotiatedStream, Negotiation, RejectedStream, Role, negotiate, negotiate_read,
};
use crate::sdes::{MAX_KEY_SALT, SrtpSuite, crypto_choice, write_crypto};

/// Whether a stream uses SRTP keyed by SDES (RFC 4568).
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub enum SrtpPolicy {
    /// Plain RTP; SRTP offers (RTP/SAVP) are rejected.
    #[default]
    Disabled,
    /// Offer RTP/AVP with `a=crypto` lines ("best effort", as many SIP phones do); accept
    /// RTP/AVP and RTP/SAVP offers, with SRTP whenever the peer offers a suite we take.
    Optional,
    /// Offer RTP/SAVP; accept only offers with an acceptable `a=crypto`.
    Required,
}

/// What we can do for one media stream: the input of the offer/answer engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaCapabilities {
    /// Media type (audio for calls).
    pub kind: MediaKind,
    /// Our RTP address when it differs from the session address (media-level `c=`).
    pub address: Option<IpAddr>,
    /// Our RTP port.
    pub port: u16,
    /// Our RTCP port when it is not RTP + 1 (written as `a=rtcp`, RFC 3605).
    pub rtcp_port: Option<u16>,
    /// Codecs in preference order, telephone-event included when DTMF is wanted.
    pub codecs: Vec<Codec>,
    /// `a=ptime` we want to receive, ms.
    pub ptime: Option<u32>,
    /// `a=maxptime`, ms.
    pub maxptime: Option<u32>,
    /// Offer and accept `a=rtcp-mux` (RFC 5761).
    pub rtcp_mux: bool,
    /// SRTP policy.
    pub srtp: SrtpPolicy,
    /// SRTP suites we accept, preference order (default: strongest first).
    pub srtp_suites: Vec<SrtpSuite>,
    /// Our direction (sendrecv; sendonly to hold, RFC 3264 §8.4).
    pub direction: Direction,
}

impl MediaCapabilities {
    /// An audio stream on `port` with these codecs, plain RTP, sendrecv, ptime 20.
    pub fn audio(port: u16, codecs: Vec<Codec>) -> Self {
        Self {
            kind: MediaKind::Audio,
            address: None,
            port,
            rtcp_port: None,
            codecs,
            ptime: Some(20),
            maxptime: None,
            rtcp_mux: false,
            srtp: SrtpPolicy::Disabled,
            srtp_suites: SrtpSuite::ALL.to_vec(),
            direction: Direction::SendRecv,
        }
    }

    /// Sets the SRTP policy.
    #[must_use]
    pub fn with_srtp(mut self, policy: SrtpPolicy) -> Self {
        self.srtp = policy;
        self
    }

    /// Enables rtcp-mux.
    #[must_use]
    pub fn with_rtcp_mux(mut self) -> Self {
        self.rtcp_mux = true;
        self
    }
}

/// Session-wide settings and the streams to offer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionConfig {
    /// `o=` user name (`-` when none).
    pub username: String,
    /// `s=` session name.
    pub session_name: String,
    /// Our address: `o=` and session-level `c=`.
    pub address: IpAddr,
    /// Local streams, in the order they are offered.
    pub streams: Vec<MediaCapabilities>,
}

impl SessionConfig {
    /// A session at `address` with one stream.
    pub fn new(address: IpAddr, stream: MediaCapabilities) -> Self {
        Self {
            username: "-".to_owned(),
            session_name: "telox".to_owned(),
            address,
            streams: vec![stream],
        }
    }
}

/// The RFC 3264 offer/answer state of one SIP session (dialog): sans-IO, no clock, the RNG
/// (for `o=` session id and SDES keys) passed in.
///
/// Drive it with the SIP bodies: `create_offer` → send, `handle_answer(answer)`; or
/// `handle_offer(offer)` → send the returned answer. After each successful exchange
/// [`OfferAnswer::streams`] holds the media parameters; re-offers (hold, resume, added or
/// removed streams) go through the same calls. An offer whose `o=` version did not change
/// gets the previous answer again, and the result stays as it was (RFC 3264 §8).
///
/// ```
/// use rand::SeedableRng;
/// use telox_sdp::{Codec, MediaCapabilities, OfferAnswer, SessionConfig};
///
/// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
/// let alice_cfg = SessionConfig::new(
///     "192.0.2.1".parse().unwrap(),
///     MediaCapabilities::audio(4000, vec![Codec::opus(), Codec::pcmu(), Codec::telephone_event()]),
/// );
/// let bob_cfg = SessionConfig::new(
///     "192.0.2.2".parse().unwrap(),
///     MediaCapabilities::audio(5000, vec![Codec::pcmu(), Codec::telephone_event()]),
/// );
/// let mut alice = OfferAnswer::new(alice_cfg, &mut rng);
/// let mut bob = OfferAnswer::new(bob_cfg, &mut rng);
/// let offer = alice.create_offer(&mut rng)?;
/// let answer = bob.handle_offer(&offer, &mut rng)?;
/// let streams = alice.handle_answer(&answer)?;
/// assert_eq!(streams[0].send_codec.name, "PCMU");
/// assert_eq!(streams[0].remote_rtp, Some("192.0.2.2:5000".parse().unwrap()));
/// assert_eq!(bob.streams()[0].telephone_event.unwrap().send_payload_type, 101);
/// # Ok::<(), telox_sdp::NegotiationError>(())
/// ```
#[derive(Clone, Debug)]
pub struct OfferAnswer {
    username: Text,
    session_name: Text,
    address: IpAddr,
    // `address` and `session_id` as written in o= and c=, formatted once.
    address_text: Text,
    session_id_text: Text,
    version: u64,
    streams: Vec<LocalStream>,
    slots: Vec<Slot>,
    pending: Option<(Sdp, Vec<Slot>)>,
    local: Option<Sdp>,
    remote: Option<Sdp>,
    last_role: Option<Role>,
    negotiation: Negotiation,
}

#[derive(Clone, Debug)]
struct LocalStream {
    // Shared: cloning a session (one per call from a template) copies no codec list;
    // changes go through `Arc::make_mut`.
    caps: Arc<MediaCapabilities>,
    active: bool,
    // SDES keys we sent, one per suite, reused so that unchanged re-offers stay unchanged.
    keys: Vec<LocalKey>,
}

/// An SDES master key||salt we generated, in a fixed array (no allocation per key).
#[derive(Clone)]
struct LocalKey {
    suite: SrtpSuite,
    key_salt: [u8; MAX_KEY_SALT],
}

impl LocalKey {
    fn key_salt(&self) -> &[u8] {
        self.key_salt
            .get(..self.suite.key_salt_len())
            .unwrap_or_default()
    }
}

impl std::fmt::Debug for LocalKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Keys never reach logs.
        f.debug_struct("LocalKey")
            .field("suite", &self.suite)
            .finish_non_exhaustive()
    }
}

/// The attributes of one media description, written straight into the list's one owned
/// buffer (no `String` per attribute).
struct AttrWriter(Attributes);

impl AttrWriter {
    fn new() -> Self {
        Self(Attributes::with_capacity(512, 16))
    }

    /// `a=<name>:<what write appends>`.
    fn value(&mut self, name: &'static str, write: impl FnOnce(&mut String)) {
        self.0.push_with(name, write);
    }

    /// `a=<name>:<n>`.
    fn number(&mut self, name: &'static str, n: u32) {
        self.value(name, |b| push_decimal(b, u64::from(n)));
    }

    /// `a=<name>`.
    fn flag(&mut self, name: &'static str) {
        self.0.push_flag(name);
    }

    /// Sets the attributes of `m`.
    fn finish(self, m: &mut Media) {
        m.attributes = self.0;
    }
}

/// The payload types as an m= format list.
fn format_list(pts: impl Iterator<Item = u8>) -> Text {
    let mut list = String::with_capacity(32);
    for pt in pts {
        if !list.is_empty() {
            list.push(' ');
        }
        push_decimal(&mut list, u64::from(pt));
    }
    Text::from(list)
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Slot {
    stream: Option<usize>,
    kind: MediaKind,
    protocol: Protocol,
    format: Text,
}

impl OfferAnswer {
    /// A session in the stable state; the `o=` session id comes from `rng`.
    pub fn new<R: rand::CryptoRng + ?Sized>(config: SessionConfig, rng: &mut R) -> Self {
        // Keep the id below 2^62 so peers that parse it as a signed 64-bit number cope.
        let session_id = rng.next_u64() >> 2;
        Self {
            username: Text::from(config.username),
            session_name: Text::from(config.session_name),
            address: config.address,
            address_text: Text::from(config.address.to_string()),
            session_id_text: Text::from(session_id.to_string()),
            version: session_id,
            streams: config
                .streams
                .into_iter()
                .map(|caps| LocalStream {
                    caps: Arc::new(caps),
                    active: true,
                    keys: Vec::new(),
                })
                .collect(),
            slots: Vec::new(),
            pending: None,
            local: None,
            remote: None,
            last_role: None,
            negotiation: Negotiation::default(),
        }
    }

    /// The negotiated streams of the last completed exchange.
    pub fn streams(&self) -> &[NegotiatedStream] {
        &self.negotiation.streams
    }

    /// The full result of the last completed exchange, rejected streams included.
    pub fn negotiation(&self) -> &Negotiation {
        &self.negotiation
    }

    /// The streams rejected or disabled in the last completed exchange.
    pub fn rejected(&self) -> &[RejectedStream] {
        &self.negotiation.rejected
    }

    /// The description we last sent (offer or answer).
    pub fn local_description(&self) -> Option<&Sdp> {
        self.local.as_ref()
    }

    /// The description we last received.
    pub fn remote_description(&self) -> Option<&Sdp> {
        self.remote.as_ref()
    }

    /// Whether our offer awaits an answer.
    pub fn has_pending_offer(&self) -> bool {
        self.pending.is_some()
    }

    /// Our `o=` session version (incremented on every changed description, RFC 3264 §8).
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Mutable access to a local stream's capabilities (stream ids are the order of
    /// `SessionConfig::streams` then of `add_stream`); takes effect with the next offer or
    /// answer.
    pub fn capabilities_mut(&mut self, stream: usize) -> Option<&mut MediaCapabilities> {
        self.streams
            .get_mut(stream)
            .map(|s| Arc::make_mut(&mut s.caps))
    }

    /// Sets a local stream's direction for the next offer.
    ///
    /// # Errors
    /// [`NegotiationError::ApiMisuse`] for an unknown stream id.
    pub fn set_direction(
        &mut self,
        stream: usize,
        direction: Direction,
    ) -> Result<(), NegotiationError> {
        let s = self
            .streams
            .get_mut(stream)
            .ok_or(NegotiationError::ApiMisuse("no such stream"))?;
        Arc::make_mut(&mut s.caps).direction = direction;
        Ok(())
    }

    /// Puts every stream on hold for the next offer (RFC 3264 §8.4: sendonly, or inactive
    /// where we only received).
    pub fn hold(&mut self) {
        for s in &mut self.streams {
            let held = s.caps.direction.intersect(Direction::SendOnly);
            if held != s.caps.direction {
                Arc::make_mut(&mut s.caps).direction = held;
            }
        }
    }

    /// Takes every stream off hold (sendrecv) for the next offer.
    pub fn resume(&mut self) {
        for s in &mut self.streams {
            if s.caps.direction != Direction::SendRecv {
                Arc::make_mut(&mut s.caps).direction = Direction::SendRecv;
            }
        }
    }

    /// Adds a local stream, offered in the next offer; returns its stream id.
    pub fn add_stream(&mut self, caps: MediaCapabilities) -> usize {
        self.streams.push(LocalStream {
            caps: Arc::new(caps),
            active: true,
            keys: Vec::new(),
        });
        self.streams.len() - 1
    }

    /// Removes a local stream: the next offer disables its m-line with port 0
    /// (RFC 3264 §8.2).
    ///
    /// # Errors
    /// [`NegotiationError::ApiMisuse`] for an unknown stream id.
    pub fn remove_stream(&mut self, stream: usize) -> Result<(), NegotiationError> {
        let s = self
            .streams
            .get_mut(stream)
            .ok_or(NegotiationError::ApiMisuse("no such stream"))?;
        s.active = false;
        Ok(())
    }

    /// Forgets our pending offer (it was rejected, e.g. by a SIP 488), keeping the previous
    /// result.
    pub fn cancel_offer(&mut self) {
        self.pending = None;
    }

    /// Creates an offer (initial or re-offer) from the local capabilities.
    ///
    /// # Errors
    /// [`NegotiationError::ApiMisuse`] when an offer is already pending or no stream is
    /// configured.
    pub fn create_offer<R: rand::CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
    ) -> Result<Sdp, NegotiationError> {
        if self.pending.is_some() {
            return Err(NegotiationError::ApiMisuse("an offer is already pending"));
        }
        let mut slots = self.slots.clone();
        let mut media = Vec::new();
        for slot in &mut slots {
            match slot
                .stream
                .filter(|s| self.streams.get(*s).is_some_and(|s| s.active))
            {
                Some(s) => {
                    let m = self.offer_media(s, rng);
                    slot.protocol = m.protocol.clone();
                    slot.format = m.format_list.clone();
                    media.push(m);
                }
                None => {
                    slot.stream = None;
                    media.push(disabled_media(slot));
                }
            }
        }
        for s in 0..self.streams.len() {
            let used = slots.iter().any(|slot| slot.stream == Some(s));
            if used || !self.streams[s].active {
                continue;
            }
            let m = self.offer_media(s, rng);
            // RFC 3264 §8.1: a new stream may reuse the m-line of a disabled one.
            let reuse = slots
                .iter()
                .position(|slot| slot.stream.is_none() && slot.kind == m.kind);
            let slot = Slot {
                stream: Some(s),
                kind: m.kind.clone(),
                protocol: m.protocol.clone(),
                format: m.format_list.clone(),
            };
            match reuse {
                Some(i) => {
                    slots[i] = slot;
                    media[i] = m;
                }
                None => {
                    slots.push(slot);
                    media.push(m);
                }
            }
        }
        if media.is_empty() {
            return Err(NegotiationError::ApiMisuse("no media stream to offer"));
        }
        let offer = self.describe(media);
        self.pending = Some((offer.clone(), slots));
        Ok(offer)
    }

    /// Processes the answer to our pending offer.
    ///
    /// # Errors
    /// [`NegotiationError::ApiMisuse`] without a pending offer; `BadAnswer`, `NoCommonCodec`,
    /// `NoAcceptableCrypto` when the answer does not fit the offer, `NoAcceptableStream`
    /// when it rejects every stream. On error the previous result stays and the offer is
    /// dropped.
    pub fn handle_answer(&mut self, answer: &Sdp) -> Result<&[NegotiatedStream], NegotiationError> {
        let Some((offer, slots)) = self.pending.take() else {
            return Err(NegotiationError::ApiMisuse(
                "answer without a pending offer",
            ));
        };
        let negotiation = negotiate(&offer, answer, Role::Offerer)?;
        if negotiation.streams.is_empty() && offer.media.iter().any(|m| m.port != 0) {
            return Err(NegotiationError::NoAcceptableStream(
                "the answer rejects every stream".to_owned(),
            ));
        }
        self.slots = slots;
        self.local = Some(offer);
        self.remote = Some(answer.clone());
        self.last_role = Some(Role::Offerer);
        self.negotiation = negotiation;
        Ok(&self.negotiation.streams)
    }

    /// Answers an offer (initial or re-offer) from the local capabilities. Streams we
    /// cannot take are rejected with port 0; the exchange fails only when no offered stream
    /// is acceptable.
    ///
    /// # Errors
    /// `NoCommonCodec`, `NoAcceptableCrypto`, `NoAcceptableStream` (SIP 488), `BadOffer`
    /// (SIP 400), `Glare` when our own offer is pending (SIP 491). On error the
    /// previous result stays.
    pub fn handle_offer<R: rand::CryptoRng + ?Sized>(
        &mut self,
        offer: &Sdp,
        rng: &mut R,
    ) -> Result<Sdp, NegotiationError> {
        if self.pending.is_some() {
            return Err(NegotiationError::Glare);
        }
        // RFC 3264 §8: an unchanged description keeps its version; answer it as before.
        if let (Some(prev), Some(local), Some(Role::Answerer)) =
            (&self.remote, &self.local, self.last_role)
            && prev.origin == offer.origin
            && prev == offer
        {
            return Ok(local.clone());
        }
        if offer.media.len() < self.slots.len() {
            return Err(NegotiationError::BadOffer(format!(
                "{} m-lines, the session has {}",
                offer.media.len(),
                self.slots.len()
            )));
        }
        let mut slots = Vec::with_capacity(offer.media.len());
        let mut media = Vec::with_capacity(offer.media.len());
        let mut offered = Vec::with_capacity(offer.media.len());
        let mut first_error: Option<NegotiationError> = None;
        let mut accepted = 0usize;
        for (i, om) in offer.media.iter().enumerate() {
            let previous = self.slots.get(i);
            if let Some(p) = previous
                && p.stream.is_some()
                && p.kind != om.kind
                && om.port != 0
            {
                return Err(NegotiationError::BadOffer(format!(
                    "m-line {i} changes from {} to {}",
                    p.kind.as_str(),
                    om.kind.as_str()
                )));
            }
            let mut slot = Slot {
                stream: None,
                kind: om.kind.clone(),
                protocol: om.protocol.clone(),
                format: om.format_list.clone(),
            };
            if om.port != 0 {
                let candidate = previous
                    .and_then(|p| p.stream)
                    .filter(|s| {
                        self.streams
                            .get(*s)
                            .is_some_and(|s| s.active && s.caps.kind == om.kind)
                    })
                    .or_else(|| {
                        (0..self.streams.len()).find(|s| {
                            self.streams[*s].active
                                && self.streams[*s].caps.kind == om.kind
                                && !slots.iter().any(|x: &Slot| x.stream == Some(*s))
                                && !self.slots.iter().skip(i).any(|x| x.stream == Some(*s))
                        })
                    });
                match candidate {
                    Some(s) => match self.answer_media(offer, om, s, rng) {
                        Ok((m, formats)) => {
                            slot.stream = Some(s);
                            accepted += 1;
                            media.push(m);
                            offered.push(Some(formats));
                            slots.push(slot);
                            continue;
                        }
                        Err(e) => {
                            // A codec or crypto failure explains more than "no stream".
                            if first_error.as_ref().is_none_or(|f| {
                                matches!(f, NegotiationError::NoAcceptableStream(_))
                            }) {
                                first_error = Some(e);
                            }
                        }
                    },
                    None => {
                        if first_error.is_none() {
                            first_error = Some(NegotiationError::NoAcceptableStream(format!(
                                "no local {} stream",
                                om.kind.as_str()
                            )));
                        }
                    }
                }
            }
            media.push(disabled_media(&slot));
            offered.push(None);
            slots.push(slot);
        }
        if accepted == 0
            && let Some(e) = first_error
        {
            return Err(e);
        }
        let answer = self.describe(media);
        let negotiation = negotiate_read(offer, &answer, Role::Answerer, &offered)?;
        self.slots = slots;
        self.local = Some(answer.clone());
        self.remote = Some(offer.clone());
        self.last_role = Some(Role::Answerer);
        self.negotiation = negotiation;
        Ok(answer)
    }

    /// The description around `media`, with `o=` version incremented only if it differs
    /// from the previous one we sent (RFC 3264 §8).
    fn describe(&mut self, media: Vec<Media>) -> Sdp {
        let mut sdp = Sdp::new(Origin {
            username: self.username.clone(),
            session_id: self.session_id_text.clone(),
            session_version: self.version,
            net_type: Text::from_static("IN"),
            addr_type: crate::model::AddrType::of(self.address),
            address: self.address_text.clone(),
        });
        sdp.session_name = self.session_name.clone();
        sdp.connection = Some(Connection {
            net_type: Text::from_static("IN"),
            addr_type: crate::model::AddrType::of(self.address),
            address: self.address_text.clone(),
            ttl: None,
            count: None,
        });
        sdp.media = media.into();
        // RFC 3264 §8: "the version in the origin field MUST increment by one from the
        // previous SDP" unless the description is unchanged.
        if let Some(prev) = &self.local
            && *prev != sdp
        {
            self.version = self.version.wrapping_add(1);
            sdp.origin.session_version = self.version;
        }
        sdp
    }

    /// Our key for `suite`, generated on first use and reused after.
    fn key_for<'k, R: rand::CryptoRng + ?Sized>(
        keys: &'k mut Vec<LocalKey>,
        suite: SrtpSuite,
        rng: &mut R,
    ) -> &'k [u8] {
        let i = match keys.iter().position(|k| k.suite == suite) {
            Some(i) => i,
            None => {
                let mut key = LocalKey {
                    suite,
                    key_salt: [0; MAX_KEY_SALT],
                };
                if let Some(k) = key.key_salt.get_mut(..suite.key_salt_len()) {
                    rng.fill_bytes(k);
                }
                keys.push(key);
                keys.len() - 1
            }
        };
        keys.get(i).map_or(&[], LocalKey::key_salt)
    }

    fn offer_media<R: rand::CryptoRng + ?Sized>(&mut self, s: usize, rng: &mut R) -> Media {
        let LocalStream { caps, keys, .. } = &mut self.streams[s];
        let caps = &**caps;
        let protocol = match caps.srtp {
            SrtpPolicy::Required => Protocol::RtpSavp,
            _ => Protocol::RtpAvp,
        };
        let mut m = Media::new(caps.kind.clone(), caps.port, protocol, []);
        m.format_list = format_list(caps.codecs.iter().map(|c| c.payload_type));
        if let Some(a) = caps.address {
            m.connections.push(Connection::new(a));
        }
        let mut w = AttrWriter::new();
        for c in &caps.codecs {
            w.value("rtpmap", |b| c.write_rtpmap(b));
            if let Some(f) = &c.fmtp {
                w.value("fmtp", |b| {
                    push_decimal(b, u64::from(c.payload_type));
                    b.push(' ');
                    b.push_str(f);
                });
            }
        }
        // RFC 5761 §5.1.3: an offer with rtcp-mux still names the RTCP port in case the
        // answer declines muxing.
        common_attributes(&mut w, caps, caps.rtcp_mux, true);
        if caps.srtp != SrtpPolicy::Disabled {
            for (i, suite) in caps.srtp_suites.iter().enumerate() {
                let tag = u32::try_from(i + 1).unwrap_or(u32::MAX);
                let key = Self::key_for(keys, *suite, rng);
                w.value("crypto", |b| write_crypto(b, tag, *suite, key));
            }
        }
        w.flag(caps.direction.as_str());
        w.finish(&mut m);
        m
    }

    /// The answer's media for offered `om`, with the offered formats read on the way (the
    /// negotiation of the answer reuses them).
    fn answer_media<'o, R: rand::CryptoRng + ?Sized>(
        &mut self,
        offer: &Sdp,
        om: &'o Media,
        s: usize,
        rng: &mut R,
    ) -> Result<(Media, Vec<Format<'o>>), NegotiationError> {
        let LocalStream { caps, keys, .. } = &mut self.streams[s];
        let caps = &**caps;
        if !om.protocol.is_rtp() {
            return Err(NegotiationError::NoAcceptableStream(format!(
                "protocol {} is not RTP",
                om.protocol.as_str()
            )));
        }
        if om.protocol.is_dtls() {
            return Err(NegotiationError::NoAcceptableCrypto(format!(
                "{} needs DTLS-SRTP, telox keys SRTP with SDES (RFC 4568)",
                om.protocol.as_str()
            )));
        }
        // Crypto: the strongest offered suite we accept (RFC 4568 §7.1.2 lets the answerer
        // pick any one offered line), scanned without building the offered lines.
        let chosen = om
            .attributes_named("crypto")
            .filter_map(crypto_choice)
            .filter_map(|(tag, suite, usable)| {
                suite
                    .filter(|s| usable && caps.srtp_suites.contains(s))
                    .map(|s| (s, tag))
            })
            .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        let secure = om.protocol.is_secure();
        let crypto = match (caps.srtp, secure, chosen) {
            (SrtpPolicy::Disabled, true, _) => {
                return Err(NegotiationError::NoAcceptableCrypto(
                    "SRTP offered but disabled locally".to_owned(),
                ));
            }
            (SrtpPolicy::Disabled, false, _) => None,
            (_, _, Some(c)) => Some(c),
            (SrtpPolicy::Optional, false, None) => None,
            (_, _, None) => {
                let names: Vec<&str> = om
                    .attributes_named("crypto")
                    .filter_map(|v| v.split(' ').nth(1))
                    .collect();
                return Err(NegotiationError::NoAcceptableCrypto(if names.is_empty() {
                    "no a=crypto offered".to_owned()
                } else {
                    format!(
                        "offered {} with usable keys: none acceptable",
                        names.join(",")
                    )
                }));
            }
        };

        // Codecs in our preference order, with the offerer's payload types (RFC 3264 §6.1).
        // Sized for a typical audio line up front: growing them cost more than the matching.
        let mut offered_formats: Vec<Format<'o>> = Vec::with_capacity(8);
        offered_formats.extend(formats(om));
        let mut chosen_formats: Vec<(Format<'_>, &Codec)> = Vec::with_capacity(8);
        for c in caps.codecs.iter().filter(|c| !c.is_telephone_event()) {
            if let Some(f) = offered_formats.iter().find(|f| c.matches(f))
                && !chosen_formats
                    .iter()
                    .any(|(x, _)| x.payload_type == f.payload_type)
            {
                chosen_formats.push((*f, c));
            }
        }
        let Some(first) = chosen_formats.first().map(|(f, _)| *f) else {
            let supported: Vec<String> = caps
                .codecs
                .iter()
                .map(|c| format!("{}/{}", c.name, c.clock_rate))
                .collect();
            let offered: Vec<String> = offered_formats
                .iter()
                .map(|f| format!("{}/{}", f.name, f.clock_rate))
                .collect();
            return Err(NegotiationError::NoCommonCodec {
                offered: offered.join(","),
                supported: supported.join(","),
            });
        };
        // The telephone-event payload type we answer and the events both sides support.
        let mut events: Option<(u8, DtmfEvents)> = None;
        if let Some(te) = caps.codecs.iter().find(|c| c.is_telephone_event()) {
            let ours = te
                .fmtp
                .as_deref()
                .and_then(DtmfEvents::parse)
                .unwrap_or_default();
            let candidates = || offered_formats.iter().filter(|f| f.is_telephone_event());
            // RFC 4733 §7.1.1: the event clock should be the audio codec's.
            let pick = candidates()
                .find(|f| f.clock_rate == first.clock_rate)
                .or_else(|| candidates().find(|f| f.clock_rate == 8000))
                .or_else(|| candidates().next());
            if let Some(f) = pick {
                let both = ours.intersect(&DtmfEvents::of(f));
                if !both.is_empty() {
                    chosen_formats.push((*f, te));
                    events = Some((f.payload_type, both));
                }
            }
        }

        let mut m = Media::new(om.kind.clone(), caps.port, om.protocol.clone(), []);
        m.format_list = format_list(chosen_formats.iter().map(|(f, _)| f.payload_type));
        if let Some(a) = caps.address {
            m.connections.push(Connection::new(a));
        }
        let mut w = AttrWriter::new();
        for (f, c) in &chosen_formats {
            w.value("rtpmap", |b| {
                push_decimal(b, u64::from(f.payload_type));
                b.push(' ');
                b.push_str(f.name);
                b.push('/');
                push_decimal(b, u64::from(f.clock_rate));
                if f.channels != 1 {
                    b.push('/');
                    push_decimal(b, u64::from(f.channels));
                }
            });
            let fmtp_of = |b: &mut String| {
                push_decimal(b, u64::from(f.payload_type));
                b.push(' ');
            };
            match (events, &c.fmtp) {
                (Some((pt, events)), _) if pt == f.payload_type && f.is_telephone_event() => {
                    w.value("fmtp", |b| {
                        fmtp_of(b);
                        events.write_fmtp(b);
                    });
                }
                (_, Some(p)) if !f.is_telephone_event() => w.value("fmtp", |b| {
                    fmtp_of(b);
                    b.push_str(p);
                }),
                _ => {}
            }
        }
        common_attributes(&mut w, caps, caps.rtcp_mux && om.rtcp_mux(), false);
        if let Some((suite, tag)) = crypto {
            let key = Self::key_for(keys, suite, rng);
            w.value("crypto", |b| write_crypto(b, tag, suite, key));
        }
        if let Some(mid) = om.mid() {
            w.value("mid", |b| b.push_str(mid));
        }
        let mut remote_dir = om.effective_direction(offer);
        if om
            .effective_connection(offer)
            .is_some_and(Connection::is_hold_address)
        {
            remote_dir = remote_dir.intersect(Direction::SendOnly);
        }
        // RFC 3264 §6.1: sendonly is answered recvonly, recvonly sendonly, inactive inactive.
        w.flag(caps.direction.intersect(remote_dir.reversed()).as_str());
        w.finish(&mut m);
        Ok((m, offered_formats))
    }
}

fn common_attributes(w: &mut AttrWriter, caps: &MediaCapabilities, rtcp_mux: bool, offer: bool) {
    if let Some(p) = caps.ptime {
        w.number("ptime", p);
    }
    if let Some(p) = caps.maxptime {
        w.number("maxptime", p);
    }
    if let Some(p) = caps.rtcp_port.filter(|_| offer || !rtcp_mux) {
        w.number("rtcp", u32::from(p));
    }
    if rtcp_mux {
        w.flag("rtcp-mux");
    }
}

/// RFC 3264 §6, §8.2: a rejected or removed stream keeps its m-line with port 0 and at
/// least one format: the first offered one that is valid for its protocol (a declined
/// `m=video 0 RTP/AVP 255` or one with no format, read leniently, is answered with 0).
fn disabled_media(slot: &Slot) -> Media {
    let rtp = slot.protocol.is_rtp();
    let format = slot
        .format
        .as_str()
        .split(' ')
        .find(|f| !f.is_empty() && (!rtp || crate::parse::is_payload_type(f.as_bytes())))
        .unwrap_or("0");
    Media::new(slot.kind.clone(), 0, slot.protocol.clone(), [format])
}
