//! `jb-tracegen`: writes a seeded network trace for `jb-sim`.
//!
//! ```text
//! jb-tracegen PRESET [--seed N] [--ptime MS] [--seconds S]
//! jb-tracegen --list
//! ```
//!
//! Presets (jitter-buffer's evaluation set): gaussian, pareto, spikes, route-changes,
//! bursty-loss, drift+100ppm, drift-100ppm, changing, calm. The same preset and seed always
//! give the same trace.

use std::process::ExitCode;

use jitter_buffer::sim::{self, TraceSpec};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("jb-tracegen: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let (mut preset, mut seed, mut ptime, mut seconds) = (None, 2026_u64, None, None);
    while let Some(a) = args.next() {
        let mut value = |n: &str| args.next().ok_or(format!("{n} needs a value"));
        match a.as_str() {
            "--seed" => seed = parse(&value("--seed")?)?,
            "--ptime" => ptime = Some(parse::<u32>(&value("--ptime")?)?),
            "--seconds" => seconds = Some(parse::<f64>(&value("--seconds")?)?),
            "--list" => {
                for s in TraceSpec::presets(seed) {
                    println!("{}", s.name);
                }
                return Ok(());
            }
            s if s.starts_with("--") => return Err(format!("unknown option {s}")),
            s => preset = Some(s.to_string()),
        }
    }
    let name = preset.ok_or("usage: jb-tracegen PRESET [--seed N] [--ptime MS] [--seconds S]")?;
    let mut spec = TraceSpec::presets(seed)
        .into_iter()
        .find(|s| s.name == name)
        .ok_or(format!("unknown preset {name} (see --list)"))?;
    if let Some(p) = ptime {
        if !(10..=120).contains(&p) {
            return Err(format!("--ptime {p} outside 10..=120 ms"));
        }
        spec.ptime_ms = p;
    }
    if let Some(s) = seconds {
        if !(s > 0.0 && s <= 36_000.0) {
            return Err(format!("--seconds {s} outside (0, 36000]"));
        }
        spec.duration_s = s;
    }
    print!("{}", sim::format_trace(&sim::generate(&spec)));
    Ok(())
}

fn parse<T: std::str::FromStr>(s: &str) -> Result<T, String> {
    s.parse().map_err(|_| format!("not a number: {s}"))
}
