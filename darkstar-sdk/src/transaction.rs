//! The interface between the SDK and the runtime that implements transactions.

use std::time::Duration;

use rkyv::util::AlignedVec;

use crate::delivery::Delivery;
use crate::error::TaskError;

/// A stored object as the transaction sees it.
#[derive(Clone, Copy, Debug)]
pub struct RawObject<'a> {
    /// Its stable type name.
    pub type_name: &'a str,
    /// Its rkyv archive, 16-byte aligned.
    pub bytes: &'a [u8],
}

/// A task to store in the transaction's commit.
#[derive(Debug)]
pub struct Schedule {
    /// The task type's stable name.
    pub type_name: &'static str,
    /// The archived arguments.
    pub args: AlignedVec,
    /// How long after the commit the first run is due.
    pub delay: Duration,
    /// For a periodic task, the time between runs (never zero).
    pub period: Option<Duration>,
    /// The affinity key that picks its core.
    pub affinity: Option<u64>,
}

/// One transaction, as implemented by the runtime. Game code uses it through
/// [`Context`](crate::Context), which adds the types.
///
/// Every method takes `&self`: reads and writes interleave freely, and bytes returned by
/// [`read_object`](Self::read_object) stay valid for the whole transaction even if the object
/// is written afterwards.
pub trait Transaction {
    /// Fails with [`TaskError::TimeLimit`] once the task has run past its limit.
    fn check(&self) -> Result<(), TaskError>;

    /// Object `id` as this transaction sees it (its own writes included), or `None`.
    fn read_object(&self, id: u64) -> Result<Option<RawObject<'_>>, TaskError>;

    /// A fresh object id, never used before; [`TaskError::Unavailable`] when none can be
    /// had (a cluster node cut off from its log for long).
    fn new_object_id(&self) -> Result<u64, TaskError>;

    /// Stores `bytes` as object `id` when the transaction commits.
    fn write_object(
        &self,
        id: u64,
        type_name: &'static str,
        bytes: AlignedVec,
    ) -> Result<(), TaskError>;

    /// Marks object `id` as open for writing; fails with [`TaskError::AlreadyWriting`] if it
    /// already is. Every successful call is matched by [`end_write`](Self::end_write), or the
    /// commit fails with [`TaskError::LeakedWrite`].
    fn begin_write(&self, id: u64) -> Result<(), TaskError>;

    /// Ends a write opened by [`begin_write`](Self::begin_write), storing its new bytes, or
    /// recording why they could not be produced (which aborts the transaction).
    fn end_write(&self, id: u64, type_name: &'static str, bytes: Result<AlignedVec, TaskError>);

    /// Removes object `id` when the transaction commits.
    fn remove_object(&self, id: u64) -> Result<(), TaskError>;

    /// The object id bound to `name`, or `None`.
    fn lookup(&self, name: &str) -> Result<Option<u64>, TaskError>;

    /// Binds `name` to object `id`, replacing any binding.
    fn bind(&self, name: &str, id: u64) -> Result<(), TaskError>;

    /// Removes the binding of `name`; `false` if it was not bound.
    fn unbind(&self, name: &str) -> Result<bool, TaskError>;

    /// The first bound name after `after` in byte order (`None`: the first name).
    fn next_name(&self, after: Option<&str>) -> Result<Option<String>, TaskError>;

    /// Stores a task to run after the commit; returns its handle's id.
    fn schedule(&self, task: Schedule) -> Result<u64, TaskError>;

    /// Cancels stored task `id`; `false` if it no longer exists.
    fn cancel(&self, id: u64) -> Result<bool, TaskError>;

    /// The stored id of the task running this transaction, if it was scheduled (not
    /// submitted from outside or run as `initialize`).
    fn current_task(&self) -> Option<u64>;

    /// Queues `delivery` to go out once the transaction has committed durably.
    fn deliver(&self, delivery: Delivery) -> Result<(), TaskError>;

    /// Whether session `session` has a connected client now (not transactional).
    fn is_connected(&self, session: u64) -> bool;

    /// The channel bound to `name`, or `None`. Channel names are a namespace of their own.
    fn lookup_channel(&self, name: &str) -> Result<Option<u64>, TaskError>;

    /// Binds channel `name` to object `id`.
    fn bind_channel(&self, name: &str, id: u64) -> Result<(), TaskError>;
}
