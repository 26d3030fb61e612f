//! Goodbye, BYE (203) ([RFC 3550 §6.6]).
//!
//! [RFC 3550 §6.6]: https://www.rfc-editor.org/rfc/rfc3550#section-6.6

use super::List;
use crate::error::BuildError;
use crate::types::Ssrc;

/// A BYE packet to send: the sources leaving and an optional reason (at most 255 bytes); a
/// received one is read through the [`Goodbye`](super::Goodbye) view.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Goodbye<'a> {
    /// The sources leaving (at most 31).
    pub sources: List<'a, Ssrc>,
    /// "Reason for leaving", if present.
    pub reason: Option<&'a [u8]>,
}

impl<'a> Goodbye<'a> {
    pub(super) fn body_len(&self) -> usize {
        4 * self.sources.len() + self.reason.map_or(0, |r| (1 + r.len()).next_multiple_of(4))
    }

    pub(super) fn check(&self) -> Result<(), BuildError> {
        if self.reason.is_some_and(|r| r.len() > 255) {
            return Err(BuildError::FieldTooLarge { what: "bye reason" });
        }
        Ok(())
    }

    pub(super) fn write_body(&self, out: &mut [u8]) {
        let end = 4 * self.sources.len();
        if let Some(o) = out.get_mut(..end) {
            self.sources.encode(o);
        }
        if let Some(r) = self.reason
            && let Some(o) = out.get_mut(end..end + 1 + r.len())
        {
            o[0] = r.len() as u8;
            o[1..].copy_from_slice(r);
        }
    }
}
