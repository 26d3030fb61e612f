//! proptest of the WebSocket codec (RFC 6455 framing for RFC 7118): any message survives
//! encode/decode whatever the chunking of the byte stream, and arbitrary bytes never panic
//! the decoder nor make it hold more than the message limit.

#![allow(clippy::unwrap_used, reason = "test code")]

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use telox_sip_core::ws::{Role, WsCodec, WsEvent};

const LIMIT: usize = 4096;

fn peer(role: Role) -> Role {
    match role {
        Role::Client => Role::Server,
        Role::Server => Role::Client,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn messages_round_trip_over_any_chunking(
        messages in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..600), 1..5),
        cuts in proptest::collection::vec(1usize..97, 1..40),
        client in any::<bool>(),
        mask in any::<[u8; 4]>(),
    ) {
        let role = if client { Role::Client } else { Role::Server };
        let tx = WsCodec::new(role, LIMIT);
        let mut wire = BytesMut::new();
        for m in &messages {
            tx.encode_message(m, mask, &mut wire);
        }
        let mut rx = WsCodec::new(peer(role), LIMIT);
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        let mut cut = cuts.iter().cycle();
        while !wire.is_empty() {
            let n = (*cut.next().unwrap()).min(wire.len());
            buf.extend_from_slice(&wire.split_to(n));
            while let Some(event) = rx.decode(&mut buf).unwrap() {
                got.push(event);
            }
        }
        let want: Vec<WsEvent> = messages
            .into_iter()
            .map(|m| WsEvent::Message(Bytes::from(m)))
            .collect();
        prop_assert_eq!(got, want);
        prop_assert!(buf.is_empty());
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_stay_bounded(
        chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..20),
        server in any::<bool>(),
    ) {
        let role = if server { Role::Server } else { Role::Client };
        let mut rx = WsCodec::new(role, LIMIT);
        let mut buf = BytesMut::new();
        'feed: for c in chunks {
            buf.extend_from_slice(&c);
            loop {
                match rx.decode(&mut buf) {
                    Ok(Some(WsEvent::Message(m))) => prop_assert!(m.len() <= LIMIT),
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(e) => {
                        prop_assert!((1002..=1009).contains(&e.close_code()));
                        break 'feed;
                    }
                }
            }
            // An incomplete frame never needs more than one message plus its header.
            prop_assert!(buf.len() <= LIMIT + 14 + 300);
        }
    }
}
