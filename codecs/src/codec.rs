//! The codec trait family: payload-format facts, [`Encoder`] and [`Decoder`].
//!
//! PCM is signed 16-bit, interleaved when there is more than one channel. Sample counts
//! returned by the traits are *per channel* at the codec's sampling rate; the RTP timestamp
//! advances by [`PayloadFormat::rtp_ticks`] of them, which differs from the sample count
//! for G.722 (RFC 3551 §4.5.2: 16 kHz audio, 8 kHz RTP clock).

use crate::CodecError;

/// What RTP and SDP need to know about a payload format (RFC 3551 §6, RFC 7587).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PayloadFormat {
    /// Encoding name as written in `a=rtpmap` (upper case, e.g. `PCMU`, `G722`, `opus`).
    pub encoding_name: &'static str,
    /// Static payload type of RFC 3551 Table 4, if any (PCMU 0, PCMA 8, G722 9).
    pub static_payload_type: Option<u8>,
    /// Rate of the RTP timestamp clock, as written in `a=rtpmap`.
    pub rtp_clock_rate: u32,
    /// Rate at which PCM samples go into the encoder and come out of the decoder.
    pub sample_rate: u32,
    /// Channels of PCM on the encoder/decoder side.
    pub channels: u16,
}

impl PayloadFormat {
    /// G.711 µ-law (RFC 3551 §4.5.14): 8 kHz, payload type 0.
    pub const PCMU: Self = Self {
        encoding_name: "PCMU",
        static_payload_type: Some(0),
        rtp_clock_rate: 8000,
        sample_rate: 8000,
        channels: 1,
    };
    /// G.711 A-law (RFC 3551 §4.5.14): 8 kHz, payload type 8.
    pub const PCMA: Self = Self {
        encoding_name: "PCMA",
        static_payload_type: Some(8),
        rtp_clock_rate: 8000,
        sample_rate: 8000,
        channels: 1,
    };
    /// G.722 (RFC 3551 §4.5.2): sampled at 16 kHz but with an 8000 Hz RTP clock, type 9.
    pub const G722: Self = Self {
        encoding_name: "G722",
        static_payload_type: Some(9),
        rtp_clock_rate: 8000,
        sample_rate: 16000,
        channels: 1,
    };

    /// Opus (RFC 7587 §4.1): always `opus/48000/2` in SDP and a 48 kHz RTP clock,
    /// whatever rate and channel count the codec runs at locally.
    pub const fn opus(sample_rate: u32, channels: u16) -> Self {
        Self {
            encoding_name: "opus",
            static_payload_type: None,
            rtp_clock_rate: 48000,
            sample_rate,
            channels,
        }
    }

    /// RTP timestamp ticks covered by `samples` samples per channel.
    pub const fn rtp_ticks(&self, samples: usize) -> u64 {
        (samples as u64) * (self.rtp_clock_rate as u64) / (self.sample_rate as u64)
    }

    /// Samples per channel covered by `ticks` RTP timestamp ticks.
    pub const fn samples_for_ticks(&self, ticks: u64) -> u64 {
        ticks * (self.sample_rate as u64) / (self.rtp_clock_rate as u64)
    }

    /// Samples per channel in `ms` milliseconds at the sampling rate.
    pub const fn samples_per_ms(&self, ms: u32) -> usize {
        (self.sample_rate as usize) * (ms as usize) / 1000
    }
}

/// Turns PCM frames into RTP payloads.
pub trait Encoder: Send {
    /// The payload format this encoder produces.
    fn format(&self) -> PayloadFormat;

    /// Samples per channel in one frame (one RTP packet's worth, the `ptime`).
    fn frame_samples(&self) -> usize;

    /// Largest payload, in bytes, that one [`encode`](Self::encode) call may produce.
    fn max_payload_len(&self) -> usize;

    /// Encodes exactly one frame of interleaved PCM (`frame_samples() * channels` samples)
    /// into `out`, returning the payload length.
    ///
    /// # Errors
    /// [`CodecError::BadFrameLength`] when `pcm` is not one frame,
    /// [`CodecError::OutputTooSmall`] when `out` is shorter than
    /// [`max_payload_len`](Self::max_payload_len) needs for this frame.
    fn encode(&mut self, pcm: &[i16], out: &mut [u8]) -> Result<usize, CodecError>;

    /// Encodes one frame into a new vector.
    ///
    /// # Errors
    /// As [`encode`](Self::encode).
    fn encode_vec(&mut self, pcm: &[i16]) -> Result<Vec<u8>, CodecError> {
        let mut out = vec![0u8; self.max_payload_len()];
        let n = self.encode(pcm, &mut out)?;
        out.truncate(n);
        Ok(out)
    }
}

/// Turns RTP payloads back into PCM, and conceals payloads that never arrived.
///
/// The jitter buffer calls [`decode`](Self::decode) for each payload in playout order and
/// [`decode_lost`](Self::decode_lost) for each gap; decoders with in-band redundancy
/// (Opus) can rebuild a lost frame from the *next* payload with
/// [`decode_fec`](Self::decode_fec).
pub trait Decoder: Send {
    /// The payload format this decoder accepts.
    fn format(&self) -> PayloadFormat;

    /// Samples per channel that decoding `payload` will produce.
    ///
    /// # Errors
    /// [`CodecError::MalformedPayload`] when the payload's length or header is invalid.
    fn samples_in(&self, payload: &[u8]) -> Result<usize, CodecError>;

    /// Decodes one payload into interleaved PCM in `out`, returning samples per channel.
    ///
    /// # Errors
    /// [`CodecError::MalformedPayload`] on a bad payload, [`CodecError::OutputTooSmall`] if
    /// `out` cannot hold `samples_in(payload) * channels` samples.
    fn decode(&mut self, payload: &[u8], out: &mut [i16]) -> Result<usize, CodecError>;

    /// Conceals `samples` samples per channel of lost audio into `out` (packet-loss
    /// concealment), returning samples per channel written.
    ///
    /// # Errors
    /// [`CodecError::OutputTooSmall`] if `out` is shorter than `samples * channels`;
    /// [`CodecError::InvalidSetting`] if the codec cannot conceal that duration.
    fn decode_lost(&mut self, samples: usize, out: &mut [i16]) -> Result<usize, CodecError>;

    /// Rebuilds `samples` samples per channel of a lost frame from the forward error
    /// correction carried in `next_payload`, the payload that followed it. Codecs without
    /// in-band FEC conceal instead.
    ///
    /// # Errors
    /// As [`decode_lost`](Self::decode_lost), plus payload errors from `next_payload`.
    fn decode_fec(
        &mut self,
        next_payload: &[u8],
        samples: usize,
        out: &mut [i16],
    ) -> Result<usize, CodecError> {
        let _ = next_payload;
        self.decode_lost(samples, out)
    }

    /// Forgets all history (new stream, SSRC change).
    fn reset(&mut self);

    /// Decodes one payload into a new vector of interleaved PCM.
    ///
    /// # Errors
    /// As [`decode`](Self::decode).
    fn decode_vec(&mut self, payload: &[u8]) -> Result<Vec<i16>, CodecError> {
        let n = self.samples_in(payload)?;
        let mut out = vec![0i16; n * usize::from(self.format().channels)];
        let got = self.decode(payload, &mut out)?;
        out.truncate(got * usize::from(self.format().channels));
        Ok(out)
    }

    /// Conceals `samples` samples per channel into a new vector.
    ///
    /// # Errors
    /// As [`decode_lost`](Self::decode_lost).
    fn conceal_vec(&mut self, samples: usize) -> Result<Vec<i16>, CodecError> {
        let mut out = vec![0i16; samples * usize::from(self.format().channels)];
        let got = self.decode_lost(samples, &mut out)?;
        out.truncate(got * usize::from(self.format().channels));
        Ok(out)
    }
}

/// Checks a packetisation time in milliseconds for the sample-based codecs (G.711, G.722):
/// 5 to 200 ms in steps of 5 ms.
pub(crate) fn check_ptime(ptime_ms: u32) -> Result<(), CodecError> {
    if (5..=200).contains(&ptime_ms) && ptime_ms.is_multiple_of(5) {
        Ok(())
    } else {
        Err(CodecError::InvalidSetting(
            "ptime must be 5..=200 ms in steps of 5 ms",
        ))
    }
}
