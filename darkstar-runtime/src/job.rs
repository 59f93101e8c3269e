//! Work for a core: a task submitted from outside, or a stored task that is due.

use darkstar_sdk::TaskError;
use rkyv::util::AlignedVec;
use smallvec::SmallVec;

use crate::data::Outcome;
use crate::session::SessionJob;

/// Called once with a submitted task's outcome: after its commit is durable, or, if it
/// failed for good, once the batch it failed in is durable (its failure may rest on what
/// that batch read), or at once if it was refused before running.
pub type Reply = Box<dyn FnOnce(Result<(), TaskError>) + Send>;

/// Object ids a task refers to through its arguments.
pub(crate) type Refs = SmallVec<[u64; 4]>;

/// A task submitted from outside a transaction (a client request).
pub(crate) struct Submitted {
    /// Index of its type in the registry.
    pub ty: usize,
    pub args: AlignedVec,
    pub refs: Refs,
    pub affinity: Option<u64>,
    pub reply: Option<Reply>,
    pub attempts: u32,
    /// Times it was set aside for later after `max_attempts` failures in a row.
    pub rescheduled: u32,
}

/// One unit of work for a core.
pub(crate) enum Job {
    Submitted(Submitted),
    /// Stored task `id`, due at `due_ms`.
    Stored {
        id: u64,
        due_ms: u64,
        attempts: u32,
    },
    /// A session event: a login, a client message, a disconnection.
    Session(SessionJob),
    /// The verdict on a batch this core proposed to the shared log.
    Outcome(Outcome),
    /// Nothing: wakes an idle core (to notice shutdown).
    Wake,
}

impl Job {
    /// How many times it has been tried and failed with a retryable error.
    pub fn attempts_mut(&mut self) -> Option<&mut u32> {
        match self {
            Job::Submitted(s) => Some(&mut s.attempts),
            Job::Stored { attempts, .. } => Some(attempts),
            Job::Session(j) => Some(&mut j.attempts),
            Job::Outcome(_) | Job::Wake => None,
        }
    }

    /// Whoever waits for the job's outcome, if anyone.
    pub fn take_reply(self) -> Option<Reply> {
        match self {
            Job::Submitted(s) => s.reply,
            Job::Session(j) => j.reply,
            Job::Stored { .. } | Job::Outcome(_) | Job::Wake => None,
        }
    }
}
