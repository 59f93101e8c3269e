//! Why a task failed.

use std::fmt;
use std::time::Duration;

/// Why a task or one of its operations failed.
///
/// Returning an error from a task aborts its transaction: none of its writes, bindings or
/// scheduled tasks take effect. [`is_retryable`](Self::is_retryable) tells what happens next:
/// a retryable error runs the task again (after a backoff), any other error drops this run,
/// and the server logs it with the task's name.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskError {
    /// Another transaction changed something this one read. Retryable.
    Conflict {
        /// What the conflict was on, for logs.
        on: String,
    },
    /// The task ran past its time limit. Retryable.
    TimeLimit {
        /// The limit it passed.
        limit: Duration,
    },
    /// No object with this id exists (it was never created, or was removed).
    NotFound {
        /// The id looked up.
        id: u64,
        /// The type the reference expected.
        type_name: &'static str,
    },
    /// The object exists but is of another type than the reference says.
    WrongType {
        /// The id looked up.
        id: u64,
        /// The type the reference expected.
        expected: &'static str,
        /// The type stored.
        found: String,
    },
    /// No object is bound to this name.
    NameNotBound {
        /// The name looked up.
        name: String,
    },
    /// A name was empty or too long to store.
    InvalidName {
        /// The name given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The object is already open for writing in this task: a second write guard would
    /// silently overwrite the first one's changes.
    AlreadyWriting {
        /// The object's id.
        id: u64,
    },
    /// A write guard was leaked (`mem::forget`), so its change cannot be stored; the
    /// transaction is aborted rather than lose it.
    LeakedWrite {
        /// The object's id.
        id: u64,
    },
    /// The type was never registered with the server ([`Types`](crate::Types)).
    Unregistered {
        /// The stable type name.
        type_name: &'static str,
    },
    /// A stored value cannot be read: not a valid archive of its type, or a structure it is
    /// part of (a collection's nodes) breaks its invariants.
    Corrupt {
        /// The object or task id.
        id: u64,
        /// What validation found.
        reason: String,
    },
    /// A value could not be archived.
    Encode {
        /// The type being archived.
        type_name: &'static str,
        /// What failed.
        reason: String,
    },
    /// The game aborted the task itself ([`TaskError::abort`]).
    Aborted {
        /// The game's reason.
        reason: String,
    },
    /// The application refused a login ([`Login::refuse`](crate::Login::refuse)); the
    /// login's transaction is rolled back and the client is told `reason`.
    Refused {
        /// The reason the client sees.
        reason: String,
    },
    /// The server is shutting down or its store has failed; the task did not run.
    Unavailable {
        /// Why.
        reason: String,
    },
    /// A collection ([`ManagedMap`](crate::ManagedMap), [`ManagedList`](crate::ManagedList),
    /// [`ManagedQueue`](crate::ManagedQueue)) was used through a handle of other types than
    /// it was created with: its bytes would be read as the wrong type.
    CollectionType {
        /// The collection's header object.
        id: u64,
        /// The collection's type as created, such as `ManagedMap<u64, alloc::string::String>`.
        stored: String,
        /// The type of the handle it was used through.
        requested: String,
    },
    /// A position past the end of a [`ManagedList`](crate::ManagedList).
    OutOfBounds {
        /// The position given.
        index: u64,
        /// The list's length.
        len: u64,
    },
    /// A message (to a session or a channel) is larger than any session can be sent: it
    /// would not fit a session's outgoing queue (`session_queue_kib`).
    MessageTooLarge {
        /// The message's length in bytes.
        len: usize,
        /// The largest message the server sends, in bytes.
        max: usize,
    },
}

impl TaskError {
    /// An abort chosen by game code: the transaction is rolled back and not retried.
    pub fn abort(reason: impl Into<String>) -> TaskError {
        TaskError::Aborted {
            reason: reason.into(),
        }
    }

    /// Whether running the task again may succeed (a conflict or the time limit).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            TaskError::Conflict { .. } | TaskError::TimeLimit { .. }
        )
    }
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Conflict { on } => write!(f, "conflict on {on}: it changed since it was read"),
            TaskError::TimeLimit { limit } => write!(f, "the task ran past its time limit of {limit:?}"),
            TaskError::NotFound { id, type_name } => write!(f, "no {type_name} with id {id}"),
            TaskError::WrongType { id, expected, found } => {
                write!(f, "object {id} is a {found}, not a {expected}")
            }
            TaskError::NameNotBound { name } => write!(f, "no object is bound to the name {name:?}"),
            TaskError::InvalidName { name, reason } => write!(f, "invalid name {name:?}: {reason}"),
            TaskError::AlreadyWriting { id } => write!(
                f,
                "object {id} is already open for writing in this task; drop the first guard before taking another"
            ),
            TaskError::LeakedWrite { id } => write!(
                f,
                "the write guard of object {id} was leaked, so its change could not be stored"
            ),
            TaskError::Unregistered { type_name } => write!(
                f,
                "type {type_name} is not registered; add it in App::register"
            ),
            TaskError::Corrupt { id, reason } => write!(f, "stored value {id} cannot be read: {reason}"),
            TaskError::Encode { type_name, reason } => write!(f, "could not archive a {type_name}: {reason}"),
            TaskError::Aborted { reason } => write!(f, "aborted: {reason}"),
            TaskError::Refused { reason } => write!(f, "login refused: {reason}"),
            TaskError::Unavailable { reason } => write!(f, "the server cannot run tasks: {reason}"),
            TaskError::CollectionType { id, stored, requested } => write!(
                f,
                "collection {id} is a {stored}, not a {requested}; use it through a handle of the types it was created with"
            ),
            TaskError::OutOfBounds { index, len } => {
                write!(f, "position {index} is out of bounds of a list of {len} items")
            }
            TaskError::MessageTooLarge { len, max } => write!(
                f,
                "a message of {len} bytes is larger than the server sends a session ({max} bytes; raise session_queue_kib for more)"
            ),
        }
    }
}

impl std::error::Error for TaskError {}
