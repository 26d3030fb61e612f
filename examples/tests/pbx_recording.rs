//! Call recording in the PBX relay: with `record_dir`, a relayed call is written as a stereo
//! WAV (the caller's audio on the left channel, the callee's on the right), decoded from the
//! relayed RTP, and the file is named in the call record. Proof: the caller plays a 440 Hz
//! tone and the callee a 1000 Hz tone; each channel of the file carries its own tone.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    reason = "test code"
)]

mod phone_support;

use phone_support::{
    Phone, auto_answer, config, energy, free_addr, registered, start_pbx, stereo_recording,
};
use sip_core::transaction::Transport;
use telox_examples::audio::tone;
use telox_examples::config::PbxConfig;
use telox_examples::phone::Command;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_call_has_each_party_on_its_own_channel() {
    let dir = std::env::temp_dir().join(format!("telox-pbx-rec-{}", std::process::id()));
    let mut cfg = PbxConfig::demo(free_addr(), 1000, 1009, None);
    cfg.record_dir = Some(dir.clone());
    let pbx_addr = cfg.listen;
    let pbx = start_pbx(cfg, 9, None).await;

    let mut a = config("1000", Transport::Udp, 1);
    a.play = Some(tone(8000, 440.0, 4.0, 8000));
    let mut b = auto_answer("1001", Transport::Udp, 2);
    b.play = Some(tone(8000, 1000.0, 4.0, 8000));
    let mut a = registered(a, "1000", pbx_addr).await;
    let mut b = registered(b, "1001", pbx_addr).await;
    a.send(Command::Call("1001".into())).await;
    a.answered().await.unwrap();
    Phone::talk_and_hang_up(&mut a, &mut b).await;
    for p in [a, b] {
        p.quit().await;
    }
    let summary = pbx.stop().await;
    let rec = summary.records.first().unwrap();
    let path = std::path::PathBuf::from(rec.recording.clone().expect("a recording"));
    assert!(path.starts_with(&dir), "{path:?}");
    let (rate, left, right) = stereo_recording(&path).await;
    assert_eq!(rate, 8000);
    assert!(left.len() >= 8000, "{} frames", left.len());
    // Skip the first half second (call set-up), then each channel carries its own tone.
    let (l, r) = (&left[4000..], &right[4000..]);
    let (l440, l1k) = (energy(l, 8000, 440.0), energy(l, 8000, 1000.0));
    let (r440, r1k) = (energy(r, 8000, 440.0), energy(r, 8000, 1000.0));
    assert!(l440 > 20.0 * l1k, "left: 440 Hz {l440:e}, 1 kHz {l1k:e}");
    assert!(r1k > 20.0 * r440, "right: 440 Hz {r440:e}, 1 kHz {r1k:e}");
    let _ = std::fs::remove_dir_all(&dir);
}
