//! Harness functions for the cargo-fuzz targets in `fuzz/` and the stable corpus replay
//! test. Not part of the API.

use crate::{MasterKey, ProtectionProfile, SrtpConfig, SrtpContext};

/// Feeds `data` to `unprotect_rtp` and `unprotect_rtcp` of a fresh receiver for every
/// profile (plus a variant with two master keys told apart by MKI) and panics if any of
/// them accepts it: without the key, arbitrary bytes must never authenticate. Then, if
/// `data` parses as RTP/RTCP, protects it and checks that unprotecting gives the original
/// bytes back.
pub fn unprotect_arbitrary(data: &[u8]) {
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
