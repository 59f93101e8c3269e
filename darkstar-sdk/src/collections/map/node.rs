//! The map's stored objects, its header and its nodes, and what one node does on its own:
//! search, split, join.

use crate::collections::fanout::{cut_point, Cut, Fanout};
use crate::collections::packed::Packed;
use crate::collections::Elements;

/// A map's header, the object its handle names. Written once, when the map is created,
/// and only read after: it never takes part in a conflict.
#[crate::managed(name = "darkstar.MapHeader")]
#[derive(Debug)]
pub(crate) struct MapHeader {
    /// The key and value types.
    pub(crate) elements: Elements,
    /// The root node. It keeps its id for the map's whole life: when it splits, its halves
    /// move down into two new nodes, and when it is left with one child, the child's
    /// contents move up into it. So the header never changes.
    pub(crate) root: u64,
    /// The fanout's `leaf`.
    pub(crate) leaf: u32,
    /// The fanout's `inner`.
    pub(crate) inner: u32,
    /// The fanout's `bytes`.
    pub(crate) bytes: u32,
}

impl ArchivedMapHeader {
    /// The fanout the map was created with.
    pub(crate) fn fanout(&self) -> Fanout {
        Fanout {
            leaf: self.leaf(),
            inner: self.inner(),
            bytes: self.bytes(),
        }
    }
}

/// A node of a map's B+tree.
///
/// A leaf has no children; it holds entries: `keys`, sorted and distinct (encoded with
/// [`MapKey`](crate::MapKey), compared as bytes), and one archived value per key in
/// `values`. Every leaf but the root holds at least one entry.
///
/// An inner node holds `children` (at least two, except in the middle of a change) and
/// `children.len() - 1` separator keys in `keys`, sorted; `values` is empty. Child `i`
/// holds the keys `k` with `keys[i - 1] <= k < keys[i]`. Every leaf is at the same depth.
#[crate::managed(name = "darkstar.MapNode")]
#[derive(Clone, Debug, Default)]
pub(crate) struct MapNode {
    /// A leaf's keys, or an inner node's separators.
    pub(crate) keys: Packed,
    /// A leaf's values, one per key; empty in an inner node.
    pub(crate) values: Packed,
    /// An inner node's children (node ids); empty in a leaf.
    pub(crate) children: Vec<u64>,
}

/// Bytes per stored offset or id, counted in a node's size.
const OFFSET: usize = 4;
const ID: usize = 8;

/// The shortest key `s` with `left < s <= right`: the common prefix of the two and one
/// more byte of `right`. A separator this short keeps inner nodes of long keys small.
fn separator(left: &[u8], right: &[u8]) -> Vec<u8> {
    debug_assert!(left < right, "separator between {left:?} and {right:?}");
    let common = left.iter().zip(right).take_while(|(a, b)| a == b).count();
    right[..common + 1].to_vec()
}

impl MapNode {
    /// An inner node over `children`, separated by `keys`.
    pub(crate) fn inner(keys: Packed, children: Vec<u64>) -> MapNode {
        debug_assert_eq!(keys.len() + 1, children.len());
        MapNode {
            keys,
            values: Packed::default(),
            children,
        }
    }

    /// Whether this is a leaf.
    pub(crate) fn is_leaf(&self) -> bool {
        self.children.is_empty()
    }

    /// A leaf's entries or an inner node's children.
    pub(crate) fn len(&self) -> usize {
        if self.is_leaf() {
            self.keys.len()
        } else {
            self.children.len()
        }
    }

    /// The bytes the fanout's `bytes` limit counts: keys, values, offsets and ids.
    pub(crate) fn bytes(&self) -> usize {
        self.keys.byte_len()
            + self.values.byte_len()
            + OFFSET * (self.keys.len() + self.values.len())
            + ID * self.children.len()
    }

    /// Whether the node must split.
    pub(crate) fn overflows(&self, fanout: &Fanout) -> bool {
        if self.is_leaf() {
            fanout.leaf_overflows(self.len(), self.bytes())
        } else {
            fanout.inner_overflows(self.len(), self.bytes())
        }
    }

    /// Whether the node (not the root) must take entries or children from a sibling.
    pub(crate) fn underfull(&self, fanout: &Fanout) -> bool {
        if self.is_leaf() {
            fanout.leaf_underfull(self.len(), self.bytes())
        } else {
            fanout.inner_underfull(self.len(), self.bytes())
        }
    }

    /// Whether the node, made of two joined siblings, can stay one node.
    pub(crate) fn fits(&self, fanout: &Fanout) -> bool {
        if self.is_leaf() {
            fanout.leaf_fits(self.len(), self.bytes())
        } else {
            fanout.inner_fits(self.len(), self.bytes())
        }
    }

    /// The size of each entry (leaf) or child with the separator before it (inner).
    fn sizes(&self) -> Vec<usize> {
        if self.is_leaf() {
            (0..self.keys.len())
                .map(|i| self.keys.get(i).len() + self.values.get(i).len() + 2 * OFFSET)
                .collect()
        } else {
            (0..self.children.len())
                .map(|i| {
                    ID + if i == 0 {
                        0
                    } else {
                        self.keys.get(i - 1).len() + OFFSET
                    }
                })
                .collect()
        }
    }

    /// The fewest entries or children a part of a split keeps: an inner node keeps two
    /// children on each side, so none is left with one.
    pub(crate) fn min_part(&self) -> usize {
        if self.is_leaf() {
            1
        } else {
            2
        }
    }

    /// Where [`split`](Self::split) would cut the node.
    pub(crate) fn cut_point(&self, fanout: &Fanout, cut: Cut) -> usize {
        let max = if self.is_leaf() {
            fanout.leaf
        } else {
            fanout.inner
        };
        cut_point(
            &self.sizes(),
            self.min_part(),
            max as usize,
            fanout.bytes as usize,
            cut,
        )
    }

    /// Cuts the node in two: it keeps the left part and returns the separator between the
    /// parts (every key on the right is at least the separator) and the right part.
    pub(crate) fn split(&mut self, fanout: &Fanout, cut: Cut) -> (Vec<u8>, MapNode) {
        let at = self.cut_point(fanout, cut);
        self.split_at(at)
    }

    /// Cuts the node before entry or child `at` (`0 < at < len`), as [`split`](Self::split).
    pub(crate) fn split_at(&mut self, at: usize) -> (Vec<u8>, MapNode) {
        if self.is_leaf() {
            let keys = self.keys.split_off(at);
            let values = self.values.split_off(at);
            let sep = separator(self.keys.get(at - 1), keys.get(0));
            let right = MapNode {
                keys,
                values,
                children: Vec::new(),
            };
            (sep, right)
        } else {
            let children = self.children.split_off(at);
            // Keys `at - 1..` go right; the first of them moves up as the separator.
            let mut keys = self.keys.split_off(at - 1);
            let sep = keys.remove(0);
            (sep, MapNode::inner(keys, children))
        }
    }

    /// Cuts an overflowing node into as many parts as it takes for none to overflow (two,
    /// usually; three when a large entry lands among others): it keeps the first part and
    /// returns the others in order, each with the separator before it. `cut` is how the
    /// first cut is made; the parts are cut evenly after that.
    pub(crate) fn split_all(&mut self, fanout: &Fanout, cut: Cut) -> Vec<(Vec<u8>, MapNode)> {
        let mut rights = Vec::new();
        let mut cut = cut;
        while self.overflows(fanout) {
            rights.insert(0, self.split(fanout, cut));
            cut = Cut::Balanced;
        }
        let mut i = 0;
        while i < rights.len() {
            if rights[i].1.overflows(fanout) {
                let more = rights[i].1.split(fanout, Cut::Balanced);
                rights.insert(i + 1, more);
            } else {
                i += 1;
            }
        }
        rights
    }

    /// Appends `right`, the next sibling, to this node; `sep` is the separator between
    /// them in their parent.
    pub(crate) fn join(&mut self, sep: &[u8], right: MapNode) {
        debug_assert_eq!(self.is_leaf(), right.is_leaf());
        if self.is_leaf() {
            self.keys.append(right.keys);
            self.values.append(right.values);
        } else {
            self.keys.push(sep);
            self.keys.append(right.keys);
            self.children.extend(right.children);
        }
    }
}

impl ArchivedMapNode {
    /// Whether this is a leaf.
    pub(crate) fn is_leaf(&self) -> bool {
        self.children.is_empty()
    }

    /// The child of this inner node whose range holds `key`: the number of separators at
    /// or below it.
    pub(crate) fn child_for(&self, key: &[u8]) -> usize {
        match self.keys.search(key) {
            Ok(i) => i + 1,
            Err(i) => i,
        }
    }

    /// Child `i`'s id.
    pub(crate) fn child(&self, i: usize) -> u64 {
        self.children[i].to_native()
    }

    /// A leaf's entries or an inner node's children.
    pub(crate) fn len(&self) -> usize {
        if self.is_leaf() {
            self.keys.len()
        } else {
            self.children.len()
        }
    }

    /// The bytes the fanout's `bytes` limit counts, as [`MapNode::bytes`].
    pub(crate) fn bytes(&self) -> usize {
        self.keys.byte_len()
            + self.values.byte_len()
            + OFFSET * (self.keys.len() + self.values.len())
            + ID * self.children.len()
    }

    /// Whether the node is over its fanout's limits, as [`MapNode::overflows`].
    pub(crate) fn overflows(&self, fanout: &Fanout) -> bool {
        if self.is_leaf() {
            fanout.leaf_overflows(self.len(), self.bytes())
        } else {
            fanout.inner_overflows(self.len(), self.bytes())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(keys: &[&[u8]]) -> MapNode {
        let mut node = MapNode::default();
        for k in keys {
            node.keys.push(k);
            node.values.push(b"v");
        }
        node
    }

    #[test]
    fn separators_are_short_and_between() {
        assert_eq!(separator(b"apple", b"apricot"), b"apr");
        assert_eq!(separator(b"ab", b"abc"), b"abc");
        assert_eq!(separator(b"a", b"b"), b"b");
    }

    #[test]
    fn leaves_split_and_join() {
        let fanout = Fanout {
            leaf: 4,
            inner: 4,
            bytes: 4096,
        };
        let mut node = leaf(&[b"a", b"b", b"c", b"d", b"e"]);
        assert!(node.overflows(&fanout));
        let (sep, right) = node.split(&fanout, Cut::Balanced);
        assert_eq!((node.len(), right.len(), &sep[..]), (2, 3, &b"c"[..]));
        node.join(&sep, right);
        assert_eq!(node.len(), 5);
        let (_, right) = node.split(&fanout, Cut::FillLeft);
        assert_eq!((node.len(), right.len()), (4, 1));
    }

    #[test]
    fn inner_nodes_move_a_separator_up() {
        let fanout = Fanout {
            leaf: 4,
            inner: 4,
            bytes: 4096,
        };
        let mut keys = Packed::default();
        for k in [b"b", b"c", b"d", b"e"] {
            keys.push(k);
        }
        let mut node = MapNode::inner(keys, vec![1, 2, 3, 4, 5]);
        let (sep, right) = node.split(&fanout, Cut::Balanced);
        // The first child has no separator before it, so it counts for less.
        assert_eq!(sep, b"d");
        assert_eq!(node.children, [1, 2, 3]);
        assert_eq!(right.children, [4, 5]);
        assert_eq!(right.keys.iter().collect::<Vec<_>>(), [b"e"]);
        node.join(&sep, right);
        assert_eq!(node.children, [1, 2, 3, 4, 5]);
        assert_eq!(node.keys.len(), 4);
    }
}
