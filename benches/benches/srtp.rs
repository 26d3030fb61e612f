//! SRTP protect and unprotect, telox side by side with `webrtc-srtp`, `rtc-srtp` and (with
//! `--features libsrtp`) the system libsrtp2: AES_CM_128_HMAC_SHA1_80 and AEAD_AES_128_GCM,
//! 160-byte (G.711 20 ms) and 1200-byte payloads.
//!
//! Every implementation gets fresh packets (increasing sequence numbers, so replay windows and
//! libsrtp's repeated-index check never trigger): packets are prepared in untimed chunks of
//! 1024 and only the protect or unprotect calls are timed (`iter_custom`). telox and libsrtp2
//! work in place on the prepared buffer, which the untimed preparation gives the room for the
//! trailer (`Impl::room`), as a caller's receive or send buffer has it; the peer crates
//! take a slice and return a new buffer, which is their API. The batch rows prepare their
//! packets the same way (one helper, `plain_chunk`), so that a batch row and a one-by-one
//! row differ only in the call. Times are CPU time of the benchmarking thread.
//!
//! Run: `cargo bench -p telox-benches --bench srtp [--features libsrtp] -- --warm-up-time 1
//! --measurement-time 3`

#![allow(missing_docs, reason = "criterion_group! generates an undocumented fn")]
#![allow(
    clippy::expect_used,
    reason = "a bench aborts on a failed setup or a refused packet"
)]

use std::time::Duration;

use cpu_time::ThreadTime;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use srtp::{MasterKey, ProtectionProfile, SrtpConfig, SrtpContext};

const CHUNK: usize = 1024;
const SSRC: u32 = 0xcafe_babe;

#[derive(Clone, Copy)]
enum Suite {
    AesCm80,
    Gcm128,
}

impl Suite {
    fn name(self) -> &'static str {
        match self {
            Self::AesCm80 => "AES_CM_128_HMAC_SHA1_80",
            Self::Gcm128 => "AEAD_AES_128_GCM",
        }
    }

    fn telox(self) -> ProtectionProfile {
        match self {
            Self::AesCm80 => ProtectionProfile::AesCm128HmacSha1_80,
            Self::Gcm128 => ProtectionProfile::AeadAes128Gcm,
        }
    }

    fn key_salt(self) -> Vec<u8> {
        let p = self.telox();
        (0..p.key_len() + p.salt_len())
            .map(|i| (i * 7 + 3) as u8)
            .collect()
    }
}

/// An RTP packet with `payload` bytes and room for any trailer.
fn rtp(seq: u16, payload: usize) -> Vec<u8> {
    let mut p = Vec::with_capacity(12 + payload + 160);
    p.extend_from_slice(&[0x80, 0x00]);
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&(u32::from(seq) * 160).to_be_bytes());
    p.extend_from_slice(&SSRC.to_be_bytes());
    p.resize(12 + payload, seq as u8);
    p
}

/// Plaintext packets `seq..seq + n` of `payload` bytes, each followed by `room` zero bytes
/// for the trailer an in-place protect appends (prepared untimed).
fn plain_chunk(seq: u16, n: usize, payload: usize, room: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let mut p = rtp(seq.wrapping_add(i as u16), payload);
            p.resize(12 + payload + room, 0);
            p
        })
        .collect()
}

/// One implementation under test: protect a plaintext packet, unprotect a protected one.
trait Impl {
    /// Bytes an in-place protect needs after the packet (0 for an API that returns a new
    /// buffer).
    fn room(&self) -> usize {
        0
    }
    /// Protects the plaintext packet `pkt[..len]` (`pkt` has [`room`](Self::room) bytes after
    /// it); an in-place implementation leaves `pkt` as the protected packet.
    fn protect(&mut self, pkt: &mut Vec<u8>, len: usize);
    /// Unprotects `pkt`.
    fn unprotect(&mut self, pkt: &mut Vec<u8>);
}

struct Telox(SrtpContext);

impl Impl for Telox {
    fn room(&self) -> usize {
        16
    }

    fn protect(&mut self, pkt: &mut Vec<u8>, len: usize) {
        let n = self.0.protect_rtp(pkt, len).expect("telox protect");
        pkt.truncate(n);
    }

    fn unprotect(&mut self, pkt: &mut Vec<u8>) {
        let n = self.0.unprotect_rtp(pkt).expect("telox unprotect");
        pkt.truncate(n);
    }
}

fn telox(s: Suite) -> Telox {
    let m = MasterKey::from_key_salt(s.telox(), &s.key_salt()).expect("key");
    Telox(SrtpContext::new(s.telox(), &m, SrtpConfig::default()).expect("context"))
}

struct Webrtc(webrtc_srtp::context::Context);

impl Impl for Webrtc {
    fn protect(&mut self, pkt: &mut Vec<u8>, _: usize) {
        let out = self.0.encrypt_rtp(pkt).expect("webrtc-srtp protect");
        std::hint::black_box(out);
    }

    fn unprotect(&mut self, pkt: &mut Vec<u8>) {
        let out = self.0.decrypt_rtp(pkt).expect("webrtc-srtp unprotect");
        std::hint::black_box(out);
    }
}

fn webrtc(s: Suite) -> Webrtc {
    use webrtc_srtp::protection_profile::ProtectionProfile as P;
    let p = match s {
        Suite::AesCm80 => P::Aes128CmHmacSha1_80,
        Suite::Gcm128 => P::AeadAes128Gcm,
    };
    let ks = s.key_salt();
    let k = s.telox().key_len();
    Webrtc(webrtc_srtp::context::Context::new(&ks[..k], &ks[k..], p, None, None).expect("ctx"))
}

struct Rtc(rtc_srtp::context::Context);

impl Impl for Rtc {
    fn protect(&mut self, pkt: &mut Vec<u8>, _: usize) {
        let out = self.0.encrypt_rtp(pkt).expect("rtc-srtp protect");
        std::hint::black_box(out);
    }

    fn unprotect(&mut self, pkt: &mut Vec<u8>) {
        let out = self.0.decrypt_rtp(pkt).expect("rtc-srtp unprotect");
        std::hint::black_box(out);
    }
}

fn rtc(s: Suite) -> Rtc {
    use rtc_srtp::protection_profile::ProtectionProfile as P;
    let p = match s {
        Suite::AesCm80 => P::Aes128CmHmacSha1_80,
        Suite::Gcm128 => P::AeadAes128Gcm,
    };
    let ks = s.key_salt();
    let k = s.telox().key_len();
    let provider = rtc_srtp::crypto::default_provider().expect("rtc-srtp crypto provider");
    Rtc(
        rtc_srtp::context::Context::new(&ks[..k], &ks[k..], p, None, None, provider.crypto())
            .expect("ctx"),
    )
}

#[cfg(feature = "libsrtp")]
struct Lib(telox_bench_ffi::Session);

#[cfg(feature = "libsrtp")]
impl Impl for Lib {
    fn room(&self) -> usize {
        144
    }

    fn protect(&mut self, pkt: &mut Vec<u8>, len: usize) {
        let n = self.0.protect(pkt, len).expect("libsrtp protect");
        pkt.truncate(n);
    }

    fn unprotect(&mut self, pkt: &mut Vec<u8>) {
        let n = self.0.unprotect(pkt).expect("libsrtp unprotect");
        pkt.truncate(n);
    }
}

#[cfg(feature = "libsrtp")]
fn lib(s: Suite, inbound: bool) -> Lib {
    let p = match s {
        Suite::AesCm80 => telox_bench_ffi::Profile::AesCm128HmacSha1_80,
        Suite::Gcm128 => telox_bench_ffi::Profile::AeadAes128Gcm,
    };
    Lib(telox_bench_ffi::Session::new(p, &s.key_salt(), inbound).expect("libsrtp session"))
}

/// Times `iters` protects: plaintext chunks are prepared untimed.
fn time_protect(imp: &mut dyn Impl, seq: &mut u16, payload: usize, iters: u64) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let n = left.min(CHUNK as u64) as usize;
        let mut chunk = plain_chunk(*seq, n, payload, imp.room());
        *seq = seq.wrapping_add(n as u16);
        let start = now();
        for p in &mut chunk {
            imp.protect(p, 12 + payload);
        }
        total += start.elapsed();
        left -= n as u64;
    }
    total
}

/// Times `iters` unprotects of packets protected (untimed) by telox, which the interop tests
/// show every peer accepts.
fn time_unprotect(
    imp: &mut dyn Impl,
    tx: &mut Telox,
    seq: &mut u16,
    payload: usize,
    iters: u64,
) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let n = left.min(CHUNK as u64) as usize;
        let mut chunk: Vec<Vec<u8>> = (0..n)
            .map(|i| {
                let mut p = rtp(seq.wrapping_add(i as u16), payload);
                p.resize(12 + payload + tx.room(), 0);
                tx.protect(&mut p, 12 + payload);
                p
            })
            .collect();
        *seq = seq.wrapping_add(n as u16);
        let start = now();
        for p in &mut chunk {
            imp.unprotect(p);
        }
        total += start.elapsed();
        left -= n as u64;
    }
    total
}

/// Thread CPU time, not wall time: on a shared, loaded machine wall time measures the
/// neighbours (libsrtp's reference tool measures thread CPU time as well).
fn now() -> ThreadTime {
    ThreadTime::now()
}

type Maker = fn(Suite, bool) -> Box<dyn Impl>;

fn makers() -> Vec<(&'static str, Maker)> {
    #[cfg_attr(
        not(feature = "libsrtp"),
        allow(unused_mut, reason = "pushed to with libsrtp")
    )]
    let mut v: Vec<(&'static str, Maker)> = vec![
        ("telox", |s, _| Box::new(telox(s))),
        ("webrtc-srtp", |s, _| Box::new(webrtc(s))),
        ("rtc-srtp", |s, _| Box::new(rtc(s))),
    ];
    #[cfg(feature = "libsrtp")]
    v.push(("libsrtp2", |s, inbound| Box::new(lib(s, inbound))));
    v
}

fn bench_srtp(c: &mut Criterion) {
    for suite in [Suite::AesCm80, Suite::Gcm128] {
        for payload in [160usize, 1200] {
            let mut g = c.benchmark_group(format!("srtp/protect/{}/{payload}", suite.name()));
            g.throughput(Throughput::Bytes(payload as u64));
            for (name, make) in makers() {
                let mut imp = make(suite, false);
                let mut seq = 0u16;
                g.bench_function(BenchmarkId::from_parameter(name), |b| {
                    b.iter_custom(|iters| time_protect(imp.as_mut(), &mut seq, payload, iters));
                });
            }
            g.finish();
            let mut g = c.benchmark_group(format!("srtp/unprotect/{}/{payload}", suite.name()));
            g.throughput(Throughput::Bytes(payload as u64));
            for (name, make) in makers() {
                let mut imp = make(suite, true);
                let mut tx = telox(suite);
                let mut seq = 0u16;
                g.bench_function(BenchmarkId::from_parameter(name), |b| {
                    b.iter_custom(|iters| {
                        time_unprotect(imp.as_mut(), &mut tx, &mut seq, payload, iters)
                    });
                });
            }
            g.finish();
        }
    }
}

/// Times `iters` packets in chunks of up to `CHUNK`: `run(n, results)` prepares `n` packets
/// untimed, times one batch call over them and returns that time; every result must be `Ok`.
fn time_batches(
    iters: u64,
    what: &str,
    mut run: impl FnMut(usize, &mut [Result<usize, srtp::SrtpError>]) -> Duration,
) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = iters;
    let mut results = vec![Ok(0); CHUNK];
    while left > 0 {
        let n = left.min(CHUNK as u64) as usize;
        total += run(n, &mut results[..n]);
        assert!(results[..n].iter().all(Result::is_ok), "telox batch {what}");
        left -= n as u64;
    }
    total
}

/// Times `iters` packets protected 16 at a time with `protect_rtp_batch` (plaintext chunks
/// prepared untimed by the helper of the one-by-one rows): the per-packet figure is
/// throughput, not latency.
fn time_protect_batch(tx: &mut SrtpContext, seq: &mut u16, payload: usize, iters: u64) -> Duration {
    time_batches(iters, "protect", |n, results| {
        let mut chunk = plain_chunk(*seq, n, payload, 16);
        *seq = seq.wrapping_add(n as u16);
        let mut refs: Vec<(&mut [u8], usize)> = chunk
            .iter_mut()
            .map(|p| (p.as_mut_slice(), 12 + payload))
            .collect();
        let start = now();
        // The call itself works through the packets 16 at a time.
        tx.protect_rtp_batch(&mut refs, results);
        start.elapsed()
    })
}

/// Times `iters` packets unprotected with `unprotect_rtp_batch`, 16 streams interleaved (the
/// batch groups packets of different streams), protected untimed by telox.
fn time_unprotect_batch(
    tx: &mut SrtpContext,
    rx: &mut SrtpContext,
    seq: &mut u16,
    payload: usize,
    iters: u64,
) -> Duration {
    time_batches(iters, "unprotect", |n, results| {
        let mut chunk: Vec<Vec<u8>> = (0..n)
            .map(|i| {
                let mut p = rtp(seq.wrapping_add((i / 16) as u16), payload);
                p[8..12].copy_from_slice(&(SSRC + (i % 16) as u32).to_be_bytes());
                p.resize(12 + payload + 16, 0);
                let len = tx.protect_rtp(&mut p, 12 + payload).expect("telox protect");
                p.truncate(len);
                p
            })
            .collect();
        *seq = seq.wrapping_add(n.div_ceil(16) as u16);
        let mut refs: Vec<&mut [u8]> = chunk.iter_mut().map(Vec::as_mut_slice).collect();
        let start = now();
        rx.unprotect_rtp_batch(&mut refs, results);
        start.elapsed()
    })
}

/// The batch API of telox (issue 6): AES-CM/HMAC-SHA1 packets 16 at a time; no peer has one.
fn bench_srtp_batch(c: &mut Criterion) {
    let suite = Suite::AesCm80;
    for payload in [160usize, 1200] {
        let mut g = c.benchmark_group(format!("srtp/protect_batch16/{}/{payload}", suite.name()));
        g.throughput(Throughput::Bytes(payload as u64));
        let mut tx = telox(suite).0;
        let mut seq = 0u16;
        g.bench_function(BenchmarkId::from_parameter("telox"), |b| {
            b.iter_custom(|iters| time_protect_batch(&mut tx, &mut seq, payload, iters));
        });
        g.finish();
        let mut g = c.benchmark_group(format!("srtp/unprotect_batch16/{}/{payload}", suite.name()));
        g.throughput(Throughput::Bytes(payload as u64));
        let (mut tx, mut rx, mut seq) = (telox(suite).0, telox(suite).0, 0u16);
        g.bench_function(BenchmarkId::from_parameter("telox"), |b| {
            b.iter_custom(|iters| time_unprotect_batch(&mut tx, &mut rx, &mut seq, payload, iters));
        });
        g.finish();
    }
}

criterion_group!(benches, bench_srtp, bench_srtp_batch);
criterion_main!(benches);
