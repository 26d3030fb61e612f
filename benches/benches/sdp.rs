//! SDP parse and offer/answer, telox side by side with webrtc-rs's `sdp` and
//! `ezk-sdp-types` on the same 20-line SIP audio offer (results in benches/README.md).

#![allow(missing_docs, reason = "criterion macros generate undocumented items")]
#![allow(
    clippy::unwrap_used,
    reason = "bench setup: a failure must stop the bench"
)]

use std::hint::black_box;
use std::io::Cursor;

use bytes::Bytes;

use criterion::measurement::Measurement;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand::SeedableRng;
use sdp::{Codec, MediaCapabilities, OfferAnswer, Sdp, SessionConfig, SrtpPolicy};
use telox_benches::ThreadCpu;

/// A typical SIP audio offer: 20 lines, opus/G.722/G.711/telephone-event, SDES crypto.
const OFFER: &str = "v=0\r\n\
o=- 3903548297 3903548297 IN IP4 192.168.1.10\r\n\
s=-\r\n\
c=IN IP4 192.168.1.10\r\n\
t=0 0\r\n\
m=audio 40000 RTP/AVP 111 9 0 8 101\r\n\
a=rtpmap:111 opus/48000/2\r\n\
a=fmtp:111 minptime=10;useinbandfec=1\r\n\
a=rtpmap:9 G722/8000\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-16\r\n\
a=ptime:20\r\n\
a=maxptime:150\r\n\
a=rtcp:40001\r\n\
a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR\r\n\
a=ssrc:3669794641 cname:telox@192.168.1.10\r\n\
a=mid:0\r\n\
a=sendrecv\r\n";

fn parse<M: Measurement>(c: &mut Criterion<M>, prefix: &str) {
    assert_eq!(OFFER.lines().count(), 20);
    // Both zero-copy parsers get a reference-counted buffer, as a SIP body would be.
    let input = Bytes::from(OFFER.as_bytes().to_vec());
    // Every parser must accept the offer and see its codecs.
    assert_eq!(
        Sdp::parse(input.clone()).unwrap().media[0]
            .payload_types()
            .count(),
        5
    );
    let ezk_input = bytesstr::BytesStr::from(OFFER.to_owned());
    let ezk = ezk_sdp_types::SessionDescription::parse(&ezk_input).unwrap();
    assert_eq!(ezk.media_descriptions[0].rtpmap.len(), 5);
    let webrtc =
        sdp_webrtc_rs::SessionDescription::unmarshal(&mut Cursor::new(OFFER.as_bytes())).unwrap();
    assert_eq!(webrtc.media_descriptions[0].media_name.formats.len(), 5);

    // Each row is one parse and the drop of its result, nothing else. The description is
    // handed to `black_box` by reference and dropped inside the closure: a closure that
    // returned it would have criterion 0.5's own `black_box` (a `read_volatile` of the value,
    // its stable fallback) copy it once more per iteration, field by field and byte by byte
    // for a 536-byte `Sdp` (~1,190 instructions, 13 % of the telox row, callgrind of the
    // bench binary).
    let mut g = c.benchmark_group(format!("{prefix}/parse_20_line_offer"));
    g.throughput(Throughput::Bytes(OFFER.len() as u64));
    g.bench_function("telox", |b| {
        b.iter(|| {
            let sdp = Sdp::parse(black_box(input.clone())).unwrap();
            black_box(&sdp);
        })
    });
    g.bench_function("ezk-sdp-types", |b| {
        b.iter(|| {
            let sdp = ezk_sdp_types::SessionDescription::parse(black_box(&ezk_input)).unwrap();
            black_box(&sdp);
        })
    });
    g.bench_function("webrtc-rs sdp", |b| {
        b.iter(|| {
            let sdp = sdp_webrtc_rs::SessionDescription::unmarshal(&mut Cursor::new(black_box(
                OFFER.as_bytes(),
            )))
            .unwrap();
            black_box(&sdp);
        })
    });
    g.finish();

    let parsed = Sdp::parse(input.clone()).unwrap();
    let mut g = c.benchmark_group(format!("{prefix}/serialize_20_line_offer"));
    g.bench_function("telox", |b| b.iter(|| black_box(&parsed).to_bytes()));
    g.bench_function("ezk-sdp-types", |b| b.iter(|| black_box(&ezk).to_string()));
    g.bench_function("webrtc-rs sdp", |b| b.iter(|| black_box(&webrtc).marshal()));
    g.finish();
}

fn negotiate<M: Measurement>(c: &mut Criterion<M>, prefix: &str) {
    let offer = Sdp::parse(OFFER).unwrap();
    let caps = MediaCapabilities::audio(
        50000,
        vec![
            Codec::opus(),
            Codec::pcma(),
            Codec::pcmu(),
            Codec::telephone_event(),
        ],
    )
    .with_srtp(SrtpPolicy::Optional);
    let config = SessionConfig::new("192.168.1.20".parse().unwrap(), caps);
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let session = OfferAnswer::new(config, &mut rng);
    {
        let mut s = session.clone();
        s.handle_offer(&offer, &mut rng).unwrap();
        assert_eq!(s.streams()[0].send_codec.name, "opus");
        assert!(s.streams()[0].crypto.is_some());
    }
    let mut g = c.benchmark_group(format!("{prefix}/offer_answer"));
    // Answer a parsed offer: codec and crypto matching, SDES key, answer model, result. The
    // session is cloned per iteration (a fresh call; an unchanged re-offer would short-cut).
    g.bench_function("telox clone session + handle_offer", |b| {
        b.iter(|| {
            let mut s = session.clone();
            s.handle_offer(black_box(&offer), &mut rng).unwrap();
            s
        })
    });
    // The whole answerer path from bytes to bytes.
    g.bench_function(
        "telox parse + clone session + handle_offer + serialize",
        |b| {
            b.iter(|| {
                let mut s = session.clone();
                let offer = Sdp::parse(black_box(Bytes::from_static(OFFER.as_bytes()))).unwrap();
                s.handle_offer(&offer, &mut rng).unwrap().to_bytes()
            })
        },
    );
    // The offerer's side: process an answer into negotiated streams.
    let mut offerer = session.clone();
    let our_offer = offerer.create_offer(&mut rng).unwrap();
    let mut answerer = session.clone();
    let answer = answerer.handle_offer(&our_offer, &mut rng).unwrap();
    g.bench_function("telox process answer (negotiate)", |b| {
        b.iter(|| {
            sdp::negotiate(
                black_box(&our_offer),
                black_box(&answer),
                sdp::Role::Offerer,
            )
            .unwrap()
        })
    });
    g.finish();
}

fn wall(c: &mut Criterion) {
    parse(c, "sdp");
    negotiate(c, "sdp");
}

fn cpu(c: &mut Criterion<ThreadCpu>) {
    parse(c, "sdp-cpu");
    negotiate(c, "sdp-cpu");
}

criterion_group!(benches, wall);
criterion_group! {
    name = benches_cpu;
    config = Criterion::default().with_measurement(ThreadCpu);
    targets = cpu
}
criterion_main!(benches, benches_cpu);
