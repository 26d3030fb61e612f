//! Typed errors of the codecs crate.

use thiserror::Error;

/// Everything that can go wrong configuring, encoding or decoding.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CodecError {
    /// The RTP encoding name (from SDP `a=rtpmap`) names no codec telox implements.
    #[error("unknown codec {0:?}")]
    UnknownCodec(String),
    /// The codec exists but not with this RTP clock rate (e.g. `PCMU/16000`).
    #[error("{codec} does not run with an RTP clock rate of {clock_rate} Hz")]
    UnsupportedClockRate {
        /// The codec's encoding name.
        codec: &'static str,
        /// The rate that was asked for.
        clock_rate: u32,
    },
    /// The codec exists but not with this channel count.
    #[error("{codec} does not support {channels} channel(s)")]
    UnsupportedChannels {
        /// The codec's encoding name.
        codec: &'static str,
        /// The channel count that was asked for.
        channels: u16,
    },
    /// A sampling rate outside the set the component accepts.
    #[error("unsupported sampling rate {0} Hz")]
    UnsupportedSampleRate(u32),
    /// A setting outside its valid range; the string names the setting and its range.
    #[error("invalid setting: {0}")]
    InvalidSetting(&'static str),
    /// The PCM input does not hold a whole number of frames the codec can encode.
    #[error("PCM input of {got} samples, expected {expected}")]
    BadFrameLength {
        /// Samples (all channels) the codec needs.
        expected: usize,
        /// Samples (all channels) that were passed.
        got: usize,
    },
    /// The output buffer cannot hold the result.
    #[error("output buffer of {got} too small, {needed} needed")]
    OutputTooSmall {
        /// Elements needed.
        needed: usize,
        /// Elements provided.
        got: usize,
    },
    /// A payload that does not hold a valid frame for this codec.
    #[error("malformed payload: {0}")]
    MalformedPayload(&'static str),
    /// A payload that is longer than the decoder accepts in one call.
    #[error("payload of {0} bytes is too long")]
    PayloadTooLong(usize),
    /// The Opus backend reported an error; the string is its message.
    #[error("opus: {0}")]
    Opus(String),
}
