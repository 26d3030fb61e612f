//! The sliding replay window of RFC 3711 §3.3.2 (SRTP index) and §3.4 (SRTCP index).

use crate::error::SrtpError;

/// A replay window over packet indexes: the highest authenticated index and a bitmap of the
/// `size` indexes at and below it. The bitmap is allocated once when the stream is created.
///
/// The bitmap holds a power of two of bits, at least `size`, so that an index finds its bit
/// with a mask instead of a division (a 64-bit `div` per packet on the hot path); bits of
/// indexes behind the window are never read.
#[derive(Clone, Debug)]
pub(crate) struct ReplayWindow {
    /// Highest index accepted so far; `None` before the first packet.
    top: Option<u64>,
    /// Bit `i & mask` set = index `i` seen (only meaningful for `top - size < i <= top`).
    bits: Box<[u64]>,
    /// Packets in the window: `size` rounded up to whole words.
    size: u64,
    /// The bitmap's bits minus one (a power of two minus one, at least `size - 1`).
    mask: u64,
}

impl ReplayWindow {
    /// A window of `size` packets (64..=32768, checked by the config; rounded up to whole
    /// 64-bit words).
    pub(crate) fn new(size: usize) -> Self {
        let words = size.div_ceil(64).max(1);
        let cap = words.next_power_of_two();
        Self {
            top: None,
            bits: vec![0; cap].into_boxed_slice(),
            size: (words * 64) as u64,
            mask: (cap * 64 - 1) as u64,
        }
    }

    /// Checks `index` before any cryptographic work: `Replay` if it was accepted before,
    /// `TooOld` if it is behind the window.
    pub(crate) fn check(&self, index: u64) -> Result<(), SrtpError> {
        let Some(top) = self.top else { return Ok(()) };
        if index > top {
            return Ok(());
        }
        if top - index >= self.size {
            return Err(SrtpError::TooOld { index });
        }
        if self.is_set(index) {
            return Err(SrtpError::Replay { index });
        }
        Ok(())
    }

    /// Records an authenticated `index` (call only after `check` passed and the tag matched):
    /// only authenticated packets move the window.
    pub(crate) fn accept(&mut self, index: u64) {
        match self.top {
            None => {
                self.top = Some(index);
            }
            Some(top) if index > top => {
                let delta = index - top;
                if delta >= self.size {
                    self.bits.fill(0);
                } else {
                    for i in top + 1..index {
                        self.clear(i);
                    }
                }
                self.top = Some(index);
            }
            Some(_) => {}
        }
        self.set(index);
    }

    /// Highest accepted index.
    pub(crate) fn top(&self) -> Option<u64> {
        self.top
    }

    /// Forgets every accepted index (after the caller moved the stream's ROC by hand).
    pub(crate) fn reset(&mut self) {
        self.top = None;
        self.bits.fill(0);
    }

    fn slot(&self, index: u64) -> (usize, u64) {
        let bit = index & self.mask;
        ((bit / 64) as usize, 1u64 << (bit % 64))
    }

    fn is_set(&self, index: u64) -> bool {
        let (w, m) = self.slot(index);
        self.bits.get(w).is_some_and(|x| x & m != 0)
    }

    fn set(&mut self, index: u64) {
        let (w, m) = self.slot(index);
        if let Some(x) = self.bits.get_mut(w) {
            *x |= m;
        }
    }

    fn clear(&mut self, index: u64) {
        let (w, m) = self.slot(index);
        if let Some(x) = self.bits.get_mut(w) {
            *x &= !m;
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn replay_and_too_old() {
        let mut w = ReplayWindow::new(128);
        assert_eq!(w.check(1000), Ok(()));
        w.accept(1000);
        assert_eq!(w.check(1000), Err(SrtpError::Replay { index: 1000 }));
        assert_eq!(w.check(999), Ok(()));
        assert_eq!(w.check(1000 - 127), Ok(()));
        assert_eq!(w.check(1000 - 128), Err(SrtpError::TooOld { index: 872 }));
        w.accept(1001);
        w.accept(995);
        assert_eq!(w.check(995), Err(SrtpError::Replay { index: 995 }));
        assert_eq!(w.check(996), Ok(()));
        w.accept(5000);
        assert_eq!(w.check(1001), Err(SrtpError::TooOld { index: 1001 }));
        assert_eq!(w.check(4999), Ok(()));
        // bits of the old window must not leak into the new one
        assert_eq!(w.check(5000 - 8), Ok(()));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// The window agrees with a model that remembers every accepted index.
        #[test]
        fn window_matches_model(size in prop::sample::select(vec![64usize, 128, 192, 320, 1024]),
                                steps in prop::collection::vec(0u64..3000, 1..300)) {
            let mut w = ReplayWindow::new(size);
            let mut seen = std::collections::BTreeSet::new();
            let mut top: Option<u64> = None;
            for i in steps {
                let want = match top {
                    Some(t) if i <= t && t - i >= size as u64 => Err(SrtpError::TooOld { index: i }),
                    _ if seen.contains(&i) => Err(SrtpError::Replay { index: i }),
                    _ => Ok(()),
                };
                prop_assert_eq!(w.check(i), want);
                if want.is_ok() {
                    w.accept(i);
                    seen.insert(i);
                    top = Some(top.map_or(i, |t| t.max(i)));
                }
            }
        }
    }
}
