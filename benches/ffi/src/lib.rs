//! Minimal libsrtp2 bindings for the SRTP benches (`telox-benches`, feature `libsrtp`): one
//! sender and one receiver session with an `ssrc_any_*` policy, protect and unprotect in
//! place. Without the `libsrtp` feature this crate is empty.
//!
//! Only what the bench needs is bound; the struct layouts follow `srtp2/srtp.h` of libsrtp
//! 2.5 (Debian 12), which the build links against.

#![warn(missing_docs)]

#[cfg(feature = "libsrtp")]
mod sys {
    use std::ffi::{c_int, c_uint, c_void};

    /// `srtp_crypto_policy_t`
    #[repr(C)]
    #[derive(Clone, Copy)]
    pub(crate) struct CryptoPolicy {
        pub cipher_type: u32,
        pub cipher_key_len: c_int,
        pub auth_type: u32,
        pub auth_key_len: c_int,
        pub auth_tag_len: c_int,
        pub sec_serv: c_int,
    }

    /// `srtp_ssrc_t`
    #[repr(C)]
    #[derive(Clone, Copy)]
    pub(crate) struct SsrcSel {
        pub kind: c_int,
        pub value: c_uint,
    }

    /// `srtp_policy_t` (libsrtp 2.x)
    #[repr(C)]
    pub(crate) struct Policy {
        pub ssrc: SsrcSel,
        pub rtp: CryptoPolicy,
        pub rtcp: CryptoPolicy,
        pub key: *mut u8,
        pub keys: *mut c_void,
        pub num_master_keys: usize,
        pub deprecated_ekt: *mut c_void,
        pub window_size: usize,
        pub allow_repeat_tx: c_int,
        pub enc_xtn_hdr: *mut c_int,
        pub enc_xtn_hdr_count: c_int,
        pub next: *mut Policy,
    }

    pub(crate) const SSRC_ANY_INBOUND: c_int = 2;
    pub(crate) const SSRC_ANY_OUTBOUND: c_int = 3;

    unsafe extern "C" {
        pub(crate) fn srtp_init() -> c_int;
        pub(crate) fn srtp_create(session: *mut *mut c_void, policy: *const Policy) -> c_int;
        pub(crate) fn srtp_dealloc(session: *mut c_void) -> c_int;
        pub(crate) fn srtp_protect(ctx: *mut c_void, rtp: *mut c_void, len: *mut c_int) -> c_int;
        pub(crate) fn srtp_unprotect(ctx: *mut c_void, srtp: *mut c_void, len: *mut c_int)
        -> c_int;
        pub(crate) fn srtp_crypto_policy_set_rtp_default(p: *mut CryptoPolicy);
        pub(crate) fn srtp_crypto_policy_set_aes_gcm_128_16_auth(p: *mut CryptoPolicy);
    }
}

/// The two profiles the bench compares.
#[derive(Clone, Copy, Debug)]
pub enum Profile {
    /// AES_CM_128_HMAC_SHA1_80 (30-byte key + salt)
    AesCm128HmacSha1_80,
    /// AEAD_AES_128_GCM (28-byte key + salt)
    AeadAes128Gcm,
}

/// A libsrtp2 session (one direction). Only available with the `libsrtp` feature.
#[cfg(feature = "libsrtp")]
pub struct Session {
    ctx: *mut std::ffi::c_void,
}

#[cfg(feature = "libsrtp")]
impl Session {
    /// Creates an outbound (`inbound = false`) or inbound session for `key_salt`.
    ///
    /// # Errors
    /// The libsrtp error code when `srtp_init` or `srtp_create` fails.
    pub fn new(profile: Profile, key_salt: &[u8], inbound: bool) -> Result<Self, i32> {
        use sys::*;
        let mut key = key_salt.to_vec();
        key.resize(64, 0);
        let mut cp = CryptoPolicy {
            cipher_type: 0,
            cipher_key_len: 0,
            auth_type: 0,
            auth_key_len: 0,
            auth_tag_len: 0,
            sec_serv: 0,
        };
        // SAFETY: libsrtp fills the plain-data policy struct it is given.
        unsafe {
            match profile {
                Profile::AesCm128HmacSha1_80 => srtp_crypto_policy_set_rtp_default(&mut cp),
                Profile::AeadAes128Gcm => srtp_crypto_policy_set_aes_gcm_128_16_auth(&mut cp),
            }
        }
        let policy = Policy {
            ssrc: SsrcSel {
                kind: if inbound {
                    SSRC_ANY_INBOUND
                } else {
                    SSRC_ANY_OUTBOUND
                },
                value: 0,
            },
            rtp: cp,
            rtcp: cp,
            key: key.as_mut_ptr(),
            keys: std::ptr::null_mut(),
            num_master_keys: 0,
            deprecated_ekt: std::ptr::null_mut(),
            window_size: 128,
            allow_repeat_tx: 0,
            enc_xtn_hdr: std::ptr::null_mut(),
            enc_xtn_hdr_count: 0,
            next: std::ptr::null_mut(),
        };
        let mut ctx = std::ptr::null_mut();
        // SAFETY: the policy and key outlive the call; libsrtp copies the key material.
        // libsrtp must be initialised once per process (a second srtp_init re-runs the
        // self-tests and fails under the NSS backend)
        static INIT: std::sync::OnceLock<i32> = std::sync::OnceLock::new();
        // SAFETY: no arguments; called once.
        let init = *INIT.get_or_init(|| unsafe { srtp_init() });
        if init != 0 {
            return Err(init);
        }
        // SAFETY: the policy and key outlive the call; libsrtp copies the key material.
        let rc = unsafe { srtp_create(&mut ctx, &policy) };
        if rc != 0 {
            return Err(rc);
        }
        Ok(Self { ctx })
    }

    /// Protects `buf[..len]` in place; `buf` needs room for the trailer. Returns the new
    /// length.
    ///
    /// # Errors
    /// The libsrtp error code.
    pub fn protect(&mut self, buf: &mut [u8], len: usize) -> Result<usize, i32> {
        // libsrtp writes at most SRTP_MAX_TRAILER_LEN (144) bytes past len
        if buf.len() < len + 144 {
            return Err(-1);
        }
        let mut n = len as std::ffi::c_int;
        // SAFETY: buf has room for len + the maximum trailer, checked above.
        let rc = unsafe { sys::srtp_protect(self.ctx, buf.as_mut_ptr().cast(), &mut n) };
        if rc == 0 { Ok(n as usize) } else { Err(rc) }
    }

    /// Unprotects `buf` in place. Returns the RTP length.
    ///
    /// # Errors
    /// The libsrtp error code.
    pub fn unprotect(&mut self, buf: &mut [u8]) -> Result<usize, i32> {
        let mut n = buf.len() as std::ffi::c_int;
        // SAFETY: libsrtp reads and writes within buf[..n].
        let rc = unsafe { sys::srtp_unprotect(self.ctx, buf.as_mut_ptr().cast(), &mut n) };
        if rc == 0 { Ok(n as usize) } else { Err(rc) }
    }
}

#[cfg(feature = "libsrtp")]
impl Drop for Session {
    fn drop(&mut self) {
        // SAFETY: ctx came from srtp_create and is freed once.
        unsafe {
            sys::srtp_dealloc(self.ctx);
        }
    }
}
