//! The owned session description model (RFC 8866 §5). Parsed values are `Bytes` slices of
//! the input (zero-copy); built values own their text. Unknown attributes are kept verbatim.

use std::fmt;
use std::net::IpAddr;

use bytes::Bytes;

use crate::attributes::Attributes;
use crate::list::List;

/// UTF-8 text of the model: a short value stored inline, or a zero-copy `Bytes` slice of a
/// parsed description (or owned or static text of a built one) when it is longer.
///
/// Most SDP fields are short (addresses, ports, `rtpmap` values); keeping them inline spares
/// the parser a reference-count update per field and the drop another. A `Text` is 32
/// bytes (two kinds of storage fit the niche of the `Bytes` pointer that a third would not),
/// which keeps the description a parse returns and moves small. Equality, ordering and
/// hashing are those of the text, whatever the storage.
///
/// Invariant: the bytes are valid UTF-8 (every constructor checks or takes a `str`).
#[derive(Clone)]
pub struct Text(Repr);

/// Longest text kept inline: the length byte and the buffer fill the 24 bytes of a `Bytes`
/// beside its vtable pointer.
const INLINE: usize = 23;

#[derive(Clone)]
enum Repr {
    // `buf[len..]` holds unrelated bytes (see `Text::slice_of`) and is never read.
    Inline { len: u8, buf: [u8; INLINE] },
    Shared(Bytes),
}

impl Text {
    /// Text from a static string, without allocating (copied inline when short).
    pub const fn from_static(s: &'static str) -> Self {
        let b = s.as_bytes();
        if b.len() > INLINE {
            return Self(Repr::Shared(Bytes::from_static(b)));
        }
        let mut buf = [0u8; INLINE];
        let mut i = 0;
        while i < b.len() {
            buf[i] = b[i];
            i += 1;
        }
        // b.len() <= INLINE < 256: the cast cannot truncate.
        Self(Repr::Inline {
            len: b.len() as u8,
            buf,
        })
    }

    /// A copy of `s` when it is short, else `shared()`.
    fn inline_or(s: &[u8], shared: impl FnOnce() -> Bytes) -> Self {
        match u8::try_from(s.len()) {
            Ok(len) if s.len() <= INLINE => {
                let mut buf = [0u8; INLINE];
                if let Some(dst) = buf.get_mut(..s.len()) {
                    dst.copy_from_slice(s);
                }
                Self(Repr::Inline { len, buf })
            }
            _ => Self(Repr::Shared(shared())),
        }
    }

    /// The text of `src` at `range`, which must be valid UTF-8 there (the parser only cuts
    /// at ASCII delimiters of input it validated as UTF-8): inline when short, else a
    /// zero-copy slice.
    #[inline]
    pub(crate) fn slice_of(src: &Bytes, range: std::ops::Range<usize>) -> Self {
        let len = range.end.wrapping_sub(range.start);
        // A fixed-size copy (a few moves, no `memcpy` call) when the input extends far enough: the
        // bytes after the text are never read. `len <= INLINE` and the window's presence
        // put the whole text inside `src`.
        if len <= INLINE
            && range.start <= range.end
            && let Some(buf) = src
                .get(range.start..)
                .and_then(<[u8]>::first_chunk::<INLINE>)
        {
            return Self(Repr::Inline {
                // INLINE < 256: the cast cannot truncate.
                len: len as u8,
                buf: *buf,
            });
        }
        match src.get(range.clone()) {
            Some(s) => Self::inline_or(s, || src.slice(range)),
            None => Self::default(),
        }
    }

    /// The text as `&str`.
    pub fn as_str(&self) -> &str {
        // The invariant (valid UTF-8) makes the fallback unreachable; it avoids a panic path.
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }

    /// The underlying bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, buf } => buf.get(..usize::from(*len)).unwrap_or_default(),
            Repr::Shared(b) => b,
        }
    }

    /// The text as `Bytes` (a cheap clone of a long parsed value; short ones are copied).
    pub fn to_bytes(&self) -> Bytes {
        match &self.0 {
            Repr::Inline { .. } => Bytes::copy_from_slice(self.as_bytes()),
            Repr::Shared(b) => b.clone(),
        }
    }

    /// Whether the text is empty.
    pub fn is_empty(&self) -> bool {
        self.as_bytes().is_empty()
    }
}

impl Default for Text {
    fn default() -> Self {
        Self::from_static("")
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Text {}

impl PartialOrd for Text {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Text {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl std::hash::Hash for Text {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Self::inline_or(s.as_bytes(), || Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        if s.len() <= INLINE {
            Self::from(s.as_str())
        } else {
            Self(Repr::Shared(Bytes::from(s)))
        }
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

/// A session description (RFC 8866 §5), session-level fields followed by media descriptions.
///
/// `to_bytes()` writes the lines in RFC 8866 order with CRLF endings; for canonical input
/// (CRLF, RFC order, no trailing whitespace) `Sdp::parse(b)?.to_bytes() == b`.
///
/// The session-level lines that SIP descriptions seldom carry (`i= u= e= p= b= z= k=`) are
/// kept out of line, in [`Sdp::extra`] (read) and [`Sdp::extra_mut`] (write): one pointer
/// stands for seven fields when a description is built, moved or dropped. Equality and
/// `Debug` are those of all the fields, wherever they are kept.
#[derive(Clone)]
pub struct Sdp {
    /// `o=`: originator and session identifier.
    pub origin: Origin,
    /// `s=`: session name.
    pub session_name: Text,
    /// Session-level `c=`.
    pub connection: Option<Connection>,
    /// `t=` lines, each with its `r=` lines. Empty only when parsed with `allow_missing_time`
    /// (then `to_bytes` writes nothing for it).
    pub times: List<Timing>,
    /// Session-level `a=` lines in order.
    pub attributes: Attributes,
    /// `m=` sections in order (the first held inline: one is typical, and a parse then
    /// allocates no list for it).
    pub media: List<Media>,
    /// The `i= u= e= p= b= z= k=` lines, when there is one.
    extra: Option<Box<SessionExtra>>,
}

/// The session-level lines of a description that SIP peers seldom send (RFC 8866 §5.4 `i=`,
/// §5.5 `u=`, §5.6 `e= p=`, §5.8 `b=`, §5.11 `z=`, §5.12 `k=`), kept out of line in an
/// [`Sdp`]: see [`Sdp::extra`].
#[derive(Clone, Debug, Default, Eq, PartialEq)]
pub struct SessionExtra {
    /// `i=`: session information.
    pub information: Option<Text>,
    /// `u=`: URI of description.
    pub uri: Option<Text>,
    /// `e=` lines: email addresses.
    pub emails: Vec<Text>,
    /// `p=` lines: phone numbers.
    pub phones: Vec<Text>,
    /// Session-level `b=` lines.
    pub bandwidths: Vec<Bandwidth>,
    /// `z=`: time zone adjustments, verbatim.
    pub time_zones: Option<Text>,
    /// Session-level `k=` (obsolete, kept verbatim).
    pub key: Option<Text>,
}

/// What [`Sdp::extra`] shows when a description has none of those lines.
static NO_EXTRA: SessionExtra = SessionExtra {
    information: None,
    uri: None,
    emails: Vec::new(),
    phones: Vec::new(),
    bandwidths: Vec::new(),
    time_zones: None,
    key: None,
};

impl Sdp {
    /// A minimal description: `v=0`, the given origin, `s=-`, `t=0 0`, no media.
    pub fn new(origin: Origin) -> Self {
        Self {
            origin,
            session_name: Text::from_static("-"),
            connection: None,
            times: List::from_iter([Timing {
                start: 0,
                stop: 0,
                repeats: Vec::new(),
            }]),
            attributes: Attributes::new(),
            media: List::new(),
            extra: None,
        }
    }

    /// What a parse starts from and fills in: `o=` and `s=` empty, no other line.
    #[inline]
    pub(crate) fn parse_start() -> Self {
        Self {
            origin: Origin {
                username: Text::default(),
                session_id: Text::default(),
                session_version: 0,
                net_type: Text::default(),
                addr_type: AddrType::Ip4,
                address: Text::default(),
            },
            session_name: Text::default(),
            connection: None,
            // One t= line is typical: held inline, not allocated.
            times: List::new(),
            attributes: Attributes::new(),
            media: List::new(),
            extra: None,
        }
    }

    /// The session-level `i= u= e= p= b= z= k=` lines (all empty when there is none).
    pub fn extra(&self) -> &SessionExtra {
        self.extra.as_deref().unwrap_or(&NO_EXTRA)
    }

    /// The session-level `i= u= e= p= b= z= k=` lines, to change or add to (made, empty,
    /// when the description has none; an empty one compares and prints as none).
    pub fn extra_mut(&mut self) -> &mut SessionExtra {
        self.extra.get_or_insert_default()
    }

    /// The first session-level attribute named `name` (case-sensitive, RFC 8866 §5.13), its
    /// value (`Some("")` for a flag attribute).
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.first(name)
    }

    /// The session-level direction attribute, if any.
    pub fn direction(&self) -> Option<crate::Direction> {
        self.attributes.direction()
    }
}

impl PartialEq for Sdp {
    fn eq(&self, other: &Self) -> bool {
        self.origin == other.origin
            && self.session_name == other.session_name
            && self.connection == other.connection
            && self.times == other.times
            && self.attributes == other.attributes
            && self.media == other.media
            && self.extra() == other.extra()
    }
}

impl Eq for Sdp {}

impl fmt::Debug for Sdp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The fields in RFC 8866 order, as one struct wherever they are kept.
        let extra = self.extra();
        f.debug_struct("Sdp")
            .field("origin", &self.origin)
            .field("session_name", &self.session_name)
            .field("information", &extra.information)
            .field("uri", &extra.uri)
            .field("emails", &extra.emails)
            .field("phones", &extra.phones)
            .field("connection", &self.connection)
            .field("bandwidths", &extra.bandwidths)
            .field("times", &self.times)
            .field("time_zones", &extra.time_zones)
            .field("key", &extra.key)
            .field("attributes", &self.attributes)
            .field("media", &self.media)
            .finish()
    }
}

/// `o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>`
/// (RFC 8866 §5.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// User name, `-` when none.
    pub username: Text,
    /// Session id, kept as text (it may exceed 64 bits in the wild).
    pub session_id: Text,
    /// Session version: RFC 3264 §8 increments it on every changed re-offer.
    pub session_version: u64,
    /// Network type, `IN`.
    pub net_type: Text,
    /// Address type.
    pub addr_type: AddrType,
    /// Address (IP literal or FQDN).
    pub address: Text,
}

/// Address type of `o=` and `c=` (`IP4`, `IP6`, or another registered token).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AddrType {
    /// `IP4`.
    Ip4,
    /// `IP6`.
    Ip6,
    /// Another token, verbatim.
    Other(Text),
}

impl AddrType {
    /// The wire token.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Ip4 => "IP4",
            Self::Ip6 => "IP6",
            Self::Other(t) => t.as_str(),
        }
    }

    /// The type for an IP address.
    pub fn of(ip: IpAddr) -> Self {
        if ip.is_ipv4() { Self::Ip4 } else { Self::Ip6 }
    }
}

/// `c=<nettype> <addrtype> <connection-address>` (RFC 8866 §5.7), with the multicast TTL
/// and number of addresses split out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connection {
    /// Network type, `IN`.
    pub net_type: Text,
    /// Address type.
    pub addr_type: AddrType,
    /// Address (IP literal or FQDN), without `/ttl/count`.
    pub address: Text,
    /// IPv4 multicast TTL (`/ttl`).
    pub ttl: Option<u8>,
    /// Number of multicast addresses (`/count`).
    pub count: Option<u32>,
}

impl Connection {
    /// `IN IP4|IP6 <ip>`.
    pub fn new(ip: IpAddr) -> Self {
        Self {
            net_type: Text::from_static("IN"),
            addr_type: AddrType::of(ip),
            address: Text::from(ip.to_string()),
            ttl: None,
            count: None,
        }
    }

    /// The address as an IP literal, when it is one.
    pub fn ip(&self) -> Option<IpAddr> {
        self.address.as_str().parse().ok()
    }

    /// Whether this is the RFC 2543 hold form `0.0.0.0` (RFC 3264 §8.4 keeps it on input).
    pub fn is_hold_address(&self) -> bool {
        self.address == "0.0.0.0"
    }
}

/// `b=<bwtype>:<bandwidth>` (RFC 8866 §5.8; TIAS from RFC 3890).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bandwidth {
    /// `AS`, `CT`, `TIAS`, `RS`, `RR` or another token, verbatim.
    pub kind: Text,
    /// The value (kbit/s for AS and CT, bit/s for TIAS).
    pub value: u64,
}

/// `t=<start> <stop>` with its `r=` lines (RFC 8866 §5.9, §5.10).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timing {
    /// Start time (NTP seconds), 0 for unbounded.
    pub start: u64,
    /// Stop time (NTP seconds), 0 for unbounded.
    pub stop: u64,
    /// `r=` lines, verbatim.
    pub repeats: Vec<Text>,
}

/// Media type of an `m=` line (RFC 8866 §5.14).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MediaKind {
    /// `audio`.
    Audio,
    /// `video`.
    Video,
    /// `text`.
    Text,
    /// `application`.
    Application,
    /// `message`.
    Message,
    /// `image` (T.38 fax).
    Image,
    /// Another token, verbatim.
    Other(Text),
}

impl MediaKind {
    /// The wire token.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Audio => "audio",
            Self::Video => "video",
            Self::Text => "text",
            Self::Application => "application",
            Self::Message => "message",
            Self::Image => "image",
            Self::Other(t) => t.as_str(),
        }
    }

    /// The kind for a token; `text` makes the `Other` value (called only then).
    pub(crate) fn from_token(s: &str, text: impl FnOnce() -> Text) -> Self {
        match s {
            "audio" => Self::Audio,
            "video" => Self::Video,
            "text" => Self::Text,
            "application" => Self::Application,
            "message" => Self::Message,
            "image" => Self::Image,
            _ => Self::Other(text()),
        }
    }
}

/// Transport protocol of an `m=` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// `RTP/AVP` (RFC 3551).
    RtpAvp,
    /// `RTP/SAVP` (RFC 3711).
    RtpSavp,
    /// `RTP/AVPF` (RFC 4585).
    RtpAvpf,
    /// `RTP/SAVPF` (RFC 5124).
    RtpSavpf,
    /// `UDP/TLS/RTP/SAVP` (DTLS-SRTP, RFC 5764).
    UdpTlsRtpSavp,
    /// `UDP/TLS/RTP/SAVPF` (WebRTC).
    UdpTlsRtpSavpf,
    /// `udptl` (T.38).
    Udptl,
    /// Another token, verbatim (`UDP/DTLS/SCTP`, `TCP/MSRP`...).
    Other(Text),
}

impl Protocol {
    /// The wire token.
    pub fn as_str(&self) -> &str {
        match self {
            Self::RtpAvp => "RTP/AVP",
            Self::RtpSavp => "RTP/SAVP",
            Self::RtpAvpf => "RTP/AVPF",
            Self::RtpSavpf => "RTP/SAVPF",
            Self::UdpTlsRtpSavp => "UDP/TLS/RTP/SAVP",
            Self::UdpTlsRtpSavpf => "UDP/TLS/RTP/SAVPF",
            Self::Udptl => "udptl",
            Self::Other(t) => t.as_str(),
        }
    }

    /// The protocol for a token; `text` makes the `Other` value (called only then).
    pub(crate) fn from_token(s: &str, text: impl FnOnce() -> Text) -> Self {
        match s {
            "RTP/AVP" => Self::RtpAvp,
            "RTP/SAVP" => Self::RtpSavp,
            "RTP/AVPF" => Self::RtpAvpf,
            "RTP/SAVPF" => Self::RtpSavpf,
            "UDP/TLS/RTP/SAVP" => Self::UdpTlsRtpSavp,
            "UDP/TLS/RTP/SAVPF" => Self::UdpTlsRtpSavpf,
            "udptl" => Self::Udptl,
            _ => Self::Other(text()),
        }
    }

    /// Whether the formats are RTP payload types.
    pub fn is_rtp(&self) -> bool {
        matches!(
            self,
            Self::RtpAvp
                | Self::RtpSavp
                | Self::RtpAvpf
                | Self::RtpSavpf
                | Self::UdpTlsRtpSavp
                | Self::UdpTlsRtpSavpf
        )
    }

    /// Whether the profile is secure (SAVP/SAVPF).
    pub fn is_secure(&self) -> bool {
        matches!(
            self,
            Self::RtpSavp | Self::RtpSavpf | Self::UdpTlsRtpSavp | Self::UdpTlsRtpSavpf
        )
    }

    /// Whether keys come from DTLS (`UDP/TLS/...`), which telox does not implement.
    pub fn is_dtls(&self) -> bool {
        matches!(self, Self::UdpTlsRtpSavp | Self::UdpTlsRtpSavpf)
    }

    /// Whether the profile uses RTCP feedback (AVPF).
    pub fn is_feedback(&self) -> bool {
        matches!(self, Self::RtpAvpf | Self::RtpSavpf | Self::UdpTlsRtpSavpf)
    }
}

/// A media description: `m=` and its `i= c= b= k= a=` lines (RFC 8866 §5.14).
///
/// The media-level lines that SIP descriptions seldom carry (`i= b= k=`) are kept out of
/// line, in [`Media::extra`] (read) and [`Media::extra_mut`] (write), as the session's are
/// in [`Sdp::extra`]: one pointer stands for three fields when a section is built, moved
/// or dropped. Equality and `Debug` are those of all the fields, wherever they are kept.
#[derive(Clone)]
pub struct Media {
    /// Media type.
    pub kind: MediaKind,
    /// Transport port; 0 rejects or disables the stream (RFC 3264 §6, §8.2).
    pub port: u16,
    /// `/<number of ports>`.
    pub port_count: Option<u16>,
    /// Transport protocol.
    pub protocol: Protocol,
    /// The format list verbatim (payload types for RTP), space separated; see
    /// [`Media::formats`].
    pub format_list: Text,
    /// Media-level `c=` lines (several only for multicast).
    pub connections: Vec<Connection>,
    /// Media-level `a=` lines in order.
    pub attributes: Attributes,
    /// The `i= b= k=` lines, when there is one.
    extra: Option<Box<MediaExtra>>,
}

/// The media-level lines that SIP peers seldom send (RFC 8866 §5.4 `i=`, §5.8 `b=`, §5.12
/// `k=`), kept out of line in a [`Media`]: see [`Media::extra`].
#[derive(Clone, Debug, Default, Eq, PartialEq)]
pub struct MediaExtra {
    /// `i=`: media title.
    pub information: Option<Text>,
    /// Media-level `b=` lines.
    pub bandwidths: Vec<Bandwidth>,
    /// Media-level `k=` (obsolete, kept verbatim).
    pub key: Option<Text>,
}

/// What [`Media::extra`] shows when a section has none of those lines.
static NO_MEDIA_EXTRA: MediaExtra = MediaExtra {
    information: None,
    bandwidths: Vec::new(),
    key: None,
};

impl PartialEq for Media {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind
            && self.port == other.port
            && self.port_count == other.port_count
            && self.protocol == other.protocol
            && self.format_list == other.format_list
            && self.connections == other.connections
            && self.attributes == other.attributes
            && self.extra() == other.extra()
    }
}

impl Eq for Media {}

impl fmt::Debug for Media {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The fields in RFC 8866 order, as one struct wherever they are kept.
        let extra = self.extra();
        f.debug_struct("Media")
            .field("kind", &self.kind)
            .field("port", &self.port)
            .field("port_count", &self.port_count)
            .field("protocol", &self.protocol)
            .field("format_list", &self.format_list)
            .field("information", &extra.information)
            .field("connections", &self.connections)
            .field("bandwidths", &extra.bandwidths)
            .field("key", &extra.key)
            .field("attributes", &self.attributes)
            .finish()
    }
}

impl Media {
    /// A media description with no attributes; `formats` are joined with spaces.
    pub fn new<'a>(
        kind: MediaKind,
        port: u16,
        protocol: Protocol,
        formats: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        let mut list = String::new();
        for f in formats {
            if !list.is_empty() {
                list.push(' ');
            }
            list.push_str(f);
        }
        Self {
            kind,
            port,
            port_count: None,
            protocol,
            format_list: Text::from(list),
            connections: Vec::new(),
            attributes: Attributes::new(),
            extra: None,
        }
    }

    /// A parsed section's start: the `m=` fields, no other line, room for `attributes`
    /// parsed lines.
    #[inline]
    pub(crate) fn parsed(
        kind: MediaKind,
        port: u16,
        port_count: Option<u16>,
        protocol: Protocol,
        format_list: Text,
        attributes: usize,
    ) -> Self {
        Self {
            kind,
            port,
            port_count,
            protocol,
            format_list,
            connections: Vec::new(),
            attributes: Attributes::parsed(attributes),
            extra: None,
        }
    }

    /// The media-level `i= b= k=` lines (all empty when there is none).
    pub fn extra(&self) -> &MediaExtra {
        self.extra.as_deref().unwrap_or(&NO_MEDIA_EXTRA)
    }

    /// The media-level `i= b= k=` lines, to change or add to (made, empty, when the section
    /// has none; an empty one compares and prints as none).
    pub fn extra_mut(&mut self) -> &mut MediaExtra {
        self.extra.get_or_insert_default()
    }

    /// The formats (payload types for RTP) in order.
    pub fn formats(&self) -> impl Iterator<Item = &str> {
        crate::attr::split_on(self.format_list.as_str(), b' ').filter(|f| !f.is_empty())
    }

    /// The RTP payload types in order (formats that are not numbers 0..=127 are skipped).
    pub fn payload_types(&self) -> impl Iterator<Item = u8> + '_ {
        // On the bytes: offer/answer reads the list several times, and making it text
        // again costs a UTF-8 check each time.
        self.format_list
            .as_bytes()
            .split(|b| *b == b' ')
            .filter_map(|f| payload_type(f).filter(|pt| *pt <= 127))
    }

    /// The first attribute named `name` (case-sensitive), its value (`Some("")` for flags).
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.first(name)
    }

    /// All values of attributes named `name`, in order.
    pub fn attributes_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.attributes.named(name)
    }

    /// Whether a flag attribute such as `rtcp-mux` is present.
    pub fn has_attribute(&self, name: &str) -> bool {
        self.attributes.contains(name)
    }

    /// The media-level direction attribute, if any (see [`Media::effective_direction`]).
    pub fn direction(&self) -> Option<crate::Direction> {
        self.attributes.direction()
    }

    /// The direction in force: media level, else session level, else sendrecv
    /// (RFC 8866 §6.7).
    pub fn effective_direction(&self, session: &Sdp) -> crate::Direction {
        self.direction()
            .or_else(|| session.direction())
            .unwrap_or_default()
    }

    /// The connection in force: the first media-level `c=`, else the session one.
    pub fn effective_connection<'a>(&'a self, session: &'a Sdp) -> Option<&'a Connection> {
        self.connections.first().or(session.connection.as_ref())
    }

    /// Appends an attribute.
    pub fn push_attribute(&mut self, attribute: Attribute) {
        self.attributes.push(attribute);
    }
}

/// A format as `str::parse::<u8>` reads it (an optional `+`, then digits, leading zeros
/// allowed), on bytes.
fn payload_type(f: &[u8]) -> Option<u8> {
    // no digit, more than `u64` holds, or anything after the digits: no `u8` either
    match crate::attr::leading_digits(f.strip_prefix(b"+").unwrap_or(f))? {
        (n, []) => u8::try_from(n).ok(),
        _ => None,
    }
}

/// An owned `a=<name>[:<value>]` line, to add to an [`Attributes`] list; typed views
/// build and parse them (see [`crate::attr`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attribute {
    /// Attribute name.
    pub name: Text,
    /// Value after the first `:`; `None` for a flag attribute.
    pub value: Option<Text>,
}

impl Attribute {
    /// A flag attribute, `a=<name>`.
    pub fn flag(name: &str) -> Self {
        Self {
            name: Text::from(name),
            value: None,
        }
    }

    /// A flag attribute from a static name, without allocating.
    pub const fn flag_static(name: &'static str) -> Self {
        Self {
            name: Text::from_static(name),
            value: None,
        }
    }

    /// A value attribute, `a=<name>:<value>`.
    pub fn new(name: &str, value: impl Into<Text>) -> Self {
        Self {
            name: Text::from(name),
            value: Some(value.into()),
        }
    }

    /// The value, `""` for a flag.
    pub fn value_str(&self) -> &str {
        self.value.as_ref().map_or("", Text::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::{AddrType, INLINE, Media, MediaKind, Origin, Protocol, Sdp, Text};
    use bytes::Bytes;
    use std::collections::hash_map::DefaultHasher;
    use std::hash::{Hash, Hasher};

    fn hash(t: &Text) -> u64 {
        let mut h = DefaultHasher::new();
        t.hash(&mut h);
        h.finish()
    }

    #[test]
    fn payload_type_reads_as_str_parse() {
        // Every string of up to 4 bytes from digits, signs and a letter, and long ones.
        let mut cases: Vec<String> = crate::attr::tests::all_strings(b"+-0129a", 4)
            .filter_map(|b| String::from_utf8(b).ok())
            .collect();
        cases.extend(
            [
                "255",
                "256",
                "0000000000000000000000127",
                "99999999999",
                "+127",
            ]
            .map(String::from),
        );
        for c in cases {
            assert_eq!(
                super::payload_type(c.as_bytes()),
                c.parse::<u8>().ok(),
                "{c:?}"
            );
        }
    }

    #[test]
    fn the_out_of_line_lines_compare_and_print_by_content() {
        let a = Sdp::new(Origin {
            username: Text::from("-"),
            session_id: Text::from("1"),
            session_version: 1,
            net_type: Text::from("IN"),
            addr_type: AddrType::Ip4,
            address: Text::from("192.0.2.1"),
        });
        // An empty out-of-line part is the same description as none.
        let mut b = a.clone();
        assert_eq!(b.extra_mut(), &Default::default());
        assert_eq!(a, b);
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
        assert_eq!(a.to_bytes(), b.to_bytes());
        b.extra_mut().information = Some(Text::from("x"));
        assert_ne!(a, b);
        assert_eq!(b.extra().information.as_ref().map(Text::as_str), Some("x"));
        let debug = format!("{b:?}");
        assert!(
            debug.contains(r#"session_name: "-", information: Some("x"), uri: None"#),
            "{debug}"
        );
        assert_eq!(a.extra(), &Default::default());

        // The same for a media section's `i= b= k=` lines.
        let mut a = a;
        a.media
            .push(Media::new(MediaKind::Audio, 4000, Protocol::RtpAvp, ["0"]));
        let mut b = a.clone();
        assert_eq!(b.media[0].extra_mut(), &Default::default());
        assert_eq!(a, b);
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
        b.media[0].extra_mut().key = Some(Text::from("prompt"));
        assert_ne!(a, b);
        let debug = format!("{:?}", b.media[0]);
        assert!(
            debug.contains(r#"information: None, connections: [], bandwidths: [], key: Some("prompt"), attributes"#),
            "{debug}"
        );
        assert!(
            b.to_bytes()
                .ends_with(b"m=audio 4000 RTP/AVP 0\r\nk=prompt\r\n")
        );
    }

    #[test]
    fn text_is_its_content_whatever_the_storage() {
        let long = "x".repeat(INLINE + 5);
        let src = Bytes::from(format!("ab {long} 12345678901234567890123456789 end"));
        for (range, want) in [
            (0..2, "ab"),
            (3..3 + long.len(), long.as_str()),
            (src.len() - 3..src.len(), "end"),
            (
                src.len() - 33..src.len() - 4,
                "12345678901234567890123456789",
            ),
            (0..0, ""),
        ] {
            let sliced = Text::slice_of(&src, range);
            for other in [
                Text::from(want),
                Text::from(want.to_owned()),
                Text::from_static(want.to_owned().leak()),
            ] {
                assert_eq!(sliced, other, "{want}");
                assert_eq!(sliced.cmp(&other), std::cmp::Ordering::Equal);
                assert_eq!(hash(&sliced), hash(&other));
            }
            assert_eq!(sliced.as_str(), want);
            assert_eq!(sliced.to_bytes(), want.as_bytes());
            assert_eq!(sliced.is_empty(), want.is_empty());
            assert_eq!(format!("{sliced}"), want);
        }
        // Two kinds of storage keep a text at the size of a `Bytes` (a third, a `&'static str`
        // made it 40 bytes, and every description and section larger).
        assert_eq!(size_of::<Text>(), size_of::<Bytes>());
        let (inline, shared, last) = (Text::from("ab"), Text::from(long.as_str()), Text::from("y"));
        assert!(inline < shared && shared < last);
        // Out of range is empty, not a panic.
        assert_eq!(Text::slice_of(&src, 5..src.len() + 1), "");
    }
}
