//! AES with AES-NI and AES-GCM (NIST SP 800-38D) with AES-NI and PCLMULQDQ on x86-64: GCM
//! runs counter mode and GHASH in one pass over the packet; AES-CM (RFC 3711) and the KDF use
//! the same AES code.
//!
//! # Why this module may use `unsafe`
//!
//! The crate is `#![deny(unsafe_code)]`; this module alone allows it, for a need that was
//! measured (thread CPU time, 2-core Xeon, AES-NI/PCLMULQDQ, at load 15-18, 2026-11-26):
//! - GHASH of the 12 blocks of an RTP packet with a 160-byte payload: **68-75 ns** through
//!   `polyval` 0.7 (one reduction per 4 blocks, plus cloning its 128-byte expanded key, a
//!   CPU-feature check per call and the copies into its block buffer), **25 ns** with the
//!   carry-less multiplication below (8 blocks per reduction, Karatsuba, no copies); 77
//!   blocks (1200 B): 274-296 ns vs 140 ns.
//! - AES through the `aes` crate runs as a separate pass with its own dispatch and a block
//!   buffer; here the counter blocks are encrypted 8 at a time in registers and each
//!   ciphertext block goes to GHASH straight from the register, so the AES and carry-less
//!   multiply chains overlap.
//! - Per packet (SRTP, AEAD_AES_128_GCM, 160 B, criterion, same run as ring): protect
//!   156 -> 102 ns, unprotect 164 -> 87 ns; details in the srtp section of
//!   `benches/README.md`.
//!
//! Safety: the intrinsics are safe functions inside a `#[target_feature]` function (Rust
//! 1.87+), and all loads and stores go through `u128` values and byte arrays, never raw
//! pointers. The only `unsafe` blocks are the calls into the `#[target_feature]` functions
//! from code compiled without those features: in [`Aes::new`] right after
//! `is_x86_feature_detected!` confirmed them, and in the methods of [`Aes`] and [`Key`],
//! whose existence proves it: their fields are private to this module, [`Aes::new`] is the
//! only constructor of an [`Aes`], and a [`Key`] is only built around one.
//!
//! CPUs without these features use the portable code in `crypto` (`aes` + `polyval`); the
//! choice is made once per session key, not per packet.
//!
//! Where the CPU also has AVX-512F/BW, VAES and VPCLMULQDQ, the submodule `avx512` (same
//! allowance, its own docs give the need and the safety argument) runs GCM and AES-CM on 4
//! blocks per instruction; [`Aes::new`] checks for it once and keeps the answer in the key.
//! The submodule `sha1x16` (same allowance and docs) computes HMAC-SHA1 for 16 packets side
//! by side in AVX-512 registers for `SrtpContext::protect_rtp_batch`, and `sha1ni` (same
//! allowance and docs) the HMAC-SHA1 of one packet with SHA-NI, the state kept in registers.
//! Where the CPU has VAES and AVX2 but not that AVX-512, the submodule `vaes` (same allowance
//! and docs) runs AES-CM on 2 blocks per instruction, and `gcm_ymm` (same allowance and
//! docs) AES-GCM.
//!
//! GHASH is computed as POLYVAL on byte-reversed blocks with the key
//! mulX_POLYVAL(ByteReverse(H)) (RFC 8452 Appendix A): a GHASH block read as a big-endian
//! integer is the POLYVAL element read as a little-endian one.

#![allow(
    unsafe_code,
    reason = "calls into the AES-NI/PCLMULQDQ code: see the module docs"
)]

use core::arch::x86_64::{
    __m128i, _mm_aesenc_si128, _mm_aesenclast_si128, _mm_aeskeygenassist_si128,
    _mm_clmulepi64_si128, _mm_cvtsi128_si64, _mm_set_epi8, _mm_set_epi32, _mm_set_epi64x,
    _mm_setzero_si128, _mm_shuffle_epi8, _mm_shuffle_epi32, _mm_slli_si128, _mm_srli_si128,
    _mm_unpackhi_epi64, _mm_xor_si128,
};

use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::ghash::{be_padded, length_block, polyval_key};

/// AES of the registers in `$b` (an array, each register one or more blocks) round by round,
/// so that the pipeline stays full: `$rk` the round keys as registers, `$r` the rounds,
/// `$xor`, `$enc` and `$last` the XOR, `aesenc` and `aesenclast` of the register width.
macro_rules! aes_rounds {
    ($b:ident, $rk:expr, $r:expr, $xor:ident, $enc:ident, $last:ident) => {{
        for x in &mut $b {
            *x = $xor(*x, $rk[0]);
        }
        for k in &$rk[1..$r] {
            for x in &mut $b {
                *x = $enc(*x, *k);
            }
        }
        for x in &mut $b {
            *x = $last(*x, $rk[$r]);
        }
    }};
}

/// `$tail!(n)` for the `n` = `$regs` (1..=8) registers of a batch's tail, nothing for 0:
/// the tails of the 256-bit counter modes, one monomorphic AES batch per register count.
macro_rules! by_tail_registers {
    ($regs:expr, $tail:ident) => {
        match $regs {
            0 => {}
            1 => $tail!(1),
            2 => $tail!(2),
            3 => $tail!(3),
            4 => $tail!(4),
            5 => $tail!(5),
            6 => $tail!(6),
            7 => $tail!(7),
            _ => $tail!(8),
        }
    };
}

mod avx512;
mod gcm_ymm;
pub(crate) mod sha1ni;
pub(crate) mod sha1x16;
mod vaes;

/// GHASH blocks per reduction, and AES blocks per batch.
const AGG: usize = 8;

/// An AES encryption key schedule for AES-NI (AES-128 or AES-256).
///
/// Only [`Aes::new`] builds one, after checking the CPU features the rest needs.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub(crate) struct Aes {
    /// Round keys 0..=rounds, as little-endian loads of their bytes.
    round_keys: [u128; 15],
    rounds: usize,
    /// The 4-blocks-per-instruction path, if this CPU has it (checked once, here).
    wide: Option<avx512::Wide>,
    /// The 2-blocks-per-instruction AES-CM path, if this CPU has it (checked once, here);
    /// taken where `wide` is not.
    #[zeroize(skip)]
    vaes: Option<vaes::Vaes>,
}

impl Aes {
    /// The key schedule of a 16 or 32-byte key, or `None` if the key length is another or
    /// this CPU lacks AES-NI, PCLMULQDQ or SSSE3.
    pub(crate) fn new(key: &[u8]) -> Option<Self> {
        let ok = std::arch::is_x86_feature_detected!("aes")
            && std::arch::is_x86_feature_detected!("pclmulqdq")
            && std::arch::is_x86_feature_detected!("sse2")
            && std::arch::is_x86_feature_detected!("ssse3");
        if !ok || (key.len() != 16 && key.len() != 32) {
            return None;
        }
        let mut out = Self {
            round_keys: [0; 15],
            rounds: 0,
            wide: avx512::Wide::new(0),
            vaes: vaes::Vaes::new(),
        };
        // SAFETY: the features `expand_aes` needs were detected just above.
        unsafe { expand_aes(&mut out, key) };
        Some(out)
    }

    /// XORs `data` with the AES-CM keystream from counter block `iv` (RFC 3711 §4.1.1):
    /// block i is AES(iv + i), 128-bit big-endian addition.
    pub(crate) fn apply_keystream(&self, iv: [u8; 16], data: &mut [u8]) {
        if let Some(w) = &self.wide
            && w.apply_keystream(self, u128::from_be_bytes(iv), data)
        {
            return;
        }
        if self.wide.is_none()
            && let Some(v) = self.vaes
            && v.apply_keystream(self, u128::from_be_bytes(iv), data)
        {
            return;
        }
        // SAFETY: `self` exists, so `Aes::new` detected the features `ctr128` needs.
        unsafe { ctr128(self, u128::from_be_bytes(iv), data) }
    }

    /// Encrypts each block in place (ECB), 4 at a time.
    pub(crate) fn encrypt_blocks(&self, blocks: &mut [[u8; 16]]) {
        // SAFETY: `self` exists, so `Aes::new` detected the features `ecb` needs.
        unsafe { ecb(self, blocks) }
    }

    /// The same key schedule without the wide and VAES paths (tests compare them).
    #[cfg(test)]
    pub(crate) fn narrow(mut self) -> Self {
        self.wide = None;
        self.vaes = None;
        self
    }

    /// The same key schedule without the wide path, so that AES-CM takes the VAES one where
    /// the CPU has it (tests compare them).
    #[cfg(test)]
    fn ymm(mut self) -> Self {
        self.wide = None;
        self
    }
}

/// An AES-GCM key: the AES round keys and the GHASH key powers H^1..H^8.
///
/// Only [`Key::new`] builds one, from an [`Aes`] (which proves the CPU features).
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub(crate) struct Key {
    aes: Aes,
    /// Dot powers of the POLYVAL key, `pow[k]` = H^(k+1).
    pow: [u128; AGG],
    /// The XOR of each power's two 64-bit halves (Karatsuba's middle product).
    mid: [u64; AGG],
    /// The 2-blocks-per-instruction GCM path (VAES and VPCLMULQDQ on 256-bit registers), if
    /// this CPU has it and not the wide one (checked once, in [`Key::new`]).
    ymm: Option<gcm_ymm::Ymm>,
}

impl Key {
    /// The key for a 16 or 32-byte AES key, or `None` if the key length is another or this
    /// CPU lacks AES-NI, PCLMULQDQ or SSSE3.
    pub(crate) fn new(key: &[u8]) -> Option<Self> {
        let mut out = Self {
            aes: Aes::new(key)?,
            pow: [0; AGG],
            mid: [0; AGG],
            ymm: None,
        };
        // SAFETY: `Aes::new` succeeded, so the features `expand_ghash` needs were detected.
        unsafe { expand_ghash(&mut out) };
        if out.aes.wide.is_some() {
            // the same detection again, now with the GHASH powers
            out.aes.wide = avx512::Wide::new(out.pow[0]);
        } else {
            out.ymm = gcm_ymm::Ymm::new(out.pow[0], &out.aes);
        }
        Some(out)
    }

    /// The same key without the wide and 256-bit paths (tests compare them).
    #[cfg(test)]
    pub(crate) fn narrow(mut self) -> Self {
        self.aes.wide = None;
        self.ymm = None;
        self
    }

    /// Whether the 256-bit (VAES + VPCLMULQDQ on ymm) path is in use.
    #[cfg(test)]
    pub(crate) fn is_ymm(&self) -> bool {
        self.ymm.is_some()
    }

    /// GCM through the wide path (see [`avx512::Wide::gcm`]), or `None` if it is not there
    /// or does not take `data`.
    #[inline(always)]
    fn wide(&self, iv: &[u8; 12], aad: &[u8], data: &mut [u8], seal: bool) -> Option<u128> {
        self.aes.wide.as_ref()?.gcm(&self.aes, iv, aad, data, seal)
    }

    /// Whether the wide path is in use.
    #[cfg(test)]
    pub(crate) fn is_wide(&self) -> bool {
        self.aes.wide.is_some()
    }

    /// Encrypts `data` in place and writes the 16-byte tag to `tag`.
    #[inline(always)]
    pub(crate) fn seal(&self, iv: &[u8; 12], aad: &[u8], data: &mut [u8], tag: &mut [u8; 16]) {
        // (`ymm` is only set where `wide` is not)
        if let Some(y) = &self.ymm
            && y.seal(&self.aes, iv, aad, data, tag)
        {
            return;
        }
        if let Some(t) = self.wide(iv, aad, data, true) {
            *tag = t.to_be_bytes();
            return;
        }
        // SAFETY: `self` exists, so `Key::new` detected the features `seal` needs.
        *tag = unsafe { seal(self, iv, aad, data) }.to_be_bytes();
    }

    /// Checks the tag and decrypts `data` in place; on a tag mismatch `data` is unchanged.
    #[inline(always)]
    pub(crate) fn open(&self, iv: &[u8; 12], aad: &[u8], data: &mut [u8], tag: &[u8]) -> bool {
        let Ok(tag) = <&[u8; 16]>::try_from(tag) else {
            return false;
        };
        if let Some(y) = &self.ymm
            && let Some(ok) = y.open(&self.aes, iv, aad, data, tag)
        {
            // decrypted and hashed in one pass; a forgery gets the keystream applied again
            if !ok {
                y.open(&self.aes, iv, aad, data, tag);
            }
            return ok;
        }
        let tag = u128::from_be_bytes(*tag);
        if let Some(got) = self.wide(iv, aad, data, false) {
            let diff = got ^ tag;
            // constant time: no early exit on the first differing byte
            if (diff >> 64) as u64 | diff as u64 != 0 {
                self.wide(iv, aad, data, false);
                return false;
            }
            return true;
        }
        // SAFETY: `self` exists, so `Key::new` detected the features `open` needs.
        unsafe { open(self, iv, aad, data, tag) }
    }
}

/// Fills `out` with the AES round keys of `key` (16 or 32 bytes).
#[target_feature(enable = "aes,pclmulqdq,sse2,ssse3")]
fn expand_aes(out: &mut Aes, key: &[u8]) {
    let mut rk = [_mm_setzero_si128(); 15];
    let (k0, k1) = key.split_at(16);
    rk[0] = load(le(k0));
    if k1.is_empty() {
        out.rounds = 10;
        expand128(&mut rk);
    } else {
        out.rounds = 14;
        rk[1] = load(le(k1));
        expand256(&mut rk);
    }
    for (o, k) in out.round_keys.iter_mut().zip(&rk) {
        *o = store(*k);
    }
    // The round keys on the stack are not wiped: SSE registers and spills are outside what
    // safe Rust can reach; the copies in `out` are zeroized on drop.
}

/// Fills `out` with the GHASH key powers.
#[target_feature(enable = "aes,pclmulqdq,sse2,ssse3")]
fn expand_ghash(out: &mut Key) {
    let (rk, rounds) = round_keys(&out.aes);
    // H = E(K, 0^128), as a big-endian value for `polyval_key`
    let h = encrypt1(&rk, rounds, _mm_setzero_si128());
    let mut h_bytes = store(h).to_le_bytes();
    let h = polyval_key(&h_bytes);
    h_bytes.zeroize();
    let hv = load(h);
    let hm = halves_xor(h);
    let mut p = hv;
    for (pow, mid) in out.pow.iter_mut().zip(&mut out.mid) {
        let v = store(p);
        *pow = v;
        *mid = halves_xor(v);
        let mut acc = Acc::new();
        acc.mul(p, hv, hm);
        p = acc.reduce();
    }
}

/// The AES-128 key schedule (FIPS 197 §5.2): round key i from i - 1 and the key-generation
/// assist of round constant `R`.
#[target_feature(enable = "aes,pclmulqdq,sse2,ssse3")]
fn expand128(rk: &mut [__m128i; 15]) {
    rk[1] = next128(rk[0], _mm_aeskeygenassist_si128::<0x01>(rk[0]));
    rk[2] = next128(rk[1], _mm_aeskeygenassist_si128::<0x02>(rk[1]));
    rk[3] = next128(rk[2], _mm_aeskeygenassist_si128::<0x04>(rk[2]));
    rk[4] = next128(rk[3], _mm_aeskeygenassist_si128::<0x08>(rk[3]));
    rk[5] = next128(rk[4], _mm_aeskeygenassist_si128::<0x10>(rk[4]));
    rk[6] = next128(rk[5], _mm_aeskeygenassist_si128::<0x20>(rk[5]));
    rk[7] = next128(rk[6], _mm_aeskeygenassist_si128::<0x40>(rk[6]));
    rk[8] = next128(rk[7], _mm_aeskeygenassist_si128::<0x80>(rk[7]));
    rk[9] = next128(rk[8], _mm_aeskeygenassist_si128::<0x1b>(rk[8]));
    rk[10] = next128(rk[9], _mm_aeskeygenassist_si128::<0x36>(rk[9]));
}

/// `w[i] = w[i-4] ^ t` for the four words of a round key, with
/// `t = SubWord(RotWord(w[i-1])) ^ Rcon` for the first word (the assist's word 3, broadcast)
/// and the previous word after that.
#[target_feature(enable = "aes,pclmulqdq,sse2,ssse3")]
fn next128(prev: __m128i, assist: __m128i) -> __m128i {
    fold(prev, _mm_shuffle_epi32::<0xff>(assist))
}

/// The prefix XOR of `prev`'s four words, XORed with `t` (broadcast).
#[target_feature(enable = "aes,pclmulqdq,sse2,ssse3")]
fn fold(prev: __m128i, t: __m128i) -> __m128i {
    let mut k = prev;
    k = _mm_xor_si128(k, _mm_slli_si128::<4>(k));
    k = _mm_xor_si128(k, _mm_slli_si128::<4>(k));
    k = _mm_xor_si128(k, _mm_slli_si128::<4>(k));
    _mm_xor_si128(k, t)
}

/// The AES-256 key schedule (FIPS 197 §5.2, Nk = 8): even round keys take
/// SubWord(RotWord()) ^ Rcon of the previous key's last word, odd ones SubWord() only.
#[target_feature(enable = "aes,pclmulqdq,sse2,ssse3")]
fn expand256(rk: &mut [__m128i; 15]) {
    let even = |rk: &[__m128i; 15], i: usize, assist: __m128i| {
        fold(rk[i - 2], _mm_shuffle_epi32::<0xff>(assist))
    };
    macro_rules! pair {
        ($i:literal, $rcon:literal) => {
            rk[$i] = even(rk, $i, _mm_aeskeygenassist_si128::<$rcon>(rk[$i - 1]));
            rk[$i + 1] = fold(
                rk[$i - 1],
                _mm_shuffle_epi32::<0xaa>(_mm_aeskeygenassist_si128::<0>(rk[$i])),
            );
        };
    }
    pair!(2, 0x01);
    pair!(4, 0x02);
    pair!(6, 0x04);
    pair!(8, 0x08);
    pair!(10, 0x10);
    pair!(12, 0x20);
    rk[14] = even(rk, 14, _mm_aeskeygenassist_si128::<0x40>(rk[13]));
}

/// One block through AES.
#[target_feature(enable = "aes,pclmulqdq,sse2,ssse3")]
fn encrypt1(rk: &[__m128i; 15], rounds: usize, block: __m128i) -> __m128i {
    let mut b = _mm_xor_si128(block, rk[0]);
    for k in &rk[1..rounds] {
        b = _mm_aesenc_si128(b, *k);
    }
    _mm_aesenclast_si128(b, rk[rounds.min(14)])
}

/// The counter blocks of one packet: IV || inc32^i(1), big-endian 32-bit counter.
struct Counter {
    iv: [i32; 3],
    next: u32,
}

impl Counter {
    fn new(iv: &[u8; 12]) -> Self {
        let word = |i: usize| i32::from_le_bytes([iv[i], iv[i + 1], iv[i + 2], iv[i + 3]]);
        Self {
            iv: [word(0), word(4), word(8)],
            // J0 = IV || 0^31 || 1 (SP 800-38D §7.1 step 2)
            next: 1,
        }
    }

    /// The next `N` counter blocks, encrypted.
    #[target_feature(enable = "aes,pclmulqdq,sse2,ssse3")]
    fn keystream<const N: usize>(&mut self, rk: &[__m128i; 15], rounds: usize) -> [__m128i; N] {
        let mut b = [_mm_setzero_si128(); N];
        for x in &mut b {
            let ctr = self.next.swap_bytes() as i32;
            *x = _mm_set_epi32(ctr, self.iv[2], self.iv[1], self.iv[0]);
            // inc32: the low 32 bits wrap on their own (SP 800-38D §6.2)
            self.next = self.next.wrapping_add(1);
        }
        encrypt_n(rk, rounds, b)
    }
}

/// `N` blocks through AES, round by round so that the AES-NI pipeline stays full.
#[target_feature(enable = "aes,pclmulqdq,sse2,ssse3")]
fn encrypt_n<const N: usize>(
    rk: &[__m128i; 15],
    rounds: usize,
    mut b: [__m128i; N],
) -> [__m128i; N] {
    for x in &mut b {
        *x = _mm_xor_si128(*x, rk[0]);
    }
    for k in &rk[1..rounds] {
        for x in &mut b {
            *x = _mm_aesenc_si128(*x, *k);
        }
    }
    let last = rk[rounds.min(14)];
    for x in &mut b {
        *x = _mm_aesenclast_si128(*x, last);
    }
    b
}

/// AES-CM (RFC 3711 §4.1.1): `data` XOR AES(iv + i), i = 0.., with `iv` a big-endian value
/// and 128-bit wrapping addition; 8 counter blocks per batch.
#[target_feature(enable = "aes,pclmulqdq,sse2,ssse3")]
fn ctr128(aes: &Aes, iv: u128, data: &mut [u8]) {
    let (rk, rounds) = round_keys(aes);
    let mut ctr = iv;
    let mut next = || {
        // the block's bytes are the counter big-endian
        let b = load(ctr.swap_bytes());
        ctr = ctr.wrapping_add(1);
        b
    };
    let (whole, tail) = data.as_chunks_mut::<{ 16 * AGG }>();
    for chunk in whole {
        let ks = encrypt_n::<AGG>(&rk, rounds, core::array::from_fn(|_| next()));
        xor_blocks(chunk, &ks, None);
    }
    for chunk in tail.chunks_mut(64) {
        let ks = encrypt_n::<4>(&rk, rounds, core::array::from_fn(|_| next()));
        xor_blocks(chunk, &ks, None);
    }
}

/// AES on each block, 4 at a time.
#[target_feature(enable = "aes,pclmulqdq,sse2,ssse3")]
fn ecb(aes: &Aes, blocks: &mut [[u8; 16]]) {
    let (rk, rounds) = round_keys(aes);
    for group in blocks.chunks_mut(4) {
        let mut b = [_mm_setzero_si128(); 4];
        for (x, g) in b.iter_mut().zip(group.iter()) {
            *x = load(u128::from_le_bytes(*g));
        }
        let b = encrypt_n(&rk, rounds, b);
        for (g, x) in group.iter_mut().zip(b) {
            *g = store(x).to_le_bytes();
        }
    }
}

/// The GHASH state of one packet (see [`State::feed`]).
struct State<'k> {
    key: &'k Key,
    /// The unreduced products of the current run of blocks.
    acc: Acc,
    /// The reduced accumulator of the previous runs until the next block takes it in.
    carry: __m128i,
    /// Blocks left in the current run, 1..=AGG: the next block is multiplied by H^left.
    left: usize,
}

impl<'k> State<'k> {
    /// The state for hashing `aad_len` and `ct_len` bytes plus the length block.
    ///
    /// For blocks x_1..x_n after accumulator S, S' = (S + x_1)·H^n + … + x_n·H, where · is
    /// POLYVAL's dot(a, b) = a·b·x^-128 and H^k the k-th dot power: the n 256-bit
    /// carry-less products are summed unreduced and reduced once. The number of blocks is
    /// known up front, so the runs of 8 are counted from the end and the first run is the
    /// short one; no block is ever buffered.
    #[target_feature(enable = "aes,pclmulqdq,sse2,ssse3")]
    fn new(key: &'k Key, aad_len: usize, ct_len: usize) -> Self {
        let blocks = aad_len.div_ceil(16) + ct_len.div_ceil(16) + 1;
        Self {
            key,
            acc: Acc::new(),
            carry: _mm_setzero_si128(),
            left: (blocks - 1) % AGG + 1,
        }
    }

    /// Hashes one block given as its POLYVAL element.
    #[target_feature(enable = "aes,pclmulqdq,sse2,ssse3")]
    fn feed(&mut self, x: __m128i) {
        let x = _mm_xor_si128(x, self.carry);
        self.carry = _mm_setzero_si128();
        let k = self.left.wrapping_sub(1) % AGG;
        let (pow, mid) = (self.key.pow[k], self.key.mid[k]);
        self.acc.mul(x, load(pow), mid);
        self.left = k;
        if k == 0 {
            self.carry = core::mem::replace(&mut self.acc, Acc::new()).reduce();
            self.left = AGG;
        }
    }

    /// Hashes a block as it lies in memory (GHASH block order).
    #[target_feature(enable = "aes,pclmulqdq,sse2,ssse3")]
    fn feed_bytes(&mut self, x: __m128i) {
        self.feed(reverse(x));
    }

    /// Hashes `aad` zero-padded to whole blocks.
    #[target_feature(enable = "aes,pclmulqdq,sse2,ssse3")]
    fn feed_aad(&mut self, aad: &[u8]) {
        let (whole, rest) = aad.as_chunks::<16>();
        for b in whole {
            self.feed_bytes(load(u128::from_le_bytes(*b)));
        }
        if !rest.is_empty() {
            self.feed(load(be_padded(rest)));
        }
    }

    /// Hashes the length block and returns GHASH as a big-endian value.
    #[target_feature(enable = "aes,pclmulqdq,sse2,ssse3")]
    fn finish(mut self, aad_len: usize, ct_len: usize) -> u128 {
        self.feed(load(length_block(aad_len, ct_len)));
        // the length block ended the last run, so `carry` holds the reduced result
        store(self.carry)
    }
}

/// GCM encryption: GCTR from inc32(J0) over `data`, GHASH of the AAD and the ciphertext as
/// it is produced; returns the tag as a big-endian value.
#[target_feature(enable = "aes,pclmulqdq,sse2,ssse3")]
fn seal(key: &Key, iv: &[u8; 12], aad: &[u8], data: &mut [u8]) -> u128 {
    let (rk, rounds) = round_keys(&key.aes);
    let mut ctr = Counter::new(iv);
    let mut gh = State::new(key, aad.len(), data.len());
    gh.feed_aad(aad);
    let len = data.len();
    // the first batch: E(K, J0) (the tag mask) and 7 keystream blocks
    let first = ctr.keystream::<AGG>(&rk, rounds);
    let mask = first[0];
    let (head, rest) = data.split_at_mut(len.min(16 * (AGG - 1)));
    xor_blocks(head, &first[1..], Some(&mut gh));
    let (whole, tail) = rest.as_chunks_mut::<{ 16 * AGG }>();
    for chunk in whole {
        let ks = ctr.keystream::<AGG>(&rk, rounds);
        xor_blocks(chunk, &ks, Some(&mut gh));
    }
    for chunk in tail.chunks_mut(64) {
        let ks = ctr.keystream::<4>(&rk, rounds);
        xor_blocks(chunk, &ks, Some(&mut gh));
    }
    let s = gh.finish(aad.len(), len);
    s ^ store(reverse(mask))
}

/// GCM decryption: GHASH of the AAD and ciphertext with the first keystream batch computed
/// alongside, the tag checked, and only then `data` decrypted in place.
#[target_feature(enable = "aes,pclmulqdq,sse2,ssse3")]
fn open(key: &Key, iv: &[u8; 12], aad: &[u8], data: &mut [u8], tag: u128) -> bool {
    let (rk, rounds) = round_keys(&key.aes);
    let mut ctr = Counter::new(iv);
    // independent of the hash: the CPU overlaps the two
    let first = ctr.keystream::<AGG>(&rk, rounds);
    let mut gh = State::new(key, aad.len(), data.len());
    gh.feed_aad(aad);
    gh.feed_aad(data);
    let s = gh.finish(aad.len(), data.len());
    let want = s ^ store(reverse(first[0]));
    // constant time: no early exit on the first differing byte
    let diff = want ^ tag;
    if (diff >> 64) as u64 | diff as u64 != 0 {
        return false;
    }
    let len = data.len();
    let (head, rest) = data.split_at_mut(len.min(16 * (AGG - 1)));
    xor_blocks(head, &first[1..], None);
    let (whole, tail) = rest.as_chunks_mut::<{ 16 * AGG }>();
    for chunk in whole {
        let ks = ctr.keystream::<AGG>(&rk, rounds);
        xor_blocks(chunk, &ks, None);
    }
    for chunk in tail.chunks_mut(64) {
        let ks = ctr.keystream::<4>(&rk, rounds);
        xor_blocks(chunk, &ks, None);
    }
    true
}

/// XORs `data` (at most `ks.len()` blocks) with the keystream blocks `ks`, and hashes the
/// result into `gh` if given (encryption).
#[target_feature(enable = "aes,pclmulqdq,sse2,ssse3")]
fn xor_blocks(data: &mut [u8], ks: &[__m128i], mut gh: Option<&mut State<'_>>) {
    let (blocks, rest) = data.as_chunks_mut::<16>();
    let mut ks = ks.iter();
    for (b, k) in blocks.iter_mut().zip(&mut ks) {
        let c = _mm_xor_si128(load(u128::from_le_bytes(*b)), *k);
        *b = store(c).to_le_bytes();
        if let Some(gh) = gh.as_deref_mut() {
            gh.feed_bytes(c);
        }
    }
    if let (false, Some(k)) = (rest.is_empty(), ks.next()) {
        let n = rest.len();
        // the padded block and the keystream both as big-endian values, the keystream cut
        // to the data's n bytes
        let k = store(reverse(*k)) & !(u128::MAX >> (8 * n));
        let c = be_padded(rest) ^ k;
        for (d, x) in rest.iter_mut().zip(c.to_be_bytes()) {
            *d = x;
        }
        if let Some(gh) = gh {
            gh.feed(load(c));
        }
    }
}

/// The round keys as registers.
#[target_feature(enable = "aes,pclmulqdq,sse2,ssse3")]
fn round_keys(key: &Aes) -> ([__m128i; 15], usize) {
    let mut rk = [_mm_setzero_si128(); 15];
    for (r, k) in rk.iter_mut().zip(&key.round_keys) {
        *r = load(*k);
    }
    (rk, key.rounds.clamp(1, 14))
}

/// An unreduced sum of 256-bit carry-less products, Karatsuba style: low halves'
/// products, high halves' products and middle products kept apart.
struct Acc {
    lo: __m128i,
    hi: __m128i,
    mid: __m128i,
}

impl Acc {
    #[target_feature(enable = "aes,pclmulqdq,sse2,ssse3")]
    fn new() -> Self {
        Self {
            lo: _mm_setzero_si128(),
            hi: _mm_setzero_si128(),
            mid: _mm_setzero_si128(),
        }
    }

    /// Adds x·h (no reduction); `h_mid` is h's two halves XORed.
    #[target_feature(enable = "aes,pclmulqdq,sse2,ssse3")]
    fn mul(&mut self, x: __m128i, h: __m128i, h_mid: u64) {
        self.lo = _mm_xor_si128(self.lo, _mm_clmulepi64_si128::<0x00>(x, h));
        self.hi = _mm_xor_si128(self.hi, _mm_clmulepi64_si128::<0x11>(x, h));
        // low half of x_mid = x.lo ^ x.hi
        let x_mid = _mm_xor_si128(x, _mm_shuffle_epi32::<0x4e>(x));
        let h_mid = _mm_set_epi64x(0, h_mid as i64);
        self.mid = _mm_xor_si128(self.mid, _mm_clmulepi64_si128::<0x00>(x_mid, h_mid));
    }

    /// The sum times x^-128 mod P = x^128 + x^127 + x^126 + x^121 + 1.
    ///
    /// The product is `[X3:X2:X1:X0]` (64-bit words). Dividing `[X1:X0]` by x^64 mod P: adding
    /// X0·P clears X0 and leaves X1 + X0·x^64 + X0·(x^63 + x^62 + x^57), i.e. the halves
    /// swapped plus X0 times 0xc200000000000000; twice that divides by x^128, and `[X3:X2]`
    /// is already the x^128 multiple.
    #[target_feature(enable = "aes,pclmulqdq,sse2,ssse3")]
    fn reduce(self) -> __m128i {
        let mid = _mm_xor_si128(self.mid, _mm_xor_si128(self.lo, self.hi));
        let low = _mm_xor_si128(self.lo, _mm_slli_si128::<8>(mid));
        let high = _mm_xor_si128(self.hi, _mm_srli_si128::<8>(mid));
        let q = _mm_set_epi64x(0, 0xc200_0000_0000_0000_u64 as i64);
        let mut v = low;
        for _ in 0..2 {
            let t = _mm_clmulepi64_si128::<0x00>(v, q);
            v = _mm_xor_si128(_mm_shuffle_epi32::<0x4e>(v), t);
        }
        _mm_xor_si128(v, high)
    }
}

/// Byte reversal: a block as it lies in memory <-> its POLYVAL element (and, in `sha1ni`,
/// four big-endian words <-> the lanes SHA-NI takes them in). (SSSE3 only: `sha1ni` uses it
/// without AES-NI.)
#[target_feature(enable = "sse2,ssse3")]
fn reverse(x: __m128i) -> __m128i {
    let r = _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    _mm_shuffle_epi8(x, r)
}

/// (SSE2 only: `sha1ni` uses it without AES-NI.)
#[target_feature(enable = "sse2")]
fn load(v: u128) -> __m128i {
    _mm_set_epi64x((v >> 64) as u64 as i64, v as u64 as i64)
}

/// (SSE2 only: `sha1ni` uses it without AES-NI.)
#[target_feature(enable = "sse2")]
fn store(x: __m128i) -> u128 {
    let lo = _mm_cvtsi128_si64(x) as u64;
    let hi = _mm_cvtsi128_si64(_mm_unpackhi_epi64(x, x)) as u64;
    u128::from(hi) << 64 | u128::from(lo)
}

/// The little-endian value of 16 bytes (`b` is exactly 16 bytes long where called).
fn le(b: &[u8]) -> u128 {
    b.first_chunk::<16>().map_or(0, |b| u128::from_le_bytes(*b))
}

fn halves_xor(v: u128) -> u64 {
    (v >> 64) as u64 ^ v as u64
}

#[cfg(test)]
mod tests {
    use aes::cipher::{BlockEncrypt, KeyInit};

    use super::*;

    /// The key schedules against the `aes` crate: E(K, x) for both key sizes.
    #[test]
    fn aes_matches_aes_crate() {
        let Some(_) = Aes::new(&[0; 16]) else {
            return; // no AES-NI: the portable path is the one in use and tested
        };
        for key_len in [16usize, 32] {
            let key: Vec<u8> = (0..key_len).map(|i| (i * 31 + 7) as u8).collect();
            let ours = Aes::new(&key).unwrap();
            let mut block = aes::Block::from([0x42u8; 16]);
            match key_len {
                16 => aes::Aes128::new_from_slice(&key)
                    .unwrap()
                    .encrypt_block(&mut block),
                _ => aes::Aes256::new_from_slice(&key)
                    .unwrap()
                    .encrypt_block(&mut block),
            }
            let mut got = [[0x42u8; 16]; 5];
            ours.encrypt_blocks(&mut got);
            for g in got {
                assert_eq!(g, <[u8; 16]>::from(block), "AES-{}", key_len * 8);
            }
        }
    }

    /// The wide path against the 128-bit one, AES-GCM: every payload length 0-1500 (every
    /// tail length of the 4-block registers and of the 16-block batches and GHASH runs) and
    /// around the 4064 bytes above which the 128-bit path takes over, with AAD lengths around
    /// the block and register sizes, both key sizes; ciphertext and tag
    /// equal, and each opens what the other sealed. On a CPU without the wide path both keys
    /// are the same code and the test checks nothing new.
    #[test]
    fn wide_gcm_matches_narrow() {
        for key_len in [16usize, 32] {
            let raw: Vec<u8> = (0..key_len).map(|i| (i * 29 + 5) as u8).collect();
            let Some(wide) = Key::new(&raw) else {
                return; // no AES-NI: the portable path is the one in use and tested
            };
            let narrow = wide.clone().narrow();
            let iv = [0xa5, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0xfe, 0xff];
            let plain: Vec<u8> = (0..5000u32).map(|i| (i * 7 + i / 256) as u8).collect();
            let aad_all: Vec<u8> = (0..80u8).map(|i| i ^ 0x5c).collect();
            for len in (0..=1500).chain([4047, 4048, 4063, 4064, 4065, 5000]) {
                for aad_len in [0, 12, 13, 16, 17, 60, 64, 65, 80] {
                    let aad = &aad_all[..aad_len];
                    let mut a = plain[..len].to_vec();
                    let mut b = a.clone();
                    let mut ta = [0; 16];
                    wide.seal(&iv, aad, &mut a, &mut ta);
                    let mut tb = [0; 16];
                    narrow.seal(&iv, aad, &mut b, &mut tb);
                    assert_eq!(a, b, "ciphertext, len {len} aad {aad_len}");
                    assert_eq!(ta, tb, "tag, len {len} aad {aad_len}");
                    assert!(narrow.open(&iv, aad, &mut a, &ta));
                    assert!(wide.open(&iv, aad, &mut b, &tb));
                    assert_eq!(a, &plain[..len]);
                    assert_eq!(b, &plain[..len]);
                }
            }
        }
    }

    /// The wide path is chosen exactly where the CPU has AVX-512F/BW, VAES and VPCLMULQDQ.
    #[test]
    fn wide_path_where_the_cpu_has_it() {
        let Some(key) = Key::new(&[1; 32]) else {
            return;
        };
        let has = std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("vaes")
            && std::arch::is_x86_feature_detected!("vpclmulqdq");
        assert_eq!(key.is_wide(), has);
        assert!(!key.narrow().is_wide());
    }

    /// The VAES AES-CM path is there exactly where the CPU has AVX2 and VAES.
    #[test]
    fn vaes_path_where_the_cpu_has_it() {
        let Some(aes) = Aes::new(&[1; 16]) else {
            return;
        };
        let has = std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("vaes");
        assert_eq!(aes.vaes.is_some(), has);
    }

    /// A forged packet: the wide `open` decrypts in the same pass as it hashes, so on a tag
    /// mismatch it must put the ciphertext back byte for byte.
    #[test]
    fn wide_open_restores_data_on_tag_mismatch() {
        let Some(key) = Key::new(&[9; 16]) else {
            return;
        };
        let iv = [3; 12];
        for len in [0, 1, 15, 16, 17, 63, 64, 65, 160, 255, 256, 257, 1200] {
            let mut sealed: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let mut tag = [0; 16];
            key.seal(&iv, b"header", &mut sealed, &mut tag);
            let mut bad_tag = tag;
            bad_tag[7] ^= 0x10;
            let mut data = sealed.clone();
            assert!(!key.open(&iv, b"header", &mut data, &bad_tag), "len {len}");
            assert_eq!(data, sealed, "len {len}");
            assert!(!key.open(&iv, b"headex", &mut data, &tag), "len {len}");
            assert_eq!(data, sealed, "len {len}");
            if let Some(last) = data.last_mut() {
                *last ^= 1;
                let forged = data.clone();
                assert!(!key.open(&iv, b"header", &mut data, &tag), "len {len}");
                assert_eq!(data, forged, "len {len}");
            }
        }
    }

    /// The wide AES-CM keystream, and the VAES one, against the 128-bit one for every length
    /// 0-1500 and around 4 KiB, with counters whose last byte carries inside the packet (the
    /// wide and VAES paths decline those) or just does not, and one that wraps all 128 bits.
    #[test]
    fn wide_keystream_matches_narrow() {
        for key_len in [16usize, 32] {
            let raw: Vec<u8> = (0..key_len).map(|i| (i * 3 + 11) as u8).collect();
            let Some(wide) = Aes::new(&raw) else {
                return;
            };
            let narrow = wide.clone().narrow();
            let ymm = wide.clone().ymm();
            let ivs = [
                0x0123_4567_89ab_cdef_f0e1_d2c3_b4a5_0000_u128,
                u128::from(u64::MAX - 94) | 0x77 << 64,
                u128::from(u64::MAX - 2) | 0x77 << 64,
                u128::MAX - 5,
            ];
            for iv in ivs {
                for len in (0..=1500).chain([4095, 4096, 4097]) {
                    let mut a: Vec<u8> = (0..len).map(|i| (i * 5 + i / 256) as u8).collect();
                    let mut b = a.clone();
                    let mut c = a.clone();
                    wide.apply_keystream(iv.to_be_bytes(), &mut a);
                    narrow.apply_keystream(iv.to_be_bytes(), &mut b);
                    ymm.apply_keystream(iv.to_be_bytes(), &mut c);
                    assert_eq!(a, b, "AES-{} iv {iv:x} len {len}", key_len * 8);
                    assert_eq!(c, b, "VAES AES-{} iv {iv:x} len {len}", key_len * 8);
                }
            }
        }
    }
}
