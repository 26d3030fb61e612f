//! Application-defined packets, APP (204) ([RFC 3550 §6.7]).
//!
//! [RFC 3550 §6.7]: https://www.rfc-editor.org/rfc/rfc3550#section-6.7

use super::put_u32;
use crate::types::Ssrc;

/// An APP packet to send; a received one is read through the [`App`](super::App) view.
#[derive(Clone, Debug, Default, Eq, PartialEq)]
pub struct App<'a> {
    /// Subtype (5 bits, in the count field).
    pub subtype: u8,
    /// Source.
    pub ssrc: Ssrc,
    /// Four ASCII characters naming the application.
    pub name: [u8; 4],
    /// Application data (a multiple of 4 bytes on the wire).
    pub data: &'a [u8],
}

impl<'a> App<'a> {
    pub(super) fn body_len(&self) -> usize {
        8 + self.data.len().next_multiple_of(4)
    }

    pub(super) fn write_body(&self, out: &mut [u8]) {
        put_u32(out, 0, self.ssrc.0);
        if let Some(o) = out.get_mut(4..8) {
            o.copy_from_slice(&self.name);
        }
        if let Some(o) = out.get_mut(8..8 + self.data.len()) {
            o.copy_from_slice(self.data);
        }
    }
}
