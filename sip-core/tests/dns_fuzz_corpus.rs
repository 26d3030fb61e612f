//! Replays fuzz/corpus/dns_message through `fuzzing::dns` on stable: every file whole, in
//! truncated prefixes and with each octet flipped; and checks what the seeds are.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: an unwrap failure is a test failure"
)]

use std::path::Path;
use std::time::Instant;

use telox_sip_core::dns::{DnsError, DnsMessage, RecordData};
use telox_sip_core::fuzzing;

#[expect(
    clippy::disallowed_methods,
    reason = "tests need an origin; only differences matter"
)]
fn origin() -> Instant {
    Instant::now()
}

#[test]
fn dns_message_corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/dns_message");
    let now = origin();
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        // the seeds are what their names say
        let parsed = DnsMessage::parse(&data);
        match name.as_str() {
            "pointer_loop" => assert_eq!(parsed, Err(DnsError::BadPointer { at: 12 })),
            "truncated_tc" => assert!(parsed.unwrap().flags.truncated),
            "naptr_rfc3263" => {
                let m = parsed.unwrap();
                assert_eq!(m.answers.len(), 3);
                assert!(
                    matches!(&m.answers[0].data, RecordData::Naptr(r) if r.service == "SIPS+D2T")
                );
            }
            _ => assert!(parsed.is_ok(), "{name}: {parsed:?}"),
        }
        fuzzing::dns(now, &data);
        for len in 0..data.len() {
            fuzzing::dns(now, &data[..len]);
        }
        for i in 0..data.len() {
            let mut flipped = data.clone();
            flipped[i] ^= 0xff;
            fuzzing::dns(now, &flipped);
        }
        n += 1;
    }
    assert!(n >= 7, "corpus dns_message has {n} files");
}

/// A response to a question for the root name `.`: the harness's resolution of `sip:.:5060`
/// asks the empty host's addresses, and must end (it asked the same question forever before
/// fa80203).
#[test]
fn root_question_resolution_ends() {
    // header (ID, QR RD RA, one question), then the root name, type A, class IN
    let data = [
        0x12, 0x34, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1,
    ];
    assert_eq!(DnsMessage::parse(&data).unwrap().questions[0].name, ".");
    fuzzing::dns(origin(), &data);
}
