//! Interop harness against libsrtp2: drives the `srtp_ref` line tool (built from
//! `.ci/interop/srtp/srtp_ref.c`) as a coprocess and checks, for every profile both sides
//! implement, thousands of random packets across a sequence-number wrap with reordering in
//! both directions (libsrtp protects -> telox unprotects and the other way round), SRTP and
//! SRTCP, tampered and replayed packets refused by both, a late joiner given the ROC, and
//! two master keys selected per packet by their MKI.
//!
//! Usage: `srtp_interop PATH/TO/srtp_ref [PACKETS_PER_PROFILE]`. Prints `ok`/`FAIL` lines and
//! `srtp_interop: N passed, M failed`; exits non-zero on any failure.

use std::error::Error;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use rtp::Ssrc;
use telox_srtp::{MasterKey, ProtectionProfile, SrtpConfig, SrtpContext, SrtpError};

type Res<T> = Result<T, Box<dyn Error>>;

struct Ref {
    child: Child,
    input: BufWriter<ChildStdin>,
    output: BufReader<ChildStdout>,
}

impl Ref {
    fn start(path: &str) -> Res<Self> {
        let mut child = Command::new(path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let input = BufWriter::new(child.stdin.take().ok_or("no stdin")?);
        let output = BufReader::new(child.stdout.take().ok_or("no stdout")?);
        Ok(Self {
            child,
            input,
            output,
        })
    }

    fn ask(&mut self, line: &str) -> Res<String> {
        writeln!(self.input, "{line}")?;
        self.input.flush()?;
        let mut out = String::new();
        if self.output.read_line(&mut out)? == 0 {
            return Err("srtp_ref exited".into());
        }
        Ok(out.trim_end().to_string())
    }
}

/// xorshift64*: a seeded generator, so a failing run can be repeated.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Res<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return Err(format!("odd hex: {s}").into());
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2).ok_or("hex")?, 16).map_err(Into::into))
        .collect()
}

#[derive(Default)]
struct Tally {
    pass: usize,
    fail: usize,
}

impl Tally {
    fn check(&mut self, what: &str, ok: bool, detail: impl FnOnce() -> String) {
        if ok {
            self.pass += 1;
        } else {
            self.fail += 1;
            if self.fail <= 30 {
                println!("FAIL - {what}: {}", detail());
            }
        }
    }
}

fn rtp_packet(rng: &mut Rng, seq: u16, ssrc: u32) -> Vec<u8> {
    let cc = if rng.below(8) == 0 { 1 } else { 0 };
    let ext = rng.below(8) == 0;
    let mut p = vec![
        0x80 | cc | if ext { 0x10 } else { 0 },
        (rng.below(128)) as u8,
    ];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&(u32::from(seq).wrapping_mul(160)).to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    if cc == 1 {
        p.extend_from_slice(&rng.bytes(4));
    }
    if ext {
        p.extend_from_slice(&[0xbe, 0xde, 0x00, 0x01]);
        p.extend_from_slice(&rng.bytes(4));
    }
    let len = [0usize, 1, 20, 160, 1200][rng.below(5) as usize] + rng.below(40) as usize;
    p.extend_from_slice(&rng.bytes(len));
    p
}

fn rtcp_packet(rng: &mut Rng, ssrc: u32) -> Vec<u8> {
    // SR (RC 0) + an SDES-like second packet of random words
    let words = 1 + rng.below(10) as usize;
    let mut p = vec![0x80, 200, 0, 6];
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(&rng.bytes(20));
    p.extend_from_slice(&[0x81, 202, 0, words as u8]);
    p.extend_from_slice(&rng.bytes(4 * words));
    p
}

/// Swaps some neighbours (distance <= 3) so packets arrive reordered but inside any window.
fn reorder<T>(rng: &mut Rng, v: &mut [T]) {
    let n = v.len();
    for i in 0..n {
        if rng.below(4) == 0 {
            let j = (i + 1 + rng.below(3) as usize).min(n - 1);
            v.swap(i, j);
        }
    }
}

fn run_profile(
    r: &mut Ref,
    rng: &mut Rng,
    t: &mut Tally,
    p: ProtectionProfile,
    n: usize,
) -> Res<()> {
    let ks = rng.bytes(p.key_len() + p.salt_len());
    let master = MasterKey::from_key_salt(p, &ks)?;
    let k = hex(&ks);
    let name = p.name();
    r.ask("reset")?;
    let ssrc = (rng.next() as u32) | 1;
    let start = 65535 - (n as u16 / 2).min(30000);

    // 1. libsrtp protects -> telox unprotects (reordered), across the wrap
    let mut rx = SrtpContext::new(p, &master, SrtpConfig::default())?;
    let mut items = Vec::with_capacity(n);
    for i in 0..n {
        let plain = rtp_packet(rng, start.wrapping_add(i as u16), ssrc);
        let out = r.ask(&format!("protect {name} {k} {}", hex(&plain)))?;
        items.push((plain, unhex(&out)?));
    }
    reorder(rng, &mut items);
    let mut ok = 0;
    for (plain, prot) in &items {
        let mut b = prot.clone();
        let got = rx.unprotect_rtp(&mut b).map(|m| b[..m].to_vec());
        t.check(
            &format!("{name} libsrtp->telox SRTP"),
            got.as_ref() == Ok(plain),
            || format!("{got:?}"),
        );
        ok += usize::from(got.is_ok());
    }
    println!("ok   - {name}: libsrtp -> telox SRTP {ok}/{n} (seq {start}.., wrap, reordered)");
    t.check(
        &format!("{name} receiver ROC after wrap"),
        rx.receiver_roc(Ssrc(ssrc)) == Some(1),
        || format!("{:?}", rx.receiver_roc(Ssrc(ssrc))),
    );
    // replayed and tampered, refused by telox
    for (_, prot) in items.iter().rev().take(20) {
        let mut b = prot.clone();
        let got = rx.unprotect_rtp(&mut b);
        t.check(
            &format!("{name} telox refuses replay"),
            matches!(
                got,
                Err(SrtpError::Replay { .. }) | Err(SrtpError::TooOld { .. })
            ),
            || format!("{got:?}"),
        );
    }
    for j in 0..20u16 {
        let plain = rtp_packet(rng, start.wrapping_add(n as u16 + j), ssrc);
        let mut prot = unhex(&r.ask(&format!("protect {name} {k} {}", hex(&plain)))?)?;
        let at = 12 + rng.below((prot.len() - 12) as u64) as usize;
        prot[at] ^= 1 << rng.below(8);
        let got = rx.unprotect_rtp(&mut prot);
        t.check(
            &format!("{name} telox refuses tampered"),
            got.is_err(),
            || format!("{got:?}"),
        );
    }

    // 2. telox protects -> libsrtp unprotects (reordered)
    let mut tx = SrtpContext::new(p, &master, SrtpConfig::default())?;
    let ssrc2 = ssrc ^ 0x8000_0000;
    let mut items = Vec::with_capacity(n);
    for i in 0..n {
        let plain = rtp_packet(rng, start.wrapping_add(i as u16), ssrc2);
        let mut b = plain.clone();
        tx.protect_rtp_vec(&mut b)?;
        items.push((plain, b));
    }
    reorder(rng, &mut items);
    let mut ok = 0;
    for (plain, prot) in &items {
        let out = r.ask(&format!("unprotect {name} {k} {}", hex(prot)))?;
        let good = out == hex(plain);
        t.check(&format!("{name} telox->libsrtp SRTP"), good, || out.clone());
        ok += usize::from(good);
    }
    println!("ok   - {name}: telox -> libsrtp SRTP {ok}/{n} (seq {start}.., wrap, reordered)");
    let roc = r.ask(&format!("get_roc {name} {k} in {ssrc2}"))?;
    t.check(
        &format!("{name} libsrtp ROC after wrap"),
        roc == "1",
        || roc.clone(),
    );
    for (_, prot) in items.iter().rev().take(20) {
        let out = r.ask(&format!("unprotect {name} {k} {}", hex(prot)))?;
        t.check(
            &format!("{name} libsrtp refuses replay"),
            out.starts_with("ERR 9") || out.starts_with("ERR 10"),
            || out.clone(),
        );
    }
    for j in 0..20u16 {
        let mut b = rtp_packet(rng, start.wrapping_add(n as u16 + j), ssrc2);
        tx.protect_rtp_vec(&mut b)?;
        let at = 12 + rng.below((b.len() - 12) as u64) as usize;
        b[at] ^= 1 << rng.below(8);
        let out = r.ask(&format!("unprotect {name} {k} {}", hex(&b)))?;
        t.check(
            &format!("{name} libsrtp refuses tampered"),
            out.starts_with("ERR "),
            || out.clone(),
        );
    }

    // 3. SRTCP both ways (libsrtp starts its index at 1; the receiver does not care)
    let m = n / 4;
    let mut items = Vec::with_capacity(m);
    for _ in 0..m {
        let plain = rtcp_packet(rng, ssrc);
        let out = r.ask(&format!("protect_rtcp {name} {k} {}", hex(&plain)))?;
        items.push((plain, unhex(&out)?));
    }
    reorder(rng, &mut items);
    for (plain, prot) in &items {
        let mut b = prot.clone();
        let got = rx.unprotect_rtcp(&mut b).map(|x| b[..x].to_vec());
        t.check(
            &format!("{name} libsrtp->telox SRTCP"),
            got.as_ref() == Ok(plain),
            || format!("{got:?}"),
        );
    }
    for (_, prot) in items.iter().rev().take(10) {
        let mut b = prot.clone();
        let got = rx.unprotect_rtcp(&mut b);
        t.check(
            &format!("{name} telox refuses SRTCP replay"),
            matches!(got, Err(SrtpError::Replay { .. })),
            || format!("{got:?}"),
        );
    }
    let mut items = Vec::with_capacity(m);
    for _ in 0..m {
        let plain = rtcp_packet(rng, ssrc2);
        let mut b = plain.clone();
        tx.protect_rtcp_vec(&mut b)?;
        items.push((plain, b));
    }
    reorder(rng, &mut items);
    for (plain, prot) in &items {
        let out = r.ask(&format!("unprotect_rtcp {name} {k} {}", hex(prot)))?;
        t.check(
            &format!("{name} telox->libsrtp SRTCP"),
            out == hex(plain),
            || out.clone(),
        );
    }
    for (_, prot) in items.iter().rev().take(10) {
        let out = r.ask(&format!("unprotect_rtcp {name} {k} {}", hex(prot)))?;
        t.check(
            &format!("{name} libsrtp refuses SRTCP replay"),
            out.starts_with("ERR 9"),
            || out.clone(),
        );
        let mut b = prot.clone();
        b[9] ^= 0x10;
        let got = rx.unprotect_rtcp(&mut b);
        t.check(
            &format!("{name} telox refuses tampered SRTCP"),
            got.is_err(),
            || format!("{got:?}"),
        );
    }
    println!("ok   - {name}: SRTCP {m} each way, replay and tamper checks");

    // 4. late joiners: each side told the other's ROC out of band
    let ssrc3 = ssrc ^ 0x0F0F_0000;
    let mut late_tx = SrtpContext::new(p, &master, SrtpConfig::default())?;
    late_tx.set_sender_roc(Ssrc(ssrc3), 5)?;
    let plain = rtp_packet(rng, 7, ssrc3);
    let mut b = plain.clone();
    late_tx.protect_rtp_vec(&mut b)?;
    let out = r.ask(&format!("unprotect {name} {k} {}", hex(&b)))?;
    t.check(
        &format!("{name} libsrtp late joiner without ROC fails"),
        out.starts_with("ERR 7"),
        || out.clone(),
    );
    r.ask(&format!("set_roc {name} {k} in {ssrc3} 5"))?;
    let out = r.ask(&format!("unprotect {name} {k} {}", hex(&b)))?;
    t.check(
        &format!("{name} libsrtp late joiner with ROC"),
        out == hex(&plain),
        || out.clone(),
    );
    let ssrc4 = ssrc ^ 0x00F0_F000;
    r.ask(&format!("set_roc {name} {k} out {ssrc4} 9"))?;
    let plain = rtp_packet(rng, 3, ssrc4);
    let prot = unhex(&r.ask(&format!("protect {name} {k} {}", hex(&plain)))?)?;
    let mut b = prot.clone();
    let got = rx.unprotect_rtp(&mut b);
    t.check(
        &format!("{name} telox late joiner without ROC fails"),
        got == Err(SrtpError::AuthFailed),
        || format!("{got:?}"),
    );
    rx.set_receiver_roc(Ssrc(ssrc4), 9)?;
    let mut b = prot;
    let got = rx.unprotect_rtp(&mut b).map(|x| b[..x].to_vec());
    t.check(
        &format!("{name} telox late joiner with ROC"),
        got.as_ref() == Ok(&plain),
        || format!("{got:?}"),
    );
    Ok(())
}

/// Several master keys told apart by their MKI (RFC 3711 §8.1), both ways: the sender picks
/// a key per packet, the receiver follows the packet's MKI; SRTCP too; an MKI the receiver
/// does not know is refused by both.
fn run_mki(r: &mut Ref, rng: &mut Rng, t: &mut Tally, p: ProtectionProfile, n: usize) -> Res<()> {
    let name = p.name();
    let ks: Vec<Vec<u8>> = (0..3)
        .map(|_| rng.bytes(p.key_len() + p.salt_len()))
        .collect();
    let mkis = [[0xa0u8, 0, 0, 1], [0xa0, 0, 0, 2], [0xa0, 0, 0, 3]];
    let key = |i: usize| -> Res<MasterKey> {
        Ok(MasterKey::from_key_salt(p, &ks[i])?.with_mki(&mkis[i])?)
    };
    let spec = format!(
        "{}:{},{}:{}",
        hex(&ks[0]),
        hex(&mkis[0]),
        hex(&ks[1]),
        hex(&mkis[1])
    );
    let pair = || -> Res<SrtpContext> {
        let mut c = SrtpContext::new(p, &key(0)?, SrtpConfig::default())?;
        c.add_master_key(&key(1)?)?;
        Ok(c)
    };
    r.ask("reset")?;
    let (mut rx, mut tx) = (pair()?, pair()?);
    let ssrc = (rng.next() as u32) | 1;
    let m = (n / 4).max(8);
    let (mut ok_in, mut ok_out) = (0, 0);
    for i in 0..m {
        let which = rng.below(2) as usize;
        let plain = rtp_packet(rng, i as u16, ssrc);
        let out = r.ask(&format!(
            "protect_mki {name} {spec} {which} {}",
            hex(&plain)
        ))?;
        let mut b = unhex(&out)?;
        let got = rx.unprotect_rtp(&mut b).map(|x| b[..x].to_vec());
        t.check(
            &format!("{name} libsrtp->telox SRTP with MKI"),
            got.as_ref() == Ok(&plain),
            || format!("{got:?}"),
        );
        ok_in += usize::from(got.is_ok());

        let which = rng.below(2) as usize;
        tx.select_master_key(&mkis[which])?;
        let plain = rtp_packet(rng, i as u16, ssrc ^ 0x8000_0000);
        let mut b = plain.clone();
        tx.protect_rtp_vec(&mut b)?;
        let out = r.ask(&format!("unprotect_mki {name} {spec} {}", hex(&b)))?;
        t.check(
            &format!("{name} telox->libsrtp SRTP with MKI"),
            out == hex(&plain),
            || out.clone(),
        );
        ok_out += usize::from(out == hex(&plain));
    }
    // libsrtp 2.5 looks for an SRTCP packet's MKI in front of a tag of the *RTP* length
    // (srtp_get_session_keys uses rtp_auth), so with the _32 suites, whose SRTCP tag is
    // 80 bits, it cannot unprotect any SRTCP packet with an MKI, its own included; telox
    // places the MKI as RFC 3711 §3.4 says, where libsrtp's own sender puts it.
    let libsrtp_rtcp_mki_bug = p.rtp_tag_len() != p.rtcp_tag_len();
    if libsrtp_rtcp_mki_bug {
        let plain = rtcp_packet(rng, ssrc);
        let own = r.ask(&format!("protect_rtcp_mki {name} {spec} 0 {}", hex(&plain)))?;
        let back = r.ask(&format!("unprotect_rtcp_mki {name} {spec} {own}"))?;
        println!(
            "skip - {name}: telox -> libsrtp SRTCP with MKI (libsrtp 2.5 refuses its own such packet: {back})"
        );
        let mut b = unhex(&own)?;
        let got = rx.unprotect_rtcp(&mut b).map(|x| b[..x].to_vec());
        t.check(
            &format!("{name} libsrtp->telox SRTCP with MKI"),
            got.as_ref() == Ok(&plain),
            || format!("{got:?}"),
        );
    }
    for i in 0..10 {
        let which = i % 2;
        let plain = rtcp_packet(rng, ssrc);
        let out = r.ask(&format!(
            "protect_rtcp_mki {name} {spec} {which} {}",
            hex(&plain)
        ))?;
        let mut b = unhex(&out)?;
        let got = rx.unprotect_rtcp(&mut b).map(|x| b[..x].to_vec());
        t.check(
            &format!("{name} libsrtp->telox SRTCP with MKI"),
            got.as_ref() == Ok(&plain),
            || format!("{got:?}"),
        );
        if libsrtp_rtcp_mki_bug {
            continue;
        }
        tx.select_master_key(&mkis[1 - which])?;
        let plain = rtcp_packet(rng, ssrc ^ 0x8000_0000);
        let mut b = plain.clone();
        tx.protect_rtcp_vec(&mut b)?;
        let out = r.ask(&format!("unprotect_rtcp_mki {name} {spec} {}", hex(&b)))?;
        t.check(
            &format!("{name} telox->libsrtp SRTCP with MKI"),
            out == hex(&plain),
            || out.clone(),
        );
    }
    // a third key only one side knows: its MKI is refused, not tried
    let spec3 = format!("{}:{}", hex(&ks[2]), hex(&mkis[2]));
    let plain = rtp_packet(rng, 1, ssrc ^ 0x0F0F_0000);
    let out = r.ask(&format!("protect_mki {name} {spec3} 0 {}", hex(&plain)))?;
    let mut b = unhex(&out)?;
    let got = rx.unprotect_rtp(&mut b);
    t.check(
        &format!("{name} telox refuses an unknown MKI"),
        got == Err(SrtpError::MkiMismatch),
        || format!("{got:?}"),
    );
    tx.add_master_key(&key(2)?)?;
    tx.select_master_key(&mkis[2])?;
    let mut b = rtp_packet(rng, m as u16, ssrc ^ 0x8000_0000);
    tx.protect_rtp_vec(&mut b)?;
    let out = r.ask(&format!("unprotect_mki {name} {spec} {}", hex(&b)))?;
    t.check(
        &format!("{name} libsrtp refuses an unknown MKI"),
        out.starts_with("ERR 25"),
        || out.clone(),
    );
    println!(
        "ok   - {name}: two master keys by MKI, SRTP libsrtp -> telox {ok_in}/{m}, telox -> libsrtp {ok_out}/{m}, SRTCP with MKI, unknown MKI refused"
    );
    Ok(())
}

fn main() -> Res<()> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or("usage: srtp_interop PATH/TO/srtp_ref [PACKETS]")?;
    let n: usize = args.next().map_or(Ok(2000), |s| s.parse())?;
    let seed = std::env::var("SRTP_INTEROP_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_0001);
    let mut r = Ref::start(&path)?;
    println!(
        "# libsrtp {} , seed {seed}, {n} packets per profile and direction",
        r.ask("version")?
    );
    let mut rng = Rng(seed);
    let mut t = Tally::default();
    for p in ProtectionProfile::ALL {
        if matches!(
            p,
            ProtectionProfile::AesCm192HmacSha1_80 | ProtectionProfile::AesCm192HmacSha1_32
        ) && std::env::var_os("SRTP_INTEROP_AES192").is_none()
        {
            // libsrtp up to 2.7 derives AES-192 session keys in AES-256 mode (cisco/libsrtp#763,
            // fixed by #765 in 2025); telox follows RFC 6188 (its §7.4 vector is in our tests),
            // so the two cannot interoperate on AES-192 with Debian's libsrtp 2.5.0.
            println!(
                "skip - {}: libsrtp 2.5 AES-192 KDF bug (cisco/libsrtp#763)",
                p.name()
            );
            continue;
        }
        run_profile(&mut r, &mut rng, &mut t, p, n)?;
        run_mki(&mut r, &mut rng, &mut t, p, n)?;
    }
    drop(r.input);
    let _ = r.child.wait();
    println!("srtp_interop: {} passed, {} failed", t.pass, t.fail);
    if t.fail > 0 {
        return Err("interop failures".into());
    }
    Ok(())
}
