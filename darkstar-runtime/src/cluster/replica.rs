//! The data service of a cluster node: batches go to the shared log, and their verdicts
//! come back from the node's own applier, which applies every record to the local replica.

use std::sync::atomic::{AtomicU64, Ordering};

use darkstar_sdk::Delivery;
use darkstar_storage::{Batch, CommitError};
use hashbrown::HashMap;
use parking_lot::Mutex;

use super::ids::{IdRanges, RANGE};
use super::record;
use crate::changes::Scheduled;
use crate::data::{Commit, DataService};
use crate::session::handled_key;

/// Bits of a version below the incarnation: a node's run proposes fewer than 2^40 batches.
pub(crate) const COUNTER_BITS: u32 = 40;
/// Incarnations are numbered below this (bit 62 of a version is the applier's own).
pub(crate) const MAX_INCARNATION: u64 = 1 << (62 - COUNTER_BITS);
/// A single entry larger than this is refused before it reaches the log.
const MAX_ENTRY: usize = 16 << 20;
/// Batches a core keeps proposed but undecided.
const MAX_PENDING: usize = 64;

/// Who waits for a proposed batch's verdict.
pub(crate) enum Waiter {
    /// A core: the verdict goes to its inbox.
    Core(usize),
    /// A caller blocked in `commit_now`.
    Now(flume::Sender<Result<u64, CommitError>>),
}

/// A cluster node's side of proposing.
pub(crate) struct ReplicaData {
    incarnation: u64,
    counter: AtomicU64,
    /// Encoded entries for the proposer, which groups them into records.
    proposals: flume::Sender<Vec<u8>>,
    waiters: Mutex<HashMap<u64, Waiter>>,
    pub ids: IdRanges,
    /// Why the node can no longer apply the log, once it cannot.
    failed: std::sync::OnceLock<String>,
}

impl ReplicaData {
    pub fn new(incarnation: u64, proposals: flume::Sender<Vec<u8>>) -> ReplicaData {
        assert!(
            incarnation > 0 && incarnation < MAX_INCARNATION,
            "incarnation {incarnation} out of range"
        );
        ReplicaData {
            incarnation,
            counter: AtomicU64::new(1),
            proposals,
            waiters: Mutex::new(HashMap::new()),
            ids: IdRanges::default(),
            failed: std::sync::OnceLock::new(),
        }
    }

    pub fn incarnation(&self) -> u64 {
        self.incarnation
    }

    /// A version no other batch of any node carries: this run's incarnation above a count.
    fn version(&self) -> u64 {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        assert!(n < 1 << COUNTER_BITS, "a node's run proposed 2^40 batches");
        (self.incarnation << COUNTER_BITS) | n
    }

    /// The node cannot apply the log any more: every waiting proposer hears why, and
    /// later proposals fail at once. Returns the cores' waiting proposals, oldest first,
    /// for the caller to answer.
    pub fn fail(&self, why: &str) -> Vec<(u64, usize)> {
        let _ = self.failed.set(why.to_owned());
        self.ids.close(why);
        let waiters: Vec<(u64, Waiter)> = self.waiters.lock().drain().collect();
        let mut cores = Vec::new();
        for (version, waiter) in waiters {
            match waiter {
                Waiter::Now(tx) => {
                    let _ = tx.send(Err(CommitError::Failed(why.to_owned())));
                }
                Waiter::Core(core) => cores.push((version, core)),
            }
        }
        cores.sort_unstable();
        cores
    }

    /// Why the node can no longer apply the log, if it cannot.
    pub fn failure(&self) -> Option<&str> {
        self.failed.get().map(String::as_str)
    }

    /// Who waits for the batch proposed under `version`, if it was this node's.
    pub fn waiter(&self, version: u64) -> Option<Waiter> {
        self.waiters.lock().remove(&version)
    }

    fn propose(
        &self,
        waiter: Waiter,
        batch: &mut Batch,
        core: usize,
        deliveries: &[Delivery],
        scheduled: &[Scheduled],
    ) -> Result<u64, CommitError> {
        if let Some(why) = self.failed.get() {
            return Err(CommitError::Failed(why.clone()));
        }
        let version = self.version();
        batch.set_version(Some(version));
        let mut entry = Vec::new();
        record::put_batch(core, batch, deliveries, scheduled, &mut entry);
        if entry.len() > MAX_ENTRY {
            return Err(CommitError::Invalid(format!(
                "the batch takes {} bytes in the log, more than the {MAX_ENTRY} one entry may",
                entry.len()
            )));
        }
        // Registered before it is sent, so the verdict always finds its waiter.
        self.waiters.lock().insert(version, waiter);
        if self.proposals.send(entry).is_err() {
            self.waiters.lock().remove(&version);
            return Err(CommitError::Closed);
        }
        Ok(version)
    }

    fn ask_for_ids(&self) {
        let mut entry = Vec::new();
        record::put_reserve(RANGE, &mut entry);
        // A node that is stopping needs no more ids.
        let _ = self.proposals.send(entry);
    }
}

impl DataService for ReplicaData {
    fn allocate_id(&self) -> Result<u64, CommitError> {
        self.ids.allocate(|| self.ask_for_ids())
    }

    fn commit_batch(
        &self,
        core: usize,
        batch: &mut Batch,
        deliveries: Vec<Delivery>,
        handled: &[(u64, u64)],
        scheduled: &[Scheduled],
    ) -> Commit {
        // Every replica records what each session handled, for whichever node resumes it:
        // once per session, its newest (a session's messages are handled in order).
        let mut newest: HashMap<u64, u64> = HashMap::with_capacity(handled.len());
        for &(session, seq) in handled {
            newest.insert(session, seq);
        }
        for (session, seq) in newest {
            batch.bind(&handled_key(session), seq);
        }
        match self.propose(Waiter::Core(core), batch, core, &deliveries, scheduled) {
            Ok(version) => Commit::Proposed { version },
            Err(e) => Commit::Decided(Err(e)),
        }
    }

    fn commit_now(&self, batch: &mut Batch) -> Result<u64, CommitError> {
        let (tx, rx) = flume::bounded(1);
        self.propose(Waiter::Now(tx), batch, usize::from(u16::MAX), &[], &[])?;
        rx.recv().unwrap_or(Err(CommitError::Closed))
    }

    fn settles_read_only_locally(&self, pending: usize, outgoing: usize) -> bool {
        // What the batch read may rest on a proposed batch that the log has not decided,
        // and what it sends and handled goes in the log.
        pending == 0 && outgoing == 0
    }

    fn schedules_on_apply(&self) -> bool {
        true
    }

    fn incarnation(&self) -> Option<u64> {
        Some(self.incarnation)
    }

    fn max_pending(&self) -> usize {
        MAX_PENDING
    }
}
