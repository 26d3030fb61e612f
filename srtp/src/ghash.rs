//! GHASH (NIST SP 800-38D §6.4) for AES-GCM, with a carry-less-multiply backend on x86-64
//! and the portable `polyval` crate everywhere else.
//!
//! # Why this module may use `unsafe`
//!
//! The crate is `#![deny(unsafe_code)]`; this module alone allows it, for one reason that was
//! measured (thread CPU time, 2-core Xeon with PCLMULQDQ, under load, 2026-11-26): GHASH of
//! the 12 blocks an RTP packet with a 160-byte payload hashes cost **~75 ns** through
//! `polyval` 0.7 (one reduction per 4 blocks, plus cloning its 128-byte expanded key, a
//! CPU-feature check per call and the block copies into its buffer), and **~13 ns** with the
//! PCLMULQDQ code below (8 blocks per reduction, Karatsuba, no copies); see the srtp section
//! of `benches/README.md` for the per-packet effect. The intrinsics themselves are safe
//! functions inside a `#[target_feature]` function (Rust 1.87+); loads and stores go through
//! `u128` values, never raw pointers. The only `unsafe` is the call into that function from
//! code compiled without the feature, in [`Ghash::ghash`]; its safety argument is that a
//! [`clmul::Key`] can only be built by [`clmul::Key::new`] after
//! `is_x86_feature_detected!` has confirmed the features at run time.
//!
//! The backend is chosen once per session key ([`Ghash::new`]), not per packet. CPUs without
//! PCLMULQDQ (and other architectures) use `polyval`, which has its own detection.
//!
//! # Representation
//!
//! GHASH is computed as POLYVAL on byte-reversed blocks with the key
//! mulX_POLYVAL(ByteReverse(H)) (RFC 8452 Appendix A). A GHASH block read as a big-endian
//! integer *is* the POLYVAL field element read as a little-endian one, so both backends
//! work on `u128::from_be_bytes(block)` and the result is the GHASH value as a big-endian
//! integer.

#![allow(
    unsafe_code,
    reason = "one checked call into the PCLMULQDQ backend: module docs"
)]

use polyval::hazmat::FieldElement;
use polyval::universal_hash::UniversalHash;
use zeroize::Zeroize;

/// A GHASH key prepared for one session key.
#[derive(Clone)]
pub(crate) struct Ghash(Backend);

#[derive(Clone)]
enum Backend {
    #[cfg(target_arch = "x86_64")]
    Clmul(clmul::Key),
    Portable(polyval::Polyval),
}

/// Blocks buffered before the portable backend's `update`: a multiple of its 4-block batch.
const PORTABLE_RUN: usize = 16;

impl Ghash {
    /// Prepares GHASH under `h` = E(K, 0^128), with the fastest backend this CPU supports.
    pub(crate) fn new(h: &[u8; 16]) -> Self {
        #[cfg(target_arch = "x86_64")]
        if let Some(key) = clmul::Key::new(polyval_key(h)) {
            return Self(Backend::Clmul(key));
        }
        Self::portable(h)
    }

    /// Prepares GHASH under `h` with the portable `polyval` backend, whatever the CPU.
    pub(crate) fn portable(h: &[u8; 16]) -> Self {
        let mut key = FieldElement::from(polyval_key(h));
        let hash = polyval::Polyval::new(&key.into());
        key.zeroize();
        Self(Backend::Portable(hash))
    }

    /// Whether the carry-less-multiply backend is in use.
    #[cfg(test)]
    pub(crate) fn is_accelerated(&self) -> bool {
        !matches!(self.0, Backend::Portable(_))
    }

    /// GHASH_H(A || 0* || C || 0* || [len(A)]64 || [len(C)]64) (SP 800-38D §7.1 step 5),
    /// as a big-endian integer.
    pub(crate) fn ghash(&self, aad: &[u8], ct: &[u8]) -> u128 {
        match &self.0 {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `clmul::ghash` needs the CPU features "pclmulqdq", "sse2" and "ssse3".
            // A `clmul::Key` exists only if `clmul::Key::new` found all three with
            // `is_x86_feature_detected!` on this CPU (its fields are private to `clmul`).
            Backend::Clmul(key) => unsafe { clmul::ghash(key, aad, ct) },
            Backend::Portable(hash) => portable_ghash(hash, aad, ct),
        }
    }
}

/// mulX_POLYVAL(ByteReverse(h)) as a little-endian POLYVAL element (RFC 8452 Appendix A).
fn polyval_key(h: &[u8; 16]) -> u128 {
    let mut v = u128::from_be_bytes(*h);
    let carry = v >> 127;
    v <<= 1;
    // x^128 = x^127 + x^126 + x^121 + 1 in POLYVAL's field
    v ^= carry | carry << 127 | carry << 126 | carry << 121;
    v
}

/// The GHASH value of `b` (at most 16 bytes) zero-padded on the right to a block, as a
/// big-endian integer: the POLYVAL element of the padded block.
///
/// Read with whole-word loads from `b` itself: assembling the block in a stack buffer and
/// loading it as one word stalls on store forwarding.
pub(crate) fn be_padded(b: &[u8]) -> u128 {
    let (hi, lo) = b.split_at(b.len().min(8));
    u128::from(be_padded64(hi)) << 64 | u128::from(be_padded64(lo))
}

/// `be_padded` for at most 8 bytes, as a u64.
fn be_padded64(b: &[u8]) -> u64 {
    let n = b.len();
    if let Ok(w) = <[u8; 8]>::try_from(b) {
        return u64::from_be_bytes(w);
    }
    if n >= 4 {
        // two overlapping 4-byte loads; the shared bytes are equal in both
        let first = b.first_chunk::<4>().map_or(0, |w| u32::from_be_bytes(*w));
        let last = b.last_chunk::<4>().map_or(0, |w| u32::from_be_bytes(*w));
        return u64::from(first) << 32 | u64::from(last) << (8 * (8 - n));
    }
    b.iter()
        .enumerate()
        .fold(0, |v, (i, &x)| v | u64::from(x) << (56 - 8 * i))
}

/// The GHASH length block [len(A)]64 || [len(C)]64, in bits.
fn length_block(aad: &[u8], ct: &[u8]) -> u128 {
    let bits = |len: usize| u128::from(len as u64) * 8;
    bits(aad.len()) << 64 | bits(ct.len())
}

/// GHASH through `polyval`, fed in runs of [`PORTABLE_RUN`] blocks.
fn portable_ghash(key: &polyval::Polyval, aad: &[u8], ct: &[u8]) -> u128 {
    let mut hash = key.clone();
    let mut run = [polyval::Block::default(); PORTABLE_RUN];
    let mut n = 0;
    let mut push = |hash: &mut polyval::Polyval, x: u128| {
        if let Some(slot) = run.get_mut(n) {
            *slot = x.to_le_bytes().into();
            n += 1;
        }
        if n == PORTABLE_RUN {
            hash.update(&run);
            n = 0;
        }
    };
    for part in [aad, ct] {
        let (blocks, rest) = part.as_chunks::<16>();
        for b in blocks {
            push(&mut hash, u128::from_be_bytes(*b));
        }
        if !rest.is_empty() {
            push(&mut hash, be_padded(rest));
        }
    }
    push(&mut hash, length_block(aad, ct));
    hash.update(&run[..n]);
    let s: [u8; 16] = hash.finalize().into();
    // The accumulator copies are not wiped: GHASH of public data under the prepared key
    // (wiped on drop) does not reveal the key.
    u128::from_le_bytes(s)
}

/// The PCLMULQDQ backend: POLYVAL over H^1..H^8 with one Montgomery reduction per 8 blocks.
///
/// For blocks x_1..x_n after accumulator S, S' = (S + x_1)·H^n + x_2·H^(n-1) + … + x_n·H,
/// where · is POLYVAL's dot(a, b) = a·b·x^-128 and H^k the k-th dot power; the n
/// 256-bit carry-less products (3 PCLMULQDQ each, Karatsuba, the key halves' XOR
/// precomputed) are summed unreduced and reduced once. The number of blocks is known
/// before the first one, so the runs are counted from the end (the first run is the short
/// one) and every block goes straight from the input into its product, with no buffer.
#[cfg(target_arch = "x86_64")]
mod clmul {
    use core::arch::x86_64::{
        __m128i, _mm_clmulepi64_si128, _mm_cvtsi128_si64, _mm_set_epi8, _mm_set_epi64x,
        _mm_setzero_si128, _mm_shuffle_epi8, _mm_shuffle_epi32, _mm_slli_si128, _mm_srli_si128,
        _mm_unpackhi_epi64, _mm_xor_si128,
    };

    use zeroize::{Zeroize, ZeroizeOnDrop};

    use super::{be_padded, length_block};

    /// Blocks per reduction.
    const AGG: usize = 8;

    /// H^1..H^8 (dot powers, `pow[k]` = H^(k+1)) and the XOR of each power's two 64-bit
    /// halves, for Karatsuba's middle product.
    ///
    /// Only [`Key::new`] builds one, after checking the CPU features [`ghash`] needs.
    #[derive(Clone, Zeroize, ZeroizeOnDrop)]
    pub(super) struct Key {
        pow: [u128; AGG],
        mid: [u64; AGG],
    }

    impl Key {
        /// The key for POLYVAL element `h`, or `None` if this CPU lacks PCLMULQDQ or SSSE3.
        pub(super) fn new(h: u128) -> Option<Self> {
            let ok = std::arch::is_x86_feature_detected!("pclmulqdq")
                && std::arch::is_x86_feature_detected!("sse2")
                && std::arch::is_x86_feature_detected!("ssse3");
            if !ok {
                return None;
            }
            let mut key = Self {
                pow: [0; AGG],
                mid: [0; AGG],
            };
            // SAFETY: the three features were detected just above.
            unsafe { expand(&mut key, h) };
            Some(key)
        }
    }

    /// Fills `key` with the powers of `h`.
    #[target_feature(enable = "pclmulqdq,sse2")]
    fn expand(key: &mut Key, h: u128) {
        let hv = load(h);
        let hm = halves_xor(h);
        let mut p = hv;
        for (pow, mid) in key.pow.iter_mut().zip(&mut key.mid) {
            let v = store(p);
            *pow = v;
            *mid = halves_xor(v);
            let mut acc = Acc::new();
            acc.mul(p, hv, hm);
            p = acc.reduce();
        }
    }

    /// GHASH of `aad` and `ct` under `key` (see [`super::Ghash::ghash`]).
    #[target_feature(enable = "pclmulqdq,sse2,ssse3")]
    pub(super) fn ghash(key: &Key, aad: &[u8], ct: &[u8]) -> u128 {
        let blocks = aad.len().div_ceil(16) + ct.len().div_ceil(16) + 1;
        let mut st = State {
            key,
            acc: Acc::new(),
            carry: _mm_setzero_si128(),
            left: (blocks - 1) % AGG + 1,
        };
        for part in [aad, ct] {
            let (whole, rest) = part.as_chunks::<16>();
            for b in whole {
                st.feed(load_block(b));
            }
            if !rest.is_empty() {
                st.feed(load(be_padded(rest)));
            }
        }
        st.feed(load(length_block(aad, ct)));
        // the length block ended the last run, so `carry` holds the reduced result
        store(st.carry)
    }

    /// The POLYVAL state between blocks.
    struct State<'k> {
        key: &'k Key,
        /// The unreduced products of the current run.
        acc: Acc,
        /// The reduced accumulator of the previous runs until the next block takes it in.
        carry: __m128i,
        /// Blocks left in the current run, 1..=AGG: the next block is multiplied by
        /// H^left.
        left: usize,
    }

    impl State<'_> {
        #[target_feature(enable = "pclmulqdq,sse2")]
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
    }

    /// An unreduced sum of 256-bit carry-less products, Karatsuba style: low halves'
    /// products, high halves' products and middle products kept apart.
    struct Acc {
        lo: __m128i,
        hi: __m128i,
        mid: __m128i,
    }

    impl Acc {
        #[target_feature(enable = "sse2")]
        fn new() -> Self {
            Self {
                lo: _mm_setzero_si128(),
                hi: _mm_setzero_si128(),
                mid: _mm_setzero_si128(),
            }
        }

        /// Adds x·h (no reduction); `h_mid` is h's two halves XORed.
        #[target_feature(enable = "pclmulqdq,sse2")]
        fn mul(&mut self, x: __m128i, h: __m128i, h_mid: u64) {
            self.lo = _mm_xor_si128(self.lo, _mm_clmulepi64_si128::<0x00>(x, h));
            self.hi = _mm_xor_si128(self.hi, _mm_clmulepi64_si128::<0x11>(x, h));
            // low half of x_mid = x.lo ^ x.hi
            let x_mid = _mm_xor_si128(x, _mm_shuffle_epi32::<0x4e>(x));
            let h_mid = _mm_set_epi64x(0, h_mid as i64);
            self.mid = _mm_xor_si128(self.mid, _mm_clmulepi64_si128::<0x00>(x_mid, h_mid));
        }

        /// The sum times x^-128 mod x^128 + x^127 + x^126 + x^121 + 1.
        ///
        /// The product is [X3:X2:X1:X0] (64-bit words). Dividing [X1:X0] by x^64 mod P:
        /// adding X0·P clears X0 and leaves X1 + X0·x^64 + X0·(x^63 + x^62 + x^57), i.e.
        /// the halves swapped plus X0 times 0xc200000000000000; twice that divides by
        /// x^128, and [X3:X2] is already the x^128 multiple.
        #[target_feature(enable = "pclmulqdq,sse2")]
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

    /// A whole input block as its POLYVAL element: one 16-byte load and a byte reversal.
    #[target_feature(enable = "sse2,ssse3")]
    fn load_block(b: &[u8; 16]) -> __m128i {
        let reverse = _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        _mm_shuffle_epi8(load(u128::from_le_bytes(*b)), reverse)
    }

    #[target_feature(enable = "sse2")]
    fn load(v: u128) -> __m128i {
        _mm_set_epi64x((v >> 64) as u64 as i64, v as u64 as i64)
    }

    #[target_feature(enable = "sse2")]
    fn store(x: __m128i) -> u128 {
        let lo = _mm_cvtsi128_si64(x) as u64;
        let hi = _mm_cvtsi128_si64(_mm_unpackhi_epi64(x, x)) as u64;
        u128::from(hi) << 64 | u128::from(lo)
    }

    fn halves_xor(v: u128) -> u64 {
        (v >> 64) as u64 ^ v as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn be_padded_matches_a_zero_padded_block() {
        let bytes: Vec<u8> = (1..=16).collect();
        for n in 0..=16 {
            let mut block = [0u8; 16];
            block[..n].copy_from_slice(&bytes[..n]);
            assert_eq!(
                be_padded(&bytes[..n]),
                u128::from_be_bytes(block),
                "{n} bytes"
            );
        }
    }

    /// Both backends agree for every AAD and data length up to 40 and 300 bytes, so the
    /// runs of 8, the partial runs and the padded blocks are all crossed.
    #[test]
    fn backends_agree() {
        let h: [u8; 16] = core::array::from_fn(|i| (i * 29 + 5) as u8);
        let fast = Ghash::new(&h);
        let portable = Ghash::portable(&h);
        let data: Vec<u8> = (0..340u32).map(|i| (i * 151 + 7) as u8).collect();
        for aad_len in 0..=40 {
            for ct_len in 0..=300 {
                let (aad, ct) = (&data[..aad_len], &data[40..40 + ct_len]);
                assert_eq!(
                    fast.ghash(aad, ct),
                    portable.ghash(aad, ct),
                    "aad {aad_len} ct {ct_len}"
                );
            }
        }
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn clmul_is_used_where_available() {
        let has = std::arch::is_x86_feature_detected!("pclmulqdq")
            && std::arch::is_x86_feature_detected!("ssse3");
        assert_eq!(Ghash::new(&[1; 16]).is_accelerated(), has);
        assert!(!Ghash::portable(&[1; 16]).is_accelerated());
    }

    /// SP 800-38D / McGrew-Viega GCM test case 2: K = 0^128, P = 0^128; H = 66e94bd4...,
    /// C = 0388dace60b6a392f328c2b971b2fe78, GHASH(H, {}, C) = f38cbb1ad69223dcc3457ae5b6b0f885.
    #[test]
    fn gcm_spec_test_case_2() {
        let h = 0x66e9_4bd4_ef8a_2c3b_884c_fa59_ca34_2b2e_u128.to_be_bytes();
        let c = 0x0388_dace_60b6_a392_f328_c2b9_71b2_fe78_u128.to_be_bytes();
        let want = 0xf38c_bb1a_d692_23dc_c345_7ae5_b6b0_f885_u128;
        assert_eq!(Ghash::new(&h).ghash(&[], &c), want);
        assert_eq!(Ghash::portable(&h).ghash(&[], &c), want);
    }
}
