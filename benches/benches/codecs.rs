//! Codec benches, side by side with peers on the same input in one run:
//! - G.711 µ-law/A-law encode and decode of 160-sample frames and 1 s buffers: telox vs
//!   `oxideav-g711` and `audio-codec-algorithms` (and spandsp with `--features codec-ffi`);
//! - Opus encode/decode of 20 ms 48 kHz mono VOIP frames at complexity 10 and 5: telox
//!   (opus-pure backend) vs libopus (`--features codec-ffi`);
//! - G.722 encode/decode per 20 ms frame (vs spandsp with `--features codec-ffi`);
//! - the 8 <-> 48 kHz resampler per 20 ms frame.
//!
//! Short run: `cargo bench -p telox-benches --bench codecs -- --warm-up-time 1 --measurement-time 3`

#![allow(missing_docs, reason = "criterion_group! generates an undocumented fn")]

use codecs::g711::{alaw_decode, alaw_encode, ulaw_decode, ulaw_encode};
use codecs::g722::{G722Core, G722DecoderCore};
use codecs::{Decoder, Encoder, OpusDecoder, OpusEncoder, OpusSettings, Resampler};
use criterion::{BenchmarkId, Criterion, Throughput, black_box, criterion_group, criterion_main};

/// Speech-like test signal: a few harmonics with a slow envelope, deterministic.
fn signal(rate: u32, n: usize) -> Vec<i16> {
    (0..n)
        .map(|i| {
            let t = i as f64 / f64::from(rate);
            let env = 0.5 + 0.5 * (2.0 * std::f64::consts::PI * 3.0 * t).sin();
            let s: f64 = [140.0, 280.0, 700.0, 1400.0, 2600.0]
                .iter()
                .enumerate()
                .map(|(k, f)| (2.0 * std::f64::consts::PI * f * t).sin() / (k as f64 + 1.0))
                .sum();
            (s * env * 6000.0) as i16
        })
        .collect()
}

fn g711(c: &mut Criterion) {
    for (label, n) in [("160", 160usize), ("1s", 8000)] {
        let pcm = signal(8000, n);
        let mut codes = vec![0u8; n];
        ulaw_encode(&pcm, &mut codes);
        let mut acodes = vec![0u8; n];
        alaw_encode(&pcm, &mut acodes);
        let mut out8 = vec![0u8; n];
        let mut out16 = vec![0i16; n];

        let mut g = c.benchmark_group(format!("g711_encode_{label}"));
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function("telox_ulaw", |b| {
            b.iter(|| ulaw_encode(black_box(&pcm), &mut out8))
        });
        g.bench_function("oxideav_ulaw", |b| {
            b.iter(|| {
                for (o, &x) in out8.iter_mut().zip(black_box(&pcm)) {
                    *o = oxideav_g711::mulaw::encode_sample(x);
                }
            })
        });
        g.bench_function("aca_ulaw", |b| {
            b.iter(|| {
                for (o, &x) in out8.iter_mut().zip(black_box(&pcm)) {
                    *o = audio_codec_algorithms::encode_ulaw(x);
                }
            })
        });
        g.bench_function("telox_alaw", |b| {
            b.iter(|| alaw_encode(black_box(&pcm), &mut out8))
        });
        g.bench_function("oxideav_alaw", |b| {
            b.iter(|| {
                for (o, &x) in out8.iter_mut().zip(black_box(&pcm)) {
                    *o = oxideav_g711::alaw::encode_sample(x);
                }
            })
        });
        g.bench_function("aca_alaw", |b| {
            b.iter(|| {
                for (o, &x) in out8.iter_mut().zip(black_box(&pcm)) {
                    *o = audio_codec_algorithms::encode_alaw(x);
                }
            })
        });
        #[cfg(feature = "codec-ffi")]
        {
            let mut su = telox_codec_ffi::SpanG711::new(true);
            g.bench_function("spandsp_ulaw", |b| {
                b.iter(|| su.encode(black_box(&pcm), &mut out8))
            });
            let mut sa = telox_codec_ffi::SpanG711::new(false);
            g.bench_function("spandsp_alaw", |b| {
                b.iter(|| sa.encode(black_box(&pcm), &mut out8))
            });
        }
        g.finish();

        let mut g = c.benchmark_group(format!("g711_decode_{label}"));
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function("telox_ulaw", |b| {
            b.iter(|| ulaw_decode(black_box(&codes), &mut out16))
        });
        g.bench_function("oxideav_ulaw", |b| {
            b.iter(|| {
                for (o, &x) in out16.iter_mut().zip(black_box(&codes)) {
                    *o = oxideav_g711::mulaw::decode_sample(x);
                }
            })
        });
        g.bench_function("aca_ulaw", |b| {
            b.iter(|| {
                for (o, &x) in out16.iter_mut().zip(black_box(&codes)) {
                    *o = audio_codec_algorithms::decode_ulaw(x);
                }
            })
        });
        g.bench_function("telox_alaw", |b| {
            b.iter(|| alaw_decode(black_box(&acodes), &mut out16))
        });
        g.bench_function("oxideav_alaw", |b| {
            b.iter(|| {
                for (o, &x) in out16.iter_mut().zip(black_box(&acodes)) {
                    *o = oxideav_g711::alaw::decode_sample(x);
                }
            })
        });
        g.bench_function("aca_alaw", |b| {
            b.iter(|| {
                for (o, &x) in out16.iter_mut().zip(black_box(&acodes)) {
                    *o = audio_codec_algorithms::decode_alaw(x);
                }
            })
        });
        #[cfg(feature = "codec-ffi")]
        {
            let mut su = telox_codec_ffi::SpanG711::new(true);
            g.bench_function("spandsp_ulaw", |b| {
                b.iter(|| su.decode(black_box(&codes), &mut out16))
            });
            let mut sa = telox_codec_ffi::SpanG711::new(false);
            g.bench_function("spandsp_alaw", |b| {
                b.iter(|| sa.decode(black_box(&acodes), &mut out16))
            });
        }
        g.finish();
    }
}

fn opus(c: &mut Criterion) {
    // 1 s of 48 kHz speech-like audio, 50 frames of 20 ms; each iteration codes one frame,
    // cycling through the clip so the encoder sees changing content.
    let pcm = signal(48000, 48000);
    let frames: Vec<&[i16]> = pcm.chunks_exact(960).collect();
    for complexity in [10u8, 5] {
        let settings = OpusSettings {
            bitrate: 24_000,
            complexity,
            ..OpusSettings::voip(48000, 1)
        };
        let mut g = c.benchmark_group(format!("opus_48k_mono_voip_c{complexity}"));
        g.throughput(Throughput::Elements(960));
        let mut enc = OpusEncoder::new(settings).unwrap_or_else(|e| panic!("{e}"));
        let mut packet = vec![0u8; 4000];
        let mut i = 0;
        g.bench_function("telox_encode", |b| {
            b.iter(|| {
                i = (i + 1) % frames.len();
                enc.encode(black_box(frames[i]), &mut packet)
            })
        });
        // Packets for the decode benches, from our encoder.
        let mut enc = OpusEncoder::new(settings).unwrap_or_else(|e| panic!("{e}"));
        let packets: Vec<Vec<u8>> = frames
            .iter()
            .map(|f| enc.encode_vec(f).unwrap_or_else(|e| panic!("{e}")))
            .collect();
        let mut dec = OpusDecoder::new(48000, 1).unwrap_or_else(|e| panic!("{e}"));
        let mut out = vec![0i16; 960];
        let mut j = 0;
        g.bench_function("telox_decode", |b| {
            b.iter(|| {
                j = (j + 1) % packets.len();
                dec.decode(black_box(&packets[j]), &mut out)
            })
        });
        #[cfg(feature = "codec-ffi")]
        {
            let mut lib =
                telox_codec_ffi::LibOpusEncoder::new(48000, 1, 24_000, i32::from(complexity))
                    .unwrap_or_else(|| panic!("libopus encoder"));
            let mut k = 0;
            g.bench_function("libopus_encode", |b| {
                b.iter(|| {
                    k = (k + 1) % frames.len();
                    lib.encode(black_box(frames[k]), &mut packet)
                })
            });
            let mut ldec = telox_codec_ffi::LibOpusDecoder::new(48000, 1)
                .unwrap_or_else(|| panic!("libopus decoder"));
            let mut m = 0;
            g.bench_function("libopus_decode", |b| {
                b.iter(|| {
                    m = (m + 1) % packets.len();
                    ldec.decode(black_box(&packets[m]), &mut out)
                })
            });
        }
        g.finish();
    }
}

fn g722(c: &mut Criterion) {
    let pcm = signal(16000, 320);
    let mut codes = vec![0u8; 160];
    G722Core::new().encode(&pcm, &mut codes);
    let mut out = vec![0i16; 320];
    let mut g = c.benchmark_group("g722_20ms_frame");
    g.throughput(Throughput::Elements(320));
    let mut enc = G722Core::new();
    g.bench_function("telox_encode", |b| {
        b.iter(|| enc.encode(black_box(&pcm), &mut codes))
    });
    let mut dec = G722DecoderCore::new();
    g.bench_function("telox_decode", |b| {
        b.iter(|| dec.decode(black_box(&codes), &mut out))
    });
    #[cfg(feature = "codec-ffi")]
    {
        let mut s = telox_codec_ffi::SpanG722::new();
        g.bench_function("spandsp_encode", |b| {
            b.iter(|| s.encode(black_box(&pcm), &mut codes))
        });
        g.bench_function("spandsp_decode", |b| {
            b.iter(|| s.decode(black_box(&codes), &mut out))
        });
    }
    g.finish();
}

fn resample(c: &mut Criterion) {
    let mut g = c.benchmark_group("resample_20ms");
    for (from, to) in [(8000u32, 48000u32), (48000, 8000), (8000, 16000)] {
        let pcm = signal(from, from as usize / 50);
        let mut r = Resampler::new(from, to).unwrap_or_else(|e| panic!("{e}"));
        let mut out = Vec::with_capacity(to as usize / 50 + 8);
        g.throughput(Throughput::Elements(pcm.len() as u64));
        g.bench_function(BenchmarkId::new("telox", format!("{from}-{to}")), |b| {
            b.iter(|| {
                out.clear();
                r.process(black_box(&pcm), &mut out);
            })
        });
    }
    g.finish();
}

criterion_group!(benches, g711, opus, g722, resample);
criterion_main!(benches);
