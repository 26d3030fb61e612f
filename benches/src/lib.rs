//! Criterion benches for telox live in `benches/`, one file per crate; peer crates compared
//! against are dev-dependencies here only, so they stay out of the library crates.
//!
//! This library holds what several bench files share: [`ThreadCpu`], a criterion measurement
//! of the bench thread's on-CPU time.

#![forbid(unsafe_code)]

use std::time::Duration;

use criterion::measurement::{Measurement, ValueFormatter, WallTime};

/// On-CPU time of the bench thread (`clock_gettime(CLOCK_THREAD_CPUTIME_ID)` via `cpu-time`).
///
/// The bench machine is shared (2 cores, many processes), so wall time per iteration includes
/// time the thread sat descheduled; thread CPU time does not. Values are durations, formatted
/// as criterion formats wall time.
pub struct ThreadCpu;

static WALL: WallTime = WallTime;

impl Measurement for ThreadCpu {
    type Intermediate = cpu_time::ThreadTime;
    type Value = Duration;

    fn start(&self) -> Self::Intermediate {
        cpu_time::ThreadTime::now()
    }
    fn end(&self, i: Self::Intermediate) -> Self::Value {
        i.elapsed()
    }
    fn add(&self, v1: &Self::Value, v2: &Self::Value) -> Self::Value {
        *v1 + *v2
    }
    fn zero(&self) -> Self::Value {
        Duration::ZERO
    }
    fn to_f64(&self, value: &Self::Value) -> f64 {
        value.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        WALL.formatter()
    }
}
