//! A lock-free latency histogram: log-linear buckets (8 per power of two) of atomic counts,
//! so every executor thread can record into it without contention on a lock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

const SUB: u32 = 3;
const BUCKETS: usize = 64 << SUB;

/// Latencies recorded in nanoseconds; percentiles are accurate to 1/8 of their power of two.
pub struct Latency {
    buckets: Box<[AtomicU64]>,
}

impl Default for Latency {
    fn default() -> Latency {
        Latency {
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

fn bucket(ns: u64) -> usize {
    if ns < (1 << SUB) {
        return ns as usize;
    }
    let top = 63 - ns.leading_zeros();
    let sub = (ns >> (top - SUB)) & ((1 << SUB) - 1);
    (((top - SUB + 1) << SUB) as u64 + sub) as usize
}

fn lower_bound(b: usize) -> u64 {
    if b < (1 << SUB) {
        return b as u64;
    }
    let top = (b >> SUB) as u32 + SUB - 1;
    let sub = (b & ((1 << SUB) - 1)) as u64;
    (1u64 << top) | (sub << (top - SUB))
}

impl Latency {
    /// Records one latency.
    pub fn record(&self, d: Duration) {
        let ns = d.as_nanos().min(u64::MAX as u128) as u64;
        self.buckets[bucket(ns)].fetch_add(1, Ordering::Relaxed);
    }

    /// Moves every count out (for per-interval figures), returning the counts.
    pub fn take(&self) -> Vec<u64> {
        self.buckets
            .iter()
            .map(|b| b.swap(0, Ordering::Relaxed))
            .collect()
    }

    /// The `q` quantile (0..=1) of taken counts, or zero if there are none.
    pub fn quantile(counts: &[u64], q: f64) -> Duration {
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return Duration::ZERO;
        }
        let rank = ((total as f64 * q).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        for (b, &c) in counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Duration::from_nanos(lower_bound(b));
            }
        }
        unreachable!("rank <= total")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotonic_and_tight() {
        let mut last = 0;
        for ns in [0u64, 1, 7, 8, 9, 100, 1000, 123_456, 10_000_000_000] {
            let b = bucket(ns);
            assert!(b >= last);
            last = b;
            let lo = lower_bound(b);
            assert!(
                lo <= ns && ns - lo <= ns / 8 + 1,
                "{ns} in bucket from {lo}"
            );
        }
        let h = Latency::default();
        for us in 1..=100 {
            h.record(Duration::from_micros(us));
        }
        let counts = h.take();
        let p50 = Latency::quantile(&counts, 0.5).as_micros();
        assert!((44..=50).contains(&p50), "p50 {p50}us");
        assert_eq!(Latency::quantile(&h.take(), 0.5), Duration::ZERO);
    }
}
