//! The wide path of [`super`]: AES-GCM and AES-CM with VAES and VPCLMULQDQ on 512-bit
//! registers (AVX-512F/BW), four 16-byte blocks per instruction.
//!
//! # Why this module may use `unsafe`
//!
//! Like its parent, this module is allowed `unsafe` for a measured need (details and figures in
//! the srtp section of `benches/README.md`, "srtp, session 4"): the 128-bit code of the parent
//! issues one AES round or one carry-less multiplication per block, and at 1200 B (77 GHASH
//! blocks, 76 AES blocks) it was 0.69x ring (`rtc-srtp`), whose assembly works on 4 blocks per
//! instruction. Here each `vaesenc`/`vpclmulqdq` takes 4 blocks.
//!
//! The `unsafe` blocks are of two kinds, each with a SAFETY comment:
//! - calls from code compiled without AVX-512 into the `#[target_feature]` functions here, made
//!   only by methods of [`Wide`], whose only constructor [`Wide::new`] checked the features with
//!   `is_x86_feature_detected!` (once per session key; the result lives in the key, not per
//!   packet). Its fields are private to this module.
//! - 64-byte loads and stores: `_mm512_loadu_si512`/`_mm512_storeu_si512` on a `&[u8; 64]` or
//!   `&[u128; 4]`, and AVX-512BW byte-masked loads and stores whose mask covers exactly the
//!   bytes of the slice given (masked-off bytes are not accessed, so the slice may be shorter
//!   than 64 bytes). These take raw pointers, which the parent module avoids; a block-wise load
//!   through `u128` values would split every 64-byte access into four and cost the
//!   store-forwarding stalls the parent's docs describe.
//!
//! GHASH is POLYVAL on byte-reversed blocks, as in the parent: the blocks of a packet are
//! hashed in runs of up to [`RUN`] with one reduction per run; a run of m blocks multiplies its
//! blocks by H^m..H^1, read from a table kept in descending order so that the 4 powers of any
//! 4 consecutive blocks are one unaligned 64-byte load.
//!
//! Decryption hashes the ciphertext and decrypts in the same pass; on a tag mismatch the same
//! keystream is applied again, so the caller's buffer is back as it was when `open` returns
//! (it holds the buffer mutably for the whole call, so no one sees the plaintext of a forgery).

#![allow(
    unsafe_code,
    reason = "calls into the VAES/VPCLMULQDQ code and 64-byte loads/stores: see the module docs"
)]

use core::arch::x86_64::{
    __m128i, __m512i, _MM_PERM_BADC, _mm_aesenc_si128, _mm_aesenclast_si128, _mm_setzero_si128,
    _mm_xor_si128, _mm256_castsi256_si128, _mm256_extracti128_si256, _mm256_xor_si256,
    _mm512_add_epi32, _mm512_aesenc_epi128, _mm512_aesenclast_epi128, _mm512_broadcast_i32x4,
    _mm512_bslli_epi128, _mm512_bsrli_epi128, _mm512_castsi512_si128, _mm512_castsi512_si256,
    _mm512_clmulepi64_epi128, _mm512_extracti64x4_epi64, _mm512_loadu_si512,
    _mm512_mask_storeu_epi8, _mm512_maskz_loadu_epi8, _mm512_maskz_mov_epi8, _mm512_set_epi32,
    _mm512_setzero_si512, _mm512_shuffle_epi8, _mm512_shuffle_epi32, _mm512_storeu_si512,
    _mm512_xor_si512, _mm512_zextsi128_si512,
};

use zeroize::{Zeroize, ZeroizeOnDrop};

use super::{Acc, Aes, halves_xor, load, store};
use crate::ghash::{be_padded, length_block};

/// GHASH blocks per reduction.
pub(super) const RUN: usize = 16;

/// Proof that this CPU has what the wide path needs, plus the GHASH powers for GCM.
///
/// Only [`Wide::new`] builds one, after `is_x86_feature_detected!`.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub(super) struct Wide {
    /// `pow[i]` = H^(RUN - i) for i < RUN (dot powers of the POLYVAL key), then zeros: the 4
    /// powers for blocks that are j..j-3 blocks from the end of their run start at RUN - j.
    pow: [u128; RUN + 4],
}

impl Wide {
    /// `Some` if this CPU has AVX-512F/BW, VAES and VPCLMULQDQ, and the AES-NI, PCLMULQDQ
    /// and SSSE3 of the 128-bit code (every function here is compiled with all of them);
    /// `h` is the POLYVAL key (zero when only AES-CM is wanted).
    pub(super) fn new(h: u128) -> Option<Self> {
        let ok = std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
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

    /// AES-CM over `data` from counter block `iv` (big-endian), or `false` if the counter's
    /// last byte would carry within `data` (see [`crypt`]; the caller then takes the 128-bit
    /// path). SRTP's IVs end in 16 zero bits, so this takes packets up to 4 KiB.
    pub(super) fn apply_keystream(&self, aes: &Aes, iv: u128, data: &mut [u8]) -> bool {
        // SAFETY: `self` exists, so `Wide::new` detected AVX-512F/BW, VAES, VPCLMULQDQ, AES-NI,
        // PCLMULQDQ, SSE2 and SSSE3, all that `ctr` is compiled with.
        unsafe { super::vaes::ctr_where_it_fits(aes, iv, data, [ctr::<10>, ctr::<14>]) }
    }

    /// GCM: encrypts (`seal`) or decrypts `data` in place and returns GHASH XOR E(K, J0) as a
    /// big-endian value, hashing the ciphertext in the same pass; `None` (and `data` untouched)
    /// for more than 254 blocks (4064 bytes), which the 128-bit path takes.
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
        // SAFETY: as in `apply_keystream`: `self` proves the features `gcm` needs.
        Some(unsafe {
            match (aes.rounds, seal) {
                (10, true) => gcm::<10, SEAL>(self, aes, iv, aad, data),
                (10, false) => gcm::<10, OPEN>(self, aes, iv, aad, data),
                (_, true) => gcm::<14, SEAL>(self, aes, iv, aad, data),
                (_, false) => gcm::<14, OPEN>(self, aes, iv, aad, data),
            }
        })
    }
}

/// The last byte of GCM's first data counter block, IV || 2.
pub(super) const GCM_FIRST: u128 = 2;

/// Whether `len` bytes of counter mode from counter block `first` (big-endian) only ever
/// change its last byte, the condition of [`crypt`].
pub(super) fn fits(first: u128, len: usize) -> bool {
    (first & 0xff) as usize + len.div_ceil(16) <= 256
}

/// Fills `pow` with H^n..H^1 (dot powers), n = `pow.len()` - 4, and leaves its last 4
/// values as they are (zeros): H^RUN..H^1 for the runs of this module and of `gcm_ymm`,
/// more for `gcm_ymm`'s whole-packet table.
#[target_feature(enable = "aes,pclmulqdq,sse2,ssse3")]
pub(super) fn powers(pow: &mut [u128], h: u128) {
    let hv = load(h);
    let hm = halves_xor(h);
    let mut p = hv;
    let n = pow.len().saturating_sub(4);
    for slot in pow.iter_mut().take(n).rev() {
        *slot = store(p);
        let mut acc = Acc::new();
        acc.mul(p, hv, hm);
        p = acc.reduce();
    }
}

/// The round keys broadcast to all four lanes.
#[target_feature(enable = "avx512f,avx512bw,vaes,vpclmulqdq,aes,pclmulqdq,sse2,ssse3")]
fn round_keys<const R: usize>(aes: &Aes) -> [__m512i; 15] {
    let mut rk = [_mm512_setzero_si512(); 15];
    for (r, k) in rk.iter_mut().zip(&aes.round_keys).take(R + 1) {
        *r = _mm512_broadcast_i32x4(load(*k));
    }
    rk
}

/// A 128-bit value in all four lanes.
#[target_feature(enable = "avx512f,avx512bw,vaes,vpclmulqdq,aes,pclmulqdq,sse2,ssse3")]
fn splat(v: u128) -> __m512i {
    _mm512_broadcast_i32x4(load(v))
}

/// `N` groups of 4 blocks through AES, round by round.
#[target_feature(enable = "avx512f,avx512bw,vaes,vpclmulqdq,aes,pclmulqdq,sse2,ssse3")]
fn encrypt<const R: usize, const N: usize>(
    rk: &[__m512i; 15],
    mut b: [__m512i; N],
) -> [__m512i; N] {
    aes_rounds!(
        b,
        rk,
        R,
        _mm512_xor_si512,
        _mm512_aesenc_epi128,
        _mm512_aesenclast_epi128
    );
    b
}

/// The byte mask of the first `n` bytes of 64 (`n` <= 64).
fn byte_mask(n: usize) -> u64 {
    match n {
        0..64 => (1 << n) - 1,
        _ => u64::MAX,
    }
}

/// Loads `b` (at most 64 bytes are read), zero-padded to 64 bytes.
#[target_feature(enable = "avx512f,avx512bw,vaes,vpclmulqdq,aes,pclmulqdq,sse2,ssse3")]
fn load_part(b: &[u8]) -> __m512i {
    // SAFETY: AVX-512BW is enabled here (and was detected by `Wide::new` before any caller
    // could run); the mask selects the first min(len, 64) bytes of `b`, all in bounds, and a
    // masked load does not access the bytes its mask leaves out.
    unsafe { _mm512_maskz_loadu_epi8(byte_mask(b.len()), b.as_ptr().cast()) }
}

/// Stores the first min(len, 64) bytes of `v` into `b`.
#[target_feature(enable = "avx512f,avx512bw,vaes,vpclmulqdq,aes,pclmulqdq,sse2,ssse3")]
fn store_part(b: &mut [u8], v: __m512i) {
    // SAFETY: as in `load_part`: AVX-512BW detected, and the mask covers only bytes of `b`.
    unsafe { _mm512_mask_storeu_epi8(b.as_mut_ptr().cast(), byte_mask(b.len()), v) }
}

/// Loads 64 bytes.
#[target_feature(enable = "avx512f,avx512bw,vaes,vpclmulqdq,aes,pclmulqdq,sse2,ssse3")]
fn load64(b: &[u8; 64]) -> __m512i {
    // SAFETY: AVX-512F detected (see `load_part`); `b` is 64 readable bytes and `loadu` has
    // no alignment requirement.
    unsafe { _mm512_loadu_si512(core::ptr::from_ref(b).cast()) }
}

/// Stores 64 bytes.
#[target_feature(enable = "avx512f,avx512bw,vaes,vpclmulqdq,aes,pclmulqdq,sse2,ssse3")]
fn store64(b: &mut [u8; 64], v: __m512i) {
    // SAFETY: AVX-512F detected (see `load_part`); `b` is 64 writable bytes and `storeu` has
    // no alignment requirement.
    unsafe { _mm512_storeu_si512(core::ptr::from_mut(b).cast(), v) }
}

/// The 4 consecutive powers starting at `pow[i]` (zeros past the table).
#[target_feature(enable = "avx512f,avx512bw,vaes,vpclmulqdq,aes,pclmulqdq,sse2,ssse3")]
fn powers4(pow: &[u128; RUN + 4], i: usize) -> __m512i {
    match pow.get(i..).and_then(|p| p.first_chunk::<4>()) {
        // SAFETY: AVX-512F detected (see `load_part`); `p` is a reference to 64 readable
        // bytes and `loadu` has no alignment requirement.
        Some(p) => unsafe { _mm512_loadu_si512(core::ptr::from_ref(p).cast()) },
        None => _mm512_setzero_si512(),
    }
}

/// Byte reversal of each lane: blocks as they lie in memory <-> POLYVAL elements.
#[target_feature(enable = "avx512f,avx512bw,vaes,vpclmulqdq,aes,pclmulqdq,sse2,ssse3")]
fn reverse(x: __m512i) -> __m512i {
    _mm512_shuffle_epi8(x, splat(0x0001_0203_0405_0607_0809_0a0b_0c0d_0e0f))
}

/// The GHASH state of one stream of blocks, fed 1-4 blocks (one register) at a time.
struct Ghash<'k> {
    pow: &'k [u128; RUN + 4],
    /// The unreduced products of the current run: low, middle and high 64x64 products.
    lo: __m512i,
    mid: __m512i,
    hi: __m512i,
    /// The reduced sum of the runs before, XORed into the first block of the next run.
    acc: __m128i,
    /// Blocks left in the current run (the next block is multiplied by H^left), and after it.
    left: usize,
    after: usize,
    /// Whether the next block starts a run.
    start: bool,
    /// H^16..H^1 in four registers, for whole runs.
    run_pow: [__m512i; 4],
}

impl<'k> Ghash<'k> {
    /// The state for a stream of `blocks` blocks after accumulator `acc`. Runs are counted
    /// from the start, [`RUN`] blocks each and the last one shorter; a register of blocks
    /// never straddles two runs as long as every register but a stream's last is full.
    #[target_feature(enable = "avx512f,avx512bw,vaes,vpclmulqdq,aes,pclmulqdq,sse2,ssse3")]
    fn new(pow: &'k [u128; RUN + 4], blocks: usize, acc: __m128i) -> Self {
        let left = blocks.min(RUN);
        Self {
            pow,
            lo: _mm512_setzero_si512(),
            mid: _mm512_setzero_si512(),
            hi: _mm512_setzero_si512(),
            acc,
            left,
            after: blocks - left,
            start: true,
            run_pow: [
                powers4(pow, 0),
                powers4(pow, 4),
                powers4(pow, 8),
                powers4(pow, 12),
            ],
        }
    }

    /// Hashes 16 blocks as they lie in memory; a whole run when the state is at the start of
    /// one with 16 blocks to go (always so for the leading whole batches of a stream), else
    /// block group by block group.
    #[target_feature(enable = "avx512f,avx512bw,vaes,vpclmulqdq,aes,pclmulqdq,sse2,ssse3")]
    fn feed16(&mut self, x: [__m512i; 4]) {
        if !(self.start && self.left == RUN) {
            for x in x {
                self.feed_bytes(x, 64);
            }
            return;
        }
        let [x0, x1, x2, x3] = x.map(|x| reverse(x));
        let x0 = _mm512_xor_si512(x0, _mm512_zextsi128_si512(self.acc));
        let [h0, h1, h2, h3] = self.run_pow;
        let mul = |x, h| {
            (
                _mm512_clmulepi64_epi128::<0x00>(x, h),
                _mm512_xor_si512(
                    _mm512_clmulepi64_epi128::<0x01>(x, h),
                    _mm512_clmulepi64_epi128::<0x10>(x, h),
                ),
                _mm512_clmulepi64_epi128::<0x11>(x, h),
            )
        };
        let sum = |a: (__m512i, __m512i, __m512i), b: (__m512i, __m512i, __m512i)| {
            (
                _mm512_xor_si512(a.0, b.0),
                _mm512_xor_si512(a.1, b.1),
                _mm512_xor_si512(a.2, b.2),
            )
        };
        let (lo, mid, hi) = sum(sum(mul(x0, h0), mul(x1, h1)), sum(mul(x2, h2), mul(x3, h3)));
        (self.lo, self.mid, self.hi) = (lo, mid, hi);
        self.acc = self.reduce();
        self.left = self.after.min(RUN);
        self.after -= self.left;
    }

    /// Hashes the first `n` (1..=4) lanes of `x`, POLYVAL elements; the other lanes are zero.
    #[target_feature(enable = "avx512f,avx512bw,vaes,vpclmulqdq,aes,pclmulqdq,sse2,ssse3")]
    fn feed(&mut self, x: __m512i, n: usize) {
        let x = if self.start {
            self.start = false;
            _mm512_xor_si512(x, _mm512_zextsi128_si512(self.acc))
        } else {
            x
        };
        let h = powers4(self.pow, RUN.wrapping_sub(self.left));
        self.lo = _mm512_xor_si512(self.lo, _mm512_clmulepi64_epi128::<0x00>(x, h));
        self.hi = _mm512_xor_si512(self.hi, _mm512_clmulepi64_epi128::<0x11>(x, h));
        let m = _mm512_xor_si512(
            _mm512_clmulepi64_epi128::<0x01>(x, h),
            _mm512_clmulepi64_epi128::<0x10>(x, h),
        );
        self.mid = _mm512_xor_si512(self.mid, m);
        self.left = self.left.saturating_sub(n);
        if self.left == 0 {
            self.acc = self.reduce();
            self.left = self.after.min(RUN);
            self.after -= self.left;
            self.start = true;
        }
    }

    /// Hashes up to 64 bytes as they lie in memory, zero-padded to whole blocks (`x` holds
    /// them with zeros after `len` bytes).
    #[target_feature(enable = "avx512f,avx512bw,vaes,vpclmulqdq,aes,pclmulqdq,sse2,ssse3")]
    fn feed_bytes(&mut self, x: __m512i, len: usize) {
        self.feed(reverse(x), len.div_ceil(16));
    }

    /// The run's sum times x^-128 (as `Acc::reduce` in the parent, lane by lane: the
    /// reduction is linear), then the four lanes added; resets the run's products.
    #[target_feature(enable = "avx512f,avx512bw,vaes,vpclmulqdq,aes,pclmulqdq,sse2,ssse3")]
    fn reduce(&mut self) -> __m128i {
        let zero = _mm512_setzero_si512();
        let mid = core::mem::replace(&mut self.mid, zero);
        let low = _mm512_xor_si512(
            core::mem::replace(&mut self.lo, zero),
            _mm512_bslli_epi128::<8>(mid),
        );
        let high = _mm512_xor_si512(
            core::mem::replace(&mut self.hi, zero),
            _mm512_bsrli_epi128::<8>(mid),
        );
        let q = splat(0xc200_0000_0000_0000);
        let mut v = low;
        for _ in 0..2 {
            let t = _mm512_clmulepi64_epi128::<0x00>(v, q);
            v = _mm512_xor_si512(_mm512_shuffle_epi32::<_MM_PERM_BADC>(v), t);
        }
        let v = _mm512_xor_si512(v, high);
        let v = _mm256_xor_si256(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64::<1>(v));
        _mm_xor_si128(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v))
    }

    /// Hashes `bytes` zero-padded to whole blocks.
    #[target_feature(enable = "avx512f,avx512bw,vaes,vpclmulqdq,aes,pclmulqdq,sse2,ssse3")]
    fn feed_all(&mut self, bytes: &[u8]) {
        for part in bytes.chunks(64) {
            self.feed_bytes(load_part(part), part.len());
        }
    }
}

/// GCM in one pass (see [`Wide::gcm`]).
#[target_feature(enable = "avx512f,avx512bw,vaes,vpclmulqdq,aes,pclmulqdq,sse2,ssse3")]
fn gcm<const R: usize, const MODE: u8>(
    wide: &Wide,
    aes: &Aes,
    iv: &[u8; 12],
    aad: &[u8],
    data: &mut [u8],
) -> u128 {
    let rk = round_keys::<R>(aes);
    // J0 = IV || 1 (SP 800-38D §7.1); the data's blocks use inc32 of it: IV || 2, ...
    let j0 = be_padded(iv) | 1;
    // E(K, J0), the tag mask, on the side: 128-bit AES-NI with lane 0 of the round keys
    let mask = {
        let mut b = _mm_xor_si128(load(j0.swap_bytes()), _mm512_castsi512_si128(rk[0]));
        for k in &rk[1..R] {
            b = _mm_aesenc_si128(b, _mm512_castsi512_si128(*k));
        }
        _mm_aesenclast_si128(b, _mm512_castsi512_si128(rk[R]))
    };
    let mut aad_hash = Ghash::new(&wide.pow, aad.len().div_ceil(16), _mm_setzero_si128());
    aad_hash.feed_all(aad);
    let len = data.len();
    let mut gh = Ghash::new(&wide.pow, len.div_ceil(16) + 1, aad_hash.acc);
    crypt::<R, MODE>(&rk, j0 + 1, data, &mut gh);
    gh.feed(
        _mm512_zextsi128_si512(load(length_block(aad.len(), len))),
        1,
    );
    store(gh.acc) ^ store(super::reverse(mask))
}

/// AES-CM (see [`Wide::apply_keystream`]): `data` XOR AES(iv + i); the caller checked
/// [`fits`].
#[target_feature(enable = "avx512f,avx512bw,vaes,vpclmulqdq,aes,pclmulqdq,sse2,ssse3")]
fn ctr<const R: usize>(aes: &Aes, iv: u128, data: &mut [u8]) {
    let rk = round_keys::<R>(aes);
    let mut no_hash = Ghash::new(&[0; RUN + 4], 0, _mm_setzero_si128());
    crypt::<R, CTR>(&rk, iv, data, &mut no_hash);
}

/// What [`crypt`] does besides counter mode.
const CTR: u8 = 0;
/// GCM encryption: hash the output.
const SEAL: u8 = 1;
/// GCM decryption: hash the input.
const OPEN: u8 = 2;

/// Counter mode over `data` from counter block `first` (big-endian), 16 blocks in flight,
/// and for GCM ([`SEAL`], [`OPEN`]) the ciphertext hashed into `gh`.
///
/// The caller checked [`fits`]: no counter block differs from `first` in more than its last
/// byte, so the blocks are built in their big-endian byte order with `vpaddd` adding to the
/// top byte of each lane's last word, with no byte swap per block. (For GCM this is inc32 as
/// well: the 32-bit counter cannot wrap in 254 blocks from 2.)
///
/// When sealing, a batch's ciphertext is hashed after the next batch's AES is issued, so that
/// the AES and GHASH chains of neighbouring batches overlap.
#[target_feature(enable = "avx512f,avx512bw,vaes,vpclmulqdq,aes,pclmulqdq,sse2,ssse3")]
fn crypt<const R: usize, const MODE: u8>(
    rk: &[__m512i; 15],
    first: u128,
    data: &mut [u8],
    gh: &mut Ghash<'_>,
) {
    let mut ctr = _mm512_add_epi32(
        splat(first.swap_bytes()),
        _mm512_set_epi32(
            3 << 24,
            0,
            0,
            0,
            2 << 24,
            0,
            0,
            0,
            1 << 24,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
        ),
    );
    let four = _mm512_set_epi32(
        4 << 24,
        0,
        0,
        0,
        4 << 24,
        0,
        0,
        0,
        4 << 24,
        0,
        0,
        0,
        4 << 24,
        0,
        0,
        0,
    );
    let mut next = || {
        let c = ctr;
        ctr = _mm512_add_epi32(ctr, four);
        c
    };
    let (whole, rest) = data.as_chunks_mut::<256>();
    let mut pending: Option<[__m512i; 4]> = None;
    for chunk in whole {
        let ks = encrypt::<R, 4>(rk, [next(), next(), next(), next()]);
        if let Some(c) = pending.take() {
            gh.feed16(c);
        }
        let (parts, _) = chunk.as_chunks_mut::<64>();
        let [p0, p1, p2, p3] = parts else {
            continue; // 256 bytes are 4 parts of 64
        };
        let d = [load64(p0), load64(p1), load64(p2), load64(p3)];
        let [k0, k1, k2, k3] = ks;
        let c = [
            _mm512_xor_si512(d[0], k0),
            _mm512_xor_si512(d[1], k1),
            _mm512_xor_si512(d[2], k2),
            _mm512_xor_si512(d[3], k3),
        ];
        store64(p0, c[0]);
        store64(p1, c[1]);
        store64(p2, c[2]);
        store64(p3, c[3]);
        if MODE == OPEN {
            gh.feed16(d);
        } else if MODE == SEAL {
            pending = Some(c);
        }
    }
    macro_rules! tail {
        ($n:literal) => {{
            let ks = encrypt::<R, $n>(rk, core::array::from_fn(|_| next()));
            if let Some(c) = pending.take() {
                gh.feed16(c);
            }
            for (part, k) in rest.chunks_mut(64).zip(ks.iter()) {
                let d = load_part(part);
                let c = _mm512_xor_si512(d, *k);
                store_part(part, c);
                if MODE == SEAL {
                    // the keystream past the data is not ciphertext
                    gh.feed_bytes(_mm512_maskz_mov_epi8(byte_mask(part.len()), c), part.len());
                } else if MODE == OPEN {
                    gh.feed_bytes(d, part.len());
                }
            }
        }};
    }
    match rest.len().div_ceil(64) {
        0 => {}
        1 => tail!(1),
        2 => tail!(2),
        3 => tail!(3),
        _ => tail!(4),
    }
    if let Some(c) = pending {
        gh.feed16(c);
    }
}
