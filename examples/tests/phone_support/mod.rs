//! Shared by the phone tests: start a phone in-process, wait for its events with a bound,
//! and a self-signed CA issuing loopback certificates (rcgen).

#![allow(dead_code, reason = "each test binary uses part of the helpers")]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use sip_core::transaction::Transport;
use telox_examples::audio::speech_like;
use telox_examples::phone::{self, Command, PhoneConfig, PhoneEvent};
use telox_examples::report::LegReport;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Every wait is bounded by this.
pub(crate) const WAIT: Duration = Duration::from_secs(10);

/// A running phone.
pub(crate) struct Phone {
    pub(crate) name: String,
    pub(crate) cmd: mpsc::Sender<Command>,
    pub(crate) events: mpsc::Receiver<PhoneEvent>,
    pub(crate) addr: SocketAddr,
    /// `None` once [`Phone::quit`] took it.
    pub(crate) task: Option<JoinHandle<Result<(), phone::PhoneError>>>,
}

impl Drop for Phone {
    /// A failing test shows what every phone saw, not only the one it was waiting on: the
    /// events still queued are printed when the phone is dropped during a panic.
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        while let Ok(ev) = self.events.try_recv() {
            match ev {
                PhoneEvent::Log(l) => eprintln!("{} (unread): {l}", self.name),
                other => eprintln!("{} (unread): {other:?}", self.name),
            }
        }
    }
}

/// A phone config on loopback (port chosen by the OS), playing speech-like audio, PCMU.
pub(crate) fn config(name: &str, transport: Transport, seed: u64) -> PhoneConfig {
    let mut c = PhoneConfig::new(name, name, "127.0.0.1:0".parse().expect("addr"));
    c.transport = transport;
    c.seed = seed;
    c.codecs = vec!["PCMU".into()];
    c.play = Some(speech_like(8000, 2.0, seed));
    c
}

/// The same, answering every call.
pub(crate) fn auto_answer(name: &str, transport: Transport, seed: u64) -> PhoneConfig {
    let mut c = config(name, transport, seed);
    c.auto_answer = true;
    c
}

/// A PBX running in-process.
pub(crate) struct RunningPbx {
    /// Its SIP address (UDP and TCP).
    pub(crate) addr: SocketAddr,
    stop: tokio::sync::watch::Sender<bool>,
    task: JoinHandle<Result<telox_examples::pbx::PbxSummary, telox_examples::pbx::PbxError>>,
}

/// Loopback, the port left to the OS: the PBX reports the one it bound ([`start_pbx`]), so
/// no port is probed, released and bound again (a window in which another socket can take
/// it).
pub(crate) fn any_port() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// Starts a PBX and waits until its sockets are bound. With port 0 (see [`any_port`]) the
/// OS picks the port, and sip-core's `Driver::bind` gives back one whose TCP twin is taken.
pub(crate) async fn start_pbx(
    cfg: telox_examples::config::PbxConfig,
    seed: u64,
    log: Option<mpsc::Sender<String>>,
) -> RunningPbx {
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let (bound_tx, bound) = tokio::sync::oneshot::channel();
    let run = telox_examples::pbx::run_reporting(cfg, seed, log, stop_rx, Some(bound_tx));
    let task = tokio::spawn(run);
    match tokio::time::timeout(WAIT, bound).await {
        Ok(Ok(addr)) => RunningPbx { addr, stop, task },
        Ok(Err(_)) => panic!("the PBX did not start: {:?}", task.await),
        Err(_) => panic!("the PBX did not bind its sockets within {WAIT:?}"),
    }
}

impl RunningPbx {
    /// Stops the PBX and returns what it did.
    pub(crate) async fn stop(self) -> telox_examples::pbx::PbxSummary {
        let _ = self.stop.send(true);
        match tokio::time::timeout(WAIT, self.task).await {
            Ok(Ok(Ok(s))) => s,
            other => panic!("the PBX did not stop cleanly: {other:?}"),
        }
    }
}

/// Starts the phone registered at `registrar` as `user` (password = user) and waits for the
/// registration.
pub(crate) async fn registered(mut c: PhoneConfig, user: &str, registrar: SocketAddr) -> Phone {
    c.registrar = Some(registrar);
    c.password = Some(user.into());
    let mut p = start(c).await;
    let name = p.name.clone();
    let r = wait(&name, &mut p.events, |e| match e {
        PhoneEvent::Registered { .. } => Some(Ok(())),
        PhoneEvent::RegisterFailed(s) => Some(Err(*s)),
        _ => None,
    })
    .await;
    assert_eq!(r, Ok(Ok(())), "{name} did not register");
    p
}

/// Starts the phone and waits for its listening address.
pub(crate) async fn start(config: PhoneConfig) -> Phone {
    let name = config.name.clone();
    let (cmd, cmd_rx) = mpsc::channel(16);
    let (ev_tx, mut events) = mpsc::channel(256);
    let task = tokio::spawn(phone::run(config, cmd_rx, ev_tx));
    let addr = match wait(&name, &mut events, |e| match e {
        PhoneEvent::Listening { addr, .. } => Some(*addr),
        _ => None,
    })
    .await
    {
        Ok(a) => a,
        Err(e) if task.is_finished() => panic!("{e}: {:?}", task.await),
        Err(e) => panic!("{e}"),
    };
    Phone {
        name,
        cmd,
        events,
        addr,
        task: Some(task),
    }
}

/// Waits (bounded by [`WAIT`]) for the first event `pick` accepts; logs the others.
pub(crate) async fn wait<T>(
    name: &str,
    events: &mut mpsc::Receiver<PhoneEvent>,
    mut pick: impl FnMut(&PhoneEvent) -> Option<T>,
) -> Result<T, String> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let ev = tokio::time::timeout_at(deadline, events.recv())
            .await
            .map_err(|_| format!("{name}: timed out"))?
            .ok_or_else(|| format!("{name}: phone stopped"))?;
        if let Some(t) = pick(&ev) {
            return Ok(t);
        }
        match ev {
            PhoneEvent::Log(l) => eprintln!("{name}: {l}"),
            other => eprintln!("{name}: {other:?}"),
        }
    }
}

impl Phone {
    pub(crate) async fn send(&self, c: Command) {
        self.cmd.send(c).await.expect("phone running");
    }

    /// Waits for the call to be up; returns the codec.
    pub(crate) async fn answered(&mut self) -> Result<String, String> {
        let name = self.name.clone();
        wait(&name, &mut self.events, |e| match e {
            PhoneEvent::Answered { codec, .. } => Some(Ok(codec.clone())),
            PhoneEvent::CallFailed(s) => Some(Err(format!("{name}: call failed {s}"))),
            _ => None,
        })
        .await?
    }

    /// Waits for the call to end; returns its report and whether it ended by transfer.
    pub(crate) async fn ended(&mut self) -> Result<(LegReport, bool), String> {
        let name = self.name.clone();
        wait(&name, &mut self.events, |e| match e {
            PhoneEvent::Ended {
                report,
                transferred,
                ..
            } => Some((report.as_ref().clone(), *transferred)),
            _ => None,
        })
        .await
    }

    /// Waits for the outcome of the call placed last: 0 when answered, else the failure
    /// status.
    pub(crate) async fn call_outcome(&mut self) -> Result<u16, String> {
        let name = self.name.clone();
        wait(&name, &mut self.events, |e| match e {
            PhoneEvent::CallFailed(s) => Some(*s),
            PhoneEvent::Answered { .. } => Some(0),
            _ => None,
        })
        .await
    }

    /// `us` hangs up after 1.2 s of call; both ends must have received audio.
    pub(crate) async fn talk_and_hang_up(us: &mut Self, peer: &mut Self) {
        // Until each has heard a second of audio more (50 packets; bounded by WAIT): a fixed
        // 1.2 s wait lost to load once (0 packets at 1001).
        let start = [us.stats().await, peer.stats().await].map(|r| r.packets_received);
        for (p, from) in [&mut *us, &mut *peer].into_iter().zip(start) {
            let deadline = tokio::time::Instant::now() + WAIT;
            loop {
                let heard = p.stats().await.packets_received;
                if heard >= from + 50 {
                    break;
                }
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "{} heard {heard} packets, {from} of them before",
                    p.name
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        us.send(Command::Hangup).await;
        let (a, _) = us.ended().await.expect("ended");
        let (b, _) = peer.ended().await.expect("ended");
        for (who, r) in [(&us.name, &a), (&peer.name, &b)] {
            assert!(
                r.packets_received >= 30,
                "{who} received {} packets",
                r.packets_received
            );
        }
    }

    /// The call's media statistics so far.
    pub(crate) async fn stats(&mut self) -> LegReport {
        self.send(Command::Stats).await;
        let name = self.name.clone();
        wait(&name, &mut self.events, |e| match e {
            PhoneEvent::Stats(r) => Some(r.as_ref().clone()),
            _ => None,
        })
        .await
        .expect("stats")
    }

    /// Waits for the statuses of the transfer we asked for, up to the final one.
    pub(crate) async fn transfer_statuses(&mut self) -> Vec<u16> {
        let name = self.name.clone();
        let mut seen = Vec::new();
        loop {
            let s = wait(&name, &mut self.events, |e| match e {
                PhoneEvent::TransferStatus(s) => Some(*s),
                _ => None,
            })
            .await
            .expect("transfer status");
            seen.push(s);
            if s >= 200 {
                return seen;
            }
        }
    }

    /// Quits and waits for the task to end.
    pub(crate) async fn quit(mut self) {
        let _ = self.cmd.send(Command::Quit).await;
        let task = self.task.take().expect("quit once");
        let r = tokio::time::timeout(WAIT, task).await;
        assert!(
            matches!(r, Ok(Ok(Ok(())))),
            "{} did not stop cleanly: {r:?}",
            self.name
        );
    }
}

/// Gives `cfg` an IVR on 500 (digit 1 -> 1001) whose prompt is a 1.5 kHz tone written in
/// `dir`.
pub(crate) fn with_ivr(cfg: &mut telox_examples::config::PbxConfig, dir: &std::path::Path) {
    std::fs::create_dir_all(dir).expect("temp dir");
    let prompt = dir.join("prompt.wav");
    telox_examples::audio::write_wav(
        &prompt,
        &telox_examples::audio::tone(8000, 1500.0, 5.0, 8000),
    )
    .expect("prompt");
    cfg.ivr = Some(telox_examples::config::Ivr {
        number: "500".into(),
        prompt,
        digit_timeout: "5s".into(),
        routes: [("1".to_owned(), "1001".to_owned())].into_iter().collect(),
    });
}

/// Registers 1000 (the caller, playing 440 Hz) and 1001 (answering, 1000 Hz) at `pbx`.
pub(crate) async fn tone_phones(pbx: SocketAddr) -> (Phone, Phone) {
    let mut a = config("1000", Transport::Udp, 1);
    a.play = Some(telox_examples::audio::tone(8000, 440.0, 8.0, 8000));
    let mut b = auto_answer("1001", Transport::Udp, 2);
    b.play = Some(telox_examples::audio::tone(8000, 1000.0, 8.0, 8000));
    (
        registered(a, "1000", pbx).await,
        registered(b, "1001", pbx).await,
    )
}

/// Energy of `samples` at `freq` (Goertzel).
pub(crate) fn energy(samples: &[i16], rate: u32, freq: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * freq / f64::from(rate);
    let c = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for &x in samples {
        let s0 = f64::from(x) + c * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    s1 * s1 + s2 * s2 - c * s1 * s2
}

/// The sample rate and the left and right channels of the stereo WAV at `path`, which the
/// PBX writes off its runtime once the call's media stopped (waited for, bounded).
pub(crate) async fn stereo_recording(path: &std::path::Path) -> (u32, Vec<i16>, Vec<i16>) {
    let mut reader = None;
    for _ in 0..100 {
        if let Ok(r) = hound::WavReader::open(path) {
            reader = Some(r);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut reader = reader.expect("the recording file");
    let spec = reader.spec();
    assert_eq!(spec.channels, 2);
    let all: Vec<i16> = reader
        .samples::<i16>()
        .map(|s| s.expect("a sample"))
        .collect();
    let left = all.iter().step_by(2).copied().collect();
    let right = all.iter().skip(1).step_by(2).copied().collect();
    (spec.sample_rate, left, right)
}

/// A channel of a recording up to its last sound: the file pads the shorter channel with
/// silence to the other's length (by more on a loaded machine, where one side's media runs on
/// after the other's last packet).
pub(crate) fn until_last_sound(channel: &[i16]) -> &[i16] {
    &channel[..channel.iter().rposition(|&s| s != 0).map_or(0, |i| i + 1)]
}

/// A CA and the PEM files of certificates it issued for 127.0.0.1, in a fresh directory.
pub(crate) struct Pki {
    pub(crate) dir: PathBuf,
    ca: rcgen::Certificate,
    ca_key: rcgen::KeyPair,
}

impl Pki {
    /// A new CA named `name`; its certificate is `DIR/name-ca.pem`.
    pub(crate) fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "telox-phone-tls-{name}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, format!("telox test CA {name}"));
        let ca_key = rcgen::KeyPair::generate().expect("key");
        let ca = params.self_signed(&ca_key).expect("CA");
        std::fs::write(dir.join(format!("{name}-ca.pem")), ca.pem()).expect("write");
        Self { dir, ca, ca_key }
    }

    /// The CA certificate file.
    pub(crate) fn ca_file(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}-ca.pem"))
    }

    /// Issues a certificate for 127.0.0.1 (server and client use); returns (cert, key) files.
    pub(crate) fn issue(&self, who: &str) -> (PathBuf, PathBuf) {
        let mut params =
            rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
                .expect("params");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, who.to_owned());
        params.extended_key_usages = vec![
            rcgen::ExtendedKeyUsagePurpose::ServerAuth,
            rcgen::ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = params
            .signed_by(&key, &self.ca, &self.ca_key)
            .expect("sign");
        let (c, k) = (
            self.dir.join(format!("{who}.pem")),
            self.dir.join(format!("{who}.key")),
        );
        std::fs::write(&c, cert.pem()).expect("write");
        std::fs::write(&k, key.serialize_pem()).expect("write");
        (c, k)
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
