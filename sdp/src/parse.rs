//! The parser: one pass over the lines, zero-copy `Text` slices of the input, typed fields
//! for the structural lines (`o= c= b= t= m=`) and validation of the known attributes.

use bytes::Bytes;

use crate::attr::{digits_line_end, find_byte, has_byte, split_byte, split_on};
use crate::attributes::{Attributes, Kind};
use crate::error::{ParseError, ParseReason};
use crate::model::{AddrType, Bandwidth, Connection, Media, MediaKind, Origin, Protocol};
use crate::model::{Sdp, Text, Timing};

/// Parser switches: strict RFC 8866 by default, with one named knob per deviation real
/// peers make, plus size limits (exceeding one is an error, never a truncation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseOptions {
    /// Accept lines ended by LF alone (baresip, Chrome's JS stacks, hand-written files).
    pub allow_lf_line_endings: bool,
    /// Accept a last line without line ending.
    pub allow_missing_final_line_ending: bool,
    /// Accept empty lines at the end (a body followed by a blank line).
    pub allow_trailing_empty_lines: bool,
    /// Accept and strip spaces or tabs at the end of lines.
    pub allow_trailing_whitespace: bool,
    /// Accept a description without `t=` (RFC 8866 requires one).
    pub allow_missing_time: bool,
    /// Accept an empty `s=` (RFC 4317's examples print it so).
    pub allow_empty_session_name: bool,
    /// Accept lines out of the RFC 8866 §5 order.
    pub allow_misordered_lines: bool,
    /// Accept media with no `c=` at media or session level.
    pub allow_missing_connection: bool,
    /// Accept a `+` before the numbers of the attributes telox checks (`a=ptime:+20`,
    /// `a=rtcp:+9`, an `a=crypto` lifetime or MKI, an `a=candidate` port): RFC 8866 and the
    /// attributes' RFCs write them as plain digits, `str::parse` takes the sign.
    pub allow_plus_signed_numbers: bool,
    /// Accept a declined media line (port 0) with no format (`m=video 0 RTP/AVP`: PJSIP's
    /// reports #75 and #1233 name implementations that write it) or with an RTP format that
    /// is no payload type (`m=video 0 RTP/AVP 255`, a Cisco gateway declining video,
    /// rtpengine#2122). RFC 8866 wants one format at least and RFC 3551 payload types
    /// 0..=127; a declined stream's formats are never used, and refusing them loses the
    /// whole offer with the audio in it.
    pub allow_declined_media_any_format: bool,
    /// Accept an `a=fmtp` line with a format and no parameters (`a=fmtp:111`, `a=fmtp:18`):
    /// Asterisk's Opus module wrote it (rtcninja.js#35, ASTERISK-26520), SEMS met it from
    /// clients (sems#51, `a=fmtp:18`), go-sdp#6 from a gateway (`a=fmtp:104`). RFC 8866 wants
    /// a space and parameters after the format; a line without them says nothing, so the
    /// format reads as having no parameters, and refusing it loses the whole offer.
    pub allow_fmtp_without_parameters: bool,
    /// Largest accepted description in bytes.
    pub max_size: usize,
    /// Most `m=` sections accepted.
    pub max_media: usize,
    /// Most `a=` lines accepted in total.
    pub max_attributes: usize,
}

impl Default for ParseOptions {
    fn default() -> Self {
        Self::strict()
    }
}

impl ParseOptions {
    /// RFC 8866 as written; the default.
    pub const fn strict() -> Self {
        Self {
            allow_lf_line_endings: false,
            allow_missing_final_line_ending: false,
            allow_trailing_empty_lines: false,
            allow_trailing_whitespace: false,
            allow_missing_time: false,
            allow_empty_session_name: false,
            allow_misordered_lines: false,
            allow_missing_connection: false,
            allow_plus_signed_numbers: false,
            allow_declined_media_any_format: false,
            allow_fmtp_without_parameters: false,
            max_size: 64 * 1024,
            max_media: 64,
            max_attributes: 4096,
        }
    }

    /// Every `allow_*` switch on: what real peers send.
    pub const fn lenient() -> Self {
        Self {
            allow_lf_line_endings: true,
            allow_missing_final_line_ending: true,
            allow_trailing_empty_lines: true,
            allow_trailing_whitespace: true,
            allow_missing_time: true,
            allow_empty_session_name: true,
            allow_misordered_lines: true,
            allow_missing_connection: true,
            allow_plus_signed_numbers: true,
            allow_declined_media_any_format: true,
            allow_fmtp_without_parameters: true,
            ..Self::strict()
        }
    }
}

impl Sdp {
    /// Parses a description strictly (RFC 8866: CRLF, order, `t=` present...).
    ///
    /// # Errors
    /// A [`ParseError`] naming the line and why.
    pub fn parse(input: impl Into<Bytes>) -> Result<Self, ParseError> {
        parse(input.into(), &ParseOptions::strict())
    }

    /// Parses with the given switches and limits.
    ///
    /// # Errors
    /// A [`ParseError`] naming the line and why.
    pub fn parse_with(input: impl Into<Bytes>, options: &ParseOptions) -> Result<Self, ParseError> {
        parse(input.into(), options)
    }
}

// Rank of each line type in RFC 8866 §5's session-level order.
fn session_rank(t: u8) -> Option<u8> {
    Some(match t {
        b'v' => 0,
        b'o' => 1,
        b's' => 2,
        b'i' => 3,
        b'u' => 4,
        b'e' => 5,
        b'p' => 6,
        b'c' => 7,
        b'b' => 8,
        b't' => 9,
        b'r' => 10,
        b'z' => 11,
        b'k' => 12,
        b'a' => 13,
        _ => return None,
    })
}

fn media_rank(t: u8) -> Option<u8> {
    Some(match t {
        b'i' => 1,
        b'c' => 2,
        b'b' => 3,
        b'k' => 4,
        b'a' => 5,
        _ => return None,
    })
}

struct Ctx<'a> {
    src: &'a Bytes,
    line: usize,
    kind: u8,
}

impl Ctx<'_> {
    fn err(&self, reason: ParseReason) -> ParseError {
        ParseError::new(self.line, Some(char::from(self.kind)), reason)
    }

    fn bad(&self, field: &'static str) -> ParseError {
        self.err(ParseReason::BadField(field))
    }

    fn text(&self, s: &str) -> Text {
        // A slice of the input, inline when short (as every usual field is): no reference
        // count is touched.
        let start = (s.as_ptr() as usize).wrapping_sub(self.src.as_ptr() as usize);
        Text::slice_of(self.src, start..start.wrapping_add(s.len()))
    }
}

/// How a line ends: the first CR or LF ends it. CRLF is the RFC form, LF alone a
/// deviation, any other CR an error.
#[derive(Clone, Copy, Eq, PartialEq)]
enum Ending {
    Crlf,
    Lf,
    StrayCr,
    EndOfInput,
}

fn parse(src: Bytes, opts: &ParseOptions) -> Result<Sdp, ParseError> {
    // Attribute spans are u32 offsets: a larger input is refused whatever `max_size` says.
    let limit = opts.max_size.min(u32::MAX as usize);
    if src.len() > limit {
        return Err(ParseError::new(
            0,
            None,
            ParseReason::TooLarge {
                what: "description size",
                limit,
            },
        ));
    }
    // The one UTF-8 check of the input: every line, field and attribute is then cut at
    // ASCII delimiters of `all`, so each piece is valid UTF-8 without another check.
    let all = match std::str::from_utf8(&src) {
        Ok(s) => s,
        Err(e) => {
            let line = src[..e.valid_up_to()]
                .iter()
                .filter(|b| **b == b'\n')
                .count()
                + 1;
            return Err(ParseError::new(line, None, ParseReason::NotUtf8));
        }
    };
    if all.is_empty() {
        return Err(ParseError::new(0, None, ParseReason::Empty));
    }

    let mut seen_o = false;
    let mut sdp = Sdp::parse_start();
    let mut seen_v = false;
    let mut seen_s = false;
    let mut rank = 0u8;
    let mut media_rank_now = 0u8;
    let mut attributes = 0usize;
    let mut line_no = 0usize;
    let mut trailing_empty = false;
    let bytes = all.as_bytes();
    let mut pos = 0usize;
    // The usual first line, `v=0` and CRLF, taken whole: what the general checks below
    // accept of it.
    if bytes.starts_with(b"v=0\r\n") {
        (pos, line_no, seen_v) = (5, 1, true);
        // Then the usual session head, each line in its usual form and ended by CRLF with
        // no trailing blank: `o=`, a non-empty `s=`, a session `c=` and `t=0 0`, in that
        // order while they come, set as the general checks below set them (rank, seen).
        // The first line that is not such a line goes through the general checks.
        let ctx = Ctx {
            src: &src,
            line: 0,
            kind: b' ',
        };
        if let Some((value, next)) = usual_line(all, pos, b'o')
            && let Some(fields) = origin_usual(value)
        {
            set_origin(&ctx, fields, &mut sdp.origin);
            (pos, line_no, rank, seen_o) = (next, 2, 1, true);
            if let Some((value, next)) = usual_line(all, pos, b's')
                && !value.is_empty()
            {
                sdp.session_name = ctx.text(value);
                (pos, line_no, rank, seen_s) = (next, 3, 2, true);
                if let Some((value, next)) = usual_line(all, pos, b'c')
                    && let Some(connection) = connection_usual(&ctx, value)
                {
                    sdp.connection = Some(connection);
                    (pos, line_no, rank) = (next, 4, 7);
                }
                if let Some(("0 0", next)) = usual_line(all, pos, b't') {
                    sdp.times.push(Timing {
                        start: 0,
                        stop: 0,
                        repeats: Vec::new(),
                    });
                    (pos, line_no, rank) = (next, line_no + 1, 9);
                }
            }
        }
    }

    while let Some(rest) = bytes.get(pos..).filter(|r| !r.is_empty()) {
        // The usual lines of a SIP offer: a run of media-level `a=` lines, each valid and
        // ended by CRLF with no trailing blank, no empty line before them (see
        // `attribute_run`). The first line it does not take (another type, or any
        // deviation or error) goes through the general checks below.
        if let [b'a', b'=', ..] = rest
            && !trailing_empty
            && let Some(media) = sdp.media.last_mut()
        {
            let from = pos;
            (pos, line_no) = attribute_run(
                all,
                (pos, line_no),
                &mut attributes,
                opts,
                &mut media.attributes,
            );
            if pos != from {
                media_rank_now = 5;
                continue;
            }
        }
        line_no += 1;
        let eol = find_eol(rest);
        let (ending, ending_len) = match (rest.get(eol), rest.get(eol + 1)) {
            (Some(b'\r'), Some(b'\n')) => (Ending::Crlf, 2),
            (Some(b'\n'), _) => (Ending::Lf, 1),
            (Some(_), _) => (Ending::StrayCr, 1),
            (None, _) => (Ending::EndOfInput, 0),
        };
        let start = pos;
        pos += eol + ending_len;
        let raw = rest.get(..eol).unwrap_or_default();
        let mut ctx = Ctx {
            src: &src,
            line: line_no,
            kind: raw.first().copied().unwrap_or(b' '),
        };
        if ending == Ending::Lf && !opts.allow_lf_line_endings {
            return Err(ctx.err(ParseReason::LfLineEnding));
        }
        if ending == Ending::EndOfInput && !opts.allow_missing_final_line_ending {
            return Err(ctx.err(ParseReason::MissingFinalLineEnding));
        }
        if raw.is_empty() {
            if opts.allow_trailing_empty_lines {
                trailing_empty = true;
                continue;
            }
            return Err(ParseError::new(line_no, None, ParseReason::EmptyLine));
        }
        if trailing_empty {
            // An empty line followed by more content is not a trailing empty line.
            return Err(ParseError::new(line_no - 1, None, ParseReason::EmptyLine));
        }
        if ending == Ending::StrayCr {
            return Err(ctx.err(ParseReason::StrayCr));
        }
        let [kind, b'=', ..] = *raw else {
            return Err(ctx.err(ParseReason::NotTypeValue));
        };
        ctx.kind = kind;
        // `raw[1]` is `=` and the line ends at CR, LF or the end: both cuts are character
        // boundaries of `all`.
        let value_start = start + 2;
        let mut value = all
            .get(value_start..)
            .and_then(|v| v.get(..eol.saturating_sub(2)))
            .unwrap_or_default();
        // "s= " (a single space) is RFC 8866's recommended empty session name, not trailing
        // whitespace.
        if let [.., b' ' | b'\t'] = value.as_bytes()
            && !(kind == b's' && value == " ")
        {
            if !opts.allow_trailing_whitespace {
                return Err(ctx.err(ParseReason::TrailingWhitespace));
            }
            value = value.trim_end_matches([' ', '\t']);
        }

        if !seen_v {
            if kind != b'v' {
                return Err(ctx.err(ParseReason::Missing('v')));
            }
            if value != "0" {
                return Err(ctx.err(ParseReason::BadVersion));
            }
            seen_v = true;
            continue;
        }

        if kind != b'm'
            && let Some(media) = sdp.media.last_mut()
        {
            // Media level. `a=` (rank 5, the last) may follow any media-level line.
            if kind == b'a' {
                media_rank_now = 5;
                count_attribute(&ctx, &mut attributes, opts)?;
                parse_attribute(&ctx, value_start, value, opts, &mut media.attributes)?;
                continue;
            }
            let Some(r) = media_rank(kind) else {
                return Err(ctx.err(if session_rank(kind).is_some() {
                    ParseReason::OutOfOrder
                } else {
                    ParseReason::UnknownType
                }));
            };
            if !opts.allow_misordered_lines
                && (r < media_rank_now || (r == media_rank_now && matches!(kind, b'i' | b'k')))
            {
                return Err(ctx.err(ParseReason::OutOfOrder));
            }
            media_rank_now = r;
            match kind {
                b'i' => set_once(&ctx, &mut media.extra_mut().information, value)?,
                b'k' => set_once(&ctx, &mut media.extra_mut().key, value)?,
                b'c' => media.connections.push(parse_connection(&ctx, value)?),
                _ => media
                    .extra_mut()
                    .bandwidths
                    .push(parse_bandwidth(&ctx, value)?),
            }
            continue;
        }

        match kind {
            b'm' => {
                if sdp.media.len() >= opts.max_media {
                    return Err(too_large(&ctx, "media count", opts.max_media));
                }
                if !seen_o {
                    return Err(ctx.err(ParseReason::Missing('o')));
                }
                if !seen_s {
                    return Err(ctx.err(ParseReason::Missing('s')));
                }
                if sdp.times.is_empty() && !opts.allow_missing_time {
                    return Err(ctx.err(ParseReason::Missing('t')));
                }
                parse_media(&ctx, value, opts, &mut sdp.media)?;
                media_rank_now = 0;
                continue;
            }
            b'v' => return Err(ctx.err(ParseReason::Repeated)),
            _ => {}
        }
        let Some(r) = session_rank(kind) else {
            return Err(ctx.err(ParseReason::UnknownType));
        };
        if !opts.allow_misordered_lines {
            // t= may follow r= (several t= each with its r= lines).
            let back_to_t = kind == b't' && rank == 10;
            let repeats = matches!(kind, b'e' | b'p' | b'b' | b't' | b'r' | b'a');
            if (r < rank && !back_to_t) || (r == rank && !repeats) {
                return Err(ctx.err(if r == rank {
                    ParseReason::Repeated
                } else {
                    ParseReason::OutOfOrder
                }));
            }
            if r > 1 && !seen_o {
                return Err(ctx.err(ParseReason::Missing('o')));
            }
            if r > 2 && !seen_s {
                return Err(ctx.err(ParseReason::Missing('s')));
            }
        }
        rank = r;
        match kind {
            b'o' => {
                if seen_o {
                    return Err(ctx.err(ParseReason::Repeated));
                }
                parse_origin(&ctx, value, &mut sdp.origin)?;
                seen_o = true;
            }
            b's' => {
                if seen_s {
                    return Err(ctx.err(ParseReason::Repeated));
                }
                if value.is_empty() && !opts.allow_empty_session_name {
                    return Err(ctx.err(ParseReason::EmptySessionName));
                }
                sdp.session_name = ctx.text(value);
                seen_s = true;
            }
            b'i' => set_once(&ctx, &mut sdp.extra_mut().information, value)?,
            b'u' => set_once(&ctx, &mut sdp.extra_mut().uri, value)?,
            b'e' => sdp.extra_mut().emails.push(ctx.text(value)),
            b'p' => sdp.extra_mut().phones.push(ctx.text(value)),
            b'c' => {
                if sdp.connection.is_some() {
                    return Err(ctx.err(ParseReason::Repeated));
                }
                sdp.connection = Some(parse_connection(&ctx, value)?);
            }
            b'b' => sdp
                .extra_mut()
                .bandwidths
                .push(parse_bandwidth(&ctx, value)?),
            b't' => sdp.times.push(parse_timing(&ctx, value)?),
            b'r' => match sdp.times.last_mut() {
                Some(t) if !value.is_empty() => t.repeats.push(ctx.text(value)),
                Some(_) => return Err(ctx.bad("repeat time")),
                None => return Err(ctx.err(ParseReason::Missing('t'))),
            },
            b'z' => set_once(&ctx, &mut sdp.extra_mut().time_zones, value)?,
            b'k' => set_once(&ctx, &mut sdp.extra_mut().key, value)?,
            _ => {
                count_attribute(&ctx, &mut attributes, opts)?;
                if sdp.attributes.is_empty() {
                    sdp.attributes = Attributes::parsed(4);
                }
                parse_attribute(&ctx, value_start, value, opts, &mut sdp.attributes)?;
            }
        }
    }

    let whole = |c| ParseError::new(0, None, ParseReason::Missing(c));
    if !seen_v {
        return Err(whole('v'));
    }
    if !seen_o {
        return Err(whole('o'));
    }
    if !seen_s {
        return Err(whole('s'));
    }
    if sdp.times.is_empty() && !opts.allow_missing_time {
        return Err(whole('t'));
    }
    if !opts.allow_missing_connection
        && sdp.connection.is_none()
        && let Some(i) = sdp.media.iter().position(|m| m.connections.is_empty())
    {
        // Report the m= line of the first media without a connection.
        let line = media_line_number(all, i);
        return Err(ParseError::new(
            line,
            Some('m'),
            ParseReason::MissingConnection,
        ));
    }
    // The lists with parsed lines are spans of the input: each gets a reference to it, the
    // last one the input itself.
    let mut lists = std::iter::once(&mut sdp.attributes)
        .chain(sdp.media.iter_mut().map(|m| &mut m.attributes))
        .filter(|a| !a.is_empty())
        .peekable();
    while let Some(list) = lists.next() {
        if lists.peek().is_some() {
            list.set_source(src.clone());
        } else {
            list.set_source(src);
            break;
        }
    }
    Ok(sdp)
}

/// Takes the media-level `a=` lines from byte `pos` on, one after another, into `out`, as
/// long as each is one the general loop would accept without a deviation: ended by CRLF,
/// no trailing blank, within `max_attributes`, a valid value for its kind and a token
/// name. Returns the position and number of the last line taken (`(pos, line_no)`
/// unchanged when the first line is not such a line). A line it stops at goes through the
/// general loop, which takes it or names its error: so this loop builds no error, and the
/// result is the same whichever path a line takes.
#[inline(never)]
fn attribute_run(
    all: &str,
    (mut pos, line_no): (usize, usize),
    count: &mut usize,
    opts: &ParseOptions,
    out: &mut Attributes,
) -> (usize, usize) {
    let plus = opts.allow_plus_signed_numbers;
    // The lines `max_attributes` still allows.
    let room = opts.max_attributes.saturating_sub(*count);
    let mut taken = 0;
    // The lines are cut as byte offsets: `a=`, the name and its `:` and the CRLF are ASCII,
    // so each cut is a character boundary, and a `&str` of the name or value is made only
    // for the lines whose value is checked as text.
    while let Some([b'a', b'=', b @ ..]) = all.as_bytes().get(pos..) {
        let usual = usual_attribute(b);
        // The check of an rtpmap, ptime, maxptime or rtcp value in its usual form finds the
        // line's end on its way, and a direction flag's CRLF was read with its name
        // (`checked`); any other line is searched for it.
        let checked_end = match usual {
            Some((Kind::Rtpmap, len)) => b
                .get(len + 1..)
                .and_then(crate::attr::rtpmap_line_end)
                .map(|end| len + 1 + end),
            Some((Kind::Ptime | Kind::Maxptime, len)) => b
                .get(len + 1..)
                .and_then(|v| digits_line_end(v, 9, u32::MAX))
                .map(|end| len + 1 + end),
            // An rtcp port alone, the shape `check_rtcp` accepts directly.
            Some((Kind::Rtcp, len)) => b
                .get(len + 1..)
                .and_then(|v| digits_line_end(v, 5, u32::from(u16::MAX)))
                .map(|end| len + 1 + end),
            // A direction flag: its name is the line.
            Some((Kind::Sendrecv | Kind::Sendonly | Kind::Recvonly | Kind::Inactive, len)) => {
                Some(len)
            }
            _ => None,
        };
        let checked = checked_end.is_some();
        let eol = checked_end.unwrap_or_else(|| find_eol(b));
        if !usual_end(b, eol) || taken >= room {
            break;
        }
        // Offsets in `all`: the line's text (after `a=`) is `text..text + eol`.
        let text = pos + 2;
        // The usual names are recognised with their `:` from the line's first bytes (a
        // value follows the `:`, a flag's name is the whole line); any other line is split
        // at its first `:` and its name looked up.
        let (kind, name_len, value_len) = match usual {
            Some((kind, len)) => (kind, len, (eol > len).then(|| eol - len - 1)),
            None => {
                let Some(line) = all.get(text..text + eol) else {
                    break;
                };
                let (kind, name, value) = match split_byte(line, b':') {
                    Some((n, v)) => (Kind::of(n), n, Some(v)),
                    None => (Kind::of(line), line, None),
                };
                if kind == Kind::Other && !is_token(name) {
                    break;
                }
                (kind, name.len(), value.map(str::len))
            }
        };
        if !checked {
            let value = match value_len {
                Some(len) => match all.get(text + eol - len..text + eol) {
                    Some(v) => Some(v),
                    None => break,
                },
                None => None,
            };
            if crate::attr::validate_kind(kind, value, plus).is_err() {
                break;
            }
        }
        // `parse` checked that the input length fits u32: the casts are exact.
        out.push_parsed(
            kind,
            text as u32,
            name_len as u32,
            value_len.map(|v| v as u32),
        );
        taken += 1;
        pos = text + eol + 2;
    }
    *count += taken;
    (pos, line_no + taken)
}

/// The kind and name length of a line (after `a=`) that starts with one of the usual value
/// attributes' names and its `:`, or that is a direction flag (`sendrecv`, `sendonly`,
/// `recvonly`, `inactive`: eight bytes each) followed by CRLF, found from its first eight
/// bytes: by the first byte, then one masked compare of the word (the name and `:` hold no
/// CR or LF, so a match lies within the line).
#[inline]
fn usual_attribute(line: &[u8]) -> Option<(Kind, usize)> {
    // The first eight bytes as a little-endian word, zero-padded at the end of the input.
    // A fixed-size load when eight bytes follow (the input goes on after the line, so
    // nearly always): the copy of a variable length is a `memcpy` call, some 25
    // instructions a line.
    let w = match line.first_chunk::<8>() {
        Some(head) => u64::from_le_bytes(*head),
        None => {
            let mut head = [0u8; 8];
            if let Some(dst) = head.get_mut(..line.len()) {
                dst.copy_from_slice(line);
            }
            u64::from_le_bytes(head)
        }
    };
    // `name:` as a word and the mask of its bytes.
    const fn prefix(s: &[u8]) -> (u64, u64) {
        let mut w = 0u64;
        let mut i = 0;
        while i < s.len() {
            w |= (s[i] as u64) << (8 * i);
            i += 1;
        }
        let mask = if s.len() >= 8 {
            u64::MAX
        } else {
            (1u64 << (8 * s.len())) - 1
        };
        (w, mask)
    }
    const RTPMAP: (u64, u64) = prefix(b"rtpmap:");
    const RTCP: (u64, u64) = prefix(b"rtcp:");
    const FMTP: (u64, u64) = prefix(b"fmtp:");
    const PTIME: (u64, u64) = prefix(b"ptime:");
    const CRYPTO: (u64, u64) = prefix(b"crypto:");
    const SSRC: (u64, u64) = prefix(b"ssrc:");
    const MID: (u64, u64) = prefix(b"mid:");
    // `maxptime:` is nine bytes: eight in the word, the `:` after it.
    const MAXPTIME: (u64, u64) = prefix(b"maxptime");
    // The direction flags are eight bytes each: the whole word, then the CRLF that ends a
    // usual line after it.
    const SENDRECV: (u64, u64) = prefix(b"sendrecv");
    const SENDONLY: (u64, u64) = prefix(b"sendonly");
    const RECVONLY: (u64, u64) = prefix(b"recvonly");
    const INACTIVE: (u64, u64) = prefix(b"inactive");
    let is = |(p, m): (u64, u64)| w & m == p;
    let flag = |kind| (line.get(8..10) == Some(b"\r\n")).then_some((kind, 8));
    match w as u8 {
        b'r' if is(RTPMAP) => Some((Kind::Rtpmap, 6)),
        b'r' if is(RTCP) => Some((Kind::Rtcp, 4)),
        b'f' if is(FMTP) => Some((Kind::Fmtp, 4)),
        b'p' if is(PTIME) => Some((Kind::Ptime, 5)),
        b'c' if is(CRYPTO) => Some((Kind::Crypto, 6)),
        b's' if is(SSRC) => Some((Kind::Ssrc, 4)),
        b'm' if is(MID) => Some((Kind::Mid, 3)),
        b'm' if is(MAXPTIME) && line.get(8) == Some(&b':') => Some((Kind::Maxptime, 8)),
        b's' if is(SENDRECV) => flag(Kind::Sendrecv),
        b's' if is(SENDONLY) => flag(Kind::Sendonly),
        b'r' if is(RECVONLY) => flag(Kind::Recvonly),
        b'i' if is(INACTIVE) => flag(Kind::Inactive),
        _ => None,
    }
}

/// Counts an `a=` line against `max_attributes`.
fn count_attribute(
    ctx: &Ctx<'_>,
    count: &mut usize,
    opts: &ParseOptions,
) -> Result<(), ParseError> {
    *count += 1;
    if *count > opts.max_attributes {
        return Err(too_large(ctx, "attribute count", opts.max_attributes));
    }
    Ok(())
}

/// Index of the first CR or LF in `bytes` (or its length). On x86-64 memchr's SSE2
/// searcher (SSE2 is part of the base instruction set, so no run-time dispatch): a 16-byte
/// compare and bit mask per step, about 230 instructions fewer per 20-line offer than
/// [`find_eol_swar`]; elsewhere that portable search.
fn find_eol(bytes: &[u8]) -> usize {
    #[cfg(target_arch = "x86_64")]
    if let Some(crlf) = memchr::arch::x86_64::sse2::memchr::Two::new(b'\r', b'\n') {
        return crlf.find(bytes).unwrap_or(bytes.len());
    }
    find_eol_swar(bytes)
}

/// [`find_eol`]'s portable search, sixteen then eight bytes at a time (a byte loop is
/// slower, memchr's generic entry point dispatches at run time). One test flags the bytes
/// below 0x0e (CR is 0x0d, LF 0x0a); a flagged byte that is neither (a tab, say) is stepped
/// over.
fn find_eol_swar(bytes: &[u8]) -> usize {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let mut i = 0;
    // Sixteen bytes at a time first: the test of a block is written so that the compiler
    // makes it one vector compare (SSE2 on x86-64, NEON on aarch64).
    while let Some(block) = bytes.get(i..).and_then(<[u8]>::first_chunk::<16>) {
        let flags: [u8; 16] = std::array::from_fn(|k| if block[k] < 0x0e { 0xff } else { 0 });
        let flags = u128::from_le_bytes(flags);
        if flags != 0 {
            let at = i + (flags.trailing_zeros() / 8) as usize;
            if matches!(bytes.get(at), Some(b'\n' | b'\r')) {
                return at;
            }
            i = at + 1;
            continue;
        }
        i += 16;
    }
    while let Some(word) = bytes.get(i..).and_then(<[u8]>::first_chunk::<8>) {
        let v = u64::from_le_bytes(*word);
        // The lowest flagged byte is exact (borrows only run upwards).
        let below = v.wrapping_sub(LO * 0x0e) & !v & HI;
        if below != 0 {
            let at = i + (below.trailing_zeros() / 8) as usize;
            if matches!(bytes.get(at), Some(b'\n' | b'\r')) {
                return at;
            }
            i = at + 1;
            continue;
        }
        i += 8;
    }
    while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
        i += 1;
    }
    i
}

fn media_line_number(all: &str, index: usize) -> usize {
    all.split('\n')
        .enumerate()
        .filter(|(_, l)| l.starts_with("m="))
        .nth(index)
        .map_or(0, |(n, _)| n + 1)
}

fn too_large(ctx: &Ctx<'_>, what: &'static str, limit: usize) -> ParseError {
    ctx.err(ParseReason::TooLarge { what, limit })
}

fn set_once(ctx: &Ctx<'_>, slot: &mut Option<Text>, value: &str) -> Result<(), ParseError> {
    if slot.is_some() {
        return Err(ctx.err(ParseReason::Repeated));
    }
    *slot = Some(ctx.text(value));
    Ok(())
}

/// Splits `n` single-space separated fields; an empty field (double space) is an error.
fn fields<'a, const N: usize>(
    ctx: &Ctx<'_>,
    value: &'a str,
    names: [&'static str; N],
) -> Result<[&'a str; N], ParseError> {
    let mut out = [""; N];
    let bytes = value.as_bytes();
    let mut start = 0;
    for (i, (slot, name)) in out.iter_mut().zip(names).enumerate() {
        // The last field takes the rest of the line.
        let end = if i + 1 == N {
            bytes.len()
        } else {
            let mut e = start;
            while e < bytes.len() && bytes[e] != b' ' {
                e += 1;
            }
            e
        };
        // Cut as `start..` then `..len`: the two one-sided cuts are inlined, a `Range` cut
        // of a `str` is an out-of-line call (20 instructions a field).
        match value
            .get(start..)
            .and_then(|v| v.get(..end.saturating_sub(start)))
        {
            Some(f) if !f.is_empty() => *slot = f,
            _ => return Err(ctx.bad(name)),
        }
        start = end + 1;
    }
    Ok(out)
}

/// RFC 8866 §9 token-char: %x21 / %x23-27 / %x2A-2B / %x2D-2E / %x30-39 / %x41-5A /
/// %x5E-7E, as a table (every token byte is ASCII, so a byte test is exact on UTF-8).
const TOKEN: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0x21;
    while c <= 0x7e {
        t[c] = matches!(c, 0x21 | 0x23..=0x27 | 0x2a..=0x2b | 0x2d..=0x2e | 0x30..=0x39
            | 0x41..=0x5a | 0x5e..=0x7e);
        c += 1;
    }
    t
};

fn is_token(s: &str) -> bool {
    is_token_bytes(s.as_bytes())
}

fn is_token_bytes(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|b| TOKEN[usize::from(*b)])
}

/// An RTP payload type as a format: 0..=127 in decimal without leading zeros.
pub(crate) fn is_payload_type(f: &[u8]) -> bool {
    let digit = |b: u8| b.is_ascii_digit();
    match *f {
        [a] => digit(a),
        [b'1'..=b'9', b] => digit(b),
        [b'1', b, c] => digit(b) && digit(c) && (b, c) <= (b'2', b'7'),
        _ => false,
    }
}

/// Parses an `o=` value into `out` (written in place: an `Origin` is some 200 bytes, and
/// assigning a returned one copies it and drops the placeholder).
fn parse_origin(ctx: &Ctx<'_>, value: &str, out: &mut Origin) -> Result<(), ParseError> {
    if let Some(fields) = origin_usual(value) {
        set_origin(ctx, fields, out);
        return Ok(());
    }
    parse_origin_fields(ctx, value, out)
}

/// Writes [`origin_usual`]'s fields into `out`.
#[inline]
fn set_origin(
    ctx: &Ctx<'_>,
    (user, id, session_version, addr_type, address): (&str, &str, u64, AddrType, &str),
    out: &mut Origin,
) {
    out.addr_type = addr_type;
    out.username = ctx.text(user);
    out.session_id = ctx.text(id);
    out.session_version = session_version;
    out.net_type = Text::from_static("IN");
    out.address = ctx.text(address);
}

/// The value of the line of type `kind` at byte `pos` of `all` and the position of the
/// next line, when the line is ended by CRLF and its value has no trailing blank (the
/// lines the general checks take without a deviation).
#[inline]
fn usual_line(all: &str, pos: usize, kind: u8) -> Option<(&str, usize)> {
    let rest = all.as_bytes().get(pos..)?;
    if rest.first() != Some(&kind) || rest.get(1) != Some(&b'=') {
        return None;
    }
    let eol = find_eol(rest);
    if !usual_end(rest, eol) {
        return None;
    }
    // `=` and CR are ASCII: both cuts are character boundaries.
    Some((all.get(pos + 2..pos + eol)?, pos + eol + 2))
}

/// Whether the line in `b` whose end was found at `eol` ends as the usual lines do: by CRLF,
/// with no blank before it (the lines the general checks take without a deviation).
#[inline]
fn usual_end(b: &[u8], eol: usize) -> bool {
    matches!((b.get(eol), b.get(eol + 1)), (Some(b'\r'), Some(b'\n')))
        && !matches!(b.get(eol.wrapping_sub(1)), Some(b' ' | b'\t'))
}

/// The usual `o=` value, `<username> <sess-id> <sess-version> IN IP4|IP6 <address>`, read in
/// one pass: the id and the version by their digit runs (the version's value computed on
/// the way), not split at spaces first and checked after. `None` for any other value;
/// [`parse_origin_fields`] reads every value to the same result (a test compares them).
#[inline]
fn origin_usual(value: &str) -> Option<(&str, &str, u64, AddrType, &str)> {
    let (user, rest) = split_byte(value, b' ')?;
    // The id and the version as digit runs found eight bytes a word: any number of digits
    // is a valid id, only a run of up to 19 (nearly all ids) is taken here, and a version of
    // up to 19 digits fits `u64` (the general path reads the others).
    let id_len = crate::attr::digit_run(rest.as_bytes());
    let (id, rest) = rest.split_at_checked(id_len)?;
    let rest = rest.strip_prefix(' ')?;
    let version_len = crate::attr::digit_run(rest.as_bytes());
    let (version, rest) = rest.split_at_checked(version_len)?;
    // A leading zero would not write back identically (`canonical_u64`).
    if user.is_empty()
        || !(1..=19).contains(&id_len)
        || !(1..=19).contains(&version_len)
        || (version_len > 1 && version.starts_with('0'))
    {
        return None;
    }
    let session_version = version
        .bytes()
        .fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
    let (addr_type, address) = rest
        .strip_prefix(" IN IP4 ")
        .map(|a| (AddrType::Ip4, a))
        .or_else(|| rest.strip_prefix(" IN IP6 ").map(|a| (AddrType::Ip6, a)))?;
    if address.is_empty() || find_byte(address.as_bytes(), b' ').is_some() {
        return None;
    }
    Some((user, id, session_version, addr_type, address))
}

/// [`parse_origin`] for any value.
fn parse_origin_fields(ctx: &Ctx<'_>, value: &str, out: &mut Origin) -> Result<(), ParseError> {
    let [user, id, version, net, addr_type, address] = fields(
        ctx,
        value,
        [
            "username",
            "sess-id",
            "sess-version",
            "nettype",
            "addrtype",
            "unicast-address",
        ],
    )?;
    if !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ctx.bad("sess-id"));
    }
    // Leading zeros would not write back identically; real peers do not send them.
    let session_version = canonical_u64(version).ok_or_else(|| ctx.bad("sess-version"))?;
    if !is_token(net) {
        return Err(ctx.bad("nettype"));
    }
    if has_byte(address, b' ') {
        return Err(ctx.bad("unicast-address"));
    }
    out.addr_type = addr_type_of(ctx, addr_type)?;
    out.username = ctx.text(user);
    out.session_id = ctx.text(id);
    out.session_version = session_version;
    out.net_type = ctx.text(net);
    out.address = ctx.text(address);
    Ok(())
}

fn addr_type_of(ctx: &Ctx<'_>, s: &str) -> Result<AddrType, ParseError> {
    match s {
        "IP4" => Ok(AddrType::Ip4),
        "IP6" => Ok(AddrType::Ip6),
        _ if is_token(s) => Ok(AddrType::Other(ctx.text(s))),
        _ => Err(ctx.bad("addrtype")),
    }
}

/// `<address>[/<ttl>][/<count>]` (RFC 8866 §5.7): IPv4 multicast carries a TTL before the
/// count, IPv6 only a count. Numbers are decimal digits without leading zeros (so that they
/// write back identically) that fit a `u32`.
fn connection_address(address: &str) -> Option<(&str, Option<u32>, Option<u32>)> {
    // The usual unicast form, the address alone; the same result as
    // `connection_address_parts` (a test compares them).
    if is_bare_address(address) {
        return Some((address, None, None));
    }
    connection_address_parts(address)
}

/// `address` is an address alone (no `/` before a TTL or count, no space), not empty: one
/// pass for both bytes, eight at a time from eight bytes on (the last word overlaps the one
/// before it).
#[inline]
fn is_bare_address(address: &str) -> bool {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    // Whether a byte of `w` is `/` or a space: a zero byte of `w ^ pattern` (exact as a
    // yes/no answer).
    let clean = |w: &[u8; 8]| {
        let w = u64::from_le_bytes(*w);
        let (slash, space) = (w ^ (LO * u64::from(b'/')), w ^ (LO * u64::from(b' ')));
        ((slash.wrapping_sub(LO) & !slash) | (space.wrapping_sub(LO) & !space)) & HI == 0
    };
    let b = address.as_bytes();
    let Some(last) = b.last_chunk::<8>() else {
        return !b.is_empty() && !b.iter().any(|c| *c == b'/' || *c == b' ');
    };
    let mut words = b.chunks_exact(8);
    words.all(|w| w.first_chunk::<8>().is_some_and(clean)) && clean(last)
}

/// [`connection_address`] for any value: the address, then each number after a `/`.
fn connection_address_parts(address: &str) -> Option<(&str, Option<u32>, Option<u32>)> {
    let mut parts = split_on(address, b'/');
    let host = parts
        .next()
        .filter(|h| !h.is_empty() && !has_byte(h, b' '))?;
    let mut number = || {
        parts.next().map(|n| {
            canonical_u64(n)
                .and_then(|n| u32::try_from(n).ok())
                .ok_or(())
        })
    };
    let first = number().transpose().ok()?;
    let second = number().transpose().ok()?;
    if first.is_none() && second.is_some() || parts.next().is_some() {
        return None;
    }
    Some((host, first, second))
}

fn parse_connection(ctx: &Ctx<'_>, value: &str) -> Result<Connection, ParseError> {
    match connection_usual(ctx, value) {
        Some(connection) => Ok(connection),
        None => parse_connection_fields(ctx, value),
    }
}

/// The usual form, `IN IP4|IP6 <unicast address>`: [`parse_connection_fields`] would split,
/// check and match its fields to the same result (a test compares the two paths).
#[inline]
fn connection_usual(ctx: &Ctx<'_>, value: &str) -> Option<Connection> {
    let (addr_type, rest) = value
        .strip_prefix("IN IP4 ")
        .map(|r| (AddrType::Ip4, r))
        .or_else(|| value.strip_prefix("IN IP6 ").map(|r| (AddrType::Ip6, r)))?;
    is_bare_address(rest).then(|| Connection {
        net_type: Text::from_static("IN"),
        addr_type,
        address: ctx.text(rest),
        ttl: None,
        count: None,
    })
}

/// [`parse_connection`] for any value.
fn parse_connection_fields(ctx: &Ctx<'_>, value: &str) -> Result<Connection, ParseError> {
    let [net, addr_type, address] =
        fields(ctx, value, ["nettype", "addrtype", "connection-address"])?;
    if !is_token(net) {
        return Err(ctx.bad("nettype"));
    }
    let addr_type = addr_type_of(ctx, addr_type)?;
    let Some((host, first, second)) = connection_address(address) else {
        return Err(ctx.bad("connection-address"));
    };
    let (ttl, count) = match (&addr_type, first, second) {
        (_, None, _) => (None, None),
        (AddrType::Ip6, Some(n), None) => (None, Some(n)),
        (AddrType::Ip6, Some(_), Some(_)) => return Err(ctx.bad("connection-address")),
        (_, Some(t), n) => (
            Some(u8::try_from(t).map_err(|_| ctx.bad("multicast ttl"))?),
            n,
        ),
    };
    Ok(Connection {
        net_type: ctx.text(net),
        addr_type,
        address: ctx.text(host),
        ttl,
        count,
    })
}

fn parse_bandwidth(ctx: &Ctx<'_>, value: &str) -> Result<Bandwidth, ParseError> {
    let Some((kind, bw)) = split_byte(value, b':') else {
        return Err(ctx.bad("bandwidth"));
    };
    if !is_token(kind) {
        return Err(ctx.bad("bwtype"));
    }
    if bw.is_empty()
        || !bw.bytes().all(|b| b.is_ascii_digit())
        || (bw.len() > 1 && bw.starts_with('0'))
    {
        return Err(ctx.bad("bandwidth value"));
    }
    let value = bw.parse().map_err(|_| ctx.bad("bandwidth value"))?;
    Ok(Bandwidth {
        kind: ctx.text(kind),
        value,
    })
}

fn parse_timing(ctx: &Ctx<'_>, value: &str) -> Result<Timing, ParseError> {
    // `t=0 0`, the unbounded session of nearly every SIP description.
    if value == "0 0" {
        return Ok(Timing {
            start: 0,
            stop: 0,
            repeats: Vec::new(),
        });
    }
    let [start, stop] = fields(ctx, value, ["start-time", "stop-time"])?;
    let start = canonical_u64(start).ok_or_else(|| ctx.bad("start-time"))?;
    let stop = canonical_u64(stop).ok_or_else(|| ctx.bad("stop-time"))?;
    Ok(Timing {
        start,
        stop,
        repeats: Vec::new(),
    })
}

/// A decimal without sign or leading zeros (so it writes back identically).
pub(crate) fn canonical_u64(s: &str) -> Option<u64> {
    match s.as_bytes() {
        [b'0'] => Some(0),
        // Up to 19 digits cannot overflow a `u64`. From eight on (an `o=` session id or
        // version, an NTP time) the first eight are read at once, the rest one by one.
        b @ [b'1'..=b'9', ..] if b.len() <= 19 => {
            let (n, rest) = match b.split_first_chunk::<8>() {
                Some((head, rest)) => (eight_digits(*head)?, rest),
                None => (0, b),
            };
            rest.iter().try_fold(n, |n, c| {
                let d = c.wrapping_sub(b'0');
                (d <= 9).then(|| n * 10 + u64::from(d))
            })
        }
        [b'1'..=b'9', ..] => crate::attr::decimal(s),
        _ => None,
    }
}

/// The number written by eight ASCII decimal digits, `None` if a byte is not one. One
/// 64-bit word: the digit test, then pairs, quads and the whole joined by three multiplies
/// (each lane's value stays below its width, so no product carries into the next lane).
fn eight_digits(b: [u8; 8]) -> Option<u64> {
    const ZEROS: u64 = 0x3030_3030_3030_3030;
    const HIGH: u64 = 0xf0f0_f0f0_f0f0_f0f0;
    let v = u64::from_le_bytes(b);
    // Every high nibble is 3 and adding 6 leaves it so: each byte is 0x30..=0x39.
    if v & HIGH != ZEROS || v.wrapping_add(0x0606_0606_0606_0606) & HIGH != ZEROS {
        return None;
    }
    // The first digit is in the low byte.
    let d = v - ZEROS;
    let d = (d * 10 + (d >> 8)) & 0x00ff_00ff_00ff_00ff;
    let d = (d * 100 + (d >> 16)) & 0x0000_ffff_0000_ffff;
    Some((d * 10_000 + (d >> 32)) & 0xffff_ffff)
}

/// Parses an `m=` value and appends the media description to `out`.
fn parse_media(
    ctx: &Ctx<'_>,
    value: &str,
    opts: &ParseOptions,
    out: &mut crate::list::List<Media>,
) -> Result<(), ParseError> {
    let (kind, port, port_count, proto, fmts) = match media_usual(value) {
        Some((kind, port, proto, fmts)) => (kind, port, None, proto, fmts),
        None => media_fields(ctx, value, opts)?,
    };
    // A known media type is a token: only another one is checked.
    let kind = MediaKind::from_token(kind, || ctx.text(kind));
    if let MediaKind::Other(t) = &kind
        && !is_token(t.as_str())
    {
        return Err(ctx.bad("media"));
    }
    // A known protocol is tokens separated by `/`: only another one is checked.
    let protocol = Protocol::from_token(proto, || ctx.text(proto));
    if matches!(protocol, Protocol::Other(_))
        && !proto.as_bytes().split(|b| *b == b'/').all(is_token_bytes)
    {
        return Err(ctx.bad("proto"));
    }
    let declined_any = port == 0 && opts.allow_declined_media_any_format;
    let rtp = protocol.is_rtp() && !declined_any;
    for f in fmts
        .as_bytes()
        .split(|b| *b == b' ')
        .filter(|f| !(declined_any && f.is_empty()))
    {
        // A payload type is a token: the token test only decides which error it is.
        if rtp && is_payload_type(f) {
            continue;
        }
        if !is_token_bytes(f) {
            return Err(ctx.bad("fmt"));
        }
        if rtp {
            return Err(ctx.bad("payload type"));
        }
    }
    // Typical SIP media sections carry 5 to 20 attributes.
    out.push(Media::parsed(
        kind,
        port,
        port_count,
        protocol,
        ctx.text(fmts),
        16,
    ));
    Ok(())
}

/// The usual `m=` value, `<media> <port> <proto> <fmt list>` with the port as digits and
/// no number of ports, split in one pass: the port by its digit run (its value computed on
/// the way), not cut at a space first and read after. `None` for any other value, which
/// [`media_fields`] splits to the same result (a test compares them).
#[inline]
fn media_usual(value: &str) -> Option<(&str, u16, &str, &str)> {
    let (kind, rest) = split_byte(value, b' ')?;
    let (port, after_port) = crate::attr::leading_digits(rest.as_bytes())?;
    let (digits, rest) = rest.split_at_checked(rest.len() - after_port.len())?;
    let (proto, fmts) = split_byte(rest.strip_prefix(' ')?, b' ')?;
    // A leading zero would not write back identically (`canonical_u64`).
    if kind.is_empty()
        || proto.is_empty()
        || fmts.is_empty()
        || (digits.len() > 1 && digits.starts_with('0'))
    {
        return None;
    }
    Some((kind, u16::try_from(port).ok()?, proto, fmts))
}

/// The fields of any `m=` value: media, port, number of ports, proto and format list, or
/// the error of the first bad one (the media type is checked before the port).
fn media_fields<'a>(
    ctx: &Ctx<'_>,
    value: &'a str,
    opts: &ParseOptions,
) -> Result<(&'a str, u16, Option<u16>, &'a str, &'a str), ParseError> {
    let [kind, port, proto, fmts] = match fields(ctx, value, ["media", "port", "proto", "fmt"]) {
        Ok(f) => f,
        // `m=<media> 0 <proto>` with no format, when declined streams may have none.
        Err(e) => match fields(ctx, value, ["media", "port", "proto"]) {
            Ok([kind, port @ "0", proto]) if opts.allow_declined_media_any_format => {
                [kind, port, proto, ""]
            }
            _ => return Err(e),
        },
    };
    // Every known media type is a token.
    if !is_token(kind) {
        return Err(ctx.bad("media"));
    }
    let (port, port_count) = match split_byte(port, b'/') {
        Some((p, n)) => (p, Some(n)),
        None => (port, None),
    };
    let port = canonical_u64(port)
        .and_then(|p| u16::try_from(p).ok())
        .ok_or_else(|| ctx.bad("port"))?;
    let port_count = match port_count {
        Some(n) => Some(
            canonical_u64(n)
                .and_then(|n| u16::try_from(n).ok())
                .ok_or_else(|| ctx.bad("number of ports"))?,
        ),
        None => None,
    };
    Ok((kind, port, port_count, proto, fmts))
}

/// Parses an `a=` value (at byte `start` of the input) and appends it to `out` as a span
/// of the input: nothing is copied or built, the entry records where the name and value
/// are and the attribute's kind.
fn parse_attribute(
    ctx: &Ctx<'_>,
    start: usize,
    value: &str,
    opts: &ParseOptions,
    out: &mut Attributes,
) -> Result<(), ParseError> {
    let (name, val) = match split_byte(value, b':') {
        Some((n, v)) => (n, Some(v)),
        None => (value, None),
    };
    let kind = match crate::attr::validate(name, val, opts.allow_plus_signed_numbers) {
        Ok(kind) => kind,
        // `a=fmtp:<format>` alone: a format token and nothing after it.
        Err(_)
            if opts.allow_fmtp_without_parameters
                && name == "fmtp"
                && val.is_some_and(is_token) =>
        {
            Kind::Fmtp
        }
        Err(e) => {
            return Err(ctx.err(ParseReason::BadAttribute {
                attribute: e.attribute,
                field: e.field,
            }));
        }
    };
    if kind == Kind::Other && !is_token(name) {
        return Err(ctx.bad("attribute name"));
    }
    // `parse` checked that the input length fits u32, so every offset does: the cast is
    // exact (a checked conversion costs some 7 instructions a line here).
    let offset = |n: usize| n as u32;
    out.push_parsed(
        kind,
        offset(start),
        offset(name.len()),
        val.map(|v| offset(v.len())),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::{
        Ctx, ParseOptions, canonical_u64, connection_address, connection_address_parts, find_eol,
        find_eol_swar, is_payload_type, is_token, media_fields, media_usual, parse_connection,
        parse_connection_fields, parse_origin, parse_origin_fields,
    };
    use crate::error::ParseReason;
    use crate::model::Sdp;

    #[test]
    fn parse_connection_agrees_with_its_general_path() {
        // The `IN IP4|IP6 ` prefix and its near misses, each followed by every string of 0
        // to 4 bytes from an address's bytes and the separators.
        let heads = [
            "IN IP4 ", "IN IP6 ", "IN IP4", "IN IP4  ", "IN  IP4 ", "in IP4 ", "IN IPX ", "IN IP ",
            "IN IP6/",
        ];
        let tails = crate::attr::tests::text_cases(
            b"1.:/ ",
            4,
            &["192.0.2.1", "224.2.1.1", "ff15::101"],
            &["", "/127", "/127/3", "/3", " x", "/"],
        );
        for head in heads {
            for tail in &tails {
                let src = Bytes::from(format!("{head}{tail}"));
                let (ctx, value) = line_of(&src, b'c');
                assert_eq!(
                    format!("{:?}", parse_connection(&ctx, value)),
                    format!("{:?}", parse_connection_fields(&ctx, value)),
                    "{value:?}"
                );
            }
        }
    }

    /// The context and value of a line of type `kind` whose value is all of `src`.
    fn line_of(src: &Bytes, kind: u8) -> (Ctx<'_>, &str) {
        let value = std::str::from_utf8(src).unwrap_or_default();
        (Ctx { src, line: 2, kind }, value)
    }

    #[test]
    fn usual_attribute_agrees_with_the_name_lookup() {
        use crate::attributes::Kind;
        // Every usual name, cut short, lengthened, with another byte after it or at its
        // end, alone (fewer than eight bytes to read), and followed by the rest of a line.
        for name in [
            "rtpmap", "fmtp", "ptime", "crypto", "ssrc", "rtcp", "mid", "maxptime", "sendrecv",
            "sendonly", "recvonly", "inactive", "x",
        ] {
            let mut cases = vec![name.to_owned()];
            for cut in 0..name.len() {
                cases.push(format!("{}:", &name[..cut]));
            }
            for after in [
                ":",
                ":0 PCMU/8000\r\n",
                "x:",
                " :",
                ":\r\na=x",
                "\r\n",
                "/:",
            ] {
                cases.push(format!("{name}{after}"));
                cases.push(format!("x{name}{after}"));
            }
            for line in cases {
                let want = line.split_once(':').and_then(|(n, _)| {
                    let kind = Kind::of(n);
                    (kind != Kind::Other).then_some((kind, n.len()))
                });
                // Only the value attributes are recognised; a flag or unknown name is not,
                // but for a direction flag that its CRLF ends.
                let want = want.filter(|(k, _)| {
                    !matches!(
                        k,
                        Kind::Sendrecv | Kind::Sendonly | Kind::Recvonly | Kind::Inactive
                    )
                });
                let want = want.or_else(|| {
                    let (n, _) = line.split_once("\r\n")?;
                    let kind = Kind::of(n);
                    let flags = ["sendrecv", "sendonly", "recvonly", "inactive"];
                    flags.contains(&n).then_some((kind, 8))
                });
                assert_eq!(super::usual_attribute(line.as_bytes()), want, "{line:?}");
            }
        }
    }

    #[test]
    fn parse_origin_agrees_with_its_general_path() {
        // The usual `IN IP4|IP6 ` form and its near misses after the first three fields,
        // which are varied too, each followed by every string of 0 to 3 bytes from an
        // address's bytes and a space.
        let heads = [
            "- 1 1 ",
            "- 0 0 ",
            "- 01 1 ",
            "- 1 01 ",
            "- x 1 ",
            "- 1 x ",
            "-  1 1 ",
            "- 1 1",
            "user 123 18446744073709551615 ",
            "u 1 18446744073709551616 ",
            "u 18446744073709551616 1 ",
            "u 123456789012345678901234 1 ",
            "u 1 12345678901234567890 ",
            "u 1 0 ",
            "u 1 00 ",
            "u 1 1x ",
            "u 1x 1 ",
            "u 1 +1 ",
            " 1 1 ",
            "- 1  1 ",
            "- 1 1/ ",
        ];
        let nets = [
            "IN IP4 ",
            "IN IP6 ",
            "IN IP4",
            "IN IP4  ",
            "IN  IP4 ",
            "in IP4 ",
            "IN IPX ",
            "IN ",
            "IN\"x IP4 ",
            "X IP4 ",
        ];
        let tails = crate::attr::tests::text_cases(b"1. ", 3, &["192.0.2.1", "::1"], &[""]);
        let mut out = [Sdp::parse_start().origin, Sdp::parse_start().origin];
        for head in heads {
            for net in nets {
                for tail in &tails {
                    let src = Bytes::from(format!("{head}{net}{tail}"));
                    let (ctx, value) = line_of(&src, b'o');
                    let [fast, general] = &mut out;
                    let a = parse_origin(&ctx, value, fast);
                    let b = parse_origin_fields(&ctx, value, general);
                    assert_eq!(format!("{a:?}"), format!("{b:?}"), "{value:?}");
                    if a.is_ok() {
                        assert_eq!(fast, general, "{value:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn media_usual_agrees_with_media_fields() {
        // Media types, ports around the limits and their near misses, protocols and format
        // lists, joined by one space, two or none: every split `media_usual` takes must be
        // the one `media_fields` makes, and whatever it declines goes through
        // `media_fields` (whose errors are then those of the general path).
        let kinds = ["audio", "x", "", "a\"b", "audio/"];
        let ports = [
            "40000",
            "0",
            "00",
            "01",
            "65535",
            "65536",
            "99999999999999999999999",
            "9/2",
            "",
            "x",
            "+9",
            "9x",
            "9 ",
        ];
        let protos = ["RTP/AVP", "x", "", " "];
        let formats = ["0 8 101", "0", "", " ", "0  8"];
        let mut n = 0;
        for kind in kinds {
            for port in ports {
                for proto in protos {
                    for fmts in formats {
                        for sep in [" ", "  ", ""] {
                            let value = [kind, port, proto, fmts].join(sep);
                            let src = Bytes::from(value);
                            let (ctx, value) = line_of(&src, b'm');
                            if let Some((kind, port, proto, fmts)) = media_usual(value) {
                                let general = media_fields(&ctx, value, &ParseOptions::strict());
                                // `parse_media` checks the media type of a usual split after
                                // it, with the error `media_fields` names first.
                                let usual = if is_token(kind) {
                                    Ok((kind, port, None::<u16>, proto, fmts))
                                } else {
                                    Err(ctx.bad("media"))
                                };
                                assert_eq!(
                                    format!("{general:?}"),
                                    format!("{usual:?}"),
                                    "{value:?}"
                                );
                                n += 1;
                            }
                        }
                    }
                }
            }
        }
        // The usual lines were among the cases.
        assert!(n > 20, "{n}");
    }

    #[test]
    fn connection_address_agrees_with_its_general_path() {
        // Every string of 0 to 6 bytes from an address's bytes, the separators and digits,
        // then multicast forms around the numbers' limits.
        let cases = crate::attr::tests::text_cases(
            b"a1/ 0",
            6,
            &[
                "224.2.1.1/",
                "224.2.1.1/0",
                "224.2.1.1/01",
                "224.2.1.1/255",
                "224.2.1.1/256",
                "224.2.1.1/4294967295",
                "224.2.1.1/4294967296",
                "224.2.1.1/+1",
            ],
            &["", "/2", "/", "/2/3", " "],
        );
        for c in &cases {
            assert_eq!(connection_address(c), connection_address_parts(c), "{c:?}");
        }
    }

    #[test]
    fn is_payload_type_matches_canonical_u64() {
        // Every string of 0 to 4 bytes from digits and bytes next to them.
        for f in crate::attr::tests::all_strings(b"0123456789/:+ a", 4) {
            let slow = std::str::from_utf8(&f)
                .ok()
                .and_then(canonical_u64)
                .is_some_and(|pt| pt <= 127);
            assert_eq!(is_payload_type(&f), slow, "{f:?}");
        }
    }

    #[test]
    fn canonical_u64_matches_str_parse() {
        // Lengths around the eight-digit word and the 19/20-digit limit, with a non-digit
        // (or a leading zero) at every position, and every string of up to 3 bytes.
        let slow = |s: &str| {
            (s == "0" || (!s.starts_with('0') && s.bytes().all(|b| b.is_ascii_digit())))
                .then(|| s.parse::<u64>().ok())
                .flatten()
        };
        let mut cases: Vec<String> = crate::attr::tests::all_strings(b"019/:a", 3)
            .filter_map(|b| String::from_utf8(b).ok())
            .collect();
        for len in 1..=21 {
            for digits in ["1234567890123456789012", "9999999999999999999999"] {
                let base = &digits[..len];
                cases.push(base.to_owned());
                for at in 0..len {
                    for bad in ["/", ":", "0", " ", "a", "\u{e9}"] {
                        let mut s = base.to_owned();
                        s.replace_range(at..at + 1, bad);
                        cases.push(s);
                    }
                }
            }
        }
        cases.extend(
            [
                "18446744073709551615",
                "18446744073709551616",
                "10000000",
                "99999999",
            ]
            .map(String::from),
        );
        for s in &cases {
            assert_eq!(canonical_u64(s), slow(s), "{s:?}");
        }
    }

    #[test]
    fn is_bare_address_matches_a_byte_loop() {
        for s in crate::attr::tests::all_strings(b"1/ .", 5).chain((0..20).flat_map(|len| {
            (0..=len).flat_map(move |at| {
                [b'/', b' ', b'.', 0x2f ^ 0x80, 0x20 ^ 0x01].map(|mark| {
                    let mut v = vec![b'9'; len];
                    if let Some(b) = v.get_mut(at) {
                        *b = mark;
                    }
                    v
                })
            })
        })) {
            let Ok(s) = String::from_utf8(s) else {
                continue;
            };
            let slow = !s.is_empty() && !s.bytes().any(|c| c == b'/' || c == b' ');
            assert_eq!(super::is_bare_address(&s), slow, "{s:?}");
        }
    }

    /// The attribute run takes an rtpmap's or ptime's line end from its value's check: a
    /// CR inside such a line is still a stray CR, and a bad value still an error of its line.
    #[test]
    fn checked_attribute_lines_end_at_their_first_cr_or_lf() {
        let offer = |lines: &str| {
            format!(
                "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n\
                 m=audio 4000 RTP/AVP 0 8\r\n{lines}a=sendrecv\r\n"
            )
        };
        let sdp = Sdp::parse(offer(
            "a=rtpmap:0 PCMU/8000\r\na=ptime:20\r\na=maxptime:150\r\n",
        ));
        let sdp = sdp.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(sdp.media[0].attributes.len(), 4);
        assert_eq!(
            sdp.media[0].rtpmap(0).map(|r| r.encoding),
            Some("PCMU".into())
        );
        for (lines, reason) in [
            ("a=rtpmap:0 PC\rMU/8000\r\n", ParseReason::StrayCr),
            ("a=rtpmap:0 PCMU/8000\rx\r\n", ParseReason::StrayCr),
            ("a=ptime:2\r0\r\n", ParseReason::StrayCr),
            ("a=maxptime:150\n", ParseReason::LfLineEnding),
        ] {
            let e = Sdp::parse(offer(lines)).err();
            assert_eq!(
                e.map(|e| (e.line, e.reason)),
                Some((7, reason)),
                "{lines:?}"
            );
        }
        let e = Sdp::parse(offer("a=ptime:20x\r\n")).err();
        assert_eq!(e.map(|e| e.line), Some(7));
        // An rtcp port alone is scanned as ptime is, up to 65535 and five digits.
        let sdp = Sdp::parse(offer("a=rtcp:65535\r\na=rtcp:0\r\n"));
        assert_eq!(sdp.map(|s| s.media[0].attributes.len()), Ok(3));
        for port in ["65536", "99999", "1000000"] {
            let e = Sdp::parse(offer(&format!("a=rtcp:{port}\r\n"))).err();
            assert_eq!(e.map(|e| e.line), Some(7), "{port}");
        }
    }

    /// The usual session head is taken whole (`v=0`, `o=`, `s=`, `c=`, `t=0 0` in their usual
    /// forms): it parses to what the general checks make of the same lines (a trailing
    /// blank sends a line and those after it through them, which the lenient parse strips),
    /// and a line after it is checked with the line number, order and seen lines the
    /// general checks would have.
    #[test]
    fn the_usual_head_parses_as_the_general_checks_do() {
        let head = [
            "v=0",
            "o=- 3903548297 3903548297 IN IP4 192.0.2.1",
            "s=-",
            "c=IN IP4 192.0.2.1",
            "t=0 0",
        ];
        let tail = "m=audio 4000 RTP/AVP 0\r\na=sendrecv\r\n";
        let join = |lines: &[&str], blanks: u32| {
            let mut out = String::new();
            for (i, l) in lines.iter().enumerate() {
                let blank = if blanks >> i & 1 == 1 { " " } else { "" };
                out.push_str(&format!("{l}{blank}\r\n"));
            }
            out + tail
        };
        let usual = Sdp::parse(join(&head, 0)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(usual.origin.session_version, 3_903_548_297);
        assert_eq!(usual.times.len(), 1);
        for blanks in 1..32 {
            let input = join(&head, blanks);
            let lenient = Sdp::parse_with(input.clone(), &ParseOptions::lenient());
            assert_eq!(lenient.as_ref().ok(), Some(&usual), "{input:?}");
            let first = (0..5).find(|i| blanks >> i & 1 == 1).map(|i| i + 1);
            let strict = Sdp::parse(input.clone()).err().map(|e| (e.line, e.reason));
            assert_eq!(
                strict,
                first.map(|line| (line, ParseReason::TrailingWhitespace)),
                "{input:?}"
            );
        }
        // A line after the first `taken` head lines: the error and its line.
        let c = "c=IN IP4 192.0.2.2";
        for (taken, line, reason) in [
            (1, "s=-", Some(ParseReason::Missing('o'))),
            (2, "o=- 1 1 IN IP4 a", Some(ParseReason::Repeated)),
            (2, c, Some(ParseReason::Missing('s'))),
            (3, "o=- 1 1 IN IP4 a", Some(ParseReason::OutOfOrder)),
            (4, c, Some(ParseReason::Repeated)),
            (5, c, Some(ParseReason::OutOfOrder)),
            (5, "x=1", Some(ParseReason::UnknownType)),
            (5, "t=0 0", None),
            (4, "b=AS:64", None),
        ] {
            let lines: Vec<&str> = head[..taken].iter().copied().chain([line]).collect();
            let rest = &head[taken..];
            // The head's remaining lines after the probe, then the media.
            let input = join(&lines, 0).replacen(tail, &join(rest, 0), 1);
            let got = Sdp::parse(input.clone()).err().map(|e| (e.line, e.reason));
            assert_eq!(got, reason.map(|r| (taken + 1, r)), "{input:?}");
        }
    }

    #[test]
    fn find_eol_matches_a_byte_loop() {
        let naive = |b: &[u8]| {
            b.iter()
                .position(|c| *c == b'\n' || *c == b'\r')
                .unwrap_or(b.len())
        };
        for len in 0..24 {
            for at in 0..=len {
                for mark in [b'\n', b'\r'] {
                    // Bytes around the marks that the SWAR test must not confuse with them.
                    let mut v: Vec<u8> = (0..len)
                        .map(|i| [b'a', 0x0b, 0x0c, 0x8d, 0xff][i % 5])
                        .collect();
                    if at < len {
                        v[at] = mark;
                        if at + 3 < len {
                            v[at + 3] = b'\n';
                        }
                    }
                    assert_eq!(find_eol(&v), naive(&v), "{v:?}");
                    assert_eq!(find_eol_swar(&v), naive(&v), "{v:?}");
                }
            }
        }
    }
}
