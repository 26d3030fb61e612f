//! `demo-call`: a whole call on loopback, end to end, with nothing else installed.
//!
//! A PBX and two phones start in this process; both register with digest auth; alice calls
//! bob through the PBX (Opus, PCMU fallback, SDES-SRTP), speech-like audio flows both ways for
//! `--duration` through a simulated impaired link, alice sends DTMF, holds, resumes and hangs
//! up. Prints progress, a call report per leg and the PBX's call record; writes what each side
//! heard as WAV files; exits non-zero if the call failed.

#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use telox_examples::cli::{CliError, Spec};
use telox_examples::demo::{self, DemoOptions};
use telox_examples::netem::LinkConfig;
use telox_examples::report;

const USAGE: &str = "usage: demo-call [--duration 10s] [--loss PCT] [--burst N] [--jitter MS] \
[--delay MS] [--reorder PCT] [--duplicate PCT] [--clean] [--codec opus|pcmu] [--no-srtp] \
[--dtmf KEYS] [--seed N] [--out DIR]";

fn options() -> Result<DemoOptions, CliError> {
    let args = Spec::new()
        .values(&[
            "duration",
            "loss",
            "burst",
            "jitter",
            "delay",
            "reorder",
            "duplicate",
            "codec",
            "dtmf",
            "seed",
            "out",
        ])
        .switches(&["clean", "no-srtp", "help"])
        .parse(std::env::args().skip(1))?;
    if args.flag("help") {
        println!("{USAGE}");
        std::process::exit(0);
    }
    let mut o = DemoOptions::default();
    let base = if args.flag("clean") {
        LinkConfig::clean()
    } else {
        LinkConfig::impaired()
    };
    let pct = |name: &str, dflt: f64| -> Result<f64, CliError> {
        let v: f64 = args.parsed_or(name, dflt * 100.0, "expected a percentage")?;
        if !(0.0..100.0).contains(&v) {
            return Err(CliError::BadValue {
                flag: name.into(),
                value: v.to_string(),
                why: "0 <= pct < 100",
            });
        }
        Ok(v / 100.0)
    };
    let ms = |name: &str, dflt: Duration| -> Result<Duration, CliError> {
        let v: f64 = args.parsed_or(name, dflt.as_secs_f64() * 1000.0, "expected milliseconds")?;
        if !(0.0..=5000.0).contains(&v) {
            return Err(CliError::BadValue {
                flag: name.into(),
                value: v.to_string(),
                why: "0..5000 ms",
            });
        }
        Ok(Duration::from_secs_f64(v / 1000.0))
    };
    o.link = LinkConfig {
        loss: pct("loss", base.loss)?,
        burst: args.parsed_or("burst", base.burst, "expected a mean burst length >= 1")?,
        jitter: ms("jitter", base.jitter)?,
        delay: ms("delay", base.delay)?,
        reorder: pct("reorder", base.reorder)?,
        duplicate: pct("duplicate", base.duplicate)?,
        ..base
    };
    o.link.validate().map_err(|why| CliError::BadValue {
        flag: "burst".into(),
        value: o.link.burst.to_string(),
        why,
    })?;
    if let Some(d) = args.duration("duration")? {
        o.duration = d.clamp(Duration::from_secs(2), Duration::from_secs(600));
    }
    match args.value("codec").map(str::to_ascii_lowercase).as_deref() {
        None | Some("opus") => {}
        Some("pcmu") => o.bob_codecs = vec!["PCMU".into()],
        Some(other) => {
            return Err(CliError::BadValue {
                flag: "codec".into(),
                value: other.into(),
                why: "opus or pcmu",
            });
        }
    }
    o.srtp = !args.flag("no-srtp");
    if let Some(k) = args.value("dtmf") {
        o.dtmf = k.to_owned();
    }
    o.seed = args.parsed_or("seed", 1, "expected a number")?;
    o.out_dir = Some(PathBuf::from(args.value("out").unwrap_or("demo-call-out")));
    Ok(o)
}

fn main() -> ExitCode {
    let opts = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("demo-call: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let l = &opts.link;
    println!(
        "telox demo call: PBX + alice (1000) + bob (1001) on 127.0.0.1; {:.0} s of speech-like audio each way",
        opts.duration.as_secs_f64()
    );
    println!(
        "link: {:.0} ms delay, {:.0} ms jitter, {:.1} % loss (bursts of {:.1}), {:.1} % reordered, {:.1} % duplicated, seed {}",
        l.delay.as_secs_f64() * 1000.0,
        l.jitter.as_secs_f64() * 1000.0,
        l.loss * 100.0,
        l.burst,
        l.reorder * 100.0,
        l.duplicate * 100.0,
        opts.seed
    );
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("demo-call: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = match rt.block_on(demo::run(opts, |line| println!("{line}"))) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("demo-call: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("\ncall report (each phone's receiving side):");
    println!("{}", report::render(&outcome.reports));
    if let Some(rec) = &outcome.record {
        println!("\nPBX relay, per direction as measured at the PBX:");
        println!("{}", report::render(&rec.legs));
        if let Ok(j) = serde_json::to_string(rec) {
            println!("\nPBX call record (CDR JSON line):\n{j}");
        }
    }
    for w in &outcome.wavs {
        println!("wrote {}", w.display());
    }
    if outcome.is_success() {
        println!("\ndemo-call: OK");
        ExitCode::SUCCESS
    } else {
        for f in &outcome.failures {
            eprintln!("demo-call: FAILED: {f}");
        }
        ExitCode::FAILURE
    }
}
