//! libsrtp's own known answers (`tests/data/libsrtp-kat.txt`, from libsrtp's
//! `test/srtp_driver.c`) through the public API: key derivation, AES-CM-128 and AES-256-CM
//! with HMAC-SHA1-80, AEAD-AES-128-GCM, SRTP and SRTCP, replay and tamper.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use std::collections::HashMap;

use rtp::Ssrc;
use telox_srtp::{MasterKey, ProtectionProfile, SrtpConfig, SrtpContext, SrtpError};

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The srtp_ref tool's error spelling for our errors.
fn err_line(e: SrtpError) -> String {
    match e {
        SrtpError::AuthFailed => "ERR 7 auth_fail".into(),
        SrtpError::Replay { .. } => "ERR 9 replay_fail".into(),
        SrtpError::TooOld { .. } => "ERR 10 replay_old".into(),
        other => format!("ERR ? {other}"),
    }
}

#[test]
fn libsrtp_known_answers() {
    let text = include_str!("data/libsrtp-kat.txt");
    // one context per (profile, key+salt, outbound?) like srtp_ref's sessions
    let mut ctxs: HashMap<(String, String, bool), SrtpContext> = HashMap::new();
    let mut checked = 0;
    for line in text.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (cmd, want) = line.split_once(" | ").expect("COMMAND | EXPECTED");
        let w: Vec<&str> = cmd.split_whitespace().collect();
        if w[0] == "reset" {
            ctxs.clear();
            checked += 1;
            continue;
        }
        let Ok(profile) = w[1].parse::<ProtectionProfile>() else {
            assert_eq!(want, "ERR -1 unknown profile");
            checked += 1;
            continue;
        };
        let master = match MasterKey::from_key_salt(profile, &unhex(w[2])) {
            Ok(m) => m,
            Err(e) => {
                assert!(want.starts_with("ERR -1 key+salt must be"), "{e}");
                checked += 1;
                continue;
            }
        };
        let outbound = w[0].starts_with("protect");
        let ctx = ctxs
            .entry((w[1].to_string(), w[2].to_string(), outbound))
            .or_insert_with(|| SrtpContext::new(profile, &master, SrtpConfig::default()).unwrap());
        let mut pkt = unhex(w[3]);
        let got = match w[0] {
            "protect" => ctx.protect_rtp_vec(&mut pkt).map(|()| hex(&pkt)),
            "protect_rtcp" => {
                let ssrc = Ssrc(u32::from_be_bytes([pkt[4], pkt[5], pkt[6], pkt[7]]));
                // libsrtp numbers the first SRTCP packet 1 (RFC 3711 §3.4 says 0)
                if ctx.sender_srtcp_index(ssrc).unwrap_or(0) == 0 {
                    ctx.set_sender_srtcp_index(ssrc, 1).unwrap();
                }
                ctx.protect_rtcp_vec(&mut pkt).map(|()| hex(&pkt))
            }
            "unprotect" => ctx.unprotect_rtp(&mut pkt).map(|n| hex(&pkt[..n])),
            "unprotect_rtcp" => ctx.unprotect_rtcp(&mut pkt).map(|n| hex(&pkt[..n])),
            other => panic!("unknown command {other}"),
        };
        let got = got.unwrap_or_else(err_line);
        assert_eq!(got, want, "{cmd}");
        checked += 1;
    }
    assert_eq!(checked, 19);
}
