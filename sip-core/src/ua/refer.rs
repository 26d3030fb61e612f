//! Call transfer: REFER (RFC 3515) with Replaces (RFC 3891) and the NOTIFYs that report the
//! referred call's progress (RFC 3515 §2.4.4, message/sipfrag of RFC 3420).

use std::fmt::Write as _;
use std::time::Instant;

use bytes::Bytes;

use super::{Body, LegId, UaError, UserAgent};
use crate::dialog::DialogId;
use crate::header::{ContentType, Header as _};
use crate::msg::{Method, StatusCode};
use crate::transaction::TransactionKey;
use crate::uri::Uri;

/// The dialog named by a Replaces (RFC 3891 §6.1), as the recipient of the INVITE sees it.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Replaces {
    /// Call-ID.
    pub call_id: String,
    /// The recipient's local tag.
    pub to_tag: String,
    /// The recipient's remote tag.
    pub from_tag: String,
}

impl Replaces {
    /// The Replaces for dialog `id` of ours, addressed to its peer (our remote tag is the
    /// peer's local tag, so it goes in `to-tag`).
    pub fn for_peer_of(id: &DialogId) -> Self {
        Self {
            call_id: id.call_id.clone(),
            to_tag: id.remote_tag.clone(),
            from_tag: id.local_tag.clone(),
        }
    }

    /// The Replaces header value: `call-id;to-tag=..;from-tag=..`.
    pub fn header_value(&self) -> String {
        format!(
            "{};to-tag={};from-tag={}",
            self.call_id, self.to_tag, self.from_tag
        )
    }
}

/// The Refer-To value: `<target>` for a blind transfer, `<target?Replaces=...>` (escaped per
/// RFC 3261 §19.1.1 `hvalue`) for an attended one.
pub fn refer_to_value(target: &Uri, replaces: Option<&Replaces>) -> String {
    match replaces {
        None => format!("<{target}>"),
        Some(r) => format!("<{target}?Replaces={}>", escape_hvalue(&r.header_value())),
    }
}

/// Splits a Refer-To value into the target URI text and its Replaces, if any.
pub fn parse_refer_to(value: &str) -> Option<(String, Option<Replaces>)> {
    let inner = value.trim();
    let inner = match (inner.find('<'), inner.rfind('>')) {
        (Some(a), Some(b)) if a < b => &inner[a + 1..b],
        _ => inner,
    };
    let (uri, headers) = match inner.split_once('?') {
        Some((u, h)) => (u, Some(h)),
        None => (inner, None),
    };
    let replaces = headers.and_then(|h| {
        h.split('&').find_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            k.eq_ignore_ascii_case("Replaces").then(|| unescape(v))?
        })
    });
    let replaces = replaces.and_then(|v| {
        let mut parts = v.split(';');
        let call_id = parts.next()?.trim().to_owned();
        let (mut to_tag, mut from_tag) = (None, None);
        for p in parts {
            match p.split_once('=') {
                Some((k, t)) if k.trim().eq_ignore_ascii_case("to-tag") => to_tag = Some(t.trim()),
                Some((k, t)) if k.trim().eq_ignore_ascii_case("from-tag") => {
                    from_tag = Some(t.trim());
                }
                _ => {}
            }
        }
        Some(Replaces {
            call_id,
            to_tag: to_tag?.to_owned(),
            from_tag: from_tag?.to_owned(),
        })
    });
    Some((uri.to_owned(), replaces))
}

/// The `message/sipfrag` body of a progress NOTIFY: the status line of the referred call.
///
/// # Errors
/// Only if the constant content type failed to parse (it does not).
pub fn sipfrag(status: u16) -> Result<Body, crate::header::HeaderError> {
    let reason = StatusCode(status).canonical_reason();
    Ok(Body {
        content_type: ContentType::parse_str("message/sipfrag;version=2.0")?,
        bytes: Bytes::from(format!("SIP/2.0 {status} {reason}\r\n")),
    })
}

impl UserAgent {
    /// Sends REFER on `leg` asking the peer to call `target` (replacing dialog `replaces`
    /// at the target for an attended transfer). The peer's NOTIFYs arrive as
    /// [`super::UaEvent::Request`] on the same leg.
    ///
    /// # Errors
    /// As [`UserAgent::request`].
    pub fn refer(
        &mut self,
        now: Instant,
        leg: LegId,
        target: &Uri,
        replaces: Option<&Replaces>,
    ) -> Result<TransactionKey, UaError> {
        let refer_to = refer_to_value(target, replaces);
        self.request(now, leg, Method::Refer, None, &[("Refer-To", &refer_to)])
    }

    /// Reports the progress of a call made for a REFER received on `leg` (RFC 3515
    /// §2.4.4): `status` of the referred INVITE; a final status ends the implicit
    /// subscription.
    ///
    /// # Errors
    /// As [`UserAgent::request`].
    pub fn notify_refer(
        &mut self,
        now: Instant,
        leg: LegId,
        status: u16,
    ) -> Result<TransactionKey, UaError> {
        let state = if status >= 200 {
            "terminated;reason=noresource"
        } else {
            "active;expires=60"
        };
        self.request(
            now,
            leg,
            Method::Notify,
            Some(sipfrag(status).map_err(|_| UaError::InvalidState)?),
            &[("Event", "refer"), ("Subscription-State", state)],
        )
    }
}

fn escape_hvalue(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    for b in s.bytes() {
        // hvalue = *( hnv-unreserved / unreserved / escaped ) (RFC 3261 §25.1)
        if b.is_ascii_alphanumeric() || b"-_.!~*'()[]/?:+$".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn unescape(s: &str) -> Option<String> {
    let bytes = crate::uri::unescape(s.as_bytes());
    String::from_utf8(bytes.into_owned()).ok()
}
