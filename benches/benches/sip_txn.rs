//! Full SIP transactions per second, client and server `Transactions` in one process (no
//! sockets): build the request, send, parse at the server, answer, parse the response at the
//! client, and run the wait timers out. Also reports the memory held per live transaction.

#![expect(
    missing_docs,
    reason = "criterion_group! generates an undocumented function"
)]
#![expect(
    clippy::expect_used,
    reason = "a bench aborts on bad setup: the inputs are fixed"
)]

use std::alloc::System;
use std::hint::black_box;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sip_core::header::{From, To};
use sip_core::transaction::{Target, TransactionConfig, TransactionEvent, Transactions, Transport};
use sip_core::{Method, Request, Response, StatusCode, Uri};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use telox_benches::ThreadCpu;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const BATCH: u64 = 1000;

struct Pair {
    a: Transactions,
    b: Transactions,
    to_b: Target,
    to_a: Target,
    uri: Uri,
    from: From,
    to: To,
    n: u64,
    now: Instant,
    /// Text buffers of the branch and Call-ID, reused (a TU writes its random ids somewhere;
    /// allocating two strings per request measured the bench, not the stack).
    branch: String,
    call_id: String,
}

/// Appends `n` in lower-case hex, at least `width` digits (what `{:0width$x}` writes,
/// without the `fmt` machinery, which cost ~1,000 instructions per request: a TU writes
/// its random ids with a plain hex encoder).
fn push_hex(out: &mut String, n: u64, width: usize) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let digits = (16 - n.leading_zeros() as usize / 4).max(width).max(1);
    for i in (0..digits).rev() {
        let nibble = if i < 16 { (n >> (4 * i)) & 0xf } else { 0 };
        out.push(char::from(DIGITS[nibble as usize]));
    }
}

impl Pair {
    fn new(transport: Transport) -> Self {
        let a_addr: SocketAddr = "127.0.0.1:5061".parse().expect("addr");
        let b_addr: SocketAddr = "127.0.0.1:5062".parse().expect("addr");
        Self {
            a: Transactions::new(TransactionConfig::default()),
            b: Transactions::new(TransactionConfig::default()),
            to_b: Target {
                transport,
                addr: b_addr,
            },
            to_a: Target {
                transport,
                addr: a_addr,
            },
            uri: "sip:bob@127.0.0.1:5062".parse().expect("uri"),
            from: From::new("sip:alice@127.0.0.1".parse().expect("uri")).with_tag("a1b2c3"),
            to: To::new("sip:bob@127.0.0.1".parse().expect("uri")),
            n: 0,
            now: clock(),
            branch: String::with_capacity(32),
            call_id: String::with_capacity(32),
        }
    }

    fn request(&mut self, method: Method) -> Request {
        self.n += 1;
        self.branch.clear();
        self.call_id.clear();
        self.branch.push_str("z9hG4bK");
        push_hex(&mut self.branch, self.n, 16);
        push_hex(&mut self.call_id, self.n, 1);
        self.call_id.push_str("@bench");
        let transport = if self.to_b.transport == Transport::Udp {
            "UDP"
        } else {
            "TCP"
        };
        // In place (no builder moved per header); Via, Call-ID, CSeq and Max-Forwards are
        // written from their text and numbers, From and To from the TU's values without
        // cloning them.
        let mut b = Request::builder(method.clone(), self.uri.clone());
        b.push_via(transport, "127.0.0.1", Some(5061), &self.branch)
            .expect("via")
            .push_max_forwards(70)
            .push_header_ref(&self.from)
            .push_header_ref(&self.to)
            .push_call_id(&self.call_id)
            .expect("call-id")
            .push_cseq(1, &method);
        b.build()
    }

    /// One complete transaction: request, parse, 200, parse, both ends to Terminated on a
    /// reliable transport (timers K and J are zero) or after the wait timers on UDP.
    fn transaction(&mut self, method: Method) {
        let req = self.request(method);
        self.a.send_request(self.now, req, self.to_b).expect("send");
        while let Some(t) = self.a.poll_transmit() {
            self.b.handle_datagram(self.now, self.to_a, t.payload);
        }
        while let Some(e) = self.b.poll_event() {
            if let TransactionEvent::Request { key, request, .. } = e {
                let resp = Response::builder(&request, StatusCode::OK)
                    .to_tag("b1")
                    .build();
                self.b.send_response(self.now, &key, resp).expect("respond");
            }
        }
        while let Some(t) = self.b.poll_transmit() {
            self.a.handle_datagram(self.now, self.to_b, t.payload);
        }
        while let Some(e) = self.a.poll_event() {
            black_box(e);
        }
    }

    /// Runs every wait timer out (virtual time jumps past 64*T1).
    fn settle(&mut self) {
        self.now += Duration::from_secs(40);
        self.a.handle_timeout(self.now);
        self.b.handle_timeout(self.now);
        while self.a.poll_event().is_some() {}
        while self.b.poll_event().is_some() {}
        assert!(self.a.is_empty() && self.b.is_empty());
    }
}

fn bench_transactions(c: &mut Criterion<ThreadCpu>) {
    let mut g = c.benchmark_group("sip_txn");
    g.throughput(Throughput::Elements(BATCH));
    for (name, method, transport) in [
        ("non_invite_udp", Method::Options, Transport::Udp),
        ("non_invite_tcp", Method::Options, Transport::Tcp),
        ("invite_udp", Method::Invite, Transport::Udp),
    ] {
        let mut pair = Pair::new(transport);
        g.bench_function(name, |b| {
            b.iter(|| {
                for _ in 0..BATCH {
                    pair.transaction(method.clone());
                }
                pair.settle();
            });
        });
    }
    g.finish();
    cpu_time_per_transaction();
    memory_per_transaction();
}

/// The stages of one batch of transactions, each timed on its own (thread CPU time) so the
/// report can say where the time goes. The work is the same as [`Pair::transaction`], done
/// stage by stage over a batch.
const STAGES: [&str; 7] = [
    "client TU builds the request (builder)",
    "client send_request",
    "server handle_datagram (parse + match + new transaction)",
    "server TU builds the 200 (Response::builder)",
    "server send_response",
    "client handle_datagram (parse + match) + events",
    "wait timers fire (handle_timeout), transactions removed",
];

/// CPU time and allocator calls (allocations + reallocations) of each stage.
#[derive(Default)]
struct StageCost {
    cpu: [Duration; 7],
    allocs: [usize; 7],
}

fn staged_batch(pair: &mut Pair, method: &Method, cost: &mut StageCost) {
    let mut lap = {
        let mut start = cpu_time::ThreadTime::now();
        let mut stats = GLOBAL.stats();
        move |stage: usize, cost: &mut StageCost| {
            let now = cpu_time::ThreadTime::now();
            let now_stats = GLOBAL.stats();
            if let (Some(c), Some(a)) = (cost.cpu.get_mut(stage), cost.allocs.get_mut(stage)) {
                *c += now.duration_since(start);
                *a += (now_stats.allocations + now_stats.reallocations)
                    - (stats.allocations + stats.reallocations);
            }
            start = now;
            stats = now_stats;
        }
    };
    let requests: Vec<Request> = (0..BATCH).map(|_| pair.request(method.clone())).collect();
    lap(0, cost);
    let mut wire = Vec::with_capacity(BATCH as usize);
    for req in requests {
        pair.a.send_request(pair.now, req, pair.to_b).expect("send");
        while let Some(t) = pair.a.poll_transmit() {
            wire.push(t.payload);
        }
    }
    lap(1, cost);
    let mut events = Vec::with_capacity(BATCH as usize);
    for bytes in wire.drain(..) {
        pair.b.handle_datagram(pair.now, pair.to_a, bytes);
        while let Some(e) = pair.b.poll_event() {
            events.push(e);
        }
    }
    lap(2, cost);
    // Sized up front: a `filter_map` collect grew the vector ten times per batch, copying
    // up to 1000 (key, response) pairs each time: ~436 instructions per transaction that
    // were the bench's, not the stack's (benches/README.md, "siptxn, session 6").
    let mut responses = Vec::with_capacity(BATCH as usize);
    for e in events.drain(..) {
        if let TransactionEvent::Request { key, request, .. } = e {
            let resp = Response::builder(&request, StatusCode::OK)
                .to_tag("b1")
                .build();
            responses.push((key, resp));
        }
    }
    lap(3, cost);
    for (key, resp) in responses {
        pair.b.send_response(pair.now, &key, resp).expect("respond");
        while let Some(t) = pair.b.poll_transmit() {
            wire.push(t.payload);
        }
    }
    lap(4, cost);
    for bytes in wire.drain(..) {
        pair.a.handle_datagram(pair.now, pair.to_b, bytes);
        while let Some(e) = pair.a.poll_event() {
            black_box(e);
        }
    }
    lap(5, cost);
    pair.settle();
    lap(6, cost);
}

/// Transactions per second of on-CPU time of this thread (the bench machine is shared, so
/// wall time includes time spent descheduled), with the time of each stage.
fn cpu_time_per_transaction() {
    const BATCHES: u64 = 50;
    let n = (BATCHES * BATCH) as f64;
    for (name, method, transport) in [
        ("non_invite_udp", Method::Options, Transport::Udp),
        ("non_invite_tcp", Method::Options, Transport::Tcp),
        ("invite_udp", Method::Invite, Transport::Udp),
    ] {
        let mut pair = Pair::new(transport);
        staged_batch(&mut pair, &method, &mut StageCost::default());
        let mut cost = StageCost::default();
        for _ in 0..BATCHES {
            staged_batch(&mut pair, &method, &mut cost);
        }
        let total: Duration = cost.cpu.iter().sum();
        eprintln!(
            "sip_txn cpu: {name}: {:.0} ns CPU per transaction = {:.0} transactions/s per core",
            total.as_nanos() as f64 / n,
            n / total.as_secs_f64()
        );
        for ((stage, t), a) in STAGES.iter().zip(cost.cpu).zip(cost.allocs) {
            eprintln!(
                "  {:>6.0} ns {:>5.1} allocs  {stage}",
                t.as_nanos() as f64 / n,
                a as f64 / n
            );
        }
    }
    // The message-layer share: the same build/parse/build/parse without any transaction.
    let mut pair = Pair::new(Transport::Udp);
    let start = cpu_time::ThreadTime::now();
    for _ in 0..BATCHES * BATCH {
        let req = pair.request(Method::Options);
        let parsed = Request::parse(req.to_bytes()).expect("parse");
        let resp = Response::builder(&parsed, StatusCode::OK)
            .to_tag("b1")
            .build();
        black_box(Response::parse(resp.to_bytes()).expect("parse"));
    }
    let cpu = start.elapsed();
    eprintln!(
        "sip_txn cpu: message layer only (build, parse, build, parse): {:.0} ns per exchange",
        cpu.as_nanos() as f64 / n
    );
}

/// Bytes held per live transaction, N live at once, by state: INVITE server (Proceeding,
/// the received datagram kept), non-INVITE server in Trying and in Completed (its 200 kept
/// for retransmitted requests), non-INVITE client in Trying (the request bytes kept for
/// retransmission) and in Completed (waiting for Timer K). Everything a transaction holds
/// is allocated inside the counted region (each datagram is a fresh copy, each request and
/// response is built there), queues are drained after every message so they do not grow,
/// and nothing allocated before the region is freed inside it.
fn memory_per_transaction() {
    const N: u64 = 10_000;
    let n = N as i64;
    let held = |region: &Region<'_, System>| {
        let change = region.change();
        (change.bytes_allocated as i64 - change.bytes_deallocated as i64) / n
    };
    // Servers: `answer` says whether each request gets its 200 inside the region.
    let mut servers = Vec::new();
    for (method, answer) in [
        (Method::Invite, false),
        (Method::Options, false),
        (Method::Options, true),
    ] {
        let mut pair = Pair::new(Transport::Udp);
        let requests: Vec<Request> = (0..N).map(|_| pair.request(method.clone())).collect();
        let region = Region::new(GLOBAL);
        for r in &requests {
            let datagram = bytes::Bytes::copy_from_slice(&r.to_bytes());
            pair.b.handle_datagram(pair.now, pair.to_a, datagram);
            while let Some(e) = pair.b.poll_event() {
                if let (true, TransactionEvent::Request { key, request, .. }) = (answer, e) {
                    let resp = Response::builder(&request, StatusCode::OK)
                        .to_tag("b1")
                        .build();
                    drop(request);
                    pair.b.send_response(pair.now, &key, resp).expect("respond");
                    while pair.b.poll_transmit().is_some() {}
                }
            }
        }
        servers.push(held(&region));
        assert_eq!(pair.b.len(), N as usize);
    }
    // Clients: `answer` says whether each request gets a 200 (a fresh datagram) inside it.
    let mut clients = Vec::new();
    for answer in [false, true] {
        let mut pair = Pair::new(Transport::Udp);
        let region = Region::new(GLOBAL);
        for _ in 0..N {
            let opts = pair.request(Method::Options);
            pair.a
                .send_request(pair.now, opts, pair.to_b)
                .expect("send");
            while let Some(t) = pair.a.poll_transmit() {
                if answer {
                    let request = Request::parse(t.payload).expect("parse");
                    let resp = Response::builder(&request, StatusCode::OK)
                        .to_tag("b1")
                        .build();
                    drop(request);
                    let datagram = bytes::Bytes::copy_from_slice(&resp.to_bytes());
                    drop(resp);
                    pair.a.handle_datagram(pair.now, pair.to_b, datagram);
                    while let Some(e) = pair.a.poll_event() {
                        black_box(e);
                    }
                }
            }
        }
        clients.push(held(&region));
        assert_eq!(pair.a.len(), N as usize);
    }
    if let ([invite_server, server_trying, server_completed], [client_trying, client_completed]) =
        (&servers[..], &clients[..])
    {
        eprintln!(
            "sip_txn memory: {invite_server} B per live INVITE server transaction in \
             Proceeding (incl. the received datagram); non-INVITE server {server_trying} B in \
             Trying, {server_completed} B in Completed (incl. its 200); non-INVITE client \
             {client_trying} B in Trying (incl. the request bytes), {client_completed} B in \
             Completed"
        );
    }
}

#[expect(clippy::disallowed_methods, reason = "a bench needs an origin instant")]
fn clock() -> Instant {
    Instant::now()
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(ThreadCpu);
    targets = bench_transactions
}
criterion_main!(benches);
