//! Decoding a captured RTP stream to PCM with loss concealment, as Wireshark's RTP player
//! export does: `rtp-analyze --wav DIR`.
//!
//! Packets are taken in arrival order. The RTP timestamp places each payload on the stream's
//! timeline: a gap of up to [`MAX_CONCEAL_MS`] before a packet is filled by the codec's
//! concealment (lost packets), a longer gap (silence suppression, a hold) by silence, capped
//! at [`MAX_GAP_MS`] so a timestamp jump cannot make the file grow without bound. A packet
//! whose timestamp is behind the playout point arrived too late to play and is skipped, as a
//! receiver would; a payload the decoder refuses is concealed instead of aborting the export.

use std::path::Path;

use codecs::{CodecError, Decoder};

/// Longest gap filled by concealment; longer gaps are silence.
pub const MAX_CONCEAL_MS: u32 = 200;
/// Longest gap written at all (as silence) between two packets.
pub const MAX_GAP_MS: u32 = 10_000;

/// One RTP payload of the stream to decode, in arrival order.
#[derive(Clone, Copy, Debug)]
pub struct MediaPacket<'a> {
    /// RTP timestamp.
    pub timestamp: u32,
    /// Codec payload.
    pub payload: &'a [u8],
}

/// What the export did.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub struct ExportStats {
    /// Payloads decoded.
    pub decoded: u64,
    /// Samples produced by concealment.
    pub concealed_samples: u64,
    /// Samples of silence written for long gaps.
    pub silence_samples: u64,
    /// Packets skipped because they arrived behind the playout point.
    pub late: u64,
    /// Payloads the decoder refused (concealed instead).
    pub undecodable: u64,
}

/// Decodes `packets` (one stream, one codec, arrival order) with `decoder` into mono PCM at
/// the decoder's sample rate (a multi-channel decoder's first channel).
pub fn decode_stream<'a>(
    decoder: &mut dyn Decoder,
    packets: impl IntoIterator<Item = MediaPacket<'a>>,
) -> (Vec<i16>, ExportStats) {
    let format = decoder.format();
    let channels = usize::from(format.channels.max(1));
    let ticks_per_sample = f64::from(format.rtp_clock_rate) / f64::from(format.sample_rate);
    let samples_per_ms = format.sample_rate as usize / 1000;
    let mut pcm = Vec::new();
    let mut stats = ExportStats::default();
    // The playout point: RTP timestamp of the next sample to write (u32 wrap handled by
    // wrapping differences interpreted as signed).
    let mut next_ts: Option<u32> = None;
    let mut last_frame = samples_per_ms * 20;
    let mut scratch = Vec::new();
    for packet in packets {
        if let Some(expected) = next_ts {
            let ahead = packet.timestamp.wrapping_sub(expected) as i32;
            if ahead < 0 {
                stats.late += 1;
                continue;
            }
            let gap_samples = (f64::from(ahead) / ticks_per_sample).round() as usize;
            if gap_samples > 0 {
                if gap_samples <= samples_per_ms * MAX_CONCEAL_MS as usize {
                    conceal(
                        decoder,
                        gap_samples,
                        last_frame,
                        channels,
                        &mut pcm,
                        &mut scratch,
                    );
                    stats.concealed_samples += gap_samples as u64;
                } else {
                    let silence = gap_samples.min(samples_per_ms * MAX_GAP_MS as usize);
                    pcm.resize(pcm.len() + silence, 0);
                    stats.silence_samples += silence as u64;
                }
            }
        }
        let samples = match decode_one(decoder, packet.payload, channels, &mut scratch) {
            Ok(n) => {
                stats.decoded += 1;
                pcm.extend(scratch.iter().step_by(channels).take(n));
                n
            }
            Err(_) => {
                stats.undecodable += 1;
                conceal(
                    decoder,
                    last_frame,
                    last_frame,
                    channels,
                    &mut pcm,
                    &mut scratch,
                );
                stats.concealed_samples += last_frame as u64;
                last_frame
            }
        };
        if samples > 0 {
            last_frame = samples;
        }
        let ticks = (samples as f64 * ticks_per_sample).round() as u32;
        next_ts = Some(packet.timestamp.wrapping_add(ticks));
    }
    (pcm, stats)
}

/// Decodes `packets` and writes them to `path` as a 16-bit mono WAV file at the decoder's
/// sample rate.
///
/// # Errors
/// Any error creating or writing the file.
pub fn export_wav<'a>(
    path: &Path,
    decoder: &mut dyn Decoder,
    packets: impl IntoIterator<Item = MediaPacket<'a>>,
) -> Result<ExportStats, hound::Error> {
    let rate = decoder.format().sample_rate;
    let (pcm, stats) = decode_stream(decoder, packets);
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec)?;
    for s in pcm {
        writer.write_sample(s)?;
    }
    writer.finalize()?;
    Ok(stats)
}

fn decode_one(
    decoder: &mut dyn Decoder,
    payload: &[u8],
    channels: usize,
    scratch: &mut Vec<i16>,
) -> Result<usize, CodecError> {
    let n = decoder.samples_in(payload)?;
    scratch.clear();
    scratch.resize(n * channels, 0);
    decoder.decode(payload, scratch)
}

/// Conceals `samples` samples in chunks of at most one frame (codecs conceal frame by frame),
/// falling back to silence where the codec cannot conceal that duration.
fn conceal(
    decoder: &mut dyn Decoder,
    samples: usize,
    frame: usize,
    channels: usize,
    pcm: &mut Vec<i16>,
    scratch: &mut Vec<i16>,
) {
    let mut left = samples;
    while left > 0 {
        let chunk = left.min(frame.max(1));
        scratch.clear();
        scratch.resize(chunk * channels, 0);
        let got = decoder.decode_lost(chunk, scratch).unwrap_or(0).min(chunk);
        pcm.extend(scratch.iter().step_by(channels).take(got));
        pcm.resize(pcm.len() + (chunk - got), 0);
        left -= chunk;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(n: usize, rate: f64) -> Vec<i16> {
        (0..n)
            .map(|i| (8000.0 * (2.0 * std::f64::consts::PI * 440.0 * i as f64 / rate).sin()) as i16)
            .collect()
    }

    fn encode_frames(name: &str, clock: u32, pcm: &[i16], frame: usize) -> Vec<Vec<u8>> {
        let mut enc = codecs::encoder_for(name, clock, 1, 20).unwrap();
        pcm.chunks(frame)
            .map(|f| enc.encode_vec(f).unwrap())
            .collect()
    }

    #[test]
    fn lost_packets_are_concealed_and_timeline_kept() {
        let pcm = tone(8000, 8000.0);
        let frames = encode_frames("PCMU", 8000, &pcm, 160);
        let mut dec = codecs::decoder_for("PCMU", 8000, 1).unwrap();
        let packets: Vec<MediaPacket<'_>> = frames
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 10 != 5) // 10 % loss
            .map(|(i, p)| MediaPacket {
                timestamp: 1000u32.wrapping_add(i as u32 * 160),
                payload: p,
            })
            .collect();
        let (out, stats) = decode_stream(dec.as_mut(), packets);
        assert_eq!(
            out.len(),
            8000,
            "lost frames keep their place on the timeline"
        );
        assert_eq!(stats.decoded, 45);
        assert_eq!(stats.concealed_samples, 5 * 160);
        // The concealed frames are not silence: the PLC repeats the tone.
        let concealed = &out[5 * 160..6 * 160];
        assert!(concealed.iter().any(|&s| s.abs() > 1000));
    }

    #[test]
    fn late_packets_are_skipped_and_long_gaps_are_bounded_silence() {
        let pcm = tone(480, 8000.0);
        let frames = encode_frames("PCMA", 8000, &pcm, 160);
        let mut dec = codecs::decoder_for("PCMA", 8000, 1).unwrap();
        let packets = [
            MediaPacket {
                timestamp: u32::MAX - 159,
                payload: &frames[0],
            },
            // wraps: ts 0 follows u32::MAX - 159 + 160
            MediaPacket {
                timestamp: 160,
                payload: &frames[2],
            },
            MediaPacket {
                timestamp: 0,
                payload: &frames[1],
            }, // late
            MediaPacket {
                timestamp: 160 + 160 + 8000 * 60,
                payload: &frames[0],
            }, // 60 s jump
        ];
        let (out, stats) = decode_stream(dec.as_mut(), packets);
        assert_eq!(stats.late, 1);
        assert_eq!(stats.concealed_samples, 160);
        assert_eq!(stats.silence_samples, 8 * MAX_GAP_MS as u64);
        assert_eq!(out.len(), 160 * 4 + 8 * MAX_GAP_MS as usize);
    }

    #[test]
    fn g722_uses_the_16khz_sample_rate_on_its_8khz_clock() {
        let pcm = tone(3200, 16000.0);
        let frames = encode_frames("G722", 8000, &pcm, 320);
        let mut dec = codecs::decoder_for("G722", 8000, 1).unwrap();
        let packets = frames
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != 3)
            .map(|(i, p)| MediaPacket {
                timestamp: i as u32 * 160,
                payload: p,
            });
        let (out, stats) = decode_stream(dec.as_mut(), packets);
        assert_eq!(out.len(), 3200);
        assert_eq!(stats.concealed_samples, 320);
    }

    #[test]
    fn garbage_payload_is_concealed_not_fatal() {
        let mut dec = codecs::decoder_for("opus", 48000, 1).unwrap();
        let pcm = tone(960 * 3, 48000.0);
        let frames = encode_frames("opus", 48000, &pcm, 960);
        let packets = [
            MediaPacket {
                timestamp: 0,
                payload: &frames[0],
            },
            MediaPacket {
                timestamp: 960,
                payload: &[],
            },
            MediaPacket {
                timestamp: 1920,
                payload: &frames[2],
            },
        ];
        let (out, stats) = decode_stream(dec.as_mut(), packets);
        assert_eq!(stats.undecodable, 1);
        assert_eq!(out.len(), 960 * 3);
    }
}
