//! SIP message layer: telox sip-core side by side with rsip 0.4 and ezk-sip-types 0.6 on the
//! same bytes (sip-core/tests/data/sip: an INVITE with SDP, its 200 OK, a REGISTER with
//! Authorization).
//!
//! Workloads per message:
//! - `parse_index`: bytes -> message with its header section indexed (what each crate does
//!   before a header is looked at; rsip and ezk type the start line and split headers).
//! - `parse_typed`: parse + typed Via, From, To, CSeq, Call-ID, Contact.
//! - `serialize`: a parsed message back to wire bytes (telox: `to_builder().build()`, which
//!   re-emits every header; rsip: `to_string`; ezk: print line + headers + body).
//! - `build` (telox only): what a transaction user does per transaction: a request from typed
//!   headers (Via with a fresh branch, Max-Forwards, From, To, Call-ID, CSeq), and the 200
//!   to a parsed request with a To tag (`Response::builder`, RFC 3261 §8.2.6).
//!
//! Run: `cargo bench -p telox-benches --bench sip -- --warm-up-time 1 --measurement-time 3`

#![expect(
    missing_docs,
    reason = "criterion_group! generates an undocumented function"
)]
#![expect(
    clippy::unwrap_used,
    reason = "a bench aborts on bad input: the inputs are fixed"
)]

use std::fmt::Write as _;
use std::hint::black_box;

use bytes::Bytes;

use criterion::measurement::Measurement;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sip_core::header::{CSeq, CallId, Contact, From, MaxForwards, To, Via};
use sip_core::{Message, Method, Request, Response, StatusCode, Uri};
use telox_benches::ThreadCpu;

const INVITE: &[u8] = include_bytes!("../../sip-core/tests/data/sip/invite.sip");
const OK: &[u8] = include_bytes!("../../sip-core/tests/data/sip/ok.sip");
const REGISTER: &[u8] = include_bytes!("../../sip-core/tests/data/sip/register.sip");

const MESSAGES: [(&str, &[u8]); 3] = [("invite", INVITE), ("ok", OK), ("register", REGISTER)];

// ---------------------------------------------------------------- telox

fn telox_parse(wire: &Bytes) -> Message {
    Message::parse(wire.clone()).unwrap()
}

fn telox_typed(wire: &Bytes) -> usize {
    let m = Message::parse(wire.clone()).unwrap();
    let h = m.headers();
    let via = h.get::<Via>().unwrap().unwrap();
    let from = h.get::<From>().unwrap().unwrap();
    let to = h.get::<To>().unwrap().unwrap();
    let cseq = h.get::<CSeq>().unwrap().unwrap();
    let call_id = h.get::<CallId>().unwrap().unwrap();
    let contact = h.get::<Contact>().unwrap().unwrap();
    via.branch().map_or(0, str::len)
        + from.tag().map_or(0, str::len)
        + to.uri().host().len()
        + cseq.seq() as usize
        + call_id.as_str().len()
        + contact.uri().map_or(0, |u| u.host().len())
}

fn telox_serialize(m: &Message) -> Bytes {
    match m {
        Message::Request(r) => r.to_builder().build().to_bytes(),
        Message::Response(r) => r.to_builder().build().to_bytes(),
    }
}

/// Typed parts of a request that stay the same between transactions.
struct Template {
    uri: Uri,
    from: From,
    to: To,
}

impl Template {
    fn new() -> Self {
        Self {
            uri: "sip:bob@127.0.0.1:5062".parse().unwrap(),
            from: From::new("sip:alice@127.0.0.1".parse().unwrap()).with_tag("a1b2c3"),
            to: To::new("sip:bob@127.0.0.1".parse().unwrap()),
        }
    }

    /// A request as a transaction user builds it: the branch and Call-ID are new each time.
    fn request(&self, n: u64) -> Request {
        let mut branch = String::with_capacity(32);
        let _ = write!(branch, "z9hG4bK{n:016x}");
        let mut call_id = String::with_capacity(32);
        let _ = write!(call_id, "{n:x}@bench");
        Request::builder(Method::Options, self.uri.clone())
            .header(Via::new("UDP", "127.0.0.1", Some(5061), &branch).unwrap())
            .header(MaxForwards(70))
            .header(self.from.clone())
            .header(self.to.clone())
            .header(CallId::new(&call_id).unwrap())
            .header(CSeq::new(1, Method::Options))
            .build()
    }

    /// The same request built in place: Via and Call-ID written from their text, From and
    /// To from the template without cloning them (`push_via`, `push_call_id`,
    /// `push_header_ref`); the bytes are the same.
    fn request_in_place(&self, n: u64) -> Request {
        let mut branch = String::with_capacity(32);
        let _ = write!(branch, "z9hG4bK{n:016x}");
        let mut call_id = String::with_capacity(32);
        let _ = write!(call_id, "{n:x}@bench");
        let mut b = Request::builder(Method::Options, self.uri.clone());
        b.push_via("UDP", "127.0.0.1", Some(5061), &branch)
            .unwrap()
            .push_header(MaxForwards(70))
            .push_header_ref(&self.from)
            .push_header_ref(&self.to)
            .push_call_id(&call_id)
            .unwrap()
            .push_header(CSeq::new(1, Method::Options));
        b.build()
    }
}

fn telox_response(request: &Request) -> Response {
    Response::builder(request, StatusCode::OK)
        .to_tag("b1")
        .build()
}

// ---------------------------------------------------------------- rsip

fn rsip_parse(wire: &Bytes) -> rsip::SipMessage {
    rsip::SipMessage::try_from(wire.as_ref()).unwrap()
}

fn rsip_typed(wire: &Bytes) -> usize {
    use rsip::prelude::*;
    let m = rsip::SipMessage::try_from(wire.as_ref()).unwrap();
    let via = m.via_header().unwrap().typed().unwrap();
    let from = m.from_header().unwrap().typed().unwrap();
    let to = m.to_header().unwrap().typed().unwrap();
    let cseq = m.cseq_header().unwrap().typed().unwrap();
    let call_id = m.call_id_header().unwrap().value().len();
    let contact = m.contact_header().unwrap().typed().unwrap();
    via.branch().map_or(0, |b| b.to_string().len())
        + from.tag().map_or(0, |t| t.to_string().len())
        + to.uri.host_with_port.to_string().len()
        + cseq.seq as usize
        + call_id
        + contact.uri.host_with_port.to_string().len()
}

fn rsip_serialize(m: &rsip::SipMessage) -> String {
    m.to_string()
}

// ---------------------------------------------------------------- ezk-sip-types

struct EzkMessage {
    line: ezk_sip_types::msg::MessageLine,
    headers: ezk_sip_types::Headers,
    body: Bytes,
}

/// Parses a datagram the way ezk-sip-core's transport layer does: PullParser for the lines,
/// MessageLine for the first, Line + Headers::insert for the rest.
fn ezk_parse(wire: &Bytes) -> EzkMessage {
    use ezk_sip_types::msg::{Line, MessageLine, PullParser};
    use ezk_sip_types::parse::Parse;
    let mut parser = PullParser::new(wire, 0);
    let first = parser.next().unwrap().unwrap();
    let (_, line) = MessageLine::parse(wire)(std::str::from_utf8(first).unwrap()).unwrap();
    let mut headers = ezk_sip_types::Headers::with_capacity(16);
    for l in &mut parser {
        let l = l.unwrap();
        let (_, line) = Line::parse(wire, std::str::from_utf8(l).unwrap()).unwrap();
        headers.insert(line.name, line.value);
    }
    let body = wire.slice(parser.head_end()..);
    EzkMessage {
        line,
        headers,
        body,
    }
}

fn ezk_typed(wire: &Bytes) -> usize {
    use ezk_sip_types::Name;
    use ezk_sip_types::header::typed::{CSeq, CallID, Contact, FromTo, Via};
    let m = ezk_parse(wire);
    let via = m.headers.get_named::<Via>().unwrap();
    let from = m.headers.get::<FromTo>(Name::FROM).unwrap();
    let to = m.headers.get::<FromTo>(Name::TO).unwrap();
    let cseq = m.headers.get_named::<CSeq>().unwrap();
    let call_id = m.headers.get_named::<CallID>().unwrap();
    let contact = m.headers.get_named::<Contact>().unwrap();
    via.params.get_val("branch").map_or(0, |b| b.len())
        + from.tag.map_or(0, |t| t.len())
        + usize::from(to.uri.uri.host_port.port.is_some())
        + cseq.cseq as usize
        + call_id.0.len()
        + usize::from(contact.uri.uri.host_port.port.is_some())
}

fn ezk_serialize(m: &EzkMessage) -> String {
    use ezk_sip_types::print::AppendCtx;
    let mut out = String::with_capacity(1024);
    let _ = write!(out, "{}\r\n", m.line.default_print_ctx());
    for (name, value) in m.headers.iter() {
        let _ = write!(out, "{}: {value}\r\n", name.as_print_str());
    }
    out.push_str("\r\n");
    out.push_str(std::str::from_utf8(&m.body).unwrap_or_default());
    out
}

// ---------------------------------------------------------------- CPU-time measurement

// ---------------------------------------------------------------- groups

fn bench(c: &mut Criterion) {
    workloads(c, "sip");
}

fn bench_cpu(c: &mut Criterion<ThreadCpu>) {
    workloads(c, "cpu");
}

fn workloads<M: Measurement>(c: &mut Criterion<M>, prefix: &str) {
    for (name, wire) in MESSAGES {
        let wire = Bytes::from_static(wire);

        let mut g = c.benchmark_group(format!("{prefix}/parse_index/{name}"));
        g.throughput(Throughput::Bytes(wire.len() as u64));
        g.bench_function("telox", |b| b.iter(|| telox_parse(black_box(&wire))));
        g.bench_function("rsip", |b| b.iter(|| rsip_parse(black_box(&wire))));
        g.bench_function("ezk-sip-types", |b| b.iter(|| ezk_parse(black_box(&wire))));
        g.finish();

        let mut g = c.benchmark_group(format!("{prefix}/parse_typed/{name}"));
        g.throughput(Throughput::Bytes(wire.len() as u64));
        g.bench_function("telox", |b| b.iter(|| telox_typed(black_box(&wire))));
        g.bench_function("rsip", |b| b.iter(|| rsip_typed(black_box(&wire))));
        g.bench_function("ezk-sip-types", |b| b.iter(|| ezk_typed(black_box(&wire))));
        g.finish();

        let ours = telox_parse(&wire);
        let theirs = rsip_parse(&wire);
        let ezk = ezk_parse(&wire);
        let mut g = c.benchmark_group(format!("{prefix}/serialize/{name}"));
        g.throughput(Throughput::Bytes(wire.len() as u64));
        g.bench_function("telox", |b| b.iter(|| telox_serialize(black_box(&ours))));
        g.bench_function("telox-unmodified", |b| {
            b.iter(|| black_box(&ours).to_bytes())
        });
        g.bench_function("rsip", |b| b.iter(|| rsip_serialize(black_box(&theirs))));
        g.bench_function("ezk-sip-types", |b| {
            b.iter(|| ezk_serialize(black_box(&ezk)))
        });
        g.finish();
    }

    let template = Template::new();
    let request = Request::parse(template.request(1).to_bytes()).unwrap();
    let mut g = c.benchmark_group(format!("{prefix}/build"));
    let mut n = 0u64;
    g.bench_function("telox-request", |b| {
        b.iter(|| {
            n += 1;
            template.request(black_box(n))
        });
    });
    assert_eq!(
        template.request_in_place(7).to_bytes(),
        template.request(7).to_bytes()
    );
    g.bench_function("telox-request-in-place", |b| {
        b.iter(|| {
            n += 1;
            template.request_in_place(black_box(n))
        });
    });
    g.bench_function("telox-response", |b| {
        b.iter(|| telox_response(black_box(&request)));
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_group! {
    name = benches_cpu;
    config = Criterion::default().with_measurement(ThreadCpu);
    targets = bench_cpu
}
criterion_main!(benches, benches_cpu);
