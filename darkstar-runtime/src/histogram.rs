//! A latency histogram with power-of-two buckets in microseconds, cheap enough to record
//! into on every batch: one core writes it, anyone reads it.

use std::sync::atomic::{AtomicU64, Ordering};

/// Bucket bounds: 1 µs, 2 µs, 4 µs, ... 2^23 µs (about 8.4 s).
pub(crate) const BOUNDS: usize = 24;

/// Counts per bucket: `counts[i]` holds values below `2^i` µs and at or above `2^(i-1)`;
/// the last holds everything at or above the last bound.
#[derive(Debug, Default)]
pub(crate) struct Histogram {
    counts: [AtomicU64; BOUNDS + 1],
    sum_us: AtomicU64,
}

impl Histogram {
    /// The upper bound of every bucket but the last, in microseconds.
    pub fn bounds_us() -> [u64; BOUNDS] {
        std::array::from_fn(|i| 1 << i)
    }

    /// Records `us` microseconds. Only one thread records into a histogram.
    pub fn record(&self, us: u64) {
        let bucket = ((u64::BITS - us.leading_zeros()) as usize).min(BOUNDS);
        debug_assert!(bucket == BOUNDS || us < 1 << bucket);
        add(&self.counts[bucket], 1);
        add(&self.sum_us, us);
    }

    /// The counts now, and the sum of what was recorded.
    pub fn read(&self) -> ([u64; BOUNDS + 1], u64) {
        (
            self.counts.each_ref().map(|c| c.load(Ordering::Relaxed)),
            self.sum_us.load(Ordering::Relaxed),
        )
    }

    /// Adds `other`'s counts into `counts` and `sum`.
    pub fn add_into(&self, counts: &mut [u64; BOUNDS + 1], sum: &mut u64) {
        let (c, s) = self.read();
        for (into, c) in counts.iter_mut().zip(c) {
            *into += c;
        }
        *sum += s;
    }
}

fn add(counter: &AtomicU64, n: u64) {
    // One writer: a plain load and store avoids a locked instruction. Saturating: a
    // value of years must not wrap the sum around.
    counter.store(
        counter.load(Ordering::Relaxed).saturating_add(n),
        Ordering::Relaxed,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_land_in_the_bucket_whose_bound_is_above_them() {
        let h = Histogram::default();
        for us in [0, 1, 2, 3, 4, 1000, u64::MAX] {
            h.record(us);
        }
        let (counts, _) = h.read();
        assert_eq!(counts[0], 1, "0 µs is below 1");
        assert_eq!(counts[1], 1, "1 µs is below 2");
        assert_eq!(counts[2], 2, "2 and 3 µs are below 4");
        assert_eq!(counts[3], 1, "4 µs is below 8");
        assert_eq!(counts[10], 1, "1000 µs is below 1024");
        assert_eq!(counts[BOUNDS], 1, "the rest");
        assert_eq!(counts.iter().sum::<u64>(), 7);
    }
}
