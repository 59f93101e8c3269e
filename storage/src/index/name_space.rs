//! The ordered key space of name bindings.

use std::collections::BTreeMap;
use std::ops::Bound;

use parking_lot::RwLock;

use super::chain::{is_dead, push_and_prune, visible_at, Chain, Version};

/// Ordered map from name to version chain.
pub(crate) struct NameSpace {
    map: RwLock<BTreeMap<Box<str>, Chain>>,
}

impl NameSpace {
    pub fn new() -> NameSpace {
        NameSpace {
            map: RwLock::new(BTreeMap::new()),
        }
    }

    /// The version of `name` a snapshot at `seq` sees.
    pub fn visible(&self, name: &str, seq: u64) -> Option<Version> {
        let map = self.map.read();
        map.get(name).and_then(|c| visible_at(c, seq).copied())
    }

    /// The newest version of `name`.
    pub fn latest(&self, name: &str) -> Option<Version> {
        let map = self.map.read();
        map.get(name).and_then(|c| c.last().copied())
    }

    /// The first bound name after `after` (or the first of all) that a snapshot at `seq`
    /// sees, with its version.
    pub fn next_visible(&self, after: Option<&str>, seq: u64) -> Option<(String, Version)> {
        self.next_by(after, |c| visible_at(c, seq).copied())
    }

    /// The first name after `after` whose newest version is a binding.
    pub fn next_latest(&self, after: Option<&str>) -> Option<(String, Version)> {
        self.next_by(after, |c| c.last().copied())
    }

    fn next_by(
        &self,
        after: Option<&str>,
        pick: impl Fn(&Chain) -> Option<Version>,
    ) -> Option<(String, Version)> {
        let map = self.map.read();
        let lower = match after {
            Some(a) => Bound::Excluded(a),
            None => Bound::Unbounded,
        };
        map.range::<str, _>((lower, Bound::Unbounded))
            .find_map(|(k, c)| match pick(c) {
                Some(v) if !v.tombstone => Some((k.to_string(), v)),
                _ => None,
            })
    }

    /// Installs `v` as the newest version of `name`; returns the version it supersedes.
    pub fn install(&self, name: &str, v: Version, horizon: u64) -> Option<Version> {
        let mut map = self.map.write();
        let chain = match map.get_mut(name) {
            Some(c) => c,
            None => map.entry(name.into()).or_default(),
        };
        let prev = push_and_prune(chain, v, horizon);
        if is_dead(chain, horizon) {
            map.remove(name);
        }
        prev
    }

    /// Drops `name` if all that is left is a tombstone no snapshot predates.
    pub fn forget_if_dead(&self, name: &str, horizon: u64) -> bool {
        let mut map = self.map.write();
        match map.get_mut(name) {
            None => true,
            Some(chain) => {
                super::chain::prune(chain, horizon);
                if is_dead(chain, horizon) {
                    map.remove(name);
                    true
                } else {
                    false
                }
            }
        }
    }

    /// Number of names in the index (tombstones not yet forgotten included).
    pub fn len(&self) -> usize {
        self.map.read().len()
    }
}
