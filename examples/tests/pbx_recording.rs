//! Call recording in the PBX relay: with `record_dir`, a relayed call is written as a stereo
//! WAV (the caller's audio on the left channel, the callee's on the right), decoded from the
//! relayed RTP, and the file is named in the call record. Proof: the caller plays a 440 Hz
//! tone and the callee a 1000 Hz tone; each channel of the file carries its own tone. An IVR
//! call is recorded from the prompt (in the callee's channel) to the end of the bridged call.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    reason = "test code"
)]

mod phone_support;

use phone_support::{
    Phone, RunningPbx, any_port, energy, start_pbx, stereo_recording, tone_phones,
    until_last_sound, with_ivr,
};
use telox_examples::config::PbxConfig;
use telox_examples::phone::Command;

/// `a` and `b` talk, `a` hangs up, the PBX stops: the path of the call's recording and its
/// rate, left and right channels.
async fn talk_and_read_recording(
    mut a: Phone,
    mut b: Phone,
    pbx: RunningPbx,
) -> (std::path::PathBuf, (u32, Vec<i16>, Vec<i16>)) {
    Phone::talk_and_hang_up(&mut a, &mut b).await;
    for p in [a, b] {
        p.quit().await;
    }
    let summary = pbx.stop().await;
    let rec = summary.records.first().unwrap();
    let path = std::path::PathBuf::from(rec.recording.clone().expect("a recording"));
    let wav = stereo_recording(&path).await;
    (path, wav)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_call_has_each_party_on_its_own_channel() {
    let dir = std::env::temp_dir().join(format!("telox-pbx-rec-{}", std::process::id()));
    let mut cfg = PbxConfig::demo(any_port(), 1000, 1009, None);
    cfg.record_dir = Some(dir.clone());
    let pbx = start_pbx(cfg, 9, None).await;
    let pbx_addr = pbx.addr;

    let (mut a, b) = tone_phones(pbx_addr).await;
    a.send(Command::Call("1001".into())).await;
    a.answered().await.unwrap();
    let (path, (rate, left, right)) = talk_and_read_recording(a, b, pbx).await;
    assert!(path.starts_with(&dir), "{path:?}");
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ivr_call_is_recorded_from_the_prompt_to_the_end() {
    let dir = std::env::temp_dir().join(format!("telox-pbx-ivr-rec-{}", std::process::id()));
    let mut cfg = PbxConfig::demo(any_port(), 1000, 1009, None);
    cfg.record_dir = Some(dir.join("rec"));
    with_ivr(&mut cfg, &dir);
    let pbx = start_pbx(cfg, 10, None).await;
    let pbx_addr = pbx.addr;

    let (mut a, mut b) = tone_phones(pbx_addr).await;
    a.send(Command::Call("500".into())).await;
    a.answered().await.unwrap();
    // A second of the prompt, then 1 routes the call to 1001.
    tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
    a.send(Command::Dtmf("1".into())).await;
    b.answered().await.unwrap();
    let (_, (rate, left, right)) = talk_and_read_recording(a, b, pbx).await;
    let s = rate as usize;
    assert!(left.len() > 2 * s, "{} frames", left.len());
    // The caller (440 Hz) on the left; on the right the prompt (1.5 kHz) while in the IVR,
    // then 1001 (1 kHz) at the end of its sound.
    let right = until_last_sound(&right);
    assert!(
        right.len() > s,
        "{} frames of sound on the right",
        right.len()
    );
    let (l, start, end) = (
        &left[s / 2..],
        &right[s / 4..3 * s / 4],
        &right[right.len() - s / 2..],
    );
    let e = |x: &[i16], f| energy(x, rate, f);
    assert!(e(l, 440.0) > 20.0 * e(l, 1000.0), "left: no 440 Hz");
    assert!(
        e(start, 1500.0) > 20.0 * e(start, 1000.0),
        "right: no prompt at first"
    );
    assert!(
        e(end, 1000.0) > 20.0 * e(end, 1500.0),
        "right: 1001 missing at the end"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
