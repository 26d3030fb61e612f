//! Audio codecs for telox: G.711, Opus and G.722 behind one trait, with concealment.
//!
//! Part of telox, an embeddable VoIP stack. Sans-IO: this crate opens no socket, reads no
//! clock and spawns no task; randomness (comfort noise) comes from an RNG the caller passes.
//!
//! The paved path is to build a codec from the SDP negotiation result by its RTP encoding
//! name, clock rate and channel count:
//!
//! ```
//! use telox_codecs::{self as codecs, Decoder, Encoder};
//! # fn main() -> Result<(), codecs::CodecError> {
//! let mut enc = codecs::encoder_for("PCMU", 8000, 1, 20)?;
//! let mut dec = codecs::decoder_for("PCMU", 8000, 1)?;
//! let payload = enc.encode_vec(&[0i16; 160])?;
//! let pcm = dec.decode_vec(&payload)?;          // 160 samples of 8 kHz PCM
//! let concealed = dec.conceal_vec(160)?;        // a lost packet, G.711 Appendix I PLC
//! assert_eq!((pcm.len(), concealed.len()), (160, 160));
//! # Ok(()) }
//! ```
//!
//! | codec | module | RTP name / clock | PCM rate |
//! |---|---|---|---|
//! | G.711 µ-law / A-law | [`g711`] | `PCMU`, `PCMA` / 8000 | 8 kHz |
//! | G.722 64 kbit/s | [`g722`] | `G722` / 8000 (sic, RFC 3551) | 16 kHz |
//! | Opus | [`opus`] | `opus` / 48000 / 2 | 8-48 kHz, mono or stereo |
//!
//! Also: [`plc::Plc`] (G.711 Appendix I concealment for any PCM stream),
//! [`resample::Resampler`] (8/16/48 kHz) and [`cn`] (RFC 3389 comfort noise).

#![forbid(unsafe_code)]

pub mod cn;
pub mod codec;
mod error;
pub mod g711;
pub mod g722;
pub mod opus;
pub mod plc;
pub mod resample;

#[doc(hidden)]
pub mod fuzzing;

pub use codec::{Decoder, Encoder, PayloadFormat};
pub use error::CodecError;
pub use g711::{G711Decoder, G711Encoder, Law};
pub use g722::{G722Decoder, G722Encoder};
pub use opus::{OpusApplication, OpusDecoder, OpusEncoder, OpusSettings};
pub use plc::Plc;
pub use resample::Resampler;

/// Encoding names (as in SDP `a=rtpmap`) of the codecs this crate implements.
pub const SUPPORTED: [&str; 4] = ["PCMU", "PCMA", "G722", "opus"];

/// Identifies a codec from its SDP `a=rtpmap` encoding name (case-insensitive, RFC 4855
/// §3) and clock rate, returning its canonical name.
fn identify(name: &str, clock_rate: u32, channels: u16) -> Result<&'static str, CodecError> {
    let canonical = SUPPORTED
        .iter()
        .copied()
        .find(|s| s.eq_ignore_ascii_case(name))
        .ok_or_else(|| CodecError::UnknownCodec(name.to_owned()))?;
    let want_clock = if canonical == "opus" { 48000 } else { 8000 };
    if clock_rate != want_clock {
        return Err(CodecError::UnsupportedClockRate {
            codec: canonical,
            clock_rate,
        });
    }
    let ok_channels = if canonical == "opus" {
        channels == 1 || channels == 2
    } else {
        channels == 1
    };
    if !ok_channels {
        return Err(CodecError::UnsupportedChannels {
            codec: canonical,
            channels,
        });
    }
    Ok(canonical)
}

/// A decoder (with loss concealment) for an RTP encoding name, clock rate and channel
/// count as negotiated in SDP: `PCMU/8000`, `PCMA/8000`, `G722/8000`, `opus/48000/2`.
///
/// Opus decodes at 48 kHz with the given channel count (SDP always says 2 channels for
/// Opus; pass 1 to get mono PCM).
///
/// # Errors
/// [`CodecError::UnknownCodec`], [`CodecError::UnsupportedClockRate`],
/// [`CodecError::UnsupportedChannels`].
pub fn decoder_for(
    name: &str,
    clock_rate: u32,
    channels: u16,
) -> Result<Box<dyn Decoder>, CodecError> {
    Ok(match identify(name, clock_rate, channels)? {
        "PCMU" => Box::new(G711Decoder::new(Law::Ulaw)),
        "PCMA" => Box::new(G711Decoder::new(Law::Alaw)),
        "G722" => Box::new(G722Decoder::new()),
        _ => Box::new(OpusDecoder::new(48000, channels)?),
    })
}

/// An encoder for an RTP encoding name, clock rate and channel count with `ptime_ms`
/// frames; Opus gets [`OpusSettings::voip`] at 48 kHz.
///
/// # Errors
/// As [`decoder_for`], plus [`CodecError::InvalidSetting`] for a ptime the codec cannot
/// use.
pub fn encoder_for(
    name: &str,
    clock_rate: u32,
    channels: u16,
    ptime_ms: u32,
) -> Result<Box<dyn Encoder>, CodecError> {
    Ok(match identify(name, clock_rate, channels)? {
        "PCMU" => Box::new(G711Encoder::new(Law::Ulaw, ptime_ms)?),
        "PCMA" => Box::new(G711Encoder::new(Law::Alaw, ptime_ms)?),
        "G722" => Box::new(G722Encoder::new(ptime_ms)?),
        _ => Box::new(OpusEncoder::new(OpusSettings {
            frame_ms: ptime_ms,
            ..OpusSettings::voip(48000, channels)
        })?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_by_name() {
        for (name, rate, ch) in [
            ("pcmu", 8000, 1),
            ("PCMA", 8000, 1),
            ("g722", 8000, 1),
            ("OPUS", 48000, 2),
        ] {
            let d = decoder_for(name, rate, ch).unwrap();
            assert!(d.format().encoding_name.eq_ignore_ascii_case(name));
            let e = encoder_for(name, rate, ch, 20).unwrap();
            assert_eq!(e.format(), d.format());
        }
        assert!(matches!(
            decoder_for("G729", 8000, 1),
            Err(CodecError::UnknownCodec(_))
        ));
        assert!(matches!(
            decoder_for("PCMU", 16000, 1),
            Err(CodecError::UnsupportedClockRate { .. })
        ));
        assert!(matches!(
            decoder_for("G722", 16000, 1),
            Err(CodecError::UnsupportedClockRate { .. })
        ));
        assert!(matches!(
            decoder_for("PCMA", 8000, 2),
            Err(CodecError::UnsupportedChannels { .. })
        ));
        assert!(encoder_for("opus", 48000, 1, 30).is_err());
    }
}
