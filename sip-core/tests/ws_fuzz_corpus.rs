//! Replays fuzz/corpus/sip_ws (WebSocket handshake and frames, both sides) through
//! `fuzzing::ws` on stable: every file whole and in truncated prefixes.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: an unwrap failure is a test failure"
)]

use std::path::Path;

use telox_sip_core::fuzzing;

#[test]
fn sip_ws_corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/sip_ws");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        fuzzing::ws(&data);
        for len in (0..data.len()).step_by(13) {
            fuzzing::ws(&data[..len]);
        }
        // the same bytes on the other side of the connection, in other chunk sizes
        for mode in [0u8, 1, 0x66, 0xc9] {
            let mut flipped = data.clone();
            if let Some(first) = flipped.first_mut() {
                *first ^= mode;
            }
            fuzzing::ws(&flipped);
        }
        n += 1;
    }
    assert!(n >= 10, "corpus has {n} files");
}

/// The seeds reach past the handshake: the client seed's `101` matches the harness's
/// all-zero nonce and the server seed is an upgrade offering `sip`, so the fuzzer starts
/// from frames, not only from refused handshakes.
#[test]
fn seeds_complete_their_handshakes() {
    use telox_sip_core::ws::{ClientRequest, parse_client_handshake};

    let read = |name: &str| {
        std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../fuzz/corpus/sip_ws")
                .join(name),
        )
        .unwrap()
    };
    let client = read("client_101_register_ok");
    let len = ClientRequest::new("example.com", "/", [0; 16])
        .parse_response(&client[1..])
        .unwrap()
        .unwrap();
    assert!(len < client.len() - 1, "no frames after the 101");
    let server = read("server_rfc7118_options_bytewise");
    let (hs, len) = parse_client_handshake(&server[1..]).unwrap().unwrap();
    assert!(hs.offers_sip());
    assert!(len < server.len() - 1, "no frames after the upgrade");
}
