//! Errors of the jitter-buffer crate.

use thiserror::Error;

/// Any error of this crate.
#[derive(Clone, Debug, Error, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// A [`JitterConfig`](crate::JitterConfig) that cannot work.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A trace file that does not follow the trace format.
    #[error(transparent)]
    Trace(#[from] TraceError),
}

/// Caller misuse: a configuration the buffer cannot run with.
#[derive(Clone, Debug, Error, PartialEq)]
#[non_exhaustive]
pub enum ConfigError {
    /// The media clock rate is zero.
    #[error("clock rate must be non-zero")]
    ZeroClockRate,
    /// The frame duration is zero or longer than 120 ms.
    #[error("frame duration must be between 1 and 120 ms, got {ms} ms")]
    FrameDuration {
        /// The duration asked for, in milliseconds.
        ms: u32,
    },
    /// The minimum delay is above the maximum delay.
    #[error("min delay {min_ms} ms is above max delay {max_ms} ms")]
    DelayBounds {
        /// Minimum delay in milliseconds.
        min_ms: u64,
        /// Maximum delay in milliseconds.
        max_ms: u64,
    },
    /// The maximum delay is above 10 s.
    #[error("max delay {max_ms} ms is above the 10000 ms limit")]
    MaxDelayTooLarge {
        /// Maximum delay in milliseconds.
        max_ms: u64,
    },
    /// The capacity is outside 2..=65536 packets.
    #[error("capacity must be 2..=65536 packets, got {capacity}")]
    Capacity {
        /// The capacity asked for.
        capacity: usize,
    },
    /// The target quantile is outside (0.5, 1).
    #[error("target quantile must be in (0.5, 1)")]
    Quantile,
    /// The forgetting factor is outside (0.9, 1).
    #[error("forgetting factor must be in (0.9, 1)")]
    ForgettingFactor,
}

/// A line of a trace file (`seq<TAB>send_ms<TAB>recv_ms`) that cannot be read.
#[derive(Clone, Debug, Error, PartialEq)]
#[non_exhaustive]
pub enum TraceError {
    /// The line does not have three tab-separated fields.
    #[error("line {line}: expected 3 tab-separated fields, got {fields}")]
    Fields {
        /// 1-based line number.
        line: usize,
        /// Number of fields found.
        fields: usize,
    },
    /// The sequence number is not an unsigned integer.
    #[error("line {line}: bad sequence number")]
    Seq {
        /// 1-based line number.
        line: usize,
    },
    /// A time field is not a finite number of milliseconds (or `-` for receive).
    #[error("line {line}: bad {field} time")]
    Time {
        /// 1-based line number.
        line: usize,
        /// `send` or `recv`.
        field: &'static str,
    },
    /// The trace has more lines than the simulator accepts.
    #[error("trace longer than {limit} packets")]
    TooLong {
        /// The limit in packets.
        limit: usize,
    },
}
