//! `jb-sim`: plays a packet trace through the telox jitter buffer on a virtual clock.
//!
//! ```text
//! jb-sim [--ptime MS] [--fixed MS] [--max-delay MS] [--playout-out FILE] TRACE
//! jb-sim --eval [--seed N] [--ptime MS] [--max-delay MS]
//! ```
//!
//! TRACE has one packet per line, `seq<TAB>send_ms<TAB>recv_ms` (`recv_ms` = `-` when lost),
//! `-` reads standard input. Without `--fixed` the adaptive buffer runs; `--fixed MS` runs a
//! fixed buffer of that delay. The last line printed is
//! `late_loss_pct=<f> mean_delay_ms=<f> p95_delay_ms=<f> concealed_pct=<f>`, where delay is
//! playout minus send time and late loss the share of received packets that arrived after
//! their playout time. `--playout-out FILE` writes `seq<TAB>playout_ms`, `seq<TAB>late` or
//! `seq<TAB>lost` per packet in sequence order, so the figures can be recomputed.
//! `--eval` runs the evaluation set (seeded generated traces) against every fixed delay and
//! prints the table of jitter-buffer/README.md.

use std::io::Read as _;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use jitter_buffer::sim::{self, SimConfig, TraceSpec};

struct Args {
    ptime: u32,
    fixed: Option<u32>,
    max_delay: Option<u32>,
    playout_out: Option<String>,
    trace: Option<String>,
    eval: bool,
    seed: u64,
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("jb-sim: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let args = parse_args(std::env::args().skip(1))?;
    let mut config = SimConfig::new(args.ptime, args.fixed);
    if let Some(ms) = args.max_delay {
        config.buffer.max_delay = Duration::from_millis(u64::from(ms));
    }
    #[expect(
        clippy::disallowed_methods,
        reason = "the virtual clock needs some epoch"
    )]
    let epoch = Instant::now();
    if args.eval {
        return eval(&config, args.seed, epoch);
    }
    let path = args.trace.ok_or("missing TRACE (see --help)")?;
    let text = if path == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| format!("stdin: {e}"))?;
        s
    } else {
        std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?
    };
    let trace = sim::parse_trace(&text).map_err(|e| format!("{path}: {e}"))?;
    let report = sim::simulate(&trace, &config, epoch).map_err(|e| e.to_string())?;
    if let Some(out) = &args.playout_out {
        std::fs::write(out, report.playout_lines()).map_err(|e| format!("{out}: {e}"))?;
    }
    let s = &report.stats;
    println!(
        "mode={} packets={} received={} late={} lost={} duplicate={} reordered={} resets={}",
        args.fixed
            .map_or("adaptive".to_string(), |d| format!("fixed:{d}ms")),
        trace.len(),
        s.received,
        s.late,
        s.lost,
        s.duplicate,
        s.reordered,
        s.resets
    );
    println!(
        "accelerate_pct={:.3} expand_pct={:.3} target_delay_ms={:.1}",
        s.accelerate_rate() * 100.0,
        s.expand_rate() * 100.0,
        s.target_delay.as_secs_f64() * 1_000.0
    );
    println!("{}", report.summary.line());
    Ok(())
}

fn eval(config: &SimConfig, seed: u64, epoch: Instant) -> Result<(), String> {
    let max_ms = config.buffer.max_delay.as_secs_f64() * 1_000.0;
    println!(
        "| trace | p99 jitter ms | adaptive late % | adaptive mean ms | adaptive p95 ms | \
         concealed % | fixed delay ms | fixed late % | fixed mean ms | goal ms | pass |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    let mut failed = 0;
    for mut spec in TraceSpec::presets(seed) {
        spec.ptime_ms = config.ptime_ms;
        let trace = sim::generate(&spec);
        let e = sim::evaluate(&trace, config, epoch).map_err(|e| e.to_string())?;
        let pass = e.meets_delay_goal() && e.meets_loss_goal(max_ms);
        failed += usize::from(!pass);
        let fixed = e.fixed.map_or("none | - | -".to_string(), |(d, s)| {
            format!("{d} | {:.2} | {:.1}", s.late_loss_pct, s.mean_delay_ms)
        });
        println!(
            "| {} | {:.1} | {:.2} | {:.1} | {:.1} | {:.2} | {} | {} | {} |",
            spec.name,
            e.p99_jitter_ms,
            e.adaptive.late_loss_pct,
            e.adaptive.mean_delay_ms,
            e.adaptive.p95_delay_ms,
            e.adaptive.concealed_pct,
            fixed,
            e.delay_goal_ms
                .map_or("-".to_string(), |g| format!("{g:.1}")),
            if pass { "yes" } else { "NO" }
        );
    }
    if failed > 0 {
        return Err(format!("goal missed on {failed} trace(s)"));
    }
    Ok(())
}

fn parse_args(mut it: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut a = Args {
        ptime: 20,
        fixed: None,
        max_delay: None,
        playout_out: None,
        trace: None,
        eval: false,
        seed: 2026,
    };
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--ptime" => a.ptime = number(&value("--ptime")?)?,
            "--fixed" => a.fixed = Some(number(&value("--fixed")?)?),
            "--max-delay" => a.max_delay = Some(number(&value("--max-delay")?)?),
            "--playout-out" => a.playout_out = Some(value("--playout-out")?),
            "--seed" => a.seed = number(&value("--seed")?)?,
            "--eval" => a.eval = true,
            "-h" | "--help" => {
                println!(
                    "usage: jb-sim [--ptime MS] [--fixed MS] [--max-delay MS] \
                     [--playout-out FILE] TRACE\n       jb-sim --eval [--seed N]"
                );
                std::process::exit(0);
            }
            s if s.starts_with("--") => return Err(format!("unknown option {s}")),
            s => {
                if a.trace.replace(s.to_string()).is_some() {
                    return Err("more than one TRACE".into());
                }
            }
        }
    }
    if !(10..=120).contains(&a.ptime) {
        return Err(format!("--ptime {} outside 10..=120 ms", a.ptime));
    }
    Ok(a)
}

fn number<T: std::str::FromStr>(s: &str) -> Result<T, String> {
    s.parse().map_err(|_| format!("not a number: {s}"))
}
