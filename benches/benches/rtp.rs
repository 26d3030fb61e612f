//! RTP/RTCP benches, telox beside webrtc-rs's `rtp` and `rtcp` crates on the same bytes:
//! RTP parse and build, an SR+SDES compound parse, and the per-packet receive-statistics
//! update (no peer: webrtc-rs keeps reception statistics in its interceptor crate).
//!
//! Times are **on-CPU time of the bench thread** (`CLOCK_THREAD_CPUTIME_ID`), not
//! wall time: the machine these figures come from is shared (load average above 10 on 2
//! cores), which inflates wall time per iteration several times over while CPU time stays put.
//!
//! Run: `cargo bench -p telox-benches --bench rtp -- --warm-up-time 1 --measurement-time 3`

#![expect(
    missing_docs,
    reason = "criterion_group! generates an undocumented function"
)]
#![expect(
    clippy::expect_used,
    reason = "a bench aborts on bad input: the inputs are fixed"
)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::measurement::Measurement;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use rtp::rtcp::build::{self, SenderReport, SourceDescription};
use rtp::rtcp::{self, List, RtcpPacket, Validation};
use rtp::stats::SourceStats;
use rtp::{
    MediaTime, NtpTime, RtpHeader, RtpPacket, RtpSession, SessionConfig, Ssrc, StreamHeader,
};
use telox_benches::ThreadCpu;
use webrtc_util::marshal::{Marshal, Unmarshal};

/// A 20 ms PCMU packet: 12-byte header + 160 bytes.
fn rtp_bytes() -> Vec<u8> {
    let h = RtpHeader {
        marker: false,
        payload_type: 0,
        sequence_number: 4242,
        timestamp: 0x1234_5678,
        ssrc: Ssrc(0xDEAD_BEEF),
        ..RtpHeader::default()
    };
    h.to_vec(&[0xFF; 160]).expect("a plain header builds")
}

/// SR with one report block + SDES CNAME, as every VoIP endpoint sends.
fn sr_sdes_bytes() -> Vec<u8> {
    let block = rtcp::ReportBlock {
        ssrc: Ssrc(2),
        fraction_lost: 3,
        cumulative_lost: 10,
        extended_highest_seq: 70_000,
        jitter: 40,
        lsr: 0x1234_5678,
        dlsr: 0x0001_0000,
    };
    let packets = [
        build::RtcpPacket::SenderReport(SenderReport {
            ssrc: Ssrc(1),
            ntp: NtpTime(0xE000_0000_8000_0000),
            rtp_timestamp: 160_000,
            packet_count: 1000,
            octet_count: 160_000,
            reports: List::Owned(vec![block]),
            profile_extension: &[],
        }),
        build::RtcpPacket::SourceDescription(SourceDescription::cname(Ssrc(1), b"alice@192.0.2.1")),
    ];
    rtcp::compound_to_vec(&packets).expect("builds")
}

fn rtp_parse<M: Measurement>(c: &mut Criterion<M>) {
    let raw = rtp_bytes();
    let bytes = Bytes::from(raw.clone());
    let mut g = c.benchmark_group("rtp_parse");
    g.throughput(Throughput::Elements(1));
    g.bench_function("telox", |b| {
        b.iter(|| {
            let p = RtpPacket::new_checked(black_box(&raw[..])).expect("valid");
            black_box((
                p.sequence_number(),
                p.timestamp(),
                p.ssrc(),
                p.payload().len(),
            ))
        })
    });
    g.bench_function("webrtc-rs", |b| {
        b.iter(|| {
            // Their best case: a Bytes input, so the payload is a refcounted slice, not a copy.
            let p = webrtc_rtp::packet::Packet::unmarshal(&mut black_box(&bytes).clone())
                .expect("valid");
            black_box((
                p.header.sequence_number,
                p.header.timestamp,
                p.header.ssrc,
                p.payload.len(),
            ))
        })
    });
    g.finish();
}

/// One 4 KiB page, page-aligned: the build benches' buffers live at fixed places in two of
/// them, so every run copies between the same addresses modulo 4096.
#[repr(C, align(4096))]
struct Page([u8; 4096]);

impl AsRef<[u8]> for Page {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// Where the payload starts in its page: 2 KiB from the packet buffer's page offset, so a
/// load from it never matches the address bits 0-11 of a store into the packet
/// (4K aliasing).
const PAYLOAD_AT: usize = 2048;

fn rtp_build(c: &mut Criterion<ThreadCpu>) {
    // Both sides copy the same 160 bytes from the same address into the same packet buffer.
    // The packet starts on a page (so a 64-byte aligned buffer as a packet pool hands out; a
    // malloc'd one is 16-byte aligned) and never straddles a page. Before session 5 they
    // were stack arrays that ASLR placed anew each run, and a 160-byte copy whose source or
    // destination crosses a page boundary costs 2-6x more (benches/README.md, "rtp, session
    // 5"). The payload is a slice of unknown length on both sides.
    let payload_page = Bytes::from_owner(Page([0xFF; 4096]));
    let payload_bytes = payload_page.slice(PAYLOAD_AT..PAYLOAD_AT + 160);
    let payload: &[u8] = &payload_bytes;
    let mut out_page = Box::new(Page([0; 4096]));
    let out: &mut [u8] = &mut out_page.0[..1500];
    let mut ours = RtpHeader {
        payload_type: 0,
        ssrc: Ssrc(0xDEAD_BEEF),
        ..RtpHeader::default()
    };
    let mut theirs = webrtc_rtp::packet::Packet {
        header: webrtc_rtp::header::Header {
            version: 2,
            payload_type: 0,
            ssrc: 0xDEAD_BEEF,
            ..Default::default()
        },
        payload: payload_bytes.clone(),
    };
    // Same output bytes, checked once outside the timed loops: header alone and whole packet.
    for seq in [0u16, 1, 0xFFFF] {
        (ours.sequence_number, theirs.header.sequence_number) = (seq, seq);
        (ours.timestamp, theirs.header.timestamp) = (u32::from(seq) * 160, u32::from(seq) * 160);
        let mut a = [0u8; 1500];
        let mut b = [0u8; 1500];
        let n = ours.write_packet(payload, &mut a).expect("fits");
        let m = theirs.marshal_to(&mut b[..]).expect("fits");
        assert_eq!(
            a[..n],
            b[..m],
            "telox and webrtc-rs build different packets"
        );
        let n = ours.write_to(&mut a).expect("fits");
        let m = theirs.header.marshal_to(&mut b[..]).expect("fits");
        assert_eq!(
            a[..n],
            b[..m],
            "telox and webrtc-rs build different headers"
        );
    }
    // The session's send path writes what webrtc-rs writes for the same header fields.
    let stream = StreamHeader::new(0, Ssrc(0xDEAD_BEEF));
    let mut session = RtpSession::new(
        SessionConfig {
            ssrc: Some(Ssrc(0xDEAD_BEEF)),
            ..SessionConfig::default()
        },
        origin(),
    );
    let now = origin();
    {
        let mut a = [0u8; 1500];
        let mut b = [0u8; 1500];
        let mut probe = RtpSession::new(session.config().clone(), now);
        for i in 0..3u64 {
            let media = MediaTime::new(i * 160, 8000);
            let n = probe
                .send_packet_into(now, 0, media, false, payload, &mut a)
                .expect("fits");
            let sent = RtpPacket::new_checked(&a[..n]).expect("valid");
            theirs.header.sequence_number = sent.sequence_number();
            theirs.header.timestamp = sent.timestamp();
            let m = theirs.marshal_to(&mut b[..]).expect("fits");
            assert_eq!(
                a[..n],
                b[..m],
                "session and webrtc-rs build different packets"
            );
            let n = stream
                .write_packet(
                    false,
                    sent.sequence_number(),
                    sent.timestamp(),
                    payload,
                    &mut a,
                )
                .expect("fits");
            assert_eq!(a[..n], b[..m], "stream header and webrtc-rs differ");
        }
    }
    let mut g = c.benchmark_group("rtp_build");
    g.throughput(Throughput::Elements(1));
    // The session's send path (`send_packet_into`): pre-encoded header, payload copied in, and
    // the SR counts, sequence number and last-sent time updated.
    g.bench_function("telox session send", |b| {
        b.iter_custom(|iters| {
            let s = &mut session;
            packets(iters, |seq| {
                let media = MediaTime::new(u64::from(seq) * 160, 8000);
                s.send_packet_into(
                    now,
                    0,
                    media,
                    false,
                    black_box(payload),
                    black_box(&mut *out),
                )
                .expect("fits")
            })
        })
    });
    // The same without the copy: the payload is already in place after a 12-byte reserve (as
    // an encoder writing into the packet buffer leaves it); only the header is written.
    g.bench_function("telox session send in place", |b| {
        out[12..172].copy_from_slice(payload);
        b.iter_custom(|iters| {
            let s = &mut session;
            packets(iters, |seq| {
                let media = MediaTime::new(u64::from(seq) * 160, 8000);
                s.send_packet_in_place(now, 0, media, false, &mut black_box(&mut *out)[..172])
                    .expect("fits")
            })
        })
    });
    // The rows compared are run next to each other: this VM's speed moves by up to 1.6x over
    // minutes (benches/README.md, "Idle re-run (lead, end of session 5)"), and rows further
    // apart in the run inherit more of that drift in their ratio.
    stream_row(&mut g, "telox stream header", stream, payload, out);
    webrtc_row(&mut g, "webrtc-rs", &theirs, out);
    // Not a builder: the 160-byte payload copy alone, into the same place (`copy_from_slice`,
    // that is the C library's `memcpy`, as webrtc-rs copies its payload). telox writes short
    // payloads with inline 16-byte moves instead (`StreamHeader::write_packet`).
    g.bench_function("payload copy alone", |b| {
        b.iter_custom(|iters| {
            packets(iters, |_| {
                black_box(&mut *out)[12..172].copy_from_slice(black_box(payload));
                172
            })
        })
    });
    g.bench_function("telox stream header only", |b| {
        b.iter_custom(|iters| {
            let h = black_box(stream);
            packets(iters, |seq| {
                h.write_to(false, seq, u32::from(seq) * 160, black_box(&mut *out))
                    .expect("fits")
            })
        })
    });
    // The payload goes through `black_box` once per batch on both sides, as webrtc-rs's
    // `Packet` holding it does: its address and length are unknown to the compiler, the same
    // for every packet of the batch (as a sender's frame size is). Until session 13 telox's
    // rows passed the slice through `black_box` on every packet, two stores and two loads
    // webrtc-rs's side did not have (benches/README.md, "rtp, session 13").
    // Both sides run the same loop: packet i gets sequence number i and timestamp 160 i, stored
    // into the header just before it is written (as a sender does). The counter lives in a
    // register: with criterion's `iter` it would live in the closure's captured state, and its
    // load-increment-store chain (about 5 cycles of store forwarding, more when the compiler
    // widens the load of a u16 it just stored) would be timed as part of either builder.
    g.bench_function("telox", |b| {
        b.iter_custom(|iters| {
            let mut h = black_box(ours.clone());
            let payload = black_box(payload);
            packets(iters, |seq| {
                header_packet(&mut h, seq, payload, black_box(&mut *out))
            })
        })
    });
    g.bench_function("telox header only", |b| {
        b.iter_custom(|iters| {
            let mut h = black_box(ours.clone());
            packets(iters, |seq| {
                h.sequence_number = seq;
                h.timestamp = u32::from(seq) * 160;
                h.write_to(black_box(&mut *out)).expect("fits")
            })
        })
    });
    g.bench_function("webrtc-rs header only", |b| {
        b.iter_custom(|iters| {
            let mut h = black_box(theirs.header.clone());
            packets(iters, |seq| {
                h.sequence_number = seq;
                h.timestamp = u32::from(seq) * 160;
                h.marshal_to(black_box(&mut *out)).expect("fits")
            })
        })
    });
    // The same two builders into a packet buffer that starts 4 bytes past a 16-byte boundary:
    // telox's 16-byte rows are then all unaligned, while the payload at `packet[12..]` is
    // 16-byte aligned for webrtc-rs's `memcpy`.
    let out4 = &mut out_page.0[4..1504];
    stream_row(
        &mut g,
        "telox stream header, packet at +4",
        stream,
        payload,
        out4,
    );
    webrtc_row(&mut g, "webrtc-rs, packet at +4", &theirs, out4);
    g.finish();
    // The same comparisons as interleaved blocks, whose ratios drift does not reach.
    let h = black_box(stream);
    let payload_once = black_box(payload);
    paired(
        "telox stream header",
        |seq, out| stream_packet(h, seq, payload_once, out),
        &theirs,
        &mut out_page.0[..1500],
    );
    // The stream header row as it was up to session 13: the payload slice also through
    // `black_box` on every packet (2 stores and 2 loads webrtc-rs's side does not have).
    paired(
        "telox stream header, payload through black_box per packet",
        |seq, out| stream_packet(h, seq, black_box(payload), out),
        &theirs,
        &mut out_page.0[..1500],
    );
    let mut h = black_box(ours.clone());
    paired(
        "telox RtpHeader",
        move |seq, out| header_packet(&mut h, seq, payload_once, out),
        &theirs,
        &mut out_page.0[..1500],
    );
}

/// Prints telox's and webrtc-rs's time per packet and their ratio measured in alternating
/// blocks of [`BLOCK`] packets ([`PAIRS`] pairs, each pair in the other order from the last),
/// with the same packet loop, payload and buffer as the criterion rows.
///
/// Criterion runs one row after another, seconds apart; on this VM the speed of the machine
/// moved 1.3-1.6x within minutes on an idle run, so two rows' medians can differ by that much
/// for reasons neither side has. Here both sides see the same moments: the median of the
/// per-pair ratios is the figure to compare with the 3x, and p10-p90 is its spread.
fn paired(
    name: &str,
    mut ours: impl FnMut(u16, &mut [u8]) -> usize,
    theirs: &webrtc_rtp::packet::Packet,
    out: &mut [u8],
) {
    let mut p = black_box(theirs.clone());
    let mut per_packet = |side: usize, out: &mut [u8]| {
        let d = if side == 0 {
            packets(BLOCK, |seq| ours(seq, black_box(&mut *out)))
        } else {
            packets(BLOCK, |seq| webrtc_packet(&mut p, seq, &mut *out))
        };
        d.as_nanos() as f64 / BLOCK as f64
    };
    let (mut telox, mut webrtc, mut ratio) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..PAIRS {
        let mut t = [0.0; 2];
        for side in [i % 2, 1 - i % 2] {
            t[side] = per_packet(side, out);
        }
        telox.push(t[0]);
        webrtc.push(t[1]);
        ratio.push(t[1] / t[0]);
    }
    let q = |v: &mut Vec<f64>, at: usize| {
        v.sort_by(f64::total_cmp);
        v[at * (v.len() - 1) / 100]
    };
    println!(
        "rtp_build paired, {name} vs webrtc-rs, {PAIRS} pairs of {BLOCK}-packet blocks: \
         {:.2} / {:.2} ns per packet (medians), ratio median {:.2}x, p10 {:.2}x, p90 {:.2}x",
        q(&mut telox, 50),
        q(&mut webrtc, 50),
        q(&mut ratio, 50),
        q(&mut ratio, 10),
        q(&mut ratio, 90),
    );
}

/// Packets per block of [`paired`].
const BLOCK: u64 = 20_000;
/// Block pairs of [`paired`].
const PAIRS: usize = 301;

/// The row `name`: `stream` writes packet `seq` (timestamp 160 `seq`) with `payload` into
/// `out`.
fn stream_row(
    g: &mut BenchmarkGroup<'_, ThreadCpu>,
    name: &str,
    stream: StreamHeader,
    payload: &[u8],
    out: &mut [u8],
) {
    g.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let h = black_box(stream);
            let payload = black_box(payload);
            packets(iters, |seq| {
                stream_packet(h, seq, payload, black_box(&mut *out))
            })
        })
    });
}

/// The row `name`: webrtc-rs marshals `theirs` with sequence number `seq` and timestamp
/// 160 `seq` into `out`.
fn webrtc_row(
    g: &mut BenchmarkGroup<'_, ThreadCpu>,
    name: &str,
    theirs: &webrtc_rtp::packet::Packet,
    out: &mut [u8],
) {
    g.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let mut p = black_box(theirs.clone());
            packets(iters, |seq| webrtc_packet(&mut p, seq, &mut *out))
        })
    });
}

/// The packets every build row and [`paired`] time: packet `seq` has sequence number `seq`
/// and timestamp 160 `seq`, written with `payload` into `out`. Telox's stream header:
#[inline(always)]
fn stream_packet(h: StreamHeader, seq: u16, payload: &[u8], out: &mut [u8]) -> usize {
    h.write_packet(false, seq, u32::from(seq) * 160, payload, out)
        .expect("fits")
}

/// [`stream_packet`] with telox's general builder: the fields are stored into `h` just
/// before it is written, as a sender does.
#[inline(always)]
fn header_packet(h: &mut RtpHeader, seq: u16, payload: &[u8], out: &mut [u8]) -> usize {
    h.sequence_number = seq;
    h.timestamp = u32::from(seq) * 160;
    h.write_packet(payload, out).expect("fits")
}

/// [`stream_packet`] with webrtc-rs (`p` holds the payload; `out` goes through `black_box`
/// here, after the stores, as both callers had it).
#[inline(always)]
fn webrtc_packet(p: &mut webrtc_rtp::packet::Packet, seq: u16, out: &mut [u8]) -> usize {
    p.header.sequence_number = seq;
    p.header.timestamp = u32::from(seq) * 160;
    p.marshal_to(black_box(out)).expect("fits")
}

#[expect(
    clippy::disallowed_methods,
    reason = "a bench needs an origin instant; the session only stores it"
)]
fn origin() -> Instant {
    Instant::now()
}

/// Thread CPU time of building packets `0..iters` (sequence numbers wrap) with `build`.
fn packets(iters: u64, mut build: impl FnMut(u16) -> usize) -> Duration {
    let start = ThreadCpu.start();
    for i in 0..iters {
        black_box(build(i as u16));
    }
    ThreadCpu.end(start)
}

/// Every field of the SR+SDES compound folded into one number, telox: one pass of the
/// validating iterator (§6.1 rules, CNAME presence) over zero-copy views.
fn telox_rtcp_sum(raw: &[u8]) -> u64 {
    let mut sum = 0u64;
    for p in rtcp::iter_compound(raw, Validation::Compound) {
        match p.expect("valid") {
            RtcpPacket::SenderReport(sr) => {
                sum += u64::from(sr.ssrc().0)
                    + sr.ntp().0
                    + u64::from(sr.rtp_timestamp())
                    + u64::from(sr.packet_count())
                    + u64::from(sr.octet_count());
                for rb in sr.reports().iter() {
                    sum += u64::from(rb.ssrc.0)
                        + u64::from(rb.fraction_lost)
                        + u64::from(rb.cumulative_lost as u32 & 0x00FF_FFFF)
                        + u64::from(rb.extended_highest_seq)
                        + u64::from(rb.jitter)
                        + u64::from(rb.lsr)
                        + u64::from(rb.dlsr);
                }
            }
            RtcpPacket::SourceDescription(s) => {
                for c in s.chunks().iter() {
                    sum += u64::from(c.ssrc.0) + c.cname().map_or(0, |n| n.len() as u64);
                }
            }
            _ => {}
        }
    }
    sum
}

/// The same sum, webrtc-rs: `CompoundPacket::unmarshal` (decode every packet, then its §6.1
/// check: first packet SR/RR, CNAME present), fields read through `as_any` downcasts.
fn webrtc_rtcp_sum(raw: &Bytes) -> u64 {
    use webrtc_rtcp::compound_packet::CompoundPacket;
    use webrtc_rtcp::sender_report::SenderReport as Sr;
    use webrtc_rtcp::source_description::{SdesType, SourceDescription as Sdes};
    let c = CompoundPacket::unmarshal(&mut raw.clone()).expect("valid");
    let mut sum = 0u64;
    for p in &c.0 {
        if let Some(sr) = p.as_any().downcast_ref::<Sr>() {
            sum += u64::from(sr.ssrc)
                + sr.ntp_time
                + u64::from(sr.rtp_time)
                + u64::from(sr.packet_count)
                + u64::from(sr.octet_count);
            for rb in &sr.reports {
                sum += u64::from(rb.ssrc)
                    + u64::from(rb.fraction_lost)
                    + u64::from(rb.total_lost)
                    + u64::from(rb.last_sequence_number)
                    + u64::from(rb.jitter)
                    + u64::from(rb.last_sender_report)
                    + u64::from(rb.delay);
            }
        } else if let Some(s) = p.as_any().downcast_ref::<Sdes>() {
            for c in &s.chunks {
                let cname = c.items.iter().find(|i| i.sdes_type == SdesType::SdesCname);
                sum += u64::from(c.source) + cname.map_or(0, |i| i.text.len() as u64);
            }
        }
    }
    sum
}

fn rtcp_parse<M: Measurement>(c: &mut Criterion<M>) {
    let raw = sr_sdes_bytes();
    let bytes = Bytes::from(raw.clone());
    // Same fields read on both sides, checked once outside the timed loop.
    assert_eq!(telox_rtcp_sum(&raw), webrtc_rtcp_sum(&bytes));
    let mut g = c.benchmark_group("rtcp_sr_sdes_parse");
    g.throughput(Throughput::Elements(1));
    g.bench_function("telox", |b| b.iter(|| telox_rtcp_sum(black_box(&raw))));
    g.bench_function("webrtc-rs", |b| {
        b.iter(|| webrtc_rtcp_sum(black_box(&bytes)))
    });
    g.finish();
}

fn receive_stats<M: Measurement>(c: &mut Criterion<M>) {
    let mut g = c.benchmark_group("rtp_receive_stats_update");
    g.throughput(Throughput::Elements(1));
    let mut s = SourceStats::new(Ssrc(1), 0, 8000, 0);
    let mut seq = 0u16;
    let mut arrival = Duration::ZERO;
    g.bench_function("telox", |b| {
        b.iter(|| {
            seq = seq.wrapping_add(1);
            arrival += Duration::from_micros(20_003);
            black_box(s.update(black_box(seq), u32::from(seq).wrapping_mul(160), arrival))
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(ThreadCpu);
    targets = rtp_parse, rtp_build, rtcp_parse, receive_stats
}
criterion_main!(benches);
