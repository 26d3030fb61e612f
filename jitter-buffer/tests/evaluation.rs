//! The evaluation of issue 8: on every generated trace, the adaptive buffer against fixed
//! buffers of every delay (0..=max, 1 ms steps, hindsight-optimal one found by bisection).
//! Goal: mean delay at most 1.1x the smallest fixed delay's that reaches the same late loss,
//! plus 5 ms; late loss under 1 % where the trace's p99 jitter is below the max delay.

use std::time::Instant;

use telox_jitter_buffer::sim::{SimConfig, TraceSpec, evaluate, generate};

#[test]
fn adaptive_meets_the_goal_on_every_trace() {
    #[expect(
        clippy::disallowed_methods,
        reason = "any epoch will do for the virtual clock"
    )]
    let epoch = Instant::now();
    let config = SimConfig::new(20, None);
    let max_ms = config.buffer.max_delay.as_secs_f64() * 1_000.0;
    let mut failures = Vec::new();
    println!(
        "| trace | p99 jitter ms | adaptive late % | adaptive mean ms | adaptive p95 ms | \
         concealed % | fixed delay ms | fixed late % | fixed mean ms | goal ms | pass |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for spec in TraceSpec::presets(2026) {
        let trace = generate(&spec);
        let e = evaluate(&trace, &config, epoch).unwrap();
        let pass = e.meets_delay_goal() && e.meets_loss_goal(max_ms);
        let (fd, fl, fm) = e.fixed.map_or(
            ("none".to_string(), "-".to_string(), "-".to_string()),
            |(d, s)| {
                (
                    d.to_string(),
                    format!("{:.2}", s.late_loss_pct),
                    format!("{:.1}", s.mean_delay_ms),
                )
            },
        );
        println!(
            "| {} | {:.1} | {:.2} | {:.1} | {:.1} | {:.2} | {} | {} | {} | {} | {} |",
            spec.name,
            e.p99_jitter_ms,
            e.adaptive.late_loss_pct,
            e.adaptive.mean_delay_ms,
            e.adaptive.p95_delay_ms,
            e.adaptive.concealed_pct,
            fd,
            fl,
            fm,
            e.delay_goal_ms
                .map_or("-".to_string(), |g| format!("{g:.1}")),
            if pass { "yes" } else { "NO" }
        );
        if !pass {
            failures.push(spec.name);
        }
    }
    assert!(failures.is_empty(), "goal missed on {failures:?}");
}
