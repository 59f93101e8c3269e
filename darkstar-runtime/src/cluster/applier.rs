//! The applier: reads the log in position order and applies every record to the local
//! replica, the node's own records too. Each batch goes through the store's own
//! validation, so every node reaches the same verdict on it; the verdicts on this node's
//! batches go to whoever proposed them.
//!
//! Each installed batch also binds `s/log/applied` to its position and index (position in
//! the high bits, index + 1 in the low 16), in the same commit. A node restarting from its
//! store resumes right after the last installed batch. Batches after it that conflicted
//! were not recorded, but they conflict again: validation sees the same state as before.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use darkstar_storage::{Batch, CommitError, Store};
use tokio::sync::Notify;
use tracing::{debug, error, warn};

use super::error::ClusterError;
use super::ids::FIRST;
use super::log::{Log, Row};
use super::record::{self, Entry};
use super::replica::{ReplicaData, Waiter};
use super::stats::LogCounters;
use super::Settings;
use crate::changes::Scheduled;
use crate::data::Outcome;
use crate::job::Job;
use crate::session::{first_frame, replicated_id, stage_replicated, walk};
use crate::shared::Shared;
use crate::stored_tasks;

/// The binding that records the last installed batch.
pub(crate) const APPLIED: &str = "s/log/applied";
/// The binding that holds the cluster's next free id.
pub(crate) const NEXT_ID: &str = "s/ids/next";
/// How often a node reports how far it has applied.
const REPORT_EVERY: Duration = Duration::from_secs(1);
/// Records read per query.
const READ_LIMIT: i64 = 256;
/// Version bit of writes the applier makes itself (id reservations): proposers' versions
/// never have it (the store keeps bit 63 for itself).
const APPLIER_VERSION: u64 = 1 << 62;

/// Where the applier stands, shared with the node.
#[derive(Default)]
pub(crate) struct Progress {
    /// The last position applied.
    pub applied: AtomicU64,
    /// Figures for status lines and benchmarks.
    pub counters: LogCounters,
    /// Woken after every record applied.
    pub advanced: Notify,
    /// Set when the node stops: the applier outlives the cores, which wait for the
    /// verdicts on their last proposals.
    pub stop: std::sync::atomic::AtomicBool,
    /// Wakes the applier to notice `stop`.
    pub stopped: Notify,
    /// Records this node appended, by position, handed straight to its applier so that
    /// it need not read them back from PostgreSQL; taken once applied (or passed).
    own: parking_lot::Mutex<std::collections::BTreeMap<u64, Row>>,
    /// Wakes the applier for a record in `own`.
    appended: Notify,
}

impl Progress {
    /// This node appended `record` at `position`.
    pub fn appended(&self, position: u64, record: Vec<u8>) {
        let row = Row {
            position,
            record,
            appended_us: now_us(),
        };
        self.own.lock().insert(position, row);
        self.appended.notify_one();
    }

    /// The records this node appended from `position` on without a gap, taken; those
    /// before it (applied from PostgreSQL meanwhile) are dropped.
    fn own_from(&self, position: u64) -> Vec<Row> {
        let mut own = self.own.lock();
        *own = own.split_off(&position);
        let mut rows = Vec::new();
        while let Some(entry) = own.first_entry() {
            if *entry.key() != position + rows.len() as u64 {
                break;
            }
            rows.push(entry.remove());
        }
        rows
    }
}

/// Where a replica resumes: the record of its last installed batch, and the first entry
/// of it not yet applied.
pub(crate) fn resume_point(store: &Store) -> (u64, usize) {
    match store.snapshot().name(APPLIED) {
        Some(b) => (b.id >> 16, (b.id & 0xffff) as usize),
        None => (1, 0),
    }
}

/// Applies records until the node stops, or until it meets one it cannot apply (then it
/// stops the server: a replica must not skip what the others applied).
pub(crate) async fn run(
    settings: Settings,
    shared: Arc<Shared>,
    replica: Arc<ReplicaData>,
    progress: Arc<Progress>,
) {
    let notify = Arc::new(Notify::new());
    let (mut position, mut skip) = resume_point(&shared.store);
    // `position` is the next record to read; `skip` its entries already applied.
    progress.applied.store(position - 1, Ordering::Release);
    let mut log: Option<Log> = None;
    let mut backoff = Duration::from_millis(50);
    let mut reported = (std::time::Instant::now(), 0u64);
    while !progress.stop.load(Ordering::Acquire) {
        if log.as_ref().is_none_or(Log::is_closed) {
            match Log::connect(
                &settings.postgres,
                &settings.cluster,
                Some(notify.clone()),
                false,
            )
            .await
            {
                Ok(l) => {
                    log = Some(l);
                    backoff = Duration::from_millis(50);
                }
                Err(e) => {
                    warn!(error = %e, "cannot reach the shared log to apply it; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                    continue;
                }
            }
        }
        let l = log.as_ref().expect("connected above");
        // What this node still needs of the log, for trimming: about once a second.
        let applied = position - 1;
        if applied != reported.1
            && reported.0.elapsed() >= REPORT_EVERY
            && l.report_applied(&settings.cluster, &settings.node, applied)
                .await
                .is_ok()
        {
            reported = (std::time::Instant::now(), applied);
        }
        // What this node appended itself comes straight from its proposer; the rest is
        // read from the log.
        let mut rows = progress.own_from(position);
        if rows.is_empty() {
            rows = match l.read(position - 1, READ_LIMIT).await {
                Ok(rows) => rows,
                Err(e) => {
                    warn!(error = %e, "reading the shared log failed; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                    continue;
                }
            };
        }
        if rows.is_empty() {
            // Woken by the next append's notification, or by this node's proposer; the
            // timeout only covers a notification lost with a connection.
            let woken = futures_lite::future::or(
                futures_lite::future::or(notify.notified(), progress.appended.notified()),
                progress.stopped.notified(),
            );
            let _ = tokio::time::timeout(Duration::from_secs(1), woken).await;
            continue;
        }
        let counters = &progress.counters;
        if let Some(last) = rows.last() {
            counters
                .head_seen
                .fetch_max(last.position, Ordering::Relaxed);
        }
        for row in rows {
            let at = row.position;
            let applied = if at == position {
                apply(&shared, &replica, counters, at, &row.record, skip)
            } else {
                // Appends take consecutive positions; a hole means rows were deleted
                // under this replica (the log trimmed past it, or tampered with).
                Err(ClusterError::Gap {
                    expected: position,
                    found: at,
                })
            };
            if let Err(e) = applied {
                error!(error = %e, "the replica cannot apply the shared log; stopping");
                let why = e.to_string();
                for (version, core) in replica.fail(&why) {
                    let result = Err(CommitError::Failed(why.clone()));
                    let _ = shared.send(core, Job::Outcome(Outcome { version, result }));
                }
                shared.stop_because(why);
                return;
            }
            skip = 0;
            counters.records_applied.fetch_add(1, Ordering::Relaxed);
            counters
                .bytes_applied
                .fetch_add(row.record.len() as u64, Ordering::Relaxed);
            counters.lag(now_us().saturating_sub(row.appended_us).max(0) as u64);
            counters.applied_position.store(at, Ordering::Relaxed);
            progress.applied.store(at, Ordering::Release);
            progress.advanced.notify_waiters();
            position = at + 1;
        }
    }
}

/// Applies the record at `position`, from its entry `skip` on.
fn apply(
    shared: &Shared,
    replica: &ReplicaData,
    counters: &LogCounters,
    position: u64,
    bytes: &[u8],
    skip: usize,
) -> Result<(), ClusterError> {
    let record =
        record::decode(bytes).map_err(|source| ClusterError::Record { position, source })?;
    let mine = record.incarnation == replica.incarnation();
    // Frames are numbered by the record's position and their place in it, the same on
    // every node, whichever entries this node still has to apply.
    let mut next_frame = first_frame(position);
    for (index, entry) in record.entries.into_iter().enumerate() {
        let first = next_frame;
        if let Entry::Batch { deliveries, .. } = &entry {
            next_frame += walk(deliveries, |_, _, _| {});
        }
        if index < skip {
            continue;
        }
        let mark = (position << 16) | (index as u64 + 1);
        match entry {
            Entry::Batch {
                core,
                mut batch,
                deliveries,
                scheduled,
            } => {
                let version = batch.version().ok_or_else(|| ClusterError::Record {
                    position,
                    source: super::error::RecordError::Batch {
                        index,
                        reason: "a batch without a version".to_owned(),
                    },
                })?;
                batch.bind(APPLIED, mark);
                if !deliveries.is_empty() {
                    // In every replica, for whichever node takes a session over.
                    stage_replicated(&mut batch, replicated_id(mark), first, &deliveries);
                }
                let mut deliveries = Some(deliveries);
                let result = shared.store.commit_with(&batch, |seq| {
                    shared
                        .post
                        .post(seq, first, deliveries.take().unwrap_or_default())
                });
                debug!(
                    position,
                    index,
                    version,
                    ok = result.is_ok(),
                    "batch applied"
                );
                match &result {
                    Ok(seq) => {
                        counters.batches_committed.fetch_add(1, Ordering::Relaxed);
                        shared.post.release(shared, *seq);
                        hand_out(shared, &scheduled);
                    }
                    // The same verdict on every node: nothing to apply.
                    Err(CommitError::Conflict(_) | CommitError::Invalid(_)) => {
                        counters.batches_conflicted.fetch_add(1, Ordering::Relaxed);
                        debug!(position, index, core, "a batch of the log conflicted");
                    }
                    Err(e) => {
                        return Err(ClusterError::Apply {
                            position,
                            reason: e.to_string(),
                        })
                    }
                }
                if mine {
                    route(shared, replica, version, result);
                }
            }
            Entry::Reserve { count } => {
                let next = shared
                    .store
                    .snapshot()
                    .name(NEXT_ID)
                    .map_or(FIRST, |b| b.id);
                let mut batch = Batch::new();
                batch.bind(NEXT_ID, next + count);
                batch.bind(APPLIED, mark);
                batch.set_version(Some(APPLIER_VERSION | mark));
                shared
                    .store
                    .commit(&batch)
                    .map_err(|e| ClusterError::Apply {
                        position,
                        reason: e.to_string(),
                    })?;
                if mine {
                    replica.ids.add(next, count);
                }
            }
        }
    }
    Ok(())
}

/// Now, in Unix microseconds.
fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

/// Hands the tasks a batch stored that this node owns to their cores.
fn hand_out(shared: &Shared, scheduled: &[Scheduled]) {
    for s in scheduled {
        let key = stored_tasks::key(s.id, s.affinity);
        if !shared.ownership.owns(shared.placement.slot_of(key)) {
            continue;
        }
        let job = Job::Stored {
            id: s.id,
            due_ms: s.due_ms,
            attempts: 0,
        };
        // A core that has stopped leaves the task stored.
        let _ = shared.send(shared.placement.core_for_key(key), job);
    }
}

/// Hands the verdict on this node's batch to whoever proposed it.
fn route(shared: &Shared, replica: &ReplicaData, version: u64, result: Result<u64, CommitError>) {
    match replica.waiter(version) {
        Some(Waiter::Core(core)) => {
            // A core that has stopped needs no verdict.
            let _ = shared.send(core, Job::Outcome(Outcome { version, result }));
        }
        Some(Waiter::Now(tx)) => {
            let _ = tx.send(result);
        }
        // Proposed by an earlier run of this node under the same incarnation: impossible,
        // each run takes a new one.
        None => debug_assert!(false, "a verdict on version {version} that nobody awaits"),
    }
}
