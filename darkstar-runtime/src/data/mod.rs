//! The data service: where a core's batch goes to commit.
//!
//! The executor commits through this one interface, with two implementations: the
//! embedded store ([`EmbeddedData`], a commit decided at once under the store's writer
//! lock) and a cluster node's replica fed by the shared commit log
//! (`cluster::ReplicaData`, a commit proposed to the log and decided when the node applies
//! the record holding it). Cluster code depends on this interface, never the reverse.

mod embedded;
pub(crate) mod pending;

use darkstar_sdk::Delivery;
use darkstar_storage::{Batch, CommitError};

use crate::changes::Scheduled;

pub(crate) use embedded::EmbeddedData;
pub(crate) use pending::{Base, Pending};

/// What became of a batch handed to [`DataService::commit_batch`].
#[derive(Debug)]
pub(crate) enum Commit {
    /// Decided at once: committed at this local sequence number, or refused.
    Decided(Result<u64, CommitError>),
    /// Proposed under `version`: every write of the batch will carry that version if it
    /// commits. The outcome reaches the core later, as a [`Job::Outcome`](crate::job::Job).
    Proposed { version: u64 },
}

/// How a proposed batch ended, as the node learnt when it applied the record holding it.
#[derive(Debug)]
pub(crate) struct Outcome {
    /// The version the batch was proposed under.
    pub version: u64,
    /// The local sequence number it committed at, or why not.
    pub result: Result<u64, CommitError>,
}

/// Where committed state lives and how commits are decided.
pub(crate) trait DataService: Send + Sync {
    /// A fresh id for a new object, stored task or session: unique across every node that
    /// shares the world. Fails only in a cluster, when no range of ids can be had.
    fn allocate_id(&self) -> Result<u64, CommitError>;

    /// Commits a core's batch (its reads and writes) together with what it delivers to
    /// clients once committed, the client messages it handled (`(session, number)`, which
    /// a resumed session must not handle again) and the tasks it stored (`scheduled`, for
    /// the node that owns each to run).
    fn commit_batch(
        &self,
        core: usize,
        batch: &mut Batch,
        deliveries: Vec<Delivery>,
        handled: &[(u64, u64)],
        scheduled: &[Scheduled],
    ) -> Commit;

    /// Commits `batch` and waits for the verdict: for work outside the cores (start-up,
    /// accounts). Returns the local sequence number it committed at.
    fn commit_now(&self, batch: &mut Batch) -> Result<u64, CommitError>;

    /// Whether a read-only batch may be answered at its snapshot: true unless the batch
    /// read what a proposed batch, still undecided, wrote (see [`Pending`]), or has
    /// `outgoing` deliveries or handled client messages (they are stored with a commit of
    /// their own: on one server in the outbox, in a cluster in the log).
    fn settles_read_only_locally(&self, pending: usize, outgoing: usize) -> bool {
        let _ = pending;
        outgoing == 0
    }

    /// Whether the tasks a batch stores are handed to their cores when the batch is applied
    /// (on whichever node owns them) rather than by the core that committed it.
    fn schedules_on_apply(&self) -> bool {
        false
    }

    /// In a cluster, this node run's incarnation (recorded with the sessions it holds).
    fn incarnation(&self) -> Option<u64> {
        None
    }

    /// The most batches a core keeps proposed but undecided.
    fn max_pending(&self) -> usize {
        0
    }
}
