//! The embedded data store of Darkstar for Rust.
//!
//! A store is a directory holding a log of *frames*, one per commit, split over fixed-size
//! *segment* files that are memory-mapped. It keeps three key spaces:
//!
//! - **objects**: id (`u64`) → (stable type name, version, value bytes). Values are stored
//!   16-byte aligned so an rkyv archive can be read in place.
//! - **names**: an ordered table from string to id, with "next name after" iteration.
//! - **pending tasks**: id → (type name, version, bytes), committed atomically with the
//!   transaction that schedules them.
//!
//! # Reading
//!
//! [`Store::snapshot`] gives a consistent view as of the last commit. Reads through it
//! return [`Record`]s that borrow the mapped file: no copy, no deserialization. A snapshot
//! never sees part of a commit, and never blocks or is blocked by commits.
//!
//! # Committing: the optimistic contract
//!
//! A transaction reads through a snapshot, recording the version of everything it read in a
//! [`Batch`] (`read_object`, `read_name`, `read_next_name`, ...), adds its writes, and calls
//! [`Store::commit`]. The commit is applied atomically if every recorded version is still
//! the newest, and rejected with [`CommitError::Conflict`] otherwise. Commits are
//! serialized in sequence-number order, so transactions that validate this way are
//! serializable. A version is the sequence number of the commit that wrote it (in a
//! replica store, possibly one the batch chose; see below); `0` means "absent".
//!
//! # Replicas
//!
//! A store opened with [`Options::replica`] is the local replica of a cluster-wide commit
//! log: every node applies the same batches in the same order, but local sequence numbers
//! differ from node to node. Such a store accepts batches with a version chosen by the log
//! ([`Batch::set_version`]), which every write of the batch installs instead of the
//! sequence number, so validation gives the same verdict on every node. A batch travels
//! between machines as bytes ([`Batch::encode`], [`Batch::decode`]), and
//! [`Snapshot::digest`] hashes the visible state, so replicas can be compared.
//!
//! A successful commit is visible at once but durable only later: many commits share one
//! sync (group commit). Wait with [`Store::wait_durable`] or `.await` [`Store::durable`]
//! before acknowledging anything to the outside world. A transaction that only read must
//! wait for the durability of its snapshot's sequence number before acting on what it read,
//! since it may have read a commit that is not durable yet.
//!
//! # Durability and recovery
//!
//! With [`Durability::Full`] (the default) an acknowledged commit survives `kill -9` and
//! power loss. On open, the log is replayed; a torn tail (an unsynced write the crash cut
//! short) is discarded, and damage to a record that had been durable is reported as
//! [`OpenError::Corrupt`] with the file and offset, never skipped.
//!
//! # Example
//!
//! ```
//! use darkstar_storage::{Batch, Options, Store};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let store = Store::open(dir.path(), Options::default()).unwrap();
//! let id = store.allocate_id();
//!
//! let mut batch = Batch::new();
//! batch.read_object(id, 0); // we saw it absent
//! batch.put_object(id, "example::Player", b"alice");
//! batch.bind("player.alice", id);
//! let seq = store.commit(&batch).unwrap();
//! store.wait_durable(seq).unwrap();
//!
//! let snap = store.snapshot();
//! let player = snap.object(id).unwrap();
//! assert_eq!(player.type_name, "example::Player");
//! assert_eq!(player.value, b"alice");
//! assert_eq!(snap.name("player.alice").unwrap().id, id);
//! ```

#![warn(missing_docs)]

mod archive;
mod batch;
mod compaction;
mod directory;
mod disk;
mod durability;
mod error;
pub mod format;
mod index;
mod options;
mod recovery;
mod segment;
mod signal;
#[cfg(feature = "simulated-disk")]
pub mod sim;
mod snapshot;
mod store;
mod table;
mod wire;
mod writer;

pub use batch::Batch;
pub use durability::DurableFuture;
pub use error::{CommitError, ConflictKey, DurabilityError, OpenError};
pub use options::{Durability, Options};
pub use snapshot::{Binding, Record, Snapshot};
pub use store::{Stats, Store};
pub use wire::BatchDecodeError;
