//! AES-CM (RFC 3711 §4.1.1) with VAES on 256-bit registers (AVX2), two 16-byte blocks per
//! instruction, for CPUs that have VAES but not the AVX-512 of [`super::avx512`] (AMD Zen 3
//! and 4 without AVX-512 enabled, Intel Alder Lake and later client cores).
//!
//! # Why this module may use `unsafe`
//!
//! Like its parent, for a measured need (AMD EPYC, Zen 3: SHA-NI, VAES, VPCLMULQDQ, AVX2, no
//! AVX-512; figures in the srtp section of `benches/README.md`, "srtp, session 10"): the
//! parent's 128-bit counter mode took 40-47 ns for the 10 blocks of a 160-byte payload and
//! 166-168 ns for the 75 of 1200 bytes (min over batches, load 8-9), a quarter of an
//! AES_CM_128_HMAC_SHA1_80 packet: one `aesenc` per block and round, the counter blocks built
//! one by one from 128-bit integers with byte swaps, and the round keys copied per call.
//! Here each `vaesenc` takes two blocks and the counter blocks are made with one `vpaddd`
//! per register: 18-27 ns for 160 bytes, 89-90 ns for 1200 (same driver and load).
//!
//! The `unsafe` blocks are of two kinds, each with a SAFETY comment:
//! - calls from code compiled without AVX2 into the `#[target_feature]` functions here, made
//!   only by methods of [`Vaes`], whose only constructor [`Vaes::new`] checked the features
//!   with `is_x86_feature_detected!` (once per key; the proof lives in the key);
//! - 32-byte loads and stores (`_mm256_loadu_si256`/`_mm256_storeu_si256`) on a
//!   `&[u8; 32]`, which take raw pointers (as in `avx512`); a load through two `u128` values
//!   would split each access in two.

#![allow(
    unsafe_code,
    reason = "calls into the VAES code and 32-byte loads/stores: see the module docs"
)]

use core::arch::x86_64::{
    __m256i, _mm256_add_epi32, _mm256_aesenc_epi128, _mm256_aesenclast_epi128,
    _mm256_broadcastsi128_si256, _mm256_loadu_si256, _mm256_set_epi32, _mm256_setzero_si256,
    _mm256_storeu_si256, _mm256_xor_si256,
};

use super::avx512::fits;
use super::{Aes, load};

/// Proof that this CPU has AVX2, VAES and AES-NI; only [`Vaes::new`] builds one.
#[derive(Clone, Copy, Debug)]
pub(super) struct Vaes(());

impl Vaes {
    /// `Some` if this CPU has AVX2, VAES, AES-NI, SSE2 and SSSE3 (every function here is
    /// compiled with all of them).
    pub(super) fn new() -> Option<Self> {
        let ok = std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("vaes")
            && std::arch::is_x86_feature_detected!("aes")
            && std::arch::is_x86_feature_detected!("sse2")
            && std::arch::is_x86_feature_detected!("ssse3");
        ok.then_some(Self(()))
    }

    /// AES-CM over `data` from counter block `iv` (big-endian), or `false` if the counter's
    /// last byte would carry within `data` (see [`ctr`]; the caller then takes the 128-bit
    /// path). SRTP's IVs end in 16 zero bits, so this takes packets up to 4 KiB.
    pub(super) fn apply_keystream(self, aes: &Aes, iv: u128, data: &mut [u8]) -> bool {
        // SAFETY: `self` exists, so `Vaes::new` detected AVX2, VAES, AES-NI, SSE2 and SSSE3,
        // all that `ctr` is compiled with.
        unsafe { ctr_where_it_fits(aes, iv, data, [ctr::<10>, ctr::<14>]) }
    }
}

/// A counter-mode function for 10 and one for 14 AES rounds (AES-128, AES-256).
pub(super) type CtrFns = [unsafe fn(&Aes, u128, &mut [u8]); 2];

/// AES-CM over `data` from counter block `iv` through the function of `aes`'s round count,
/// or `false` if the counter's last byte would carry within `data` ([`fits`]), the
/// condition of the VAES and AVX-512 counter modes, which build the counter blocks by
/// adding to that byte.
///
/// # Safety
/// The CPU has the features both functions are compiled with (the caller holds the proof).
pub(super) unsafe fn ctr_where_it_fits(aes: &Aes, iv: u128, data: &mut [u8], ctr: CtrFns) -> bool {
    if !fits(iv, data.len()) {
        return false;
    }
    let [r10, r14] = ctr;
    // SAFETY: the caller's promise above.
    unsafe {
        match aes.rounds {
            10 => r10(aes, iv, data),
            _ => r14(aes, iv, data),
        }
    }
    true
}

/// Registers (of two blocks) per batch: 16 blocks in flight, 256 bytes.
const BATCH: usize = 8;

/// Counter mode: `data` XOR AES(iv + i). The caller checked that no counter block differs
/// from `iv` in more than its last byte, so the blocks are built in their big-endian byte
/// order with `vpaddd` adding to the top byte of each lane's last word, with no byte swap
/// per block.
#[target_feature(enable = "avx2,vaes,aes,sse2,ssse3")]
fn ctr<const R: usize>(aes: &Aes, iv: u128, data: &mut [u8]) {
    let mut rk = [_mm256_setzero_si256(); 15];
    for (r, k) in rk.iter_mut().zip(&aes.round_keys).take(R + 1) {
        *r = _mm256_broadcastsi128_si256(load(*k));
    }
    // the block's bytes are the counter big-endian: a little-endian load of the swapped value
    let mut ctr = _mm256_add_epi32(
        _mm256_broadcastsi128_si256(load(iv.swap_bytes())),
        _mm256_set_epi32(1 << 24, 0, 0, 0, 0, 0, 0, 0),
    );
    let two = _mm256_set_epi32(2 << 24, 0, 0, 0, 2 << 24, 0, 0, 0);
    let mut next = || {
        let c = ctr;
        ctr = _mm256_add_epi32(ctr, two);
        c
    };
    let (whole, rest) = data.as_chunks_mut::<{ 32 * BATCH }>();
    for chunk in whole {
        let ks = encrypt::<R, BATCH>(&rk, core::array::from_fn(|_| next()));
        let (parts, _) = chunk.as_chunks_mut::<32>();
        for (p, k) in parts.iter_mut().zip(ks) {
            xor32(p, k);
        }
    }
    macro_rules! tail {
        ($n:literal) => {{
            let ks = encrypt::<R, $n>(&rk, core::array::from_fn(|_| next()));
            let (parts, last) = rest.as_chunks_mut::<32>();
            for (p, k) in parts.iter_mut().zip(ks) {
                xor32(p, k);
            }
            if !last.is_empty()
                && let Some(k) = ks.get(parts.len())
            {
                // the last 1-31 bytes through a buffer
                let mut b = [0u8; 32];
                b[..last.len()].copy_from_slice(last);
                xor32(&mut b, *k);
                last.copy_from_slice(&b[..last.len()]);
            }
        }};
    }
    by_tail_registers!(rest.len().div_ceil(32), tail);
}

/// `N` registers of two blocks through AES, round by round so that the pipeline stays full.
#[target_feature(enable = "avx2,vaes,aes,sse2,ssse3")]
fn encrypt<const R: usize, const N: usize>(
    rk: &[__m256i; 15],
    mut b: [__m256i; N],
) -> [__m256i; N] {
    aes_rounds!(
        b,
        rk,
        R,
        _mm256_xor_si256,
        _mm256_aesenc_epi128,
        _mm256_aesenclast_epi128
    );
    b
}

/// `p` XOR `k`, in place.
#[target_feature(enable = "avx2,vaes,aes,sse2,ssse3")]
fn xor32(p: &mut [u8; 32], k: __m256i) {
    // SAFETY: AVX2 is enabled here (and was detected by `Vaes::new` before any caller could
    // run); `p` is 32 readable and writable bytes, and `loadu`/`storeu` have no alignment
    // requirement.
    unsafe {
        let d = _mm256_loadu_si256(core::ptr::from_ref(p).cast());
        _mm256_storeu_si256(core::ptr::from_mut(p).cast(), _mm256_xor_si256(d, k));
    }
}
