//! Rewriting what is stored at an older version (or under an older name) to this build's
//! current version, and deleting what belongs to removed types: one pass over the values of
//! one kind, committed in batches.
//!
//! Every batch commits on its own, so a crash in the middle loses only the batches not yet
//! durable; a value not yet rewritten still carries its old tag, and the next start finds
//! it again and carries on. Nothing else runs meanwhile: the executors start afterwards.

use std::time::{Duration, Instant};

use darkstar_sdk::stored::parse_stored_name;
use darkstar_sdk::StoredType;
use darkstar_storage::{Batch, Snapshot};

use crate::data::DataService;
use hashbrown::{HashMap, HashSet};
use tracing::info;

use super::error::CatalogError;
use super::record::{Kind, RECORD_TAG};
use crate::record::TaskHeader;

/// What to do with one kind's values.
pub(crate) struct Work<'a> {
    pub kind: Kind,
    /// Tags to rewrite: the type they become and the version they are stored at.
    pub rewrite: HashMap<String, (&'a StoredType, u32)>,
    /// Stable names whose values are deleted.
    pub delete: HashSet<String>,
}

/// How many values one pass rewrote and deleted.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Done {
    pub rewritten: u64,
    pub deleted: u64,
}

/// Runs `work` over `snap`'s values, committing every `batch_size` changes; returns what
/// it did and the last commit's sequence number (0 if it committed nothing).
pub(crate) fn run(
    data: &dyn DataService,
    snap: &Snapshot,
    work: &Work<'_>,
    batch_size: usize,
    total: u64,
) -> Result<(Done, u64), CatalogError> {
    assert!(batch_size > 0, "a migration batch holds at least one value");
    let ids = ids(snap, work.kind);
    let mut batch = Batch::new();
    let mut pending = 0;
    let mut done = Done::default();
    let mut last_seq = 0;
    let started = Instant::now();
    let mut reported = started;
    let fail = |id: u64, tag: &str, reason: String| CatalogError::Migrate {
        what: match work.kind {
            Kind::Object => "object",
            Kind::Task => "stored task",
        },
        id,
        tag: tag.to_owned(),
        reason,
    };
    for id in ids {
        let Some(rec) = record(snap, work.kind, id) else {
            continue;
        };
        if rec.type_name == RECORD_TAG {
            continue;
        }
        if let Some(&(ty, version)) = work.rewrite.get(rec.type_name) {
            match work.kind {
                Kind::Object => {
                    let bytes = ty
                        .upgrade(version, rec.value, id)
                        .map_err(|e| fail(id, rec.type_name, e.to_string()))?;
                    batch.put_object(id, ty.stored_name, &bytes);
                    batch.read_object(id, rec.version);
                }
                Kind::Task => {
                    let (header, args) = TaskHeader::decode(rec.value)
                        .map_err(|e| fail(id, rec.type_name, e.to_string()))?;
                    let args = ty
                        .upgrade(version, args, id)
                        .map_err(|e| fail(id, rec.type_name, e.to_string()))?;
                    batch.put_task(id, ty.stored_name, &header.encode(&args));
                    batch.read_task(id, rec.version);
                }
            }
            done.rewritten += 1;
        } else if work.delete.contains(parse_stored_name(rec.type_name).0) {
            match work.kind {
                Kind::Object => {
                    batch.remove_object(id);
                    batch.read_object(id, rec.version);
                }
                Kind::Task => {
                    batch.remove_task(id);
                    batch.read_task(id, rec.version);
                }
            }
            done.deleted += 1;
        } else {
            continue;
        }
        pending += 1;
        if pending == batch_size {
            last_seq = commit(data, &mut batch)?;
            pending = 0;
            // Once a second at most: a migration of millions of values in small batches
            // would otherwise drown the log.
            if reported.elapsed() >= Duration::from_secs(1) {
                reported = Instant::now();
                info!(
                    kind = work.kind.values(),
                    done = done.rewritten + done.deleted,
                    of = total,
                    "migrating"
                );
            }
        }
    }
    if pending > 0 {
        last_seq = commit(data, &mut batch)?;
    }
    Ok((done, last_seq))
}

/// Commits `batch` and clears it.
fn commit(data: &dyn DataService, batch: &mut Batch) -> Result<u64, CatalogError> {
    let seq = data
        .commit_now(batch)
        .map_err(|e| CatalogError::Commit(e.to_string()))?;
    batch.clear();
    Ok(seq)
}

/// How many values of `kind` each tag has in `snap`.
pub(crate) fn count(snap: &Snapshot, kind: Kind) -> HashMap<String, u64> {
    let mut counts: HashMap<String, u64> = HashMap::new();
    for id in ids(snap, kind) {
        if let Some(rec) = record(snap, kind, id) {
            if rec.type_name != RECORD_TAG {
                match counts.get_mut(rec.type_name) {
                    Some(n) => *n += 1,
                    None => {
                        counts.insert(rec.type_name.to_owned(), 1);
                    }
                }
            }
        }
    }
    counts
}

/// The ids of every value of `kind` in `snap`.
fn ids(snap: &Snapshot, kind: Kind) -> Vec<u64> {
    match kind {
        Kind::Object => snap.object_ids(),
        Kind::Task => snap.task_ids(),
    }
}

/// Value `id` of `kind` in `snap`.
fn record(snap: &Snapshot, kind: Kind, id: u64) -> Option<darkstar_storage::Record<'_>> {
    match kind {
        Kind::Object => snap.object(id),
        Kind::Task => snap.task(id),
    }
}
