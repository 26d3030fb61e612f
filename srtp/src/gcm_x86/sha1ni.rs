//! HMAC-SHA1 with the SHA extensions (SHA-NI), one packet at a time (RFC 2104, RFC 3711
//! §4.2.1).
//!
//! # Why this module may use `unsafe`
//!
//! Like its parent, for a measured need (2-core Xeon with SHA-NI and AVX-512, 2026-11-27;
//! figures in the srtp section of `benches/README.md`, "srtp, session 5"):
//! - `sha1::compress` (RustCrypto's SHA-NI backend) costs ~44 ns per 64-byte block here, a
//!   160-byte SRTP packet needing four: its message schedule uses `sha1msg2`, which shares
//!   the SHA unit with `sha1rnds4` at one per 1.4 ns (measured), so per block 16 `sha1msg2`
//!   add ~22 ns to the 20 `sha1rnds4` (1.07 ns throughput, 1.38 ns latency). Here the
//!   schedule runs on the vector ports (AVX-512VL rotations and three-way XORs), and so does
//!   `sha1nexte`'s addition of e (see `nexte`): only `sha1rnds4` uses the SHA unit, ~29 ns
//!   per block of `sha1rnds4` chain.
//! - Each `sha1::compress` call also loads the state from memory and stores it back, and the
//!   inner digest goes through bytes into the outer block. Here the state stays in registers
//!   across all blocks of the inner hash and goes straight into the outer block (the inner
//!   digest already is the outer block's first four message words in SHA-NI's layout).
//! - Per packet (AES_CM_128_HMAC_SHA1_80, min over batches, load ~9): 160 B protect /
//!   unprotect 249 / 215 ns -> 181 / 173 ns, 1200 B 1078 / 932 ns -> 770 / 771 ns.
//! - CPUs with SHA-NI but without AVX-512VL run the same register-resident HMAC with the
//!   usual `sha1msg1`/`sha1msg2`/`sha1nexte` schedule (SSE4.1 code). On the AMD EPYC (Zen 3,
//!   no AVX-512) of session 10 that schedule runs beside the `sha1rnds4` chain, and the loss
//!   was the per-block calls, state loads/stores and digest bytes of `sha1::compress`: 160 B
//!   protect / unprotect 242-248 / 259-263 ns -> 212-216 / 231-235 ns, 1200 B 1140-1145 /
//!   1135-1156 ns -> 1003-1008 / 1010-1018 ns (min over 1500 batches of 128, load 7-8,
//!   "srtp, session 10" in `benches/README.md`).
//! - The batch API (`crypto::mac_batch`) on CPUs with SHA-NI but without the AVX-512 of
//!   `sha1x16` hashes two packets at a time (`Sha1Ni::hmac2`), their `sha1rnds4` chains
//!   interleaved: on the Zen 3 EPYC the chain is latency bound, so the second runs mostly
//!   in its gaps. `protect_rtp_batch` per packet 160 B 200-208 -> 165-169 ns, 1200 B
//!   923-943 -> 636-650 ns (min over 1000 batches of 128 packets in 16 streams, base and new
//!   alternated 3x, load 25-28, session 11); not the full halving, as `sha1msg1`,
//!   `sha1msg2` and `sha1nexte` of both lanes share the SHA unit with `sha1rnds4`.
//!
//! The `unsafe` blocks are the calls into the `#[target_feature]` code, made only through a
//! [`Sha1Ni`], which only [`Sha1Ni::new`] builds after `is_x86_feature_detected!` confirmed
//! every feature the chosen code enables; they have SAFETY comments. Loads and stores go
//! through `u128` values and byte arrays, never raw pointers. CPUs without SHA-NI and SSE4.1
//! keep `sha1::compress`; the choice is made once per HMAC key.

#![allow(
    unsafe_code,
    reason = "calls into the SHA-NI code: see the module docs"
)]

use core::arch::x86_64::{
    __m128i, __mmask8, _mm_add_epi32, _mm_alignr_epi8, _mm_extract_epi32, _mm_maskz_rol_epi32,
    _mm_or_si128, _mm_rol_epi32, _mm_set_epi32, _mm_setzero_si128, _mm_sha1msg1_epu32,
    _mm_sha1msg2_epu32, _mm_sha1nexte_epu32, _mm_sha1rnds4_epu32, _mm_slli_si128, _mm_srli_si128,
    _mm_xor_si128, _mm256_zeroupper,
};

use super::sha1x16::Job;
use super::{load, reverse, store};
use crate::crypto::inner_tail;

/// Proof that this CPU has SHA-NI, SSE2, SSSE3 and SSE4.1, and whether it also has
/// AVX-512F and AVX-512VL; only [`Sha1Ni::new`] builds one.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sha1Ni(Level);

/// Which compression runs: the one with its message schedule on the vector ports
/// (AVX-512VL), or the one with `sha1msg1`/`sha1msg2`/`sha1nexte`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Level {
    Avx512,
    Sse,
}

impl Sha1Ni {
    /// `Some` where the CPU has the features (checked once per HMAC key).
    pub(crate) fn new() -> Option<Self> {
        let sha = std::arch::is_x86_feature_detected!("sha")
            && std::arch::is_x86_feature_detected!("sse2")
            && std::arch::is_x86_feature_detected!("ssse3")
            && std::arch::is_x86_feature_detected!("sse4.1");
        let avx512 = std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512vl");
        sha.then_some(Self(if avx512 { Level::Avx512 } else { Level::Sse }))
    }

    /// The same proof, restricted to the SSE code (tests compare the two).
    #[cfg(test)]
    fn sse(self) -> Self {
        Self(Level::Sse)
    }

    /// HMAC-SHA1 of `data || trailer` from the prepared inner and outer hash states (the
    /// states after the key's ipad and opad blocks).
    pub(crate) fn hmac(
        self,
        inner: &[u32; 5],
        outer: &[u32; 5],
        data: &[u8],
        trailer: Option<&[u8; 4]>,
    ) -> [u8; 20] {
        match self.0 {
            // SAFETY: `Sha1Ni::new` chose `Avx512` after detecting SHA, SSE2, SSSE3, SSE4.1,
            // AVX-512F and AVX-512VL, the features `hmac_avx512` enables.
            Level::Avx512 => unsafe { hmac_avx512(inner, outer, data, trailer) },
            // SAFETY: `self` exists, so `Sha1Ni::new` detected SHA, SSE2, SSSE3 and SSE4.1,
            // the features `hmac_sse` enables.
            Level::Sse => unsafe { hmac_sse(inner, outer, data, trailer) },
        }
    }
}

/// A SHA-1 state as SHA-NI holds it: `abcd` = [a, b, c, d] from the high lane down, `e` = e
/// in the high lane and zeros below.
#[derive(Clone, Copy)]
struct State {
    abcd: __m128i,
    e: __m128i,
}

#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
fn state(s: &[u32; 5]) -> State {
    let w = s.map(|x| x as i32);
    State {
        abcd: _mm_set_epi32(w[0], w[1], w[2], w[3]),
        e: _mm_set_epi32(w[4], 0, 0, 0),
    }
}

/// The outer message after the opad block: the 20-byte inner digest `st`, 0x80, zeros and
/// the bit length (64 + 20) * 8. The digest's words a..d are `abcd` as it is, e is `e`'s
/// high lane (the lanes below are zero).
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
fn outer_words(st: &State) -> [__m128i; 4] {
    [
        st.abcd,
        _mm_or_si128(st.e, _mm_set_epi32(0, 0x8000_0000_u32 as i32, 0, 0)),
        _mm_setzero_si128(),
        _mm_set_epi32(0, 0, 0, (64 + 20) * 8),
    ]
}

/// The 20-byte digest of a final state.
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
fn digest(st: &State) -> [u8; 20] {
    let mut out = [0u8; 20];
    out[..16].copy_from_slice(&store(reverse(st.abcd)).to_le_bytes());
    out[16..].copy_from_slice(&(_mm_extract_epi32::<3>(st.e) as u32).to_be_bytes());
    out
}

/// A 64-byte block's message words W0..W15, four per register with W(4i) in the high lane.
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
fn words(b: &[u8; 64]) -> [__m128i; 4] {
    let (q, _) = b.as_chunks::<16>();
    let mut m = [_mm_setzero_si128(); 4];
    for (x, q) in m.iter_mut().zip(q) {
        *x = reverse(load(u128::from_le_bytes(*q)));
    }
    m
}

/// The 4-round groups `$g` of the compression: group g's words made 4 groups ahead, e added
/// to them, then `sha1rnds4`.
macro_rules! groups {
    ($schedule:ident, $nexte:ident, $top:ident, $lanes:tt; $($g:literal)*) => {$(
        group!($schedule, $nexte, $top, $g, $lanes);
    )*};
}

/// Group `$g` of each lane's compression, a lane being its words `$w`, its `$e` pair and
/// its `$abcd` (two lanes: their instructions side by side, two independent chains).
macro_rules! group {
    ($schedule:ident, $nexte:ident, $top:ident, $g:literal,
     [$(($w:ident, $e:ident, $abcd:ident))+]) => {$(
        if $g + 4 < 20 {
            $schedule(&mut $w, $g + 4);
        }
        if $g > 0 {
            $e[$g % 2] = $nexte($e[$g % 2], $w[$g], $top);
        }
        $e[($g + 1) % 2] = $abcd;
        $abcd = _mm_sha1rnds4_epu32::<{ $g / 5 }>($abcd, $e[$g % 2]);
    )+};
}

/// The SHA-1 compression function (FIPS 180-4 §6.1.2) `$compress` of one block's message
/// words `w` into `s` (20 groups of 4 rounds, `sha1rnds4` -> `sha1rnds4` the only chain
/// through them, each group's words made 4 groups ahead by `$schedule`, e added by `$nexte`),
/// and the HMAC `$hmac` over it, compiled for `$features`.
macro_rules! sha1_hmac {
    ($features:literal, $hmac:ident, $compress:ident, $schedule:ident, $nexte:ident, $clean:ident) => {
        #[target_feature(enable = $features)]
        fn $compress(s: &mut State, m: [__m128i; 4], top: __mmask8) {
            let (abcd0, e0) = (s.abcd, s.e);
            let mut w = [_mm_setzero_si128(); 20];
            w[..4].copy_from_slice(&m);
            let mut abcd = s.abcd;
            // e[g % 2] is group g's E + W; the other takes a..d before the group for the next
            let mut e = [_mm_add_epi32(s.e, w[0]), _mm_setzero_si128()];
            groups!($schedule, $nexte, top, [(w, e, abcd)];
                0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19);
            // e[0] holds a before group 19, whose rotation is the new e
            s.e = $nexte(e[0], e0, top);
            s.abcd = _mm_add_epi32(abcd, abcd0);
        }

        #[target_feature(enable = $features)]
        fn $hmac(
            inner: &[u32; 5],
            outer: &[u32; 5],
            data: &[u8],
            trailer: Option<&[u8; 4]>,
        ) -> [u8; 20] {
            // the tail is built before the whole blocks are hashed, so that its byte stores
            // have left the store buffer when it is loaded as 16-byte words
            let mut tail = [0u8; 128];
            let (whole, padded) = inner_tail(&mut tail, data, trailer);
            let (tail_blocks, _) = tail[..padded].as_chunks::<64>();
            let mut blocks = whole.iter().chain(tail_blocks);
            $clean();
            // the lane mask of `nexte`, which LLVM must not see as a constant (see there)
            let top = core::hint::black_box(0b1000);
            let mut st = state(inner);
            // One call of the compression for the inner and the outer blocks, so that it is
            // inlined (with a second call site LLVM kept it out of line, the state and words
            // going through memory between blocks)
            loop {
                let (m, last) = match blocks.next() {
                    Some(b) => (words(b), false),
                    None => {
                        let m = outer_words(&st);
                        st = state(outer);
                        (m, true)
                    }
                };
                $compress(&mut st, m, top);
                if last {
                    break;
                }
            }
            digest(&st)
        }
    };
}

// The message schedule with XORs and AVX-512VL rotations on the vector ports rather than
// with `sha1msg1`/`sha1msg2`: on the Xeon of sessions 5-6 those share the SHA unit with
// `sha1rnds4`, and `sha1msg2`'s throughput (1.4 ns there) would add ~22 ns per block to the
// ~28 ns `sha1rnds4` chain (with SSE2 shifts instead of rotations the vector ports become
// the limit). W(16..32) as FIPS 180-4 defines them, the rest by the equivalent
// W(t) = rol2(W(t-6) ^ W(t-16) ^ W(t-28) ^ W(t-32)) (t >= 32), whose 4 words per register
// do not depend on one another.
sha1_hmac!(
    "sha,sse2,ssse3,sse4.1,avx512f,avx512vl",
    hmac_avx512,
    compress_avx512,
    schedule,
    nexte,
    clean_uppers_avx512
);

// The usual SHA-NI schedule, for CPUs without AVX-512VL. On the AMD EPYC (Zen 3) of session
// 10 it runs beside the `sha1rnds4` chain: `sha1::compress`, which uses it, hashed 4 blocks
// in 121-128 ns, no slower than the session's driver loop of bare `sha1rnds4` for 4 blocks
// (154 ns there; that loop's operand dependencies made it slower than the real chain, so it
// bounds from above, not below).
sha1_hmac!(
    "sha,sse2,ssse3,sse4.1",
    hmac_sse,
    compress_sse,
    schedule_msg,
    nexte_msg,
    clean_uppers_sse
);

impl Sha1Ni {
    /// HMAC-SHA1 of two messages side by side, each `data || trailer` under its own prepared
    /// states, at the SSE level: the two `sha1rnds4` chains interleaved, which on the AMD
    /// EPYC (Zen 3) of session 11 take about as long as one (the chain is latency bound).
    /// `None` at the AVX-512 level, where the batch has `sha1x16`.
    pub(crate) fn hmac2(self, a: &Job<'_>, b: &Job<'_>) -> Option<[[u8; 20]; 2]> {
        // SAFETY: `self` exists, so `Sha1Ni::new` detected SHA, SSE2, SSSE3 and SSE4.1, the
        // features `hmac2_sse` enables.
        (self.0 == Level::Sse).then(|| unsafe { hmac2_sse(a, b) })
    }
}

/// One message of [`hmac2_sse`]: its blocks still to hash (the whole blocks of the data,
/// then the padded tail), its state, and where it is: 0 inner blocks, 1 the outer block
/// handed out, 2 done.
struct Lane<'a> {
    blocks: core::iter::Chain<core::slice::Iter<'a, [u8; 64]>, core::slice::Iter<'a, [u8; 64]>>,
    st: State,
    outer: &'a [u32; 5],
    phase: u8,
}

/// The next block's words of `lane` (the outer block's once the inner ones are out, with
/// the state switched to the outer one), `None` when it is done.
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
fn next_words(lane: &mut Lane<'_>) -> Option<[__m128i; 4]> {
    match (lane.phase, lane.blocks.next()) {
        (0, Some(b)) => Some(words(b)),
        (0, None) => {
            let m = outer_words(&lane.st);
            lane.st = state(lane.outer);
            lane.phase = 1;
            Some(m)
        }
        _ => {
            lane.phase = 2;
            None
        }
    }
}

/// [`Sha1Ni::hmac2`] at the SSE level. While one message has blocks left and the other not,
/// the pair compression still runs, the finished lane on a copy of the other's words and
/// its result dropped: one call site keeps the compression inlined, and the lone chain
/// takes as long as the pair.
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
fn hmac2_sse(a: &Job<'_>, b: &Job<'_>) -> [[u8; 20]; 2] {
    let mut tails = [[0u8; 128]; 2];
    let [ta, tb] = &mut tails;
    let (wa, pa) = inner_tail(ta, a.data, Some(&a.trailer));
    let (wb, pb) = inner_tail(tb, b.data, Some(&b.trailer));
    let mut la = Lane {
        blocks: wa.iter().chain(ta[..pa].as_chunks::<64>().0),
        st: state(a.inner),
        outer: a.outer,
        phase: 0,
    };
    let mut lb = Lane {
        blocks: wb.iter().chain(tb[..pb].as_chunks::<64>().0),
        st: state(b.inner),
        outer: b.outer,
        phase: 0,
    };
    loop {
        let (ma, mb) = (next_words(&mut la), next_words(&mut lb));
        let (Some(x), Some(y)) = (ma.or(mb), mb.or(ma)) else {
            break;
        };
        let mut s = [la.st, lb.st];
        compress2_sse(&mut s, [x, y]);
        if ma.is_some() {
            la.st = s[0];
        }
        if mb.is_some() {
            lb.st = s[1];
        }
    }
    [digest(&la.st), digest(&lb.st)]
}

/// Two SHA-1 compressions side by side (the SSE level's schedule), their groups
/// interleaved so that the out-of-order core runs the two `sha1rnds4` chains together.
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
fn compress2_sse(s: &mut [State; 2], m: [[__m128i; 4]; 2]) {
    let top = 0;
    let [(mut w0, mut e0, mut abcd0), (mut w1, mut e1, mut abcd1)] = [0, 1].map(|l| {
        let mut w = [_mm_setzero_si128(); 20];
        w[..4].copy_from_slice(&m[l]);
        // as in `compress`: e[g % 2] is group g's E + W
        (
            w,
            [_mm_add_epi32(s[l].e, w[0]), _mm_setzero_si128()],
            s[l].abcd,
        )
    });
    groups!(schedule_msg, nexte_msg, top, [(w0, e0, abcd0) (w1, e1, abcd1)];
        0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19);
    for (st, (e, abcd)) in s.iter_mut().zip([(e0[0], abcd0), (e1[0], abcd1)]) {
        st.e = nexte_msg(e, st.e, top);
        st.abcd = _mm_add_epi32(abcd, st.abcd);
    }
}

/// No-op where the CPU has no AVX-512: the SSE code is compiled without AVX, so LLVM leaves
/// no upper half dirty in it.
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
fn clean_uppers_sse() {}

/// SHA-NI has only legacy SSE encodings, which ran 25-50x slower on the Xeon while the
/// upper halves of the ZMM registers were dirty (as LLVM's 512-bit copies and zeroing leave
/// them in AVX-512 code).
#[target_feature(enable = "sha,sse2,ssse3,sse4.1,avx512f,avx512vl")]
fn clean_uppers_avx512() {
    _mm256_zeroupper();
}

/// What `sha1nexte` computes: `w` with rol30 of `abcd`'s high lane (a, which becomes e
/// four rounds on) added to its high lane; `top` is the mask 0b1000.
///
/// On the vector ports instead of the SHA unit, in two instructions (a zero-masked
/// rotation and an add): `sha1nexte` on a..d of two groups back lies on the `sha1rnds4`
/// chain's critical path here (3 cycles into the message operand, measured), and a chain
/// with it ran at 1.83-1.87 ns per group against 1.54 ns for `sha1rnds4` alone and 1.56-1.60
/// ns with these two instructions. A constant mask is turned by LLVM into a rotation, a
/// blend and an add (three cycles, as slow as `sha1nexte` again); `hmac` hides the mask's
/// value from it. HMAC of 1212 bytes: 1.27x -> 1.14x the bare `sha1rnds4` chain of its 21
/// blocks (min over 3000 x 32 calls, at load 11).
#[target_feature(enable = "sha,sse2,ssse3,sse4.1,avx512f,avx512vl")]
fn nexte(abcd: __m128i, w: __m128i, top: __mmask8) -> __m128i {
    _mm_add_epi32(w, _mm_maskz_rol_epi32::<30>(top, abcd))
}

/// `sha1nexte` itself (`top` unused), for the SSE code.
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
fn nexte_msg(abcd: __m128i, w: __m128i, _top: __mmask8) -> __m128i {
    _mm_sha1nexte_epu32(abcd, w)
}

/// Message words W(4h..4h+4) into `w[h]`, 4 <= h < 20, from the 4 groups before, by
/// `sha1msg1` and `sha1msg2` (FIPS 180-4's W(t) = rol1(W(t-3) ^ W(t-8) ^ W(t-14) ^ W(t-16))).
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
fn schedule_msg(w: &mut [__m128i; 20], h: usize) {
    let at = |i: usize| w.get(i).copied().unwrap_or(_mm_setzero_si128());
    let x = _mm_sha1msg2_epu32(
        _mm_xor_si128(_mm_sha1msg1_epu32(at(h - 4), at(h - 3)), at(h - 2)),
        at(h - 1),
    );
    if let Some(d) = w.get_mut(h) {
        *d = x;
    }
}

/// Message words W(4h..4h+4) into `w[h]`, 4 <= h < 20, from the groups before.
#[target_feature(enable = "sha,sse2,ssse3,sse4.1,avx512f,avx512vl")]
fn schedule(w: &mut [__m128i; 20], h: usize) {
    let at = |i: usize| w.get(i).copied().unwrap_or(_mm_setzero_si128());
    let x = if h < 8 {
        // W(t-3) ^ W(t-8) ^ W(t-14) ^ W(t-16), with W(t-3) of the last word (W(4h)) missing
        let t14 = _mm_alignr_epi8::<8>(at(h - 4), at(h - 3));
        let t3 = _mm_slli_si128::<4>(at(h - 1));
        let r = rol::<1>(_mm_xor_si128(
            _mm_xor_si128(at(h - 4), t14),
            _mm_xor_si128(at(h - 2), t3),
        ));
        // rol1(a ^ W(4h)) = rol1(a) ^ rol1(W(4h)), and W(4h) is the high lane, final already
        _mm_xor_si128(r, rol::<1>(_mm_srli_si128::<12>(r)))
    } else {
        let t6 = _mm_alignr_epi8::<8>(at(h - 2), at(h - 1));
        let x = _mm_xor_si128(
            _mm_xor_si128(t6, at(h - 4)),
            _mm_xor_si128(at(h - 7), at(h - 8)),
        );
        rol::<2>(x)
    };
    if let Some(d) = w.get_mut(h) {
        *d = x;
    }
}

/// Each 32-bit lane rotated left by `N`.
#[target_feature(enable = "sha,sse2,ssse3,sse4.1,avx512f,avx512vl")]
fn rol<const N: i32>(x: __m128i) -> __m128i {
    _mm_rol_epi32::<N>(x)
}

#[cfg(test)]
mod tests {
    use hmac::Mac;

    use super::*;
    use crate::crypto::HmacSha1;

    fn reference(key: &[u8], data: &[u8], trailer: Option<&[u8; 4]>) -> [u8; 20] {
        let mut m = <hmac::Hmac<sha1::Sha1> as Mac>::new_from_slice(key).unwrap();
        m.update(data);
        if let Some(t) = trailer {
            m.update(t);
        }
        m.finalize().into_bytes().into()
    }

    /// The code this CPU runs, and the SSE code whatever the CPU has.
    fn levels() -> Vec<Sha1Ni> {
        Sha1Ni::new().map_or(vec![], |ni| vec![ni, ni.sse()])
    }

    /// Every length 0..=1500, with and without the trailer, against the `hmac` crate, at
    /// both levels.
    #[test]
    fn hmac_matches_hmac_crate_every_length() {
        let key: Vec<u8> = (0u8..20).map(|i| i.wrapping_mul(29) ^ 0x5a).collect();
        let k = HmacSha1::portable(&key);
        let (inner, outer) = k.states();
        let data: Vec<u8> = (0..1500u32).map(|i| (i * 131 + i / 5) as u8).collect();
        for ni in levels() {
            for len in 0..=1500 {
                let d = &data[..len];
                let t = [len as u8, 1, 2, (len >> 8) as u8];
                assert_eq!(
                    ni.hmac(inner, outer, d, Some(&t)),
                    reference(&key, d, Some(&t))
                );
                assert_eq!(ni.hmac(inner, outer, d, None), reference(&key, d, None));
            }
        }
    }

    /// Two messages side by side (`hmac2`) against the `hmac` crate: every length 0..=300
    /// of one beside lengths of the other that end before, with and after it (so either lane
    /// runs alone at the end), different keys per lane; at the SSE level on any SHA-NI CPU.
    #[test]
    fn hmac2_matches_hmac_crate() {
        let keys = [[0x1fu8; 20], [0xe3u8; 20]];
        let [ka, kb] = keys.map(|k| HmacSha1::portable(&k));
        let data: Vec<u8> = (0..1500u32).map(|i| (i * 71 + i / 3) as u8).collect();
        let Some(ni) = Sha1Ni::new().map(Sha1Ni::sse) else {
            return;
        };
        for la in (0..=300).chain([1200, 1500]) {
            for lb in [0, la / 2, la, la + 1, la + 64, 1212 - la.min(1212)].map(|n| n.min(1500)) {
                let (a, b) = (&data[..la], &data[data.len() - lb..]);
                let [ta, tb] = [[la as u8, 2, 3, 4], [5, lb as u8, 7, 8]];
                let (ia, oa) = ka.states();
                let (ib, ob) = kb.states();
                let ja = Job {
                    inner: ia,
                    outer: oa,
                    data: a,
                    trailer: ta,
                };
                let jb = Job {
                    inner: ib,
                    outer: ob,
                    data: b,
                    trailer: tb,
                };
                let got = ni.hmac2(&ja, &jb).unwrap();
                let want = [
                    reference(&keys[0], a, Some(&ta)),
                    reference(&keys[1], b, Some(&tb)),
                ];
                assert_eq!(got, want, "lengths {la} {lb}");
            }
        }
    }

    /// The pair HMAC of the batch runs where `new` picks the SSE level, not at the AVX-512
    /// level (which has `sha1x16`).
    #[test]
    fn hmac2_where_the_level_is_sse() {
        let Some(ni) = Sha1Ni::new() else { return };
        let k = HmacSha1::portable(&[1; 20]);
        let (inner, outer) = k.states();
        let j = Job {
            inner,
            outer,
            data: &[],
            trailer: [0; 4],
        };
        assert_eq!(ni.hmac2(&j, &j).is_some(), ni.0 == Level::Sse);
    }

    /// The SSE level is the one `new` picks where AVX-512VL is missing.
    #[test]
    fn level_follows_the_cpu() {
        let Some(ni) = Sha1Ni::new() else { return };
        let vl = std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512vl");
        assert_eq!(ni.0 == Level::Avx512, vl);
    }

    /// RFC 2202 §3, the HMAC-SHA1 test cases (keys longer than a block included).
    #[test]
    fn rfc2202_vectors() {
        let cases: [(Vec<u8>, Vec<u8>, &str); 7] = [
            (
                vec![0x0b; 20],
                b"Hi There".to_vec(),
                "b617318655057264e28bc0b6fb378c8ef146be00",
            ),
            (
                b"Jefe".to_vec(),
                b"what do ya want for nothing?".to_vec(),
                "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79",
            ),
            (
                vec![0xaa; 20],
                vec![0xdd; 50],
                "125d7342b9ac11cd91a39af48aa17b4f63f175d3",
            ),
            (
                (1u8..=25).collect(),
                vec![0xcd; 50],
                "4c9007f4026250c6bc8414f9bf50c86c2d7235da",
            ),
            (
                vec![0x0c; 20],
                b"Test With Truncation".to_vec(),
                "4c1a03424b55e07fe7f27be1d58bb9324a9a5a04",
            ),
            (
                vec![0xaa; 80],
                b"Test Using Larger Than Block-Size Key - Hash Key First".to_vec(),
                "aa4ae5e15272d00e95705637ce8a3b55ed402112",
            ),
            (
                vec![0xaa; 80],
                b"Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data"
                    .to_vec(),
                "e8e99d0f45237d786d6bbaa7965c7808bbff1a91",
            ),
        ];
        for ni in levels() {
            for (key, data, want) in &cases {
                let k = HmacSha1::portable(key);
                let (inner, outer) = k.states();
                let tag = ni.hmac(inner, outer, data, None);
                let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
                assert_eq!(&hex, want);
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(256))]

        /// Random keys (short and longer than a block), data of 0..=1500 bytes and trailers.
        #[test]
        fn hmac_random_inputs_match_hmac_crate(
            key in proptest::collection::vec(proptest::num::u8::ANY, 0..=100),
            data in proptest::collection::vec(proptest::num::u8::ANY, 0..=1500),
            trailer in proptest::option::of(proptest::array::uniform4(proptest::num::u8::ANY)),
        ) {
            let k = HmacSha1::portable(&key);
            let (inner, outer) = k.states();
            for ni in levels() {
                proptest::prop_assert_eq!(
                    ni.hmac(inner, outer, &data, trailer.as_ref()),
                    reference(&key, &data, trailer.as_ref())
                );
            }
        }
    }
}
