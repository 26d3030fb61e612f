//! Command-line access to the codecs for the interop stage (.ci/interop/40-codecs.sh).
//!
//! Raw PCM files are 16-bit little-endian, interleaved.
//!
//! ```text
//! codec_tool g722-enc IN.s16 OUT.g722          # 16 kHz PCM -> G.722 codes
//! codec_tool g722-dec IN.g722 OUT.s16          # G.722 codes -> 16 kHz PCM
//! codec_tool opus-enc IN.s16 RATE CH BITRATE COMPLEXITY OUT.opus   # Ogg Opus via our encoder
//! codec_tool opus-dec IN.opus OUT.s16          # Ogg Opus -> 48 kHz PCM via our decoder
//! codec_tool opus-enc-raw IN.s16 RATE CH BITRATE COMPLEXITY OUT.pkts   # VOIP, 20 ms
//! codec_tool opus-dec-raw IN.pkts RATE CH OUT.s16
//! codec_tool snr REF.s16 TEST.s16 MAXLAG       # SNR (dB) of TEST vs REF at the best lag
//! ```
//!
//! `.pkts` files hold Opus packets, each preceded by its length as a 16-bit LE integer (the
//! same format as `.ci/interop/codecs/opus_ref.c`).
#![allow(clippy::unwrap_used, reason = "a test tool: any error ends it")]

use std::error::Error;
use std::fs;

use telox_codecs::g722::{G722Core, G722DecoderCore};
use telox_codecs::{Decoder, Encoder, OpusDecoder, OpusEncoder, OpusSettings};

type Res<T> = Result<T, Box<dyn Error>>;

fn read_s16(path: &str) -> Res<Vec<i16>> {
    Ok(fs::read(path)?
        .chunks_exact(2)
        .map(|c| i16::from_le_bytes([c[0], c[1]]))
        .collect())
}

fn write_s16(path: &str, pcm: &[i16]) -> Res<()> {
    let bytes: Vec<u8> = pcm.iter().flat_map(|s| s.to_le_bytes()).collect();
    Ok(fs::write(path, bytes)?)
}

fn opus_enc(args: &[String]) -> Res<()> {
    let pcm = read_s16(&args[0])?;
    let rate: u32 = args[1].parse()?;
    let channels: u16 = args[2].parse()?;
    let settings = OpusSettings {
        bitrate: args[3].parse()?,
        complexity: args[4].parse()?,
        ..OpusSettings::voip(rate, channels)
    };
    let mut enc = OpusEncoder::new(settings)?;
    // Ogg Opus (RFC 7845) container from the backend, pre-skip = our look-ahead at 48 kHz.
    let mut head = opus_pure::OpusHead::new(channels as u8, rate)?;
    head.pre_skip = (enc.lookahead() * 48000 / rate as usize) as u16;
    let file = fs::File::create(&args[5])?;
    let mut writer = opus_pure::OggOpusWriter::new(std::io::BufWriter::new(file), head)?;
    let frame = enc.frame_samples() * usize::from(channels);
    let mut packets = 0;
    for chunk in pcm.chunks(frame) {
        let mut block = chunk.to_vec();
        block.resize(frame, 0);
        let p = enc.encode_vec(&block)?;
        writer.write_packet(&p)?;
        packets += 1;
    }
    writer.finish()?;
    eprintln!("{packets} packets");
    Ok(())
}

fn opus_enc_raw(args: &[String]) -> Res<()> {
    let pcm = read_s16(&args[0])?;
    let rate: u32 = args[1].parse()?;
    let channels: u16 = args[2].parse()?;
    let settings = OpusSettings {
        bitrate: args[3].parse()?,
        complexity: args[4].parse()?,
        ..OpusSettings::voip(rate, channels)
    };
    let mut enc = OpusEncoder::new(settings)?;
    let frame = enc.frame_samples() * usize::from(channels);
    let mut out = Vec::new();
    for chunk in pcm.chunks_exact(frame) {
        let p = enc.encode_vec(chunk)?;
        out.extend((p.len() as u16).to_le_bytes());
        out.extend(p);
    }
    Ok(fs::write(&args[5], out)?)
}

fn opus_dec_raw(args: &[String]) -> Res<()> {
    let data = fs::read(&args[0])?;
    let rate: u32 = args[1].parse()?;
    let channels: u16 = args[2].parse()?;
    let mut dec = OpusDecoder::new(rate, channels)?;
    let mut pcm = Vec::new();
    let mut rest = &data[..];
    while let [a, b, tail @ ..] = rest {
        let len = usize::from(u16::from_le_bytes([*a, *b])).min(tail.len());
        let (p, next) = tail.split_at(len);
        pcm.extend(dec.decode_vec(p)?);
        rest = next;
    }
    write_s16(&args[3], &pcm)
}

fn opus_dec(args: &[String]) -> Res<()> {
    let file = fs::File::open(&args[0])?;
    let mut reader = opus_pure::OggOpusReader::new(std::io::BufReader::new(file))?;
    let channels = reader.head().channel_count as u16;
    let pre_skip = usize::from(reader.head().pre_skip);
    let mut dec = OpusDecoder::new(48000, channels)?;
    let mut pcm = Vec::new();
    for packet in reader.packets() {
        let packet = packet?;
        pcm.extend(dec.decode_vec(&packet.data)?);
    }
    let skip = (pre_skip * usize::from(channels)).min(pcm.len());
    write_s16(&args[1], &pcm[skip..])
}

fn snr(args: &[String]) -> Res<()> {
    let a = read_s16(&args[0])?;
    let b = read_s16(&args[1])?;
    let max_lag: i64 = args[2].parse()?;
    // Best SNR over lags -max_lag..=max_lag (b[i + lag] against a[i]), so a decoder that
    // trims a few samples more or less than the encoder delay is still aligned.
    let mut best = (f64::MIN, 0i64);
    for lag in -max_lag..=max_lag {
        let (mut s, mut e) = (0.0f64, 0.0f64);
        for (i, &x) in a.iter().enumerate() {
            let j = i as i64 + lag;
            if j < 0 || j >= b.len() as i64 {
                continue;
            }
            let x = f64::from(x);
            s += x * x;
            e += (x - f64::from(b[j as usize])).powi(2);
        }
        let v = if e == 0.0 {
            200.0
        } else {
            10.0 * (s / e).log10()
        };
        if v > best.0 {
            best = (v, lag);
        }
    }
    println!("{:.2} {}", best.0, best.1);
    Ok(())
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = args.first() else {
        return Err("usage: codec_tool g722-enc|g722-dec|opus-enc|opus-dec|snr ...".into());
    };
    let rest = &args[1..];
    match cmd.as_str() {
        "g722-enc" => {
            let pcm = read_s16(&rest[0])?;
            let mut out = vec![0u8; pcm.len() / 2];
            G722Core::new().encode(&pcm, &mut out);
            fs::write(&rest[1], out)?;
        }
        "g722-dec" => {
            let codes = fs::read(&rest[0])?;
            let mut out = vec![0i16; codes.len() * 2];
            G722DecoderCore::new().decode(&codes, &mut out);
            write_s16(&rest[1], &out)?;
        }
        "opus-enc" => opus_enc(rest)?,
        "opus-dec" => opus_dec(rest)?,
        "opus-enc-raw" => opus_enc_raw(rest)?,
        "opus-dec-raw" => opus_dec_raw(rest)?,
        "snr" => snr(rest)?,
        other => return Err(format!("unknown command {other}").into()),
    }
    Ok(())
}
