//! A key space of u64 ids (objects, pending tasks), sharded to keep readers on different
//! cores off each other's locks.

use std::hash::{BuildHasherDefault, Hasher};

use hashbrown::HashMap;
use parking_lot::RwLock;

use super::chain::{is_dead, push_and_prune, visible_at, Chain, Version};

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

type Shard = HashMap<u64, Chain, BuildHasherDefault<IdHasher>>;

/// Sharded map from id to version chain.
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
        let shard = self.shard(id).read();
        shard.get(&id).and_then(|c| visible_at(c, seq).copied())
    }

    /// The newest version of `id`, visible or not.
    pub fn latest(&self, id: u64) -> Option<Version> {
        let shard = self.shard(id).read();
        shard.get(&id).and_then(|c| c.last().copied())
    }

    /// Installs `v` as the newest version of `id`; returns the version it supersedes.
    pub fn install(&self, id: u64, v: Version, horizon: u64) -> Option<Version> {
        let mut shard = self.shard(id).write();
        let chain = shard.entry(id).or_default();
        let prev = push_and_prune(chain, v, horizon);
        if is_dead(chain, horizon) {
            shard.remove(&id);
        }
        prev
    }

    /// Drops `id` from the index if all that is left of it is a tombstone no snapshot
    /// predates. Returns whether the key is gone.
    pub fn forget_if_dead(&self, id: u64, horizon: u64) -> bool {
        let mut shard = self.shard(id).write();
        match shard.get_mut(&id) {
            None => true,
            Some(chain) => {
                super::chain::prune(chain, horizon);
                if is_dead(chain, horizon) {
                    shard.remove(&id);
                    true
                } else {
                    false
                }
            }
        }
    }

    /// The ids a snapshot at `seq` sees as present, in order.
    pub fn present_at(&self, seq: u64) -> Vec<u64> {
        let mut ids = Vec::new();
        for shard in self.shards.iter() {
            let shard = shard.read();
            ids.extend(
                shard
                    .iter()
                    .filter(|(_, c)| visible_at(c, seq).is_some_and(|v| !v.tombstone))
                    .map(|(id, _)| *id),
            );
        }
        ids.sort_unstable();
        ids
    }

    /// Number of keys in the index (tombstones not yet forgotten included).
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.read().len()).sum()
    }
}
