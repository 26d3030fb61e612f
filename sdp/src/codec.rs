//! Codecs as SDP describes them: local capabilities, the RFC 3551 static payload types,
//! matching rules (name, clock rate, channels; G.722's 8000 clock; Opus), Opus fmtp
//! parameters (RFC 7587) and telephone-event event lists (RFC 4733).

use crate::attr::fmtp_parameters;
use crate::attributes::Kind;
use crate::model::Media;

/// A codec we can send and receive, as offered in SDP.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Codec {
    /// Encoding name (`PCMU`, `opus`, `telephone-event`...), matched case-insensitively.
    pub name: String,
    /// RTP clock rate (8000 for G.722, RFC 3551 §4.5.2; 48000 for Opus, RFC 7587 §4.1).
    pub clock_rate: u32,
    /// Channels in the rtpmap (2 for Opus, RFC 7587 §7).
    pub channels: u16,
    /// The payload type we offer it with (the static one when RFC 3551 assigns one).
    pub payload_type: u8,
    /// Our fmtp parameters: what we want to receive (RFC 3264 §5.1).
    pub fmtp: Option<String>,
}

impl Codec {
    /// A codec description.
    pub fn new(name: &str, clock_rate: u32, channels: u16, payload_type: u8) -> Self {
        Self {
            name: name.to_owned(),
            clock_rate,
            channels,
            payload_type,
            fmtp: None,
        }
    }

    /// G.711 µ-law, static payload type 0.
    pub fn pcmu() -> Self {
        Self::new("PCMU", 8000, 1, 0)
    }

    /// G.711 A-law, static payload type 8.
    pub fn pcma() -> Self {
        Self::new("PCMA", 8000, 1, 8)
    }

    /// G.722, static payload type 9, RTP clock 8000 although it samples at 16 kHz
    /// (RFC 3551 §4.5.2).
    pub fn g722() -> Self {
        Self::new("G722", 8000, 1, 9)
    }

    /// Opus at payload type 111: `opus/48000/2`, receiving with in-band FEC.
    pub fn opus() -> Self {
        Self {
            fmtp: Some("minptime=10;useinbandfec=1".to_owned()),
            ..Self::new("opus", 48000, 2, 111)
        }
    }

    /// RFC 4733 telephone-event at 8000 Hz, payload type 101, events 0-16.
    pub fn telephone_event() -> Self {
        Self {
            fmtp: Some("0-16".to_owned()),
            ..Self::new("telephone-event", 8000, 1, 101)
        }
    }

    /// A codec by the names `sdp-tool` accepts: `pcmu`, `pcma`, `g722`, `opus`,
    /// `telephone-event` (case-insensitive).
    pub fn by_name(name: &str) -> Option<Self> {
        Some(match name.to_ascii_lowercase().as_str() {
            "pcmu" => Self::pcmu(),
            "pcma" => Self::pcma(),
            "g722" => Self::g722(),
            "opus" => Self::opus(),
            "telephone-event" => Self::telephone_event(),
            _ => return None,
        })
    }

    /// Sets the fmtp parameters.
    #[must_use]
    pub fn with_fmtp(mut self, fmtp: &str) -> Self {
        self.fmtp = Some(fmtp.to_owned());
        self
    }

    /// Sets the payload type.
    #[must_use]
    pub fn with_payload_type(mut self, payload_type: u8) -> Self {
        self.payload_type = payload_type;
        self
    }

    /// Whether this is RFC 4733 telephone-event.
    pub fn is_telephone_event(&self) -> bool {
        self.name.eq_ignore_ascii_case("telephone-event")
    }

    /// Whether the description `format` denotes this codec.
    pub fn matches(&self, format: &Format<'_>) -> bool {
        codecs_match(&self.name, self.clock_rate, self.channels, format)
    }

    /// The rtpmap value (`<pt> <name>/<rate>[/<channels>]`).
    pub(crate) fn write_rtpmap(&self, out: &mut String) {
        crate::attr::push_decimal(out, u64::from(self.payload_type));
        out.push(' ');
        out.push_str(&self.name);
        out.push('/');
        crate::attr::push_decimal(out, u64::from(self.clock_rate));
        if self.channels != 1 {
            out.push('/');
            crate::attr::push_decimal(out, u64::from(self.channels));
        }
    }
}

/// One RTP format of a media description, from its rtpmap or the static table.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct Format<'a> {
    /// Payload type.
    pub payload_type: u8,
    /// Encoding name as written.
    pub name: &'a str,
    /// RTP clock rate.
    pub clock_rate: u32,
    /// Channels (1 when not written).
    pub channels: u16,
    /// fmtp parameters, if any.
    pub fmtp: Option<&'a str>,
}

impl Format<'_> {
    /// Whether this is telephone-event.
    pub fn is_telephone_event(&self) -> bool {
        self.name.eq_ignore_ascii_case("telephone-event")
    }

    /// Whether this format carries no media of its own (telephone-event, comfort noise,
    /// redundancy, retransmission, FEC), so it can never be the send codec.
    pub fn is_auxiliary(&self) -> bool {
        ["telephone-event", "CN", "red", "rtx", "ulpfec", "flexfec"]
            .iter()
            .any(|n| self.name.eq_ignore_ascii_case(n))
    }
}

/// The RTP formats of `media` in m-line order. A dynamic payload type without rtpmap is
/// skipped (nothing is known about it); a static one uses RFC 3551's table.
pub fn formats(media: &Media) -> impl Iterator<Item = Format<'_>> {
    // One pass over the attributes (not one per payload type): rtpmap and fmtp by number,
    // kept inline for a typical media section (no allocation per call).
    let mut maps: Inline<(u8, &str, u32, u16)> = Inline::new();
    let mut fmtps: Inline<(u8, &str)> = Inline::new();
    for (kind, value) in media.attributes.of_kinds(Kind::Rtpmap, Kind::Fmtp) {
        if kind == Kind::Rtpmap {
            if let Ok((pt, name, clock, ch)) = crate::attr::rtpmap_fields(value) {
                maps.push((pt, name, clock, ch.unwrap_or(1)));
            }
        } else if let Ok((f, p)) = crate::attr::fmtp_fields(value)
            && let Ok(pt) = f.parse::<u8>()
        {
            fmtps.push((pt, p));
        }
    }
    media.payload_types().filter_map(move |pt| {
        let fmtp = fmtps.iter().find(|(p, _)| *p == pt).map(|(_, f)| *f);
        let (name, clock_rate, channels) = match maps.iter().find(|m| m.0 == pt) {
            Some(&(_, name, clock, ch)) => (name, clock, ch),
            None => static_payload_type(pt)?,
        };
        Some(Format {
            payload_type: pt,
            name,
            clock_rate,
            channels,
            fmtp,
        })
    })
}

/// Entries kept in place up to [`Inline::N`], spilling to the heap beyond.
struct Inline<T> {
    inline: [T; Inline::<()>::N],
    len: usize,
    spill: Vec<T>,
}

impl Inline<()> {
    /// Entries kept without allocating: more than a SIP media section lists.
    const N: usize = 12;
}

impl<T: Copy + Default> Inline<T> {
    fn new() -> Self {
        Self {
            inline: [T::default(); Inline::<()>::N],
            len: 0,
            spill: Vec::new(),
        }
    }

    fn push(&mut self, v: T) {
        match self.inline.get_mut(self.len) {
            Some(slot) => {
                *slot = v;
                self.len += 1;
            }
            None => self.spill.push(v),
        }
    }

    fn iter(&self) -> impl Iterator<Item = &T> {
        self.inline
            .get(..self.len)
            .unwrap_or_default()
            .iter()
            .chain(&self.spill)
    }
}

/// The format of payload type `pt` in `media`.
pub fn format_of(media: &Media, pt: u8) -> Option<Format<'_>> {
    let fmtp = media.attributes.of_kind(Kind::Fmtp).find_map(|v| {
        let (f, p) = crate::attr::fmtp_fields(v).ok()?;
        (f.parse::<u8>().ok() == Some(pt)).then_some(p)
    });
    for value in media.attributes.of_kind(Kind::Rtpmap) {
        if let Ok((p, name, clock_rate, channels)) = crate::attr::rtpmap_fields(value)
            && p == pt
        {
            let channels = channels.unwrap_or(1);
            return Some(Format {
                payload_type: pt,
                name,
                clock_rate,
                channels,
                fmtp,
            });
        }
    }
    let (name, clock_rate, channels) = static_payload_type(pt)?;
    Some(Format {
        payload_type: pt,
        name,
        clock_rate,
        channels,
        fmtp,
    })
}

/// RFC 3551 §6 table 4 and 5: the static payload types (name, clock rate, channels).
pub fn static_payload_type(pt: u8) -> Option<(&'static str, u32, u16)> {
    Some(match pt {
        0 => ("PCMU", 8000, 1),
        3 => ("GSM", 8000, 1),
        4 => ("G723", 8000, 1),
        5 => ("DVI4", 8000, 1),
        6 => ("DVI4", 16000, 1),
        7 => ("LPC", 8000, 1),
        8 => ("PCMA", 8000, 1),
        9 => ("G722", 8000, 1),
        10 => ("L16", 44100, 2),
        11 => ("L16", 44100, 1),
        12 => ("QCELP", 8000, 1),
        13 => ("CN", 8000, 1),
        14 => ("MPA", 90000, 1),
        15 => ("G728", 8000, 1),
        16 => ("DVI4", 11025, 1),
        17 => ("DVI4", 22050, 1),
        18 => ("G729", 8000, 1),
        25 => ("CelB", 90000, 1),
        26 => ("JPEG", 90000, 1),
        28 => ("nv", 90000, 1),
        31 => ("H261", 90000, 1),
        32 => ("MPV", 90000, 1),
        33 => ("MP2T", 90000, 1),
        34 => ("H263", 90000, 1),
        _ => return None,
    })
}

fn codecs_match(name: &str, clock_rate: u32, channels: u16, f: &Format<'_>) -> bool {
    if !name.eq_ignore_ascii_case(f.name) {
        return false;
    }
    if name.eq_ignore_ascii_case("G722") {
        // RFC 3551 §4.5.2: G.722's RTP clock is 8000 although it samples at 16 kHz; some
        // peers write G722/16000 for the same codec. The channel count still counts: Teams
        // offers a stereo G722/8000/2 beside the mono one.
        return matches!(f.clock_rate, 8000 | 16000) && channels == f.channels;
    }
    if name.eq_ignore_ascii_case("opus") {
        // RFC 7587 §7: always opus/48000/2; the channel count says nothing about stereo.
        // Both sides at 48000: a peer's OPUS/16000 (RingCentral's offer in pion/webrtc#879)
        // is another mapping, and matching it to telox's 48 kHz Opus sent 48 kHz timestamps
        // on its payload type.
        return clock_rate == 48000 && f.clock_rate == 48000;
    }
    clock_rate == f.clock_rate && channels == f.channels
}

/// Whether two formats denote the same codec.
pub fn same_codec(a: &Format<'_>, b: &Format<'_>) -> bool {
    codecs_match(a.name, a.clock_rate, a.channels, b)
}

/// The audio sample rate of a codec, where it differs from its RTP clock rate (G.722).
pub fn sample_rate(name: &str, clock_rate: u32) -> u32 {
    if name.eq_ignore_ascii_case("G722") {
        16000
    } else {
        clock_rate
    }
}

/// Opus fmtp parameters (RFC 7587 §6.1), describing what the side that wrote them can
/// receive: the sender configures its encoder from the remote side's parameters.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct OpusParams {
    /// `maxplaybackrate` (default 48000).
    pub max_playback_rate: u32,
    /// `maxaveragebitrate`, if given.
    pub max_average_bitrate: Option<u32>,
    /// `stereo=1`: the receiver prefers stereo.
    pub stereo: bool,
    /// `sprop-stereo=1`: the sender is likely to send stereo.
    pub sprop_stereo: bool,
    /// `useinbandfec=1`: the receiver can use in-band FEC, so send it.
    pub use_inband_fec: bool,
    /// `usedtx=1`: the receiver prefers DTX.
    pub use_dtx: bool,
    /// `cbr=1`: the receiver prefers constant bitrate.
    pub cbr: bool,
}

impl Default for OpusParams {
    fn default() -> Self {
        Self {
            max_playback_rate: 48000,
            max_average_bitrate: None,
            stereo: false,
            sprop_stereo: false,
            use_inband_fec: false,
            use_dtx: false,
            cbr: false,
        }
    }
}

impl OpusParams {
    /// Parses an fmtp parameter string; unknown or malformed parameters keep defaults.
    pub fn parse(fmtp: &str) -> Self {
        let mut p = Self::default();
        for (k, v) in fmtp_parameters(fmtp) {
            let on = v == "1";
            match k {
                "maxplaybackrate" => {
                    if let Ok(r) = v.parse::<u32>() {
                        // RFC 7587 §6.1: values above 48000 mean 48000; 8000 is the floor.
                        p.max_playback_rate = r.clamp(8000, 48000);
                    }
                }
                "maxaveragebitrate" => {
                    p.max_average_bitrate = v.parse::<u32>().ok().map(|b| b.clamp(6000, 510_000));
                }
                "stereo" => p.stereo = on,
                "sprop-stereo" => p.sprop_stereo = on,
                "useinbandfec" => p.use_inband_fec = on,
                "usedtx" => p.use_dtx = on,
                "cbr" => p.cbr = on,
                _ => {}
            }
        }
        p
    }
}

/// The set of RFC 4733 events (0..=255) a telephone-event fmtp lists, e.g. `0-15,32,36`.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub struct DtmfEvents([u64; 4]);

impl Default for DtmfEvents {
    /// RFC 4733 §7.1.1: without fmtp, events 0-15 are assumed.
    fn default() -> Self {
        let mut s = Self::empty();
        s.insert_range(0, 15);
        s
    }
}

impl DtmfEvents {
    /// No events.
    pub const fn empty() -> Self {
        Self([0; 4])
    }

    /// Parses `0-15,32,36`; `None` when malformed.
    pub fn parse(list: &str) -> Option<Self> {
        let mut s = Self::empty();
        let event = |v: &str| crate::attr::decimal::<u8>(v.trim());
        for part in crate::attr::split_on(list, b',') {
            let (lo, hi) = match crate::attr::split_byte(part, b'-') {
                Some((a, b)) => (event(a)?, event(b)?),
                None => {
                    let v = event(part)?;
                    (v, v)
                }
            };
            if lo > hi {
                return None;
            }
            s.insert_range(lo, hi);
        }
        Some(s)
    }

    /// The events in a telephone-event format's fmtp (default 0-15 when absent or bad).
    pub fn of(format: &Format<'_>) -> Self {
        format.fmtp.and_then(Self::parse).unwrap_or_default()
    }

    fn insert_range(&mut self, lo: u8, hi: u8) {
        // Word by word: a range such as 0-255 sets whole words at once.
        for (w, word) in self.0.iter_mut().enumerate() {
            let (base, top) = (w * 64, w * 64 + 63);
            let (lo, hi) = (usize::from(lo).max(base), usize::from(hi).min(top));
            if lo > hi {
                continue;
            }
            let width = hi - lo + 1;
            let mask = if width == 64 {
                u64::MAX
            } else {
                ((1u64 << width) - 1) << (lo - base)
            };
            *word |= mask;
        }
    }

    /// Whether `event` is in the set.
    pub fn contains(&self, event: u8) -> bool {
        self.0[usize::from(event / 64)] & (1 << (event % 64)) != 0
    }

    /// Both sets.
    #[must_use]
    pub fn intersect(&self, other: &Self) -> Self {
        Self([0, 1, 2, 3].map(|i| self.0[i] & other.0[i]))
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0 == [0; 4]
    }

    /// The fmtp form, ranges compressed: `0-16`, `0-15,32,36`.
    pub fn to_fmtp(&self) -> String {
        let mut out = String::new();
        self.write_fmtp(&mut out);
        out
    }

    /// Appends the fmtp form to `out` (see [`DtmfEvents::to_fmtp`]).
    pub(crate) fn write_fmtp(&self, out: &mut String) {
        let start = out.len();
        let mut from = 0usize;
        // Runs of set bits, found a word at a time.
        while let Some(lo) = self.next(from, true) {
            let hi = self.next(lo, false).unwrap_or(256) - 1;
            if out.len() > start {
                out.push(',');
            }
            crate::attr::push_decimal(out, lo as u64);
            if hi > lo {
                out.push('-');
                crate::attr::push_decimal(out, hi as u64);
            }
            from = hi + 1;
        }
    }

    /// The first event at or after `from` that is in the set (`set`) or not in it.
    fn next(&self, from: usize, set: bool) -> Option<usize> {
        for (w, word) in self.0.iter().enumerate().skip(from / 64) {
            let bits = if set { *word } else { !*word };
            let bits = if w == from / 64 {
                bits & (u64::MAX << (from % 64))
            } else {
                bits
            };
            if bits != 0 {
                return Some(w * 64 + bits.trailing_zeros() as usize);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_beyond_the_inline_capacity_spill_in_order() {
        // More rtpmap and fmtp lines than `Inline` keeps in place, in reverse order.
        let n = Inline::<()>::N as u8 + 8;
        let pts: Vec<String> = (96..96 + n).map(|pt| pt.to_string()).collect();
        let mut m = Media::new(
            crate::MediaKind::Audio,
            4000,
            crate::Protocol::RtpAvp,
            pts.iter().map(String::as_str).chain(["0"]),
        );
        for pt in (96..96 + n).rev() {
            m.push_attribute(crate::Attribute::new("rtpmap", format!("{pt} X{pt}/8000")));
            m.push_attribute(crate::Attribute::new("fmtp", format!("{pt} p={pt}")));
        }
        let got: Vec<Format<'_>> = formats(&m).collect();
        assert_eq!(got.len(), usize::from(n) + 1);
        for (f, pt) in got.iter().take(usize::from(n)).zip(96..) {
            assert_eq!(f.payload_type, pt);
            assert_eq!(f.name, format!("X{pt}"));
            assert_eq!(f.fmtp, Some(format!("p={pt}").as_str()));
        }
        assert_eq!(got.last().map(|f| f.name), Some("PCMU"));
    }

    #[test]
    fn dtmf_events_round_trip_and_intersect() {
        let a = DtmfEvents::parse("0-16,32,36").unwrap();
        assert_eq!(a.to_fmtp(), "0-16,32,36");
        let b = DtmfEvents::parse("0-15").unwrap();
        assert_eq!(a.intersect(&b).to_fmtp(), "0-15");
        assert_eq!(DtmfEvents::default().to_fmtp(), "0-15");
        assert_eq!(DtmfEvents::parse("0-255").unwrap().to_fmtp(), "0-255");
        // Ranges across the 64-bit word boundaries.
        let c = DtmfEvents::parse("60-70,127,128,200-255").unwrap();
        assert_eq!(c.to_fmtp(), "60-70,127-128,200-255");
        assert!(c.contains(63) && c.contains(64) && !c.contains(59) && !c.contains(71));
        assert!(DtmfEvents::parse("5-1").is_none());
        assert!(DtmfEvents::parse("x").is_none());
        assert!(DtmfEvents::parse("0-256").is_none());
    }

    #[test]
    fn opus_params_parse_and_clamp() {
        let p = OpusParams::parse("minptime=10; useinbandfec=1;stereo=1;maxplaybackrate=96000");
        assert!(p.use_inband_fec && p.stereo && !p.use_dtx);
        assert_eq!(p.max_playback_rate, 48000);
        let p = OpusParams::parse("maxplaybackrate=16000;sprop-stereo=1;usedtx=1");
        assert_eq!(p.max_playback_rate, 16000);
        assert!(p.sprop_stereo && p.use_dtx && !p.stereo);
    }

    #[test]
    fn g722_matches_8000_and_16000_but_pcmu_needs_its_clock() {
        let f = |name, clock_rate| Format {
            payload_type: 9,
            name,
            clock_rate,
            channels: 1,
            fmtp: None,
        };
        assert!(Codec::g722().matches(&f("G722", 8000)));
        assert!(Codec::g722().matches(&f("g722", 16000)));
        assert!(!Codec::g722().matches(&f("G722", 48000)));
        assert!(Codec::pcmu().matches(&f("pcmu", 8000)));
        assert!(!Codec::pcmu().matches(&f("PCMU", 16000)));
        assert!(Codec::opus().matches(&Format {
            channels: 2,
            ..f("OPUS", 48000)
        }));
        assert_eq!(sample_rate("G722", 8000), 16000);
    }

    #[test]
    fn opus_matches_only_at_48000_on_both_sides() {
        let f = |pt, clock_rate, channels| Format {
            payload_type: pt,
            name: "OPUS",
            clock_rate,
            channels,
            fmtp: None,
        };
        let (opus16, opus48) = (f(109, 16000, 1), f(111, 48000, 2));
        assert!(!same_codec(&opus16, &opus48));
        assert!(!same_codec(&opus48, &opus16));
        assert!(same_codec(&opus48, &f(96, 48000, 2)));
        assert!(
            same_codec(&opus48, &f(96, 48000, 1)),
            "the channels say nothing"
        );
        assert!(!Codec::opus().matches(&opus16));
    }
}
