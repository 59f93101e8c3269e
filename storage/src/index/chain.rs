//! Version chains: the versions of one key that some reader may still see.

use smallvec::SmallVec;

/// Where an entry lives: segment and byte offset of the entry (its header says how long it
/// is).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Loc {
    pub seg: u32,
    pub off: u32,
}

/// One version of a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Version {
    /// The commit that made this entry visible; snapshots at or after it see it.
    pub seq: u64,
    /// The key's version: the sequence number of the commit that first wrote this value, or
    /// in a replica store the version its committer chose. Compaction moves entries without
    /// changing it. Nothing here orders by it: in a replica it may exceed `seq` and need
    /// not increase from one version of a key to the next.
    pub version: u64,
    /// Where the entry is.
    pub loc: Loc,
    /// For bindings, the bound id.
    pub target: u64,
    /// Whether this version removes the key.
    pub tombstone: bool,
}

/// Versions of one key, oldest first. Almost always exactly one, hence the inline slot.
pub(crate) type Chain = SmallVec<[Version; 1]>;

/// The version a snapshot at `seq` sees, tombstones included.
#[inline]
pub(crate) fn visible_at(chain: &Chain, seq: u64) -> Option<&Version> {
    chain.iter().rev().find(|v| v.seq <= seq)
}

/// Appends `v` and drops the versions nobody can see any more: everything older than the
/// newest version at or below `horizon` (the oldest snapshot any reader may hold).
/// A second write of the same key in one commit replaces the first.
/// Returns the version that was newest before `v`.
pub(crate) fn push_and_prune(chain: &mut Chain, v: Version, horizon: u64) -> Option<Version> {
    let prev = chain.last().copied();
    match prev {
        Some(p) if p.seq == v.seq => {
            *chain.last_mut().expect("non-empty") = v;
        }
        Some(p) => {
            assert!(v.seq > p.seq, "versions must be installed in commit order");
            chain.push(v);
        }
        None => chain.push(v),
    }
    prune(chain, horizon);
    prev
}

/// Drops versions older than the newest one at or below `horizon`.
pub(crate) fn prune(chain: &mut Chain, horizon: u64) {
    if chain.len() < 2 {
        return;
    }
    if let Some(keep_from) = chain.iter().rposition(|v| v.seq <= horizon) {
        if keep_from > 0 {
            chain.drain(..keep_from);
        }
    }
    debug_assert!(!chain.is_empty());
}

/// Whether the key can leave the index: its only version is a tombstone no snapshot
/// predates.
pub(crate) fn is_dead(chain: &Chain, horizon: u64) -> bool {
    chain.len() == 1 && chain[0].tombstone && chain[0].seq <= horizon
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(seq: u64) -> Version {
        Version {
            seq,
            version: seq,
            loc: Loc { seg: 1, off: 64 },
            target: 0,
            tombstone: false,
        }
    }

    #[test]
    fn snapshots_see_the_newest_version_at_or_before_them() {
        let mut c = Chain::new();
        push_and_prune(&mut c, v(3), 0);
        push_and_prune(&mut c, v(7), 0);
        assert!(visible_at(&c, 2).is_none());
        assert_eq!(visible_at(&c, 3).unwrap().seq, 3);
        assert_eq!(visible_at(&c, 6).unwrap().seq, 3);
        assert_eq!(visible_at(&c, 9).unwrap().seq, 7);
    }

    #[test]
    fn pruning_keeps_what_the_oldest_snapshot_needs() {
        let mut c = Chain::new();
        for s in [1, 2, 3, 4] {
            push_and_prune(&mut c, v(s), 2);
        }
        assert_eq!(c.iter().map(|v| v.seq).collect::<Vec<_>>(), vec![2, 3, 4]);
        prune(&mut c, 10);
        assert_eq!(c.iter().map(|v| v.seq).collect::<Vec<_>>(), vec![4]);
    }
}
