//! The protection profiles (crypto suites) and their sizes.

use std::fmt;
use std::str::FromStr;

use crate::error::KeyError;

/// An SRTP protection profile: cipher, authentication and their key, salt and tag sizes.
///
/// Names follow the SDES crypto-suite names (RFC 4568 §6.2, RFC 6188 §6, RFC 7714 §14.2);
/// [`FromStr`] also accepts the DTLS-SRTP spellings (`SRTP_AES128_CM_SHA1_80`, ...).
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum ProtectionProfile {
    /// AES-128 counter mode, HMAC-SHA1 with an 80-bit tag (RFC 3711, the mandatory suite).
    AesCm128HmacSha1_80,
    /// AES-128 counter mode, HMAC-SHA1 with a 32-bit SRTP tag (SRTCP keeps 80 bits).
    AesCm128HmacSha1_32,
    /// AES-192 counter mode, HMAC-SHA1-80 (RFC 6188).
    AesCm192HmacSha1_80,
    /// AES-192 counter mode, HMAC-SHA1-32 SRTP tag (RFC 6188).
    AesCm192HmacSha1_32,
    /// AES-256 counter mode, HMAC-SHA1-80 (RFC 6188).
    AesCm256HmacSha1_80,
    /// AES-256 counter mode, HMAC-SHA1-32 SRTP tag (RFC 6188).
    AesCm256HmacSha1_32,
    /// AES-128-GCM with a 128-bit tag (RFC 7714).
    AeadAes128Gcm,
    /// AES-256-GCM with a 128-bit tag (RFC 7714).
    AeadAes256Gcm,
}

impl ProtectionProfile {
    /// Every profile, in the order of this enum.
    pub const ALL: [Self; 8] = [
        Self::AesCm128HmacSha1_80,
        Self::AesCm128HmacSha1_32,
        Self::AesCm192HmacSha1_80,
        Self::AesCm192HmacSha1_32,
        Self::AesCm256HmacSha1_80,
        Self::AesCm256HmacSha1_32,
        Self::AeadAes128Gcm,
        Self::AeadAes256Gcm,
    ];

    /// The SDES crypto-suite name (`AES_CM_128_HMAC_SHA1_80`, `AEAD_AES_128_GCM`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::AesCm128HmacSha1_80 => "AES_CM_128_HMAC_SHA1_80",
            Self::AesCm128HmacSha1_32 => "AES_CM_128_HMAC_SHA1_32",
            Self::AesCm192HmacSha1_80 => "AES_192_CM_HMAC_SHA1_80",
            Self::AesCm192HmacSha1_32 => "AES_192_CM_HMAC_SHA1_32",
            Self::AesCm256HmacSha1_80 => "AES_256_CM_HMAC_SHA1_80",
            Self::AesCm256HmacSha1_32 => "AES_256_CM_HMAC_SHA1_32",
            Self::AeadAes128Gcm => "AEAD_AES_128_GCM",
            Self::AeadAes256Gcm => "AEAD_AES_256_GCM",
        }
    }

    /// Master (and session) encryption key length in bytes: 16, 24 or 32.
    pub fn key_len(self) -> usize {
        match self {
            Self::AesCm128HmacSha1_80 | Self::AesCm128HmacSha1_32 | Self::AeadAes128Gcm => 16,
            Self::AesCm192HmacSha1_80 | Self::AesCm192HmacSha1_32 => 24,
            Self::AesCm256HmacSha1_80 | Self::AesCm256HmacSha1_32 | Self::AeadAes256Gcm => 32,
        }
    }

    /// Master (and session) salt length in bytes: 14 for AES-CM (RFC 3711 §8.2), 12 for GCM
    /// (RFC 7714 §12).
    pub fn salt_len(self) -> usize {
        if self.is_aead() { 12 } else { 14 }
    }

    /// Length of the SRTP authentication tag: 10, 4 or 16 (GCM) bytes.
    pub fn rtp_tag_len(self) -> usize {
        match self {
            Self::AesCm128HmacSha1_32 | Self::AesCm192HmacSha1_32 | Self::AesCm256HmacSha1_32 => 4,
            Self::AeadAes128Gcm | Self::AeadAes256Gcm => 16,
            _ => 10,
        }
    }

    /// Length of the SRTCP authentication tag: 10 bytes for every AES-CM profile (the `_32`
    /// suites shorten only the SRTP tag, RFC 4568 §6.2.1), 16 for GCM.
    pub fn rtcp_tag_len(self) -> usize {
        if self.is_aead() { 16 } else { 10 }
    }

    /// True for the AEAD (GCM) profiles of RFC 7714.
    pub fn is_aead(self) -> bool {
        matches!(self, Self::AeadAes128Gcm | Self::AeadAes256Gcm)
    }
}

impl fmt::Display for ProtectionProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ProtectionProfile {
    type Err = KeyError;

    /// Parses an SDES suite name or a DTLS-SRTP profile name, case-insensitively.
    fn from_str(s: &str) -> Result<Self, KeyError> {
        let upper = s.to_ascii_uppercase();
        let p = match upper.as_str() {
            "AES_CM_128_HMAC_SHA1_80"
            | "SRTP_AES128_CM_SHA1_80"
            | "SRTP_AES128_CM_HMAC_SHA1_80" => Self::AesCm128HmacSha1_80,
            "AES_CM_128_HMAC_SHA1_32"
            | "SRTP_AES128_CM_SHA1_32"
            | "SRTP_AES128_CM_HMAC_SHA1_32" => Self::AesCm128HmacSha1_32,
            "AES_192_CM_HMAC_SHA1_80" => Self::AesCm192HmacSha1_80,
            "AES_192_CM_HMAC_SHA1_32" => Self::AesCm192HmacSha1_32,
            "AES_256_CM_HMAC_SHA1_80" => Self::AesCm256HmacSha1_80,
            "AES_256_CM_HMAC_SHA1_32" => Self::AesCm256HmacSha1_32,
            "AEAD_AES_128_GCM" | "AEAD_AES_128_GCM_16" | "SRTP_AEAD_AES_128_GCM" => {
                Self::AeadAes128Gcm
            }
            "AEAD_AES_256_GCM" | "AEAD_AES_256_GCM_16" | "SRTP_AEAD_AES_256_GCM" => {
                Self::AeadAes256Gcm
            }
            _ => return Err(KeyError::UnknownProfile),
        };
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for p in ProtectionProfile::ALL {
            assert_eq!(p.name().parse::<ProtectionProfile>(), Ok(p));
            assert_eq!(
                p.to_string().to_lowercase().parse::<ProtectionProfile>(),
                Ok(p)
            );
        }
        assert_eq!(
            "SRTP_AEAD_AES_128_GCM".parse::<ProtectionProfile>(),
            Ok(ProtectionProfile::AeadAes128Gcm)
        );
        assert_eq!(
            "NULL".parse::<ProtectionProfile>(),
            Err(KeyError::UnknownProfile)
        );
    }

    #[test]
    fn sizes() {
        use ProtectionProfile as P;
        assert_eq!(
            (
                P::AesCm128HmacSha1_32.rtp_tag_len(),
                P::AesCm128HmacSha1_32.rtcp_tag_len()
            ),
            (4, 10)
        );
        assert_eq!(
            (P::AeadAes256Gcm.key_len(), P::AeadAes256Gcm.salt_len()),
            (32, 12)
        );
        assert_eq!(
            (
                P::AesCm192HmacSha1_80.key_len(),
                P::AesCm192HmacSha1_80.salt_len()
            ),
            (24, 14)
        );
    }
}
