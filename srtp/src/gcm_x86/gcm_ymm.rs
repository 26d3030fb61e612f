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
//! The `unsafe` blocks are of three kinds, each with a SAFETY comment:
//! - calls from code compiled without AVX2 into the `#[target_feature]` functions here, made
//!   only by methods of [`Ymm`], whose only constructor [`Ymm::new`] checked the features
//!   with `is_x86_feature_detected!` (once per session key; the proof lives in the key);
//! - 16- and 32-byte loads and stores (`_mm_loadu_si128`/`_mm256_loadu_si256` and their
//!   stores) on a `&[u8; 16]`, `&[u8; 32]` or `&[u128; 2]`, which take raw pointers (as in
//!   `avx512` and `vaes`);
//! - the empty `asm!` of `hold!` (see `keep!`): a comment for a template, registers in and
//!   out unchanged, no memory, stack or flags touched.
//!
//! GHASH is POLYVAL on byte-reversed blocks, as in the parent. The blocks are hashed in runs
//! of up to [`RUN`] with one reduction per run; in a run of m blocks the blocks are
//! multiplied by H^m..H^1, read from the table of [`super::avx512`] (descending, so the
//! powers of two consecutive blocks are one unaligned 32-byte load). When the AAD, payload
//! and length block together fit one run (the usual SRTP packet up to 240 bytes) they share
//! it, in straight-line code for the packet's number of registers ([`short_n`]: E(K, J0) in
//! the same AES batch as the keystream, the length block in the free lane of an odd
//! payload's last register); else, up to [`LONG`] blocks (RTP up to 1504 bytes after a
//! 12-byte header), the whole packet is one sum over the key powers H^LONG..H^1 kept in the
//! key ([`Ymm::lpow`]), reduced once, each batch's AES stitched round by round with the
//! GHASH of a batch ([`long`]); a longer packet's AAD is a stream of runs of its own and the
//! payload and length block another, hashed batch by batch from memory ([`crypt`]). The
//! round keys are kept in the key twice over ([`Ymm::rk`]), so that a round loads its key in
//! both lanes with one 32-byte load instead of a broadcast per packet. An empty `asm!`
//! between rounds (`keep!`) keeps LLVM from running each register through all its rounds
//! before the next.
//!
//! Decryption hashes the ciphertext and decrypts in the same pass; on a tag mismatch the
//! caller applies the same keystream again (see [`Ymm::open`]), so the buffer is back as it
//! was when `open` returns (it holds the buffer mutably for the whole call, so no one sees
//! the plaintext of a forgery).

#![allow(
    unsafe_code,
    reason = "calls into the VAES/VPCLMULQDQ code and 32-byte loads/stores: see the module docs"
)]

use core::arch::x86_64::{
    __m128i, __m256i, _mm_loadu_si128, _mm_setzero_si128, _mm_storeu_si128, _mm_testz_si128,
    _mm_xor_si128, _mm256_add_epi32, _mm256_aesenc_epi128, _mm256_aesenclast_epi128,
    _mm256_and_si256, _mm256_broadcastsi128_si256, _mm256_bslli_epi128, _mm256_bsrli_epi128,
    _mm256_castsi256_si128, _mm256_clmulepi64_epi128, _mm256_cmpgt_epi8, _mm256_extracti128_si256,
    _mm256_inserti128_si256, _mm256_loadu_si256, _mm256_set_epi32, _mm256_set1_epi8,
    _mm256_setzero_si256, _mm256_shuffle_epi8, _mm256_shuffle_epi32, _mm256_storeu_si256,
    _mm256_xor_si256, _mm256_zextsi128_si256,
};

use zeroize::{Zeroize, ZeroizeOnDrop};

use super::avx512::{GCM_FIRST, RUN, fits, powers};
use super::{Aes, load};
use crate::ghash::{be_padded, length_block};

/// Proof that this CPU has AVX2, VAES and VPCLMULQDQ, plus the GHASH key powers.
///
/// Only [`Ymm::new`] builds one, after `is_x86_feature_detected!`.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub(super) struct Ymm {
    /// `pow[i]` = H^(RUN - i) for i < RUN (dot powers of the POLYVAL key), then zeros (the
    /// layout of [`powers`]).
    pow: [u128; RUN + 4],
    /// `mid[i]`: the XOR of the two 64-bit halves of `pow[i]`, for Karatsuba's middle
    /// product (three carry-less multiplications per register instead of four).
    mid: [u128; RUN + 4],
    /// H^[`LONG`]..H^1 then zeros, and the XORs of their halves, for [`long`]'s one sum
    /// over a whole packet (on the heap, 3.2 KB: the key that a short packet reads stays as
    /// it was).
    lpow: Box<[u128]>,
    lmid: Box<[u128]>,
    /// The AES round keys, each twice in a row (`rk[2r]` = `rk[2r + 1]` = round key r): one
    /// 32-byte load gives a round key in both lanes, loaded where a round uses it, instead
    /// of 15 broadcasts per packet into registers that spill.
    rk: [u128; 30],
}

impl Ymm {
    /// `Some` if this CPU has AVX2, VAES and VPCLMULQDQ, and the AES-NI, PCLMULQDQ and SSSE3
    /// of the 128-bit code (every function here is compiled with all of them); `h` is the
    /// POLYVAL key.
    pub(super) fn new(h: u128, aes: &Aes) -> Option<Self> {
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
        let mut out = Self {
            pow: [0; RUN + 4],
            mid: [0; RUN + 4],
            lpow: vec![0; LONG + 4].into_boxed_slice(),
            lmid: vec![0; LONG + 4].into_boxed_slice(),
            rk: [0; 30],
        };
        for (pair, k) in out.rk.chunks_exact_mut(2).zip(&aes.round_keys) {
            pair.fill(*k);
        }
        // SAFETY: AES-NI, PCLMULQDQ, SSE2 and SSSE3, what `powers` needs, were detected just
        // above.
        unsafe {
            powers(&mut out.pow, h);
            powers(&mut out.lpow, h);
        }
        for (m, p) in out.mid.iter_mut().zip(&out.pow) {
            *m = u128::from((p >> 64) as u64 ^ *p as u64);
        }
        for (m, p) in out.lmid.iter_mut().zip(&out.lpow) {
            *m = u128::from((p >> 64) as u64 ^ *p as u64);
        }
        Some(out)
    }

    /// Encrypts `data` in place and writes the tag to `tag` (a 16-byte store from the
    /// register it is computed in, no round trip through general registers); `false` (and
    /// nothing written) for more than 254 blocks (4064 bytes), which the 128-bit path takes.
    #[inline(always)]
    pub(super) fn seal(
        &self,
        aes: &Aes,
        iv: &[u8; 12],
        aad: &[u8],
        data: &mut [u8],
        tag: &mut [u8; 16],
    ) -> bool {
        if !takes(aad, data) {
            return false;
        }
        // SAFETY: `self` exists, so `Ymm::new` detected AVX2, VAES, VPCLMULQDQ, AES-NI,
        // PCLMULQDQ, SSE2 and SSSE3, all that `seal` is compiled with.
        unsafe {
            match aes.rounds {
                10 => seal::<10>(self, iv, aad, data, tag),
                _ => seal::<14>(self, iv, aad, data, tag),
            }
        }
        true
    }

    /// Decrypts `data` in place, hashing the ciphertext in the same pass, and answers whether
    /// `tag` is its tag (compared in a register, in constant time); `None` (and `data`
    /// untouched) for more than 254 blocks, which the 128-bit path takes.
    ///
    /// Decrypting twice with the same arguments gives `data` back: a caller that finds the
    /// tag wrong calls it again to restore the ciphertext.
    #[inline(always)]
    pub(super) fn open(
        &self,
        aes: &Aes,
        iv: &[u8; 12],
        aad: &[u8],
        data: &mut [u8],
        tag: &[u8; 16],
    ) -> Option<bool> {
        if !takes(aad, data) {
            return None;
        }
        // SAFETY: `self` exists, so `Ymm::new` detected AVX2, VAES, VPCLMULQDQ, AES-NI,
        // PCLMULQDQ, SSE2 and SSSE3, all that `open` is compiled with.
        Some(unsafe {
            match aes.rounds {
                10 => open::<10>(self, iv, aad, data, tag),
                _ => open::<14>(self, iv, aad, data, tag),
            }
        })
    }
}

/// Whether the 256-bit path takes a packet: one that [`short`] takes, or whose counter
/// blocks [`fits`] the one-byte addition of [`crypt`].
fn takes(aad: &[u8], data: &[u8]) -> bool {
    one_run(aad, data) || fits(GCM_FIRST, data.len())
}

/// Whether the blocks of `aad` and `data` fit one GHASH run with the length block, the
/// packets [`short`] takes.
#[inline(always)]
fn one_run(aad: &[u8], data: &[u8]) -> bool {
    aad.len().div_ceil(16) + data.len().div_ceil(16) < RUN
}

/// The tag of `data` (sealed or opened in place) as it lies in memory, through [`short`] or
/// [`gcm`]; the caller checked [`takes`].
#[target_feature(enable = "avx2,vaes,vpclmulqdq,aes,pclmulqdq,sse2,ssse3")]
fn tag<const R: usize, const SEAL: bool>(
    ymm: &Ymm,
    iv: &[u8; 12],
    aad: &[u8],
    data: &mut [u8],
) -> __m128i {
    if one_run(aad, data) {
        short::<R, SEAL>(ymm, iv, aad, data)
    } else if aad.len().div_ceil(16) + data.len().div_ceil(16) < LONG {
        long::<R, SEAL>(ymm, iv, aad, data)
    } else {
        gcm::<R, SEAL>(ymm, iv, aad, data)
    }
}

/// Seals (see [`Ymm::seal`]).
#[target_feature(enable = "avx2,vaes,vpclmulqdq,aes,pclmulqdq,sse2,ssse3")]
fn seal<const R: usize>(ymm: &Ymm, iv: &[u8; 12], aad: &[u8], data: &mut [u8], out: &mut [u8; 16]) {
    let t = tag::<R, true>(ymm, iv, aad, data);
    // SAFETY: SSE2 is enabled here; `out` is 16 writable bytes and `storeu` has no alignment
    // requirement.
    unsafe { _mm_storeu_si128(core::ptr::from_mut(out).cast(), t) }
}

/// Opens (see [`Ymm::open`]).
#[target_feature(enable = "avx2,vaes,vpclmulqdq,aes,pclmulqdq,sse2,ssse3")]
fn open<const R: usize>(
    ymm: &Ymm,
    iv: &[u8; 12],
    aad: &[u8],
    data: &mut [u8],
    want: &[u8; 16],
) -> bool {
    let t = tag::<R, false>(ymm, iv, aad, data);
    // SAFETY: SSE2 is enabled here; `want` is 16 readable bytes and `loadu` has no
    // alignment requirement.
    let want = unsafe { _mm_loadu_si128(core::ptr::from_ref(want).cast()) };
    let diff = _mm_xor_si128(t, want);
    // constant time: one test of all 128 bits (SSE4.1, implied by AVX2)
    _mm_testz_si128(diff, diff) == 1
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

/// The 2 consecutive values starting at `t[i]` as one register (zeros past the table): two
/// consecutive key powers, or a round key of [`Ymm::rk`] in both lanes.
#[target_feature(enable = "avx2,vaes,vpclmulqdq,aes,pclmulqdq,sse2,ssse3")]
fn pair(t: &[u128], i: usize) -> __m256i {
    match t.get(i..).and_then(|p| p.first_chunk::<2>()) {
        // SAFETY: AVX detected (see `load32`); `p` is a reference to 32 readable bytes and
        // `loadu` has no alignment requirement.
        Some(p) => unsafe { _mm256_loadu_si256(core::ptr::from_ref(p).cast()) },
        None => _mm256_setzero_si256(),
    }
}

/// The 2 consecutive powers starting at `pow[i]` (zeros past the table), with the XORs of
/// their halves (`mid`).
#[target_feature(enable = "avx2,vaes,vpclmulqdq,aes,pclmulqdq,sse2,ssse3")]
fn powers2(ymm: &Ymm, i: usize) -> [__m256i; 2] {
    [pair(&ymm.pow, i), pair(&ymm.mid, i)]
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

/// The unreduced 256-bit products x·h, lane by lane, by Karatsuba: low, middle and high
/// 64x64 products, the middle one (x_lo ^ x_hi)·(h_lo ^ h_hi) with `hm` = h's halves XORed
/// (see [`powers2`]); it still holds the low and high products, which [`reduce`] takes out
/// of the sum once per run.
#[target_feature(enable = "avx2,vaes,vpclmulqdq,aes,pclmulqdq,sse2,ssse3")]
fn mul(x: __m256i, [h, hm]: [__m256i; 2]) -> [__m256i; 3] {
    let xm = _mm256_xor_si256(x, _mm256_shuffle_epi32::<0x4e>(x));
    [
        _mm256_clmulepi64_epi128::<0x00>(x, h),
        _mm256_clmulepi64_epi128::<0x00>(xm, hm),
        _mm256_clmulepi64_epi128::<0x11>(x, h),
    ]
}

/// The GHASH state of one stream of blocks, fed 1 or 2 blocks (one register) at a time.
struct Ghash<'k> {
    ymm: &'k Ymm,
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
    fn new(ymm: &'k Ymm, blocks: usize, acc: __m128i) -> Self {
        let left = blocks.min(RUN);
        Self {
            ymm,
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
        let p = mul(x, powers2(self.ymm, RUN.wrapping_sub(self.left)));
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

    /// Hashes the 16 blocks of `chunk`: a whole run when the state is at the start
    /// of one with 16 blocks to go (always so for the leading whole batches of a payload
    /// whose AAD has its own stream), else register by register.
    #[target_feature(enable = "avx2,vaes,vpclmulqdq,aes,pclmulqdq,sse2,ssse3")]
    fn feed16(&mut self, chunk: &[u8; 256]) {
        let (parts, _) = chunk.as_chunks::<32>();
        if !(self.start && self.left == RUN) {
            for p in parts {
                self.feed(reverse(load32(p)), 2);
            }
            return;
        }
        let mut sum = [_mm256_setzero_si256(); 3];
        for (i, p) in parts.iter().enumerate() {
            let mut x = reverse(load32(p));
            if i == 0 {
                x = _mm256_xor_si256(x, _mm256_zextsi128_si256(self.acc));
            }
            for (s, p) in sum.iter_mut().zip(mul(x, powers2(self.ymm, 2 * i))) {
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

    /// The run's sum reduced ([`reduce`]); resets the run's products.
    #[target_feature(enable = "avx2,vaes,vpclmulqdq,aes,pclmulqdq,sse2,ssse3")]
    fn reduce(&mut self) -> __m128i {
        reduce(core::mem::replace(
            &mut self.prod,
            [_mm256_setzero_si256(); 3],
        ))
    }
}

/// The sum of unreduced products `[lo, mid, hi]` of [`mul`] times x^-128 (as `Acc::reduce` in the
/// parent, lane by lane: the reduction is linear), then the two lanes added.
#[target_feature(enable = "avx2,vaes,vpclmulqdq,aes,pclmulqdq,sse2,ssse3")]
fn reduce([lo, mid, hi]: [__m256i; 3]) -> __m128i {
    // Karatsuba's middle sum, less the low and high products (see `mul`)
    let mid = _mm256_xor_si256(mid, _mm256_xor_si256(lo, hi));
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

/// GCM of a packet whose AAD, payload and length block fit one GHASH run (fewer than
/// [`RUN`] blocks of AAD and payload: RTP packets up to 240 bytes after a 12-byte header),
/// through [`short_n`] for its number of registers of payload.
#[target_feature(enable = "avx2,vaes,vpclmulqdq,aes,pclmulqdq,sse2,ssse3")]
fn short<const R: usize, const SEAL: bool>(
    ymm: &Ymm,
    iv: &[u8; 12],
    aad: &[u8],
    data: &mut [u8],
) -> __m128i {
    match data.len().div_ceil(32) {
        0 => short_n::<R, SEAL, 1>(ymm, iv, aad, data),
        1 => short_n::<R, SEAL, 2>(ymm, iv, aad, data),
        2 => short_n::<R, SEAL, 3>(ymm, iv, aad, data),
        3 => short_n::<R, SEAL, 4>(ymm, iv, aad, data),
        4 => short_n::<R, SEAL, 5>(ymm, iv, aad, data),
        5 => short_n::<R, SEAL, 6>(ymm, iv, aad, data),
        6 => short_n::<R, SEAL, 7>(ymm, iv, aad, data),
        7 => short_n::<R, SEAL, 8>(ymm, iv, aad, data),
        _ => short_n::<R, SEAL, 9>(ymm, iv, aad, data),
    }
}

/// Bytes 0..32, for the mask of the bytes of a partial register.
const IOTA: [u8; 32] = {
    let mut b = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        b[i] = i as u8;
        i += 1;
    }
    b
};

/// GCM of a short packet (see [`short`]) with `N - 1` registers of payload (`data` is
/// 32 * (N - 2) + 1 ..= 32 * (N - 1) bytes, or empty for N = 1): one AES batch of N
/// registers, the payload's counter blocks and J0 (whose encryption masks the tag) side by
/// side; one GHASH run over AAD, payload and length block, one reduction. The round keys
/// are loaded from [`Ymm::rk`] round by round, the register loop unrolled (N is a
/// constant), so that nothing goes through the stack but a partial last register.
///
/// Block j of the run (AAD first, then payload, then the length block) is multiplied by
/// H^(m - j), m the run's blocks: `pow[RUN - m + j]`. A zero lane past the AAD or the
/// payload adds nothing; when the payload has an odd number of blocks, the length block
/// takes the free lane of its last register (its power there is H^1, the length block's).
#[target_feature(enable = "avx2,vaes,vpclmulqdq,aes,pclmulqdq,sse2,ssse3")]
fn short_n<const R: usize, const SEAL: bool, const N: usize>(
    ymm: &Ymm,
    iv: &[u8; 12],
    aad: &[u8],
    data: &mut [u8],
) -> __m128i {
    let len = data.len();
    let (a, d) = (aad.len().div_ceil(16), len.div_ceil(16));
    // where the run's first block takes its power (a + d + 1 <= RUN, checked by the caller)
    let at = RUN.saturating_sub(a + d + 1);
    // J0 in both lanes; the payload's blocks IV || 2, IV || 3..
    let j0 = j0(iv);
    let mut ctr = Counter::new(j0);
    let blocks: [__m256i; N] = core::array::from_fn(|i| if i + 1 == N { j0 } else { ctr.next() });
    let mut prod = [_mm256_setzero_si256(); 3];
    let mut hash = |x: __m256i, i: usize| {
        for (s, p) in prod.iter_mut().zip(mul(x, powers2(ymm, i))) {
            *s = _mm256_xor_si256(*s, p);
        }
    };
    for (k, part) in aad.chunks(32).enumerate() {
        hash(reverse(load_part(part)), at + 2 * k);
    }
    // after the AAD loop, whose copy of a partial register is a `memcpy` call that the
    // round keys' loads cannot move past: before it, LLVM loaded them all at the top and
    // spilled them to the stack
    let ks = aes_rounds::<R, N>(&ymm.rk, blocks);
    let lengths = load(length_block(aad.len(), len));
    for (k, key) in ks.iter().take(N - 1).enumerate() {
        let (x, c) = match data
            .get_mut(32 * k..)
            .and_then(|p| p.first_chunk_mut::<32>())
        {
            Some(p) => {
                let x = load32(p);
                let c = _mm256_xor_si256(x, *key);
                store32(p, c);
                (x, c)
            }
            None => {
                // the last 1-31 bytes through a buffer; the keystream past them is not
                // ciphertext and is masked off before hashing
                let rest = data.get_mut(32 * k..).unwrap_or_default();
                let n = rest.len().min(32);
                let mut b = [0u8; 32];
                b[..n].copy_from_slice(&rest[..n]);
                let x = load32(&b);
                let keep = _mm256_cmpgt_epi8(_mm256_set1_epi8(n as i8), load32(&IOTA));
                let c = _mm256_and_si256(_mm256_xor_si256(x, *key), keep);
                store32(&mut b, c);
                rest[..n].copy_from_slice(&b[..n]);
                (x, c)
            }
        };
        let mut h = reverse(if SEAL { c } else { x });
        if k + 2 == N && d % 2 == 1 {
            h = _mm256_xor_si256(
                h,
                _mm256_inserti128_si256::<1>(_mm256_setzero_si256(), lengths),
            );
        }
        hash(h, at + a + 2 * k);
    }
    if d % 2 == 0 {
        hash(_mm256_zextsi128_si256(lengths), RUN - 1);
    }
    let mask = _mm256_castsi256_si128(ks[N - 1]);
    _mm_xor_si128(super::reverse(reduce(prod)), mask)
}

/// Holds the registers of the array `$b` at this point of the program: an empty `asm!` that
/// takes them all and gives them back, no instruction (a macro, since `asm!` with `ymm_reg`
/// needs AVX enabled in the function it is written in). Between two rounds of
/// [`aes_rounds()`] it keeps the rounds in order: every register's round r before any
/// register's round r + 1. Without it LLVM's scheduler, short of registers for 8 states and
/// 11 round keys, ran each register through all its rounds before starting the next (chains
/// of 10 dependent `vaesenc`, 40 cycles each, one or two at a time), and the core, whose
/// window holds only a few such chains, could not overlap them. The short path's 1-9
/// registers ([`short_n`]) keep it too: without it (session 16, driver, 4 alternated rounds)
/// a 160-byte unprotect took 73.4-74.7 ns instead of 66.1-68.3 and a 0-byte one 47.6-48.7
/// instead of 45.3-46.9; protect the same. Holding the GHASH of `stitched!` in it as
/// well (each hashed register through its round's barrier, the sums through the next) was
/// slower: 1200-byte unprotect 198-201 -> 209-213 ns.
macro_rules! keep {
    ($b:expr) => {
        match $b.as_mut_slice() {
            [a] => hold!(a),
            [a, b] => hold!(a b),
            [a, b, c] => hold!(a b c),
            [a, b, c, d] => hold!(a b c d),
            [a, b, c, d, e] => hold!(a b c d e),
            [a, b, c, d, e, f] => hold!(a b c d e f),
            [a, b, c, d, e, f, g] => hold!(a b c d e f g),
            [a, b, c, d, e, f, g, h] => hold!(a b c d e f g h),
            [a, b, c, d, e, f, g, h, i] => hold!(a b c d e f g h i),
            _ => {}
        }
    };
}

/// The empty `asm!` of `keep!` over the registers named (`&mut __m256i` each).
macro_rules! hold {
    ($($x:ident)*) => {
        // SAFETY: the template is a comment: the asm reads and writes nothing but its
        // operands, which it gives back unchanged, and touches no memory, stack or flags.
        unsafe {
            core::arch::asm!(
                concat!("/*", $(" {", stringify!($x), "}",)* " */"),
                $($x = inout(ymm_reg) *$x,)*
                options(pure, nomem, nostack, preserves_flags)
            )
        }
    };
}

/// `$n` registers of counter blocks `$b` through AES as [`aes_rounds()`] (`$r` rounds, round
/// keys `$rk`), with the GHASH of the 8 registers of `$hashed` (the 256 bytes as they lie
/// in memory and their [`Powers8`], or `None`) added to `$acc` between the rounds, one
/// register a round. The carry-less multiplications and the AES rounds share the core's
/// pipes; stitched in program order they overlap, where a batch's GHASH after its AES
/// waited for it. A macro, so that it is always inlined (a `#[target_feature]` function
/// cannot be `#[inline(always)]`; LLVM kept it out of line, its registers through memory).
macro_rules! stitched {
    ($r:ident, $n:tt, $rk:expr, $b:expr, $hashed:expr, $acc:expr) => {{
        let mut b: [__m256i; $n] = $b;
        let rk: &[u128; 30] = $rk;
        let acc: &mut [__m256i; 3] = $acc;
        match $hashed {
            None => aes_rounds::<$r, $n>(rk, b),
            Some((hashed, (pow, mid))) => {
                let hashed: &[u8; 32 * BATCH] = hashed;
                let (pow, mid): Powers8<'_> = (pow, mid);
                let (parts, _) = hashed.as_chunks::<32>();
                let k = pair(rk, 0);
                for x in &mut b {
                    *x = _mm256_xor_si256(*x, k);
                }
                for r in 1..$r {
                    keep!(b);
                    let k = pair(rk, 2 * r);
                    for x in &mut b {
                        *x = _mm256_aesenc_epi128(*x, k);
                    }
                    if let (Some(p), Some(h), Some(m)) =
                        (parts.get(r - 1), pow.get(r - 1), mid.get(r - 1))
                    {
                        add(acc, reverse(load32(p)), [pair(h, 0), pair(m, 0)]);
                    }
                }
                keep!(b);
                let k = pair(rk, 2 * $r);
                for x in &mut b {
                    *x = _mm256_aesenclast_epi128(*x, k);
                }
                b
            }
        }
    }};
}

/// Blocks of AAD, payload and length block that [`long`] takes at most: RTP packets up to
/// 1504 bytes of payload after a 12-byte header.
const LONG: usize = 96;

/// GCM of a packet that [`short`] does not take, of fewer than [`LONG`] blocks of AAD and
/// payload, as one sum over the whole-packet key powers of [`Ymm::lpow`] (block j of m
/// times H^(m - j)), reduced once: no batch waits for the reduction of the one before, as
/// in [`gcm`]'s runs of 16. The payload goes through AES in batches of [`BATCH`] registers,
/// each batch's AES with the GHASH of 8 registers stitched between its rounds (`stitched!`):
/// the ciphertext of the batch before when sealing, the batch's own input when opening.
/// Then the last 1-8 registers, the length block, the reduction.
///
/// Out of line: inlined into [`tag`] beside [`short`], its frame would be a short packet's.
#[inline(never)]
#[target_feature(enable = "avx2,vaes,vpclmulqdq,aes,pclmulqdq,sse2,ssse3")]
fn long<const R: usize, const SEAL: bool>(
    ymm: &Ymm,
    iv: &[u8; 12],
    aad: &[u8],
    data: &mut [u8],
) -> __m128i {
    let len = data.len();
    let (a, d) = (aad.len().div_ceil(16), len.div_ceil(16));
    // where the first block takes its power (a + d + 1 <= LONG, checked by the caller)
    let at = LONG.saturating_sub(a + d + 1);
    let (pow, mid) = (&*ymm.lpow, &*ymm.lmid);
    let mut acc = [_mm256_setzero_si256(); 3];
    for (k, part) in aad.chunks(32).enumerate() {
        add(
            &mut acc,
            reverse(load_part(part)),
            [pair(pow, at + 2 * k), pair(mid, at + 2 * k)],
        );
    }
    let j0 = j0(iv);
    let [mask] = aes_rounds::<R, 1>(&ymm.rk, [j0]);
    let mut ctr = Counter::new(j0);
    // the power of the next payload block to hash
    let mut i = at + a;
    // the keystream of the next `$n` registers, with the GHASH of the batch `$hashed`
    // (`Option<&[u8; 256]>`) stitched in
    macro_rules! step {
        ($n:tt, $hashed:expr) => {{
            let hashed = $hashed.zip(powers8(ymm, i));
            let ks = stitched!(
                R,
                $n,
                &ymm.rk,
                core::array::from_fn(|_| ctr.next()),
                hashed,
                &mut acc
            );
            if hashed.is_some() {
                i += 2 * BATCH;
            }
            ks
        }};
    }
    let (whole, rest) = data.as_chunks_mut::<{ 32 * BATCH }>();
    for n in 0..whole.len() {
        let (done, todo) = whole.split_at_mut(n);
        let Some(chunk) = todo.first_mut() else {
            break;
        };
        // sealing: the batch written before, hashed during this one's AES
        let hashed = if SEAL { done.last() } else { Some(&*chunk) };
        let ks = step!(8, hashed);
        let (parts, _) = chunk.as_chunks_mut::<32>();
        for (p, k) in parts.iter_mut().zip(ks) {
            store32(p, _mm256_xor_si256(load32(p), k));
        }
    }
    // sealing: the last batch written, not hashed yet
    let mut sealed = if SEAL { whole.last() } else { None };
    macro_rules! tail {
        ($n:literal) => {{
            let ks = step!($n, sealed.take());
            let (parts, last) = rest.as_chunks_mut::<32>();
            for (p, k) in parts.iter_mut().zip(ks) {
                let x = load32(p);
                let c = _mm256_xor_si256(x, k);
                store32(p, c);
                add(
                    &mut acc,
                    reverse(if SEAL { c } else { x }),
                    [pair(pow, i), pair(mid, i)],
                );
                i += 2;
            }
            if !last.is_empty()
                && let Some(k) = ks.get(parts.len())
            {
                let (x, c) = xor_last(last, *k);
                add(
                    &mut acc,
                    reverse(if SEAL { c } else { x }),
                    [pair(pow, i), pair(mid, i)],
                );
            }
        }};
    }
    by_tail_registers!(rest.len().div_ceil(32), tail);
    if let Some(c) = sealed {
        // a payload of whole batches: the last one is hashed here
        let (parts, _) = c.as_chunks::<32>();
        for p in parts {
            add(&mut acc, reverse(load32(p)), [pair(pow, i), pair(mid, i)]);
            i += 2;
        }
    }
    let lengths = load(length_block(aad.len(), len));
    add(
        &mut acc,
        _mm256_zextsi128_si256(lengths),
        [pair(pow, LONG - 1), pair(mid, LONG - 1)],
    );
    _mm_xor_si128(super::reverse(reduce(acc)), _mm256_castsi256_si128(mask))
}

/// `last` (1-31 bytes) XOR the keystream `k` in place; returns the input and the output
/// as registers, zero past `last` (the keystream past it is not ciphertext and is masked
/// off before hashing). A whole first block is loaded and stored as one (the 1200-byte
/// payload ends in one); the bytes of a partial block go through a buffer.
#[target_feature(enable = "avx2,vaes,vpclmulqdq,aes,pclmulqdq,sse2,ssse3")]
fn xor_last(last: &mut [u8], k: __m256i) -> (__m256i, __m256i) {
    let n = last.len();
    let (block, part) = match last.split_first_chunk_mut::<16>() {
        Some((block, part)) => (Some(block), part),
        None => (None, last),
    };
    let lo = match &block {
        // SAFETY: SSE2 is enabled here; `block` is 16 readable bytes and `loadu` has no
        // alignment requirement.
        Some(b) => unsafe { _mm_loadu_si128(core::ptr::from_ref(&**b).cast()) },
        None => _mm_setzero_si128(),
    };
    let mut buf = [0u8; 16];
    let m = part.len().min(16);
    buf[..m].copy_from_slice(&part[..m]);
    // SAFETY: as above, `buf` is 16 readable bytes.
    let rest = unsafe { _mm_loadu_si128(core::ptr::from_ref(&buf).cast()) };
    let x = if block.is_some() {
        _mm256_inserti128_si256::<1>(_mm256_zextsi128_si256(lo), rest)
    } else {
        _mm256_zextsi128_si256(rest)
    };
    let keep = _mm256_cmpgt_epi8(_mm256_set1_epi8(n as i8), load32(&IOTA));
    let c = _mm256_and_si256(_mm256_xor_si256(x, k), keep);
    let (c_lo, c_hi) = (_mm256_castsi256_si128(c), _mm256_extracti128_si256::<1>(c));
    let rest = match block {
        Some(b) => {
            // SAFETY: SSE2 is enabled here; `b` is 16 writable bytes and `storeu` has no
            // alignment requirement.
            unsafe { _mm_storeu_si128(core::ptr::from_mut(b).cast(), c_lo) };
            c_hi
        }
        None => c_lo,
    };
    if m > 0 {
        // SAFETY: as above, `buf` is 16 writable bytes.
        unsafe { _mm_storeu_si128(core::ptr::from_mut(&mut buf).cast(), rest) };
        part[..m].copy_from_slice(&buf[..m]);
    }
    (x, c)
}

/// `acc` += the unreduced products of `x` and the powers `h` ([`mul`]).
#[target_feature(enable = "avx2,vaes,vpclmulqdq,aes,pclmulqdq,sse2,ssse3")]
fn add(acc: &mut [__m256i; 3], x: __m256i, h: [__m256i; 2]) {
    for (s, p) in acc.iter_mut().zip(mul(x, h)) {
        *s = _mm256_xor_si256(*s, p);
    }
}

/// The key powers of 8 registers (16 blocks) and the XORs of their halves, pairs of two.
type Powers8<'k> = (&'k [[u128; 2]; 8], &'k [[u128; 2]; 8]);

/// The powers of [`Ymm::lpow`] and [`Ymm::lmid`] from index `i` for 8 registers; `None`
/// past the table (never: `i` + 16 <= [`LONG`] for a batch of payload).
fn powers8(ymm: &Ymm, i: usize) -> Option<Powers8<'_>> {
    Some((pairs8(&ymm.lpow, i)?, pairs8(&ymm.lmid, i)?))
}

/// `t[i..i + 16]` as 8 pairs.
fn pairs8(t: &[u128], i: usize) -> Option<&[[u128; 2]; 8]> {
    let r = t.get(i..)?.first_chunk::<16>()?;
    r.as_chunks::<2>().0.first_chunk::<8>()
}

/// `N` registers of two blocks through AES, round by round, each round key loaded from the
/// table of [`Ymm::rk`] where its round starts.
#[target_feature(enable = "avx2,vaes,vpclmulqdq,aes,pclmulqdq,sse2,ssse3")]
fn aes_rounds<const R: usize, const N: usize>(
    rk: &[u128; 30],
    mut b: [__m256i; N],
) -> [__m256i; N] {
    let k = pair(rk, 0);
    for x in &mut b {
        *x = _mm256_xor_si256(*x, k);
    }
    for r in 1..R {
        keep!(b);
        let k = pair(rk, 2 * r);
        for x in &mut b {
            *x = _mm256_aesenc_epi128(*x, k);
        }
    }
    keep!(b);
    let k = pair(rk, 2 * R);
    for x in &mut b {
        *x = _mm256_aesenclast_epi128(*x, k);
    }
    b
}

/// GCM in one pass (see [`tag`]) of a packet longer than [`long`] takes: the AAD is a
/// stream of GHASH runs of its own, the payload and length block another.
#[target_feature(enable = "avx2,vaes,vpclmulqdq,aes,pclmulqdq,sse2,ssse3")]
fn gcm<const R: usize, const SEAL: bool>(
    ymm: &Ymm,
    iv: &[u8; 12],
    aad: &[u8],
    data: &mut [u8],
) -> __m128i {
    let len = data.len();
    let (a, d) = (aad.len().div_ceil(16), len.div_ceil(16));
    let mut aad_hash = Ghash::new(ymm, a, _mm_setzero_si128());
    aad_hash.feed_all(aad);
    let mut gh = Ghash::new(ymm, d + 1, aad_hash.acc);
    // J0 = IV || 1 (SP 800-38D §7.1); the data's blocks use inc32 of it: IV || 2, ...
    let j0 = j0(iv);
    // E(K, J0), the tag mask, on the side
    let [mask] = aes_rounds::<R, 1>(&ymm.rk, [j0]);
    crypt::<R, SEAL>(&ymm.rk, j0, data, &mut gh);
    gh.feed(
        _mm256_zextsi128_si256(load(length_block(aad.len(), len))),
        1,
    );
    _mm_xor_si128(super::reverse(gh.acc), _mm256_castsi256_si128(mask))
}

/// J0 = IV || 1 (SP 800-38D §7.1) in both lanes, as it lies in memory.
#[target_feature(enable = "avx2,vaes,vpclmulqdq,aes,pclmulqdq,sse2,ssse3")]
fn j0(iv: &[u8; 12]) -> __m256i {
    let mut j = [0u8; 16];
    j[..12].copy_from_slice(iv);
    j[15] = 1;
    _mm256_broadcastsi128_si256(load(u128::from_le_bytes(j)))
}

/// The payload's counter blocks inc32(J0) = IV || 2, IV || 3, ..., two a register, as they
/// lie in memory: `vpaddd` adds to the top byte of each lane's last word, which is the
/// block's last byte (the callers checked [`fits`] or [`one_run`]: no block differs from J0
/// in more than its last byte, and the 32-bit counter cannot wrap in 254 blocks from 2).
struct Counter {
    next: __m256i,
}

impl Counter {
    /// The counter after `j0` (J0 in both lanes, from [`j0()`]).
    #[target_feature(enable = "avx2,vaes,vpclmulqdq,aes,pclmulqdq,sse2,ssse3")]
    fn new(j0: __m256i) -> Self {
        Self {
            next: _mm256_add_epi32(j0, _mm256_set_epi32(2 << 24, 0, 0, 0, 1 << 24, 0, 0, 0)),
        }
    }

    /// The next register of two counter blocks.
    #[target_feature(enable = "avx2,vaes,vpclmulqdq,aes,pclmulqdq,sse2,ssse3")]
    fn next(&mut self) -> __m256i {
        let c = self.next;
        self.next = _mm256_add_epi32(c, _mm256_set_epi32(2 << 24, 0, 0, 0, 2 << 24, 0, 0, 0));
        c
    }
}

/// Registers (of two blocks) per batch: 16 blocks, one GHASH run, 256 bytes.
const BATCH: usize = 8;

/// Counter mode over `data` from counter block J0 + 1 (`j0` in both lanes, as in memory)
/// with the ciphertext hashed into `gh` (the output when sealing, the input when opening).
///
/// The caller checked [`fits`], which [`Counter`] needs: the blocks are built in their
/// big-endian byte order, with no byte swap per block.
///
/// Whole batches are hashed from memory: when sealing, the ciphertext just written, when
/// opening, the input before it is decrypted (the out-of-order core overlaps the AES and
/// GHASH of neighbouring batches; hashing a sealed batch only after the next batch's AES
/// was issued, as before, measured the same). No registers of blocks are carried from one
/// batch to the next (they spilled to the stack when they were).
#[target_feature(enable = "avx2,vaes,vpclmulqdq,aes,pclmulqdq,sse2,ssse3")]
fn crypt<const R: usize, const SEAL: bool>(
    rk: &[u128; 30],
    j0: __m256i,
    data: &mut [u8],
    gh: &mut Ghash<'_>,
) {
    let mut ctr = Counter::new(j0);
    let (whole, rest) = data.as_chunks_mut::<{ 32 * BATCH }>();
    for chunk in whole {
        let ks = aes_rounds::<R, BATCH>(rk, core::array::from_fn(|_| ctr.next()));
        if !SEAL {
            gh.feed16(chunk);
        }
        let (parts, _) = chunk.as_chunks_mut::<32>();
        for (p, k) in parts.iter_mut().zip(ks) {
            store32(p, _mm256_xor_si256(load32(p), k));
        }
        if SEAL {
            gh.feed16(chunk);
        }
    }
    macro_rules! tail {
        ($n:literal) => {{
            let ks = aes_rounds::<R, $n>(rk, core::array::from_fn(|_| ctr.next()));
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
    by_tail_registers!(rest.len().div_ceil(32), tail);
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
            // past the 254-block run of the 256-bit path (the fallback)
            .chain([4000, 4063, 4064, 4065, 4080, 4096, 4130])
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
            let before = bad.clone();
            assert!(!unprotect(&mut bad), "flipped byte {p} of {}", pkt.len());
            // no plaintext released: the refused packet is left as it came
            assert_eq!(
                bad,
                before,
                "flipped byte {p} of {}: buffer changed",
                pkt.len()
            );
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
