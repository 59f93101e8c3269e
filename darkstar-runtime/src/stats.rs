//! Running totals a program can read directly (the metrics carry the same and more).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::histogram::Histogram;

/// One core's totals, on its own cache lines so cores never contend for them. The admin
/// API reads them; the metrics exporter has its own copies.
#[derive(Debug, Default)]
#[repr(align(128))]
pub(crate) struct CoreCounters {
    pub committed: AtomicU64,
    pub conflicts: AtomicU64,
    pub failed: AtomicU64,
    pub batches: AtomicU64,
    /// Microseconds spent running batches.
    pub busy_us: AtomicU64,
    /// Timers waiting in the core's heap.
    pub timers: AtomicU64,
    /// Per task type, indexed like the registry's names.
    pub tasks: Box<[Arc<TaskCounts>]>,
    /// From a batch's start to its commit being durable.
    pub commit_latency: Histogram,
    /// Running a batch's tasks.
    pub run_latency: Histogram,
}

/// One task type's totals on one core.
#[derive(Debug, Default)]
pub(crate) struct TaskCounts {
    pub commits: AtomicU64,
    pub conflicts: AtomicU64,
    pub time_limits: AtomicU64,
    pub errors: AtomicU64,
    pub panics: AtomicU64,
    pub retries: AtomicU64,
    pub rescheduled: AtomicU64,
}

impl TaskCounts {
    /// Adds these counts into `into`, field by field.
    pub fn add_into(&self, into: &mut TaskTotals) {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        into.commits += get(&self.commits);
        into.conflicts += get(&self.conflicts);
        into.time_limits += get(&self.time_limits);
        into.errors += get(&self.errors);
        into.panics += get(&self.panics);
        into.retries += get(&self.retries);
        into.rescheduled += get(&self.rescheduled);
    }
}

/// A task type's totals since the server started, summed over cores.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub(crate) struct TaskTotals {
    pub commits: u64,
    pub conflicts: u64,
    pub time_limits: u64,
    pub errors: u64,
    pub panics: u64,
    pub retries: u64,
    pub rescheduled: u64,
}

impl CoreCounters {
    /// Counters for a core running `task_types` types of task.
    pub fn new(task_types: usize) -> CoreCounters {
        CoreCounters {
            tasks: (0..task_types).map(|_| Arc::default()).collect(),
            ..CoreCounters::default()
        }
    }
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
