//! Typed errors of the store.

use std::path::PathBuf;

/// Why [`Store::open`](crate::Store::open) refused a directory.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The directory holds files but no `STORE` file, or a `STORE` file that is not ours.
    #[error("{dir} is not a Darkstar store: {reason}")]
    NotAStore {
        /// The directory given to `open`.
        dir: PathBuf,
        /// What was found instead.
        reason: String,
    },
    /// The store was written by a newer build.
    #[error(
        "{dir} was written in store format {found}, but this build reads formats up to {supported}; \
         upgrade Darkstar to open it"
    )]
    NewerFormat {
        /// The directory given to `open`.
        dir: PathBuf,
        /// The format version in its `STORE` file.
        found: u32,
        /// The newest format this build reads.
        supported: u32,
    },
    /// The store is a cluster replica (format 2) but was opened without
    /// [`Options::replica`](crate::Options::replica).
    #[error(
        "{dir} is a cluster replica store (format 2); open it as one, with `Options::replica` set"
    )]
    IsAReplica {
        /// The directory given to `open`.
        dir: PathBuf,
    },
    /// The store is an embedded store (format 1) but was opened with
    /// [`Options::replica`](crate::Options::replica) set.
    #[error(
        "{dir} is not a replica store: it is an embedded store (format 1), which holds no \
         explicit versions; open it with `Options::replica` off"
    )]
    NotAReplica {
        /// The directory given to `open`.
        dir: PathBuf,
    },
    /// Another process (or another `Store` in this one) has the store open.
    #[error("{dir} is already opened by another process{holder}")]
    Locked {
        /// The directory given to `open`.
        dir: PathBuf,
        /// `" (pid N)"` when the lock file names the holder.
        holder: String,
    },
    /// A record that was once durable no longer reads back intact.
    #[error("corrupt store file {file} at offset {offset}: {reason}")]
    Corrupt {
        /// The damaged file.
        file: PathBuf,
        /// Byte offset of the damaged record.
        offset: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// The options cannot be used.
    #[error("invalid store options: {0}")]
    Options(String),
    /// The operating system refused an operation.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// Which key a conflict was found on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConflictKey {
    /// An object id.
    Object(u64),
    /// A pending task id.
    Task(u64),
    /// A bound name.
    Name(String),
    /// The name that follows `after` in name order (`None`: the first name).
    NextName {
        /// The name the scan started after.
        after: Option<String>,
    },
}

impl std::fmt::Display for ConflictKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConflictKey::Object(id) => write!(f, "object {id}"),
            ConflictKey::Task(id) => write!(f, "task {id}"),
            ConflictKey::Name(n) => write!(f, "name {n:?}"),
            ConflictKey::NextName { after: Some(a) } => write!(f, "the name after {a:?}"),
            ConflictKey::NextName { after: None } => write!(f, "the first name"),
        }
    }
}

/// Why a commit was not applied. Nothing of a rejected batch is visible or stored.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    /// A version in the read set changed since it was read: retry the transaction.
    #[error("conflict on {0}: it changed since it was read")]
    Conflict(ConflictKey),
    /// The batch cannot be stored at all (too large, a name too long, an explicit version
    /// that is zero, too large, or given to a store that is not a replica).
    #[error("batch rejected: {0}")]
    Invalid(String),
    /// The store failed earlier (an I/O error while writing or syncing) and accepts no
    /// more commits; reopen it to recover the durable prefix.
    #[error("the store is failed and accepts no commits: {0}")]
    Failed(String),
    /// The store is closing.
    #[error("the store is closing")]
    Closed,
}

impl CommitError {
    /// Whether running the transaction again may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, CommitError::Conflict(_))
    }
}

/// Why waiting for durability failed.
#[derive(Clone, Debug, thiserror::Error)]
pub enum DurabilityError {
    /// Syncing failed; commits after the durable prefix may be lost.
    #[error("the store failed while syncing: {0}")]
    Failed(String),
}
