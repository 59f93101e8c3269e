//! A key space of u64 ids (objects, pending tasks), sharded to keep readers on different
//! cores off each other's locks.
//!
//! Each shard keeps the newest version of every id inline in one table of 32-byte buckets
//! (two to a cache line), and the older versions that open snapshots may still read in a
//! side table that is usually almost empty. A read is one probe of the main table.

use std::hash::{BuildHasherDefault, Hasher};

use hashbrown::HashMap;
use parking_lot::RwLock;
use smallvec::SmallVec;

use super::chain::{Loc, Version};

const SHARDS: usize = 64;

/// Ids are mostly sequential; one multiply spreads them over the table.
#[derive(Default)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ b as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (n ^ (n >> 29)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// The top bit of [`Slot::version`] marks a tombstone. Sequence numbers never reach it, and
/// commits and recovery refuse explicit versions above `format::MAX_VERSION`.
const TOMBSTONE: u64 = 1 << 63;

/// One version of an id, packed into 24 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Slot {
    seq: u64,
    version: u64,
    loc: Loc,
}

impl Slot {
    fn pack(v: &Version) -> Slot {
        assert!(v.version < TOMBSTONE && v.target == 0);
        Slot {
            seq: v.seq,
            version: v.version | if v.tombstone { TOMBSTONE } else { 0 },
            loc: v.loc,
        }
    }

    fn unpack(self) -> Version {
        Version {
            seq: self.seq,
            version: self.version & !TOMBSTONE,
            loc: self.loc,
            target: 0,
            tombstone: self.version & TOMBSTONE != 0,
        }
    }

    fn is_tombstone(self) -> bool {
        self.version & TOMBSTONE != 0
    }
}

type Build = BuildHasherDefault<IdHasher>;

#[derive(Default)]
struct Shard {
    /// The newest version of every id.
    newest: HashMap<u64, Slot, Build>,
    /// Older versions still possibly visible to a snapshot, oldest first.
    older: HashMap<u64, SmallVec<[Slot; 2]>, Build>,
}

impl Shard {
    /// The version of `id` a snapshot at `seq` sees: the newest, or failing that the newest
    /// old version at or below `seq`.
    #[inline]
    fn visible(&self, id: u64, seq: u64) -> Option<Slot> {
        let newest = *self.newest.get(&id)?;
        if newest.seq <= seq {
            return Some(newest);
        }
        self.older
            .get(&id)?
            .iter()
            .rev()
            .find(|s| s.seq <= seq)
            .copied()
    }

    /// Drops old versions nobody can see, and the id itself if only a tombstone no snapshot
    /// predates is left. Returns whether the id is gone.
    fn prune(&mut self, id: u64, horizon: u64) -> bool {
        let Some(newest) = self.newest.get(&id).copied() else {
            self.older.remove(&id);
            return true;
        };
        if newest.seq <= horizon {
            self.older.remove(&id);
            if newest.is_tombstone() {
                self.newest.remove(&id);
                return true;
            }
        } else if let Some(old) = self.older.get_mut(&id) {
            // Keep the newest old version at or below the horizon, and everything after.
            if let Some(keep_from) = old.iter().rposition(|s| s.seq <= horizon) {
                old.drain(..keep_from);
            }
        }
        false
    }
}

/// Sharded map from id to its versions.
pub(crate) struct IdSpace {
    shards: Box<[RwLock<Shard>]>,
}

impl IdSpace {
    pub fn new() -> IdSpace {
        IdSpace {
            shards: (0..SHARDS).map(|_| RwLock::new(Shard::default())).collect(),
        }
    }

    #[inline]
    fn shard(&self, id: u64) -> &RwLock<Shard> {
        &self.shards[(id as usize) % SHARDS]
    }

    /// The version of `id` a snapshot at `seq` sees (a tombstone if it was removed).
    #[inline]
    pub fn visible(&self, id: u64, seq: u64) -> Option<Version> {
        self.shard(id).read().visible(id, seq).map(Slot::unpack)
    }

    /// The newest version of `id`, visible or not.
    #[inline]
    pub fn latest(&self, id: u64) -> Option<Version> {
        let shard = self.shard(id).read();
        shard.newest.get(&id).map(|s| s.unpack())
    }

    /// Installs `v` as the newest version of `id`; returns the version it supersedes. A
    /// second write of the same id in one commit replaces the first.
    pub fn install(&self, id: u64, v: Version, horizon: u64) -> Option<Version> {
        let slot = Slot::pack(&v);
        let mut guard = self.shard(id).write();
        let shard = &mut *guard;
        let prev = shard.newest.insert(id, slot);
        if let Some(p) = prev {
            assert!(p.seq <= v.seq, "versions must be installed in commit order");
            if p.seq < v.seq {
                // Snapshots between the two commits still read the old version.
                shard.older.entry(id).or_default().push(p);
            }
        }
        shard.prune(id, horizon);
        prev.map(Slot::unpack)
    }

    /// Drops what no snapshot at or after `horizon` can see of `id`. Returns whether the id
    /// left the index.
    pub fn forget_if_dead(&self, id: u64, horizon: u64) -> bool {
        self.shard(id).write().prune(id, horizon)
    }

    /// The ids a snapshot at `seq` sees as present, in order.
    pub fn present_at(&self, seq: u64) -> Vec<u64> {
        let mut ids = Vec::new();
        for shard in self.shards.iter() {
            let shard = shard.read();
            ids.extend(
                shard
                    .newest
                    .keys()
                    .copied()
                    .filter(|&id| shard.visible(id, seq).is_some_and(|s| !s.is_tombstone())),
            );
        }
        ids.sort_unstable();
        ids
    }

    /// Number of ids in the index (tombstones not yet forgotten included).
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.read().newest.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(seq: u64, tombstone: bool) -> Version {
        Version {
            seq,
            version: seq,
            loc: Loc {
                seg: 1,
                off: seq as u32 * 64,
            },
            target: 0,
            tombstone,
        }
    }

    #[test]
    fn old_versions_stay_until_the_horizon_passes() {
        let s = IdSpace::new();
        s.install(5, v(1, false), 0);
        s.install(5, v(3, false), 0);
        s.install(5, v(6, false), 2);
        assert_eq!(s.visible(5, 0), None);
        assert_eq!(s.visible(5, 2).unwrap().seq, 1);
        assert_eq!(s.visible(5, 4).unwrap().seq, 3);
        assert_eq!(s.visible(5, 9).unwrap().seq, 6);
        assert!(!s.forget_if_dead(5, 4));
        assert_eq!(s.visible(5, 4).unwrap().seq, 3);
        assert!(!s.forget_if_dead(5, 6));
        assert!(s.shards[5].read().older.is_empty());
    }

    #[test]
    fn tombstones_leave_once_no_snapshot_predates_them() {
        let s = IdSpace::new();
        s.install(7, v(1, false), 0);
        s.install(7, v(2, true), 1);
        assert_eq!(s.present_at(1), vec![7]);
        assert!(s.present_at(2).is_empty());
        assert!(s.visible(7, 2).unwrap().tombstone);
        assert!(!s.forget_if_dead(7, 1));
        assert!(s.forget_if_dead(7, 2));
        assert_eq!(s.len(), 0);
    }

    #[test]
    fn a_second_write_in_one_commit_replaces_the_first() {
        let s = IdSpace::new();
        s.install(1, v(4, false), 0);
        let mut again = v(4, false);
        again.loc.off = 999;
        assert_eq!(s.install(1, again, 0).unwrap().loc.off, 4 * 64);
        assert_eq!(s.visible(1, 4).unwrap().loc.off, 999);
        assert!(s.shards[1].read().older.get(&1).is_none());
    }
}
