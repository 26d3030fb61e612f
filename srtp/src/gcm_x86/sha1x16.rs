//! HMAC-SHA1 of up to 16 messages at once: SHA-1 (FIPS 180-4 §6.1) with one message per
//! 32-bit lane of AVX-512 registers, for the batch API (`SrtpContext::protect_rtp_batch`).
//!
//! # Why this module may use `unsafe`
//!
//! Like its parent: one SHA-NI compression costs ~45 ns here and a 160-byte SRTP packet
//! needs four (three inner, one outer), so HMAC-SHA1 alone is ~180 ns per packet, above the
//! issue's 150 ns for the whole packet; SHA-NI's round instruction has a throughput not much
//! better than its latency (measured 1.08 vs 1.41 ns), so interleaving SHA-NI states gains
//! little. Sixteen scalar SHA-1 computations side by side in 512-bit registers (`vpternlogd`
//! for the round functions, `vprold` for the rotations) cost far less per message; the
//! figures are in the srtp section of `benches/README.md` ("srtp, session 4").
//!
//! The `unsafe` blocks: the call into the `#[target_feature]` code, made only through a
//! [`Sha1x16`], which only [`Sha1x16::new`] builds after `is_x86_feature_detected!`; and the
//! gather of the message words from a local 1 KiB array (offsets computed here, all inside
//! it). Each has a SAFETY comment.

#![allow(
    unsafe_code,
    reason = "calls into the AVX-512 SHA-1 code and gathers from a local array: see the module docs"
)]

use crate::crypto::{inner_tail, outer_block};
use core::arch::x86_64::{
    __m512i, _mm_set_epi32, _mm512_add_epi32, _mm512_broadcast_i32x4, _mm512_i32gather_epi32,
    _mm512_loadu_si512, _mm512_mask_add_epi32, _mm512_rol_epi32, _mm512_set_epi32,
    _mm512_set1_epi32, _mm512_setzero_si512, _mm512_shuffle_epi8, _mm512_storeu_si512,
    _mm512_ternarylogic_epi32, _mm512_xor_si512,
};

/// Lanes per batch.
pub(crate) const LANES: usize = 16;

/// One HMAC-SHA1 to compute: the prepared inner and outer states of the key, and the message,
/// `data` followed by `trailer`.
#[derive(Clone, Copy)]
pub(crate) struct Job<'a> {
    pub(crate) inner: &'a [u32; 5],
    pub(crate) outer: &'a [u32; 5],
    pub(crate) data: &'a [u8],
    pub(crate) trailer: [u8; 4],
}

/// Proof that this CPU has AVX-512F/BW; only [`Sha1x16::new`] builds one.
#[derive(Clone, Copy)]
pub(crate) struct Sha1x16(());

impl Sha1x16 {
    pub(crate) fn new() -> Option<Self> {
        let ok = std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw");
        ok.then_some(Self(()))
    }

    /// HMAC-SHA1 of each job into the same place of `out` (left as is where there is none).
    pub(crate) fn hmac(self, jobs: &[Option<Job<'_>>; LANES], out: &mut [[u8; 20]; LANES]) {
        // SAFETY: `self` exists, so `Sha1x16::new` detected AVX-512F and AVX-512BW.
        unsafe { hmac(jobs, out) }
    }
}

/// The state words of all lanes: `st[w]` holds word w of each lane's state.
#[target_feature(enable = "avx512f,avx512bw")]
fn lanes(states: impl Iterator<Item = [u32; 5]>) -> [__m512i; 5] {
    let mut words = [[0u32; LANES]; 5];
    for (l, s) in states.take(LANES).enumerate() {
        for (w, x) in words.iter_mut().zip(s) {
            w[l] = x;
        }
    }
    // SAFETY: AVX-512F detected (see `Sha1x16`); each `w` is 64 readable bytes.
    words.map(|w| unsafe { _mm512_loadu_si512(core::ptr::from_ref(&w).cast()) })
}

/// Lane `l` of each state word.
#[target_feature(enable = "avx512f,avx512bw")]
fn unlanes(st: &[__m512i; 5]) -> [[u32; LANES]; 5] {
    let mut words = [[0u32; LANES]; 5];
    for (w, s) in words.iter_mut().zip(st) {
        // SAFETY: AVX-512F detected (see `Sha1x16`); `w` is 64 writable bytes.
        unsafe { _mm512_storeu_si512(core::ptr::from_mut(w).cast(), *s) };
    }
    words
}

#[target_feature(enable = "avx512f,avx512bw")]
fn hmac(jobs: &[Option<Job<'_>>; LANES], out: &mut [[u8; 20]; LANES]) {
    let mut tails = [[0u8; 128]; LANES];
    let mut whole: [&[[u8; 64]]; LANES] = [&[]; LANES];
    let mut blocks = [0usize; LANES];
    for (l, j) in jobs.iter().enumerate() {
        if let Some(j) = j {
            let (w, n) = inner_tail(&mut tails[l], j.data, Some(&j.trailer));
            whole[l] = w;
            blocks[l] = w.len() + n / 64;
        }
    }
    let mut st = lanes(jobs.iter().map(|j| j.map_or([0; 5], |j| *j.inner)));
    let most = blocks.iter().copied().max().unwrap_or(0);
    let mut buf = [[0u8; 64]; LANES];
    for i in 0..most {
        let mut active = 0u16;
        for l in 0..LANES {
            let block = match i.checked_sub(whole[l].len()) {
                None => whole[l].get(i),
                Some(t) if i < blocks[l] => tails[l].as_chunks::<64>().0.get(t),
                Some(_) => None,
            };
            if let Some(block) = block {
                buf[l] = *block;
                active |= 1 << l;
            }
        }
        compress(&mut st, &buf, active);
    }
    // the outer hash: H(K ^ opad || inner digest), one block per lane
    let inner = unlanes(&st);
    for (l, b) in buf.iter_mut().enumerate() {
        *b = outer_block(&inner.map(|word| word[l]));
    }
    let mut st = lanes(jobs.iter().map(|j| j.map_or([0; 5], |j| *j.outer)));
    compress(&mut st, &buf, u16::MAX);
    let digest = unlanes(&st);
    for (l, (o, _)) in out
        .iter_mut()
        .zip(jobs)
        .enumerate()
        .filter(|(_, (_, j))| j.is_some())
    {
        for (w, word) in digest.iter().enumerate() {
            o[4 * w..4 * w + 4].copy_from_slice(&word[l].to_be_bytes());
        }
    }
}

/// One SHA-1 compression per lane of `blocks[lane]`; lanes not in `active` keep their state.
#[target_feature(enable = "avx512f,avx512bw")]
fn compress(st: &mut [__m512i; 5], blocks: &[[u8; 64]; LANES], active: u16) {
    // word j of every lane's block: a gather at lane * 64 + 4j, then big-endian to native
    let lane_base = _mm512_set_epi32(
        960, 896, 832, 768, 704, 640, 576, 512, 448, 384, 320, 256, 192, 128, 64, 0,
    );
    let bswap = _mm512_broadcast_i32x4(_mm_set_epi32(
        0x0c0d_0e0f,
        0x0809_0a0b,
        0x0405_0607,
        0x0001_0203,
    ));
    let mut w = [_mm512_setzero_si512(); 16];
    for (j, x) in w.iter_mut().enumerate() {
        let idx = _mm512_add_epi32(lane_base, _mm512_set1_epi32(4 * j as i32));
        // SAFETY: AVX-512F detected (see `Sha1x16`); the offsets are lane * 64 + 4j + 0..4
        // <= 15 * 64 + 63, inside the 1024 bytes of `blocks`.
        let g = unsafe { _mm512_i32gather_epi32::<1>(idx, core::ptr::from_ref(blocks).cast()) };
        *x = _mm512_shuffle_epi8(g, bswap);
    }
    let [mut a, mut b, mut c, mut d, mut e] = *st;
    macro_rules! round {
        ($t:expr, $f:literal, $k:literal) => {{
            let t: usize = $t;
            let wt = if t < 16 {
                w[t]
            } else {
                // W_t = ROTL1(W_t-3 ^ W_t-8 ^ W_t-14 ^ W_t-16), kept in a ring of 16
                let x = _mm512_ternarylogic_epi32::<0x96>(
                    w[(t + 13) % 16],
                    w[(t + 8) % 16],
                    w[(t + 2) % 16],
                );
                w[t % 16] = _mm512_rol_epi32::<1>(_mm512_xor_si512(x, w[t % 16]));
                w[t % 16]
            };
            let f = _mm512_ternarylogic_epi32::<$f>(b, c, d);
            let sum = _mm512_add_epi32(
                _mm512_add_epi32(_mm512_rol_epi32::<5>(a), f),
                _mm512_add_epi32(_mm512_add_epi32(e, _mm512_set1_epi32($k as i32)), wt),
            );
            e = d;
            d = c;
            c = _mm512_rol_epi32::<30>(b);
            b = a;
            a = sum;
        }};
    }
    macro_rules! rounds {
        ($f:literal, $k:literal: $($t:literal)*) => {
            $(round!($t, $f, $k);)*
        };
    }
    // Ch(b, c, d) = b ? c : d is ternary-logic table 0xca, Parity 0x96, Maj 0xe8; the rounds
    // are written out so that the message ring stays in registers
    rounds!(0xca, 0x5a82_7999_u32: 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19);
    rounds!(0x96, 0x6ed9_eba1_u32: 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39);
    rounds!(0xe8, 0x8f1b_bcdc_u32: 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59);
    rounds!(0x96, 0xca62_c1d6_u32: 60 61 62 63 64 65 66 67 68 69 70 71 72 73 74 75 76 77 78 79);
    for (s, x) in st.iter_mut().zip([a, b, c, d, e]) {
        *s = _mm512_mask_add_epi32(*s, active, *s, x);
    }
}
