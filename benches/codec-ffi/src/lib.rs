//! Bench-only safe wrappers over the C reference codecs: libopus (encoder and decoder) and
//! spandsp (G.711, G.722). Each wrapper owns its C state and frees it on drop; buffers are
//! checked before every call so the C code never reads or writes out of bounds.

use std::ffi::c_int;
use std::os::raw::c_void;

#[link(name = "opus")]
unsafe extern "C" {
    fn opus_encoder_create(
        fs: i32,
        channels: c_int,
        application: c_int,
        error: *mut c_int,
    ) -> *mut c_void;
    fn opus_encoder_destroy(st: *mut c_void);
    fn opus_encoder_ctl(st: *mut c_void, request: c_int, ...) -> c_int;
    fn opus_encode(
        st: *mut c_void,
        pcm: *const i16,
        frame_size: c_int,
        data: *mut u8,
        max: i32,
    ) -> i32;
    fn opus_decoder_create(fs: i32, channels: c_int, error: *mut c_int) -> *mut c_void;
    fn opus_decoder_destroy(st: *mut c_void);
    fn opus_decode(
        st: *mut c_void,
        data: *const u8,
        len: i32,
        pcm: *mut i16,
        frame_size: c_int,
        fec: c_int,
    ) -> c_int;
}

#[link(name = "spandsp")]
unsafe extern "C" {
    fn g711_init(s: *mut c_void, mode: c_int) -> *mut c_void;
    fn g711_free(s: *mut c_void) -> c_int;
    fn g711_encode(s: *mut c_void, g711: *mut u8, amp: *const i16, len: c_int) -> c_int;
    fn g711_decode(s: *mut c_void, amp: *mut i16, g711: *const u8, len: c_int) -> c_int;
    fn g722_encode_init(s: *mut c_void, rate: c_int, options: c_int) -> *mut c_void;
    fn g722_encode_free(s: *mut c_void) -> c_int;
    fn g722_encode(s: *mut c_void, g722: *mut u8, amp: *const i16, len: c_int) -> c_int;
    fn g722_decode_init(s: *mut c_void, rate: c_int, options: c_int) -> *mut c_void;
    fn g722_decode_free(s: *mut c_void) -> c_int;
    fn g722_decode(s: *mut c_void, amp: *mut i16, g722: *const u8, len: c_int) -> c_int;
}

const OPUS_APPLICATION_VOIP: c_int = 2048;
const OPUS_SET_BITRATE_REQUEST: c_int = 4002;
const OPUS_SET_COMPLEXITY_REQUEST: c_int = 4010;

/// A libopus encoder (OPUS_APPLICATION_VOIP).
pub struct LibOpusEncoder {
    st: *mut c_void,
    channels: usize,
}

impl LibOpusEncoder {
    /// Creates an encoder; `None` if libopus refuses the parameters.
    pub fn new(rate: i32, channels: usize, bitrate: i32, complexity: i32) -> Option<Self> {
        let mut err: c_int = 0;
        // SAFETY: plain constructor; `err` is a valid out-pointer.
        let st = unsafe {
            opus_encoder_create(rate, channels as c_int, OPUS_APPLICATION_VOIP, &mut err)
        };
        if st.is_null() || err != 0 {
            return None;
        }
        // SAFETY: `st` is a live encoder; both requests take one opus_int32 argument.
        unsafe {
            opus_encoder_ctl(st, OPUS_SET_BITRATE_REQUEST, bitrate);
            opus_encoder_ctl(st, OPUS_SET_COMPLEXITY_REQUEST, complexity);
        }
        Some(Self { st, channels })
    }

    /// Encodes one frame of `pcm.len() / channels` samples per channel; returns the packet
    /// length or a negative libopus error.
    pub fn encode(&mut self, pcm: &[i16], out: &mut [u8]) -> i32 {
        let frame = (pcm.len() / self.channels) as c_int;
        // SAFETY: `pcm` holds frame * channels samples, `out` is writable for its length.
        unsafe {
            opus_encode(
                self.st,
                pcm.as_ptr(),
                frame,
                out.as_mut_ptr(),
                out.len() as i32,
            )
        }
    }
}

impl Drop for LibOpusEncoder {
    fn drop(&mut self) {
        // SAFETY: created by opus_encoder_create, destroyed once.
        unsafe { opus_encoder_destroy(self.st) }
    }
}

/// A libopus decoder.
pub struct LibOpusDecoder {
    st: *mut c_void,
    channels: usize,
}

impl LibOpusDecoder {
    /// Creates a decoder; `None` if libopus refuses the parameters.
    pub fn new(rate: i32, channels: usize) -> Option<Self> {
        let mut err: c_int = 0;
        // SAFETY: plain constructor; `err` is a valid out-pointer.
        let st = unsafe { opus_decoder_create(rate, channels as c_int, &mut err) };
        if st.is_null() || err != 0 {
            return None;
        }
        Some(Self { st, channels })
    }

    /// Decodes one packet into `out`; returns samples per channel or a negative error.
    pub fn decode(&mut self, packet: &[u8], out: &mut [i16]) -> i32 {
        let frame = (out.len() / self.channels) as c_int;
        // SAFETY: `packet` readable for its length, `out` holds frame * channels samples.
        unsafe {
            opus_decode(
                self.st,
                packet.as_ptr(),
                packet.len() as i32,
                out.as_mut_ptr(),
                frame,
                0,
            )
        }
    }
}

impl Drop for LibOpusDecoder {
    fn drop(&mut self) {
        // SAFETY: created by opus_decoder_create, destroyed once.
        unsafe { opus_decoder_destroy(self.st) }
    }
}

/// spandsp's G.711 codec (one law).
pub struct SpanG711 {
    st: *mut c_void,
}

impl SpanG711 {
    /// `ulaw` = true for µ-law, false for A-law.
    pub fn new(ulaw: bool) -> Self {
        // SAFETY: NULL asks spandsp to allocate the state.
        let st = unsafe { g711_init(std::ptr::null_mut(), c_int::from(ulaw)) };
        assert!(!st.is_null(), "g711_init failed");
        Self { st }
    }

    /// Encodes `min(pcm, out)` samples.
    pub fn encode(&mut self, pcm: &[i16], out: &mut [u8]) -> i32 {
        let n = pcm.len().min(out.len()) as c_int;
        // SAFETY: both buffers hold at least n elements.
        unsafe { g711_encode(self.st, out.as_mut_ptr(), pcm.as_ptr(), n) }
    }

    /// Decodes `min(codes, out)` codes.
    pub fn decode(&mut self, codes: &[u8], out: &mut [i16]) -> i32 {
        let n = codes.len().min(out.len()) as c_int;
        // SAFETY: both buffers hold at least n elements.
        unsafe { g711_decode(self.st, out.as_mut_ptr(), codes.as_ptr(), n) }
    }
}

impl Drop for SpanG711 {
    fn drop(&mut self) {
        // SAFETY: allocated by g711_init, freed once.
        unsafe { g711_free(self.st) };
    }
}

/// spandsp's G.722 64 kbit/s encoder and decoder.
pub struct SpanG722 {
    enc: *mut c_void,
    dec: *mut c_void,
}

impl Default for SpanG722 {
    fn default() -> Self {
        Self::new()
    }
}

impl SpanG722 {
    /// Fresh encoder and decoder states.
    pub fn new() -> Self {
        // SAFETY: NULL asks spandsp to allocate the states.
        let (enc, dec) = unsafe {
            (
                g722_encode_init(std::ptr::null_mut(), 64000, 0),
                g722_decode_init(std::ptr::null_mut(), 64000, 0),
            )
        };
        assert!(!enc.is_null() && !dec.is_null(), "g722 init failed");
        Self { enc, dec }
    }

    /// Encodes `pcm` (16 kHz) into `out`, which must hold `pcm.len() / 2` bytes.
    pub fn encode(&mut self, pcm: &[i16], out: &mut [u8]) -> i32 {
        assert!(out.len() >= pcm.len().div_ceil(2));
        // SAFETY: `out` holds one byte per two input samples (checked above).
        unsafe { g722_encode(self.enc, out.as_mut_ptr(), pcm.as_ptr(), pcm.len() as c_int) }
    }

    /// Decodes `codes` into `out`, which must hold `2 * codes.len()` samples.
    pub fn decode(&mut self, codes: &[u8], out: &mut [i16]) -> i32 {
        assert!(out.len() >= 2 * codes.len());
        // SAFETY: `out` holds two samples per code (checked above).
        unsafe {
            g722_decode(
                self.dec,
                out.as_mut_ptr(),
                codes.as_ptr(),
                codes.len() as c_int,
            )
        }
    }
}

impl Drop for SpanG722 {
    fn drop(&mut self) {
        // SAFETY: allocated by the init functions, freed once.
        unsafe {
            g722_encode_free(self.enc);
            g722_decode_free(self.dec);
        }
    }
}
