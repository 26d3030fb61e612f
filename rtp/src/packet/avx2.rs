//! The payload copy of [`StreamHeader::write_packet`](super::StreamHeader::write_packet) with
//! 32-byte moves where the CPU has AVX2.
//!
//! # Why this module may use `unsafe`
//!
//! The crate is `#![deny(unsafe_code)]`; this module alone allows it, for one call. The crate
//! is compiled for the x86-64 baseline, where [`copy_short`]'s block copies are 16-byte SSE2
//! moves: ten loads and ten stores for a 160-byte voice frame. The same safe code compiled
//! inside a `#[target_feature(enable = "avx2")]` function moves 32 bytes per instruction
//! (five and five), at the price of a call per packet (a `#[target_feature]` function cannot
//! be inlined into code compiled without the feature). Measured (criterion's `rtp_build`
//! paired rows, stream header + 160 B against webrtc-rs in alternating blocks, thread CPU,
//! EPYC Zen 3 VM at load 5-13, base and new binaries alternated, 10 rounds;
//! benches/README.md, "rtp, session 15"): in the host's fast state 4.84-4.96 -> 4.32-4.43 ns
//! per packet, 2.86-3.13x -> 3.32-3.54x webrtc-rs (issue 5 asks for 3x); in its slow state
//! 5.20-6.36 -> 7.34-7.84 ns, 3.48-4.04x -> 3.16-3.48x. A trade, then: 3x in both states
//! (the portable copy missed it in 4 of 8 fast-state rounds) for ~1.5 ns more in the slow
//! state, whose cause was not found. The call must be direct: through the
//! GOT (no `#[inline]`, so the caller's crate called the one copy in this crate), the fast
//! state gave 4.88-5.57 ns, no gain. The general builder (`RtpHeader::write_packet`) stays
//! on the inline copy: with this call it went from 2.65-2.77x to 2.14-2.44x webrtc-rs.
//!
//! Safety: [`copy_short_avx2`]'s body is safe code (the same [`copy_short`] as the portable
//! path: no pointer, no intrinsic). The one `unsafe` block is the call into it from code
//! compiled without AVX2, in [`Avx2::copy_short`]: an [`Avx2`] exists only where
//! [`Avx2::detect`] found AVX2 on this CPU (its field is private to this module, and `detect`
//! is its only constructor), which is the only requirement of calling that function.

#![allow(
    unsafe_code,
    reason = "one call into a #[target_feature(enable = \"avx2\")] function: see the module docs"
)]

#[cfg(target_arch = "x86_64")]
use super::copy_short;

/// Proof that the CPU running this process has AVX2: [`detect`](Self::detect) is the only way
/// to get one.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy, Debug)]
pub(crate) struct Avx2(());

/// No AVX2 outside x86-64: a type with no value.
#[cfg(not(target_arch = "x86_64"))]
#[derive(Clone, Copy, Debug)]
pub(crate) enum Avx2 {}

impl Avx2 {
    /// `Some` where the CPU has AVX2. The standard library caches the answer: after the first
    /// call this is one load and one bit test.
    #[inline(always)]
    pub(crate) fn detect() -> Option<Self> {
        #[cfg(target_arch = "x86_64")]
        return std::arch::is_x86_feature_detected!("avx2").then_some(Self(()));
        #[cfg(not(target_arch = "x86_64"))]
        None
    }

    /// [`copy_short`] with 32-byte moves: `src` into `dst` (of the same length, at most 256
    /// bytes).
    #[inline(always)]
    pub(crate) fn copy_short(self, dst: &mut [u8], src: &[u8]) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `self` exists, so `detect` found AVX2 on this CPU, the one feature
        // `copy_short_avx2` is compiled for; its body is safe code (see the module docs).
        unsafe {
            copy_short_avx2(dst, src);
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = (dst, src);
            match self {}
        }
    }
}

/// [`copy_short`] compiled for AVX2: its fixed-size block copies become 32-byte moves.
/// `#[inline]` (never inlined into a caller without AVX2) makes it a local function of each
/// crate that calls it, so the call is direct, not through the GOT (see the module docs).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
fn copy_short_avx2(dst: &mut [u8], src: &[u8]) {
    copy_short(dst, src);
}
