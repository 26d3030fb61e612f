//! Source description, SDES (202), with every item type ([RFC 3550 §6.5]).
//!
//! [RFC 3550 §6.5]: https://www.rfc-editor.org/rfc/rfc3550#section-6.5

use super::{List, WireItem, put_u32, u32_at};
use crate::error::BuildError;
use crate::types::Ssrc;

/// An SDES packet to send: one chunk per source (at most 31); a received one is read through
/// the [`SourceDescription`](super::SourceDescription) view.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SourceDescription<'a> {
    /// The chunks.
    pub chunks: List<'a, SdesChunk<'a>>,
}

/// The items describing one source.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SdesChunk<'a> {
    /// The source (SSRC or CSRC).
    pub ssrc: Ssrc,
    /// Its items, in order.
    pub items: List<'a, SdesItem<'a>>,
}

/// One SDES item ([RFC 3550 §6.5.1] to §6.5.8); values are at most 255 bytes (UTF-8 by the RFC,
/// kept as bytes here).
///
/// [RFC 3550 §6.5.1]: https://www.rfc-editor.org/rfc/rfc3550#section-6.5.1
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum SdesItem<'a> {
    /// CNAME (1): canonical end-point identifier.
    Cname(&'a [u8]),
    /// NAME (2): user name.
    Name(&'a [u8]),
    /// EMAIL (3).
    Email(&'a [u8]),
    /// PHONE (4).
    Phone(&'a [u8]),
    /// LOC (5): geographic location.
    Loc(&'a [u8]),
    /// TOOL (6): application or tool name.
    Tool(&'a [u8]),
    /// NOTE (7): notice or status.
    Note(&'a [u8]),
    /// PRIV (8): private extension with a prefix.
    Priv {
        /// The prefix string.
        prefix: &'a [u8],
        /// The value string.
        value: &'a [u8],
    },
    /// Any other item type.
    Other {
        /// Item type (9-255).
        kind: u8,
        /// Value.
        value: &'a [u8],
    },
}

impl<'a> SdesItem<'a> {
    /// The item type octet.
    pub fn kind(&self) -> u8 {
        match self {
            Self::Cname(_) => 1,
            Self::Name(_) => 2,
            Self::Email(_) => 3,
            Self::Phone(_) => 4,
            Self::Loc(_) => 5,
            Self::Tool(_) => 6,
            Self::Note(_) => 7,
            Self::Priv { .. } => 8,
            Self::Other { kind, .. } => *kind,
        }
    }

    fn value_len(&self) -> usize {
        match self {
            Self::Cname(v)
            | Self::Name(v)
            | Self::Email(v)
            | Self::Phone(v)
            | Self::Loc(v)
            | Self::Tool(v)
            | Self::Note(v)
            | Self::Other { value: v, .. } => v.len(),
            Self::Priv { prefix, value } => 1 + prefix.len() + value.len(),
        }
    }

    pub(super) fn check(&self) -> Result<(), BuildError> {
        let bad_kind = matches!(self, Self::Other { kind, .. } if *kind <= 8);
        let bad_prefix = matches!(self, Self::Priv { prefix, .. } if prefix.len() > 255);
        if self.value_len() > 255 || bad_kind || bad_prefix {
            return Err(BuildError::FieldTooLarge { what: "sdes item" });
        }
        Ok(())
    }
}

impl<'a> WireItem<'a> for SdesItem<'a> {
    #[inline]
    fn decode(b: &'a [u8]) -> Option<(Self, usize)> {
        let (&kind, rest) = b.split_first()?;
        let (&len, rest) = rest.split_first()?;
        let v = rest.get(..usize::from(len))?;
        let item = match kind {
            0 => return None,
            1 => Self::Cname(v),
            2 => Self::Name(v),
            3 => Self::Email(v),
            4 => Self::Phone(v),
            5 => Self::Loc(v),
            6 => Self::Tool(v),
            7 => Self::Note(v),
            8 => {
                let (&plen, r) = v.split_first()?;
                let (prefix, value) = r.split_at_checked(usize::from(plen))?;
                Self::Priv { prefix, value }
            }
            kind => Self::Other { kind, value: v },
        };
        Some((item, 2 + usize::from(len)))
    }

    fn encoded_len(&self) -> usize {
        2 + self.value_len()
    }

    fn encode(&self, out: &mut [u8]) {
        let len = self.value_len();
        if let Some(h) = out.get_mut(..2) {
            h.copy_from_slice(&[self.kind(), len as u8]);
        }
        let v = out.get_mut(2..).unwrap_or_default();
        match self {
            Self::Priv { prefix, value } => {
                if let Some(p) = v.get_mut(..1 + prefix.len()) {
                    p[0] = prefix.len() as u8;
                    p[1..].copy_from_slice(prefix);
                }
                if let Some(o) = v.get_mut(1 + prefix.len()..) {
                    o.copy_from_slice(value);
                }
            }
            Self::Cname(x)
            | Self::Name(x)
            | Self::Email(x)
            | Self::Phone(x)
            | Self::Loc(x)
            | Self::Tool(x)
            | Self::Note(x)
            | Self::Other { value: x, .. } => v.copy_from_slice(x),
        }
    }
}

impl<'a> SdesChunk<'a> {
    /// The CNAME of this chunk, if it has one.
    #[inline]
    pub fn cname(&self) -> Option<&'a [u8]> {
        match self.items {
            // Wire items: found by their type and length octets alone, without decoding each
            // item (the same items, and the same end at a malformed one, as `iter()`).
            List::Wire(mut b) => loop {
                let (kind, len) = check_item(b)?;
                if kind == 1 {
                    return b.get(2..len);
                }
                b = b.get(len..)?;
            },
            _ => self.items.iter().find_map(|i| match i {
                SdesItem::Cname(c) => Some(c),
                _ => None,
            }),
        }
    }
}

/// Checks the SDES item at the start of `b` (a type other than 0, its value within `b`, a
/// PRIV prefix within the value: what [`SdesItem::decode`] checks) by its octets alone,
/// and returns its type and length.
#[inline(always)]
fn check_item(b: &[u8]) -> Option<(u8, usize)> {
    let (&[kind, len], rest) = b.split_first_chunk::<2>()?;
    let value = rest.get(..usize::from(len))?;
    if kind == 8 {
        // PRIV: a prefix length octet, then the prefix, within the value.
        let (&plen, r) = value.split_first()?;
        if usize::from(plen) > r.len() {
            return None;
        }
    }
    (kind != 0).then_some((kind, 2 + usize::from(len)))
}

impl<'a> SdesChunk<'a> {
    /// Decodes one chunk at the start of `b` as [`WireItem::decode`] does, and also reports
    /// whether it has a CNAME item, found in the same walk over its items.
    #[inline]
    fn decode_cname(b: &'a [u8]) -> Option<(Self, usize, bool)> {
        let ssrc = Ssrc(u32_at(b, 0)?);
        let mut at = 4;
        let mut cname = false;
        // RFC 3550 §6.5: "The list of items in each chunk MUST be terminated by one or more
        // null octets ... followed by null octets to the next 32-bit boundary."
        while *b.get(at)? != 0 {
            let (kind, len) = check_item(b.get(at..)?)?;
            cname |= kind == 1;
            at += len;
        }
        let items = List::Wire(b.get(4..at)?);
        let end = (at + 1).next_multiple_of(4);
        if end > b.len() {
            return None;
        }
        Some((Self { ssrc, items }, end, cname))
    }
}

impl<'a> WireItem<'a> for SdesChunk<'a> {
    #[inline]
    fn decode(b: &'a [u8]) -> Option<(Self, usize)> {
        Self::decode_cname(b).map(|(chunk, len, _)| (chunk, len))
    }

    fn encoded_len(&self) -> usize {
        4 + (self.items.encoded_len() + 1).next_multiple_of(4)
    }

    fn encode(&self, out: &mut [u8]) {
        put_u32(out, 0, self.ssrc.0);
        let n = self.items.encoded_len();
        if let Some(o) = out.get_mut(4..4 + n) {
            self.items.encode(o);
        }
    }
}

/// Checks that `body` holds exactly `count` whole chunks, in one walk that also tells whether
/// any chunk has a CNAME item.
#[inline(always)]
pub(super) fn check_chunks(count: usize, body: &[u8]) -> Option<bool> {
    let mut rest = body;
    let (mut n, mut cname) = (0, false);
    while !rest.is_empty() {
        let (_, len, has_cname) = SdesChunk::decode_cname(rest)?;
        rest = rest.get(len..)?;
        cname |= has_cname;
        n += 1;
    }
    (n == count).then_some(cname)
}

impl<'a> SourceDescription<'a> {
    /// An SDES with one chunk carrying only a CNAME.
    pub fn cname(ssrc: Ssrc, cname: &'a [u8]) -> Self {
        Self {
            chunks: List::Owned(vec![SdesChunk {
                ssrc,
                items: List::Owned(vec![SdesItem::Cname(cname)]),
            }]),
        }
    }

    pub(super) fn body_len(&self) -> usize {
        self.chunks.encoded_len()
    }

    pub(super) fn check(&self) -> Result<(), BuildError> {
        for c in self.chunks.as_slice().unwrap_or_default() {
            c.items
                .as_slice()
                .unwrap_or_default()
                .iter()
                .try_for_each(SdesItem::check)?;
        }
        Ok(())
    }

    pub(super) fn write_body(&self, out: &mut [u8]) {
        self.chunks.encode(out);
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The chunk walk as `SdesItem::decode` makes it, item by item: the reference for the
    /// octet-level walk of `decode_cname` and `cname`.
    fn decode_cname_by_items(b: &[u8]) -> Option<(usize, bool, Option<&[u8]>)> {
        u32_at(b, 0)?;
        let (mut at, mut cname, mut first) = (4, false, None);
        while *b.get(at)? != 0 {
            let (item, len) = SdesItem::decode(b.get(at..)?)?;
            if let SdesItem::Cname(c) = item {
                cname = true;
                first = first.or(Some(c));
            }
            at += len;
        }
        let end = (at + 1).next_multiple_of(4);
        (end <= b.len()).then_some((end, cname, first))
    }

    /// Octets where item types 0, 1, 8 and short lengths are common, so that chunks and
    /// PRIV items with good and bad prefix lengths turn up.
    fn octets() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            prop_oneof![Just(0u8), Just(1), Just(8), 0u8..6, any::<u8>()],
            0..40,
        )
    }

    proptest! {
        #[test]
        fn octet_walk_agrees_with_item_decode(b in octets()) {
            let ours = SdesChunk::decode_cname(&b).map(|(c, end, cname)| (end, cname, c));
            let reference = decode_cname_by_items(&b);
            prop_assert_eq!(ours.as_ref().map(|x| (x.0, x.1)), reference.map(|x| (x.0, x.1)));
            if let (Some((_, _, chunk)), Some((_, _, first))) = (ours, reference) {
                prop_assert_eq!(chunk.cname(), first);
            }
            // `cname` of any wire bytes (validated or not) finds what `iter()` finds.
            let items = b.get(4..).unwrap_or_default();
            let chunk = SdesChunk { ssrc: Ssrc(0), items: List::Wire(items) };
            let by_items = chunk.items.iter().find_map(|i| match i {
                SdesItem::Cname(c) => Some(c),
                _ => None,
            });
            prop_assert_eq!(chunk.cname(), by_items);
        }
    }

    #[test]
    fn priv_prefix_longer_than_its_value_is_malformed() {
        // Chunk: SSRC, PRIV of length 2 with a prefix length of 2 (one octet left), CNAME "a",
        // the null octet that ends it on a 32-bit boundary.
        let bad = [0, 0, 0, 1, 8, 2, 2, b'x', 1, 1, b'a', 0];
        assert!(check_chunks(1, &bad).is_none());
        let mut good = bad;
        good[6] = 1;
        assert_eq!(check_chunks(1, &good), Some(true));
        let (chunk, _) = SdesChunk::decode(&good).expect("one chunk");
        assert_eq!(chunk.cname(), Some(&b"a"[..]));
    }
}
