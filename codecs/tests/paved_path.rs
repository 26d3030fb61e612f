//! The paved path the tools and the call glue use: build by SDP encoding name, encode,
//! decode in arrival order, conceal gaps. Every codec, speech-like audio, one loss.
#![allow(clippy::unwrap_used, reason = "test helpers outside #[test] fns")]

mod common;

use proptest::prelude::*;
use telox_codecs::cn::ComfortNoise;
use telox_codecs::{decoder_for, encoder_for};

#[test]
fn every_codec_by_name_with_a_lost_packet() {
    for (name, clock, pcm_rate, min_snr) in [
        ("PCMU", 8000, 8000, 20.0),
        ("PCMA", 8000, 8000, 20.0),
        ("G722", 8000, 16000, 15.0),
        ("opus", 48000, 48000, 8.0),
    ] {
        let mut enc = encoder_for(name, clock, 1, 20).unwrap();
        let mut dec = decoder_for(name, clock, 1).unwrap();
        let fmt = dec.format();
        assert_eq!(fmt.sample_rate, pcm_rate, "{name}");
        assert_eq!(
            fmt.rtp_ticks(enc.frame_samples()),
            u64::from(clock / 50),
            "{name}: 20 ms of RTP clock"
        );
        let x = common::speech_like(pcm_rate, 0.6, 21);
        let frame = enc.frame_samples();
        let mut y = Vec::new();
        for (i, f) in x.chunks_exact(frame).enumerate() {
            let payload = enc.encode_vec(f).unwrap();
            assert_eq!(dec.samples_in(&payload).unwrap(), frame, "{name}");
            if i == 12 {
                y.extend(dec.conceal_vec(frame).unwrap());
            } else {
                y.extend(dec.decode_vec(&payload).unwrap());
            }
        }
        assert_eq!(y.len(), x.len() / frame * frame, "{name}");
        let (snr, lag) = common::snr_with_lag(&x[..x.len() - 1000], &y, 400);
        println!("{name}: {snr:.1} dB at lag {lag} with one lost packet");
        assert!(snr > min_snr, "{name}: {snr:.1} dB");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]
    #[test]
    fn cn_payload_round_trips(level in 0u8..128, coefs in proptest::collection::vec(any::<u8>(), 0..=32)) {
        let mut bytes = vec![level];
        bytes.extend(&coefs);
        let cn = ComfortNoise::parse(&bytes).unwrap();
        prop_assert_eq!(cn.level, level);
        prop_assert_eq!(cn.to_bytes(), bytes);
    }

    #[test]
    fn any_bytes_into_any_decoder_never_panic(
        pick in 0usize..4,
        payload in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let (name, clock) = [("PCMU", 8000), ("PCMA", 8000), ("G722", 8000), ("opus", 48000)][pick];
        let mut dec = decoder_for(name, clock, 1).unwrap();
        if let Ok(n) = dec.samples_in(&payload) {
            let out = dec.decode_vec(&payload);
            if let Ok(out) = out {
                prop_assert_eq!(out.len(), n);
            }
        }
    }
}
