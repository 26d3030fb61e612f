//! Fuzz harness (see fuzz/README.md): always compiled so stable tests replay the corpus.

use std::time::{Duration, Instant};

use rtp::{MediaTime, SeqNo, Ssrc};

use crate::buffer::{JitterBuffer, PacketInfo};
use crate::config::{DelayMode, JitterConfig};
use crate::playout::Playout;

/// Drives a buffer with operations decoded from `data`, 8 bytes each: a push (sequence
/// number, timestamp, marker, SSRC and comfort-noise bits, time step) or a pop. Checks the
/// invariants: bounded occupancy, no payload played twice, statistics consistent. `t0` is any
/// instant (the virtual clock starts there).
pub fn jb_ops(t0: Instant, data: &[u8]) {
    let Some((&head, ops)) = data.split_first() else {
        return;
    };
    let mut config = JitterConfig::new(8_000, 20);
    config.capacity = 16 + usize::from(head & 0x3F);
    if head & 0x80 != 0 {
        config.mode = DelayMode::Fixed(Duration::from_millis(u64::from(head & 0x7F)));
    }
    let Ok(mut jb) = JitterBuffer::<u64>::new(config) else {
        return;
    };
    let cap = jb.config().capacity.next_power_of_two();
    let mut now = t0;
    let mut played = std::collections::HashSet::new();
    for (n, op) in ops.chunks_exact(8).enumerate() {
        let step = u64::from(op[7]) * 250;
        now += Duration::from_micros(step);
        if op[0] & 1 == 0 {
            let seq = u16::from_be_bytes([op[1], op[2]]);
            let ts = u32::from_be_bytes([op[3], op[4], op[5], op[6]]);
            let info = PacketInfo {
                seq: SeqNo(u64::from(seq)),
                media: MediaTime::new(u64::from(ts), 8_000),
                marker: op[0] & 2 != 0,
                ssrc: Some(Ssrc(u32::from(op[0] >> 6))),
                duration: (op[0] & 4 != 0).then_some(u32::from(op[6])),
                comfort_noise: op[0] & 8 != 0,
            };
            jb.push_packet(now, info, n as u64);
        } else if let Playout::Frame(f) = jb.pop(now) {
            assert!(played.insert(f.payload), "payload played twice");
        }
        assert!(
            jb.len() <= cap,
            "occupancy {} above capacity {cap}",
            jb.len()
        );
        let s = jb.stats();
        assert!(s.late + s.duplicate + s.overflow <= s.received);
        assert!(s.frames <= s.received);
    }
}
