//! Sender reports ([RFC 3550 §6.4.1]).
//!
//! [RFC 3550 §6.4.1]: https://www.rfc-editor.org/rfc/rfc3550#section-6.4.1

use super::{List, ReportBlock, put_u32, put_u64};
use crate::types::{NtpTime, Ssrc};

/// A sender report to send, SR (200) ([RFC 3550 §6.4.1]); a received one is read through the
/// [`SenderReport`](super::SenderReport) view.
///
/// [RFC 3550 §6.4.1]: https://www.rfc-editor.org/rfc/rfc3550#section-6.4.1
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SenderReport<'a> {
    /// SSRC of the sender.
    pub ssrc: Ssrc,
    /// Wallclock time when the report was sent.
    pub ntp: NtpTime,
    /// The RTP timestamp corresponding to `ntp`.
    pub rtp_timestamp: u32,
    /// Packets sent since the start of transmission (wraps).
    pub packet_count: u32,
    /// Payload octets sent since the start of transmission (wraps).
    pub octet_count: u32,
    /// Report blocks (at most 31).
    pub reports: List<'a, ReportBlock>,
    /// Profile-specific extension (a multiple of 4 bytes).
    pub profile_extension: &'a [u8],
}

/// Length of the sender info and SSRC.
const SENDER_LEN: usize = 24;

impl<'a> SenderReport<'a> {
    pub(super) fn body_len(&self) -> usize {
        SENDER_LEN + self.reports.encoded_len() + self.profile_extension.len().next_multiple_of(4)
    }

    pub(super) fn write_body(&self, out: &mut [u8]) {
        put_u32(out, 0, self.ssrc.0);
        put_u64(out, 4, self.ntp.0);
        put_u32(out, 12, self.rtp_timestamp);
        put_u32(out, 16, self.packet_count);
        put_u32(out, 20, self.octet_count);
        let end = SENDER_LEN + self.reports.encoded_len();
        if let Some(o) = out.get_mut(SENDER_LEN..end) {
            self.reports.encode(o);
        }
        if let Some(o) = out.get_mut(end..end + self.profile_extension.len()) {
            o.copy_from_slice(self.profile_extension);
        }
    }
}
