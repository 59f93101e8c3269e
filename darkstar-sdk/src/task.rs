//! The `Task` trait, task results and persistent task handles.

use crate::context::Context;
use crate::error::TaskError;
use crate::stored::Stored;

/// What a task returns: `Ok(())` commits its transaction, an error aborts it.
pub type TaskResult = Result<(), TaskError>;

/// A unit of work: its arguments, archived, plus the code that runs them.
///
/// Implemented by [`#[task]`](macro@crate::task) for a struct of the function's arguments.
/// Because the arguments are archived, a task can be stored and run later, after a restart,
/// or on another core.
///
/// Its stable name, version, layout and older versions come from [`Stored`].
pub trait Task: Stored + Send {
    /// Runs the task once, inside a transaction. The runtime may call it again (on a fresh
    /// copy of the arguments) if the transaction conflicts and is retried.
    fn run(self, ctx: &mut Context<'_>) -> TaskResult;

    /// Calls `visit` with the id of every [`Ref`](crate::Ref) argument: the objects the task
    /// is about, which placement uses to keep tasks on the same hot objects together.
    fn refs(&self, _visit: &mut dyn FnMut(u64)) {}

    /// The affinity key that picks the core the task runs on: by default the first
    /// reference argument, or `None` (any core) for a task without one.
    fn affinity(&self) -> Option<u64> {
        let mut first = None;
        self.refs(&mut |id| {
            first.get_or_insert(id);
        });
        first
    }
}

/// What a task function may return: nothing, or a [`TaskResult`].
#[diagnostic::on_unimplemented(
    message = "a task returns `TaskResult` or nothing, not `{Self}`",
    label = "not a task result",
    note = "return `Ok(())` to commit, or an error (`TaskError::abort(..)`) to roll back"
)]
pub trait IntoTaskResult {
    /// The result as a [`TaskResult`].
    fn into_task_result(self) -> TaskResult;
}

impl IntoTaskResult for () {
    fn into_task_result(self) -> TaskResult {
        Ok(())
    }
}

impl IntoTaskResult for TaskResult {
    fn into_task_result(self) -> TaskResult {
        self
    }
}

/// A persistent handle to a scheduled task, to cancel it. It can be stored in a managed
/// object and stays valid across restarts until the task has run (or, for a periodic task,
/// until it is cancelled).
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    rkyv::Archive,
    rkyv::Serialize,
    rkyv::Deserialize,
    darkstar_macros::Layout,
)]
#[rkyv(crate = rkyv, derive(Debug, PartialEq, Eq))]
pub struct TaskHandle {
    id: u64,
}

impl TaskHandle {
    /// The handle of stored task `id`.
    pub const fn from_id(id: u64) -> TaskHandle {
        TaskHandle { id }
    }

    /// The stored task's id.
    pub const fn id(self) -> u64 {
        self.id
    }
}

impl ArchivedTaskHandle {
    /// The handle, read from its archive.
    pub fn get(&self) -> TaskHandle {
        TaskHandle::from_id(self.id.to_native())
    }
}
