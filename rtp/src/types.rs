//! Newtypes for the numbers RTP deals in.

/// A synchronization source identifier (RFC 3550 §3).
#[derive(Clone, Copy, Debug, Default, Eq, Hash, Ord, PartialEq, PartialOrd)]
pub struct Ssrc(pub u32);

/// An extended RTP sequence number: the 16-bit wire value plus the count of wrap-arounds in the
/// upper bits (RFC 3550 §A.1, "extended highest sequence number").
#[derive(Clone, Copy, Debug, Default, Eq, Hash, Ord, PartialEq, PartialOrd)]
pub struct SeqNo(pub u64);

impl SeqNo {
    /// The 16-bit value carried on the wire.
    pub fn wire(self) -> u16 {
        (self.0 & 0xFFFF) as u16
    }

    /// Number of times the 16-bit sequence number has wrapped.
    pub fn cycles(self) -> u64 {
        self.0 >> 16
    }

    /// Extends a 16-bit wire sequence number to the value closest to `self`, so that a packet
    /// up to 32767 behind or 32768 ahead lands in the right cycle (wrap-around in both
    /// directions). Never underflows below cycle 0.
    pub fn extend(self, wire: u16) -> Self {
        let base = self.0 as i64;
        let cand = (base & !0xFFFF) | i64::from(wire);
        let diff = cand - base;
        let ext = if diff > 0x8000 {
            cand - 0x1_0000
        } else if diff < -0x8000 {
            cand + 0x1_0000
        } else {
            cand
        };
        Self(if ext < 0 { cand as u64 } else { ext as u64 })
    }
}

/// A media timestamp: a tick count at a clock rate (e.g. 8000 Hz for PCMU, 48000 Hz for Opus).
#[derive(Clone, Copy, Debug, Default, Eq, Hash, PartialEq)]
pub struct MediaTime {
    /// Ticks of the media clock.
    pub ticks: u64,
    /// Clock rate in Hz.
    pub rate: u32,
}

impl MediaTime {
    /// A media time of `ticks` at `rate` Hz.
    pub fn new(ticks: u64, rate: u32) -> Self {
        Self { ticks, rate }
    }

    /// The 32-bit RTP timestamp carried on the wire (ticks modulo 2^32).
    pub fn rtp_timestamp(self) -> u32 {
        (self.ticks & 0xFFFF_FFFF) as u32
    }

    /// This time in milliseconds (0 when the rate is 0).
    pub fn as_millis_f64(self) -> f64 {
        if self.rate == 0 {
            0.0
        } else {
            self.ticks as f64 * 1000.0 / f64::from(self.rate)
        }
    }
}

/// A 64-bit NTP timestamp ([RFC 3550 §4]): seconds since 1900-01-01 in the upper 32 bits, the
/// binary fraction of a second in the lower 32.
///
/// [RFC 3550 §4]: https://www.rfc-editor.org/rfc/rfc3550#section-4
#[derive(Clone, Copy, Debug, Default, Eq, Hash, Ord, PartialEq, PartialOrd)]
pub struct NtpTime(pub u64);

impl NtpTime {
    /// Seconds between the NTP epoch (1900) and the Unix epoch (1970).
    pub const UNIX_OFFSET_SECS: u64 = 2_208_988_800;

    /// The NTP time of a duration since the Unix epoch (e.g. from a wall clock read by the
    /// caller).
    pub fn from_unix(since_unix: std::time::Duration) -> Self {
        Self::from_duration(since_unix + std::time::Duration::from_secs(Self::UNIX_OFFSET_SECS))
    }

    /// The NTP time of a duration since the NTP epoch.
    pub fn from_duration(d: std::time::Duration) -> Self {
        let frac = (u64::from(d.subsec_nanos()) << 32) / 1_000_000_000;
        Self((d.as_secs() << 32) | frac)
    }

    /// The duration since the NTP epoch.
    pub fn as_duration(self) -> std::time::Duration {
        let secs = self.0 >> 32;
        let nanos = ((self.0 & 0xFFFF_FFFF) * 1_000_000_000) >> 32;
        std::time::Duration::new(secs, nanos as u32)
    }

    /// The middle 32 bits, as carried in LSR and in DLRR's LRR ([RFC 3550 §6.4.1]).
    ///
    /// [RFC 3550 §6.4.1]: https://www.rfc-editor.org/rfc/rfc3550#section-6.4.1
    pub fn middle32(self) -> u32 {
        ((self.0 >> 16) & 0xFFFF_FFFF) as u32
    }

    /// This time plus a duration (wrapping like the wire format).
    pub fn add_duration(self, d: std::time::Duration) -> Self {
        Self(self.0.wrapping_add(Self::from_duration(d).0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seq_extend_handles_wrap_both_ways() {
        assert_eq!(SeqNo(0xFFFF).extend(0x0001), SeqNo(0x1_0001));
        assert_eq!(SeqNo(0x1_0001).extend(0xFFFF), SeqNo(0xFFFF));
        assert_eq!(SeqNo(5).extend(3), SeqNo(3));
        assert_eq!(SeqNo(3).extend(0xFFFF), SeqNo(0xFFFF));
        assert_eq!(SeqNo(0x1_0000 + 100).extend(90), SeqNo(0x1_0000 + 90));
    }

    #[test]
    fn ntp_time_conversions() {
        let t = NtpTime::from_duration(std::time::Duration::from_millis(1500));
        assert_eq!(t.0, (1 << 32) | 0x8000_0000);
        assert_eq!(t.middle32(), 0x0001_8000);
        assert_eq!(t.as_duration(), std::time::Duration::from_millis(1500));
        assert_eq!(
            NtpTime::from_unix(std::time::Duration::ZERO).0 >> 32,
            2_208_988_800
        );
    }

    #[test]
    fn media_time_wraps_to_32_bits() {
        assert_eq!(MediaTime::new(0x1_0000_0005, 8000).rtp_timestamp(), 5);
        assert_eq!(MediaTime::new(8000, 8000).as_millis_f64(), 1000.0);
    }
}
