//! `SrtpContext::protect_rtp_batch` and `unprotect_rtp_batch` against `protect_rtp` and
//! `unprotect_rtp` one packet at a time: the same bytes and results for every profile, with
//! and without MKI, across groups of 16, several SSRCs, payload lengths 0-1400, and packets
//! refused in the middle of a batch.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use telox_srtp::{MasterKey, ProtectionProfile, SrtpConfig, SrtpContext, SrtpError};

const PROFILES: [ProtectionProfile; 6] = [
    ProtectionProfile::AesCm128HmacSha1_80,
    ProtectionProfile::AesCm128HmacSha1_32,
    ProtectionProfile::AesCm256HmacSha1_80,
    ProtectionProfile::AesCm256HmacSha1_32,
    ProtectionProfile::AeadAes128Gcm,
    ProtectionProfile::AeadAes256Gcm,
];

fn rtp(seq: u16, ssrc: u32, payload: usize, room: usize) -> Vec<u8> {
    let mut p = vec![0x80, 0x00];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&(u32::from(seq) * 160).to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend((0..payload).map(|i| (i as u8) ^ (seq as u8)));
    p.resize(12 + payload + room, 0);
    p
}

fn contexts(profile: ProtectionProfile, mki: bool) -> [SrtpContext; 3] {
    contexts_with(profile, mki, &SrtpConfig::default())
}

fn contexts_with<const N: usize>(
    profile: ProtectionProfile,
    mki: bool,
    cfg: &SrtpConfig,
) -> [SrtpContext; N] {
    let key_salt: Vec<u8> = (0..profile.key_len() + profile.salt_len())
        .map(|i| (i * 13 + 5) as u8)
        .collect();
    let mut master = MasterKey::from_key_salt(profile, &key_salt).unwrap();
    if mki {
        master = master.with_mki(&[0xab, 0xcd]).unwrap();
    }
    core::array::from_fn(|_| SrtpContext::new(profile, &master, cfg.clone()).unwrap())
}

#[test]
fn batch_equals_one_by_one() {
    for profile in PROFILES {
        for mki in [false, true] {
            let [mut batch, mut single, mut rx] = contexts(profile, mki);
            let room = batch.rtp_overhead();
            // 3 SSRCs interleaved; payloads of many lengths (HMAC tails of 1 and 2 blocks,
            // 1 to 23 blocks per lane)
            let plain: Vec<(Vec<u8>, usize)> = (0..53u16)
                .map(|i| {
                    let payload = (usize::from(i) * 97 + 13) % 1401;
                    let ssrc = 0x1000 + u32::from(i % 3);
                    (rtp(1000 + i / 3, ssrc, payload, room), 12 + payload)
                })
                .collect();
            let mut a: Vec<(Vec<u8>, usize)> = plain.clone();
            let mut refs: Vec<(&mut [u8], usize)> =
                a.iter_mut().map(|(b, l)| (b.as_mut_slice(), *l)).collect();
            let mut results = vec![Ok(0); refs.len()];
            batch.protect_rtp_batch(&mut refs, &mut results);
            for (i, ((buf, len), ((got, _), r))) in
                plain.into_iter().zip(a.iter().zip(&results)).enumerate()
            {
                let mut want = buf;
                let n = single.protect_rtp(&mut want, len);
                assert_eq!(r, &n, "{profile:?} mki {mki} packet {i}");
                assert_eq!(got, &want, "{profile:?} mki {mki} packet {i}");
                let mut srtp = got[..n.unwrap()].to_vec();
                assert_eq!(
                    rx.unprotect_rtp(&mut srtp),
                    Ok(len),
                    "{profile:?} packet {i}"
                );
            }
        }
    }
}

#[test]
fn refused_packets_in_a_batch_are_reported_in_place() {
    for profile in [
        ProtectionProfile::AesCm128HmacSha1_80,
        ProtectionProfile::AeadAes128Gcm,
    ] {
        let [mut batch, mut single, _] = contexts(profile, false);
        let room = batch.rtp_overhead();
        let mut bufs: Vec<Vec<u8>> = (0..20u16).map(|i| rtp(i % 17, 7, 160, room)).collect();
        // packet 5 has no room for the tag, packet 9 is not RTP
        bufs[5].truncate(12 + 160 + room - 1);
        bufs[9][0] = 0x40;
        let mut want = bufs.clone();
        let mut refs: Vec<(&mut [u8], usize)> =
            bufs.iter_mut().map(|b| (b.as_mut_slice(), 172)).collect();
        // one result fewer than packets: the last packet is left alone
        let mut results = vec![Ok(0); refs.len() - 1];
        batch.protect_rtp_batch(&mut refs, &mut results);
        for (i, w) in want.iter_mut().enumerate().take(results.len()) {
            let r = single.protect_rtp(w, 172);
            assert_eq!(results[i], r, "{profile:?} packet {i}");
            assert_eq!(&bufs[i], w, "{profile:?} packet {i}");
        }
        assert!(matches!(results[5], Err(SrtpError::BufferTooSmall { .. })));
        assert!(results[9].is_err());
        // 17, 18 repeat sequence numbers 0, 1: the sender refuses to reuse an index
        assert!(matches!(results[17], Err(SrtpError::IndexReuse { .. })));
        assert_eq!(bufs[19], rtp(2, 7, 160, room));
    }
}

/// `unprotect_rtp_batch` against `unprotect_rtp` one packet at a time on the same packets:
/// every profile, with and without MKI, 4 streams interleaved (one across the sequence-number
/// wrap), replays (also of a packet earlier in the same group), tampered and truncated
/// packets, reordering, and streams that appear in the middle; in two calls, so the second
/// starts from the state the first left; with key derivation rate 0 and 16 (session keys
/// re-derived per stream while packets wait). Same results, same plaintext.
#[test]
fn unprotect_batch_equals_one_by_one() {
    for (profile, mki, kdr) in PROFILES
        .into_iter()
        .flat_map(|p| [(p, false), (p, true)])
        .flat_map(|(p, m)| [(p, m, 0), (p, m, 16)])
    {
        let cfg = SrtpConfig {
            key_derivation_rate: kdr,
            ..SrtpConfig::default()
        };
        let [mut tx, mut single, mut batch] = contexts_with(profile, mki, &cfg);
        let room = tx.rtp_overhead();
        let mut srtp: Vec<Vec<u8>> = Vec::new();
        for i in 0..90u16 {
            let ssrc = 0x2000 + u32::from(i % 4) + if i > 40 { u32::from(i % 3) * 16 } else { 0 };
            let seq = if ssrc == 0x2001 {
                65530u16.wrapping_add(i)
            } else {
                100 + i
            };
            let payload = (usize::from(i) * 131 + 7) % 1201;
            let mut p = rtp(seq, ssrc, payload, room);
            let n = tx.protect_rtp(&mut p, 12 + payload).unwrap();
            p.truncate(n);
            srtp.push(p);
        }
        // disorder: swap neighbours, repeat packets (near and far), tamper, truncate
        for i in (3..srtp.len()).step_by(5) {
            srtp.swap(i - 1, i);
        }
        let mut mixed = Vec::new();
        for (i, p) in srtp.iter().enumerate() {
            mixed.push(p.clone());
            if i % 7 == 3 {
                mixed.push(p.clone()); // a replay in the same group
            }
            if i % 13 == 5 {
                mixed.push(srtp[i / 2].clone()); // an old one
            }
            if i % 11 == 4 {
                let mut t = p.clone();
                let at = t.len() / 2;
                t[at] ^= 0x10;
                mixed.push(t);
            }
            if i % 17 == 8 {
                mixed.push(p[..11].to_vec());
            }
        }
        let want = unprotect_each(&mut single, &mixed);
        let mut got = mixed.clone();
        let mut results = vec![Ok(0); got.len()];
        let (first, second) = got.split_at_mut(37);
        let (r1, r2) = results.split_at_mut(37);
        let mut refs: Vec<&mut [u8]> = first.iter_mut().map(Vec::as_mut_slice).collect();
        batch.unprotect_rtp_batch(&mut refs, r1);
        let mut refs: Vec<&mut [u8]> = second.iter_mut().map(Vec::as_mut_slice).collect();
        batch.unprotect_rtp_batch(&mut refs, r2);
        let accepted = assert_agree(
            &want,
            &results,
            &got,
            &format!("{profile:?} mki {mki} kdr {kdr}"),
        );
        // the mix has refusals of every kind, and most packets pass
        assert!(accepted > 80 && accepted < mixed.len() - 10, "{accepted}");
    }
}

/// `unprotect_rtp_batch` against `unprotect_rtp` where the master key's packet limit
/// (`SrtpConfig::max_rtp_packets`) is reached in the middle of a group of known streams: the
/// packets past the limit are refused with `KeyLifetimeExceeded` in both.
#[test]
fn unprotect_batch_stops_at_the_key_limit() {
    for profile in PROFILES {
        let [mut tx, ..] = contexts(profile, false);
        let cfg = SrtpConfig {
            max_rtp_packets: 21,
            ..SrtpConfig::default()
        };
        let [mut single, mut batch] = contexts_with(profile, false, &cfg);
        let room = tx.rtp_overhead();
        // 8 streams, each made known by its first packet, then 3 rounds over them: the limit
        // (21) falls inside a group of packets waiting for their tags
        let srtp: Vec<Vec<u8>> = (0..32u16)
            .map(|i| {
                let mut p = rtp(500 + i / 8, 0x3000 + u32::from(i % 8), 40, room);
                let n = tx.protect_rtp(&mut p, 52).unwrap();
                p.truncate(n);
                p
            })
            .collect();
        let want = unprotect_each(&mut single, &srtp);
        let mut got = srtp.clone();
        let mut results = vec![Ok(0); got.len()];
        let mut refs: Vec<&mut [u8]> = got.iter_mut().map(Vec::as_mut_slice).collect();
        batch.unprotect_rtp_batch(&mut refs, &mut results);
        let accepted = assert_agree(&want, &results, &got, &format!("{profile:?}"));
        assert_eq!(accepted, 21, "{profile:?}");
    }
}

/// `unprotect_rtp` on each packet in turn: its result and its buffer after.
fn unprotect_each(
    rx: &mut SrtpContext,
    packets: &[Vec<u8>],
) -> Vec<(Result<usize, SrtpError>, Vec<u8>)> {
    packets
        .iter()
        .map(|p| {
            let mut b = p.clone();
            let r = rx.unprotect_rtp(&mut b);
            (r, b)
        })
        .collect()
}

/// Asserts that the batch's `results` and plaintexts `got` are those of `unprotect_each`;
/// returns how many packets were accepted.
fn assert_agree(
    want: &[(Result<usize, SrtpError>, Vec<u8>)],
    results: &[Result<usize, SrtpError>],
    got: &[Vec<u8>],
    what: &str,
) -> usize {
    assert_eq!(results.len(), want.len(), "{what}");
    let mut accepted = 0;
    for (i, ((w, wb), (r, gb))) in want.iter().zip(results.iter().zip(got)).enumerate() {
        assert_eq!(r, w, "{what} packet {i}");
        if let Ok(n) = r {
            assert_eq!(gb[..*n], wb[..*n], "{what} packet {i}");
            accepted += 1;
        }
    }
    accepted
}
