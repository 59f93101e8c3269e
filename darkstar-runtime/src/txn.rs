//! One task's transaction: the runtime's implementation of the SDK's `Transaction`.
//!
//! Reads go through four layers: the task's own changes, the changes of the tasks that ran
//! before it in the same batch on this core, the core's batches proposed to the shared log
//! and not yet decided (in a cluster; see [`data::Pending`](crate::data::Pending)), and the
//! store snapshot the batch started from. Reads that reach the last two record the version
//! they saw; the store checks those versions when the batch commits, which is what makes
//! every task serializable.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::ops::Bound;
use std::time::{Duration, Instant};

use darkstar_sdk::{Delivery, RawObject, Schedule, TaskError, Transaction};
use darkstar_storage::Snapshot;
use rkyv::util::AlignedVec;

use crate::changes::{Changes, ObjectSlot, Scheduled, TaskSlot};
use crate::clock::{millis, now_ms};
use crate::data::{pending, Base, Pending};
use crate::names;
use crate::record::TaskHeader;
use crate::shared::Shared;

/// The state a running task mutates through `&self`.
struct State {
    own: Changes,
    /// Values this task wrote and then replaced: kept until the task ends, because views
    /// handed out earlier may still point into them.
    graveyard: Vec<AlignedVec>,
    /// Objects open for writing (write guards alive).
    writing: Vec<u64>,
    /// The first error recorded outside a `Result` (a guard that could not archive).
    failure: Option<TaskError>,
}

/// One run of one task.
pub(crate) struct TaskTxn<'b> {
    snap: &'b Snapshot,
    /// The core's proposed, undecided batches, oldest first.
    pending: &'b VecDeque<Pending>,
    batch: &'b Changes,
    /// The server's store, type registry and session table.
    shared: &'b Shared,
    deadline: Instant,
    limit: Duration,
    /// Context calls so far; the clock is read on every `CLOCK_EVERY`th.
    calls: Cell<u32>,
    /// The latest objects this task read from the snapshot, so reading one again (a look,
    /// then a write guard) skips the index.
    seen: Cell<[Option<Seen<'b>>; SEEN]>,
    current: Option<u64>,
    state: RefCell<State>,
}

/// An object read from the snapshot: its id, type name and bytes.
type Seen<'b> = (u64, &'b str, &'b [u8]);

/// How many snapshot reads a task remembers.
const SEEN: usize = 4;

/// How often a context call reads the clock. Reading it costs more than a typical call's
/// own work; a task that overruns is still stopped within this many calls, and always when
/// it ends.
const CLOCK_EVERY: u32 = 8;

/// What a finished run leaves behind.
pub(crate) struct Finished {
    /// The task's changes (to absorb into the batch on success, or to clear).
    pub own: Changes,
    /// Why the run must be rolled back even if the task returned `Ok`.
    pub failure: Option<TaskError>,
}

impl<'b> TaskTxn<'b> {
    /// A transaction over `base` and the batch so far; `own` must be empty.
    pub fn new(
        base: Base<'b>,
        batch: &'b Changes,
        shared: &'b Shared,
        limit: Duration,
        current: Option<u64>,
        own: Changes,
    ) -> TaskTxn<'b> {
        debug_assert!(own.is_empty() && own.scheduled.is_empty());
        TaskTxn {
            snap: base.snap,
            pending: base.pending,
            batch,
            shared,
            deadline: Instant::now() + limit,
            limit,
            calls: Cell::new(0),
            seen: Cell::new([None; SEEN]),
            current,
            state: RefCell::new(State {
                own,
                graveyard: Vec::new(),
                writing: Vec::new(),
                failure: None,
            }),
        }
    }

    /// Ends the run: its changes, and a failure if one was recorded or a guard leaked.
    pub fn finish(self) -> Finished {
        let st = self.state.into_inner();
        let failure = st
            .failure
            .or_else(|| st.writing.first().map(|&id| TaskError::LeakedWrite { id }));
        let failure = failure.or_else(|| {
            (Instant::now() > self.deadline).then_some(TaskError::TimeLimit { limit: self.limit })
        });
        Finished {
            own: st.own,
            failure,
        }
    }

    /// The stored key's binding: own changes, then the batch's, then the proposed batches',
    /// then the snapshot.
    fn lookup_key(&self, key: &str) -> Option<u64> {
        let mut st = self.state.borrow_mut();
        if let Some(&target) = st.own.names.get(key) {
            return target;
        }
        if let Some(&target) = self.batch.names.get(key) {
            return target;
        }
        let (found, version) = match pending::name(self.pending, key) {
            Some(l) => (l.value, l.version),
            None => {
                let b = self.snap.name(key);
                (b.map(|b| b.id), b.map_or(0, |b| b.version))
            }
        };
        st.own.reads.names.entry(key.to_owned()).or_insert(version);
        found
    }

    /// Whether the layers above the snapshot unbind `key`.
    fn shadowed(&self, st: &State, key: &str) -> bool {
        match st.own.names.get(key) {
            Some(target) => target.is_none(),
            None => matches!(self.batch.names.get(key), Some(None)),
        }
    }

    fn put(&self, st: &mut State, id: u64, slot: ObjectSlot) {
        if let Some(ObjectSlot::Put { bytes, .. }) = st.own.objects.insert(id, slot) {
            st.graveyard.push(bytes);
        }
    }
}

impl Transaction for TaskTxn<'_> {
    fn check(&self) -> Result<(), TaskError> {
        let calls = self.calls.get().wrapping_add(1);
        self.calls.set(calls);
        if calls % CLOCK_EVERY == 0 && Instant::now() > self.deadline {
            return Err(TaskError::TimeLimit { limit: self.limit });
        }
        Ok(())
    }

    fn read_object(&self, id: u64) -> Result<Option<RawObject<'_>>, TaskError> {
        {
            let st = self.state.borrow();
            match st.own.objects.get(&id) {
                Some(ObjectSlot::Put { type_name, bytes }) => {
                    let (ptr, len) = (bytes.as_ptr(), bytes.len());
                    // SAFETY: the buffer belongs to this transaction and is never mutated or
                    // freed while `self` is borrowed: a later write of the same object moves
                    // the old buffer (not its heap allocation) to the graveyard, which is
                    // dropped only with the transaction.
                    let bytes = unsafe { std::slice::from_raw_parts(ptr, len) };
                    return Ok(Some(RawObject { type_name, bytes }));
                }
                Some(ObjectSlot::Removed) => return Ok(None),
                None => {}
            }
        }
        match self.batch.objects.get(&id) {
            Some(ObjectSlot::Put { type_name, bytes }) => {
                return Ok(Some(RawObject {
                    type_name,
                    bytes: bytes.as_slice(),
                }))
            }
            Some(ObjectSlot::Removed) => return Ok(None),
            None => {}
        }
        if let Some(l) = pending::object(self.pending, id) {
            let mut st = self.state.borrow_mut();
            st.own.reads.objects.entry(id).or_insert(l.version);
            return Ok(l
                .value
                .map(|(type_name, bytes)| RawObject { type_name, bytes }));
        }
        let mut seen = self.seen.get();
        if let Some((_, type_name, bytes)) = seen.iter().flatten().find(|s| s.0 == id) {
            // Its version is already in the read set.
            debug_assert!(self.state.borrow().own.reads.objects.contains_key(&id));
            return Ok(Some(RawObject { type_name, bytes }));
        }
        let rec = self.snap.object(id);
        let mut st = self.state.borrow_mut();
        st.own
            .reads
            .objects
            .entry(id)
            .or_insert(rec.map_or(0, |r| r.version));
        if let Some(r) = &rec {
            seen.rotate_right(1);
            seen[0] = Some((id, r.type_name, r.value));
            self.seen.set(seen);
        }
        Ok(rec.map(|r| RawObject {
            type_name: r.type_name,
            bytes: r.value,
        }))
    }

    fn new_object_id(&self) -> Result<u64, TaskError> {
        self.shared
            .data
            .allocate_id()
            .map_err(|e| TaskError::Unavailable {
                reason: e.to_string(),
            })
    }

    fn write_object(
        &self,
        id: u64,
        type_name: &'static str,
        bytes: AlignedVec,
    ) -> Result<(), TaskError> {
        // The catalog lists every registered type's current version, so a registered tag
        // is one the store knows the layout of.
        if self.shared.registry.object(type_name).is_none() {
            return Err(TaskError::Unregistered { type_name });
        }
        let mut st = self.state.borrow_mut();
        self.put(&mut st, id, ObjectSlot::Put { type_name, bytes });
        Ok(())
    }

    fn begin_write(&self, id: u64) -> Result<(), TaskError> {
        let mut st = self.state.borrow_mut();
        if st.writing.contains(&id) {
            return Err(TaskError::AlreadyWriting { id });
        }
        st.writing.push(id);
        Ok(())
    }

    fn end_write(&self, id: u64, type_name: &'static str, bytes: Result<AlignedVec, TaskError>) {
        {
            let mut st = self.state.borrow_mut();
            let at = st.writing.iter().position(|&w| w == id);
            debug_assert!(at.is_some(), "end_write without begin_write");
            if let Some(at) = at {
                st.writing.swap_remove(at);
            }
        }
        let result = bytes.and_then(|b| self.write_object(id, type_name, b));
        if let Err(e) = result {
            self.state.borrow_mut().failure.get_or_insert(e);
        }
    }

    fn remove_object(&self, id: u64) -> Result<(), TaskError> {
        let mut st = self.state.borrow_mut();
        if st.writing.contains(&id) {
            return Err(TaskError::AlreadyWriting { id });
        }
        self.put(&mut st, id, ObjectSlot::Removed);
        Ok(())
    }

    fn lookup(&self, name: &str) -> Result<Option<u64>, TaskError> {
        let key = names::user_key(name)?;
        Ok(self.lookup_key(&key))
    }

    fn bind(&self, name: &str, id: u64) -> Result<(), TaskError> {
        let key = names::user_key(name)?;
        self.state.borrow_mut().own.names.insert(key, Some(id));
        Ok(())
    }

    fn unbind(&self, name: &str) -> Result<bool, TaskError> {
        let key = names::user_key(name)?;
        let bound = self.lookup_key(&key).is_some();
        if bound {
            self.state.borrow_mut().own.names.insert(key, None);
        }
        Ok(bound)
    }

    fn next_name(&self, after: Option<&str>) -> Result<Option<String>, TaskError> {
        let start = format!("{}{}", names::USER, after.unwrap_or(""));
        let mut st = self.state.borrow_mut();
        // The next name below the batch (snapshot and proposed batches), skipping names the
        // layers above unbind. Every step is recorded, so a name bound in between by
        // another core is a conflict.
        let mut cur = start.clone();
        let from_snapshot = loop {
            let next = pending::next_name(self.pending, self.snap, &cur);
            st.own
                .reads
                .next_names
                .push((Some(cur.clone()), next.clone()));
            match next {
                Some(n) if n.starts_with(names::USER) => {
                    if self.shadowed(&st, &n) {
                        cur = n;
                        continue;
                    }
                    break Some(n);
                }
                _ => break None,
            }
        };
        let range = (Bound::Excluded(start.as_str()), Bound::Unbounded);
        let from_own = st
            .own
            .names
            .range::<str, _>(range)
            .take_while(|(k, _)| k.starts_with(names::USER))
            .find(|(_, t)| t.is_some())
            .map(|(k, _)| k.clone());
        let from_batch = self
            .batch
            .names
            .range::<str, _>(range)
            .take_while(|(k, _)| k.starts_with(names::USER))
            .find(|(k, t)| t.is_some() && !st.own.names.contains_key(k.as_str()))
            .map(|(k, _)| k.clone());
        let next = [from_snapshot, from_own, from_batch]
            .into_iter()
            .flatten()
            .min();
        Ok(next.map(|k| names::user_name(&k).expect("user prefix").to_owned()))
    }

    fn schedule(&self, task: Schedule) -> Result<u64, TaskError> {
        if self.shared.registry.task(task.type_name).is_none() {
            return Err(TaskError::Unregistered {
                type_name: task.type_name,
            });
        }
        let id = self.new_object_id()?;
        let header = TaskHeader {
            due_ms: now_ms().saturating_add(millis(task.delay)),
            period_ms: task.period.map_or(0, |p| millis(p).max(1)),
            affinity: task.affinity,
        };
        let record = header.encode(&task.args);
        let mut st = self.state.borrow_mut();
        st.own.tasks.insert(
            id,
            TaskSlot::Put {
                type_name: task.type_name,
                record,
            },
        );
        st.own.scheduled.push(Scheduled {
            id,
            due_ms: header.due_ms,
            affinity: header.affinity,
        });
        Ok(id)
    }

    fn cancel(&self, id: u64) -> Result<bool, TaskError> {
        let mut st = self.state.borrow_mut();
        match st.own.tasks.get(&id) {
            Some(TaskSlot::Put { .. }) => {
                // Scheduled by this very task: it was never stored, so forget it.
                if st.own.scheduled.iter().any(|s| s.id == id) {
                    st.own.tasks.remove(&id);
                    st.own.scheduled.retain(|s| s.id != id);
                } else {
                    st.own.tasks.insert(id, TaskSlot::Removed);
                }
                return Ok(true);
            }
            Some(TaskSlot::Removed) => return Ok(false),
            None => {}
        }
        match self.batch.tasks.get(&id) {
            Some(TaskSlot::Put { .. }) => {
                st.own.tasks.insert(id, TaskSlot::Removed);
                return Ok(true);
            }
            Some(TaskSlot::Removed) => return Ok(false),
            None => {}
        }
        let (present, version) = match pending::task(self.pending, id) {
            Some(l) => (l.value.is_some(), l.version),
            None => {
                let rec = self.snap.task(id);
                (rec.is_some(), rec.map_or(0, |r| r.version))
            }
        };
        st.own.reads.tasks.entry(id).or_insert(version);
        if present {
            st.own.tasks.insert(id, TaskSlot::Removed);
        }
        Ok(present)
    }

    fn current_task(&self) -> Option<u64> {
        self.current
    }

    fn deliver(&self, delivery: Delivery) -> Result<(), TaskError> {
        let len = match &delivery {
            Delivery::Message { body, .. } | Delivery::ChannelMessage { body, .. } => body.len(),
            Delivery::Joined { .. } | Delivery::Left { .. } | Delivery::Disconnect { .. } => 0,
        };
        let max = self.shared.limits.max_message;
        if len > max {
            return Err(TaskError::MessageTooLarge { len, max });
        }
        self.state.borrow_mut().own.deliveries.push(delivery);
        Ok(())
    }

    fn is_connected(&self, session: u64) -> bool {
        self.shared
            .sessions
            .get(session)
            .is_some_and(|link| link.is_connected())
    }

    fn lookup_channel(&self, name: &str) -> Result<Option<u64>, TaskError> {
        let key = names::channel_key(name)?;
        Ok(self.lookup_key(&key))
    }

    fn bind_channel(&self, name: &str, id: u64) -> Result<(), TaskError> {
        let key = names::channel_key(name)?;
        self.state.borrow_mut().own.names.insert(key, Some(id));
        Ok(())
    }
}
