//! `Fanout`: how big a collection's nodes grow, and the rules for splitting and merging
//! them that the map and the list share.

use crate::error::TaskError;

/// How big the nodes of a collection grow before they split (or, for a queue, before a
/// chunk is sealed and the next one started). Chosen when the collection is created and
/// stored with it.
///
/// Every write of a node rewrites the whole node, and two tasks conflict when they write
/// the same node: small nodes make writes cheap and conflicts rare, large nodes make the
/// tree shallow (fewer objects to read per operation). The default keeps a node near one
/// 4 KiB page, where both costs are low; see [`Fanout::default`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fanout {
    /// Most entries in a leaf: a map's key-value pairs, a list's items, a queue chunk's
    /// items. At least 2.
    pub leaf: u32,
    /// Most children of an inner node of a map or a list. At least 4.
    pub inner: u32,
    /// Bytes of keys and values a node holds before it splits even with fewer entries
    /// than `leaf` or `inner`: large values make for fewer entries per node. A node with
    /// a single entry larger than this is allowed. At least 64.
    pub bytes: u32,
}

impl Default for Fanout {
    /// 64 entries per leaf, 128 children per inner node, 4 KiB per node.
    ///
    /// A leaf of 64 small entries (a `u64` key and a `u64` value take 24 bytes with their
    /// offsets) is about 1.5 KiB: one page to rewrite per insert, and an insert that lands
    /// in it has only 63 neighbours it can conflict with. Inner nodes are written only
    /// when a child splits or merges, so they can be wider: 128 children keep ten million
    /// entries within four levels (a root, two inner levels, the leaves), and each level
    /// is one read of an archived node searched in place. The byte limit keeps nodes of
    /// large values near a page as well.
    fn default() -> Fanout {
        Fanout {
            leaf: 64,
            inner: 128,
            bytes: 4096,
        }
    }
}

impl Fanout {
    /// Fails with [`TaskError::Aborted`] if a limit is below its minimum.
    pub(crate) fn check(&self) -> Result<(), TaskError> {
        if self.leaf < 2 || self.inner < 4 || self.bytes < 64 {
            return Err(TaskError::abort(format!(
                "a collection's fanout needs leaf >= 2, inner >= 4 and bytes >= 64, not {self:?}"
            )));
        }
        Ok(())
    }

    /// Whether a leaf of `len` entries and `bytes` bytes must split.
    pub(crate) fn leaf_overflows(&self, len: usize, bytes: usize) -> bool {
        len > self.leaf as usize || (len > 1 && bytes > self.bytes as usize)
    }

    /// Whether a leaf of `len` entries and `bytes` bytes can take a sibling's entries:
    /// a leaf it is merged into must not overflow.
    pub(crate) fn leaf_fits(&self, len: usize, bytes: usize) -> bool {
        !self.leaf_overflows(len, bytes)
    }

    /// Whether a leaf (not the root) is so small that it is merged with a sibling or takes
    /// some of its entries: an empty leaf always, otherwise one under a third of both
    /// limits. A third, not a half: the halves of a split are well above it, so a leaf
    /// near a limit does not split and merge again as entries come and go.
    pub(crate) fn leaf_underfull(&self, len: usize, bytes: usize) -> bool {
        len == 0 || (len < third(self.leaf) && bytes < third(self.bytes))
    }

    /// Whether an inner node of `children` children and `bytes` bytes must split. A node
    /// splits on bytes only from four children on, so both halves keep two.
    pub(crate) fn inner_overflows(&self, children: usize, bytes: usize) -> bool {
        children > self.inner as usize || (children >= 4 && bytes > self.bytes as usize)
    }

    /// Whether an inner node can take a sibling's children.
    pub(crate) fn inner_fits(&self, children: usize, bytes: usize) -> bool {
        !self.inner_overflows(children, bytes)
    }

    /// Whether an inner node (not the root) is so small that it is merged with a sibling
    /// or takes some of its children: one with a single child always.
    pub(crate) fn inner_underfull(&self, children: usize, bytes: usize) -> bool {
        children < 2 || (children < third(self.inner) && bytes < third(self.bytes))
    }
}

/// A third of `limit`, rounded up.
fn third(limit: u32) -> usize {
    (limit as usize).div_ceil(3)
}

/// How a node that overflowed is cut in two.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cut {
    /// Into halves of about equal bytes: the usual case, leaving room on both sides.
    Balanced,
    /// Leaving the left part seven-eighths full: for a node that overflowed by an entry
    /// appended at the very end of the collection, so that ascending inserts (bulk loads,
    /// `push_back`) leave nearly full nodes behind instead of half-empty ones. The eighth
    /// left free takes later inserts among those keys without splitting every node at the
    /// first one (a split writes the parent, which concurrent tasks read).
    FillLeft,
}

/// Where to cut a sequence of entries of `sizes` bytes in two, so that each part holds
/// at least `min` entries and at most `max`, and, with [`Cut::FillLeft`], the left part
/// holds as much as fits in seven-eighths of `max` entries and of `max_bytes`. Returns the index of the right part's first
/// entry. `sizes` has at least `2 * min` entries and at most `2 * max`.
pub(crate) fn cut_point(
    sizes: &[usize],
    min: usize,
    max: usize,
    max_bytes: usize,
    cut: Cut,
) -> usize {
    let len = sizes.len();
    assert!(
        min >= 1 && len >= 2 * min && len <= 2 * max,
        "{len} entries to cut into parts of {min} to {max}"
    );
    let lo = len.saturating_sub(max).max(min);
    let hi = max.min(len - min);
    let at = match cut {
        Cut::FillLeft => {
            let (fill, fill_bytes) = (max - max / 8, max_bytes - max_bytes / 8);
            let mut bytes = 0;
            let mut at = 0;
            while at < hi.min(fill) && (at == 0 || bytes + sizes[at] <= fill_bytes) {
                bytes += sizes[at];
                at += 1;
            }
            at
        }
        Cut::Balanced => {
            let total: usize = sizes.iter().sum();
            let mut left = 0;
            let mut at = 0;
            // The first cut where the left part holds at least half, or the one before it
            // if that is as close to even or closer.
            while at < len && left * 2 < total {
                left += sizes[at];
                at += 1;
            }
            if at > 0 {
                let before = left - sizes[at - 1];
                if total.abs_diff(2 * before) <= total.abs_diff(2 * left) {
                    at -= 1;
                }
            }
            at
        }
    };
    at.clamp(lo, hi)
}

/// Where to cut two siblings again after they were joined into `len` entries that do not
/// fit in one node, or `None` to leave them as they were (so that neither they nor their
/// parent are written): `orig` is where the left one used to end, `balanced` the even
/// cut, `fits(at)` whether both parts of a cut at `at` stay within the limits, and
/// `stands` whether the underfull one may stay as it is (it is not empty, nor an inner
/// node of one child). The even cut is taken if it fits and moves something; otherwise
/// the siblings stay as they are if they can, and if they cannot, one entry moves into
/// the underfull one (`underfull_left` says which it is).
pub(crate) fn recut(
    len: usize,
    orig: usize,
    min: usize,
    balanced: usize,
    underfull_left: bool,
    stands: bool,
    fits: impl Fn(usize) -> bool,
) -> Option<usize> {
    if balanced != orig && fits(balanced) {
        return Some(balanced);
    }
    if stands {
        return None;
    }
    let toward = if underfull_left { orig + 1 } else { orig - 1 };
    if toward >= min && len - toward >= min && fits(toward) {
        Some(toward)
    } else {
        Some(balanced)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_stay_within_the_limits() {
        assert_eq!(cut_point(&[1; 5], 1, 4, 100, Cut::Balanced), 2);
        assert_eq!(cut_point(&[1; 5], 1, 4, 100, Cut::FillLeft), 4);
        assert_eq!(cut_point(&[1; 8], 1, 4, 100, Cut::FillLeft), 4);
        assert_eq!(cut_point(&[1; 8], 1, 4, 100, Cut::Balanced), 4);
        // By bytes: the big entry goes alone, unless each part needs two.
        assert_eq!(cut_point(&[1, 1, 1, 90], 1, 4, 100, Cut::Balanced), 3);
        assert_eq!(cut_point(&[90, 1, 1, 1], 1, 4, 100, Cut::Balanced), 1);
        assert_eq!(cut_point(&[90, 1, 1, 1], 2, 4, 100, Cut::Balanced), 2);
        assert_eq!(cut_point(&[60, 60, 60], 1, 4, 100, Cut::FillLeft), 1);
        // Seven-eighths of 64 entries, or of the bytes.
        assert_eq!(cut_point(&[1; 65], 1, 64, 4096, Cut::FillLeft), 56);
        assert_eq!(cut_point(&[100; 41], 1, 64, 4000, Cut::FillLeft), 35);
        for len in 2..=8 {
            for cut in [Cut::Balanced, Cut::FillLeft] {
                let at = cut_point(&vec![3; len], 1, 4, 10, cut);
                assert!(
                    at >= 1 && at < len && at <= 4 && len - at <= 4,
                    "{len} {at}"
                );
            }
        }
    }

    #[test]
    fn underfull_nodes_are_well_below_full() {
        let f = Fanout::default();
        assert!(f.leaf_underfull(0, 0));
        assert!(f.leaf_underfull(21, 100));
        assert!(!f.leaf_underfull(22, 100));
        assert!(!f.leaf_underfull(2, 2000), "few but large entries");
        assert!(f.inner_underfull(1, 8));
        assert!(f.inner_underfull(42, 8));
        assert!(!f.inner_underfull(43, 8));
        let tiny = Fanout {
            leaf: 4,
            inner: 4,
            bytes: 4096,
        };
        assert!(tiny.leaf_underfull(1, 10) && !tiny.leaf_underfull(2, 10));
        assert!(!tiny.inner_underfull(2, 10));
        assert!(f.leaf_overflows(65, 100) && !f.leaf_overflows(64, 100));
        assert!(f.leaf_overflows(2, 5000) && !f.leaf_overflows(1, 5000));
        assert!(f.check().is_ok());
        assert!(Fanout { leaf: 1, ..f }.check().is_err());
    }
}
