//! Running totals a program can read directly (the metrics carry the same and more).

use std::sync::atomic::{AtomicU64, Ordering};

/// One core's totals, on its own cache lines so cores never contend for them.
#[derive(Debug, Default)]
#[repr(align(128))]
pub(crate) struct CoreCounters {
    pub committed: AtomicU64,
    pub conflicts: AtomicU64,
    pub failed: AtomicU64,
    pub batches: AtomicU64,
}

impl CoreCounters {
    pub fn add(counter: &AtomicU64, n: u64) {
        // Only the owning core writes; a plain load and store avoids a locked instruction.
        counter.store(counter.load(Ordering::Relaxed) + n, Ordering::Relaxed);
    }
}

/// Totals since the server started, summed over cores.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RuntimeStats {
    /// Task runs committed.
    pub committed: u64,
    /// Task runs rolled back by a conflict with another core (each is retried).
    pub conflicts: u64,
    /// Task runs dropped: a non-retryable error or a panic.
    pub failed: u64,
    /// Batches committed.
    pub batches: u64,
}

impl RuntimeStats {
    pub(crate) fn sum(cores: &[CoreCounters]) -> RuntimeStats {
        let mut s = RuntimeStats::default();
        for c in cores {
            s.committed += c.committed.load(Ordering::Relaxed);
            s.conflicts += c.conflicts.load(Ordering::Relaxed);
            s.failed += c.failed.load(Ordering::Relaxed);
            s.batches += c.batches.load(Ordering::Relaxed);
        }
        s
    }
}
