//! The `a=` lines of a description or media section: a compact list of spans.
//!
//! A parsed attribute is not copied or built: the list keeps the input buffer (shared, one
//! reference count per list) and, per line, a 16-byte entry with the offsets of its name
//! and value and the attribute's kind, found once by the parser's validation. Typed access
//! ([`crate::Rtpmap`], [`crate::Crypto`], [`crate::Media::ptime`]...) parses the value on
//! demand. Attributes added by the builder are written into a second, owned buffer, so
//! parsed and built lines mix in one list, in order.

use std::fmt;

use bytes::Bytes;

use crate::model::Attribute;

/// The attributes telox knows by name (validated by a strict parse, found by kind instead
/// of by string comparison).
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub(crate) enum Kind {
    Other,
    Candidate,
    Crypto,
    Extmap,
    Fingerprint,
    Fmtp,
    Group,
    IcePwd,
    IceUfrag,
    Inactive,
    Maxptime,
    Mid,
    Msid,
    Ptime,
    Recvonly,
    Rtcp,
    RtcpFb,
    RtcpMux,
    RtcpRsize,
    Rtpmap,
    Sendonly,
    Sendrecv,
    Setup,
    Ssrc,
}

impl Kind {
    /// The kind of attribute `name` (case-sensitive, RFC 8866 §5.13). Dispatches on the
    /// first byte so that only the names of one group are compared.
    #[inline]
    pub(crate) fn of(name: &str) -> Self {
        match name.as_bytes().first() {
            Some(b'c') => match name {
                "crypto" => Self::Crypto,
                "candidate" => Self::Candidate,
                _ => Self::Other,
            },
            Some(b'e') if name == "extmap" => Self::Extmap,
            Some(b'f') => match name {
                "fmtp" => Self::Fmtp,
                "fingerprint" => Self::Fingerprint,
                _ => Self::Other,
            },
            Some(b'g') if name == "group" => Self::Group,
            Some(b'i') => match name {
                "inactive" => Self::Inactive,
                "ice-ufrag" => Self::IceUfrag,
                "ice-pwd" => Self::IcePwd,
                _ => Self::Other,
            },
            Some(b'm') => match name {
                "maxptime" => Self::Maxptime,
                "mid" => Self::Mid,
                "msid" => Self::Msid,
                _ => Self::Other,
            },
            Some(b'p') if name == "ptime" => Self::Ptime,
            Some(b'r') => match name {
                "rtpmap" => Self::Rtpmap,
                "recvonly" => Self::Recvonly,
                "rtcp-mux" => Self::RtcpMux,
                "rtcp-rsize" => Self::RtcpRsize,
                "rtcp" => Self::Rtcp,
                "rtcp-fb" => Self::RtcpFb,
                _ => Self::Other,
            },
            Some(b's') => match name {
                "sendrecv" => Self::Sendrecv,
                "sendonly" => Self::Sendonly,
                "ssrc" => Self::Ssrc,
                "setup" => Self::Setup,
                _ => Self::Other,
            },
            _ => Self::Other,
        }
    }
}

/// No value: a flag attribute (`a=rtcp-mux`).
const FLAG: u32 = u32::MAX;

/// One line: `name` at `start..start + name_len` of its buffer, the value (if any) after
/// the `:` that follows it.
#[derive(Clone, Copy, Debug)]
struct Entry {
    start: u32,
    name_len: u32,
    value_len: u32,
    kind: Kind,
    /// In the owned buffer (a built line), else in the shared one (a parsed line).
    own: bool,
}

impl Entry {
    /// Where the value starts in its buffer: after the name and its `:`.
    #[inline]
    fn value_start(&self) -> usize {
        self.start as usize + self.name_len as usize + 1
    }
}

/// One `a=` line, borrowed from an [`Attributes`] list.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub struct AttributeRef<'a> {
    /// Attribute name.
    pub name: &'a str,
    /// Value after the first `:`; `None` for a flag attribute.
    pub value: Option<&'a str>,
}

impl<'a> AttributeRef<'a> {
    /// The value, `""` for a flag.
    pub fn value_str(&self) -> &'a str {
        self.value.unwrap_or_default()
    }

    /// An owned copy.
    pub fn to_owned(&self) -> Attribute {
        match self.value {
            Some(v) => Attribute::new(self.name, v),
            None => Attribute::flag(self.name),
        }
    }
}

/// The `a=` lines of a description or media section, in order (RFC 8866 §5.13).
///
/// Parsed lines are spans of the input (no copy, no per-line allocation or drop); lines
/// added with [`Attributes::push`] are written into an owned buffer. Iterate with
/// [`Attributes::iter`]; equality is that of the lines' text, whatever the storage.
#[derive(Clone, Default)]
pub struct Attributes {
    src: Bytes,
    own: String,
    entries: Vec<Entry>,
}

impl Attributes {
    /// An empty list.
    pub const fn new() -> Self {
        Self {
            src: Bytes::new(),
            own: String::new(),
            entries: Vec::new(),
        }
    }

    /// An empty list that parsed lines will be added to; the parser hands it the input
    /// with [`Attributes::set_source`] once the whole description has parsed (so that the
    /// last list takes the input without a reference-count round trip).
    #[inline]
    pub(crate) fn parsed(capacity: usize) -> Self {
        Self {
            src: Bytes::new(),
            own: String::new(),
            entries: Vec::with_capacity(capacity),
        }
    }

    /// Sets the buffer the parsed lines are spans of.
    pub(crate) fn set_source(&mut self, src: Bytes) {
        self.src = src;
    }

    /// An empty list for built lines, with room for `bytes` of text and `lines` lines.
    pub(crate) fn with_capacity(bytes: usize, lines: usize) -> Self {
        Self {
            src: Bytes::new(),
            own: String::with_capacity(bytes),
            entries: Vec::with_capacity(lines),
        }
    }

    /// The number of lines.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there is no line.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Line `index`.
    pub fn get(&self, index: usize) -> Option<AttributeRef<'_>> {
        self.entries.get(index).map(|e| self.view(e))
    }

    /// The lines in order.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            list: self,
            entries: self.entries.iter(),
        }
    }

    /// Appends a line.
    pub fn push(&mut self, attribute: impl Into<Attribute>) {
        let a = attribute.into();
        self.push_str(a.name.as_str(), a.value.as_ref().map(crate::Text::as_str));
    }

    /// Appends `a=<name>[:<value>]`.
    pub fn push_str(&mut self, name: &str, value: Option<&str>) {
        match value {
            Some(v) => self.push_with(name, |b| b.push_str(v)),
            None => self.push_flag(name),
        }
    }

    /// Appends the flag `a=<name>`.
    pub(crate) fn push_flag(&mut self, name: &str) {
        let start = self.own.len();
        self.own.push_str(name);
        self.push_own(name, start, FLAG);
    }

    /// Appends `a=<name>:<what write appends>`, written straight into the owned buffer.
    #[inline]
    pub(crate) fn push_with(&mut self, name: &str, write: impl FnOnce(&mut String)) {
        let start = self.own.len();
        self.own.push_str(name);
        self.own.push(':');
        let value_start = self.own.len();
        write(&mut self.own);
        let value_len = u32::try_from(self.own.len() - value_start).unwrap_or(FLAG - 1);
        self.push_own(name, start, value_len);
    }

    #[inline]
    fn push_own(&mut self, name: &str, start: usize, value_len: u32) {
        self.entries.push(Entry {
            // The owned buffer of a description stays far below 4 GiB; saturating keeps
            // an absurd one from panicking (its lines would then read as empty).
            start: u32::try_from(start).unwrap_or(u32::MAX),
            name_len: u32::try_from(name.len()).unwrap_or(0),
            value_len,
            kind: Kind::of(name),
            own: true,
        });
    }

    /// Appends a parsed line: `name` at `start` of the shared buffer, the value after
    /// `name` and a `:`. The parser checked that the offsets fit `u32`.
    pub(crate) fn push_parsed(
        &mut self,
        kind: Kind,
        start: u32,
        name_len: u32,
        value_len: Option<u32>,
    ) {
        self.entries.push(Entry {
            start,
            name_len,
            value_len: value_len.unwrap_or(FLAG),
            kind,
            own: false,
        });
    }

    /// Keeps only the lines for which `keep` returns true.
    pub fn retain(&mut self, mut keep: impl FnMut(AttributeRef<'_>) -> bool) {
        let Self { src, own, entries } = self;
        entries.retain(|e| keep(view(src, own, e)));
    }

    /// Removes every line.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.own.clear();
    }

    /// The value of the first line named `name` (`Some("")` for a flag).
    pub fn first(&self, name: &str) -> Option<&str> {
        let kind = Kind::of(name);
        self.entries
            .iter()
            .find(|e| e.kind == kind && (kind != Kind::Other || self.name_of(e) == name))
            .map(|e| self.value_of(e))
    }

    /// The values of the lines named `name`, in order.
    pub fn named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        let kind = Kind::of(name);
        self.entries
            .iter()
            .filter(move |e| e.kind == kind && (kind != Kind::Other || self.name_of(e) == name))
            .map(|e| self.value_of(e))
    }

    /// The values of the lines of a known kind, in order.
    pub(crate) fn of_kind(&self, kind: Kind) -> impl Iterator<Item = &str> + '_ {
        self.entries
            .iter()
            .filter(move |e| e.kind == kind)
            .map(|e| self.value_of(e))
    }

    /// The values of the lines of a known kind whose value bytes pass `test` (checked
    /// before the value is converted to text), in order.
    pub(crate) fn values_where<'a>(
        &'a self,
        kind: Kind,
        mut test: impl FnMut(&[u8]) -> bool + 'a,
    ) -> impl Iterator<Item = &'a str> + 'a {
        self.entries
            .iter()
            .filter(move |e| e.kind == kind && test(self.value_bytes(e)))
            .map(|e| self.value_of(e))
    }

    /// The kind and value of each line of kind `a` or `b`, in order. The parsed values
    /// become text through one UTF-8 check of the stretch of the input that holds them all,
    /// not one check each: on values of 5 to 40 bytes the check costs some 100
    /// instructions a call, and offer/answer reads every rtpmap and fmtp of both
    /// descriptions this way.
    pub(crate) fn of_kinds(&self, a: Kind, b: Kind) -> impl Iterator<Item = (Kind, &str)> + '_ {
        let picked = move |e: &&Entry| e.kind == a || e.kind == b;
        let stretch = self.parsed_stretch(picked);
        self.entries
            .iter()
            .filter(picked)
            .map(move |e| (e.kind, self.value_in(e, stretch)))
    }

    /// The input from the first to the end of the last parsed value of the lines `picked`
    /// takes, as text, and where it starts (`None` when there is none, or it is not text).
    fn parsed_stretch(&self, picked: impl Fn(&&Entry) -> bool) -> Option<(usize, &str)> {
        let (mut from, mut to) = (usize::MAX, 0);
        for e in self
            .entries
            .iter()
            .filter(|e| !e.own && e.value_len != FLAG)
        {
            if picked(&e) {
                let start = e.value_start();
                from = from.min(start);
                to = to.max(start + e.value_len as usize);
            }
        }
        let text = std::str::from_utf8(self.src.get(from..to)?).ok()?;
        Some((from, text))
    }

    /// The value of a line, `""` for a flag, cut from `stretch` (see
    /// [`Attributes::parsed_stretch`]) when it lies there, else as [`Attributes::value_of`].
    fn value_in<'a>(&'a self, e: &Entry, stretch: Option<(usize, &'a str)>) -> &'a str {
        if e.value_len == FLAG {
            return "";
        }
        let start = e.value_start();
        if !e.own
            && let Some((from, text)) = stretch
            && let Some(v) = text
                .get(start.wrapping_sub(from)..)
                .and_then(|t| t.get(..e.value_len as usize))
        {
            return v;
        }
        self.value_of(e)
    }

    /// Whether a line of a known kind is present.
    pub(crate) fn has_kind(&self, kind: Kind) -> bool {
        self.entries.iter().any(|e| e.kind == kind)
    }

    /// Whether a line named `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.first(name).is_some()
    }

    /// The direction attribute of the list (the last one wins), if any.
    pub(crate) fn direction(&self) -> Option<crate::Direction> {
        use crate::Direction;
        self.entries.iter().rev().find_map(|e| {
            if e.value_len != FLAG {
                return None;
            }
            match e.kind {
                Kind::Sendrecv => Some(Direction::SendRecv),
                Kind::Sendonly => Some(Direction::SendOnly),
                Kind::Recvonly => Some(Direction::RecvOnly),
                Kind::Inactive => Some(Direction::Inactive),
                _ => None,
            }
        })
    }

    /// Each line's text without `a=` and line end (`name[:value]`), for the serializer.
    pub(crate) fn lines(&self) -> impl Iterator<Item = &[u8]> {
        self.entries.iter().map(|e| {
            let len = e.name_len as usize
                + if e.value_len == FLAG {
                    0
                } else {
                    1 + e.value_len as usize
                };
            let start = e.start as usize;
            self.buf(e).get(start..start + len).unwrap_or_default()
        })
    }

    fn view<'a>(&'a self, e: &Entry) -> AttributeRef<'a> {
        view(&self.src, &self.own, e)
    }

    fn buf(&self, e: &Entry) -> &[u8] {
        if e.own {
            self.own.as_bytes()
        } else {
            &self.src[..]
        }
    }

    /// The name of a line (converted alone: lookups by kind never need it).
    fn name_of(&self, e: &Entry) -> &str {
        let start = e.start as usize;
        text(self.buf(e), start, start + e.name_len as usize)
    }

    /// The value of a line, `""` for a flag.
    fn value_of(&self, e: &Entry) -> &str {
        if e.own {
            // Owned text is a `String`: a cut at the line's ASCII delimiters needs no UTF-8
            // check.
            let start = e.value_start();
            if e.value_len == FLAG {
                return "";
            }
            return self
                .own
                .get(start..)
                .and_then(|v| v.get(..e.value_len as usize))
                .unwrap_or_default();
        }
        std::str::from_utf8(self.value_bytes(e)).unwrap_or_default()
    }

    /// The value bytes of a line, empty for a flag.
    fn value_bytes(&self, e: &Entry) -> &[u8] {
        if e.value_len == FLAG {
            return &[];
        }
        let start = e.value_start();
        self.buf(e)
            .get(start..start + e.value_len as usize)
            .unwrap_or_default()
    }
}

fn view<'a>(src: &'a Bytes, own: &'a str, e: &Entry) -> AttributeRef<'a> {
    let buf = if e.own { own.as_bytes() } else { &src[..] };
    let start = e.start as usize;
    let name_end = start + e.name_len as usize;
    let name = text(buf, start, name_end);
    let value =
        (e.value_len != FLAG).then(|| text(buf, name_end + 1, name_end + 1 + e.value_len as usize));
    AttributeRef { name, value }
}

/// `buf[start..end]` as text. Lines are cut at ASCII delimiters of input the parser checked
/// to be UTF-8 (or of owned text), so the fallback to "" is never taken.
fn text(buf: &[u8], start: usize, end: usize) -> &str {
    buf.get(start..end)
        .and_then(|b| std::str::from_utf8(b).ok())
        .unwrap_or_default()
}

/// Iterator of [`Attributes::iter`].
#[derive(Clone, Debug)]
pub struct Iter<'a> {
    list: &'a Attributes,
    entries: std::slice::Iter<'a, Entry>,
}

impl<'a> Iterator for Iter<'a> {
    type Item = AttributeRef<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        self.entries.next().map(|e| self.list.view(e))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.entries.size_hint()
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.entries.next_back().map(|e| self.list.view(e))
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl<'a> IntoIterator for &'a Attributes {
    type Item = AttributeRef<'a>;
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl<A: Into<Attribute>> Extend<A> for Attributes {
    fn extend<T: IntoIterator<Item = A>>(&mut self, iter: T) {
        for a in iter {
            self.push(a);
        }
    }
}

impl<A: Into<Attribute>> FromIterator<A> for Attributes {
    fn from_iter<T: IntoIterator<Item = A>>(iter: T) -> Self {
        let mut list = Self::new();
        list.extend(iter);
        list
    }
}

impl From<Vec<Attribute>> for Attributes {
    fn from(v: Vec<Attribute>) -> Self {
        v.into_iter().collect()
    }
}

impl PartialEq for Attributes {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Attributes {}

impl fmt::Debug for Attributes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::{Attributes, Kind};
    use crate::model::Attribute;

    #[test]
    fn kinds_are_found_by_exact_name() {
        for (name, kind) in [
            ("rtpmap", Kind::Rtpmap),
            ("rtcp", Kind::Rtcp),
            ("rtcp-mux", Kind::RtcpMux),
            ("crypto", Kind::Crypto),
            ("sendrecv", Kind::Sendrecv),
            ("ssrc", Kind::Ssrc),
            ("Rtpmap", Kind::Other),
            ("rtpmapx", Kind::Other),
            ("", Kind::Other),
            ("x-foo", Kind::Other),
        ] {
            assert_eq!(Kind::of(name), kind, "{name}");
        }
    }

    #[test]
    fn built_lists_read_back_edit_and_compare_by_text() {
        let mut a = Attributes::new();
        a.push(Attribute::new("rtpmap", "0 PCMU/8000"));
        a.push(Attribute::flag("rtcp-mux"));
        a.push_str("x-foo", Some(""));
        a.push(Attribute::new("x-bar", "1:2"));
        assert_eq!(a.len(), 4);
        assert_eq!(a.first("rtpmap"), Some("0 PCMU/8000"));
        assert_eq!(a.first("rtcp-mux"), Some(""));
        assert_eq!(a.first("x-foo"), Some(""));
        assert_eq!(a.get(2).unwrap().value, Some(""));
        assert_eq!(a.get(1).unwrap().value, None);
        assert_eq!(a.first("x-bar"), Some("1:2"));
        assert!(a.contains("x-bar") && !a.contains("x-baz"));
        let lines: Vec<&[u8]> = a.lines().collect();
        assert_eq!(
            lines,
            [
                &b"rtpmap:0 PCMU/8000"[..],
                b"rtcp-mux",
                b"x-foo:",
                b"x-bar:1:2"
            ]
        );
        let copy: Attributes = a.iter().map(|r| r.to_owned()).collect();
        assert_eq!(copy, a);
        a.retain(|r| r.name != "rtcp-mux");
        assert_eq!(a.len(), 3);
        assert_ne!(copy, a);
        assert_eq!(a.iter().next_back().unwrap().name, "x-bar");
        a.clear();
        assert!(a.is_empty());
    }
}
