//! Owned builders: requests from scratch, responses from requests (RFC 3261 §8.2.6).

use bytes::Bytes;

use super::{Headers, Index, Method, Request, Response, Slot, Span, StatusCode};
use crate::error::{BuildError, HeaderError};
use crate::header::{CSeq, Header, HeaderName, MaxForwards, To, Via, check_call_id};
use crate::msg::scan;
use crate::uri::Uri;

/// Where a builder line's name or value text lies.
#[derive(Clone, Copy, Debug)]
enum Text {
    /// A well-known name.
    Static(&'static str),
    /// A range of the message the builder was made from (`Lines::src`).
    Src(Span),
    /// A range of the builder's own buffer (`Lines::own`).
    Own(Span),
}

/// One header line being assembled.
#[derive(Clone, Copy, Debug)]
struct Line {
    name: Text,
    value: Text,
    /// `HeaderName::kind` of the name (0 for an extension header).
    kind: u8,
}

/// Header lines and body being assembled.
///
/// Nothing is copied per line: lines taken over from a parsed message are ranges of its
/// buffer, typed headers are written once (bytes, no `fmt`) into one growing buffer of the
/// builder, and [`Lines::write_into`] copies everything once into an exactly pre-sized message.
#[derive(Clone, Debug, Default)]
struct Lines {
    lines: Vec<Line>,
    src: Bytes,
    own: Vec<u8>,
    body: Bytes,
}

/// Header lines a typical message has: the line list is allocated once.
const LINES_CAPACITY: usize = 12;

impl Lines {
    fn text(&self, t: Text) -> &[u8] {
        match t {
            Text::Static(s) => s.as_bytes(),
            Text::Src(span) => self.src.get(span.range()).unwrap_or_default(),
            Text::Own(span) => self.own.get(span.range()).unwrap_or_default(),
        }
    }

    /// A line of `name` whose value `write` appends to the builder's buffer.
    fn line(&mut self, name: HeaderName, write: impl FnOnce(&mut Vec<u8>)) -> Line {
        if self.own.capacity() == 0 {
            self.own.reserve(256);
        }
        let start = self.own.len();
        write(&mut self.own);
        Line {
            name: Text::Static(name.as_str()),
            value: Text::Own(Span::new(start, self.own.len())),
            kind: name.kind(),
        }
    }

    fn typed<H: Header>(&mut self, h: &H) -> Line {
        self.line(H::NAME, |out| h.write_value(out))
    }

    fn own_text(&mut self, text: &[u8]) -> Text {
        let start = self.own.len();
        self.own.extend_from_slice(text);
        Text::Own(Span::new(start, self.own.len()))
    }

    /// A caller's line, checked by [`check_raw`].
    fn raw(&mut self, name: &str, value: &str, kind: u8) -> Line {
        Line {
            name: self.own_text(name.as_bytes()),
            value: self.own_text(value.as_bytes()),
            kind,
        }
    }

    fn from_headers(h: &Headers) -> Self {
        let entries = h.entries();
        let mut lines = Vec::with_capacity(entries.len().max(LINES_CAPACITY));
        lines.extend(
            entries
                .filter(|e| e.kind != HeaderName::ContentLength.kind())
                .map(|e| Line {
                    name: Text::Src(e.name(h.raw_bytes())),
                    value: Text::Src(e.value),
                    kind: e.kind,
                }),
        );
        Self {
            lines,
            src: h.raw_bytes().clone(),
            own: Vec::new(),
            body: h.body_bytes(),
        }
    }

    fn push(&mut self, line: Line) {
        if self.lines.capacity() == 0 {
            self.lines.reserve(LINES_CAPACITY);
        }
        self.lines.push(line);
    }

    fn remove(&mut self, which: HeaderName) {
        let kind = which.kind();
        self.lines.retain(|l| l.kind != kind);
    }

    fn set(&mut self, line: Line) {
        match self.lines.iter().position(|l| l.kind == line.kind) {
            Some(i) => {
                self.lines.retain(|l| l.kind != line.kind);
                self.lines.insert(i.min(self.lines.len()), line);
            }
            None => self.push(line),
        }
    }

    /// Bytes [`Lines::write_into`] and [`Direct::finish`] append (the Content-Length value at
    /// most 20 digits).
    fn encoded_len(&self) -> usize {
        let lines: usize = self
            .lines
            .iter()
            .map(|l| self.text(l.name).len() + self.text(l.value).len() + 4)
            .sum();
        lines + "Content-Length: \r\n\r\n".len() + 20 + self.body.len()
    }

    /// Appends the header lines to `d` as a direct draft appends them, and gives it the body.
    fn write_into(self, d: &mut Direct) {
        for line in &self.lines {
            d.append(self.text(line.name), line.kind, |out| {
                out.extend_from_slice(self.text(line.value));
            });
        }
        d.body = self.body;
    }

    /// [`ResponseBuilder::to_tag`] on lines (any form of To).
    fn add_to_tag(&mut self, tag: &str) {
        let Some(i) = self.lines.iter().position(|l| l.kind == TO) else {
            return;
        };
        let Some(line) = self.lines.get(i).copied() else {
            return;
        };
        // The common case is told from the bytes: the value is copied as written (§8.2.6.2
        // asks for the request's To plus a tag, not a canonical form) with `;tag=` appended.
        match tag_state(self.text(line.value)) {
            Some(true) => return,
            Some(false) => {
                let start = self.own.len();
                self.own
                    .reserve(self.text(line.value).len() + ";tag=".len() + tag.len());
                match line.value {
                    Text::Src(span) => {
                        let value = self.src.get(span.range()).unwrap_or_default();
                        self.own.extend_from_slice(scan::trim_lws(value));
                    }
                    other => {
                        let value = scan::trim_lws(self.text(other)).to_vec();
                        self.own.extend_from_slice(&value);
                    }
                }
                self.own.extend_from_slice(b";tag=");
                self.own.extend_from_slice(tag.as_bytes());
                if let Some(l) = self.lines.get_mut(i) {
                    l.value = Text::Own(Span::new(start, self.own.len()));
                }
                return;
            }
            None => {}
        }
        let value = match line.value {
            Text::Src(span) => self.src.slice(span.range()),
            other => Bytes::copy_from_slice(self.text(other)),
        };
        if let Ok(to) = To::parse(&value)
            && to.tag().is_none()
        {
            // The tag goes last: the canonical form of `to` followed by `;tag=...` is what
            // `to.set_tag(tag)` would write, without rebuilding its parameters.
            let start = self.own.len();
            to.write_value(&mut self.own);
            self.own.extend_from_slice(b";tag=");
            self.own.extend_from_slice(tag.as_bytes());
            if let Some(l) = self.lines.get_mut(i) {
                l.value = Text::Own(Span::new(start, self.own.len()));
            }
        }
    }
}

/// Writes the Content-Length line, the empty line and the body; returns where the body
/// starts.
#[inline]
fn end_head(out: &mut Vec<u8>, index: &mut Index, body: &[u8]) -> u32 {
    let ns = out.len();
    if body.is_empty() {
        out.extend_from_slice(b"Content-Length: 0\r\n\r\n");
        index.push(ns, ns + 16, ns + 17, CONTENT_LENGTH);
        return Span::new(out.len(), out.len()).start;
    }
    out.extend_from_slice(b"Content-Length: ");
    let vs = out.len();
    scan::put_u64(out, u64::try_from(body.len()).unwrap_or(u64::MAX));
    let ve = out.len();
    out.extend_from_slice(b"\r\n\r\n");
    index.push(ns, vs, ve, CONTENT_LENGTH);
    let body_start = Span::new(out.len(), out.len()).start;
    out.extend_from_slice(body);
    body_start
}

/// Replaces CR, LF and NUL by spaces: none may reach the wire inside a value from a builder.
#[inline]
fn clean(value: &mut [u8]) {
    if may_hold_ctl(value) {
        for c in value.iter_mut() {
            if matches!(*c, b'\r' | b'\n' | 0) {
                *c = b' ';
            }
        }
    }
}

/// Whether `v` holds a byte below 0x0e (CR, LF and NUL among them), eight bytes per step
/// (the "has less than" word test; a tab also answers yes, the caller then looks closer).
fn may_hold_ctl(v: &[u8]) -> bool {
    any_word(v, below_0e)
}

/// Whether `v` holds a CR, LF or NUL (a value no builder writes as it is).
#[inline]
fn holds_crlf_nul(v: &[u8]) -> bool {
    may_hold_ctl(v) && v.iter().any(|&c| matches!(c, b'\r' | b'\n' | 0))
}

/// Whether the line of `raw` whose name starts at `ns` and whose value is `vs..ve` is
/// written as a built message writes it, byte for byte: the bytes from the name to the
/// value are exactly the canonical `name` and `": "` (so the parsed name is that long), the
/// value ends at CRLF and starts with no LWS. An empty value passes: its copy is the same
/// bytes as its append. The value's own bytes are not checked ([`holds_crlf_nul`]).
#[inline]
fn verbatim_line(raw: &[u8], name: &[u8], ns: usize, vs: usize, ve: usize) -> bool {
    raw.get(ns..vs)
        .is_some_and(|n| n.strip_suffix(b": ") == Some(name))
        && raw.get(ve..ve + 2) == Some(b"\r\n")
        && raw
            .get(vs..ve)
            .is_some_and(|v| !v.first().is_some_and(|&c| scan::is_lws(c)))
}

/// Cleans the value written at `vs..` and trims LWS from both ends (a control at an end
/// is trimmed as the space it became, so the index agrees with a parse of the bytes, and
/// finishing a value twice changes nothing); returns its end.
#[inline]
fn finish_value(out: &mut Vec<u8>, vs: usize) -> usize {
    clean(out.get_mut(vs..).unwrap_or_default());
    let value = out.get(vs..).unwrap_or_default();
    let trimmed = scan::trim_lws(value);
    if trimmed.len() != value.len() {
        let from = vs + scan::offset_in(value, trimmed);
        let len = trimmed.len();
        out.copy_within(from..from + len, vs);
        out.truncate(vs + len);
    }
    out.len()
}

/// A message under construction.
///
/// Appending header lines in order, which is how a transaction user builds a request or
/// answers one, writes each line straight into the message ([`Direct`]); any other edit
/// (prepend, replace, remove, a new start line) first turns the message into [`Lines`].
///
/// A response to a request starts as a [`Reply`]: the request's lines to copy, written
/// only at `build` (or turned into a direct draft by any edit other than the To tag).
#[derive(Clone, Debug)]
enum Draft {
    Direct(Direct),
    Lines(Lines),
    Reply(Reply),
}

impl Draft {
    /// Writes a reply out as a direct draft (any other form stays as it is).
    #[inline]
    fn settle(&mut self) {
        if let Self::Reply(r) = self {
            *self = Self::Direct(r.write(REPLY_ROOM));
        }
    }

    /// Runs `edit` on the lines form, converting a direct draft first.
    fn with_lines<R>(&mut self, edit: impl FnOnce(&mut Lines) -> R) -> R {
        self.settle();
        if let Self::Direct(d) = self {
            let d = std::mem::replace(d, Direct::new(0));
            *self = Self::Lines(d.into_lines());
        }
        match self {
            Self::Lines(l) => edit(l),
            // converted just above; an empty lines form keeps this total without a panic
            Self::Direct(_) | Self::Reply(_) => edit(&mut Lines::default()),
        }
    }

    #[inline]
    fn typed<H: Header>(&mut self, h: &H) {
        self.push_line(H::NAME, |out| h.write_value(out));
    }

    /// Appends a line of `name` whose value `write` writes.
    #[inline]
    fn push_line(&mut self, name: HeaderName, write: impl FnOnce(&mut Vec<u8>)) {
        self.settle();
        match self {
            Self::Direct(d) => {
                d.append(name.as_str().as_bytes(), name.kind(), write);
            }
            Self::Lines(l) => {
                let line = l.line(name, write);
                l.push(line);
            }
            // settled just above
            Self::Reply(_) => {}
        }
    }

    fn set_body(&mut self, body: Bytes) {
        self.settle();
        match self {
            Self::Direct(d) => d.body = body,
            Self::Lines(l) => l.body = body,
            // settled just above
            Self::Reply(_) => {}
        }
    }

    /// The direct draft of a reply or a direct draft; a lines draft written out with the
    /// start line `start` makes.
    #[inline]
    fn into_direct(self, start: impl FnOnce(usize) -> Direct) -> Direct {
        match self {
            Self::Direct(d) => d,
            Self::Reply(r) => r.write(0),
            Self::Lines(lines) => {
                let mut d = start(lines.encoded_len());
                lines.write_into(&mut d);
                d
            }
        }
    }
}

/// A response to a request before it is written (RFC 3261 §8.2.6.2): the request's Via,
/// From, To, Call-ID and CSeq lines (and a 100's Timestamp) as ranges of its bytes, and the
/// To tag to add. Every line is one the response writes byte for byte as the request wrote
/// it (canonical name, `": "`, the value, CRLF; no control byte), so `write` copies the
/// runs of adjacent lines and the tag in one pass into a buffer sized once, and indexes
/// them from the ranges: no value is scanned again, nothing moves after it is written.
#[derive(Clone, Debug)]
struct Reply {
    status: StatusCode,
    src: Bytes,
    /// The copied lines in order, as the request's index holds them.
    lines: [Slot; REPLY_LINES],
    len: u8,
    /// The To tag to append to the first To value ([`ResponseBuilder::to_tag`]); none
    /// while `tag_len` is 0.
    tag: [u8; REPLY_TAG],
    tag_len: u8,
}

impl Reply {
    /// The reply to `req` when every line `copied` takes is written as the response writes
    /// it, at most [`REPLY_LINES`] of them; `None` sends the caller to a direct draft.
    #[inline]
    fn new(req: &Request, status: StatusCode, copied: impl Fn(u8) -> bool) -> Option<Self> {
        let Index::Inline { len, items } = &req.head.index else {
            return None;
        };
        let raw = req.head.raw_bytes();
        let mut r = Self {
            status,
            src: Bytes::new(),
            lines: [Slot::default(); REPLY_LINES],
            len: 0,
            tag: [0; REPLY_TAG],
            tag_len: 0,
        };
        for s in items
            .get(..usize::from(*len))?
            .iter()
            .filter(|s| copied(s.kind))
        {
            let name = HeaderName::from_kind(s.kind)?.as_str().as_bytes();
            let (ns, vs, ve) = (
                usize::from(s.name_start()),
                usize::from(s.value_start),
                usize::from(s.value_end),
            );
            // the line is written as the response writes it and the value holds no CR, LF
            // or NUL (a folded line is not copied as it is: the direct draft unfolds it)
            let value = raw.get(vs..ve)?;
            if !verbatim_line(raw, name, ns, vs, ve) || holds_crlf_nul(value) {
                return None;
            }
            *r.lines.get_mut(usize::from(r.len))? = *s;
            r.len += 1;
        }
        r.src = raw.clone();
        Some(r)
    }

    fn lines(&self) -> &[Slot] {
        self.lines.get(..usize::from(self.len)).unwrap_or_default()
    }

    /// The first To value.
    fn to_value(&self) -> Option<&[u8]> {
        let s = self.lines().iter().find(|s| s.kind == TO)?;
        self.src
            .get(usize::from(s.value_start)..usize::from(s.value_end))
    }

    /// [`ResponseBuilder::to_tag`] where the bytes tell: `false` when a direct draft must
    /// decide (as [`Direct::add_to_tag`], or a tag longer than [`REPLY_TAG`]).
    #[inline]
    fn add_to_tag(&mut self, tag: &str) -> bool {
        if self.tag_len > 0 {
            return true;
        }
        let Some(value) = self.to_value() else {
            return true;
        };
        match tag_to_add(value, tag) {
            Some(false) => true,
            Some(true) => {
                let Some(room) = self.tag.get_mut(..tag.len()) else {
                    return false;
                };
                room.copy_from_slice(tag.as_bytes());
                // exact: the tag fit in `tag`, `REPLY_TAG` (32) bytes
                self.tag_len = tag.len() as u8;
                true
            }
            None => false,
        }
    }

    /// The response's start line and lines, with room for `room` more bytes besides the
    /// Content-Length line `Direct::finish` writes.
    #[inline]
    fn write(&self, room: usize) -> Direct {
        let src: &[u8] = &self.src;
        let tag = self
            .tag
            .get(..usize::from(self.tag_len))
            .unwrap_or_default();
        let add = if tag.is_empty() {
            0
        } else {
            ";tag=".len() + tag.len()
        };
        let lines = self.lines();
        let size: usize = lines
            .iter()
            .map(|s| usize::from(s.value_end) + 2 - usize::from(s.name_start()))
            .sum();
        let finish = "Content-Length: \r\n\r\n".len() + 20 - "Content-Length: 0\r\n\r\n".len();
        let mut d = status_line(self.status, None, size + add + finish + room);
        // `run` is a range of `src` not yet copied: it goes to the end of `out`
        let mut run = (0, 0);
        let mut tagged = tag.is_empty();
        for s in lines {
            let (ns, vs, ve) = (
                usize::from(s.name_start()),
                usize::from(s.value_start),
                usize::from(s.value_end),
            );
            if run.1 != ns {
                d.copy_run(src, Some(run));
                run = (ns, ns);
            }
            let at = |x: usize| d.out.len() + x - run.0;
            if !tagged && s.kind == TO {
                tagged = true;
                d.index.push(at(ns), at(vs), at(ve) + add, TO);
                d.out
                    .extend_from_slice(src.get(run.0..ve).unwrap_or_default());
                d.out.extend_from_slice(b";tag=");
                d.out.extend_from_slice(tag);
                run = (ve, ve + 2);
            } else {
                d.index.push(at(ns), at(vs), at(ve), s.kind);
                run.1 = ve + 2;
            }
        }
        d.copy_run(src, Some(run));
        d
    }
}

/// A message whose header lines were all appended in order: `out` already holds its start
/// line and header lines as they will be sent, `index` indexes them.
#[derive(Clone, Debug)]
struct Direct {
    out: Vec<u8>,
    index: Index,
    /// The Request-URI or the reason phrase in `out`.
    mark: Span,
    body: Bytes,
    /// The branch of the top Via in `out`, when `push_via` wrote that line (see
    /// `Headers::built_via_branch`); not carried into the lines form.
    built_branch: [u16; 2],
}

impl Direct {
    #[inline]
    fn new(capacity: usize) -> Self {
        Self {
            out: Vec::with_capacity(capacity),
            index: Index::new(),
            mark: Span::default(),
            built_branch: [0, 0],
            body: Bytes::new(),
        }
    }

    /// Appends `name: value CRLF`, the value written by `value`, cleaned and trimmed
    /// ([`finish_value`]: a folded value copied from a parsed message is unfolded; CR/LF/NUL
    /// cannot reach the wire from a builder). Content-Length is left out: `finish` writes it
    /// from the body.
    ///
    /// Returns where the value ends in `out` (0 for Content-Length, which is not written).
    #[inline]
    fn append(&mut self, name: &[u8], kind: u8, value: impl FnOnce(&mut Vec<u8>)) -> usize {
        if kind == CONTENT_LENGTH {
            return 0;
        }
        self.append_clean(name, kind, |out| {
            let vs = out.len();
            value(out);
            finish_value(out, vs);
        })
    }

    /// [`Direct::append`] of a value the caller has proved clean and trimmed (no CR, LF or
    /// NUL, no LWS at either end: checked tokens, words and digits), so [`finish_value`]
    /// would change nothing and is not run. Returns where the value ends in `out`.
    #[inline]
    fn append_clean(&mut self, name: &[u8], kind: u8, value: impl FnOnce(&mut Vec<u8>)) -> usize {
        let ns = self.out.len();
        self.out.extend_from_slice(name);
        self.out.extend_from_slice(b": ");
        let vs = self.out.len();
        value(&mut self.out);
        let ve = self.out.len();
        self.out.extend_from_slice(b"\r\n");
        self.index.push(ns, vs, ve, kind);
        ve
    }

    /// Copies `run`, a range of whole lines of `src` already indexed, to the end of `out`.
    #[inline]
    fn copy_run(&mut self, src: &[u8], run: Option<(usize, usize)>) {
        if let Some((start, end)) = run {
            self.out
                .extend_from_slice(src.get(start..end).unwrap_or_default());
        }
    }

    /// The same lines as ranges of the written bytes (the start line stays unused).
    fn into_lines(self) -> Lines {
        let mut lines = Vec::with_capacity(self.index.len().max(LINES_CAPACITY));
        lines.extend(self.index.iter().map(|e| Line {
            name: Text::Own(e.name(&self.out)),
            value: Text::Own(e.value),
            kind: e.kind,
        }));
        Lines {
            lines,
            src: Bytes::new(),
            own: self.out,
            body: self.body,
        }
    }

    /// Ends the header section and adds the body.
    #[inline]
    fn finish(mut self) -> Headers {
        // The buffer was sized by an estimate, and a transaction keeps the message for
        // retransmission: what is missing is added exactly, and a large spare is given back
        // (a small one costs less memory than the reallocation costs time).
        let need = "Content-Length: \r\n\r\n".len() + 20 + self.body.len();
        if self.out.capacity() - self.out.len() < need {
            self.out.reserve_exact(need);
        }
        let body_start = end_head(&mut self.out, &mut self.index, &self.body);
        if self.out.capacity() - self.out.len() > SPARE_MAX {
            self.out.shrink_to_fit();
        }
        Headers {
            raw: Bytes::from(self.out),
            index: self.index,
            body_start,
            built_branch: self.built_branch,
        }
    }

    /// [`ResponseBuilder::to_tag`] where the bytes tell: `false` when the lines form must
    /// decide (a To the simple reading cannot judge, or a tag with whitespace or controls,
    /// which the lines form trims and cleans).
    #[inline]
    fn add_to_tag(&mut self, tag: &str) -> bool {
        let Some((i, e)) = self.index.find(0, TO) else {
            return true;
        };
        let value = self.out.get(e.value.range()).unwrap_or_default();
        match tag_to_add(value, tag) {
            Some(false) => true,
            Some(true) => {
                let at = e.value.end as usize;
                let add = ";tag=".len() + tag.len();
                let old = self.out.len();
                if self.out.capacity() - old < add {
                    self.out.reserve_exact(add);
                }
                self.out.resize(old + add, 0);
                self.out.copy_within(at..old, at + add);
                if let Some(gap) = self.out.get_mut(at..at + add) {
                    let (head, rest) = gap.split_at_mut(";tag=".len());
                    head.copy_from_slice(b";tag=");
                    rest.copy_from_slice(tag.as_bytes());
                }
                self.index.widen(i, add);
                true
            }
            None => false,
        }
    }
}

/// Whether `;tag=<tag>` is appended to the To value `to` as written, where the bytes tell:
/// `Some(false)` when it has a tag already, `None` when the lines form must decide (a To the
/// simple reading cannot judge, or a tag with whitespace or controls, which the lines form
/// trims and cleans).
#[inline]
fn tag_to_add(to: &[u8], tag: &str) -> Option<bool> {
    let state = if bare_addr(to) {
        Some(false)
    } else {
        tag_state(to)
    };
    match state {
        Some(true) => Some(false),
        Some(false) if !tag.bytes().any(|c| scan::is_lws(c) || c == 0) => Some(true),
        _ => None,
    }
}

/// Whether a From/To value carries a `tag` header parameter, when the bytes alone tell
/// (RFC 3261 §20.20, §25.1): no quoted display name, no folding, at most one `<...>` with
/// the header parameters after it (or, without `<`, after the first `;`). `None` for any
/// other form, which is then parsed as a typed header.
fn tag_state(value: &[u8]) -> Option<bool> {
    if value
        .iter()
        .any(|&c| matches!(c, b'"' | b'\r' | b'\n' | b'\\'))
    {
        return None;
    }
    let params = match scan::find_byte(value, b'<') {
        Some(lt) => {
            let rest = value.get(lt + 1..)?;
            let gt = scan::find_byte(rest, b'>')?;
            rest.get(gt + 1..)?
        }
        None => {
            scan::find_byte(value, b';').map_or(&[][..], |i| value.get(i..).unwrap_or_default())
        }
    };
    if params.iter().any(|&c| matches!(c, b'<' | b'>')) {
        return None;
    }
    Some(params.split(|&c| c == b';').any(|param| {
        let name =
            scan::find_byte(param, b'=').map_or(param, |eq| param.get(..eq).unwrap_or_default());
        name.trim_ascii().eq_ignore_ascii_case(b"tag")
    }))
}

/// Whether `value` is `<...>` with no other `>`, no `"`, `\\`, CR or LF: the To of a new
/// request, which [`tag_state`] answers `Some(false)` for, told with word-at-a-time scans.
fn bare_addr(value: &[u8]) -> bool {
    let [b'<', inner @ .., b'>'] = value else {
        return false;
    };
    !any_word(inner, |w| {
        below_0e(w)
            | zero_byte(w ^ splat(b'>'))
            | zero_byte(w ^ splat(b'"'))
            | zero_byte(w ^ splat(b'\\'))
    })
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// `b` in every byte of a word.
#[inline(always)]
const fn splat(b: u8) -> u64 {
    ONES * b as u64
}

/// With [`HIGH`]: non-zero iff a byte of `w` is below 0x0e (the "has less than" word test:
/// the lowest such byte is marked; a borrow may also mark a byte above it).
#[inline(always)]
fn below_0e(w: u64) -> u64 {
    w.wrapping_sub(ONES * 0x0e) & !w
}

/// With [`HIGH`]: non-zero iff a byte of `w` is zero ([`below_0e`] for 1; XOR `w` with a
/// repeated byte first to find that byte).
#[inline(always)]
fn zero_byte(w: u64) -> u64 {
    w.wrapping_sub(ONES) & !w
}

/// Whether `test` marks a byte of `v` (in the high bit, [`HIGH`]), read eight bytes per step
/// (a short `v` is padded with 0xff, which no test marks; the tail is read as the last eight
/// bytes, overlapping).
#[inline(always)]
fn any_word(v: &[u8], test: impl Fn(u64) -> u64) -> bool {
    let word = |c: &[u8]| u64::from_le_bytes(c.try_into().unwrap_or([0xff; 8]));
    if v.len() < 8 {
        // shifted in one by one over 0xff bytes (no copy call for a few bytes)
        let w = v.iter().fold(u64::MAX, |w, &c| w << 8 | u64::from(c));
        return test(w) & HIGH != 0;
    }
    let mut acc = 0;
    let mut chunks = v.chunks_exact(8);
    for c in &mut chunks {
        acc |= test(word(c));
    }
    acc |= test(word(v.get(v.len() - 8..).unwrap_or_default()));
    acc & HIGH != 0
}

macro_rules! header_methods {
    () => {
        /// Appends a typed header line.
        #[must_use]
        #[inline]
        pub fn header<H: Header>(mut self, h: H) -> Self {
            self.draft.typed(&h);
            self
        }

        /// Appends a typed header line (in place).
        #[inline]
        pub fn push_header<H: Header>(&mut self, h: H) -> &mut Self {
            self.draft.typed(&h);
            self
        }

        /// Appends a typed header line from a borrowed value: what [`Self::push_header`]
        /// writes, without moving or cloning the value (a UA keeps its From and To for every
        /// request of a dialog).
        #[inline]
        pub fn push_header_ref<H: Header>(&mut self, h: &H) -> &mut Self {
            self.draft.typed(h);
            self
        }

        /// Inserts a typed header line before all others (e.g. a proxy's Via, §16.6).
        pub fn prepend_header<H: Header>(&mut self, h: H) -> &mut Self {
            self.draft.with_lines(|l| {
                let line = l.typed(&h);
                l.lines.insert(0, line);
            });
            self
        }

        /// Replaces every line of `H` with one line holding `h`, in the place of the first.
        pub fn set_header<H: Header>(&mut self, h: H) -> &mut Self {
            self.draft.settle();
            if let Draft::Direct(d) = &self.draft
                && d.index.find(0, H::NAME.kind()).is_none()
            {
                self.draft.typed(&h);
                return self;
            }
            self.draft.with_lines(|l| {
                let line = l.typed(&h);
                l.set(line);
            });
            self
        }

        /// Appends an extension (or any) header line verbatim.
        ///
        /// # Errors
        /// [`BuildError`] when the name is not a token or the value holds CR, LF or NUL.
        pub fn raw_header(mut self, name: &str, value: &str) -> Result<Self, BuildError> {
            check_raw(name, value)?;
            let kind = HeaderName::from_bytes(name.as_bytes()).map_or(0, HeaderName::kind);
            self.draft.settle();
            match &mut self.draft {
                Draft::Direct(d) => {
                    d.append(name.as_bytes(), kind, |out| {
                        out.extend_from_slice(value.as_bytes());
                    });
                }
                Draft::Lines(l) => {
                    let line = l.raw(name, value, kind);
                    l.push(line);
                }
                // settled just above
                Draft::Reply(_) => {}
            }
            Ok(self)
        }

        /// Removes every line of a well-known header.
        pub fn remove_header(&mut self, name: HeaderName) -> &mut Self {
            self.draft.settle();
            if let Draft::Direct(d) = &self.draft
                && d.index.find(0, name.kind()).is_none()
            {
                return self;
            }
            self.draft.with_lines(|l| l.remove(name));
            self
        }

        /// Removes every line whose name equals `name` (case-insensitive).
        pub fn remove_header_str(&mut self, name: &str) -> &mut Self {
            self.draft
                .with_lines(|l| match HeaderName::from_bytes(name.as_bytes()) {
                    Some(known) => l.remove(known),
                    None => {
                        let lines = std::mem::take(&mut l.lines);
                        l.lines = lines
                            .into_iter()
                            .filter(|line| !l.text(line.name).eq_ignore_ascii_case(name.as_bytes()))
                            .collect();
                    }
                });
            self
        }

        /// Sets the body; Content-Length is written by [`Self::build`]. Set Content-Type
        /// with [`Self::header`].
        #[must_use]
        pub fn body(mut self, body: Bytes) -> Self {
            self.draft.set_body(body);
            self
        }
    };
}

/// Builds a request. Content-Length is always written (last header) from the body.
///
/// ```
/// use telox_sip_core::header::{CSeq, CallId, From, MaxForwards, To, Via};
/// use telox_sip_core::{Method, Request, Uri};
///
/// let uri: Uri = "sip:bob@biloxi.example.com".parse().unwrap();
/// let req = Request::builder(Method::Options, uri.clone())
///     .header(Via::new("UDP", "pc33.atlanta.example.com", None, "z9hG4bK776asdhds").unwrap())
///     .header(MaxForwards(70))
///     .header(To::new(uri))
///     .header(From::new("sip:alice@atlanta.example.com".parse().unwrap()).with_tag("1928301774"))
///     .header(CallId::new("a84b4c76e66710@pc33.atlanta.example.com").unwrap())
///     .header(CSeq::new(314159, Method::Options))
///     .build();
/// assert!(req.to_bytes().starts_with(b"OPTIONS sip:bob@biloxi.example.com SIP/2.0\r\nVia: "));
/// ```
///
/// Header lines appended in order are written straight into the message (one buffer, no
/// per-line bookkeeping); prepending, replacing or removing lines, or changing the method
/// or Request-URI, switches to a list of lines that [`RequestBuilder::build`] writes out.
/// Both give the same bytes.
#[derive(Clone, Debug)]
pub struct RequestBuilder {
    method: Method,
    uri: Uri,
    draft: Draft,
}

impl RequestBuilder {
    #[inline]
    pub(crate) fn new(method: Method, uri: Uri) -> Self {
        let d = request_line(&method, &uri, HEAD_CAPACITY);
        Self {
            method,
            uri,
            draft: Draft::Direct(d),
        }
    }

    pub(crate) fn from_request(r: &Request) -> Self {
        Self {
            method: r.method.clone(),
            uri: r.uri(),
            draft: Draft::Lines(Lines::from_headers(&r.head)),
        }
    }

    /// Replaces the method.
    #[must_use]
    pub fn method(mut self, method: Method) -> Self {
        self.draft.with_lines(|_| ());
        self.method = method;
        self
    }

    /// Replaces the Request-URI.
    #[must_use]
    pub fn uri(mut self, uri: Uri) -> Self {
        self.draft.with_lines(|_| ());
        self.uri = uri;
        self
    }

    /// Appends `Via: SIP/2.0/<transport> <host>[:<port>];branch=<branch>`: the line
    /// `push_header(Via::new(transport, host, port, branch)?)` appends, written without the
    /// typed value (no allocation). A UAC writes such a Via, with a fresh branch, into every
    /// request it sends (RFC 3261 §8.1.1.7).
    ///
    /// # Errors
    /// As [`Via::new`]; nothing is appended then.
    #[inline]
    pub fn push_via(
        &mut self,
        transport: &str,
        host: &str,
        port: Option<u16>,
        branch: &str,
    ) -> Result<&mut Self, HeaderError> {
        if !Via::is_plain(transport, host, branch) {
            let via = Via::new(transport, host, port, branch)?;
            return Ok(self.push_header(via));
        }
        if let Draft::Direct(d) = &mut self.draft {
            // The first Via line is the top Via: remember where its branch is written.
            let first = d.index.find(0, VIA).is_none();
            // tokens and a host of letters, digits, dots and dashes: nothing to clean or trim
            let end = d.append_clean(b"Via", VIA, |out| {
                Via::write_text(out, transport, host, port, branch);
            });
            // the value ends with the branch as given (checked, not assumed); `is_plain`
            // took only a non-empty transport and branch
            if first
                && let Some(start) = end.checked_sub(branch.len())
                && d.out.get(start..end) == Some(branch.as_bytes())
                && let (Ok(start), Ok(len)) = (u16::try_from(start), u16::try_from(branch.len()))
            {
                d.built_branch = [start, len];
            }
        } else {
            self.draft.push_line(HeaderName::Via, |out| {
                Via::write_text(out, transport, host, port, branch);
            });
        }
        Ok(self)
    }

    /// Appends `Call-ID: <id>`: the line `push_header(CallId::new(id)?)` appends, written
    /// without the typed value (no allocation; RFC 3261 §8.1.1.4: a new Call-ID per call).
    ///
    /// # Errors
    /// As [`CallId::new`](crate::header::CallId::new); nothing is appended then.
    #[inline]
    pub fn push_call_id(&mut self, id: &str) -> Result<&mut Self, HeaderError> {
        let id = scan::trim_lws(id.as_bytes());
        check_call_id(id)?;
        match &mut self.draft {
            // `word ["@" word]`, checked: no whitespace or control to clean or trim
            Draft::Direct(d) => {
                d.append_clean(b"Call-ID", CALL_ID, |out| out.extend_from_slice(id));
            }
            draft => draft.push_line(HeaderName::CallId, |out| out.extend_from_slice(id)),
        }
        Ok(self)
    }

    /// Appends `CSeq: <seq> <method>`: the line `push_header(CSeq::new(seq, method.clone()))`
    /// appends, written without the typed value (RFC 3261 §8.1.1.5: a UAC numbers each
    /// request of a dialog).
    #[inline]
    pub fn push_cseq(&mut self, seq: u32, method: &Method) -> &mut Self {
        match &mut self.draft {
            // a method of the RFCs is a token; an extension method the caller made may hold
            // anything, and takes the typed path, which cleans it
            Draft::Direct(d) if !matches!(method, Method::Extension(_)) => {
                d.append_clean(b"CSeq", CSEQ, |out| {
                    scan::put_u32(out, seq);
                    out.push(b' ');
                    out.extend_from_slice(method.as_str().as_bytes());
                });
            }
            draft => draft.typed(&CSeq::new(seq, method.clone())),
        }
        self
    }

    /// Appends `Max-Forwards: <hops>`: the line `push_header(MaxForwards(hops))` appends,
    /// written without the typed value (RFC 3261 §8.1.1.6: a UAC sends 70).
    #[inline]
    pub fn push_max_forwards(&mut self, hops: u8) -> &mut Self {
        match &mut self.draft {
            Draft::Direct(d) => {
                d.append_clean(b"Max-Forwards", MAX_FORWARDS, |out| {
                    scan::put_u32(out, u32::from(hops));
                });
            }
            draft => draft.typed(&MaxForwards(hops)),
        }
        self
    }

    header_methods!();

    /// Serializes the request once and indexes it; the result behaves exactly like a parsed
    /// request.
    #[inline]
    pub fn build(self) -> Request {
        let d = self
            .draft
            .into_direct(|head| request_line(&self.method, &self.uri, head));
        Request {
            method: self.method,
            uri: d.mark,
            uri_parts: self.uri.parts(),
            head: d.finish(),
        }
    }

    /// The same builder in its lines form (tests compare both forms).
    #[cfg(test)]
    fn general(mut self) -> Self {
        self.draft.with_lines(|_| ());
        self
    }
}

/// Builds a response. [`Response::builder`] starts one per RFC 3261 §8.2.6.2: the Via lines,
/// From, Call-ID, CSeq and To of the request are copied (To gets a tag via
/// [`ResponseBuilder::to_tag`]); a 100 (Trying) also copies Timestamp (§8.2.6.1).
///
/// Like [`RequestBuilder`], the copied lines and lines appended after them are written
/// straight into the response; other edits switch to a list of lines.
#[derive(Clone, Debug)]
pub struct ResponseBuilder {
    status: StatusCode,
    reason: Option<String>,
    draft: Draft,
}

impl ResponseBuilder {
    /// A response with no headers at all (to fill by hand).
    pub fn new(status: StatusCode) -> Self {
        Self {
            status,
            reason: None,
            draft: Draft::Direct(status_line(status, None, HEAD_CAPACITY)),
        }
    }

    #[inline]
    pub(crate) fn for_request(req: &Request, status: StatusCode) -> Self {
        let raw = req.head.raw_bytes();
        // RFC 3261 §8.2.6.2: "The From field of the response MUST equal the From header field
        // of the request. The Call-ID ... MUST equal ... The CSeq ... MUST equal ... The Via
        // header field values in the response MUST equal the Via header field values in the
        // request and MUST maintain the same ordering."
        let copied = copied(status);
        if let Some(r) = Reply::new(req, status, copied) {
            return Self {
                status,
                reason: None,
                draft: Draft::Reply(r),
            };
        }
        // Any other request (a folded or control-holding line, a compact or non-canonical
        // name, more lines than a reply holds) is answered by a direct draft.
        // The lines are copied as ranges of the request, one pass to size the buffer (room
        // for a To tag included) and one to write. A folded line (or one with a NUL) keeps
        // the lines form, where To is judged on the bytes as received.
        // An upper bound per line: the longest name the status copies (Call-ID, or
        // Timestamp in a 100), ~4 bytes over per line. Exact sizes cost the common 200 more
        // in callgrind: canonical name lengths +120 to +136 instructions, the request's own
        // line lengths +69. A 100 gets no To tag (RFC 3261 §8.2.6.2), so no room for one:
        // with room for both, a 100 kept 67 spare bytes and a 200 through two proxies 66,
        // above `SPARE_MAX`, and `finish` shrank them (a realloc); a tag added to a 100 all
        // the same grows the buffer exactly.
        let (line_room, tag_room) = if status.0 == 100 {
            ("Timestamp: \r\n".len(), 0)
        } else {
            ("Call-ID: \r\n".len(), TAG_ROOM)
        };
        let (mut size, mut odd) = (0, false);
        for e in req.head.entries().filter(|e| copied(e.kind)) {
            let value = raw.get(e.value.range()).unwrap_or_default();
            size += line_room + value.len();
            odd |= holds_crlf_nul(value);
        }
        if odd {
            return Self::for_request_lines(req, status, copied);
        }
        let mut d = status_line(status, None, size + tag_room);
        // A line the request wrote exactly as the response writes it (canonical name, ": ",
        // the value, CRLF) is copied together with its neighbours in one run of bytes.
        let mut run: Option<(usize, usize)> = None;
        for e in req.head.entries().filter(|e| copied(e.kind)) {
            let Some(name) = HeaderName::from_kind(e.kind) else {
                continue;
            };
            let name = name.as_str().as_bytes();
            let (ns, vs, ve) = (
                e.name(raw).start as usize,
                e.value.start as usize,
                e.value.end as usize,
            );
            if verbatim_line(raw, name, ns, vs, ve) {
                let start = match run {
                    Some((start, end)) if end == ns => start,
                    previous => {
                        d.copy_run(raw, previous);
                        ns
                    }
                };
                // the run is written at the current end of `out`
                let at = |x: usize| d.out.len() + (x - start);
                d.index.push(at(ns), at(vs), at(ve), e.kind);
                run = Some((start, ve + 2));
            } else {
                d.copy_run(raw, run.take());
                let value = raw.get(vs..ve).unwrap_or_default();
                d.append(name, e.kind, |out| out.extend_from_slice(value));
            }
        }
        d.copy_run(raw, run);
        Self {
            status,
            reason: None,
            draft: Draft::Direct(d),
        }
    }

    /// [`ResponseBuilder::for_request`] in the lines form: the `copied` lines as ranges of
    /// the request.
    fn for_request_lines(req: &Request, status: StatusCode, copied: impl Fn(u8) -> bool) -> Self {
        let mut lines = Vec::with_capacity(LINES_CAPACITY);
        lines.extend(req.head.entries().filter_map(|e| {
            let n = HeaderName::from_kind(e.kind)?;
            copied(e.kind).then_some(Line {
                name: Text::Static(n.as_str()),
                value: Text::Src(e.value),
                kind: e.kind,
            })
        }));
        Self {
            status,
            reason: None,
            draft: Draft::Lines(Lines {
                lines,
                src: req.head.raw_bytes().clone(),
                own: Vec::new(),
                body: Bytes::new(),
            }),
        }
    }

    pub(crate) fn from_response(r: &Response) -> Self {
        Self {
            status: r.status,
            reason: Some(r.reason().to_owned()),
            draft: Draft::Lines(Lines::from_headers(&r.head)),
        }
    }

    /// Sets the reason phrase (default: the RFC 3261 §21 phrase of the code).
    #[must_use]
    pub fn reason(mut self, reason: &str) -> Self {
        self.draft.with_lines(|_| ());
        self.reason = Some(reason.replace(['\r', '\n'], " "));
        self
    }

    /// Adds `;tag=<tag>` to To unless it already has a tag (RFC 3261 §8.2.6.2: "the UAS MUST
    /// add a tag to the To header field in the response (with the exception of the 100
    /// (Trying) response ...)"). The tag comes from the caller's RNG. An empty tag (or one of
    /// whitespace alone) writes nothing: `tag` is a token (RFC 3261 §25.1), and `;tag=`
    /// without a value would not parse.
    #[must_use]
    #[inline]
    pub fn to_tag(mut self, tag: &str) -> Self {
        // The first byte tells for any real tag: one compare on the hot path.
        if tag.bytes().all(|c| scan::is_lws(c) || c == 0) {
            return self;
        }
        if let Draft::Reply(r) = &mut self.draft
            && r.add_to_tag(tag)
        {
            return self;
        }
        self.draft.settle();
        if let Draft::Direct(d) = &mut self.draft
            && d.add_to_tag(tag)
        {
            return self;
        }
        self.draft.with_lines(|l| l.add_to_tag(tag));
        self
    }

    header_methods!();

    /// Serializes the response once and indexes it.
    #[inline]
    pub fn build(self) -> Response {
        let reason = self.reason.as_deref();
        let d = self
            .draft
            .into_direct(|head| status_line(self.status, reason, head));
        Response {
            status: self.status,
            reason: d.mark,
            head: d.finish(),
        }
    }

    /// The same builder in its lines form (tests compare both forms).
    #[cfg(test)]
    fn general(mut self) -> Self {
        self.draft.with_lines(|_| ());
        self
    }

    /// The same builder with a reply written out as a direct draft (tests compare forms).
    #[cfg(test)]
    fn settled(mut self) -> Self {
        self.draft.settle();
        self
    }
}

/// A direct draft holding `<method> <uri> SIP/2.0\r\n`, with room for `head` more bytes.
/// Always inlined, as is [`status_line`]: the ~300-byte draft is then built in its caller's
/// place instead of being copied out (callgrind: +77 instructions per request without it).
#[inline(always)]
fn request_line(method: &Method, uri: &Uri, head: usize) -> Direct {
    let m = method.as_str().as_bytes();
    let u = uri.as_bytes();
    let mut d = Direct::new(m.len() + u.len() + " SIP/2.0\r\n".len() + 1 + head);
    d.out.extend_from_slice(m);
    d.out.push(b' ');
    let us = d.out.len();
    d.out.extend_from_slice(u);
    d.mark = Span::new(us, d.out.len());
    d.out.extend_from_slice(b" SIP/2.0\r\n");
    d
}

/// A direct draft holding `SIP/2.0 <code> <reason>\r\n` (by default the canonical reason),
/// with room for `head` more bytes of header lines and the Content-Length line.
#[inline(always)]
fn status_line(status: StatusCode, reason: Option<&str>, head: usize) -> Direct {
    let reason = reason.unwrap_or(status.canonical_reason()).as_bytes();
    let mut d = Direct::new(
        "SIP/2.0 000 \r\n".len() + 2 + reason.len() + head + "Content-Length: 0\r\n\r\n".len(),
    );
    d.out.extend_from_slice(b"SIP/2.0 ");
    match u8::try_from(status.0 / 100) {
        // three digits (RFC 3261 §7.2), written without a division loop
        Ok(hundreds @ 1..=9) => {
            let tens = (status.0 / 10 % 10) as u8;
            let ones = (status.0 % 10) as u8;
            d.out
                .extend_from_slice(&[b'0' + hundreds, b'0' + tens, b'0' + ones, b' ']);
        }
        _ => {
            scan::put_u32(&mut d.out, u32::from(status.0));
            d.out.push(b' ');
        }
    }
    let rs = d.out.len();
    d.out.extend_from_slice(reason);
    d.mark = Span::new(rs, d.out.len());
    d.out.extend_from_slice(b"\r\n");
    d
}

/// The kinds of the lines a response copies from its request (RFC 3261 §8.2.6): Via,
/// From, To, Call-ID and CSeq (the kinds 1 to 5), and Timestamp in a 100 (Trying).
fn copied(status: StatusCode) -> impl Fn(u8) -> bool + Copy {
    let timestamp = if status.0 == 100 {
        HeaderName::Timestamp.kind()
    } else {
        0
    };
    move |kind| (VIA..=CSEQ).contains(&kind) || (kind == timestamp && kind != 0)
}

/// Checks a raw header line given by the caller.
fn check_raw(name: &str, value: &str) -> Result<(), BuildError> {
    if !scan::all_token(name.as_bytes()) {
        return Err(BuildError::BadHeaderName);
    }
    if value.bytes().any(|c| matches!(c, b'\r' | b'\n' | 0)) {
        return Err(BuildError::BadHeaderValue);
    }
    Ok(())
}

/// Header bytes a builder reserves up front beside its start line: a UAC's request (Via,
/// Max-Forwards, From, To, Call-ID, CSeq, Content-Length) fits.
const HEAD_CAPACITY: usize = 256;
/// Room a response to a request keeps for `;tag=` and a To tag.
const TAG_ROOM: usize = 40;
/// Lines a [`Reply`] holds: Via lines of a request through a few proxies, From, To,
/// Call-ID, CSeq (and Timestamp in a 100).
const REPLY_LINES: usize = 12;
/// Longest To tag a [`Reply`] holds (a longer one is added by a direct draft).
const REPLY_TAG: usize = 32;
/// Room a reply written out for further edits keeps for more lines.
const REPLY_ROOM: usize = TAG_ROOM;
/// Spare bytes a built message may keep in its buffer.
const SPARE_MAX: usize = 64;
const VIA: u8 = HeaderName::Via.kind();
const TO: u8 = HeaderName::To.kind();
const CSEQ: u8 = HeaderName::CSeq.kind();
const CALL_ID: u8 = HeaderName::CallId.kind();
const MAX_FORWARDS: u8 = HeaderName::MaxForwards.kind();
const CONTENT_LENGTH: u8 = HeaderName::ContentLength.kind();

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_state_reads_simple_forms_only() {
        assert_eq!(tag_state(b"<sip:b@x>"), Some(false));
        assert_eq!(tag_state(b"Bob <sip:b@x;tag=uri-param>"), Some(false));
        assert_eq!(tag_state(b"<sip:b@x> ; TAG = 1"), Some(true));
        assert_eq!(tag_state(b"sip:b@x;tag=1"), Some(true));
        assert_eq!(tag_state(b"sip:b@x;tagx=1"), Some(false));
        assert_eq!(tag_state(b"\"B;tag=no\" <sip:b@x>"), None);
        assert_eq!(tag_state(b"<sip:b@x"), None);
        assert_eq!(tag_state(b"<sip:b@x>;p=<y>"), None);
    }

    #[test]
    fn bare_addr_agrees_with_tag_state() {
        for v in [
            "<sip:b@x>",
            "<>",
            "<sip:b@x>>",
            "<sip:\"b@x>",
            "<sip:b\\@x>",
            "<sip:b\t@x>",
            "<sip:b@x>;tag=1",
            "sip:b@x",
            "<sip:b@x",
            "<<sip:b@x>",
            "<sip:b\r\n@x>",
            "<",
        ] {
            if bare_addr(v.as_bytes()) {
                assert_eq!(tag_state(v.as_bytes()), Some(false), "{v:?}");
            }
        }
        assert!(bare_addr(b"<sip:bob@127.0.0.1>"));
        assert!(!bare_addr(b"<sip:b@x>;p"));
    }

    fn request_with_to(to: &str) -> Request {
        let text = format!(
            "OPTIONS sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\n\
             From: <sip:a@x>;tag=f\r\nTo: {to}\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\n\r\n"
        );
        Request::parse(Bytes::from(text)).unwrap_or_else(|e| panic!("{e:?}"))
    }

    fn to_of(r: &Response) -> String {
        let to = r.headers().named(HeaderName::To).next();
        String::from_utf8_lossy(to.map(|h| h.value).unwrap_or_default()).into_owned()
    }

    /// RFC 3261 §8.2.6.2: the request's To plus a tag, once, in every form.
    #[test]
    fn to_tag_appends_once() {
        for (to, want) in [
            ("Bob <sip:b@x;tag=u>", "Bob <sip:b@x;tag=u>;tag=t9"),
            ("<sip:b@x>;tag=old", "<sip:b@x>;tag=old"),
            ("sip:b@x", "sip:b@x;tag=t9"),
            ("\"Bob B\" <sip:b@x>", "\"Bob B\" <sip:b@x>;tag=t9"),
            ("\"Bob\" <sip:b@x>;tag=old", "\"Bob\" <sip:b@x>;tag=old"),
        ] {
            let req = request_with_to(to);
            let resp = Response::builder(&req, StatusCode::OK).to_tag("t9").build();
            assert_eq!(to_of(&resp), want, "{to}");
            assert!(Response::parse(resp.to_bytes()).is_ok());
        }
    }

    use crate::header::{CSeq, CallId, Contact, ContentLength, From, MaxForwards, NameAddr, Via};
    use crate::msg::ParseLimits;
    use proptest::prelude::*;

    fn uac_request() -> RequestBuilder {
        let uri: Uri = "sip:bob@192.0.2.4:5062"
            .parse()
            .unwrap_or_else(|e| panic!("{e:?}"));
        Request::builder(Method::Options, uri.clone())
            .header(
                Via::new("UDP", "192.0.2.1", Some(5061), "z9hG4bK1f")
                    .unwrap_or_else(|e| panic!("{e:?}")),
            )
            .header(MaxForwards(70))
            .header(From::new(uri.clone()).with_tag("a1"))
            .header(To::new(uri))
            .header(CallId::new("c1@x").unwrap_or_else(|e| panic!("{e:?}")))
            .header(CSeq::new(7, Method::Options))
    }

    /// The direct form and the lines form of a request builder give the same request: the
    /// same bytes and the same index.
    fn same_request(b: RequestBuilder) -> Request {
        let direct = b.clone().build();
        let general = b.general().build();
        assert_eq!(direct.to_bytes(), general.to_bytes());
        assert_eq!(direct, general);
        assert_eq!(Request::parse(direct.to_bytes()).as_ref(), Ok(&direct));
        direct
    }

    #[test]
    fn direct_request_equals_lines() {
        let uri: Uri = "sip:x@y".parse().unwrap_or_else(|e| panic!("{e:?}"));
        same_request(uac_request());
        same_request(uac_request().body(Bytes::from_static(b"v=0\r\n")));
        // a raw Content-Length and a typed one are replaced by the one build writes
        let r = same_request(
            uac_request()
                .header(ContentLength(99))
                .raw_header("content-length", "12")
                .unwrap_or_else(|e| panic!("{e:?}")),
        );
        assert_eq!(r.headers().named(HeaderName::ContentLength).count(), 1);
        // whitespace around a raw value is trimmed, inside it is kept
        same_request(
            uac_request()
                .raw_header("X-A", " \t a  b \t")
                .unwrap_or_else(|e| panic!("{e:?}")),
        );
        // a typed value that writes whitespace and controls is cleaned the same way
        same_request(
            uac_request()
                .header(From(
                    NameAddr::new(uri.clone()).with_param("p", Some(" \u{0} a\r\n")),
                ))
                .header(To(
                    NameAddr::new(uri.clone()).with_display_name("B \r\n\"b\"")
                )),
        );
        // more lines than the inline index holds, and a value past 64 KiB
        let mut many = uac_request();
        for i in 0..30 {
            many = many
                .raw_header("X-N", &i.to_string())
                .unwrap_or_else(|e| panic!("{e:?}"));
        }
        same_request(many);
        let long = "a".repeat(70_000);
        // (too large to parse back with the default limits)
        let b = uac_request()
            .raw_header("X-L", &long)
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(b.clone().build(), b.general().build());
        // edits after appends go through the lines form
        let mut b = uac_request();
        b.prepend_header(
            Via::new("TCP", "p", None, "z9hG4bK2").unwrap_or_else(|e| panic!("{e:?}")),
        )
        .set_header(MaxForwards(69))
        .remove_header(HeaderName::CSeq)
        .set_header(CSeq::new(8, Method::Options));
        assert!(matches!(b.draft, Draft::Lines(_)));
        let r = same_request(b);
        assert!(
            r.to_bytes()
                .starts_with(b"OPTIONS sip:bob@192.0.2.4:5062 SIP/2.0\r\nVia: SIP/2.0/TCP p;")
        );
        let r = same_request(uac_request().method(Method::Info).uri(uri));
        assert!(r.to_bytes().starts_with(b"INFO sip:x@y SIP/2.0\r\n"));
    }

    /// The direct response path gives what the lines form gives from the same request.
    fn same_response(req: &Request, status: StatusCode, tag: &str) -> Response {
        let direct = Response::builder(req, status).to_tag(tag).build();
        let general = ResponseBuilder::for_request_lines(req, status, copied(status))
            .to_tag(tag)
            .build();
        assert_eq!(direct.to_bytes(), general.to_bytes());
        assert_eq!(direct, general);
        let converted = Response::builder(req, status).general().to_tag(tag).build();
        assert_eq!(direct, converted);
        // a reply written out before the tag, and after it, as an edit does
        let settled = Response::builder(req, status).settled().to_tag(tag).build();
        assert_eq!(direct, settled);
        let tagged_then_settled = Response::builder(req, status).to_tag(tag).settled().build();
        assert_eq!(direct, tagged_then_settled);
        assert_eq!(
            Response::builder(req, status)
                .to_tag(tag)
                .to_tag("again")
                .build(),
            ResponseBuilder::for_request_lines(req, status, copied(status))
                .to_tag(tag)
                .to_tag("again")
                .build()
        );
        // No tag added (a 100 may go without one, §8.2.6.2): both forms copy To unchanged.
        let untagged = Response::builder(req, status).build();
        assert_eq!(
            untagged,
            ResponseBuilder::for_request_lines(req, status, copied(status)).build()
        );
        // §8.2.6.2 read from the bytes, not from either form: every Via in order, From,
        // Call-ID and CSeq as the request has them (a folded line unfolded), To too when
        // no tag was added; Timestamp in a 100 only (§8.2.6.1).
        let values = |h: &Headers, n: HeaderName| -> Vec<Vec<u8>> {
            h.named(n)
                .map(|l| {
                    let v = l.value.iter().map(|&c| match c {
                        b'\r' | b'\n' | 0 => b' ',
                        c => c,
                    });
                    scan::trim_lws(&v.collect::<Vec<u8>>()).to_vec()
                })
                .collect()
        };
        for n in [
            HeaderName::Via,
            HeaderName::From,
            HeaderName::To,
            HeaderName::CallId,
            HeaderName::CSeq,
            HeaderName::Timestamp,
        ] {
            let want = if n == HeaderName::Timestamp && status.0 != 100 {
                Vec::new()
            } else {
                values(req.headers(), n)
            };
            assert_eq!(values(untagged.headers(), n), want, "{n:?}");
            if n != HeaderName::To {
                assert_eq!(values(direct.headers(), n), want, "{n:?}");
            }
        }
        let with_contact = |b: ResponseBuilder| {
            b.to_tag(tag)
                .header(Contact::new(
                    "sip:b@h".parse().unwrap_or_else(|e| panic!("{e:?}")),
                ))
                .build()
        };
        assert_eq!(
            with_contact(Response::builder(req, status)),
            with_contact(ResponseBuilder::for_request_lines(
                req,
                status,
                copied(status)
            ))
        );
        if direct.to_bytes().len() <= ParseLimits::default().max_message {
            assert_eq!(Response::parse(direct.to_bytes()).as_ref(), Ok(&direct));
        }
        direct
    }

    #[test]
    fn direct_response_equals_lines() {
        for to in [
            "Bob <sip:b@x;tag=u>",
            "<sip:b@x>;tag=old",
            "sip:b@x",
            "\"Bob B\" <sip:b@x>",
            "<sip:b@x>\r\n ;p=1",
            "<sip:b@x> ; tag = t",
            "<sip:b@x\u{0}>",
        ] {
            let req = request_with_to(to);
            for tag in [
                "t9",
                "",
                "a b",
                "x\r",
                "\t",
                "z\u{0}",
                "0123456789abcdef0123456789abcdef",
                "0123456789abcdef0123456789abcdef!",
            ] {
                for status in [100, 180, 200, 486, 699] {
                    same_response(&req, StatusCode(status), tag);
                }
            }
        }
        // Timestamp is copied into a 100 only (§8.2.6.1), extension lines never
        let text = "INVITE sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\nVia: \
                    SIP/2.0/UDP b;branch=z9hG4bK2\r\nTimestamp: 54\r\nX-A: 1\r\nFrom: \
                    <sip:a@x>;tag=f\r\nTo: <sip:b@x>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\r\n";
        let req = Request::parse(Bytes::from(text)).unwrap_or_else(|e| panic!("{e:?}"));
        let trying = same_response(&req, StatusCode(100), "t");
        assert_eq!(trying.headers().named(HeaderName::Timestamp).count(), 1);
        let ok = same_response(&req, StatusCode::OK, "t");
        // names in compact or other case, other spacing, lines between: what is not written
        // as the response writes it is not copied as a run
        for text in [
            "OPTIONS sip:b@x SIP/2.0\r\nv: SIP/2.0/UDP a;branch=z9hG4bK1\r\nf: <sip:a@x>;tag=f\r\n\
             t: <sip:b@x>\r\ni: c\r\nCSeq: 1 OPTIONS\r\n\r\n",
            "OPTIONS sip:b@x SIP/2.0\r\nVIA: SIP/2.0/UDP a;branch=z9hG4bK1\r\nFrom:<sip:a@x>;tag=f\r\n\
             To:   <sip:b@x>  \r\nX: 1\r\ncall-id: c\r\nCSeq :1 OPTIONS\r\n\r\n",
            "OPTIONS sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\nFrom: <sip:a@x>;tag=f\r\n\
             To: <sip:b@x>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\nVia: SIP/2.0/UDP b\r\n\r\n",
            "OPTIONS sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\nFrom: <sip:a@x>;tag=f\r\n\
             To: <sip:b@x>\r\nCall-ID: c\r\n d\r\nCSeq: 1 OPTIONS\r\n\r\n",
            "OPTIONS sip:b@x SIP/2.0\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\nFrom: <sip:a@x>;tag=f\n\
             To: <sip:b@x>\nCall-ID: c\nCSeq: 1 OPTIONS\n\n",
        ] {
            let req = Request::parse(Bytes::from(text)).unwrap_or_else(|e| panic!("{e:?}"));
            for status in [100, 200] {
                let r = same_response(&req, StatusCode(status), "t");
                assert!(r.to_bytes().starts_with(b"SIP/2.0 "));
            }
        }
        assert_eq!(ok.headers().len(), 7);
        assert_eq!(to_of(&ok), "<sip:b@x>;tag=t");
    }

    /// A request written as a response writes its lines is answered by a reply (the fused
    /// form); any other, and more lines than a reply holds, by a direct draft. Both give
    /// the same bytes (`same_response`).
    #[test]
    fn reply_form_for_canonical_lines_only() {
        let is_reply = |text: &str, status: u16| {
            let req =
                Request::parse(Bytes::from(text.to_owned())).unwrap_or_else(|e| panic!("{e:?}"));
            same_response(&req, StatusCode(status), "t");
            matches!(
                Response::builder(&req, StatusCode(status)).draft,
                Draft::Reply(_)
            )
        };
        let canonical = "OPTIONS sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\n\
                         From: <sip:a@x>;tag=f\r\nTo: <sip:b@x>\r\nCall-ID: c\r\n\
                         CSeq: 1 OPTIONS\r\n\r\n";
        assert!(is_reply(canonical, 200));
        assert!(is_reply(canonical, 100));
        for other in [
            canonical.replace("To: ", "t: "),
            canonical.replace("To: ", "To:  "),
            canonical.replace("Call-ID: c", "Call-ID: c\r\n d"),
            canonical.replace("Call-ID: c", "Call-ID: c\u{0}d"),
            canonical.replace("\r\n", "\n"),
        ] {
            assert!(!is_reply(&other, 200), "{other:?}");
        }
        let via = "Via: SIP/2.0/UDP p;branch=z9hG4bKp\r\n";
        let at = canonical.find("Via").unwrap_or_default();
        let mut many = canonical.to_owned();
        many.insert_str(at, &via.repeat(REPLY_LINES - 5));
        assert!(is_reply(&many, 200));
        many.insert_str(at, via);
        assert!(!is_reply(&many, 200));
    }

    /// `push_via`, `push_call_id` and `push_header_ref` append what `push_header` of the
    /// typed value appends, and fail where the typed constructor fails.
    fn same_via(transport: &str, host: &str, port: Option<u16>, branch: &str) {
        let uri: Uri = "sip:b@x".parse().unwrap_or_else(|e| panic!("{e:?}"));
        for general in [false, true] {
            let start = || {
                let b = Request::builder(Method::Options, uri.clone());
                if general { b.general() } else { b }
            };
            let mut fast = start();
            let fast_result = fast.push_via(transport, host, port, branch).map(|_| ());
            let mut typed = start();
            let typed_result = Via::new(transport, host, port, branch).map(|v| {
                typed.push_header(v);
            });
            assert_eq!(fast_result, typed_result, "{transport} {host} {branch}");
            assert_eq!(fast.build(), typed.build(), "{transport} {host} {branch}");
        }
    }

    fn same_call_id(id: &str) {
        let uri: Uri = "sip:b@x".parse().unwrap_or_else(|e| panic!("{e:?}"));
        let mut fast = Request::builder(Method::Options, uri.clone());
        let fast_result = fast.push_call_id(id).map(|_| ());
        let mut typed = Request::builder(Method::Options, uri);
        let typed_result = CallId::new(id).map(|c| {
            typed.push_header(c);
        });
        assert_eq!(fast_result, typed_result, "{id:?}");
        assert_eq!(fast.build(), typed.build(), "{id:?}");
    }

    /// `push_cseq` and `push_max_forwards` append what `push_header` of the typed value
    /// appends, in either form of the builder and after other lines.
    fn same_cseq_and_max_forwards(seq: u32, method: &Method, hops: u8) {
        let uri: Uri = "sip:b@x".parse().unwrap_or_else(|e| panic!("{e:?}"));
        for general in [false, true] {
            let start = || {
                let b = Request::builder(method.clone(), uri.clone());
                let mut b = if general { b.general() } else { b };
                b.push_call_id("c@h").unwrap_or_else(|e| panic!("{e:?}"));
                b
            };
            let mut fast = start();
            fast.push_max_forwards(hops).push_cseq(seq, method);
            let mut typed = start();
            typed
                .push_header(MaxForwards(hops))
                .push_header(CSeq::new(seq, method.clone()));
            let (fast, typed) = (fast.build(), typed.build());
            assert_eq!(fast.to_bytes(), typed.to_bytes(), "{seq} {method} {hops}");
            assert_eq!(fast, typed, "{seq} {method} {hops}");
            if !matches!(method, Method::Extension(_)) {
                assert_eq!(Request::parse(fast.to_bytes()).as_ref(), Ok(&fast));
            }
        }
    }

    #[test]
    fn push_cseq_and_max_forwards_equal_the_typed_headers() {
        let odd = Method::Extension(Box::new(Bytes::from_static(b"X\r\nY: 1\0")));
        for method in [Method::Options, Method::Invite, Method::Update, odd] {
            for seq in [0, 1, 9, 10, 99, 100, 101, 4_294_967_295] {
                for hops in [0, 1, 9, 10, 70, 99, 100, 255] {
                    same_cseq_and_max_forwards(seq, &method, hops);
                }
            }
        }
    }

    #[test]
    fn push_via_and_call_id_equal_the_typed_headers() {
        for (transport, host, port, branch) in [
            ("UDP", "127.0.0.1", Some(5061), "z9hG4bK0000000000000001"),
            ("TCP", "pc33.atlanta.example.com", None, "z9hG4bK776asdhds"),
            ("TLS", "a-b.c", Some(0), "z9hG4bK.-!%*_+`'~"),
            ("UDP", "[2001:db8::1]", Some(5060), "z9hG4bKx"),
            ("UDP", "", None, "z9hG4bK1"),
            ("U DP", "h", None, "z9hG4bK1"),
            ("UDP", "h", None, "z9hG4bK 1"),
            ("UDP", "h", None, ""),
            ("UDP", "h;x", None, "b"),
            ("", "h", None, "b"),
        ] {
            same_via(transport, host, port, branch);
        }
        for id in [
            "a84b4c76e66710@pc33.atlanta.com",
            "f81d4fae",
            " x@y ",
            "",
            "@x",
            "a b",
            "a@b@c",
        ] {
            same_call_id(id);
        }
        let uri: Uri = "sip:b@x".parse().unwrap_or_else(|e| panic!("{e:?}"));
        let from = From::new(uri.clone()).with_tag("t1");
        let mut by_ref = Request::builder(Method::Options, uri.clone());
        by_ref
            .push_header_ref(&from)
            .push_header_ref(&MaxForwards(70));
        let by_value = Request::builder(Method::Options, uri)
            .header(from.clone())
            .header(MaxForwards(70));
        assert_eq!(by_ref.build(), by_value.build());
    }

    /// A To tag that moves the lines after it past 64 KiB moves the index to the heap.
    #[test]
    fn direct_to_tag_past_64_kib() {
        for len in (65_300..65_540).step_by(10) {
            let via = Via::parse_str(&format!(
                "SIP/2.0/UDP a;branch=z9hG4bK1;x={}",
                "a".repeat(len)
            ))
            .unwrap_or_else(|e| panic!("{e:?}"));
            let req = uac_request().header(via).build();
            let resp = same_response(&req, StatusCode::OK, "a-long-tag-for-the-to-header");
            assert_eq!(
                to_of(&resp),
                "<sip:bob@192.0.2.4:5062>;tag=a-long-tag-for-the-to-header"
            );
            let cseq = resp
                .headers()
                .named(HeaderName::CSeq)
                .next()
                .map(|h| h.value);
            assert_eq!(cseq, Some(&b"7 OPTIONS"[..]));
        }
    }

    /// A response started empty or given a reason: the direct draft's status line is the
    /// one the lines form writes.
    #[test]
    fn direct_status_line_equals_lines() {
        for code in [0, 7, 99, 100, 180, 200, 486, 999, 1000, 65_535] {
            let status = StatusCode(code);
            let b = ResponseBuilder::new(status)
                .header(CSeq::new(1, Method::Options))
                .body(Bytes::from_static(b"x"));
            let (direct, general) = (b.clone().build(), b.general().build());
            assert_eq!(direct, general, "{code}");
            assert_eq!(direct.to_bytes(), general.to_bytes(), "{code}");
            let line = format!("SIP/2.0 {code} {}\r\n", status.canonical_reason());
            assert!(direct.to_bytes().starts_with(line.as_bytes()), "{code}");
        }
        let req = request_with_to("<sip:b@x>");
        let direct = Response::builder(&req, StatusCode::OK)
            .to_tag("t")
            .reason("Fine")
            .build();
        let general =
            ResponseBuilder::for_request_lines(&req, StatusCode::OK, copied(StatusCode::OK))
                .to_tag("t")
                .reason("Fine")
                .build();
        assert_eq!(direct, general);
        assert!(direct.to_bytes().starts_with(b"SIP/2.0 200 Fine\r\n"));
    }

    #[test]
    fn may_hold_ctl_finds_every_control() {
        for len in 0..20 {
            for at in 0..len {
                for c in [b'\r', b'\n', 0, b'\t'] {
                    let mut v = vec![b'a'; len];
                    v[at] = c;
                    assert!(may_hold_ctl(&v), "{len} {at} {c}");
                }
            }
            assert!(!may_hold_ctl(&vec![b'~'; len]));
            assert!(!may_hold_ctl(&vec![0x80; len]));
            assert!(!may_hold_ctl(&vec![0xff; len]));
        }
    }

    fn value() -> impl Strategy<Value = String> {
        proptest::string::string_regex("[ \t\r\n\u{0}a-z;=<>\"@:,]{0,12}")
            .unwrap_or_else(|e| panic!("{e:?}"))
    }

    proptest! {
        /// Any sequence of appends and edits: both forms give the same request.
        #[test]
        fn direct_request_equals_lines_for_any_ops(
            ops in proptest::collection::vec((0u8..8, value(), 0u32..100_000), 0..14),
            body in proptest::collection::vec(any::<u8>(), 0..8),
        ) {
            let uri: Uri = "sip:b@x".parse().unwrap_or_else(|e| panic!("{e:?}"));
            let mut b = Request::builder(Method::Options, uri.clone()).body(Bytes::from(body));
            for (op, v, n) in ops {
                b = match op {
                    0 => b.header(MaxForwards(u8::try_from(n % 256).unwrap_or(0))),
                    1 => b.header(CSeq::new(n, Method::Options)),
                    2 => b.header(To::new(uri.clone()).with_tag(&v)),
                    3 => b.clone().raw_header("X-V", &v).unwrap_or(b),
                    4 => b.clone().raw_header("Content-Length", &v).unwrap_or(b),
                    5 => { b.set_header(MaxForwards(1)); b }
                    6 => { b.remove_header(HeaderName::To); b }
                    _ => b.header(From(NameAddr::new(uri.clone()).with_param("p", Some(&v)))),
                };
            }
            let direct = b.clone().build();
            let general = b.general().build();
            prop_assert_eq!(direct.to_bytes(), general.to_bytes());
            prop_assert_eq!(direct, general);
        }

        /// Any Via parts and Call-ID: the direct lines equal the typed headers'.
        #[test]
        fn push_via_and_call_id_equal_the_typed_headers_for_any_text(
            transport in "[A-Za-z ;]{0,4}",
            host in "[a-z0-9.:\\[\\] -]{0,8}",
            port in proptest::option::of(any::<u16>()),
            branch in "[a-zA-Z0-9 ;=.-]{0,10}",
            id in "[a-z@ ;<>\"]{0,8}",
        ) {
            same_via(&transport, &host, port, &branch);
            same_call_id(&id);
        }

        /// Any number and method: the direct lines equal the typed headers'.
        #[test]
        fn push_cseq_and_max_forwards_equal_the_typed_headers_for_any_values(
            seq in any::<u32>(),
            hops in any::<u8>(),
            token in "[A-Za-z!%*._+`'~-]{1,10}",
        ) {
            let method = Method::from_token(token.as_bytes()).unwrap_or(Method::Options);
            same_cseq_and_max_forwards(seq, &method, hops);
        }

        /// Where `bare_addr` answers, `tag_state` answers the same.
        #[test]
        fn bare_addr_agrees_with_tag_state_for_any_value(v in "<[a-z<>\"\\\\;=\t\r\n]{0,12}>?") {
            if bare_addr(v.as_bytes()) {
                prop_assert_eq!(tag_state(v.as_bytes()), Some(false));
            }
        }

        /// Any To and tag: the direct response equals the lines form's.
        #[test]
        fn direct_response_equals_lines_for_any_to(to in value(), tag in value()) {
            let text = format!(
                "OPTIONS sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\n\
                 From: <sip:a@x>;tag=f\r\nTo: <sip:b@x>{to}\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\n\r\n"
            );
            if let Ok(req) = Request::parse(Bytes::from(text)) {
                let direct = Response::builder(&req, StatusCode::OK).to_tag(&tag).build();
                let general = ResponseBuilder::for_request_lines(&req, StatusCode::OK, copied(StatusCode::OK))
                    .to_tag(&tag)
                    .build();
                prop_assert_eq!(direct.to_bytes(), general.to_bytes());
                prop_assert_eq!(direct, general);
            }
        }
    }
}
