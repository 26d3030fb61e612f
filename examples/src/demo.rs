//! The demo call: a PBX and two phones on loopback, composed from the telox crates. Used by
//! the `demo-call` program and by its test (a short run).
//!
//! Script: both phones register with digest auth; alice (1000) calls bob (1001) through the
//! PBX offering Opus then PCMU with SDES-SRTP; bob answers automatically; speech-like audio
//! flows both ways through a simulated impaired link; alice sends DTMF, holds and resumes,
//! then hangs up. Each side's receiving leg is reported, the PBX writes its call record.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};

use crate::audio::{Pcm, speech_like, write_wav};
use crate::cdr::{AnswerCause, CallRecord};
use crate::config::PbxConfig;
use crate::netem::LinkConfig;
use crate::phone::{self, Command, PhoneConfig, PhoneEvent};
use crate::report::LegReport;
use crate::{clock, pbx};

/// What the demo does.
#[derive(Clone, Debug)]
pub struct DemoOptions {
    /// Talk time before hang-up.
    pub duration: Duration,
    /// The link impairment (each direction gets its own seed).
    pub link: LinkConfig,
    /// Codecs bob accepts (alice offers Opus then PCMU); `["PCMU"]` shows the fallback.
    pub bob_codecs: Vec<String>,
    /// Use SDES-SRTP (alice requires it) or plain RTP.
    pub srtp: bool,
    /// Where the WAV files go (none when `None`).
    pub out_dir: Option<PathBuf>,
    /// DTMF keys alice sends.
    pub dtmf: String,
    /// Seed of everything random.
    pub seed: u64,
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self {
            duration: Duration::from_secs(10),
            link: LinkConfig::impaired(),
            bob_codecs: vec!["opus".into(), "PCMU".into()],
            srtp: true,
            out_dir: None,
            dtmf: "1234#".into(),
            seed: 1,
        }
    }
}

/// How the demo went.
#[derive(Clone, Debug, Default)]
pub struct DemoOutcome {
    /// Both phones registered (after a digest challenge each).
    pub registered: [bool; 2],
    /// Digest challenges answered while registering.
    pub challenges: u32,
    /// The call was answered, with this codec and SRTP suite.
    pub answered: Option<(String, String)>,
    /// Hold and resume were both acknowledged.
    pub held_and_resumed: bool,
    /// alice's and bob's receiving legs.
    pub reports: Vec<LegReport>,
    /// The PBX's call record.
    pub record: Option<CallRecord>,
    /// WAV files written.
    pub wavs: Vec<PathBuf>,
    /// What went wrong, empty on success.
    pub failures: Vec<String>,
}

impl DemoOutcome {
    /// Whether the call worked end to end.
    pub fn is_success(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Runs the demo; `progress` gets one line per step.
///
/// # Errors
/// I/O errors binding the loopback sockets.
pub async fn run(
    opts: DemoOptions,
    mut progress: impl FnMut(String),
) -> std::io::Result<DemoOutcome> {
    let start = clock();
    let stamp = move |who: &str, text: &str| {
        format!("[{:6.2}s] {who:<5} {text}", start.elapsed().as_secs_f64())
    };
    // The OS picks the PBX's port, and the PBX reports it once bound (the phones need it):
    // no port is probed and released for another socket to take meanwhile.
    let mut cfg = PbxConfig::demo(SocketAddr::from(([127, 0, 0, 1], 0)), 1000, 1001, None);
    for u in &mut cfg.users {
        u.password = format!("secret-{}", u.extension);
    }
    let (pbx_log_tx, mut pbx_log) = mpsc::channel::<String>(256);
    let (stop_tx, stop_rx) = watch::channel(false);
    let (bound_tx, bound) = oneshot::channel();
    let pbx_task = tokio::spawn(pbx::run_reporting(
        cfg,
        opts.seed,
        Some(pbx_log_tx),
        stop_rx,
        Some(bound_tx),
    ));
    let Ok(pbx_addr) = bound.await else {
        let why = match pbx_task.await {
            Ok(Err(e)) => e.to_string(),
            other => format!("{other:?}"),
        };
        return Err(std::io::Error::other(format!(
            "the PBX did not start: {why}"
        )));
    };
    progress(stamp(
        "pbx",
        &format!("listening on udp:{pbx_addr} (users 1000, 1001; digest auth; media relay)"),
    ));

    let seconds = opts.duration.as_secs_f64() + 5.0;
    let mk = |name: &str, user: &str, seed: u64, codecs: Vec<String>, link_seed: u64| {
        let mut c = PhoneConfig::new(
            name,
            user,
            "127.0.0.1:0".parse::<SocketAddr>().unwrap_or(pbx_addr),
        );
        c.password = Some(format!("secret-{user}"));
        c.registrar = Some(pbx_addr);
        c.codecs = codecs;
        c.srtp = if opts.srtp {
            sdp::SrtpPolicy::Required
        } else {
            sdp::SrtpPolicy::Disabled
        };
        c.play = Some(speech_like(48_000, seconds, seed));
        c.link = LinkConfig {
            seed: link_seed,
            ..opts.link.clone()
        };
        c.seed = seed;
        c
    };
    let alice_cfg = mk(
        "alice",
        "1000",
        opts.seed * 10 + 1,
        vec!["opus".into(), "PCMU".into()],
        opts.seed * 10 + 3,
    );
    let mut bob_cfg = mk(
        "bob",
        "1001",
        opts.seed * 10 + 2,
        opts.bob_codecs.clone(),
        opts.seed * 10 + 4,
    );
    bob_cfg.auto_answer = true;
    if !opts.srtp {
        bob_cfg.srtp = sdp::SrtpPolicy::Disabled;
    }
    let (a_cmd, a_cmd_rx) = mpsc::channel(16);
    let (b_cmd, b_cmd_rx) = mpsc::channel(16);
    let (a_ev_tx, mut a_ev) = mpsc::channel(256);
    let (b_ev_tx, mut b_ev) = mpsc::channel(256);
    let alice = tokio::spawn(phone::run(alice_cfg, a_cmd_rx, a_ev_tx));
    let bob = tokio::spawn(phone::run(bob_cfg, b_cmd_rx, b_ev_tx));

    let mut out = DemoOutcome::default();
    let mut recorded: [Option<Pcm>; 2] = [None, None];
    let mut stage = Stage::Registering;
    let mut answered_at = None;
    let mut ended = [false, false];
    let deadline = clock() + opts.duration + Duration::from_secs(20);
    let mut ticker = tokio::time::interval(Duration::from_millis(50));
    loop {
        tokio::select! {
            Some(line) = pbx_log.recv() => progress(stamp("pbx", &line)),
            Some(ev) = a_ev.recv() => {
                handle(0, ev, &mut out, &mut recorded, &mut ended, &mut progress, &stamp);
            }
            Some(ev) = b_ev.recv() => {
                handle(1, ev, &mut out, &mut recorded, &mut ended, &mut progress, &stamp);
            }
            _ = ticker.tick() => {}
        }
        if clock() > deadline {
            out.failures.push(format!("timed out in stage {stage:?}"));
            break;
        }
        match stage {
            Stage::Registering if out.registered == [true, true] => {
                progress(stamp("alice", "dialling 1001"));
                let _ = a_cmd.send(Command::Call("1001".into())).await;
                stage = Stage::Calling;
            }
            Stage::Calling if out.answered.is_some() => {
                answered_at = Some(clock());
                stage = Stage::Talking(0);
            }
            Stage::Calling
                if ended[0] || out.failures.iter().any(|f| f.contains("call failed")) =>
            {
                break;
            }
            Stage::Talking(step) => {
                let t = answered_at.map_or(Duration::ZERO, |a| clock() - a);
                let total = opts.duration;
                let next = match step {
                    0 if t >= total.mul_f64(0.25) => {
                        progress(stamp("alice", &format!("sending DTMF {}", opts.dtmf)));
                        let _ = a_cmd.send(Command::Dtmf(opts.dtmf.clone())).await;
                        Some(1)
                    }
                    1 if t >= total.mul_f64(0.45) => {
                        progress(stamp("alice", "hold"));
                        let _ = a_cmd.send(Command::Hold).await;
                        Some(2)
                    }
                    2 if t >= total.mul_f64(0.6) => {
                        progress(stamp("alice", "resume"));
                        let _ = a_cmd.send(Command::Resume).await;
                        Some(3)
                    }
                    3 if t >= total => {
                        progress(stamp("alice", "hanging up"));
                        let _ = a_cmd.send(Command::Hangup).await;
                        Some(4)
                    }
                    _ => None,
                };
                if let Some(n) = next {
                    stage = Stage::Talking(n);
                }
                if step == 4 && ended == [true, true] {
                    break;
                }
                if ended.iter().any(|e| *e) && step < 4 {
                    out.failures.push("the call ended early".into());
                    break;
                }
            }
            _ => {}
        }
    }
    let _ = a_cmd.send(Command::Quit).await;
    let _ = b_cmd.send(Command::Quit).await;
    let quit = async {
        // Keep draining events so the phones never block on a full channel.
        loop {
            tokio::select! {
                Some(ev) = a_ev.recv() => { if matches!(ev, PhoneEvent::Stopped) { break; } }
                else => break,
            }
        }
        while let Some(ev) = b_ev.recv().await {
            if matches!(ev, PhoneEvent::Stopped) {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(5), quit).await;
    let _ = stop_tx.send(true);
    let summary = tokio::time::timeout(Duration::from_secs(5), pbx_task).await;
    while let Ok(line) = pbx_log.try_recv() {
        progress(stamp("pbx", &line));
    }
    alice.abort();
    bob.abort();
    if let Ok(Ok(Ok(s))) = summary {
        out.record = s
            .records
            .into_iter()
            .find(|r| r.answer_cause == AnswerCause::Answered);
    }

    // WAV files of what each side heard.
    if let Some(dir) = &opts.out_dir {
        std::fs::create_dir_all(dir)?;
        for (i, name) in ["alice", "bob"].iter().enumerate() {
            if let Some(pcm) = &recorded[i] {
                let path = dir.join(format!("{name}-received.wav"));
                match write_wav(&path, pcm) {
                    Ok(()) => out.wavs.push(path),
                    Err(e) => out
                        .failures
                        .push(format!("writing {}: {e}", path.display())),
                }
            }
        }
    }
    check(&opts, &mut out);
    Ok(out)
}

#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum Stage {
    Registering,
    Calling,
    Talking(u8),
}

fn handle(
    who: usize,
    ev: PhoneEvent,
    out: &mut DemoOutcome,
    recorded: &mut [Option<Pcm>; 2],
    ended: &mut [bool; 2],
    progress: &mut impl FnMut(String),
    stamp: &impl Fn(&str, &str) -> String,
) {
    let name = ["alice", "bob"][who];
    let line = match ev {
        PhoneEvent::Log(l) => l,
        PhoneEvent::Registered { challenges } => {
            if let Some(r) = out.registered.get_mut(who) {
                *r = true;
            }
            out.challenges += challenges;
            format!("registered (digest: {challenges} challenge(s) answered)")
        }
        PhoneEvent::RegisterFailed(s) => {
            out.failures
                .push(format!("{name}: registration failed with {s}"));
            format!("registration failed: {s}")
        }
        PhoneEvent::Incoming(from) => format!("incoming call from {from}, answering"),
        PhoneEvent::Ringing => "ringing".into(),
        PhoneEvent::Answered { codec, srtp } => {
            let l = format!("call up: {codec}, SRTP {srtp}");
            if who == 0 {
                out.answered = Some((codec, srtp));
            }
            l
        }
        PhoneEvent::CallFailed(s) => {
            out.failures.push(format!("{name}: call failed with {s}"));
            format!("call failed: {s}")
        }
        PhoneEvent::Hold(h) => {
            if !h && who == 0 {
                out.held_and_resumed = true;
            }
            (if h {
                "on hold (far end sendonly)"
            } else {
                "resumed"
            })
            .into()
        }
        PhoneEvent::Ended {
            by_peer,
            report,
            recorded: pcm,
            ..
        } => {
            if let Some(e) = ended.get_mut(who) {
                *e = true;
            }
            if let Some(r) = recorded.get_mut(who) {
                *r = Some(pcm);
            }
            let mut report = *report;
            report.leg = format!("{name} (recv)");
            out.reports.push(report);
            format!(
                "call ended ({})",
                if by_peer {
                    "far end hung up"
                } else {
                    "we hung up"
                }
            )
        }
        PhoneEvent::Stopped => "stopped".into(),
        PhoneEvent::Listening { addr, transport } => {
            format!("listening on {} {addr}", transport.as_via_str())
        }
        PhoneEvent::Referred(to) => format!("transferred to {to}"),
        PhoneEvent::TransferStatus(s) => format!("transfer: {s}"),
        PhoneEvent::Replaces(r) => format!("dialog at the far end: {r}"),
        PhoneEvent::Stats(r) => format!(
            "so far: {} packets received, {} lost",
            r.packets_received, r.lost
        ),
    };
    progress(stamp(name, &line));
}

fn check(opts: &DemoOptions, out: &mut DemoOutcome) {
    let mut f = Vec::new();
    if out.registered != [true, true] {
        f.push("both phones must register".to_owned());
    }
    if out.challenges < 2 {
        f.push("each registration should have answered a digest challenge".to_owned());
    }
    if out.answered.is_none() {
        f.push("the call was not answered".to_owned());
    }
    if !out.held_and_resumed {
        f.push("hold/resume did not complete".to_owned());
    }
    if out.reports.len() != 2 {
        f.push(format!("expected 2 leg reports, got {}", out.reports.len()));
    }
    // At 50 packets/s, at least half of the talk time must have arrived on each side (hold
    // takes a share of it in one direction).
    let min_packets = (opts.duration.as_secs_f64() * 50.0 * 0.5) as u64;
    for r in &out.reports {
        if r.packets_received < min_packets {
            f.push(format!(
                "{}: only {} packets received (want >= {min_packets})",
                r.leg, r.packets_received
            ));
        }
    }
    if let Some(bob) = out.reports.iter().find(|r| r.leg.starts_with("bob"))
        && bob.dtmf != opts.dtmf
    {
        f.push(format!(
            "bob received DTMF {:?}, alice sent {:?}",
            bob.dtmf, opts.dtmf
        ));
    }
    if out.record.is_none() {
        f.push("the PBX wrote no call record for the answered call".to_owned());
    }
    out.failures.extend(f);
}
