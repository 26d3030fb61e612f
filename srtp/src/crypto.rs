//! The cryptographic transforms: AES counter mode, HMAC-SHA1, AES-GCM and the AES-CM key
//! derivation function (RFC 3711 §4.1.1, §4.2.1, §4.3; RFC 7714 §8-§11).
//!
//! Everything here is prepared once per session key (AES key schedule, HMAC inner and outer
//! hash states, GCM hash key) and then only read per packet: no allocation, no re-keying.

use aes::cipher::{BlockEncrypt, KeyInit, generic_array::GenericArray};
use aes::{Aes128Enc, Aes192Enc, Aes256Enc};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::ghash::{Ghash, be_padded};
use crate::profile::ProtectionProfile;

/// AES in encryption direction only (counter mode and the PRF never decrypt): AES-NI code
/// in `gcm_x86` for 128 and 256-bit keys where the CPU has it (checked once per key), the
/// `aes` crate otherwise.
#[derive(Clone)]
pub(crate) enum AesEnc {
    #[cfg(target_arch = "x86_64")]
    X86(crate::gcm_x86::Aes),
    Aes128(Aes128Enc),
    Aes192(Aes192Enc),
    Aes256(Aes256Enc),
}

impl AesEnc {
    /// Builds the key schedule; `key` is 16, 24 or 32 bytes (checked by the callers).
    pub(crate) fn new(key: &[u8]) -> Option<Self> {
        #[cfg(target_arch = "x86_64")]
        if let Some(aes) = crate::gcm_x86::Aes::new(key) {
            return Some(Self::X86(aes));
        }
        Self::portable(key)
    }

    /// The key schedule of the `aes` crate, whatever the CPU.
    pub(crate) fn portable(key: &[u8]) -> Option<Self> {
        Some(match key.len() {
            16 => Self::Aes128(Aes128Enc::new(GenericArray::from_slice(key))),
            24 => Self::Aes192(Aes192Enc::new(GenericArray::from_slice(key))),
            32 => Self::Aes256(Aes256Enc::new(GenericArray::from_slice(key))),
            _ => return None,
        })
    }

    fn encrypt_blocks(&self, blocks: &mut [aes::Block]) {
        match self {
            #[cfg(target_arch = "x86_64")]
            Self::X86(c) => {
                for b in blocks {
                    let mut x = [<[u8; 16]>::from(*b)];
                    c.encrypt_blocks(&mut x);
                    *b = x[0].into();
                }
            }
            Self::Aes128(c) => c.encrypt_blocks(blocks),
            Self::Aes192(c) => c.encrypt_blocks(blocks),
            Self::Aes256(c) => c.encrypt_blocks(blocks),
        }
    }

    /// XORs `data` with the AES-CM keystream starting at counter block `iv` (RFC 3711
    /// §4.1.1): block i is AES(iv + i), 128-bit big-endian addition. Up to 32 counter blocks
    /// go to the cipher in one call, so that AES-NI pipelines them, and whole blocks are
    /// XORed as 128-bit words.
    pub(crate) fn apply_keystream(&self, iv: [u8; 16], data: &mut [u8]) {
        #[cfg(target_arch = "x86_64")]
        if let Self::X86(c) = self {
            c.apply_keystream(iv, data);
            return;
        }
        let mut ctr = u128::from_be_bytes(iv);
        let mut blocks = [aes::Block::default(); PAR_BLOCKS];
        for chunk in data.chunks_mut(16 * PAR_BLOCKS) {
            let n = chunk.len().div_ceil(16);
            for b in &mut blocks[..n] {
                *b = ctr.to_be_bytes().into();
                ctr = ctr.wrapping_add(1);
            }
            self.encrypt_blocks(&mut blocks[..n]);
            xor_keystream(chunk, &blocks[..n]);
        }
        // The keystream is not zeroized: it is ciphertext XOR plaintext, no more secret than
        // the plaintext the caller holds, and wiping it per packet costs a third of the time.
    }
}

const PAR_BLOCKS: usize = 32;

/// HMAC-SHA1 (RFC 2104) with the inner and outer hash states computed once from the key;
/// a packet's tag costs the compression of its own blocks plus one outer block.
///
/// Built on the SHA-1 compression function rather than the `hmac` crate because the prepared
/// states are key-equivalent secrets and must be zeroized on drop, which `hmac`'s state does
/// not do. Where the CPU has the SHA extensions and SSE4.1 (checked once per key, here) the
/// whole HMAC runs in `gcm_x86::sha1ni` with the state in registers (its message schedule on
/// the vector ports where there is AVX-512VL, else `sha1msg1`/`sha1msg2`); elsewhere through
/// `sha1::compress`.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub(crate) struct HmacSha1 {
    inner: [u32; 5],
    outer: [u32; 5],
    #[cfg(target_arch = "x86_64")]
    #[zeroize(skip)]
    ni: Option<crate::gcm_x86::sha1ni::Sha1Ni>,
}

impl HmacSha1 {
    pub(crate) fn new(key: &[u8]) -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            let mut h = Self::portable(key);
            h.ni = crate::gcm_x86::sha1ni::Sha1Ni::new();
            h
        }
        #[cfg(not(target_arch = "x86_64"))]
        Self::portable(key)
    }

    /// The prepared states, hashed through `sha1::compress` whatever the CPU.
    pub(crate) fn portable(key: &[u8]) -> Self {
        let mut k = [0u8; 64];
        if key.len() > 64 {
            use sha1::Digest;
            let d = sha1::Sha1::digest(key);
            k[..20].copy_from_slice(&d);
        } else {
            k[..key.len()].copy_from_slice(key);
        }
        let mut ipad = [0x36u8; 64];
        let mut opad = [0x5cu8; 64];
        for i in 0..64 {
            ipad[i] ^= k[i];
            opad[i] ^= k[i];
        }
        let mut inner = SHA1_INIT;
        let mut outer = SHA1_INIT;
        sha1::compress(&mut inner, &[ipad.into()]);
        sha1::compress(&mut outer, &[opad.into()]);
        k.zeroize();
        ipad.zeroize();
        opad.zeroize();
        Self {
            inner,
            outer,
            #[cfg(target_arch = "x86_64")]
            ni: None,
        }
    }

    /// The inner and outer hash states (after the ipad and opad blocks).
    #[cfg(all(test, target_arch = "x86_64"))]
    pub(crate) fn states(&self) -> (&[u32; 5], &[u32; 5]) {
        (&self.inner, &self.outer)
    }

    /// HMAC-SHA1 of `data || trailer`; SRTP authenticates the packet followed by the 4-byte
    /// ROC, SRTCP the packet alone (its E flag and index are already in `data`).
    pub(crate) fn mac(&self, data: &[u8], trailer: &[u8; 4], with_trailer: bool) -> [u8; 20] {
        #[cfg(target_arch = "x86_64")]
        if let Some(ni) = self.ni {
            return ni.hmac(
                &self.inner,
                &self.outer,
                data,
                with_trailer.then_some(trailer),
            );
        }
        let mut st = self.inner;
        // The final blocks are assembled before the whole blocks are hashed so that their
        // byte stores have left the store buffer when SHA-NI loads them as 16-byte words (no
        // store-forwarding stall).
        let mut tail = [0u8; 128];
        let (blocks, padded) = inner_tail(&mut tail, data, with_trailer.then_some(trailer));
        for b in blocks {
            sha1::compress(&mut st, &[*GenericArray::from_slice(b)]);
        }
        for b in tail[..padded].chunks_exact(64) {
            sha1::compress(&mut st, &[*GenericArray::from_slice(b)]);
        }
        let mut out_st = self.outer;
        sha1::compress(&mut out_st, &[outer_block(&st).into()]);
        let mut out = [0u8; 20];
        for (i, w) in out_st.iter().enumerate() {
            out[4 * i..4 * i + 4].copy_from_slice(&w.to_be_bytes());
        }
        // The per-packet hash states are not wiped: they hash public data under the prepared
        // key states (which are zeroized on drop) and do not reveal the key.
        out
    }
}

/// The end of HMAC-SHA1's inner message `data || trailer` (hashed after the 64-byte key
/// block), padded (FIPS 180-4 §5.1.1) into `tail`, which is zeros on entry: the bytes after
/// `data`'s whole blocks, the trailer if any, 0x80, zeros and the 64-bit bit length. Returns
/// `data`'s whole blocks and the tail's length, 64 or 128.
pub(crate) fn inner_tail<'a>(
    tail: &mut [u8; 128],
    data: &'a [u8],
    trailer: Option<&[u8; 4]>,
) -> (&'a [[u8; 64]], usize) {
    let (whole, rest) = data.as_chunks::<64>();
    tail[..rest.len()].copy_from_slice(rest);
    let mut n = rest.len();
    if let Some(t) = trailer {
        tail[n..n + 4].copy_from_slice(t);
        n += 4;
    }
    let bits = ((64 + 64 * whole.len() + n) as u64) * 8;
    tail[n] = 0x80;
    let padded = (n + 1 + 8).div_ceil(64) * 64;
    tail[padded - 8..padded].copy_from_slice(&bits.to_be_bytes());
    (whole, padded)
}

/// HMAC-SHA1's outer message block after the 64-byte key block: the inner digest `st`, padded.
pub(crate) fn outer_block(st: &[u32; 5]) -> [u8; 64] {
    let mut ob = [0u8; 64];
    for (i, w) in st.iter().enumerate() {
        ob[4 * i..4 * i + 4].copy_from_slice(&w.to_be_bytes());
    }
    ob[20] = 0x80;
    ob[56..].copy_from_slice(&((64u64 + 20) * 8).to_be_bytes());
    ob
}

/// Messages per [`mac_batch`] call.
pub(crate) const MAC_BATCH: usize = 16;

/// One message for [`mac_batch`]: the key, the data and the 4-byte trailer (the ROC).
pub(crate) type MacJob<'a> = (&'a HmacSha1, &'a [u8], [u8; 4]);

/// HMAC-SHA1 of up to [`MAC_BATCH`] messages `data || trailer` (SRTP: authenticated portion
/// || ROC), each under its own prepared key, into the same places of `out`: 16 side by side in
/// AVX-512 registers where the CPU has them (`gcm_x86::sha1x16`), else two by two with
/// SHA-NI (`gcm_x86::sha1ni`, two `sha1rnds4` chains interleaved), else one by one.
pub(crate) fn mac_batch(jobs: &[Option<MacJob<'_>>; MAC_BATCH], out: &mut [[u8; 20]; MAC_BATCH]) {
    #[cfg(target_arch = "x86_64")]
    if let Some(x16) = crate::gcm_x86::sha1x16::Sha1x16::new() {
        let jobs = jobs.map(|j| {
            j.map(|(k, data, trailer)| crate::gcm_x86::sha1x16::Job {
                inner: &k.inner,
                outer: &k.outer,
                data,
                trailer,
            })
        });
        x16.hmac(&jobs, out);
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if let Some(ni) = jobs.iter().flatten().find_map(|(k, ..)| k.ni) {
        // two by two with SHA-NI (`Sha1Ni::hmac2`), in order, a last odd one alone
        fn job<'a>((k, data, trailer): &MacJob<'a>) -> crate::gcm_x86::sha1x16::Job<'a> {
            crate::gcm_x86::sha1x16::Job {
                inner: &k.inner,
                outer: &k.outer,
                data,
                trailer: *trailer,
            }
        }
        let mut at = [0usize; MAC_BATCH];
        let mut n = 0;
        for (i, _) in jobs.iter().enumerate().filter(|(_, j)| j.is_some()) {
            at[n] = i;
            n += 1;
        }
        for pair in at[..n].chunks(2) {
            if let [i, k] = *pair
                && let (Some(a), Some(b)) = (&jobs[i], &jobs[k])
                && let Some([ta, tb]) = ni.hmac2(&job(a), &job(b))
            {
                out[i] = ta;
                out[k] = tb;
                continue;
            }
            for &i in pair {
                if let Some((k, data, trailer)) = &jobs[i] {
                    out[i] = k.mac(data, trailer, true);
                }
            }
        }
        return;
    }
    for (j, o) in jobs.iter().zip(out) {
        if let Some((k, data, trailer)) = j {
            *o = k.mac(data, trailer, true);
        }
    }
}

const SHA1_INIT: [u32; 5] = [
    0x6745_2301,
    0xEFCD_AB89,
    0x98BA_DCFE,
    0x1032_5476,
    0xC3D2_E1F0,
];

/// Constant-time comparison of a computed tag prefix with the received tag.
///
/// The bytes' differences are ORed together with no branch on their values and only the
/// result goes through `subtle`: `subtle`'s slice `ct_eq` hides every byte from the optimizer
/// and cost ~160 instructions for a 10-byte tag (callgrind), ~20 here.
pub(crate) fn tags_equal(computed: &[u8], received: &[u8]) -> bool {
    let diff = computed
        .iter()
        .zip(received)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    computed.len() == received.len() && bool::from(diff.ct_eq(&0))
}

/// AES-GCM (NIST SP 800-38D, as RFC 7714 uses it) with the AES key schedule and the GHASH
/// key prepared once per session key.
///
/// On x86-64 with AES-NI and PCLMULQDQ (checked here, once per session key) counter mode and
/// GHASH run in one pass in `gcm_x86`; elsewhere [`PortableGcm`] composes `aes` and
/// `polyval`. Both are faster at VoIP packet sizes than the `aes-gcm` crate, whose per-call
/// setup and one-reduction-per-block GHASH cost more than the cipher work.
#[derive(Clone)]
#[cfg_attr(
    target_arch = "x86_64",
    expect(
        clippy::large_enum_variant,
        reason = "one per session key; on x86 the large variant is the one in use, and boxing it \
              would add a pointer chase per packet (its 32-byte round keys, gcm_x86::gcm_ymm)"
    )
)]
pub(crate) enum Gcm {
    /// AES-NI + PCLMULQDQ.
    #[cfg(target_arch = "x86_64")]
    X86(crate::gcm_x86::Key),
    /// `aes` + `polyval`.
    Portable(PortableGcm),
}

impl Gcm {
    /// The fastest implementation this CPU supports for a 16 or 32-byte key.
    pub(crate) fn new(key: &[u8]) -> Option<Self> {
        #[cfg(target_arch = "x86_64")]
        if let Some(k) = crate::gcm_x86::Key::new(key) {
            return Some(Self::X86(k));
        }
        PortableGcm::new(key).map(Self::Portable)
    }

    /// Encrypts `data` in place and returns the 16-byte tag.
    #[inline(always)]
    pub(crate) fn seal(&self, iv: &[u8; 12], aad: &[u8], data: &mut [u8]) -> [u8; 16] {
        let mut tag = [0; 16];
        self.seal_into(iv, aad, data, &mut tag);
        tag
    }

    /// Encrypts `data` in place and writes the 16-byte tag to `tag` (on x86 with VAES one
    /// 16-byte store from a register: a tag returned by value went through two 8-byte
    /// stores that the 16-byte copy into the packet could not forward from).
    #[inline(always)]
    pub(crate) fn seal_into(&self, iv: &[u8; 12], aad: &[u8], data: &mut [u8], tag: &mut [u8; 16]) {
        match self {
            #[cfg(target_arch = "x86_64")]
            Self::X86(k) => k.seal(iv, aad, data, tag),
            Self::Portable(g) => *tag = g.seal(iv, aad, data),
        }
    }

    /// Checks the tag and decrypts `data` in place; on a tag mismatch `data` is unchanged.
    #[inline(always)]
    pub(crate) fn open(&self, iv: &[u8; 12], aad: &[u8], data: &mut [u8], tag: &[u8]) -> bool {
        match self {
            #[cfg(target_arch = "x86_64")]
            Self::X86(k) => k.open(iv, aad, data, tag),
            Self::Portable(g) => g.open(iv, aad, data, tag),
        }
    }
}

/// AES-GCM composed from `aes` and `polyval` ([`Ghash`]):
/// - the tag mask E(K, J0) and the counter blocks inc32(J0).. go to AES-NI in one batch;
/// - GHASH is POLYVAL on byte-reversed blocks (RFC 8452 Appendix A), 4 blocks per
///   reduction.
///
/// The 12-byte IV makes J0 = IV || 0^31 || 1 (SP 800-38D §7.1 step 2).
#[derive(Clone)]
pub(crate) struct PortableGcm {
    aes: AesEnc,
    hash: Ghash,
}

impl PortableGcm {
    pub(crate) fn new(key: &[u8]) -> Option<Self> {
        if key.len() != 16 && key.len() != 32 {
            return None;
        }
        // the `aes` crate: `Gcm::new` only falls back here where `gcm_x86::Aes` is refused
        // too, and the tests then check this path rather than the AES-NI one
        let aes = AesEnc::portable(key)?;
        let mut h = [aes::Block::default()];
        aes.encrypt_blocks(&mut h);
        let mut h: [u8; 16] = h[0].into();
        let hash = Ghash::new(&h);
        h.zeroize();
        Some(Self { aes, hash })
    }

    fn ghash(&self, aad: &[u8], ct: &[u8]) -> u128 {
        self.hash.ghash(aad, ct)
    }

    /// GCTR from J0 (SP 800-38D §6.5): XORs `data` with E(K, inc32^i(J0)) for i = 1.. and
    /// returns E(K, J0), the tag mask. `accept` sees the mask before any byte of `data`
    /// changes and can stop the call (decryption verifies the tag there).
    fn gctr(&self, j0: u128, data: &mut [u8], accept: impl FnOnce(u128) -> bool) -> Option<u128> {
        let high = j0 & !0xffff_ffff;
        let mut ctr = j0 as u32;
        let mut blocks = [aes::Block::default(); PAR_BLOCKS];
        // the first batch holds J0 and PAR_BLOCKS - 1 keystream blocks
        let first_len = data.len().min((PAR_BLOCKS - 1) * 16);
        let (first, rest) = data.split_at_mut(first_len);
        let n = 1 + first.len().div_ceil(16);
        for b in &mut blocks[..n] {
            *b = (high | u128::from(ctr)).to_be_bytes().into();
            // inc32: the low 32 bits wrap on their own (SP 800-38D §6.2)
            ctr = ctr.wrapping_add(1);
        }
        self.aes.encrypt_blocks(&mut blocks[..n]);
        let mask = u128::from_be_bytes(blocks[0].into());
        if !accept(mask) {
            return None;
        }
        xor_keystream(first, &blocks[1..n]);
        for chunk in rest.chunks_mut(16 * PAR_BLOCKS) {
            let n = chunk.len().div_ceil(16);
            for b in &mut blocks[..n] {
                *b = (high | u128::from(ctr)).to_be_bytes().into();
                ctr = ctr.wrapping_add(1);
            }
            self.aes.encrypt_blocks(&mut blocks[..n]);
            xor_keystream(chunk, &blocks[..n]);
        }
        Some(mask)
    }

    /// Encrypts `data` in place and returns the 16-byte tag.
    pub(crate) fn seal(&self, iv: &[u8; 12], aad: &[u8], data: &mut [u8]) -> [u8; 16] {
        let mask = self.gctr(j0(iv), data, |_| true).unwrap_or(0);
        (self.ghash(aad, data) ^ mask).to_be_bytes()
    }

    /// Checks the tag and decrypts `data` in place; on a tag mismatch `data` is unchanged.
    pub(crate) fn open(&self, iv: &[u8; 12], aad: &[u8], data: &mut [u8], tag: &[u8]) -> bool {
        if tag.len() != 16 {
            return false;
        }
        let s = self.ghash(aad, data);
        self.gctr(j0(iv), data, |mask| {
            tags_equal(&(s ^ mask).to_be_bytes(), tag)
        })
        .is_some()
    }
}

/// J0 = IV || 0^31 || 1 for a 96-bit IV (SP 800-38D §7.1 step 2).
fn j0(iv: &[u8; 12]) -> u128 {
    be_padded(iv) | 1
}

/// XORs `data` with the keystream `blocks` (at least `data.len()` bytes of them).
///
/// Byte-wise over whole 16-byte blocks, which the compiler turns into one 16-byte load, XOR
/// and store per block: the MAC reads the ciphertext right after, and a 16-byte load over
/// two 8-byte stores (what a `u128` XOR compiles to) stalls on store forwarding.
fn xor_keystream(data: &mut [u8], blocks: &[aes::Block]) {
    let mut whole = data.chunks_exact_mut(16);
    let mut keys = blocks.iter();
    for (d, k) in (&mut whole).zip(&mut keys) {
        for (x, y) in d.iter_mut().zip(k.iter()) {
            *x ^= y;
        }
    }
    if let Some(k) = keys.next() {
        for (x, y) in whole.into_remainder().iter_mut().zip(k.iter()) {
            *x ^= y;
        }
    }
}

/// The session keys of one direction of one packet kind (SRTP or SRTCP), ready to use.
#[derive(Clone)]
#[cfg_attr(
    target_arch = "x86_64",
    expect(
        clippy::large_enum_variant,
        reason = "one per master key and direction; the GCM variant holds the x86 key inline (see Gcm)"
    )
)]
pub(crate) enum SessionCrypto {
    /// AES-CM + HMAC-SHA1 (RFC 3711, RFC 6188).
    Cm {
        aes: AesEnc,
        auth: HmacSha1,
        salt: Salt,
    },
    /// AES-GCM (RFC 7714).
    Gcm { aead: Gcm, salt: Salt },
}

/// A 14-byte (AES-CM) or 12-byte (GCM) session salt, zero-padded to 14.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub(crate) struct Salt(pub(crate) [u8; 14]);

/// The KDF labels of RFC 3711 §4.3.1 (SRTP) and §4.3.2 (SRTCP).
#[derive(Clone, Copy)]
pub(crate) enum Labels {
    Rtp,
    Rtcp,
}

impl SessionCrypto {
    /// Derives the session keys for `labels` at `r = index DIV key_derivation_rate`
    /// (RFC 3711 §4.3.1) from the master key and salt.
    pub(crate) fn derive(
        profile: ProtectionProfile,
        prf: &AesEnc,
        master_salt: &[u8],
        labels: Labels,
        r: u64,
    ) -> Self {
        let (l_enc, l_auth, l_salt) = match labels {
            Labels::Rtp => (0x00, 0x01, 0x02),
            Labels::Rtcp => (0x03, 0x04, 0x05),
        };
        let mut key = [0u8; 32];
        let key = &mut key[..profile.key_len()];
        kdf(prf, master_salt, l_enc, r, key);
        let mut salt = [0u8; 14];
        kdf(prf, master_salt, l_salt, r, &mut salt[..profile.salt_len()]);
        let out = if profile.is_aead() {
            // key lengths come from the profile, which only names 16 and 32 for GCM
            match Gcm::new(key) {
                Some(aead) => Self::Gcm {
                    aead,
                    salt: Salt(salt),
                },
                None => unreachable_profile(),
            }
        } else {
            let mut auth_key = [0u8; 20];
            kdf(prf, master_salt, l_auth, r, &mut auth_key);
            let auth = HmacSha1::new(&auth_key);
            auth_key.zeroize();
            match AesEnc::new(key) {
                Some(aes) => Self::Cm {
                    aes,
                    auth,
                    salt: Salt(salt),
                },
                None => unreachable_profile(),
            }
        };
        key.zeroize();
        salt.zeroize();
        out
    }
}

#[expect(
    clippy::panic,
    reason = "ProtectionProfile::key_len only returns 16, 24 or 32 and GCM only 16 or 32"
)]
fn unreachable_profile() -> ! {
    panic!("profile key length table inconsistent")
}

/// The AES-CM PRF of RFC 3711 §4.3.1/§4.3.3: key_id = label || r, x = key_id XOR
/// master_salt (both right-aligned in 112 bits), output = AES-CM keystream from IV x * 2^16.
///
/// A 12-byte GCM master salt is used as the first 12 of the 14 bytes, the rest zero (what
/// libsrtp does, and the only reading under which RFC 7714 §11's "the same KDF" works with
/// a 96-bit salt).
pub(crate) fn kdf(prf: &AesEnc, master_salt: &[u8], label: u8, r: u64, out: &mut [u8]) {
    let mut x = [0u8; 16];
    let n = master_salt.len().min(14);
    x[..n].copy_from_slice(&master_salt[..n]);
    // key_id = label (8 bits) || r (48 bits): label lands on byte 7 of the 14-byte salt.
    x[7] ^= label;
    let r = r.to_be_bytes();
    for i in 0..6 {
        x[8 + i] ^= r[2 + i];
    }
    out.fill(0);
    prf.apply_keystream(x, out);
    x.zeroize();
}

/// The AES-CM IV for SRTP/SRTCP (RFC 3711 §4.1.1): (salt * 2^16) XOR (SSRC * 2^64) XOR
/// (index * 2^16).
///
/// Computed on 128-bit words rather than byte by byte: the cipher loads the IV as words, and
/// a word load over freshly stored single bytes stalls on store forwarding.
pub(crate) fn cm_iv(salt: &Salt, ssrc: u32, index: u64) -> [u8; 16] {
    let index = u128::from(index & 0xffff_ffff_ffff);
    (be_padded(&salt.0) ^ u128::from(ssrc) << 64 ^ index << 16).to_be_bytes()
}

/// The GCM IV for SRTP (RFC 7714 §8.1): (00 00 || SSRC || ROC || SEQ) XOR salt; for SRTCP
/// (§9.1): (00 00 || SSRC || 00 00 || 0 || SRTCP index) XOR salt. `index` is ROC||SEQ or the
/// 31-bit SRTCP index; both fill the last 6 bytes.
///
/// Computed as a 96-bit integer and written as 8 + 4 bytes, the two loads the GCM code makes
/// of it (J0's first and second word), so that each load is forwarded from one store: an
/// 8-byte load over a 4-byte and an 8-byte store stalled on store forwarding at the start
/// of the packet's AES chain.
pub(crate) fn gcm_iv(salt: &Salt, ssrc: u32, index: u64) -> [u8; 12] {
    let word = |b: &[u8]| b.first_chunk::<8>().map_or(0, |w| u64::from_be_bytes(*w));
    let last = |b: &[u8]| {
        b.get(8..)
            .and_then(|b| b.first_chunk::<4>())
            .map_or(0, |w| u32::from_be_bytes(*w))
    };
    let salt96 = u128::from(word(&salt.0)) << 32 | u128::from(last(&salt.0));
    let x = salt96 ^ u128::from(ssrc) << 48 ^ u128::from(index & 0xffff_ffff_ffff);
    let mut iv = [0u8; 12];
    iv[..8].copy_from_slice(&((x >> 32) as u64).to_be_bytes());
    iv[8..].copy_from_slice(&(x as u32).to_be_bytes());
    iv
}

#[cfg(test)]
mod tests {
    use hmac::Mac;

    use super::*;

    #[test]
    fn hmac_matches_hmac_crate() {
        let key: Vec<u8> = (0u8..20).collect();
        // the CPU's implementation (SHA-NI where present) and `sha1::compress`
        for (h, len) in [HmacSha1::new(&key), HmacSha1::portable(&key)]
            .iter()
            .flat_map(|h| {
                [
                    0usize, 1, 50, 51, 52, 55, 56, 59, 60, 63, 64, 65, 119, 120, 128, 172, 1212,
                ]
                .map(|len| (h, len))
            })
        {
            let data: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            let mut m = <hmac::Hmac<sha1::Sha1> as Mac>::new_from_slice(&key).unwrap();
            m.update(&data);
            m.update(&[1, 2, 3, 4]);
            let want = m.finalize().into_bytes();
            assert_eq!(h.mac(&data, &[1, 2, 3, 4], true)[..], want[..], "len {len}");
            let mut m = <hmac::Hmac<sha1::Sha1> as Mac>::new_from_slice(&key).unwrap();
            m.update(&data);
            assert_eq!(
                h.mac(&data, &[9; 4], false)[..],
                m.finalize().into_bytes()[..]
            );
        }
        // long key path (hashed key)
        let long_key = [0xaau8; 80];
        let mut m = <hmac::Hmac<sha1::Sha1> as Mac>::new_from_slice(&long_key).unwrap();
        m.update(b"abc");
        assert_eq!(
            HmacSha1::new(&long_key).mac(b"abc", &[0; 4], false)[..],
            m.finalize().into_bytes()[..]
        );
    }

    #[test]
    fn rfc2202_hmac_sha1_case_2() {
        // RFC 2202 test case 2: key "Jefe", data "what do ya want for nothing?"
        let h = HmacSha1::new(b"Jefe");
        let tag = h.mac(b"what do ya want for noth", b"ing?", true);
        assert_eq!(
            tag,
            [
                0xef, 0xfc, 0xdf, 0x6a, 0xe5, 0xeb, 0x2f, 0xa2, 0xd2, 0x74, 0x16, 0xd5, 0xf1, 0x84,
                0xdf, 0x9c, 0x25, 0x9a, 0x7c, 0x79
            ]
        );
    }

    /// Both GCM implementations against the RustCrypto `aes-gcm` crate: the CPU's (AES-NI +
    /// PCLMULQDQ where present) with AES-128 for every payload length 0-300 with every AAD
    /// length 0-40 (plus long ones), which crosses the GHASH runs of 8 blocks, the AES
    /// batches of 8 and 4, the first batch of 7 and the padded blocks; AES-256 and the
    /// portable implementation on a sparser grid.
    #[test]
    fn gcm_matches_aes_gcm_crate() {
        let full: Vec<usize> = (0..=300).collect();
        let full_aad: Vec<usize> = (0..=40).chain([44, 64, 65, 200]).collect();
        let sparse: Vec<usize> = (0..=70).step_by(3).chain([127, 128, 129, 300]).collect();
        let sparse_aad = [0, 8, 12, 16, 20, 44, 64, 65, 200];
        let long = [495, 496, 497, 511, 512, 1200, 1500];
        for key_len in [16usize, 32] {
            let key: Vec<u8> = (0..key_len).map(|i| (i * 13 + 1) as u8).collect();
            let fast = Gcm::new(&key).unwrap();
            let portable = Gcm::Portable(PortableGcm::new(&key).unwrap());
            if key_len == 16 {
                check_against_aes_gcm(&fast, &key, &full, &full_aad);
            } else {
                check_against_aes_gcm(&fast, &key, &sparse, &sparse_aad);
            }
            check_against_aes_gcm(&portable, &key, &sparse, &sparse_aad);
            // the 128-bit AES-NI code where `fast` is the AVX-512 one
            #[cfg(target_arch = "x86_64")]
            if let Gcm::X86(k) = &fast {
                let narrow = Gcm::X86(k.clone().narrow());
                check_against_aes_gcm(&narrow, &key, &full, &sparse_aad);
                check_against_aes_gcm(&narrow, &key, &long, &[0, 12, 40]);
            }
            for ours in [&fast, &portable] {
                check_against_aes_gcm(ours, &key, &long, &[0, 12, 40]);
            }
        }
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn gcm_uses_aes_ni_where_available() {
        let has = std::arch::is_x86_feature_detected!("aes")
            && std::arch::is_x86_feature_detected!("pclmulqdq")
            && std::arch::is_x86_feature_detected!("ssse3");
        let gcm = Gcm::new(&[1; 16]).unwrap();
        assert_eq!(matches!(gcm, Gcm::X86(_)), has);
    }

    /// The x86 paths (the 256-bit one where the CPU has it, the 128-bit one) against the
    /// portable one at the lengths around every register, batch and run edge, both key
    /// sizes, AAD of 0-72 bytes: the same ciphertext and tag, each opens the other's, a
    /// forgery is refused with the data as it was, and the 49 bytes on either side of the
    /// data (the packet's header and trailer room; odd, so the data lies at odd addresses)
    /// are never written.
    #[test]
    #[cfg(target_arch = "x86_64")]
    fn gcm_x86_matches_portable_at_the_edges() {
        // odd, so that the data starts and ends at odd addresses
        const GUARD: usize = 49;
        // ... 1200 (the usual long packet), 1300, both sides of the 256-bit path's
        // whole-packet sum (fewer than 96 blocks of AAD and payload: 1440/1488/1504/1520
        // bytes with 72/20/12-16/0 bytes of AAD) and of its 254-block limit (4064)
        let lens = [
            0, 1, 15, 16, 17, 31, 32, 33, 63, 64, 65, 239, 240, 241, 255, 256, 257, 511, 512, 513,
            1200, 1300, 1440, 1441, 1488, 1489, 1504, 1505, 1520, 1521, 4064, 4065,
        ];
        for key in [[3u8; 16].as_slice(), &[5; 32]] {
            let Some(Gcm::X86(fast)) = Gcm::new(key) else {
                return; // no AES-NI: only the portable path exists
            };
            let impls = [
                Gcm::X86(fast.clone()),
                Gcm::X86(fast.narrow()),
                Gcm::Portable(PortableGcm::new(key).unwrap()),
            ];
            for aad_len in [0, 12, 16, 20, 72] {
                let aad: Vec<u8> = (0..aad_len).map(|i| (i * 7) as u8).collect();
                for &len in &lens {
                    let iv = [len as u8; 12];
                    let plain: Vec<u8> = (0..len).map(|i| (i * 13 + 1) as u8).collect();
                    let framed = [vec![0xa5; GUARD], plain.clone(), vec![0x5a; GUARD]].concat();
                    let mut sealed = Vec::new();
                    for g in &impls {
                        let mut buf = framed.clone();
                        let tag = g.seal(&iv, &aad, &mut buf[GUARD..GUARD + len]);
                        assert_eq!(buf[..GUARD], framed[..GUARD], "len {len} aad {aad_len}");
                        assert_eq!(buf[GUARD + len..], framed[GUARD + len..]);
                        sealed.push((buf, tag));
                    }
                    for (buf, tag) in &sealed[1..] {
                        assert_eq!((buf, tag), (&sealed[0].0, &sealed[0].1), "len {len}");
                    }
                    let (ct, tag) = &sealed[0];
                    for g in &impls {
                        let mut buf = ct.clone();
                        assert!(g.open(&iv, &aad, &mut buf[GUARD..GUARD + len], tag));
                        assert_eq!(buf, framed, "len {len} aad {aad_len}");
                        let mut bad = *tag;
                        bad[len % 16] ^= 0x10;
                        let mut buf = ct.clone();
                        assert!(!g.open(&iv, &aad, &mut buf[GUARD..GUARD + len], &bad));
                        assert_eq!(&buf, ct, "a forgery leaves the data as it was");
                    }
                }
            }
        }
    }

    fn check_against_aes_gcm(ours: &Gcm, key: &[u8], lens: &[usize], aad_lens: &[usize]) {
        use aes_gcm::aead::{AeadInPlace, KeyInit as _};
        let iv = [0x5au8; 12];
        let reference = |aad: &[u8], data: &mut [u8]| match key.len() {
            16 => aes_gcm::Aes128Gcm::new_from_slice(key)
                .unwrap()
                .encrypt_in_place_detached(&iv.into(), aad, data),
            _ => aes_gcm::Aes256Gcm::new_from_slice(key)
                .unwrap()
                .encrypt_in_place_detached(&iv.into(), aad, data),
        };
        let data: Vec<u8> = (0..1500).map(|i| (i * 7) as u8).collect();
        let aad_data: Vec<u8> = (0..200).map(|i| i as u8 ^ 0x33).collect();
        for &len in lens {
            for &aad_len in aad_lens {
                let (aad, plain) = (&aad_data[..aad_len], &data[..len]);
                let mut want = plain.to_vec();
                let want_tag = reference(aad, &mut want).unwrap();
                let mut got = plain.to_vec();
                let tag = ours.seal(&iv, aad, &mut got);
                assert_eq!(got, want, "ciphertext, len {len} aad {aad_len}");
                assert_eq!(tag[..], want_tag[..], "tag, len {len} aad {aad_len}");
                // a flipped tag bit or ciphertext bit is refused and leaves data as is
                let mut bad = tag;
                bad[15] ^= 1;
                assert!(!ours.open(&iv, aad, &mut got, &bad));
                assert_eq!(got, want);
                if let Some(b) = got.first_mut() {
                    *b ^= 0x80;
                    assert!(!ours.open(&iv, aad, &mut got, &tag));
                    got[0] ^= 0x80;
                }
                assert!(ours.open(&iv, aad, &mut got, &tag));
                assert_eq!(got, plain);
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(64))]

        /// Random keys, IVs, AAD and payloads: the same ciphertext and tag as `aes-gcm`, and
        /// open() gives the plaintext back.
        #[test]
        fn gcm_random_inputs_match_aes_gcm(
            key in proptest::collection::vec(proptest::num::u8::ANY, 16..=16),
            iv in proptest::array::uniform12(proptest::num::u8::ANY),
            aad in proptest::collection::vec(proptest::num::u8::ANY, 0..48),
            plain in proptest::collection::vec(proptest::num::u8::ANY, 0..700),
        ) {
            use aes_gcm::aead::{AeadInPlace, KeyInit as _};
            let mut want = plain.clone();
            let want_tag = aes_gcm::Aes128Gcm::new_from_slice(&key)
                .unwrap()
                .encrypt_in_place_detached(&iv.into(), &aad, &mut want)
                .unwrap();
            let ours = Gcm::new(&key).unwrap();
            let mut got = plain.clone();
            let tag = ours.seal(&iv, &aad, &mut got);
            proptest::prop_assert_eq!(&got, &want);
            proptest::prop_assert_eq!(&tag[..], &want_tag[..]);
            proptest::prop_assert!(ours.open(&iv, &aad, &mut got, &tag));
            proptest::prop_assert_eq!(got, plain);
        }
    }

    #[cfg(target_arch = "x86_64")]
    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(256))]

        /// The wide (VAES/VPCLMULQDQ) path, the 128-bit AES-NI one and the portable one on
        /// random keys of both sizes, IVs, AAD and payloads of 0-1500 bytes: the same
        /// ciphertext and tag, each opens what the others sealed, and a flipped bit is refused
        /// with the data left as it was.
        #[test]
        fn gcm_wide_matches_narrow_and_portable(
            key in proptest::collection::vec(proptest::num::u8::ANY, 16..=16),
            long_key in proptest::bool::ANY,
            iv in proptest::array::uniform12(proptest::num::u8::ANY),
            aad in proptest::collection::vec(proptest::num::u8::ANY, 0..=72),
            plain in proptest::collection::vec(proptest::num::u8::ANY, 0..=1500),
            flip in proptest::num::usize::ANY,
        ) {
            let key = if long_key { [key.clone(), key].concat() } else { key };
            let Some(Gcm::X86(fast)) = Gcm::new(&key) else {
                return Ok(()); // no AES-NI: only the portable path exists
            };
            let impls = [
                Gcm::X86(fast.clone()),
                Gcm::X86(fast.narrow()),
                Gcm::Portable(PortableGcm::new(&key).unwrap()),
            ];
            let sealed: Vec<_> = impls
                .iter()
                .map(|g| {
                    let mut d = plain.clone();
                    let tag = g.seal(&iv, &aad, &mut d);
                    (d, tag)
                })
                .collect();
            for (d, tag) in &sealed[1..] {
                proptest::prop_assert_eq!(d, &sealed[0].0);
                proptest::prop_assert_eq!(tag, &sealed[0].1);
            }
            let (ct, tag) = &sealed[0];
            for g in &impls {
                let mut d = ct.clone();
                proptest::prop_assert!(g.open(&iv, &aad, &mut d, tag));
                proptest::prop_assert_eq!(&d, &plain);
                // one flipped bit of the ciphertext, or of the tag if there is none
                let mut d = ct.clone();
                let mut t = *tag;
                match d.len() {
                    0 => t[flip % 16] ^= 1 << (flip % 8),
                    n => d[flip % n] ^= 1 << (flip % 8),
                }
                let forged = d.clone();
                proptest::prop_assert!(!g.open(&iv, &aad, &mut d, &t));
                proptest::prop_assert_eq!(d, forged);
            }
        }
    }

    /// The batch HMAC (16 lanes of AVX-512 where present) against one-by-one `mac`: jobs of
    /// different keys and lengths side by side (0-300 bytes: 1 to 6 blocks per lane, so lanes
    /// run out at different blocks), gaps in the job array, and a lane count below 16.
    #[test]
    fn mac_batch_matches_mac() {
        let keys: Vec<HmacSha1> = (0..MAC_BATCH)
            .map(|i| HmacSha1::new(&[(i * 17 + 1) as u8; 20]))
            .collect();
        let data: Vec<u8> = (0..300u32).map(|i| (i * 11 + i / 7) as u8).collect();
        for round in 0..40usize {
            let jobs: [Option<MacJob<'_>>; MAC_BATCH] = core::array::from_fn(|l| {
                let len = (round * 37 + l * 53) % 301;
                let skip = round % 5 == 1 && l % 3 == 0 || round % 7 == 2 && l > 9;
                (!skip).then(|| (&keys[l], &data[..len], [l as u8, 0, 1, round as u8]))
            });
            let mut out = [[0xee; 20]; MAC_BATCH];
            mac_batch(&jobs, &mut out);
            for (j, o) in jobs.iter().zip(&out) {
                match j {
                    Some((k, d, t)) => assert_eq!(*o, k.mac(d, t, true), "round {round}"),
                    None => assert_eq!(*o, [0xee; 20]),
                }
            }
        }
    }

    /// Equal tags of every length up to 16 compare equal; any one bit flipped anywhere, or a
    /// length mismatch, does not.
    #[test]
    fn tags_equal_finds_every_difference() {
        let tag: Vec<u8> = (0..16u8).map(|i| i.wrapping_mul(37) ^ 0xc3).collect();
        for len in 0..=16 {
            let t = &tag[..len];
            assert!(tags_equal(t, t));
            for i in 0..len {
                for bit in 0..8 {
                    let mut other = t.to_vec();
                    other[i] ^= 1 << bit;
                    assert!(!tags_equal(t, &other), "len {len} byte {i} bit {bit}");
                }
            }
            if len > 0 {
                assert!(!tags_equal(t, &tag[..len - 1]));
                assert!(!tags_equal(&tag[..len - 1], t));
            }
        }
    }

    #[test]
    fn ivs_match_the_bytewise_definitions() {
        let salt = Salt([
            0xf0, 0xe1, 0xd2, 0xc3, 0xb4, 0xa5, 0x96, 0x87, 0x78, 0x69, 0x5a, 0x4b, 0x3c, 0x2d,
        ]);
        for (ssrc, index) in [(0u32, 0u64), (0x1234_5678, 0xabcd_ef01_2345), (u32::MAX, 7)] {
            let mut cm = [0u8; 16];
            cm[..14].copy_from_slice(&salt.0);
            for (d, x) in cm[4..8].iter_mut().zip(ssrc.to_be_bytes()) {
                *d ^= x;
            }
            for (d, x) in cm[8..14].iter_mut().zip(&index.to_be_bytes()[2..]) {
                *d ^= x;
            }
            assert_eq!(cm_iv(&salt, ssrc, index), cm);
            let mut gcm = [0u8; 12];
            gcm[2..6].copy_from_slice(&ssrc.to_be_bytes());
            gcm[6..].copy_from_slice(&index.to_be_bytes()[2..]);
            for (d, x) in gcm.iter_mut().zip(&salt.0) {
                *d ^= x;
            }
            assert_eq!(gcm_iv(&salt, ssrc, index), gcm);
        }
    }

    /// The reference composition of RFC 3711's AES-CM + HMAC-SHA1 from the RustCrypto
    /// crates: the payload after `header_len` encrypted by `ctr` over `aes`, and the HMAC
    /// (`hmac` over `sha1`) of the encrypted packet followed by `roc`.
    fn reference_protect(
        key: &[u8],
        mac_key: &[u8],
        iv: [u8; 16],
        pkt: &mut [u8],
        h: usize,
        roc: &[u8; 4],
    ) -> [u8; 20] {
        use ctr::cipher::{KeyIvInit, StreamCipher};
        match key.len() {
            16 => ctr::Ctr128BE::<aes::Aes128>::new(key.into(), &iv.into())
                .apply_keystream(&mut pkt[h..]),
            _ => ctr::Ctr128BE::<aes::Aes256>::new(key.into(), &iv.into())
                .apply_keystream(&mut pkt[h..]),
        }
        let mut m = <hmac::Hmac<sha1::Sha1> as Mac>::new_from_slice(mac_key).unwrap();
        m.update(pkt);
        m.update(roc);
        m.finalize().into_bytes().into()
    }

    /// SRTP's AES-CM + HMAC-SHA1 transform as the context composes it (`apply_keystream`
    /// on the payload, then `mac` of the packet and ROC, on this CPU's paths) against the
    /// reference composition: random keys (AES-128 and AES-256), header lengths of a plain
    /// header, CSRCs and an extension, every payload length 0..=300 then steps to 1500,
    /// counters just below a last-byte carry (which the VAES keystream leaves to the 128-bit
    /// code), and the keystream again back to the plaintext.
    #[test]
    fn cm_transform_matches_the_reference() {
        let mut rng = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let lens: Vec<usize> = (0..=300)
            .chain((301..=1500).step_by(37))
            .chain([1500])
            .collect();
        for (round, key_len) in [16usize, 32, 16, 32].into_iter().enumerate() {
            let key: Vec<u8> = (0..key_len).map(|_| next() as u8).collect();
            let mac_key: Vec<u8> = (0..20).map(|_| next() as u8).collect();
            let aes = AesEnc::new(&key).unwrap();
            let auth = HmacSha1::new(&mac_key);
            for &len in &lens {
                for h in [12usize, 12 + 4 * 3, 12 + 4 * 15 + 4 + 4 * 7] {
                    let mut iv = (u128::from(next()) << 64 | u128::from(next())).to_be_bytes();
                    // SRTP's IVs end in 16 zero bits; a third of the cases, a last byte about to carry
                    iv[14] = 0;
                    iv[15] = if (len + h + round) % 3 == 0 { 0xff } else { 0 };
                    let plain: Vec<u8> = (0..h + len).map(|_| next() as u8).collect();
                    let roc = (next() as u32).to_be_bytes();
                    let mut want = plain.clone();
                    let want_tag = reference_protect(&key, &mac_key, iv, &mut want, h, &roc);
                    let mut got = plain.clone();
                    aes.apply_keystream(iv, &mut got[h..]);
                    let tag = auth.mac(&got, &roc, true);
                    assert_eq!((&got, tag), (&want, want_tag), "len {len} header {h}");
                    aes.apply_keystream(iv, &mut got[h..]);
                    assert_eq!(got, plain, "len {len} header {h}");
                }
            }
        }
    }

    #[test]
    fn keystream_crosses_chunk_boundaries() {
        for key_len in [16usize, 24, 32] {
            let key: Vec<u8> = (0..key_len).map(|i| (i * 5 + 7) as u8).collect();
            let fast = AesEnc::new(&key).unwrap();
            let portable = AesEnc::portable(&key).unwrap();
            // an IV whose low 64 bits carry into the high ones within the packet
            let iv = (u128::from(u64::MAX - 3) | 0x0102_0304 << 96).to_be_bytes();
            for len in (0..=300).chain([511, 512, 513, 1200]) {
                let mut a: Vec<u8> = (0..len).map(|i| i as u8).collect();
                let mut b = a.clone();
                fast.apply_keystream(iv, &mut a);
                portable.apply_keystream(iv, &mut b);
                assert_eq!(a, b, "AES-{} len {len}", key_len * 8);
            }
            // block i of the keystream equals AES(iv + i) computed one block at a time
            let mut whole = vec![0u8; 300];
            fast.apply_keystream(iv, &mut whole);
            for (ctr, chunk) in (u128::from_be_bytes(iv)..).zip(whole.chunks(16)) {
                let mut b = [aes::Block::from(ctr.to_be_bytes())];
                portable.encrypt_blocks(&mut b);
                assert_eq!(chunk, &b[0][..chunk.len()]);
            }
        }
    }
}
