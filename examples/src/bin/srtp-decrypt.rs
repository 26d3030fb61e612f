//! `srtp-decrypt`: decrypts the SRTP and SRTCP of a capture, so an encrypted call can be
//! debugged in Wireshark.
//!
//! ```text
//! srtp-decrypt --suite SUITE --key BASE64 [--key BASE64]... [--port N]... [--roc SSRC:ROC]...
//!              IN.pcap|IN.pcapng OUT.pcap
//!     SUITE is an SDES suite name (AES_CM_128_HMAC_SHA1_80, AES_CM_128_HMAC_SHA1_32,
//!     AES_192_CM_HMAC_SHA1_80/32, AES_256_CM_HMAC_SHA1_80/32, AEAD_AES_128_GCM,
//!     AEAD_AES_256_GCM). KEY is the base64 key || salt of an SDES `inline:` parameter; a
//!     leading `inline:` and SDES `|lifetime|MKI:length` parameters are accepted. Give one
//!     --key per direction: each packet is tried with every key. With --port N, datagrams to or
//!     from UDP port N are SRTP or SRTCP (told apart as RFC 5761 says) and port N+1 is SRTCP;
//!     without --port every UDP datagram that looks like RTP/RTCP version 2 is tried.
//!     --roc SSRC:ROC tells the ROC of a stream whose capture starts after a wrap (SSRC in hex
//!     with 0x or decimal). Decrypted packets are written with their original time and
//!     addresses, other UDP (e.g. SIP) unchanged; refused packets are left out. Prints the
//!     counts of decrypted and refused packets per reason.
//! srtp-decrypt --encrypt --suite SUITE --key BASE64 [--port N]... IN OUT.pcap
//!     The reverse: protects the RTP/RTCP of a plain capture (for tests and demos).
//! ```

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::process::ExitCode;

use base64::Engine;
use rtp::Ssrc;
use srtp::{MasterKey, ProtectionProfile, SrtpConfig, SrtpContext, SrtpError};
use telox_examples::cli::Spec;
use telox_examples::pcap::{Capture, PcapWriter};

const USAGE: &str = "usage: srtp-decrypt --suite SUITE --key BASE64 [--key BASE64]... \
    [--port N]... [--roc SSRC:ROC]... IN.pcap OUT.pcap\n       \
    srtp-decrypt --encrypt --suite SUITE --key BASE64 [--port N]... IN.pcap OUT.pcap";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("srtp-decrypt: {e}");
            if e.starts_with("usage") {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

fn run(args: &[String]) -> Result<Report, String> {
    let spec = Spec::new()
        .values(&["suite", "key", "port", "roc"])
        .switches(&["encrypt", "help"]);
    let a = spec
        .parse(args.iter().cloned())
        .map_err(|e| format!("{e}\n{USAGE}"))?;
    if a.flag("help") {
        return Err(USAGE.to_string());
    }
    let [input, output] = a.positional.as_slice() else {
        return Err(USAGE.to_string());
    };
    let suite: ProtectionProfile = a
        .required("suite")
        .map_err(|e| format!("{e}\n{USAGE}"))?
        .parse()
        .map_err(|e| format!("--suite: {e}"))?;
    let keys = a
        .all("key")
        .iter()
        .map(|k| parse_key(suite, k))
        .collect::<Result<Vec<_>, _>>()?;
    if keys.is_empty() {
        return Err(format!("missing --key\n{USAGE}"));
    }
    let ports = a
        .all("port")
        .iter()
        .map(|p| {
            p.parse::<u16>()
                .map_err(|_| format!("--port: bad port {p:?}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let rocs = a
        .all("roc")
        .iter()
        .map(|r| parse_roc(r))
        .collect::<Result<Vec<_>, _>>()?;
    let bytes = std::fs::read(input).map_err(|e| format!("{input}: {e}"))?;
    let opts = Options {
        suite,
        keys,
        ports,
        rocs,
        encrypt: a.flag("encrypt"),
    };
    let (out, report) = process(&bytes, &opts)?;
    std::fs::write(output, out).map_err(|e| format!("{output}: {e}"))?;
    Ok(report)
}

/// What the tool was asked to do.
struct Options {
    suite: ProtectionProfile,
    keys: Vec<MasterKey>,
    ports: Vec<u16>,
    rocs: Vec<(u32, u32)>,
    encrypt: bool,
}

/// Counts printed at the end.
#[derive(Debug, Default)]
struct Report {
    encrypt: bool,
    datagrams: usize,
    rtp: usize,
    rtcp: usize,
    refused: BTreeMap<&'static str, usize>,
    passed: usize,
    skipped_frames: usize,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let verb = if self.encrypt {
            "encrypted"
        } else {
            "decrypted"
        };
        let refused: usize = self.refused.values().sum();
        write!(
            f,
            "{} UDP datagrams: {verb} rtp={} rtcp={}, refused={refused}",
            self.datagrams, self.rtp, self.rtcp
        )?;
        if refused > 0 {
            let reasons: Vec<String> = self
                .refused
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            write!(f, " ({})", reasons.join(" "))?;
        }
        write!(
            f,
            ", passed-through={}, non-udp-frames={}",
            self.passed, self.skipped_frames
        )
    }
}

#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum Kind {
    Rtp,
    Rtcp,
    Other,
}

/// RFC 5761 §4: with RTP and RTCP on one port, the second byte tells them apart
/// ([`telox_examples::media::is_rtcp`]).
fn classify(payload: &[u8], src: SocketAddr, dst: SocketAddr, ports: &[u16]) -> Kind {
    let Some(&b0) = payload.first() else {
        return Kind::Other;
    };
    if b0 >> 6 != 2 || payload.len() < 12 {
        return Kind::Other;
    }
    let demux = if telox_examples::media::is_rtcp(payload) {
        Kind::Rtcp
    } else {
        Kind::Rtp
    };
    if ports.is_empty() {
        return demux;
    }
    let on = |p: u16| src.port() == p || dst.port() == p;
    if ports.iter().any(|&p| on(p)) {
        demux
    } else if ports.iter().any(|&p| p.checked_add(1).is_some_and(on)) {
        Kind::Rtcp
    } else {
        Kind::Other
    }
}

fn process(bytes: &[u8], opts: &Options) -> Result<(Vec<u8>, Report), String> {
    let capture = Capture::parse(bytes).map_err(|e| e.to_string())?;
    let (datagrams, skipped) = capture.udp_datagrams();
    let mut report = Report {
        encrypt: opts.encrypt,
        skipped_frames: skipped,
        ..Report::default()
    };
    let mut writer = PcapWriter::new(Vec::with_capacity(bytes.len())).map_err(|e| e.to_string())?;
    // one context per flow and key: replay state must not mix the two legs of a relay
    let mut flows: HashMap<(SocketAddr, SocketAddr), Vec<SrtpContext>> = HashMap::new();
    let mut buf = Vec::with_capacity(2048);
    for d in &datagrams {
        report.datagrams += 1;
        let kind = classify(d.payload, d.src, d.dst, &opts.ports);
        if kind == Kind::Other {
            report.passed += 1;
            writer
                .write_udp(d.ts, d.src, d.dst, d.payload)
                .map_err(|e| e.to_string())?;
            continue;
        }
        let ctxs = match flows.entry((d.src, d.dst)) {
            std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => {
                let mut list = Vec::with_capacity(opts.keys.len());
                for k in &opts.keys {
                    let mut c = SrtpContext::new(opts.suite, k, SrtpConfig::default())
                        .map_err(|e| e.to_string())?;
                    for &(ssrc, roc) in &opts.rocs {
                        let set = if opts.encrypt {
                            c.set_sender_roc(Ssrc(ssrc), roc)
                        } else {
                            c.set_receiver_roc(Ssrc(ssrc), roc)
                        };
                        set.map_err(|e| e.to_string())?;
                    }
                    list.push(c);
                }
                v.insert(list)
            }
        };
        let mut result: Result<usize, SrtpError> = Err(SrtpError::AuthFailed);
        for ctx in ctxs.iter_mut() {
            buf.clear();
            buf.extend_from_slice(d.payload);
            result = match (opts.encrypt, kind) {
                (true, Kind::Rtp) => ctx.protect_rtp_vec(&mut buf).map(|()| buf.len()),
                (true, _) => ctx.protect_rtcp_vec(&mut buf).map(|()| buf.len()),
                (false, Kind::Rtp) => ctx.unprotect_rtp(&mut buf),
                (false, _) => ctx.unprotect_rtcp(&mut buf),
            };
            // with several keys, an auth failure means "try the next key"
            if !matches!(result, Err(SrtpError::AuthFailed)) {
                break;
            }
        }
        match result {
            Ok(n) => {
                if kind == Kind::Rtp {
                    report.rtp += 1;
                } else {
                    report.rtcp += 1;
                }
                writer
                    .write_udp(d.ts, d.src, d.dst, &buf[..n])
                    .map_err(|e| e.to_string())?;
            }
            Err(e) => *report.refused.entry(e.reason()).or_default() += 1,
        }
    }
    let out = writer.finish().map_err(|e| e.to_string())?;
    Ok((out, report))
}

/// An SDES-style key: optional `inline:`, base64 key || salt, optional `|lifetime` and
/// `|MKI:length` parameters (RFC 4568 §6.1).
fn parse_key(suite: ProtectionProfile, text: &str) -> Result<MasterKey, String> {
    let text = text.strip_prefix("inline:").unwrap_or(text);
    let mut parts = text.split('|');
    let b64 = parts.next().unwrap_or_default();
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(b64))
        .map_err(|e| format!("--key: not base64 ({e})"))?;
    let mut key = MasterKey::from_key_salt(suite, &raw).map_err(|e| format!("--key: {e}"))?;
    for p in parts {
        if let Some((value, len)) = p.split_once(':') {
            let value: u128 = value.parse().map_err(|_| format!("--key: bad MKI {p:?}"))?;
            let len: usize = len
                .parse()
                .map_err(|_| format!("--key: bad MKI length {p:?}"))?;
            if !(1..=16).contains(&len) {
                return Err(format!("--key: MKI length {len} not in 1..=16"));
            }
            let be = value.to_be_bytes();
            key = key
                .with_mki(&be[16 - len..])
                .map_err(|e| format!("--key: {e}"))?;
        }
    }
    Ok(key)
}

fn parse_roc(text: &str) -> Result<(u32, u32), String> {
    let bad = || format!("--roc: expected SSRC:ROC, got {text:?}");
    let (s, r) = text.split_once(':').ok_or_else(bad)?;
    let ssrc = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u32::from_str_radix(h, 16).map_err(|_| bad())?,
        None => s.parse().map_err(|_| bad())?,
    };
    Ok((ssrc, r.parse().map_err(|_| bad())?))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const KEY: &str = "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz";

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    /// A plain capture: 40 RTP packets across a sequence wrap, 2 RTCP SRs, one SIP datagram.
    fn plain_capture() -> Vec<u8> {
        let mut w = PcapWriter::new(Vec::new()).unwrap();
        let (a, b) = (addr("10.0.0.1:4000"), addr("10.0.0.2:5000"));
        w.write_udp(
            Duration::from_secs(1),
            addr("10.0.0.1:5060"),
            addr("10.0.0.2:5060"),
            b"OPTIONS sip:x SIP/2.0\r\n\r\n",
        )
        .unwrap();
        for i in 0..40u16 {
            let seq = 65520u16.wrapping_add(i);
            let mut p = vec![0x80, 0x00];
            p.extend_from_slice(&seq.to_be_bytes());
            p.extend_from_slice(&(u32::from(i) * 160).to_be_bytes());
            p.extend_from_slice(&0x1122_3344u32.to_be_bytes());
            p.extend(std::iter::repeat_n(i as u8, 160));
            w.write_udp(Duration::from_millis(1000 + 20 * u64::from(i)), a, b, &p)
                .unwrap();
            if i % 20 == 0 {
                let mut r = vec![0x80, 200, 0, 6];
                r.extend_from_slice(&0x1122_3344u32.to_be_bytes());
                r.extend_from_slice(&[7; 20]);
                w.write_udp(Duration::from_millis(1001 + 20 * u64::from(i)), a, b, &r)
                    .unwrap();
            }
        }
        w.finish().unwrap()
    }

    fn opts(suite: ProtectionProfile, encrypt: bool) -> Options {
        let key = base64::engine::general_purpose::STANDARD.encode(
            (0..suite.key_len() + suite.salt_len())
                .map(|i| i as u8 * 3)
                .collect::<Vec<u8>>(),
        );
        Options {
            suite,
            keys: vec![parse_key(suite, &key).unwrap()],
            ports: vec![],
            rocs: vec![],
            encrypt,
        }
    }

    fn payloads(pcap: &[u8]) -> Vec<Vec<u8>> {
        let c = Capture::parse(pcap).unwrap();
        c.udp_datagrams()
            .0
            .iter()
            .map(|d| d.payload.to_vec())
            .collect()
    }

    #[test]
    fn encrypt_then_decrypt_gives_the_capture_back() {
        for suite in [
            ProtectionProfile::AesCm128HmacSha1_80,
            ProtectionProfile::AeadAes256Gcm,
        ] {
            let plain = plain_capture();
            let (enc, r) = process(&plain, &opts(suite, true)).unwrap();
            assert_eq!((r.rtp, r.rtcp, r.passed), (40, 2, 1));
            assert_ne!(payloads(&enc), payloads(&plain));
            let (dec, r) = process(&enc, &opts(suite, false)).unwrap();
            assert_eq!(
                (r.rtp, r.rtcp, r.passed, r.refused.len()),
                (40, 2, 1, 0),
                "{r}"
            );
            assert_eq!(payloads(&dec), payloads(&plain));
            // a wrong key refuses everything, by reason
            let mut wrong = opts(suite, false);
            wrong.keys = vec![
                MasterKey::from_key_salt(suite, &vec![9; suite.key_len() + suite.salt_len()])
                    .unwrap(),
            ];
            let (_, r) = process(&enc, &wrong).unwrap();
            assert_eq!((r.rtp, r.refused.get("auth").copied()), (0, Some(42)));
            // with both keys, the right one is found
            wrong.keys.push(opts(suite, false).keys.remove(0));
            let (_, r) = process(&enc, &wrong).unwrap();
            assert_eq!(r.rtp, 40);
        }
    }

    #[test]
    fn replayed_and_tampered_packets_are_counted() {
        let suite = ProtectionProfile::AesCm128HmacSha1_80;
        let (enc, _) = process(&plain_capture(), &opts(suite, true)).unwrap();
        let c = Capture::parse(&enc).unwrap();
        let (ds, _) = c.udp_datagrams();
        let mut w = PcapWriter::new(Vec::new()).unwrap();
        for d in &ds {
            w.write_udp(d.ts, d.src, d.dst, d.payload).unwrap();
        }
        let d = &ds[5];
        w.write_udp(d.ts, d.src, d.dst, d.payload).unwrap(); // replay
        let mut t = ds[6].payload.to_vec();
        t[20] ^= 1;
        w.write_udp(d.ts, d.src, d.dst, &t).unwrap(); // tampered (and a replayed index)
        let mut t = ds[7].payload.to_vec();
        t[2] = t[2].wrapping_add(1);
        t[3] = 0x7f;
        w.write_udp(d.ts, d.src, d.dst, &t).unwrap(); // new index, bad tag
        let (_, r) = process(&w.finish().unwrap(), &opts(suite, false)).unwrap();
        assert_eq!(r.refused.get("replay"), Some(&2));
        assert_eq!(r.refused.get("auth"), Some(&1));
        assert!(r.to_string().contains("refused=3 (auth=1 replay=2)"), "{r}");
    }

    #[test]
    fn ports_roc_and_key_parsing() {
        let (a, b) = (addr("1.1.1.1:4000"), addr("2.2.2.2:4001"));
        let rtp = [0x80u8, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1];
        assert_eq!(classify(&rtp, a, b, &[]), Kind::Rtp);
        assert_eq!(classify(&rtp, a, b, &[4000]), Kind::Rtp);
        assert_eq!(classify(&rtp, a, b, &[3999]), Kind::Rtcp);
        assert_eq!(classify(&rtp, a, b, &[5000]), Kind::Other);
        assert_eq!(classify(b"INVITE sip:x", a, b, &[]), Kind::Other);
        assert_eq!(parse_roc("0x10:3"), Ok((16, 3)));
        assert!(parse_roc("x").is_err());
        let s = ProtectionProfile::AesCm128HmacSha1_80;
        let k = parse_key(s, &format!("inline:{KEY}|2^20|1:4")).unwrap();
        assert_eq!(k.mki(), &[0, 0, 0, 1]);
        assert!(parse_key(s, "!!!").is_err());
        assert!(parse_key(ProtectionProfile::AeadAes128Gcm, KEY).is_err());
        assert!(run(&["--suite".into(), "NOPE".into(), "a".into(), "b".into()]).is_err());
    }
}
