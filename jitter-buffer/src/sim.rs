//! Trace-driven simulation: the trace format, a seeded trace generator and the simulator and
//! evaluation behind `jb-sim` (examples) and this crate's evaluation test.
//!
//! A trace has one packet per line, `seq<TAB>send_ms<TAB>recv_ms`, with `recv_ms` = `-` for a
//! lost packet; send times are on the sender's (media) clock, receive times on the
//! receiver's. Empty lines and lines starting with `#` are skipped.
//!
//! The simulator plays a trace through a [`JitterBuffer`] on a virtual clock: packets are
//! pushed at their receive time, and the audio side pops whenever the previous playout has
//! been played out. Time-stretch requests are taken as realized in full (the buffer caps them
//! at a quarter frame for accelerate and half a frame for expand, about what WSOLA removes or
//! adds in one pitch period of voiced speech). Delay is playout time minus send time; late
//! loss is the share of received packets never played because they came after their
//! playout time.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rtp::{MediaTime, SeqNo};

use crate::buffer::{JitterBuffer, PacketInfo};
use crate::config::{DelayMode, JitterConfig};
use crate::error::{ConfigError, TraceError};
use crate::playout::{FrameAction, Playout};
use crate::stats::JitterStats;

/// Most packets a trace may hold (about 55 hours of 20 ms frames).
pub const MAX_TRACE_PACKETS: usize = 10_000_000;

/// One line of a trace.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TracePacket {
    /// Sequence number (any unsigned integer; its low 16 bits go on the wire).
    pub seq: u64,
    /// Send time on the sender's clock, ms.
    pub send_ms: f64,
    /// Receive time on the receiver's clock, ms; `None` for a lost packet.
    pub recv_ms: Option<f64>,
}

/// Reads a trace.
///
/// # Errors
/// [`TraceError`] naming the first bad line.
pub fn parse_trace(text: &str) -> Result<Vec<TracePacket>, TraceError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        if out.len() == MAX_TRACE_PACKETS {
            return Err(TraceError::TooLong {
                limit: MAX_TRACE_PACKETS,
            });
        }
        let fields: Vec<&str> = line.split('\t').collect();
        let [seq, send, recv] = fields.as_slice() else {
            return Err(TraceError::Fields {
                line: line_no,
                fields: fields.len(),
            });
        };
        let seq = seq
            .trim()
            .parse::<u64>()
            .map_err(|_| TraceError::Seq { line: line_no })?;
        let send_ms = parse_ms(send, line_no, "send")?;
        let recv_ms = match recv.trim() {
            "-" => None,
            r => Some(parse_ms(r, line_no, "recv")?),
        };
        out.push(TracePacket {
            seq,
            send_ms,
            recv_ms,
        });
    }
    Ok(out)
}

/// Writes a trace in the format [`parse_trace`] reads.
pub fn format_trace(packets: &[TracePacket]) -> String {
    let mut s = String::with_capacity(packets.len() * 24);
    for p in packets {
        let _ = match p.recv_ms {
            Some(r) => writeln!(s, "{}\t{:.3}\t{:.3}", p.seq, p.send_ms, r),
            None => writeln!(s, "{}\t{:.3}\t-", p.seq, p.send_ms),
        };
    }
    s
}

/// What became of a packet in a simulation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Outcome {
    /// Played; its first sample went out at this time on the receive clock, ms.
    Played {
        /// Playout time, ms.
        playout_ms: f64,
    },
    /// Received but never played: it came after its playout time.
    Late,
    /// Never received.
    Lost,
}

/// The headline figures of a simulation.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Summary {
    /// Late packets over received packets, %.
    pub late_loss_pct: f64,
    /// Mean of playout minus send time over played packets, ms.
    pub mean_delay_ms: f64,
    /// 95th percentile of the same, ms.
    pub p95_delay_ms: f64,
    /// Concealment over speech output (frames plus concealment), %.
    pub concealed_pct: f64,
}

impl Summary {
    /// The line `jb-sim` prints last.
    pub fn line(&self) -> String {
        format!(
            "late_loss_pct={:.3} mean_delay_ms={:.3} p95_delay_ms={:.3} concealed_pct={:.3}",
            self.late_loss_pct, self.mean_delay_ms, self.p95_delay_ms, self.concealed_pct
        )
    }
}

/// The result of [`simulate`].
#[derive(Clone, Debug)]
pub struct SimReport {
    /// One entry per distinct sequence number, in sequence order (as in the trace).
    pub outcomes: Vec<(u64, Outcome)>,
    /// The figures.
    pub summary: Summary,
    /// The buffer's own statistics at the end.
    pub stats: JitterStats,
}

impl SimReport {
    /// The `--playout-out` file: `seq<TAB>playout_ms`, `seq<TAB>late` or `seq<TAB>lost` per
    /// packet, in sequence order.
    pub fn playout_lines(&self) -> String {
        let mut s = String::with_capacity(self.outcomes.len() * 16);
        for (seq, o) in &self.outcomes {
            let _ = match o {
                Outcome::Played { playout_ms } => writeln!(s, "{seq}\t{playout_ms:.3}"),
                Outcome::Late => writeln!(s, "{seq}\tlate"),
                Outcome::Lost => writeln!(s, "{seq}\tlost"),
            };
        }
        s
    }
}

/// Simulation settings.
#[derive(Clone, Debug, PartialEq)]
pub struct SimConfig {
    /// Frame duration of the trace's packets, ms.
    pub ptime_ms: u32,
    /// The buffer under test (its `frame_ms` is set to `ptime_ms`).
    pub buffer: JitterConfig,
}

impl SimConfig {
    /// Adaptive buffer at 8 kHz with `ptime_ms` frames, or a fixed one of `fixed_ms`.
    pub fn new(ptime_ms: u32, fixed_ms: Option<u32>) -> Self {
        let mut buffer = JitterConfig::new(SIM_RATE, ptime_ms);
        if let Some(ms) = fixed_ms {
            buffer.mode = DelayMode::Fixed(Duration::from_millis(u64::from(ms)));
        }
        Self { ptime_ms, buffer }
    }
}

/// Plays `trace` through a buffer. `epoch` is any instant (the virtual clock starts there;
/// nothing here reads a clock).
///
/// # Errors
/// The buffer's [`ConfigError`].
pub fn simulate(
    trace: &[TracePacket],
    config: &SimConfig,
    epoch: Instant,
) -> Result<SimReport, ConfigError> {
    let mut buffer_config = config.buffer.clone();
    buffer_config.frame_ms = config.ptime_ms;
    let rate = buffer_config.clock_rate;
    let mut jb: JitterBuffer<usize> = JitterBuffer::new(buffer_config)?;

    // One outcome per distinct sequence number (the first line wins).
    let mut first_line: HashMap<u64, usize> = HashMap::with_capacity(trace.len());
    for (i, p) in trace.iter().enumerate() {
        first_line.entry(p.seq).or_insert(i);
    }
    let mut played: Vec<Option<f64>> = vec![None; trace.len()];

    let mut arrivals: Vec<usize> = (0..trace.len())
        .filter(|&i| trace[i].recv_ms.is_some_and(f64::is_finite))
        .collect();
    arrivals.sort_by(|&a, &b| recv(trace, a).total_cmp(&recv(trace, b)));
    let origin = arrivals.first().map_or(0.0, |&i| recv(trace, i)) - 1_000.0;
    let to_us = |ms: f64| ((ms - origin) * 1_000.0).round().max(0.0) as u64;
    let at = |us: u64| epoch + Duration::from_micros(us);
    let ticks_us = |ticks: u32| u64::from(ticks) * 1_000_000 / u64::from(rate);

    let mut next = 0;
    let mut now_us = arrivals.first().map_or(0, |&i| to_us(recv(trace, i)));
    let mut pops: u64 = 0;
    loop {
        while let Some(&i) = arrivals.get(next) {
            let r = to_us(recv(trace, i));
            if r > now_us {
                break;
            }
            let p = trace[i];
            let ts = (p.send_ms * f64::from(rate) / 1_000.0).round() as i64 as u32;
            let info = PacketInfo::new(SeqNo(p.seq & 0xFFFF), MediaTime::new(u64::from(ts), rate));
            jb.push_packet(at(r), info, i);
            next += 1;
        }
        if next == arrivals.len() && jb.is_empty() {
            break;
        }
        if jb.is_empty() {
            // Nothing to play for a long while: jump ahead instead of pulling silence.
            if let Some(&i) = arrivals.get(next) {
                let r = to_us(recv(trace, i));
                if r > now_us + IDLE_SKIP_US {
                    now_us = r;
                    continue;
                }
            }
        }
        let out = jb.pop(at(now_us));
        pops += 1;
        let step = match &out {
            Playout::Frame(f) => {
                if let Some(slot) = played.get_mut(f.payload) {
                    *slot = Some(origin + now_us as f64 / 1_000.0);
                }
                let d = ticks_us(f.duration);
                match f.action {
                    FrameAction::Accelerate { max_ticks } => d.saturating_sub(ticks_us(max_ticks)),
                    FrameAction::Expand { max_ticks } => d + ticks_us(max_ticks),
                    _ => d,
                }
            }
            other => ticks_us(other.duration()),
        };
        now_us += step.max(1);
        if pops > MAX_POPS {
            break;
        }
    }

    let mut seqs: Vec<(u64, usize)> = first_line.into_iter().collect();
    seqs.sort_unstable();
    let mut outcomes = Vec::with_capacity(seqs.len());
    let mut delays = Vec::with_capacity(seqs.len());
    let (mut received, mut late) = (0_u64, 0_u64);
    for (seq, i) in seqs {
        let p = trace[i];
        // Any line of this sequence number that was played counts (a duplicate line may
        // have been the copy that went out).
        let playout = played[i].or_else(|| {
            trace
                .iter()
                .zip(&played)
                .find(|(q, pl)| q.seq == seq && pl.is_some())
                .and_then(|(_, pl)| *pl)
        });
        let o = match (p.recv_ms, playout) {
            (_, Some(ms)) => {
                received += 1;
                delays.push(ms - p.send_ms);
                Outcome::Played { playout_ms: ms }
            }
            (Some(_), None) => {
                received += 1;
                late += 1;
                Outcome::Late
            }
            (None, None) => Outcome::Lost,
        };
        outcomes.push((seq, o));
    }
    let stats = jb.stats().clone();
    let summary = Summary {
        late_loss_pct: pct(late as f64, received as f64),
        mean_delay_ms: mean(&delays),
        p95_delay_ms: percentile(&mut delays, 0.95),
        concealed_pct: stats.concealment_rate() * 100.0,
    };
    Ok(SimReport {
        outcomes,
        summary,
        stats,
    })
}

/// The comparison of the adaptive buffer with fixed buffers on one trace.
#[derive(Clone, Debug)]
pub struct Evaluation {
    /// 99th percentile of the trace's jitter (transit time minus the smallest), ms.
    pub p99_jitter_ms: f64,
    /// The adaptive buffer.
    pub adaptive: Summary,
    /// The smallest fixed delay (ms) whose late loss is at most the adaptive buffer's, and its
    /// figures; `None` when no fixed delay up to the max delay reaches it.
    pub fixed: Option<(u32, Summary)>,
    /// The delay goal: 1.1 times that fixed buffer's mean delay plus 5 ms.
    pub delay_goal_ms: Option<f64>,
}

impl Evaluation {
    /// Mean delay within the goal (or no fixed delay reaches the adaptive late loss).
    pub fn meets_delay_goal(&self) -> bool {
        self.delay_goal_ms
            .is_none_or(|goal| self.adaptive.mean_delay_ms <= goal)
    }

    /// Late loss under 1 % wherever the trace's p99 jitter is below `max_delay_ms`.
    pub fn meets_loss_goal(&self, max_delay_ms: f64) -> bool {
        self.p99_jitter_ms >= max_delay_ms || self.adaptive.late_loss_pct < 1.0
    }
}

/// Compares the adaptive buffer (`config` as given) with fixed buffers of every delay from 0
/// to the max delay, in 1 ms steps: the hindsight-optimal fixed delay for the adaptive
/// buffer's late loss is found by bisection, since a fixed buffer's late loss never rises
/// with its delay.
///
/// # Errors
/// The buffer's [`ConfigError`].
pub fn evaluate(
    trace: &[TracePacket],
    config: &SimConfig,
    epoch: Instant,
) -> Result<Evaluation, ConfigError> {
    let adaptive = simulate(trace, config, epoch)?.summary;
    let max_ms = u32::try_from(config.buffer.max_delay.as_millis()).unwrap_or(u32::MAX);
    let fixed = |d: u32| -> Result<Summary, ConfigError> {
        let mut c = config.clone();
        c.buffer.mode = DelayMode::Fixed(Duration::from_millis(u64::from(d)));
        Ok(simulate(trace, &c, epoch)?.summary)
    };
    let reaches = |s: &Summary| s.late_loss_pct <= adaptive.late_loss_pct + 1e-9;
    let top = fixed(max_ms)?;
    let fixed = if reaches(&top) {
        let (mut lo, mut hi, mut best) = (0, max_ms, top);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let s = fixed(mid)?;
            if reaches(&s) {
                hi = mid;
                best = s;
            } else {
                lo = mid + 1;
            }
        }
        if hi == max_ms {
            best = top;
        }
        Some((hi, best))
    } else {
        None
    };
    Ok(Evaluation {
        p99_jitter_ms: p99_jitter(trace),
        adaptive,
        delay_goal_ms: fixed.map(|(_, s)| 1.1 * s.mean_delay_ms + 5.0),
        fixed,
    })
}

/// 99th percentile of transit time minus the smallest transit time, ms.
pub fn p99_jitter(trace: &[TracePacket]) -> f64 {
    let mut transit: Vec<f64> = trace
        .iter()
        .filter_map(|p| p.recv_ms.map(|r| r - p.send_ms))
        .collect();
    let min = transit.iter().copied().fold(f64::INFINITY, f64::min);
    for t in &mut transit {
        *t -= min;
    }
    percentile(&mut transit, 0.99)
}

// ---- trace generator ----

/// Per-packet jitter added to the transit time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Jitter {
    /// None.
    None,
    /// Gaussian with this standard deviation, ms (transit never below 1 ms).
    Gaussian {
        /// Standard deviation, ms.
        sigma_ms: f64,
    },
    /// Pareto (Lomax, starting at 0): `scale * (U^(-1/shape) - 1)`, capped at 2 s.
    Pareto {
        /// Scale, ms.
        scale_ms: f64,
        /// Shape (tail index; smaller is heavier).
        shape: f64,
    },
}

/// Bursty loss: a two-state Markov chain (Gilbert-Elliott).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GilbertElliott {
    /// Per-packet probability of going from the good to the bad state.
    pub p_good_to_bad: f64,
    /// Per-packet probability of going back.
    pub p_bad_to_good: f64,
    /// Loss probability in the good state.
    pub loss_good: f64,
    /// Loss probability in the bad state.
    pub loss_bad: f64,
}

/// A seeded network model for [`generate`].
#[derive(Clone, Debug, PartialEq)]
pub struct TraceSpec {
    /// Name used in reports.
    pub name: &'static str,
    /// RNG seed: the same spec gives the same trace.
    pub seed: u64,
    /// Length, s.
    pub duration_s: f64,
    /// Frame duration, ms.
    pub ptime_ms: u32,
    /// One-way base delay, ms.
    pub base_delay_ms: f64,
    /// Jitter from the start.
    pub jitter: Jitter,
    /// Jitter changes: from `.0` seconds on, jitter is `.1`.
    pub phases: Vec<(f64, Jitter)>,
    /// Delay spikes per minute (Poisson), each raising delay by `spike_height_ms` at once and
    /// draining at 1 ms per ms: a queue, so the packets it held arrive in a burst, in order,
    /// and none sent after it overtakes them.
    pub spikes_per_minute: f64,
    /// Height of a spike, ms.
    pub spike_height_ms: f64,
    /// Route changes: from `.0` seconds on, base delay changes by `.1` ms.
    pub route_changes: Vec<(f64, f64)>,
    /// Bursty loss, if any.
    pub loss: Option<GilbertElliott>,
    /// Receiver clock rate error relative to the sender's, ppm (+100 runs fast).
    pub drift_ppm: f64,
}

impl TraceSpec {
    /// A minute of 20 ms frames at 40 ms base delay and no impairment.
    pub fn new(name: &'static str, seed: u64) -> Self {
        Self {
            name,
            seed,
            duration_s: 60.0,
            ptime_ms: 20,
            base_delay_ms: 40.0,
            jitter: Jitter::None,
            phases: Vec::new(),
            spikes_per_minute: 0.0,
            spike_height_ms: 0.0,
            route_changes: Vec::new(),
            loss: None,
            drift_ppm: 0.0,
        }
    }

    /// The evaluation set: Gaussian and Pareto jitter, spikes, route changes, bursty loss,
    /// drift both ways, changing conditions, and a calm network.
    pub fn presets(seed: u64) -> Vec<Self> {
        let g = |sigma_ms| Jitter::Gaussian { sigma_ms };
        let mut v = Vec::new();
        let mut s = Self::new("gaussian", seed);
        s.jitter = g(10.0);
        v.push(s);
        let mut s = Self::new("pareto", seed + 1);
        s.base_delay_ms = 30.0;
        s.jitter = Jitter::Pareto {
            scale_ms: 8.0,
            shape: 2.5,
        };
        v.push(s);
        let mut s = Self::new("spikes", seed + 2);
        s.jitter = g(3.0);
        s.spikes_per_minute = 4.0;
        s.spike_height_ms = 250.0;
        v.push(s);
        let mut s = Self::new("route-changes", seed + 3);
        s.jitter = g(4.0);
        s.route_changes = vec![(20.0, 80.0), (40.0, -100.0)];
        s.base_delay_ms = 60.0;
        v.push(s);
        let mut s = Self::new("bursty-loss", seed + 4);
        s.jitter = g(8.0);
        s.loss = Some(GilbertElliott {
            p_good_to_bad: 0.02,
            p_bad_to_good: 0.3,
            loss_good: 0.0,
            loss_bad: 0.6,
        });
        v.push(s);
        let mut s = Self::new("drift+100ppm", seed + 5);
        s.jitter = g(6.0);
        s.drift_ppm = 100.0;
        v.push(s);
        let mut s = Self::new("drift-100ppm", seed + 6);
        s.jitter = g(6.0);
        s.drift_ppm = -100.0;
        v.push(s);
        let mut s = Self::new("changing", seed + 7);
        s.jitter = g(2.0);
        s.phases = vec![(20.0, g(25.0)), (40.0, g(2.0))];
        v.push(s);
        let mut s = Self::new("calm", seed + 8);
        s.base_delay_ms = 20.0;
        s.jitter = g(1.0);
        v.push(s);
        v
    }
}

/// Generates the trace of `spec` (deterministic for a given seed).
pub fn generate(spec: &TraceSpec) -> Vec<TracePacket> {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let ptime = f64::from(spec.ptime_ms.max(1));
    let n = ((spec.duration_s * 1_000.0 / ptime).max(0.0) as usize).min(MAX_TRACE_PACKETS);
    // Spike start times (Poisson process), ms.
    let mut spikes = Vec::new();
    if spec.spikes_per_minute > 0.0 {
        let mean_gap = 60_000.0 / spec.spikes_per_minute;
        let mut t = 0.0;
        loop {
            t += -mean_gap * (1.0 - rng.random::<f64>()).ln();
            if t >= spec.duration_s * 1_000.0 {
                break;
            }
            spikes.push(t);
        }
    }
    let mut bad = false;
    let (mut fifo_floor, mut spike_end) = (f64::NEG_INFINITY, f64::NEG_INFINITY);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let send = i as f64 * ptime;
        let secs = send / 1_000.0;
        let mut base = spec.base_delay_ms;
        for &(at, delta) in &spec.route_changes {
            if secs >= at {
                base += delta;
            }
        }
        let jitter = spec
            .phases
            .iter()
            .rev()
            .find(|(at, _)| secs >= *at)
            .map_or(spec.jitter, |&(_, j)| j);
        let extra = match jitter {
            Jitter::None => 0.0,
            Jitter::Gaussian { sigma_ms } => sigma_ms * gaussian(&mut rng),
            Jitter::Pareto { scale_ms, shape } => {
                let u = 1.0 - rng.random::<f64>();
                (scale_ms * (u.powf(-1.0 / shape) - 1.0)).min(2_000.0)
            }
        };
        let spike = spikes
            .iter()
            .map(|&s| {
                let since = send - s;
                if (0.0..spec.spike_height_ms).contains(&since) {
                    spec.spike_height_ms - since
                } else {
                    0.0
                }
            })
            .fold(0.0, f64::max);
        let transit = (base + extra).max(1.0) + spike;
        let lost = match spec.loss {
            Some(ge) => {
                bad = if bad {
                    rng.random::<f64>() >= ge.p_bad_to_good
                } else {
                    rng.random::<f64>() < ge.p_good_to_bad
                };
                rng.random::<f64>() < if bad { ge.loss_bad } else { ge.loss_good }
            }
            None => false,
        };
        let mut recv = (send + transit) * (1.0 + spec.drift_ppm * 1e-6);
        // A spike is a queue: what it held leaves in order, and nothing sent after it
        // overtakes it.
        if spike > 0.0 || send < spike_end + 1_000.0 {
            recv = recv.max(fifo_floor);
        }
        if spike > 0.0 {
            fifo_floor = recv;
            spike_end = send;
        }
        out.push(TracePacket {
            seq: i as u64,
            send_ms: send,
            recv_ms: (!lost).then_some(recv),
        });
    }
    out
}

fn gaussian(rng: &mut ChaCha8Rng) -> f64 {
    // Box-Muller.
    let u1 = 1.0 - rng.random::<f64>();
    let u2 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

// ---- helpers ----

fn parse_ms(field: &str, line: usize, which: &'static str) -> Result<f64, TraceError> {
    field
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && v.abs() < 1e12)
        .ok_or(TraceError::Time { line, field: which })
}

fn recv(trace: &[TracePacket], i: usize) -> f64 {
    trace.get(i).and_then(|p| p.recv_ms).unwrap_or(0.0)
}

fn pct(a: f64, b: f64) -> f64 {
    if b > 0.0 { 100.0 * a / b } else { 0.0 }
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// Nearest-rank percentile (sorts `v`).
fn percentile(v: &mut [f64], q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_unstable_by(f64::total_cmp);
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

/// Clock rate of simulated streams (PCMU's).
const SIM_RATE: u32 = 8_000;
/// An idle gap longer than this is skipped rather than pulled through.
const IDLE_SKIP_US: u64 = 5_000_000;
/// Safety bound on pulls per simulation.
const MAX_POPS: u64 = 200_000_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_round_trips() {
        let t = "# comment\n0\t0\t40.5\n1\t20\t-\n\n2\t40\t79.25\n";
        let p = parse_trace(t).unwrap();
        assert_eq!(p.len(), 3);
        assert_eq!(p[1].recv_ms, None);
        assert_eq!(parse_trace(&format_trace(&p)).unwrap(), p);
    }

    #[test]
    fn bad_lines_are_typed_errors() {
        assert_eq!(
            parse_trace("1\t2"),
            Err(TraceError::Fields { line: 1, fields: 2 })
        );
        assert_eq!(parse_trace("x\t2\t3"), Err(TraceError::Seq { line: 1 }));
        assert_eq!(
            parse_trace("1\t2\t3\n1\tNaN\t3"),
            Err(TraceError::Time {
                line: 2,
                field: "send"
            })
        );
        assert_eq!(
            parse_trace("1\t2\tz"),
            Err(TraceError::Time {
                line: 1,
                field: "recv"
            })
        );
    }

    #[test]
    fn generator_is_deterministic_and_seeded() {
        let spec = &TraceSpec::presets(7)[0];
        assert_eq!(generate(spec), generate(spec));
        let mut other = spec.clone();
        other.seed += 100;
        assert_ne!(generate(spec), generate(&other));
        assert_eq!(generate(spec).len(), 3_000);
    }

    #[test]
    fn gilbert_elliott_loss_is_bursty() {
        let mut spec = TraceSpec::new("ge", 3);
        spec.duration_s = 600.0;
        spec.loss = Some(GilbertElliott {
            p_good_to_bad: 0.02,
            p_bad_to_good: 0.3,
            loss_good: 0.0,
            loss_bad: 1.0,
        });
        let t = generate(&spec);
        let lost: Vec<bool> = t.iter().map(|p| p.recv_ms.is_none()).collect();
        let rate = lost.iter().filter(|&&l| l).count() as f64 / lost.len() as f64;
        // Stationary bad share 0.02 / 0.32 = 6.25 %; mean burst length 1 / 0.3 = 3.3.
        assert!((0.045..0.08).contains(&rate), "loss {rate}");
        let after_loss = lost.windows(2).filter(|w| w[0] && w[1]).count() as f64
            / lost.iter().filter(|&&l| l).count() as f64;
        assert!(after_loss > 0.5, "burstiness {after_loss}");
    }

    #[test]
    fn drift_stretches_the_receive_clock() {
        let mut spec = TraceSpec::new("drift", 1);
        spec.drift_ppm = 100.0;
        let t = generate(&spec);
        let first = t[0].recv_ms.unwrap() - t[0].send_ms;
        let last = t[2_999].recv_ms.unwrap() - t[2_999].send_ms;
        // 100 ppm of ~60 s is ~6 ms.
        assert!((last - first - 6.0).abs() < 0.1, "{}", last - first);
    }

    #[test]
    fn fixed_buffer_on_a_clean_trace_has_its_delay() {
        let spec = TraceSpec::new("clean", 1);
        let t = generate(&spec);
        #[expect(
            clippy::disallowed_methods,
            reason = "any epoch will do for the virtual clock"
        )]
        let epoch = Instant::now();
        let r = simulate(&t, &SimConfig::new(20, Some(30)), epoch).unwrap();
        // Anchored on the first packet (40 ms transit): delay 40 + 30 for every packet.
        assert_eq!(r.summary.late_loss_pct, 0.0);
        assert!((r.summary.mean_delay_ms - 70.0).abs() < 0.01);
        assert!((r.summary.p95_delay_ms - 70.0).abs() < 0.01);
        assert_eq!(r.summary.concealed_pct, 0.0);
        assert_eq!(r.outcomes.len(), 3_000);
    }

    #[test]
    fn percentile_is_nearest_rank() {
        let mut v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&mut v, 0.95), 95.0);
        assert_eq!(percentile(&mut [], 0.95), 0.0);
    }
}
