//! The list's stored objects, its header and its nodes, and what one node does on its
//! own: split and join.

use crate::collections::fanout::{cut_point, Cut, Fanout};
use crate::collections::packed::Packed;
use crate::collections::Elements;

/// A list's header, the object its handle names. Written once and only read after.
#[crate::managed(name = "darkstar.ListHeader")]
#[derive(Debug)]
pub(crate) struct ListHeader {
    /// The item type.
    pub(crate) elements: Elements,
    /// The root node, which keeps its id for the list's whole life (as a map's does).
    pub(crate) root: u64,
    /// The fanout's `leaf`.
    pub(crate) leaf: u32,
    /// The fanout's `inner`.
    pub(crate) inner: u32,
    /// The fanout's `bytes`.
    pub(crate) bytes: u32,
}

impl ArchivedListHeader {
    /// The fanout the list was created with.
    pub(crate) fn fanout(&self) -> Fanout {
        Fanout {
            leaf: self.leaf(),
            inner: self.inner(),
            bytes: self.bytes(),
        }
    }
}

/// A node of a list's counted B+tree.
///
/// A leaf has no children; it holds archived items in order in `items`. Every leaf but
/// the root holds at least one item. An inner node holds `children` (at least two, except
/// in the middle of a change) and, in `counts`, the number of items under each; its
/// `items` is empty. The list is the leaves' items from left to right; every leaf is at the
/// same depth.
#[crate::managed(name = "darkstar.ListNode")]
#[derive(Clone, Debug, Default)]
pub(crate) struct ListNode {
    /// A leaf's items.
    pub(crate) items: Packed,
    /// An inner node's children (node ids).
    pub(crate) children: Vec<u64>,
    /// The number of items under each child.
    pub(crate) counts: Vec<u64>,
}

const OFFSET: usize = 4;
/// An inner node's bytes per child: its id and its count.
const CHILD: usize = 16;

impl ListNode {
    /// An inner node over `children` holding `counts` items each.
    pub(crate) fn inner(children: Vec<u64>, counts: Vec<u64>) -> ListNode {
        debug_assert_eq!(children.len(), counts.len());
        ListNode {
            items: Packed::default(),
            children,
            counts,
        }
    }

    /// Whether this is a leaf.
    pub(crate) fn is_leaf(&self) -> bool {
        self.children.is_empty()
    }

    /// A leaf's items or an inner node's children.
    pub(crate) fn len(&self) -> usize {
        if self.is_leaf() {
            self.items.len()
        } else {
            self.children.len()
        }
    }

    /// The items under this node.
    pub(crate) fn total(&self) -> u64 {
        if self.is_leaf() {
            self.items.len() as u64
        } else {
            self.counts.iter().sum()
        }
    }

    /// The bytes the fanout's `bytes` limit counts.
    pub(crate) fn bytes(&self) -> usize {
        self.items.byte_len() + OFFSET * self.items.len() + CHILD * self.children.len()
    }

    /// Whether the node must split.
    pub(crate) fn overflows(&self, fanout: &Fanout) -> bool {
        if self.is_leaf() {
            fanout.leaf_overflows(self.len(), self.bytes())
        } else {
            fanout.inner_overflows(self.len(), self.bytes())
        }
    }

    /// Whether the node (not the root) must take items or children from a sibling.
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

    /// The fewest items or children a part of a split keeps: an inner node keeps two
    /// children on each side.
    pub(crate) fn min_part(&self) -> usize {
        if self.is_leaf() {
            1
        } else {
            2
        }
    }

    /// Where [`split`](Self::split) would cut the node.
    pub(crate) fn cut_point(&self, fanout: &Fanout, cut: Cut) -> usize {
        let (sizes, max): (Vec<usize>, u32) = if self.is_leaf() {
            let sizes = self.items.iter().map(|i| i.len() + OFFSET).collect();
            (sizes, fanout.leaf)
        } else {
            (vec![CHILD; self.children.len()], fanout.inner)
        };
        cut_point(
            &sizes,
            self.min_part(),
            max as usize,
            fanout.bytes as usize,
            cut,
        )
    }

    /// Cuts the node in two: it keeps the left part and returns the right one.
    pub(crate) fn split(&mut self, fanout: &Fanout, cut: Cut) -> ListNode {
        let at = self.cut_point(fanout, cut);
        self.split_at(at)
    }

    /// Cuts the node before item or child `at` (`0 < at < len`).
    pub(crate) fn split_at(&mut self, at: usize) -> ListNode {
        if self.is_leaf() {
            ListNode {
                items: self.items.split_off(at),
                ..ListNode::default()
            }
        } else {
            ListNode::inner(self.children.split_off(at), self.counts.split_off(at))
        }
    }

    /// Cuts an overflowing node into as many parts as it takes for none to overflow: it
    /// keeps the first and returns the others in order. `cut` is how the first cut is
    /// made; the parts are cut evenly after that.
    pub(crate) fn split_all(&mut self, fanout: &Fanout, cut: Cut) -> Vec<ListNode> {
        let mut rights = Vec::new();
        let mut cut = cut;
        while self.overflows(fanout) {
            rights.insert(0, self.split(fanout, cut));
            cut = Cut::Balanced;
        }
        let mut i = 0;
        while i < rights.len() {
            if rights[i].overflows(fanout) {
                let more = rights[i].split(fanout, Cut::Balanced);
                rights.insert(i + 1, more);
            } else {
                i += 1;
            }
        }
        rights
    }

    /// Appends `right`, the next sibling, to this node.
    pub(crate) fn join(&mut self, right: ListNode) {
        debug_assert_eq!(self.is_leaf(), right.is_leaf());
        self.items.append(right.items);
        self.children.extend(right.children);
        self.counts.extend(right.counts);
    }
}

impl ArchivedListNode {
    /// Whether this is a leaf.
    pub(crate) fn is_leaf(&self) -> bool {
        self.children.is_empty()
    }

    /// The items under this node.
    pub(crate) fn total(&self) -> u64 {
        if self.is_leaf() {
            self.items.len() as u64
        } else {
            self.counts.iter().map(|c| c.to_native()).sum()
        }
    }

    /// The child of this inner node holding position `index` (counted from the node's
    /// first item) and the position within it. With `at_end`, a position just past a
    /// child's last item is in that child, so appending goes to the end of a leaf rather
    /// than the start of the next; otherwise a position must be below `total()`.
    pub(crate) fn child_for(&self, mut index: u64, at_end: bool) -> Option<(usize, u64)> {
        for (i, c) in self.counts.iter().enumerate() {
            let c = c.to_native();
            if index < c || (at_end && index == c) {
                return Some((i, index));
            }
            index -= c;
        }
        None
    }

    /// Child `i`'s id.
    pub(crate) fn child(&self, i: usize) -> u64 {
        self.children[i].to_native()
    }

    /// Whether the node is over its fanout's limits, as [`ListNode::overflows`].
    pub(crate) fn overflows(&self, fanout: &Fanout) -> bool {
        let bytes = self.items.byte_len() + OFFSET * self.items.len() + CHILD * self.children.len();
        if self.is_leaf() {
            fanout.leaf_overflows(self.items.len(), bytes)
        } else {
            fanout.inner_overflows(self.children.len(), bytes)
        }
    }
}
