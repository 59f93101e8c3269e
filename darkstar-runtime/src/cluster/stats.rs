//! What a node's log traffic looks like: for status lines, benchmarks and metrics.

use std::sync::atomic::{AtomicU64, Ordering};

/// Buckets of the apply-lag histogram: bucket `i` counts lags below 2^i microseconds.
const BUCKETS: usize = 32;

/// Counters a node keeps about the shared log.
#[derive(Default)]
pub(crate) struct LogCounters {
    pub applied_position: AtomicU64,
    pub head_seen: AtomicU64,
    pub records_applied: AtomicU64,
    pub bytes_applied: AtomicU64,
    pub batches_committed: AtomicU64,
    pub batches_conflicted: AtomicU64,
    pub records_appended: AtomicU64,
    pub bytes_appended: AtomicU64,
    pub append_retries: AtomicU64,
    lag: [AtomicU64; BUCKETS],
}

impl LogCounters {
    /// Records one record's apply lag: from its append to its application here.
    pub fn lag(&self, micros: u64) {
        let bucket = (64 - micros.leading_zeros() as usize).min(BUCKETS - 1);
        self.lag[bucket].fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> ClusterStats {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        ClusterStats {
            applied_position: get(&self.applied_position),
            head_seen: get(&self.head_seen),
            records_applied: get(&self.records_applied),
            bytes_applied: get(&self.bytes_applied),
            batches_committed: get(&self.batches_committed),
            batches_conflicted: get(&self.batches_conflicted),
            records_appended: get(&self.records_appended),
            bytes_appended: get(&self.bytes_appended),
            append_retries: get(&self.append_retries),
            apply_lag: self.lag.each_ref().map(get),
        }
    }
}

/// A node's log figures since it started ([`Server::cluster_stats`](crate::Server::cluster_stats)).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClusterStats {
    /// The last position this node applied.
    pub applied_position: u64,
    /// The highest position this node has read from the log.
    pub head_seen: u64,
    /// Records applied (every node's).
    pub records_applied: u64,
    /// Bytes of those records.
    pub bytes_applied: u64,
    /// Batches of those records that committed.
    pub batches_committed: u64,
    /// Batches of those records that conflicted (every node reaches the same verdict).
    pub batches_conflicted: u64,
    /// Records this node appended.
    pub records_appended: u64,
    /// Bytes of those records.
    pub bytes_appended: u64,
    /// Appends tried again after a failure.
    pub append_retries: u64,
    /// Apply lag histogram: element `i` counts records applied less than 2^i microseconds
    /// after they were appended (the last bucket counts everything slower).
    pub apply_lag: [u64; BUCKETS],
}

impl ClusterStats {
    /// The apply lag below which a fraction `q` of the records were applied, in
    /// microseconds (the upper edge of its bucket), or 0 with none applied.
    pub fn apply_lag_quantile(&self, q: f64) -> u64 {
        let total: u64 = self.apply_lag.iter().sum();
        if total == 0 {
            return 0;
        }
        let want = ((total as f64) * q).ceil() as u64;
        let mut seen = 0;
        for (i, n) in self.apply_lag.iter().enumerate() {
            seen += n;
            if seen >= want {
                return 1u64 << i;
            }
        }
        1u64 << (BUCKETS - 1)
    }

    /// The figures gathered between `earlier` and `self`.
    pub fn since(&self, earlier: &ClusterStats) -> ClusterStats {
        let d = |a: u64, b: u64| a.saturating_sub(b);
        let mut lag = self.apply_lag;
        for (l, e) in lag.iter_mut().zip(earlier.apply_lag) {
            *l = l.saturating_sub(e);
        }
        ClusterStats {
            applied_position: self.applied_position,
            head_seen: self.head_seen,
            records_applied: d(self.records_applied, earlier.records_applied),
            bytes_applied: d(self.bytes_applied, earlier.bytes_applied),
            batches_committed: d(self.batches_committed, earlier.batches_committed),
            batches_conflicted: d(self.batches_conflicted, earlier.batches_conflicted),
            records_appended: d(self.records_appended, earlier.records_appended),
            bytes_appended: d(self.bytes_appended, earlier.bytes_appended),
            append_retries: d(self.append_retries, earlier.append_retries),
            apply_lag: lag,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_quantiles_come_from_their_buckets() {
        let c = LogCounters::default();
        for _ in 0..99 {
            c.lag(900); // below 1024
        }
        c.lag(40_000); // below 65536
        let s = c.snapshot();
        assert_eq!(s.apply_lag_quantile(0.5), 1024);
        assert_eq!(s.apply_lag_quantile(0.99), 1024);
        assert_eq!(s.apply_lag_quantile(1.0), 65536);
        assert_eq!(s.since(&s).apply_lag_quantile(0.5), 0);
    }
}
