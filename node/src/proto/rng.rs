//! SplitMix64: the one random generator of the node, seeded, so a run can be
//! replayed.
//!
//! Connection ids and timer jitter come from generators of this type, each
//! seeded from the node's seed ([`NodeConfig::seed`](crate::NodeConfig));
//! the mock network's loss, delay and reordering come from one too. No code
//! in `node/src` calls `rand::thread_rng` (the lint bans it).

use std::time::Duration;

/// SplitMix64: a tiny, good-enough, seedable generator (no dependency needed).
#[derive(Debug, Clone)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform float in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A uniform duration in `[0, max)` (zero if `max` is zero).
    pub fn jitter(&mut self, max: Duration) -> Duration {
        max.mul_f64(self.next_f64())
    }

    /// A new generator seeded from this one (for a sub-component).
    pub fn fork(&mut self) -> SplitMix64 {
        SplitMix64(self.next_u64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence_and_jitter_in_range() {
        let mut a = SplitMix64(9);
        let mut b = SplitMix64(9);
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        let max = Duration::from_millis(40);
        assert!((0..1000).all(|_| a.jitter(max) < max));
        assert_eq!(a.jitter(Duration::ZERO), Duration::ZERO);
        assert_ne!(SplitMix64(1).next_u64(), SplitMix64(2).next_u64());
    }
}
