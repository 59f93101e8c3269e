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
//! contended objects stop causing aborts.
//!
//! Hot objects belong to **groups**, and a group to a core. An object that gets hot in a
//! task with another hot object joins that object's group; a conflict between objects of two
//! groups merges the groups (union-find), so objects used together end up on one core
//! instead of pulling each other back and forth. Under a Zipf workload, where every hot
//! account meets every other, this converges to one group: the contended transfers run on
//! one core, one after another, and the other cores take the rest.

use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, AtomicUsize, Ordering};

/// Number of slots in the placement table.
pub const SLOTS: usize = 4096;
/// Conflicts after which an object counts as hot.
pub const HOT_AFTER: u64 = 2;
const HOT_ENTRIES: usize = 8192;

/// An object placement learned is hot ([`Placement::hot_objects`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HotObject {
    /// The object's id.
    pub id: u64,
    /// Conflicts counted on it (at most 255).
    pub conflicts: u64,
    /// Its group: hot objects that conflicted with each other share one.
    pub group: usize,
    /// The core the group's tasks run on.
    pub core: usize,
}

/// The placement table and the hot-object table. Shared by every core.
#[derive(Debug)]
pub struct Placement {
    cores: usize,
    slots: Box<[AtomicU16]>,
    /// Direct-mapped by object id: `(id + 1) << 24 | count << 16 | group`, 0 for empty. A
    /// hint: a colliding object wears an entry down and may then take it over.
    hot: Box<[AtomicU64]>,
    /// Union-find parent of each group; a root is its own parent.
    parent: Box<[AtomicU16]>,
    /// The core of each root group.
    owner: Box<[AtomicU16]>,
    next_group: AtomicUsize,
    next: AtomicUsize,
    learning: AtomicBool,
}

const GROUPS: usize = 1024;

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
            slots: (0..SLOTS)
                .map(|i| AtomicU16::new((i % cores) as u16))
                .collect(),
            hot: (0..HOT_ENTRIES).map(|_| AtomicU64::new(0)).collect(),
            parent: (0..GROUPS).map(|g| AtomicU16::new(g as u16)).collect(),
            owner: (0..GROUPS).map(|_| AtomicU16::new(0)).collect(),
            next_group: AtomicUsize::new(0),
            next: AtomicUsize::new(0),
            learning: AtomicBool::new(true),
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

    fn entry(&self, id: u64) -> &AtomicU64 {
        &self.hot[(mix(id) % HOT_ENTRIES as u64) as usize]
    }

    /// The group of object `id` if it is hot.
    fn hot_group(&self, id: u64) -> Option<usize> {
        let e = self.entry(id).load(Ordering::Relaxed);
        (e >> 24 == id.wrapping_add(1) && (e >> 16) & 0xff >= HOT_AFTER)
            .then(|| self.find((e & 0xffff) as usize))
    }

    /// The root of group `g`, halving paths on the way.
    fn find(&self, mut g: usize) -> usize {
        loop {
            let p = self.parent[g].load(Ordering::Relaxed) as usize;
            if p == g {
                return g;
            }
            let gp = self.parent[p].load(Ordering::Relaxed);
            self.parent[g].store(gp, Ordering::Relaxed);
            g = p;
        }
    }

    /// The owner of object `id` if it is hot.
    pub fn hot_owner(&self, id: u64) -> Option<usize> {
        self.hot_group(id)
            .map(|g| self.owner[g].load(Ordering::Relaxed) as usize)
    }

    /// Counts a conflict on object `id`, read by a task whose references are `refs`.
    /// Returns the object's owner once it is hot.
    pub fn conflict(&self, id: u64, refs: &[u64]) -> Option<usize> {
        if !self.learning.load(Ordering::Relaxed) {
            return None;
        }
        let joined = refs
            .iter()
            .filter(|&&r| r != id)
            .find_map(|&r| self.hot_group(r));
        let cell = self.entry(id);
        let old = cell.load(Ordering::Relaxed);
        let tag = id.wrapping_add(1);
        let count = (old >> 16) & 0xff;
        // Racing updates may lose a count or a merge; the table is a hint and converges.
        if old >> 24 != tag {
            if count > 1 {
                // Another object holds the entry: it wears down one conflict at a time, so
                // one-off conflicts cannot evict an object that is really hot.
                cell.store(old - (1 << 16), Ordering::Relaxed);
            } else {
                cell.store(tag << 24 | 1 << 16, Ordering::Relaxed);
            }
            return None;
        }
        let count = (count + 1).min(255);
        let group = if count < HOT_AFTER {
            0
        } else if count == HOT_AFTER {
            // Newly hot: join a hot object it was used with, or found a group.
            joined.unwrap_or_else(|| {
                let g = self.next_group.fetch_add(1, Ordering::Relaxed) % GROUPS;
                self.parent[g].store(g as u16, Ordering::Relaxed);
                self.owner[g].store(self.core_for_key(id) as u16, Ordering::Relaxed);
                g
            })
        } else {
            let mine = self.find((old & 0xffff) as usize);
            if let Some(other) = joined.filter(|&o| o != mine) {
                // Two groups conflict: merge them onto the other's core.
                self.parent[mine].store(other as u16, Ordering::Relaxed);
            }
            mine
        };
        cell.store(tag << 24 | count << 16 | group as u64, Ordering::Relaxed);
        debug_assert!(self.hot_owner(id).is_none_or(|c| c < self.cores));
        self.hot_owner(id)
    }

    /// Turns learning hot objects from conflicts on or off (on by default). Off, every task
    /// goes by its affinity key alone; benchmarks use it to show what learning buys.
    pub fn set_learning(&self, on: bool) {
        self.learning.store(on, Ordering::Relaxed);
        if !on {
            self.clear_hot();
        }
    }

    /// The hot objects now, the most conflicted first: what placement learned, for the
    /// admin API and the dashboard. Objects of one group conflicted with each other.
    pub fn hot_objects(&self) -> Vec<HotObject> {
        let mut hot: Vec<HotObject> = self
            .hot
            .iter()
            .filter_map(|e| {
                let e = e.load(Ordering::Relaxed);
                let conflicts = (e >> 16) & 0xff;
                if e == 0 || conflicts < HOT_AFTER {
                    return None;
                }
                let group = self.find((e & 0xffff) as usize);
                Some(HotObject {
                    id: (e >> 24) - 1,
                    conflicts,
                    group,
                    core: self.owner[group].load(Ordering::Relaxed) as usize,
                })
            })
            .collect();
        hot.sort_by(|a, b| b.conflicts.cmp(&a.conflicts).then(a.id.cmp(&b.id)));
        hot
    }

    /// How many slots each core has.
    pub fn slots_per_core(&self) -> Vec<usize> {
        let mut per = vec![0; self.cores];
        for s in self.slots.iter() {
            per[s.load(Ordering::Relaxed) as usize] += 1;
        }
        per
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
        assert_eq!(
            p.route(Some(9), &[9, 7]),
            owner,
            "a task on a hot object goes to its owner"
        );
        // Object 9 gets hot in a task together with 7: it joins 7's group.
        p.conflict(9, &[9, 7]);
        assert_eq!(p.conflict(9, &[9, 7]), Some(owner));
        // Two groups that meet in a conflict merge onto one core.
        let others: Vec<u64> = (100..200)
            .filter(|&k| p.core_for_key(k) != owner)
            .take(1)
            .collect();
        let x = others[0];
        p.conflict(x, &[x]);
        assert_eq!(
            p.conflict(x, &[x]),
            Some(1 - owner),
            "a new group on its own core"
        );
        assert_eq!(p.conflict(x, &[x, 7]), Some(owner), "merged into 7's group");
        assert_eq!(p.hot_owner(9), Some(owner));
        let hot = p.hot_objects();
        let ids: Vec<u64> = hot.iter().map(|h| h.id).collect();
        for id in [7, 9, x] {
            assert!(ids.contains(&id), "{id} is listed hot: {hot:?}");
        }
        assert!(
            hot.iter().all(|h| h.core == owner),
            "one merged group: {hot:?}"
        );
        assert!(hot.windows(2).all(|w| w[0].conflicts >= w[1].conflicts));
        assert_eq!(p.slots_per_core().iter().sum::<usize>(), SLOTS);
        p.clear_hot();
        assert_eq!(p.hot_owner(7), None);
        assert!(p.hot_objects().is_empty());
    }
}
