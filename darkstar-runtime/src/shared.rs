//! State every core shares.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use darkstar_storage::Store;

use crate::job::Job;
use crate::placement::Placement;
use crate::registry::Registry;
use crate::stats::CoreCounters;

/// How tasks are run and retried.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// A run is aborted (and retried) once it passes this.
    pub time_limit: Duration,
    /// Retryable failures in a row before a task is rescheduled for later.
    pub max_attempts: u32,
    /// How much later.
    pub reschedule_after: Duration,
    /// Most tasks committed together by one core.
    pub max_batch: usize,
}

/// The server's state, shared by its cores and its handle.
pub(crate) struct Shared {
    pub store: Store,
    pub registry: Registry,
    pub placement: Placement,
    pub inboxes: Vec<flume::Sender<Job>>,
    pub limits: Limits,
    /// Totals per core.
    pub counters: Vec<CoreCounters>,
    stopping: AtomicBool,
}

impl Shared {
    pub fn new(
        store: Store,
        registry: Registry,
        placement: Placement,
        inboxes: Vec<flume::Sender<Job>>,
        limits: Limits,
    ) -> Shared {
        assert_eq!(placement.cores(), inboxes.len());
        let inboxes_len = inboxes.len();
        Shared {
            store,
            registry,
            placement,
            inboxes,
            limits,
            counters: (0..inboxes_len).map(|_| CoreCounters::default()).collect(),
            stopping: AtomicBool::new(false),
        }
    }

    /// Whether shutdown has begun: no new work is taken.
    pub fn stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }

    /// Begins shutdown and wakes every core so idle ones notice.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::Release);
        for inbox in &self.inboxes {
            let _ = inbox.send(Job::Wake);
        }
    }

    /// Hands `job` to core `core`. Returns the job if that core has exited.
    pub fn send(&self, core: usize, job: Job) -> Result<(), Job> {
        self.inboxes[core].send(job).map_err(|e| e.into_inner())
    }
}
