//! One attempt at running a task: a transaction around game code, with panics contained.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use darkstar_sdk::{Context, TaskError, TaskResult};

use crate::changes::Changes;
use crate::data::Base;
use crate::shared::Shared;
use crate::txn::TaskTxn;

/// Why an attempt did not succeed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Game code (or the context) returned an error.
    Error(TaskError),
    /// Game code panicked; the message.
    Panic(String),
}

impl Failure {
    /// Whether running again may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Failure::Error(e) if e.is_retryable())
    }

    /// The error a submitter is told.
    pub fn into_error(self) -> TaskError {
        match self {
            Failure::Error(e) => e,
            Failure::Panic(message) => TaskError::abort(format!("the task panicked: {message}")),
        }
    }
}

/// Runs `body` as a transaction over `base` and `batch`, aborted past `limit`. Returns the
/// outcome and the task's changes (to absorb on success; to clear otherwise). `own` must be
/// empty.
pub(crate) fn attempt(
    shared: &Shared,
    limit: Duration,
    base: Base<'_>,
    batch: &Changes,
    current: Option<u64>,
    own: Changes,
    body: impl FnOnce(&mut Context<'_>) -> TaskResult,
) -> (Result<(), Failure>, Changes) {
    let txn = TaskTxn::new(base, batch, shared, limit, current, own);
    // Game code may leave its own data half-changed when it panics; that data is dropped
    // with the transaction, so unwinding past it is safe.
    let result = catch_unwind(AssertUnwindSafe(|| body(&mut Context::new(&txn))));
    let finished = txn.finish();
    let outcome = match result {
        Err(payload) => {
            let message = panic_message(payload.as_ref());
            // The payload is game data: its Drop may panic too.
            if let Err(again) = catch_unwind(AssertUnwindSafe(move || drop(payload))) {
                std::mem::forget(again);
            }
            Err(Failure::Panic(message))
        }
        Ok(Err(e)) => Err(Failure::Error(e)),
        Ok(Ok(())) => match finished.failure {
            Some(e) => Err(Failure::Error(e)),
            None => Ok(()),
        },
    };
    (outcome, finished.own)
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_owned()
    }
}
