//! What transactions changed and read, before it reaches the store.
//!
//! The same shape serves two levels: one task's changes while it runs, and a core's batch
//! of finished tasks waiting to commit together (the overlay). A task reads its own changes
//! first, then the batch's, then the store snapshot; only reads that reach the snapshot are
//! validated at commit, since everything above it commits in the same atomic batch.

use std::collections::BTreeMap;
use std::hash::Hash;

use darkstar_sdk::Delivery;
use darkstar_storage::Batch;
use hashbrown::HashMap;
use rkyv::util::AlignedVec;

/// A pending write to an object.
#[derive(Debug)]
pub(crate) enum ObjectSlot {
    Put {
        type_name: &'static str,
        bytes: AlignedVec,
    },
    Removed,
}

/// A pending write to a stored task.
#[derive(Debug)]
pub(crate) enum TaskSlot {
    Put {
        type_name: &'static str,
        record: AlignedVec,
    },
    Removed,
}

/// A task stored by this change set, to hand to its core once committed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Scheduled {
    pub id: u64,
    pub due_ms: u64,
    pub affinity: Option<u64>,
}

/// Versions read from the snapshot, checked at commit.
#[derive(Debug, Default)]
pub(crate) struct Reads {
    pub objects: HashMap<u64, u64>,
    pub tasks: HashMap<u64, u64>,
    pub names: HashMap<String, u64>,
    /// `(after, observed)`: the name that followed `after` in the snapshot.
    pub next_names: Vec<(Option<String>, Option<String>)>,
}

/// Writes and reads of one task or one batch.
#[derive(Debug, Default)]
pub(crate) struct Changes {
    pub objects: HashMap<u64, ObjectSlot>,
    /// Stored keys (already prefixed) to bound ids, `None` for an unbinding.
    pub names: BTreeMap<String, Option<u64>>,
    pub tasks: HashMap<u64, TaskSlot>,
    pub reads: Reads,
    pub scheduled: Vec<Scheduled>,
    /// What to send to clients once committed durably, in the order it was sent.
    pub deliveries: Vec<Delivery>,
    /// `(session, message number)` of each client message handled, in order.
    pub handled: Vec<(u64, u64)>,
}

impl Changes {
    /// Whether nothing was written or read.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
            && self.names.is_empty()
            && self.tasks.is_empty()
            && self.reads.objects.is_empty()
            && self.reads.tasks.is_empty()
            && self.reads.names.is_empty()
            && self.reads.next_names.is_empty()
    }

    /// Forgets everything, keeping allocations.
    pub fn clear(&mut self) {
        self.objects.clear();
        self.names.clear();
        self.tasks.clear();
        self.reads.objects.clear();
        self.reads.tasks.clear();
        self.reads.names.clear();
        self.reads.next_names.clear();
        self.scheduled.clear();
        self.deliveries.clear();
        self.handled.clear();
    }

    /// Moves `later` (a task that ran after everything here) on top of these changes.
    ///
    /// Its writes replace ours; its snapshot reads are added unless we already read the
    /// same key (from the same snapshot, so at the same version).
    pub fn absorb(&mut self, later: &mut Changes) {
        move_entries(&mut later.objects, &mut self.objects, Keep::Later);
        self.names.append(&mut later.names);
        move_entries(&mut later.tasks, &mut self.tasks, Keep::Later);
        move_entries(
            &mut later.reads.objects,
            &mut self.reads.objects,
            Keep::Ours,
        );
        move_entries(&mut later.reads.tasks, &mut self.reads.tasks, Keep::Ours);
        move_entries(&mut later.reads.names, &mut self.reads.names, Keep::Ours);
        self.reads.next_names.append(&mut later.reads.next_names);
        self.scheduled.append(&mut later.scheduled);
        self.deliveries.append(&mut later.deliveries);
        self.handled.append(&mut later.handled);
    }

    /// Fills `batch` with these changes, ready for the store.
    pub fn fill(&self, batch: &mut Batch) {
        batch.clear();
        for (&id, slot) in &self.objects {
            match slot {
                ObjectSlot::Put { type_name, bytes } => batch.put_object(id, type_name, bytes),
                ObjectSlot::Removed => batch.remove_object(id),
            }
        }
        for (key, target) in &self.names {
            match target {
                Some(id) => batch.bind(key, *id),
                None => batch.unbind(key),
            }
        }
        for (&id, slot) in &self.tasks {
            match slot {
                TaskSlot::Put { type_name, record } => batch.put_task(id, type_name, record),
                TaskSlot::Removed => batch.remove_task(id),
            }
        }
        for (&id, &v) in &self.reads.objects {
            batch.read_object(id, v);
        }
        for (&id, &v) in &self.reads.tasks {
            batch.read_task(id, v);
        }
        for (name, &v) in &self.reads.names {
            batch.read_name(name, v);
        }
        for (after, observed) in &self.reads.next_names {
            batch.read_next_name(after.as_deref(), observed.as_deref());
        }
    }
}

/// Whose value a key keeps when both change sets have it.
#[derive(Clone, Copy)]
enum Keep {
    /// The later task's (a write replaces an earlier one).
    Later,
    /// Ours (a read records the version the first reader saw).
    Ours,
}

/// Moves every entry of `later` into `ours`.
#[inline]
fn move_entries<K: Eq + Hash, V>(later: &mut HashMap<K, V>, ours: &mut HashMap<K, V>, keep: Keep) {
    // Draining a map writes its whole control array, even an empty one's, and most tasks
    // leave some of these maps empty: this runs after every task.
    if later.is_empty() {
        return;
    }
    for (k, v) in later.drain() {
        match keep {
            Keep::Later => {
                ours.insert(k, v);
            }
            Keep::Ours => {
                ours.entry(k).or_insert(v);
            }
        }
    }
}
