//! Why a packet or a key was refused.

use rtp::Ssrc;

/// Why [`SrtpContext`](crate::SrtpContext) refused to protect or unprotect a packet.
///
/// The first group of variants describes hostile or damaged input (drop the packet and count
/// it); [`BufferTooSmall`](Self::BufferTooSmall) and [`LengthOutOfBounds`](Self::LengthOutOfBounds)
/// are caller misuse ([`is_misuse`](Self::is_misuse)). No variant carries key material or
/// packet contents.
#[derive(Clone, Copy, Debug, Eq, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SrtpError {
    /// The authentication tag (HMAC-SHA1 or GCM tag) did not match: wrong key, wrong ROC or a
    /// modified packet.
    #[error("authentication tag mismatch")]
    AuthFailed,
    /// This packet index was already received and authenticated (RFC 3711 §3.3.2).
    #[error("replayed packet (index {index})")]
    Replay {
        /// The packet index (48-bit SRTP index or 31-bit SRTCP index).
        index: u64,
    },
    /// The packet is older than the replay window reaches back (RFC 3711 §3.3.2).
    #[error("packet too old for the replay window (index {index})")]
    TooOld {
        /// The packet index (48-bit SRTP index or 31-bit SRTCP index).
        index: u64,
    },
    /// The packet is shorter than its headers, MKI and tag require.
    #[error("packet too short: {len} bytes, need at least {need}")]
    TooShort {
        /// Bytes available.
        len: usize,
        /// Bytes the headers, MKI and authentication tag need.
        need: usize,
    },
    /// The first two bits are not RTP/RTCP version 2.
    #[error("not RTP/RTCP version 2 (version {0})")]
    BadVersion(u8),
    /// No stream exists for this SSRC and the context's [`UnknownSsrcPolicy`] refuses new
    /// ones.
    ///
    /// [`UnknownSsrcPolicy`]: crate::UnknownSsrcPolicy
    #[error("unknown ssrc {0:?} refused by policy")]
    UnknownSsrc(Ssrc),
    /// A new SSRC would exceed [`SrtpConfig::max_streams`](crate::SrtpConfig::max_streams).
    #[error("too many streams (limit {limit})")]
    TooManyStreams {
        /// The configured limit.
        limit: usize,
    },
    /// The MKI in the packet names none of the context's master keys (RFC 3711 §8.1).
    #[error("mki does not match any master key")]
    MkiMismatch,
    /// Sender side: this SSRC already protected a packet with this index, or the index is
    /// further behind the highest one sent than the sender remembers (the replay window
    /// size), so it cannot be shown fresh. A repeated index repeats the keystream (RFC 3711
    /// §9.1), so the packet is refused; usually the caller re-sent a sequence number or set
    /// the ROC or SRTCP index back.
    #[error("index {index} already used for this ssrc (keystream reuse refused)")]
    IndexReuse {
        /// The packet index (48-bit SRTP index or 31-bit SRTCP index).
        index: u64,
    },
    /// The master key has protected or accepted as many packets as RFC 3711 §9.2 (or the
    /// configured lower limit) allows, or the index space is exhausted: re-key.
    #[error("master key lifetime exceeded, re-key needed")]
    KeyLifetimeExceeded,
    /// Caller misuse: the buffer has no room for the MKI, SRTCP index and tag.
    #[error("buffer too small: need {need} bytes, have {have}")]
    BufferTooSmall {
        /// Bytes the protected packet needs.
        need: usize,
        /// Length of the caller's buffer.
        have: usize,
    },
    /// Caller misuse: the packet length passed in is larger than the buffer.
    #[error("packet length {len} is larger than the buffer ({buf} bytes)")]
    LengthOutOfBounds {
        /// The length passed in.
        len: usize,
        /// Length of the caller's buffer.
        buf: usize,
    },
}

impl SrtpError {
    /// True for errors caused by the caller (buffer sizes), false for errors caused by the
    /// packet or the key state.
    pub fn is_misuse(self) -> bool {
        matches!(
            self,
            Self::BufferTooSmall { .. } | Self::LengthOutOfBounds { .. }
        )
    }

    /// A short stable name for counting refusals per reason (`auth`, `replay`, `too-old`, ...).
    pub fn reason(self) -> &'static str {
        match self {
            Self::AuthFailed => "auth",
            Self::Replay { .. } => "replay",
            Self::TooOld { .. } => "too-old",
            Self::TooShort { .. } => "too-short",
            Self::BadVersion(_) => "bad-version",
            Self::UnknownSsrc(_) => "unknown-ssrc",
            Self::TooManyStreams { .. } => "too-many-streams",
            Self::MkiMismatch => "mki-mismatch",
            Self::IndexReuse { .. } => "index-reuse",
            Self::KeyLifetimeExceeded => "key-lifetime",
            Self::BufferTooSmall { .. } => "buffer-too-small",
            Self::LengthOutOfBounds { .. } => "length-out-of-bounds",
        }
    }
}

/// Why a master key or configuration was refused when building a context.
#[derive(Clone, Copy, Debug, Eq, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The master key has the wrong length for the profile.
    #[error("master key must be {expected} bytes, got {got}")]
    BadKeyLength {
        /// Length the profile needs.
        expected: usize,
        /// Length given.
        got: usize,
    },
    /// The master salt has the wrong length for the profile.
    #[error("master salt must be {expected} bytes, got {got}")]
    BadSaltLength {
        /// Length the profile needs.
        expected: usize,
        /// Length given.
        got: usize,
    },
    /// The MKI is empty or longer than [`MAX_MKI_LEN`](crate::MAX_MKI_LEN).
    #[error("mki must be 1 to {max} bytes, got {got}")]
    BadMkiLength {
        /// Longest MKI accepted.
        max: usize,
        /// Length given.
        got: usize,
    },
    /// The key derivation rate is not 0 or a power of two up to 2^24 (RFC 3711 §4.3.1).
    #[error("key derivation rate {0} is not 0 or a power of two up to 2^24")]
    BadKeyDerivationRate(u64),
    /// The replay window is smaller than 64 or larger than 32768 packets.
    #[error("replay window {0} out of range (64..=32768)")]
    BadReplayWindow(usize),
    /// Several master keys need an MKI each (RFC 3711 §8.1), and this key or the context's
    /// has none.
    #[error("several master keys need an mki each")]
    MkiRequired,
    /// The MKI length differs from the context's (RFC 3711 §3.1: fixed per context).
    #[error("mki must be {expected} bytes like the context's, got {got}")]
    MkiLengthMismatch {
        /// The context's MKI length.
        expected: usize,
        /// Length given.
        got: usize,
    },
    /// A master key with this MKI is already in the context.
    #[error("a master key with this mki is already present")]
    DuplicateMki,
    /// No master key of the context has this MKI.
    #[error("no master key has this mki")]
    UnknownMki,
    /// The key is the one selected for sending and cannot be removed.
    #[error("the master key is selected for sending")]
    KeyInUse,
    /// The suite name is not one this crate implements.
    #[error("unknown protection profile")]
    UnknownProfile,
}
