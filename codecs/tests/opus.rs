//! Opus through the codec traits: tone and speech SNR, every frame size and rate, stereo,
//! FEC from the next packet, DTX, and settings validation.
#![allow(clippy::unwrap_used, reason = "test helpers outside #[test] fns")]

mod common;

use telox_codecs::{
    CodecError, Decoder, Encoder, OpusApplication, OpusDecoder, OpusEncoder, OpusSettings,
};

fn run(settings: OpusSettings, x: &[i16]) -> (Vec<i16>, usize) {
    let mut enc = OpusEncoder::new(settings).unwrap();
    let mut dec = OpusDecoder::new(settings.sample_rate, settings.channels).unwrap();
    let frame = enc.frame_samples() * usize::from(settings.channels);
    let mut y = Vec::new();
    let mut bytes = 0;
    for f in x.chunks_exact(frame) {
        let p = enc.encode_vec(f).unwrap();
        bytes += p.len();
        assert_eq!(dec.samples_in(&p).unwrap(), enc.frame_samples());
        y.extend(dec.decode_vec(&p).unwrap());
    }
    (y, bytes)
}

#[test]
fn speech_snr_at_48k_voip() {
    let x = common::speech_like(48000, 1.0, 5);
    let s = OpusSettings {
        bitrate: 32_000,
        complexity: 5,
        ..OpusSettings::voip(48000, 1)
    };
    let (y, bytes) = run(s, &x);
    let (snr, lag) = common::snr_with_lag(&x[..x.len() - 2000], &y, 800);
    let kbps = bytes as f64 * 8.0 / 1000.0;
    println!("48 kHz speech: {snr:.1} dB at lag {lag}, {kbps:.1} kbit/s");
    assert!(snr > 8.0, "{snr:.1} dB");
    assert!(kbps < 40.0, "bitrate {kbps:.1} kbit/s");
}

#[test]
fn tone_snr_at_narrow_and_wideband() {
    for rate in [8000, 16000] {
        let x = common::sine(rate, 440.0, rate as usize, 10000.0);
        let s = OpusSettings {
            bitrate: 24_000,
            complexity: 5,
            ..OpusSettings::voip(rate, 1)
        };
        let (y, _) = run(s, &x);
        let (snr, lag) = common::snr_with_lag(&x[..x.len() - 400], &y, 200);
        println!("{rate} Hz tone: {snr:.1} dB at lag {lag}");
        assert!(snr > 10.0, "{rate}: {snr:.1} dB");
    }
}

#[test]
fn every_frame_size_and_stereo() {
    for frame_ms in [10, 20, 40, 60] {
        for channels in [1u16, 2] {
            let s = OpusSettings {
                frame_ms,
                complexity: 1,
                ..OpusSettings::voip(16000, channels)
            };
            let mono = common::sine(16000, 300.0, 16000 * frame_ms as usize / 1000 * 4, 8000.0);
            let x: Vec<i16> = mono
                .iter()
                .flat_map(|&v| std::iter::repeat_n(v, usize::from(channels)))
                .collect();
            let (y, _) = run(s, &x);
            assert_eq!(y.len(), x.len(), "{frame_ms} ms, {channels} ch");
        }
    }
}

#[test]
fn fec_recovers_a_lost_frame_better_than_plc() {
    let x = common::speech_like(16000, 1.0, 11);
    let s = OpusSettings {
        inband_fec: true,
        packet_loss_percent: 20,
        complexity: 5,
        ..OpusSettings::voip(16000, 1)
    };
    let mut enc = OpusEncoder::new(s).unwrap();
    let packets: Vec<Vec<u8>> = x
        .chunks_exact(320)
        .map(|f| enc.encode_vec(f).unwrap())
        .collect();
    // Reference: clean decode.
    let mut dec = OpusDecoder::new(16000, 1).unwrap();
    let clean: Vec<i16> = packets
        .iter()
        .flat_map(|p| dec.decode_vec(p).unwrap())
        .collect();
    // Lose every 7th packet; conceal or rebuild it from the next one.
    let mut with_fec = Vec::new();
    let mut with_plc = Vec::new();
    let mut d_fec = OpusDecoder::new(16000, 1).unwrap();
    let mut d_plc = OpusDecoder::new(16000, 1).unwrap();
    for (i, p) in packets.iter().enumerate() {
        if i % 7 == 3 && i + 1 < packets.len() {
            let mut out = vec![0i16; 320];
            d_fec.decode_fec(&packets[i + 1], 320, &mut out).unwrap();
            with_fec.extend(out);
            with_plc.extend(d_plc.conceal_vec(320).unwrap());
        } else {
            with_fec.extend(d_fec.decode_vec(p).unwrap());
            with_plc.extend(d_plc.decode_vec(p).unwrap());
        }
    }
    let (s_fec, s_plc) = (
        common::snr(&clean, &with_fec),
        common::snr(&clean, &with_plc),
    );
    println!("FEC {s_fec:.1} dB vs PLC {s_plc:.1} dB against the clean decode");
    assert!(s_fec > s_plc, "FEC {s_fec:.1} <= PLC {s_plc:.1}");
}

#[test]
fn dtx_shrinks_silence() {
    let s = OpusSettings {
        dtx: true,
        complexity: 1,
        ..OpusSettings::voip(16000, 1)
    };
    let mut enc = OpusEncoder::new(s).unwrap();
    let sizes: Vec<usize> = (0..50)
        .map(|_| enc.encode_vec(&[0i16; 320]).unwrap().len())
        .collect();
    assert!(sizes[40..].iter().all(|&n| n <= 3), "{sizes:?}");
}

#[test]
fn settings_are_validated() {
    let ok = OpusSettings::voip(48000, 1);
    assert!(ok.validate().is_ok());
    let bad = [
        OpusSettings {
            sample_rate: 44100,
            ..ok
        },
        OpusSettings { channels: 3, ..ok },
        OpusSettings { frame_ms: 30, ..ok },
        OpusSettings {
            bitrate: 1000,
            ..ok
        },
        OpusSettings {
            complexity: 11,
            ..ok
        },
        OpusSettings {
            packet_loss_percent: 101,
            ..ok
        },
    ];
    for b in bad {
        assert!(OpusEncoder::new(b).is_err(), "{b:?}");
    }
    let mut enc = OpusEncoder::new(ok).unwrap();
    assert!(
        enc.apply(OpusSettings {
            bitrate: 16000,
            application: OpusApplication::Voip,
            ..ok
        })
        .is_ok()
    );
    assert!(
        enc.apply(OpusSettings {
            application: OpusApplication::Audio,
            ..ok
        })
        .is_err()
    );
    assert!(matches!(
        enc.encode_vec(&[0; 100]),
        Err(CodecError::BadFrameLength {
            expected: 960,
            got: 100
        })
    ));
    let mut dec = OpusDecoder::new(48000, 1).unwrap();
    assert!(dec.decode_vec(&[]).is_err());
    assert!(dec.conceal_vec(100).is_err(), "not a multiple of 2.5 ms");
    assert_eq!(dec.conceal_vec(480).unwrap().len(), 480);
}
