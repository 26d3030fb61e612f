//! Stream behaviour through the public API: round trips for every profile, ROC across the
//! sequence wrap with reordering, late joiners, re-keying, replay and too-old packets, key
//! lifetime, key derivation rate, MKI, SSRC policy and malformed input.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use proptest::prelude::*;
mod support;

use rtp::Ssrc;
use support::unprotect;
use telox_srtp::{
    KeyError, MasterKey, ProtectionProfile, SrtpConfig, SrtpContext, SrtpError, UnknownSsrcPolicy,
};

const SSRC: u32 = 0xdead_beef;

fn master(p: ProtectionProfile, seed: u8) -> MasterKey {
    let ks: Vec<u8> = (0..p.key_len() + p.salt_len())
        .map(|i| seed.wrapping_add(i as u8))
        .collect();
    MasterKey::from_key_salt(p, &ks).unwrap()
}

fn pair(p: ProtectionProfile, config: SrtpConfig) -> (SrtpContext, SrtpContext) {
    let m = master(p, 1);
    (
        SrtpContext::new(p, &m, config.clone()).unwrap(),
        SrtpContext::new(p, &m, config).unwrap(),
    )
}

fn rtp(seq: u16, ssrc: u32, payload_len: usize) -> Vec<u8> {
    let mut p = vec![0x80, 0x00];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&(u32::from(seq) * 160).to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend((0..payload_len).map(|i| (i as u8) ^ (seq as u8)));
    p
}

fn rtcp(ssrc: u32) -> Vec<u8> {
    // SR header (RC 0, length 6 words) + sender info
    let mut p = vec![0x80, 200, 0, 6];
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend((0..20).map(|i| i as u8));
    p
}

fn protect(tx: &mut SrtpContext, pkt: &[u8]) -> Vec<u8> {
    let mut v = pkt.to_vec();
    tx.protect_rtp_vec(&mut v).unwrap();
    v
}

#[test]
fn round_trip_every_profile_with_csrc_extension_mki_and_srtcp() {
    for p in ProtectionProfile::ALL {
        for mki in [None, Some(&[1u8, 2, 3, 4][..])] {
            let mut m = master(p, 9);
            if let Some(x) = mki {
                m = m.with_mki(x).unwrap();
            }
            let mut tx = SrtpContext::new(p, &m, SrtpConfig::default()).unwrap();
            let mut rx = SrtpContext::new(p, &m, SrtpConfig::default()).unwrap();
            // one CSRC and a one-word header extension: all of it stays clear and is
            // authenticated
            let mut pkt = vec![0x91, 0x08, 0x00, 0x07, 0, 0, 0, 1, 1, 2, 3, 4, 9, 9, 9, 9];
            pkt.extend_from_slice(&[0xbe, 0xde, 0x00, 0x01, 0x10, 0xaa, 0, 0]);
            pkt.extend_from_slice(&[0x55; 33]);
            let s = protect(&mut tx, &pkt);
            assert_eq!(
                s.len(),
                pkt.len() + p.rtp_tag_len() + mki.map_or(0, <[u8]>::len)
            );
            assert_eq!(s[..24], pkt[..24], "{p}: header stays clear");
            assert_ne!(s[24..24 + 33], pkt[24..], "{p}: payload encrypted");
            if let Some(x) = mki {
                let at = if p.is_aead() {
                    pkt.len() + 16
                } else {
                    pkt.len()
                };
                assert_eq!(&s[at..at + x.len()], x, "{p}: MKI position");
            }
            assert_eq!(unprotect(&mut rx, &s).unwrap(), pkt, "{p}");

            for (i, encrypt) in [true, false].into_iter().enumerate() {
                let cfg = SrtpConfig {
                    encrypt_rtcp: encrypt,
                    ..SrtpConfig::default()
                };
                let mut tx = SrtpContext::new(p, &m, cfg).unwrap();
                tx.set_sender_srtcp_index(Ssrc(SSRC), i as u32).unwrap();
                let c = rtcp(SSRC);
                let mut v = c.clone();
                tx.protect_rtcp_vec(&mut v).unwrap();
                assert_eq!(v.len(), c.len() + tx.rtcp_overhead());
                assert_eq!(v[8..c.len()] == c[8..], !encrypt, "{p}: E={encrypt}");
                let n = rx.unprotect_rtcp(&mut v).unwrap();
                assert_eq!(v[..n], c[..], "{p} E={encrypt}");
            }
        }
    }
}

#[test]
fn reordering_across_the_wrap_neither_fails_nor_double_advances() {
    for p in [
        ProtectionProfile::AesCm128HmacSha1_80,
        ProtectionProfile::AeadAes128Gcm,
    ] {
        let (mut tx, mut rx) = pair(p, SrtpConfig::default());
        let seqs = [65533u16, 65534, 65535, 0, 1, 2, 3];
        let prot: Vec<Vec<u8>> = seqs
            .iter()
            .map(|&s| protect(&mut tx, &rtp(s, SSRC, 20)))
            .collect();
        assert_eq!(tx.sender_roc(Ssrc(SSRC)), Some(1));
        // arrival order: 65533, 0, 65534, 2, 65535, 1, 3
        for i in [0usize, 3, 1, 5, 2, 4, 6] {
            assert_eq!(
                unprotect(&mut rx, &prot[i]).unwrap(),
                rtp(seqs[i], SSRC, 20),
                "{p} #{i}"
            );
            assert!(rx.receiver_roc(Ssrc(SSRC)).unwrap() <= 1);
        }
        assert_eq!(rx.receiver_roc(Ssrc(SSRC)), Some(1));
        // every one of them is now a replay
        for s in &prot {
            assert!(matches!(
                unprotect(&mut rx, s),
                Err(SrtpError::Replay { .. })
            ));
        }
        // and the stream goes on in ROC 1
        let next = protect(&mut tx, &rtp(4, SSRC, 20));
        assert_eq!(unprotect(&mut rx, &next).unwrap(), rtp(4, SSRC, 20));
        assert_eq!(rx.receiver_roc(Ssrc(SSRC)), Some(1));
    }
}

#[test]
fn late_joiner_needs_the_roc() {
    let p = ProtectionProfile::AesCm128HmacSha1_80;
    let (mut tx, mut rx) = pair(p, SrtpConfig::default());
    tx.set_sender_roc(Ssrc(SSRC), 7).unwrap();
    let s = protect(&mut tx, &rtp(100, SSRC, 20));
    assert_eq!(unprotect(&mut rx, &s), Err(SrtpError::AuthFailed));
    // the failed packet created no stream
    assert_eq!(rx.receiver_roc(Ssrc(SSRC)), None);
    rx.set_receiver_roc(Ssrc(SSRC), 7).unwrap();
    assert_eq!(unprotect(&mut rx, &s).unwrap(), rtp(100, SSRC, 20));
    assert_eq!(rx.receiver_roc(Ssrc(SSRC)), Some(7));
}

#[test]
fn roc_survives_rekeying_and_stream_recreation() {
    let p = ProtectionProfile::AeadAes256Gcm;
    let (mut tx, mut rx) = pair(p, SrtpConfig::default());
    for s in [65534u16, 65535, 0, 1] {
        let x = protect(&mut tx, &rtp(s, SSRC, 10));
        unprotect(&mut rx, &x).unwrap();
    }
    let mut c = rtcp(SSRC);
    tx.protect_rtcp_vec(&mut c).unwrap();
    rx.unprotect_rtcp(&mut c).unwrap();
    // re-key both sides: ROC stays 1, packets keep flowing
    let k2 = master(p, 77);
    tx.rekey(&k2).unwrap();
    rx.rekey(&k2).unwrap();
    let x = protect(&mut tx, &rtp(2, SSRC, 10));
    assert_eq!(unprotect(&mut rx, &x).unwrap(), rtp(2, SSRC, 10));
    assert_eq!(
        (tx.sender_roc(Ssrc(SSRC)), rx.receiver_roc(Ssrc(SSRC))),
        (Some(1), Some(1))
    );
    // the old key no longer works
    let mut old = SrtpContext::new(p, &master(p, 1), SrtpConfig::default()).unwrap();
    old.set_sender_roc(Ssrc(SSRC), 1).unwrap();
    let x = protect(&mut old, &rtp(3, SSRC, 10));
    assert_eq!(unprotect(&mut rx, &x), Err(SrtpError::AuthFailed));
    // re-create both contexts from the saved ROC and SRTCP index
    let roc = tx.sender_roc(Ssrc(SSRC)).unwrap();
    let idx = tx.sender_srtcp_index(Ssrc(SSRC)).unwrap();
    assert_eq!(idx, 1);
    let mut tx2 = SrtpContext::new(p, &k2, SrtpConfig::default()).unwrap();
    tx2.set_sender_roc(Ssrc(SSRC), roc).unwrap();
    tx2.set_sender_srtcp_index(Ssrc(SSRC), idx).unwrap();
    let mut rx2 = SrtpContext::new(p, &k2, SrtpConfig::default()).unwrap();
    rx2.set_receiver_roc(Ssrc(SSRC), rx.receiver_roc(Ssrc(SSRC)).unwrap())
        .unwrap();
    let x = protect(&mut tx2, &rtp(3, SSRC, 10));
    assert_eq!(unprotect(&mut rx2, &x).unwrap(), rtp(3, SSRC, 10));
    let mut c = rtcp(SSRC);
    tx2.protect_rtcp_vec(&mut c).unwrap();
    // the old receiver still has SRTCP index 0 in its window: index 1 is new
    assert_eq!(rx.unprotect_rtcp(&mut c), Ok(rtcp(SSRC).len()));
    assert!(tx.remove_stream(Ssrc(SSRC)));
    assert_eq!(tx.sender_roc(Ssrc(SSRC)), None);
}

#[test]
fn replay_too_old_and_only_authenticated_packets_move_the_window() {
    let p = ProtectionProfile::AesCm128HmacSha1_32;
    let (mut tx, mut rx) = pair(p, SrtpConfig::default());
    let prot: Vec<Vec<u8>> = (0u16..400)
        .map(|s| protect(&mut tx, &rtp(s, SSRC, 8)))
        .collect();
    unprotect(&mut rx, &prot[10]).unwrap();
    assert_eq!(
        unprotect(&mut rx, &prot[10]),
        Err(SrtpError::Replay { index: 10 })
    );
    // a forged packet far ahead fails and does not move the window
    let mut forged = prot[300].clone();
    let last = forged.len() - 1;
    forged[last] ^= 0x80;
    assert_eq!(unprotect(&mut rx, &forged), Err(SrtpError::AuthFailed));
    unprotect(&mut rx, &prot[5]).unwrap();
    // a real one far ahead does
    unprotect(&mut rx, &prot[300]).unwrap();
    assert_eq!(
        unprotect(&mut rx, &prot[172]),
        Err(SrtpError::TooOld { index: 172 })
    );
    unprotect(&mut rx, &prot[173]).unwrap();
    // the replay check runs before authentication: a replayed index with a broken tag is
    // still reported as a replay
    let mut bad = prot[173].clone();
    bad[12] ^= 1;
    assert_eq!(
        unprotect(&mut rx, &bad),
        Err(SrtpError::Replay { index: 173 })
    );

    // SRTCP: replayed index refused
    let mut c = rtcp(SSRC);
    tx.protect_rtcp_vec(&mut c).unwrap();
    let copy = c.clone();
    rx.unprotect_rtcp(&mut c).unwrap();
    let mut c = copy;
    assert_eq!(
        rx.unprotect_rtcp(&mut c),
        Err(SrtpError::Replay { index: 0 })
    );
}

#[test]
fn window_of_1024() {
    let p = ProtectionProfile::AeadAes128Gcm;
    for (window, want_ok) in [(128usize, false), (1024, true)] {
        let (mut tx, mut rx) = pair(
            p,
            SrtpConfig {
                replay_window: window,
                ..SrtpConfig::default()
            },
        );
        let prot: Vec<Vec<u8>> = (0u16..1001)
            .map(|s| protect(&mut tx, &rtp(s, SSRC, 8)))
            .collect();
        unprotect(&mut rx, &prot[1000]).unwrap();
        assert_eq!(
            unprotect(&mut rx, &prot[1]).is_ok(),
            want_ok,
            "window {window}"
        );
    }
    assert_eq!(
        SrtpContext::new(
            p,
            &master(p, 1),
            SrtpConfig {
                replay_window: 32,
                ..Default::default()
            }
        )
        .err(),
        Some(KeyError::BadReplayWindow(32))
    );
}

#[test]
fn key_lifetime_is_enforced() {
    let p = ProtectionProfile::AesCm128HmacSha1_80;
    let cfg = SrtpConfig {
        max_rtp_packets: 3,
        max_rtcp_packets: 2,
        ..SrtpConfig::default()
    };
    let (mut tx, mut rx) = pair(p, cfg);
    let prot: Vec<Vec<u8>> = (0u16..3)
        .map(|s| protect(&mut tx, &rtp(s, SSRC, 8)))
        .collect();
    let mut v = rtp(3, SSRC, 8);
    assert_eq!(
        tx.protect_rtp_vec(&mut v),
        Err(SrtpError::KeyLifetimeExceeded)
    );
    assert_eq!(v, rtp(3, SSRC, 8), "unchanged on error");
    for x in &prot {
        unprotect(&mut rx, x).unwrap();
    }
    let mut c = rtcp(SSRC);
    tx.protect_rtcp_vec(&mut c).unwrap();
    let mut c = rtcp(SSRC);
    tx.protect_rtcp_vec(&mut c).unwrap();
    let mut c = rtcp(SSRC);
    assert_eq!(
        tx.protect_rtcp_vec(&mut c),
        Err(SrtpError::KeyLifetimeExceeded)
    );
    // a new master key resets the count
    tx.rekey(&master(p, 5)).unwrap();
    tx.protect_rtp_vec(&mut v).unwrap();

    // the SRTCP index space ends at 2^31 - 1
    let (mut tx, _) = pair(p, SrtpConfig::default());
    tx.set_sender_srtcp_index(Ssrc(SSRC), 0x7fff_ffff).unwrap();
    let mut c = rtcp(SSRC);
    tx.protect_rtcp_vec(&mut c).unwrap();
    assert_eq!(&c[c.len() - 14..c.len() - 10], &[0xff, 0xff, 0xff, 0xff]);
    let mut c = rtcp(SSRC);
    assert_eq!(
        tx.protect_rtcp_vec(&mut c),
        Err(SrtpError::KeyLifetimeExceeded)
    );
    // and the SRTP index space at 2^48
    tx.set_sender_roc(Ssrc(SSRC), u32::MAX).unwrap();
    tx.protect_rtp_vec(&mut rtp(65535, SSRC, 8)).unwrap();
    assert_eq!(
        tx.protect_rtp_vec(&mut rtp(0, SSRC, 8)),
        Err(SrtpError::KeyLifetimeExceeded)
    );
}

#[test]
fn key_derivation_rate_rederives_session_keys() {
    for p in [
        ProtectionProfile::AesCm256HmacSha1_80,
        ProtectionProfile::AeadAes128Gcm,
    ] {
        let kdr = SrtpConfig {
            key_derivation_rate: 16,
            ..SrtpConfig::default()
        };
        let (mut tx, mut rx) = pair(p, kdr);
        let (mut plain_tx, _) = pair(p, SrtpConfig::default());
        for s in 0u16..70 {
            let a = protect(&mut tx, &rtp(s, SSRC, 16));
            let b = protect(&mut plain_tx, &rtp(s, SSRC, 16));
            // r = index DIV 16: the first 16 packets use the r = 0 keys
            assert_eq!(a == b, s < 16, "{p} seq {s}");
            assert_eq!(unprotect(&mut rx, &a).unwrap(), rtp(s, SSRC, 16));
        }
        // SRTCP with the rate too
        for _ in 0..20 {
            let mut c = rtcp(SSRC);
            tx.protect_rtcp_vec(&mut c).unwrap();
            assert_eq!(rx.unprotect_rtcp(&mut c), Ok(rtcp(SSRC).len()));
        }
    }
    let p = ProtectionProfile::AesCm128HmacSha1_80;
    for bad in [3u64, 1 << 25] {
        let cfg = SrtpConfig {
            key_derivation_rate: bad,
            ..SrtpConfig::default()
        };
        assert_eq!(
            SrtpContext::new(p, &master(p, 1), cfg).err(),
            Some(KeyError::BadKeyDerivationRate(bad))
        );
    }
}

#[test]
fn ssrc_policy_and_stream_limit() {
    let p = ProtectionProfile::AesCm128HmacSha1_80;
    let cfg = SrtpConfig {
        unknown_ssrc: UnknownSsrcPolicy::Reject,
        ..SrtpConfig::default()
    };
    let (mut tx, mut rx) = pair(p, SrtpConfig::default());
    let mut strict = SrtpContext::new(p, &master(p, 1), cfg.clone()).unwrap();
    let x = protect(&mut tx, &rtp(1, SSRC, 8));
    assert_eq!(
        unprotect(&mut strict, &x),
        Err(SrtpError::UnknownSsrc(Ssrc(SSRC)))
    );
    let mut v = rtp(1, SSRC, 8);
    assert_eq!(
        strict.protect_rtp_vec(&mut v),
        Err(SrtpError::UnknownSsrc(Ssrc(SSRC)))
    );
    strict.set_receiver_roc(Ssrc(SSRC), 0).unwrap();
    assert!(unprotect(&mut strict, &x).is_ok());

    let two = SrtpConfig {
        max_streams: 2,
        ..SrtpConfig::default()
    };
    let mut rx2 = SrtpContext::new(p, &master(p, 1), two).unwrap();
    for (i, ssrc) in [1u32, 2, 3].into_iter().enumerate() {
        let x = protect(&mut tx, &rtp(1, ssrc, 8));
        let r = unprotect(&mut rx2, &x);
        assert_eq!(r.is_ok(), i < 2);
        if i == 2 {
            assert_eq!(r, Err(SrtpError::TooManyStreams { limit: 2 }));
        }
    }
    // forged packets from many SSRCs create no state
    for ssrc in 100u32..200 {
        let mut x = protect(&mut tx, &rtp(1, ssrc, 8));
        x[13] ^= 1;
        assert_eq!(unprotect(&mut rx, &x), Err(SrtpError::AuthFailed));
        assert_eq!(rx.receiver_roc(Ssrc(ssrc)), None);
    }
}

#[test]
fn malformed_and_misuse() {
    for p in ProtectionProfile::ALL {
        let (mut tx, mut rx) = pair(p, SrtpConfig::default());
        let good = protect(&mut tx, &rtp(1, SSRC, 30));
        // every truncation is refused, none panics
        for n in 0..good.len() {
            let mut v = good[..n].to_vec();
            assert!(rx.unprotect_rtp(&mut v).is_err(), "{p} len {n}");
            let mut v = good[..n].to_vec();
            assert!(rx.unprotect_rtcp(&mut v).is_err(), "{p} rtcp len {n}");
        }
        // every single-bit flip is refused
        for i in 0..good.len() {
            let mut v = good.clone();
            v[i] ^= 0x04;
            assert!(rx.unprotect_rtp(&mut v).is_err(), "{p} flip byte {i}");
        }
        assert_eq!(unprotect(&mut rx, &good).unwrap(), rtp(1, SSRC, 30));
        let mut v = good.clone();
        v[0] = 0x40;
        assert_eq!(rx.unprotect_rtp(&mut v), Err(SrtpError::BadVersion(1)));
        let mut small = rtp(2, SSRC, 4);
        let len = small.len();
        let r = tx.protect_rtp(&mut small, len);
        assert_eq!(
            r,
            Err(SrtpError::BufferTooSmall {
                need: len + p.rtp_tag_len(),
                have: len
            })
        );
        assert!(r.unwrap_err().is_misuse());
        assert_eq!(
            tx.protect_rtp(&mut small, len + 1),
            Err(SrtpError::LengthOutOfBounds {
                len: len + 1,
                buf: len
            })
        );
    }
    // MKI mismatch
    let p = ProtectionProfile::AesCm128HmacSha1_80;
    let mut a = SrtpContext::new(
        p,
        &master(p, 1).with_mki(&[1]).unwrap(),
        SrtpConfig::default(),
    )
    .unwrap();
    let mut b = SrtpContext::new(
        p,
        &master(p, 1).with_mki(&[2]).unwrap(),
        SrtpConfig::default(),
    )
    .unwrap();
    let x = protect(&mut a, &rtp(1, SSRC, 8));
    assert_eq!(unprotect(&mut b, &x), Err(SrtpError::MkiMismatch));
    assert_eq!(SrtpError::MkiMismatch.reason(), "mki-mismatch");
    assert_eq!(
        SrtpError::AuthFailed.to_string(),
        "authentication tag mismatch"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Any RTP packet of any profile survives protect -> unprotect, in any order of a
    /// window-sized batch.
    #[test]
    fn round_trip_any_packet(profile in prop::sample::select(ProtectionProfile::ALL.to_vec()),
                             start in any::<u16>(), ssrc in any::<u32>(),
                             lens in prop::collection::vec(0usize..300, 1..20),
                             seed in any::<u64>()) {
        let (mut tx, mut rx) = pair(profile, SrtpConfig::default());
        let plain: Vec<Vec<u8>> = lens.iter().enumerate()
            .map(|(i, &l)| rtp(start.wrapping_add(i as u16), ssrc, l)).collect();
        let prot: Vec<Vec<u8>> = plain.iter().map(|p| protect(&mut tx, p)).collect();
        // a seeded shuffle of every packet but the first, which comes first: a receiver
        // with no state takes ROC 0 for its first packet (RFC 3711 §3.3.1), so a first
        // packet sent after the 65535 -> 0 wrap (ROC 1) would rightly fail
        let mut order: Vec<usize> = (0..plain.len()).collect();
        let mut s = seed | 1;
        for i in (2..order.len()).rev() {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17;
            order.swap(i, 1 + (s % i as u64) as usize);
        }
        for i in order {
            prop_assert_eq!(unprotect(&mut rx, &prot[i]).unwrap(), plain[i].clone());
        }
    }
}
