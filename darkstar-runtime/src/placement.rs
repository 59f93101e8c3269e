//! Placement: which core runs a task.
//!
//! A task's affinity key picks one of [`SLOTS`] slots, and the slot names a core. The table
//! can be changed while the server runs ([`Placement::assign`]), which is how load is moved
//! between cores.
//!
//! On top of the table, placement learns **hot objects** from conflicts. When a batch
//! fails because another core changed an object it read, that object's conflict count goes
//! up; from [`HOT_AFTER`] conflicts on, the object is hot and has an owner core, and every
//! task whose reference arguments include it runs there. Tasks on one core never conflict
//! with each other (a core runs them one after another and commits them in order), so
//! contended objects stop causing aborts. A task that touches two hot objects with different
//! owners makes the later one join the earlier one's owner, so objects used together end up
//! together.

use std::sync::atomic::{AtomicU16, AtomicU64, AtomicUsize, Ordering};

/// Number of slots in the placement table.
pub const SLOTS: usize = 4096;
/// Conflicts after which an object counts as hot.
pub const HOT_AFTER: u64 = 2;
const HOT_ENTRIES: usize = 8192;

/// The placement table and the hot-object table. Shared by every core.
#[derive(Debug)]
pub struct Placement {
    cores: usize,
    slots: Box<[AtomicU16]>,
    /// Direct-mapped by object id: `(id + 1) << 16 | count << 8 | owner`, 0 for empty. A
    /// hint: a colliding object may evict another, which then has to get hot again.
    hot: Box<[AtomicU64]>,
    next: AtomicUsize,
}

fn mix(key: u64) -> u64 {
    // splitmix64's finalizer: consecutive ids spread over every slot.
    let mut z = key.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Placement {
    /// A table spreading slots evenly over `cores` cores.
    pub fn new(cores: usize) -> Placement {
        assert!(cores > 0 && cores <= 256, "1 to 256 cores");
        Placement {
            cores,
            slots: (0..SLOTS).map(|i| AtomicU16::new((i % cores) as u16)).collect(),
            hot: (0..HOT_ENTRIES).map(|_| AtomicU64::new(0)).collect(),
            next: AtomicUsize::new(0),
        }
    }

    /// Number of cores.
    pub fn cores(&self) -> usize {
        self.cores
    }

    /// The slot of affinity key `key`.
    pub fn slot_of(&self, key: u64) -> usize {
        (mix(key) % SLOTS as u64) as usize
    }

    /// The core slot `slot` is assigned to.
    pub fn core_of_slot(&self, slot: usize) -> usize {
        self.slots[slot].load(Ordering::Relaxed) as usize
    }

    /// Moves slot `slot` to core `core`. Tasks already queued stay where they are; tasks
    /// placed from now on go to `core`.
    pub fn assign(&self, slot: usize, core: usize) {
        assert!(core < self.cores, "core {core} of {}", self.cores);
        self.slots[slot].store(core as u16, Ordering::Relaxed);
    }

    /// The core for affinity key `key`.
    pub fn core_for_key(&self, key: u64) -> usize {
        self.core_of_slot(self.slot_of(key))
    }

    /// The core for a task with this affinity key and these reference arguments: the owner
    /// of its first hot object, else its key's slot, else the next core in turn.
    pub fn route(&self, affinity: Option<u64>, refs: &[u64]) -> usize {
        if let Some(owner) = refs.iter().find_map(|&r| self.hot_owner(r)) {
            return owner;
        }
        match affinity {
            Some(key) => self.core_for_key(key),
            None => self.next.fetch_add(1, Ordering::Relaxed) % self.cores,
        }
    }

    /// The owner of object `id` if it is hot.
    pub fn hot_owner(&self, id: u64) -> Option<usize> {
        let e = self.hot[(mix(id) % HOT_ENTRIES as u64) as usize].load(Ordering::Relaxed);
        (e >> 16 == id.wrapping_add(1) && (e >> 8) & 0xff >= HOT_AFTER).then_some((e & 0xff) as usize)
    }

    /// Counts a conflict on object `id`, read by a task whose references are `refs`.
    /// Returns the object's owner once it is hot.
    pub fn conflict(&self, id: u64, refs: &[u64]) -> Option<usize> {
        let joined = refs
            .iter()
            .filter(|&&r| r != id)
            .find_map(|&r| self.hot_owner(r));
        let cell = &self.hot[(mix(id) % HOT_ENTRIES as u64) as usize];
        let old = cell.load(Ordering::Relaxed);
        let tag = id.wrapping_add(1);
        let (count, owner) = if old >> 16 == tag {
            (((old >> 8) & 0xff) + 1, (old & 0xff) as usize)
        } else {
            (1, self.core_for_key(id))
        };
        let count = count.min(255);
        let owner = if count >= HOT_AFTER { joined.unwrap_or(owner) } else { owner };
        debug_assert!(owner < self.cores);
        // Racing updates may lose a count; the table is a hint and converges anyway.
        cell.store(tag << 16 | count << 8 | owner as u64, Ordering::Relaxed);
        (count >= HOT_AFTER).then_some(owner)
    }

    /// Forgets every hot object.
    pub fn clear_hot(&self) {
        for e in self.hot.iter() {
            e.store(0, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_spread_and_slots_move() {
        let p = Placement::new(2);
        let on0 = (0..1000u64).filter(|&k| p.core_for_key(k) == 0).count();
        assert!((400..600).contains(&on0), "{on0} of 1000 keys on core 0");
        let slot = p.slot_of(42);
        let other = 1 - p.core_for_key(42);
        p.assign(slot, other);
        assert_eq!(p.core_for_key(42), other);
    }

    #[test]
    fn objects_get_hot_after_conflicts_and_pull_tasks_together() {
        let p = Placement::new(2);
        assert_eq!(p.conflict(7, &[7, 9]), None, "one conflict is not enough");
        let owner = p.conflict(7, &[7, 9]).expect("hot after two");
        assert_eq!(p.hot_owner(7), Some(owner));
        assert_eq!(p.route(Some(9), &[9, 7]), owner, "a task on a hot object goes to its owner");
        // Object 9 gets hot in a task together with 7: it joins 7's owner.
        p.conflict(9, &[9, 7]);
        assert_eq!(p.conflict(9, &[9, 7]), Some(owner));
        p.clear_hot();
        assert_eq!(p.hot_owner(7), None);
    }
}
