//! The demo call, short: PBX + two phones on loopback, registration with digest auth, a call
//! that falls back from Opus to PCMU (bob only takes PCMU), SDES-SRTP, the impaired link, DTMF,
//! hold/resume and hang-up. If any crate's change breaks the composition, this fails.
//!
//! PCMU rather than Opus because the call runs in real time and an unoptimised (test profile)
//! Opus encoder cannot keep up with 50 frames/s on two phones; Opus over the impaired link is
//! covered on a virtual clock by the media leg's unit tests, and by `demo-call` in release.

use std::time::Duration;

use telox_examples::demo::{self, DemoOptions};
use telox_examples::netem::LinkConfig;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_call_short_pcmu_fallback_srtp_over_impaired_link() {
    let dir = std::env::temp_dir().join(format!("telox-demo-test-{}", std::process::id()));
    let opts = DemoOptions {
        duration: Duration::from_secs(4),
        link: LinkConfig {
            loss: 0.02,
            ..LinkConfig::impaired()
        },
        out_dir: Some(dir.clone()),
        dtmf: "59#".into(),
        bob_codecs: vec!["PCMU".into()],
        ..DemoOptions::default()
    };
    let mut lines = Vec::new();
    let out = demo::run(opts, |l| lines.push(l)).await.unwrap();
    assert!(
        out.is_success(),
        "failures: {:?}\n{}",
        out.failures,
        lines.join("\n")
    );
    let (codec, srtp) = out.answered.clone().unwrap();
    assert_eq!(codec, "PCMU/8000");
    assert_ne!(srtp, "none");
    assert_eq!(out.reports.len(), 2);
    for r in &out.reports {
        assert!(r.packets_received > 100, "{r:?}");
        assert!((1.0..=4.5).contains(&r.mos), "{r:?}");
        assert!(r.jitter_ms > 0.0, "{r:?}");
    }
    let bob = out
        .reports
        .iter()
        .find(|r| r.leg.starts_with("bob"))
        .unwrap();
    assert_eq!(bob.dtmf, "59#");
    let rec = out.record.as_ref().unwrap();
    assert_eq!(rec.from, "1000");
    assert_eq!(rec.to, "1001");
    assert_eq!(rec.legs.len(), 2);
    assert_eq!(out.wavs.len(), 2);
    for w in &out.wavs {
        let pcm = telox_examples::audio::read_wav(w, 10_000_000).unwrap();
        assert_eq!(pcm.rate, 8_000);
        assert!(pcm.seconds() > 3.0, "{} s", pcm.seconds());
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
