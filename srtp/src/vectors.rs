//! RFC vectors that start below the public API (session keys, raw keystream, the PRF):
//! RFC 3711 B.2/B.3, RFC 6188 §7, RFC 7714 §16/§17. Data in `tests/data/` (see its README).

use std::collections::HashMap;

use crate::crypto::{AesEnc, Gcm, Salt, gcm_iv, kdf};

/// One `[table]` or `[[array.entry]]` of the vector files: name and string values.
struct Table {
    name: String,
    values: HashMap<String, String>,
}

impl Table {
    fn hex(&self, key: &str) -> Vec<u8> {
        let v = self
            .values
            .get(key)
            .unwrap_or_else(|| panic!("{}: no {key}", self.name));
        unhex(v)
    }
}

/// A reader for the flat subset of TOML the vector files use (tables, arrays of tables,
/// `key = "string"` or bare scalars, `#` comments).
fn tables(text: &str) -> Vec<Table> {
    let mut out = vec![Table {
        name: String::new(),
        values: HashMap::new(),
    }];
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[') {
            let name = name.trim_start_matches('[').trim_end_matches(']');
            out.push(Table {
                name: name.to_string(),
                values: HashMap::new(),
            });
            continue;
        }
        let (k, v) = line.split_once('=').expect("key = value");
        let v = v.trim();
        let v = match v.strip_prefix('"') {
            Some(rest) => rest.split('"').next().expect("closing quote").to_string(),
            None => v.split('#').next().expect("value").trim().to_string(),
        };
        out.last_mut()
            .expect("a table")
            .values
            .insert(k.trim().to_string(), v);
    }
    out
}

fn table<'a>(ts: &'a [Table], name: &str) -> &'a Table {
    ts.iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("no table {name}"))
}

fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex {s}");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn keystream(key: &[u8], iv16: &[u8], counter: u16, blocks: usize) -> Vec<u8> {
    let aes = AesEnc::new(key).expect("key length");
    let mut iv = [0u8; 16];
    iv.copy_from_slice(iv16);
    iv[14..].copy_from_slice(&counter.to_be_bytes());
    let mut out = vec![0u8; 16 * blocks];
    aes.apply_keystream(iv, &mut out);
    out
}

const RFC3711: &str = include_str!("../tests/data/rfc3711.toml");
const RFC6188: &str = include_str!("../tests/data/rfc6188.toml");
const RFC7714: &str = include_str!("../tests/data/rfc7714.toml");

#[test]
fn rfc3711_b2_keystream() {
    let ts = tables(RFC3711);
    let ks = table(&ts, "aes_cm_keystream");
    let key = ks.hex("session_key");
    let iv = ks.hex("offset");
    let blocks: Vec<_> = ts
        .iter()
        .filter(|t| t.name == "aes_cm_keystream.blocks")
        .collect();
    assert_eq!(blocks.len(), 6);
    for b in blocks {
        let c = u16::from_str_radix(&b.values["counter"], 16).unwrap();
        assert_eq!(
            keystream(&key, &iv, c, 1),
            b.hex("keystream"),
            "counter {c:04x}"
        );
    }
    // one call over 3 blocks equals the three single blocks (counter increments)
    let three = keystream(&key, &iv, 0, 3);
    let want: Vec<u8> = ts
        .iter()
        .filter(|t| t.name == "aes_cm_keystream.blocks")
        .take(3)
        .flat_map(|t| t.hex("keystream"))
        .collect();
    assert_eq!(three, want);
}

#[test]
fn rfc3711_b3_key_derivation() {
    let ts = tables(RFC3711);
    let kd = table(&ts, "key_derivation");
    let prf = AesEnc::new(&kd.hex("master_key")).unwrap();
    let salt = kd.hex("master_salt");
    let outs: Vec<_> = ts
        .iter()
        .filter(|t| t.name == "key_derivation.outputs")
        .collect();
    assert_eq!(outs.len(), 3);
    for o in outs {
        let label = unhex(&o.values["label"])[0];
        let len: usize = o.values["length_octets"].parse().unwrap();
        let mut out = vec![0u8; len];
        kdf(&prf, &salt, label, 0, &mut out);
        assert_eq!(out, o.hex("value"), "label {label}");
    }
}

#[test]
fn rfc6188_keystreams_and_prfs() {
    let ts = tables(RFC6188);
    for name in ["aes_256_cm_keystream", "aes_192_cm_keystream"] {
        let t = table(&ts, name);
        let (key, iv) = (t.hex("session_key"), t.hex("session_salt_shifted"));
        for c in 0u16..3 {
            let k = format!("keystream_counter_{c:04}");
            if t.values.contains_key(&k) {
                assert_eq!(keystream(&key, &iv, c, 1), t.hex(&k), "{name} {k}");
            }
        }
    }
    for name in ["aes_256_cm_prf", "aes_192_cm_prf"] {
        let t = table(&ts, name);
        let prf = AesEnc::new(&t.hex("master_key")).unwrap();
        let salt = t.hex("master_salt");
        for (label, key) in [
            (0u8, "cipher_key_label_00"),
            (2, "cipher_salt_label_02"),
            (1, "auth_key_label_01"),
        ] {
            let want = t.hex(key);
            let mut out = vec![0u8; want.len()];
            kdf(&prf, &salt, label, 0, &mut out);
            assert_eq!(out, want, "{name} {key}");
        }
    }
}

fn gcm(key: &[u8]) -> Gcm {
    Gcm::new(key).expect("gcm key")
}

fn salt12(s: &[u8]) -> Salt {
    let mut x = [0u8; 14];
    x[..12].copy_from_slice(s);
    Salt(x)
}

#[test]
fn rfc7714_srtp_packets() {
    let ts = tables(RFC7714);
    let c = table(&ts, "common");
    let salt = salt12(&c.hex("salt"));
    let rtp = c.hex("rtp_packet");
    let ssrc = u32::from_be_bytes([rtp[8], rtp[9], rtp[10], rtp[11]]);
    let seq = u16::from_be_bytes([rtp[2], rtp[3]]);
    let iv = gcm_iv(&salt, ssrc, u64::from(seq));
    assert_eq!(iv.to_vec(), c.hex("rtp_iv"));
    let mut n = 0;
    for t in ts.iter().filter(|t| t.name == "srtp") {
        let key = if t.values["cipher"].contains("256") {
            c.hex("key_256")
        } else {
            c.hex("key_128")
        };
        let g = gcm(&key);
        let mut body = rtp[12..].to_vec();
        let tag = g.seal(&iv, &rtp[..12], &mut body);
        assert_eq!(body, t.hex("ciphertext_payload"));
        assert_eq!(tag.to_vec(), t.hex("tag"));
        let mut pkt = rtp[..12].to_vec();
        pkt.extend_from_slice(&body);
        pkt.extend_from_slice(&tag);
        assert_eq!(pkt, t.hex("srtp_packet"));
        // decrypt (16.x.2) and a flipped bit fails
        assert!(g.open(&iv, &rtp[..12], &mut body, &tag));
        assert_eq!(body, rtp[12..]);
        let mut bad = tag;
        bad[15] ^= 1;
        assert!(!g.open(&iv, &rtp[..12], &mut body, &bad));
        n += 1;
    }
    for t in ts.iter().filter(|t| t.name == "srtp_tag_only") {
        let key = if t.values["cipher"].contains("256") {
            c.hex("key_256")
        } else {
            c.hex("key_128")
        };
        let tag = gcm(&key).seal(&iv, &rtp, &mut []);
        assert_eq!(tag.to_vec(), t.hex("tag"));
        n += 1;
    }
    assert_eq!(n, 4);
}

#[test]
fn rfc7714_srtcp_packets() {
    let ts = tables(RFC7714);
    let c = table(&ts, "common");
    let salt = salt12(&c.hex("salt"));
    let rtcp = c.hex("rtcp_packet");
    let ssrc = u32::from_be_bytes([rtcp[4], rtcp[5], rtcp[6], rtcp[7]]);
    let index = u32::from_be_bytes(c.hex("srtcp_index").try_into().unwrap());
    let iv = gcm_iv(&salt, ssrc, u64::from(index));
    assert_eq!(iv.to_vec(), c.hex("rtcp_iv"));
    let mut n = 0;
    for t in ts.iter().filter(|t| t.name == "srtcp") {
        let key = if t.values["cipher"].contains("256") {
            c.hex("key_256")
        } else {
            c.hex("key_128")
        };
        let g = gcm(&key);
        let encrypted = t.values["encrypted"] == "true";
        let word = (u32::from(encrypted) << 31 | index).to_be_bytes();
        let mut pkt = rtcp.clone();
        let tag = if encrypted {
            let mut aad = rtcp[..8].to_vec();
            aad.extend_from_slice(&word);
            assert_eq!(aad, t.hex("aad"));
            let tag = g.seal(&iv, &aad, &mut pkt[8..]);
            assert_eq!(pkt[8..].to_vec(), t.hex("ciphertext"));
            tag
        } else {
            let mut aad = rtcp.clone();
            aad.extend_from_slice(&word);
            g.seal(&iv, &aad, &mut [])
        };
        assert_eq!(tag.to_vec(), t.hex("tag"));
        pkt.extend_from_slice(&tag);
        pkt.extend_from_slice(&word);
        assert_eq!(pkt, t.hex("srtcp_packet"));
        n += 1;
    }
    assert_eq!(n, 4);
}
