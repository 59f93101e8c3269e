//! Checkpoints: a replica's whole state at one point of the log, kept in PostgreSQL, so a
//! node that joins late (or lost its store) starts from a recent state plus the log after
//! it, and the log below the checkpoint can be trimmed.
//!
//! A checkpoint is the state of one replica's snapshot, entry by entry, in chunks of up to
//! [`CHUNK`] bytes. Each entry: a kind byte (1 object, 2 stored task, 3 name binding),
//! then for an object or task its id (`u64`), version (`u64`), type name and value, and
//! for a binding its name, target id (`u64`) and version (`u64`); integers little-endian,
//! strings and values as a `u32` length and the bytes. The snapshot includes
//! `s/log/applied`, so the checkpoint carries the exact point its replica had reached, and
//! a node restoring it resumes right after it.

use darkstar_storage::{Batch, Snapshot, Store};
use hashbrown::HashMap;

use super::applier::APPLIED;
use super::cursor::{put_bytes, Cursor};
use super::error::RecordError;

/// Bytes per chunk (one row each).
pub(crate) const CHUNK: usize = 4 << 20;

const OBJECT: u8 = 1;
const TASK: u8 = 2;
const NAME: u8 = 3;

/// The state of `snap`, in chunks.
pub(crate) fn encode(snap: &Snapshot) -> Vec<Vec<u8>> {
    let mut chunks = vec![Vec::new()];
    let mut push = |entry: &[u8]| {
        let last = chunks.last_mut().expect("one chunk at least");
        if !last.is_empty() && last.len() + entry.len() > CHUNK {
            chunks.push(Vec::new());
        }
        chunks
            .last_mut()
            .expect("just pushed")
            .extend_from_slice(entry);
    };
    let mut entry = Vec::new();
    for (kind, ids) in [(OBJECT, snap.object_ids()), (TASK, snap.task_ids())] {
        for id in ids {
            let rec = match kind {
                OBJECT => snap.object(id),
                _ => snap.task(id),
            };
            let Some(rec) = rec else { continue };
            entry.clear();
            entry.push(kind);
            entry.extend_from_slice(&id.to_le_bytes());
            entry.extend_from_slice(&rec.version.to_le_bytes());
            put_bytes(&mut entry, rec.type_name.as_bytes());
            put_bytes(&mut entry, rec.value);
            push(&entry);
        }
    }
    for (name, binding) in snap.names() {
        entry.clear();
        entry.push(NAME);
        put_bytes(&mut entry, name.as_bytes());
        entry.extend_from_slice(&binding.id.to_le_bytes());
        entry.extend_from_slice(&binding.version.to_le_bytes());
        push(&entry);
    }
    chunks
}

/// Writes a checkpoint's state into an empty replica. Entries are committed grouped by
/// version, since a batch installs one version for all its writes; the replica then
/// holds exactly what the checkpoint's replica held, versions included. `s/log/applied`
/// goes last, alone, once everything else is on disk: a restore cut short by a crash
/// leaves a replica without it, which restores again on its next start.
pub(crate) fn restore(store: &Store, chunks: &[Vec<u8>]) -> Result<usize, RecordError> {
    let mut by_version: HashMap<u64, Batch> = HashMap::new();
    let mut applied: Option<(u64, u64)> = None;
    let mut entries = 0;
    for chunk in chunks {
        let mut c = Cursor::new(chunk);
        while !c.is_empty() {
            let at = c.offset();
            match c.u8("entry kind")? {
                kind @ (OBJECT | TASK) => {
                    let id = c.u64("id")?;
                    let version = c.u64("version")?;
                    let type_name = std::str::from_utf8(c.bytes("type name")?).map_err(|_| {
                        RecordError::Malformed {
                            what: "a type name that is not UTF-8",
                            offset: at,
                        }
                    })?;
                    let value = c.bytes("value")?;
                    let batch = by_version.entry(version).or_default();
                    match kind {
                        OBJECT => batch.put_object(id, type_name, value),
                        _ => batch.put_task(id, type_name, value),
                    }
                }
                NAME => {
                    let name = std::str::from_utf8(c.bytes("name")?).map_err(|_| {
                        RecordError::Malformed {
                            what: "a name that is not UTF-8",
                            offset: at,
                        }
                    })?;
                    let id = c.u64("target")?;
                    let version = c.u64("version")?;
                    if name == APPLIED {
                        applied = Some((id, version));
                    } else {
                        by_version.entry(version).or_default().bind(name, id);
                    }
                }
                _ => {
                    return Err(RecordError::Malformed {
                        what: "an unknown checkpoint entry kind",
                        offset: at,
                    })
                }
            }
            entries += 1;
        }
    }
    let Some((mark, mark_version)) = applied else {
        return Err(RecordError::Malformed {
            what: "a checkpoint without the log position it was taken at",
            offset: 0,
        });
    };
    let failed = |e: &dyn std::fmt::Display| RecordError::Batch {
        index: 0,
        reason: format!("restoring a checkpoint: {e}"),
    };
    let mut batches: Vec<(u64, Batch)> = by_version.into_iter().collect();
    batches.sort_unstable_by_key(|(v, _)| *v);
    for (version, mut batch) in batches {
        batch.set_version(Some(version));
        store.commit(&batch).map_err(|e| failed(&e))?;
    }
    store.sync().map_err(|e| failed(&e))?;
    let mut last = Batch::new();
    last.bind(APPLIED, mark);
    last.set_version(Some(mark_version));
    store.commit(&last).map_err(|e| failed(&e))?;
    store.sync().map_err(|e| failed(&e))?;
    Ok(entries)
}
