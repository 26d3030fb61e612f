//! The pure part of RFC 3264: given an offer and its answer, what each stream negotiated,
//! seen from one side. [`crate::OfferAnswer`] builds on it; it is public so that a pair of
//! descriptions from anywhere (RFC 4317, a packet capture) can be checked.

use std::net::{IpAddr, SocketAddr};

use crate::attr::Direction;
use crate::attributes::Kind;
use crate::codec::{DtmfEvents, Format, OpusParams, formats, same_codec, sample_rate};
use crate::error::NegotiationError;
use crate::model::{Media, MediaKind, Sdp};
use crate::sdes::{KeyParam, SrtpSuite, crypto_first_key, crypto_tag};

/// Which side of the exchange "local" is.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Role {
    /// We sent the offer.
    Offerer,
    /// We sent the answer.
    Answerer,
}

/// The result of an offer/answer exchange: the streams in use and the ones rejected.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Negotiation {
    /// Accepted streams, in m-line order.
    pub streams: Vec<NegotiatedStream>,
    /// Rejected or disabled streams (port 0, or nothing in common), in m-line order.
    pub rejected: Vec<RejectedStream>,
}

/// A stream that is not in use after the exchange.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RejectedStream {
    /// m-line index.
    pub index: usize,
    /// Media type.
    pub kind: MediaKind,
    /// Why (`port 0 in the answer`, `no common codec`...).
    pub reason: String,
}

/// One negotiated media stream, from the local side's point of view: everything needed to
/// set up RTP, RTCP and SRTP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NegotiatedStream {
    /// m-line index.
    pub index: usize,
    /// Media type.
    pub kind: MediaKind,
    /// `a=mid`, if any.
    pub mid: Option<String>,
    /// Our RTP port.
    pub local_port: u16,
    /// Where to send RTP; `None` while the peer holds with `c=0.0.0.0` or gives a host name
    /// (resolve [`NegotiatedStream::remote_host`] yourself).
    pub remote_rtp: Option<SocketAddr>,
    /// Where to send RTCP (RFC 3605 `a=rtcp`, else RTP port + 1, or the RTP address with
    /// rtcp-mux).
    pub remote_rtcp: Option<SocketAddr>,
    /// The remote connection address as written (IP literal or FQDN).
    pub remote_host: String,
    /// The remote RTP port.
    pub remote_port: u16,
    /// RTP and RTCP share one port (RFC 5761): both sides said `a=rtcp-mux`.
    pub rtcp_mux: bool,
    /// The codec we send (the first media codec of the answer that both sides list).
    pub send_codec: NegotiatedCodec,
    /// Every codec both sides list, answer order (the peer may send any of them).
    pub codecs: Vec<NegotiatedCodec>,
    /// RFC 4733 DTMF, when both sides list telephone-event.
    pub telephone_event: Option<NegotiatedTelephoneEvent>,
    /// Packetization time to send with, ms (the peer's `a=ptime`, else ours, else 20; a
    /// session-level `a=ptime` counts for a media section without one).
    pub ptime: u32,
    /// The peer's `a=maxptime`, ms (media level, else session level).
    pub max_ptime: Option<u32>,
    /// Our effective direction: whether we send and receive.
    pub direction: Direction,
    /// SDES-keyed SRTP, when negotiated.
    pub crypto: Option<NegotiatedCrypto>,
}

impl NegotiatedStream {
    /// Whether we should send media now (direction allows it and we know where).
    pub fn is_sending(&self) -> bool {
        self.direction.sends() && self.remote_rtp.is_some()
    }
}

/// A codec both sides agreed on. Payload type numbers may differ per direction: each side
/// receives with the numbers it wrote (RFC 3264 §5.1, §6.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NegotiatedCodec {
    /// Encoding name as the peer wrote it.
    pub name: String,
    /// RTP clock rate.
    pub clock_rate: u32,
    /// Channels in the rtpmap.
    pub channels: u16,
    /// Payload type to put in the RTP we send (the peer's number).
    pub send_payload_type: u8,
    /// Payload type of this codec in the RTP we receive (our number).
    pub recv_payload_type: u8,
    /// The peer's fmtp: what it can receive, so it configures our encoder.
    pub send_fmtp: Option<String>,
    /// Opus encoder parameters from the peer's fmtp (RFC 7587 §6.1), for Opus.
    pub opus: Option<OpusParams>,
}

impl NegotiatedCodec {
    /// The audio sample rate (16000 for G.722, whose RTP clock says 8000).
    pub fn sample_rate(&self) -> u32 {
        sample_rate(&self.name, self.clock_rate)
    }
}

/// RFC 4733 telephone-event as negotiated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NegotiatedTelephoneEvent {
    /// Payload type for the events we send.
    pub send_payload_type: u8,
    /// Payload type of the events we receive.
    pub recv_payload_type: u8,
    /// Clock rate (matches the send codec's when the peer offers that rate).
    pub clock_rate: u32,
    /// Events both sides support.
    pub events: DtmfEvents,
}

/// SDES-keyed SRTP as negotiated (RFC 4568): one suite, a key per direction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NegotiatedCrypto {
    /// The suite.
    pub suite: SrtpSuite,
    /// The crypto tag that was accepted.
    pub tag: u32,
    /// Our key: protects what we send.
    pub local_key: KeyParam,
    /// The peer's key: unprotects what we receive.
    pub remote_key: KeyParam,
}

/// Derives the negotiated streams of an exchange, from the side `role` names (the other
/// description is the peer's).
///
/// # Errors
/// [`NegotiationError::BadAnswer`] when the answer does not fit the offer (m-line count or
/// kinds differ, crypto tag not offered), [`NegotiationError::NoCommonCodec`] or
/// [`NegotiationError::NoAcceptableCrypto`] when an accepted stream cannot work.
pub fn negotiate(offer: &Sdp, answer: &Sdp, role: Role) -> Result<Negotiation, NegotiationError> {
    negotiate_read(offer, answer, role, &[])
}

/// [`negotiate`], given the formats of the offer's media already read (`offered[i]` for
/// m-line `i`, when `Some`: the answerer read them to build its answer).
pub(crate) fn negotiate_read(
    offer: &Sdp,
    answer: &Sdp,
    role: Role,
    offered: &[Option<Vec<Format<'_>>>],
) -> Result<Negotiation, NegotiationError> {
    // RFC 3264 §6: "The answer MUST contain exactly the same number of "m=" lines as the
    // offer."
    if offer.media.len() != answer.media.len() {
        return Err(NegotiationError::BadAnswer(format!(
            "{} m-lines in the answer, {} in the offer",
            answer.media.len(),
            offer.media.len()
        )));
    }
    let mut out = Negotiation {
        streams: Vec::with_capacity(offer.media.len()),
        rejected: Vec::new(),
    };
    for (index, (om, am)) in offer.media.iter().zip(&answer.media).enumerate() {
        if om.kind != am.kind {
            return Err(NegotiationError::BadAnswer(format!(
                "m-line {index} is {} in the offer, {} in the answer",
                om.kind.as_str(),
                am.kind.as_str()
            )));
        }
        let reject = |reason: &str| RejectedStream {
            index,
            kind: om.kind.clone(),
            reason: reason.to_owned(),
        };
        if om.port == 0 {
            out.rejected.push(reject("port 0 in the offer"));
            continue;
        }
        if am.port == 0 {
            out.rejected.push(reject("port 0 in the answer"));
            continue;
        }
        if !om.protocol.is_rtp() {
            out.rejected.push(reject("not RTP"));
            continue;
        }
        let read = offered.get(index).and_then(Option::as_deref);
        let stream = match role {
            Role::Offerer => stream(index, (offer, om), (answer, am), role, read)?,
            Role::Answerer => stream(index, (answer, am), (offer, om), role, read)?,
        };
        out.streams.push(stream);
    }
    Ok(out)
}

/// One stream; `local`/`remote` are (description, media) of each side, `offered` the
/// offer media's formats when already read.
fn stream(
    index: usize,
    local: (&Sdp, &Media),
    remote: (&Sdp, &Media),
    role: Role,
    offered: Option<&[Format<'_>]>,
) -> Result<NegotiatedStream, NegotiationError> {
    let (lsdp, lm) = local;
    let (rsdp, rm) = remote;
    let (offer_m, answer_m) = match role {
        Role::Offerer => (lm, rm),
        Role::Answerer => (rm, lm),
    };
    // Codec pairs in answer order: (offer format, answer format).
    // Sized for a typical audio line up front: growing them cost more than the matching.
    let read;
    let offer_formats: &[Format<'_>] = match offered {
        Some(f) => f,
        None => {
            let mut f = Vec::with_capacity(8);
            f.extend(formats(offer_m));
            read = f;
            &read
        }
    };
    let mut codecs = Vec::with_capacity(4);
    let mut events = Vec::with_capacity(2);
    for af in formats(answer_m) {
        let Some(of) = offer_formats.iter().find(|of| same_codec(of, &af)) else {
            continue;
        };
        let (lf, rf) = match role {
            Role::Offerer => (of, &af),
            Role::Answerer => (&af, of),
        };
        if af.is_telephone_event() {
            events.push((lf.payload_type, *rf, DtmfEvents::of(lf)));
            continue;
        }
        codecs.push(NegotiatedCodec {
            name: rf.name.to_owned(),
            clock_rate: rf.clock_rate,
            channels: rf.channels,
            send_payload_type: rf.payload_type,
            recv_payload_type: lf.payload_type,
            send_fmtp: rf.fmtp.map(str::to_owned),
            opus: rf
                .name
                .eq_ignore_ascii_case("opus")
                .then(|| OpusParams::parse(rf.fmtp.unwrap_or(""))),
        });
    }
    // A stream that carries only telephone-event (RFC 4317 §2.4) sends events.
    let send_codec = codecs
        .iter()
        .find(|c| !is_auxiliary(&c.name))
        .cloned()
        .or_else(|| {
            events.first().map(|(recv, rf, _)| NegotiatedCodec {
                name: rf.name.to_owned(),
                clock_rate: rf.clock_rate,
                channels: rf.channels,
                send_payload_type: rf.payload_type,
                recv_payload_type: *recv,
                send_fmtp: rf.fmtp.map(str::to_owned),
                opus: None,
            })
        });
    let Some(send_codec) = send_codec else {
        return Err(NegotiationError::NoCommonCodec {
            offered: names(offer_m),
            supported: names(answer_m),
        });
    };
    let telephone_event = events
        .iter()
        .find(|(_, rf, _)| rf.clock_rate == send_codec.clock_rate)
        .or(events.first())
        .map(|(recv, rf, local_events)| NegotiatedTelephoneEvent {
            send_payload_type: rf.payload_type,
            recv_payload_type: *recv,
            clock_rate: rf.clock_rate,
            events: local_events.intersect(&DtmfEvents::of(rf)),
        });

    let crypto = crypto(role, offer_m, answer_m)?;

    // Addresses.
    let conn = rm.effective_connection(rsdp);
    let remote_host = conn
        .map(|c| c.address.as_str().to_owned())
        .unwrap_or_default();
    let hold = conn.is_some_and(crate::model::Connection::is_hold_address);
    let ip: Option<IpAddr> = conn
        .and_then(crate::model::Connection::ip)
        .filter(|_| !hold);
    let remote_rtp = ip.map(|ip| SocketAddr::new(ip, rm.port));
    let rtcp_mux = lm.rtcp_mux() && rm.rtcp_mux();
    let remote_rtcp = if rtcp_mux {
        remote_rtp
    } else {
        match rm.rtcp() {
            Some(r) => {
                let addr = r
                    .address
                    .as_deref()
                    .and_then(|a| a.parse::<IpAddr>().ok())
                    .or(ip);
                addr.filter(|a| !a.is_unspecified())
                    .map(|a| SocketAddr::new(a, r.port))
            }
            None => ip.map(|ip| SocketAddr::new(ip, rm.port.saturating_add(1))),
        }
    };

    // Direction (RFC 3264 §6.1): we send only if we want to and the peer receives. The
    // RFC 2543 hold form c=0.0.0.0 means the peer does not want to receive (RFC 3264 §8.4).
    let mut remote_dir = rm.effective_direction(rsdp);
    if hold {
        remote_dir = remote_dir.intersect(Direction::SendOnly);
    }
    let mut local_dir = lm.effective_direction(lsdp);
    if lm
        .effective_connection(lsdp)
        .is_some_and(crate::model::Connection::is_hold_address)
    {
        local_dir = local_dir.intersect(Direction::SendOnly);
    }
    let direction = local_dir.intersect(remote_dir.reversed());

    Ok(NegotiatedStream {
        index,
        kind: lm.kind.clone(),
        mid: lm.mid().map(str::to_owned),
        local_port: lm.port,
        remote_rtp,
        remote_rtcp,
        remote_host,
        remote_port: rm.port,
        rtcp_mux,
        send_codec,
        codecs,
        telephone_event,
        // A session-level a=ptime (or maxptime) stands for every media section without
        // one: see `Sdp::ptime`.
        ptime: rm
            .effective_ptime(rsdp)
            .or_else(|| lm.effective_ptime(lsdp))
            .filter(|p| *p > 0)
            .unwrap_or(20),
        max_ptime: rm.effective_maxptime(rsdp),
        direction,
        crypto,
    })
}

fn is_auxiliary(name: &str) -> bool {
    Format {
        payload_type: 0,
        name,
        clock_rate: 0,
        channels: 1,
        fmtp: None,
    }
    .is_auxiliary()
}

fn names(m: &Media) -> String {
    let mut s = String::new();
    for f in formats(m) {
        if !s.is_empty() {
            s.push(',');
        }
        s.push_str(f.name);
        s.push('/');
        s.push_str(&f.clock_rate.to_string());
    }
    s
}

/// RFC 4568 §7.1.3: the answer carries one crypto line whose tag and suite are from the
/// offer; each side's key protects what that side sends.
fn crypto(
    role: Role,
    offer_m: &Media,
    answer_m: &Media,
) -> Result<Option<NegotiatedCrypto>, NegotiationError> {
    // telox keys SRTP with SDES only: a DTLS-SRTP answer (a browser) to an offer that is
    // not DTLS would get plain RTP from us, which it drops.
    if answer_m.protocol.is_dtls() && !offer_m.protocol.is_dtls() {
        return Err(NegotiationError::NoAcceptableCrypto(format!(
            "the answer's {} needs DTLS-SRTP, offered was {} (SDES only)",
            answer_m.protocol.as_str(),
            offer_m.protocol.as_str()
        )));
    }
    // The first line of each side that parses (as `Media::cryptos` would yield it), built
    // without the session parameters: only the keys are needed.
    let Some((tag, answer_suite, answer_key)) = answer_m
        .attributes_named("crypto")
        .find_map(crypto_first_key)
    else {
        let secure = |m: &Media| m.protocol.is_secure() && !m.protocol.is_dtls();
        if secure(offer_m) || secure(answer_m) {
            return Err(NegotiationError::NoAcceptableCrypto(
                "secure profile but no a=crypto in the answer".to_owned(),
            ));
        }
        return Ok(None);
    };
    let Some((_, offered_suite, offered_key)) = offer_m
        .attributes
        .values_where(Kind::Crypto, |v| crypto_tag(v) == Some(tag))
        .find_map(crypto_first_key)
    else {
        return Err(NegotiationError::BadAnswer(format!(
            "a=crypto tag {tag} was not offered"
        )));
    };
    // Suite names are case-insensitive (RFC 4568 §9.2 quoted strings, RFC 5234 §2.3): an
    // answer may write the offered `aes_cm_128_hmac_sha1_80` in capitals.
    if !offered_suite.eq_ignore_ascii_case(answer_suite) {
        return Err(NegotiationError::BadAnswer(format!(
            "a=crypto tag {tag} changes suite {offered_suite} to {answer_suite}"
        )));
    }
    let Some(suite) = SrtpSuite::from_name(offered_suite) else {
        return Err(NegotiationError::NoAcceptableCrypto(format!(
            "unsupported suite {offered_suite}"
        )));
    };
    let (local_key, remote_key) = match role {
        Role::Offerer => (offered_key, answer_key),
        Role::Answerer => (answer_key, offered_key),
    };
    // RFC 4568 §6.1: the key length must fit the suite.
    if local_key.key_salt.len() != suite.key_salt_len()
        || remote_key.key_salt.len() != suite.key_salt_len()
    {
        return Err(NegotiationError::NoAcceptableCrypto(format!(
            "key length does not fit {}",
            suite.as_str()
        )));
    }
    Ok(Some(NegotiatedCrypto {
        suite,
        tag,
        local_key,
        remote_key,
    }))
}
