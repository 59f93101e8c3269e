//! Batches a core has proposed to the shared log and not yet heard the verdict of.
//!
//! A core does not stall between batches while the log decides: its next batch reads the
//! committed snapshot *plus* its own proposed batches, as if they had committed. A read
//! that a proposed batch answers records the version that batch's writes will carry, so
//! when the log applies the later batch, its validation passes only if the earlier batch
//! committed and nothing else wrote the key in between. Every node reaches that verdict
//! alike: versions come from the log, never from a node's local counters.

use std::collections::VecDeque;
use std::ops::Bound;

use darkstar_storage::Snapshot;

use crate::changes::{Changes, ObjectSlot, TaskSlot};

/// One proposed batch's writes, readable by the core's later batches.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    /// The version its writes carry if it commits.
    pub version: u64,
    pub changes: Changes,
}

/// What a batch reads beneath its own changes: the committed snapshot and, in a cluster,
/// the core's proposed batches on top of it.
#[derive(Clone, Copy)]
pub(crate) struct Base<'a> {
    pub snap: &'a Snapshot,
    pub pending: &'a VecDeque<Pending>,
}

/// A value as the proposed batches see it: present or removed, and the version a reader
/// records (a removal reads as absent, which the store validates as version 0).
pub(crate) struct Layered<T> {
    pub value: Option<T>,
    pub version: u64,
}

impl<T> Layered<T> {
    fn new(value: Option<T>, version: u64) -> Layered<T> {
        let version = if value.is_some() { version } else { 0 };
        Layered { value, version }
    }
}

/// Object `id` in the newest proposed batch that wrote it.
pub(crate) fn object(
    pending: &VecDeque<Pending>,
    id: u64,
) -> Option<Layered<(&'static str, &[u8])>> {
    pending
        .iter()
        .rev()
        .find_map(|p| match p.changes.objects.get(&id)? {
            ObjectSlot::Put { type_name, bytes } => Some(Layered::new(
                Some((*type_name, bytes.as_slice())),
                p.version,
            )),
            ObjectSlot::Removed => Some(Layered::new(None, p.version)),
        })
}

/// Stored task `id` in the newest proposed batch that wrote it.
pub(crate) fn task(pending: &VecDeque<Pending>, id: u64) -> Option<Layered<(&'static str, &[u8])>> {
    pending
        .iter()
        .rev()
        .find_map(|p| match p.changes.tasks.get(&id)? {
            TaskSlot::Put { type_name, record } => Some(Layered::new(
                Some((*type_name, record.as_slice())),
                p.version,
            )),
            TaskSlot::Removed => Some(Layered::new(None, p.version)),
        })
}

/// The binding of stored key `key` in the newest proposed batch that changed it.
pub(crate) fn name(pending: &VecDeque<Pending>, key: &str) -> Option<Layered<u64>> {
    pending.iter().rev().find_map(|p| {
        p.changes
            .names
            .get(key)
            .map(|t| Layered::new(*t, p.version))
    })
}

/// The first bound name after `after` as the snapshot plus the proposed batches see it.
/// With nothing proposed, exactly the snapshot's answer.
pub(crate) fn next_name(
    pending: &VecDeque<Pending>,
    snap: &Snapshot,
    after: &str,
) -> Option<String> {
    if pending.is_empty() {
        return snap.next_name(Some(after)).map(|(n, _)| n);
    }
    // The snapshot's next name that no proposed batch unbinds...
    let mut cur = after.to_owned();
    let from_snapshot = loop {
        match snap.next_name(Some(&cur)) {
            Some((n, _)) if matches!(name(pending, &n), Some(l) if l.value.is_none()) => cur = n,
            other => break other.map(|(n, _)| n),
        }
    };
    // ...or a name a proposed batch binds (and no later one unbinds), whichever is first.
    let range = (Bound::Excluded(after), Bound::Unbounded);
    let from_pending = pending
        .iter()
        .filter_map(|p| {
            p.changes
                .names
                .range::<str, _>(range)
                .find(|(k, _)| matches!(name(pending, k), Some(l) if l.value.is_some()))
                .map(|(k, _)| k.clone())
        })
        .min();
    [from_snapshot, from_pending].into_iter().flatten().min()
}
