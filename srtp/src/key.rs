//! Master keys and the context configuration.

use std::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::KeyError;
use crate::profile::ProtectionProfile;

/// Longest MKI accepted (RFC 4568 allows 1 to 128 bytes).
pub const MAX_MKI_LEN: usize = 128;

/// A master key and master salt (RFC 3711 §3.2.1), optionally with its MKI.
///
/// Zeroized on drop; `Debug` prints no key material.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct MasterKey {
    key: [u8; 32],
    key_len: usize,
    salt: [u8; 14],
    salt_len: usize,
    mki: Vec<u8>,
}

impl MasterKey {
    /// A master key and salt for `profile`.
    ///
    /// # Errors
    /// [`KeyError::BadKeyLength`] / [`KeyError::BadSaltLength`] when the lengths are not
    /// [`ProtectionProfile::key_len`] / [`ProtectionProfile::salt_len`].
    pub fn new(profile: ProtectionProfile, key: &[u8], salt: &[u8]) -> Result<Self, KeyError> {
        if key.len() != profile.key_len() {
            return Err(KeyError::BadKeyLength {
                expected: profile.key_len(),
                got: key.len(),
            });
        }
        if salt.len() != profile.salt_len() {
            return Err(KeyError::BadSaltLength {
                expected: profile.salt_len(),
                got: salt.len(),
            });
        }
        let mut k = [0u8; 32];
        k[..key.len()].copy_from_slice(key);
        let mut s = [0u8; 14];
        s[..salt.len()].copy_from_slice(salt);
        Ok(Self {
            key: k,
            key_len: key.len(),
            salt: s,
            salt_len: salt.len(),
            mki: Vec::new(),
        })
    }

    /// A master key from the concatenation key || salt, as carried by SDES `inline:` (RFC
    /// 4568 §6.1) and by DTLS-SRTP exporters.
    ///
    /// # Errors
    /// [`KeyError::BadKeyLength`] when `key_salt` is not key_len + salt_len bytes long.
    pub fn from_key_salt(profile: ProtectionProfile, key_salt: &[u8]) -> Result<Self, KeyError> {
        let k = profile.key_len();
        if key_salt.len() != k + profile.salt_len() {
            return Err(KeyError::BadKeyLength {
                expected: k + profile.salt_len(),
                got: key_salt.len(),
            });
        }
        Self::new(profile, &key_salt[..k], &key_salt[k..])
    }

    /// Adds a Master Key Identifier (RFC 3711 §3.1): carried in every packet and checked on
    /// receipt.
    ///
    /// # Errors
    /// [`KeyError::BadMkiLength`] when `mki` is empty or longer than [`MAX_MKI_LEN`].
    pub fn with_mki(mut self, mki: &[u8]) -> Result<Self, KeyError> {
        if mki.is_empty() || mki.len() > MAX_MKI_LEN {
            return Err(KeyError::BadMkiLength {
                max: MAX_MKI_LEN,
                got: mki.len(),
            });
        }
        self.mki = mki.to_vec();
        Ok(self)
    }

    /// The MKI (empty when none is used).
    pub fn mki(&self) -> &[u8] {
        &self.mki
    }

    pub(crate) fn key(&self) -> &[u8] {
        &self.key[..self.key_len]
    }

    pub(crate) fn salt(&self) -> &[u8] {
        &self.salt[..self.salt_len]
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKey")
            .field("key_len", &self.key_len)
            .field("salt_len", &self.salt_len)
            .field("mki_len", &self.mki.len())
            .finish_non_exhaustive()
    }
}

/// What to do with a packet whose SSRC has no stream yet.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub enum UnknownSsrcPolicy {
    /// Create a stream (ROC 0) once the packet authenticates, like libsrtp's
    /// `ssrc_any_inbound`. The stream count is bounded by [`SrtpConfig::max_streams`].
    #[default]
    Accept,
    /// Refuse with [`SrtpError::UnknownSsrc`](crate::SrtpError::UnknownSsrc) unless the stream
    /// was added with [`SrtpContext::set_receiver_roc`](crate::SrtpContext::set_receiver_roc)
    /// (or, for sending, [`SrtpContext::set_sender_roc`](crate::SrtpContext::set_sender_roc)).
    Reject,
}

/// Settings of an [`SrtpContext`](crate::SrtpContext) beyond the profile and key.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct SrtpConfig {
    /// Replay window in packets (RFC 3711 §3.3.2 minimum 64; default 128, like libsrtp),
    /// rounded up to a multiple of 64; 64 to 32768.
    pub replay_window: usize,
    /// Key derivation rate (RFC 3711 §4.3.1): 0 (derive once, the default) or a power of two
    /// up to 2^24; session keys are re-derived every that many packets.
    pub key_derivation_rate: u64,
    /// Policy for SSRCs without a stream.
    pub unknown_ssrc: UnknownSsrcPolicy,
    /// Upper bound on streams per direction (memory bound against hostile peers).
    pub max_streams: usize,
    /// Encrypt SRTCP (E flag set, the default); false sends authenticated-only SRTCP.
    /// Received SRTCP is accepted either way, as the E flag says.
    pub encrypt_rtcp: bool,
    /// SRTP packets one master key may protect or accept (RFC 3711 §9.2: at most 2^48,
    /// larger values are capped).
    pub max_rtp_packets: u64,
    /// SRTCP packets one master key may protect or accept (RFC 3711 §9.2: at most 2^31,
    /// larger values are capped).
    pub max_rtcp_packets: u64,
}

impl Default for SrtpConfig {
    fn default() -> Self {
        Self {
            replay_window: 128,
            key_derivation_rate: 0,
            unknown_ssrc: UnknownSsrcPolicy::Accept,
            max_streams: 1024,
            encrypt_rtcp: true,
            max_rtp_packets: MAX_RTP_PACKETS,
            max_rtcp_packets: MAX_RTCP_PACKETS,
        }
    }
}

/// RFC 3711 §9.2: "the number of packets ... secured with the same key ... 2^48 SRTP packets".
pub(crate) const MAX_RTP_PACKETS: u64 = 1 << 48;
/// RFC 3711 §9.2: "... and 2^31 SRTCP packets".
pub(crate) const MAX_RTCP_PACKETS: u64 = 1 << 31;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_checked_and_debug_is_redacted() {
        let p = ProtectionProfile::AesCm128HmacSha1_80;
        assert_eq!(
            MasterKey::new(p, &[1; 15], &[2; 14]).err(),
            Some(KeyError::BadKeyLength {
                expected: 16,
                got: 15
            })
        );
        assert_eq!(
            MasterKey::new(p, &[1; 16], &[2; 12]).err(),
            Some(KeyError::BadSaltLength {
                expected: 14,
                got: 12
            })
        );
        let k = MasterKey::from_key_salt(p, &[0xab; 30]).unwrap();
        assert!(!format!("{k:?}").contains("ab"));
        assert!(!format!("{k:?}").contains("171"));
        assert!(k.clone().with_mki(&[]).is_err());
        assert_eq!(k.with_mki(&[1, 2]).unwrap().mki(), &[1, 2]);
    }
}
