//! One SRTP/SRTCP cryptographic context: a master key, its session keys and the per-SSRC
//! stream state (ROC, replay windows, SRTCP index).

use std::collections::HashMap;
use std::collections::hash_map::{Entry, VacantEntry};
use std::hash::{BuildHasherDefault, Hasher};

use rtp::Ssrc;

use crate::crypto::{
    AesEnc, HmacSha1, Labels, MAC_BATCH, Salt, SessionCrypto, cm_iv, gcm_iv, mac_batch, tags_equal,
};
use crate::error::{KeyError, SrtpError};
use crate::key::{MAX_RTCP_PACKETS, MAX_RTP_PACKETS, MasterKey, SrtpConfig, UnknownSsrcPolicy};
use crate::profile::ProtectionProfile;
use crate::replay::ReplayWindow;
use crate::wire::{self, RTCP_HEADER_LEN, RTP_HEADER_LEN};

/// An SRTP tag still to compute (see `SrtpContext::protect_rtp_batch`): a copy of the
/// stream's prepared HMAC key (wiped on drop), the ROC to append, and where the tag goes.
struct DeferredMac {
    auth: HmacSha1,
    roc: [u8; 4],
    tag_at: usize,
    tag_len: usize,
}

/// An AES-CM packet of `unprotect_rtp_batch` checked up to its tag, which is computed with
/// the group's others; the stream and key are left as they were until it is.
struct DeferredCheck {
    auth: HmacSha1,
    roc: [u8; 4],
    ssrc: u32,
    index: u64,
    /// The master key's position in `keys`.
    key: usize,
    header_len: usize,
    body_len: usize,
    tag_at: usize,
    tag_len: usize,
}

/// An SRTP/SRTCP context for one master key (RFC 3711 §3.2): protects outgoing and
/// unprotects incoming RTP and RTCP in place.
///
/// Use one context per direction and key, as SDES and DTLS-SRTP hand out one master key per
/// direction: `protect_*` keeps sender state (ROC, SRTCP index) per SSRC, `unprotect_*`
/// keeps receiver state (ROC estimate, replay windows) per SSRC, and the two never mix.
///
/// The session keys, AES key schedules, HMAC inner/outer states and GCM hash keys are
/// derived once in [`new`](Self::new) (and again only every `key_derivation_rate` packets
/// when that is set): a packet costs its cipher and MAC work, no allocation. All key
/// material is zeroized on drop.
///
/// Errors never leave a stream changed: the ROC, the replay window and the packet counters
/// move only for packets that were protected or authenticated.
pub struct SrtpContext {
    profile: ProtectionProfile,
    config: SrtpConfig,
    /// The master keys (RFC 3711 §8.1: several, told apart by their MKI); never empty.
    keys: Vec<KeySlot>,
    /// Position in `keys` of the key `protect_*` uses.
    send_key: usize,
    /// Id for the next key added, so that cached re-derived session keys are never used
    /// under another master key.
    next_key_id: u64,
    tx: StreamMap<TxStream>,
    rx: StreamMap<RxStream>,
}

/// One master key with its prepared session keys and its own packet counters (the RFC 3711
/// §9.2 lifetime is per master key).
struct KeySlot {
    id: u64,
    mki: Vec<u8>,
    /// AES keyed with the master key, for re-derivation when a key derivation rate is set.
    prf: AesEnc,
    master_salt: Salt,
    /// log2 of the key derivation rate; None for rate 0.
    kdr_shift: Option<u32>,
    rtp: SessionCrypto,
    rtcp: SessionCrypto,
    rtp_count: u64,
    rtcp_count: u64,
}

impl KeySlot {
    fn new(
        profile: ProtectionProfile,
        master: &MasterKey,
        kdr_shift: Option<u32>,
        id: u64,
    ) -> Result<Self, KeyError> {
        check_key(profile, master)?;
        let (prf, master_salt) = prf_of(master)?;
        let rtp = SessionCrypto::derive(profile, &prf, &master_salt.0, Labels::Rtp, 0);
        let rtcp = SessionCrypto::derive(profile, &prf, &master_salt.0, Labels::Rtcp, 0);
        Ok(Self {
            id,
            mki: master.mki().to_vec(),
            prf,
            master_salt,
            kdr_shift,
            rtp,
            rtcp,
            rtp_count: 0,
            rtcp_count: 0,
        })
    }

    /// The session keys of `labels` for packet `index` (RFC 3711 §4.3.1: r = index DIV
    /// key_derivation_rate): the prepared ones for r = 0, else the stream's cache, re-derived
    /// when the epoch or the master key changed.
    ///
    /// Inlined into the per-packet paths: without a key derivation rate (the usual case) it
    /// is one test; the re-derivation is out of line.
    #[inline]
    fn session<'a>(
        &'a self,
        profile: ProtectionProfile,
        labels: Labels,
        index: u64,
        cache: &'a mut Option<CachedKeys>,
    ) -> &'a SessionCrypto {
        let base = match labels {
            Labels::Rtp => &self.rtp,
            Labels::Rtcp => &self.rtcp,
        };
        match self.kdr_shift.map_or(0, |s| index >> s) {
            0 => base,
            r => self.rederived((profile, labels), r, cache),
        }
    }

    /// The session keys of epoch `r` > 0: the stream's cache, re-derived when the epoch or
    /// the master key changed.
    #[cold]
    #[inline(never)]
    fn rederived<'a>(
        &self,
        (profile, labels): (ProtectionProfile, Labels),
        r: u64,
        cache: &'a mut Option<CachedKeys>,
    ) -> &'a SessionCrypto {
        if cache
            .as_ref()
            .is_some_and(|c| c.key_id != self.id || c.r != r)
        {
            *cache = None;
        }
        &cache
            .get_or_insert_with(|| CachedKeys {
                key_id: self.id,
                r,
                keys: SessionCrypto::derive(profile, &self.prf, &self.master_salt.0, labels, r),
            })
            .keys
    }
}

/// Session keys re-derived for epoch `r` of master key `key_id`.
struct CachedKeys {
    key_id: u64,
    r: u64,
    keys: SessionCrypto,
}

impl SrtpContext {
    /// Builds the context: derives the session keys and prepares the ciphers.
    ///
    /// # Errors
    /// [`KeyError`] when the key or salt length does not fit `profile`, or the replay window
    /// or key derivation rate is out of range.
    pub fn new(
        profile: ProtectionProfile,
        master: &MasterKey,
        config: SrtpConfig,
    ) -> Result<Self, KeyError> {
        if !(64..=32768).contains(&config.replay_window) {
            return Err(KeyError::BadReplayWindow(config.replay_window));
        }
        let kdr_shift = kdr_shift(config.key_derivation_rate)?;
        let slot = KeySlot::new(profile, master, kdr_shift, 0)?;
        Ok(Self {
            profile,
            config,
            keys: vec![slot],
            send_key: 0,
            next_key_id: 1,
            tx: StreamMap::default(),
            rx: StreamMap::default(),
        })
    }

    /// Replaces the master key (re-keying, RFC 3711 §3.3.1), all of them when several were
    /// added: new session keys, packet counters restart, while every stream keeps its ROC,
    /// sequence state, replay windows and SRTCP index.
    ///
    /// # Errors
    /// [`KeyError`] when the key does not fit the context's profile; the context is unchanged.
    pub fn rekey(&mut self, master: &MasterKey) -> Result<(), KeyError> {
        let slot = self.new_slot(master)?;
        self.keys = vec![slot];
        self.send_key = 0;
        Ok(())
    }

    /// Adds a master key to the context's set (RFC 3711 §8.1: the MKI tells the receiver
    /// which master key protected a packet). Received packets are unprotected with the key
    /// their MKI names; [`select_master_key`](Self::select_master_key) chooses the key for
    /// sending, which stays as it is here.
    ///
    /// Every key of a set carries an MKI of one length (RFC 3711 §3.1: the MKI length is
    /// fixed for the context) and no two keys share an MKI.
    ///
    /// # Errors
    /// [`KeyError::MkiRequired`] when this key or the context's keys have no MKI,
    /// [`KeyError::MkiLengthMismatch`], [`KeyError::DuplicateMki`], or a key that does not
    /// fit the profile; the context is unchanged.
    pub fn add_master_key(&mut self, master: &MasterKey) -> Result<(), KeyError> {
        let mki_len = self.mki_len();
        if mki_len == 0 || master.mki().is_empty() {
            return Err(KeyError::MkiRequired);
        }
        if master.mki().len() != mki_len {
            return Err(KeyError::MkiLengthMismatch {
                expected: mki_len,
                got: master.mki().len(),
            });
        }
        if self.key_position(master.mki()).is_some() {
            return Err(KeyError::DuplicateMki);
        }
        let slot = self.new_slot(master)?;
        self.keys.push(slot);
        Ok(())
    }

    /// Chooses the master key, by its MKI, that `protect_rtp` and `protect_rtcp` use from
    /// now on (e.g. switching to a freshly added key before the old one's lifetime ends).
    ///
    /// # Errors
    /// [`KeyError::UnknownMki`] when no key of the context has this MKI.
    pub fn select_master_key(&mut self, mki: &[u8]) -> Result<(), KeyError> {
        self.send_key = self.key_position(mki).ok_or(KeyError::UnknownMki)?;
        Ok(())
    }

    /// Removes the master key with this MKI: packets naming it are refused from now on
    /// with [`SrtpError::MkiMismatch`].
    ///
    /// # Errors
    /// [`KeyError::UnknownMki`] when no key has this MKI, [`KeyError::KeyInUse`] for the
    /// key selected for sending (select another one first).
    pub fn remove_master_key(&mut self, mki: &[u8]) -> Result<(), KeyError> {
        let at = self.key_position(mki).ok_or(KeyError::UnknownMki)?;
        if at == self.send_key {
            return Err(KeyError::KeyInUse);
        }
        self.keys.remove(at);
        if at < self.send_key {
            self.send_key -= 1;
        }
        Ok(())
    }

    /// The MKI of the master key used for sending (empty when the context uses none).
    pub fn send_mki(&self) -> &[u8] {
        self.keys.get(self.send_key).map_or(&[], |k| &k.mki)
    }

    /// The MKIs of all master keys of the context, in the order they were added.
    pub fn mkis(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.keys.iter().map(|k| &k.mki[..])
    }

    fn new_slot(&mut self, master: &MasterKey) -> Result<KeySlot, KeyError> {
        let kdr_shift = kdr_shift(self.config.key_derivation_rate)?;
        let slot = KeySlot::new(self.profile, master, kdr_shift, self.next_key_id)?;
        self.next_key_id += 1;
        Ok(slot)
    }

    fn key_position(&self, mki: &[u8]) -> Option<usize> {
        self.keys.iter().position(|k| k.mki == mki)
    }

    fn mki_len(&self) -> usize {
        self.keys.first().map_or(0, |k| k.mki.len())
    }

    /// The context's protection profile.
    pub fn profile(&self) -> ProtectionProfile {
        self.profile
    }

    /// Bytes `protect_rtp` appends: MKI plus authentication tag.
    pub fn rtp_overhead(&self) -> usize {
        self.profile.rtp_tag_len() + self.mki_len()
    }

    /// Bytes `protect_rtcp` appends: SRTCP index, MKI and authentication tag.
    pub fn rtcp_overhead(&self) -> usize {
        4 + self.profile.rtcp_tag_len() + self.mki_len()
    }

    /// Protects the RTP packet `buf[..len]` in place (RFC 3711 §3.3, RFC 7714 §8): encrypts
    /// the payload and appends the MKI and tag. Returns the SRTP packet length, `buf[..n]`.
    ///
    /// `buf` must have [`rtp_overhead`](Self::rtp_overhead) spare bytes after `len`.
    ///
    /// The sender never uses a packet index twice for an SSRC (RFC 3711 §9.1: a repeated
    /// index under one key repeats the keystream): it remembers the indexes it protected in a
    /// window of [`SrtpConfig::replay_window`] packets and refuses a repeated one, or one too
    /// far behind the highest to be checked, with [`SrtpError::IndexReuse`].
    ///
    /// # Errors
    /// `LengthOutOfBounds`/`BufferTooSmall` (misuse), `TooShort`/`BadVersion` for a malformed
    /// RTP header, `TooManyStreams`, `UnknownSsrc` under [`UnknownSsrcPolicy::Reject`],
    /// `IndexReuse`, and `KeyLifetimeExceeded` after 2^48 packets of the master key (or the
    /// configured limit) or at the end of the 48-bit index space. On an error `buf` and the
    /// stream are unchanged.
    pub fn protect_rtp(&mut self, buf: &mut [u8], len: usize) -> Result<usize, SrtpError> {
        self.protect_rtp_with(buf, len, None)
    }

    /// Protects a batch of RTP packets in groups of 16, `packets[i]` being the `(buf, len)` of
    /// [`protect_rtp`](Self::protect_rtp) and `results[i]` what it would have returned; the
    /// packets are protected in order, as by `protect_rtp` one after the other, and only the
    /// first `results.len()` are.
    ///
    /// Same output as `protect_rtp`, faster per packet for the AES-CM/HMAC-SHA1 profiles on
    /// CPUs with AVX-512: the HMAC-SHA1 of up to 16 packets (of any streams) is computed side
    /// by side in 512-bit registers. Meant for a sender of many streams (a PBX relaying calls)
    /// that has several packets ready at once: it buys throughput, not latency (every packet
    /// of a group waits for the group). GCM packets take the ordinary path; on other CPUs the
    /// tags are computed one by one, as by `protect_rtp`.
    pub fn protect_rtp_batch(
        &mut self,
        packets: &mut [(&mut [u8], usize)],
        results: &mut [Result<usize, SrtpError>],
    ) {
        for (group, res) in packets
            .chunks_mut(MAC_BATCH)
            .zip(results.chunks_mut(MAC_BATCH))
        {
            let mut deferred: [Option<DeferredMac>; MAC_BATCH] = Default::default();
            for ((buf, len), (r, d)) in group.iter_mut().zip(res.iter_mut().zip(&mut deferred)) {
                *r = self.protect_rtp_with(buf, *len, Some(d));
            }
            let jobs = core::array::from_fn(|i| {
                let (Some(d), Some((buf, len))) = (&deferred[i], group.get(i)) else {
                    return None;
                };
                Some((&d.auth, buf.get(..*len)?, d.roc))
            });
            let mut tags = [[0u8; 20]; MAC_BATCH];
            mac_batch(&jobs, &mut tags);
            for ((buf, _), (d, tag)) in group.iter_mut().zip(deferred.iter().zip(&tags)) {
                if let Some(d) = d
                    && let Some(dst) = buf.get_mut(d.tag_at..d.tag_at + d.tag_len)
                {
                    dst.copy_from_slice(&tag[..d.tag_len]);
                }
            }
        }
    }

    /// `protect_rtp`, with the HMAC left to the caller through `defer` if given (AES-CM
    /// profiles; the rest of the packet, the stream and the counters are done).
    fn protect_rtp_with(
        &mut self,
        buf: &mut [u8],
        len: usize,
        defer: Option<&mut Option<DeferredMac>>,
    ) -> Result<usize, SrtpError> {
        let Some(pkt) = buf.get(..len) else {
            return Err(SrtpError::LengthOutOfBounds {
                len,
                buf: buf.len(),
            });
        };
        let f = wire::rtp_fields(pkt)?;
        let tag_len = self.profile.rtp_tag_len();
        let key = self
            .keys
            .get_mut(self.send_key)
            .ok_or(SrtpError::KeyLifetimeExceeded)?;
        let mki_len = key.mki.len();
        let out_len = len + tag_len + mki_len;
        if out_len > buf.len() {
            return Err(SrtpError::BufferTooSmall {
                need: out_len,
                have: buf.len(),
            });
        }
        if key.rtp_count >= self.config.max_rtp_packets.min(MAX_RTP_PACKETS) {
            return Err(SrtpError::KeyLifetimeExceeded);
        }
        let stream = tx_stream(&mut self.tx, &self.config, f.ssrc)?;
        let index = match (stream.roc, stream.sent.top()) {
            (Some(roc), _) => u64::from(roc) << 16 | u64::from(f.seq),
            // a sender never goes below ROC 0: a "negative" estimate is a jump back
            (None, Some(h)) => estimate(h, f.seq).unwrap_or(u64::from(f.seq)),
            (None, None) => u64::from(f.seq),
        };
        if index >= MAX_RTP_PACKETS {
            return Err(SrtpError::KeyLifetimeExceeded);
        }
        stream
            .sent
            .check(index)
            .map_err(|_| SrtpError::IndexReuse { index })?;
        match key.session(self.profile, Labels::Rtp, index, &mut stream.rtp_keys) {
            SessionCrypto::Cm { aes, auth, salt } => {
                aes.apply_keystream(cm_iv(salt, f.ssrc, index), &mut buf[f.header_len..len]);
                copy_mki(&mut buf[len..len + mki_len], &key.mki);
                // RFC 3711 §4.2: "M = Authenticated Portion || ROC"
                let roc = ((index >> 16) as u32).to_be_bytes();
                match defer {
                    Some(slot) => {
                        *slot = Some(DeferredMac {
                            auth: auth.clone(),
                            roc,
                            tag_at: len + mki_len,
                            tag_len,
                        });
                    }
                    None => {
                        let tag = auth.mac(&buf[..len], &roc, true);
                        buf[len + mki_len..out_len].copy_from_slice(&tag[..tag_len]);
                    }
                }
            }
            SessionCrypto::Gcm { aead, salt } => {
                let have = buf.len();
                let (head, rest) = buf.split_at_mut(f.header_len);
                let (body, trailer) = rest.split_at_mut(len - f.header_len);
                // (16 bytes of room: `out_len` was checked above)
                let Some(tag) = trailer.first_chunk_mut::<16>() else {
                    return Err(SrtpError::BufferTooSmall {
                        need: out_len,
                        have,
                    });
                };
                // RFC 7714 §8.2: the AAD is the RTP header, CSRCs and extension included;
                // the tag is written in place
                aead.seal_into(&gcm_iv(salt, f.ssrc, index), head, body, tag);
                copy_mki(&mut buf[len + 16..out_len], &key.mki);
            }
        }
        stream.sent.accept(index);
        stream.roc = None;
        key.rtp_count += 1;
        Ok(out_len)
    }

    /// Unprotects the SRTP packet `buf` in place (RFC 3711 §3.3, RFC 7714 §8): checks replay,
    /// MKI and tag, decrypts, and returns the RTP packet length, `buf[..n]`.
    ///
    /// The MKI, when the context uses one, selects the master key (RFC 3711 §8.1). The
    /// replay window is consulted before any cryptographic work, and the ROC, the window
    /// and the packet counter move only when the tag matched. Reordering across a sequence
    /// number wrap is handled by the RFC 3711 Appendix A index estimate.
    ///
    /// # Errors
    /// `TooShort`/`BadVersion`, `MkiMismatch`, `Replay`, `TooOld`, `UnknownSsrc`,
    /// `TooManyStreams`, `AuthFailed`, `KeyLifetimeExceeded`. On an error the content of
    /// `buf` is unspecified (it may have been decrypted only if it authenticated, which it
    /// did not).
    pub fn unprotect_rtp(&mut self, buf: &mut [u8]) -> Result<usize, SrtpError> {
        self.unprotect_rtp_with(buf, None)
    }

    /// Unprotects a batch of SRTP packets, `packets[i]` being the buffer of
    /// [`unprotect_rtp`](Self::unprotect_rtp) and `results[i]` what it would have returned;
    /// the packets are taken in order, as by `unprotect_rtp` one after the other, and only
    /// the first `results.len()` are.
    ///
    /// Same results as `unprotect_rtp`, faster per packet for the AES-CM/HMAC-SHA1 profiles on
    /// CPUs with AVX-512: the HMAC-SHA1 of up to 16 packets of different known streams is
    /// computed side by side (as in [`protect_rtp_batch`](Self::protect_rtp_batch)), then
    /// each packet whose tag matched is decrypted and moves its stream. A packet that could
    /// depend on one still waiting in the group (the same SSRC, a new stream, the key's
    /// packet limit in reach) first has the group finished. GCM packets take the ordinary
    /// path.
    pub fn unprotect_rtp_batch(
        &mut self,
        packets: &mut [&mut [u8]],
        results: &mut [Result<usize, SrtpError>],
    ) {
        let mut pending: Vec<(usize, DeferredCheck)> = Vec::with_capacity(MAC_BATCH);
        let limit = self.config.max_rtp_packets.min(MAX_RTP_PACKETS);
        for i in 0..packets.len().min(results.len()) {
            let ssrc = wire::rtp_fields(&packets[i][..]).map(|f| f.ssrc).ok();
            let waits = pending.len() as u64;
            let flush = pending.len() == MAC_BATCH
                || ssrc.is_none_or(|x| {
                    !self.rx.contains_key(&x) || pending.iter().any(|(_, d)| d.ssrc == x)
                })
                || self.keys.iter().any(|k| k.rtp_count + waits >= limit);
            if flush {
                self.finish_checks(&mut pending, packets, results);
            }
            let mut slot = None;
            results[i] = self.unprotect_rtp_with(packets[i], Some(&mut slot));
            if let Some(d) = slot {
                pending.push((i, d));
            }
        }
        self.finish_checks(&mut pending, packets, results);
    }

    /// The tags of the deferred packets, side by side; each that matches is decrypted and
    /// accepted, in order, the others refused with `AuthFailed`.
    fn finish_checks(
        &mut self,
        pending: &mut Vec<(usize, DeferredCheck)>,
        packets: &mut [&mut [u8]],
        results: &mut [Result<usize, SrtpError>],
    ) {
        if pending.is_empty() {
            return;
        }
        let jobs = core::array::from_fn(|k| {
            let (i, d) = pending.get(k)?;
            Some((&d.auth, packets.get(*i)?.get(..d.body_len)?, d.roc))
        });
        let mut tags = [[0u8; 20]; MAC_BATCH];
        mac_batch(&jobs, &mut tags);
        for ((i, d), tag) in pending.drain(..).zip(&tags) {
            let (Some(buf), Some(res)) = (packets.get_mut(i), results.get_mut(i)) else {
                continue;
            };
            let received = buf.get(d.tag_at..d.tag_at + d.tag_len).unwrap_or_default();
            let (Some(key), Some(stream), true) = (
                self.keys.get_mut(d.key),
                self.rx.get_mut(&d.ssrc),
                tags_equal(&tag[..d.tag_len], received),
            ) else {
                *res = Err(SrtpError::AuthFailed);
                continue;
            };
            let SessionCrypto::Cm { aes, salt, .. } =
                key.session(self.profile, Labels::Rtp, d.index, &mut stream.rtp_keys)
            else {
                // not reached: only AES-CM packets wait; refused rather than accepted undecrypted
                *res = Err(SrtpError::AuthFailed);
                continue;
            };
            aes.apply_keystream(
                cm_iv(salt, d.ssrc, d.index),
                &mut buf[d.header_len..d.body_len],
            );
            stream.rtp.accept(d.index);
            key.rtp_count += 1;
        }
    }

    /// `unprotect_rtp`, with the tag check left to the caller through `defer` if given, for
    /// an AES-CM packet of a known stream (nothing is changed then; the caller decrypts and
    /// accepts the packet once its tag matched).
    fn unprotect_rtp_with(
        &mut self,
        buf: &mut [u8],
        defer: Option<&mut Option<DeferredCheck>>,
    ) -> Result<usize, SrtpError> {
        let len = buf.len();
        let tag_len = self.profile.rtp_tag_len();
        let mki_len = self.mki_len();
        let trailer = tag_len + mki_len;
        if len < RTP_HEADER_LEN + trailer {
            return Err(SrtpError::TooShort {
                len,
                need: RTP_HEADER_LEN + trailer,
            });
        }
        let body_len = len - trailer;
        let f = wire::rtp_fields(&buf[..body_len]).map_err(|e| match e {
            SrtpError::TooShort { need, .. } => SrtpError::TooShort {
                len,
                need: need + trailer,
            },
            other => other,
        })?;
        let (mki_at, tag_at) = if self.profile.is_aead() {
            (body_len + tag_len, body_len)
        } else {
            (body_len, body_len + mki_len)
        };
        let (key_at, key) = key_for(&mut self.keys, &buf[mki_at..mki_at + mki_len])?;
        if key.rtp_count >= self.config.max_rtp_packets.min(MAX_RTP_PACKETS) {
            return Err(SrtpError::KeyLifetimeExceeded);
        }
        // a packet of a known stream can wait for its tag; one that would create the stream
        // is checked here
        let deferrable = defer.is_some() && self.rx.contains_key(&f.ssrc);
        let mut fresh = None;
        let stream = rx_stream(&mut self.rx, &self.config, f.ssrc, &mut fresh)?;
        let index = match stream.rtp.top() {
            None => u64::from(stream.roc) << 16 | u64::from(f.seq),
            // ROC - 1 below 0: older than anything this stream can have sent
            Some(h) => estimate(h, f.seq).ok_or(SrtpError::TooOld {
                index: u64::from(f.seq),
            })?,
        };
        stream.rtp.check(index)?;
        if index >= MAX_RTP_PACKETS {
            return Err(SrtpError::KeyLifetimeExceeded);
        }
        match key.session(self.profile, Labels::Rtp, index, &mut stream.rtp_keys) {
            SessionCrypto::Cm { auth, .. } if deferrable => {
                if let Some(slot) = defer {
                    *slot = Some(DeferredCheck {
                        auth: auth.clone(),
                        roc: ((index >> 16) as u32).to_be_bytes(),
                        ssrc: f.ssrc,
                        index,
                        key: key_at,
                        header_len: f.header_len,
                        body_len,
                        tag_at,
                        tag_len,
                    });
                }
                return Ok(body_len);
            }
            SessionCrypto::Cm { aes, auth, salt } => {
                let roc = ((index >> 16) as u32).to_be_bytes();
                let tag = auth.mac(&buf[..body_len], &roc, true);
                if !tags_equal(&tag[..tag_len], &buf[tag_at..tag_at + tag_len]) {
                    return Err(SrtpError::AuthFailed);
                }
                aes.apply_keystream(cm_iv(salt, f.ssrc, index), &mut buf[f.header_len..body_len]);
            }
            SessionCrypto::Gcm { aead, salt } => {
                let (head, rest) = buf.split_at_mut(f.header_len);
                let (ct, tail) = rest.split_at_mut(body_len - f.header_len);
                if !aead.open(&gcm_iv(salt, f.ssrc, index), head, ct, &tail[..tag_len]) {
                    return Err(SrtpError::AuthFailed);
                }
            }
        }
        stream.rtp.accept(index);
        key.rtp_count += 1;
        if let Some(s) = fresh {
            self.rx.insert(f.ssrc, s);
        }
        Ok(body_len)
    }

    /// Protects the (compound) RTCP packet `buf[..len]` in place (RFC 3711 §3.4, RFC 7714
    /// §9): encrypts everything after the first 8 bytes (unless `encrypt_rtcp` is off),
    /// appends E flag + SRTCP index, MKI and tag. Returns the SRTCP packet length.
    ///
    /// `buf` must have [`rtcp_overhead`](Self::rtcp_overhead) spare bytes after `len`.
    ///
    /// # Errors
    /// As [`protect_rtp`](Self::protect_rtp): `IndexReuse` when
    /// [`set_sender_srtcp_index`](Self::set_sender_srtcp_index) moved the index back onto one
    /// already used, `KeyLifetimeExceeded` once the 31-bit SRTCP index is used up.
    pub fn protect_rtcp(&mut self, buf: &mut [u8], len: usize) -> Result<usize, SrtpError> {
        let Some(pkt) = buf.get(..len) else {
            return Err(SrtpError::LengthOutOfBounds {
                len,
                buf: buf.len(),
            });
        };
        let ssrc = wire::rtcp_ssrc(pkt)?;
        let tag_len = self.profile.rtcp_tag_len();
        let key = self
            .keys
            .get_mut(self.send_key)
            .ok_or(SrtpError::KeyLifetimeExceeded)?;
        let mki_len = key.mki.len();
        let out_len = len + 4 + tag_len + mki_len;
        if out_len > buf.len() {
            return Err(SrtpError::BufferTooSmall {
                need: out_len,
                have: buf.len(),
            });
        }
        if key.rtcp_count >= self.config.max_rtcp_packets.min(MAX_RTCP_PACKETS) {
            return Err(SrtpError::KeyLifetimeExceeded);
        }
        let stream = tx_stream(&mut self.tx, &self.config, ssrc)?;
        let index = stream.rtcp_next;
        if u64::from(index) >= MAX_RTCP_PACKETS {
            return Err(SrtpError::KeyLifetimeExceeded);
        }
        stream
            .sent_rtcp
            .check(u64::from(index))
            .map_err(|_| SrtpError::IndexReuse {
                index: u64::from(index),
            })?;
        let encrypt = self.config.encrypt_rtcp;
        let word = (u32::from(encrypt) << 31 | index).to_be_bytes();
        match key.session(
            self.profile,
            Labels::Rtcp,
            u64::from(index),
            &mut stream.rtcp_keys,
        ) {
            SessionCrypto::Cm { aes, auth, salt } => {
                if encrypt {
                    let iv = cm_iv(salt, ssrc, u64::from(index));
                    aes.apply_keystream(iv, &mut buf[RTCP_HEADER_LEN..len]);
                }
                buf[len..len + 4].copy_from_slice(&word);
                buf[len + 4..len + 4 + mki_len].copy_from_slice(&key.mki);
                // RFC 3711 §3.4: the authenticated portion includes the E flag and index
                let tag = auth.mac(&buf[..len + 4], &word, false);
                buf[len + 4 + mki_len..out_len].copy_from_slice(&tag[..tag_len]);
            }
            SessionCrypto::Gcm { aead, salt } => {
                let iv = gcm_iv(salt, ssrc, u64::from(index));
                let tag = if encrypt {
                    // RFC 7714 §9.2: AAD = first 8 octets || E flag || SRTCP index
                    let mut aad = [0u8; 12];
                    aad[..8].copy_from_slice(&buf[..8]);
                    aad[8..].copy_from_slice(&word);
                    aead.seal(&iv, &aad, &mut buf[RTCP_HEADER_LEN..len])
                } else {
                    // RFC 7714 §9.3: AAD = whole packet || E flag || index, no plaintext
                    buf[len..len + 4].copy_from_slice(&word);
                    aead.seal(&iv, &buf[..len + 4], &mut [])
                };
                buf[len..len + 16].copy_from_slice(&tag);
                buf[len + 16..len + 20].copy_from_slice(&word);
                buf[len + 20..out_len].copy_from_slice(&key.mki);
            }
        }
        stream.sent_rtcp.accept(u64::from(index));
        stream.rtcp_next += 1;
        key.rtcp_count += 1;
        Ok(out_len)
    }

    /// Unprotects the SRTCP packet `buf` in place: checks the SRTCP index against the replay
    /// window, the MKI (which selects the master key) and the tag, decrypts if the E flag is
    /// set, and returns the RTCP length, `buf[..n]`.
    ///
    /// # Errors
    /// As [`unprotect_rtp`](Self::unprotect_rtp).
    pub fn unprotect_rtcp(&mut self, buf: &mut [u8]) -> Result<usize, SrtpError> {
        let len = buf.len();
        let tag_len = self.profile.rtcp_tag_len();
        let mki_len = self.mki_len();
        let trailer = 4 + tag_len + mki_len;
        if len < RTCP_HEADER_LEN + trailer {
            return Err(SrtpError::TooShort {
                len,
                need: RTCP_HEADER_LEN + trailer,
            });
        }
        let body_len = len - trailer;
        let aead = self.profile.is_aead();
        // AES-CM: body | E+index | MKI | tag.  GCM: body | tag | E+index | MKI.
        let (word_at, mki_at, tag_at) = if aead {
            (body_len + tag_len, body_len + tag_len + 4, body_len)
        } else {
            (body_len, body_len + 4, body_len + 4 + mki_len)
        };
        let ssrc = wire::rtcp_ssrc(&buf[..body_len])?;
        let word = [
            buf[word_at],
            buf[word_at + 1],
            buf[word_at + 2],
            buf[word_at + 3],
        ];
        let word_value = u32::from_be_bytes(word);
        let encrypted = word_value >> 31 == 1;
        let index = u64::from(word_value & 0x7fff_ffff);
        let (_, key) = key_for(&mut self.keys, &buf[mki_at..mki_at + mki_len])?;
        if key.rtcp_count >= self.config.max_rtcp_packets.min(MAX_RTCP_PACKETS) {
            return Err(SrtpError::KeyLifetimeExceeded);
        }
        let mut fresh = None;
        let stream = rx_stream(&mut self.rx, &self.config, ssrc, &mut fresh)?;
        stream.rtcp.check(index)?;
        match key.session(self.profile, Labels::Rtcp, index, &mut stream.rtcp_keys) {
            SessionCrypto::Cm { aes, auth, salt } => {
                let tag = auth.mac(&buf[..body_len + 4], &word, false);
                if !tags_equal(&tag[..tag_len], &buf[tag_at..tag_at + tag_len]) {
                    return Err(SrtpError::AuthFailed);
                }
                if encrypted {
                    let iv = cm_iv(salt, ssrc, index);
                    aes.apply_keystream(iv, &mut buf[RTCP_HEADER_LEN..body_len]);
                }
            }
            SessionCrypto::Gcm { aead, salt } => {
                let iv = gcm_iv(salt, ssrc, index);
                let mut tag = [0u8; 16];
                tag.copy_from_slice(&buf[tag_at..tag_at + 16]);
                let ok = if encrypted {
                    let mut aad = [0u8; 12];
                    aad[..8].copy_from_slice(&buf[..8]);
                    aad[8..].copy_from_slice(&word);
                    aead.open(&iv, &aad, &mut buf[RTCP_HEADER_LEN..body_len], &tag)
                } else {
                    // AAD = packet || E+index: move the index next to the packet (over the
                    // tag, saved above), check, and put the tag back if it fails
                    buf[body_len..body_len + 4].copy_from_slice(&word);
                    let ok = aead.open(&iv, &buf[..body_len + 4], &mut [], &tag);
                    if !ok {
                        buf[body_len..body_len + 4].copy_from_slice(&tag[..4]);
                    }
                    ok
                };
                if !ok {
                    return Err(SrtpError::AuthFailed);
                }
            }
        }
        stream.rtcp.accept(index);
        key.rtcp_count += 1;
        if let Some(s) = fresh {
            self.rx.insert(ssrc, s);
        }
        Ok(body_len)
    }

    /// [`protect_rtp`](Self::protect_rtp) on a `Vec`, growing it by the overhead (this may
    /// allocate when the vector has no spare capacity).
    ///
    /// # Errors
    /// As `protect_rtp`; on error `pkt` is unchanged in length.
    pub fn protect_rtp_vec(&mut self, pkt: &mut Vec<u8>) -> Result<(), SrtpError> {
        let len = pkt.len();
        pkt.resize(len + self.rtp_overhead(), 0);
        let r = self.protect_rtp(pkt, len);
        pkt.truncate(*r.as_ref().unwrap_or(&len));
        r.map(|_| ())
    }

    /// [`protect_rtcp`](Self::protect_rtcp) on a `Vec`, growing it by the overhead.
    ///
    /// # Errors
    /// As `protect_rtcp`; on error `pkt` is unchanged in length.
    pub fn protect_rtcp_vec(&mut self, pkt: &mut Vec<u8>) -> Result<(), SrtpError> {
        let len = pkt.len();
        pkt.resize(len + self.rtcp_overhead(), 0);
        let r = self.protect_rtcp(pkt, len);
        pkt.truncate(*r.as_ref().unwrap_or(&len));
        r.map(|_| ())
    }

    /// The ROC the sender will use next for `ssrc`, if the stream exists.
    pub fn sender_roc(&self, ssrc: Ssrc) -> Option<u32> {
        self.tx.get(&ssrc.0).map(|s| {
            s.roc
                .unwrap_or_else(|| s.sent.top().map_or(0, |h| (h >> 16) as u32))
        })
    }

    /// Sets the sender ROC of `ssrc` (creating the stream), e.g. to continue a stream after
    /// the context was re-created: the next packet is protected with this ROC.
    ///
    /// The indexes already protected stay remembered: moving the ROC back onto them makes
    /// [`protect_rtp`](Self::protect_rtp) refuse with [`SrtpError::IndexReuse`].
    ///
    /// # Errors
    /// `TooManyStreams` when a new stream would exceed the limit.
    pub fn set_sender_roc(&mut self, ssrc: Ssrc, roc: u32) -> Result<(), SrtpError> {
        tx_stream_create(&mut self.tx, &self.config, ssrc.0)?.roc = Some(roc);
        Ok(())
    }

    /// The next SRTCP index the sender will use for `ssrc`, if the stream exists.
    pub fn sender_srtcp_index(&self, ssrc: Ssrc) -> Option<u32> {
        self.tx.get(&ssrc.0).map(|s| s.rtcp_next)
    }

    /// Sets the next SRTCP index for `ssrc` (creating the stream), to continue a stream
    /// after re-creation. Values are masked to 31 bits.
    ///
    /// # Errors
    /// `TooManyStreams` when a new stream would exceed the limit.
    pub fn set_sender_srtcp_index(&mut self, ssrc: Ssrc, index: u32) -> Result<(), SrtpError> {
        tx_stream_create(&mut self.tx, &self.config, ssrc.0)?.rtcp_next = index & 0x7fff_ffff;
        Ok(())
    }

    /// The receiver's ROC for `ssrc`: of the highest authenticated packet, or the one set by
    /// [`set_receiver_roc`](Self::set_receiver_roc) before any packet arrived.
    pub fn receiver_roc(&self, ssrc: Ssrc) -> Option<u32> {
        self.rx
            .get(&ssrc.0)
            .map(|s| s.rtp.top().map_or(s.roc, |h| (h >> 16) as u32))
    }

    /// Tells the receiver the ROC of `ssrc` (RFC 3711 §3.3.1: a receiver joining late must
    /// learn it out of band), creating the stream; the next packet's index is ROC || SEQ and
    /// the estimate continues from there. The SRTP replay window of the stream restarts.
    ///
    /// # Errors
    /// `TooManyStreams` when a new stream would exceed the limit.
    pub fn set_receiver_roc(&mut self, ssrc: Ssrc, roc: u32) -> Result<(), SrtpError> {
        let window = self.config.replay_window;
        if !self.rx.contains_key(&ssrc.0) && self.rx.len() >= self.config.max_streams {
            return Err(SrtpError::TooManyStreams {
                limit: self.config.max_streams,
            });
        }
        let s = self
            .rx
            .entry(ssrc.0)
            .or_insert_with(|| RxStream::new(window, 0));
        s.roc = roc;
        s.rtp.reset();
        Ok(())
    }

    /// Forgets the sender and receiver state of `ssrc` (e.g. after an RTCP BYE). Returns
    /// true if there was any.
    pub fn remove_stream(&mut self, ssrc: Ssrc) -> bool {
        let tx = self.tx.remove(&ssrc.0).is_some();
        self.rx.remove(&ssrc.0).is_some() || tx
    }
}

impl std::fmt::Debug for SrtpContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SrtpContext")
            .field("profile", &self.profile)
            .field("config", &self.config)
            .field("tx_streams", &self.tx.len())
            .field("rx_streams", &self.rx.len())
            .finish_non_exhaustive()
    }
}

/// RFC 3711 Appendix A: the index of a packet with sequence number `seq`, given the highest
/// authenticated index `highest` (= ROC || s_l). None when the estimate is ROC - 1 with
/// ROC = 0.
pub(crate) fn estimate(highest: u64, seq: u16) -> Option<u64> {
    let roc = highest >> 16;
    let s_l = i32::from(highest as u16);
    let seq_i = i32::from(seq);
    let v = if s_l < 0x8000 {
        // "if (SEQ - s_l > 2^15) then v = ROC - 1"
        if seq_i - s_l > 0x8000 {
            roc.checked_sub(1)?
        } else {
            roc
        }
    } else if s_l - 0x8000 > seq_i {
        // "else if (s_l - 2^15 > SEQ) then v = ROC + 1"
        roc + 1
    } else {
        roc
    };
    Some(v << 16 | u64::from(seq))
}

fn check_key(profile: ProtectionProfile, master: &MasterKey) -> Result<(), KeyError> {
    if master.key().len() != profile.key_len() {
        return Err(KeyError::BadKeyLength {
            expected: profile.key_len(),
            got: master.key().len(),
        });
    }
    if master.salt().len() != profile.salt_len() {
        return Err(KeyError::BadSaltLength {
            expected: profile.salt_len(),
            got: master.salt().len(),
        });
    }
    Ok(())
}

fn prf_of(master: &MasterKey) -> Result<(AesEnc, Salt), KeyError> {
    let prf = AesEnc::new(master.key()).ok_or(KeyError::BadKeyLength {
        expected: 16,
        got: master.key().len(),
    })?;
    let mut salt = [0u8; 14];
    salt[..master.salt().len()].copy_from_slice(master.salt());
    Ok((prf, Salt(salt)))
}

/// The master key whose MKI is `mki` (empty when the context uses none), and its position
/// in `keys`.
fn key_for<'a>(keys: &'a mut [KeySlot], mki: &[u8]) -> Result<(usize, &'a mut KeySlot), SrtpError> {
    if mki.is_empty() {
        // no MKI: the context has exactly one key (a set needs MKIs)
        return keys
            .first_mut()
            .map(|k| (0, k))
            .ok_or(SrtpError::MkiMismatch);
    }
    keys.iter_mut()
        .enumerate()
        .find(|(_, k)| k.mki == mki)
        .ok_or(SrtpError::MkiMismatch)
}

/// Writes the MKI; most contexts have none, and an empty `copy_from_slice` is still a
/// `memcpy` call on the per-packet path.
#[inline]
fn copy_mki(dst: &mut [u8], mki: &[u8]) {
    if !mki.is_empty() {
        dst.copy_from_slice(mki);
    }
}

/// log2 of the key derivation rate (RFC 3711 §4.3.1), None for rate 0.
fn kdr_shift(rate: u64) -> Result<Option<u32>, KeyError> {
    match rate {
        0 => Ok(None),
        r if r.is_power_of_two() && r <= 1 << 24 => Ok(Some(r.trailing_zeros())),
        r => Err(KeyError::BadKeyDerivationRate(r)),
    }
}

/// The sender stream of `ssrc`, created unless the policy refuses unknown SSRCs: one map
/// lookup for a known stream.
fn tx_stream<'a>(
    map: &'a mut StreamMap<TxStream>,
    config: &SrtpConfig,
    ssrc: u32,
) -> Result<&'a mut TxStream, SrtpError> {
    let len = map.len();
    match map.entry(ssrc) {
        Entry::Occupied(o) => Ok(o.into_mut()),
        Entry::Vacant(_) if config.unknown_ssrc == UnknownSsrcPolicy::Reject => {
            Err(SrtpError::UnknownSsrc(Ssrc(ssrc)))
        }
        Entry::Vacant(v) => new_tx_stream(v, len, config),
    }
}

fn tx_stream_create<'a>(
    map: &'a mut StreamMap<TxStream>,
    config: &SrtpConfig,
    ssrc: u32,
) -> Result<&'a mut TxStream, SrtpError> {
    let len = map.len();
    match map.entry(ssrc) {
        Entry::Occupied(o) => Ok(o.into_mut()),
        Entry::Vacant(v) => new_tx_stream(v, len, config),
    }
}

fn new_tx_stream<'a>(
    slot: VacantEntry<'a, u32, TxStream>,
    streams: usize,
    config: &SrtpConfig,
) -> Result<&'a mut TxStream, SrtpError> {
    if streams >= config.max_streams {
        return Err(SrtpError::TooManyStreams {
            limit: config.max_streams,
        });
    }
    Ok(slot.insert(TxStream::new(config.replay_window)))
}

/// The receiver stream of `ssrc`, or a new one in `fresh` (inserted by the caller only once
/// the packet authenticated, so unauthenticated packets never create state). One map lookup
/// for a known stream.
fn rx_stream<'a>(
    map: &'a mut StreamMap<RxStream>,
    config: &SrtpConfig,
    ssrc: u32,
    fresh: &'a mut Option<RxStream>,
) -> Result<&'a mut RxStream, SrtpError> {
    let len = map.len();
    match map.entry(ssrc) {
        Entry::Occupied(o) => Ok(o.into_mut()),
        Entry::Vacant(_) if config.unknown_ssrc == UnknownSsrcPolicy::Reject => {
            Err(SrtpError::UnknownSsrc(Ssrc(ssrc)))
        }
        Entry::Vacant(_) if len >= config.max_streams => Err(SrtpError::TooManyStreams {
            limit: config.max_streams,
        }),
        Entry::Vacant(_) => Ok(fresh.insert(RxStream::new(config.replay_window, 0))),
    }
}

/// Sender state of one SSRC.
struct TxStream {
    /// ROC for the next packet, set by `set_sender_roc`; after a packet the ROC follows
    /// from the highest index sent.
    roc: Option<u32>,
    /// The SRTP indexes protected (its top is the highest, ROC || SEQ): never used twice.
    sent: ReplayWindow,
    /// Next SRTCP index (RFC 3711 §3.4: starts at 0, +1 per packet).
    rtcp_next: u32,
    /// The SRTCP indexes protected: never used twice.
    sent_rtcp: ReplayWindow,
    rtp_keys: Option<CachedKeys>,
    rtcp_keys: Option<CachedKeys>,
}

impl TxStream {
    fn new(window: usize) -> Self {
        Self {
            roc: None,
            sent: ReplayWindow::new(window),
            rtcp_next: 0,
            sent_rtcp: ReplayWindow::new(window),
            rtp_keys: None,
            rtcp_keys: None,
        }
    }
}

/// Receiver state of one SSRC.
struct RxStream {
    /// ROC to assume for the first packet (0, or set for a late joiner).
    roc: u32,
    /// SRTP replay window; its top is the highest authenticated index (ROC || s_l).
    rtp: ReplayWindow,
    /// SRTCP replay window over the 31-bit SRTCP index.
    rtcp: ReplayWindow,
    rtp_keys: Option<CachedKeys>,
    rtcp_keys: Option<CachedKeys>,
}

impl RxStream {
    fn new(window: usize, roc: u32) -> Self {
        Self {
            roc,
            rtp: ReplayWindow::new(window),
            rtcp: ReplayWindow::new(window),
            rtp_keys: None,
            rtcp_keys: None,
        }
    }
}

type StreamMap<S> = HashMap<u32, S, BuildHasherDefault<SsrcHasher>>;

/// A multiplicative hash for SSRC keys: streams are only created for authenticated packets
/// (or by the caller), so the keys are not attacker-chosen and SipHash is not needed.
#[derive(Default)]
struct SsrcHasher(u64);

impl Hasher for SsrcHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.0 = u64::from(n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appendix_a_estimate() {
        // s_l = 65534, ROC 0: seq 0 is the next cycle, seq 65535 the same
        assert_eq!(estimate(65534, 0), Some(0x1_0000));
        assert_eq!(estimate(65534, 65535), Some(65535));
        // s_l = 0 in ROC 1: a late 65535 belongs to ROC 0
        assert_eq!(estimate(0x1_0000, 65535), Some(65535));
        assert_eq!(estimate(0x1_0000, 1), Some(0x1_0001));
        // ROC 0, s_l small: a seq far above would be ROC -1
        assert_eq!(estimate(10, 60000), None);
        assert_eq!(estimate(10, 32778), Some(32778));
        assert_eq!(estimate(10, 32779), None);
    }
}
