//! Harness functions for the cargo-fuzz targets in `fuzz/` and the stable corpus replay
//! test. Not part of the API.

use crate::{MasterKey, ProtectionProfile, SrtpConfig, SrtpContext};

/// Feeds `data` to `unprotect_rtp` and `unprotect_rtcp` of a fresh receiver for every
/// profile (plus a variant with two master keys told apart by MKI) and panics if any of
/// them accepts it: without the key, arbitrary bytes must never authenticate. Then, if
/// `data` parses as RTP/RTCP, protects it and checks that unprotecting gives the original
/// bytes back, and that the batch calls agree with the one-by-one ones (`batch_agrees`).
pub fn unprotect_arbitrary(data: &[u8]) {
    batch_agrees(data);
    let mut buf = Vec::with_capacity(data.len() + 64);
    for profile in ProtectionProfile::ALL {
        for mki in [None, Some(&[0xa5u8, 0x5a][..])] {
            let mut key = [0u8; 46];
            for (i, k) in key.iter_mut().enumerate() {
                *k = i as u8;
            }
            let len = profile.key_len() + profile.salt_len();
            let Ok(mut master) = MasterKey::from_key_salt(profile, &key[..len]) else {
                continue;
            };
            if let Some(m) = mki {
                let Ok(m) = master.clone().with_mki(m) else {
                    continue;
                };
                master = m;
            }
            let Ok(mut rx) = SrtpContext::new(profile, &master, SrtpConfig::default()) else {
                continue;
            };
            if mki.is_some() {
                // a set of two master keys: the packet's MKI picks one (RFC 3711 §8.1)
                let mut second = key;
                second.reverse();
                let Ok(m) = MasterKey::from_key_salt(profile, &second[..len])
                    .and_then(|m| m.with_mki(&[0x5a, 0xa5]))
                else {
                    continue;
                };
                if rx.add_master_key(&m).is_err() {
                    continue;
                }
            }
            buf.clear();
            buf.extend_from_slice(data);
            assert!(
                rx.unprotect_rtp(&mut buf).is_err(),
                "{profile}: random SRTP accepted"
            );
            buf.clear();
            buf.extend_from_slice(data);
            assert!(
                rx.unprotect_rtcp(&mut buf).is_err(),
                "{profile}: random SRTCP accepted"
            );

            // round trip through a sender and a fresh receiver
            let Ok(mut tx) = SrtpContext::new(profile, &master, SrtpConfig::default()) else {
                continue;
            };
            let Ok(mut rx) = SrtpContext::new(profile, &master, SrtpConfig::default()) else {
                continue;
            };
            buf.clear();
            buf.extend_from_slice(data);
            if tx.protect_rtp_vec(&mut buf).is_ok() {
                let n = rx.unprotect_rtp(&mut buf);
                assert_eq!(n.map(|n| &buf[..n]), Ok(data), "{profile}: SRTP round trip");
            }
            buf.clear();
            buf.extend_from_slice(data);
            if tx.protect_rtcp_vec(&mut buf).is_ok() {
                let n = rx.unprotect_rtcp(&mut buf);
                assert_eq!(
                    n.map(|n| &buf[..n]),
                    Ok(data),
                    "{profile}: SRTCP round trip"
                );
            }
        }
    }
}

/// Three RTP packets of three streams whose payloads are pieces of `data` (cut at lengths
/// taken from its first bytes, so the HMAC lanes of a batch end at different blocks),
/// protected by `protect_rtp_batch` and by `protect_rtp` one by one: the same results and
/// bytes; `unprotect_rtp_batch` gives the packets back, and refuses `data` itself and its
/// pieces as SRTP.
fn batch_agrees(data: &[u8]) {
    let cut = |i: usize| usize::from(data.get(i).copied().unwrap_or(0)) * 5;
    let (a, rest) = data.split_at(cut(0).min(data.len()));
    let (b, c) = rest.split_at(cut(1).min(rest.len()));
    let packets: Vec<Vec<u8>> = [a, b, c]
        .iter()
        .enumerate()
        .map(|(i, payload)| {
            let mut p = vec![0x80, 0, 0, 7, 0, 0, 0, 1, 0, 0, 0x10, i as u8];
            p.extend_from_slice(payload);
            p
        })
        .collect();
    for profile in [
        ProtectionProfile::AesCm128HmacSha1_80,
        ProtectionProfile::AesCm256HmacSha1_32,
    ] {
        let key: Vec<u8> = (0..profile.key_len() + profile.salt_len())
            .map(|i| i as u8 ^ 0x3c)
            .collect();
        let Ok(master) = MasterKey::from_key_salt(profile, &key) else {
            continue;
        };
        let new = || SrtpContext::new(profile, &master, SrtpConfig::default()).ok();
        let (Some(mut batch), Some(mut single), Some(mut rx)) = (new(), new(), new()) else {
            continue;
        };
        let room = batch.rtp_overhead();
        let mut by_batch: Vec<Vec<u8>> = packets.clone();
        let mut by_one: Vec<Vec<u8>> = packets.clone();
        let mut results = [Ok(0), Ok(0), Ok(0)];
        {
            let mut refs: Vec<(&mut [u8], usize)> = by_batch
                .iter_mut()
                .map(|p| {
                    let n = p.len();
                    p.resize(n + room, 0);
                    (&mut p[..], n)
                })
                .collect();
            batch.protect_rtp_batch(&mut refs, &mut results);
        }
        for ((p, r), q) in by_one.iter_mut().zip(&results).zip(&by_batch) {
            let n = p.len();
            p.resize(n + room, 0);
            assert_eq!(
                &single.protect_rtp(p, n),
                r,
                "{profile}: protect batch result"
            );
            assert_eq!(p, q, "{profile}: protect batch bytes");
        }
        let lens: Vec<usize> = results.iter().map(|r| *r.as_ref().unwrap_or(&0)).collect();
        let mut back = [Ok(0), Ok(0), Ok(0)];
        {
            let mut refs: Vec<&mut [u8]> = by_batch
                .iter_mut()
                .zip(&lens)
                .map(|(p, n)| &mut p[..*n])
                .collect();
            rx.unprotect_rtp_batch(&mut refs, &mut back);
        }
        for ((p, r), orig) in by_batch.iter().zip(&back).zip(&packets) {
            assert_eq!(
                r.as_ref().map(|n| &p[..*n]),
                Ok(&orig[..]),
                "{profile}: batch round trip"
            );
        }
        // the arbitrary bytes and pieces as SRTP of known streams: never accepted
        let mut raw: Vec<Vec<u8>> = [data, a, b, c].iter().map(|x| x.to_vec()).collect();
        let mut refs: Vec<&mut [u8]> = raw.iter_mut().map(|x| &mut x[..]).collect();
        let mut refused = [Ok(0), Ok(0), Ok(0), Ok(0)];
        rx.unprotect_rtp_batch(&mut refs, &mut refused);
        assert!(
            refused.iter().all(Result::is_err),
            "{profile}: random SRTP accepted in a batch"
        );
    }
}
