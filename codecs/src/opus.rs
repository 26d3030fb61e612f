//! Opus (RFC 6716) with the RTP payload format of RFC 7587, on the pure-Rust `opus-pure`
//! backend (see codecs/README.md for the choice). The backend is wrapped so that it can be
//! swapped: only [`OpusSettings`], [`OpusEncoder`] and [`OpusDecoder`] are public.
//!
//! RTP facts (RFC 7587 §4.1, §7): the RTP clock is always 48000 Hz and SDP always says
//! `opus/48000/2`, whatever the rate and channel count the codec runs at here; the
//! `maxplaybackrate`, `stereo`, `useinbandfec`, `usedtx` and `maxaveragebitrate` fmtp
//! parameters map onto the fields of [`OpusSettings`].

use crate::CodecError;
use crate::codec::{Decoder, Encoder, PayloadFormat};

/// The Opus application mode, which biases the encoder's choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpusApplication {
    /// Speech over a network (SILK favoured, speech-oriented DTX and FEC).
    Voip,
    /// General audio / music: favours fidelity to the input.
    Audio,
}

/// Validated Opus encoder settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpusSettings {
    /// PCM sampling rate: 8000, 12000, 16000, 24000 or 48000 Hz.
    pub sample_rate: u32,
    /// 1 (mono) or 2 (stereo).
    pub channels: u16,
    /// Frame duration in ms: 10, 20, 40 or 60.
    pub frame_ms: u32,
    /// Application mode.
    pub application: OpusApplication,
    /// Target bitrate in bit/s, 6000..=510000.
    pub bitrate: u32,
    /// Encoder complexity, 0..=10 (10 = best quality, slowest).
    pub complexity: u8,
    /// Code in-band forward error correction (a low-rate copy of the previous frame).
    pub inband_fec: bool,
    /// Discontinuous transmission during silence.
    pub dtx: bool,
    /// Expected packet loss in percent, 0..=100 (drives FEC and loss robustness).
    pub packet_loss_percent: u8,
    /// Constant bitrate instead of (constrained) variable bitrate.
    pub cbr: bool,
}

impl OpusSettings {
    /// Settings for speech: VOIP mode, 20 ms, 24 kbit/s (mono) or 32 kbit/s (stereo),
    /// complexity 9, no FEC, no DTX.
    pub fn voip(sample_rate: u32, channels: u16) -> Self {
        Self {
            sample_rate,
            channels,
            frame_ms: 20,
            application: OpusApplication::Voip,
            bitrate: if channels == 2 { 32_000 } else { 24_000 },
            complexity: 9,
            inband_fec: false,
            dtx: false,
            packet_loss_percent: 0,
            cbr: false,
        }
    }

    /// Checks every field against its range.
    ///
    /// # Errors
    /// [`CodecError::UnsupportedSampleRate`], [`CodecError::UnsupportedChannels`] or
    /// [`CodecError::InvalidSetting`] naming the field.
    pub fn validate(&self) -> Result<(), CodecError> {
        check_rate(self.sample_rate)?;
        check_channels(self.channels)?;
        if ![10, 20, 40, 60].contains(&self.frame_ms) {
            return Err(CodecError::InvalidSetting(
                "opus frame_ms must be 10, 20, 40 or 60",
            ));
        }
        if !(6_000..=510_000).contains(&self.bitrate) {
            return Err(CodecError::InvalidSetting(
                "opus bitrate must be 6000..=510000 bit/s",
            ));
        }
        if self.complexity > 10 {
            return Err(CodecError::InvalidSetting("opus complexity must be 0..=10"));
        }
        if self.packet_loss_percent > 100 {
            return Err(CodecError::InvalidSetting(
                "opus packet_loss_percent must be 0..=100",
            ));
        }
        Ok(())
    }

    /// Samples per channel in one frame.
    pub fn frame_samples(&self) -> usize {
        self.sample_rate as usize * self.frame_ms as usize / 1000
    }
}

fn check_rate(rate: u32) -> Result<(), CodecError> {
    if [8000, 12000, 16000, 24000, 48000].contains(&rate) {
        Ok(())
    } else {
        Err(CodecError::UnsupportedSampleRate(rate))
    }
}

fn check_channels(channels: u16) -> Result<(), CodecError> {
    if channels == 1 || channels == 2 {
        Ok(())
    } else {
        Err(CodecError::UnsupportedChannels {
            codec: "opus",
            channels,
        })
    }
}

fn backend(e: opus_pure::Error) -> CodecError {
    CodecError::Opus(e.to_string())
}

/// Largest Opus packet of one frame of at most 60 ms (RFC 6716 §3.2.1: 1275 bytes per
/// 20 ms frame, three frames, plus framing).
const MAX_OPUS_PACKET: usize = 3 * 1275 + 7;

/// Opus encoder behind the [`Encoder`] trait.
pub struct OpusEncoder {
    inner: opus_pure::OpusEncoder,
    settings: OpusSettings,
}

impl std::fmt::Debug for OpusEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpusEncoder")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl OpusEncoder {
    /// An encoder with validated `settings`.
    ///
    /// # Errors
    /// As [`OpusSettings::validate`], or [`CodecError::Opus`] if the backend refuses.
    pub fn new(settings: OpusSettings) -> Result<Self, CodecError> {
        settings.validate()?;
        let app = match settings.application {
            OpusApplication::Voip => opus_pure::Application::Voip,
            OpusApplication::Audio => opus_pure::Application::Audio,
        };
        let inner = opus_pure::OpusEncoder::new(
            settings.sample_rate as i32,
            usize::from(settings.channels),
            app,
        )
        .map_err(backend)?;
        let mut enc = Self { inner, settings };
        enc.apply(settings)?;
        Ok(enc)
    }

    /// Changes the run-time knobs (bitrate, complexity, FEC, DTX, loss, CBR, frame size)
    /// between frames. Sampling rate, channels and application cannot change.
    ///
    /// # Errors
    /// As [`OpusSettings::validate`]; [`CodecError::InvalidSetting`] if rate, channels or
    /// application differ.
    pub fn apply(&mut self, settings: OpusSettings) -> Result<(), CodecError> {
        settings.validate()?;
        if settings.sample_rate != self.settings.sample_rate
            || settings.channels != self.settings.channels
            || settings.application != self.settings.application
        {
            return Err(CodecError::InvalidSetting(
                "opus sample_rate, channels and application are fixed at creation",
            ));
        }
        let e = &mut self.inner;
        e.bitrate_bps = settings.bitrate as i32;
        e.complexity = i32::from(settings.complexity);
        e.use_inband_fec = settings.inband_fec;
        e.use_dtx = settings.dtx;
        e.packet_loss_perc = i32::from(settings.packet_loss_percent);
        e.rate_control = if settings.cbr {
            opus_pure::RateControl::Cbr
        } else {
            opus_pure::RateControl::ConstrainedVbr
        };
        self.settings = settings;
        Ok(())
    }

    /// The settings in force.
    pub fn settings(&self) -> &OpusSettings {
        &self.settings
    }

    /// Encoder look-ahead in samples per channel (the RFC 7845 pre-skip, at this rate).
    pub fn lookahead(&self) -> usize {
        self.inner.lookahead()
    }
}

impl Encoder for OpusEncoder {
    fn format(&self) -> PayloadFormat {
        PayloadFormat::opus(self.settings.sample_rate, self.settings.channels)
    }

    fn frame_samples(&self) -> usize {
        self.settings.frame_samples()
    }

    fn max_payload_len(&self) -> usize {
        MAX_OPUS_PACKET
    }

    fn encode(&mut self, pcm: &[i16], out: &mut [u8]) -> Result<usize, CodecError> {
        let frame = self.frame_samples();
        let expected = frame * usize::from(self.settings.channels);
        if pcm.len() != expected {
            return Err(CodecError::BadFrameLength {
                expected,
                got: pcm.len(),
            });
        }
        if out.is_empty() {
            return Err(CodecError::OutputTooSmall {
                needed: MAX_OPUS_PACKET,
                got: 0,
            });
        }
        let budget = out.len().min(MAX_OPUS_PACKET);
        self.inner
            .encode_s16(pcm, frame, &mut out[..budget])
            .map_err(backend)
    }
}

/// Opus decoder behind the [`Decoder`] trait: decodes any Opus packet (any mode, frame
/// size and channel count) at its configured rate and channel count.
pub struct OpusDecoder {
    inner: opus_pure::OpusDecoder,
    sample_rate: u32,
    channels: u16,
}

impl std::fmt::Debug for OpusDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpusDecoder")
            .field("sample_rate", &self.sample_rate)
            .field("channels", &self.channels)
            .finish_non_exhaustive()
    }
}

impl OpusDecoder {
    /// A decoder producing `channels` channels at `sample_rate` Hz.
    ///
    /// # Errors
    /// [`CodecError::UnsupportedSampleRate`] or [`CodecError::UnsupportedChannels`].
    pub fn new(sample_rate: u32, channels: u16) -> Result<Self, CodecError> {
        check_rate(sample_rate)?;
        check_channels(channels)?;
        let inner = opus_pure::OpusDecoder::new(sample_rate as i32, usize::from(channels))
            .map_err(backend)?;
        Ok(Self {
            inner,
            sample_rate,
            channels,
        })
    }

    fn check_loss_duration(&self, samples: usize) -> Result<(), CodecError> {
        // Concealment runs in whole 2.5 ms steps up to the 120 ms an Opus packet can hold.
        let step = self.sample_rate as usize / 400;
        if samples == 0
            || !samples.is_multiple_of(step)
            || samples > self.sample_rate as usize * 120 / 1000
        {
            return Err(CodecError::InvalidSetting(
                "opus concealment needs a multiple of 2.5 ms up to 120 ms",
            ));
        }
        Ok(())
    }

    fn output<'a>(&self, samples: usize, out: &'a mut [i16]) -> Result<&'a mut [i16], CodecError> {
        let needed = samples * usize::from(self.channels);
        let got = out.len();
        out.get_mut(..needed)
            .ok_or(CodecError::OutputTooSmall { needed, got })
    }
}

impl Decoder for OpusDecoder {
    fn format(&self) -> PayloadFormat {
        PayloadFormat::opus(self.sample_rate, self.channels)
    }

    fn samples_in(&self, payload: &[u8]) -> Result<usize, CodecError> {
        if payload.is_empty() {
            return Err(CodecError::MalformedPayload("empty opus payload"));
        }
        opus_pure::packet::samples(payload, self.sample_rate as i32)
            .map_err(|_| CodecError::MalformedPayload("invalid opus packet framing"))
    }

    fn decode(&mut self, payload: &[u8], out: &mut [i16]) -> Result<usize, CodecError> {
        let samples = self.samples_in(payload)?;
        let out = self.output(samples, out)?;
        self.inner
            .decode_s16(payload, samples, out)
            .map_err(|e| match e {
                opus_pure::Error::InvalidPacket(what) => CodecError::MalformedPayload(what),
                other => backend(other),
            })
    }

    fn decode_lost(&mut self, samples: usize, out: &mut [i16]) -> Result<usize, CodecError> {
        self.check_loss_duration(samples)?;
        let out = self.output(samples, out)?;
        self.inner.decode_s16(&[], samples, out).map_err(backend)
    }

    fn decode_fec(
        &mut self,
        next_payload: &[u8],
        samples: usize,
        out: &mut [i16],
    ) -> Result<usize, CodecError> {
        self.check_loss_duration(samples)?;
        self.samples_in(next_payload)?;
        let out = self.output(samples, out)?;
        self.inner
            .decode_fec_s16(next_payload, samples, out)
            .map_err(|e| match e {
                opus_pure::Error::InvalidPacket(what) => CodecError::MalformedPayload(what),
                other => backend(other),
            })
    }

    fn reset(&mut self) {
        // reset_state only fails for states that new() never builds.
        let _ = self.inner.reset_state();
    }
}
