//! DNS messages on the wire (RFC 1035 §4): queries out, responses in.
//!
//! [`DnsMessage::parse`] reads any bytes without panicking: names are decompressed with
//! pointers that must point backwards and at most [`MAX_POINTERS`] per name, names are
//! bounded to 255 octets (RFC 1035 §3.1), and every record length is checked against its
//! data. [`DnsMessage::encode`] writes names uncompressed (RFC 2782 and RFC 3403 forbid
//! compressing the SRV target and the NAPTR replacement anyway).
//!
//! Names are text in the master-file form of RFC 1035 §5.1 without the final dot: labels
//! joined by `.`, the root is `.`, and a label octet that is a `.`, a `\` or not printable
//! ASCII is written `\DDD` (decimal), so every name read from the wire encodes back to the
//! same octets.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::locate::{NaptrRecord, SrvRecord};

/// Most compression pointers followed while reading one name.
pub const MAX_POINTERS: usize = 32;
/// Longest name on the wire, length octets included (RFC 1035 §3.1).
pub const MAX_NAME: usize = 255;
/// Longest label (RFC 1035 §2.3.4).
pub const MAX_LABEL: usize = 63;

/// A DNS record type (RFC 1035 §3.2.2, RFC 3596, RFC 2782, RFC 3403).
#[derive(Clone, Copy, Debug, Eq, Hash, Ord, PartialEq, PartialOrd)]
pub struct RecordType(pub u16);

impl RecordType {
    /// IPv4 address.
    pub const A: Self = Self(0x0001);
    /// Canonical name.
    pub const CNAME: Self = Self(0x0005);
    /// Start of authority (its minimum field bounds negative caching, RFC 2308).
    pub const SOA: Self = Self(0x0006);
    /// IPv6 address (RFC 3596).
    pub const AAAA: Self = Self(0x001c);
    /// Service location (RFC 2782).
    pub const SRV: Self = Self(0x0021);
    /// Naming authority pointer (RFC 3403).
    pub const NAPTR: Self = Self(0x0023);
}

/// A response code (RFC 1035 §4.1.1).
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub struct Rcode(pub u8);

impl Rcode {
    /// No error.
    pub const NO_ERROR: Self = Self(0);
    /// The server could not interpret the query.
    pub const FORMAT_ERROR: Self = Self(1);
    /// The server failed.
    pub const SERVER_FAILURE: Self = Self(2);
    /// The name does not exist (NXDOMAIN).
    pub const NAME_ERROR: Self = Self(3);
    /// The server does not support the query.
    pub const NOT_IMPLEMENTED: Self = Self(4);
    /// The server refused.
    pub const REFUSED: Self = Self(5);
}

/// Header flags of a message (RFC 1035 §4.1.1).
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub struct Flags {
    /// QR: a response.
    pub response: bool,
    /// OPCODE (0 = standard query), 4 bits.
    pub opcode: u8,
    /// AA: authoritative answer.
    pub authoritative: bool,
    /// TC: the answer did not fit (retry over TCP, RFC 7766 §5).
    pub truncated: bool,
    /// RD: recursion desired.
    pub recursion_desired: bool,
    /// RA: recursion available.
    pub recursion_available: bool,
    /// RCODE, 4 bits.
    pub rcode: Rcode,
}

impl Default for Rcode {
    fn default() -> Self {
        Self::NO_ERROR
    }
}

/// One question (RFC 1035 §4.1.2), class IN.
#[derive(Clone, Debug, Eq, Hash, PartialEq)]
pub struct Question {
    /// The name asked about.
    pub name: String,
    /// The type asked for.
    pub rtype: RecordType,
}

/// The data of a record this crate understands; others are kept as their type.
#[derive(Clone, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub enum RecordData {
    /// IPv4 address.
    A(Ipv4Addr),
    /// IPv6 address.
    Aaaa(Ipv6Addr),
    /// Alias: the canonical name.
    Cname(String),
    /// Service location.
    Srv(SrvRecord),
    /// Naming authority pointer.
    Naptr(NaptrRecord),
    /// Start of authority: only what negative caching needs (RFC 2308 §5).
    Soa {
        /// The primary server.
        mname: String,
        /// The responsible mailbox.
        rname: String,
        /// The MINIMUM field: the TTL of negative answers.
        minimum: u32,
    },
    /// A record of another type, or of another class, data skipped.
    Other {
        /// Its type.
        rtype: RecordType,
        /// Its class.
        class: u16,
    },
}

impl RecordData {
    /// The SRV record, if this is one.
    pub fn as_srv(&self) -> Option<&SrvRecord> {
        match self {
            Self::Srv(s) => Some(s),
            _ => None,
        }
    }

    /// The NAPTR record, if this is one.
    pub fn as_naptr(&self) -> Option<&NaptrRecord> {
        match self {
            Self::Naptr(n) => Some(n),
            _ => None,
        }
    }

    /// The address of an A or AAAA record.
    pub fn as_ip(&self) -> Option<IpAddr> {
        match self {
            Self::A(a) => Some(IpAddr::V4(*a)),
            Self::Aaaa(a) => Some(IpAddr::V6(*a)),
            _ => None,
        }
    }

    /// The record's type.
    pub fn rtype(&self) -> RecordType {
        match self {
            Self::A(_) => RecordType::A,
            Self::Aaaa(_) => RecordType::AAAA,
            Self::Cname(_) => RecordType::CNAME,
            Self::Srv(_) => RecordType::SRV,
            Self::Naptr(_) => RecordType::NAPTR,
            Self::Soa { .. } => RecordType::SOA,
            Self::Other { rtype, .. } => *rtype,
        }
    }
}

/// A resource record (RFC 1035 §4.1.3).
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Record {
    /// The owner name.
    pub name: String,
    /// Seconds it may be cached (RFC 2181 §8: a value with the top bit set counts as 0).
    pub ttl: u32,
    /// The data.
    pub data: RecordData,
}

/// A DNS message: a query we build or a response we read.
#[derive(Clone, Debug, Default, Eq, PartialEq)]
pub struct DnsMessage {
    /// The ID that matches a response to its query.
    pub id: u16,
    /// Header flags and the response code.
    pub flags: Flags,
    /// Questions (one in practice).
    pub questions: Vec<Question>,
    /// Answer section.
    pub answers: Vec<Record>,
    /// Authority section (an SOA here bounds negative caching).
    pub authorities: Vec<Record>,
    /// Additional section (RFC 2782: addresses of SRV targets).
    pub additionals: Vec<Record>,
}

/// Why a DNS message could not be read or written.
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum DnsError {
    /// The message ends inside a field.
    #[error("dns message truncated at byte {at}")]
    Truncated {
        /// Offset of the field that does not fit.
        at: usize,
    },
    /// A compression pointer that does not point before the name it is in.
    #[error("dns name pointer at byte {at} does not point backwards")]
    BadPointer {
        /// Offset of the pointer.
        at: usize,
    },
    /// More than [`MAX_POINTERS`] pointers in one name.
    #[error("dns name at byte {at} follows too many pointers")]
    PointerChain {
        /// Offset of the name.
        at: usize,
    },
    /// A label type other than a length or a pointer (RFC 6891 retired the others).
    #[error("dns label type 0x{kind:02x} at byte {at} is not supported")]
    LabelType {
        /// The top two bits of the length octet, shifted down.
        kind: u8,
        /// Offset of the label.
        at: usize,
    },
    /// A name longer than 255 octets.
    #[error("dns name at byte {at} is longer than 255 octets")]
    NameTooLong {
        /// Offset of the name.
        at: usize,
    },
    /// A record whose data does not match its length or its type's layout.
    #[error("dns record data of type {rtype} at byte {at} does not match its length")]
    RecordLength {
        /// The record type.
        rtype: u16,
        /// Offset of the record data.
        at: usize,
    },
    /// A name given to [`DnsMessage::encode`] that cannot be written: an empty label, a
    /// label over 63 octets, a name over 255, or a bad `\` escape. Caller misuse.
    #[error("name {0:?} cannot be encoded")]
    InvalidName(String),
    /// A character-string over 255 octets given to [`DnsMessage::encode`]. Caller misuse.
    #[error("character-string of {0} octets is longer than 255")]
    StringTooLong(usize),
    /// More than 65535 records in a section given to [`DnsMessage::encode`]. Caller misuse.
    #[error("more than 65535 entries in one section")]
    TooManyEntries,
}

const CLASS_IN: u16 = 0x0001;

impl DnsMessage {
    /// A standard query for `name`/`rtype` with recursion desired.
    pub fn query(id: u16, name: &str, rtype: RecordType) -> Self {
        Self {
            id,
            flags: Flags {
                recursion_desired: true,
                ..Flags::default()
            },
            questions: vec![Question {
                name: name.to_owned(),
                rtype,
            }],
            ..Self::default()
        }
    }

    /// Reads a message. Records of other types (and of other classes) are kept as
    /// [`RecordData::Other`]; nothing after the last section is read.
    ///
    /// # Errors
    /// The [`DnsError`] of the first field that cannot be read. No input panics.
    pub fn parse(buf: &[u8]) -> Result<Self, DnsError> {
        let mut r = Reader { buf, pos: 0 };
        let id = r.u16()?;
        let bits = r.u16()?;
        let counts = [r.u16()?, r.u16()?, r.u16()?, r.u16()?];
        let flags = Flags {
            response: bits & 0x8000 != 0,
            opcode: ((bits >> 11) & 0xf) as u8,
            authoritative: bits & 0x0400 != 0,
            truncated: bits & 0x0200 != 0,
            recursion_desired: bits & 0x0100 != 0,
            recursion_available: bits & 0x0080 != 0,
            rcode: Rcode((bits & 0xf) as u8),
        };
        let mut questions = Vec::new();
        for _ in 0..counts[0] {
            let name = r.name()?;
            let rtype = RecordType(r.u16()?);
            let _class = r.u16()?;
            questions.push(Question { name, rtype });
        }
        let mut sections: [Vec<Record>; 3] = Default::default();
        for (section, &count) in sections.iter_mut().zip(&counts[1..]) {
            for _ in 0..count {
                section.push(r.record()?);
            }
        }
        let [answers, authorities, additionals] = sections;
        Ok(Self {
            id,
            flags,
            questions,
            answers,
            authorities,
            additionals,
        })
    }

    /// Writes the message, names uncompressed. [`RecordData::Other`] records are written
    /// with empty data.
    ///
    /// # Errors
    /// [`DnsError::InvalidName`], [`DnsError::StringTooLong`], [`DnsError::TooManyEntries`]:
    /// all caller misuse.
    pub fn encode(&self) -> Result<Vec<u8>, DnsError> {
        let mut out = Vec::with_capacity(512);
        let f = &self.flags;
        let bits = (u16::from(f.response) << 15)
            | (u16::from(f.opcode & 0xf) << 11)
            | (u16::from(f.authoritative) << 10)
            | (u16::from(f.truncated) << 9)
            | (u16::from(f.recursion_desired) << 8)
            | (u16::from(f.recursion_available) << 7)
            | u16::from(f.rcode.0 & 0xf);
        out.extend_from_slice(&self.id.to_be_bytes());
        out.extend_from_slice(&bits.to_be_bytes());
        for n in [
            self.questions.len(),
            self.answers.len(),
            self.authorities.len(),
            self.additionals.len(),
        ] {
            let n = u16::try_from(n).map_err(|_| DnsError::TooManyEntries)?;
            out.extend_from_slice(&n.to_be_bytes());
        }
        for q in &self.questions {
            write_name(&mut out, &q.name)?;
            out.extend_from_slice(&q.rtype.0.to_be_bytes());
            out.extend_from_slice(&CLASS_IN.to_be_bytes());
        }
        for r in self
            .answers
            .iter()
            .chain(&self.authorities)
            .chain(&self.additionals)
        {
            write_record(&mut out, r)?;
        }
        Ok(out)
    }

    /// True when this is the response to `query`: QR set, same ID, and the same single
    /// question (names compared case-insensitively, RFC 4343). A spoofed or stray datagram
    /// fails this.
    pub fn answers(&self, query: &Self) -> bool {
        self.flags.response
            && self.id == query.id
            && self.questions.len() == 1
            && query.questions.len() == 1
            && self
                .questions
                .first()
                .zip(query.questions.first())
                .is_some_and(|(a, b)| a.rtype == b.rtype && a.name.eq_ignore_ascii_case(&b.name))
    }
}

/// Reads fields from a message, checking every bound.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], DnsError> {
        let at = self.pos;
        let end = at.checked_add(n).ok_or(DnsError::Truncated { at })?;
        let s = self.buf.get(at..end).ok_or(DnsError::Truncated { at })?;
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, DnsError> {
        let s = self.take(1)?;
        Ok(s.first().copied().unwrap_or_default())
    }

    fn u16(&mut self) -> Result<u16, DnsError> {
        let s = self.take(2)?;
        let mut b = [0u8; 2];
        b.copy_from_slice(s);
        Ok(u16::from_be_bytes(b))
    }

    fn u32(&mut self) -> Result<u32, DnsError> {
        let s = self.take(4)?;
        let mut b = [0u8; 4];
        b.copy_from_slice(s);
        Ok(u32::from_be_bytes(b))
    }

    /// A name at the current position (RFC 1035 §4.1.4), decompressed.
    fn name(&mut self) -> Result<String, DnsError> {
        let start = self.pos;
        let (name, end) = read_name(self.buf, start)?;
        self.pos = end;
        Ok(name)
    }

    /// A `<character-string>` (RFC 1035 §3.3): a length octet and that many octets.
    fn string(&mut self) -> Result<String, DnsError> {
        let n = self.u8()?;
        let s = self.take(usize::from(n))?;
        Ok(String::from_utf8_lossy(s).into_owned())
    }

    fn record(&mut self) -> Result<Record, DnsError> {
        let name = self.name()?;
        let rtype = RecordType(self.u16()?);
        let class = self.u16()?;
        let ttl = self.u32()?;
        // RFC 2181 §8: "a TTL value [with] the most significant bit set ... treated as if
        // ... zero".
        let ttl = if ttl & 0x8000_0000 != 0 { 0 } else { ttl };
        let len = usize::from(self.u16()?);
        let at = self.pos;
        let end = at.checked_add(len).ok_or(DnsError::Truncated { at })?;
        if end > self.buf.len() {
            return Err(DnsError::Truncated { at });
        }
        let bad = DnsError::RecordLength { rtype: rtype.0, at };
        // Names inside the data may point anywhere before them, so read them from the
        // whole message, but never past this record's data.
        let mut d = Reader {
            buf: self.buf.get(..end).unwrap_or_default(),
            pos: at,
        };
        let data = match (class, rtype) {
            (CLASS_IN, RecordType::A) => {
                let s = d.take(4).map_err(|_| bad.clone())?;
                let mut b = [0u8; 4];
                b.copy_from_slice(s);
                RecordData::A(Ipv4Addr::from(b))
            }
            (CLASS_IN, RecordType::AAAA) => {
                let s = d.take(16).map_err(|_| bad.clone())?;
                let mut b = [0u8; 16];
                b.copy_from_slice(s);
                RecordData::Aaaa(Ipv6Addr::from(b))
            }
            (CLASS_IN, RecordType::CNAME) => RecordData::Cname(d.name().map_err(in_data(&bad))?),
            (CLASS_IN, RecordType::SRV) => {
                let (priority, weight, port) = (
                    d.u16().map_err(|_| bad.clone())?,
                    d.u16().map_err(|_| bad.clone())?,
                    d.u16().map_err(|_| bad.clone())?,
                );
                let target = d.name().map_err(in_data(&bad))?;
                RecordData::Srv(SrvRecord {
                    priority,
                    weight,
                    port,
                    target,
                })
            }
            (CLASS_IN, RecordType::NAPTR) => {
                let order = d.u16().map_err(|_| bad.clone())?;
                let preference = d.u16().map_err(|_| bad.clone())?;
                let flags = d.string().map_err(|_| bad.clone())?;
                let service = d.string().map_err(|_| bad.clone())?;
                let regexp = d.string().map_err(|_| bad.clone())?;
                let replacement = d.name().map_err(in_data(&bad))?;
                RecordData::Naptr(NaptrRecord {
                    order,
                    preference,
                    flags,
                    service,
                    regexp,
                    replacement,
                })
            }
            (CLASS_IN, RecordType::SOA) => {
                let mname = d.name().map_err(in_data(&bad))?;
                let rname = d.name().map_err(in_data(&bad))?;
                // serial, refresh, retry, expire
                d.take(16).map_err(|_| bad.clone())?;
                let minimum = d.u32().map_err(|_| bad.clone())?;
                RecordData::Soa {
                    mname,
                    rname,
                    minimum,
                }
            }
            _ => {
                d.pos = end;
                RecordData::Other { rtype, class }
            }
        };
        if d.pos != end {
            return Err(bad);
        }
        self.pos = end;
        Ok(Record { name, ttl, data })
    }
}

/// A name error inside record data: running past the data is a length mismatch; pointer
/// and label errors stay what they are.
fn in_data(bad: &DnsError) -> impl Fn(DnsError) -> DnsError + '_ {
    move |e| match e {
        DnsError::Truncated { .. } => bad.clone(),
        e => e,
    }
}

/// Reads the name at `start`; returns it and the offset after it (after the first pointer,
/// if any).
fn read_name(buf: &[u8], start: usize) -> Result<(String, usize), DnsError> {
    let mut out = String::new();
    let mut pos = start;
    let mut end = None;
    let mut wire_len = 0usize;
    let mut pointers = 0usize;
    // Lowest offset this name has been read from: a pointer must go below it, so no
    // loop is possible and each octet is read at most once.
    let mut floor = start;
    loop {
        let len = *buf.get(pos).ok_or(DnsError::Truncated { at: pos })?;
        match len >> 6 {
            0b00 => {
                let n = usize::from(len);
                wire_len += n + 1;
                if wire_len > MAX_NAME {
                    return Err(DnsError::NameTooLong { at: start });
                }
                if n == 0 {
                    if out.is_empty() {
                        out.push('.');
                    }
                    return Ok((out, end.unwrap_or(pos + 1)));
                }
                let label = buf
                    .get(pos + 1..pos + 1 + n)
                    .ok_or(DnsError::Truncated { at: pos })?;
                if !out.is_empty() {
                    out.push('.');
                }
                push_label(&mut out, label);
                pos += 1 + n;
            }
            0b11 => {
                let low = *buf.get(pos + 1).ok_or(DnsError::Truncated { at: pos })?;
                let target = (usize::from(len & 0x3f) << 8) | usize::from(low);
                if target >= floor {
                    return Err(DnsError::BadPointer { at: pos });
                }
                pointers += 1;
                if pointers > MAX_POINTERS {
                    return Err(DnsError::PointerChain { at: start });
                }
                end.get_or_insert(pos + 2);
                floor = target;
                pos = target;
            }
            kind => return Err(DnsError::LabelType { kind, at: pos }),
        }
    }
}

/// Appends a label in master-file form: `.`, `\` and octets outside printable ASCII as
/// `\DDD`.
fn push_label(out: &mut String, label: &[u8]) {
    for &b in label {
        if b.is_ascii_graphic() && b != b'.' && b != b'\\' {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "\\{b:03}");
        }
    }
}

/// Writes `name` uncompressed; `\DDD` and `\c` escapes are read back to octets.
fn write_name(out: &mut Vec<u8>, name: &str) -> Result<(), DnsError> {
    let invalid = || DnsError::InvalidName(name.to_owned());
    let text = name.strip_suffix('.').unwrap_or(name);
    let start = out.len();
    if !text.is_empty() {
        let bytes = text.as_bytes();
        let mut i = 0;
        let mut label = Vec::with_capacity(MAX_LABEL);
        loop {
            let b = bytes.get(i).copied();
            match b {
                None | Some(b'.') => {
                    if label.is_empty() || label.len() > MAX_LABEL {
                        return Err(invalid());
                    }
                    out.push(label.len() as u8);
                    out.append(&mut label);
                    if b.is_none() {
                        break;
                    }
                    i += 1;
                }
                Some(b'\\') => {
                    let digits = bytes
                        .get(i + 1..i + 4)
                        .filter(|d| d.iter().all(u8::is_ascii_digit));
                    if let Some(d) = digits {
                        let v = d.iter().fold(0u16, |v, c| v * 10 + u16::from(c - b'0'));
                        label.push(u8::try_from(v).map_err(|_| invalid())?);
                        i += 4;
                    } else {
                        label.push(*bytes.get(i + 1).ok_or_else(invalid)?);
                        i += 2;
                    }
                }
                Some(c) => {
                    label.push(c);
                    i += 1;
                }
            }
        }
    }
    out.push(0);
    if out.len() - start > MAX_NAME {
        return Err(invalid());
    }
    Ok(())
}

fn write_string(out: &mut Vec<u8>, s: &str) -> Result<(), DnsError> {
    let n = u8::try_from(s.len()).map_err(|_| DnsError::StringTooLong(s.len()))?;
    out.push(n);
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

fn write_record(out: &mut Vec<u8>, r: &Record) -> Result<(), DnsError> {
    write_name(out, &r.name)?;
    let class = match r.data {
        RecordData::Other { class, .. } => class,
        _ => CLASS_IN,
    };
    out.extend_from_slice(&r.data.rtype().0.to_be_bytes());
    out.extend_from_slice(&class.to_be_bytes());
    out.extend_from_slice(&r.ttl.to_be_bytes());
    let len_at = out.len();
    out.extend_from_slice(&[0, 0]);
    match &r.data {
        RecordData::A(a) => out.extend_from_slice(&a.octets()),
        RecordData::Aaaa(a) => out.extend_from_slice(&a.octets()),
        RecordData::Cname(n) => write_name(out, n)?,
        RecordData::Srv(s) => {
            for v in [s.priority, s.weight, s.port] {
                out.extend_from_slice(&v.to_be_bytes());
            }
            write_name(out, &s.target)?;
        }
        RecordData::Naptr(n) => {
            out.extend_from_slice(&n.order.to_be_bytes());
            out.extend_from_slice(&n.preference.to_be_bytes());
            write_string(out, &n.flags)?;
            write_string(out, &n.service)?;
            write_string(out, &n.regexp)?;
            write_name(out, &n.replacement)?;
        }
        RecordData::Soa {
            mname,
            rname,
            minimum,
        } => {
            write_name(out, mname)?;
            write_name(out, rname)?;
            out.extend_from_slice(&[0; 16]);
            out.extend_from_slice(&minimum.to_be_bytes());
        }
        RecordData::Other { .. } => {}
    }
    // Record data here is at most a few names and strings: well under 65535 octets.
    let len = u16::try_from(out.len() - len_at - 2).unwrap_or(u16::MAX);
    if let Some(slot) = out.get_mut(len_at..len_at + 2) {
        slot.copy_from_slice(&len.to_be_bytes());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// A response to `SRV _sip._udp.example.com` with the name compressed: one SRV answer
    /// whose target points into the question, and the target's A record in the additional
    /// section.
    const SRV_RESPONSE: &[u8] = &[
        0xbe, 0xef, // id
        0x85, 0x80, // QR, AA, RD, RA, NOERROR
        0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, // 1 question, 1 answer, 1 additional
        // 12: question _sip._udp.example.com
        0x04, b'_', b's', b'i', b'p', //
        0x04, b'_', b'u', b'd', b'p', //
        0x07, b'e', b'x', b'a', b'm', b'p', b'l', b'e', // 22: example.com
        0x03, b'c', b'o', b'm', 0x00, //
        0x00, 0x21, 0x00, 0x01, // SRV IN
        // answer: pointer to 12
        0xc0, 0x0c, 0x00, 0x21, 0x00, 0x01, //
        0x00, 0x00, 0x0e, 0x10, // TTL 3600
        0x00, 0x0e, // rdlength 14
        0x00, 0x0a, 0x00, 0x3c, 0x13, 0xc4, // priority 10, weight 60, port 5060
        0x05, b'p', b'r', b'o', b'x', b'y', 0xc0, 0x16, // proxy + pointer to 22
        // additional: proxy.example.com A 192.0.2.10, pointer into the SRV target (57)
        0xc0, 0x39, 0x00, 0x01, 0x00, 0x01, //
        0x00, 0x00, 0x00, 0x3c, // TTL 60
        0x00, 0x04, 192, 0, 2, 10,
    ];

    #[test]
    fn query_bytes_are_exact() {
        let q = DnsMessage::query(0xbeef, "_sip._udp.example.com.", RecordType::SRV);
        let bytes = q.encode().unwrap();
        let expected: &[u8] = &[
            0xbe, 0xef, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, //
            0x04, b'_', b's', b'i', b'p', 0x04, b'_', b'u', b'd', b'p', //
            0x07, b'e', b'x', b'a', b'm', b'p', b'l', b'e', 0x03, b'c', b'o', b'm', 0x00, //
            0x00, 0x21, 0x00, 0x01,
        ];
        assert_eq!(bytes, expected);
        // the response's header and question are the query's with other flags
        assert_eq!(&SRV_RESPONSE[..2], &expected[..2]);
        assert_eq!(&SRV_RESPONSE[12..39], &expected[12..]);
    }

    #[test]
    fn compressed_response_parses_into_typed_records() {
        let m = DnsMessage::parse(SRV_RESPONSE).unwrap();
        let q = DnsMessage::query(0xbeef, "_SIP._udp.example.com", RecordType::SRV);
        assert!(m.answers(&q));
        assert!(m.flags.authoritative && !m.flags.truncated);
        assert_eq!(m.flags.rcode, Rcode::NO_ERROR);
        assert_eq!(
            m.answers,
            vec![Record {
                name: "_sip._udp.example.com".into(),
                ttl: 3600,
                data: RecordData::Srv(SrvRecord {
                    priority: 10,
                    weight: 60,
                    port: 5060,
                    target: "proxy.example.com".into(),
                }),
            }]
        );
        assert_eq!(
            m.additionals,
            vec![Record {
                name: "proxy.example.com".into(),
                ttl: 60,
                data: RecordData::A(Ipv4Addr::new(192, 0, 2, 10)),
            }]
        );
        // another ID, another question or a query is not the answer
        assert!(!m.answers(&DnsMessage::query(
            0xbeee,
            "_sip._udp.example.com",
            RecordType::SRV
        )));
        assert!(!m.answers(&DnsMessage::query(
            0xbeef,
            "_sip._tcp.example.com",
            RecordType::SRV
        )));
        assert!(!m.answers(&DnsMessage::query(
            0xbeef,
            "_sip._udp.example.com",
            RecordType::A
        )));
        assert!(!q.answers(&q));
    }

    #[test]
    fn every_truncated_prefix_is_an_error() {
        for len in 0..SRV_RESPONSE.len() {
            let e = DnsMessage::parse(&SRV_RESPONSE[..len]).unwrap_err();
            assert!(
                matches!(
                    e,
                    DnsError::Truncated { .. } | DnsError::RecordLength { .. }
                ),
                "{len}: {e:?}"
            );
        }
    }

    #[test]
    fn flags_rcode_and_ttl_top_bit() {
        let mut b = SRV_RESPONSE.to_vec();
        b[2] |= 0x02; // TC
        b[3] = (b[3] & 0xf0) | 0x03; // NXDOMAIN
        b[45] |= 0x80; // answer TTL top bit
        let m = DnsMessage::parse(&b).unwrap();
        assert!(m.flags.truncated);
        assert_eq!(m.flags.rcode, Rcode::NAME_ERROR);
        assert_eq!(m.answers[0].ttl, 0, "RFC 2181 §8");
    }

    #[test]
    fn pointers_must_go_backwards_and_chains_are_bounded() {
        // a pointer to itself
        let mut b = SRV_RESPONSE.to_vec();
        b[39..41].copy_from_slice(&[0xc0, 39]);
        assert_eq!(DnsMessage::parse(&b), Err(DnsError::BadPointer { at: 39 }));
        // a pointer forward (to the additional record's name)
        b[39..41].copy_from_slice(&[0xc0, 65]);
        assert_eq!(DnsMessage::parse(&b), Err(DnsError::BadPointer { at: 39 }));
        // a pointer past the end
        b[39..41].copy_from_slice(&[0xff, 0xff]);
        assert_eq!(DnsMessage::parse(&b), Err(DnsError::BadPointer { at: 39 }));
        // a chain of backward pointers: 0 <- 3 <- 5 <- ... is bounded
        let mut chain = vec![1, b'a', 0];
        for i in 0..40usize {
            let to = if i == 0 { 0 } else { 3 + 2 * (i - 1) };
            chain.extend_from_slice(&[0xc0, to as u8]);
        }
        assert_eq!(read_name(&chain, 3 + 2 * 5).unwrap(), ("a".into(), 15));
        assert_eq!(
            read_name(&chain, 3 + 2 * 39),
            Err(DnsError::PointerChain { at: 81 })
        );
    }

    #[test]
    fn label_types_long_names_and_bad_record_lengths() {
        let mut b = SRV_RESPONSE.to_vec();
        b[12] = 0x44; // extended label type
        assert_eq!(
            DnsMessage::parse(&b),
            Err(DnsError::LabelType { kind: 1, at: 12 })
        );
        let mut long = Vec::new();
        for _ in 0..5 {
            long.push(63);
            long.extend_from_slice(&[b'x'; 63]);
        }
        long.push(0);
        assert_eq!(read_name(&long, 0), Err(DnsError::NameTooLong { at: 0 }));
        let name = vec!["x".repeat(63); 4].join(".");
        let q = DnsMessage::query(1, &name, RecordType::A);
        assert_eq!(q.encode(), Err(DnsError::InvalidName(name)));
        for bad in ["a..b", &"y".repeat(64), "a\\", "a\\300"] {
            let q = DnsMessage::query(1, bad, RecordType::A);
            assert_eq!(q.encode(), Err(DnsError::InvalidName(bad.into())), "{bad}");
        }
        // the A record claims 5 octets of data
        let mut b = SRV_RESPONSE.to_vec();
        let at = b.len() - 6;
        b[at + 1] = 5;
        b.push(0);
        assert_eq!(
            DnsMessage::parse(&b),
            Err(DnsError::RecordLength {
                rtype: 1,
                at: at + 2
            })
        );
        // the SRV record's data ends inside its target
        let mut b = SRV_RESPONSE.to_vec();
        b[50] = 0x0d;
        assert!(matches!(
            DnsMessage::parse(&b),
            Err(DnsError::RecordLength {
                rtype: 0x21,
                at: 51
            })
        ));
    }

    #[test]
    fn odd_label_octets_are_escaped_and_encode_back() {
        let wire = [3, b'a', b'.', 0xff, 2, b'\\', b' ', 0];
        let (name, end) = read_name(&wire, 0).unwrap();
        assert_eq!((name.as_str(), end), ("a\\046\\255.\\092\\032", 8));
        let mut out = Vec::new();
        write_name(&mut out, &name).unwrap();
        assert_eq!(out, wire);
        let mut out = Vec::new();
        write_name(&mut out, ".").unwrap();
        assert_eq!(out, [0]);
        assert_eq!(read_name(&[0], 0).unwrap(), (".".into(), 1));
    }

    /// Responses captured from dnsmasq 2.90 (tests/data/dns/README.md).
    #[test]
    fn dnsmasq_captures_parse_into_the_records_it_was_given() {
        let naptr =
            DnsMessage::parse(include_bytes!("../../tests/data/dns/dnsmasq-naptr.bin")).unwrap();
        assert!(naptr.answers(&DnsMessage::query(0x5a01, "sipdns.test", RecordType::NAPTR)));
        let services: Vec<(u16, &str, &str, &str)> = naptr
            .answers
            .iter()
            .filter_map(|r| r.data.as_naptr())
            .map(|n| {
                (
                    n.order,
                    n.flags.as_str(),
                    n.service.as_str(),
                    n.replacement.as_str(),
                )
            })
            .collect();
        assert_eq!(
            services,
            [
                (20, "S", "SIP+D2U", "_sip._udp.sipdns.test"),
                (10, "S", "SIP+D2T", "_sip._tcp.sipdns.test"),
            ]
        );
        assert!(
            naptr
                .answers
                .iter()
                .all(|r| r.ttl == 600 && r.name == "sipdns.test")
        );
        let srv =
            DnsMessage::parse(include_bytes!("../../tests/data/dns/dnsmasq-srv-tcp.bin")).unwrap();
        assert_eq!(
            srv.answers
                .iter()
                .filter_map(|r| r.data.as_srv())
                .cloned()
                .collect::<Vec<_>>(),
            [
                SrvRecord::new(10, 0, 5999, "dead.sipdns.test"),
                SrvRecord::new(20, 0, 5998, "uas.sipdns.test"),
            ]
        );
        let a = DnsMessage::parse(include_bytes!("../../tests/data/dns/dnsmasq-a.bin")).unwrap();
        assert_eq!(
            a.answers[0].data.as_ip(),
            Some(IpAddr::V4(Ipv4Addr::LOCALHOST))
        );
        let nx =
            DnsMessage::parse(include_bytes!("../../tests/data/dns/dnsmasq-nxdomain.bin")).unwrap();
        assert_eq!((nx.flags.rcode, nx.answers.len()), (Rcode::NAME_ERROR, 0));
        // our query for the same question is byte-identical to the one sent
        let query = DnsMessage::query(0x5a03, "uas.sipdns.test", RecordType::A)
            .encode()
            .unwrap();
        let sent = include_bytes!("../../tests/data/dns/dnsmasq-a.bin");
        assert_eq!(query[..2], sent[..2]);
        assert_eq!(query[12..], sent[12..query.len()]);
    }

    fn name() -> impl Strategy<Value = String> {
        prop::collection::vec(prop::collection::vec(any::<u8>(), 1..12), 1..5).prop_map(|labels| {
            let mut s = String::new();
            for l in labels {
                if !s.is_empty() {
                    s.push('.');
                }
                push_label(&mut s, &l);
            }
            s
        })
    }

    fn text() -> impl Strategy<Value = String> {
        "[ -~]{0,40}"
    }

    fn data() -> impl Strategy<Value = RecordData> {
        prop_oneof![
            any::<[u8; 4]>().prop_map(|b| RecordData::A(b.into())),
            any::<[u8; 16]>().prop_map(|b| RecordData::Aaaa(b.into())),
            name().prop_map(RecordData::Cname),
            (any::<u16>(), any::<u16>(), any::<u16>(), name()).prop_map(|(p, w, port, t)| {
                RecordData::Srv(SrvRecord {
                    priority: p,
                    weight: w,
                    port,
                    target: t,
                })
            }),
            (any::<u16>(), any::<u16>(), text(), text(), text(), name()).prop_map(
                |(order, preference, flags, service, regexp, replacement)| {
                    RecordData::Naptr(NaptrRecord {
                        order,
                        preference,
                        flags,
                        service,
                        regexp,
                        replacement,
                    })
                }
            ),
            (name(), name(), any::<u32>()).prop_map(|(mname, rname, minimum)| RecordData::Soa {
                mname,
                rname,
                minimum
            }),
            (any::<u16>(), any::<u16>())
                .prop_filter("a type and class read as typed data", |(t, c)| {
                    *c != CLASS_IN || ![1, 5, 6, 28, 33, 35].contains(t)
                })
                .prop_map(|(t, c)| RecordData::Other {
                    rtype: RecordType(t),
                    class: c
                }),
        ]
    }

    fn record() -> impl Strategy<Value = Record> {
        (name(), 0u32..0x8000_0000, data()).prop_map(|(name, ttl, data)| Record { name, ttl, data })
    }

    fn message() -> impl Strategy<Value = DnsMessage> {
        let flags = (any::<[bool; 5]>(), 0u8..16, 0u8..16).prop_map(|(b, opcode, rcode)| Flags {
            response: b[0],
            opcode,
            authoritative: b[1],
            truncated: b[2],
            recursion_desired: b[3],
            recursion_available: b[4],
            rcode: Rcode(rcode),
        });
        let question = (name(), any::<u16>()).prop_map(|(name, t)| Question {
            name,
            rtype: RecordType(t),
        });
        (
            any::<u16>(),
            flags,
            prop::collection::vec(question, 0..2),
            prop::collection::vec(record(), 0..4),
            prop::collection::vec(record(), 0..2),
            prop::collection::vec(record(), 0..4),
        )
            .prop_map(
                |(id, flags, questions, answers, authorities, additionals)| DnsMessage {
                    id,
                    flags,
                    questions,
                    answers,
                    authorities,
                    additionals,
                },
            )
    }

    proptest! {
        #[test]
        fn encode_then_parse_round_trips(m in message()) {
            let bytes = m.encode().unwrap();
            prop_assert_eq!(DnsMessage::parse(&bytes).unwrap(), m.clone());
            // canonical bytes: parse then encode gives them back
            prop_assert_eq!(DnsMessage::parse(&bytes).unwrap().encode().unwrap(), bytes);
        }

        #[test]
        fn any_bytes_parse_without_panic(b in prop::collection::vec(any::<u8>(), 0..600)) {
            let _ = DnsMessage::parse(&b);
        }
    }
}
