//! RTCP packets ([RFC 3550 §6]): sender and receiver reports, SDES, BYE, APP, extended reports
//! ([RFC 3611]), generic NACK and PLI ([RFC 4585]), compound packets with the §6.1 validity rules
//! and reduced-size RTCP ([RFC 5506]).
//!
//! A received packet is a checked view of its bytes: [`RtcpPacket`] (24 bytes) holds one view
//! per packet type ([`SenderReport`], [`SourceDescription`], ...) whose accessors read the
//! fields on demand; repeated items stay on the wire as [`List::Wire`] and are decoded while
//! iterating, so parsing neither allocates nor copies. The walk that hands a view out has
//! checked its bytes: no accessor can panic. A packet to send is a
//! [`build::RtcpPacket`] of types with public fields, whose lists hold [`List::Owned`] items or
//! [`List::Borrowed`] ones to build without allocating. A view converts into the type to send
//! with `From`, and the two compare equal when the view converts into the packet, so every
//! type round-trips: `parse(write(x)) == x`.
//!
//! ```
//! use telox_rtp::rtcp::build::{self, SenderReport, SourceDescription};
//! use telox_rtp::rtcp::{self, RtcpPacket, Validation};
//! use telox_rtp::{NtpTime, Ssrc};
//!
//! let sr = build::RtcpPacket::SenderReport(SenderReport {
//!     ssrc: Ssrc(1),
//!     ntp: NtpTime(0xE000_0000_8000_0000),
//!     ..SenderReport::default()
//! });
//! let sdes = build::RtcpPacket::SourceDescription(SourceDescription::cname(Ssrc(1), b"a@b"));
//! let bytes = rtcp::compound_to_vec(&[sr.clone(), sdes]).unwrap();
//! for p in rtcp::iter_compound(&bytes, Validation::Compound) {
//!     match p.unwrap() {
//!         RtcpPacket::SenderReport(v) => {
//!             assert_eq!((v.ssrc(), v.reports().len()), (Ssrc(1), 0));
//!             assert_eq!(RtcpPacket::SenderReport(v), sr);
//!         }
//!         RtcpPacket::SourceDescription(v) => {
//!             let chunk = v.chunks().iter().next().unwrap();
//!             assert_eq!(chunk.cname(), Some(&b"a@b"[..]));
//!         }
//!         _ => {}
//!     }
//! }
//! ```
//!
//! A received compound is read in one of two ways: [`iter_compound`] checks and yields each
//! packet in a single pass (the fast path; the first error ends it), and [`parse_compound`]
//! checks the whole datagram before handing out any packet (for a caller that must not act on
//! part of an invalid compound). [`iter_lenient`] reads what real receivers read of a compound
//! that breaks those rules: every well-framed packet that parses, with the rules it broke noted.
//!
//! [RFC 3550 §6]: https://www.rfc-editor.org/rfc/rfc3550#section-6
//! [RFC 3611]: https://www.rfc-editor.org/rfc/rfc3611
//! [RFC 4585]: https://www.rfc-editor.org/rfc/rfc4585
//! [RFC 5506]: https://www.rfc-editor.org/rfc/rfc5506

mod app;
pub mod build;
mod bye;
mod fb;
mod rr;
mod sdes;
mod sr;
mod view;
mod xr;

pub use build::{compound_len, compound_to_vec, write_compound};
pub use fb::{NackPair, PictureLossIndication};
pub use rr::ReportBlock;
pub use sdes::{SdesChunk, SdesItem};
pub use view::{
    App, ExtendedReport, GenericNack, Goodbye, ReceiverReport, SenderReport, SourceDescription,
};
pub use xr::{DlrrItem, StatisticsSummary, VoipMetrics, XrBlock};

use crate::error::RtcpError;

/// RTCP packet type values ([RFC 3550 §12.1], [RFC 4585 §6.1], [RFC 3611 §5]).
///
/// [RFC 3550 §12.1]: https://www.rfc-editor.org/rfc/rfc3550#section-12.1
/// [RFC 4585 §6.1]: https://www.rfc-editor.org/rfc/rfc4585#section-6.1
/// [RFC 3611 §5]: https://www.rfc-editor.org/rfc/rfc3611#section-5
pub mod pt {
    /// Sender report.
    pub const SR: u8 = 200;
    /// Receiver report.
    pub const RR: u8 = 201;
    /// Source description.
    pub const SDES: u8 = 202;
    /// Goodbye.
    pub const BYE: u8 = 203;
    /// Application-defined.
    pub const APP: u8 = 204;
    /// Transport-layer feedback.
    pub const RTPFB: u8 = 205;
    /// Payload-specific feedback.
    pub const PSFB: u8 = 206;
    /// Extended report.
    pub const XR: u8 = 207;
}

/// Length of the common RTCP header.
pub const HEADER_LEN: usize = 4;

/// One received RTCP packet: a checked view of its bytes (24 bytes; each variant's view reads
/// its fields on demand). A packet to send is a [`build::RtcpPacket`], which a view converts
/// into with `From`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RtcpPacket<'a> {
    /// SR (200).
    SenderReport(SenderReport<'a>),
    /// RR (201).
    ReceiverReport(ReceiverReport<'a>),
    /// SDES (202).
    SourceDescription(SourceDescription<'a>),
    /// BYE (203).
    Goodbye(Goodbye<'a>),
    /// APP (204).
    App(App<'a>),
    /// RTPFB generic NACK (205, FMT 1).
    GenericNack(GenericNack<'a>),
    /// PSFB picture loss indication (206, FMT 1).
    PictureLossIndication(PictureLossIndication),
    /// XR (207).
    ExtendedReport(ExtendedReport<'a>),
    /// Any other packet type or feedback message, kept as bytes.
    Unknown {
        /// Packet type.
        pt: u8,
        /// The 5-bit count / FMT field.
        count: u8,
        /// The body after the 4-byte header, without padding.
        body: &'a [u8],
    },
}

/// The error of a packet of type `pt` at `at` whose body does not match its type's layout
/// ([`RtcpPacket::parse_at`]), with the text for that type. Out of line and cold: the walk's
/// happy path carries none of the texts.
#[cold]
#[inline(never)]
fn malformed(pt: u8, at: usize) -> RtcpError {
    let what = match pt {
        pt::SR => "sender report shorter than its report count",
        pt::RR => "receiver report shorter than its report count",
        pt::SDES => "sdes chunks do not match the source count",
        pt::BYE => "bye shorter than its source count",
        pt::APP => "app shorter than 8 bytes",
        pt::RTPFB => "generic nack without a whole fci",
        pt::PSFB => "pli is not exactly two ssrcs",
        pt::XR => "xr report blocks do not fit the packet",
        // Every other type is kept as `Unknown` and never malformed.
        _ => "body does not match its type",
    };
    RtcpError::Malformed { pt, at, what }
}

/// How strictly a compound packet is checked.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub enum Validation {
    /// RFC 3550 §6.1 and A.2: the first packet is SR or RR, only the last may be padded, the
    /// lengths add up, and an SDES CNAME is present.
    #[default]
    Compound,
    /// RFC 5506 reduced-size RTCP: any packet may come first and no CNAME is required (the
    /// structure is still checked).
    ReducedSize,
}

impl<'a> RtcpPacket<'a> {
    /// Parses one packet at the start of `buf` and returns it with the number of bytes used.
    /// Padding (P bit) is accepted here; [`parse_compound`] restricts it to the last packet.
    ///
    /// # Errors
    /// [`RtcpError`] for a bad version, a length past the end, invalid padding, or a body that
    /// does not match its type's layout or count.
    pub fn parse(buf: &'a [u8]) -> Result<(Self, usize), RtcpError> {
        Self::parse_at(buf, 0, false).map(|(p, len, _)| (p, len))
    }

    /// Parses the packet at `at` (its length is then [`packet_len`] of the bytes at `at`) and
    /// sets `cname` if it is an SDES with a CNAME item (found while its chunks are checked).
    /// `validated` skips re-walking repeated items that a previous parse of the same bytes
    /// already checked ([`Compound`]). (Returning the packet alone, with the flag through a
    /// `&mut bool` and the length from the header, measured the same: 493 / 494 instructions
    /// per SR+SDES parse, callgrind, session 13.)
    /// Always inlined: the packet is then built in place in the caller's frame instead of being
    /// moved through two or three stack copies (measured: a third of the compound parse).
    #[inline(always)]
    fn parse_at(
        whole: &'a [u8],
        at: usize,
        validated: bool,
    ) -> Result<(Self, usize, bool), RtcpError> {
        let buf = whole.get(at..).unwrap_or_default();
        let Some(h) = buf.first_chunk::<HEADER_LEN>() else {
            return Err(RtcpError::Truncated {
                at,
                need: HEADER_LEN,
                have: buf.len(),
            });
        };
        let version = h[0] >> 6;
        if version != 2 {
            return Err(RtcpError::BadVersion { at, version });
        }
        let count = h[0] & 0x1F;
        let pt = h[1];
        let len = packet_len(h);
        let Some(packet) = buf.get(..len) else {
            return Err(RtcpError::Truncated {
                at,
                need: len,
                have: buf.len(),
            });
        };
        let mut packet = packet;
        if h[0] & 0x20 != 0 {
            // RFC 3550 §6.4.1: the last octet of the padding is a count of padding octets.
            let n = usize::from(packet.last().copied().unwrap_or(0));
            if n == 0 || n > len - HEADER_LEN {
                return Err(RtcpError::BadPadding { at });
            }
            packet = packet.get(..len - n).unwrap_or_default();
        }
        // Each view's constructor says only whether the body fits its type; the error and its
        // text are built out of line (`malformed`): with one `ok_or_else` text per arm, LLVM
        // hoisted the eight text constants to the entry of the function the walk is inlined
        // into and built them on every call (60 of 581 instructions of the SR+SDES parse).
        let mut cname = false;
        let p = match pt {
            pt::SR => SenderReport::new_checked(packet).map(Self::SenderReport),
            pt::RR => ReceiverReport::new_checked(packet).map(Self::ReceiverReport),
            pt::SDES if validated => Some(Self::SourceDescription(
                SourceDescription::checked_before(packet),
            )),
            pt::SDES => SourceDescription::new_checked(packet).map(|(sdes, has_cname)| {
                cname = has_cname;
                Self::SourceDescription(sdes)
            }),
            pt::BYE => Goodbye::new_checked(packet).map(Self::Goodbye),
            pt::APP => App::new_checked(packet).map(Self::App),
            pt::RTPFB if count == fb::FMT_GENERIC_NACK => {
                GenericNack::new_checked(packet).map(Self::GenericNack)
            }
            pt::PSFB if count == fb::FMT_PLI => {
                PictureLossIndication::parse_body(packet.get(HEADER_LEN..).unwrap_or_default())
                    .map(Self::PictureLossIndication)
            }
            pt::XR => ExtendedReport::new_checked(packet).map(Self::ExtendedReport),
            _ => Some(Self::Unknown {
                pt,
                count,
                body: packet.get(HEADER_LEN..).unwrap_or_default(),
            }),
        };
        match p {
            Some(p) => Ok((p, len, cname)),
            None => Err(malformed(pt, at)),
        }
    }

    /// The packet type value.
    pub fn packet_type(&self) -> u8 {
        match self {
            Self::SenderReport(_) => pt::SR,
            Self::ReceiverReport(_) => pt::RR,
            Self::SourceDescription(_) => pt::SDES,
            Self::Goodbye(_) => pt::BYE,
            Self::App(_) => pt::APP,
            Self::GenericNack(_) => pt::RTPFB,
            Self::PictureLossIndication(_) => pt::PSFB,
            Self::ExtendedReport(_) => pt::XR,
            Self::Unknown { pt, .. } => *pt,
        }
    }
}

/// Parses and validates a whole compound RTCP packet, returning its packets.
///
/// Every packet is checked first (one pass of [`iter_compound`]), so the returned iterator
/// yields each packet without further errors: use this when nothing of an invalid compound may
/// be acted on. [`iter_compound`] checks and yields in a single pass.
///
/// # Errors
/// [`RtcpError::Empty`]; any error of [`RtcpPacket::parse`]; with [`Validation::Compound`] also
/// [`RtcpError::FirstNotReport`] and [`RtcpError::MissingCname`]; padding on any packet but the
/// last ([`RtcpError::BadPadding`], RFC 3550 A.2: "The padding bit (P) should be zero for the
/// first packet of a compound RTCP packet because padding should only be applied, if it is
/// needed, to the last packet").
pub fn parse_compound(buf: &[u8], validation: Validation) -> Result<Compound<'_>, RtcpError> {
    for p in iter_compound(buf, validation) {
        p?;
    }
    Ok(Compound { buf, at: 0 })
}

/// Checks a compound RTCP packet in one pass, yielding each packet as a zero-copy view as soon
/// as it has been checked.
///
/// The checks are those of [`parse_compound`], made as the walk reaches them: each packet's
/// header, length, padding and body (SDES chunks are walked once, which also finds the CNAME);
/// only the last packet may be padded, and the lengths must add up to the datagram; with
/// [`Validation::Compound`] the first packet must be an SR or RR and, after the last packet,
/// [`RtcpError::MissingCname`] is yielded if no SDES carried a CNAME. [`Validation::ReducedSize`]
/// (RFC 5506) drops those two rules. The first error is yielded once and ends the iteration, so
/// the iterator yields the same first error as [`parse_compound`] for the same bytes; a caller
/// that must not act on any part of an invalid compound collects first or uses
/// [`parse_compound`].
pub fn iter_compound(buf: &[u8], validation: Validation) -> CompoundIter<'_> {
    CompoundIter {
        buf,
        at: 0,
        validation,
        cname: false,
        done: false,
    }
}

/// The one-pass validating iterator of [`iter_compound`].
#[derive(Clone, Debug)]
pub struct CompoundIter<'a> {
    buf: &'a [u8],
    at: usize,
    validation: Validation,
    cname: bool,
    done: bool,
}

impl<'a> CompoundIter<'a> {
    /// Bytes of the datagram not walked yet.
    pub fn remaining(&self) -> &'a [u8] {
        self.buf.get(self.at..).unwrap_or_default()
    }

    /// Ends the iteration with `e`.
    #[inline(always)]
    fn fail(&mut self, e: RtcpError) -> Option<Result<RtcpPacket<'a>, RtcpError>> {
        self.done = true;
        Some(Err(e))
    }
}

impl<'a> Iterator for CompoundIter<'a> {
    type Item = Result<RtcpPacket<'a>, RtcpError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let (buf, at) = (self.buf, self.at);
        if self.done {
            return None;
        }
        let Some(h) = buf.get(at..).and_then(|b| b.first_chunk::<HEADER_LEN>()) else {
            // A tail shorter than a header, or the end.
            self.done = true;
            return end_of_walk(buf, at, self.validation, self.cname).map(Err);
        };
        // Checked before the body so the error names the real cause.
        if misplaced_padding(h, at, buf.len()) {
            return self.fail(RtcpError::BadPadding { at });
        }
        let (p, len, cname) = match RtcpPacket::parse_at(buf, at, false) {
            Ok(x) => x,
            Err(e) => return self.fail(e),
        };
        if first_not_report(&p, at, self.validation) {
            return self.fail(RtcpError::FirstNotReport(p.packet_type()));
        }
        self.cname |= cname;
        self.at = at + len;
        Some(Ok(p))
    }
}

impl std::iter::FusedIterator for CompoundIter<'_> {}

/// Reads the well-framed packets of a compound that may break the compound-level rules, the
/// way real receivers do (libwebrtc's `RTCPReceiver` skips a packet it cannot parse and keeps
/// the rest), noting each broken rule in [`LenientIter::violations`] instead of failing.
///
/// RFC 3550 §6.1 says "Each individual RTCP packet in the compound packet may be processed
/// independently with no requirements upon the order or combination of packets"; the
/// compound rules (§6.1, A.2) check the datagram as a whole, and RFC 5506 §3 drops
/// the first-packet and CNAME rules when reduced-size RTCP is negotiated. Stacks in the field break them anyway: an SDES chunk
/// without its null terminator (Janus before 2018), a compound that starts with SDES or BYE
/// (old PJSIP, <https://github.com/pjsip/pjproject/issues/1440>). So:
///
/// - a packet whose header and length fit the datagram is *framed*; if its body does not
///   match its type's layout (or its padding count is invalid) it is skipped and counted, and
///   the walk goes on at the next packet, whose position the length field gives;
/// - the compound-level rules (with [`Validation::Compound`]: SR or RR first, a CNAME; padding
///   on the last packet only) are noted, and the packets are still yielded;
/// - bytes that cannot be framed (a version other than 2, a length running past the end, a
///   tail shorter than a header) end the walk: nothing after them can be located.
///
/// Only whole, well-framed packets are yielded, each parsed by [`RtcpPacket::parse`]'s rules.
/// For a compound that [`iter_compound`] accepts, this yields the same packets and notes
/// nothing; otherwise [`Violations::first`] is the error [`iter_compound`] yields.
pub fn iter_lenient(buf: &[u8], validation: Validation) -> LenientIter<'_> {
    LenientIter {
        buf,
        at: 0,
        validation,
        cname: false,
        done: false,
        violations: Violations::default(),
    }
}

/// What a lenient walk ([`iter_lenient`]) found wrong with a compound.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub struct Violations {
    /// The first rule broken, `None` for a valid compound.
    pub first: Option<RtcpError>,
    /// Well-framed packets skipped because their body is malformed.
    pub skipped: u32,
    /// Rules broken in all: skipped packets, compound-level rules, and the unframeable bytes
    /// that ended the walk.
    pub count: u32,
}

impl Violations {
    /// Whether the compound broke no rule.
    pub fn is_empty(&self) -> bool {
        self.first.is_none()
    }

    fn note(&mut self, e: RtcpError) {
        self.first.get_or_insert(e);
        self.count = self.count.saturating_add(1);
    }
}

/// The lenient walk of [`iter_lenient`].
#[derive(Clone, Debug)]
pub struct LenientIter<'a> {
    buf: &'a [u8],
    at: usize,
    validation: Validation,
    cname: bool,
    done: bool,
    violations: Violations,
}

impl<'a> LenientIter<'a> {
    /// What the walk has found wrong so far; complete once the iterator returned `None`.
    pub fn violations(&self) -> Violations {
        self.violations
    }

    /// Bytes of the datagram not walked yet (after the end of the walk: the unframeable rest,
    /// if any).
    pub fn remaining(&self) -> &'a [u8] {
        self.buf.get(self.at..).unwrap_or_default()
    }

    /// Ends the walk at bytes that cannot be framed (or at the end, checking the CNAME rule).
    fn finish(&mut self) {
        self.done = true;
        if let Some(e) = end_of_walk(self.buf, self.at, self.validation, self.cname) {
            self.violations.note(e);
        }
    }
}

impl<'a> Iterator for LenientIter<'a> {
    type Item = RtcpPacket<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            let (buf, at) = (self.buf, self.at);
            let Some(h) = buf.get(at..).and_then(|b| b.first_chunk::<HEADER_LEN>()) else {
                self.finish();
                return None;
            };
            let len = packet_len(h);
            // Noted before the framing, as iter_compound does, so that both name the same
            // first error.
            if misplaced_padding(h, at, buf.len()) {
                self.violations.note(RtcpError::BadPadding { at });
            }
            if h[0] >> 6 != 2 || buf.len() - at < len {
                self.finish();
                return None;
            }
            // Framed: the walk goes on after this packet whatever its body holds.
            self.at = at + len;
            match RtcpPacket::parse_at(buf, at, false) {
                Ok((p, _, cname)) => {
                    if first_not_report(&p, at, self.validation) {
                        let e = RtcpError::FirstNotReport(p.packet_type());
                        self.violations.note(e);
                    }
                    self.cname |= cname;
                    return Some(p);
                }
                Err(e) => {
                    self.violations.note(e);
                    self.violations.skipped = self.violations.skipped.saturating_add(1);
                }
            }
        }
        None
    }
}

impl std::iter::FusedIterator for LenientIter<'_> {}

/// The rule a compound walk (strict or lenient) breaks where it ends, at `at` with no whole
/// header left: an empty datagram; a tail that cannot be framed (named by
/// [`RtcpPacket::parse_at`]: shorter than a header, a version other than 2, a length past the
/// end); at the end, with [`Validation::Compound`], no CNAME seen. `None`: a valid end.
#[inline(always)]
fn end_of_walk(buf: &[u8], at: usize, validation: Validation, cname: bool) -> Option<RtcpError> {
    if at == buf.len() && at != 0 {
        // The end: the datagram's packets added up.
        return (validation == Validation::Compound && !cname).then_some(RtcpError::MissingCname);
    }
    if buf.is_empty() {
        return Some(RtcpError::Empty);
    }
    RtcpPacket::parse_at(buf, at, false).err()
}

/// RFC 3550 A.2: padding "should only be applied, if it is needed, to the last packet":
/// whether the packet with header `h` at `at`, in a datagram of `buf_len` bytes, is padded
/// and not the last ([`RtcpError::BadPadding`]; its length is read only when it is padded).
#[inline(always)]
fn misplaced_padding(h: &[u8; HEADER_LEN], at: usize, buf_len: usize) -> bool {
    h[0] & 0x20 != 0 && at + packet_len(h) != buf_len
}

/// With [`Validation::Compound`], the first packet (at 0) must be an SR or RR (RFC 3550
/// §6.1): whether `p` at `at` breaks that rule ([`RtcpError::FirstNotReport`]).
#[inline(always)]
fn first_not_report(p: &RtcpPacket<'_>, at: usize, validation: Validation) -> bool {
    at == 0
        && validation == Validation::Compound
        && !matches!(
            p,
            RtcpPacket::SenderReport(_) | RtcpPacket::ReceiverReport(_)
        )
}

/// The packets of a validated compound, see [`parse_compound`].
#[derive(Clone, Debug)]
pub struct Compound<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Iterator for Compound<'a> {
    type Item = RtcpPacket<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        let (p, len, _) = RtcpPacket::parse_at(self.buf, self.at, true).ok()?;
        self.at += len;
        Some(p)
    }
}

/// Length of the RTCP packet starting at `b` by its length field ([RFC 3550 §6.4.1]: "the
/// length of this RTCP packet in 32-bit words minus one, including the header"), or 0 if `b`
/// is shorter than a header.
///
/// [RFC 3550 §6.4.1]: https://www.rfc-editor.org/rfc/rfc3550#section-6.4.1
#[inline(always)]
fn packet_len(b: &[u8]) -> usize {
    b.get(2..4).map_or(0, |w| {
        (usize::from(u16::from_be_bytes([w[0], w[1]])) + 1) * 4
    })
}

/// A repeated item of an RTCP packet, decodable from and encodable to the wire.
pub trait WireItem<'a>: Clone {
    /// Decodes one item at the start of `b`, returning it and its length, or `None` at the end
    /// of the list or on malformed data.
    fn decode(b: &'a [u8]) -> Option<(Self, usize)>;
    /// Bytes this item takes on the wire.
    fn encoded_len(&self) -> usize;
    /// Writes the item; `out` is exactly [`encoded_len`](Self::encoded_len) bytes, zeroed.
    fn encode(&self, out: &mut [u8]);
}

/// A list of repeated items: still on the wire (parsed, validated, decoded while iterating),
/// or in memory to send: owned, or borrowed (a packet built without allocating, e.g. from a
/// buffer reused report after report). Two lists are equal when they hold the same items in
/// order.
#[derive(Clone, Debug)]
pub enum List<'a, T> {
    /// Validated wire bytes of the items.
    Wire(&'a [u8]),
    /// Items held in memory.
    Owned(Vec<T>),
    /// Items borrowed from the caller.
    Borrowed(&'a [T]),
}

impl<T> Default for List<'_, T> {
    fn default() -> Self {
        Self::Owned(Vec::new())
    }
}

impl<T> From<Vec<T>> for List<'_, T> {
    fn from(v: Vec<T>) -> Self {
        Self::Owned(v)
    }
}

impl<'a, T: WireItem<'a>> List<'a, T> {
    /// Iterates over the items.
    pub fn iter(&self) -> ListIter<'_, 'a, T> {
        match self {
            Self::Wire(b) => ListIter::Wire(b),
            Self::Owned(v) => ListIter::Owned(v.iter()),
            Self::Borrowed(v) => ListIter::Owned(v.iter()),
        }
    }

    /// The items in memory ([`Owned`](Self::Owned) or [`Borrowed`](Self::Borrowed)), or `None`
    /// for wire bytes.
    pub fn as_slice(&self) -> Option<&[T]> {
        match self {
            Self::Wire(_) => None,
            Self::Owned(v) => Some(v),
            Self::Borrowed(v) => Some(v),
        }
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        match self.as_slice() {
            None => self.iter().count(),
            Some(v) => v.len(),
        }
    }

    /// Whether there are no items.
    pub fn is_empty(&self) -> bool {
        match self {
            Self::Wire(b) => b.is_empty(),
            Self::Owned(v) => v.is_empty(),
            Self::Borrowed(v) => v.is_empty(),
        }
    }

    /// Bytes the items take on the wire.
    pub fn encoded_len(&self) -> usize {
        match self {
            Self::Wire(b) => b.len(),
            Self::Owned(_) | Self::Borrowed(_) => self
                .as_slice()
                .unwrap_or_default()
                .iter()
                .map(WireItem::encoded_len)
                .sum(),
        }
    }

    /// Writes the items; `out` is exactly [`encoded_len`](Self::encoded_len) bytes.
    pub(crate) fn encode(&self, out: &mut [u8]) {
        match self {
            Self::Wire(b) => out.copy_from_slice(b),
            Self::Owned(_) | Self::Borrowed(_) => {
                let mut at = 0;
                for item in self.as_slice().unwrap_or_default() {
                    let n = item.encoded_len();
                    if let Some(o) = out.get_mut(at..at + n) {
                        item.encode(o);
                    }
                    at += n;
                }
            }
        }
    }

    /// Checks that `b` holds exactly `count` whole items (or any number with `None`), and
    /// returns it as a wire list.
    pub(crate) fn validate(b: &'a [u8], count: Option<usize>) -> Option<Self> {
        let mut rest = b;
        let mut n = 0;
        while !rest.is_empty() {
            let (_, len) = T::decode(rest)?;
            rest = rest.get(len..)?;
            n += 1;
        }
        if count.is_some_and(|c| c != n) {
            return None;
        }
        Some(Self::Wire(b))
    }
}

impl<'a, T: WireItem<'a> + PartialEq> PartialEq for List<'a, T> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

/// Iterator over a [`List`].
#[derive(Clone, Debug)]
pub enum ListIter<'l, 'a, T> {
    /// Decoding wire bytes.
    Wire(&'a [u8]),
    /// Cloning owned items.
    Owned(std::slice::Iter<'l, T>),
}

impl<'a, T: WireItem<'a>> Iterator for ListIter<'_, 'a, T> {
    type Item = T;

    #[inline]
    fn next(&mut self) -> Option<T> {
        match self {
            Self::Wire(b) => {
                let (item, len) = T::decode(b)?;
                *b = b.get(len..).unwrap_or_default();
                Some(item)
            }
            Self::Owned(it) => it.next().cloned(),
        }
    }
}

#[inline]
pub(crate) fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

#[inline]
pub(crate) fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some((u64::from(u32_at(b, at)?) << 32) | u64::from(u32_at(b, at + 4)?))
}

pub(crate) fn put_u32(out: &mut [u8], at: usize, v: u32) {
    if let Some(s) = out.get_mut(at..at + 4) {
        s.copy_from_slice(&v.to_be_bytes());
    }
}

pub(crate) fn put_u16(out: &mut [u8], at: usize, v: u16) {
    if let Some(s) = out.get_mut(at..at + 2) {
        s.copy_from_slice(&v.to_be_bytes());
    }
}

pub(crate) fn put_u64(out: &mut [u8], at: usize, v: u64) {
    put_u32(out, at, (v >> 32) as u32);
    put_u32(out, at + 4, v as u32);
}

impl WireItem<'_> for crate::Ssrc {
    fn decode(b: &[u8]) -> Option<(Self, usize)> {
        Some((Self(u32_at(b, 0)?), 4))
    }
    fn encoded_len(&self) -> usize {
        4
    }
    fn encode(&self, out: &mut [u8]) {
        put_u32(out, 0, self.0);
    }
}
