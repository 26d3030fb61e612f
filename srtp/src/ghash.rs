//! GHASH (NIST SP 800-38D §6.4) through the portable `polyval` crate, for AES-GCM on CPUs
//! without AES-NI and PCLMULQDQ (those use `gcm_x86`), plus the block helpers both share.
//!
//! GHASH is computed as POLYVAL on byte-reversed blocks with the key
//! mulX_POLYVAL(ByteReverse(H)) (RFC 8452 Appendix A). A GHASH block read as a big-endian
//! integer *is* the POLYVAL field element read as a little-endian one, so the blocks are
//! handled as `u128::from_be_bytes(block)` and the result is the GHASH value as a big-endian
//! integer.

use polyval::hazmat::FieldElement;
use polyval::universal_hash::UniversalHash;
use zeroize::Zeroize;

/// A GHASH key prepared for one session key.
#[derive(Clone)]
pub(crate) struct Ghash(polyval::Polyval);

/// Blocks buffered before `polyval`'s `update`: a multiple of its 4-block batch.
const RUN: usize = 16;

impl Ghash {
    /// Prepares GHASH under `h` = E(K, 0^128).
    pub(crate) fn new(h: &[u8; 16]) -> Self {
        let mut key = FieldElement::from(polyval_key(h));
        let hash = polyval::Polyval::new(&key.into());
        key.zeroize();
        Self(hash)
    }

    /// GHASH_H(A || 0* || C || 0* || [len(A)]64 || [len(C)]64) (SP 800-38D §7.1 step 5),
    /// as a big-endian integer; blocks go to `polyval` in runs of [`RUN`].
    pub(crate) fn ghash(&self, aad: &[u8], ct: &[u8]) -> u128 {
        let mut hash = self.0.clone();
        let mut run = [polyval::Block::default(); RUN];
        let mut n = 0;
        let mut push = |hash: &mut polyval::Polyval, x: u128| {
            if let Some(slot) = run.get_mut(n) {
                *slot = x.to_le_bytes().into();
                n += 1;
            }
            if n == RUN {
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
        push(&mut hash, length_block(aad.len(), ct.len()));
        hash.update(&run[..n]);
        let s: [u8; 16] = hash.finalize().into();
        // The accumulator copies are not wiped: GHASH of public data under the prepared key
        // (wiped on drop) does not reveal the key.
        u128::from_le_bytes(s)
    }
}

/// mulX_POLYVAL(ByteReverse(h)) as a little-endian POLYVAL element (RFC 8452 Appendix A).
pub(crate) fn polyval_key(h: &[u8; 16]) -> u128 {
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
pub(crate) fn length_block(aad_len: usize, ct_len: usize) -> u128 {
    let bits = |len: usize| u128::from(len as u64) * 8;
    bits(aad_len) << 64 | bits(ct_len)
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

    /// SP 800-38D / McGrew-Viega GCM test case 2: K = 0^128, P = 0^128; H = 66e94bd4...,
    /// C = 0388dace60b6a392f328c2b971b2fe78, GHASH(H, {}, C) = f38cbb1ad69223dcc3457ae5b6b0f885.
    #[test]
    fn gcm_spec_test_case_2() {
        let h = 0x66e9_4bd4_ef8a_2c3b_884c_fa59_ca34_2b2e_u128.to_be_bytes();
        let c = 0x0388_dace_60b6_a392_f328_c2b9_71b2_fe78_u128.to_be_bytes();
        let want = 0xf38c_bb1a_d692_23dc_c345_7ae5_b6b0_f885_u128;
        assert_eq!(Ghash::new(&h).ghash(&[], &c), want);
    }
}
