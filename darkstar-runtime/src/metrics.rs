//! The server's metrics, and their Prometheus exporter.
//!
//! | metric | kind | labels |
//! |---|---|---|
//! | `darkstar_task_commits_total` | counter | `task` |
//! | `darkstar_task_aborts_total` | counter | `task`, `reason` = `conflict`, `time_limit`, `error`, `panic` |
//! | `darkstar_task_retries_total` | counter | `task` |
//! | `darkstar_task_rescheduled_total` | counter | `task` |
//! | `darkstar_commit_seconds` | histogram | (batch start to durable) |
//! | `darkstar_batch_tasks` | histogram | (tasks committed per batch) |
//! | `darkstar_core_busy_microseconds_total` | counter | `core` (time spent running batches) |
//! | `darkstar_timers` | gauge | `core` |
//! | `darkstar_sessions` | gauge | (live sessions) |
//! | `darkstar_connections_total` | counter | `transport` = `tcp`, `websocket` |
//! | `darkstar_logins_total` | counter | `outcome` = `accepted`, `refused`, `failed`, `redirected` |
//! | `darkstar_disconnects_total` | counter | `reason` (the protocol's reason names) |
//! | `darkstar_frames_received_total` | counter | |
//! | `darkstar_frames_sent_total` | counter | |
//! | `darkstar_limits_total` | counter | `limit` = `max_connections_per_address`, `connections_per_sec_per_address`, `logins_per_sec_per_address`, `max_unauthenticated`, `login_queue`, `login_queue_per_address`, `max_sessions`, `session_rate` |
//!
//! Handles are created once per core and task type, so recording costs an atomic add.

use std::net::SocketAddr;

use metrics::{counter, gauge, histogram, Counter, Gauge, Histogram};
use metrics_exporter_prometheus::PrometheusBuilder;

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use crate::registry::Registry;
use crate::stats::{CoreCounters, TaskCounts};

/// Why the exporter could not start.
#[derive(Debug, thiserror::Error)]
#[error("cannot serve metrics on {addr}: {reason}")]
pub struct MetricsError {
    addr: SocketAddr,
    reason: String,
}

/// Serves every metric for Prometheus at `http://addr/metrics`.
pub fn serve_prometheus(addr: SocketAddr) -> Result<(), MetricsError> {
    let buckets = [
        0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
        1.0,
    ];
    let tasks = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];
    PrometheusBuilder::new()
        .with_http_listener(addr)
        .set_buckets_for_metric(
            metrics_exporter_prometheus::Matcher::Full("darkstar_commit_seconds".into()),
            &buckets,
        )
        .and_then(|b| {
            b.set_buckets_for_metric(
                metrics_exporter_prometheus::Matcher::Full("darkstar_batch_tasks".into()),
                &tasks,
            )
        })
        .and_then(|b| b.install())
        .map_err(|e| MetricsError {
            addr,
            reason: e.to_string(),
        })
}

/// A counter the exporter serves and the admin API reads: each increment goes to both.
pub(crate) struct Tally {
    exported: Counter,
    counts: Arc<TaskCounts>,
    field: fn(&TaskCounts) -> &AtomicU64,
}

impl Tally {
    pub fn increment(&self, n: u64) {
        self.exported.increment(n);
        CoreCounters::add((self.field)(&self.counts), n);
    }
}

/// Counters of one task type on one core.
pub(crate) struct TaskMetrics {
    pub commits: Tally,
    pub conflicts: Tally,
    pub time_limits: Tally,
    pub errors: Tally,
    pub panics: Tally,
    pub retries: Tally,
    pub rescheduled: Tally,
}

impl TaskMetrics {
    fn new(task: &'static str, counts: &Arc<TaskCounts>) -> TaskMetrics {
        let tally = |exported: Counter, field: fn(&TaskCounts) -> &AtomicU64| Tally {
            exported,
            counts: counts.clone(),
            field,
        };
        let abort = |reason: &'static str| counter!("darkstar_task_aborts_total", "task" => task, "reason" => reason);
        TaskMetrics {
            commits: tally(
                counter!("darkstar_task_commits_total", "task" => task),
                |c| &c.commits,
            ),
            conflicts: tally(abort("conflict"), |c| &c.conflicts),
            time_limits: tally(abort("time_limit"), |c| &c.time_limits),
            errors: tally(abort("error"), |c| &c.errors),
            panics: tally(abort("panic"), |c| &c.panics),
            retries: tally(
                counter!("darkstar_task_retries_total", "task" => task),
                |c| &c.retries,
            ),
            rescheduled: tally(
                counter!("darkstar_task_rescheduled_total", "task" => task),
                |c| &c.rescheduled,
            ),
        }
    }
}

/// The metric handles one core records into.
pub(crate) struct CoreMetrics {
    /// Indexed like the registry's task types.
    pub tasks: Vec<TaskMetrics>,
    pub commit_seconds: Histogram,
    pub batch_tasks: Histogram,
    pub busy_us: Counter,
    pub timers: Gauge,
}

impl CoreMetrics {
    pub fn new(core: usize, registry: &Registry, counters: &CoreCounters) -> CoreMetrics {
        assert_eq!(counters.tasks.len(), registry.names().len());
        let index = core.to_string();
        CoreMetrics {
            tasks: registry
                .names()
                .iter()
                .zip(counters.tasks.iter())
                .map(|(&name, counts)| TaskMetrics::new(name, counts))
                .collect(),
            commit_seconds: histogram!("darkstar_commit_seconds"),
            batch_tasks: histogram!("darkstar_batch_tasks"),
            busy_us: counter!("darkstar_core_busy_microseconds_total", "core" => index.clone()),
            timers: gauge!("darkstar_timers", "core" => index),
        }
    }
}

/// Counts a session's end, by reason, and updates the session gauge if the session was
/// counted as open (a login may end before it is accepted).
pub(crate) fn session_ended(reason: darkstar_protocol::DisconnectReason, started: bool) {
    counter!("darkstar_disconnects_total", "reason" => reason.name()).increment(1);
    if started {
        gauge!("darkstar_sessions").decrement(1.0);
    }
}

/// Counts a connection closed before it carried a session.
pub(crate) fn connection_refused(reason: darkstar_protocol::DisconnectReason) {
    counter!("darkstar_disconnects_total", "reason" => reason.name()).increment(1);
}

/// A session this node held moved to another node: no longer counted here, and not ended.
pub(crate) fn session_moved() {
    gauge!("darkstar_sessions").decrement(1.0);
}

/// Counts a session opened.
pub(crate) fn session_started() {
    gauge!("darkstar_sessions").increment(1.0);
}

/// Network counters, created once per connection.
pub(crate) struct NetMetrics {
    pub frames_in: Counter,
    pub frames_out: Counter,
}

impl NetMetrics {
    pub fn new() -> NetMetrics {
        NetMetrics {
            frames_in: counter!("darkstar_frames_received_total"),
            frames_out: counter!("darkstar_frames_sent_total"),
        }
    }
}

/// Connections accepted and logins accepted by this process, for the admin API (which
/// serves one server; a process runs one, but for tests).
pub(crate) static CONNECTIONS: AtomicU64 = AtomicU64::new(0);
pub(crate) static LOGINS: AtomicU64 = AtomicU64::new(0);

/// Counts a connection accepted on `transport`.
pub(crate) fn connection_accepted(transport: &'static str) {
    counter!("darkstar_connections_total", "transport" => transport).increment(1);
    CONNECTIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

/// Counts a login by outcome.
pub(crate) fn login(outcome: &'static str) {
    counter!("darkstar_logins_total", "outcome" => outcome).increment(1);
    if outcome == "accepted" {
        LOGINS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}
