//! AES-GCM with VAES and VPCLMULQDQ on 256-bit registers (AVX2), two 16-byte blocks per
//! instruction, for CPUs that have them but not the AVX-512 of [`super::avx512`] (AMD Zen 3
//! and 4 without AVX-512 enabled, Intel Alder Lake and later client cores).
//!
//! # Why this module may use `unsafe`
//!
//! Like its parent, for a measured need (AMD EPYC, Zen 3: VAES, VPCLMULQDQ, AVX2, no AVX-512;
//! figures in `benches/README.md`, "srtp GCM, session 11"): on this CPU the parent's 128-bit
//! code issues one `aesenc` or one `pclmulqdq` per block, and a 1200-byte AEAD_AES_128_GCM
//! packet took 699/650 ns to protect/unprotect against ring's (`rtc-srtp`) 459/510 ns. Here
//! each `vaesenc` and `vpclmulqdq` takes two blocks, GHASH reduces once per 16 blocks (once
//! per packet up to 240 bytes of header and payload), and the AES of one batch overlaps the
//! GHASH of the one before.
//!
//! The `unsafe` blocks are of two kinds, each with a SAFETY comment:
//! - calls from code compiled without AVX2 into the `#[target_feature]` functions here, made
//!   only by methods of [`Ymm`], whose only constructor [`Ymm::new`] checked the features
//!   with `is_x86_feature_detected!` (once per session key; the proof lives in the key);
//! - 32-byte loads and stores (`_mm256_loadu_si256`/`_mm256_storeu_si256`) on a `&[u8; 32]`
//!   or `&[u128; 2]`, which take raw pointers (as in `avx512` and `vaes`).
//!
//! GHASH is POLYVAL on byte-reversed blocks, as in the parent. The blocks are hashed in runs
//! of up to [`RUN`] with one reduction per run; in a run of m blocks the blocks are
//! multiplied by H^m..H^1, read from the table of [`super::avx512`] (descending, so the
//! powers of two consecutive blocks are one unaligned 32-byte load). When the AAD, payload
//! and length block together fit one run (the usual SRTP packet up to 240 bytes) they share
//! it; else the AAD is a stream of runs of its own and the payload and length block another.
//!
//! Decryption hashes the ciphertext and decrypts in the same pass; on a tag mismatch the
//! caller applies the same keystream again (see [`Ymm::gcm`]), so the buffer is back as it
//! was when `open` returns (it holds the buffer mutably for the whole call, so no one sees
//! the plaintext of a forgery).

#![allow(
    unsafe_code,
    reason = "calls into the VAES/VPCLMULQDQ code and 32-byte loads/stores: see the module docs"
)]

use core::arch::x86_64::{
    __m128i, __m256i, _mm_aesenc_si128, _mm_aesenclast_si128, _mm_setzero_si128, _mm_xor_si128,
    _mm256_add_epi32, _mm256_broadcastsi128_si256, _mm256_bslli_epi128, _mm256_bsrli_epi128,
    _mm256_castsi256_si128, _mm256_clmulepi64_epi128, _mm256_extracti128_si256, _mm256_loadu_si256,
    _mm256_set_epi32, _mm256_setzero_si256, _mm256_shuffle_epi8, _mm256_shuffle_epi32,
    _mm256_storeu_si256, _mm256_xor_si256, _mm256_zextsi128_si256,
};

use zeroize::{Zeroize, ZeroizeOnDrop};

use super::avx512::{GCM_FIRST, RUN, fits, powers};
use super::vaes::encrypt;
use super::{Aes, load, store};
use crate::ghash::{be_padded, length_block};

/// Proof that this CPU has AVX2, VAES and VPCLMULQDQ, plus the GHASH key powers.
///
/// Only [`Ymm::new`] builds one, after `is_x86_feature_detected!`.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub(super) struct Ymm {
    /// `pow[i]` = H^(RUN - i) for i < RUN (dot powers of the POLYVAL key), then zeros (the
    /// layout of [`powers`]).
    pow: [u128; RUN + 4],
}

impl Ymm {
    /// `Some` if this CPU has AVX2, VAES and VPCLMULQDQ, and the AES-NI, PCLMULQDQ and SSSE3
    /// of the 128-bit code (every function here is compiled with all of them); `h` is the
    /// POLYVAL key.
    pub(super) fn new(h: u128) -> Option<Self> {
        let ok = std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("vaes")
            && std::arch::is_x86_feature_detected!("vpclmulqdq")
            && std::arch::is_x86_feature_detected!("aes")
            && std::arch::is_x86_feature_detected!("pclmulqdq")
            && std::arch::is_x86_feature_detected!("sse2")
            && std::arch::is_x86_feature_detected!("ssse3");
        if !ok {
            return None;
        }
        let mut out = Self { pow: [0; RUN + 4] };
        // SAFETY: AES-NI, PCLMULQDQ, SSE2 and SSSE3, what `powers` needs, were detected just
        // above.
        unsafe { powers(&mut out.pow, h) };
        Some(out)
    }

    /// GCM: encrypts (`seal`) or decrypts `data` in place and returns GHASH XOR E(K, J0) as a
    /// big-endian value, hashing the ciphertext in the same pass; `None` (and `data`
    /// untouched) for more than 254 blocks (4064 bytes), which the 128-bit path takes.
    ///
    /// Decrypting twice with the same arguments gives `data` back: a caller that finds the
    /// tag wrong calls it again to restore the ciphertext.
    #[inline]
    pub(super) fn gcm(
        &self,
        aes: &Aes,
        iv: &[u8; 12],
        aad: &[u8],
        data: &mut [u8],
        seal: bool,
    ) -> Option<u128> {
        if !fits(GCM_FIRST, data.len()) {
            return None;
        }
        // SAFETY: `self` exists, so `Ymm::new` detected AVX2, VAES, VPCLMULQDQ, AES-NI,
        // PCLMULQDQ, SSE2 and SSSE3, all that `gcm` is compiled with.
        Some(unsafe {
            match (aes.rounds, seal) {
                (10, true) => gcm::<10, true>(self, aes, iv, aad, data),
                (10, false) => gcm::<10, false>(self, aes, iv, aad, data),
                (_, true) => gcm::<14, true>(self, aes, iv, aad, data),
                (_, false) => gcm::<14, false>(self, aes, iv, aad, data),
            }
        })
    }
}

/// Loads 32 bytes.
#[target_feature(enable = "avx2,vaes,vpclmulqdq,aes,pclmulqdq,sse2,ssse3")]
fn load32(b: &[u8; 32]) -> __m256i {
    // SAFETY: AVX is enabled here (and AVX2 was detected by `Ymm::new` before any caller
    // could run); `b` is 32 readable bytes and `loadu` has no alignment requirement.
    unsafe { _mm256_loadu_si256(core::ptr::from_ref(b).cast()) }
}

/// Stores 32 bytes.
#[target_feature(enable = "avx2,vaes,vpclmulqdq,aes,pclmulqdq,sse2,ssse3")]
fn store32(b: &mut [u8; 32], v: __m256i) {
    // SAFETY: as in `load32`; `b` is 32 writable bytes, `storeu` has no alignment
    // requirement.
    unsafe { _mm256_storeu_si256(core::ptr::from_mut(b).cast(), v) }
}

/// Loads up to 32 bytes of `b`, zero-padded to 32.
#[target_feature(enable = "avx2,vaes,vpclmulqdq,aes,pclmulqdq,sse2,ssse3")]
fn load_part(b: &[u8]) -> __m256i {
    if let Some(b) = b.first_chunk::<32>() {
        return load32(b);
    }
    if let Ok(b) = <&[u8; 12]>::try_from(b) {
        // the usual SRTP header: one block without a copy through memory
        return _mm256_zextsi128_si256(load(be_padded(b).swap_bytes()));
    }
    let mut buf = [0u8; 32];
    let n = b.len().min(32);
    buf[..n].copy_from_slice(&b[..n]);
    load32(&buf)
}

/// The 2 consecutive powers starting at `pow[i]` (zeros past the table).
#[target_feature(enable = "avx2,vaes,vpclmulqdq,aes,pclmulqdq,sse2,ssse3")]
fn powers2(pow: &[u128; RUN + 4], i: usize) -> __m256i {
    match pow.get(i..).and_then(|p| p.first_chunk::<2>()) {
        // SAFETY: AVX detected (see `load32`); `p` is a reference to 32 readable bytes and
        // `loadu` has no alignment requirement.
        Some(p) => unsafe { _mm256_loadu_si256(core::ptr::from_ref(p).cast()) },
        None => _mm256_setzero_si256(),
    }
}

/// A 128-bit value in both lanes.
#[target_feature(enable = "avx2,vaes,vpclmulqdq,aes,pclmulqdq,sse2,ssse3")]
fn splat(v: u128) -> __m256i {
    _mm256_broadcastsi128_si256(load(v))
}

/// Byte reversal of each lane: blocks as they lie in memory <-> POLYVAL elements.
#[target_feature(enable = "avx2,vaes,vpclmulqdq,aes,pclmulqdq,sse2,ssse3")]
fn reverse(x: __m256i) -> __m256i {
    _mm256_shuffle_epi8(x, splat(0x0001_0203_0405_0607_0809_0a0b_0c0d_0e0f))
}

/// The unreduced 256-bit products x·h, lane by lane: low, middle and high 64x64 products.
#[target_feature(enable = "avx2,vaes,vpclmulqdq,aes,pclmulqdq,sse2,ssse3")]
fn mul(x: __m256i, h: __m256i) -> [__m256i; 3] {
    [
        _mm256_clmulepi64_epi128::<0x00>(x, h),
        _mm256_xor_si256(
            _mm256_clmulepi64_epi128::<0x01>(x, h),
            _mm256_clmulepi64_epi128::<0x10>(x, h),
        ),
        _mm256_clmulepi64_epi128::<0x11>(x, h),
    ]
}

/// The GHASH state of one stream of blocks, fed 1 or 2 blocks (one register) at a time.
struct Ghash<'k> {
    pow: &'k [u128; RUN + 4],
    /// The unreduced products of the current run: low, middle and high.
    prod: [__m256i; 3],
    /// The reduced sum of the runs before, XORed into the first block of the next run.
    acc: __m128i,
    /// Blocks left in the current run (the next block is multiplied by H^left), and after it.
    left: usize,
    after: usize,
    /// Whether the next block starts a run.
    start: bool,
}

impl<'k> Ghash<'k> {
    /// The state for a stream of `blocks` blocks after accumulator `acc`. Runs are counted
    /// from the start, [`RUN`] blocks each and the last one shorter; a register of blocks
    /// never straddles two runs as long as every register but a stream's last is full.
    #[target_feature(enable = "avx2,vaes,vpclmulqdq,aes,pclmulqdq,sse2,ssse3")]
    fn new(pow: &'k [u128; RUN + 4], blocks: usize, acc: __m128i) -> Self {
        let left = blocks.min(RUN);
        Self {
            pow,
            prod: [_mm256_setzero_si256(); 3],
            acc,
            left,
            after: blocks - left,
            start: true,
        }
    }

    /// Hashes the first `n` (1 or 2) lanes of `x`, POLYVAL elements; the other lane is zero.
    #[target_feature(enable = "avx2,vaes,vpclmulqdq,aes,pclmulqdq,sse2,ssse3")]
    fn feed(&mut self, x: __m256i, n: usize) {
        let x = if self.start {
            self.start = false;
            _mm256_xor_si256(x, _mm256_zextsi128_si256(self.acc))
        } else {
            x
        };
        let p = mul(x, powers2(self.pow, RUN.wrapping_sub(self.left)));
        for (s, p) in self.prod.iter_mut().zip(p) {
            *s = _mm256_xor_si256(*s, p);
        }
        self.left = self.left.saturating_sub(n);
        if self.left == 0 {
            self.end_run();
        }
    }

    /// Reduces the run into `acc` and sets up the next one.
    #[target_feature(enable = "avx2,vaes,vpclmulqdq,aes,pclmulqdq,sse2,ssse3")]
    fn end_run(&mut self) {
        self.acc = self.reduce();
        self.left = self.after.min(RUN);
        self.after -= self.left;
        self.start = true;
    }

    /// Hashes 16 blocks as they lie in memory: a whole run when the state is at the start
    /// of one with 16 blocks to go (always so for the leading whole batches of a payload
    /// whose AAD has its own stream), else register by register.
    #[target_feature(enable = "avx2,vaes,vpclmulqdq,aes,pclmulqdq,sse2,ssse3")]
    fn feed16(&mut self, x: [__m256i; 8]) {
        if !(self.start && self.left == RUN) {
            for x in x {
                self.feed(reverse(x), 2);
            }
            return;
        }
        let mut sum = [_mm256_setzero_si256(); 3];
        for (i, x) in x.into_iter().enumerate() {
            let mut x = reverse(x);
            if i == 0 {
                x = _mm256_xor_si256(x, _mm256_zextsi128_si256(self.acc));
            }
            for (s, p) in sum.iter_mut().zip(mul(x, powers2(self.pow, 2 * i))) {
                *s = _mm256_xor_si256(*s, p);
            }
        }
        self.prod = sum;
        self.end_run();
    }

    /// Hashes up to 32 bytes as they lie in memory, zero-padded to whole blocks (`x` holds
    /// them with zeros after `len` bytes).
    #[target_feature(enable = "avx2,vaes,vpclmulqdq,aes,pclmulqdq,sse2,ssse3")]
    fn feed_bytes(&mut self, x: __m256i, len: usize) {
        self.feed(reverse(x), len.div_ceil(16));
    }

    /// Hashes `bytes` zero-padded to whole blocks.
    #[target_feature(enable = "avx2,vaes,vpclmulqdq,aes,pclmulqdq,sse2,ssse3")]
    fn feed_all(&mut self, bytes: &[u8]) {
        for part in bytes.chunks(32) {
            self.feed_bytes(load_part(part), part.len());
        }
    }

    /// The run's sum times x^-128 (as `Acc::reduce` in the parent, lane by lane: the
    /// reduction is linear), then the two lanes added; resets the run's products.
    #[target_feature(enable = "avx2,vaes,vpclmulqdq,aes,pclmulqdq,sse2,ssse3")]
    fn reduce(&mut self) -> __m128i {
        let [lo, mid, hi] = core::mem::replace(&mut self.prod, [_mm256_setzero_si256(); 3]);
        let low = _mm256_xor_si256(lo, _mm256_bslli_epi128::<8>(mid));
        let high = _mm256_xor_si256(hi, _mm256_bsrli_epi128::<8>(mid));
        let q = splat(0xc200_0000_0000_0000);
        let mut v = low;
        for _ in 0..2 {
            let t = _mm256_clmulepi64_epi128::<0x00>(v, q);
            v = _mm256_xor_si256(_mm256_shuffle_epi32::<0x4e>(v), t);
        }
        let v = _mm256_xor_si256(v, high);
        _mm_xor_si128(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v))
    }
}

/// GCM in one pass (see [`Ymm::gcm`]).
#[target_feature(enable = "avx2,vaes,vpclmulqdq,aes,pclmulqdq,sse2,ssse3")]
fn gcm<const R: usize, const SEAL: bool>(
    ymm: &Ymm,
    aes: &Aes,
    iv: &[u8; 12],
    aad: &[u8],
    data: &mut [u8],
) -> u128 {
    let mut rk = [_mm256_setzero_si256(); 15];
    for (r, k) in rk.iter_mut().zip(&aes.round_keys).take(R + 1) {
        *r = splat(*k);
    }
    // J0 = IV || 1 (SP 800-38D §7.1); the data's blocks use inc32 of it: IV || 2, ...
    let j0 = be_padded(iv) | 1;
    let len = data.len();
    let (a, d) = (aad.len().div_ceil(16), len.div_ceil(16));
    let zero = _mm_setzero_si128();
    // AAD, payload and length block in one run where they fit, else the AAD on its own
    let mut gh = if a + d < RUN {
        Ghash::new(&ymm.pow, a + d + 1, zero)
    } else {
        let mut aad_hash = Ghash::new(&ymm.pow, a, zero);
        aad_hash.feed_all(aad);
        Ghash::new(&ymm.pow, d + 1, aad_hash.acc)
    };
    if a + d < RUN {
        gh.feed_all(aad);
    }
    // E(K, J0), the tag mask, on the side: 128-bit AES-NI with lane 0 of the round keys
    let mask = {
        let mut b = _mm_xor_si128(load(j0.swap_bytes()), _mm256_castsi256_si128(rk[0]));
        for k in &rk[1..R] {
            b = _mm_aesenc_si128(b, _mm256_castsi256_si128(*k));
        }
        _mm_aesenclast_si128(b, _mm256_castsi256_si128(rk[R]))
    };
    crypt::<R, SEAL>(&rk, j0 + 1, data, &mut gh);
    gh.feed(
        _mm256_zextsi128_si256(load(length_block(aad.len(), len))),
        1,
    );
    store(gh.acc) ^ store(super::reverse(mask))
}

/// Registers (of two blocks) per batch: 16 blocks, one GHASH run, 256 bytes.
const BATCH: usize = 8;

/// Counter mode over `data` from counter block `first` (big-endian) with the ciphertext
/// hashed into `gh` (the output when sealing, the input when opening).
///
/// The caller checked [`fits`]: no counter block differs from `first` in more than its last
/// byte, so the blocks are built in their big-endian byte order with `vpaddd` adding to the
/// top byte of each lane's last word, with no byte swap per block (this is inc32 as well:
/// the 32-bit counter cannot wrap in 254 blocks from 2).
///
/// When sealing, a batch's ciphertext is hashed after the next batch's AES is issued, so
/// that the AES and GHASH chains of neighbouring batches overlap; when opening, the input is
/// hashed while its keystream is computed.
#[target_feature(enable = "avx2,vaes,vpclmulqdq,aes,pclmulqdq,sse2,ssse3")]
fn crypt<const R: usize, const SEAL: bool>(
    rk: &[__m256i; 15],
    first: u128,
    data: &mut [u8],
    gh: &mut Ghash<'_>,
) {
    let mut ctr = _mm256_add_epi32(
        splat(first.swap_bytes()),
        _mm256_set_epi32(1 << 24, 0, 0, 0, 0, 0, 0, 0),
    );
    let two = _mm256_set_epi32(2 << 24, 0, 0, 0, 2 << 24, 0, 0, 0);
    let mut next = || {
        let c = ctr;
        ctr = _mm256_add_epi32(ctr, two);
        c
    };
    let (whole, rest) = data.as_chunks_mut::<{ 32 * BATCH }>();
    let mut pending: Option<[__m256i; BATCH]> = None;
    for chunk in whole {
        let ks = encrypt::<R, BATCH>(rk, core::array::from_fn(|_| next()));
        if let Some(c) = pending.take() {
            gh.feed16(c);
        }
        let (parts, _) = chunk.as_chunks_mut::<32>();
        let mut d = ks;
        for (x, p) in d.iter_mut().zip(parts.iter()) {
            *x = load32(p);
        }
        let c: [__m256i; BATCH] = core::array::from_fn(|i| _mm256_xor_si256(d[i], ks[i]));
        for (p, c) in parts.iter_mut().zip(c) {
            store32(p, c);
        }
        if SEAL {
            pending = Some(c);
        } else {
            gh.feed16(d);
        }
    }
    macro_rules! tail {
        ($n:literal) => {{
            let ks = encrypt::<R, $n>(rk, core::array::from_fn(|_| next()));
            if let Some(c) = pending.take() {
                gh.feed16(c);
            }
            let (parts, last) = rest.as_chunks_mut::<32>();
            for (p, k) in parts.iter_mut().zip(ks) {
                let d = load32(p);
                let c = _mm256_xor_si256(d, k);
                store32(p, c);
                gh.feed_bytes(if SEAL { c } else { d }, 32);
            }
            if !last.is_empty()
                && let Some(k) = ks.get(parts.len())
            {
                // the last 1-31 bytes through a buffer; the keystream past them is not
                // ciphertext, so the buffer's bytes past them are zeroed before hashing
                let n = last.len();
                let mut b = [0u8; 32];
                b[..n].copy_from_slice(last);
                let d = load32(&b);
                store32(&mut b, _mm256_xor_si256(d, *k));
                last.copy_from_slice(&b[..n]);
                if SEAL {
                    b[n..].fill(0);
                    gh.feed_bytes(load32(&b), n);
                } else {
                    gh.feed_bytes(d, n);
                }
            }
        }};
    }
    match rest.len().div_ceil(32) {
        0 => {}
        1 => tail!(1),
        2 => tail!(2),
        3 => tail!(3),
        4 => tail!(4),
        5 => tail!(5),
        6 => tail!(6),
        7 => tail!(7),
        _ => tail!(8),
    }
    if let Some(c) = pending {
        gh.feed16(c);
    }
}

#[cfg(test)]
mod tests {
    use aes_gcm::aead::{AeadInPlace, KeyInit};

    use crate::crypto::{AesEnc, kdf};
    use crate::{MasterKey, ProtectionProfile, SrtpConfig, SrtpContext};

    /// xorshift64*: reproducible random keys, headers and payloads.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn bytes(&mut self, n: usize) -> Vec<u8> {
            (0..n).map(|_| self.next() as u8).collect()
        }
    }

    /// Whether this CPU takes the 256-bit path (and not the AVX-512 one).
    fn cpu_has_ymm() -> bool {
        std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("vaes")
            && std::arch::is_x86_feature_detected!("vpclmulqdq")
            && std::arch::is_x86_feature_detected!("aes")
            && std::arch::is_x86_feature_detected!("pclmulqdq")
            && std::arch::is_x86_feature_detected!("ssse3")
            && !(std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512bw"))
    }

    /// The session key and 12-byte salt under the KDF labels `key_label` and `salt_label`
    /// at r = 0 (RFC 3711 §4.3.1, RFC 7714 §11); the dispatch must have picked the 256-bit
    /// path for the session key where the CPU has it, so that the tests cannot silently run
    /// another one.
    fn session(master: &[u8], salt: &[u8], key_label: u8, salt_label: u8) -> (Vec<u8>, [u8; 12]) {
        let prf = AesEnc::new(master).unwrap();
        let mut key = vec![0; master.len()];
        kdf(&prf, salt, key_label, 0, &mut key);
        let mut s = [0; 12];
        kdf(&prf, salt, salt_label, 0, &mut s);
        let gcm = super::super::Key::new(&key).unwrap();
        assert_eq!(gcm.is_ymm(), cpu_has_ymm());
        (key, s)
    }

    /// RFC 7714 §8.1 and §9.1: (00 00 || SSRC || 48-bit index) XOR salt, the index being
    /// ROC || SEQ for SRTP and 00 00 || SRTCP index for SRTCP.
    fn iv(salt: &[u8; 12], ssrc: u32, index: u64) -> [u8; 12] {
        let mut x = [0u8; 12];
        x[2..6].copy_from_slice(&ssrc.to_be_bytes());
        x[6..].copy_from_slice(&index.to_be_bytes()[2..]);
        for (x, s) in x.iter_mut().zip(salt) {
            *x ^= s;
        }
        x
    }

    /// The `aes-gcm` crate's AES-GCM, in place, returning the tag.
    fn reference(key: &[u8], iv: &[u8; 12], aad: &[u8], data: &mut [u8]) -> [u8; 16] {
        let tag = match key.len() {
            16 => aes_gcm::Aes128Gcm::new_from_slice(key)
                .unwrap()
                .encrypt_in_place_detached(iv.into(), aad, data),
            _ => aes_gcm::Aes256Gcm::new_from_slice(key)
                .unwrap()
                .encrypt_in_place_detached(iv.into(), aad, data),
        };
        tag.unwrap().into()
    }

    /// The payload lengths: every one to 300, then steps to 1500.
    fn lengths() -> impl Iterator<Item = usize> {
        (0..=300)
            .chain((301..1500).step_by(23))
            .chain([1024, 1200, 1499, 1500])
    }

    /// Which bytes of a protected packet a tamper test flips: every one for short payloads
    /// and a few lengths around the batch and run sizes, else the first, the last and
    /// three others.
    fn tamper_positions(rng: &mut Rng, payload: usize, pkt: usize) -> Vec<usize> {
        if payload <= 40 || [160, 223, 224, 255, 256, 257, 1200].contains(&payload) {
            (0..pkt).collect()
        } else {
            let mut p = vec![0, pkt - 1];
            p.extend((0..3).map(|_| rng.next() as usize % pkt));
            p
        }
    }

    /// Every byte of `pkt` in `positions` flipped in turn (one random bit) must be refused:
    /// `unprotect` answers whether it accepted the packet.
    fn assert_tamper_refused(
        rng: &mut Rng,
        positions: &[usize],
        pkt: &[u8],
        mut unprotect: impl FnMut(&mut [u8]) -> bool,
    ) {
        for &p in positions {
            let mut bad = pkt.to_vec();
            bad[p] ^= 1 << (rng.next() % 8);
            assert!(!unprotect(&mut bad), "flipped byte {p} of {}", pkt.len());
        }
    }

    /// SRTP (RFC 7714 §8) against the `aes-gcm` crate, both key sizes, random keys: headers
    /// of 12-72 bytes (CSRCs and a header extension, all AAD), every payload length 0-300
    /// and steps to 1500, sequence numbers across a wrap (ROC 0 and 1). telox protects in
    /// place and the reference's ciphertext and tag must be what it wrote; the reference's
    /// packet is unprotected by telox in place; each flipped byte of header, payload or tag
    /// is refused.
    #[test]
    fn srtp_matches_aes_gcm_both_ways() {
        // (CSRC count, header extension words): AAD of 12, 16, 16, 28, 52, 68, 72, 72 bytes
        let headers = [
            (0, None),
            (1, None),
            (0, Some(0)),
            (2, Some(1)),
            (5, Some(4)),
            (3, Some(10)),
            (15, None),
            (0, Some(14)),
        ];
        for (profile, key_len) in [
            (ProtectionProfile::AeadAes128Gcm, 16),
            (ProtectionProfile::AeadAes256Gcm, 32),
        ] {
            let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ key_len as u64);
            let (master, msalt) = (rng.bytes(key_len), rng.bytes(12));
            let m = MasterKey::new(profile, &master, &msalt).unwrap();
            let mut tx = SrtpContext::new(profile, &m, SrtpConfig::default()).unwrap();
            let mut rx = SrtpContext::new(profile, &m, SrtpConfig::default()).unwrap();
            let (key, salt) = session(&master, &msalt, 0x00, 0x02);
            let ssrc = rng.next() as u32;
            let (mut seq, mut roc) = (65_000u16, 0u64);
            for len in lengths() {
                for &(cc, ext) in &headers {
                    let mut hdr = vec![0x80 | cc as u8, 0x60];
                    hdr.extend_from_slice(&seq.to_be_bytes());
                    hdr.extend_from_slice(&(rng.next() as u32).to_be_bytes());
                    hdr.extend_from_slice(&ssrc.to_be_bytes());
                    hdr.extend(rng.bytes(4 * cc));
                    if let Some(words) = ext {
                        hdr[0] |= 0x10;
                        hdr.extend_from_slice(&[0xbe, 0xde, 0, words as u8]);
                        hdr.extend(rng.bytes(4 * words));
                    }
                    let h = hdr.len();
                    let plain = rng.bytes(len);
                    // telox seals, the reference checks
                    let mut buf = [hdr.as_slice(), &plain, &[0; 16]].concat();
                    let n = tx.protect_rtp(&mut buf, h + len).unwrap();
                    assert_eq!(n, h + len + 16);
                    let iv = iv(&salt, ssrc, roc << 16 | u64::from(seq));
                    let mut ct = plain.clone();
                    let tag = reference(&key, &iv, &hdr, &mut ct);
                    let want = [hdr.as_slice(), &ct, &tag].concat();
                    assert_eq!(buf, want, "len {len} header {h} seq {seq}");
                    // the reference's packet: tampered ones refused, then telox opens it
                    let positions = tamper_positions(&mut rng, len, want.len());
                    assert_tamper_refused(&mut rng, &positions, &want, |p| {
                        rx.unprotect_rtp(p).is_ok()
                    });
                    let mut pkt = want;
                    let n = rx.unprotect_rtp(&mut pkt).unwrap();
                    assert_eq!(&pkt[..h], hdr, "len {len} header {h}");
                    assert_eq!(&pkt[h..n], plain, "len {len} header {h}");
                    seq = seq.wrapping_add(1);
                    roc += u64::from(seq == 0);
                }
            }
            assert_eq!(roc, 1, "the sequence numbers wrapped");
        }
    }

    /// SRTCP (RFC 7714 §9) against the `aes-gcm` crate, both key sizes, encrypted (AAD =
    /// header, E flag and index; every payload length 0-300 and steps to 1500) and not
    /// (the whole packet is AAD, no plaintext), both ways and tampered as in the SRTP test.
    #[test]
    fn srtcp_matches_aes_gcm_both_ways() {
        for (profile, key_len) in [
            (ProtectionProfile::AeadAes128Gcm, 16),
            (ProtectionProfile::AeadAes256Gcm, 32),
        ] {
            for encrypt in [true, false] {
                let mut rng = Rng(0x2545_f491_4f6c_dd1d ^ key_len as u64 ^ u64::from(encrypt));
                let (master, msalt) = (rng.bytes(key_len), rng.bytes(12));
                let m = MasterKey::new(profile, &master, &msalt).unwrap();
                let config = SrtpConfig {
                    encrypt_rtcp: encrypt,
                    ..SrtpConfig::default()
                };
                let mut tx = SrtpContext::new(profile, &m, config.clone()).unwrap();
                let mut rx = SrtpContext::new(profile, &m, config).unwrap();
                let (key, salt) = session(&master, &msalt, 0x03, 0x05);
                let ssrc = rng.next() as u32;
                let mut next_index = None;
                for len in lengths() {
                    let mut pkt = vec![0x80, 200, 0, 0];
                    pkt.extend_from_slice(&ssrc.to_be_bytes());
                    pkt.extend(rng.bytes(len));
                    let mut buf = [pkt.as_slice(), &[0; 20]].concat();
                    let n = tx.protect_rtcp(&mut buf, 8 + len).unwrap();
                    assert_eq!(n, 8 + len + 20);
                    let word: [u8; 4] = buf[n - 4..].try_into().unwrap();
                    let index = u32::from_be_bytes(word) & 0x7fff_ffff;
                    assert_eq!(word[0] >> 7, u8::from(encrypt));
                    assert_eq!(index, next_index.unwrap_or(index));
                    next_index = Some(index + 1);
                    let iv = iv(&salt, ssrc, u64::from(index));
                    let mut body = pkt[8..].to_vec();
                    let tag = if encrypt {
                        let aad = [&pkt[..8], &word].concat();
                        reference(&key, &iv, &aad, &mut body)
                    } else {
                        reference(&key, &iv, &[pkt.as_slice(), &word].concat(), &mut [])
                    };
                    let want = [&pkt[..8], &body, &tag, &word].concat();
                    assert_eq!(buf, want, "len {len} encrypt {encrypt}");
                    let positions = tamper_positions(&mut rng, len, want.len());
                    assert_tamper_refused(&mut rng, &positions, &want, |p| {
                        rx.unprotect_rtcp(p).is_ok()
                    });
                    let mut got = want;
                    let n = rx.unprotect_rtcp(&mut got).unwrap();
                    assert_eq!(&got[..n], pkt, "len {len} encrypt {encrypt}");
                }
            }
        }
    }

    /// The 256-bit path is chosen exactly where the CPU has AVX2, VAES and VPCLMULQDQ and
    /// not the AVX-512 of the wide one, for both key sizes, and `narrow` drops it.
    #[test]
    fn ymm_path_where_the_cpu_has_it() {
        for key in [[7u8; 16].as_slice(), &[7; 32]] {
            let Some(k) = super::super::Key::new(key) else {
                return; // no AES-NI: the portable path is the one in use and tested
            };
            assert_eq!(k.is_ymm(), cpu_has_ymm());
            assert!(!k.narrow().is_ymm());
        }
    }
}
