//! Helpers shared by the integration tests.

use telox_srtp::{SrtpContext, SrtpError};

/// Unprotects a copy of `pkt` and returns the RTP packet.
pub(crate) fn unprotect(rx: &mut SrtpContext, pkt: &[u8]) -> Result<Vec<u8>, SrtpError> {
    let mut v = pkt.to_vec();
    let n = rx.unprotect_rtp(&mut v)?;
    v.truncate(n);
    Ok(v)
}
