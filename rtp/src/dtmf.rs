//! RFC 4733 telephone events (DTMF 0-9, *, #, A-D and flash): the packet sequence a sender
//! emits for a key press and a receiver that turns (possibly duplicated, reordered or lost)
//! packets back into key presses.
//!
//! [RFC 4733]: https://www.rfc-editor.org/rfc/rfc4733

use std::collections::VecDeque;

use thiserror::Error;

/// Why a telephone-event payload was rejected.
#[derive(Clone, Copy, Debug, Eq, Error, PartialEq)]
#[non_exhaustive]
pub enum DtmfError {
    /// The payload is shorter than the 4-byte event block.
    #[error("telephone-event payload of {0} bytes is shorter than 4")]
    TooShort(usize),
    /// The event code is not one of the DTMF events 0-16.
    #[error("telephone event {0} is not a dtmf event")]
    NotDtmf(u8),
}

/// A DTMF event ([RFC 4733 §3.2] table 7).
///
/// [RFC 4733 §3.2]: https://www.rfc-editor.org/rfc/rfc4733#section-3.2
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub struct DtmfEvent(u8);

impl DtmfEvent {
    /// Flash (hook flash), event 16.
    pub const FLASH: Self = Self(16);

    /// The event for a key: '0'-'9', '*', '#', 'A'-'D' (or lower case), or '!' for flash.
    pub fn from_char(c: char) -> Option<Self> {
        let code = match c.to_ascii_uppercase() {
            d @ '0'..='9' => d as u8 - b'0',
            '*' => 10,
            '#' => 11,
            l @ 'A'..='D' => l as u8 - b'A' + 12,
            '!' => 16,
            _ => return None,
        };
        Some(Self(code))
    }

    /// The event with this code, if it is 0-16.
    pub fn from_code(code: u8) -> Option<Self> {
        (code <= 16).then_some(Self(code))
    }

    /// The event code.
    pub fn code(self) -> u8 {
        self.0
    }

    /// The key as a character ('!' for flash).
    pub fn to_char(self) -> char {
        match self.0 {
            d @ 0..=9 => char::from(b'0' + d),
            10 => '*',
            11 => '#',
            l @ 12..=15 => char::from(b'A' + l - 12),
            _ => '!',
        }
    }
}

/// The 4-byte event payload ([RFC 4733 §2.3]).
///
/// [RFC 4733 §2.3]: https://www.rfc-editor.org/rfc/rfc4733#section-2.3
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct EventPayload {
    /// Event code.
    pub event: u8,
    /// E bit: the end of the event.
    pub end: bool,
    /// Volume, 0 to -63 dBm0 as a positive number.
    pub volume: u8,
    /// Duration so far, in timestamp units.
    pub duration: u16,
}

impl EventPayload {
    /// Parses the first event block of a payload.
    ///
    /// # Errors
    /// [`DtmfError::TooShort`] below 4 bytes.
    pub fn parse(payload: &[u8]) -> Result<Self, DtmfError> {
        let Some(b) = payload.first_chunk::<4>() else {
            return Err(DtmfError::TooShort(payload.len()));
        };
        Ok(Self {
            event: b[0],
            end: b[1] & 0x80 != 0,
            volume: b[1] & 0x3F,
            duration: u16::from_be_bytes([b[2], b[3]]),
        })
    }

    /// The 4 bytes on the wire (R bit zero).
    pub fn to_bytes(self) -> [u8; 4] {
        let d = self.duration.to_be_bytes();
        [
            self.event,
            (u8::from(self.end) << 7) | (self.volume & 0x3F),
            d[0],
            d[1],
        ]
    }
}

/// One RTP packet of a telephone event, as the sender emits it; the session assigns sequence
/// numbers (each packet, retransmissions included, gets the next one).
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct EventPacket {
    /// Marker bit: set on the first packet of an event.
    pub marker: bool,
    /// RTP timestamp: the start of the event (segment).
    pub timestamp: u32,
    /// The payload.
    pub payload: EventPayload,
}

/// Encodes a key press of `duration` ticks starting at RTP timestamp `start`, with an update
/// every `interval` ticks (e.g. 160 = 20 ms at 8 kHz), as the packets a sender emits
/// ([RFC 4733 §2.5.1]): a first packet with the marker bit, updates with growing durations, and
/// the final packet with the E bit sent three times (§2.5.1.4: "the final packet for each
/// event ... SHOULD be retransmitted" — three times is the common practice the RFC's examples
/// use). Events longer than 0xFFFF ticks are split into segments (§2.5.1.3).
///
/// `interval` of 0 is treated as 1.
pub fn encode_key_press(
    event: DtmfEvent,
    volume: u8,
    start: u32,
    duration: u32,
    interval: u32,
) -> Vec<EventPacket> {
    let interval = interval.max(1);
    let duration = duration.max(1);
    let mut out = Vec::new();
    let mut seg_start = 0u32;
    let mut first = true;
    loop {
        let seg_len = (duration - seg_start).min(0xFFFF);
        let last_segment = seg_start + seg_len == duration;
        let ts = start.wrapping_add(seg_start);
        let mut d = interval.min(seg_len);
        loop {
            let done = d >= seg_len;
            let dur = d.min(seg_len) as u16;
            let p = EventPayload {
                event: event.code(),
                end: done && last_segment,
                volume,
                duration: dur,
            };
            let n = if p.end { 3 } else { 1 };
            for _ in 0..n {
                out.push(EventPacket {
                    marker: first,
                    timestamp: ts,
                    payload: p,
                });
                first = false;
            }
            if done {
                break;
            }
            d = d.saturating_add(interval);
        }
        if last_segment {
            return out;
        }
        seg_start += seg_len;
    }
}

/// What the receiver reports.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum DtmfNotice {
    /// A key went down (first packet of a new event seen).
    Begin {
        /// The key.
        event: DtmfEvent,
        /// Its RTP timestamp.
        timestamp: u32,
    },
    /// A key press ended: its E packet arrived, or a new event started before it did.
    End {
        /// The key.
        event: DtmfEvent,
        /// Its RTP timestamp.
        timestamp: u32,
        /// Its duration in timestamp units (the longest reported).
        duration: u32,
    },
}

/// Receive side of RFC 4733: feed each telephone-event packet, then drain [`poll_event`].
///
/// Duplicates (retransmitted end packets, repeated updates) are recognised by the RTP timestamp:
/// an event is identified by its start timestamp (§2.5.2.1), so a packet for an event already
/// ended, or an update older than the current event, produces nothing. The last
/// [`ENDED_KEPT`] ended events are remembered, so an end packet retransmitted late, after the
/// next key press has ended too (short presses, a jittery path), is not taken for a new press.
/// A lost start packet is tolerated (the first update begins the event).
///
/// A long event ([RFC 4733 §2.5.1.3]) stays one key press: a packet of the same event whose
/// timestamp is the current segment's start plus the duration it reached (0xFFFF when the
/// sender segments) continues it, and the reported duration is the sum of the segments. A
/// duration that wraps past 0xFFFF within one timestamp (a sender that does not segment) is
/// counted on as well.
///
/// [`poll_event`]: Self::poll_event
/// [RFC 4733 §2.5.1.3]: https://www.rfc-editor.org/rfc/rfc4733#section-2.5.1.3
#[derive(Clone, Debug, Default)]
pub struct DtmfReceiver {
    current: Option<Current>,
    /// Start timestamps of the last ended events, the most recent at `ended_next - 1`.
    ended: [Option<u32>; ENDED_KEPT],
    ended_next: usize,
    events: VecDeque<DtmfNotice>,
}

/// The event in progress of a [`DtmfReceiver`].
#[derive(Clone, Copy, Debug)]
struct Current {
    event: DtmfEvent,
    /// Timestamp of its first segment: the event's start.
    start: u32,
    /// Timestamp of the segment being received.
    segment: u32,
    /// Duration of the segments before it.
    earlier: u64,
    /// The longest duration reported for this segment, counted on past a 16-bit wrap.
    duration: u64,
}

impl Current {
    /// Takes a reported duration of the current segment: the longest so far wins; one that
    /// lies up to 0x7FFF ticks past the last one modulo 2^16 is a wrap, not a late update.
    fn extend(&mut self, reported: u16) {
        let ahead = reported.wrapping_sub(self.duration as u16);
        if ahead != 0 && ahead < 0x8000 {
            self.duration += u64::from(ahead);
        }
    }
}

/// Whether a packet `gap` ticks after the current segment's timestamp starts the next segment
/// of the same event, the current one having reached `reached` ticks: the gap is what it
/// reached, or a full segment (0xFFFF) whose last update was lost.
fn continues_segment(gap: u32, reached: u64) -> bool {
    u64::from(gap) == reached || (gap == 0xFFFF && reached < 0xFFFF)
}

/// How many ended events [`DtmfReceiver`] remembers to recognise their late retransmits.
pub const ENDED_KEPT: usize = 4;

impl DtmfReceiver {
    /// A receiver with no event in progress.
    pub fn new() -> Self {
        Self::default()
    }

    /// Handles one telephone-event RTP packet (its timestamp and payload).
    ///
    /// # Errors
    /// [`DtmfError`] for a short payload or a non-DTMF event code; the state is unchanged.
    pub fn handle_packet(&mut self, timestamp: u32, payload: &[u8]) -> Result<(), DtmfError> {
        let p = EventPayload::parse(payload)?;
        let Some(event) = DtmfEvent::from_code(p.event) else {
            return Err(DtmfError::NotDtmf(p.event));
        };
        if self.ended.contains(&Some(timestamp)) {
            return Ok(()); // a retransmitted end packet, or a late update of an ended event
        }
        match &mut self.current {
            Some(c) if c.segment == timestamp => c.extend(p.duration),
            // An update older than the event in progress: reordered, already superseded.
            Some(c) if (timestamp.wrapping_sub(c.segment) as i32) < 0 => return Ok(()),
            // The next segment of a long event (RFC 4733 §2.5.1.3): it starts where the
            // segment before it reached, which is 0xFFFF ticks on for a full segment even when
            // the packet that reported 0xFFFF was lost (each segment's last update is sent once).
            Some(c)
                if c.event == event
                    && c.duration > 0
                    && continues_segment(timestamp.wrapping_sub(c.segment), c.duration) =>
            {
                c.earlier += u64::from(timestamp.wrapping_sub(c.segment));
                c.segment = timestamp;
                c.duration = u64::from(p.duration);
            }
            Some(_) | None => {
                self.finish();
                self.events
                    .push_back(DtmfNotice::Begin { event, timestamp });
                self.current = Some(Current {
                    event,
                    start: timestamp,
                    segment: timestamp,
                    earlier: 0,
                    duration: u64::from(p.duration),
                });
            }
        }
        if p.end {
            self.finish();
        }
        Ok(())
    }

    /// Ends the event in progress, if any (e.g. when the stream stops).
    pub fn finish(&mut self) {
        if let Some(c) = self.current.take() {
            // The last segment's timestamp is the one its retransmitted end packets carry; a
            // long event's first one is remembered too, for its late updates.
            self.remember_ended(c.start);
            if c.segment != c.start {
                self.remember_ended(c.segment);
            }
            self.events.push_back(DtmfNotice::End {
                event: c.event,
                timestamp: c.start,
                duration: u32::try_from(c.earlier + c.duration).unwrap_or(u32::MAX),
            });
        }
    }

    fn remember_ended(&mut self, timestamp: u32) {
        self.ended[self.ended_next] = Some(timestamp);
        self.ended_next = (self.ended_next + 1) % ENDED_KEPT;
    }

    /// The next notice, oldest first.
    pub fn poll_event(&mut self) -> Option<DtmfNotice> {
        self.events.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_press_packet_sequence() {
        // '5' for 100 ms at 8 kHz with 20 ms updates: 160, 320, 480, 640, then 800 with E x3.
        let pk = encode_key_press(DtmfEvent::from_char('5').unwrap(), 10, 1000, 800, 160);
        let d: Vec<_> = pk
            .iter()
            .map(|p| (p.marker, p.payload.duration, p.payload.end))
            .collect();
        assert_eq!(
            d,
            vec![
                (true, 160, false),
                (false, 320, false),
                (false, 480, false),
                (false, 640, false),
                (false, 800, true),
                (false, 800, true),
                (false, 800, true),
            ]
        );
        assert!(
            pk.iter()
                .all(|p| p.timestamp == 1000 && p.payload.event == 5)
        );
        assert_eq!(pk[0].payload.to_bytes(), [5, 10, 0x00, 0xA0]);
        assert_eq!(pk[6].payload.to_bytes(), [5, 0x8A, 0x03, 0x20]);
    }

    #[test]
    fn long_events_are_segmented() {
        let pk = encode_key_press(DtmfEvent::FLASH, 0, 0, 0x1_0000 + 100, 0x8000);
        // Segment 1 ends at 0xFFFF without E, segment 2 starts at ts 0xFFFF without marker.
        assert!(
            pk.iter()
                .any(|p| p.timestamp == 0 && p.payload.duration == 0xFFFF && !p.payload.end)
        );
        let seg2: Vec<_> = pk.iter().filter(|p| p.timestamp == 0xFFFF).collect();
        assert!(seg2.iter().all(|p| !p.marker));
        assert_eq!(seg2.last().unwrap().payload.duration, 101);
        assert_eq!(seg2.iter().filter(|p| p.payload.end).count(), 3);
    }

    #[test]
    fn receiver_handles_duplicates_loss_and_reorder() {
        let mut rx = DtmfReceiver::new();
        let one = encode_key_press(DtmfEvent::from_char('1').unwrap(), 10, 0, 480, 160);
        let hash = encode_key_press(DtmfEvent::from_char('#').unwrap(), 10, 2000, 320, 160);
        // First event: start packet lost, one update duplicated, all three ends.
        for p in one.iter().skip(1).chain(one.iter().skip(1).take(1)) {
            rx.handle_packet(p.timestamp, &p.payload.to_bytes())
                .unwrap();
        }
        // Second event: every end packet lost; a late update of event 1 arrives in between.
        for p in hash.iter().take(1) {
            rx.handle_packet(p.timestamp, &p.payload.to_bytes())
                .unwrap();
        }
        rx.handle_packet(one[1].timestamp, &one[1].payload.to_bytes())
            .unwrap();
        rx.finish();
        let n: Vec<_> = std::iter::from_fn(|| rx.poll_event()).collect();
        let one_ev = DtmfEvent::from_char('1').unwrap();
        let hash_ev = DtmfEvent::from_char('#').unwrap();
        assert_eq!(
            n,
            vec![
                DtmfNotice::Begin {
                    event: one_ev,
                    timestamp: 0
                },
                DtmfNotice::End {
                    event: one_ev,
                    timestamp: 0,
                    duration: 480
                },
                DtmfNotice::Begin {
                    event: hash_ev,
                    timestamp: 2000
                },
                DtmfNotice::End {
                    event: hash_ev,
                    timestamp: 2000,
                    duration: 160
                },
            ]
        );
        assert_eq!(
            rx.handle_packet(0, &[17, 0, 0, 0]),
            Err(DtmfError::NotDtmf(17))
        );
        assert_eq!(rx.handle_packet(0, &[1, 0]), Err(DtmfError::TooShort(2)));
    }

    #[test]
    fn a_late_end_retransmit_after_the_next_press_is_not_a_new_press() {
        // Two short presses 60 ms apart; the third end packet of the first is delayed past
        // the whole second press (a jittery path reorders it that far).
        let one = encode_key_press(DtmfEvent::from_char('1').unwrap(), 10, 8000, 320, 160);
        let two = encode_key_press(DtmfEvent::from_char('2').unwrap(), 10, 8800, 160, 160);
        let late = one.last().unwrap();
        let mut rx = DtmfReceiver::new();
        for p in one[..one.len() - 1].iter().chain(&two).chain([late]) {
            rx.handle_packet(p.timestamp, &p.payload.to_bytes())
                .unwrap();
        }
        let n: Vec<_> = std::iter::from_fn(|| rx.poll_event()).collect();
        let begins: Vec<_> = n
            .iter()
            .filter_map(|e| match e {
                DtmfNotice::Begin { event, .. } => Some(event.to_char()),
                DtmfNotice::End { .. } => None,
            })
            .collect();
        assert_eq!(begins, ['1', '2'], "{n:?}");
        assert_eq!(n.len(), 4);
    }

    fn notices(rx: &mut DtmfReceiver) -> Vec<DtmfNotice> {
        std::iter::from_fn(|| rx.poll_event()).collect()
    }

    #[test]
    fn a_segmented_long_event_is_one_press() {
        // A flash held for 10 s at 8 kHz (80,000 ticks, past one segment's 0xFFFF), updates
        // every 50 ms, the segment boundary's packets duplicated and one update reordered.
        let pk = encode_key_press(DtmfEvent::FLASH, 10, 0xFFFF_8000, 80_000, 400);
        let boundary = pk.iter().position(|p| p.timestamp != 0xFFFF_8000).unwrap();
        let mut order: Vec<_> = pk.iter().collect();
        order.insert(boundary, &pk[boundary - 1]);
        order.insert(boundary + 2, &pk[boundary]);
        order.swap(boundary + 4, boundary + 5);
        let mut rx = DtmfReceiver::new();
        for p in order {
            rx.handle_packet(p.timestamp, &p.payload.to_bytes())
                .unwrap();
        }
        assert_eq!(
            notices(&mut rx),
            [
                DtmfNotice::Begin {
                    event: DtmfEvent::FLASH,
                    timestamp: 0xFFFF_8000
                },
                DtmfNotice::End {
                    event: DtmfEvent::FLASH,
                    timestamp: 0xFFFF_8000,
                    duration: 80_000
                },
            ]
        );
        // A late update of the first segment after the event ended starts nothing.
        rx.handle_packet(0xFFFF_8000, &pk[3].payload.to_bytes())
            .unwrap();
        assert_eq!(notices(&mut rx), []);
    }

    #[test]
    fn a_long_event_stays_one_press_when_the_segment_end_update_is_lost() {
        // The one packet reporting 0xFFFF for the first segment is lost: the next segment
        // still starts 0xFFFF ticks on and continues the press (review of c7e8415).
        let pk = encode_key_press(DtmfEvent::FLASH, 10, 1000, 80_000, 400);
        let lost = pk
            .iter()
            .position(|p| p.timestamp == 1000 && p.payload.duration == 0xFFFF)
            .unwrap();
        let mut rx = DtmfReceiver::new();
        for (i, p) in pk.iter().enumerate() {
            if i != lost {
                rx.handle_packet(p.timestamp, &p.payload.to_bytes())
                    .unwrap();
            }
        }
        assert_eq!(
            notices(&mut rx),
            [
                DtmfNotice::Begin {
                    event: DtmfEvent::FLASH,
                    timestamp: 1000
                },
                DtmfNotice::End {
                    event: DtmfEvent::FLASH,
                    timestamp: 1000,
                    duration: 80_000
                },
            ]
        );
    }

    #[test]
    fn a_duration_wrapping_past_16_bits_counts_on() {
        // A sender that does not segment: one timestamp, the duration wraps 65,440 -> 64.
        let mut rx = DtmfReceiver::new();
        for (d, end) in [
            (65_280u16, false),
            (65_440, false),
            (64, false),
            (224, true),
        ] {
            let p = EventPayload {
                event: 1,
                end,
                volume: 10,
                duration: d,
            };
            rx.handle_packet(8000, &p.to_bytes()).unwrap();
        }
        let ended: Vec<_> = notices(&mut rx)
            .into_iter()
            .filter_map(|n| match n {
                DtmfNotice::End { duration, .. } => Some(duration),
                DtmfNotice::Begin { .. } => None,
            })
            .collect();
        assert_eq!(ended, [0x1_0000 + 224]);
    }

    #[test]
    fn the_same_key_again_after_a_gap_is_a_new_press() {
        // '1' ended without its E packets reaching us, then '1' again 40 ms after its end:
        // not a continuation (its timestamp is past the end of the first).
        let a = encode_key_press(DtmfEvent::from_char('1').unwrap(), 10, 0, 800, 160);
        let b = encode_key_press(DtmfEvent::from_char('1').unwrap(), 10, 1120, 320, 160);
        let mut rx = DtmfReceiver::new();
        for p in a.iter().filter(|p| !p.payload.end).chain(&b) {
            rx.handle_packet(p.timestamp, &p.payload.to_bytes())
                .unwrap();
        }
        let begins = notices(&mut rx)
            .iter()
            .filter(|n| matches!(n, DtmfNotice::Begin { .. }))
            .count();
        assert_eq!(begins, 2);
    }

    #[test]
    fn chars_round_trip() {
        for c in "0123456789*#ABCD!".chars() {
            assert_eq!(DtmfEvent::from_char(c).unwrap().to_char(), c);
        }
        assert_eq!(DtmfEvent::from_char('x'), None);
    }
}
