//! The sender side of the master-key rules: a packet index is never used twice for an SSRC
//! (RFC 3711 §9.1), and a context holds several master keys told apart by their MKI, one
//! chosen for sending and each received packet unprotected with the key its MKI names
//! (RFC 3711 §8.1), each key with its own lifetime count (§9.2).

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod support;

use rtp::Ssrc;
use support::unprotect;
use telox_srtp::{KeyError, MasterKey, ProtectionProfile, SrtpConfig, SrtpContext, SrtpError};

const SSRC: u32 = 0x0bad_cafe;

const PROFILES: [ProtectionProfile; 2] = [
    ProtectionProfile::AesCm128HmacSha1_80,
    ProtectionProfile::AeadAes128Gcm,
];

fn key(p: ProtectionProfile, seed: u8, mki: Option<&[u8]>) -> MasterKey {
    let ks: Vec<u8> = (0..p.key_len() + p.salt_len())
        .map(|i| seed.wrapping_mul(31).wrapping_add(i as u8))
        .collect();
    let k = MasterKey::from_key_salt(p, &ks).unwrap();
    match mki {
        Some(m) => k.with_mki(m).unwrap(),
        None => k,
    }
}

fn rtp(seq: u16, payload: u8) -> Vec<u8> {
    let mut v = vec![0x80, 0x00];
    v.extend_from_slice(&seq.to_be_bytes());
    v.extend_from_slice(&[0, 0, 0, 0]);
    v.extend_from_slice(&SSRC.to_be_bytes());
    v.extend_from_slice(&[payload; 40]);
    v
}

fn rtcp() -> Vec<u8> {
    let mut v = vec![0x80, 201, 0, 1];
    v.extend_from_slice(&SSRC.to_be_bytes());
    v
}

fn protect(tx: &mut SrtpContext, pkt: &[u8]) -> Result<Vec<u8>, SrtpError> {
    let mut v = pkt.to_vec();
    tx.protect_rtp_vec(&mut v)?;
    Ok(v)
}

#[test]
fn sender_never_reuses_an_srtp_index() {
    for p in PROFILES {
        let mut tx = SrtpContext::new(p, &key(p, 1, None), SrtpConfig::default()).unwrap();
        protect(&mut tx, &rtp(5, 1)).unwrap();
        // the same sequence number again, even with another payload: same index, refused
        let mut again = rtp(5, 2);
        assert_eq!(
            tx.protect_rtp_vec(&mut again),
            Err(SrtpError::IndexReuse { index: 5 }),
            "{p}"
        );
        assert_eq!(again, rtp(5, 2), "{p}: refused packet left as it was");
        // an earlier, never used index inside the window is fine (a relay may reorder),
        // once
        protect(&mut tx, &rtp(3, 1)).unwrap();
        assert_eq!(
            protect(&mut tx, &rtp(3, 1)),
            Err(SrtpError::IndexReuse { index: 3 })
        );
        // behind the remembered window (128) the sender cannot prove the index fresh
        for s in 6..200 {
            protect(&mut tx, &rtp(s, 1)).unwrap();
        }
        assert_eq!(
            protect(&mut tx, &rtp(4, 1)),
            Err(SrtpError::IndexReuse { index: 4 })
        );
        assert_eq!(SrtpError::IndexReuse { index: 4 }.reason(), "index-reuse");

        // across the wrap: ROC 1 now; setting the ROC back to 0 lands on used indexes
        for s in [65535u16, 0, 1] {
            protect(&mut tx, &rtp(s, 1)).unwrap();
        }
        assert_eq!(tx.sender_roc(Ssrc(SSRC)), Some(1));
        tx.set_sender_roc(Ssrc(SSRC), 0).unwrap();
        assert_eq!(tx.sender_roc(Ssrc(SSRC)), Some(0));
        assert_eq!(
            protect(&mut tx, &rtp(65535, 1)),
            Err(SrtpError::IndexReuse { index: 65535 })
        );
        // a failed protect does not consume the requested ROC; moving it forward works
        tx.set_sender_roc(Ssrc(SSRC), 2).unwrap();
        let x = protect(&mut tx, &rtp(7, 1)).unwrap();
        assert_eq!(tx.sender_roc(Ssrc(SSRC)), Some(2));
        let mut rx = SrtpContext::new(p, &key(p, 1, None), SrtpConfig::default()).unwrap();
        rx.set_receiver_roc(Ssrc(SSRC), 2).unwrap();
        assert_eq!(unprotect(&mut rx, &x).unwrap(), rtp(7, 1));
        // and the estimate continues from ROC 2
        assert_eq!(
            protect(&mut tx, &rtp(7, 1)),
            Err(SrtpError::IndexReuse { index: 2 << 16 | 7 })
        );
    }
}

#[test]
fn sender_never_reuses_an_srtcp_index_and_stops_at_the_limits() {
    for p in PROFILES {
        let mut tx = SrtpContext::new(p, &key(p, 2, None), SrtpConfig::default()).unwrap();
        for _ in 0..3 {
            tx.protect_rtcp_vec(&mut rtcp()).unwrap();
        }
        assert_eq!(tx.sender_srtcp_index(Ssrc(SSRC)), Some(3));
        tx.set_sender_srtcp_index(Ssrc(SSRC), 1).unwrap();
        let mut c = rtcp();
        assert_eq!(
            tx.protect_rtcp_vec(&mut c),
            Err(SrtpError::IndexReuse { index: 1 }),
            "{p}"
        );
        assert_eq!(c, rtcp());
        assert_eq!(tx.sender_srtcp_index(Ssrc(SSRC)), Some(1), "not advanced");
        tx.set_sender_srtcp_index(Ssrc(SSRC), 3).unwrap();
        tx.protect_rtcp_vec(&mut rtcp()).unwrap();

        // the 31-bit SRTCP index and the 48-bit SRTP index end: no wrap back to 0
        tx.set_sender_srtcp_index(Ssrc(SSRC), 0x7fff_ffff).unwrap();
        tx.protect_rtcp_vec(&mut rtcp()).unwrap();
        assert_eq!(
            tx.protect_rtcp_vec(&mut rtcp()),
            Err(SrtpError::KeyLifetimeExceeded)
        );
        tx.set_sender_roc(Ssrc(SSRC), u32::MAX).unwrap();
        protect(&mut tx, &rtp(65535, 0)).unwrap();
        assert_eq!(
            protect(&mut tx, &rtp(0, 0)),
            Err(SrtpError::KeyLifetimeExceeded)
        );
        // a re-key does not let the sender reuse indexes either
        tx.rekey(&key(p, 3, None)).unwrap();
        assert_eq!(
            protect(&mut tx, &rtp(65535, 0)),
            Err(SrtpError::IndexReuse {
                index: (1 << 48) - 1
            })
        );
    }
}

#[test]
fn several_master_keys_selected_by_mki() {
    for p in PROFILES {
        // key derivation rate 4: the re-derived session keys are cached per stream, and
        // must never be reused under the other master key
        let cfg = SrtpConfig {
            key_derivation_rate: 4,
            ..SrtpConfig::default()
        };
        let (a, b) = (key(p, 10, Some(&[0, 1])), key(p, 11, Some(&[0, 2])));
        let mut tx = SrtpContext::new(p, &a, cfg.clone()).unwrap();
        let mut rx = SrtpContext::new(p, &a, cfg.clone()).unwrap();
        tx.add_master_key(&b).unwrap();
        rx.add_master_key(&b).unwrap();
        assert_eq!(tx.send_mki(), &[0, 1]);
        assert_eq!(tx.mkis().collect::<Vec<_>>(), [&[0u8, 1][..], &[0, 2]]);
        let mki_at = |pkt: &[u8]| {
            let body = rtp(0, 0).len();
            if p.is_aead() {
                pkt[body + 16..body + 18].to_vec()
            } else {
                pkt[body..body + 2].to_vec()
            }
        };
        // alternate the sending key; the receiver follows each packet's MKI, and every
        // packet is the one a context holding only that key makes
        let mut only_a = SrtpContext::new(p, &a, cfg.clone()).unwrap();
        let mut only_b = SrtpContext::new(p, &b, cfg.clone()).unwrap();
        let mut sent = Vec::new();
        for s in 0u16..24 {
            let use_a = s / 3 % 2 == 0;
            let mki = if use_a { [0, 1] } else { [0, 2] };
            tx.select_master_key(&mki).unwrap();
            let x = protect(&mut tx, &rtp(s, s as u8)).unwrap();
            let reference = if use_a { &mut only_a } else { &mut only_b };
            assert_eq!(
                x,
                protect(reference, &rtp(s, s as u8)).unwrap(),
                "{p} seq {s}"
            );
            assert_eq!(mki_at(&x), mki, "{p} seq {s}");
            assert_eq!(
                unprotect(&mut rx, &x).unwrap(),
                rtp(s, s as u8),
                "{p} seq {s}"
            );
            sent.push(x);
        }
        // each packet authenticates only under its own key: the same bytes with the other
        // key's MKI fail, an MKI of no key is refused before any crypto
        let mut rx2 = SrtpContext::new(p, &a, cfg.clone()).unwrap();
        rx2.add_master_key(&b).unwrap();
        let mut swapped = sent[4].clone();
        let body = rtp(0, 0).len();
        let at = if p.is_aead() { body + 16 } else { body };
        swapped[at + 1] = 1;
        assert_eq!(unprotect(&mut rx2, &swapped), Err(SrtpError::AuthFailed));
        swapped[at + 1] = 9;
        assert_eq!(unprotect(&mut rx2, &swapped), Err(SrtpError::MkiMismatch));
        // SRTCP follows the MKI too
        tx.select_master_key(&[0, 2]).unwrap();
        let mut c = rtcp();
        tx.protect_rtcp_vec(&mut c).unwrap();
        assert_eq!(rx.unprotect_rtcp(&mut c), Ok(rtcp().len()));
        // a removed key no longer unprotects (the key selected for sending, even in a
        // receive-only context, is kept until another one is selected)
        assert_eq!(rx2.remove_master_key(&[0, 1]), Err(KeyError::KeyInUse));
        rx2.select_master_key(&[0, 2]).unwrap();
        rx2.remove_master_key(&[0, 1]).unwrap();
        assert_eq!(unprotect(&mut rx2, &sent[0]), Err(SrtpError::MkiMismatch));
        assert_eq!(unprotect(&mut rx2, &sent[3]).unwrap(), rtp(3, 3));

        // the set's rules
        let mut plain = SrtpContext::new(p, &key(p, 1, None), cfg.clone()).unwrap();
        assert_eq!(plain.add_master_key(&b), Err(KeyError::MkiRequired));
        assert_eq!(
            tx.add_master_key(&key(p, 12, None)),
            Err(KeyError::MkiRequired)
        );
        assert_eq!(
            tx.add_master_key(&key(p, 12, Some(&[1, 2, 3]))),
            Err(KeyError::MkiLengthMismatch {
                expected: 2,
                got: 3
            })
        );
        assert_eq!(
            tx.add_master_key(&key(p, 12, Some(&[0, 2]))),
            Err(KeyError::DuplicateMki)
        );
        assert_eq!(tx.select_master_key(&[7, 7]), Err(KeyError::UnknownMki));
        assert_eq!(tx.remove_master_key(&[0, 2]), Err(KeyError::KeyInUse));
        assert_eq!(tx.remove_master_key(&[7, 7]), Err(KeyError::UnknownMki));
        tx.remove_master_key(&[0, 1]).unwrap();
        assert_eq!(tx.send_mki(), &[0, 2]);
        // re-keying replaces the whole set
        tx.rekey(&a).unwrap();
        assert_eq!(tx.mkis().count(), 1);
        assert_eq!(tx.send_mki(), &[0, 1]);
    }
}

#[test]
fn each_master_key_has_its_own_lifetime() {
    let p = ProtectionProfile::AesCm128HmacSha1_32;
    let cfg = SrtpConfig {
        max_rtp_packets: 2,
        ..SrtpConfig::default()
    };
    let (a, b) = (key(p, 20, Some(&[1])), key(p, 21, Some(&[2])));
    let mut tx = SrtpContext::new(p, &a, cfg.clone()).unwrap();
    let mut rx = SrtpContext::new(p, &a, cfg).unwrap();
    tx.add_master_key(&b).unwrap();
    rx.add_master_key(&b).unwrap();
    let x0 = protect(&mut tx, &rtp(0, 0)).unwrap();
    let x1 = protect(&mut tx, &rtp(1, 0)).unwrap();
    assert_eq!(
        protect(&mut tx, &rtp(2, 0)),
        Err(SrtpError::KeyLifetimeExceeded)
    );
    // switching to the fresh key keeps the stream going
    tx.select_master_key(&[2]).unwrap();
    let x2 = protect(&mut tx, &rtp(2, 0)).unwrap();
    let x3 = protect(&mut tx, &rtp(3, 0)).unwrap();
    for x in [&x0, &x1, &x2, &x3] {
        unprotect(&mut rx, x).unwrap();
    }
    // the receiver counts per key as well: a third packet under key 1 is refused
    tx.select_master_key(&[1]).unwrap();
    assert_eq!(
        protect(&mut tx, &rtp(4, 0)),
        Err(SrtpError::KeyLifetimeExceeded)
    );
    let mut other = SrtpContext::new(p, &a, SrtpConfig::default()).unwrap();
    other.set_sender_roc(Ssrc(SSRC), 0).unwrap();
    let x4 = protect(&mut other, &rtp(4, 0)).unwrap();
    assert_eq!(unprotect(&mut rx, &x4), Err(SrtpError::KeyLifetimeExceeded));
}
